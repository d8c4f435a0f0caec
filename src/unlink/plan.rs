//! Step 3: what will happen, and what will stop working (SPEC §6). `--dry-run` stops after this.

use serde::Serialize;

use crate::platform::{DisconnectMode, Link, LinkKind, Platform, Shop};

/// The plan shown before asking for confirmation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    /// What the tool will do, in order.
    pub steps: Vec<String>,
    /// What stops working afterwards.
    pub consequences: Vec<String>,
    /// What only the owner or support can do (guided and support links).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub manual_steps: Vec<String>,
}

fn consequences(shop: &Shop, link: &Link) -> Vec<String> {
    let h = &link.handle;
    match link.kind {
        LinkKind::OfficialAccount => vec![
            format!("the Shop tab disappears from {h}'s TikTok profile"),
            format!("videos and LIVEs from {h} can no longer tag {}'s products", shop.name),
            format!("listings stay in Seller Center but are no longer shown on {h}"),
        ],
        LinkKind::MarketingAccount => vec![
            format!("{h} can no longer tag the shop's products in videos or LIVE"),
            format!("shoppable videos already posted by {h} stop showing product links"),
        ],
        LinkKind::AffiliateCreator => vec![
            format!("{h}'s affiliate links stop earning commission"),
            format!("open collaborations with {h} end; commission already earned settles on schedule"),
        ],
        LinkKind::AppAuthorization => vec![
            format!("{} can no longer read or change {}'s data through the API", link.display_name, shop.name),
            "its webhook subscriptions stop delivering events".into(),
        ],
    }
}

/// Builds the plan for disconnecting `link`.
pub fn build(platform: &dyn Platform, shop: &Shop, link: &Link, state_dir: &std::path::Path) -> Plan {
    let receipt = format!("write a receipt to {}", state_dir.join("receipts").display());
    let name = platform.name();
    let (steps, manual_steps) = match link.disconnect {
        DisconnectMode::Api => (
            vec![
                format!("confirm: you type {}", link.handle),
                "pass the second factor".into(),
                format!("ask {name} to remove {} from {}", link.handle, shop.name),
                "read the links again to confirm it is gone".into(),
                receipt,
            ],
            Vec::new(),
        ),
        DisconnectMode::Guided => (
            vec![
                format!("confirm: you type {}", link.handle),
                "pass the second factor".into(),
                format!("do every part {name} allows through its API"),
                "show the steps only you can take in the platform's own UI; --wait watches until the link is gone"
                    .into(),
                receipt,
            ],
            platform.manual_steps(shop, link),
        ),
        DisconnectMode::Support => (
            vec!["write a ready-to-send support request (nothing is changed by the tool)".into()],
            platform.manual_steps(shop, link),
        ),
    };
    Plan { steps, consequences: consequences(shop, link), manual_steps }
}
