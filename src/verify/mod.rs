//! `pipewarden verify`: checks CloudTrail's digest chains before the logs are trusted, the way
//! `aws cloudtrail validate-logs` does, over a whole bucket or prefix at once.
//!
//! ```text
//!  list CloudTrail-Digest/<region>/ days ─► fetch digests (signature metadata) ─► check each
//!  (digest::check: format, location, RSA signature with the region's public key)
//!       ─► chain per account and region (digest::chain: missing, replaced, gaps)
//!       ─► fetch every log file a valid digest lists, SHA-256 of its uncompressed bytes
//!          (valid, modified, deleted)
//!  list CloudTrail/<region>/ days ─► log files no digest lists (forged or injected)
//! ```
//!
//! Public keys come from CloudTrail's ListPublicKeys for each region and the period, or from a
//! folder of PEM/DER files (`--public-keys`, offline). A corrupt digest or log file is a
//! problem in the report, never a crash; only an unusable bucket or missing keys stop the run.

pub mod digest;

use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::ops::ControlFlow;
use std::path::PathBuf;

use aws_sdk_s3::error::DisplayErrorContext;
use chrono::{Duration, NaiveDate};
use futures::StreamExt;
use rsa::RsaPublicKey;
use serde::Serialize;

use crate::source::layout::{self, KeyKind};
use crate::source::listing;
use digest::{Checked, Fetched};

/// What `verify` checks.
#[derive(Debug, Clone)]
pub struct VerifyPlan {
    /// `s3://bucket/prefix` holding `AWSLogs/`.
    pub from: String,
    /// First digest day.
    pub since: Option<NaiveDate>,
    /// Last digest day (digests of the day after are read too: they list the last hour's logs).
    pub until: Option<NaiveDate>,
    /// A folder of public keys (`<fingerprint>.pem` or `.der`); CloudTrail's ListPublicKeys when
    /// absent.
    pub public_keys: Option<PathBuf>,
    /// Concurrent S3 requests.
    pub concurrency: usize,
    /// S3 settings.
    pub s3: crate::aws::S3Options,
}

/// The version of the report's JSON.
pub const SCHEMA_VERSION: &str = "pipewarden.integrity/v1";

/// Counts for one account and region.
#[derive(Debug, Clone, Default, Serialize, PartialEq)]
pub struct Scope {
    /// Account.
    pub account: String,
    /// Region.
    pub region: String,
    /// Digests whose signature verifies.
    pub digests_valid: u64,
    /// Digests that are corrupt, moved, unsigned or whose signature fails.
    pub digests_invalid: u64,
    /// Digests named by their successor but absent, or replaced.
    pub digests_missing: u64,
    /// Breaks in the hourly sequence.
    pub gaps: u64,
    /// Log files whose hash matches.
    pub logs_valid: u64,
    /// Log files whose content changed.
    pub logs_modified: u64,
    /// Log files a digest lists that are gone.
    pub logs_deleted: u64,
    /// Log files present that no digest lists (in the chain's hours, or after its last digest).
    pub logs_not_in_digest: u64,
    /// Log files a valid digest lists that could not be read (access, throttling).
    pub logs_unreadable: u64,
}

/// The kinds of problem verification finds (their names are the `integrity` table's `kind`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProblemKind {
    /// A digest whose signature or content does not check.
    DigestInvalid,
    /// A digest that its successor names and that is gone.
    DigestMissing,
    /// A digest replaced by another of the same hour.
    DigestReplaced,
    /// Hours no digest covers (logging off, or the trail re-created).
    Gap,
    /// A log file whose hash is not the one its digest lists.
    LogModified,
    /// A log file a valid digest lists that is not in the bucket.
    LogDeleted,
    /// A delivered log file no digest lists.
    LogNotInDigest,
    /// A log file newer than its account and region's last digest, whose digest was due:
    /// the newest digests were deleted, or validation was turned off.
    LogAfterLastDigest,
    /// An account and region with log files in the range and no digest at all.
    DigestsAbsent,
    /// A listed log file that could not be read to check it.
    LogUnreadable,
}

impl ProblemKind {
    /// `digest_invalid`, `digest_missing`, `digest_replaced`, `gap`, `log_modified`,
    /// `log_deleted`, `log_not_in_digest`, `log_after_last_digest`, `digests_absent` or
    /// `log_unreadable`.
    pub fn as_str(self) -> &'static str {
        match self {
            ProblemKind::DigestInvalid => "digest_invalid",
            ProblemKind::DigestMissing => "digest_missing",
            ProblemKind::DigestReplaced => "digest_replaced",
            ProblemKind::Gap => "gap",
            ProblemKind::LogModified => "log_modified",
            ProblemKind::LogDeleted => "log_deleted",
            ProblemKind::LogNotInDigest => "log_not_in_digest",
            ProblemKind::LogAfterLastDigest => "log_after_last_digest",
            ProblemKind::DigestsAbsent => "digests_absent",
            ProblemKind::LogUnreadable => "log_unreadable",
        }
    }
}

