//! Build records: CI/CD runs from GitHub Actions, GitLab CI, AWS CodeBuild/CodePipeline, Jenkins
//! and a native JSON format become rows of the `builds` table.
//!
//! The format is detected per record, from its shape, never from the object's name:
//!
//! | shape | system | module |
//! |---|---|---|
//! | `{"schema": "pipewarden.build/v1", ...}` | as declared | [`native`] |
//! | EventBridge envelope from `aws.codebuild` / `aws.codepipeline` | `codebuild`, `codepipeline` | [`aws`] |
//! | GitHub webhook (`workflow_run`, `workflow_job`, `deployment`, `deployment_status`, `workflow_dispatch`, `push`, `check_run`, ...) or audit-log event (`action` like `workflows.*`) | `github` | [`github`] |
//! | GitLab webhook (`object_kind`) or audit event (`entity_type` + `details`) | `gitlab` | [`gitlab`] |
//! | Jenkins `api/json` build, `wfapi` run or queue item | `jenkins` | [`jenkins`] |
//!
//! Archived webhooks often sit in an envelope that keeps the delivery headers: `{"headers": {...},
//! "body": ...}` (an API Gateway or Lambda function URL event, `body` a JSON string or object) or
//! `{"event": "workflow_run", "payload": {...}}`. The envelope is opened, the event name taken from
//! `X-GitHub-Event` / `X-Gitlab-Event` (or `event`), the delivery id and time kept.
//!
//! A record none of these recognise is rejected with a reason naming its top-level keys (so it is
//! reported, counted and kept raw in `rejects`, never dropped). A record from a known system that
//! is not about CI (a GitHub issue comment in a webhook archive) is kept with `level = 'other'`.
//!
//! Values are normalised across systems ([`norm_status`], [`norm_trigger`]) and the original kept
//! beside them (`status_raw`, `trigger_raw`, `raw`).

pub mod aws;
pub mod github;
pub mod gitlab;
pub mod jenkins;
pub mod native;
pub mod row;

use std::sync::{Arc, LazyLock};

use arrow::array::{
    ArrayRef, Int64Array, ListBuilder, RecordBatch, StringArray, StringBuilder,
    TimestampMicrosecondArray,
};
use arrow::datatypes::{DataType, Field, Schema, SchemaRef, TimeUnit};
use serde_json::Value;

use super::record::{FieldWarnings, Position, RecordError, RecordSink, UTC};
use row::Context;
pub use row::{
    BuildRow, ENV_VARIABLES, Envelope, branch_of, level, norm_status, norm_trigger,
    parse_time_text, runner_kind_from_labels, time_of,
};

/// The `builds` table's schema. `event_time` comes first: the lake partitions by its date.
pub fn schema() -> SchemaRef {
    static SCHEMA: LazyLock<SchemaRef> = LazyLock::new(|| {
        let ts = || DataType::Timestamp(TimeUnit::Microsecond, Some(UTC.into()));
        let s = |n: &str| Field::new(n, DataType::Utf8, true);
        let i = |n: &str| Field::new(n, DataType::Int64, true);
        Arc::new(Schema::new(vec![
            Field::new("event_time", ts(), false),
            Field::new("system", DataType::Utf8, false),
            Field::new("format", DataType::Utf8, false),
            Field::new("event_type", DataType::Utf8, false),
            s("action"),
            Field::new("level", DataType::Utf8, false),
            s("event_id"),
            s("pipeline_id"),
            s("pipeline_name"),
            s("repository"),
            s("head_repository"),
            s("run_id"),
            i("run_number"),
            i("run_attempt"),
            s("job_id"),
            s("job_name"),
            s("stage"),
            s("status"),
            s("conclusion"),
            s("status_raw"),
            s("trigger"),
            s("trigger_raw"),
            s("actor"),
            s("commit_sha"),
            s("ref"),
            s("branch"),
            s("environment"),
            s("runner_name"),
            Field::new(
                "runner_labels",
                DataType::List(Arc::new(Field::new("item", DataType::Utf8, true))),
                true,
            ),
            s("runner_kind"),
            s("runner_group"),
            Field::new("started_at", ts(), true),
            Field::new("finished_at", ts(), true),
            i("duration_ms"),
            s("account_id"),
            s("region"),
            s("url"),
            Field::new("raw", DataType::Utf8, false),
            Field::new("source_object", DataType::Utf8, false),
            Field::new("source_index", DataType::Int64, false),
            i("source_line"),
        ]))
    });
    SCHEMA.clone()
}

