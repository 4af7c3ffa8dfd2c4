//! Each categorical baseline detector of `src/detect/catalog.rs`, on a planted history: every
//! run of a pipeline shows one value of a field for 30 days, then one run of the judged day shows
//! another. The detector must fire on that run, with its evidence and its numbers, and stay quiet
//! when the judged day shows the usual value. Adding a categorical detector is one entry in the
//! catalogue and one row in [`DETECTORS`] here.

use std::path::Path;

use pipewarden::attribute::config::Config;
use pipewarden::detect::{DetectPlan, Kind, Report};
use serde_json::{Value, json};

use crate::helpers::*;

/// Detector, CloudTrail field the planted run changes, its usual value, the planted value.
const DETECTORS: &[(&str, &str, &str, &str)] = &[
    ("region", "awsRegion", "us-east-1", "ap-southeast-1"),
    ("network", "sourceIPAddress", "10.20.30.40", "203.0.113.9"),
    ("api", "eventName", "PutObject", "DeleteBucketPolicy"),
];

const ACCOUNT: &str = "111111111111";
const ROLE: &str = "arn:aws:iam::111111111111:role/deploy";
/// Days of history before the judged day (2026-08-31).
const DAYS: u32 = 30;
/// Sessions (runs) per day, and calls per session.
const RUNS_PER_DAY: u32 = 2;
const CALLS: u32 = 3;

/// One session: the AssumeRole that issues its key, then its calls.
fn session(day: u32, run: u32, planted: Option<(&str, &str)>) -> Vec<Value> {
    let date = chrono::NaiveDate::from_ymd_opt(2026, 8, 1).unwrap() + chrono::Days::new(day as u64);
    let hour = 10 + 4 * run;
    let at = |min: u32| format!("{date}T{hour:02}:{min:02}:00Z");
    let key = format!("ASIA{:016}", day * 10 + run);
    let session = format!("deploy-{day}-{run}");
    let mut out = vec![json!({
        "eventVersion": "1.08", "eventTime": at(0), "eventSource": "sts.amazonaws.com",
        "eventName": "AssumeRole", "awsRegion": "us-east-1", "sourceIPAddress": "10.20.30.40",
        "userAgent": "aws-cli/2.15.0", "eventID": format!("assume-{day}-{run}"),
        "eventType": "AwsApiCall", "readOnly": false, "managementEvent": true,
        "recipientAccountId": ACCOUNT,
        // The CI runner's own role session (issued before the trail begins) assumes the deploy role.
        "userIdentity": {"type": "AssumedRole", "principalId": "AROARUNNER:i-0abc",
            "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/runner/i-0abc"),
            "accountId": ACCOUNT, "accessKeyId": "ASIARUNNER0000000000",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROARUNNER",
                "arn": format!("arn:aws:iam::{ACCOUNT}:role/runner"), "accountId": ACCOUNT,
                "userName": "runner"}}},
        "requestParameters": {"roleArn": ROLE, "roleSessionName": session},
        "responseElements": {
            "credentials": {"accessKeyId": key, "expiration": "Sep 1, 2026, 11:00:00 PM",
                "sessionToken": "x"},
            "assumedRoleUser": {"assumedRoleId": format!("AROAEXAMPLE:{session}"),
                "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/deploy/{session}")}},
    })];
    for c in 0..CALLS {
        let mut call = json!({
            "eventVersion": "1.08", "eventTime": at(1 + c), "eventSource": "s3.amazonaws.com",
            "eventName": "PutObject", "awsRegion": "us-east-1", "sourceIPAddress": "10.20.30.40",
            "userAgent": "aws-cli/2.15.0", "eventID": format!("call-{day}-{run}-{c}"),
            "eventType": "AwsApiCall", "readOnly": false, "managementEvent": false,
            "recipientAccountId": ACCOUNT,
            "userIdentity": {"type": "AssumedRole",
                "principalId": format!("AROAEXAMPLE:{session}"),
                "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/deploy/{session}"),
                "accountId": ACCOUNT, "accessKeyId": key,
                "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE",
                    "arn": ROLE, "accountId": ACCOUNT, "userName": "deploy"},
                    "attributes": {"creationDate": at(0), "mfaAuthenticated": "false"}}},
            "requestParameters": {"bucketName": "artifacts", "key": format!("build/{day}/{run}")},
        });
        if let Some((field, value)) = planted {
            call[field] = json!(value);
        }
        out.push(call);
    }
    out
}

