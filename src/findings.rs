//! The findings model: what `detect` produces and every report, table and SIEM consumes. Times
//! are typed ([`Time`]) and closed sets are enums ([`Kind`], [`Severity`]); they become text only
//! where they are serialised (JSON: RFC 3339, `baseline`/`rule`, lower-case severities).

use chrono::{TimeZone, Utc};
use serde::{Serialize, Serializer};

/// The version of the findings JSON schema (README, "Findings").
pub const SCHEMA_VERSION: &str = "pipewarden.findings/v1";

/// An instant of a report, to the second (UTC), as the JSON has always carried it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Time(i64);

impl Time {
    /// From microseconds since the epoch (sub-second digits dropped).
    pub fn from_micros(us: i64) -> Time {
        Time(us.div_euclid(1_000_000) * 1_000_000)
    }

    /// Microseconds since the epoch.
    pub fn micros(self) -> i64 {
        self.0
    }

    fn chrono(self) -> Option<chrono::DateTime<Utc>> {
        Utc.timestamp_micros(self.0).single()
    }

    /// Milliseconds since the epoch; 0 when beyond what a calendar can say.
    pub fn millis(self) -> i64 {
        self.chrono().map(|t| t.timestamp_millis()).unwrap_or(0)
    }

    /// Seconds since the epoch; 0 when beyond what a calendar can say.
    pub fn secs(self) -> i64 {
        self.chrono().map(|t| t.timestamp()).unwrap_or(0)
    }

    /// `2026-11-30T00:00:00Z`; empty when beyond what a calendar can say.
    pub fn rfc3339(self) -> String {
        self.chrono()
            .map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
            .unwrap_or_default()
    }

    /// `2026-11-30T00:00:00`, for a SQL `TIMESTAMP '...'` literal.
    pub fn sql_timestamp(self) -> String {
        self.chrono()
            .map(|d| d.format("%Y-%m-%dT%H:%M:%S").to_string())
            .unwrap_or_default()
    }

    /// `2026-11-30`, for a SQL `DATE '...'` literal.
    pub fn sql_date(self) -> String {
        self.chrono()
            .map(|d| d.format("%Y-%m-%d").to_string())
            .unwrap_or_default()
    }

    /// Microseconds since the epoch, when a calendar can say.
    pub fn checked_micros(self) -> Option<i64> {
        self.chrono().map(|_| self.0)
    }

    /// Days since the epoch, when a calendar can say.
    pub fn day(self) -> Option<i64> {
        self.chrono().map(|_| self.0.div_euclid(86_400_000_000))
    }
}

impl std::fmt::Display for Time {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.rfc3339())
    }
}

impl std::str::FromStr for Time {
    type Err = chrono::ParseError;

    /// Reads back what [`Time::rfc3339`] wrote (any RFC 3339 instant).
    fn from_str(s: &str) -> Result<Time, Self::Err> {
        chrono::DateTime::parse_from_rfc3339(s).map(|t| Time::from_micros(t.timestamp_micros()))
    }
}

impl Serialize for Time {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.rfc3339())
    }
}

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

/// Which family of detector a finding comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Hash)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A departure from the pipeline's own history (`queries/detect/`, scored statistically).
    Baseline,
    /// A single event always worth a look (`queries/rules/`).
    Rule,
}

impl Kind {
    /// `baseline` or `rule`.
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Baseline => "baseline",
            Kind::Rule => "rule",
        }
    }
}

