//! Parquet files into staging: one file per event date per commit, sized for scanning.
//!
//! Batches are split by the UTC date of `event_time`; each date has its own open file, at most
//! [`WriterConfig::max_open`] at a time (the least recently used is closed), so memory is bounded by
//! row-group size, not by input size. Files roll over at [`WriterConfig::max_rows_per_file`].
//! A local lake is written in place under staging; an S3 lake through a temporary local file that is
//! uploaded (multipart) when it closes.

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::path::PathBuf;

use arrow::array::{AsArray, RecordBatch, UInt32Array};
use arrow::datatypes::{SchemaRef, TimestampMicrosecondType};
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload, WriteMultipart};
use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::{EnabledStatistics, WriterProperties};
use parquet::schema::types::ColumnPath;

use super::{Dataset, Lake, LakeError, META_DIR, store_err};
use crate::parse::time::micros_to_days;

/// Sizing of the files written.
#[derive(Debug, Clone, Copy)]
pub struct WriterConfig {
    /// Rows per row group.
    pub row_group_rows: usize,
    /// Rows per file before it rolls over.
    pub max_rows_per_file: usize,
    /// Files open at once (one per event date).
    pub max_open: usize,
    /// zstd level.
    pub zstd_level: i32,
}

impl Default for WriterConfig {
    fn default() -> Self {
        WriterConfig {
            row_group_rows: 16 * 1024,
            max_rows_per_file: 2_000_000,
            max_open: 2,
            zstd_level: 1,
        }
    }
}

/// Columns whose values are nearly unique: dictionaries and min/max statistics cost more than they
/// save there.
const HIGH_CARDINALITY: &[&str] = &[
    "raw",
    "event_id",
    "request_id",
    "shared_event_id",
    "request_parameters",
    "response_elements",
    "additional_event_data",
    "resources",
    "service_event_details",
    "error_message",
    "source_index",
    "issued_access_key_id",
];

/// Writer properties for the events table.
pub fn event_properties(cfg: &WriterConfig) -> WriterProperties {
    let mut b = WriterProperties::builder()
        .set_compression(Compression::ZSTD(
            ZstdLevel::try_new(cfg.zstd_level).unwrap_or_default(),
        ))
        .set_max_row_group_row_count(Some(cfg.row_group_rows))
        // Row-group statistics prune scans; page-level ones cost more than they save at this
        // row-group size.
        .set_statistics_enabled(EnabledStatistics::Chunk)
        .set_created_by(format!("pipewarden {}", env!("CARGO_PKG_VERSION")));
    for c in HIGH_CARDINALITY {
        let p = ColumnPath::from(*c);
        b = b
            .set_column_dictionary_enabled(p.clone(), false)
            .set_column_statistics_enabled(p, EnabledStatistics::None);
    }
    b.build()
}

/// A Parquet file being written towards a staging path.
pub struct StagedParquet {
    writer: ArrowWriter<File>,
    local_path: PathBuf,
    /// Staging path relative to the lake root.
    pub staged: Path,
    /// Final path relative to the lake root.
    pub target: Path,
    /// Rows written.
    pub rows: u64,
    temp: bool,
}

/// A staged file, closed and uploaded, waiting for its commit.
#[derive(Debug, Clone)]
pub struct StagedFile {
    /// Where it is now.
    pub staged: Path,
    /// Where the commit moves it.
    pub target: Path,
    /// Rows in it.
    pub rows: u64,
}

/// Staging folder of a commit.
pub fn staging_dir(commit: &str) -> Path {
    Path::from(format!("{META_DIR}/staging/{commit}"))
}

