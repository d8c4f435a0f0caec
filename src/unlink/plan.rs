//! Step 3: what will happen, and what will stop working (SPEC §6). `--dry-run` stops after this.

use schemars::JsonSchema;
use serde::Serialize;

use crate::platform::spec::{fill, kind_spec};
use crate::platform::{DisconnectMode, Link, LinkSource, Platform, Shop};

/// The plan shown before asking for confirmation.
#[derive(Debug, Clone, PartialEq, Serialize, JsonSchema)]
pub struct Plan {
    /// What the tool will do, in order.
    pub steps: Vec<String>,
    /// What stops working afterwards.
    pub consequences: Vec<String>,
    /// What only the owner or support can do (guided and support links).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manual_steps: Vec<String>,
    /// The platform's limits for this kind of link ("you cannot relink ... more than").
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

/// Builds the plan for disconnecting `link`. `confirm_typed` is false when `--yes` skips typing
/// the handle, so the plan does not promise a step that will not happen.
pub fn build(
    platform: &dyn Platform,
    shop: &Shop,
    link: &Link,
    state_dir: &std::path::Path,
    confirm_typed: bool,
) -> Plan {
    let spec = kind_spec(&platform.link_kinds(), link.kind);
    let receipt = format!("write a receipt to {}", state_dir.join("receipts").display());
    let name = platform.display_name();
    let mut steps = Vec::new();
    if confirm_typed && link.disconnect != DisconnectMode::Support {
        steps.push(format!("you confirm by typing {}", link.handle));
    }
    let manual_steps = match link.disconnect {
        DisconnectMode::Api => {
            steps.push("check your one-time code".into());
            steps.push(format!("ask {name} to remove {} from {}", link.handle, shop.name));
            steps.push("read the links again to confirm it is gone".into());
            steps.push(receipt);
            Vec::new()
        }
        DisconnectMode::Guided if link.source == LinkSource::Declared => {
            steps.push("check your one-time code".into());
            steps.push(format!("show where to unlink it in {name}'s own UI; you unlink it there"));
            steps.push("ask you to confirm it is done (scripts: --owner-done)".into());
            steps.push(receipt);
            platform.manual_steps(shop, link)
        }
        DisconnectMode::Guided => {
            steps.push("check your one-time code".into());
            steps.push(format!("do every part {name} allows through its API"));
            steps.push(
                "show the steps only you can take in the platform's own UI; --wait watches until the link is gone"
                    .into(),
            );
            steps.push(receipt);
            platform.manual_steps(shop, link)
        }
        DisconnectMode::Support => {
            steps.push("write a ready-to-send support request (nothing is changed by the tool)".into());
            platform.manual_steps(shop, link)
        }
    };
    let warnings = spec.limits.iter().map(|l| fill(l, shop, link)).collect();
    Plan { steps, consequences: spec.consequences_for(shop, link), manual_steps, warnings }
}