/// Turns one record into a row, or says why it cannot.
pub fn parse_record(text: &str, warnings: &mut FieldWarnings) -> Result<BuildRow, RecordError> {
    row::take_coerced();
    let parsed = parse_record_inner(text, warnings);
    // Fields kept with another type, or dropped, count as the object's warnings.
    let c = row::take_coerced();
    if c.count > 0 {
        warnings.count += c.count;
        if warnings.first.is_none() {
            warnings.first = c.first;
        }
    }
    parsed
}

fn parse_record_inner(text: &str, warnings: &mut FieldWarnings) -> Result<BuildRow, RecordError> {
    let v: Value = match text.as_bytes().first() {
        Some(b'{') => {
            serde_json::from_str(text).map_err(|e| RecordError(format!("invalid JSON: {e}")))?
        }
        _ => {
            return Err(RecordError(
                "record is not a JSON object (build records are objects)".into(),
            ));
        }
    };
    let (body, env) = open_envelope(&v)?;
    let Some(obj) = body.as_object() else {
        return Err(RecordError("envelope body is not a JSON object".into()));
    };
    let mut cx = Context { warnings };
    let row = if native::is_native(obj) {
        native::parse(obj, &mut cx)?
    } else if aws::is_aws(obj) {
        aws::parse(obj, &mut cx)?
    } else if env.system == Some("gitlab") || gitlab::is_gitlab(obj) {
        gitlab::parse(obj, &env, &mut cx)?
    } else if env.system == Some("github") || github::is_github(obj) {
        github::parse(obj, &env, &mut cx)?
    } else if jenkins::is_jenkins(obj) {
        jenkins::parse(obj, &mut cx)?
    } else if obj.contains_key("eventSource") && obj.contains_key("eventName") {
        return Err(RecordError(
            "a CloudTrail record, not a build record: ingest it without --builds".into(),
        ));
    } else {
        let mut keys: Vec<&str> = obj.keys().map(|k| k.as_str()).take(12).collect();
        keys.sort_unstable();
        return Err(RecordError(format!(
            "unrecognised build record (top-level keys: {}); see the README for the formats read",
            keys.join(", ")
        )));
    };
    let mut row = row;
    if row.event_id.is_none() {
        row.event_id = env.delivery.clone();
    }
    if row.duration_ms.is_none()
        && let (Some(s), Some(f)) = (row.started_at, row.finished_at)
        && f >= s
    {
        row.duration_ms = Some((f - s) / 1000);
    }
    if row.branch.is_none() {
        row.branch = row.git_ref.as_deref().and_then(branch_of);
    }
    Ok(row)
}

