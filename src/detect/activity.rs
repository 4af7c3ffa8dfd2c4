//! What only pipewarden can see, because it holds both the build records and CloudTrail:
//! a pipeline's identity acting while no run of the pipeline explains it
//! (`activity_outside_runs`), and a pipeline whose build records went silent while its
//! identities went on (`pipeline_silent`). Pure: the queries are `queries/detect/outside_runs.sql`,
//! `run_spans.sql` and `pipeline_days.sql`, run by [`super::detect`].
//!
//! A run is active from its first record (queued) minus [`LEAD`] to its completion plus
//! [`TAIL`]. A call is explained when it was made with a session issued while a run was active
//! and before that session expired (the credential's remaining lifetime), or when all of its
//! minute lies within a run's span (a long-term key's calls get [`TAIL`] after the run; a session
//! issued before the lake's history, [`UNKNOWN_SESSION_TAIL`]). Calls that attribution placed in a
//! run never reach this module.
//!
//! Only times the build records cover are judged: from a day before the pipeline's first record,
//! to its latest record, or up to a day past it while its CI system's records still arrive. Past
//! that, the pipeline is silent, and `pipeline_silent` reports the gap once.

use std::collections::BTreeMap;

use crate::findings::{Finding, Kind, Severity, Technique, Time};

const MINUTE: i64 = 60 * 1_000_000;
/// Before a run's first record: runners fetch credentials as a job starts.
pub const LEAD: i64 = 5 * MINUTE;
/// After a run's completion, for calls not made with a session the run was given.
pub const TAIL: i64 = 5 * MINUTE;
/// After a run's completion, for a session issued before the lake's history (its lifetime unknown).
pub const UNKNOWN_SESSION_TAIL: i64 = 60 * MINUTE;
/// How far past its latest build record a pipeline is still judged by run spans.
pub const COVER: i64 = 24 * 60 * MINUTE;

/// One run's active span.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    /// The run id.
    pub run_id: String,
    /// The run number, where the CI system numbers runs.
    pub number: Option<i64>,
    /// First record (queued or started), µs.
    pub start: i64,
    /// Completion, else the last record, µs.
    pub end: i64,
}

/// A pipeline's runs, by start, and its CI system.
#[derive(Debug, Clone, Default)]
pub struct Runs {
    /// The CI system (`github`, `gitlab`, ...).
    pub system: String,
    /// The runs, sorted by start.
    pub spans: Vec<Span>,
}

impl Runs {
    fn last_end(&self) -> i64 {
        self.spans.iter().map(|s| s.end).max().unwrap_or(i64::MIN)
    }
}

/// One minute of calls by one identity and access key that attribution placed in no run.
#[derive(Debug, Clone, Default)]
pub struct Minute {
    /// The pipeline attribution gave the identity.
    pub pipeline_id: String,
    /// The role the session assumed, else the IAM user.
    pub identity: String,
    /// The access key that made the calls.
    pub key: String,
    /// When its session was issued, if the lake holds the issuing call.
    pub issued: Option<i64>,
    /// When that session expires.
    pub expires: Option<i64>,
    /// The STS API that issued it.
    pub issued_by: Option<String>,
    /// First and last call.
    pub first: i64,
    /// Last call.
    pub last: i64,
    /// Calls and writes.
    pub calls: u64,
    /// Write calls.
    pub writes: u64,
    /// Event names.
    pub names: Vec<String>,
    /// Source addresses.
    pub networks: Vec<String>,
    /// Environments touched.
    pub environments: Vec<String>,
    /// Event ids.
    pub event_ids: Vec<String>,
}

fn active(s: &Span, t: i64, tail: i64) -> bool {
    s.start.saturating_sub(LEAD) <= t && t <= s.end.saturating_add(tail)
}

/// Whether a run of the pipeline explains the minute.
pub fn explained(m: &Minute, spans: &[Span]) -> bool {
    if let Some(issued) = m.issued {
        let expires = m.expires.unwrap_or(issued.saturating_add(60 * MINUTE));
        if m.last <= expires && spans.iter().any(|s| active(s, issued, TAIL)) {
            return true;
        }
    }
    let tail = if m.issued.is_some() || is_long_term(&m.key) {
        TAIL
    } else {
        UNKNOWN_SESSION_TAIL
    };
    spans
        .iter()
        .any(|s| active(s, m.first, tail) && active(s, m.last, tail))
}

