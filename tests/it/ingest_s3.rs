//! Ingest through a real S3-compatible server on loopback (moto_server, started by tests/run.sh),
//! with the same aws-sdk-s3 client users get and only the endpoint changed.

use crate::helpers::*;

#[test]
fn from_s3_with_exact_delivery_layout_and_rerun() {
    let (rt, client, bucket) = bucket("trail");
    upload_tree(&rt, &client, &bucket, &cloud_snitch(), "");
    upload_tree(&rt, &client, &bucket, &stratus(), "exports/stratus/");
    put(
        &rt,
        &client,
        &bucket,
        "AWSLogs/333333333333/CloudTrail-Digest/us-east-1/2025/03/06/digest.json.gz",
        gz(b"{}"),
    );
    let d = tempfile::tempdir().unwrap();
    let lake = d.path().join("lake").display().to_string();
    let mut p = plan(format!("s3://{bucket}/"), &lake);
    p.s3 = s3_options();
    let s = ingest(&p);
    // The digest folder is not even listed (its objects are for `verify`).
    assert_eq!(
        (s.objects, s.failed, s.rejected),
        (37, 0, 0),
        "{}",
        s.line()
    );
    assert_eq!(s.events, 21 + 310, "{}", s.line());
    let obj = scalar(
        &lake,
        "SELECT object FROM manifest WHERE account = '222222222222'",
    );
    assert_eq!(
        obj,
        format!(
            "s3://{bucket}/AWSLogs/o-1234abcde/222222222222/CloudTrail/us-east-1/2025/03/06/222222222222_CloudTrail_us-east-1_20250306T0230Z_QF6qcgyiaVnSueXa.json.gz"
        )
    );
    // The manifest has the S3 ETag.
    assert_eq!(
        scalar(
            &lake,
            "SELECT count(*) FROM manifest WHERE length(etag) = 32"
        ),
        "37"
    );
    let again = ingest(&p);
    assert_eq!((again.objects, again.unchanged), (0, 37));
}

#[test]
fn since_until_list_only_the_day_prefixes_in_range() {
    let (rt, client, bucket) = bucket("days");
    let d = tempfile::tempdir().unwrap();
    let src = d.path().join("src");
    write_corpus(
        &src,
        &["2024-04-30", "2024-05-01", "2024-05-02", "2025-01-01"],
        8,
        3,
    );
    upload_tree(&rt, &client, &bucket, &src, "team/trail/");
    // An organization trail beside it.
    put(
        &rt,
        &client,
        &bucket,
        &format!(
            "team/trail/AWSLogs/o-abc123/222222222222/CloudTrail/eu-west-1/2024/05/01/x_{}.json.gz",
            1
        ),
        delivery(&[record("org-1", "2024-05-01T10:00:00Z", "AssumeRole")]),
    );
    let lake = d.path().join("lake").display().to_string();
    let mut p = plan(format!("s3://{bucket}/team/trail/"), &lake);
    p.s3 = s3_options();
    p.range.since = chrono::NaiveDate::from_ymd_opt(2024, 5, 1);
    p.range.until = chrono::NaiveDate::from_ymd_opt(2024, 5, 2);
    let s = ingest(&p);
    assert_eq!((s.objects, s.events), (5, 13), "{}", s.line());
    // Half-open window: from a date on.
    let lake2 = d.path().join("lake2").display().to_string();
    let mut p2 = plan(format!("s3://{bucket}/team/trail/"), &lake2);
    p2.s3 = s3_options();
    p2.range.since = chrono::NaiveDate::from_ymd_opt(2024, 5, 2);
    let s2 = ingest(&p2);
    assert_eq!((s2.objects, s2.events), (4, 12), "{}", s2.line());
}

