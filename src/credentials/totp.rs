//! The profile's own second factor: RFC 6238 TOTP (SHA-1, 6 digits, 30 s steps, ±1 step).
//!
//! The secret is kept like the other credentials (SPEC §7): `SHOPUNLINK_TOTP_SECRET` for CI,
//! else the OS keyring, else the 0600 file. RFC 6238 §5.2 says a code must be accepted only once;
//! totp-rs leaves that to the caller, so the last accepted time step is kept in
//! `state/totp/<profile>.step` (not a secret: a number) and any code of that step or an earlier
//! one is refused.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::chain::{Chain, Written};
use super::slot::Slot;
use super::{Secret, Source};
use crate::error::{Error, Result};
use crate::fsutil;
use crate::lock::{self, Lock};
use crate::unlink::second_factor::{LocalFactor, Verdict};

/// The issuer shown in authenticator apps.
pub const ISSUER: &str = "shopunlink";

/// What is stored in the TOTP slot.
#[derive(Debug, Serialize, Deserialize)]
struct Stored {
    /// Base32 (RFC 4648, no padding).
    secret: Secret,
    enrolled_at: DateTime<Utc>,
}

/// An enrolled TOTP secret and where it was found.
#[derive(Debug, Clone)]
pub struct Enrolled {
    /// Base32 secret.
    pub secret: Secret,
    /// Env, keyring or file.
    pub source: Source,
}

/// A fresh 160-bit secret (RFC 4226 recommends 160 bits), base32-encoded.
pub fn generate_secret() -> Result<Secret> {
    let mut bytes = zeroize::Zeroizing::new([0u8; 20]);
    getrandom::fill(bytes.as_mut()).map_err(|e| Error::internal("no randomness available").with_cause(e))?;
    Ok(Secret::new(totp_rs::Secret::from(*bytes).to_base32()))
}

fn totp(secret: &Secret, profile: &str) -> Result<totp_rs::Totp> {
    let bytes = totp_rs::Secret::try_from_base32(secret.expose().trim())
        .map_err(|_| Error::auth(format!("the TOTP secret of profile {profile} is not valid base32")))?;
    totp_rs::Builder::new()
        .with_algorithm(totp_rs::Algorithm::SHA1)
        .with_digits(6)
        .with_skew(1)
        .with_step_duration(30)
        .with_secret(bytes)
        .with_issuer(Some(ISSUER))
        .with_account_name(profile)
        .build()
        .map_err(|e| {
            Error::auth(format!("the TOTP secret of profile {profile} cannot be used"))
                .with_cause(e)
                .with_hint(format!("enrol again with `shopunlink auth totp enroll --profile {profile}`"))
        })
}

/// The `otpauth://totp/...` URI an authenticator app imports.
pub fn otpauth_uri(secret: &Secret, profile: &str) -> Result<String> {
    totp(secret, profile)?.to_url().map_err(|e| Error::internal("cannot build the otpauth URI").with_cause(e))
}

/// The profile's enrolled secret: env, then keyring, then file.
pub fn load(chain: &Chain, env_secret: Option<&Secret>) -> Result<Option<Enrolled>> {
    if let Some(secret) = env_secret {
        return Ok(Some(Enrolled { secret: secret.clone(), source: Source::Env }));
    }
    let slot = Slot::Totp(chain.profile().to_owned());
    let Some((text, source)) = chain.read_slot(&slot)? else { return Ok(None) };
    let text = zeroize::Zeroizing::new(text);
    let stored: Stored = serde_json::from_str(&text).map_err(|e| slot.corrupt(&source_name(source), e))?;
    Ok(Some(Enrolled { secret: stored.secret, source }))
}

