//! `shopunlink doctor [--support]`: print what [`crate::doctor`] found.

use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;

use super::Ctx;
use crate::doctor::{self, Report};
use crate::error::{Error, ErrorKind, Result};
use crate::platform::Shop;
use crate::ui::Style;
use crate::words;

/// Check the setup: config, credentials, keyring, the platform's hosts and clock, recent failures.
///
/// Looks at the config and profile, where credentials come from, whether the keyring answers,
/// each base URL and the platform's clock, and the last failures in the audit log, then lists
/// the shops with one signed call to prove the credentials work. Other requests to the hosts are
/// anonymous. Exits 0 when every check passes; 4 when the credentials, keyring or TOTP are the
/// problem, 6 when the platform cannot be reached or refuses, else 1. On the sandbox it works
/// fully offline. `--support` prints a report to send to support, with every secret left out.
///
/// Examples:
///   shopunlink doctor
///   shopunlink doctor --platform tiktok --json
///   shopunlink doctor --support > support-report.txt
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct DoctorArgs {
    /// Print only the support-ready report (what to send support; secrets left out)
    #[arg(long)]
    pub support: bool,
}

/// `doctor --json`: every check, recent failed disconnects and a support report without secrets.
#[derive(Debug, Serialize, JsonSchema)]
pub struct DoctorDoc<'a> {
    /// Always 1.
    schema_version: u32,
    /// The platform checked.
    platform: &'a str,
    /// The profile checked.
    profile: &'a str,
    /// True when every check passed.
    ok: bool,
    /// The checks, in the order they ran.
    checks: &'a [doctor::Check],
    /// Recent failed disconnects, from the audit log.
    failures: &'a [doctor::checks::Failure],
    /// The text to send to support; secrets are never in it.
    support_report: &'a str,
}

/// Runs `doctor`.
pub async fn run(ctx: &Ctx<'_>, args: DoctorArgs) -> Result<()> {
    let shops = shops(ctx).await;
    let report = doctor::diagnose(ctx.settings, &ctx.credential_chain(), &ctx.platform_context(), shops).await;
    let doc = DoctorDoc {
        schema_version: 1,
        platform: &ctx.settings.platform,
        profile: &ctx.settings.profile,
        ok: report.ok(),
        checks: &report.checks,
        failures: &report.failures,
        support_report: &report.support_report,
    };
    if args.support && !ctx.ui.is_json() {
        ctx.ui.print(&report.support_report);
    } else if !ctx.ui.is_json() {
        print_checks(ctx, &report);
    }
    match failed(&report) {
        // Under --json the report rides in the error document: stdout stays one document.
        Some(e) => Err(e.with_document(&doc)),
        None => {
            ctx.ui.print_json(&doc);
            Ok(())
        }
    }
}

/// A failing doctor exits non-zero, so a script can gate on it: 4 when the credentials (or the
/// second factor) are the problem, 6 when the platform cannot be reached or refuses, else 1.
fn failed(report: &Report) -> Option<Error> {
    let bad: Vec<&str> = report.checks.iter().filter(|c| !c.ok).map(|c| c.name.as_str()).collect();
    let first = *bad.first()?;
    let kind = if bad.iter().any(|n| matches!(*n, "credentials" | "keyring" | "totp")) {
        ErrorKind::Auth
    } else if bad.iter().any(|n| matches!(*n, "shops" | "api_base" | "auth_base" | "clock" | "network" | "platform")) {
        ErrorKind::Platform
    } else {
        ErrorKind::Internal
    };
    Some(
        Error::new(
            kind,
            format!("doctor found {}, first: {first}", words::count(bad.len() as u64, "problem", "problems")),
        )
        .with_hint("the checks above say what to do; `shopunlink doctor --support` prints a report to send support"),
    )
}

/// The platform's shops for the support report; a platform that cannot be opened or reached is
/// reported in words rather than failing the doctor.
async fn shops(ctx: &Ctx<'_>) -> Result<Vec<Shop>, String> {
    let platform = ctx.platform().map_err(|e| e.to_string())?;
    platform.shops().await.map_err(|e| e.to_string())
}

fn print_checks(ctx: &Ctx<'_>, report: &Report) {
    let ui = ctx.ui;
    for c in &report.checks {
        let mark = if c.ok { ui.paint(Style::Green, "✓") } else { ui.paint(Style::Red, "✗") };
        ui.print(&format!("{mark} {:<12} {}", c.name, c.detail));
        if let Some(hint) = c.hint.as_ref().filter(|_| !c.ok) {
            ui.print(&format!("  {:<12} {}", "", ui.paint(Style::Dim, &format!("→ {hint}"))));
        }
    }
    for f in report.failures.iter().filter(|f| !f.resolved) {
        ui.print(&format!("  failed: {} request ids: {}", f.handle, f.request_ids.join(", ")));
    }
    let failed = report.checks.iter().filter(|c| !c.ok).count();
    if failed == 0 {
        ui.print(&format!("\n{}", ui.paint(Style::Green, "All checks passed.")));
    } else {
        ui.print(&format!(
            "\n{} found. `shopunlink doctor --support` prints a report to send support.",
            words::count(failed as u64, "problem", "problems")
        ));
    }
}
