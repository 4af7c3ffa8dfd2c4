//! Ingest from local folders: real fixtures land in the right columns; reruns are incremental.

use crate::helpers::*;

fn lake_dir() -> (tempfile::TempDir, String) {
    let d = tempfile::tempdir().unwrap();
    let s = d.path().join("lake").display().to_string();
    (d, s)
}

#[test]
fn cloud_snitch_delivery_tree_including_organization_trail() {
    let (_d, lake) = lake_dir();
    let s = ingest(&plan(cloud_snitch().display().to_string(), &lake));
    assert_eq!((s.objects, s.events, s.rejected, s.failed), (2, 21, 0, 0));
    // Both accounts, the org-trail one included, are recorded with their key layout.
    let t = table(
        &lake,
        "SELECT account, region, CAST(key_date AS VARCHAR) AS d, events, status FROM manifest ORDER BY account",
    );
    assert!(
        t.contains("| 222222222222 | us-east-1 | 2025-03-06 | "),
        "{t}"
    );
    assert!(
        t.contains("| 333333333333 | us-east-1 | 2025-03-06 | "),
        "{t}"
    );
    // A record from the fixture, field by field.
    let t = table(
        &lake,
        "SELECT user_type, user_invoked_by, event_source, event_name, aws_region, read_only, recipient_account_id, \
         CAST(event_time AS VARCHAR) AS t, CAST(event_date AS VARCHAR) AS d \
         FROM cloudtrail WHERE event_id = '5fd2008b-c3e3-333b-8638-c324e76b51d1'",
    );
    let t = squash(&t);
    assert!(t.contains("|AWSService|cloudfront.amazonaws.com|kms.amazonaws.com|Decrypt|us-east-1|true|333333333333|2025-03-06T03:18:09Z|2025-03-06|"), "{t}");
    // The raw record is kept whole and provenance names the object.
    let raw = scalar(
        &lake,
        "SELECT raw FROM cloudtrail WHERE event_id = '5fd2008b-c3e3-333b-8638-c324e76b51d1'",
    );
    let v: serde_json::Value = serde_json::from_str(&raw).unwrap();
    assert_eq!(v["resources"][0]["type"], "AWS::KMS::Key");
    let src = scalar(
        &lake,
        "SELECT source_object FROM cloudtrail WHERE event_id = '5fd2008b-c3e3-333b-8638-c324e76b51d1'",
    );
    assert!(
        src.ends_with("333333333333_CloudTrail_us-east-1_20250306T0320Z_ZgdYr0lP8M9fWEH8.json.gz"),
        "{src}"
    );
    // The IAM user with a long-term key, flattened.
    let n = scalar(
        &lake,
        "SELECT count(*) FROM cloudtrail WHERE user_type = 'IAMUser' AND user_name = 'chris'",
    );
    assert_ne!(n, "0");
}

#[test]
fn stratus_arrays_with_scrambled_regions_and_ips_all_land() {
    let (_d, lake) = lake_dir();
    let s = ingest(&plan(stratus().display().to_string(), &lake));
    let expected: usize = std::fs::read_dir(stratus())
        .unwrap()
        .map(|e| {
            let v: serde_json::Value =
                serde_json::from_slice(&std::fs::read(e.unwrap().path()).unwrap()).unwrap();
            v.as_array().unwrap().len()
        })
        .sum();
    assert_eq!(s.events as usize, expected);
    assert_eq!((s.objects, s.rejected, s.failed), (35, 0, 0));
    // Scrambled values are kept as they were written, not "fixed".
    let t = table(
        &lake,
        "SELECT aws_region, source_ip_address, user_access_key_id FROM cloudtrail WHERE event_id = '10163ed2-2253-469d-a5ee-cbc6651f8934'",
    );
    assert!(
        t.contains("apiso-centralnorth-2r")
            && t.contains("86.245.153.234")
            && t.contains("AKIAGGWFBBHBE7D3M9WI"),
        "{t}"
    );
    assert_eq!(
        scalar(
            &lake,
            "SELECT count(DISTINCT event_id) = count(*) FROM cloudtrail"
        ),
        "true"
    );
    // Array index is the provenance.
    let idx = scalar(&lake, "SELECT max(source_index) FROM cloudtrail");
    assert!(idx.parse::<i64>().unwrap() > 0);
}

