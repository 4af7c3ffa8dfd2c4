//! `pipewarden detect`: per-pipeline baselines and rules, ranked and explained.
//!
//! ```text
//!  pipeline_events, runs ──► queries/detect/*.sql (features) ──► baseline.rs (statrs scoring)
//!                        └─► queries/rules/*.sql (single events) ──► rules.rs (grouping)
//!                                                   │
//!                       findings ◄── rank ◄── suppress.rs ◄──┘
//! ```
//!
//! The scoring window is `[until - window, until)`, its history the `baseline` before it. Every
//! finding says which detector, pipeline, run, environment, time span, count, score (0-100),
//! severity, MITRE ATT&CK technique and evidence event ids it has, and explains itself with the
//! baseline's numbers. Findings of one detector and value on one pipeline are one finding.

pub mod baseline;
pub mod render;
pub mod rules;
pub mod suppress;

use std::collections::{BTreeMap, BTreeSet};

use arrow::array::{Array, AsArray, RecordBatch};
use arrow::datatypes::{Int64Type, TimestampMicrosecondType, UInt64Type};
use chrono::{NaiveDate, TimeZone, Utc};
use datafusion::prelude::SessionContext;
use serde::Serialize;

use baseline::{Row, Scored, Thin, UnitCount};
use suppress::Suppressions;

/// The version of the findings JSON schema (README, "Findings").
pub const SCHEMA_VERSION: &str = "pipewarden.findings/v1";

/// Severity, from the score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Below 30.
    Info,
    /// 30 to 49.
    Low,
    /// 50 to 69.
    Medium,
    /// 70 to 84.
    High,
    /// 85 and above.
    Critical,
}

impl Severity {
    /// The severity of a score.
    pub fn of(score: u32) -> Severity {
        match score {
            85.. => Severity::Critical,
            70..=84 => Severity::High,
            50..=69 => Severity::Medium,
            30..=49 => Severity::Low,
            _ => Severity::Info,
        }
    }

    /// Lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }

    /// Parses a name.
    pub fn parse(s: &str) -> Option<Severity> {
        Some(match s.to_ascii_lowercase().as_str() {
            "info" => Severity::Info,
            "low" => Severity::Low,
            "medium" => Severity::Medium,
            "high" => Severity::High,
            "critical" => Severity::Critical,
            _ => return None,
        })
    }
}

/// A MITRE ATT&CK technique.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Technique {
    /// `T1078.004`.
    pub id: String,
    /// `Valid Accounts: Cloud Accounts`.
    pub name: String,
}

/// The baseline numbers behind a baseline finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct BaselineStats {
    /// Days of history.
    pub days: i64,
    /// Units (runs, sessions) in the history.
    pub units: u64,
    /// Units with this value in the history.
    pub value_units: u64,
    /// Distinct values in the history.
    pub distinct_values: u64,
}

/// A suppression that applied.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SuppressedBy {
    /// Why.
    pub reason: String,
    /// Until when.
    pub expires: String,
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    /// Stable id: the same detector, pipeline, value and window give the same id.
    pub id: String,
    /// 1-based rank.
    pub rank: usize,
    /// Detector name.
    pub detector: String,
    /// `baseline` or `rule`.
    pub kind: &'static str,
    /// Pipeline, when known.
    pub pipeline_id: Option<String>,
    /// What departed (the region, the principal, the role, ...).
    pub value: String,
    /// Environments touched.
    pub environments: Vec<String>,
    /// Runs involved.
    pub run_ids: Vec<String>,
    /// First evidence event (RFC 3339).
    pub first_seen: String,
    /// Last evidence event (RFC 3339).
    pub last_seen: String,
    /// Events involved.
    pub count: u64,
    /// 0-100.
    pub score: u32,
    /// From the score.
    pub severity: Severity,
    /// ATT&CK technique.
    pub mitre: Technique,
    /// Evidence event ids (at most 100).
    pub event_ids: Vec<String>,
    /// One sentence, with the baseline's numbers.
    pub explanation: String,
    /// Baseline numbers (baseline detectors).
    pub baseline: Option<BaselineStats>,
    /// The suppression that applies, if any.
    pub suppressed: Option<SuppressedBy>,
}

