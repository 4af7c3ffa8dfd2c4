//! Source: where log objects come from, an S3 prefix or a local folder, and how they are listed
//! and read.
//!
//! Listing follows the CloudTrail layout ([`layout`]): with `--since/--until` it walks folders with
//! a delimiter down to each region and then lists only the day prefixes in range, so a bounded run
//! never scans the whole bucket. Digest and Insight folders are skipped here and counted.

pub mod layout;
pub mod listing;

use std::path::{Path, PathBuf};

use aws_sdk_s3::error::DisplayErrorContext;
use bytes::Bytes;
use chrono::NaiveDate;
use tokio::sync::mpsc;

use layout::{KeyKind, Layout};

/// A date window on object keys (inclusive on both ends).
#[derive(Debug, Clone, Copy, Default)]
pub struct DateRange {
    /// First day to include.
    pub since: Option<NaiveDate>,
    /// Last day to include.
    pub until: Option<NaiveDate>,
}

impl DateRange {
    /// Whether a dated object falls in the window; undated objects always do.
    pub fn contains(&self, d: Option<NaiveDate>) -> bool {
        match d {
            None => true,
            Some(d) => self.since.is_none_or(|s| d >= s) && self.until.is_none_or(|u| d <= u),
        }
    }
}

/// One object to read.
#[derive(Debug, Clone)]
pub struct ObjectRef {
    /// Full name: `s3://bucket/key` or an absolute file path. The manifest key and `source_object`.
    pub uri: String,
    /// The key, or the path relative to the source folder, with `/` separators.
    pub key: String,
    /// Size in bytes.
    pub size: u64,
    /// S3 ETag (unquoted), or `<size>-<mtime ns>` for files.
    pub etag: String,
    /// What the key says about the object.
    pub layout: Layout,
}

/// A listed object that is not a log (digest, insight, hidden file), counted and skipped.
#[derive(Debug, Clone)]
// Nearly every value is an Object: boxing it would add an allocation per object listed.
#[allow(clippy::large_enum_variant)]
pub enum Listed {
    /// An object to ingest.
    Object(ObjectRef),
    /// An object left alone, with its kind.
    Skipped(KeyKind),
}

impl From<listing::ListError> for SourceError {
    fn from(e: listing::ListError) -> Self {
        SourceError::List {
            location: format!("s3://{}/{}", e.bucket, e.prefix),
            reason: e.reason,
        }
    }
}

/// Errors reading a source.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    /// Listing failed: the run cannot know what exists.
    #[error("cannot list {location}: {reason}")]
    List { location: String, reason: String },
    /// Reading one object failed (retried on the next run).
    #[error("cannot read {uri}: {reason}")]
    Read { uri: String, reason: String },
}

/// Where logs are read from.
#[derive(Clone, Debug)]
pub enum Source {
    /// A local folder.
    Local { root: PathBuf },
    /// An S3 prefix, read with aws-sdk-s3.
    S3 {
        client: aws_sdk_s3::Client,
        bucket: String,
        prefix: String,
    },
}

/// An S3 object's body read as a blocking stream, chunk by chunk, on `rt` (from a thread
/// outside the runtime: ingest's parse workers). Large objects are parsed from it without being
/// held whole.
pub struct BlockingBody {
    rt: tokio::runtime::Handle,
    body: aws_sdk_s3::primitives::ByteStream,
    chunk: Bytes,
}

impl std::io::Read for BlockingBody {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        while self.chunk.is_empty() {
            match self.rt.block_on(self.body.next()) {
                Some(Ok(b)) => self.chunk = b,
                Some(Err(e)) => return Err(std::io::Error::other(e.to_string())),
                None => return Ok(0),
            }
        }
        let n = out.len().min(self.chunk.len());
        out[..n].copy_from_slice(&self.chunk[..n]);
        self.chunk = self.chunk.slice(n..);
        Ok(n)
    }
}

