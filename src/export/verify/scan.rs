//! Reading an export's files for `verify`, as fast as SHA-256 allows.
//!
//! Files are read side by side (one at a time per core, biggest first, so the largest is not left
//! for last), and within a file the hash and the check of its content run on two threads: a
//! reader hashes each chunk and hands it to a checker that counts and parses the NDJSON lines or
//! proves the CSV well-formed ([`CsvShape`]; a file it cannot vouch for is then read by the csv
//! crate as before). Chunks are recycled through a small pool, so memory stays a few megabytes
//! per file whatever its size.

use std::io::{self, Read};
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, Sender, SyncSender};

use sha2::{Digest, Sha256};

use super::csv_shape::CsvShape;
use crate::fsutil;

/// Bytes read at a time.
const CHUNK: usize = 1 << 20;

/// Chunks of one file in flight between its reader and its checker.
const POOL: usize = 4;

/// What to check in a file besides its size and SHA-256.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Check {
    /// Nothing (a picture).
    Hash,
    /// Lines: how many, and the first that is not JSON.
    Ndjson,
    /// Records: the first CSV error (unequal column counts included).
    Csv,
}

/// One file to read.
#[derive(Debug, Clone)]
pub struct Job {
    /// Its path.
    pub path: PathBuf,
    /// What to check.
    pub check: Check,
    /// Its expected size (the manifest's), to read the biggest files first.
    pub size: u64,
}

/// What reading a file found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scan {
    /// Its size.
    pub bytes: u64,
    /// Its SHA-256, lowercase hex.
    pub sha256: String,
    /// NDJSON: its lines (a last one without a newline included).
    pub lines: u64,
    /// NDJSON: the first line (from 1) that is not JSON.
    pub bad_line: Option<u64>,
    /// True when the file is empty or ends with a newline.
    pub ends_with_newline: bool,
    /// CSV: the first error of reading it as CSV.
    pub csv_error: Option<String>,
}

/// Reads every job's file, `threads` files at a time (at least one); results in `jobs` order.
pub fn scan_all(jobs: &[Job], threads: usize) -> Vec<io::Result<Scan>> {
    let mut order: Vec<usize> = (0..jobs.len()).collect();
    order.sort_by_key(|&i| std::cmp::Reverse(jobs[i].size));
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<io::Result<Scan>>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    std::thread::scope(|s| {
        for _ in 0..threads.clamp(1, jobs.len().max(1)) {
            s.spawn(|| {
                while let Some(&i) = order.get(next.fetch_add(1, Ordering::Relaxed)) {
                    let scan = scan(&jobs[i]);
                    *results[i].lock().unwrap_or_else(|p| p.into_inner()) = Some(scan);
                }
            });
        }
    });
    results
        .into_iter()
        .map(|r| {
            let scan = r.into_inner().unwrap_or_else(|p| p.into_inner());
            scan.unwrap_or_else(|| Err(io::Error::other("the file was not read")))
        })
        .collect()
}

/// One chunk: a buffer from the pool and how many of its bytes hold data.
type Chunk = (Vec<u8>, usize);

/// Reads one file: hashes it here while another thread checks its content.
pub fn scan(job: &Job) -> io::Result<Scan> {
    let mut file = fsutil::open_nofollow(&job.path)?;
    if job.check == Check::Hash {
        let mut buf = vec![0u8; CHUNK];
        let mut read = Reading::default();
        loop {
            let n = fill(&mut file, &mut buf)?;
            if n == 0 {
                break;
            }
            read.add(&buf[..n]);
        }
        return Ok(read.into_scan());
    }
    std::thread::scope(|s| {
        let (to_checker, inbox) = mpsc::sync_channel::<Chunk>(POOL);
        let (give_back, returned) = mpsc::channel::<Vec<u8>>();
        let check = job.check;
        let checker = s.spawn(move || check_chunks(check, &inbox, &give_back));
        let read = read_chunks(&mut file, &to_checker, &returned);
        drop(to_checker);
        let found = checker.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic));
        let mut scan = read?.into_scan();
        scan.lines = found.lines;
        scan.bad_line = found.bad_line;
        if found.csv_unproven {
            scan.csv_error = csv_crate_error(&job.path);
        }
        Ok(scan)
    })
}

/// The hash, size and last byte of what was read so far.
#[derive(Default)]
struct Reading {
    hasher: Sha256,
    bytes: u64,
    last: Option<u8>,
}

impl Reading {
    fn add(&mut self, data: &[u8]) {
        self.hasher.update(data);
        self.bytes += data.len() as u64;
        self.last = data.last().copied().or(self.last);
    }

    fn into_scan(self) -> Scan {
        Scan {
            bytes: self.bytes,
            sha256: hex::encode(self.hasher.finalize()),
            ends_with_newline: self.last.is_none_or(|b| b == b'\n'),
            ..Scan::default()
        }
    }
}

