//! `pipewarden permissions` (issue 18): the review against the generator's truth
//! (`sample-logs/truth/permissions.json`, from the grants it made and the calls it emitted,
//! mapped by its own hand-written table), the same review from the live account (`--iam`,
//! aws-sdk-iam against moto's IAM) as from the trail, the suggested policies accepted by
//! moto's IAM policy validator, malformed policy documents named and skipped, and the event
//! mapping's coverage of every event name in `shared/external`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::{Value, json};

use crate::helpers::*;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_pipewarden"))
}

/// The review of `lake` as JSON, with `extra` flags.
fn review(lake: &str, since: &str, until: &str, extra: &[&str]) -> Value {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("review.json");
    let o = bin()
        .args([
            "permissions",
            "--lake",
            lake,
            "--since",
            since,
            "--until",
            until,
        ])
        .args(["--format", "json", "-o"])
        .arg(&out)
        .args(extra)
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    serde_json::from_slice(&std::fs::read(&out).unwrap()).unwrap()
}

fn set(v: &Value) -> BTreeSet<String> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_str().unwrap().to_string())
        .collect()
}

fn entries(r: &Value) -> BTreeMap<String, Value> {
    r["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| (e["role_arn"].as_str().unwrap().to_string(), e.clone()))
        .collect()
}

/// Every action of a policy document's statements.
fn policy_actions(p: &Value) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for s in p["Statement"].as_array().unwrap() {
        match &s["Action"] {
            Value::String(a) => {
                out.insert(a.clone());
            }
            Value::Array(a) => out.extend(a.iter().map(|x| x.as_str().unwrap().to_string())),
            _ => panic!("no Action in {s}"),
        }
    }
    out
}

