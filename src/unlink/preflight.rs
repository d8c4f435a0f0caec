//! Step 2: the checks that must pass before anything is changed (SPEC §6).
//!
//! Each check is reported whether it passes or not, so the receipt shows what was known when the
//! decision was made. A failed blocker refuses the disconnect (exit 5) unless its override flag
//! was given; warnings are shown and recorded but never block.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::export::index::{Entry, Index};
use crate::export::manifest::{self, Manifest};
use chrono::{DateTime, Utc};

use crate::platform::spec::kind_spec;
use crate::platform::{Dataset, KindSpec, Link, LinkState, Platform, Readiness, Shop};

/// How much a failed check matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Refuses the disconnect unless overridden.
    Blocker,
    /// Shown and recorded only.
    Warning,
}

/// One check and its result.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Check {
    /// Stable code (`no_export`, `pending_funds`, ...).
    pub code: String,
    /// True when the check passed.
    pub ok: bool,
    /// What a failure means.
    pub severity: Severity,
    /// What was found, in words.
    pub message: String,
    /// What to do about a failure.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    /// True when a failed blocker was overridden by a flag.
    pub overridden: bool,
}

impl Check {
    /// True when this check stops the disconnect.
    pub fn blocks(&self) -> bool {
        !self.ok && self.severity == Severity::Blocker && !self.overridden
    }
}

/// The flags that accept a risk.
#[derive(Debug, Clone, Copy, Default)]
pub struct Overrides {
    /// `--allow-unexported`.
    pub unexported: bool,
    /// `--allow-pending-funds`.
    pub pending_funds: bool,
    /// `--emergency`: a suspected breach; skips the export check where the kind allows it.
    pub emergency: bool,
}

/// All checks, plus the export they relied on.
#[derive(Debug, Clone, Serialize)]
pub struct Preflight {
    /// Every check, passed or not.
    pub checks: Vec<Check>,
    /// The export that satisfied the export check.
    #[serde(skip)]
    pub export: Option<Entry>,
}

impl Preflight {
    /// The checks that stop the disconnect.
    pub fn blockers(&self) -> impl Iterator<Item = &Check> {
        self.checks.iter().filter(|c| c.blocks())
    }
}

fn check(
    code: &'static str,
    ok: bool,
    severity: Severity,
    message: String,
    hint: Option<String>,
    overridden: bool,
) -> Check {
    Check { code: code.into(), ok, severity, message, hint, overridden: !ok && overridden }
}

/// Why an indexed export does not count, or `None` when it does.
///
/// The index only says what `verify` once saw, so the manifest is re-read here: it must be the one
/// verified, cover the whole shop (every dataset, no time window), and every file must still have
/// its recorded size. Full re-hashing is `verify`'s job; this catches a partial export, a later
/// edit or a deleted file at the moment it matters.
fn export_problem(entry: &Entry, shop: &Shop, datasets: &[Dataset]) -> Option<String> {
    let dir = entry.dir.display();
    if !entry.verified {
        return Some(format!("the export in {dir} has not been verified"));
    }
    if let Some(changed) = shop.data_changed_at.filter(|c| entry.started_at < *c) {
        let at = changed.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        return Some(format!("the shop's data changed at {at} after the last export (in {dir}) began"));
    }
    let bytes = match std::fs::read(entry.dir.join(manifest::FILE)) {
        Ok(bytes) if hex::encode(Sha256::digest(&bytes)) == entry.manifest_sha256 => bytes,
        Ok(_) => return Some(format!("the export in {dir} changed after it was verified")),
        Err(_) => return Some(format!("the export in {dir} is gone")),
    };
    let Ok(m) = serde_json::from_slice::<Manifest>(&bytes) else {
        return Some(format!("the manifest of the export in {dir} cannot be read"));
    };
    if m.range.since.is_some() || m.range.until.is_some() {
        return Some(format!("the export in {dir} covers only a time window (--since/--until), not the whole shop"));
    }
    // A dataset the export had to skip (no scope) is as missing as one never asked for.
    let missing: Vec<String> = datasets
        .iter()
        .map(|d| d.to_string())
        .filter(|d| !m.datasets.iter().any(|e| &e.name == d && e.skipped.is_none()))
        .collect();
    if !missing.is_empty() {
        return Some(format!("the export in {dir} lacks {}", missing.join(", ")));
    }
    let files = m.datasets.iter().filter(|d| d.skipped.is_none()).flat_map(|d| {
        std::iter::once((d.file.as_str(), d.bytes)).chain(d.csv_files().map(|c| (c.file.as_str(), c.bytes)))
    });
    for (file, size) in files {
        if std::fs::metadata(entry.dir.join(file)).map(|md| md.len()).ok() != Some(size) {
            return Some(format!("{file} in the export in {dir} is missing or changed since it was verified"));
        }
    }
    None
}

