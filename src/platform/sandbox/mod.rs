//! The embedded sandbox platform: a deterministic simulated shop with real state.
//!
//! Records are generated a page at a time from the world's parameters ([`economy`], [`records`]),
//! so a million-order shop costs nothing until it is read and streams in flat memory. Links,
//! challenges and disconnects are persisted in [`world::World`]. Disconnecting needs the code the
//! sandbox "sends" to the seller, which `shopunlink sandbox code` reveals.

mod aftersales;
pub mod cli;
pub mod economy;
mod png;
mod records;
mod rng;
pub mod world;

use std::path::PathBuf;
use std::sync::Mutex;

use async_trait::async_trait;
use chrono::{DateTime, Duration, TimeZone, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use self::economy::{DAY, Economy, OrderPhase, START, WEEK};
use self::world::{CODE_ATTEMPTS, CODE_TTL_SECS, ChallengeState, World};
use super::tiktok::kinds;
use super::tiktok::tables::{self, Known};
use super::{
    Challenge, ChallengeAnswer, Commission, DatasetSpec, Decimal, DisconnectOutcome, Grant, KindSpec, Link, LinkState,
    Money, Page, PageRequest, Platform, PlatformContext, Provider, RawRecord, Readiness, SettingInfo, Shop, TimeRange,
};
use crate::credentials::Secret;
use crate::error::{Error, Result};

/// Records per page (TikTok's maximum is 100; the sandbox pages bigger because it is local).
pub const PAGE_SIZE: u64 = 500;

/// What the plans and messages call the sandbox.
const DISPLAY_NAME: &str = "the sandbox shop";

/// The name of the sandbox's one shop.
const SHOP_NAME: &str = "Demo Crafts Co.";

/// The `sandbox` entry of the registry.
pub static PROVIDER: SandboxProvider = SandboxProvider;

/// The embedded sandbox as a whole: no settings, no credentials, no network.
#[derive(Debug)]
pub struct SandboxProvider;

#[async_trait]
impl Provider for SandboxProvider {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    fn display_name(&self) -> &'static str {
        DISPLAY_NAME
    }

    fn about(&self) -> &'static str {
        "an embedded, deterministic simulated shop (the default; no account needed)"
    }

    fn settings(&self) -> Vec<SettingInfo> {
        Vec::new()
    }

    fn open(&self, ctx: &PlatformContext) -> Result<Box<dyn Platform>> {
        Sandbox::open(ctx)
    }

    async fn doctor(&self, _ctx: &PlatformContext) -> Vec<super::HealthCheck> {
        vec![super::HealthCheck::pass("network", "not needed: the sandbox is embedded and works offline")]
    }
}

/// The sandbox platform.
#[derive(Debug)]
pub struct Sandbox {
    path: PathBuf,
    world: Mutex<World>,
}

impl Sandbox {
    /// Opens the sandbox world of this home (the default world if none was saved).
    pub fn open(ctx: &PlatformContext) -> Result<Box<dyn Platform>> {
        let path = World::path(&ctx.state_dir);
        let world = World::load(&path)?;
        Ok(Box::new(Sandbox { path, world: Mutex::new(world) }))
    }

