//! `state/audit.log`: one JSON line per disconnect event, synced as it is written.
//!
//! An `attempt` line is written before the platform is asked to change anything and a `done` line
//! after the receipt, so a crash in between leaves evidence that a rerun uses to finish the job.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::receipt::Outcome;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::lock::{self, Lock};

/// One line of `state/audit.log` (NDJSON): an event of a disconnect, appended as it happens; the
/// `done` line holds the whole receipt in `details`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Event {
    /// When.
    pub time: DateTime<Utc>,
    /// What happened.
    pub event: Kind,
    /// Platform name.
    pub platform: String,
    /// Profile name.
    pub profile: String,
    /// Shop id.
    pub shop_id: String,
    /// Shop name at the time, so `--shop NAME` finds the record after the tokens are gone.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shop_name: Option<String>,
    /// Link id.
    pub link_id: String,
    /// Link handle.
    pub handle: String,
    /// Platform request ids.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub request_ids: Vec<String>,
    /// Error message for `failed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Receipt path for `done`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub receipt: Option<PathBuf>,
    /// The receipt's outcome for `done`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Outcome>,
    /// `attempt` and `executed`: what the receipt will need if the run stops before writing it
    /// (preflight results, the export relied on, the second factor). `done`: the receipt itself,
    /// so the log holds it even if `receipts/` is lost.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub details: Option<serde_json::Value>,
}

/// The kinds of audit event, as the log names them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub enum Kind {
    /// About to ask the platform (written before the call).
    #[serde(rename = "disconnect.attempt")]
    Attempt,
    /// The platform did its part.
    #[serde(rename = "disconnect.executed")]
    Executed,
    /// The platform call failed.
    #[serde(rename = "disconnect.failed")]
    Failed,
    /// The receipt was written.
    #[serde(rename = "disconnect.done")]
    Done,
    /// A support request was written (nothing changed on the platform).
    #[serde(rename = "disconnect.support_request")]
    SupportRequest,
    /// The user stopped before anything changed (declined, Ctrl-C, SIGTERM).
    #[serde(rename = "disconnect.cancelled")]
    Cancelled,
    /// A second-factor code that had already been used was given; nothing changed.
    #[serde(rename = "disconnect.code_reused")]
    CodeReused,
    /// An event this version does not know (a newer shopunlink wrote it); never written.
    #[serde(other)]
    #[schemars(skip)]
    Other,
}

/// The audit log of a state directory.
#[derive(Debug, Clone)]
pub struct AuditLog {
    path: PathBuf,
}

impl AuditLog {
    /// The log under `state_dir`.
    pub fn new(state_dir: &Path) -> AuditLog {
        AuditLog { path: state_dir.join("audit.log") }
    }

    /// Appends an event (creating the private state directory).
    pub fn append(&self, event: &Event) -> Result<()> {
        if let Some(dir) = self.path.parent() {
            fsutil::create_private_dir(dir)?;
        }
        let line =
            serde_json::to_string(event).map_err(|e| Error::internal("cannot encode an audit event").with_cause(e))?;
        // One writer at a time: concurrent appends of long lines could interleave.
        let _lock = Lock::take(&lock::beside(&self.path), "the audit log")?;
        fsutil::append_line(&self.path, &line)
    }

    /// Every readable event, oldest first. Lines that do not parse (a torn last line after a
    /// crash, a hand edit) are skipped rather than failing the command.
    pub fn events(&self) -> Result<Vec<Event>> {
        let bytes = fsutil::read_state_bytes(&self.path)?.unwrap_or_default();
        let text = String::from_utf8_lossy(&bytes);
        Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
    }

    /// The last event of a link, if it says a disconnect was started and never finished.
    pub fn unfinished(&self, platform: &str, shop_id: &str, link_id: &str) -> Result<Option<Event>> {
        let last = self
            .events()?
            .into_iter()
            .filter(|e| e.platform == platform && e.shop_id == shop_id && e.link_id == link_id)
            .rfind(|e| matches!(e.event, Kind::Attempt | Kind::Executed | Kind::Failed | Kind::Done));
        Ok(last.filter(|e| matches!(e.event, Kind::Attempt | Kind::Executed)))
    }

