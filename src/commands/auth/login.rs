//! `auth login`: authorise the app for a shop, exchange the code for tokens, store them.
//!
//! TikTok's flow: the seller opens the authorization page, approves, and the browser is sent to
//! the app's redirect URL with `?code=...&state=...`. There is no local redirect listener (the
//! registered URL is the app's, not ours), so the user pastes that URL, or the bare code, back.

use clap::Args;
use serde::Serialize;

use super::{Ctx, describe, json_name};
use crate::credentials::{Credentials, Secret};
use crate::error::{Error, Result};
use crate::platform::tiktok::token;
use crate::settings::env;
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

    /// Use the US seller authorization page (services.tiktokshops.us)
    #[arg(long)]
    pub us: bool,
}

/// The `auth login --json` document: where the tokens went and what they allow, never a value.
#[derive(Debug, Serialize)]
struct LoginDoc {
    schema_version: u32,
    profile: String,
    platform: String,
    source: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<String>,
    seller_name: Option<String>,
    scopes: Vec<String>,
    access_token_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    refresh_token_expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Runs `auth login`.
pub async fn run(ctx: &Ctx<'_>, args: LoginArgs) -> Result<()> {
    match ctx.settings.platform.as_str() {
        "sandbox" => sandbox(ctx),
        "tiktok" => tiktok(ctx, args).await,
        other => Err(Error::usage(format!("unknown platform {other:?}"))
            .with_hint(format!("known platforms: {}", crate::platform::names().join(", ")))
            .with_detail("flag", "--platform")),
    }
}

/// The sandbox needs nothing: say so and succeed, so scripts can log in unconditionally.
fn sandbox(ctx: &Ctx<'_>) -> Result<()> {
    ctx.ui.print("The sandbox needs no credentials: every command works without logging in.");
    ctx.ui.note("To log in to TikTok Shop: shopunlink auth login --platform tiktok");
    ctx.ui.print_json(&serde_json::json!({
        "schema_version": 1, "profile": ctx.settings.profile, "platform": "sandbox", "source": "none",
        "needs_credentials": false,
    }));
    Ok(())
}

async fn tiktok(ctx: &Ctx<'_>, args: LoginArgs) -> Result<()> {
    let (app_key, app_secret) = app_identity(ctx)?;
    let state = random_state()?;
    show_authorization_url(ctx, &state, args.us);
    let pasted = if args.with_token {
        Secret::new(ctx.ui.read_stdin("the redirect URL or authorization code")?)
    } else {
        Secret::new(ctx.ui.prompt_secret("Redirect URL or code", "--with-token (and pipe the URL in)")?)
    };
    let expected = (!args.with_token).then_some(state.as_str());
    let code = auth_code(&pasted, expected)?;
    let credentials = token::exchange_auth_code(&ctx.settings.tiktok, &app_key, &app_secret, code.expose()).await?;
    store(ctx, &credentials, args.insecure_storage)
}

/// App key and secret: from the environment, else a prompt. Never a flag.
fn app_identity(ctx: &Ctx<'_>) -> Result<(String, Secret)> {
    let from_env = &ctx.settings.env_credentials;
    let key = match &from_env.app_key {
        Some(k) => k.clone(),
        None => ctx.ui.prompt("TikTok app key", &format!("{}=... in the environment", env::TIKTOK_APP_KEY))?,
    };
    let secret = match &from_env.app_secret {
        Some(s) => s.clone(),
        None => Secret::new(
            ctx.ui.prompt_secret("TikTok app secret", &format!("{}=... in the environment", env::TIKTOK_APP_SECRET))?,
        ),
    };
    if key.trim().is_empty() || secret.expose().trim().is_empty() {
        return Err(Error::usage("the app key and app secret must not be empty")
            .with_hint("find them in TikTok Shop Partner Center → App & Service → your app"));
    }
    Ok((key.trim().to_owned(), Secret::new(secret.expose().trim())))
}

/// An unguessable `state`, so a pasted URL from someone else's authorization is noticed.
fn random_state() -> Result<String> {
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(|e| Error::internal("no system randomness").with_cause(e))?;
    Ok(hex::encode(bytes))
}

fn show_authorization_url(ctx: &Ctx<'_>, state: &str, us: bool) {
    let profile = &ctx.settings.profile;
    match &ctx.settings.profile_config.service_id {
        Some(id) => {
            ctx.ui.note("Open this page, approve the app for your shop, then paste the address it sends you to");
            ctx.ui.note("(or just its `code` value):");
            ctx.ui.note(&format!("  {}", token::authorization_url(id, state, us)));
        }
        None => ctx.ui.note(&format!(
            "No service_id for profile {profile} in {}, so no authorization link can be shown; \
             paste the redirect URL or code from your app's authorization page.",
            ctx.settings.config_path.display()
        )),
    }
}

/// The authorization code in what the user pasted: a redirect URL (`...?code=...&state=...`), a
/// bare query string, or the code alone. `expected_state` is checked when the URL carries one.
pub fn auth_code(pasted: &Secret, expected_state: Option<&str>) -> Result<Secret> {
    let text = pasted.expose().trim();
    if text.is_empty() {
        return Err(Error::usage("no redirect URL or code was given")
            .with_hint("paste the address the authorization page sent you to"));
    }
    if !text.contains('=') {
        return bare_code(text);
    }
    let query = text.split_once('?').map_or(text, |(_, q)| q);
    let pairs: Vec<(String, String)> = url::form_urlencoded::parse(query.as_bytes()).into_owned().collect();
    let get = |key: &str| pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str());
    if let Some(error) = get("error") {
        return Err(Error::auth(format!("the authorization was refused ({error})"))
            .with_hint("approve the app on the authorization page, then log in again"));
    }
    if let (Some(want), Some(got)) = (expected_state, get("state"))
        && want != got
    {
        return Err(Error::auth("the pasted URL belongs to another authorization (its state does not match)")
            .with_hint("open the link printed by this login and paste the address it sends you to"));
    }
    let code = get("code").ok_or_else(|| {
        Error::usage("the pasted URL has no `code` parameter")
            .with_hint("paste the whole address the authorization page sent you to, or just the code")
    })?;
    bare_code(code)
}

