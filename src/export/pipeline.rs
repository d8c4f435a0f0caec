//! The export pipeline: platform pages → per-dataset writers → checkpoint → manifest.
//!
//! Datasets run as separate tasks (at most `concurrency` at once). Each pulls one page at a time
//! and writes it before asking for the next, so memory holds a page per dataset however large
//! the shop. Every few megabytes (or seconds) a dataset commits: its files are flushed and synced,
//! and only then does the checkpoint move forward. On Ctrl-C or an error, every task stops at its
//! next page boundary, commits, and the run is resumable with the same command.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use chrono::Utc;

mod reconcile;
mod split;
mod windows;

use super::checkpoint::{self, Checkpoint, DatasetProgress, Fingerprint};
use super::csv::{CsvPipe, CsvWriter};
use super::hashed_file::HashedFile;
use super::manifest::{self, DatasetEntry, Manifest, ShopRef, Tool};
use super::{ExportPlan, Observer, media};
use crate::error::{Error, ErrorKind, Result};
use crate::fsutil;
use crate::interrupt;
use crate::lock::{self, Lock};
use crate::platform::{Dataset, DatasetSpec, PageRequest, Platform};

/// Commit (flush + fsync + checkpoint) after `ExportPlan::commit_bytes` new bytes or this much
/// time, whichever comes first. Each commit costs an fsync (tens of milliseconds on a slow disk);
/// each one saves re-fetching everything before it after a crash.
const COMMIT_INTERVAL: Duration = Duration::from_secs(5);

/// What an export run ended with.
#[derive(Debug)]
pub enum Outcome {
    /// The export was written (or finished) now.
    Written {
        /// The manifest.
        manifest: Manifest,
        /// SHA-256 of `manifest.json`.
        sha256: String,
        /// True when an earlier interrupted run was continued.
        resumed: bool,
    },
    /// The directory already held this export, complete; nothing was done.
    AlreadyComplete {
        /// The manifest found.
        manifest: Manifest,
        /// SHA-256 of `manifest.json`.
        sha256: String,
    },
}

fn fingerprint(plan: &ExportPlan) -> Fingerprint {
    Fingerprint {
        platform: plan.platform.clone(),
        shop_id: plan.shop.id.clone(),
        datasets: plan.datasets.iter().map(|d| d.to_string()).collect(),
        since: plan.range.since.map(|t| t.to_rfc3339()),
        until: plan.range.until.map(|t| t.to_rfc3339()),
        format: plan.format.as_str().into(),
    }
}

/// True when `plan.dir` holds an unfinished export started with the same arguments as `plan`,
/// i.e. running `plan` there would resume it.
pub fn resumes(plan: &ExportPlan) -> bool {
    !plan.dir.join(manifest::FILE).exists()
        && matches!(Checkpoint::load(&plan.dir), Ok(Some(ckpt)) if ckpt.fingerprint == fingerprint(plan))
}

fn same_request(manifest: &Manifest, plan: &ExportPlan) -> bool {
    manifest.platform == plan.platform
        && manifest.shop.id == plan.shop.id
        && manifest.range == plan.range
        && manifest.format == plan.format.as_str()
        && manifest.datasets.iter().map(|d| d.name.as_str()).eq(plan.datasets.iter().map(|d| d.as_str()))
}

/// Files any export of ours may have written in `dir` (whatever datasets the earlier run chose), so
/// `--fresh` removes ours and nothing else.
fn our_files(plan: &ExportPlan) -> Vec<String> {
    let mut files = vec![manifest::FILE.to_owned()];
    for spec in &plan.specs {
        files.push(format!("{}.ndjson", spec.name));
        files.extend(super::csv::file_names(spec));
    }
    files
}

/// The lock file of an export directory. It sits outside `.shopunlink/` (removed when the export
/// finishes) and is never deleted: deleting a lock file another process has open would let two
/// processes each lock a different file of the same name.
pub const LOCK_FILE: &str = ".shopunlink.lock";

