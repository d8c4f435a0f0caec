//! Secrets and where they are kept (SPEC §7).
//!
//! Resolution, first hit wins: environment variables, then the OS keyring entry of the profile,
//! then a 0600 file under state/ (only where the keyring is unavailable and the user agreed).
//! Every store speaks [`CredentialStore`]; the platform that needs credentials gets the resolved
//! store and writes refreshed tokens back through it (the environment store refuses writes).

pub mod chain;
mod env;
pub mod file_store;
pub mod keyring_store;
mod memory;
mod secret;
pub mod slot;
pub mod totp;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

pub use chain::{Chain, ChainStore};
pub use env::EnvStore;
pub use file_store::FileStore;
pub use keyring_store::{KeyringBackend, KeyringStore};
pub use memory::MemoryStore;
pub use secret::Secret;

use crate::error::{Error, Result};

/// Where a profile's credentials come from (shown by `auth status`, never the values).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    /// `SHOPUNLINK_<PLATFORM>_*` environment variables.
    Env,
    /// The OS keyring.
    Keyring,
    /// The 0600 file fallback.
    File,
    /// In memory (tests).
    Memory,
    /// Nothing stored.
    None,
}

impl Source {
    /// The JSON name (`env`, `keyring`, `file`, `memory`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            Source::Env => "env",
            Source::Keyring => "keyring",
            Source::File => "file",
            Source::Memory => "memory",
            Source::None => "none",
        }
    }

    /// How the source is named in messages.
    pub fn describe(self) -> &'static str {
        match self {
            Source::Env => "environment variables (SHOPUNLINK_<PLATFORM>_*)",
            Source::Keyring => "the OS keyring",
            Source::File => "the 0600 credentials file",
            Source::Memory => "memory",
            Source::None => "nowhere",
        }
    }
}

static ROTATED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);

/// True once this run replaced tokens that came from the environment (which cannot be written
/// back): `--json` documents then say `"tokens_rotated": true`.
pub fn tokens_rotated() -> bool {
    ROTATED.load(std::sync::atomic::Ordering::SeqCst)
}

/// Records that the environment's tokens were replaced during this run.
pub fn note_tokens_rotated() {
    ROTATED.store(true, std::sync::atomic::Ordering::SeqCst);
}

/// Where a profile's rotated environment tokens are kept (0600) for the user to carry to their
/// CI secrets or pipe into `auth login --with-token`.
pub fn rotated_path(state_dir: &std::path::Path, profile: &str) -> std::path::PathBuf {
    state_dir.join("credentials").join(format!("{profile}.rotated-tokens"))
}

/// Everything a platform needs to call its API on the user's behalf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Credentials {
    /// The app key (not secret, but kept with the rest).
    pub app_key: String,
    /// The app secret.
    pub app_secret: Secret,
    /// The access token.
    pub access_token: Secret,
    /// The refresh token.
    pub refresh_token: Option<Secret>,
    /// When the access token expires.
    pub access_token_expires_at: Option<DateTime<Utc>>,
    /// When the refresh token expires.
    pub refresh_token_expires_at: Option<DateTime<Utc>>,
    /// Scopes the seller granted.
    #[serde(default)]
    pub scopes: Vec<String>,
    /// Seller name, as the token endpoint reported it.
    #[serde(default)]
    pub seller_name: Option<String>,
}

/// A place credentials are kept.
pub trait CredentialStore: Send + Sync + std::fmt::Debug {
    /// Which kind of store this is.
    fn source(&self) -> Source;
    /// The profile's credentials, `None` when this store has none.
    fn load(&self, profile: &str) -> Result<Option<Credentials>>;
    /// Saves (replaces) the profile's credentials.
    fn save(&self, profile: &str, credentials: &Credentials) -> Result<()>;
    /// Deletes them; `Ok(false)` when there was nothing to delete.
    fn delete(&self, profile: &str) -> Result<bool>;
}

/// Serialises credentials for a store (the only place a [`Secret`] is serialised).
pub(crate) fn encode(credentials: &Credentials) -> Result<String> {
    serde_json::to_string(credentials).map_err(|e| Error::internal("cannot encode credentials").with_source(e))
}