fn is_long_term(key: &str) -> bool {
    key.starts_with("AKIA")
}

/// Whether the build records cover the minute (see the module's doc). `stream_last` is the
/// latest record of any pipeline of the same CI system.
pub fn covered(m: &Minute, runs: &Runs, stream_last: i64) -> bool {
    let Some(first) = runs.spans.iter().map(|s| s.start).min() else {
        return false;
    };
    if m.first < first.saturating_sub(COVER) {
        return false;
    }
    let last = runs.last_end();
    m.last <= last || (m.first <= last.saturating_add(COVER) && stream_last >= m.last)
}

/// The runs just before and just after `[first, last]`.
pub fn nearest(spans: &[Span], first: i64, last: i64) -> (Option<&Span>, Option<&Span>) {
    let before = spans
        .iter()
        .filter(|s| s.end < first)
        .max_by_key(|s| (s.end, &s.run_id));
    let after = spans
        .iter()
        .filter(|s| s.start > last)
        .min_by_key(|s| (s.start, &s.run_id));
    (before, after)
}

/// "3h 20m", "2d 4h", "12m".
pub fn span_text(us: i64) -> String {
    let m = us.max(0) / MINUTE;
    let (d, h, mm) = (m / 1440, (m / 60) % 24, m % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {mm}m")
    } else {
        format!("{mm}m")
    }
}

fn short(list: &[String], n: usize) -> String {
    let mut s = list.iter().take(n).cloned().collect::<Vec<_>>().join(", ");
    if list.len() > n {
        s.push_str(&format!(" and {} more", list.len() - n));
    }
    s
}

fn union(into: &mut Vec<String>, from: &[String]) {
    into.extend(from.iter().cloned());
    into.sort();
    into.dedup();
}

/// The `activity_outside_runs` findings: the minutes no run explains, where build records cover
/// them, one finding per pipeline and identity.
pub fn outside_runs(minutes: &[Minute], runs: &BTreeMap<String, Runs>) -> Vec<Finding> {
    let mut stream_last: BTreeMap<&str, i64> = BTreeMap::new();
    for r in runs.values() {
        let e = stream_last.entry(r.system.as_str()).or_insert(i64::MIN);
        *e = (*e).max(r.last_end());
    }
    let mut groups: BTreeMap<(&str, &str), Vec<&Minute>> = BTreeMap::new();
    for m in minutes {
        let Some(r) = runs.get(&m.pipeline_id) else {
            continue;
        };
        let live = stream_last
            .get(r.system.as_str())
            .copied()
            .unwrap_or(i64::MIN);
        if covered(m, r, live) && !explained(m, &r.spans) {
            groups
                .entry((m.pipeline_id.as_str(), m.identity.as_str()))
                .or_default()
                .push(m);
        }
    }
    groups
        .into_iter()
        .map(|((pipeline, identity), ms)| outside_finding(pipeline, identity, &ms, &runs[pipeline]))
        .collect()
}

