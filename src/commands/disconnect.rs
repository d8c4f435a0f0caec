//! `shopunlink disconnect LINK`: the safe breakup, step by step (SPEC §6).

use std::time::Duration;

use chrono::Utc;
use clap::Args;
use schemars::JsonSchema;
use serde::Serialize;

use super::{Ctx, select_shop};
use crate::credentials::Secret;
use crate::error::{Error, Result};
use crate::export::index::Index;
use crate::platform::{DisconnectMode, Link, LinkSource, LinkState, Platform, Shop};
use crate::ui::{Style, Ui, wrap};
use crate::unlink::audit::{AuditLog, Kind};
use crate::unlink::execute::{self, Actor};
use crate::unlink::plan::{self, Plan};
use crate::unlink::preflight::{self, Overrides, Preflight};
use crate::unlink::receipt::{self, Established, ExportRef, Outcome, Receipt};
use crate::unlink::{confirm, locate, second_factor, support, verify};
use crate::words;

/// Disconnect a linked account or app from a shop, safely.
///
/// Runs safety checks (a verified export, no pending funds, no open orders for the official
/// account), shows the plan, asks you to type the handle, asks for a one-time code, then
/// disconnects, checks the link is gone and writes a receipt. Running it again after a crash
/// finishes the job; disconnecting a link that is already gone changes nothing. At a terminal,
/// `shopunlink` alone lists the links and asks which one to disconnect.
///
/// Examples:
///   shopunlink disconnect @democrafts.deals --dry-run
///   shopunlink disconnect @lunabeauty --allow-pending-funds   (asks for the handle, then the code)
///   shopunlink disconnect inventory-sync-pro --yes --no-input   (sends the code; exits 2)
///   export SHOPUNLINK_OTP=$(shopunlink sandbox code)
///   shopunlink disconnect inventory-sync-pro --yes --no-input --json
#[derive(Debug, Args)]
#[command(verbatim_doc_comment)]
pub struct DisconnectArgs {
    /// Link id or handle, as `status` shows it (e.g. @democrafts)
    pub link: String,

    /// Shop id or name (optional when the profile has one shop)
    #[arg(long, value_name = "SHOP")]
    pub shop: Option<String>,

    /// Run the checks and show the plan; change nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Skip typing the handle (required with --no-input)
    #[arg(long)]
    pub yes: bool,

    /// The one-time code (or set SHOPUNLINK_OTP); without it you are asked for it
    #[arg(long, value_name = "CODE")]
    pub otp: Option<String>,

    /// Go ahead without a verified export of the shop
    #[arg(long)]
    pub allow_unexported: bool,

    /// Go ahead although funds or a withdrawal are still pending
    #[arg(long)]
    pub allow_pending_funds: bool,

    /// A suspected breach: revoke an app, partner or marketing link now, without the export check
    /// (never without the one-time code); the receipt records it
    #[arg(long)]
    pub emergency: bool,

    /// For links only the owner can cut (declared links): the owner has done it in the platform's
    /// own UI; record it and write the receipt
    #[arg(long)]
    pub owner_done: bool,

    /// For guided links: wait until the link is gone [default: 10m] (e.g. 90s, 5m, 1h)
    #[arg(long, value_name = "DURATION", num_args = 0..=1, default_missing_value = "10m", value_parser = parse_duration)]
    pub wait: Option<Duration>,
}

impl DisconnectArgs {
    /// The arguments of a plain `shopunlink disconnect LINK --shop SHOP`, from the same
    /// definitions as the command line, so the defaults cannot drift apart.
    pub fn for_link(link: &str, shop: &str) -> DisconnectArgs {
        use clap::{Args as _, FromArgMatches as _};
        // `--` first: a handle that starts with `-` is still the link, not a flag.
        let matches = DisconnectArgs::augment_args(clap::Command::new("disconnect")).get_matches_from([
            "disconnect",
            "--shop",
            shop,
            "--",
            link,
        ]);
        DisconnectArgs::from_arg_matches(&matches).expect("a link and a shop are all disconnect needs")
    }
}

/// `disconnect --json`: the receipt (`receipt.json`), or, for a rerun that can no longer ask the
/// platform (the tokens are gone after a guided disconnect), what the audit log recorded.
#[derive(Debug, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum DisconnectDoc<'a> {
    /// This run's receipt (SPEC §6 step 8); also for `--dry-run` and a link already gone.
    Receipt(Box<Receipt>),
    /// The record of an earlier run that did the tool's part.
    Recorded(Recorded<'a>),
}

