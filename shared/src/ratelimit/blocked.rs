//! The in-process memory of blocked identities: once a check is rejected, the same
//! `(class, identity)` is answered from here until its retry time, without asking Redis
//! (`reference/security.md` §4.1 "ephemeral cache"). It is an optimisation and a shield during
//! floods, never a source of truth: it only ever repeats a rejection the backend gave.
//!
//! It is exact, not approximate: while a client is rejected nothing can be counted for it, so
//! its counts stay put and the backend would keep rejecting until precisely the retry time.
//!
//! Owns: a small map, capped at [`MAX_BLOCKED`], with expired entries pruned.

use std::collections::HashMap;
use std::sync::Mutex;

use super::RateClass;
use super::window::Outcome;

/// Upper bound of remembered blocks. Past it new blocks are simply not cached (the backend
/// still answers), so a flood of identities cannot grow the process.
pub(super) const MAX_BLOCKED: usize = 10_000;

#[derive(Debug, Clone, Copy)]
struct Block {
    /// Clock time (ms) from which the backend may admit again.
    until_ms: u64,
    /// Clock time (ms) of the end of the bucket the rejection was in.
    reset_at_ms: u64,
}

/// Blocked `(class, identity)` pairs until their retry time.
#[derive(Debug, Default)]
pub(super) struct BlockedCache {
    map: Mutex<HashMap<(RateClass, String), Block>>,
}

impl BlockedCache {
    /// The remembered rejection of `identity` at `now_ms`, if it still holds.
    pub(super) fn get(
        &self,
        class: RateClass,
        identity: &str,
        window_ms: u64,
        now_ms: u64,
    ) -> Option<Outcome> {
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let key = (class, identity.to_owned());
        let block = *map.get(&key)?;
        if block.until_ms <= now_ms {
            map.remove(&key);
            return None;
        }
        let reset_ms = if block.reset_at_ms > now_ms {
            block.reset_at_ms - now_ms
        } else {
            // The bucket rolled over while blocked; bucket ends repeat every window.
            window_ms - (now_ms - block.reset_at_ms) % window_ms
        };
        Some(Outcome {
            allowed: false,
            remaining: 0,
            reset_ms,
            retry_ms: block.until_ms - now_ms,
        })
    }

    /// Remembers a rejection the backend gave at `asked_ms`. Using the time the question was
    /// asked (not answered) can only end the block early, never late.
    pub(super) fn insert(
        &self,
        class: RateClass,
        identity: &str,
        outcome: &Outcome,
        asked_ms: u64,
    ) {
        if outcome.allowed {
            return;
        }
        let mut map = self
            .map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if map.len() >= MAX_BLOCKED {
            map.retain(|_, b| b.until_ms > asked_ms);
            if map.len() >= MAX_BLOCKED {
                return;
            }
        }
        let block = Block {
            until_ms: asked_ms + outcome.retry_ms,
            reset_at_ms: asked_ms + outcome.reset_ms,
        };
        map.insert((class, identity.to_owned()), block);
    }

    /// Number of remembered blocks.
    pub(super) fn len(&self) -> usize {
        self.map
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rejected(retry_ms: u64, reset_ms: u64) -> Outcome {
        Outcome {
            allowed: false,
            remaining: 0,
            reset_ms,
            retry_ms,
        }
    }

    #[test]
    fn a_block_holds_until_its_retry_time_then_expires() {
        let c = BlockedCache::default();
        c.insert(RateClass::General, "ip:a", &rejected(1_500, 1_000), 10_000);
        let o = c.get(RateClass::General, "ip:a", 60_000, 10_400).unwrap();
        assert_eq!((o.retry_ms, o.reset_ms), (1_100, 600));
        // Past the bucket end the reset moves to the next bucket end.
        let o = c.get(RateClass::General, "ip:a", 60_000, 11_200).unwrap();
        assert_eq!((o.retry_ms, o.reset_ms), (300, 59_800));
        assert!(c.get(RateClass::General, "ip:a", 60_000, 11_500).is_none());
        assert_eq!(c.len(), 0);
    }

    #[test]
    fn only_rejections_are_remembered_and_per_class() {
        let c = BlockedCache::default();
        c.insert(
            RateClass::General,
            "ip:a",
            &Outcome {
                allowed: true,
                remaining: 1,
                reset_ms: 5,
                retry_ms: 0,
            },
            0,
        );
        assert_eq!(c.len(), 0);
        c.insert(RateClass::General, "ip:a", &rejected(1_000, 1_000), 0);
        assert!(c.get(RateClass::Healthcare, "ip:a", 60_000, 1).is_none());
        assert!(c.get(RateClass::General, "ip:b", 60_000, 1).is_none());
    }

    #[test]
    fn the_map_is_capped_and_pruned() {
        let c = BlockedCache::default();
        for i in 0..(MAX_BLOCKED + 50) {
            c.insert(
                RateClass::General,
                &format!("ip:{i}"),
                &rejected(1_000, 1_000),
                0,
            );
        }
        assert_eq!(c.len(), MAX_BLOCKED);
        // Once those expired, a new block prunes them.
        c.insert(RateClass::General, "ip:new", &rejected(1_000, 1_000), 5_000);
        assert_eq!(c.len(), 1);
    }
}
