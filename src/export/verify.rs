//! `verify DIR`: re-read every file of an export and compare it with the manifest.
//!
//! Checks, per dataset: the file exists, its size and SHA-256 match, it has as many lines as
//! records claimed, every line is one JSON value, and the file ends with a newline. CSV files are
//! checked for size, SHA-256 and a constant column count. The manifest must say `complete`.
//!
//! Every file is read once, several at a time, each hashed and checked side by side ([`scan`]);
//! the report then reads like a file-by-file pass, every problem of every dataset named.

mod csv_shape;
mod scan;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use self::scan::{Check, Job, Scan};
use super::manifest::{DatasetEntry, FileEntry, Manifest, TOOL_NAME};
use crate::error::{Error, Result};

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

/// What reading the files found, by file name and check.
type Scans = HashMap<(String, Check), std::io::Result<Scan>>;

fn io_problem(path: &Path, e: &std::io::Error) -> String {
    if e.kind() == std::io::ErrorKind::NotFound {
        format!("{} is missing", path.file_name().unwrap_or_default().to_string_lossy())
    } else {
        format!("cannot read {}: {e}", path.display())
    }
}

/// The files a dataset's check reads: none for a skipped dataset or one naming files outside the
/// export (those are problems in themselves).
fn dataset_files(entry: &DatasetEntry) -> Vec<(&str, Check, u64)> {
    let files: Vec<(&str, Check, u64)> = std::iter::once((entry.file.as_str(), Check::Ndjson, entry.bytes))
        .chain(entry.csv_files().map(|c| (c.file.as_str(), Check::Csv, c.bytes)))
        .collect();
    if entry.skipped.is_some() || !files.iter().all(|(name, _, _)| plain_name(name)) {
        return Vec::new();
    }
    files
}

/// Reads every file the checks need, side by side (at most one per core at a time).
fn scan_files(dir: &Path, manifest: &Manifest) -> Scans {
    let mut wanted: Vec<(String, Check, u64)> = Vec::new();
    for entry in &manifest.datasets {
        wanted.extend(dataset_files(entry).into_iter().map(|(name, check, size)| (name.to_owned(), check, size)));
    }
    for m in manifest.media.iter().filter(|m| media_inside(&m.file)) {
        wanted.push((m.file.clone(), Check::Hash, m.bytes));
    }
    wanted.sort();
    wanted.dedup_by(|a, b| (&a.0, a.1) == (&b.0, b.1));
    let jobs: Vec<Job> =
        wanted.iter().map(|(name, check, size)| Job { path: dir.join(name), check: *check, size: *size }).collect();
    let threads = std::thread::available_parallelism().map_or(1, std::num::NonZero::get);
    let scans = scan::scan_all(&jobs, threads);
    wanted.into_iter().map(|(name, check, _)| (name, check)).zip(scans).collect()
}

fn scanned<'s>(scans: &'s Scans, name: &str, check: Check) -> &'s std::io::Result<Scan> {
    static NOT_READ: std::sync::OnceLock<std::io::Result<Scan>> = std::sync::OnceLock::new();
    scans
        .get(&(name.to_owned(), check))
        .unwrap_or_else(|| NOT_READ.get_or_init(|| Err(std::io::Error::other("the file was not read"))))
}

fn check_csv(dir: &Path, entry: &FileEntry, scans: &Scans, problems: &mut Vec<String>) {
    let path = dir.join(&entry.file);
    match scanned(scans, &entry.file, Check::Csv) {
        Err(e) => problems.push(io_problem(&path, e)),
        Ok(scan) => {
            if scan.bytes != entry.bytes {
                problems.push(format!("{} is {} bytes, the manifest says {}", entry.file, scan.bytes, entry.bytes));
            } else if scan.sha256 != entry.sha256 {
                problems.push(format!("{} has been altered (sha256 differs)", entry.file));
            }
            if let Some(e) = &scan.csv_error {
                problems.push(format!("{} is not well-formed CSV: {e}", entry.file));
            }
        }
    }
}

fn media_inside(file: &str) -> bool {
    file.strip_prefix("media/").is_some_and(plain_name)
}