#[test]
fn user_guide_identities_as_ndjson() {
    // The CloudTrail User Guide examples, one record per line (a CloudTrail Lake style export).
    let src = external().join("awsdocs-cloudtrail-user-guide/cloudtrail_doc_examples.jsonl");
    let mut lines = vec![];
    for l in std::fs::read_to_string(src).unwrap().lines() {
        let v: serde_json::Value = serde_json::from_str(l).unwrap();
        let mut rec = v["record"].clone();
        if v["kind"] != "event" {
            // userIdentity fragments become events so each identity type is exercised.
            rec["eventTime"] = serde_json::json!("2021-02-22T00:00:00Z");
            rec["eventName"] = serde_json::json!("FragmentProbe");
        }
        lines.push(serde_json::to_string(&rec).unwrap());
    }
    let d = tempfile::tempdir().unwrap();
    // No extension: the format is found from the content.
    std::fs::write(d.path().join("export"), lines.join("\n") + "\n").unwrap();
    let lake = d.path().join("lake").display().to_string();
    let s = ingest(&plan(d.path().join("export").display().to_string(), &lake));
    // The guide reuses two event ids (a CheckMfa and a root ConsoleLogin, each shown twice):
    // an event id and recipient account name one event, so each lands once.
    assert_eq!(s.duplicates, 2, "{}", s.line());
    assert_eq!(
        s.events as usize + s.rejected as usize + s.duplicates as usize,
        lines.len()
    );
    let t = table(
        &lake,
        "SELECT user_type, count(*) AS n FROM cloudtrail GROUP BY user_type ORDER BY user_type",
    );
    for ty in [
        "AssumedRole",
        "IAMUser",
        "Root",
        "AWSAccount",
        "WebIdentityUser",
    ] {
        assert!(t.contains(ty), "{ty} missing in\n{t}");
    }
    let t = squash(&table(
        &lake,
        "SELECT session_issuer_user_name, session_mfa_authenticated, CAST(session_creation_date AS VARCHAR) AS c, source_identity \
         FROM cloudtrail WHERE user_type = 'AssumedRole' ORDER BY session_issuer_user_name",
    ));
    assert!(
        t.contains("|DevRole|false||source-identity-value-set|"),
        "{t}"
    );
    assert!(
        t.contains("|RoleToBeAssumed|false|2013-11-02T01:06:28Z||"),
        "{t}"
    );
    assert_eq!(
        scalar(
            &lake,
            "SELECT user_identity_provider FROM cloudtrail WHERE user_type = 'WebIdentityUser'"
        ),
        "accounts.google.com"
    );
    // Line numbers are the provenance of line-delimited objects.
    assert_eq!(
        scalar(&lake, "SELECT min(source_line) FROM cloudtrail"),
        "1"
    );
    // Console sign-in without MFA keeps additionalEventData as JSON text.
    let aed = scalar(
        &lake,
        "SELECT additional_event_data FROM cloudtrail WHERE event_name = 'ConsoleLogin' AND user_type = 'IAMUser' LIMIT 1",
    );
    assert!(aed.contains("MFAUsed"), "{aed}");
}

#[test]
fn rerun_does_only_new_or_changed_objects() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    let ids = write_corpus(&src, &["2024-05-01", "2024-05-02"], 6, 20);
    let lake = d.path().join("lake").display().to_string();
    let from = src.display().to_string();
    let first = ingest(&plan(&from, &lake));
    assert_eq!((first.objects, first.events), (6, ids.len() as u64));
    let again = ingest(&plan(&from, &lake));
    assert_eq!((again.objects, again.events, again.unchanged), (0, 0, 6));
    // One new object: only it is read.
    let p = src.join(delivery_key("111122223333", "us-east-1", "2024-05-03", 99));
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(
        &p,
        delivery(&[record("new-1", "2024-05-03T01:00:00Z", "PutObject")]),
    )
    .unwrap();
    let third = ingest(&plan(&from, &lake));
    assert_eq!((third.objects, third.events, third.unchanged), (1, 1, 6));
    assert_eq!(
        scalar(&lake, "SELECT count(*) FROM cloudtrail"),
        (ids.len() + 1).to_string()
    );
    assert_eq!(
        scalar(&lake, "SELECT count(DISTINCT event_id) FROM cloudtrail"),
        (ids.len() + 1).to_string()
    );
}

