//! Typed configuration, read from the environment only and parsed once per process.
//!
//! Every variable is listed (with its default) in `.env.example`. A missing or malformed variable
//! is reported by its name at start-up; secret values are never printed (they are wrapped in
//! [`SecretString`], whose `Debug` is redacted).

use std::collections::HashMap;
use std::time::Duration;

use secrecy::SecretString;

use crate::ratelimit::{ClassLimit, RateClass};

/// Which deployment this process is: decides defaults and what is mandatory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Environment {
    /// Local machine: embedded defaults for the database, Redis and the dev token secret.
    Development,
    /// A Vercel preview deployment: its own URLs join the CORS allow-list.
    Preview,
    /// Production: HTTPS redirect on, Redis and the database mandatory, no embedded secrets.
    Production,
}

/// A configuration problem, always naming the variable and never echoing its value.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {reason}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub var: &'static str,
    /// What is wrong with it (never the value itself).
    pub reason: String,
}

/// Token verification settings (Supabase Auth).
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// Exact `iss` every token must carry, e.g. `https://<ref>.supabase.co/auth/v1`.
    pub issuer: String,
    /// Where the JWKS is fetched from (ES256/RS256 keys); `None` disables asymmetric keys.
    pub jwks_url: Option<String>,
    /// Legacy HS256 shared secret; accepted only when set.
    pub jwt_secret: Option<SecretString>,
    /// Clock leeway for `exp`/`nbf` (at most 60 s).
    pub leeway_secs: u64,
    /// How long a fetched JWKS is trusted before it is refetched (at most 10 min).
    pub jwks_ttl: Duration,
    /// Minimum spacing of refetches triggered by an unknown `kid`.
    pub jwks_refetch_interval: Duration,
}

/// Database settings. The login role has no table privileges of its own (ARCHITECTURE.md §3).
#[derive(Debug, Clone)]
pub struct DbConfig {
    /// Connection string of the request path (`authenticator`-like role).
    pub url: SecretString,
    /// Upper bound of pooled connections per process (1–16; Supabase recommends 1–4).
    pub pool_max: usize,
    /// TCP connect + startup timeout.
    pub connect_timeout: Duration,
    /// How long a request waits for a pooled connection before it gets a 503.
    pub acquire_timeout: Duration,
    /// `SET LOCAL statement_timeout` of every request transaction.
    pub statement_timeout: Duration,
}

/// Redis settings for rate limits.
#[derive(Debug, Clone)]
pub struct RedisConfig {
    /// `redis://` or `rediss://` URL; `None` means the in-process limiter (development only).
    pub url: Option<SecretString>,
    /// Per-command timeout; past it a class fails open or closed as declared.
    pub timeout: Duration,
    /// Key namespace, so several deployments can share one Redis.
    pub prefix: String,
}

/// Field encryption and the CPF blind index (ARCHITECTURE.md §6), parsed from key text once.
#[derive(Debug, Clone)]
pub struct CryptoConfig {
    /// AES-256-GCM key ring (`FIELD_ENCRYPTION_KEYS`, `FIELD_ENCRYPTION_CURRENT_KEY_ID`).
    pub cipher: std::sync::Arc<crate::crypto::FieldCipher>,
    /// HMAC key of the CPF blind index (`CPF_BLIND_INDEX_KEY`).
    pub blind_index: std::sync::Arc<crate::crypto::BlindIndex>,
}

/// Everything the process needs, parsed once.
#[derive(Debug, Clone)]
pub struct Config {
    /// Deployment kind (from `VERCEL_ENV`).
    pub env: Environment,
    /// Exact origins allowed by CORS.
    pub allowed_origins: Vec<String>,
    /// Default per-request timeout (routes may declare their own).
    pub request_timeout: Duration,
    /// Largest accepted request body in bytes.
    pub body_limit: usize,
    /// Database access.
    pub db: DbConfig,
    /// Redis access.
    pub redis: RedisConfig,
    /// Token verification.
    pub auth: AuthConfig,
    /// Per-class rate limits.
    pub rate_limits: HashMap<RateClass, ClassLimit>,
    /// Field encryption keys.
    pub crypto: CryptoConfig,
}

/// Supabase's local-development JWT secret (the well-known default of `supabase start`).
/// Only ever used when `VERCEL_ENV` is development and `SUPABASE_JWT_SECRET` is unset.
pub const DEV_JWT_SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";
/// Issuer of Supabase's local stack, used as the development default.
pub const DEV_ISSUER: &str = "http://127.0.0.1:54321/auth/v1";
/// Where `scripts/dev` runs PostgreSQL (Supabase local's port) and how the API logs in.
pub const DEV_DATABASE_URL: &str =
    "postgres://authenticator:authenticator@127.0.0.1:54322/postgres?sslmode=disable";

