//! The leak test: every command at `-vv`, with known fake secrets (sandbox, and a local stand-in
//! for TikTok's auth host), and none of those secrets may appear on stdout, stderr, in receipts,
//! the audit log, exports or any other file under SHOPUNLINK_HOME. The one exception is the
//! credentials files themselves (`state/credentials/<profile>.json` and `.totp`), which hold the
//! secrets by design and must be 0600. The TOTP secret is also shown once, on purpose, on the
//! stdout of `auth totp enroll`; that one output is the only one not scanned for it.

use std::path::{Path, PathBuf};

use crate::common::{Home, run_cmd, run_with_stdin, totp_code};
use crate::token_server::{self, ACCESS_TOKEN, APP_SECRET, AUTH_CODE, REFRESH_TOKEN, redirect_url, tiktok_cmd};

const ENV_ACCESS: &str = "envaccess-LEAKCHECK-e5";
const ENV_REFRESH: &str = "envrefresh-LEAKCHECK-f6";

/// Everything printed, labelled by the command that printed it.
#[derive(Default)]
struct Printed(Vec<(String, String)>);

impl Printed {
    fn add(&mut self, label: &str, (code, out, err): (i32, String, String), expect: i32) -> String {
        assert_eq!(code, expect, "{label}\nstdout: {out}\nstderr: {err}");
        self.0.push((format!("{label} (stdout)"), out.clone()));
        self.0.push((format!("{label} (stderr)"), err));
        out
    }
}

fn sandbox_cmd(home: &Home, args: &[&str]) -> assert_cmd::Command {
    let mut all = vec!["-vv"];
    all.extend_from_slice(args);
    let mut cmd = home.cmd(&all);
    cmd.env("SHOPUNLINK_KEYRING", "none")
        .env("SHOPUNLINK_TIKTOK_APP_KEY", token_server::APP_KEY)
        .env("SHOPUNLINK_TIKTOK_APP_SECRET", APP_SECRET);
    cmd
}

fn run_sandbox_mission(home: &Home, printed: &mut Printed) {
    for args in [&["status"][..], &["sandbox", "show"], &["auth", "login"], &["auth", "status"], &["doctor"]] {
        printed.add(&args.join(" "), run_cmd(sandbox_cmd(home, args)), 0);
    }
    printed.add("export", run_cmd(sandbox_cmd(home, &["export", "--out", "exp"])), 0);
    printed.add("verify", run_cmd(sandbox_cmd(home, &["verify", "exp"])), 0);
    let disconnect = ["disconnect", "@democrafts.deals", "--yes", "--allow-pending-funds"];
    printed.add("disconnect (no code)", run_cmd(sandbox_cmd(home, &disconnect)), 2);
    let code = printed.add("sandbox code", run_cmd(sandbox_cmd(home, &["sandbox", "code"])), 0);
    let mut cmd = sandbox_cmd(home, &disconnect);
    cmd.env("SHOPUNLINK_OTP", code.trim());
    printed.add("disconnect", run_cmd(cmd), 0);
    printed.add("doctor --support", run_cmd(sandbox_cmd(home, &["doctor", "--support"])), 0);
}

fn tiktok(home: &Home, server: &wiremock::MockServer, args: &[&str]) -> assert_cmd::Command {
    let mut all = vec!["-vv"];
    all.extend_from_slice(args);
    tiktok_cmd(home, server, &all)
}

