//! The manifest: one row per object per visit, committed with the data it produced.
//!
//! It answers "what has been ingested" for incremental runs (an object is skipped when its key and
//! ETag were seen before with a final status) and "what went wrong" for people (status, error,
//! counts). Rejected records go to the `rejects` table with their text and reason.

use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Arc;

use arrow::array::{Array, AsArray};
use arrow::array::{
    Date32Builder, Int64Builder, RecordBatch, StringBuilder, TimestampMicrosecondBuilder,
};
use object_store::ObjectStoreExt;
use object_store::path::Path;
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use super::catalog::{MANIFEST, manifest_schema as schema, rejects_schema};
use super::{Lake, LakeError, store_err};
use crate::parse::RejectedRecord;
use crate::parse::record::UTC;

/// Status of an object whose read failed; it is retried on the next run.
pub const STATUS_UNREADABLE: &str = "unreadable";

/// Status of an object committed in part, while it was still being read (a large object meets
/// `--commit-every`). A later row of the same object says how it ended; an `open` row that is
/// the last one (the run stopped) makes the next run read the object again, replacing its rows.
pub const STATUS_OPEN: &str = "open";

/// One object's visit.
#[derive(Debug, Clone)]
pub struct ManifestEntry {
    /// Dataset (`cloudtrail`).
    pub dataset: &'static str,
    /// `s3://bucket/key` or the file's absolute path.
    pub object: String,
    /// Delivery date from the key, days since the epoch.
    pub key_date: Option<i32>,
    /// Account from the key.
    pub account: Option<String>,
    /// Region from the key.
    pub region: Option<String>,
    /// Size in bytes.
    pub size: i64,
    /// ETag (or size and mtime for files).
    pub etag: String,
    /// `ok`, `partial`, `failed`, `unreadable` or `open`.
    pub status: &'static str,
    /// Why it is not `ok`.
    pub error: Option<String>,
    /// Events landed.
    pub events: i64,
    /// Records rejected.
    pub rejected: i64,
    /// Fields coerced or repaired.
    pub warnings: i64,
    /// The first warning.
    pub warning: Option<String>,
    /// Whether this visit replaced the rows of an earlier version of the object.
    pub replaced: bool,
    /// Events dropped because the lake (or this run) holds them already
    /// ([`super::dedupe`]).
    pub duplicates: i64,
}

/// Builds the manifest rows of one commit.
pub fn manifest_batch(entries: &[ManifestEntry], commit: &str, now_micros: i64) -> RecordBatch {
    let mut dataset = StringBuilder::new();
    let mut object = StringBuilder::new();
    let mut key_date = Date32Builder::new();
    let mut account = StringBuilder::new();
    let mut region = StringBuilder::new();
    let mut size = Int64Builder::new();
    let mut etag = StringBuilder::new();
    let mut status = StringBuilder::new();
    let mut error = StringBuilder::new();
    let mut events = Int64Builder::new();
    let mut rejected = Int64Builder::new();
    let mut warnings = Int64Builder::new();
    let mut warning = StringBuilder::new();
    let mut replaced = arrow::array::BooleanBuilder::new();
    let mut commits = StringBuilder::new();
    let mut at = TimestampMicrosecondBuilder::new().with_timezone(UTC);
    let mut duplicates = Int64Builder::new();
    for e in entries {
        dataset.append_value(e.dataset);
        object.append_value(&e.object);
        key_date.append_option(e.key_date);
        account.append_option(e.account.as_deref());
        region.append_option(e.region.as_deref());
        size.append_value(e.size);
        etag.append_value(&e.etag);
        status.append_value(e.status);
        error.append_option(e.error.as_deref());
        events.append_value(e.events);
        rejected.append_value(e.rejected);
        warnings.append_value(e.warnings);
        warning.append_option(e.warning.as_deref());
        replaced.append_value(e.replaced);
        commits.append_value(commit);
        at.append_value(now_micros);
        duplicates.append_value(e.duplicates);
    }
    RecordBatch::try_new(
        schema(),
        vec![
            Arc::new(dataset.finish()),
            Arc::new(object.finish()),
            Arc::new(key_date.finish()),
            Arc::new(account.finish()),
            Arc::new(region.finish()),
            Arc::new(size.finish()),
            Arc::new(etag.finish()),
            Arc::new(status.finish()),
            Arc::new(error.finish()),
            Arc::new(events.finish()),
            Arc::new(rejected.finish()),
            Arc::new(warnings.finish()),
            Arc::new(warning.finish()),
            Arc::new(replaced.finish()),
            Arc::new(commits.finish()),
            Arc::new(at.finish()),
            Arc::new(duplicates.finish()),
        ],
    )
    .expect("manifest columns match the schema")
}

