//! The platform client trait and the registry of platforms.
//!
//! Every platform (the embedded sandbox, TikTok Shop, ...) is one module behind [`Platform`]. Adding
//! a platform means a new folder here plus one line in [`REGISTRY`]; no command changes. Nothing in
//! this module prints, prompts or reads the environment: platforms get everything they need in a
//! [`PlatformContext`] and report through `tracing` and [`crate::error::Error`].

pub mod conformance;
pub mod declared;
pub mod external;
pub mod model;
pub mod money;
pub mod sandbox;
pub mod spec;
pub mod tiktok;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;

use crate::credentials::{CredentialStore, Credentials, Secret};
use crate::error::{Error, Result};
pub use model::*;
pub use money::{Decimal, Money};
pub use spec::{CsvTable, DatasetSpec, HealthCheck, KindSpec, SettingInfo};

/// The settings a platform reads, as [`crate::settings`] captured them: the `SHOPUNLINK_*`
/// environment and the profile's section of `config.toml`. Each platform picks its own keys
/// (listed in [`Provider::settings`]), so a new platform needs no change to the settings layer.
#[derive(Debug, Clone, Default)]
pub struct PlatformSettings {
    /// Every `SHOPUNLINK_*` environment variable that was set (non-empty).
    pub env: BTreeMap<String, String>,
    /// The profile's section of `config.toml`, less the keys every platform shares.
    pub config: toml::Table,
    /// Where that file is, for messages.
    pub config_path: PathBuf,
}

impl PlatformSettings {
    /// The value of a setting: the environment variable wins over the config key.
    pub fn get(&self, info: &SettingInfo) -> Option<String> {
        let from_env = info.env.and_then(|e| self.env.get(e).cloned());
        from_env.or_else(|| {
            let v = self.config.get(info.key?)?;
            Some(v.as_str().map_or_else(|| v.to_string(), str::to_owned))
        })
    }

    /// Where a setting came from, for messages ("SHOPUNLINK_X" or "rate_limit in config.toml").
    pub fn origin(&self, info: &SettingInfo) -> String {
        match (info.env, info.key) {
            (Some(e), _) if self.env.contains_key(e) => e.to_owned(),
            (_, Some(k)) if self.config.contains_key(k) => format!("{k} in {}", self.config_path.display()),
            (Some(e), _) => e.to_owned(),
            (None, Some(k)) => k.to_owned(),
            (None, None) => "a setting".to_owned(),
        }
    }
}

/// What a platform constructor gets from the resolved settings.
#[derive(Debug, Clone)]
pub struct PlatformContext {
    /// The profile in use.
    pub profile: String,
    /// Where the tool keeps state (`$SHOPUNLINK_HOME/state`); platforms with local state use a
    /// subfolder of it.
    pub state_dir: PathBuf,
    /// The platform's settings (environment and config).
    pub settings: PlatformSettings,
    /// Where the profile's credentials come from (resolved: env, keyring or file); refreshed
    /// tokens are written back through it.
    pub credentials: Arc<dyn CredentialStore>,
}

/// What a platform's own flows (login, its subcommands) may use to talk to the user. The
/// terminal belongs to [`crate::ui`], which implements this; a platform never prints itself.
pub trait Interaction: Send + Sync {
    /// A line of the command's result (stdout; suppressed under `--json`).
    fn print(&self, text: &str);
    /// The command's JSON document (stdout, only under `--json`).
    fn print_json_value(&self, doc: &serde_json::Value);
    /// A progress note (stderr).
    fn note(&self, text: &str);
    /// A warning (stderr).
    fn warn(&self, text: &str);
    /// Asks for a line; `flag` names what a script passes instead (the `--no-input` error).
    fn prompt(&self, question: &str, flag: &str) -> Result<String>;
    /// Asks for a secret without echo.
    fn prompt_secret(&self, question: &str, flag: &str) -> Result<Secret>;
    /// Reads standard input to its end (`--with-token`).
    fn read_stdin(&self, what: &str) -> Result<String>;
}

/// How `auth login` was asked to run.
#[derive(Debug, Clone, Default)]
pub struct LoginOptions {
    /// Read what the user would paste from standard input.
    pub with_token: bool,
    /// A regional variant of the platform's authorization page, if it has several (`us`).
    pub region: Option<String>,
}

