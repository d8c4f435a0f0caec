//! The sandbox's persistent state: the parameters its records are generated from, its links, the
//! challenges it has "sent" and a request counter. Records themselves are never stored: they are
//! regenerated from the parameters on every read.
//!
//! The state file is JSON under `state/sandbox/world.json`, written atomically. A missing file is
//! the default world; a corrupt one is reported with its path and never overwritten silently.

use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeZone, Utc};
use serde::{Deserialize, Serialize};

use super::economy::{Params, cents};
use super::rng::mix;
use crate::error::{Error, Result};
use crate::fsutil;
use crate::lock::{self, Lock};
use crate::platform::{DisconnectMode, Link, LinkKind, LinkSource, LinkState};

/// How long a sandbox code stays valid.
pub const CODE_TTL_SECS: i64 = 300;
/// Wrong answers a challenge takes before it is void.
pub const CODE_ATTEMPTS: u32 = 3;

/// A code the sandbox "sent" to the seller.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ChallengeState {
    /// Challenge id.
    pub id: String,
    /// The link it authorises disconnecting.
    pub link_id: String,
    /// The 6-digit code (the simulated SMS; readable with `sandbox code`).
    pub code: String,
    /// Where it was "sent".
    pub sent_to: String,
    /// When it was sent.
    pub created_at: DateTime<Utc>,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
    /// Wrong answers left.
    pub attempts_left: u32,
    /// The right code was given.
    pub accepted: bool,
    /// A disconnect consumed it.
    pub used: bool,
}

impl ChallengeState {
    /// True while it can still be answered.
    pub fn is_pending(&self, now: DateTime<Utc>) -> bool {
        !self.used && !self.accepted && self.attempts_left > 0 && now < self.expires_at
    }
}

/// The whole sandbox state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct World {
    /// File format version.
    pub version: u32,
    /// What the records are generated from.
    pub params: Params,
    /// When the records last changed (a reset); `None` for the never-reset default world.
    pub data_changed_at: Option<DateTime<Utc>>,
    /// The shop's links, linked or not.
    pub links: Vec<Link>,
    /// Challenges sent, newest last.
    pub challenges: Vec<ChallengeState>,
    /// Requests served that changed something (for request ids).
    pub requests: u64,
    /// True when the sandbox sends no code of its own and the profile's TOTP is the second
    /// factor, as on TikTok (`sandbox reset --profile-totp`), so that path can be tried offline.
    #[serde(default)]
    pub profile_totp: bool,
}

impl World {
    /// A fresh world for `params`, as `sandbox reset` builds it.
    pub fn new(params: Params, data_changed_at: Option<DateTime<Utc>>) -> World {
        World {
            version: 1,
            params,
            data_changed_at,
            links: default_links(&params),
            challenges: Vec::new(),
            requests: 0,
            profile_totp: false,
        }
    }

