//! What the lake says about each pipeline in the assessment's period: [`super::Facts`] from
//! `pipeline_events`, `runs` and `pipelines` (the SQL of `queries/assess/`), the saved
//! `findings` table and the `integrity` table of the last `verify --lake`.

use std::collections::BTreeMap;

use arrow::array::{Array, AsArray, RecordBatch};
use datafusion::prelude::SessionContext;

use super::{Facts, Saved, SavedFinding, Verification};
use crate::detect::columns::{ints, lists, strs, times};
use crate::findings::{Severity, Time};
use crate::lake::Lake;

/// Calls, long-term calls, environments and accounts per pipeline in the period.
pub const CALLS_SQL: (&str, &str) = (
    "queries/assess/calls.sql",
    include_str!("../../queries/assess/calls.sql"),
);
/// Up to 20 long-term-credential calls per pipeline, with their principal.
pub const LONG_TERM_SQL: (&str, &str) = (
    "queries/assess/long_term.sql",
    include_str!("../../queries/assess/long_term.sql"),
);
/// Runs per pipeline in the period, and every pipeline the lake knows with its declarations.
pub const PIPELINES_SQL: (&str, &str) = (
    "queries/assess/pipelines.sql",
    include_str!("../../queries/assess/pipelines.sql"),
);

/// Runs that wrote to production, and whether each went through a production environment.
pub const PROD_RUNS_SQL: (&str, &str) = (
    "queries/assess/prod_runs.sql",
    include_str!("../../queries/assess/prod_runs.sql"),
);

/// Every assessment query, for `lint`.
pub const QUERIES: [(&str, &str); 4] = [CALLS_SQL, LONG_TERM_SQL, PIPELINES_SQL, PROD_RUNS_SQL];

/// A query of the assessment that failed.
#[derive(Debug, thiserror::Error)]
#[error("{query}: {source}")]
pub struct FactsError {
    /// The query's file, or what it asked.
    pub query: String,
    /// Why.
    #[source]
    pub source: datafusion::error::DataFusionError,
}

/// `sql` with the period written in: `${since}`, `${until}` (timestamps) and their dates.
pub fn fill(sql: &str, since: Time, until: Time) -> String {
    let last_day = Time::from_micros(until.micros() - 1);
    sql.replace("${since_date}", &since.sql_date())
        .replace("${until_date}", &last_day.sql_date())
        .replace("${since}", &since.sql_timestamp())
        .replace("${until}", &until.sql_timestamp())
}

async fn run(ctx: &SessionContext, name: &str, sql: &str) -> Result<Vec<RecordBatch>, FactsError> {
    let err = |source| FactsError {
        query: name.to_string(),
        source,
    };
    ctx.sql(sql)
        .await
        .map_err(err)?
        .collect()
        .await
        .map_err(err)
}