/// Builds the rejects rows of one commit.
pub fn rejects_batch(
    dataset_name: &str,
    rejects: &[(String, RejectedRecord)],
    commit: &str,
    now_micros: i64,
) -> RecordBatch {
    let mut dataset = StringBuilder::new();
    let mut object = StringBuilder::new();
    let mut index = Int64Builder::new();
    let mut line = Int64Builder::new();
    let mut reason = StringBuilder::new();
    let mut raw = StringBuilder::new();
    let mut commits = StringBuilder::new();
    let mut at = TimestampMicrosecondBuilder::new().with_timezone(UTC);
    for (obj, r) in rejects {
        dataset.append_value(dataset_name);
        object.append_value(obj);
        index.append_value(r.index);
        line.append_option(r.line);
        reason.append_value(&r.reason);
        raw.append_value(&r.raw);
        commits.append_value(commit);
        at.append_value(now_micros);
    }
    RecordBatch::try_new(
        rejects_schema(),
        vec![
            Arc::new(dataset.finish()),
            Arc::new(object.finish()),
            Arc::new(index.finish()),
            Arc::new(line.finish()),
            Arc::new(reason.finish()),
            Arc::new(raw.finish()),
            Arc::new(commits.finish()),
            Arc::new(at.finish()),
        ],
    )
    .expect("rejects columns match the schema")
}

/// What the manifest says about an object: hashes, to keep memory small on large lakes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Seen {
    /// Hash of the ETag last recorded.
    pub etag: u64,
    /// Whether that visit was final (not an unreadable object to retry).
    pub done: bool,
    /// Whether that visit committed part of the object only ([`STATUS_OPEN`]).
    pub open: bool,
}

/// Every object seen, by hash of its name; later commits override earlier ones.
#[derive(Debug, Default)]
pub struct SeenObjects {
    map: HashMap<u64, Seen>,
}

/// A 64-bit hash of a string, stable within one process.
pub fn hash_str(s: &str) -> u64 {
    let mut h = DefaultHasher::new();
    s.hash(&mut h);
    h.finish()
}

/// Whether an object needs reading, and why.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Never seen.
    New,
    /// Seen with another ETag: its content changed.
    Changed,
    /// Seen but unreadable last time.
    Retry,
    /// Seen with this ETag: nothing to do.
    Unchanged,
}

impl SeenObjects {
    /// Objects recorded.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Records a visit.
    pub fn insert(&mut self, object: &str, etag: &str, status: &str) {
        self.map.insert(
            hash_str(object),
            Seen {
                etag: hash_str(etag),
                done: status != STATUS_UNREADABLE,
                open: status == STATUS_OPEN,
            },
        );
    }

    /// What to do with an object listed now.
    pub fn decide(&self, object: &str, etag: &str) -> Decision {
        match self.map.get(&hash_str(object)) {
            None => Decision::New,
            // Its rows in the lake are a part of it: they are replaced.
            Some(s) if s.open => Decision::Changed,
            Some(s) if !s.done => Decision::Retry,
            Some(s) if s.etag == hash_str(etag) => Decision::Unchanged,
            Some(_) => Decision::Changed,
        }
    }

