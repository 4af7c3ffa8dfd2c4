//! CloudTrail digest files: their format, the string CloudTrail signs, signature checks, and
//! the chain of digests judged as a whole. Pure: no I/O here ([`super`] fetches).
//!
//! A digest (`AWSLogs/<account>/CloudTrail-Digest/<region>/YYYY/MM/DD/..._<time>.json.gz`)
//! covers an hour of a trail's log files. CloudTrail signs, with the region's private key
//! (SHA256withRSA, PKCS #1 v1.5), the string
//!
//! ```text
//! <digestEndTime>\n<digestS3Bucket>/<digestS3Object>\n<hex SHA-256 of the uncompressed digest>\n<previousDigestSignature or "null">
//! ```
//!
//! and puts the hex signature in the object's `x-amz-meta-signature`. Each digest names the one
//! before it (`previousDigestS3Object`, `previousDigestSignature`), so deleting or replacing a
//! digest breaks the chain, and lists each log file with the SHA-256 of its uncompressed bytes.

use std::collections::BTreeMap;

use rsa::RsaPublicKey;
use rsa::pkcs1::DecodeRsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};

/// The fields of a digest file pipewarden uses.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct DigestFile {
    /// Account.
    #[serde(default)]
    pub aws_account_id: Option<String>,
    /// Start of the hour covered (`2026-10-01T10:00:00Z`).
    pub digest_start_time: String,
    /// End of it.
    pub digest_end_time: String,
    /// Where CloudTrail put this digest.
    pub digest_s3_bucket: String,
    /// Its key.
    pub digest_s3_object: String,
    /// Which public key verifies it.
    pub digest_public_key_fingerprint: String,
    /// `SHA256withRSA`.
    #[serde(default)]
    pub digest_signature_algorithm: Option<String>,
    /// The previous digest's bucket (null when the chain starts here).
    #[serde(default)]
    pub previous_digest_s3_bucket: Option<String>,
    /// The previous digest's key.
    #[serde(default)]
    pub previous_digest_s3_object: Option<String>,
    /// The previous digest's signature (hex).
    #[serde(default)]
    pub previous_digest_signature: Option<String>,
    /// Log files delivered in the hour.
    #[serde(default)]
    pub log_files: Vec<LogFileEntry>,
}

/// One log file a digest vouches for.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LogFileEntry {
    /// Bucket.
    pub s3_bucket: String,
    /// Key.
    pub s3_object: String,
    /// Hex SHA-256 of the uncompressed file.
    pub hash_value: String,
    /// `SHA-256`.
    #[serde(default)]
    pub hash_algorithm: Option<String>,
}

/// Hex SHA-256.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// The string CloudTrail signs for a digest whose uncompressed bytes are `inflated`.
pub fn string_to_sign(d: &DigestFile, inflated: &[u8]) -> String {
    format!(
        "{}\n{}/{}\n{}\n{}",
        d.digest_end_time,
        d.digest_s3_bucket,
        d.digest_s3_object,
        sha256_hex(inflated),
        d.previous_digest_signature.as_deref().unwrap_or("null")
    )
}

/// A public key from DER (PKCS #1, as CloudTrail's ListPublicKeys returns it, or SPKI) or PEM
/// (`RSA PUBLIC KEY` or `PUBLIC KEY`).
pub fn public_key(bytes: &[u8]) -> Result<RsaPublicKey, String> {
    if let Ok(text) = std::str::from_utf8(bytes)
        && text.contains("-----BEGIN")
    {
        return RsaPublicKey::from_pkcs1_pem(text)
            .or_else(|_| RsaPublicKey::from_public_key_pem(text))
            .map_err(|e| format!("not an RSA public key in PEM: {e}"));
    }
    RsaPublicKey::from_pkcs1_der(bytes)
        .or_else(|_| RsaPublicKey::from_public_key_der(bytes))
        .map_err(|e| format!("not an RSA public key in DER: {e}"))
}

/// Whether `signature_hex` is `key`'s SHA256withRSA signature of `message`.
pub fn signature_ok(key: &RsaPublicKey, message: &[u8], signature_hex: &str) -> bool {
    let Ok(sig) = hex::decode(signature_hex.trim()) else {
        return false;
    };
    let Ok(sig) = Signature::try_from(sig.as_slice()) else {
        return false;
    };
    VerifyingKey::<Sha256>::new(key.clone())
        .verify(message, &sig)
        .is_ok()
}