/// Takes the export directory's lock, or refuses at once naming the process that holds it: two
/// runs appending to the same files would interleave their records.
fn lock_dir(dir: &Path) -> Result<Lock> {
    match Lock::try_take(&dir.join(LOCK_FILE))? {
        Ok(lock) => Ok(lock),
        Err(busy) => Err(Error::internal(format!(
            "another export is writing into {} ({})",
            dir.display(),
            lock::describe(&busy)
        ))
        .with_hint("wait for that export to finish (rerun this command then to reuse it), or choose another --out")
        .with_detail("dir", dir.display().to_string())
        .with_detail("holder_pid", lock::pid(&busy))),
    }
}

/// What the records come from beyond platform and shop: the shop's last data change as the
/// platform stamps it (a sandbox reset), which a resume must not cross.
fn source(plan: &ExportPlan) -> Option<String> {
    plan.shop.data_changed_at.map(|t| t.to_rfc3339())
}

/// `--fresh` removes `media/` only when it holds nothing but pictures of ours (named by their
/// SHA-256), so a folder someone else put there is never emptied.
fn remove_our_media(dir: &Path) -> Result<()> {
    let media = dir.join(media::DIR);
    let Ok(entries) = std::fs::read_dir(&media) else { return Ok(()) };
    let ours = |name: &str| {
        let stem = name.split('.').next().unwrap_or("");
        stem.len() == 64 && stem.bytes().all(|b| b.is_ascii_hexdigit())
    };
    let names: Vec<String> = entries.filter_map(|e| e.ok()?.file_name().into_string().ok()).collect();
    if names.iter().all(|n| ours(n)) {
        std::fs::remove_dir_all(&media).map_err(|e| Error::io("cannot remove", &media, e))?;
    }
    Ok(())
}

/// Whether `dir` (listed as `entries`) holds an export of ours, finished or not: a checkpoint
/// directory or lock file, or a `manifest.json` written by shopunlink. Any other `manifest.json` (a web app's,
/// say) makes the directory someone else's, so `--fresh` never deletes in it.
fn holds_our_export(dir: &Path, entries: &[String]) -> bool {
    if entries.iter().any(|n| n == checkpoint::DIR || n == LOCK_FILE) {
        return true;
    }
    entries.iter().any(|n| n == manifest::FILE)
        && matches!(manifest::Manifest::read(dir), Ok(Some((m, _))) if m.tool.name == manifest::TOOL_NAME)
}