/// A lake of 31 days of history, each day's runs as `runs(day, run, judged)` gives them, where
/// `judged` marks the first run of the judged (last) day.
fn history_lake(dir: &Path, runs: impl Fn(u32, u32, bool) -> Vec<Value>) -> String {
    let logs = dir.join("logs");
    std::fs::create_dir_all(&logs).unwrap();
    for day in 0..=DAYS {
        let mut records = vec![];
        for run in 0..RUNS_PER_DAY {
            records.extend(runs(day, run, day == DAYS && run == 0));
        }
        let text = serde_json::to_string(&json!({ "Records": records })).unwrap();
        std::fs::write(logs.join(format!("day-{day:02}.json")), text).unwrap();
    }
    let lake = dir.join("lake").display().to_string();
    ingest(&plan(logs.display().to_string(), &lake));
    lake
}

/// A lake of the planted history; the judged day's first run changes `planted`'s field.
fn planted_lake(dir: &Path, planted: Option<(&str, &str)>) -> String {
    history_lake(dir, |day, run, judged| {
        session(day, run, planted.filter(|_| judged))
    })
}

fn judge(lake: &str) -> Report {
    judge_with(lake, Default::default())
}

fn judge_with(lake: &str, history: pipewarden::profiles::History) -> Report {
    let cfg = Config::parse(
        &format!("[[pipelines]]\nid = \"deploy\"\nroles = [\"{ROLE}\"]\n"),
        "pipewarden.toml",
    )
    .unwrap();
    let plan = DetectPlan {
        baseline_days: DAYS as i64,
        window_days: 1,
        until: chrono::NaiveDate::from_ymd_opt(2026, 9, 1),
        history,
        ..Default::default()
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let lake = local_lake(lake);
        let ctx = pipewarden::engine::session_with(&lake, &cfg, &Default::default())
            .await
            .unwrap();
        pipewarden::detect::detect(&ctx, &plan).await.unwrap()
    })
}

#[test]
fn each_categorical_detector_fires_on_a_planted_value_with_its_numbers() {
    for &(detector, field, usual, new) in DETECTORS {
        assert_ne!(usual, new, "{detector}: a planted value must differ");
        let d = tempfile::tempdir().unwrap();
        let r = judge(&planted_lake(d.path(), Some((field, new))));
        let f = r
            .findings
            .iter()
            .find(|f| f.detector == detector)
            .unwrap_or_else(|| {
                panic!(
                    "{detector}: no finding for {field} = {new}: {:#?}",
                    r.findings
                )
            });
        assert_eq!(f.kind, Kind::Baseline, "{detector}");
        assert_eq!(f.pipeline_id.as_deref(), Some("deploy"), "{detector}");
        let planted: Vec<String> = (0..CALLS).map(|c| format!("call-{DAYS}-0-{c}")).collect();
        assert_eq!(
            f.event_ids, planted,
            "{detector}: evidence is the planted run's calls"
        );
        assert_eq!(f.count, CALLS as u64, "{detector}");
        let b = f.baseline.as_ref().expect("baseline numbers");
        // Each run's session, and the runner's key under which the AssumeRole calls count: a
        // pipeline's units are counted per day, so the runner's key counts once on each of the
        // history's days (README, "Daily profiles").
        let runs = (DAYS * RUNS_PER_DAY + DAYS) as u64;
        assert_eq!((b.units, b.value_units), (runs, 0), "{detector}: {b:?}");
        assert!(
            f.explanation.contains(&runs.to_string()),
            "{detector}: the explanation gives the history's size: {}",
            f.explanation
        );
        assert!(
            f.score >= 50,
            "{detector}: a first use after {runs} runs: {}",
            f.score
        );
    }
}