#[test]
fn since_until_prune_by_key_date() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    write_corpus(
        &src,
        &["2024-05-01", "2024-05-02", "2024-05-03", "2024-06-01"],
        8,
        5,
    );
    let lake = d.path().join("lake").display().to_string();
    let mut p = plan(src.display().to_string(), &lake);
    p.range.since = chrono::NaiveDate::from_ymd_opt(2024, 5, 2);
    p.range.until = chrono::NaiveDate::from_ymd_opt(2024, 5, 3);
    let s = ingest(&p);
    assert_eq!((s.objects, s.events), (4, 20));
    let t = table(
        &lake,
        "SELECT DISTINCT CAST(key_date AS VARCHAR) AS d FROM manifest ORDER BY d",
    );
    assert!(
        t.contains("2024-05-02")
            && t.contains("2024-05-03")
            && !t.contains("2024-05-01")
            && !t.contains("2024-06-01"),
        "{t}"
    );
}

#[test]
fn digest_and_insight_folders_are_left_alone() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    write_corpus(&src, &["2024-05-01"], 2, 3);
    for (folder, name) in [
        ("CloudTrail-Digest", "d.json.gz"),
        ("CloudTrail-Insight", "i.json.gz"),
    ] {
        let p = src.join(format!(
            "AWSLogs/111122223333/{folder}/us-east-1/2024/05/01/{name}"
        ));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, gz(b"{\"not\":\"a log\"}")).unwrap();
    }
    let lake = d.path().join("lake").display().to_string();
    let s = ingest(&plan(src.display().to_string(), &lake));
    assert_eq!((s.objects, s.events, s.failed, s.not_logs), (2, 6, 0, 2));
}

#[test]
fn partitions_are_by_event_date_and_files_are_few() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    write_corpus(&src, &["2024-05-01", "2024-05-02"], 200, 10);
    let lake_path = d.path().join("lake");
    let lake = lake_path.display().to_string();
    ingest(&plan(src.display().to_string(), &lake));
    let mut files = vec![];
    for e in walkdir::WalkDir::new(lake_path.join("cloudtrail")) {
        let e = e.unwrap();
        if e.file_type().is_file() {
            files.push(
                e.path()
                    .strip_prefix(&lake_path)
                    .unwrap()
                    .display()
                    .to_string(),
            );
        }
    }
    files.sort();
    // 200 objects, 2 dates: one file per date, not one per object.
    assert_eq!(files.len(), 2, "{files:?}");
    assert!(
        files[0].starts_with("cloudtrail/event_date=2024-05-01/part-"),
        "{files:?}"
    );
    // Partition pruning: a one-day query reads one day.
    assert_eq!(
        scalar(
            &lake,
            "SELECT count(*) FROM cloudtrail WHERE event_date = DATE '2024-05-02'"
        ),
        "1000"
    );
}

#[test]
fn a_changed_object_replaces_its_earlier_rows() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    let ids = write_corpus(&src, &["2024-05-01", "2024-05-02"], 6, 20);
    let lake = d.path().join("lake").display().to_string();
    let from = src.display().to_string();
    ingest(&plan(&from, &lake));
    // Object 0 is delivered again with other content (ETag/mtime change).
    let p = src.join(delivery_key("111122223333", "us-east-1", "2024-05-01", 0));
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(
        &p,
        delivery(&[
            record("v2-a", "2024-05-01T05:00:00Z", "PutObject"),
            record("v2-b", "2024-05-02T05:00:00Z", "PutObject"),
        ]),
    )
    .unwrap();
    let s = ingest(&plan(&from, &lake));
    assert_eq!(
        (s.objects, s.changed, s.replaced_rows, s.events),
        (1, 1, 20, 2),
        "{}",
        s.line()
    );
    let total = ids.len() - 20 + 2;
    assert_eq!(
        scalar(&lake, "SELECT count(*) FROM cloudtrail"),
        total.to_string()
    );
    assert_eq!(
        scalar(
            &lake,
            "SELECT count(*) FROM cloudtrail WHERE event_id LIKE 'ev-00000-%'"
        ),
        "0"
    );
    assert_eq!(
        scalar(
            &lake,
            "SELECT count(*) FROM cloudtrail WHERE event_id LIKE 'v2-%'"
        ),
        "2"
    );
    assert_eq!(
        scalar(&lake, "SELECT count(*) FROM manifest WHERE replaced"),
        "1"
    );
    // And the rerun after that is quiet.
    let again = ingest(&plan(&from, &lake));
    assert_eq!((again.objects, again.unchanged), (0, 6));
}