impl std::fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.as_str())
    }
}

/// One thing wrong, named by its object.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Problem {
    /// What kind of problem.
    pub kind: ProblemKind,
    /// Account.
    pub account: String,
    /// Region.
    pub region: String,
    /// The object (`s3://bucket/key`).
    pub object: String,
    /// What is wrong.
    pub detail: String,
}

/// The outcome.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// [`SCHEMA_VERSION`].
    pub schema: &'static str,
    /// What was verified.
    pub from: String,
    /// Per account and region.
    pub scopes: Vec<Scope>,
    /// Every problem, ordered by account, region, kind and object.
    pub problems: Vec<Problem>,
}

impl Report {
    /// Whether everything verified.
    pub fn clean(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Errors that stop a verification.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// Not an S3 location.
    #[error("--from {0}: verify reads digests and their signatures from S3 (s3://bucket/prefix)")]
    NotS3(String),
    /// Listing failed.
    #[error(transparent)]
    List(#[from] listing::ListError),
    /// No key to check signatures with.
    #[error("public keys: {0}")]
    Keys(String),
}

fn digest_scope(key: &str) -> (String, String) {
    let l = layout::parse(key);
    (
        l.account.unwrap_or_else(|| "unknown".into()),
        l.region.unwrap_or_else(|| "unknown".into()),
    )
}

fn scope_of<'a>(scopes: &'a mut BTreeMap<(String, String), Scope>, key: &str) -> &'a mut Scope {
    let (account, region) = digest_scope(key);
    scopes
        .entry((account.clone(), region.clone()))
        .or_insert_with(|| Scope {
            account,
            region,
            ..Default::default()
        })
}

/// Lists the folders `<...>/AWSLogs/[<org>/]<account>/<service>/<region>/` under `prefix` for
/// the CloudTrail and CloudTrail-Digest services.
async fn region_folders(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
) -> Result<Vec<String>, VerifyError> {
    let mut out = vec![];
    let mut stack = vec![(prefix.to_string(), 0usize)];
    while let Some((p, depth)) = stack.pop() {
        let l = layout::parse(&p);
        if l.region.is_some() {
            if matches!(l.kind(), KeyKind::Log | KeyKind::Digest) {
                out.push(p);
            }
            continue;
        }
        if depth > 8 || matches!(l.kind(), KeyKind::Insight) {
            continue;
        }
        let mut sub = vec![];
        listing::for_each_page(client, bucket, &p, true, |page| {
            sub.extend(page.folders);
            std::future::ready(ControlFlow::Continue(()))
        })
        .await?;
        stack.extend(sub.into_iter().map(|f| (f, depth + 1)));
    }
    out.sort();
    Ok(out)
}

/// Keys under a region folder whose day is in `[since, until]`.
async fn keys_in(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    folder: &str,
    since: Option<NaiveDate>,
    until: Option<NaiveDate>,
) -> Result<Vec<String>, VerifyError> {
    let prefixes: Vec<String> = match (since, until) {
        (Some(s), Some(u)) if u >= s && (u - s).num_days() < 3660 => s
            .iter_days()
            .take_while(|d| *d <= u)
            .map(|d| format!("{folder}{}/", d.format("%Y/%m/%d")))
            .collect(),
        _ => vec![folder.to_string()],
    };
    let mut out = vec![];
    for p in prefixes {
        listing::for_each_page(client, bucket, &p, false, |page| {
            for o in &page.objects {
                let k = o.key.as_str();
                let d = layout::parse(k).date();
                if d.is_some_and(|d| since.is_some_and(|s| d < s) || until.is_some_and(|u| d > u)) {
                    continue;
                }
                if k.ends_with(".json.gz") || k.ends_with(".json") {
                    out.push(k.to_string());
                }
            }
            std::future::ready(ControlFlow::Continue(()))
        })
        .await?;
    }
    Ok(out)
}

/// The most a digest may inflate to. A digest lists one hour's log files (a few hundred bytes
/// each): real ones are kilobytes, a busy organization trail's a few megabytes.
pub const MAX_DIGEST_BYTES: u64 = 16 << 20;

