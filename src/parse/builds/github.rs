//! GitHub: webhook payloads (as archived from deliveries) and audit-log stream events.
//!
//! Webhook payloads do not name their event (GitHub sends it in the `X-GitHub-Event` header), so
//! when no envelope kept the header the event is inferred from the payload's keys. Pipeline ids
//! are `github:<owner>/<repo>:<workflow file>` (`github:acme/web:deploy.yml`): the workflow file
//! is stable across runs and renames of the workflow's display name. `workflow_job` payloads do not
//! carry the workflow file, so job rows have no `pipeline_id` of their own; the `runs` view takes
//! it from the run's other events.

use serde_json::{Map, Value};

use super::row::{
    BuildRow, Context, Envelope, ato, branch_of, first_time, int_at, level,
    runner_kind_from_labels, set_status, set_trigger, strings_at, text, text_at, time_of,
};
use crate::parse::record::RecordError;

const CI_KEYS: &[&str] = &[
    "workflow_run",
    "workflow_job",
    "deployment",
    "deployment_status",
    "check_run",
    "check_suite",
];

/// Keys every webhook payload may carry, which do not name its event.
const ENVELOPE_KEYS: &[&str] = &[
    "repository",
    "sender",
    "organization",
    "installation",
    "enterprise",
    "changes",
];

/// Whether a record looks like a GitHub webhook payload or audit-log event.
pub fn is_github(o: &Map<String, Value>) -> bool {
    if CI_KEYS
        .iter()
        .any(|k| ato(o, k).is_some_and(Value::is_object))
    {
        return true;
    }
    if o.contains_key("pusher") && o.contains_key("ref") {
        return true;
    }
    if ato(o, "workflow").is_some_and(Value::is_string) && o.contains_key("inputs") {
        return true;
    }
    if is_audit(o) {
        return true;
    }
    ato(o, "repository").is_some_and(Value::is_object)
        && (ato(o, "sender").is_some_and(Value::is_object)
            || ato(o, "repository/full_name").is_some())
}

fn is_audit(o: &Map<String, Value>) -> bool {
    let Some(action) = ato(o, "action").and_then(Value::as_str) else {
        return false;
    };
    // Audit actions are `category.verb`; older exports drop the category but keep the org.
    let org = ["org", "business", "repo", "@timestamp", "_document_id"]
        .iter()
        .any(|k| o.contains_key(*k));
    !action.contains(' ')
        && (action.contains('.') || org)
        && ato(o, "actor").is_some_and(|a| a.is_string())
}

/// `deploy.yml` of `.github/workflows/deploy.yml` (or `...@refs/heads/main`).
pub fn workflow_file(path: &str) -> &str {
    let path = path.split('@').next().unwrap_or(path);
    path.rsplit('/').next().unwrap_or(path)
}

fn pipeline_id(repo: Option<&str>, path: Option<&str>) -> Option<String> {
    Some(format!("github:{}:{}", repo?, workflow_file(path?)))
}

fn login(v: Option<&Value>) -> Option<String> {
    let v = v?;
    text(v.get("login").or_else(|| v.get("name")))
}

