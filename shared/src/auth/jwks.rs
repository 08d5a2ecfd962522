//! The project's JSON Web Key Set: fetching it, turning it into algorithm-pinned keys, caching it.
//!
//! Owns every network access of token verification, and the rules that bound it:
//! - lazy: nothing is fetched until a token needs a key (cold start does no I/O);
//! - single-flight: concurrent verifications wait for one in-flight fetch instead of starting
//!   their own;
//! - keys are trusted for at most the configured TTL (≤ 10 min); a stale set is never served;
//! - an unknown `kid` refetches at most once per refetch interval (negative caching), so a
//!   flood of made-up kids cannot turn into a flood of requests to Supabase;
//! - after a failed fetch, verifications fail fast for a short back-off instead of each
//!   waiting for its own timeout;
//! - each fetch has a 2 s timeout, a 64 KiB body limit, no redirects, no proxy, and HTTPS
//!   (plain HTTP only to a loopback host, for Supabase's local stack and tests).
//!
//! Only EC P-256 (→ ES256) and RSA ≥ 2048 bits (→ RS256) signature keys become keys; a JWK of
//! kty `oct` (or anything else) is skipped, so a published secret can never become an HMAC key.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;
use std::sync::{Arc, OnceLock, PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::DecodingKey;
use serde_json::Value;

use super::token::{Alg, is_plausible_kid};
use super::{AuthError, strict_json};

/// Upper bound of one JWKS fetch, connection included.
pub(crate) const FETCH_TIMEOUT: Duration = Duration::from_secs(2);

/// Largest JWKS body read; Supabase's is well under 4 KiB.
pub(crate) const MAX_JWKS_BYTES: usize = 64 * 1024;

/// Longest fail-fast period after a failed fetch (shorter if the refetch interval is shorter).
const MAX_FAILURE_BACKOFF: Duration = Duration::from_secs(5);

/// RSA moduli accepted: 2048 to 8192 bits (RFC 7518 §3.3 minimum; the top bounds verify cost).
const RSA_MODULUS_BYTES: std::ops::RangeInclusive<usize> = 256..=1024;

/// A verification key and the one algorithm it may be used with.
pub(crate) struct PinnedKey {
    /// Fixed by the JWK (`alg`, or `kty`+`crv`), never by a token header.
    pub alg: Alg,
    /// The public key.
    pub key: DecodingKey,
}

impl std::fmt::Debug for PinnedKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PinnedKey")
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

/// Usable keys by `kid`.
pub(crate) type KeySet = HashMap<String, Arc<PinnedKey>>;

/// Parses a JWKS document (`{"keys":[...]}`) into pinned keys. Entries that are not usable
/// signature keys are skipped (and logged); a `kid` listed twice is dropped altogether, since
/// it would be ambiguous which key it names.
pub(crate) fn parse_jwks(bytes: &[u8]) -> Result<KeySet, &'static str> {
    let doc = strict_json::from_slice(bytes).map_err(|_| "JWKS is not JSON (or repeats a key)")?;
    let Some(Value::Array(entries)) = doc.get("keys") else {
        return Err("JWKS has no keys array");
    };
    let mut keys = KeySet::new();
    let mut repeated = HashSet::new();
    for entry in entries {
        match parse_jwk(entry) {
            Ok((kid, key)) => {
                if keys.insert(kid.clone(), Arc::new(key)).is_some() {
                    repeated.insert(kid);
                }
            }
            Err(reason) => {
                let kid = entry
                    .get("kid")
                    .and_then(Value::as_str)
                    .filter(|k| is_plausible_kid(k))
                    .unwrap_or("-");
                tracing::debug!(target: "neonpro::auth", kid, reason, "JWKS entry skipped");
            }
        }
    }
    for kid in repeated {
        tracing::warn!(target: "neonpro::auth", kid = %kid, "JWKS lists a kid twice; ignoring it");
        keys.remove(&kid);
    }
    Ok(keys)
}