/// What the audit log recorded of an earlier disconnect of the link: a rerun that can no longer
/// ask the platform has nothing left to do, and says what the record says.
#[derive(Debug, Serialize, JsonSchema)]
pub struct Recorded<'a> {
    /// Always 1.
    schema_version: u32,
    /// `already_disconnected`, or `awaiting_owner` when the owner's step in the platform's own UI
    /// may still be left.
    outcome: Outcome,
    /// The platform.
    platform: &'a str,
    /// The profile.
    profile: &'a str,
    /// The shop, as recorded.
    shop: RecordedShop<'a>,
    /// The link, as recorded.
    link: RecordedLink<'a>,
    /// When the record was written.
    recorded_at: chrono::DateTime<Utc>,
    /// When the link was disconnected (null unless `outcome` is `already_disconnected`).
    disconnected_at: Option<chrono::DateTime<Utc>>,
    /// The platform's request ids.
    request_ids: &'a [String],
    /// The receipt written then; null when that run stopped before writing it.
    receipt_file: Option<&'a std::path::Path>,
}

/// The shop of a recorded disconnect.
#[derive(Debug, Serialize, JsonSchema)]
struct RecordedShop<'a> {
    /// Its id.
    id: &'a str,
    /// Its name at the time, when recorded.
    name: Option<&'a str>,
}

/// The link of a recorded disconnect.
#[derive(Debug, Serialize, JsonSchema)]
struct RecordedLink<'a> {
    /// Its id.
    id: &'a str,
    /// Its handle.
    handle: &'a str,
}

/// The longest `--wait`: past a week, an owner who has not acted is not going to.
const MAX_WAIT_SECS: u64 = 7 * 24 * 3600;

/// Parses `90s`, `5m`, `1h` or plain seconds.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, unit) = s.trim().split_at(s.trim().find(|c: char| !c.is_ascii_digit()).unwrap_or(s.trim().len()));
    let n: u64 = num.parse().map_err(|_| format!("{s:?} is not a duration like 90s, 5m or 1h"))?;
    let per_unit = match unit {
        "" | "s" => 1,
        "m" => 60,
        "h" => 3600,
        _ => return Err(format!("{s:?} is not a duration like 90s, 5m or 1h")),
    };
    match n.checked_mul(per_unit) {
        Some(secs) if secs <= MAX_WAIT_SECS => Ok(Duration::from_secs(secs)),
        _ => Err(format!("{s:?} is longer than the 7 days --wait allows")),
    }
}

/// The preflight of the job's link against the export index as it is now.
async fn preflight_of(
    job: &Job<'_>,
    readiness: &crate::platform::Readiness,
    overrides: Overrides,
) -> Result<Preflight> {
    let index = Index::load(&job.ctx.settings.state_dir)?;
    let export = preflight::find_export(job.platform.as_ref(), &job.shop, &index).await;
    Ok(preflight::run(&job.shop, Some(&job.link), readiness, &export, job.platform.as_ref(), overrides))
}

/// At a terminal, when the only thing in the way is the missing export, offers to make it now
/// (export, then verify) so the seller can go on with the same command. True when it did.
async fn offer_export(job: &Job<'_>, pre: &Preflight) -> Result<bool> {
    let ui = job.ctx.ui;
    let blockers: Vec<_> = pre.blockers().collect();
    if !ui.is_interactive() || blockers.len() != 1 || blockers[0].code != "no_export" {
        return Ok(false);
    }
    let question = format!("{}. Export everything from {} and verify it now?", blockers[0].message, job.shop.name);
    if !ui.ask_yes_no(&question, "--allow-unexported")? {
        return Ok(false);
    }
    let platform: std::sync::Arc<dyn Platform> = std::sync::Arc::from(job.ctx.platform()?);
    let args = super::export::ExportArgs::defaults();
    let datasets: Vec<_> = platform.datasets().iter().map(|d| d.name).collect();
    let bars = job.ctx.ui.export_progress();
    let done =
        super::export::export_one(job.ctx, platform, job.shop.clone(), &args, datasets, None, bars.clone()).await;
    bars.clear();
    let done = done?;
    super::verify::verify_one(job.ctx, &done.dir, false)?;
    ui.note(&format!("✓ exported and verified into {}; going on with the disconnect", done.dir.display()));
    Ok(true)
}

/// "step 3 of 7: plan", on stderr for a person following along (not under --json).
fn step(ui: &Ui, n: u8, what: &str) {
    if !ui.is_json() {
        ui.note(&ui.paint_err(Style::Dim, &format!("step {n} of 7: {what}")));
    }
}

/// The longest a test pause ([`crate::settings::env::TEST_PAUSE_AT_STEP`]) waits for its signal.
const TEST_PAUSE_LIMIT: Duration = Duration::from_secs(60);