/// The names in `dir` (none if it does not exist yet).
fn entries(dir: &Path) -> Result<Vec<String>> {
    match std::fs::read_dir(dir) {
        Ok(rd) => Ok(rd.filter_map(|e| e.ok()).map(|e| e.file_name().to_string_lossy().into_owned()).collect()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
        Err(e) => Err(Error::io("cannot read the export directory", dir, e)),
    }
}

/// Refuses a directory that holds something other than an export of ours, before anything is
/// created or locked in it.
fn refuse_foreign(dir: &Path) -> Result<()> {
    let entries = entries(dir)?;
    if !entries.is_empty() && !holds_our_export(dir, &entries) {
        return Err(Error::usage(format!("{} exists and is not a shopunlink export", dir.display()))
            .with_hint("choose a new or empty directory with --out; nothing was written")
            .with_detail("path", dir.display().to_string()));
    }
    Ok(())
}

/// Decides what to do with the output directory (created and locked): start, resume, report
/// complete, or refuse.
fn prepare(plan: &ExportPlan) -> Result<Result<Checkpoint, Outcome>> {
    let dir = &plan.dir;
    let fresh_checkpoint = || Checkpoint {
        fingerprint: fingerprint(plan),
        started_at: Utc::now(),
        datasets: plan.datasets.iter().map(|d| (d.to_string(), DatasetProgress::default())).collect(),
        source: source(plan),
        seal: None,
    };
    refuse_foreign(dir)?;
    if plan.fresh {
        for name in our_files(plan) {
            match std::fs::remove_file(dir.join(&name)) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(Error::io("cannot remove", &dir.join(&name), e));
                }
                _ => {}
            }
        }
        let _ = std::fs::remove_dir_all(dir.join(checkpoint::DIR));
        remove_our_media(dir)?;
    } else if let Some(ckpt) = Checkpoint::load(dir)? {
        if ckpt.fingerprint != fingerprint(plan) {
            return Err(Error::usage(format!(
                "{} holds an unfinished export started with different arguments",
                dir.display()
            ))
            .with_cause(format!("it was started with {}", serde_json::to_string(&ckpt.fingerprint).unwrap_or_default()))
            .with_hint("rerun with the original arguments to continue it, or add --fresh to start over"));
        }
        if ckpt.source != source(plan) {
            return Err(Error::usage(format!(
                "{} holds an unfinished export of the shop as it was before its data changed",
                dir.display()
            ))
            .with_cause(format!(
                "the export was taken from data stamped {}, the shop's is now stamped {}",
                ckpt.source.as_deref().unwrap_or("(none)"),
                source(plan).as_deref().unwrap_or("(none)")
            ))
            .with_hint("add --fresh to export again: continuing would mix records of two different states"));
        }
        return Ok(Ok(ckpt));
    } else if let Some((manifest, sha256)) = manifest::Manifest::read(dir)? {
        let stale = plan.shop.data_changed_at.filter(|c| manifest.started_at < *c);
        if let Some(changed) = stale {
            return Err(Error::usage(format!(
                "{} holds an export from before the shop's data changed ({})",
                dir.display(),
                changed.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
            ))
            .with_hint("add --fresh to export again into it, or choose another --out"));
        }
        if manifest.complete && same_request(&manifest, plan) {
            return Ok(Err(Outcome::AlreadyComplete { manifest, sha256 }));
        }
        return Err(Error::usage(format!("{} already holds a different export", dir.display()))
            .with_hint("choose another --out, or add --fresh to replace it"));
    }
    fsutil::create_private_dir(dir)?;
    fsutil::create_private_dir(&dir.join(checkpoint::DIR))?;
    let ckpt = fresh_checkpoint();
    ckpt.save(dir)?;
    Ok(Ok(ckpt))
}

/// Shared state of one run.
struct Run {
    platform: Arc<dyn Platform>,
    plan: ExportPlan,
    checkpoint: Mutex<Checkpoint>,
    observer: Arc<dyn Observer>,
    stop: AtomicBool,
}

impl Run {
    fn progress(&self, dataset: Dataset) -> DatasetProgress {
        self.checkpoint
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .datasets
            .get(dataset.as_str())
            .cloned()
            .unwrap_or_default()
    }

    fn record(&self, dataset: Dataset, mut progress: DatasetProgress) -> Result<()> {
        let mut ckpt = self.checkpoint.lock().unwrap_or_else(|p| p.into_inner());
        // The writers know nothing of windows: the ones chosen at the start stay.
        if progress.windows.is_empty()
            && let Some(old) = ckpt.datasets.get(dataset.as_str())
        {
            progress.windows = old.windows.clone();
        }
        ckpt.datasets.insert(dataset.to_string(), progress);
        ckpt.save(&self.plan.dir)
    }

    fn should_stop(&self) -> bool {
        self.stop.load(Ordering::SeqCst) || interrupt::requested()
    }
}

/// The files of one dataset being written: the NDJSON on the calling thread, the CSV tables (if
/// any) on a thread of their own, fed the same pages.
struct Writers {
    ndjson: HashedFile,
    csv: Option<CsvPipe>,
    records: u64,
}

