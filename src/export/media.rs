//! The pictures an export keeps (SPEC §8 "Media"): every image URL the records name (product and
//! SKU images in `product_details`), downloaded once into `media/`, named by the SHA-256 of its
//! bytes, and listed in the manifest with the records that use it.
//!
//! It runs after the datasets are written and reads the URLs back from their NDJSON files, so
//! memory holds the URLs, never the records. Progress is kept in the checkpoint directory
//! (`media.json`, atomic): a killed run resumes with the URLs still to fetch, and the manifest
//! lists the pictures in the order the records first name them, so two runs agree byte for byte.
//! A URL that fails (404, not an image, too large, refused) is recorded as missing with the
//! reason; the export still completes and says how many are missing.

use std::collections::{BTreeMap, HashMap};
use std::io::BufRead;
use std::path::Path;

use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use super::checkpoint;
use super::manifest::DatasetEntry;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::platform::{DatasetSpec, Platform};

/// The folder inside the export.
pub const DIR: &str = "media";
/// The largest picture kept; bigger ones are recorded as missing. Product photos are a few MB.
pub const CAP: u64 = 32 << 20;
/// Downloads in flight at once.
const CONCURRENCY: usize = 8;
/// Progress is saved after this many downloads (and at the end).
const SAVE_EVERY: usize = 16;

/// One kept picture, as the manifest lists it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MediaEntry {
    /// `media/<sha256>.<ext>`.
    pub file: String,
    /// Size.
    pub bytes: u64,
    /// SHA-256 of the bytes (also the file's name).
    pub sha256: String,
    /// Where it came from.
    pub url: String,
    /// The ids of the records that name it.
    pub records: Vec<String>,
}

/// A picture that could not be kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct MissingMedia {
    /// Where it should have come from.
    pub url: String,
    /// Why it is not there.
    pub reason: String,
    /// The ids of the records that name it.
    pub records: Vec<String>,
}

/// What happened to one URL (the progress file's value).
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
enum Fetched {
    Kept { file: String, bytes: u64, sha256: String },
    Missing { reason: String },
}

/// The pictures of an export.
#[derive(Debug, Default)]
pub struct Report {
    /// Kept, in the order the records first name them.
    pub kept: Vec<MediaEntry>,
    /// Not kept, in the same order.
    pub missing: Vec<MissingMedia>,
}

/// Every URL the records of `entries` name at the specs' media paths, in first-named order, each
/// with the ids of the records naming it.
fn collect(dir: &Path, entries: &[DatasetEntry], specs: &[DatasetSpec]) -> Result<Vec<(String, Vec<String>)>> {
    let mut order: Vec<(String, Vec<String>)> = Vec::new();
    let mut index: HashMap<String, usize> = HashMap::new();
    for entry in entries.iter().filter(|e| e.skipped.is_none()) {
        let Some(spec) = specs.iter().find(|s| s.name.as_str() == entry.name).filter(|s| !s.media.is_empty()) else {
            continue;
        };
        let path = dir.join(&entry.file);
        let file = fsutil::open_nofollow(&path).map_err(|e| Error::io("cannot read", &path, e))?;
        for line in std::io::BufReader::new(file).lines() {
            let line = line.map_err(|e| Error::io("cannot read", &path, e))?;
            let Ok(record) = serde_json::from_str::<Value>(&line) else { continue };
            let id = match record.get("id") {
                Some(Value::String(s)) => s.clone(),
                Some(other) => other.to_string(),
                None => String::new(),
            };
            for url in spec.media.iter().flat_map(|p| urls_at(&record, p)) {
                let at = *index.entry(url.clone()).or_insert_with(|| {
                    order.push((url, Vec::new()));
                    order.len() - 1
                });
                if !order[at].1.contains(&id) {
                    order[at].1.push(id.clone());
                }
            }
        }
    }
    Ok(order)
}

/// The strings at a dotted path where `*` stands for every element of an array.
pub fn urls_at(value: &Value, path: &str) -> Vec<String> {
    let mut here = vec![value];
    for key in path.split('.') {
        here = here
            .into_iter()
            .flat_map(|v| match (key, v) {
                ("*", Value::Array(items)) => items.iter().collect::<Vec<_>>(),
                ("*", _) => Vec::new(),
                (k, v) => v.get(k).into_iter().collect(),
            })
            .collect();
    }
    here.into_iter().filter_map(Value::as_str).filter(|s| !s.is_empty()).map(str::to_owned).collect()
}

fn progress_path(dir: &Path) -> std::path::PathBuf {
    dir.join(checkpoint::DIR).join("media.json")
}

fn load_progress(dir: &Path) -> Result<BTreeMap<String, Fetched>> {
    let path = progress_path(dir);
    match fsutil::read_state(&path)? {
        None => Ok(BTreeMap::new()),
        Some(text) => serde_json::from_str(&text).map_err(|e| {
            Error::verification(format!("{} is not a media checkpoint shopunlink can read", path.display()))
                .with_source(e)
                .with_hint("rerun the export with --fresh")
        }),
    }
}

