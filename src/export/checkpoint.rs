//! Resume state of an export in progress: `DIR/.shopunlink/checkpoint.json`.
//!
//! For each dataset it records how far the data on disk is durable (records, bytes) and the
//! platform cursor that continues after it. It is only ever written after the data it describes
//! has been flushed and synced, so after any crash the files hold at least what it claims; a
//! longer tail is cut back on resume and fetched again.
//!
//! It is not trusted blindly: it records the SHA-256 of every file prefix it vouches for (re-hashed
//! before a resume appends), a seal over its own content (a hand edit of a cursor or a `done` is
//! refused, not followed), and what the export was taken from (a world reset in between would
//! splice records of two shops). Every refusal names the file and the way out: `--fresh`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

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
    /// SHA-256 of those bytes (lowercase hex), re-checked before a resume appends to them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Durable bytes of each CSV file, by file name.
    #[serde(default)]
    pub csv_bytes: BTreeMap<String, u64>,
    /// SHA-256 of each CSV file's durable bytes, by file name.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub csv_sha256: BTreeMap<String, String>,
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
    /// What the records came from, beyond platform and shop: the shop's last data change as the
    /// platform stamps it (a sandbox reset), so a resume never splices two worlds.
    #[serde(default)]
    pub source: Option<String>,
    /// SHA-256 of the checkpoint's own JSON without this field: a hand edit shows.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seal: Option<String>,
}

/// The way out of every damaged-checkpoint error.
pub const FRESH_HINT: &str = "rerun with --fresh to start this export over (what is there now cannot be trusted)";

/// An error about the checkpoint or the data it vouches for: exit 8, naming `path`, never a hint
/// to rerun the same command (which would fail the same way).
pub fn damaged(path: &Path, what: impl std::fmt::Display) -> Error {
    Error::verification(format!("cannot resume the export: {}", path.display()))
        .with_cause(what)
        .with_hint(FRESH_HINT)
        .with_detail("path", path.display().to_string())
}

impl Checkpoint {
    /// Where the checkpoint of `dir` lives.
    pub fn path(dir: &Path) -> PathBuf {
        dir.join(DIR).join("checkpoint.json")
    }

    /// Reads the checkpoint of `dir`, if one exists, and checks its seal.
    pub fn load(dir: &Path) -> Result<Option<Checkpoint>> {
        let path = Self::path(dir);
        let bytes = match fsutil::read_state_bytes(&path) {
            Ok(Some(b)) => b,
            Ok(None) => return Ok(None),
            Err(e) => return Err(damaged(&path, e)),
        };
        Self::parse(&bytes).map(Some).map_err(|what| damaged(&path, what))
    }

    /// Parses and unseals checkpoint bytes; the error says what is wrong with them.
    pub fn parse(bytes: &[u8]) -> std::result::Result<Checkpoint, String> {
        let text = std::str::from_utf8(bytes).map_err(|e| format!("it is not text: {e}"))?;
        let mut ckpt: Checkpoint = serde_json::from_str(text).map_err(|e| format!("it is not a checkpoint: {e}"))?;
        let Some(seal) = ckpt.seal.take() else {
            return Err("it carries no seal (written by an older version, or edited)".into());
        };
        if seal != ckpt.digest() {
            return Err("it was changed outside shopunlink (its seal does not match)".into());
        }
        Ok(ckpt)
    }

    fn digest(&self) -> String {
        let unsealed = Checkpoint { seal: None, ..self.clone() };
        let bytes = serde_json::to_vec(&unsealed).expect("a checkpoint always serialises");
        hex::encode(Sha256::digest(bytes))
    }

    /// Writes it atomically, sealed (its data must already be durable).
    pub fn save(&self, dir: &Path) -> Result<()> {
        let sealed = Checkpoint { seal: Some(self.digest()), ..self.clone() };
        let text = serde_json::to_vec_pretty(&sealed).expect("a checkpoint always serialises");
        fsutil::write_atomic(&Self::path(dir), &text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn sample() -> Checkpoint {
        Checkpoint {
            fingerprint: Fingerprint {
                platform: "example".into(),
                shop_id: "s".into(),
                datasets: vec!["orders".into()],
                since: None,
                until: None,
                format: "ndjson".into(),
            },
            started_at: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            datasets: BTreeMap::from([(
                "orders".into(),
                DatasetProgress { records: 2, bytes: 10, cursor: Some("c".into()), ..Default::default() },
            )]),
            source: None,
            seal: None,
        }
    }

    #[test]
    fn a_saved_checkpoint_loads_and_an_edited_one_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fsutil::create_private_dir(&dir.path().join(DIR)).unwrap();
        sample().save(dir.path()).unwrap();
        assert_eq!(Checkpoint::load(dir.path()).unwrap().unwrap(), sample());
        let path = Checkpoint::path(dir.path());
        let edited = std::fs::read_to_string(&path).unwrap().replace("\"records\": 2", "\"records\": 3");
        std::fs::write(&path, edited).unwrap();
        let e = Checkpoint::load(dir.path()).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Verification);
        assert!(e.to_string().contains("checkpoint.json") && e.hints()[0].contains("--fresh"), "{e}");
    }

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic_and_never_load(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
            prop_assert!(Checkpoint::parse(&bytes).is_err());
        }

        #[test]
        fn any_single_byte_edit_is_caught(at in 0usize..4096, byte in any::<u8>()) {
            let sealed = Checkpoint { seal: Some(sample().digest()), ..sample() };
            let mut bytes = serde_json::to_vec(&sealed).unwrap();
            let at = at % bytes.len();
            prop_assume!(bytes[at] != byte);
            bytes[at] = byte;
            // Either unreadable or semantically unchanged (e.g. whitespace): never a different checkpoint.
            if let Ok(c) = Checkpoint::parse(&bytes) { prop_assert_eq!(c, sample()) }
        }
    }
}
