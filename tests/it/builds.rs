//! Build records: every real sample lands in the right columns; the generator's build logs round
//! trip and roll up into the runs it simulated; unknown records are rejected, not dropped.

use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::Path;

use pipewarden::generate::{self, GeneratePlan};
use pipewarden::ingest::IngestPlan;
use pipewarden::lake::Dataset;

use crate::helpers::*;

fn builds_plan(from: impl AsRef<str>, lake: impl AsRef<str>) -> IngestPlan {
    let mut p = plan(from, lake);
    p.dataset = Dataset::Builds;
    p
}

/// One row of a query as column name → displayed value (`""` for null).
fn row(lake: &str, query: &str) -> HashMap<String, String> {
    let batches = sql(lake, query);
    let rows: usize = batches.iter().map(|b| b.num_rows()).sum();
    assert_eq!(rows, 1, "{query}: expected one row, got {rows}");
    let b = batches.iter().find(|b| b.num_rows() == 1).unwrap();
    b.schema()
        .fields()
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let c = b.column(i);
            let v = if c.is_null(0) {
                String::new()
            } else {
                arrow::util::display::array_value_to_string(c, 0).unwrap()
            };
            (f.name().clone(), v)
        })
        .collect()
}

/// The build row parsed from the fixture file whose path ends with `suffix`.
fn fixture_row(lake: &str, suffix: &str) -> HashMap<String, String> {
    row(
        lake,
        &format!(
            "SELECT * EXCEPT (raw, source_object) FROM builds WHERE source_object LIKE '%{suffix}'"
        ),
    )
}

fn assert_fields(r: &HashMap<String, String>, want: &[(&str, &str)]) {
    for (k, v) in want {
        assert_eq!(
            r.get(*k).map(String::as_str),
            Some(*v),
            "column {k} of {r:?}"
        );
    }
}

fn ingest_fixtures(sub: &str) -> (tempfile::TempDir, String) {
    let d = tempfile::tempdir().unwrap();
    let lake = d.path().join("lake").display().to_string();
    let from = external().join(sub);
    ingest(&builds_plan(from.display().to_string(), &lake));
    (d, lake)
}