/// An object's bytes turned by `read` (in a blocking task) into what the check needs, and its
/// user metadata; `Ok(None)` when absent. Digests are inflated up to [`MAX_DIGEST_BYTES`] and
/// log files streamed through SHA-256, so memory stays bounded by the compressed object
/// whatever it inflates to.
async fn get<T: Send + 'static>(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    read: fn(&[u8]) -> Result<T, String>,
) -> Result<Option<(T, std::collections::HashMap<String, String>)>, String> {
    let r = match client.get_object().bucket(bucket).key(key).send().await {
        Ok(r) => r,
        Err(e) => {
            if e.as_service_error().is_some_and(|s| s.is_no_such_key()) {
                return Ok(None);
            }
            return Err(DisplayErrorContext(&e).to_string());
        }
    };
    let meta = r.metadata().cloned().unwrap_or_default();
    let body = r
        .body
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .into_bytes();
    let got = tokio::task::spawn_blocking(move || read(&body))
        .await
        .map_err(|e| e.to_string())??;
    Ok(Some((got, meta)))
}

/// A digest's bytes, gunzipped when gzip; an error past [`MAX_DIGEST_BYTES`].
fn inflate_digest(body: &[u8]) -> Result<Vec<u8>, String> {
    inflate(body, MAX_DIGEST_BYTES)
}

/// The bytes of `body`, gunzipped when gzip; an error past `limit` bytes.
fn inflate(body: &[u8], limit: u64) -> Result<Vec<u8>, String> {
    let mut out = Vec::with_capacity((body.len() * 8).min(limit as usize));
    let gzip = body.starts_with(&[0x1f, 0x8b]);
    let r: Box<dyn std::io::Read + '_> = if gzip {
        Box::new(flate2::read::MultiGzDecoder::new(body))
    } else {
        Box::new(body)
    };
    r.take(limit + 1)
        .read_to_end(&mut out)
        .map_err(|e| format!("not valid gzip: {e}"))?;
    if out.len() as u64 > limit {
        return Err(format!(
            "inflates past {limit} bytes, more than any digest holds"
        ));
    }
    Ok(out)
}

/// The SHA-256 (hex) of `body`'s bytes, gunzipped when gzip, streamed in 64 KiB pieces.
fn hash_inflated(body: &[u8]) -> Result<String, String> {
    use sha2::Digest as _;
    if !body.starts_with(&[0x1f, 0x8b]) {
        return Ok(digest::sha256_hex(body));
    }
    let mut h = sha2::Sha256::new();
    let mut dec = flate2::read::MultiGzDecoder::new(body);
    let mut buf = vec![0u8; 64 << 10];
    loop {
        match dec.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => h.update(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("not valid gzip: {e}")),
        }
    }
    Ok(hex::encode(h.finalize()))
}

/// Bucket and key.
type ObjectId = (String, String);
/// A log file's SHA-256 (hex), `None` when it is gone, or why it could not be read.
type Hashed = Result<Option<String>, String>;

/// Public keys by fingerprint, and the keys of a folder to try when no name matches.
type Keys = (BTreeMap<String, RsaPublicKey>, Vec<RsaPublicKey>);

fn folder_keys(dir: &std::path::Path) -> Result<Keys, VerifyError> {
    let mut by_name = BTreeMap::new();
    let mut all = vec![];
    let rd =
        std::fs::read_dir(dir).map_err(|e| VerifyError::Keys(format!("{}: {e}", dir.display())))?;
    for e in rd.filter_map(Result::ok) {
        let p = e.path();
        let is_key = p
            .extension()
            .and_then(|x| x.to_str())
            .is_some_and(|x| matches!(x.to_ascii_lowercase().as_str(), "pem" | "der" | "pub"));
        if !p.is_file() || !is_key {
            continue;
        }
        let bytes =
            std::fs::read(&p).map_err(|e| VerifyError::Keys(format!("{}: {e}", p.display())))?;
        let key = digest::public_key(&bytes)
            .map_err(|e| VerifyError::Keys(format!("{}: {e}", p.display())))?;
        if let Some(stem) = p.file_stem() {
            by_name.insert(stem.to_string_lossy().into_owned(), key.clone());
        }
        all.push(key);
    }
    if all.is_empty() {
        return Err(VerifyError::Keys(format!(
            "{}: no key files",
            dir.display()
        )));
    }
    Ok((by_name, all))
}

