//! The OS keyring (keyring crate v4, over keyring-core).
//!
//! The store is chosen explicitly per OS by the `keyring` crate's `v1` entry point: Keychain on
//! macOS, Credential Manager on Windows, the Secret Service (over D-Bus, via zbus) on Linux and
//! the BSDs. Any keyring-core store can be passed instead ([`KeyringBackend::Store`]); the unit
//! tests pass keyring-core's mock store, so no test needs a keyring daemon.
//!
//! Every call runs on its own thread and is abandoned after [`TIMEOUT`]: a Secret Service whose
//! D-Bus peer never answers (a locked or half-started session, an SSH login, WSL) must turn into
//! an explanation and a fallback, never a hung CLI. After one timeout the store stops trying for
//! the rest of the run, so a dead keyring costs at most one timeout.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::time::Duration;

use super::slot::{SERVICE, Slot};
use super::{CredentialStore, Credentials, Source};
use crate::error::{Error, Result};

/// How long one keyring call may take.
pub const TIMEOUT: Duration = Duration::from_secs(3);

/// Which keyring to talk to.
#[derive(Clone)]
pub enum KeyringBackend {
    /// The operating system's keyring, chosen per OS by the `keyring` crate.
    Os,
    /// No keyring (`SHOPUNLINK_KEYRING=none`): every call reports it unreachable.
    Disabled,
    /// A given keyring-core store (tests pass `keyring_core::mock::Store`).
    Store(Arc<keyring_core::CredentialStore>),
    /// A keyring whose every call blocks, like a Secret Service that never answers (tests of
    /// the timeout).
    #[cfg(test)]
    Hang,
}

impl std::fmt::Debug for KeyringBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            KeyringBackend::Os => f.write_str("Os"),
            KeyringBackend::Disabled => f.write_str("Disabled"),
            KeyringBackend::Store(_) => f.write_str("Store"),
            #[cfg(test)]
            KeyringBackend::Hang => f.write_str("Hang"),
        }
    }
}

/// Why a keyring call did not give an answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No keyring reachable (no D-Bus session, no Secret Service, disabled, locked, timed out).
    Unavailable(String),
    /// The entry exists but is not what we wrote (bad encoding, ambiguous, corrupt).
    Corrupt(String),
}

/// The OS keyring as a [`CredentialStore`], with the timeout described above.
#[derive(Debug, Clone)]
pub struct KeyringStore {
    backend: KeyringBackend,
    timeout: Duration,
    /// Set after a timeout: the keyring is treated as unreachable for the rest of the run.
    dead: Arc<AtomicBool>,
}

impl KeyringStore {
    /// A store over `backend` with the standard timeout.
    pub fn new(backend: KeyringBackend) -> KeyringStore {
        KeyringStore { backend, timeout: TIMEOUT, dead: Arc::new(AtomicBool::new(false)) }
    }

    /// The same store with another timeout (tests).
    pub fn with_timeout(mut self, timeout: Duration) -> KeyringStore {
        self.timeout = timeout;
        self
    }

    /// True when the keyring was turned off (`SHOPUNLINK_KEYRING=none`): nothing can be stored
    /// there, so there is nothing to look for or remove either.
    pub fn is_disabled(&self) -> bool {
        matches!(self.backend, KeyringBackend::Disabled)
    }

    /// Reads a slot: `Ok(None)` when there is no entry.
    pub fn read(&self, slot: &Slot) -> Result<Option<String>, Failure> {
        self.call(slot, |entry| match entry.get_password() {
            Ok(v) => Ok(Some(v)),
            Err(keyring_core::Error::NoEntry) => Ok(None),
            Err(e) => Err(e),
        })
    }

    /// Writes (replaces) a slot.
    pub fn write(&self, slot: &Slot, value: &str) -> Result<(), Failure> {
        let value = zeroize::Zeroizing::new(value.to_owned());
        self.call(slot, move |entry| entry.set_password(&value))
    }

    /// Deletes a slot; `Ok(false)` when there was none.
    pub fn remove(&self, slot: &Slot) -> Result<bool, Failure> {
        self.call(slot, |entry| match entry.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring_core::Error::NoEntry) => Ok(false),
            Err(e) => Err(e),
        })
    }

    /// `Ok(())` when the keyring answers at all (a read of the profile's slot).
    pub fn probe(&self, profile: &str) -> Result<(), Failure> {
        self.read(&Slot::Credentials(profile.to_owned())).map(|_| ()).or_else(|f| match f {
            Failure::Corrupt(_) => Ok(()),
            unavailable => Err(unavailable),
        })
    }

    /// Runs `op` on a fresh entry for `slot`, on its own thread, giving up after the timeout.
    fn call<T, F>(&self, slot: &Slot, op: F) -> Result<T, Failure>
    where
        T: Send + 'static,
        F: FnOnce(&keyring_core::Entry) -> keyring_core::Result<T> + Send + 'static,
    {
        if self.dead.load(Ordering::SeqCst) {
            return Err(Failure::Unavailable("it did not answer earlier in this run".into()));
        }
        let backend = self.backend.clone();
        let account = slot.account();
        let outcome = with_timeout(self.timeout, move || {
            let entry = match backend {
                KeyringBackend::Disabled => {
                    return Err(Failure::Unavailable("disabled by SHOPUNLINK_KEYRING=none".into()));
                }
                KeyringBackend::Os => keyring::Entry::new(SERVICE, &account).map(|e| e.inner),
                KeyringBackend::Store(store) => keyring_core::Entry::new_in_store(&store, SERVICE, &account),
                #[cfg(test)]
                KeyringBackend::Hang => {
                    std::thread::sleep(Duration::from_secs(30));
                    return Err(Failure::Unavailable("hung".into()));
                }
            }
            .map_err(classify)?;
            op(&entry).map_err(classify)
        });
        match outcome {
            Some(result) => result,
            None => {
                self.dead.store(true, Ordering::SeqCst);
                Err(Failure::Unavailable(format!("no answer within {} s", self.timeout.as_secs_f32())))
            }
        }
    }
}

