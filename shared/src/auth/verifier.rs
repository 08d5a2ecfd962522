//! [`Verifier`]: from a bearer string to verified [`Claims`], or an [`AuthError`] saying why not.
//!
//! Owns the order of the checks and the choice of key; the rules themselves live in
//! [`super::token`] (shape, header, claims) and [`super::jwks`] (keys). The order is:
//! 1. size and shape, before any decoding (≤ 8 KiB, three base64url segments);
//! 2. header rules (allow-listed `alg`, no key-source or `crit` parameters, `typ`, `kid`);
//! 3. payload rules (duplicate keys, claim types, `exp`/`nbf`, `iss`, `aud`, `sub`, `role`),
//!    so that a token failing them costs no crypto and never triggers a JWKS fetch;
//! 4. the key: ES256/RS256 only through the JWKS entry named by `kid`, whose pinned algorithm
//!    must equal the header's; HS256 only with the configured legacy secret;
//! 5. the signature (and, again, `exp`/`nbf`/`iss`/`aud`) by `jsonwebtoken`.

use std::time::{SystemTime, UNIX_EPOCH};

use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{DecodingKey, Validation};
use secrecy::ExposeSecret;

use super::jwks::JwksCache;
use super::token::{self, Alg, ClaimRules};
use super::{AuthError, Claims};
use crate::config::AuthConfig;

/// Largest clock leeway honoured, whatever the configuration says (RFC 8725: keep it small).
const MAX_LEEWAY_SECS: u64 = 60;

/// Largest JWKS cache lifetime honoured: Supabase's own edge cache is 10 minutes, and keys must
/// disappear from every cache soon after they are revoked.
const MAX_JWKS_TTL: std::time::Duration = std::time::Duration::from_secs(600);

/// Verifies Supabase access tokens. Built once per process with no I/O; the JWKS is fetched by
/// the first verification that needs it and then cached (see [`super::jwks`]).
pub struct Verifier {
    rules: ClaimRules,
    /// The legacy HS256 secret as a key, only when configured.
    hs256: Option<DecodingKey>,
    /// The project's asymmetric keys, only when a JWKS URL is configured.
    jwks: Option<JwksCache>,
    es256: Validation,
    rs256: Validation,
    hs256_validation: Validation,
}

impl std::fmt::Debug for Verifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Verifier")
            .field("issuer", &self.rules.issuer)
            .field("hs256", &self.hs256.is_some())
            .field("jwks", &self.jwks)
            .finish_non_exhaustive()
    }
}

impl Verifier {
    /// Builds the verifier without any network access, so it can live in the process-wide
    /// state that a cold start builds before serving its first request.
    pub fn new(cfg: &AuthConfig) -> Self {
        let jwks = cfg.jwks_url.as_deref().map(|url| {
            JwksCache::remote(
                url,
                cfg.jwks_ttl.min(MAX_JWKS_TTL),
                cfg.jwks_refetch_interval,
            )
        });
        Self::build(cfg, jwks)
    }

    /// A verifier whose JWKS is already loaded from `jwks_json`, so a benchmark measures
    /// verification and not the network. With a `jwks_url` in `cfg` the keys age and refresh as
    /// usual; without one they never expire.
    ///
    /// # Panics
    /// If `jwks_json` is not a JWKS document (a benchmark with no keys would measure nothing).
    #[cfg(feature = "test-support")]
    pub fn with_jwks(cfg: &AuthConfig, jwks_json: &str) -> Self {
        let keys = match super::jwks::parse_jwks(jwks_json.as_bytes()) {
            Ok(keys) => keys,
            Err(reason) => panic!("Verifier::with_jwks: {reason}"),
        };
        let cache = JwksCache::preloaded(
            cfg.jwks_url.as_deref(),
            keys,
            cfg.jwks_ttl.min(MAX_JWKS_TTL),
            cfg.jwks_refetch_interval,
        );
        Self::build(cfg, Some(cache))
    }

