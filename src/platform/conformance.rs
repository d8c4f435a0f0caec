//! The conformance suite behind `shopunlink platform check NAME`: drives any platform, built-in or
//! plugin, through the contract the commands rely on, using nothing but the [`Platform`] trait.
//!
//! Every check says what it found, so a plugin author can fix the first failure without reading
//! this file. Checks that change links (challenges, disconnects) run only on a simulated platform,
//! opened in a temporary state directory, or when the user passes `--destructive`: a real seller's
//! links are never touched by accident.

use chrono::Utc;
use schemars::JsonSchema;
use serde::Serialize;
use sha2::{Digest, Sha256};

use super::{
    Challenge, ChallengeAnswer, DisconnectMode, Grant, Link, LinkState, PageRequest, Platform, PlatformContext, Shop,
    TimeRange,
};
use crate::credentials::Secret;
use crate::error::{ErrorKind, Result};

/// The most pages one dataset may take: a platform that never ends a dataset fails instead of
/// looping forever.
const MAX_PAGES: usize = 1_000_000;

/// One check's outcome.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Check {
    /// Short stable name (`pages:orders`).
    pub name: String,
    /// Passed.
    pub ok: bool,
    /// What was found.
    pub detail: String,
}

impl Check {
    fn pass(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check { name: name.into(), ok: true, detail: detail.into() }
    }
    fn fail(name: impl Into<String>, detail: impl Into<String>) -> Check {
        Check { name: name.into(), ok: false, detail: detail.into() }
    }
    fn of(name: &str, result: std::result::Result<String, String>) -> Check {
        match result {
            Ok(detail) => Check::pass(name, detail),
            Err(detail) => Check::fail(name, detail),
        }
    }
}

/// Where the suite gets a second-factor code for a real platform (`--destructive`): the user.
pub type AskCode<'a> = &'a (dyn Fn(&Challenge) -> Result<Secret> + Send + Sync);

/// A platform opened for the suite, and the temporary state directory it may live in.
pub struct Subject {
    /// The platform, without the declared links the registry would merge in: the suite checks
    /// what the platform itself says.
    pub platform: Box<dyn Platform>,
    /// Kept for as long as the platform runs.
    _state: Option<tempfile::TempDir>,
}

/// Opens `name` in a fresh temporary state directory. A real platform under `destructive` is
/// reopened with the real state (its links are the point); a simulated one stays in the
/// temporary directory, so the check never changes the user's own simulated shop.
pub fn open(name: &str, ctx: &PlatformContext, destructive: bool) -> Result<Subject> {
    let temp = tempfile::tempdir()
        .map_err(|e| crate::error::Error::internal("cannot create a temporary directory").with_cause(e))?;
    let scratch = PlatformContext { state_dir: temp.path().to_owned(), ..ctx.clone() };
    let platform = open_bare(name, &scratch)?;
    if platform.is_simulated() || !destructive {
        return Ok(Subject { platform, _state: Some(temp) });
    }
    drop(platform);
    Ok(Subject { platform: open_bare(name, ctx)?, _state: None })
}

fn open_bare(name: &str, ctx: &PlatformContext) -> Result<Box<dyn Platform>> {
    match super::provider(name) {
        Ok(provider) => provider.open(ctx),
        Err(unknown) => super::external::open(name, ctx, unknown),
    }
}

/// Runs every check against `platform`. `destructive`: the checks that cut a link may run.
pub async fn run(platform: &dyn Platform, destructive: bool, ask: AskCode<'_>) -> Vec<Check> {
    let mut checks = Vec::new();
    let shops = match platform.shops().await {
        Ok(shops) => shops,
        Err(e) => return vec![Check::fail("shops", format!("shops failed: {}", e.message()))],
    };
    checks.push(Check::of("shops", check_shops(&shops)));
    checks.push(Check::of("links", check_links(&shops)));
    checks.push(Check::of("datasets", check_dataset_names(platform)));
    let Some(shop) = shops.first() else { return checks };
    for spec in platform.datasets() {
        checks.extend(check_dataset(platform, shop, spec.name).await);
    }
    for shop in &shops {
        let result =
            platform.readiness(shop).await.map(|r| format!("{shop}: {} open orders", r.open_orders, shop = shop.id));
        checks.push(Check::of("readiness", result.map_err(|e| e.message().to_owned())));
    }
    checks.push(check_unknown_shop(platform).await);
    if destructive || platform.is_simulated() {
        checks.extend(check_disconnect(platform, shop, ask).await);
    } else {
        checks.push(Check::pass("disconnect", "skipped: not a simulated platform (pass --destructive to cut a link)"));
    }
    checks
}

