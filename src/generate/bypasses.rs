//! SEC11-BP07 bypasses and untrusted input in the generated history: the labelled cases
//! ([`inject`]), the normal cases that look like them and must stay quiet ([`quiet`]), and the
//! pipeline definitions the history starts with ([`history`]), so that later changes can be
//! compared with them.

use serde_json::{Value, json};

use super::anomalies::{Anomaly, fill, find, human};
use super::builds::{BuildRecord, Check, github_audit};
use super::org::{Env, Pipeline};
use super::trail::{Call, Who, iso, record};
use super::{Day, Label, RunTweak, simulate_run};

const ADMIN: &str = "AWSReservedSSO_AdministratorAccess_5e0c1b2a3d4f6789";
const DEVELOPER: &str = "AWSReservedSSO_Developer_0a1b2c3d4e5f6789";
const PAYMENTS_RELEASE: &str = "codepipeline:111111111111:us-east-1:payments-release";
const DATA_PLATFORM: &str = "codepipeline:111111111111:eu-west-1:data-platform";

/// A CodePipeline action: name, category, provider, CodeBuild project.
fn action(name: &str, category: &str, provider: &str, project: Option<&str>) -> Value {
    let mut a = json!({"name": name, "actionTypeId": {"category": category, "owner": "AWS", "provider": provider, "version": "1"},
        "runOrder": 1, "inputArtifacts": [], "outputArtifacts": []});
    if let Some(p) = project {
        a["configuration"] = json!({"ProjectName": p});
    }
    a
}

/// A pipeline definition as CreatePipeline / UpdatePipeline carry it.
fn definition(name: &str, region: &str, version: u32, stages: &[(&str, Vec<Value>)]) -> Value {
    let tooling = Env::Tooling.account();
    json!({
        "name": name,
        "roleArn": format!("arn:aws:iam::{tooling}:role/codepipeline-{name}"),
        "artifactStore": {"type": "S3", "location": format!("codepipeline-{region}-{tooling}")},
        "stages": stages.iter().map(|(s, actions)| json!({"name": s, "actions": actions})).collect::<Vec<_>>(),
        "version": version,
        "pipelineType": "V2",
    })
}

/// data-platform as its team set it up: a unit test and a security scan, then an approval.
fn data_platform(version: u32, with_checks: bool) -> Value {
    let mut stages = vec![
        (
            "Source",
            vec![action("Source", "Source", "CodeStarSourceConnection", None)],
        ),
        (
            "Build",
            vec![action(
                "Build",
                "Build",
                "CodeBuild",
                Some("data-platform-build"),
            )],
        ),
    ];
    if with_checks {
        stages.push((
            "Test",
            vec![
                action(
                    "UnitTests",
                    "Test",
                    "CodeBuild",
                    Some("data-platform-tests"),
                ),
                action(
                    "SecurityScan",
                    "Build",
                    "CodeBuild",
                    Some("data-platform-security-scan"),
                ),
            ],
        ));
        stages.push((
            "Approval",
            vec![action("Approve", "Approval", "Manual", None)],
        ));
    }
    stages.push((
        "Deploy",
        vec![action("Deploy", "Deploy", "CloudFormation", None)],
    ));
    definition("data-platform", "eu-west-1", version, &stages)
}

/// payments-release as created (build, approval, deploy), or without its approval.
pub(super) fn payments_release(version: u32, with_approval: bool) -> Value {
    let mut d = definition(
        "payments-release",
        "us-east-1",
        version,
        &[
            (
                "Source",
                vec![action("Source", "Source", "CodeStarSourceConnection", None)],
            ),
            (
                "Build",
                vec![action(
                    "Build",
                    "Build",
                    "CodeBuild",
                    Some("payments-build"),
                )],
            ),
            (
                "Approval",
                vec![action("Approval", "Approval", "Manual", None)],
            ),
            (
                "Deploy",
                vec![action("Deploy", "Deploy", "CloudFormation", None)],
            ),
        ],
    );
    if !with_approval && let Some(stages) = d["stages"].as_array_mut() {
        stages.retain(|s| s["name"] != "Approval");
    }
    d
}

