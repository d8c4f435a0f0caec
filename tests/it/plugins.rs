//! External platforms: the example plugin end to end through the binary, the conformance suite on
//! the example and the sandbox, and plugins that crash, hang, babble or speak another version.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use assert_cmd::Command;

use crate::common::{Home, run_cmd};

/// Long enough for a slow CI runner, short enough that a hang fails the test instead of the job.
const TEST_TIMEOUT: Duration = Duration::from_secs(60);

fn examples_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/platforms")
}

/// `PATH` with `dir` first, for the spawned binary only.
fn path_with(dir: &Path) -> std::ffi::OsString {
    let rest = std::env::var_os("PATH").unwrap_or_default();
    std::env::join_paths(std::iter::once(dir.to_owned()).chain(std::env::split_paths(&rest))).expect("PATH")
}

/// The example plugin is Python; without `python3` these tests say so and pass.
#[allow(clippy::print_stderr)]
fn have_python() -> bool {
    let ok = std::process::Command::new("python3").arg("--version").output().is_ok_and(|o| o.status.success());
    if !ok {
        eprintln!("note: python3 is not installed; skipping the example plugin test");
    }
    ok
}

/// `shopunlink ARGS` with `dir` on PATH, a short plugin deadline and a test deadline.
fn cmd_with(home: &Home, dir: &Path, args: &[&str]) -> Command {
    let mut cmd = home.cmd(args);
    cmd.env("PATH", path_with(dir)).env("SHOPUNLINK_PLUGIN_TIMEOUT", "3").timeout(TEST_TIMEOUT);
    cmd
}

fn example(home: &Home, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--platform", "example"];
    all.extend_from_slice(args);
    run_cmd(cmd_with(home, &examples_dir(), &all))
}

