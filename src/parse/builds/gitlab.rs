//! GitLab: project webhooks (`object_kind`: pipeline, build, deployment, push, ...), system hooks
//! (`event_name`) and streamed audit events.
//!
//! The pipeline id is `gitlab:<project path>` (`gitlab:platform/billing`): a GitLab project has one
//! CI configuration. Job (`build`) hooks do not carry the project path; it is taken from the
//! repository homepage, or from `project_name` when that is a path.

use serde_json::{Map, Value};

use super::row::{
    BuildRow, Context, Envelope, ato, first_time, int_at, level, set_status, set_trigger,
    strings_at, text, text_at,
};
use crate::parse::record::RecordError;

/// Whether a record looks like a GitLab hook or audit event.
pub fn is_gitlab(o: &Map<String, Value>) -> bool {
    if ato(o, "object_kind").is_some_and(Value::is_string) {
        return true;
    }
    if is_audit(o) {
        return true;
    }
    ato(o, "event_name").is_some_and(Value::is_string)
        && [
            "project_id",
            "user_id",
            "group_id",
            "user_username",
            "path_with_namespace",
            "owner_email",
        ]
        .iter()
        .any(|k| o.contains_key(*k))
}

fn is_audit(o: &Map<String, Value>) -> bool {
    o.contains_key("author_id") && o.contains_key("entity_type") && o.contains_key("details")
}

fn path_from_url(u: &str) -> Option<String> {
    let u = url::Url::parse(u).ok()?;
    let p = u.path().trim_matches('/').trim_end_matches(".git");
    (!p.is_empty()).then(|| p.to_string())
}

fn project_path(o: &Map<String, Value>) -> Option<String> {
    text_at(o, "project/path_with_namespace")
        .or_else(|| text_at(o, "repository/homepage").and_then(|u| path_from_url(&u)))
        .or_else(|| text_at(o, "project/web_url").and_then(|u| path_from_url(&u)))
        .or_else(|| text_at(o, "project_name").filter(|n| n.contains('/') && !n.contains(' ')))
        .or_else(|| text_at(o, "path_with_namespace"))
}

fn runner(r: Option<&Value>, row: &mut BuildRow) {
    let Some(r) = r.and_then(Value::as_object) else {
        return;
    };
    row.runner_name = text_at(r, "description");
    row.runner_labels = strings_at(r, "tags");
    let kind = text_at(r, "runner_type");
    row.runner_kind = match kind.as_deref() {
        Some("instance_type") => Some("shared".into()),
        Some("group_type") | Some("project_type") => Some("self_hosted".into()),
        _ if ato(r, "is_shared").and_then(Value::as_bool) == Some(true) => Some("shared".into()),
        _ => None,
    };
    row.runner_group = kind;
}

/// Parses a GitLab record.
pub(crate) fn parse(
    o: &Map<String, Value>,
    env: &Envelope,
    _cx: &mut Context,
) -> Result<BuildRow, RecordError> {
    let path = project_path(o);
    let mut row = BuildRow {
        system: "gitlab".into(),
        format: "gitlab.webhook",
        repository: path.clone(),
        pipeline_id: path.as_ref().map(|p| format!("gitlab:{p}")),
        pipeline_name: text_at(o, "project/name").or_else(|| path.clone()),
        actor: text_at(o, "user/username").or_else(|| text_at(o, "user_username")),
        ..Default::default()
    };
    let kind = text_at(o, "object_kind");
    let time = if is_audit(o) {
        row.format = "gitlab.audit";
        row.level = level::AUDIT;
        row.event_type = "audit".into();
        row.event_id = text_at(o, "id");
        row.action = text_at(o, "event_type")
            .or_else(|| text_at(o, "event_name"))
            .or_else(|| text_at(o, "details/custom_message"));
        row.actor = text_at(o, "author_name").or_else(|| text_at(o, "details/author_name"));
        row.repository = text_at(o, "entity_path");
        row.pipeline_id = None;
        row.pipeline_name = None;
        first_time(o, &["created_at"])
    } else {
        match kind.as_deref() {
            Some("pipeline") => pipeline(o, &mut row),
            Some("build") => job(o, &mut row),
            Some("deployment") => {
                row.event_type = "deployment".into();
                row.level = level::DEPLOYMENT;
                set_status(&mut row, text_at(o, "status"), None);
                row.environment = text_at(o, "environment");
                row.job_id = text_at(o, "deployable_id");
                row.git_ref = text_at(o, "ref");
                row.commit_sha = text_at(o, "commit_url")
                    .and_then(|u| u.rsplit('/').next().map(str::to_string))
                    .filter(|s| s.len() >= 7)
                    .or_else(|| text_at(o, "short_sha"));
                row.url = text_at(o, "deployable_url");
                row.event_id = text_at(o, "deployment_id").map(|d| format!("deployment-{d}"));
                let t = first_time(o, &["status_changed_at"]);
                if row.status.as_deref() == Some("completed") {
                    row.finished_at = t;
                }
                t
            }
            Some(k @ ("push" | "tag_push")) => {
                row.event_type = k.into();
                row.level = level::SOURCE;
                row.git_ref = text_at(o, "ref");
                row.commit_sha = text_at(o, "checkout_sha").or_else(|| text_at(o, "after"));
                set_trigger(&mut row, Some(k.into()));
                latest_commit_time(o)
            }
            Some(k) => {
                row.event_type = k.into();
                row.level = level::OTHER;
                row.action = text_at(o, "object_attributes/action");
                first_time(
                    o,
                    &[
                        "object_attributes/updated_at",
                        "object_attributes/created_at",
                        "released_at",
                        "created_at",
                    ],
                )
            }
            None => {
                row.format = "gitlab.system_hook";
                row.level = level::AUDIT;
                row.event_type = "system_hook".into();
                row.action = text_at(o, "event_name");
                if row.action.as_deref().is_some_and(|a| a.ends_with("push")) {
                    row.level = level::SOURCE;
                    row.git_ref = text_at(o, "ref");
                    row.commit_sha = text_at(o, "checkout_sha");
                    latest_commit_time(o)
                } else {
                    first_time(o, &["updated_at", "created_at"])
                }
            }
        }
    };
    row.event_time = match env.received.or(time) {
        Some(t) => t,
        None => {
            return Err(RecordError(format!(
                "GitLab {} record has no event time",
                row.event_type
            )));
        }
    };
    Ok(row)
}

