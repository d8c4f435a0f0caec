//! `auth login | logout | status | totp`: where secrets go, which source wins, and the TOTP path
//! of a disconnect. No test needs a keyring daemon: the keyring is off (`SHOPUNLINK_KEYRING=none`)
//! or, on Linux, the real Secret Service client is pointed at a session bus that does not exist.

use crate::common::{Home, mode, run_cmd, run_with_stdin, totp_code};
use crate::token_server::{self, ACCESS_EXPIRES, SELLER, redirect_url, tiktok_cmd};

fn status_json(home: &Home, server: &wiremock::MockServer, extra_env: &[(&str, &str)]) -> serde_json::Value {
    let mut cmd = tiktok_cmd(home, server, &["auth", "status", "--json"]);
    for (k, v) in extra_env {
        cmd.env(k, v);
    }
    let (code, out, err) = run_cmd(cmd);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"))
}

#[test]
fn sandbox_login_needs_nothing() {
    let home = Home::new();
    let (code, out, _) = home.run(&["auth", "login"]);
    assert_eq!(code, 0);
    assert!(out.contains("needs no credentials"), "{out}");
    let doc = home.json(&["auth", "login"], 0);
    assert_eq!(doc["needs_credentials"], false);
    assert!(!home.join("state/credentials").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn login_with_token_stores_a_0600_file_when_no_keyring_is_reachable() {
    let server = token_server::start().await;
    let home = Home::new();
    let (code, out, err) =
        run_with_stdin(tiktok_cmd(&home, &server, &["auth", "login", "--with-token"]), &redirect_url());
    assert_eq!(code, 0, "{out}\n{err}");
    let file = home.join("state/credentials/default.json");
    assert!(
        err.contains("not reachable") && err.contains(&file.display().to_string()),
        "the warning names the file: {err}"
    );
    assert!(out.contains(SELLER), "{out}");
    #[cfg(unix)]
    assert_eq!(mode(&file), 0o600);
    let doc = status_json(&home, &server, &[]);
    let p = &doc["profiles"][0];
    assert_eq!(p["source"], "file");
    assert_eq!(p["platform"], "tiktok");
    assert_eq!(p["access_token_expires_at"], "2100-01-01T00:00:00Z");
    assert_eq!(p["shops"][0], SELLER);
    assert_eq!(p["scopes"][1], "seller.order.info");
    let _ = ACCESS_EXPIRES;
}

/// The real OS keyring client with no D-Bus session: what a container, SSH session or WSL sees.
#[cfg(target_os = "linux")]
#[tokio::test(flavor = "multi_thread")]
async fn headless_login_without_dbus_falls_back_to_the_file_within_the_timeout() {
    let server = token_server::start().await;
    let home = Home::new();
    let mut cmd = tiktok_cmd(&home, &server, &["auth", "login", "--with-token"]);
    cmd.env("SHOPUNLINK_KEYRING", "os")
        .env_remove("DBUS_SESSION_BUS_ADDRESS")
        .env("XDG_RUNTIME_DIR", home.path())
        // A hung keyring call would be killed here and fail the test; no speed is asserted.
        .timeout(std::time::Duration::from_secs(30));
    let (code, _, err) = run_with_stdin(cmd, &redirect_url());
    assert_eq!(code, 0, "{err}");
    assert!(err.contains("OS keyring is not reachable"), "{err}");
    assert!(home.join("state/credentials/default.json").exists());
}

#[tokio::test(flavor = "multi_thread")]
async fn insecure_storage_is_consent_so_no_warning() {
    let server = token_server::start().await;
    let home = Home::new();
    let cmd = tiktok_cmd(&home, &server, &["auth", "login", "--with-token", "--insecure-storage", "--json"]);
    let (code, out, err) = run_with_stdin(cmd, crate::token_server::AUTH_CODE);
    assert_eq!(code, 0, "{err}");
    assert!(!err.contains("warning"), "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["source"], "file");
    assert!(doc["path"].as_str().unwrap().ends_with("default.json"));
}

#[tokio::test(flavor = "multi_thread")]
async fn env_tokens_beat_the_stored_file() {
    let server = token_server::start().await;
    let home = Home::new();
    let (code, _, err) =
        run_with_stdin(tiktok_cmd(&home, &server, &["auth", "login", "--with-token"]), &redirect_url());
    assert_eq!(code, 0, "{err}");
    let doc = status_json(&home, &server, &[("SHOPUNLINK_TIKTOK_ACCESS_TOKEN", "env-token-77")]);
    assert_eq!(doc["profiles"][0]["source"], "env");
    assert!(!doc.to_string().contains("env-token-77"));
    // The app key and secret alone are not credentials: the stored file is still used.
    assert_eq!(status_json(&home, &server, &[])["profiles"][0]["source"], "file");
}

#[tokio::test(flavor = "multi_thread")]
async fn logout_deletes_what_is_stored_and_explains_env_credentials() {
    let server = token_server::start().await;
    let home = Home::new();
    let (code, _, err) =
        run_with_stdin(tiktok_cmd(&home, &server, &["auth", "login", "--with-token"]), &redirect_url());
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = run_cmd(tiktok_cmd(&home, &server, &["auth", "logout", "--json"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap()["removed_from"][0], "file");
    assert!(!home.join("state/credentials/default.json").exists());
    assert_eq!(status_json(&home, &server, &[])["profiles"][0]["source"], "none");
    let (code, out, _) = run_cmd(tiktok_cmd(&home, &server, &["auth", "logout"]));
    assert_eq!(code, 0);
    assert!(out.contains("nothing to remove"), "{out}");
    let mut cmd = tiktok_cmd(&home, &server, &["auth", "logout"]);
    cmd.env("SHOPUNLINK_TIKTOK_ACCESS_TOKEN", "env-token-77");
    let (code, _, err) = run_cmd(cmd);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("cannot remove") && err.contains("unset SHOPUNLINK_TIKTOK_ACCESS_TOKEN"), "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn login_needs_the_app_key_from_env_or_a_prompt_never_a_flag() {
    let server = token_server::start().await;
    let home = Home::new();
    let mut cmd = tiktok_cmd(&home, &server, &["auth", "login", "--with-token"]);
    cmd.env_remove("SHOPUNLINK_TIKTOK_APP_KEY");
    let (code, _, err) = run_with_stdin(cmd, &redirect_url());
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("SHOPUNLINK_TIKTOK_APP_KEY"), "{err}");
    let (code, _, err) = home.run(&["auth", "login", "--platform", "tiktok", "--app-secret", "x"]);
    assert_eq!(code, 2, "{err}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_code_is_exit_4_with_the_request_id() {
    let server = token_server::start().await;
    let home = Home::new();
    let cmd = tiktok_cmd(&home, &server, &["auth", "login", "--with-token", "--json"]);
    let (code, out, _) = run_with_stdin(cmd, "wrong-code");
    assert_eq!(code, 4);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["error"]["kind"], "auth");
    assert_eq!(doc["error"]["request_id"], "req-token-bad");
    let cmd = tiktok_cmd(&home, &server, &["auth", "login", "--with-token"]);
    let (code, _, err) = run_with_stdin(cmd, "https://app.example.invalid/cb?error=auth_denied&state=x");
    assert_eq!(code, 4, "{err}");
    assert!(!home.join("state/credentials/default.json").exists());
}

#[test]
fn a_corrupt_credentials_entry_is_exit_4_naming_the_profile() {
    let home = Home::new();
    std::fs::create_dir_all(home.join("state/credentials")).unwrap();
    std::fs::write(home.join("state/credentials/acme.json"), "{\"app_key\": tru").unwrap();
    let mut cmd = home.cmd(&["auth", "status", "--profile", "acme"]);
    cmd.env("SHOPUNLINK_KEYRING", "none");
    let (code, _, err) = run_cmd(cmd);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("profile acme") && err.contains("auth logout --profile acme"), "{err}");
    let mut cmd = home.cmd(&["auth", "logout", "--profile", "acme"]);
    cmd.env("SHOPUNLINK_KEYRING", "none");
    assert_eq!(run_cmd(cmd).0, 0, "logout clears a corrupt entry");
}

fn enroll(home: &Home) -> String {
    let mut cmd = home.cmd(&["auth", "totp", "enroll", "--json"]);
    cmd.env("SHOPUNLINK_KEYRING", "none");
    let (code, out, err) = run_cmd(cmd);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["schema_version"], 1);
    let uri = doc["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/shopunlink:default?"), "{uri}");
    doc["secret"].as_str().unwrap().to_owned()
}

fn totp_disconnect(home: &Home, handle: &str, code: &str) -> (i32, String, String) {
    let mut cmd = home.cmd(&[
        "disconnect",
        handle,
        "--yes",
        "--allow-unexported",
        "--allow-pending-funds",
        "--otp",
        code,
        "--json",
    ]);
    cmd.env("SHOPUNLINK_KEYRING", "none");
    run_cmd(cmd)
}

#[test]
fn totp_enroll_then_disconnect_with_a_code_and_the_same_code_is_refused() {
    let home = Home::new();
    assert_eq!(home.run(&["sandbox", "reset", "--profile-totp"]).0, 0);
    // Without a TOTP the disconnect stops before changing anything and says what to run.
    let (code, out, err) = totp_disconnect(&home, "@democrafts.deals", "123456");
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("shopunlink auth totp enroll"), "{err}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap()["error"]["exit_code"], 4);
    let secret = enroll(&home);
    let otp = totp_code(&secret);
    let (code, out, err) = totp_disconnect(&home, "@democrafts.deals", &otp);
    assert_eq!(code, 0, "{err}");
    let receipt: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(receipt["outcome"], "disconnected");
    assert_eq!(receipt["second_factor"]["method"], "totp");
    // The same code, a second time within its window, on another link: refused as used (not as
    // wrong: the seller should wait for the next code, not look for a typo), nothing changed, and
    // the audit log says which it was.
    let (code, out, err) = totp_disconnect(&home, "@lunabeauty", &otp);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("that code was already used; wait for the next one"), "{err}");
    assert!(!err.contains("wrong"), "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["error"]["reason"], "code_reused", "{doc}");
    let audit = std::fs::read_to_string(home.join("state/audit.log")).unwrap();
    let last: serde_json::Value = serde_json::from_str(audit.lines().last().unwrap()).unwrap();
    assert_eq!((&last["event"], &last["handle"]), (&"disconnect.code_reused".into(), &"@lunabeauty".into()), "{last}");
    // A code that was never right still reads as wrong, and is logged as a failure.
    let wrong = format!("{:06}", (otp.parse::<u32>().unwrap() + 500_000) % 1_000_000);
    let (code, _, err) = totp_disconnect(&home, "@lunabeauty", &wrong);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("wrong one-time code"), "{err}");
    let audit = std::fs::read_to_string(home.join("state/audit.log")).unwrap();
    assert!(audit.lines().last().unwrap().contains("disconnect.failed"), "{audit}");
    let status = home.json(&["status"], 0);
    let luna = status["shops"][0]["links"].as_array().unwrap().iter().find(|l| l["handle"] == "@lunabeauty").cloned();
    assert_eq!(luna.unwrap()["state"], "linked");
}

#[test]
fn totp_enroll_refuses_to_replace_without_force_and_remove_deletes() {
    let home = Home::new();
    let first = enroll(&home);
    let mut cmd = home.cmd(&["auth", "totp", "enroll"]);
    cmd.env("SHOPUNLINK_KEYRING", "none");
    let (code, _, err) = run_cmd(cmd);
    assert_eq!(code, 2);
    assert!(err.contains("--force"), "{err}");
    let mut cmd = home.cmd(&["auth", "totp", "enroll", "--force", "--insecure-storage"]);
    cmd.env("SHOPUNLINK_KEYRING", "none");
    let (code, out, err) = run_cmd(cmd);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("otpauth://totp/") && !out.contains(&first), "a new secret is shown");
    let mut cmd = home.cmd(&["auth", "totp", "remove"]);
    cmd.env("SHOPUNLINK_KEYRING", "none");
    assert_eq!(run_cmd(cmd).0, 0);
    assert!(!home.join("state/credentials/default.totp").exists());
    let doc = home.json(&["auth", "status"], 0);
    assert_eq!(doc["profiles"][0]["totp"], "none");
}