fn outside_finding(pipeline: &str, identity: &str, ms: &[&Minute], runs: &Runs) -> Finding {
    let first = ms.iter().map(|m| m.first).min().unwrap_or(0);
    let last = ms.iter().map(|m| m.last).max().unwrap_or(0);
    let (calls, writes) = ms
        .iter()
        .fold((0, 0), |(c, w), m| (c + m.calls, w + m.writes));
    let (mut names, mut networks, mut envs, mut keys) = (vec![], vec![], vec![], vec![]);
    let mut ids: Vec<(i64, String)> = vec![];
    let mut sessions: Vec<(i64, String)> = vec![];
    for m in ms {
        union(&mut names, &m.names);
        union(&mut networks, &m.networks);
        union(&mut envs, &m.environments);
        union(&mut keys, std::slice::from_ref(&m.key));
        ids.extend(m.event_ids.iter().map(|e| (m.first, e.clone())));
        if let Some(t) = m.issued {
            sessions.push((t, m.issued_by.clone().unwrap_or_else(|| "STS".into())));
        }
    }
    ids.sort();
    ids.dedup();
    sessions.sort();
    sessions.dedup();
    keys.retain(|k| !k.is_empty());
    let how = if let Some((t, api)) = sessions.first() {
        format!(
            "with {} session(s), the first issued by {api} at {}, while no run was active",
            sessions.len(),
            Time::from_micros(*t).rfc3339()
        )
    } else if keys.iter().any(|k| is_long_term(k)) {
        format!("with long-term key(s) {}", short(&keys, 2))
    } else {
        "with a session issued before the lake's history".to_string()
    };
    let (before, after) = nearest(&runs.spans, first, last);
    let before = before.map_or("no run before it".to_string(), |s| {
        format!(
            "the run before, {}, ended {} ({} earlier)",
            s.run_id,
            Time::from_micros(s.end).rfc3339(),
            span_text(first - s.end)
        )
    });
    let after = after.map_or("no run after it".to_string(), |s| {
        format!(
            "the run after, {}, started {} ({} later)",
            s.run_id,
            Time::from_micros(s.start).rfc3339(),
            span_text(s.start - last)
        )
    });
    let score: u32 = match (writes > 0, envs.iter().any(|e| e == "prod")) {
        (true, true) => 85,
        (true, false) => 80,
        _ => 65,
    };
    Finding {
        id: String::new(),
        rank: 0,
        detector: "activity_outside_runs".into(),
        kind: Kind::Rule,
        pipeline_id: Some(pipeline.to_string()),
        value: identity.to_string(),
        environments: envs,
        run_ids: vec![],
        first_seen: Time::from_micros(first),
        last_seen: Time::from_micros(last),
        count: calls,
        score,
        severity: Severity::of(score),
        mitre: Technique {
            id: "T1078.004".into(),
            name: "Valid Accounts: Cloud Accounts".into(),
        },
        event_ids: ids.into_iter().map(|x| x.1).take(100).collect(),
        explanation: format!(
            "{pipeline}: {identity} made {calls} call(s), {writes} write(s) ({}), from {} between {} and {} {how}; {before}; {after}",
            short(&names, 6),
            if networks.is_empty() {
                "an unknown network".to_string()
            } else {
                short(&networks, 3)
            },
            Time::from_micros(first).rfc3339(),
            Time::from_micros(last).rfc3339(),
        ),
        baseline: None,
        suppressed: None,
        session_chains: vec![],
        incident_id: None,
        subject: String::new(),
    }
}

/// One day of a pipeline's CloudTrail activity.
#[derive(Debug, Clone, Default)]
pub struct Day {
    /// Calls.
    pub calls: u64,
    /// Write calls.
    pub writes: u64,
    /// First call, µs.
    pub first: i64,
    /// Last call, µs.
    pub last: i64,
}

/// A pipeline whose build records stopped while its identities went on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Silence {
    /// The pipeline.
    pub pipeline_id: String,
    /// Its latest build record, µs.
    pub since: i64,
    /// The run of that record.
    pub last_run: String,
    /// Calls and writes after [`COVER`] past it, in the window.
    pub calls: u64,
    /// Writes among them.
    pub writes: u64,
    /// Days with such calls.
    pub days: usize,
    /// The first and last of them.
    pub first: i64,
    /// The last.
    pub last: i64,
    /// The latest record of any pipeline of its CI system.
    pub stream_last: i64,
}

/// Pipelines with build records, none in the [`COVER`] before their identities' later calls, and
/// at least one write or ten calls since: one [`Silence`] per pipeline (the open gap).
pub fn silences(runs: &BTreeMap<String, Runs>, days: &BTreeMap<String, Vec<Day>>) -> Vec<Silence> {
    let mut stream_last: BTreeMap<&str, i64> = BTreeMap::new();
    for r in runs.values() {
        let e = stream_last.entry(r.system.as_str()).or_insert(i64::MIN);
        *e = (*e).max(r.last_end());
    }
    let mut out = vec![];
    for (p, r) in runs {
        let Some(last) = r.spans.iter().max_by_key(|s| (s.end, &s.run_id)) else {
            continue;
        };
        let quiet_from = last.end.saturating_add(COVER);
        let after: Vec<&Day> = days
            .get(p)
            .map(|d| d.iter().filter(|d| d.last > quiet_from).collect())
            .unwrap_or_default();
        let (calls, writes) = after
            .iter()
            .fold((0, 0), |(c, w), d| (c + d.calls, w + d.writes));
        if after.is_empty() || (writes == 0 && calls < 10) {
            continue;
        }
        out.push(Silence {
            pipeline_id: p.clone(),
            since: last.end,
            last_run: last.run_id.clone(),
            calls,
            writes,
            days: after.len(),
            first: after
                .iter()
                .map(|d| d.first.max(quiet_from))
                .min()
                .unwrap_or(0),
            last: after.iter().map(|d| d.last).max().unwrap_or(0),
            stream_last: stream_last[r.system.as_str()],
        });
    }
    out
}

