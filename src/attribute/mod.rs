//! Attribution: which pipeline, run, origin identity, credential type and environment each
//! CloudTrail event belongs to.
//!
//! ```text
//!  cloudtrail (STS calls) ──► lineage: issued key → parent key → origin
//!  runs (builds)          ──► pipelines: session → pipeline, run; principals; account envs
//!  pipewarden.toml        ──┘
//!                              │ registered as tables: sessions, principals, account_envs, pipelines
//!                              ▼
//!  pipeline_events view (queries/views/pipeline_events.sql) = cloudtrail ⟕ those tables
//! ```
//!
//! - [`lineage`]: the session index and role chains.
//! - [`pipelines`]: linking sessions to pipelines and runs; learned principals and environments.
//! - [`credential`]: the credential type of a call (also the SQL function `credential_type`).
//! - [`config`]: the `pipewarden.toml` file.
//!
//! The lineage pass reads only the STS calls that issued credentials (a few per cent of events)
//! and the runs; every other event is joined in SQL, so queries on `pipeline_events` keep
//! DataFusion's streaming, partition pruning and parallelism.

pub mod config;
pub mod credential;
pub mod inputs;
pub mod lineage;
pub mod pipelines;

use std::collections::BTreeMap;
use std::sync::Arc;

use arrow::array::{
    ArrayRef, Int64Array, ListBuilder, RecordBatch, StringArray, StringBuilder,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use datafusion::datasource::MemTable;
use datafusion::error::Result;
use datafusion::prelude::SessionContext;

use config::Config;
use lineage::Session;
use pipelines::{Attribution, RunInfo};

/// The `pipeline_events` view.
pub const PIPELINE_EVENTS_VIEW: &str = include_str!("../../queries/views/pipeline_events.sql");

/// The tables and the view [`register`] adds to a session (a query that names none of them
/// needs no attribution pass).
pub const TABLES: &[&str] = &[
    "pipeline_events",
    "sessions",
    "principals",
    "account_envs",
    "pipelines",
    "key_windows",
];

/// What the lineage pass found, for summaries and tests.
#[derive(Debug, Default, Clone)]
pub struct Summary {
    /// Sessions (issued access keys) indexed.
    pub sessions: usize,
    /// Sessions linked to a pipeline.
    pub attributed: usize,
    /// Sessions whose chain leaves the loaded window.
    pub outside_window: usize,
    /// Runs known from build records.
    pub runs: usize,
    /// Pipelines (from builds, CloudTrail and config).
    pub pipelines: usize,
    /// Wall time of the pass.
    pub elapsed: std::time::Duration,
}

/// Runs the lineage pass over the session's `cloudtrail` and `runs`, then registers `sessions`,
/// `principals`, `account_envs`, `pipelines` and the `pipeline_events` view (which calls
/// `credential_type` and `ip_network`, registered with every session's functions).
pub async fn register(ctx: &SessionContext, cfg: &Config) -> Result<Summary> {
    let start = std::time::Instant::now();
    // The daily extracts of attribution's inputs when the session has them (inputs::prepare),
    // else CloudTrail itself: the same columns, the same queries.
    let extracts = inputs::registered(ctx);
    let from = |table: &'static str| if extracts { table } else { "cloudtrail" };
    let step = std::time::Instant::now();
    let batches = ctx
        .sql(&lineage::sessions_sql(from("attribution_issued")))
        .await?
        .collect()
        .await?;
    crate::detect::timed("attribution: issuing calls", step);
    let step = std::time::Instant::now();
    let sessions = lineage::resolve(lineage::issued_from_batches(&batches));
    let runs = load_runs(ctx).await?;
    let att = pipelines::attribute(&sessions, &runs, cfg);
    crate::detect::timed("attribution: sessions linked to runs", step);

    let reg = |name: &str, batch: RecordBatch| -> Result<()> {
        let t = MemTable::try_new(batch.schema(), vec![vec![batch]])?;
        ctx.register_table(name, Arc::new(t))?;
        Ok(())
    };
    reg("sessions", sessions_batch(&sessions, &att))?;
    let step = std::time::Instant::now();
    let windows = key_windows(
        ctx,
        &runs,
        &att,
        from("attribution_keys"),
        from("attribution_networks"),
    )
    .await?;
    crate::detect::timed("attribution: long-term keys", step);
    reg("key_windows", windows_batch(&windows))?;
    reg("principals", principals_batch(&att))?;
    reg("account_envs", accounts_batch(&att))?;
    let pipelines_batch = pipelines_batch(&runs, &att, &sessions, cfg);
    let n_pipelines = pipelines_batch.num_rows();
    reg("pipelines", pipelines_batch)?;
    ctx.sql(PIPELINE_EVENTS_VIEW).await?;
    Ok(Summary {
        sessions: sessions.len(),
        attributed: att.links.iter().filter(|l| l.pipeline_id.is_some()).count(),
        outside_window: sessions.iter().filter(|s| !s.complete).count(),
        runs: runs.len(),
        pipelines: n_pipelines,
        elapsed: start.elapsed(),
    })
}

/// Long-term-key calls attributed to pipeline runs (see [`pipelines::attribute_keys`]).
/// `keys` and `networks` are the tables read: `cloudtrail`, or the daily extracts of
/// [`inputs`].
async fn key_windows(
    ctx: &SessionContext,
    runs: &[RunInfo],
    att: &Attribution,
    keys: &str,
    networks_from: &str,
) -> Result<Vec<pipelines::KeyWindow>> {
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::TimestampMicrosecondType;
    let batches = ctx
        .sql(&format!(
            "SELECT user_arn, user_access_key_id, coalesce(source_ip_address, '') AS ip, event_time \
             FROM {keys} WHERE user_type IN ('IAMUser', 'Root') \
             AND user_access_key_id LIKE 'AKIA%' AND user_arn IS NOT NULL"
        ))
        .await?
        .collect()
        .await?;
    let mut events = vec![];
    for b in &batches {
        let (p, k, ip) = (
            b.column(0).as_string::<i32>(),
            b.column(1).as_string::<i32>(),
            b.column(2).as_string::<i32>(),
        );
        let t = b.column(3).as_primitive::<TimestampMicrosecondType>();
        for i in 0..b.num_rows() {
            if t.is_null(i) {
                continue;
            }
            events.push(pipelines::KeyEvent {
                principal: p.value(i).to_string(),
                key: k.value(i).to_string(),
                ip: ip.value(i).to_string(),
                time: t.value(i),
            });
        }
    }
    if events.is_empty() || runs.is_empty() {
        return Ok(vec![]);
    }
    // The networks each pipeline's own sessions call from, around the time of those calls.
    let lo = events.iter().map(|e| e.time).min().unwrap_or(0) / 86_400_000_000 - 7;
    let hi = events.iter().map(|e| e.time).max().unwrap_or(0) / 86_400_000_000 + 7;
    let nets = ctx
        .sql(&format!(
            "SELECT s.pipeline_id, c.source_ip_address FROM {networks_from} c \
             JOIN sessions s ON c.user_access_key_id = s.access_key_id \
             WHERE s.pipeline_id IS NOT NULL AND c.source_ip_address IS NOT NULL \
             AND c.event_date BETWEEN CAST({lo} AS DATE) AND CAST({hi} AS DATE) \
             GROUP BY 1, 2"
        ))
        .await?
        .collect()
        .await?;
    let mut networks: std::collections::HashMap<String, std::collections::HashSet<String>> =
        Default::default();
    for b in &nets {
        let (p, ip) = (
            b.column(0).as_string::<i32>(),
            b.column(1).as_string::<i32>(),
        );
        for i in 0..b.num_rows() {
            networks
                .entry(p.value(i).to_string())
                .or_default()
                .insert(pipelines::network_of(ip.value(i)));
        }
    }
    Ok(pipelines::attribute_keys(&events, runs, att, &networks))
}

fn windows_batch(w: &[pipelines::KeyWindow]) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        utf8("access_key_id"),
        utf8("source_ip"),
        ts_field("first_call"),
        ts_field("last_call"),
        utf8("pipeline_id"),
        utf8("run_id"),
        utf8("attributed_by"),
    ]));
    let ts = |f: &dyn Fn(&pipelines::KeyWindow) -> i64| -> ArrayRef {
        Arc::new(
            w.iter()
                .map(|x| Some(f(x)))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        )
    };
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(
                w.iter()
                    .map(|x| Some(x.key.as_str()))
                    .collect::<StringArray>(),
            ),
            Arc::new(
                w.iter()
                    .map(|x| Some(x.ip.as_str()))
                    .collect::<StringArray>(),
            ),
            ts(&|x| x.from),
            ts(&|x| x.to),
            Arc::new(
                w.iter()
                    .map(|x| Some(x.pipeline_id.as_str()))
                    .collect::<StringArray>(),
            ),
            Arc::new(
                w.iter()
                    .map(|x| x.run_id.as_deref())
                    .collect::<StringArray>(),
            ),
            Arc::new(w.iter().map(|x| Some(x.by)).collect::<StringArray>()),
        ],
    )
    .expect("key_windows columns match")
}

