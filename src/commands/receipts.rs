//! `shopunlink receipts list|show`: the receipts of past disconnects, for the seller (and their
//! accountant) to find again. Each is kept as JSON and as text in `state/receipts/`.

use std::path::{Path, PathBuf};

use clap::{Args, Subcommand};
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

use super::Ctx;
use crate::error::{Error, Result};
use crate::platform::bare_handle;

/// List the receipts of past disconnects, or show one.
///
/// Examples:
///   shopunlink receipts list
///   shopunlink receipts show @democrafts.deals          (the newest receipt for that link)
///   shopunlink receipts show @democrafts.deals --json   (the receipt itself, as JSON)
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct ReceiptsArgs {
    #[command(subcommand)]
    pub command: ReceiptsCommand,
}

/// The receipts subcommands.
#[derive(Debug, Subcommand)]
pub enum ReceiptsCommand {
    /// Every receipt, oldest first
    List,
    /// One receipt: its file name (with or without .json) or a link's handle (the newest for it)
    Show {
        /// File name, or the link's handle
        receipt: String,
    },
}

/// Runs `receipts`.
pub async fn run(ctx: &Ctx<'_>, args: ReceiptsArgs) -> Result<()> {
    let dir = ctx.settings.state_dir.join("receipts");
    match args.command {
        ReceiptsCommand::List => list(ctx, &dir),
        ReceiptsCommand::Show { receipt } => show(ctx, &dir, &receipt),
    }
}

/// Every receipt file and its JSON, oldest first (names start with the time).
fn all(dir: &Path) -> Result<Vec<(PathBuf, Value)>> {
    let Ok(entries) = std::fs::read_dir(dir) else { return Ok(Vec::new()) };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok())
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    files.sort();
    let mut out = Vec::new();
    for path in files {
        let text = crate::fsutil::read_state(&path)?.unwrap_or_default();
        match serde_json::from_str::<Value>(&text) {
            Ok(v) => out.push((path, v)),
            Err(e) => tracing::warn!("skipping {}: not a receipt ({e})", path.display()),
        }
    }
    Ok(out)
}

/// `receipts list --json`: every receipt in `state/receipts/`, oldest first.
#[derive(Debug, Serialize, JsonSchema)]
pub struct ListDoc {
    /// Always 1.
    schema_version: u32,
    /// One entry per receipt file.
    receipts: Vec<Summary>,
}

/// One receipt, in short; `receipts show FILE` prints it whole. A field the file lacks is null.
#[derive(Debug, Serialize, JsonSchema)]
struct Summary {
    /// The receipt's JSON file.
    file: String,
    /// How the disconnect ended (the receipt's `outcome`).
    outcome: Option<String>,
    /// The platform.
    platform: Option<String>,
    /// The profile.
    profile: Option<String>,
    /// The shop's name.
    shop: Option<String>,
    /// The link's handle.
    link: Option<String>,
    /// The link's kind.
    kind: Option<String>,
    /// When the disconnect finished (RFC 3339).
    finished_at: Option<String>,
}

fn summary(path: &Path, r: &Value) -> Summary {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    Summary {
        file: path.display().to_string(),
        outcome: text(&r["outcome"]),
        platform: text(&r["platform"]),
        profile: text(&r["profile"]),
        shop: text(&r["shop"]["name"]),
        link: text(&r["link"]["handle"]),
        kind: text(&r["link"]["kind"]),
        finished_at: text(&r["finished_at"]),
    }
}

fn list(ctx: &Ctx<'_>, dir: &Path) -> Result<()> {
    let receipts = all(dir)?;
    if receipts.is_empty() {
        ctx.ui.print("no receipts yet: `shopunlink disconnect` writes one for every disconnect");
    }
    let s = |v: &Value| v.as_str().unwrap_or("").to_owned();
    for (path, r) in &receipts {
        let when = s(&r["finished_at"]).chars().take(19).collect::<String>().replace('T', " ");
        ctx.ui.print(&format!(
            "{when}  {:<22} {:<22} {:<18} {}",
            s(&r["outcome"]),
            s(&r["link"]["handle"]),
            s(&r["shop"]["name"]),
            path.file_stem().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
        ));
    }
    ctx.ui.print_json(&ListDoc { schema_version: 1, receipts: receipts.iter().map(|(p, r)| summary(p, r)).collect() });
    Ok(())
}

fn show(ctx: &Ctx<'_>, dir: &Path, query: &str) -> Result<()> {
    let receipts = all(dir)?;
    let name = query.trim_end_matches(".json").trim_end_matches(".txt");
    let by_name = receipts.iter().find(|(p, _)| p.file_stem().is_some_and(|s| s == name));
    let by_link = || {
        receipts.iter().rev().find(|(_, r)| {
            r["link"]["handle"].as_str().is_some_and(|h| bare_handle(h) == bare_handle(query))
                || r["link"]["id"] == query
        })
    };
    let Some((path, receipt)) = by_name.or_else(by_link) else {
        let known: Vec<String> = receipts
            .iter()
            .rev()
            .take(5)
            .filter_map(|(p, _)| Some(p.file_stem()?.to_string_lossy().into_owned()))
            .collect();
        return Err(Error::not_found(format!("no receipt {query:?}"))
            .with_hint(if known.is_empty() {
                "there are no receipts yet".into()
            } else {
                format!("`shopunlink receipts list` shows them all; newest: {}", known.join(", "))
            })
            .with_detail("receipt", query));
    };
    ctx.ui.print_json(receipt);
    match crate::fsutil::read_state(&path.with_extension("txt"))? {
        Some(text) => ctx.ui.print(text.trim_end()),
        None => ctx.ui.print(&serde_json::to_string_pretty(receipt).unwrap_or_default()),
    }
    Ok(())
}