#[test]
fn lake_on_s3_is_read_by_datafusion_through_object_store() {
    let (_rt, _client, bucket) = bucket("lake");
    let lake = format!("s3://{bucket}/lakes/main");
    let mut p = plan(cloud_snitch().display().to_string(), &lake);
    p.s3 = s3_options();
    let s = ingest(&p);
    assert_eq!(s.events, 21);
    assert_eq!(scalar(&lake, "SELECT count(*) FROM cloudtrail"), "21");
    assert_eq!(
        scalar(
            &lake,
            "SELECT count(*) FROM cloudtrail WHERE event_date = DATE '2025-03-06'"
        ),
        "21"
    );
    assert_eq!(scalar(&lake, "SELECT count(*) FROM manifest"), "2");
    // Incremental against a manifest that lives on S3.
    let again = ingest(&p);
    assert_eq!((again.objects, again.unchanged), (0, 2));
    assert_eq!(scalar(&lake, "SELECT count(*) FROM cloudtrail"), "21");
}

#[test]
fn listing_errors_name_the_location() {
    let d = tempfile::tempdir().unwrap();
    let mut p = plan(
        "s3://no-such-bucket-pipewarden/AWSLogs/",
        d.path().join("lake").display().to_string(),
    );
    p.s3 = s3_options();
    let e = pipewarden::ingest::run(&p).unwrap_err().to_string();
    assert!(
        e.contains("s3://no-such-bucket-pipewarden/AWSLogs/") && e.contains("NoSuchBucket"),
        "{e}"
    );
}

#[test]
fn an_object_rewritten_in_s3_is_replaced_not_duplicated() {
    let (rt, client, bucket) = bucket("changed");
    let key = delivery_key("111122223333", "eu-west-1", "2024-06-01", 1);
    put(
        &rt,
        &client,
        &bucket,
        &key,
        delivery(&[
            record("a", "2024-06-01T01:00:00Z", "GetObject"),
            record("b", "2024-06-01T02:00:00Z", "GetObject"),
        ]),
    );
    put(
        &rt,
        &client,
        &bucket,
        &delivery_key("111122223333", "eu-west-1", "2024-06-01", 2),
        delivery(&[record("c", "2024-06-01T03:00:00Z", "GetObject")]),
    );
    let lake = format!("s3://{bucket}/lake");
    let mut p = plan(format!("s3://{bucket}/AWSLogs/"), &lake);
    p.s3 = s3_options();
    assert_eq!(ingest(&p).events, 3);
    put(
        &rt,
        &client,
        &bucket,
        &key,
        delivery(&[record("a2", "2024-06-01T01:00:00Z", "GetObject")]),
    );
    let s = ingest(&p);
    assert_eq!(
        (s.changed, s.replaced_rows, s.events),
        (1, 2, 1),
        "{}",
        s.line()
    );
    assert_eq!(
        scalar(
            &lake,
            "SELECT string_agg(event_id, ',' ORDER BY event_id) FROM cloudtrail"
        ),
        "a2,c"
    );
}

/// Regression: one S3 key with a control character made the listing's XML unparseable, so the
/// whole ingest exited 2. Listings ask for `encoding-type=url` and decode the keys.
#[test]
fn a_key_with_a_control_character_does_not_block_the_listing() {
    let (rt, client, bucket) = bucket("ctlkey");
    let good = delivery_key("111122223333", "eu-west-1", "2024-06-01", 1);
    let odd = good.replace(".json.gz", "\u{1}odd +name.json.gz");
    put(
        &rt,
        &client,
        &bucket,
        &good,
        delivery(&[record("a", "2024-06-01T01:00:00Z", "GetObject")]),
    );
    put(
        &rt,
        &client,
        &bucket,
        &odd,
        delivery(&[record("b", "2024-06-01T02:00:00Z", "GetObject")]),
    );
    let d = tempfile::tempdir().unwrap();
    let lake = d.path().join("lake").display().to_string();
    let mut p = plan(format!("s3://{bucket}/AWSLogs/"), &lake);
    p.s3 = s3_options();
    let s = ingest(&p);
    assert_eq!((s.objects, s.events), (2, 2), "{}", s.line());
    assert_eq!(
        scalar(
            &lake,
            "SELECT count(*) FROM manifest WHERE object LIKE '%odd +name%'"
        ),
        "1"
    );
}

