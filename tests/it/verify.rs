//! Integrity: a digest chain signed in the test with its own RSA key (as CloudTrail signs:
//! SHA256withRSA over the documented string, hex signature in the object's metadata), put on the
//! loopback S3 server, then tampered with in each way; each is reported exactly as such.

use std::path::Path;
use std::process::Output;

use rsa::pkcs1::EncodeRsaPublicKey;
use rsa::pkcs1v15::SigningKey;
use rsa::signature::{SignatureEncoding, Signer};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::*;

const ACCOUNT: &str = "111122223333";
const REGION: &str = "us-east-1";

fn key_pair() -> (RsaPrivateKey, RsaPublicKey) {
    static KEYS: std::sync::OnceLock<(RsaPrivateKey, RsaPublicKey)> = std::sync::OnceLock::new();
    KEYS.get_or_init(|| {
        let k = RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap();
        let p = RsaPublicKey::from(&k);
        (k, p)
    })
    .clone()
}

fn sha_hex(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

/// A trail's history under `prefix`: 4 hourly digests on 2026-10-01, each listing 2 log files.
struct Chain {
    bucket: String,
    prefix: String,
    digests: Vec<String>,
    logs: Vec<String>,
}

/// Whose trail, and its hours on 2026-10-01: where one hour does not follow the last, logging
/// was stopped and started again, and the chain restarts (no predecessor), as CloudTrail does.
struct Spec {
    org: Option<&'static str>,
    account: &'static str,
    region: &'static str,
    hours: Vec<u32>,
}

fn one_trail() -> Spec {
    Spec {
        org: None,
        account: ACCOUNT,
        region: REGION,
        hours: (10..14).collect(),
    }
}

impl Spec {
    fn root(&self, prefix: &str, service: &str) -> String {
        let org = self.org.map(|o| format!("{o}/")).unwrap_or_default();
        format!(
            "{prefix}AWSLogs/{org}{}/{service}/{}/2026/10/01/{}",
            self.account, self.region, self.account
        )
    }

    fn log_key(&self, prefix: &str, hour: u32, n: u32) -> String {
        format!(
            "{}_CloudTrail_{}_20261001T{hour:02}{:02}Z_log{n}.json.gz",
            self.root(prefix, "CloudTrail"),
            self.region,
            5 + n * 10
        )
    }

    fn digest_key(&self, prefix: &str, hour: u32) -> String {
        format!(
            "{}_CloudTrail-Digest_{r}_trail_{r}_20261001T{:02}0000Z.json.gz",
            self.root(prefix, "CloudTrail-Digest"),
            hour + 1,
            r = self.region
        )
    }
}

fn log_key(prefix: &str, hour: u32, n: u32) -> String {
    one_trail().log_key(prefix, hour, n)
}

fn digest_key(prefix: &str, hour: u32) -> String {
    one_trail().digest_key(prefix, hour)
}

fn build(
    rt: &tokio::runtime::Runtime,
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Chain {
    build_trail(rt, client, bucket, prefix, &one_trail())
}

fn build_trail(
    rt: &tokio::runtime::Runtime,
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    spec: &Spec,
) -> Chain {
    let (private, _) = key_pair();
    let signer = SigningKey::<Sha256>::new(private);
    let mut chain = Chain {
        bucket: bucket.into(),
        prefix: prefix.into(),
        digests: vec![],
        logs: vec![],
    };
    let mut previous: Option<(String, String)> = None;
    for (i, &hour) in spec.hours.iter().enumerate() {
        if i > 0 && spec.hours[i - 1] + 1 != hour {
            previous = None;
        }
        let mut files = vec![];
        for n in 0..2 {
            let key = spec.log_key(prefix, hour, n);
            let recs = vec![record(
                &format!("ev-{hour}-{n}"),
                &format!("2026-10-01T{hour:02}:0{n}:00Z"),
                "GetObject",
            )];
            let plain = serde_json::to_vec(&json!({ "Records": recs })).unwrap();
            files.push(json!({"s3Bucket": bucket, "s3Object": key, "hashValue": sha_hex(&plain), "hashAlgorithm": "SHA-256",
                "newestEventTime": format!("2026-10-01T{hour:02}:0{n}:00Z"), "oldestEventTime": format!("2026-10-01T{hour:02}:0{n}:00Z")}));
            put(rt, client, bucket, &key, gz(&plain));
            chain.logs.push(key);
        }
        let key = spec.digest_key(prefix, hour);
        let end = format!("2026-10-01T{:02}:00:00Z", hour + 1);
        let mut d = json!({
            "awsAccountId": spec.account,
            "digestStartTime": format!("2026-10-01T{hour:02}:00:00Z"),
            "digestEndTime": end,
            "digestS3Bucket": bucket,
            "digestS3Object": key,
            "digestPublicKeyFingerprint": "testfingerprint",
            "digestSignatureAlgorithm": "SHA256withRSA",
            "newestEventTime": end, "oldestEventTime": end,
            "previousDigestS3Bucket": Value::Null,
            "previousDigestS3Object": Value::Null,
            "previousDigestHashValue": Value::Null,
            "previousDigestHashAlgorithm": Value::Null,
            "previousDigestSignature": Value::Null,
            "logFiles": files,
        });
        if let Some((pk, psig)) = &previous {
            d["previousDigestS3Bucket"] = json!(bucket);
            d["previousDigestS3Object"] = json!(pk);
            d["previousDigestSignature"] = json!(psig);
        }
        let inflated = serde_json::to_vec(&d).unwrap();
        // The string CloudTrail signs (AWS CloudTrail User Guide, "Validating CloudTrail log
        // file integrity"): end time, bucket/key, hex SHA-256 of the digest, previous signature.
        let to_sign = format!(
            "{end}\n{bucket}/{key}\n{}\n{}",
            sha_hex(&inflated),
            previous.as_ref().map(|p| p.1.as_str()).unwrap_or("null")
        );
        let sig = hex::encode(signer.sign(to_sign.as_bytes()).to_bytes());
        rt.block_on(
            client
                .put_object()
                .bucket(bucket)
                .key(&key)
                .metadata("signature", &sig)
                .metadata("signature-algorithm", "SHA256withRSA")
                .body(gz(&inflated).into())
                .send(),
        )
        .unwrap();
        chain.digests.push(key.clone());
        previous = Some((key, sig));
    }
    chain
}

fn key_folder(dir: &Path, public: &RsaPublicKey, name: &str) -> String {
    let d = dir.join(name);
    std::fs::create_dir_all(&d).unwrap();
    std::fs::write(
        d.join("testfingerprint.pem"),
        public.to_pkcs1_pem(rsa::pkcs1::LineEnding::LF).unwrap(),
    )
    .unwrap();
    d.display().to_string()
}

fn verify(c: &Chain, keys: &str) -> (Output, Value) {
    let d = tempfile::tempdir().unwrap();
    let json = d.path().join("r.json");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_pipewarden"))
        .args([
            "verify",
            "--from",
            &format!("s3://{}/{}", c.bucket, c.prefix),
            "--public-keys",
            keys,
        ])
        .args(["--since", "2026-10-01", "--until", "2026-10-01", "--json"])
        .arg(&json)
        .args(["--endpoint-url", &s3_endpoint(), "--path-style"])
        .output()
        .unwrap();
    assert!(
        matches!(o.status.code(), Some(0) | Some(1)),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    (o, r)
}

/// (kind, object) of every problem.
fn problems(r: &Value) -> Vec<(String, String)> {
    r["problems"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["kind"].as_str().unwrap().to_string(),
                p["object"].as_str().unwrap().to_string(),
            )
        })
        .collect()
}

/// The detail of problem `i`.
fn detail(r: &Value, i: usize) -> &str {
    r["problems"][i]["detail"].as_str().unwrap()
}

fn uri(c: &Chain, key: &str) -> String {
    format!("s3://{}/{key}", c.bucket)
}

#[test]
fn every_kind_of_tampering_is_reported_as_itself() {
    let (rt, client, bucket) = bucket("verify");
    let d = tempfile::tempdir().unwrap();
    let (_, public) = key_pair();
    let keys = key_folder(d.path(), &public, "keys");

    // Untouched: everything valid.
    let c = build(&rt, &client, &bucket, "clean/");
    let (o, r) = verify(&c, &keys);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(problems(&r), vec![]);
    let s = &r["scopes"][0];
    assert_eq!(
        (s["digests_valid"].as_u64(), s["logs_valid"].as_u64()),
        (Some(4), Some(8))
    );

    // A log file edited.
    let c = build(&rt, &client, &bucket, "edited/");
    put(&rt, &client, &bucket, &c.logs[3], gz(br#"{"Records":[]}"#));
    let (o, r) = verify(&c, &keys);
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        problems(&r),
        vec![("log_modified".into(), uri(&c, &c.logs[3]))]
    );

    // A log file deleted.
    let c = build(&rt, &client, &bucket, "deleted-log/");
    rt.block_on(
        client
            .delete_object()
            .bucket(&bucket)
            .key(&c.logs[5])
            .send(),
    )
    .unwrap();
    let (_, r) = verify(&c, &keys);
    assert_eq!(
        problems(&r),
        vec![("log_deleted".into(), uri(&c, &c.logs[5]))]
    );

    // A digest deleted: its successor names it.
    let c = build(&rt, &client, &bucket, "deleted-digest/");
    rt.block_on(
        client
            .delete_object()
            .bucket(&bucket)
            .key(&c.digests[1])
            .send(),
    )
    .unwrap();
    let (_, r) = verify(&c, &keys);
    assert_eq!(
        problems(&r),
        vec![("digest_missing".into(), uri(&c, &c.digests[1]))]
    );

    // A signature broken.
    let c = build(&rt, &client, &bucket, "bad-signature/");
    let body = rt
        .block_on(
            client
                .get_object()
                .bucket(&bucket)
                .key(&c.digests[2])
                .send(),
        )
        .unwrap();
    let bytes = rt.block_on(body.body.collect()).unwrap().into_bytes();
    rt.block_on(
        client
            .put_object()
            .bucket(&bucket)
            .key(&c.digests[2])
            .metadata("signature", "00".repeat(256))
            .metadata("signature-algorithm", "SHA256withRSA")
            .body(bytes.to_vec().into())
            .send(),
    )
    .unwrap();
    let (_, r) = verify(&c, &keys);
    assert_eq!(
        problems(&r),
        vec![("digest_invalid".into(), uri(&c, &c.digests[2]))]
    );
    assert!(detail(&r, 0).contains("signature does not verify"));

    // The wrong key: no digest verifies, and nothing is said about logs it cannot vouch for.
    let c = build(&rt, &client, &bucket, "wrong-key/");
    let other = RsaPublicKey::from(&RsaPrivateKey::new(&mut rand::rngs::OsRng, 2048).unwrap());
    let wrong = key_folder(d.path(), &other, "wrong");
    let (_, r) = verify(&c, &wrong);
    let want: Vec<(String, String)> = c
        .digests
        .iter()
        .map(|k| ("digest_invalid".into(), uri(&c, k)))
        .collect();
    assert_eq!(problems(&r), want);

    // A log file no digest lists (forged and slipped in), and a corrupt digest.
    let c = build(&rt, &client, &bucket, "injected/");
    let forged = log_key(&c.prefix, 11, 7);
    put(&rt, &client, &bucket, &forged, gz(br#"{"Records":[]}"#));
    let (_, r) = verify(&c, &keys);
    assert_eq!(
        problems(&r),
        vec![("log_not_in_digest".into(), uri(&c, &forged))]
    );
    let junk = digest_key(&c.prefix, 20);
    put(&rt, &client, &bucket, &junk, b"\x1f\x8bnot gzip".to_vec());
    let (_, r) = verify(&c, &keys);
    let p = problems(&r);
    assert!(
        p.contains(&("digest_invalid".into(), uri(&c, &junk))),
        "{p:?}"
    );
    assert_eq!(
        r["scopes"][0]["digests_valid"].as_u64(),
        Some(4),
        "the others still verify"
    );
}

/// Regression (hardening, item 10): the first digest of one chain was called a gap, measured
/// against another account's or region's newest digest. Chains are per trail, account and
/// region: fresh chains in two accounts, two regions and an organization trail's member are
/// whole; a restart after StopLogging is one gap, in its own chain.
#[test]
fn chains_are_per_trail_account_and_region() {
    let (rt, client, bucket) = bucket("verify-chains");
    let d = tempfile::tempdir().unwrap();
    let (_, public) = key_pair();
    let keys = key_folder(d.path(), &public, "keys");
    let trails = [
        Spec {
            hours: (10..14).collect(),
            ..one_trail()
        },
        Spec {
            account: "444455556666",
            hours: (12..15).collect(),
            ..one_trail()
        },
        Spec {
            region: "eu-west-1",
            hours: (11..13).collect(),
            ..one_trail()
        },
        Spec {
            org: Some("o-exampleorg"),
            account: "777788889999",
            hours: (13..16).collect(),
            ..one_trail()
        },
    ];
    let mut chains = vec![];
    for t in &trails {
        chains.push(build_trail(&rt, &client, &bucket, "many/", t));
    }
    let (o, r) = verify(&chains[0], &keys);
    assert_eq!(
        problems(&r),
        vec![],
        "{}",
        String::from_utf8_lossy(&o.stdout)
    );
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(r["scopes"].as_array().unwrap().len(), 4);

    // Logging stopped after 11:00 and started again at 15:00, beside a fresh chain elsewhere.
    let restarted = Spec {
        hours: vec![10, 11, 15, 16],
        ..one_trail()
    };
    let c = build_trail(&rt, &client, &bucket, "restart/", &restarted);
    build_trail(&rt, &client, &bucket, "restart/", &trails[1]);
    let (_, r) = verify(&c, &keys);
    assert_eq!(problems(&r), vec![("gap".into(), uri(&c, &c.digests[2]))]);
    assert!(
        detail(&r, 0).contains("no digest covers 2026-10-01T12:00:00Z to 2026-10-01T15:00:00Z"),
        "{}",
        r["problems"][0]
    );
}

/// Regression (hardening, item 9): with every digest of the range deleted, verify printed "no
/// digest files found" and exited 0; with the newest digests deleted, the log files of their
/// hours passed as awaiting their digest. Both are named now, and an empty range is an error.
#[test]
fn deleted_digests_are_named_and_an_empty_range_is_an_error() {
    let (rt, client, bucket) = bucket("verify-gone");
    let d = tempfile::tempdir().unwrap();
    let (_, public) = key_pair();
    let keys = key_folder(d.path(), &public, "keys");
    let delete = |key: &str| {
        rt.block_on(client.delete_object().bucket(&bucket).key(key).send())
            .unwrap();
    };

    let c = build(&rt, &client, &bucket, "all-gone/");
    c.digests.iter().for_each(|k| delete(k));
    let (o, r) = verify(&c, &keys);
    assert_eq!(o.status.code(), Some(1));
    let folder = format!("s3://{bucket}/all-gone/AWSLogs/{ACCOUNT}/CloudTrail-Digest/{REGION}/");
    assert_eq!(problems(&r), vec![("digests_absent".into(), folder)]);
    assert!(detail(&r, 0).starts_with("8 log file(s) in the range and no digest"));

    let c = build(&rt, &client, &bucket, "newest-gone/");
    delete(&c.digests[2]);
    delete(&c.digests[3]);
    let (o, r) = verify(&c, &keys);
    assert_eq!(o.status.code(), Some(1));
    let want: Vec<(String, String)> = c.logs[4..]
        .iter()
        .map(|k| ("log_after_last_digest".into(), uri(&c, k)))
        .collect();
    assert_eq!(problems(&r), want);
    assert_eq!(r["scopes"][0]["logs_valid"].as_u64(), Some(4));

    let o = std::process::Command::new(env!("CARGO_BIN_EXE_pipewarden"))
        .args(["verify", "--from", &format!("s3://{bucket}/nothing-here/")])
        .args(["--public-keys", &keys, "--since", "2026-10-01"])
        .args(["--endpoint-url", &s3_endpoint(), "--path-style"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("nothing to verify"));
}

#[test]
fn problems_flow_into_detect_and_ingest_refuses_what_failed() {
    let (rt, client, bucket) = bucket("verify-flow");
    let d = tempfile::tempdir().unwrap();
    let (_, public) = key_pair();
    let keys = key_folder(d.path(), &public, "keys");
    let c = build(&rt, &client, &bucket, "");
    put(&rt, &client, &bucket, &c.logs[2], gz(br#"{"Records":[]}"#));
    let lake = d.path().join("lake").display().to_string();
    let from = format!("s3://{bucket}/");
    let endpoint = s3_endpoint();
    let s3 = ["--endpoint-url", endpoint.as_str(), "--path-style"];
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_pipewarden"))
            .args(args)
            .args(s3)
            .output()
            .unwrap()
    };
    let o = run(&[
        "verify",
        "--from",
        &from,
        "--public-keys",
        &keys,
        "--lake",
        &lake,
    ]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );

    let o = run(&[
        "ingest",
        "--from",
        &from,
        "--lake",
        &lake,
        "--refuse-unverified",
        "--no-progress",
    ]);
    assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("refused: log_modified"),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    // The seven good files' events are in; the edited one is recorded, not ingested.
    assert_eq!(scalar(&lake, "SELECT count(*) FROM cloudtrail"), "7");
    assert_eq!(
        scalar(
            &lake,
            &format!(
                "SELECT status FROM manifest WHERE object = '{}'",
                uri(&c, &c.logs[2])
            )
        ),
        "unreadable"
    );

    let json = d.path().join("findings.json");
    let o = run(&["detect", "--lake", &lake, "--json", json.to_str().unwrap()]);
    assert_eq!(
        o.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["detector"] == "integrity")
        .expect("an integrity finding");
    assert_eq!(f["severity"], "critical");
    assert_eq!(f["value"], format!("log_modified in {ACCOUNT} {REGION}"));
    assert_eq!(f["event_ids"], json!([uri(&c, &c.logs[2])]));
}

/// A loopback stand-in for the CloudTrail API that answers ListPublicKeys (moto has no such
/// call) with `keys`, recording each request's target and body.
fn cloudtrail_api(keys: Value) -> (String, std::sync::Arc<std::sync::Mutex<Vec<String>>>) {
    use std::io::{BufRead, BufReader, Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let seen = std::sync::Arc::new(std::sync::Mutex::new(vec![]));
    let log = seen.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let keys = keys.clone();
            let log = log.clone();
            std::thread::spawn(move || {
                let mut r = BufReader::new(stream.try_clone().unwrap());
                loop {
                    let (mut len, mut target) = (0usize, String::new());
                    let mut line = String::new();
                    if r.read_line(&mut line).unwrap_or(0) == 0 {
                        return;
                    }
                    loop {
                        line.clear();
                        r.read_line(&mut line).unwrap();
                        let l = line.trim_end();
                        if l.is_empty() {
                            break;
                        }
                        let (k, v) = l.split_once(':').unwrap_or((l, ""));
                        match k.to_ascii_lowercase().as_str() {
                            "content-length" => len = v.trim().parse().unwrap(),
                            "x-amz-target" => target = v.trim().to_string(),
                            _ => {}
                        }
                    }
                    let mut body = vec![0; len];
                    r.read_exact(&mut body).unwrap();
                    log.lock()
                        .unwrap()
                        .push(format!("{target} {}", String::from_utf8_lossy(&body)));
                    let out = serde_json::to_vec(&json!({ "PublicKeyList": keys })).unwrap();
                    let head = format!(
                        "HTTP/1.1 200 OK\r\nContent-Type: application/x-amz-json-1.1\r\nContent-Length: {}\r\n\r\n",
                        out.len()
                    );
                    stream.write_all(head.as_bytes()).unwrap();
                    stream.write_all(&out).unwrap();
                }
            });
        }
    });
    (url, seen)
}

#[test]
fn public_keys_come_from_cloudtrail_list_public_keys() {
    use base64::Engine;
    let (rt, client, bucket) = bucket("verify-keys");
    let (_, public) = key_pair();
    let c = build(&rt, &client, &bucket, "");
    let der = public.to_pkcs1_der().unwrap();
    let (api, seen) = cloudtrail_api(json!([{
        "Fingerprint": "testfingerprint",
        "Value": base64::engine::general_purpose::STANDARD.encode(der.as_bytes()),
        "ValidityStartTime": 1.7e9, "ValidityEndTime": 1.9e9
    }]));
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_pipewarden"))
        .args([
            "verify",
            "--from",
            &format!("s3://{bucket}/"),
            "--since",
            "2026-10-01",
            "--until",
            "2026-10-01",
        ])
        .args(["--endpoint-url", &s3_endpoint(), "--path-style"])
        .env("AWS_ENDPOINT_URL_CLOUDTRAIL", &api)
        .output()
        .unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert_eq!(
        o.status.code(),
        Some(0),
        "{out}{}",
        String::from_utf8_lossy(&o.stderr)
    );
    assert!(out.contains("digests 4 valid"), "{out}");
    let calls = seen.lock().unwrap().clone();
    assert_eq!(calls.len(), 1, "one region, one page: {calls:?}");
    assert!(
        calls[0].starts_with("CloudTrail_20131101.ListPublicKeys"),
        "{calls:?}"
    );
    assert!(
        calls[0].contains("StartTime") && calls[0].contains("EndTime"),
        "{calls:?}"
    );
    drop(c);
}

#[test]
fn scan_verifies_first_when_asked() {
    let (rt, client, bucket) = bucket("verify-scan");
    let d = tempfile::tempdir().unwrap();
    let (_, public) = key_pair();
    let keys = key_folder(d.path(), &public, "keys");
    let c = build(&rt, &client, &bucket, "");
    rt.block_on(
        client
            .delete_object()
            .bucket(&bucket)
            .key(&c.logs[6])
            .send(),
    )
    .unwrap();
    let lake = d.path().join("lake").display().to_string();
    let report = d.path().join("r.json");
    let o = std::process::Command::new(env!("CARGO_BIN_EXE_pipewarden"))
        .args([
            "scan",
            &format!("s3://{bucket}/"),
            "--lake",
            &lake,
            "--verify",
            "--public-keys",
            &keys,
        ])
        .args(["--until", "2026-10-02", "--no-progress", "--format"])
        .arg(format!("json={}", report.display()))
        .args(["--endpoint-url", &s3_endpoint(), "--path-style"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(1), "{err}");
    assert!(err.contains("verify: 1 problem(s)"), "{err}");
    let r: Value = serde_json::from_str(&std::fs::read_to_string(&report).unwrap()).unwrap();
    let f = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["detector"] == "integrity")
        .expect("an integrity finding");
    assert_eq!(f["value"], format!("log_deleted in {ACCOUNT} {REGION}"));
    assert_eq!(scalar(&lake, "SELECT count(*) FROM cloudtrail"), "7");
}