/// Stores a new secret (replacing any) and forgets the used-step record of the old one.
pub fn save(chain: &Chain, state_dir: &Path, secret: &Secret, insecure_storage: bool) -> Result<Written> {
    let stored = Stored { secret: secret.clone(), enrolled_at: Utc::now() };
    let text = zeroize::Zeroizing::new(
        serde_json::to_string(&stored).map_err(|e| Error::internal("cannot encode the TOTP secret").with_cause(e))?,
    );
    let written = chain.write_slot(&Slot::Totp(chain.profile().to_owned()), &text, insecure_storage)?;
    remove_step(state_dir, chain.profile())?;
    Ok(written)
}

/// Removes the secret from keyring and file; the places it was removed from.
pub fn remove(chain: &Chain, state_dir: &Path) -> Result<(Vec<Source>, Option<String>)> {
    let removed = chain.remove_slot(&Slot::Totp(chain.profile().to_owned()))?;
    remove_step(state_dir, chain.profile())?;
    Ok(removed)
}

fn source_name(source: Source) -> String {
    match source {
        Source::File => "credentials file".into(),
        _ => "OS keyring".into(),
    }
}

fn step_path(state_dir: &Path, profile: &str) -> PathBuf {
    state_dir.join("totp").join(format!("{profile}.step"))
}

fn remove_step(state_dir: &Path, profile: &str) -> Result<()> {
    let path = step_path(state_dir, profile);
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::io("cannot delete", &path, e)),
    }
}

/// The profile's TOTP as the disconnect's [`LocalFactor`].
pub struct TotpFactor {
    totp: totp_rs::Totp,
    step_file: PathBuf,
    clock: Box<dyn Fn() -> u64 + Send + Sync>,
}

impl std::fmt::Debug for TotpFactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TotpFactor").field("step_file", &self.step_file).finish_non_exhaustive()
    }
}

impl TotpFactor {
    /// A checker for `secret` that records used steps under `state_dir`.
    pub fn new(secret: &Secret, profile: &str, state_dir: &Path) -> Result<TotpFactor> {
        Ok(TotpFactor {
            totp: totp(secret, profile)?,
            step_file: step_path(state_dir, profile),
            clock: Box::new(|| u64::try_from(Utc::now().timestamp()).unwrap_or(0)),
        })
    }

    /// The same checker reading the time (Unix seconds) from `clock` (tests).
    pub fn with_clock(mut self, clock: impl Fn() -> u64 + Send + Sync + 'static) -> TotpFactor {
        self.clock = Box::new(clock);
        self
    }

    /// The code for Unix time `at` (tests and `sandbox`-style helpers).
    pub fn code_at(&self, at: u64) -> String {
        self.totp.generate(at).to_string()
    }

    fn last_step(&self) -> Result<Option<u64>> {
        let text = fsutil::read_state(&self.step_file)?;
        Ok(text.and_then(|t| t.trim().parse().ok()))
    }
}

impl LocalFactor for TotpFactor {
    fn check(&self, code: &Secret) -> Result<Verdict> {
        let code: String = code.expose().chars().filter(|c| !c.is_whitespace()).collect();
        let Some(step) = self.totp.check(&code, (self.clock)()) else { return Ok(Verdict::Wrong) };
        if let Some(dir) = self.step_file.parent() {
            fsutil::create_private_dir(dir)?;
        }
        // Read, compare and record under one lock: two disconnects given the same code at the
        // same moment must not both accept it.
        let _lock = Lock::take(&lock::beside(&self.step_file), "the record of used one-time codes")?;
        if self.last_step()?.is_some_and(|last| step <= last) {
            return Ok(Verdict::Reused);
        }
        fsutil::write_atomic(&self.step_file, step.to_string().as_bytes())?;
        Ok(Verdict::Accepted)
    }
}

/// The profile's TOTP, loaded on first use: a disconnect answered by a platform challenge (the
/// sandbox) never reads the keyring for it.
#[derive(Debug)]
pub struct ProfileTotp {
    chain: Chain,
    env_secret: Option<Secret>,
    state_dir: PathBuf,
    factor: std::sync::OnceLock<Option<TotpFactor>>,
}