/// A digest as fetched: its key, its bytes (uncompressed) and its object metadata.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// Uncompressed content, or why there is none.
    pub inflated: Result<Vec<u8>, String>,
    /// `x-amz-meta-signature`.
    pub signature: Option<String>,
    /// `x-amz-meta-signature-algorithm`.
    pub signature_algorithm: Option<String>,
}

/// What one digest turned out to be.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// Bucket.
    pub bucket: String,
    /// Key.
    pub key: String,
    /// The parsed file when it parsed.
    pub file: Option<DigestFile>,
    /// The signature from the metadata.
    pub signature: Option<String>,
    /// Why it is invalid (none: valid).
    pub invalid: Option<String>,
}

/// Checks one digest: it parses, sits where it says it was delivered, names a key we have, and
/// its signature verifies. `keys` maps fingerprints to keys; a fingerprint not in it is tried
/// against every key of `fallback` (a folder of keys with other names).
pub fn check(
    f: &Fetched,
    keys: &BTreeMap<String, RsaPublicKey>,
    fallback: &[RsaPublicKey],
) -> Checked {
    let mut out = Checked {
        bucket: f.bucket.clone(),
        key: f.key.clone(),
        file: None,
        signature: f.signature.clone(),
        invalid: None,
    };
    let inflated = match &f.inflated {
        Ok(b) => b,
        Err(e) => {
            out.invalid = Some(format!("unreadable: {e}"));
            return out;
        }
    };
    let file: DigestFile = match serde_json::from_slice(inflated) {
        Ok(d) => d,
        Err(e) => {
            out.invalid = Some(format!("not a digest file: {e}"));
            return out;
        }
    };
    out.file = Some(file.clone());
    let Some(sig) = &f.signature else {
        out.invalid = Some("no x-amz-meta-signature on the object".into());
        return out;
    };
    if let Some(a) = &f.signature_algorithm
        && a != "SHA256withRSA"
    {
        out.invalid = Some(format!("unsupported signature algorithm {a}"));
        return out;
    }
    if file.digest_s3_bucket != f.bucket || file.digest_s3_object != f.key {
        out.invalid = Some(format!(
            "moved: it says it was delivered to s3://{}/{}",
            file.digest_s3_bucket, file.digest_s3_object
        ));
        return out;
    }
    let message = string_to_sign(&file, inflated);
    let candidates: Vec<&RsaPublicKey> = match keys.get(&file.digest_public_key_fingerprint) {
        Some(k) => vec![k],
        None => fallback.iter().collect(),
    };
    if candidates.is_empty() {
        out.invalid = Some(format!(
            "no public key with fingerprint {}",
            file.digest_public_key_fingerprint
        ));
        return out;
    }
    if !candidates
        .iter()
        .any(|k| signature_ok(k, message.as_bytes(), sig))
    {
        out.invalid = Some(format!(
            "signature does not verify with the public key {}",
            file.digest_public_key_fingerprint
        ));
    }
    out
}

/// A break in a chain of digests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChainBreak {
    /// `missing` (a digest named by its successor is not there), `replaced` (it is there but is
    /// not the one its successor signed), or `gap` (hours no digest covers).
    pub kind: &'static str,
    /// The digest whose predecessor is at fault (`s3://bucket/key`).
    pub after: String,
    /// The predecessor it names, or the uncovered interval.
    pub detail: String,
}

/// The chain a digest belongs to: one per trail, account and region (an organization trail
/// has one per member account). Its bucket, the prefix before `AWSLogs/`, the folders up to the
/// region and the file name without its timestamp
/// (`<account>_CloudTrail-Digest_<region>_<trail>_<region>`).
pub fn chain_id(bucket: &str, key: &str) -> String {
    let (dir, file) = key.rsplit_once('/').unwrap_or(("", key));
    let l = crate::source::layout::parse(key);
    let root = key.find("AWSLogs/").map_or("", |i| &key[..i]);
    let stem = file.rsplit_once('_').map_or(file, |(s, _)| s);
    match (l.account, l.region) {
        (Some(a), Some(r)) => format!(
            "s3://{bucket}/{root}{}{a}/{r}/{stem}",
            l.org_id.map(|o| o + "/").unwrap_or_default()
        ),
        // Outside the layout: the folder is the chain.
        _ => format!("s3://{bucket}/{dir}/"),
    }
}