/// Facts of every pipeline the lake knows (from build records, CloudTrail or the config), by id.
pub async fn facts(
    ctx: &SessionContext,
    since: Time,
    until: Time,
    only: Option<&str>,
) -> Result<BTreeMap<String, Facts>, FactsError> {
    let mut out: BTreeMap<String, Facts> = BTreeMap::new();
    let keep = |p: &str| only.is_none_or(|o| o == p);
    for b in run(ctx, PIPELINES_SQL.0, &fill(PIPELINES_SQL.1, since, until)).await? {
        let (ids, runs, ever) = (
            strs(&b, "pipeline_id"),
            ints(&b, "runs_in_period"),
            ints(&b, "runs_ever"),
        );
        let (envs, checks, roles, repo) = (
            lists(&b, "allowed_environments"),
            lists(&b, "required_checks"),
            lists(&b, "roles"),
            strs(&b, "repository"),
        );
        for i in 0..b.num_rows() {
            let Some(p) = ids[i].as_deref().filter(|p| keep(p)) else {
                continue;
            };
            let f = out.entry(p.to_string()).or_default();
            f.pipeline_id = p.to_string();
            f.runs = runs[i].max(0) as u64;
            f.ever_had_runs = ever[i] > 0;
            f.allowed_environments = envs[i].clone();
            f.roles = roles[i].clone();
            f.repository = repo[i].clone().filter(|r| !r.is_empty());
            if !checks[i].is_empty() {
                f.required_checks = checks[i].clone();
                f.checks_declared = true;
            }
        }
    }
    for b in run(ctx, CALLS_SQL.0, &fill(CALLS_SQL.1, since, until)).await? {
        let (ids, calls, lt) = (
            strs(&b, "pipeline_id"),
            ints(&b, "calls"),
            ints(&b, "long_term_calls"),
        );
        let (envs, accounts) = (lists(&b, "environments"), lists(&b, "accounts"));
        for i in 0..b.num_rows() {
            let Some(p) = ids[i].as_deref().filter(|p| keep(p)) else {
                continue;
            };
            let f = out.entry(p.to_string()).or_default();
            f.pipeline_id = p.to_string();
            f.calls = calls[i].max(0) as u64;
            f.long_term_calls = lt[i].max(0) as u64;
            f.environments = envs[i].clone();
            f.accounts = accounts[i].clone();
        }
    }
    for b in run(ctx, LONG_TERM_SQL.0, &fill(LONG_TERM_SQL.1, since, until)).await? {
        let (ids, events, who) = (
            strs(&b, "pipeline_id"),
            strs(&b, "event_id"),
            strs(&b, "principal"),
        );
        for i in 0..b.num_rows() {
            let Some(f) = ids[i].as_deref().and_then(|p| out.get_mut(p)) else {
                continue;
            };
            if let Some(e) = &events[i] {
                f.long_term_events.push(e.clone());
            }
            if let Some(w) = &who[i]
                && !f.long_term_principals.contains(w)
            {
                f.long_term_principals.push(w.clone());
            }
        }
    }
    for b in run(ctx, PROD_RUNS_SQL.0, &fill(PROD_RUNS_SQL.1, since, until)).await? {
        let (ids, runs) = (strs(&b, "pipeline_id"), strs(&b, "run_id"));
        let through = b
            .column_by_name("through_environment")
            .map(|c| c.as_boolean().clone());
        for i in 0..b.num_rows() {
            let Some(f) = ids[i].as_deref().and_then(|p| out.get_mut(p)) else {
                continue;
            };
            f.prod_runs += 1;
            if through
                .as_ref()
                .is_some_and(|t| !t.is_null(i) && t.value(i))
            {
                f.prod_runs_through_environment += 1;
            } else if let Some(r) = &runs[i]
                && f.prod_runs_outside.len() < super::Evidence::MAX
            {
                f.prod_runs_outside.push(r.clone());
            }
        }
    }
    // Required checks learned from the period's runs where none are declared.
    let learned = crate::detect::required_checks(ctx, since.micros(), until.micros())
        .await
        .map_err(|e| FactsError {
            query: "required checks".into(),
            source: datafusion::error::DataFusionError::External(Box::new(e)),
        })?;
    for (p, req) in learned {
        if let Some(f) = out.get_mut(&p)
            && f.required_checks.is_empty()
        {
            f.required_checks = req.into_iter().map(|r| r.name).collect();
        }
    }
    Ok(out)
}

/// The one file of a single-file table (`findings`, `integrity`, `assessment`), when a run saved it.
pub async fn saved_file(
    lake: &Lake,
    table: &crate::lake::catalog::Table,
) -> Result<Option<object_store::ObjectMeta>, FactsError> {
    let files = lake
        .parquet_files(&object_store::path::Path::from(table.dir))
        .await
        .map_err(|e| FactsError {
            query: format!("{} table", table.name),
            source: datafusion::error::DataFusionError::External(Box::new(e)),
        })?;
    Ok(files.into_iter().last())
}

