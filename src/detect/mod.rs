//! `pipewarden detect`: per-pipeline baselines and rules, ranked and explained.
//!
//! ```text
//!  pipeline_events, runs ──► catalog.rs: each baseline detector's feature query
//!                        │     (queries/detect/*.sql) ──► columns.rs ──► baseline.rs (statrs)
//!                        ├─► queries/detect/hourly.sql (subjects × hours) ──► burst.rs
//!                        ├─► queries/rules/*.sql (single events) ──► rules.rs (typed headers)
//!                        │     (SQL functions: definitions.rs diffs, trust.rs OIDC breadth)
//!                        └─► queries/detect/checks.sql (runs × checks) ──► checks.rs (required checks)
//!                                                   │
//!                findings (crate::findings) ◄── rank ◄── suppress.rs ◄──┘
//! ```
//!
//! The scoring window is `[until - window, until)`, its history the `baseline` before it. Every
//! finding says which detector, pipeline, run, environment, time span, count, score (0-100),
//! severity, MITRE ATT&CK technique and evidence event ids it has, and explains itself with the
//! baseline's numbers. Findings of one detector and value on one pipeline are one finding.

pub mod activity;
pub mod baseline;
pub mod burst;
pub mod catalog;
pub mod checks;
pub mod columns;
pub mod definitions;
pub mod iam;
pub mod incidents;
pub mod plan;
pub mod rules;
pub mod suppress;
pub mod trust;

use std::collections::{BTreeMap, BTreeSet};

use arrow::array::{Array, RecordBatch};
use datafusion::prelude::SessionContext;
use futures::{StreamExt, TryStreamExt};

pub use crate::findings::{
    BaselineStats, Finding, Incident, Kind, Report, SCHEMA_VERSION, Severity, SuppressedBy,
    Technique, ThinHistory, Time, finding_id, fnv1a,
};
pub use crate::profiles::History;
use baseline::{Scored, Thin};
use catalog::{Detector, Evidence, Feature, Model, Unit};
use columns::{feature_rows, run_rows, strs, times, unit_counts};
pub use plan::{DetectPlan, Subjects, WINDOW_PLACEHOLDERS, Window};
use rules::{Rule, RuleError};

/// Errors of detect: a query that failed names its file; a rule that cannot be read, its file.
#[derive(Debug, thiserror::Error)]
pub enum DetectError {
    /// A query failed.
    #[error("{query}: {source}")]
    Query {
        /// The query (file or detector).
        query: String,
        /// What DataFusion said.
        #[source]
        source: datafusion::error::DataFusionError,
    },
    /// A rule's header is not usable.
    #[error(transparent)]
    Rule(#[from] RuleError),
}

pub(crate) async fn run_sql(
    ctx: &SessionContext,
    name: &str,
    sql: &str,
) -> Result<Vec<RecordBatch>, DetectError> {
    let err = |e| DetectError::Query {
        query: name.to_string(),
        source: e,
    };
    let started = std::time::Instant::now();
    let out = ctx
        .sql(sql)
        .await
        .map_err(err)?
        .collect()
        .await
        .map_err(err);
    timed(name, started);
    out
}

/// Prints how long a step of detect took, when [`timings`] are on.
pub fn timed(step: &str, started: std::time::Instant) {
    if timings() {
        eprintln!(
            "pipewarden: detect: {:>8.3} s  {}",
            started.elapsed().as_secs_f64(),
            crate::sanitize::for_terminal(step)
        );
    }
}

/// `PIPEWARDEN_TIMINGS=1`: each of detect's queries prints its time on stderr (where a run's
/// time goes, for the benchmarks and for users tuning a nightly job).
pub fn timings() -> bool {
    static ON: std::sync::LazyLock<bool> = std::sync::LazyLock::new(|| {
        std::env::var_os("PIPEWARDEN_TIMINGS").is_some_and(|v| v == "1")
    });
    *ON
}

/// Every query `detect` runs from `queries/detect/` and `queries/rules/`, named and with its
/// placeholders filled for window `w` (what `pipewarden lint` plans); unusable rules are
/// added to `failures`.
pub fn filled_queries(w: &Window, failures: &mut Vec<String>) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = vec![];
    for d in catalog::DETECTORS {
        let (name, sql) = d.feature_sql();
        if !out.iter().any(|(n, _)| *n == name) {
            out.push((name, subjects_sql(w, &sql, Subjects::All)));
        }
    }
    // The evidence queries, with a value of each kind.
    out.push((
        catalog::EVIDENCE_SQL.0.into(),
        evidence_sql(w, "p", false, "aws_region", "us-east-1", ""),
    ));
    for history in [History::Scan, History::Profiles] {
        for (name, sql) in [catalog::CHECKS_SQL, catalog::RUN_SPANS_SQL] {
            out.push((name.into(), with_history(w, history, sql)));
        }
    }
    for (name, sql) in [catalog::OUTSIDE_RUNS_SQL, catalog::PIPELINE_DAYS_SQL] {
        out.push((name.into(), w.fill(sql)));
    }
    out.push(("silence evidence".into(), silence_evidence_sql(w, "p", 0)));
    out.push((catalog::HOURLY_SQL.0.into(), hourly_sql(w, Subjects::All)));
    out.push((
        catalog::BURST_EVIDENCE_SQL.0.into(),
        burst_evidence_sql(w, "iam_user:u", 0, burst::Measure::Denied),
    ));
    out.push((
        catalog::RUN_EVIDENCE_SQL.0.into(),
        run_evidence_sql(w, &["r".to_string()]),
    ));
    out.push((
        catalog::SESSION_CHAINS_SQL.0.into(),
        session_chains_sql(w, ["e"]),
    ));
    // The daily profile, the history read from profiles, and the judged days beside it.
    out.push((
        crate::profiles::BUILD_SQL.0.into(),
        w.fill(&crate::profiles::build_sql()),
    ));
    out.push((
        catalog::JUDGED_SQL.0.into(),
        subjects_sql(w, &catalog::judged_sql(), Subjects::All),
    ));
    let dimension = crate::bundled::fill_with(
        crate::profiles::DIMENSION_HISTORY_SQL.1,
        &[("detector", "'api'")],
    );
    out.push((
        catalog::ERROR_PEAKS_SQL.0.into(),
        w.fill(&catalog::error_peaks_sql()),
    ));
    for (name, sql) in [
        (crate::profiles::DIMENSION_HISTORY_SQL.0, dimension.as_str()),
        crate::profiles::VOLUME_HISTORY_SQL,
        crate::profiles::HOURLY_HISTORY_SQL,
        crate::profiles::ERROR_PEAKS_HISTORY_SQL,
    ] {
        out.push((name.into(), subjects_sql(w, sql, Subjects::All)));
    }
    for (file, sql) in crate::bundled::RULES {
        match Rule::parse(file, sql) {
            Ok(r) => {
                for history in [History::Scan, History::Profiles] {
                    let sql = catalog::with_shared(&r.sql);
                    out.push((r.file.clone(), with_history(w, history, &sql)));
                }
            }
            Err(e) => failures.push(e.to_string()),
        }
    }
    out
}

