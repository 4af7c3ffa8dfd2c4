//! Shared test helpers: fixture paths, SQL over a lake, the loopback S3 server.

use std::path::{Path, PathBuf};

use arrow::array::RecordBatch;
use arrow::util::pretty::pretty_format_batches;
use pipewarden::ingest::{self, IngestPlan, IngestSummary};
use pipewarden::lake::Lake;

/// `../shared/external` (real public logs).
pub fn external() -> PathBuf {
    let here = Path::new(env!("CARGO_MANIFEST_DIR"));
    // The shared folder next to the checkout when present; otherwise the bundled copy.
    for cand in [
        here.join("../shared/external"),
        here.join("shared/external"),
        here.join("tests/fixtures/external"),
    ] {
        if cand.join("cloud-snitch").is_dir() {
            return cand;
        }
    }
    panic!("test data not found: ../shared/external or tests/fixtures/external");
}

/// The cloud-snitch delivery tree (root holding `AWSLogs/`).
pub fn cloud_snitch() -> PathBuf {
    external().join("cloud-snitch/backend/report/testdata/aws-cloudtrail-logs")
}

/// The Stratus Red Team detonation logs (JSON arrays).
pub fn stratus() -> PathBuf {
    external().join("stratus-red-team/docs/detonation-logs")
}

/// A plan with test-friendly settings (no progress bar).
pub fn plan(from: impl AsRef<str>, lake: impl AsRef<str>) -> IngestPlan {
    let mut p = IngestPlan::new(from.as_ref(), lake.as_ref().parse().unwrap());
    p.progress = false;
    p
}

/// Runs an ingest through the library.
pub fn ingest(p: &IngestPlan) -> IngestSummary {
    ingest::run(p).unwrap_or_else(|e| panic!("ingest {} -> {} failed: {e}", p.from, p.lake))
}

/// Runs SQL over a lake (folder or s3://) and returns the batches.
pub fn sql(lake: &str, query: &str) -> Vec<RecordBatch> {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let aws = if lake.starts_with("s3://") {
            Some(pipewarden::aws::AwsContext::load(&s3_options()).await)
        } else {
            None
        };
        let lake = Lake::open(
            &lake.parse().unwrap(),
            aws.as_ref(),
            pipewarden::lake::Access::Create,
        )
        .unwrap();
        let ctx = pipewarden::engine::session(&lake).await.unwrap();
        ctx.sql(query)
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"))
            .collect()
            .await
            .unwrap_or_else(|e| panic!("{query}: {e}"))
    })
}

/// The first column of the first row, as text.
pub fn scalar(lake: &str, query: &str) -> String {
    let b = sql(lake, query);
    let b = b
        .iter()
        .find(|b| b.num_rows() > 0)
        .unwrap_or_else(|| panic!("{query}: no rows"));
    arrow::util::display::array_value_to_string(b.column(0), 0).unwrap()
}

/// Rows as a pretty table, for assertions on several columns.
pub fn table(lake: &str, query: &str) -> String {
    pretty_format_batches(&sql(lake, query))
        .unwrap()
        .to_string()
}

/// A table with the padding removed, for `contains` checks on whole rows.
pub fn squash(t: &str) -> String {
    t.lines()
        .map(|l| l.split('|').map(str::trim).collect::<Vec<_>>().join("|"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The loopback S3 endpoint started by `tests/run.sh`.
pub fn s3_endpoint() -> String {
    std::env::var("PIPEWARDEN_TEST_S3_ENDPOINT").expect(
        "PIPEWARDEN_TEST_S3_ENDPOINT is not set: run the tests with tests/run.sh, which starts a loopback S3 server (moto_server)",
    )
}

/// S3 options pointing at the loopback server.
pub fn s3_options() -> pipewarden::aws::S3Options {
    pipewarden::aws::S3Options {
        endpoint_url: Some(s3_endpoint()),
        path_style: Some(true),
    }
}

/// A fresh bucket on the loopback server.
pub fn bucket(name_hint: &str) -> (tokio::runtime::Runtime, aws_sdk_s3::Client, String) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    let aws = rt.block_on(pipewarden::aws::AwsContext::load(&s3_options()));
    let client = aws.s3_client();
    let name = format!("{name_hint}-{}", &uuid_hex()[..10]);
    rt.block_on(client.create_bucket().bucket(&name).send())
        .expect("create bucket on the loopback S3 server");
    (rt, client, name)
}

/// Uploads every file under `dir` to `bucket` under `prefix`, keeping relative paths.
pub fn upload_tree(
    rt: &tokio::runtime::Runtime,
    client: &aws_sdk_s3::Client,
    bucket: &str,
    dir: &Path,
    prefix: &str,
) -> usize {
    let mut n = 0;
    for e in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let e = e.unwrap();
        if !e.file_type().is_file() {
            continue;
        }
        let rel = e
            .path()
            .strip_prefix(dir)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        put(
            rt,
            client,
            bucket,
            &format!("{prefix}{rel}"),
            std::fs::read(e.path()).unwrap(),
        );
        n += 1;
    }
    n
}

/// Puts one object.
pub fn put(
    rt: &tokio::runtime::Runtime,
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    body: Vec<u8>,
) {
    rt.block_on(
        client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body.into())
            .send(),
    )
    .unwrap_or_else(|e| panic!("put {key}: {}", aws_sdk_s3::error::DisplayErrorContext(&e)));
}

