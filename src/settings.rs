//! Flags, environment and `config.toml`, resolved once into [`Settings`].
//!
//! Commands read nothing but `Settings`: every environment variable the program honours is named
//! in [`env`], and this is the only module that reads them (uv's habit), so precedence
//! (flag > environment > config file > default) is decided in one place.

use std::collections::BTreeMap;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::cli::{ColorChoice, GlobalArgs};
use crate::credentials::{EnvStore, Secret};
use crate::error::{Error, Result};
use crate::fsutil;

/// Every environment variable the program reads.
pub mod env {
    /// Root for config and state (tests and scripts point it at a temp dir).
    pub const HOME: &str = "SHOPUNLINK_HOME";
    /// Platform name.
    pub const PLATFORM: &str = "SHOPUNLINK_PLATFORM";
    /// Profile name.
    pub const PROFILE: &str = "SHOPUNLINK_PROFILE";
    /// `1` means never prompt.
    pub const NO_INPUT: &str = "SHOPUNLINK_NO_INPUT";
    /// Any value means a CI job: never prompt.
    pub const CI: &str = "CI";
    /// The second-factor code for `disconnect`.
    pub const OTP: &str = "SHOPUNLINK_OTP";
    /// Disable colour (no-color.org).
    pub const NO_COLOR: &str = "NO_COLOR";
    /// Force colour even when not a terminal.
    pub const CLICOLOR_FORCE: &str = "CLICOLOR_FORCE";
    /// Log filter, overrides -v/-q.
    pub const RUST_LOG: &str = "RUST_LOG";
    /// TikTok app key.
    pub const TIKTOK_APP_KEY: &str = "SHOPUNLINK_TIKTOK_APP_KEY";
    /// TikTok app secret.
    pub const TIKTOK_APP_SECRET: &str = "SHOPUNLINK_TIKTOK_APP_SECRET";
    /// TikTok access token.
    pub const TIKTOK_ACCESS_TOKEN: &str = "SHOPUNLINK_TIKTOK_ACCESS_TOKEN";
    /// TikTok refresh token.
    pub const TIKTOK_REFRESH_TOKEN: &str = "SHOPUNLINK_TIKTOK_REFRESH_TOKEN";
    /// TikTok API base URL.
    pub const TIKTOK_API_BASE: &str = "SHOPUNLINK_TIKTOK_API_BASE";
    /// TikTok token (auth) base URL.
    pub const TIKTOK_AUTH_BASE: &str = "SHOPUNLINK_TIKTOK_AUTH_BASE";
    /// Keyring backend: `os` (default) or `none` (behave as if no keyring were reachable, as in
    /// a container; tests use it so they never need a keyring daemon).
    pub const KEYRING: &str = "SHOPUNLINK_KEYRING";
    /// Base32 TOTP secret for `disconnect`, for CI jobs that keep it in their secret store.
    pub const TOTP_SECRET: &str = "SHOPUNLINK_TOTP_SECRET";
    /// First retry delay of the TikTok client in milliseconds (tests set it near zero).
    pub const TIKTOK_RETRY_BASE_MS: &str = "SHOPUNLINK_TIKTOK_RETRY_BASE_MS";
    /// TikTok requests per second per API; overrides the profile's `rate_limit`.
    pub const TIKTOK_RATE_LIMIT: &str = "SHOPUNLINK_TIKTOK_RATE_LIMIT";
}

/// Default TikTok Shop API host (SPEC §7).
pub const DEFAULT_TIKTOK_API_BASE: &str = "https://open-api.tiktokglobalshop.com";
/// Default TikTok Shop token host (SPEC §7).
pub const DEFAULT_TIKTOK_AUTH_BASE: &str = "https://auth.tiktok-shops.com";

/// Settings of the `tiktok` platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TiktokSettings {
    /// API base URL.
    pub api_base: String,
    /// Token endpoint base URL.
    pub auth_base: String,
    /// Client-side limit, requests per second per endpoint for each app + shop.
    pub rate_limit: u32,
    /// First retry delay in milliseconds; later retries double it (with jitter).
    pub retry_base_ms: u64,
}

/// Default client-side limit: TikTok's own, 50 requests per second per API.
pub const DEFAULT_TIKTOK_RATE_LIMIT: u32 = 50;

/// What `SHOPUNLINK_TIKTOK_RATE_LIMIT` accepts. Below TikTok's 50 suits an app shared with other
/// jobs; the ceiling catches a slip of the keyboard (an extra zero) before it earns a run of 429s.
pub const TIKTOK_RATE_LIMITS: std::ops::RangeInclusive<u32> = 1..=1000;

