//! Lake: the Parquet tables pipewarden writes, on a local folder or S3, and how writes become
//! visible.
//!
//! Layout under the lake root:
//!
//! ```text
//! cloudtrail/event_date=YYYY-MM-DD/part-<commit>-<n>.parquet   events (zstd), hive-partitioned
//! builds/event_date=YYYY-MM-DD/part-<commit>-<n>.parquet       build events, likewise
//! rejects/part-<commit>.parquet                                records that could not be parsed
//! manifest/part-<commit>.parquet                               every object seen, one row per visit
//! findings/findings.parquet                                    the last detect run's findings
//! integrity/integrity.parquet                                  the last verify run's problems
//! _pipewarden/staging/<commit>/...                             files written but not yet committed
//! _pipewarden/commits/<commit>.json                            commit records being applied
//! _pipewarden/log/<commit>.json                                commit records applied
//! ```
//!
//! Data enters through a [`transaction::Transaction`], which stages event files, the removal of
//! changed objects' rows, the rejects and the manifest, then commits. A commit ([`commit`])
//! writes its files under staging, then writes its commit record (the commit
//! point: one atomic PUT), then moves the files into place. [`Lake::recover`] rolls every pending
//! commit forward and discards staging left by runs that died before their commit point, so a crash
//! at any moment followed by a rerun leaves every event in the lake exactly once.

pub mod catalog;
pub mod commit;
pub mod dedupe;
pub mod location;
pub mod manifest;
pub mod replace;
pub mod transaction;
pub mod writer;

use std::path::PathBuf;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;

use crate::aws::AwsContext;
pub use location::LakeLocation;

/// The event tables an ingest can fill. Each has its folder, its schema (first column
/// `event_time`, partitioned by its date) and its name in the manifest's `dataset` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dataset {
    /// AWS CloudTrail events ([`crate::parse::cloudtrail`]).
    CloudTrail,
    /// CI/CD build events ([`crate::parse::builds`]).
    Builds,
}

impl Dataset {
    /// The table it fills.
    pub fn table(self) -> &'static catalog::Table {
        match self {
            Dataset::CloudTrail => &catalog::CLOUDTRAIL,
            Dataset::Builds => &catalog::BUILDS,
        }
    }

    /// Name in the manifest, and folder under the lake root.
    pub fn name(self) -> &'static str {
        self.table().name
    }

    /// The table's Arrow schema.
    pub fn schema(self) -> arrow::datatypes::SchemaRef {
        (self.table().schema)()
    }
}
/// Folder of pipewarden's own bookkeeping.
pub const META_DIR: &str = "_pipewarden";

/// What a command may do with a lake that is not there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// Create it: `ingest`, `generate`, and `scan` (which ingests first).
    Create,
    /// It must exist and hold CloudTrail data, or the command stops with exit 2: a mistyped
    /// `--lake` is an error, never an empty lake and a clean report.
    Existing,
}

/// Errors of the lake.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
    /// A command that only reads found no lake, or a lake without CloudTrail data.
    #[error("lake {url}: {reason}")]
    Missing { url: String, reason: String },
    /// The lake location is not usable.
    #[error("lake {url}: {reason}")]
    Open { url: String, reason: String },
    /// A storage operation failed.
    #[error("lake {path}: {source}")]
    Store {
        path: String,
        source: object_store::Error,
    },
    /// Writing Parquet failed.
    #[error("writing {path}: {reason}")]
    Write { path: String, reason: String },
    /// Another ingest holds the lake.
    #[error("lake {0} is locked by another pipewarden ingest; wait for it to finish")]
    Locked(String),
    /// Local I/O failed.
    #[error("{path}: {source}")]
    Io {
        path: String,
        source: std::io::Error,
    },
}

