//! TikTok benchmarks against the fake TikTok Shop of the integration tests, on loopback. The fake
//! is as strict as the platform: 50 requests per second per API and shop (HTTP 429 past it),
//! pages of at most 100, small answers sent at once (TCP_NODELAY), and latency added to every
//! answer.
//!
//! Run with `cargo bench --bench tiktok`. It prints:
//! 1. **Export at a distance** (issue 11): a shop with 15,000 orders, exported by the release
//!    binary at 0, 20 and 80 ms of latency, beside a plain sequential pager (the same platform
//!    client asking for every page one after the other). The bound is the busiest API's fewest
//!    possible requests ÷ 50/s (150 order pages: 3.0 s), the APIs running side by side. Goal:
//!    ≤ 1.2x the bound, with zero 429s.
//! 2. **The limiter**: tasks sharing one endpoint take (requests - 1) / rate seconds.
//! 3. **Many shops**: `export --all-shops` of 10 such shops against one shop's wall, at 20 and
//!    80 ms (goal ≤ 1.3x), and the peak RSS of both (goal ≤ 64 MB); then one and ten shops whose
//!    orders are the size of real ones (2.3 KB), whose memory the export's budgets must bound.
//!
//! `SHOPUNLINK_BENCH_ONLY=product_details` runs issue 10's product-details figure instead;
//! `SHOPUNLINK_BENCH_ONLY=shops` only table 3; `SHOPUNLINK_BENCH_ONLY=distance` only table 1, at the latencies in
//! `SHOPUNLINK_BENCH_LATENCIES` (`80`, `0,20`; all three by default); `SHOPUNLINK_BENCH_TIMELINE=1`
//! adds when each API was asked.
#![allow(clippy::print_stdout)]

#[path = "../tests/it/fake_tiktok.rs"]
#[allow(dead_code)]
mod fake_tiktok;

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use fake_tiktok::{Config, Fake};
use shopunlink::credentials::{CredentialStore, Credentials, MemoryStore, Secret};
use shopunlink::platform::tiktok::Tiktok;
use shopunlink::platform::{Dataset, PageRequest, Platform, PlatformContext, PlatformSettings, TimeRange};

const BIN: &str = env!("CARGO_BIN_EXE_shopunlink");

/// TikTok's documented limit, requests per second per API and shop (the fake enforces it).
const LIMIT: u32 = 50;
/// Records per page.
const PAGE: usize = 100;

/// Issue 11's shop: 15,000 orders; listings few enough that their detail calls (one each) stay
/// under the orders' 150 pages, so orders are the busiest API as in the table.
fn shop(latency_ms: u64) -> Config {
    Config {
        orders: 15_000,
        products: 100,
        statements: 52,
        payments: 365,
        withdrawals: 365,
        page_len: PAGE,
        product_search_limit: 1000,
        latency: Duration::from_millis(latency_ms),
        media_latency: Duration::from_millis(latency_ms),
        rate_limit: Some(LIMIT),
        ..Config::default()
    }
}

