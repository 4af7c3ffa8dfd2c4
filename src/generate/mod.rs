//! `pipewarden generate`: a deterministic, realistic CI/CD history with labelled anomalies.
//!
//! A simulated organisation ([`org`]) runs its pipelines day by day: GitHub Actions and GitLab CI
//! assuming deploy roles through OIDC, CodeBuild and CodePipeline service roles, a legacy Jenkins on
//! an IAM user's long-term key, people through IAM Identity Center and the console, AWS services.
//! Each run leaves CloudTrail records ([`trail`], written as delivery files exactly as AWS lays them
//! out) and CI build records ([`builds`], in each system's own format). [`anomalies`] injects one
//! of each labelled anomaly in the last third of the period and writes `labels.jsonl`;
//! [`bypasses`] holds the SEC11-BP07 bypass cases among them, the quiet cases that look like them
//! (`quiet.jsonl`) and the pipeline definitions the history starts with; [`state`], the cases of
//! pipeline state (a role used while no run was, build records that stop) and their quiet ones;
//! [`truth`], the assessment the history must get (`truth/assessment.json`).
//! The same seed gives the same bytes.

pub mod anomalies;
pub mod builds;
pub mod bypasses;
pub mod grants;
pub mod org;
pub mod rng;
pub mod state;
pub mod trail;
pub mod truth;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::PathBuf;

use chrono::{Datelike, NaiveDate};
use serde_json::{Value, json};

use builds::{BuildRecord, Run};
use org::{Env, Kind, Pipeline, Schedule};
use rng::Rng;
use trail::{Call, Event, Session, Who, assume_response, record, request_for};

/// What to generate.
#[derive(Debug, Clone)]
pub struct GeneratePlan {
    /// Output folder or `s3://bucket/prefix`.
    pub out: String,
    /// Days of history.
    pub days: u32,
    /// Seed.
    pub seed: u64,
    /// Multiplier of events per day (1.0 is about 1,100 events a day).
    pub scale: f64,
    /// First day.
    pub start: NaiveDate,
    /// S3 options when writing to S3.
    pub s3: crate::aws::S3Options,
}

/// What was generated.
#[derive(Debug, Default, Clone)]
pub struct GenerateSummary {
    /// CloudTrail events.
    pub events: u64,
    /// Delivery files.
    pub files: u64,
    /// Build records.
    pub build_records: u64,
    /// Labelled anomalies.
    pub labels: u64,
    /// Quiet cases (`quiet.jsonl`): normal activity that looks like a bypass.
    pub quiet: u64,
}

/// A labelled anomaly.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Label {
    /// Label id.
    pub id: String,
    /// Anomaly kind.
    pub kind: &'static str,
    /// Pipeline concerned.
    pub pipeline: String,
    /// When (first event).
    pub time: String,
    /// Environment concerned.
    pub env: String,
    /// CloudTrail event ids that show it.
    pub event_ids: Vec<String>,
    /// CI run ids that show it.
    pub run_ids: Vec<String>,
    /// What happened.
    pub description: String,
}

/// Where generated files go.
enum Sink {
    Local(PathBuf),
    S3 {
        rt: tokio::runtime::Runtime,
        client: aws_sdk_s3::Client,
        bucket: String,
        prefix: String,
    },
}

impl Sink {
    fn put(&self, key: &str, bytes: Vec<u8>) -> anyhow::Result<()> {
        match self {
            Sink::Local(root) => {
                let p = root.join(key);
                if let Some(d) = p.parent() {
                    std::fs::create_dir_all(d)?;
                }
                std::fs::write(&p, bytes).map_err(|e| anyhow::anyhow!("{}: {e}", p.display()))
            }
            Sink::S3 {
                rt,
                client,
                bucket,
                prefix,
            } => {
                let k = format!("{prefix}{key}");
                rt.block_on(
                    client
                        .put_object()
                        .bucket(bucket)
                        .key(&k)
                        .body(bytes.into())
                        .send(),
                )
                .map_err(|e| {
                    anyhow::anyhow!(
                        "s3://{bucket}/{k}: {}",
                        aws_sdk_s3::error::DisplayErrorContext(&e)
                    )
                })?;
                Ok(())
            }
        }
    }
}

fn gzip(bytes: &[u8]) -> Vec<u8> {
    // flate2 writes mtime 0: the same input gives the same bytes.
    let mut e = flate2::write::GzEncoder::new(
        Vec::with_capacity(bytes.len() / 8),
        flate2::Compression::new(6),
    );
    e.write_all(bytes).expect("in-memory write");
    e.finish().expect("in-memory write")
}

