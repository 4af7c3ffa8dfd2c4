//! `pipewarden scheduler` and `pipewarden executor`: Ballista's scheduler and executor
//! (the `ballista-scheduler` and `ballista-executor` crates) with what a pipewarden plan needs:
//!
//! - the scheduler plans with pipewarden's functions and its day-pruning rule, and lists the
//!   lake's files through [`LakeStores`];
//! - executors decode plans that call pipewarden's functions and read the lake through
//!   [`LakeStores`];
//! - both use [`super::codec`], so attribution's in-memory tables travel with the plan.
//!
//! Credentials: each process signs S3 requests with its own standard AWS chain; none is ever
//! sent over the wire by pipewarden.

use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use ballista_core::RuntimeProducer;
use ballista_core::registry::BallistaFunctionRegistry;
use ballista_executor::executor_process::{ExecutorProcessConfig, start_executor_process};
use ballista_scheduler::cluster::{BallistaCluster, ClusterStateEvent};
use ballista_scheduler::config::{SchedulerConfig, TaskDistributionPolicy};
use ballista_scheduler::scheduler_process::start_server;
use datafusion::execution::SessionState;
use datafusion::execution::SessionStateBuilder;
use datafusion::execution::object_store::ObjectStoreRegistry;
use datafusion::execution::runtime_env::RuntimeEnvBuilder;
use datafusion::prelude::SessionConfig;
use futures::StreamExt;

use super::{LakeStores, MAX_MESSAGE_BYTES, codec};
use crate::aws::{AwsContext, S3Options};

/// What `pipewarden scheduler` runs.
#[derive(Debug, Clone)]
pub struct SchedulerPlan {
    /// Address the gRPC service listens on.
    pub bind: SocketAddr,
    /// Host name executors and clients reach this scheduler by (default: the bind address).
    pub external_host: Option<String>,
    /// How to reach S3 (credentials always come from the chain).
    pub s3: S3Options,
}

/// What `pipewarden executor` runs.
#[derive(Debug, Clone)]
pub struct ExecutorPlan {
    /// The scheduler, `host:port`.
    pub scheduler: String,
    /// Address the executor listens on.
    pub bind_host: String,
    /// Host name the scheduler and clients reach this executor by (default: the bind address).
    pub external_host: Option<String>,
    /// Arrow Flight port (results and shuffle data).
    pub port: u16,
    /// gRPC port (tasks from the scheduler).
    pub grpc_port: u16,
    /// Tasks run at once (0: one per core).
    pub concurrency: usize,
    /// Shuffle and spill files (default: a folder under the system's temporary folder).
    pub work_dir: Option<PathBuf>,
    /// How long to wait for the scheduler to accept connections.
    pub wait: Duration,
    /// How to reach S3.
    pub s3: S3Options,
}

/// A scheduler's session: DataFusion's defaults, Ballista's optimizer rules, then
/// pipewarden's functions and day pruning, over [`LakeStores`].
fn scheduler_session(
    config: SessionConfig,
    stores: Arc<dyn ObjectStoreRegistry>,
) -> datafusion::error::Result<SessionState> {
    let runtime = RuntimeEnvBuilder::new()
        .with_object_store_registry(stores)
        .build_arc()?;
    let mut rules = ballista_core::optimizer::ballista_default_optimizer_rules();
    rules.push(Arc::new(crate::engine::pruning::DayPruning));
    let mut state = SessionStateBuilder::new()
        .with_default_features()
        .with_config(config)
        .with_runtime_env(runtime)
        .with_optimizer_rules(rules)
        .build();
    crate::engine::functions::register(&mut state)?;
    Ok(state)
}

/// Runs a scheduler until the process is stopped.
pub async fn scheduler(plan: &SchedulerPlan) -> anyhow::Result<()> {
    logging::init("scheduler");
    let aws = AwsContext::load(&plan.s3).await;
    let stores: Arc<dyn ObjectStoreRegistry> = Arc::new(LakeStores::new(aws));
    let mut config = SchedulerConfig {
        bind_host: plan.bind.ip().to_string(),
        bind_port: plan.bind.port(),
        external_host: plan
            .external_host
            .clone()
            .unwrap_or_else(|| plan.bind.ip().to_string()),
        grpc_server_max_decoding_message_size: MAX_MESSAGE_BYTES as u32,
        grpc_server_max_encoding_message_size: MAX_MESSAGE_BYTES as u32,
        grpc_client_max_message_size: MAX_MESSAGE_BYTES as u32,
        // Spread each stage's tasks over the executors (Ballista's advice for one scheduler),
        // rather than filling the first executor's slots.
        task_distribution: TaskDistributionPolicy::RoundRobin,
        ..SchedulerConfig::default()
    };
    config.override_session_builder = Some(Arc::new(move |c| scheduler_session(c, stores.clone())));
    config.override_logical_codec = Some(codec::logical());
    let cluster = BallistaCluster::new_from_config(&config)
        .await
        .context("cannot start the scheduler's cluster state")?;
    // Say when executors come and go: operators (and the tests) wait on these lines.
    let mut events = cluster
        .cluster_state()
        .cluster_state_events()
        .await
        .context("cannot watch the cluster's executors")?;
    let state = cluster.cluster_state();
    tokio::spawn(async move {
        while let Some(e) = events.next().await {
            match e {
                ClusterStateEvent::RegisteredExecutor { executor_id } => {
                    let at = match state.get_executor_metadata(&executor_id).await {
                        Ok(m) => format!("{}:{}", m.host, m.port),
                        Err(_) => "?".into(),
                    };
                    // Ids and hosts are what executors said over the network: made inert.
                    let line = format!("executor {executor_id} registered ({at})");
                    eprintln!(
                        "pipewarden scheduler: {}",
                        crate::sanitize::for_terminal(&line)
                    );
                }
                ClusterStateEvent::RemovedExecutor { executor_id } => {
                    let line = format!("executor {executor_id} removed");
                    eprintln!(
                        "pipewarden scheduler: {}",
                        crate::sanitize::for_terminal(&line)
                    );
                }
            }
        }
    });
    eprintln!(
        "pipewarden scheduler: listening on {} (Ballista {}, DataFusion {})",
        plan.bind,
        ballista_core::BALLISTA_VERSION,
        datafusion::DATAFUSION_VERSION
    );
    start_server(cluster, plan.bind, Arc::new(config))
        .await
        .with_context(|| format!("scheduler on {}", plan.bind))?;
    Ok(())
}