/// Parses a GitHub record.
pub(crate) fn parse(
    o: &Map<String, Value>,
    env: &Envelope,
    cx: &mut Context,
) -> Result<BuildRow, RecordError> {
    let repo = text_at(o, "repository/full_name")
        .or_else(|| text_at(o, "repo"))
        .or_else(|| text_at(o, "repository"));
    let mut row = BuildRow {
        system: "github".into(),
        format: "github.webhook",
        action: text_at(o, "action"),
        repository: repo.clone(),
        actor: login(ato(o, "sender")),
        ..Default::default()
    };
    let event = env.event.clone().unwrap_or_else(|| match infer_event(o) {
        // Not about CI: name it after the payload's subject (`issue`, `discussion`, ...).
        "unknown" => o
            .iter()
            .find(|(k, v)| v.is_object() && !ENVELOPE_KEYS.contains(&k.as_str()))
            .map(|(k, _)| k.clone())
            .unwrap_or_else(|| "unknown".into()),
        e => e.to_string(),
    });
    row.event_type = event.clone();
    let time = match event.as_str() {
        "workflow_run" => workflow_run(o, &mut row),
        "workflow_job" => workflow_job(o, &mut row),
        "deployment" => deployment(o, &mut row),
        "deployment_status" => deployment_status(o, &mut row),
        "deployment_review" | "deployment_protection_rule" => deployment_review(o, &mut row),
        "push" => push(o, &mut row),
        "workflow_dispatch" => {
            row.level = level::SOURCE;
            row.git_ref = text_at(o, "ref");
            let path = text_at(o, "workflow");
            row.pipeline_id = pipeline_id(repo.as_deref(), path.as_deref());
            row.pipeline_name = path.as_deref().map(|p| workflow_file(p).to_string());
            set_trigger(&mut row, Some("workflow_dispatch".into()));
            None
        }
        "check_run" | "check_suite" => {
            let c = ato(o, &event);
            row.level = level::OTHER;
            let c = c.and_then(Value::as_object);
            if let Some(c) = c {
                set_status(&mut row, text_at(c, "status"), text_at(c, "conclusion"));
                row.commit_sha = text_at(c, "head_sha");
                row.branch =
                    text_at(c, "head_branch").or_else(|| text_at(c, "check_suite/head_branch"));
                row.job_name = text_at(c, "name");
                row.pipeline_name = text_at(c, "app/slug");
                row.url = text_at(c, "html_url");
                first_time(
                    c,
                    &["completed_at", "updated_at", "started_at", "created_at"],
                )
            } else {
                None
            }
        }
        "audit" => audit(o, &mut row),
        _ => {
            row.level = level::OTHER;
            first_time(
                o,
                &[
                    "pull_request/updated_at",
                    "issue/updated_at",
                    "comment/updated_at",
                    "release/published_at",
                    "review/submitted_at",
                    "alert/updated_at",
                    "hook/updated_at",
                ],
            )
        }
    };
    row.event_time = match time.or(env.received) {
        Some(t) => t,
        None => {
            let fallback = first_time(o, &["repository/pushed_at", "repository/updated_at"]);
            match fallback {
                // Events outside CI are kept for context only: no warning for them.
                Some(t) if row.level == level::OTHER => t,
                Some(t) => {
                    let ev = row.event_type.clone();
                    cx.warn(|| {
                        format!(
                            "GitHub {ev} payload carries no event time; used the repository's \
                             pushed_at (archive deliveries with their headers and time to avoid this)"
                        )
                    });
                    t
                }
                None => {
                    return Err(RecordError(format!(
                        "GitHub {} record has no event time",
                        row.event_type
                    )));
                }
            }
        }
    };
    Ok(row)
}

fn infer_event(o: &Map<String, Value>) -> &'static str {
    let has = |k: &str| ato(o, k).is_some_and(Value::is_object);
    if has("deployment_status") {
        "deployment_status"
    } else if has("workflow_job") {
        "workflow_job"
    } else if has("deployment") {
        "deployment"
    } else if has("workflow_job_run") || has("workflow_job_runs") {
        "deployment_review"
    } else if has("workflow_run") {
        "workflow_run"
    } else if has("check_run") {
        "check_run"
    } else if has("check_suite") {
        "check_suite"
    } else if o.contains_key("pusher") || (o.contains_key("commits") && o.contains_key("ref")) {
        "push"
    } else if ato(o, "workflow").is_some_and(Value::is_string) && o.contains_key("inputs") {
        "workflow_dispatch"
    } else if is_audit(o) {
        "audit"
    } else {
        "unknown"
    }
}

