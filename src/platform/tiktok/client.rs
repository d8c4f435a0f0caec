//! The signed HTTP client of the Open API: one call = limiter slot, signed request, envelope check,
//! retry or refresh as the failure asks, and an [`Error`] that names endpoint, code and request id.
//!
//! Success is `code == 0` in the body whatever the HTTP status, so every answer is read as the
//! envelope first. Each request is logged at debug level (`-vv`) with method, path, status and
//! request id only: the query holds the signature, the headers the access token, and neither is
//! ever formatted (reqwest errors are stripped of their URL for the same reason).

use std::sync::Arc;
use std::time::{Duration, Instant};

use reqwest::Method;
use serde::Deserialize;
use serde_json::value::RawValue;
use url::Url;

use super::limiter::Limiter;
use super::retry::{self, Backoff};
use super::session::{LOGIN_HINT, Session, Token};
use super::sign;
use crate::error::{Error, Result};
use crate::net as base_url;

/// Connecting must not take longer than this.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// A whole request (including reading the body) must not take longer than this.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// The most one answer may hold. The largest real page (100 orders with every field) is a few
/// MB; a body past this is a misbehaving server or proxy, and reading on would only grow memory.
/// Several datasets read at once, so this bounds the client's memory at a few times it.
pub const MAX_BODY: usize = 16 << 20;

/// No new attempt of one call starts this long after its first: a server that keeps failing
/// slowly ends the run with exit 6 in minutes, not after every retry's full timeout.
pub const RETRY_BUDGET: Duration = Duration::from_secs(90);

/// Rate-limit refusals of one call retried without using up an attempt: the limiter has slowed
/// down by then, and the retry waits for it.
const FREE_THROTTLED_RETRIES: u32 = 10;

/// Token expired: refresh once and retry.
const TOKEN_EXPIRED: i64 = 105002;

/// One API call.
#[derive(Debug, Clone)]
pub struct Call {
    /// HTTP method.
    pub method: Method,
    /// The request path (`/order/202309/orders/search`).
    pub path: String,
    /// The API this path belongs to, for the rate limiter (paths with ids share one API).
    pub api: &'static str,
    /// The scope package the API needs, named in the 105005 hint.
    pub scope: &'static str,
    /// Query parameters besides `app_key`, `timestamp`, `sign` and `shop_cipher`.
    pub query: Vec<(&'static str, String)>,
    /// The JSON body, serialised once: these exact bytes are signed and sent.
    pub body: Option<Vec<u8>>,
    /// The shop's cipher, for shop-scoped APIs.
    pub shop_cipher: Option<String>,
}

impl Call {
    /// A GET of `path`.
    pub fn get(api: &'static str, path: impl Into<String>, scope: &'static str) -> Call {
        Call { method: Method::GET, path: path.into(), api, scope, query: Vec::new(), body: None, shop_cipher: None }
    }

    /// A call with a JSON body.
    pub fn with_body(method: Method, api: &'static str, scope: &'static str, body: &serde_json::Value) -> Call {
        let bytes = serde_json::to_vec(body).expect("a JSON value always serialises");
        Call { method, path: api.to_owned(), api, scope, query: Vec::new(), body: Some(bytes), shop_cipher: None }
    }

    /// Adds a query parameter.
    pub fn query(mut self, key: &'static str, value: impl ToString) -> Call {
        self.query.push((key, value.to_string()));
        self
    }

    /// Addresses the shop (ignored on paths that must not carry a cipher).
    pub fn shop(mut self, cipher: &str) -> Call {
        self.shop_cipher = Some(cipher.to_owned());
        self
    }