impl ProfileTotp {
    /// The TOTP of the settings' profile.
    pub fn new(chain: Chain, settings: &crate::settings::Settings) -> ProfileTotp {
        ProfileTotp {
            chain,
            env_secret: settings.totp_secret.clone(),
            state_dir: settings.state_dir.clone(),
            factor: std::sync::OnceLock::new(),
        }
    }

    fn factor(&self) -> Result<Option<&TotpFactor>> {
        if let Some(f) = self.factor.get() {
            return Ok(f.as_ref());
        }
        let loaded = match load(&self.chain, self.env_secret.as_ref())? {
            Some(enrolled) => Some(TotpFactor::new(&enrolled.secret, self.chain.profile(), &self.state_dir)?),
            None => None,
        };
        Ok(self.factor.get_or_init(|| loaded).as_ref())
    }
}

impl LocalFactor for ProfileTotp {
    fn check(&self, code: &Secret) -> Result<Verdict> {
        match self.factor()? {
            Some(f) => f.check(code),
            None => Ok(Verdict::Wrong),
        }
    }

    fn is_enrolled(&self) -> Result<bool> {
        Ok(self.factor()?.is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: u64 = 1_800_000_000;

    fn factor(dir: &Path, at: u64) -> TotpFactor {
        let secret = Secret::new("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP");
        TotpFactor::new(&secret, "default", dir).unwrap().with_clock(move || at)
    }

    #[test]
    fn rfc6238_sha1_vector() {
        // RFC 6238 appendix B, SHA-1 seed "12345678901234567890", T = 59 s -> 94287082 (8 digits);
        // with 6 digits the code is the last six: 287082.
        let secret = Secret::new(totp_rs::Secret::from(b"12345678901234567890".to_vec()).to_base32());
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(TotpFactor::new(&secret, "p", dir.path()).unwrap().code_at(59), "287082");
    }

    #[test]
    fn a_right_code_passes_once_and_only_once() {
        let dir = tempfile::tempdir().unwrap();
        let f = factor(dir.path(), T);
        let code = Secret::new(f.code_at(T));
        assert_eq!(f.check(&code).unwrap(), Verdict::Accepted);
        assert_eq!(f.check(&code).unwrap(), Verdict::Reused, "the same code is refused, as used, the second time");
        // A later process (a new factor over the same state) refuses it too, still within its window.
        assert_eq!(factor(dir.path(), T + 20).check(&code).unwrap(), Verdict::Reused);
        // The previous step's code is older than the accepted one: refused as well.
        assert_eq!(f.check(&Secret::new(f.code_at(T - 30))).unwrap(), Verdict::Reused);
        // The next step's code is fresh: accepted.
        assert_eq!(f.check(&Secret::new(f.code_at(T + 30))).unwrap(), Verdict::Accepted);
    }

    #[test]
    fn skew_is_one_step_and_wrong_codes_fail() {
        let dir = tempfile::tempdir().unwrap();
        let f = factor(dir.path(), T);
        assert_eq!(f.check(&Secret::new(f.code_at(T + 90))).unwrap(), Verdict::Wrong, "three steps ahead is out");
        let right = f.code_at(T);
        let wrong = if right == "000000" { "000001" } else { "000000" };
        assert_eq!(f.check(&Secret::new(wrong)).unwrap(), Verdict::Wrong);
        assert_eq!(f.check(&Secret::new("abc")).unwrap(), Verdict::Wrong);
        assert_eq!(f.check(&Secret::new(f.code_at(T - 30))).unwrap(), Verdict::Accepted, "one step behind is inside");
    }

    #[test]
    fn generated_secrets_make_a_valid_uri() {
        let secret = generate_secret().unwrap();
        assert_eq!(secret.expose().len(), 32);
        let uri = otpauth_uri(&secret, "acme").unwrap();
        assert!(uri.starts_with("otpauth://totp/shopunlink:acme?"), "{uri}");
        assert!(uri.contains(&format!("secret={}", secret.expose())));
    }
}
