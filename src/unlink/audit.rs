//! `state/audit.log`: one JSON line per disconnect event, synced as it is written.
//!
//! An `attempt` line is written before the platform is asked to change anything and a `done` line
//! after the receipt, so a crash in between leaves evidence that a rerun uses to finish the job.

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fsutil;

/// One line of the audit log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// When.
    pub time: DateTime<Utc>,
    /// `disconnect.attempt`, `disconnect.executed`, `disconnect.failed`, `disconnect.done`,
    /// `disconnect.support_request`.
    pub event: String,
    /// Platform name.
    pub platform: String,
    /// Profile name.
    pub profile: String,
    /// Shop id.
    pub shop_id: String,
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
    /// The receipt's outcome for `done` (`disconnected`, `awaiting_owner`, ...).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<String>,
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
        fsutil::append_line(&self.path, &line)
    }

    /// Every readable event, oldest first. Lines that do not parse (a torn last line after a
    /// crash, a hand edit) are skipped rather than failing the command.
    pub fn events(&self) -> Result<Vec<Event>> {
        let text = fsutil::read_optional(&self.path)?.unwrap_or_default();
        Ok(text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect())
    }

    /// The last event of a link, if it says a disconnect was started and never finished.
    pub fn unfinished(&self, platform: &str, shop_id: &str, link_id: &str) -> Result<Option<Event>> {
        let last = self
            .events()?
            .into_iter()
            .filter(|e| e.platform == platform && e.shop_id == shop_id && e.link_id == link_id)
            .rfind(|e| e.event.starts_with("disconnect.") && e.event != "disconnect.support_request");
        Ok(last.filter(|e| e.event == "disconnect.attempt" || e.event == "disconnect.executed"))
    }

    /// The `done` event of a finished disconnect of the link `query` (id or handle) by this
    /// platform and profile, if that is the link's last event. After a guided disconnect the
    /// tokens are gone and the platform can no longer be asked, so this record is what proves a
    /// second run has nothing to do.
    pub fn disconnected(&self, platform: &str, profile: &str, query: &str) -> Result<Option<Event>> {
        let bare = |s: &str| s.trim_start_matches('@').to_lowercase();
        let last = self
            .events()?
            .into_iter()
            .filter(|e| e.platform == platform && e.profile == profile)
            .filter(|e| e.link_id == query || bare(&e.handle) == bare(query))
            .rfind(|e| e.event.starts_with("disconnect."));
        Ok(last.filter(|e| e.event == "disconnect.done" && e.outcome.as_deref() == Some("disconnected")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(name: &str, outcome: Option<&str>) -> Event {
        Event {
            time: Utc::now(),
            event: name.into(),
            platform: "tiktok".into(),
            profile: "default".into(),
            shop_id: "s1".into(),
            link_id: "lnk1".into(),
            handle: "@app-K".into(),
            request_ids: Vec::new(),
            error: None,
            receipt: None,
            outcome: outcome.map(Into::into),
        }
    }

    #[test]
    fn only_a_finished_disconnect_counts_as_done() {
        let dir = tempfile::tempdir().unwrap();
        let log = AuditLog::new(dir.path());
        log.append(&event("disconnect.attempt", None)).unwrap();
        assert!(log.disconnected("tiktok", "default", "app-K").unwrap().is_none());
        log.append(&event("disconnect.done", Some("awaiting_owner"))).unwrap();
        assert!(log.disconnected("tiktok", "default", "app-K").unwrap().is_none(), "the owner had not finished");
        log.append(&event("disconnect.done", Some("disconnected"))).unwrap();
        assert!(log.disconnected("tiktok", "default", "APP-K").unwrap().is_some(), "handles match in any case");
        assert!(log.disconnected("tiktok", "default", "lnk1").unwrap().is_some(), "and by id");
        assert!(log.disconnected("tiktok", "other", "app-K").unwrap().is_none(), "another profile's record");
        assert!(log.disconnected("sandbox", "default", "app-K").unwrap().is_none(), "another platform's record");
    }
}
