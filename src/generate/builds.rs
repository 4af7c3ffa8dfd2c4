//! CI build records in the formats the real systems deliver: GitHub webhook payloads
//! (workflow_run, workflow_job, deployment, deployment_status), GitLab pipeline, job and deployment
//! hooks, CodeBuild and CodePipeline EventBridge state changes, Jenkins `api/json` build records.

use serde_json::{Value, json};

use super::org::{Kind, Pipeline};
use super::rng::Rng;
use super::trail::iso;

/// One run of a pipeline, as the CI system knows it.
#[derive(Debug, Clone)]
pub struct Run {
    /// Run id (GitHub run id, GitLab pipeline id, CodeBuild build uuid, CodePipeline execution, Jenkins number).
    pub id: String,
    /// Run number.
    pub number: u64,
    /// Start, end (epoch seconds).
    pub start: i64,
    /// End.
    pub end: i64,
    /// Trigger: push, schedule, workflow_dispatch, web, ...
    pub trigger: &'static str,
    /// Actor.
    pub actor: String,
    /// Branch.
    pub branch: String,
    /// Commit.
    pub sha: String,
    /// Target environment.
    pub env: &'static str,
    /// Conclusion: success or failure.
    pub success: bool,
    /// Extra inputs (e.g. skip checks).
    pub inputs: Value,
    /// The jobs that run before the deploy (tests, scans), in order.
    pub checks: Vec<Check>,
    /// The repository the code came from when it is not the pipeline's own (a fork's pull request).
    pub head_repo: Option<String>,
    /// Whether the deploy job ran; when not (a check failed and stopped the run), no deployment
    /// is recorded and no cloud call is made.
    pub deployed: bool,
}

/// One check job of a run and how it ended.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    /// Job name as the CI system shows it (`test (3.12)`).
    pub name: String,
    /// `success`, `failure`, `skipped`, `cancelled`.
    pub conclusion: &'static str,
    /// Attempt (a re-run is attempt 2).
    pub attempt: u32,
}

/// The check jobs a pipeline's workflow runs before it deploys, all passing. Only GitHub
/// workflows have separate check jobs here; `mobile-backend` never had a scan, and nothing may
/// require one of it.
pub fn default_checks(p: &Pipeline) -> Vec<Check> {
    let names: &[&str] = match (p.kind, p.repo) {
        (Kind::GithubActions, "acme/web" | "acme/api") => {
            &["test (3.11)", "test (3.12)", "security-scan"]
        }
        (Kind::GithubActions, "acme/infra") => &["validate", "plan"],
        (Kind::GithubActions, "acme/mobile-backend") => &["unit-tests"],
        (Kind::GithubActions, _) => &["build"],
        _ => &[],
    };
    names
        .iter()
        .map(|n| Check {
            name: n.to_string(),
            conclusion: "success",
            attempt: 1,
        })
        .collect()
}

/// A build record with the system it belongs to and its time.
#[derive(Debug, Clone)]
pub struct BuildRecord {
    /// `github`, `gitlab`, `aws`, `jenkins`.
    pub system: &'static str,
    /// When it was emitted.
    pub time: i64,
    /// The payload.
    pub body: Value,
}

fn gitlab_time(t: i64) -> String {
    chrono::DateTime::from_timestamp(t, 0)
        .map(|d| d.format("%Y-%m-%d %H:%M:%S UTC").to_string())
        .unwrap_or_default()
}

/// The records a run produces.
/// The run id as the `builds` table shows it (CodeBuild's is `<project>:<uuid>`, Jenkins' the
/// build number).
pub fn table_run_id(p: &Pipeline, run: &Run) -> String {
    match p.kind {
        Kind::CodeBuild => format!("{}:{}", p.repo, run.id),
        Kind::Jenkins => run.number.to_string(),
        _ => run.id.clone(),
    }
}

pub fn records(
    rng: &mut Rng,
    p: &Pipeline,
    run: &Run,
    account: &str,
    region: &str,
) -> Vec<BuildRecord> {
    match p.kind {
        Kind::GithubActions => github(rng, p, run),
        Kind::GitlabCi => gitlab(rng, p, run),
        Kind::CodeBuild => codebuild(p, run, account, region, None),
        Kind::CodePipeline => codepipeline(p, run, account, region),
        Kind::Jenkins => jenkins(p, run),
    }
}

