//! The `tiktok` platform against the fake TikTok Shop in [`crate::fake_tiktok`]: the built
//! binary for export, status, errors and logging; the library for the guided disconnect, whose
//! second factor (the profile TOTP) is wired in by the auth commands.

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;
use shopunlink::credentials::{CredentialStore, Credentials, MemoryStore, Secret};
use shopunlink::platform::tiktok::Tiktok;
use shopunlink::platform::{Grant, Platform, PlatformContext};
use shopunlink::settings::TiktokSettings;

use crate::common::Home;
use crate::fake_tiktok::{self, Config, Fake};

const DATASETS: [&str; 6] = ["orders", "products", "statements", "statement_transactions", "payments", "withdrawals"];
/// Every secret the fake hands out; none may ever reach stderr or stdout.
const SECRETS: [&str; 5] = [
    fake_tiktok::APP_SECRET,
    fake_tiktok::ACCESS_TOKEN,
    fake_tiktok::REFRESH_TOKEN,
    fake_tiktok::REFRESHED_ACCESS_TOKEN,
    fake_tiktok::REFRESHED_REFRESH_TOKEN,
];

/// `shopunlink --platform tiktok ARGS` against `fake`, credentials from the environment (CI style).
fn run(home: &Home, fake: &Fake, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["--platform", "tiktok"];
    all.extend_from_slice(args);
    let out = home
        .cmd(&all)
        .env("SHOPUNLINK_TIKTOK_API_BASE", fake.api_base())
        .env("SHOPUNLINK_TIKTOK_AUTH_BASE", fake.auth_base())
        .env("SHOPUNLINK_TIKTOK_APP_KEY", fake_tiktok::APP_KEY)
        .env("SHOPUNLINK_TIKTOK_APP_SECRET", fake_tiktok::APP_SECRET)
        .env("SHOPUNLINK_TIKTOK_ACCESS_TOKEN", fake_tiktok::ACCESS_TOKEN)
        .env("SHOPUNLINK_TIKTOK_REFRESH_TOKEN", fake_tiktok::REFRESH_TOKEN)
        .env("SHOPUNLINK_TIKTOK_RETRY_BASE_MS", "2")
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
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
    let orders: serde_json::Value = serde_json::from_str(&first("/order/202309/orders/search").body).unwrap();
    assert_eq!((orders["create_time_ge"].as_i64(), orders["create_time_lt"].as_i64()), (Some(since), Some(until)));
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
    let paged = seen.iter().filter(|s| s.path.starts_with("/order/") || s.path.starts_with("/finance/"));
    assert!(paged.clone().count() > 10 && paged.clone().all(|s| s.query["page_size"] == "100"), "page size 100");
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

fn context(fake: &Fake, store: Arc<MemoryStore>) -> PlatformContext {
    PlatformContext {
        profile: "default".into(),
        state_dir: std::env::temp_dir(),
        tiktok: TiktokSettings {
            api_base: fake.api_base(),
            auth_base: fake.auth_base(),
            rate_limit: 50,
            retry_base_ms: 2,
        },
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
        (
            "/finance/",
            105005,
            &["export", "--out", "x", "--datasets", "payments"],
            "\"Finance Information\" scope package",
            "GET /finance/202309/payments",
        ),
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
