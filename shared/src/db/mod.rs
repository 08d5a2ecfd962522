//! Data access: a small lazy Postgres pool and the per-request transaction that carries the
//! caller's identity, exactly as PostgREST applies a JWT (ARCHITECTURE.md §3,
//! `reference/security.md` §1.5).
//!
//! - The login role has no table privileges of its own; every transaction first switches to
//!   `authenticated` (or, on the explicit service path, `service_role`) with `set_config(…, true)`,
//!   so a code path that forgets it fails with permission denied instead of bypassing RLS.
//! - Every statement is unnamed ([`tokio_postgres::Client::query_typed`]): Supabase's transaction
//!   pooler and PgBouncer in transaction mode cannot keep prepared statements.
//! - Nothing is session-level; a dropped, unfinished transaction is rolled back before its
//!   connection returns to the pool.

mod param;

use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, PoolError, RecyclingMethod, Runtime};
use secrecy::ExposeSecret;
use tokio_postgres::error::SqlState;
use tokio_postgres::{NoTls, Row};

use crate::config::DbConfig;
use crate::error::{ApiError, Msg};

pub use param::Param;

/// Seconds a client should wait before retrying after the database was unavailable.
const RETRY_AFTER_SECS: u64 = 2;

/// The first statement of every transaction: impersonate the role, hand Postgres the verified
/// claims (`request.jwt.claims`, read by `auth.uid()`/`auth.jwt()`), overwrite the legacy
/// per-claim settings so a stale session-level value can never win, and bound statement time.
/// `$1` role, `$2` claims JSON, `$3` sub, `$4` statement timeout in ms. Parameters only: no
/// identity value is ever interpolated into SQL.
pub const SET_REQUEST_CONTEXT_SQL: &str = "select set_config('role', $1, true), \
     set_config('request.jwt.claims', $2, true), set_config('request.jwt.claim.sub', $3, true), \
     set_config('request.jwt.claim.role', $1, true), set_config('statement_timeout', $4, true), \
     set_config('search_path', 'public', true)";

/// The process-wide pool. Creating it opens no connection (cold start stays offline).
#[derive(Clone)]
pub struct Db {
    pool: Option<Pool>,
    statement_timeout: Duration,
}

impl std::fmt::Debug for Db {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Db")
            .field("statement_timeout", &self.statement_timeout)
            .finish_non_exhaustive()
    }
}

/// Which Postgres role a transaction runs as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum DbRole {
    Authenticated,
    Service,
}

impl Db {
    /// Builds the pool lazily. A URL that does not parse leaves the pool absent, and every
    /// request then gets a 503 (the start-up config check already named the variable).
    pub fn new(cfg: &DbConfig) -> Self {
        Self {
            pool: build_pool(cfg.url.expose_secret(), cfg),
            statement_timeout: cfg.statement_timeout,
        }
    }

    /// Opens the request transaction for a verified caller: role `authenticated`, the verified
    /// claims, `sub`, and a local statement timeout. `read_only` is set for GET requests.
    pub async fn begin(
        &self,
        claims: &serde_json::Value,
        sub: &uuid::Uuid,
        read_only: bool,
    ) -> Result<Tx, ApiError> {
        self.open(DbRole::Authenticated, claims, &sub.to_string(), read_only)
            .await
    }

    /// Opens a transaction on the explicit service path (`service_role`, bypasses RLS). Only for
    /// cron jobs and maintenance tasks: never reachable from a request path.
    pub async fn begin_service(&self) -> Result<Tx, ApiError> {
        let claims = serde_json::json!({ "role": "service_role" });
        self.open(DbRole::Service, &claims, "", false).await
    }

    /// Readiness probe: a round trip on a pooled connection, bounded by `timeout`.
    pub async fn ping(&self, timeout: Duration) -> Result<Duration, ApiError> {
        let started = std::time::Instant::now();
        let work = async {
            let client = self.client().await?;
            client
                .simple_query("select 1")
                .await
                .map_err(map_pg_error)?;
            Ok::<_, ApiError>(())
        };
        tokio::time::timeout(timeout, work)
            .await
            .map_err(|_| unavailable())??;
        Ok(started.elapsed())
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, ApiError> {
        let pool = self.pool.as_ref().ok_or_else(unavailable)?;
        pool.get().await.map_err(|e| {
            tracing::warn!(target: "neonpro::db", error = %pool_error_kind(&e), "database unavailable");
            unavailable()
        })
    }

    async fn open(
        &self,
        role: DbRole,
        claims: &serde_json::Value,
        sub: &str,
        read_only: bool,
    ) -> Result<Tx, ApiError> {
        let client = self.client().await?;
        let begin = if read_only {
            "begin isolation level read committed read only"
        } else {
            "begin isolation level read committed"
        };
        client.batch_execute(begin).await.map_err(map_pg_error)?;
        let tx = Tx {
            client: Some(client),
            done: false,
        };
        let role_name = match role {
            DbRole::Authenticated => "authenticated",
            DbRole::Service => "service_role",
        };
        let timeout_ms = self.statement_timeout.as_millis().to_string();
        let claims_text = claims.to_string();
        tx.query(
            SET_REQUEST_CONTEXT_SQL,
            &[
                &role_name,
                &claims_text.as_str(),
                &sub,
                &timeout_ms.as_str(),
            ],
        )
        .await?;
        Ok(tx)
    }
}

fn build_pool(url: &str, cfg: &DbConfig) -> Option<Pool> {
    let mut pg: tokio_postgres::Config = url.parse().ok()?;
    pg.connect_timeout(cfg.connect_timeout);
    pg.application_name("neonpro-api");
    let mgr = Manager::from_config(
        pg,
        NoTls,
        ManagerConfig {
            recycling_method: RecyclingMethod::Fast,
        },
    );
    Pool::builder(mgr)
        .max_size(cfg.pool_max)
        .runtime(Runtime::Tokio1)
        .wait_timeout(Some(cfg.acquire_timeout))
        .create_timeout(Some(cfg.connect_timeout))
        .recycle_timeout(Some(cfg.connect_timeout))
        .build()
        .ok()
}

fn pool_error_kind(e: &PoolError) -> &'static str {
    match e {
        PoolError::Timeout(_) => "pool timeout",
        PoolError::Backend(_) => "connect failed",
        PoolError::Closed => "pool closed",
        PoolError::NoRuntimeSpecified => "no runtime",
        PoolError::PostCreateHook(_) => "post-create hook",
    }
}

