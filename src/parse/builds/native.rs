//! The native build format, for CI systems pipewarden does not read directly: one JSON object per
//! event with `"schema": "pipewarden.build/v1"` (README, "Native build records").
//!
//! Required: `time`, `system`, `pipeline`. Everything else is optional and maps one to one onto
//! the `builds` columns; `status`, `conclusion` and `trigger` are normalised like every system's.

use serde_json::{Map, Value};

use super::row::{
    BuildRow, Context, ato, branch_of, first_time, int_at, level, set_status, set_trigger,
    strings_at, text, text_at,
};
use crate::parse::record::RecordError;

/// The schema tag of native records.
pub const SCHEMA: &str = "pipewarden.build/v1";

/// Whether a record declares the native schema.
pub fn is_native(o: &Map<String, Value>) -> bool {
    ato(o, "schema")
        .and_then(Value::as_str)
        .is_some_and(|s| s.starts_with("pipewarden.build/"))
}

const LEVELS: &[&str] = &[
    level::RUN,
    level::JOB,
    level::STAGE,
    level::ACTION,
    level::PHASE,
    level::DEPLOYMENT,
    level::SOURCE,
    level::QUEUE,
    level::AUDIT,
    level::OTHER,
];

/// Parses a native record.
pub(crate) fn parse(o: &Map<String, Value>, _cx: &mut Context) -> Result<BuildRow, RecordError> {
    let tag = text_at(o, "schema").unwrap_or_default();
    if tag != SCHEMA {
        return Err(RecordError(format!(
            "native build record has schema {tag:?}; this version reads {SCHEMA:?}"
        )));
    }
    let need = |k: &str| {
        text(ato(o, k)).ok_or_else(|| {
            RecordError(format!(
                "native build record lacks the required field {k:?}"
            ))
        })
    };
    let system = need("system")?.to_ascii_lowercase();
    let pipeline = need("pipeline")?;
    let time = first_time(o, &["time"]).ok_or_else(|| {
        RecordError("native build record lacks a valid \"time\" (RFC 3339 or epoch)".into())
    })?;
    let lvl = text_at(o, "level").unwrap_or_else(|| "run".into());
    let level = LEVELS.iter().find(|l| **l == lvl).copied().ok_or_else(|| {
        RecordError(format!(
            "native build record has level {lvl:?}; expected one of {}",
            LEVELS.join(", ")
        ))
    })?;
    let prefix = format!("{system}:");
    let mut row = BuildRow {
        event_time: time,
        pipeline_id: Some(if pipeline.starts_with(&prefix) {
            pipeline.clone()
        } else {
            format!("{prefix}{pipeline}")
        }),
        pipeline_name: text_at(o, "pipeline_name").or(Some(pipeline)),
        system,
        format: "native",
        event_type: text_at(o, "event_type").unwrap_or_else(|| level.to_string()),
        action: text_at(o, "action"),
        level,
        event_id: text_at(o, "event_id"),
        repository: text_at(o, "repository"),
        run_id: text_at(o, "run_id"),
        run_number: int_at(o, "run_number"),
        run_attempt: int_at(o, "run_attempt"),
        job_id: text_at(o, "job_id"),
        job_name: text_at(o, "job_name"),
        stage: text_at(o, "stage"),
        actor: text_at(o, "actor"),
        commit_sha: text_at(o, "commit"),
        git_ref: text_at(o, "ref"),
        environment: text_at(o, "environment"),
        runner_name: text_at(o, "runner/name"),
        runner_labels: strings_at(o, "runner/labels"),
        runner_kind: text_at(o, "runner/kind"),
        runner_group: text_at(o, "runner/group"),
        started_at: first_time(o, &["started_at"]),
        finished_at: first_time(o, &["finished_at"]),
        account_id: text_at(o, "account_id"),
        region: text_at(o, "region"),
        url: text_at(o, "url"),
        ..Default::default()
    };
    set_status(&mut row, text_at(o, "status"), text_at(o, "conclusion"));
    set_trigger(&mut row, text_at(o, "trigger"));
    row.branch = text_at(o, "branch").or_else(|| row.git_ref.as_deref().and_then(branch_of));
    Ok(row)
}
