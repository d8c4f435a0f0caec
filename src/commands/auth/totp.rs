//! `auth totp enroll | remove`: the profile's own second factor for disconnects on platforms
//! without a challenge of their own (TikTok).
//!
//! Enrolment is the one moment the secret is shown: as a QR code and an `otpauth://` URI for an
//! authenticator app, or once in the `--json` document for a CI secret store.

use clap::{Args, Subcommand};
use qrcode::QrCode;
use qrcode::render::unicode::Dense1x2;
use schemars::JsonSchema;
use serde::Serialize;

use super::Ctx;
use crate::credentials::{Secret, Source, totp};
use crate::error::{Error, Result};
use crate::settings::env;
use crate::ui::Style;

/// `auth totp enroll --json`: the new TOTP secret, shown this once (SPEC §5), for a CI secret
/// store or an authenticator app.
#[derive(Debug, Serialize, JsonSchema)]
pub struct EnrollDoc<'a> {
    /// Always 1.
    schema_version: u32,
    /// The profile.
    profile: &'a str,
    /// The secret, base32 (`SHOPUNLINK_TOTP_SECRET` takes it).
    secret: &'a str,
    /// The `otpauth://totp/...` URI an authenticator app reads.
    otpauth_uri: &'a str,
    /// Where the secret was stored (`keyring` or `file`).
    stored_in: Source,
}

/// The TOTP subcommands.
#[derive(Debug, Subcommand)]
pub enum TotpCommand {
    /// Create a TOTP secret for the profile and show it once (QR code and otpauth URI)
    Enroll(EnrollArgs),
    /// Delete the profile's TOTP secret
    Remove,
}

/// Options for `auth totp enroll`.
#[derive(Debug, Args)]
pub struct EnrollArgs {
    /// Replace a TOTP already enrolled (the old authenticator entry stops working)
    #[arg(long)]
    pub force: bool,

    /// Store the secret in a 0600 file under the state directory instead of the OS keyring
    #[arg(long)]
    pub insecure_storage: bool,
}

/// Runs `auth totp ...`.
pub fn run(ctx: &Ctx<'_>, command: TotpCommand) -> Result<()> {
    match command {
        TotpCommand::Enroll(args) => enroll(ctx, args),
        TotpCommand::Remove => remove(ctx),
    }
}

fn enroll(ctx: &Ctx<'_>, args: EnrollArgs) -> Result<()> {
    let chain = ctx.credential_chain();
    let profile = chain.profile().to_owned();
    if let Some(existing) = totp::load(&chain, None)?
        && !args.force
    {
        return Err(Error::usage(format!("profile {profile} already has a TOTP (in {})", existing.source.describe()))
            .with_hint("pass --force to replace it; the old authenticator entry then stops working")
            .with_detail("flag", "--force"));
    }
    let secret = totp::generate_secret()?;
    let uri = totp::otpauth_uri(&secret, &profile)?;
    let written = totp::save(&chain, &ctx.settings.state_dir, &secret, args.insecure_storage)?;
    if let Some(warning) = &written.warning {
        ctx.ui.warn(warning);
    }
    if ctx.settings.totp_secret.is_some() {
        ctx.ui.warn(&format!("{} is set and wins over the secret just enrolled", env::TOTP_SECRET));
    }
    if ctx.ui.is_json() {
        ctx.ui.print_json(&EnrollDoc {
            schema_version: 1,
            profile: &profile,
            secret: secret.expose(),
            otpauth_uri: &uri,
            stored_in: written.source,
        });
    } else {
        print_enrolment(ctx, &profile, &secret, &uri, written.source)?;
    }
    Ok(())
}

fn print_enrolment(ctx: &Ctx<'_>, profile: &str, secret: &Secret, uri: &str, stored: Source) -> Result<()> {
    let qr = QrCode::new(uri.as_bytes()).map_err(|e| Error::internal("cannot draw the QR code").with_source(e))?;
    let art = qr.render::<Dense1x2>().quiet_zone(true).build();
    let ui = ctx.ui;
    ui.print(&format!("Scan this with your authenticator app (profile {profile}):\n"));
    ui.print(&art);
    ui.print(&format!("\n  or add it by hand:  {}", secret.expose()));
    ui.print(&format!("  otpauth URI:        {uri}"));
    ui.print(&format!(
        "\n{} Stored in {}. This is the only time the secret is shown.",
        ui.paint(Style::Green, "✓"),
        stored.describe()
    ));
    ui.print("Disconnects that need your TOTP ask for the 6-digit code (or take --otp / SHOPUNLINK_OTP).");
    Ok(())
}

fn remove(ctx: &Ctx<'_>) -> Result<()> {
    let chain = ctx.credential_chain();
    let profile = chain.profile().to_owned();
    let (removed, skipped) = totp::remove(&chain, &ctx.settings.state_dir)?;
    if let Some(why) = skipped {
        ctx.ui.warn(&format!("the OS keyring was not reachable ({why}); only the file was checked"));
    }
    if ctx.settings.totp_secret.is_some() {
        ctx.ui.warn(&format!("{} is set; shopunlink cannot remove it: unset it yourself", env::TOTP_SECRET));
    }
    if removed.is_empty() {
        ctx.ui.print(&format!("Profile {profile} has no stored TOTP; nothing to remove."));
    } else {
        let places: Vec<&str> = removed.iter().map(|s| s.describe()).collect();
        ctx.ui.print(&format!(
            "{} Removed the TOTP of profile {profile} from {}; delete its entry in your authenticator app too.",
            ctx.ui.paint(Style::Green, "✓"),
            places.join(" and ")
        ));
    }
    ctx.ui.print_json(&super::RemovedDoc::new(&profile, &removed));
    Ok(())
}
