//! `manifest.json`: what an export holds, written last and atomically (SPEC §8).

use std::path::Path;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, ErrorKind, Result};
use crate::fsutil;
use crate::platform::TimeRange;

/// The manifest's file name.
pub const FILE: &str = "manifest.json";

/// The `tool.name` every manifest of ours carries.
pub const TOOL_NAME: &str = "shopunlink";

/// The tool that wrote an export.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Tool {
    /// Always "shopunlink".
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The shop an export came from.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ShopRef {
    /// Platform id.
    pub id: String,
    /// Name at export time.
    pub name: String,
    /// Market.
    pub region: String,
}

/// A secondary file of a dataset (the CSV flattening).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct FileEntry {
    /// File name inside the export directory.
    pub file: String,
    /// Size in bytes.
    pub bytes: u64,
    /// Lowercase hex SHA-256 of the whole file.
    pub sha256: String,
}

/// One dataset's entry.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct DatasetEntry {
    /// Dataset name.
    pub name: String,
    /// The NDJSON file.
    pub file: String,
    /// Lines in the NDJSON file.
    pub records: u64,
    /// Size of the NDJSON file.
    pub bytes: u64,
    /// SHA-256 of the NDJSON file.
    pub sha256: String,
    /// The CSV flattening's main table (`orders.csv`), when asked for (SPEC §8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv: Option<FileEntry>,
    /// The CSV tables of nested lists (`orders.line_items.csv`), each keyed by the parent id.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub csv_tables: Vec<FileEntry>,
    /// Set when the credentials may not read this dataset: nothing was written for it, and it
    /// counts as missing for `verify` and the disconnect preflight (SPEC §8).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub skipped: Option<Skipped>,
}

/// Why a dataset was not exported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Skipped {
    /// In words.
    pub reason: String,
    /// The scope (permission) the credentials lack.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub scope: Option<String>,
}

impl DatasetEntry {
    /// Every CSV file of the dataset, the main table first.
    pub fn csv_files(&self) -> impl Iterator<Item = &FileEntry> {
        self.csv.iter().chain(&self.csv_tables)
    }
}

/// An export's `manifest.json` (SPEC §8), written last and atomically: what the export holds, with
/// the size and SHA-256 of every file, and whether it is complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Manifest {
    /// Always 1.
    pub schema_version: u32,
    /// Who wrote it.
    pub tool: Tool,
    /// Platform name.
    pub platform: String,
    /// Profile name.
    pub profile: String,
    /// Which shop.
    pub shop: ShopRef,
    /// The time window exported.
    pub range: TimeRange,
    /// `ndjson`, `csv` or `both`.
    #[serde(default = "default_format")]
    pub format: String,
    /// When the (first attempt of the) export started.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// True only when every dataset was written in full.
    pub complete: bool,
    /// The datasets.
    pub datasets: Vec<DatasetEntry>,
    /// The pictures kept in `media/`, in the order the records first name them.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media: Vec<super::media::MediaEntry>,
    /// The pictures that could not be kept, with the reason.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub media_missing: Vec<super::media::MissingMedia>,
}

fn default_format() -> String {
    "ndjson".into()
}

impl Manifest {
    /// Serialises it the one way it is written (so its sha256 is stable).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut text = serde_json::to_vec_pretty(self).expect("a manifest always serialises");
        text.push(b'\n');
        text
    }

    /// Writes `dir/manifest.json` atomically and returns its sha256.
    pub fn write(&self, dir: &Path) -> Result<String> {
        let bytes = self.to_bytes();
        fsutil::write_atomic(&dir.join(FILE), &bytes)?;
        Ok(hex::encode(Sha256::digest(&bytes)))
    }

    /// Reads `dir/manifest.json`; returns the manifest and the sha256 of its bytes.
    pub fn read(dir: &Path) -> Result<Option<(Manifest, String)>> {
        let path = dir.join(FILE);
        // Never through a symlink: a manifest is a regular file inside its export.
        let Some(bytes) = fsutil::read_state_bytes(&path).map_err(|e| e.with_kind(ErrorKind::Verification))? else {
            return Ok(None);
        };
        let manifest = Self::parse(&bytes)
            .map_err(|e| Error::verification(format!("{} is not a readable manifest", path.display())).with_cause(e))?;
        Ok(Some((manifest, hex::encode(Sha256::digest(&bytes)))))
    }

    /// Parses manifest bytes (untrusted: anything may be in an export directory).
    pub fn parse(bytes: &[u8]) -> std::result::Result<Manifest, serde_json::Error> {
        serde_json::from_slice(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        #[test]
        fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..1024)) {
            let _ = Manifest::parse(&bytes);
        }

        #[test]
        fn arbitrary_json_never_panics(text in "\\{(\"[a-z_]{1,12}\":(\\d{1,20}|\"[^\"]{0,8}\"|null|\\[\\]|\\{\\}),?){0,8}\\}") {
            let _ = Manifest::parse(text.as_bytes());
        }
    }
}