    /// Where the state file lives under `state_dir`.
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join("sandbox").join("world.json")
    }

    /// Loads the world, or the default one if none was saved yet.
    pub fn load(path: &Path) -> Result<World> {
        let Some(text) = fsutil::read_state(path)? else {
            return Ok(World::new(Params::default(), None));
        };
        let world: World = serde_json::from_str(&text).map_err(|e| {
            Error::internal(format!("the sandbox state file {} is corrupt", path.display()))
                .with_cause(e)
                .with_hint("`shopunlink sandbox reset` replaces it with a fresh world")
                .with_detail("path", path.display().to_string())
        })?;
        if world.version != 1 {
            return Err(Error::internal(format!("{} has unknown version {}", path.display(), world.version))
                .with_hint("it was written by a newer shopunlink; upgrade, or `shopunlink sandbox reset`"));
        }
        Ok(world)
    }

    /// Saves atomically under the world's lock, creating the private state directory: a
    /// `sandbox reset` waits for a running disconnect's update instead of racing it.
    pub fn save(&self, path: &Path) -> Result<()> {
        let _lock = World::lock(path)?;
        self.save_locked(path)
    }

    /// Takes the world's lock (a file beside it), waiting for another process if needed.
    pub fn lock(path: &Path) -> Result<Lock> {
        Lock::take(&lock::beside(path), "the sandbox world")
    }

    /// [`World::save`] for a caller that already holds [`World::lock`].
    pub fn save_locked(&self, path: &Path) -> Result<()> {
        if let Some(dir) = path.parent() {
            fsutil::create_private_dir(dir)?;
        }
        let text = serde_json::to_string_pretty(self)
            .map_err(|e| Error::internal("cannot encode sandbox state").with_cause(e))?;
        fsutil::write_atomic(path, text.as_bytes())
    }

    /// A new platform request id; deterministic for the seed and the request number.
    pub fn next_request_id(&mut self) -> String {
        self.requests += 1;
        format!("sbx-{:016x}", mix(self.params.seed ^ mix(self.requests)))
    }

    /// The shop's id.
    pub fn shop_id(&self) -> String {
        format!("74{:014}", mix(self.params.seed) % 100_000_000_000_000)
    }

    /// The newest challenge that can still be answered.
    pub fn pending_challenge(&self, now: DateTime<Utc>) -> Option<&ChallengeState> {
        self.challenges.iter().rev().find(|c| c.is_pending(now))
    }
}

fn link(p: &Params, n: u64, kind: LinkKind, handle: &str, name: &str, since: i64, mode: DisconnectMode) -> Link {
    Link {
        id: format!("lnk_{:012x}", mix(p.seed ^ (n << 40)) & 0xffff_ffff_ffff),
        kind,
        handle: handle.into(),
        display_name: name.into(),
        state: LinkState::Linked,
        linked_since: Utc.timestamp_opt(since, 0).single(),
        disconnect: mode,
        details: serde_json::Map::new(),
        source: LinkSource::Platform,
    }
}

/// The links of a fresh world: one of each kind, plus a partner account only support can unlink.
fn default_links(p: &Params) -> Vec<Link> {
    use DisconnectMode::{Api, Support};
    let mut links = vec![
        link(p, 1, LinkKind::OFFICIAL_ACCOUNT, "@democrafts", "Demo Crafts Co.", 1_709_337_600, Api),
        link(p, 2, LinkKind::MARKETING_ACCOUNT, "@democrafts.deals", "Demo Crafts — Deals & Drops", 1_717_200_000, Api),
        link(p, 3, LinkKind::AFFILIATE_CREATOR, "@lunabeauty", "Luna ✨ Beauty", 1_740_787_200, Api),
        link(p, 4, LinkKind::APP_AUTHORIZATION, "inventory-sync-pro", "Inventory Sync Pro", 1_725_148_800, Api),
        link(
            p,
            5,
            LinkKind::MARKETING_ACCOUNT,
            "@brightside.agency",
            "Brightside Agency (partner business account)",
            1_746_057_600,
            Support,
        ),
    ];
    if !p.settled {
        let commission = 18_420 + (mix(p.seed) % 5_000) as i64;
        links[2]
            .details
            .insert("pending_commission".into(), serde_json::json!({"amount": cents(commission), "currency": "USD"}));
    }
    links[3].details.insert("scopes".into(), serde_json::json!(["order.read", "product.read", "inventory.write"]));
    links[4].details.insert("account_manager".into(), "partner-support@brightside.example".into());
    links
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let dir = tempfile::tempdir().unwrap();
        let path = World::path(dir.path());
        let w = World::new(Params::default(), None);
        w.save(&path).unwrap();
        assert_eq!(World::load(&path).unwrap(), w);
        std::fs::write(&path, "{\"version\": 1, \"oops\"").unwrap();
        let e = World::load(&path).unwrap_err();
        assert!(e.message().contains("world.json"), "{}", e.message());
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "{\"version\": 1, \"oops\"", "not overwritten");
    }
}
