//! Base URLs are settings (SPEC §7) so regional hosts and local test servers work; plain `http://`
//! is accepted only for loopback, so a typo can never send tokens over the network in clear.

use std::net::IpAddr;

use url::{Host, Url};

use crate::error::{Error, Result};

/// Parses and checks a base URL: `https://` anywhere, `http://` only to a loopback address.
pub fn checked(name: &str, raw: &str) -> Result<Url> {
    let url = Url::parse(raw).map_err(|e| {
        Error::usage(format!("{name} {raw:?} is not a URL"))
            .with_cause(e)
            .with_hint("e.g. https://open-api.tiktokglobalshop.com")
    })?;
    let loopback = match url.host() {
        Some(Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(Host::Ipv4(ip)) => IpAddr::V4(ip).is_loopback(),
        Some(Host::Ipv6(ip)) => IpAddr::V6(ip).is_loopback(),
        None => false,
    };
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
