//! `shopunlink links add|list|remove`: the links no API exposes, as the seller declares them.
//!
//! An official TikTok account, marketing accounts, other apps and partners, an MCN: the platform
//! shows them to the owner in its own UI but to no app. Declared here, they appear in `status`
//! beside the platform's links (`"source": "declared"`) and `disconnect` guides the owner through
//! cutting them. The platform's limits (one official account, at most four marketing accounts)
//! are checked when one is added.

use chrono::{DateTime, Utc};
use clap::{Args, Subcommand};
use schemars::JsonSchema;
use serde::Serialize;

use super::{Ctx, select_shop};
use crate::error::{Error, Result};
use crate::platform::declared::{Declared, MAX_LINKS, Store};
use crate::platform::{KindSpec, LinkSource, LinkState, Shop, bare_handle};
use crate::ui::Style;
use crate::words;

/// Declare the links the platform's API does not show, so status and disconnect cover them too.
///
/// Official and marketing accounts, other apps and partners, an MCN: the platform shows them to
/// the owner in its own UI but to no app.
///
/// Examples:
///   shopunlink links add service_partner @acme.logistics --linked-since 2024-03-02
///   shopunlink links add marketing_account @democrafts.live --name "Demo Crafts LIVE"
///   shopunlink links add                      (asks what Seller Center shows)
///   shopunlink links list --json
///   shopunlink links remove @democrafts.live
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct LinksArgs {
    #[command(subcommand)]
    pub command: LinksCommand,
}

/// The links subcommands.
#[derive(Debug, Subcommand)]
pub enum LinksCommand {
    /// Declare a link (with no arguments on a terminal: asks for each part)
    Add(AddArgs),
    /// List the declared links
    List,
    /// Forget a declared link (it is not unlinked anywhere; use disconnect for that)
    Remove(RemoveArgs),
}

/// Options for `links add`.
#[derive(Debug, Args)]
pub struct AddArgs {
    /// The kind of link, e.g. official_account, marketing_account, app_authorization,
    /// service_partner, mcn
    pub kind: Option<String>,
    /// The account's handle (@name) or the app's or partner's name
    pub handle: Option<String>,
    /// Shop id or name (optional when the profile has one shop)
    #[arg(long, value_name = "SHOP")]
    pub shop: Option<String>,
    /// A display name [default: the handle]
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// When it was linked, as Seller Center shows it (YYYY-MM-DD or RFC 3339); the platform's
    /// 24-hour rules count from it
    #[arg(long, value_name = "DATE", value_parser = super::export::parse_since)]
    pub linked_since: Option<DateTime<Utc>>,
}

/// Options for `links remove`.
#[derive(Debug, Args)]
pub struct RemoveArgs {
    /// The declared link's handle or id
    pub handle: String,
    /// Shop id or name, when the handle is declared on several shops
    #[arg(long, value_name = "SHOP")]
    pub shop: Option<String>,
}

/// Runs `links`.
pub async fn run(ctx: &Ctx<'_>, args: LinksArgs) -> Result<()> {
    match args.command {
        LinksCommand::Add(a) => add(ctx, a).await,
        LinksCommand::List => list(ctx),
        LinksCommand::Remove(r) => remove(ctx, r).await,
    }
}

fn store(ctx: &Ctx<'_>) -> Store {
    Store::new(&ctx.settings.state_dir, &ctx.settings.profile)
}

/// The kinds a seller may declare on this platform.
fn declarable(kinds: &[KindSpec]) -> Vec<&KindSpec> {
    kinds.iter().filter(|k| k.declarable.is_some()).collect()
}

fn kind_names(kinds: &[&KindSpec]) -> String {
    kinds.iter().map(|k| k.kind.as_str()).collect::<Vec<_>>().join(", ")
}

/// Checks `text` names a kind the seller may declare here.
fn parse_kind(text: &str, kinds: &[KindSpec], platform: &str) -> Result<KindSpec> {
    let allowed = declarable(kinds);
    let known = kind_names(&allowed);
    let name = text.trim().to_lowercase().replace(['-', ' '], "_");
    if let Some(spec) = allowed.iter().find(|k| k.kind.as_str() == name) {
        return Ok((*spec).clone());
    }
    let msg = match kinds.iter().find(|k| k.kind.as_str() == name) {
        Some(k) => format!("{platform} lists its {} links itself; they cannot be declared", words::kind(k.kind)),
        None => format!("unknown link kind {text:?}"),
    };
    Err(Error::usage(msg).with_hint(format!("kinds you can declare: {known}")).with_detail("kinds", known))
}

