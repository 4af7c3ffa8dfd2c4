//! A transaction: the one way data enters the lake. Ingest only feeds it batches and, at the
//! end, the manifest entries and rejects of the objects those batches came from; the
//! transaction owns the commit protocol ([`super::commit`]):
//!
//! 1. event files are staged as they fill ([`super::writer::EventWriter`]);
//! 2. at commit, the earlier rows of objects whose content changed are removed by staging
//!    rewrites of their files ([`super::replace`]), then the rejects and the manifest are staged,
//!    the manifest last (once it is in place, the data it vouches for is too);
//! 3. the commit record is written in one atomic PUT (the commit point), the files move into
//!    place and the replaced ones are deleted.
//!
//! The failpoint `after-stage` (environment `PIPEWARDEN_FAILPOINT`) stops the process between
//! steps 2 and 3, for the crash tests.

use std::collections::HashSet;

use arrow::array::RecordBatch;
use object_store::path::Path;

use super::catalog::{MANIFEST, REJECTS};
use super::commit::{CommitRecord, Move, failpoint, new_commit_id};
use super::manifest::{self, ManifestEntry};
use super::replace::replace_objects;
use super::writer::{EventWriter, StagedFile, WriterConfig, write_small};
use super::{Dataset, Lake, LakeError};
use crate::parse::RejectedRecord;

/// One commit being built.
pub struct Transaction<'a> {
    lake: &'a Lake,
    rt: tokio::runtime::Handle,
    id: String,
    dataset: Dataset,
    cfg: WriterConfig,
    writer: EventWriter<'a>,
    events: u64,
}

/// What a commit put in the lake.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Committed {
    /// Files moved into place.
    pub files: u64,
    /// Rows removed because their object's content changed.
    pub replaced_rows: u64,
}

impl<'a> Transaction<'a> {
    /// A new transaction on `dataset`'s table, its files written with `cfg`.
    pub fn begin(
        lake: &'a Lake,
        rt: &tokio::runtime::Handle,
        dataset: Dataset,
        cfg: WriterConfig,
    ) -> Transaction<'a> {
        let id = new_commit_id();
        Transaction {
            writer: EventWriter::new(lake, rt.clone(), &id, dataset, cfg),
            lake,
            rt: rt.clone(),
            id,
            dataset,
            cfg,
            events: 0,
        }
    }

    /// Adds events (staged; visible only once committed).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), LakeError> {
        self.writer.write(batch)?;
        self.events += batch.num_rows() as u64;
        Ok(())
    }

    /// Events written so far.
    pub fn events(&self) -> u64 {
        self.events
    }

    /// Commits the events with the manifest `entries` of their objects (those marked
    /// `replaced` lose their earlier rows in the same commit) and their `rejects`.
    pub fn commit(
        self,
        entries: &[ManifestEntry],
        rejects: &[(String, RejectedRecord)],
    ) -> Result<Committed, LakeError> {
        let (lake, rt, id) = (self.lake, &self.rt, self.id.as_str());
        let now = chrono::Utc::now().timestamp_micros();
        let files = self.writer.finish()?;
        let mut out = Committed {
            files: files.len() as u64,
            ..Default::default()
        };
        let mut moves: Vec<Move> = files.iter().map(move_of).collect();
        let changed: HashSet<String> = entries
            .iter()
            .filter(|e| e.replaced)
            .map(|e| e.object.clone())
            .collect();
        let replacement = replace_objects(lake, rt, id, self.dataset, &changed, self.cfg)?;
        out.replaced_rows = replacement.removed_rows;
        moves.extend(replacement.staged.iter().map(move_of));
        if !rejects.is_empty() {
            let b = manifest::rejects_batch(self.dataset.name(), rejects, id, now);
            let target = Path::from(format!("{}/part-{id}.parquet", REJECTS.dir));
            moves.push(move_of(&write_small(lake, rt, id, target, &b)?));
        }
        let b = manifest::manifest_batch(entries, id, now);
        let target = Path::from(format!("{}/part-{id}.parquet", MANIFEST.dir));
        // The manifest moves last: once it is in place, the data it vouches for is too.
        moves.push(move_of(&write_small(lake, rt, id, target, &b)?));
        failpoint("after-stage");
        let rec = CommitRecord {
            version: 1,
            commit: id.to_string(),
            created: chrono::Utc::now().to_rfc3339(),
            moves,
            deletes: replacement.deletes.iter().map(|p| p.to_string()).collect(),
            objects: entries.len() as u64,
            events: self.events,
        };
        rt.block_on(lake.commit(&rec))?;
        Ok(out)
    }
}

fn move_of(f: &StagedFile) -> Move {
    Move {
        from: f.staged.to_string(),
        to: f.target.to_string(),
    }
}
