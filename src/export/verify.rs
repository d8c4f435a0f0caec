//! `verify DIR`: re-read every file of an export and compare it with the manifest.
//!
//! Checks, per dataset: the file exists, its size and SHA-256 match, it has as many lines as
//! records claimed, every line is one JSON value, and the file ends with a newline. CSV files are
//! checked for size, SHA-256 and a constant column count. The manifest must say `complete`.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};

use serde::Serialize;
use sha2::{Digest, Sha256};

use super::manifest::{FileEntry, Manifest, TOOL_NAME};
use crate::error::{Error, Result};
use crate::fsutil;

/// One dataset's result.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct DatasetReport {
    /// Dataset name.
    pub name: String,
    /// True when nothing is wrong.
    pub ok: bool,
    /// What is wrong, one sentence each.
    pub problems: Vec<String>,
}

/// The whole result, printed by `verify --json`.
#[derive(Debug, Clone, PartialEq, Serialize, schemars::JsonSchema)]
pub struct Report {
    /// Always 1.
    pub schema_version: u32,
    /// The export directory.
    pub dir: PathBuf,
    /// True when every check passed.
    pub ok: bool,
    /// Problems with the export as a whole (missing or incomplete manifest).
    pub problems: Vec<String>,
    /// Per-dataset results.
    pub datasets: Vec<DatasetReport>,
    /// SHA-256 of the manifest that was checked.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub manifest_sha256: Option<String>,
    /// The manifest that was checked.
    #[serde(skip)]
    pub manifest: Option<Manifest>,
    /// True when there is no manifest but a checkpoint: an export that never finished, which
    /// rerunning it resumes.
    #[serde(skip)]
    pub unfinished: bool,
}

struct Scan {
    bytes: u64,
    sha256: String,
    lines: u64,
    bad_line: Option<u64>,
    ends_with_newline: bool,
}

fn io_problem(path: &Path, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        format!("{} is missing", path.file_name().unwrap_or_default().to_string_lossy())
    } else {
        format!("cannot read {}: {e}", path.display())
    }
}

/// Streams an NDJSON file once: hash, size, lines, and the first line that is not JSON.
fn scan_ndjson(path: &Path) -> std::io::Result<Scan> {
    let mut reader = BufReader::with_capacity(1 << 20, fsutil::open_nofollow(path)?);
    let mut hasher = Sha256::new();
    let (mut bytes, mut lines, mut bad_line, mut last) = (0u64, 0u64, None, b'\n');
    let mut line = Vec::with_capacity(4096);
    loop {
        line.clear();
        let n = reader.read_until(b'\n', &mut line)?;
        if n == 0 {
            break;
        }
        hasher.update(&line);
        bytes += n as u64;
        lines += 1;
        last = line[n - 1];
        let body = line.strip_suffix(b"\n").unwrap_or(&line);
        if bad_line.is_none() && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
            bad_line = Some(lines);
        }
    }
    Ok(Scan { bytes, sha256: hex::encode(hasher.finalize()), lines, bad_line, ends_with_newline: last == b'\n' })
}

fn hash_file(path: &Path) -> std::io::Result<(u64, String)> {
    let mut file: File = fsutil::open_nofollow(path)?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut bytes = 0u64;
    loop {
        let n = file.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        bytes += n as u64;
    }
    Ok((bytes, hex::encode(hasher.finalize())))
}

fn check_csv(dir: &Path, entry: &FileEntry, problems: &mut Vec<String>) {
    let path = dir.join(&entry.file);
    match hash_file(&path) {
        Err(e) => return problems.push(io_problem(&path, &e)),
        Ok((bytes, sha)) => {
            if bytes != entry.bytes {
                problems.push(format!("{} is {bytes} bytes, the manifest says {}", entry.file, entry.bytes));
            } else if sha != entry.sha256 {
                problems.push(format!("{} has been altered (sha256 differs)", entry.file));
            }
        }
    }
    if let Ok(file) = fsutil::open_nofollow(&path)
        && let mut reader = csv::ReaderBuilder::new().flexible(false).from_reader(file)
        && let Some(Err(e)) = reader.records().find(Result::is_err)
    {
        problems.push(format!("{} is not well-formed CSV: {e}", entry.file));
    }
}

