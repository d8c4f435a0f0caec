//! The resolution chain of SPEC §7: environment → OS keyring → 0600 file, first hit wins.
//!
//! [`Chain`] knows the three places for one profile; [`ChainStore`] is what commands and
//! platforms get. It resolves lazily, on the first `load`/`save`, so commands that never need a
//! secret (everything on the sandbox) never touch the keyring and can never wait on it.
//! Refreshed tokens are saved back to the store they were read from.

use std::sync::{Arc, OnceLock};

use super::file_store::FileStore;
use super::keyring_store::{Failure, KeyringBackend, KeyringStore};
use super::slot::Slot;
use super::{CredentialStore, Credentials, EnvStore, Source};
use crate::error::{Error, Result};
use crate::settings::{KeyringChoice, Settings};

/// The three places one profile's secrets can be.
#[derive(Debug, Clone)]
pub struct Chain {
    profile: String,
    env: EnvStore,
    keyring: KeyringStore,
    file: FileStore,
}

/// Where the profile's credentials were found.
#[derive(Debug, Clone)]
pub struct Located {
    /// The store to read from and write refreshed tokens back to.
    pub store: Arc<dyn CredentialStore>,
    /// Where they were found (`None`: nowhere; `store` is then where a login would go).
    pub found: Source,
    /// Why a place was skipped (an unreachable keyring), for the user.
    pub notes: Vec<String>,
}

/// Where a write went, and the warning to show when it was not the keyring.
#[derive(Debug, Clone)]
pub struct Written {
    /// Keyring or file.
    pub source: Source,
    /// Set when the keyring was unreachable and the file was used without `--insecure-storage`.
    pub warning: Option<String>,
}

impl Chain {
    /// The chain for `profile` over explicit stores.
    pub fn new(profile: &str, env: EnvStore, keyring: KeyringStore, file: FileStore) -> Chain {
        Chain { profile: profile.to_owned(), env, keyring, file }
    }

    /// The chain the settings describe (profile, env variables, `SHOPUNLINK_KEYRING`, state dir).
    pub fn from_settings(settings: &Settings) -> Chain {
        let backend = match settings.keyring {
            KeyringChoice::Os => KeyringBackend::Os,
            KeyringChoice::Disabled => KeyringBackend::Disabled,
        };
        Chain::new(
            &settings.profile,
            settings.env_credentials.clone(),
            KeyringStore::new(backend),
            FileStore::new(&settings.state_dir),
        )
    }

    /// The profile.
    pub fn profile(&self) -> &str {
        &self.profile
    }

    /// The environment layer.
    pub fn env(&self) -> &EnvStore {
        &self.env
    }

    /// The keyring layer.
    pub fn keyring(&self) -> &KeyringStore {
        &self.keyring
    }

    /// The file layer.
    pub fn file(&self) -> &FileStore {
        &self.file
    }

    /// Finds the profile's credentials, first hit wins.
    pub fn locate(&self) -> Result<Located> {
        if self.env.is_set() {
            return Ok(Located { store: Arc::new(self.env.clone()), found: Source::Env, notes: Vec::new() });
        }
        let slot = Slot::Credentials(self.profile.clone());
        let mut notes = Vec::new();
        let keyring_ok = match self.keyring.read(&slot) {
            Ok(Some(_)) | Err(Failure::Corrupt(_)) => {
                return Ok(Located { store: Arc::new(self.keyring.clone()), found: Source::Keyring, notes });
            }
            Ok(None) => true,
            Err(Failure::Unavailable(why)) => {
                notes.push(format!(
                    "the OS keyring is not reachable ({why}); looked in {} instead",
                    self.file.path(&slot).display()
                ));
                false
            }
        };
        if self.file.read(&slot)?.is_some() {
            return Ok(Located { store: Arc::new(self.file.clone()), found: Source::File, notes });
        }
        let store: Arc<dyn CredentialStore> =
            if keyring_ok { Arc::new(self.keyring.clone()) } else { Arc::new(self.file.clone()) };
        Ok(Located { store, found: Source::None, notes })
    }

    /// Reads a slot from the keyring, else the file; `None` when neither has it.
    pub fn read_slot(&self, slot: &Slot) -> Result<Option<(String, Source)>> {
        match self.keyring.read(slot) {
            Ok(Some(v)) => return Ok(Some((v, Source::Keyring))),
            Ok(None) => {}
            Err(Failure::Corrupt(why)) => return Err(slot.corrupt("OS keyring", why)),
            Err(Failure::Unavailable(why)) => tracing::info!("OS keyring not reachable ({why}); trying the file"),
        }
        Ok(self.file.read(slot)?.map(|v| (v, Source::File)))
    }

