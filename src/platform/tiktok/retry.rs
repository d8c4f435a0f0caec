//! Which failures are worth another try, and how long to wait before it.
//!
//! Rate limiting (HTTP 429, body code 36009002), overload (503), the platform's own transient
//! errors (36009003 internal, 36009007 timeout) and connection failures are retried; everything
//! else fails at once, because repeating a bad signature or a missing scope only burns quota.
//! Delays grow exponentially with "full jitter" (a random point between zero and the cap), so
//! concurrent export tasks that failed together do not retry together; a `Retry-After` from the
//! server is a floor. The number of attempts is bounded so a dead API ends the run with exit 6.

use std::time::Duration;

/// The body code of "too many requests" (the rate limit), alone or with HTTP 429.
pub const RATE_LIMITED: i64 = 36009002;
/// Body codes that mean "try again later".
pub const RETRYABLE_CODES: [i64; 3] = [RATE_LIMITED, 36009003, 36009007];

/// HTTP statuses that mean "try again later".
pub fn retryable_status(status: u16) -> bool {
    // Every 5xx: a load balancer's 502 or 504 is as passing as the API's own 503 (SPEC §4 says
    // "5xx ... after retries"), and ending a long export on one would waste the hours before it.
    status == 429 || (500..600).contains(&status)
}

/// A platform code that means "try again later".
pub fn retryable_code(code: i64) -> bool {
    RETRYABLE_CODES.contains(&code)
}

/// The retry schedule.
#[derive(Debug, Clone, Copy)]
pub struct Backoff {
    /// Delay cap of the first retry; doubled for each later one.
    pub base: Duration,
    /// No single delay is longer than this.
    pub max: Duration,
    /// Total tries of one request, the first included.
    pub attempts: u32,
}

impl Backoff {
    /// The schedule for a base delay in milliseconds (settings), with the fixed cap and bound.
    pub fn from_base_ms(base_ms: u64) -> Backoff {
        Backoff { base: Duration::from_millis(base_ms), max: Duration::from_secs(30), attempts: 7 }
    }

    /// How long to wait before retry number `retry` (1 for the first retry).
    pub fn delay(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let cap = self.base.saturating_mul(1u32 << retry.saturating_sub(1).min(16)).min(self.max);
        let jittered = cap.mul_f64(unit_random());
        match retry_after {
            Some(floor) => jittered.max(floor.min(self.max)),
            None => jittered,
        }
    }
}

/// A uniformly random number in `[0, 1)` from the system's randomness (jitter needs no more).
fn unit_random() -> f64 {
    let mut bytes = [0u8; 8];
    if getrandom::fill(&mut bytes).is_err() {
        return 0.5;
    }
    (u64::from_le_bytes(bytes) >> 11) as f64 / (1u64 << 53) as f64
}

/// Parses a `Retry-After` header given in seconds (the HTTP-date form is not used by the API).
pub fn parse_retry_after(value: &str) -> Option<Duration> {
    value.trim().parse::<u64>().ok().map(Duration::from_secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classification_follows_the_reference() {
        assert!(retryable_status(429) && retryable_status(503));
        assert!(retryable_status(500) && retryable_status(502) && retryable_status(504));
        assert!(!retryable_status(200) && !retryable_status(302) && !retryable_status(404));
        for code in [36009002, 36009003, 36009007] {
            assert!(retryable_code(code));
        }
        for code in [0, 36009004, 36009033, 105001, 105002, 105005, 106001] {
            assert!(!retryable_code(code));
        }
    }

    #[test]
    fn delays_grow_are_capped_and_honour_retry_after() {
        let b = Backoff { base: Duration::from_millis(100), max: Duration::from_secs(1), attempts: 5 };
        for _ in 0..200 {
            assert!(b.delay(1, None) < Duration::from_millis(100));
            assert!(b.delay(3, None) < Duration::from_millis(400));
            assert!(b.delay(30, None) <= Duration::from_secs(1));
            assert!(b.delay(1, Some(Duration::from_millis(700))) >= Duration::from_millis(700));
            assert!(b.delay(1, Some(Duration::from_secs(3600))) <= Duration::from_secs(1));
        }
        let many: Vec<_> = (0..50).map(|_| b.delay(4, None)).collect();
        assert!(many.iter().any(|d| *d != many[0]), "jitter spreads the delays");
    }

    #[test]
    fn retry_after_in_seconds() {
        assert_eq!(parse_retry_after(" 2 "), Some(Duration::from_secs(2)));
        assert_eq!(parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT"), None);
    }
}