/// What to judge and against what.
#[derive(Debug, Clone)]
pub struct DetectPlan {
    /// Days of history.
    pub baseline_days: i64,
    /// Days judged.
    pub window_days: i64,
    /// End of the window (exclusive): midnight after the last event when not given.
    pub until: Option<NaiveDate>,
    /// Lowest score reported.
    pub min_score: u32,
    /// Suppressions.
    pub suppressions: Suppressions,
    /// Today, for suppression expiry.
    pub today: NaiveDate,
}

impl Default for DetectPlan {
    fn default() -> Self {
        DetectPlan {
            baseline_days: 30,
            window_days: 1,
            until: None,
            min_score: 50,
            suppressions: Suppressions::default(),
            today: Utc::now().date_naive(),
        }
    }
}

/// The outcome of a detect run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema: &'static str,
    /// Window start (RFC 3339).
    pub window_start: String,
    /// Window end (exclusive).
    pub window_end: String,
    /// History start.
    pub baseline_start: String,
    /// Ranked findings.
    pub findings: Vec<Finding>,
    /// Pipelines not scored by a detector for lack of history.
    pub insufficient_history: Vec<ThinHistory>,
    /// Expired suppressions that matched a finding.
    pub expired_suppressions: Vec<String>,
}

/// A pipeline with too little history for a detector.
#[derive(Debug, Clone, Serialize)]
pub struct ThinHistory {
    /// Pipeline.
    pub pipeline_id: String,
    /// Detector.
    pub detector: String,
    /// Units of history it had.
    pub units: u64,
}

/// A categorical baseline detector: its dimension over `pipeline_events` (the `{value}` of
/// `queries/detect/dimension.sql`), how explanations name it, its weight and ATT&CK technique.
struct Dimension {
    name: &'static str,
    value: &'static str,
    label: &'static str,
    weight: f64,
    mitre: (&'static str, &'static str),
}

const CLOUD_ACCOUNTS: (&str, &str) = ("T1078.004", "Valid Accounts: Cloud Accounts");

const CATEGORICAL: &[Dimension] = &[
    // Who the calls come from: the identity at the root of each session chain.
    Dimension {
        name: "principal",
        value: "origin_type || ':' || origin",
        label: "origin identity",
        weight: 1.0,
        mitre: CLOUD_ACCOUNTS,
    },
    Dimension {
        name: "credential",
        value: "credential_type",
        label: "credential type",
        weight: 1.0,
        mitre: CLOUD_ACCOUNTS,
    },
    Dimension {
        name: "environment",
        value: "coalesce(target_env, 'account:' || coalesce(recipient_account_id, user_account_id))",
        label: "environment",
        weight: 1.0,
        mitre: CLOUD_ACCOUNTS,
    },
    Dimension {
        name: "region",
        value: "aws_region",
        label: "region",
        weight: 0.9,
        mitre: ("T1535", "Unused/Unsupported Cloud Regions"),
    },
    // The /16 of IPv4, the /48 of IPv6, service names as they are.
    Dimension {
        name: "network",
        value: "ip_network(source_ip_address)",
        label: "network",
        weight: 0.9,
        mitre: CLOUD_ACCOUNTS,
    },
    Dimension {
        name: "api",
        value: "event_source || ':' || event_name",
        label: "API",
        weight: 0.8,
        mitre: ("T1106", "Native API"),
    },
];

/// Hour of day on weekdays and on weekends (UTC), scored by [`baseline::hours`].
const HOUR: Dimension = Dimension {
    name: "hour",
    value: "CASE WHEN extract(dow FROM event_time) IN (0, 6) THEN 'weekend' ELSE 'weekday' END \
            || ' ' || lpad(CAST(CAST(extract(hour FROM event_time) AS INT) AS VARCHAR), 2, '0') || 'h'",
    label: "hour",
    weight: 0.85,
    mitre: CLOUD_ACCOUNTS,
};

const DIMENSION_SQL: &str = include_str!("../../queries/detect/dimension.sql");

impl Dimension {
    fn sql(&self) -> String {
        DIMENSION_SQL.replace("{value}", self.value)
    }

    fn technique(&self) -> (String, String) {
        (self.mitre.0.to_string(), self.mitre.1.to_string())
    }
}

