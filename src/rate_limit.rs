//! Rate limits: which platform limiter counts a request, and a fixed-window limiter that stands
//! in for the platform where there is none (the native runtime).
//!
//! The Worker counts with the Workers Rate Limiting binding (`[[ratelimits]]` in `wrangler.toml`).
//! A binding has one fixed limit per period, set in the configuration, so a project's
//! `"RateLimitConfig"."uploadsPerMinute"` cannot be enforced exactly: it picks one of [`TIERS`],
//! the largest whose limit is not above it. The counts are kept per Cloudflare location and are
//! approximate; they bound abuse, they are not a quota.
//!
//! **Invariant:** no clock, no IO; the caller passes `now_ms`.

use std::collections::HashMap;

/// One platform limiter: its binding name and the requests it allows per minute.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Tier {
    /// The `[[ratelimits]]` binding's `name`.
    pub binding: &'static str,
    /// Its `simple.limit` (the period is [`PERIOD_SECS`]).
    pub per_minute: u32,
}

/// Every limiter's period: one minute, as `uploadsPerMinute`.
pub const PERIOD_SECS: u32 = 60;

/// The per-key tiers, smallest first. `wrangler.toml` declares one binding for each, with the
/// same limit (a test reads it back): the binding cannot tell the Worker its limit.
pub const TIERS: [Tier; 3] = [
    Tier {
        binding: "RATE_LIMIT_LOW",
        per_minute: 10,
    },
    Tier {
        binding: "RATE_LIMIT_STANDARD",
        per_minute: 120,
    },
    Tier {
        binding: "RATE_LIMIT_HIGH",
        per_minute: 1200,
    },
];

/// Failed authentications (a malformed, unknown or revoked key, a bad token) per client address.
pub const FAILED_AUTH: Tier = Tier {
    binding: "RATE_LIMIT_FAILED_AUTH",
    per_minute: 30,
};

/// `uploadsPerMinute` of a project without a `"RateLimitConfig"` row: the column's default
/// upstream.
pub const DEFAULT_UPLOADS_PER_MINUTE: u32 = 120;

/// The tier a project with `uploads_per_minute` (`None`: no `"RateLimitConfig"` row) is held to:
/// the largest whose limit is not above it. A setting below the smallest tier gets the smallest:
/// the platform offers nothing finer.
#[must_use]
pub fn tier_for(uploads_per_minute: Option<i32>) -> Tier {
    let wanted = uploads_per_minute.map_or(DEFAULT_UPLOADS_PER_MINUTE, |n| u32::try_from(n).unwrap_or(0));
    TIERS
        .iter()
        .rev()
        .find(|t| t.per_minute <= wanted)
        .copied()
        .unwrap_or(TIERS[0])
}

/// Seconds to wait, from `now_ms`, until the current window of `period_secs` ends (at least 1).
/// Windows are aligned to the clock, as the local emulation of the binding aligns them; on
/// Cloudflare the answer is approximate, as the counting is.
#[must_use]
pub fn retry_after_secs(now_ms: i64, period_secs: u32) -> u32 {
    let period_ms = i64::from(period_secs.max(1)) * 1000;
    let left_ms = period_ms - now_ms.rem_euclid(period_ms);
    u32::try_from((left_ms + 999) / 1000).unwrap_or(period_secs).max(1)
}

/// A fixed-window counter per (limiter, key), clock-aligned, as the binding behaves under
/// `wrangler dev`: each window allows `limit` requests. For runtimes without the platform's
/// limiter (native tests); it is bounded, and forgets everything when full.
#[derive(Debug, Default)]
pub struct FixedWindow {
    counts: HashMap<(String, String), (i64, u32)>,
}

impl FixedWindow {
    /// Counters kept at most.
    const CAPACITY: usize = 16_384;