    /// Writes a slot: to the keyring, or to the 0600 file when `insecure_storage` (the user
    /// agreed) or when the keyring is unreachable (then with a warning naming the path).
    pub fn write_slot(&self, slot: &Slot, value: &str, insecure_storage: bool) -> Result<Written> {
        if insecure_storage {
            self.file.write(slot, value)?;
            let _ = self.keyring.remove(slot);
            return Ok(Written { source: Source::File, warning: None });
        }
        match self.keyring.write(slot, value) {
            Ok(()) => {
                // A stale fallback file would be shadowed by the keyring but still hold an old
                // secret on disk: remove it.
                self.file.remove(slot)?;
                Ok(Written { source: Source::Keyring, warning: None })
            }
            Err(Failure::Unavailable(why)) => {
                self.file.write(slot, value)?;
                let path = self.file.path(slot);
                Ok(Written {
                    source: Source::File,
                    warning: Some(format!(
                        "the OS keyring is not reachable ({why}), so the {} of profile {} {} stored in {} \
                         (readable only by you, 0600). Pass --insecure-storage to choose this without the warning, \
                         or use {} in CI.",
                        slot.what(),
                        self.profile,
                        slot.verb(),
                        path.display(),
                        slot.env_hint(),
                    )),
                })
            }
            Err(f @ Failure::Corrupt(_)) => Err(f.into_error(slot)),
        }
    }

    /// Saves the profile's platform credentials, like [`Chain::write_slot`].
    pub fn save_credentials(&self, credentials: &Credentials, insecure_storage: bool) -> Result<Written> {
        let text = zeroize::Zeroizing::new(super::encode(credentials)?);
        self.write_slot(&Slot::Credentials(self.profile.clone()), &text, insecure_storage)
    }

    /// Removes a slot from the keyring and the file; says where something was removed. An
    /// unreachable keyring is reported in `skipped` rather than failing the logout; a disabled
    /// one holds nothing and is not reported.
    pub fn remove_slot(&self, slot: &Slot) -> Result<(Vec<Source>, Option<String>)> {
        let mut removed = Vec::new();
        let mut skipped = None;
        let outcome = if self.keyring.is_disabled() { Ok(false) } else { self.keyring.remove(slot) };
        match outcome {
            Ok(true) => removed.push(Source::Keyring),
            Ok(false) => {}
            Err(Failure::Unavailable(why)) => skipped = Some(why),
            Err(f @ Failure::Corrupt(_)) => return Err(f.into_error(slot)),
        }
        if self.file.remove(slot)? {
            removed.push(Source::File);
        }
        Ok((removed, skipped))
    }
}

/// What `Ctx::credential_store()` returns: the chain, resolved on first use.
#[derive(Debug)]
pub struct ChainStore {
    chain: Chain,
    located: OnceLock<Located>,
}

impl ChainStore {
    /// Wraps a chain; nothing is read yet.
    pub fn new(chain: Chain) -> ChainStore {
        ChainStore { chain, located: OnceLock::new() }
    }

    /// The resolution (done once). An unreadable file here is rare enough to surface as an
    /// error from `load`; meanwhile the store is the file store.
    fn located(&self) -> Result<&Located> {
        if let Some(l) = self.located.get() {
            return Ok(l);
        }
        let located = self.chain.locate()?;
        // Informational (-v): the fallback itself is documented behaviour, and a warning on every
        // command of a CI job that chose the file would drown what matters.
        for note in &located.notes {
            tracing::info!("{note}");
        }
        Ok(self.located.get_or_init(|| located))
    }
}

impl CredentialStore for ChainStore {
    fn source(&self) -> Source {
        self.located().map(|l| l.store.source()).unwrap_or(Source::None)
    }

    fn load(&self, profile: &str) -> Result<Option<Credentials>> {
        self.located()?.store.load(profile)
    }

    fn save(&self, profile: &str, credentials: &Credentials) -> Result<()> {
        self.located()?.store.save(profile, credentials)
    }