/// Where a signal test stops the disconnect: at the start of step `n` when the settings ask for
/// it, until a signal arrives. It only waits; what follows runs as it always does.
async fn pause_for_test(ctx: &Ctx<'_>, n: u8) {
    let Some(pause) = ctx.settings.pause_at_step.filter(|p| p.step == n) else { return };
    ctx.ui.note(&format!("paused at step {n} of 7 until a signal arrives (SHOPUNLINK_TEST_PAUSE_AT_STEP)"));
    let until = std::time::Instant::now() + TEST_PAUSE_LIMIT;
    while (pause.hung || !crate::interrupt::requested()) && std::time::Instant::now() < until {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// How long a signalled disconnect may take to stop cleanly before the process exits.
const STOP_GRACE_SECS: u64 = 5;

/// The critical section from the platform call to the receipt; left when dropped.
struct Critical;

impl Critical {
    fn enter() -> Critical {
        crate::interrupt::set_critical(true);
        Critical
    }
}

impl Drop for Critical {
    fn drop(&mut self) {
        crate::interrupt::set_critical(false);
    }
}

/// Everything the steps share.
struct Job<'a> {
    ctx: &'a Ctx<'a>,
    platform: Box<dyn Platform>,
    shop: Shop,
    link: Link,
    started_at: chrono::DateTime<Utc>,
    emergency: bool,
    /// `--dry-run`: nothing is attempted, so nothing is logged when it stops.
    dry_run: bool,
}

impl Job<'_> {
    fn actor(&self) -> Actor<'_> {
        Actor { platform: self.platform.name(), profile: &self.ctx.settings.profile }
    }

    /// Until the platform is asked, an exit on a signal (at a prompt, or a grace that ran out)
    /// leaves the same `cancelled` line in the audit log as an orderly stop.
    fn record_cancel_on_exit(&self) {
        let mut event = execute::event(&self.actor(), &self.shop, &self.link, Kind::Cancelled);
        event.error = Some("interrupted (Ctrl-C or SIGTERM) before the platform was asked; nothing changed".into());
        let audit = AuditLog::new(&self.ctx.settings.state_dir);
        crate::interrupt::on_cancel(move || {
            if let Err(e) = audit.append(&event) {
                tracing::warn!("cannot record the stop in the audit log: {e}");
            }
        });
    }

    /// Step `n` begins: a test may pause here, and a stop asked for since the last step cancels
    /// the disconnect, recorded, before anything is changed (steps 1 to 5).
    async fn begin(&self, n: u8, what: &str) -> Result<()> {
        if n > 1 {
            step(self.ctx.ui, n, what);
        }
        pause_for_test(self.ctx, n).await;
        if crate::interrupt::requested() {
            return Err(self.stopped(Error::interrupted(format!(
                "disconnect cancelled at step {n} of 7 ({what}), before the platform was asked; nothing changed"
            ))));
        }
        Ok(())
    }

    /// Records in the audit log that the disconnect stopped before the platform was asked
    /// (declined, interrupted, wrong or reused codes), so `doctor` and a later look see it;
    /// returns `e`.
    fn stopped(&self, e: Error) -> Error {
        if self.dry_run {
            return e;
        }
        let reused = e.detail("reason").and_then(|r| r.as_str()) == Some(second_factor::CODE_REUSED);
        let kind = match e.kind() {
            crate::error::ErrorKind::Cancelled | crate::error::ErrorKind::Interrupted => Kind::Cancelled,
            crate::error::ErrorKind::Usage => return e,
            _ if reused => Kind::CodeReused,
            _ => Kind::Failed,
        };
        let mut event = execute::event(&self.actor(), &self.shop, &self.link, kind);
        event.error = Some(format!("{} (before the platform was asked; nothing changed)", e.message()));
        // Instead of the record an exit on a signal would write, not beside it.
        crate::interrupt::settle_cancel(|| {
            if let Err(log) = AuditLog::new(&self.ctx.settings.state_dir).append(&event) {
                tracing::warn!("cannot record the stop in the audit log: {log}");
            }
        });
        e
    }

    fn receipt(&self, outcome: Outcome, preflight: &Preflight, plan: Option<Plan>) -> Receipt {
        let mut r = Receipt::new(outcome, self.platform.name(), &self.ctx.settings.profile, &self.shop, &self.link);
        r.started_at = self.started_at;
        r.preflight = preflight.checks.clone();
        r.plan = plan;
        r.export = ExportRef::relied_on(preflight);
        r.emergency = self.emergency;
        r
    }
}

