//! Analyst SQL: every saved hunt answers its question on the bundled history (asserted against
//! the labelled anomalies), the formats, the read-only guard, errors with line and column, the
//! shell, lint, the findings table, partition pruning, and an S3 lake.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use serde_json::Value;

use crate::helpers::*;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pipewarden"))
}

fn run(args: &[&str]) -> Output {
    bin().args(args).output().expect("run pipewarden")
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

/// The sample lake with the findings of a detect run over the labelled days.
fn lake() -> &'static str {
    static DONE: OnceLock<()> = OnceLock::new();
    let lake = sample_lake();
    DONE.get_or_init(|| {
        let o = run(&[
            "detect",
            "--lake",
            lake,
            "--baseline",
            "23d",
            "--window",
            "12d",
            "--until",
            "2026-10-06",
        ]);
        assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    });
    lake
}

/// Runs a hunt as JSON Lines.
fn hunt(lake: &str, name: &str, params: &[&str]) -> Vec<Value> {
    let mut args = vec!["query", "--lake", lake, "--hunt", name, "--format", "json"];
    for p in params {
        args.extend(["--param", p]);
    }
    let o = run(&args);
    assert!(o.status.success(), "{name}: {}", stderr(&o));
    String::from_utf8(o.stdout.clone())
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn labels() -> BTreeMap<String, Value> {
    std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs/labels.jsonl"))
        .unwrap()
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            (v["kind"].as_str().unwrap().to_string(), v)
        })
        .collect()
}