async fn cloudtrail_keys(
    aws: &crate::aws::AwsContext,
    regions: &BTreeSet<String>,
    start: NaiveDate,
    end: NaiveDate,
) -> Result<Keys, VerifyError> {
    let mut by_fp = BTreeMap::new();
    let to_time = |d: NaiveDate| {
        aws_sdk_cloudtrail::primitives::DateTime::from_secs(
            d.and_hms_opt(0, 0, 0)
                .expect("midnight")
                .and_utc()
                .timestamp(),
        )
    };
    for region in regions {
        let mut conf = aws_sdk_cloudtrail::config::Builder::from(&aws.sdk)
            .region(aws_sdk_cloudtrail::config::Region::new(region.clone()));
        // The standard per-service endpoint variable, honoured even when --endpoint-url
        // points the S3 side elsewhere.
        if let Ok(ep) = std::env::var("AWS_ENDPOINT_URL_CLOUDTRAIL") {
            conf = conf.endpoint_url(ep);
        }
        let conf = conf.build();
        let client = aws_sdk_cloudtrail::Client::from_conf(conf);
        let mut token = None;
        loop {
            let r = client
                .list_public_keys()
                .start_time(to_time(start))
                .end_time(to_time(end))
                .set_next_token(token.clone())
                .send()
                .await
                .map_err(|e| {
                    VerifyError::Keys(format!(
                        "CloudTrail ListPublicKeys in {region}: {} (or pass --public-keys DIR)",
                        aws_sdk_cloudtrail::error::DisplayErrorContext(&e)
                    ))
                })?;
            for k in r.public_key_list() {
                if let (Some(fp), Some(v)) = (k.fingerprint(), k.value()) {
                    let key = digest::public_key(v.as_ref()).map_err(|e| {
                        VerifyError::Keys(format!("key {fp} from ListPublicKeys: {e}"))
                    })?;
                    by_fp.insert(fp.to_string(), key);
                }
            }
            token = r.next_token().map(str::to_string);
            if token.is_none() {
                break;
            }
        }
    }
    Ok((by_fp, vec![]))
}

/// Whether `s` is ASCII digits but for a `T` at each of `t_at` and a `Z` at `z_at`: only then
/// may its parts be cut at fixed offsets (a key is log text, and may hold any character).
fn stamp(s: &str, t_at: &[usize], z_at: usize) -> bool {
    s.bytes().enumerate().all(|(i, c)| {
        if t_at.contains(&i) {
            c == b'T'
        } else if i == z_at {
            c == b'Z'
        } else {
            c.is_ascii_digit()
        }
    })
}

/// The time a log file's name carries (`..._20261001T1005Z_...`), as `2026-10-01T10:05:00Z`.
fn log_name_time(key: &str) -> Option<String> {
    let name = key.rsplit('/').next()?;
    name.split('_').find_map(|part| {
        (part.len() == 14 && stamp(part, &[8], 13)).then(|| {
            format!(
                "{}-{}-{}T{}:{}:00Z",
                &part[0..4],
                &part[4..6],
                &part[6..8],
                &part[9..11],
                &part[11..13]
            )
        })
    })
}

/// The end of the hour a digest's name carries (`..._20261001T120000Z.json.gz`).
fn digest_name_end(key: &str) -> Option<String> {
    let stem = key.rsplit('/').next()?.strip_suffix(".json.gz")?;
    let t = stem.rsplit('_').next()?;
    (t.len() == 16 && stamp(t, &[8], 15)).then(|| {
        format!(
            "{}-{}-{}T{}:{}:{}Z",
            &t[0..4],
            &t[4..6],
            &t[6..8],
            &t[9..11],
            &t[11..13],
            &t[13..15]
        )
    })
}