/// What the platform says of the shop's records since the latest export of it began.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum SinceExport {
    /// No export, a shop that says when its data changed, or a platform that cannot tell.
    #[default]
    Unknown,
    /// Nothing was created or updated since.
    Unchanged,
    /// Something was: the export misses it.
    Changed,
    /// The question failed (a missing scope, the platform down): the export cannot be trusted
    /// to be current, which `--allow-unexported` can accept.
    CheckFailed(String),
}

/// What the platform says of the shop's records since `entry` began, when the shop does not say
/// when its data last changed; an unverified export fails preflight anyway, so it costs no
/// requests.
async fn changed_since(platform: &dyn Platform, shop: &Shop, entry: Option<&Entry>) -> SinceExport {
    let Some(entry) = entry.filter(|e| e.verified && shop.data_changed_at.is_none()) else {
        return SinceExport::Unknown;
    };
    match platform.changed_since(shop, entry.started_at).await {
        Ok(Some(true)) => SinceExport::Changed,
        Ok(Some(false)) => SinceExport::Unchanged,
        Ok(None) => SinceExport::Unknown,
        Err(e) => SinceExport::CheckFailed(e.message().to_owned()),
    }
}

/// The export the preflight relies on, with what is wrong with it: the newest verified export
/// that covers the whole shop (a newer export of only some datasets or a time window never hides
/// an older complete one), else the newest one and its problem. Each manifest is read once.
fn best_export<'i>(index: &'i Index, platform: &dyn Platform, shop: &Shop) -> Option<(&'i Entry, Option<String>)> {
    let datasets: Vec<Dataset> = platform.datasets().iter().map(|d| d.name).collect();
    let mut candidates: Vec<&Entry> =
        index.exports.iter().filter(|e| e.platform == platform.name() && e.shop_id == shop.id).collect();
    candidates.sort_by_key(|e| std::cmp::Reverse((e.verified, e.finished_at)));
    let mut newest = None;
    for e in candidates {
        let problem = export_problem(e, shop, &datasets);
        if problem.is_none() {
            return Some((e, None));
        }
        newest.get_or_insert((e, problem));
    }
    newest
}

/// The export check of a shop, before any override: worked out once per shop (it reads and
/// hashes manifests and may ask the platform) and shared by the checks of every link.
#[derive(Debug, Clone)]
pub struct ExportFinding {
    check: Check,
    entry: Option<Entry>,
}

/// Finds the export the preflight of `shop` relies on, and whether it still covers the shop.
pub async fn find_export(platform: &dyn Platform, shop: &Shop, index: &Index) -> ExportFinding {
    let best = best_export(index, platform, shop);
    let changed = changed_since(platform, shop, best.as_ref().map(|(e, _)| *e)).await;
    let problem = match &best {
        None => Some("no export of this shop yet".to_owned()),
        Some((_, Some(p))) => Some(p.clone()),
        Some((e, None)) => {
            let dir = e.dir.display();
            match &changed {
                SinceExport::Changed => {
                    Some(format!("the shop has new or updated records since the last export (in {dir}) began"))
                }
                SinceExport::CheckFailed(why) => {
                    Some(format!("could not check whether the shop changed since the export in {dir} began: {why}"))
                }
                SinceExport::Unknown | SinceExport::Unchanged => None,
            }
        }
    };
    let latest = best.map(|(e, _)| e);
    let hint = match (&problem, latest) {
        (Some(_), Some(e)) if !e.verified => format!("run `shopunlink verify {}`", e.dir.display()),
        // Past the arm above the export is verified, and the question is only asked where the shop
        // gives no change time: a failed one is the problem.
        (Some(_), Some(_)) if matches!(changed, SinceExport::CheckFailed(_)) => {
            "check the platform access with `shopunlink doctor` and retry, or pass --allow-unexported".to_owned()
        }
        _ => "run `shopunlink export` and then `shopunlink verify DIR` (or pass --allow-unexported)".to_owned(),
    };
    let ok = problem.is_none();
    let message = problem.unwrap_or_else(|| {
        let e = latest.expect("ok implies an entry");
        format!("verified export in {} (finished {})", e.dir.display(), e.finished_at.format("%Y-%m-%d %H:%M UTC"))
    });
    let entry = if ok { latest.cloned() } else { None };
    ExportFinding { check: check("no_export", ok, Severity::Blocker, message, (!ok).then_some(hint), false), entry }
}

/// What the checks apply to: one link's kind, or (for `status`) every kind still linked.
#[derive(Debug, Clone, Copy)]
struct Applies {
    moves_money: bool,
    moves_buyers: bool,
    emergency: bool,
}

fn applies(shop: &Shop, link: Option<&Link>, kinds: &[KindSpec]) -> Applies {
    let specs: Vec<KindSpec> = match link {
        Some(l) => vec![kind_spec(kinds, l.kind)],
        None => shop.links.iter().filter(|l| l.state == LinkState::Linked).map(|l| kind_spec(kinds, l.kind)).collect(),
    };
    Applies {
        moves_money: specs.iter().any(|s| s.moves_money),
        moves_buyers: specs.iter().any(|s| s.moves_buyers),
        emergency: link.is_some() && specs.iter().all(|s| s.emergency),
    }
}