fn check_shops(shops: &[Shop]) -> std::result::Result<String, String> {
    if shops.is_empty() {
        return Err("the platform lists no shop".into());
    }
    let dup = first_duplicate(shops.iter().map(|s| s.id.as_str()));
    match dup {
        Some(id) => Err(format!("shop id {id} appears twice")),
        None => Ok(format!("{} shop(s), ids unique", shops.len())),
    }
}

fn check_links(shops: &[Shop]) -> std::result::Result<String, String> {
    let mut count = 0;
    for shop in shops {
        if let Some(id) = first_duplicate(shop.links.iter().map(|l| l.id.as_str())) {
            return Err(format!("link id {id} appears twice in shop {}", shop.id));
        }
        if let Some(l) = shop.links.iter().find(|l| l.handle.trim().is_empty() || l.id.is_empty()) {
            return Err(format!("link {:?} of shop {} has an empty id or handle", l.id, shop.id));
        }
        count += shop.links.len();
    }
    Ok(format!("{count} link(s), ids unique, handles set"))
}

fn check_dataset_names(platform: &dyn Platform) -> std::result::Result<String, String> {
    let specs = platform.datasets();
    if specs.is_empty() {
        return Err("the platform exports no dataset".into());
    }
    match first_duplicate(specs.iter().map(|s| s.name.as_str())) {
        Some(name) => Err(format!("dataset {name} is listed twice")),
        None => Ok(specs.iter().map(|s| s.name.as_str()).collect::<Vec<_>>().join(", ")),
    }
}

fn first_duplicate<'a>(items: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    let mut seen = std::collections::HashSet::new();
    items.into_iter().find(|i| !seen.insert(*i))
}

/// A dataset read to its end: one digest per page, the cursor each page was asked with, the
/// record count and the `total` the platform announced. Two reads are compared by their records
/// only: a cursor is opaque and may carry an anchor of its own read (a fixed "now").
#[derive(Debug)]
struct Read {
    pages: Vec<[u8; 32]>,
    cursors: Vec<Option<String>>,
    records: u64,
    total: Option<u64>,
}

async fn read_all(
    platform: &dyn Platform,
    shop: &Shop,
    dataset: super::Dataset,
    start: Option<String>,
) -> std::result::Result<Read, String> {
    let range = TimeRange::default();
    let mut read = Read { pages: Vec::new(), cursors: Vec::new(), records: 0, total: None };
    let mut cursor = start;
    while read.pages.len() < MAX_PAGES {
        let request = PageRequest { dataset, range: &range, cursor: cursor.as_deref() };
        let page = platform
            .page(shop, request)
            .await
            .map_err(|e| format!("page {}: {}", read.pages.len() + 1, e.message()))?;
        let mut hash = Sha256::new();
        for record in &page.records {
            serde_json::from_str::<serde_json::Value>(record.as_str())
                .map_err(|e| format!("page {}: a record is not JSON ({e})", read.pages.len() + 1))?;
            hash.update(record.as_str().as_bytes());
            hash.update(b"\n");
        }
        read.records += page.records.len() as u64;
        read.total = read.total.or(page.total);
        read.pages.push(hash.finalize().into());
        read.cursors.push(cursor.clone());
        if page.is_last() {
            return Ok(read);
        }
        if page.next == cursor {
            return Err(format!("page {} hands back the cursor it was asked with", read.pages.len()));
        }
        cursor = page.next;
    }
    Err(format!("no end after {MAX_PAGES} pages"))
}