/// The rate limit from the environment's value, else the profile's, else the default; a value
/// outside [`TIKTOK_RATE_LIMITS`] is a usage error naming the variable.
fn tiktok_rate_limit(env_value: Option<String>, config: Option<u32>) -> Result<u32> {
    let Some(text) = env_value else {
        return match config {
            // Zero would stall every request forever; say so instead of guessing what was meant.
            Some(0) => Err(Error::usage("rate_limit in config.toml must be at least 1 request per second")
                .with_detail("key", "rate_limit")),
            other => Ok(other.unwrap_or(DEFAULT_TIKTOK_RATE_LIMIT)),
        };
    };
    match text.trim().parse::<u32>() {
        Ok(n) if TIKTOK_RATE_LIMITS.contains(&n) => Ok(n),
        _ => Err(Error::usage(format!(
            "{} must be a whole number of requests per second from {} to {}, not {text:?}",
            env::TIKTOK_RATE_LIMIT,
            TIKTOK_RATE_LIMITS.start(),
            TIKTOK_RATE_LIMITS.end()
        ))
        .with_hint(format!(
            "TikTok allows {DEFAULT_TIKTOK_RATE_LIMIT} per second per API; unset {} to use the profile's rate_limit",
            env::TIKTOK_RATE_LIMIT
        ))
        .with_detail("env", env::TIKTOK_RATE_LIMIT)),
    }
}

/// Default first retry delay of the TikTok client.
pub const DEFAULT_TIKTOK_RETRY_BASE_MS: u64 = 500;

/// One profile's section of `config.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProfileConfig {
    /// Platform for this profile.
    pub platform: Option<String>,
    /// Default shop (id or name).
    pub shop: Option<String>,
    /// Default export directory parent.
    pub export_dir: Option<PathBuf>,
    /// TikTok API base URL.
    pub api_base: Option<String>,
    /// TikTok token base URL.
    pub auth_base: Option<String>,
    /// TikTok requests per second per endpoint.
    pub rate_limit: Option<u32>,
    /// TikTok app service id, for the seller authorization URL of `auth login`.
    pub service_id: Option<String>,
}

/// The whole `config.toml`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Profiles by name.
    #[serde(default)]
    pub profiles: BTreeMap<String, ProfileConfig>,
}

/// Everything a command may know about its environment.
#[derive(Debug)]
pub struct Settings {
    /// Platform name (registry key).
    pub platform: String,
    /// Profile name.
    pub profile: String,
    /// The profile's config section (empty when the file has none).
    pub profile_config: ProfileConfig,
    /// `--json`.
    pub json: bool,
    /// True when prompting is allowed (terminal on stdin and stderr, no `--no-input`, no `CI`).
    pub interactive: bool,
    /// -v minus -q.
    pub verbosity: i8,
    /// Colour on stdout.
    pub color_stdout: bool,
    /// Colour on stderr.
    pub color_stderr: bool,
    /// True when stderr is a terminal (progress bars).
    pub stderr_is_terminal: bool,
    /// `RUST_LOG`, when set.
    pub log_filter: Option<String>,
    /// Path of `config.toml` (may not exist).
    pub config_path: PathBuf,
    /// State directory (may not exist yet).
    pub state_dir: PathBuf,
    /// `SHOPUNLINK_OTP`.
    pub otp: Option<Secret>,
    /// TikTok settings.
    pub tiktok: TiktokSettings,
    /// Credentials from the environment.
    pub env_credentials: EnvStore,
    /// Which keyring backend to use (`SHOPUNLINK_KEYRING`).
    pub keyring: KeyringChoice,
    /// `SHOPUNLINK_TOTP_SECRET`.
    pub totp_secret: Option<Secret>,
}

/// Which keyring backend `SHOPUNLINK_KEYRING` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyringChoice {
    /// The operating system's keyring (Keychain, Credential Manager, Secret Service).
    Os,
    /// None: as if no keyring were reachable.
    Disabled,
}

fn keyring_choice() -> Result<KeyringChoice> {
    match var(env::KEYRING).as_deref() {
        None | Some("os") => Ok(KeyringChoice::Os),
        Some("none") => Ok(KeyringChoice::Disabled),
        Some(other) => Err(Error::usage(format!("{} must be `os` or `none`, not {other:?}", env::KEYRING))
            .with_detail("env", env::KEYRING)),
    }
}

fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.is_empty())
}

