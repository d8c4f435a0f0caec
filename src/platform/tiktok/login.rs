//! `auth login` for TikTok Shop: authorise the app for a shop and exchange the code for tokens.
//!
//! TikTok's flow: the seller opens the authorization page, approves, and the browser is sent to
//! the app's redirect URL with `?code=...&state=...`. There is no local redirect listener (the
//! registered URL is the app's, not ours), so the user pastes that URL, or the bare code, back.

use super::settings::TiktokSettings;
use super::token;
use crate::credentials::{Credentials, EnvStore, Secret};
use crate::error::{Error, Result};
use crate::platform::{Interaction, LoginOptions, PlatformContext};

/// Runs the flow and returns the tokens (the caller stores them).
pub async fn login(ctx: &PlatformContext, io: &dyn Interaction, options: &LoginOptions) -> Result<Credentials> {
    let settings = TiktokSettings::resolve(&ctx.settings)?;
    let (app_key, app_secret) = app_identity(ctx, io)?;
    let state = random_state()?;
    show_authorization_url(ctx, io, &settings, &state, options.region.as_deref() == Some("us"));
    let pasted = if options.with_token {
        Secret::new(io.read_stdin("the redirect URL or authorization code")?)
    } else {
        io.prompt_secret("Redirect URL or code", "--with-token (and pipe the URL in)")?
    };
    if options.with_token && pasted.expose().trim_start().starts_with('{') {
        return token_pair(&app_key, &app_secret, &pasted);
    }
    let expected = (!options.with_token).then_some(state.as_str());
    let code = auth_code(&pasted, expected)?;
    token::exchange_auth_code(&settings, &app_key, &app_secret, code.expose()).await
}

/// A token pair piped in as JSON (`{"access_token", "refresh_token", ...}`), as a run whose
/// environment tokens were rotated keeps it: stored like the tokens of a login.
fn token_pair(app_key: &str, app_secret: &Secret, pasted: &Secret) -> Result<Credentials> {
    #[derive(serde::Deserialize)]
    struct Pair {
        access_token: String,
        refresh_token: Option<String>,
        #[serde(default)]
        access_token_expires_at: Option<chrono::DateTime<chrono::Utc>>,
        #[serde(default)]
        refresh_token_expires_at: Option<chrono::DateTime<chrono::Utc>>,
    }
    let pair: Pair = serde_json::from_str(pasted.expose()).map_err(|_| {
        Error::usage("standard input is JSON but not a token pair").with_hint(
            "pipe the file a rotated run kept (state/credentials/<profile>.rotated-tokens), or the redirect URL",
        )
    })?;
    if pair.access_token.trim().is_empty() {
        return Err(Error::usage("the token pair has an empty access_token"));
    }
    Ok(Credentials {
        app_key: app_key.to_owned(),
        app_secret: app_secret.clone(),
        access_token: Secret::new(pair.access_token),
        refresh_token: pair.refresh_token.map(Secret::new),
        access_token_expires_at: pair.access_token_expires_at,
        refresh_token_expires_at: pair.refresh_token_expires_at,
        scopes: Vec::new(),
        seller_name: None,
    })
}

/// App key and secret: from the environment, else a prompt. Never a flag.
fn app_identity(ctx: &PlatformContext, io: &dyn Interaction) -> Result<(String, Secret)> {
    let from_env = EnvStore::for_platform("tiktok", &ctx.settings.env);
    let key = match &from_env.app_key {
        Some(k) => k.clone(),
        None => io.prompt("TikTok app key", &format!("{}=... in the environment", from_env.var("APP_KEY")))?,
    };
    let secret = match &from_env.app_secret {
        Some(s) => s.clone(),
        None => {
            io.prompt_secret("TikTok app secret", &format!("{}=... in the environment", from_env.var("APP_SECRET")))?
        }
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
    getrandom::fill(&mut bytes).map_err(|e| Error::internal("no system randomness").with_source(e))?;
    Ok(hex::encode(bytes))
}

fn show_authorization_url(
    ctx: &PlatformContext,
    io: &dyn Interaction,
    settings: &TiktokSettings,
    state: &str,
    us: bool,
) {
    match &settings.service_id {
        Some(id) => {
            io.note("Open this page, approve the app for your shop, then paste the address it sends you to");
            io.note("(or just its `code` value):");
            io.note(&format!("  {}", token::authorization_url(id, state, us)));
        }
        None => io.note(&format!(
            "No service_id for profile {} in {}, so no authorization link can be shown; \
             paste the redirect URL or code from your app's authorization page.",
            ctx.profile,
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
