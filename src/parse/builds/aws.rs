//! AWS: CodeBuild, CodePipeline and CodeDeploy state changes as EventBridge delivers them (to S3
//! through Firehose, or any archive that keeps the event JSON).
//!
//! Pipeline ids carry the account and region, as the resources are regional:
//! `codebuild:<account>:<region>:<project>`, `codepipeline:<account>:<region>:<pipeline>`,
//! `codedeploy:<account>:<region>:<application>/<group>`.

use serde_json::{Map, Value};

use super::row::{
    BuildRow, Context, ato, env_from_pairs, first_time, int_at, level, set_status, set_trigger,
    text, text_at,
};
use crate::parse::record::RecordError;

/// Whether a record is an EventBridge event (any source; unsupported ones are rejected with a
/// reason when parsed).
pub fn is_aws(o: &Map<String, Value>) -> bool {
    ato(o, "detail-type").is_some_and(Value::is_string)
        && ato(o, "source").is_some_and(Value::is_string)
        && ato(o, "detail").is_some_and(Value::is_object)
}

/// Parses an EventBridge event from CodeBuild, CodePipeline or CodeDeploy.
pub(crate) fn parse(o: &Map<String, Value>, _cx: &mut Context) -> Result<BuildRow, RecordError> {
    let source = text_at(o, "source").unwrap_or_default();
    let detail_type = text_at(o, "detail-type").unwrap_or_default();
    let d = ato(o, "detail")
        .and_then(Value::as_object)
        .expect("checked by is_aws");
    let account = text_at(o, "account");
    let region = text_at(o, "region");
    let time = first_time(o, &["time"])
        .ok_or_else(|| RecordError(format!("EventBridge event from {source} has no valid time")))?;
    let mut row = BuildRow {
        event_time: time,
        format: "aws.eventbridge",
        event_id: text_at(o, "id"),
        account_id: account.clone(),
        region: region.clone(),
        ..Default::default()
    };
    let acct = account.as_deref().unwrap_or("-");
    let reg = region.as_deref().unwrap_or("-");
    match source.as_str() {
        "aws.codebuild" => {
            codebuild(&mut row, d, &detail_type, time, acct, reg);
        }
        "aws.codepipeline" => {
            codepipeline(&mut row, d, &detail_type, time, acct, reg);
        }
        "aws.codedeploy" => {
            codedeploy(&mut row, d, &detail_type, time, acct, reg);
        }
        _ => {
            let hint = if detail_type.contains("via CloudTrail") {
                "; this is a CloudTrail event: ingest it without --builds"
            } else {
                ""
            };
            return Err(RecordError(format!(
                "EventBridge event from {source} ({detail_type}) is not a build event{hint}"
            )));
        }
    }
    Ok(row)
}

/// A CodeBuild build or phase change.
fn codebuild(
    row: &mut BuildRow,
    d: &Map<String, Value>,
    detail_type: &str,
    time: i64,
    acct: &str,
    reg: &str,
) {
    row.system = "codebuild".into();
    let project = text_at(d, "project-name");
    row.pipeline_id = project
        .as_ref()
        .map(|p| format!("codebuild:{acct}:{reg}:{p}"));
    row.pipeline_name = project;
    row.run_id = text_at(d, "build-id").map(|id| {
        id.rsplit_once("build/")
            .map(|(_, b)| b.to_string())
            .unwrap_or(id)
    });
    let ai = ato(d, "additional-information").and_then(Value::as_object);
    if let Some(ai) = ai {
        row.run_number = int_at(ai, "build-number");
        let initiator = text_at(ai, "initiator");
        row.actor = initiator.clone();
        row.trigger = initiator
            .as_deref()
            .map(|i| codebuild_trigger(i).to_string());
        row.trigger_raw = initiator;
        row.started_at = first_time(ai, &["build-start-time"]);
        let version = text_at(ai, "source-version");
        row.branch = text_at(ai, "initiator-branch").or_else(|| {
            version
                .as_deref()
                .and_then(|v| v.strip_prefix("refs/heads/"))
                .map(|b| b.split('^').next().unwrap_or(b).to_string())
        });
        row.commit_sha = version
            .filter(|v| v.len() >= 7 && v.chars().all(|c| c.is_ascii_hexdigit()))
            .or_else(|| text_at(ai, "resolved-source-version"));
        row.environment = env_from_pairs(ato(ai, "environment/environment-variables"), "name");
        row.runner_name = text_at(ai, "environment/image");
        row.runner_labels = Some(
            ["environment/compute-type", "environment/type"]
                .iter()
                .filter_map(|p| text(ato(ai, p)))
                .collect(),
        );
        row.runner_kind = Some("hosted".into());
        row.url = text_at(ai, "logs/deep-link");
    }
    if detail_type.contains("Phase") {
        row.event_type = "build_phase".into();
        row.level = level::PHASE;
        row.stage = text_at(d, "completed-phase");
        set_status(row, text_at(d, "completed-phase-status"), None);
        row.started_at = first_time(d, &["completed-phase-start"]);
        row.finished_at = first_time(d, &["completed-phase-end"]);
        row.duration_ms = ato(d, "completed-phase-duration-seconds")
            .and_then(Value::as_f64)
            .map(|s| (s * 1000.0) as i64);
    } else {
        row.event_type = "build_state".into();
        row.level = level::RUN;
        row.stage = text_at(d, "current-phase");
        set_status(row, text_at(d, "build-status"), None);
        if row.status.as_deref() == Some("completed") {
            row.finished_at = Some(time);
        }
    }
}

