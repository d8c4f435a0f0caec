//! `shopunlink completions SHELL`.

use clap::{Args, CommandFactory};
use clap_complete::Shell;

use super::Ctx;
use crate::cli::Cli;
use crate::error::Result;

/// Print a shell completion script to stdout.
///
/// Examples:
///   mkdir -p ~/.local/share/bash-completion/completions
///   shopunlink completions bash > ~/.local/share/bash-completion/completions/shopunlink
///   mkdir -p ~/.zfunc   (and fpath+=~/.zfunc in ~/.zshrc)
///   shopunlink completions zsh > ~/.zfunc/_shopunlink
///   mkdir -p ~/.config/fish/completions
///   shopunlink completions fish > ~/.config/fish/completions/shopunlink.fish
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct CompletionsArgs {
    /// The shell to generate for.
    #[arg(value_enum)]
    pub shell: Shell,
}

/// Writes the completion script.
pub fn run(ctx: &Ctx<'_>, args: CompletionsArgs) -> Result<()> {
    let mut buf = Vec::new();
    clap_complete::generate(args.shell, &mut Cli::command(), "shopunlink", &mut buf);
    ctx.ui.print_raw(&String::from_utf8_lossy(&buf));
    Ok(())
}