    fn snapshot(&self) -> World {
        self.world.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    /// Reloads the state, applies `change` and saves it: another process (a second terminal
    /// running `sandbox code`, a retried disconnect) may have changed it since we opened it.
    fn update<T>(&self, change: impl FnOnce(&mut World) -> Result<T>) -> Result<T> {
        let mut guard = self.world.lock().unwrap_or_else(|p| p.into_inner());
        let _lock = World::lock(&self.path)?;
        let mut world = World::load(&self.path)?;
        let out = change(&mut world)?;
        world.save_locked(&self.path)?;
        *guard = world;
        Ok(out)
    }

    fn shop(world: &World) -> Shop {
        Shop {
            id: world.shop_id(),
            name: SHOP_NAME.into(),
            region: "US".into(),
            links: world.links.clone(),
            data_changed_at: world.data_changed_at,
            handle: world.shop_id(),
            notes: Vec::new(),
        }
    }
}

fn unix(t: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(t, 0).single().unwrap_or_default()
}

/// The index window `[lo, hi)` of a non-decreasing timeline cut by a time range.
fn window(range: &TimeRange, n: u64, first_at: impl Fn(i64) -> u64) -> (u64, u64) {
    let lo = range.since.map_or(0, |t| first_at(t.timestamp()));
    let hi = range.until.map_or(n, |t| first_at(t.timestamp()));
    (lo, hi.max(lo))
}

fn parse_cursor(cursor: Option<&str>, lo: u64) -> Result<u64> {
    match cursor {
        None => Ok(lo),
        Some(c) => c.parse::<u64>().map(|c| c.max(lo)).map_err(|_| {
            Error::platform(format!("the sandbox does not recognise page cursor {c:?}"))
                .with_hint("rerun the export with --fresh")
        }),
    }
}

/// A page of `[cursor, hi)`: the indices `keep` accepts (a cheap test), each turned into a record
/// by `make` (the expensive part, so a big page is built on every core).
fn index_page(
    lo: u64,
    hi: u64,
    cursor: Option<&str>,
    total: Option<u64>,
    keep: impl Fn(u64) -> bool,
    make: impl Fn(u64) -> String + Sync,
) -> Result<Page> {
    let mut i = parse_cursor(cursor, lo)?;
    let mut picked = Vec::with_capacity(PAGE_SIZE as usize);
    while i < hi && (picked.len() as u64) < PAGE_SIZE {
        if keep(i) {
            picked.push(i);
        }
        i += 1;
    }
    Ok(Page { records: generate(&picked, &make), next: (i < hi).then(|| i.to_string()), total })
}

/// A page of the records some orders of `range` have (returns, cancellations, affiliate orders):
/// the orders `keep` picks, each turned into its record by `make`. No total: counting would scan.
fn order_page(
    e: &Economy,
    range: &TimeRange,
    cursor: Option<&str>,
    keep: impl Fn(&Economy, u64) -> bool,
    make: impl Fn(&Economy, u64) -> String + Sync,
) -> Result<Page> {
    let (lo, hi) = window(range, e.p.orders, |t| e.first_order_at(t));
    index_page(lo, hi, cursor, None, |i| keep(e, i), |i| make(e, i))
}

/// Below this many records a page is built on the calling thread: spawning costs more than it saves.
const PARALLEL_MIN: usize = 64;

/// Builds the records of `indices` in order, splitting big pages across the machine's cores.
/// Generation, not disk, bounds a local export; this is what lets it keep the disk busy.
fn generate(indices: &[u64], make: &(impl Fn(u64) -> String + Sync)) -> Vec<RawRecord> {
    let one = |chunk: &[u64]| chunk.iter().map(|&i| RawRecord::from_trusted(make(i))).collect::<Vec<_>>();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get()).min(4);
    if cores < 2 || indices.len() < PARALLEL_MIN {
        return one(indices);
    }
    let chunk = indices.len().div_ceil(cores);
    std::thread::scope(|scope| {
        let mut parts = indices.chunks(chunk).skip(1).map(|c| scope.spawn(move || one(c))).collect::<Vec<_>>();
        let mut records = one(&indices[..chunk.min(indices.len())]);
        for part in parts.drain(..) {
            // A panic in a generator is a bug in the sandbox; surface it on this thread.
            records.extend(part.join().unwrap_or_else(|p| std::panic::resume_unwind(p)));
        }
        records
    })
}

/// Indices in `0..n` whose time is in `range` (for the small weekly and monthly datasets).
fn small_window(range: &TimeRange, n: u64, time: impl Fn(u64) -> i64) -> Vec<u64> {
    (0..n).filter(|&k| range.contains(unix(time(k)))).collect()
}

fn small_page(keys: Vec<u64>, cursor: Option<&str>, make: impl Fn(u64) -> String + Sync) -> Result<Page> {
    let total = keys.len() as u64;
    index_page(0, total, cursor, Some(total), |_| true, |pos| make(keys[pos as usize]))
}