fn github(rng: &mut Rng, p: &Pipeline, run: &Run) -> Vec<BuildRecord> {
    let (org, name) = p.repo.split_once('/').unwrap_or(("acme", p.repo));
    let repo = json!({"id": 700_000 + (crate::lake::manifest::hash_str(p.repo) % 100_000), "name": name, "full_name": p.repo, "private": true, "owner": {"login": org, "type": "Organization"}});
    let workflow_id = 9_000_000 + crate::lake::manifest::hash_str(p.id) % 1_000_000;
    let actor = json!({"login": run.actor, "type": if run.actor.ends_with("[bot]") { "Bot" } else { "User" }});
    let attempts = run.checks.iter().map(|c| c.attempt).max().unwrap_or(1);
    let head = match &run.head_repo {
        Some(h) => {
            let (owner, name) = h.split_once('/').unwrap_or((h, h));
            json!({"id": 800_000 + (crate::lake::manifest::hash_str(h) % 100_000), "name": name, "full_name": h, "private": false, "fork": true, "owner": {"login": owner, "type": "User"}})
        }
        None => repo.clone(),
    };
    let wr = |status: &str, conclusion: Value, updated: i64| {
        json!({
            "id": run.id.parse::<u64>().unwrap_or(0), "name": p.workflow.trim_end_matches(".yml"), "head_branch": run.branch, "head_sha": run.sha,
            "path": format!(".github/workflows/{}", p.workflow), "display_title": format!("Deploy {}", &run.sha[..7]),
            "run_number": run.number, "event": run.trigger, "status": status, "conclusion": conclusion,
            "workflow_id": workflow_id, "run_attempt": attempts, "created_at": iso(run.start - 20), "updated_at": iso(updated),
            "run_started_at": iso(run.start), "actor": actor, "triggering_actor": actor,
            "html_url": format!("https://github.com/{}/actions/runs/{}", p.repo, run.id),
            "head_repository": head,
        })
    };
    let base = |action: &str, wr_v: Value| json!({"action": action, "workflow_run": wr_v, "workflow": {"id": workflow_id, "name": p.workflow.trim_end_matches(".yml"), "path": format!(".github/workflows/{}", p.workflow)}, "repository": repo, "organization": {"login": org}, "sender": actor});
    let conclusion = if run.success { "success" } else { "failure" };
    let run_no = run.id.parse::<u64>().unwrap_or(0);
    let job_id = run_no * 10 + 1;
    let runner = rng.range(1, 40);
    let job_at = |id: u64,
                  name: &str,
                  attempt: u32,
                  runner: i64,
                  action: &str,
                  status: &str,
                  conclusion: Value,
                  start: i64,
                  end: i64| {
        json!({"action": action, "workflow_job": {
            "id": id, "run_id": run_no, "run_attempt": attempt, "workflow_name": p.workflow.trim_end_matches(".yml"),
            "head_branch": run.branch, "head_sha": run.sha, "status": status, "conclusion": conclusion, "name": name,
            "created_at": iso(start - 15), "started_at": iso(start), "completed_at": if status == "completed" { json!(iso(end)) } else { Value::Null },
            "labels": ["ubuntu-latest"], "runner_id": if status == "queued" { Value::Null } else { json!(runner) },
            "runner_name": if status == "queued" { Value::Null } else { json!(format!("GitHub Actions {runner}")) },
            "runner_group_id": 1, "runner_group_name": "GitHub Actions",
        }, "repository": repo, "organization": {"login": org}, "sender": actor})
    };
    let job = |action: &str, status: &str, conclusion: Value| {
        job_at(
            job_id, "deploy", attempts, runner, action, status, conclusion, run.start, run.end,
        )
    };
    let mut out = vec![BuildRecord {
        system: "github",
        time: run.start - 20,
        body: base("requested", wr("queued", Value::Null, run.start - 20)),
    }];
    // The check jobs end before the deploy job starts (one completed event each; a re-run's
    // attempts each have theirs). Their ids and runners come from the run id, not the random
    // stream, so adding checks moves no other record.
    for (i, c) in run.checks.iter().enumerate() {
        let id = run_no * 10 + 2 + i as u64 + 10_000_000_000 * (c.attempt as u64 - 1);
        let r = 1 + (id % 39) as i64;
        let end = run.start - 8 + i as i64;
        out.push(BuildRecord {
            system: "github",
            time: end,
            body: job_at(
                id,
                &c.name,
                c.attempt,
                r,
                "completed",
                "completed",
                json!(c.conclusion),
                run.start - 18,
                end,
            ),
        });
    }
    out.push(audit_completed(p, run, workflow_id));
    if !run.deployed {
        out.push(BuildRecord {
            system: "github",
            time: run.start,
            body: job_at(
                job_id,
                "deploy",
                attempts,
                runner,
                "completed",
                "completed",
                json!("skipped"),
                run.start,
                run.start,
            ),
        });
        out.push(BuildRecord {
            system: "github",
            time: run.start + 1,
            body: base(
                "completed",
                wr("completed", json!("failure"), run.start + 1),
            ),
        });
        return out;
    }
    out.extend([
        BuildRecord {
            system: "github",
            time: run.start - 15,
            body: job("queued", "queued", Value::Null),
        },
        BuildRecord {
            system: "github",
            time: run.start,
            body: base("in_progress", wr("in_progress", Value::Null, run.start)),
        },
        BuildRecord {
            system: "github",
            time: run.start + 2,
            body: job("in_progress", "in_progress", Value::Null),
        },
    ]);
    if run.env != "none" {
        let dep_id = run.id.parse::<u64>().unwrap_or(0) / 7;
        let dep = json!({"id": dep_id, "sha": run.sha, "ref": run.branch, "task": "deploy", "environment": run.env, "creator": actor, "created_at": iso(run.start + 5), "payload": run.inputs});
        out.push(BuildRecord { system: "github", time: run.start + 5, body: json!({"action": "created", "deployment": dep, "workflow_run": wr("in_progress", Value::Null, run.start + 5), "repository": repo, "organization": {"login": org}, "sender": actor}) });
        out.push(BuildRecord { system: "github", time: run.end, body: json!({"action": "created", "deployment_status": {"id": dep_id * 3, "state": conclusion, "environment": run.env, "creator": actor, "created_at": iso(run.end)}, "deployment": dep, "repository": repo, "organization": {"login": org}, "sender": actor}) });
    }
    out.push(BuildRecord {
        system: "github",
        time: run.end,
        body: job("completed", "completed", json!(conclusion)),
    });
    out.push(BuildRecord {
        system: "github",
        time: run.end + 1,
        body: base("completed", wr("completed", json!(conclusion), run.end + 1)),
    });
    out
}