async fn load_runs(ctx: &SessionContext) -> Result<Vec<RunInfo>> {
    let batches = ctx
        .sql(
            "SELECT system, pipeline_id, pipeline_name, repository, run_id, \
             started_at, coalesce(finished_at, last_event_time) AS ended, environment, account_id \
             FROM runs WHERE pipeline_id IS NOT NULL",
        )
        .await?
        .collect()
        .await?;
    use arrow::array::{Array, AsArray};
    use arrow::datatypes::TimestampMicrosecondType;
    let mut out = vec![];
    for b in &batches {
        let s = |i: usize| b.column(i).as_string::<i32>();
        let t = |i: usize| b.column(i).as_primitive::<TimestampMicrosecondType>();
        let opt = |a: &StringArray, i: usize| (!a.is_null(i)).then(|| a.value(i).to_string());
        let (sys, pid, name, repo, rid, env, acct) = (s(0), s(1), s(2), s(3), s(4), s(7), s(8));
        let (st, en) = (t(5), t(6));
        for i in 0..b.num_rows() {
            if rid.is_null(i) {
                continue;
            }
            let start = if st.is_null(i) { 0 } else { st.value(i) };
            out.push(RunInfo {
                system: sys.value(i).to_string(),
                pipeline_id: pid.value(i).to_string(),
                pipeline_name: opt(name, i),
                repository: opt(repo, i),
                run_id: rid.value(i).to_string(),
                start,
                end: if en.is_null(i) { start } else { en.value(i) },
                environment: opt(env, i),
                account: opt(acct, i),
            });
        }
    }
    Ok(out)
}

