//! The `tiktok` platform's settings: its `config.toml` keys and `SHOPUNLINK_TIKTOK_*` variables,
//! read from what the settings layer captured ([`PlatformSettings`]).

use crate::error::{Error, Result};
use crate::platform::{PlatformSettings, SettingInfo};

/// Default TikTok Shop API host (SPEC §7).
pub const DEFAULT_API_BASE: &str = "https://open-api.tiktokglobalshop.com";
/// Default TikTok Shop token host (SPEC §7).
pub const DEFAULT_AUTH_BASE: &str = "https://auth.tiktok-shops.com";
/// Default client-side limit: TikTok's own, 50 requests per second per API.
pub const DEFAULT_RATE_LIMIT: u32 = 50;
/// What the rate limit accepts. Below TikTok's 50 suits an app shared with other jobs; the
/// ceiling catches a slip of the keyboard (an extra zero) before it earns a run of 429s.
pub const RATE_LIMITS: std::ops::RangeInclusive<u32> = 1..=1000;
/// Default first retry delay of the client.
pub const DEFAULT_RETRY_BASE_MS: u64 = 500;

/// The API base URL.
pub const API_BASE: SettingInfo = SettingInfo {
    key: Some("api_base"),
    env: Some("SHOPUNLINK_TIKTOK_API_BASE"),
    help: "TikTok API base URL; plain http only to loopback.",
};
/// The token host's base URL.
pub const AUTH_BASE: SettingInfo = SettingInfo {
    key: Some("auth_base"),
    env: Some("SHOPUNLINK_TIKTOK_AUTH_BASE"),
    help: "TikTok token host base URL; plain http only to loopback.",
};
/// Requests per second per API.
pub const RATE_LIMIT: SettingInfo = SettingInfo {
    key: Some("rate_limit"),
    env: Some("SHOPUNLINK_TIKTOK_RATE_LIMIT"),
    help: "TikTok's limit, requests per second per API for each app and shop (1-1000, default 50); requests are paced at 96% of it.",
};
/// First retry delay.
pub const RETRY_BASE_MS: SettingInfo = SettingInfo {
    key: None,
    env: Some("SHOPUNLINK_TIKTOK_RETRY_BASE_MS"),
    help: "First retry delay of the TikTok client in milliseconds (default 500; later retries double it).",
};
/// The app's service id, for the seller authorization link of `auth login`.
pub const SERVICE_ID: SettingInfo = SettingInfo {
    key: Some("service_id"),
    env: None,
    help: "TikTok app service id: `auth login` prints the seller authorization link with it.",
};
/// The credential variables (their names follow from the platform's; listed for the docs).
pub const CREDENTIAL_VARS: [SettingInfo; 4] = [
    SettingInfo {
        key: None,
        env: Some("SHOPUNLINK_TIKTOK_APP_KEY"),
        help: "TikTok app key (auth login reads it instead of prompting).",
    },
    SettingInfo {
        key: None,
        env: Some("SHOPUNLINK_TIKTOK_APP_SECRET"),
        help: "TikTok app secret (auth login reads it instead of prompting).",
    },
    SettingInfo {
        key: None,
        env: Some("SHOPUNLINK_TIKTOK_ACCESS_TOKEN"),
        help: "TikTok access token; when set, the environment is the credential source.",
    },
    SettingInfo { key: None, env: Some("SHOPUNLINK_TIKTOK_REFRESH_TOKEN"), help: "TikTok refresh token." },
];

/// Every setting of the platform.
pub fn all() -> Vec<SettingInfo> {
    let mut all = vec![API_BASE, AUTH_BASE, RATE_LIMIT, RETRY_BASE_MS, SERVICE_ID];
    all.extend(CREDENTIAL_VARS);
    all
}

/// Settings of the `tiktok` platform, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TiktokSettings {
    /// API base URL.
    pub api_base: String,
    /// Token endpoint base URL.
    pub auth_base: String,
    /// Client-side limit, requests per second per endpoint for each app + shop.
    pub rate_limit: u32,
    /// First retry delay in milliseconds; later retries double it (with jitter).
    pub retry_base_ms: u64,
    /// The app's service id, when configured.
    pub service_id: Option<String>,
}