#[test]
fn github_webhooks_land_in_the_right_columns() {
    let (_d, lake) = ingest_fixtures("octokit-webhooks/payload-examples/api.github.com");
    let n = |q: &str| scalar(&lake, q);
    // Every payload of the CI events is a row; none is rejected.
    assert_eq!(
        n(
            "SELECT count(*) FROM rejects WHERE object LIKE '%/workflow_%' OR object LIKE '%/deployment%' OR object LIKE '%/push/%'"
        ),
        "0"
    );
    let r = fixture_row(&lake, "/workflow_run/completed.payload.json");
    assert_fields(
        &r,
        &[
            ("system", "github"),
            ("format", "github.webhook"),
            ("event_type", "workflow_run"),
            ("action", "completed"),
            ("level", "run"),
            ("pipeline_id", "github:octo-org/octo-repo:test.yml"),
            ("repository", "octo-org/octo-repo"),
            ("run_id", "289782451"),
            ("run_number", "163"),
            ("run_attempt", "1"),
            ("status", "completed"),
            ("conclusion", "success"),
            ("trigger", "api"),
            ("trigger_raw", "repository_dispatch"),
            ("actor", "Codertocat"),
            ("commit_sha", "3484a3fb816e0859fd6e1cea078d76385ff50625"),
            ("branch", "master"),
            ("event_time", "2020-10-05T16:33:49Z"),
            (
                "url",
                "https://github.com/octo-org/octo-repo/actions/runs/289782451",
            ),
        ],
    );
    let r = fixture_row(
        &lake,
        "/workflow_job/completed.success.with-organization.payload.json",
    );
    assert_fields(
        &r,
        &[
            ("event_type", "workflow_job"),
            ("level", "job"),
            ("pipeline_id", ""),
            ("pipeline_name", "CodeQL"),
            ("run_id", "2202229078"),
            ("job_id", "289782451"),
            ("job_name", "linters"),
            ("status", "completed"),
            ("conclusion", "success"),
            ("runner_name", "GitHub Actions 5"),
            ("runner_labels", "[ubuntu-latest]"),
            ("runner_kind", "hosted"),
            ("runner_group", "GitHub Actions"),
            ("started_at", "2021-08-05T10:34:58Z"),
            ("finished_at", "2021-08-05T10:38:16Z"),
            ("duration_ms", "198000"),
        ],
    );
    let r = fixture_row(
        &lake,
        "/workflow_job/completed.failure.with-organization.payload.json",
    );
    assert_fields(&r, &[("conclusion", "failure")]);
    let r = fixture_row(&lake, "/workflow_job/waiting.payload.json");
    assert_fields(&r, &[("status", "waiting"), ("runner_kind", "self_hosted")]);
    let r = fixture_row(&lake, "/workflow_job/queued.with-deployment.payload.json");
    assert_fields(
        &r,
        &[
            ("event_type", "workflow_job"),
            ("environment", "Test"),
            ("runner_labels", "[self-hosted, k8s]"),
            ("runner_kind", "self_hosted"),
        ],
    );
    let r = fixture_row(&lake, "/deployment/payload.json");
    assert_fields(
        &r,
        &[
            ("event_type", "deployment"),
            ("level", "deployment"),
            ("environment", "production"),
            ("actor", "Codertocat"),
            ("commit_sha", "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"),
            ("ref", "master"),
            ("branch", "master"),
            ("status", "queued"),
        ],
    );
    let r = fixture_row(&lake, "/deployment_status/payload.json");
    assert_fields(
        &r,
        &[
            ("event_type", "deployment_status"),
            ("environment", "production"),
            ("status", "completed"),
            ("conclusion", "success"),
            ("event_time", "2019-05-15T15:20:55Z"),
        ],
    );
    let r = fixture_row(&lake, "/deployment_review/requested.payload.json");
    assert_fields(
        &r,
        &[
            ("event_type", "deployment_review"),
            ("environment", "TST"),
            ("actor", "ilmax"),
            ("run_id", "5453085689"),
            ("status_raw", "requested"),
        ],
    );
    let r = fixture_row(&lake, "/workflow_dispatch/payload.json");
    assert_fields(
        &r,
        &[
            ("event_type", "workflow_dispatch"),
            ("level", "source"),
            (
                "pipeline_id",
                "github:octo-org/octo-repo:hello-world-workflow.yml",
            ),
            ("trigger", "manual"),
            ("ref", "refs/heads/master"),
            ("branch", "master"),
        ],
    );
    // A bare workflow_dispatch payload has no time: the guess is counted, not hidden.
    assert_eq!(
        n("SELECT warnings FROM manifest WHERE object LIKE '%/workflow_dispatch/payload.json'"),
        "1"
    );
    let r = fixture_row(&lake, "/push/payload.json");
    assert_fields(
        &r,
        &[
            ("event_type", "push"),
            ("ref", "refs/tags/simple-tag"),
            ("branch", ""),
            ("trigger", "push"),
        ],
    );
    let r = fixture_row(&lake, "/push/with-new-branch.payload.json");
    assert_fields(&r, &[("event_type", "push"), ("level", "source")]);
    // Not about CI: kept, marked as such, named after its subject.
    assert_eq!(
        n(
            "SELECT count(*) FROM builds WHERE source_object LIKE '%/star/%' AND level = 'other' AND event_type = 'unknown'"
        ),
        n("SELECT count(*) FROM manifest WHERE object LIKE '%/star/%'")
    );
}

