//! Adversarial tests (issues 13 and 16): concurrent processes, symlinks, tampered checkpoints and
//! manifests, and hostile TikTok servers. Each test names the attack it mounts; each would pass
//! the attack through before the fix it guards.
#![cfg(unix)]

use std::path::PathBuf;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::{Home, mode};

/// A sandbox home with a world big enough that an export takes a noticeable moment.
fn home_with(orders: &str) -> Home {
    let home = Home::new();
    let (code, _, err) = home.run(&["sandbox", "reset", "--seed", "7", "--orders", orders, "--products", "500"]);
    assert_eq!(code, 0, "{err}");
    home
}

const EXPORT: [&str; 6] = ["--format", "both", "--jobs", "2", "--checkpoint-mib", "1"];

fn export_args(out: &str) -> Vec<&str> {
    let mut args = vec!["export", "--out", out];
    args.extend_from_slice(&EXPORT);
    args
}

fn spawn_export(home: &Home, out: &str) -> Child {
    let mut cmd = home.std_cmd(&export_args(out));
    cmd.stdout(Stdio::null()).stderr(Stdio::piped()).spawn().expect("spawn")
}
fn checkpoint_path(home: &Home, out: &str) -> PathBuf {
    home.join(out).join(".shopunlink").join("checkpoint.json")
}

/// An export killed (SIGKILL) once its checkpoint vouches for some orders, but before the end.
fn interrupted(home: &Home, out: &str) {
    for _ in 0..20 {
        let _ = std::fs::remove_dir_all(home.join(out));
        let mut child = spawn_export(home, out);
        let started = Instant::now();
        while started.elapsed() < Duration::from_secs(20) {
            let progressed = std::fs::read_to_string(checkpoint_path(home, out))
                .ok()
                .and_then(|t| serde_json::from_str::<Value>(&t).ok())
                .is_some_and(|c| c["datasets"]["orders"]["bytes"].as_u64().unwrap_or(0) > 0);
            if progressed || child.try_wait().unwrap().is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(2));
        }
        let _ = child.kill();
        let _ = child.wait();
        if !home.join(out).join("manifest.json").exists() && checkpoint_path(home, out).exists() {
            return;
        }
    }
    panic!("could not interrupt an export mid-way");
}

fn edit_checkpoint(home: &Home, out: &str, edit: impl FnOnce(&mut Value)) {
    let path = checkpoint_path(home, out);
    let mut ckpt: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut ckpt);
    std::fs::write(&path, serde_json::to_vec_pretty(&ckpt).unwrap()).unwrap();
}

#[test]
fn two_concurrent_exports_into_one_dir_one_wins_the_other_is_refused_at_once() {
    let home = home_with("60000");
    let (code, _, err) = home.run(&export_args("clean"));
    assert_eq!(code, 0, "{err}");
    let expected = crate::common::export_files(&home.join("clean"));
    for round in 0..3 {
        let out = format!("both-{round}");
        let mut first = spawn_export(&home, &out);
        // Wait until the first one holds the directory's lock (its pid is in the lock file).
        let lock = home.join(&out).join(".shopunlink.lock");
        let started = Instant::now();
        while std::fs::read_to_string(&lock).map(|t| t.trim().is_empty()).unwrap_or(true) {
            assert!(started.elapsed() < Duration::from_secs(20), "the first export never took the lock");
            std::thread::sleep(Duration::from_millis(1));
        }
        let asked = Instant::now();
        let (code, _, err) = home.run(&export_args(&out));
        let took = asked.elapsed();
        let first_status = first.wait().unwrap();
        assert_eq!(first_status.code(), Some(0), "the first export failed");
        assert_eq!(code, 1, "the second export was not refused: {err}");
        assert!(err.contains(&format!("process {}", first.id())), "the holder is not named: {err}");
        assert!(took < Duration::from_secs(3), "refused only after {took:?}");
        assert!(crate::common::export_files(&home.join(&out)) == expected, "the result differs from a clean export");
        assert_eq!(home.run(&["verify", &out]).0, 0);
    }
}