impl Settings {
    /// Resolves flags, environment and config file.
    pub fn resolve(global: &GlobalArgs) -> Result<Settings> {
        let (config_path, state_dir) = locations()?;
        let config = load_config(&config_path)?;
        let profile = global.profile.clone().or_else(|| var(env::PROFILE)).unwrap_or_else(|| "default".into());
        crate::credentials::slot::check_profile_name(&profile)?;
        let profile_config = config.profiles.get(&profile).cloned().unwrap_or_default();
        let platform = global
            .platform
            .clone()
            .or_else(|| var(env::PLATFORM))
            .or_else(|| profile_config.platform.clone())
            .unwrap_or_else(|| "sandbox".into());

        let stdin_tty = std::io::stdin().is_terminal();
        let stderr_tty = std::io::stderr().is_terminal();
        let no_input = global.no_input || var(env::NO_INPUT).is_some_and(|v| v != "0") || var(env::CI).is_some();
        let (color_stdout, color_stderr) = colors(global.color, std::io::stdout().is_terminal(), stderr_tty);

        let tiktok = TiktokSettings {
            api_base: var(env::TIKTOK_API_BASE)
                .or_else(|| profile_config.api_base.clone())
                .unwrap_or_else(|| DEFAULT_TIKTOK_API_BASE.into()),
            auth_base: var(env::TIKTOK_AUTH_BASE)
                .or_else(|| profile_config.auth_base.clone())
                .unwrap_or_else(|| DEFAULT_TIKTOK_AUTH_BASE.into()),
            rate_limit: tiktok_rate_limit(var(env::TIKTOK_RATE_LIMIT), profile_config.rate_limit)?,
            retry_base_ms: var(env::TIKTOK_RETRY_BASE_MS)
                .and_then(|v| v.parse().ok())
                .unwrap_or(DEFAULT_TIKTOK_RETRY_BASE_MS),
        };
        Ok(Settings {
            platform,
            profile,
            profile_config,
            json: global.json,
            interactive: !no_input && stdin_tty && stderr_tty,
            verbosity: i8::try_from(global.verbose).unwrap_or(i8::MAX) - i8::try_from(global.quiet).unwrap_or(i8::MAX),
            color_stdout,
            color_stderr,
            stderr_is_terminal: stderr_tty,
            log_filter: var(env::RUST_LOG),
            config_path,
            state_dir,
            otp: var(env::OTP).map(Secret::new),
            tiktok,
            env_credentials: EnvStore {
                app_key: var(env::TIKTOK_APP_KEY),
                app_secret: var(env::TIKTOK_APP_SECRET).map(Secret::new),
                access_token: var(env::TIKTOK_ACCESS_TOKEN).map(Secret::new),
                refresh_token: var(env::TIKTOK_REFRESH_TOKEN).map(Secret::new),
            },
            keyring: keyring_choice()?,
            totp_secret: var(env::TOTP_SECRET).map(Secret::new),
        })
    }

    /// The shop named by `--shop`, else the profile's default shop.
    pub fn shop_query(&self, flag: Option<&str>) -> Option<String> {
        flag.map(str::to_owned).or_else(|| self.profile_config.shop.clone())
    }
}

/// Settings for output only, used when full resolution failed (e.g. a broken config file) so
/// the error can still be printed the way the user asked.
pub fn fallback(global: &GlobalArgs) -> Settings {
    let stderr_tty = std::io::stderr().is_terminal();
    let (color_stdout, color_stderr) = colors(global.color, std::io::stdout().is_terminal(), stderr_tty);
    Settings {
        platform: "sandbox".into(),
        profile: "default".into(),
        profile_config: ProfileConfig::default(),
        json: global.json,
        interactive: false,
        verbosity: 0,
        color_stdout,
        color_stderr,
        stderr_is_terminal: stderr_tty,
        log_filter: None,
        config_path: PathBuf::new(),
        state_dir: PathBuf::new(),
        otp: None,
        tiktok: TiktokSettings {
            api_base: DEFAULT_TIKTOK_API_BASE.into(),
            auth_base: DEFAULT_TIKTOK_AUTH_BASE.into(),
            rate_limit: DEFAULT_TIKTOK_RATE_LIMIT,
            retry_base_ms: DEFAULT_TIKTOK_RETRY_BASE_MS,
        },
        env_credentials: EnvStore::default(),
        keyring: KeyringChoice::Disabled,
        totp_secret: None,
    }
}