/// Every query `detect` runs from `queries/detect/` and `queries/rules/`, named and with its
/// placeholders filled for window `w` (what `pipewarden lint` plans).
pub fn filled_queries(w: &Window) -> Vec<(String, String)> {
    let mut out: Vec<(String, String)> = CATEGORICAL
        .iter()
        .chain([&HOUR])
        .map(|d| {
            (
                format!("queries/detect/dimension.sql ({})", d.name),
                w.fill(&d.sql()),
            )
        })
        .collect();
    out.push(("queries/detect/volume.sql".into(), w.fill(VOLUME_SQL)));
    out.push(("queries/detect/builds.sql".into(), w.fill(BUILDS_SQL)));
    for r in rules::rules() {
        out.push((r.file.to_string(), w.fill(&r.sql)));
    }
    out
}

const VOLUME_SQL: &str = include_str!("../../queries/detect/volume.sql");
const BUILDS_SQL: &str = include_str!("../../queries/detect/builds.sql");

/// The window and history of a plan over a lake whose last event is `last_event` (µs).
pub struct Window {
    /// History start (µs).
    pub baseline_start: i64,
    /// Window start (µs).
    pub start: i64,
    /// Window end, exclusive (µs).
    pub end: i64,
}

const DAY_US: i64 = 86_400_000_000;

impl Window {
    /// The window of `plan` ending at `until` (or at the midnight after `last_event`).
    pub fn of(plan: &DetectPlan, last_event: Option<i64>) -> Window {
        let end = match plan.until {
            Some(d) => d
                .and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp_micros(),
            None => {
                let last = last_event.unwrap_or_else(|| Utc::now().timestamp_micros());
                (last.div_euclid(DAY_US) + 1) * DAY_US
            }
        };
        let start = end - plan.window_days * DAY_US;
        Window {
            baseline_start: start - plan.baseline_days * DAY_US,
            start,
            end,
        }
    }

    /// Fills a query's placeholders.
    pub fn fill(&self, sql: &str) -> String {
        let ts = |t: i64| {
            Utc.timestamp_micros(t)
                .single()
                .map(|d| d.format("%Y-%m-%dT%H:%M:%S").to_string())
                .unwrap_or_default()
        };
        let date = |t: i64| {
            Utc.timestamp_micros(t)
                .single()
                .map(|d| d.format("%Y-%m-%d").to_string())
                .unwrap_or_default()
        };
        sql.replace("{window_start}", &ts(self.start))
            .replace("{window_end}", &ts(self.end))
            .replace("{baseline_start}", &ts(self.baseline_start))
            .replace("{window_start_date}", &date(self.start))
            .replace("{window_end_date}", &date(self.end))
            .replace("{baseline_start_date}", &date(self.baseline_start))
    }
}

fn rfc3339(t: i64) -> String {
    Utc.timestamp_micros(t)
        .single()
        .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_default()
}

/// Errors of detect: a query that failed names its file.
#[derive(Debug, thiserror::Error)]
#[error("{query}: {source}")]
pub struct DetectError {
    /// The query (file or detector).
    pub query: String,
    /// What DataFusion said.
    #[source]
    pub source: datafusion::error::DataFusionError,
}

async fn run_sql(
    ctx: &SessionContext,
    name: &str,
    sql: &str,
) -> Result<Vec<RecordBatch>, DetectError> {
    let err = |e| DetectError {
        query: name.to_string(),
        source: e,
    };
    ctx.sql(sql)
        .await
        .map_err(err)?
        .collect()
        .await
        .map_err(err)
}

// ---- column access ------------------------------------------------------------------------------

fn strs(b: &RecordBatch, name: &str) -> Vec<Option<String>> {
    let Some(c) = b.column_by_name(name) else {
        return vec![None; b.num_rows()];
    };
    let c = arrow::compute::cast(c, &arrow::datatypes::DataType::Utf8).expect("castable to text");
    let s = c.as_string::<i32>();
    (0..s.len())
        .map(|i| (!s.is_null(i)).then(|| s.value(i).to_string()))
        .collect()
}