impl StagedParquet {
    /// Opens a file that will be committed to `target`.
    pub fn create(
        lake: &Lake,
        commit: &str,
        target: Path,
        schema: SchemaRef,
        props: WriterProperties,
    ) -> Result<Self, LakeError> {
        let staged = Path::from(format!("{}/{}", staging_dir(commit), target));
        let (local_path, temp) = match &lake.local_root {
            Some(root) => (root.join(staged.as_ref()), false),
            None => (
                std::env::temp_dir().join(format!(
                    "pipewarden-{}-{}",
                    std::process::id(),
                    uuid::Uuid::new_v4()
                )),
                true,
            ),
        };
        if let Some(dir) = local_path.parent() {
            std::fs::create_dir_all(dir).map_err(|e| LakeError::Io {
                path: dir.display().to_string(),
                source: e,
            })?;
        }
        let file = File::create(&local_path).map_err(|e| LakeError::Io {
            path: local_path.display().to_string(),
            source: e,
        })?;
        let writer =
            ArrowWriter::try_new(file, schema, Some(props)).map_err(|e| LakeError::Write {
                path: staged.to_string(),
                reason: e.to_string(),
            })?;
        Ok(StagedParquet {
            writer,
            local_path,
            staged,
            target,
            rows: 0,
            temp,
        })
    }

    /// Appends a batch.
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), LakeError> {
        self.writer.write(batch).map_err(|e| LakeError::Write {
            path: self.staged.to_string(),
            reason: e.to_string(),
        })?;
        self.rows += batch.num_rows() as u64;
        Ok(())
    }

    /// Closes the file, syncs it, and uploads it when the lake is remote.
    pub fn close(self, lake: &Lake, rt: &tokio::runtime::Handle) -> Result<StagedFile, LakeError> {
        let wpath = self.staged.to_string();
        let file = self.writer.into_inner().map_err(|e| LakeError::Write {
            path: wpath.clone(),
            reason: e.to_string(),
        })?;
        file.sync_all().map_err(|e| LakeError::Io {
            path: self.local_path.display().to_string(),
            source: e,
        })?;
        drop(file);
        if self.temp {
            let r = rt.block_on(upload(lake, &self.local_path, &self.staged));
            let _ = std::fs::remove_file(&self.local_path);
            r?;
        }
        Ok(StagedFile {
            staged: self.staged,
            target: self.target,
            rows: self.rows,
        })
    }
}

async fn upload(lake: &Lake, local: &std::path::Path, to: &Path) -> Result<(), LakeError> {
    let io = |e: std::io::Error| LakeError::Io {
        path: local.display().to_string(),
        source: e,
    };
    let mut f = File::open(local).map_err(io)?;
    let len = f.metadata().map_err(io)?.len();
    if len <= 8 << 20 {
        let mut buf = Vec::with_capacity(len as usize);
        f.read_to_end(&mut buf).map_err(io)?;
        lake.store
            .put(to, PutPayload::from(buf))
            .await
            .map_err(|e| store_err(to, e))?;
        return Ok(());
    }
    let upload = lake
        .store
        .put_multipart(to)
        .await
        .map_err(|e| store_err(to, e))?;
    let mut w = WriteMultipart::new_with_chunk_size(upload, 8 << 20);
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf).map_err(io)?;
        if n == 0 {
            break;
        }
        w.wait_for_capacity(2).await.map_err(|e| store_err(to, e))?;
        w.write(&buf[..n]);
    }
    w.finish().await.map_err(|e| store_err(to, e))?;
    Ok(())
}

struct OpenDay {
    file: StagedParquet,
    last_used: u64,
}

/// Splits event batches by date into staged files for one commit.
pub struct EventWriter<'a> {
    lake: &'a Lake,
    rt: tokio::runtime::Handle,
    commit: String,
    cfg: WriterConfig,
    props: WriterProperties,
    dataset: Dataset,
    schema: SchemaRef,
    open: HashMap<i32, OpenDay>,
    closed: Vec<StagedFile>,
    seq: usize,
    clock: u64,
}

impl<'a> EventWriter<'a> {
    /// A writer for the files of `commit`.
    pub fn new(
        lake: &'a Lake,
        rt: tokio::runtime::Handle,
        commit: &str,
        dataset: Dataset,
        cfg: WriterConfig,
    ) -> Self {
        EventWriter {
            dataset,
            schema: dataset.schema(),
            lake,
            rt,
            commit: commit.to_string(),
            props: event_properties(&cfg),
            cfg,
            open: HashMap::new(),
            closed: vec![],
            seq: 0,
            clock: 0,
        }
    }

