//! The profile's tokens for the life of one run, shared by every concurrent request.
//!
//! An expired access token (105002) is refreshed once through the auth host. Export datasets run
//! concurrently, so several requests can see the expiry at the same moment; the tokens sit behind
//! one async mutex with a generation counter, and a request asks for a refresh *of the generation
//! it used*. The first one in refreshes; the others find the generation already moved on and just
//! retry with the new token, so the refresh token is spent exactly once (TikTok rotates it: a
//! second refresh with the old one would fail and log the user out).
//!
//! Across processes (two CI jobs, a cron export and a `status`) the same guarantee comes from a
//! file lock under state: the refresher takes it, then re-reads the stored tokens, and uses the
//! ones another process stored while it waited instead of spending a refresh token that process
//! has already spent.
//!
//! Refreshed tokens are written back to the store they came from (the environment store ignores
//! the write, as SPEC §7 says). After a disconnect the stored tokens are forgotten but the
//! in-memory copy stays, so `--wait` can keep asking the platform until it answers 105001.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Mutex;

use super::settings::TiktokSettings;
use super::token;
use crate::credentials::Source;
use crate::credentials::{CredentialStore, Credentials, Secret};
use crate::error::{Error, Result};
use crate::lock::Lock;

/// What one request needs from the tokens; `generation` names the tokens it used.
#[derive(Debug, Clone)]
pub struct Token {
    /// The app key.
    pub app_key: String,
    /// The app secret (signs the request, never sent).
    pub app_secret: Secret,
    /// The access token (sent in `x-tts-access-token`).
    pub access_token: Secret,
    /// Which refresh of the tokens this is.
    pub generation: u64,
}

#[derive(Debug)]
struct State {
    credentials: Option<Credentials>,
    generation: u64,
}

/// The tokens of one profile.
#[derive(Debug)]
pub struct Session {
    profile: String,
    settings: TiktokSettings,
    store: Arc<dyn CredentialStore>,
    state: Mutex<State>,
    forgotten: AtomicBool,
    /// This run disconnected a shop: from now on a 105001 means the owner finished the job.
    disconnected: AtomicBool,
    /// The lock file that serialises refreshes of this profile across processes.
    refresh_lock: Option<PathBuf>,
    /// Where rotated environment tokens are kept (under the state directory).
    rotated_file: Option<PathBuf>,
}

/// The hint for every "log in again" situation.
pub const LOGIN_HINT: &str = "run `shopunlink auth login --platform tiktok`";

impl Session {
    /// A session over credentials already loaded from `store` (`None`: nothing stored).
    pub fn new(
        profile: &str,
        settings: TiktokSettings,
        store: Arc<dyn CredentialStore>,
        credentials: Option<Credentials>,
    ) -> Session {
        Session {
            profile: profile.to_owned(),
            settings,
            store,
            state: Mutex::new(State { credentials, generation: 0 }),
            forgotten: AtomicBool::new(false),
            disconnected: AtomicBool::new(false),
            refresh_lock: None,
            rotated_file: None,
        }
    }

    /// Serialises token refreshes with other processes through a lock file under `state_dir`.
    pub fn with_state_dir(mut self, state_dir: &Path) -> Session {
        let name: String =
            self.profile.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
        self.refresh_lock = Some(state_dir.join("locks").join(format!("tiktok-refresh-{name}.lock")));
        self.rotated_file = Some(crate::credentials::rotated_path(state_dir, &self.profile));
        self
    }

    /// Tokens from the environment were just replaced: the old refresh token may stop working,
    /// and the environment cannot be written. Keep the new pair in a 0600 file, say where, and
    /// mark the run so `--json` says `tokens_rotated`.
    fn keep_rotated(&self, fresh: &Credentials) {
        crate::credentials::note_tokens_rotated();
        let Some(path) = &self.rotated_file else { return };
        let pair = serde_json::json!({
            "access_token": fresh.access_token.expose(),
            "refresh_token": fresh.refresh_token.as_ref().map(|t| t.expose()),
            "access_token_expires_at": fresh.access_token_expires_at,
            "refresh_token_expires_at": fresh.refresh_token_expires_at,
        });
        let saved = path
            .parent()
            .map_or(Ok(()), crate::fsutil::create_private_dir)
            .and_then(|()| crate::fsutil::write_atomic(path, pair.to_string().as_bytes()));
        match saved {
            Ok(()) => tracing::warn!(
                "TikTok replaced the tokens given in SHOPUNLINK_TIKTOK_ACCESS_TOKEN/_REFRESH_TOKEN; the old refresh \
                 token may no longer work. The new pair is in {} (0600): update the CI secrets from it, or pipe it \
                 into `shopunlink auth login --platform tiktok --with-token` to store it",
                path.display()
            ),
            Err(e) => tracing::warn!(
                "TikTok replaced the tokens given in the environment, and the new pair could not be kept ({e}); \
                 log in again after this run"
            ),
        }
    }

    /// The error for a profile without credentials.
    pub fn missing(&self) -> Error {
        Error::auth(format!("no TikTok credentials for profile {}", self.profile))
            .with_hint(LOGIN_HINT)
            .with_hint("or set SHOPUNLINK_TIKTOK_APP_KEY, _APP_SECRET, _ACCESS_TOKEN (and _REFRESH_TOKEN) in CI")
            .with_detail("reason", crate::error::NO_CREDENTIALS)
    }

