//! Step 8: the receipt, written to `state/receipts/`, logged, and printed.
//!
//! It holds what was unlinked, when, the preflight results, the export relied on and the
//! platform's request ids: what a seller needs to prove later what happened. It is built only
//! from types that cannot hold a secret or a code.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::plan::Plan;
use super::preflight::Check;
use super::second_factor::Passed;
use crate::error::Result;
use crate::fsutil;
use crate::platform::{Link, Shop};

/// The export a disconnect relied on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct ExportRef {
    /// Export directory.
    pub dir: PathBuf,
    /// SHA-256 of its manifest.
    pub manifest_sha256: String,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
}

/// What a disconnect had established before it asked the platform. The audit log keeps it on
/// the `attempt` and `executed` lines, so a receipt a rerun writes after a crash is complete.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Established {
    /// The preflight checks, as the receipt lists them.
    pub preflight: Vec<Check>,
    /// The export relied on.
    pub export: Option<ExportRef>,
    /// The second factor passed.
    pub second_factor: Option<Passed>,
}

/// The shop, as the receipt records it.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct ShopSummary {
    /// Platform id.
    pub id: String,
    /// Name.
    pub name: String,
    /// Market.
    pub region: String,
}

impl From<&Shop> for ShopSummary {
    fn from(s: &Shop) -> Self {
        ShopSummary { id: s.id.clone(), name: s.name.clone(), region: s.region.clone() }
    }
}

/// How a disconnect ended, as the receipt and the audit log name it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The link is gone (seen gone, or confirmed by the owner).
    Disconnected,
    /// It was gone before this run.
    AlreadyDisconnected,
    /// `--dry-run`: the plan only.
    DryRun,
    /// Only support can cut it: the request was written.
    SupportRequest,
    /// The tool's part is done; the owner's step in the platform's own UI is left.
    AwaitingOwner,
}

/// A disconnect's receipt (SPEC §6 step 8), saved in `state/receipts/` and printed by
/// `disconnect --json`: what was unlinked and when, every preflight check, the plan, the export
/// relied on, the second factor (never the code) and the platform's request ids.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Receipt {
    /// Always 1.
    pub schema_version: u32,
    /// How it ended.
    pub outcome: Outcome,
    /// True for `--dry-run`.
    pub dry_run: bool,
    /// Platform name.
    pub platform: String,
    /// Profile name.
    pub profile: String,
    /// The shop.
    pub shop: ShopSummary,
    /// The link, as it was before the disconnect.
    pub link: Link,
    /// When the command started.
    pub started_at: DateTime<Utc>,
    /// When it finished.
    pub finished_at: DateTime<Utc>,
    /// Every preflight check.
    pub preflight: Vec<Check>,
    /// What was planned.
    pub plan: Option<Plan>,
    /// The export relied on.
    pub export: Option<ExportRef>,
    /// The second factor passed (never the code).
    pub second_factor: Option<Passed>,
    /// What the platform did.
    pub performed: Vec<String>,
    /// The platform's request ids.
    pub request_ids: Vec<String>,
    /// True when the link was seen gone afterwards.
    pub verified_gone: bool,
    /// The same as `verified_gone`: the tool saw the link gone itself. False when only the owner
    /// says so (`confirmed_by: "owner"`).
    pub verified: bool,
    /// Who confirmed a link the tool cannot see: `owner` (a declared link the owner cut).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub confirmed_by: Option<&'static str>,
    /// True when `--emergency` skipped the export check (a suspected breach).
    pub emergency: bool,
    /// True when this run finished a disconnect an earlier, interrupted run had started.
    pub recovered: bool,
    /// Where the receipt was saved.
    pub receipt_file: Option<PathBuf>,
    /// The support request text (support links).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub support_request: Option<String>,
}

impl ExportRef {
    /// The export the preflight relied on, if one satisfied it.
    pub fn relied_on(preflight: &super::preflight::Preflight) -> Option<ExportRef> {
        preflight.export.as_ref().map(|e| ExportRef {
            dir: e.dir.clone(),
            manifest_sha256: e.manifest_sha256.clone(),
            finished_at: e.finished_at,
        })
    }
}

impl Receipt {
    /// A receipt for `link` of `shop` that ended with `outcome`; the steps fill in the rest.
    pub fn new(outcome: Outcome, platform: &str, profile: &str, shop: &Shop, link: &Link) -> Receipt {
        let now = Utc::now();
        Receipt {
            schema_version: 1,
            outcome,
            dry_run: outcome == Outcome::DryRun,
            platform: platform.into(),
            profile: profile.into(),
            shop: shop.into(),
            link: link.clone(),
            started_at: now,
            finished_at: now,
            preflight: Vec::new(),
            plan: None,
            export: None,
            second_factor: None,
            performed: Vec::new(),
            request_ids: Vec::new(),
            verified_gone: false,
            verified: false,
            confirmed_by: None,
            emergency: false,
            recovered: false,
            receipt_file: None,
            support_request: None,
        }
    }
}

