//! Engine: a DataFusion session over the lake, with its tables, views and functions registered.
//!
//! - this file: every table of [`crate::lake::catalog`] (`cloudtrail`, `builds`, `manifest`,
//!   `rejects`, `findings`, `integrity`) and the `runs` view.
//! - [`functions`]: the SQL functions for analysts (ARN parts, access keys, CIDRs, OIDC
//!   subjects, hour of week, JSON).
//! - [`pruning`]: `event_time` filters also prune `event_date` partitions.
//! - [`memory`]: the memory limit local queries run under, spilling to disk beyond it.
//!
//! The lake's object store (local, or S3 signed by the aws-config chain, see [`crate::aws`]) is
//! registered with DataFusion, so queries read Parquet through object_store with partition pruning
//! on `event_date`.
//!
//! Where the plans run is the [`Engine`]: in this process, or on an Apache DataFusion Ballista
//! cluster ([`crate::cluster`]) that reads the same lake. The session is built the same way for
//! both; only its query planner differs.

use std::sync::Arc;

use datafusion::datasource::file_format::parquet::ParquetFormat;
use datafusion::datasource::listing::{
    ListingOptions, ListingTable, ListingTableConfig, ListingTableUrl,
};
use datafusion::error::Result;
use datafusion::prelude::{SessionConfig, SessionContext};

pub mod functions;
pub mod memory;
pub mod pruning;

use crate::lake::Lake;
use crate::lake::catalog::{TABLES, Table};

/// The `runs` view: one row per CI/CD run, rolled up from `builds`.
pub const RUNS_VIEW: &str = include_str!("../../queries/views/runs.sql");

/// Where queries run.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Engine {
    /// In this process, on every core.
    #[default]
    Local,
    /// On the Ballista scheduler at this `ballista://host:port` URL.
    Ballista(String),
}

impl Engine {
    /// `local` (or empty) or `ballista://host:port`.
    pub fn parse(s: &str) -> std::result::Result<Engine, String> {
        let s = s.trim();
        if s.is_empty() || s == "local" {
            return Ok(Engine::Local);
        }
        let url = url::Url::parse(s).map_err(|e| format!("{s:?} is not a URL: {e}"))?;
        if url.scheme() != "ballista" {
            return Err(format!(
                "{s:?}: the engine is `local` or `ballista://HOST:PORT`"
            ));
        }
        if url.host_str().is_none_or(str::is_empty) {
            return Err(format!("{s:?} names no scheduler host"));
        }
        if !cfg!(feature = "ballista") {
            return Err(format!(
                "{s:?}: this pipewarden was built without the `ballista` feature"
            ));
        }
        Ok(Engine::Ballista(s.to_string()))
    }
}

impl std::fmt::Display for Engine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Engine::Local => f.write_str("local"),
            Engine::Ballista(u) => f.write_str(u),
        }
    }
}

/// A local session with the lake's tables and views, attribution with no configuration.
pub async fn session(lake: &Lake) -> Result<SessionContext> {
    session_with(
        lake,
        &crate::attribute::config::Config::default(),
        &Engine::Local,
    )
    .await
}

/// A session with the tables `cloudtrail`, `builds`, `manifest`, `rejects`, `findings`, the view
/// `runs`, the [`functions`], and
/// attribution's tables and `pipeline_events` view ([`crate::attribute`]) under `cfg`.
pub async fn session_with(
    lake: &Lake,
    cfg: &crate::attribute::config::Config,
    engine: &Engine,
) -> Result<SessionContext> {
    let ctx = base_session(lake, engine).await?;
    crate::attribute::register(&ctx, cfg).await?;
    Ok(ctx)
}