#[test]
fn gitlab_hooks_land_in_the_right_columns() {
    let (_d, lake) = ingest_fixtures("go-gitlab/testdata");
    let r = fixture_row(&lake, "/webhooks/pipeline.json");
    assert_fields(
        &r,
        &[
            ("system", "gitlab"),
            ("event_type", "pipeline"),
            ("level", "run"),
            ("pipeline_id", "gitlab:gitlab-org/gitlab-test"),
            ("run_id", "31"),
            ("run_number", "123"),
            ("status", "completed"),
            ("conclusion", "success"),
            ("status_raw", "success"),
            ("trigger", "pull_request"),
            ("trigger_raw", "merge_request_event"),
            ("actor", "user1"),
            ("commit_sha", "bcbb5ec396a2c0f828686f14fac9b80b780504f2"),
            ("branch", "master"),
            ("environment", "production"),
            ("started_at", "2016-08-12T15:23:28Z"),
            ("finished_at", "2016-08-12T15:26:29Z"),
            ("duration_ms", "63000"),
        ],
    );
    let r = fixture_row(&lake, "/webhooks/job.json");
    assert_fields(
        &r,
        &[
            ("event_type", "job"),
            ("level", "job"),
            ("pipeline_id", "gitlab:jsmithy2/release-tools-fake"),
            ("run_id", "743121198"),
            ("job_id", "3580121225"),
            ("job_name", "auto_deploy:start"),
            ("stage", "coordinated:tag"),
            ("conclusion", "success"),
            ("environment", "production"),
            ("runner_kind", "shared"),
            ("runner_labels", "[linux, docker]"),
            ("actor", "jsmithy2"),
            ("duration_ms", "49503"),
        ],
    );
    let r = fixture_row(&lake, "/webhooks/build.json");
    assert_fields(
        &r,
        &[
            ("status", "queued"),
            ("status_raw", "created"),
            ("runner_kind", "self_hosted"),
            ("pipeline_id", "gitlab:gitlab-org/gitlab-test"),
            ("environment", ""),
        ],
    );
    let r = fixture_row(&lake, "/webhooks/deployment.json");
    assert_fields(
        &r,
        &[
            ("event_type", "deployment"),
            ("environment", "staging"),
            ("conclusion", "success"),
            ("job_id", "796"),
            ("commit_sha", "279484c09fbe69ededfced8c1bb6e6d24616b468"),
            ("event_time", "2021-04-28T19:50:00Z"),
        ],
    );
    let r = fixture_row(&lake, "/systemhooks/project_destroy.json");
    assert_fields(
        &r,
        &[
            ("format", "gitlab.system_hook"),
            ("level", "audit"),
            ("action", "project_destroy"),
        ],
    );
    let r = fixture_row(&lake, "/webhooks/push.json");
    assert_fields(&r, &[("event_type", "push"), ("level", "source")]);
}

#[test]
fn aws_build_events_land_in_the_right_columns() {
    let (_d, lake) = ingest_fixtures("aws-lambda-go/events/testdata");
    let r = fixture_row(&lake, "/codebuild-state-change.json");
    assert_fields(
        &r,
        &[
            ("system", "codebuild"),
            ("format", "aws.eventbridge"),
            ("event_type", "build_state"),
            ("level", "run"),
            (
                "pipeline_id",
                "codebuild:123456789012:us-west-2:my-sample-project",
            ),
            (
                "run_id",
                "my-sample-project:8745a7a9-c340-456a-9166-edf953571bEX",
            ),
            ("run_number", "55"),
            ("status", "completed"),
            ("conclusion", "success"),
            ("actor", "MyCodeBuildDemoUser"),
            ("trigger", "manual"),
            ("runner_name", "aws/codebuild/standard:2.0"),
            ("runner_kind", "hosted"),
            ("environment", ""),
            ("started_at", "2017-09-01T16:12:29Z"),
            ("finished_at", "2017-09-01T16:14:28Z"),
            ("account_id", "123456789012"),
            ("region", "us-west-2"),
            ("event_id", "c030038d-8c4d-6141-9545-00ff7b7153EX"),
        ],
    );
    let r = fixture_row(&lake, "/codebuild-phase-change.json");
    assert_fields(
        &r,
        &[
            ("event_type", "build_phase"),
            ("level", "phase"),
            ("stage", "COMPLETED"),
            ("duration_ms", "4000"),
        ],
    );
    let r = fixture_row(&lake, "/codepipeline-execution-state-change-event.json");
    assert_fields(
        &r,
        &[
            ("system", "codepipeline"),
            ("event_type", "pipeline_execution"),
            (
                "pipeline_id",
                "codepipeline:123456789012:us-east-1:myPipeline",
            ),
            ("run_id", "01234567-0123-0123-0123-012345678901"),
            ("status", "in_progress"),
            ("status_raw", "STARTED"),
        ],
    );
    let r = fixture_row(
        &lake,
        "/codepipeline-action-execution-stage-change-event.json",
    );
    assert_fields(
        &r,
        &[
            ("event_type", "action_execution"),
            ("level", "action"),
            ("stage", "Prod"),
            ("job_name", "myAction"),
        ],
    );
    let r = fixture_row(&lake, "/codedeploy-deployment-event.json");
    assert_fields(
        &r,
        &[
            ("system", "codedeploy"),
            ("run_id", "d-123456789"),
            ("conclusion", "success"),
        ],
    );
}

