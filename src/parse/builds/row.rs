//! The row model every build system's module fills: [`BuildRow`], the record's envelope and
//! context, and the value helpers they share (paths into JSON, times, statuses, triggers).

use serde_json::{Map, Value};

use crate::parse::record::FieldWarnings;
use crate::parse::time::parse_timestamp_micros;

/// One build event, normalised. Field meanings are the `builds` columns (README).
#[derive(Debug, Default, Clone, PartialEq)]
pub struct BuildRow {
    pub event_time: i64,
    pub system: String,
    pub format: &'static str,
    pub event_type: String,
    pub action: Option<String>,
    pub level: &'static str,
    pub event_id: Option<String>,
    pub pipeline_id: Option<String>,
    pub pipeline_name: Option<String>,
    pub repository: Option<String>,
    /// Where a pull request's code came from (GitHub `head_repository`, GitLab's source
    /// project); another repository than `repository` means a fork.
    pub head_repository: Option<String>,
    pub run_id: Option<String>,
    pub run_number: Option<i64>,
    pub run_attempt: Option<i64>,
    pub job_id: Option<String>,
    pub job_name: Option<String>,
    pub stage: Option<String>,
    pub status: Option<String>,
    pub conclusion: Option<String>,
    pub status_raw: Option<String>,
    pub trigger: Option<String>,
    pub trigger_raw: Option<String>,
    pub actor: Option<String>,
    pub commit_sha: Option<String>,
    pub git_ref: Option<String>,
    pub branch: Option<String>,
    pub environment: Option<String>,
    pub runner_name: Option<String>,
    pub runner_labels: Option<Vec<String>>,
    pub runner_kind: Option<String>,
    pub runner_group: Option<String>,
    pub started_at: Option<i64>,
    pub finished_at: Option<i64>,
    pub duration_ms: Option<i64>,
    pub account_id: Option<String>,
    pub region: Option<String>,
    pub url: Option<String>,
}

/// Levels of a build event, from the widest to the narrowest.
pub mod level {
    /// A whole run (workflow run, pipeline, build, execution).
    pub const RUN: &str = "run";
    /// One job of a run.
    pub const JOB: &str = "job";
    /// A stage of a run (CodePipeline).
    pub const STAGE: &str = "stage";
    /// An action within a stage (CodePipeline).
    pub const ACTION: &str = "action";
    /// A phase of a build (CodeBuild).
    pub const PHASE: &str = "phase";
    /// A deployment or deployment status.
    pub const DEPLOYMENT: &str = "deployment";
    /// A source event that may start runs (push, dispatch).
    pub const SOURCE: &str = "source";
    /// A queued build request (Jenkins queue).
    pub const QUEUE: &str = "queue";
    /// An audit-log event (settings, secrets, environments, workflows).
    pub const AUDIT: &str = "audit";
    /// From a CI system, but not about CI (kept, not analysed).
    pub const OTHER: &str = "other";
}

/// What an envelope around a record said.
#[derive(Debug, Default, Clone)]
pub struct Envelope {
    /// Event name from the delivery headers or the envelope (`X-GitHub-Event`, `event`).
    pub event: Option<String>,
    /// Which system the headers name.
    pub system: Option<&'static str>,
    /// Delivery id (`X-GitHub-Delivery`, `X-Gitlab-Event-UUID`).
    pub delivery: Option<String>,
    /// When the archive received it.
    pub received: Option<i64>,
}

/// Why a time had to be guessed, for the warning.
pub(crate) struct Context<'a> {
    pub warnings: &'a mut FieldWarnings,
}

impl Context<'_> {
    pub(crate) fn warn(&mut self, msg: impl FnOnce() -> String) {
        self.warnings.note(msg);
    }
}

// ---- value access -------------------------------------------------------------------------------

/// The value at a `/`-separated path, `None` for missing or null.
pub(crate) fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    let mut cur = v;
    for seg in path.split('/') {
        cur = match cur {
            Value::Object(m) => m.get(seg)?,
            Value::Array(a) => a.get(seg.parse::<usize>().ok()?)?,
            _ => return None,
        };
    }
    (!cur.is_null()).then_some(cur)
}

