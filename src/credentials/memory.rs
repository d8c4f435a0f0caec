//! An in-memory store, for tests.

use std::collections::BTreeMap;
use std::sync::Mutex;

use super::{CredentialStore, Credentials, Source};
use crate::error::Result;

/// Credentials kept in a map for the life of the process.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<BTreeMap<String, Credentials>>,
}

impl CredentialStore for MemoryStore {
    fn source(&self) -> Source {
        Source::Memory
    }

    fn load(&self, profile: &str) -> Result<Option<Credentials>> {
        Ok(self.entries.lock().unwrap_or_else(|p| p.into_inner()).get(profile).cloned())
    }

    fn save(&self, profile: &str, credentials: &Credentials) -> Result<()> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner()).insert(profile.into(), credentials.clone());
        Ok(())
    }

    fn delete(&self, profile: &str) -> Result<bool> {
        Ok(self.entries.lock().unwrap_or_else(|p| p.into_inner()).remove(profile).is_some())
    }
}