/// The newest CloudTrail delivery's key date (days since the epoch), when every object read
/// had one (a folder of exports or arrays has none, and leaves the clock alone to bound time).
async fn newest_key_day(ctx: &SessionContext) -> Result<Option<i32>, DetectError> {
    use arrow::array::AsArray;
    let b = run_sql(
        ctx,
        "newest delivery",
        "SELECT max(key_date) AS d, count(*) FILTER (WHERE key_date IS NULL) AS undated \
         FROM manifest WHERE dataset = 'cloudtrail' AND events > 0",
    )
    .await?;
    let Some(b) = b.iter().find(|b| b.num_rows() > 0) else {
        return Ok(None);
    };
    let undated = b
        .column(1)
        .as_primitive::<arrow::datatypes::Int64Type>()
        .value(0);
    let d = b.column(0).as_primitive::<arrow::datatypes::Date32Type>();
    Ok((undated == 0 && !d.is_null(0)).then(|| d.value(0)))
}

/// Runs every detector over a session that has attribution registered (and, unless the plan's
/// history is [`History::Scan`], [`crate::profiles::HISTORY_TABLE`]).
pub async fn detect(ctx: &SessionContext, plan: &DetectPlan) -> Result<Report, DetectError> {
    let w = window(ctx, plan).await?;
    detect_in(ctx, plan, &w).await
}

/// The window and history `plan` judges on this lake: its end is `--until`, or the midnight
/// after the last event that is not later than the trusted end.
pub async fn window(ctx: &SessionContext, plan: &DetectPlan) -> Result<Window, DetectError> {
    let trusted_end = Window::trusted_end(plan, newest_key_day(ctx).await?);
    let last = run_sql(
        ctx,
        "last event",
        &format!(
            "SELECT max(event_time) AS t FROM cloudtrail WHERE event_time < TIMESTAMP '{}'",
            crate::findings::Time::from_micros(trusted_end).sql_timestamp()
        ),
    )
    .await?;
    let last = last
        .first()
        .filter(|b| b.num_rows() > 0 && !b.column(0).is_null(0))
        .map(|b| times(b, "t")[0]);
    Ok(Window::of(plan, last, trusted_end))
}

/// Runs every detector over window `w` ([`window`]).
pub async fn detect_in(
    ctx: &SessionContext,
    plan: &DetectPlan,
    w: &Window,
) -> Result<Report, DetectError> {
    let rules = rules::rules()?;
    // A session without the profiles registered judges from the events.
    let profiled = ctx
        .table_exist(crate::profiles::HISTORY_TABLE)
        .unwrap_or(false);
    let plan = &DetectPlan {
        history: if profiled {
            plan.history
        } else {
            History::Scan
        },
        ..plan.clone()
    };
    let mut thin: Vec<Thin> = vec![];
    let mut features = Features::default();
    let mut findings: Vec<Finding> = vec![];
    let mut scored = vec![];
    for d in catalog::DETECTORS {
        for s in score(ctx, w, d, plan, &mut features, &mut thin).await? {
            scored.push((d, s));
        }
    }
    // Each departure's evidence is a query of its own: a few at a time, in order.
    let started = std::time::Instant::now();
    let baseline: Vec<Option<Finding>> = futures::stream::iter(scored)
        .map(|(d, s)| baseline_finding(ctx, w, plan, d, s))
        .buffered(AT_ONCE)
        .try_collect()
        .await?;
    timed("baseline findings' evidence, all", started);
    findings.extend(baseline.into_iter().flatten());
    findings.extend(burst_findings(ctx, w, plan, &mut features).await?);
    // Rules, a few at a time ([`AT_ONCE`]); their findings keep the rules' order.
    let started = std::time::Instant::now();
    let by_rule: Vec<Vec<Finding>> = futures::stream::iter(&rules)
        .map(|rule| rule_findings(ctx, w, plan.history, rule))
        .buffered(AT_ONCE)
        .try_collect()
        .await?;
    timed("rules, all", started);
    findings.extend(
        by_rule
            .into_iter()
            .flatten()
            .filter(|f| f.score >= plan.min_score),
    );
    findings.extend(
        checks_findings(ctx, w, plan.history)
            .await?
            .into_iter()
            .filter(|f| f.score >= plan.min_score),
    );
    findings.extend(
        activity_findings(ctx, w, plan.history)
            .await?
            .into_iter()
            .filter(|f| f.score >= plan.min_score),
    );
    if plan.permissions {
        let review = crate::permissions::review(
            ctx,
            Time::from_micros(w.baseline_start),
            Time::from_micros(w.end),
            None,
        )
        .await
        .map_err(|e| DetectError::Query {
            query: e.query,
            source: e.source,
        })?;
        findings.extend(
            crate::permissions::findings(&review)
                .into_iter()
                .filter(|f| f.score >= plan.min_score),
        );
    }
    for f in &mut findings {
        if f.subject.is_empty() {
            f.subject = f.pipeline_id.clone().unwrap_or_else(|| f.value.clone());
        }
    }
    session_chains(ctx, w, &mut findings).await?;
    let expired = suppress(&mut findings, plan);
    rank(&mut findings, w.start);
    let incidents = incidents::group(&findings);
    for i in &incidents {
        for f in findings
            .iter_mut()
            .filter(|f| i.finding_ids.contains(&f.id))
        {
            f.incident_id = Some(i.id.clone());
        }
    }
    thin.sort();
    thin.dedup();
    Ok(Report {
        schema: SCHEMA_VERSION,
        window_start: Time::from_micros(w.start),
        window_end: Time::from_micros(w.end),
        baseline_start: Time::from_micros(w.baseline_start),
        findings,
        insufficient_history: thin
            .into_iter()
            .map(|t| ThinHistory {
                pipeline_id: t.pipeline_id,
                detector: t.detector,
                units: t.units,
            })
            .collect(),
        expired_suppressions: expired.into_iter().collect(),
        incidents,
    })
}

/// Feature query results of one detect run, by query: detectors that share a query (volume
/// and errors, the four build detectors) read it once.
#[derive(Default)]
struct Features(BTreeMap<String, Vec<RecordBatch>>);