/// One JWK → (kid, pinned key), or why it is not usable.
fn parse_jwk(jwk: &Value) -> Result<(String, PinnedKey), &'static str> {
    let str_field = |name: &str| jwk.get(name).and_then(Value::as_str);
    let kid = match jwk.get("kid") {
        Some(Value::String(kid)) if is_plausible_kid(kid) => kid.clone(),
        _ => return Err("missing or malformed kid"),
    };
    match jwk.get("use") {
        None => {}
        Some(u) if u == "sig" => {}
        Some(_) => return Err("use is not sig"),
    }
    if let Some(ops) = jwk.get("key_ops") {
        let verifies = ops
            .as_array()
            .is_some_and(|ops| ops.iter().any(|op| op == "verify"));
        if !verifies {
            return Err("key_ops lacks verify");
        }
    }
    let alg = jwk.get("alg");
    let pinned = match str_field("kty") {
        Some("EC") => {
            if str_field("crv") != Some("P-256") {
                return Err("EC key not on P-256");
            }
            if alg.is_some_and(|a| a != "ES256") {
                return Err("EC key alg is not ES256");
            }
            let (Some(x), Some(y)) = (str_field("x"), str_field("y")) else {
                return Err("EC key lacks x or y");
            };
            if decoded_len(x) != Some(32) || decoded_len(y) != Some(32) {
                return Err("EC coordinates are not 32 bytes");
            }
            let key = DecodingKey::from_ec_components(x, y).map_err(|_| "bad EC key")?;
            PinnedKey {
                alg: Alg::Es256,
                key,
            }
        }
        Some("RSA") => {
            if alg.is_some_and(|a| a != "RS256") {
                return Err("RSA key alg is not RS256");
            }
            let (Some(n), Some(e)) = (str_field("n"), str_field("e")) else {
                return Err("RSA key lacks n or e");
            };
            let n_bytes = URL_SAFE_NO_PAD
                .decode(n)
                .map_err(|_| "RSA n is not base64url")?;
            let significant = n_bytes.iter().skip_while(|b| **b == 0).count();
            if !RSA_MODULUS_BYTES.contains(&significant) {
                return Err("RSA modulus size out of range");
            }
            if !decoded_len(e).is_some_and(|len| (1..=8).contains(&len)) {
                return Err("RSA exponent malformed");
            }
            let key = DecodingKey::from_rsa_components(n, e).map_err(|_| "bad RSA key")?;
            PinnedKey {
                alg: Alg::Rs256,
                key,
            }
        }
        // `oct` above all: a shared secret must never be turned into an HMAC key from a JWKS.
        _ => return Err("kty is not EC or RSA"),
    };
    Ok((kid, pinned))
}

fn decoded_len(b64: &str) -> Option<usize> {
    URL_SAFE_NO_PAD.decode(b64).ok().map(|v| v.len())
}

