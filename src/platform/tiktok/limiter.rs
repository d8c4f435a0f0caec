//! The client-side rate limiter: fewer than `limit` requests per second per API for each app +
//! shop, the limit TikTok enforces (reference: "50 requests per second per API"). Staying under it
//! is cheaper than being answered 429 and backing off.
//!
//! - **Spacing.** Requests leave evenly, at least `1/rate` apart, per key: a strict schedule holds
//!   the rate in every one-second window (a burst-then-refill bucket can briefly double it at a
//!   window edge, which is exactly what a server counting per second rejects). The gap is kept
//!   between real departures, not reserved slots: a process that stalls (a busy machine, a
//!   suspended laptop) does not send the requests it owes in a burst when it wakes. One limiter
//!   is shared by every concurrent export task, so datasets and windows read side by side never
//!   add up to more than the limit per API.
//! - **In turn.** Requests of a key leave in the order they asked: cursors sharing an API share
//!   it evenly, so windows of equal size end together.
//! - **A little under.** The schedule runs at [`PACE`] of the limit: requests leave evenly but
//!   arrive with the network's jitter, and at exactly the limit two of them arriving close together
//!   already make one second hold one too many.
//! - **Adaptive.** A 429 (or the body code for "too many requests") cuts the key's rate by
//!   [`CUT`] and holds every request of the key for the server's `Retry-After`, or [`SETTLE`] when
//!   it gives none (a server counting per second has then forgotten the burst). The requests in
//!   flight when the server started refusing all come back refused together: that is one signal,
//!   so the rate is cut at most once per [`SETTLE`]. It then climbs back by [`STEP`] of the ceiling
//!   every [`RECOVERY_STEP`] without a refusal.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::time::Instant;

/// The share of the documented limit the schedule uses.
pub const PACE: f64 = 0.96;
/// What a refusal leaves of the key's rate.
const CUT: f64 = 0.7;
/// What a quiet [`RECOVERY_STEP`] gives back, as a share of the ceiling.
const STEP: f64 = 0.05;
/// How long the rate stays put after a change before it climbs a step.
const RECOVERY_STEP: Duration = Duration::from_secs(2);
/// How long a refusal holds the key when the server says nothing, and how soon another refusal
/// may cut the rate again.
const SETTLE: Duration = Duration::from_secs(1);
/// The slowest schedule, whatever the refusals: one request a second.
const FLOOR: f64 = 1.0;

/// The schedule of one key.
#[derive(Debug)]
struct Key {
    /// When the last request left.
    last: Option<Instant>,
    /// No request leaves before this (the server's `Retry-After`).
    paused_until: Option<Instant>,
    /// Requests per second now.
    rate: f64,
    /// When the rate last changed (or the key was first used).
    changed: Instant,
}

impl Key {
    fn new(rate: f64, now: Instant) -> Key {
        Key { last: None, paused_until: None, rate, changed: now }
    }

    /// The earliest a request may leave.
    fn earliest(&self, now: Instant) -> Instant {
        let spaced = self.last.map_or(now, |last| last + Duration::from_secs_f64(1.0 / self.rate));
        self.paused_until.map_or(spaced, |pause| spaced.max(pause))
    }
}

/// One key's schedule, and the queue of requests waiting their turn on it.
#[derive(Debug)]
struct Lane {
    /// Held by the one request waiting for its departure time; the others queue for it in
    /// arrival order (tokio's mutex is fair), so cursors sharing a key take turns and windows
    /// of equal size end together. Waking every waiter at each departure instead let an
    /// arbitrary one leave: some windows ran ahead and one was left to read its last pages
    /// alone, at one page per round trip.
    turn: tokio::sync::Mutex<()>,
    key: Mutex<Key>,
}

impl Lane {
    fn state(&self) -> std::sync::MutexGuard<'_, Key> {
        self.key.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Spaces requests per key (`app_key`, shop, API).
#[derive(Debug)]
pub struct Limiter {
    limit: u32,
    ceiling: f64,
    lanes: Mutex<HashMap<String, Arc<Lane>>>,
}

impl Limiter {
    /// A limiter for a platform allowing `limit` requests per second per key (0 is treated as 1).
    pub fn new(limit: u32) -> Limiter {
        let limit = limit.max(1);
        let ceiling = (f64::from(limit) * PACE).max(FLOOR);
        Limiter { limit, ceiling, lanes: Mutex::new(HashMap::new()) }
    }

    /// The platform's limit this limiter stays under.
    pub fn limit(&self) -> u32 {
        self.limit
    }

    /// The time between two requests of one key that has not been refused.
    pub fn interval(&self) -> Duration {
        Duration::from_secs_f64(1.0 / self.ceiling)
    }

    fn lane(&self, key: &str) -> Arc<Lane> {
        let mut lanes = self.lanes.lock().unwrap_or_else(|p| p.into_inner());
        // Looked up first: a request should not allocate its key's name just to find its lane.
        if let Some(lane) = lanes.get(key) {
            return lane.clone();
        }
        let lane = Arc::new(Lane {
            turn: tokio::sync::Mutex::new(()),
            key: Mutex::new(Key::new(self.ceiling, Instant::now())),
        });
        lanes.insert(key.to_owned(), lane.clone());
        lane
    }