fn label_events(kind: &str) -> Vec<String> {
    labels()[kind]["event_ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

fn column(rows: &[Value], name: &str) -> Vec<String> {
    rows.iter()
        .map(|r| match &r[name] {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        })
        .collect()
}

#[test]
fn every_hunt_answers_its_question_on_the_bundled_history() {
    let lake = lake();
    // The lake's last event is 2026-10-05 23:36; the labelled anomalies span 09-25 .. 10-05.

    // Audit logging narrowed then stopped (L08): both calls, nothing else.
    let rows = hunt(lake, "logging_changes", &["days=14"]);
    assert_eq!(
        column(&rows, "event_id"),
        label_events("cloudtrail_tampering")
    );
    assert_eq!(
        column(&rows, "event_name"),
        ["PutEventSelectors", "StopLogging"]
    );

    // Root signed in without MFA and made a key (L11).
    let rows = hunt(lake, "root_activity", &[]);
    assert_eq!(
        column(&rows, "event_id"),
        label_events("root_console_login_without_mfa")
    );
    assert!(rows.iter().all(|r| r["mfa"] == false), "{rows:?}");

    // A developer changed the CodeBuild project and the pipeline (L06).
    // The changes that removed checks (L17) and held a stage (L18) are definition changes too.
    let rows = hunt(lake, "pipeline_definition_changes", &["days=14"]);
    let got = column(&rows, "event_id");
    for id in label_events("pipeline_definition_changed") {
        assert!(got.contains(&id), "{id} missing from {got:?}");
    }
    let mut either = label_events("pipeline_definition_changed");
    either.extend(label_events("pipeline_checks_removed"));
    either.extend(label_events("stage_transition_disabled"));
    assert!(got.iter().all(|id| either.contains(id)), "{got:?}");
    let targets: std::collections::BTreeSet<String> = column(&rows, "target").into_iter().collect();
    assert_eq!(
        targets.into_iter().collect::<Vec<_>>(),
        ["data-platform", "payments-build", "payments-release"]
    );

    // AdministratorAccess and an inline policy on the build role (L07), tied to its pipeline;
    // the trust changes of deploy roles (L19, and the scoped one of quiet.jsonl) beside them.
    let rows = hunt(lake, "pipeline_role_policy_changes", &["days=14"]);
    let broadened: Vec<Value> = rows
        .iter()
        .filter(|r| r["event_name"] != "UpdateAssumeRolePolicy")
        .cloned()
        .collect();
    assert_eq!(
        column(&broadened, "event_id"),
        label_events("pipeline_role_broadened")
    );
    assert!(
        column(&broadened, "pipeline_id")
            .iter()
            .all(|p| p == "codebuild:111111111111:us-east-1:payments-build")
    );
    assert_eq!(
        broadened[0]["policy"],
        "arn:aws:iam::aws:policy/AdministratorAccess"
    );
    let trusts = column(&rows, "event_id").len() - broadened.len();
    assert_eq!(trusts, 2, "{rows:?}");
    let trust_ids = column(&rows, "event_id");
    for id in label_events("oidc_trust_too_broad") {
        assert!(trust_ids.contains(&id), "{id}");
    }

    // The terraform role's burst of refusals (L09) tops the list.
    let rows = hunt(lake, "access_denied_by_principal", &[]);
    assert_eq!(
        rows[0]["principal"],
        "arn:aws:iam::444444444444:role/gha-terraform"
    );
    let burst = label_events("access_denied_burst").len() as i64;
    assert!(rows[0]["denied"].as_i64().unwrap() >= burst, "{rows:?}");
    let rows = hunt(lake, "access_denied_by_principal", &["min_denied=1000"]);
    assert!(rows.is_empty(), "the threshold applies");

    // A network the API deploy pipeline never used (L12), and nothing else, this week.
    let rows = hunt(lake, "first_seen_networks", &[]);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0]["pipeline_id"], "github:acme/api:deploy.yml");
    assert_eq!(rows[0]["network"], "185.220.0.0/16");

    // That same intruder read a secret the pipeline never read before.
    let rows = hunt(lake, "secrets_read_by_pipelines", &[]);
    let new: Vec<&Value> = rows.iter().filter(|r| r["read_before"] == false).collect();
    assert_eq!(new.len(), 1, "{rows:?}");
    assert_eq!(new[0]["pipeline_id"], "github:acme/api:deploy.yml");

    // Long-term keys: the Jenkins user's standing key, and in two weeks the web deploy's (L04).
    let rows = hunt(lake, "long_term_keys", &[]);
    assert_eq!(column(&rows, "key_id"), ["AKIAJENKINSLEGACY001"]);
    assert_eq!(
        rows[0]["a_pipeline"],
        "jenkins:jenkins.acme.example/legacy-portal-deploy"
    );
    assert!(rows[0]["age_days"].as_i64().unwrap() >= 30);
    let rows = hunt(lake, "long_term_keys", &["days=14"]);
    let web = rows
        .iter()
        .find(|r| r["key_id"] == "AKIADEPLOYWEBCI00007")
        .expect("the web deploy's long-term key");
    assert_eq!(web["a_pipeline"], "github:acme/web:deploy.yml");

    // A manual production deploy from a hotfix branch by an unusual actor (L13).
    let rows = hunt(lake, "prod_deploys_off_default_branch", &[]);
    let l13 = &labels()["unusual_build_trigger"];
    assert_eq!(
        column(&rows, "run_id"),
        [l13["run_ids"][0].as_str().unwrap()]
    );
    assert_eq!(rows[0]["branch"], "hotfix/tmp");

    // Deploy roles and who assumed them: OIDC subjects for GitHub, the Jenkins user.
    let rows = hunt(lake, "deploy_role_assumers", &[]);
    let pairs: Vec<(String, String)> = rows
        .iter()
        .map(|r| {
            (
                r["role_arn"].as_str().unwrap().to_string(),
                r["assumed_by"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(pairs.contains(&(
        "arn:aws:iam::444444444444:role/gha-deploy-web".into(),
        "repo:acme/web:environment:prod".into()
    )));
    assert!(pairs.contains(&(
        "arn:aws:iam::222222222222:role/jenkins-deploy".into(),
        "arn:aws:iam::111111111111:user/jenkins-legacy".into()
    )));
    assert!(pairs.iter().all(|(r, _)| r.contains("deploy")), "{pairs:?}");
    let every = hunt(lake, "deploy_role_assumers", &["role_like=%"]);
    assert!(every.len() > rows.len());

    // Cross-account: the Jenkins user in the tooling account assumes a role in another.
    let rows = hunt(lake, "cross_account_role_use", &[]);
    assert_eq!(
        column(&rows, "caller"),
        ["arn:aws:iam::111111111111:user/jenkins-legacy"]
    );
    assert_eq!(rows[0]["role_account"], "222222222222");

    // No role chains in this history.
    assert!(hunt(lake, "role_chains", &[]).is_empty());
}

#[test]
fn role_chains_follow_each_hop_back_to_the_first_identity() {
    let d = tempfile::tempdir().unwrap();
    let assume = |id: &str, t: &str, who: Value, role: &str, issued: &str| -> Value {
        serde_json::json!({
            "eventVersion": "1.08", "userIdentity": who, "eventTime": t,
            "eventSource": "sts.amazonaws.com", "eventName": "AssumeRole", "awsRegion": "us-east-1",
            "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.15.0",
            "requestParameters": {"roleArn": format!("arn:aws:iam::111122223333:role/{role}"), "roleSessionName": "s"},
            "responseElements": {"credentials": {"accessKeyId": issued, "expiration": "Oct 1, 2026, 11:00:00 PM", "sessionToken": "x"},
                "assumedRoleUser": {"assumedRoleId": "AROA:s", "arn": format!("arn:aws:sts::111122223333:assumed-role/{role}/s")}},
            "requestID": "r", "eventID": id, "readOnly": true, "eventType": "AwsApiCall",
            "managementEvent": true, "recipientAccountId": "111122223333", "eventCategory": "Management"
        })
    };
    let role_session = |role: &str, key: &str| {
        serde_json::json!({"type": "AssumedRole", "principalId": "AROA:s",
            "arn": format!("arn:aws:sts::111122223333:assumed-role/{role}/s"), "accountId": "111122223333",
            "accessKeyId": key, "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROA",
            "arn": format!("arn:aws:iam::111122223333:role/{role}"), "accountId": "111122223333", "userName": role},
            "attributes": {"creationDate": "2026-10-01T10:00:00Z", "mfaAuthenticated": "false"}}})
    };
    let alice = serde_json::json!({"type": "IAMUser", "principalId": "AIDAALICE", "arn": "arn:aws:iam::111122223333:user/alice",
        "accountId": "111122223333", "accessKeyId": "AKIAALICE00000000001", "userName": "alice"});
    let records = [
        assume(
            "c1",
            "2026-10-01T10:00:00Z",
            alice,
            "hop1",
            "ASIAHOP1000000000001",
        ),
        assume(
            "c2",
            "2026-10-01T10:01:00Z",
            role_session("hop1", "ASIAHOP1000000000001"),
            "hop2",
            "ASIAHOP2000000000002",
        ),
        assume(
            "c3",
            "2026-10-01T10:02:00Z",
            role_session("hop2", "ASIAHOP2000000000002"),
            "hop3",
            "ASIAHOP3000000000003",
        ),
    ];
    let src = d.path().join("logs");
    let key = src.join(delivery_key("111122223333", "us-east-1", "2026-10-01", 1));
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    std::fs::write(&key, delivery(&records)).unwrap();
    let lake = d.path().join("lake").display().to_string();
    ingest(&plan(src.display().to_string(), &lake));

    let rows = hunt(&lake, "role_chains", &[]);
    assert_eq!(
        column(&rows, "access_key_id"),
        ["ASIAHOP3000000000003", "ASIAHOP2000000000002"]
    );
    assert_eq!(column(&rows, "hops"), ["3", "2"]);
    assert!(
        column(&rows, "origin")
            .iter()
            .all(|o| o == "arn:aws:iam::111122223333:user/alice")
    );
    assert_eq!(hunt(&lake, "role_chains", &["min_hops=3"]).len(), 1);
    assert_eq!(hunt(&lake, "role_chains", &["min_hops=1"]).len(), 3);
}

#[test]
fn formats_files_and_the_findings_table() {
    let lake = lake();
    let d = tempfile::tempdir().unwrap();
    let q = "SELECT event_name, count(*) AS n FROM cloudtrail GROUP BY 1 ORDER BY n DESC, 1";
    let total: usize = scalar(lake, "SELECT count(DISTINCT event_name) FROM cloudtrail")
        .parse()
        .unwrap();

    let csv = d.path().join("out.csv");
    let o = run(&[
        "query",
        "--lake",
        lake,
        q,
        "--format",
        "csv",
        "-o",
        csv.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert_eq!(text.lines().next(), Some("event_name,n"));
    assert_eq!(text.lines().count(), total + 1);

    let pq = d.path().join("out.parquet");
    let o = run(&[
        "query",
        "--lake",
        lake,
        q,
        "--format",
        "parquet",
        "-o",
        pq.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    let r = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(
        std::fs::File::open(&pq).unwrap(),
    )
    .unwrap()
    .build()
    .unwrap();
    assert_eq!(r.map(|b| b.unwrap().num_rows()).sum::<usize>(), total);

    // The findings of the last detect run, joined back to their evidence.
    let findings: usize = scalar(lake, "SELECT count(*) FROM findings")
        .parse()
        .unwrap();
    assert!(findings >= 13, "{findings}");
    // Every finding has its subject; the findings of an incident name it.
    let unnamed: usize = scalar(lake, "SELECT count(*) FROM findings WHERE subject IS NULL")
        .parse()
        .unwrap();
    assert_eq!(unnamed, 0);
    let tied: usize = scalar(
        lake,
        "SELECT count(*) FROM findings WHERE incident_id LIKE 'pwi-%'",
    )
    .parse()
    .unwrap();
    assert!(tied >= 2, "{tied}");
    let rows: Vec<Value> = {
        let o = run(&[
            "query",
            "--lake",
            lake,
            "--format",
            "json",
            "WITH e AS (SELECT detector, unnest(event_ids) AS event_id FROM findings WHERE detector = 'cloudtrail_tampering') \
             SELECT c.event_name FROM e JOIN cloudtrail c ON c.event_id = e.event_id ORDER BY c.event_time",
        ]);
        assert!(o.status.success(), "{}", stderr(&o));
        String::from_utf8(o.stdout.clone())
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    };
    assert_eq!(
        column(&rows, "event_name"),
        ["PutEventSelectors", "StopLogging"]
    );

    // The analyst functions, on real columns: the first call of the foreign-network label (the
    // api deploy role's session, from a Tor exit in 185.220.0.0/16).
    let foreign = sample_labels("labels.jsonl")
        .into_iter()
        .find(|l| l.kind == "foreign_network")
        .expect("a foreign_network label");
    let t = squash(&table(
        lake,
        &format!(
            "SELECT arn_part(user_arn, 'account') AS a, arn_role(session_issuer_arn) AS r, \
             oidc_sub_part(user_name, 'repo') AS repo, access_key_type(user_access_key_id) AS k, \
             json_get_str(request_parameters, 'roleArn') AS role, hour_of_week(event_time) AS h, \
             ip_in_cidr(source_ip_address, '185.220.0.0/16') AS tor \
             FROM cloudtrail WHERE event_id = '{}'",
            foreign.events.iter().min().expect("its events")
        ),
    ));
    assert!(t.contains("|gha-deploy-api|"), "{t}");
    assert!(t.contains("|temporary|"), "{t}");
    assert!(t.contains("|true|"), "{t}");
}

#[test]
fn errors_say_what_and_where_and_the_lake_stays_read_only() {
    let lake = lake();
    let d = tempfile::tempdir().unwrap();
    let file = d.path().join("q.sql");
    std::fs::write(
        &file,
        "SELECT 1;\n\nSELECT event_name\nFROM cloudtrail\nWHERE evnt_name = 'x';\n",
    )
    .unwrap();
    let o = run(&["query", "--lake", lake, "-f", file.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let e = stderr(&o);
    assert!(e.contains("q.sql:5:7: planning error"), "{e}");
    assert!(e.contains("evnt_name") && e.contains("Did you mean"), "{e}");

    let o = run(&[
        "query",
        "--lake",
        lake,
        "SELECT event_name\nFROM cloudtrail WHERE ) = 1",
    ]);
    let e = stderr(&o);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        e.contains("<command line>:2:") && e.contains("syntax error"),
        "{e}"
    );

    let o = run(&["query", "--lake", lake, "SELECT CAST('x' AS INT)"]);
    assert!(stderr(&o).contains("error"), "{}", stderr(&o));

    // Nothing writes, nothing reads outside the lake.
    let target = d.path().join("copied.csv");
    let t = target.to_str().unwrap();
    for (sql, why) in [
        (format!("COPY (SELECT 1) TO '{t}'"), "COPY writes files"),
        (
            format!("CREATE EXTERNAL TABLE p STORED AS CSV LOCATION '{t}'"),
            "CREATE EXTERNAL TABLE",
        ),
        (
            "INSERT INTO findings SELECT * FROM findings".to_string(),
            "writes to table findings",
        ),
        ("DROP TABLE cloudtrail".to_string(), "DROP TABLE"),
        ("CREATE VIEW v AS SELECT 1".to_string(), "CREATE VIEW"),
        // Regression (hardening, stray files): the spill folder could be pointed anywhere.
        (
            format!("SET datafusion.runtime.temp_directory = '{t}'; SELECT 1"),
            "changes the runtime",
        ),
    ] {
        let o = run(&["query", "--lake", lake, &sql]);
        let e = stderr(&o);
        assert_eq!(o.status.code(), Some(2), "{sql}");
        assert!(
            e.contains("refused") && e.contains(why) && e.contains("--allow-write"),
            "{sql}: {e}"
        );
    }
    let o = run(&["query", "--lake", lake, "SELECT * FROM '/etc/passwd'"]);
    assert!(stderr(&o).contains("planning error"), "{}", stderr(&o));
    assert!(!target.exists());
    let o = run(&[
        "query",
        "--lake",
        lake,
        "--allow-write",
        &format!("COPY (SELECT 1 AS x) TO '{t}' STORED AS CSV"),
    ]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(target.exists(), "--allow-write lifts the guard");

    // Hunts: unknown names, parameters and types are named.
    let o = run(&["query", "--lake", lake, "--hunt", "nope"]);
    assert!(
        stderr(&o).contains("no such hunt; the hunts are: access_denied_by_principal"),
        "{}",
        stderr(&o)
    );
    let o = run(&[
        "query",
        "--lake",
        lake,
        "--hunt",
        "root_activity",
        "-p",
        "days=7; DROP TABLE x",
    ]);
    assert!(stderr(&o).contains("takes an integer"), "{}", stderr(&o));
    let o = run(&[
        "query",
        "--lake",
        lake,
        "--hunt",
        "root_activity",
        "-p",
        "weeks=1",
    ]);
    assert!(
        stderr(&o).contains("has no parameter \"weeks\""),
        "{}",
        stderr(&o)
    );
    let o = run(&["query", "--list-hunts"]);
    let listed = String::from_utf8(o.stdout.clone()).unwrap();
    assert_eq!(
        listed.lines().filter(|l| !l.starts_with(' ')).count(),
        12,
        "{listed}"
    );
    assert!(listed.contains("--param min_hops=2"), "{listed}");
}

#[test]
fn log_text_is_inert_in_query_output() {
    let d = tempfile::tempdir().unwrap();
    let mut r1 = record("evil-1", "2026-10-01T10:00:00Z", "GetObject");
    r1["userAgent"] = Value::String("\u{1b}]0;owned\u{7}\u{1b}[2Jtext\u{202e}".into());
    let mut r2 = record("evil-2", "2026-10-01T10:00:01Z", "GetObject");
    r2["userAgent"] = Value::String("=cmd|' /C calc'!A0".into());
    let src = d.path().join("logs");
    let key = src.join(delivery_key("111122223333", "us-east-1", "2026-10-01", 1));
    std::fs::create_dir_all(key.parent().unwrap()).unwrap();
    std::fs::write(&key, delivery(&[r1, r2])).unwrap();
    let lake = d.path().join("lake").display().to_string();
    ingest(&plan(src.display().to_string(), &lake));
    let q = "SELECT user_agent FROM cloudtrail ORDER BY event_time";
    for format in ["table", "csv", "json"] {
        let o = run(&["query", "--lake", &lake, q, "--format", format]);
        let out = String::from_utf8(o.stdout.clone()).unwrap();
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(!out.contains(['\u{1b}', '\u{7}']), "{format}: {out:?}");
        if format != "json" {
            assert!(!out.contains('\u{202e}'), "{format}: {out:?}");
        }
    }
    let o = run(&["query", "--lake", &lake, q, "--format", "csv"]);
    let out = String::from_utf8(o.stdout).unwrap();
    assert_eq!(out.lines().nth(2), Some("'=cmd|' /C calc'!A0"), "{out:?}");
}

#[test]
fn shell_runs_statements_over_lines_and_survives_errors() {
    use std::io::Write;
    let lake = lake();
    let d = tempfile::tempdir().unwrap();
    let mut child = bin()
        .args(["shell", "--lake", lake, "--history"])
        .arg(d.path().join("h"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(
            b"SELECT count(*) AS events\nFROM cloudtrail;\nSELECT nope FROM cloudtrail;\n\
              \\hunt logging_changes days=14\n\\format csv\nSELECT 40 + 2 AS answer;\n\\d runs\n\\q\nSELECT 'never';\n",
        )
        .unwrap();
    let o = child.wait_with_output().unwrap();
    // Regression (hardening, stray exits): a script whose statement failed exited 0.
    assert_eq!(o.status.code(), Some(2));
    let out = String::from_utf8(o.stdout.clone()).unwrap();
    let err = stderr(&o);
    assert!(err.contains("1 statement(s) or command(s) failed"), "{err}");
    let n = scalar(lake, "SELECT count(*) FROM cloudtrail");
    assert!(out.contains(&format!(" {n} |")), "{out}");
    assert!(err.contains("<shell>:1:8: planning error"), "{err}");
    assert!(out.contains("StopLogging"), "{out}");
    assert!(out.contains("answer\n42\n"), "{out}");
    assert!(out.contains("pipeline_id\tUtf8"), "{out}");
    assert!(!out.contains("never"), "\\q quits");
}

#[test]
fn lint_plans_every_query_and_reports_every_failure() {
    let o = run(&["lint"]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stdout));
    assert!(stderr(&o).contains("0 failure(s)"), "{}", stderr(&o));

    let d = tempfile::tempdir().unwrap();
    let hunts = d.path().join("hunts");
    std::fs::create_dir_all(&hunts).unwrap();
    std::fs::write(
        hunts.join("typo.sql"),
        "-- name: typo\n-- question: Does it plan?\n-- mitre: T1078 Valid Accounts\nSELECT event_nme\nFROM cloudtrail\n",
    )
    .unwrap();
    std::fs::write(hunts.join("bare.sql"), "SELECT 1 FROM no_such_table\n").unwrap();
    std::fs::write(
        hunts.join("ok.sql"),
        "-- name: ok\n-- question: Fine?\n-- mitre: T1078 Valid Accounts\n-- param: n = 3  rows\nSELECT * FROM runs LIMIT ${n}\n",
    )
    .unwrap();
    let o = run(&["lint", "--queries", d.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    let out = String::from_utf8(o.stdout.clone()).unwrap();
    assert!(out.contains("typo.sql:4:8: planning error"), "{out}");
    assert!(
        out.contains("bare.sql: header has no `-- question:`"),
        "{out}"
    );
    assert!(
        out.contains("bare.sql:1:15: planning error") && out.contains("no_such_table"),
        "{out}"
    );
    assert!(!out.contains("ok.sql"), "{out}");
    let o = run(&[
        "query",
        "--lake",
        lake(),
        "--queries",
        d.path().to_str().unwrap(),
        "--hunt",
        "ok",
        "-p",
        "n=2",
        "--format",
        "csv",
    ]);
    assert_eq!(
        String::from_utf8(o.stdout.clone()).unwrap().lines().count(),
        3,
        "{}",
        stderr(&o)
    );
}

/// Data files a query's physical plan reads.
fn files_read(lake: &str, sql: &str) -> Vec<String> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let lake = local_lake(lake);
        let ctx = pipewarden::engine::session(&lake).await.unwrap();
        let plan = ctx
            .sql(sql)
            .await
            .unwrap()
            .create_physical_plan()
            .await
            .unwrap();
        let text = datafusion::physical_plan::displayable(plan.as_ref())
            .indent(true)
            .to_string();
        text.split(|c: char| c == '[' || c == ']' || c == ',' || c.is_whitespace())
            .filter_map(|w| w.find(".parquet").map(|i| w[..i + 8].to_string()))
            .collect()
    })
}

#[test]
fn a_query_for_one_day_reads_only_that_day() {
    let lake = lake();
    for sql in [
        "SELECT event_id FROM cloudtrail WHERE event_date = DATE '2026-10-01'",
        "SELECT pipeline_id FROM pipeline_events WHERE event_date = DATE '2026-10-01'",
        "SELECT event_id FROM cloudtrail WHERE event_time >= TIMESTAMP '2026-10-01T00:00:00Z' AND event_time < TIMESTAMP '2026-10-02T00:00:00Z'",
        "SELECT pipeline_id FROM pipeline_events WHERE event_time BETWEEN TIMESTAMP '2026-10-01T08:00:00Z' AND TIMESTAMP '2026-10-01T09:00:00Z'",
        "SELECT run_id FROM builds WHERE event_time >= TIMESTAMP '2026-10-01T00:00:00Z' AND event_time < TIMESTAMP '2026-10-02T00:00:00Z'",
    ] {
        let files = files_read(lake, sql);
        assert!(!files.is_empty(), "{sql}");
        assert!(
            files.iter().all(|f| f.contains("event_date=2026-10-01/")),
            "{sql}: {files:?}"
        );
    }
    // The answer is the same as without pruning.
    assert_eq!(
        scalar(
            lake,
            "SELECT count(*) FROM cloudtrail WHERE event_time >= TIMESTAMP '2026-10-01T00:00:00Z' AND event_time < TIMESTAMP '2026-10-02T00:00:00Z'"
        ),
        scalar(
            lake,
            "SELECT count(*) FROM cloudtrail WHERE CAST(event_time AS VARCHAR) LIKE '2026-10-01%'"
        ),
    );
}

#[test]
fn queries_and_findings_on_an_s3_lake() {
    let (rt, client, bucket) = bucket("query-lake");
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs");
    let lake = format!("s3://{bucket}/lake");
    let mut p = plan(src.join("cloudtrail/AWSLogs").display().to_string(), &lake);
    p.s3 = s3_options();
    ingest(&p);
    let endpoint = s3_endpoint();
    let s3 = ["--endpoint-url", endpoint.as_str(), "--path-style"];
    let o = bin()
        .args([
            "detect",
            "--lake",
            &lake,
            "--baseline",
            "23d",
            "--window",
            "12d",
            "--until",
            "2026-10-06",
        ])
        .args(s3)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let listed = rt
        .block_on(
            client
                .list_objects_v2()
                .bucket(&bucket)
                .prefix("lake/findings/")
                .send(),
        )
        .unwrap();
    assert_eq!(listed.key_count(), Some(1));
    let o = bin()
        .args([
            "query",
            "--lake",
            &lake,
            "--hunt",
            "logging_changes",
            "-p",
            "days=14",
            "--format",
            "csv",
        ])
        .args(s3)
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        String::from_utf8(o.stdout.clone())
            .unwrap()
            .contains("StopLogging")
    );
    let o = bin()
        .args([
            "query",
            "--lake",
            &lake,
            "SELECT count(*) AS n FROM findings WHERE detector = 'root_activity'",
            "--format",
            "csv",
        ])
        .args(s3)
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8(o.stdout.clone()).unwrap(),
        "n\n1\n",
        "{}",
        stderr(&o)
    );
    // Regression (hardening, item 13): a wrong prefix was an empty lake and a clean exit.
    for cmd in [
        vec!["detect", "--lake"],
        vec!["query", "SELECT 1", "--lake"],
    ] {
        let o = bin()
            .args(&cmd)
            .arg(format!("s3://{bucket}/lak"))
            .args(s3)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(2), "{cmd:?}: {}", stderr(&o));
        assert!(
            stderr(&o).contains("holds no cloudtrail data"),
            "{}",
            stderr(&o)
        );
    }
}

/// Regression (hardening, item 13): `detect --lake typo`, `query --lake /nonexistent`, `shell`
/// and `lint --lake` on a missing or empty lake created it, reported nothing and exited 0. Only
/// ingest and generate create a lake; every other command names the lake and exits 2.
#[test]
fn a_mistyped_or_missing_lake_is_an_error() {
    let d = tempfile::tempdir().unwrap();
    let missing = d.path().join("typo");
    let empty = d.path().join("empty");
    std::fs::create_dir(&empty).unwrap();
    for lake in [&missing, &empty] {
        let l = lake.to_str().unwrap();
        for args in [
            vec!["detect", "--lake", l],
            vec!["query", "--lake", l, "SELECT 1"],
            vec!["lint", "--lake", l],
            vec!["shell", "--lake", l],
        ] {
            let o = bin()
                .args(&args)
                .stdin(std::process::Stdio::null())
                .output()
                .unwrap();
            assert_eq!(o.status.code(), Some(2), "{args:?}: {}", stderr(&o));
            let why = if lake == &missing {
                "no such folder"
            } else {
                "holds no cloudtrail data"
            };
            assert!(stderr(&o).contains(why), "{args:?}: {}", stderr(&o));
        }
    }
    assert!(!missing.exists(), "a reading command created the lake");
    assert_eq!(std::fs::read_dir(&empty).unwrap().count(), 0);
}

/// Regression: `query --list-hunts | head -1` panicked on the closed pipe (exit 101). Every
/// command's stdout now treats a reader that went away as the end of the output.
#[test]
fn list_hunts_into_a_closed_pipe_is_not_a_crash() {
    let mut child = bin()
        .args(["query", "--list-hunts"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // The reader goes away before the first line is written.
    drop(child.stdout.take());
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(!stderr(&o).contains("panicked"), "{}", stderr(&o));
}