/// payments-build as created: its buildspec runs the tests.
pub(super) fn payments_build(buildspec: &str, role: &str) -> Value {
    let tooling = Env::Tooling.account();
    json!({"name": "payments-build", "source": {"type": "CODEPIPELINE", "buildspec": buildspec},
        "artifacts": {"type": "CODEPIPELINE"},
        "environment": {"type": "LINUX_CONTAINER", "image": "aws/codebuild/standard:7.0", "computeType": "BUILD_GENERAL1_SMALL", "privilegedMode": false},
        "serviceRole": format!("arn:aws:iam::{tooling}:role/{role}"), "timeoutInMinutes": 60})
}

/// One call by a person's SSO session (see [`human`]); returns the event id.
#[allow(clippy::too_many_arguments)]
pub(super) fn call(
    day: &mut Day,
    who: &Who,
    ip: &str,
    ua: &str,
    t: i64,
    (source, name, region, account): (&str, &str, &str, &str),
    request: Value,
    response: Value,
) -> String {
    let ev = record(
        &mut day.rng,
        Call {
            time: t,
            who,
            source,
            name,
            region,
            account,
            ip,
            ua,
            request,
            response,
            read_only: false,
            error: None,
        },
    );
    let id = ev.id.clone();
    day.events.push(ev);
    id
}

/// A GitHub OIDC trust policy with these `sub` patterns (StringLike), as IAM's request carries it.
fn oidc_trust(account: &str, subs: &[&str]) -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Principal": {"Federated": format!("arn:aws:iam::{account}:oidc-provider/token.actions.githubusercontent.com")},
        "Action": "sts:AssumeRoleWithWebIdentity",
        "Condition": {"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
                      "StringLike": {"token.actions.githubusercontent.com:sub": subs}}}]})
    .to_string()
}

/// The definitions the history starts with (day 0): created by the platform team.
pub fn history(day: &mut Day) {
    let tooling = Env::Tooling.account().to_string();
    let t = day.midnight + 9 * 3600 + 12 * 60;
    let (who, ip, ua) = human(day, "dave", &tooling, ADMIN, t);
    for (k, (region, def)) in [
        ("us-east-1", payments_release(1, true)),
        ("eu-west-1", data_platform(1, true)),
    ]
    .into_iter()
    .enumerate()
    {
        let resp = json!({"pipeline": def});
        call(
            day,
            &who,
            &ip,
            &ua,
            t + 60 + k as i64 * 300,
            (
                "codepipeline.amazonaws.com",
                "CreatePipeline",
                region,
                &tooling,
            ),
            json!({"pipeline": def}),
            resp,
        );
    }
    let project = payments_build(
        "version: 0.2\nphases:\n  build:\n    commands:\n      - make test\n      - make security-scan\n      - make package\n",
        "codebuild-payments-build",
    );
    let mut resp = project.clone();
    resp["arn"] = json!(format!(
        "arn:aws:codebuild:us-east-1:{tooling}:project/payments-build"
    ));
    call(
        day,
        &who,
        &ip,
        &ua,
        t + 900,
        (
            "codebuild.amazonaws.com",
            "CreateProject",
            "us-east-1",
            &tooling,
        ),
        project,
        json!({"project": resp}),
    );
}