/// `pipewarden verify`.
pub async fn verify(plan: &VerifyPlan) -> anyhow::Result<Report> {
    let (bucket, prefix) = crate::source::parse_s3_uri(&plan.from)
        .ok_or_else(|| VerifyError::NotS3(plan.from.clone()))?;
    let aws = crate::aws::AwsContext::load(&plan.s3).await;
    let client = aws.s3_client();
    let conc = plan.concurrency.max(1);
    // Digests of the day after `until` list the logs of its last hour.
    let digest_until = plan.until.and_then(|u| u.succ_opt());
    let (digest_keys, log_keys) = list_keys(&client, &bucket, &prefix, plan, digest_until).await?;

    // Fetch and check every digest with its signature; only the parsed digest is kept.
    let regions: BTreeSet<String> = digest_keys.iter().map(|k| digest_scope(k).1).collect();
    let (by_fp, fallback) = match &plan.public_keys {
        Some(dir) => folder_keys(dir)?,
        None if regions.is_empty() => (BTreeMap::new(), vec![]),
        None => {
            let start = plan
                .since
                .unwrap_or_else(|| NaiveDate::from_ymd_opt(2015, 1, 1).expect("date"))
                - Duration::days(1);
            let end =
                digest_until.unwrap_or_else(|| chrono::Utc::now().date_naive()) + Duration::days(1);
            cloudtrail_keys(&aws, &regions, start, end).await?
        }
    };
    let checked = check_digests(&client, &bucket, digest_keys, &by_fp, &fallback, conc).await;

    let mut t = Tally::default();
    let in_range = |b: &str, k: &str| {
        b == bucket
            && layout::parse(k).date().is_none_or(|d| {
                plan.since.is_none_or(|s| d >= s) && digest_until.is_none_or(|u| d <= u)
            })
    };
    t.digests(&checked, &in_range);

    // Every log file a valid digest lists, and the end of each scope's newest digest.
    let mut listed: BTreeMap<(String, String), String> = BTreeMap::new();
    let mut newest_end: BTreeMap<(String, String), String> = BTreeMap::new();
    for c in checked.iter().filter(|c| c.invalid.is_none()) {
        let Some(f) = &c.file else { continue };
        let e = newest_end.entry(digest_scope(&c.key)).or_default();
        if *e < f.digest_end_time {
            *e = f.digest_end_time.clone();
        }
        for l in &f.log_files {
            listed.insert(
                (l.s3_bucket.clone(), l.s3_object.clone()),
                l.hash_value.clone(),
            );
        }
    }
    t.logs(hash_logs(&client, &listed, conc).await);
    let with_digests: BTreeSet<(String, String)> =
        checked.iter().map(|c| digest_scope(&c.key)).collect();
    t.unlisted_logs(&bucket, &log_keys, &listed, &newest_end, chrono::Utc::now());
    t.absent_digests(&bucket, &prefix, &log_keys, &with_digests);
    let Tally {
        scopes,
        mut problems,
    } = t;
    problems.sort_by(|a, b| {
        (&a.account, &a.region, a.kind.as_str(), &a.object).cmp(&(
            &b.account,
            &b.region,
            b.kind.as_str(),
            &b.object,
        ))
    });
    Ok(Report {
        schema: SCHEMA_VERSION,
        from: plan.from.clone(),
        scopes: scopes.into_values().collect(),
        problems,
    })
}

/// The digest and log file keys of the plan's days, under every region folder of `prefix`.
async fn list_keys(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    plan: &VerifyPlan,
    digest_until: Option<NaiveDate>,
) -> Result<(Vec<String>, Vec<String>), VerifyError> {
    let folders = region_folders(client, bucket, prefix).await?;
    let mut digest_keys = vec![];
    let mut log_keys = vec![];
    for f in &folders {
        if layout::parse(f).kind() == KeyKind::Digest {
            digest_keys.extend(keys_in(client, bucket, f, plan.since, digest_until).await?);
        } else {
            log_keys.extend(keys_in(client, bucket, f, plan.since, plan.until).await?);
        }
    }
    Ok((digest_keys, log_keys))
}

/// Fetches and checks every digest, `conc` at a time.
async fn check_digests(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    keys: Vec<String>,
    by_fp: &BTreeMap<String, RsaPublicKey>,
    fallback: &[RsaPublicKey],
    conc: usize,
) -> Vec<Checked> {
    futures::stream::iter(keys)
        .map(|key| {
            let client = client.clone();
            let bucket = bucket.to_string();
            async move {
                let (inflated, meta) = match get(&client, &bucket, &key, inflate_digest).await {
                    Ok(Some((b, m))) => (Ok(b), m),
                    Ok(None) => (
                        Err("deleted while being read".to_string()),
                        Default::default(),
                    ),
                    Err(e) => (Err(e), Default::default()),
                };
                let f = Fetched {
                    bucket,
                    key,
                    inflated,
                    signature: meta.get("signature").cloned(),
                    signature_algorithm: meta.get("signature-algorithm").cloned(),
                };
                digest::check(&f, by_fp, fallback)
            }
        })
        .buffer_unordered(conc)
        .collect()
        .await
}

/// Each listed log file's SHA-256 (None: not in the bucket), `conc` at a time.
async fn hash_logs(
    client: &aws_sdk_s3::Client,
    listed: &BTreeMap<(String, String), String>,
    conc: usize,
) -> Vec<(ObjectId, String, Hashed)> {
    futures::stream::iter(listed.clone())
        .map(|((b, k), want)| {
            let client = client.clone();
            async move {
                let got = get(&client, &b, &k, hash_inflated)
                    .await
                    .map(|o| o.map(|(hash, _)| hash));
                ((b, k), want, got)
            }
        })
        .buffer_unordered(conc)
        .collect()
        .await
}

/// The counts per scope and the problems, as the checks find them.
#[derive(Default)]
struct Tally {
    scopes: BTreeMap<(String, String), Scope>,
    problems: Vec<Problem>,
}

