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
use crate::platform::{self, PlatformSettings};

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
    /// The terminal type; `dumb` means a terminal that cannot show colour (Emacs shells, some
    /// CI log viewers).
    pub const TERM: &str = "TERM";
    /// Log filter, overrides -v/-q.
    pub const RUST_LOG: &str = "RUST_LOG";
    /// Keyring backend: `os` (default) or `none` (behave as if no keyring were reachable, as in
    /// a container; tests use it so they never need a keyring daemon).
    pub const KEYRING: &str = "SHOPUNLINK_KEYRING";
    /// Base32 TOTP secret for `disconnect`, for CI jobs that keep it in their secret store.
    pub const TOTP_SECRET: &str = "SHOPUNLINK_TOTP_SECRET";
    /// For tests: a disconnect pauses at the start of this step (1 to 7) until a signal arrives
    /// (at most a minute), so a signal can be sent at a known step. `N,hung` pauses as a hung
    /// request would, which a signal does not end. It only waits; it skips nothing.
    pub const TEST_PAUSE_AT_STEP: &str = "SHOPUNLINK_TEST_PAUSE_AT_STEP";
}

/// The keys every profile may set, whatever its platform.
pub const PROFILE_KEYS: &[&str] = &["platform", "shop", "export_dir"];

/// One profile's section of `config.toml`: the keys every platform shares, and the platform's
/// own (checked against what the platform declares, [`crate::platform::Provider::settings`]).
#[derive(Debug, Clone, Default, Deserialize)]
pub struct ProfileConfig {
    /// Platform for this profile.
    pub platform: Option<String>,
    /// Default shop (id or name).
    pub shop: Option<String>,
    /// Default export directory parent.
    pub export_dir: Option<PathBuf>,
    /// The platform's own keys.
    #[serde(flatten)]
    pub platform_keys: toml::Table,
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
    /// True when stderr is a terminal that can draw progress bars (not `TERM=dumb`).
    pub stderr_is_terminal: bool,
    /// `RUST_LOG`, when set.
    pub log_filter: Option<String>,
    /// Path of `config.toml` (may not exist).
    pub config_path: PathBuf,
    /// State directory (may not exist yet).
    pub state_dir: PathBuf,
    /// `SHOPUNLINK_OTP`.
    pub otp: Option<Secret>,
    /// What the platform reads for itself: `SHOPUNLINK_*` variables and its config keys.
    pub platform_settings: PlatformSettings,
    /// Credentials from the environment.
    pub env_credentials: EnvStore,
    /// Which keyring backend to use (`SHOPUNLINK_KEYRING`).
    pub keyring: KeyringChoice,
    /// `SHOPUNLINK_TOTP_SECRET`.
    pub totp_secret: Option<Secret>,
    /// `SHOPUNLINK_TEST_PAUSE_AT_STEP`: the disconnect step to pause at (tests only).
    pub pause_at_step: Option<TestPause>,
}

/// Where a signal test stops a disconnect (`SHOPUNLINK_TEST_PAUSE_AT_STEP=N` or `N,hung`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TestPause {
    /// The step (1 to 7) to pause at the start of.
    pub step: u8,
    /// True: a signal does not end the pause (a request that hangs); the grace or a second
    /// signal does.
    pub hung: bool,
}

impl TestPause {
    fn parse(text: &str) -> Option<TestPause> {
        let (step, hung) = match text.split_once(',') {
            Some((step, "hung")) => (step, true),
            Some(_) => return None,
            None => (text, false),
        };
        step.trim().parse().ok().filter(|s| (1..=7).contains(s)).map(|step| TestPause { step, hung })
    }
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
            .unwrap_or_else(|| platform::DEFAULT.into());

        let stdin_tty = std::io::stdin().is_terminal();
        let stderr_tty = std::io::stderr().is_terminal();
        let no_input = global.no_input || var(env::NO_INPUT).is_some_and(|v| v != "0") || var(env::CI).is_some();
        let (color_stdout, color_stderr) = colors(global.color, std::io::stdout().is_terminal(), stderr_tty);