#[test]
fn a_kill_9_leaves_no_stale_lock() {
    let home = home_with("20000");
    interrupted(&home, "killed");
    let (code, _, err) = home.run(&export_args("killed"));
    assert_eq!(code, 0, "a lock outlived its holder: {err}");
}

#[test]
fn a_resume_never_writes_through_a_symlinked_data_file() {
    let home = home_with("20000");
    interrupted(&home, "exp");
    let outside = home.join("precious.txt");
    std::fs::write(&outside, b"not yours\n").unwrap();
    let data = home.join("exp").join("orders.ndjson");
    std::fs::remove_file(&data).unwrap();
    std::os::unix::fs::symlink(&outside, &data).unwrap();
    let (code, _, err) = home.run(&export_args("exp"));
    assert_ne!(code, 0, "resumed through a symlink: {err}");
    assert!(err.contains("orders.ndjson"), "{err}");
    assert_eq!(std::fs::read(&outside).unwrap(), b"not yours\n", "the file outside was written");
    assert_eq!(mode(&outside), 0o644, "the file outside was touched");
}

#[test]
fn verify_refuses_symlinked_data_files_and_manifests() {
    let home = home_with("2000");
    assert_eq!(home.run(&["export", "--out", "exp"]).0, 0);
    for name in ["orders.ndjson", "manifest.json"] {
        let _ = std::fs::remove_dir_all(home.join("copy"));
        std::fs::create_dir(home.join("copy")).unwrap();
        for entry in std::fs::read_dir(home.join("exp")).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                continue;
            }
            std::fs::copy(entry.path(), home.join("copy").join(entry.file_name())).unwrap();
        }
        // The link points at an identical copy: only its being a link is wrong.
        let twin = home.join(&format!("twin-{name}"));
        std::fs::rename(home.join("copy").join(name), &twin).unwrap();
        std::os::unix::fs::symlink(&twin, home.join("copy").join(name)).unwrap();
        let (code, out, err) = home.run(&["verify", "copy"]);
        assert_eq!(code, 8, "verify accepted a symlinked {name}: {out}{err}");
        assert!(format!("{out}{err}").contains(name), "{name} not named: {out}{err}");
    }
}

