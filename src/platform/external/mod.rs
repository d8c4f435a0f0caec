//! External platforms: an executable `shopunlink-platform-NAME` on `PATH` that speaks the plugin
//! protocol (docs/plugin-protocol.md) becomes a [`Platform`] like the built-in ones.
//!
//! The split: [`rpc`] is the conversation (lines, ids, deadlines, a dead or babbling child),
//! [`wire`] the protocol's JSON shapes, [`client`] the trait on top. Plugins are found the way git
//! and cargo find subcommands: the first executable file of that name along `PATH`.

pub mod client;
pub mod rpc;
pub mod wire;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Value, json};

pub use client::External;

use super::{Platform, PlatformContext};
use crate::credentials::{Credentials, EnvStore};
use crate::error::{Error, Result};

/// The prefix of a plugin's executable name.
pub const PREFIX: &str = "shopunlink-platform-";

/// The setting that replaces the plugin deadlines (seconds): for slow plugins, and for tests.
pub const TIMEOUT_ENV: &str = "SHOPUNLINK_PLUGIN_TIMEOUT";

/// A plugin found on `PATH`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Its `NAME`.
    pub name: String,
    /// Where it is.
    pub path: PathBuf,
}

/// The plugin called `name` on `PATH`, if there is one.
pub fn locate(name: &str) -> Option<PathBuf> {
    if !valid_name(name) {
        return None;
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(format!("{PREFIX}{name}"))).find(|p| is_executable(p))
}

/// Every plugin on `PATH`, first of each name, sorted by name.
pub fn list() -> Vec<Found> {
    let mut found: Vec<Found> = Vec::new();
    let Some(path) = std::env::var_os("PATH") else { return found };
    for dir in std::env::split_paths(&path) {
        let Ok(entries) = std::fs::read_dir(&dir) else { continue };
        for entry in entries.flatten() {
            let file = entry.file_name();
            let Some(name) = file.to_str().and_then(|f| f.strip_prefix(PREFIX)) else { continue };
            if valid_name(name) && !found.iter().any(|f| f.name == name) && is_executable(&entry.path()) {
                found.push(Found { name: name.to_owned(), path: entry.path() });
            }
        }
    }
    found.sort_by(|a, b| a.name.cmp(&b.name));
    found
}

/// A plugin name: what `--platform` accepts and a file name can hold, never a path.
fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

#[cfg(unix)]
fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

#[cfg(not(unix))]
fn is_executable(path: &Path) -> bool {
    path.is_file()
}

/// Opens the plugin called `name`; `unknown` is the registry's error, returned (with a hint about
/// plugins) when there is no such plugin either.
pub fn open(name: &str, ctx: &PlatformContext, unknown: Error) -> Result<Box<dyn Platform>> {
    let Some(path) = locate(name) else {
        return Err(unknown.with_hint(format!(
            "a platform can also be a plugin: an executable {PREFIX}{name} on PATH (see `shopunlink platform list`)"
        )));
    };
    client::block_on(start(name, &path, ctx))?.map(|p| Box::new(p) as Box<dyn Platform>)
}

/// Starts the plugin at `path`, runs the handshake and hands over credentials if it asks.
pub async fn start(name: &str, path: &Path, ctx: &PlatformContext) -> Result<External> {
    let timeout = timeout_override(ctx)?;
    let state_dir = ctx.state_dir.join("plugins").join(name).join(&ctx.profile);
    crate::fsutil::create_private_dir(&state_dir)?;
    let conn = rpc::Connection::spawn(&format!("{PREFIX}{name}"), path)?;
    let intro = client::Introduction { profile: ctx.profile.clone(), state_dir, settings: settings_for(name, ctx) };
    let plugin = External::handshake(conn, name, intro, timeout).await?;
    if plugin.needs_credentials() {
        let stored = ctx.credentials.load(&ctx.profile)?;
        plugin.send_credentials(stored.as_ref().map_or(Value::Null, credentials_json)).await?;
    }
    Ok(plugin)
}

