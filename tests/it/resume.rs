//! Exports survive being killed at any moment: rerunning the same command continues, and the
//! result is byte-identical to an export that was never interrupted (SPEC §8, issue 4).
#![cfg(unix)]

use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use crate::common::Home;

const ORDERS: &str = "15000";

fn prepared() -> Home {
    let home = Home::new();
    let (code, _, err) = home.run(&["sandbox", "reset", "--seed", "11", "--orders", ORDERS, "--products", "3000"]);
    assert_eq!(code, 0, "{err}");
    home
}

fn spawn_export(home: &Home, out: &str) -> Child {
    let mut cmd = home.std_cmd(&["export", "--out", out, "--format", "both", "--jobs", "3", "--checkpoint-mib", "1"]);
    cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn")
}

fn dataset_files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap())
        .filter(|e| e.file_type().unwrap().is_file() && e.file_name() != "manifest.json")
        .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).unwrap()))
        .collect();
    files.sort();
    files
}

/// A tiny deterministic generator, so every seed kills at its own reproducible moment.
fn moment(seed: u64, span: Duration) -> Duration {
    let x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).rotate_left(17) ^ 0xdead_beef;
    span.mul_f64((x % 1000) as f64 / 1000.0)
}

fn reference(home: &Home) -> (Vec<(String, Vec<u8>)>, Duration) {
    let started = Instant::now();
    let (code, _, err) =
        home.run(&["export", "--out", "reference", "--format", "both", "--jobs", "3", "--checkpoint-mib", "1"]);
    assert_eq!(code, 0, "{err}");
    (dataset_files(&home.join("reference")), started.elapsed())
}

fn finish_and_compare(home: &Home, out: &str, expected: &[(String, Vec<u8>)]) {
    let (code, _, err) =
        home.run(&["export", "--out", out, "--format", "both", "--jobs", "3", "--checkpoint-mib", "1"]);
    assert_eq!(code, 0, "resume failed: {err}");
    let got = dataset_files(&home.join(out));
    assert_eq!(got.len(), expected.len());
    for ((name, bytes), (ename, ebytes)) in got.iter().zip(expected) {
        assert_eq!(name, ename);
        assert!(bytes == ebytes, "{name} differs from the uninterrupted export after resume");
    }
    assert_eq!(home.run(&["verify", out]).0, 0);
}

#[test]
fn killed_at_random_moments_then_resumed_is_byte_identical() {
    let home = prepared();
    let (expected, took) = reference(&home);
    for seed in 0..10u64 {
        let out = format!("killed-{seed}");
        let mut child = spawn_export(&home, &out);
        std::thread::sleep(moment(seed, took));
        let _ = child.kill(); // SIGKILL: no chance to clean up
        let _ = child.wait();
        let manifest = home.join(&out).join("manifest.json");
        if manifest.exists() {
            // It finished before the kill; a manifest must then describe a complete export.
            assert_eq!(home.run(&["verify", &out]).0, 0);
        } else {
            // Never a manifest claiming more than is on disk.
            assert_eq!(home.run(&["verify", &out]).0, 8);
        }
        finish_and_compare(&home, &out, &expected);
    }
}

#[test]
fn ctrl_c_checkpoints_exits_130_and_resumes() {
    let home = prepared();
    let (expected, took) = reference(&home);
    for seed in [3u64, 8] {
        let out = format!("interrupted-{seed}");
        let child = spawn_export(&home, &out);
        std::thread::sleep(moment(seed, took).max(Duration::from_millis(50)));
        let status = std::process::Command::new("kill").args(["-INT", &child.id().to_string()]).status().unwrap();
        assert!(status.success());
        let output = child.wait_with_output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        match output.status.code() {
            Some(130) => {
                assert!(stderr.contains("resume with the same command"), "{stderr}");
                assert!(!home.join(&out).join("manifest.json").exists());
            }
            Some(0) => {} // finished before the signal arrived
            other => panic!("unexpected exit {other:?}: {stderr}"),
        }
        finish_and_compare(&home, &out, &expected);
    }
}