fn slug(s: &str) -> String {
    s.chars().map(|c| if c.is_ascii_alphanumeric() || c == '.' || c == '-' { c } else { '_' }).collect()
}

/// Saves `receipt` under `state_dir/receipts/` (0600, atomic) and records its path in it.
pub fn save(state_dir: &Path, receipt: &mut Receipt) -> Result<PathBuf> {
    let dir = state_dir.join("receipts");
    fsutil::create_private_dir(&dir)?;
    let name = format!(
        "{}-{}.json",
        receipt.finished_at.format("%Y%m%dT%H%M%S%.3fZ"),
        slug(receipt.link.handle.trim_start_matches('@'))
    );
    let path = dir.join(name);
    receipt.receipt_file = Some(path.clone());
    let text = serde_json::to_vec_pretty(receipt).expect("a receipt always serialises");
    fsutil::write_atomic(&path.with_extension("txt"), human(receipt).as_bytes())?;
    fsutil::write_atomic(&path, &text)?;
    Ok(path)
}

/// The receipt in words, kept beside the JSON (`.txt`) for the seller and their accountant.
pub fn human(r: &Receipt) -> String {
    use std::fmt::Write as _;
    let when = |t: DateTime<Utc>| t.format("%Y-%m-%d %H:%M:%S UTC").to_string();
    let headline = match r.outcome {
        Outcome::Disconnected if r.confirmed_by.is_some() => "disconnected (the owner confirmed it)",
        Outcome::Disconnected => "disconnected (checked: the platform no longer lists it)",
        Outcome::AlreadyDisconnected => "already disconnected before this run",
        Outcome::DryRun => "dry run: nothing was changed",
        Outcome::SupportRequest => "a request for the platform's support (nothing was changed by shopunlink)",
        Outcome::AwaitingOwner => {
            "shopunlink's part is done; the owner still has to finish it in the platform's own UI"
        }
    };
    let mut out = String::new();
    let _ = writeln!(out, "shopunlink receipt");
    let _ = writeln!(out, "==================\n");
    let kind = crate::words::kind(r.link.kind);
    let _ = writeln!(out, "What:     {} ({kind}, \"{}\")", r.link.handle, r.link.display_name);
    let _ = writeln!(out, "From:     {} (shop id {}, {}) on {}", r.shop.name, r.shop.id, r.shop.region, r.platform);
    let _ = writeln!(out, "Outcome:  {headline}");
    let _ = writeln!(out, "When:     {}", when(r.finished_at));
    let _ = writeln!(out, "Profile:  {}", r.profile);
    if r.emergency {
        let _ = writeln!(out, "Emergency: yes (--emergency: the export check was skipped)");
    }
    if let Some(sf) = &r.second_factor {
        let how = match sf.method {
            super::second_factor::Method::PlatformChallenge => "the code the platform sent",
            super::second_factor::Method::Totp => "the profile's authenticator (TOTP)",
        };
        let _ = writeln!(out, "Second factor: {how}, accepted {}", when(sf.verified_at));
    }
    match &r.export {
        Some(e) => {
            let _ = writeln!(
                out,
                "Export relied on: {} (finished {}, manifest sha256 {})",
                e.dir.display(),
                when(e.finished_at),
                e.manifest_sha256
            );
        }
        None => {
            let _ = writeln!(out, "Export relied on: none");
        }
    }
    if !r.preflight.is_empty() {
        let _ = writeln!(out, "\nChecks before the disconnect:");
        for c in &r.preflight {
            let mark = match (c.ok, c.overridden, c.severity) {
                (true, _, _) => "ok",
                (false, true, _) => "overridden",
                (false, false, super::preflight::Severity::Warning) => "warning",
                (false, false, super::preflight::Severity::Blocker) => "not met",
            };
            let _ = writeln!(out, "  [{mark}] {}", c.message);
        }
    }
    if !r.performed.is_empty() {
        let _ = writeln!(out, "\nWhat was done:");
        for p in &r.performed {
            let _ = writeln!(out, "  - {p}");
        }
    }
    if let Some(plan) = r.plan.as_ref().filter(|p| !p.manual_steps.is_empty()) {
        let heading =
            if r.support_request.is_some() { "What to do" } else { "The owner's steps in the platform's own UI" };
        let _ = writeln!(out, "\n{heading}:");
        for (n, s) in plan.manual_steps.iter().enumerate() {
            let _ = writeln!(out, "  {}. {s}", n + 1);
        }
    }
    if let Some(request) = &r.support_request {
        let _ = writeln!(out, "\nThe request:\n");
        for line in request.lines() {
            let _ = writeln!(out, "{}", if line.is_empty() { String::new() } else { format!("  {line}") });
        }
    }
    if !r.request_ids.is_empty() {
        let _ = writeln!(out, "\nPlatform request ids (for support): {}", r.request_ids.join(", "));
    }
    out
}
