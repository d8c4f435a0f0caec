//! Sandbox benchmarks: `status` latency, a million-order export's throughput and peak memory with
//! and without CSV, and `verify` against the bounds of the same machine in the same run.
//!
//! Run with `cargo bench --bench sandbox` (optionally `-- ORDERS`). It drives the release binary
//! exactly as a user would, in a temporary SHOPUNLINK_HOME, and reads the child's peak RSS from
//! `/usr/bin/time`. Goals (issues 2, 4, 11): status < 20 ms, export >= 150 MB/s, peak RSS <= 64 MB
//! with or without CSV, `--format both` >= 0.7x the NDJSON-only throughput, `verify` >= 0.8x the
//! single-core SHA-256 throughput of the same files (sha2 in this process, one thread; also
//! `sha256sum`), beside `dd bs=1M` read throughput of them. `SHOPUNLINK_BENCH_BIN=PATH` measures
//! another build of shopunlink the same way.
#![allow(clippy::print_stdout)]

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use sha2::{Digest, Sha256};

/// The binary to measure: this build's, or another one (`SHOPUNLINK_BENCH_BIN=/path/to/old`) to
/// compare two versions with the same measurements.
fn bin() -> PathBuf {
    std::env::var_os("SHOPUNLINK_BENCH_BIN")
        .map_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_shopunlink")), PathBuf::from)
}

struct Run {
    wall: Duration,
    max_rss_kib: i64,
    /// User plus system CPU time: on a machine others use too, a steadier measure than the wall.
    cpu: f64,
}

/// Runs the binary to completion under `/usr/bin/time -f "%M %U %S"` and returns its wall time,
/// peak RSS (the same figure `/usr/bin/time -v` reports as "Maximum resident set size") and CPU.
fn run(home: &Path, args: &[&str]) -> Run {
    let rss_file = home.join(".rss");
    let started = Instant::now();
    let status = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M %U %S")
        .arg("-o")
        .arg(&rss_file)
        .arg(bin())
        .args(args)
        .env("SHOPUNLINK_HOME", home)
        .env("CI", "1")
        .current_dir(home)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .expect("this benchmark needs /usr/bin/time (Debian package `time`)");
    let wall = started.elapsed();
    assert!(status.success(), "shopunlink {args:?} failed: {status}");
    let text = std::fs::read_to_string(&rss_file).unwrap_or_default();
    let fields: Vec<&str> = text.split_whitespace().collect();
    // Unreadable, it must not print as 0 MB (which would read as meeting the goal).
    let max_rss_kib = fields.first().and_then(|s| s.parse().ok()).expect("/usr/bin/time wrote the peak RSS");
    let cpu = fields.iter().skip(1).filter_map(|s| s.parse::<f64>().ok()).sum();
    Run { wall, max_rss_kib, cpu }
}

/// What an export holds, from its manifest.
struct Totals {
    records: u64,
    /// NDJSON bytes.
    ndjson: u64,
    /// Every file `verify` reads (NDJSON, CSV, pictures), with its size.
    files: Vec<(PathBuf, u64)>,
}

impl Totals {
    fn bytes(&self) -> u64 {
        self.files.iter().map(|(_, b)| b).sum()
    }
}

fn manifest_totals(dir: &Path) -> Totals {
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("manifest");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("manifest JSON");
    let datasets = doc["datasets"].as_array().expect("datasets");
    let mut files = Vec::new();
    let mut add = |entry: &serde_json::Value| {
        if let (Some(file), Some(bytes)) = (entry["file"].as_str(), entry["bytes"].as_u64()) {
            files.push((dir.join(file), bytes));
        }
    };
    for d in datasets.iter().filter(|d| d["skipped"].is_null()) {
        add(d);
        add(&d["csv"]);
        d["csv_tables"].as_array().into_iter().flatten().for_each(&mut add);
    }
    doc["media"].as_array().into_iter().flatten().for_each(&mut add);
    Totals {
        records: datasets.iter().map(|d| d["records"].as_u64().unwrap_or(0)).sum(),
        ndjson: datasets.iter().map(|d| d["bytes"].as_u64().unwrap_or(0)).sum(),
        files,
    }
}