impl Features {
    async fn get(
        &mut self,
        ctx: &SessionContext,
        name: &str,
        queries: &[String],
    ) -> Result<&[RecordBatch], DetectError> {
        let key = queries.join(";\n");
        if !self.0.contains_key(&key) {
            let mut b = vec![];
            for sql in queries {
                b.extend(run_sql(ctx, name, sql).await?);
            }
            self.0.insert(key.clone(), b);
        }
        Ok(&self.0[&key])
    }

    /// One detector's rows of the judged days, from one scan for every detector
    /// ([`catalog::JUDGED_SQL`], read once): identities' rows only where `identities`.
    async fn judged(
        &mut self,
        ctx: &SessionContext,
        w: &Window,
        subjects: Subjects,
        detector: &str,
        identities: bool,
    ) -> Result<Vec<RecordBatch>, DetectError> {
        let sql = subjects_sql(&w.judged_only(), &catalog::judged_sql(), subjects);
        let all = self
            .get(ctx, catalog::JUDGED_SQL.0, std::slice::from_ref(&sql))
            .await?;
        let mut out = vec![];
        for b in all {
            let names = columns::strs(b, "detector");
            let principal = columns::bools(b, "principal");
            let keep: arrow::array::BooleanArray = names
                .iter()
                .zip(&principal)
                .map(|(n, &p)| Some(n.as_deref() == Some(detector) && (identities || !p)))
                .collect();
            let kept =
                arrow::compute::filter_record_batch(b, &keep).map_err(|e| DetectError::Query {
                    query: catalog::JUDGED_SQL.0.to_string(),
                    source: e.into(),
                })?;
            out.push(kept);
        }
        Ok(out)
    }
}

/// One detector's departures, weighted.
async fn score(
    ctx: &SessionContext,
    w: &Window,
    d: &Detector,
    plan: &DetectPlan,
    features: &mut Features,
    thin: &mut Vec<Thin>,
) -> Result<Vec<Scored>, DetectError> {
    let days = plan.baseline_days;
    let (name, sql) = d.feature_sql();
    // The volume query also serves `errors`, which judges identities.
    let subjects = if IDENTITY_DETECTORS.contains(&d.name) || d.feature == Feature::Volume {
        plan.subjects
    } else {
        Subjects::Pipelines
    };
    let batches: Vec<RecordBatch> = match (plan.history, d.feature) {
        (History::Scan, _) | (_, Feature::Runs(_)) => features
            .get(ctx, &name, &[subjects_sql(w, &sql, subjects)])
            .await?
            .to_vec(),
        // The history from the daily profiles, the judged days from the events: every
        // categorical detector's in one scan.
        (_, Feature::Dimension(_)) => {
            let history = crate::bundled::fill_with(
                crate::profiles::DIMENSION_HISTORY_SQL.1,
                &[("detector", &sql_str(d.name))],
            );
            let mut b = features
                .get(ctx, &name, &[subjects_sql(w, &history, subjects)])
                .await?
                .to_vec();
            b.extend(
                features
                    .judged(ctx, w, plan.subjects, d.name, subjects == Subjects::All)
                    .await?,
            );
            b
        }
        (_, Feature::Volume) => {
            let history = subjects_sql(w, crate::profiles::VOLUME_HISTORY_SQL.1, subjects);
            let mut b = features.get(ctx, &name, &[history]).await?.to_vec();
            b.extend(
                features
                    .judged(ctx, w, plan.subjects, "volume", subjects == Subjects::All)
                    .await?,
            );
            b
        }
    };
    let batches = &batches[..];
    let mut out = match (d.model, d.feature) {
        (Model::Categorical, Feature::Runs(column)) => {
            baseline::categorical(&run_rows(batches, column), d.name, d.label, days, thin)
        }
        (Model::Categorical, _) => {
            baseline::categorical(&feature_rows(batches), d.name, d.label, days, thin)
        }
        (Model::Hours, Feature::Runs(column)) => {
            baseline::hours(&run_rows(batches, column), d.name, "started", days, thin)
        }
        (Model::Hours, _) => baseline::hours(&feature_rows(batches), d.name, "active", days, thin),
        (Model::Volume, _) => baseline::volume(&unit_counts(batches), false, thin),
        (Model::Errors, _) => {
            let mut units = unit_counts(batches);
            columns::set_peaks(
                &mut units,
                &error_peaks(ctx, w, plan.history, features).await?,
            );
            baseline::volume(&units, true, thin)
        }
    };
    for s in &mut out {
        s.score *= d.weight_of(&s.value, s.row.writes);
        if s.row.principal {
            s.score *= PRINCIPAL_WEIGHT;
            s.explanation = s
                .explanation
                .replace("runs or sessions", "active hours")
                .replace("run(s) or session(s)", "active hour(s)");
        }
        if d.unit == Unit::Run {
            s.explanation = in_runs(&s.explanation);
        }
    }
    Ok(out)
}

/// Each pipeline unit's busiest five minutes of AccessDenied (`errors`' rate): from the events,
/// or the history from the daily profiles and the judged days from the events.
async fn error_peaks(
    ctx: &SessionContext,
    w: &Window,
    history: History,
    features: &mut Features,
) -> Result<Vec<RecordBatch>, DetectError> {
    let sql = catalog::error_peaks_sql();
    let name = catalog::ERROR_PEAKS_SQL.0;
    if history == History::Scan {
        return Ok(features.get(ctx, name, &[w.fill(&sql)]).await?.to_vec());
    }
    let (history_name, history_sql) = crate::profiles::ERROR_PEAKS_HISTORY_SQL;
    let mut b = features
        .get(ctx, history_name, &[w.fill(history_sql)])
        .await?
        .to_vec();
    b.extend_from_slice(
        features
            .get(ctx, name, &[w.judged_only().fill(&sql)])
            .await?,
    );
    Ok(b)
}

/// Small queries run at once (rules, and the evidence of baseline findings): each is partly
/// serial (planning, opening files, building its joins), so several at a time keep the cores
/// busy (measured on 2 cores over the 10M-event lake: the rules take 1.75 s one at a time, 1.27 s
/// four at a time, 1.05 s eight at a time).
const AT_ONCE: usize = 8;

/// The detectors that judge identities as well as pipelines. The others judge pipelines only:
/// an identity is the `principal` detector's value, not news to itself; people and their tools
/// meet new APIs, accounts and hours every week (on the bundled history's quiet days an approver's
/// first `PutApprovalResult` and a release manager's first `StartPipelineExecution` would be
/// findings), and the sensitive APIs are rules'; an identity's call rate is `burst`'s.
pub const IDENTITY_DETECTORS: &[&str] = &["credential", "region", "network", "errors"];

