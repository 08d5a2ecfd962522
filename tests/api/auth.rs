//! Token verification: `neonpro::auth::Verifier` against every attack group of
//! `reference/security.md` §3.3, plus the happy paths, key rotation, JWKS refetch limits and
//! JWKS outages, and the 401s as a client sees them through the in-process app.
//!
//! Keys come from `FakeSupabaseJwks`, a real HTTP server on 127.0.0.1 standing in for Supabase
//! Auth's JWKS endpoint; it counts requests, so "never fetched" and "fetched at most once" are
//! asserted on what actually reached the network. Rejections assert the logged reason, so each
//! test proves the token failed for the intended rule and not by accident.

use std::time::{Duration, Instant};

use axum::body::Body;
use futures::future::join_all;
use http::Request;
use jsonwebtoken::Algorithm;
use neonpro::auth::{AuthError, Verifier};
use neonpro::config::DEV_JWT_SECRET;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::support::jwks::{Behaviour, FakeSupabaseJwks};
use crate::support::tokens::{EsKey, RsKey, TokenBuilder, b64, now, sign_raw, unb64};
use crate::support::{self, TestApp};

const ES_KID: &str = "5b7b9a64-2f8e-4c1d-9a3b-6e0f4d2c1a90";
const RS_KID: &str = "c0a8f3e2-71d4-4b6a-8e95-2d3f1b0c9e87";
/// A legacy project JWT secret (≥ 32 bytes), distinct from the development default.
const HS_SECRET: &str = "legacy-project-jwt-secret-for-tests-0123456789";

/// The order n of the P-256 group.
const P256_N: [u8; 32] = [
    0xFF, 0xFF, 0xFF, 0xFF, 0x00, 0x00, 0x00, 0x00, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF,
    0xFF, //
    0xBC, 0xE6, 0xFA, 0xAD, 0xA7, 0x17, 0x9E, 0x84, 0xF3, 0xB9, 0xCA, 0xC2, 0xFC, 0x63, 0x25, 0x51,
];

/// A Supabase project as the verifier sees it: a JWKS publishing one ES256 and one RS256
/// signing key, and a verifier configured for it.
struct Project {
    jwks: FakeSupabaseJwks,
    es: EsKey,
    rs: RsKey,
    issuer: String,
    verifier: Verifier,
}

impl Project {
    /// Starts the fake JWKS and builds a verifier with `SUPABASE_JWKS_URL` pointing at it, plus
    /// `settings` (e.g. the legacy secret).
    async fn start(settings: &[(&str, &str)]) -> Self {
        let es = EsKey::generate();
        let rs = RsKey::fixed();
        let jwks = FakeSupabaseJwks::start(vec![es.jwk(ES_KID), rs.jwk(RS_KID)]).await;
        let url = jwks.url();
        let mut all = vec![("SUPABASE_JWKS_URL", url.as_str())];
        all.extend_from_slice(settings);
        let cfg = support::config(&all);
        let verifier = Verifier::new(&cfg.auth);
        Self {
            jwks,
            es,
            rs,
            issuer: cfg.auth.issuer,
            verifier,
        }
    }

    /// A valid user token for this project, ready to be altered and signed.
    fn token(&self) -> TokenBuilder {
        TokenBuilder::new(&self.issuer)
    }

    /// A valid ES256 token.
    fn es256(&self) -> String {
        self.token().sign_es256(&self.es, ES_KID)
    }

    async fn reject(&self, token: &str) -> &'static str {
        rejection(&self.verifier, token).await
    }
}

/// The reason `token` was rejected; fails the test if it was accepted.
async fn rejection(verifier: &Verifier, token: &str) -> &'static str {
    match verifier.verify(token).await {
        Ok(claims) => panic!(
            "accepted a token that must be rejected (sub {})",
            claims.sub
        ),
        Err(AuthError(reason)) => reason,
    }
}

/// Splits a compact token into its three segments.
fn segments(token: &str) -> (&str, &str, &str) {
    let (header, rest) = token.split_once('.').unwrap();
    let (payload, signature) = rest.split_once('.').unwrap();
    (header, payload, signature)
}