#[test]
fn a_resume_tightens_a_data_file_left_world_readable() {
    let home = home_with("20000");
    interrupted(&home, "exp");
    let data = home.join("exp").join("orders.ndjson");
    std::fs::set_permissions(&data, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let (code, _, err) = home.run(&export_args("exp"));
    assert_eq!(code, 0, "{err}");
    assert_eq!(mode(&data), 0o600);
}

/// Every way of editing a checkpoint: never exit 0 with data that differs from a clean export.
#[test]
fn a_tampered_checkpoint_never_yields_a_different_export() {
    let home = home_with("20000");
    let (code, _, err) = home.run(&export_args("clean"));
    assert_eq!(code, 0, "{err}");
    let expected = crate::common::export_files(&home.join("clean"));
    type Edit = fn(&mut Value);
    let edits: [(&str, Edit); 7] = [
        ("records", |c| {
            c["datasets"]["orders"]["records"] = (c["datasets"]["orders"]["records"].as_u64().unwrap() + 3).into()
        }),
        ("bytes down", |c| {
            c["datasets"]["orders"]["bytes"] = (c["datasets"]["orders"]["bytes"].as_u64().unwrap() / 2).into()
        }),
        ("bytes up", |c| {
            c["datasets"]["orders"]["bytes"] = (c["datasets"]["orders"]["bytes"].as_u64().unwrap() + 1).into()
        }),
        ("cursor", |c| c["datasets"]["orders"]["cursor"] = Value::from("1")),
        ("done", |c| c["datasets"]["orders"]["done"] = true.into()),
        ("sha", |c| c["datasets"]["orders"]["sha256"] = Value::from("00")),
        ("seal removed", |c| {
            c.as_object_mut().unwrap().remove("seal");
        }),
    ];
    let mut tries = 0;
    for (what, edit) in edits {
        let out = format!("t-{}", what.replace(' ', "-"));
        interrupted(&home, &out);
        edit_checkpoint(&home, &out, edit);
        let (code, _, err) = home.run(&export_args(&out));
        tries += 1;
        if code == 0 {
            assert!(crate::common::export_files(&home.join(&out)) == expected, "{what}: exit 0 with different data");
        } else {
            assert_eq!(code, 8, "{what}: {err}");
            assert!(err.contains("checkpoint.json") && err.contains("--fresh"), "{what}: {err}");
            assert!(!err.contains("rerun the same command"), "{what}: a hint that loops: {err}");
        }
    }
    assert_eq!(tries, 7);
}

#[test]
fn an_edited_data_prefix_a_deleted_data_file_and_a_binary_checkpoint_are_named_with_the_way_out() {
    let home = home_with("20000");
    interrupted(&home, "prefix");
    let data = home.join("prefix").join("orders.ndjson");
    let mut bytes = std::fs::read(&data).unwrap();
    bytes[10] ^= 0x01;
    std::fs::write(&data, bytes).unwrap();
    let (code, _, err) = home.run(&export_args("prefix"));
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("orders.ndjson") && err.contains("--fresh"), "{err}");

    interrupted(&home, "deleted");
    std::fs::remove_file(home.join("deleted").join("orders.ndjson")).unwrap();
    let (code, _, err) = home.run(&export_args("deleted"));
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("orders.ndjson") && err.contains("--fresh"), "{err}");
    assert!(!err.contains("rerun the same command"), "a hint that loops: {err}");

    interrupted(&home, "binary");
    std::fs::write(checkpoint_path(&home, "binary"), b"{\"fingerprint\": \xff\xfe}").unwrap();
    let (code, _, err) = home.run(&export_args("binary"));
    assert_eq!(code, 8, "{err}");
    assert!(err.contains("checkpoint.json") && err.contains("--fresh"), "{err}");
    // And --fresh is a way out that works.
    let mut fresh = export_args("binary");
    fresh.push("--fresh");
    assert_eq!(home.run(&fresh).0, 0);
}

#[test]
fn a_resume_after_a_sandbox_reset_is_refused() {
    let home = home_with("20000");
    interrupted(&home, "exp");
    let (code, _, err) = home.run(&["sandbox", "reset", "--seed", "8", "--orders", "20000"]);
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = home.run(&export_args("exp"));
    assert_eq!(code, 2, "a resume spliced two worlds: {err}");
    assert!(err.contains("--fresh"), "{err}");
}