impl Writers {
    /// Opens the dataset's files; resuming, each kept prefix must first prove it is the one the
    /// checkpoint recorded (hash and record count), or nothing is appended.
    fn open(dir: &Path, spec: &DatasetSpec, progress: &DatasetProgress, with_csv: bool) -> Result<Writers> {
        let path = dir.join(format!("{}.ndjson", spec.name));
        let ndjson = if progress.bytes == 0 && progress.records == 0 {
            HashedFile::create(&path)?
        } else {
            HashedFile::resume_checked(&path, progress.bytes, progress.sha256.as_deref(), Some(progress.records))?
        };
        let csv = if with_csv { Some(CsvPipe::spawn(CsvWriter::open(dir, spec, progress)?)?) } else { None };
        Ok(Writers { ndjson, csv, records: progress.records })
    }

    fn write(&mut self, records: Vec<crate::platform::RawRecord>) -> Result<()> {
        for r in &records {
            let write = self.ndjson.write_all(r.as_str().as_bytes()).and_then(|()| self.ndjson.write_all(b"\n"));
            write.map_err(|e| Error::io("cannot write", self.ndjson.path(), e))?;
        }
        self.records += records.len() as u64;
        if let Some(csv) = &mut self.csv {
            csv.write(records)?;
        }
        Ok(())
    }

    /// Makes everything durable and returns the progress a checkpoint may now claim: the CSV
    /// thread commits (after the pages sent before) while the NDJSON is synced here.
    fn commit(&mut self, cursor: Option<String>, done: bool) -> Result<DatasetProgress> {
        if let Some(csv) = &mut self.csv {
            csv.commit()?;
        }
        let bytes = self.ndjson.commit()?;
        let mut csv_bytes = BTreeMap::new();
        let mut csv_sha256 = BTreeMap::new();
        if let Some(csv) = &mut self.csv {
            for file in csv.committed()? {
                csv_sha256.insert(file.file.clone(), file.sha256);
                csv_bytes.insert(file.file, file.bytes);
            }
        }
        Ok(DatasetProgress {
            records: self.records,
            bytes,
            sha256: Some(self.ndjson.digest()),
            csv_bytes,
            csv_sha256,
            cursor,
            done,
            windows: Vec::new(),
        })
    }

    fn finish(self, dataset: Dataset) -> Result<DatasetEntry> {
        let records = self.records;
        let mut csv_files = match self.csv {
            Some(csv) => csv.finish()?,
            None => Vec::new(),
        };
        // The writer lists the main table first; the rest are the nested lists' tables.
        let csv = (!csv_files.is_empty()).then(|| csv_files.remove(0));
        let (bytes, sha256) = self.ndjson.finish()?;
        Ok(DatasetEntry {
            name: dataset.to_string(),
            file: format!("{dataset}.ndjson"),
            records,
            bytes,
            sha256,
            csv,
            csv_tables: csv_files,
            skipped: None,
        })
    }
}

/// How long a signalled export may take to checkpoint before the process exits (every
/// checkpoint is atomic, so exiting mid-write loses nothing that was claimed).
const STOP_GRACE_SECS: u64 = 10;

/// A fetched page on its way to the writer, with the cursor that continues after it.
struct Fetched {
    page: crate::platform::Page,
    cursor_after: Option<String>,
    last: bool,
}

/// Windows a resumed export reads at once (the number chosen at its start is not kept).
const RESUMED_CHAINS: usize = 8;

/// Pages in flight between the fetcher and the writer of one dataset: enough that the fetcher keeps
/// going while the writer waits on a checkpoint's fsync, few enough that memory stays flat (a few
/// MB per dataset).
const IN_FLIGHT: usize = 8;

