//! The one S3 listing loop: ListObjectsV2 page by page, with or without a `/` delimiter, each
//! page handed over as its sub-folders and its objects. `source` (ingest) and `verify` both
//! list through it, so paging, key decoding and the error that names the prefix live in one
//! place.
//!
//! Keys are listed with `encoding-type=url` and decoded here: a key may hold characters that XML
//! 1.0 cannot carry (control characters), and one such key would otherwise make the whole
//! listing unparseable, as AWS documents.

use std::ops::ControlFlow;

use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::types::EncodingType;

/// One object of a listing, its key decoded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ListedObject {
    /// The key.
    pub key: String,
    /// Size in bytes.
    pub size: i64,
    /// The ETag, as S3 gives it (quoted).
    pub e_tag: Option<String>,
}

/// One page of a listing.
#[derive(Debug, Default)]
pub struct Page {
    /// Sub-folders (`prefix/…/`), for a delimited listing.
    pub folders: Vec<String>,
    /// The objects on this page.
    pub objects: Vec<ListedObject>,
}

/// Decodes a key of an `encoding-type=url` listing (`+` is a space, `%XX` a byte).
pub fn decode_key(k: &str) -> String {
    let b = k.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                match u8::from_str_radix(std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz"), 16)
                {
                    Ok(v) => {
                        out.push(v);
                        i += 3;
                        continue;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// A listing that failed, naming what was listed.
#[derive(Debug, Clone, thiserror::Error)]
#[error("cannot list s3://{bucket}/{prefix}: {reason}")]
pub struct ListError {
    /// The bucket.
    pub bucket: String,
    /// The prefix.
    pub prefix: String,
    /// What S3 said.
    pub reason: String,
}

/// Lists `prefix` in `bucket`, calling `each` per page until the listing ends or `each` breaks.
/// `delimited`: one folder level (sub-folders in [`Page::folders`]), else every key below.
pub async fn for_each_page<F, Fut>(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    delimited: bool,
    mut each: F,
) -> Result<(), ListError>
where
    F: FnMut(Page) -> Fut,
    Fut: std::future::Future<Output = ControlFlow<()>>,
{
    let mut req = client
        .list_objects_v2()
        .bucket(bucket)
        .prefix(prefix)
        .encoding_type(EncodingType::Url);
    if delimited {
        req = req.delimiter("/");
    }
    let mut pages = req.into_paginator().send();
    while let Some(page) = pages.next().await {
        let page = page.map_err(|e| ListError {
            bucket: bucket.to_string(),
            prefix: prefix.to_string(),
            reason: DisplayErrorContext(&e).to_string(),
        })?;
        let folders = page
            .common_prefixes()
            .iter()
            .filter_map(|cp| cp.prefix().map(decode_key))
            .collect();
        let objects = page
            .contents()
            .iter()
            .filter_map(|o| {
                Some(ListedObject {
                    key: decode_key(o.key()?),
                    size: o.size().unwrap_or(0),
                    e_tag: o.e_tag().map(str::to_string),
                })
            })
            .collect();
        if each(Page { folders, objects }).await.is_break() {
            break;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_encoded_keys_decode() {
        assert_eq!(
            decode_key("AWSLogs/a%01b+c%2Bd%E2%82%AC"),
            "AWSLogs/a\u{1}b c+d\u{20ac}"
        );
        assert_eq!(decode_key("x%"), "x%");
        assert_eq!(decode_key("x%4"), "x%4");
        assert_eq!(decode_key("x%zz"), "x%zz");
    }
}