/// Opens delivery envelopes; returns the record itself and what the envelope said.
fn open_envelope(v: &Value) -> Result<(std::borrow::Cow<'_, Value>, Envelope), RecordError> {
    use std::borrow::Cow;
    let mut env = Envelope::default();
    let Some(o) = v.as_object() else {
        return Ok((Cow::Borrowed(v), env));
    };
    let headers = o.get("headers").and_then(|h| h.as_object());
    let inner = o
        .get("body")
        .or_else(|| o.get("payload"))
        .filter(|b| b.is_object() || b.is_string());
    let named = ["event", "event_name", "x-github-event", "type"]
        .iter()
        .find_map(|k| o.get(*k).and_then(|x| x.as_str()));
    let is_envelope = inner.is_some() && (headers.is_some() || named.is_some());
    if !is_envelope {
        return Ok((Cow::Borrowed(v), env));
    }
    if let Some(h) = headers {
        let get = |name: &str| {
            h.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                .and_then(|(_, v)| v.as_str().map(str::to_string))
        };
        if let Some(e) = get("x-github-event") {
            env.event = Some(e);
            env.system = Some("github");
            env.delivery = get("x-github-delivery");
        } else if let Some(e) = get("x-gitlab-event") {
            env.event = Some(e);
            env.system = Some("gitlab");
            env.delivery = get("x-gitlab-event-uuid").or_else(|| get("x-gitlab-webhook-uuid"));
        }
    }
    if env.event.is_none() {
        env.event = named.map(str::to_string);
    }
    env.received = ["received_at", "timestamp", "delivered_at", "time"]
        .iter()
        .find_map(|k| o.get(*k).and_then(time_of))
        .or_else(|| {
            o.get("requestContext")
                .and_then(|r| r.get("timeEpoch"))
                .and_then(time_of)
        });
    let body = inner.expect("checked");
    let body = match body {
        Value::String(s) => {
            let decoded;
            let text = if o.get("isBase64Encoded").and_then(|b| b.as_bool()) == Some(true) {
                decoded = base64_decode(s).ok_or_else(|| {
                    RecordError("envelope body is marked base64 but is not base64".into())
                })?;
                decoded.as_str()
            } else {
                s.as_str()
            };
            let text = form_payload(text).unwrap_or(std::borrow::Cow::Borrowed(text));
            Cow::Owned(
                serde_json::from_str(&text)
                    .map_err(|e| RecordError(format!("envelope body is not JSON: {e}")))?,
            )
        }
        other => Cow::Owned(other.clone()),
    };
    Ok((body, env))
}

/// GitHub can deliver `application/x-www-form-urlencoded` webhooks: `payload=<json>`.
fn form_payload(text: &str) -> Option<std::borrow::Cow<'_, str>> {
    let rest = text.strip_prefix("payload=")?;
    url::form_urlencoded::parse(format!("p={rest}").as_bytes())
        .next()
        .map(|(_, v)| std::borrow::Cow::Owned(v.into_owned()))
}

fn base64_decode(s: &str) -> Option<String> {
    const T: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let (mut acc, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        if c == b'=' || c.is_ascii_whitespace() {
            continue;
        }
        let v = T.iter().position(|&t| t == c)? as u32;
        acc = (acc << 6) | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
        }
    }
    String::from_utf8(out).ok()
}

// ---- the builder --------------------------------------------------------------------------------

struct Prov {
    raw: String,
    object: String,
    index: i64,
    line: Option<i64>,
}

/// Accumulates build rows; columns are built at `finish` (build records are few next to
/// CloudTrail events, so rows are kept as structs until then).
#[derive(Default)]
pub struct BuildsBuilder {
    rows: Vec<(BuildRow, Prov)>,
}

impl BuildsBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self::default()
    }
}

impl RecordSink for BuildsBuilder {
    fn push(
        &mut self,
        text: &str,
        source_object: &str,
        pos: Position,
        warnings: &mut FieldWarnings,
    ) -> Result<(), RecordError> {
        let row = parse_record(text, warnings)?;
        self.rows.push((
            row,
            Prov {
                raw: text.to_string(),
                object: source_object.to_string(),
                index: pos.index,
                line: pos.line,
            },
        ));
        Ok(())
    }

    fn len(&self) -> usize {
        self.rows.len()
    }

    fn finish(&mut self) -> RecordBatch {
        let rows = std::mem::take(&mut self.rows);
        rows_to_batch(&rows)
    }
}