fn severity(blocks: bool) -> Severity {
    if blocks { Severity::Blocker } else { Severity::Warning }
}

/// Runs every check for disconnecting `link` (or, with `None`, for the shop as a whole, as
/// `status` shows it). `export` is [`find_export`]'s answer for the shop.
///
/// Which checks block depends on the link's kind, as the platform describes it (SPEC §6):
/// money only where the kind moves money, open orders only where it moves buyers, and the
/// platform's time rules for the kind. Revoking an app moves neither: its funds and orders are
/// warnings.
pub fn run(
    shop: &Shop,
    link: Option<&Link>,
    readiness: &Readiness,
    export: &ExportFinding,
    platform: &dyn Platform,
    overrides: Overrides,
) -> Preflight {
    let kinds = platform.link_kinds();
    let applies = applies(shop, link, &kinds);
    let entry = export.entry.clone();
    let mut export = export.check.clone();
    export.overridden = !export.ok && overrides.unexported;
    if !export.ok && overrides.emergency && applies.emergency {
        export.overridden = true;
        export.message = format!("{} (skipped: --emergency)", export.message);
    }
    let mut checks = vec![export];
    checks.extend(money_checks(link, readiness, overrides, applies.moves_money));
    checks.push(orders_check(readiness, applies.moves_buyers));
    if let Some(l) = link {
        checks.extend(rule_checks(&kind_spec(&kinds, l.kind), l, Utc::now()));
    }
    Preflight { checks, export: entry }
}

fn money_checks(link: Option<&Link>, readiness: &Readiness, overrides: Overrides, blocks: bool) -> Vec<Check> {
    let funds = readiness.pending_funds.as_ref().filter(|m| !m.amount.is_zero());
    let funds_hint = if blocks {
        "wait for the next settlement, or pass --allow-pending-funds"
    } else {
        "this link does not move money; the funds stay with the shop"
    };
    let mut checks = vec![check(
        "pending_funds",
        funds.is_none(),
        severity(blocks),
        funds.map_or_else(|| "no unsettled funds".into(), |m| format!("{m} not yet paid out")),
        Some(funds_hint.into()),
        overrides.pending_funds,
    )];
    let w = readiness.processing_withdrawals;
    checks.push(check(
        "withdrawal_processing",
        w == 0,
        severity(blocks),
        if w == 0 {
            "no withdrawal in flight".into()
        } else {
            format!("{} still processing", crate::words::count(w, "withdrawal", "withdrawals"))
        },
        Some(if blocks {
            "wait until the withdrawal reaches your bank, or pass --allow-pending-funds".into()
        } else {
            "this link does not move money; the withdrawal goes on".into()
        }),
        overrides.pending_funds,
    ));
    let commission = link.and_then(|l| readiness.pending_commissions.iter().find(|c| c.link_id == l.id));
    if let Some(money) = commission.map(|c| &c.amount) {
        checks.push(check(
            "pending_commission",
            false,
            Severity::Blocker,
            format!("{money} of affiliate commission not yet settled"),
            Some("wait for the commission to settle, or pass --allow-pending-funds".into()),
            overrides.pending_funds,
        ));
    }
    checks
}

fn orders_check(readiness: &Readiness, blocks: bool) -> Check {
    let open = readiness.open_orders;
    let returns = readiness.open_returns;
    let mut parts = Vec::new();
    if open > 0 {
        let verb = if open == 1 { "needs" } else { "need" };
        parts.push(format!("{} still {verb} fulfilment", crate::words::count(open, "open order", "open orders")));
    }
    if returns > 0 {
        let what = if returns == 1 {
            "1 return or cancellation".into()
        } else {
            format!("{returns} returns or cancellations")
        };
        parts.push(format!("{what} still in progress"));
    }
    let ok = parts.is_empty();
    check(
        "open_orders",
        ok,
        severity(blocks),
        if ok { "no open orders, returns or cancellations".into() } else { parts.join("; ") },
        Some(if blocks {
            "ship, cancel or settle them in the platform's seller UI first: buyers reach the shop through this link"
                .into()
        } else {
            "they are unaffected, but keep handling them".into()
        }),
        false,
    )
}

/// The platform's time rule for the kind: an unlink too soon after linking is refused, naming
/// when it becomes possible.
fn rule_checks(spec: &KindSpec, link: &Link, now: DateTime<Utc>) -> Option<Check> {
    let hours = spec.min_link_age_hours?;
    let at = spec.unlink_allowed_at(link, now);
    let when = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    Some(check(
        "link_too_new",
        at.is_none(),
        Severity::Blocker,
        match at {
            Some(t) => format!(
                "the platform allows unlinking a {} only {hours} h after linking: {} can be unlinked from {}",
                spec.label,
                link.handle,
                when(t)
            ),
            None => format!("linked more than {hours} h ago, as the platform requires"),
        },
        at.map(|t| format!("run the same command again after {}", when(t))),
        false,
    ))
}
