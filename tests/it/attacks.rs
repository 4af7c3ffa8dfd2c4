//! Real attacks as a development suite: Stratus Red Team's detonation logs, one technique per
//! file. Every technique of persistence, privilege escalation, defense evasion, credential access
//! and exfiltration is named by a finding, or listed here as not detectable from one detonation
//! with the reason. And the persistence, escalation and evasion rules that no peer's test cases
//! cover are checked on planted cases that must fire and look-alikes that must not.

use std::collections::{BTreeMap, BTreeSet};

use pipewarden::detect::DetectPlan;
use serde_json::{Value, json};

use crate::helpers::*;

/// The tactics judged, as Stratus names its files.
const TACTICS: &[&str] = &[
    "persistence",
    "privilege-escalation",
    "defense-evasion",
    "credential-access",
    "exfiltration",
];

/// Technique → the detectors whose finding names it.
const DETECTED: &[(&str, &[&str])] = &[
    ("persistence.iam-backdoor-role", &["iam_trust_opened"]),
    ("persistence.iam-backdoor-user", &["access_key_created"]),
    (
        "persistence.iam-create-admin-user",
        &["iam_admin_granted", "iam_user_created_and_granted"],
    ),
    (
        "persistence.iam-create-backdoor-role",
        &["iam_admin_granted", "iam_trust_opened"],
    ),
    (
        "persistence.iam-create-user-login-profile",
        &["iam_credentials_for_other_user"],
    ),
    (
        "persistence.lambda-backdoor-function",
        &["resource_shared_externally"],
    ),
    (
        "persistence.rolesanywhere-create-trust-anchor",
        &["external_identity_trusted"],
    ),
    ("persistence.sts-federation-token", &["federation_token"]),
    (
        "privilege-escalation.iam-update-user-login-profile",
        &["iam_credentials_for_other_user"],
    ),
    (
        "defense-evasion.cloudtrail-delete",
        &["cloudtrail_tampering"],
    ),
    (
        "defense-evasion.cloudtrail-event-selectors",
        &["cloudtrail_tampering"],
    ),
    ("defense-evasion.cloudtrail-stop", &["cloudtrail_tampering"]),
    ("defense-evasion.dns-delete-logs", &["defenses_impaired"]),
    (
        "defense-evasion.organizations-leave",
        &["defense_evasion_attempted"],
    ),
    (
        "defense-evasion.vpc-remove-flow-logs",
        &["defenses_impaired"],
    ),
    (
        "credential-access.ec2-get-password-data",
        &["secrets_mass_read"],
    ),
    (
        "credential-access.ec2-steal-instance-credentials",
        &["instance_credentials_outside"],
    ),
    (
        "credential-access.secretsmanager-batch-retrieve-secrets",
        &["secrets_mass_read"],
    ),
    (
        "credential-access.secretsmanager-retrieve-secrets",
        &["secrets_mass_read"],
    ),
    (
        "credential-access.ssm-retrieve-securestring-parameters",
        &["secrets_mass_read"],
    ),
    (
        "exfiltration.ec2-security-group-open-port-22-ingress",
        &["security_group_open_to_world"],
    ),
    (
        "exfiltration.ec2-share-ami",
        &["resource_shared_externally"],
    ),
    (
        "exfiltration.ec2-share-ebs-snapshot",
        &["resource_shared_externally"],
    ),
    (
        "exfiltration.rds-share-snapshot",
        &["resource_shared_externally"],
    ),
];

/// Techniques one detonation cannot show, and why.
const NOT_DETECTABLE: &[(&str, &str)] = &[
    (
        "persistence.lambda-layer-extension",
        "UpdateFunctionConfiguration adding a layer of the function's own account is what every \
         deployment does; only who usually deploys the function tells the attack apart, and one \
         detonation has no history",
    ),
    (
        "persistence.lambda-overwrite-code",
        "UpdateFunctionCode is what every deployment does; only who usually deploys the function \
         tells the attack apart, and one detonation has no history",
    ),
];

