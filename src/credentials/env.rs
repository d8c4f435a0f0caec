//! Credentials from `SHOPUNLINK_TIKTOK_*` environment variables (CI). Read-only: a refreshed
//! token cannot be written back to the environment, so it lives only for this run.

use super::{CredentialStore, Credentials, Secret, Source};
use crate::error::{Error, Result};

/// The environment variables, as [`crate::settings::Settings`] captured them.
#[derive(Debug, Clone, Default)]
pub struct EnvStore {
    /// `SHOPUNLINK_TIKTOK_APP_KEY`.
    pub app_key: Option<String>,
    /// `SHOPUNLINK_TIKTOK_APP_SECRET`.
    pub app_secret: Option<Secret>,
    /// `SHOPUNLINK_TIKTOK_ACCESS_TOKEN`.
    pub access_token: Option<Secret>,
    /// `SHOPUNLINK_TIKTOK_REFRESH_TOKEN`.
    pub refresh_token: Option<Secret>,
}

impl EnvStore {
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
        let missing = |name: &str| {
            Error::auth(format!("{name} is not set, but other SHOPUNLINK_TIKTOK_* variables are"))
                .with_hint("set SHOPUNLINK_TIKTOK_APP_KEY, _APP_SECRET and _ACCESS_TOKEN together")
        };
        Ok(Some(Credentials {
            app_key: self.app_key.clone().ok_or_else(|| missing("SHOPUNLINK_TIKTOK_APP_KEY"))?,
            app_secret: self.app_secret.clone().ok_or_else(|| missing("SHOPUNLINK_TIKTOK_APP_SECRET"))?,
            access_token: self.access_token.clone().ok_or_else(|| missing("SHOPUNLINK_TIKTOK_ACCESS_TOKEN"))?,
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
        Err(Error::usage("the credentials come from SHOPUNLINK_TIKTOK_* environment variables")
            .with_hint("unset them in your shell or CI secrets; shopunlink cannot remove them"))
    }
}
