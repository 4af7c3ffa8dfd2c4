//! Scale-out: a real Ballista cluster (one `pipewarden scheduler`, two `pipewarden executor`
//! processes on loopback) reading an S3 lake on the loopback S3 server gives the same rows as
//! the local engine for every saved hunt and the same findings for detect.

#![cfg(feature = "ballista")]

use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::helpers::*;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pipewarden"))
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A scheduler and executors, stopped when dropped (a failing test included).
struct Cluster {
    children: Vec<Child>,
    url: String,
    dir: tempfile::TempDir,
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for c in &mut self.children {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Cluster {
    fn start(executors: usize) -> Cluster {
        let dir = tempfile::tempdir().unwrap();
        let endpoint = s3_endpoint();
        let s3 = ["--endpoint-url", endpoint.as_str(), "--path-style"];
        let port = free_port();
        let mut scheduler = bin()
            .args(["scheduler", "--bind", &format!("127.0.0.1:{port}")])
            .args(s3)
            .stderr(Stdio::piped())
            .spawn()
            .expect("start pipewarden scheduler");
        let (tx, rx) = mpsc::channel();
        let err = scheduler.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                let _ = tx.send(line);
            }
        });
        let mut cluster = Cluster {
            children: vec![scheduler],
            url: format!("ballista://127.0.0.1:{port}"),
            dir,
        };
        for i in 0..executors {
            let log = std::fs::File::create(cluster.dir.path().join(format!("executor-{i}.log")))
                .unwrap();
            let work = cluster.dir.path().join(format!("work-{i}"));
            let child = bin()
                .args(["executor", "--scheduler", &format!("127.0.0.1:{port}")])
                .args(["--port", &free_port().to_string()])
                .args(["--grpc-port", &free_port().to_string()])
                .args(["--concurrency", "2", "--work-dir"])
                .arg(&work)
                .args(s3)
                .stderr(log)
                .spawn()
                .expect("start pipewarden executor");
            cluster.children.push(child);
        }
        // Ready when the scheduler has said each executor registered.
        let deadline = Instant::now() + Duration::from_secs(90);
        let mut seen = vec![];
        while seen
            .iter()
            .filter(|l: &&String| l.contains("registered"))
            .count()
            < executors
        {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left) {
                Ok(l) => seen.push(l),
                Err(_) => panic!(
                    "the cluster did not come up in 90 s; scheduler said:\n{}\nexecutor 0 said:\n{}",
                    seen.join("\n"),
                    std::fs::read_to_string(cluster.dir.path().join("executor-0.log"))
                        .unwrap_or_default()
                ),
            }
        }
        // Keep draining the scheduler's stderr so it never blocks on a full pipe.
        std::thread::spawn(move || while rx.recv().is_ok() {});
        cluster
    }

    fn logs(&self) -> String {
        (0..self.children.len() - 1)
            .map(|i| {
                std::fs::read_to_string(self.dir.path().join(format!("executor-{i}.log")))
                    .unwrap_or_default()
            })
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// Runs pipewarden on `engine` against the loopback S3 server.
fn run(engine: &str, args: &[&str]) -> Output {
    let endpoint = s3_endpoint();
    bin()
        .args(args)
        .args([
            "--engine",
            engine,
            "--endpoint-url",
            &endpoint,
            "--path-style",
        ])
        .output()
        .expect("run pipewarden")
}

fn ok(o: Output, what: &str, cluster: &Cluster) -> String {
    assert!(
        o.status.success(),
        "{what}: {}\nexecutors:\n{}",
        String::from_utf8_lossy(&o.stderr),
        cluster.logs()
    );
    String::from_utf8(o.stdout).unwrap()
}

/// Rows of JSON Lines, sorted: SQL leaves the order of rows with equal sort keys open, and a
/// cluster may return them in another order than one process.
fn rows(out: &str) -> Vec<String> {
    let mut v: Vec<String> = out.lines().map(str::to_string).collect();
    v.sort();
    v
}

/// The bundled sample (CloudTrail and builds) as an S3 lake.
fn s3_sample_lake() -> String {
    let (_rt, _client, bucket) = bucket("cluster-lake");
    let lake = format!("s3://{bucket}/lake");
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs");
    let mut p = plan(root.join("cloudtrail/AWSLogs").display().to_string(), &lake);
    p.s3 = s3_options();
    ingest(&p);
    let mut p = plan(root.join("builds").display().to_string(), &lake);
    p.s3 = s3_options();
    p.dataset = pipewarden::lake::Dataset::Builds;
    ingest(&p);
    lake
}

#[test]
fn every_hunt_and_detect_give_the_same_rows_on_a_ballista_cluster() {
    let lake = s3_sample_lake();
    let cluster = Cluster::start(2);

    // Detect over the labelled days: the same report, finding for finding, score for score. The
    // cluster builds the daily profiles of the history (a backfill); the local run reads the
    // events.
    let dir = tempfile::tempdir().unwrap();
    let mut reports = vec![];
    for (engine, name, history) in [
        (cluster.url.as_str(), "cluster.json", "--rebuild-profiles"),
        ("local", "local.json", "--no-profiles"),
    ] {
        let json = dir.path().join(name);
        let o = run(
            engine,
            &[
                "detect",
                "--lake",
                &lake,
                "--baseline",
                "23d",
                "--window",
                "12d",
                "--until",
                "2026-10-06",
                "--json",
                json.to_str().unwrap(),
                history,
            ],
        );
        if history == "--rebuild-profiles" {
            let e = String::from_utf8_lossy(&o.stderr);
            assert!(
                e.contains("built the daily profiles of 23 of the history's 23 days"),
                "{e}"
            );
        }
        assert_eq!(
            o.status.code(),
            Some(1),
            "detect on {engine}: {}\nexecutors:\n{}",
            String::from_utf8_lossy(&o.stderr),
            cluster.logs()
        );
        let r: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        reports.push(r);
    }
    assert!(
        reports[0]["findings"].as_array().unwrap().len() >= 10,
        "{}",
        reports[0]
    );
    assert_eq!(reports[0], reports[1], "detect differs on the cluster");

    // Every saved hunt, with parameters wide enough that each has rows to compare: one session
    // per engine (the client is this process), as `pipewarden query --hunt` runs them.
    let (hunts, errors) = pipewarden::query::catalog::load(None);
    assert!(errors.is_empty(), "{errors:?}");
    assert!(hunts.len() >= 12);
    let rt = tokio::runtime::Runtime::new().unwrap();
    let aws = rt.block_on(pipewarden::aws::AwsContext::load(&s3_options()));
    let lake_handle = pipewarden::lake::Lake::open(
        &lake.parse().unwrap(),
        Some(&aws),
        pipewarden::lake::Access::Create,
    )
    .unwrap();
    let cfg = pipewarden::attribute::config::Config::default();
    let session = |engine: pipewarden::engine::Engine| {
        rt.block_on(pipewarden::engine::session_with(
            &lake_handle,
            &cfg,
            &engine,
        ))
        .unwrap_or_else(|e| panic!("session on {engine}: {e}\n{}", cluster.logs()))
    };
    let local_ctx = session(pipewarden::engine::Engine::Local);
    let remote_ctx = session(pipewarden::engine::Engine::Ballista(cluster.url.clone()));
    let mut with_rows = 0;
    for h in &hunts {
        let mut params = vec![];
        for p in &h.params {
            let v = match p.name.as_str() {
                "days" => "40",
                "role_like" | "env_like" => "%",
                "min_denied" | "min_hops" => "1",
                _ => continue,
            };
            params.push((p.name.clone(), v.to_string()));
        }
        let sql = h.bind(&params).unwrap();
        let json = |ctx: &datafusion::prelude::SessionContext| {
            let parsed = pipewarden::query::parse(&h.name, &sql).unwrap();
            let mut out = vec![];
            let opts = pipewarden::query::RunOptions {
                allow_write: false,
                format: pipewarden::query::output::OutputFormat::Json,
                max_width: 0,
            };
            rt.block_on(pipewarden::query::run_text(
                ctx, &h.name, parsed, opts, &mut out, "-",
            ))
            .unwrap_or_else(|e| panic!("hunt {}: {e}\n{}", h.name, cluster.logs()));
            String::from_utf8(out).unwrap()
        };
        let local = json(&local_ctx);
        let remote = json(&remote_ctx);
        assert_eq!(
            rows(&local),
            rows(&remote),
            "hunt {} differs on the cluster",
            h.name
        );
        with_rows += usize::from(!local.is_empty());
    }
    assert!(
        with_rows >= 10,
        "only {with_rows} hunts had rows to compare"
    );

    // Analyst SQL with pipewarden's functions, a view, attribution's in-memory tables and a
    // time filter (day pruning) runs on the executors and agrees too.
    let sql = "SELECT pipeline_id, credential_type, access_key_type(user_access_key_id) AS k, \
               arn_role(user_arn) AS role, count(*) AS n, \
               count(json_get_str(request_parameters, 'roleArn')) AS assumed \
               FROM pipeline_events WHERE event_time >= TIMESTAMP '2026-09-20 00:00:00' \
               GROUP BY 1, 2, 3, 4 ORDER BY n DESC, 1, 2, 3, 4";
    let args = ["query", "--lake", lake.as_str(), "--format", "csv", sql];
    let local = ok(run("local", &args), "analyst SQL", &cluster);
    let remote = ok(run(&cluster.url, &args), "analyst SQL", &cluster);
    assert!(local.lines().count() > 5, "{local}");
    assert_eq!(local, remote);
}

#[test]
fn an_engine_that_cannot_be_reached_or_parsed_is_a_clear_error() {
    let lake = sample_lake();
    let o = run(
        "ballista://127.0.0.1:1",
        &["query", "--lake", lake, "SELECT count(*) FROM cloudtrail"],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("127.0.0.1:1"), "{err}");

    let o = run(
        "spark://somewhere:7077",
        &["query", "--lake", lake, "SELECT 1"],
    );
    assert_eq!(o.status.code(), Some(2));
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("--engine") || err.contains("engine"), "{err}");
    assert!(err.contains("ballista://HOST:PORT"), "{err}");
}
