//! `shopunlink doctor`: what is configured, where the secrets come from, whether the platform
//! can be reached and agrees on the time, and what went wrong lately, plus a report a seller can
//! send to support with every secret left out.
//!
//! Each check is a plain function returning a [`Check`], so the command only prints. The checks
//! never send a credential anywhere: the network probe is an anonymous GET of the base URL.

pub mod checks;
pub mod support;

use serde::Serialize;

use crate::credentials::Chain;
use crate::platform::PlatformContext;
use crate::platform::Shop;
use crate::settings::Settings;

/// One line of the doctor's report (the platforms' checks use the same type).
pub type Check = crate::platform::HealthCheck;

/// Everything the doctor found.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    /// The checks, in the order they ran.
    pub checks: Vec<Check>,
    /// Recent failed disconnects, from the audit log.
    pub failures: Vec<checks::Failure>,
    /// The text to send to support; secrets are never in it.
    pub support_report: String,
}

impl Report {
    /// True when every check passed.
    pub fn ok(&self) -> bool {
        self.checks.iter().all(|c| c.ok)
    }
}

/// Runs every check for the settings' profile. `shops` are the shops the platform listed, when
/// it could (the support report names them).
pub async fn diagnose(
    settings: &Settings,
    chain: &Chain,
    platform: &PlatformContext,
    shops: Result<Vec<Shop>, String>,
) -> Report {
    let mut found = vec![checks::config(settings), checks::state_dir(settings)];
    let provider = crate::platform::provider(&settings.platform).ok();
    let needs_credentials = provider.is_some_and(|p| p.needs_credentials());
    let needs_totp = provider.is_some_and(|p| p.uses_profile_totp());
    let (credential_check, secrets) = checks::credentials(settings, chain, needs_credentials);
    found.push(credential_check);
    found.push(checks::keyring(chain, needs_credentials));
    found.push(checks::totp(settings, chain, needs_totp));
    match provider {
        Some(p) => found.extend(p.doctor(platform).await),
        None => {
            found.push(Check::fail("platform", format!("unknown platform {}", settings.platform), "see --platform"))
        }
    }
    // One real, signed call proves the credentials and the app's access, not just their presence.
    found.push(match &shops {
        Ok(list) => Check::pass(
            "shops",
            format!("{} answered: {}", settings.platform, crate::words::count(list.len() as u64, "shop", "shops")),
        ),
        Err(why) => Check::fail(
            "shops",
            format!("{} could not list the shops: {why}", settings.platform),
            "fix the first failed check above, or log in again with `shopunlink auth login`",
        ),
    });
    let (audit_check, failures) = checks::audit(settings);
    found.push(audit_check);
    let text = support::report(settings, &found, &failures, &shops);
    let support_report = support::scrub(&text, &secrets);
    Report { checks: found, failures, support_report }
}