fn tamper_manifest(home: &Home, out: &str, edit: impl FnOnce(&mut Value)) {
    let path = home.join(out).join("manifest.json");
    let mut manifest: Value = serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    edit(&mut manifest);
    std::fs::write(&path, serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
}

#[test]
fn verify_refuses_duplicate_datasets_unknown_tools_and_newer_schemas() {
    let home = home_with("2000");
    type Edit = fn(&mut Value);
    let edits: [(&str, &str, Edit); 3] = [
        ("duplicate", "more than once", |m| {
            let first = m["datasets"][0].clone();
            m["datasets"].as_array_mut().unwrap().push(first);
        }),
        ("tool", "not shopunlink", |m| m["tool"]["name"] = "someone-else".into()),
        ("schema", "schema_version 99", |m| m["schema_version"] = 99.into()),
    ];
    for (out, says, edit) in edits {
        assert_eq!(home.run(&["export", "--out", out, "--datasets", "orders,payments"]).0, 0);
        tamper_manifest(&home, out, edit);
        let (code, stdout, err) = home.run(&["verify", out]);
        assert_eq!(code, 8, "{out}: {stdout}{err}");
        assert!(format!("{stdout}{err}").contains(says), "{out}: {stdout}{err}");
    }
}

#[test]
fn export_out_naming_a_file_is_a_usage_error() {
    let home = Home::new();
    std::fs::write(home.join("taken"), b"x").unwrap();
    let (code, _, err) = home.run(&["export", "--out", "taken"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--out") && err.contains("file"), "{err}");
    assert_eq!(std::fs::read(home.join("taken")).unwrap(), b"x");
}

fn last_export_verified(home: &Home) -> bool {
    let status = home.json(&["status"], 0);
    status["shops"][0]["readiness"]["last_export"]["verified"].as_bool().unwrap_or(false)
}

#[test]
fn a_failed_verify_always_withdraws_the_verified_mark() {
    let home = home_with("2000");
    assert_eq!(home.run(&["export", "--out", "exp"]).0, 0);
    assert_eq!(home.run(&["verify", "exp"]).0, 0);
    assert!(last_export_verified(&home));
    // The export is moved away: verify fails, and the preflight must stop relying on it.
    std::fs::rename(home.join("exp"), home.join("moved")).unwrap();
    assert_eq!(home.run(&["verify", "exp"]).0, 8);
    assert!(!last_export_verified(&home), "a failed verify left the export marked verified");
}

#[test]
fn a_process_that_waits_for_a_lock_says_what_it_waits_for() {
    let home = home_with("1000");
    assert_eq!(home.run(&["export", "--out", "exp", "--datasets", "orders"]).0, 0);
    // This test process holds the export index's lock, as a parallel `verify` would.
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(home.join("state").join("exports.json.lock"))
        .unwrap();
    lock.lock().unwrap();
    let mut child =
        home.std_cmd(&["verify", "exp", "-v"]).stdout(Stdio::null()).stderr(Stdio::piped()).spawn().unwrap();
    // The lock is let go only once the child has said what it waits for: no fixed sleep to race.
    let mut lines = std::io::BufRead::lines(std::io::BufReader::new(child.stderr.take().unwrap()));
    let mut err = String::new();
    for line in lines.by_ref() {
        let line = line.unwrap();
        err.push_str(&line);
        err.push('\n');
        if line.contains("waiting for the export index") {
            break;
        }
    }
    assert!(err.contains("waiting for the export index"), "{err}");
    lock.unlock().unwrap();
    err.extend(lines.map_while(std::result::Result::ok).map(|l| l + "\n"));
    let status = child.wait().unwrap();
    assert_eq!(status.code(), Some(0), "{err}");
}

#[test]
fn parallel_exports_and_verifies_lose_no_index_entry() {
    let home = home_with("1000");
    let children: Vec<Child> = (0..6)
        .map(|i| {
            let out = format!("p{i}");
            let mut cmd = home.std_cmd(&["export", "--out", &out, "--datasets", "orders"]);
            cmd.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
        })
        .collect();
    for mut c in children {
        assert!(c.wait().unwrap().success());
    }
    let verifies: Vec<Child> = (0..6)
        .map(|i| {
            home.std_cmd(&["verify", &format!("p{i}")]).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap()
        })
        .collect();
    for mut c in verifies {
        assert!(c.wait().unwrap().success());
    }
    let index: Value =
        serde_json::from_str(&std::fs::read_to_string(home.join("state").join("exports.json")).unwrap()).unwrap();
    let entries = index["exports"].as_array().unwrap();
    assert_eq!(entries.len(), 6, "{index}");
    assert!(entries.iter().all(|e| e["verified"] == true), "{index}");
}

// --- Hostile TikTok servers -------------------------------------------------------------------

use crate::fake_tiktok::{self, Config, Fake, Hostile};

/// `shopunlink --platform tiktok ARGS` against the API at `api`, credentials from the environment.
fn tiktok_cmd(home: &Home, api: &str, auth: &str, args: &[&str]) -> std::process::Command {
    let mut all = vec!["--platform", "tiktok"];
    all.extend_from_slice(args);
    let mut cmd = home.std_cmd(&all);
    cmd.env("SHOPUNLINK_TIKTOK_API_BASE", api)
        .env("SHOPUNLINK_TIKTOK_AUTH_BASE", auth)
        .env("SHOPUNLINK_TIKTOK_APP_KEY", fake_tiktok::APP_KEY)
        .env("SHOPUNLINK_TIKTOK_APP_SECRET", fake_tiktok::APP_SECRET)
        .env("SHOPUNLINK_TIKTOK_ACCESS_TOKEN", fake_tiktok::ACCESS_TOKEN)
        .env("SHOPUNLINK_TIKTOK_REFRESH_TOKEN", fake_tiktok::REFRESH_TOKEN)
        .env("SHOPUNLINK_TIKTOK_RETRY_BASE_MS", "2");
    cmd
}

/// Runs an export against a fake in `mode`; returns (exit code, stderr, how long it took).
fn hostile_export(mode: Hostile) -> (i32, String, Duration) {
    let fake = Fake::start(Config { hostile: Some(mode), ..Config::default() });
    let home = Home::new();
    let started = Instant::now();
    let out = tiktok_cmd(&home, &fake.api_base(), &fake.auth_base(), &["export", "--out", "exp"]).output().unwrap();
    assert_eq!(fake.violations(), Vec::<String>::new());
    (out.status.code().unwrap_or(-1), String::from_utf8_lossy(&out.stderr).into_owned(), started.elapsed())
}

#[test]
fn a_page_token_handed_back_unchanged_ends_the_export_with_exit_6_naming_the_endpoint() {
    let (code, err, took) = hostile_export(Hostile::TokenRepeat("/order/".into()));
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("POST /order/202309/orders/search") && err.contains("never end"), "{err}");
    assert!(took < Duration::from_secs(120), "{took:?}");
}

#[test]
fn page_tokens_that_cycle_end_the_export_with_exit_6_naming_the_dataset() {
    let (code, err, took) = hostile_export(Hostile::TokenCycle("/finance/202309/payments".into()));
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("payments") && err.contains("second time"), "{err}");
    assert!(took < Duration::from_secs(120), "{took:?}");
}

#[test]
fn a_page_without_its_records_key_is_exit_6_naming_the_endpoint_not_an_empty_dataset() {
    let (code, err, _) = hostile_export(Hostile::MissingKey("/finance/202309/withdrawals".into()));
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("GET /finance/202309/withdrawals") && err.contains("\"withdrawals\""), "{err}");
}