    /// `METHOD /path`, as errors and logs name it.
    pub fn endpoint(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// True for APIs that take a `shop_cipher`; `/authorization/` and `/seller/` reject it (36009004).
pub fn shop_scoped(path: &str) -> bool {
    !(path.starts_with("/authorization/") || path.starts_with("/seller/"))
}

/// A successful answer: the request id and the raw `data` object.
#[derive(Debug)]
pub struct Reply {
    /// The platform's request id, for receipts and support.
    pub request_id: String,
    /// `data` as sent (`null` when absent).
    pub data: Box<RawValue>,
}

/// The wrapper around every TikTok answer, API host and auth host alike: `code != 0` is an
/// error whatever the HTTP status. `D` is what `data` holds when it succeeded.
#[derive(Deserialize)]
pub(super) struct Envelope<D = Box<RawValue>> {
    pub(super) code: i64,
    #[serde(default)]
    pub(super) message: String,
    #[serde(default)]
    pub(super) request_id: String,
    pub(super) data: Option<D>,
}

/// How one attempt failed.
enum Failure {
    /// Worth another try after a delay (at least `retry_after` when the server said so).
    Retry(Error, Option<Duration>),
    /// Refused as over the rate limit (HTTP 429 or code 36009002): the whole key slows down,
    /// then this request is tried again like a [`Failure::Retry`].
    Throttled(Error, Option<Duration>),
    /// The access token expired.
    Expired(Error),
    /// Final.
    Fatal(Error),
}

/// The Open API client, shared by every concurrent task.
#[derive(Debug)]
pub struct Client {
    http: reqwest::Client,
    base: Url,
    session: Arc<Session>,
    limiter: Limiter,
    backoff: Backoff,
}

impl Client {
    /// A client for the API at `base` (already checked) with the given limits.
    pub fn new(base: Url, session: Arc<Session>, rate_limit: u32, backoff: Backoff) -> Result<Client> {
        let http = base_url::client(&base, CONNECT_TIMEOUT, REQUEST_TIMEOUT)?;
        Ok(Client { http, base, session, limiter: Limiter::new(rate_limit), backoff })
    }

    /// The requests per second per API the platform allows (the limiter stays a little under).
    pub fn rate_limit(&self) -> u32 {
        self.limiter.limit()
    }

    /// The tokens this client uses.
    pub fn session(&self) -> &Arc<Session> {
        &self.session
    }

    /// Sends `call`, retrying transient failures and refreshing an expired token once.
    pub async fn call(&self, call: &Call) -> Result<Reply> {
        let mut refreshed = false;
        let mut attempt = 0;
        let mut throttled = 0;
        let started = Instant::now();
        loop {
            attempt += 1;
            let token = self.session.current().await?;
            let key = format!("{}|{}|{}", token.app_key, call.shop_cipher.as_deref().unwrap_or(""), call.api);
            self.limiter.acquire(&key).await;
            let outcome = match self.attempt(call, &token, attempt).await {
                Err(Failure::Throttled(e, retry_after)) => {
                    // The limiter slows the key down and holds it; the retry waits for it, so a
                    // refusal for the rate uses up no attempt (until it keeps happening).
                    self.limiter.refused(&key, retry_after);
                    throttled += 1;
                    if throttled <= FREE_THROTTLED_RETRIES {
                        attempt -= 1;
                    }
                    Err(Failure::Retry(e, None))
                }
                other => {
                    self.limiter.answered(&key);
                    other
                }
            };
            match outcome {
                Ok(reply) => return Ok(reply),
                Err(Failure::Retry(e, retry_after))
                    if attempt < self.backoff.attempts
                        && started.elapsed() + self.backoff.delay(attempt, retry_after) < RETRY_BUDGET =>
                {
                    let delay = self.backoff.delay(attempt, retry_after);
                    tracing::debug!(endpoint = %call.endpoint(), attempt, delay_ms = delay.as_millis() as u64, "retrying: {e}");
                    tokio::time::sleep(delay).await;
                }
                Err(Failure::Retry(e, _)) => {
                    return Err(e.with_hint(format!(
                        "gave up after {attempt} attempts in {}s; wait a little and rerun (an export resumes where it \
                         stopped)",
                        started.elapsed().as_secs()
                    )));
                }
                Err(Failure::Expired(e)) if !refreshed => {
                    refreshed = true;
                    attempt -= 1;
                    self.session.refresh(token.generation).await.map_err(|r| r.with_cause(e.message().to_owned()))?;
                }
                Err(Failure::Expired(e) | Failure::Fatal(e) | Failure::Throttled(e, _)) => return Err(e),
            }
        }
    }

    /// The URL of one attempt: query, `app_key`, `timestamp`, cipher where allowed, and `sign`.
    fn url(&self, call: &Call, token: &Token) -> Result<Url> {
        let mut params: Vec<(&str, String)> = call.query.iter().map(|(k, v)| (*k, v.clone())).collect();
        params.push(("app_key", token.app_key.clone()));
        params.push(("timestamp", chrono::Utc::now().timestamp().to_string()));
        if let Some(cipher) = call.shop_cipher.as_ref().filter(|_| shop_scoped(&call.path)) {
            params.push(("shop_cipher", cipher.clone()));
        }
        let signature = sign::sign(token.app_secret.expose(), &call.path, &params, call.body.as_deref());
        let mut url = self.base.clone();
        let prefix = url.path().trim_end_matches('/').to_owned();
        url.set_path(&format!("{prefix}{}", call.path));
        // `url` percent-encodes every value (`/`, `+`, `=` in page tokens); the signature above
        // covers the decoded values, as the reference requires.
        url.query_pairs_mut().extend_pairs(&params).append_pair("sign", &signature);
        Ok(url)
    }

    async fn attempt(&self, call: &Call, token: &Token, attempt: u32) -> Result<Reply, Failure> {
        let endpoint = call.endpoint();
        let url = self.url(call, token).map_err(Failure::Fatal)?;
        let mut request = self
            .http
            .request(call.method.clone(), url)
            .header("x-tts-access-token", token.access_token.expose())
            .header("content-type", "application/json");
        if let Some(body) = &call.body {
            request = request.body(body.clone());
        }
        let started = Instant::now();
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                let timed_out = e.is_timeout();
                let e = e.without_url();
                tracing::debug!(method = %call.method, path = %call.path, attempt, "no response: {e}");
                let err = Error::platform(if timed_out {
                    format!("TikTok {endpoint} timed out: no answer within {}s", REQUEST_TIMEOUT.as_secs())
                } else {
                    format!("TikTok {endpoint} failed: no response")
                })
                .with_cause(e)
                .with_detail("endpoint", endpoint);
                return Err(Failure::Retry(err, None));
            }
        };
        let status = response.status().as_u16();
        if response.status().is_redirection() {
            let location = response.headers().get("location").and_then(|v| v.to_str().ok());
            return Err(Failure::Fatal(base_url::redirect_error(&endpoint, status, location)));
        }
        let retry_after =
            response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(retry::parse_retry_after);
        let body = read_body(response, &endpoint).await?;
        let envelope = serde_json::from_slice::<Envelope>(&body);
        let request_id = envelope.as_ref().map(|e| e.request_id.as_str()).unwrap_or("");
        tracing::debug!(
            method = %call.method,
            path = %call.path,
            status,
            request_id,
            attempt,
            ms = started.elapsed().as_millis() as u64,
            "tiktok request"
        );
        if retry::retryable_status(status) {
            // SPEC §4: the message names the endpoint, the platform's code and the request id,
            // when the answer carried an envelope at all.
            let said = match envelope.as_ref() {
                Ok(e) => format!(
                    " (code {}, request_id {})",
                    e.code,
                    if request_id.is_empty() { "none" } else { request_id }
                ),
                Err(_) => String::new(),
            };
            let err = Error::platform(format!("TikTok {endpoint} answered HTTP {status}{said}"))
                .with_detail("endpoint", endpoint)
                .with_detail("http_status", status)
                .with_detail("request_id", request_id);
            let throttled = status == 429 || envelope.as_ref().is_ok_and(|e| e.code == retry::RATE_LIMITED);
            return Err(if throttled {
                Failure::Throttled(err, retry_after)
            } else {
                Failure::Retry(err, retry_after)
            });
        }
        if status == 401 || status == 403 {
            return Err(Failure::Fatal(refused_http(call, status, envelope.as_ref().ok())));
        }
        let envelope = envelope.map_err(|e| {
            Failure::Fatal(
                Error::platform(format!(
                    "TikTok {endpoint} answered HTTP {status} with a body that is not its JSON envelope"
                ))
                .with_cause(e)
                .with_hint(
                    "the API or a proxy in between answered something unexpected; rerun, and report it if it persists",
                )
                .with_detail("endpoint", endpoint.clone())
                .with_detail("http_status", status),
            )
        })?;
        if envelope.code == 0 {
            let data = envelope.data.unwrap_or_else(|| RawValue::from_string("null".into()).expect("valid JSON"));
            return Ok(Reply { request_id: envelope.request_id, data });
        }
        let err = api_error(call, status, &envelope);
        Err(if envelope.code == retry::RATE_LIMITED {
            Failure::Throttled(err, retry_after)
        } else if retry::retryable_code(envelope.code) {
            Failure::Retry(err, retry_after)
        } else if envelope.code == TOKEN_EXPIRED {
            Failure::Expired(err)
        } else {
            Failure::Fatal(err)
        })
    }
}

/// Reads the body chunk by chunk, refusing it as soon as it passes [`MAX_BODY`] (an endless body
/// never grows memory past the cap). A body that stops arriving is a retryable failure that
/// says it timed out.
async fn read_body(mut response: reqwest::Response, endpoint: &str) -> Result<Vec<u8>, Failure> {
    if response.content_length().is_some_and(|n| n > MAX_BODY as u64) {
        return Err(Failure::Fatal(too_large(endpoint)));
    }
    let mut body = Vec::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) if body.len() + chunk.len() > MAX_BODY => return Err(Failure::Fatal(too_large(endpoint))),
            Ok(Some(chunk)) => body.extend_from_slice(&chunk),
            Ok(None) => return Ok(body),
            Err(e) => {
                let message = if e.is_timeout() {
                    format!("TikTok {endpoint} timed out while sending its answer ({}s)", REQUEST_TIMEOUT.as_secs())
                } else {
                    format!("TikTok {endpoint} failed while reading the answer")
                };
                let err = Error::platform(message).with_cause(e.without_url()).with_detail("endpoint", endpoint);
                return Err(Failure::Retry(err, None));
            }
        }
    }
}