/// 32 hex digits that differ between calls, tests and runs (the low digits change fastest).
pub fn uuid_hex() -> String {
    static COUNTER: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed) as u128;
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let v = t ^ (n << 40) ^ ((std::process::id() as u128) << 96);
    // Reversed, so that a prefix of it is as unique as the whole.
    format!("{v:032x}").chars().rev().collect()
}

/// gzip of bytes.
pub fn gz(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}

/// A CloudTrail record with the given id, time and event name.
pub fn record(id: &str, time: &str, name: &str) -> serde_json::Value {
    serde_json::json!({
        "eventVersion": "1.08",
        "userIdentity": {"type": "AssumedRole", "principalId": "AROAEXAMPLE:ci", "arn": "arn:aws:sts::111122223333:assumed-role/deploy/ci",
            "accountId": "111122223333", "accessKeyId": "ASIAEXAMPLE",
            "sessionContext": {"sessionIssuer": {"type": "Role", "principalId": "AROAEXAMPLE", "arn": "arn:aws:iam::111122223333:role/deploy", "accountId": "111122223333", "userName": "deploy"},
                "attributes": {"creationDate": "2024-05-01T00:00:00Z", "mfaAuthenticated": "false"}}},
        "eventTime": time, "eventSource": "s3.amazonaws.com", "eventName": name, "awsRegion": "us-east-1",
        "sourceIPAddress": "192.0.2.10", "userAgent": "aws-cli/2.15.0", "requestParameters": {"bucketName": "artifacts"},
        "responseElements": null, "requestID": "R", "eventID": id, "readOnly": true, "eventType": "AwsApiCall",
        "managementEvent": false, "recipientAccountId": "111122223333", "eventCategory": "Data"
    })
}

/// A delivery file body (`{"Records":[...]}`), gzipped.
pub fn delivery(records: &[serde_json::Value]) -> Vec<u8> {
    gz(
        serde_json::to_string(&serde_json::json!({ "Records": records }))
            .unwrap()
            .as_bytes(),
    )
}

/// The delivery key of a file for account/region/day.
pub fn delivery_key(account: &str, region: &str, day: &str, n: usize) -> String {
    let (y, m, d) = (&day[0..4], &day[5..7], &day[8..10]);
    format!(
        "AWSLogs/{account}/CloudTrail/{region}/{y}/{m}/{d}/{account}_CloudTrail_{region}_{y}{m}{d}T{:02}{:02}Z_test{n:06}.json.gz",
        n % 24,
        n % 60
    )
}

/// Writes `n_files` delivery files of `per_file` events each under `dir`; returns all event ids.
pub fn write_corpus(dir: &Path, days: &[&str], n_files: usize, per_file: usize) -> Vec<String> {
    let mut ids = vec![];
    for f in 0..n_files {
        let day = days[f % days.len()];
        let recs: Vec<_> = (0..per_file)
            .map(|i| {
                let id = format!("ev-{f:05}-{i:04}");
                ids.push(id.clone());
                record(
                    &id,
                    &format!("{day}T{:02}:{:02}:{:02}Z", (f + i) % 24, i % 60, f % 60),
                    "GetObject",
                )
            })
            .collect();
        let p = dir.join(delivery_key("111122223333", "us-east-1", day, f));
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, delivery(&recs)).unwrap();
    }
    ids
}