fn run_tiktok_auth(home: &Home, server: &wiremock::MockServer, printed: &mut Printed) {
    let login = tiktok(home, server, &["auth", "login", "--with-token"]);
    let out = printed.add("auth login --with-token", run_with_stdin(login, &redirect_url()), 0);
    assert!(out.contains(token_server::SELLER));
    let stderr = &printed.0.last().expect("recorded").1;
    assert!(stderr.contains("token request"), "-vv shows the HTTP request: {stderr}");
    // The doctor finds problems here (no TOTP enrolled: exit 4), and still prints no secret.
    let expect = |args: &[&str]| if args[0] == "doctor" { 4 } else { 0 };
    for args in [&["auth", "status"][..], &["auth", "status", "--json"], &["doctor"], &["doctor", "--json"]] {
        printed.add(&format!("tiktok {}", args.join(" ")), run_cmd(tiktok(home, server, args)), expect(args));
    }
    printed.add("tiktok doctor --support", run_cmd(tiktok(home, server, &["doctor", "--support"])), 4);
    for args in [&["auth", "status", "--json"][..], &["doctor", "--json"]] {
        let mut cmd = tiktok(home, server, args);
        cmd.env("SHOPUNLINK_TIKTOK_ACCESS_TOKEN", ENV_ACCESS).env("SHOPUNLINK_TIKTOK_REFRESH_TOKEN", ENV_REFRESH);
        printed.add(&format!("env {}", args.join(" ")), run_cmd(cmd), expect(args));
    }
}

/// Enrols a TOTP and disconnects with it; returns the TOTP secret and the code used.
fn run_totp(home: &Home, printed: &mut Printed) -> (String, String) {
    let (code, out, err) = run_cmd(sandbox_cmd(home, &["auth", "totp", "enroll", "--json"]));
    assert_eq!(code, 0, "{err}");
    printed.0.push(("auth totp enroll (stderr)".into(), err));
    let secret = serde_json::from_str::<serde_json::Value>(&out).unwrap()["secret"].as_str().unwrap().to_owned();
    printed.add("sandbox reset", run_cmd(sandbox_cmd(home, &["sandbox", "reset", "--profile-totp"])), 0);
    let otp = totp_code(&secret);
    let args = ["disconnect", "@lunabeauty", "--yes", "--allow-pending-funds", "--allow-unexported", "--otp", &otp];
    printed.add("totp disconnect", run_cmd(sandbox_cmd(home, &args)), 0);
    printed.add("auth status (totp)", run_cmd(sandbox_cmd(home, &["auth", "status", "--json"])), 0);
    (secret, otp)
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() { out.extend(files_under(&path)) } else { out.push(path) }
    }
    out
}

fn is_credentials_file(home: &Home, path: &Path) -> bool {
    path.parent() == Some(home.join("state/credentials").as_path())
}

#[tokio::test(flavor = "multi_thread")]
async fn no_secret_reaches_output_logs_receipts_or_files_at_vv() {
    let server = token_server::start().await;
    let home = Home::new();
    let mut printed = Printed::default();
    run_sandbox_mission(&home, &mut printed);
    run_tiktok_auth(&home, &server, &mut printed);
    let (totp_secret, otp) = run_totp(&home, &mut printed);
    let secrets = [APP_SECRET, AUTH_CODE, ACCESS_TOKEN, REFRESH_TOKEN, ENV_ACCESS, ENV_REFRESH, &totp_secret];

    for (label, text) in &printed.0 {
        for s in secrets {
            assert!(!text.contains(s), "{label} shows a secret ({s}):\n{text}");
        }
    }
    let mut credential_files = 0;
    for path in files_under(home.path()) {
        if is_credentials_file(&home, &path) {
            // The only place secrets may be: private to the user.
            #[cfg(unix)]
            assert_eq!(crate::common::mode(&path), 0o600, "{}", path.display());
            credential_files += 1;
            continue;
        }
        let text = String::from_utf8_lossy(&std::fs::read(&path).unwrap()).into_owned();
        for s in secrets {
            assert!(!text.contains(s), "{} contains a secret ({s})", path.display());
        }
        if path.starts_with(home.join("state/receipts")) || path.ends_with("audit.log") {
            assert!(!text.contains(&format!("\"{otp}\"")), "{} records the one-time code", path.display());
        }
    }
    assert_eq!(credential_files, 2, "default.json (tokens) and default.totp");
    printed.add("auth logout", run_cmd(tiktok(&home, &server, &["auth", "logout"])), 0);
    for s in secrets {
        assert!(!printed.0.last().unwrap().1.contains(s));
    }
    assert!(!home.join("state/credentials/default.json").exists());
}
