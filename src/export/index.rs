//! The export index: `state/exports.json`, every export this home has written or verified.
//!
//! The disconnect preflight asks it for a complete, verified export of the shop that is newer
//! than the shop's last data change; `export` adds entries and `verify` marks them verified.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsutil;
use crate::lock::{self, Lock};

/// One export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    /// Platform name.
    pub platform: String,
    /// Profile name.
    pub profile: String,
    /// Shop id.
    pub shop_id: String,
    /// Absolute path of the export directory.
    pub dir: PathBuf,
    /// SHA-256 of its `manifest.json`.
    pub manifest_sha256: String,
    /// When the export started.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// True when `verify` passed on exactly this manifest.
    pub verified: bool,
    /// When `verify` last ran on it.
    pub verified_at: Option<DateTime<Utc>>,
}

/// The whole index.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Index {
    /// Exports, oldest first.
    pub exports: Vec<Entry>,
}

impl Index {
    fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("exports.json")
    }

    /// Loads the index (empty if none).
    pub fn load(state_dir: &Path) -> Result<Index> {
        let path = Self::path(state_dir);
        let Some(text) = fsutil::read_state(&path)? else { return Ok(Index::default()) };
        serde_json::from_str(&text).map_err(|e| {
            Error::internal(format!("the export index {} is corrupt", path.display()))
                .with_cause(e)
                .with_hint("move it aside; `shopunlink verify DIR` rebuilds the entry of each export")
        })
    }

    fn save(&self, state_dir: &Path) -> Result<()> {
        fsutil::create_private_dir(state_dir)?;
        let text = serde_json::to_vec_pretty(self).expect("the index always serialises");
        fsutil::write_atomic(&Self::path(state_dir), &text)
    }

    /// Loads the index under its lock, applies `change` and saves: parallel `export` and
    /// `verify` runs each re-read it inside the lock, so none loses another's entry.
    pub fn update<T>(state_dir: &Path, change: impl FnOnce(&mut Index) -> T) -> Result<T> {
        fsutil::create_private_dir(state_dir)?;
        let _lock = Lock::take(&lock::beside(&Self::path(state_dir)), "the export index")?;
        let mut index = Index::load(state_dir)?;
        let before = index.clone();
        let out = change(&mut index);
        if index != before {
            index.save(state_dir)?;
        }
        Ok(out)
    }

    /// Adds or replaces the entry for `entry.dir` and saves.
    pub fn upsert(state_dir: &Path, entry: Entry) -> Result<()> {
        Self::update(state_dir, |index| index.put(entry))
    }

    /// Adds or replaces the entry for `entry.dir` (in memory).
    pub fn put(&mut self, entry: Entry) {
        self.exports.retain(|e| e.dir != entry.dir);
        self.exports.push(entry);
    }

    /// True when the export in `dir` is marked verified for exactly this manifest.
    pub fn is_verified(&self, dir: &Path, manifest_sha256: &str) -> bool {
        self.exports.iter().any(|e| e.dir == dir && e.verified && e.manifest_sha256 == manifest_sha256)
    }

    /// Withdraws the verified mark of the export in `dir` (after a failed `verify`), so the
    /// disconnect preflight stops relying on a copy now known to be damaged.
    pub fn mark_unverified(state_dir: &Path, dir: &Path) -> Result<()> {
        Self::update(state_dir, |index| {
            for e in index.exports.iter_mut().filter(|e| e.dir == dir && e.verified) {
                e.verified = false;
                e.verified_at = Some(Utc::now());
            }
        })
    }

    /// The newest verified export of a shop.
    pub fn latest(&self, platform: &str, shop_id: &str) -> Option<&Entry> {
        self.exports
            .iter()
            .filter(|e| e.platform == platform && e.shop_id == shop_id)
            .max_by_key(|e| (e.verified, e.finished_at))
    }
}

/// An export directory as the index stores it: absolute, so the preflight finds it from anywhere.
///
/// A directory that is gone (deleted or moved after it verified) still maps to the path it was
/// stored under, through its parent, so a failed `verify` of it withdraws the right mark.
pub fn absolute(dir: &Path) -> PathBuf {
    if let Ok(path) = std::fs::canonicalize(dir) {
        return path;
    }
    let parent = dir.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    match (std::fs::canonicalize(parent), dir.file_name()) {
        (Ok(parent), Some(name)) => parent.join(name),
        _ => std::path::absolute(dir).unwrap_or_else(|_| dir.to_owned()),
    }
}