/// Every kept picture is there, unaltered: `media/<name>` with its size and SHA-256.
fn check_media(dir: &Path, manifest: &Manifest) -> Vec<String> {
    let mut problems = Vec::new();
    for m in &manifest.media {
        let inside = m.file.strip_prefix("media/").is_some_and(plain_name);
        if !inside {
            problems.push(format!("the manifest names a picture outside media/: {}", m.file));
            continue;
        }
        let path = dir.join(&m.file);
        match hash_file(&path) {
            Err(e) => problems.push(io_problem(&path, &e)),
            Ok((bytes, _)) if bytes != m.bytes => {
                problems.push(format!("{} is {bytes} bytes, the manifest says {}", m.file, m.bytes));
            }
            Ok((_, sha)) if sha != m.sha256 => problems.push(format!("{} has been altered (sha256 differs)", m.file)),
            Ok(_) => {}
        }
    }
    let listed: std::collections::HashSet<&str> = manifest.media.iter().map(|m| m.file.as_str()).collect();
    if let Ok(entries) = std::fs::read_dir(dir.join("media")) {
        let mut extra: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .map(|n| format!("media/{n}"))
            .filter(|n| !listed.contains(n.as_str()))
            .collect();
        extra.sort();
        problems.extend(extra.into_iter().map(|n| format!("{n} is in the export directory but not in its manifest")));
    }
    problems
}

/// A manifest names files inside its own directory: a name that could lead out of it (a hand-edited
/// `../../etc/passwd`) is a problem, never a path to read.
fn plain_name(name: &str) -> bool {
    !name.is_empty() && name != "." && name != ".." && Path::new(name).file_name() == Some(name.as_ref())
}

fn check_dataset(dir: &Path, entry: &super::manifest::DatasetEntry, allow_skipped: bool) -> DatasetReport {
    let mut problems = Vec::new();
    if let Some(skipped) = &entry.skipped {
        if !allow_skipped {
            let scope = skipped.scope.as_deref().map(|s| format!(" (scope {s})")).unwrap_or_default();
            problems.push(format!(
                "not exported{scope}: {}; export again once the credentials may read it, or pass --allow-unexported",
                skipped.reason
            ));
        }
        return DatasetReport { name: entry.name.clone(), ok: problems.is_empty(), problems };
    }
    let names = std::iter::once(entry.file.as_str()).chain(entry.csv_files().map(|c| c.file.as_str()));
    let outside: Vec<&str> = names.filter(|n| !plain_name(n)).collect();
    if !outside.is_empty() {
        problems.push(format!("the manifest names files outside the export: {}", outside.join(", ")));
        return DatasetReport { name: entry.name.clone(), ok: false, problems };
    }
    let path = dir.join(&entry.file);
    match scan_ndjson(&path) {
        Err(e) => problems.push(io_problem(&path, &e)),
        Ok(scan) => {
            if scan.bytes != entry.bytes {
                problems.push(format!("{} is {} bytes, the manifest says {}", entry.file, scan.bytes, entry.bytes));
            }
            if scan.lines != entry.records {
                problems
                    .push(format!("{} has {} records, the manifest says {}", entry.file, scan.lines, entry.records));
            }
            if scan.sha256 != entry.sha256 {
                problems.push(format!("{} has been altered (sha256 differs from the manifest)", entry.file));
            }
            if let Some(n) = scan.bad_line {
                problems.push(format!("{} line {n} is not valid JSON", entry.file));
            }
            if !scan.ends_with_newline {
                problems.push(format!("{} ends in the middle of a record", entry.file));
            }
        }
    }
    for csv in entry.csv_files() {
        check_csv(dir, csv, &mut problems);
    }
    DatasetReport { name: entry.name.clone(), ok: problems.is_empty(), problems }
}

/// Data files in `dir` that the manifest does not list: a manifest with datasets cut out of it
/// would otherwise verify while the directory holds more than it accounts for.
fn unlisted(dir: &Path, manifest: &Manifest) -> Vec<String> {
    let listed: std::collections::HashSet<&str> = manifest
        .datasets
        .iter()
        .flat_map(|d| std::iter::once(d.file.as_str()).chain(d.csv_files().map(|c| c.file.as_str())))
        .collect();
    let Ok(entries) = std::fs::read_dir(dir) else { return Vec::new() };
    let mut names: Vec<String> = entries
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|n| (n.ends_with(".ndjson") || n.ends_with(".csv")) && !listed.contains(n.as_str()))
        .collect();
    names.sort();
    names.into_iter().map(|n| format!("{n} is in the export directory but not in its manifest")).collect()
}

