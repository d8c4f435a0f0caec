//! Credentials from `SHOPUNLINK_<PLATFORM>_*` environment variables (CI). Read-only: a refreshed
//! token cannot be written back to the environment, so it lives only for this run.
//!
//! The variable names follow from the platform's name (`SHOPUNLINK_<NAME>_APP_KEY`, `_APP_SECRET`,
//! `_ACCESS_TOKEN`, `_REFRESH_TOKEN`), so every platform, built in or plugged in, gets the same
//! CI story without a line here.

use std::collections::BTreeMap;

use super::{CredentialStore, Credentials, Secret, Source};
use crate::error::{Error, Result};

/// The environment variables, as [`crate::settings::Settings`] captured them.
#[derive(Debug, Clone, Default)]
pub struct EnvStore {
    /// The common prefix, `SHOPUNLINK_<NAME>_`.
    pub prefix: String,
    /// `<prefix>APP_KEY`.
    pub app_key: Option<String>,
    /// `<prefix>APP_SECRET`.
    pub app_secret: Option<Secret>,
    /// `<prefix>ACCESS_TOKEN`.
    pub access_token: Option<Secret>,
    /// `<prefix>REFRESH_TOKEN`.
    pub refresh_token: Option<Secret>,
}

/// The prefix of a platform's variables: `SHOPUNLINK_` and its name in capitals.
pub fn prefix(platform: &str) -> String {
    format!("SHOPUNLINK_{}_", platform.to_uppercase().replace('-', "_"))
}

impl EnvStore {
    /// The store for `platform` from the captured environment.
    pub fn for_platform(platform: &str, env: &BTreeMap<String, String>) -> EnvStore {
        let prefix = prefix(platform);
        let get = |field: &str| env.get(&format!("{prefix}{field}")).cloned();
        EnvStore {
            app_key: get("APP_KEY"),
            app_secret: get("APP_SECRET").map(Secret::new),
            access_token: get("ACCESS_TOKEN").map(Secret::new),
            refresh_token: get("REFRESH_TOKEN").map(Secret::new),
            prefix,
        }
    }

    /// The variable holding `field` (`ACCESS_TOKEN`).
    pub fn var(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    /// `SHOPUNLINK_<NAME>_*`, for messages.
    pub fn pattern(&self) -> String {
        format!("{}*", self.prefix)
    }

    /// True when a token variable is set: then the environment is the credential source and
    /// wins over the keyring and the file. The app key and secret alone are not credentials:
    /// `auth login` reads them from the environment so a script never passes them as flags, and
    /// the tokens it gets are then stored as usual.
    pub fn is_set(&self) -> bool {
        self.access_token.is_some() || self.refresh_token.is_some()
    }
}

impl CredentialStore for EnvStore {
    fn source(&self) -> Source {
        Source::Env
    }

    fn load(&self, _profile: &str) -> Result<Option<Credentials>> {
        if !self.is_set() {
            return Ok(None);
        }
        let missing = |field: &str| {
            Error::auth(format!("{} is not set, but other {} variables are", self.var(field), self.pattern()))
                .with_hint(format!("set {}, _APP_SECRET and _ACCESS_TOKEN together", self.var("APP_KEY")))
        };
        Ok(Some(Credentials {
            app_key: self.app_key.clone().ok_or_else(|| missing("APP_KEY"))?,
            app_secret: self.app_secret.clone().ok_or_else(|| missing("APP_SECRET"))?,
            access_token: self.access_token.clone().ok_or_else(|| missing("ACCESS_TOKEN"))?,
            refresh_token: self.refresh_token.clone(),
            access_token_expires_at: None,
            refresh_token_expires_at: None,
            scopes: Vec::new(),
            seller_name: None,
        }))
    }

    fn save(&self, _profile: &str, _credentials: &Credentials) -> Result<()> {
        // Refreshed tokens are not written back to the environment (SPEC §7); the caller keeps
        // them in memory for the rest of the run.
        Ok(())
    }

    fn delete(&self, _profile: &str) -> Result<bool> {
        Err(Error::usage(format!("the credentials come from {} environment variables", self.pattern()))
            .with_hint("unset them in your shell or CI secrets; shopunlink cannot remove them"))
    }
}