    /// Reads every committed manifest file of the lake, oldest commit first, keeping the visits
    /// of one dataset (an object may be read as CloudTrail and as build records).
    pub async fn load(lake: &Lake, dataset: &str) -> Result<SeenObjects, LakeError> {
        let files = lake.parquet_files(&Path::from(MANIFEST.dir)).await?;
        let mut seen = SeenObjects::default();
        for meta in files {
            let loc = meta.location.clone();
            let err = |e: parquet::errors::ParquetError| LakeError::Write {
                path: lake.url_of(&loc),
                reason: format!("reading manifest: {e}"),
            };
            // Manifest files are small (one row per object of one commit): read them whole.
            let bytes = read_bytes(lake, &meta.location).await?;
            let builder = ParquetRecordBatchReaderBuilder::try_new(bytes).map_err(err)?;
            let cols = ["dataset", "object", "etag", "status"];
            let idx: Vec<usize> = cols
                .iter()
                .filter_map(|c| {
                    builder
                        .parquet_schema()
                        .columns()
                        .iter()
                        .position(|d| d.name() == *c)
                })
                .collect();
            if idx.len() != cols.len() {
                return Err(LakeError::Write {
                    path: lake.url_of(&loc),
                    reason: "manifest file lacks dataset/object/etag/status".into(),
                });
            }
            let mask = ProjectionMask::leaves(builder.parquet_schema(), idx);
            let reader = builder.with_projection(mask).build().map_err(err)?;
            for batch in reader {
                let batch = batch.map_err(|e| LakeError::Write {
                    path: lake.url_of(&loc),
                    reason: format!("reading manifest: {e}"),
                })?;
                let d = batch
                    .column_by_name("dataset")
                    .expect("projected")
                    .as_string::<i32>();
                let o = batch
                    .column_by_name("object")
                    .expect("projected")
                    .as_string::<i32>();
                let e = batch
                    .column_by_name("etag")
                    .expect("projected")
                    .as_string::<i32>();
                let s = batch
                    .column_by_name("status")
                    .expect("projected")
                    .as_string::<i32>();
                for i in 0..batch.num_rows() {
                    if o.is_valid(i) && d.is_valid(i) && d.value(i) == dataset {
                        seen.insert(o.value(i), e.value(i), s.value(i));
                    }
                }
            }
        }
        Ok(seen)
    }
}

/// Reads a lake file's bytes (small files only).
pub async fn read_bytes(lake: &Lake, p: &Path) -> Result<bytes::Bytes, LakeError> {
    let r = lake.store.get(p).await.map_err(|e| store_err(p, e))?;
    r.bytes().await.map_err(|e| store_err(p, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decisions() {
        let mut s = SeenObjects::default();
        s.insert("s3://b/k1", "e1", "ok");
        s.insert("s3://b/k2", "e2", STATUS_UNREADABLE);
        s.insert("s3://b/k3", "e3", "failed");
        assert_eq!(s.decide("s3://b/k1", "e1"), Decision::Unchanged);
        assert_eq!(s.decide("s3://b/k1", "e9"), Decision::Changed);
        assert_eq!(s.decide("s3://b/k2", "e2"), Decision::Retry);
        assert_eq!(s.decide("s3://b/k3", "e3"), Decision::Unchanged);
        assert_eq!(s.decide("s3://b/k4", "e4"), Decision::New);
        s.insert("s3://b/k2", "e2", "ok");
        assert_eq!(s.decide("s3://b/k2", "e2"), Decision::Unchanged);
        // Committed in part, then the run stopped: read again, its rows replaced.
        s.insert("s3://b/k5", "e5", STATUS_OPEN);
        assert_eq!(s.decide("s3://b/k5", "e5"), Decision::Changed);
        s.insert("s3://b/k5", "e5", "ok");
        assert_eq!(s.decide("s3://b/k5", "e5"), Decision::Unchanged);
    }
}
