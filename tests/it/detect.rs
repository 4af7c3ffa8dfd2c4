//! Detection: every labelled anomaly of the bundled history is found and ranks near the top;
//! quiet days stay quiet; suppressions mark without hiding; rules agree with Panther's test
//! cases where they cover the same behaviour.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use pipewarden::detect::suppress::Suppressions;
use pipewarden::detect::{DetectPlan, Report};

use crate::helpers::*;

/// The 12 days holding the anomalies (2026-09-25 .. 2026-10-05), judged against the 23 before.
fn anomaly_days() -> DetectPlan {
    DetectPlan {
        baseline_days: 23,
        window_days: 12,
        until: Some(day("2026-10-06")),
        ..Default::default()
    }
}

#[test]
fn every_labelled_anomaly_is_found_and_ranks_near_the_top() {
    let lake = sample_lake();
    // The anomalies sit in the last third of the history (2026-09-25 .. 2026-10-05).
    let r = detect(lake, &anomaly_days());
    let labels = sample_labels("labels.jsonl");
    let mut worst = 0;
    let mut found = BTreeMap::new();
    for l in &labels {
        let best = r
            .findings
            .iter()
            .filter(|f| shows(l, f))
            .map(|f| f.rank)
            .min();
        let rank = best.unwrap_or_else(|| {
            panic!(
                "label {} ({}) not found in {} findings",
                l.id,
                l.kind,
                r.findings.len()
            )
        });
        found.insert(l.kind.clone(), rank);
        worst = worst.max(rank);
    }
    let k = labels.len();
    let true_in_top = r
        .findings
        .iter()
        .take(k)
        .filter(|f| labels.iter().any(|l| shows(l, f)))
        .count();
    let noise = r
        .findings
        .iter()
        .filter(|f| !labels.iter().any(|l| shows(l, f)))
        .count();
    eprintln!(
        "detect on sample-logs: {} findings, precision@{k} = {:.2}, worst label rank {worst}, {noise} not matching a label; best rank per label: {found:?}",
        r.findings.len(),
        true_in_top as f64 / k as f64,
    );
    assert!(true_in_top as f64 / k as f64 >= 0.9);
    // Every label is found above every finding that matches none.
    let first_unlabelled = r
        .findings
        .iter()
        .filter(|f| !labels.iter().any(|l| shows(l, f)))
        .map(|f| f.rank)
        .min()
        .unwrap_or(usize::MAX);
    assert!(
        worst < first_unlabelled,
        "worst label rank {worst}, first unlabelled finding at {first_unlabelled}: {found:?}"
    );
    assert!(noise <= 3, "{noise} findings match no label");
    // Every finding explains itself and carries its evidence.
    for f in &r.findings {
        assert!(!f.event_ids.is_empty() || !f.run_ids.is_empty(), "{f:?}");
        assert!(f.mitre.id.starts_with('T'), "{f:?}");
        assert!(f.explanation.len() > 20, "{f:?}");
        assert!(f.id.starts_with("pw-"), "{f:?}");
    }
    // Incidents: the findings of one run are one incident, scored above each of them, and
    // every incident's findings are in the report.
    assert!(!r.incidents.is_empty());
    let by_id = |id: &String| r.findings.iter().find(|f| &f.id == id).unwrap();
    let one_run = r
        .incidents
        .iter()
        .find(|i| {
            i.detectors.iter().any(|d| d == "builds:actor")
                && i.detectors.iter().any(|d| d == "checks_bypassed")
        })
        .unwrap_or_else(|| panic!("{:#?}", r.incidents));
    assert!(one_run.why.contains("run "), "{}", one_run.why);
    for i in &r.incidents {
        assert!(i.finding_ids.len() >= 2);
        let top = i
            .finding_ids
            .iter()
            .map(|id| by_id(id).score)
            .max()
            .unwrap();
        assert!(i.score >= top, "{i:?}");
    }
    eprintln!(
        "incidents: {}; one run: {} findings, score {} ({})",
        r.incidents.len(),
        one_run.finding_ids.len(),
        one_run.score,
        one_run.detectors.join(", ")
    );
    // Deterministic: the same run gives the same ranking.
    let again = detect(lake, &anomaly_days());
    let ids = |r: &Report| r.findings.iter().map(|f| f.id.clone()).collect::<Vec<_>>();
    assert_eq!(ids(&r), ids(&again));
    let inc = |r: &Report| r.incidents.iter().map(|i| i.id.clone()).collect::<Vec<_>>();
    assert_eq!(inc(&r), inc(&again));
}