/// Where keys come from.
enum Source {
    /// Fetched from this URL (or the reason the configured URL is unusable).
    Remote(Result<reqwest::Url, &'static str>),
    /// Loaded once, never refreshed (benchmarks).
    #[cfg(feature = "test-support")]
    Static,
}

/// What the cache knows; replaced wholesale under a short write lock (never held across I/O).
#[derive(Default)]
struct State {
    keys: Option<Arc<KeySet>>,
    /// Completion time of the last successful fetch.
    fetched_at: Option<Instant>,
    /// Completion time of the last fetch, successful or not.
    attempted_at: Option<Instant>,
    /// Whether that last fetch failed.
    failed: bool,
    /// Completed fetches so far: lets a waiter see that a fetch happened while it waited.
    attempts: u64,
}

/// A consistent copy of [`State`] at one instant.
struct Snapshot {
    fresh_keys: Option<Arc<KeySet>>,
    attempted_at: Option<Instant>,
    failed: bool,
    attempts: u64,
}

/// The JWKS cache. Built without I/O; see the module docs for its rules.
pub(crate) struct JwksCache {
    source: Source,
    ttl: Duration,
    refetch_interval: Duration,
    failure_backoff: Duration,
    state: RwLock<State>,
    /// Held for the duration of a fetch: the single-flight gate.
    fetch_gate: tokio::sync::Mutex<()>,
    /// Built on the first fetch (TLS set-up is not free, and cold start stays I/O-free).
    client: OnceLock<Result<reqwest::Client, &'static str>>,
}

impl std::fmt::Debug for JwksCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let url = match &self.source {
            Source::Remote(Ok(url)) => url.as_str(),
            Source::Remote(Err(_)) => "<invalid>",
            #[cfg(feature = "test-support")]
            Source::Static => "<static>",
        };
        f.debug_struct("JwksCache")
            .field("url", &url)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl JwksCache {
    /// A cache that fetches `url` on demand.
    pub(crate) fn remote(url: &str, ttl: Duration, refetch_interval: Duration) -> Self {
        Self::with_source(
            Source::Remote(checked_url(url)),
            ttl,
            refetch_interval,
            State::default(),
        )
    }

    /// A cache primed with `keys`: they count as freshly fetched from `url`, or, without a URL,
    /// as permanent (a benchmark then measures verification only).
    #[cfg(feature = "test-support")]
    pub(crate) fn preloaded(
        url: Option<&str>,
        keys: KeySet,
        ttl: Duration,
        refetch_interval: Duration,
    ) -> Self {
        let source = match url {
            Some(url) => Source::Remote(checked_url(url)),
            None => Source::Static,
        };
        let now = Instant::now();
        let state = State {
            keys: Some(Arc::new(keys)),
            fetched_at: Some(now),
            attempted_at: Some(now),
            failed: false,
            attempts: 1,
        };
        Self::with_source(source, ttl, refetch_interval, state)
    }

    fn with_source(
        source: Source,
        ttl: Duration,
        refetch_interval: Duration,
        state: State,
    ) -> Self {
        Self {
            source,
            ttl,
            refetch_interval,
            failure_backoff: refetch_interval.min(MAX_FAILURE_BACKOFF),
            state: RwLock::new(state),
            fetch_gate: tokio::sync::Mutex::new(()),
            client: OnceLock::new(),
        }
    }

    /// The current keys, fetching them first if there are none or they are older than the TTL.
    pub(crate) async fn fresh_keys(&self) -> Result<Arc<KeySet>, AuthError> {
        let snap = self.snapshot();
        if let Some(keys) = snap.fresh_keys {
            return Ok(keys);
        }
        if snap.failed && within(snap.attempted_at, self.failure_backoff) {
            return Err(AuthError("jwks unavailable"));
        }
        self.refresh(snap.attempts).await;
        self.snapshot()
            .fresh_keys
            .ok_or(AuthError("jwks unavailable"))
    }

    /// The key named `kid`. An unknown kid triggers a refetch only if no fetch completed within
    /// the refetch interval; otherwise it is refused from the cache (negative caching).
    pub(crate) async fn key_for(&self, kid: &str) -> Result<Arc<PinnedKey>, AuthError> {
        if let Some(key) = self.fresh_keys().await?.get(kid) {
            return Ok(Arc::clone(key));
        }
        let snap = self.snapshot();
        if within(snap.attempted_at, self.refetch_interval) {
            return Err(AuthError("unknown kid"));
        }
        self.refresh(snap.attempts).await;
        let keys = self
            .snapshot()
            .fresh_keys
            .ok_or(AuthError("jwks unavailable"))?;
        keys.get(kid).cloned().ok_or(AuthError("unknown kid"))
    }

    fn read(&self) -> RwLockReadGuard<'_, State> {
        // The lock guards plain data that is replaced whole, so a poisoned lock is still usable.
        self.state.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, State> {
        self.state.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn snapshot(&self) -> Snapshot {
        let st = self.read();
        let fresh = match self.source {
            Source::Remote(_) => within(st.fetched_at, self.ttl),
            #[cfg(feature = "test-support")]
            Source::Static => true,
        };
        Snapshot {
            fresh_keys: st.keys.clone().filter(|_| fresh),
            attempted_at: st.attempted_at,
            failed: st.failed,
            attempts: st.attempts,
        }
    }

    /// Fetches once, unless a fetch completed since the caller took its snapshot (`seen`): then
    /// the caller simply uses that result. Callers queue on the gate, so at most one fetch runs.
    async fn refresh(&self, seen: u64) {
        #[cfg(feature = "test-support")]
        if matches!(self.source, Source::Static) {
            return;
        }
        let _gate = self.fetch_gate.lock().await;
        if self.read().attempts != seen {
            return;
        }
        let result = self.fetch().await;
        let now = Instant::now();
        let mut st = self.write();
        st.attempts += 1;
        st.attempted_at = Some(now);
        match result {
            Ok(keys) => {
                tracing::debug!(target: "neonpro::auth", keys = keys.len(), "JWKS fetched");
                st.keys = Some(Arc::new(keys));
                st.fetched_at = Some(now);
                st.failed = false;
            }
            Err(reason) => {
                tracing::warn!(target: "neonpro::auth", reason, "JWKS fetch failed");
                st.failed = true;
            }
        }
    }

    async fn fetch(&self) -> Result<KeySet, &'static str> {
        let url = match &self.source {
            Source::Remote(url) => url.clone()?,
            #[cfg(feature = "test-support")]
            Source::Static => return Err("static key set"),
        };
        let client = self
            .client
            .get_or_init(build_client)
            .as_ref()
            .map_err(|e| *e)?;
        let mut res = client
            .get(url)
            .header(http::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(transport_error)?;
        if res.status() != http::StatusCode::OK {
            return Err("JWKS response status is not 200");
        }
        if res
            .content_length()
            .is_some_and(|n| n > MAX_JWKS_BYTES as u64)
        {
            return Err("JWKS response too large");
        }
        let mut body = Vec::new();
        while let Some(chunk) = res.chunk().await.map_err(transport_error)? {
            if body.len() + chunk.len() > MAX_JWKS_BYTES {
                return Err("JWKS response too large");
            }
            body.extend_from_slice(&chunk);
        }
        parse_jwks(&body)
    }
}

/// Logs a transport failure with its detail (the URL is public; no token is involved) and
/// names it for the caller.
fn transport_error(e: reqwest::Error) -> &'static str {
    tracing::warn!(target: "neonpro::auth", error = %e, "JWKS transport error");
    if e.is_timeout() {
        "JWKS request timed out"
    } else {
        "JWKS request failed"
    }
}

/// Whether `at` lies less than `window` ago.
fn within(at: Option<Instant>, window: Duration) -> bool {
    at.is_some_and(|t| t.elapsed() < window)
}

/// The JWKS URL, if it is safe to fetch: HTTPS, or plain HTTP to a loopback host only.
fn checked_url(raw: &str) -> Result<reqwest::Url, &'static str> {
    let url = reqwest::Url::parse(raw).map_err(|_| "JWKS URL does not parse")?;
    let loopback = match url.host_str() {
        Some(host) if host.eq_ignore_ascii_case("localhost") => true,
        Some(host) => host
            .trim_start_matches('[')
            .trim_end_matches(']')
            .parse::<IpAddr>()
            .is_ok_and(|ip| ip.is_loopback()),
        None => false,
    };
    match url.scheme() {
        "https" => Ok(url),
        "http" if loopback => Ok(url),
        _ => Err("JWKS URL must use https"),
    }
}