/// Asks what Seller Center shows, for `links add` with no arguments on a terminal.
fn ask(ctx: &Ctx<'_>, kinds: &[KindSpec], platform: &str) -> Result<(KindSpec, String)> {
    let allowed = declarable(kinds);
    ctx.ui.note("What is linked to your shop? In the platform's seller UI, look under:");
    for k in &allowed {
        let place = k.where_to_unlink.as_deref().unwrap_or("its settings");
        ctx.ui.note(&format!("  {:<18} {} ({place})", k.kind.as_str(), k.label));
    }
    let flag = "KIND HANDLE (e.g. `links add official_account @yourshop`)";
    let kind = loop {
        match parse_kind(&ctx.ui.prompt("Kind", flag)?, kinds, platform) {
            Ok(k) => break k,
            Err(e) => ctx.ui.warn(&format!("{}; {}", e.message(), e.hints().join("; "))),
        }
    };
    let handle = loop {
        let h = ctx.ui.prompt("Handle (@name, or the app's name)", flag)?;
        if !h.trim().is_empty() {
            break h.trim().to_owned();
        }
    };
    Ok((kind, handle))
}

async fn add(ctx: &Ctx<'_>, args: AddArgs) -> Result<()> {
    let platform = ctx.platform()?;
    let kinds = platform.link_kinds();
    let (spec, handle) = match (&args.kind, &args.handle) {
        (Some(k), Some(h)) => (parse_kind(k, &kinds, platform.name())?, h.trim().to_owned()),
        (Some(_), None) => {
            return Err(Error::usage("links add needs the handle after the kind")
                .with_hint("e.g. `shopunlink links add official_account @yourshop`")
                .with_detail("argument", "HANDLE"));
        }
        _ if ctx.ui.is_interactive() => ask(ctx, &kinds, platform.name())?,
        _ => {
            return Err(Error::usage("links add needs KIND and HANDLE under --no-input")
                .with_hint(format!(
                    "e.g. `shopunlink links add official_account @yourshop`; kinds: {}",
                    kind_names(&declarable(&kinds))
                ))
                .with_detail("argument", "KIND"));
        }
    };
    check_handle(&handle)?;
    if args.linked_since.is_some_and(|t| t > Utc::now()) {
        return Err(Error::usage("--linked-since is in the future").with_detail("flag", "--linked-since"));
    }
    let shop = select_shop(platform.shops().await?, ctx.settings.shop_query(args.shop.as_deref()).as_deref())?;
    check_limits(&shop, &spec, &handle, platform.display_name())?;
    let declared = Declared {
        platform: platform.name().into(),
        shop_id: shop.id.clone(),
        kind: spec.kind,
        display_name: args.name.clone().unwrap_or_else(|| handle.clone()),
        handle,
        linked_since: args.linked_since,
        declared_at: Utc::now(),
        state: LinkState::Linked,
        unlinked_at: None,
    };
    store(ctx).update(|links| {
        if links.len() >= MAX_LINKS {
            return Err(Error::usage(format!("a profile can declare at most {MAX_LINKS} links")));
        }
        links
            .retain(|d| !(d.platform == declared.platform && d.shop_id == declared.shop_id && d.id() == declared.id()));
        links.push(declared.clone());
        Ok(())
    })?;
    ctx.ui.print(&format!(
        "{} declared {} ({}) on {}",
        ctx.ui.paint(Style::Green, "✓"),
        declared.handle,
        spec.label,
        shop.name
    ));
    ctx.ui.note(&format!("  disconnect it with: shopunlink disconnect {}", declared.handle));
    ctx.ui.print_json(&AddDoc { schema_version: 1, declared: declared_doc(&declared) });
    Ok(())
}

fn check_handle(handle: &str) -> Result<()> {
    let ok = !handle.is_empty() && handle.len() <= 100 && !handle.chars().any(char::is_control);
    if ok && !bare_handle(handle).is_empty() {
        Ok(())
    } else {
        Err(Error::usage(format!("{handle:?} is not a handle")).with_hint("e.g. @yourshop, or the app's name"))
    }
}

