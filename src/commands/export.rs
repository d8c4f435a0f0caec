//! `shopunlink export`: every sale, listing and payout record, streamed to disk.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::{DateTime, Duration, NaiveDate, Utc};
use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;

use super::{Ctx, select_shop};
use crate::error::{Error, Result};
use crate::export::index::{self, Index};
use crate::export::manifest::Manifest;
use crate::export::pipeline::{self, Outcome};
use crate::export::summary;
use crate::export::{ExportPlan, Format};
use crate::platform::{Dataset, TimeRange};
use crate::ui::Style;
use crate::words;

/// Export every sale, listing and payout record to a private directory, with a manifest.
///
/// Each dataset becomes <dataset>.ndjson: one record per line, exactly as the platform sent it.
/// manifest.json is written last, with record counts, sizes and SHA-256 checksums. An interrupted
/// export (Ctrl-C, crash, lost network) continues where it stopped when rerun with the same
/// arguments. Prove it complete with `shopunlink verify DIR`.
///
/// Examples:
///   shopunlink export
///   shopunlink export --out ./backup --datasets orders,payments --since 2026-01-01
///   shopunlink export --out ./for-spreadsheets --format csv --json > manifest.json
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ExportArgs {
    /// Shop id or name (optional when the profile has one shop)
    #[arg(long, value_name = "SHOP")]
    pub shop: Option<String>,

    /// Every shop the profile can see, side by side, each into DIR/<shop>/ with an index.json
    /// in DIR; a failing shop does not stop the others (exit 6 naming it)
    #[arg(long, conflicts_with = "shop")]
    pub all_shops: bool,

    /// Output directory [default: ./shopunlink-export-<shop>-<date>]
    #[arg(long, value_name = "DIR")]
    pub out: Option<PathBuf>,

    /// Comma-separated datasets [default: all the platform has, e.g. orders, products,
    /// statements, statement_transactions, payments, withdrawals]
    #[arg(long, value_name = "LIST", value_delimiter = ',')]
    pub datasets: Vec<Dataset>,

    /// Only records from this day (UTC, YYYY-MM-DD) or instant (RFC 3339) on
    #[arg(long, value_name = "DATE", value_parser = parse_since)]
    pub since: Option<DateTime<Utc>>,

    /// Only records up to and including this day (UTC), or before this RFC 3339 instant
    #[arg(long, value_name = "DATE", value_parser = parse_until)]
    pub until: Option<DateTime<Utc>>,

    /// Also write CSV for spreadsheets. Every dataset's NDJSON is always written: it is the
    /// lossless copy `verify` checks, so `csv` means NDJSON plus CSV
    #[arg(long, value_enum, default_value_t = FormatArg::Ndjson, value_name = "FORMAT")]
    pub format: FormatArg,

    /// Start over, discarding an unfinished or finished export in --out
    #[arg(long)]
    pub fresh: bool,

    /// Do not download the product and SKU pictures into media/
    #[arg(long)]
    pub no_media: bool,

    /// Datasets fetched at the same time [default: all of them on a platform with a rate limit
    /// per API, such as TikTok Shop; 4 otherwise]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u16).range(1..=16))]
    pub jobs: Option<u16>,

    /// MiB written per dataset between checkpoints (tests lower it to exercise resume)
    #[arg(long, hide = true, value_name = "MIB", default_value_t = 64, value_parser = clap::value_parser!(u64).range(1..))]
    pub checkpoint_mib: u64,
}

/// `--format` as typed. NDJSON is always written, so the only choice is whether CSV is written
/// beside it; `both` (the same as `csv`) is still accepted, unlisted, so existing scripts work.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum FormatArg {
    /// NDJSON only: every record exactly as the platform sent it
    Ndjson,
    /// NDJSON and a CSV flattening of it
    Csv,
    /// The same as csv
    #[value(hide = true)]
    Both,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Ndjson => Format::Ndjson,
            FormatArg::Csv => Format::Csv,
            // Kept distinct: an export begun with `both` resumes only with the same arguments.
            FormatArg::Both => Format::Both,
        }
    }
}