/// The state of one day of simulation.
pub struct Day<'a> {
    /// Random numbers for this day.
    pub rng: Rng,
    /// CloudTrail events, serialised as soon as they are complete (a day at scale 300 is 300k).
    pub events: Events,
    /// Build records.
    pub builds: Vec<BuildRecord>,
    /// The truth about each run, for `truth/runs.jsonl.gz`.
    pub runs: Vec<Value>,
    /// Scale.
    pub scale: f64,
    /// Midnight UTC, epoch seconds.
    pub midnight: i64,
    /// Run counter within the day.
    pub run_seq: &'a mut u64,
    /// Day number in the history (ids are ranged by day, so days are independent).
    pub day_index: u64,
}

/// A finished event: its record already serialised.
pub struct Frozen {
    /// Seconds since the epoch.
    pub time: i64,
    /// Recipient account.
    pub account: String,
    /// Region.
    pub region: String,
    /// eventID.
    pub id: String,
    /// The record as JSON.
    pub json: String,
}

/// The finished events of a day, with what the permissions truth needs from them.
#[derive(Default)]
pub struct Events(
    pub Vec<Frozen>,
    /// Calls per principal, for `truth/permissions.json`.
    pub grants::Usage,
    /// Policies attached or put on roles: (role ARN, `managed` or `inline`, ARN or
    /// `{"name", "document"}`).
    pub Vec<(String, String, String)>,
);

impl Events {
    /// Records a finished event.
    pub fn push(&mut self, e: Event) {
        if let Some(k) = grants::usage_key(&e.record) {
            *self.1.entry(k).or_default() += 1;
        }
        let r = &e.record;
        if r["eventSource"] == "iam.amazonaws.com" && r["errorCode"].is_null() {
            let role = |req: &Value| {
                req["roleName"].as_str().map(|n| {
                    format!(
                        "arn:aws:iam::{}:role/{n}",
                        r["recipientAccountId"].as_str().unwrap_or("")
                    )
                })
            };
            let req = &r["requestParameters"];
            match r["eventName"].as_str() {
                Some("AttachRolePolicy") => {
                    if let (Some(a), Some(p)) = (role(req), req["policyArn"].as_str()) {
                        self.2.push((a, "managed".into(), p.to_string()));
                    }
                }
                Some("PutRolePolicy") => {
                    let doc = req["policyDocument"]
                        .as_str()
                        .and_then(|d| serde_json::from_str::<Value>(d).ok());
                    if let (Some(a), Some(d)) = (role(req), doc) {
                        let v = serde_json::json!({"name": req["policyName"], "document": d});
                        self.2.push((a, "inline".into(), v.to_string()));
                    }
                }
                _ => {}
            }
        }
        let json = serde_json::to_string(&e.record).expect("a JSON value serialises");
        self.0.push(Frozen {
            time: e.time,
            account: e.account,
            region: e.region,
            id: e.id,
            json,
        });
    }
}

