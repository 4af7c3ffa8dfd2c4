//! The one S3 listing loop: ListObjectsV2 page by page, with or without a `/` delimiter, each
//! page handed over as its sub-folders and its objects. `source` (ingest) and `verify` both
//! list through it, so paging and the error that names the prefix live in one place.

use std::ops::ControlFlow;

use aws_sdk_s3::error::DisplayErrorContext;
use aws_sdk_s3::types::Object;

/// One page of a listing.
#[derive(Debug, Default)]
pub struct Page {
    /// Sub-folders (`prefix/…/`), for a delimited listing.
    pub folders: Vec<String>,
    /// The objects on this page.
    pub objects: Vec<Object>,
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
    let mut req = client.list_objects_v2().bucket(bucket).prefix(prefix);
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
            .filter_map(|cp| cp.prefix().map(str::to_string))
            .collect();
        let objects = page.contents.unwrap_or_default();
        if each(Page { folders, objects }).await.is_break() {
            break;
        }
    }
    Ok(())
}