/// An explanation whose units are runs: a run is one observation, not a count of calls.
fn in_runs(explanation: &str) -> String {
    let mut e = explanation
        .replace("runs or sessions", "runs")
        .replace("run(s) or session(s)", "run(s)");
    if let Some(i) = e.rfind(", ")
        && e[i..].ends_with("call(s)")
    {
        e.truncate(i);
    }
    e
}

/// The weight of an identity's departures against a pipeline's: people and their tools vary
/// more than a pipeline does, and a pipeline's departures are the ones pipewarden is for.
pub const PRINCIPAL_WEIGHT: f64 = 0.85;

/// The finding of a scored departure, with its evidence, when it reaches `--min-score`.
async fn baseline_finding(
    ctx: &SessionContext,
    w: &Window,
    plan: &DetectPlan,
    d: &Detector,
    mut s: Scored,
) -> Result<Option<Finding>, DetectError> {
    let score = s.score.round().clamp(0.0, 100.0) as u32;
    if score < plan.min_score {
        return Ok(None);
    }
    let pipeline = s.pipeline_id.clone();
    // Evidence for reported findings only: a bounded query, not every event id; a scorer that
    // found its evidence already (the refused calls of a busiest five minutes) hands it on.
    let mut ids = match d.evidence {
        _ if !s.row.event_ids.is_empty() => std::mem::take(&mut s.row.event_ids),
        Evidence::Matching { expr, extra } => {
            let q = evidence_sql(w, &pipeline, s.row.principal, expr, &s.row.value, extra);
            event_ids(&run_sql(ctx, "evidence", &q).await?)
        }
        Evidence::OfRuns if s.row.run_ids.is_empty() => vec![],
        Evidence::OfRuns => {
            let q = run_evidence_sql(w, &s.row.run_ids);
            event_ids(&run_sql(ctx, "build run evidence", &q).await?)
        }
    };
    ids.truncate(100);
    if d.evidence == Evidence::OfRuns {
        s.row.environments.sort();
        s.row.environments.dedup();
    }
    Ok(Some(Finding {
        id: String::new(),
        rank: 0,
        detector: d.name.to_string(),
        kind: Kind::Baseline,
        pipeline_id: (!s.row.principal).then(|| pipeline.clone()),
        value: s.value.clone(),
        environments: s.row.environments.clone(),
        run_ids: s.row.run_ids.clone(),
        first_seen: Time::from_micros(s.row.first),
        last_seen: Time::from_micros(s.row.last),
        count: s.row.events,
        score,
        severity: Severity::of(score),
        mitre: d.mitre.into(),
        event_ids: ids,
        explanation: format!("{pipeline}: {}", s.explanation),
        baseline: Some(BaselineStats {
            days: plan.baseline_days,
            units: s.baseline_units,
            value_units: s.value_units,
            distinct_values: s.distinct,
        }),
        suppressed: None,
        session_chains: vec![],
        incident_id: None,
        subject: principal_of(&pipeline, !s.row.principal),
    }))
}

/// A feature query that judges `subjects` (its `${all_subjects}`), for window `w`.
fn subjects_sql(w: &Window, sql: &str, subjects: Subjects) -> String {
    let all = if subjects == Subjects::All {
        "true"
    } else {
        "false"
    };
    w.fill_with(sql, &[("all_subjects", all)])
}

/// A query with the history it reads filled for window `w`: from the events, or the history
/// from the daily profiles and the judged days from the events. `${run_calls}` is the runs'
/// calls (queries/detect/run_calls.sql; checks.sql, run_spans.sql); `${secret_reads}` the
/// window's secret reads and `${secret_history}` each identity's secrets per hour before it
/// (rules: secrets_mass_read.sql). The window's placeholders are filled too.
fn with_history(w: &Window, history: History, sql: &str) -> String {
    let (calls, secret_history) = match history {
        History::Scan => (
            w.fill(catalog::RUN_CALLS_SQL.1),
            crate::bundled::fill_with(
                catalog::SECRET_HOURS_SQL.1,
                &[(
                    "secret_reads",
                    &w.history_only().fill(catalog::SECRET_READS_SQL.1),
                )],
            ),
        ),
        _ => (
            format!(
                "{}\nUNION ALL\n{}",
                w.fill(crate::profiles::RUN_CALLS_HISTORY_SQL.1),
                w.judged_only().fill(catalog::RUN_CALLS_SQL.1)
            ),
            w.fill(crate::profiles::SECRET_HISTORY_SQL.1),
        ),
    };
    let reads = w.judged_only().fill(catalog::SECRET_READS_SQL.1);
    w.fill_with(
        sql,
        &[
            ("run_calls", &calls),
            ("secret_reads", &reads),
            ("secret_history", &secret_history),
        ],
    )
}

/// `queries/detect/hourly.sql` for window `w`.
fn hourly_sql(w: &Window, subjects: Subjects) -> String {
    subjects_sql(w, &catalog::with_shared(catalog::HOURLY_SQL.1), subjects)
}

/// `queries/detect/burst_evidence.sql` for one subject's hour, in one pass.
/// A burst of AccessDenied shows its refused calls only.
fn burst_evidence_sql(w: &Window, subject: &str, hour: i64, measure: burst::Measure) -> String {
    let only = if measure == burst::Measure::Denied {
        catalog::with_shared(" AND ${denied} AND coalesce(${programmatic}, false)")
    } else {
        String::new()
    };
    w.fill_with(
        catalog::BURST_EVIDENCE_SQL.1,
        &[
            ("subject", &sql_str(subject)),
            ("hour", &sql_str(&Time::from_micros(hour).sql_timestamp())),
            ("only", &only),
        ],
    )
}

