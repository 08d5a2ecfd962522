//! The sliding-window arithmetic, as pure functions of the two bucket counts and the time.
//!
//! Both backends use exactly this math: the in-process limiter calls it directly and
//! `script.lua` is a line-by-line transcription (Redis has no Rust, so the script cannot call
//! it). Keep the two in step; the unit tests below pin the behaviour both must have.
//!
//! Time is split into fixed buckets of one window each (aligned to the Unix epoch). A request at
//! `elapsed` ms into the current bucket sees the previous bucket weighted by the share of the
//! sliding window that still overlaps it:
//! `weighted = floor((1 - elapsed/window) * prev)`, computed in integers as
//! `floor(prev * (window - elapsed) / window)` so no float rounding can move a boundary.
//! A request is rejected — and not counted — when `weighted + cur >= limit`.

/// Whether a check counts the request or only looks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Count the request when it fits (`Limiter::hit`).
    Hit,
    /// Only report whether one more request would fit (`Limiter::peek`, the failed-auth gate).
    Peek,
}

impl Mode {
    /// The `ARGV[3]` of `script.lua`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Peek => "peek",
        }
    }
}

/// The result of one check, in milliseconds (the unit both backends keep time in).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// Admitted (and, for a hit, counted).
    pub allowed: bool,
    /// Requests that still fit in the sliding window after this one.
    pub remaining: u64,
    /// Milliseconds to the end of the current bucket (`t` of the `RateLimit` header).
    pub reset_ms: u64,
    /// When rejected: milliseconds until enough weight has left the window for one more
    /// request (at least 1). 0 when admitted.
    pub retry_ms: u64,
}

/// The previous bucket's weight `elapsed_ms` into the current bucket.
pub fn weighted(prev: u64, window_ms: u64, elapsed_ms: u64) -> u64 {
    let window = u128::from(window_ms.max(1));
    let left = u128::from(window_ms.saturating_sub(elapsed_ms));
    u64::try_from(u128::from(prev) * left / window).unwrap_or(u64::MAX)
}

/// The first `elapsed` (ms into a bucket) at which a previous bucket of `prev` requests weighs
/// at most `budget`: the smallest `e` with `floor(prev * (window - e) / window) <= budget`.
///
/// `floor(x) <= b` is `x < b + 1`, so `prev * (window - e) <= (b + 1) * window - 1`, hence
/// `e >= window - floor(((b + 1) * window - 1) / prev)`.
fn weight_fits_at(prev: u64, budget: u64, window_ms: u64) -> u64 {
    if prev <= budget {
        return 0;
    }
    let window = u128::from(window_ms);
    let bound = (u128::from(budget) + 1) * window - 1;
    let keep = bound / u128::from(prev);
    u64::try_from(window.saturating_sub(keep)).unwrap_or(window_ms)
}

