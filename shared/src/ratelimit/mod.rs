//! Rate limiting (ARCHITECTURE.md §4, `reference/security.md` §4): per-class sliding windows
//! (two weighted buckets) shared by every instance through Redis, with an in-process twin for
//! development.
//!
//! - [`window`]: the sliding-window math, pure and unit-tested; `script.lua` transcribes it.
//! - `redis`: one atomic `EVALSHA` per check, time from Redis `TIME`, lazy connection, every
//!   call bounded by `REDIS_TIMEOUT_MS`.
//! - `memory`: the embedded default when `REDIS_URL` is unset (development only).
//! - `blocked`: rejected identities are answered in-process until their retry time.
//!
//! This module decides and counts; it does not decide what an unavailable limiter means for a
//! request — that is the route guard's job ([`crate::http::policy`]), per [`RateClass::fails_closed`].
//! Keys are `<prefix>:<class>:<identity>:<bucket>` and expire two windows and a second after
//! their first count, so nothing in Redis grows without bound.

mod blocked;
mod memory;
mod redis;
pub mod window;

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// A rate-limit class. Each route declares its class where it is defined ([`crate::http::policy`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RateClass {
    /// Patients, medical records, clinical support: 50 / 15 min by default; fails closed.
    Healthcare,
    /// AI and chat: 20 / 1 min; fails open.
    Ai,
    /// Failed authentications only: 10 / 15 min; fails closed.
    AuthFailures,
    /// Everything else: 100 / 15 min; fails open.
    General,
}

impl RateClass {
    /// Every class, for configuration and tests.
    pub const ALL: [RateClass; 4] = [
        Self::Healthcare,
        Self::Ai,
        Self::AuthFailures,
        Self::General,
    ];

    /// The policy name used in keys and in `RateLimit-Policy`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Healthcare => "healthcare",
            Self::Ai => "ai",
            Self::AuthFailures => "auth_failures",
            Self::General => "general",
        }
    }

    /// The variable that overrides this class's limit (`<requests>/<window seconds>`).
    pub fn env_var(self) -> &'static str {
        match self {
            Self::Healthcare => "RATE_LIMIT_HEALTHCARE",
            Self::Ai => "RATE_LIMIT_AI",
            Self::AuthFailures => "RATE_LIMIT_AUTH_FAILURES",
            Self::General => "RATE_LIMIT_GENERAL",
        }
    }

    /// The original design's limits.
    pub fn default_limit(self) -> ClassLimit {
        match self {
            Self::Healthcare => ClassLimit {
                limit: 50,
                window: Duration::from_secs(15 * 60),
            },
            Self::Ai => ClassLimit {
                limit: 20,
                window: Duration::from_secs(60),
            },
            Self::AuthFailures => ClassLimit {
                limit: 10,
                window: Duration::from_secs(15 * 60),
            },
            Self::General => ClassLimit {
                limit: 100,
                window: Duration::from_secs(15 * 60),
            },
        }
    }

    /// Whether an unavailable limiter refuses requests of this class (503) rather than letting
    /// them through: health data and authentication must not be brute-forced during an outage.
    pub fn fails_closed(self) -> bool {
        matches!(self, Self::Healthcare | Self::AuthFailures)
    }
}

/// A quota: `limit` requests per sliding `window`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClassLimit {
    /// Requests admitted per window.
    pub limit: u64,
    /// Window length.
    pub window: Duration,
}

impl ClassLimit {
    /// Parses `50/900` (requests / window seconds).
    pub fn parse(text: &str) -> Option<Self> {
        let (l, w) = text.split_once('/')?;
        let limit = l.trim().parse::<u64>().ok().filter(|n| *n > 0)?;
        let window = w.trim().parse::<u64>().ok().filter(|n| *n > 0)?;
        Some(Self {
            limit,
            window: Duration::from_secs(window),
        })
    }
}

