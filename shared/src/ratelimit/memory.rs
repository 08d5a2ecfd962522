//! The in-process backend: the embedded default of development when `REDIS_URL` is unset
//! (ARCHITECTURE.md §4). Same buckets, same math ([`super::window`]), same clock abstraction
//! as Redis; only the storage differs. It is per process, so it must never serve production
//! (config refuses to start there without Redis).
//!
//! Owns: one map of bucket pairs per `(class, identity)`, bounded and pruned.
//! Must not: keep anything after both of an entry's buckets left the window.

use std::collections::HashMap;
use std::sync::Mutex;

use super::window::{self, Mode, Outcome};
use super::{ClassLimit, RateClass};

/// Upper bound of tracked identities; a development process never gets near it.
const MAX_ENTRIES: usize = 100_000;

/// The two buckets of one `(class, identity)`.
#[derive(Debug, Clone, Copy)]
struct Entry {
    /// Bucket number (`now / window`) that `cur` belongs to.
    bucket: u64,
    /// Count of the bucket before `bucket`.
    prev: u64,
    /// Count of `bucket`.
    cur: u64,
    /// Window length, to tell when the entry is dead.
    window_ms: u64,
}

impl Entry {
    /// Counts as seen from `bucket`: rolled forward by one bucket, or empty when older.
    fn counts_at(&self, bucket: u64) -> (u64, u64) {
        if self.bucket >= bucket {
            (self.prev, self.cur)
        } else if self.bucket + 1 == bucket {
            (self.cur, 0)
        } else {
            (0, 0)
        }
    }

    /// Whether neither bucket overlaps the sliding window at `now_ms` any more.
    fn is_dead(&self, now_ms: u64) -> bool {
        self.bucket + 1 < now_ms / self.window_ms
    }
}

/// Sliding windows kept in this process.
#[derive(Debug, Default)]
pub(super) struct MemoryBackend {
    entries: Mutex<HashMap<(RateClass, String), Entry>>,
}

impl MemoryBackend {
    /// Decides (and for a hit, counts) one request at `now_ms` (Unix milliseconds).
    pub(super) fn check(
        &self,
        class: RateClass,
        identity: &str,
        quota: ClassLimit,
        mode: Mode,
        now_ms: u64,
    ) -> Outcome {
        let window_ms = window_ms(quota);
        let bucket = now_ms / window_ms;
        let elapsed = now_ms % window_ms;
        let mut entries = self
            .entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (class, identity.to_owned());
        let (prev, cur) = entries.get(&key).map_or((0, 0), |e| e.counts_at(bucket));
        let outcome = window::evaluate(quota.limit, window_ms, elapsed, prev, cur, mode);
        if mode == Mode::Hit && outcome.allowed {
            if !entries.contains_key(&key) && entries.len() >= MAX_ENTRIES {
                make_room(&mut entries, now_ms);
            }
            let bucket = entries.get(&key).map_or(bucket, |e| e.bucket.max(bucket));
            entries.insert(
                key,
                Entry {
                    bucket,
                    prev,
                    cur: cur + 1,
                    window_ms,
                },
            );
        }
        outcome
    }

    /// Number of tracked identities (tests check that it stays bounded).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

/// Drops dead entries; if every entry is alive (a flood of distinct identities), drops an
/// arbitrary one, trading one identity's count for a bounded process.
fn make_room(entries: &mut HashMap<(RateClass, String), Entry>, now_ms: u64) {
    entries.retain(|_, e| !e.is_dead(now_ms));
    if entries.len() >= MAX_ENTRIES {
        tracing::warn!(target: "neonpro::ratelimit", "in-process limiter full; evicting a live entry");
        if let Some(victim) = entries.keys().next().cloned() {
            entries.remove(&victim);
        }
    }
}

/// The window in milliseconds (at least 1, so bucket arithmetic never divides by zero).
pub(super) fn window_ms(quota: ClassLimit) -> u64 {
    u64::try_from(quota.window.as_millis())
        .unwrap_or(u64::MAX)
        .max(1)
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    const Q: ClassLimit = ClassLimit {
        limit: 3,
        window: Duration::from_secs(10),
    };
    const T0: u64 = 1_700_000_000_000; // a bucket boundary of 10 s windows

    #[test]
    fn admits_the_limit_then_rejects_without_counting() {
        let m = MemoryBackend::default();
        let hits: Vec<bool> = (0..5)
            .map(|_| {
                m.check(RateClass::General, "ip:a", Q, Mode::Hit, T0)
                    .allowed
            })
            .collect();
        assert_eq!(hits, [true, true, true, false, false]);
        // Rejections were not counted: half a window later the previous weight is what decides.
        let later = T0 + 10_000 + 5_000; // next bucket, halfway: weighted = floor(3 * 0.5) = 1
        assert!(
            m.check(RateClass::General, "ip:a", Q, Mode::Hit, later)
                .allowed
        );
        assert!(
            m.check(RateClass::General, "ip:a", Q, Mode::Hit, later)
                .allowed
        );
        assert!(
            !m.check(RateClass::General, "ip:a", Q, Mode::Hit, later)
                .allowed
        );
    }

    #[test]
    fn classes_and_identities_have_separate_counters() {
        let m = MemoryBackend::default();
        for _ in 0..3 {
            m.check(RateClass::General, "ip:a", Q, Mode::Hit, T0);
        }
        assert!(
            !m.check(RateClass::General, "ip:a", Q, Mode::Hit, T0)
                .allowed
        );
        assert!(
            m.check(RateClass::General, "ip:b", Q, Mode::Hit, T0)
                .allowed
        );
        assert!(
            m.check(RateClass::Healthcare, "ip:a", Q, Mode::Hit, T0)
                .allowed
        );
    }

    #[test]
    fn peek_never_counts() {
        let m = MemoryBackend::default();
        for _ in 0..10 {
            assert!(
                m.check(RateClass::AuthFailures, "ip:a", Q, Mode::Peek, T0)
                    .allowed
            );
        }
        assert_eq!(m.len(), 0);
    }

    #[test]
    fn entries_older_than_two_windows_are_forgotten() {
        let m = MemoryBackend::default();
        for _ in 0..3 {
            m.check(RateClass::General, "ip:a", Q, Mode::Hit, T0);
        }
        let o = m.check(RateClass::General, "ip:a", Q, Mode::Peek, T0 + 20_000);
        assert_eq!(o.remaining, 3);
    }

    #[test]
    fn a_flood_of_identities_stays_bounded() {
        let m = MemoryBackend::default();
        for i in 0..(MAX_ENTRIES + 10) {
            m.check(RateClass::General, &format!("ip:{i}"), Q, Mode::Hit, T0);
        }
        assert!(m.len() <= MAX_ENTRIES);
        // Dead entries are pruned first.
        m.check(RateClass::General, "ip:late", Q, Mode::Hit, T0 + 30_000);
        assert!(m.len() < 10);
    }
}
