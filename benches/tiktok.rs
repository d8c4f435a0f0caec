//! TikTok benchmarks against the fake TikTok Shop of the integration tests, on loopback.
//!
//! Run with `cargo bench --bench tiktok`. It measures:
//! - export wall time (the real binary: concurrent datasets, overlapped fetch and write) beside a
//!   plain sequential pager (the same platform client asking for the same pages one after the
//!   other), with 0 ms and 20 ms of latency added to every answer; the client-side limit is
//!   lifted here so the figures show the pipeline, not the limiter;
//! - that the limiter holds its rate: tasks sharing one endpoint at 50 requests/s must take
//!   (requests - 1) / 50 seconds, within 10%;
//! - the binary's export under both at once, 20 ms of latency and the default limit of 50
//!   requests/s, with a shop big enough (15,000 orders: 150 pages) that the limit, not the
//!   latency, is what a run waits on. The limiter keys on app key + shop + API, so the APIs run
//!   side by side and the ideal wall time is the busiest API's requests / 50 (the datasets that
//!   share an API, statements and statement transactions' statement listing, add up on it).
#![allow(clippy::print_stdout)]

#[path = "../tests/it/fake_tiktok.rs"]
#[allow(dead_code)]
mod fake_tiktok;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_tiktok::{Config, Fake, api_of};
use shopunlink::credentials::{CredentialStore, Credentials, MemoryStore, Secret};
use shopunlink::platform::tiktok::Tiktok;
use shopunlink::platform::{Dataset, PageRequest, Platform, PlatformContext, PlatformSettings, TimeRange};

const BIN: &str = env!("CARGO_BIN_EXE_shopunlink");
/// A limit high enough never to wait, for the export comparison.
const UNLIMITED: u32 = 1_000;

fn shop_config(latency_ms: u64) -> Config {
    Config {
        orders: 3000,
        products: 1500,
        statements: 52,
        payments: 365,
        withdrawals: 365,
        page_len: 100,
        product_search_limit: 1000,
        latency: Duration::from_millis(latency_ms),
        ..Config::default()
    }
}

/// The client's default limit, requests per second per API (settings.rs).
const DEFAULT_LIMIT: u32 = 50;

/// The binary's full export with `rate_limit` in the profile (`None`: the default); returns wall time.
fn export_with_binary(fake: &Fake, home: &Path, rate_limit: Option<u32>) -> Duration {
    if let Some(rate) = rate_limit {
        std::fs::write(home.join("config.toml"), format!("[profiles.default]\nrate_limit = {rate}\n")).expect("config");
    }
    let started = Instant::now();
    let status = binary(fake, home, &["export", "--out", "exp", "--fresh"]).status().expect("runs");
    assert!(status.success(), "export failed: {status}");
    started.elapsed()
}

/// `shopunlink --platform tiktok ARGS` against `fake` in `home`, quiet, credentials from the env.
fn binary(fake: &Fake, home: &Path, args: &[&str]) -> Command {
    let mut cmd = Command::new(BIN);
    cmd.args(["--platform", "tiktok"])
        .args(args)
        .env("SHOPUNLINK_HOME", home)
        .env("CI", "1")
        .env("SHOPUNLINK_TIKTOK_API_BASE", fake.api_base())
        .env("SHOPUNLINK_TIKTOK_AUTH_BASE", fake.auth_base())
        .env("SHOPUNLINK_TIKTOK_APP_KEY", fake_tiktok::APP_KEY)
        .env("SHOPUNLINK_TIKTOK_APP_SECRET", fake_tiktok::APP_SECRET)
        .env("SHOPUNLINK_TIKTOK_ACCESS_TOKEN", fake_tiktok::ACCESS_TOKEN)
        .current_dir(home)
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    cmd
}

fn platform(fake: &Fake, rate_limit: u32) -> Tiktok {
    let store = Arc::new(MemoryStore::default());
    let credentials = Credentials {
        app_key: fake_tiktok::APP_KEY.into(),
        app_secret: Secret::new(fake_tiktok::APP_SECRET),
        access_token: Secret::new(fake_tiktok::ACCESS_TOKEN),
        refresh_token: None,
        access_token_expires_at: None,
        refresh_token_expires_at: None,
        scopes: Vec::new(),
        seller_name: None,
    };
    store.save("default", &credentials).expect("save");
    let ctx = PlatformContext {
        profile: "default".into(),
        state_dir: std::env::temp_dir(),
        settings: PlatformSettings {
            env: [
                ("SHOPUNLINK_TIKTOK_API_BASE", fake.api_base()),
                ("SHOPUNLINK_TIKTOK_AUTH_BASE", fake.auth_base()),
                ("SHOPUNLINK_TIKTOK_RATE_LIMIT", rate_limit.to_string()),
                ("SHOPUNLINK_TIKTOK_RETRY_BASE_MS", "10".into()),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v))
            .collect(),
            ..Default::default()
        },
        credentials: store,
    };
    Tiktok::new(&ctx).expect("platform")
}