/// The outcome of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decision {
    /// Whether the request is admitted (and was counted).
    pub allowed: bool,
    /// The class quota.
    pub limit: u64,
    /// Requests left in the current window after this one.
    pub remaining: u64,
    /// Seconds until the current window ends (`t` of the `RateLimit` header).
    pub reset_secs: u64,
    /// When rejected: seconds until a retry can succeed (≥ 1).
    pub retry_after_secs: u64,
}

/// The limiter could not answer in time (Redis down or slow).
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("rate limiter unavailable")]
pub struct Unavailable;

impl Unavailable {
    /// `Retry-After` of a fail-closed 503: long enough not to hammer a recovering Redis, short
    /// enough that a clinic user retrying by hand is served once it is back.
    pub const RETRY_AFTER_SECS: u64 = 5;
}

/// A source of Unix time in milliseconds. Injected so tests can move time; production uses
/// [`system_clock`]. Redis checks take their time from Redis `TIME` instead; this clock then
/// only times the in-process blocked cache, which works with deltas and tolerates skew.
pub type Clock = Arc<dyn Fn() -> u64 + Send + Sync>;

/// The wall clock, in Unix milliseconds.
pub fn system_clock() -> Clock {
    Arc::new(|| {
        let since = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap_or_default();
        u64::try_from(since.as_millis()).unwrap_or(u64::MAX)
    })
}

/// The failed-login identity of an account: `acct:<sha256(lower(trim(email)))>`.
///
/// Failures are counted per account as well as per client IP because attackers rotate IPs
/// (OWASP Authentication Cheat Sheet). Hashing keeps e-mail addresses out of Redis, and
/// normalising keeps `Ana@X.com ` and `ana@x.com` one budget. A login route peeks
/// [`RateClass::AuthFailures`] for this identity and the client IP before calling Supabase
/// Auth, and hits both only when the login fails.
pub fn account_identity(email: &str) -> String {
    use sha2::{Digest, Sha256};
    let digest = Sha256::digest(email.trim().to_lowercase().as_bytes());
    format!("acct:{}", hex::encode(digest))
}

#[derive(Debug)]
enum Backend {
    Redis(redis::RedisBackend),
    Memory(memory::MemoryBackend),
}

/// The process-wide limiter: Redis when configured, in-process otherwise (development only).
///
/// Built once per process in [`crate::AppState`], without any I/O: the Redis connection is made
/// by the first check, within the timeout, and retried by the next check when it failed.
pub struct Limiter {
    limits: HashMap<RateClass, ClassLimit>,
    backend: Backend,
    clock: Clock,
    blocked: blocked::BlockedCache,
    fail_open: AtomicU64,
}

impl std::fmt::Debug for Limiter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limiter")
            .field("limits", &self.limits)
            .field("backend", &self.backend)
            .field("fail_open", &self.fail_open)
            .finish_non_exhaustive()
    }
}

impl Limiter {
    /// Builds the limiter without touching the network (connections open on first use).
    pub fn new(cfg: &crate::config::RedisConfig, limits: HashMap<RateClass, ClassLimit>) -> Self {
        let backend = match &cfg.url {
            Some(url) => Backend::Redis(redis::RedisBackend::new(
                url.clone(),
                cfg.timeout,
                cfg.prefix.clone(),
            )),
            None => Backend::Memory(memory::MemoryBackend::default()),
        };
        Self::with_backend(backend, limits, system_clock())
    }

    /// An in-process limiter on `clock`, so tests can move time instead of waiting for it.
    pub fn in_process(limits: HashMap<RateClass, ClassLimit>, clock: Clock) -> Self {
        Self::with_backend(
            Backend::Memory(memory::MemoryBackend::default()),
            limits,
            clock,
        )
    }

    fn with_backend(
        backend: Backend,
        limits: HashMap<RateClass, ClassLimit>,
        clock: Clock,
    ) -> Self {
        Self {
            limits,
            backend,
            clock,
            blocked: blocked::BlockedCache::default(),
            fail_open: AtomicU64::new(0),
        }
    }

