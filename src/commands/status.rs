//! `shopunlink status`: what is linked to which shop, and what stands in the way.

use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;

use super::{Ctx, select_shop};
use crate::error::Result;
use crate::export::index::Index;
use crate::platform::spec::{fill, kind_spec};
use crate::platform::{KindSpec, Link, LinkSource, LinkState, Readiness, Shop};
use crate::ui::{Style, Ui, wrap};
use crate::unlink::preflight::{self, Check, Overrides};
use crate::words;

/// Show which accounts are linked to which shop, and what stands in the way of disconnecting.
///
/// Examples:
///   shopunlink status
///   shopunlink status --shop "Demo Crafts Co." --json
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct StatusArgs {
    /// Only this shop (id or name)
    #[arg(long, value_name = "SHOP")]
    pub shop: Option<String>,

    /// Every shop the profile can see (also what plain `status` shows, whatever the profile's
    /// default shop)
    #[arg(long, conflicts_with = "shop")]
    pub all_shops: bool,
}

/// The newest export of a shop this home knows of.
#[derive(Debug, Serialize, JsonSchema)]
struct LastExport {
    /// The export directory.
    dir: String,
    /// When it finished.
    finished_at: chrono::DateTime<chrono::Utc>,
    /// True when `verify` passed on it.
    verified: bool,
}

/// Something that stands in the way of a disconnect.
#[derive(Debug, Serialize, JsonSchema)]
struct Blocker {
    /// Stable code (`no_export`, `pending_funds`, `open_orders`, ...).
    code: String,
    /// What was found, in words.
    message: String,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

/// What the platform reports about the shop, the last export, and what stands in the way.
#[derive(Debug, Serialize, JsonSchema)]
struct ReadinessDoc {
    #[serde(flatten)]
    platform: Readiness,
    /// The newest export of the shop, if any.
    last_export: Option<LastExport>,
    /// What stands in the way for the shop as a whole: the checks of every kind still linked
    /// (each link lists its own).
    blockers: Vec<Blocker>,
}

/// A link with what stands in the way of cutting it and the platform's rules for it.
#[derive(Debug, Serialize, JsonSchema)]
struct LinkDoc {
    #[serde(flatten)]
    link: Link,
    /// What stands in the way of disconnecting this link (empty unless it is linked).
    blockers: Vec<Blocker>,
    /// The platform's rules for this kind of link.
    rules: Vec<Rule>,
}

/// One of the platform's rules for a kind of link.
#[derive(Debug, Serialize, JsonSchema)]
struct Rule {
    /// `min_link_age`, `max_per_shop` or `limit`.
    code: &'static str,
    /// The rule in words.
    message: String,
}

/// One shop and its links.
#[derive(Debug, Serialize, JsonSchema)]
struct ShopDoc {
    /// The shop's id on the platform.
    id: String,
    /// Its name.
    name: String,
    /// Its market (two-letter code).
    region: String,
    /// What the platform could not tell (links it cannot list without a scope).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    notes: Vec<String>,
    /// Everything linked to the shop.
    links: Vec<LinkDoc>,
    /// What stands between the shop and a safe disconnect.
    readiness: ReadinessDoc,
}

/// `status --json` (also with `--shop` or `--all-shops`): the shops the profile sees, what is
/// linked to each, and what stands in the way of disconnecting it (SPEC §5).
#[derive(Debug, Serialize, JsonSchema)]
pub struct StatusDoc<'a> {
    /// Always 1.
    schema_version: u32,
    /// The platform asked.
    platform: &'a str,
    /// The profile in use.
    profile: &'a str,
    /// The shops, in the platform's order.
    shops: Vec<ShopDoc>,
}

/// The checks that stand in the way (warnings, such as open orders for an app, do not).
fn blockers(checks: &[Check]) -> Vec<Blocker> {
    checks
        .iter()
        .filter(|c| !c.ok && c.severity == preflight::Severity::Blocker)
        .map(|c| Blocker { code: c.code.clone(), message: c.message.clone(), hint: c.hint.clone() })
        .collect()
}

/// The platform's rules for `link`'s kind, in words.
fn rules(spec: &KindSpec, shop: &Shop, link: &Link) -> Vec<Rule> {
    let mut out = Vec::new();
    if let Some(h) = spec.min_link_age_hours {
        out.push(Rule { code: "min_link_age", message: format!("unlink only {h} h after linking") });
    }
    if let Some(max) = spec.max_per_shop {
        out.push(Rule { code: "max_per_shop", message: format!("at most {max} per shop") });
    }
    out.extend(spec.limits.iter().map(|l| Rule { code: "limit", message: fill(l, shop, link) }));
    out
}

/// Runs `status`.
pub async fn run(ctx: &Ctx<'_>, args: StatusArgs) -> Result<()> {
    let platform = ctx.platform()?;
    let mut shops = platform.shops().await?;
    if let Some(q) = ctx.settings.shop_query(args.shop.as_deref()).filter(|_| args.shop.is_some()) {
        shops = vec![select_shop(shops, Some(&q))?];
    }
    show(ctx, platform.as_ref(), &shops).await
}