fn ts_field(name: &str) -> Field {
    Field::new(
        name,
        DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        true,
    )
}

fn utf8(name: &str) -> Field {
    Field::new(name, DataType::Utf8, true)
}

/// Schema of `sessions`.
pub fn sessions_schema() -> SchemaRef {
    Arc::new(Schema::new(vec![
        utf8("access_key_id"),
        ts_field("issued_at"),
        ts_field("expires_at"),
        utf8("issued_by"),
        utf8("role_arn"),
        utf8("session_name"),
        utf8("source_identity"),
        utf8("caller_arn"),
        utf8("parent_access_key_id"),
        utf8("chain_access_key_id"),
        Field::new("chain_depth", DataType::Int64, false),
        utf8("origin_type"),
        utf8("origin"),
        utf8("oidc_subject"),
        utf8("lineage"),
        utf8("pipeline_id"),
        utf8("run_id"),
        utf8("attributed_by"),
        utf8("session_env"),
        utf8("session_env_source"),
    ]))
}

fn sessions_batch(sessions: &[Session], att: &Attribution) -> RecordBatch {
    let col = |f: &dyn Fn(usize) -> Option<String>| -> ArrayRef {
        Arc::new((0..sessions.len()).map(f).collect::<StringArray>())
    };
    let link = |i: usize| &att.links[i];
    let cols: Vec<ArrayRef> = vec![
        col(&|i| Some(sessions[i].issued.key.clone())),
        Arc::new(
            sessions
                .iter()
                .map(|s| Some(s.issued.time))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        ),
        Arc::new(
            sessions
                .iter()
                .map(|s| Some(s.issued.expires))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        ),
        col(&|i| Some(sessions[i].issued.api.clone())),
        col(&|i| sessions[i].issued.role_arn.clone()),
        col(&|i| sessions[i].issued.session_name.clone()),
        col(&|i| sessions[i].issued.source_identity.clone()),
        col(&|i| sessions[i].issued.caller_arn.clone()),
        col(&|i| sessions[i].parent.map(|p| sessions[p].issued.key.clone())),
        col(&|i| Some(sessions[i].chain.clone())),
        Arc::new(
            sessions
                .iter()
                .map(|s| s.depth as i64)
                .collect::<Int64Array>(),
        ),
        col(&|i| Some(sessions[i].origin_type.as_str().to_string())),
        col(&|i| Some(sessions[i].origin.clone())),
        col(&|i| sessions[i].oidc_subject.clone()),
        col(&|i| {
            Some(
                if sessions[i].complete {
                    "complete"
                } else {
                    "outside_window"
                }
                .to_string(),
            )
        }),
        col(&|i| link(i).pipeline_id.clone()),
        col(&|i| link(i).run_id.clone()),
        col(&|i| link(i).by.map(str::to_string)),
        col(&|i| link(i).env.clone()),
        col(&|i| link(i).env_by.map(str::to_string)),
    ];
    RecordBatch::try_new(sessions_schema(), cols).expect("sessions columns match")
}