    /// The last event of the link `query` (id or handle) by this platform and profile, when it
    /// says the tool's part of the disconnect is done: a `done` that found the link gone or left
    /// the rest to the owner, or an `executed` whose run stopped before its receipt. After a
    /// guided disconnect the tokens are gone and the platform can no longer be asked, so this
    /// record is what proves a second run has nothing to do.
    ///
    /// `shop` (an id or a name) narrows the search; without it the link must have been
    /// disconnected from exactly one shop, since one handle (a TikTok app) can be linked to several.
    pub fn tool_part_done(
        &self,
        platform: &str,
        profile: &str,
        shop: Option<&str>,
        query: &str,
    ) -> Result<Option<Event>> {
        let bare = crate::platform::bare_handle;
        let events: Vec<Event> = self
            .events()?
            .into_iter()
            .filter(|e| e.platform == platform && e.profile == profile && e.event != Kind::Other)
            .filter(|e| {
                shop.is_none_or(|s| e.shop_id == s || e.shop_name.as_deref().is_some_and(|n| n.eq_ignore_ascii_case(s)))
            })
            .filter(|e| e.link_id == query || bare(&e.handle) == bare(query))
            .collect();
        let mut links: Vec<&str> = events.iter().map(|e| e.link_id.as_str()).collect();
        links.sort_unstable();
        links.dedup();
        if links.len() != 1 {
            return Ok(None);
        }
        let last = events.into_iter().last();
        Ok(last.filter(|e| match e.event {
            Kind::Done => matches!(e.outcome, Some(Outcome::Disconnected | Outcome::AwaitingOwner)),
            Kind::Executed => true,
            _ => false,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    proptest! {
        /// Whatever is in the log (a torn line, binary junk, a hand edit), reading it never panics
        /// and keeps the lines that are events.
        #[test]
        fn any_log_bytes_are_read_without_panic(junk in proptest::collection::vec(any::<u8>(), 0..512)) {
            let dir = tempfile::tempdir().unwrap();
            let log = AuditLog::new(dir.path());
            log.append(&event(Kind::Attempt, None)).unwrap();
            let mut bytes = std::fs::read(&log.path).unwrap();
            bytes.extend_from_slice(&junk);
            std::fs::write(&log.path, &bytes).unwrap();
            let events = log.events().unwrap();
            prop_assert_eq!(events.first().map(|e| e.event), Some(Kind::Attempt));
        }
    }

    fn event(name: Kind, outcome: Option<Outcome>) -> Event {
        Event {
            time: Utc::now(),
            event: name,
            platform: "example".into(),
            profile: "default".into(),
            shop_id: "s1".into(),
            shop_name: Some("Luna Beauty".into()),
            link_id: "lnk1".into(),
            handle: "@app-K".into(),
            request_ids: Vec::new(),
            error: None,
            receipt: None,
            outcome,
            details: None,
        }
    }

    #[test]
    fn only_a_disconnect_whose_tool_part_finished_counts_as_done() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path());
        log.append(&event(Kind::Attempt, None)).unwrap();
        let done = |profile: &str, platform: &str, shop: Option<&str>, q: &str| {
            log.tool_part_done(platform, profile, shop, q).unwrap().is_some()
        };
        assert!(!done("default", "example", None, "app-K"), "only attempted: the platform was maybe not asked");
        log.append(&event(Kind::Failed, None)).unwrap();
        assert!(!done("default", "example", None, "app-K"), "it failed");
        log.append(&event(Kind::Executed, None)).unwrap();
        assert!(done("default", "example", None, "app-K"), "executed, stopped before the receipt");
        log.append(&event(Kind::Done, Some(Outcome::AwaitingOwner))).unwrap();
        assert!(done("default", "example", None, "app-K"), "the owner's part is left");
        log.append(&event(Kind::Done, Some(Outcome::Disconnected))).unwrap();
        assert!(done("default", "example", None, "APP-K"), "handles match in any case");
        assert!(done("default", "example", None, "lnk1"), "and by id");
        assert!(done("default", "example", Some("s1"), "app-K"), "and within its shop");
        assert!(done("default", "example", Some("luna beauty"), "app-K"), "named as status shows it");
        assert!(!done("default", "example", Some("s2"), "app-K"), "not for another shop");
        assert!(!done("other", "example", None, "app-K"), "another profile's record");
        assert!(!done("default", "other", None, "app-K"), "another platform's record");
        // The same app linked to a second shop: without --shop, which one is meant is unknown.
        let mut other = event(Kind::Attempt, None);
        (other.shop_id, other.link_id) = ("s2".into(), "lnk2".into());
        log.append(&other).unwrap();
        assert!(!done("default", "example", None, "app-K"), "ambiguous across shops");
        assert!(done("default", "example", Some("s1"), "app-K"));
    }
}
