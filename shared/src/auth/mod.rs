//! Identity: Supabase Auth access tokens (ARCHITECTURE.md §5, `reference/security.md` §1–§3).
//!
//! [`Verifier`] checks a bearer token (ES256/RS256 through the project's JWKS selected by `kid`,
//! legacy HS256 only when its secret is configured) and yields verified [`Claims`]. The route
//! [`crate::http::policy`] runs it once per request and stores an [`AuthContext`]; handlers ask
//! for it with the [`AuthUser`] extractor, so a handler's signature says that it needs a caller.

mod jwks;
mod strict_json;
mod token;
mod verifier;

use axum::extract::FromRequestParts;
use http::request::Parts;
use serde_json::Value;
use uuid::Uuid;

use crate::error::ApiError;

pub use verifier::Verifier;

/// Why a token was refused. Only for logs and tests: clients always get the same 401.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("token rejected: {0}")]
pub struct AuthError(pub &'static str);

impl AuthError {
    /// The reason of a token past its `exp`.
    pub const EXPIRED: &'static str = "expired";

    /// Whether this failure counts toward the per-IP failed-authentication budget. An expired
    /// token can never authenticate whatever its signature, so it is no credential guess: it is
    /// a browser tab left open. Counting it let one stale tab behind a clinic's shared address
    /// lock every colleague out for 15 minutes.
    pub fn counts_as_failed_attempt(reason: &str) -> bool {
        reason != Self::EXPIRED
    }
}

/// The verified claims of an access token.
#[derive(Debug, Clone)]
pub struct Claims {
    /// `sub`: the Supabase user id.
    pub sub: Uuid,
    /// `aal` (`aal1`, `aal2`), when present.
    pub aal: Option<String>,
    /// `amr` as sent (list of `{method, timestamp}`), when present.
    pub amr: Option<Value>,
    /// `session_id`, when present.
    pub session_id: Option<Uuid>,
    /// `is_anonymous`: anonymous sign-ins still have role `authenticated`.
    pub is_anonymous: bool,
    /// The whole verified payload, handed to Postgres as `request.jwt.claims`.
    pub raw: Value,
}

/// What the pipeline knows about the caller of this request.
#[derive(Debug, Clone)]
pub struct AuthContext {
    /// Verified claims.
    pub claims: Claims,
}

/// Extractor: the request carries a valid token (else 401). Anonymous Supabase users are
/// refused here: every route that takes an `AuthUser` serves clinic staff or patients.
#[derive(Debug, Clone)]
pub struct AuthUser(pub AuthContext);

impl AuthUser {
    /// The caller's user id.
    pub fn user_id(&self) -> Uuid {
        self.0.claims.sub
    }
}

impl<S: Send + Sync> FromRequestParts<S> for AuthUser {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let ctx =
            parts
                .extensions
                .get::<AuthContext>()
                .cloned()
                .ok_or(ApiError::Unauthenticated {
                    invalid_token: false,
                })?;
        if ctx.claims.is_anonymous {
            return Err(ApiError::Forbidden {
                code: "anonymous_user",
                detail: crate::error::Msg::new(
                    "Usuários anônimos não têm acesso a este recurso.",
                    "Anonymous users cannot use this resource.",
                ),
            });
        }
        Ok(AuthUser(ctx))
    }
}