/// The finding of a [`Silence`], with its evidence (the first calls after it).
pub fn silence_finding(s: &Silence, system: &str, event_ids: Vec<String>) -> Finding {
    let score: u32 = if s.writes > 0 { 75 } else { 55 };
    let stream = if s.stream_last <= s.since.saturating_add(COVER) {
        format!(
            "; no {system} pipeline has a build record after {} either: is the build-record ingest running?",
            Time::from_micros(s.stream_last).rfc3339()
        )
    } else {
        format!(
            "; other {system} pipelines' records arrive (the latest at {})",
            Time::from_micros(s.stream_last).rfc3339()
        )
    };
    Finding {
        id: String::new(),
        rank: 0,
        detector: "pipeline_silent".into(),
        kind: Kind::Rule,
        pipeline_id: Some(s.pipeline_id.clone()),
        value: format!(
            "no build records after {}",
            Time::from_micros(s.since).rfc3339()
        ),
        environments: vec![],
        run_ids: vec![s.last_run.clone()],
        first_seen: Time::from_micros(s.first),
        last_seen: Time::from_micros(s.last),
        count: s.calls,
        score,
        severity: Severity::of(score),
        mitre: Technique {
            id: "T1562.008".into(),
            name: "Impair Defenses: Disable or Modify Cloud Logs".into(),
        },
        event_ids,
        explanation: format!(
            "{}: no build record since {} (run {}), yet its identities made {} call(s), {} write(s), on {} day(s) from {} to {}{stream}",
            s.pipeline_id,
            Time::from_micros(s.since).rfc3339(),
            s.last_run,
            s.calls,
            s.writes,
            s.days,
            Time::from_micros(s.first).rfc3339(),
            Time::from_micros(s.last).rfc3339(),
        ),
        baseline: None,
        suppressed: None,
        session_chains: vec![],
        incident_id: None,
        subject: String::new(),
    }
}