/// The credential variables of the environment store: they travel in `set_credentials`, only to a
/// plugin that asks, never with the settings.
const CREDENTIAL_VARS: [&str; 4] = ["APP_KEY", "APP_SECRET", "ACCESS_TOKEN", "REFRESH_TOKEN"];

/// The `SHOPUNLINK_NAME_*` environment and the profile's platform keys: what a plugin may read.
/// Other platforms' variables (their tokens) are not passed, nor the plugin's own credentials.
fn settings_for(name: &str, ctx: &PlatformContext) -> Value {
    let store = EnvStore::for_platform(name, &ctx.settings.env);
    let pattern = store.pattern();
    let own = pattern.trim_end_matches('*');
    let secret: Vec<String> = CREDENTIAL_VARS.iter().map(|f| store.var(f)).collect();
    let env: serde_json::Map<String, Value> = ctx
        .settings
        .env
        .iter()
        .filter(|(k, _)| k.starts_with(own) && !secret.contains(k))
        .map(|(k, v)| (k.clone(), Value::from(v.clone())))
        .collect();
    let config = serde_json::to_value(&ctx.settings.config).unwrap_or_else(|_| json!({}));
    json!({"env": env, "config": config})
}

/// The stored credentials as the plugin receives them: every field, secrets exposed (the plugin
/// is the platform client; this is the one place they cross a process boundary, on a pipe).
fn credentials_json(c: &Credentials) -> Value {
    json!({
        "app_key": c.app_key,
        "app_secret": c.app_secret.expose(),
        "access_token": c.access_token.expose(),
        "refresh_token": c.refresh_token.as_ref().map(|s| s.expose()),
        "access_token_expires_at": c.access_token_expires_at,
        "refresh_token_expires_at": c.refresh_token_expires_at,
        "scopes": c.scopes,
        "seller_name": c.seller_name,
    })
}

/// [`TIMEOUT_ENV`], when set: one deadline for the handshake and every request.
fn timeout_override(ctx: &PlatformContext) -> Result<Option<Duration>> {
    let Some(text) = ctx.settings.env.get(TIMEOUT_ENV) else { return Ok(None) };
    match text.trim().parse::<f64>() {
        Ok(secs) if secs > 0.0 && secs <= 86_400.0 => Ok(Some(Duration::from_secs_f64(secs))),
        _ => Err(Error::usage(format!("{TIMEOUT_ENV} must be a number of seconds, not {text:?}"))
            .with_hint(format!("e.g. {TIMEOUT_ENV}=60"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_plugin_sees_its_own_settings_but_no_secret_and_no_other_platform() {
        let env = [
            ("SHOPUNLINK_MY_SHOP_REGION", "eu"),
            ("SHOPUNLINK_MY_SHOP_ACCESS_TOKEN", "secret"),
            ("SHOPUNLINK_OTHER_ACCESS_TOKEN", "other"),
            ("SHOPUNLINK_PROFILE", "default"),
        ];
        let ctx = PlatformContext {
            profile: "default".into(),
            state_dir: PathBuf::new(),
            settings: crate::platform::PlatformSettings {
                env: env.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect(),
                config: [("region".to_owned(), toml::Value::from("eu"))].into_iter().collect(),
                config_path: PathBuf::new(),
            },
            credentials: std::sync::Arc::new(crate::credentials::MemoryStore::default()),
        };
        let settings = settings_for("my-shop", &ctx);
        assert_eq!(settings, json!({"env": {"SHOPUNLINK_MY_SHOP_REGION": "eu"}, "config": {"region": "eu"}}));
    }

    #[test]
    fn a_plugin_name_is_never_a_path() {
        assert!(valid_name("example"));
        assert!(valid_name("my-shop_2"));
        for bad in ["", "../x", "a/b", "Shop", "a b"] {
            assert!(!valid_name(bad), "{bad}");
        }
    }
}
