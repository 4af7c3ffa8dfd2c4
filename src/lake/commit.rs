//! Commits: how staged files become visible, all or nothing, across crashes.
//!
//! 1. Files are written under `_pipewarden/staging/<commit>/` (see [`super::writer`]).
//! 2. The commit record `_pipewarden/commits/<commit>.json` is written in one atomic PUT: the
//!    commit point. It lists every move (staged path to final path) and every file to delete.
//! 3. Files are moved into place, the manifest last, then deletions run, then the record moves to
//!    `_pipewarden/log/`.
//!
//! [`Lake::recover`], run before every ingest, finishes step 3 for any record still in `commits/`
//! (each move is idempotent: done if the source is gone and the target exists) and deletes staging
//! folders that never reached step 2.

use futures::TryStreamExt;
use object_store::path::Path;
use object_store::{ObjectStoreExt, PutPayload};
use serde::{Deserialize, Serialize};

use super::{Lake, LakeError, META_DIR, store_err};

/// One staged file's move.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Move {
    /// Staging path, relative to the lake root.
    pub from: String,
    /// Final path, relative to the lake root.
    pub to: String,
}

/// The record written at the commit point.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CommitRecord {
    /// Format version.
    pub version: u32,
    /// Commit id (sortable by time).
    pub commit: String,
    /// When it was written (RFC 3339).
    pub created: String,
    /// Files to move into place, in order.
    pub moves: Vec<Move>,
    /// Files to delete once the moves are done (replaced data).
    #[serde(default)]
    pub deletes: Vec<String>,
    /// Objects recorded in this commit's manifest.
    pub objects: u64,
    /// Events in this commit.
    pub events: u64,
}

/// A new commit id: milliseconds since the epoch, then random bits, so ids sort by time.
pub fn new_commit_id() -> String {
    let ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis())
        .unwrap_or(0);
    let r = uuid::Uuid::new_v4().simple().to_string();
    format!("{ms:013}-{}", &r[..8])
}

/// What recovery did.
#[derive(Debug, Default, Clone, Copy)]
pub struct Recovery {
    /// Commits rolled forward.
    pub rolled_forward: usize,
    /// Staging folders of uncommitted runs removed.
    pub discarded: usize,
}

fn pending_path(commit: &str) -> Path {
    Path::from(format!("{META_DIR}/commits/{commit}.json"))
}

fn log_path(commit: &str) -> Path {
    Path::from(format!("{META_DIR}/log/{commit}.json"))
}

/// Crash injection for tests: `PIPEWARDEN_FAILPOINT=<name>` aborts the process at that point, as
/// `kill -9` would.
pub fn failpoint(name: &str) {
    if std::env::var("PIPEWARDEN_FAILPOINT").is_ok_and(|v| v == name) {
        eprintln!("pipewarden: failpoint {name} reached, aborting");
        std::process::abort();
    }
}

impl Lake {
    /// Makes a commit visible: writes its record, then applies it.
    pub async fn commit(&self, rec: &CommitRecord) -> Result<(), LakeError> {
        failpoint("before-commit-record");
        let body = serde_json::to_vec_pretty(rec).expect("commit record serialises");
        let p = pending_path(&rec.commit);
        self.store
            .put(&p, PutPayload::from(body))
            .await
            .map_err(|e| store_err(&p, e))?;
        failpoint("after-commit-record");
        self.apply(rec).await
    }

    async fn apply(&self, rec: &CommitRecord) -> Result<(), LakeError> {
        for (i, m) in rec.moves.iter().enumerate() {
            if i == 1 {
                failpoint("mid-moves");
            }
            let from = Path::from(m.from.as_str());
            let to = Path::from(m.to.as_str());
            match self.store.rename(&from, &to).await {
                Ok(()) => {}
                Err(object_store::Error::NotFound { .. }) => {
                    // Already moved by an earlier, interrupted apply.
                    self.store.head(&to).await.map_err(|e| store_err(&to, e))?;
                }
                Err(e) => return Err(store_err(&from, e)),
            }
        }
        failpoint("after-moves");
        for d in &rec.deletes {
            let p = Path::from(d.as_str());
            match self.store.delete(&p).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(store_err(&p, e)),
            }
        }
        let pending = pending_path(&rec.commit);
        let log = log_path(&rec.commit);
        match self.store.rename(&pending, &log).await {
            Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
            Err(e) => return Err(store_err(&pending, e)),
        }
        self.remove_staging(&rec.commit).await
    }

    async fn remove_staging(&self, commit: &str) -> Result<(), LakeError> {
        let dir = super::writer::staging_dir(commit);
        if let Some(root) = &self.local_root {
            let p = root.join(dir.as_ref());
            match std::fs::remove_dir_all(&p) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(LakeError::Io {
                        path: p.display().to_string(),
                        source: e,
                    });
                }
            }
            return Ok(());
        }
        let left: Vec<_> = self
            .store
            .list(Some(&dir))
            .try_collect()
            .await
            .map_err(|e| store_err(&dir, e))?;
        for m in left {
            match self.store.delete(&m.location).await {
                Ok(()) | Err(object_store::Error::NotFound { .. }) => {}
                Err(e) => return Err(store_err(&m.location, e)),
            }
        }
        Ok(())
    }

    /// Rolls pending commits forward and removes staging of runs that never committed.
    pub async fn recover(&self) -> Result<Recovery, LakeError> {
        let mut out = Recovery::default();
        let commits_dir = Path::from(format!("{META_DIR}/commits"));
        let mut pending: Vec<_> = self
            .store
            .list(Some(&commits_dir))
            .try_collect()
            .await
            .map_err(|e| store_err(&commits_dir, e))?;
        pending.sort_by(|a, b| a.location.cmp(&b.location));
        let mut live = std::collections::HashSet::new();
        for m in pending {
            let bytes = super::manifest::read_bytes(self, &m.location).await?;
            let rec: CommitRecord = match serde_json::from_slice(&bytes) {
                Ok(r) => r,
                Err(e) => {
                    return Err(LakeError::Write {
                        path: self.url_of(&m.location),
                        reason: format!(
                            "commit record is unreadable ({e}); inspect it before rerunning"
                        ),
                    });
                }
            };
            live.insert(rec.commit.clone());
            self.apply(&rec).await?;
            out.rolled_forward += 1;
        }
        // Staging without a commit record: the run died before its commit point.
        let staging = Path::from(format!("{META_DIR}/staging"));
        let mut commits = std::collections::BTreeSet::new();
        if let Some(root) = &self.local_root {
            if let Ok(rd) = std::fs::read_dir(root.join(staging.as_ref())) {
                for e in rd.flatten() {
                    commits.insert(e.file_name().to_string_lossy().into_owned());
                }
            }
        } else {
            let files: Vec<_> = self
                .store
                .list(Some(&staging))
                .try_collect()
                .await
                .map_err(|e| store_err(&staging, e))?;
            for f in files {
                if let Some(c) = f.location.parts().nth(2) {
                    commits.insert(c.as_ref().to_string());
                }
            }
        }
        for c in commits {
            if !live.contains(&c) {
                self.remove_staging(&c).await?;
                out.discarded += 1;
            }
        }
        Ok(out)
    }
}
