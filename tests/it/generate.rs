//! The generator: deterministic, parseable by ingest, shaped like real records, with every
//! labelled anomaly's evidence present.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use pipewarden::generate::{self, GeneratePlan};

use crate::helpers::*;

fn generate_into(dir: &Path, seed: u64, days: u32, scale: f64) -> generate::GenerateSummary {
    let plan = GeneratePlan {
        out: dir.display().to_string(),
        days,
        seed,
        scale,
        start: chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
        s3: Default::default(),
    };
    generate::run(&plan).unwrap()
}

fn files(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            (
                e.path().strip_prefix(dir).unwrap().display().to_string(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .collect()
}

#[test]
fn same_seed_same_bytes_other_seed_other_bytes() {
    let d = tempfile::tempdir().unwrap();
    generate_into(&d.path().join("a"), 7, 6, 0.3);
    generate_into(&d.path().join("b"), 7, 6, 0.3);
    generate_into(&d.path().join("c"), 8, 6, 0.3);
    let (a, b, c) = (
        files(&d.path().join("a")),
        files(&d.path().join("b")),
        files(&d.path().join("c")),
    );
    assert!(a.len() > 50, "{}", a.len());
    assert!(a == b, "same seed gave different output");
    assert!(a != c);
    // Delivery keys are laid out exactly as CloudTrail does.
    let k = a.keys().find(|k| k.starts_with("cloudtrail/")).unwrap();
    let re_ok = k.split('/').collect::<Vec<_>>();
    assert_eq!(re_ok[1], "AWSLogs");
    assert_eq!(re_ok[3], "CloudTrail");
    let name = re_ok.last().unwrap();
    assert!(
        name.starts_with(&format!("{}_CloudTrail_{}_", re_ok[2], re_ok[4]))
            && name.ends_with(".json.gz"),
        "{k}"
    );
}

#[test]
fn generated_history_ingests_cleanly_and_labels_point_at_real_events() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("gen");
    let s = generate_into(&out, 42, 21, 0.5);
    assert_eq!(s.labels, 27);
    assert_eq!(s.quiet, 13);
    let lake = d.path().join("lake").display().to_string();
    let i = ingest(&plan(out.join("cloudtrail").display().to_string(), &lake));
    assert_eq!(i.events, s.events, "{}", i.line());
    assert!(!i.had_bad_input(), "{}", i.line());
    let mut bp = plan(out.join("builds").display().to_string(), &lake);
    bp.dataset = pipewarden::lake::Dataset::Builds;
    let b = ingest(&bp);
    assert!(!b.had_bad_input(), "{}", b.line());
    let labels = std::fs::read_to_string(out.join("labels.jsonl")).unwrap();
    let mut kinds = BTreeSet::new();
    for l in labels.lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        kinds.insert(v["kind"].as_str().unwrap().to_string());
        let ids: Vec<String> = v["event_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| format!("'{}'", x.as_str().unwrap()))
            .collect();
        assert!(!ids.is_empty(), "{l}");
        let n = scalar(
            &lake,
            &format!(
                // CloudTrail events, or audit-log events of the CI systems.
                "SELECT (SELECT count(*) FROM cloudtrail WHERE event_id IN ({0})) \
                      + (SELECT count(DISTINCT event_id) FROM builds WHERE level = 'audit' AND event_id IN ({0}))",
                ids.join(",")
            ),
        );
        assert_eq!(n, ids.len().to_string(), "{l}");
    }
    assert_eq!(kinds.len(), 27, "{kinds:?}");
    // Session chains: every web-identity session key is used by later calls.
    let chained = scalar(
        &lake,
        "SELECT count(DISTINCT a.issued_access_key_id) FROM cloudtrail a JOIN cloudtrail b ON a.issued_access_key_id = b.user_access_key_id \
         WHERE a.event_name = 'AssumeRoleWithWebIdentity'",
    );
    let issued = scalar(
        &lake,
        "SELECT count(DISTINCT issued_access_key_id) FROM cloudtrail WHERE event_name = 'AssumeRoleWithWebIdentity'",
    );
    assert_eq!(chained, issued);
    // The organisation looks like one: four accounts, a dozen pipeline roles, people, services.
    assert_eq!(
        scalar(
            &lake,
            "SELECT count(DISTINCT recipient_account_id) FROM cloudtrail"
        ),
        "4"
    );
    let roles: i64 = scalar(&lake, "SELECT count(DISTINCT session_issuer_user_name) FROM cloudtrail WHERE session_issuer_user_name NOT LIKE 'AWSReservedSSO%'").parse().unwrap();
    assert!(roles >= 12, "{roles}");
    for ty in [
        "AssumedRole",
        "IAMUser",
        "AWSService",
        "WebIdentityUser",
        "SAMLUser",
        "Root",
    ] {
        assert_ne!(
            scalar(
                &lake,
                &format!("SELECT count(*) FROM cloudtrail WHERE user_type = '{ty}'")
            ),
            "0",
            "{ty}"
        );
    }
    // Build logs for every CI system.
    for sys in ["github", "gitlab", "aws", "jenkins"] {
        assert!(
            walkdir::WalkDir::new(out.join("builds").join(sys))
                .into_iter()
                .filter_map(Result::ok)
                .any(|e| e.file_type().is_file()),
            "{sys}"
        );
    }
}

/// userIdentity key sets per identity type, from real records.
fn real_identity_shapes() -> BTreeMap<String, BTreeSet<BTreeSet<String>>> {
    let mut out: BTreeMap<String, BTreeSet<BTreeSet<String>>> = BTreeMap::new();
    let mut add = |r: &serde_json::Value| {
        if let Some(ui) = r["userIdentity"].as_object() {
            let ty = ui
                .get("type")
                .and_then(|t| t.as_str())
                .unwrap_or("")
                .to_string();
            out.entry(ty)
                .or_default()
                .insert(ui.keys().cloned().collect());
        }
    };
    for e in walkdir::WalkDir::new(cloud_snitch())
        .into_iter()
        .chain(walkdir::WalkDir::new(stratus()))
    {
        let e = e.unwrap();
        if !e.file_type().is_file() {
            continue;
        }
        let bytes = std::fs::read(e.path()).unwrap();
        let text = if bytes.starts_with(&[0x1f, 0x8b]) {
            let mut s = String::new();
            std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut s)
                .unwrap();
            s
        } else {
            String::from_utf8(bytes).unwrap()
        };
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        for r in v
            .as_array()
            .cloned()
            .unwrap_or_else(|| v["Records"].as_array().cloned().unwrap_or_default())
        {
            add(&r);
        }
    }
    for l in std::fs::read_to_string(
        external().join("awsdocs-cloudtrail-user-guide/cloudtrail_doc_examples.jsonl"),
    )
    .unwrap()
    .lines()
    {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        add(&v["record"]);
    }
    out
}