/// [`at`] on an object.
pub(crate) fn ato<'a>(o: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let (first, rest) = path.split_once('/').unwrap_or((path, ""));
    let v = o.get(first)?;
    if rest.is_empty() {
        (!v.is_null()).then_some(v)
    } else {
        at(v, rest)
    }
}

// ---- wrong types ------------------------------------------------------------------------------

thread_local! {
    /// Values kept with another type, or dropped, while one record is parsed on this thread
    /// (the field helpers below note them; [`super::parse_record`] takes them into the object's
    /// warnings). A thread-local, because the helpers are called from everywhere a system's
    /// module reads a field.
    static COERCED: std::cell::RefCell<FieldWarnings> = std::cell::RefCell::new(FieldWarnings::default());
}

fn coerced(path: &str, expected: &str, v: &Value, what: &str) {
    COERCED.with(|c| {
        c.borrow_mut().note(|| {
            format!(
                "field {path}: expected {expected}, found {}, {what}",
                crate::parse::record::json_kind(&v.to_string())
            )
        })
    });
}

/// The wrong types noted since the last call, on this thread.
pub(crate) fn take_coerced() -> FieldWarnings {
    COERCED.with(|c| std::mem::take(&mut *c.borrow_mut()))
}

/// [`text`] of the value at `path` in `o`; a boolean (kept as `true`/`false`) or an array
/// (dropped) is noted. An object is not: several fields are objects in one system and strings
/// in another (`environment`, `actor`, `repository`), and the next form is tried.
pub(crate) fn text_at(o: &Map<String, Value>, path: &str) -> Option<String> {
    text_noted(ato(o, path), path)
}

fn text_noted(v: Option<&Value>, path: &str) -> Option<String> {
    match v {
        Some(b @ Value::Bool(_)) => coerced(path, "a string", b, "kept as text"),
        Some(a @ Value::Array(_)) => coerced(path, "a string", a, "dropped"),
        _ => {}
    }
    text(v)
}

/// [`int`] of the value at `path`; anything that is not a whole number is noted.
pub(crate) fn int_at(o: &Map<String, Value>, path: &str) -> Option<i64> {
    let v = ato(o, path);
    let n = int(v);
    if let (None, Some(v)) = (n, v) {
        coerced(path, "a whole number", v, "dropped");
    }
    n
}

/// [`strings`] of the value at `path`; a value that is no array, or elements that are no
/// strings, are noted.
pub(crate) fn strings_at(o: &Map<String, Value>, path: &str) -> Option<Vec<String>> {
    let v = ato(o, path)?;
    match v.as_array() {
        None => coerced(path, "an array of strings", v, "dropped"),
        Some(a) => {
            if let Some(x) = a.iter().find(|x| !x.is_string()) {
                coerced(path, "an array of strings", x, "that element dropped");
            }
        }
    }
    strings(Some(v))
}

/// A string or number as text; empty strings count as missing.
pub(crate) fn text(v: Option<&Value>) -> Option<String> {
    match v? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(match n.as_f64() {
            Some(f) if f.fract() == 0.0 && f.abs() < 9e15 && !n.is_i64() && !n.is_u64() => {
                format!("{}", f as i64)
            }
            _ => n.to_string(),
        }),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A whole number (JSON number, `55.0`, or numeric string).
pub(crate) fn int(v: Option<&Value>) -> Option<i64> {
    match v? {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.is_finite()).map(|f| f as i64)),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Strings of an array (non-strings skipped).
pub(crate) fn strings(v: Option<&Value>) -> Option<Vec<String>> {
    Some(
        v?.as_array()?
            .iter()
            .filter_map(|x| x.as_str().map(str::to_string))
            .collect(),
    )
}

/// A time in any of the forms CI systems write, as microseconds since the epoch:
/// RFC 3339; `2016-08-12 15:23:28 UTC`; `2021-04-28 21:50:00 +0200`; `2023-01-31 18:58:27.638`
/// (UTC); `Sep 1, 2017 4:12:29 PM` (older CodeBuild events); epoch seconds or milliseconds.
pub fn time_of(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => epoch(n.as_f64()?),
        Value::String(s) => parse_time_text(s.trim()),
        _ => None,
    }
}