#[test]
fn quiet_days_stay_quiet_and_suppressions_mark_without_hiding() {
    let lake = sample_lake();
    let d = tempfile::tempdir().unwrap();
    let f = d.path().join("suppressions.toml");
    std::fs::write(
        &f,
        r#"
[[suppress]]
detector = "long_term_key_use"
pipeline = "jenkins:*"
expires = "2099-12-31"
reason = "legacy Jenkins moves to OIDC in Q1 (TICKET-42)"

[[suppress]]
detector = "root_activity"
expires = "2020-01-01"
reason = "an old exception"
"#,
    )
    .unwrap();
    let sup = Suppressions::load(&f).unwrap();
    // A week before any anomaly, judged against the 16 days before it.
    let quiet = detect(
        lake,
        &DetectPlan {
            baseline_days: 16,
            window_days: 7,
            until: Some(day("2026-09-24")),
            suppressions: sup.clone(),
            ..Default::default()
        },
    );
    let r = &quiet;
    let open: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.suppressed.is_none())
        .collect();
    assert!(open.is_empty(), "quiet week: {open:#?}");
    let jenkins = r
        .findings
        .iter()
        .find(|f| f.detector == "long_term_key_use")
        .expect("the suppressed finding is kept");
    assert!(
        jenkins
            .suppressed
            .as_ref()
            .unwrap()
            .reason
            .contains("TICKET-42")
    );
    // An expired suppression does not apply, and says so.
    let r = detect(
        lake,
        &DetectPlan {
            suppressions: sup,
            ..anomaly_days()
        },
    );
    assert!(
        r.findings
            .iter()
            .any(|f| f.detector == "root_activity" && f.suppressed.is_none())
    );
    assert!(
        r.expired_suppressions
            .iter()
            .any(|w| w.contains("root_activity") && w.contains("2020-01-01")),
        "{:?}",
        r.expired_suppressions
    );
    // Every finding kind (rules, baseline findings, suppressed ones) and every incident (an
    // Incident Finding) is valid OCSF of every version pipewarden writes, validated strictly.
    use pipewarden::report::formats::{OcsfVersion, ocsf};
    for v in OcsfVersion::ALL {
        for (name, rep) in [("quiet", &quiet), ("anomalies", &r)] {
            let p = d.path().join(format!("{name}-{}.ndjson", v.as_str()));
            std::fs::write(&p, ocsf(rep, v)).unwrap();
            assert_eq!(
                assert_ocsf_strict(&p, v.as_str()),
                rep.findings.len() + rep.incidents.len()
            );
        }
    }
}

#[test]
fn thin_history_is_reported_not_scored() {
    let lake = sample_lake();
    let r = detect(
        lake,
        &DetectPlan {
            baseline_days: 2,
            window_days: 1,
            until: Some(day("2026-09-04")),
            ..Default::default()
        },
    );
    assert!(
        r.findings
            .iter()
            .all(|f| f.kind == pipewarden::detect::Kind::Rule),
        "{:#?}",
        r.findings
    );
    assert!(
        r.insufficient_history
            .iter()
            .any(|t| t.pipeline_id == "github:acme/web:deploy.yml" && t.units < 8),
        "{:?}",
        r.insufficient_history
    );
}