/// Injects one of [`Anomaly::BYPASSES`] into the day, filling its label.
pub fn inject(day: &mut Day, kind: Anomaly, ps: &[Pipeline], label: &mut Label) {
    let web = find(ps, "github:acme/web:deploy.yml");
    let api = find(ps, "github:acme/api:deploy.yml");
    let midnight = day.midnight;
    let at = |h: i64, m: i64| midnight + h * 3600 + m * 60;
    let tooling = Env::Tooling.account().to_string();
    let prod = Env::Prod.account().to_string();
    match kind {
        Anomaly::ChecksBypassed => {
            let checks = vec![
                Check {
                    name: "test (3.11)".into(),
                    conclusion: "success",
                    attempt: 1,
                },
                Check {
                    name: "test (3.12)".into(),
                    conclusion: "success",
                    attempt: 1,
                },
                Check {
                    name: "security-scan".into(),
                    conclusion: "skipped",
                    attempt: 1,
                },
            ];
            let (run, _, ids) = simulate_run(
                day,
                web,
                at(12, 25),
                &RunTweak {
                    env: Some(Env::Prod),
                    checks: Some(checks),
                    trigger: Some(("push", "carol".into(), "main".into(), json!({}))),
                    ..Default::default()
                },
            );
            fill(
                label,
                web,
                &run,
                ids,
                "prod",
                "acme/web deployed to prod with its security-scan job skipped; every earlier deploy had it pass",
            );
        }
        Anomaly::BuildOverride => {
            let t = at(15, 20);
            let (who, ip, ua) = human(day, "carol", &tooling, DEVELOPER, t);
            let build = day.rng.uuid();
            let id = call(
                day,
                &who,
                &ip,
                &ua,
                t + 45,
                (
                    "codebuild.amazonaws.com",
                    "StartBuild",
                    "us-east-1",
                    &tooling,
                ),
                json!({"projectName": "payments-build",
                    "buildspecOverride": "version: 0.2\nphases:\n  build:\n    commands:\n      - ./build.sh --skip-tests\n      - aws s3 cp dist/ s3://payments-artifacts-111111111111/release/ --recursive\n",
                    "privilegedModeOverride": true,
                    "environmentVariablesOverride": [{"name": "SKIP_SCAN", "value": "1", "type": "PLAINTEXT"}]}),
                json!({"build": {"id": format!("payments-build:{build}"), "arn": format!("arn:aws:codebuild:us-east-1:{tooling}:build/payments-build:{build}"),
                    "buildStatus": "IN_PROGRESS", "projectName": "payments-build", "initiator": format!("{DEVELOPER}/carol@acme.example")}}),
            );
            label.event_ids.push(id);
            label.pipeline = "codebuild:111111111111:us-east-1:payments-build".into();
            label.env = "tooling".into();
            label.time = iso(t + 45);
            label.description = "developer carol started payments-build by hand with her own buildspec (tests skipped), privileged mode and SKIP_SCAN=1".into();
        }
        Anomaly::SelfApproval => {
            let t = at(16, 5);
            let (who, ip, ua) = human(day, "dave", &tooling, ADMIN, t);
            let execution = day.rng.uuid();
            let client_token = day.rng.uuid();
            let a = call(
                day,
                &who,
                &ip,
                &ua,
                t + 30,
                (
                    "codepipeline.amazonaws.com",
                    "StartPipelineExecution",
                    "us-east-1",
                    &tooling,
                ),
                json!({"name": "payments-release", "clientRequestToken": client_token}),
                json!({"pipelineExecutionId": execution}),
            );
            let token = day.rng.uuid();
            let b = call(
                day,
                &who,
                &ip,
                &ua,
                t + 30 + 22 * 60,
                (
                    "codepipeline.amazonaws.com",
                    "PutApprovalResult",
                    "us-east-1",
                    &tooling,
                ),
                json!({"pipelineName": "payments-release", "stageName": "Approval", "actionName": "Approval",
                    "result": {"summary": "ok", "status": "Approved"}, "token": token}),
                json!({"approvedAt": iso(t + 30 + 22 * 60)}),
            );
            label.event_ids.extend([a, b]);
            label.pipeline = PAYMENTS_RELEASE.into();
            label.env = "tooling".into();
            label.time = iso(t + 30 + 22 * 60);
            label.description = format!(
                "dave started payments-release execution {execution} and approved its Approval stage himself 22 minutes later"
            );
        }
        Anomaly::ChecksRemoved => {
            let t = at(11, 40);
            let (who, ip, ua) = human(day, "erin", &tooling, DEVELOPER, t);
            let def = data_platform(2, false);
            let id = call(
                day,
                &who,
                &ip,
                &ua,
                t + 90,
                (
                    "codepipeline.amazonaws.com",
                    "UpdatePipeline",
                    "eu-west-1",
                    &tooling,
                ),
                json!({"pipeline": def}),
                json!({"pipeline": def}),
            );
            label.event_ids.push(id);
            label.pipeline = DATA_PLATFORM.into();
            label.env = "tooling".into();
            label.time = iso(t + 90);
            label.description = "developer erin removed the Test stage (UnitTests, SecurityScan) and the Approve action from data-platform".into();
        }
        Anomaly::TransitionDisabled => {
            let t = at(17, 50);
            let (who, ip, ua) = human(day, "alice", &tooling, DEVELOPER, t);
            let id = call(
                day,
                &who,
                &ip,
                &ua,
                t + 40,
                (
                    "codepipeline.amazonaws.com",
                    "DisableStageTransition",
                    "us-east-1",
                    &tooling,
                ),
                json!({"pipelineName": "payments-release", "stageName": "Deploy", "transitionType": "Inbound",
                    "reason": "hold releases while I push the hotfix build"}),
                Value::Null,
            );
            label.event_ids.push(id);
            label.pipeline = PAYMENTS_RELEASE.into();
            label.env = "tooling".into();
            label.time = iso(t + 40);
            label.description =
                "alice disabled the inbound transition of payments-release's Deploy stage".into();
        }
        Anomaly::TrustBroadened => {
            let t = at(10, 35);
            let (who, ip, ua) = human(day, "dave", &prod, ADMIN, t);
            let id = call(
                day,
                &who,
                &ip,
                &ua,
                t + 50,
                (
                    "iam.amazonaws.com",
                    "UpdateAssumeRolePolicy",
                    "us-east-1",
                    &prod,
                ),
                json!({"roleName": api.role, "policyDocument": oidc_trust(&prod, &["repo:acme/*"])}),
                Value::Null,
            );
            label.event_ids.push(id);
            label.pipeline = api.id.into();
            label.env = "prod".into();
            label.time = iso(t + 50);
            label.description = format!(
                "dave changed the trust of {} in prod to accept any acme repository's workflow (repo:acme/*)",
                api.role
            );
        }
        Anomaly::ForkTargetRun => {
            let (run, _, ids) = simulate_run(
                day,
                api,
                at(21, 10),
                &RunTweak {
                    env: Some(Env::Staging),
                    trigger: Some((
                        "pull_request_target",
                        "mallory-x".into(),
                        "patch-1".into(),
                        json!({}),
                    )),
                    head_repo: Some("mallory-x/api".into()),
                    ..Default::default()
                },
            );
            fill(
                label,
                api,
                &run,
                ids,
                "staging",
                "a pull_request_target run of acme/api with code from the fork mallory-x/api assumed the deploy role and deployed to staging",
            );
        }
        Anomaly::ProtectionOverridden => {
            let t = at(18, 12);
            audit(
                day,
                label,
                github_audit(
                    t,
                    &format!("override/{t}"),
                    "protected_branch.policy_override",
                    "bob",
                    web.repo,
                    json!({"branch": "refs/heads/main", "name": "main", "overridden_code": "required_status_checks",
                    "reasons": [{"code": "required_status_checks", "message": "3 of 3 required status checks are expected."}]}),
                ),
            );
            label.pipeline = web.id.into();
            label.time = iso(t);
            label.description = "bob pushed to acme/web main past its branch protection (3 required status checks expected)".into();
        }
        Anomaly::RulesetDisabled => {
            let t = at(9, 48);
            audit(
                day,
                label,
                github_audit(
                    t,
                    &format!("ruleset/{t}"),
                    "repository_ruleset.update",
                    "erin",
                    api.repo,
                    json!({"ruleset_id": 112233, "ruleset_name": "main-protection", "ruleset_source_type": "Repository",
                    "ruleset_enforcement": "disabled", "ruleset_old_enforcement": "active"}),
                ),
            );
            label.pipeline = api.id.into();
            label.time = iso(t);
            label.description =
                "erin disabled the main-protection ruleset of acme/api (active to disabled)".into();
        }
        Anomaly::EnvironmentUnprotected => {
            let t = at(20, 3);
            audit(
                day,
                label,
                github_audit(
                    t,
                    &format!("env/{t}"),
                    "environment.remove_protection_rule",
                    "carol",
                    web.repo,
                    json!({"environment_name": "prod", "name": "prod"}),
                ),
            );
            label.pipeline = web.id.into();
            label.env = "prod".into();
            label.time = iso(t);
            label.description =
                "carol removed the protection rule of acme/web's prod environment".into();
        }
        Anomaly::RunDeleted => {
            // A late deploy, whose run its actor then deletes.
            let actor = "bob".to_string();
            let (run, _, ids) = simulate_run(
                day,
                web,
                at(22, 5),
                &RunTweak {
                    env: Some(Env::Prod),
                    trigger: Some(("push", actor.clone(), "main".into(), json!({}))),
                    ..Default::default()
                },
            );
            label.event_ids.extend(ids);
            label.env = "prod".into();
            let run_id = run.id.clone();
            let t = at(23, 20);
            audit(
                day,
                label,
                github_audit(
                    t,
                    &format!("delete/{run_id}"),
                    "workflows.delete_workflow_run",
                    &actor,
                    web.repo,
                    json!({"workflow_run_id": run_id.parse::<u64>().unwrap_or(0), "name": "deploy"}),
                ),
            );
            label.run_ids.push(run_id.clone());
            label.pipeline = web.id.into();
            label.time = iso(t);
            label.description = format!(
                "{actor} deployed acme/web to prod at 22:05 UTC, then deleted the workflow run {run_id} and its logs"
            );
        }
        Anomaly::ApprovalRuleDeleted => {
            let t = at(14, 27);
            let id = 90_000 + day.day_index * 10 + 1;
            day.builds.push(BuildRecord {
                system: "gitlab-audit",
                time: t,
                body: json!({"id": id, "author_id": 41, "entity_id": 40_012_345, "entity_type": "Project",
                    "entity_path": "platform/billing", "target_id": 77, "target_type": "ApprovalProjectRule",
                    "target_details": "Security", "created_at": format!("{}.000Z", iso(t).trim_end_matches('Z')),
                    "event_type": "approval_rule_deleted",
                    "details": {"author_name": "grace", "author_class": "User", "custom_message": "Deleted approval rule Security",
                        "target_type": "ApprovalProjectRule", "target_details": "Security"}}),
            });
            label.event_ids.push(id.to_string());
            label.pipeline = "gitlab:platform/billing".into();
            label.time = iso(t);
            label.description =
                "grace deleted the Security approval rule of platform/billing".into();
        }
        _ => {}
    }
}

