//! One file per subcommand: its `Args` (whose doc comment is the `--help` text) and its `run`.

pub mod all_shops;
pub mod auth;
pub mod completions;
pub mod disconnect;
pub mod doctor;
pub mod export;
pub mod links;
pub mod man;
pub mod platforms;
pub mod receipts;
pub mod status;
pub mod verify;
pub mod walkthrough;

use std::sync::Arc;

use crate::cli::Command;
use crate::credentials::{Chain, ChainStore, CredentialStore};
use crate::error::{Error, Result};
use crate::platform::{self, Platform, PlatformContext, Shop};
use crate::settings::Settings;
use crate::ui::Ui;

/// What every command gets: the resolved settings and the output handle.
#[derive(Debug, Clone, Copy)]
pub struct Ctx<'a> {
    /// Flags, environment and config, resolved.
    pub settings: &'a Settings,
    /// The only way to print or prompt.
    pub ui: &'a Ui,
}

impl Ctx<'_> {
    /// Opens the platform chosen by `--platform` / env / config.
    pub fn platform(&self) -> Result<Box<dyn Platform>> {
        platform::open(&self.settings.platform, &self.platform_context())
    }

    /// What a platform constructor needs from the settings.
    pub fn platform_context(&self) -> PlatformContext {
        PlatformContext {
            profile: self.settings.profile.clone(),
            state_dir: self.settings.state_dir.clone(),
            settings: self.settings.platform_settings.clone(),
            credentials: self.credential_store(),
        }
    }

    /// The profile's credential store: environment, else OS keyring, else the 0600 file
    /// (SPEC §7), resolved on first use so commands that need no secret never touch the keyring.
    pub fn credential_store(&self) -> Arc<dyn CredentialStore> {
        Arc::new(ChainStore::new(self.credential_chain()))
    }

    /// The three places the profile's secrets can be, for commands that manage them.
    pub fn credential_chain(&self) -> Chain {
        Chain::from_settings(self.settings)
    }
}

/// Runs one subcommand; with none, the walk-through at a terminal and the usage elsewhere.
pub async fn dispatch(ctx: &Ctx<'_>, command: Option<Command>) -> Result<()> {
    let Some(command) = command else {
        if ctx.ui.is_interactive() && !ctx.ui.is_json() {
            return walkthrough::run(ctx).await;
        }
        // Scripts keep the plain commands: the usage, on stderr, and exit 2 (as clap's own).
        if !ctx.ui.is_json() {
            ctx.ui.print_usage(&crate::cli::usage());
        }
        return Err(Error::usage("a subcommand is required").with_hint("see `shopunlink --help`"));
    };
    match command {
        Command::Status(args) => status::run(ctx, args).await,
        Command::Export(args) => export::run(ctx, args).await,
        Command::Verify(args) => verify::run(ctx, args).await,
        Command::Disconnect(args) => disconnect::run(ctx, args).await,
        Command::Links(args) => links::run(ctx, args).await,
        Command::Receipts(args) => receipts::run(ctx, args).await,
        Command::Platforms(args) => platforms::run(ctx, args).await,
        Command::Platform(command) => platform::run_command(command, &ctx.platform_context(), ctx.ui).await,
        Command::Completions(args) => completions::run(ctx, args),
        Command::Auth(args) => auth::run(ctx, args).await,
        Command::Doctor(args) => doctor::run(ctx, args).await,
        Command::Man(args) => man::run(ctx, args),
    }
}

/// Picks the shop named by `query`, or the only shop when there is one.
pub fn select_shop(shops: Vec<Shop>, query: Option<&str>) -> Result<Shop> {
    let known = || shops.iter().map(|s| format!("{} ({})", s.name, s.id)).collect::<Vec<_>>().join(", ");
    match query {
        Some(q) => {
            let listing = known();
            shops.into_iter().find(|s| s.matches(q)).ok_or_else(|| {
                Error::not_found(format!("no shop {q:?} on this profile")).with_hint(format!("known shops: {listing}"))
            })
        }
        None if shops.len() == 1 => Ok(shops.into_iter().next().expect("one shop")),
        None if shops.is_empty() => Err(Error::not_found("this profile can see no shops")
            .with_hint("authorise a shop with `shopunlink auth login`, or check `--platform`")),
        None => Err(Error::usage("this profile has several shops; say which one")
            .with_hint(format!("pass --shop with one of: {}", known()))
            .with_detail("flag", "--shop")),
    }
}