/// Pages to the end, twice (equal), then resumes from a middle cursor (same tail).
async fn check_dataset(platform: &dyn Platform, shop: &Shop, dataset: super::Dataset) -> Vec<Check> {
    let name = |what: &str| format!("{what}:{dataset}");
    let first = match read_all(platform, shop, dataset, None).await {
        Ok(read) => read,
        Err(e) => return vec![Check::fail(name("pages"), e)],
    };
    let honest = match first.total {
        Some(total) if total != first.records => Err(format!("total says {total}, {} records read", first.records)),
        _ => Ok(format!("{} records in {} page(s)", first.records, first.pages.len())),
    };
    let mut checks = vec![Check::of(&name("pages"), honest)];
    let second = read_all(platform, shop, dataset, None).await;
    checks.push(Check::of(
        &name("deterministic"),
        match second {
            Ok(second)
                if (&second.pages, second.records, second.total) == (&first.pages, first.records, first.total) =>
            {
                Ok("a second read is identical".into())
            }
            Ok(_) => Err("a second read gave other records or pages".into()),
            Err(e) => Err(e),
        },
    ));
    checks.push(Check::of(&name("resume"), check_resume(platform, shop, dataset, &first).await));
    checks
}

async fn check_resume(
    platform: &dyn Platform,
    shop: &Shop,
    dataset: super::Dataset,
    first: &Read,
) -> std::result::Result<String, String> {
    let middle = first.pages.len() / 2;
    let Some(cursor) = first.cursors.get(middle).cloned().flatten() else {
        return Ok("one page: nothing to resume".into());
    };
    let tail = read_all(platform, shop, dataset, Some(cursor)).await?;
    if tail.pages == first.pages[middle..] {
        Ok(format!("resuming at page {} gives the same {} page(s)", middle + 1, tail.pages.len()))
    } else {
        Err(format!("resuming at page {} gives other records", middle + 1))
    }
}

async fn check_unknown_shop(platform: &dyn Platform) -> Check {
    let ghost = Shop {
        id: "shopunlink-conformance-no-such-shop".into(),
        name: "no such shop".into(),
        region: "ZZ".into(),
        links: Vec::new(),
        data_changed_at: None,
        handle: "shopunlink-conformance-no-such-shop".into(),
        notes: Vec::new(),
    };
    match platform.readiness(&ghost).await {
        Err(e) if e.kind() == ErrorKind::NotFound => {
            Check::pass("unknown_shop", "an unknown shop id is not_found (exit 7)")
        }
        Err(e) => Check::fail("unknown_shop", format!("an unknown shop id gave {:?}: {}", e.kind(), e.message())),
        Ok(_) => Check::fail("unknown_shop", "readiness of an unknown shop id succeeded"),
    }
}

/// The second factor and an idempotent disconnect of the first linked `api` link.
async fn check_disconnect(platform: &dyn Platform, shop: &Shop, ask: AskCode<'_>) -> Vec<Check> {
    let link = shop.links.iter().find(|l| l.disconnect == DisconnectMode::Api && l.state == LinkState::Linked);
    let Some(link) = link else {
        return vec![Check::pass("disconnect", "skipped: no linked api link on the first shop")];
    };
    let mut checks = Vec::new();
    let grant = match second_factor(platform, shop, link, ask, &mut checks).await {
        Ok(grant) => grant,
        Err(e) => {
            checks.push(Check::fail("challenge", e));
            return checks;
        }
    };
    checks.push(Check::of("disconnect", disconnect_twice(platform, shop, link, &grant).await));
    checks
}