/// A platform as a whole: its description, and what works without an opened client (login,
/// doctor checks). One per platform, in [`REGISTRY`].
#[async_trait]
pub trait Provider: Send + Sync {
    /// The registry name (`--platform NAME`).
    fn name(&self) -> &'static str;
    /// What sellers call it ("TikTok Shop").
    fn display_name(&self) -> &'static str;
    /// One line for `platform list` and `--help`.
    fn about(&self) -> &'static str;
    /// The settings it reads (README, man page, config validation).
    fn settings(&self) -> Vec<SettingInfo> {
        Vec::new()
    }
    /// Checks the platform's settings (a config value of the wrong type, an out-of-range
    /// environment value), so a mistake is reported before any command runs.
    fn check_settings(&self, _settings: &PlatformSettings) -> Result<()> {
        Ok(())
    }
    /// True when it needs stored credentials (an app key and tokens).
    fn needs_credentials(&self) -> bool {
        false
    }
    /// True when disconnects are confirmed with the profile's own TOTP (the platform sends no
    /// code of its own).
    fn uses_profile_totp(&self) -> bool {
        false
    }
    /// Opens a client for the profile.
    fn open(&self, ctx: &PlatformContext) -> Result<Box<dyn Platform>>;
    /// Runs the platform's login flow; `None` when the platform needs no credentials.
    async fn login(
        &self,
        _ctx: &PlatformContext,
        _io: &dyn Interaction,
        _options: &LoginOptions,
    ) -> Result<Option<Credentials>> {
        Ok(None)
    }
    /// The platform's own `doctor` checks (hosts, clock), never sending a credential.
    async fn doctor(&self, _ctx: &PlatformContext) -> Vec<HealthCheck> {
        Vec::new()
    }
}

/// One page request: which dataset, which time window, and where to continue.
#[derive(Debug, Clone, Copy)]
pub struct PageRequest<'a> {
    /// The dataset to read.
    pub dataset: Dataset,
    /// Only records whose primary time falls in this window.
    pub range: &'a TimeRange,
    /// The cursor from the previous page, `None` for the first.
    pub cursor: Option<&'a str>,
}

/// A count request: which dataset, which time window, and whether its first page is wanted too.
#[derive(Debug, Clone, Copy)]
pub struct CensusRequest<'a> {
    /// The dataset to count.
    pub dataset: Dataset,
    /// Only records whose primary time falls in this window.
    pub range: &'a TimeRange,
    /// The window may be read from its start next: a platform that counts with a page of the
    /// window's own listing answers that page too ([`Census::page`]), which saves the export a
    /// request and a round trip per window. Off when the window may be cut further (its page
    /// would be wasted bytes).
    pub first_page: bool,
    /// The times of the range's first and last records are wanted ([`Census::first`],
    /// [`Census::last`]): the export closes an open range with them before cutting it. Without
    /// it a platform may leave them out and save a request.
    pub ends: bool,
}

/// The answer to a second-factor code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChallengeAnswer {
    /// The code was right; pass the grant to [`Platform::disconnect`].
    Accepted(Grant),
    /// The code was wrong; `remaining` more tries before the challenge is void.
    Rejected {
        /// Tries left on this challenge.
        remaining: u32,
    },
}

/// A social-commerce platform, as the commands see it.
#[async_trait]
pub trait Platform: Send + Sync {
    /// The registry name (`sandbox`, `tiktok`).
    fn name(&self) -> &'static str;

    /// Every shop this profile can see, with its links (linked and recently unlinked).
    async fn shops(&self) -> Result<Vec<Shop>>;

    /// Every shop this profile can see, for work that needs the shops but not their links (an
    /// export): a platform whose links take extra round trips to find skips them here. The
    /// default is [`Platform::shops`].
    async fn shop_list(&self) -> Result<Vec<Shop>> {
        self.shops().await
    }

    /// Money, orders and listings that stand in the way of a safe disconnect.
    async fn readiness(&self, shop: &Shop) -> Result<Readiness>;

    /// What sellers call the platform ("TikTok Shop"), for plans and support letters.
    fn display_name(&self) -> &'static str;

    /// The datasets this platform can export, in export order, with their CSV tables.
    fn datasets(&self) -> Vec<DatasetSpec>;

    /// The kinds of link this platform knows, with its rules for each.
    fn link_kinds(&self) -> Vec<KindSpec>;

    /// How many records of a dataset fall in a range, from one request, so the export can cut the
    /// range into windows of about equal size and read them side by side: one cursor fetches a
    /// page per round trip, so at a real round trip a single cursor cannot use the rate limit.
    /// `None` (the default): the platform cannot count this dataset cheaply, and it is read
    /// through one cursor. The windows are chosen once and kept, so a resume reads the same ones.
    async fn census(&self, _shop: &Shop, _request: CensusRequest<'_>) -> Result<Option<Census>> {
        Ok(None)
    }

    /// The requests per second the platform allows per API (its documented rate limit), which
    /// with the round trip sets how many cursors an export reads side by side; `None`: no limit.
    fn rate_limit(&self) -> Option<u32> {
        None
    }