impl Source {
    /// Opens `obj` (an S3 source's) for reading as a stream, from outside the runtime `rt`;
    /// also returns the ETag the GET saw.
    pub fn open_blocking(
        &self,
        obj: &ObjectRef,
        rt: &tokio::runtime::Handle,
    ) -> Result<(BlockingBody, String), SourceError> {
        let Source::S3 { client, bucket, .. } = self else {
            return Err(SourceError::Read {
                uri: obj.uri.clone(),
                reason: "not an S3 object".into(),
            });
        };
        let out = rt
            .block_on(client.get_object().bucket(bucket).key(&obj.key).send())
            .map_err(|e| SourceError::Read {
                uri: obj.uri.clone(),
                reason: DisplayErrorContext(&e).to_string(),
            })?;
        let etag = out.e_tag().map(unquote).unwrap_or_else(|| obj.etag.clone());
        Ok((
            BlockingBody {
                rt: rt.clone(),
                body: out.body,
                chunk: Bytes::new(),
            },
            etag,
        ))
    }
}

/// Splits `s3://bucket/prefix` into bucket and prefix.
pub fn parse_s3_uri(s: &str) -> Option<(String, String)> {
    let rest = s.strip_prefix("s3://")?;
    let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
    if bucket.is_empty() {
        return None;
    }
    Some((bucket.to_string(), prefix.to_string()))
}

impl Source {
    /// A short name for messages.
    pub fn describe(&self) -> String {
        match self {
            Source::Local { root } => root.display().to_string(),
            Source::S3 { bucket, prefix, .. } => format!("s3://{bucket}/{prefix}"),
        }
    }

    /// Lists objects in the date window into `tx`, in key order within each listed prefix.
    pub async fn list(
        &self,
        range: DateRange,
        tx: mpsc::Sender<Listed>,
    ) -> Result<(), SourceError> {
        match self {
            Source::Local { root } => {
                let root = root.clone();
                tokio::task::spawn_blocking(move || list_local(&root, range, &tx))
                    .await
                    .map_err(|e| SourceError::List {
                        location: "local folder".into(),
                        reason: e.to_string(),
                    })?
            }
            Source::S3 {
                client,
                bucket,
                prefix,
            } => list_s3(client, bucket, prefix, range, &tx).await,
        }
    }

    /// Reads an S3 object's bytes (local files are read by the parse workers).
    pub async fn fetch(&self, obj: &ObjectRef) -> Result<(Bytes, String), SourceError> {
        match self {
            Source::Local { .. } => {
                let path = PathBuf::from(&obj.uri);
                let bytes = tokio::fs::read(&path)
                    .await
                    .map_err(|e| SourceError::Read {
                        uri: obj.uri.clone(),
                        reason: e.to_string(),
                    })?;
                Ok((Bytes::from(bytes), obj.etag.clone()))
            }
            Source::S3 { client, bucket, .. } => {
                let read_err = |reason: String| SourceError::Read {
                    uri: obj.uri.clone(),
                    reason,
                };
                let out = client
                    .get_object()
                    .bucket(bucket)
                    .key(&obj.key)
                    .send()
                    .await
                    .map_err(|e| read_err(DisplayErrorContext(&e).to_string()))?;
                let etag = out.e_tag().map(unquote).unwrap_or_else(|| obj.etag.clone());
                let body = out
                    .body
                    .collect()
                    .await
                    .map_err(|e| read_err(e.to_string()))?;
                Ok((body.into_bytes(), etag))
            }
        }
    }
}

fn unquote(s: &str) -> String {
    s.trim_matches('"').to_string()
}

fn classify(key: &str) -> Option<KeyKind> {
    let name = key.rsplit('/').next().unwrap_or(key);
    if name.is_empty() || layout::is_ignored_name(name) {
        return None;
    }
    Some(layout::parse(key).kind())
}

