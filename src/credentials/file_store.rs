//! The 0600 file fallback: `state/credentials/<profile>.json` (and `<profile>.totp`).
//!
//! Only used where no keyring is reachable, and only after the user agreed
//! (`auth login --insecure-storage`) or was warned with the path (SPEC §7). The directory is 0700,
//! each file 0600 from its first byte, and writes are atomic, so a crash never leaves half a token.

use std::path::{Path, PathBuf};

use super::slot::Slot;
use super::{CredentialStore, Credentials, Source};
use crate::error::{Error, Result};
use crate::fsutil;

/// Credentials kept in private files under `state/credentials/`.
#[derive(Debug, Clone)]
pub struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    /// The store under `state_dir`.
    pub fn new(state_dir: &Path) -> FileStore {
        FileStore { dir: state_dir.join("credentials") }
    }

    /// Where `slot` lives.
    pub fn path(&self, slot: &Slot) -> PathBuf {
        self.dir.join(slot.file_name())
    }

    /// Reads a slot, `None` when there is no file.
    pub fn read(&self, slot: &Slot) -> Result<Option<String>> {
        fsutil::read_state(&self.path(slot))
    }

    /// Writes a slot atomically, 0600, in a 0700 directory.
    pub fn write(&self, slot: &Slot, value: &str) -> Result<()> {
        fsutil::create_private_dir(&self.dir)?;
        let path = self.path(slot);
        fsutil::write_atomic(&path, value.as_bytes())?;
        fsutil::set_private(&path, false)
    }

    /// The profiles that have credentials in files here (for `auth status`; the keyring cannot
    /// be listed, so profiles only in the keyring are known from `config.toml`).
    pub fn profiles(&self) -> Vec<String> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else { return Vec::new() };
        let mut names: Vec<String> = entries
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter_map(|n| n.strip_suffix(".json").or_else(|| n.strip_suffix(".totp")).map(str::to_owned))
            .filter(|n| super::slot::check_profile_name(n).is_ok())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    /// Deletes a slot; `Ok(false)` when there was none.
    pub fn remove(&self, slot: &Slot) -> Result<bool> {
        let path = self.path(slot);
        match std::fs::remove_file(&path) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::io("cannot delete", &path, e)),
        }
    }
}

impl CredentialStore for FileStore {
    fn source(&self) -> Source {
        Source::File
    }

    fn load(&self, profile: &str) -> Result<Option<Credentials>> {
        let slot = Slot::Credentials(profile.to_owned());
        let Some(text) = self.read(&slot)? else { return Ok(None) };
        let text = zeroize::Zeroizing::new(text);
        let location = self.path(&slot).display().to_string();
        serde_json::from_str(&text).map(Some).map_err(|e| slot.corrupt(&location, e))
    }

    fn save(&self, profile: &str, credentials: &Credentials) -> Result<()> {
        let text = zeroize::Zeroizing::new(super::encode(credentials)?);
        self.write(&Slot::Credentials(profile.to_owned()), &text)
    }

    fn delete(&self, profile: &str) -> Result<bool> {
        self.remove(&Slot::Credentials(profile.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn files_are_private_and_corruption_names_the_profile() {
        let dir = tempfile::tempdir().unwrap();
        let store = FileStore::new(dir.path());
        let slot = Slot::Credentials("acme".into());
        store.write(&slot, "{").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(store.path(&slot)).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o600);
            let mode = std::fs::metadata(dir.path().join("credentials")).unwrap().permissions().mode() & 0o777;
            assert_eq!(mode, 0o700);
        }
        let e = store.load("acme").unwrap_err();
        assert_eq!(e.kind().exit_code(), 4);
        assert!(e.message().contains("acme"));
        assert!(store.delete("acme").unwrap());
        assert_eq!(store.load("acme").unwrap(), None);
    }
}
