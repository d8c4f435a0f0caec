//! `shopunlink status`: what is linked to which shop, and what stands in the way.

use clap::Args;
use serde::Serialize;

use super::{Ctx, select_shop};
use crate::error::Result;
use crate::export::index::Index;
use crate::platform::{Link, LinkState, Readiness, Shop};
use crate::ui::{Style, Ui};
use crate::unlink::preflight::{self, Check, Overrides};

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
}

#[derive(Debug, Serialize)]
struct LastExport {
    dir: String,
    finished_at: chrono::DateTime<chrono::Utc>,
    verified: bool,
}

#[derive(Debug, Serialize)]
struct Blocker {
    code: String,
    message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    hint: Option<String>,
}

#[derive(Debug, Serialize)]
struct ReadinessDoc {
    #[serde(flatten)]
    platform: Readiness,
    last_export: Option<LastExport>,
    blockers: Vec<Blocker>,
}

#[derive(Debug, Serialize)]
struct ShopDoc {
    #[serde(flatten)]
    shop: Shop,
    readiness: ReadinessDoc,
}

#[derive(Debug, Serialize)]
struct StatusDoc<'a> {
    schema_version: u32,
    platform: &'a str,
    profile: &'a str,
    shops: Vec<ShopDoc>,
}

/// Runs `status`.
pub async fn run(ctx: &Ctx<'_>, args: StatusArgs) -> Result<()> {
    let platform = ctx.platform()?;
    let mut shops = platform.shops().await?;
    if let Some(q) = ctx.settings.shop_query(args.shop.as_deref()).filter(|_| args.shop.is_some()) {
        shops = vec![select_shop(shops, Some(&q))?];
    }
    let index = Index::load(&ctx.settings.state_dir)?;
    let mut docs = Vec::new();
    for shop in shops {
        let readiness = platform.readiness(&shop).await?;
        let changed = preflight::changed_since_export(platform.as_ref(), &shop, &index).await;
        let checks =
            preflight::run(&shop, None, &readiness, &index, platform.as_ref(), Overrides::default(), &changed).checks;
        let last_export = index.latest(platform.name(), &shop.id).map(|e| LastExport {
            dir: e.dir.display().to_string(),
            finished_at: e.finished_at,
            verified: e.verified,
        });
        let blockers = checks
            .iter()
            // Warnings (open orders where no official account is linked) are not in the way.
            .filter(|c| !c.ok && c.severity == preflight::Severity::Blocker)
            .map(|c: &Check| Blocker { code: c.code.clone(), message: c.message.clone(), hint: c.hint.clone() })
            .collect();
        docs.push(ShopDoc { shop, readiness: ReadinessDoc { platform: readiness, last_export, blockers } });
    }
    let doc = StatusDoc { schema_version: 1, platform: platform.name(), profile: &ctx.settings.profile, shops: docs };
    if ctx.ui.is_json() {
        ctx.ui.print_json(&doc);
    } else {
        print_human(ctx.ui, &doc);
    }
    Ok(())
}

fn link_row(ui: &Ui, l: &Link) -> String {
    let state = match l.state {
        LinkState::Linked => ui.paint(Style::Green, "linked  "),
        LinkState::Unlinked => ui.paint(Style::Dim, "unlinked"),
    };
    let since = l.linked_since.map(|t| t.format("%Y-%m-%d").to_string()).unwrap_or_else(|| "-".into());
    format!(
        "  {:<22} {:<18} {state}  {:<10}  {:<8}  {}",
        l.handle,
        l.kind.as_str(),
        since,
        l.disconnect.as_str(),
        ui.paint(Style::Dim, &l.display_name)
    )
}

fn print_human(ui: &Ui, doc: &StatusDoc<'_>) {
    for (n, s) in doc.shops.iter().enumerate() {
        if n > 0 {
            ui.print("");
        }
        let shop = &s.shop;
        ui.print(&format!(
            "{}  {}",
            ui.paint(Style::Bold, &shop.name),
            ui.paint(
                Style::Dim,
                &format!("shop {} · {} · {} · profile {}", shop.id, shop.region, doc.platform, doc.profile)
            )
        ));
        ui.print("");
        ui.print(&ui.paint(
            Style::Dim,
            &format!("  {:<22} {:<18} {:<8}  {:<10}  {:<8}  {}", "LINK", "KIND", "STATE", "SINCE", "UNLINK", "NAME"),
        ));
        for l in &shop.links {
            ui.print(&link_row(ui, l));
        }
        let r = &s.readiness;
        ui.print("");
        let funds = r.platform.pending_funds.as_ref().map_or("none".to_owned(), |m| m.to_string());
        ui.print(&format!("  pending funds     {funds}"));
        ui.print(&format!("  withdrawals       {} processing", r.platform.processing_withdrawals));
        ui.print(&format!("  open orders       {}", r.platform.open_orders));
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
            ui.print(&format!("\n  {}", ui.paint(Style::Bold, "Before you disconnect")));
            for b in &r.blockers {
                ui.print(&format!("  {} {}", ui.paint(Style::Red, "✗"), b.message));
                if let Some(h) = &b.hint {
                    ui.print(&format!("      {}", ui.paint(Style::Dim, h)));
                }
            }
        }
    }
}
