//! Base URLs are settings (SPEC §7) so regional hosts and local test servers work; plain `http://`
//! is accepted only for loopback, so a typo can never send tokens over the network in clear.

use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use url::{Host, Url};

use crate::error::{Error, Result};

pub mod media;

/// `text` with the user and password of every URL in it replaced by `***`
/// (`https://user:pass@host` → `https://***@host`), so a base URL with credentials in it never
/// reaches an error, a log or a support report.
pub fn redact_urls(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("://") {
        let (head, tail) = rest.split_at(at + 3);
        out.push_str(head);
        let end = tail
            .find(|c: char| c == '/' || c == '?' || c == '#' || c.is_whitespace() || c == '"')
            .unwrap_or(tail.len());
        let authority = &tail[..end];
        match authority.rfind('@') {
            Some(i) => {
                out.push_str("***");
                out.push_str(&authority[i..]);
            }
            None => out.push_str(authority),
        }
        rest = &tail[end..];
    }
    out.push_str(rest);
    out
}

/// The environment variable naming a PEM bundle of extra trusted root certificates, as curl,
/// OpenSSL, Python and git honour it: how a corporate TLS-inspecting proxy's CA gets trusted.
pub const SSL_CERT_FILE: &str = "SSL_CERT_FILE";

/// The file `SSL_CERT_FILE` names, if it is set and not empty.
///
/// Read here rather than in settings only to keep TLS setup in one file while settings is being
/// reworked; it belongs in the settings' list of environment variables. Everything below takes
/// the path as an argument, so tests never touch the process environment.
pub fn ssl_cert_file() -> Option<PathBuf> {
    std::env::var_os(SSL_CERT_FILE).filter(|v| !v.is_empty()).map(PathBuf::from)
}

/// A client builder whose TLS trusts the roots bundled in the binary (webpki-roots), the
/// operating system's store (read when the client is built, so a CA the admin installed works)
/// and every certificate in the PEM bundle `extra_roots`.
///
/// reqwest reads the OS store through rustls-native-certs, which, like OpenSSL, loads
/// `SSL_CERT_FILE`/`SSL_CERT_DIR` *instead of* the OS store when either is set: with
/// `SSL_CERT_FILE` set the trust is the bundled roots plus that file.
///
/// A named bundle that cannot be read or holds no certificate is an error, as in curl: silently
/// ignoring it would only move the failure to a confusing "unknown issuer" on the first request.
pub fn tls_builder(extra_roots: Option<&Path>) -> Result<reqwest::ClientBuilder> {
    let mut builder = reqwest::Client::builder().tls_built_in_root_certs(true);
    if let Some(path) = extra_roots {
        for cert in read_roots(path)? {
            builder = builder.add_root_certificate(cert);
        }
    }
    Ok(builder)
}

fn read_roots(path: &Path) -> Result<Vec<reqwest::Certificate>> {
    let bad = |what: String| {
        Error::usage(format!("{SSL_CERT_FILE} {} {what}", path.display()))
            .with_hint(format!("point {SSL_CERT_FILE} at a PEM file of CA certificates, or unset it"))
    };
    let pem = std::fs::read(path).map_err(|e| bad("cannot be read".into()).with_cause(e))?;
    let certs = reqwest::Certificate::from_pem_bundle(&pem)
        .map_err(|e| bad("is not a PEM certificate bundle".into()).with_cause(e))?;
    if certs.is_empty() {
        return Err(bad("holds no PEM certificate".into()));
    }
    Ok(certs)
}

/// An HTTP client for requests to `base` that can carry a token or the app secret; it trusts
/// the roots [`tls_builder`] names plus the bundle in `SSL_CERT_FILE`, if set.
pub fn client(base: &Url, connect: Duration, request: Duration) -> Result<reqwest::Client> {
    client_with_roots(base, connect, request, ssl_cert_file().as_deref())
}

/// [`client`] with the extra roots given instead of read from `SSL_CERT_FILE`.
///
/// Redirects are never followed: reqwest would re-send our `x-tts-access-token` header (it strips
/// only the standard credential headers) and a query holding the app secret to whatever host the
/// `Location` names, over plain http too, which would undo [`checked`] one hop later. A loopback
/// base bypasses any configured proxy, or `HTTP_PROXY` would carry the clear-text request off the
/// machine; an https base refuses to downgrade.
pub fn client_with_roots(
    base: &Url,
    connect: Duration,
    request: Duration,
    extra_roots: Option<&Path>,
) -> Result<reqwest::Client> {
    let mut builder = tls_builder(extra_roots)?
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
    Error::platform(format!("{endpoint} answered HTTP {status}, a redirect{to}, which shopunlink does not follow"))
        .with_hint("a redirect could carry the access token elsewhere: set the base URL to the final host")
        .with_detail("endpoint", endpoint)
        .with_detail("http_status", status)
}