#[test]
fn categorical_detectors_stay_quiet_on_the_usual_values() {
    let d = tempfile::tempdir().unwrap();
    let r = judge(&planted_lake(d.path(), None));
    for &(detector, ..) in DETECTORS {
        let noise: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.detector == detector)
            .collect();
        assert!(
            noise.is_empty(),
            "{detector} fired on the usual values: {noise:#?}"
        );
    }
}

/// A Jenkins job's builds, from its own records only (no CloudTrail): one at 10:xx and one at
/// 15:xx on each of the 30 days, then on the judged day (Monday 2026-08-31) one at `judged_hour`.
fn jenkins_lake(dir: &Path, judged_hour: u32) -> String {
    let logs = dir.join("builds");
    std::fs::create_dir_all(&logs).unwrap();
    let build = |n: u32, at: chrono::NaiveDateTime| {
        json!({
            "_class": "hudson.model.FreeStyleBuild", "number": n, "id": n.to_string(),
            "url": format!("https://ci.example.com/job/release/{n}/"),
            "timestamp": at.and_utc().timestamp_millis(), "duration": 300_000,
            "result": "SUCCESS", "building": false, "builtOn": "agent-1",
            "actions": [{"causes": [{"_class": "hudson.model.Cause$UserIdCause",
                "shortDescription": "Started by user alice", "userId": "alice",
                "userName": "alice"}]}],
        })
    };
    let first = chrono::NaiveDate::from_ymd_opt(2026, 8, 1).unwrap();
    let mut records = vec![];
    for d in 0..DAYS {
        let date = first + chrono::Days::new(d as u64);
        for (i, hour) in [10, 15].into_iter().enumerate() {
            let at = date
                .and_hms_opt(hour, (7 * d + 13 * i as u32) % 60, 0)
                .unwrap();
            records.push(build(1 + 2 * d + i as u32, at));
        }
    }
    let judged = (first + chrono::Days::new(DAYS as u64))
        .and_hms_opt(judged_hour, 12, 0)
        .unwrap();
    records.push(build(999, judged));
    std::fs::write(
        logs.join("builds.json"),
        serde_json::to_string(&records).unwrap(),
    )
    .unwrap();
    let lake = dir.join("lake").display().to_string();
    let mut p = plan(logs.display().to_string(), &lake);
    p.dataset = pipewarden::lake::Dataset::Builds;
    ingest(&p);
    lake
}

#[test]
fn a_run_started_at_an_hour_the_pipeline_never_starts_is_builds_hour() {
    let d = tempfile::tempdir().unwrap();
    let lake = jenkins_lake(d.path(), 3);
    let r = judge(&lake);
    let f = r
        .findings
        .iter()
        .find(|f| f.detector == "builds:hour")
        .unwrap_or_else(|| panic!("{:#?}", r.findings));
    assert_eq!(
        f.pipeline_id.as_deref(),
        Some("jenkins:ci.example.com/release")
    );
    assert_eq!(f.value, "weekday 03h");
    assert_eq!(f.run_ids, vec!["999"]);
    assert_eq!(f.kind, Kind::Baseline);
    assert!(
        f.explanation
            .contains("started at weekday 03h UTC, where its 60 runs of 30 days had 0"),
        "{}",
        f.explanation
    );
    assert!(
        f.explanation.contains("usual weekday hours: 10, 15"),
        "{}",
        f.explanation
    );
    assert!(f.score >= 60, "{f:#?}");

    // The same run at 11:12, an hour next to its usual ones, is no finding.
    let d = tempfile::tempdir().unwrap();
    let lake = jenkins_lake(d.path(), 11);
    let r = judge(&lake);
    assert!(
        r.findings.iter().all(|f| f.detector != "builds:hour"),
        "{:#?}",
        r.findings
    );
}

