//! The `tiktok` platform against the fake TikTok Shop in [`crate::fake_tiktok`]: the built
//! binary for export, status, errors, logging and the guided disconnect end to end (login into
//! the 0600 file, export, verify, disconnect with the profile TOTP, `--wait`); the library for
//! the disconnect's parts in isolation (webhooks, forgetting, reading a deauthorization).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use shopunlink::credentials::{CredentialStore, Credentials, MemoryStore, Secret};
use shopunlink::platform::tiktok::Tiktok;
use shopunlink::platform::{Grant, Platform, PlatformContext, PlatformSettings};

#[cfg(unix)]
use crate::common::mode;
use crate::common::{DATASETS, Home, run_cmd, run_with_stdin};
use crate::fake_tiktok::{self, Config, Fake};

/// Every secret the fake hands out; none may ever reach stderr or stdout.
const SECRETS: [&str; 5] = [
    fake_tiktok::APP_SECRET,
    fake_tiktok::ACCESS_TOKEN,
    fake_tiktok::REFRESH_TOKEN,
    fake_tiktok::REFRESHED_ACCESS_TOKEN,
    fake_tiktok::REFRESHED_REFRESH_TOKEN,
];

/// `shopunlink --platform tiktok ARGS` against `fake` with the app identity (key and secret) in
/// the environment, fast retries, and no tokens yet.
fn app_cmd(home: &Home, fake: &Fake, args: &[&str]) -> assert_cmd::Command {
    assert_cmd::Command::from_std(app_std_cmd(home, fake, args))
}

/// [`app_cmd`] as a plain `std::process::Command`, for tests that spawn, kill or signal it.
fn app_std_cmd(home: &Home, fake: &Fake, args: &[&str]) -> std::process::Command {
    let mut all = vec!["--platform", "tiktok"];
    all.extend_from_slice(args);
    let mut cmd = home.std_cmd(&all);
    cmd.env("SHOPUNLINK_TIKTOK_API_BASE", fake.api_base())
        .env("SHOPUNLINK_TIKTOK_AUTH_BASE", fake.auth_base())
        .env("SHOPUNLINK_TIKTOK_APP_KEY", fake_tiktok::APP_KEY)
        .env("SHOPUNLINK_TIKTOK_APP_SECRET", fake_tiktok::APP_SECRET)
        .env("SHOPUNLINK_TIKTOK_RETRY_BASE_MS", "2");
    cmd
}

/// `shopunlink --platform tiktok ARGS` against `fake`, credentials from the environment (CI style).
fn env_cmd(home: &Home, fake: &Fake, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = app_cmd(home, fake, args);
    cmd.env("SHOPUNLINK_TIKTOK_ACCESS_TOKEN", fake_tiktok::ACCESS_TOKEN)
        .env("SHOPUNLINK_TIKTOK_REFRESH_TOKEN", fake_tiktok::REFRESH_TOKEN);
    cmd
}

/// [`env_cmd`], run.
fn run(home: &Home, fake: &Fake, args: &[&str]) -> (i32, String, String) {
    run_cmd(env_cmd(home, fake, args))
}

fn lines(home: &Home, dir: &str, dataset: &str) -> Vec<String> {
    let text = std::fs::read_to_string(home.join(dir).join(format!("{dataset}.ndjson"))).expect("ndjson");
    text.lines().map(str::to_owned).collect()
}

fn assert_no_secrets(text: &str) {
    for secret in SECRETS {
        assert!(!text.contains(secret), "a secret leaked: {text}");
    }
}

#[test]
fn tiktok_export_under_faults_and_a_token_expiry_equals_the_fakes_data() {
    let config =
        Config { fault_percent: 10, dropped_connections: 2, expire_token_after: Some(40), ..Config::default() };
    let fake = Fake::start(config);
    let home = Home::new();
    let (code, out, err) = run(&home, &fake, &["export", "--out", "exp", "--json", "-vv"]);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert_eq!(fake.violations(), Vec::<String>::new());
    for dataset in DATASETS {
        let want = fake.records(dataset, None, None);
        assert!(!want.is_empty(), "{dataset}");
        assert_eq!(lines(&home, "exp", dataset), want, "{dataset} differs from what the API sent");
    }
    assert_eq!(fake.refreshes(), 1, "concurrent datasets refreshed the token more than once");
    assert!(fake.faults() >= 5, "too few faults injected to mean anything: {}", fake.faults());
    let tokens: Vec<_> = fake.seen().into_iter().filter_map(|s| s.query.get("page_token").cloned()).collect();
    assert!(tokens.iter().any(|t| t.contains('/') && t.contains('+') && t.contains('=')), "{tokens:?}");
    // -vv shows every request, and never a secret.
    assert!(err.contains("tiktok request") && err.contains("/order/202309/orders/search"), "{err}");
    assert!(err.contains("refreshing"), "{err}");
    assert_no_secrets(&err);
    assert_no_secrets(&out);
    let manifest: serde_json::Value = serde_json::from_str(&out).expect("manifest JSON");
    assert_eq!(manifest["complete"], true);
    assert_eq!(manifest["shop"]["id"], fake_tiktok::SHOP_ID);
    assert_eq!(home.run(&["verify", "exp"]).0, 0);
}