/// The `burst` findings: each subject's worst hour of the window against its trailing hours
/// ([`burst`]). Pipelines are judged hour by hour only while the lake holds less history than
/// the baseline (then their runs are judged by `volume`).
async fn burst_findings(
    ctx: &SessionContext,
    w: &Window,
    plan: &DetectPlan,
    features: &mut Features,
) -> Result<Vec<Finding>, DetectError> {
    let batches = match plan.history {
        History::Scan => run_sql(ctx, catalog::HOURLY_SQL.0, &hourly_sql(w, plan.subjects)).await?,
        _ => {
            let history = subjects_sql(w, crate::profiles::HOURLY_HISTORY_SQL.1, plan.subjects);
            let mut b = run_sql(ctx, crate::profiles::HOURLY_HISTORY_SQL.0, &history).await?;
            let all = plan.subjects == Subjects::All;
            b.extend(
                features
                    .judged(ctx, w, plan.subjects, "hourly", all)
                    .await?,
            );
            b
        }
    };
    let hours = columns::hour_rows(&batches);
    let short = hours
        .iter()
        .map(|h| h.hour)
        .min()
        .is_none_or(|first| first >= w.baseline_start + plan::DAY_US);
    let mut out = vec![];
    for b in burst::bursts(&hours, w.start, short) {
        let score = b.score.round().clamp(0.0, 100.0) as u32;
        if score < plan.min_score {
            continue;
        }
        let q = burst_evidence_sql(w, &b.hour.subject, b.hour.hour, b.measure);
        let ev = run_sql(ctx, catalog::BURST_EVIDENCE_SQL.0, &q).await?;
        let mut apis: Vec<(String, u64)> = vec![];
        let mut ids: Vec<String> = vec![];
        let (mut first, mut last) = (i64::MAX, i64::MIN);
        for batch in &ev {
            let (names, n, lists) = (
                strs(batch, "event_name"),
                columns::ints(batch, "n"),
                columns::lists(batch, "ids"),
            );
            let (f, l) = (times(batch, "first"), times(batch, "last"));
            for i in 0..batch.num_rows() {
                apis.push((names[i].clone().unwrap_or_default(), n[i].max(0) as u64));
                ids.extend(lists[i].iter().take(100).cloned());
                first = first.min(f[i]);
                last = last.max(l[i]);
            }
        }
        apis.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        ids.sort();
        ids.truncate(100);
        if first > last {
            (first, last) = (b.hour.hour, b.hour.hour + 3_599_999_999);
        }
        let hour = Time::from_micros(b.hour.hour).to_string();
        let explanation = format!(
            "{}: {}",
            b.hour.subject,
            burst::explain(
                &b,
                &hour.get(..16).map_or(hour.clone(), |h| format!("{h}Z")),
                &apis
            )
        );
        out.push(Finding {
            id: String::new(),
            rank: 0,
            detector: if b.measure == burst::Measure::NewApis {
                "api_mix"
            } else {
                "burst"
            }
            .into(),
            kind: Kind::Baseline,
            pipeline_id: b.hour.pipeline_id.clone(),
            value: b.hour.subject.clone(),
            environments: vec![],
            run_ids: vec![],
            first_seen: Time::from_micros(first),
            last_seen: Time::from_micros(last),
            count: b.count,
            score,
            severity: Severity::of(score),
            mitre: match b.measure {
                burst::Measure::Reads => Technique {
                    id: "T1530".into(),
                    name: "Data from Cloud Storage".into(),
                },
                burst::Measure::Calls => Technique {
                    id: "T1526".into(),
                    name: "Cloud Service Discovery".into(),
                },
                burst::Measure::NewApis | burst::Measure::Denied => Technique {
                    id: "T1580".into(),
                    name: "Cloud Infrastructure Discovery".into(),
                },
            },
            event_ids: ids,
            explanation,
            baseline: Some(BaselineStats {
                days: plan.baseline_days,
                units: b.history_hours as u64,
                value_units: b.mean.round() as u64,
                distinct_values: 0,
            }),
            suppressed: None,
            session_chains: vec![],
            incident_id: None,
            subject: principal_of(&b.hour.subject, b.hour.pipeline_id.is_some()),
        });
    }
    Ok(out)
}

/// The subject of a finding from a subject key of the feature queries: a pipeline's id as it is;
/// an identity's `origin_type:origin` as its `origin`, the form rules name their actors in.
fn principal_of(key: &str, pipeline: bool) -> String {
    match key.split_once(':') {
        Some((_, origin)) if !pipeline => origin.to_string(),
        _ => key.to_string(),
    }
}

fn sql_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// `queries/detect/evidence.sql` for one finding in window `w`. One pass: a pipeline or value
/// that reads like a placeholder stays inside its quoted literal.
fn evidence_sql(
    w: &Window,
    subject: &str,
    principal: bool,
    expr: &str,
    value: &str,
    extra: &str,
) -> String {
    let subject_is = if principal {
        format!(
            "pipeline_id IS NULL AND origin_type || ':' || origin = {}",
            sql_str(subject)
        )
    } else {
        format!("pipeline_id = {}", sql_str(subject))
    };
    w.fill_with(
        catalog::EVIDENCE_SQL.1,
        &[
            ("subject_is", &subject_is),
            ("expr", expr),
            ("value", &sql_str(value)),
            ("extra", extra),
        ],
    )
}

/// `queries/detect/run_evidence.sql` for some runs in window `w`, in one pass.
fn run_evidence_sql(w: &Window, runs: &[String]) -> String {
    let list = runs
        .iter()
        .map(|r| sql_str(r))
        .collect::<Vec<_>>()
        .join(", ");
    w.fill_with(catalog::RUN_EVIDENCE_SQL.1, &[("runs", &list)])
}

fn event_ids(batches: &[RecordBatch]) -> Vec<String> {
    batches
        .iter()
        .flat_map(|b| strs(b, "event_id"))
        .flatten()
        .collect()
}

/// Sets each finding's [`Finding::session_chains`] from its evidence events, in one query
/// (`queries/detect/session_chains.sql`) over the window's days.
async fn session_chains(
    ctx: &SessionContext,
    w: &Window,
    findings: &mut [Finding],
) -> Result<(), DetectError> {
    let ids: BTreeSet<&str> = findings
        .iter()
        .flat_map(|f| f.event_ids.iter().map(String::as_str))
        .collect();
    if ids.is_empty() || !ctx.table_exist("sessions").unwrap_or(false) {
        return Ok(());
    }
    let rows = run_sql(
        ctx,
        catalog::SESSION_CHAINS_SQL.0,
        &session_chains_sql(w, ids),
    )
    .await?;
    let mut chain: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for b in &rows {
        for (e, c) in strs(b, "event_id").into_iter().zip(strs(b, "chain")) {
            if let (Some(e), Some(c)) = (e, c) {
                chain.entry(e).or_default().insert(c);
            }
        }
    }
    for f in findings {
        let set: BTreeSet<&String> = f
            .event_ids
            .iter()
            .filter_map(|e| chain.get(e))
            .flatten()
            .collect();
        f.session_chains = set.into_iter().cloned().collect();
    }
    Ok(())
}

