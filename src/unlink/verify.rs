//! Step 7: read the links again and see the link gone; `--wait` polls for guided links.

use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::interrupt;
use crate::platform::{LinkState, Platform, Shop};

/// How often `--wait` asks the platform.
pub const POLL_EVERY: Duration = Duration::from_secs(5);

/// True when the platform no longer lists `link_id` as linked (a shop that disappeared entirely
/// counts: an app's authorisation is the shop's presence in its list).
pub async fn is_gone(platform: &dyn Platform, shop: &Shop, link_id: &str) -> Result<bool> {
    let shops = platform.shops().await?;
    let link = shops.iter().find(|s| s.id == shop.id).and_then(|s| s.links.iter().find(|l| l.id == link_id));
    Ok(link.is_none_or(|l| l.state == LinkState::Unlinked))
}

/// Checks once, or polls until `wait` runs out; `Ok(false)` when still linked at the end.
///
/// The last check is made at the deadline itself, so a wait shorter than [`POLL_EVERY`] still
/// looks twice (right away and when the wait ends) instead of giving up after the first look.
pub async fn confirm_gone(platform: &dyn Platform, shop: &Shop, link_id: &str, wait: Option<Duration>) -> Result<bool> {
    let deadline = wait.map(|w| Instant::now() + w);
    loop {
        if is_gone(platform, shop, link_id).await? {
            return Ok(true);
        }
        let Some(pause) = deadline.map(|d| d.saturating_duration_since(Instant::now()).min(POLL_EVERY)) else {
            return Ok(false);
        };
        if pause.is_zero() {
            return Ok(false);
        }
        if interrupt::requested() {
            return Err(Error::interrupted("stopped waiting; the link is still listed")
                .with_hint("what the tool could do is done; finish the steps shown above in the platform's own UI"));
        }
        tokio::time::sleep(pause).await;
    }
}
