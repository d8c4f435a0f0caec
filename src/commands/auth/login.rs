//! `auth login`: the platform's login flow (it owns how a seller authorises the app), then the
//! tokens are stored in the keyring, or the 0600 file where no keyring is reachable.

use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;

use super::Ctx;
use crate::credentials::{Credentials, Source};
use crate::error::Result;
use crate::platform::{self, LoginOptions, Provider};
use crate::ui::Style;

/// Options for `auth login`.
#[derive(Debug, Args)]
pub struct LoginArgs {
    /// Read the redirect URL (or the bare authorization code) from standard input, not a prompt
    #[arg(long)]
    pub with_token: bool,

    /// Store the tokens in a 0600 file under the state directory instead of the OS keyring
    #[arg(long)]
    pub insecure_storage: bool,

    /// Use the platform's US authorization page (e.g. TikTok Shop's services.tiktokshops.us)
    #[arg(long)]
    pub us: bool,
}

/// `auth login --json`: where the tokens went and what they allow, or, on a platform that needs
/// no credentials, that nothing was needed. Never a secret.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum LoginOutput {
    /// The tokens were stored.
    Stored(LoginDoc),
    /// The platform needs no credentials.
    NotNeeded(NotNeededDoc),
}

/// Where the tokens went and what they allow, never a value.
#[derive(Debug, Serialize, JsonSchema)]
pub struct LoginDoc {
    /// Always 1.
    schema_version: u32,
    /// The profile logged in.
    profile: String,
    /// Its platform.
    platform: String,
    /// Where the tokens were stored (`keyring` or `file`).
    source: Source,
    /// The credentials file, when `source` is `file`.
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    /// The seller (shop) the tokens were issued for, when the platform says.
    seller_name: Option<String>,
    /// What the tokens may do.
    scopes: Vec<String>,
    /// When the access token expires, if known.
    access_token_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    /// When the refresh token expires, if known.
    refresh_token_expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// A platform that needs no credentials (the sandbox): nothing was stored.
#[derive(Debug, Serialize, JsonSchema)]
pub struct NotNeededDoc {
    /// Always 1.
    schema_version: u32,
    /// The profile.
    profile: String,
    /// The platform.
    platform: &'static str,
    /// Always `none`.
    source: Source,
    /// Always false.
    needs_credentials: bool,
}

/// Runs `auth login`: the platform's own flow, then the tokens go to the keyring (or the file).
pub async fn run(ctx: &Ctx<'_>, args: LoginArgs) -> Result<()> {
    let provider = platform::provider(&ctx.settings.platform)?;
    let options = LoginOptions { with_token: args.with_token, region: args.us.then(|| "us".to_owned()) };
    match provider.login(&ctx.platform_context(), ctx.ui, &options).await? {
        Some(credentials) => store(ctx, provider, &credentials, args.insecure_storage),
        None => no_credentials_needed(ctx, provider),
    }
}

/// A platform that needs nothing: say so and succeed, so scripts can log in unconditionally.
fn no_credentials_needed(ctx: &Ctx<'_>, provider: &dyn Provider) -> Result<()> {
    ctx.ui.print(&format!("{} needs no credentials: every command works without logging in.", provider.display_name()));
    let others: Vec<_> = platform::REGISTRY.iter().filter(|p| p.needs_credentials()).map(|p| p.name()).collect();
    if let Some(first) = others.first() {
        ctx.ui.note(&format!("To log in to another platform: shopunlink auth login --platform {first}"));
    }
    ctx.ui.print_json(&LoginOutput::NotNeeded(NotNeededDoc {
        schema_version: 1,
        profile: ctx.settings.profile.clone(),
        platform: provider.name(),
        source: Source::None,
        needs_credentials: false,
    }));
    Ok(())
}

fn store(ctx: &Ctx<'_>, provider: &dyn Provider, credentials: &Credentials, insecure_storage: bool) -> Result<()> {
    let chain = ctx.credential_chain();
    let written = chain.save_credentials(credentials, insecure_storage)?;
    if let Some(warning) = &written.warning {
        ctx.ui.warn(warning);
    }
    if chain.env().is_set() {
        ctx.ui.warn(&format!(
            "{} is set, and the environment wins: unset it to use what was just stored",
            chain.env().var("ACCESS_TOKEN")
        ));
    }
    let path = (written.source == Source::File)
        .then(|| chain.file().path(&crate::credentials::slot::Slot::Credentials(chain.profile().into())));
    let doc = LoginDoc {
        schema_version: 1,
        profile: ctx.settings.profile.clone(),
        platform: provider.name().into(),
        source: written.source,
        path: path.as_ref().map(|p| p.display().to_string()),
        seller_name: credentials.seller_name.clone(),
        scopes: credentials.scopes.clone(),
        access_token_expires_at: credentials.access_token_expires_at,
        refresh_token_expires_at: credentials.refresh_token_expires_at,
    };
    print_human(ctx, provider, &doc, written.source);
    ctx.ui.print_json(&LoginOutput::Stored(doc));
    Ok(())
}

fn print_human(ctx: &Ctx<'_>, provider: &dyn Provider, doc: &LoginDoc, source: Source) {
    let who = doc.seller_name.as_deref().unwrap_or("the authorised shop");
    ctx.ui.print(&format!(
        "{} Logged in to {} as {who} (profile {})",
        ctx.ui.paint(Style::Green, "✓"),
        provider.display_name(),
        doc.profile
    ));
    let place = doc.path.clone().unwrap_or_else(|| source.describe().to_owned());
    ctx.ui.print(&format!("  stored in      {place}"));
    if let Some(at) = doc.access_token_expires_at {
        ctx.ui.print(&format!("  token expires  {} (renewed automatically)", at.to_rfc3339()));
    }
    if !doc.scopes.is_empty() {
        ctx.ui.print(&format!("  scopes         {}", doc.scopes.join(", ")));
    }
}
