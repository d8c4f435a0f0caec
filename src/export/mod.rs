//! Exports: every record of a shop streamed to disk, resumable, with a manifest (SPEC §8).
//!
//! [`pipeline`] pulls pages from the platform into per-dataset writers; [`checkpoint`] makes an
//! interrupted run resumable; [`manifest`] is written last; [`verify`] proves an export complete;
//! [`index`] remembers exports for the disconnect preflight. Nothing here prints: progress goes
//! to an [`Observer`] the command supplies.

pub mod checkpoint;
pub mod csv;
pub mod hashed_file;
pub mod index;
pub mod manifest;
pub mod pipeline;
pub mod verify;

use std::path::PathBuf;
use std::str::FromStr;

use crate::platform::{Dataset, DatasetSpec, Shop, TimeRange};

/// Which files each dataset gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// `<dataset>.ndjson` only: the records exactly as the platform sent them.
    Ndjson,
    /// NDJSON plus the CSV flattening (NDJSON is always kept: it is the lossless copy).
    Csv,
    /// The same as `csv`: NDJSON and CSV.
    Both,
}

impl Format {
    /// The name used in the manifest and checkpoint.
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Ndjson => "ndjson",
            Format::Csv => "csv",
            Format::Both => "both",
        }
    }

    /// True when CSV files are written.
    pub fn has_csv(self) -> bool {
        self != Format::Ndjson
    }
}

impl FromStr for Format {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        <Format as clap::ValueEnum>::from_str(s, true)
    }
}

impl ExportPlan {
    /// The description of `dataset` (an empty one, with no CSV, if the platform has none).
    pub fn spec(&self, dataset: Dataset) -> DatasetSpec {
        self.specs.iter().find(|s| s.name == dataset).cloned().unwrap_or_else(|| DatasetSpec {
            name: dataset,
            description: String::new(),
            csv: Vec::new(),
        })
    }
}

/// Everything an export needs to know, resolved by the command.
#[derive(Debug, Clone)]
pub struct ExportPlan {
    /// Output directory.
    pub dir: PathBuf,
    /// Platform name (for the manifest).
    pub platform: String,
    /// Profile name (for the manifest).
    pub profile: String,
    /// The shop.
    pub shop: Shop,
    /// Datasets, in order.
    pub datasets: Vec<Dataset>,
    /// Every dataset the platform has, with its CSV tables.
    pub specs: Vec<DatasetSpec>,
    /// Time window.
    pub range: TimeRange,
    /// Files per dataset.
    pub format: Format,
    /// Start over even if a checkpoint or a finished export is there.
    pub fresh: bool,
    /// Datasets fetched at once.
    pub concurrency: usize,
    /// Bytes of a dataset written between checkpoints.
    pub commit_bytes: u64,
}

/// Where an export run is, reported as it goes (the command draws progress bars from it).
pub trait Observer: Send + Sync {
    /// A dataset starts (or resumes with `records` already on disk); `total` when known.
    fn start(&self, dataset: Dataset, records: u64, total: Option<u64>);
    /// A page was written; the running totals.
    fn advance(&self, dataset: Dataset, records: u64, bytes: u64);
    /// A dataset is complete.
    fn finish(&self, dataset: Dataset, records: u64, bytes: u64);
}