#[test]
fn the_review_matches_the_generators_truth_for_every_pipeline_principal() {
    let truth: Value = serde_json::from_slice(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs/truth/permissions.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let r = review(sample_lake(), "40d", "2026-10-05", &[]);
    assert_eq!(r["schema"], "pipewarden.permissions/v1");
    let got = entries(&r);
    let mut checked = 0;
    for (arn, t) in truth.as_object().unwrap() {
        let used = set(&t["used"]);
        if used.is_empty() {
            // A principal that never acted is not one a pipeline is known to use.
            continue;
        }
        let e = got
            .get(arn)
            .unwrap_or_else(|| panic!("no review entry for {arn}"));
        let got_used: BTreeSet<String> = e["used"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["action"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got_used, used, "{arn}: used actions");
        let got_denied: BTreeSet<String> = e["denied"]
            .as_array()
            .unwrap()
            .iter()
            .map(|u| u["action"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(got_denied, set(&t["denied"]), "{arn}: denied actions");
        // Granted exactly: the trail holds every grant (all made on day 0 or after).
        assert_eq!(e["granted"]["source"], "trail", "{arn}");
        assert_eq!(e["granted"]["complete"], true, "{arn}");
        let policies = e["granted"]["policies"].as_array().unwrap();
        let managed: BTreeSet<String> = policies
            .iter()
            .filter(|p| p["kind"] == "managed")
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        let inline: BTreeSet<String> = policies
            .iter()
            .filter(|p| p["kind"] == "inline")
            .map(|p| p["name"].as_str().unwrap().to_string())
            .collect();
        assert_eq!(managed, set(&t["managed"]), "{arn}: managed policies");
        assert_eq!(inline, set(&t["inline"]), "{arn}: inline policies");
        let granted_patterns = set(&e["granted"]["actions"]);
        let inline_patterns = set(&t["inline_patterns"]);
        assert!(
            inline_patterns.is_subset(&granted_patterns),
            "{arn}: {inline_patterns:?} not in {granted_patterns:?}"
        );
        if managed.is_empty() {
            assert_eq!(granted_patterns, inline_patterns, "{arn}: granted actions");
        }
        // The suggestion covers the used actions and nothing else, with no wildcard action.
        let suggested = policy_actions(&e["suggested_policy"]);
        assert_eq!(suggested, used, "{arn}: suggested policy");
        assert!(suggested.iter().all(|a| !a.contains('*')), "{arn}");
        checked += 1;
    }
    assert!(checked >= 15, "only {checked} principals checked");
    // The broad grants the generator made are named with their reason.
    let reasons = |arn: &str| -> BTreeSet<String> {
        got[arn]["broad"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["reason"].as_str().unwrap().to_string())
            .collect()
    };
    assert!(reasons("arn:aws:iam::444444444444:role/gha-terraform").contains("administrator"));
    assert!(reasons("arn:aws:iam::333333333333:role/gha-deploy-api").contains("pass_role_any"));
    assert!(reasons("arn:aws:iam::333333333333:role/gha-deploy-api").contains("service_wildcard"));
    // Broadened in the anomaly window: AdministratorAccess and a `*` inline policy.
    assert!(
        reasons("arn:aws:iam::111111111111:role/codebuild-payments-build")
            .contains("administrator")
    );
    assert!(reasons("arn:aws:iam::222222222222:role/gitlab-deploy-search").is_empty());
    let f = got["arn:aws:iam::444444444444:role/gha-terraform"]["fraction_used"]
        .as_f64()
        .unwrap();
    assert!(f > 0.0 && f < 0.01, "{f}");
}

#[test]
fn the_review_renders_for_people_in_every_format() {
    let d = tempfile::tempdir().unwrap();
    for (format, needle) in [
        ("table", "gha-terraform"),
        ("markdown", "## github:acme/infra:terraform.yml"),
        ("html", "<h2>github:acme/infra:terraform.yml</h2>"),
    ] {
        let out = d.path().join(format!("r.{format}"));
        let o = bin()
            .args(["permissions", "--lake", sample_lake(), "--since", "40d"])
            .args(["--until", "2026-10-05", "--format", format, "-o"])
            .arg(&out)
            .output()
            .unwrap();
        assert_eq!(o.status.code(), Some(0));
        let text = std::fs::read_to_string(&out).unwrap();
        assert!(text.contains(needle), "{format}: {needle}");
    }
    if let Some(chromium) = chromium() {
        render_in_chromium(&chromium, &d.path().join("r.html"), "permissions.png");
    }
}

fn chromium() -> Option<String> {
    ["chromium", "chromium-browser"].iter().find_map(|c| {
        Command::new(c)
            .arg("--version")
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|_| c.to_string())
    })
}

fn record(
    id: &str,
    t: &str,
    who: Value,
    source: &str,
    name: &str,
    req: Value,
    resp: Value,
) -> Value {
    json!({"eventVersion": "1.09", "userIdentity": who, "eventTime": t, "eventSource": source,
        "eventName": name, "awsRegion": "us-east-1", "sourceIPAddress": "203.0.113.9",
        "userAgent": "aws-cli/2.15.0", "requestParameters": req, "responseElements": resp,
        "requestID": id, "eventID": id, "readOnly": false, "eventType": "AwsApiCall",
        "managementEvent": true, "recipientAccountId": "123456789012", "eventCategory": "Management"})
}

const ACCOUNT: &str = "123456789012";

/// A customer managed policy the role has attached.
fn read_policy() -> String {
    json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
        "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]})
    .to_string()
}

/// A small trail: an admin grants a CI user and its deploy role, the user assumes the role,
/// both call AWS. `with_grants` false leaves the IAM changes out (the lake began later).
fn write_trail(dir: &Path, user: &str, role: &str, with_grants: bool) -> PathBuf {
    let admin = json!({"type": "IAMUser", "principalId": "AIDAADMIN", "arn": format!("arn:aws:iam::{ACCOUNT}:user/admin"),
        "accountId": ACCOUNT, "accessKeyId": "AKIAADMINEXAMPLE0001", "userName": "admin"});
    let user_arn = format!("arn:aws:iam::{ACCOUNT}:user/{user}");
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/{role}");
    let ci = json!({"type": "IAMUser", "principalId": "AIDACI", "arn": user_arn, "accountId": ACCOUNT,
        "accessKeyId": "AKIACIEXAMPLE0000001", "userName": user});
    let session = json!({"type": "AssumedRole", "principalId": format!("AROA:{user}"),
        "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/ci"), "accountId": ACCOUNT,
        "accessKeyId": "ASIASESSIONEXAMPLE01",
        "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROA", "arn": role_arn,
            "accountId": ACCOUNT, "userName": role}, "attributes": {"creationDate": "2026-11-02T10:00:00Z", "mfaAuthenticated": "false"}}});
    let mut records = vec![];
    if with_grants {
        let inline = json!({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "arn:aws:s3:::artifacts-pw/*"},
            {"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}]})
        .to_string();
        let trust = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
            "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"}]})
        .to_string();
        let assume = json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}]}).to_string();
        let iam = "iam.amazonaws.com";
        let read_arn = format!("arn:aws:iam::{ACCOUNT}:policy/read-{role}");
        records.extend([
            record("g0", "2026-11-01T08:59:59Z", admin.clone(), iam, "CreatePolicy", json!({"policyName": format!("read-{role}"), "policyDocument": read_policy()}), json!({"policy": {"arn": read_arn, "defaultVersionId": "v1"}})),
            record("g1", "2026-11-01T09:00:00Z", admin.clone(), iam, "CreateUser", json!({"userName": user}), json!({"user": {"arn": user_arn}})),
            record("g2", "2026-11-01T09:00:01Z", admin.clone(), iam, "PutUserPolicy", json!({"userName": user, "policyName": "assume", "policyDocument": assume}), Value::Null),
            record("g3", "2026-11-01T09:00:02Z", admin.clone(), iam, "CreateRole", json!({"roleName": role, "assumeRolePolicyDocument": trust}), json!({"role": {"arn": role_arn}})),
            record("g4", "2026-11-01T09:00:03Z", admin.clone(), iam, "AttachRolePolicy", json!({"roleName": role, "policyArn": read_arn}), Value::Null),
            record("g5", "2026-11-01T09:00:04Z", admin.clone(), iam, "PutRolePolicy", json!({"roleName": role, "policyName": "deploy", "policyDocument": inline}), Value::Null),
            // Malformed: reported with its event id and skipped, never a crash.
            record("bad-policy-event", "2026-11-01T09:00:05Z", admin.clone(), iam, "PutRolePolicy", json!({"roleName": role, "policyName": "broken", "policyDocument": "{\"Statement\": [{\"Effect\": \"Perhaps\""}), Value::Null),
        ]);
    }
    records.push(record("a1", "2026-11-02T10:00:00Z", ci.clone(), "sts.amazonaws.com", "AssumeRole",
        json!({"roleArn": role_arn, "roleSessionName": "ci"}),
        json!({"credentials": {"accessKeyId": "ASIASESSIONEXAMPLE01", "expiration": "Nov 2, 2026, 11:00:00 AM", "sessionToken": "x"},
               "assumedRoleUser": {"assumedRoleId": "AROA:ci", "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/{role}/ci")}})));
    for (i, (src, name, req, err)) in [
        (
            "s3.amazonaws.com",
            "PutObject",
            json!({"bucketName": "artifacts-pw", "key": "releases/1/app.tar"}),
            None,
        ),
        (
            "s3.amazonaws.com",
            "HeadObject",
            json!({"bucketName": "artifacts-pw", "key": "releases/1/app.tar"}),
            None,
        ),
        (
            "ecs.amazonaws.com",
            "UpdateService",
            json!({"service": "web"}),
            None,
        ),
        ("sts.amazonaws.com", "GetCallerIdentity", json!({}), None),
        (
            "kms.amazonaws.com",
            "Decrypt",
            json!({}),
            Some("AccessDenied"),
        ),
    ]
    .into_iter()
    .enumerate()
    {
        let mut r = record(
            &format!("u{i}"),
            &format!("2026-11-02T10:0{i}:30Z"),
            session.clone(),
            src,
            name,
            req,
            Value::Null,
        );
        if let Some(e) = err {
            r["errorCode"] = json!(e);
        }
        records.push(r);
    }
    let folder = dir.join(format!("AWSLogs/{ACCOUNT}/CloudTrail/us-east-1/2026/11/02"));
    std::fs::create_dir_all(&folder).unwrap();
    std::fs::write(
        folder.join(format!(
            "{ACCOUNT}_CloudTrail_us-east-1_20261102T1000Z_test.json"
        )),
        serde_json::to_vec(&json!({"Records": records})).unwrap(),
    )
    .unwrap();
    let cfg = dir.join("pipewarden.toml");
    std::fs::write(
        &cfg,
        format!("[[pipelines]]\nid = \"ci-deploy\"\niam_users = [\"{user_arn}\"]\n"),
    )
    .unwrap();
    cfg
}