pub(crate) fn is_loopback(url: &Url) -> bool {
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
            .with_hint("a base URL such as https://api.example.com (plain http only to this machine)")
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
    fn credentials_in_urls_are_redacted() {
        assert_eq!(redact_urls("see https://user:pa55@host.example/x?y=1"), "see https://***@host.example/x?y=1");
        assert_eq!(redact_urls("http://127.0.0.1:8080/a and ftp://a@b"), "http://127.0.0.1:8080/a and ftp://***@b");
        assert_eq!(redact_urls("no url here"), "no url here");
        assert_eq!(redact_urls("https://host/path@not-userinfo"), "https://host/path@not-userinfo");
    }

    #[test]
    fn http_only_for_loopback() {
        assert!(checked("api", "https://api.example.com").is_ok());
        assert!(checked("api", "http://127.0.0.1:8080").is_ok());
        assert!(checked("api", "http://[::1]:8080").is_ok());
        assert!(checked("api", "http://localhost:1").is_ok());
        assert!(checked("api", "http://10.0.0.1").is_err());
        assert!(checked("api", "http://example.com").is_err());
        assert!(checked("api", "ftp://127.0.0.1").is_err());
        assert!(checked("api", "not a url").is_err());
    }
}

/// The extra-roots path against a real TLS server on loopback with a CA made for the test.
#[cfg(test)]
mod tls_tests {
    use std::sync::Arc;

    use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair, KeyUsagePurpose};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio_rustls::TlsAcceptor;
    use tokio_rustls::rustls::{ServerConfig, crypto::ring, pki_types::PrivateKeyDer};

    use super::*;

    /// A fresh CA's PEM and a TLS acceptor whose leaf (for 127.0.0.1) that CA signed.
    fn pki() -> (String, TlsAcceptor) {
        let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
        ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca.distinguished_name.push(DnType::CommonName, "shopunlink test CA");
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::DigitalSignature];
        let ca_key = KeyPair::generate().unwrap();
        let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
        let issuer = Issuer::new(ca, ca_key);
        let leaf_key = KeyPair::generate().unwrap();
        let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap().signed_by(&leaf_key, &issuer).unwrap();
        let key = PrivateKeyDer::Pkcs8(leaf_key.serialize_der().into());
        let config = ServerConfig::builder_with_provider(Arc::new(ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(vec![leaf.der().clone()], key)
            .unwrap();
        (ca_pem, TlsAcceptor::from(Arc::new(config)))
    }

    /// Serves `HTTP 200 ok` over TLS on 127.0.0.1 until the test's runtime ends; returns the base.
    async fn serve(acceptor: TlsAcceptor) -> Url {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = Url::parse(&format!("https://{}/", listener.local_addr().unwrap())).unwrap();
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    // A refused handshake is the point of one test: nothing to serve then.
                    let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                    let mut head = Vec::new();
                    let mut buf = [0u8; 1024];
                    while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                        match tls.read(&mut buf).await {
                            Ok(0) | Err(_) => return,
                            Ok(n) => head.extend_from_slice(&buf[..n]),
                        }
                    }
                    let reply = b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
                    let _ = tls.write_all(reply).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        base
    }

    fn client_for(base: &Url, roots: Option<&Path>) -> Result<reqwest::Client> {
        client_with_roots(base, Duration::from_secs(5), Duration::from_secs(10), roots)
    }

    #[tokio::test]
    async fn trusts_the_ca_named_as_extra_roots_and_refuses_it_otherwise() {
        let (ca_pem, acceptor) = pki();
        let dir = tempfile::tempdir().unwrap();
        let bundle = dir.path().join("corporate-ca.pem");
        std::fs::write(&bundle, ca_pem).unwrap();
        let base = serve(acceptor).await;

        let trusting = client_for(&base, Some(&bundle)).unwrap();
        let response = trusting.get(base.clone()).send().await.expect("the named CA is trusted");
        assert_eq!(response.status(), 200);
        assert_eq!(response.text().await.unwrap(), "ok");

        let default = client_for(&base, None).unwrap();
        let err = default.get(base.clone()).send().await.expect_err("an unknown CA is refused");
        let mut chain = err.to_string();
        let mut source = std::error::Error::source(&err);
        while let Some(cause) = source {
            chain.push_str(&format!(": {cause}"));
            source = cause.source();
        }
        assert!(err.is_connect() && chain.to_lowercase().contains("certificate"), "{chain}");
    }

    #[test]
    fn an_unreadable_or_empty_bundle_is_a_usage_error() {
        let dir = tempfile::tempdir().unwrap();
        let base = Url::parse("https://127.0.0.1:1/").unwrap();
        let missing = dir.path().join("missing.pem");
        let err = client_for(&base, Some(&missing)).unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::Usage);
        assert!(err.message().contains("cannot be read"), "{}", err.message());
        let empty = dir.path().join("empty.pem");
        std::fs::write(&empty, "not a certificate\n").unwrap();
        let err = client_for(&base, Some(&empty)).unwrap_err();
        assert_eq!(err.kind(), crate::error::ErrorKind::Usage);
        assert!(err.message().contains("holds no PEM certificate"), "{}", err.message());
    }
}