/// Exports one dataset to the end, or to the first stop request.
///
/// Fetching and writing overlap: this task asks the platform for pages while a blocking thread
/// writes, hashes and commits the previous ones, so the network (or the sandbox's generator) and
/// the disk work at the same time.
async fn export_dataset(run: Arc<Run>, dataset: Dataset) -> Result<DatasetEntry> {
    let mut progress = run.progress(dataset);
    let fresh = progress.records == 0 && progress.cursor.is_none() && !progress.done;
    // A resumed export reads the windows it chose; how many at once is not kept (the round trip
    // may have changed anyway), and the limiter paces them whatever their number.
    let mut chains = progress.windows.len().min(RESUMED_CHAINS);
    // The first pages the counting brought, window by window (none on a resume).
    let mut first_pages = Vec::new();
    if fresh && progress.windows.is_empty() {
        let split = match split::plan(run.platform.as_ref(), &run.plan.shop, dataset, &run.plan.range, Utc::now()).await
        {
            Ok(split) => split,
            Err(e) if e.is_missing_scope() => return skipped(&run, dataset, &e),
            Err(e) => {
                run.stop.store(true, Ordering::SeqCst);
                return Err(e.context(format!("the {dataset} export failed")));
            }
        };
        first_pages = split.first_pages;
        if split.windows.len() > 1 {
            chains = split.chains;
            progress.windows = split.windows;
            run.record(dataset, progress.clone())?;
        }
    }
    let writers = Writers::open(&run.plan.dir, &run.plan.spec(dataset), &progress, run.plan.format.has_csv())?;
    // The new files' directory entries must be durable before a checkpoint counts bytes in them.
    fsutil::sync_dir(&run.plan.dir);
    if progress.done {
        run.observer.start(dataset, progress.records, Some(progress.records));
        run.observer.finish(dataset, progress.records, progress.bytes);
        return writers.finish(dataset);
    }
    run.observer.start(dataset, progress.records, None);
    let (tx, rx) = tokio::sync::mpsc::channel::<Fetched>(IN_FLIGHT);
    let writer = {
        let run = run.clone();
        let cursor = progress.cursor.clone();
        tokio::task::spawn_blocking(move || write_pages(&run, dataset, writers, cursor, rx))
    };
    let fetched = if progress.windows.len() > 1 {
        windows::fetch(&run, dataset, &progress.windows, first_pages, chains, progress.cursor, tx).await
    } else {
        let first_page = first_pages.into_iter().next().flatten();
        fetch_pages(&run, dataset, progress.cursor, progress.records, first_page, tx).await
    };
    let written = writer.await.unwrap_or_else(|e| Err(Error::internal("an export writer panicked").with_cause(e)));
    match (fetched, written) {
        (_, Ok(Some(entry))) => Ok(entry),
        (Err(e), _) if e.is_missing_scope() && fresh => skipped(&run, dataset, &e),
        (Err(e), _) => Err(e),
        (Ok(()), Err(e)) => Err(e),
        (Ok(()), Ok(None)) => Err(Error::interrupted(format!("the {dataset} export stopped"))),
    }
}

/// The entry of a dataset the credentials may not read: its empty files are removed (they are
/// ours, just created), and the manifest says why it is missing and which scope would allow it.
fn skipped(run: &Run, dataset: Dataset, e: &Error) -> Result<DatasetEntry> {
    let spec = run.plan.spec(dataset);
    let files = std::iter::once(format!("{dataset}.ndjson")).chain(super::csv::file_names(&spec));
    for name in files {
        match std::fs::remove_file(run.plan.dir.join(&name)) {
            Ok(()) => {}
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => {}
            Err(err) => return Err(Error::io("cannot remove", &run.plan.dir.join(&name), err)),
        }
    }
    let scope = e.detail("scope").and_then(serde_json::Value::as_str).map(str::to_owned);
    tracing::warn!("skipping {dataset}: {}", e.message());
    run.observer.finish(dataset, 0, 0);
    Ok(DatasetEntry {
        name: dataset.to_string(),
        file: format!("{dataset}.ndjson"),
        records: 0,
        bytes: 0,
        sha256: String::new(),
        csv: None,
        csv_tables: Vec::new(),
        skipped: Some(super::manifest::Skipped {
            reason: format!("the credentials may not read {dataset}: {}", e.message()),
            scope,
        }),
    })
}