/// Runs `f` on a thread; `None` when it has not finished after `timeout` (the thread is left to
/// finish or hang on its own: a blocked D-Bus call cannot be cancelled from outside).
pub fn with_timeout<T: Send + 'static>(timeout: Duration, f: impl FnOnce() -> T + Send + 'static) -> Option<T> {
    let (tx, rx) = mpsc::channel();
    let spawned = std::thread::Builder::new().name("keyring".into()).spawn(move || {
        let _ = tx.send(f());
    });
    if spawned.is_err() {
        return None;
    }
    rx.recv_timeout(timeout).ok()
}

fn classify(e: keyring_core::Error) -> Failure {
    use keyring_core::Error as E;
    match e {
        E::BadEncoding(_) | E::BadDataFormat(..) | E::Ambiguous(_) => Failure::Corrupt(e.to_string()),
        E::NoStorageAccess(_) | E::PlatformFailure(_) | E::NoDefaultStore | E::NotSupportedByStore(_) => {
            Failure::Unavailable(e.to_string())
        }
        other => Failure::Unavailable(other.to_string()),
    }
}

impl Failure {
    /// This failure as a user-facing error about `slot`.
    pub fn into_error(self, slot: &Slot) -> Error {
        match self {
            Failure::Corrupt(why) => slot.corrupt("OS keyring", why),
            Failure::Unavailable(why) => Error::auth(format!("the OS keyring is not reachable: {why}"))
                .with_hint("on a server or in CI, set the SHOPUNLINK_<PLATFORM>_* variables, or log in with `shopunlink auth login --insecure-storage` to keep a 0600 file under state/"),
        }
    }
}

impl CredentialStore for KeyringStore {
    fn source(&self) -> Source {
        Source::Keyring
    }

    fn load(&self, profile: &str) -> Result<Option<Credentials>> {
        let slot = Slot::Credentials(profile.to_owned());
        let Some(text) = self.read(&slot).map_err(|f| f.into_error(&slot))? else { return Ok(None) };
        let text = zeroize::Zeroizing::new(text);
        serde_json::from_str(&text).map(Some).map_err(|e| slot.corrupt("OS keyring", e))
    }

    fn save(&self, profile: &str, credentials: &Credentials) -> Result<()> {
        let slot = Slot::Credentials(profile.to_owned());
        let text = zeroize::Zeroizing::new(super::encode(credentials)?);
        self.write(&slot, &text).map_err(|f| f.into_error(&slot))
    }

    fn delete(&self, profile: &str) -> Result<bool> {
        let slot = Slot::Credentials(profile.to_owned());
        self.remove(&slot).map_err(|f| f.into_error(&slot))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::Secret;

    pub(crate) fn mock() -> KeyringStore {
        KeyringStore::new(KeyringBackend::Store(keyring_core::mock::Store::new().unwrap()))
    }

    fn sample() -> Credentials {
        Credentials {
            app_key: "key".into(),
            app_secret: Secret::new("s3cret"),
            access_token: Secret::new("tok"),
            refresh_token: None,
            access_token_expires_at: None,
            refresh_token_expires_at: None,
            scopes: vec!["seller.shop.info".into()],
            seller_name: None,
        }
    }

    #[test]
    fn round_trips_and_deletes_in_the_mock_keyring() {
        let store = mock();
        assert_eq!(store.load("p").unwrap(), None);
        store.save("p", &sample()).unwrap();
        assert_eq!(store.load("p").unwrap(), Some(sample()));
        assert!(store.delete("p").unwrap());
        assert!(!store.delete("p").unwrap());
    }

    #[test]
    fn a_corrupt_entry_is_an_auth_error_naming_the_profile() {
        let store = mock();
        store.write(&Slot::Credentials("shop-a".into()), "not json").unwrap();
        let e = store.load("shop-a").unwrap_err();
        assert_eq!(e.kind().exit_code(), 4);
        assert!(e.message().contains("shop-a"), "{}", e.message());
    }

    #[test]
    fn disabled_is_unavailable() {
        let store = KeyringStore::new(KeyringBackend::Disabled);
        assert!(matches!(store.probe("p"), Err(Failure::Unavailable(_))));
    }

    #[test]
    fn a_hung_call_times_out_and_the_store_then_fails_fast() {
        assert_eq!(with_timeout(Duration::from_millis(50), || std::thread::sleep(Duration::from_secs(5))), None);
        assert_eq!(with_timeout(Duration::from_secs(1), || 7), Some(7));
        // After a timeout the store is marked dead; the next call must not even try.
        let store = mock();
        store.dead.store(true, Ordering::SeqCst);
        let second = store.read(&Slot::Credentials("p".into()));
        assert!(matches!(second, Err(Failure::Unavailable(ref why)) if why.contains("earlier")), "{second:?}");
    }
}