fn save_progress(dir: &Path, done: &BTreeMap<String, Fetched>) -> Result<()> {
    let text = serde_json::to_vec(done).map_err(|e| Error::internal("cannot encode media progress").with_source(e))?;
    fsutil::create_private_dir(&dir.join(checkpoint::DIR))?;
    fsutil::write_atomic(&progress_path(dir), &text)
}

/// A run killed in the middle of writing a picture leaves its temporary file behind; it is ours
/// (the atomic writer's `.tmp-` prefix) and never part of an export.
fn remove_partial_writes(media: &Path) {
    let Ok(entries) = std::fs::read_dir(media) else { return };
    for e in entries.filter_map(|e| e.ok()) {
        if e.file_name().to_string_lossy().starts_with(".tmp-") {
            let _ = std::fs::remove_file(e.path());
        }
    }
}

/// Keeps one picture: written once under its hash (a second URL with the same bytes shares it).
fn keep(dir: &Path, bytes: &[u8], content_type: &str) -> Result<Fetched> {
    let sha256 = hex::encode(Sha256::digest(bytes));
    let file = format!("{DIR}/{sha256}.{}", crate::net::media::extension(content_type));
    let path = dir.join(&file);
    let intact = std::fs::symlink_metadata(&path).is_ok_and(|m| m.is_file() && m.len() == bytes.len() as u64);
    if !intact {
        fsutil::create_private_dir(&dir.join(DIR))?;
        // The folder is synced once before the progress file names the picture.
        fsutil::write_atomic_in_batch(&path, bytes)?;
    }
    Ok(Fetched::Kept { file, bytes: bytes.len() as u64, sha256 })
}

/// Downloads the pictures `entries` name, resuming from the checkpoint; `stop` is polled between
/// downloads (Ctrl-C keeps what is done).
pub async fn download(
    platform: &dyn Platform,
    dir: &Path,
    entries: &[DatasetEntry],
    specs: &[DatasetSpec],
    stop: &(dyn Fn() -> bool + Sync),
) -> Result<Report> {
    remove_partial_writes(&dir.join(DIR));
    let wanted = collect(dir, entries, specs)?;
    let mut done = load_progress(dir)?;
    let pending: Vec<String> = wanted.iter().map(|(u, _)| u.clone()).filter(|u| !done.contains_key(u)).collect();
    if !pending.is_empty() {
        tracing::info!("downloading {} pictures ({} already kept)", pending.len(), done.len());
    }
    // Each picture is written (and synced) by its own blocking task, so the syncs overlap too.
    let mut results = futures_util::stream::iter(pending)
        .map(|url| async move {
            let fetched = match platform.fetch_media(&url, CAP).await {
                Ok(media) => {
                    let dir = dir.to_owned();
                    tokio::task::spawn_blocking(move || keep(&dir, &media.bytes, &media.content_type))
                        .await
                        .unwrap_or_else(|e| Err(Error::internal("a picture writer panicked").with_cause(e)))
                }
                Err(reason) => Ok(Fetched::Missing { reason }),
            };
            (url, fetched)
        })
        .buffered(CONCURRENCY);
    let mut since_save = 0;
    while let Some((url, fetched)) = results.next().await {
        let fetched = fetched?;
        done.insert(url, fetched);
        since_save += 1;
        if since_save >= SAVE_EVERY {
            fsutil::sync_dir(&dir.join(DIR));
            save_progress(dir, &done)?;
            since_save = 0;
        }
        if stop() {
            fsutil::sync_dir(&dir.join(DIR));
            save_progress(dir, &done)?;
            return Err(Error::interrupted("export interrupted while downloading pictures"));
        }
    }
    fsutil::sync_dir(&dir.join(DIR));
    save_progress(dir, &done)?;
    Ok(report(wanted, &done))
}

fn report(wanted: Vec<(String, Vec<String>)>, done: &BTreeMap<String, Fetched>) -> Report {
    let mut out = Report::default();
    for (url, records) in wanted {
        match done.get(&url) {
            Some(Fetched::Kept { file, bytes, sha256 }) => {
                out.kept.push(MediaEntry { file: file.clone(), bytes: *bytes, sha256: sha256.clone(), url, records })
            }
            Some(Fetched::Missing { reason }) => {
                out.missing.push(MissingMedia { url, reason: reason.clone(), records })
            }
            None => out.missing.push(MissingMedia { url, reason: "not downloaded".into(), records }),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_reach_into_arrays() {
        let v = json!({"main_images": [{"urls": ["a", "b"]}, {"urls": ["c"]}], "skus": [{"img": {"urls": ["d"]}}, {}]});
        assert_eq!(urls_at(&v, "main_images.*.urls.*"), ["a", "b", "c"]);
        assert_eq!(urls_at(&v, "skus.*.img.urls.*"), ["d"]);
        assert!(urls_at(&v, "nothing.*").is_empty());
    }
}