fn too_large(endpoint: &str) -> Error {
    Error::platform(format!("TikTok {endpoint} answered more than {} MiB: refused", MAX_BODY >> 20))
        .with_hint(
            "no real page is that large: a proxy or server in between is misbehaving; check SHOPUNLINK_TIKTOK_API_BASE",
        )
        .with_detail("endpoint", endpoint.to_owned())
}

/// HTTP 401/403: whoever answered (the API, or a proxy in front of it) refused our credentials,
/// which is an authentication failure (exit 4), not a platform fault.
fn refused_http(call: &Call, status: u16, envelope: Option<&Envelope>) -> Error {
    match envelope.filter(|e| e.code != 0) {
        Some(env) => api_error(call, status, env).with_kind(crate::error::ErrorKind::Auth),
        None => Error::auth(format!("TikTok {} answered HTTP {status} (not authorized)", call.endpoint()))
            .with_hint(format!(
                "the credentials were refused, by the API or by a proxy in between: check them, or {LOGIN_HINT}"
            ))
            .with_detail("endpoint", call.endpoint())
            .with_detail("http_status", status),
    }
}

/// Maps a non-zero envelope to an error of the right kind, with the documented hint.
fn api_error(call: &Call, status: u16, env: &Envelope) -> Error {
    let endpoint = call.endpoint();
    let message = format!(
        "TikTok {endpoint} failed: {} (code {}, request_id {})",
        if env.message.is_empty() { "no message" } else { &env.message },
        env.code,
        if env.request_id.is_empty() { "none" } else { &env.request_id },
    );
    let err = match env.code {
        105001 => Error::auth(message)
            .with_hint(format!("the access token is invalid or the seller deauthorized the app: {LOGIN_HINT}"))
            .with_detail("reason", crate::error::TOKEN_REFUSED),
        TOKEN_EXPIRED => Error::auth(message).with_hint(format!("the access token has expired: {LOGIN_HINT}")),
        105005 => Error::auth(message)
            .with_hint(format!(
                "the app is missing the \"{}\" scope package: add it to the app in Partner Center, then have the seller \
                 authorize again ({LOGIN_HINT})",
                call.scope
            ))
            .with_detail("reason", crate::error::MISSING_SCOPE)
            .with_detail("scope", call.scope),
        36009033 => Error::auth(message).with_hint(
            "this machine's IP address is not on the app's IP allow-list: add it in Partner Center \
             (App → Manage → IP allow-list), or run from an allowed host",
        ),
        // The shop is not one this authorization covers: for this profile, no such shop (exit 7).
        101000 => Error::not_found(message).with_hint(format!(
            "this profile's authorization does not cover that shop: `shopunlink status` lists the shops it does; \
             check --shop and --profile, or {LOGIN_HINT}"
        )),
        36009004 | 106001 | 106013 => Error::platform(message).with_hint(
            "the request was refused as malformed: check the system clock and SHOPUNLINK_TIKTOK_APP_SECRET / the \
             stored app secret; if they are right, this is a shopunlink bug: please report it",
        ),
        _ => Error::platform(message),
    };
    err.with_detail("endpoint", endpoint)
        .with_detail("code", env.code)
        .with_detail("request_id", env.request_id.clone())
        .with_detail("http_status", status)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shop_cipher_never_goes_to_authorization_or_seller() {
        assert!(!shop_scoped("/authorization/202309/shops"));
        assert!(!shop_scoped("/seller/202309/shops"));
        assert!(!shop_scoped("/seller/202309/permissions"));
        assert!(shop_scoped("/order/202309/orders/search"));
        assert!(shop_scoped("/event/202309/webhooks"));
    }

    fn envelope(code: i64) -> Envelope {
        Envelope { code, message: "msg".into(), request_id: "rq-1".into(), data: None }
    }

    #[test]
    fn documented_codes_get_kinds_hints_and_details() {
        use crate::error::ErrorKind;
        let call = Call::get("/finance/202309/statements", "/finance/202309/statements", "Finance Information");
        let scope = api_error(&call, 200, &envelope(105005));
        assert_eq!(scope.kind(), ErrorKind::Auth);
        assert!(scope.hints()[0].contains("\"Finance Information\" scope package"), "{:?}", scope.hints());
        assert_eq!(scope.detail("request_id").unwrap(), "rq-1");
        assert_eq!(scope.detail("endpoint").unwrap(), "GET /finance/202309/statements");
        assert_eq!(scope.detail("code").unwrap(), 105005);
        assert!(scope.message().contains("code 105005") && scope.message().contains("rq-1"));
        assert!(api_error(&call, 200, &envelope(36009033)).hints()[0].contains("allow-list"));
        assert!(api_error(&call, 200, &envelope(105001)).hints()[0].contains("auth login --platform tiktok"));
        assert_eq!(api_error(&call, 500, &envelope(1234)).kind(), ErrorKind::Platform);
        let not_ours = api_error(&call, 200, &envelope(101000));
        assert_eq!(not_ours.kind(), ErrorKind::NotFound, "a shop the token does not cover is not found (exit 7)");
        assert!(not_ours.hints()[0].contains("shopunlink status"), "{:?}", not_ours.hints());
    }
}