#[test]
fn jenkins_records_land_in_the_right_columns() {
    let (_d, lake) = ingest_fixtures("jenkins-rest/src/test/resources");
    let r = fixture_row(&lake, "/build-info-git-commit.json");
    assert_fields(
        &r,
        &[
            ("system", "jenkins"),
            ("event_type", "build"),
            ("pipeline_id", "jenkins:localhost:32769/fish"),
            ("pipeline_name", "fish"),
            ("run_id", "10"),
            ("status", "completed"),
            ("conclusion", "success"),
            ("trigger", "manual"),
            ("actor", "anonymous"),
            ("commit_sha", "d27afa0805201322d846d7defc29b82c88d9b5ce"),
            ("runner_name", "built-in"),
            ("started_at", "2016-04-19T18:51:32.486Z"),
            ("finished_at", "2016-04-19T18:52:33.236Z"),
            ("duration_ms", "60750"),
        ],
    );
    let r = fixture_row(&lake, "/workflow.json");
    assert_fields(
        &r,
        &[
            ("event_type", "workflow_run"),
            ("pipeline_id", "jenkins:Test Workflow"),
            ("run_id", "16"),
            ("status", "waiting"),
            ("status_raw", "PAUSED_PENDING_INPUT"),
            ("stage", "Deploy"),
        ],
    );
    let r = fixture_row(&lake, "/queueItemRunning.json");
    assert_fields(
        &r,
        &[
            ("event_type", "queue_item"),
            ("level", "queue"),
            ("pipeline_id", "jenkins:localhost:8082/test"),
            ("run_id", "14"),
            ("actor", "martin"),
            ("trigger", "manual"),
        ],
    );
    let r = fixture_row(&lake, "/queueItemCancelled.json");
    assert_fields(&r, &[("conclusion", "cancelled")]);
    // runHistory.json is an array of two runs.
    assert_eq!(
        scalar(
            &lake,
            "SELECT count(*) FROM builds WHERE source_object LIKE '%/runHistory.json'"
        ),
        "2"
    );
}

#[test]
fn panther_github_cases_are_rows_or_explained_rejects() {
    let src = external().join("panther-analysis/labelled_cases.jsonl");
    let d = tempfile::tempdir().unwrap();
    let mut lines = String::new();
    let mut n = 0;
    for l in std::fs::read_to_string(src).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let types: Vec<&str> = v["log_types"]
            .as_array()
            .unwrap()
            .iter()
            .map(|t| t.as_str().unwrap())
            .collect();
        if types == ["GitHub.Audit"] || types == ["GitHub.Webhook"] {
            lines.push_str(&v["log"].to_string());
            lines.push('\n');
            n += 1;
        }
    }
    assert!(n > 150, "{n}");
    std::fs::write(d.path().join("cases.jsonl"), lines).unwrap();
    let lake = d.path().join("lake").display().to_string();
    let s = ingest(&builds_plan(d.path().display().to_string(), &lake));
    // Some of Panther's cases reuse a `_document_id` (`abCD` three times, `Ab123` twice): an
    // audit event's id names it, so a repeat lands once (`lake::dedupe`).
    assert_eq!(s.duplicates, 7, "{}", s.line());
    assert_eq!(s.events + s.rejected + s.duplicates, n as u64);
    // Panther's tests strip most timestamps; a record without one is rejected as such. The one
    // other reject is a case reduced to a lone `action` key, which no reader could place.
    assert_eq!(
        scalar(
            &lake,
            "SELECT string_agg(raw, ' ') FROM rejects WHERE reason NOT LIKE '%has no event time%'"
        ),
        r#"{"action":"not_repository_vulnerability_alert.dismiss"}"#
    );
    assert!(s.events >= 40, "{}", s.events);
    let r = row(
        &lake,
        "SELECT * EXCEPT (raw, source_object) FROM builds WHERE action = 'workflows.completed_workflow_run' LIMIT 1",
    );
    assert_fields(
        &r,
        &[
            ("format", "github.audit"),
            ("level", "audit"),
            ("repository", "your-org/panther-analysis-copy"),
            ("run_id", "5555555555"),
            ("run_number", "99"),
            ("run_attempt", "3"),
            ("status", "completed"),
            ("conclusion", "failure"),
            ("trigger", "schedule"),
            ("actor", "github_handle"),
            ("branch", "master"),
            ("pipeline_name", "sync-panther-analysis-from-upstream"),
            ("finished_at", "2023-01-31T18:58:27Z"),
        ],
    );
    assert_eq!(
        scalar(
            &lake,
            "SELECT count(*) FROM builds WHERE action = 'org.set_default_workflow_permissions' AND actor = 'homersimpson'"
        ),
        // Two of Panther's cases, one `_document_id`: one event.
        "1"
    );
}