fn bare_code(code: &str) -> Result<Secret> {
    let plausible = code.len() <= 512 && code.chars().all(|c| c.is_ascii_alphanumeric() || "-_.~+/=".contains(c));
    if plausible {
        Ok(Secret::new(code))
    } else {
        Err(Error::usage("that does not look like an authorization code or a redirect URL")
            .with_hint("paste the whole address the authorization page sent you to, or just the code"))
    }
}

fn store(ctx: &Ctx<'_>, credentials: &Credentials, insecure_storage: bool) -> Result<()> {
    let chain = ctx.credential_chain();
    let written = chain.save_credentials(credentials, insecure_storage)?;
    if let Some(warning) = &written.warning {
        ctx.ui.warn(warning);
    }
    if chain.env().is_set() {
        ctx.ui.warn(&format!(
            "{} is set, and the environment wins: unset it to use what was just stored",
            env::TIKTOK_ACCESS_TOKEN
        ));
    }
    let path = (written.source == crate::credentials::Source::File)
        .then(|| chain.file().path(&crate::credentials::slot::Slot::Credentials(chain.profile().into())));
    let doc = LoginDoc {
        schema_version: 1,
        profile: ctx.settings.profile.clone(),
        platform: "tiktok".into(),
        source: json_name(written.source),
        path: path.as_ref().map(|p| p.display().to_string()),
        seller_name: credentials.seller_name.clone(),
        scopes: credentials.scopes.clone(),
        access_token_expires_at: credentials.access_token_expires_at,
        refresh_token_expires_at: credentials.refresh_token_expires_at,
    };
    print_human(ctx, &doc, written.source);
    ctx.ui.print_json(&doc);
    Ok(())
}

fn print_human(ctx: &Ctx<'_>, doc: &LoginDoc, source: crate::credentials::Source) {
    let who = doc.seller_name.as_deref().unwrap_or("the authorised shop");
    ctx.ui.print(&format!(
        "{} Logged in to TikTok Shop as {who} (profile {})",
        ctx.ui.paint(Style::Green, "✓"),
        doc.profile
    ));
    let place = doc.path.clone().unwrap_or_else(|| describe(source).to_owned());
    ctx.ui.print(&format!("  stored in      {place}"));
    if let Some(at) = doc.access_token_expires_at {
        ctx.ui.print(&format!("  token expires  {} (renewed automatically)", at.to_rfc3339()));
    }
    if !doc.scopes.is_empty() {
        ctx.ui.print(&format!("  scopes         {}", doc.scopes.join(", ")));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(text: &str, state: Option<&str>) -> Result<String> {
        auth_code(&Secret::new(text), state).map(|s| s.expose().to_owned())
    }

    #[test]
    fn accepts_a_redirect_url_a_query_or_a_bare_code() {
        assert_eq!(code("https://app.example/cb?code=ROW_abc123&state=s1", Some("s1")).unwrap(), "ROW_abc123");
        assert_eq!(code("code=xyz&state=other", None).unwrap(), "xyz");
        assert_eq!(code("  TTP_q1w2e3  \n", None).unwrap(), "TTP_q1w2e3");
        assert_eq!(code("https://app.example/cb?code=a%2Bb", Some("s")).unwrap(), "a+b", "no state: not checked");
    }

    #[test]
    fn refuses_denials_foreign_states_and_garbage() {
        assert_eq!(code("https://x/cb?error=auth_denied&state=s", Some("s")).unwrap_err().kind().exit_code(), 4);
        assert_eq!(code("https://x/cb?code=c&state=evil", Some("s")).unwrap_err().kind().exit_code(), 4);
        assert_eq!(code("https://x/cb?state=s", Some("s")).unwrap_err().kind().exit_code(), 2);
        assert_eq!(code("", None).unwrap_err().kind().exit_code(), 2);
        assert_eq!(code("two words", None).unwrap_err().kind().exit_code(), 2);
    }
}