    /// The configured quota of `class`.
    pub fn limit(&self, class: RateClass) -> ClassLimit {
        self.limits
            .get(&class)
            .copied()
            .unwrap_or_else(|| class.default_limit())
    }

    /// Whether this is the in-process limiter (development without `REDIS_URL`).
    pub fn is_in_process(&self) -> bool {
        matches!(self.backend, Backend::Memory(_))
    }

    /// Counts one request of `class` for `identity` if it fits; rejected requests are not counted.
    pub async fn hit(&self, class: RateClass, identity: &str) -> Result<Decision, Unavailable> {
        self.check(class, identity, window::Mode::Hit).await
    }

    /// Reads `identity`'s state in `class` without counting (the failed-auth peek):
    /// `allowed` says whether one more hit would be admitted.
    pub async fn peek(&self, class: RateClass, identity: &str) -> Result<Decision, Unavailable> {
        self.check(class, identity, window::Mode::Peek).await
    }

    async fn check(
        &self,
        class: RateClass,
        identity: &str,
        mode: window::Mode,
    ) -> Result<Decision, Unavailable> {
        let quota = self.limit(class);
        let window_ms = memory::window_ms(quota);
        let asked_ms = (self.clock)();
        if let Some(outcome) = self.blocked.get(class, identity, window_ms, asked_ms) {
            return Ok(decision(quota, outcome));
        }
        let outcome = match &self.backend {
            Backend::Redis(r) => r.check(class, identity, quota, mode).await?,
            Backend::Memory(m) => m.check(class, identity, quota, mode, asked_ms),
        };
        self.blocked.insert(class, identity, &outcome, asked_ms);
        Ok(decision(quota, outcome))
    }

    /// Readiness probe: one round trip to Redis, or `Ok(None)` for the in-process limiter.
    pub async fn ping(&self) -> Result<Option<Duration>, Unavailable> {
        match &self.backend {
            Backend::Redis(r) => r.ping().await.map(Some),
            Backend::Memory(_) => Ok(None),
        }
    }

    /// Records that a request of `class` was let through unchecked because the limiter was
    /// unavailable, and logs it: fail-open is a deliberate gap that must stay visible.
    pub fn record_fail_open(&self, class: RateClass) {
        let total = self.fail_open.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::warn!(target: "neonpro::ratelimit", class = class.name(), fail_open_total = total, "limiter unavailable; failing open");
    }

    /// How many requests this process let through unchecked (see [`Self::record_fail_open`]).
    pub fn fail_open_count(&self) -> u64 {
        self.fail_open.load(Ordering::Relaxed)
    }

    /// How many identities are currently answered from the in-process blocked cache.
    pub fn blocked_count(&self) -> usize {
        self.blocked.len()
    }
}

/// Milliseconds to whole seconds, rounded up: a client told to wait must not come back early.
fn ceil_secs(ms: u64) -> u64 {
    ms.div_ceil(1000)
}