    /// Counts one request for `key` on a limiter of `limit` per [`PERIOD_SECS`]; `true` if it is
    /// within the limit.
    pub fn hit(&mut self, limiter: &str, key: &str, limit: u32, now_ms: i64) -> bool {
        let window = now_ms.div_euclid(i64::from(PERIOD_SECS) * 1000);
        if self.counts.len() >= Self::CAPACITY {
            self.counts.retain(|_, (w, _)| *w == window);
            if self.counts.len() >= Self::CAPACITY {
                self.counts.clear();
            }
        }
        let entry = self
            .counts
            .entry((limiter.to_owned(), key.to_owned()))
            .or_insert((window, 0));
        if entry.0 != window {
            *entry = (window, 0);
        }
        if entry.1 >= limit {
            return false;
        }
        entry.1 += 1;
        true
    }
}

/// The limit of the binding named `binding`, among [`TIERS`] and [`FAILED_AUTH`].
#[must_use]
pub fn limit_of(binding: &str) -> Option<u32> {
    TIERS
        .iter()
        .chain(std::iter::once(&FAILED_AUTH))
        .find(|t| t.binding == binding)
        .map(|t| t.per_minute)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn projects_get_the_largest_tier_not_above_their_setting() {
        assert_eq!(tier_for(None).binding, "RATE_LIMIT_STANDARD", "upstream's default, 120");
        assert_eq!(tier_for(Some(120)).per_minute, 120);
        assert_eq!(tier_for(Some(1199)).per_minute, 120);
        assert_eq!(tier_for(Some(1200)).per_minute, 1200);
        assert_eq!(tier_for(Some(i32::MAX)).per_minute, 1200);
        assert_eq!(tier_for(Some(10)).per_minute, 10);
        assert_eq!(tier_for(Some(119)).per_minute, 10);
        // Below the smallest tier (or nonsense): the smallest, never unlimited.
        assert_eq!(tier_for(Some(1)).per_minute, 10);
        assert_eq!(tier_for(Some(0)).per_minute, 10);
        assert_eq!(tier_for(Some(-5)).per_minute, 10);
    }

    #[test]
    fn tiers_are_ordered_and_named_apart() {
        assert!(TIERS.windows(2).all(|w| w[0].per_minute < w[1].per_minute));
        assert_eq!(limit_of("RATE_LIMIT_FAILED_AUTH"), Some(FAILED_AUTH.per_minute));
        assert_eq!(limit_of("RATE_LIMIT_LOW"), Some(10));
        assert_eq!(limit_of("NOPE"), None);
    }

    #[test]
    fn retry_after_runs_to_the_end_of_the_window() {
        assert_eq!(retry_after_secs(0, 60), 60);
        assert_eq!(retry_after_secs(1, 60), 60);
        assert_eq!(retry_after_secs(59_000, 60), 1);
        assert_eq!(retry_after_secs(59_999, 60), 1);
        assert_eq!(retry_after_secs(60_000, 60), 60);
        assert_eq!(retry_after_secs(125_500, 60), 55);
    }

    #[test]
    fn fixed_windows_allow_the_limit_per_key_and_limiter() {
        let mut w = FixedWindow::default();
        for i in 0..3 {
            assert!(w.hit("A", "k1", 3, 60_000 + i), "request {i}");
        }
        assert!(!w.hit("A", "k1", 3, 60_500));
        assert!(w.hit("A", "k2", 3, 60_500), "another key");
        assert!(w.hit("B", "k1", 3, 60_500), "another limiter");
        assert!(!w.hit("A", "k1", 3, 119_999));
        assert!(w.hit("A", "k1", 3, 120_000), "a new window");
    }

    #[test]
    fn fixed_windows_are_bounded() {
        let mut w = FixedWindow::default();
        for i in 0..FixedWindow::CAPACITY * 2 {
            w.hit("A", &i.to_string(), 1, 0);
            assert!(w.counts.len() <= FixedWindow::CAPACITY);
        }
    }
}
