//! `shopunlink platform list|check NAME`: which platforms there are, and whether one keeps the
//! contract (docs/plugin-protocol.md).
//!
//! (The file is `platforms.rs` because `commands/mod.rs` already brings `crate::platform` into
//! scope under that name.)

use clap::{Args, Subcommand};
use schemars::JsonSchema;
use serde::Serialize;

use super::Ctx;
use crate::credentials::Secret;
use crate::error::{Error, Result};
use crate::platform::conformance::{self, Check};
use crate::platform::{self, Challenge, external};
use crate::ui::Style;

/// List the platforms (built in, and plugins found on PATH), or check one against the contract.
///
/// A plugin is an executable named shopunlink-platform-NAME anywhere on PATH that speaks the
/// plugin protocol (docs/plugin-protocol.md); `--platform NAME` then uses it like a built-in.
///
/// `check` pages every dataset twice and resumes from a saved cursor, reads readiness, asks for an
/// unknown shop, and on a simulated platform (in a temporary state directory) also exercises the
/// second factor and disconnects a link twice. Exit 0 when every check passes, 8 when one fails,
/// 6 when the platform cannot be driven at all (a plugin that crashes, hangs or writes garbage).
///
/// Examples:
///   shopunlink platform list
///   shopunlink platform check sandbox
///   export PATH="$PWD/examples/platforms:$PATH"   (in a clone of shopunlink)
///   shopunlink platform check example --json
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct PlatformArgs {
    #[command(subcommand)]
    pub command: PlatformSubcommand,
}

/// The platform subcommands.
#[derive(Debug, Subcommand)]
pub enum PlatformSubcommand {
    /// List built-in platforms and plugins on PATH
    List,
    /// Run the conformance suite against a platform
    Check(CheckArgs),
}

/// Options for `platform check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// The platform (a built-in name or a plugin's NAME)
    pub name: String,
    /// Also cut a real link (challenge and disconnect checks) on a platform that is not simulated
    #[arg(long)]
    pub destructive: bool,
}

/// Runs `platform list|check`.
pub async fn run(ctx: &Ctx<'_>, args: PlatformArgs) -> Result<()> {
    match args.command {
        PlatformSubcommand::List => list(ctx),
        PlatformSubcommand::Check(check) => run_check(ctx, check).await,
    }
}

/// `platform list --json`: the built-in platforms, then the plugins found on `PATH`.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListDoc {
    /// Always 1.
    schema_version: u32,
    /// Built-ins first, then plugins in `PATH` order.
    platforms: Vec<Row>,
}

/// One platform: a built-in (with `about`) or a plugin (with `path` and `shadowed`).
#[derive(Debug, Serialize, JsonSchema)]
struct Row {
    /// The name `--platform` takes.
    name: String,
    /// True for a platform built into shopunlink.
    builtin: bool,
    /// A built-in's one-line description.
    #[serde(skip_serializing_if = "Option::is_none")]
    about: Option<&'static str>,
    /// A plugin's executable.
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<std::path::PathBuf>,
    /// A plugin hidden by the built-in of the same name.
    #[serde(skip_serializing_if = "Option::is_none")]
    shadowed: Option<bool>,
}

/// `platform check NAME --json`: every conformance check and its result.
#[derive(Debug, Serialize, JsonSchema)]
pub struct CheckDoc<'a> {
    /// Always 1.
    schema_version: u32,
    /// The platform checked.
    platform: &'a str,
    /// The checks, in the order they ran.
    checks: &'a [Check],
}

fn list(ctx: &Ctx<'_>) -> Result<()> {
    let builtins: Vec<_> = platform::REGISTRY.iter().map(|p| (p.name(), p.about())).collect();
    let plugins = external::list();
    let mut rows = Vec::new();
    for (name, about) in &builtins {
        ctx.ui.print(&format!("  {:<12} built in   {about}", ctx.ui.paint(Style::Bold, name)));
        rows.push(Row { name: (*name).to_owned(), builtin: true, about: Some(*about), path: None, shadowed: None });
    }
    for found in &plugins {
        let shadowed = builtins.iter().any(|(n, _)| *n == found.name);
        let note = if shadowed { " (hidden by the built-in of that name)" } else { "" };
        ctx.ui.print(&format!(
            "  {:<12} plugin     {}{note}",
            ctx.ui.paint(Style::Bold, &found.name),
            found.path.display()
        ));
        rows.push(Row {
            name: found.name.clone(),
            builtin: false,
            about: None,
            path: Some(found.path.clone()),
            shadowed: Some(shadowed),
        });
    }
    if plugins.is_empty() {
        ctx.ui.note(&format!("no plugins on PATH (executables named {}NAME)", external::PREFIX));
    }
    ctx.ui.print_json(&ListDoc { schema_version: 1, platforms: rows });
    Ok(())
}

async fn run_check(ctx: &Ctx<'_>, args: CheckArgs) -> Result<()> {
    let started = std::time::Instant::now();
    let subject = conformance::open(&args.name, &ctx.platform_context(), args.destructive)?;
    let ask = |challenge: &Challenge| -> Result<Secret> {
        let question = format!("Code sent to {}", challenge.sent_to);
        ctx.ui.prompt_secret(&question, "an interactive terminal").map(Secret::new)
    };
    let checks = conformance::run(subject.platform.as_ref(), args.destructive, &ask).await;
    drop(subject);
    print_table(ctx, &checks);
    let failed = checks.iter().filter(|c| !c.ok).count();
    let doc = CheckDoc { schema_version: 1, platform: &args.name, checks: &checks };
    let summary = format!(
        "{} in {:.1}s",
        crate::words::count(checks.len() as u64, "check", "checks"),
        started.elapsed().as_secs_f32()
    );
    if failed == 0 {
        ctx.ui.note(&format!("{} passes the conformance suite ({summary})", args.name));
        ctx.ui.print_json(&doc);
        return Ok(());
    }
    let first = checks.iter().find(|c| !c.ok).map(|c| format!("{}: {}", c.name, c.detail)).unwrap_or_default();
    Err(Error::verification(format!("{} failed {failed} of {summary}", args.name))
        .with_cause(first)
        .with_hint("docs/plugin-protocol.md says what each method must do")
        .with_document(&doc))
}

fn print_table(ctx: &Ctx<'_>, checks: &[Check]) {
    for check in checks {
        let mark = if check.ok { ctx.ui.paint(Style::Green, "ok  ") } else { ctx.ui.paint(Style::Red, "FAIL") };
        ctx.ui.print(&format!("  {mark}  {:<26} {}", check.name, check.detail));
    }
}