/// Follows each valid digest back to its predecessor. `checked` holds every digest listed (any
/// order); `in_range(bucket, key)` says whether a digest would have been listed, so that a
/// predecessor from before the range is not called missing.
pub fn chain(checked: &[Checked], in_range: &dyn Fn(&str, &str) -> bool) -> Vec<ChainBreak> {
    let by_key: BTreeMap<(&str, &str), &Checked> = checked
        .iter()
        .map(|c| ((c.bucket.as_str(), c.key.as_str()), c))
        .collect();
    // Oldest first, by the hour each covers.
    let mut valid: Vec<(&Checked, &DigestFile)> = checked
        .iter()
        .filter(|c| c.invalid.is_none())
        .filter_map(|c| c.file.as_ref().map(|f| (c, f)))
        .collect();
    valid.sort_by(|a, b| a.1.digest_end_time.cmp(&b.1.digest_end_time));
    // The newest digest seen so far of each chain: a restart is a gap only against its own
    // chain's past, never against another account's, region's or trail's.
    let mut last_of: BTreeMap<String, &DigestFile> = BTreeMap::new();
    let mut out = vec![];
    for (c, f) in &valid {
        let older = last_of.insert(chain_id(&c.bucket, &c.key), f);
        let here = format!("s3://{}/{}", c.bucket, c.key);
        match (&f.previous_digest_s3_bucket, &f.previous_digest_s3_object) {
            (Some(pb), Some(pk)) => match by_key.get(&(pb.as_str(), pk.as_str())) {
                // An invalid predecessor is reported as such already.
                Some(prev) if prev.invalid.is_some() => {}
                Some(prev) => {
                    if prev.signature.as_deref().map(str::trim)
                        != f.previous_digest_signature.as_deref().map(str::trim)
                    {
                        out.push(ChainBreak {
                            kind: "replaced",
                            after: here.clone(),
                            detail: format!(
                                "s3://{pb}/{pk} is not the digest this one follows (its signature differs)"
                            ),
                        });
                    }
                }
                None => {
                    // A predecessor before the range is not expected to be listed.
                    if in_range(pb, pk) {
                        out.push(ChainBreak {
                            kind: "missing",
                            after: here.clone(),
                            detail: format!("s3://{pb}/{pk}"),
                        });
                    }
                }
            },
            _ => {
                // The chain restarts: logging was off, or the trail was re-created.
                if let Some(older) = older {
                    out.push(ChainBreak {
                        kind: "gap",
                        after: here.clone(),
                        detail: format!(
                            "the chain restarts; no digest covers {} to {}",
                            older.digest_end_time, f.digest_start_time
                        ),
                    });
                }
            }
        }
        // Hours between a digest and the predecessor it names that neither covers.
        if let (Some(pb), Some(pk)) = (&f.previous_digest_s3_bucket, &f.previous_digest_s3_object)
            && let Some(prev) = by_key
                .get(&(pb.as_str(), pk.as_str()))
                .and_then(|p| p.file.as_ref())
            && prev.digest_end_time < f.digest_start_time
        {
            out.push(ChainBreak {
                kind: "gap",
                after: here.clone(),
                detail: format!(
                    "no digest covers {} to {}",
                    prev.digest_end_time, f.digest_start_time
                ),
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_signed_string_follows_cloudtrail() {
        let d = DigestFile {
            aws_account_id: Some("111122223333".into()),
            digest_start_time: "2026-10-01T10:00:00Z".into(),
            digest_end_time: "2026-10-01T11:00:00Z".into(),
            digest_s3_bucket: "trail-bucket".into(),
            digest_s3_object:
                "AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/10/01/x.json.gz".into(),
            digest_public_key_fingerprint: "abc".into(),
            digest_signature_algorithm: Some("SHA256withRSA".into()),
            previous_digest_s3_bucket: None,
            previous_digest_s3_object: None,
            previous_digest_signature: None,
            log_files: vec![],
        };
        let s = string_to_sign(&d, b"{}");
        assert_eq!(
            s,
            "2026-10-01T11:00:00Z\ntrail-bucket/AWSLogs/111122223333/CloudTrail-Digest/us-east-1/2026/10/01/x.json.gz\n\
             44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a\nnull"
        );
    }

    #[test]
    fn keys_parse_in_every_encoding_and_garbage_does_not() {
        assert!(public_key(b"garbage").is_err());
        assert!(
            public_key(b"-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n").is_err()
        );
        assert!(!signature_ok(
            &RsaPublicKey::new(rsa::BigUint::from(3233u32), rsa::BigUint::from(17u32)).unwrap(),
            b"x",
            "zz"
        ));
    }

    fn digest(hour: u32, prev: Option<u32>) -> Checked {
        let key = |h: u32| format!("d/{h:02}.json.gz");
        Checked {
            bucket: "b".into(),
            key: key(hour),
            file: Some(DigestFile {
                aws_account_id: None,
                digest_start_time: format!("2026-10-01T{hour:02}:00:00Z"),
                digest_end_time: format!("2026-10-01T{:02}:00:00Z", hour + 1),
                digest_s3_bucket: "b".into(),
                digest_s3_object: key(hour),
                digest_public_key_fingerprint: "f".into(),
                digest_signature_algorithm: None,
                previous_digest_s3_bucket: prev.map(|_| "b".into()),
                previous_digest_s3_object: prev.map(key),
                previous_digest_signature: prev.map(|p| format!("sig{p}")),
                log_files: vec![],
            }),
            signature: Some(format!("sig{hour}")),
            invalid: None,
        }
    }

    #[test]
    fn chains_are_per_trail_account_and_region() {
        let k = |p: &str, a: &str, r: &str, trail: &str, t: &str| {
            format!(
                "{p}AWSLogs/{a}/CloudTrail-Digest/{r}/2026/10/01/{a}_CloudTrail-Digest_{r}_{trail}_{r}_{t}.json.gz"
            )
        };
        let one = chain_id("b", &k("", "1", "us-east-1", "main", "20261001T110000Z"));
        assert_eq!(
            one,
            chain_id("b", &k("", "1", "us-east-1", "main", "20261002T000000Z"))
        );
        for other in [
            chain_id("b", &k("", "2", "us-east-1", "main", "20261001T110000Z")),
            chain_id("b", &k("", "1", "eu-west-1", "main", "20261001T110000Z")),
            chain_id("b", &k("", "1", "us-east-1", "audit_2", "20261001T110000Z")),
            chain_id("b", &k("x/", "1", "us-east-1", "main", "20261001T110000Z")),
            chain_id(
                "b",
                &k("o-abc/", "1", "us-east-1", "main", "20261001T110000Z")
                    .replace("o-abc/AWSLogs/", "AWSLogs/o-abc/"),
            ),
            chain_id("c", &k("", "1", "us-east-1", "main", "20261001T110000Z")),
        ] {
            assert_ne!(one, other);
        }
    }

    #[test]
    fn chains_report_restarts_holes_and_replacements() {
        let all = |_: &str, _: &str| true;
        let kinds =
            |v: Vec<ChainBreak>| v.into_iter().map(|b| (b.kind, b.after)).collect::<Vec<_>>();
        // 10 -> 11 -> 12: whole.
        let whole = [digest(10, None), digest(11, Some(10)), digest(12, Some(11))];
        assert!(chain(&whole, &all).is_empty());
        // Logging stopped after 11 and restarted at 14: the chain restarts.
        let restart = [digest(10, None), digest(11, Some(10)), digest(14, None)];
        assert_eq!(
            kinds(chain(&restart, &all)),
            vec![("gap", "s3://b/d/14.json.gz".into())]
        );
        // 14 names 11 as its predecessor: hours 12 and 13 are covered by nothing.
        let hole = [digest(11, None), digest(14, Some(11))];
        assert_eq!(
            kinds(chain(&hole, &all)),
            vec![("gap", "s3://b/d/14.json.gz".into())]
        );
        // 11 was swapped for another signed digest: 12's link does not match.
        let mut swapped = whole.clone();
        swapped[1].signature = Some("other".into());
        assert_eq!(
            kinds(chain(&swapped, &all)),
            vec![("replaced", "s3://b/d/12.json.gz".into())]
        );
        // 11 deleted; a predecessor before the range is not missing.
        let gone = [digest(10, None), digest(12, Some(11))];
        assert_eq!(
            kinds(chain(&gone, &all)),
            vec![("missing", "s3://b/d/12.json.gz".into())]
        );
        let first = [digest(12, Some(11))];
        assert!(chain(&first, &|_, k| k != "d/11.json.gz").is_empty());
    }
}