    /// True when credentials are loaded.
    pub async fn has_credentials(&self) -> bool {
        self.state.lock().await.credentials.is_some()
    }

    /// The current token, or the auth error when there is none.
    pub async fn current(&self) -> Result<Token> {
        let state = self.state.lock().await;
        let c = state.credentials.as_ref().ok_or_else(|| self.missing())?;
        Ok(Token {
            app_key: c.app_key.clone(),
            app_secret: c.app_secret.clone(),
            access_token: c.access_token.clone(),
            generation: state.generation,
        })
    }

    /// The app key, when credentials are loaded (not a secret: it names the app).
    pub async fn app_key(&self) -> Option<String> {
        self.state.lock().await.credentials.as_ref().map(|c| c.app_key.clone())
    }

    /// The scopes the seller granted, as stored at login or the last refresh.
    pub async fn scopes(&self) -> Vec<String> {
        self.state.lock().await.credentials.as_ref().map(|c| c.scopes.clone()).unwrap_or_default()
    }

    /// Refreshes the tokens unless someone already replaced generation `seen`.
    pub async fn refresh(&self, seen: u64) -> Result<()> {
        let mut state = self.state.lock().await;
        if state.generation != seen {
            tracing::debug!(generation = state.generation, "access token already refreshed by another request");
            return Ok(());
        }
        let _lock = match &self.refresh_lock {
            Some(path) => Some(Lock::take_async(path, "another shopunlink process to refresh the TikTok token").await?),
            None => None,
        };
        if let Some(stored) = self.refreshed_elsewhere(state.credentials.as_ref()) {
            tracing::info!("another shopunlink process refreshed the TikTok token; using the tokens it stored");
            state.credentials = Some(stored);
            state.generation += 1;
            return Ok(());
        }
        let current = state.credentials.as_ref().ok_or_else(|| self.missing())?;
        let Some(refresh_token) = current.refresh_token.clone() else {
            return Err(
                Error::auth("the TikTok access token has expired and there is no refresh token").with_hint(LOGIN_HINT)
            );
        };
        tracing::info!("the TikTok access token has expired; refreshing it");
        let mut fresh = token::refresh(&self.settings, &current.app_key, &current.app_secret, &refresh_token)
            .await
            .map_err(|e| e.context("the TikTok access token has expired and could not be refreshed"))?;
        if fresh.scopes.is_empty() {
            fresh.scopes = current.scopes.clone();
        }
        let rotated = self.store.source() == Source::Env
            && fresh.refresh_token.as_ref().is_some_and(|t| t.expose() != refresh_token.expose());
        if fresh.refresh_token.is_none() {
            fresh.refresh_token = Some(refresh_token);
        }
        if fresh.seller_name.is_none() {
            fresh.seller_name = current.seller_name.clone();
        }
        if rotated {
            self.keep_rotated(&fresh);
        }
        // Tokens forgotten by a disconnect stay forgotten: the new ones live in memory only.
        if !self.forgotten.load(Ordering::SeqCst)
            && let Err(e) = self.store.save(&self.profile, &fresh)
        {
            tracing::warn!("the refreshed TikTok token could not be saved ({e}); it is used for this run only");
        }
        state.credentials = Some(fresh);
        state.generation += 1;
        Ok(())
    }

    /// The stored tokens, if another process replaced ours since we loaded them (read inside the
    /// refresh lock). The environment never changes under us, so it is not re-read.
    fn refreshed_elsewhere(&self, current: Option<&Credentials>) -> Option<Credentials> {
        if self.refresh_lock.is_none() || self.forgotten.load(Ordering::SeqCst) || self.store.source() == Source::Env {
            return None;
        }
        let stored = self.store.load(&self.profile).ok().flatten()?;
        let current = current?;
        let rotated = stored.access_token != current.access_token && stored.refresh_token != current.refresh_token;
        rotated.then_some(stored)
    }

    /// Deletes the stored tokens (the in-memory copy stays for `--wait`) and says what happened.
    pub fn forget(&self) -> String {
        self.forgotten.store(true, Ordering::SeqCst);
        self.disconnected.store(true, Ordering::SeqCst);
        let source = self.store.source();
        match self.store.delete(&self.profile) {
            Ok(true) => format!("deleted the stored TikTok tokens of profile {} ({})", self.profile, source.describe()),
            Ok(false) => format!("profile {} had no stored TikTok tokens to delete", self.profile),
            Err(e) => format!(
                "the TikTok tokens of profile {} were not deleted: {e}; remove them from where they are set",
                self.profile
            ),
        }
    }

    /// Records that this run disconnected a shop while keeping the stored tokens (they still
    /// serve the seller's other shops).
    pub fn mark_disconnected(&self) {
        self.disconnected.store(true, Ordering::SeqCst);
    }

    /// True after [`Session::forget`] or [`Session::mark_disconnected`].
    pub fn is_disconnected(&self) -> bool {
        self.disconnected.load(Ordering::SeqCst)
    }

    /// True after [`Session::forget`].
    pub fn is_forgotten(&self) -> bool {
        self.forgotten.load(Ordering::SeqCst)
    }
}
