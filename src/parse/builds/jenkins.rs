//! Jenkins: build records as `<job>/<n>/api/json` returns them, Pipeline runs as
//! `wfapi/describe` returns them, and queue items (`queue/item/<id>/api/json`).
//!
//! The pipeline id is `jenkins:<host>/<job path>` (`jenkins:ci.example.com/team/deploy` for the job
//! `team/deploy` in a folder), from the build's URL; without a URL, the job's display name.

use serde_json::{Map, Value};

use super::row::{
    BuildRow, Context, ato, env_from_pairs, first_time, int_at, level, norm_trigger, set_status,
    text, text_at,
};
use crate::parse::record::RecordError;

/// Whether a record looks like a Jenkins build, workflow run or queue item.
pub fn is_jenkins(o: &Map<String, Value>) -> bool {
    let class = ato(o, "_class").and_then(Value::as_str).unwrap_or("");
    if class.starts_with("hudson.")
        || class.starts_with("org.jenkinsci.")
        || class.starts_with("jenkins.")
    {
        return true;
    }
    let build = o.contains_key("number")
        && o.contains_key("timestamp")
        && (o.contains_key("result") || o.contains_key("building"));
    let wfapi = ato(o, "stages").is_some_and(Value::is_array) && o.contains_key("startTimeMillis");
    let queue = ato(o, "task").is_some_and(Value::is_object) && o.contains_key("inQueueSince");
    build || wfapi || queue
}

/// Host and job path of a Jenkins URL (`/job/a/job/b/12/` is the job `a/b`).
pub fn job_of_url(u: &str) -> Option<(Option<String>, String)> {
    let (host, path) = match url::Url::parse(u) {
        Ok(p) => (
            p.host_str().map(|h| match p.port() {
                Some(port) => format!("{h}:{port}"),
                None => h.to_string(),
            }),
            p.path().to_string(),
        ),
        Err(_) => (None, u.to_string()),
    };
    let segs: Vec<&str> = path.split('/').collect();
    let mut names = vec![];
    let mut i = 0;
    while i + 1 < segs.len() {
        if segs[i] == "job" {
            let n = url::form_urlencoded::parse(format!("n={}", segs[i + 1]).as_bytes())
                .next()
                .map(|(_, v)| v.into_owned())
                .unwrap_or_default();
            names.push(n);
            i += 2;
        } else {
            i += 1;
        }
    }
    (!names.is_empty()).then(|| (host, names.join("/")))
}

fn set_job(row: &mut BuildRow, url: Option<&str>, fallback_name: Option<String>) {
    if let Some((host, job)) = url.and_then(job_of_url) {
        row.pipeline_id = Some(match host {
            Some(h) => format!("jenkins:{h}/{job}"),
            None => format!("jenkins:{job}"),
        });
        row.pipeline_name = Some(job.rsplit('/').next().unwrap_or(&job).to_string());
        row.repository = Some(job);
    } else if let Some(n) = fallback_name {
        row.pipeline_id = Some(format!("jenkins:{n}"));
        row.pipeline_name = Some(n);
    }
}

/// Causes, parameters and git revision from the `actions` list.
fn actions(o: &Map<String, Value>, row: &mut BuildRow) {
    let Some(list) = ato(o, "actions").and_then(Value::as_array) else {
        return;
    };
    for a in list {
        if let Some(cause) = a
            .get("causes")
            .and_then(|c| c.as_array())
            .and_then(|c| c.first())
            && row.trigger_raw.is_none()
        {
            let class = text(cause.get("_class")).unwrap_or_default();
            let desc = text(cause.get("shortDescription")).unwrap_or_default();
            let (trigger, raw) = jenkins_trigger(&class, &desc);
            row.trigger = Some(trigger.into());
            row.trigger_raw = Some(raw);
            row.actor = text(cause.get("userId"))
                .or_else(|| text(cause.get("userName")))
                .or_else(|| {
                    text(cause.get("upstreamProject")).map(|p| {
                        match text(cause.get("upstreamBuild")) {
                            Some(b) => format!("{p}#{b}"),
                            None => p,
                        }
                    })
                });
        }
        if row.environment.is_none() {
            row.environment = env_from_pairs(a.get("parameters"), "name");
        }
        if row.commit_sha.is_none()
            && let Some(rev) = a.get("lastBuiltRevision")
        {
            row.commit_sha = text(rev.get("SHA1"));
            row.git_ref = rev
                .get("branch")
                .and_then(|b| b.get(0))
                .and_then(|b| text(b.get("name")));
        }
    }
}