/// SHA-256 of every file, one after another on one thread (sha2, as `verify` uses): the bound.
fn sha256_in_process(files: &[(PathBuf, u64)]) -> Duration {
    let started = Instant::now();
    let mut buf = vec![0u8; 1 << 20];
    for (path, _) in files {
        let mut file = std::fs::File::open(path).expect("export file");
        let mut hasher = Sha256::new();
        loop {
            let n = file.read(&mut buf).expect("read");
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        std::hint::black_box(hasher.finalize());
    }
    started.elapsed()
}

/// `sha256sum` of every file (one process, one core).
fn sha256sum(files: &[(PathBuf, u64)]) -> Option<Duration> {
    let started = Instant::now();
    let status = Command::new("sha256sum")
        .args(files.iter().map(|(p, _)| p))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .ok()?;
    status.success().then(|| started.elapsed())
}

/// `dd if=FILE of=/dev/null bs=1M` of every data file (the pictures are a few hundred kilobytes
/// in hundreds of files: process start-ups, not reading).
fn dd(files: &[(PathBuf, u64)]) -> Option<(Duration, u64)> {
    let started = Instant::now();
    let mut bytes = 0;
    for (path, size) in files.iter().filter(|(p, _)| !p.parent().is_some_and(|d| d.ends_with("media"))) {
        let status = Command::new("dd")
            .arg(format!("if={}", path.display()))
            .args(["of=/dev/null", "bs=1M"])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .ok()?;
        if !status.success() {
            return None;
        }
        bytes += size;
    }
    Some((started.elapsed(), bytes))
}

fn mb_s(bytes: u64, wall: Duration) -> f64 {
    bytes as f64 / 1e6 / wall.as_secs_f64()
}

fn main() {
    let orders = std::env::args().skip(1).find(|a| a.parse::<u64>().is_ok()).unwrap_or_else(|| "1000000".into());
    let home = tempfile::tempdir().expect("temp home");
    let h = home.path();
    println!("binary: {}", bin().display());

    let mut walls: Vec<Duration> = (0..30).map(|_| run(h, &["status"]).wall).collect();
    walls.sort();
    println!("status (default world, 30 runs): median {:.1} ms, min {:.1} ms", ms(walls[15]), ms(walls[0]));

    run(h, &["sandbox", "reset", "--orders", &orders]);
    let mut walls: Vec<Duration> = (0..30).map(|_| run(h, &["status"]).wall).collect();
    walls.sort();
    println!("status ({orders} orders, 30 runs): median {:.1} ms, min {:.1} ms", ms(walls[15]), ms(walls[0]));

    let mut throughput = Vec::new();
    for (name, format) in [("ndjson", "ndjson"), ("ndjson+csv", "both")] {
        let out = format!("export-{format}");
        let r = run(h, &["export", "--out", &out, "--format", format]);
        let t = manifest_totals(&h.join(&out));
        let secs = r.wall.as_secs_f64();
        println!(
            "export {name} ({orders} orders): {} records, {:.0} MB ({:.0} MB NDJSON) in {secs:.2} s = {:.0} records/s, \
             {:.0} MB/s of NDJSON, {:.0} MB/s written, {:.1} s CPU, peak RSS {:.1} MB",
            t.records,
            t.bytes() as f64 / 1e6,
            t.ndjson as f64 / 1e6,
            t.records as f64 / secs,
            mb_s(t.ndjson, r.wall),
            mb_s(t.bytes(), r.wall),
            r.cpu,
            r.max_rss_kib as f64 / 1024.0
        );
        throughput.push((t.records as f64 / secs, t.bytes() as f64 / secs, r.cpu));
        let v = run(h, &["verify", &out]);
        println!(
            "verify {name}: {:.0} MB in {:.2} s = {:.0} MB/s, {:.1} s CPU, peak RSS {:.1} MB",
            t.bytes() as f64 / 1e6,
            v.wall.as_secs_f64(),
            mb_s(t.bytes(), v.wall),
            v.cpu,
            v.max_rss_kib as f64 / 1024.0
        );
        if format == "both" {
            // The bounds, on the same files, warm in the page cache as verify read them.
            let sha = sha256_in_process(&t.files);
            let v = run(h, &["verify", &out]);
            let verify = mb_s(t.bytes(), v.wall);
            println!(
                "  again: verify {verify:.0} MB/s ({:.1} s CPU); SHA-256 bound (sha2, one thread) {:.0} MB/s ({:.1} s): \
                 verify = {:.2}x the bound",
                v.cpu,
                mb_s(t.bytes(), sha),
                sha.as_secs_f64(),
                verify / mb_s(t.bytes(), sha)
            );
            match sha256sum(&t.files) {
                Some(wall) => println!(
                    "  sha256sum of the same files: {:.0} MB/s: verify = {:.2}x",
                    mb_s(t.bytes(), wall),
                    verify / mb_s(t.bytes(), wall)
                ),
                None => println!("  sha256sum: not available"),
            }
            match dd(&t.files) {
                Some((wall, bytes)) => println!(
                    "  dd bs=1M of the data files: {:.0} MB/s: verify = {:.2}x",
                    mb_s(bytes, wall),
                    verify / mb_s(bytes, wall)
                ),
                None => println!("  dd: not available"),
            }
        }
        let _ = std::fs::remove_dir_all(h.join(&out));
    }
    if let [(records, bytes, cpu), (records_csv, bytes_csv, cpu_csv)] = throughput[..] {
        println!(
            "--format both / ndjson: {:.2}x in records/s (the wall time; goal >= 0.7x), {:.2}x in MB/s written, \
             {:.2}x in records per CPU second",
            records_csv / records,
            bytes_csv / bytes,
            cpu / cpu_csv
        );
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
