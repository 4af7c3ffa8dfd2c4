//! Replacing the rows of objects whose content changed since they were ingested.
//!
//! An object listed again with a new ETag is parsed again; its earlier rows must go, or the lake
//! would hold them twice. The committed event files holding them are rewritten without them, and
//! the commit that lands the new rows also swaps those files (see [`super::commit`]), so readers
//! see the old rows or the new ones, never both.

use std::collections::HashSet;

use arrow::array::{Array, AsArray, BooleanArray};
use futures::TryStreamExt;
use object_store::ObjectMeta;
use object_store::path::Path;
use parquet::arrow::ProjectionMask;
#[allow(deprecated)]
use parquet::arrow::async_reader::{ParquetObjectReader, ParquetRecordBatchStreamBuilder};

use super::writer::{StagedFile, StagedParquet, WriterConfig, event_properties};
use super::{Dataset, Lake, LakeError};

/// Files to add and delete so that `objects` have no rows left in the committed event files.
#[derive(Debug, Default)]
pub struct Replacement {
    /// Rewritten files, staged.
    pub staged: Vec<StagedFile>,
    /// Committed files to delete.
    pub deletes: Vec<Path>,
    /// Rows removed.
    pub removed_rows: u64,
}

fn read_err(lake: &Lake, p: &Path, e: impl std::fmt::Display) -> LakeError {
    LakeError::Write {
        path: lake.url_of(p),
        reason: format!("reading for replacement: {e}"),
    }
}

#[allow(deprecated)]
pub(super) async fn open(
    lake: &Lake,
    meta: &ObjectMeta,
    projection: Option<&[&str]>,
) -> Result<parquet::arrow::async_reader::ParquetRecordBatchStream<ParquetObjectReader>, LakeError>
{
    let reader = ParquetObjectReader::new(lake.store.clone(), meta.location.clone())
        .with_file_size(meta.size);
    let b = ParquetRecordBatchStreamBuilder::new(reader)
        .await
        .map_err(|e| read_err(lake, &meta.location, e))?;
    let b = match projection {
        Some(cols) => {
            let mask = columns_mask(b.parquet_schema(), cols);
            b.with_projection(mask)
        }
        None => b,
    };
    b.build().map_err(|e| read_err(lake, &meta.location, e))
}

/// The projection of a file's columns named in `cols`.
pub(super) fn columns_mask(
    schema: &parquet::schema::types::SchemaDescriptor,
    cols: &[&str],
) -> ProjectionMask {
    let idx: Vec<usize> = schema
        .columns()
        .iter()
        .enumerate()
        .filter(|(_, c)| cols.contains(&c.name()))
        .map(|(i, _)| i)
        .collect();
    ProjectionMask::leaves(schema, idx)
}

fn keep_mask(col: &dyn Array, objects: &HashSet<String>) -> BooleanArray {
    let s = col.as_string::<i32>();
    (0..s.len())
        .map(|i| Some(s.is_null(i) || !objects.contains(s.value(i))))
        .collect()
}

/// Rewrites every committed event file that holds rows of `objects`.
pub fn replace_objects(
    lake: &Lake,
    rt: &tokio::runtime::Handle,
    commit: &str,
    dataset: Dataset,
    objects: &HashSet<String>,
    cfg: WriterConfig,
) -> Result<Replacement, LakeError> {
    let mut out = Replacement::default();
    if objects.is_empty() {
        return Ok(out);
    }
    let files = rt.block_on(lake.parquet_files(&Path::from(dataset.name())))?;
    let schema = dataset.schema();
    for (n, meta) in files.iter().enumerate() {
        // First pass: only the provenance column, to find the files concerned.
        let hits = rt.block_on(async {
            let mut s = open(lake, meta, Some(&["source_object"])).await?;
            let mut hits = 0u64;
            while let Some(b) = s
                .try_next()
                .await
                .map_err(|e| read_err(lake, &meta.location, e))?
            {
                let keep = keep_mask(b.column(0), objects);
                hits += keep.iter().filter(|k| *k == Some(false)).count() as u64;
            }
            Ok::<_, LakeError>(hits)
        })?;
        if hits == 0 {
            continue;
        }
        out.removed_rows += hits;
        out.deletes.push(meta.location.clone());
        // Second pass: copy every other row into a replacement in the same partition.
        let parent = meta
            .location
            .as_ref()
            .rsplit_once('/')
            .map(|(d, _)| d.to_string())
            .unwrap_or_default();
        let target = Path::from(format!("{parent}/part-{commit}-r{n:04}.parquet"));
        let mut file: Option<StagedParquet> = None;
        rt.block_on(async {
            let mut s = open(lake, meta, None).await?;
            while let Some(b) = s
                .try_next()
                .await
                .map_err(|e| read_err(lake, &meta.location, e))?
            {
                let col = b
                    .column_by_name("source_object")
                    .ok_or_else(|| read_err(lake, &meta.location, "no source_object column"))?;
                let keep = keep_mask(col.as_ref(), objects);
                let kept = arrow::compute::filter_record_batch(&b, &keep)
                    .map_err(|e| read_err(lake, &meta.location, e))?;
                if kept.num_rows() == 0 {
                    continue;
                }
                if file.is_none() {
                    file = Some(StagedParquet::create(
                        lake,
                        commit,
                        target.clone(),
                        schema.clone(),
                        event_properties(&cfg),
                    )?);
                }
                file.as_mut().expect("created").write(&kept)?;
            }
            Ok::<_, LakeError>(())
        })?;
        if let Some(f) = file {
            out.staged.push(f.close(lake, rt)?);
        }
    }
    Ok(out)
}