/// Polls `check` (every 100 ms) until it returns true; the generous deadline only stops a hung
/// test, it is not a speed assertion.
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check().await {
        assert!(Instant::now() < deadline, "never happened: {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

// ---------------------------------------------------------------------------------------------
// Happy paths

#[tokio::test]
async fn es256_token_signed_with_a_published_key_is_accepted_with_its_claims() {
    let p = Project::start(&[]).await;
    let user = Uuid::new_v4();
    let session = Uuid::new_v4();
    let builder = p
        .token()
        .sub(user)
        .claim("session_id", session.to_string())
        .claim("aal", "aal2");
    let token = builder.sign_es256(&p.es, ES_KID);

    let claims = p.verifier.verify(&token).await.expect("valid ES256 token");

    assert_eq!(claims.sub, user);
    assert_eq!(claims.session_id, Some(session));
    assert_eq!(claims.aal.as_deref(), Some("aal2"));
    assert_eq!(
        claims.amr.as_ref().and_then(Value::as_array).map(Vec::len),
        Some(1)
    );
    assert!(!claims.is_anonymous);
    assert_eq!(
        claims.raw,
        serde_json::from_str::<Value>(&builder.payload_json()).unwrap()
    );
}

#[tokio::test]
async fn rs256_token_signed_with_a_published_key_is_accepted() {
    let p = Project::start(&[]).await;
    let user = Uuid::new_v4();

    let claims = p
        .verifier
        .verify(&p.token().sub(user).sign_rs256(&p.rs, RS_KID))
        .await
        .expect("valid RS256 token");

    assert_eq!(claims.sub, user);
}

#[tokio::test]
async fn hs256_token_is_accepted_when_the_legacy_secret_is_configured() {
    // Development defaults without a JWKS URL: the local stack's well-known secret.
    let cfg = support::config(&[]);
    let dev = Verifier::new(&cfg.auth);
    let user = Uuid::new_v4();
    let claims = dev
        .verify(
            &TokenBuilder::new(&cfg.auth.issuer)
                .sub(user)
                .sign_hs256(DEV_JWT_SECRET),
        )
        .await
        .expect("dev token");
    assert_eq!(claims.sub, user);

    // A project in migration: JWKS and the legacy secret side by side.
    let p = Project::start(&[("SUPABASE_JWT_SECRET", HS_SECRET)]).await;
    p.verifier
        .verify(&p.token().sign_hs256(HS_SECRET))
        .await
        .expect("legacy HS256 token");
    p.verifier
        .verify(&p.es256())
        .await
        .expect("ES256 token next to it");
    assert_eq!(
        p.reject(
            &p.token()
                .sign_hs256("another-secret-that-is-also-32-bytes-long")
        )
        .await,
        "bad signature"
    );
}

#[tokio::test]
async fn hs256_token_is_rejected_when_no_secret_is_configured() {
    let p = Project::start(&[]).await;

    assert_eq!(
        p.reject(&p.token().sign_hs256(HS_SECRET)).await,
        "HS256 not configured"
    );
    assert_eq!(
        p.reject(&p.token().sign_hs256(DEV_JWT_SECRET)).await,
        "HS256 not configured"
    );
}

#[tokio::test]
async fn anonymous_users_are_verified_and_marked_for_the_extractor_to_refuse() {
    let p = Project::start(&[]).await;

    let claims = p
        .verifier
        .verify(
            &p.token()
                .claim("is_anonymous", true)
                .sign_es256(&p.es, ES_KID),
        )
        .await
        .expect("anonymous token");

    assert!(claims.is_anonymous);
}

#[tokio::test]
async fn nothing_is_fetched_before_the_first_verification_and_concurrent_ones_share_one_fetch() {
    let p = Project::start(&[]).await;
    assert_eq!(
        p.jwks.jwks_requests(),
        0,
        "building the verifier must not touch the network"
    );
    let tokens: Vec<String> = (0..16).map(|_| p.es256()).collect();

    let results = join_all(tokens.iter().map(|t| p.verifier.verify(t))).await;

    assert!(results.iter().all(Result::is_ok));
    assert_eq!(
        p.jwks.jwks_requests(),
        1,
        "one in-flight fetch serves every waiting verification"
    );
    p.verifier
        .verify(&p.es256())
        .await
        .expect("served from the cache");
    assert_eq!(p.jwks.jwks_requests(), 1);
}

// ---------------------------------------------------------------------------------------------
// 1. alg none

#[tokio::test]
async fn alg_none_in_any_casing_is_rejected() {
    let p = Project::start(&[("SUPABASE_JWT_SECRET", HS_SECRET)]).await;
    let b = p.token();

    for alg in ["none", "None", "nOnE", "NONE", ""] {
        assert_eq!(
            p.reject(&b.with_signature(alg, None, "")).await,
            "empty signature",
            "{alg:?}"
        );
        assert_eq!(
            p.reject(&b.with_signature(alg, Some(ES_KID), "")).await,
            "empty signature",
            "{alg:?}"
        );
        assert_eq!(
            p.reject(&b.with_signature(alg, Some(ES_KID), &b64("sig")))
                .await,
            "alg none",
            "{alg:?}"
        );
        // Even a genuine signature does not make a `none` header acceptable.
        assert_eq!(
            p.reject(&b.clone().header("alg", alg).sign_es256(&p.es, ES_KID))
                .await,
            "alg none",
            "{alg:?}"
        );
    }
    assert_eq!(p.jwks.jwks_requests(), 0, "no key was ever looked up");
}

// ---------------------------------------------------------------------------------------------
// 2. HS256 signed with the public key

#[tokio::test]
async fn hs256_signed_with_public_key_bytes_is_rejected() {
    let p = Project::start(&[("SUPABASE_JWT_SECRET", HS_SECRET)]).await;
    let without_secret = Project::start(&[]).await;
    let materials: Vec<(&str, Vec<u8>)> = vec![
        ("EC PEM", p.es.public_pem().into_bytes()),
        ("EC DER", p.es.public_der()),
        ("EC SEC1", p.es.public_sec1()),
        ("EC JWK JSON", p.es.jwk(ES_KID).to_string().into_bytes()),
        ("RSA PEM", p.rs.public_pem().into_bytes()),
        ("RSA DER", p.rs.public_der()),
        ("RSA JWK JSON", p.rs.jwk(RS_KID).to_string().into_bytes()),
    ];

    for (what, key_bytes) in &materials {
        let b = p.token();
        for kid in [ES_KID, RS_KID] {
            let forged = b.sign_hs256_bytes(key_bytes, Some(kid));
            assert_eq!(
                p.reject(&forged).await,
                "HS256 token names a JWKS key",
                "{what}"
            );
            assert_eq!(
                without_secret.reject(&forged).await,
                "HS256 not configured",
                "{what}"
            );
        }
        // Without a kid the token can only be checked against the legacy secret, which differs.
        assert_eq!(
            p.reject(&b.sign_hs256_bytes(key_bytes, None)).await,
            "bad signature",
            "{what}"
        );
    }
}

#[tokio::test]
async fn a_symmetric_key_published_in_the_jwks_never_becomes_an_hmac_key() {
    let leaked = b"an-oct-key-published-in-the-jwks-by-mistake-32b";
    let es = EsKey::generate();
    let oct = json!({"kty": "oct", "kid": "oct-1", "alg": "HS256", "use": "sig", "k": b64(leaked)});
    let jwks = FakeSupabaseJwks::start(vec![oct, es.jwk(ES_KID)]).await;
    let url = jwks.url();

    for (settings, expected) in [
        (
            vec![("SUPABASE_JWKS_URL", url.as_str())],
            "HS256 not configured",
        ),
        (
            vec![
                ("SUPABASE_JWKS_URL", url.as_str()),
                ("SUPABASE_JWT_SECRET", HS_SECRET),
            ],
            "bad signature",
        ),
    ] {
        let cfg = support::config(&settings);
        let v = Verifier::new(&cfg.auth);
        let b = TokenBuilder::new(&cfg.auth.issuer);
        assert_eq!(
            rejection(&v, &b.sign_hs256_bytes(leaked, Some("oct-1"))).await,
            expected
        );
        assert_eq!(
            rejection(&v, &b.sign_es256(&es, "oct-1")).await,
            "unknown kid"
        );
        v.verify(&b.sign_es256(&es, ES_KID))
            .await
            .expect("the EC key of the same set still works");
    }
}

// ---------------------------------------------------------------------------------------------
// 3. Right kid, swapped alg

#[tokio::test]
async fn the_right_kid_with_a_swapped_alg_is_rejected() {
    let p = Project::start(&[("SUPABASE_JWT_SECRET", HS_SECRET)]).await;
    let b = p.token();

    // Each key verifies only its own algorithm.
    assert_eq!(
        p.reject(&b.sign_rs256(&p.rs, ES_KID)).await,
        "alg does not match the key"
    );
    assert_eq!(
        p.reject(&b.sign_es256(&p.es, RS_KID)).await,
        "alg does not match the key"
    );
    assert_eq!(
        p.reject(&b.clone().header("alg", "RS256").sign_es256(&p.es, ES_KID))
            .await,
        "alg does not match the key"
    );
    // HS256 with a JWKS kid, signed with the (configured) legacy secret or carrying the EC signature.
    assert_eq!(
        p.reject(&b.sign_hs256_bytes(HS_SECRET.as_bytes(), Some(ES_KID)))
            .await,
        "HS256 token names a JWKS key"
    );
    assert_eq!(
        p.reject(&b.clone().header("alg", "HS256").sign_es256(&p.es, ES_KID))
            .await,
        "HS256 token names a JWKS key"
    );
    // Algorithms outside the allow-list, whatever the key.
    for alg in [
        "ES384", "ES512", "PS256", "RS512", "HS384", "HS512", "EdDSA", "es256",
    ] {
        assert_eq!(
            p.reject(&b.clone().header("alg", alg).sign_es256(&p.es, ES_KID))
                .await,
            "alg not allowed",
            "{alg}"
        );
    }
    p.verifier
        .verify(&b.sign_es256(&p.es, ES_KID))
        .await
        .expect("the unaltered token");
}

// ---------------------------------------------------------------------------------------------
// 4. Unknown and odd kids

#[tokio::test]
async fn unknown_and_odd_kids_are_rejected() {
    let p = Project::start(&[]).await;
    let b = p.token();

    for kid in [
        "no-such-key",
        "../../../../etc/passwd",
        "'",
        "';--",
        "%00",
        "\\u0000",
        &ES_KID.to_uppercase(),
    ] {
        assert_eq!(
            p.reject(&b.sign_es256(&p.es, kid)).await,
            "unknown kid",
            "{kid:?}"
        );
    }
    for kid in ["nul\0byte", "' OR '1'='1", "", "tab\tkid"] {
        assert_eq!(
            p.reject(&b.sign_es256(&p.es, kid)).await,
            "malformed kid",
            "{kid:?}"
        );
    }
    assert_eq!(
        p.reject(&b.clone().header("kid", 42).sign_es256(&p.es, ES_KID))
            .await,
        "malformed kid"
    );
    assert_eq!(
        p.reject(&b.sign_es256(&p.es, &"k".repeat(10 * 1024))).await,
        "token too large"
    );
    assert_eq!(
        p.reject(
            &b.clone()
                .header("kid", Value::Null)
                .sign_es256(&p.es, ES_KID)
        )
        .await,
        "kid missing"
    );
    assert!(
        p.jwks.jwks_requests() <= 2,
        "unknown kids caused {} fetches",
        p.jwks.jwks_requests()
    );
}

// ---------------------------------------------------------------------------------------------
// 5. jku / x5u / jwk / x5c

#[tokio::test]
async fn key_source_headers_are_refused_and_never_fetched() {
    let p = Project::start(&[]).await;
    let attacker_key = EsKey::generate();
    let attacker = FakeSupabaseJwks::start(vec![attacker_key.jwk("attacker")]).await;
    let b = p.token();
    let cases = [
        ("jku", json!(attacker.url())),
        ("x5u", json!(attacker.url())),
        ("jwk", attacker_key.jwk("attacker")),
        ("x5c", json!([b64(attacker_key.public_der())])),
    ];

    for (param, value) in cases {
        for kid in ["attacker", ES_KID] {
            let forged = b
                .clone()
                .header(param, value.clone())
                .sign_es256(&attacker_key, kid);
            assert_eq!(
                p.reject(&forged).await,
                "header names a key source",
                "{param} kid={kid}"
            );
        }
        // Refused outright: even with the project's own valid signature.
        let genuine = b
            .clone()
            .header(param, value.clone())
            .sign_es256(&p.es, ES_KID);
        assert_eq!(
            p.reject(&genuine).await,
            "header names a key source",
            "{param}"
        );
    }

    assert_eq!(
        attacker.total_requests(),
        0,
        "the attacker's URL must never be contacted"
    );
    assert_eq!(p.jwks.jwks_requests(), 0);
}

// ---------------------------------------------------------------------------------------------
// 6. crit

#[tokio::test]
async fn critical_header_extensions_are_rejected() {
    let p = Project::start(&[]).await;
    let b = p.token();

    for crit in [json!(["x"]), json!(["exp"]), json!(["b64"]), json!([])] {
        assert_eq!(
            p.reject(
                &b.clone()
                    .header("crit", crit.clone())
                    .sign_es256(&p.es, ES_KID)
            )
            .await,
            "crit header",
            "{crit}"
        );
    }
    let unencoded = b
        .clone()
        .header("b64", false)
        .header("crit", json!(["b64"]))
        .sign_es256(&p.es, ES_KID);
    assert_eq!(p.reject(&unencoded).await, "crit header");
    assert_eq!(
        p.reject(&b.clone().header("b64", false).sign_es256(&p.es, ES_KID))
            .await,
        "unsupported header parameter"
    );
}

#[tokio::test]
async fn typ_other_than_jwt_is_rejected() {
    let p = Project::start(&[]).await;
    let b = p.token();

    p.verifier
        .verify(&b.clone().header("typ", "jwt").sign_es256(&p.es, ES_KID))
        .await
        .expect("typ is case-insensitive");
    p.verifier
        .verify(
            &b.clone()
                .header("typ", Value::Null)
                .sign_es256(&p.es, ES_KID),
        )
        .await
        .expect("typ is optional");
    for typ in [json!("at+jwt"), json!("JWS"), json!(1)] {
        assert_eq!(
            p.reject(
                &b.clone()
                    .header("typ", typ.clone())
                    .sign_es256(&p.es, ES_KID)
            )
            .await,
            "typ is not JWT",
            "{typ}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 7. Time claims

#[tokio::test]
async fn expired_premature_and_mistyped_time_claims_are_rejected() {
    let p = Project::start(&[]).await;
    let cases = [
        (p.token().expires_in(-3600), "expired"),
        (p.token().expires_in(-120), "expired"),
        (p.token().claim("nbf", now() + 3600), "not yet valid"),
        (p.token().without("exp"), "exp missing"),
        (p.token().claim("exp", "never"), "exp is not a number"),
        (p.token().claim("exp", "9999999999"), "exp is not a number"),
        (p.token().claim("exp", Value::Null), "exp is not a number"),
        (
            p.token().claim("exp", json!([now() + 3600])),
            "exp is not a number",
        ),
        (p.token().claim("nbf", "9999999999"), "nbf is not a number"),
        (p.token().claim("nbf", "0"), "nbf is not a number"),
        (p.token().claim("iat", "0"), "iat is not a number"),
    ];

    for (builder, reason) in cases {
        assert_eq!(
            p.reject(&builder.sign_es256(&p.es, ES_KID)).await,
            reason,
            "{}",
            builder.payload_json()
        );
    }
    // Claim checks run before any key lookup: none of these cost a JWKS fetch.
    assert_eq!(p.jwks.jwks_requests(), 0);
    p.verifier
        .verify(&p.token().claim("nbf", now()).sign_es256(&p.es, ES_KID))
        .await
        .expect("nbf now is fine");
}

// ---------------------------------------------------------------------------------------------
// 8. iss and aud

#[tokio::test]
async fn a_wrong_or_missing_issuer_is_rejected() {
    let p = Project::start(&[]).await;

    for iss in [
        json!("https://otherproject.supabase.co/auth/v1"),
        json!("supabase"),
        json!(format!("{}/", p.issuer)),
        json!([p.issuer.clone()]),
    ] {
        assert_eq!(
            p.reject(
                &p.token()
                    .claim("iss", iss.clone())
                    .sign_es256(&p.es, ES_KID)
            )
            .await,
            "wrong issuer",
            "{iss}"
        );
    }
    assert_eq!(
        p.reject(&p.token().without("iss").sign_es256(&p.es, ES_KID))
            .await,
        "iss missing"
    );
}

#[tokio::test]
async fn an_audience_other_than_authenticated_is_rejected() {
    let p = Project::start(&[]).await;

    for aud in [
        json!("anon"),
        json!([]),
        json!(["x"]),
        json!(["anon"]),
        json!("authenticated "),
        json!(7),
    ] {
        assert_eq!(
            p.reject(
                &p.token()
                    .claim("aud", aud.clone())
                    .sign_es256(&p.es, ES_KID)
            )
            .await,
            "wrong audience",
            "{aud}"
        );
    }
    assert_eq!(
        p.reject(&p.token().without("aud").sign_es256(&p.es, ES_KID))
            .await,
        "aud missing"
    );
    p.verifier
        .verify(
            &p.token()
                .claim("aud", json!(["authenticated", "other"]))
                .sign_es256(&p.es, ES_KID),
        )
        .await
        .expect("an array containing authenticated is fine");
}

// ---------------------------------------------------------------------------------------------
// 9. Supabase's own API keys

#[tokio::test]
async fn the_anon_and_service_role_api_keys_are_not_accepted_as_user_tokens() {
    // Signed with the configured secret: only the claim rules stand in their way.
    let p = Project::start(&[("SUPABASE_JWT_SECRET", HS_SECRET)]).await;

    for role in ["anon", "service_role"] {
        let api_key = TokenBuilder::supabase_api_key(role);
        assert_eq!(
            p.reject(&api_key.sign_hs256(HS_SECRET)).await,
            "wrong issuer",
            "{role}"
        );
        // Each further rule would still refuse it, one missing piece at a time.
        let ours = api_key.claim("iss", p.issuer.as_str());
        assert_eq!(
            p.reject(&ours.sign_hs256(HS_SECRET)).await,
            "aud missing",
            "{role}"
        );
        let with_aud = ours.claim("aud", "authenticated");
        assert_eq!(
            p.reject(&with_aud.sign_hs256(HS_SECRET)).await,
            "sub missing",
            "{role}"
        );
        let with_sub = with_aud.sub(Uuid::new_v4());
        assert_eq!(
            p.reject(&with_sub.sign_hs256(HS_SECRET)).await,
            "role is not authenticated",
            "{role}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// 10. Privileged roles

#[tokio::test]
async fn privileged_or_other_roles_in_validly_signed_tokens_are_rejected() {
    let p = Project::start(&[("SUPABASE_JWT_SECRET", HS_SECRET)]).await;

    for role in [
        json!("service_role"),
        json!("postgres"),
        json!("supabase_admin"),
        json!("anon"),
        json!("Authenticated"),
        json!(null),
    ] {
        let b = p.token().claim("role", role.clone());
        assert_eq!(
            p.reject(&b.sign_es256(&p.es, ES_KID)).await,
            "role is not authenticated",
            "{role}"
        );
        assert_eq!(
            p.reject(&b.sign_hs256(HS_SECRET)).await,
            "role is not authenticated",
            "{role}"
        );
    }
    assert_eq!(
        p.reject(&p.token().without("role").sign_es256(&p.es, ES_KID))
            .await,
        "role is not authenticated"
    );
}

#[tokio::test]
async fn a_sub_that_is_not_a_uuid_is_rejected() {
    let p = Project::start(&[]).await;

    for sub in [
        json!("admin"),
        json!(""),
        json!("00000000-0000-0000-0000-000000000000"),
        json!(1),
    ] {
        assert_eq!(
            p.reject(
                &p.token()
                    .claim("sub", sub.clone())
                    .sign_es256(&p.es, ES_KID)
            )
            .await,
            "sub is not a UUID",
            "{sub}"
        );
    }
    assert_eq!(
        p.reject(&p.token().without("sub").sign_es256(&p.es, ES_KID))
            .await,
        "sub missing"
    );
}

// ---------------------------------------------------------------------------------------------
// 11. ECDSA signature values, malformed segments

#[tokio::test]
async fn zero_out_of_range_and_wrongly_sized_ecdsa_signatures_are_rejected() {
    let p = Project::start(&[]).await;
    let token = p.es256();
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = unb64(sig);
    let (r, s) = sig.split_at(32);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("r = s = 0 (psychic signature)", vec![0; 64]),
        ("r = 0", [&[0; 32], s].concat()),
        ("s = 0", [r, &[0; 32]].concat()),
        ("s = n", [r, &P256_N[..]].concat()),
        ("r = n", [&P256_N[..], s].concat()),
        ("s = 2^256 - 1", [r, &[0xFF; 32]].concat()),
        ("63 bytes", sig[..63].to_vec()),
        ("65 bytes", [&sig[..], &[0]].concat()),
        ("128 bytes", [&sig[..], &sig[..]].concat()),
        ("ASN.1 DER instead of r||s", der_signature(r, s)),
        ("1 byte", vec![0]),
    ];

    for (what, bytes) in cases {
        assert_eq!(
            p.reject(&format!("{input}.{}", b64(bytes))).await,
            "bad signature",
            "{what}"
        );
    }
    p.verifier
        .verify(&token)
        .await
        .expect("the untouched token");
}

/// Supabase Auth signs ES256 with Go's `crypto/ecdsa`, which does not normalise S: about half of
/// its genuine signatures are "high-S". `(r, n - s)` is the twin of a valid `(r, s)` over the
/// very same header and claims, so it is accepted like its twin; refusing high-S would refuse
/// half of all real Supabase tokens. (High-S values that are not valid, such as s ≥ n, are
/// rejected above.)
#[tokio::test]
async fn the_high_s_twin_of_a_valid_es256_signature_verifies_like_go_signed_tokens() {
    let p = Project::start(&[]).await;
    let token = p.es256();
    let (input, sig) = token.rsplit_once('.').unwrap();
    let sig = unb64(sig);
    let (r, s) = sig.split_at(32);
    let twin = format!("{input}.{}", b64([r, &sub_be(&P256_N, s)].concat()));

    p.verifier.verify(&token).await.expect("original");
    p.verifier.verify(&twin).await.expect("its (r, n - s) twin");
}

#[tokio::test]
async fn truncated_non_base64url_and_extra_segments_are_rejected() {
    let p = Project::start(&[]).await;
    let builder = p.token();
    let token = builder.sign_es256(&p.es, ES_KID);
    let (h, pl, sig) = segments(&token);
    let header_json = builder.header_json("ES256", Some(ES_KID));
    let payload_json = builder.payload_json();
    let cases: Vec<(String, &str)> = vec![
        (
            token[..token.len() - 1].to_owned(),
            "segment is not base64url",
        ),
        (token[..token.len() - 2].to_owned(), "bad signature"),
        (format!("{h}.{pl}"), "not three segments"),
        (format!("{token}."), "not three segments"),
        (format!(".{token}"), "not three segments"),
        (format!("{h}.{pl}.{sig}.{sig}"), "not three segments"),
        (format!("{h}..{pl}.{sig}"), "not three segments"),
        (String::new(), "not three segments"),
        ("..".to_owned(), "empty segment"),
        (format!("{h}+.{pl}.{sig}"), "segment is not base64url"),
        (
            format!("{h}.{pl}.{}", sig.replace(['-', '_'], "/")),
            "segment is not base64url",
        ),
        (format!("{h}.{pl}.{sig}=="), "segment is not base64url"),
        (format!("{h}.{pl}=.{sig}"), "segment is not base64url"),
        (format!(" {token}"), "segment is not base64url"),
        (format!("{token}\n"), "segment is not base64url"),
        (
            format!(
                "{h}.{}.{sig}",
                b64(&payload_json[..payload_json.len() - 10])
            ),
            "payload is not JSON",
        ),
        (
            format!("{}.{pl}.{sig}", b64(&header_json[..header_json.len() - 3])),
            "header is not JSON",
        ),
        (
            format!("{h}.{}.{sig}", b64("[]")),
            "payload is not a JSON object",
        ),
        (
            format!("{}.{pl}.{sig}", b64("\"ES256\"")),
            "header is not a JSON object",
        ),
    ];

    for (bad, reason) in cases {
        assert_eq!(p.reject(&bad).await, reason, "{bad:?}");
    }
    p.verifier
        .verify(&token)
        .await
        .expect("the untouched token");
}

// ---------------------------------------------------------------------------------------------
// 12. Tampering

#[tokio::test]
async fn a_tampered_payload_or_header_with_the_original_signature_is_rejected() {
    let p = Project::start(&[("SUPABASE_JWT_SECRET", HS_SECRET)]).await;
    let victim = p.token();
    let forged_payload = b64(victim
        .clone()
        .sub(Uuid::new_v4())
        .claim("aal", "aal2")
        .payload_json());

    for (alg, token) in [
        ("ES256", victim.sign_es256(&p.es, ES_KID)),
        ("RS256", victim.sign_rs256(&p.rs, RS_KID)),
        ("HS256", victim.sign_hs256(HS_SECRET)),
    ] {
        let (h, pl, sig) = segments(&token);
        assert_eq!(
            p.reject(&format!("{h}.{forged_payload}.{sig}")).await,
            "bad signature",
            "{alg} payload"
        );
        let kid = (alg != "HS256").then_some(if alg == "ES256" { ES_KID } else { RS_KID });
        let other_header = b64(victim.clone().header("typ", "jwt").header_json(alg, kid));
        assert_eq!(
            p.reject(&format!("{other_header}.{pl}.{sig}")).await,
            "bad signature",
            "{alg} header"
        );
        p.verifier.verify(&token).await.expect(alg);
    }
}

// ---------------------------------------------------------------------------------------------
// 13. Duplicate JSON keys

#[tokio::test]
async fn duplicate_keys_in_the_header_or_payload_are_rejected() {
    let p = Project::start(&[]).await;
    let b = p.token();
    let header = b.header_json("ES256", Some(ES_KID));
    let payload = b.payload_json();
    let es = |h: &str, pl: &str| sign_raw(h, pl, p.es.encoding(), Algorithm::ES256);
    // serde_json alone would keep the *last* value; another parser may keep the first.
    let sub_twice = format!(r#"{{"sub":"{}",{}"#, Uuid::new_v4(), &payload[1..]);
    let role_twice = format!(r#"{{"role":"service_role",{}"#, &payload[1..]);
    let escaped_twice = format!(r#"{{"s\u0075b":"{}",{}"#, Uuid::new_v4(), &payload[1..]);
    let alg_twice = format!(r#"{{"alg":"HS256","typ":"JWT","kid":"{ES_KID}","alg":"ES256"}}"#);
    let kid_twice = format!(r#"{{"alg":"ES256","kid":"other","typ":"JWT","kid":"{ES_KID}"}}"#);

    assert_eq!(
        p.reject(&es(&header, &sub_twice)).await,
        "duplicate key in payload"
    );
    assert_eq!(
        p.reject(&es(&header, &role_twice)).await,
        "duplicate key in payload"
    );
    assert_eq!(
        p.reject(&es(&header, &escaped_twice)).await,
        "duplicate key in payload"
    );
    assert_eq!(
        p.reject(&es(&alg_twice, &payload)).await,
        "duplicate key in header"
    );
    assert_eq!(
        p.reject(&es(&kid_twice, &payload)).await,
        "duplicate key in header"
    );
    p.verifier
        .verify(&es(&header, &payload))
        .await
        .expect("the same token without duplicates");
}

// ---------------------------------------------------------------------------------------------
// Size limit

#[tokio::test]
async fn tokens_over_8_kib_are_rejected_before_any_parsing() {
    let p = Project::start(&[]).await;
    let big = p
        .token()
        .claim("pad", "x".repeat(7000))
        .sign_es256(&p.es, ES_KID);
    let fits = p
        .token()
        .claim("pad", "x".repeat(5000))
        .sign_es256(&p.es, ES_KID);
    assert!(big.len() > 8 * 1024 && fits.len() < 8 * 1024);

    assert_eq!(p.reject(&big).await, "token too large");
    assert_eq!(p.reject(&"A".repeat(9000)).await, "token too large");
    assert_eq!(p.jwks.jwks_requests(), 0);
    p.verifier
        .verify(&fits)
        .await
        .expect("a large token under the limit");
}

// ---------------------------------------------------------------------------------------------
// 14. Key rotation and the JWKS cache

#[tokio::test]
async fn a_rotated_out_key_is_accepted_while_published_and_rejected_after_the_cache_refreshes() {
    let (old, new) = (EsKey::generate(), EsKey::generate());
    let jwks = FakeSupabaseJwks::start(vec![old.jwk("old"), new.jwk("new")]).await;
    let url = jwks.url();
    let cfg = support::config(&[
        ("SUPABASE_JWKS_URL", url.as_str()),
        ("JWKS_CACHE_TTL_SECS", "1"),
    ]);
    let v = Verifier::new(&cfg.auth);
    let old_token = TokenBuilder::new(&cfg.auth.issuer).sign_es256(&old, "old");
    let new_token = TokenBuilder::new(&cfg.auth.issuer).sign_es256(&new, "new");
    v.verify(&old_token)
        .await
        .expect("old key, still published");
    v.verify(&new_token).await.expect("new key");

    jwks.set_keys(vec![new.jwk("new")]);

    eventually(
        "the old key drops out once the 1 s cache expires",
        async || v.verify(&old_token).await.is_err(),
    )
    .await;
    assert_eq!(rejection(&v, &old_token).await, "unknown kid");
    v.verify(&new_token).await.expect("new key keeps working");
    assert!(jwks.jwks_requests() >= 2);
}

#[tokio::test]
async fn a_newly_published_kid_is_fetched_on_demand_once_the_refetch_interval_allows() {
    let (current, next) = (EsKey::generate(), EsKey::generate());
    let jwks = FakeSupabaseJwks::start(vec![current.jwk("current")]).await;
    let url = jwks.url();
    let cfg = support::config(&[
        ("SUPABASE_JWKS_URL", url.as_str()),
        ("JWKS_REFETCH_INTERVAL_SECS", "1"),
    ]);
    let v = Verifier::new(&cfg.auth);
    v.verify(&TokenBuilder::new(&cfg.auth.issuer).sign_es256(&current, "current"))
        .await
        .expect("current key");

    jwks.set_keys(vec![current.jwk("current"), next.jwk("next")]);
    let next_token = TokenBuilder::new(&cfg.auth.issuer).sign_es256(&next, "next");

    eventually(
        "the new kid is picked up without waiting for the 10 min TTL",
        async || v.verify(&next_token).await.is_ok(),
    )
    .await;
    assert!(jwks.jwks_requests() >= 2);
}

#[tokio::test]
async fn unknown_kids_cause_at_most_one_refetch_per_interval() {
    let p = Project::start(&[]).await; // default interval: 30 s
    p.verifier.verify(&p.es256()).await.expect("warm-up");
    assert_eq!(p.jwks.jwks_requests(), 1);
    let forged: Vec<String> = (0..40)
        .map(|i| p.token().sign_es256(&p.es, &format!("made-up-{i}")))
        .collect();

    for token in &forged[..20] {
        assert_eq!(p.reject(token).await, "unknown kid");
    }
    let concurrent = join_all(forged[20..].iter().map(|t| p.verifier.verify(t))).await;

    assert!(
        concurrent
            .iter()
            .all(|r| matches!(r, Err(AuthError("unknown kid"))))
    );
    assert!(
        p.jwks.jwks_requests() <= 2,
        "{} fetches for 40 unknown kids",
        p.jwks.jwks_requests()
    );
}

#[tokio::test]
async fn unknown_kids_on_a_cold_verifier_share_the_first_fetch() {
    let p = Project::start(&[]).await;
    let forged: Vec<String> = (0..30)
        .map(|i| p.token().sign_es256(&p.es, &format!("made-up-{i}")))
        .collect();

    let results = join_all(forged.iter().map(|t| p.verifier.verify(t))).await;

    assert!(
        results
            .iter()
            .all(|r| matches!(r, Err(AuthError("unknown kid"))))
    );
    assert!(
        p.jwks.jwks_requests() <= 2,
        "{} fetches",
        p.jwks.jwks_requests()
    );
    p.verifier
        .verify(&p.es256())
        .await
        .expect("the real kid is in the cached set");
}

#[tokio::test]
async fn a_verifier_preloaded_with_a_jwks_verifies_without_any_network() {
    // What a benchmark uses: no JWKS URL, keys given up front, never refetched.
    let cfg = support::config(&[]);
    let (es, rs) = (EsKey::generate(), RsKey::fixed());
    let jwks = json!({"keys": [es.jwk(ES_KID), rs.jwk(RS_KID)]}).to_string();
    let v = Verifier::with_jwks(&cfg.auth, &jwks);
    let b = TokenBuilder::new(&cfg.auth.issuer);

    v.verify(&b.sign_es256(&es, ES_KID))
        .await
        .expect("ES256 from the preloaded set");
    v.verify(&b.sign_rs256(&rs, RS_KID))
        .await
        .expect("RS256 from the preloaded set");
    v.verify(&b.sign_hs256(DEV_JWT_SECRET))
        .await
        .expect("the dev secret still applies");
    assert_eq!(
        rejection(&v, &b.sign_es256(&es, "other")).await,
        "unknown kid"
    );
}

// ---------------------------------------------------------------------------------------------
// JWKS outages: tokens are rejected, never hang

/// Hang guard for verifications against a broken JWKS: far above the 2 s fetch timeout.
const HANG_GUARD: Duration = Duration::from_secs(30);

#[tokio::test]
async fn an_unreachable_jwks_rejects_tokens_instead_of_hanging() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let url = format!("http://127.0.0.1:{port}{}", FakeSupabaseJwks::PATH);
    let cfg = support::config(&[("SUPABASE_JWKS_URL", url.as_str())]);
    let v = Verifier::new(&cfg.auth);
    let token = TokenBuilder::new(&cfg.auth.issuer).sign_es256(&EsKey::generate(), ES_KID);

    let result = tokio::time::timeout(HANG_GUARD, v.verify(&token))
        .await
        .expect("verification must not hang");

    assert_eq!(result.unwrap_err().0, "jwks unavailable");
}

#[tokio::test]
async fn a_jwks_endpoint_that_never_answers_is_abandoned_at_the_fetch_timeout() {
    let p = Project::start(&[]).await;
    p.jwks.set_behaviour(Behaviour::Hang);

    let result = tokio::time::timeout(HANG_GUARD, p.verifier.verify(&p.es256()))
        .await
        .expect("bounded by the fetch timeout");

    assert_eq!(result.unwrap_err().0, "jwks unavailable");
    assert_eq!(p.jwks.jwks_requests(), 1);
    let again = tokio::time::timeout(HANG_GUARD, p.verifier.verify(&p.es256()))
        .await
        .expect("still bounded");
    assert_eq!(again.unwrap_err().0, "jwks unavailable");
}

#[tokio::test]
async fn error_statuses_redirects_and_oversized_or_malformed_key_sets_are_not_trusted() {
    let cases = [
        "500",
        "404",
        "redirect",
        "over 64 KiB",
        "truncated JSON",
        "duplicate keys array",
    ];

    for what in cases {
        let p = Project::start(&[]).await;
        let key = p.es.jwk(ES_KID);
        p.jwks.set_behaviour(match what {
            "500" => Behaviour::Status(500),
            "404" => Behaviour::Status(404),
            "redirect" => Behaviour::RedirectTo(format!("{}/moved/jwks.json", p.jwks.base_url())),
            "over 64 KiB" => Behaviour::Body(
                json!({"keys": [key], "padding": "x".repeat(70 * 1024)}).to_string(),
            ),
            "truncated JSON" => Behaviour::Body("{\"keys\":[".to_owned()),
            _ => Behaviour::Body(format!(r#"{{"keys":[],"keys":[{key}]}}"#)),
        });
        let result = tokio::time::timeout(HANG_GUARD, p.verifier.verify(&p.es256()))
            .await
            .expect("bounded");
        assert_eq!(result.unwrap_err().0, "jwks unavailable", "{what}");
        assert_eq!(
            p.jwks.requests_to("/moved/jwks.json"),
            0,
            "{what}: redirects are not followed"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Through the app: what a client sees

fn bearer(path: &str, token: &str) -> Request<Body> {
    Request::get(path)
        .header("authorization", format!("Bearer {token}"))
        .body(Body::empty())
        .unwrap()
}

#[tokio::test]
async fn the_app_answers_a_bad_token_with_a_generic_401_invalid_token() {
    let app = TestApp::new(&[("SUPABASE_JWT_SECRET", HS_SECRET)]);
    let issuer = app.state.config().auth.issuer.clone();
    let bad_tokens = [
        "not-a-jwt".to_owned(),
        TokenBuilder::new(&issuer)
            .expires_in(-3600)
            .sign_hs256(HS_SECRET),
        TokenBuilder::new(&issuer).sign_hs256(DEV_JWT_SECRET),
        TokenBuilder::new(&issuer).with_signature("none", None, &b64("x")),
        TokenBuilder::supabase_api_key("service_role").sign_hs256(HS_SECRET),
    ];

    for token in &bad_tokens {
        let res = app.send(bearer("/v1/clinics/current", token)).await;

        let problem = res.assert_problem(401, "unauthenticated");
        assert_eq!(
            res.header("www-authenticate"),
            Some(r#"Bearer error="invalid_token""#)
        );
        let body = problem.to_string();
        for reason in [
            "not three segments",
            "expired",
            "bad signature",
            "alg none",
            "wrong issuer",
            "token rejected",
        ] {
            assert!(
                !body.contains(reason),
                "the rejection reason must not reach the client: {body}"
            );
        }
    }
}

#[tokio::test]
async fn the_app_answers_a_missing_token_with_401() {
    let app = TestApp::new(&[]);

    let res = app.get("/v1/clinics/current").await;

    res.assert_problem(401, "unauthenticated");
    assert_eq!(res.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn the_app_lets_a_valid_development_token_past_authentication() {
    // No database in these tests: the handler then answers 503 (or 200 with a database), never
    // the policy's 401.
    let app = TestApp::new(&[]);
    let token = TokenBuilder::new(&app.state.config().auth.issuer).sign_hs256(DEV_JWT_SECRET);

    let res = app.send(bearer("/v1/me", &token)).await;

    let body = String::from_utf8_lossy(&res.body);
    assert!(
        !matches!(res.status.as_u16(), 401 | 404),
        "status {}: {body}",
        res.status
    );
    assert!(res.header("www-authenticate").is_none());
}

// ---------------------------------------------------------------------------------------------
// Helpers for signature arithmetic

/// `a - b` for 32-byte big-endian integers with `a ≥ b`.
fn sub_be(a: &[u8; 32], b: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(a[i]) - i16::from(b[i]) - borrow;
        borrow = i16::from(d < 0);
        if d < 0 {
            d += 256;
        }
        out[i] = d as u8;
    }
    out
}

/// The ASN.1 DER `SEQUENCE { INTEGER r, INTEGER s }` form of an ECDSA signature, which JWS
/// forbids (RFC 7518 §3.4 wants the fixed 64-byte `r || s`).
fn der_signature(r: &[u8], s: &[u8]) -> Vec<u8> {
    fn int(v: &[u8]) -> Vec<u8> {
        let v: Vec<u8> = v.iter().copied().skip_while(|b| *b == 0).collect();
        let body = if v.first().is_some_and(|b| b & 0x80 != 0) {
            [&[0u8][..], &v].concat()
        } else {
            v
        };
        [&[0x02, body.len() as u8][..], &body].concat()
    }
    let content = [int(r), int(s)].concat();
    [&[0x30, content.len() as u8][..], &content].concat()
}
