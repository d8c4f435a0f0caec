//! A local stand-in for TikTok's auth host (`SHOPUNLINK_TIKTOK_AUTH_BASE`): it answers the token
//! exchange only for the expected app key, app secret and authorization code.

use wiremock::matchers::{method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The fake secrets every test uses, distinctive enough to grep for.
pub const APP_KEY: &str = "appkey-6b1d";
pub const APP_SECRET: &str = "appsecret-LEAKCHECK-a1";
pub const AUTH_CODE: &str = "authcode-LEAKCHECK-b2";
pub const ACCESS_TOKEN: &str = "access-LEAKCHECK-c3";
pub const REFRESH_TOKEN: &str = "refresh-LEAKCHECK-d4";
pub const SELLER: &str = "Acme Test Shop";
/// Access token expiry the server reports (absolute Unix time, as TikTok sends it).
pub const ACCESS_EXPIRES: i64 = 4_102_444_800; // 2100-01-01T00:00:00Z

/// Starts the server with a successful token exchange.
pub async fn start() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/api/v2/token/get"))
        .and(query_param("app_key", APP_KEY))
        .and(query_param("app_secret", APP_SECRET))
        .and(query_param("auth_code", AUTH_CODE))
        .and(query_param("grant_type", "authorized_code"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "code": 0, "message": "success", "request_id": "req-token-1",
            "data": {
                "access_token": ACCESS_TOKEN, "access_token_expire_in": ACCESS_EXPIRES,
                "refresh_token": REFRESH_TOKEN, "refresh_token_expire_in": ACCESS_EXPIRES + 86_400,
                "open_id": "open-1", "seller_name": SELLER, "seller_base_region": "US", "user_type": 0,
                "granted_scopes": ["seller.shop.info", "seller.order.info"]
            }
        })))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/api/v2/token/get"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "code": 36004005, "message": "no such auth record", "request_id": "req-token-bad", "data": null
        })))
        .mount(&server)
        .await;
    server
}

/// `shopunlink --platform tiktok ARGS` pointed at `server`, with the app key and secret in the
/// environment and no keyring (as in a container).
pub fn tiktok_cmd(home: &crate::common::Home, server: &MockServer, args: &[&str]) -> assert_cmd::Command {
    let mut all = vec!["--platform", "tiktok"];
    all.extend_from_slice(args);
    let mut cmd = home.cmd(&all);
    cmd.env("SHOPUNLINK_TIKTOK_AUTH_BASE", server.uri())
        .env("SHOPUNLINK_TIKTOK_API_BASE", server.uri())
        .env("SHOPUNLINK_TIKTOK_APP_KEY", APP_KEY)
        .env("SHOPUNLINK_TIKTOK_APP_SECRET", APP_SECRET)
        .env("SHOPUNLINK_KEYRING", "none");
    cmd
}

/// The redirect URL the seller's browser lands on after approving the app.
pub fn redirect_url() -> String {
    format!("https://app.example.invalid/callback?code={AUTH_CODE}&state=from-another-run")
}