#[test]
fn field_shapes_match_real_records() {
    let d = tempfile::tempdir().unwrap();
    let out = d.path().join("gen");
    generate_into(&out, 3, 4, 0.2);
    let real = real_identity_shapes();
    let always = [
        "eventVersion",
        "userIdentity",
        "eventTime",
        "eventSource",
        "eventName",
        "awsRegion",
        "sourceIPAddress",
        "userAgent",
        "requestID",
        "eventID",
        "eventType",
        "recipientAccountId",
    ];
    let optional_ui = ["invokedBy", "sourceIdentity"];
    let mut checked = BTreeSet::new();
    for (k, bytes) in files(&out) {
        if !k.starts_with("cloudtrail/") {
            continue;
        }
        let mut s = String::new();
        std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&bytes[..]), &mut s)
            .unwrap();
        let v: serde_json::Value = serde_json::from_str(&s).unwrap();
        for r in v["Records"].as_array().unwrap() {
            for f in always {
                assert!(r.get(f).is_some(), "{f} missing: {r}");
            }
            let ui = r["userIdentity"].as_object().unwrap();
            let ty = ui["type"].as_str().unwrap();
            let keys: BTreeSet<String> = ui
                .keys()
                .filter(|k| !optional_ui.contains(&k.as_str()))
                .cloned()
                .collect();
            if let Some(shapes) = real.get(ty) {
                assert!(
                    shapes.iter().any(|real_keys| real_keys
                        .iter()
                        .filter(|k| !optional_ui.contains(&k.as_str()))
                        .cloned()
                        .collect::<BTreeSet<_>>()
                        == keys),
                    "{ty} userIdentity keys {keys:?} match no real record's {shapes:?}"
                );
                checked.insert(ty.to_string());
            }
            if ty == "AssumedRole" {
                let sc = &r["userIdentity"]["sessionContext"];
                for f in ["sessionIssuer", "attributes", "webIdFederationData"] {
                    assert!(sc.get(f).is_some(), "{f}: {r}");
                }
                assert!(
                    r["userIdentity"]["accessKeyId"]
                        .as_str()
                        .unwrap()
                        .starts_with("ASIA")
                );
            }
            let t = r["eventTime"].as_str().unwrap();
            assert_eq!(t.len(), 20, "{t}");
        }
    }
    for ty in ["AssumedRole", "IAMUser", "AWSService", "WebIdentityUser"] {
        assert!(checked.contains(ty), "{ty} not compared: {checked:?}");
    }
}

#[test]
fn bundled_sample_logs_are_the_generators_output() {
    // sample-logs/README.md: `pipewarden generate --out sample-logs --days 35 --seed 1 --scale 0.4 --start 2026-09-01`
    let d = tempfile::tempdir().unwrap();
    let plan = GeneratePlan {
        out: d.path().display().to_string(),
        days: 35,
        seed: 1,
        scale: 0.4,
        start: chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
        s3: Default::default(),
    };
    generate::run(&plan).unwrap();
    let fresh = files(d.path());
    let sample = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs");
    let mut committed = files(&sample);
    // Real trails and the hand-written audit-stream examples are not the generator's.
    committed.retain(|k, _| {
        !k.starts_with("cloudtrail/real/")
            && !k.starts_with("audit-streams/")
            && !k.ends_with(".md")
    });
    assert_eq!(
        fresh.len(),
        committed.len(),
        "regenerate sample-logs with the command in sample-logs/README.md"
    );
    for (k, v) in &fresh {
        assert!(
            committed.get(k) == Some(v),
            "{k} differs: regenerate sample-logs with the command in sample-logs/README.md"
        );
    }
}

#[test]
fn generates_into_s3_and_ingests_from_there() {
    let (_rt, _client, bucket) = bucket("gen");
    let gp = GeneratePlan {
        out: format!("s3://{bucket}/history"),
        days: 4,
        seed: 9,
        scale: 0.2,
        start: chrono::NaiveDate::from_ymd_opt(2026, 9, 1).unwrap(),
        s3: s3_options(),
    };
    let g = generate::run(&gp).unwrap();
    let d = tempfile::tempdir().unwrap();
    let lake = d.path().join("lake").display().to_string();
    let mut p = plan(format!("s3://{bucket}/history/cloudtrail/"), &lake);
    p.s3 = s3_options();
    let i = ingest(&p);
    assert_eq!((i.events, i.objects), (g.events, g.files), "{}", i.line());
    assert!(!i.had_bad_input(), "{}", i.line());
}