#[test]
fn rerun_with_other_arguments_suggests_fresh() {
    let home = prepared();
    let mut child = spawn_export(&home, "x");
    // Wait until the export has started writing, then kill it.
    let deadline = Instant::now() + Duration::from_secs(30);
    while !home.join("x/.shopunlink/checkpoint.json").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    if home.join("x/manifest.json").exists() {
        return; // finished too fast to test on this machine
    }
    // verify points at the resume, not at starting over.
    let (code, _, err) = home.run(&["verify", "x"]);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("rerun the same `shopunlink export` command"), "{err}");
    let (code, _, err) = home.run(&["export", "--out", "x", "--datasets", "orders"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--fresh"), "{err}");
    let (code, _, err) = home.run(&["export", "--out", "x", "--datasets", "orders", "--fresh"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(home.run(&["verify", "x"]).0, 0);
}

#[test]
fn a_write_failure_names_the_path_and_leaves_no_complete_manifest() {
    let home = prepared();
    let dir = home.join("ro");
    std::fs::create_dir_all(&dir).unwrap();
    // An unfinished export whose data file cannot be written.
    let (code, _, _) = home.run(&["export", "--out", "ro", "--datasets", "withdrawals"]);
    assert_eq!(code, 0);
    let (code, _, err) = home.run(&["export", "--out", "ro", "--datasets", "orders", "--fresh"]);
    assert_eq!(code, 0, "{err}");
    std::fs::remove_file(dir.join("manifest.json")).unwrap();
    std::fs::create_dir_all(dir.join(".shopunlink")).unwrap();
    // A checkpoint as the tool writes it (sealed, stamped with the world it was taken from).
    use shopunlink::export::checkpoint::{Checkpoint, DatasetProgress, Fingerprint};
    use shopunlink::platform::sandbox::world::World;
    let world = World::load(&World::path(&home.join("state"))).unwrap();
    Checkpoint {
        fingerprint: Fingerprint {
            platform: "sandbox".into(),
            shop_id: shop_id(&home),
            datasets: vec!["orders".into()],
            since: None,
            until: None,
            format: "ndjson".into(),
        },
        started_at: "2026-11-01T00:00:00Z".parse().unwrap(),
        datasets: [("orders".to_owned(), DatasetProgress::default())].into(),
        source: world.data_changed_at.map(|t| t.to_rfc3339()),
        seal: None,
    }
    .save(&dir)
    .unwrap();
    std::fs::remove_file(dir.join("orders.ndjson")).unwrap();
    std::fs::create_dir(dir.join("orders.ndjson")).unwrap(); // a path that cannot be opened as a file
    let (code, _, err) = home.run(&["export", "--out", "ro", "--datasets", "orders"]);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("orders.ndjson"), "{err}");
    assert!(!dir.join("manifest.json").exists());
}

fn shop_id(home: &Home) -> String {
    home.json(&["status"], 0)["shops"][0]["id"].as_str().unwrap().to_owned()
}

/// Without `--out` the directory carries the date; an export interrupted before midnight UTC and
/// rerun after it resumes the earlier day's directory instead of starting over in a new one.
#[test]
fn without_out_a_rerun_resumes_an_earlier_days_directory() {
    let home = prepared();
    let yesterday = "shopunlink-export-demo-crafts-co-2000-01-01";
    let mut child = spawn_export(&home, yesterday);
    let deadline = Instant::now() + Duration::from_secs(30);
    while !home.join(yesterday).join(".shopunlink/checkpoint.json").exists() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(5));
    }
    let _ = child.kill();
    let _ = child.wait();
    if home.join(yesterday).join("manifest.json").exists() {
        return; // finished too fast to test on this machine
    }
    let (code, _, err) = home.run(&["export", "--format", "both", "--jobs", "3", "--checkpoint-mib", "1"]);
    assert_eq!(code, 0, "{err}");
    assert!(home.join(yesterday).join("manifest.json").exists(), "resumed where it stopped: {err}");
    let dirs: Vec<_> = std::fs::read_dir(home.path())
        .unwrap()
        .filter_map(|e| e.unwrap().file_name().into_string().ok())
        .filter(|n| n.starts_with("shopunlink-export-"))
        .collect();
    assert_eq!(dirs, [yesterday], "no new directory for today");
    // Other arguments are another export: today's directory.
    let (code, _, err) = home.run(&["export", "--datasets", "orders"]);
    assert_eq!(code, 0, "{err}");
    assert!(err.contains(&chrono::Utc::now().format("%Y-%m-%d").to_string()), "{err}");
}