/// A GitHub audit-log event (the organisation's audit-log stream), `@timestamp` in epoch
/// milliseconds and a `_document_id` derived from `key`.
pub fn github_audit(
    time: i64,
    key: &str,
    action: &str,
    actor: &str,
    repo: &str,
    fields: Value,
) -> BuildRecord {
    let mut body = json!({
        "@timestamp": time * 1000,
        "_document_id": Rng::new(crate::lake::manifest::hash_str(key)).alnum(22),
        "action": action, "actor": actor, "actor_location": {"country_code": "DE"},
        "business": "acme-corp", "org": repo.split('/').next().unwrap_or("acme"), "org_id": 9919,
        "repo": repo, "repo_id": 700_000 + (crate::lake::manifest::hash_str(repo) % 100_000),
        "user_agent": "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36",
    });
    if let (Some(o), Value::Object(f)) = (body.as_object_mut(), fields) {
        o.extend(f);
    }
    BuildRecord {
        system: "github-audit",
        time,
        body,
    }
}

/// The audit log's record of a finished workflow run.
fn audit_completed(p: &Pipeline, run: &Run, workflow_id: u64) -> BuildRecord {
    let end = if run.deployed {
        run.end + 1
    } else {
        run.start + 1
    };
    let conclusion = if run.deployed && run.success {
        "success"
    } else {
        "failure"
    };
    github_audit(
        end,
        &format!("completed/{}", run.id),
        "workflows.completed_workflow_run",
        &run.actor,
        p.repo,
        json!({"workflow_run_id": run.id.parse::<u64>().unwrap_or(0), "workflow_id": workflow_id,
            "name": p.workflow.trim_end_matches(".yml"), "event": run.trigger, "head_branch": run.branch,
            "head_sha": run.sha, "conclusion": conclusion, "run_number": run.number,
            "run_attempt": run.checks.iter().map(|c| c.attempt).max().unwrap_or(1),
            "started_at": iso(run.start), "completed_at": iso(end),
            "created_at": run.start * 1000, "operation_type": "modify"}),
    )
}