/// Runs `disconnect`.
pub async fn run(ctx: &Ctx<'_>, args: DisconnectArgs) -> Result<()> {
    // Until the platform is asked, a signal cancels cleanly (and the audit log says so).
    crate::interrupt::set_grace(STOP_GRACE_SECS);
    let platform = ctx.platform()?;
    let shops = match platform.shops().await {
        Ok(shops) => shops,
        Err(e) if may_follow_our_disconnect(&e) => {
            return done_before(ctx, platform.name(), args.shop.as_deref(), &args.link, e);
        }
        Err(e) => return Err(e),
    };
    let shop = match select_shop(shops, ctx.settings.shop_query(args.shop.as_deref()).as_deref()) {
        Ok(shop) => shop,
        // A shop no longer listed may be one this tool disconnected (the profile's tokens still
        // serve other shops): the audit log knows.
        Err(e) if e.kind() == crate::error::ErrorKind::NotFound => {
            return done_before(ctx, platform.name(), args.shop.as_deref(), &args.link, e);
        }
        Err(e) => return Err(e),
    };
    step(ctx.ui, 1, "find the link");
    let link = match locate::find(&shop, &args.link) {
        Ok(link) => link.clone(),
        // A link the platform no longer lists may be one this tool removed (an affiliate creator
        // taken out of a collaboration): the audit log knows, and a rerun is then done.
        Err(e) if e.kind() == crate::error::ErrorKind::NotFound => {
            return done_before(ctx, platform.name(), Some(&shop.id), &args.link, e);
        }
        Err(e) => return Err(e),
    };
    let job =
        Job { ctx, platform, shop, link, started_at: Utc::now(), emergency: args.emergency, dry_run: args.dry_run };
    if job.link.state == LinkState::Unlinked {
        return already_gone(&job).await;
    }
    if job.link.state == LinkState::AwaitingOwner && job.link.source == LinkSource::Declared {
        return owner_step(&job, args.owner_done, None).await;
    }
    if !job.dry_run {
        job.record_cancel_on_exit();
    }
    job.begin(1, "find the link").await?;
    let readiness = job.platform.readiness(&job.shop).await?;
    let overrides = Overrides {
        unexported: args.allow_unexported,
        pending_funds: args.allow_pending_funds,
        emergency: args.emergency,
    };
    job.begin(2, "safety checks").await?;
    let mut pre = preflight_of(&job, &readiness, overrides).await?;
    if !args.dry_run && offer_export(&job, &pre).await.map_err(|e| interrupted_stop(&job, e))? {
        // The export set its own grace; a signal from here on cancels the disconnect again.
        crate::interrupt::set_grace(STOP_GRACE_SECS);
        pre = preflight_of(&job, &readiness, overrides).await?;
    }
    print_preflight(ctx.ui, &pre);
    let plan = plan::build(job.platform.as_ref(), &job.shop, &job.link, &ctx.settings.state_dir, !args.yes);
    if args.dry_run {
        print_plan(ctx.ui, &job.link, &plan);
        // Blocked or not, a dry run's JSON is its receipt: the plan and every check, beside the
        // refusal when there is one.
        let receipt = job.receipt(Outcome::DryRun, &pre, Some(plan));
        refuse_if_blocked(&pre).map_err(|e| e.with_document(&receipt))?;
        ctx.ui.print_json(&receipt);
        ctx.ui.note("dry run: nothing was changed");
        return Ok(());
    }
    refuse_if_blocked(&pre)?;
    if job.link.disconnect == DisconnectMode::Support {
        return support_request(&job, &pre, plan);
    }
    job.begin(3, "the plan").await?;
    print_plan(ctx.ui, &job.link, &plan);
    job.begin(4, "confirm").await?;
    confirm::confirm(ctx.ui, &job.link, args.yes).map_err(|e| job.stopped(e))?;
    job.begin(5, "the one-time code").await?;
    let otp = args.otp.map(Secret::new).or_else(|| ctx.settings.otp.clone());
    let totp = crate::credentials::totp::ProfileTotp::new(ctx.credential_chain(), ctx.settings);
    let local: &dyn second_factor::LocalFactor = &totp;
    let (grant, passed) = second_factor::pass(ctx.ui, job.platform.as_ref(), &job.shop, &job.link, otp, Some(local))
        .await
        .map_err(|e| job.stopped(e))?;
    let audit = AuditLog::new(&ctx.settings.state_dir);
    let established = Established {
        preflight: pre.checks.clone(),
        export: ExportRef::relied_on(&pre),
        second_factor: Some(passed.clone()),
    };
    // The point of no return: a signal before it cancels; from here the call and its receipt
    // are finished whatever arrives, so nothing is left half-done.
    if crate::interrupt::requested() {
        return Err(
            job.stopped(Error::interrupted("disconnect cancelled before the platform was asked; nothing changed"))
        );
    }
    crate::interrupt::settle_cancel(|| ());
    let _critical = Critical::enter();
    step(ctx.ui, 6, "disconnect");
    pause_for_test(ctx, 6).await;
    let outcome =
        execute::run(&audit, &job.actor(), job.platform.as_ref(), &job.shop, &job.link, &grant, &established).await?;
    if !outcome.manual_steps.is_empty() {
        print_manual_steps(ctx.ui, &outcome.manual_steps);
    }
    if job.link.source == LinkSource::Declared {
        let mut receipt = job.receipt(Outcome::AwaitingOwner, &pre, Some(plan));
        receipt.second_factor = Some(passed);
        receipt.performed = outcome.performed;
        return owner_step(&job, args.owner_done, Some(receipt)).await;
    }
    let wait = if job.link.disconnect == DisconnectMode::Guided { args.wait } else { None };
    step(ctx.ui, 7, "check it is gone and write the receipt");
    pause_for_test(ctx, 7).await;
    let checked = verify::confirm_gone(job.platform.as_ref(), &job.shop, &job.link.id, wait).await;
    let guided = job.link.disconnect == DisconnectMode::Guided;
    // A guided disconnect has already forgotten the tokens, so a rerun could not finish its
    // receipt: a failed or interrupted wait still writes it (as awaiting the owner) before the
    // error is reported. An API disconnect keeps its tokens and a rerun finishes it.
    let gone = match checked {
        Ok(gone) => gone,
        Err(e) if !guided => return Err(e),
        Err(e) => {
            let mut receipt = job.receipt(Outcome::AwaitingOwner, &pre, Some(plan));
            receipt.second_factor = Some(passed);
            receipt.performed = outcome.performed;
            receipt.request_ids = outcome.request_ids;
            let receipt = record(&job, receipt, &audit).map_err(|e| unrecorded(e, &job))?;
            let file = receipt.receipt_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
            return Err(e.with_hint(format!(
                "the tool's part is done and its receipt is saved in {file}; finish the steps above in {}",
                job.platform.name()
            )));
        }
    };
    if !gone && job.link.disconnect == DisconnectMode::Api {
        return Err(Error::platform(format!(
            "{} accepted the disconnect but still lists {}",
            job.platform.name(),
            job.link.handle
        ))
        .with_hint("rerun the same command in a minute: it checks again and writes the receipt"));
    }
    let mut receipt = job.receipt(if gone { Outcome::Disconnected } else { Outcome::AwaitingOwner }, &pre, Some(plan));
    receipt.second_factor = Some(passed);
    receipt.performed = outcome.performed;
    receipt.request_ids = outcome.request_ids;
    receipt.verified_gone = gone;
    receipt.verified = gone;
    let receipt = record(&job, receipt, &audit).map_err(|e| unrecorded(e, &job))?;
    if crate::interrupt::requested() {
        ctx.ui.note(
            "a stop was asked for after the platform call: shopunlink finished the disconnect and its receipt first",
        );
    }
    match wait {
        Some(waited) if !gone => Err(wait_ran_out(&job, waited, &receipt)),
        _ => {
            report(&job, &receipt);
            Ok(())
        }
    }
}

