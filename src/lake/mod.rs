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
//! A commit ([`commit`]) writes its files under staging, then writes its commit record (the commit
//! point: one atomic PUT), then moves the files into place. [`Lake::recover`] rolls every pending
//! commit forward and discards staging left by runs that died before their commit point, so a crash
//! at any moment followed by a rerun leaves every event in the lake exactly once.

pub mod commit;
pub mod manifest;
pub mod replace;
pub mod writer;

use std::path::PathBuf;
use std::sync::Arc;

use object_store::ObjectStore;
use object_store::local::LocalFileSystem;
use object_store::path::Path;
use object_store::prefix::PrefixStore;

use crate::aws::AwsContext;

/// Folder of the CloudTrail events table.
pub const CLOUDTRAIL_DIR: &str = "cloudtrail";
/// Folder of the build events table.
pub const BUILDS_DIR: &str = "builds";

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
    /// Name in the manifest, and folder under the lake root.
    pub fn name(self) -> &'static str {
        match self {
            Dataset::CloudTrail => CLOUDTRAIL_DIR,
            Dataset::Builds => BUILDS_DIR,
        }
    }

    /// The table's Arrow schema.
    pub fn schema(self) -> arrow::datatypes::SchemaRef {
        match self {
            Dataset::CloudTrail => crate::parse::cloudtrail::schema(),
            Dataset::Builds => crate::parse::builds::schema(),
        }
    }
}
/// Folder of rejected records.
pub const REJECTS_DIR: &str = "rejects";
/// Folder of the last detect run's findings ([`crate::report::table`]).
pub const FINDINGS_DIR: &str = "findings";
/// Folder of the last `verify --lake` run's problems ([`crate::verify`]).
pub const INTEGRITY_DIR: &str = "integrity";
/// Folder of the manifest table.
pub const MANIFEST_DIR: &str = "manifest";
/// Folder of pipewarden's own bookkeeping.
pub const META_DIR: &str = "_pipewarden";

/// Errors of the lake.
#[derive(Debug, thiserror::Error)]
pub enum LakeError {
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
    /// Opens (creating if needed) a lake at a folder or `s3://bucket/prefix`.
    pub fn open(spec: &str, aws: Option<&AwsContext>) -> Result<Lake, LakeError> {
        if let Some((bucket, prefix)) = crate::source::parse_s3_uri(spec) {
            let aws = aws.ok_or_else(|| LakeError::Open {
                url: spec.into(),
                reason: "no AWS configuration loaded".into(),
            })?;
            let s3 = aws.object_store(&bucket).map_err(|e| LakeError::Open {
                url: spec.into(),
                reason: e.to_string(),
            })?;
            let base: Arc<dyn ObjectStore> = Arc::new(s3);
            let prefix = prefix.trim_matches('/').to_string();
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
        let path = spec.strip_prefix("file://").unwrap_or(spec);
        std::fs::create_dir_all(path).map_err(|e| LakeError::Io {
            path: path.into(),
            source: e,
        })?;
        let root = std::fs::canonicalize(path).map_err(|e| LakeError::Io {
            path: path.into(),
            source: e,
        })?;
        let store = LocalFileSystem::new_with_prefix(&root).map_err(|e| LakeError::Open {
            url: spec.into(),
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

    /// The URL of a table folder, for DataFusion.
    pub fn table_url(&self, dir: &str) -> String {
        format!("{}{dir}/", self.url)
    }
}

pub(crate) fn store_err(path: &Path, source: object_store::Error) -> LakeError {
    LakeError::Store {
        path: path.to_string(),
        source,
    }
}