impl Config {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads settings through `lookup`, so tests can build a config without touching the
    /// process environment (mutating it is unsound in a multi-threaded process).
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let get = |k: &str| {
            lookup(k)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let env = match get("VERCEL_ENV").as_deref() {
            None | Some("development") => Environment::Development,
            Some("preview") => Environment::Preview,
            Some("production") => Environment::Production,
            Some(_) => {
                return Err(invalid(
                    "VERCEL_ENV",
                    "expected development, preview or production",
                ));
            }
        };
        let dev = env == Environment::Development;

        let mut allowed_origins: Vec<String> = get("ALLOWED_ORIGINS")
            .map(|v| {
                v.split(',')
                    .map(|o| o.trim().to_owned())
                    .filter(|o| !o.is_empty())
                    .collect()
            })
            .unwrap_or_default();
        for origin in &allowed_origins {
            if origin == "*"
                || origin == "null"
                || !(origin.starts_with("https://") || origin.starts_with("http://"))
                || origin.ends_with('/')
            {
                return Err(invalid(
                    "ALLOWED_ORIGINS",
                    "each entry must be an exact scheme://host[:port] origin (no *, null or trailing /)",
                ));
            }
        }
        if env == Environment::Preview {
            for var in ["VERCEL_URL", "VERCEL_BRANCH_URL"] {
                if let Some(host) = get(var) {
                    allowed_origins.push(format!("https://{host}"));
                }
            }
        }

        let request_timeout = Duration::from_millis(parse_num(
            "REQUEST_TIMEOUT_MS",
            get("REQUEST_TIMEOUT_MS"),
            2_000,
            50,
            300_000,
        )?);
        let body_limit = parse_num(
            "BODY_LIMIT_BYTES",
            get("BODY_LIMIT_BYTES"),
            1_048_576,
            1_024,
            4_500_000,
        )? as usize;

        let db_url = match get("DATABASE_URL") {
            Some(v) => v,
            None if dev => DEV_DATABASE_URL.to_owned(),
            None => return Err(missing("DATABASE_URL")),
        };
        if !(db_url.starts_with("postgres://") || db_url.starts_with("postgresql://")) {
            return Err(invalid("DATABASE_URL", "expected a postgres:// URL"));
        }
        let db = DbConfig {
            url: SecretString::from(db_url),
            pool_max: parse_num("DB_POOL_MAX", get("DB_POOL_MAX"), 4, 1, 16)? as usize,
            connect_timeout: Duration::from_millis(parse_num(
                "DB_CONNECT_TIMEOUT_MS",
                get("DB_CONNECT_TIMEOUT_MS"),
                2_000,
                100,
                30_000,
            )?),
            acquire_timeout: Duration::from_millis(parse_num(
                "DB_ACQUIRE_TIMEOUT_MS",
                get("DB_ACQUIRE_TIMEOUT_MS"),
                1_000,
                10,
                30_000,
            )?),
            statement_timeout: Duration::from_millis(parse_num(
                "DB_STATEMENT_TIMEOUT_MS",
                get("DB_STATEMENT_TIMEOUT_MS"),
                1_500,
                10,
                300_000,
            )?),
        };

        let redis_url = get("REDIS_URL");
        if let Some(url) = &redis_url {
            if !(url.starts_with("redis://") || url.starts_with("rediss://")) {
                return Err(invalid("REDIS_URL", "expected a redis:// or rediss:// URL"));
            }
        } else if !dev {
            return Err(missing("REDIS_URL").with_reason(
                "required outside development: rate limits must be shared by every instance",
            ));
        }
        let redis = RedisConfig {
            url: redis_url.map(SecretString::from),
            timeout: Duration::from_millis(parse_num(
                "REDIS_TIMEOUT_MS",
                get("REDIS_TIMEOUT_MS"),
                300,
                10,
                5_000,
            )?),
            prefix: get("RATE_LIMIT_PREFIX").unwrap_or_else(|| "neonpro:rl".to_owned()),
        };

        let supabase_url = get("SUPABASE_URL").map(|u| u.trim_end_matches('/').to_owned());
        let issuer = match (get("SUPABASE_JWT_ISSUER"), &supabase_url) {
            (Some(iss), _) => iss,
            (None, Some(base)) => format!("{base}/auth/v1"),
            (None, None) if dev => DEV_ISSUER.to_owned(),
            (None, None) => return Err(missing("SUPABASE_URL")),
        };
        let jwks_url = get("SUPABASE_JWKS_URL").or_else(|| {
            supabase_url
                .as_ref()
                .map(|b| format!("{b}/auth/v1/.well-known/jwks.json"))
        });
        let jwt_secret = match get("SUPABASE_JWT_SECRET") {
            Some(s) if s.len() < 32 => {
                return Err(invalid(
                    "SUPABASE_JWT_SECRET",
                    "must be at least 32 bytes (256 bits)",
                ));
            }
            Some(s) => Some(SecretString::from(s)),
            None if dev && jwks_url.is_none() => Some(SecretString::from(DEV_JWT_SECRET)),
            None => None,
        };
        if jwks_url.is_none() && jwt_secret.is_none() {
            return Err(missing("SUPABASE_JWKS_URL").with_reason("no token verification key: set SUPABASE_URL, SUPABASE_JWKS_URL or SUPABASE_JWT_SECRET"));
        }
        let auth = AuthConfig {
            issuer,
            jwks_url,
            jwt_secret,
            leeway_secs: parse_num("JWT_LEEWAY_SECS", get("JWT_LEEWAY_SECS"), 30, 0, 60)?,
            jwks_ttl: Duration::from_secs(parse_num(
                "JWKS_CACHE_TTL_SECS",
                get("JWKS_CACHE_TTL_SECS"),
                600,
                1,
                600,
            )?),
            jwks_refetch_interval: Duration::from_secs(parse_num(
                "JWKS_REFETCH_INTERVAL_SECS",
                get("JWKS_REFETCH_INTERVAL_SECS"),
                30,
                0,
                3_600,
            )?),
        };

        let mut rate_limits = HashMap::new();
        for class in RateClass::ALL {
            let var = class.env_var();
            let limit = match get(var) {
                Some(v) => ClassLimit::parse(&v).ok_or_else(|| {
                    invalid(var, "expected <requests>/<window seconds>, e.g. 50/900")
                })?,
                None => class.default_limit(),
            };
            rate_limits.insert(class, limit);
        }

        let crypto = parse_crypto(&get, dev)?;

        Ok(Self {
            crypto,
            env,
            allowed_origins,
            request_timeout,
            body_limit,
            db,
            redis,
            auth,
            rate_limits,
        })
    }