fn decision(quota: ClassLimit, o: window::Outcome) -> Decision {
    Decision {
        allowed: o.allowed,
        limit: quota.limit,
        remaining: o.remaining.min(quota.limit),
        reset_secs: ceil_secs(o.reset_ms),
        retry_after_secs: if o.allowed {
            0
        } else {
            ceil_secs(o.retry_ms).max(1)
        },
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::AtomicU64;

    use super::*;

    fn fake_clock(start: u64) -> (Clock, Arc<AtomicU64>) {
        let now = Arc::new(AtomicU64::new(start));
        let read = now.clone();
        (Arc::new(move || read.load(Ordering::SeqCst)), now)
    }

    fn limiter(
        class: RateClass,
        limit: u64,
        window_secs: u64,
        start: u64,
    ) -> (Limiter, Arc<AtomicU64>) {
        let (clock, now) = fake_clock(start);
        let limits = HashMap::from([(
            class,
            ClassLimit {
                limit,
                window: Duration::from_secs(window_secs),
            },
        )]);
        (Limiter::in_process(limits, clock), now)
    }

    const T0: u64 = 1_700_000_000_000;

    #[tokio::test]
    async fn decisions_carry_quota_remaining_reset_and_retry() {
        let (l, now) = limiter(RateClass::General, 2, 10, T0 + 2_500);
        let d = l.hit(RateClass::General, "ip:a").await.unwrap();
        assert_eq!(
            d,
            Decision {
                allowed: true,
                limit: 2,
                remaining: 1,
                reset_secs: 8,
                retry_after_secs: 0
            }
        );
        l.hit(RateClass::General, "ip:a").await.unwrap();
        let d = l.hit(RateClass::General, "ip:a").await.unwrap();
        // Full bucket: 7.5 s to its end, then 1 ms until weight 2 decays to 1.
        assert_eq!(
            d,
            Decision {
                allowed: false,
                limit: 2,
                remaining: 0,
                reset_secs: 8,
                retry_after_secs: 8
            }
        );
        now.store(T0 + 10_001, Ordering::SeqCst);
        assert!(l.hit(RateClass::General, "ip:a").await.unwrap().allowed);
    }

    #[tokio::test]
    async fn a_blocked_identity_is_answered_from_the_cache_until_its_retry_time() {
        let (l, now) = limiter(RateClass::Healthcare, 1, 10, T0);
        assert!(
            l.hit(RateClass::Healthcare, "user:u")
                .await
                .unwrap()
                .allowed
        );
        assert!(
            !l.hit(RateClass::Healthcare, "user:u")
                .await
                .unwrap()
                .allowed
        );
        assert_eq!(l.blocked_count(), 1);
        now.store(T0 + 9_000, Ordering::SeqCst);
        let d = l.peek(RateClass::Healthcare, "user:u").await.unwrap();
        assert!(!d.allowed);
        assert_eq!(d.retry_after_secs, 2); // 1 s to the boundary + 1 ms
        now.store(T0 + 10_001, Ordering::SeqCst);
        assert!(
            l.peek(RateClass::Healthcare, "user:u")
                .await
                .unwrap()
                .allowed
        );
        assert_eq!(l.blocked_count(), 0);
    }

    #[tokio::test]
    async fn the_in_process_limiter_needs_no_network() {
        let (l, _) = limiter(RateClass::General, 1, 10, T0);
        assert!(l.is_in_process());
        assert_eq!(l.ping().await.unwrap(), None);
        assert_eq!(l.limit(RateClass::Ai), RateClass::Ai.default_limit());
    }

    #[test]
    fn account_identities_are_normalised_hashes() {
        let a = account_identity("  Ana.Souza@Clinica.com.br ");
        assert_eq!(a, account_identity("ana.souza@clinica.com.br"));
        assert!(a.starts_with("acct:") && a.len() == 5 + 64);
        assert!(!a.contains("clinica"));
        assert_ne!(a, account_identity("bruno@clinica.com.br"));
    }

    #[test]
    fn defaults_match_the_original_design() {
        assert_eq!(
            RateClass::Healthcare.default_limit(),
            ClassLimit {
                limit: 50,
                window: Duration::from_secs(900)
            }
        );
        assert_eq!(
            RateClass::Ai.default_limit(),
            ClassLimit {
                limit: 20,
                window: Duration::from_secs(60)
            }
        );
        assert_eq!(
            RateClass::AuthFailures.default_limit(),
            ClassLimit {
                limit: 10,
                window: Duration::from_secs(900)
            }
        );
        assert_eq!(
            RateClass::General.default_limit(),
            ClassLimit {
                limit: 100,
                window: Duration::from_secs(900)
            }
        );
        assert!(RateClass::Healthcare.fails_closed() && RateClass::AuthFailures.fails_closed());
        assert!(!RateClass::Ai.fails_closed() && !RateClass::General.fails_closed());
        assert_eq!(
            ClassLimit::parse("50/900"),
            Some(ClassLimit {
                limit: 50,
                window: Duration::from_secs(900)
            })
        );
        assert_eq!(ClassLimit::parse("0/900"), None);
        assert_eq!(ClassLimit::parse("50"), None);
    }
}