    /// Whether any of the shop's records was created or updated at or after `since` (an export's
    /// start), for a platform that cannot stamp [`Shop::data_changed_at`]; the disconnect
    /// preflight then knows an older export misses something. `None`: the platform cannot tell.
    async fn changed_since(&self, _shop: &Shop, _since: chrono::DateTime<chrono::Utc>) -> Result<Option<bool>> {
        Ok(None)
    }

    /// One page of a dataset. Pages are deterministic for the same shop state, range and cursor,
    /// so an interrupted export can resume from a saved cursor.
    async fn page(&self, shop: &Shop, request: PageRequest<'_>) -> Result<Page>;

    /// Starts (or re-uses a still-valid) platform challenge for disconnecting `link`; `None` when
    /// the platform has no challenge of its own and the profile's TOTP is the second factor.
    async fn start_challenge(&self, shop: &Shop, link: &Link) -> Result<Option<Challenge>>;

    /// Checks a code against a challenge from [`Platform::start_challenge`].
    async fn answer_challenge(&self, challenge: &Challenge, code: &Secret) -> Result<ChallengeAnswer>;

    /// Cuts the link. Must be safe to call again after a crash: a link that is already gone is
    /// not an error.
    async fn disconnect(&self, shop: &Shop, link: &Link, grant: &Grant) -> Result<DisconnectOutcome>;

    /// The owner says they did the guided step in the platform's own UI (`--owner-done`); a
    /// platform that cannot see the link records it. Platforms that can see it need do nothing.
    async fn owner_confirmed(&self, _shop: &Shop, _link: &Link) -> Result<()> {
        Ok(())
    }

    /// Downloads a picture a record names (a product image), at most `cap` bytes. The default is a
    /// plain HTTP download under the API's safety rules and with no credential attached; a
    /// platform that keeps its pictures elsewhere (the sandbox makes them) says so here. `Err`
    /// says why in words the manifest records.
    async fn fetch_media(&self, url: &str, cap: u64) -> std::result::Result<crate::net::media::Media, String> {
        crate::net::media::fetch(url, cap).await
    }

    /// For `support` links: the platform-specific part of a ready-to-send support request (who to
    /// contact, what they ask for). For `guided` links: the steps the owner must take.
    fn manual_steps(&self, shop: &Shop, link: &Link) -> Vec<String>;

    /// True for a simulation with no real seller behind it (the sandbox, the example plugin):
    /// `platform check` may then cut its links, in a temporary state directory.
    fn is_simulated(&self) -> bool {
        false
    }

    /// The code a simulated platform "sent" for `challenge`, so `platform check` can pass the
    /// second factor unattended. Real platforms keep the default: nobody but the seller sees it.
    async fn simulated_code(&self, _challenge: &Challenge) -> Result<Option<String>> {
        Ok(None)
    }
}

/// The platform used when none is configured.
pub const DEFAULT: &str = "sandbox";

/// Every built-in platform. Adding a platform is a folder here plus one line in this list.
pub static REGISTRY: &[&dyn Provider] = &[&sandbox::PROVIDER, &tiktok::PROVIDER];

/// The names of every registered platform.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|p| p.name()).collect()
}

/// The platform called `name`.
pub fn provider(name: &str) -> Result<&'static dyn Provider> {
    REGISTRY.iter().copied().find(|p| p.name() == name).ok_or_else(|| {
        Error::usage(format!("unknown platform {name:?}"))
            .with_hint(format!("known platforms: {}", names().join(", ")))
            .with_detail("flag", "--platform")
    })
}

/// Builds a client for the platform called `name`, with the seller's declared links merged into
/// its shops.
pub fn open(name: &str, ctx: &PlatformContext) -> Result<Box<dyn Platform>> {
    let inner = match provider(name) {
        Ok(provider) => provider.open(ctx)?,
        Err(unknown) => external::open(name, ctx, unknown)?,
    };
    Ok(Box::new(declared::WithDeclared::new(inner, ctx)))
}

/// The subcommands a platform adds to the CLI (`shopunlink sandbox ...`).
#[derive(Debug, clap::Subcommand)]
pub enum PlatformCommand {
    Sandbox(sandbox::cli::SandboxArgs),
}

/// The JSON documents the platforms' own subcommands print (`docs/schema/`).
pub fn command_documents() -> Vec<crate::schema::Document> {
    sandbox::cli::documents()
}

/// Runs a platform's own subcommand.
pub async fn run_command(command: PlatformCommand, ctx: &PlatformContext, io: &dyn Interaction) -> Result<()> {
    match command {
        PlatformCommand::Sandbox(args) => sandbox::cli::run(args, ctx, io).await,
    }
}