/// Prints the status of `shops` (links, their blockers, readiness): a table, or the JSON document.
pub(super) async fn show(ctx: &Ctx<'_>, platform: &dyn crate::platform::Platform, shops: &[Shop]) -> Result<()> {
    let index = Index::load(&ctx.settings.state_dir)?;
    let mut docs = Vec::new();
    let kinds = platform.link_kinds();
    for shop in shops {
        let readiness = platform.readiness(shop).await?;
        let export = preflight::find_export(platform, shop, &index).await;
        let checks_for = |link: Option<&Link>| {
            preflight::run(shop, link, &readiness, &export, platform, Overrides::default()).checks
        };
        let last_export = index.latest(platform.name(), &shop.id).map(|e| LastExport {
            dir: e.dir.display().to_string(),
            finished_at: e.finished_at,
            verified: e.verified,
        });
        let links = shop
            .links
            .iter()
            .map(|l| LinkDoc {
                link: l.clone(),
                blockers: if l.state == LinkState::Linked { blockers(&checks_for(Some(l))) } else { Vec::new() },
                rules: rules(&kind_spec(&kinds, l.kind), shop, l),
            })
            .collect();
        let readiness = ReadinessDoc { blockers: blockers(&checks_for(None)), platform: readiness, last_export };
        docs.push(ShopDoc {
            id: shop.id.clone(),
            name: shop.name.clone(),
            region: shop.region.clone(),
            notes: shop.notes.clone(),
            links,
            readiness,
        });
    }
    let doc = StatusDoc { schema_version: 1, platform: platform.name(), profile: &ctx.settings.profile, shops: docs };
    if ctx.ui.is_json() {
        ctx.ui.print_json(&doc);
    } else {
        print_human(ctx.ui, &doc);
    }
    Ok(())
}

fn link_row(ui: &Ui, width: Option<usize>, l: &Link) -> String {
    let state = format!("{:<14}", words::state(l.state));
    let state = match l.state {
        LinkState::Linked => ui.paint(Style::Green, &state),
        LinkState::AwaitingOwner => ui.paint(Style::Yellow, &state),
        LinkState::Unlinked => ui.paint(Style::Dim, &state),
    };
    let since = l.linked_since.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_else(|| "-".into());
    let declared = if l.source == LinkSource::Declared { " (declared)" } else { "" };
    let row = format!(
        "  {:<20} {:<17} {state} {:<10} {:<10} {}",
        l.handle,
        words::kind(l.kind),
        since,
        words::unlink(l.disconnect),
        ui.paint(Style::Dim, &format!("{}{declared}", l.display_name))
    );
    fit(width, &row)
}

/// A row cut to the terminal's `width` with `…` (the name column goes first), so an 80-column
/// terminal never wraps the table; a file or a pipe (`None`) gets the whole row.
fn fit(width: Option<usize>, row: &str) -> String {
    match width {
        Some(width) => dialoguer::console::truncate_str(row, width, "…").into_owned(),
        None => row.to_owned(),
    }
}

fn print_human(ui: &Ui, doc: &StatusDoc<'_>) {
    let width = ui.width();
    for (n, s) in doc.shops.iter().enumerate() {
        if n > 0 {
            ui.print("");
        }
        ui.print(&format!(
            "{}  {}",
            ui.paint(Style::Bold, &s.name),
            ui.paint(Style::Dim, &format!("shop {} · {} · {} · profile {}", s.id, s.region, doc.platform, doc.profile))
        ));
        ui.print("");
        ui.print(&ui.paint(
            Style::Dim,
            &fit(
                width,
                &format!("  {:<20} {:<17} {:<14} {:<10} {:<10} {}", "LINK", "KIND", "STATE", "SINCE", "UNLINK", "NAME"),
            ),
        ));
        for l in &s.links {
            ui.print(&link_row(ui, width, &l.link));
            for b in &l.blockers {
                ui.print(&wrap(&format!("      {} ", ui.paint(Style::Red, "✗")), 8, &b.message, width));
            }
        }
        for note in &s.notes {
            ui.print(&wrap(&format!("  {} ", ui.paint(Style::Yellow, "!")), 4, note, width));
        }
        print_readiness(ui, width, &s.readiness);
    }
}

fn print_readiness(ui: &Ui, width: Option<usize>, r: &ReadinessDoc) {
    ui.print("");
    let funds = r.platform.pending_funds.as_ref().map_or("none".to_owned(), |m| m.to_string());
    ui.print(&format!("  pending funds     {funds}"));
    ui.print(&format!("  withdrawals       {} processing", r.platform.processing_withdrawals));
    ui.print(&format!("  open orders       {}", r.platform.open_orders));
    if r.platform.open_returns > 0 {
        ui.print(&format!("  open returns      {}", r.platform.open_returns));
    }
    ui.print(&format!("  active listings   {}", r.platform.active_listings));
    let export = r.last_export.as_ref().map_or("none".to_owned(), |e| {
        format!(
            "{} ({}, {})",
            e.dir,
            e.finished_at.format("%Y-%m-%d %H:%M UTC"),
            if e.verified { "verified" } else { "not verified" }
        )
    });
    ui.print(&format!("  last export       {export}"));
    if r.blockers.is_empty() {
        ui.print(&format!("\n  {}", ui.paint(Style::Green, "ready: nothing stands in the way")));
    } else {
        ui.print(&format!(
            "\n  {}",
            ui.paint(Style::Bold, "Before you disconnect (each is listed above under the links it applies to)")
        ));
        for b in &r.blockers {
            ui.print(&wrap(&format!("  {} ", ui.paint(Style::Red, "✗")), 4, &b.message, width));
            if let Some(h) = &b.hint {
                ui.print(&ui.paint(Style::Dim, &wrap("      ", 6, h, width)));
            }
        }
    }
}