impl Default for TiktokSettings {
    fn default() -> Self {
        TiktokSettings {
            api_base: DEFAULT_API_BASE.into(),
            auth_base: DEFAULT_AUTH_BASE.into(),
            rate_limit: DEFAULT_RATE_LIMIT,
            retry_base_ms: DEFAULT_RETRY_BASE_MS,
            service_id: None,
        }
    }
}

impl TiktokSettings {
    /// Resolves the settings: environment, then the profile's config keys, then defaults.
    pub fn resolve(s: &PlatformSettings) -> Result<TiktokSettings> {
        Ok(TiktokSettings {
            api_base: s.get(&API_BASE).unwrap_or_else(|| DEFAULT_API_BASE.into()),
            auth_base: s.get(&AUTH_BASE).unwrap_or_else(|| DEFAULT_AUTH_BASE.into()),
            rate_limit: rate_limit(s.get(&RATE_LIMIT), &s.origin(&RATE_LIMIT))?,
            retry_base_ms: match s.get(&RETRY_BASE_MS) {
                None => DEFAULT_RETRY_BASE_MS,
                Some(v) => v.trim().parse().map_err(|_| {
                    Error::usage(format!(
                        "{} must be a whole number of milliseconds, not {v:?}",
                        s.origin(&RETRY_BASE_MS)
                    ))
                })?,
            },
            service_id: s.get(&SERVICE_ID),
        })
    }
}

/// The rate limit from its text (environment or config), else the default; a value outside
/// [`RATE_LIMITS`] is a usage error naming where it came from.
fn rate_limit(text: Option<String>, origin: &str) -> Result<u32> {
    let Some(text) = text else { return Ok(DEFAULT_RATE_LIMIT) };
    match text.trim().parse::<u32>() {
        Ok(n) if RATE_LIMITS.contains(&n) => Ok(n),
        _ => Err(Error::usage(format!(
            "{origin} must be a whole number of requests per second from {} to {}, not {text:?}",
            RATE_LIMITS.start(),
            RATE_LIMITS.end()
        ))
        .with_hint(format!("TikTok allows {DEFAULT_RATE_LIMIT} per second per API"))
        .with_detail(if origin.starts_with("SHOPUNLINK_") { "env" } else { "setting" }, origin)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(env: Option<&str>, config: Option<toml::Value>) -> PlatformSettings {
        let mut s = PlatformSettings::default();
        if let Some(v) = env {
            s.env.insert("SHOPUNLINK_TIKTOK_RATE_LIMIT".into(), v.into());
        }
        if let Some(v) = config {
            s.config.insert("rate_limit".into(), v);
        }
        s
    }

    #[test]
    fn rate_limit_env_beats_config_and_is_checked() {
        let limit = |env, config| TiktokSettings::resolve(&settings(env, config)).map(|s| s.rate_limit);
        assert_eq!(limit(None, None).unwrap(), DEFAULT_RATE_LIMIT);
        assert_eq!(limit(None, Some(toml::Value::Integer(20))).unwrap(), 20);
        assert!(limit(None, Some(toml::Value::Integer(0))).is_err());
        assert_eq!(limit(Some(" 7 "), Some(toml::Value::Integer(20))).unwrap(), 7);
        assert_eq!(limit(Some("1000"), None).unwrap(), 1000);
        for bad in ["0", "1001", "-5", "fast", "2.5"] {
            let e = limit(Some(bad), Some(toml::Value::Integer(20))).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Usage, "{bad}");
            assert!(e.message().contains("SHOPUNLINK_TIKTOK_RATE_LIMIT"), "{e}");
        }
        let e = limit(None, Some(toml::Value::String("fast".into()))).unwrap_err();
        assert!(e.message().contains("rate_limit in"), "{e}");
    }
}