/// An interrupted export offered at step 2 cancels the disconnect like any stop before the
/// platform call: recorded in the audit log. Other errors pass through as they are.
fn interrupted_stop(job: &Job<'_>, e: Error) -> Error {
    if e.kind() == crate::error::ErrorKind::Interrupted { job.stopped(e) } else { e }
}

/// The owner's part of a declared link: they cut it in the platform's own UI and say so, here or
/// with `--owner-done`. The tool cannot see such a link, so the receipt says the owner confirmed
/// it (`verified: false, confirmed_by: "owner"`). Without a confirmation the link stays
/// `awaiting_owner` and a rerun picks up here. `receipt` is this run's, when it did the earlier
/// steps; a rerun builds one from the audit log's record of them.
async fn owner_step(job: &Job<'_>, owner_done: bool, receipt: Option<Receipt>) -> Result<()> {
    let ctx = job.ctx;
    let audit = AuditLog::new(&ctx.settings.state_dir);
    let mut receipt = match receipt {
        Some(r) => r,
        None => rebuilt_receipt(job, &audit)?,
    };
    if receipt.performed.is_empty() {
        print_manual_steps(ctx.ui, &job.platform.manual_steps(&job.shop, &job.link));
    }
    let place = job.platform.display_name();
    let done = owner_done
        || (ctx.ui.is_interactive() && ctx.ui.ask_yes_no(&format!("Done in {place}'s own UI?"), "--owner-done")?);
    if !done {
        let receipt = record(job, receipt, &audit)?;
        ctx.ui.print(&format!(
            "{} stays listed as awaiting the owner. Once you have unlinked it in {place}'s own UI, run: \
             shopunlink disconnect {} --owner-done",
            job.link.handle, job.link.handle
        ));
        ctx.ui.print_json(&receipt);
        return Ok(());
    }
    job.platform.owner_confirmed(&job.shop, &job.link).await?;
    receipt.outcome = Outcome::Disconnected;
    receipt.confirmed_by = Some("owner");
    receipt.finished_at = Utc::now();
    let receipt = record(job, receipt, &audit)?;
    report(job, &receipt);
    Ok(())
}

