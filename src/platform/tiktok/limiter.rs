//! The client-side rate limiter: at most `rate` requests per second per API for each app + shop,
//! the limit TikTok enforces (reference: "50 requests per second per API"). Staying under it is
//! cheaper than being answered 429 and backing off.
//!
//! Requests are spaced evenly, `1/rate` apart, per key: a strict schedule holds the rate in every
//! one-second window (a burst-then-refill bucket can briefly double it at a window edge, which is
//! exactly what a server counting per second rejects). One limiter is shared by every concurrent
//! export task, so the datasets running at once never add up to more than the limit per API.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

/// Spaces requests per key (`app_key`, shop, API).
#[derive(Debug)]
pub struct Limiter {
    interval: Duration,
    next_slot: Mutex<HashMap<String, Instant>>,
}

impl Limiter {
    /// A limiter allowing `rate` requests per second per key (0 is treated as 1).
    pub fn new(rate: u32) -> Limiter {
        Limiter { interval: Duration::from_secs(1) / rate.max(1), next_slot: Mutex::new(HashMap::new()) }
    }

    /// The time between two requests of one key.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Reserves the next free slot of `key` and returns when it starts; the slot is taken even if
    /// the caller gives up, which only ever makes the schedule more conservative.
    pub fn reserve(&self, key: &str) -> Instant {
        let now = Instant::now();
        let mut slots = self.next_slot.lock().unwrap_or_else(|p| p.into_inner());
        let slot = slots.get(key).copied().map_or(now, |next| next.max(now));
        slots.insert(key.to_owned(), slot + self.interval);
        slot
    }

    /// Waits for the next free slot of `key`.
    pub async fn acquire(&self, key: &str) {
        let slot = self.reserve(key);
        tokio::time::sleep_until(slot).await;
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
        // 50 requests per key at 50/s: the last starts 49 intervals (980 ms) after the first.
        let last = times.iter().max().unwrap();
        assert_eq!(*last, Duration::from_millis(980));
        // In any one-second window, no key gets more than 50 requests.
        let mut a: Vec<_> = times.iter().step_by(2).copied().collect();
        a.sort();
        for w in a.windows(2) {
            assert_eq!(w[1] - w[0], limiter.interval(), "requests of one key are spaced evenly");
        }
        assert_eq!(a.len(), 50);
    }

    #[test]
    fn zero_rate_means_one_per_second() {
        assert_eq!(Limiter::new(0).interval(), Duration::from_secs(1));
        assert_eq!(Limiter::new(50).interval(), Duration::from_millis(20));
    }
}