    /// Waits until a request of `key` may leave, after those that asked before it, and counts it
    /// as leaving.
    pub async fn acquire(&self, key: &str) {
        let lane = self.lane(key);
        let _turn = lane.turn.lock().await;
        loop {
            let wake = {
                let now = Instant::now();
                let mut state = lane.state();
                let earliest = state.earliest(now);
                if earliest <= now {
                    // Lateness under half a gap (the timer's millisecond) keeps the schedule, so
                    // the rate is the one asked for; a longer stall restarts it from now.
                    let half_gap = Duration::from_secs_f64(0.5 / state.rate);
                    state.last = Some(if now - earliest < half_gap { earliest } else { now });
                    return;
                }
                earliest
            };
            // A refusal meanwhile may push the departure later: the loop looks again.
            tokio::time::sleep_until(wake).await;
        }
    }

    /// The server refused a request of `key` as over its limit: slow down, and let no request of
    /// the key leave before `retry_after` has passed.
    pub fn refused(&self, key: &str, retry_after: Option<Duration>) {
        let now = Instant::now();
        let lane = self.lane(key);
        let mut state = lane.state();
        let hold = if now.duration_since(state.changed) >= SETTLE || state.rate >= self.ceiling {
            state.rate = (state.rate * CUT).max(FLOOR);
            state.changed = now;
            tracing::debug!(key, rate = state.rate, "rate limited by the server: slowing down");
            Some(retry_after.unwrap_or(SETTLE))
        } else {
            retry_after
        };
        if let Some(wait) = hold {
            state.paused_until = Some(state.paused_until.map_or(now + wait, |p| p.max(now + wait)));
        }
    }

    /// A request of `key` was answered: after a quiet [`RECOVERY_STEP`], speed back up a step.
    pub fn answered(&self, key: &str) {
        let now = Instant::now();
        let lane = self.lane(key);
        let mut state = lane.state();
        if state.rate < self.ceiling && now.duration_since(state.changed) >= RECOVERY_STEP {
            state.rate = (state.rate + self.ceiling * STEP).min(self.ceiling);
            state.changed = now;
        }
    }

    /// The key's current rate, requests per second.
    #[cfg(test)]
    fn rate(&self, key: &str) -> f64 {
        self.lane(key).state().rate
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn holds_the_rate_per_key_and_keeps_keys_apart() {
        let limiter = std::sync::Arc::new(Limiter::new(50));
        let start = Instant::now();
        let mut tasks = Vec::new();
        for i in 0..100 {
            let l = limiter.clone();
            tasks.push(tokio::spawn(async move {
                l.acquire(if i % 2 == 0 { "a" } else { "b" }).await;
                Instant::now()
            }));
        }
        let mut times = Vec::new();
        for t in tasks {
            times.push(t.await.unwrap() - start);
        }
        // 50 requests per key at 96% of 50/s: the last starts 49 intervals after the first.
        let last = *times.iter().max().unwrap();
        let expected = limiter.interval() * 49;
        assert!(last.abs_diff(expected) < Duration::from_millis(2), "{last:?} vs {expected:?}");
        assert!(last > Duration::from_millis(980), "under the limit, not at it");
        // In any one-second window, no key gets 50 requests.
        let mut a: Vec<_> = times.iter().step_by(2).copied().collect();
        a.sort();
        for w in a.windows(2) {
            assert!((w[1] - w[0]).abs_diff(limiter.interval()) < Duration::from_millis(1), "spaced evenly");
        }
        // A stalled process does not pay back the requests it owes in a burst.
        let stalled = Limiter::new(50);
        stalled.acquire("k").await;
        std::thread::sleep(Duration::from_millis(1));
        tokio::time::advance(Duration::from_millis(500)).await;
        let woke = Instant::now();
        stalled.acquire("k").await;
        stalled.acquire("k").await;
        let gap = Instant::now() - woke;
        assert!(gap >= stalled.interval() && gap < stalled.interval() * 2, "one at once, the next a full gap later");
        let in_first_second = a.iter().filter(|t| **t < Duration::from_secs(1)).count();
        assert!(in_first_second < 50, "{in_first_second} requests in the first second");
    }

    #[tokio::test(start_paused = true)]
    async fn a_refusal_slows_the_key_honours_retry_after_and_the_rate_recovers_slowly() {
        let limiter = Limiter::new(50);
        let ceiling = limiter.rate("k");
        limiter.acquire("k").await;
        limiter.refused("k", Some(Duration::from_secs(1)));
        let cut = limiter.rate("k");
        assert!((cut - ceiling * CUT).abs() < 1e-9);
        // Refusals of the requests that were in flight together count once.
        limiter.refused("k", None);
        assert_eq!(limiter.rate("k"), cut);
        // The next request waits out Retry-After; another key does not.
        let before = Instant::now();
        limiter.acquire("other").await;
        assert_eq!(Instant::now(), before);
        limiter.acquire("k").await;
        assert!(Instant::now() - before >= Duration::from_secs(1));
        // Answers within the recovery step change nothing; after it, one step back up.
        limiter.answered("k");
        assert_eq!(limiter.rate("k"), cut);
        tokio::time::advance(RECOVERY_STEP).await;
        limiter.answered("k");
        assert!((limiter.rate("k") - (cut + ceiling * STEP)).abs() < 1e-9);
        for _ in 0..20 {
            tokio::time::advance(RECOVERY_STEP).await;
            limiter.answered("k");
        }
        assert_eq!(limiter.rate("k"), ceiling, "never past the ceiling");
    }

    #[test]
    fn the_ceiling_is_a_little_under_the_limit_and_never_zero() {
        assert_eq!(Limiter::new(0).interval(), Duration::from_secs(1));
        let fifty = Limiter::new(50);
        assert_eq!(fifty.limit(), 50);
        assert!(fifty.interval() > Duration::from_millis(20) && fifty.interval() < Duration::from_millis(22));
    }
}
