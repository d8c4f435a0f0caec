//! `auth status`: for every known profile, where its credentials come from, when the access
//! token expires, which shop and scopes it covers, and whether a TOTP is enrolled. Never a value.
//!
//! Known profiles are those in `config.toml`, those with a credentials file, and the one in use:
//! an OS keyring cannot be listed, so a profile only in the keyring and not in the config shows
//! up only when selected with `--profile`.

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::Serialize;

use super::Ctx;
use crate::credentials::slot::Slot;
use crate::credentials::{Chain, FileStore, Source, totp};
use crate::error::Result;
use crate::settings::load_config;
use crate::ui::Style;

/// `auth status --json`: every known profile's credentials, described, never a value (SPEC §5).
#[derive(Debug, Serialize, JsonSchema)]
pub struct StatusDoc {
    /// Always 1.
    schema_version: u32,
    /// The profiles in `config.toml`, those with a credentials file, and the one in use, by name.
    profiles: Vec<ProfileStatus>,
}

/// One profile in `auth status --json`.
#[derive(Debug, Serialize, JsonSchema)]
struct ProfileStatus {
    /// The profile's name.
    name: String,
    /// True for the profile in use.
    current: bool,
    /// Its platform.
    platform: String,
    /// Where its credentials come from (`none`: nothing stored).
    source: Source,
    /// The credentials file, when `source` is `file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    /// When the access token expires, if known.
    access_token_expires_at: Option<DateTime<Utc>>,
    /// When the refresh token expires, if known.
    refresh_token_expires_at: Option<DateTime<Utc>>,
    /// The shops (sellers) the credentials were issued for.
    shops: Vec<String>,
    /// What the credentials may do.
    scopes: Vec<String>,
    /// Where the profile's TOTP secret is (`none`: not enrolled).
    totp: Source,
}

/// Runs `auth status`.
pub fn run(ctx: &Ctx<'_>) -> Result<()> {
    let settings = ctx.settings;
    let config = load_config(&settings.config_path)?;
    let file = FileStore::new(&settings.state_dir);
    let mut names: Vec<String> = config.profiles.keys().cloned().chain(file.profiles()).collect();
    names.push(settings.profile.clone());
    names.sort();
    names.dedup();
    // One keyring handle for every profile: a keyring that times out costs one timeout, not one
    // per profile.
    let keyring = ctx.credential_chain().keyring().clone();
    let mut profiles = Vec::new();
    let mut notes = Vec::new();
    for name in names {
        let chain = Chain::new(&name, settings.env_credentials.clone(), keyring.clone(), file.clone());
        let configured = config.profiles.get(&name).and_then(|p| p.platform.clone());
        let current = name == settings.profile;
        let platform = if current { Some(settings.platform.clone()) } else { configured };
        profiles.push(profile_status(ctx, &chain, platform, current, &mut notes)?);
    }
    if let Some(note) = notes.first().filter(|_| !keyring.is_disabled()) {
        ctx.ui.note(note);
    }
    print_human(ctx, &profiles);
    ctx.ui.print_json(&StatusDoc { schema_version: 1, profiles });
    Ok(())
}

fn profile_status(
    ctx: &Ctx<'_>,
    chain: &Chain,
    platform: Option<String>,
    current: bool,
    notes: &mut Vec<String>,
) -> Result<ProfileStatus> {
    let located = chain.locate()?;
    notes.extend(located.notes.iter().cloned());
    let credentials = located.store.load(chain.profile())?.filter(|_| located.found != Source::None);
    let totp = totp::load(chain, ctx.settings.totp_secret.as_ref())?.map_or(Source::None, |e| e.source);
    let path = (located.found == Source::File)
        .then(|| chain.file().path(&Slot::Credentials(chain.profile().into())).display().to_string());
    let platform = platform.unwrap_or_else(|| ctx.settings.platform.clone());
    let c = credentials.as_ref();
    Ok(ProfileStatus {
        name: chain.profile().to_owned(),
        current,
        platform,
        source: located.found,
        path,
        access_token_expires_at: c.and_then(|c| c.access_token_expires_at),
        refresh_token_expires_at: c.and_then(|c| c.refresh_token_expires_at),
        shops: c.and_then(|c| c.seller_name.clone()).into_iter().collect(),
        scopes: c.map(|c| c.scopes.clone()).unwrap_or_default(),
        totp,
    })
}

fn print_human(ctx: &Ctx<'_>, profiles: &[ProfileStatus]) {
    let ui = ctx.ui;
    for p in profiles {
        let marker = if p.current { " (in use)" } else { "" };
        ui.print(&format!("{}{marker}  platform {}", ui.paint(Style::Bold, &p.name), p.platform));
        ui.print(&format!("  credentials  {}", credentials_line(p)));
        if let Some(at) = p.access_token_expires_at {
            ui.print(&format!("  token        {}", expiry(at)));
        }
        if !p.shops.is_empty() {
            ui.print(&format!("  shops        {}", p.shops.join(", ")));
        }
        if !p.scopes.is_empty() {
            ui.print(&format!("  scopes       {}", p.scopes.join(", ")));
        }
        ui.print(&format!("  TOTP         {}", totp_line(p.totp)));
    }
}

fn credentials_line(p: &ProfileStatus) -> String {
    match (p.source.as_str(), p.platform.as_str()) {
        ("none", platform) if crate::platform::provider(platform).is_ok_and(|p| !p.needs_credentials()) => {
            format!("none needed ({platform})")
        }
        ("none", platform) => {
            format!("none: run `shopunlink auth login --platform {platform} --profile {}`", p.name)
        }
        ("file", _) => format!("0600 file {}", p.path.as_deref().unwrap_or("")),
        _ => p.source.describe().to_owned(),
    }
}

fn totp_line(source: Source) -> String {
    match source {
        Source::None => "not enrolled (`shopunlink auth totp enroll`)".into(),
        Source::Env => "SHOPUNLINK_TOTP_SECRET".into(),
        _ => format!("enrolled ({})", source.describe()),
    }
}

fn expiry(at: DateTime<Utc>) -> String {
    let left = at - Utc::now();
    if left.num_seconds() <= 0 {
        format!("expired at {} (renewed on next use if the refresh token is valid)", at.to_rfc3339())
    } else if left.num_hours() >= 48 {
        format!("expires {} (in {} days)", at.to_rfc3339(), left.num_days())
    } else {
        format!("expires {} (in {} hours)", at.to_rfc3339(), left.num_hours())
    }
}