/// Reads every page of `dataset` one after the other; returns the record count.
async fn drain(tiktok: &Tiktok, shop: &shopunlink::platform::Shop, dataset: Dataset) -> usize {
    let range = TimeRange::default();
    let mut cursor: Option<String> = None;
    let mut records = 0;
    loop {
        let request = PageRequest { dataset, range: &range, cursor: cursor.as_deref() };
        let page = tiktok.page(shop, request).await.expect("page");
        records += page.records.len();
        match page.next {
            Some(next) if !page.records.is_empty() => cursor = Some(next),
            _ => return records,
        }
    }
}

/// The plain sequential pager: every dataset, every page, one request at a time.
async fn sequential(fake: &Fake) -> Duration {
    let tiktok = platform(fake, UNLIMITED);
    let started = Instant::now();
    let shop = tiktok.shops().await.expect("shops").remove(0);
    for dataset in tiktok.datasets().into_iter().map(|d| d.name) {
        drain(&tiktok, &shop, dataset).await;
    }
    started.elapsed()
}

/// `tasks` concurrent pagers of the orders endpoint at `rate` requests/s; returns (requests, wall).
async fn limiter_run(rate: u32, tasks: usize) -> (usize, Duration) {
    let fake = Fake::start_async(Config { orders: 5000, page_len: 100, ..Config::default() }).await;
    let tiktok = Arc::new(platform(&fake, rate));
    let shop = tiktok.shops().await.expect("shops").remove(0);
    let before = fake.seen().len();
    let started = Instant::now();
    let mut handles = Vec::new();
    for _ in 0..tasks {
        let (tiktok, shop) = (tiktok.clone(), shop.clone());
        handles.push(tokio::spawn(async move { drain(&tiktok, &shop, Dataset::new("orders")).await }));
    }
    for h in handles {
        h.await.expect("task");
    }
    (fake.seen().len() - before, started.elapsed())
}

/// The export under `latency_ms` of latency and the default limit; prints requests per API, the
/// ideal (the busiest API's requests / limit) and how far the measured wall time is from it.
///
/// Returns the requests per API.
///
/// One cursor fetches a page per round trip, so at 20 ms of latency (plus the fake's and the
/// client's own work) a single cursor is slower than one page every 1/50 s; orders are therefore
/// read in windows side by side. Both floors are printed, so the table shows which one a run sits on.
fn export_under_the_limit(latency_ms: u64) -> BTreeMap<String, usize> {
    let fake = Fake::start(Config { orders: 15_000, ..shop_config(latency_ms) });
    let home = tempfile::tempdir().expect("home");
    let wall = export_with_binary(&fake, home.path(), None);
    let mut per_api: BTreeMap<String, usize> = BTreeMap::new();
    let seen = fake.seen();
    for s in &seen {
        *per_api.entry(api_of(&s.path).to_owned()).or_default() += 1;
    }
    let busiest = per_api.values().copied().max().unwrap_or(0);
    let ideal = ideal(busiest);
    let chain = Duration::from_millis(latency_ms) * u32::try_from(busiest).unwrap_or(u32::MAX);
    let error = (wall.as_secs_f64() - ideal.as_secs_f64()) / ideal.as_secs_f64() * 100.0;
    let verdict = if error.abs() <= 10.0 { "ok" } else { "OFF" };
    println!(
        "{:<44} {:>8} {:>7.0} ms {:>7.0} ms {:>7.0} ms {error:>+6.1}% {verdict}",
        format!("shopunlink export, +{latency_ms} ms, {DEFAULT_LIMIT}/s"),
        seen.len(),
        ms(ideal),
        ms(chain),
        ms(wall)
    );
    per_api
}

/// `requests` at the default limit, one every 1/50 s.
fn ideal(requests: usize) -> Duration {
    Duration::from_secs_f64(requests as f64 / f64::from(DEFAULT_LIMIT))
}