    /// Whether this is a production deployment (HTTPS redirect on).
    pub fn is_production(&self) -> bool {
        self.env == Environment::Production
    }
}

fn parse_crypto(
    get: &impl Fn(&str) -> Option<String>,
    dev: bool,
) -> Result<CryptoConfig, ConfigError> {
    use crate::crypto::{
        BlindIndex, DEV_BLIND_INDEX_KEY, DEV_FIELD_CURRENT_KEY_ID, DEV_FIELD_KEYS, FieldCipher,
        KeyRing,
    };
    let keys = match get("FIELD_ENCRYPTION_KEYS") {
        Some(k) => k,
        None if dev => DEV_FIELD_KEYS.to_owned(),
        None => return Err(missing("FIELD_ENCRYPTION_KEYS")),
    };
    let current = match get("FIELD_ENCRYPTION_CURRENT_KEY_ID") {
        Some(v) => v.parse::<u32>().map_err(|_| {
            invalid(
                "FIELD_ENCRYPTION_CURRENT_KEY_ID",
                "expected a key id number",
            )
        })?,
        None if dev => DEV_FIELD_CURRENT_KEY_ID,
        None => return Err(missing("FIELD_ENCRYPTION_CURRENT_KEY_ID")),
    };
    // The parsers' messages name the entry and key id, never key material.
    let ring = KeyRing::parse(&keys, current).map_err(|why| ConfigError {
        var: "FIELD_ENCRYPTION_KEYS",
        reason: format!("invalid: {why}"),
    })?;
    let blind = match get("CPF_BLIND_INDEX_KEY") {
        Some(k) => k,
        None if dev => DEV_BLIND_INDEX_KEY.to_owned(),
        None => return Err(missing("CPF_BLIND_INDEX_KEY")),
    };
    let blind_index = BlindIndex::parse(&blind).map_err(|why| ConfigError {
        var: "CPF_BLIND_INDEX_KEY",
        reason: format!("invalid: {why}"),
    })?;
    Ok(CryptoConfig {
        cipher: std::sync::Arc::new(FieldCipher::new(ring)),
        blind_index: std::sync::Arc::new(blind_index),
    })
}

fn missing(var: &'static str) -> ConfigError {
    ConfigError {
        var,
        reason: "missing".to_owned(),
    }
}

fn invalid(var: &'static str, reason: &str) -> ConfigError {
    ConfigError {
        var,
        reason: format!("invalid: {reason}"),
    }
}