fn workflow_run(o: &Map<String, Value>, row: &mut BuildRow) -> Option<i64> {
    row.level = level::RUN;
    let w = ato(o, "workflow_run")?.as_object()?;
    fill_run(w, o, row);
    let completed = row.status.as_deref() == Some("completed");
    if completed {
        row.finished_at = first_time(w, &["updated_at"]);
    }
    first_time(w, &["updated_at", "run_started_at", "created_at"])
}

/// The run fields of a `workflow_run` object (also found inside deployment payloads).
fn fill_run(w: &Map<String, Value>, o: &Map<String, Value>, row: &mut BuildRow) {
    row.run_id = text_at(w, "id");
    row.run_number = int_at(w, "run_number");
    row.run_attempt = int_at(w, "run_attempt");
    let path = text_at(w, "path").or_else(|| text_at(o, "workflow/path"));
    row.pipeline_id = pipeline_id(row.repository.as_deref(), path.as_deref());
    row.pipeline_name = text_at(w, "name").or_else(|| text_at(o, "workflow/name"));
    set_status(row, text_at(w, "status"), text_at(w, "conclusion"));
    set_trigger(row, text_at(w, "event"));
    row.actor = login(ato(w, "triggering_actor"))
        .or_else(|| login(ato(w, "actor")))
        .or(row.actor.take());
    row.commit_sha = text_at(w, "head_sha");
    row.branch = text_at(w, "head_branch");
    row.started_at = first_time(w, &["run_started_at", "created_at"]);
    row.url = text_at(w, "html_url");
    // Where the code came from: the run's head repository, else its pull request's head.
    row.head_repository = text_at(w, "head_repository/full_name")
        .or_else(|| text_at(w, "pull_requests/0/head/repo/full_name"));
}

fn workflow_job(o: &Map<String, Value>, row: &mut BuildRow) -> Option<i64> {
    row.level = level::JOB;
    let j = ato(o, "workflow_job")?.as_object()?;
    row.run_id = text_at(j, "run_id");
    row.run_attempt = int_at(j, "run_attempt");
    row.job_id = text_at(j, "id");
    row.job_name = text_at(j, "name");
    row.pipeline_name = text_at(j, "workflow_name");
    set_status(row, text_at(j, "status"), text_at(j, "conclusion"));
    row.commit_sha = text_at(j, "head_sha");
    row.branch = text_at(j, "head_branch");
    row.runner_name = text_at(j, "runner_name");
    let labels = strings_at(j, "labels");
    row.runner_group = text_at(j, "runner_group_name");
    if let Some(ls) = &labels {
        row.runner_kind =
            runner_kind_from_labels(ls, row.runner_group.as_deref()).map(str::to_string);
    }
    row.runner_labels = labels;
    row.started_at = first_time(j, &["started_at"]);
    row.finished_at = first_time(j, &["completed_at"]);
    row.url = text_at(j, "html_url");
    row.environment = text_at(o, "deployment/environment");
    ["completed_at", "started_at", "created_at"]
        .iter()
        .filter_map(|p| ato(j, p).and_then(time_of))
        .max()
}

fn deployment_fields(d: &Map<String, Value>, row: &mut BuildRow) {
    row.environment = text_at(d, "environment");
    row.commit_sha = text_at(d, "sha");
    row.git_ref = text_at(d, "ref");
    if let Some(c) = login(ato(d, "creator")) {
        row.actor = Some(c);
    }
    row.job_name = text_at(d, "task");
}

fn deployment(o: &Map<String, Value>, row: &mut BuildRow) -> Option<i64> {
    row.level = level::DEPLOYMENT;
    if let Some(w) = ato(o, "workflow_run").and_then(Value::as_object) {
        fill_run(w, o, row);
        // The run's status is not the deployment's.
        row.status = None;
        row.conclusion = None;
        row.status_raw = None;
        row.finished_at = None;
    }
    let d = ato(o, "deployment")?.as_object()?;
    deployment_fields(d, row);
    row.status = Some("queued".into());
    first_time(d, &["created_at", "updated_at"])
}

