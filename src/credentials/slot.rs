//! What a store keeps for a profile, and how each slot is named in the keyring and on disk.
//!
//! Credentials and the TOTP secret are both "slots" of a profile, so they follow the same
//! resolution (keyring, then the 0600 file) and the same timeout and corruption rules.

use crate::error::{Error, Result};

/// The keyring service name every entry is filed under.
pub const SERVICE: &str = "shopunlink";

/// One secret document of one profile.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Slot {
    /// The platform credentials (app key, secret, tokens) as JSON.
    Credentials(String),
    /// The TOTP secret, as JSON.
    Totp(String),
}

impl Slot {
    /// The profile it belongs to.
    pub fn profile(&self) -> &str {
        match self {
            Slot::Credentials(p) | Slot::Totp(p) => p,
        }
    }

    /// The keyring account name. `/` cannot occur in a profile name, so the two never collide.
    pub fn account(&self) -> String {
        match self {
            Slot::Credentials(p) => p.clone(),
            Slot::Totp(p) => format!("totp/{p}"),
        }
    }

    /// The file name under `state/credentials/` (`<profile>.json`, `<profile>.totp`).
    pub fn file_name(&self) -> String {
        match self {
            Slot::Credentials(p) => format!("{p}.json"),
            Slot::Totp(p) => format!("{p}.totp"),
        }
    }

    /// Words for messages ("credentials", "TOTP secret").
    pub fn what(&self) -> &'static str {
        match self {
            Slot::Credentials(_) => "credentials",
            Slot::Totp(_) => "TOTP secret",
        }
    }

    /// "is" or "are", to agree with [`Slot::what`].
    pub fn verb(&self) -> &'static str {
        match self {
            Slot::Credentials(_) => "are",
            Slot::Totp(_) => "is",
        }
    }

    /// The environment variables that replace this slot in CI.
    pub fn env_hint(&self) -> &'static str {
        match self {
            Slot::Credentials(_) => "the platform's SHOPUNLINK_<PLATFORM>_* variables",
            Slot::Totp(_) => "SHOPUNLINK_TOTP_SECRET",
        }
    }

    /// The exit-4 error for an entry that exists but cannot be read back.
    pub fn corrupt(&self, location: &str, why: impl std::fmt::Display) -> Error {
        let p = self.profile();
        Error::auth(format!("the stored {} of profile {p} {} unreadable ({location})", self.what(), self.verb()))
            .with_cause(why)
            .with_hint(format!("remove them with `shopunlink auth logout --profile {p}`, then log in again"))
            .with_detail("profile", p)
    }
}

/// Checks a profile name: it names files and keyring entries, so it must be a plain word.
pub fn check_profile_name(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && !name.starts_with('.')
        && name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'));
    if ok {
        Ok(())
    } else {
        Err(Error::usage(format!("{name:?} is not a valid profile name"))
            .with_hint("use letters, digits, '.', '_' and '-' (at most 64, not starting with '.')")
            .with_detail("flag", "--profile"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profile_names_are_plain_words() {
        for good in ["default", "acme-us", "shop_2", "a.b"] {
            check_profile_name(good).unwrap();
        }
        for bad in ["", "../x", "a/b", ".hidden", "a b", &"x".repeat(65)] {
            assert!(check_profile_name(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn slots_never_collide() {
        // The only credentials account that could equal a TOTP account is not a valid profile.
        assert_eq!(Slot::Totp("a".into()).account(), "totp/a");
        assert!(check_profile_name("totp/a").is_err());
        assert_ne!(Slot::Totp("a".into()).file_name(), Slot::Credentials("a.totp".into()).file_name());
    }
}