fn latest_commit_time(o: &Map<String, Value>) -> Option<i64> {
    ato(o, "commits")?
        .as_array()?
        .iter()
        .filter_map(|c| c.get("timestamp").and_then(super::row::time_of))
        .max()
}

fn pipeline(o: &Map<String, Value>, row: &mut BuildRow) -> Option<i64> {
    row.event_type = "pipeline".into();
    row.level = level::RUN;
    let a = ato(o, "object_attributes")?.as_object()?;
    row.run_id = text_at(a, "id");
    row.run_number = int_at(a, "iid");
    set_status(row, text_at(a, "status"), None);
    set_trigger(row, text_at(a, "source"));
    row.git_ref = text_at(a, "ref");
    row.commit_sha = text_at(a, "sha");
    row.started_at = first_time(a, &["created_at"]);
    row.finished_at = first_time(a, &["finished_at"]);
    row.duration_ms = ato(a, "duration")
        .and_then(Value::as_f64)
        .map(|s| (s * 1000.0) as i64);
    row.url = text_at(o, "project/web_url")
        .zip(row.run_id.clone())
        .map(|(u, id)| format!("{u}/-/pipelines/{id}"));
    // The environment a pipeline deploys to is on its deploy jobs.
    row.environment = ato(o, "builds").and_then(Value::as_array).and_then(|bs| {
        bs.iter()
            .find_map(|b| text(b.get("environment").and_then(|e| e.get("name"))))
    });
    // A merge request pipeline runs the source project's code: another project is a fork.
    if let (Some(src), Some(dst)) = (
        text_at(o, "merge_request/source_project_id"),
        text_at(o, "merge_request/target_project_id"),
    ) {
        row.head_repository = if src == dst {
            row.repository.clone()
        } else {
            Some(format!("project {src}"))
        };
    }
    if ato(o, "source_pipeline").is_some() && row.trigger.as_deref() == Some("other") {
        row.trigger = Some("pipeline".into());
    }
    first_time(a, &["finished_at", "created_at"])
}

fn job(o: &Map<String, Value>, row: &mut BuildRow) -> Option<i64> {
    row.event_type = "job".into();
    row.level = level::JOB;
    row.run_id = text_at(o, "pipeline_id");
    row.job_id = text_at(o, "build_id");
    row.job_name = text_at(o, "build_name");
    row.stage = text_at(o, "build_stage");
    set_status(row, text_at(o, "build_status"), None);
    row.git_ref = text_at(o, "ref");
    row.commit_sha = text_at(o, "sha");
    row.started_at = first_time(o, &["build_started_at"]);
    row.finished_at = first_time(o, &["build_finished_at"]);
    row.duration_ms = ato(o, "build_duration")
        .and_then(Value::as_f64)
        .map(|s| (s * 1000.0) as i64);
    row.environment = text_at(o, "environment/name");
    runner(ato(o, "runner"), row);
    if row.repository.is_none() {
        row.repository = text_at(o, "project_id").map(|id| format!("project-{id}"));
    }
    if row.pipeline_id.is_none() {
        row.pipeline_id = text_at(o, "project_id").map(|id| format!("gitlab:project-{id}"));
    }
    row.pipeline_name = text_at(o, "project_name").or(row.pipeline_name.take());
    first_time(
        o,
        &["build_finished_at", "build_started_at", "build_created_at"],
    )
}