fn truth_runs(dir: &Path) -> Vec<serde_json::Value> {
    let gz = std::fs::read(dir.join("truth/runs.jsonl.gz")).unwrap();
    let mut s = String::new();
    flate2::read::GzDecoder::new(&gz[..])
        .read_to_string(&mut s)
        .unwrap();
    s.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn generated_build_logs_round_trip_and_roll_up_into_runs() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("gen");
    let g = generate::run(&GeneratePlan {
        out: out.display().to_string(),
        days: 6,
        seed: 3,
        scale: 0.3,
        start: chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
        s3: Default::default(),
    })
    .unwrap();
    let lake = d.path().join("lake").display().to_string();
    let s = ingest(&builds_plan(
        out.join("builds").display().to_string(),
        &lake,
    ));
    assert_eq!(s.events, g.build_records);
    assert_eq!((s.rejected, s.warnings, s.failed), (0, 0, 0));
    // Idempotent: a second run reads nothing new.
    let again = ingest(&builds_plan(
        out.join("builds").display().to_string(),
        &lake,
    ));
    assert_eq!((again.events, again.objects), (0, 0));
    assert_eq!(
        scalar(&lake, "SELECT count(*) FROM builds"),
        g.build_records.to_string()
    );

    // Runs that left no build record (the generator's records-stopped case) are not in `runs`.
    let truth: Vec<_> = truth_runs(&out)
        .into_iter()
        .filter(|t| t["recorded"] != false)
        .collect();
    assert!(truth.len() > 50, "{}", truth.len());
    assert_eq!(
        scalar(&lake, "SELECT count(*) FROM runs"),
        truth.len().to_string()
    );
    let batches = sql(
        &lake,
        "SELECT pipeline_id, run_id, status, conclusion, actor, branch, environment, commit_sha, system, trigger FROM runs",
    );
    let mut got: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for b in &batches {
        for i in 0..b.num_rows() {
            let v: Vec<String> = (0..b.num_columns())
                .map(|c| {
                    if b.column(c).is_null(i) {
                        String::new()
                    } else {
                        arrow::util::display::array_value_to_string(b.column(c), i).unwrap()
                    }
                })
                .collect();
            got.insert((v[0].clone(), v[1].clone()), v);
        }
    }
    for t in &truth {
        let key = (
            t["pipeline"].as_str().unwrap().to_string(),
            t["run_id"].as_str().unwrap().to_string(),
        );
        let g = got
            .get(&key)
            .unwrap_or_else(|| panic!("run {key:?} missing from the runs view"));
        let want_conclusion = if t["success"].as_bool().unwrap() {
            "success"
        } else {
            "failure"
        };
        assert_eq!(g[2], "completed", "{key:?}: {g:?}");
        assert_eq!(g[3], want_conclusion, "{key:?}: {g:?}");
        let system = g[8].as_str();
        // CodePipeline's events do not carry the source revision.
        if system != "codepipeline" {
            assert_eq!(g[7], t["sha"].as_str().unwrap(), "{key:?}: {g:?}");
        }
        if system != "codepipeline" {
            assert_eq!(g[5], t["branch"].as_str().unwrap(), "{key:?}: {g:?}");
        }
        let env = t["env"].as_str().unwrap();
        if env != "none" && system != "codepipeline" {
            assert_eq!(g[6], env, "{key:?}: {g:?}");
        }
        // A Jenkins timer build has no user behind it.
        let timer = system == "jenkins" && g[9] == "schedule";
        if matches!(system, "github" | "gitlab" | "jenkins") && !timer {
            assert_eq!(g[4], t["actor"].as_str().unwrap(), "{key:?}: {g:?}");
        }
        if system == "github" {
            let trig = t["trigger"].as_str().unwrap();
            let want = match trig {
                "workflow_dispatch" => "manual",
                "pull_request_target" => "pull_request",
                t => t,
            };
            assert_eq!(g[9], want, "{key:?}: {g:?}");
        }
    }
    // Every system the generator simulates is present, with one pipeline id per pipeline.
    assert_eq!(
        scalar(&lake, "SELECT count(DISTINCT system) FROM runs"),
        "5"
    );
}