/// Reads as much as fits in `buf` (less only at the end of the file).
fn fill(file: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match file.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// Reads the file chunk by chunk, hashing each and passing it on to the checker.
fn read_chunks(
    file: &mut impl Read,
    to_checker: &SyncSender<Chunk>,
    returned: &Receiver<Vec<u8>>,
) -> io::Result<Reading> {
    let mut read = Reading::default();
    let mut allocated = 0;
    loop {
        let mut buf = if allocated < POOL {
            allocated += 1;
            vec![0u8; CHUNK]
        } else {
            returned.recv().unwrap_or_else(|_| vec![0u8; CHUNK])
        };
        let n = fill(file, &mut buf)?;
        if n == 0 {
            return Ok(read);
        }
        read.add(&buf[..n]);
        // The checker reads to the end of the queue whatever it finds, so a send only fails if it
        // panicked, which `scan` reports.
        if to_checker.send((buf, n)).is_err() {
            return Ok(read);
        }
    }
}

/// What the checker found.
#[derive(Default)]
struct Found {
    lines: u64,
    bad_line: Option<u64>,
    /// CSV: the quick reading proved nothing; the csv crate must read the file.
    csv_unproven: bool,
}

fn check_chunks(check: Check, inbox: &Receiver<Chunk>, give_back: &Sender<Vec<u8>>) -> Found {
    let mut found = Found::default();
    match check {
        Check::Hash => {}
        Check::Ndjson => {
            let mut lines = Lines::default();
            for (buf, n) in inbox.iter() {
                lines.feed(&buf[..n]);
                let _ = give_back.send(buf);
            }
            (found.lines, found.bad_line) = lines.end();
        }
        Check::Csv => {
            let mut shape = CsvShape::default();
            for (buf, n) in inbox.iter() {
                shape.feed(&buf[..n]);
                let _ = give_back.send(buf);
            }
            found.csv_unproven = !shape.proven();
        }
    }
    found
}

/// The first error the csv crate finds reading `path` (as `verify` always read CSV files).
fn csv_crate_error(path: &Path) -> Option<String> {
    super::csv_shape::csv_crate_error(fsutil::open_nofollow(path).ok()?)
}

/// Counts the lines of a stream of chunks and finds the first one that is not JSON.
#[derive(Default)]
struct Lines {
    lines: u64,
    bad_line: Option<u64>,
    /// The start of a line whose end is in a later chunk (never empty when there is one).
    partial: Vec<u8>,
}

impl Lines {
    fn feed(&mut self, chunk: &[u8]) {
        let mut rest = chunk;
        if !self.partial.is_empty() {
            let Some(end) = memchr::memchr(b'\n', rest) else {
                self.partial.extend_from_slice(rest);
                return;
            };
            let mut line = std::mem::take(&mut self.partial);
            line.extend_from_slice(&rest[..end]);
            self.line(&line);
            line.clear();
            self.partial = line;
            rest = &rest[end + 1..];
        }
        while let Some(end) = memchr::memchr(b'\n', rest) {
            self.line(&rest[..end]);
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
    }

    fn line(&mut self, body: &[u8]) {
        self.lines += 1;
        if self.bad_line.is_none() && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
            self.bad_line = Some(self.lines);
        }
    }

    /// Lines and the first bad one, the last line counted even without its newline.
    fn end(mut self) -> (u64, Option<u64>) {
        if !self.partial.is_empty() {
            let last = std::mem::take(&mut self.partial);
            self.line(&last);
        }
        (self.lines, self.bad_line)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The old single-threaded reading: `read_until` line by line.
    fn reference(data: &[u8]) -> (u64, Option<u64>, bool) {
        let (mut lines, mut bad, mut last) = (0, None, b'\n');
        for line in data.split_inclusive(|b| *b == b'\n') {
            lines += 1;
            last = line[line.len() - 1];
            let body = line.strip_suffix(b"\n").unwrap_or(line);
            if bad.is_none() && serde_json::from_slice::<serde::de::IgnoredAny>(body).is_err() {
                bad = Some(lines);
            }
        }
        (lines, bad, last == b'\n')
    }

    #[test]
    fn lines_split_across_chunks_count_and_parse_as_in_one_piece() {
        let samples: [&[u8]; 6] = [
            b"",
            b"{}\n[1,2]\n",
            b"{}\n[1,2]",
            b"{}\n\n{}\n",
            b"{\"a\":\"x\\ny\"}\n{\"a\":}\n{}\n",
            b"1\n2\n3 4\n\"\xff\"\n",
        ];
        for data in samples {
            let expected = reference(data);
            for size in 1..=data.len().max(1) {
                let mut lines = Lines::default();
                for chunk in data.chunks(size) {
                    lines.feed(chunk);
                }
                let ends = data.last().is_none_or(|b| *b == b'\n');
                let (n, bad) = lines.end();
                assert_eq!((n, bad, ends), expected, "{:?} in chunks of {size}", String::from_utf8_lossy(data));
            }
        }
    }

    #[test]
    fn a_file_is_hashed_counted_and_checked_in_one_reading() {
        let dir = tempfile::tempdir().unwrap();
        let mut data = Vec::new();
        for i in 0..60_000 {
            data.extend_from_slice(format!("{{\"id\":\"{i}\",\"pad\":\"{}\"}}\n", "x".repeat(i % 50)).as_bytes());
        }
        data.extend_from_slice(b"{\"broken\":\n{}\n");
        let ndjson = dir.path().join("a.ndjson");
        std::fs::write(&ndjson, &data).unwrap();
        let csv = dir.path().join("a.csv");
        std::fs::write(&csv, "a,b\n1,2\n3\n").unwrap();
        let jobs = vec![
            Job { path: ndjson, check: Check::Ndjson, size: 1 },
            Job { path: csv, check: Check::Csv, size: 2 },
            Job { path: dir.path().join("missing"), check: Check::Hash, size: 3 },
        ];
        let scans = scan_all(&jobs, 2);
        let first = scans[0].as_ref().unwrap();
        assert_eq!(first.bytes, data.len() as u64);
        assert_eq!(first.sha256, hex::encode(Sha256::digest(&data)));
        assert_eq!((first.lines, first.bad_line, first.ends_with_newline), (60_002, Some(60_001), true));
        let second = scans[1].as_ref().unwrap();
        assert!(second.csv_error.as_deref().is_some_and(|e| e.contains("found record with 1 field")), "{second:?}");
        assert_eq!(scans[2].as_ref().unwrap_err().kind(), io::ErrorKind::NotFound);
    }
}
