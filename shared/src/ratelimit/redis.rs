//! The Redis backend: one `EVALSHA` of `script.lua` per check, over one multiplexed
//! connection per process (`redis::aio::ConnectionManager`), every call bounded by the
//! configured timeout (ARCHITECTURE.md §4, `reference/security.md` §4).
//!
//! Owns: the lazily created connection and the script invocation.
//! Must not: connect at start-up (cold start is a product feature), wait on Redis longer than
//! the timeout, or log the URL (it carries the password).

use std::sync::LazyLock;
use std::time::{Duration, Instant};

use ::redis::aio::{ConnectionManager, ConnectionManagerConfig};
use ::redis::{Client, Script};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OnceCell;

use super::window::{Mode, Outcome};
use super::{ClassLimit, RateClass, Unavailable};

/// The check script, hashed once per process. `Script::invoke_async` sends `EVALSHA` only and
/// falls back to `SCRIPT LOAD` + `EVALSHA` on `NOSCRIPT` (after a Redis restart or failover):
/// one round trip per check in steady state.
static SCRIPT: LazyLock<Script> = LazyLock::new(|| Script::new(include_str!("script.lua")));

/// A Redis-backed sliding-window store.
pub(super) struct RedisBackend {
    url: SecretString,
    timeout: Duration,
    prefix: String,
    /// Created on first use; stays empty after a failed attempt so the next request retries.
    conn: OnceCell<ConnectionManager>,
}

impl std::fmt::Debug for RedisBackend {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisBackend")
            .field("timeout", &self.timeout)
            .field("prefix", &self.prefix)
            .field("connected", &self.conn.initialized())
            .finish_non_exhaustive()
    }
}

/// Why a call failed, for the log only (never the error text: it may echo the address).
#[derive(Debug)]
enum Failure {
    Timeout,
    Redis(::redis::ErrorKind),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Timeout => f.write_str("timeout"),
            Self::Redis(kind) => write!(f, "{kind:?}"),
        }
    }
}

impl RedisBackend {
    /// No I/O: the connection is made by the first check.
    pub(super) fn new(url: SecretString, timeout: Duration, prefix: String) -> Self {
        Self {
            url,
            timeout,
            prefix,
            conn: OnceCell::new(),
        }
    }

    /// The shared connection, created (and the script loaded) within the timeout on first use.
    async fn connection(&self) -> Result<ConnectionManager, Failure> {
        let init = self.conn.get_or_try_init(|| async {
            let client =
                Client::open(self.url.expose_secret()).map_err(|e| Failure::Redis(e.kind()))?;
            // No retries inside the manager: a request never waits on a backoff, and the next
            // request triggers the next reconnect attempt anyway.
            let config = ConnectionManagerConfig::new()
                .set_connection_timeout(Some(self.timeout))
                .set_response_timeout(Some(self.timeout))
                .set_number_of_retries(0);
            let mut conn = ConnectionManager::new_with_config(client, config)
                .await
                .map_err(|e| Failure::Redis(e.kind()))?;
            // Load the script with the connection, so a cold start (and a burst of concurrent
            // first requests) does not pay an `EVALSHA` → `NOSCRIPT` round trip first.
            SCRIPT
                .prepare_invoke()
                .load_async(&mut conn)
                .await
                .map_err(|e| Failure::Redis(e.kind()))?;
            Ok(conn)
        });
        match tokio::time::timeout(self.timeout, init).await {
            Ok(Ok(conn)) => Ok(conn.clone()),
            Ok(Err(failure)) => Err(failure),
            Err(_) => Err(Failure::Timeout),
        }
    }

    /// Runs one check: `EVALSHA` of the script, bounded by the timeout.
    pub(super) async fn check(
        &self,
        class: RateClass,
        identity: &str,
        quota: ClassLimit,
        mode: Mode,
    ) -> Result<Outcome, Unavailable> {
        let result = async {
            let mut conn = self.connection().await?;
            let mut invocation = SCRIPT.prepare_invoke();
            invocation
                .key(format!("{}:{}:{}", self.prefix, class.name(), identity))
                .arg(quota.limit)
                .arg(super::memory::window_ms(quota))
                .arg(mode.as_str());
            let call = invocation.invoke_async::<(u64, u64, u64, u64)>(&mut conn);
            match tokio::time::timeout(self.timeout, call).await {
                Ok(Ok((allowed, remaining, reset_ms, retry_ms))) => Ok(Outcome {
                    allowed: allowed == 1,
                    remaining,
                    reset_ms,
                    retry_ms,
                }),
                Ok(Err(e)) => Err(Failure::Redis(e.kind())),
                Err(_) => Err(Failure::Timeout),
            }
        }
        .await;
        result.map_err(|failure| {
            tracing::warn!(target: "neonpro::ratelimit", class = class.name(), failure = %failure, "redis check failed");
            Unavailable
        })
    }

    /// One `PING` round trip (the connection is made first if needed and not timed).
    pub(super) async fn ping(&self) -> Result<Duration, Unavailable> {
        let result = async {
            let mut conn = self.connection().await?;
            let started = Instant::now();
            let cmd = ::redis::cmd("PING");
            let ping = cmd.query_async::<String>(&mut conn);
            match tokio::time::timeout(self.timeout, ping).await {
                Ok(Ok(_)) => Ok(started.elapsed()),
                Ok(Err(e)) => Err(Failure::Redis(e.kind())),
                Err(_) => Err(Failure::Timeout),
            }
        }
        .await;
        result.map_err(|failure| {
            tracing::warn!(target: "neonpro::ratelimit", failure = %failure, "redis ping failed");
            Unavailable
        })
    }
}