/// `queries/detect/session_chains.sql` for some event ids (quoted: they come from logs).
fn session_chains_sql<'a>(w: &Window, ids: impl IntoIterator<Item = &'a str>) -> String {
    let list = ids.into_iter().map(sql_str).collect::<Vec<_>>().join(", ");
    w.fill_with(catalog::SESSION_CHAINS_SQL.1, &[("event_ids", &list)])
}

/// Marks suppressed findings; returns the expired suppressions that matched one.
fn suppress(findings: &mut [Finding], plan: &DetectPlan) -> BTreeSet<String> {
    let mut expired = BTreeSet::new();
    for f in findings {
        let (hit, old) =
            plan.suppressions
                .find(&f.detector, f.pipeline_id.as_deref(), &f.value, plan.today);
        for o in old {
            expired.insert(format!(
                "suppression of {} {:?} expired on {} ({})",
                o.detector,
                o.value.as_deref().unwrap_or("*"),
                o.expires,
                o.reason
            ));
        }
        if let Some(s) = hit {
            f.suppressed = Some(SuppressedBy {
                reason: s.reason.clone(),
                expires: s.expires.clone(),
            });
        }
    }
    expired
}

/// A deterministic ranking: unsuppressed first, by score, ties by detector, pipeline, value;
/// then ranks and stable ids.
fn rank(findings: &mut [Finding], window_start: i64) {
    findings.sort_by(|a, b| {
        (
            a.suppressed.is_some(),
            std::cmp::Reverse(a.score),
            &a.detector,
            &a.pipeline_id,
            &a.value,
        )
            .cmp(&(
                b.suppressed.is_some(),
                std::cmp::Reverse(b.score),
                &b.detector,
                &b.pipeline_id,
                &b.value,
            ))
    });
    for (i, f) in findings.iter_mut().enumerate() {
        f.rank = i + 1;
        f.id = finding_id(
            &f.detector,
            f.pipeline_id.as_deref(),
            &f.value,
            window_start,
        );
    }
}

/// The runs of `w` (history and window) with their checks, by pipeline and run id.
async fn check_runs(
    ctx: &SessionContext,
    w: &Window,
    history: History,
) -> Result<BTreeMap<(String, String), checks::Run>, DetectError> {
    use columns::ints;
    let b = run_sql(
        ctx,
        catalog::CHECKS_SQL.0,
        &with_history(w, history, catalog::CHECKS_SQL.1),
    )
    .await?;
    let mut runs: BTreeMap<(String, String), checks::Run> = BTreeMap::new();
    for batch in &b {
        let (p, run, period, actor, branch, env, name, concl, eid) = (
            strs(batch, "pipeline_id"),
            strs(batch, "run_id"),
            strs(batch, "period"),
            strs(batch, "actor"),
            strs(batch, "branch"),
            strs(batch, "deploy_env"),
            strs(batch, "check_name"),
            strs(batch, "check_conclusion"),
            strs(batch, "check_event_id"),
        );
        let (deployed, deploys) = (bools(batch, "deployed"), bools(batch, "check_deploys"));
        let (started, writes) = (times(batch, "started_at"), ints(batch, "writes"));
        for i in 0..batch.num_rows() {
            let (Some(p), Some(run)) = (p[i].clone(), run[i].clone()) else {
                continue;
            };
            let r = runs
                .entry((p.clone(), run.clone()))
                .or_insert_with(|| checks::Run {
                    pipeline_id: p,
                    run_id: run,
                    started: started[i],
                    in_window: period[i].as_deref() == Some("window"),
                    deployed: deployed[i],
                    env: env[i].clone(),
                    writes: writes[i],
                    actor: actor[i].clone(),
                    branch: branch[i].clone(),
                    ..Default::default()
                });
            if let Some(n) = &name[i] {
                r.add(n, concl[i].as_deref(), eid[i].clone(), deploys[i]);
            }
        }
    }
    Ok(runs)
}

/// Each pipeline's required checks over the runs that started in `[since, until)` (µs): the
/// declared ones, or those learned from those runs as `checks_bypassed` learns them (the
/// assessment's "required checks known").
pub async fn required_checks(
    ctx: &SessionContext,
    since: i64,
    until: i64,
) -> Result<BTreeMap<String, Vec<checks::Required>>, DetectError> {
    let w = Window {
        baseline_start: since,
        start: until,
        end: until,
        trusted_end: until,
    };
    let runs = check_runs(ctx, &w, History::Scan).await?;
    let declared = declared_checks(ctx).await?;
    let mut by_pipeline: BTreeMap<&str, Vec<&checks::Run>> = BTreeMap::new();
    for r in runs.values() {
        by_pipeline.entry(&r.pipeline_id).or_default().push(r);
    }
    let mut out: BTreeMap<String, Vec<checks::Required>> = by_pipeline
        .into_iter()
        .map(|(p, rs)| {
            let req = checks::required(&rs, declared.get(p).map(Vec::as_slice));
            (p.to_string(), req)
        })
        .collect();
    for (p, d) in &declared {
        if !d.is_empty() && !out.contains_key(p) {
            out.insert(p.clone(), checks::required(&[], Some(d)));
        }
    }
    out.retain(|_, v| !v.is_empty());
    Ok(out)
}

/// The `checks_bypassed` findings of window `w` ([`checks`]).
async fn checks_findings(
    ctx: &SessionContext,
    w: &Window,
    history: History,
) -> Result<Vec<Finding>, DetectError> {
    let runs = check_runs(ctx, w, history).await?;
    let declared = declared_checks(ctx).await?;
    let mut by_pipeline: BTreeMap<&str, Vec<&checks::Run>> = BTreeMap::new();
    for r in runs.values() {
        by_pipeline.entry(&r.pipeline_id).or_default().push(r);
    }
    let mut out = vec![];
    for (pipeline, rs) in by_pipeline {
        let history: Vec<&checks::Run> = rs.iter().copied().filter(|r| !r.in_window).collect();
        let req = checks::required(&history, declared.get(pipeline).map(Vec::as_slice));
        if req.is_empty() {
            continue;
        }
        for r in rs.iter().filter(|r| r.in_window) {
            let b = checks::bypasses(r, &req);
            if b.is_empty() {
                continue;
            }
            let mut ids: Vec<String> = b
                .iter()
                .filter_map(|x| r.checks.get(&x.check.name).and_then(|c| c.1.clone()))
                .collect();
            let q = run_evidence_sql(w, std::slice::from_ref(&r.run_id));
            ids.extend(event_ids(&run_sql(ctx, "checks evidence", &q).await?));
            ids.truncate(100);
            let score = if b.iter().any(|x| x.check.declared) {
                85
            } else {
                80
            };
            let names: Vec<&str> = b.iter().map(|x| x.check.name.as_str()).collect();
            out.push(Finding {
                id: String::new(),
                rank: 0,
                detector: "checks_bypassed".into(),
                kind: Kind::Rule,
                pipeline_id: Some(r.pipeline_id.clone()),
                value: format!("run {} without {}", r.run_id, names.join(", ")),
                environments: r.env.iter().cloned().collect(),
                run_ids: vec![r.run_id.clone()],
                first_seen: Time::from_micros(r.started),
                last_seen: Time::from_micros(r.started),
                count: b.len() as u64,
                score,
                severity: Severity::of(score),
                mitre: Technique {
                    id: "T1562.001".into(),
                    name: "Impair Defenses: Disable or Modify Tools".into(),
                },
                event_ids: ids,
                explanation: checks::explain(r, &b),
                baseline: None,
                suppressed: None,
                session_chains: vec![],
                incident_id: None,
                subject: String::new(),
            });
        }
    }
    Ok(out)
}