#[async_trait]
impl Platform for Sandbox {
    fn name(&self) -> &'static str {
        "sandbox"
    }

    async fn shops(&self) -> Result<Vec<Shop>> {
        Ok(vec![Sandbox::shop(&self.snapshot())])
    }

    async fn readiness(&self, shop: &Shop) -> Result<Readiness> {
        let world = self.snapshot();
        known_shop(&world, shop)?;
        let e = Economy::new(world.params);
        let pending = e.unsettled_sum();
        let pending_commissions = world
            .links
            .iter()
            .filter(|l| l.state == LinkState::Linked)
            .filter_map(|l| {
                let c = l.details.get("pending_commission")?;
                let amount: Decimal = c.get("amount")?.as_str()?.parse().ok()?;
                Some(Commission { link_id: l.id.clone(), amount: Money::new(amount, c.get("currency")?.as_str()?) })
            })
            .collect();
        Ok(Readiness {
            pending_funds: (pending != 0).then(|| Money::new(Decimal::from_minor(pending, 2), "USD")),
            processing_withdrawals: u64::from(e.withdrawals() > 0 && e.withdrawal(e.withdrawals() - 1).2),
            open_orders: e.p.open_orders.min(e.p.orders),
            active_listings: e.active_listings(),
            open_returns: aftersales::open_returns(&e),
            pending_commissions,
        })
    }

    fn display_name(&self) -> &'static str {
        DISPLAY_NAME
    }

    fn datasets(&self) -> Vec<DatasetSpec> {
        tables::specs()
    }

    fn link_kinds(&self) -> Vec<KindSpec> {
        kinds::specs()
    }

    async fn page(&self, shop: &Shop, req: PageRequest<'_>) -> Result<Page> {
        let world = self.snapshot();
        known_shop(&world, shop)?;
        let e = Economy::new(world.params);
        let range = req.range;
        match Known::of(req.dataset)? {
            Known::Orders => {
                let (lo, hi) = window(range, e.p.orders, |t| e.first_order_at(t));
                index_page(lo, hi, req.cursor, Some(hi - lo), |_| true, |i| records::order(&e, i))
            }
            Known::Products => {
                let (lo, hi) = window(range, e.p.products, |t| e.first_product_at(t));
                index_page(lo, hi, req.cursor, Some(hi - lo), |_| true, |p| records::product(&e, p))
            }
            Known::StatementTransactions => {
                let (lo, hi) = window(range, e.unsettled_from, |t| e.first_order_at(t).min(e.unsettled_from));
                index_page(
                    lo,
                    hi,
                    req.cursor,
                    None,
                    |i| e.phase(i) == OrderPhase::Settled,
                    |i| records::transaction(&e, i, ((e.order_time(i) - START) / WEEK) as u64),
                )
            }
            Known::Statements => {
                let keys = small_window(range, e.statements(), |w| e.statement_time(w));
                small_page(keys, req.cursor, |w| records::statement(&e, w))
            }
            Known::Payments => {
                let keys = small_window(range, e.statements(), |w| e.statement_time(w) + DAY);
                small_page(keys, req.cursor, |w| records::payment(&e, w))
            }
            Known::Returns => order_page(&e, range, req.cursor, aftersales::is_returned, aftersales::return_record),
            Known::Cancellations => {
                order_page(&e, range, req.cursor, aftersales::is_cancelled, aftersales::cancellation)
            }
            Known::AffiliateOrders => {
                order_page(&e, range, req.cursor, |_, i| aftersales::is_affiliate(i), aftersales::affiliate_order)
            }
            Known::ProductDetails => {
                let (lo, hi) = window(range, e.p.products, |t| e.first_product_at(t));
                index_page(lo, hi, req.cursor, Some(hi - lo), |_| true, |p| aftersales::product_detail(&e, p))
            }
            Known::Withdrawals => {
                let keys = small_window(range, e.withdrawals(), |k| e.withdrawal(k).1);
                small_page(keys, req.cursor, |k| records::withdrawal(&e, k))
            }
        }
    }

    /// The sandbox's pictures are made, not fetched: `sandbox://media/<product>-<k>.png` is a tiny
    /// PNG drawn from the world's seed and the name, so two homes keep the same bytes.
    async fn fetch_media(&self, url: &str, _cap: u64) -> std::result::Result<crate::net::media::Media, String> {
        let name = url.strip_prefix("sandbox://media/").and_then(|n| n.strip_suffix(".png"));
        let Some(name) = name.filter(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-'))
        else {
            return Err(format!("the sandbox has no picture at {url}"));
        };
        let seed = name.bytes().fold(self.snapshot().params.seed, |h, b| rng::mix(h ^ u64::from(b)));
        Ok(crate::net::media::Media { bytes: png::picture(seed), content_type: "image/png".into() })
    }

    async fn start_challenge(&self, _shop: &Shop, link: &Link) -> Result<Option<Challenge>> {
        if self.snapshot().profile_totp {
            return Ok(None);
        }
        let now = Utc::now();
        let state = self.update(|world| {
            if let Some(c) = world.challenges.iter().rev().find(|c| c.link_id == link.id && c.is_pending(now)) {
                return Ok(c.clone());
            }
            let c = ChallengeState {
                id: world.next_request_id().replace("sbx-", "chl-"),
                link_id: link.id.clone(),
                code: random_code()?,
                sent_to: "the seller's phone ending in 45".into(),
                created_at: now,
                expires_at: now + Duration::seconds(CODE_TTL_SECS),
                attempts_left: CODE_ATTEMPTS,
                accepted: false,
                used: false,
            };
            world.challenges.retain(|old| old.is_pending(now));
            world.challenges.push(c.clone());
            Ok(c)
        })?;
        Ok(Some(Challenge {
            id: state.id,
            sent_to: state.sent_to,
            expires_at: state.expires_at,
            hint: Some("Read it with `shopunlink sandbox code` (in another terminal, or before running this).".into()),
        }))
    }

    async fn answer_challenge(&self, challenge: &Challenge, code: &Secret) -> Result<ChallengeAnswer> {
        let now = Utc::now();
        self.update(|world| {
            let c = world
                .challenges
                .iter_mut()
                .find(|c| c.id == challenge.id)
                .ok_or_else(|| Error::auth("the sandbox has no record of this code; it may have been replaced"))?;
            if c.used || c.attempts_left == 0 || now >= c.expires_at {
                return Err(Error::auth("the code has expired or was already used")
                    .with_hint("run the command again to get a new code"));
            }
            if constant_time_eq(c.code.as_bytes(), code.expose().trim().as_bytes()) {
                c.accepted = true;
                return Ok(ChallengeAnswer::Accepted(Grant::Challenge(c.id.clone())));
            }
            c.attempts_left -= 1;
            Ok(ChallengeAnswer::Rejected { remaining: c.attempts_left })
        })
    }

    async fn disconnect(&self, _shop: &Shop, link: &Link, grant: &Grant) -> Result<DisconnectOutcome> {
        let now = Utc::now();
        self.update(|world| {
            let request_id = world.next_request_id();
            let challenge_id = match grant {
                Grant::Challenge(id) if !world.profile_totp => Some(id),
                Grant::LocalTotp if world.profile_totp => None,
                _ => return Err(Error::auth("this sandbox expects the other kind of second factor")),
            };
            let current = world.links.iter().find(|l| l.id == link.id).map(|l| l.state);
            match current {
                None => return Err(Error::not_found(format!("the sandbox has no link {}", link.id))),
                Some(LinkState::Unlinked) => {
                    return Ok(DisconnectOutcome {
                        performed: vec![format!("{} was already unlinked", link.handle)],
                        request_ids: vec![request_id],
                        ..Default::default()
                    });
                }
                Some(LinkState::Linked | LinkState::AwaitingOwner) => {}
            }
            if let Some(challenge_id) = challenge_id {
                let challenge = world
                    .challenges
                    .iter_mut()
                    .find(|c| &c.id == challenge_id && c.link_id == link.id && c.accepted && !c.used)
                    .ok_or_else(|| Error::auth("the second factor for this disconnect was not passed"))?;
                challenge.used = true;
            }
            let l = world.links.iter_mut().find(|l| l.id == link.id).expect("checked above");
            l.state = LinkState::Unlinked;
            l.details.insert("unlinked_at".into(), now.to_rfc3339().into());
            l.details.remove("pending_commission");
            Ok(DisconnectOutcome {
                performed: vec![format!("unlinked {} ({}) from the shop", link.handle, crate::words::kind(link.kind))],
                manual_steps: Vec::new(),
                request_ids: vec![request_id],
            })
        })
    }

    fn is_simulated(&self) -> bool {
        true
    }

    async fn simulated_code(&self, challenge: &Challenge) -> Result<Option<String>> {
        let world = self.snapshot();
        Ok(world.challenges.iter().find(|c| c.id == challenge.id).map(|c| c.code.clone()))
    }

    fn manual_steps(&self, shop: &Shop, link: &Link) -> Vec<String> {
        vec![
            format!(
                "Send the request below to your partner account manager ({}).",
                link.details
                    .get("account_manager")
                    .and_then(|v| v.as_str())
                    .unwrap_or("see Seller Center → Help → Contact us")
            ),
            format!("Ask them to remove {} from shop {} ({}).", link.handle, shop.name, shop.id),
            "Run `shopunlink status` once they confirm; the link shows as unlinked.".into(),
        ]
    }
}

