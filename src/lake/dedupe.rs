//! Events delivered at least once land once: GitHub's audit-log stream to S3 and GitLab's audit
//! event streaming may deliver an event again, in the same object or in another one, in this
//! run or a later one. Their rows (`format` in [`AT_LEAST_ONCE`]) are kept once per event id
//! (GitHub's `_document_id`, GitLab's `id`).
//!
//! At the start of an ingest the ids already in the `builds` table are read (their `format`,
//! `event_id` and `source_object` columns only, as 64-bit hashes). A row is a repeat when this run
//! kept its id already, or when the lake holds it from *another* object: an object read again
//! because it changed (or was committed in part) replaces its own earlier rows, so its ids are
//! not repeats of themselves.

use std::collections::{HashMap, HashSet};

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch};
use futures::TryStreamExt;
use object_store::path::Path;

use super::manifest::hash_str;
use super::{Dataset, Lake, LakeError};

/// The formats whose sources deliver at least once.
pub const AT_LEAST_ONCE: &[&str] = &["github.audit", "gitlab.audit"];

/// The ids seen: in the lake (with the object that holds each) and in this run.
#[derive(Debug, Default)]
pub struct Seen {
    lake: HashMap<u64, u64>,
    run: HashSet<u64>,
}

fn key(format: &str, id: &str) -> u64 {
    hash_str(&format!("{format}\u{0}{id}"))
}

impl Seen {
    /// Reads the ids of at-least-once rows in the lake's `builds` table.
    pub async fn load(lake: &Lake) -> Result<Seen, LakeError> {
        let mut seen = Seen::default();
        let files = lake
            .parquet_files(&Path::from(Dataset::Builds.name()))
            .await?;
        for meta in files {
            let mut s =
                super::replace::open(lake, &meta, Some(&["format", "event_id", "source_object"]))
                    .await?;
            while let Some(b) = s.try_next().await.map_err(|e| LakeError::Write {
                path: lake.url_of(&meta.location),
                reason: format!("reading for deduplication: {e}"),
            })? {
                let (Some(f), Some(id), Some(obj)) = (
                    b.column_by_name("format"),
                    b.column_by_name("event_id"),
                    b.column_by_name("source_object"),
                ) else {
                    continue;
                };
                let (f, id, obj) = (
                    f.as_string::<i32>(),
                    id.as_string::<i32>(),
                    obj.as_string::<i32>(),
                );
                for i in 0..b.num_rows() {
                    if id.is_null(i) || f.is_null(i) || !AT_LEAST_ONCE.contains(&f.value(i)) {
                        continue;
                    }
                    let o = if obj.is_null(i) {
                        0
                    } else {
                        hash_str(obj.value(i))
                    };
                    seen.lake.insert(key(f.value(i), id.value(i)), o);
                }
            }
        }
        Ok(seen)
    }

    /// `batch` without its repeats, and how many rows of each object were dropped.
    pub fn filter(&mut self, batch: &RecordBatch) -> (RecordBatch, HashMap<String, u64>) {
        let mut dropped: HashMap<String, u64> = HashMap::new();
        let (Some(f), Some(id), Some(obj)) = (
            batch.column_by_name("format"),
            batch.column_by_name("event_id"),
            batch.column_by_name("source_object"),
        ) else {
            return (batch.clone(), dropped);
        };
        let (f, id, obj) = (
            f.as_string::<i32>(),
            id.as_string::<i32>(),
            obj.as_string::<i32>(),
        );
        let keep: BooleanArray = (0..batch.num_rows())
            .map(|i| {
                if id.is_null(i) || f.is_null(i) || !AT_LEAST_ONCE.contains(&f.value(i)) {
                    return Some(true);
                }
                let k = key(f.value(i), id.value(i));
                let object = if obj.is_null(i) { "" } else { obj.value(i) };
                let elsewhere = self.lake.get(&k).is_some_and(|o| *o != hash_str(object));
                let repeat = !self.run.insert(k) || elsewhere;
                if repeat {
                    *dropped.entry(object.to_string()).or_default() += 1;
                }
                Some(!repeat)
            })
            .collect();
        if dropped.is_empty() {
            return (batch.clone(), dropped);
        }
        let kept = arrow::compute::filter_record_batch(batch, &keep)
            .expect("a mask of the batch's length");
        (kept, dropped)
    }
}