/// Symbolic links in the export directory (and its `media/`): an export is only the regular files
/// inside it, so a link is a problem wherever it points (a copy swapped for a link to a file that
/// may change, or to something the export never held).
fn symlinks(dir: &Path) -> Vec<String> {
    let mut found = Vec::new();
    for sub in [dir.to_owned(), dir.join("media")] {
        let Ok(entries) = std::fs::read_dir(&sub) else { continue };
        for entry in entries.filter_map(|e| e.ok()) {
            if entry.file_type().is_ok_and(|t| t.is_symlink()) {
                let name = entry.path().strip_prefix(dir).unwrap_or(&entry.path()).display().to_string();
                found.push(format!(
                    "{name} is a symbolic link: an export holds only regular files inside its directory"
                ));
            }
        }
    }
    found.sort();
    found
}

/// What is wrong with the manifest as a whole: a writer we do not know, a schema newer than this
/// version reads, or a dataset or file listed twice (which would count its records twice).
fn manifest_problems(manifest: &Manifest) -> Vec<String> {
    let mut problems = Vec::new();
    if manifest.tool.name != TOOL_NAME {
        problems.push(format!("the manifest was written by {:?}, not {TOOL_NAME}", manifest.tool.name));
    }
    if manifest.schema_version != 1 {
        problems.push(format!(
            "the manifest has schema_version {}; this version of shopunlink reads version 1 only",
            manifest.schema_version
        ));
    }
    let mut names = std::collections::HashSet::new();
    let mut files = std::collections::HashSet::new();
    for d in &manifest.datasets {
        if !names.insert(d.name.as_str()) {
            problems.push(format!("the manifest lists the dataset {} more than once", d.name));
        }
        for file in std::iter::once(&d.file).chain(d.csv_files().map(|c| &c.file)) {
            if !files.insert(file.as_str()) {
                problems.push(format!("the manifest lists the file {file} more than once"));
            }
        }
    }
    problems
}

/// Verifies the export in `dir`. Problems are reported in the result; only an unreadable
/// directory is an error.
/// Verifies the export in `dir`. A dataset the export had to skip (the credentials may not read
/// it) is a problem unless `allow_skipped` (`--allow-unexported`).
pub fn verify(dir: &Path, allow_skipped: bool) -> Result<Report> {
    if !dir.is_dir() {
        return Err(Error::verification(format!("{} is not a directory", dir.display()))
            .with_hint("pass the directory `shopunlink export` wrote (see its --out)"));
    }
    let mut report = Report {
        schema_version: 1,
        dir: dir.to_owned(),
        ok: false,
        problems: Vec::new(),
        datasets: Vec::new(),
        manifest_sha256: None,
        manifest: None,
        unfinished: false,
    };
    let (manifest, sha) = match Manifest::read(dir) {
        Ok(Some(found)) => found,
        Ok(None) => {
            report.unfinished = dir.join(super::checkpoint::DIR).exists();
            report.problems.push(if report.unfinished {
                "manifest.json is missing: this export never finished (rerun the export command to resume it)".into()
            } else {
                "manifest.json is missing: this is not a finished shopunlink export".into()
            });
            return Ok(report);
        }
        Err(e) => {
            report.problems.push(e.to_string());
            return Ok(report);
        }
    };
    report.problems.extend(manifest_problems(&manifest));
    report.problems.extend(symlinks(dir));
    if !manifest.complete {
        report.problems.push("the manifest says the export is not complete".into());
    }
    report.datasets = manifest.datasets.iter().map(|d| check_dataset(dir, d, allow_skipped)).collect();
    report.problems.extend(check_media(dir, &manifest));
    report.problems.extend(unlisted(dir, &manifest));
    report.ok = report.problems.is_empty() && report.datasets.iter().all(|d| d.ok);
    report.manifest_sha256 = Some(sha);
    report.manifest = Some(manifest);
    Ok(report)
}