/// Ingests the generated history of `sample-logs/` (CloudTrail, then build records) into `lake`.
pub fn ingest_sample_logs(lake: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("sample-logs");
    ingest(&plan(
        root.join("cloudtrail/AWSLogs").display().to_string(),
        lake,
    ));
    let mut p = plan(root.join("builds").display().to_string(), lake);
    p.dataset = pipewarden::lake::Dataset::Builds;
    ingest(&p);
}

/// The bundled sample logs (generator output with 27 labelled anomalies), ingested once.
pub fn sample_lake() -> &'static str {
    static LAKE: std::sync::OnceLock<(tempfile::TempDir, String)> = std::sync::OnceLock::new();
    &LAKE
        .get_or_init(|| {
            let d = tempfile::tempdir().unwrap();
            let lake = d.path().join("lake").display().to_string();
            ingest_sample_logs(&lake);
            (d, lake)
        })
        .1
}

/// The test virtualenv's Python (tests/run.sh sets it).
pub fn test_python() -> String {
    std::env::var("PIPEWARDEN_TEST_PYTHON")
        .expect("PIPEWARDEN_TEST_PYTHON is not set: run the tests with tests/run.sh")
}

/// Validates an OCSF NDJSON file strictly (`tests/ocsf_strict.py`: pydantic-ocsf's model of
/// `version`, and no attribute that version lacks); returns how many events it held.
pub fn assert_ocsf_strict(path: &Path, version: &str) -> usize {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/ocsf_strict.py");
    let o = std::process::Command::new(test_python())
        .arg(script)
        .arg(path)
        .arg(version)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        o.status.success(),
        "OCSF {version} invalid ({}): {}",
        out.trim(),
        crate::helpers::head(&err, 3000)
    );
    out.split_whitespace().next().unwrap().parse().unwrap()
}

/// At most `n` bytes of `s`, between characters (for assertion messages).
pub fn head(s: &str, n: usize) -> &str {
    &s[..s.floor_char_boundary(n.min(s.len()))]
}

/// A label or quiet case of the bundled generated history (`sample-logs/labels.jsonl`,
/// `sample-logs/quiet.jsonl`): the events and runs that show it.
pub struct Label {
    pub id: String,
    pub kind: String,
    pub events: std::collections::HashSet<String>,
    pub runs: std::collections::HashSet<String>,
}

/// The labels (or quiet cases) of a file of `sample-logs/`.
pub fn sample_labels(file: &str) -> Vec<Label> {
    let text = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("sample-logs")
            .join(file),
    )
    .unwrap();
    text.lines()
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            let set = |k: &str| {
                v[k].as_array()
                    .unwrap()
                    .iter()
                    .map(|x| x.as_str().unwrap().to_string())
                    .collect()
            };
            Label {
                id: v["id"].as_str().unwrap().into(),
                kind: v["kind"].as_str().unwrap().into(),
                events: set("event_ids"),
                runs: set("run_ids"),
            }
        })
        .collect()
}

/// Whether a finding shows a label: it names one of its events or runs.
pub fn shows(l: &Label, f: &pipewarden::detect::Finding) -> bool {
    f.event_ids.iter().any(|e| l.events.contains(e)) || f.run_ids.iter().any(|r| l.runs.contains(r))
}

/// Renders `html` in headless `chromium` (no console message allowed) and returns the
/// screenshot's path (`name` under the target's temporary folder), checked to be a real PNG.
pub fn render_in_chromium(chromium: &str, html: &Path, name: &str) -> PathBuf {
    let shot = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join(name);
    let _ = std::fs::remove_file(&shot);
    let profile = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--window-size=1100,2400",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg(format!("--screenshot={}", shot.display()))
        .arg(format!("file://{}", html.display()))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(o.status.success(), "{err}");
    let console: Vec<&str> = err.lines().filter(|l| l.contains("CONSOLE")).collect();
    assert!(console.is_empty(), "console messages: {console:?}");
    let png = std::fs::read(&shot).expect("a screenshot");
    assert!(
        png.starts_with(b"\x89PNG") && png.len() > 10_000,
        "{} bytes",
        png.len()
    );
    shot
}

/// The installed chromium.
pub fn chromium() -> &'static str {
    ["/usr/bin/chromium", "/usr/bin/chromium-browser"]
        .into_iter()
        .find(|p| Path::new(p).exists())
        .expect("chromium is not installed: tests/run.sh installs Debian's chromium")
}