/// A receipt for a rerun that finds the tool's part already done: what the earlier run had
/// established comes from the audit log.
fn rebuilt_receipt(job: &Job<'_>, audit: &AuditLog) -> Result<Receipt> {
    let pre = Preflight { checks: Vec::new(), export: None };
    let mut receipt = job.receipt(Outcome::AwaitingOwner, &pre, None);
    // The newest record of this link that holds what was established: the earlier run's
    // `attempt` (or `executed`) line, or the receipt it logged while waiting for the owner.
    let events = audit.events()?;
    let latest = events.iter().rev().find(|e| {
        e.platform == job.platform.name() && e.shop_id == job.shop.id && e.link_id == job.link.id && e.details.is_some()
    });
    if let Some(event) = latest {
        receipt.request_ids.clone_from(&event.request_ids);
        if let Some(e) = event.details.clone().and_then(|d| serde_json::from_value::<Established>(d).ok()) {
            receipt.preflight = e.preflight;
            receipt.export = e.export;
            receipt.second_factor = e.second_factor;
        }
    }
    Ok(receipt)
}

/// `--wait` ran out with the link still listed. Everything the tool can do is done and in the
/// receipt; what is left is the owner's, so the error says exactly that (exit 9) rather than
/// "rerun": a guided disconnect has already forgotten the tokens a rerun would check with. Under
/// `--json` the receipt rides in the error document, so stdout stays one document.
fn wait_ran_out(job: &Job<'_>, waited: Duration, receipt: &Receipt) -> Error {
    let file = receipt.receipt_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    Error::pending(format!(
        "{} still lists {} on {} after waiting {}s: the owner has not finished the steps in its own UI",
        job.platform.name(),
        job.link.handle,
        job.shop.name,
        waited.as_secs()
    ))
    .with_hint(format!(
        "finish the steps listed above in {}'s own UI (also `plan.manual_steps` in the receipt); the last one \
         says how to see that it is done",
        job.platform.name()
    ))
    .with_hint(format!("what shopunlink could do is done and recorded in {file}"))
    .with_detail("receipt", serde_json::to_value(receipt).unwrap_or_default())
}

/// Exit 5 listing every blocker (each its own line, not a chain of causes) and each distinct hint
/// once.
fn refuse_if_blocked(pre: &Preflight) -> Result<()> {
    let blockers: Vec<_> = pre.blockers().collect();
    let mut err = match blockers.as_slice() {
        [] => return Ok(()),
        [only] => Error::refused(format!("refusing to disconnect: {}", only.message)),
        many => {
            let list: Vec<String> = many.iter().map(|b| format!("\n  - {}", b.message)).collect();
            Error::refused(format!("refusing to disconnect: {} checks stand in the way:{}", many.len(), list.concat()))
        }
    };
    let mut hints: Vec<&str> = Vec::new();
    for h in blockers.iter().filter_map(|b| b.hint.as_deref()) {
        if !hints.contains(&h) {
            hints.push(h);
            err = err.with_hint(h);
        }
    }
    Err(err.with_detail("preflight", serde_json::to_value(&pre.checks).unwrap_or_default()))
}

/// The link is already gone: finish an interrupted run's receipt if there was one, else say so.
async fn already_gone(job: &Job<'_>) -> Result<()> {
    let ctx = job.ctx;
    let audit = AuditLog::new(&ctx.settings.state_dir);
    let unfinished = audit.unfinished(job.platform.name(), &job.shop.id, &job.link.id)?;
    let pre = Preflight { checks: Vec::new(), export: None };
    let Some(attempt) = unfinished else {
        ctx.ui.print(&format!("{} is already disconnected from {}; nothing to do", job.link.handle, job.shop.name));
        ctx.ui.print_json(&job.receipt(Outcome::AlreadyDisconnected, &pre, None));
        return Ok(());
    };
    ctx.ui.note(&format!("finishing the disconnect of {} started at {}", job.link.handle, attempt.time.to_rfc3339()));
    let mut receipt = job.receipt(Outcome::Disconnected, &pre, None);
    receipt.recovered = true;
    receipt.verified_gone = true;
    receipt.verified = true;
    receipt.request_ids = attempt.request_ids;
    // What the interrupted run had established before it asked the platform.
    if let Some(established) = attempt.details.and_then(|d| serde_json::from_value::<Established>(d).ok()) {
        receipt.preflight = established.preflight;
        receipt.export = established.export;
        receipt.second_factor = established.second_factor;
    }
    report(job, &record(job, receipt, &audit)?);
    Ok(())
}