/// The lake's saved findings (`findings` table), and whether a detect run saved any table.
pub async fn saved_findings(ctx: &SessionContext, lake: &Lake) -> Result<Saved, FactsError> {
    if saved_file(lake, &crate::lake::catalog::FINDINGS)
        .await?
        .is_none()
    {
        return Ok(Saved::default());
    }
    let mut out = Saved {
        present: true,
        findings: vec![],
    };
    let sql = "SELECT id, detector, pipeline_id, value, severity, score, suppressed, event_ids, \
               run_ids, last_seen, explanation, window_start, window_end FROM findings";
    for b in run(ctx, "saved findings", sql).await? {
        let (id, det, p, val, sev, expl) = (
            strs(&b, "id"),
            strs(&b, "detector"),
            strs(&b, "pipeline_id"),
            strs(&b, "value"),
            strs(&b, "severity"),
            strs(&b, "explanation"),
        );
        let score = b
            .column_by_name("score")
            .map(|c| {
                let a = c.as_primitive::<arrow::datatypes::Int32Type>();
                (0..b.num_rows())
                    .map(|i| if a.is_null(i) { 0 } else { a.value(i) as i64 })
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let suppressed = b
            .column_by_name("suppressed")
            .map(|c| {
                let a = c.as_boolean();
                (0..b.num_rows())
                    .map(|i| !a.is_null(i) && a.value(i))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default();
        let (events, runs) = (lists(&b, "event_ids"), lists(&b, "run_ids"));
        let last = times(&b, "last_seen");
        let last_null = b.column_by_name("last_seen").map(|c| c.logical_nulls());
        for i in 0..b.num_rows() {
            let null = last_null
                .as_ref()
                .and_then(|n| n.as_ref())
                .is_some_and(|n| n.is_null(i));
            out.findings.push(SavedFinding {
                id: id[i].clone().unwrap_or_default(),
                detector: det[i].clone().unwrap_or_default(),
                pipeline_id: p[i].clone(),
                value: val[i].clone().unwrap_or_default(),
                severity: sev[i].as_deref().and_then(Severity::parse),
                score: score.get(i).copied().unwrap_or(0),
                suppressed: suppressed.get(i).copied().unwrap_or(false),
                event_ids: events[i].clone(),
                run_ids: runs[i].clone(),
                last_seen: (!null).then(|| Time::from_micros(last[i])),
                explanation: expl[i].clone().unwrap_or_default(),
            });
        }
    }
    Ok(out)
}

/// The window of the saved findings (the first row's), when there are any.
pub async fn findings_window(ctx: &SessionContext) -> Option<(Time, Time)> {
    let b = run(
        ctx,
        "findings window",
        "SELECT min(window_start) AS s, max(window_end) AS e FROM findings",
    )
    .await
    .ok()?;
    let b = b.first().filter(|b| b.num_rows() > 0)?;
    if b.column(0).is_null(0) {
        return None;
    }
    let (s, e) = (times(b, "s"), times(b, "e"));
    Some((Time::from_micros(s[0]), Time::from_micros(e[0])))
}

/// The last `verify --lake`: when it wrote the `integrity` table, and its problems.
pub async fn verification(ctx: &SessionContext, lake: &Lake) -> Result<Verification, FactsError> {
    let Some(file) = saved_file(lake, &crate::lake::catalog::INTEGRITY).await? else {
        return Ok(Verification::default());
    };
    let mut v = Verification {
        verified_at: Some(Time::from_micros(file.last_modified.timestamp_micros())),
        ..Default::default()
    };
    let sql = "SELECT source, account, kind, object FROM integrity ORDER BY object_time, object";
    for b in run(ctx, "integrity", sql).await? {
        let (src, acc, kind, obj) = (
            strs(&b, "source"),
            strs(&b, "account"),
            strs(&b, "kind"),
            strs(&b, "object"),
        );
        for i in 0..b.num_rows() {
            if v.source.is_none() {
                v.source = src[i].clone();
            }
            v.problems.push((
                acc[i].clone().unwrap_or_default(),
                kind[i].clone().unwrap_or_default(),
                obj[i].clone().unwrap_or_default(),
            ));
        }
    }
    Ok(v)
}