fn write_files(dir: &std::path::Path, files: &[(String, Vec<u8>)]) {
    for (k, b) in files {
        let p = dir.join(k);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, b).unwrap();
    }
}

/// Each event once, whatever delivered it: an organization trail and an account trail in one
/// bucket, a re-delivery in a later object, across runs, and after an object changes.
#[test]
fn two_trails_in_one_folder_land_each_event_once_across_runs() {
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    let lake = d.path().join("lake").display().to_string();
    let files = two_trail_files();
    let distinct = "SELECT count(*) = count(DISTINCT concat(coalesce(event_id, raw), '/', recipient_account_id)) FROM cloudtrail";
    // Run 1: the organization trail's file only.
    write_files(&src, &files[..1]);
    let s = ingest(&plan(src.display().to_string(), &lake));
    assert_eq!((s.events, s.duplicates), (20, 0), "{}", s.line());
    // Run 2: the account trail, a re-delivery, another account's copy, two id-less copies.
    write_files(&src, &files[1..]);
    let s = ingest(&plan(src.display().to_string(), &lake));
    assert_eq!(
        (s.objects, s.events, s.duplicates),
        (5, 2, 24),
        "{}",
        s.line()
    );
    assert!(
        s.line().contains("24 duplicate events dropped"),
        "{}",
        s.line()
    );
    assert_eq!(scalar(&lake, "SELECT count(*) FROM cloudtrail"), "22");
    assert_eq!(scalar(&lake, distinct), "true");
    // The manifest counts what each object landed and what it repeated.
    let t = squash(&table(
        &lake,
        "SELECT regexp_replace(object, '^.*_', '') AS o, events, duplicates FROM manifest \
         WHERE duplicates > 0 ORDER BY o",
    ));
    for row in [
        "|accountTrail0001.json.gz|0|20|",
        "|redelivery000001.json.gz|0|3|",
    ] {
        assert!(t.contains(row), "{row} in\n{t}");
    }
    assert_eq!(scalar(&lake, "SELECT sum(duplicates) FROM manifest"), "24");
    // The other account's copy is its own event.
    assert_eq!(
        scalar(
            &lake,
            "SELECT count(DISTINCT recipient_account_id) FROM cloudtrail \
             WHERE event_id = (SELECT event_id FROM cloudtrail WHERE recipient_account_id = '444444444444')"
        ),
        "2"
    );
    // Run 3: the organization trail's file is written again (a new version): its rows are
    // replaced by themselves, never counted as duplicates of the account trail's copy.
    std::thread::sleep(std::time::Duration::from_millis(20));
    write_files(&src, &files[..1]);
    let s = ingest(&plan(src.display().to_string(), &lake));
    assert_eq!(
        (s.changed, s.events, s.duplicates, s.replaced_rows),
        (1, 20, 0, 20),
        "{}",
        s.line()
    );
    assert_eq!(scalar(&lake, "SELECT count(*) FROM cloudtrail"), "22");
    assert_eq!(scalar(&lake, distinct), "true");
    // A fresh lake fed everything in one run lands the same 22 events.
    let fresh = d.path().join("fresh").display().to_string();
    let s = ingest(&plan(src.display().to_string(), &fresh));
    assert_eq!((s.events, s.duplicates), (22, 24), "{}", s.line());
    assert_eq!(scalar(&fresh, distinct), "true");
}