impl ExportArgs {
    /// The arguments of a plain `shopunlink export`, from the same definitions as the command
    /// line, so the defaults cannot drift apart.
    pub fn defaults() -> ExportArgs {
        use clap::{Args as _, FromArgMatches as _};
        let matches = ExportArgs::augment_args(clap::Command::new("export")).get_matches_from(["export"]);
        ExportArgs::from_arg_matches(&matches).expect("the export arguments parse with no flags")
    }
}

fn parse_day(s: &str) -> Option<NaiveDate> {
    NaiveDate::parse_from_str(s, "%Y-%m-%d").ok()
}

fn parse_instant(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| format!("{s:?} is not a date (YYYY-MM-DD) or an RFC 3339 time (2026-01-31T12:00:00Z)"))
}

/// `--since`: a day means its first second (UTC).
pub fn parse_since(s: &str) -> Result<DateTime<Utc>, String> {
    match parse_day(s) {
        Some(d) => Ok(d.and_hms_opt(0, 0, 0).expect("midnight exists").and_utc()),
        None => parse_instant(s),
    }
}

/// `--until`: a day is included whole, so the bound is the next midnight (UTC).
pub fn parse_until(s: &str) -> Result<DateTime<Utc>, String> {
    match parse_day(s) {
        Some(d) => d
            .and_hms_opt(0, 0, 0)
            .expect("midnight exists")
            .and_utc()
            .checked_add_signed(Duration::days(1))
            .ok_or_else(|| format!("{s:?} is too far in the future")),
        None => parse_instant(s),
    }
}

pub(super) fn slug(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars().flat_map(char::to_lowercase) {
        if c.is_ascii_alphanumeric() {
            out.push(c);
        } else if !out.ends_with('-') {
            out.push('-');
        }
    }
    out.trim_matches('-').to_owned()
}

/// The directory an export without `--out` goes to: today's `shopunlink-export-<shop>-<date>`,
/// unless an earlier day's one holds an unfinished export with these same arguments, which
/// rerunning the command must resume (an export interrupted before midnight UTC, rerun after).
fn default_dir(base: &Path, plan: &ExportPlan) -> PathBuf {
    let prefix = format!("shopunlink-export-{}-", slug(&plan.shop.name));
    let today = base.join(format!("{prefix}{}", Utc::now().format("%Y-%m-%d")));
    if plan.fresh {
        return today;
    }
    let mut earlier: Vec<PathBuf> = std::fs::read_dir(base)
        .into_iter()
        .flatten()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_str().is_some_and(|n| n.starts_with(&prefix)))
        .map(|e| e.path())
        .collect();
    earlier.sort();
    earlier
        .into_iter()
        .rev()
        .find(|dir| pipeline::resumes(&ExportPlan { dir: dir.clone(), ..plan.clone() }))
        .unwrap_or(today)
}

fn human_bytes(n: u64) -> String {
    match n {
        0..1_000 => format!("{n} B"),
        1_000..1_000_000 => format!("{:.1} kB", n as f64 / 1e3),
        1_000_000..1_000_000_000 => format!("{:.1} MB", n as f64 / 1e6),
        _ => format!("{:.2} GB", n as f64 / 1e9),
    }
}