fn example_json(home: &Home, args: &[&str], code: i32) -> serde_json::Value {
    let mut all = args.to_vec();
    all.push("--json");
    let (got, out, err) = example(home, &all);
    assert_eq!(got, code, "{all:?}\nstdout: {out}\nstderr: {err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("not JSON ({e}): {out}"))
}

fn link_state(home: &Home, handle: &str) -> String {
    let status = example_json(home, &["status"], 0);
    let links = status["shops"][0]["links"].as_array().expect("links").clone();
    let link = links.iter().find(|l| l["handle"] == handle).unwrap_or_else(|| panic!("{handle} in {status}"));
    link["state"].as_str().expect("state").to_owned()
}

#[test]
fn the_example_plugin_works_end_to_end() {
    if !have_python() {
        return;
    }
    let home = Home::new();
    assert_eq!(link_state(&home, "stockbot"), "linked");

    let out = home.join("export");
    let manifest = example_json(&home, &["export", "--out", out.to_str().unwrap()], 0);
    let counts: Vec<_> = manifest["datasets"].as_array().unwrap().iter().map(|d| d["records"].clone()).collect();
    assert_eq!(counts, [250, 12], "{manifest}");
    let first = std::fs::read_to_string(out.join("orders.ndjson")).unwrap();
    assert!(first.starts_with(r#"{"id":"EX-O-00000","created_at":"2024-01-01T00:00:00Z""#), "{first:.200}");
    assert!(first.contains("Zoë Müller"), "records keep the plugin's own UTF-8 bytes");
    let verified = example_json(&home, &["verify", out.to_str().unwrap()], 0);
    assert_eq!(verified["ok"], true);

    // The first run has the code sent and asks for --otp; the plugin wrote it to its state dir.
    let (code, _, err) = example(&home, &["disconnect", "stockbot", "--no-input", "--yes"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--otp"), "{err}");
    let sent = std::fs::read_to_string(home.join("state/plugins/example/default/code")).expect("the code file");
    let receipt = example_json(&home, &["disconnect", "stockbot", "--no-input", "--yes", "--otp", sent.trim()], 0);
    assert_eq!(receipt["link"]["handle"], "stockbot", "{receipt}");
    let receipts: Vec<_> = std::fs::read_dir(home.join("state/receipts"))
        .expect("receipts")
        .filter(|e| e.as_ref().is_ok_and(|e| e.path().extension().is_some_and(|x| x == "json")))
        .collect();
    assert_eq!(receipts.len(), 1, "one receipt (and its text copy)");
    assert_eq!(link_state(&home, "stockbot"), "unlinked", "the disconnect persists across runs");

    let (code, _, err) = example(&home, &["disconnect", "stockbot", "--no-input", "--yes"]);
    assert_eq!(code, 0, "a link already gone is success: {err}");
}

#[test]
fn the_examples_guided_link_waits_for_the_owner() {
    if !have_python() {
        return;
    }
    let home = Home::new();
    let out = home.join("export");
    assert_eq!(example(&home, &["export", "--out", out.to_str().unwrap()]).0, 0);
    assert_eq!(example(&home, &["verify", out.to_str().unwrap()]).0, 0);
    let (code, _, err) = example(&home, &["disconnect", "@examplecrafts", "--no-input", "--yes"]);
    assert_eq!(code, 2, "{err}");
    let sent = std::fs::read_to_string(home.join("state/plugins/example/default/code")).expect("the code file");
    let (code, out, err) =
        example(&home, &["disconnect", "@examplecrafts", "--no-input", "--yes", "--otp", sent.trim()]);
    assert_eq!(code, 0, "{out}\n{err}");
    assert!(out.contains("Example Seller Hub"), "the owner's steps are shown with the result: {out}");
    assert_eq!(link_state(&home, "@examplecrafts"), "awaiting_owner");
    std::fs::write(home.join("state/plugins/example/default/owner-done-ex-link-official"), "").unwrap();
    assert_eq!(link_state(&home, "@examplecrafts"), "unlinked");
}

#[test]
fn the_plugins_stderr_is_shown_at_verbose() {
    if !have_python() {
        return;
    }
    let home = Home::new();
    let (code, _, quiet) = example(&home, &["status"]);
    assert_eq!(code, 0, "{quiet}");
    assert!(!quiet.contains("example: state in"), "{quiet}");
    let (code, _, loud) = example(&home, &["status", "-v"]);
    assert_eq!(code, 0, "{loud}");
    assert!(loud.contains("example: state in"), "{loud}");
}

fn check(home: &Home, name: &str) -> serde_json::Value {
    let started = Instant::now();
    let (code, out, err) = run_cmd(cmd_with(home, &examples_dir(), &["platform", "check", name, "--json"]));
    assert_eq!(code, 0, "platform check {name}\nstdout: {out}\nstderr: {err}");
    assert!(started.elapsed() < TEST_TIMEOUT);
    let doc: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let checks = doc["checks"].as_array().expect("checks");
    assert!(checks.iter().all(|c| c["ok"] == true), "{doc}");
    doc
}

#[test]
fn the_example_passes_the_conformance_suite() {
    if !have_python() {
        return;
    }
    let home = Home::new();
    let doc = check(&home, "example");
    let names: Vec<_> =
        doc["checks"].as_array().unwrap().iter().map(|c| c["name"].as_str().unwrap().to_owned()).collect();
    for expected in ["pages:orders", "resume:orders", "unknown_shop", "wrong_code", "forged_grant", "disconnect"] {
        assert!(names.iter().any(|n| n == expected), "{expected} in {names:?}");
    }
    assert!(!home.join("state/plugins").exists(), "the check ran in a temporary state dir");
}

#[test]
fn the_sandbox_passes_the_conformance_suite() {
    let home = Home::new();
    let doc = check(&home, "sandbox");
    assert_eq!(doc["platform"], "sandbox");
    let (code, out, err) = home.run(&["status", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert!(!out.contains("\"unlinked\""), "the user's own sandbox is untouched: {out}");
}

#[test]
fn platform_list_shows_builtins_and_plugins_on_path() {
    let home = Home::new();
    let (code, out, err) = run_cmd(cmd_with(&home, &examples_dir(), &["platform", "list", "--json"]));
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let rows = doc["platforms"].as_array().unwrap();
    assert!(rows.iter().any(|r| r["name"] == "sandbox" && r["builtin"] == true), "{doc}");
    assert!(rows.iter().any(|r| r["name"] == "example" && r["builtin"] == false), "{doc}");
}

#[test]
fn an_unknown_platform_names_the_plugin_it_looked_for() {
    let home = Home::new();
    let (code, _, err) = home.run(&["--platform", "nosuch", "status"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("shopunlink-platform-nosuch"), "{err}");
}

/// Writes an executable `shopunlink-platform-NAME` shell script into `dir`.
#[cfg(unix)]
fn broken_plugin(dir: &Path, name: &str, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    let path = dir.join(format!("shopunlink-platform-{name}"));
    std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// `status` against a broken plugin fails with exit 6, naming the plugin, within seconds.
#[cfg(unix)]
fn fails_clearly(name: &str, body: &str, says: &str) {
    let home = Home::new();
    let bin = tempfile::tempdir().unwrap();
    broken_plugin(bin.path(), name, body);
    let started = Instant::now();
    let (code, _, err) = run_cmd(cmd_with(&home, bin.path(), &["--platform", name, "status"]));
    let took = started.elapsed();
    assert_eq!(code, 6, "{err}");
    assert!(err.contains(&format!("shopunlink-platform-{name}")), "{err}");
    assert!(err.contains(says), "{says:?} in {err}");
    assert!(took < Duration::from_secs(20), "took {took:?}");
}

#[cfg(unix)]
#[test]
fn a_plugin_that_exits_at_once_is_a_clear_platform_error() {
    fails_clearly("quitter", "exit 3", "exit");
}

#[cfg(unix)]
#[test]
fn a_plugin_that_never_answers_times_out() {
    fails_clearly("sleeper", "exec sleep 600", "no answer within 3 s");
}

#[cfg(unix)]
#[test]
fn a_plugin_that_prints_garbage_is_a_clear_platform_error() {
    fails_clearly("babbler", "read line\necho 'hello, I am not JSON'\nexec sleep 600", "not JSON");
}

#[cfg(unix)]
#[test]
fn a_plugin_of_another_protocol_version_is_refused() {
    let answer = r#"{"jsonrpc":"2.0","id":1,"result":{"protocol_version":2,"name":"future","display_name":"F","datasets":[{"name":"orders"}]}}"#;
    fails_clearly("future", &format!("read line\necho '{answer}'\nread line"), "it speaks protocol 2");
}

#[cfg(unix)]
#[test]
fn a_plugin_that_answers_another_request_is_a_clear_platform_error() {
    let answer = r#"{"jsonrpc":"2.0","id":99,"result":{}}"#;
    fails_clearly("liar", &format!("read line\necho '{answer}'\nread line"), "response to request 1");
}

#[cfg(unix)]
#[test]
fn a_plugin_that_speaks_none_of_our_versions_says_so() {
    let answer = r#"{"jsonrpc":"2.0","id":1,"error":{"code":-32001,"message":"I speak protocol 7","data":{"kind":"platform","supported":[7]}}}"#;
    fails_clearly(
        "ancient",
        &format!("read line\necho '{answer}'\nread line"),
        "shopunlink speaks plugin protocol [1]",
    );
}
