//! `shopunlink sandbox reset|code|show`: drive the embedded simulated shop.

use chrono::Utc;
use clap::{Args, Subcommand};
use schemars::JsonSchema;
use serde::Serialize;

use super::economy::Params;
use super::world::World;
use crate::error::{Error, Result};
use crate::platform::{Interaction, PlatformContext};
use crate::schema::{Channel, Document};

/// The most orders a sandbox may hold: a million-order shop must work (SPEC §9); far beyond that
/// a typo would make every command crawl.
pub const MAX_ORDERS: u64 = 100_000_000;

/// Drive the embedded sandbox shop: rebuild it, read the code it "sent", or show its facts.
///
/// Examples:
///   shopunlink sandbox code                      (the code a waiting disconnect sent)
///   shopunlink sandbox show --json
///   shopunlink sandbox reset --seed 7 --orders 1000000
///   shopunlink sandbox reset --settled --open-orders 0
///   shopunlink sandbox reset --profile-totp      (second factor: your TOTP, as on TikTok)
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct SandboxArgs {
    #[command(subcommand)]
    pub command: SandboxCommand,
}

/// The sandbox subcommands.
#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Rebuild the world from a seed (links restored, codes forgotten)
    Reset(ResetArgs),
    /// Print the 6-digit code the sandbox sent to the seller for a pending disconnect
    Code,
    /// Print the world's facts: sizes, money, links
    Show,
}

/// Options for `sandbox reset`.
#[derive(Debug, Args)]
pub struct ResetArgs {
    /// Seed: the same seed and sizes always give the same records
    #[arg(long, default_value_t = Params::default().seed)]
    pub seed: u64,
    /// Orders over the year of history (at most 100,000,000)
    #[arg(long, default_value_t = Params::default().orders, value_parser = clap::value_parser!(u64).range(0..=MAX_ORDERS))]
    pub orders: u64,
    /// Product listings
    #[arg(long, default_value_t = Params::default().products, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub products: u64,
    /// How many of the newest orders still await shipment
    #[arg(long, default_value_t = Params::default().open_orders, value_parser = clap::value_parser!(u64).range(0..=MAX_ORDERS))]
    pub open_orders: u64,
    /// Pay everything out: no unsettled funds, no withdrawal in flight
    #[arg(long)]
    pub settled: bool,
    /// Send no code: the profile's TOTP (`auth totp enroll`) is the second factor, as on TikTok
    #[arg(long)]
    pub profile_totp: bool,
}

/// `sandbox code --json`: the code the sandbox "sent" for a pending disconnect (SPEC §5).
#[derive(Debug, Serialize, JsonSchema)]
pub struct CodeDoc<'a> {
    /// Always 1.
    schema_version: u32,
    /// The 6-digit code.
    code: &'a str,
    /// When it stops working.
    expires_at: chrono::DateTime<Utc>,
    /// The link whose disconnect it confirms.
    link_id: &'a str,
}

/// The documents `sandbox code|show|reset --json` print.
pub fn documents() -> Vec<Document> {
    vec![
        Document::of::<CodeDoc<'_>>("sandbox-code", "shopunlink sandbox code --json", Channel::Printed),
        Document::of::<super::Facts<'_>>("sandbox-show", "shopunlink sandbox show|reset --json", Channel::Printed),
    ]
}

/// Runs `sandbox`.
pub async fn run(args: SandboxArgs, ctx: &PlatformContext, io: &dyn Interaction) -> Result<()> {
    let path = World::path(&ctx.state_dir);
    match args.command {
        SandboxCommand::Reset(r) => {
            let params = Params {
                seed: r.seed,
                orders: r.orders,
                products: r.products,
                open_orders: r.open_orders,
                settled: r.settled,
            };
            let mut world = World::new(params, Some(Utc::now()));
            world.profile_totp = r.profile_totp;
            world.save(&path)?;
            show(io, &world);
            io.note(&format!("✓ sandbox reset (seed {})", r.seed));
            Ok(())
        }
        SandboxCommand::Code => {
            let world = World::load(&path)?;
            let challenge = world.pending_challenge(Utc::now()).ok_or_else(|| {
                Error::not_found("the sandbox has no code waiting")
                    .with_hint("start a disconnect first; the code is sent then and stays valid for 5 minutes")
            })?;
            io.print_json_value(&json(&CodeDoc {
                schema_version: 1,
                code: &challenge.code,
                expires_at: challenge.expires_at,
                link_id: &challenge.link_id,
            }));
            io.print(&challenge.code);
            Ok(())
        }
        SandboxCommand::Show => {
            show(io, &World::load(&path)?);
            Ok(())
        }
    }
}

fn show(io: &dyn Interaction, world: &World) {
    let facts = super::describe(world);
    io.print_json_value(&json(&facts));
    io.print(&format!("{}  shop {}", facts.shop.name, facts.shop.id));
    io.print(&format!("  seed             {}", facts.seed));
    io.print(&format!("  history          {} to {}", facts.history.from, facts.history.to));
    io.print(&format!("  orders           {} ({} open)", facts.orders, facts.open_orders));
    io.print(&format!("  products         {} ({} active)", facts.products, facts.active_listings));
    io.print(&format!("  statements       {} weekly, {} withdrawals", facts.statements, facts.withdrawals));
    io.print(&format!("  unsettled        {} USD", facts.unsettled.amount));
    for l in &world.links {
        io.print(&format!(
            "  link             {:<22} {:<18} {}",
            l.handle,
            crate::words::kind(l.kind),
            crate::words::state(l.state)
        ));
    }
}

/// A document as the value [`Interaction::print_json_value`] takes.
fn json(doc: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(doc).unwrap_or_default()
}