/// How a run departs from normal (for anomalies).
#[derive(Debug, Clone, Default)]
pub struct RunTweak {
    /// Use this region instead of the pipeline's.
    pub region: Option<&'static str>,
    /// Call with this IAM user and key instead of the usual credentials.
    pub long_term: Option<(String, String)>,
    /// Work in this environment.
    pub env: Option<Env>,
    /// Multiply calls.
    pub volume: f64,
    /// Trigger, actor, branch, inputs.
    pub trigger: Option<(&'static str, String, String, Value)>,
    /// Check jobs instead of the pipeline's usual ones (all passing).
    pub checks: Option<Vec<builds::Check>>,
    /// The code comes from this repository (a fork's pull request).
    pub head_repo: Option<String>,
    /// The run stops before its deploy: no deployment, no cloud call.
    pub no_deploy: bool,
    /// The run lasts this long (seconds) by its records, however long its calls take.
    pub duration: Option<i64>,
    /// The deploy job (its credentials and calls) starts this long (seconds) after the run.
    pub deploy_after: Option<i64>,
}

/// One pipeline run and its CloudTrail session; returns the run and the session used.
pub fn simulate_run(
    day: &mut Day,
    p: &Pipeline,
    start: i64,
    tweak: &RunTweak,
) -> (Run, Option<Session>, Vec<String>) {
    *day.run_seq += 1;
    let rng = &mut day.rng;
    let env = tweak.env.unwrap_or_else(|| {
        let e = p.envs;
        // Most runs go to the last environment of the promotion chain, some to earlier ones.
        if e.len() > 1 && rng.chance(0.4) {
            e[rng.below(e.len() as u64 - 1) as usize]
        } else {
            e[e.len() - 1]
        }
    });
    let account = env.account().to_string();
    let region = tweak.region.unwrap_or_else(|| {
        if p.regions.len() > 1 && rng.chance(0.25) {
            p.regions[1]
        } else {
            p.regions[0]
        }
    });
    let volume = if tweak.volume > 0.0 {
        tweak.volume
    } else {
        1.0
    };
    let n_calls = ((rng.range(p.calls.0 as i64, p.calls.1 as i64) as f64) * day.scale * volume)
        .round()
        .max(1.0) as i64;
    let duration = 90 + n_calls * 2 + rng.range(0, 240);
    let deploy_after = tweak.deploy_after.unwrap_or(0).max(0);
    let run_len = tweak
        .duration
        .unwrap_or(duration)
        .max(deploy_after + duration);
    let (trigger, actor, branch, inputs) = match &tweak.trigger {
        Some((t, a, b, i)) => (*t, a.clone(), b.clone(), i.clone()),
        None => {
            let trig = match (p.schedule, p.kind) {
                (Schedule::Nightly(..), _) => "schedule",
                (_, Kind::GitlabCi) => "push",
                (_, Kind::CodePipeline) => "webhook",
                (Schedule::Releases(..), _) => "workflow_dispatch",
                _ => "push",
            };
            (
                trig,
                rng.pick(p.actors).to_string(),
                "main".to_string(),
                json!({}),
            )
        }
    };
    let run_id = match p.kind {
        Kind::GithubActions => {
            (9_000_000_000 + (day.day_index * 1000 + *day.run_seq) * 17 + rng.below(10)).to_string()
        }
        Kind::GitlabCi => {
            (1_200_000_000 + (day.day_index * 1000 + *day.run_seq) * 13 + rng.below(10)).to_string()
        }
        Kind::CodeBuild | Kind::CodePipeline => rng.uuid(),
        Kind::Jenkins => (4000 + day.day_index * 60 + *day.run_seq).to_string(),
    };
    let run = Run {
        id: run_id.clone(),
        number: 100 + day.day_index * 60 + *day.run_seq,
        start,
        end: start + run_len,
        trigger,
        actor,
        branch,
        sha: rng.hex(40),
        env: env.name(),
        success: rng.chance(0.93),
        inputs,
        checks: tweak
            .checks
            .clone()
            .unwrap_or_else(|| builds::default_checks(p)),
        head_repo: tweak.head_repo.clone(),
        deployed: !tweak.no_deploy,
    };
    let mut ids = vec![];
    if tweak.no_deploy {
        let mut run = run;
        run.success = false;
        let recs = builds::records(&mut day.rng, p, &run, Env::Tooling.account(), p.regions[0]);
        day.builds.extend(recs);
        day.runs.push(json!({
            "pipeline": p.id, "run_id": builds::table_run_id(p, &run), "env": "none",
            "trigger": run.trigger, "actor": run.actor, "branch": run.branch, "sha": run.sha,
            "success": false, "start": trail::iso(run.start), "end": trail::iso(run.start + 1),
            "event_ids": [],
        }));
        return (run, None, ids);
    }
    let cred_time = start + deploy_after + 8;
    let (who, ip, ua, session): (Who, String, String, Option<Session>) = if let Some((user, key)) =
        &tweak.long_term
    {
        let ip = runner_ip(rng, p);
        (
            Who::IamUser {
                account: account.clone(),
                user: user.clone(),
                key: key.clone(),
            },
            ip,
            cli_ua(rng),
            None,
        )
    } else {
        match p.kind {
            Kind::GithubActions | Kind::GitlabCi => {
                let (host, subject, name) = if p.kind == Kind::GithubActions {
                    let sub = if run.trigger.starts_with("pull_request") {
                        format!("repo:{}:pull_request", p.repo)
                    } else if env == Env::Dev || p.envs.len() == 1 {
                        format!("repo:{}:ref:refs/heads/{}", p.repo, run.branch)
                    } else {
                        format!("repo:{}:environment:{}", p.repo, env.name())
                    };
                    (
                        "token.actions.githubusercontent.com",
                        sub,
                        "GitHubActions".to_string(),
                    )
                } else {
                    (
                        "gitlab.com",
                        format!("project_path:{}:ref_type:branch:ref:{}", p.repo, run.branch),
                        format!("GitLabRunner-{run_id}"),
                    )
                };
                let mut s = Session::new(rng, &account, p.role, name, cred_time);
                s.web_provider = Some(format!("arn:aws:iam::{account}:oidc-provider/{host}"));
                let ip = runner_ip(rng, p);
                let sts_ua = if p.kind == Kind::GithubActions {
                    "aws-sdk-js/3.621.0 ua/2.0 os/linux#6.5.0-1025-azure lang/js md/nodejs#20.13.1 api/sts#3.621.0 configure-aws-credentials/4.0.2".to_string()
                } else {
                    cli_ua(rng)
                };
                let web = Who::WebIdentity {
                    provider: host.to_string(),
                    subject: subject.clone(),
                };
                let resp = assume_response(
                    rng,
                    &s,
                    json!({"subjectFromWebIdentityToken": subject, "provider": format!("arn:aws:iam::{account}:oidc-provider/{host}"), "audience": "sts.amazonaws.com"}),
                );
                let ev = record(
                    rng,
                    Call {
                        time: cred_time,
                        who: &web,
                        source: "sts.amazonaws.com",
                        name: "AssumeRoleWithWebIdentity",
                        region,
                        account: &account,
                        ip: &ip,
                        ua: &sts_ua,
                        request: json!({"roleArn": format!("arn:aws:iam::{account}:role/{}", p.role), "roleSessionName": s.name, "durationSeconds": 3600}),
                        response: resp,
                        read_only: true,
                        error: None,
                    },
                );
                ids.push(ev.id.clone());
                day.events.push(ev);
                (Who::Role(s.clone()), ip, cli_ua(rng), Some(s))
            }
            Kind::CodeBuild | Kind::CodePipeline => {
                let svc = if p.kind == Kind::CodeBuild {
                    "codebuild.amazonaws.com"
                } else {
                    "codepipeline.amazonaws.com"
                };
                let acct = Env::Tooling.account().to_string();
                let name = if p.kind == Kind::CodeBuild {
                    format!("AWSCodeBuild-{run_id}")
                } else {
                    format!("{}", 1_700_000_000_000u64 + rng.below(100_000_000_000))
                };
                let mut s = Session::new(rng, &acct, p.role, name, cred_time);
                if p.kind == Kind::CodePipeline {
                    s.invoked_by = Some(svc.to_string());
                }
                let resp = assume_response(rng, &s, json!({}));
                let ev = record(
                    rng,
                    Call {
                        time: cred_time,
                        who: &Who::Service(svc.to_string()),
                        source: "sts.amazonaws.com",
                        name: "AssumeRole",
                        region,
                        account: &acct,
                        ip: svc,
                        ua: svc,
                        request: json!({"roleArn": format!("arn:aws:iam::{acct}:role/{}", p.role), "roleSessionName": s.name}),
                        response: resp,
                        read_only: true,
                        error: None,
                    },
                );
                ids.push(ev.id.clone());
                day.events.push(ev);
                let (ip, ua) = if p.kind == Kind::CodeBuild {
                    (format!("{}{}.{}", rng.pick(org::CODEBUILD_NETS), rng.range(0, 255), rng.range(1, 254)), "aws-cli/2.15.30 Python/3.11.8 Linux/4.14.336-257.562.amzn2.x86_64 exec-env/AWS_ECS_EC2 exe/x86_64.amzn.2 prompt/off command/s3.cp".to_string())
                } else {
                    (svc.to_string(), svc.to_string())
                };
                (Who::Role(s.clone()), ip, ua, Some(s))
            }
            Kind::Jenkins => {
                let tooling = Env::Tooling.account().to_string();
                let user = Who::IamUser {
                    account: tooling.clone(),
                    user: p.role.to_string(),
                    key: jenkins_key(),
                };
                let ua = "aws-cli/1.18.69 Python/2.7.18 Linux/4.15.0-1065-aws botocore/1.17.12"
                    .to_string();
                // Artifacts straight to the tooling bucket with the long-term key, then a deploy role.
                for k in 0..3 {
                    let req = request_for(
                        rng,
                        "s3.amazonaws.com",
                        "PutObject",
                        &tooling,
                        region,
                        "jenkins-artifacts",
                    );
                    let ev = record(
                        rng,
                        Call {
                            time: cred_time + k,
                            who: &user,
                            source: "s3.amazonaws.com",
                            name: "PutObject",
                            region,
                            account: &tooling,
                            ip: org::JENKINS_IP,
                            ua: &ua,
                            request: req,
                            response: Value::Null,
                            read_only: false,
                            error: None,
                        },
                    );
                    ids.push(ev.id.clone());
                    day.events.push(ev);
                }
                let s = Session::new(
                    rng,
                    &account,
                    "jenkins-deploy",
                    format!("jenkins-{}", run.number),
                    cred_time + 5,
                );
                let resp = assume_response(rng, &s, json!({}));
                let ev = record(
                    rng,
                    Call {
                        time: cred_time + 5,
                        who: &user,
                        source: "sts.amazonaws.com",
                        name: "AssumeRole",
                        region,
                        account: &account,
                        ip: org::JENKINS_IP,
                        ua: &ua,
                        request: json!({"roleArn": format!("arn:aws:iam::{account}:role/jenkins-deploy"), "roleSessionName": s.name}),
                        response: resp,
                        read_only: true,
                        error: None,
                    },
                );
                ids.push(ev.id.clone());
                day.events.push(ev);
                (
                    Who::Role(s.clone()),
                    org::JENKINS_IP.to_string(),
                    ua,
                    Some(s),
                )
            }
        }
    };
    let target_account = match (&who, p.kind) {
        (Who::Role(s), _) => s.account.clone(),
        _ => account.clone(),
    };
    let total_w: u32 = p.apis.iter().map(|a| a.3).sum();
    for i in 0..n_calls {
        let t = cred_time + 2 + (i * (duration - 12)) / n_calls.max(1);
        let mut pick = day.rng.below(total_w as u64) as u32;
        let mut api = p.apis[0];
        for a in p.apis {
            if pick < a.3 {
                api = *a;
                break;
            }
            pick -= a.3;
        }
        let rng = &mut day.rng;
        let req = request_for(
            rng,
            api.0,
            api.1,
            &target_account,
            region,
            p.repo.rsplit('/').next().unwrap_or(p.repo),
        );
        let error = if rng.chance(0.015) {
            Some((
                "AccessDenied".to_string(),
                format!(
                    "User: {} is not authorized to perform: {}:{} because no identity-based policy allows the action",
                    principal_arn(&who),
                    api.0.split('.').next().unwrap_or(""),
                    api.1
                ),
            ))
        } else {
            None
        };
        let ev = record(
            rng,
            Call {
                time: t,
                who: &who,
                source: api.0,
                name: api.1,
                region,
                account: &target_account,
                ip: &ip,
                ua: &ua,
                request: req,
                response: Value::Null,
                read_only: api.2,
                error,
            },
        );
        ids.push(ev.id.clone());
        day.events.push(ev);
    }
    // The CI system lives in the pipeline's home region, wherever its calls go.
    let home = p.regions[0];
    let recs = builds::records(&mut day.rng, p, &run, Env::Tooling.account(), home);
    day.builds.extend(recs);
    day.runs.push(json!({
        "pipeline": p.id, "run_id": builds::table_run_id(p, &run), "env": run.env,
        "trigger": run.trigger, "actor": run.actor, "branch": run.branch, "sha": run.sha,
        "success": run.success, "start": trail::iso(run.start), "end": trail::iso(run.end),
        "event_ids": ids,
    }));
    if p.kind == Kind::CodePipeline {
        // The Build stage runs the CodeBuild project of the same team.
        if let Some(cb) = org::pipelines().into_iter().find(|q| {
            q.kind == Kind::CodeBuild && p.repo.starts_with(q.repo.split('-').next().unwrap_or("-"))
        }) {
            let mut sub = run.clone();
            sub.id = day.rng.uuid();
            day.builds.extend(builds::codebuild(
                &cb,
                &sub,
                Env::Tooling.account(),
                cb.regions[0],
                Some(p.repo),
            ));
            day.runs.push(json!({
                "pipeline": cb.id, "run_id": builds::table_run_id(&cb, &sub), "env": sub.env,
                "trigger": "pipeline", "actor": format!("codepipeline/{}", p.repo), "branch": sub.branch,
                "sha": sub.sha, "success": sub.success, "start": trail::iso(sub.start),
                "end": trail::iso(sub.end), "event_ids": [], "parent": p.id,
            }));
        }
    }
    (run, session, ids)
}

fn principal_arn(who: &Who) -> String {
    match who {
        Who::Role(s) => format!(
            "arn:aws:sts::{}:assumed-role/{}/{}",
            s.account, s.role, s.name
        ),
        Who::IamUser { account, user, .. } => format!("arn:aws:iam::{account}:user/{user}"),
        Who::Root { account, .. } => format!("arn:aws:iam::{account}:root"),
        _ => "unknown".into(),
    }
}

pub(super) fn runner_ip(rng: &mut Rng, p: &Pipeline) -> String {
    let nets = match p.kind {
        Kind::GithubActions => org::GITHUB_RUNNER_NETS,
        Kind::GitlabCi => org::GITLAB_RUNNER_NETS,
        Kind::Jenkins => return org::JENKINS_IP.to_string(),
        _ => org::CODEBUILD_NETS,
    };
    format!(
        "{}{}.{}",
        rng.pick(nets),
        rng.range(0, 255),
        rng.range(1, 254)
    )
}

pub(super) fn cli_ua(rng: &mut Rng) -> String {
    let minor = rng.range(13, 17);
    format!(
        "aws-cli/2.{minor}.{} md/awscrt#0.19.19 ua/2.0 os/linux#6.5.0-1025-azure md/arch#x86_64 lang/python#3.11.8 md/pyimpl#CPython cfg/retry-mode#standard md/installer#exe md/distrib#ubuntu.22 md/prompt#off",
        rng.range(0, 30)
    )
}

/// The long-term access key of the legacy Jenkins user.
pub fn jenkins_key() -> String {
    "AKIAJENKINSLEGACY001".into()
}

/// Working-hours people: console sign-in and reads through IAM Identity Center.
fn simulate_people(day: &mut Day, weekday: u32) {
    let working = weekday < 5;
    for (i, person) in org::humans().iter().enumerate() {
        if !(working && day.rng.chance(0.75) || !working && day.rng.chance(0.04)) {
            continue;
        }
        let env = match day.rng.below(10) {
            0..=5 => Env::Dev,
            6..=8 => Env::Staging,
            _ => Env::Prod,
        };
        let account = env.account().to_string();
        let start = day.midnight + 8 * 3600 + day.rng.range(0, 9 * 3600);
        let ip = format!("{}{}", org::OFFICE_NET, 10 + i);
        let ua = "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36";
        let role = if *person == "dave" {
            "AWSReservedSSO_AdministratorAccess_5e0c1b2a3d4f6789"
        } else {
            "AWSReservedSSO_Developer_0a1b2c3d4e5f6789"
        };
        let s = Session::new(
            &mut day.rng,
            &account,
            role,
            format!("{person}@acme.example"),
            start,
        );
        let rng = &mut day.rng;
        let saml = Who::Saml {
            provider_arn: format!(
                "arn:aws:iam::{account}:saml-provider/AWSSSO_6d1f2e3c4b5a6978_DO_NOT_DELETE"
            ),
            user: s.name.clone(),
        };
        let resp = assume_response(
            rng,
            &s,
            json!({"subjectType": "persistent", "issuer": "https://portal.sso.us-east-1.amazonaws.com/saml/assertion/NjE0", "audience": "https://signin.aws.amazon.com/saml"}),
        );
        day.events.push(record(rng, Call { time: start, who: &saml, source: "sts.amazonaws.com", name: "AssumeRoleWithSAML", region: "us-east-1", account: &account, ip: &ip, ua,
            request: json!({"roleArn": format!("arn:aws:iam::{account}:role/aws-reserved/sso.amazonaws.com/{role}"), "principalArn": format!("arn:aws:iam::{account}:saml-provider/AWSSSO_6d1f2e3c4b5a6978_DO_NOT_DELETE"), "durationSeconds": 3600}),
            response: resp, read_only: true, error: None }));
        let who = Who::Role(s.clone());
        let mut login = record(
            rng,
            Call {
                time: start + 2,
                who: &who,
                source: "signin.amazonaws.com",
                name: "ConsoleLogin",
                region: "us-east-1",
                account: &account,
                ip: &ip,
                ua,
                request: Value::Null,
                response: json!({"ConsoleLogin": "Success"}),
                read_only: false,
                error: None,
            },
        );
        login.record["additionalEventData"] = json!({"MobileVersion": "No", "MFAUsed": "No", "LoginTo": "https://console.aws.amazon.com/console/home"});
        day.events.push(login);
        let reads: &[(&str, &str)] = &[
            ("ec2.amazonaws.com", "DescribeInstances"),
            ("monitoring.amazonaws.com", "GetMetricData"),
            ("logs.amazonaws.com", "FilterLogEvents"),
            ("s3.amazonaws.com", "ListBuckets"),
            ("iam.amazonaws.com", "ListRoles"),
            ("codebuild.amazonaws.com", "BatchGetBuilds"),
            ("codepipeline.amazonaws.com", "GetPipelineState"),
            ("cloudformation.amazonaws.com", "DescribeStacks"),
        ];
        let n = ((day.rng.range(8, 40) as f64) * day.scale).round() as i64;
        for k in 0..n {
            let rng = &mut day.rng;
            let (src, name) = *rng.pick(reads);
            let t = start + 10 + k * rng.range(20, 300);
            day.events.push(record(
                rng,
                Call {
                    time: t,
                    who: &who,
                    source: src,
                    name,
                    region: "us-east-1",
                    account: &account,
                    ip: &ip,
                    ua,
                    request: json!({}),
                    response: Value::Null,
                    read_only: true,
                    error: None,
                },
            ));
        }
    }
}

/// AWS services acting in every account, every hour.
fn simulate_services(day: &mut Day) {
    for env in [Env::Tooling, Env::Dev, Env::Staging, Env::Prod] {
        let account = env.account().to_string();
        for h in 0..24 {
            let n = day.rng.poisson(3.0 * day.scale);
            for _ in 0..n {
                let rng = &mut day.rng;
                let t = day.midnight + h * 3600 + rng.range(0, 3599);
                let (svc, src, name) = *rng.pick(&[
                    (
                        "cloudtrail.amazonaws.com",
                        "kms.amazonaws.com",
                        "GenerateDataKey",
                    ),
                    (
                        "config.amazonaws.com",
                        "ec2.amazonaws.com",
                        "DescribeInstances",
                    ),
                    (
                        "autoscaling.amazonaws.com",
                        "ec2.amazonaws.com",
                        "DescribeInstanceStatus",
                    ),
                    ("lambda.amazonaws.com", "sts.amazonaws.com", "AssumeRole"),
                ]);
                let who = Who::Service(svc.to_string());
                day.events.push(record(
                    rng,
                    Call {
                        time: t,
                        who: &who,
                        source: src,
                        name,
                        region: "us-east-1",
                        account: &account,
                        ip: svc,
                        ua: svc,
                        request: json!({}),
                        response: Value::Null,
                        read_only: true,
                        error: None,
                    },
                ));
            }
        }
    }
}

fn runs_today(rng: &mut Rng, p: &Pipeline, midnight: i64, weekday: u32) -> Vec<i64> {
    match p.schedule {
        Schedule::Pushes(rate) => {
            let lambda = if weekday < 5 { rate } else { rate * 0.05 };
            let mut v: Vec<i64> = (0..rng.poisson(lambda))
                .map(|_| midnight + 9 * 3600 + rng.range(0, 9 * 3600))
                .collect();
            v.sort();
            v
        }
        Schedule::Nightly(h, m) => {
            vec![midnight + h as i64 * 3600 + m as i64 * 60 + rng.range(0, 240)]
        }
        Schedule::Releases(days, h) => {
            if days.contains(&weekday) {
                vec![midnight + h as i64 * 3600 + rng.range(0, 3600)]
            } else {
                vec![]
            }
        }
    }
}

/// Runs the generator.
pub fn run(plan: &GeneratePlan) -> anyhow::Result<GenerateSummary> {
    let sink = match crate::source::parse_s3_uri(&plan.out) {
        Some((bucket, prefix)) => {
            let rt = tokio::runtime::Runtime::new()?;
            let aws = rt.block_on(crate::aws::AwsContext::load(&plan.s3));
            let prefix = if prefix.is_empty() || prefix.ends_with('/') {
                prefix
            } else {
                format!("{prefix}/")
            };
            Sink::S3 {
                client: aws.s3_client(),
                rt,
                bucket,
                prefix,
            }
        }
        None => Sink::Local(PathBuf::from(&plan.out)),
    };
    let root = Rng::new(plan.seed);
    let pipelines = org::pipelines();
    let mut summary = GenerateSummary::default();
    let schedule = anomalies::schedule(plan.days);
    // Days are independent (each has its own random stream and id range), so they are generated
    // on every core; the bytes do not depend on the thread count.
    let threads = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(2) as u32;
    let mut labels: Vec<(usize, Label)> = vec![];
    let mut quiet: Vec<Label> = vec![];
    let mut truth = Vec::new();
    let mut usage = grants::Usage::new();
    let mut granted = vec![];
    let mut d0 = 0;
    while d0 < plan.days {
        let days: Vec<u32> = (d0..(d0 + threads).min(plan.days)).collect();
        let results: Vec<anyhow::Result<DayOutput>> = std::thread::scope(|scope| {
            let handles: Vec<_> = days
                .iter()
                .map(|&d| {
                    let (root, pipelines, schedule, sink) = (&root, &pipelines, &schedule, &sink);
                    scope.spawn(move || generate_day(plan, root, pipelines, schedule, sink, d))
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join()
                        .unwrap_or_else(|_| Err(anyhow::anyhow!("a generator thread panicked")))
                })
                .collect()
        });
        for r in results {
            let out = r?;
            summary.files += out.files;
            summary.events += out.events;
            summary.build_records += out.build_records;
            labels.extend(out.labels);
            quiet.extend(out.quiet);
            for (k, n) in out.usage {
                *usage.entry(k).or_default() += n;
            }
            granted.extend(out.granted);
            for r in out.runs {
                serde_json::to_writer(&mut truth, &r)?;
                truth.push(b'\n');
            }
        }
        d0 += threads;
    }
    labels.sort_by_key(|(i, l)| (*i, l.time.clone()));
    // An anomaly that lasts several days is one label with the evidence of all of them.
    let mut merged: Vec<(usize, Label)> = vec![];
    for (i, l) in labels {
        match merged.last_mut() {
            Some((j, m)) if *j == i => {
                m.event_ids.extend(l.event_ids);
                m.run_ids.extend(l.run_ids);
            }
            _ => merged.push((i, l)),
        }
    }
    let labels: Vec<Label> = merged.into_iter().map(|(_, l)| l).collect();
    let mut out = String::new();
    for l in &labels {
        out.push_str(&serde_json::to_string(l)?);
        out.push('\n');
    }
    sink.put("labels.jsonl", out.into_bytes())?;
    let mut out = String::new();
    for l in &quiet {
        out.push_str(&serde_json::to_string(l)?);
        out.push('\n');
    }
    sink.put("quiet.jsonl", out.into_bytes())?;
    summary.quiet = quiet.len() as u64;
    sink.put("truth/runs.jsonl.gz", gzip(&truth))?;
    let expected = truth::assessment(&org::pipelines(), &labels);
    let mut bytes = serde_json::to_vec_pretty(&expected)?;
    bytes.push(b'\n');
    sink.put("truth/assessment.json", bytes)?;
    let mut bytes = serde_json::to_vec_pretty(&grants::truth(&usage, &granted))?;
    bytes.push(b'\n');
    sink.put("truth/permissions.json", bytes)?;
    summary.labels = labels.len() as u64;
    Ok(summary)
}

/// What one day of history wrote.
struct DayOutput {
    files: u64,
    events: u64,
    build_records: u64,
    /// Labels injected that day, with their place in the anomaly schedule.
    labels: Vec<(usize, Label)>,
    /// Quiet cases of that day.
    quiet: Vec<Label>,
    /// Truth about the day's runs (`truth/runs.jsonl.gz`).
    runs: Vec<Value>,
    /// Calls per principal and policies granted (`truth/permissions.json`).
    usage: grants::Usage,
    granted: Vec<(String, String, String)>,
}

fn generate_day(
    plan: &GeneratePlan,
    root: &Rng,
    pipelines: &[Pipeline],
    schedule: &[(anomalies::Anomaly, u32)],
    sink: &Sink,
    d: u32,
) -> anyhow::Result<DayOutput> {
    let date = plan.start + chrono::Days::new(d as u64);
    let midnight = date
        .and_hms_opt(0, 0, 0)
        .expect("midnight")
        .and_utc()
        .timestamp();
    let weekday = date.weekday().num_days_from_monday();
    let mut run_seq = 0;
    let mut day = Day {
        rng: root.fork(d as u64 + 1),
        events: Events::default(),
        builds: vec![],
        runs: vec![],
        scale: plan.scale,
        midnight,
        run_seq: &mut run_seq,
        day_index: d as u64,
    };
    // A pipeline whose records stopped runs only as the anomaly injects it.
    let stopped = schedule
        .iter()
        .find(|(k, on)| k.lasts() && d >= *on)
        .map(|(k, _)| state::silent_pipeline(*k));
    for p in pipelines {
        if stopped == Some(p.id) {
            continue;
        }
        for start in runs_today(&mut day.rng, p, midnight, weekday) {
            simulate_run(&mut day, p, start, &RunTweak::default());
        }
    }
    simulate_people(&mut day, weekday);
    simulate_services(&mut day);
    if d == 0 {
        bypasses::history(&mut day);
        grants::history(&mut day);
    }
    let mut labels = vec![];
    for (i, (kind, on_day)) in schedule.iter().enumerate() {
        if *on_day == d || (kind.lasts() && d > *on_day) {
            labels.push((i, anomalies::inject(&mut day, *kind, pipelines, i + 1)));
        }
    }
    let quiet = if bypasses::quiet_day(plan.start, plan.days) == Some(d) {
        let mut q = bypasses::quiet(&mut day, pipelines);
        state::quiet(&mut day, pipelines, &mut q);
        q
    } else {
        vec![]
    };
    let (files, events) = write_trail(sink, &mut day)?;
    let build_records = write_builds(sink, &day, date)?;
    Ok(DayOutput {
        files,
        events,
        build_records,
        labels,
        quiet,
        runs: std::mem::take(&mut day.runs),
        usage: std::mem::take(&mut day.events.1),
        granted: std::mem::take(&mut day.events.2),
    })
}

fn write_trail(sink: &Sink, day: &mut Day) -> anyhow::Result<(u64, u64)> {
    // One delivery file per account, region and 5 minutes with activity, as CloudTrail does.
    let mut groups: BTreeMap<(String, String, i64), Vec<&Frozen>> = BTreeMap::new();
    for e in &day.events.0 {
        groups
            .entry((
                e.account.clone(),
                e.region.clone(),
                e.time - e.time.rem_euclid(300),
            ))
            .or_default()
            .push(e);
    }
    let mut files = 0;
    let mut events = 0;
    for ((account, region, bucket), mut evs) in groups {
        evs.sort_by(|a, b| (a.time, &a.id).cmp(&(b.time, &b.id)));
        let delivered = bucket + 300 + day.rng.range(60, 600);
        let t = chrono::DateTime::from_timestamp(delivered, 0).expect("valid time");
        let key = format!(
            "cloudtrail/AWSLogs/{account}/CloudTrail/{region}/{}/{account}_CloudTrail_{region}_{}_{}.json.gz",
            t.format("%Y/%m/%d"),
            t.format("%Y%m%dT%H%MZ"),
            day.rng.alnum(16)
        );
        let mut body =
            String::with_capacity(evs.iter().map(|e| e.json.len() + 1).sum::<usize>() + 16);
        body.push_str("{\"Records\":[");
        for (i, e) in evs.iter().enumerate() {
            if i > 0 {
                body.push(',');
            }
            body.push_str(&e.json);
        }
        body.push_str("]}");
        let body = body.into_bytes();
        sink.put(&key, gzip(&body))?;
        files += 1;
        events += evs.len() as u64;
    }
    Ok((files, events))
}

fn write_builds(sink: &Sink, day: &Day, date: NaiveDate) -> anyhow::Result<u64> {
    let mut by_system: BTreeMap<&str, Vec<&BuildRecord>> = BTreeMap::new();
    for b in &day.builds {
        by_system.entry(b.system).or_default().push(b);
    }
    let mut n = 0;
    for (system, mut recs) in by_system {
        recs.sort_by_key(|r| r.time);
        let mut body = Vec::new();
        for r in &recs {
            serde_json::to_writer(&mut body, &r.body)?;
            body.push(b'\n');
        }
        let key = format!(
            "builds/{system}/{}/{system}-{}.jsonl.gz",
            date.format("%Y/%m/%d"),
            date.format("%Y%m%d")
        );
        sink.put(&key, gzip(&body))?;
        n += recs.len() as u64;
    }
    Ok(n)
}
