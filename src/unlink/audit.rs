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
}
