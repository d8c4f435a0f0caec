//! Base URLs are settings (SPEC §7) so regional hosts and local test servers work; plain `http://`
//! is accepted only for loopback, so a typo can never send tokens over the network in clear.

use std::net::IpAddr;
use std::time::Duration;

use url::{Host, Url};

use crate::error::{Error, Result};

/// An HTTP client for requests to `base` that can carry a token or the app secret.
///
/// Redirects are never followed: reqwest would re-send our `x-tts-access-token` header (it strips
/// only the standard credential headers) and a query holding the app secret to whatever host the
/// `Location` names, over plain http too, which would undo [`checked`] one hop later. A loopback
/// base bypasses any configured proxy, or `HTTP_PROXY` would carry the clear-text request off the
/// machine; an https base refuses to downgrade.
pub fn client(base: &Url, connect: Duration, request: Duration) -> Result<reqwest::Client> {
    let mut builder = reqwest::Client::builder()
        .connect_timeout(connect)
        .timeout(request)
        .redirect(reqwest::redirect::Policy::none())
        .user_agent(concat!("shopunlink/", env!("CARGO_PKG_VERSION")));
    if is_loopback(base) {
        builder = builder.no_proxy();
    }
    if base.scheme() == "https" {
        builder = builder.https_only(true);
    }
    builder.build().map_err(|e| Error::internal("cannot build the HTTP client").with_cause(e))
}

/// The error for a 3xx answer: names where it pointed (host only; its query may hold secrets).
pub fn redirect_error(endpoint: &str, status: u16, location: Option<&str>) -> Error {
    let host = location.and_then(|l| Url::parse(l).ok()).and_then(|u| u.host_str().map(str::to_owned));
    let to = host.map_or_else(String::new, |h| format!(" to {h}"));
    Error::platform(format!(
        "TikTok {endpoint} answered HTTP {status}, a redirect{to}, which shopunlink does not follow"
    ))
    .with_hint("a redirect could carry the access token elsewhere: set the base URL to the final host")
    .with_detail("endpoint", endpoint)
    .with_detail("http_status", status)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    }
}

/// Parses and checks a base URL: `https://` anywhere, `http://` only to a loopback address.
pub fn checked(name: &str, raw: &str) -> Result<Url> {
    let url = Url::parse(raw).map_err(|e| {
        Error::usage(format!("{name} {raw:?} is not a URL"))
            .with_cause(e)
            .with_hint("e.g. https://open-api.tiktokglobalshop.com")
    })?;
    let loopback = is_loopback(&url);
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        "http" => Err(Error::usage(format!("{name} {raw:?} uses plain http to a non-loopback host"))
            .with_hint("use https://; plain http:// is allowed only for 127.0.0.1, ::1 or localhost")),
        other => Err(Error::usage(format!("{name} {raw:?} has unsupported scheme {other:?}"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn http_only_for_loopback() {
        assert!(checked("api", "https://open-api.tiktokglobalshop.com").is_ok());
        assert!(checked("api", "http://127.0.0.1:8080").is_ok());
        assert!(checked("api", "http://[::1]:8080").is_ok());
        assert!(checked("api", "http://localhost:1").is_ok());
        assert!(checked("api", "http://10.0.0.1").is_err());
        assert!(checked("api", "http://example.com").is_err());
        assert!(checked("api", "ftp://127.0.0.1").is_err());
        assert!(checked("api", "not a url").is_err());
    }
}
