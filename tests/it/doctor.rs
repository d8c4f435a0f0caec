//! `doctor`: offline on the sandbox; against a local stand-in for TikTok's hosts it checks
//! reachability and clock skew without ever sending a credential.

use chrono::Utc;
use wiremock::matchers::any;
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{Home, run_cmd};
use crate::token_server::{ACCESS_TOKEN, APP_SECRET, tiktok_cmd};

fn check<'a>(doc: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    doc["checks"].as_array().unwrap().iter().find(|c| c["name"] == name).unwrap_or_else(|| panic!("no {name}: {doc}"))
}

/// A host whose clock is `offset_secs` away from ours.
async fn host_with_clock(offset_secs: i64) -> MockServer {
    let server = MockServer::start().await;
    let date = (Utc::now() + chrono::Duration::seconds(offset_secs)).format("%a, %d %b %Y %H:%M:%S GMT").to_string();
    Mock::given(any())
        .respond_with(ResponseTemplate::new(404).insert_header("date", date.as_str()))
        .mount(&server)
        .await;
    server
}

fn doctor_json(home: &Home, server: &MockServer, env: &[(&str, &str)]) -> serde_json::Value {
    let mut cmd = tiktok_cmd(home, server, &["doctor", "--json"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let (code, out, err) = run_cmd(cmd);
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {out}"));
    // A doctor that finds a problem exits non-zero (a script can gate on it), with its report.
    assert_eq!(code == 0, doc["ok"] == true, "{err}");
    if code != 0 {
        assert_eq!(doc["error"]["exit_code"], code, "{doc}");
    }
    doc
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_on_the_sandbox_is_all_ok_and_offline() {
    // A TikTok host is configured but must not be contacted: the sandbox is embedded.
    let server = host_with_clock(0).await;
    let home = Home::new();
    let mut cmd = home.cmd(&["doctor", "--json"]);
    cmd.env("SHOPUNLINK_TIKTOK_API_BASE", server.uri()).env("SHOPUNLINK_KEYRING", "none");
    let (code, out, err) = run_cmd(cmd);
    assert_eq!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(doc["schema_version"], 1);
    assert_eq!(doc["ok"], true, "{doc}");
    for name in ["config", "state_dir", "credentials", "keyring", "totp", "network", "audit_log"] {
        assert_eq!(check(&doc, name)["ok"], true, "{name}: {doc}");
    }
    assert!(check(&doc, "network")["detail"].as_str().unwrap().contains("offline"));
    assert!(doc["support_report"].as_str().unwrap().contains("@brightside.agency"));
    assert!(server.received_requests().await.unwrap().is_empty(), "the sandbox doctor made a request");
    let (code, out, _) = home.run(&["doctor"]);
    assert_eq!(code, 0);
    assert!(out.contains("All checks passed"), "{out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_checks_hosts_and_clock_without_sending_credentials() {
    let server = host_with_clock(0).await;
    let home = Home::new();
    let env = [("SHOPUNLINK_TIKTOK_ACCESS_TOKEN", ACCESS_TOKEN)];
    let doc = doctor_json(&home, &server, &env);
    assert_eq!(check(&doc, "api_base")["ok"], true, "{doc}");
    assert_eq!(check(&doc, "auth_base")["ok"], true, "{doc}");
    assert_eq!(check(&doc, "clock")["ok"], true, "{doc}");
    assert!(check(&doc, "credentials")["detail"].as_str().unwrap().contains("environment"), "{doc}");
    assert_eq!(check(&doc, "totp")["ok"], false, "TikTok disconnects need a TOTP");
    let requests = server.received_requests().await.unwrap();
    assert!(!requests.is_empty());
    // The reachability probes are anonymous. Listing the authorized shops (for the support
    // report) is an ordinary signed API call: it carries the access token, as every call must,
    // but the app secret only ever signs and is never sent.
    let (api_calls, probes): (Vec<_>, Vec<_>) =
        requests.iter().partition(|r| r.url.path().starts_with("/authorization/"));
    assert!(!probes.is_empty());
    for r in &probes {
        assert_eq!(r.url.query(), None, "the probe carries no query: {}", r.url);
        let headers = format!("{:?}", r.headers);
        assert!(!headers.contains(ACCESS_TOKEN) && !headers.contains(APP_SECRET), "{headers}");
    }
    for r in &api_calls {
        let sent = format!("{} {:?} {}", r.url, r.headers, String::from_utf8_lossy(&r.body));
        assert!(!sent.contains(APP_SECRET), "{sent}");
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_reports_a_clock_ten_minutes_off() {
    let server = host_with_clock(-600).await;
    let home = Home::new();
    let doc = doctor_json(&home, &server, &[]);
    let clock = check(&doc, "clock");
    assert_eq!(clock["ok"], false, "{doc}");
    assert!(clock["detail"].as_str().unwrap().contains("ahead"), "{clock}");
    assert_eq!(doc["ok"], false);
    assert_eq!(check(&doc, "credentials")["ok"], false);
    assert!(check(&doc, "credentials")["hint"].as_str().unwrap().contains("shopunlink auth login --platform tiktok"));
}

#[tokio::test(flavor = "multi_thread")]
async fn doctor_reports_an_unreachable_host_and_exits_non_zero() {
    let server = host_with_clock(0).await;
    let home = Home::new();
    let mut cmd = tiktok_cmd(&home, &server, &["doctor", "--json"]);
    // Port 1 on loopback: nothing listens there.
    cmd.env("SHOPUNLINK_TIKTOK_API_BASE", "http://127.0.0.1:1");
    let (code, out, err) = run_cmd(cmd);
    assert_ne!(code, 0, "{err}");
    let doc: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(check(&doc, "api_base")["ok"], false, "{doc}");
    assert_eq!(check(&doc, "auth_base")["ok"], true, "{doc}");
    assert_eq!(check(&doc, "clock")["ok"], true, "the auth host's clock is used: {doc}");
    let mut cmd = tiktok_cmd(&home, &server, &["doctor"]);
    cmd.env("SHOPUNLINK_TIKTOK_API_BASE", "http://10.1.2.3");
    let (code, out, _) = run_cmd(cmd);
    assert_ne!(code, 0);
    assert!(out.contains("plain http"), "a non-loopback http URL is refused before any request: {out}");
}

#[tokio::test(flavor = "multi_thread")]
async fn the_support_report_lists_failures_with_request_ids_and_no_secret() {
    let server = host_with_clock(0).await;
    let home = Home::new();
    std::fs::create_dir_all(home.join("state")).unwrap();
    let failed = serde_json::json!({
        "time": "2026-03-01T10:00:00Z", "event": "disconnect.failed", "platform": "tiktok", "profile": "default",
        "shop_id": "7001", "link_id": "app-7001", "handle": "Acme Test Shop",
        "request_ids": ["req-failed-42"], "error": "DELETE /event/202309/webhooks failed: HTTP 503"
    });
    std::fs::write(home.join("state/audit.log"), format!("{failed}\n")).unwrap();
    let mut cmd = tiktok_cmd(&home, &server, &["doctor", "--support"]);
    cmd.env("SHOPUNLINK_TIKTOK_ACCESS_TOKEN", ACCESS_TOKEN);
    let (code, out, err) = run_cmd(cmd);
    assert_ne!(code, 0, "an unfinished disconnect is a problem: {err}");
    assert!(out.contains("req-failed-42") && out.contains("NOT finished"), "{out}");
    assert!(out.contains("What to send"), "{out}");
    assert!(!out.contains(ACCESS_TOKEN) && !out.contains(APP_SECRET), "{out}");
    let doc = doctor_json(&home, &server, &[]);
    assert_eq!(check(&doc, "audit_log")["ok"], false);
    assert_eq!(doc["failures"][0]["request_ids"][0], "req-failed-42");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_password_in_a_base_url_never_shows() {
    let server = host_with_clock(0).await;
    let home = Home::new();
    let mut cmd = tiktok_cmd(&home, &server, &["doctor", "--support"]);
    cmd.env("SHOPUNLINK_TIKTOK_API_BASE", "https://admin:hunter2secret@10.1.2.3");
    let (_, out, err) = run_cmd(cmd);
    assert!(!out.contains("hunter2secret") && !err.contains("hunter2secret"), "{out}\n{err}");
    assert!(out.contains("***@10.1.2.3") || err.contains("***@10.1.2.3"), "{out}\n{err}");
}