    fn build(cfg: &AuthConfig, jwks: Option<JwksCache>) -> Self {
        let rules = ClaimRules {
            issuer: cfg.issuer.clone(),
            leeway: cfg.leeway_secs.min(MAX_LEEWAY_SECS),
        };
        let hs256 = cfg
            .jwt_secret
            .as_ref()
            .and_then(|s| DecodingKey::from_secret(s.expose_secret().as_bytes()).ok());
        let validation = |alg: Alg| {
            let mut v = Validation::new(alg.jwt());
            v.set_required_spec_claims(&["exp", "sub", "aud", "iss"]);
            v.set_audience(&["authenticated"]);
            v.set_issuer(&[rules.issuer.as_str()]);
            v.validate_nbf = true;
            v.leeway = rules.leeway;
            v
        };
        Self {
            es256: validation(Alg::Es256),
            rs256: validation(Alg::Rs256),
            hs256_validation: validation(Alg::Hs256),
            rules,
            hs256,
            jwks,
        }
    }

    /// Verifies `token` (the bearer value, without the `Bearer ` prefix). Every failure is an
    /// [`AuthError`] with a short reason for the log; the client only ever sees a generic 401.
    pub async fn verify(&self, token: &str) -> Result<Claims, AuthError> {
        let segments = token::split(token)?;
        let header = token::parse_header(&segments)?;
        let claims = token::parse_claims(&segments, &self.rules, unix_now()?)?;

        let (key, validation) = match header.alg {
            Alg::Es256 | Alg::Rs256 => {
                let jwks = self.jwks.as_ref().ok_or(AuthError("no JWKS configured"))?;
                let kid = header.kid.as_deref().ok_or(AuthError("kid missing"))?;
                let pinned = jwks.key_for(kid).await?;
                if pinned.alg != header.alg {
                    return Err(AuthError("alg does not match the key"));
                }
                let validation = if pinned.alg == Alg::Es256 {
                    &self.es256
                } else {
                    &self.rs256
                };
                (KeyRef::Pinned(pinned), validation)
            }
            Alg::Hs256 => {
                let secret = self
                    .hs256
                    .as_ref()
                    .ok_or(AuthError("HS256 not configured"))?;
                // A token that names one of the project's public keys yet claims HS256 is an
                // algorithm-confusion attempt, whatever its signature.
                if let (Some(kid), Some(jwks)) = (header.kid.as_deref(), &self.jwks)
                    && jwks.fresh_keys().await?.contains_key(kid)
                {
                    return Err(AuthError("HS256 token names a JWKS key"));
                }
                (KeyRef::Secret(secret), &self.hs256_validation)
            }
        };

        if jsonwebtoken::crypto::CryptoProvider::try_get_default().is_none() {
            // jsonwebtoken would panic; refuse instead (only a mis-built binary gets here).
            return Err(AuthError("no JWT crypto provider"));
        }
        jsonwebtoken::decode::<serde::de::IgnoredAny>(token, key.get(), validation)
            .map_err(|e| AuthError(reason(e.kind())))?;
        Ok(claims)
    }
}

/// A key borrowed from the verifier or shared with the JWKS cache.
enum KeyRef<'a> {
    Pinned(std::sync::Arc<super::jwks::PinnedKey>),
    Secret(&'a DecodingKey),
}

impl KeyRef<'_> {
    fn get(&self) -> &DecodingKey {
        match self {
            KeyRef::Pinned(p) => &p.key,
            KeyRef::Secret(k) => k,
        }
    }
}

fn unix_now() -> Result<u64, AuthError> {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .map_err(|_| AuthError("clock before 1970"))
}

/// The log reason of a `jsonwebtoken` failure. Most claim failures were already caught by
/// [`token::check_claims`]; these are the backstop.
fn reason(kind: &ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidSignature => "bad signature",
        ErrorKind::InvalidAlgorithm
        | ErrorKind::MissingAlgorithm
        | ErrorKind::InvalidAlgorithmName => "alg does not match the key",
        ErrorKind::ExpiredSignature => super::AuthError::EXPIRED,
        ErrorKind::ImmatureSignature => "not yet valid",
        ErrorKind::InvalidIssuer => "wrong issuer",
        ErrorKind::InvalidAudience => "wrong audience",
        ErrorKind::MissingRequiredClaim(_) | ErrorKind::InvalidClaimFormat(_) => "bad claims",
        ErrorKind::InvalidEcdsaKey | ErrorKind::InvalidRsaKey(_) | ErrorKind::InvalidKeyFormat => {
            "unusable key"
        }
        ErrorKind::Base64(_)
        | ErrorKind::Json(_)
        | ErrorKind::Utf8(_)
        | ErrorKind::InvalidToken => "malformed token",
        _ => "rejected by jsonwebtoken",
    }
}
