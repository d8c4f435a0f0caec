//! Downloading a product picture from wherever the platform keeps it (a CDN), under the same rules
//! as the API calls: https only (plain http to loopback alone), redirects followed only to https,
//! timeouts, and a size cap read incrementally so a host that sends gigabytes costs no memory.
//! No credential is ever attached: the client has no token header and media URLs are opaque.

use std::sync::OnceLock;
use std::time::Duration;

use url::Url;

use super::{is_loopback, ssl_cert_file, tls_builder};

/// One downloaded picture.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Media {
    /// The bytes, as the host sent them.
    pub bytes: Vec<u8>,
    /// The `content-type`, lowercased, without parameters (`image/png`).
    pub content_type: String,
}

/// How long a download may take in all.
const TIMEOUT: Duration = Duration::from_secs(60);
/// How many redirects (each to https) a download may follow.
const MAX_REDIRECTS: usize = 5;
/// Tries for a download that failed on the network or with a 5xx.
const TRIES: u32 = 3;

/// Two shared clients: one that honours the proxy settings (a CDN on the internet) and one that
/// bypasses them (loopback, as a proxy would carry clear text off the machine).
fn client(loopback: bool) -> Result<&'static reqwest::Client, String> {
    static CLIENTS: OnceLock<Result<(reqwest::Client, reqwest::Client), String>> = OnceLock::new();
    let built = CLIENTS.get_or_init(|| {
        let make = |no_proxy: bool| -> Result<reqwest::Client, String> {
            let policy = reqwest::redirect::Policy::custom(|attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    attempt.error("too many redirects")
                } else if attempt.url().scheme() == "https" || is_loopback(attempt.url()) {
                    attempt.follow()
                } else {
                    attempt.error("a redirect to plain http")
                }
            });
            let mut b = tls_builder(ssl_cert_file().as_deref())
                .map_err(|e| e.to_string())?
                .connect_timeout(Duration::from_secs(10))
                .timeout(TIMEOUT)
                .redirect(policy)
                .user_agent(concat!("shopunlink/", env!("CARGO_PKG_VERSION")));
            if no_proxy {
                b = b.no_proxy();
            }
            b.build().map_err(|e| e.to_string())
        };
        Ok((make(false)?, make(true)?))
    });
    match built {
        Ok((proxied, direct)) => Ok(if loopback { direct } else { proxied }),
        Err(e) => Err(format!("cannot build the HTTP client: {e}")),
    }
}

/// Downloads `url`, at most `cap` bytes. `Err` says why in words the manifest can record (a
/// refused URL, an HTTP status, not an image, too large, the network).
pub async fn fetch(url: &str, cap: u64) -> Result<Media, String> {
    let parsed = Url::parse(url).map_err(|_| "not a URL".to_owned())?;
    let loopback = is_loopback(&parsed);
    match parsed.scheme() {
        "https" => {}
        "http" if loopback => {}
        other => return Err(format!("refused: {other}:// (only https, or plain http to this machine)")),
    }
    let client = client(loopback)?;
    let mut last = String::new();
    for attempt in 0..TRIES {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
        }
        match once(client, &parsed, cap).await {
            Ok(media) => return Ok(media),
            Err(Problem::Final(why)) => return Err(why),
            Err(Problem::Retry(why)) => last = why,
        }
    }
    Err(last)
}

enum Problem {
    Retry(String),
    Final(String),
}

async fn once(client: &reqwest::Client, url: &Url, cap: u64) -> Result<Media, Problem> {
    let mut response = client.get(url.clone()).send().await.map_err(|e| {
        let e = e.without_url();
        if e.is_timeout() { Problem::Retry("timed out".into()) } else { Problem::Retry(e.to_string()) }
    })?;
    let status = response.status();
    if status.is_server_error() {
        return Err(Problem::Retry(format!("HTTP {}", status.as_u16())));
    }
    if !status.is_success() {
        return Err(Problem::Final(format!("HTTP {}", status.as_u16())));
    }
    let content_type = response
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim().to_ascii_lowercase())
        .unwrap_or_default();
    if !content_type.starts_with("image/") {
        let shown = if content_type.is_empty() { "no content type".into() } else { content_type };
        return Err(Problem::Final(format!("not an image ({shown})")));
    }
    let too_large = || Problem::Final(format!("larger than the {} MiB cap; not kept", cap >> 20));
    if response.content_length().is_some_and(|n| n > cap) {
        return Err(too_large());
    }
    let mut bytes = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if bytes.len() as u64 + chunk.len() as u64 > cap => return Err(too_large()),
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            Ok(None) => return Ok(Media { bytes, content_type }),
            Err(e) => return Err(Problem::Retry(e.without_url().to_string())),
        }
    }
}

/// The file extension for a picture's content type.
pub fn extension(content_type: &str) -> &'static str {
    match content_type {
        "image/png" => "png",
        "image/jpeg" | "image/jpg" => "jpg",
        "image/gif" => "gif",
        "image/webp" => "webp",
        "image/avif" => "avif",
        "image/svg+xml" => "svg",
        "image/bmp" => "bmp",
        _ => "img",
    }
}