/// Waits until `addr` accepts TCP connections, or `wait` has passed.
fn wait_for(addr: &str, wait: Duration) -> anyhow::Result<()> {
    let start = Instant::now();
    loop {
        let addrs: Vec<SocketAddr> = addr
            .to_socket_addrs()
            .with_context(|| format!("scheduler address {addr}"))?
            .collect();
        if addrs
            .iter()
            .any(|a| TcpStream::connect_timeout(a, Duration::from_secs(1)).is_ok())
        {
            return Ok(());
        }
        if start.elapsed() >= wait {
            anyhow::bail!(
                "the scheduler at {addr} did not accept connections within {} s",
                wait.as_secs()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs an executor until the process is stopped.
pub async fn executor(plan: &ExecutorPlan) -> anyhow::Result<()> {
    logging::init("executor");
    let (host, port) = plan
        .scheduler
        .rsplit_once(':')
        .and_then(|(h, p)| Some((h.to_string(), p.parse::<u16>().ok()?)))
        .with_context(|| format!("--scheduler {:?} is not HOST:PORT", plan.scheduler))?;
    let work_dir = match &plan.work_dir {
        Some(d) => d.clone(),
        None => std::env::temp_dir().join(format!("pipewarden-executor-{}", plan.port)),
    };
    std::fs::create_dir_all(&work_dir)
        .with_context(|| format!("work folder {}", work_dir.display()))?;
    let aws = AwsContext::load(&plan.s3).await;
    let stores: Arc<dyn ObjectStoreRegistry> = Arc::new(LakeStores::new(aws));
    let mut functions = BallistaFunctionRegistry::default();
    functions
        .scalar_functions
        .extend(super::scalar_functions()?);
    let wd = work_dir.clone();
    let runtime: RuntimeProducer = Arc::new(move |_| {
        RuntimeEnvBuilder::new()
            .with_temp_file_path(wd.clone())
            .with_object_store_registry(stores.clone())
            .build_arc()
    });
    let config = ExecutorProcessConfig {
        bind_host: plan.bind_host.clone(),
        external_host: plan.external_host.clone(),
        port: plan.port,
        grpc_port: plan.grpc_port,
        scheduler_host: host,
        scheduler_port: port,
        vcores: plan.concurrency,
        work_dir: Some(work_dir.display().to_string()),
        print_thread_info: false,
        grpc_max_decoding_message_size: MAX_MESSAGE_BYTES as u32,
        grpc_max_encoding_message_size: MAX_MESSAGE_BYTES as u32,
        override_function_registry: Some(Arc::new(functions)),
        override_runtime_producer: Some(runtime),
        override_logical_codec: Some(codec::logical()),
        ..ExecutorProcessConfig::default()
    };
    let scheduler = plan.scheduler.clone();
    let wait = plan.wait;
    tokio::task::spawn_blocking(move || wait_for(&scheduler, wait)).await??;
    eprintln!(
        "pipewarden executor: serving on {}:{} (flight) and {} (grpc), scheduler {}, work folder {}",
        plan.bind_host,
        plan.port,
        plan.grpc_port,
        plan.scheduler,
        work_dir.display()
    );
    start_executor_process(Arc::new(config))
        .await
        .with_context(|| format!("executor on {}:{}", plan.bind_host, plan.port))?;
    Ok(())
}

/// Ballista logs through the `log` crate: its warnings and errors (or more, with
/// `PIPEWARDEN_LOG=info|debug|trace`; `error` for less) go to stderr, made safe for a terminal.
mod logging {
    use log::{Level, Log, Metadata, Record};

    struct Stderr {
        role: &'static str,
        level: Level,
    }

    impl Log for Stderr {
        fn enabled(&self, m: &Metadata) -> bool {
            // The AWS SDK's retries and IMDS probes are warnings a server repeats all day;
            // at the default level only its errors are shown.
            let quiet = self.level <= Level::Warn && m.target().starts_with("aws_");
            m.level() <= if quiet { Level::Error } else { self.level }
        }

        fn log(&self, r: &Record) {
            if self.enabled(r.metadata()) {
                let text = crate::sanitize::for_terminal(&r.args().to_string());
                eprintln!(
                    "pipewarden {}: {} {}: {}",
                    self.role,
                    r.level(),
                    r.target(),
                    text
                );
            }
        }

        fn flush(&self) {}
    }

    /// Installs the logger once per process.
    pub fn init(role: &'static str) {
        let level = match std::env::var("PIPEWARDEN_LOG").as_deref() {
            Ok("error") => Level::Error,
            Ok("info") => Level::Info,
            Ok("debug") => Level::Debug,
            Ok("trace") => Level::Trace,
            _ => Level::Warn,
        };
        let logger = Box::leak(Box::new(Stderr { role, level }));
        if log::set_logger(logger).is_ok() {
            log::set_max_level(level.to_level_filter());
        }
    }
}