/// The sandbox has one shop; any other id is an unknown shop (exit 7), as on a real platform.
fn known_shop(world: &World, shop: &Shop) -> Result<()> {
    if shop.id == world.shop_id() {
        return Ok(());
    }
    Err(Error::not_found(format!("the sandbox has no shop {}", shop.id)))
}

fn random_code() -> Result<String> {
    let mut bytes = [0u8; 8];
    getrandom::fill(&mut bytes).map_err(|e| Error::internal("no system randomness").with_cause(e))?;
    Ok(format!("{:06}", u64::from_le_bytes(bytes) % 1_000_000))
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// `sandbox show --json` (and `sandbox reset --json`): the facts of the sandbox's world.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Facts<'a> {
    /// Always 1.
    pub schema_version: u32,
    /// The seed: the same seed and sizes always give the same records.
    pub seed: u64,
    /// Orders over the year of history.
    pub orders: u64,
    /// Product listings.
    pub products: u64,
    /// How many of the newest orders still await shipment.
    pub open_orders: u64,
    /// True when everything has been paid out.
    pub settled: bool,
    /// How a disconnect is confirmed: `platform_challenge` (a code the sandbox sends) or
    /// `profile_totp`.
    pub second_factor: &'static str,
    /// Weekly statements.
    pub statements: u64,
    /// Withdrawals.
    pub withdrawals: u64,
    /// Listings customers can buy now.
    pub active_listings: u64,
    /// Money not yet paid out.
    pub unsettled: Money,
    /// The span of the shop's history.
    pub history: History,
    /// When the shop's data last changed (a disconnect changes it).
    pub data_changed_at: Option<DateTime<Utc>>,
    /// The shop.
    pub shop: FactsShop,
    /// Its links.
    pub links: &'a [Link],
}