    fn delete(&self, profile: &str) -> Result<bool> {
        let located = self.located()?;
        if located.found == Source::Env {
            return located.store.delete(profile);
        }
        let (removed, skipped) = self.chain.remove_slot(&Slot::Credentials(profile.to_owned()))?;
        if let Some(why) = skipped.filter(|_| removed.is_empty()) {
            return Err(Error::auth(format!("cannot reach the OS keyring to remove the credentials: {why}")));
        }
        Ok(!removed.is_empty())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Secret;

    fn creds(token: &str) -> Credentials {
        Credentials {
            app_key: "k".into(),
            app_secret: Secret::new("s"),
            access_token: Secret::new(token),
            refresh_token: None,
            access_token_expires_at: None,
            refresh_token_expires_at: None,
            scopes: Vec::new(),
            seller_name: None,
        }
    }

    fn chain(dir: &std::path::Path, env: EnvStore, keyring: KeyringBackend) -> Chain {
        Chain::new("p", env, KeyringStore::new(keyring), FileStore::new(dir))
    }

    fn mock() -> KeyringBackend {
        KeyringBackend::Store(keyring_core::mock::Store::new().unwrap())
    }

    #[test]
    fn env_beats_keyring_and_keyring_beats_file() {
        let dir = tempfile::tempdir().unwrap();
        let backend = mock();
        let c = chain(dir.path(), EnvStore::default(), backend.clone());
        c.file.save("p", &creds("from-file")).unwrap();
        assert_eq!(c.locate().unwrap().found, Source::File);
        c.keyring.save("p", &creds("from-keyring")).unwrap();
        let located = c.locate().unwrap();
        assert_eq!(located.found, Source::Keyring);
        assert_eq!(located.store.load("p").unwrap().unwrap().access_token.expose(), "from-keyring");
        let env = EnvStore {
            prefix: "SHOPUNLINK_X_".into(),
            app_key: Some("ek".into()),
            app_secret: Some(Secret::new("es")),
            access_token: Some(Secret::new("from-env")),
            refresh_token: None,
        };
        let c = chain(dir.path(), env, backend);
        let store = ChainStore::new(c);
        assert_eq!(store.source(), Source::Env);
        assert_eq!(store.load("p").unwrap().unwrap().access_token.expose(), "from-env");
    }

    #[test]
    fn an_unreachable_keyring_falls_back_to_the_file_with_a_note() {
        let dir = tempfile::tempdir().unwrap();
        let c = chain(dir.path(), EnvStore::default(), KeyringBackend::Disabled);
        let located = c.locate().unwrap();
        assert_eq!(located.found, Source::None);
        assert_eq!(located.store.source(), Source::File);
        assert!(located.notes[0].contains("not reachable"), "{:?}", located.notes);
        let slot = Slot::Credentials("p".into());
        let written = c.write_slot(&slot, "{}", false).unwrap();
        assert_eq!(written.source, Source::File);
        assert!(written.warning.unwrap().contains(&c.file.path(&slot).display().to_string()));
        assert!(c.write_slot(&slot, "{}", true).unwrap().warning.is_none());
    }

    #[test]
    fn a_hanging_keyring_times_out_into_the_file_with_an_explanation() {
        let dir = tempfile::tempdir().unwrap();
        let keyring = KeyringStore::new(KeyringBackend::Hang).with_timeout(std::time::Duration::from_millis(200));
        let c = Chain::new("p", EnvStore::default(), keyring, FileStore::new(dir.path()));
        c.file.save("p", &creds("from-file")).unwrap();
        let located = c.locate().unwrap();
        assert_eq!(located.found, Source::File);
        assert!(located.notes[0].contains("no answer within"), "{:?}", located.notes);
        // Writes and removals after the timeout do not wait again.
        let written = c.write_slot(&Slot::Totp("p".into()), "{}", false).unwrap();
        assert_eq!(written.source, Source::File);
        // "not reachable" (not "no answer within") shows the write never waited on the keyring.
        assert!(written.warning.unwrap().contains("not reachable"));
    }

    #[test]
    fn a_keyring_write_removes_a_stale_file_and_logout_removes_both() {
        let dir = tempfile::tempdir().unwrap();
        let c = chain(dir.path(), EnvStore::default(), mock());
        let slot = Slot::Totp("p".into());
        c.write_slot(&slot, "old", true).unwrap();
        assert_eq!(c.read_slot(&slot).unwrap().unwrap().1, Source::File);
        c.write_slot(&slot, "new", false).unwrap();
        assert_eq!(c.read_slot(&slot).unwrap(), Some(("new".into(), Source::Keyring)));
        assert!(!c.file.path(&slot).exists());
        let (removed, skipped) = c.remove_slot(&slot).unwrap();
        assert_eq!(removed, vec![Source::Keyring]);
        assert!(skipped.is_none());
        assert_eq!(c.read_slot(&slot).unwrap(), None);
    }
}