        check_platform_keys(&config_path, &config)?;
        let platform_settings = PlatformSettings {
            env: std::env::vars().filter(|(k, v)| k.starts_with("SHOPUNLINK_") && !v.is_empty()).collect(),
            config: profile_config.platform_keys.clone(),
            config_path: config_path.clone(),
        };
        let env_credentials = EnvStore::for_platform(&platform, &platform_settings.env);
        if let Ok(provider) = platform::provider(&platform) {
            provider.check_settings(&platform_settings)?;
        }
        Ok(Settings {
            platform,
            profile,
            profile_config,
            json: global.json,
            interactive: !no_input && stdin_tty && stderr_tty,
            verbosity: i8::try_from(global.verbose).unwrap_or(i8::MAX) - i8::try_from(global.quiet).unwrap_or(i8::MAX),
            color_stdout,
            color_stderr,
            stderr_is_terminal: stderr_tty && !dumb_terminal(),
            log_filter: var(env::RUST_LOG),
            config_path,
            state_dir,
            otp: var(env::OTP).map(Secret::new),
            platform_settings,
            env_credentials,
            keyring: keyring_choice()?,
            totp_secret: var(env::TOTP_SECRET).map(Secret::new),
            pause_at_step: var(env::TEST_PAUSE_AT_STEP).and_then(|v| TestPause::parse(&v)),
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
        platform: platform::DEFAULT.into(),
        profile: "default".into(),
        profile_config: ProfileConfig::default(),
        json: global.json,
        interactive: false,
        verbosity: 0,
        color_stdout,
        color_stderr,
        stderr_is_terminal: stderr_tty && !dumb_terminal(),
        log_filter: None,
        config_path: PathBuf::new(),
        state_dir: PathBuf::new(),
        otp: None,
        platform_settings: PlatformSettings::default(),
        env_credentials: EnvStore::default(),
        keyring: KeyringChoice::Disabled,
        totp_secret: None,
        pause_at_step: None,
    }
}

/// `TERM=dumb`: a terminal that shows escape codes as text, so neither colour nor progress bars.
fn dumb_terminal() -> bool {
    var(env::TERM).is_some_and(|t| t == "dumb")
}

fn colors(choice: ColorChoice, stdout_tty: bool, stderr_tty: bool) -> (bool, bool) {
    let env = ColorEnv {
        no_color: var(env::NO_COLOR).is_some(),
        force: var(env::CLICOLOR_FORCE).is_some_and(|v| v != "0"),
        dumb_terminal: dumb_terminal(),
    };
    env.decide(choice, stdout_tty, stderr_tty)
}

/// What the environment says about colour.
#[derive(Debug, Clone, Copy, Default)]
struct ColorEnv {
    /// `NO_COLOR` is set (no-color.org).
    no_color: bool,
    /// `CLICOLOR_FORCE` is set and not `0`.
    force: bool,
    /// `TERM=dumb`: a terminal, but one that shows escape codes as text.
    dumb_terminal: bool,
}

impl ColorEnv {
    /// Colour on (stdout, stderr). `--color always|never` wins, then `NO_COLOR`, then
    /// `CLICOLOR_FORCE`; otherwise colour goes only to a terminal that is not `TERM=dumb`.
    fn decide(self, choice: ColorChoice, stdout_tty: bool, stderr_tty: bool) -> (bool, bool) {
        match choice {
            ColorChoice::Always => (true, true),
            ColorChoice::Never => (false, false),
            ColorChoice::Auto if self.no_color => (false, false),
            ColorChoice::Auto if self.force => (true, true),
            ColorChoice::Auto if self.dumb_terminal => (false, false),
            ColorChoice::Auto => (stdout_tty, stderr_tty),
        }
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
        Error::internal("cannot find your home directory").with_source(e).with_hint("set SHOPUNLINK_HOME")
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
        .with_hint(format!("fix or remove the file; keys per profile: {}", known_keys(None).join(", ")));
        if let Some(l) = line {
            err = err.with_detail("line", l);
        }
        if let Some(k) = key {
            err = err.with_detail("key", k);
        }
        err.with_detail("path", path.display().to_string())
    })
}

/// The keys a profile of `platform` may set (every platform's when it names none).
fn known_keys(platform: Option<&str>) -> Vec<&'static str> {
    let mut keys = PROFILE_KEYS.to_vec();
    let providers = platform::REGISTRY.iter().filter(|p| platform.is_none_or(|n| p.name() == n));
    keys.extend(providers.flat_map(|p| p.settings()).filter_map(|s| s.key));
    keys.dedup();
    keys
}

/// Refuses a key that neither every profile nor the profile's platform knows, naming the file,
/// line and key, so a typo (`rate_limt`) is never silently ignored. A platform that is not built
/// in (a plugin) declares its keys at run time, so its profiles' keys are checked by it.
pub fn check_platform_keys(path: &Path, config: &ConfigFile) -> Result<()> {
    for (name, profile) in &config.profiles {
        let platform = profile.platform.as_deref();
        if platform.is_some_and(|p| platform::provider(p).is_err()) {
            continue;
        }
        let known = known_keys(platform);
        for (key, value) in &profile.platform_keys {
            let problem = if known.contains(&key.as_str()) {
                value_problem(key, value)
            } else {
                Some((format!("unknown key `{key}`"), format!("keys for this profile: {}", known.join(", "))))
            };
            if let Some((cause, hint)) = problem {
                return Err(key_error(path, name, key, cause, hint));
            }
        }
    }
    Ok(())
}