#[test]
fn tiktok_since_and_until_become_each_endpoints_own_filters() {
    let fake = Fake::start(Config::default());
    let home = Home::new();
    let since = fake.t0() + 3 * 86400;
    let until = fake.t0() + 40 * 86400;
    let rfc = |t: i64| chrono::DateTime::from_timestamp(t, 0).expect("time").to_rfc3339();
    let (s, u) = (rfc(since), rfc(until));
    let (code, _, err) = run(&home, &fake, &["export", "--out", "exp", "--since", &s, "--until", &u]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(fake.violations(), Vec::<String>::new());
    for dataset in DATASETS {
        assert_eq!(lines(&home, "exp", dataset), fake.records(dataset, Some(since), Some(until)), "{dataset}");
    }
    let seen = fake.seen();
    let first = |path: &str| seen.iter().find(|s| s.path == path).expect(path).clone();
    assert_eq!(first("/order/202309/orders/search").method, "POST");
    // Orders may be read in windows side by side: together they are exactly the range.
    let windows: Vec<(i64, i64)> = seen
        .iter()
        .filter(|s| s.path == "/order/202309/orders/search")
        .map(|s| serde_json::from_str::<serde_json::Value>(&s.body).unwrap())
        .map(|b| (b["create_time_ge"].as_i64().unwrap(), b["create_time_lt"].as_i64().unwrap()))
        .collect();
    assert_eq!(windows.iter().map(|w| w.0).min(), Some(since), "{windows:?}");
    assert_eq!(windows.iter().map(|w| w.1).max(), Some(until), "{windows:?}");
    assert!(windows.iter().all(|&(ge, lt)| since <= ge && ge < lt && lt <= until), "{windows:?}");
    let products: serde_json::Value = serde_json::from_str(&first("/product/202502/products/search").body).unwrap();
    assert_eq!(
        (products["create_time_ge"].as_i64(), products["create_time_le"].as_i64()),
        (Some(since), Some(until - 1))
    );
    let statements = first("/finance/202309/statements").query;
    assert_eq!(statements.get("statement_time_ge"), Some(&since.to_string()));
    assert_eq!(statements.get("statement_time_lt"), Some(&until.to_string()));
    for path in ["/finance/202309/payments", "/finance/202309/withdrawals"] {
        let q = first(path).query;
        assert_eq!(
            (q.get("create_time_ge"), q.get("create_time_lt")),
            (Some(&since.to_string()), Some(&until.to_string()))
        );
    }
    assert_eq!(first("/finance/202309/withdrawals").query.get("types").unwrap(), "WITHDRAW,SETTLE,TRANSFER,REVERSE");
    // Pages of 100, beside the one-record counts that cut orders and statements into windows.
    let paged = seen.iter().filter(|s| s.path.starts_with("/order/") || s.path.starts_with("/finance/"));
    let full = paged.clone().filter(|s| s.query["page_size"] == "100").count();
    assert!(full > 10 && paged.clone().all(|s| ["100", "1"].contains(&s.query["page_size"].as_str())), "page size 100");
}

#[test]
fn tiktok_status_shows_the_authorization_webhooks_and_readiness() {
    let fake = Fake::start(Config { fault_percent: 5, ..Config::default() });
    let home = Home::new();
    let (code, out, err) = run(&home, &fake, &["status", "--json"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(fake.violations(), Vec::<String>::new());
    let doc: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let shop = &doc["shops"][0];
    assert_eq!(
        (&shop["id"], &shop["name"], &shop["region"]),
        (&json!(fake_tiktok::SHOP_ID), &json!("Luna Beauty"), &json!("GB"))
    );
    let link = &shop["links"][0];
    assert_eq!(
        (&link["kind"], &link["disconnect"], &link["state"]),
        (&json!("app_authorization"), &json!("guided"), &json!("linked"))
    );
    assert_eq!(link["handle"], format!("app-{}", fake_tiktok::APP_KEY));
    let hooks = link["details"]["webhooks"].as_array().expect("webhooks");
    assert_eq!(hooks[0], json!({"event_type": "ORDER_STATUS_CHANGE", "address_host": "hooks.example.com"}));
    assert_eq!(hooks.len(), 2);
    assert!(link["details"]["scopes"].is_null(), "credentials from the environment carry no scopes");
    let r = &shop["readiness"];
    assert_eq!(r["pending_funds"], json!({"amount": "80.35", "currency": "GBP"}));
    assert_eq!(r["open_orders"], fake.open_orders());
    assert_eq!(r["active_listings"], fake.active_listings());
    assert_eq!(r["processing_withdrawals"], fake.processing_withdrawals());
    assert!(fake.processing_withdrawals() > 0 && fake.open_orders() > 0);
    assert!(!out.contains("hook-secret"), "a webhook address's query can carry a secret");
}

#[test]
fn tiktok_guided_disconnect_dry_run_prints_the_seller_center_steps_and_changes_nothing() {
    let fake = Fake::start(Config::default());
    let home = Home::new();
    let handle = format!("@app-{}", fake_tiktok::APP_KEY);
    let args = ["disconnect", &handle, "--dry-run", "--allow-unexported", "--allow-pending-funds", "--json"];
    let (code, out, err) = run(&home, &fake, &args);
    assert_eq!(code, 0, "{err}");
    let receipt: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(receipt["dry_run"], true);
    let steps = receipt["plan"]["manual_steps"].to_string();
    assert!(steps.contains("App Store (Services)") && steps.contains("Deauthorize"), "{steps}");
    assert_eq!(fake.webhooks().len(), 2, "a dry run deleted webhooks");
    let (code, _, err) = run(&home, &fake, &["disconnect", &handle, "--dry-run"]);
    assert_eq!(code, 5, "pending funds and no export block a real disconnect: {err}");
}

fn settings(env: &[(&str, &str)]) -> PlatformSettings {
    PlatformSettings { env: env.iter().map(|(k, v)| ((*k).into(), (*v).into())).collect(), ..Default::default() }
}

fn context(fake: &Fake, store: Arc<MemoryStore>) -> PlatformContext {
    PlatformContext {
        profile: "default".into(),
        state_dir: std::env::temp_dir(),
        settings: settings(&[
            ("SHOPUNLINK_TIKTOK_API_BASE", &fake.api_base()),
            ("SHOPUNLINK_TIKTOK_AUTH_BASE", &fake.auth_base()),
            ("SHOPUNLINK_TIKTOK_RETRY_BASE_MS", "2"),
        ]),
        credentials: store,
    }
}

fn stored() -> Arc<MemoryStore> {
    let store = Arc::new(MemoryStore::default());
    let credentials = Credentials {
        app_key: fake_tiktok::APP_KEY.into(),
        app_secret: Secret::new(fake_tiktok::APP_SECRET),
        access_token: Secret::new(fake_tiktok::ACCESS_TOKEN),
        refresh_token: Some(Secret::new(fake_tiktok::REFRESH_TOKEN)),
        access_token_expires_at: None,
        refresh_token_expires_at: None,
        scopes: vec!["seller.order.info".into()],
        seller_name: None,
    };
    store.save("default", &credentials).expect("save");
    store
}

#[tokio::test]
async fn tiktok_guided_disconnect_deletes_webhooks_forgets_tokens_and_sees_the_deauthorization() {
    let fake = Fake::start_async(Config { fault_percent: 10, ..Config::default() }).await;
    let store = stored();
    let tiktok = Tiktok::new(&context(&fake, store.clone())).expect("platform");
    let shop = tiktok.shops().await.expect("shops").remove(0);
    let link = shop.links[0].clone();
    assert_eq!(link.details["scopes"], json!(["seller.order.info"]));
    assert!(tiktok.start_challenge(&shop, &link).await.expect("challenge").is_none(), "TOTP is the factor");
    let outcome = tiktok.disconnect(&shop, &link, &Grant::LocalTotp).await.expect("disconnect");
    assert_eq!(fake.webhooks(), Vec::<String>::new());
    assert_eq!(outcome.request_ids.len(), 3, "a listing and two deletions: {:?}", outcome.request_ids);
    let performed = outcome.performed.join("\n");
    assert!(
        performed.contains("deleted the ORDER_STATUS_CHANGE webhook subscription (to hooks.example.com)"),
        "{performed}"
    );
    assert!(!performed.contains("hook-secret"));
    assert!(outcome.manual_steps.iter().any(|s| s.contains("My apps")), "{:?}", outcome.manual_steps);
    assert!(store.load("default").expect("load").is_none(), "the stored tokens were not forgotten");
    // `--wait`: still listed until the seller deauthorizes; then 105001 means gone.
    let listed = |shops: Vec<shopunlink::platform::Shop>| shops.iter().any(|s| s.id == fake_tiktok::SHOP_ID);
    assert!(listed(tiktok.shops().await.expect("still authorized")));
    // The seller may act between the shops call and the webhooks call of one listing.
    fake.refuse("/event/", 105001, "Access token is invalid");
    assert!(!listed(tiktok.shops().await.expect("105001 from any call of the listing means gone")));
    fake.deauthorize();
    assert!(!listed(tiktok.shops().await.expect("105001 after a disconnect is not an error")));
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[tokio::test]
async fn tiktok_refreshed_tokens_go_back_to_the_store_they_came_from() {
    // Listing the shop answers two requests (shops, webhooks); the token expires right after.
    let fake = Fake::start_async(Config { expire_token_after: Some(2), ..Config::default() }).await;
    let store = stored();
    let tiktok = Tiktok::new(&context(&fake, store.clone())).expect("platform");
    let shop = tiktok.shops().await.expect("shops").remove(0);
    // Readiness asks four things at once: all see the expiry, one refresh serves them.
    tiktok.readiness(&shop).await.expect("readiness after a refresh");
    assert_eq!(fake.refreshes(), 1);
    let saved = store.load("default").expect("load").expect("credentials");
    assert_eq!(saved.access_token.expose(), fake_tiktok::REFRESHED_ACCESS_TOKEN);
    assert_eq!(saved.refresh_token.as_ref().map(Secret::expose), Some(fake_tiktok::REFRESHED_REFRESH_TOKEN));
    assert!(saved.access_token_expires_at.is_some());
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn tiktok_documented_codes_fail_with_their_hints() {
    let cases: [(&str, i64, &[&str], &str, &str); 3] = [
        ("/finance/", 105005, &["status"], "\"Finance Information\" scope package", "GET /finance/"),
        ("/authorization/", 36009033, &["status"], "IP allow-list", "GET /authorization/202309/shops"),
        ("/authorization/", 105001, &["status"], "shopunlink auth login", "GET /authorization/202309/shops"),
    ];
    for (prefix, code, args, hint, endpoint) in cases {
        let fake = Fake::start(Config::default());
        fake.refuse(prefix, code, "refused by the fake");
        let home = Home::new();
        let (exit, _, err) = run(&home, &fake, args);
        assert_eq!(exit, 4, "{code}: {err}");
        assert!(err.contains(&format!("code {code}")) && err.contains("request_id 2024FAKE"), "{err}");
        assert!(err.contains(endpoint), "{code} names no endpoint: {err}");
        assert!(err.lines().any(|l| l.starts_with("  hint: ") && l.contains(hint)), "{code}: {err}");
    }
}

#[test]
fn tiktok_a_body_that_is_not_json_is_exit_6_naming_the_endpoint() {
    let fake = Fake::start(Config::default());
    fake.garbage("/authorization/");
    let home = Home::new();
    let (code, _, err) = run(&home, &fake, &["status"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("GET /authorization/202309/shops") && err.contains("not its JSON envelope"), "{err}");
    let doc = {
        let (code, out, _) = run(&home, &fake, &["status", "--json"]);
        assert_eq!(code, 6);
        serde_json::from_str::<serde_json::Value>(&out).expect("JSON error document")
    };
    assert_eq!(doc["error"]["endpoint"], "GET /authorization/202309/shops");
    assert_eq!(doc["error"]["kind"], "platform");
}

#[test]
fn tiktok_retries_are_bounded_and_honour_retry_after() {
    let fake = Fake::start(Config::default());
    fake.retry_after_once("/authorization/", 1);
    let home = Home::new();
    let started = Instant::now();
    let (code, _, err) = run(&home, &fake, &["status", "-v"]);
    assert_eq!(code, 0, "{err}");
    assert!(started.elapsed() >= Duration::from_secs(1), "Retry-After: 1 was not honoured");
    fake.refuse("/authorization/", 36009003, "internal error");
    let (code, _, err) = run(&home, &fake, &["status"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("gave up after 7 attempts") && err.contains("code 36009003"), "{err}");
}

#[test]
fn tiktok_plain_http_to_a_non_loopback_host_is_refused_before_any_request() {
    let home = Home::new();
    for (var, other) in [
        ("SHOPUNLINK_TIKTOK_API_BASE", "SHOPUNLINK_TIKTOK_AUTH_BASE"),
        ("SHOPUNLINK_TIKTOK_AUTH_BASE", "SHOPUNLINK_TIKTOK_API_BASE"),
    ] {
        let out = home
            .cmd(&["status", "--platform", "tiktok"])
            .env(var, "http://192.0.2.7:8080")
            .env(other, "https://127.0.0.1:9")
            .env("SHOPUNLINK_TIKTOK_APP_KEY", "k")
            .env("SHOPUNLINK_TIKTOK_APP_SECRET", "s")
            .env("SHOPUNLINK_TIKTOK_ACCESS_TOKEN", "t")
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{err}");
        assert!(err.contains(var) && err.contains("plain http"), "{err}");
    }
}

#[test]
fn tiktok_without_credentials_is_exit_4_with_the_login_hint() {
    let home = Home::new();
    let (code, _, err) = home.run(&["status", "--platform", "tiktok"]);
    assert_eq!(code, 4, "{err}");
    assert!(err.contains("auth login"), "{err}");
}

/// The profile TOTP secret of the end-to-end disconnects (base32), kept in the environment as a
/// CI job keeps it.
const TOTP_SECRET: &str = "ONUG64DVNZWGS3TLFVSTEZJNORXXI4BB";
/// Kills a hung command so the test fails instead of hanging; no speed is asserted.
const HANG_GUARD: Duration = Duration::from_secs(120);

/// `shopunlink --platform tiktok ARGS` against `fake` with no keyring: the tokens live in the 0600
/// file `auth login --insecure-storage` writes; only the app identity and the TOTP secret come
/// from the environment (neither makes the environment the token source).
fn stored_cmd(home: &Home, fake: &Fake, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = app_cmd(home, fake, args);
    cmd.env("SHOPUNLINK_KEYRING", "none").env("SHOPUNLINK_TOTP_SECRET", TOTP_SECRET).timeout(HANG_GUARD);
    cmd
}

fn credentials_file(home: &Home) -> PathBuf {
    home.join("state/credentials/default.json")
}

/// Logs in to `fake` (tokens into the 0600 file).
fn login(home: &Home, fake: &Fake) {
    let login = stored_cmd(home, fake, &["auth", "login", "--with-token", "--insecure-storage"]);
    let (code, _, err) = run_with_stdin(login, fake_tiktok::AUTH_CODE);
    assert_eq!(code, 0, "{err}");
    #[cfg(unix)]
    assert_eq!(mode(&credentials_file(home)), 0o600);
}

/// Logs in, exports the shop to `out` and verifies it, so the export preflight is met for real.
/// `out` is outside the home: the leak scan of the home then covers what shopunlink keeps for
/// itself, not the shop's records.
fn login_export_verify(home: &Home, fake: &Fake, out: &Path) {
    login(home, fake);
    let out = out.to_str().expect("a UTF-8 temp path");
    let (code, _, err) = run_cmd(stored_cmd(home, fake, &["export", "--out", out]));
    assert_eq!(code, 0, "{err}");
    let (code, _, err) = run_cmd(stored_cmd(home, fake, &["verify", out]));
    assert_eq!(code, 0, "{err}");
}

/// `disconnect @app-KEY --yes --allow-pending-funds --wait WAIT --json` with the code in
/// `SHOPUNLINK_OTP` (the fake shop has unsettled funds, which only the override lets through).
fn guided_disconnect(home: &Home, fake: &Fake, otp: &str, wait: &str) -> (i32, String, String) {
    let handle = format!("@app-{}", fake_tiktok::APP_KEY);
    let args = ["disconnect", &handle, "--yes", "--allow-pending-funds", "--wait", wait, "--json"];
    let mut cmd = stored_cmd(home, fake, &args);
    cmd.env("SHOPUNLINK_OTP", otp);
    run_cmd(cmd)
}

/// True when `code` stands on its own in `text`: not inside a longer run of letters, digits or
/// dots (an id, a request id, a compact timestamp), where six digits can match by chance.
fn contains_code(text: &str, code: &str) -> bool {
    let joins = |c: Option<char>| c.is_some_and(|c| c.is_ascii_alphanumeric() || c == '.');
    text.match_indices(code)
        .any(|(i, _)| !joins(text[..i].chars().next_back()) && !joins(text[i + code.len()..].chars().next()))
}

/// No token, app secret, authorization code, TOTP secret or second-factor code in `text`.
fn assert_nothing_secret(what: &str, text: &str, otp: &str) {
    for secret in SECRETS.into_iter().chain([fake_tiktok::AUTH_CODE, TOTP_SECRET]) {
        assert!(!text.contains(secret), "{what} holds a secret: {text}");
    }
    assert!(!contains_code(text, otp), "{what} holds the second-factor code {otp}: {text}");
}

fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).expect("readable dir") {
        let path = entry.expect("dir entry").path();
        if path.is_dir() { files.extend(files_under(&path)) } else { files.push(path) }
    }
    files
}

/// Every file shopunlink keeps under its home (the credentials file is gone by now).
fn assert_home_holds_no_secret(home: &Home, otp: &str) {
    let files = files_under(home.path());
    assert!(files.iter().any(|f| f.starts_with(home.join("state/receipts"))), "no receipt among {files:?}");
    for file in files {
        let text = String::from_utf8_lossy(&std::fs::read(&file).expect("readable file")).into_owned();
        assert_nothing_secret(&file.display().to_string(), &text, otp);
    }
}

fn stored_source(home: &Home, fake: &Fake) -> serde_json::Value {
    let (code, out, err) = run_cmd(stored_cmd(home, fake, &["auth", "status", "--json"]));
    assert_eq!(code, 0, "{err}");
    serde_json::from_str::<serde_json::Value>(&out).expect("JSON")["profiles"][0]["source"].clone()
}

#[test]
fn tiktok_guided_disconnect_end_to_end_through_the_binary() {
    // The seller deauthorizes in Seller Center after the tool's first look without webhooks.
    let fake = Fake::start(Config { deauthorize_after_listings: Some(1), ..Config::default() });
    let home = Home::new();
    let exports = tempfile::tempdir().expect("temp dir");
    let exp = exports.path().join("exp");
    login_export_verify(&home, &fake, &exp);
    assert_eq!(stored_source(&home, &fake), "file");
    let otp = crate::common::totp_code(TOTP_SECRET);
    let (code, out, err) = guided_disconnect(&home, &fake, &otp, "2s");
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    assert_eq!(fake.violations(), Vec::<String>::new());
    assert_eq!(fake.deleted_webhooks(), ["ORDER_STATUS_CHANGE", "PACKAGE_UPDATE"]);
    assert_eq!(fake.webhooks(), Vec::<String>::new());
    let receipt: serde_json::Value = serde_json::from_str(&out).expect("receipt JSON");
    assert_eq!((&receipt["outcome"], &receipt["verified_gone"]), (&json!("disconnected"), &json!(true)));
    assert_eq!(receipt["second_factor"]["method"], "totp");
    assert_eq!(receipt["export"]["dir"], exp.display().to_string(), "the export relied on");
    assert!(receipt["plan"]["steps"].as_array().is_some_and(|s| s.len() == 4), "--yes: no typing step; {receipt}");
    assert!(receipt["plan"]["manual_steps"].to_string().contains("My apps"), "{receipt}");
    let performed = receipt["performed"].to_string();
    assert!(performed.contains("deleted the PACKAGE_UPDATE webhook subscription"), "{performed}");
    assert!(
        performed.contains("deleted the stored TikTok tokens of profile default (the 0600 credentials file)"),
        "{performed}"
    );
    assert_eq!(receipt["request_ids"].as_array().map(Vec::len), Some(3), "a listing and two deletions");
    // Forgotten from the store they came from.
    assert!(!credentials_file(&home).exists());
    assert_eq!(stored_source(&home, &fake), "none");
    assert_nothing_secret("stdout", &out, &otp);
    assert_nothing_secret("stderr", &err, &otp);
    assert_home_holds_no_secret(&home, &otp);

    // A second run has nothing to do: the tokens are gone, and the audit log proves the
    // disconnect was finished, so it exits 0 without asking for a code (SPEC §6).
    let (code, out, err) = guided_disconnect(&home, &fake, "000000", "2s");
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(doc["outcome"], "already_disconnected", "{doc}");
    assert!(doc["receipt_file"].as_str().is_some_and(|f| f.contains("receipts")), "{doc}");
    assert_eq!(fake.deleted_webhooks().len(), 2, "nothing was touched again");

    // The same code again, for the same shop authorized anew (another fake): refused before
    // anything is touched, because a TOTP code is good once (RFC 6238 §5.2).
    let again = Fake::start(Config::default());
    login(&home, &again);
    let (code, out, err) = guided_disconnect(&home, &again, &otp, "2s");
    assert_eq!(code, 4, "stdout: {out}\nstderr: {err}");
    assert!(err.contains("that code was already used") && !err.contains("wrong"), "{err}");
    assert_eq!((again.webhooks().len(), again.deleted_webhooks().len()), (2, 0));
    assert!(credentials_file(&home).exists(), "a refused code must not forget the tokens");
    assert_nothing_secret("stdout", &out, &otp);
    assert_nothing_secret("stderr", &err, &otp);
}

#[test]
fn tiktok_wait_that_runs_out_says_what_the_owner_still_has_to_do() {
    let fake = Fake::start(Config::default()); // the seller never deauthorizes
    let home = Home::new();
    let exports = tempfile::tempdir().expect("temp dir");
    login_export_verify(&home, &fake, &exports.path().join("exp"));
    let otp = crate::common::totp_code(TOTP_SECRET);
    let (code, out, err) = guided_disconnect(&home, &fake, &otp, "1s");
    assert_eq!(code, 9, "stdout: {out}\nstderr: {err}");
    // The tool's part is done even though the owner's is not.
    assert_eq!(fake.deleted_webhooks().len(), 2);
    assert!(!credentials_file(&home).exists());
    let doc: serde_json::Value = serde_json::from_str(&out).expect("one JSON document");
    let error = &doc["error"];
    assert_eq!((&error["kind"], &error["exit_code"]), (&json!("pending"), &json!(9)));
    let message = error["message"].as_str().expect("message");
    assert!(message.contains("still lists app-") && message.contains("after waiting 1s"), "{message}");
    assert!(error["hint"].as_str().is_some_and(|h| h.contains("steps listed above")), "{error}");
    let receipt = &error["receipt"];
    assert_eq!((&receipt["outcome"], &receipt["verified_gone"]), (&json!("awaiting_owner"), &json!(false)));
    let saved = receipt["receipt_file"].as_str().expect("receipt path");
    assert!(Path::new(saved).exists(), "{saved}");
    // On stderr: the Seller Center steps, then the error; never a "rerun", which could not check.
    assert!(err.contains("In the platform's own UI") && err.contains("Deauthorize (or Remove)"), "{err}");
    assert!(err.contains("error: tiktok still lists"), "{err}");
    assert!(!err.contains("rerun"), "{err}");
    assert_nothing_secret("stdout", &out, &otp);
    assert_nothing_secret("stderr", &err, &otp);
    assert_home_holds_no_secret(&home, &otp);

    // A rerun, naming the shop as `status` did: the tool's part is done and recorded, the
    // tokens are gone, so it says so and exits 0 rather than asking to log in again.
    let handle = format!("@app-{}", fake_tiktok::APP_KEY);
    let rerun = ["disconnect", &handle, "--shop", fake_tiktok::SHOP_NAME, "--yes", "--json"];
    let (code, out, err) = run_cmd(stored_cmd(&home, &fake, &rerun));
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!((&doc["outcome"], &doc["receipt_file"]), (&json!("awaiting_owner"), &json!(saved)), "{doc}");
    assert!(!err.contains("auth login"), "{err}");
    assert_eq!(fake.deleted_webhooks().len(), 2, "nothing was touched again");

    // In CI the tokens stay in the environment and TikTok refuses them (105001) once the seller
    // has deauthorized, or when they are simply wrong: the rerun reports the record as it is and
    // never claims more.
    fake.deauthorize();
    let (code, out, err) = run(&home, &fake, &["disconnect", &handle, "--yes", "--json"]);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!((&doc["outcome"], &doc["disconnected_at"]), (&json!("awaiting_owner"), &json!(null)), "{doc}");
}

/// TikTok does not say when a shop's data last changed, so the preflight asks whether anything
/// was created or updated since the export began: a sale after it makes the export stale.
#[test]
fn tiktok_a_sale_after_the_export_makes_it_stale() {
    let fake = Fake::start(Config::default());
    let home = Home::new();
    let exports = tempfile::tempdir().expect("temp dir");
    login_export_verify(&home, &fake, &exports.path().join("exp"));
    let handle = format!("@app-{}", fake_tiktok::APP_KEY);
    let dry_run = ["disconnect", &handle, "--dry-run", "--allow-pending-funds", "--json"];
    let (code, out, err) = run_cmd(stored_cmd(&home, &fake, &dry_run));
    assert_eq!(code, 0, "an export made now is up to date: {out}\n{err}");
    let orders_searched = |fake: &Fake| {
        fake.seen()
            .iter()
            .filter(|s| s.path == "/order/202309/orders/search" && s.body.contains("update_time_ge"))
            .count()
    };
    assert_eq!(orders_searched(&fake), 1, "the preflight asked");

    // When the question cannot be answered, the export does not count, unless accepted.
    fake.refuse("/finance/202309/payments", 105005, "missing scope");
    let (code, out, err) = run_cmd(stored_cmd(&home, &fake, &dry_run));
    assert_eq!(code, 5, "{out}\n{err}");
    assert!(out.contains("could not check whether the shop changed") && out.contains("shopunlink doctor"), "{out}");
    let mut accepted = dry_run.to_vec();
    accepted.push("--allow-unexported");
    assert_eq!(run_cmd(stored_cmd(&home, &fake, &accepted)).0, 0);
    let (code, _, err) = run_cmd(stored_cmd(&home, &fake, &["status"]));
    assert_eq!(code, 0, "status still works: {err}");
    fake.refuse("/none", 0, "");

    fake.new_order();
    let (code, out, err) = run_cmd(stored_cmd(&home, &fake, &dry_run));
    assert_eq!(code, 5, "{out}\n{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert!(doc["error"]["message"].as_str().is_some_and(|m| m.contains("new or updated records")), "{doc}");
    let (code, out, err) = run_cmd(stored_cmd(&home, &fake, &["status", "--json"]));
    assert_eq!(code, 0, "{err}");
    let status: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let blockers = status["shops"][0]["readiness"]["blockers"].to_string();
    assert!(blockers.contains("no_export") && blockers.contains("new or updated"), "{blockers}");
    assert!(!blockers.contains("open_orders"), "TikTok has no official account link: {blockers}");
    assert_eq!(fake.violations(), Vec::<String>::new());
}

/// The tokens also serve another shop of the seller: the disconnect keeps them, so that shop can
/// still be exported, and says so in the receipt.
#[test]
fn tiktok_tokens_that_serve_another_shop_are_kept() {
    let fake = Fake::start(Config { second_shop: true, deauthorize_after_listings: Some(1), ..Config::default() });
    let home = Home::new();
    let exports = tempfile::tempdir().expect("temp dir");
    login(&home, &fake);
    let out = exports.path().join("exp");
    let out = out.to_str().expect("UTF-8");
    let export = ["export", "--shop", fake_tiktok::SHOP_ID, "--out", out];
    assert_eq!(run_cmd(stored_cmd(&home, &fake, &export)).0, 0);
    assert_eq!(run_cmd(stored_cmd(&home, &fake, &["verify", out])).0, 0);
    let handle = format!("@app-{}", fake_tiktok::APP_KEY);
    let args = ["disconnect", &handle, "--shop", fake_tiktok::SHOP_ID, "--yes", "--allow-pending-funds", "--json"];
    let mut cmd = stored_cmd(&home, &fake, &args);
    cmd.env("SHOPUNLINK_OTP", crate::common::totp_code(TOTP_SECRET));
    let (code, out, err) = run_cmd(cmd);
    assert_eq!(code, 0, "stdout: {out}\nstderr: {err}");
    let receipt: serde_json::Value = serde_json::from_str(&out).expect("receipt JSON");
    let performed = receipt["performed"].to_string();
    assert!(performed.contains("kept the stored TikTok tokens") && performed.contains("Luna Outlet"), "{performed}");
    // Kept tokens still mark the run as having disconnected: the seller's deauthorization (105001
    // on the next look) reads as done, not as a failure.
    assert_eq!((&receipt["outcome"], &receipt["verified_gone"]), (&json!("disconnected"), &json!(true)), "{receipt}");
    assert!(credentials_file(&home).exists(), "the other shop still needs them");
    assert_eq!(stored_source(&home, &fake), "file");
    assert_eq!(fake.violations(), Vec::<String>::new());
}

/// A refused token is "already disconnected" only after a disconnect the audit log recorded.
#[test]
fn tiktok_a_refused_token_without_our_disconnect_is_exit_4() {
    let fake = Fake::start(Config::default());
    fake.deauthorize();
    let home = Home::new();
    let handle = format!("@app-{}", fake_tiktok::APP_KEY);
    let (code, out, err) = run(&home, &fake, &["disconnect", &handle, "--yes", "--json"]);
    assert_eq!(code, 4, "stdout: {out}\nstderr: {err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!((&doc["error"]["code"], &doc["error"]["reason"]), (&json!(105001), &json!("token_refused")), "{doc}");
}

/// A poll that fails during `--wait` (after the webhooks are deleted and the tokens forgotten)
/// still leaves a receipt: a rerun could not write it, it has no tokens left to look with.
#[test]
fn tiktok_a_wait_that_fails_still_saves_the_receipt() {
    let fake = Fake::start(Config { garbage_after_listings: Some(1), ..Config::default() });
    let home = Home::new();
    let exports = tempfile::tempdir().expect("temp dir");
    login_export_verify(&home, &fake, &exports.path().join("exp"));
    let otp = crate::common::totp_code(TOTP_SECRET);
    let (code, _, err) = guided_disconnect(&home, &fake, &otp, "30s");
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("receipt is saved in"), "{err}");
    assert_eq!(fake.deleted_webhooks().len(), 2);
    let receipts: Vec<PathBuf> = files_under(&home.join("state/receipts"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    assert_eq!(receipts.len(), 1, "one receipt, beside its text copy: {receipts:?}");
    let receipt: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&receipts[0]).expect("receipt")).expect("receipt JSON");
    assert_eq!((&receipt["outcome"], &receipt["verified_gone"]), (&json!("awaiting_owner"), &json!(false)));
    assert_eq!(receipt["performed"].as_array().map(Vec::len), Some(3), "{receipt}");
    assert_home_holds_no_secret(&home, &otp);
}

#[test]
fn tiktok_rate_limit_from_the_environment_is_checked_before_any_request() {
    let fake = Fake::start(Config::default());
    let home = Home::new();
    let status = |value: &str| {
        let mut cmd = env_cmd(&home, &fake, &["status", "--json"]);
        cmd.env("SHOPUNLINK_TIKTOK_RATE_LIMIT", value);
        run_cmd(cmd)
    };
    for bad in ["0", "1001", "fifty"] {
        let (code, out, err) = status(bad);
        assert_eq!(code, 2, "{bad}: {err}");
        assert!(err.contains("SHOPUNLINK_TIKTOK_RATE_LIMIT") && err.contains("from 1 to 1000"), "{err}");
        let doc: serde_json::Value = serde_json::from_str(&out).expect("JSON error document");
        assert_eq!(doc["error"]["env"], "SHOPUNLINK_TIKTOK_RATE_LIMIT");
    }
    assert!(fake.seen().is_empty(), "a bad limit must stop the command before any request");
    let (code, _, err) = status("1000");
    assert_eq!(code, 0, "{err}");
    assert_eq!(fake.violations(), Vec::<String>::new());
}

/// A redirect is never followed: it would carry the access token header (and over plain http)
/// to whatever host the `Location` names.
#[tokio::test(flavor = "multi_thread")]
async fn tiktok_a_redirect_is_refused_and_the_token_never_leaves() {
    use wiremock::{Mock, MockServer, ResponseTemplate, matchers::any};
    let catcher = MockServer::start().await;
    Mock::given(any()).respond_with(ResponseTemplate::new(200).set_body_string("{}")).mount(&catcher).await;
    let redirector = MockServer::start().await;
    let location = format!("{}/steal?app_secret=x", catcher.uri());
    Mock::given(any())
        .respond_with(ResponseTemplate::new(307).insert_header("location", location.as_str()))
        .mount(&redirector)
        .await;
    let home = Home::new();
    let mut cmd = home.cmd(&["--platform", "tiktok", "status"]);
    cmd.env("SHOPUNLINK_TIKTOK_API_BASE", redirector.uri())
        .env("SHOPUNLINK_TIKTOK_AUTH_BASE", redirector.uri())
        .env("SHOPUNLINK_TIKTOK_APP_KEY", fake_tiktok::APP_KEY)
        .env("SHOPUNLINK_TIKTOK_APP_SECRET", fake_tiktok::APP_SECRET)
        .env("SHOPUNLINK_TIKTOK_ACCESS_TOKEN", fake_tiktok::ACCESS_TOKEN)
        // A proxy must not see loopback traffic either; this one does not exist.
        .env("HTTP_PROXY", "http://127.0.0.1:9")
        .env("http_proxy", "http://127.0.0.1:9");
    let (code, _, err) = run_cmd(cmd);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("redirect") && err.contains("127.0.0.1"), "{err}");
    assert!(!err.contains("steal"), "the Location's path and query are not echoed: {err}");
    assert!(catcher.received_requests().await.unwrap_or_default().is_empty(), "the redirect was followed");
    assert_eq!(redirector.received_requests().await.unwrap_or_default().len(), 1, "no retry of a redirect");
}

/// Orders are read in windows side by side; an export killed at any moment (one of them while
/// the writer is inside a later window) resumes to exactly the fake's records, in order.
#[cfg(unix)]
#[test]
fn tiktok_a_killed_windowed_export_resumes_to_the_same_records() {
    let fake =
        Fake::start(Config { orders: 12_000, page_len: 100, latency: Duration::from_millis(3), ..Config::default() });
    let args = ["export", "--out", "exp", "--checkpoint-mib", "1"];
    let spawn = |home: &Home| {
        let mut cmd = app_std_cmd(home, &fake, &args);
        cmd.env("SHOPUNLINK_TIKTOK_ACCESS_TOKEN", fake_tiktok::ACCESS_TOKEN)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null());
        cmd.spawn().expect("spawn")
    };
    // The orders cursor of the checkpoint, once the writer is past the first window.
    let in_later_window = |home: &Home| {
        let text = std::fs::read_to_string(home.join("exp/.shopunlink/checkpoint.json")).unwrap_or_default();
        let doc: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        doc["datasets"]["orders"]["cursor"].as_str().is_some_and(|c| !c.starts_with("w0:"))
    };
    for case in 0..3u64 {
        let home = Home::new();
        let mut child = spawn(&home);
        let deadline = Instant::now() + HANG_GUARD;
        if case == 0 {
            while !in_later_window(&home) && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(2));
            }
        } else {
            std::thread::sleep(Duration::from_millis(40 * case));
        }
        let _ = child.kill();
        let _ = child.wait();
        if case == 0 {
            assert!(in_later_window(&home), "the writer reached a later window");
            assert!(!home.join("exp/manifest.json").exists(), "killed before the end");
        }
        let (code, _, err) = run(&home, &fake, &["export", "--out", "exp", "--checkpoint-mib", "1"]);
        assert_eq!(code, 0, "case {case}: {err}");
        for dataset in DATASETS {
            assert!(
                lines(&home, "exp", dataset) == fake.records(dataset, None, None),
                "case {case}: {dataset} differs"
            );
        }
        assert_eq!(run(&home, &fake, &["verify", "exp"]).0, 0, "case {case}");
    }
    assert_eq!(fake.violations(), Vec::<String>::new());
}

fn status_links(home: &Home, fake: &Fake) -> Vec<serde_json::Value> {
    let (code, out, err) = run_cmd(stored_cmd(home, fake, &["status", "--json"]));
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("status JSON");
    doc["shops"][0]["links"].as_array().expect("links").clone()
}

#[test]
fn tiktok_affiliate_creators_are_api_links_with_their_commission_and_one_is_removed_exactly() {
    let fake = Fake::start(Config { affiliates: true, ..Config::default() });
    let home = Home::new();
    let exports = tempfile::tempdir().expect("temp dir");
    login_export_verify(&home, &fake, &exports.path().join("exp"));
    let links = status_links(&home, &fake);
    let creators: Vec<_> = links.iter().filter(|l| l["kind"] == "affiliate_creator").collect();
    let handles: Vec<_> = creators.iter().map(|l| l["handle"].as_str().unwrap()).collect();
    assert_eq!(handles, ["@lunabeauty", "@maxglow", "@ruby.reviews"], "{links:?}");
    assert!(creators.iter().all(|l| l["disconnect"] == "api" && l["source"] == "platform"));
    let luna = creators[0];
    let owed = luna["blockers"].as_array().unwrap().iter().find(|b| b["code"] == "pending_commission").expect("owed");
    assert!(owed["message"].as_str().unwrap().contains("14.75 GBP"), "{owed}");
    assert!(!creators[1]["blockers"].to_string().contains("pending_commission"), "Max was paid");

    // Luna is owed commission: refused without the override.
    let (code, _, err) = run_cmd(stored_cmd(&home, &fake, &["disconnect", "@lunabeauty", "--yes"]));
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("commission"), "{err}");

    // Max: removed from exactly that collaboration, verified by listing again.
    let otp = crate::common::totp_code(TOTP_SECRET);
    let mut cmd = stored_cmd(&home, &fake, &["disconnect", "@maxglow", "--yes", "--allow-pending-funds", "--json"]);
    cmd.env("SHOPUNLINK_OTP", &otp);
    let (code, out, err) = run_cmd(cmd);
    assert_eq!(code, 0, "{out}\n{err}");
    let receipt: serde_json::Value = serde_json::from_str(&out).expect("receipt");
    assert_eq!((&receipt["outcome"], &receipt["verified_gone"]), (&json!("disconnected"), &json!(true)), "{receipt}");
    assert_eq!(fake.removed_creators(), [("oc-1".to_owned(), "oid-max".to_owned())]);
    assert!(fake.ended_targets().is_empty());
    assert_eq!(fake.violations(), Vec::<String>::new());
    let after = status_links(&home, &fake);
    assert!(!after.iter().any(|l| l["handle"] == "@maxglow"), "{after:?}");
    assert!(after.iter().any(|l| l["handle"] == "@lunabeauty"), "the others stay");

    // A rerun: the link is gone, nothing to do, exit 0.
    let (code, out, err) = run_cmd(stored_cmd(&home, &fake, &["disconnect", "@maxglow", "--yes", "--json"]));
    assert_eq!(code, 0, "{err}");
    assert_eq!(serde_json::from_str::<serde_json::Value>(&out).unwrap()["outcome"], "already_disconnected");
    assert_eq!(fake.removed_creators().len(), 1, "nothing was asked twice");
    let (code, _, err) = run_cmd(stored_cmd(&home, &fake, &["disconnect", "@nobody", "--yes"]));
    assert_eq!(code, 7, "an unknown handle is still not found: {err}");
}

#[test]
fn tiktok_without_the_affiliate_scope_says_so_and_the_rest_works() {
    let fake = Fake::start(Config { affiliates: false, ..Config::default() });
    let home = Home::new();
    let (code, out, err) = run(&home, &fake, &["status", "--json"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(doc["shops"][0]["notes"][0].as_str().map(|n| n.contains("Affiliate Seller scope")), Some(true), "{doc}");
    assert!(doc["shops"][0]["links"].as_array().unwrap().iter().all(|l| l["kind"] != "affiliate_creator"));

    // The export skips what the app may not read, naming the scope; verify counts it as missing.
    let (code, out, err) = run(&home, &fake, &["export", "--out", "exp", "--json"]);
    assert_eq!(code, 0, "{err}");
    let manifest: serde_json::Value = serde_json::from_str(&out).expect("manifest");
    let skipped = manifest["datasets"].as_array().unwrap().iter().find(|d| d["name"] == "affiliate_orders").unwrap();
    assert!(skipped["skipped"]["scope"].as_str().unwrap().contains("Affiliate Seller"), "{skipped}");
    assert!(!home.join("exp/affiliate_orders.ndjson").exists());
    assert_eq!(lines(&home, "exp", "orders").len(), fake.records("orders", None, None).len(), "the rest is whole");
    let (code, _, err) = run(&home, &fake, &["verify", "exp"]);
    assert_eq!(code, 8, "a skipped dataset is missing: {err}");
    assert!(err.contains("affiliate_orders") && err.contains("--allow-unexported"), "{err}");
    let (code, _, err) = run(&home, &fake, &["verify", "exp", "--allow-unexported"]);
    assert_eq!(code, 0, "{err}");
    // The preflight still counts it as missing.
    let handle = format!("@app-{}", fake_tiktok::APP_KEY);
    let (code, _, err) = run(&home, &fake, &["disconnect", &handle, "--dry-run"]);
    assert_eq!(code, 5, "{err}");
    assert!(err.contains("lacks affiliate_orders"), "{err}");
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn tiktok_declared_official_account_is_cut_by_the_owner_and_confirmed() {
    // No open orders (they would block the official account, with no override).
    let fake = Fake::start(Config { orders: 0, ..Config::default() });
    let home = Home::new();
    let exports = tempfile::tempdir().expect("temp dir");
    login_export_verify(&home, &fake, &exports.path().join("exp"));
    let add = ["links", "add", "official_account", "@lunabeauty.official", "--linked-since", "2025-01-10"];
    let (code, _, err) = run_cmd(stored_cmd(&home, &fake, &add));
    assert_eq!(code, 0, "{err}");
    let second = ["links", "add", "official_account", "@another"];
    let (code, _, err) = run_cmd(stored_cmd(&home, &fake, &second));
    assert_eq!(code, 2, "one official account per shop: {err}");
    assert!(err.contains("one official TikTok account"), "{err}");
    let link =
        status_links(&home, &fake).into_iter().find(|l| l["handle"] == "@lunabeauty.official").expect("declared");
    assert_eq!((&link["source"], &link["disconnect"]), (&json!("declared"), &json!("guided")));

    let otp = crate::common::totp_code(TOTP_SECRET);
    let args = ["disconnect", "@lunabeauty.official", "--yes", "--allow-pending-funds", "--owner-done", "--json"];
    let mut cmd = stored_cmd(&home, &fake, &args);
    cmd.env("SHOPUNLINK_OTP", &otp);
    let (code, out, err) = run_cmd(cmd);
    assert_eq!(code, 0, "{out}\n{err}");
    let receipt: serde_json::Value = serde_json::from_str(&out).expect("receipt");
    assert_eq!(receipt["outcome"], "disconnected");
    assert_eq!((&receipt["verified"], &receipt["confirmed_by"]), (&json!(false), &json!("owner")), "{receipt}");
    assert!(receipt["plan"]["manual_steps"].to_string().contains("Linked TikTok accounts"), "{receipt}");
    assert_eq!(receipt["second_factor"]["method"], "totp");
    let link = status_links(&home, &fake).into_iter().find(|l| l["handle"] == "@lunabeauty.official").expect("kept");
    assert_eq!(link["state"], "unlinked");
    assert!(fake.webhooks().len() == 2, "a declared link's disconnect touches nothing on the platform");
}

#[test]
fn tiktok_returns_and_cancellations_in_progress_block_the_official_account_only() {
    let fake = Fake::start(Config { orders: 0, open_returns: 2, ..Config::default() });
    let home = Home::new();
    login(&home, &fake);
    let add = ["links", "add", "official_account", "@luna.official", "--linked-since", "2025-01-10"];
    assert_eq!(run_cmd(stored_cmd(&home, &fake, &add)).0, 0);
    let (code, out, err) = run_cmd(stored_cmd(&home, &fake, &["status", "--json"]));
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(doc["shops"][0]["readiness"]["open_returns"], 4, "returns plus cancellations");
    let links = doc["shops"][0]["links"].as_array().unwrap();
    let official = links.iter().find(|l| l["handle"] == "@luna.official").unwrap();
    let blocker = official["blockers"].as_array().unwrap().iter().find(|b| b["code"] == "open_orders").expect("blocks");
    assert!(blocker["message"].as_str().unwrap().contains("4 returns or cancellations"), "{blocker}");
    let app = links.iter().find(|l| l["kind"] == "app_authorization").unwrap();
    assert!(!app["blockers"].to_string().contains("open_orders"), "an app's revocation moves no buyers: {app}");
    assert_eq!(fake.violations(), Vec::<String>::new());
}

#[test]
fn tiktok_a_listing_that_vanished_before_its_detail_call_is_left_out_not_fatal() {
    let fake = Fake::start(Config { vanished_product: Some(3), ..Config::default() });
    let home = Home::new();
    let (code, _, err) = run(&home, &fake, &["export", "--out", "exp", "--datasets", "product_details"]);
    assert_eq!(code, 0, "{err}");
    let want = fake.records("product_details", None, None);
    assert_eq!(want.len(), fake.records("products", None, None).len() - 1);
    assert_eq!(lines(&home, "exp", "product_details"), want, "every other listing, in full, as sent");
    assert!(err.contains("vanished"), "it is said: {err}");
    assert_eq!(fake.violations(), Vec::<String>::new());
}

fn manifest_of(home: &Home, dir: &str) -> serde_json::Value {
    serde_json::from_slice(&std::fs::read(home.join(dir).join("manifest.json")).expect("manifest")).expect("JSON")
}

#[test]
fn tiktok_pictures_are_kept_once_verified_and_never_see_the_token() {
    let fake = Fake::start(Config { media_faults: true, products: 30, ..Config::default() });
    let home = Home::new();
    let (code, _, err) = run(&home, &fake, &["export", "--out", "exp"]);
    assert_eq!(code, 0, "the export completes despite bad pictures: {err}");
    assert!(err.contains("3 could not be downloaded"), "{err}");
    assert_eq!(lines(&home, "exp", "product_details"), fake.records("product_details", None, None));
    let m = manifest_of(&home, "exp");
    let media = m["media"].as_array().expect("media");
    // 30 products' pictures, the SKUs' own (two in three) and the shared picture 0: each once.
    let missing: Vec<_> =
        m["media_missing"].as_array().unwrap().iter().map(|x| x["reason"].as_str().unwrap()).collect();
    assert_eq!(missing.len(), 3, "{missing:?}");
    assert!(missing.iter().any(|r| r.contains("HTTP 404")), "{missing:?}");
    assert!(missing.iter().any(|r| r.contains("not an image (text/html)")), "{missing:?}");
    assert!(missing.iter().any(|r| r.contains("cap")), "{missing:?}");
    assert_eq!(media.len() + missing.len(), 30 + 20 + 1 - 1, "picture 0 is both a product's and the shared SKU's");
    for entry in media {
        let url = entry["url"].as_str().unwrap();
        let served = fake_tiktok::picture(url.rsplit('/').next().unwrap());
        let kept = std::fs::read(home.join("exp").join(entry["file"].as_str().unwrap())).unwrap();
        assert_eq!(kept, served, "{url} is kept exactly as served");
        assert!(!entry["records"].as_array().unwrap().is_empty());
    }
    let shared = media.iter().find(|e| e["url"].as_str().unwrap().ends_with("/img/0.png")).unwrap();
    assert!(shared["records"].as_array().unwrap().len() > 1, "one file for every record naming it: {shared}");
    #[cfg(unix)]
    assert_eq!(mode(&home.join("exp").join(media[0]["file"].as_str().unwrap())), 0o600);
    let requests = fake.media_requests();
    assert!(!requests.is_empty());
    for r in &requests {
        assert!(!r.to_lowercase().contains("x-tts-access-token") && !r.contains(fake_tiktok::ACCESS_TOKEN), "{r}");
        assert!(!r.contains(fake_tiktok::APP_SECRET) && !r.contains("sign="), "{r}");
    }
    assert_eq!(run(&home, &fake, &["verify", "exp"]).0, 0);
    // A flipped byte in a picture fails verify, naming the file.
    let victim = home.join("exp").join(media[1]["file"].as_str().unwrap());
    let mut bytes = std::fs::read(&victim).unwrap();
    bytes[10] ^= 1;
    std::fs::write(&victim, bytes).unwrap();
    let (code, _, err) = run(&home, &fake, &["verify", "exp"]);
    assert_eq!(code, 8, "{err}");
    assert!(err.contains(media[1]["file"].as_str().unwrap()), "{err}");
    // --no-media keeps none.
    let (code, _, err) =
        run(&home, &fake, &["export", "--out", "plain", "--no-media", "--datasets", "product_details"]);
    assert_eq!(code, 0, "{err}");
    assert!(!home.join("plain/media").exists() && manifest_of(&home, "plain")["media"].is_null());
}

#[test]
fn tiktok_a_kill_while_pictures_download_resumes_byte_identical() {
    let config = Config { products: 40, media_latency: Duration::from_millis(40), ..Config::default() };
    let fake = Fake::start(config);
    let (home, clean) = (Home::new(), Home::new());
    let args = ["export", "--out", "exp", "--datasets", "product_details,orders"];
    assert_eq!(run(&clean, &fake, &args).0, 0);
    let mut cmd = app_std_cmd(&home, &fake, &args);
    cmd.env("SHOPUNLINK_TIKTOK_ACCESS_TOKEN", fake_tiktok::ACCESS_TOKEN)
        .env("SHOPUNLINK_TIKTOK_REFRESH_TOKEN", fake_tiktok::REFRESH_TOKEN);
    let mut child = cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::null()).spawn().expect("spawn");
    let started = Instant::now();
    // Kill once some pictures are kept but not all (40 products: about 70 pictures, 40 ms each, four at a time).
    loop {
        let kept = std::fs::read_dir(home.join("exp/media")).map(|d| d.count()).unwrap_or(0);
        if kept >= 8 {
            break;
        }
        assert!(started.elapsed() < Duration::from_secs(60), "the pictures never started");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().expect("kill");
    child.wait().expect("wait");
    assert!(!home.join("exp/manifest.json").exists(), "killed before the end");
    let (code, _, err) = run(&home, &fake, &args);
    assert_eq!(code, 0, "{err}");
    assert!(crate::common::export_files(&home.join("exp")) == crate::common::export_files(&clean.join("exp")));
    let (a, b) = (manifest_of(&home, "exp"), manifest_of(&clean, "exp"));
    assert_eq!(a["media"], b["media"], "the same pictures, in the same order");
    assert_eq!(run(&home, &fake, &["verify", "exp"]).0, 0);
}

/// `platform check tiktok` against the fake passes every check and cuts nothing; an unknown shop
/// cipher (TikTok's 101000, "token and shop cipher do not match") is not_found, exit 7.
#[test]
fn tiktok_passes_the_conformance_suite_without_touching_a_link() {
    let home = Home::new();
    let fake = Fake::start(Config::default());
    login(&home, &fake);
    let (code, out, err) = run_cmd(stored_cmd(&home, &fake, &["platform", "check", "tiktok", "--json"]));
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}\n{err}"));
    let checks = doc["checks"].as_array().expect("checks");
    let failed: Vec<_> = checks.iter().filter(|c| c["ok"] != true).map(|c| c["name"].as_str().unwrap()).collect();
    assert_eq!((code, failed), (0, Vec::<&str>::new()), "{doc}");
    let disconnect = checks.iter().find(|c| c["name"] == "disconnect").expect("a disconnect check");
    assert!(disconnect["detail"].as_str().unwrap().starts_with("skipped"), "{doc}");
    assert!(fake.deleted_webhooks().is_empty() && fake.removed_creators().is_empty(), "no link was cut");
}

/// A SIGTERM while `--wait` watches a guided disconnect: the tool's part is already done, so the
/// receipt is written (awaiting the owner) and the command ends within seconds with exit 130.
#[cfg(unix)]
#[test]
fn tiktok_a_signal_during_the_wait_keeps_the_receipt_and_ends_promptly() {
    let fake = Fake::start(Config::default());
    let home = Home::new();
    let exports = tempfile::tempdir().expect("temp dir");
    login_export_verify(&home, &fake, &exports.path().join("exp"));
    let handle = format!("@app-{}", fake_tiktok::APP_KEY);
    let otp = crate::common::totp_code(TOTP_SECRET);
    let args = ["disconnect", &handle, "--yes", "--allow-pending-funds", "--wait", "2m"];
    let mut cmd = app_std_cmd(&home, &fake, &args);
    cmd.env("SHOPUNLINK_KEYRING", "none").env("SHOPUNLINK_TOTP_SECRET", TOTP_SECRET).env("SHOPUNLINK_OTP", &otp);
    let mut child = cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let started = Instant::now();
    while !fake.webhooks().is_empty() {
        assert!(started.elapsed() < Duration::from_secs(30), "the platform was never asked");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::thread::sleep(Duration::from_millis(300));
    let signalled = Instant::now();
    std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    let status = child.wait().unwrap();
    assert!(signalled.elapsed() < Duration::from_secs(10), "took {:?}", signalled.elapsed());
    assert_eq!(status.code(), Some(130));
    let receipts: Vec<_> = std::fs::read_dir(home.join("state/receipts")).unwrap().map(|e| e.unwrap().path()).collect();
    let json = receipts.iter().find(|p| p.extension().is_some_and(|x| x == "json")).expect("a receipt");
    let receipt: serde_json::Value = serde_json::from_slice(&std::fs::read(json).unwrap()).unwrap();
    assert_eq!(receipt["outcome"], "awaiting_owner");
}

#[test]
fn tiktok_all_shops_exports_each_and_names_the_one_that_failed() {
    // The fake lists a second shop whose data it refuses (cipher mismatch, 101000).
    let fake = Fake::start(Config { second_shop: true, products: 20, ..Config::default() });
    let home = Home::new();
    let (code, out, err) = run(&home, &fake, &["export", "--all-shops", "--out", "all", "--no-media", "--json"]);
    assert_eq!(code, 6, "{err}");
    assert!(err.contains("Luna Outlet"), "the failed shop is named: {err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    let shops = doc["shops"].as_array().unwrap();
    let ok: Vec<_> = shops.iter().filter(|s| s["ok"] == true).collect();
    assert_eq!(ok.len(), 1, "the other shop is complete: {doc}");
    let first = home.join("all").join(ok[0]["dir"].as_str().unwrap());
    assert_eq!(
        lines(&home, first.strip_prefix(home.path()).unwrap().to_str().unwrap(), "orders"),
        fake.records("orders", None, None)
    );
}

/// Tokens from the environment that TikTok replaces mid-run cannot be written back: the run says
/// so (stderr and `"tokens_rotated": true`), keeps the new pair in a 0600 file, and
/// `auth login --with-token` stores that pair.
#[test]
fn tiktok_rotated_env_tokens_are_kept_said_and_can_be_stored() {
    let fake = Fake::start(Config { expire_token_after: Some(5), ..Config::default() });
    let home = Home::new();
    let (code, out, err) =
        run(&home, &fake, &["export", "--out", "exp", "--no-media", "--datasets", "orders", "--json"]);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).expect("JSON");
    assert_eq!(doc["tokens_rotated"], true, "{doc}");
    assert!(err.contains("replaced the tokens") && err.contains("rotated-tokens"), "{err}");
    for secret in [fake_tiktok::REFRESHED_ACCESS_TOKEN, fake_tiktok::REFRESHED_REFRESH_TOKEN] {
        assert!(!out.contains(secret) && !err.contains(secret), "a token was printed");
    }
    let kept = home.join("state/credentials/default.rotated-tokens");
    #[cfg(unix)]
    assert_eq!(mode(&kept), 0o600);
    let pair = std::fs::read_to_string(&kept).expect("kept pair");
    assert!(pair.contains(fake_tiktok::REFRESHED_REFRESH_TOKEN), "the new refresh token is kept");
    let login = stored_cmd(&home, &fake, &["auth", "login", "--with-token", "--insecure-storage"]);
    let (code, _, err) = run_with_stdin(login, &pair);
    assert_eq!(code, 0, "{err}");
    assert_eq!(stored_source(&home, &fake), "file");
    let stored = std::fs::read_to_string(credentials_file(&home)).expect("stored");
    assert!(stored.contains(fake_tiktok::REFRESHED_REFRESH_TOKEN), "the pair is what was stored");
}

/// The order searches of a run: (page size, `create_time_ge`, `create_time_lt`) of each.
fn order_searches(fake: &Fake) -> Vec<(String, Option<i64>, Option<i64>)> {
    fake.seen()
        .iter()
        .filter(|s| s.path == "/order/202309/orders/search")
        .map(|s| {
            let body: serde_json::Value = serde_json::from_str(&s.body).expect("search body");
            (s.query["page_size"].clone(), body["create_time_ge"].as_i64(), body["create_time_lt"].as_i64())
        })
        .collect()
}

/// At a real round trip one cursor cannot use the limit: orders are counted, cut into windows of
/// about equal count, read side by side and written in order, and the limiter stays under
/// TikTok's 50/s (the fake answers 429 past it). Counting costs next to nothing: the count of each
/// window is a full page of its own search, which its reading starts from.
#[test]
fn tiktok_orders_far_away_are_cut_by_count_and_read_side_by_side_under_the_limit() {
    let config = Config { orders: 6000, page_len: 100, latency: Duration::from_millis(40), ..Config::default() };
    let fake = Fake::start(config);
    let home = Home::new();
    let (code, _, err) = run(&home, &fake, &["export", "--out", "exp", "--datasets", "orders", "--no-media"]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(fake.violations(), Vec::<String>::new());
    assert!(lines(&home, "exp", "orders") == fake.records("orders", None, None), "the fake's orders, in order");
    let searches = order_searches(&fake);
    assert_eq!(searches.first().map(|s| (s.1, s.2)), Some((None, None)), "the whole range counted first: {searches:?}");
    let windows: std::collections::BTreeSet<_> =
        searches.iter().filter(|s| s.0 == "100" && (s.1, s.2) != (None, None)).map(|s| (s.1, s.2)).collect();
    assert!(windows.len() >= 3, "read in windows: {windows:?}");
    assert_eq!(windows.first().map(|w| w.0), Some(None), "the first window starts where the range does");
    assert_eq!(windows.last().map(|w| w.1), Some(None), "the last window ends where the range does");
    // Every search is a page some window needed, or one of the whole range's two counts.
    let pages: usize =
        windows.iter().map(|(since, until)| fake.records("orders", *since, *until).len().div_ceil(100)).sum();
    assert!(searches.len() <= pages + 2, "{} searches for {pages} pages: {searches:?}", searches.len());
    assert_eq!(fake.throttled(), 0, "paced under the limit");
    assert_eq!(run(&home, &fake, &["verify", "exp"]).0, 0);
}

/// A server that allows less than the documented 50/s answers 429s; the export slows down, keeps
/// going and ends with every record.
#[test]
fn tiktok_a_server_stricter_than_documented_slows_the_export_down_without_losing_records() {
    let config = Config { orders: 2000, page_len: 100, rate_limit: Some(8), ..Config::default() };
    let fake = Fake::start(config);
    let home = Home::new();
    let (code, _, err) = run(&home, &fake, &["export", "--out", "exp", "--datasets", "orders", "--no-media"]);
    assert_eq!(code, 0, "{err}");
    assert!(fake.throttled() > 0, "the fake's limit was reached");
    assert!(lines(&home, "exp", "orders") == fake.records("orders", None, None), "every order, in order");
    assert_eq!(run(&home, &fake, &["verify", "exp"]).0, 0);
}