fn jenkins_trigger(class: &str, desc: &str) -> (&'static str, String) {
    let short = class.rsplit(['.', '$']).next().unwrap_or(class);
    let t = match short {
        "UserIdCause" | "UserCause" => "manual",
        "TimerTriggerCause" => "schedule",
        "SCMTriggerCause"
        | "GitHubPushCause"
        | "BranchEventCause"
        | "GitLabWebHookCause"
        | "BranchIndexingCause" => "push",
        "UpstreamCause" => "pipeline",
        "RemoteCause" => "api",
        "ReplayCause" | "RebuildCause" | "RestartDeclarativePipelineCause" => "retry",
        "GitHubPRCause" | "PullRequestCause" => "pull_request",
        _ => {
            let d = desc.to_ascii_lowercase();
            if d.starts_with("started by user") {
                "manual"
            } else if d.starts_with("started by timer") {
                "schedule"
            } else if d.contains("scm change") || d.contains("push") {
                "push"
            } else if d.starts_with("started by upstream") {
                "pipeline"
            } else if d.starts_with("started by remote") {
                "api"
            } else {
                norm_trigger(short)
            }
        }
    };
    let raw = if short.is_empty() {
        desc.to_string()
    } else {
        short.to_string()
    };
    (t, raw)
}

/// Parses a Jenkins record.
pub(crate) fn parse(o: &Map<String, Value>, _cx: &mut Context) -> Result<BuildRow, RecordError> {
    let mut row = BuildRow {
        system: "jenkins".into(),
        format: "jenkins.api",
        ..Default::default()
    };
    let class = text_at(o, "_class").unwrap_or_default();
    let time = if ato(o, "task").is_some_and(Value::is_object) || class.contains("Queue$") {
        row.event_type = "queue_item".into();
        row.level = level::QUEUE;
        let task_url = text_at(o, "task/url");
        set_job(&mut row, task_url.as_deref(), text_at(o, "task/name"));
        row.job_id = text_at(o, "id");
        actions(o, &mut row);
        row.run_number = int_at(o, "executable/number");
        row.run_id = row.run_number.map(|n| n.to_string());
        let cancelled = ato(o, "cancelled").and_then(Value::as_bool) == Some(true);
        let status = if cancelled {
            "cancelled"
        } else if ato(o, "executable").is_some() {
            "started"
        } else if ato(o, "blocked").and_then(Value::as_bool) == Some(true) {
            "blocked"
        } else {
            "queued"
        };
        set_status(&mut row, Some(status.into()), None);
        first_time(o, &["inQueueSince"])
    } else if ato(o, "stages").is_some_and(Value::is_array) && o.contains_key("startTimeMillis") {
        row.event_type = "workflow_run".into();
        row.level = level::RUN;
        let href = text_at(o, "_links/self/href");
        set_job(&mut row, href.as_deref(), None);
        let name = text_at(o, "name").unwrap_or_default();
        row.run_number = name.trim_start_matches('#').parse().ok();
        row.run_id = row
            .run_number
            .map(|n| n.to_string())
            .or_else(|| text_at(o, "id"));
        set_status(&mut row, text_at(o, "status"), None);
        row.stage = ato(o, "stages")
            .and_then(Value::as_array)
            .and_then(|s| s.last())
            .and_then(|s| text(s.get("name")));
        row.started_at = first_time(o, &["startTimeMillis"]);
        row.duration_ms = int_at(o, "durationMillis");
        if row.status.as_deref() == Some("completed") {
            row.finished_at = first_time(o, &["endTimeMillis"]);
        }
        first_time(o, &["endTimeMillis", "startTimeMillis"])
    } else {
        row.event_type = "build".into();
        row.level = level::RUN;
        let url = text_at(o, "url");
        let display = text_at(o, "fullDisplayName")
            .map(|n| n.rsplit_once(" #").map(|(j, _)| j.to_string()).unwrap_or(n));
        set_job(&mut row, url.as_deref(), display);
        row.url = url;
        row.run_number = int_at(o, "number");
        row.run_id = text_at(o, "number").or_else(|| text_at(o, "id"));
        let building = ato(o, "building").and_then(Value::as_bool) == Some(true);
        match text_at(o, "result") {
            Some(r) if !building => set_status(&mut row, Some(r), None),
            _ => set_status(
                &mut row,
                Some(if building { "building" } else { "queued" }.into()),
                None,
            ),
        }
        actions(o, &mut row);
        if row.commit_sha.is_none() {
            row.commit_sha = ato(o, "changeSets/0/items/0/commitId")
                .or_else(|| ato(o, "changeSet/items/0/commitId"))
                .and_then(|v| text(Some(v)));
        }
        row.runner_name =
            text_at(o, "builtOn").or_else(|| ato(o, "builtOn").map(|_| "built-in".to_string()));
        row.runner_kind = Some("self_hosted".into());
        row.started_at = first_time(o, &["timestamp"]);
        let duration = int_at(o, "duration").filter(|d| *d > 0);
        row.duration_ms = duration;
        if !building && let (Some(s), Some(d)) = (row.started_at, duration) {
            row.finished_at = Some(s + d * 1000);
        }
        row.finished_at.or(row.started_at)
    };
    row.event_time =
        time.ok_or_else(|| RecordError(format!("Jenkins {} record has no time", row.event_type)))?;
    Ok(row)
}
