//! Each event lands once, however often it is delivered.
//!
//! - **CloudTrail** can deliver one event in more than one file: several trails writing into one
//!   bucket, an organization trail beside an account trail, a re-delivery. An event is keyed on
//!   its `eventID` plus its `recipientAccountId` (the account whose trail received it: the same
//!   event id may legitimately reach two accounts, as a cross-account call does). A record with
//!   no event id is keyed on its bytes: a byte-identical record is a duplicate.
//! - **Audit streams** (GitHub's audit-log stream to S3, GitLab's audit event streaming) deliver
//!   at least once: their rows (`format` in [`AT_LEAST_ONCE`]) are kept once per event id
//!   (GitHub's `_document_id`, GitLab's `id`). Other build records are never dropped.
//!
//! A row is a duplicate when this run kept its key already, or when the lake holds the key from
//! *another* object: an object read again because it changed (or was committed in part) replaces
//! its own earlier rows, so its keys are not duplicates of themselves.
//!
//! Deduplication is a budget, not a rescan: the lake's keys are read per event day, the first
//! time this run meets a row of that day (a duplicate has the same event time as its original,
//! so it lands in the same day's partition). A nightly ingest reads the keys of the day or two it
//! touches, from two or three columns. Keys are 64-bit hashes (a false duplicate needs a hash
//! collision: about one in 10^6 for 10^7 events of one day; the hash is keyed per process, so a
//! log cannot aim one).

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasher, BuildHasherDefault, Hasher, RandomState};

use arrow::array::{Array, AsArray, BooleanArray, RecordBatch, StringArray};
use arrow::datatypes::TimestampMicrosecondType;
use futures::TryStreamExt;
use object_store::path::Path;
#[allow(deprecated)]
use parquet::arrow::async_reader::{ParquetObjectReader, ParquetRecordBatchStreamBuilder};

use super::manifest::hash_str;
use super::writer::day_string;
use super::{Dataset, Lake, LakeError};
use crate::parse::time::micros_to_days;

/// The build formats whose sources deliver at least once.
pub const AT_LEAST_ONCE: &[&str] = &["github.audit", "gitlab.audit"];

/// Keys are already hashes (keyed per process): the sets use them as they are.
#[derive(Debug, Default)]
struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 = (self.0 << 8) | u64::from(*b);
        }
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

type Keys<V> = HashMap<u64, V, BuildHasherDefault<KeyHasher>>;

/// The keys seen: in the lake (with the object that holds each) and in this run.
#[derive(Debug)]
pub struct Seen {
    dataset: Dataset,
    /// SipHash with keys drawn for this process: a log cannot choose an event id whose key
    /// collides with another event's (and so have that event dropped). Keys never leave the
    /// process; the lake's are recomputed from its columns.
    hasher: RandomState,
    lake: Keys<u64>,
    run: HashSet<u64, BuildHasherDefault<KeyHasher>>,
    /// Event days whose keys were read from the lake.
    loaded: HashSet<i32>,
}

/// The columns a dataset's key is made of, in a batch.
struct KeyCols<'a> {
    dataset: Dataset,
    a: &'a StringArray,
    b: &'a StringArray,
    /// The record's bytes (CloudTrail, for records with no event id), when read.
    raw: Option<&'a StringArray>,
}

impl KeyCols<'_> {
    /// Columns read from the lake to rebuild keys.
    fn names(dataset: Dataset) -> [&'static str; 2] {
        match dataset {
            Dataset::CloudTrail => ["event_id", "recipient_account_id"],
            Dataset::Builds => ["format", "event_id"],
        }
    }

    fn of<'a>(dataset: Dataset, batch: &'a RecordBatch) -> Option<KeyCols<'a>> {
        let [a, b] = Self::names(dataset);
        Some(KeyCols {
            dataset,
            a: batch.column_by_name(a)?.as_string_opt::<i32>()?,
            b: batch.column_by_name(b)?.as_string_opt::<i32>()?,
            raw: batch
                .column_by_name("raw")
                .and_then(|c| c.as_string_opt::<i32>()),
        })
    }

    /// Row `i`'s key, or `None` when the row is never a duplicate.
    fn key(&self, h: &RandomState, i: usize) -> Option<u64> {
        let hash_parts = |parts: &[&str]| {
            let mut s = h.build_hasher();
            for p in parts {
                std::hash::Hash::hash(p, &mut s);
            }
            s.finish()
        };
        match self.dataset {
            Dataset::CloudTrail => {
                if self.a.is_valid(i) {
                    let account = if self.b.is_valid(i) {
                        self.b.value(i)
                    } else {
                        ""
                    };
                    Some(hash_parts(&["id", self.a.value(i), account]))
                } else {
                    let raw = self.raw?;
                    raw.is_valid(i).then(|| hash_parts(&["raw", raw.value(i)]))
                }
            }
            Dataset::Builds => {
                let (f, id) = (self.a, self.b);
                (f.is_valid(i) && id.is_valid(i) && AT_LEAST_ONCE.contains(&f.value(i)))
                    .then(|| hash_parts(&[f.value(i), id.value(i)]))
            }
        }
    }
}