fn ints(b: &RecordBatch, name: &str) -> Vec<i64> {
    let Some(c) = b.column_by_name(name) else {
        return vec![0; b.num_rows()];
    };
    match c.data_type() {
        arrow::datatypes::DataType::Int64 => {
            let a = c.as_primitive::<Int64Type>();
            (0..a.len())
                .map(|i| if a.is_null(i) { 0 } else { a.value(i) })
                .collect()
        }
        arrow::datatypes::DataType::UInt64 => {
            let a = c.as_primitive::<UInt64Type>();
            (0..a.len())
                .map(|i| if a.is_null(i) { 0 } else { a.value(i) as i64 })
                .collect()
        }
        _ => {
            let c = arrow::compute::cast(c, &arrow::datatypes::DataType::Int64).expect("castable");
            let a = c.as_primitive::<Int64Type>();
            (0..a.len())
                .map(|i| if a.is_null(i) { 0 } else { a.value(i) })
                .collect()
        }
    }
}

fn times(b: &RecordBatch, name: &str) -> Vec<i64> {
    let Some(c) = b.column_by_name(name) else {
        return vec![0; b.num_rows()];
    };
    let a = c.as_primitive::<TimestampMicrosecondType>();
    (0..a.len())
        .map(|i| if a.is_null(i) { 0 } else { a.value(i) })
        .collect()
}

/// A list column (`array_agg(DISTINCT ...)`: run ids, environments) as sorted sets, so a report
/// does not depend on the order in which partitions (or a cluster's executors) merged them.
fn lists(b: &RecordBatch, name: &str) -> Vec<Vec<String>> {
    let Some(c) = b.column_by_name(name) else {
        return vec![vec![]; b.num_rows()];
    };
    let l = c.as_list::<i32>();
    (0..l.len())
        .map(|i| {
            if l.is_null(i) {
                return vec![];
            }
            let v = l.value(i);
            let v = arrow::compute::cast(&v, &arrow::datatypes::DataType::Utf8).expect("text");
            let s = v.as_string::<i32>();
            let mut set: Vec<String> = (0..s.len())
                .filter(|&j| !s.is_null(j))
                .map(|j| s.value(j).to_string())
                .collect();
            set.sort();
            set.dedup();
            set
        })
        .collect()
}

fn feature_rows(batches: &[RecordBatch]) -> Vec<Row> {
    let mut out = vec![];
    for b in batches {
        let (p, v, period) = (strs(b, "pipeline_id"), strs(b, "value"), strs(b, "period"));
        let (units, events, writes) = (ints(b, "units"), ints(b, "events"), ints(b, "writes"));
        let (first, last) = (times(b, "first_time"), times(b, "last_time"));
        let (runs, envs) = (lists(b, "run_ids"), lists(b, "environments"));
        for i in 0..b.num_rows() {
            out.push(Row {
                pipeline_id: p[i].clone().unwrap_or_default(),
                value: v[i].clone().unwrap_or_else(|| "(none)".into()),
                window: period[i].as_deref() == Some("window"),
                units: units[i].max(0) as u64,
                events: events[i].max(0) as u64,
                writes: writes[i].max(0) as u64,
                first: first[i],
                last: last[i],
                event_ids: vec![],
                run_ids: runs[i].clone(),
                environments: envs[i].clone(),
            });
        }
    }
    out
}