impl Tally {
    fn problem(&mut self, kind: ProblemKind, key: &str, object: String, detail: String) {
        let (account, region) = digest_scope(key);
        self.problems.push(Problem {
            kind,
            account,
            region,
            object,
            detail,
        });
    }

    /// Invalid digests, then breaks in each chain.
    fn digests(&mut self, checked: &[Checked], in_range: &dyn Fn(&str, &str) -> bool) {
        for c in checked {
            match &c.invalid {
                None => scope_of(&mut self.scopes, &c.key).digests_valid += 1,
                Some(why) => {
                    scope_of(&mut self.scopes, &c.key).digests_invalid += 1;
                    let object = format!("s3://{}/{}", c.bucket, c.key);
                    self.problem(ProblemKind::DigestInvalid, &c.key, object, why.clone());
                }
            }
        }
        for br in digest::chain(checked, in_range) {
            let key = br.after.splitn(4, '/').nth(3).unwrap_or("").to_string();
            match br.kind {
                "gap" => scope_of(&mut self.scopes, &key).gaps += 1,
                _ => scope_of(&mut self.scopes, &key).digests_missing += 1,
            }
            let (kind, object, detail) = match br.kind {
                "missing" => (
                    ProblemKind::DigestMissing,
                    br.detail.clone(),
                    format!(
                        "deleted: {} names it as its predecessor; the log files of its hour cannot be verified",
                        br.after
                    ),
                ),
                "replaced" => (
                    ProblemKind::DigestReplaced,
                    br.after.clone(),
                    br.detail.clone(),
                ),
                _ => (ProblemKind::Gap, br.after.clone(), br.detail.clone()),
            };
            self.problem(kind, &key, object, detail);
        }
    }

    /// The listed log files' hashes against their digests'.
    fn logs(&mut self, hashed: Vec<(ObjectId, String, Hashed)>) {
        for ((b, k), want, got) in hashed {
            let object = format!("s3://{b}/{k}");
            let sc = scope_of(&mut self.scopes, &k);
            let (kind, detail) = match got {
                Ok(Some(h)) if h.eq_ignore_ascii_case(&want) => {
                    sc.logs_valid += 1;
                    continue;
                }
                Ok(Some(h)) => {
                    sc.logs_modified += 1;
                    (
                        ProblemKind::LogModified,
                        format!("SHA-256 {h}, the digest says {want}"),
                    )
                }
                Ok(None) => {
                    sc.logs_deleted += 1;
                    (
                        ProblemKind::LogDeleted,
                        "listed in a valid digest, not in the bucket".into(),
                    )
                }
                // Access denied, throttling, a bucket elsewhere: not evidence of tampering, but
                // not verified either.
                Err(e) => {
                    sc.logs_unreadable += 1;
                    (
                        ProblemKind::LogUnreadable,
                        format!("could not be read to check its hash: {e}"),
                    )
                }
            };
            self.problem(kind, &k, object, detail);
        }
    }

    /// Log files no digest lists, outside the hours of missing or invalid digests (those cannot
    /// be verified, and are not forged): older than the last digest's hour, forged and slipped
    /// in; newer than the last digest and delivered more than [`DIGEST_DUE_HOURS`] before
    /// `now`, so their digest is overdue: the newest digests were deleted, or validation was
    /// turned off (newer ones await theirs).
    fn unlisted_logs(
        &mut self,
        bucket: &str,
        log_keys: &[String],
        listed: &BTreeMap<(String, String), String>,
        newest_end: &BTreeMap<(String, String), String>,
        now: chrono::DateTime<chrono::Utc>,
    ) {
        let due_before = (now - Duration::hours(DIGEST_DUE_HOURS))
            .format("%Y-%m-%dT%H:%M:%SZ")
            .to_string();
        let hour_before = |end: &str| {
            chrono::DateTime::parse_from_rfc3339(end).ok().map(|e| {
                (e - Duration::hours(1))
                    .format("%Y-%m-%dT%H:%M:%SZ")
                    .to_string()
            })
        };
        let missing_hours: Vec<(String, String)> = self
            .problems
            .iter()
            .filter(|p| {
                matches!(
                    p.kind,
                    ProblemKind::DigestMissing | ProblemKind::DigestInvalid
                )
            })
            .filter_map(|p| digest_name_end(&p.object))
            .filter_map(|end| Some((hour_before(&end)?, end)))
            .collect();
        for k in log_keys {
            if listed.contains_key(&(bucket.to_string(), k.clone())) {
                continue;
            }
            let Some(end) = newest_end.get(&digest_scope(k)) else {
                continue;
            };
            let Some(t) = log_name_time(k) else { continue };
            let end_minus_hour = hour_before(end).unwrap_or_default();
            if missing_hours.iter().any(|(a, b)| &t >= a && &t < b) {
                continue;
            }
            let (kind, detail) = if t < end_minus_hour {
                (
                    ProblemKind::LogNotInDigest,
                    format!("delivered at {t} but no digest lists it"),
                )
            } else if &t >= end && t < due_before {
                (
                    ProblemKind::LogAfterLastDigest,
                    format!(
                        "delivered at {t}, after the last digest (which ends at {end}), and its \
                         digest was due within {DIGEST_DUE_HOURS} hours: the newest digests were \
                         deleted, or log file validation was turned off"
                    ),
                )
            } else {
                continue;
            };
            scope_of(&mut self.scopes, k).logs_not_in_digest += 1;
            self.problem(kind, k, format!("s3://{bucket}/{k}"), detail);
        }
    }