/// Decides one request `elapsed_ms` into the current bucket, given the counts of the current
/// (`cur`) and previous (`prev`) buckets. The caller stores `cur + 1` when a hit is admitted.
pub fn evaluate(
    limit: u64,
    window_ms: u64,
    elapsed_ms: u64,
    prev: u64,
    cur: u64,
    mode: Mode,
) -> Outcome {
    let window_ms = window_ms.max(1);
    let elapsed_ms = elapsed_ms.min(window_ms - 1);
    let weight = weighted(prev, window_ms, elapsed_ms);
    let reset_ms = window_ms - elapsed_ms;
    if weight.saturating_add(cur) >= limit {
        let retry_ms = if cur < limit {
            // Within this bucket: wait until the previous bucket's weight leaves room.
            weight_fits_at(prev, limit - 1 - cur, window_ms).saturating_sub(elapsed_ms)
        } else {
            // This bucket alone is full: wait for it to become the previous bucket and decay.
            reset_ms + weight_fits_at(cur, limit.saturating_sub(1), window_ms)
        };
        return Outcome {
            allowed: false,
            remaining: 0,
            reset_ms,
            retry_ms: retry_ms.max(1),
        };
    }
    let counted = match mode {
        Mode::Hit => cur + 1,
        Mode::Peek => cur,
    };
    Outcome {
        allowed: true,
        remaining: limit.saturating_sub(weight + counted),
        reset_ms,
        retry_ms: 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const W: u64 = 60_000;

    /// Replays a request stream against the math the way a backend does, one bucket pair.
    fn admitted(limit: u64, n: u64) -> u64 {
        let mut cur = 0;
        let mut ok = 0;
        for _ in 0..n {
            if evaluate(limit, W, 10, 0, cur, Mode::Hit).allowed {
                cur += 1;
                ok += 1;
            }
        }
        ok
    }

    #[test]
    fn boundary_limit_minus_one_limit_and_limit_plus_one() {
        assert_eq!(admitted(10, 9), 9);
        assert_eq!(admitted(10, 10), 10);
        assert_eq!(admitted(10, 11), 10);
        // The last admitted request leaves 0; the one before leaves 1.
        assert_eq!(evaluate(10, W, 10, 0, 8, Mode::Hit).remaining, 1);
        assert_eq!(
            evaluate(10, W, 10, 0, 9, Mode::Hit),
            Outcome {
                allowed: true,
                remaining: 0,
                reset_ms: W - 10,
                retry_ms: 0
            }
        );
        let rejected = evaluate(10, W, 10, 0, 10, Mode::Hit);
        assert!(!rejected.allowed);
        assert_eq!(rejected.remaining, 0);
    }

    #[test]
    fn the_previous_bucket_is_weighted_by_its_overlap() {
        assert_eq!(weighted(10, W, 0), 10);
        assert_eq!(weighted(10, W, W / 4), 7); // floor(7.5)
        assert_eq!(weighted(10, W, W / 2), 5);
        assert_eq!(weighted(10, W, W - 1), 0);
        assert_eq!(weighted(0, W, 123), 0);
        // Halfway through, 5 of 10 still count: 5 more fit.
        assert_eq!(evaluate(10, W, W / 2, 10, 0, Mode::Peek).remaining, 5);
        assert!(evaluate(10, W, W / 2, 10, 4, Mode::Hit).allowed);
        assert!(!evaluate(10, W, W / 2, 10, 5, Mode::Hit).allowed);
    }

    #[test]
    fn peek_reports_without_counting() {
        let o = evaluate(3, W, 0, 0, 2, Mode::Peek);
        assert!(o.allowed);
        assert_eq!(o.remaining, 1);
        assert!(!evaluate(3, W, 0, 0, 3, Mode::Peek).allowed);
    }

    #[test]
    fn retry_after_is_when_the_weight_first_leaves_room() {
        // prev 10 and cur 5 of a limit of 10 at elapsed 0: weight must drop to 4,
        // i.e. floor(10 * (W - e) / W) <= 4 ⇔ W - e < W/2 ⇔ e > 30 000.
        let o = evaluate(10, W, 0, 10, 5, Mode::Hit);
        assert!(!o.allowed);
        assert_eq!(o.retry_ms, 30_001);
        assert!(!evaluate(10, W, 30_000, 10, 5, Mode::Hit).allowed);
        assert!(evaluate(10, W, 30_001, 10, 5, Mode::Hit).allowed);
        // Asked later, the wait is shorter by exactly the time that passed.
        assert_eq!(evaluate(10, W, 20_000, 10, 5, Mode::Hit).retry_ms, 10_001);
    }

    #[test]
    fn retry_after_crosses_into_the_next_bucket_when_this_one_is_full() {
        // cur == limit at 40 s into a 60 s bucket: 20 s to the boundary, then cur becomes prev
        // and must weigh at most limit - 1: floor(10 * (W - e) / W) <= 9 ⇔ e > 0.
        let o = evaluate(10, W, 40_000, 0, 10, Mode::Hit);
        assert_eq!(o.reset_ms, 20_000);
        assert_eq!(o.retry_ms, 20_000 + 1);
        assert!(!evaluate(10, W, 0, 10, 0, Mode::Hit).allowed);
        assert!(evaluate(10, W, 1, 10, 0, Mode::Hit).allowed);
        // A limit lowered below the bucket's count (new config): floor(10 * (W - e) / W) <= 4
        // ⇔ e > W / 2.
        assert_eq!(
            evaluate(5, W, 40_000, 0, 10, Mode::Hit).retry_ms,
            20_000 + 30_001
        );
        assert!(!evaluate(5, W, 30_000, 10, 0, Mode::Hit).allowed);
        assert!(evaluate(5, W, 30_001, 10, 0, Mode::Hit).allowed);
    }

    #[test]
    fn retry_after_is_never_zero_when_rejected() {
        for elapsed in [0, 1, W / 2, W - 2, W - 1] {
            for (prev, cur) in [(0, 10), (10, 0), (10, 9), (20, 10), (1, 9)] {
                let o = evaluate(10, W, elapsed, prev, cur, Mode::Hit);
                if !o.allowed {
                    assert!(o.retry_ms >= 1, "prev={prev} cur={cur} elapsed={elapsed}");
                    // …and exactly then, it fits.
                    let at = elapsed + o.retry_ms;
                    let fits = if at < W {
                        evaluate(10, W, at, prev, cur, Mode::Hit)
                    } else {
                        evaluate(10, W, at - W, cur, 0, Mode::Hit)
                    };
                    assert!(
                        fits.allowed,
                        "prev={prev} cur={cur} elapsed={elapsed} retry={}",
                        o.retry_ms
                    );
                    // …and not a millisecond earlier.
                    let before = at - 1;
                    let early = if before < W {
                        evaluate(10, W, before, prev, cur, Mode::Hit)
                    } else {
                        evaluate(10, W, before - W, cur, 0, Mode::Hit)
                    };
                    assert!(
                        !early.allowed,
                        "prev={prev} cur={cur} elapsed={elapsed} retry={}",
                        o.retry_ms
                    );
                }
            }
        }
    }

    #[test]
    fn reset_is_the_time_left_in_the_bucket() {
        assert_eq!(evaluate(10, W, 0, 0, 0, Mode::Hit).reset_ms, W);
        assert_eq!(evaluate(10, W, W - 1, 0, 0, Mode::Hit).reset_ms, 1);
    }
}