fn principals_batch(att: &Attribution) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        utf8("principal_arn"),
        utf8("pipeline_id"),
        utf8("attributed_by"),
    ]));
    let p: Vec<(&String, &(String, &str))> = att.principals.iter().collect();
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(
                p.iter()
                    .map(|(a, _)| Some(a.as_str()))
                    .collect::<StringArray>(),
            ),
            Arc::new(
                p.iter()
                    .map(|(_, v)| Some(v.0.as_str()))
                    .collect::<StringArray>(),
            ),
            Arc::new(p.iter().map(|(_, v)| Some(v.1)).collect::<StringArray>()),
        ],
    )
    .expect("principals columns match")
}

fn accounts_batch(att: &Attribution) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        utf8("account_id"),
        utf8("environment"),
        utf8("source"),
        Field::new("weight", DataType::Int64, false),
    ]));
    let a: Vec<(&String, &(String, &str, u32))> = att.accounts.iter().collect();
    RecordBatch::try_new(
        schema,
        vec![
            Arc::new(
                a.iter()
                    .map(|(k, _)| Some(k.as_str()))
                    .collect::<StringArray>(),
            ),
            Arc::new(
                a.iter()
                    .map(|(_, v)| Some(v.0.as_str()))
                    .collect::<StringArray>(),
            ),
            Arc::new(a.iter().map(|(_, v)| Some(v.1)).collect::<StringArray>()),
            Arc::new(a.iter().map(|(_, v)| v.2 as i64).collect::<Int64Array>()),
        ],
    )
    .expect("account_envs columns match")
}

#[derive(Default)]
struct PipelineRow {
    system: String,
    name: Option<String>,
    repository: Option<String>,
    source: &'static str,
    runs: i64,
    first: Option<i64>,
    last: Option<i64>,
    sessions: i64,
    roles: std::collections::BTreeSet<String>,
    allowed: Option<Vec<String>>,
    required: Option<Vec<String>>,
}

fn pipelines_batch(
    runs: &[RunInfo],
    att: &Attribution,
    sessions: &[Session],
    cfg: &Config,
) -> RecordBatch {
    pipeline_rows_batch(&pipeline_rows(runs, att, sessions, cfg))
}

