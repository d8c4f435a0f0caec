//! `shopunlink man`: the manual page, generated from the same clap definitions as `--help`, so it
//! can never drift from what the program accepts.

use clap::{Args, CommandFactory};

use super::Ctx;
use crate::cli::Cli;
use crate::error::{Error, Result};

/// Print the manual page (roff) to stdout.
///
/// Examples:
///   shopunlink man | man -l -
///   shopunlink man > /usr/local/share/man/man1/shopunlink.1
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ManArgs {}

/// Writes the roff page.
pub fn run(ctx: &Ctx<'_>, _args: ManArgs) -> Result<()> {
    let mut buf = Vec::new();
    clap_mangen::Man::new(Cli::command())
        .render(&mut buf)
        .map_err(|e| Error::internal("cannot render the manual page").with_cause(e))?;
    ctx.ui.print_raw(&String::from_utf8_lossy(&buf));
    Ok(())
}