/// Runs every detector over a session that has attribution registered.
pub async fn detect(ctx: &SessionContext, plan: &DetectPlan) -> Result<Report, DetectError> {
    let last = run_sql(
        ctx,
        "last event",
        "SELECT max(event_time) AS t FROM cloudtrail",
    )
    .await?;
    let last = last
        .first()
        .filter(|b| b.num_rows() > 0 && !b.column(0).is_null(0))
        .map(|b| times(b, "t")[0]);
    let w = Window::of(plan, last);
    let days = plan.baseline_days;
    let mut thin: Vec<Thin> = vec![];
    let mut raw: Vec<Raw> = vec![];

    for d in CATEGORICAL {
        let b = run_sql(
            ctx,
            &format!("queries/detect/dimension.sql ({})", d.name),
            &w.fill(&d.sql()),
        )
        .await?;
        let rows = feature_rows(&b);
        for mut s in baseline::categorical(&rows, d.name, d.label, days, &mut thin) {
            let mut weight = d.weight;
            if d.name == "api" && s.row.writes == 0 {
                // Reads matter less than writes.
                weight *= 0.75;
            }
            if d.name == "environment"
                && crate::attribute::pipelines::canonical_env(&s.value) == Some("prod")
            {
                // Reaching production where a pipeline never did is the costly kind.
                weight *= 1.25;
            }
            s.score *= weight;
            let ev = Some((d.value.to_string(), String::new()));
            raw.push((d.name.to_string(), s.score, d.technique(), s, ev));
        }
    }
    let b = run_sql(
        ctx,
        "queries/detect/dimension.sql (hour)",
        &w.fill(&HOUR.sql()),
    )
    .await?;
    for mut s in baseline::hours(&feature_rows(&b), days, &mut thin) {
        s.score *= HOUR.weight;
        let ev = Some((HOUR.value.to_string(), String::new()));
        raw.push((HOUR.name.into(), s.score, HOUR.technique(), s, ev));
    }
    let b = run_sql(ctx, "queries/detect/volume.sql", &w.fill(VOLUME_SQL)).await?;
    let units = unit_counts(&b);
    let vol_mitre = rules::mitre(rules::header(VOLUME_SQL, "mitre").unwrap_or(""));
    for (errors, name, mitre) in [
        (false, "volume", vol_mitre.clone()),
        (
            true,
            "errors",
            (
                "T1580".to_string(),
                "Cloud Infrastructure Discovery".to_string(),
            ),
        ),
    ] {
        let unit_expr = rules::header(VOLUME_SQL, "value")
            .unwrap_or("NULL")
            .to_string();
        let extra = if errors {
            " AND (error_code LIKE '%AccessDenied%' OR error_code LIKE '%Unauthorized%' OR error_code = 'Forbidden')"
        } else {
            ""
        };
        for mut s in baseline::volume(&units, errors, &mut thin) {
            s.score *= 0.9;
            let ev = Some((unit_expr.clone(), extra.to_string()));
            raw.push((name.into(), s.score, mitre.clone(), s, ev));
        }
    }
    raw.extend(build_findings(ctx, &w, days, &mut thin).await?);

    let mut findings: Vec<Finding> = vec![];
    for (detector, score, mitre, s, ev) in raw {
        let score = score.round().clamp(0.0, 100.0) as u32;
        if score < plan.min_score {
            continue;
        }
        let pipeline = s.pipeline_id.clone();
        let mut ids = match ev {
            // Evidence for reported findings only: a bounded query, not every event id.
            Some((expr, extra)) => {
                evidence(ctx, &w, &pipeline, &expr, &s.row.value, &extra).await?
            }
            None => s.row.event_ids.clone(),
        };
        ids.truncate(100);
        findings.push(Finding {
            id: String::new(),
            rank: 0,
            detector: detector.clone(),
            kind: "baseline",
            pipeline_id: Some(pipeline.clone()),
            value: s.value.clone(),
            environments: s.row.environments.clone(),
            run_ids: s.row.run_ids.clone(),
            first_seen: rfc3339(s.row.first),
            last_seen: rfc3339(s.row.last),
            count: s.row.events,
            score,
            severity: Severity::of(score),
            mitre: Technique {
                id: mitre.0,
                name: mitre.1,
            },
            event_ids: ids,
            explanation: format!("{pipeline}: {}", s.explanation),
            baseline: Some(BaselineStats {
                days,
                units: s.baseline_units,
                value_units: s.value_units,
                distinct_values: s.distinct,
            }),
            suppressed: None,
        });
    }
    findings.extend(
        rule_findings(ctx, &w)
            .await?
            .into_iter()
            .filter(|f| f.score >= plan.min_score),
    );

    // Suppressions, then a deterministic ranking.
    let mut expired = BTreeSet::new();
    for f in &mut findings {
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
        f.id = finding_id(&f.detector, f.pipeline_id.as_deref(), &f.value, w.start);
    }
    thin.sort();
    thin.dedup();
    Ok(Report {
        schema: SCHEMA_VERSION,
        window_start: rfc3339(w.start),
        window_end: rfc3339(w.end),
        baseline_start: rfc3339(w.baseline_start),
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
    })
}