    /// Writes a batch of events (any mix of dates).
    pub fn write(&mut self, batch: &RecordBatch) -> Result<(), LakeError> {
        if batch.num_rows() == 0 {
            return Ok(());
        }
        let times = batch.column(0).as_primitive::<TimestampMicrosecondType>();
        let first = micros_to_days(times.value(0));
        if times.values().iter().all(|&t| micros_to_days(t) == first) {
            return self.write_day(first, batch);
        }
        let mut groups: HashMap<i32, Vec<u32>> = HashMap::new();
        for (i, &t) in times.values().iter().enumerate() {
            groups.entry(micros_to_days(t)).or_default().push(i as u32);
        }
        let mut days: Vec<_> = groups.into_iter().collect();
        days.sort_by_key(|(d, _)| *d);
        for (day, idx) in days {
            let idx = UInt32Array::from(idx);
            let part =
                arrow::compute::take_record_batch(batch, &idx).map_err(|e| LakeError::Write {
                    path: "event batch".into(),
                    reason: e.to_string(),
                })?;
            self.write_day(day, &part)?;
        }
        Ok(())
    }

    fn write_day(&mut self, day: i32, batch: &RecordBatch) -> Result<(), LakeError> {
        self.clock += 1;
        if !self.open.contains_key(&day) {
            if self.open.len() >= self.cfg.max_open {
                let lru = *self
                    .open
                    .iter()
                    .min_by_key(|(_, o)| o.last_used)
                    .map(|(d, _)| d)
                    .expect("non-empty");
                self.close_day(lru)?;
            }
            let target = Path::from(format!(
                "{}/event_date={}/part-{}-{:04}.parquet",
                self.dataset.name(),
                day_string(day),
                self.commit,
                self.seq
            ));
            self.seq += 1;
            let file = StagedParquet::create(
                self.lake,
                &self.commit,
                target,
                self.schema.clone(),
                self.props.clone(),
            )?;
            self.open.insert(day, OpenDay { file, last_used: 0 });
        }
        let o = self.open.get_mut(&day).expect("just inserted");
        o.last_used = self.clock;
        o.file.write(batch)?;
        if o.file.rows >= self.cfg.max_rows_per_file as u64 {
            self.close_day(day)?;
        }
        Ok(())
    }

    fn close_day(&mut self, day: i32) -> Result<(), LakeError> {
        if let Some(o) = self.open.remove(&day) {
            self.closed.push(o.file.close(self.lake, &self.rt)?);
        }
        Ok(())
    }

    /// Closes every file; returns all files of the commit.
    pub fn finish(mut self) -> Result<Vec<StagedFile>, LakeError> {
        let mut days: Vec<i32> = self.open.keys().copied().collect();
        days.sort();
        for d in days {
            self.close_day(d)?;
        }
        Ok(self.closed)
    }
}

/// `YYYY-MM-DD` of days since the epoch.
pub fn day_string(day: i32) -> String {
    chrono::DateTime::from_timestamp(day as i64 * 86_400, 0)
        .map(|t| t.format("%Y-%m-%d").to_string())
        .unwrap_or_else(|| "invalid".into())
}

/// Writes one small batch as a whole staged file (manifest, rejects).
pub fn write_small(
    lake: &Lake,
    rt: &tokio::runtime::Handle,
    commit: &str,
    target: Path,
    batch: &RecordBatch,
) -> Result<StagedFile, LakeError> {
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .set_created_by(format!("pipewarden {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut f = StagedParquet::create(lake, commit, target, batch.schema(), props)?;
    f.write(batch)?;
    f.close(lake, rt)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn day_strings() {
        assert_eq!(day_string(0), "1970-01-01");
        assert_eq!(day_string(20_153), "2025-03-06");
    }
}