fn epoch(x: f64) -> Option<i64> {
    if !x.is_finite() || x <= 0.0 {
        return None;
    }
    // Seconds up to the year 5138, milliseconds beyond (as Jenkins and GitHub audit write).
    let micros = if x >= 1e11 { x * 1e3 } else { x * 1e6 };
    (micros < 4e15).then_some(micros as i64)
}

/// [`time_of`] for text.
pub fn parse_time_text(s: &str) -> Option<i64> {
    if s.is_empty() {
        return None;
    }
    if let Some(t) = parse_timestamp_micros(s) {
        return Some(t);
    }
    if s.bytes().all(|b| b.is_ascii_digit() || b == b'.') {
        return epoch(s.parse().ok()?);
    }
    use chrono::{DateTime, NaiveDateTime};
    let naive = |x: &str| {
        ["%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f"]
            .iter()
            .find_map(|f| NaiveDateTime::parse_from_str(x, f).ok())
            .map(|d| d.and_utc().timestamp_micros())
    };
    if let Some(x) = s.strip_suffix(" UTC").or_else(|| s.strip_suffix(" Z"))
        && let Some(t) = naive(x)
    {
        return Some(t);
    }
    if let Some(t) = ["%Y-%m-%d %H:%M:%S%.f %z", "%Y-%m-%d %H:%M:%S%.f%:z"]
        .iter()
        .find_map(|f| DateTime::parse_from_str(s, f).ok())
    {
        return Some(t.timestamp_micros());
    }
    if let Some(t) = naive(s) {
        return Some(t);
    }
    NaiveDateTime::parse_from_str(s, "%b %d, %Y %I:%M:%S %p")
        .ok()
        .map(|d| d.and_utc().timestamp_micros())
}

/// The first of `paths` that holds a time.
pub(crate) fn first_time(o: &Map<String, Value>, paths: &[&str]) -> Option<i64> {
    paths.iter().find_map(|p| {
        let v = ato(o, p)?;
        let t = time_of(v);
        // An empty string is a time not yet set (a queued job), not a wrong type.
        if t.is_none() && v.as_str() != Some("") {
            coerced(p, "a time", v, "dropped");
        }
        t
    })
}

/// `main` of `refs/heads/main`, `v1` of `refs/tags/v1`, a bare branch name as itself.
pub fn branch_of(r: &str) -> Option<String> {
    if let Some(b) = r.strip_prefix("refs/heads/") {
        return Some(b.to_string());
    }
    if let Some(b) = r.strip_prefix("refs/remotes/origin/") {
        return Some(b.to_string());
    }
    if r.starts_with("refs/") || r.is_empty() {
        return None;
    }
    Some(r.strip_prefix("origin/").unwrap_or(r).to_string())
}

// ---- normalisation ------------------------------------------------------------------------------

/// A native status word as (`status`, `conclusion`).
///
/// `status` is one of `queued`, `waiting`, `in_progress`, `completed`; `conclusion` (for completed
/// ones) one of `success`, `failure`, `cancelled`, `skipped`, `timed_out`, `superseded`,
/// `unstable`, `neutral`, `action_required`, or the native word in lower case.
pub fn norm_status(raw: &str) -> (Option<&'static str>, Option<String>) {
    let l = raw.to_ascii_lowercase();
    let done = |c: &str| (Some("completed"), Some(c.to_string()));
    match l.as_str() {
        "requested"
        | "queued"
        | "pending"
        | "created"
        | "preparing"
        | "waiting_for_resource"
        | "scheduled"
        | "submitted"
        | "blocked" => (Some("queued"), None),
        "waiting" | "manual" | "paused_pending_input" | "paused" => (Some("waiting"), None),
        "in_progress" | "running" | "started" | "resumed" | "building" | "stopping" => {
            (Some("in_progress"), None)
        }
        "success" | "succeeded" | "passed" => done("success"),
        "failure" | "failed" | "fault" | "error" | "startup_failure" => done("failure"),
        "cancelled" | "canceled" | "aborted" | "stopped" | "abandoned" => done("cancelled"),
        "skipped" | "not_built" | "not_executed" => done("skipped"),
        "timed_out" | "timeout" => done("timed_out"),
        "superseded" | "stale" => done("superseded"),
        "unstable" => done("unstable"),
        "neutral" | "action_required" => done(&l),
        "completed" => (Some("completed"), None),
        "inactive" | "destroyed" => done(&l),
        _ => (None, None),
    }
}