/// FNV-1a over strings, each followed by a 0 byte: stable across processes and platforms (unlike
/// the standard hasher), for ids others keep.
pub fn fnv1a<'a>(parts: impl IntoIterator<Item = &'a str>) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for part in parts {
        for b in part.bytes().chain(std::iter::once(0u8)) {
            h ^= b as u64;
            h = h.wrapping_mul(0x100000001b3);
        }
    }
    h
}

/// A stable id (FNV-1a of detector, pipeline, value and window start), so a SIEM can deduplicate.
pub fn finding_id(
    detector: &str,
    pipeline: Option<&str>,
    value: &str,
    window_start: i64,
) -> String {
    let h = fnv1a([
        detector,
        pipeline.unwrap_or(""),
        value,
        &window_start.to_string(),
    ]);
    format!("pw-{h:016x}")
}

fn unit_counts(batches: &[RecordBatch]) -> Vec<UnitCount> {
    let mut out = vec![];
    for b in batches {
        let (p, unit, period, run) = (
            strs(b, "pipeline_id"),
            strs(b, "unit"),
            strs(b, "period"),
            strs(b, "run_id"),
        );
        let (events, denied) = (ints(b, "events"), ints(b, "denied"));
        let (first, last) = (times(b, "first_time"), times(b, "last_time"));
        let envs = lists(b, "environments");
        for i in 0..b.num_rows() {
            out.push(UnitCount {
                pipeline_id: p[i].clone().unwrap_or_default(),
                unit: unit[i].clone().unwrap_or_default(),
                window: period[i].as_deref() == Some("window"),
                events: events[i].max(0) as u64,
                denied: denied[i].max(0) as u64,
                first: first[i],
                last: last[i],
                event_ids: vec![],
                denied_ids: vec![],
                environments: envs[i].clone(),
                run_id: run[i].clone(),
            });
        }
    }
    out
}

/// Detector, score, technique, the scored departure, and how to fetch its evidence (the value
/// expression of its feature query and an extra condition).
type Raw = (
    String,
    f64,
    (String, String),
    Scored,
    Option<(String, String)>,
);

