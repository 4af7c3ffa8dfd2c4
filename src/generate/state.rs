//! Pipeline state (SEC11-BP07: pipelines that emit state, so that the integrity of what they do
//! can be validated): a deploy role used while no run of its pipeline was active, and a
//! pipeline whose build records stop while its deploys go on; with the quiet cases that look like
//! them (a long run, a re-run hours later, a credential used minutes after its run ended).

use serde_json::{Value, json};

use super::anomalies::{Anomaly, find};
use super::builds::Check;
use super::org::{Env, Pipeline};
use super::trail::{Call, Session, Who, assume_response, iso, record, request_for};
use super::{Day, Label, RunTweak, simulate_run};

const API: &str = "github:acme/api:deploy.yml";
const MOBILE: &str = "github:acme/mobile-backend:release.yml";
const WEB: &str = "github:acme/web:deploy.yml";

/// The pipeline whose records [`Anomaly::RecordsStopped`] stops.
pub fn silent_pipeline(kind: Anomaly) -> &'static str {
    match kind {
        Anomaly::RecordsStopped => MOBILE,
        _ => "",
    }
}

/// A GitHub Actions OIDC session of `p`'s deploy role in `env`, issued at `t` from `ip`; returns
/// the session and the issuing event's id.
fn github_session(day: &mut Day, p: &Pipeline, env: Env, t: i64, ip: &str) -> (Session, String) {
    let account = env.account().to_string();
    let host = "token.actions.githubusercontent.com";
    let subject = format!("repo:{}:environment:{}", p.repo, env.name());
    let mut s = Session::new(&mut day.rng, &account, p.role, "GitHubActions".into(), t);
    s.web_provider = Some(format!("arn:aws:iam::{account}:oidc-provider/{host}"));
    let resp = assume_response(
        &mut day.rng,
        &s,
        json!({"subjectFromWebIdentityToken": subject, "provider": format!("arn:aws:iam::{account}:oidc-provider/{host}"), "audience": "sts.amazonaws.com"}),
    );
    let ev = record(
        &mut day.rng,
        Call {
            time: t,
            who: &Who::WebIdentity {
                provider: host.into(),
                subject,
            },
            source: "sts.amazonaws.com",
            name: "AssumeRoleWithWebIdentity",
            region: p.regions[0],
            account: &account,
            ip,
            ua: "aws-cli/2.15.30 Python/3.11.8 Linux/6.8.0-45-generic exe/x86_64.ubuntu.24 prompt/off command/sts.assume-role-with-web-identity",
            request: json!({"roleArn": format!("arn:aws:iam::{account}:role/{}", p.role), "roleSessionName": s.name, "durationSeconds": 3600}),
            response: resp,
            read_only: true,
            error: None,
        },
    );
    let id = ev.id.clone();
    day.events.push(ev);
    (s, id)
}

/// Calls made with session `s`, one every `step` seconds from `t`; returns their event ids.
fn calls(
    day: &mut Day,
    s: &Session,
    t: i64,
    step: i64,
    ip: &str,
    ua: &str,
    list: &[(&str, &str, bool)],
) -> Vec<String> {
    let who = Who::Role(s.clone());
    let mut ids = vec![];
    for (k, (src, name, ro)) in list.iter().enumerate() {
        let req = request_for(&mut day.rng, src, name, &s.account, "us-east-1", "api");
        let ev = record(
            &mut day.rng,
            Call {
                time: t + k as i64 * step,
                who: &who,
                source: src,
                name,
                region: "us-east-1",
                account: &s.account,
                ip,
                ua,
                request: req,
                response: Value::Null,
                read_only: *ro,
                error: None,
            },
        );
        ids.push(ev.id.clone());
        day.events.push(ev);
    }
    ids
}