/// Issue 10's figure: a shop with 2,000 listings at 20 ms latency under the default 50/s limit,
/// exporting `product_details` (one detail call per listing) and its pictures. The bound is the
/// detail API's requests ÷ 50 (the search and the image host run beside it).
fn product_details_2000() {
    let config = Config {
        products: 2000,
        product_search_limit: 2500,
        page_len: 100,
        latency: Duration::from_millis(20),
        media_latency: Duration::from_millis(20),
        ..Config::default()
    };
    let fake = Fake::start(config);
    let home = tempfile::tempdir().expect("home");
    let started = Instant::now();
    let status = binary(&fake, home.path(), &["export", "--out", "exp", "--datasets", "product_details"])
        .status()
        .expect("runs");
    assert!(status.success(), "export failed: {status}");
    let wall = started.elapsed();
    let seen = fake.seen();
    let details = seen.iter().filter(|s| s.path.starts_with("/product/202309/products/")).count();
    let searches = seen.iter().filter(|s| s.path.ends_with("/products/search")).count();
    let pictures = fake.media_requests().len();
    let bytes: u64 = walk(&home.path().join("exp"));
    let bound = ideal(details);
    println!(
        "{:<44} {:>8} {:>8} {:>8} {:>9} {:>9} {:>8}",
        "product_details, 2,000 listings, +20 ms", "details", "search", "pictures", "wall", "bound", "MB"
    );
    println!(
        "{:<44} {details:>8} {searches:>8} {pictures:>8} {:>6.1} s {:>6.1} s {:>8.1}",
        "",
        wall.as_secs_f64(),
        bound.as_secs_f64(),
        bytes as f64 / 1e6
    );
}

/// Bytes of every file under `dir`.
fn walk(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| if e.path().is_dir() { walk(&e.path()) } else { e.metadata().map(|m| m.len()).unwrap_or(0) })
                .sum()
        })
        .unwrap_or(0)
}

fn main() {
    if std::env::var_os("SHOPUNLINK_BENCH_ONLY").is_some_and(|v| v == "product_details") {
        product_details_2000();
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    println!("{:<44} {:>8} {:>10}", "export scenario (loopback fake)", "requests", "wall");
    for latency in [0, 20] {
        let fake = Fake::start(shop_config(latency));
        let home = tempfile::tempdir().expect("home");
        let wall = export_with_binary(&fake, home.path(), Some(UNLIMITED));
        let requests = fake.seen().len();
        println!("{:<44} {requests:>8} {:>8.0} ms", format!("shopunlink export, 4 jobs, +{latency} ms"), ms(wall));
        let fake = Fake::start(shop_config(latency));
        let wall = runtime.block_on(sequential(&fake));
        let requests = fake.seen().len();
        println!("{:<44} {requests:>8} {:>8.0} ms", format!("sequential pager, +{latency} ms"), ms(wall));
    }
    println!();
    println!("{:<44} {:>8} {:>10} {:>10} {:>8}", "limiter (orders endpoint)", "requests", "wall", "ideal", "error");
    for (rate, tasks) in [(50, 1), (50, 2), (20, 1)] {
        let (requests, wall) = runtime.block_on(limiter_run(rate, tasks));
        let ideal = Duration::from_secs_f64((requests - 1) as f64 / f64::from(rate));
        let error = (wall.as_secs_f64() - ideal.as_secs_f64()) / ideal.as_secs_f64() * 100.0;
        let verdict = if error.abs() <= 10.0 { "ok" } else { "OFF" };
        println!(
            "{:<44} {requests:>8} {:>7.0} ms {:>7.0} ms {error:>+6.1}% {verdict}",
            format!("{rate}/s, {tasks} task(s) sharing it"),
            ms(wall),
            ms(ideal)
        );
    }
    println!();
    println!(
        "{:<44} {:>8} {:>10} {:>10} {:>10} {:>8}",
        "export, 15,000 orders, default limit", "requests", "n/50", "n*latency", "wall", "error"
    );
    let mut per_api = BTreeMap::new();
    for latency in [10, 20] {
        per_api = export_under_the_limit(latency);
    }
    println!();
    println!("{:<60} {:>8} {:>10}", "requests per API (n) of the +20 ms export", "requests", "n/50");
    for (api, requests) in &per_api {
        println!("{api:<60} {requests:>8} {:>7.0} ms", ms(ideal(*requests)));
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