/// `activity_outside_runs` and `pipeline_silent` ([`activity`]) for window `w`.
async fn activity_findings(
    ctx: &SessionContext,
    w: &Window,
    history: History,
) -> Result<Vec<Finding>, DetectError> {
    use columns::{ints, lists};
    let b = run_sql(
        ctx,
        catalog::RUN_SPANS_SQL.0,
        &with_history(w, history, catalog::RUN_SPANS_SQL.1),
    )
    .await?;
    let mut runs: BTreeMap<String, activity::Runs> = BTreeMap::new();
    for batch in &b {
        let (p, sys, id) = (
            strs(batch, "pipeline_id"),
            strs(batch, "system"),
            strs(batch, "run_id"),
        );
        let (st, en) = (times(batch, "started_at"), times(batch, "ended_at"));
        let num = batch.column_by_name("run_number").map(|c| {
            let c = arrow::compute::cast(c, &arrow::datatypes::DataType::Int64).expect("castable");
            let a = arrow::array::AsArray::as_primitive::<arrow::datatypes::Int64Type>(&c).clone();
            (0..a.len())
                .map(|i| (!a.is_null(i)).then(|| a.value(i)))
                .collect::<Vec<_>>()
        });
        for i in 0..batch.num_rows() {
            let (Some(p), Some(id)) = (p[i].clone(), id[i].clone()) else {
                continue;
            };
            let r = runs.entry(p).or_default();
            r.system = sys[i].clone().unwrap_or_default();
            r.spans.push(activity::Span {
                run_id: id,
                number: num.as_ref().and_then(|n| n[i]),
                start: st[i],
                end: en[i].max(st[i]),
            });
        }
    }
    for r in runs.values_mut() {
        r.spans
            .sort_by(|a, b| (a.start, &a.run_id).cmp(&(b.start, &b.run_id)));
    }
    let b = run_sql(
        ctx,
        catalog::OUTSIDE_RUNS_SQL.0,
        &w.fill(catalog::OUTSIDE_RUNS_SQL.1),
    )
    .await?;
    let mut minutes = vec![];
    for batch in &b {
        let (p, ident, key, by) = (
            strs(batch, "pipeline_id"),
            strs(batch, "identity"),
            strs(batch, "access_key_id"),
            strs(batch, "issued_by"),
        );
        let nulls = |name: &str| {
            batch
                .column_by_name(name)
                .map(|c| (0..c.len()).map(|i| c.is_null(i)).collect::<Vec<_>>())
                .unwrap_or_else(|| vec![true; batch.num_rows()])
        };
        let (issued, expires) = (times(batch, "issued_at"), times(batch, "expires_at"));
        let (no_issued, no_expires) = (nulls("issued_at"), nulls("expires_at"));
        let (first, last) = (times(batch, "first_time"), times(batch, "last_time"));
        let (calls, writes) = (ints(batch, "calls"), ints(batch, "writes"));
        let (names, nets, envs, ids) = (
            lists(batch, "event_names"),
            lists(batch, "networks"),
            lists(batch, "environments"),
            lists(batch, "event_ids"),
        );
        for i in 0..batch.num_rows() {
            let Some(pid) = p[i].clone() else { continue };
            minutes.push(activity::Minute {
                pipeline_id: pid,
                identity: ident[i]
                    .clone()
                    .unwrap_or_else(|| "unknown identity".into()),
                key: key[i].clone().unwrap_or_default(),
                issued: (!no_issued[i]).then_some(issued[i]),
                expires: (!no_expires[i]).then_some(expires[i]),
                issued_by: by[i].clone(),
                first: first[i],
                last: last[i],
                calls: calls[i].max(0) as u64,
                writes: writes[i].max(0) as u64,
                names: names[i].clone(),
                networks: nets[i].clone(),
                environments: envs[i].clone(),
                event_ids: ids[i].iter().take(100).cloned().collect(),
            });
        }
    }
    let mut out = activity::outside_runs(&minutes, &runs);
    let b = run_sql(
        ctx,
        catalog::PIPELINE_DAYS_SQL.0,
        &w.fill(catalog::PIPELINE_DAYS_SQL.1),
    )
    .await?;
    let mut days: BTreeMap<String, Vec<activity::Day>> = BTreeMap::new();
    for batch in &b {
        let p = strs(batch, "pipeline_id");
        let (calls, writes) = (ints(batch, "calls"), ints(batch, "writes"));
        let (first, last) = (times(batch, "first_time"), times(batch, "last_time"));
        for i in 0..batch.num_rows() {
            let Some(pid) = p[i].clone() else { continue };
            days.entry(pid).or_default().push(activity::Day {
                calls: calls[i].max(0) as u64,
                writes: writes[i].max(0) as u64,
                first: first[i],
                last: last[i],
            });
        }
    }
    for s in activity::silences(&runs, &days) {
        let q = silence_evidence_sql(w, &s.pipeline_id, s.since.saturating_add(activity::COVER));
        let ids = event_ids(&run_sql(ctx, "silence evidence", &q).await?);
        out.push(activity::silence_finding(
            &s,
            &runs[&s.pipeline_id].system,
            ids,
        ));
    }
    for (p, r) in &runs {
        out.extend(activity::number_gaps(p, &r.spans, w.start, w.end));
    }
    Ok(out)
}