fn gitlab(rng: &mut Rng, p: &Pipeline, run: &Run) -> Vec<BuildRecord> {
    let project_id = 40_000_000 + crate::lake::manifest::hash_str(p.repo) % 1_000_000;
    let project = json!({"id": project_id, "name": p.repo.rsplit('/').next(), "path_with_namespace": p.repo, "web_url": format!("https://gitlab.com/{}", p.repo), "default_branch": "main"});
    let user = json!({"id": crate::lake::manifest::hash_str(&run.actor) % 10_000_000, "username": run.actor, "name": run.actor});
    let status = if run.success { "success" } else { "failed" };
    let runner = json!({"id": rng.range(10_000, 99_999), "description": "gitlab-org-shared-runner", "runner_type": "instance_type", "active": true, "is_shared": true, "tags": ["saas-linux-small-amd64"]});
    let pid: u64 = run.id.parse().unwrap_or(0);
    let job_id = pid * 4 + 3;
    let pipeline = |st: &str, finished: Value| {
        json!({
            "object_kind": "pipeline",
            "object_attributes": {"id": pid, "iid": run.number, "ref": run.branch, "tag": false, "sha": run.sha, "source": run.trigger, "status": st,
                "detailed_status": if st == "success" { "passed" } else { st }, "stages": ["build", "test", "deploy"],
                "created_at": gitlab_time(run.start - 10), "finished_at": finished, "duration": if finished.is_null() { Value::Null } else { json!(run.end - run.start) },
                "variables": run.inputs.get("variables").cloned().unwrap_or(json!([]))},
            "user": user, "project": project,
            "builds": [{"id": job_id, "stage": "deploy", "name": format!("deploy:{}", run.env), "status": st, "environment": {"name": run.env, "action": "start"}, "runner": runner}],
        })
    };
    let job = |st: &str, finished: Value| {
        json!({
            "object_kind": "build", "ref": run.branch, "tag": false, "sha": run.sha, "build_id": job_id, "build_name": format!("deploy:{}", run.env),
            "build_stage": "deploy", "build_status": st, "build_created_at": gitlab_time(run.start - 5), "build_started_at": gitlab_time(run.start),
            "build_finished_at": finished, "pipeline_id": pid, "project_id": project_id, "project_name": p.repo, "user": user,
            "environment": {"name": run.env, "action": "start"}, "runner": runner,
        })
    };
    vec![
        BuildRecord {
            system: "gitlab",
            time: run.start - 10,
            body: pipeline("pending", Value::Null),
        },
        BuildRecord {
            system: "gitlab",
            time: run.start,
            body: pipeline("running", Value::Null),
        },
        BuildRecord {
            system: "gitlab",
            time: run.start,
            body: job("running", Value::Null),
        },
        BuildRecord {
            system: "gitlab",
            time: run.end,
            body: job(status, json!(gitlab_time(run.end))),
        },
        BuildRecord {
            system: "gitlab",
            time: run.end,
            body: json!({"object_kind": "deployment", "status": status, "deployment_id": pid / 3, "deployable_id": job_id,
            "environment": run.env, "project": project, "user": user, "ref": run.branch, "short_sha": &run.sha[..8], "status_changed_at": gitlab_time(run.end)}),
        },
        BuildRecord {
            system: "gitlab",
            time: run.end + 1,
            body: pipeline(status, json!(gitlab_time(run.end + 1))),
        },
    ]
}

/// CodeBuild EventBridge state changes; `initiator` is the CodePipeline that started it, if any.
pub fn codebuild(
    p: &Pipeline,
    run: &Run,
    account: &str,
    region: &str,
    initiator: Option<&str>,
) -> Vec<BuildRecord> {
    let arn = format!(
        "arn:aws:codebuild:{region}:{account}:build/{}:{}",
        p.repo, run.id
    );
    let init = initiator
        .map(|i| format!("codepipeline/{i}"))
        .unwrap_or_else(|| {
            if run.trigger == "schedule" {
                "rule/nightly-build".into()
            } else {
                run.actor.clone()
            }
        });
    let ev = |t: i64, status: &str, phase: &str| BuildRecord {
        system: "aws",
        time: t,
        body: json!({
            "version": "0", "id": format!("{:08x}-{}", crate::lake::manifest::hash_str(&format!("{arn}{status}")) as u32, &run.id[..13]),
            "detail-type": "CodeBuild Build State Change", "source": "aws.codebuild", "account": account, "time": iso(t), "region": region,
            "resources": [arn],
            "detail": {"build-status": status, "project-name": p.repo, "build-id": arn, "current-phase": phase, "current-phase-context": "[]", "version": "1",
                "additional-information": {"initiator": init, "build-start-time": iso(run.start), "source-version": run.sha, "build-number": run.number,
                    "environment": {"image": "aws/codebuild/standard:7.0", "privileged-mode": false, "compute-type": "BUILD_GENERAL1_SMALL", "type": "LINUX_CONTAINER",
                        "environment-variables": [{"name": "DEPLOY_ENV", "type": "PLAINTEXT", "value": run.env}]},
                    "source": {"type": "CODEPIPELINE", "buildspec": "buildspec.yml"}, "timeout-in-minutes": 60, "build-complete": status != "IN_PROGRESS",
                    "initiator-branch": run.branch}},
        }),
    };
    vec![
        ev(run.start, "IN_PROGRESS", "SUBMITTED"),
        ev(
            run.end,
            if run.success { "SUCCEEDED" } else { "FAILED" },
            "COMPLETED",
        ),
    ]
}