/// A CodePipeline pipeline, stage or action execution change.
fn codepipeline(
    row: &mut BuildRow,
    d: &Map<String, Value>,
    detail_type: &str,
    time: i64,
    acct: &str,
    reg: &str,
) {
    row.system = "codepipeline".into();
    let name = text_at(d, "pipeline");
    row.pipeline_id = name
        .as_ref()
        .map(|p| format!("codepipeline:{acct}:{reg}:{p}"));
    row.pipeline_name = name;
    row.run_id = text_at(d, "execution-id");
    row.stage = text_at(d, "stage");
    row.job_name = text_at(d, "action");
    set_status(row, text_at(d, "state"), None);
    let trig = text_at(d, "execution-trigger/trigger-type");
    set_trigger(row, trig);
    row.actor = text_at(d, "execution-trigger/trigger-detail");
    (row.event_type, row.level) = if detail_type.contains("Action") {
        ("action_execution".into(), level::ACTION)
    } else if detail_type.contains("Stage") {
        ("stage_execution".into(), level::STAGE)
    } else {
        ("pipeline_execution".into(), level::RUN)
    };
    match row.status.as_deref() {
        Some("completed") => row.finished_at = Some(time),
        Some("in_progress") => row.started_at = Some(time),
        _ => {}
    }
}

/// A CodeDeploy deployment or instance change.
fn codedeploy(
    row: &mut BuildRow,
    d: &Map<String, Value>,
    detail_type: &str,
    _time: i64,
    acct: &str,
    reg: &str,
) {
    row.system = "codedeploy".into();
    let app = text_at(d, "application");
    let group = text_at(d, "deploymentGroup");
    row.pipeline_id = app.as_ref().map(|a| {
        format!(
            "codedeploy:{acct}:{reg}:{a}/{}",
            group.as_deref().unwrap_or("-")
        )
    });
    row.pipeline_name = app;
    row.run_id = text_at(d, "deploymentId");
    row.stage = group;
    row.event_type = if detail_type.contains("Instance") {
        "instance_state"
    } else {
        "deployment_state"
    }
    .into();
    row.level = level::DEPLOYMENT;
    set_status(row, text_at(d, "state"), None);
}

/// A CodeBuild `initiator`: `rule/<name>` (an EventBridge rule: scheduled builds),
/// `codepipeline/<name>`, `GitHub-Hookshot/...` (a webhook), or the IAM principal that called
/// StartBuild.
fn codebuild_trigger(initiator: &str) -> &'static str {
    if initiator.starts_with("rule/") || initiator.starts_with("events.amazonaws.com") {
        "schedule"
    } else if initiator.starts_with("codepipeline/") {
        "pipeline"
    } else if initiator.starts_with("GitHub-Hookshot")
        || initiator.starts_with("Bitbucket")
        || initiator.starts_with("GitLab")
        || initiator.starts_with("codecommit")
    {
        "push"
    } else {
        "manual"
    }
}