/// Hardening (issue 23, item 6, on S3): an object too large to hold (over 32 MiB as stored)
/// is read by the parse worker as a stream from its GET, never held whole; plain and gzip, its
/// records land once, and a rerun skips it.
#[test]
fn an_object_too_large_to_hold_is_streamed_from_s3() {
    let (rt, client, b) = bucket("large-object");
    let mut plain = String::new();
    let mut ids = 0;
    while plain.len() <= 33 << 20 {
        plain.push_str(
            &record(&format!("big-{ids}"), "2024-05-01T10:00:00Z", "GetObject").to_string(),
        );
        plain.push('\n');
        ids += 1;
    }
    put(&rt, &client, &b, "exports/large.json", plain.into_bytes());
    // A gzip stored larger than 32 MiB: records padded with incompressible text.
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut noisy = String::new();
    let mut gz_ids = 0;
    while noisy.len() <= 56 << 20 {
        let mut r = record(&format!("gz-{gz_ids}"), "2024-05-02T10:00:00Z", "GetObject");
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        let pad: String = (0..4096)
            .map(|_| {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                char::from(ALPHABET[(seed % 64) as usize])
            })
            .collect();
        r["userAgent"] = serde_json::Value::String(pad);
        noisy.push_str(&r.to_string());
        noisy.push('\n');
        gz_ids += 1;
    }
    let gz_bytes = gz(noisy.as_bytes());
    assert!(gz_bytes.len() > 32 << 20, "{}", gz_bytes.len());
    put(&rt, &client, &b, "exports/large.json.gz", gz_bytes);
    let d = tempfile::tempdir().unwrap();
    let lake = d.path().join("lake").display().to_string();
    let mut p = plan(format!("s3://{b}/exports/"), &lake);
    p.s3 = s3_options();
    let s = ingest(&p);
    assert_eq!(s.events, (ids + gz_ids) as u64, "{}", s.line());
    assert_eq!(
        scalar(&lake, "SELECT count(DISTINCT event_id) FROM cloudtrail"),
        (ids + gz_ids).to_string()
    );
    let again = ingest(&p);
    assert_eq!((again.events, again.unchanged), (0, 2), "{}", again.line());
}

/// A bucket where an organization trail and an account trail deliver the same events (and a
/// re-delivery repeats some): each event lands once, the duplicates counted per object, in one
/// run and across runs.
#[test]
fn a_bucket_with_two_trails_lands_each_event_once() {
    let (rt, client, bucket) = bucket("twotrails");
    let files = two_trail_files();
    put(&rt, &client, &bucket, &files[0].0, files[0].1.clone());
    put(&rt, &client, &bucket, &files[1].0, files[1].1.clone());
    let d = tempfile::tempdir().unwrap();
    let lake = d.path().join("lake").display().to_string();
    let mut p = plan(format!("s3://{bucket}/"), &lake);
    p.s3 = s3_options();
    let s = ingest(&p);
    assert_eq!(
        (s.objects, s.events, s.duplicates),
        (2, 20, 20),
        "{}",
        s.line()
    );
    // The rest arrives later.
    for (k, b) in &files[2..] {
        put(&rt, &client, &bucket, k, b.clone());
    }
    let s = ingest(&p);
    assert_eq!(
        (s.objects, s.events, s.duplicates),
        (4, 2, 4),
        "{}",
        s.line()
    );
    assert_eq!(scalar(&lake, "SELECT count(*) FROM cloudtrail"), "22");
    assert_eq!(
        scalar(
            &lake,
            "SELECT count(*) = count(DISTINCT concat(coalesce(event_id, raw), '/', recipient_account_id)) FROM cloudtrail"
        ),
        "true"
    );
    assert_eq!(scalar(&lake, "SELECT sum(duplicates) FROM manifest"), "24");
    assert_eq!(
        scalar(
            &lake,
            "SELECT sum(duplicates) FROM manifest WHERE object LIKE '%redelivery000001%'"
        ),
        "3"
    );
}