/// A session with the lake's tables, the `runs` view and the [`functions`] (no attribution
/// pass), whose queries run on `engine`.
pub async fn base_session(lake: &Lake, engine: &Engine) -> Result<SessionContext> {
    // Any DataFusion option can be set from the environment (`DATAFUSION_EXECUTION_BATCH_SIZE`,
    // ...); pipewarden's own defaults apply where the environment says nothing.
    let mut config = SessionConfig::from_env()?.with_information_schema(true);
    let o = config.options_mut();
    // Spans let planning errors say the line and column of what is wrong.
    o.sql_parser.collect_spans = true;
    // Filters evaluated while decoding Parquet: the other columns of rows that fail are never
    // decoded (measured: a selective hunt over 10M events, 5.5 s to 0.6 s).
    if std::env::var_os("DATAFUSION_EXECUTION_PARQUET_PUSHDOWN_FILTERS").is_none() {
        o.execution.parquet.pushdown_filters = true;
    }
    if std::env::var_os("DATAFUSION_EXECUTION_PARQUET_REORDER_FILTERS").is_none() {
        o.execution.parquet.reorder_filters = true;
    }
    // A sort reserves memory for merging its spills (10 MiB by default): under a small limit,
    // an eighth of it, which leaves the rest to the operators themselves.
    if let memory::Limit::Bytes(n) = memory::limit()
        && std::env::var_os("DATAFUSION_EXECUTION_SORT_SPILL_RESERVATION_BYTES").is_none()
    {
        let r = &mut o.execution.sort_spill_reservation_bytes;
        *r = (*r).min(n / 8);
    }
    let mut ctx = match engine {
        Engine::Local => SessionContext::new_with_config_rt(config, memory::runtime()?),
        #[cfg(feature = "ballista")]
        Engine::Ballista(url) => crate::cluster::remote(url, config).await?,
        #[cfg(not(feature = "ballista"))]
        Engine::Ballista(url) => {
            return Err(datafusion::error::DataFusionError::Configuration(format!(
                "{url}: this pipewarden was built without the `ballista` feature"
            )));
        }
    };
    // After the cluster's set-up, which replaces the session's functions with Ballista's list.
    functions::register(&mut ctx)?;
    ctx.add_optimizer_rule(Arc::new(pruning::DayPruning));
    if lake.local_root.is_none() {
        let url = url::Url::parse(&lake.base_url)
            .map_err(|e| datafusion::error::DataFusionError::External(Box::new(e)))?;
        ctx.register_object_store(&url, lake.base_store.clone());
    }
    for t in TABLES {
        register(&ctx, lake, t)?;
    }
    ctx.sql(RUNS_VIEW).await?;
    Ok(ctx)
}

fn register(ctx: &SessionContext, lake: &Lake, t: &Table) -> Result<()> {
    if let Some(root) = &lake.local_root {
        // Listing a missing folder is an error; an empty table is not.
        let _ = std::fs::create_dir_all(root.join(t.dir));
    }
    let url = ListingTableUrl::parse(lake.table_url(t.dir))?;
    let opts = ListingOptions::new(Arc::new(ParquetFormat::default()))
        .with_file_extension(".parquet")
        .with_table_partition_cols(t.partition_cols());
    let cfg = ListingTableConfig::new(url)
        .with_listing_options(opts)
        .with_schema((t.schema)());
    ctx.register_table(t.name, Arc::new(ListingTable::try_new(cfg)?))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::Engine;

    #[test]
    fn engine_urls() {
        assert_eq!(Engine::parse("").unwrap(), Engine::Local);
        assert_eq!(Engine::parse("local").unwrap(), Engine::Local);
        assert_eq!(
            Engine::parse("ballista://sched.internal:50050").unwrap(),
            Engine::Ballista("ballista://sched.internal:50050".into())
        );
        for bad in [
            "spark://h:7077",
            "ballista://",
            "sched:50050",
            "http://h:50050",
        ] {
            let e = Engine::parse(bad).unwrap_err();
            assert!(e.contains(bad) || e.contains("ballista://"), "{bad}: {e}");
        }
    }
}