#[test]
fn builds_from_s3_match_builds_from_a_folder() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("gen");
    generate::run(&GeneratePlan {
        out: out.display().to_string(),
        days: 3,
        seed: 5,
        scale: 0.2,
        start: chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
        s3: Default::default(),
    })
    .unwrap();
    let (rt, client, bucket) = bucket("builds");
    let n = upload_tree(&rt, &client, &bucket, &out.join("builds"), "ci/");
    assert!(n >= 8, "{n}");
    // A hostile record beside the real ones: rejected with its keys named, nothing else lost.
    put(
        &rt,
        &client,
        &bucket,
        "ci/other/odd.jsonl",
        b"{\"hello\":\"world\",\"x\":1}\n{\"schema\":\"pipewarden.build/v1\",\"time\":\"2026-09-02T10:00:00Z\",\"system\":\"buildkite\",\"pipeline\":\"acme/web\",\"run_id\":\"77\",\"status\":\"passed\",\"trigger\":\"push\",\"actor\":\"=cmd|' /C calc'!A0\",\"environment\":\"prod\"}\n".to_vec(),
    );
    let local = d.path().join("local").display().to_string();
    let remote = format!("s3://{bucket}/lake");
    let a = ingest(&builds_plan(
        out.join("builds").display().to_string(),
        &local,
    ));
    let mut p = builds_plan(format!("s3://{bucket}/ci/"), &remote);
    p.s3 = s3_options();
    let b = ingest(&p);
    assert_eq!(b.events, a.events + 1);
    assert_eq!(b.rejected, 1);
    let q = "SELECT system, count(*) AS n FROM builds GROUP BY system ORDER BY system";
    let (ta, tb) = (table(&local, q), table(&remote, q));
    assert!(tb.contains("| buildkite"), "{tb}");
    assert_eq!(
        ta.lines()
            .filter(|l| !l.contains("buildkite"))
            .collect::<Vec<_>>(),
        tb.lines()
            .filter(|l| !l.contains("buildkite"))
            .collect::<Vec<_>>()
    );
    let r = row(
        &remote,
        "SELECT pipeline_id, conclusion, environment, actor FROM builds WHERE system = 'buildkite'",
    );
    assert_fields(
        &r,
        &[
            ("pipeline_id", "buildkite:acme/web"),
            ("conclusion", "success"),
            ("environment", "prod"),
            // Kept verbatim in the lake; neutralised only where it is shown (reports).
            ("actor", "=cmd|' /C calc'!A0"),
        ],
    );
    let reason = scalar(&remote, "SELECT reason FROM rejects");
    assert!(
        reason.contains("unrecognised build record") && reason.contains("hello, x"),
        "{reason}"
    );
}

#[test]
fn a_crash_mid_commit_then_a_rerun_lands_every_build_event_once() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("gen");
    let g = generate::run(&GeneratePlan {
        out: out.display().to_string(),
        days: 4,
        seed: 9,
        scale: 0.3,
        start: chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
        s3: Default::default(),
    })
    .unwrap();
    let lake = d.path().join("lake");
    let run = |failpoint: Option<&str>| {
        let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_pipewarden"));
        c.args([
            "ingest",
            "--builds",
            "--no-progress",
            "--commit-every",
            "100",
            "--from",
        ])
        .arg(out.join("builds"))
        .arg("--lake")
        .arg(&lake)
        .env_remove("PIPEWARDEN_FAILPOINT");
        if let Some(f) = failpoint {
            c.env("PIPEWARDEN_FAILPOINT", f);
        }
        c.output().unwrap()
    };
    let crashed = run(Some("mid-moves"));
    assert!(!crashed.status.success(), "the failpoint did not fire");
    let rerun = run(None);
    assert!(
        rerun.status.success(),
        "{}",
        String::from_utf8_lossy(&rerun.stderr)
    );
    let l = lake.display().to_string();
    assert_eq!(
        scalar(
            &l,
            "SELECT count(*) FROM (SELECT DISTINCT source_object, source_index FROM builds)"
        ),
        g.build_records.to_string()
    );
    assert_eq!(
        scalar(&l, "SELECT count(*) FROM builds"),
        g.build_records.to_string()
    );
}