fn colors(choice: ColorChoice, stdout_tty: bool, stderr_tty: bool) -> (bool, bool) {
    match choice {
        ColorChoice::Always => (true, true),
        ColorChoice::Never => (false, false),
        ColorChoice::Auto if var(env::NO_COLOR).is_some() => (false, false),
        ColorChoice::Auto if var(env::CLICOLOR_FORCE).is_some_and(|v| v != "0") => (true, true),
        ColorChoice::Auto => (stdout_tty, stderr_tty),
    }
}

/// Where config and state live (SPEC §3).
fn locations() -> Result<(PathBuf, PathBuf)> {
    if let Some(home) = var(env::HOME) {
        let home = PathBuf::from(home);
        return Ok((home.join("config.toml"), home.join("state")));
    }
    use etcetera::BaseStrategy;
    let dirs = etcetera::choose_base_strategy().map_err(|e| {
        Error::internal("cannot find your home directory").with_cause(e).with_hint("set SHOPUNLINK_HOME")
    })?;
    let state = dirs.state_dir().unwrap_or_else(|| dirs.data_dir());
    Ok((dirs.config_dir().join("shopunlink").join("config.toml"), state.join("shopunlink")))
}

/// Reads `config.toml`; a missing file is an empty config, a malformed one is a usage error that
/// names the file, line and key.
pub fn load_config(path: &Path) -> Result<ConfigFile> {
    let Some(text) = fsutil::read_optional(path)? else {
        return Ok(ConfigFile::default());
    };
    toml::from_str(&text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let key = line.and_then(|l| key_at(&text, l));
        let mut err = Error::usage(format!(
            "{}{} is not a valid config file{}",
            path.display(),
            line.map(|l| format!(":{l}")).unwrap_or_default(),
            key.as_ref().map(|k| format!(" (key `{k}`)")).unwrap_or_default()
        ))
        .with_cause(e.message())
        .with_hint(
            "fix or remove the file; keys per profile: platform, shop, export_dir, api_base, auth_base, rate_limit, service_id",
        );
        if let Some(l) = line {
            err = err.with_detail("line", l);
        }
        if let Some(k) = key {
            err = err.with_detail("key", k);
        }
        err.with_detail("path", path.display().to_string())
    })
}

/// The dotted key on 1-based `line` of a TOML text (`profiles.acme.rate_limit`), or the table
/// a header line opens, so a config error can name the key even when the parser's message (a
/// type mismatch) does not.
fn key_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    let here = lines.get(line.checked_sub(1)?)?.trim();
    let header = |l: &str| l.trim().strip_prefix('[').map(|h| h.trim_matches(['[', ']', ' ']).to_owned());
    if let Some(table) = header(here) {
        return Some(table);
    }
    let key = here.split_once('=')?.0.trim().trim_matches('"');
    let table = lines[..line - 1].iter().rev().find_map(|l| header(l));
    Some(table.map_or_else(|| key.to_owned(), |t| format!("{t}.{key}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_env_beats_config_and_is_checked() {
        assert_eq!(tiktok_rate_limit(None, None).unwrap(), DEFAULT_TIKTOK_RATE_LIMIT);
        assert_eq!(tiktok_rate_limit(None, Some(20)).unwrap(), 20);
        assert!(tiktok_rate_limit(None, Some(0)).is_err());
        assert_eq!(tiktok_rate_limit(Some(" 7 ".into()), Some(20)).unwrap(), 7);
        assert_eq!(tiktok_rate_limit(Some("1000".into()), None).unwrap(), 1000);
        for bad in ["0", "1001", "-5", "fast", "2.5"] {
            let e = tiktok_rate_limit(Some(bad.into()), Some(20)).unwrap_err();
            assert_eq!(e.kind(), crate::error::ErrorKind::Usage, "{bad}");
            assert!(e.message().contains(env::TIKTOK_RATE_LIMIT), "{e}");
        }
    }

    #[test]
    fn config_errors_name_the_dotted_key() {
        let text = "[profiles.default]\nplatform = \"sandbox\"\n\n[profiles.acme]\nrate_limit = \"fast\"\n";
        assert_eq!(key_at(text, 5).as_deref(), Some("profiles.acme.rate_limit"));
        assert_eq!(key_at(text, 4).as_deref(), Some("profiles.acme"));
        assert_eq!(key_at(text, 3), None);
        assert_eq!(key_at("a = 1", 1).as_deref(), Some("a"));
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(&p, "[profiles.default]\nplatform = \"sandbox\"\ncolour = \"red\"\n").unwrap();
        let e = load_config(&p).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Usage);
        assert!(e.message().contains("config.toml:3"), "{}", e.message());
        assert!(e.to_string().contains("colour"), "{e}");
    }
}