fn codepipeline(p: &Pipeline, run: &Run, account: &str, region: &str) -> Vec<BuildRecord> {
    let arn = format!("arn:aws:codepipeline:{region}:{account}:{}", p.repo);
    let mut out = vec![];
    let state = |t: i64, detail_type: &str, detail: Value| BuildRecord {
        system: "aws",
        time: t,
        body: json!({
            "version": "0", "id": rng_id(&format!("{}{detail_type}{t}{detail}", run.id)), "detail-type": detail_type, "source": "aws.codepipeline",
            "account": account, "time": iso(t), "region": region, "resources": [arn], "detail": detail,
        }),
    };
    let final_state = if run.success { "SUCCEEDED" } else { "FAILED" };
    out.push(state(run.start, "CodePipeline Pipeline Execution State Change", json!({"pipeline": p.repo, "version": 4, "state": "STARTED", "execution-id": run.id, "execution-trigger": {"trigger-type": if run.trigger == "manual" { "StartPipelineExecution" } else { "CloudWatchEvent" }, "trigger-detail": run.actor}})));
    let stages = ["Source", "Build", "Approval", "Deploy"];
    let span = (run.end - run.start) / stages.len() as i64;
    for (i, st) in stages.iter().enumerate() {
        let t = run.start + span * i as i64;
        out.push(state(t, "CodePipeline Stage Execution State Change", json!({"pipeline": p.repo, "version": 4, "state": "STARTED", "execution-id": run.id, "stage": st})));
        let (cat, prov) = match *st {
            "Source" => ("Source", "CodeStarSourceConnection"),
            "Build" => ("Build", "CodeBuild"),
            "Approval" => ("Approval", "Manual"),
            _ => ("Deploy", "CloudFormation"),
        };
        out.push(state(t + span - 1, "CodePipeline Action Execution State Change", json!({"pipeline": p.repo, "version": 4, "state": "SUCCEEDED", "execution-id": run.id, "stage": st, "action": st, "region": region, "type": {"owner": "AWS", "category": cat, "provider": prov, "version": "1"}})));
        out.push(state(t + span - 1, "CodePipeline Stage Execution State Change", json!({"pipeline": p.repo, "version": 4, "state": "SUCCEEDED", "execution-id": run.id, "stage": st})));
    }
    out.push(state(
        run.end,
        "CodePipeline Pipeline Execution State Change",
        json!({"pipeline": p.repo, "version": 4, "state": final_state, "execution-id": run.id}),
    ));
    out
}

fn rng_id(s: &str) -> String {
    Rng::new(crate::lake::manifest::hash_str(s)).uuid()
}

fn jenkins(p: &Pipeline, run: &Run) -> Vec<BuildRecord> {
    let cause = match run.trigger {
        "schedule" => {
            json!({"_class": "hudson.triggers.TimerTrigger$TimerTriggerCause", "shortDescription": "Started by timer"})
        }
        _ => {
            json!({"_class": "hudson.model.Cause$UserIdCause", "shortDescription": format!("Started by user {}", run.actor), "userId": run.actor, "userName": run.actor})
        }
    };
    vec![BuildRecord {
        system: "jenkins",
        time: run.end,
        body: json!({
            "_class": "hudson.model.FreeStyleBuild",
            "actions": [{"_class": "hudson.model.CauseAction", "causes": [cause]},
                {"_class": "hudson.model.ParametersAction", "parameters": [{"_class": "hudson.model.StringParameterValue", "name": "DEPLOY_ENV", "value": run.env}]},
                {"_class": "hudson.plugins.git.util.BuildData", "lastBuiltRevision": {"SHA1": run.sha, "branch": [{"SHA1": run.sha, "name": format!("refs/remotes/origin/{}", run.branch)}]}}],
            "building": false, "description": null, "displayName": format!("#{}", run.number), "duration": (run.end - run.start) * 1000,
            "estimatedDuration": (run.end - run.start) * 1000, "fullDisplayName": format!("{} #{}", p.workflow, run.number), "id": run.number.to_string(),
            "number": run.number, "result": if run.success { "SUCCESS" } else { "FAILURE" }, "timestamp": run.start * 1000,
            "url": format!("https://jenkins.acme.example/job/{}/{}/", p.workflow, run.number), "builtOn": "agent-02",
        }),
    }]
}