fn read_err(lake: &Lake, p: &Path, e: impl std::fmt::Display) -> LakeError {
    LakeError::Write {
        path: lake.url_of(p),
        reason: format!("reading for deduplication: {e}"),
    }
}

impl Seen {
    /// Nothing seen yet; the lake's keys are read per day as rows of that day arrive.
    pub fn new(dataset: Dataset) -> Seen {
        Seen {
            dataset,
            hasher: RandomState::new(),
            lake: Keys::default(),
            run: HashSet::default(),
            loaded: HashSet::new(),
        }
    }

    /// Reads the keys of one event day's committed files.
    #[allow(deprecated)]
    async fn load_day(&mut self, lake: &Lake, day: i32) -> Result<(), LakeError> {
        let dir = Path::from(format!(
            "{}/event_date={}",
            self.dataset.name(),
            day_string(day)
        ));
        for meta in lake.parquet_files(&dir).await? {
            let loc = &meta.location;
            let reader =
                ParquetObjectReader::new(lake.store.clone(), loc.clone()).with_file_size(meta.size);
            let b = ParquetRecordBatchStreamBuilder::new(reader)
                .await
                .map_err(|e| read_err(lake, loc, e))?;
            let mut cols: Vec<&str> = KeyCols::names(self.dataset).to_vec();
            cols.push("source_object");
            // Records with no event id are keyed on their bytes: read `raw` only for files that
            // hold such records (the column's null count, from the footer).
            if self.dataset == Dataset::CloudTrail {
                let schema = b.parquet_schema();
                let id = schema.columns().iter().position(|c| c.name() == "event_id");
                let nulls = id.is_none_or(|id| {
                    b.metadata().row_groups().iter().any(|rg| {
                        rg.column(id)
                            .statistics()
                            .is_none_or(|s| s.null_count_opt().is_none_or(|n| n > 0))
                    })
                });
                if nulls {
                    cols.push("raw");
                }
            }
            let mask = super::replace::columns_mask(b.parquet_schema(), &cols);
            let mut s = b
                .with_projection(mask)
                .build()
                .map_err(|e| read_err(lake, loc, e))?;
            while let Some(batch) = s.try_next().await.map_err(|e| read_err(lake, loc, e))? {
                let (Some(k), Some(obj)) = (
                    KeyCols::of(self.dataset, &batch),
                    batch
                        .column_by_name("source_object")
                        .and_then(|c| c.as_string_opt::<i32>()),
                ) else {
                    continue;
                };
                for i in 0..batch.num_rows() {
                    if let Some(key) = k.key(&self.hasher, i) {
                        let o = if obj.is_null(i) {
                            0
                        } else {
                            hash_str(obj.value(i))
                        };
                        self.lake.insert(key, o);
                    }
                }
            }
        }
        self.loaded.insert(day);
        Ok(())
    }

    /// `batch` without its duplicates, and how many rows of each object were dropped. The
    /// lake's keys of days this run has not met yet are read first.
    pub fn filter(
        &mut self,
        lake: &Lake,
        rt: &tokio::runtime::Handle,
        batch: &RecordBatch,
    ) -> Result<(RecordBatch, HashMap<String, u64>), LakeError> {
        let mut dropped: HashMap<String, u64> = HashMap::new();
        let (Some(k), Some(obj), Some(times)) = (
            KeyCols::of(self.dataset, batch),
            batch
                .column_by_name("source_object")
                .and_then(|c| c.as_string_opt::<i32>()),
            batch
                .column_by_name("event_time")
                .and_then(|c| c.as_primitive_opt::<TimestampMicrosecondType>()),
        ) else {
            return Ok((batch.clone(), dropped));
        };
        let mut days: Vec<i32> = times
            .values()
            .iter()
            .map(|&t| micros_to_days(t))
            .filter(|d| !self.loaded.contains(d))
            .collect();
        days.sort_unstable();
        days.dedup();
        for d in days {
            rt.block_on(self.load_day(lake, d))?;
        }
        let keep: BooleanArray = (0..batch.num_rows())
            .map(|i| {
                let Some(key) = k.key(&self.hasher, i) else {
                    return Some(true);
                };
                let object = if obj.is_null(i) { "" } else { obj.value(i) };
                let elsewhere = self.lake.get(&key).is_some_and(|o| *o != hash_str(object));
                // Only a kept row claims its key for this run: a row dropped because another
                // object holds the key must not stop that object, read again in this run, from
                // landing its own rows (which its new version replaces).
                let repeat = elsewhere || self.run.contains(&key);
                if !repeat {
                    self.run.insert(key);
                }
                if repeat {
                    *dropped.entry(object.to_string()).or_default() += 1;
                }
                Some(!repeat)
            })
            .collect();
        if dropped.is_empty() {
            return Ok((batch.clone(), dropped));
        }
        let kept = arrow::compute::filter_record_batch(batch, &keep)
            .expect("a mask of the batch's length");
        Ok((kept, dropped))
    }
}