/// The HTTP client of JWKS fetches. TLS uses rustls with the `ring` provider passed explicitly
/// (reqwest's `rustls-no-provider` has none, and a process-wide default would be a hidden global)
/// and the Mozilla roots compiled in, so no certificate files are read on a function instance.
fn build_client() -> Result<reqwest::Client, &'static str> {
    let roots = rustls::RootCertStore {
        roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
    };
    let tls = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|_| "TLS set-up failed")?
    .with_root_certificates(roots)
    .with_no_client_auth();
    let client = reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .connect_timeout(FETCH_TIMEOUT)
        .timeout(FETCH_TIMEOUT)
        .user_agent(concat!("neonpro/", env!("CARGO_PKG_VERSION"), " jwks"))
        .build();
    client.map_err(|e| {
        tracing::error!(target: "neonpro::auth", error = %e, "JWKS HTTP client could not be built");
        "HTTP client set-up failed"
    })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    // A real P-256 public key (RFC 7515 appendix A.3).
    const X: &str = "f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU";
    const Y: &str = "x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0";

    fn ec(kid: &str) -> Value {
        json!({"kty": "EC", "crv": "P-256", "x": X, "y": Y, "kid": kid, "alg": "ES256", "use": "sig"})
    }

    fn rsa(kid: &str, modulus_bytes: usize) -> Value {
        let mut n = vec![0xC5u8; modulus_bytes];
        n[modulus_bytes - 1] = 0x01;
        json!({"kty": "RSA", "n": URL_SAFE_NO_PAD.encode(n), "e": "AQAB", "kid": kid, "alg": "RS256", "use": "sig"})
    }

    fn kids(doc: Value) -> Vec<String> {
        let mut k: Vec<String> = parse_jwks(doc.to_string().as_bytes())
            .unwrap()
            .into_keys()
            .collect();
        k.sort();
        k
    }

    #[test]
    fn ec_and_rsa_signature_keys_are_pinned_to_their_algorithm() {
        let set = parse_jwks(
            json!({"keys": [ec("e1"), rsa("r1", 256)]})
                .to_string()
                .as_bytes(),
        )
        .unwrap();
        assert_eq!(set["e1"].alg, Alg::Es256);
        assert_eq!(set["r1"].alg, Alg::Rs256);
        // Without `alg` the algorithm follows from kty (+crv).
        let mut bare = ec("e2");
        bare.as_object_mut().unwrap().remove("alg");
        bare.as_object_mut().unwrap().remove("use");
        assert_eq!(
            parse_jwks(json!({"keys": [bare]}).to_string().as_bytes()).unwrap()["e2"].alg,
            Alg::Es256
        );
    }

    #[test]
    fn symmetric_and_unsupported_keys_never_become_keys() {
        let oct = json!({"kty": "oct", "k": "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA", "kid": "o1", "alg": "HS256"});
        let okp = json!({"kty": "OKP", "crv": "Ed25519", "x": X, "kid": "d1"});
        let p384 = json!({"kty": "EC", "crv": "P-384", "x": X, "y": Y, "kid": "p1"});
        assert!(kids(json!({"keys": [oct, okp, p384, ec("e1")]})) == ["e1"]);
    }

    #[test]
    fn keys_not_meant_for_signatures_or_with_a_foreign_alg_are_skipped() {
        let mut enc = ec("enc");
        enc["use"] = json!("enc");
        let mut ops = ec("ops");
        ops["key_ops"] = json!(["encrypt"]);
        let mut es384 = ec("es384");
        es384["alg"] = json!("ES384");
        let mut hs_alg = ec("hs");
        hs_alg["alg"] = json!("HS256");
        let mut ps = rsa("ps", 256);
        ps["alg"] = json!("PS256");
        assert!(kids(json!({"keys": [enc, ops, es384, hs_alg, ps, ec("ok")]})) == ["ok"]);
    }

    #[test]
    fn weak_or_malformed_key_material_is_skipped() {
        let mut short_x = ec("short");
        short_x["x"] = json!("AAAA");
        let mut no_kid = ec("x");
        no_kid.as_object_mut().unwrap().remove("kid");
        let mut bad_kid = ec("x");
        bad_kid["kid"] = json!("a\u{0}b");
        assert!(
            kids(
                json!({"keys": [short_x, no_kid, bad_kid, rsa("rsa1024", 128), rsa("rsa2048", 256)]})
            ) == ["rsa2048"]
        );
    }

    #[test]
    fn a_kid_listed_twice_is_dropped() {
        assert!(kids(json!({"keys": [ec("same"), rsa("same", 256), ec("other")]})) == ["other"]);
    }

    #[test]
    fn documents_without_a_keys_array_are_refused() {
        assert!(parse_jwks(b"{}").is_err());
        assert!(parse_jwks(br#"{"keys":{}}"#).is_err());
        assert!(parse_jwks(br#"{"keys":[],"keys":[]}"#).is_err());
        assert!(parse_jwks(b"not json").is_err());
        assert!(parse_jwks(br#"{"keys":[]}"#).unwrap().is_empty());
    }

    #[test]
    fn only_https_or_loopback_http_urls_are_fetched() {
        assert!(checked_url("https://abc.supabase.co/auth/v1/.well-known/jwks.json").is_ok());
        assert!(checked_url("http://127.0.0.1:54321/auth/v1/.well-known/jwks.json").is_ok());
        assert!(checked_url("http://localhost:54321/x").is_ok());
        assert!(checked_url("http://[::1]:54321/x").is_ok());
        assert!(checked_url("http://abc.supabase.co/x").is_err());
        assert!(checked_url("http://127.0.0.1.evil.example/x").is_err());
        assert!(checked_url("file:///etc/passwd").is_err());
        assert!(checked_url("not a url").is_err());
    }
}
