//! PLACEHOLDER — token verification is being implemented (JWKS + HS256, RFC 8725 hardening).

use super::{AuthError, Claims};
use crate::config::AuthConfig;

/// Verifies Supabase access tokens. Built once per process; fetches the JWKS lazily.
#[derive(Debug)]
pub struct Verifier {
    _cfg: AuthConfig,
}

impl Verifier {
    /// Builds the verifier without any network access.
    pub fn new(cfg: &AuthConfig) -> Self {
        Self { _cfg: cfg.clone() }
    }

    /// Verifies `token` (the bearer value, without the `Bearer ` prefix).
    pub async fn verify(&self, _token: &str) -> Result<Claims, AuthError> {
        Err(AuthError("not implemented"))
    }
}
