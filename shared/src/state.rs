//! Process-wide state, built once per process and shared by every request: parsed config, the
//! lazy database pool, the rate limiter and the token verifier. Building it does no I/O, so a
//! cold start pays only for parsing the environment.

use std::sync::Arc;

use crate::auth::Verifier;
use crate::config::Config;
use crate::db::Db;
use crate::ratelimit::Limiter;

/// Cheap to clone; everything inside is shared.
#[derive(Clone, Debug)]
pub struct AppState(Arc<Inner>);

#[derive(Debug)]
struct Inner {
    config: Config,
    db: Db,
    limiter: Limiter,
    verifier: Verifier,
}

impl AppState {
    /// Builds the state from a parsed config (no network access).
    pub fn new(config: Config) -> Self {
        let db = Db::new(&config.db);
        let limiter = Limiter::new(&config.redis, config.rate_limits.clone());
        let verifier = Verifier::new(&config.auth);
        Self(Arc::new(Inner {
            config,
            db,
            limiter,
            verifier,
        }))
    }

    /// The parsed configuration.
    pub fn config(&self) -> &Config {
        &self.0.config
    }

    /// The database pool.
    pub fn db(&self) -> &Db {
        &self.0.db
    }

    /// The rate limiter.
    pub fn limiter(&self) -> &Limiter {
        &self.0.limiter
    }

    /// The field cipher (AES-256-GCM key ring).
    pub fn cipher(&self) -> &crate::crypto::FieldCipher {
        &self.0.config.crypto.cipher
    }

    /// The CPF blind index.
    pub fn blind_index(&self) -> &crate::crypto::BlindIndex {
        &self.0.config.crypto.blind_index
    }

    /// The token verifier.
    pub fn verifier(&self) -> &Verifier {
        &self.0.verifier
    }
}