/// A native trigger as one of `push`, `pull_request`, `schedule`, `manual`, `api`, `pipeline`
/// (another pipeline or run), `retry`, `release`, `merge_queue`, `webhook`, or `other`.
pub fn norm_trigger(raw: &str) -> &'static str {
    let l = raw.to_ascii_lowercase();
    match l.as_str() {
        "push"
        | "tag_push"
        | "scm"
        | "commit"
        | "pollforsourcechanges"
        | "webhook"
        | "webhookv2"
        | "putactionrevision"
        | "create" => "push",
        "pull_request"
        | "pull_request_target"
        | "merge_request_event"
        | "external_pull_request_event"
        | "merge_request"
        | "pull_request_review" => "pull_request",
        "schedule" | "timer" | "cron" => "schedule",
        "workflow_dispatch"
        | "web"
        | "manual"
        | "user"
        | "startpipelineexecution"
        | "webide"
        | "chat" => "manual",
        "repository_dispatch" | "api" | "trigger" | "remote" | "external" => "api",
        "workflow_run" | "workflow_call" | "pipeline" | "parent_pipeline" | "upstream"
        | "cloudwatchevent" | "createpipeline" => "pipeline",
        "retry" | "rerun" | "replay" | "rebuild" => "retry",
        "release" | "registry_package" => "release",
        "merge_group" => "merge_queue",
        _ => "other",
    }
}

/// Runner kind from GitHub-style labels: `self_hosted` when labelled so, `hosted` for GitHub's
/// own images, otherwise unknown.
pub fn runner_kind_from_labels(labels: &[String], group: Option<&str>) -> Option<&'static str> {
    if labels.iter().any(|l| l.eq_ignore_ascii_case("self-hosted")) {
        return Some("self_hosted");
    }
    let hosted_image = |l: &String| {
        let l = l.to_ascii_lowercase();
        ["ubuntu-", "windows-", "macos-"]
            .iter()
            .any(|p| l.starts_with(p))
    };
    if group == Some("GitHub Actions") || (!labels.is_empty() && labels.iter().all(hosted_image)) {
        return Some("hosted");
    }
    None
}

/// Names of variables or parameters that say which environment a build deploys to.
pub const ENV_VARIABLES: &[&str] = &[
    "DEPLOY_ENV",
    "DEPLOY_ENVIRONMENT",
    "TARGET_ENV",
    "TARGET_ENVIRONMENT",
    "ENVIRONMENT",
    "ENV",
    "STAGE",
];

/// The environment named by a list of `{name|key, value}` pairs, if any.
pub(crate) fn env_from_pairs(list: Option<&Value>, name_key: &str) -> Option<String> {
    let list = list?.as_array()?;
    for want in ENV_VARIABLES {
        for p in list {
            if p.get(name_key)
                .and_then(|n| n.as_str())
                .is_some_and(|n| n.eq_ignore_ascii_case(want))
                && let Some(v) = text(p.get("value"))
            {
                return Some(v);
            }
        }
    }
    None
}

/// Sets `status`, `conclusion` and `status_raw` from a native status word (and an explicit
/// conclusion, when the system gives one apart).
pub(crate) fn set_status(row: &mut BuildRow, raw: Option<String>, conclusion: Option<String>) {
    if let Some(r) = &raw {
        let (st, c) = norm_status(r);
        row.status = st.map(str::to_string);
        row.conclusion = c;
    }
    if let Some(c) = conclusion {
        let (_, nc) = norm_status(&c);
        row.conclusion = Some(nc.unwrap_or_else(|| c.to_ascii_lowercase()));
        row.status = Some("completed".into());
    }
    row.status_raw = raw;
}

/// Sets `trigger` and `trigger_raw`.
pub(crate) fn set_trigger(row: &mut BuildRow, raw: Option<String>) {
    row.trigger = raw.as_deref().map(|r| norm_trigger(r).to_string());
    row.trigger_raw = raw;
}
