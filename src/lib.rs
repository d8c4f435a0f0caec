//! shopunlink: safely cut the links between social-commerce accounts.
//!
//! Data flows one way: [`cli`] (what was typed) → [`settings`] (resolved once) → [`commands`] (one
//! file per subcommand) → [`unlink`] / [`export`] (the careful parts) → [`platform`] (the wire).
//! Only [`ui`] writes to the terminal; only [`settings`] reads the environment.

pub mod cli;
pub mod commands;
pub mod credentials;
pub mod doctor;
pub mod error;
pub mod export;
pub mod fsutil;
pub mod interrupt;
pub mod lock;
pub mod net;
pub mod platform;
pub mod progress;
pub mod schema;
pub mod settings;
pub mod ui;
pub mod unlink;
pub mod words;

use std::ffi::OsString;

use clap::Parser;

use crate::cli::Cli;
use crate::error::Error;
use crate::settings::Settings;
use crate::ui::Ui;

/// Runs the program with `args` and returns the process exit code (SPEC §4).
pub fn main_entry(args: impl IntoIterator<Item = OsString>) -> u8 {
    let args: Vec<OsString> = args.into_iter().collect();
    let cli = match Cli::try_parse_from(&args) {
        Ok(cli) => cli,
        Err(e) => return usage_error(e, args.iter().any(|a| a == "--json")),
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build() {
        Ok(rt) => rt,
        Err(e) => {
            let ui = Ui::new(&settings::fallback(&cli.global));
            ui.error(&Error::internal("cannot start the async runtime").with_source(e));
            return 1;
        }
    };
    runtime.block_on(run(cli))
}

async fn run(cli: Cli) -> u8 {
    let settings = match Settings::resolve(&cli.global) {
        Ok(s) => s,
        Err(e) => {
            Ui::new(&settings::fallback(&cli.global)).error(&e);
            return e.kind().exit_code();
        }
    };
    let ui = Ui::new(&settings);
    interrupt::install();
    let ctx = commands::Ctx { settings: &settings, ui: &ui };
    match commands::dispatch(&ctx, cli.command).await {
        Ok(()) => 0,
        Err(e) => {
            ui.error(&e);
            e.kind().exit_code()
        }
    }
}

/// Prints a clap error (or help/version, which are not errors) and returns its exit code.
fn usage_error(e: clap::Error, json: bool) -> u8 {
    use clap::error::ErrorKind as K;
    if matches!(e.kind(), K::DisplayHelp | K::DisplayVersion) {
        let _ = e.print();
        return 0;
    }
    let _ = e.print();
    if json {
        let rendered = e.render().to_string();
        let first = if e.kind() == K::DisplayHelpOnMissingArgumentOrSubcommand {
            "a subcommand is required".to_owned()
        } else {
            rendered.lines().next().unwrap_or("invalid usage").trim_start_matches("error: ").to_owned()
        };
        let err = Error::usage(first).with_hint("see `shopunlink --help`");
        let ui = Ui::new(&settings::fallback(&cli::GlobalArgs {
            platform: None,
            profile: None,
            json: true,
            no_input: true,
            verbose: 0,
            quiet: 1,
            color: cli::ColorChoice::Never,
        }));
        ui.print_json(&err.to_json());
    }
    2
}
