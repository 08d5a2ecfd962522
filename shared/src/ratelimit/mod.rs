//! Rate limiting (ARCHITECTURE.md §4, issue "Rate limiting against Redis").
//!
//! PLACEHOLDER INTERFACE — being implemented: sliding window (two weighted buckets) in one Lua
//! script against Redis, an in-process twin for development, fail-open/closed per class.

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

/// The process-wide limiter: Redis when configured, in-process otherwise (development only).
#[derive(Debug)]
pub struct Limiter {
    limits: std::collections::HashMap<RateClass, ClassLimit>,
}

impl Limiter {
    /// Builds the limiter without touching the network (connections open on first use).
    pub fn new(
        _cfg: &crate::config::RedisConfig,
        limits: std::collections::HashMap<RateClass, ClassLimit>,
    ) -> Self {
        Self { limits }
    }

    /// The configured quota of `class`.
    pub fn limit(&self, class: RateClass) -> ClassLimit {
        self.limits
            .get(&class)
            .copied()
            .unwrap_or_else(|| class.default_limit())
    }

    /// Counts one request of `class` for `identity` if it fits; rejected requests are not counted.
    pub async fn hit(&self, class: RateClass, _identity: &str) -> Result<Decision, Unavailable> {
        let l = self.limit(class);
        Ok(Decision {
            allowed: true,
            limit: l.limit,
            remaining: l.limit,
            reset_secs: l.window.as_secs(),
            retry_after_secs: 0,
        })
    }

    /// Reads `identity`'s state in `class` without counting (the failed-auth peek).
    pub async fn peek(&self, class: RateClass, identity: &str) -> Result<Decision, Unavailable> {
        self.hit(class, identity).await
    }

    /// Readiness probe: one round trip to Redis, or `Ok(None)` for the in-process limiter.
    pub async fn ping(&self) -> Result<Option<Duration>, Unavailable> {
        Ok(None)
    }
}
