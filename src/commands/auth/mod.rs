//! `shopunlink auth login | logout | status | totp enroll | totp remove`: the profile's secrets.
//!
//! Each subcommand is its own file. Secrets never arrive as command-line values (they would show
//! in `ps` and shell history): they come from the environment, a prompt, or standard input.

mod login;
mod logout;
mod status;
mod totp;

use clap::{Args, Subcommand};
use schemars::JsonSchema;
use serde::Serialize;

use super::Ctx;
use crate::credentials::Source;
use crate::error::Result;

pub use login::LoginOutput;
pub use status::StatusDoc;
pub use totp::EnrollDoc;

/// `auth logout --json` and `auth totp remove --json`: where the profile's secret was removed
/// from (empty when nothing was stored).
#[derive(Debug, Serialize, JsonSchema)]
pub struct RemovedDoc {
    /// Always 1.
    schema_version: u32,
    /// The profile.
    profile: String,
    /// The stores it was removed from (`keyring`, `file`).
    removed_from: Vec<Source>,
}

impl RemovedDoc {
    fn new(profile: &str, removed_from: &[Source]) -> RemovedDoc {
        RemovedDoc { schema_version: 1, profile: profile.to_owned(), removed_from: removed_from.to_vec() }
    }
}

/// Log in and out, see where credentials come from, and manage the profile's TOTP.
///
/// Credentials are looked up in this order, first hit wins: SHOPUNLINK_<PLATFORM>_* environment
/// variables, the OS keyring, then a 0600 file under the state directory (only where no keyring
/// is reachable). The sandbox needs none.
///
/// Examples:
///   shopunlink auth login --platform tiktok
///   echo "$REDIRECT_URL" | shopunlink auth login --platform tiktok --with-token
///   shopunlink auth status --json
///   shopunlink auth totp enroll
///   shopunlink auth logout --profile acme
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct AuthArgs {
    #[command(subcommand)]
    pub command: AuthCommand,
}

/// The auth subcommands.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// Authorise this app for a shop and store the tokens
    Login(login::LoginArgs),
    /// Forget the stored tokens of the profile
    Logout,
    /// Show, for every profile, where its credentials come from and when they expire
    Status,
    /// The profile's own second factor (used where the platform has no challenge, e.g. TikTok)
    #[command(subcommand)]
    Totp(totp::TotpCommand),
}

/// Runs `auth`.
pub async fn run(ctx: &Ctx<'_>, args: AuthArgs) -> Result<()> {
    match args.command {
        AuthCommand::Login(a) => login::run(ctx, a).await,
        AuthCommand::Logout => logout::run(ctx),
        AuthCommand::Status => status::run(ctx),
        AuthCommand::Totp(c) => totp::run(ctx, c),
    }
}