/// One row per pipeline: from build records, then the ones only CloudTrail or the
/// configuration knows, with the sessions and roles attribution gave them.
fn pipeline_rows(
    runs: &[RunInfo],
    att: &Attribution,
    sessions: &[Session],
    cfg: &Config,
) -> BTreeMap<String, PipelineRow> {
    let mut rows: BTreeMap<String, PipelineRow> = BTreeMap::new();
    for r in runs {
        let p = rows
            .entry(r.pipeline_id.clone())
            .or_insert_with(|| PipelineRow {
                system: r.system.clone(),
                source: "builds",
                ..Default::default()
            });
        p.name = p.name.take().or(r.pipeline_name.clone());
        p.repository = p.repository.take().or(r.repository.clone());
        p.runs += 1;
        p.first = Some(p.first.map_or(r.start, |f| f.min(r.start)));
        p.last = Some(p.last.map_or(r.start, |l| l.max(r.start)));
    }
    for (id, (system, name)) in &att.discovered {
        rows.entry(id.clone()).or_insert_with(|| PipelineRow {
            system: system.clone(),
            name: Some(name.clone()),
            source: "cloudtrail",
            ..Default::default()
        });
    }
    for rule in &cfg.pipelines {
        let p = rows.entry(rule.id.clone()).or_insert_with(|| PipelineRow {
            system: "config".into(),
            name: Some(rule.id.clone()),
            source: "config",
            ..Default::default()
        });
        p.source = "config";
        p.allowed = Some(rule.allowed_environments.clone());
        p.required = (!rule.required_checks.is_empty()).then(|| rule.required_checks.clone());
    }
    for (s, l) in sessions.iter().zip(&att.links) {
        if let Some(p) = l.pipeline_id.as_ref().and_then(|p| rows.get_mut(p)) {
            p.sessions += 1;
            if let Some(r) = &s.issued.role_arn {
                p.roles.insert(r.clone());
            }
        }
    }
    rows
}

fn pipeline_rows_batch(rows: &BTreeMap<String, PipelineRow>) -> RecordBatch {
    let schema = Arc::new(Schema::new(vec![
        utf8("pipeline_id"),
        utf8("system"),
        utf8("name"),
        utf8("repository"),
        utf8("source"),
        Field::new("runs", DataType::Int64, false),
        ts_field("first_run"),
        ts_field("last_run"),
        Field::new("sessions", DataType::Int64, false),
        Field::new(
            "roles",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            true,
        ),
        Field::new(
            "allowed_environments",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            true,
        ),
        Field::new(
            "required_checks",
            DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
            true,
        ),
    ]));
    let r: Vec<(&String, &PipelineRow)> = rows.iter().collect();
    let list = |f: &dyn Fn(&PipelineRow) -> Option<Vec<String>>| -> ArrayRef {
        let mut b = ListBuilder::new(StringBuilder::new());
        for (_, p) in &r {
            match f(p) {
                Some(v) => {
                    for x in v {
                        b.values().append_value(x);
                    }
                    b.append(true);
                }
                None => b.append(false),
            }
        }
        Arc::new(b.finish())
    };
    let ts = |f: &dyn Fn(&PipelineRow) -> Option<i64>| -> ArrayRef {
        Arc::new(
            r.iter()
                .map(|(_, p)| f(p))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone("UTC"),
        )
    };
    let cols: Vec<ArrayRef> = vec![
        Arc::new(
            r.iter()
                .map(|(k, _)| Some(k.as_str()))
                .collect::<StringArray>(),
        ),
        Arc::new(
            r.iter()
                .map(|(_, p)| Some(p.system.as_str()))
                .collect::<StringArray>(),
        ),
        Arc::new(
            r.iter()
                .map(|(_, p)| p.name.as_deref())
                .collect::<StringArray>(),
        ),
        Arc::new(
            r.iter()
                .map(|(_, p)| p.repository.as_deref())
                .collect::<StringArray>(),
        ),
        Arc::new(
            r.iter()
                .map(|(_, p)| Some(p.source))
                .collect::<StringArray>(),
        ),
        Arc::new(r.iter().map(|(_, p)| p.runs).collect::<Int64Array>()),
        ts(&|p| p.first),
        ts(&|p| p.last),
        Arc::new(r.iter().map(|(_, p)| p.sessions).collect::<Int64Array>()),
        list(&|p| Some(p.roles.iter().cloned().collect())),
        list(&|p| p.allowed.clone()),
        list(&|p| p.required.clone()),
    ];
    RecordBatch::try_new(schema, cols).expect("pipelines columns match")
}