/// The platform's limits for the kind: one link per handle, and at most `max_per_shop` linked.
fn check_limits(shop: &Shop, spec: &KindSpec, handle: &str, platform: &str) -> Result<()> {
    if let Some(existing) = shop.links.iter().find(|l| l.matches(handle) && l.state != LinkState::Unlinked) {
        return Err(Error::usage(format!(
            "{} is already listed on {} as {} ({})",
            existing.handle,
            shop.name,
            words::with_article(&words::kind(existing.kind)),
            if existing.source == LinkSource::Declared { "declared" } else { "reported by the platform" }
        ))
        .with_hint("see `shopunlink status`"));
    }
    let Some(max) = spec.max_per_shop else { return Ok(()) };
    let linked = shop.links.iter().filter(|l| l.kind == spec.kind && l.state != LinkState::Unlinked).count();
    if linked as u64 >= u64::from(max) {
        let what = if max == 1 { format!("one {}", spec.label) } else { format!("at most {max} {}s", spec.label) };
        return Err(Error::usage(format!("{platform} allows {what} per shop, and {} already has {linked}", shop.name))
            .with_hint("disconnect one first (`shopunlink disconnect HANDLE`), or remove a stale declaration with `shopunlink links remove HANDLE`")
            .with_detail("limit", max));
    }
    Ok(())
}

/// A declared link as stored, with the link id `status` and `disconnect` know it by.
#[derive(Debug, Serialize, JsonSchema)]
struct DeclaredDoc<'a> {
    #[serde(flatten)]
    declared: &'a Declared,
    /// The link id: `decl-` and the bare, lowercased handle.
    id: String,
}

fn declared_doc(d: &Declared) -> DeclaredDoc<'_> {
    DeclaredDoc { declared: d, id: d.id() }
}

/// `links add --json`: the link just declared.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AddDoc<'a> {
    /// Always 1.
    schema_version: u32,
    /// The declared link.
    declared: DeclaredDoc<'a>,
}

/// `links list --json`: the links declared on the platform in use.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListDoc<'a> {
    /// Always 1.
    schema_version: u32,
    /// The platform in use.
    platform: &'a str,
    /// The declared links, in the order they were declared.
    links: Vec<DeclaredDoc<'a>>,
}

/// `links remove --json`: the declaration just forgotten (nothing was unlinked anywhere).
#[derive(Debug, Serialize, JsonSchema)]
pub struct RemoveDoc<'a> {
    /// Always 1.
    schema_version: u32,
    /// The declared link that was forgotten.
    removed: DeclaredDoc<'a>,
}

fn list(ctx: &Ctx<'_>) -> Result<()> {
    let platform = &ctx.settings.platform;
    let links: Vec<Declared> = store(ctx).load()?.into_iter().filter(|d| &d.platform == platform).collect();
    if links.is_empty() {
        ctx.ui.print("no declared links (add one with `shopunlink links add`)");
    }
    for d in &links {
        let since = d.linked_since.map_or("-".into(), |t| t.format("%Y-%m-%d").to_string());
        ctx.ui.print(&format!(
            "  {:<24} {:<18} {:<14} shop {}  since {since}",
            d.handle,
            words::kind(d.kind),
            words::state(d.state),
            d.shop_id
        ));
    }
    ctx.ui.print_json(&ListDoc { schema_version: 1, platform, links: links.iter().map(declared_doc).collect() });
    Ok(())
}

async fn remove(ctx: &Ctx<'_>, args: RemoveArgs) -> Result<()> {
    let platform = ctx.settings.platform.clone();
    let shop_id = match ctx.settings.shop_query(args.shop.as_deref()) {
        Some(q) => Some(select_shop(ctx.platform()?.shops().await?, Some(&q))?.id),
        None => None,
    };
    let removed = store(ctx).update(|links| {
        let hit = |d: &Declared| {
            d.platform == platform
                && shop_id.as_ref().is_none_or(|s| &d.shop_id == s)
                && (d.id() == args.handle || bare_handle(&d.handle) == bare_handle(&args.handle))
        };
        let matching: Vec<Declared> = links.iter().filter(|d| hit(d)).cloned().collect();
        match matching.len() {
            0 => {
                let known: Vec<_> = links.iter().filter(|d| d.platform == platform).map(|d| d.handle.clone()).collect();
                let known = if known.is_empty() { "none".into() } else { known.join(", ") };
                Err(Error::not_found(format!("no declared link {:?}", args.handle))
                    .with_hint(format!("declared links: {known}"))
                    .with_detail("link", args.handle.clone()))
            }
            1 => {
                links.retain(|d| !hit(d));
                Ok(matching.into_iter().next().expect("one"))
            }
            _ => Err(Error::usage(format!("{} is declared on several shops; say which", args.handle))
                .with_detail("flag", "--shop")),
        }
    })?;
    ctx.ui.print(&format!("{} forgot the declared link {}", ctx.ui.paint(Style::Green, "✓"), removed.handle));
    ctx.ui.print_json(&RemoveDoc { schema_version: 1, removed: declared_doc(&removed) });
    Ok(())
}