#[test]
fn stratus_red_team_techniques_are_named_by_a_finding() {
    let d = tempfile::tempdir().unwrap();
    let lake = d.path().join("lake").display().to_string();
    ingest(&plan(stratus().display().to_string(), &lake));
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
    // Each technique's event ids.
    let mut techniques: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for e in std::fs::read_dir(stratus()).unwrap() {
        let p = e.unwrap().path();
        let name = p.file_name().unwrap().to_string_lossy().to_string();
        let Some(t) = name
            .strip_prefix("aws.")
            .and_then(|n| n.strip_suffix(".json"))
        else {
            continue;
        };
        if !TACTICS.iter().any(|tac| t.starts_with(&format!("{tac}."))) {
            continue;
        }
        let v: Value = serde_json::from_str(&std::fs::read_to_string(&p).unwrap()).unwrap();
        let ids = v
            .as_array()
            .unwrap()
            .iter()
            .filter_map(|e| e["eventID"].as_str().map(str::to_string))
            .collect();
        techniques.insert(t.to_string(), ids);
    }
    assert_eq!(techniques.len(), 26, "{:?}", techniques.keys());
    let mut table = vec![];
    for (t, ids) in &techniques {
        let named: BTreeSet<&str> = r
            .findings
            .iter()
            .filter(|f| f.event_ids.iter().any(|e| ids.contains(e)))
            .map(|f| f.detector.as_str())
            .collect();
        match (
            DETECTED.iter().find(|(x, _)| x == t),
            NOT_DETECTABLE.iter().find(|(x, _)| x == t),
        ) {
            (Some((_, want)), None) => {
                for w in *want {
                    assert!(named.contains(w), "{t}: no {w} finding; found {named:?}");
                }
                table.push(format!("{t}: {}", want.join(", ")));
            }
            (None, Some((_, why))) => table.push(format!("{t}: not detectable ({why})")),
            _ => panic!("{t} must be listed once, as detected or not detectable"),
        }
    }
    let detected = DETECTED.len();
    assert_eq!(detected + NOT_DETECTABLE.len(), techniques.len());
    eprintln!(
        "stratus coverage: {detected} of {} techniques\n{}",
        techniques.len(),
        table.join("\n")
    );
}

/// An IAM user's call in account 111122223333 (the caller `actor`), from `ip`.
fn call(id: &str, time: &str, actor: &str, source: &str, name: &str, params: Value) -> Value {
    json!({
        "eventVersion": "1.09",
        "userIdentity": {"type": "IAMUser", "principalId": format!("AIDA{actor}"),
            "arn": format!("arn:aws:iam::111122223333:user/{actor}"), "accountId": "111122223333",
            "accessKeyId": format!("AKIA{}", actor.to_uppercase()), "userName": actor},
        "eventTime": time, "eventSource": source, "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "198.51.100.7", "userAgent": "aws-cli/2.15.0",
        "requestParameters": params, "responseElements": null, "requestID": id, "eventID": id,
        "readOnly": false, "eventType": "AwsApiCall", "managementEvent": true,
        "recipientAccountId": "111122223333", "eventCategory": "Management"
    })
}

/// An EC2 instance role's session calling from `ip`.
fn instance_call(id: &str, time: &str, instance: &str, ip: &str) -> Value {
    let mut c = call(
        id,
        time,
        "x",
        "sts.amazonaws.com",
        "GetCallerIdentity",
        json!(null),
    );
    c["userIdentity"] = json!({"type": "AssumedRole", "principalId": format!("AROAINST:{instance}"),
        "arn": format!("arn:aws:sts::111122223333:assumed-role/app-role/{instance}"),
        "accountId": "111122223333", "accessKeyId": "ASIAINSTANCE",
        "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAINST",
            "arn": "arn:aws:iam::111122223333:role/app-role", "accountId": "111122223333", "userName": "app-role"},
            "attributes": {"creationDate": "2026-03-01T00:00:00Z", "mfaAuthenticated": "false"}}});
    c["sourceIPAddress"] = json!(ip);
    c
}

/// An incident's export: `recs` as one delivery file, ingested into a lake under `dir`.
fn export_lake(dir: &std::path::Path, recs: &[Value]) -> String {
    let src = dir.join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("export.json.gz"), delivery(recs)).unwrap();
    let lake = dir.join("lake").display().to_string();
    ingest(&plan(src.display().to_string(), &lake));
    lake
}

/// detect with the defaults (a 1-day window, and 30 days of baseline that an export does not
/// hold), each finding printed for a failing test's output.
fn detect_export(lake: &str) -> pipewarden::detect::Report {
    let r = detect(lake, &DetectPlan::default());
    for f in &r.findings {
        eprintln!(
            "  {} {} [{}] {}",
            f.score, f.detector, f.subject, f.explanation
        );
    }
    r
}

/// The report's one finding of `detector` (the test fails on none, or on more than one).
fn only_finding<'a>(
    r: &'a pipewarden::detect::Report,
    detector: &str,
) -> &'a pipewarden::findings::Finding {
    let of: Vec<_> = r
        .findings
        .iter()
        .filter(|f| f.detector == detector)
        .collect();
    assert_eq!(of.len(), 1, "one {detector} finding: {:#?}", r.findings);
    of[0]
}