/// 503 with `Retry-After`: the database is down, unreachable or saturated.
pub fn unavailable() -> ApiError {
    ApiError::Unavailable {
        code: "database_unavailable",
        retry_after: RETRY_AFTER_SECS,
    }
}

/// Maps a Postgres error to the API's error classes. Constraint-specific meanings (a duplicate
/// CPF, an overlapping booking) are decided by the services before falling back to this.
pub fn map_pg_error(e: tokio_postgres::Error) -> ApiError {
    let Some(code) = e.code() else {
        // No SQLSTATE: the connection broke or timed out.
        tracing::warn!(target: "neonpro::db", "database connection error");
        return unavailable();
    };
    if *code == SqlState::QUERY_CANCELED {
        ApiError::Timeout
    } else if *code == SqlState::INSUFFICIENT_PRIVILEGE {
        ApiError::Forbidden {
            code: "forbidden",
            detail: Msg::new(
                "Você não tem permissão para esta operação.",
                "You are not allowed to perform this operation.",
            ),
        }
    } else if *code == SqlState::T_R_SERIALIZATION_FAILURE
        || *code == SqlState::T_R_DEADLOCK_DETECTED
    {
        ApiError::Unavailable {
            code: "retry_transaction",
            retry_after: 1,
        }
    } else if *code == SqlState::ADMIN_SHUTDOWN
        || *code == SqlState::CANNOT_CONNECT_NOW
        || *code == SqlState::TOO_MANY_CONNECTIONS
    {
        unavailable()
    } else {
        ApiError::internal(e)
    }
}

/// One database transaction. Commit explicitly; dropping it rolls back.
pub struct Tx {
    client: Option<deadpool_postgres::Object>,
    done: bool,
}

impl std::fmt::Debug for Tx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tx").field("done", &self.done).finish()
    }
}

impl Tx {
    fn conn(&self) -> Result<&deadpool_postgres::Object, ApiError> {
        self.client.as_ref().ok_or_else(unavailable)
    }

    /// Runs `sql` (unnamed statement, one round trip) and returns its rows.
    pub async fn query(&self, sql: &str, params: &[&dyn Param]) -> Result<Vec<Row>, ApiError> {
        let typed: Vec<_> = params.iter().map(|p| (p.as_sql(), p.pg_type())).collect();
        self.conn()?
            .query_typed(sql, &typed)
            .await
            .map_err(map_pg_error)
    }

    /// Like [`Tx::query`], but returns the raw Postgres error so a service can interpret
    /// constraint violations (unique, exclusion, check) itself.
    pub async fn query_raw(
        &self,
        sql: &str,
        params: &[&dyn Param],
    ) -> Result<Result<Vec<Row>, tokio_postgres::Error>, ApiError> {
        let typed: Vec<_> = params.iter().map(|p| (p.as_sql(), p.pg_type())).collect();
        Ok(self.conn()?.query_typed(sql, &typed).await)
    }

    /// Runs `sql` and returns at most one row.
    pub async fn query_opt(
        &self,
        sql: &str,
        params: &[&dyn Param],
    ) -> Result<Option<Row>, ApiError> {
        Ok(self.query(sql, params).await?.into_iter().next())
    }

    /// Runs `sql` and returns exactly one row (a missing row is a bug here, hence 500).
    pub async fn query_one(&self, sql: &str, params: &[&dyn Param]) -> Result<Row, ApiError> {
        self.query_opt(sql, params)
            .await?
            .ok_or_else(|| ApiError::internal(std::io::Error::other("query_one returned no row")))
    }

    /// Runs a statement and returns the number of rows it affected.
    pub async fn execute(&self, sql: &str, params: &[&dyn Param]) -> Result<u64, ApiError> {
        let typed: Vec<_> = params.iter().map(|p| (p.as_sql(), p.pg_type())).collect();
        self.conn()?
            .execute_typed(sql, &typed)
            .await
            .map_err(map_pg_error)
    }

    /// Commits the transaction.
    pub async fn commit(mut self) -> Result<(), ApiError> {
        self.conn()?
            .batch_execute("commit")
            .await
            .map_err(map_pg_error)?;
        self.done = true;
        Ok(())
    }

    /// Rolls the transaction back now (dropping does the same, later).
    pub async fn rollback(mut self) -> Result<(), ApiError> {
        self.conn()?
            .batch_execute("rollback")
            .await
            .map_err(map_pg_error)?;
        self.done = true;
        Ok(())
    }
}

impl Drop for Tx {
    fn drop(&mut self) {
        if self.done {
            return;
        }
        // Never hand a connection in the middle of a transaction back to the pool: roll it back
        // first (off the request path), or discard the connection if no runtime is left.
        if let Some(client) = self.client.take() {
            if let Ok(handle) = tokio::runtime::Handle::try_current() {
                handle.spawn(async move {
                    if client.batch_execute("rollback").await.is_err() {
                        let _ = deadpool_postgres::Object::take(client);
                    }
                });
            } else {
                let _ = deadpool_postgres::Object::take(client);
            }
        }
    }
}