impl ConfigError {
    fn with_reason(mut self, reason: &str) -> Self {
        self.reason = format!("{}: {reason}", self.reason);
        self
    }
}

fn parse_num(
    var: &'static str,
    value: Option<String>,
    default: u64,
    min: u64,
    max: u64,
) -> Result<u64, ConfigError> {
    let Some(value) = value else {
        return Ok(default);
    };
    match value.parse::<u64>() {
        Ok(n) if (min..=max).contains(&n) => Ok(n),
        _ => Err(invalid(
            var,
            &format!("expected a whole number from {min} to {max}"),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn development_runs_on_embedded_defaults() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.env, Environment::Development);
        assert_eq!(c.request_timeout, Duration::from_secs(2));
        assert_eq!(c.body_limit, 1_048_576);
        assert!(c.redis.url.is_none());
        assert!(c.auth.jwt_secret.is_some());
    }

    #[test]
    fn production_names_the_missing_variable() {
        let err = cfg(&[("VERCEL_ENV", "production")]).unwrap_err();
        assert_eq!(err.var, "DATABASE_URL");
        let err = cfg(&[
            ("VERCEL_ENV", "production"),
            ("DATABASE_URL", "postgres://u:p@h/db"),
        ])
        .unwrap_err();
        assert_eq!(err.var, "REDIS_URL");
    }

    #[test]
    fn production_requires_encryption_keys_and_names_them() {
        let base = [
            ("VERCEL_ENV", "production"),
            ("DATABASE_URL", "postgres://u:p@h/db"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("SUPABASE_URL", "https://abc.supabase.co"),
        ];
        assert_eq!(cfg(&base).unwrap_err().var, "FIELD_ENCRYPTION_KEYS");
        let mut with_keys = base.to_vec();
        with_keys.push(("FIELD_ENCRYPTION_KEYS", "1:c2hvcnQ="));
        with_keys.push(("FIELD_ENCRYPTION_CURRENT_KEY_ID", "1"));
        let err = cfg(&with_keys).unwrap_err();
        assert_eq!(err.var, "FIELD_ENCRYPTION_KEYS");
        assert!(
            !err.to_string().contains("c2hvcnQ"),
            "key material echoed: {err}"
        );
    }

    #[test]
    fn malformed_values_are_reported_without_echoing_them() {
        let err = cfg(&[("REQUEST_TIMEOUT_MS", "soon")]).unwrap_err();
        assert_eq!(err.var, "REQUEST_TIMEOUT_MS");
        assert!(!err.to_string().contains("soon"));
        let err = cfg(&[("SUPABASE_JWT_SECRET", "short-secret-value")]).unwrap_err();
        assert!(!err.to_string().contains("short-secret-value"));
    }

    #[test]
    fn wildcard_and_null_origins_are_refused() {
        assert_eq!(
            cfg(&[("ALLOWED_ORIGINS", "*")]).unwrap_err().var,
            "ALLOWED_ORIGINS"
        );
        assert_eq!(
            cfg(&[("ALLOWED_ORIGINS", "null")]).unwrap_err().var,
            "ALLOWED_ORIGINS"
        );
    }

    #[test]
    fn preview_deployments_allow_their_own_urls() {
        let c = cfg(&[
            ("VERCEL_ENV", "preview"),
            ("DATABASE_URL", "postgres://u:p@h/db"),
            ("REDIS_URL", "redis://127.0.0.1:6379"),
            ("SUPABASE_URL", "https://abc.supabase.co"),
            ("VERCEL_URL", "neonpro-abc123-team.vercel.app"),
            ("VERCEL_BRANCH_URL", "neonpro-git-feat-team.vercel.app"),
            ("FIELD_ENCRYPTION_KEYS", crate::crypto::DEV_FIELD_KEYS),
            ("FIELD_ENCRYPTION_CURRENT_KEY_ID", "2"),
            ("CPF_BLIND_INDEX_KEY", crate::crypto::DEV_BLIND_INDEX_KEY),
        ])
        .unwrap();
        assert!(
            c.allowed_origins
                .contains(&"https://neonpro-abc123-team.vercel.app".to_owned())
        );
        assert!(
            c.allowed_origins
                .contains(&"https://neonpro-git-feat-team.vercel.app".to_owned())
        );
        assert_eq!(c.auth.issuer, "https://abc.supabase.co/auth/v1");
        assert_eq!(
            c.auth.jwks_url.as_deref(),
            Some("https://abc.supabase.co/auth/v1/.well-known/jwks.json")
        );
        assert!(c.auth.jwt_secret.is_none());
    }
}
