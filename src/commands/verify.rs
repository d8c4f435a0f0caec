//! `shopunlink verify DIR`: prove an export complete and unaltered.

use std::path::PathBuf;

use chrono::Utc;
use clap::Args;

use super::Ctx;
use crate::error::{Error, Result};
use crate::export::index::{self, Index};
use crate::export::verify::{self, Report};
use crate::ui::Style;

/// Re-read every file of an export and check it against its manifest.
///
/// Checks sizes, SHA-256 checksums, record counts, that every line is JSON and that the manifest
/// says complete. Exits 8 naming the dataset and the problem if anything is off. A passing export
/// is marked verified, which `disconnect` requires.
///
/// Examples:
///   shopunlink verify ./shopunlink-export-demo-crafts-co-2026-11-25
///   shopunlink verify ./backup --json
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct VerifyArgs {
    /// The export directory
    pub dir: PathBuf,

    /// Accept datasets the export had to skip because the credentials may not read them (the
    /// manifest lists each with the missing scope); disconnect still counts them as missing
    #[arg(long)]
    pub allow_unexported: bool,
}

/// Runs `verify`.
pub async fn run(ctx: &Ctx<'_>, args: VerifyArgs) -> Result<()> {
    let report = match tokio::task::block_in_place(|| verify::verify(&args.dir, args.allow_unexported)) {
        Ok(report) => report,
        Err(e) => {
            // A directory that cannot even be read (deleted, moved, not a directory) must stop
            // being relied on as much as a damaged one.
            Index::mark_unverified(&ctx.settings.state_dir, &index::absolute(&args.dir))?;
            return Err(e);
        }
    };
    if let (true, Some(manifest), Some(sha)) = (report.ok, &report.manifest, &report.manifest_sha256) {
        Index::upsert(
            &ctx.settings.state_dir,
            index::Entry {
                platform: manifest.platform.clone(),
                profile: manifest.profile.clone(),
                shop_id: manifest.shop.id.clone(),
                dir: index::absolute(&args.dir),
                manifest_sha256: sha.clone(),
                started_at: manifest.started_at,
                finished_at: manifest.finished_at,
                verified: true,
                verified_at: Some(Utc::now()),
            },
        )?;
    } else if !report.ok {
        Index::mark_unverified(&ctx.settings.state_dir, &index::absolute(&args.dir))?;
    }
    print_human(ctx, &report);
    if report.ok {
        ctx.ui.print_json(&report);
        return Ok(());
    }
    let first = report
        .problems
        .first()
        .cloned()
        .or_else(|| report.datasets.iter().find(|d| !d.ok).map(|d| format!("{}: {}", d.name, d.problems.join("; "))))
        .unwrap_or_default();
    Err(Error::verification(format!("the export in {} did not verify", args.dir.display()))
        .with_cause(first)
        .with_hint(hint(&report))
        .with_detail("dir", args.dir.display().to_string())
        .with_detail("ok", false)
        .with_detail("problems", report.problems.clone())
        .with_detail("datasets", serde_json::to_value(&report.datasets).unwrap_or_default())
        .with_document(serde_json::to_value(&report).unwrap_or_default()))
}

/// An export that never finished is resumed by rerunning it; only a damaged one needs `--fresh`.
fn hint(report: &Report) -> &'static str {
    if report.unfinished {
        "rerun the same `shopunlink export` command to finish it, then verify again"
    } else {
        "re-export with `shopunlink export --fresh --out DIR`; do not disconnect relying on this copy"
    }
}

fn print_human(ctx: &Ctx<'_>, report: &Report) {
    let ui = ctx.ui;
    for p in &report.problems {
        ui.print(&format!("{} {p}", ui.paint(Style::Red, "✗")));
    }
    for d in &report.datasets {
        if d.ok {
            ui.print(&format!("{} {}", ui.paint(Style::Green, "✓"), d.name));
        } else {
            for p in &d.problems {
                ui.print(&format!("{} {}: {p}", ui.paint(Style::Red, "✗"), d.name));
            }
        }
    }
    if report.ok {
        let records: u64 = report.manifest.iter().flat_map(|m| &m.datasets).map(|d| d.records).sum();
        ui.note(&format!(
            "verified: {records} records in {} datasets, all complete and unaltered",
            report.datasets.len()
        ));
    }
}