/// A lake location and the store that reaches it.
#[derive(Debug)]
pub struct Lake {
    /// Paths here are relative to the lake root.
    pub store: Arc<dyn ObjectStore>,
    /// `file:///abs/path/` or `s3://bucket/prefix/`, always with a trailing slash.
    pub url: String,
    /// The root on disk, for a local lake.
    pub local_root: Option<PathBuf>,
    /// The bucket's store (unprefixed) and its URL, to register with DataFusion.
    pub base_store: Arc<dyn ObjectStore>,
    /// `s3://bucket` for an S3 lake, `file://` for a local one.
    pub base_url: String,
    lock: std::sync::Mutex<Option<std::fs::File>>,
}

impl Lake {
    /// Opens the lake at `loc` (a local one is created when `access` allows it, and must be a
    /// folder otherwise); an S3 lake needs `aws`. [`Lake::connect`] also checks that an
    /// [`Access::Existing`] lake holds data.
    pub fn open(
        loc: &LakeLocation,
        aws: Option<&AwsContext>,
        access: Access,
    ) -> Result<Lake, LakeError> {
        let path = match loc {
            LakeLocation::Local(path) => path,
            LakeLocation::S3 { bucket, prefix } => {
                let aws = aws.ok_or_else(|| LakeError::Open {
                    url: loc.to_string(),
                    reason: "no AWS configuration loaded".into(),
                })?;
                let s3 = aws.object_store(bucket).map_err(|e| LakeError::Open {
                    url: loc.to_string(),
                    reason: e.to_string(),
                })?;
                let base: Arc<dyn ObjectStore> = Arc::new(s3);
                let store: Arc<dyn ObjectStore> = if prefix.is_empty() {
                    base.clone()
                } else {
                    Arc::new(PrefixStore::new(base.clone(), prefix.as_str()))
                };
                let url = if prefix.is_empty() {
                    format!("s3://{bucket}/")
                } else {
                    format!("s3://{bucket}/{prefix}/")
                };
                return Ok(Lake {
                    store,
                    url,
                    local_root: None,
                    base_store: base,
                    base_url: format!("s3://{bucket}"),
                    lock: std::sync::Mutex::new(None),
                });
            }
        };
        if access == Access::Existing && !path.is_dir() {
            return Err(LakeError::Missing {
                url: loc.to_string(),
                reason: "no such folder (`pipewarden ingest` creates a lake)".into(),
            });
        }
        std::fs::create_dir_all(path).map_err(|e| LakeError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        let root = std::fs::canonicalize(path).map_err(|e| LakeError::Io {
            path: path.display().to_string(),
            source: e,
        })?;
        let store = LocalFileSystem::new_with_prefix(&root).map_err(|e| LakeError::Open {
            url: loc.to_string(),
            reason: e.to_string(),
        })?;
        let url = format!(
            "file://{}/",
            root.display().to_string().trim_end_matches('/')
        );
        Ok(Lake {
            store: Arc::new(store),
            url,
            local_root: Some(root),
            base_store: Arc::new(LocalFileSystem::new()),
            base_url: "file://".into(),
            lock: std::sync::Mutex::new(None),
        })
    }

    /// The one way commands reach a lake: loads the AWS chain when the lake is on S3 (or when
    /// `aws_anyway`, for a command that also writes reports to S3), then opens the lake; an
    /// [`Access::Existing`] lake must hold CloudTrail data.
    pub async fn connect(
        loc: &LakeLocation,
        s3: &crate::aws::S3Options,
        aws_anyway: bool,
        access: Access,
    ) -> Result<(Lake, Option<AwsContext>), LakeError> {
        let aws = if loc.is_s3() || aws_anyway {
            Some(AwsContext::load(s3).await)
        } else {
            None
        };
        let lake = Lake::open(loc, aws.as_ref(), access)?;
        if access == Access::Existing {
            lake.require_data().await?;
        }
        Ok((lake, aws))
    }

    /// An error unless the `cloudtrail` table has at least one file (one listing request).
    pub async fn require_data(&self) -> Result<(), LakeError> {
        use futures::StreamExt;
        let dir = Path::from(catalog::CLOUDTRAIL.dir);
        let mut files = self.store.list(Some(&dir));
        match files.next().await {
            Some(Ok(_)) => Ok(()),
            Some(Err(object_store::Error::NotFound { .. })) | None => Err(LakeError::Missing {
                url: self.url.clone(),
                reason: format!(
                    "holds no {} data: a mistyped --lake or prefix? (`pipewarden ingest` fills \
                     a lake)",
                    catalog::CLOUDTRAIL.name
                ),
            }),
            Some(Err(source)) => Err(store_err(&dir, source)),
        }
    }

    /// Takes the single-writer lock of a local lake (released when the process ends, even by
    /// `kill -9`). S3 lakes rely on the scheduler running one ingest at a time.
    pub fn lock(&self) -> Result<(), LakeError> {
        let Some(root) = &self.local_root else {
            return Ok(());
        };
        let dir = root.join(META_DIR);
        std::fs::create_dir_all(&dir).map_err(|e| LakeError::Io {
            path: dir.display().to_string(),
            source: e,
        })?;
        let p = dir.join("lock");
        let f = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&p)
            .map_err(|e| LakeError::Io {
                path: p.display().to_string(),
                source: e,
            })?;
        match f.try_lock() {
            Ok(()) => {}
            Err(std::fs::TryLockError::WouldBlock) => {
                return Err(LakeError::Locked(self.url.clone()));
            }
            Err(std::fs::TryLockError::Error(e)) => {
                return Err(LakeError::Io {
                    path: p.display().to_string(),
                    source: e,
                });
            }
        }
        *self.lock.lock().expect("lock mutex") = Some(f);
        Ok(())
    }