fn rows_to_batch(rows: &[(BuildRow, Prov)]) -> RecordBatch {
    let s = |f: &dyn Fn(&BuildRow) -> Option<&str>| -> ArrayRef {
        Arc::new(rows.iter().map(|(r, _)| f(r)).collect::<StringArray>())
    };
    let i = |f: &dyn Fn(&BuildRow) -> Option<i64>| -> ArrayRef {
        Arc::new(rows.iter().map(|(r, _)| f(r)).collect::<Int64Array>())
    };
    let t = |f: &dyn Fn(&BuildRow) -> Option<i64>| -> ArrayRef {
        Arc::new(
            rows.iter()
                .map(|(r, _)| f(r))
                .collect::<TimestampMicrosecondArray>()
                .with_timezone(UTC),
        )
    };
    let mut labels = ListBuilder::new(StringBuilder::new());
    for (r, _) in rows {
        match &r.runner_labels {
            Some(ls) => {
                for l in ls {
                    labels.values().append_value(l);
                }
                labels.append(true);
            }
            None => labels.append(false),
        }
    }
    let columns: Vec<ArrayRef> = vec![
        t(&|r| Some(r.event_time)),
        s(&|r| Some(r.system.as_str())),
        s(&|r| Some(r.format)),
        s(&|r| Some(r.event_type.as_str())),
        s(&|r| r.action.as_deref()),
        s(&|r| Some(r.level)),
        s(&|r| r.event_id.as_deref()),
        s(&|r| r.pipeline_id.as_deref()),
        s(&|r| r.pipeline_name.as_deref()),
        s(&|r| r.repository.as_deref()),
        s(&|r| r.head_repository.as_deref()),
        s(&|r| r.run_id.as_deref()),
        i(&|r| r.run_number),
        i(&|r| r.run_attempt),
        s(&|r| r.job_id.as_deref()),
        s(&|r| r.job_name.as_deref()),
        s(&|r| r.stage.as_deref()),
        s(&|r| r.status.as_deref()),
        s(&|r| r.conclusion.as_deref()),
        s(&|r| r.status_raw.as_deref()),
        s(&|r| r.trigger.as_deref()),
        s(&|r| r.trigger_raw.as_deref()),
        s(&|r| r.actor.as_deref()),
        s(&|r| r.commit_sha.as_deref()),
        s(&|r| r.git_ref.as_deref()),
        s(&|r| r.branch.as_deref()),
        s(&|r| r.environment.as_deref()),
        s(&|r| r.runner_name.as_deref()),
        Arc::new(labels.finish()),
        s(&|r| r.runner_kind.as_deref()),
        s(&|r| r.runner_group.as_deref()),
        t(&|r| r.started_at),
        t(&|r| r.finished_at),
        i(&|r| r.duration_ms),
        s(&|r| r.account_id.as_deref()),
        s(&|r| r.region.as_deref()),
        s(&|r| r.url.as_deref()),
        Arc::new(
            rows.iter()
                .map(|(_, p)| Some(p.raw.as_str()))
                .collect::<StringArray>(),
        ),
        Arc::new(
            rows.iter()
                .map(|(_, p)| Some(p.object.as_str()))
                .collect::<StringArray>(),
        ),
        Arc::new(
            rows.iter()
                .map(|(_, p)| Some(p.index))
                .collect::<Int64Array>(),
        ),
        Arc::new(rows.iter().map(|(_, p)| p.line).collect::<Int64Array>()),
    ];
    RecordBatch::try_new(schema(), columns).expect("builds columns match the schema")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (hardening, wrong reasons): build records with wrong types were coerced or
    /// dropped with 0 warnings counted. Each is now a warning that names the field.
    #[test]
    fn wrong_types_in_build_records_are_counted_and_named() {
        let good = serde_json::json!({
            "schema": "pipewarden.build/v1", "time": "2026-10-01T10:00:00Z", "system": "x",
            "pipeline": "p", "run_number": "7", "actor": "eve", "runner": {"labels": ["a"]}
        });
        let mut w = FieldWarnings::default();
        let row = parse_record(&good.to_string(), &mut w).unwrap();
        assert_eq!((w.count, row.run_number), (0, Some(7)));
        let bad = serde_json::json!({
            "schema": "pipewarden.build/v1", "time": "2026-10-01T10:00:00Z", "system": "x",
            "pipeline": "p", "run_number": "seven", "actor": true, "commit": ["a"],
            "runner": {"labels": "a"}
        });
        let mut w = FieldWarnings::default();
        let row = parse_record(&bad.to_string(), &mut w).unwrap();
        assert_eq!(w.count, 4, "{:?}", w.first);
        assert_eq!(
            w.first.as_deref(),
            Some("field run_number: expected a whole number, found a string, dropped")
        );
        assert_eq!((row.run_number, row.actor.as_deref()), (None, Some("true")));
        assert_eq!((row.commit_sha, row.runner_labels), (None, None));
        // A rejected record's notes do not leak into the next one.
        let mut w = FieldWarnings::default();
        let bad_time = serde_json::json!({
            "schema": "pipewarden.build/v1", "time": true, "system": "x", "pipeline": "p"
        });
        assert!(parse_record(&bad_time.to_string(), &mut w).is_err());
        let mut w = FieldWarnings::default();
        parse_record(&good.to_string(), &mut w).unwrap();
        assert_eq!(w.count, 0);
    }

    #[test]
    fn times() {
        let z = parse_time_text("2016-08-12T15:23:28Z").unwrap();
        assert_eq!(parse_time_text("2016-08-12 15:23:28 UTC"), Some(z));
        assert_eq!(parse_time_text("2016-08-12 17:23:28 +0200"), Some(z));
        assert_eq!(parse_time_text("2016-08-12 15:23:28"), Some(z));
        assert_eq!(
            parse_time_text("2016-08-12 15:23:28.500"),
            Some(z + 500_000)
        );
        assert_eq!(time_of(&serde_json::json!(1471015408000i64)), Some(z));
        assert_eq!(time_of(&serde_json::json!(1471015408)), Some(z));
        assert_eq!(
            parse_time_text("Sep 1, 2017 4:12:29 PM"),
            parse_time_text("2017-09-01T16:12:29Z")
        );
        assert_eq!(parse_time_text("yesterday"), None);
        assert_eq!(time_of(&serde_json::json!(-5)), None);
    }

    #[test]
    fn statuses() {
        assert_eq!(
            norm_status("SUCCEEDED"),
            (Some("completed"), Some("success".into()))
        );
        assert_eq!(
            norm_status("canceled"),
            (Some("completed"), Some("cancelled".into()))
        );
        assert_eq!(norm_status("running"), (Some("in_progress"), None));
        assert_eq!(norm_status("PAUSED_PENDING_INPUT"), (Some("waiting"), None));
        assert_eq!(norm_trigger("merge_request_event"), "pull_request");
        assert_eq!(norm_trigger("workflow_dispatch"), "manual");
    }

    #[test]
    fn envelope_with_headers_and_string_body() {
        let rec = serde_json::json!({
            "headers": {"X-GitHub-Event": "workflow_dispatch", "X-GitHub-Delivery": "d-1"},
            "body": "{\"ref\":\"refs/heads/main\",\"workflow\":\".github/workflows/d.yml\",\"inputs\":{},\"repository\":{\"full_name\":\"o/r\"},\"sender\":{\"login\":\"eve\"}}",
            "requestContext": {"timeEpoch": 1700000000000i64}
        });
        let mut w = FieldWarnings::default();
        let row = parse_record(&rec.to_string(), &mut w).unwrap();
        assert_eq!(row.event_type, "workflow_dispatch");
        assert_eq!(row.event_id.as_deref(), Some("d-1"));
        assert_eq!(row.event_time, 1_700_000_000_000_000);
        assert_eq!(row.actor.as_deref(), Some("eve"));
        assert_eq!(row.pipeline_id.as_deref(), Some("github:o/r:d.yml"));
        assert_eq!(row.trigger.as_deref(), Some("manual"));
        assert_eq!(w.count, 0);
    }

    #[test]
    fn unknown_record_names_its_keys() {
        let mut w = FieldWarnings::default();
        let e = parse_record(r#"{"foo":1,"bar":2}"#, &mut w).unwrap_err();
        assert!(e.0.contains("bar, foo"), "{}", e.0);
        assert!(parse_record("[1]", &mut w).is_err());
    }
}