/// Missing run numbers between two runs, the later one started in `[window_start, window_end)`,
/// for a pipeline whose earlier runs were numbered without gaps (90% of at least 10 consecutive
/// pairs): one finding per gap.
pub fn number_gaps(
    pipeline: &str,
    spans: &[Span],
    window_start: i64,
    window_end: i64,
) -> Vec<Finding> {
    let mut numbered: BTreeMap<i64, &Span> = BTreeMap::new();
    for s in spans {
        if let Some(n) = s.number {
            let e = numbered.entry(n).or_insert(s);
            if s.start < e.start {
                *e = s;
            }
        }
    }
    let pairs: Vec<(i64, &Span, i64, &Span)> = numbered
        .iter()
        .zip(numbered.iter().skip(1))
        .map(|((a, sa), (b, sb))| (*a, *sa, *b, *sb))
        .collect();
    let history: Vec<_> = pairs.iter().filter(|p| p.3.start < window_start).collect();
    let contiguous = history.iter().filter(|p| p.2 - p.0 == 1).count();
    if history.len() < 10 || (contiguous as f64) < 0.9 * history.len() as f64 {
        return vec![];
    }
    let share = 100.0 * contiguous as f64 / history.len() as f64;
    pairs
        .iter()
        .filter(|p| p.2 - p.0 > 1 && p.3.start >= window_start && p.3.start < window_end)
        .map(|&(a, sa, b, sb)| {
            let missing = (b - a - 1) as u64;
            let value = if missing == 1 {
                format!("run #{} missing", a + 1)
            } else {
                format!("runs #{}..#{} missing", a + 1, b - 1)
            };
            Finding {
                id: String::new(),
                rank: 0,
                detector: "pipeline_silent".into(),
                kind: Kind::Rule,
                pipeline_id: Some(pipeline.to_string()),
                value: value.clone(),
                environments: vec![],
                run_ids: vec![sa.run_id.clone(), sb.run_id.clone()],
                first_seen: Time::from_micros(sa.start),
                last_seen: Time::from_micros(sb.start),
                count: missing,
                score: 50,
                severity: Severity::of(50),
                mitre: Technique {
                    id: "T1070".into(),
                    name: "Indicator Removal".into(),
                },
                event_ids: vec![],
                explanation: format!(
                    "{pipeline}: {value}: {missing} run number(s) have no build record between run #{a} ({}, {}) and run #{b} ({}, {}); {share:.0}% of its {} earlier consecutive runs were numbered without a gap (deleted runs, or records that were not delivered)",
                    sa.run_id,
                    Time::from_micros(sa.start).rfc3339(),
                    sb.run_id,
                    Time::from_micros(sb.start).rfc3339(),
                    history.len()
                ),
                baseline: None,
                suppressed: None,
                session_chains: vec![],
                incident_id: None,
                subject: String::new(),
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 60 * MINUTE;

    fn span(id: &str, n: i64, start_h: i64, end_h: i64) -> Span {
        Span {
            run_id: id.into(),
            number: Some(n),
            start: start_h * H,
            end: end_h * H,
        }
    }

    fn minute(first: i64, last: i64) -> Minute {
        Minute {
            pipeline_id: "p".into(),
            identity: "arn:aws:iam::1:role/deploy".into(),
            key: "ASIAX".into(),
            first,
            last,
            calls: 3,
            writes: 1,
            names: vec!["PutObject".into()],
            networks: vec!["198.51.100.7".into()],
            event_ids: vec!["e1".into()],
            ..Default::default()
        }
    }

    fn runs(spans: Vec<Span>) -> BTreeMap<String, Runs> {
        BTreeMap::from([(
            "p".to_string(),
            Runs {
                system: "github".into(),
                spans,
            },
        )])
    }

    #[test]
    fn a_call_inside_a_run_or_its_session_lifetime_is_explained() {
        let spans = vec![span("r1", 1, 10, 11), span("r2", 2, 30, 31)];
        // Within the span, and within the lead before its first record.
        assert!(explained(
            &minute(10 * H + MINUTE, 10 * H + 2 * MINUTE),
            &spans
        ));
        assert!(explained(
            &minute(10 * H - 4 * MINUTE, 10 * H - 3 * MINUTE),
            &spans
        ));
        // A session issued in the run, used 40 minutes after it ended and before it expired.
        let mut m = minute(11 * H + 40 * MINUTE, 11 * H + 41 * MINUTE);
        m.issued = Some(10 * H + 30 * MINUTE);
        m.expires = Some(11 * H + 30 * MINUTE + 15 * MINUTE);
        assert!(explained(&m, &spans));
        // The same session after its expiry is not (a log that says otherwise is not believed).
        m.expires = Some(11 * H + 30 * MINUTE);
        assert!(!explained(&m, &spans));
        // A session issued at night, used at night.
        let mut m = minute(20 * H, 20 * H + MINUTE);
        m.issued = Some(20 * H);
        m.expires = Some(21 * H);
        assert!(!explained(&m, &spans));
        // A long-term key gets five minutes after the run; an unknown session an hour.
        let mut k = minute(11 * H + 20 * MINUTE, 11 * H + 21 * MINUTE);
        k.key = "AKIAEXAMPLE".into();
        assert!(!explained(&k, &spans));
        assert!(explained(
            &minute(11 * H + 20 * MINUTE, 11 * H + 21 * MINUTE),
            &spans
        ));
    }

    #[test]
    fn only_times_the_build_records_cover_are_judged() {
        let r = &runs(vec![span("r1", 1, 100, 101), span("r2", 2, 130, 131)])["p"];
        // Between runs, and up to a day past the last while the CI system's records arrive.
        assert!(covered(&minute(120 * H, 120 * H), r, 131 * H));
        assert!(covered(&minute(140 * H, 140 * H), r, 150 * H));
        assert!(!covered(&minute(140 * H, 140 * H), r, 131 * H));
        // Past that day it is pipeline_silent's; before the first record, no one's.
        assert!(!covered(&minute(160 * H, 160 * H), r, 170 * H));
        assert!(!covered(&minute(70 * H, 70 * H), r, 131 * H));
        assert!(covered(&minute(90 * H, 90 * H), r, 131 * H));
        assert!(!covered(&minute(1, 1), &Runs::default(), i64::MAX));
    }

    #[test]
    fn a_night_call_fires_once_with_its_neighbours_named() {
        let rs = runs(vec![span("r1", 1, 10, 11), span("r2", 2, 33, 34)]);
        let mut a = minute(26 * H, 26 * H + MINUTE);
        a.issued = Some(26 * H);
        a.issued_by = Some("AssumeRoleWithWebIdentity".into());
        a.environments = vec!["prod".into()];
        let b = minute(26 * H + 2 * MINUTE, 26 * H + 3 * MINUTE);
        let inside = minute(10 * H + MINUTE, 10 * H + 2 * MINUTE);
        let mut other = minute(26 * H, 26 * H);
        other.pipeline_id = "no-builds".into();
        let f = outside_runs(&[a, b, inside, other], &rs);
        assert_eq!(f.len(), 1, "{f:?}");
        let f = &f[0];
        assert_eq!(f.count, 6);
        assert_eq!(f.score, 85);
        assert_eq!(f.value, "arn:aws:iam::1:role/deploy");
        for part in [
            "6 call(s), 2 write(s)",
            "198.51.100.7",
            "AssumeRoleWithWebIdentity",
            "the run before, r1,",
            "(15h 0m earlier)",
            "the run after, r2,",
            "(6h 57m later)",
        ] {
            assert!(f.explanation.contains(part), "{part}: {}", f.explanation);
        }
    }

    #[test]
    fn records_that_stop_while_calls_go_on_are_one_silence() {
        let rs = runs(vec![span("r1", 1, 10, 11), span("r2", 2, 30, 31)]);
        let day = |h: i64, calls, writes| Day {
            calls,
            writes,
            first: h * H,
            last: h * H + H,
        };
        let days = BTreeMap::from([(
            "p".to_string(),
            vec![day(40, 5, 0), day(60, 20, 2), day(84, 30, 3)],
        )]);
        let s = silences(&rs, &days);
        assert_eq!(s.len(), 1);
        assert_eq!((s[0].calls, s[0].writes, s[0].days), (50, 5, 2));
        assert_eq!(s[0].last_run, "r2");
        let f = silence_finding(&s[0], "github", vec!["e".into()]);
        assert_eq!(f.score, 75);
        assert!(
            f.explanation
                .contains("is the build-record ingest running?"),
            "{}",
            f.explanation
        );
        // Reads below ten calls, or calls within the day after the last record, are not a silence.
        let days = BTreeMap::from([("p".to_string(), vec![day(40, 500, 9), day(60, 9, 0)])]);
        assert!(silences(&rs, &days).is_empty());
    }

    #[test]
    fn run_number_gaps_count_only_where_numbering_was_contiguous() {
        let mut spans: Vec<Span> = (1..=15).map(|n| span(&format!("r{n}"), n, n, n)).collect();
        spans.push(span("r18", 18, 20, 20));
        spans.push(span("r18b", 18, 21, 21)); // a re-run keeps its number
        spans.push(span("r19", 19, 22, 22));
        let f = number_gaps("p", &spans, 16 * H, 30 * H);
        assert_eq!(f.len(), 1, "{f:?}");
        assert_eq!(f[0].value, "runs #16..#17 missing");
        assert_eq!(f[0].run_ids, vec!["r15".to_string(), "r18".to_string()]);
        assert_eq!(f[0].count, 2);
        // A gap before the window is history; a system numbering across pipelines is not judged.
        assert!(number_gaps("p", &spans, 25 * H, 30 * H).is_empty());
        let sparse: Vec<Span> = (1..=20).map(|n| span("r", n * 7, n, n)).collect();
        assert!(number_gaps("p", &sparse, 15 * H, 30 * H).is_empty());
    }
}
