//! Resume state of an export in progress: `DIR/.shopunlink/checkpoint.json`.
//!
//! For each dataset it records how far the data on disk is durable (records, bytes) and the
//! platform cursor that continues after it. It is only ever written after the data it describes
//! has been flushed and synced, so after any crash the files hold at least what it claims; a
//! longer tail is cut back on resume and fetched again.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsutil;

/// The folder inside an export directory that marks it as ours while it is in progress.
pub const DIR: &str = ".shopunlink";

/// What must match for a rerun to continue this export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// Platform name.
    pub platform: String,
    /// Shop id.
    pub shop_id: String,
    /// Dataset names, in order.
    pub datasets: Vec<String>,
    /// `--since`, RFC 3339.
    pub since: Option<String>,
    /// `--until`, RFC 3339.
    pub until: Option<String>,
    /// `--format`.
    pub format: String,
}

/// Progress of one dataset.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct DatasetProgress {
    /// Durable records in the NDJSON file.
    pub records: u64,
    /// Durable bytes of the NDJSON file.
    pub bytes: u64,
    /// Durable bytes of each CSV file, by file name.
    #[serde(default)]
    pub csv_bytes: BTreeMap<String, u64>,
    /// Cursor of the next page; `None` before the first page. With [`DatasetProgress::windows`]
    /// it names the window too (`w<k>:<cursor within it>`).
    pub cursor: Option<String>,
    /// True when the dataset is complete.
    pub done: bool,
    /// The time windows the dataset is read in side by side, chosen when it started (see
    /// `Platform::windows`) and kept, so a resume reads the same ones; empty for one window.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub windows: Vec<crate::platform::TimeRange>,
}

/// The checkpoint file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Checkpoint {
    /// The arguments this export was started with.
    pub fingerprint: Fingerprint,
    /// When it was first started.
    pub started_at: DateTime<Utc>,
    /// Per-dataset progress.
    pub datasets: BTreeMap<String, DatasetProgress>,
}

impl Checkpoint {
    /// Where the checkpoint of `dir` lives.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(DIR).join("checkpoint.json")
    }

    /// Reads the checkpoint of `dir`, if one exists.
    pub fn load(dir: &Path) -> Result<Option<Checkpoint>> {
        let path = Self::path(dir);
        let Some(text) = fsutil::read_optional(&path)? else { return Ok(None) };
        serde_json::from_str(&text).map(Some).map_err(|e| {
            Error::usage(format!("the resume checkpoint {} is corrupt", path.display()))
                .with_cause(e)
                .with_hint("rerun with --fresh to start this export over")
        })
    }

    /// Writes it atomically (its data must already be durable).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let text = serde_json::to_vec_pretty(self).expect("a checkpoint always serialises");
        fsutil::write_atomic(&Self::path(dir), &text)
    }
}
