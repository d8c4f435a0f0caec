//! `shopunlink sandbox reset|code|show`: drive the embedded simulated shop.

use chrono::Utc;
use clap::{Args, Subcommand};

use super::Ctx;
use crate::error::{Error, Result};
use crate::platform::sandbox::economy::Params;
use crate::platform::sandbox::world::World;
use crate::platform::sandbox::{self};
use crate::ui::Style;

/// Drive the embedded sandbox shop: rebuild it, read the code it "sent", or show its facts.
///
/// Examples:
///   shopunlink sandbox reset --seed 7 --orders 1000000
///   shopunlink sandbox reset --settled --open-orders 0
///   shopunlink sandbox reset --profile-totp      (second factor: your TOTP, as on TikTok)
///   shopunlink sandbox code
///   shopunlink sandbox show --json
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
    /// Orders over the year of history
    #[arg(long, default_value_t = Params::default().orders)]
    pub orders: u64,
    /// Product listings
    #[arg(long, default_value_t = Params::default().products, value_parser = clap::value_parser!(u64).range(1..=10_000_000))]
    pub products: u64,
    /// How many of the newest orders still await shipment
    #[arg(long, default_value_t = Params::default().open_orders)]
    pub open_orders: u64,
    /// Pay everything out: no unsettled funds, no withdrawal in flight
    #[arg(long)]
    pub settled: bool,
    /// Send no code: the profile's TOTP (`auth totp enroll`) is the second factor, as on TikTok
    #[arg(long)]
    pub profile_totp: bool,
}

/// Runs `sandbox`.
pub async fn run(ctx: &Ctx<'_>, args: SandboxArgs) -> Result<()> {
    let path = World::path(&ctx.settings.state_dir);
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
            show(ctx, &world);
            ctx.ui.note(&format!("{} sandbox reset (seed {})", ctx.ui.paint_err(Style::Green, "✓"), r.seed));
            Ok(())
        }
        SandboxCommand::Code => {
            let world = World::load(&path)?;
            let challenge = world.pending_challenge(Utc::now()).ok_or_else(|| {
                Error::not_found("the sandbox has no code waiting")
                    .with_hint("start a disconnect first; the code is sent then and stays valid for 5 minutes")
            })?;
            if ctx.ui.is_json() {
                ctx.ui.print_json(&serde_json::json!({
                    "schema_version": 1, "code": challenge.code, "expires_at": challenge.expires_at,
                    "link_id": challenge.link_id,
                }));
            } else {
                ctx.ui.print_raw(&format!("{}\n", challenge.code));
            }
            Ok(())
        }
        SandboxCommand::Show => {
            show(ctx, &World::load(&path)?);
            Ok(())
        }
    }
}

fn show(ctx: &Ctx<'_>, world: &World) {
    let mut facts = sandbox::describe(world);
    if ctx.ui.is_json() {
        facts["schema_version"] = 1.into();
        ctx.ui.print_json(&facts);
        return;
    }
    let f = |k: &str| facts[k].to_string().trim_matches('"').to_owned();
    ctx.ui.print(&format!(
        "{}  shop {}",
        ctx.ui.paint(Style::Bold, "Demo Crafts Co."),
        facts["shop"]["id"].as_str().unwrap_or("")
    ));
    ctx.ui.print(&format!("  seed             {}", f("seed")));
    ctx.ui.print(&format!(
        "  history          {} to {}",
        facts["history"]["from"].as_str().unwrap_or(""),
        facts["history"]["to"].as_str().unwrap_or("")
    ));
    ctx.ui.print(&format!("  orders           {} ({} open)", f("orders"), f("open_orders")));
    ctx.ui.print(&format!("  products         {} ({} active)", f("products"), f("active_listings")));
    ctx.ui.print(&format!("  statements       {} weekly, {} withdrawals", f("statements"), f("withdrawals")));
    ctx.ui.print(&format!("  unsettled        {} USD", facts["unsettled"]["amount"].as_str().unwrap_or("0")));
    for l in &world.links {
        ctx.ui.print(&format!("  link             {:<22} {:<18} {:?}", l.handle, l.kind.as_str(), l.state));
    }
}