fn lake_of(dir: &Path) -> String {
    let lake = dir.join("lake").display().to_string();
    let o = bin()
        .args(["ingest", "--no-progress", "--from"])
        .arg(dir.join("AWSLogs"))
        .args(["--lake", &lake])
        .output()
        .unwrap();
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    lake
}

/// What must agree between the trail's review and the live account's: everything but where
/// each grant is known from and the grant's event ids.
fn comparable(e: &Value) -> Value {
    let mut e = e.clone();
    let g = e["granted"].as_object_mut().unwrap();
    g.remove("source");
    g.remove("event_ids");
    for p in g["policies"].as_array_mut().unwrap() {
        p.as_object_mut().unwrap().remove("sources");
    }
    e.as_object_mut().unwrap().remove("access_keys");
    e
}

#[test]
fn the_live_account_through_iam_gives_the_same_review_as_the_trail() {
    let sfx = &uuid_hex()[..8];
    let (user, role) = (format!("ci-{sfx}"), format!("deploy-{sfx}"));
    let with = tempfile::tempdir().unwrap();
    let without = tempfile::tempdir().unwrap();
    let cfg = write_trail(with.path(), &user, &role, true);
    let cfg2 = write_trail(without.path(), &user, &role, false);
    let (lake, lake2) = (lake_of(with.path()), lake_of(without.path()));

    // The same grants on moto's IAM, through the SDK users get.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let aws = rt.block_on(pipewarden::aws::AwsContext::load(&s3_options()));
    let iam = aws_sdk_iam::Client::from_conf(aws_sdk_iam::config::Builder::from(&aws.sdk).build());
    let user_arn = format!("arn:aws:iam::{ACCOUNT}:user/{user}");
    let role_arn = format!("arn:aws:iam::{ACCOUNT}:role/{role}");
    rt.block_on(async {
        iam.create_user().user_name(&user).send().await.unwrap();
        iam.put_user_policy().user_name(&user).policy_name("assume")
            .policy_document(json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}]}).to_string())
            .send().await.unwrap();
        iam.create_role().role_name(&role)
            .assume_role_policy_document(json!({"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
                "Principal": {"AWS": user_arn}, "Action": "sts:AssumeRole"}]}).to_string())
            .send().await.unwrap();
        let read = iam.create_policy().policy_name(format!("read-{role}")).policy_document(read_policy())
            .send().await.unwrap();
        iam.attach_role_policy().role_name(&role)
            .policy_arn(read.policy().unwrap().arn().unwrap()).send().await.unwrap();
        iam.put_role_policy().role_name(&role).policy_name("deploy")
            .policy_document(json!({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": "arn:aws:s3:::artifacts-pw/*"},
                {"Effect": "Allow", "Action": "ecs:*", "Resource": "*"}]}).to_string())
            .send().await.unwrap();
    });

    let from_trail = review(
        &lake,
        "30d",
        "2026-11-03",
        &["--config", cfg.to_str().unwrap()],
    );
    let live = review(
        &lake2,
        "30d",
        "2026-11-03",
        &[
            "--config",
            cfg2.to_str().unwrap(),
            "--iam",
            "--iam-endpoint-url",
            &s3_endpoint(),
        ],
    );
    // Without --iam, the later lake cannot know the grants.
    let blind = review(
        &lake2,
        "30d",
        "2026-11-03",
        &["--config", cfg2.to_str().unwrap()],
    );
    let (a, b, c) = (entries(&from_trail), entries(&live), entries(&blind));
    assert_eq!(a.keys().collect::<Vec<_>>(), [&role_arn, &user_arn]);
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for k in a.keys() {
        assert_eq!(comparable(&a[k]), comparable(&b[k]), "{k}");
        assert_eq!(b[k]["granted"]["source"], "iam", "{k}");
        assert_eq!(a[k]["granted"]["source"], "trail", "{k}");
        assert_eq!(c[k]["granted"]["source"], "unknown", "{k}");
        assert!(c[k]["fraction_used"].is_null(), "{k}");
    }
    let r = &a[&role_arn];
    let used: BTreeSet<String> = r["used"]
        .as_array()
        .unwrap()
        .iter()
        .map(|u| u["action"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(
        used,
        BTreeSet::from([
            "ecs:UpdateService".to_string(),
            "s3:GetObject".into(),
            "s3:PutObject".into()
        ])
    );
    assert_eq!(r["denied"][0]["action"], "kms:Decrypt");
    assert_eq!(r["permissionless_calls"], 1);
    let s3 = r["used"]
        .as_array()
        .unwrap()
        .iter()
        .find(|u| u["action"] == "s3:PutObject")
        .unwrap();
    assert_eq!(
        s3["resources"],
        json!(["arn:aws:s3:::artifacts-pw/releases/*"])
    );
    assert!(
        r["broad"]
            .as_array()
            .unwrap()
            .iter()
            .any(|b| b["reason"] == "service_wildcard")
    );
    // The malformed document is named with its event and skipped.
    let warnings = from_trail["warnings"].as_array().unwrap();
    assert!(
        warnings
            .iter()
            .any(|w| w.as_str().unwrap().contains("bad-policy-event")),
        "{warnings:?}"
    );
    assert!(
        !r["granted"]["policies"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["name"] == "broken")
    );

    // Every suggested policy is one IAM accepts: moto's IAM validates the document.
    for (k, e) in a
        .iter()
        .chain(entries(&review(sample_lake(), "40d", "2026-10-05", &[])).iter())
    {
        let name = format!(
            "suggested-{}-{}",
            &uuid_hex()[..8],
            k.rsplit('/').next().unwrap()
        );
        let doc = e["suggested_policy"].to_string();
        if e["used"].as_array().unwrap().is_empty() {
            continue;
        }
        rt.block_on(
            iam.create_policy()
                .policy_name(&name)
                .policy_document(&doc)
                .send(),
        )
        .unwrap_or_else(|err| {
            panic!(
                "{k}: {doc}: {}",
                aws_sdk_iam::error::DisplayErrorContext(&err)
            )
        });
    }
}

/// Every event name in the real fixtures of `shared/external`, through the mapping: the ones it
/// cannot map are listed here with the reason, and none other may appear.
#[test]
fn the_mapping_covers_every_event_name_in_shared_external() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/external");
    if !root.exists() {
        panic!("{} is missing", root.display());
    }
    let mut names: BTreeSet<(String, String, String)> = BTreeSet::new();
    let mut visit = |v: &Value| {
        let mut stack = vec![v];
        while let Some(v) = stack.pop() {
            match v {
                Value::Object(m) => {
                    if let (Some(Value::String(s)), Some(Value::String(n))) =
                        (m.get("eventSource"), m.get("eventName"))
                        && s.ends_with(".amazonaws.com")
                    {
                        // CloudTrail records only (not S3 or CodeCommit notifications).
                        let t = m
                            .get("eventType")
                            .and_then(Value::as_str)
                            .unwrap_or("AwsApiCall");
                        names.insert((s.clone(), n.clone(), t.to_string()));
                    }
                    stack.extend(m.values());
                }
                Value::Array(a) => stack.extend(a.iter()),
                _ => {}
            }
        }
    };
    for entry in walkdir::WalkDir::new(&root)
        .into_iter()
        .filter_map(Result::ok)
    {
        let p = entry.path();
        let Some(text) = read_maybe_gz(p) else {
            continue;
        };
        if let Ok(v) = serde_json::from_str::<Value>(&text) {
            visit(&v);
        } else {
            for line in text.lines() {
                if let Ok(v) = serde_json::from_str::<Value>(line) {
                    visit(&v);
                }
            }
        }
    }
    assert!(names.len() > 300, "only {} event names found", names.len());
    use pipewarden::permissions::catalog::{Mapped, map_event};
    let mut unmapped = BTreeMap::new();
    for (s, n, t) in &names {
        if let Mapped::Unmapped(why) = map_event(s, n, Some(t)) {
            unmapped.insert(format!("{s} {n}"), why);
        }
    }
    let listed: BTreeSet<&str> = KNOWN_UNMAPPED.iter().copied().collect();
    let found: BTreeSet<&str> = unmapped.keys().map(String::as_str).collect();
    let new: Vec<String> = found
        .difference(&listed)
        .map(|k| format!("{k}: {}", unmapped[*k]))
        .collect();
    assert!(
        new.is_empty(),
        "unmapped event names not listed:\n{}",
        new.join("\n")
    );
    let gone: Vec<&&str> = listed.difference(&found).collect();
    assert!(
        gone.is_empty(),
        "listed as unmapped but now mapped: {gone:?}"
    );
}

fn read_maybe_gz(p: &Path) -> Option<String> {
    let name = p.file_name()?.to_str()?;
    if !p.is_file()
        || !(name.contains(".json") || name.ends_with(".cloudtrail") || name.ends_with(".jsonl"))
    {
        return None;
    }
    let bytes = std::fs::read(p).ok()?;
    if name.ends_with(".gz") {
        use std::io::Read;
        let mut s = String::new();
        flate2::read::GzDecoder::new(&bytes[..])
            .read_to_string(&mut s)
            .ok()?;
        Some(s)
    } else {
        String::from_utf8(bytes).ok()
    }
}

/// Event names of `shared/external` with no IAM action, and why (see each line).
const KNOWN_UNMAPPED: &[&str] = &[
    "agreement-marketplace.amazonaws.com AcceptAgreementRequest", // no IAM namespace for this event source in the catalogue
    "agreement-marketplace.amazonaws.com SearchAgreements", // no IAM namespace for this event source in the catalogue
    "billingconsole.amazonaws.com GetAlternateContact", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
    "billingconsole.amazonaws.com GetContactInformation", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
    "cloudtrail.amazonaws.com CreateServiceLinkedChannel", // the service's own event (eventType AwsServiceEvent)
    "cloudtrail.amazonaws.com DeleteRule", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
    "cloudtrail.amazonaws.com DescribeTrail", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
    "cloudtrail.amazonaws.com EnableRegion", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
    "discovery-marketplace.amazonaws.com GetListingView", // no IAM namespace for this event source in the catalogue
    "ec2.amazonaws.com DeleteBucketEncryption", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
    "ec2.amazonaws.com DeleteBucketPublicAccessBlock", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
    "ec2.amazonaws.com DeleteBucketReplication", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
    "ec2.amazonaws.com PutBucketLogging", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
    "ec2.amazonaws.com PutBucketVersioning", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
    "ec2.amazonaws.com RegisterManagedInstance", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
    "ec2.amazonaws.com SharedSnapshotCopyInitiated", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
    "ec2.amazonaws.com SharedSnapshotVolumeCreated", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
    "ec2messages.amazonaws.com SendHeartbeat", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
    "iam.amazonaws.com DescribePolicy", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
    "iam.amazonaws.com DetachUserGroup", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
    "iam.amazonaws.com NotCreateUser", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
    "iam.amazonaws.com PutPolicy", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
    "kms.amazonaws.com RotateKey", // the service's own event (eventType AwsServiceEvent)
    "macie.amazonaws.com UpdateMacieSession", // no IAM namespace for this event source in the catalogue
    "s3.amazonaws.com CreateServiceLinkedRole", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
    "s3.amazonaws.com JobCreated", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
    "s3.amazonaws.com SetQueueAttributes", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
    "servicecatalog-appregistry.amazonaws.com ListApplications", // no IAM namespace for this event source in the catalogue
    "signin.amazonaws.com AssumeRole",                           // sign-in event, not an API call
    "signin.amazonaws.com CheckMfa",                             // sign-in event, not an API call
    "signin.amazonaws.com ConsoleLogin",                         // sign-in event, not an API call
    "signin.amazonaws.com ExternalIdPDirectoryLogin",            // sign-in event, not an API call
    "signin.amazonaws.com GetSigninToken",                       // sign-in event, not an API call
    "signin.amazonaws.com PasswordRecoveryRequested",            // sign-in event, not an API call
    "signin.amazonaws.com PasswordUpdated",                      // sign-in event, not an API call
    "signin.amazonaws.com SwitchRole",                           // sign-in event, not an API call
    "sso.amazonaws.com Authenticate", // the service's own event (eventType AwsServiceEvent)
    "sso.amazonaws.com CreateToken", // no IAM action of that name in the catalogue: console-internal, retired, or a test case's made-up name
];

/// `detect --permissions` on the anomaly days: `permissions_admin` on every administrator grant
/// the generator planted, `permissions_unused` on every principal using under 10% of its grant,
/// nothing on the tight grants; suppressible; strictly valid OCSF.
#[test]
fn detect_with_permissions_finds_the_planted_broad_grants_and_not_the_tight_ones() {
    use pipewarden::detect::{DetectPlan, suppress::Suppressions};
    let d = tempfile::tempdir().unwrap();
    let sup = d.path().join("suppressions.toml");
    std::fs::write(
        &sup,
        "[[suppress]]\ndetector = \"permissions_admin\"\npipeline = \"github:acme/infra:*\"\n\
         expires = \"2099-12-31\"\nreason = \"terraform applies everything (TICKET-7: split the role)\"\n",
    )
    .unwrap();
    let plan = DetectPlan {
        baseline_days: 23,
        window_days: 12,
        until: Some(chrono::NaiveDate::from_ymd_opt(2026, 10, 6).unwrap()),
        permissions: true,
        suppressions: Suppressions::load(&sup).unwrap(),
        ..Default::default()
    };
    let lake_dir = sample_lake();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let r = rt.block_on(async {
        let lake = local_lake(lake_dir);
        let ctx = pipewarden::engine::session(&lake).await.unwrap();
        pipewarden::detect::detect(&ctx, &plan).await.unwrap()
    });
    let of = |detector: &str| -> BTreeMap<String, &pipewarden::detect::Finding> {
        r.findings
            .iter()
            .filter(|f| f.detector == detector)
            .map(|f| (f.value.clone(), f))
            .collect()
    };
    let (admin, unused) = (of("permissions_admin"), of("permissions_unused"));

    // What the generator planted (its truth), not what the review computed: administrator
    // managed or inline grants, and the tight grants (no wildcard at all).
    let truth: Value = serde_json::from_slice(
        &std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs/truth/permissions.json"),
        )
        .unwrap(),
    )
    .unwrap();
    let planted_admin: BTreeSet<String> = truth
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, t)| {
            set(&t["managed"]).contains("arn:aws:iam::aws:policy/AdministratorAccess")
                || set(&t["inline_patterns"]).contains("*")
        })
        .map(|(a, _)| a.clone())
        .collect();
    let tight: BTreeSet<String> = truth
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, t)| {
            set(&t["managed"]).is_empty()
                && set(&t["inline_patterns"]).iter().all(|p| !p.contains('*'))
        })
        .map(|(a, _)| a.clone())
        .collect();
    assert_eq!(planted_admin.len(), 4, "{planted_admin:?}");
    assert_eq!(
        admin.keys().cloned().collect::<BTreeSet<_>>(),
        planted_admin,
        "permissions_admin fires on exactly the planted administrator grants"
    );
    for (arn, f) in &admin {
        assert!(
            f.explanation.contains("AdministratorAccess") || f.explanation.contains("Action \"*\""),
            "{}",
            f.explanation
        );
        assert!(!f.event_ids.is_empty(), "{arn}: no evidence");
        assert_eq!(
            f.suppressed.is_some(),
            arn.ends_with("role/gha-terraform"),
            "{arn}"
        );
    }
    // The anomaly's AttachRolePolicy (AdministratorAccess on the payments-build role) is evidence.
    let labels = sample_labels("labels.jsonl");
    let broadened = labels
        .iter()
        .find(|l| l.kind == "pipeline_role_broadened")
        .unwrap();
    assert!(shows(
        broadened,
        admin["arn:aws:iam::111111111111:role/codebuild-payments-build"]
    ));

    // permissions_unused on exactly the principals using under 10% of their grant (35 days of
    // history), with the numbers in the explanation; never on a tight grant.
    let review = review(sample_lake(), "35d", "2026-10-05", &[]);
    let under: BTreeSet<String> = entries(&review)
        .into_iter()
        .filter(|(_, e)| e["fraction_used"].as_f64().is_some_and(|f| f < 0.10))
        .map(|(a, _)| a)
        .collect();
    assert!(under.len() >= 10, "{under:?}");
    assert_eq!(unused.keys().cloned().collect::<BTreeSet<_>>(), under);
    for f in unused.values() {
        assert!(
            f.explanation.contains("granted actions"),
            "{}",
            f.explanation
        );
        assert!(f.explanation.contains('%'), "{}", f.explanation);
    }
    for arn in &tight {
        assert!(
            !admin.contains_key(arn) && !unused.contains_key(arn),
            "{arn} is tight"
        );
    }
    assert!(tight.len() >= 4, "{tight:?}");
    let planted_broad: BTreeSet<&String> = truth
        .as_object()
        .unwrap()
        .keys()
        .filter(|a| !tight.contains(*a))
        .collect();
    let fired: Vec<&String> = admin.keys().chain(unused.keys()).collect();
    let precision =
        fired.iter().filter(|a| planted_broad.contains(*a)).count() as f64 / fired.len() as f64;
    eprintln!(
        "detect --permissions: {} permissions_admin, {} permissions_unused, precision {precision:.2} against the planted broad grants, {} tight grants quiet",
        admin.len(),
        unused.len(),
        tight.len()
    );
    assert_eq!(precision, 1.0);

    // Strictly valid OCSF, every version.
    use pipewarden::report::formats::{OcsfVersion, ocsf};
    for v in OcsfVersion::ALL {
        let p = d.path().join(format!("perm-{}.ndjson", v.as_str()));
        std::fs::write(&p, ocsf(&r, v)).unwrap();
        assert_eq!(
            assert_ocsf_strict(&p, v.as_str()),
            r.findings.len() + r.incidents.len()
        );
    }
}