/// Every kept picture is there, unaltered: `media/<name>` with its size and SHA-256.
fn check_media(dir: &Path, manifest: &Manifest, scans: &Scans) -> Vec<String> {
    let mut problems = Vec::new();
    for m in &manifest.media {
        if !media_inside(&m.file) {
            problems.push(format!("the manifest names a picture outside media/: {}", m.file));
            continue;
        }
        let path = dir.join(&m.file);
        match scanned(scans, &m.file, Check::Hash) {
            Err(e) => problems.push(io_problem(&path, e)),
            Ok(scan) if scan.bytes != m.bytes => {
                problems.push(format!("{} is {} bytes, the manifest says {}", m.file, scan.bytes, m.bytes));
            }
            Ok(scan) if scan.sha256 != m.sha256 => {
                problems.push(format!("{} has been altered (sha256 differs)", m.file));
            }
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

fn check_dataset(dir: &Path, entry: &DatasetEntry, allow_skipped: bool, scans: &Scans) -> DatasetReport {
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
    match scanned(scans, &entry.file, Check::Ndjson) {
        Err(e) => problems.push(io_problem(&path, e)),
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
        check_csv(dir, csv, scans, &mut problems);
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
    let scans = scan_files(dir, &manifest);
    report.datasets = manifest.datasets.iter().map(|d| check_dataset(dir, d, allow_skipped, &scans)).collect();
    report.problems.extend(check_media(dir, &manifest, &scans));
    report.problems.extend(unlisted(dir, &manifest));
    report.ok = report.problems.is_empty() && report.datasets.iter().all(|d| d.ok);
    report.manifest_sha256 = Some(sha);
    report.manifest = Some(manifest);
    Ok(report)
}

#[cfg(test)]
mod tests {
    use sha2::{Digest, Sha256};

    use super::*;
    use crate::export::manifest::{ShopRef, Tool};
    use crate::export::media::MediaEntry;

    fn file(dir: &Path, name: &str, bytes: &[u8]) -> FileEntry {
        std::fs::write(dir.join(name), bytes).unwrap();
        FileEntry { file: name.into(), bytes: bytes.len() as u64, sha256: hex::encode(Sha256::digest(bytes)) }
    }

    /// An export of three datasets (NDJSON and CSV each) and one picture.
    fn export(dir: &Path) {
        let mut datasets = Vec::new();
        for name in ["alpha", "beta", "gamma"] {
            let lines: String = (0..3000).map(|i| format!("{{\"id\":\"{i}\",\"name\":\"{name} {i}\"}}\n")).collect();
            let ndjson = file(dir, &format!("{name}.ndjson"), lines.as_bytes());
            let rows: String = std::iter::once("id,name\n".to_owned())
                .chain((0..3000).map(|i| format!("{i},\"{name}, {i}\"\n")))
                .collect();
            let csv = file(dir, &format!("{name}.csv"), rows.as_bytes());
            datasets.push(DatasetEntry {
                name: name.into(),
                file: ndjson.file,
                records: 3000,
                bytes: ndjson.bytes,
                sha256: ndjson.sha256,
                csv: Some(csv),
                csv_tables: Vec::new(),
                skipped: None,
            });
        }
        std::fs::create_dir(dir.join("media")).unwrap();
        let picture = file(dir, "media/p.png", b"not really a png");
        let manifest = Manifest {
            schema_version: 1,
            tool: Tool { name: TOOL_NAME.into(), version: "0".into() },
            platform: "sandbox".into(),
            profile: "default".into(),
            shop: ShopRef { id: "1".into(), name: "shop".into(), region: "US".into() },
            range: Default::default(),
            format: "both".into(),
            started_at: chrono::Utc::now(),
            finished_at: chrono::Utc::now(),
            complete: true,
            datasets,
            media: vec![MediaEntry {
                file: picture.file,
                bytes: picture.bytes,
                sha256: picture.sha256,
                url: "sandbox://p".into(),
                records: vec!["1".into()],
            }],
            media_missing: Vec::new(),
        };
        manifest.write(dir).unwrap();
    }

    #[test]
    fn every_tampered_dataset_is_named_with_what_is_wrong() {
        let dir = tempfile::tempdir().unwrap();
        let dir = dir.path();
        export(dir);
        let report = verify(dir, false).unwrap();
        assert!(report.ok, "{report:?}");

        // alpha: one byte flipped inside a string (still JSON); beta: a CSV row lost a column;
        // gamma: a record cut in half at the end; the picture: replaced.
        let alpha = dir.join("alpha.ndjson");
        let mut bytes = std::fs::read(&alpha).unwrap();
        let at = bytes.len() / 2 + 5;
        bytes[at] = if bytes[at] == b'x' { b'y' } else { b'x' };
        std::fs::write(&alpha, bytes).unwrap();
        let beta = dir.join("beta.csv");
        let text = std::fs::read_to_string(&beta).unwrap().replacen("7,\"beta, 7\"\n", "7\n", 1);
        std::fs::write(&beta, text).unwrap();
        let gamma = dir.join("gamma.ndjson");
        let mut bytes = std::fs::read(&gamma).unwrap();
        bytes.truncate(bytes.len() - 10);
        std::fs::write(&gamma, bytes).unwrap();
        std::fs::write(dir.join("media/p.png"), b"not really a PNG").unwrap();

        let report = verify(dir, false).unwrap();
        assert!(!report.ok);
        let problems = |name: &str| report.datasets.iter().find(|d| d.name == name).unwrap().problems.clone();
        assert_eq!(problems("alpha"), ["alpha.ndjson has been altered (sha256 differs from the manifest)"]);
        let beta = problems("beta");
        assert_eq!(beta.len(), 2, "{beta:?}");
        assert!(beta[0].starts_with("beta.csv is "), "{beta:?}");
        assert!(
            beta[1].starts_with("beta.csv is not well-formed CSV: ") && beta[1].contains("found record with 1 field")
        );
        let gamma = problems("gamma");
        assert_eq!(gamma.len(), 4, "{gamma:?}");
        assert!(gamma[0].starts_with("gamma.ndjson is ") && gamma[0].contains("bytes, the manifest says"));
        assert_eq!(gamma[1], "gamma.ndjson has been altered (sha256 differs from the manifest)");
        assert_eq!(gamma[2], "gamma.ndjson line 3000 is not valid JSON");
        assert_eq!(gamma[3], "gamma.ndjson ends in the middle of a record");
        assert!(!gamma.iter().any(|p| p.contains("records")), "the cut record still counts as a line: {gamma:?}");
        assert_eq!(report.problems, ["media/p.png has been altered (sha256 differs)"]);
    }
}
