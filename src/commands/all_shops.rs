//! `--all-shops`: every shop the profile can see, exported side by side into `DIR/<shop>/` (each
//! shop within its own rate limits), with `DIR/index.json` listing them, and verified the same
//! way. A failing shop does not stop the others; it is named at the end, and the command exits 6.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use chrono::Utc;
use futures_util::StreamExt;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Ctx;
use super::export::{ExportArgs, export_one, slug};
use crate::error::{Error, ErrorKind, Result};
use crate::export::summary;
use crate::fsutil;
use crate::platform::{Dataset, Platform, Shop};
use crate::words;

/// `DIR/index.json` of `export --all-shops`: which shop went where.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ShopsIndex {
    /// Always 1.
    pub schema_version: u32,
    /// The platform.
    pub platform: String,
    /// The profile.
    pub profile: String,
    /// When the run finished.
    pub finished_at: chrono::DateTime<Utc>,
    /// One entry per shop.
    pub shops: Vec<ShopEntry>,
}

/// One shop of an all-shops export.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ShopEntry {
    /// Shop id.
    pub id: String,
    /// Shop name.
    pub name: String,
    /// Its folder inside DIR.
    pub dir: String,
    /// True when its export finished.
    pub ok: bool,
    /// SHA-256 of its manifest, when it finished.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub manifest_sha256: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// Shops exported at once. Each has its own rate limits, so more at once is faster until the
/// machine is the limit: ten shops' pages already keep two cores busy, and every shop in flight
/// holds its pages in memory.
const SHOPS_AT_ONCE: usize = 10;

/// `export --all-shops --json`: where the shops went (the same entries as `DIR/index.json`).
#[derive(Debug, Serialize, JsonSchema)]
pub struct AllShopsDoc<'a> {
    /// Always 1.
    schema_version: u32,
    /// The folder holding one folder per shop and `index.json`.
    dir: String,
    /// One entry per shop.
    shops: &'a [ShopEntry],
}

/// A folder name per shop: its name, made path-safe, and its id so two shops never share one.
fn folder(shop: &Shop) -> String {
    format!("{}-{}", slug(&shop.name), slug(&shop.id))
}

/// Exports every shop into `DIR/<shop>/`.
pub async fn export(
    ctx: &Ctx<'_>,
    platform: Arc<dyn Platform>,
    shops: Vec<Shop>,
    args: &ExportArgs,
    datasets: Vec<Dataset>,
) -> Result<()> {
    if shops.is_empty() {
        return Err(Error::not_found("this profile can see no shops").with_hint("check `shopunlink status`"));
    }
    let base = args.out.clone().unwrap_or_else(|| {
        PathBuf::from(format!("shopunlink-export-all-{}-{}", slug(platform.name()), Utc::now().format("%Y-%m-%d")))
    });
    fsutil::create_private_dir(&base)?;
    let started = Instant::now();
    let view = ctx.ui.shops_progress(shops.len());
    let runs = shops.iter().map(|shop| {
        let (platform, datasets) = (platform.clone(), datasets.clone());
        let out = base.join(folder(shop));
        let line = view.shop(&shop.name, datasets.len());
        async move { export_one(ctx, platform, shop.clone(), args, datasets, Some(out), line).await }
    });
    let results: Vec<_> = futures_util::stream::iter(runs).buffered(SHOPS_AT_ONCE).collect().await;
    view.clear();
    let mut entries = Vec::new();
    let mut failed = Vec::new();
    for (shop, result) in shops.iter().zip(results) {
        let dir = folder(shop);
        match result {
            Ok(done) => {
                if !ctx.ui.is_json() {
                    ctx.ui.print(&format!("{} ({})", shop.name, base.join(&dir).display()));
                    ctx.ui.print(summary::table(&done.lines).trim_end());
                }
                entries.push(entry(shop, dir, Ok(done.sha256)));
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => return Err(e),
            Err(e) => {
                failed.push(format!("{} ({})", shop.name, e.message()));
                entries.push(entry(shop, dir, Err(e.to_string())));
            }
        }
    }
    let index = ShopsIndex {
        schema_version: 1,
        platform: platform.name().into(),
        profile: ctx.settings.profile.clone(),
        finished_at: Utc::now(),
        shops: entries,
    };
    let text =
        serde_json::to_vec_pretty(&index).map_err(|e| Error::internal("cannot encode the index").with_source(e))?;
    fsutil::write_atomic(&base.join("index.json"), &text)?;
    let doc = AllShopsDoc { schema_version: 1, dir: base.display().to_string(), shops: &index.shops };
    if !failed.is_empty() {
        return Err(Error::platform(format!(
            "{} of {} failed: {}",
            failed.len(),
            words::count(shops.len() as u64, "shop", "shops"),
            failed.join("; ")
        ))
        .with_hint("the others are complete; rerun the same command to resume the failed ones")
        .with_document(&doc));
    }
    ctx.ui.print_json(&doc);
    ctx.ui.note(&format!(
        "✓ exported {} into {} in {:.1}s; next: shopunlink verify --all-shops {}",
        words::count(shops.len() as u64, "shop", "shops"),
        base.display(),
        started.elapsed().as_secs_f64(),
        base.display()
    ));
    Ok(())
}

fn entry(shop: &Shop, dir: String, result: std::result::Result<String, String>) -> ShopEntry {
    let (ok, sha, error) = match result {
        Ok(sha) => (true, Some(sha), None),
        Err(e) => (false, None, Some(e)),
    };
    ShopEntry { id: shop.id.clone(), name: shop.name.clone(), dir, ok, manifest_sha256: sha, error }
}

/// The shops' folders of an all-shops export in `dir`, from its `index.json`.
pub fn read_index(dir: &Path) -> Result<ShopsIndex> {
    let path = dir.join("index.json");
    let text = fsutil::read_state(&path)?.ok_or_else(|| {
        Error::verification(format!("{} has no index.json: it is not an --all-shops export", dir.display()))
            .with_hint("verify a single shop's export without --all-shops")
    })?;
    serde_json::from_str(&text).map_err(|e| {
        Error::verification(format!("{} is not an index shopunlink can read", path.display())).with_source(e)
    })
}