fn list_local(root: &Path, range: DateRange, tx: &mpsc::Sender<Listed>) -> Result<(), SourceError> {
    let meta = std::fs::metadata(root).map_err(|e| SourceError::List {
        location: root.display().to_string(),
        reason: e.to_string(),
    })?;
    let root_abs = std::fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    if meta.is_file() {
        // A single file given as the source.
        let key = root
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let obj = local_object(&root_abs, key, &meta);
        let _ = tx.blocking_send(Listed::Object(obj));
        return Ok(());
    }
    // Day folders of the delivery layout are set aside and read day by day across all accounts
    // and regions, so each commit's rows fall into few event dates (few, large files).
    let mut day_dirs: Vec<(NaiveDate, PathBuf)> = vec![];
    let walker = walkdir::WalkDir::new(&root_abs)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| {
            if e.depth() == 0 {
                return true;
            }
            let name = e.file_name().to_string_lossy();
            if e.file_type().is_dir() {
                if name.starts_with('.') || name.starts_with('_') {
                    return false;
                }
                let l = layout::parse(&(layout_path(e.path()) + "/"));
                if !l.may_overlap(range.since, range.until) {
                    return false;
                }
                if let (KeyKind::Log, Some(d)) = (l.kind(), l.date()) {
                    day_dirs.push((d, e.path().to_path_buf()));
                    return false;
                }
                // Digest and Insight folders are walked only so their files are counted as skipped.
                return true;
            }
            true
        });
    for entry in walker {
        if !send_local_entry(&root_abs, root, entry, range, tx)? {
            return Ok(());
        }
    }
    day_dirs.sort();
    for (_, dir) in day_dirs {
        for entry in walkdir::WalkDir::new(&dir).sort_by_file_name() {
            if !send_local_entry(&root_abs, root, entry, range, tx)? {
                return Ok(());
            }
        }
    }
    Ok(())
}

/// Sends one walked entry if it is an object to ingest; `false` when the receiver is gone.
fn send_local_entry(
    root_abs: &Path,
    root: &Path,
    entry: walkdir::Result<walkdir::DirEntry>,
    range: DateRange,
    tx: &mpsc::Sender<Listed>,
) -> Result<bool, SourceError> {
    let entry = match entry {
        Ok(e) => e,
        // An unreadable folder is an error for the run, not a silent gap.
        Err(e) => {
            return Err(SourceError::List {
                location: root.display().to_string(),
                reason: e.to_string(),
            });
        }
    };
    if !entry.file_type().is_file() {
        return Ok(true);
    }
    let key = rel_key(root_abs, entry.path());
    // The layout is read from the whole path: a source folder may lie inside `AWSLogs/` (the
    // key, relative to the source, then lacks the part that dates it).
    let full = layout_path(entry.path());
    let Some(kind) = classify(&full) else {
        return Ok(true);
    };
    if matches!(kind, KeyKind::Digest | KeyKind::Insight) {
        return Ok(tx.blocking_send(Listed::Skipped(kind)).is_ok());
    }
    let lay = layout::parse(&full);
    if !range.contains(lay.date()) {
        return Ok(true);
    }
    let meta = entry.metadata().map_err(|e| SourceError::List {
        location: entry.path().display().to_string(),
        reason: e.to_string(),
    })?;
    let obj = local_object(entry.path(), key, &meta);
    Ok(tx.blocking_send(Listed::Object(obj)).is_ok())
}

fn local_object(path: &Path, key: String, meta: &std::fs::Metadata) -> ObjectRef {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    ObjectRef {
        uri: path.display().to_string(),
        layout: layout::parse(&layout_path(path)),
        key,
        size: meta.len(),
        etag: format!("{:x}-{:x}", meta.len(), mtime),
    }
}