#[test]
fn a_list_shorter_than_its_total_count_is_exit_6_naming_both_numbers() {
    let (code, err, _) = hostile_export(Hostile::ShortList("/finance/202309/payments".into(), 5));
    assert_eq!(code, 6, "{err}");
    let served = Config::default().payments;
    assert!(err.contains(&format!("{served} records")) && err.contains(&format!("{}", served + 5)), "{err}");
}

#[test]
fn http_401_and_403_from_a_proxy_are_authentication_failures() {
    for status in [401, 403] {
        let (code, err, _) = hostile_export(Hostile::Status("/order/".into(), status));
        assert_eq!(code, 4, "HTTP {status}: {err}");
        assert!(err.contains(&format!("HTTP {status}")), "{err}");
    }
}

/// Peak resident memory of a running child, from Linux's high-water mark.
#[cfg(target_os = "linux")]
fn peak_rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(target_os = "linux")]
#[test]
fn an_endless_body_ends_the_export_with_exit_6_quickly_and_in_bounded_memory() {
    let api = fake_tiktok::endless_body_server();
    let home = Home::new();
    let started = Instant::now();
    let mut child = tiktok_cmd(&home, &api, &api, &["export", "--out", "exp"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut peak = 0;
    let status = loop {
        if let Some(kib) = peak_rss_kib(child.id()) {
            peak = peak.max(kib);
        }
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        assert!(started.elapsed() < Duration::from_secs(120), "still running after two minutes");
        std::thread::sleep(Duration::from_millis(5));
    };
    let mut err = String::new();
    std::io::Read::read_to_string(&mut child.stderr.take().unwrap(), &mut err).unwrap();
    assert_eq!(status.code(), Some(6), "{err}");
    assert!(err.contains("MiB"), "{err}");
    assert!(peak < 256 * 1024, "peak RSS {peak} KiB");
}