/// Injects one of [`Anomaly::STATE`] into the day, filling its label.
pub fn inject(day: &mut Day, kind: Anomaly, ps: &[Pipeline], label: &mut Label) {
    let at = |h: i64, m: i64| day.midnight + h * 3600 + m * 60;
    match kind {
        Anomaly::OutsideRun => {
            // An OIDC token of the api deploy workflow, replayed from a VPS at night: the role is
            // the pipeline's, the subject is the pipeline's, no run of it is active.
            let api = find(ps, API);
            let t = at(2, 41);
            let ip = "185.220.101.47";
            let (s, id) = github_session(day, api, Env::Prod, t, ip);
            label.event_ids.push(id);
            let ua = "aws-cli/2.15.30 Python/3.11.8 Linux/6.8.0-45-generic exe/x86_64.ubuntu.24 prompt/off";
            label.event_ids.extend(calls(
                day,
                &s,
                t + 40,
                35,
                ip,
                ua,
                &[
                    ("sts.amazonaws.com", "GetCallerIdentity", true),
                    ("ecs.amazonaws.com", "DescribeServices", true),
                    ("ecr.amazonaws.com", "GetAuthorizationToken", true),
                    ("ecs.amazonaws.com", "RegisterTaskDefinition", false),
                    ("ecs.amazonaws.com", "UpdateService", false),
                ],
            ));
            label.pipeline = api.id.into();
            label.env = "prod".into();
            label.time = iso(t);
            label.description = "the api deploy role assumed with the workflow's own OIDC subject at 02:41 from a VPS, and the prod service updated, while no run of the workflow was active".into();
        }
        Anomaly::RecordsStopped => {
            // The release workflow goes on deploying; its build records no longer arrive.
            let mobile = find(ps, MOBILE);
            let start = at(12, 30) + day.rng.range(0, 1800);
            let n = day.builds.len();
            let (run, _, ids) = simulate_run(day, mobile, start, &RunTweak::default());
            day.builds.truncate(n);
            // The run happened (its calls are in the trail) but left no build record.
            if let Some(t) = day.runs.last_mut() {
                t["recorded"] = serde_json::Value::Bool(false);
            }
            label.event_ids.extend(ids);
            label.run_ids.push(run.id.clone());
            label.pipeline = mobile.id.into();
            label.env = "dev".into();
            label.time = iso(start);
            label.description = "the mobile-backend release workflow's build records stop arriving for the last three days while it goes on assuming its role and deploying".into();
        }
        _ => {}
    }
}

/// The quiet cases of pipeline state, added to the quiet day's.
pub fn quiet(day: &mut Day, ps: &[Pipeline], out: &mut Vec<Label>) {
    let midnight = day.midnight;
    let at = |h: i64, m: i64| midnight + h * 3600 + m * 60;
    let web = find(ps, WEB);
    let api = find(ps, API);
    let mut push =
        |kind: &'static str, p: &Pipeline, time: i64, env: &str, events, runs, d: &str| {
            out.push(Label {
                id: format!("Q{:02}", out.len() + 1),
                kind,
                pipeline: p.id.into(),
                time: iso(time),
                env: env.into(),
                event_ids: events,
                run_ids: runs,
                description: d.into(),
            })
        };
    // A long run: its integration tests take two and a half hours, then it deploys.
    let (run, _, ids) = simulate_run(
        day,
        web,
        at(9, 50),
        &RunTweak {
            env: Some(Env::Prod),
            duration: Some(3 * 3600),
            deploy_after: Some(2 * 3600 + 40 * 60),
            ..Default::default()
        },
    );
    push(
        "quiet:long_run",
        web,
        run.start,
        "prod",
        ids,
        vec![run.id.clone()],
        "a three-hour run whose deploy job, and its credentials, start 2h40m after the run",
    );
    // A re-run: the deploy failed, and its re-run (attempt 2) an hour and a half later deploys.
    let check = |name: &str, conclusion: &'static str, attempt: u32| Check {
        name: name.into(),
        conclusion,
        attempt,
    };
    let (run, _, ids) = simulate_run(
        day,
        api,
        at(14, 5),
        &RunTweak {
            env: Some(Env::Prod),
            checks: Some(vec![
                check("test (3.11)", "success", 1),
                check("test (3.12)", "success", 1),
                check("security-scan", "success", 1),
                check("security-scan", "success", 2),
            ]),
            deploy_after: Some(95 * 60),
            duration: Some(110 * 60),
            ..Default::default()
        },
    );
    push(
        "quiet:rerun_hours_later",
        api,
        run.start,
        "prod",
        ids,
        vec![run.id.clone()],
        "the run's deploy re-run (attempt 2) 95 minutes after the run started; its credentials come with the re-run",
    );
    // A credential used minutes after its run's last record, within the session's hour.
    let (run, session, mut ids) = simulate_run(
        day,
        web,
        at(16, 20),
        &RunTweak {
            env: Some(Env::Prod),
            ..Default::default()
        },
    );
    if let Some(s) = session {
        let ip = super::runner_ip(&mut day.rng, web);
        let ua = super::cli_ua(&mut day.rng);
        ids = calls(
            day,
            &s,
            run.end + 7 * 60,
            20,
            &ip,
            &ua,
            &[
                ("sts.amazonaws.com", "GetCallerIdentity", true),
                ("s3.amazonaws.com", "HeadObject", true),
            ],
        );
    }
    push(
        "quiet:credential_after_run",
        web,
        run.end,
        "prod",
        ids,
        vec![],
        "the run's session used 7 minutes after the run's last record, within its hour",
    );
}
