//! The platform client trait and the registry of platforms.
//!
//! Every platform (the embedded sandbox, TikTok Shop, ...) is one module behind [`Platform`]. Adding
//! a platform means a new folder here plus one line in [`REGISTRY`]; no command changes. Nothing in
//! this module prints, prompts or reads the environment: platforms get everything they need in a
//! [`PlatformContext`] and report through `tracing` and [`crate::error::Error`].

pub mod external;
pub mod model;
pub mod money;
pub mod sandbox;
pub mod tiktok;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;

use crate::credentials::{CredentialStore, Secret};
use crate::error::{Error, Result};
use crate::settings::TiktokSettings;
pub use model::*;
pub use money::{Decimal, Money};

/// What a platform constructor gets from the resolved settings.
#[derive(Debug, Clone)]
pub struct PlatformContext {
    /// The profile in use.
    pub profile: String,
    /// Where the tool keeps state (`$SHOPUNLINK_HOME/state`); platforms with local state use a
    /// subfolder of it.
    pub state_dir: PathBuf,
    /// Settings of the `tiktok` platform.
    pub tiktok: TiktokSettings,
    /// Where the profile's credentials come from (resolved: env, keyring or file); refreshed
    /// tokens are written back through it.
    pub credentials: Arc<dyn CredentialStore>,
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

    /// Money, orders and listings that stand in the way of a safe disconnect.
    async fn readiness(&self, shop: &Shop) -> Result<Readiness>;

    /// The datasets this platform can export, in export order.
    fn datasets(&self) -> Vec<Dataset>;

    /// The time windows `dataset` may be read in side by side, oldest first; the export writes them
    /// one after the other, so the file's order stays fixed. Together they are exactly `range`,
    /// without overlap; `now` anchors windows of an open-ended range (the export keeps the
    /// windows it chose, so a resume reads the same ones). One window (the default) reads the
    /// dataset through a single cursor, whose round trips then set the pace.
    fn windows(&self, _dataset: Dataset, range: &TimeRange, _now: chrono::DateTime<chrono::Utc>) -> Vec<TimeRange> {
        vec![*range]
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

    /// For `support` links: the platform-specific part of a ready-to-send support request (who to
    /// contact, what they ask for). For `guided` links: the steps the owner must take.
    fn manual_steps(&self, shop: &Shop, link: &Link) -> Vec<String>;
}

/// A platform constructor.
pub type Constructor = fn(&PlatformContext) -> Result<Box<dyn Platform>>;

/// Every platform by name. Adding a platform is one line here.
pub const REGISTRY: &[(&str, Constructor)] = &[("sandbox", sandbox::Sandbox::open), ("tiktok", tiktok::Tiktok::open)];

/// The names of every registered platform.
pub fn names() -> Vec<&'static str> {
    REGISTRY.iter().map(|(n, _)| *n).collect()
}

/// Builds the platform called `name`.
pub fn open(name: &str, ctx: &PlatformContext) -> Result<Box<dyn Platform>> {
    let (_, constructor) = REGISTRY.iter().find(|(n, _)| *n == name).ok_or_else(|| {
        Error::usage(format!("unknown platform {name:?}")).with_hint(format!("known platforms: {}", names().join(", ")))
    })?;
    constructor(ctx)
}