/// Wrong codes lose tries, a forged grant is refused, the right code gives a grant.
async fn second_factor(
    platform: &dyn Platform,
    shop: &Shop,
    link: &Link,
    ask: AskCode<'_>,
    checks: &mut Vec<Check>,
) -> std::result::Result<Grant, String> {
    let msg = |e: crate::error::Error| e.message().to_owned();
    let Some(challenge) = platform.start_challenge(shop, link).await.map_err(msg)? else {
        checks.push(Check::pass("challenge", "no platform challenge: the profile's TOTP is the second factor"));
        return Ok(Grant::LocalTotp);
    };
    if challenge.expires_at <= Utc::now() {
        return Err(format!("challenge {} is already expired", challenge.id));
    }
    let code = match platform.simulated_code(&challenge).await.map_err(msg)? {
        Some(code) => Secret::new(code),
        None => ask(&challenge).map_err(msg)?,
    };
    checks.push(Check::of("wrong_code", wrong_codes(platform, &challenge, code.expose()).await));
    if platform.is_simulated() {
        checks.push(forged_grant(platform, shop, link).await);
    }
    let challenge = platform.start_challenge(shop, link).await.map_err(msg)?.unwrap_or(challenge);
    let code = match platform.simulated_code(&challenge).await.map_err(msg)? {
        Some(fresh) => Secret::new(fresh),
        None => code,
    };
    match platform.answer_challenge(&challenge, &code).await.map_err(msg)? {
        ChallengeAnswer::Accepted(grant) => {
            checks.push(Check::pass("challenge", format!("the right code is accepted ({})", challenge.sent_to)));
            Ok(grant)
        }
        ChallengeAnswer::Rejected { .. } => Err("the right code was rejected".into()),
    }
}

/// Two wrong codes: each rejected, the second with one try fewer left.
async fn wrong_codes(
    platform: &dyn Platform,
    challenge: &Challenge,
    right: &str,
) -> std::result::Result<String, String> {
    let wrong = Secret::new(if right == "000000" { "111111" } else { "000000" });
    let answer = |c| async move { platform.answer_challenge(challenge, c).await.map_err(|e| e.message().to_owned()) };
    let ChallengeAnswer::Rejected { remaining: first } = answer(&wrong).await? else {
        return Err("a wrong code was accepted".into());
    };
    if first < 2 {
        return Ok(format!("a wrong code is rejected ({} left)", crate::words::count(first, "try", "tries")));
    }
    match answer(&wrong).await? {
        ChallengeAnswer::Rejected { remaining } if remaining < first => {
            Ok(format!("wrong codes are rejected, tries left {first} then {remaining}"))
        }
        ChallengeAnswer::Rejected { remaining } => {
            Err(format!("tries left did not go down ({first} then {remaining})"))
        }
        ChallengeAnswer::Accepted(_) => Err("a wrong code was accepted".into()),
    }
}

/// A simulated platform must refuse a disconnect whose grant it never issued.
async fn forged_grant(platform: &dyn Platform, shop: &Shop, link: &Link) -> Check {
    let forged = Grant::Challenge("shopunlink-conformance-forged".into());
    match platform.disconnect(shop, link, &forged).await {
        Err(e) if e.kind() == ErrorKind::Auth => {
            Check::pass("forged_grant", "a grant it never issued is refused (exit 4)")
        }
        Err(e) => Check::fail("forged_grant", format!("a forged grant gave {:?}: {}", e.kind(), e.message())),
        Ok(_) => Check::fail("forged_grant", "a forged grant cut the link"),
    }
}

async fn disconnect_twice(
    platform: &dyn Platform,
    shop: &Shop,
    link: &Link,
    grant: &Grant,
) -> std::result::Result<String, String> {
    let msg = |e: crate::error::Error| e.message().to_owned();
    platform.disconnect(shop, link, grant).await.map_err(|e| format!("disconnect: {}", msg(e)))?;
    platform.disconnect(shop, link, grant).await.map_err(|e| format!("a second disconnect failed: {}", msg(e)))?;
    let shops = platform.shops().await.map_err(msg)?;
    let state =
        shops.iter().find(|s| s.id == shop.id).and_then(|s| s.links.iter().find(|l| l.id == link.id)).map(|l| l.state);
    match state {
        Some(LinkState::Unlinked) | None => {
            Ok(format!("{} cut twice without error, then reads as unlinked", link.handle))
        }
        Some(other) => Err(format!("after the disconnect {} still reads as {}", link.handle, other.as_str())),
    }
}