/// Pulls pages from the platform until the end, a stop request or an error.
async fn fetch_pages(
    run: &Run,
    dataset: Dataset,
    mut cursor: Option<String>,
    already: u64,
    mut first_page: Option<crate::platform::Page>,
    tx: tokio::sync::mpsc::Sender<Fetched>,
) -> Result<()> {
    let mut first = true;
    let mut chain = reconcile::Chain::new(dataset, Some(already));
    loop {
        if run.should_stop() {
            return Ok(());
        }
        let page = match next_page(run, dataset, &run.plan.range, cursor.as_deref(), &mut first_page).await {
            Ok(page) => page,
            Err(e) => {
                // A dataset the credentials may not read is skipped; the others go on.
                if !e.is_missing_scope() {
                    run.stop.store(true, Ordering::SeqCst);
                }
                return Err(e.context(format!("the {dataset} export failed")));
            }
        };
        if first {
            run.observer.start(dataset, 0, page.total);
            first = false;
        }
        let last = page.is_last();
        if let Err(e) = chain.page(&page).and_then(|()| if last { chain.end() } else { Ok(()) }) {
            run.stop.store(true, Ordering::SeqCst);
            return Err(e.context(format!("the {dataset} export failed")));
        }
        cursor = page.next.clone();
        let cursor_after = page.next.clone();
        if tx.send(Fetched { page, cursor_after, last }).await.is_err() || last {
            return Ok(()); // the writer stopped (it reports why), or this was the last page
        }
    }
}

/// The next page of `range` after `cursor`: the one its count brought (taken, once), else the
/// platform's.
async fn next_page(
    run: &Run,
    dataset: Dataset,
    range: &crate::platform::TimeRange,
    cursor: Option<&str>,
    counted: &mut Option<crate::platform::Page>,
) -> Result<crate::platform::Page> {
    match counted.take() {
        Some(page) => Ok(page),
        None => run.platform.page(&run.plan.shop, PageRequest { dataset, range, cursor }).await,
    }
}

/// Writes pages as they arrive, committing every `commit_bytes` or [`COMMIT_INTERVAL`].
/// Returns the finished entry, or `None` when the pages stopped before the end (after
/// committing what was written, so the run can resume).
fn write_pages(
    run: &Run,
    dataset: Dataset,
    mut writers: Writers,
    mut cursor: Option<String>,
    mut rx: tokio::sync::mpsc::Receiver<Fetched>,
) -> Result<Option<DatasetEntry>> {
    // A writer that fails (a full disk, a record the CSV flattening refuses, found by its thread
    // at the next page or commit) stops the other datasets too.
    let failed = |e: Error| {
        run.stop.store(true, Ordering::SeqCst);
        e
    };
    let mut committed_bytes = writers.ndjson.bytes();
    let mut committed_at = Instant::now();
    while let Some(Fetched { page, cursor_after, last }) = rx.blocking_recv() {
        writers.write(page.records).map_err(failed)?;
        run.observer.advance(dataset, writers.records, writers.ndjson.bytes());
        cursor = cursor_after;
        if last {
            let p = writers.commit(None, true).map_err(failed)?;
            run.record(dataset, p)?;
            run.observer.finish(dataset, writers.records, writers.ndjson.bytes());
            return writers.finish(dataset).map(Some).map_err(failed);
        }
        if writers.ndjson.bytes() - committed_bytes >= run.plan.commit_bytes
            || committed_at.elapsed() >= COMMIT_INTERVAL
        {
            let p = writers.commit(cursor.clone(), false).map_err(failed)?;
            committed_bytes = p.bytes;
            committed_at = Instant::now();
            run.record(dataset, p)?;
        }
    }
    let p = writers.commit(cursor, false).map_err(failed)?;
    run.record(dataset, p)?;
    Ok(None)
}