/// Records an audit event and labels it.
fn audit(day: &mut Day, label: &mut Label, r: BuildRecord) {
    if let Some(id) = r.body["_document_id"].as_str() {
        label.event_ids.push(id.to_string());
    }
    day.builds.push(r);
}

/// The quiet day: the last Tuesday or Thursday (release days) at least three days before the
/// first anomaly, if the history has one.
pub fn quiet_day(start: chrono::NaiveDate, days: u32) -> Option<u32> {
    use chrono::Datelike;
    let first = days - days / 3;
    (0..first.saturating_sub(2)).rev().find(|d| {
        let w = (start + chrono::Days::new(*d as u64))
            .weekday()
            .num_days_from_monday();
        w == 1 || w == 3
    })
}

/// Normal cases that look like the bypasses and must give no finding; each is returned as a
/// label of kind `quiet:<what>` (written to `quiet.jsonl`).
pub fn quiet(day: &mut Day, ps: &[Pipeline]) -> Vec<Label> {
    let web = find(ps, "github:acme/web:deploy.yml");
    let api = find(ps, "github:acme/api:deploy.yml");
    let mobile = find(ps, "github:acme/mobile-backend:release.yml");
    let release = find(ps, PAYMENTS_RELEASE);
    let midnight = day.midnight;
    let at = |h: i64, m: i64| midnight + h * 3600 + m * 60;
    let tooling = Env::Tooling.account().to_string();
    let dev = Env::Dev.account().to_string();
    let mut out = vec![];
    let mut quiet = |kind: &'static str,
                     pipeline: &str,
                     time: i64,
                     env: &str,
                     events: Vec<String>,
                     runs: Vec<String>,
                     description: &str| {
        out.push(Label {
            id: format!("Q{:02}", out.len() + 1),
            kind,
            pipeline: pipeline.into(),
            time: iso(time),
            env: env.into(),
            event_ids: events,
            run_ids: runs,
            description: description.into(),
        })
    };
    let check = |name: &str, conclusion: &'static str, attempt: u32| Check {
        name: name.into(),
        conclusion,
        attempt,
    };

    // A test fails, and the deploy never runs.
    let (run, _, _) = simulate_run(
        day,
        web,
        at(10, 5),
        &RunTweak {
            checks: Some(vec![
                check("test (3.11)", "success", 1),
                check("test (3.12)", "failure", 1),
                check("security-scan", "success", 1),
            ]),
            trigger: Some(("push", "bob".into(), "main".into(), json!({}))),
            no_deploy: true,
            ..Default::default()
        },
    );
    quiet(
        "quiet:failed_test_no_deploy",
        web.id,
        run.start,
        "none",
        vec![],
        vec![run.id.clone()],
        "test (3.12) failed and the deploy job was skipped",
    );

    // A test fails, its re-run passes, then the run deploys.
    let (run, _, ids) = simulate_run(
        day,
        api,
        at(11, 35),
        &RunTweak {
            env: Some(Env::Prod),
            checks: Some(vec![
                check("test (3.11)", "success", 1),
                check("test (3.12)", "failure", 1),
                check("security-scan", "success", 1),
                check("test (3.12)", "success", 2),
            ]),
            trigger: Some(("push", "erin".into(), "main".into(), json!({}))),
            ..Default::default()
        },
    );
    quiet(
        "quiet:rerun_passes_then_deploys",
        api.id,
        run.start,
        "prod",
        ids,
        vec![run.id.clone()],
        "test (3.12) failed, passed on its re-run (attempt 2), and the run deployed to prod",
    );

    // A pipeline that never had a scan deploys as it always does.
    let (run, _, ids) = simulate_run(
        day,
        mobile,
        at(13, 10),
        &RunTweak {
            trigger: Some(("push", "carol".into(), "main".into(), json!({}))),
            ..Default::default()
        },
    );
    quiet(
        "quiet:never_had_a_scan",
        mobile.id,
        run.start,
        "dev",
        ids,
        vec![run.id.clone()],
        "mobile-backend has never run a security scan: nothing can be required of it that it never had",
    );

    // The pipeline's own service overrides a build's buildspec and variables.
    let (run, session, mut ids) = simulate_run(day, release, at(15, 35), &RunTweak::default());
    if let Some(s) = session {
        let svc = "codepipeline.amazonaws.com";
        ids.push(call(
            day,
            &Who::Role(s),
            svc,
            svc,
            run.start + 40,
            ("codebuild.amazonaws.com", "StartBuild", "us-east-1", &tooling),
            json!({"projectName": "payments-build", "buildspecOverride": "buildspec-release.yml",
                "environmentVariablesOverride": [{"name": "RELEASE_ID", "value": run.id, "type": "PLAINTEXT"}]}),
            json!({"build": {"id": format!("payments-build:{}", run.id), "buildStatus": "IN_PROGRESS", "initiator": "codepipeline/payments-release"}}),
        ));
    }
    quiet(
        "quiet:override_by_own_service",
        release.id,
        run.start,
        "tooling",
        ids,
        vec![run.id.clone()],
        "CodePipeline started payments-build with a buildspec and variables of its own release stage",
    );

    // One person starts an execution, another approves it.
    let t = at(9, 30);
    let (alice, ip, ua) = human(day, "alice", &tooling, DEVELOPER, t);
    let (client_token, execution) = (day.rng.uuid(), day.rng.uuid());
    let start = call(
        day,
        &alice,
        &ip,
        &ua,
        t + 20,
        (
            "codepipeline.amazonaws.com",
            "StartPipelineExecution",
            "us-east-1",
            &tooling,
        ),
        json!({"name": "payments-release", "clientRequestToken": client_token}),
        json!({"pipelineExecutionId": execution}),
    );
    let (dave, ip, ua) = human(day, "dave", &tooling, ADMIN, t + 1800);
    let token = day.rng.uuid();
    let approve = call(
        day,
        &dave,
        &ip,
        &ua,
        t + 1900,
        (
            "codepipeline.amazonaws.com",
            "PutApprovalResult",
            "us-east-1",
            &tooling,
        ),
        json!({"pipelineName": "payments-release", "stageName": "Approval", "actionName": "Approval",
            "result": {"summary": "reviewed the change set", "status": "Approved"}, "token": token}),
        json!({"approvedAt": iso(t + 1900)}),
    );
    quiet(
        "quiet:approved_by_another",
        release.id,
        t + 1900,
        "tooling",
        vec![start, approve],
        vec![],
        "alice started payments-release and dave approved it",
    );

    // A deploy role's trust scoped to one repository and branch.
    let t = at(14, 15);
    let (who, ip, ua) = human(day, "dave", &dev, ADMIN, t);
    let id = call(
        day,
        &who,
        &ip,
        &ua,
        t + 50,
        (
            "iam.amazonaws.com",
            "UpdateAssumeRolePolicy",
            "us-east-1",
            &dev,
        ),
        json!({"roleName": mobile.role, "policyDocument": oidc_trust(&dev, &["repo:acme/mobile-backend:ref:refs/heads/main"])}),
        Value::Null,
    );
    quiet(
        "quiet:trust_scoped",
        mobile.id,
        t + 50,
        "dev",
        vec![id],
        vec![],
        "the mobile-backend release role's trust was set to one repository and branch",
    );

    // Audit-log changes that tighten a protection.
    let mut audit_quiet =
        |day: &mut Day, r: BuildRecord, kind: &'static str, pipeline: &str, what: &str| {
            let id = r.body["_document_id"]
                .as_str()
                .map(str::to_string)
                .or_else(|| r.body["id"].as_u64().map(|i| i.to_string()));
            quiet(
                kind,
                pipeline,
                r.time,
                "none",
                id.into_iter().collect(),
                vec![],
                what,
            );
            day.builds.push(r);
        };
    let t = at(16, 2);
    audit_quiet(
        day,
        github_audit(
            t,
            &format!("reviews/{t}"),
            "protected_branch.update_required_approving_review_count",
            "dave",
            web.repo,
            json!({"branch": "refs/heads/main", "name": "main", "required_approving_review_count": 2}),
        ),
        "quiet:protection_tightened",
        web.id,
        "acme/web main now needs 2 approving reviews",
    );
    audit_quiet(
        day,
        github_audit(
            t + 60,
            &format!("ruleset/{t}"),
            "repository_ruleset.update",
            "dave",
            api.repo,
            json!({"ruleset_id": 112233, "ruleset_name": "main-protection", "ruleset_source_type": "Repository",
            "ruleset_enforcement": "active", "ruleset_old_enforcement": "evaluate"}),
        ),
        "quiet:ruleset_enforced",
        api.id,
        "acme/api's main-protection ruleset went from evaluate to active",
    );
    audit_quiet(
        day,
        github_audit(
            t + 120,
            &format!("env/{t}"),
            "environment.add_protection_rule",
            "dave",
            web.repo,
            json!({"environment_name": "prod", "name": "prod"}),
        ),
        "quiet:environment_protected",
        web.id,
        "a protection rule added to acme/web's prod environment",
    );
    let id = 90_000 + day.day_index * 10 + 2;
    audit_quiet(
        day,
        BuildRecord {
            system: "gitlab-audit",
            time: t + 180,
            body: json!({"id": id, "author_id": 41, "entity_id": 40_012_345, "entity_type": "Project",
            "entity_path": "platform/billing", "target_id": 12, "target_type": "ProtectedBranch",
            "target_details": "main", "created_at": format!("{}.000Z", iso(t + 180).trim_end_matches('Z')),
            "event_type": "protected_branch_updated",
            "details": {"author_name": "grace", "author_class": "User", "custom_message": "protected branch updated",
                "push_access_levels": "Maintainers"}}),
        },
        "quiet:gitlab_protection_updated",
        "gitlab:platform/billing",
        "platform/billing main: push access for maintainers only",
    );
    out
}