/// Runs `export`.
pub async fn run(ctx: &Ctx<'_>, args: ExportArgs) -> Result<()> {
    if let (Some(s), Some(u)) = (args.since, args.until)
        && s >= u
    {
        return Err(
            Error::usage("--since must be before --until").with_hint("dates are UTC; --until includes its whole day")
        );
    }
    if args.format == FormatArg::Both {
        ctx.ui.note("--format both is the same as --format csv: the NDJSON is always written");
    }
    let platform: Arc<dyn crate::platform::Platform> = Arc::from(ctx.platform()?);
    let shops = platform.shop_list().await?;
    let datasets = chosen_datasets(platform.as_ref(), &args)?;
    if args.all_shops {
        return super::all_shops::export(ctx, platform, shops, &args, datasets).await;
    }
    let shop = select_shop(shops, ctx.settings.shop_query(args.shop.as_deref()).as_deref())?;
    let started = Instant::now();
    let bars = ctx.ui.export_progress();
    let done = export_one(ctx, platform.clone(), shop, &args, datasets, args.out.clone(), bars.clone()).await;
    bars.clear();
    let done = done?;
    report(ctx, &done.dir, &done.manifest, &done.lines, done.note, started.elapsed().as_secs_f64());
    Ok(())
}

/// The datasets `--datasets` names (all the platform has when none), checked against the platform.
fn chosen_datasets(platform: &dyn crate::platform::Platform, args: &ExportArgs) -> Result<Vec<Dataset>> {
    let supported: Vec<_> = platform.datasets().iter().map(|s| s.name).collect();
    let datasets = if args.datasets.is_empty() { supported.clone() } else { args.datasets.clone() };
    if let Some(d) = datasets.iter().find(|d| !supported.contains(d)) {
        let names: Vec<_> = supported.iter().map(|d| d.as_str()).collect();
        return Err(Error::usage(format!("the {} platform has no {d} dataset", platform.name()))
            .with_hint(format!("known datasets: {}", names.join(", ")))
            .with_detail("flag", "--datasets"));
    }
    Ok(datasets)
}

/// `export --json`: the export's `manifest.json` (SPEC §8) and the directory it is in.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ExportDoc<'a> {
    #[serde(flatten)]
    manifest: &'a Manifest,
    /// The export directory, as given (or chosen by default).
    dir: String,
}

/// One shop's finished export.
pub(super) struct Done {
    pub dir: PathBuf,
    pub manifest: Manifest,
    pub sha256: String,
    pub lines: Vec<summary::Line>,
    pub note: &'static str,
}

/// Datasets exported at once without `--jobs`, on a platform without a rate limit per API (the
/// sandbox: its datasets share the machine's cores, and more would only hold more pages).
const DEFAULT_JOBS: usize = 4;

/// How many datasets run at once: `--jobs`, or every one of them when the platform limits each
/// API on its own (they then wait on separate limits, so side by side costs nothing), or
/// [`DEFAULT_JOBS`].
fn jobs(flag: Option<u16>, platform: &dyn crate::platform::Platform, datasets: usize) -> usize {
    match flag {
        Some(n) => n.into(),
        None if platform.rate_limit().is_some() => datasets.max(1),
        None => DEFAULT_JOBS,
    }
}