/// A local path as a key for [`layout::parse`]: its components joined by `/`.
fn layout_path(p: &Path) -> String {
    p.components()
        .filter_map(|c| match c {
            std::path::Component::Normal(n) => Some(n.to_string_lossy()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("/")
}

fn rel_key(root: &Path, p: &Path) -> String {
    let rel = p.strip_prefix(root).unwrap_or(p);
    rel.components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// How deep to look for `AWSLogs/` under a prefix before giving up on date pruning there.
const MAX_PRE_LAYOUT_DEPTH: usize = 4;

async fn list_s3(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    range: DateRange,
    tx: &mpsc::Sender<Listed>,
) -> Result<(), SourceError> {
    // Walk folders down to the day prefixes in range (all days when unbounded), then list the
    // days in date order across accounts and regions: each commit then touches few event dates.
    let mut stack: Vec<(String, usize)> = vec![(prefix.to_string(), 0)];
    let mut day_prefixes: Vec<(NaiveDate, String)> = vec![];
    while let Some((p, depth)) = stack.pop() {
        let folder = if p.is_empty() || p.ends_with('/') {
            p.clone()
        } else {
            format!("{p}/")
        };
        let l = layout::parse(&folder);
        if l.region.is_some() && l.year.is_none() && l.kind() == KeyKind::Log {
            // Both ends known: enumerate the days instead of listing years and months.
            if let (Some(since), Some(until)) = (range.since, range.until) {
                let mut d = since;
                while d <= until {
                    day_prefixes.push((d, format!("{folder}{}/", d.format("%Y/%m/%d"))));
                    match d.succ_opt() {
                        Some(n) => d = n,
                        None => break,
                    }
                }
                continue;
            }
        }
        if l.day.is_some() {
            day_prefixes.push((l.date().unwrap_or(NaiveDate::MIN), folder));
            continue;
        }
        if !l.in_layout && depth > MAX_PRE_LAYOUT_DEPTH {
            // Not a CloudTrail layout: no dates to prune by, list it all.
            list_s3_flat(client, bucket, &folder, range, tx).await?;
            continue;
        }
        let (folders, _) = list_delimited(client, bucket, &folder, tx, range).await?;
        for f in folders.into_iter().rev() {
            let fl = layout::parse(&f);
            if matches!(fl.kind(), KeyKind::Digest | KeyKind::Insight) {
                continue;
            }
            if fl.may_overlap(range.since, range.until) {
                stack.push((f, depth + 1));
            }
        }
    }
    // Day-major order keeps each commit's files to a few dates.
    day_prefixes.sort();
    for (_, p) in day_prefixes {
        list_s3_flat(client, bucket, &p, range, tx).await?;
    }
    Ok(())
}

/// One level of a delimited listing: sub-folders returned, objects at this level sent on.
async fn list_delimited(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    folder: &str,
    tx: &mpsc::Sender<Listed>,
    range: DateRange,
) -> Result<(Vec<String>, usize), SourceError> {
    let mut folders = vec![];
    let mut n = 0;
    listing::for_each_page(client, bucket, folder, true, |page| {
        folders.extend(page.folders);
        n += page.objects.len();
        let tx = tx.clone();
        async move { send_listed(bucket, &page.objects, range, &tx).await }
    })
    .await?;
    // A receiver gone (the run stopping): descend no further.
    Ok((if tx.is_closed() { vec![] } else { folders }, n))
}

async fn list_s3_flat(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    prefix: &str,
    range: DateRange,
    tx: &mpsc::Sender<Listed>,
) -> Result<(), SourceError> {
    listing::for_each_page(client, bucket, prefix, false, |page| {
        let tx = tx.clone();
        async move { send_listed(bucket, &page.objects, range, &tx).await }
    })
    .await?;
    Ok(())
}

/// Sends a page's objects on; breaks when the receiver is gone.
async fn send_listed(
    bucket: &str,
    objects: &[listing::ListedObject],
    range: DateRange,
    tx: &mpsc::Sender<Listed>,
) -> std::ops::ControlFlow<()> {
    for o in objects {
        if let Some(l) = s3_listed(bucket, o, range)
            && tx.send(l).await.is_err()
        {
            return std::ops::ControlFlow::Break(());
        }
    }
    std::ops::ControlFlow::Continue(())
}

fn s3_listed(bucket: &str, o: &listing::ListedObject, range: DateRange) -> Option<Listed> {
    let key = o.key.as_str();
    if key.ends_with('/') {
        return None;
    }
    let kind = classify(key)?;
    if matches!(kind, KeyKind::Digest | KeyKind::Insight) {
        return Some(Listed::Skipped(kind));
    }
    let lay = layout::parse(key);
    if !range.contains(lay.date()) {
        return None;
    }
    Some(Listed::Object(ObjectRef {
        uri: format!("s3://{bucket}/{key}"),
        key: key.to_string(),
        size: o.size.max(0) as u64,
        etag: o.e_tag.as_deref().map(unquote).unwrap_or_default(),
        layout: lay,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn s3_uris() {
        assert_eq!(
            parse_s3_uri("s3://b/AWSLogs/"),
            Some(("b".into(), "AWSLogs/".into()))
        );
        assert_eq!(parse_s3_uri("s3://b"), Some(("b".into(), "".into())));
        assert_eq!(parse_s3_uri("s3:///x"), None);
        assert_eq!(parse_s3_uri("/tmp/x"), None);
    }
}