/// What is wrong with a platform key's value, asking every platform that reads the key.
fn value_problem(key: &str, value: &toml::Value) -> Option<(String, String)> {
    let alone =
        PlatformSettings { config: [(key.to_owned(), value.clone())].into_iter().collect(), ..Default::default() };
    let readers = platform::REGISTRY.iter().filter(|p| p.settings().iter().any(|s| s.key == Some(key)));
    readers
        .filter_map(|p| p.check_settings(&alone).err())
        .map(|e| (e.message().to_owned(), e.hints().join("; ")))
        .next()
}

fn key_error(path: &Path, profile: &str, key: &str, cause: String, hint: String) -> Error {
    let text = fsutil::read_optional(path).ok().flatten().unwrap_or_default();
    let line = line_of(&text, profile, key);
    let mut err = Error::usage(format!(
        "{}{} is not a valid config file (key `profiles.{profile}.{key}`)",
        path.display(),
        line.map(|l| format!(":{l}")).unwrap_or_default(),
    ))
    .with_cause(cause)
    .with_hint(hint)
    .with_detail("key", format!("profiles.{profile}.{key}"))
    .with_detail("path", path.display().to_string());
    if let Some(l) = line {
        err = err.with_detail("line", l);
    }
    err
}

/// The 1-based line where `key` is set in `[profiles.<profile>]`.
fn line_of(text: &str, profile: &str, key: &str) -> Option<usize> {
    let mut in_profile = false;
    for (n, line) in text.lines().enumerate() {
        let t = line.trim();
        if let Some(h) = t.strip_prefix('[') {
            let h = h.trim_matches(['[', ']', ' ']);
            in_profile = h == format!("profiles.{profile}") || h == format!("profiles.\"{profile}\"");
        } else if in_profile && t.split_once('=').is_some_and(|(k, _)| k.trim().trim_matches('"') == key) {
            return Some(n + 1);
        }
    }
    None
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
    fn config_errors_name_the_dotted_key() {
        let text = "[profiles.default]\nplatform = \"example\"\n\n[profiles.acme]\nrate_limit = \"fast\"\n";
        assert_eq!(key_at(text, 5).as_deref(), Some("profiles.acme.rate_limit"));
        assert_eq!(key_at(text, 4).as_deref(), Some("profiles.acme"));
        assert_eq!(key_at(text, 3), None);
        assert_eq!(key_at("a = 1", 1).as_deref(), Some("a"));
    }

    #[test]
    fn colour_follows_the_flag_then_no_color_then_force_then_the_terminal() {
        use ColorChoice::{Always, Auto, Never};
        let plain = ColorEnv::default();
        assert_eq!(plain.decide(Auto, true, false), (true, false), "only where a terminal is");
        assert_eq!(plain.decide(Never, true, true), (false, false));
        let dumb = ColorEnv { dumb_terminal: true, ..plain };
        assert_eq!(dumb.decide(Auto, true, true), (false, false), "TERM=dumb shows escape codes as text");
        assert_eq!(dumb.decide(Always, true, true), (true, true), "--color always still forces it");
        assert_eq!(ColorEnv { force: true, ..dumb }.decide(Auto, false, false), (true, true), "so does CLICOLOR_FORCE");
        let no_color = ColorEnv { no_color: true, force: true, ..plain };
        assert_eq!(no_color.decide(Auto, true, true), (false, false), "NO_COLOR wins over CLICOLOR_FORCE");
        assert_eq!(no_color.decide(Always, false, false), (true, true), "the flag wins over both");
    }

    #[test]
    fn a_test_pause_names_a_step_and_maybe_hangs() {
        assert_eq!(TestPause::parse("3"), Some(TestPause { step: 3, hung: false }));
        assert_eq!(TestPause::parse("6,hung"), Some(TestPause { step: 6, hung: true }));
        for bad in ["0", "8", "x", "2,maybe", ""] {
            assert_eq!(TestPause::parse(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn unknown_key_names_file_line_and_key() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("config.toml");
        std::fs::write(&p, "[profiles.default]\nshop = \"x\"\ncolour = \"red\"\n").unwrap();
        let e = check_platform_keys(&p, &load_config(&p).unwrap()).unwrap_err();
        assert_eq!(e.kind(), crate::error::ErrorKind::Usage);
        assert!(e.message().contains("config.toml:3"), "{}", e.message());
        assert!(e.to_string().contains("colour"), "{e}");
    }
}