#[test]
fn detect_cli_exit_codes_and_json() {
    let lake = sample_lake();
    let d = tempfile::tempdir().unwrap();
    let json = d.path().join("findings.json");
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_pipewarden"))
            .args(["detect", "--lake", lake])
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&[
        "--until",
        "2026-10-06",
        "--window",
        "12d",
        "--baseline",
        "23d",
        "--json",
        json.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("cloudtrail_tampering"), "{text}");
    let v: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(v["schema"], "pipewarden.findings/v1");
    assert!(v["findings"].as_array().unwrap().len() >= 13);
    // Nothing at or above critical in a quiet week.
    let out = run(&[
        "--until",
        "2026-09-24",
        "--window",
        "7d",
        "--baseline",
        "16d",
        "--fail-on",
        "critical",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    // Bad flags are errors (exit 2) that name the flag.
    let out = run(&["--window", "soon"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--window"));
}

/// Panther rules that cover the same behaviour as a pipewarden rule.
const PANTHER: &[(&str, &[&str])] = &[
    (
        "cloudtrail_tampering",
        &[
            "AWS.CloudTrail.Stopped",
            "AWS.CloudTrail.EventSelectorsDisabled",
        ],
    ),
    (
        "console_login_without_mfa",
        &["AWS.Console.LoginWithoutMFA"],
    ),
    ("root_activity", &["AWS.Root.Activity"]),
    (
        "build_project_public",
        &["AWS.CloudTrail.CodebuildProjectMadePublic"],
    ),
    (
        "iam_admin_granted",
        &[
            "AWS.IAM.AttachAdminRolePolicy",
            "AWS.IAM.AttachAdminUserPolicy",
        ],
    ),
    ("iam_trust_opened", &["AWS.IAM.BackdoorRole"]),
    (
        "iam_credentials_for_other_user",
        &[
            "AWS.User.Login.Profile.Modified",
            "AWS.CloudTrail.LoginProfileCreatedOrModified",
        ],
    ),
    (
        "defenses_impaired",
        &[
            "AWS.VPCFlow.LogsDeleted",
            "AWS.CloudTrail.DNSLogsDeleted",
            "AWS.ConfigService.DisabledDeleted",
        ],
    ),
    (
        "defense_evasion_attempted",
        &["AWS.CloudTrail.AttemptToLeaveOrg"],
    ),
    (
        "resource_shared_externally",
        &[
            "AWS.CloudTrail.AMIModifiedForPublicAccess",
            "AWS.CloudTrail.SnapshotMadePublic",
            "AWS.RDS.SnapshotShared",
        ],
    ),
];

#[test]
fn rules_agree_with_panther_test_cases() {
    let src = external().join("panther-analysis/labelled_cases.jsonl");
    let d = tempfile::tempdir().unwrap();
    let mut lines = String::new();
    // case id → (our rule, expected)
    let mut cases: BTreeMap<String, (&str, bool, String)> = BTreeMap::new();
    let mut verdicts: BTreeMap<(String, String), HashSet<bool>> = BTreeMap::new();
    for (n, l) in std::fs::read_to_string(src).unwrap().lines().enumerate() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let rule_id = v["rule_id"].as_str().unwrap();
        let Some((ours, _)) = PANTHER.iter().find(|(_, ps)| ps.contains(&rule_id)) else {
            continue;
        };
        let mut log = v["log"].clone();
        let key = log.to_string();
        verdicts
            .entry((rule_id.to_string(), key))
            .or_default()
            .insert(v["expected"].as_bool().unwrap());
        let id = format!("case-{n}");
        log["eventID"] = serde_json::json!(id);
        if log.get("eventTime").is_none() {
            log["eventTime"] = serde_json::json!("2021-01-01T00:00:00Z");
        }
        lines.push_str(&log.to_string());
        lines.push('\n');
        cases.insert(
            id,
            (
                ours,
                v["expected"].as_bool().unwrap(),
                format!("{rule_id}: {}", v["test_name"]),
            ),
        );
        // Remember the log for the conflict check below.
        cases
            .get_mut(&format!("case-{n}"))
            .unwrap()
            .2
            .push_str(&format!(" |{}", v["log"]));
    }
    std::fs::write(d.path().join("cases.jsonl"), lines).unwrap();
    let lake = d.path().join("lake").display().to_string();
    ingest(&plan(d.path().display().to_string(), &lake));
    let r = detect(
        &lake,
        &DetectPlan {
            baseline_days: 1,
            window_days: 30_000,
            until: Some(day("2090-01-01")),
            min_score: 0,
            ..Default::default()
        },
    );
    let mut fired: HashSet<(String, String)> = HashSet::new();
    for f in &r.findings {
        for e in &f.event_ids {
            fired.insert((f.detector.clone(), e.clone()));
        }
    }
    let (mut checked, mut undecidable) = (0, 0);
    for (id, (ours, expected, what)) in &cases {
        let (name, log) = what.split_once(" |").unwrap();
        let rule_id = name.split(':').next().unwrap();
        // The same log with both verdicts: the verdict hangs on Panther's mocks, not the log.
        if verdicts[&(rule_id.to_string(), log.to_string())].len() > 1 {
            undecidable += 1;
            continue;
        }
        let got = fired.contains(&(ours.to_string(), id.clone()));
        assert_eq!(got, *expected, "{ours} vs {name}");
        checked += 1;
    }
    eprintln!("panther agreement: {checked} cases agree, {undecidable} decided by mocks skipped");
    assert!(checked >= 20, "{checked}");
    assert!(undecidable <= 2, "{undecidable}");
}

#[test]
fn a_pipeline_outside_its_allowed_environments_is_a_finding() {
    let lake = sample_lake();
    let cfg = pipewarden::attribute::config::Config::parse(
        r#"
[[pipelines]]
id = "mobile-release"
repos = ["acme/mobile-backend"]
allowed_environments = ["dev"]
"#,
        "pipewarden.toml",
    )
    .unwrap();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let r = rt.block_on(async {
        let lake = local_lake(lake);
        let ctx = pipewarden::engine::session_with(&lake, &cfg, &Default::default())
            .await
            .unwrap();
        pipewarden::detect::detect(&ctx, &anomaly_days())
            .await
            .unwrap()
    });
    let l05 = sample_labels("labels.jsonl")
        .into_iter()
        .find(|l| l.kind == "dev_touches_prod")
        .unwrap();
    let f = r
        .findings
        .iter()
        .find(|f| f.detector == "environment_not_allowed")
        .expect("a finding");
    assert_eq!(f.pipeline_id.as_deref(), Some("mobile-release"));
    assert_eq!(f.value, "prod");
    assert!(f.score >= 90 && shows(&l05, f), "{f:?}");
}

/// Regression (hardening, item 3): the default `--until` was the midnight after the latest
/// event, so one record dated 2099 made detect judge 2099 and report nothing, and one dated 9999
/// stopped every later detect. The window now ends at the last event before the trusted end
/// (the newest delivery's key date, or the clock, plus skew), and the forged events are the
/// `future_event_time` finding, with their objects.
#[test]
fn a_forged_event_time_cannot_move_the_window() {
    let d = tempfile::tempdir().unwrap();
    let lake = d.path().join("lake").display().to_string();
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs/cloudtrail");
    ingest(&plan(sample.display().to_string(), &lake));
    let detect = || {
        let json = d.path().join("f.json");
        let o = std::process::Command::new(env!("CARGO_BIN_EXE_pipewarden"))
            .args(["detect", "--lake", &lake, "--window", "12d", "--json"])
            .arg(&json)
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(1),
            "{}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        let future: Vec<serde_json::Value> = v["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["detector"] == "future_event_time")
            .cloned()
            .collect();
        (v["window_end"].as_str().unwrap().to_string(), future)
    };
    // Quiet: the bundled trail has no event after its deliveries.
    let (end, future) = detect();
    assert_eq!(end, "2026-10-06T00:00:00Z");
    assert!(future.is_empty(), "{future:?}");

    let record = |id: &str, t: &str| {
        serde_json::json!({"eventVersion": "1.08", "eventTime": t, "eventID": id,
            "eventName": "GetCallerIdentity", "eventSource": "sts.amazonaws.com",
            "awsRegion": "us-east-1", "recipientAccountId": "111122223333",
            "userIdentity": {"type": "IAMUser", "accountId": "111122223333",
                "arn": "arn:aws:iam::111122223333:user/x", "userName": "x"}})
    };
    let forged = d.path().join("forged");
    let day = forged.join("AWSLogs/111122223333/CloudTrail/us-east-1/2026/10/05");
    std::fs::create_dir_all(&day).unwrap();
    let recs = vec![
        record("f-2099", "2099-01-01T00:00:00Z"),
        record("f-9999", "9999-12-31T23:59:59Z"),
    ];
    std::fs::write(
        day.join("111122223333_CloudTrail_us-east-1_20261005T1200Z_x.json.gz"),
        gz(&serde_json::to_vec(&serde_json::json!({ "Records": recs })).unwrap()),
    )
    .unwrap();
    ingest(&plan(forged.display().to_string(), &lake));
    let (end, future) = detect();
    assert_eq!(
        end, "2026-10-06T00:00:00Z",
        "the window stays where the trail is"
    );
    assert_eq!(future.len(), 1);
    assert_eq!(future[0]["count"], 2);
    assert_eq!(future[0]["severity"], "high");
    let ids: Vec<&str> = future[0]["event_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(ids, ["f-2099", "f-9999"]);
    assert!(
        future[0]["explanation"]
            .as_str()
            .unwrap()
            .contains("_x.json.gz")
    );

    // An export outside the delivery layout has no key date: the clock bounds time alone.
    let flat = d.path().join("flat");
    std::fs::create_dir_all(&flat).unwrap();
    std::fs::write(
        flat.join("export.json"),
        serde_json::to_vec(&vec![record("f-2100", "2100-06-01T00:00:00Z")]).unwrap(),
    )
    .unwrap();
    ingest(&plan(flat.display().to_string(), &lake));
    let (end, future) = detect();
    assert_eq!(end, "2026-10-06T00:00:00Z");
    assert_eq!(future[0]["count"], 3);
}

/// Issue 21, item 3: memory is bounded. An aggregation of 1.3 million groups (about 400 MiB
/// resident without a limit) runs under 64 MiB by spilling (its plan's `spill_count` is above 0)
/// and gives the same answer; under 8 MiB it stops with an error that names the limit and the
/// largest consumers; detect under 64 MiB gives the same findings and incidents; a limit that is
/// not a size is a usage error naming the flag. (Subprocesses: the limit is the process's.)
#[test]
fn a_small_memory_limit_spills_and_changes_no_answer() {
    let lake = sample_lake();
    let bin = || std::process::Command::new(env!("CARGO_BIN_EXE_pipewarden"));
    let sql = "SELECT count(*) AS groups, sum(n) AS rows, min(k) AS first, max(k) AS last \
               FROM (SELECT a.event_id || '/' || b.event_name AS k, count(*) AS n FROM cloudtrail a \
               CROSS JOIN (SELECT DISTINCT event_name FROM cloudtrail) b GROUP BY 1)";
    let query = |limit: &str, sql: &str| {
        bin()
            .args(["query", "--lake", lake, "--memory-limit", limit])
            .args(["--format", "json", sql])
            .output()
            .unwrap()
    };
    let ok = |o: std::process::Output| {
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        String::from_utf8(o.stdout).unwrap()
    };
    let free = ok(query("none", sql));
    assert!(free.contains("\"groups\":"), "{free}");
    assert_eq!(ok(query("64MiB", sql)), free);
    let plan = ok(query("64MiB", &format!("EXPLAIN ANALYZE {sql}")));
    let spills: u64 = plan
        .split("spill_count=")
        .skip(1)
        .filter_map(|s| {
            s.split(|c: char| !c.is_ascii_digit())
                .next()
                .and_then(|n| n.parse::<u64>().ok())
        })
        .sum();
    assert!(spills > 0, "nothing spilled under 64MiB: {plan}");
    // Under 8 MiB it fails with the error most runs; when the operators' timing lets it
    // through, its answer is still the same.
    let o = query("8MiB", sql);
    if o.status.success() {
        assert_eq!(String::from_utf8_lossy(&o.stdout), free);
    } else {
        let e = String::from_utf8_lossy(&o.stderr);
        assert!(
            e.contains("Resources exhausted")
                && e.contains("consumed")
                && e.contains("memory limit of 8 MiB"),
            "{e}"
        );
    }
    // detect: the same findings and incidents under a small limit.
    let d = tempfile::tempdir().unwrap();
    let findings = |limit: &str| {
        let json = d.path().join(format!("{limit}.json"));
        let o = bin()
            .args(["detect", "--lake", lake, "--memory-limit", limit])
            .args([
                "--until",
                "2026-10-06",
                "--window",
                "12d",
                "--baseline",
                "23d",
            ])
            .args(["--json", json.to_str().unwrap()])
            .output()
            .unwrap();
        assert_eq!(
            o.status.code(),
            Some(1),
            "{limit}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
        (v["findings"].clone(), v["incidents"].clone())
    };
    assert_eq!(findings("64MiB"), findings("none"));
    let o = bin()
        .args([
            "query",
            "--lake",
            lake,
            "--memory-limit",
            "lots",
            "SELECT 1",
        ])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    let e = String::from_utf8_lossy(&o.stderr);
    assert!(
        e.contains("--memory-limit") && e.contains("not a size"),
        "{e}"
    );
}