/// One real delivery file (cloud-snitch's organization-trail file, 20 events of account
/// 222222222222) as more than one trail would deliver it into one bucket, as `(key, gzip bytes)`:
/// 0. the organization trail's file, as published;
/// 1. an account trail's file in the same bucket holding the same events, in reverse order;
/// 2. a re-delivery, in a later object (the next day's folder), of the first 3 events;
/// 3. the first event as a second account's trail received it (same event id, another
///    `recipientAccountId`): a different event, kept;
/// 4. and 5. a record with no event id, byte-identical in two objects.
///
/// Each event once: 20 + 1 + 1 = 22 rows; duplicates 20 + 3 + 1 = 24.
pub fn two_trail_files() -> Vec<(String, Vec<u8>)> {
    let org = "AWSLogs/o-1234abcde/222222222222/CloudTrail/us-east-1/2025/03/06/222222222222_CloudTrail_us-east-1_20250306T0230Z_QF6qcgyiaVnSueXa.json.gz";
    let published = std::fs::read(cloud_snitch().join(org)).unwrap();
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&published[..]), &mut text)
        .unwrap();
    let doc: serde_json::Value = serde_json::from_str(&text).unwrap();
    let records = doc["Records"].as_array().unwrap().clone();
    let file = |recs: Vec<serde_json::Value>| {
        gz(
            serde_json::to_string(&serde_json::json!({ "Records": recs }))
                .unwrap()
                .as_bytes(),
        )
    };
    let mut reversed = records.clone();
    reversed.reverse();
    let mut other_account = records[0].clone();
    other_account["recipientAccountId"] = "444444444444".into();
    let mut no_id = records[1].clone();
    no_id.as_object_mut().unwrap().remove("eventID");
    no_id["eventName"] = "NoEventIdHere".into();
    let account = |acct: &str, day: &str, stamp: &str, suffix: &str| {
        format!(
            "AWSLogs/{acct}/CloudTrail/us-east-1/2025/03/{day}/{acct}_CloudTrail_us-east-1_2025030{}T{stamp}Z_{suffix}.json.gz",
            &day[1..]
        )
    };
    vec![
        (org.to_string(), published),
        (
            account("222222222222", "06", "0235", "accountTrail0001"),
            file(reversed),
        ),
        (
            account("222222222222", "07", "0105", "redelivery000001"),
            file(records[..3].to_vec()),
        ),
        (
            account("444444444444", "06", "0240", "crossAccount0001"),
            file(vec![other_account]),
        ),
        (
            account("222222222222", "06", "0300", "noEventId0000001"),
            file(vec![no_id.clone()]),
        ),
        (
            account("222222222222", "06", "0305", "noEventId0000002"),
            file(vec![no_id]),
        ),
    ]
}

/// A local lake (folder), opened as the commands open it.
pub fn local_lake(lake: &str) -> pipewarden::lake::Lake {
    pipewarden::lake::Lake::open(
        &lake.parse().unwrap(),
        None,
        pipewarden::lake::Access::Create,
    )
    .unwrap()
}

/// A local lake and a session over it, with attribution.
async fn lake_session(lake: &str) -> (pipewarden::lake::Lake, datafusion::prelude::SessionContext) {
    let lake = local_lake(lake);
    let ctx = pipewarden::engine::session(&lake).await.unwrap();
    (lake, ctx)
}

/// Runs detection on a lake (outside any tokio runtime).
pub fn detect(lake: &str, plan: &pipewarden::detect::DetectPlan) -> pipewarden::detect::Report {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (_, ctx) = lake_session(lake).await;
        pipewarden::detect::detect(&ctx, plan).await.unwrap()
    })
}

/// [`detect`] with the history read from the daily profiles, built first (as `pipewarden
/// detect` does); also returns how many days were built.
pub fn detect_profiled(
    lake: &str,
    plan: &pipewarden::detect::DetectPlan,
) -> (pipewarden::detect::Report, usize) {
    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let (lake, ctx) = lake_session(lake).await;
        let w = pipewarden::detect::window(&ctx, plan).await.unwrap();
        let built = pipewarden::profiles::prepare(
            &lake,
            &ctx,
            w.history_days(),
            pipewarden::detect::History::Profiles,
            false,
        )
        .await
        .unwrap()
        .built;
        let r = pipewarden::detect::detect_in(&ctx, plan, &w).await.unwrap();
        (r, built)
    })
}

/// A date `YYYY-MM-DD`.
pub fn day(s: &str) -> chrono::NaiveDate {
    chrono::NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
}