/// The first 100 calls of a silent pipeline after `after` (µs) in window `w`.
fn silence_evidence_sql(w: &Window, pipeline: &str, after: i64) -> String {
    let after = Time::from_micros(after.max(w.start)).sql_timestamp();
    w.fill_with(
        "SELECT event_id FROM pipeline_events \
         WHERE event_date >= DATE '${window_start_date}' AND event_date <= DATE '${window_end_date}' \
           AND event_time >= TIMESTAMP '${after}' AND event_time < TIMESTAMP '${window_end}' \
           AND pipeline_id = ${pipeline} \
         ORDER BY NOT coalesce(read_only, false) DESC, event_time, event_id LIMIT 100",
        &[("pipeline", &sql_str(pipeline)), ("after", &after)],
    )
}

/// `required_checks` from `pipewarden.toml`, per pipeline.
async fn declared_checks(
    ctx: &SessionContext,
) -> Result<BTreeMap<String, Vec<String>>, DetectError> {
    use arrow::array::AsArray;
    let b = run_sql(
        ctx,
        "declared checks",
        "SELECT pipeline_id, required_checks FROM pipelines WHERE required_checks IS NOT NULL",
    )
    .await?;
    let mut out = BTreeMap::new();
    for batch in &b {
        let ids = strs(batch, "pipeline_id");
        let lists = batch.column(1).as_list::<i32>();
        for (i, id) in ids.into_iter().enumerate() {
            let (Some(id), false) = (id, lists.is_null(i)) else {
                continue;
            };
            let v = lists.value(i);
            let v = v.as_string::<i32>();
            out.insert(
                id,
                (0..v.len())
                    .filter(|j| !v.is_null(*j))
                    .map(|j| v.value(j).to_string())
                    .collect(),
            );
        }
    }
    Ok(out)
}

fn bools(b: &RecordBatch, name: &str) -> Vec<bool> {
    use arrow::array::AsArray;
    match b.column_by_name(name) {
        Some(c) => {
            let a = c.as_boolean();
            (0..a.len()).map(|i| !a.is_null(i) && a.value(i)).collect()
        }
        None => vec![false; b.num_rows()],
    }
}

/// A rule's rows grouped by pipeline and value.
#[derive(Default)]
struct RuleGroup {
    ids: Vec<(i64, String)>,
    envs: BTreeSet<String>,
    runs: BTreeSet<String>,
    details: BTreeSet<String>,
    actors: BTreeSet<String>,
    score: u32,
}

async fn rule_findings(
    ctx: &SessionContext,
    w: &Window,
    history: History,
    rule: &Rule,
) -> Result<Vec<Finding>, DetectError> {
    let sql = with_history(w, history, &catalog::with_shared(&rule.sql));
    let b = run_sql(ctx, &rule.file, &sql).await?;
    let mut groups: BTreeMap<(Option<String>, String), RuleGroup> = BTreeMap::new();
    for batch in &b {
        let (id, p, env, run, value, detail, actor) = (
            strs(batch, "event_id"),
            strs(batch, "pipeline_id"),
            strs(batch, "environment"),
            strs(batch, "run_id"),
            strs(batch, "value"),
            strs(batch, "detail"),
            strs(batch, "actor"),
        );
        let t = times(batch, "event_time");
        let score = batch
            .column_by_name("score")
            .map(|_| columns::ints(batch, "score"))
            .unwrap_or_else(|| vec![rule.score as i64; batch.num_rows()]);
        for i in 0..batch.num_rows() {
            let g = groups
                .entry((p[i].clone(), value[i].clone().unwrap_or_default()))
                .or_default();
            g.ids.push((t[i], id[i].clone().unwrap_or_default()));
            g.envs.extend(env[i].clone());
            g.runs.extend(run[i].clone());
            g.details.extend(detail[i].clone());
            g.actors.extend(actor[i].clone());
            g.score = g.score.max(score[i].clamp(0, 100) as u32);
        }
    }
    Ok(groups
        .into_iter()
        .map(|((pipeline, value), g)| rule_finding(rule, pipeline, value, g))
        .collect())
}

fn rule_finding(rule: &Rule, pipeline: Option<String>, value: String, mut g: RuleGroup) -> Finding {
    g.ids.sort();
    let details: Vec<&str> = g.details.iter().map(String::as_str).take(6).collect();
    let actors: Vec<&str> = g.actors.iter().map(String::as_str).take(4).collect();
    // About the pipeline; else the one identity that acted; else what it names.
    let subject = match (&pipeline, g.actors.len()) {
        (Some(p), _) => p.clone(),
        (None, 1) => actors[0].to_string(),
        _ => value.clone(),
    };
    let explanation = crate::bundled::fill_with(
        &rule.explain,
        &[
            ("value", &value),
            ("details", &details.join(", ")),
            ("count", &g.ids.len().to_string()),
            ("actors", &actors.join(", ")),
        ],
    );
    let explanation = format!(
        "{explanation} ({} event(s){}{})",
        g.ids.len(),
        if actors.is_empty() { "" } else { "; by " },
        actors.join(", ")
    );
    Finding {
        id: String::new(),
        rank: 0,
        detector: rule.name.clone(),
        kind: Kind::Rule,
        pipeline_id: pipeline,
        value,
        environments: g.envs.into_iter().collect(),
        run_ids: g.runs.into_iter().collect(),
        first_seen: Time::from_micros(g.ids.first().map(|x| x.0).unwrap_or(0)),
        last_seen: Time::from_micros(g.ids.last().map(|x| x.0).unwrap_or(0)),
        count: g.ids.len() as u64,
        score: g.score,
        severity: Severity::of(g.score),
        mitre: rule.mitre.clone(),
        event_ids: g.ids.into_iter().map(|x| x.1).take(100).collect(),
        explanation,
        baseline: None,
        suppressed: None,
        session_chains: vec![],
        incident_id: None,
        subject,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression: log text that reads like a placeholder (`${window_start}` in a value) was
    /// rewritten inside the evidence SQL's quoted literal.
    #[test]
    fn placeholders_in_log_text_stay_in_their_literal() {
        let w = Window::of(
            &DetectPlan::default(),
            Some(1_790_000_000_000_000),
            i64::MAX,
        );
        for principal in [false, true] {
            let q = evidence_sql(
                &w,
                "p${window_end}",
                principal,
                "aws_region",
                "x${window_start}'y",
                "",
            );
            assert!(q.contains("'p${window_end}'"), "{q}");
            assert!(q.contains("'x${window_start}''y'"), "{q}");
            assert!(!q.contains("TIMESTAMP '${"), "{q}");
            assert_eq!(
                q.contains("WHERE pipeline_id IS NULL AND origin_type"),
                principal
            );
        }
        let q = run_evidence_sql(&w, &["r${window_start_date}".to_string()]);
        assert!(q.contains("IN ('r${window_start_date}')"), "{q}");
    }
}