/// Errors that a finished guided disconnect leaves behind: no credentials stored (it forgot
/// them), or tokens from the environment that the platform no longer accepts (the owner removed
/// the authorisation, or the token is simply wrong). Whether one follows our disconnect, and how
/// far it got, is for the audit log to say.
fn may_follow_our_disconnect(e: &Error) -> bool {
    let reason = e.detail("reason").and_then(|r| r.as_str());
    reason.is_some_and(|r| [crate::error::NO_CREDENTIALS, crate::error::TOKEN_REFUSED].contains(&r))
}

/// The platform cannot be asked (see [`may_follow_our_disconnect`]). If the audit log shows the
/// tool's part of this link's disconnect was done, a rerun has nothing left to do and exits 0, as
/// SPEC §6 asks, saying exactly what the record says; otherwise `refused` stands.
fn done_before(ctx: &Ctx<'_>, platform: &str, shop: Option<&str>, query: &str, refused: Error) -> Result<()> {
    let audit = AuditLog::new(&ctx.settings.state_dir);
    let shop = ctx.settings.shop_query(shop);
    let Some(done) = audit.tool_part_done(platform, &ctx.settings.profile, shop.as_deref(), query)? else {
        return Err(refused);
    };
    let when = done.time.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let receipt =
        done.receipt.as_ref().map_or("none; the run stopped before writing it".into(), |p| p.display().to_string());
    // Only the record decides: a refused token may also be a stale or mistyped one, so it never
    // upgrades "awaiting the owner" to "disconnected".
    let outcome = match done.outcome {
        Some(Outcome::Disconnected) => Outcome::AlreadyDisconnected,
        _ => Outcome::AwaitingOwner,
    };
    if outcome == Outcome::AlreadyDisconnected {
        ctx.ui.print(&format!("{} was disconnected on {when} (receipt: {receipt}); nothing to do", done.handle));
    } else {
        ctx.ui.print(&format!(
            "shopunlink did its part of disconnecting {} on {when} (receipt: {receipt}); nothing is left for it to do",
            done.handle
        ));
        ctx.ui.note(&format!(
            "the rest is the owner's, in {platform}'s own UI (the steps are in the receipt's plan.manual_steps); \
             the link is gone once {platform} no longer lists it"
        ));
    }
    ctx.ui.print_json(&Recorded {
        schema_version: 1,
        outcome,
        platform,
        profile: &ctx.settings.profile,
        shop: RecordedShop { id: &done.shop_id, name: done.shop_name.as_deref() },
        link: RecordedLink { id: &done.link_id, handle: &done.handle },
        recorded_at: done.time,
        disconnected_at: (outcome == Outcome::AlreadyDisconnected).then_some(done.time),
        request_ids: &done.request_ids,
        receipt_file: done.receipt.as_deref(),
    });
    Ok(())
}

/// A receipt that could not be written after the platform acted: say plainly that the link is
/// already cut there, so nobody retries the platform step, and how to get the receipt.
fn unrecorded(e: Error, job: &Job<'_>) -> Error {
    e.context(format!(
        "the platform has disconnected {}, but its receipt could not be written",
        job.link.handle
    ))
    .with_hint("free the disk or fix the state directory's permissions, then rerun the same command: it finds the link gone and writes the receipt from the audit log")
}

/// Saves the receipt and logs the end of the disconnect; returns it with its path filled in.
fn record(job: &Job<'_>, mut receipt: Receipt, audit: &AuditLog) -> Result<Receipt> {
    let path = receipt::save(&job.ctx.settings.state_dir, &mut receipt)?;
    let mut done = execute::event(&job.actor(), &job.shop, &job.link, Kind::Done);
    done.request_ids = receipt.request_ids.clone();
    done.receipt = Some(path);
    done.outcome = Some(receipt.outcome);
    done.details = serde_json::to_value(&receipt).ok();
    audit.append(&done)?;
    Ok(receipt)
}

/// Prints the receipt (JSON) or a summary of it.
fn report(job: &Job<'_>, receipt: &Receipt) {
    let ui = job.ctx.ui;
    let path = receipt.receipt_file.as_ref().map(|p| p.display().to_string()).unwrap_or_default();
    if ui.is_json() {
        ui.print_json(receipt);
    } else if receipt.verified_gone || receipt.confirmed_by.is_some() {
        let how = if receipt.verified_gone { "" } else { " (as you confirmed)" };
        ui.print(&format!(
            "{} {} is disconnected from {}{how}",
            ui.paint(Style::Green, "✓"),
            job.link.handle,
            job.shop.name
        ));
        ui.print(&format!("  receipt: {path}"));
    } else {
        ui.print(&format!(
            "{} stays linked until the owner finishes the steps above in {}'s own UI",
            job.link.handle,
            job.platform.name()
        ));
        ui.print(&format!("  receipt: {path}"));
    }
}