/// Issue 22, item 5: audit streams deliver at least once. GitHub's audit-log stream to S3
/// (`YYYY/MM/DD/HH/MM/<uuid>.json.gz`, one event per line, `@timestamp` in epoch milliseconds)
/// repeats events within an object and across objects and runs; GitLab's audit event streaming
/// too. Each event lands once, on `_document_id` (GitHub) or `id` (GitLab), and the manifest
/// counts what landed.
#[test]
fn audit_stream_repeats_land_once_within_and_across_runs() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("audit");
    let lake = d.path().join("lake").display().to_string();
    let gh = |id: &str, ms: i64| {
        serde_json::json!({
            "@timestamp": ms, "_document_id": id, "action": "workflows.completed_workflow_run",
            "actor": "octocat", "org": "acme", "repo": "acme/web", "conclusion": "success",
        })
        .to_string()
    };
    let gl = |id: i64| {
        serde_json::json!({
            "id": id, "author_id": 7, "entity_type": "Project", "entity_path": "acme/web",
            "created_at": "2026-10-01T10:00:00Z", "event_type": "protected_branch_updated",
            "details": {"author_name": "alice"},
        })
        .to_string()
    };
    let put = |rel: &str, lines: &[String]| {
        let p = src.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, gz((lines.join("\n") + "\n").as_bytes())).unwrap();
    };
    let t = 1_790_848_800_000i64; // 2026-10-01T10:00:00Z
    put(
        "2026/10/01/10/05/0f1e.json.gz",
        &[
            gh("d1", t),
            gh("d2", t + 1),
            gh("d2", t + 1),
            gh("d3", t + 2),
        ],
    );
    put(
        "2026/10/01/10/10/7a2b.json.gz",
        &[gh("d3", t + 2), gh("d4", t + 3)],
    );
    put("gitlab/2026-10-01/a.json.gz", &[gl(1), gl(2), gl(1)]);
    put("gitlab/2026-10-01/b.json.gz", &[gl(2), gl(3)]);
    let s = ingest(&builds_plan(src.display().to_string(), &lake));
    assert_eq!((s.events, s.duplicates), (7, 4), "{}", s.line());
    let counts = |lake: &str| {
        table(
            lake,
            "SELECT format, count(*) AS n, count(DISTINCT event_id) AS d FROM builds GROUP BY format ORDER BY format",
        )
    };
    let t1 = squash(&counts(&lake));
    assert!(
        t1.contains("|github.audit|4|4|") && t1.contains("|gitlab.audit|3|3|"),
        "{t1}"
    );
    // Which copy lands depends on which object a worker reads first; the manifest counts
    // what landed, not what was read.
    let n = scalar(
        &lake,
        "SELECT sum(events) FROM manifest WHERE object LIKE '%/2026/10/01/10/%'",
    );
    assert_eq!(n, "4", "the manifest counts what landed");
    // A later run: a new object repeats an event already in the lake.
    put(
        "2026/10/01/10/15/9c3d.json.gz",
        &[gh("d1", t), gh("d5", t + 4)],
    );
    let s = ingest(&builds_plan(src.display().to_string(), &lake));
    assert_eq!((s.events, s.duplicates), (1, 1), "{}", s.line());
    let t2 = squash(&counts(&lake));
    assert!(t2.contains("|github.audit|5|5|"), "{t2}");

    // The bundled examples of both layouts (sample-logs/audit-streams, see its README).
    let lake = d.path().join("sample").display().to_string();
    let samples = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs/audit-streams");
    let s = ingest(&builds_plan(samples.display().to_string(), &lake));
    assert_eq!(
        (s.events, s.duplicates, s.rejected),
        (6, 3, 0),
        "{}",
        s.line()
    );
    let t3 = squash(&counts(&lake));
    assert!(
        t3.contains("|github.audit|4|4|") && t3.contains("|gitlab.audit|2|2|"),
        "{t3}"
    );
}