fn sql_str(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

/// Up to 100 event ids of the window where `expr` is `value` for `pipeline`.
async fn evidence(
    ctx: &SessionContext,
    w: &Window,
    pipeline: &str,
    expr: &str,
    value: &str,
    extra: &str,
) -> Result<Vec<String>, DetectError> {
    let q = w.fill(&format!(
        "SELECT event_id FROM pipeline_events WHERE pipeline_id = {} AND ({expr}) = {}{extra} \
         AND event_date >= DATE '{{window_start_date}}' AND event_date <= DATE '{{window_end_date}}' \
         AND event_time >= TIMESTAMP '{{window_start}}' AND event_time < TIMESTAMP '{{window_end}}' \
         ORDER BY event_time, event_id LIMIT 100",
        sql_str(pipeline),
        sql_str(value)
    ));
    let b = run_sql(ctx, "evidence", &q).await?;
    Ok(b.iter()
        .flat_map(|b| strs(b, "event_id"))
        .flatten()
        .collect())
}

async fn build_findings(
    ctx: &SessionContext,
    w: &Window,
    days: i64,
    thin: &mut Vec<Thin>,
) -> Result<Vec<Raw>, DetectError> {
    let b = run_sql(ctx, "queries/detect/builds.sql", &w.fill(BUILDS_SQL)).await?;
    let mitre = rules::mitre(rules::header(BUILDS_SQL, "mitre").unwrap_or(""));
    let mut out = vec![];
    for (dim, label) in [
        ("actor", "triggering actor"),
        ("branch", "branch"),
        ("trigger", "trigger"),
        ("runner_kind", "runner kind"),
    ] {
        let mut rows: BTreeMap<(String, String, bool), Row> = BTreeMap::new();
        for batch in &b {
            let (p, run, period, v) = (
                strs(batch, "pipeline_id"),
                strs(batch, "run_id"),
                strs(batch, "period"),
                strs(batch, dim),
            );
            let (start, envs) = (times(batch, "started_at"), strs(batch, "environment"));
            for i in 0..batch.num_rows() {
                let (Some(p), Some(v)) = (&p[i], &v[i]) else {
                    continue;
                };
                let window = period[i].as_deref() == Some("window");
                let r = rows
                    .entry((p.clone(), v.clone(), window))
                    .or_insert_with(|| Row {
                        pipeline_id: p.clone(),
                        value: v.clone(),
                        window,
                        first: start[i],
                        last: start[i],
                        ..Default::default()
                    });
                r.units += 1;
                r.events += 1;
                r.first = r.first.min(start[i]);
                r.last = r.last.max(start[i]);
                if window {
                    r.run_ids.extend(run[i].clone());
                    r.environments.extend(envs[i].clone());
                }
            }
        }
        let rows: Vec<Row> = rows.into_values().collect();
        for mut s in baseline::categorical(&rows, &format!("builds:{dim}"), label, days, thin) {
            s.score *= 0.9;
            s.explanation = s
                .explanation
                .replace("runs or sessions", "runs")
                .replace("run(s) or session(s)", "run(s)");
            // A run is one observation here, not a count of calls.
            if let Some(i) = s.explanation.rfind(", ")
                && s.explanation[i..].ends_with("call(s)")
            {
                s.explanation.truncate(i);
            }
            // Evidence: the CloudTrail events of those runs.
            if !s.row.run_ids.is_empty() {
                let list = s
                    .row
                    .run_ids
                    .iter()
                    .map(|r| format!("'{}'", r.replace('\'', "''")))
                    .collect::<Vec<_>>()
                    .join(", ");
                let q = w.fill(&format!(
                    "SELECT event_id FROM pipeline_events WHERE run_id IN ({list}) \
                     AND event_date >= DATE '{{window_start_date}}' AND event_date <= DATE '{{window_end_date}}' \
                     ORDER BY event_time, event_id LIMIT 100"
                ));
                let ev = run_sql(ctx, "build run evidence", &q).await?;
                s.row.event_ids = ev
                    .iter()
                    .flat_map(|b| strs(b, "event_id"))
                    .flatten()
                    .collect();
            }
            s.row.environments.sort();
            s.row.environments.dedup();
            out.push((format!("builds:{dim}"), s.score, mitre.clone(), s, None));
        }
    }
    Ok(out)
}

async fn rule_findings(ctx: &SessionContext, w: &Window) -> Result<Vec<Finding>, DetectError> {
    let mut out = vec![];
    for rule in rules::rules() {
        let b = run_sql(ctx, rule.file, &w.fill(&rule.sql)).await?;
        #[derive(Default)]
        struct G {
            ids: Vec<(i64, String)>,
            envs: BTreeSet<String>,
            runs: BTreeSet<String>,
            details: BTreeSet<String>,
            actors: BTreeSet<String>,
            score: u32,
        }
        let mut groups: BTreeMap<(Option<String>, String), G> = BTreeMap::new();
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
                .map(|_| ints(batch, "score"))
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
        for ((pipeline, value), mut g) in groups {
            g.ids.sort();
            let details: Vec<&str> = g.details.iter().map(String::as_str).take(6).collect();
            let actors: Vec<&str> = g.actors.iter().map(String::as_str).take(4).collect();
            let explanation = rule
                .explain
                .replace("{value}", &value)
                .replace("{details}", &details.join(", "))
                .replace("{count}", &g.ids.len().to_string())
                .replace("{actors}", &actors.join(", "));
            let explanation = format!(
                "{explanation} ({} event(s){}{})",
                g.ids.len(),
                if actors.is_empty() { "" } else { "; by " },
                actors.join(", ")
            );
            out.push(Finding {
                id: String::new(),
                rank: 0,
                detector: rule.name.clone(),
                kind: "rule",
                pipeline_id: pipeline,
                value,
                environments: g.envs.into_iter().collect(),
                run_ids: g.runs.into_iter().collect(),
                first_seen: rfc3339(g.ids.first().map(|x| x.0).unwrap_or(0)),
                last_seen: rfc3339(g.ids.last().map(|x| x.0).unwrap_or(0)),
                count: g.ids.len() as u64,
                score: g.score,
                severity: Severity::of(g.score),
                mitre: Technique {
                    id: rule.mitre.0.clone(),
                    name: rule.mitre.1.clone(),
                },
                event_ids: g.ids.into_iter().map(|x| x.1).take(100).collect(),
                explanation,
                baseline: None,
                suppressed: None,
            });
        }
    }
    Ok(out)
}
