//! Sandbox benchmarks: `status` latency, and a million-order export's throughput and peak memory.
//!
//! Run with `cargo bench --bench sandbox` (optionally `-- ORDERS`). It drives the release binary
//! exactly as a user would, in a temporary SHOPUNLINK_HOME, and reads the child's peak RSS from
//! `/usr/bin/time`. Goals (issue 2/4): status < 20 ms, export >= 150 MB/s, peak RSS <= 64 MB.
#![allow(clippy::print_stdout)]

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const BIN: &str = env!("CARGO_BIN_EXE_shopunlink");

struct Run {
    wall: Duration,
    max_rss_kib: i64,
}

/// Runs the binary to completion under `/usr/bin/time -f %M` and returns its wall time and peak
/// RSS (the same figure `/usr/bin/time -v` reports as "Maximum resident set size").
fn run(home: &Path, args: &[&str]) -> Run {
    let rss_file = home.join(".rss");
    let started = Instant::now();
    let status = Command::new("/usr/bin/time")
        .arg("-f")
        .arg("%M")
        .arg("-o")
        .arg(&rss_file)
        .arg(BIN)
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
    let max_rss_kib = std::fs::read_to_string(&rss_file).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0);
    Run { wall, max_rss_kib }
}

fn manifest_totals(dir: &Path) -> (u64, u64) {
    let text = std::fs::read_to_string(dir.join("manifest.json")).expect("manifest");
    let doc: serde_json::Value = serde_json::from_str(&text).expect("manifest JSON");
    let datasets = doc["datasets"].as_array().expect("datasets");
    let records = datasets.iter().map(|d| d["records"].as_u64().unwrap_or(0)).sum();
    let bytes = datasets
        .iter()
        .map(|d| {
            let tables =
                d["csv_tables"].as_array().map_or(0, |c| c.iter().map(|f| f["bytes"].as_u64().unwrap_or(0)).sum());
            d["bytes"].as_u64().unwrap_or(0) + d["csv"]["bytes"].as_u64().unwrap_or(0) + tables
        })
        .sum();
    (records, bytes)
}

fn main() {
    let orders = std::env::args().skip(1).find(|a| a.parse::<u64>().is_ok()).unwrap_or_else(|| "1000000".into());
    let home = tempfile::tempdir().expect("temp home");
    let h = home.path();

    let mut walls: Vec<Duration> = (0..30).map(|_| run(h, &["status"]).wall).collect();
    walls.sort();
    println!("status (default world, 30 runs): median {:.1} ms, min {:.1} ms", ms(walls[15]), ms(walls[0]));

    run(h, &["sandbox", "reset", "--orders", &orders]);
    let mut walls: Vec<Duration> = (0..30).map(|_| run(h, &["status"]).wall).collect();
    walls.sort();
    println!("status ({orders} orders, 30 runs): median {:.1} ms, min {:.1} ms", ms(walls[15]), ms(walls[0]));

    for (name, format) in [("ndjson", "ndjson"), ("ndjson+csv", "both")] {
        let out = format!("export-{format}");
        let r = run(h, &["export", "--out", &out, "--format", format]);
        let (records, bytes) = manifest_totals(&h.join(&out));
        let secs = r.wall.as_secs_f64();
        println!(
            "export {name} ({orders} orders): {records} records, {:.0} MB in {secs:.2} s = {:.0} records/s, {:.0} MB/s, peak RSS {:.1} MB",
            bytes as f64 / 1e6,
            records as f64 / secs,
            bytes as f64 / 1e6 / secs,
            r.max_rss_kib as f64 / 1024.0
        );
        let v = run(h, &["verify", &out]);
        println!(
            "verify {name}: {:.2} s = {:.0} MB/s, peak RSS {:.1} MB",
            v.wall.as_secs_f64(),
            bytes as f64 / 1e6 / v.wall.as_secs_f64(),
            v.max_rss_kib as f64 / 1024.0
        );
        let _ = std::fs::remove_dir_all(h.join(&out));
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