/// The fewest requests the busiest API needs, ÷ the limit: no client can do better.
fn bound(config: &Config) -> Duration {
    let busiest = [config.orders.div_ceil(PAGE), config.products, config.statements].into_iter().max().unwrap_or(0);
    Duration::from_secs_f64(busiest as f64 / f64::from(LIMIT))
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

/// Wall time and peak RSS (KiB, from `/usr/bin/time -f %M`) of the binary run with `args`.
fn timed(fake: &Fake, home: &Path, args: &[&str]) -> (Duration, u64) {
    let rss_file = home.join(".rss");
    let inner = binary(fake, home, args);
    let mut cmd = Command::new("/usr/bin/time");
    cmd.arg("-f").arg("%M").arg("-o").arg(&rss_file).arg(inner.get_program()).args(inner.get_args());
    for (k, v) in inner.get_envs() {
        if let Some(v) = v {
            cmd.env(k, v);
        }
    }
    cmd.current_dir(home).stdout(Stdio::null()).stderr(Stdio::null());
    let started = Instant::now();
    let status = cmd.status().expect("this benchmark needs /usr/bin/time (Debian package `time`)");
    let wall = started.elapsed();
    assert!(status.success(), "shopunlink {args:?} failed: {status}");
    // A figure that cannot be read must not print as 0 MB, which would read as meeting the goal.
    let rss = std::fs::read_to_string(&rss_file)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .expect("/usr/bin/time wrote the peak RSS");
    (wall, rss)
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
    let tiktok = platform(fake, LIMIT);
    let started = Instant::now();
    let shop = tiktok.shops().await.expect("shops").remove(0);
    for dataset in tiktok.datasets().into_iter().map(|d| d.name) {
        drain(&tiktok, &shop, dataset).await;
    }
    started.elapsed()
}

/// `tasks` concurrent pagers of the orders endpoint at `rate` requests/s; returns (requests, wall).
async fn limiter_run(rate: u32, tasks: usize) -> (usize, Duration) {
    let config = Config { orders: 5000, page_len: PAGE, rate_limit: None, ..Config::default() };
    let fake = Fake::start_async(config).await;
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

/// Table 1: the export at 0, 20 and 80 ms (or the latencies asked for); returns the 20 ms wall
/// and RSS, for the many-shop comparison, when 20 ms was among them.
fn at_a_distance(runtime: &tokio::runtime::Runtime) -> Option<(Duration, u64)> {
    println!(
        "{:<10} {:>8} {:>8} {:>11} {:>7} {:>6} {:>10} {:>9}",
        "latency", "requests", "bound", "shopunlink", "÷bound", "429s", "seq pager", "pager÷su"
    );
    let mut at_20 = None;
    for latency in latencies() {
        let config = shop(latency);
        let fake = Fake::start(config.clone());
        let home = tempfile::tempdir().expect("home");
        let (wall, rss) = timed(&fake, home.path(), &["export", "--out", "exp", "--no-media"]);
        let pager_fake = Fake::start(config.clone());
        let pager = runtime.block_on(sequential(&pager_fake));
        let bound = bound(&config);
        println!(
            "{:<10} {:>8} {:>6.2} s {:>9.2} s {:>7.2} {:>6} {:>8.2} s {:>9.2}",
            format!("{latency} ms"),
            fake.seen().len(),
            bound.as_secs_f64(),
            wall.as_secs_f64(),
            wall.as_secs_f64() / bound.as_secs_f64(),
            fake.throttled(),
            pager.as_secs_f64(),
            pager.as_secs_f64() / wall.as_secs_f64(),
        );
        if latency == 20 {
            at_20 = Some((wall, rss));
        }
        if std::env::var_os("SHOPUNLINK_BENCH_TIMELINE").is_some() {
            timeline(&fake);
        }
    }
    at_20
}

/// The latencies of table 1: 0, 20 and 80 ms, or those listed in `SHOPUNLINK_BENCH_LATENCIES`
/// (`80`, `0,20`), to look at one closely.
fn latencies() -> Vec<u64> {
    match std::env::var("SHOPUNLINK_BENCH_LATENCIES") {
        Ok(list) => list.split(',').filter_map(|l| l.trim().parse().ok()).collect(),
        Err(_) => vec![0, 20, 80],
    }
}

/// When each API was first and last asked, and how often (`SHOPUNLINK_BENCH_TIMELINE=1`).
fn timeline(fake: &Fake) {
    let seen = fake.seen();
    let Some(start) = seen.iter().map(|s| s.at).min() else { return };
    let mut apis: std::collections::BTreeMap<&str, (Duration, Duration, usize)> = Default::default();
    for s in &seen {
        let t = s.at - start;
        let e = apis.entry(fake_tiktok::api_of(&s.path)).or_insert((t, t, 0));
        e.0 = e.0.min(t);
        e.1 = e.1.max(t);
        e.2 += 1;
    }
    for (api, (first, last, n)) in apis {
        println!("    {api:<58} {n:>5} {:>7.0} ms {:>7.0} ms", ms(first), ms(last));
    }
    // Order searches per quarter second: where the busiest API was not kept busy.
    let mut quarters = vec![0usize; 1];
    for s in seen.iter().filter(|s| s.path == "/order/202309/orders/search") {
        let q = ((s.at - start).as_millis() / 250) as usize;
        if quarters.len() <= q {
            quarters.resize(q + 1, 0);
        }
        quarters[q] += 1;
    }
    println!("    order searches per 250 ms: {quarters:?}");
    // Each order window (its lower bound), when it was first and last read, and how often.
    let mut windows: std::collections::BTreeMap<String, (Duration, Duration, usize, usize)> = Default::default();
    for s in seen.iter().filter(|s| s.path == "/order/202309/orders/search") {
        let body: serde_json::Value = serde_json::from_str(&s.body).unwrap_or_default();
        let since = body.get("create_time_ge").map_or("-".to_owned(), ToString::to_string);
        let size: usize = s.query.get("page_size").and_then(|p| p.parse().ok()).unwrap_or(0);
        let t = s.at - start;
        let e = windows.entry(since).or_insert((t, t, 0, size));
        e.1 = e.1.max(t);
        e.2 += 1;
        e.3 = e.3.max(size);
    }
    for (since, (first, last, n, size)) in windows {
        println!("    orders from {since:<12} {n:>4} × ≤{size:<3} {:>7.0} ms {:>7.0} ms", ms(first), ms(last));
    }
}

/// Table 2: the limiter alone.
fn limiter(runtime: &tokio::runtime::Runtime) {
    println!("{:<44} {:>8} {:>10} {:>10} {:>8}", "limiter (orders endpoint)", "requests", "wall", "ideal", "error");
    for (rate, tasks) in [(50, 1), (50, 4), (20, 1)] {
        let (requests, wall) = runtime.block_on(limiter_run(rate, tasks));
        // The limiter paces a little under the limit it is given.
        let paced = f64::from(rate) * shopunlink::platform::tiktok::limiter::PACE;
        let ideal = Duration::from_secs_f64((requests - 1) as f64 / paced);
        let error = (wall.as_secs_f64() - ideal.as_secs_f64()) / ideal.as_secs_f64() * 100.0;
        let verdict = if error.abs() <= 10.0 { "ok" } else { "OFF" };
        println!(
            "{:<44} {requests:>8} {:>7.0} ms {:>7.0} ms {error:>+6.1}% {verdict}",
            format!("{rate}/s (paced at {paced:.1}/s), {tasks} task(s)"),
            ms(wall),
            ms(ideal)
        );
    }
}

/// Table 3: ten shops at once against one, at 20 ms (`one` is table 1's) and at 80 ms.
fn many_shops(one: (Duration, u64)) {
    let fake = Fake::start(Config { extra_shops: 9, ..shop(20) });
    many_shops_at(one, fake, 20);
    let home = tempfile::tempdir().expect("home");
    let alone = Fake::start(shop(80));
    let one = timed(&alone, home.path(), &["export", "--out", "exp", "--no-media"]);
    many_shops_at(one, Fake::start(Config { extra_shops: 9, ..shop(80) }), 80);
    large_orders();
}

/// Orders the size of real ones (2 KB more each: 31 MB per shop): memory must stay bounded by
/// the export's own budgets, not by the shop's size, with one shop and with ten.
fn large_orders() {
    let large = || Config { order_padding: 2048, ..shop(80) };
    println!(
        "{:<34} {:>8} {:>10} {:>9} {:>6} {:>10}",
        "+80 ms, orders of 2.3 KB", "requests", "wall", "", "429s", "peak RSS"
    );
    for (label, extra_shops, args) in [
        ("one shop", 0, &["export", "--out", "exp", "--no-media"][..]),
        ("10 shops, export --all-shops", 9, &["export", "--all-shops", "--out", "all", "--no-media"][..]),
    ] {
        let fake = Fake::start(Config { extra_shops, ..large() });
        let home = tempfile::tempdir().expect("home");
        let (wall, rss) = timed(&fake, home.path(), args);
        println!(
            "{label:<34} {:>8} {:>8.2} s {:>9} {:>6} {:>7.1} MB",
            fake.seen().len(),
            wall.as_secs_f64(),
            "",
            fake.throttled(),
            rss as f64 / 1024.0
        );
    }
}

fn many_shops_at(one: (Duration, u64), fake: Fake, latency: u64) {
    let home = tempfile::tempdir().expect("home");
    let (wall, rss) = timed(&fake, home.path(), &["export", "--all-shops", "--out", "all", "--no-media"]);
    println!(
        "{:<34} {:>8} {:>10} {:>9} {:>6} {:>10}",
        format!("+{latency} ms"),
        "requests",
        "wall",
        "÷one",
        "429s",
        "peak RSS"
    );
    println!(
        "{:<34} {:>8} {:>8.2} s {:>9} {:>6} {:>7.1} MB",
        "one shop",
        "",
        one.0.as_secs_f64(),
        "",
        "",
        one.1 as f64 / 1024.0
    );
    println!(
        "{:<34} {:>8} {:>8.2} s {:>9.2} {:>6} {:>7.1} MB",
        "10 shops, export --all-shops",
        fake.seen().len(),
        wall.as_secs_f64(),
        wall.as_secs_f64() / one.0.as_secs_f64(),
        fake.throttled(),
        rss as f64 / 1024.0
    );
}

/// Issue 10's figure: a shop with 2,000 listings at 20 ms latency under the default 50/s limit,
/// exporting `product_details` (one detail call per listing) and its pictures. The bound is the
/// detail API's requests ÷ 50 (the search and the image host run beside it).
fn product_details_2000() {
    let config = Config {
        products: 2000,
        product_search_limit: 2500,
        page_len: PAGE,
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
    let bound = Duration::from_secs_f64(details as f64 / f64::from(LIMIT));
    println!(
        "{:<44} {:>8} {:>8} {:>8} {:>9} {:>9} {:>6}",
        "product_details, 2,000 listings, +20 ms", "details", "search", "pictures", "wall", "bound", "429s"
    );
    println!(
        "{:<44} {details:>8} {searches:>8} {pictures:>8} {:>6.1} s {:>6.1} s {:>6}",
        "",
        wall.as_secs_f64(),
        bound.as_secs_f64(),
        fake.throttled()
    );
}

fn main() {
    let only = std::env::var("SHOPUNLINK_BENCH_ONLY").unwrap_or_default();
    if only == "product_details" {
        product_details_2000();
        return;
    }
    let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    if only == "shops" {
        many_shops(one_shop_at_20());
        return;
    }
    println!("Export of 15,000 orders (10 datasets, no pictures), fake limited to {LIMIT}/s per API:");
    let one = at_a_distance(&runtime);
    if only == "distance" {
        return;
    }
    println!();
    limiter(&runtime);
    println!();
    // Table 1 may have left 20 ms out (SHOPUNLINK_BENCH_LATENCIES): then it is measured here.
    many_shops(one.unwrap_or_else(one_shop_at_20));
}

/// One shop's export at 20 ms: wall and peak RSS.
fn one_shop_at_20() -> (Duration, u64) {
    let home = tempfile::tempdir().expect("home");
    timed(&Fake::start(shop(20)), home.path(), &["export", "--out", "exp", "--no-media"])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}
