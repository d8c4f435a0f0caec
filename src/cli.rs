//! What the user can type (SPEC §2). Doc comments here are the `--help` text.

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::commands;

/// Safely cut the links between social-commerce accounts: see what is linked, export every sale,
/// listing and payout, prove the export complete, then disconnect with a second factor and a
/// receipt.
///
/// Runs out of the box on an embedded sandbox shop; `--platform tiktok` talks to TikTok Shop.
#[derive(Debug, Parser)]
#[command(name = "shopunlink", version, propagate_version = true, max_term_width = 100, args_override_self = true)]
#[command(after_help = "Start with: shopunlink status (or shopunlink alone, at a terminal, to pick a link and \
disconnect it step by step)\nExit codes: 0 ok, 1 failure, 2 usage, 3 cancelled, \
4 auth, 5 refused for safety, 6 platform, 7 not found, 8 verification failed, 9 waiting for the owner, \
130 interrupted.")]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    /// None: `shopunlink` alone, which at a terminal walks through a disconnect.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// The top-level help, as `shopunlink --help` shows it (for `shopunlink` alone in a script).
pub fn usage() -> String {
    use clap::CommandFactory;
    Cli::command().render_help().to_string()
}

/// The heading the global flags get in every command's `--help`, apart from the command's own.
pub const GLOBAL_HEADING: &str = "Global options";

/// Flags accepted before or after any subcommand.
#[derive(Debug, Args)]
#[command(next_help_heading = GLOBAL_HEADING)]
pub struct GlobalArgs {
    /// Platform to talk to: sandbox (default), tiktok, or a plugin NAME [env: SHOPUNLINK_PLATFORM]
    #[arg(long, global = true, value_name = "NAME")]
    pub platform: Option<String>,

    /// Named set of settings and credentials [env: SHOPUNLINK_PROFILE] [default: default]
    #[arg(long, global = true, value_name = "NAME")]
    pub profile: Option<String>,

    /// Print one JSON document on stdout instead of text
    #[arg(long, global = true)]
    pub json: bool,

    /// Never prompt; fail naming the flag to pass instead [env: SHOPUNLINK_NO_INPUT=1]
    #[arg(long, global = true)]
    pub no_input: bool,

    /// Say more on stderr; -vv shows every HTTP request (secrets redacted)
    #[arg(short, long, global = true, action = clap::ArgAction::Count, conflicts_with = "quiet")]
    pub verbose: u8,

    /// Say less on stderr
    #[arg(short, long, global = true, action = clap::ArgAction::Count)]
    pub quiet: u8,

    /// When to use colour [env: NO_COLOR, CLICOLOR_FORCE, TERM=dumb]
    #[arg(long, global = true, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub color: ColorChoice,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal (not TERM=dumb) and NO_COLOR is not set.
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    Status(commands::status::StatusArgs),
    Export(commands::export::ExportArgs),
    Verify(commands::verify::VerifyArgs),
    Disconnect(commands::disconnect::DisconnectArgs),
    Links(commands::links::LinksArgs),
    Receipts(commands::receipts::ReceiptsArgs),
    #[command(name = "platform")]
    Platforms(commands::platforms::PlatformArgs),
    #[command(flatten)]
    Platform(crate::platform::PlatformCommand),
    Completions(commands::completions::CompletionsArgs),
    Auth(commands::auth::AuthArgs),
    Doctor(commands::doctor::DoctorArgs),
    Man(commands::man::ManArgs),
}
