//! A fake TikTok Shop (Open API host + auth host) on loopback, for the integration tests and the
//! `tiktok` benchmark.
//!
//! It checks every request the way the reference says the real API does, with its own signing
//! code (deliberately not the crate's `sign.rs`, so a shared mistake cannot hide): app key,
//! timestamp window, lowercase HMAC-SHA256 signature over the decoded query and the body bytes,
//! the `x-tts-access-token` and `content-type` headers, and `shop_cipher` present exactly where
//! it is allowed. Anything wrong is answered with the platform's error code *and* recorded in
//! [`Fake::violations`], so a test can say what the client did wrong.
//!
//! It serves deterministic, paged data whose page tokens contain `/`, `+` and `=`, and can inject
//! 429s, 503s, retryable body codes, dropped connections, a token expiry, refusals with a given
//! code, a body that is not JSON, latency, and a seller who deauthorizes the app.

use std::collections::{BTreeMap, HashMap, HashSet, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use hmac::{Hmac, KeyInit, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use wiremock::matchers::{any, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// The app key the fake expects.
pub const APP_KEY: &str = "fakeappkey29a39d";
/// The app secret both sides sign with.
pub const APP_SECRET: &str = "fake-app-secret-e59af819cc";
/// The access token the fake issues first.
pub const ACCESS_TOKEN: &str = "TTP_fake-access-token-one";
/// The refresh token the fake issues first.
pub const REFRESH_TOKEN: &str = "TTP_fake-refresh-token-one";
/// The access token issued by the first refresh.
pub const REFRESHED_ACCESS_TOKEN: &str = "TTP_fake-access-token-two";
/// The refresh token issued by the first refresh.
pub const REFRESHED_REFRESH_TOKEN: &str = "TTP_fake-refresh-token-two";
/// The one authorized shop.
pub const SHOP_ID: &str = "7494049642642441621";
/// Its name.
pub const SHOP_NAME: &str = "Luna Beauty";
/// The second shop's id, with [`Config::second_shop`].
pub const SECOND_SHOP_ID: &str = "7495000000000000002";
const SECOND_CIPHER: &str = "GCP_second_shop_cipher";
/// Its cipher (what shop-scoped calls pass as `shop_cipher`).
pub const CIPHER: &str = "GCP_XF90igAAAABh00qsWgtvOiGFNqyubMt3";
/// The authorization code the seller's browser brings back (exchanged at `/api/v2/token/get`).
pub const AUTH_CODE: &str = "fake-auth-code-LEAKCHECK-7c";
/// The code the fake answers when a product search would pass its search limit.
pub const SEARCH_TOO_LARGE: i64 = 12052180;

/// How big the fake shop is and what it injects.
#[derive(Debug, Clone)]
pub struct Config {
    /// Orders, one an hour from [`Fake::t0`] (closer together if that would reach the future).
    pub orders: usize,
    /// Products, one every ten minutes from [`Fake::t0`] (idem).
    pub products: usize,
    /// Weekly statements from [`Fake::t0`] (idem); statement `i` holds `(i * 7) % 31` transactions.
    pub statements: usize,
    /// Payments, one a day from [`Fake::t0`] (idem).
    pub payments: usize,
    /// Withdrawals (all four types), one a day from [`Fake::t0`] (idem).
    pub withdrawals: usize,
    /// The tokens are also authorized for a second shop of the seller (listed, never read).
    pub second_shop: bool,
    /// More shops of the seller, each holding the same records as the first (the benchmark's
    /// many-shop export); their ciphers are [`extra_cipher`].
    pub extra_shops: usize,
    /// Records per page at most (the fake may send fewer than `page_size`, as the API may).
    pub page_len: usize,
    /// A product search matching more than this is refused with [`SEARCH_TOO_LARGE`] (the real
    /// limit is 10,000; a small one keeps tests small).
    pub product_search_limit: usize,
    /// Percent of API requests answered with a retryable fault.
    pub fault_percent: u64,
    /// Connections dropped without an answer (the first requests of `/order/`).
    pub dropped_connections: u64,
    /// The access token expires after this many answered API requests.
    pub expire_token_after: Option<u64>,
    /// Added to every answer.
    pub latency: Duration,
    /// The seller deauthorizes the app in Seller Center once the webhooks are gone and the shop
    /// list has been read this many more times (what a `--wait` sees); `None`: never on its own.
    pub deauthorize_after_listings: Option<u64>,
    /// Once the webhooks are gone, the shop list answers garbage after this many more readings
    /// (a network failing in the middle of a `--wait`).
    pub garbage_after_listings: Option<u64>,
    /// The app has the Affiliate Seller scope and the shop has collaborations (otherwise every
    /// affiliate call answers 105005, as for an app without the scope).
    pub affiliates: bool,
    /// Returns and cancellations still in progress (each search answers this many).
    pub open_returns: usize,
    /// The detail call of this product answers "does not exist" (it vanished after the search).
    pub vanished_product: Option<usize>,
    /// The media host refuses some pictures (see `MediaResponder`).
    pub media_faults: bool,
    /// Added to every picture the media host sends.
    pub media_latency: Duration,
    /// A misbehaving server on some paths (the chaos tests).
    pub hostile: Option<Hostile>,
    /// Requests per second per API and shop the fake answers, as TikTok does (50); past it, HTTP
    /// 429 with code 36009002. Counted over the last second at each request's arrival.
    pub rate_limit: Option<u32>,
    /// Bytes of buyer notes added to every order, to make orders as large as real ones (several
    /// KB with their line items and addresses); 0: small orders.
    pub order_padding: usize,
}

/// What a hostile server does wrong, on API paths starting with the prefix it carries.
#[derive(Debug, Clone)]
pub enum Hostile {
    /// Every page after the first hands out one of two page tokens, alternately, forever.
    TokenCycle(String),
    /// Every page hands out the page token it was sent (after the first page).
    TokenRepeat(String),
    /// `data` lacks the records key (a renamed field).
    MissingKey(String),
    /// `total_count` claims this many more records than the list holds.
    ShortList(String, usize),
    /// An HTML page with this HTTP status (a proxy refusing the request).
    Status(String, u16),
}

impl Default for Config {
    fn default() -> Self {
        Config {
            orders: 230,
            products: 260,
            statements: 30,
            payments: 60,
            withdrawals: 80,
            second_shop: false,
            extra_shops: 0,
            page_len: 25,
            product_search_limit: 100,
            fault_percent: 0,
            dropped_connections: 0,
            expire_token_after: None,
            latency: Duration::ZERO,
            deauthorize_after_listings: None,
            garbage_after_listings: None,
            affiliates: true,
            open_returns: 0,
            vanished_product: None,
            media_faults: false,
            media_latency: Duration::ZERO,
            hostile: None,
            rate_limit: Some(50),
            order_padding: 0,
        }
    }
}

/// One record: the JSON text served (byte for byte) and what filters look at. The text is shared,
/// so filtering a large dataset for every page request copies pointers, not records: the fake's
/// own cost stays out of what the benchmark measures.
#[derive(Debug, Clone)]
struct Rec {
    time: i64,
    status: &'static str,
    text: Arc<str>,
}

#[derive(Debug, Default, Clone)]
struct Data {
    t0: i64,
    orders: Vec<Rec>,
    products: Vec<Rec>,
    statements: Vec<Rec>,
    transactions: Vec<Vec<Rec>>,
    payments: Vec<Rec>,
    withdrawals: Vec<Rec>,
    unsettled: Vec<Rec>,
    returns: Vec<Rec>,
    cancellations: Vec<Rec>,
    /// One per product, in the products' order.
    product_details: Vec<Rec>,
    affiliate_orders: Vec<Rec>,
}

/// How far back the fake shop's records go: two months, recent enough for readiness look-backs.
const HISTORY: i64 = 60 * 86400;

const ORDER_STATUSES: [&str; 6] =
    ["COMPLETED", "AWAITING_SHIPMENT", "DELIVERED", "AWAITING_COLLECTION", "CANCELLED", "ON_HOLD"];
const WITHDRAWAL_TYPES: [&str; 4] = ["WITHDRAW", "SETTLE", "TRANSFER", "REVERSE"];

/// An extra order field of `bytes` bytes (none for 0).
fn padding(bytes: usize) -> String {
    if bytes == 0 { String::new() } else { format!(r#","seller_note":"{}""#, "n".repeat(bytes)) }
}

impl Data {
    /// Deterministic records in deliberately uneven formatting (spaces, escapes, `1.0e2`) so any
    /// re-serialisation on the client's side shows up as a difference.
    fn new(c: &Config, t0: i64, media: &str) -> Data {
        // Every record lies between t0 and the fake's "now" (t0 + HISTORY): a shop has no records
        // from the future, and an export that began after the fake started is up to date.
        let step = |n: usize, usual: i64| usual.min(HISTORY / n.max(1) as i64);
        let orders: Vec<Rec> = (0..c.orders)
            .map(|i| {
                let (t, status) = (t0 + i as i64 * step(c.orders, 3600), ORDER_STATUSES[i % ORDER_STATUSES.len()]);
                let text = format!(
                    r#"{{"id":"5770{i:010}", "status":"{status}","create_time":{t},"payment":{{"currency":"GBP","total_amount":"{}.{:02}"}},"buyer_message":"caf\u00e9 \"{i}\" a\/b","weight":1.0e2,"line_items":[{{"sku_id":"17{i}","sale_price":"4.50"}}]{}}}"#,
                    10 + i % 90,
                    i % 100,
                    padding(c.order_padding)
                );
                Rec { time: t, status, text: text.into() }
            })
            .collect();
        let products: Vec<Rec> = (0..c.products)
            .map(|i| {
                let (t, status) = (t0 + i as i64 * step(c.products, 600), if i % 5 == 0 { "DRAFT" } else { "ACTIVATE" });
                let text = format!(
                    r#"{{"id":"17299{i:08}","title":"Serum n\u00b0{i}", "status":"{status}","create_time":{t},"skus":[{{"id":"sku{i}","price":{{"currency":"GBP","sale_price":"12.00"}}}}]}}"#
                );
                Rec { time: t, status, text: text.into() }
            })
            .collect();
        let statements: Vec<Rec> = (0..c.statements)
            .map(|i| {
                let t = t0 + i as i64 * step(c.statements, 7 * 86400);
                let text = format!(
                    r#"{{"id":"st-{i}","statement_time":{t},"settlement_amount":"{i}.50","currency":"GBP", "payment_status":"PAID"}}"#
                );
                Rec { time: t, status: "PAID", text: text.into() }
            })
            .collect();
        let transactions = (0..c.statements)
            .map(|i| {
                (0..(i * 7) % 31)
                    .map(|j| {
                        let t = t0 + i as i64 * step(c.statements, 7 * 86400) + j as i64;
                        let text = format!(
                            r#"{{"id":"tx-{i}-{j}","order_create_time":{t},"revenue_amount":"{j}.25","currency":"GBP","type":"ORDER"}}"#
                        );
                        Rec { time: t, status: "SETTLED", text: text.into() }
                    })
                    .collect()
            })
            .collect();
        let payments = (0..c.payments)
            .map(|i| {
                let t = t0 + i as i64 * step(c.payments, 86400);
                let text = format!(
                    r#"{{"id":"pay-{i}","create_time":{t},"amount":{{"value":"{i}.10","currency":"GBP"}},"status":"PAID","bank_account":"****4321"}}"#
                );
                Rec { time: t, status: "PAID", text: text.into() }
            })
            .collect();
        let withdrawals = (0..c.withdrawals)
            .map(|i| {
                let (t, kind) = (t0 + i as i64 * step(c.withdrawals, 86400), WITHDRAWAL_TYPES[i % 4]);
                let status = if i % 9 == 4 { "PROCESSING" } else { "SUCCESS" };
                let text = format!(
                    r#"{{"id":"wd-{i}","type":"{kind}","create_time":{t},"amount":"-{i}.00","currency":"GBP","status":"{status}"}}"#
                );
                Rec { time: t, status: kind, text: text.into() }
            })
            .collect();
        let unsettled = (0..7)
            .map(|i| Rec {
                time: t0 + i,
                status: "UNSETTLED",
                text: Arc::from(format!(
                    r#"{{"id":"ut-{i}","status":"UNSETTLED","est_settlement_amount":"1{i}.05","currency":"GBP"}}"#
                )),
            })
            .collect();
        let (returns, cancellations) = aftersales(c, t0, &orders);
        let product_details = (0..c.products).map(|i| product_detail(&products, i, media)).collect();
        let affiliate_orders = if c.affiliates { affiliate_orders(t0) } else { Vec::new() };
        Data {
            t0,
            orders,
            products,
            statements,
            transactions,
            payments,
            withdrawals,
            unsettled,
            returns,
            cancellations,
            product_details,
            affiliate_orders,
        }
    }
}

/// Returns (every seventh order) and cancellations (the cancelled orders), all settled, plus
/// `open_returns` of each still in progress.
fn aftersales(c: &Config, t0: i64, orders: &[Rec]) -> (Vec<Rec>, Vec<Rec>) {
    let rec = |t: i64, status: &'static str, text: String| Rec { time: t, status, text: text.into() };
    let mut returns: Vec<Rec> = (0..orders.len())
        .filter(|i| i % 7 == 3)
        .map(|i| {
            let (t, s) = (orders[i].time + 100, "RETURN_OR_REFUND_REQUEST_COMPLETE");
            rec(t, s, format!(
                r#"{{"return_id":"41{i:08}","order_id":"5770{i:010}","return_status":"{s}","create_time":{t},"refund_amount":{{"currency":"GBP","refund_total":"4.50"}},"return_line_items":[{{"return_line_item_id":"41{i:08}0","sku_id":"17{i}"}}]}}"#
            ))
        })
        .collect();
    let mut cancellations: Vec<Rec> = (0..orders.len())
        .filter(|i| orders[*i].status == "CANCELLED")
        .map(|i| {
            let (t, s) = (orders[i].time + 50, "CANCELLATION_REQUEST_COMPLETE");
            rec(
                t,
                s,
                format!(
                    r#"{{"cancel_id":"53{i:08}","order_id":"5770{i:010}","cancel_status":"{s}","create_time":{t}}}"#
                ),
            )
        })
        .collect();
    for k in 0..c.open_returns {
        let t = t0 + HISTORY - 1000 + k as i64;
        let s = "AWAITING_BUYER_SHIP";
        returns.push(rec(t, s, format!(r#"{{"return_id":"49{k:08}","return_status":"{s}","create_time":{t}}}"#)));
        let s = "CANCELLATION_REQUEST_PENDING";
        cancellations.push(rec(t, s, format!(r#"{{"cancel_id":"59{k:08}","cancel_status":"{s}","create_time":{t}}}"#)));
    }
    (returns, cancellations)
}

/// The full record of product `i`: what the detail call serves as `data`.
fn product_detail(products: &[Rec], i: usize, media: &str) -> Rec {
    let p = &products[i];
    // Every product shows its own picture; every third SKU shares picture 0 (kept once).
    let sku_img = if i.is_multiple_of(3) { format!("{media}/img/0.png") } else { format!("{media}/img/sku{i}.png") };
    let text = format!(
        r#"{{"id":"17299{i:08}","title":"Serum n\u00b0{i}","status":"{}","create_time":{},"description":"<p>Rose \"{i}\"</p>","main_images":[{{"urls":["{media}/img/{i}.png"],"width":24}}],"product_attributes":[{{"id":"100392","name":"Size","values":[{{"name":"30 ml"}}]}}],"skus":[{{"id":"sku{i}","sales_attributes":[{{"sku_img":{{"urls":["{sku_img}"]}}}}],"price":{{"currency":"GBP","sale_price":"12.00"}}}}]}}"#,
        p.status, p.time
    );
    Rec { time: p.time, status: p.status, text: text.into() }
}

/// The affiliate orders: commission owed to @lunabeauty and @ruby.reviews, @maxglow's paid.
fn affiliate_orders(t0: i64) -> Vec<Rec> {
    let rec = |t: i64, text: &str| Rec { time: t, status: "COMPLETED", text: Arc::from(text) };
    vec![
        rec(
            t0 + 100,
            &format!(
                r#"{{"id":"ao-1","status":"COMPLETED","create_time":{},"skus":[{{"creator_username":"lunabeauty","open_collaboration_id":"oc-1","estimated_paid_commission":{{"amount":"12.50","currency":"GBP"}}}},{{"creator_username":"maxglow","open_collaboration_id":"oc-1","estimated_paid_commission":{{"amount":"4.00","currency":"GBP"}},"actual_paid_commission":{{"amount":"4.00","currency":"GBP"}}}}]}}"#,
                t0 + 100
            ),
        ),
        rec(
            t0 + 200,
            &format!(
                r#"{{"id":"ao-2","status":"COMPLETED","create_time":{},"skus":[{{"creator_username":"lunabeauty","open_collaboration_id":"oc-1","estimated_paid_commission":{{"amount":"2.25","currency":"GBP"}}}},{{"creator_username":"ruby.reviews","target_collaboration_id":"tc-1","estimated_paid_commission":{{"amount":"3.20","currency":"GBP"}}}}]}}"#,
                t0 + 200
            ),
        ),
    ]
}

/// A time filter as the client sent it: `ge` inclusive, `lt` exclusive, `le` inclusive.
#[derive(Debug, Default, Clone, Copy)]
struct Window {
    ge: Option<i64>,
    lt: Option<i64>,
    le: Option<i64>,
}

impl Window {
    fn contains(&self, t: i64) -> bool {
        self.ge.is_none_or(|g| t >= g) && self.lt.is_none_or(|l| t < l) && self.le.is_none_or(|l| t <= l)
    }
}

/// One request the fake answered (after its checks), for assertions.
#[derive(Debug, Clone)]
pub struct Seen {
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Decoded query.
    pub query: BTreeMap<String, String>,
    /// Body as text.
    pub body: String,
    /// When it arrived (the benchmark's timeline reads it; the tests need only the order).
    #[allow(dead_code)]
    pub at: Instant,
}

#[derive(Debug)]
struct State {
    config: Config,
    /// Shared, so a request can borrow the records while it updates the rest of the state.
    data: Arc<Data>,
    access_token: String,
    refresh_token: String,
    expired_token: Option<String>,
    answered: u64,
    counter: u64,
    faults: u64,
    refreshes: u64,
    issued_tokens: HashSet<String>,
    webhooks: Vec<(String, String)>,
    deleted_webhooks: Vec<String>,
    listings_without_webhooks: u64,
    deauthorized: bool,
    refuse: Option<(String, i64, String)>,
    garbage: Option<String>,
    retry_after: Option<(String, u64)>,
    violations: Vec<String>,
    seen: Vec<Seen>,
    /// `(open collaboration, creator open id)` pairs removed through the API.
    removed_creators: Vec<(String, String)>,
    /// Arrival times of the last second's requests, per shop and API (the rate limit).
    arrivals: HashMap<String, VecDeque<Instant>>,
    /// Requests refused as over the rate limit.
    throttled: u64,
    /// Every request the media host answered (path, query, headers).
    media_seen: Arc<Mutex<Vec<String>>>,
    /// Target collaborations ended through the API.
    ended_targets: Vec<String>,
}

/// A running fake: an API host and an auth host on loopback, sharing one state.
pub struct Fake {
    api: MockServer,
    auth: MockServer,
    /// Kept so the media host runs as long as the fake.
    _media: MockServer,
    state: Arc<Mutex<State>>,
}

/// The picture the media host serves at `name` (`3.png`, `sku4.png`): a few deterministic bytes
/// with a PNG signature, enough to be kept and compared.
pub fn picture(name: &str) -> Vec<u8> {
    let mut bytes = b"\x89PNG\r\n\x1a\n".to_vec();
    bytes.extend(name.bytes().cycle().take(64 + name.len() * 7));
    bytes
}

/// The media host: pictures at `/img/NAME`; with `media_faults`, `1.png` is missing (404), `2.png`
/// answers a web page, `4.png` is larger than the cap. Every request's headers and query are kept,
/// so a test can prove no credential reached it.
struct MediaResponder {
    faults: bool,
    latency: Duration,
    seen: Arc<Mutex<Vec<String>>>,
}

impl Respond for MediaResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let headers: Vec<String> =
            request.headers.iter().map(|(k, v)| format!("{k}: {}", v.to_str().unwrap_or(""))).collect();
        lock_seen(&self.seen).push(format!(
            "{} {}\n{}",
            request.url.path(),
            request.url.query().unwrap_or(""),
            headers.join("\n")
        ));
        let name = request.url.path().trim_start_matches("/img/");
        let base = ResponseTemplate::new(200).set_delay(self.latency);
        match name {
            "1.png" if self.faults => ResponseTemplate::new(404),
            "2.png" if self.faults => base.set_body_raw("<html>oops</html>", "text/html"),
            "4.png" if self.faults => {
                base.insert_header("content-type", "image/png").set_body_bytes(vec![0u8; 33 << 20])
            }
            _ => base.insert_header("content-type", "image/png").set_body_bytes(picture(name)),
        }
    }
}

fn lock_seen(seen: &Mutex<Vec<String>>) -> MutexGuard<'_, Vec<String>> {
    seen.lock().unwrap_or_else(|p| p.into_inner())
}

const AFF_TARGET: &str = "/affiliate_seller/202409/target_collaborations/";
const AFF_TARGET_ONE: &str = "/affiliate_seller/202508/target_collaborations/tc-1";

/// An answer: HTTP status, extra headers, body text.
type Answer = (u16, Vec<(&'static str, String)>, String);

fn envelope(code: i64, message: &str, data: Option<String>) -> String {
    let data = data.map(|d| format!(r#","data":{d}"#)).unwrap_or_default();
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let request_id = format!("2024FAKE{n:08}{code}");
    format!(r#"{{"code":{code},"message":{},"request_id":"{request_id}"{data}}}"#, json!(message))
}

fn ok(data: String) -> Answer {
    (200, Vec::new(), envelope(0, "Success", Some(data)))
}

fn refuse(code: i64, message: &str) -> Answer {
    (200, Vec::new(), envelope(code, message, None))
}

/// splitmix64: the fake's deterministic dice.
fn rand_u64(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// The signature as the reference defines it, written independently of the crate.
fn reference_sign(path: &str, query: &[(String, String)], body: &[u8]) -> String {
    let mut pairs: Vec<&(String, String)> =
        query.iter().filter(|(k, _)| k.as_str() != "sign" && k.as_str() != "access_token").collect();
    pairs.sort_by(|a, b| a.0.as_bytes().cmp(b.0.as_bytes()));
    let mut text = Vec::new();
    text.extend_from_slice(APP_SECRET.as_bytes());
    text.extend_from_slice(path.as_bytes());
    for (k, v) in pairs {
        text.extend_from_slice(k.as_bytes());
        text.extend_from_slice(v.as_bytes());
    }
    text.extend_from_slice(body);
    text.extend_from_slice(APP_SECRET.as_bytes());
    let mut mac = Hmac::<Sha256>::new_from_slice(APP_SECRET.as_bytes()).expect("any key length");
    mac.update(&text);
    hex::encode(mac.finalize().into_bytes())
}

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

struct ApiResponder(Arc<Mutex<State>>);
struct AuthResponder(Arc<Mutex<State>>);

fn lock(state: &Mutex<State>) -> MutexGuard<'_, State> {
    state.lock().unwrap_or_else(|p| p.into_inner())
}

fn template((status, headers, body): Answer, latency: Duration) -> ResponseTemplate {
    let mut t = ResponseTemplate::new(status).set_body_raw(body.into_bytes(), "application/json");
    if !latency.is_zero() {
        // Not even a zero delay: a timer rounds up to the next millisecond tick.
        t = t.set_delay(latency);
    }
    for (k, v) in headers {
        t = t.insert_header(k, v.as_str());
    }
    t
}

impl Respond for ApiResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = lock(&self.0);
        let latency = state.config.latency;
        template(state.api(request), latency)
    }
}

impl Respond for AuthResponder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let mut state = lock(&self.0);
        let latency = state.config.latency;
        template(state.auth(request), latency)
    }
}

impl State {
    fn violation(&mut self, code: i64, message: String) -> Answer {
        self.violations.push(message.clone());
        refuse(code, &message)
    }

    /// The checks every API call must pass, in the order the reference lists them.
    fn check(&mut self, r: &Request, query: &[(String, String)]) -> Result<(), Answer> {
        let q = |k: &str| query.iter().find(|(key, _)| key == k).map(|(_, v)| v.as_str());
        let path = r.url.path().to_owned();
        if q("app_key") != Some(APP_KEY) {
            return Err(self.violation(36009004, format!("{path}: app_key is {:?}", q("app_key"))));
        }
        let ts = q("timestamp").unwrap_or("");
        let fresh = ts.len() == 10 && ts.parse::<i64>().is_ok_and(|t| (now() - 300..=now() + 30).contains(&t));
        if !fresh {
            return Err(self.violation(36009004, format!("{path}: timestamp {ts:?} outside the window")));
        }
        let sign = q("sign").unwrap_or("");
        if sign != reference_sign(&path, query, &r.body) {
            let lower = sign.chars().all(|c| c.is_ascii_digit() || c.is_ascii_lowercase());
            return Err(self.violation(106001, format!("{path}: invalid sign {sign:?} (lowercase hex: {lower})")));
        }
        if q("access_token").is_some() {
            return Err(self.violation(36009004, format!("{path}: access_token in the query")));
        }
        let ct = r.headers.get("content-type").and_then(|v| v.to_str().ok()).unwrap_or("");
        if ct != "application/json" {
            return Err(self.violation(36009004, format!("{path}: content-type {ct:?}")));
        }
        let unscoped = path.starts_with("/authorization/") || path.starts_with("/seller/");
        match (unscoped, q("shop_cipher")) {
            (true, Some(_)) => return Err(self.violation(36009004, format!("{path}: shop_cipher not allowed"))),
            (false, None) => return Err(self.violation(106013, format!("{path}: shop_cipher missing"))),
            (false, Some(c))
                if c == SECOND_CIPHER
                    && self.config.second_shop
                    && (path == "/event/202309/webhooks" || path.starts_with("/affiliate_seller/")) => {}
            (false, Some(c)) if (0..self.config.extra_shops).any(|i| c == extra_cipher(i)) => {}
            (false, Some(c)) if c != CIPHER => return Err(self.violation(101000, format!("{path}: cipher {c:?}"))),
            _ => {}
        }
        if r.url.query().unwrap_or("").contains(['/', '+']) && q("page_token").is_some() {
            return Err(self.violation(36009004, format!("{path}: page_token not percent-encoded")));
        }
        self.check_token(r)
    }

    fn check_token(&mut self, r: &Request) -> Result<(), Answer> {
        let token = r.headers.get("x-tts-access-token").and_then(|v| v.to_str().ok()).unwrap_or("");
        if self.deauthorized {
            return Err(refuse(105001, "Access token is invalid: your token has been deauthorized"));
        }
        if self.expired_token.as_deref() == Some(token) {
            return Err(refuse(105002, "Access token is expired, please refresh it"));
        }
        if token != self.access_token {
            return Err(self.violation(105001, format!("unknown access token ({} chars)", token.len())));
        }
        Ok(())
    }

    /// A retryable fault for about `fault_percent` of requests (deterministic).
    fn fault(&mut self) -> Option<Answer> {
        self.counter += 1;
        let dice = rand_u64(self.counter);
        if dice % 100 >= self.config.fault_percent {
            return None;
        }
        self.faults += 1;
        Some(match (dice >> 32) % 5 {
            0 => (429, vec![("retry-after", "0".into())], envelope(36009002, "Too many requests", None)),
            1 => (503, Vec::new(), "<html><body>503 Service Unavailable</body></html>".into()),
            2 => refuse(36009002, "Too many requests"),
            3 => refuse(36009003, "Internal error"),
            _ => refuse(36009007, "Request timeout"),
        })
    }

    /// HTTP 429 when this request would make more than the rate limit in the last second of its
    /// shop and API.
    fn over_the_limit(&mut self, path: &str, query: &[(String, String)]) -> Option<Answer> {
        let limit = self.config.rate_limit? as usize;
        let cipher = query.iter().find(|(k, _)| k == "shop_cipher").map_or("", |(_, v)| v.as_str());
        let now = Instant::now();
        let recent = self.arrivals.entry(format!("{cipher}|{}", api_of(path))).or_default();
        while recent.front().is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1)) {
            recent.pop_front();
        }
        if recent.len() >= limit {
            self.throttled += 1;
            return Some((429, Vec::new(), envelope(36009002, "Too many requests", None)));
        }
        recent.push_back(now);
        None
    }

    fn api(&mut self, r: &Request) -> Answer {
        let query: Vec<(String, String)> = r.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let path = r.url.path().to_owned();
        if let Some(fault) = self.fault() {
            return fault;
        }
        if let Some(refused) = self.over_the_limit(&path, &query) {
            return refused;
        }
        self.seller_may_deauthorize(&path);
        if let Some((prefix, secs)) = self.retry_after.take() {
            if path.starts_with(&prefix) {
                return (429, vec![("retry-after", secs.to_string())], envelope(36009002, "Too many requests", None));
            }
            self.retry_after = Some((prefix, secs));
        }
        if let Err(answer) = self.check(r, &query) {
            return answer;
        }
        if self.garbage.as_ref().is_some_and(|p| path.starts_with(p)) {
            // A captive portal or misrouted proxy: success status, a page that is not the API's.
            return (200, Vec::new(), "<html><head><title>Sign in to the network</title></head></html>".into());
        }
        if let Some((prefix, code, message)) = &self.refuse
            && path.starts_with(prefix.as_str())
        {
            return refuse(*code, message);
        }
        self.seen.push(Seen {
            method: r.method.to_string(),
            path: path.clone(),
            query: query.iter().cloned().collect(),
            body: String::from_utf8_lossy(&r.body).into_owned(),
            at: Instant::now(),
        });
        let answer = self.route(r, &path, &query);
        let answer = self.hostile(&path, &query, answer);
        self.answered += 1;
        if self.config.expire_token_after == Some(self.answered) {
            self.expired_token = Some(std::mem::take(&mut self.access_token));
        }
        answer
    }

    fn route(&mut self, r: &Request, path: &str, query: &[(String, String)]) -> Answer {
        let q: BTreeMap<&str, &str> = query.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let body: Value =
            if r.body.is_empty() { json!({}) } else { serde_json::from_slice(&r.body).unwrap_or(json!(null)) };
        let method = r.method.as_str();
        match (method, path) {
            ("GET", "/authorization/202309/shops") => {
                let second = if self.config.second_shop {
                    format!(
                        r#",{{"id":"{SECOND_SHOP_ID}","name":"Luna Outlet","region":"GB","cipher":"{SECOND_CIPHER}"}}"#
                    )
                } else {
                    String::new()
                };
                let extra: String = (0..self.config.extra_shops)
                    .map(|i| {
                        let cipher = extra_cipher(i);
                        format!(r#",{{"id":"75{i:017}","name":"Luna Branch {i}","region":"GB","cipher":"{cipher}"}}"#)
                    })
                    .collect();
                ok(format!(
                    r#"{{"shops":[{{"id":"{SHOP_ID}","name":"{SHOP_NAME}","region":"GB","seller_type":"LOCAL","cipher":"{CIPHER}","code":"GBLCLUNA"}}{second}{extra}]}}"#
                ))
            }
            ("GET", "/event/202309/webhooks") if r.url.query().unwrap_or("").contains(SECOND_CIPHER) => {
                ok(json!({ "webhooks": [] }).to_string())
            }
            ("GET", "/event/202309/webhooks") => {
                let hooks: Vec<Value> =
                    self.webhooks.iter().map(|(e, a)| json!({"event_type": e, "address": a})).collect();
                ok(json!({ "webhooks": hooks }).to_string())
            }
            ("DELETE", "/event/202309/webhooks") => {
                let event = body["event_type"].as_str().unwrap_or("").to_owned();
                self.webhooks.retain(|(e, _)| *e != event);
                self.deleted_webhooks.push(event);
                ok("{}".into())
            }
            ("POST", "/order/202309/orders/search") => {
                let w = body_window(&body, "create_time");
                // The fake's orders never change after they are placed: updated when created.
                let updated = body_window(&body, "update_time");
                let status = body["order_status"].as_str();
                let data = self.data.clone();
                let mut recs = filter(&data.orders, |r| {
                    w.contains(r.time) && updated.contains(r.time) && status.is_none_or(|s| s == r.status)
                });
                match (q.get("sort_field").copied(), q.get("sort_order").copied()) {
                    (None | Some("create_time" | "update_time"), None | Some("ASC")) => {}
                    (None | Some("create_time" | "update_time"), Some("DESC")) => recs.reverse(),
                    other => return self.violation(36009004, format!("orders: sort {other:?}")),
                }
                self.page("orders", &recs, &q)
            }
            ("POST", "/product/202502/products/search") => {
                let w = body_window(&body, "create_time");
                let status = body["status"].as_str();
                let data = self.data.clone();
                let recs = filter(&data.products, |r| w.contains(r.time) && status.is_none_or(|s| s == r.status));
                if status.is_none() && recs.len() > self.config.product_search_limit {
                    return refuse(SEARCH_TOO_LARGE, "The search would return more than 10000 results");
                }
                self.page("products", &recs, &q)
            }
            ("GET", "/finance/202309/statements") => {
                self.finance(&q, "statement_time", "statement_time", |d| &d.statements, "statements")
            }
            ("GET", "/finance/202309/payments") => {
                self.finance(&q, "create_time", "create_time", |d| &d.payments, "payments")
            }
            ("GET", "/finance/202309/withdrawals") => self.withdrawals(&q),
            ("GET", "/finance/202507/orders/unsettled") => {
                let data = self.data.clone();
                let recs: Vec<&Rec> = data.unsettled.iter().collect();
                self.page_with("transactions", &recs, &q, r#""sum_est_settlement_amount":"80.35","currency":"GBP","#)
            }
            ("GET", p) if p.starts_with("/finance/202501/statements/") && p.ends_with("/statement_transactions") => {
                self.transactions(p, &q)
            }
            ("POST", "/return_refund/202309/returns/search" | "/return_refund/202309/cancellations/search") => {
                let returns = path.contains("returns");
                let (key, filter_key) =
                    if returns { ("return_orders", "return_status") } else { ("cancellations", "cancel_status") };
                let w = body_window(&body, "create_time");
                let wanted: Option<Vec<&str>> =
                    body[filter_key].as_array().map(|a| a.iter().filter_map(Value::as_str).collect());
                let data = self.data.clone();
                let all = if returns { &data.returns } else { &data.cancellations };
                let recs = filter(all, |r| w.contains(r.time) && wanted.as_ref().is_none_or(|s| s.contains(&r.status)));
                self.page(key, &recs, &q)
            }
            ("GET", p) if p.starts_with("/product/202309/products/") => {
                let id = p.trim_start_matches("/product/202309/products/");
                let data = self.data.clone();
                let i = id.strip_prefix("17299").and_then(|n| n.parse::<usize>().ok());
                match i.and_then(|i| data.product_details.get(i).map(|r| (i, r))) {
                    Some((i, _)) if self.config.vanished_product == Some(i) => {
                        refuse(12019006, "The product does not exist")
                    }
                    Some((_, r)) => ok(r.text.to_string()),
                    None => self.violation(36009004, format!("product detail of unknown id {id:?}")),
                }
            }
            (_, p) if p.starts_with("/affiliate_seller/") => self.affiliate(method, p, &q, &body),
            _ => self.violation(36009004, format!("{method} {path}: no such API")),
        }
    }

    /// The Affiliate Seller API: one open collaboration (two creators) and one target
    /// collaboration (one creator), with commission owed to two of them.
    fn affiliate(&mut self, method: &str, path: &str, q: &BTreeMap<&str, &str>, body: &Value) -> Answer {
        if !self.config.affiliates {
            return refuse(105005, "Access denied: the app lacks the Affiliate Seller scope");
        }
        let listed =
            matches!(method, "POST" | "GET") && !path.contains("remove_creator") && !path.starts_with(AFF_TARGET);
        if listed
            && path != AFF_TARGET_ONE
            && q.get("page_size").is_none_or(|s| s.parse::<u32>().map_or(true, |n| !(1..=100).contains(&n)))
        {
            return self.violation(36009004, format!("{path}: page_size missing or outside 1..=100"));
        }
        let page = |key: &str, items: Vec<Value>| {
            ok(json!({ key: items.clone(), "next_page_token": "", "total_count": items.len() }).to_string())
        };
        match (method, path) {
            ("POST", "/affiliate_seller/202412/open_collaborations/search") => page(
                "open_collaborations",
                vec![json!({"id": "oc-1", "status": "ACTIVE", "product": {"id": "p-1", "title": "Rose Serum"}, "current_commission": {"rate": 1500}})],
            ),
            ("GET", "/affiliate_seller/202508/open_collaborations/creator_content_details") => {
                if q.get("product_id") != Some(&"p-1") {
                    return self.violation(36009004, format!("creator_content_details: product_id {:?}", q.get("product_id")));
                }
                let creators = [("oid-luna", "lunabeauty", "Luna"), ("oid-max", "maxglow", "Max Glow")]
                    .into_iter()
                    .filter(|(id, _, _)| !self.removed_creators.iter().any(|(c, o)| c == "oc-1" && o == id))
                    .map(|(id, u, n)| json!({"creator_profile": {"creator_open_id": id, "username": u, "nickname": n, "follower_count": 1200}}))
                    .collect();
                page("creator_content_details", creators)
            }
            ("POST", "/affiliate_seller/202412/open_collaborations/oc-1/remove_creator")
            | ("POST", "/affiliate_seller/202508/open_collaborations/oc-1/remove_creator") => {
                let (open_id, product) = (body["creator_user_open_id"].as_str(), body["product_id"].as_str());
                if path.contains("202412") || product != Some("p-1") || open_id.is_none() {
                    return self.violation(36009004, format!("remove_creator: {path} {body}"));
                }
                self.removed_creators.push(("oc-1".into(), open_id.unwrap_or_default().into()));
                ok("{}".into())
            }
            ("POST", "/affiliate_seller/202508/target_collaborations/search") => {
                let ended = self.ended_targets.contains(&"tc-1".to_owned());
                let items = if ended { vec![] } else { vec![json!({"id": "tc-1", "name": "Spring launch", "start_time": 1_700_000_000, "end_time": 1_900_000_000})] };
                page("target_collaborations", items)
            }
            ("GET", AFF_TARGET_ONE) => ok(json!({"target_collaboration": {"id": "tc-1", "name": "Spring launch",
                "creators": [{"username": "ruby.reviews", "nickname": "Ruby", "collaboration_status": "ACCEPTED"}], "products": [{"id": "p-1"}]}}).to_string()),
            ("DELETE", "/affiliate_seller/202409/target_collaborations/tc-1") => {
                self.ended_targets.push("tc-1".into());
                ok("{}".into())
            }
            ("POST", "/affiliate_seller/202410/orders/search") => {
                let w = body_window(body, "create_time");
                let data = self.data.clone();
                let recs = filter(&data.affiliate_orders, |r| w.contains(r.time));
                self.page("orders", &recs, q)
            }
            _ => self.violation(36009004, format!("{method} {path}: no such affiliate API")),
        }
    }

    /// Once the webhooks are gone, the seller deauthorizes before the shop list is read for the
    /// `after + 1`th time: between two polls, never in the middle of one.
    fn seller_may_deauthorize(&mut self, path: &str) {
        if path == "/authorization/202309/shops" && self.webhooks.is_empty() {
            let seen = self.listings_without_webhooks;
            self.deauthorized |= self.config.deauthorize_after_listings.is_some_and(|after| seen >= after);
            if self.config.garbage_after_listings.is_some_and(|after| seen >= after) {
                self.garbage = Some("/authorization/".into());
            }
            self.listings_without_webhooks += 1;
        }
    }

    fn finance(
        &mut self,
        q: &BTreeMap<&str, &str>,
        sort: &str,
        time: &str,
        records: fn(&Data) -> &Vec<Rec>,
        key: &str,
    ) -> Answer {
        if q.get("sort_field") != Some(&sort) {
            return self.violation(36009004, format!("{key}: sort_field={sort} is required"));
        }
        let w = query_window(q, time);
        let data = self.data.clone();
        let recs = filter(records(&data), |r| w.contains(r.time));
        self.page(key, &recs, q)
    }

    fn withdrawals(&mut self, q: &BTreeMap<&str, &str>) -> Answer {
        let Some(types) = q.get("types").map(|t| t.split(',').collect::<Vec<_>>()) else {
            return self.violation(36009004, "withdrawals: types is required".into());
        };
        if types.iter().any(|t| !WITHDRAWAL_TYPES.contains(t)) {
            return self.violation(36009004, format!("withdrawals: bad types {types:?}"));
        }
        let w = query_window(q, "create_time");
        let data = self.data.clone();
        let recs = filter(&data.withdrawals, |r| w.contains(r.time) && types.contains(&r.status));
        self.page("withdrawals", &recs, q)
    }

    fn transactions(&mut self, path: &str, q: &BTreeMap<&str, &str>) -> Answer {
        if q.get("sort_field") != Some(&"order_create_time") {
            return self.violation(36009004, "statement_transactions: sort_field=order_create_time is required".into());
        }
        let id = path.trim_start_matches("/finance/202501/statements/").trim_end_matches("/statement_transactions");
        let index = id.strip_prefix("st-").and_then(|n| n.parse::<usize>().ok());
        let data = self.data.clone();
        let Some(recs) = index.and_then(|i| data.transactions.get(i)).map(|t| t.iter().collect::<Vec<_>>()) else {
            return self.violation(36009004, format!("no statement {id:?}"));
        };
        self.page_with("transactions", &recs, q, &format!(r#""statement_id":"{id}","total_settlement_amount":"1.00","#))
    }

    fn page(&mut self, key: &str, recs: &[&Rec], q: &BTreeMap<&str, &str>) -> Answer {
        self.page_with(key, recs, q, "")
    }

    /// One page of `recs`: `extra` is raw JSON text (`"k":v,`) put before the list.
    fn page_with(&mut self, key: &str, recs: &[&Rec], q: &BTreeMap<&str, &str>, extra: &str) -> Answer {
        let size = match q.get("page_size").and_then(|s| s.parse::<usize>().ok()) {
            Some(n @ 1..=100) => n,
            other => return self.violation(36009004, format!("{key}: page_size {other:?} outside 1..=100")),
        };
        let start = match q.get("page_token") {
            None => 0,
            Some(t) if self.issued_tokens.contains(*t) => t.split('/').next().and_then(|n| n.parse().ok()).unwrap_or(0),
            Some(t) => return self.violation(36009004, format!("{key}: page_token {t:?} was never issued")),
        };
        let end = (start + size.min(self.config.page_len)).min(recs.len());
        let next = if end < recs.len() {
            // Offset, then `/`, `+` and `=` the way base64 tokens carry them.
            let token = format!("{end}/{key}+{:x}==", rand_u64(end as u64) & 0xffff);
            self.issued_tokens.insert(token.clone());
            token
        } else {
            String::new()
        };
        let texts: Vec<&str> = recs[start.min(end)..end].iter().map(|r| &*r.text).collect();
        ok(format!(
            r#"{{{extra}"total_count":{},"next_page_token":{},"{key}":[{}]}}"#,
            recs.len(),
            json!(next),
            texts.join(",")
        ))
    }

    /// Rewrites an answer the way [`Config::hostile`] says (list pages under its prefix only).
    fn hostile(&mut self, path: &str, query: &[(String, String)], answer: Answer) -> Answer {
        let Some(mode) = self.config.hostile.clone() else { return answer };
        let prefix = match &mode {
            Hostile::TokenCycle(p) | Hostile::TokenRepeat(p) | Hostile::MissingKey(p) => p,
            Hostile::ShortList(p, _) | Hostile::Status(p, _) => p,
        };
        if !path.starts_with(prefix.as_str()) {
            return answer;
        }
        if let Hostile::Status(_, status) = mode {
            return (status, Vec::new(), "<html><body>Access denied</body></html>".into());
        }
        let (status, headers, body) = answer;
        let Ok(mut doc) = serde_json::from_str::<Value>(&body) else { return (status, headers, body) };
        let Some(data) = doc.get_mut("data").and_then(Value::as_object_mut) else { return (status, headers, body) };
        let sent = query.iter().find(|(k, _)| k == "page_token").map(|(_, v)| v.clone());
        match mode {
            Hostile::TokenCycle(_) | Hostile::TokenRepeat(_) => {
                let (a, b) = ("1/cycle+a==".to_owned(), "2/cycle+b==".to_owned());
                self.issued_tokens.extend([a.clone(), b.clone()]);
                let next = match (&mode, sent) {
                    (Hostile::TokenRepeat(_), Some(t)) => t,
                    (Hostile::TokenCycle(_), Some(t)) if t == a => b,
                    _ => a,
                };
                data.insert("next_page_token".into(), next.into());
            }
            Hostile::MissingKey(_) => {
                let keys = ["orders", "products", "statements", "payments", "withdrawals", "transactions"];
                data.retain(|k, _| !keys.contains(&k.as_str()));
            }
            Hostile::ShortList(_, extra) => {
                let total = data.get("total_count").and_then(Value::as_u64).unwrap_or(0);
                data.insert("total_count".into(), (total + extra as u64).into());
            }
            Hostile::Status(..) => {}
        }
        (status, headers, doc.to_string())
    }

    /// The auth host: the code exchange of `auth login` and the token refresh.
    fn auth(&mut self, r: &Request) -> Answer {
        let q: BTreeMap<String, String> = r.url.query_pairs().map(|(k, v)| (k.into_owned(), v.into_owned())).collect();
        let get = |k: &str| q.get(k).map(String::as_str).unwrap_or("");
        if r.method.as_str() != "GET" {
            return self.violation(36004005, format!("auth host: unexpected {} {}", r.method, r.url.path()));
        }
        if get("app_key") != APP_KEY || get("app_secret") != APP_SECRET {
            return self.violation(36004005, "auth host: wrong app_key or app_secret".into());
        }
        match (r.url.path(), get("grant_type")) {
            ("/api/v2/token/get", "authorized_code") if get("auth_code") == AUTH_CODE => self.tokens(),
            // A wrong or reused code is the user's mistake, not the client's: refused, not a violation.
            ("/api/v2/token/get", "authorized_code") => refuse(36004005, "no such auth record"),
            ("/api/v2/token/refresh", "refresh_token") => self.refresh(get("refresh_token")),
            (path, grant) => self.violation(36004005, format!("auth host: unexpected {path} grant_type={grant:?}")),
        }
    }

    /// A refresh: TikTok rotates both tokens, and the old refresh token stops working.
    fn refresh(&mut self, refresh_token: &str) -> Answer {
        if refresh_token != self.refresh_token {
            // TikTok rotates refresh tokens: a second refresh with the old one fails.
            return self.violation(36004001, "auth host: refresh token already used or unknown".into());
        }
        self.refreshes += 1;
        let n = self.refreshes;
        self.access_token = if n == 1 { REFRESHED_ACCESS_TOKEN.into() } else { format!("TTP_fake-access-{n}") };
        self.refresh_token = if n == 1 { REFRESHED_REFRESH_TOKEN.into() } else { format!("TTP_fake-refresh-{n}") };
        self.tokens()
    }

    /// The token document both grants answer with: the current tokens.
    fn tokens(&self) -> Answer {
        ok(json!({
            "access_token": self.access_token,
            "access_token_expire_in": now() + 7 * 86400,
            "refresh_token": self.refresh_token,
            "refresh_token_expire_in": now() + 30 * 86400,
            "open_id": "fake-open-id",
            "seller_name": SHOP_NAME,
            "seller_base_region": "GB",
            "user_type": 0,
            "granted_scopes": ["seller.order.info", "seller.product.basic", "seller.finance.info", "seller.authorization.info"],
        })
        .to_string())
    }
}

/// The records `keep` selects, borrowed: a page request filters the whole list, so cloning it
/// would make every page cost as much as the shop is big.
fn filter(recs: &[Rec], keep: impl Fn(&Rec) -> bool) -> Vec<&Rec> {
    recs.iter().filter(|r| keep(r)).collect()
}

fn body_window(body: &Value, field: &str) -> Window {
    let get = |suffix: &str| body[format!("{field}_{suffix}")].as_i64();
    Window { ge: get("ge"), lt: get("lt"), le: get("le") }
}

fn query_window(q: &BTreeMap<&str, &str>, field: &str) -> Window {
    let get = |suffix: &str| q.get(format!("{field}_{suffix}").as_str()).and_then(|v| v.parse().ok());
    Window { ge: get("ge"), lt: get("lt"), le: get("le") }
}

impl Fake {
    /// Starts the fake inside an async context.
    pub async fn start_async(config: Config) -> Fake {
        // HISTORY ago, on the hour: fixed for the run, so the last records are just before now.
        let t0 = (now() - HISTORY) / 3600 * 3600;
        let media = MockServer::builder().listener(no_delay_listener()).disable_request_recording().start().await;
        let media_seen = Arc::new(Mutex::new(Vec::new()));
        let responder =
            MediaResponder { faults: config.media_faults, latency: config.media_latency, seen: media_seen.clone() };
        Mock::given(any()).respond_with(responder).mount(&media).await;
        let state = State {
            data: Arc::new(Data::new(&config, t0, &media.uri())),
            media_seen,
            access_token: ACCESS_TOKEN.into(),
            refresh_token: REFRESH_TOKEN.into(),
            expired_token: None,
            answered: 0,
            counter: 0,
            faults: 0,
            refreshes: 0,
            issued_tokens: HashSet::new(),
            deleted_webhooks: Vec::new(),
            listings_without_webhooks: 0,
            webhooks: vec![
                ("ORDER_STATUS_CHANGE".into(), "https://hooks.example.com/tts?key=hook-secret".into()),
                ("PACKAGE_UPDATE".into(), "https://hooks.example.com/pkg".into()),
            ],
            deauthorized: false,
            refuse: None,
            garbage: None,
            retry_after: None,
            violations: Vec::new(),
            seen: Vec::new(),
            removed_creators: Vec::new(),
            ended_targets: Vec::new(),
            arrivals: HashMap::new(),
            throttled: 0,
            config: config.clone(),
        };
        let state = Arc::new(Mutex::new(state));
        let api = MockServer::builder().listener(no_delay_listener()).disable_request_recording().start().await;
        let auth = MockServer::builder().listener(no_delay_listener()).disable_request_recording().start().await;
        if config.dropped_connections > 0 {
            Mock::given(path_regex("^/order/"))
                .respond_with_err(|_: &Request| std::io::Error::other("connection dropped by the fake"))
                .up_to_n_times(config.dropped_connections)
                .with_priority(1)
                .mount(&api)
                .await;
        }
        Mock::given(any()).respond_with(ApiResponder(state.clone())).with_priority(5).mount(&api).await;
        Mock::given(any()).respond_with(AuthResponder(state.clone())).mount(&auth).await;
        Fake { api, auth, _media: media, state }
    }

    /// Starts the fake from synchronous code (the servers run on their own threads).
    pub fn start(config: Config) -> Fake {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a runtime");
        runtime.block_on(Fake::start_async(config))
    }

    /// The API base URL.
    pub fn api_base(&self) -> String {
        self.api.uri()
    }

    /// The auth base URL.
    pub fn auth_base(&self) -> String {
        self.auth.uri()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }

    /// Every request the client got wrong.
    pub fn violations(&self) -> Vec<String> {
        self.state().violations.clone()
    }

    /// The time of the first record of every dataset (Unix seconds).
    pub fn t0(&self) -> i64 {
        self.state().data.t0
    }

    /// How many faults were injected.
    pub fn faults(&self) -> u64 {
        self.state().faults
    }

    /// Requests refused as over the rate limit.
    pub fn throttled(&self) -> u64 {
        self.state().throttled
    }

    /// Withdrawals of type `WITHDRAW` still `PROCESSING`.
    pub fn processing_withdrawals(&self) -> usize {
        let state = self.state();
        let texts = state.data.withdrawals.iter().map(|r| &r.text);
        texts.filter(|t| t.contains(r#""type":"WITHDRAW""#) && t.contains(r#""status":"PROCESSING""#)).count()
    }

    /// Orders in a status that still needs the seller.
    pub fn open_orders(&self) -> usize {
        let open = ["AWAITING_SHIPMENT", "AWAITING_COLLECTION", "PARTIALLY_SHIPPING", "ON_HOLD"];
        self.state().data.orders.iter().filter(|r| open.contains(&r.status)).count()
    }

    /// Products customers can buy.
    pub fn active_listings(&self) -> usize {
        self.state().data.products.iter().filter(|r| r.status == "ACTIVATE").count()
    }

    /// How many times the tokens were refreshed.
    pub fn refreshes(&self) -> u64 {
        self.state().refreshes
    }

    /// Requests that passed the checks and were answered, in order.
    pub fn seen(&self) -> Vec<Seen> {
        self.state().seen.clone()
    }

    /// The webhook subscriptions still in place (event types).
    pub fn webhooks(&self) -> Vec<String> {
        self.state().webhooks.iter().map(|(e, _)| e.clone()).collect()
    }

    /// The webhook subscriptions deleted, in order (event types).
    /// Every request the media host received: path, query and headers.
    pub fn media_requests(&self) -> Vec<String> {
        lock_seen(&self.state().media_seen).clone()
    }

    pub fn removed_creators(&self) -> Vec<(String, String)> {
        self.state().removed_creators.clone()
    }

    pub fn ended_targets(&self) -> Vec<String> {
        self.state().ended_targets.clone()
    }

    pub fn deleted_webhooks(&self) -> Vec<String> {
        self.state().deleted_webhooks.clone()
    }

    /// A buyer places an order now: the shop's data changes after any export made so far.
    pub fn new_order(&self) {
        let mut state = self.state();
        let data = Arc::make_mut(&mut state.data);
        let (i, t) = (data.orders.len(), now());
        let text =
            format!(r#"{{"id":"5771{i:010}","status":"AWAITING_SHIPMENT","create_time":{t},"update_time":{t}}}"#);
        data.orders.push(Rec { time: t, status: "AWAITING_SHIPMENT", text: text.into() });
    }

    /// The seller deauthorizes the app in Seller Center: every call now fails with 105001.
    pub fn deauthorize(&self) {
        self.state().deauthorized = true;
    }

    /// Every API call under `prefix` is answered with `code`.
    pub fn refuse(&self, prefix: &str, code: i64, message: &str) {
        self.state().refuse = Some((prefix.into(), code, message.into()));
    }

    /// Every API call under `prefix` gets an HTML page instead of the envelope.
    /// (HTTP 200 with an HTML page: a 5xx would be retried, as a passing outage should be.)
    pub fn garbage(&self, prefix: &str) {
        self.state().garbage = Some(prefix.into());
    }

    /// The next call under `prefix` is answered 429 with `Retry-After: secs`.
    pub fn retry_after_once(&self, prefix: &str, secs: u64) {
        self.state().retry_after = Some((prefix.into(), secs));
    }

    /// The records of `dataset` the shop holds, in API order, with `[since, until)` applied the way
    /// each endpoint filters.
    pub fn records(&self, dataset: &str, since: Option<i64>, until: Option<i64>) -> Vec<String> {
        let state = self.state();
        let d = &state.data;
        let w = Window { ge: since, lt: until, le: None };
        let pick = |recs: &[Rec]| recs.iter().filter(|r| w.contains(r.time)).map(|r| r.text.to_string()).collect();
        match dataset {
            "orders" => pick(&d.orders),
            "products" => pick(&d.products),
            "statements" => pick(&d.statements),
            "payments" => pick(&d.payments),
            "withdrawals" => pick(&d.withdrawals),
            "returns" => pick(&d.returns),
            "cancellations" => pick(&d.cancellations),
            "affiliate_orders" => pick(&d.affiliate_orders),
            "product_details" => d
                .product_details
                .iter()
                .enumerate()
                .filter(|(i, r)| w.contains(r.time) && state.config.vanished_product != Some(*i))
                .map(|(_, r)| r.text.to_string())
                .collect(),
            "statement_transactions" => d
                .statements
                .iter()
                .zip(&d.transactions)
                .filter(|(s, _)| w.contains(s.time))
                .flat_map(|(_, txs)| txs.iter().map(|t| t.text.to_string()))
                .collect(),
            other => panic!("no dataset {other}"),
        }
    }
}

/// A raw loopback server whose list answers never end: the shop list and webhooks are answered
/// normally (so an export gets as far as its first page), every other path with a chunked body that streams
/// forever. Returns its base URL; its threads live as long as the test process.
pub fn endless_body_server() -> String {
    use std::io::{BufRead, BufReader, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming().flatten() {
            std::thread::spawn(move || {
                let mut reader = BufReader::new(stream.try_clone().expect("clone"));
                let mut first = String::new();
                let _ = reader.read_line(&mut first);
                let mut length = 0usize;
                loop {
                    let mut line = String::new();
                    if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                        break;
                    }
                    if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                        length = v.trim().parse().unwrap_or(0);
                    }
                }
                let mut body = vec![0u8; length];
                let _ = std::io::Read::read_exact(&mut reader, &mut body);
                let mut out = stream;
                let small = if first.contains(" /authorization/") {
                    Some(format!(
                        r#"{{"shops":[{{"id":"{SHOP_ID}","name":"{SHOP_NAME}","region":"GB","cipher":"{CIPHER}"}}]}}"#
                    ))
                } else if first.contains(" /event/") {
                    Some(r#"{"webhooks":[]}"#.to_owned())
                } else {
                    None
                };
                if let Some(data) = small {
                    let text = envelope(0, "Success", Some(data));
                    let head = format!(
                        "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                        text.len()
                    );
                    let _ = out.write_all(head.as_bytes()).and_then(|()| out.write_all(text.as_bytes()));
                    return;
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\n\r\n";
                if out.write_all(head.as_bytes()).is_err() {
                    return;
                }
                let chunk = format!("{:x}\r\n{}\r\n", 64 * 1024, " ".repeat(64 * 1024));
                let _ = out.write_all(b"6\r\n{\"a\":[\r\n");
                while out.write_all(chunk.as_bytes()).is_ok() {}
            });
        }
    });
    base
}

/// The API a request path belongs to, as the rate limit counts it: paths that differ only by an
/// id (a statement's transactions, a product's detail) are one API.
pub fn api_of(path: &str) -> &str {
    if path.starts_with("/finance/202501/statements/") {
        "/finance/202501/statements/{id}/statement_transactions"
    } else if path.starts_with("/product/202309/products/") && !path.ends_with("/search") {
        "/product/202309/products/{id}"
    } else {
        path
    }
}

/// A loopback listener whose connections send small answers at once: accepted sockets inherit
/// `TCP_NODELAY` from it, so Nagle's algorithm adds no delay the real API would not (wiremock
/// sets none itself).
fn no_delay_listener() -> std::net::TcpListener {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    socket2::SockRef::from(&listener).set_tcp_nodelay(true).expect("TCP_NODELAY on the fake's listener");
    listener
}

/// The cipher of extra shop `i` ([`Config::extra_shops`]).
pub fn extra_cipher(i: usize) -> String {
    format!("GCP_extra_shop_{i}")
}