/// How a run's AccessDenied fall: every fourth of its 40 calls (one a minute), 15 of them
/// within 70 seconds, or 15 spread over the run.
#[derive(Clone, Copy, PartialEq)]
enum Refusals {
    Usual,
    Burst,
    Spread,
}

/// A lake of 30 days of runs whose 40 calls (one a minute) include 10 AccessDenied, four
/// minutes apart; the judged day's first run refuses as `judged` says.
fn refusing_lake(dir: &Path, judged: Refusals) -> String {
    history_lake(dir, |day, run, is_judged| {
        let how = if is_judged { judged } else { Refusals::Usual };
        let s = session(day, run, None);
        let start = chrono::DateTime::parse_from_rfc3339(s[1]["eventTime"].as_str().unwrap())
            .unwrap()
            .to_utc();
        let mut records = vec![s[0].clone()];
        for c in 0..40u32 {
            let mut call = s[1].clone();
            let (at, denied) = match how {
                Refusals::Usual => (i64::from(c) * 60, c % 4 == 3),
                Refusals::Spread => (i64::from(c) * 60, [1, 4, 6].contains(&(c % 8))),
                Refusals::Burst if c >= 25 => (1800 + i64::from(c - 25) * 5, true),
                Refusals::Burst => (i64::from(c) * 60, false),
            };
            let at = start + chrono::Duration::seconds(at);
            call["eventTime"] = json!(at.format("%Y-%m-%dT%H:%M:%SZ").to_string());
            call["eventID"] = json!(format!("call-{day}-{run}-{c}"));
            if denied {
                call["errorCode"] = json!("AccessDenied");
                call["errorMessage"] = json!("not authorized to perform s3:PutObject");
            }
            records.push(call);
        }
        records
    })
}

#[test]
fn a_burst_of_access_denied_inside_a_usual_count_is_errors_by_its_rate() {
    let d = tempfile::tempdir().unwrap();
    let lake = refusing_lake(d.path(), Refusals::Burst);
    let burst: Vec<String> = (25..40).map(|c| format!("call-{DAYS}-0-{c}")).collect();
    // From the daily profiles (the default), then from the events alone: the same finding.
    for history in [
        pipewarden::profiles::History::Profiles,
        pipewarden::profiles::History::Scan,
    ] {
        let r = judge_with(&lake, history);
        let errors: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.detector == "errors")
            .collect();
        assert_eq!(errors.len(), 1, "{:#?}", r.findings);
        let f = errors[0];
        assert_eq!(f.pipeline_id.as_deref(), Some("deploy"));
        assert!(
            f.explanation.contains(
                "made 15 AccessDenied responses within five minutes (up to 2026-08-31 10:32:10 \
                 UTC; 15 in the"
            ),
            "{}",
            f.explanation
        );
        assert!(
            f.explanation
                .contains("busiest five minutes averaged 2.0 (sd 0.0)"),
            "{}",
            f.explanation
        );
        let mut ids = f.event_ids.clone();
        ids.sort();
        let mut want = burst.clone();
        want.sort();
        assert_eq!(ids, want);
        assert_eq!(f.count, 15);
        assert!(f.score >= 60, "{f:#?}");
    }

    // As many refusals spread over the run, or the usual ten: no errors finding.
    for how in [Refusals::Spread, Refusals::Usual] {
        let d = tempfile::tempdir().unwrap();
        let lake = refusing_lake(d.path(), how);
        let r = judge(&lake);
        assert!(
            r.findings.iter().all(|f| f.detector != "errors"),
            "{:#?}",
            r.findings
        );
    }
}
