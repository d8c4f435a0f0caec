//! Step 6: ask the platform to cut the link, with the audit log on either side of the call.

use chrono::Utc;

use super::audit::{AuditLog, Event, Kind};
use super::receipt::Established;
use crate::error::Result;
use crate::platform::{DisconnectOutcome, Grant, Link, Platform, Shop};

/// Who is doing the disconnect, for the audit log.
#[derive(Debug, Clone)]
pub struct Actor<'a> {
    /// Platform name.
    pub platform: &'a str,
    /// Profile name.
    pub profile: &'a str,
}

/// An audit event for `link` with no request ids yet.
pub fn event(actor: &Actor<'_>, shop: &Shop, link: &Link, name: Kind) -> Event {
    Event {
        time: Utc::now(),
        event: name,
        platform: actor.platform.into(),
        profile: actor.profile.into(),
        shop_id: shop.id.clone(),
        shop_name: Some(shop.name.clone()),
        link_id: link.id.clone(),
        handle: link.handle.clone(),
        request_ids: Vec::new(),
        error: None,
        receipt: None,
        outcome: None,
        details: None,
    }
}

/// Disconnects `link`, logging the attempt first and the result after. What was `established`
/// rides on both lines, so a rerun after a crash can write a full receipt.
pub async fn run(
    audit: &AuditLog,
    actor: &Actor<'_>,
    platform: &dyn Platform,
    shop: &Shop,
    link: &Link,
    grant: &Grant,
    established: &Established,
) -> Result<DisconnectOutcome> {
    let context = serde_json::to_value(established).ok();
    let mut attempt = event(actor, shop, link, Kind::Attempt);
    attempt.details = context.clone();
    audit.append(&attempt)?;
    match platform.disconnect(shop, link, grant).await {
        Ok(outcome) => {
            let mut done = event(actor, shop, link, Kind::Executed);
            done.details = context;
            done.request_ids = outcome.request_ids.clone();
            audit.append(&done)?;
            Ok(outcome)
        }
        Err(e) => {
            let mut failed = event(actor, shop, link, Kind::Failed);
            failed.error = Some(e.to_string());
            if let Some(id) = e.detail("request_id").and_then(|v| v.as_str()) {
                failed.request_ids.push(id.to_owned());
            }
            audit.append(&failed)?;
            Err(e)
        }
    }
}