/// The span of the sandbox shop's history (RFC 3339).
#[derive(Debug, Serialize, JsonSchema)]
pub struct History {
    /// The first day.
    pub from: String,
    /// The last day.
    pub to: String,
}

/// The sandbox's one shop.
#[derive(Debug, Serialize, JsonSchema)]
pub struct FactsShop {
    /// Its id.
    pub id: String,
    /// Its name.
    pub name: &'static str,
    /// Its market.
    pub region: &'static str,
}

/// Facts about the world for `sandbox show`.
pub fn describe(world: &World) -> Facts<'_> {
    let e = Economy::new(world.params);
    Facts {
        schema_version: 1,
        seed: world.params.seed,
        orders: world.params.orders,
        products: world.params.products,
        open_orders: world.params.open_orders,
        settled: world.params.settled,
        second_factor: if world.profile_totp { "profile_totp" } else { "platform_challenge" },
        statements: e.statements(),
        withdrawals: e.withdrawals(),
        active_listings: e.active_listings(),
        unsettled: Money::new(Decimal::from_minor(e.unsettled_sum(), 2), "USD"),
        history: History { from: unix(START).to_rfc3339(), to: unix(economy::EPOCH).to_rfc3339() },
        data_changed_at: world.data_changed_at,
        shop: FactsShop { id: world.shop_id(), name: SHOP_NAME, region: "US" },
        links: &world.links,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_page_built_on_several_cores_keeps_record_order() {
        let make = |i: u64| format!("{{\"i\":{i}}}");
        let indices: Vec<u64> = (10..10 + PAGE_SIZE).collect();
        let lines: Vec<String> = generate(&indices, &make).iter().map(|r| r.as_str().to_owned()).collect();
        let expected: Vec<String> = indices.iter().map(|&i| make(i)).collect();
        assert_eq!(lines, expected);
    }

    #[test]
    fn a_filtered_page_skips_without_counting_and_continues_after_the_last_index() {
        let page = index_page(0, 10_000, Some("3"), None, |i| i % 3 == 0, |i| i.to_string()).unwrap();
        assert_eq!(page.records.len() as u64, PAGE_SIZE);
        assert_eq!(page.records[0].as_str(), "3");
        assert_eq!(page.records.last().unwrap().as_str(), (3 * PAGE_SIZE).to_string());
        assert_eq!(page.next.as_deref(), Some((3 * PAGE_SIZE + 1).to_string().as_str()));
    }
}