    /// Accounts and regions with log files in the range and not one digest: every digest was
    /// deleted, or validation is off. The strongest sign of tampering verify can see.
    fn absent_digests(
        &mut self,
        bucket: &str,
        prefix: &str,
        log_keys: &[String],
        with_digests: &BTreeSet<(String, String)>,
    ) {
        let mut logs: BTreeMap<(String, String), (u64, &str)> = BTreeMap::new();
        for k in log_keys {
            let e = logs.entry(digest_scope(k)).or_insert((0, k));
            e.0 += 1;
        }
        for (scope, (n, example)) in logs {
            if with_digests.contains(&scope) {
                continue;
            }
            let folder = example
                .find("/CloudTrail/")
                .map(|i| format!("{}/CloudTrail-Digest/{}/", &example[..i], scope.1))
                .unwrap_or_else(|| prefix.to_string());
            scope_of(&mut self.scopes, example).digests_missing += 1;
            self.problem(
                ProblemKind::DigestsAbsent,
                example,
                format!("s3://{bucket}/{folder}"),
                format!(
                    "{n} log file(s) in the range and no digest: every digest was deleted, or \
                     log file validation is off"
                ),
            );
        }
    }
}

/// Hours after a log file's delivery by which a digest lists it (CloudTrail delivers a digest
/// for each hour, normally within the next hour).
pub const DIGEST_DUE_HOURS: i64 = 3;

/// The time an object's name carries (log delivery minute, or digest hour end), in µs.
fn object_time(object: &str) -> Option<i64> {
    let t = log_name_time(object).or_else(|| digest_name_end(object))?;
    chrono::DateTime::parse_from_rfc3339(&t)
        .ok()
        .map(|t| t.timestamp_micros())
}

/// Replaces the lake's `integrity` table with the report's problems (one PUT).
pub async fn save(lake: &crate::lake::Lake, r: &Report) -> Result<(), crate::lake::LakeError> {
    use arrow::array::{ArrayRef, StringArray, TimestampMicrosecondArray};
    let n = r.problems.len();
    let now = chrono::Utc::now().timestamp_micros();
    let strs = |f: &dyn Fn(&Problem) -> String| -> ArrayRef {
        std::sync::Arc::new(
            r.problems
                .iter()
                .map(|p| Some(f(p)))
                .collect::<StringArray>(),
        )
    };
    let cols: Vec<ArrayRef> = vec![
        std::sync::Arc::new(TimestampMicrosecondArray::from(vec![now; n]).with_timezone("UTC")),
        strs(&|_| r.from.clone()),
        strs(&|p| p.kind.to_string()),
        strs(&|p| p.account.clone()),
        strs(&|p| p.region.clone()),
        strs(&|p| p.object.clone()),
        strs(&|p| p.detail.clone()),
        std::sync::Arc::new(
            TimestampMicrosecondArray::from(
                r.problems
                    .iter()
                    .map(|p| object_time(&p.object))
                    .collect::<Vec<_>>(),
            )
            .with_timezone("UTC"),
        ),
    ];
    let integrity = crate::lake::catalog::INTEGRITY;
    let batch = arrow::array::RecordBatch::try_new((integrity.schema)(), cols)
        .expect("integrity columns match their schema");
    lake.replace_table(&integrity, &batch).await
}

/// Log files the last `verify --lake` found modified or in no digest, with why: what
/// `ingest --refuse-unverified` leaves out.
pub async fn refused_objects(
    lake: &crate::lake::Lake,
) -> anyhow::Result<std::collections::HashMap<String, String>> {
    use arrow::array::AsArray;
    let ctx = crate::engine::base_session(lake, &crate::engine::Engine::Local).await?;
    let batches = ctx
        .sql(
            "SELECT object, kind || ': ' || detail AS why FROM integrity \
             WHERE kind IN ('log_modified', 'log_not_in_digest', 'log_after_last_digest')",
        )
        .await?
        .collect()
        .await?;
    let mut out = std::collections::HashMap::new();
    for b in batches {
        let (o, w) = (
            b.column(0).as_string::<i32>(),
            b.column(1).as_string::<i32>(),
        );
        for i in 0..b.num_rows() {
            out.insert(o.value(i).to_string(), w.value(i).to_string());
        }
    }
    Ok(out)
}

