//! `shopunlink man`: the manual page, generated from the same clap definitions as `--help`, so it
//! can never drift from what the program accepts.

use clap::{Args, CommandFactory};

use super::Ctx;
use crate::cli::Cli;
use crate::error::{Error, Result};
use crate::settings::env;

/// Print the manual page (roff) to stdout.
///
/// Examples:
///   shopunlink man | man -l -
///   mkdir -p ~/.local/share/man/man1
///   shopunlink man > ~/.local/share/man/man1/shopunlink.1
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ManArgs {}

/// Environment variables every platform shares, for the ENVIRONMENT section (SPEC §3, §7); each
/// platform's own follow, from its [`crate::platform::Provider::settings`].
pub const ENVIRONMENT: &[(&str, &str)] = &[
    (
        env::HOME,
        "Root for config.toml and state/ (receipts, audit log, declared links, platform state, credentials file).",
    ),
    (env::PLATFORM, "Platform, as --platform."),
    (env::PROFILE, "Profile, as --profile."),
    (env::NO_INPUT, "1: never prompt, as --no-input. CI (any value) does the same."),
    (env::OTP, "The second-factor code for disconnect, as --otp."),
    (env::KEYRING, "os (default) or none: behave as if no OS keyring were reachable."),
    (env::TOTP_SECRET, "Base32 TOTP secret of the profile, for CI."),
    (
        env::TEST_PAUSE_AT_STEP,
        "For tests: disconnect pauses at the start of step N (1-7) until a signal arrives (at most a minute); \
         N,hung: as a hung request, which only the grace or a second signal ends.",
    ),
    (env::NO_COLOR, "Any value: no colour (unless --color always)."),
    (env::CLICOLOR_FORCE, "Non-zero: colour even when not writing to a terminal."),
    (env::TERM, "dumb: no colour on that terminal (unless --color always or CLICOLOR_FORCE)."),
    (env::RUST_LOG, "Log filter for stderr, overrides -v and -q."),
    (crate::net::SSL_CERT_FILE, "A PEM bundle of extra trusted root certificates (a TLS-inspecting proxy's CA)."),
    (
        crate::platform::external::TIMEOUT_ENV,
        "Seconds a platform plugin may take per request (default 30; handshake 10).",
    ),
    ("SHOPUNLINK_<NAME>_*", "A platform's credentials (_APP_KEY, _APP_SECRET, _ACCESS_TOKEN, _REFRESH_TOKEN), for CI."),
];

/// Writes the roff page: clap's sections, then ENVIRONMENT and EXIT STATUS.
pub fn run(ctx: &Ctx<'_>, _args: ManArgs) -> Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buf)
        .map_err(|e| Error::internal("cannot render the manual page").with_source(e))?;
    let mut page = String::from_utf8_lossy(&buf).into_owned();
    page.push_str(".SH ENVIRONMENT\n");
    for (name, what) in environment() {
        page.push_str(&format!(".TP\n\\fB{}\\fR\n{}\n", roff(&name), roff(&what)));
    }
    page.push_str(".SH \"EXIT STATUS\"\n");
    for (code, what) in EXIT_CODES {
        page.push_str(&format!(".TP\n{code}\n{}\n", roff(what)));
    }
    ctx.ui.print_raw(&page);
    Ok(())
}

/// Every environment variable the program reads: the shared ones, then each platform's.
pub fn environment() -> Vec<(String, String)> {
    let mut all: Vec<(String, String)> = ENVIRONMENT.iter().map(|(n, w)| ((*n).to_owned(), (*w).to_owned())).collect();
    for provider in crate::platform::REGISTRY {
        for s in provider.settings() {
            if let Some(env) = s.env {
                all.push((env.to_owned(), s.help.to_owned()));
            }
        }
    }
    all
}

/// Exit codes (SPEC §4).
const EXIT_CODES: &[(u8, &str)] = &[
    (0, "Success (also: disconnecting a link that is already gone)."),
    (1, "Unexpected failure."),
    (2, "Usage: bad flags or arguments, or input needed under --no-input."),
    (3, "Cancelled: a confirmation was declined."),
    (4, "Authentication: no credentials, invalid token, wrong or expired second-factor code."),
    (5, "Refused for safety by a preflight check."),
    (6, "Platform error: network, 5xx or rate limiting after retries, an unreadable response."),
    (7, "Not found: unknown shop or link."),
    (8, "Verification failed: an export is incomplete, altered or corrupt."),
    (9, "Waiting for the owner: a guided disconnect did its part, but --wait ran out before the link was gone."),
    (130, "Interrupted."),
];

/// Escapes text for roff: backslashes and hyphens, and a leading dot or quote.
fn roff(text: &str) -> String {
    let escaped = text.replace('\\', "\\e").replace('-', "\\-");
    if escaped.starts_with('.') || escaped.starts_with('\'') { format!("\\&{escaped}") } else { escaped }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every variable the program reads is documented where users look: the README's table (the
    /// man page and `--help` are generated from the same list).
    #[test]
    fn every_environment_variable_is_in_the_readme() {
        let readme = include_str!("../../README.md");
        for (name, _) in environment() {
            let first = name.split(',').next().unwrap_or(&name).trim();
            assert!(readme.contains(first), "{first} is read but not in README.md's environment table");
        }
    }
}