fn support_request(job: &Job<'_>, pre: &Preflight, plan: Plan) -> Result<()> {
    let ctx = job.ctx;
    let s = &job.shop;
    let l = &job.link;
    let text = support::letter(job.platform.display_name(), s, l, pre.export.is_some());
    let steps = plan.manual_steps.clone();
    let mut receipt = job.receipt(Outcome::SupportRequest, pre, Some(plan));
    receipt.support_request = Some(text.clone());
    let path = receipt::save(&ctx.settings.state_dir, &mut receipt)?;
    let mut event = execute::event(&job.actor(), s, l, Kind::SupportRequest);
    event.receipt = Some(path.clone());
    AuditLog::new(&ctx.settings.state_dir).append(&event)?;
    if ctx.ui.is_json() {
        ctx.ui.print_json(&receipt);
        return Ok(());
    }
    let ui = ctx.ui;
    ui.print(&format!(
        "{} can only be unlinked by {}'s support; shopunlink changes nothing.",
        l.handle,
        job.platform.display_name()
    ));
    if !steps.is_empty() {
        ui.print(&ui.paint(Style::Bold, "\nWhat to do"));
        for (n, step) in steps.iter().enumerate() {
            ui.print(&format!("  {}. {step}", n + 1));
        }
    }
    ui.print(&ui.paint(Style::Bold, "\nThe request"));
    ui.print(&text);
    ui.print(&format!("  saved with the receipt: {}", path.with_extension("txt").display()));
    Ok(())
}

// The preflight, plan and steps are the command's result (a dry run is nothing else), so they go
// to stdout: `disconnect --dry-run > plan.txt` keeps them. Under --json the receipt holds them.

fn print_preflight(ui: &Ui, pre: &Preflight) {
    if ui.is_json() {
        return;
    }
    ui.print(&ui.paint(Style::Bold, "Safety checks"));
    let width = ui.width();
    for c in &pre.checks {
        let mark = match (c.ok, c.overridden, c.severity) {
            (true, _, _) => ui.paint(Style::Green, "✓"),
            (false, true, _) => ui.paint(Style::Yellow, "! overridden:"),
            (false, false, preflight::Severity::Warning) => ui.paint(Style::Yellow, "!"),
            (false, false, preflight::Severity::Blocker) => ui.paint(Style::Red, "✗"),
        };
        ui.print(&wrap(&format!("  {mark} "), 4, &c.message, width));
    }
}

fn print_plan(ui: &Ui, link: &Link, plan: &Plan) {
    if ui.is_json() {
        return;
    }
    ui.print(&ui.paint(Style::Bold, &format!("Plan: disconnect {} ({})", link.handle, words::kind(link.kind))));
    let width = ui.width();
    for (n, step) in plan.steps.iter().enumerate() {
        ui.print(&wrap(&format!("  {}. ", n + 1), 5, step, width));
    }
    if !plan.consequences.is_empty() {
        ui.print(&ui.paint(Style::Bold, "What stops working"));
        for c in &plan.consequences {
            ui.print(&wrap("  - ", 4, c, width));
        }
    }
    if !plan.warnings.is_empty() {
        ui.print(&ui.paint(Style::Bold, "The platform's limits"));
        for w in &plan.warnings {
            ui.print(&wrap("  ! ", 4, w, width));
        }
    }
    if !plan.manual_steps.is_empty() && link.disconnect != crate::platform::DisconnectMode::Api {
        print_manual_steps(ui, &plan.manual_steps);
    }
}

/// The owner's steps: on stdout with the rest of the result, or on stderr beside a `--json`
/// document, so a person watching a script still sees what is left to do.
fn print_manual_steps(ui: &Ui, steps: &[String]) {
    let say = |text: &str| if ui.is_json() { ui.note(text) } else { ui.print(text) };
    say(&ui.paint(Style::Bold, "In the platform's own UI (only the owner can do this)"));
    // Wrapped for stdout's terminal; beside a `--json` document (stdout piped) they stay whole.
    let width = if ui.is_json() { None } else { ui.width() };
    for (n, s) in steps.iter().enumerate() {
        say(&wrap(&format!("  {}. ", n + 1), 5, s, width));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_walk_through_hands_on_any_handle_even_one_that_looks_like_a_flag() {
        for link in ["@democrafts.deals", "-odd-handle"] {
            let args = DisconnectArgs::for_link(link, "shop-1");
            assert_eq!((args.link.as_str(), args.shop.as_deref()), (link, Some("shop-1")));
        }
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("90s").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("5m").unwrap(), Duration::from_secs(300));
        assert_eq!(parse_duration("2").unwrap(), Duration::from_secs(2));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("m").is_err());
    }
}