/// Runs (or resumes) the export described by `plan`.
pub async fn run(platform: Arc<dyn Platform>, plan: ExportPlan, observer: Arc<dyn Observer>) -> Result<Outcome> {
    // A signal lets the datasets checkpoint what they hold; a stuck request cannot hold it longer.
    interrupt::set_grace(STOP_GRACE_SECS);
    refuse_foreign(&plan.dir)?;
    fsutil::create_private_dir(&plan.dir)?;
    let _lock = lock_dir(&plan.dir)?;
    let checkpoint = match prepare(&plan)? {
        Ok(c) => c,
        Err(outcome) => return Ok(outcome),
    };
    let resumed = checkpoint.datasets.values().any(|p| p.records > 0 || p.done);
    let started_at = checkpoint.started_at;
    let run =
        Arc::new(Run { platform, plan, checkpoint: Mutex::new(checkpoint), observer, stop: AtomicBool::new(false) });
    let limit = Arc::new(tokio::sync::Semaphore::new(run.plan.concurrency.max(1)));
    let mut tasks = Vec::new();
    for &dataset in &run.plan.datasets {
        let (run, limit) = (run.clone(), limit.clone());
        tasks.push(tokio::spawn(async move {
            let _permit = limit.acquire_owned().await.map_err(|_| Error::internal("export scheduler closed"))?;
            export_dataset(run, dataset).await
        }));
    }
    let mut entries = Vec::new();
    let mut first_error: Option<Error> = None;
    for task in tasks {
        let result = task.await.unwrap_or_else(|e| Err(Error::internal("an export task panicked").with_cause(e)));
        match result {
            Ok(entry) => entries.push(entry),
            Err(e) => {
                // A real failure outranks the "stopped" of the tasks it halted.
                let replace = first_error
                    .as_ref()
                    .is_none_or(|f| f.kind() == ErrorKind::Interrupted && e.kind() != ErrorKind::Interrupted);
                if replace {
                    first_error = Some(e);
                }
            }
        }
    }
    if let Some(e) = first_error {
        return Err(stopped(e, &run.plan.dir));
    }
    let media = if run.plan.media {
        let stop = || run.should_stop();
        media::download(run.platform.as_ref(), &run.plan.dir, &entries, &run.plan.specs, &stop)
            .await
            .map_err(|e| stopped(e, &run.plan.dir))?
    } else {
        media::Report::default()
    };
    finish(&run.plan, started_at, entries, media, resumed)
}

fn stopped(e: Error, dir: &Path) -> Error {
    let e = e.with_detail("dir", dir.display().to_string());
    match e.kind() {
        ErrorKind::Interrupted => Error::interrupted("export interrupted; what was written is kept")
            .with_hint("resume with the same command")
            .with_detail("dir", dir.display().to_string()),
        ErrorKind::Usage | ErrorKind::Verification => e,
        _ => e.with_hint("what was written is kept: rerun the same command to resume"),
    }
}

fn finish(
    plan: &ExportPlan,
    started_at: chrono::DateTime<Utc>,
    entries: Vec<DatasetEntry>,
    media: media::Report,
    resumed: bool,
) -> Result<Outcome> {
    let manifest = Manifest {
        schema_version: 1,
        tool: Tool { name: manifest::TOOL_NAME.into(), version: env!("CARGO_PKG_VERSION").into() },
        platform: plan.platform.clone(),
        profile: plan.profile.clone(),
        shop: ShopRef { id: plan.shop.id.clone(), name: plan.shop.name.clone(), region: plan.shop.region.clone() },
        range: plan.range,
        format: plan.format.as_str().into(),
        started_at,
        finished_at: Utc::now(),
        complete: true,
        datasets: entries,
        media: media.kept,
        media_missing: media.missing,
    };
    fsutil::sync_dir(&plan.dir);
    let sha256 = manifest.write(&plan.dir)?;
    let marker: PathBuf = plan.dir.join(checkpoint::DIR);
    let _ = std::fs::remove_dir_all(marker);
    Ok(Outcome::Written { manifest, sha256, resumed })
}
