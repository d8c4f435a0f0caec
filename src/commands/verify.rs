//! `shopunlink verify DIR`: prove an export complete and unaltered.

use std::path::PathBuf;

use chrono::Utc;
use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;

use super::Ctx;
use crate::error::{Error, Result};
use crate::export::index::{self, Index};
use crate::export::verify::{self, Report};
use crate::ui::Style;
use crate::words;

/// Re-read every file of an export and check it against its manifest.
///
/// Checks sizes, SHA-256 checksums, record counts, that every line is JSON and that the manifest
/// says complete. Exits 8 naming the dataset and the problem if anything is off. A passing export
/// is marked verified, which `disconnect` requires.
///
/// Examples:
///   shopunlink export --out ./backup && shopunlink verify ./backup
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

    /// DIR is an `export --all-shops` folder: verify every shop in it
    #[arg(long)]
    pub all_shops: bool,
}

/// `verify --all-shops --json`: the result for every shop of an `export --all-shops` folder.
#[derive(Debug, Serialize, JsonSchema)]
pub struct AllShopsDoc<'a> {
    /// Always 1.
    schema_version: u32,
    /// The `export --all-shops` folder.
    dir: String,
    /// True when every shop verified.
    ok: bool,
    /// One entry per shop of its `index.json`.
    shops: Vec<ShopDoc<'a>>,
}

/// One shop's result.
#[derive(Debug, Serialize, JsonSchema)]
struct ShopDoc<'a> {
    /// Shop name.
    name: &'a str,
    /// Shop id.
    id: &'a str,
    /// Its export directory.
    dir: String,
    /// True when its export verified.
    ok: bool,
    /// Per-dataset results; null when the shop's export did not finish or cannot be read.
    datasets: Option<Vec<verify::DatasetReport>>,
    /// Problems with the shop's export as a whole; null as `datasets`.
    problems: Option<Vec<String>>,
}

/// Verifies one export and records the result in the export index (a failed or unreadable one
/// stops being relied on).
pub(super) fn verify_one(ctx: &Ctx<'_>, dir: &std::path::Path, allow_unexported: bool) -> Result<Report> {
    let report = match tokio::task::block_in_place(|| verify::verify(dir, allow_unexported)) {
        Ok(report) => report,
        Err(e) => {
            // A directory that cannot even be read (deleted, moved, not a directory) must stop
            // being relied on as much as a damaged one.
            Index::mark_unverified(&ctx.settings.state_dir, &index::absolute(dir))?;
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
                dir: index::absolute(dir),
                manifest_sha256: sha.clone(),
                started_at: manifest.started_at,
                finished_at: manifest.finished_at,
                verified: true,
                verified_at: Some(Utc::now()),
            },
        )?;
    } else if !report.ok {
        Index::mark_unverified(&ctx.settings.state_dir, &index::absolute(dir))?;
    }
    Ok(report)
}

/// `verify --all-shops DIR`: every shop folder `DIR/index.json` lists.
fn verify_all(ctx: &Ctx<'_>, args: &VerifyArgs) -> Result<()> {
    let index = super::all_shops::read_index(&args.dir)?;
    let mut shops = Vec::new();
    let mut failed = Vec::new();
    for shop in &index.shops {
        let dir = args.dir.join(&shop.dir);
        let report = if shop.ok { verify_one(ctx, &dir, args.allow_unexported).ok() } else { None };
        let ok = report.as_ref().is_some_and(|r| r.ok);
        if !ctx.ui.is_json() {
            ctx.ui.print(&format!("{} ({})", shop.name, dir.display()));
            match &report {
                Some(r) => print_human(ctx, r),
                None => ctx.ui.print("  ✗ the export of this shop did not finish or cannot be read"),
            }
        }
        if !ok {
            failed.push(shop.name.clone());
        }
        shops.push(ShopDoc {
            name: &shop.name,
            id: &shop.id,
            dir: dir.display().to_string(),
            ok,
            datasets: report.as_ref().map(|r| r.datasets.clone()),
            problems: report.as_ref().map(|r| r.problems.clone()),
        });
    }
    let doc = AllShopsDoc { schema_version: 1, dir: args.dir.display().to_string(), ok: failed.is_empty(), shops };
    if failed.is_empty() {
        ctx.ui.print_json(&doc);
        return Ok(());
    }
    Err(Error::verification(format!(
        "{} of {} did not verify: {}",
        failed.len(),
        words::count(index.shops.len() as u64, "shop", "shops"),
        failed.join(", ")
    ))
    .with_hint("re-export the failed shops (`shopunlink export --all-shops` resumes them)")
    .with_document(&doc))
}

/// Runs `verify`.
pub async fn run(ctx: &Ctx<'_>, args: VerifyArgs) -> Result<()> {
    if args.all_shops {
        return verify_all(ctx, &args);
    }
    let report = verify_one(ctx, &args.dir, args.allow_unexported)?;
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
        .with_document(&report))
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
            "verified: {} in {}, all complete and unaltered",
            words::count(records, "record", "records"),
            words::count(report.datasets.len() as u64, "dataset", "datasets")
        ));
    }
}