/// Exports one shop into `out` (or the default directory), records it in the index and writes its
/// `README.txt`; the caller reports it.
pub(super) async fn export_one(
    ctx: &Ctx<'_>,
    platform: Arc<dyn crate::platform::Platform>,
    shop: crate::platform::Shop,
    args: &ExportArgs,
    datasets: Vec<Dataset>,
    out: Option<PathBuf>,
    observer: Arc<dyn crate::export::Observer>,
) -> Result<Done> {
    let concurrency = jobs(args.jobs, platform.as_ref(), datasets.len());
    let mut plan = ExportPlan {
        dir: out.clone().unwrap_or_default(),
        platform: platform.name().into(),
        profile: ctx.settings.profile.clone(),
        shop,
        datasets,
        specs: platform.datasets(),
        range: TimeRange { since: args.since, until: args.until },
        format: args.format.into(),
        fresh: args.fresh,
        media: !args.no_media,
        concurrency,
        commit_bytes: args.checkpoint_mib << 20,
    };
    if out.is_none() {
        let base = ctx.settings.profile_config.export_dir.clone().unwrap_or_else(|| PathBuf::from("."));
        plan.dir = default_dir(&base, &plan);
    }
    let dir = plan.dir.clone();
    if dir.exists() && !dir.is_dir() {
        return Err(Error::usage(format!("--out {} names a file, not a directory", dir.display()))
            .with_hint("pass a new or empty directory to --out; nothing was written"));
    }
    let result = pipeline::run(platform.clone(), plan, observer).await;
    let (manifest, sha256, note) = match result? {
        Outcome::Written { manifest, sha256, resumed } => {
            (manifest, sha256, if resumed { "Resumed and finished" } else { "Exported" })
        }
        Outcome::AlreadyComplete { manifest, sha256 } => (manifest, sha256, "Already complete:"),
    };
    let entry = index::Entry {
        platform: manifest.platform.clone(),
        profile: manifest.profile.clone(),
        shop_id: manifest.shop.id.clone(),
        dir: index::absolute(&dir),
        manifest_sha256: sha256.clone(),
        started_at: manifest.started_at,
        finished_at: manifest.finished_at,
        verified: false,
        verified_at: None,
    };
    // An export that was already complete keeps its verified mark if its manifest is unchanged;
    // decided inside the index lock, so a `verify` that just failed is never overwritten.
    Index::update(&ctx.settings.state_dir, |index| {
        let verified = index.is_verified(&entry.dir, &entry.manifest_sha256);
        index.put(index::Entry { verified, ..entry });
    })?;
    let lines = tokio::task::block_in_place(|| summary::read(&dir, &manifest, &platform.datasets()))?;
    crate::fsutil::write_atomic(&dir.join("README.txt"), summary::readme(&manifest, &lines).as_bytes())?;
    Ok(Done { dir, manifest, sha256, lines, note })
}

fn report(ctx: &Ctx<'_>, dir: &std::path::Path, manifest: &Manifest, lines: &[summary::Line], note: &str, secs: f64) {
    let ui = ctx.ui;
    let records: u64 = manifest.datasets.iter().map(|d| d.records).sum();
    let bytes: u64 = manifest.datasets.iter().map(|d| d.bytes).sum();
    if ui.is_json() {
        ui.print_json(&ExportDoc { manifest, dir: dir.display().to_string() });
    } else {
        ui.print(summary::table(lines).trim_end());
    }
    if !manifest.media.is_empty() || !manifest.media_missing.is_empty() {
        let missing = manifest.media_missing.len();
        let kept = format!("{} kept in media/", words::count(manifest.media.len() as u64, "picture", "pictures"));
        match missing {
            0 => ui.note(&format!("  {kept}")),
            n => ui.warn(&format!("{kept}; {n} could not be downloaded (listed in manifest.json, media_missing)")),
        }
    }
    ui.note(&format!(
        "{} {note} {} ({}) from {} to {} in {secs:.1}s",
        ui.paint_err(Style::Green, "✓"),
        words::count(records, "record", "records"),
        human_bytes(bytes),
        manifest.shop.name,
        dir.display()
    ));
    ui.note(&format!("  next: shopunlink verify {}", dir.display()));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_days_or_instants() {
        assert_eq!(parse_since("2026-01-31").unwrap().to_rfc3339(), "2026-01-31T00:00:00+00:00");
        assert_eq!(parse_until("2026-01-31").unwrap().to_rfc3339(), "2026-02-01T00:00:00+00:00");
        assert_eq!(parse_since("2026-01-31T12:00:00+02:00").unwrap().to_rfc3339(), "2026-01-31T10:00:00+00:00");
        assert!(parse_since("31/01/2026").is_err());
        assert!(parse_until("2026-02-30").is_err());
    }

    #[test]
    fn slugs_are_path_safe() {
        assert_eq!(slug("Demo Crafts Co."), "demo-crafts-co");
        assert_eq!(slug("Zoë's / Shop"), "zo-s-shop");
    }
}