fn deployment_status(o: &Map<String, Value>, row: &mut BuildRow) -> Option<i64> {
    row.level = level::DEPLOYMENT;
    if let Some(w) = ato(o, "workflow_run").and_then(Value::as_object) {
        fill_run(w, o, row);
        row.finished_at = None;
    }
    if let Some(d) = ato(o, "deployment").and_then(Value::as_object) {
        deployment_fields(d, row);
    }
    let s = ato(o, "deployment_status")?.as_object()?;
    set_status(row, text_at(s, "state"), None);
    if let Some(e) = text_at(s, "environment") {
        row.environment = Some(e);
    }
    if let Some(c) = login(ato(s, "creator")) {
        row.actor = Some(c);
    }
    let t = first_time(s, &["updated_at", "created_at"]);
    if row.status.as_deref() == Some("completed") {
        row.finished_at = t;
    }
    t
}

fn push(o: &Map<String, Value>, row: &mut BuildRow) -> Option<i64> {
    row.level = level::SOURCE;
    row.git_ref = text_at(o, "ref");
    row.commit_sha = text_at(o, "after").or_else(|| text_at(o, "head_commit/id"));
    if let Some(p) = login(ato(o, "pusher")) {
        row.actor = Some(p);
    }
    set_trigger(row, Some("push".into()));
    // A push's repository.pushed_at is the push itself.
    first_time(o, &["head_commit/timestamp", "repository/pushed_at"])
}

fn audit(o: &Map<String, Value>, row: &mut BuildRow) -> Option<i64> {
    row.format = "github.audit";
    row.level = level::AUDIT;
    row.actor = text_at(o, "actor");
    row.event_id = text_at(o, "_document_id");
    let action = row.action.clone().unwrap_or_default();
    if action.starts_with("workflows.") {
        row.run_id = text_at(o, "workflow_run_id");
        row.run_number = int_at(o, "run_number");
        row.run_attempt = int_at(o, "run_attempt");
        row.pipeline_name = text_at(o, "name");
        set_status(row, None, text_at(o, "conclusion"));
        set_trigger(row, text_at(o, "event"));
        row.commit_sha = text_at(o, "head_sha");
        row.branch = text_at(o, "head_branch");
        row.started_at = first_time(o, &["started_at"]);
        row.finished_at = first_time(o, &["completed_at"]);
    }
    if action.starts_with("environment.") {
        row.environment = text_at(o, "environment_name").or_else(|| text_at(o, "name"));
    }
    if row.branch.is_none() {
        row.branch = text_at(o, "branch").and_then(|b| branch_of(&b));
    }
    first_time(
        o,
        &[
            "@timestamp",
            "at_sign_timestamp",
            "created_at",
            "timestamp",
            "p_event_time",
        ],
    )
}

/// An approval gate on a deployment: requested, approved or rejected, and by whom.
fn deployment_review(o: &Map<String, Value>, row: &mut BuildRow) -> Option<i64> {
    row.level = level::DEPLOYMENT;
    if let Some(w) = ato(o, "workflow_run").and_then(Value::as_object) {
        fill_run(w, o, row);
        row.status = None;
        row.conclusion = None;
        row.status_raw = None;
        row.finished_at = None;
    }
    let job = ato(o, "workflow_job_run")
        .or_else(|| ato(o, "workflow_job_runs/0"))
        .and_then(Value::as_object);
    if let Some(j) = job {
        row.job_id = text_at(j, "id");
        row.job_name = text_at(j, "name");
        row.environment = text_at(j, "environment");
    }
    if let Some(e) = text_at(o, "environment") {
        row.environment = Some(e);
    }
    // Who acted on the gate: the approver, else who asked for the review.
    row.actor = login(ato(o, "approver"))
        .or_else(|| login(ato(o, "requestor")))
        .or(row.actor.take());
    row.status_raw = row.action.clone();
    job.and_then(|j| first_time(j, &["updated_at", "created_at"]))
        .or_else(|| first_time(o, &["since"]))
}