impl std::fmt::Display for Kind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
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
    /// Baseline or rule.
    pub kind: Kind,
    /// Pipeline, when known.
    pub pipeline_id: Option<String>,
    /// Whom it is about: the pipeline, else the origin identity (`iam_user:alice`,
    /// `assumed_role:arn:...`) that acted, else the value. Reports group by it.
    pub subject: String,
    /// What departed (the region, the principal, the role, ...).
    pub value: String,
    /// Environments touched.
    pub environments: Vec<String>,
    /// Runs involved.
    pub run_ids: Vec<String>,
    /// First evidence event.
    pub first_seen: Time,
    /// Last evidence event.
    pub last_seen: Time,
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
    /// The session chains those events were made in, each named by the access key of the chain's
    /// first session (the lake's `sessions.chain_access_key_id`; a session issued before the
    /// loaded data by its own key). Calls made with a long-term key are in no chain.
    pub session_chains: Vec<String>,
    /// One sentence, with the baseline's numbers.
    pub explanation: String,
    /// Baseline numbers (baseline detectors).
    pub baseline: Option<BaselineStats>,
    /// The suppression that applies, if any.
    pub suppressed: Option<SuppressedBy>,
    /// The incident it belongs to ([`Incident::id`]), if any: the field SIEMs correlate on.
    pub incident_id: Option<String>,
}

/// The outcome of a detect run.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema: &'static str,
    /// Window start.
    pub window_start: Time,
    /// Window end (exclusive).
    pub window_end: Time,
    /// History start.
    pub baseline_start: Time,
    /// Ranked findings.
    pub findings: Vec<Finding>,
    /// Pipelines not scored by a detector for lack of history.
    pub insufficient_history: Vec<ThinHistory>,
    /// Expired suppressions that matched a finding.
    pub expired_suppressions: Vec<String>,
    /// Findings that tell one story, grouped ([`crate::detect::incidents`]), highest first.
    pub incidents: Vec<Incident>,
}

/// Ranked findings grouped by [`Finding::subject`]: subjects in the order of their best-ranked
/// finding, each with its findings in rank order.
pub fn by_subject(findings: &[Finding]) -> Vec<(&str, Vec<&Finding>)> {
    let mut out: Vec<(&str, Vec<&Finding>)> = vec![];
    let mut at: std::collections::HashMap<&str, usize> = Default::default();
    for f in findings {
        let s = f.subject.as_str();
        let i = *at.entry(s).or_insert_with(|| {
            out.push((s, vec![]));
            out.len() - 1
        });
        out[i].1.push(f);
    }
    out
}

impl Report {
    /// The ranks of an incident's findings, as people read them (`#1`, `#4`), in its order.
    pub fn incident_ranks(&self, i: &Incident) -> Vec<String> {
        i.finding_ids
            .iter()
            .filter_map(|id| self.findings.iter().find(|f| &f.id == id))
            .map(|f| format!("#{}", f.rank))
            .collect()
    }
}

/// One incident.
#[derive(Debug, Clone, Serialize)]
pub struct Incident {
    /// `pwi-` and a hash of its findings' ids: stable while they are.
    pub id: String,
    /// Combined score, 0-100.
    pub score: u32,
    /// The severity of that score.
    pub severity: Severity,
    /// Its pipelines (empty when none is involved).
    pub pipelines: Vec<String>,
    /// First and last event of its findings.
    pub first_seen: Time,
    /// Last event.
    pub last_seen: Time,
    /// Its findings' ids, by rank.
    pub finding_ids: Vec<String>,
    /// Their detectors, in rank order, once each.
    pub detectors: Vec<String>,
    /// What ties them: shared runs, or one subject within the hour.
    pub why: String,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times_serialise_as_rfc3339_seconds() {
        let t = Time::from_micros(1_764_547_200_123_456);
        assert_eq!(t.rfc3339(), "2025-12-01T00:00:00Z");
        assert_eq!(t.millis(), 1_764_547_200_000);
        assert_eq!(t.sql_timestamp(), "2025-12-01T00:00:00");
        assert_eq!(
            serde_json::to_string(&t).unwrap(),
            "\"2025-12-01T00:00:00Z\""
        );
        assert_eq!(Time::from_micros(i64::MAX).rfc3339(), "");
        assert_eq!(Time::from_micros(i64::MAX).millis(), 0);
        assert_eq!(serde_json::to_string(&Kind::Rule).unwrap(), "\"rule\"");
        assert_eq!("2025-12-01T00:00:00Z".parse::<Time>().unwrap(), t);
    }
}