/// The report for a terminal.
pub fn render(r: &Report) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    for sc in &r.scopes {
        let _ = writeln!(
            s,
            "{} {}: digests {} valid, {} invalid, {} missing, {} gaps; log files {} valid, {} modified, {} deleted, {} in no digest, {} unreadable",
            crate::sanitize::for_terminal(&sc.account),
            crate::sanitize::for_terminal(&sc.region),
            sc.digests_valid,
            sc.digests_invalid,
            sc.digests_missing,
            sc.gaps,
            sc.logs_valid,
            sc.logs_modified,
            sc.logs_deleted,
            sc.logs_not_in_digest,
            sc.logs_unreadable
        );
    }
    if r.scopes.is_empty() {
        let _ = writeln!(s, "no digest or log files found under {}", r.from);
    }
    for p in &r.problems {
        let _ = writeln!(
            s,
            "{:18} {} {} {}: {}",
            p.kind,
            crate::sanitize::for_terminal(&p.account),
            crate::sanitize::for_terminal(&p.region),
            crate::sanitize::for_terminal(&p.object),
            crate::sanitize::for_terminal(&p.detail)
        );
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Regression (hardening, item 7): a 2 MB digest that inflated to 2 GiB was read whole
    /// (5.3 GB of memory). A digest is refused past its limit; a log file is hashed as a stream,
    /// to the same hash as reading it whole.
    #[test]
    fn digests_are_inflated_within_a_limit_and_logs_hashed_as_a_stream() {
        use std::io::Write;
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        let zeros = vec![0u8; 1 << 20];
        for _ in 0..(MAX_DIGEST_BYTES >> 20) + 1 {
            gz.write_all(&zeros).unwrap();
        }
        let bomb = gz.finish().unwrap();
        let e = inflate_digest(&bomb).unwrap_err();
        assert!(e.contains("inflates past 16777216 bytes"), "{e}");
        let mut whole = vec![];
        flate2::read::MultiGzDecoder::new(&bomb[..])
            .read_to_end(&mut whole)
            .unwrap();
        assert_eq!(hash_inflated(&bomb).unwrap(), digest::sha256_hex(&whole));
        assert_eq!(inflate_digest(b"{}").unwrap(), b"{}");
        assert!(hash_inflated(b"\x1f\x8bjunk").is_err());
    }

    /// Regression: a multi-byte character in a key's date part panicked (cut inside it).
    #[test]
    fn keys_with_multibyte_dates_are_not_stamps() {
        let p = "AWSLogs/1/CloudTrail/us-east-1/2026/10/01/1_CloudTrail_us-east-1_202\u{20ac}01T1005Z_x.json.gz";
        assert_eq!(log_name_time(p), None);
        let d = "AWSLogs/1/CloudTrail-Digest/us-east-1/2026/10/01/1_CloudTrail-Digest_us-east-1_t_us-east-1_202\u{20ac}01T120000Z.json.gz";
        assert_eq!(digest_name_end(d), None);
        assert_eq!(object_time(p), None);
        let ok = "AWSLogs/1/CloudTrail/us-east-1/2026/10/01/1_CloudTrail_us-east-1_20261001T1005Z_x.json.gz";
        assert_eq!(log_name_time(ok).as_deref(), Some("2026-10-01T10:05:00Z"));
        let ok = "x/1_CloudTrail-Digest_us-east-1_t_us-east-1_20261001T120000Z.json.gz";
        assert_eq!(digest_name_end(ok).as_deref(), Some("2026-10-01T12:00:00Z"));
    }

    #[test]
    fn log_names_carry_their_time() {
        assert_eq!(
            log_name_time(
                "AWSLogs/1/CloudTrail/us-east-1/2026/10/01/1_CloudTrail_us-east-1_20261001T1005Z_abc.json.gz"
            )
            .as_deref(),
            Some("2026-10-01T10:05:00Z")
        );
        assert_eq!(log_name_time("x/y.json.gz"), None);
        assert_eq!(
            digest_name_end(
                "p/1_CloudTrail-Digest_us-east-1_trail_us-east-1_20261001T120000Z.json.gz"
            )
            .as_deref(),
            Some("2026-10-01T12:00:00Z")
        );
    }
}