    /// The full URL of a lake-relative path.
    pub fn url_of(&self, p: &Path) -> String {
        format!("{}{}", self.url, p)
    }

    /// The Parquet files under `dir`, in name order (commit order, for the manifest).
    pub async fn parquet_files(
        &self,
        dir: &Path,
    ) -> Result<Vec<object_store::ObjectMeta>, LakeError> {
        use futures::TryStreamExt;
        let mut files: Vec<_> = self
            .store
            .list(Some(dir))
            .try_collect()
            .await
            .map_err(|e| store_err(dir, e))?;
        files.retain(|m| m.location.as_ref().ends_with(".parquet"));
        files.sort_by(|a, b| a.location.cmp(&b.location));
        Ok(files)
    }

    /// The URL of a table folder, for DataFusion.
    pub fn table_url(&self, dir: &str) -> String {
        format!("{}{dir}/", self.url)
    }

    /// Replaces a table that is one file ([`catalog::Table::single_file`]) with `batch`, in one
    /// PUT: readers see the old table or the new one, never a mix.
    pub async fn replace_table(
        &self,
        table: &catalog::Table,
        batch: &arrow::array::RecordBatch,
    ) -> Result<(), LakeError> {
        use object_store::ObjectStoreExt;
        let path = table.single_file();
        let bytes = parquet_bytes(batch).map_err(|e| LakeError::Write {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        self.store
            .put(
                &Path::from(path.as_str()),
                object_store::PutPayload::from(bytes),
            )
            .await
            .map_err(|source| LakeError::Store { path, source })?;
        Ok(())
    }
}

/// Encodes a batch as one zstd Parquet file.
pub fn parquet_bytes(
    batch: &arrow::array::RecordBatch,
) -> Result<Vec<u8>, parquet::errors::ParquetError> {
    let props = parquet::file::properties::WriterProperties::builder()
        .set_compression(parquet::basic::Compression::ZSTD(Default::default()))
        .build();
    let mut out = Vec::new();
    let mut w = parquet::arrow::ArrowWriter::try_new(&mut out, batch.schema(), Some(props))?;
    w.write(batch)?;
    w.close()?;
    Ok(out)
}

pub(crate) fn store_err(path: &Path, source: object_store::Error) -> LakeError {
    LakeError::Store {
        path: path.to_string(),
        source,
    }
}
