//! Can the platform's hosts be reached, and does this machine agree with them on the time?
//!
//! Each base URL gets one anonymous GET: no token, no app key, no signature, so a doctor run can
//! never leak a credential, even to a mistyped host. Any HTTP answer (404 included) proves the host
//! is reachable. TikTok rejects requests whose `timestamp` is more than 5 minutes behind or 30
//! seconds ahead of its clock; the HTTP `Date` header of the answer tells us its clock.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::base_url;
use super::settings::{self, TiktokSettings};
use crate::platform::{HealthCheck as Check, PlatformContext};

/// How long one probe may take.
pub const TIMEOUT: Duration = Duration::from_secs(10);
/// How far behind the platform's clock ours may be (TikTok: 5 minutes, less a margin for the
/// `Date` header's one-second resolution and the round trip).
pub const MAX_BEHIND_SECS: i64 = 290;
/// How far ahead (TikTok: 30 seconds, less the same margin).
pub const MAX_AHEAD_SECS: i64 = 25;

/// What one probe saw.
#[derive(Debug, Clone)]
pub struct Probe {
    /// HTTP status.
    pub status: u16,
    /// The server's clock (`Date` header), if it sent one.
    pub server_time: Option<DateTime<Utc>>,
    /// Our clock halfway through the request.
    pub local_time: DateTime<Utc>,
}

/// Reachability of each base URL and clock skew; settings that do not parse are a failed check.
pub async fn checks(ctx: &PlatformContext) -> Vec<Check> {
    let settings = match TiktokSettings::resolve(&ctx.settings) {
        Ok(s) => s,
        Err(e) => return vec![Check::fail("settings", e.to_string(), e.hints().join("; "))],
    };
    let (api_var, auth_var) = (settings::API_BASE.env.unwrap_or_default(), settings::AUTH_BASE.env.unwrap_or_default());
    let bases =
        [("api_base", api_var, settings.api_base.as_str()), ("auth_base", auth_var, settings.auth_base.as_str())];
    let mut out = Vec::new();
    let mut clock = None;
    for (name, var, raw) in bases {
        let (check, probe) = reach(name, var, raw).await;
        out.push(check);
        if clock.is_none() {
            clock = probe.and_then(|p| p.server_time.map(|server| (raw.to_owned(), p.local_time, server)));
        }
    }
    out.push(match clock {
        Some((host, local, server)) => skew_check(&host, local, server),
        None => Check::fail(
            "clock",
            "no platform host answered with a Date header, so the clock could not be compared",
            "make sure the base URLs are reachable, and that this machine's clock is synchronised (NTP)",
        ),
    });
    out
}

async fn reach(name: &str, var: &str, raw: &str) -> (Check, Option<Probe>) {
    let url = match base_url::checked(var, raw) {
        Ok(u) => u,
        Err(e) => return (Check::fail(name, e.to_string(), e.hints().join("; ")), None),
    };
    match probe(&url).await {
        Ok(p) => (Check::pass(name, format!("{raw} answered HTTP {}", p.status)), Some(p)),
        Err(why) => (
            Check::fail(
                name,
                format!("{raw} cannot be reached: {why}"),
                format!("check the network, a proxy or firewall, and {var}"),
            ),
            None,
        ),
    }
}

/// One anonymous GET of `url` (no redirects followed, no credentials).
pub async fn probe(url: &url::Url) -> Result<Probe, String> {
    // The same roots as the TikTok client (OS store, bundled, SSL_CERT_FILE), so doctor's verdict
    // on reachability is the one the real requests will meet.
    let client = base_url::tls_builder(base_url::ssl_cert_file().as_deref())
        .map_err(|e| e.to_string())?
        .timeout(TIMEOUT)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("shopunlink/", env!("CARGO_PKG_VERSION"), " (doctor)"))
        .build()
        .map_err(|e| e.to_string())?;
    let before = Utc::now();
    let response = client.get(url.clone()).send().await.map_err(|e| e.without_url().to_string())?;
    let after = Utc::now();
    let server_time = response
        .headers()
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| DateTime::parse_from_rfc2822(v).ok())
        .map(|t| t.with_timezone(&Utc));
    Ok(Probe { status: response.status().as_u16(), server_time, local_time: before + (after - before) / 2 })
}

/// Compares our clock with the server's: `local - server` must be within what TikTok accepts.
pub fn skew_check(host: &str, local: DateTime<Utc>, server: DateTime<Utc>) -> Check {
    let skew = (local - server).num_seconds();
    let words = match skew {
        0 => "in step with".to_owned(),
        s if s > 0 => format!("{s} s ahead of"),
        s => format!("{} s behind", -s),
    };
    let detail = format!("this machine's clock is {words} {host}");
    if (-MAX_BEHIND_SECS..=MAX_AHEAD_SECS).contains(&skew) {
        Check::pass("clock", detail)
    } else {
        Check::fail(
            "clock",
            format!("{detail}; TikTok rejects requests more than 5 min behind or 30 s ahead"),
            "synchronise the clock (e.g. `timedatectl set-ntp true`, or your OS's time settings)",
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skew_limits_follow_tiktoks_window() {
        let server = Utc::now();
        let at = |s: i64| server + chrono::Duration::seconds(s);
        assert!(skew_check("h", at(0), server).ok);
        assert!(skew_check("h", at(-200), server).ok);
        assert!(skew_check("h", at(20), server).ok);
        assert!(!skew_check("h", at(40), server).ok, "30 s ahead is already refused");
        let behind = skew_check("h", at(-600), server);
        assert!(!behind.ok && behind.detail.contains("600 s behind"), "{}", behind.detail);
    }
}
