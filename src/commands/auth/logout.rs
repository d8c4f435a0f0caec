//! `auth logout`: delete the profile's stored tokens from the keyring and the file.
//!
//! Environment variables cannot be removed by a child process, so with `SHOPUNLINK_<PLATFORM>_*`
//! set the command says so rather than pretending the profile is logged out.

use super::Ctx;
use crate::credentials::Source;
use crate::credentials::slot::Slot;
use crate::error::{Error, Result};
use crate::ui::Style;

/// Runs `auth logout`.
pub fn run(ctx: &Ctx<'_>) -> Result<()> {
    let chain = ctx.credential_chain();
    let profile = chain.profile().to_owned();
    let (removed, skipped) = chain.remove_slot(&Slot::Credentials(profile.clone()))?;
    let env_set = chain.env().is_set();
    if removed.is_empty() {
        // An unreachable keyring (a server, a container) is reported below as a warning; a logout
        // with nothing to remove anywhere it can look succeeds.
        if env_set {
            return Err(env_error(&profile, chain.env()));
        }
    }
    if let Some(why) = &skipped {
        ctx.ui.warn(&format!("the OS keyring was not reachable ({why}); only the file was checked"));
    }
    if env_set {
        ctx.ui.warn(&env_error(&profile, chain.env()).hints().join("; "));
    }
    print(ctx, &profile, &removed);
    Ok(())
}

fn env_error(profile: &str, env: &crate::credentials::EnvStore) -> Error {
    Error::usage(format!(
        "the tokens of profile {profile} come from {} environment variables, which shopunlink cannot remove",
        env.pattern()
    ))
    .with_hint(format!(
        "unset {} and {} in your shell, or remove them from the CI job's secrets",
        env.var("ACCESS_TOKEN"),
        env.var("REFRESH_TOKEN")
    ))
    .with_detail("profile", profile)
}

fn print(ctx: &Ctx<'_>, profile: &str, removed: &[Source]) {
    if removed.is_empty() {
        ctx.ui.print(&format!("Profile {profile} has no stored tokens; nothing to remove."));
    } else {
        let places: Vec<&str> = removed.iter().map(|s| s.describe()).collect();
        ctx.ui.print(&format!(
            "{} Removed the tokens of profile {profile} from {}",
            ctx.ui.paint(Style::Green, "✓"),
            places.join(" and ")
        ));
        ctx.ui.note(
            "The shop's authorization of the app itself stays until the seller revokes it in \
             Seller Center → App Store → My apps. An enrolled TOTP is kept (`auth totp remove`).",
        );
    }
    ctx.ui.print_json(&super::RemovedDoc::new(profile, removed));
}