/// Planted cases (event ids `fire-*`) and look-alikes (`quiet-*`) for the rules no peer's test
/// cases cover; history before the window (`hist-*`) is what "never did it" is judged against.
#[test]
fn persistence_and_escalation_rules_fire_on_planted_cases_only() {
    let iam = "iam.amazonaws.com";
    let mut recs = vec![];
    // History: the deployer creates a function with a role every day and reads 12 secrets per
    // deploy; the admin creates users and grants them (the onboarding flow) in a day of history.
    for d in 1..=9 {
        let t = format!("2026-03-0{d}T10:00:00Z");
        recs.push(call(
            &format!("hist-fn-{d}"),
            &t,
            "deployer",
            "lambda.amazonaws.com",
            "CreateFunction20150331",
            json!({"functionName": format!("f{d}"), "role": "arn:aws:iam::111122223333:role/fn"}),
        ));
        for s in 0..12 {
            recs.push(call(
                &format!("hist-secret-{d}-{s}"),
                &format!("2026-03-0{d}T10:{:02}:00Z", s + 1),
                "deployer",
                "secretsmanager.amazonaws.com",
                "GetSecretValue",
                json!({"secretId": format!("app/{s}")}),
            ));
        }
    }
    let w = |h: u32, m: u32| format!("2026-03-10T{h:02}:{m:02}:00Z");
    // pass_role_new_compute: the deployer's daily function is quiet; a user who never created
    // compute launching an instance with a profile fires.
    recs.push(call(
        "quiet-passrole",
        &w(10, 0),
        "deployer",
        "lambda.amazonaws.com",
        "CreateFunction20150331",
        json!({"functionName": "f10", "role": "arn:aws:iam::111122223333:role/fn"}),
    ));
    recs.push(call(
        "fire-passrole",
        &w(11, 0),
        "mallory",
        "ec2.amazonaws.com",
        "RunInstances",
        json!({"iamInstanceProfile": {"name": "admin-profile"}, "instanceType": "t3.micro"}),
    ));
    recs.push(call(
        "quiet-runinstances",
        &w(11, 5),
        "mallory",
        "ec2.amazonaws.com",
        "RunInstances",
        json!({"instanceType": "t3.micro"}),
    ));
    // secrets_mass_read: 12 at the deployer's usual deploy is quiet; 30 at once by a user fires.
    for s in 0..12 {
        recs.push(call(
            &format!("quiet-secret-{s}"),
            &w(10, s + 1),
            "deployer",
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            json!({"secretId": format!("app/{s}")}),
        ));
    }
    for s in 0..30 {
        recs.push(call(
            &format!("fire-secret-{s}"),
            &w(12, s + 1),
            "mallory",
            "secretsmanager.amazonaws.com",
            "GetSecretValue",
            json!({"secretId": format!("prod/{s}")}),
        ));
    }
    // Parameters read without decryption are not secrets.
    for s in 0..5 {
        recs.push(call(
            &format!("quiet-params-{s}"),
            &w(12, s + 1),
            "reader",
            "ssm.amazonaws.com",
            "GetParameters",
            json!({"names": ["/a", "/b", "/c"], "withDecryption": false}),
        ));
    }
    // iam_user_created_and_granted: created and granted by the same key fires; a user created
    // alone, and one granted a day later by someone else, are quiet.
    recs.push(call(
        "fire-user-create",
        &w(13, 0),
        "mallory",
        iam,
        "CreateUser",
        json!({"userName": "backup-svc"}),
    ));
    recs.push(call(
        "fire-user-grant",
        &w(13, 2),
        "mallory",
        iam,
        "AddUserToGroup",
        json!({"userName": "backup-svc", "groupName": "admins"}),
    ));
    recs.push(call(
        "quiet-user-create",
        &w(13, 5),
        "admin",
        iam,
        "CreateUser",
        json!({"userName": "new-hire"}),
    ));
    recs.push(call(
        "quiet-user-grant-later",
        &w(15, 0),
        "helpdesk",
        iam,
        "AddUserToGroup",
        json!({"userName": "new-hire", "groupName": "readers"}),
    ));
    // security_group_open_to_world: SSH from anywhere fires; HTTPS from anywhere and SSH from the
    // office do not.
    let sg = |p: u32, cidr: &str| {
        json!({"groupId": "sg-1", "ipPermissions": {"items": [{"ipProtocol": "tcp", "fromPort": p,
            "toPort": p, "ipRanges": {"items": [{"cidrIp": cidr}]}}]}})
    };
    recs.push(call(
        "fire-sg",
        &w(14, 0),
        "mallory",
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        sg(22, "0.0.0.0/0"),
    ));
    recs.push(call(
        "quiet-sg-https",
        &w(14, 1),
        "admin",
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        sg(443, "0.0.0.0/0"),
    ));
    recs.push(call(
        "quiet-sg-office",
        &w(14, 2),
        "admin",
        "ec2.amazonaws.com",
        "AuthorizeSecurityGroupIngress",
        sg(22, "203.0.113.0/24"),
    ));
    // instance_credentials_outside: an instance's session from its own address is quiet; the
    // same credentials from the address a user calls from fire.
    recs.push(instance_call(
        "quiet-instance",
        &w(15, 10),
        "i-0abc1234def567890",
        "10.0.1.5",
    ));
    recs.push(instance_call(
        "fire-instance",
        &w(15, 20),
        "i-0abc1234def567890",
        "198.51.100.7",
    ));
    // external_identity_trusted: a trust anchor fires (75); an OIDC provider for GitHub Actions
    // scores 45 (setup a pipeline does once), under the default --min-score.
    recs.push(call(
        "fire-anchor",
        &w(16, 0),
        "mallory",
        "rolesanywhere.amazonaws.com",
        "CreateTrustAnchor",
        json!({"name": "corp-ca", "source": {"sourceType": "CERTIFICATE_BUNDLE"}}),
    ));
    recs.push(call(
        "quiet-oidc-github",
        &w(16, 5),
        "admin",
        iam,
        "CreateOpenIDConnectProvider",
        json!({"url": "https://token.actions.githubusercontent.com", "clientIDList": ["sts.amazonaws.com"]}),
    ));
    // federation_token: fires; defense_evasion_attempted: StopLogging refused fires, a
    // DeleteFlowLogs that failed for another reason does not.
    recs.push(call(
        "fire-federation",
        &w(17, 0),
        "mallory",
        "sts.amazonaws.com",
        "GetFederationToken",
        json!({"name": "s", "policy": "{\"Statement\":[{\"Effect\":\"Allow\",\"Action\":\"*\",\"Resource\":\"*\"}]}"}),
    ));
    let mut refused = call(
        "fire-attempt",
        &w(17, 5),
        "mallory",
        "cloudtrail.amazonaws.com",
        "StopLogging",
        json!({"name": "org-trail"}),
    );
    refused["errorCode"] = json!("AccessDenied");
    recs.push(refused);
    let mut missing = call(
        "quiet-attempt",
        &w(17, 6),
        "admin",
        "ec2.amazonaws.com",
        "DeleteFlowLogs",
        json!({"DeleteFlowLogsRequest": {"FlowLogId": {"content": "fl-1"}}}),
    );
    missing["errorCode"] = json!("InvalidFlowLogId.NotFound");
    recs.push(missing);
    // iam_admin_granted on a group, and not for a read-only policy.
    recs.push(call(
        "fire-admin-group",
        &w(18, 0),
        "mallory",
        iam,
        "AttachGroupPolicy",
        json!({"groupName": "admins", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
    ));
    recs.push(call(
        "quiet-readonly-group",
        &w(18, 1),
        "admin",
        iam,
        "AttachGroupPolicy",
        json!({"groupName": "readers", "policyArn": "arn:aws:iam::aws:policy/ReadOnlyAccess"}),
    ));
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    std::fs::create_dir_all(&src).unwrap();
    std::fs::write(src.join("planted.json.gz"), delivery(&recs)).unwrap();
    let lake = d.path().join("lake").display().to_string();
    let s = ingest(&plan(src.display().to_string(), &lake));
    assert_eq!(s.events as usize, recs.len(), "{}", s.line());
    let judged = DetectPlan {
        baseline_days: 9,
        window_days: 1,
        until: Some(day("2026-03-11")),
        ..Default::default()
    };
    let r = detect(&lake, &judged);
    const RULES: &[&str] = &[
        "pass_role_new_compute",
        "secrets_mass_read",
        "iam_user_created_and_granted",
        "security_group_open_to_world",
        "instance_credentials_outside",
        "external_identity_trusted",
        "federation_token",
        "defense_evasion_attempted",
        "iam_admin_granted",
    ];
    let mut fired: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for f in r
        .findings
        .iter()
        .filter(|f| RULES.contains(&f.detector.as_str()))
    {
        // Every rule explains with what it saw.
        assert!(!f.explanation.is_empty());
        fired
            .entry(RULES.iter().find(|x| **x == f.detector).unwrap())
            .or_default()
            .extend(f.event_ids.iter().cloned());
    }
    let (mut planted, mut wrong) = (0, vec![]);
    for (rule, ids) in &fired {
        for id in ids {
            if id.starts_with("fire-") {
                planted += 1;
            } else {
                wrong.push(format!("{rule}: {id}"));
            }
        }
    }
    assert!(wrong.is_empty(), "fired on look-alikes: {wrong:?}");
    for rule in RULES {
        assert!(fired.contains_key(rule), "{rule} did not fire: {fired:?}");
    }
    let all_planted = recs
        .iter()
        .filter(|r| r["eventID"].as_str().unwrap().starts_with("fire-"))
        .count();
    assert_eq!(planted, all_planted, "{fired:?}");
    // The numbers that say why.
    let mass = r
        .findings
        .iter()
        .find(|f| f.detector == "secrets_mass_read")
        .unwrap();
    assert!(
        mass.explanation.contains("30 secrets in 30 calls")
            && mass.explanation.contains("busiest hour before: 0"),
        "{}",
        mass.explanation
    );
    // The rules that look back (the deployer's usual secrets, its usual PassRole) read the same
    // history from the daily profiles as from the events.
    let (profiled, built) = detect_profiled(&lake, &judged);
    assert!(built > 0);
    assert_eq!(
        serde_json::to_string(&profiled).unwrap(),
        serde_json::to_string(&r).unwrap()
    );
    eprintln!(
        "planted rules: precision 1.00 ({planted} planted events, {} rules)",
        RULES.len()
    );
}

/// An incident's export: five days of one account, no CI, no history before them. An IAM user's
/// long-term key made a few calls an hour; then, from a network it never used, it read thousands
/// of objects and decrypted them in one hour. Judged from the first day against its trailing
/// hours; another user working at its usual pace stays quiet; `--subjects pipelines` judges no
/// user.
#[test]
fn a_quiet_key_reading_thousands_in_an_hour_is_high_from_the_first_day() {
    let mut recs = vec![];
    let mut n = 0;
    let mut push =
        |recs: &mut Vec<Value>, t: String, actor: &str, source: &str, name: &str, ip: &str| {
            n += 1;
            let mut c = call(
                &format!("ev-{n:06}"),
                &t,
                actor,
                source,
                name,
                json!({"bucketName": "data"}),
            );
            c["sourceIPAddress"] = json!(ip);
            c["readOnly"] = json!(true);
            recs.push(c);
        };
    for d in 1..=5 {
        for h in [8, 10, 13, 15, 17] {
            for k in 0..(2 + (d + h) % 3) {
                let t = format!("2026-04-0{d}T{h:02}:{:02}:00Z", 5 + k * 7);
                push(
                    &mut recs,
                    t.clone(),
                    "chris",
                    "s3.amazonaws.com",
                    "ListBuckets",
                    "198.51.100.7",
                );
                push(
                    &mut recs,
                    t,
                    "dana",
                    "s3.amazonaws.com",
                    "GetObject",
                    "198.51.100.8",
                );
            }
        }
    }
    // Day 5, 21h: 2400 objects read and 600 decrypts from another network.
    for i in 0..3000 {
        let (src, name) = if i % 5 == 4 {
            ("kms.amazonaws.com", "Decrypt")
        } else {
            ("s3.amazonaws.com", "GetObject")
        };
        let t = format!("2026-04-05T21:{:02}:{:02}Z", (i / 60) % 60, i % 60);
        push(&mut recs, t, "chris", src, name, "203.0.113.66");
    }
    let d = tempfile::tempdir().unwrap();
    let lake = export_lake(d.path(), &recs);
    let r = detect_export(&lake);
    let b = only_finding(&r, "burst");
    assert_eq!(b.value, "iam_user:arn:aws:iam::111122223333:user/chris");
    assert!(b.score >= 70, "{} {}", b.score, b.explanation);
    assert_eq!(b.count, 3000);
    for part in [
        "hour 2026-04-05T21:00Z made 3000 data reads (GetObject 2400, Decrypt 600) of 3000 calls",
        "earlier active hours over",
        "P(≥ 3000) < 1e-300",
        "from network(s) it never used before: 203.0.0.0/16",
    ] {
        assert!(b.explanation.contains(part), "{part} in {}", b.explanation);
    }
    assert!(!b.event_ids.is_empty());
    eprintln!(
        "burst {} ({}): {}",
        b.score,
        b.severity.as_str(),
        b.explanation
    );
    // The identity is a subject of the other detectors too: its new network is a finding about
    // it (no pipeline; below the default bar after 20 active hours of history), tied with the
    // burst into one incident; dana, at her usual pace from her usual network, is not a subject
    // of any finding, however low.
    let r = detect(
        &lake,
        &DetectPlan {
            min_score: 1,
            ..Default::default()
        },
    );
    let b = r.findings.iter().find(|f| f.detector == "burst").unwrap();
    for f in &r.findings {
        eprintln!(
            "  {} {} [{}] {}",
            f.score, f.detector, f.subject, f.explanation
        );
    }
    let chris = "arn:aws:iam::111122223333:user/chris";
    assert_eq!(b.subject, chris);
    let net = r
        .findings
        .iter()
        .find(|f| f.detector == "network")
        .unwrap_or_else(|| panic!("{:#?}", r.findings));
    assert_eq!(
        (net.subject.as_str(), net.pipeline_id.as_deref()),
        (chris, None)
    );
    assert_eq!(net.value, "203.0.0.0/16");
    assert!(
        net.explanation
            .contains("first use of network 203.0.0.0/16"),
        "{}",
        net.explanation
    );
    assert!(!net.event_ids.is_empty());
    assert!(r.findings.iter().all(|f| !f.subject.contains("dana")));
    let inc = r
        .incidents
        .iter()
        .find(|i| i.finding_ids.contains(&b.id))
        .expect("an incident");
    assert!(inc.finding_ids.contains(&net.id) && inc.score >= b.score);
    // With the history read from the daily profiles: the same findings, byte for byte (the
    // judged day's identities, hours and networks from one scan of it).
    let (profiled, _) = detect_profiled(
        &lake,
        &DetectPlan {
            min_score: 1,
            ..Default::default()
        },
    );
    assert_eq!(
        serde_json::to_string(&profiled).unwrap(),
        serde_json::to_string(&r).unwrap()
    );
    let r = detect(
        &lake,
        &DetectPlan {
            subjects: pipewarden::detect::Subjects::Pipelines,
            ..Default::default()
        },
    );
    assert!(r.findings.iter().all(|f| f.detector != "burst"));
    assert!(r.findings.iter().all(|f| f.detector != "network"));
}

/// The change of API mix (issue 20, item 2): an IAM user that used two APIs for five days sweeps
/// forty-five List/Describe/Get APIs in one hour, one call each (at its usual call rate, so no
/// burst of calls). It is an `api_mix` finding about that user that names the new APIs; another
/// user who meets one or two new APIs an hour stays quiet.
#[test]
fn a_discovery_sweep_is_a_change_of_api_mix() {
    let mut recs = vec![];
    let mut n = 0;
    let mut push = |recs: &mut Vec<Value>, t: &str, actor: &str, source: &str, name: &str| {
        n += 1;
        let mut c = call(&format!("ev-{n:06}"), t, actor, source, name, json!(null));
        c["readOnly"] = json!(true);
        recs.push(c);
    };
    for d in 1..=5 {
        for h in [8, 10, 13, 15, 17] {
            for k in 0..20 {
                let t = format!("2026-04-0{d}T{h:02}:{:02}:00Z", 2 + k * 2);
                let name = if k % 2 == 0 {
                    "ListBuckets"
                } else {
                    "GetObject"
                };
                push(&mut recs, &t, "erin", "s3.amazonaws.com", name);
                // frank meets a new API or two every hour.
                let name = format!("Describe{d}{h}{}", k % 2);
                push(&mut recs, &t, "frank", "ec2.amazonaws.com", &name);
            }
        }
    }
    let sweep = [
        ("iam.amazonaws.com", "ListRoles"),
        ("iam.amazonaws.com", "ListUsers"),
        ("iam.amazonaws.com", "ListPolicies"),
        ("iam.amazonaws.com", "GetAccountAuthorizationDetails"),
        ("sts.amazonaws.com", "GetCallerIdentity"),
        ("organizations.amazonaws.com", "DescribeOrganization"),
        ("lambda.amazonaws.com", "ListFunctions20150331"),
        ("secretsmanager.amazonaws.com", "ListSecrets"),
        ("kms.amazonaws.com", "ListKeys"),
    ];
    for (k, (source, name)) in sweep.into_iter().enumerate() {
        push(
            &mut recs,
            &format!("2026-04-05T21:00:{k:02}Z"),
            "erin",
            source,
            name,
        );
    }
    for i in 0..36 {
        let t = format!("2026-04-05T21:{:02}:{:02}Z", 1 + i / 30, (i * 2) % 60);
        push(
            &mut recs,
            &t,
            "erin",
            "ec2.amazonaws.com",
            &format!("Describe{i:02}Things"),
        );
    }
    let d = tempfile::tempdir().unwrap();
    let lake = export_lake(d.path(), &recs);
    let r = detect_export(&lake);
    let m = only_finding(&r, "api_mix");
    assert_eq!(m.subject, "arn:aws:iam::111122223333:user/erin");
    assert!(m.score >= 60, "{} {}", m.score, m.explanation);
    assert_eq!(m.count, 45);
    assert_eq!(m.mitre.id, "T1580");
    assert!(
        m.explanation
            .contains("hour 2026-04-05T21:00Z called 45 APIs it never called before ("),
        "{}",
        m.explanation
    );
    assert!(m.explanation.contains("in 45 calls"), "{}", m.explanation);
    assert!(!m.event_ids.is_empty());
    assert!(r.findings.iter().all(|f| !f.subject.contains("frank")));
    assert!(r.findings.iter().all(|f| f.detector != "burst"));
}

/// A stolen key trying what it may do, from the first day (CloudTrail Insights' error rate): an
/// export of a few hours per user, too short for the `errors` detector. gina's key makes 20 calls
/// an hour, now and then one refused; then an hour of 36 calls, 30 of them refused IAM, Secrets
/// Manager and KMS calls. hank gets as many refusals in the console (a page calls every API it
/// shows, allowed or not): no finding about him.
#[test]
fn a_burst_of_access_denied_from_a_short_history_is_a_burst() {
    let mut recs = vec![];
    let mut n = 0;
    let mut push = |recs: &mut Vec<Value>, t: &str, actor: &str, name: &str, denied: bool| {
        n += 1;
        let mut c = call(
            &format!("ev-{n:06}"),
            t,
            actor,
            "s3.amazonaws.com",
            name,
            json!(null),
        );
        c["readOnly"] = json!(true);
        if denied {
            c["errorCode"] = json!("AccessDenied");
            c["errorMessage"] = json!("User is not authorized to perform this operation");
        }
        if actor == "hank" {
            c["userAgent"] =
                json!("Mozilla/5.0 (X11; Linux x86_64; rv:125.0) Gecko/20100101 Firefox/125.0");
        }
        recs.push(c);
        format!("ev-{n:06}")
    };
    for d in 1..=2 {
        for h in [9, 14] {
            for k in 0..20 {
                let t = format!("2026-04-0{d}T{h:02}:{:02}:00Z", 2 + k * 2);
                for actor in ["gina", "hank"] {
                    push(&mut recs, &t, actor, "ListBuckets", k == 7 && h == 9);
                }
            }
        }
    }
    let mut refused = vec![];
    for k in 0..36 {
        let t = format!("2026-04-03T21:{:02}:{:02}Z", k / 6, (k * 10) % 60);
        let denied = k >= 6;
        let id = push(&mut recs, &t, "gina", &format!("Get{k:02}"), denied);
        if denied {
            refused.push(id);
        }
        push(&mut recs, &t, "hank", &format!("Get{k:02}"), denied);
    }
    let d = tempfile::tempdir().unwrap();
    let lake = export_lake(d.path(), &recs);
    let r = detect_export(&lake);
    let b = only_finding(&r, "burst");
    assert_eq!(b.subject, "arn:aws:iam::111122223333:user/gina");
    assert_eq!(b.count, 30);
    assert_eq!(b.mitre.id, "T1580");
    assert!(b.score >= 60, "{} {}", b.score, b.explanation);
    assert!(
        b.explanation
            .contains("hour 2026-04-03T21:00Z made 30 AccessDenied responses (Get06 1, "),
        "{}",
        b.explanation
    );
    assert!(
        b.explanation
            .contains("of 36 calls; its 4 earlier active hours"),
        "{}",
        b.explanation
    );
    let mut ids = b.event_ids.clone();
    ids.sort();
    refused.sort();
    assert_eq!(ids, refused);
    assert!(
        r.findings.iter().all(|f| !f.subject.contains("hank")),
        "{:#?}",
        r.findings
    );
}

/// Session chains tie an incident (issue 20, item 6): a user's key got a 12-hour session, and
/// with it granted another user administrator at 01:10 and stopped CloudTrail at 06:30, five
/// hours apart. One chain: one incident, whatever the gap. The same user's session of the next
/// day, which changed a third user's console password, is another chain and not in it.
#[test]
fn findings_made_in_one_session_chain_are_one_incident() {
    let mut recs = vec![];
    let session = |recs: &mut Vec<Value>, id: &str, t: &str, key: &str, expires: &str| {
        let mut c = call(
            id,
            t,
            "ops",
            "sts.amazonaws.com",
            "GetSessionToken",
            json!({"durationSeconds": 43200}),
        );
        c["responseElements"] = json!({"credentials": {"accessKeyId": key,
            "sessionToken": "x", "expiration": expires}});
        recs.push(c);
    };
    let with = |mut c: Value, key: &str| {
        c["userIdentity"]["accessKeyId"] = json!(key);
        c
    };
    session(
        &mut recs,
        "s-1",
        "2026-04-02T01:00:00Z",
        "ASIAOPSCHAIN1",
        "2026-04-02T13:00:00Z",
    );
    recs.push(with(
        call(
            "grant",
            "2026-04-02T01:10:00Z",
            "ops",
            "iam.amazonaws.com",
            "AttachUserPolicy",
            json!({"userName": "x", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"}),
        ),
        "ASIAOPSCHAIN1",
    ));
    recs.push(with(
        call(
            "stop",
            "2026-04-02T06:30:00Z",
            "ops",
            "cloudtrail.amazonaws.com",
            "StopLogging",
            json!({"name": "main"}),
        ),
        "ASIAOPSCHAIN1",
    ));
    session(
        &mut recs,
        "s-2",
        "2026-04-03T09:00:00Z",
        "ASIAOPSCHAIN2",
        "2026-04-03T21:00:00Z",
    );
    recs.push(with(
        call(
            "login",
            "2026-04-03T09:20:00Z",
            "ops",
            "iam.amazonaws.com",
            "CreateLoginProfile",
            json!({"userName": "y", "passwordResetRequired": false}),
        ),
        "ASIAOPSCHAIN2",
    ));
    let d = tempfile::tempdir().unwrap();
    let lake = export_lake(d.path(), &recs);
    let r = detect(
        &lake,
        &DetectPlan {
            baseline_days: 1,
            window_days: 3,
            until: Some(day("2026-04-04")),
            min_score: 0,
            ..Default::default()
        },
    );
    let by = |detector: &str| {
        r.findings
            .iter()
            .find(|f| f.detector == detector)
            .unwrap_or_else(|| panic!("{detector}: {:#?}", r.findings))
    };
    let (grant, stop, login) = (
        by("iam_admin_granted"),
        by("cloudtrail_tampering"),
        by("iam_credentials_for_other_user"),
    );
    assert_eq!(grant.session_chains, vec!["ASIAOPSCHAIN1"]);
    assert_eq!(stop.session_chains, vec!["ASIAOPSCHAIN1"]);
    assert_eq!(login.session_chains, vec!["ASIAOPSCHAIN2"]);
    let inc = r
        .incidents
        .iter()
        .find(|i| i.finding_ids.contains(&grant.id))
        .unwrap_or_else(|| panic!("{:#?}", r.incidents));
    assert!(inc.finding_ids.contains(&stop.id), "{inc:#?}");
    assert!(!inc.finding_ids.contains(&login.id), "{inc:#?}");
    assert!(
        inc.why.contains("session chain ASIAOPSCHAIN1"),
        "{}",
        inc.why
    );
    assert_eq!(stop.incident_id.as_deref(), Some(inc.id.as_str()));
    assert!(login.incident_id.as_ref().is_none_or(|i| *i != inc.id));

    // The chains reach the lake's `findings` table and the CSV, for analysts and SIEMs.
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let l = local_lake(&lake);
        pipewarden::report::table::save(&l, &r).await.unwrap();
    });
    let chains = |detector: &str| {
        scalar(
            &lake,
            &format!(
                "SELECT array_to_string(session_chains, ' ') FROM findings WHERE detector = '{detector}'"
            ),
        )
    };
    assert_eq!(chains("cloudtrail_tampering"), "ASIAOPSCHAIN1");
    assert_eq!(chains("iam_credentials_for_other_user"), "ASIAOPSCHAIN2");
    let csv = String::from_utf8(pipewarden::report::formats::csv(&r)).unwrap();
    let header: Vec<&str> = csv.lines().next().unwrap().split(',').collect();
    let col = header.iter().position(|c| *c == "session_chains").unwrap();
    assert!(
        csv.lines()
            .skip(1)
            .any(|l| l.split(',').nth(col) == Some("ASIAOPSCHAIN1")),
        "{csv}"
    );

    // A findings file written before the column existed still reads, its chains null.
    let t = pipewarden::report::table::batch(&r, 0);
    let old = t
        .project(&(0..t.num_columns() - 1).collect::<Vec<_>>())
        .unwrap();
    let file = std::fs::File::create(d.path().join("lake/findings/findings.parquet")).unwrap();
    let mut w = parquet::arrow::ArrowWriter::try_new(file, old.schema(), None).unwrap();
    w.write(&old).unwrap();
    w.close().unwrap();
    assert_eq!(
        scalar(
            &lake,
            "SELECT count(*) FROM findings WHERE session_chains IS NULL"
        ),
        r.findings.len().to_string()
    );
}
