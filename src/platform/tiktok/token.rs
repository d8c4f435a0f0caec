//! The token endpoints on the auth host: exchange an authorization code, refresh a token.
//! Both are unsigned GETs that carry the app secret in the query, so their URLs are never logged.

use chrono::{DateTime, TimeZone, Utc};
use serde::Deserialize;

use super::base_url;
use super::client::Envelope;
use super::settings::TiktokSettings;
use crate::credentials::{Credentials, Secret};
use crate::error::{Error, Result};

/// The tokens arrive straight into [`Secret`]s, so not even a stray `{:?}` can print them.
#[derive(Debug, Deserialize)]
struct TokenData {
    access_token: Secret,
    access_token_expire_in: i64,
    refresh_token: Option<Secret>,
    refresh_token_expire_in: Option<i64>,
    #[serde(default)]
    seller_name: Option<String>,
    #[serde(default)]
    granted_scopes: Vec<String>,
}

fn at(unix: i64) -> Option<DateTime<Utc>> {
    Utc.timestamp_opt(unix, 0).single()
}

/// Calls `path` on the auth host with `query` and turns the answer into credentials.
async fn call(
    settings: &TiktokSettings,
    path: &str,
    query: &[(&str, &str)],
    app_key: &str,
    app_secret: &Secret,
) -> Result<Credentials> {
    let mut url = base_url::checked("SHOPUNLINK_TIKTOK_AUTH_BASE", &settings.auth_base)?;
    url.set_path(path);
    url.query_pairs_mut().extend_pairs(query);
    let endpoint = format!("GET {path}");
    tracing::debug!(endpoint = %endpoint, "token request (query redacted: it carries the app secret)");
    let client = base_url::client(&url, std::time::Duration::from_secs(10), std::time::Duration::from_secs(30))?;
    let response = client.get(url).send().await.map_err(|e| {
        Error::platform(format!("{endpoint} failed"))
            .with_cause(e.without_url())
            .with_detail("endpoint", endpoint.clone())
    })?;
    let status = response.status();
    if status.is_redirection() {
        let location = response.headers().get("location").and_then(|v| v.to_str().ok());
        return Err(base_url::redirect_error(&endpoint, status.as_u16(), location));
    }
    let body = response
        .bytes()
        .await
        .map_err(|e| Error::platform(format!("{endpoint} failed")).with_cause(e.without_url()))?;
    let envelope: Envelope<TokenData> = serde_json::from_slice(&body).map_err(|e| {
        Error::platform(format!("{endpoint} answered HTTP {status} with a body that is not the token envelope"))
            .with_cause(e)
            .with_detail("endpoint", endpoint.clone())
    })?;
    let data = match (envelope.code, envelope.data) {
        (0, Some(data)) => data,
        (code, _) => {
            let hint = match code {
                36004005 => "the authorization code is unknown or was already used: authorise again",
                36004001 => "the refresh token has expired: run `shopunlink auth login --platform tiktok` again",
                _ => "run `shopunlink auth login --platform tiktok` again",
            };
            return Err(Error::auth(format!("{endpoint} refused: {} (code {code})", envelope.message))
                .with_hint(hint)
                .with_detail("endpoint", endpoint)
                .with_detail("code", code)
                .with_detail("request_id", envelope.request_id));
        }
    };
    Ok(Credentials {
        app_key: app_key.to_owned(),
        app_secret: app_secret.clone(),
        access_token: data.access_token,
        refresh_token: data.refresh_token,
        access_token_expires_at: at(data.access_token_expire_in),
        refresh_token_expires_at: data.refresh_token_expire_in.and_then(at),
        scopes: data.granted_scopes,
        seller_name: data.seller_name,
    })
}

/// Exchanges an authorization code (from the seller's redirect) for tokens.
pub async fn exchange_auth_code(
    settings: &TiktokSettings,
    app_key: &str,
    app_secret: &Secret,
    auth_code: &str,
) -> Result<Credentials> {
    let query = [
        ("app_key", app_key),
        ("app_secret", app_secret.expose()),
        ("auth_code", auth_code),
        ("grant_type", "authorized_code"),
    ];
    call(settings, "/api/v2/token/get", &query, app_key, app_secret).await
}

/// Trades a refresh token for a new access (and refresh) token.
pub async fn refresh(
    settings: &TiktokSettings,
    app_key: &str,
    app_secret: &Secret,
    refresh_token: &Secret,
) -> Result<Credentials> {
    let query = [
        ("app_key", app_key),
        ("app_secret", app_secret.expose()),
        ("refresh_token", refresh_token.expose()),
        ("grant_type", "refresh_token"),
    ];
    call(settings, "/api/v2/token/refresh", &query, app_key, app_secret).await
}

/// The page the seller opens to authorise the app (`us` picks the US host).
pub fn authorization_url(service_id: &str, state: &str, us: bool) -> String {
    let host = if us { "https://services.tiktokshops.us" } else { "https://services.tiktokshop.com" };
    let mut url = url::Url::parse(&format!("{host}/open/authorize")).expect("static URL");
    url.query_pairs_mut().append_pair("service_id", service_id).append_pair("state", state);
    url.into()
}
