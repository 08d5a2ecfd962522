//! The request pipeline, in-process: security headers everywhere, CORS, request ids, problem
//! bodies in both languages, 404/405/413/415/504, panic recovery and compression.

use axum::body::Body;
use http::Request;

use crate::support::TestApp;
use tower::ServiceExt;

const ORIGIN: &str = "https://app.neonpro.com.br";

fn app() -> TestApp {
    TestApp::with_test_routes(&[(
        "ALLOWED_ORIGINS",
        "https://app.neonpro.com.br,http://localhost:5173",
    )])
}

fn assert_security_headers(res: &crate::support::TestResponse) {
    let expect = [
        (
            "strict-transport-security",
            "max-age=31536000; includeSubDomains; preload",
        ),
        ("x-content-type-options", "nosniff"),
        ("x-frame-options", "DENY"),
        (
            "content-security-policy",
            "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        ),
        ("referrer-policy", "no-referrer"),
        ("cross-origin-opener-policy", "same-origin"),
        ("cross-origin-resource-policy", "same-origin"),
        ("cache-control", "no-store"),
    ];
    for (name, value) in expect {
        assert_eq!(res.header(name), Some(value), "{name} on {}", res.status);
    }
    let pp = res
        .header("permissions-policy")
        .expect("permissions-policy");
    for feature in [
        "camera=()",
        "microphone=()",
        "geolocation=()",
        "payment=()",
        "usb=()",
    ] {
        assert!(pp.contains(feature), "permissions-policy lacks {feature}");
    }
    assert!(res.header("server").is_none() && res.header("x-powered-by").is_none());
    assert!(res.header("x-request-id").is_some_and(|v| !v.is_empty()));
}

#[tokio::test]
async fn liveness_answers_with_status_request_id_and_timestamp() {
    let res = app().get("/health").await;
    assert_eq!(res.status, 200);
    let body = res.json();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["requestId"], res.header("x-request-id").unwrap());
    assert!(chrono::DateTime::parse_from_rfc3339(body["timestamp"].as_str().unwrap()).is_ok());
    assert_security_headers(&res);
}

#[tokio::test]
async fn security_headers_are_on_every_kind_of_response() {
    let app = app();
    let mut responses = vec![
        app.get("/health").await,
        app.get("/nope").await,
        app.send(Request::delete("/health").body(Body::empty()).unwrap())
            .await,
        app.get("/__test/panic").await,
        app.get("/v1/me").await,
    ];
    responses.push(
        app.send(
            Request::options("/v1/me")
                .header("origin", ORIGIN)
                .header("access-control-request-method", "GET")
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    );
    responses.push(
        app.send(
            Request::options("/v1/me")
                .header("origin", "https://evil.example")
                .header("access-control-request-method", "GET")
                .body(Body::empty())
                .unwrap(),
        )
        .await,
    );
    for res in &responses {
        assert_security_headers(res);
    }
}

#[tokio::test]
async fn request_id_is_kept_when_well_formed_and_replaced_otherwise() {
    let app = app();
    let res = app
        .send(
            Request::get("/health")
                .header("x-request-id", "client-abc_123")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.header("x-request-id"), Some("client-abc_123"));
    assert_eq!(res.json()["requestId"], "client-abc_123");

    for bad in ["has space", &"x".repeat(129)] {
        let res = app
            .send(
                Request::get("/health")
                    .header("x-request-id", bad)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        let id = res.header("x-request-id").unwrap();
        assert_ne!(id, bad);
        let uuid = uuid::Uuid::parse_str(id).expect("a UUID");
        assert_eq!(uuid.get_version_num(), 7);
    }
}

#[tokio::test]
async fn unknown_routes_are_404_problems_in_portuguese_by_default_and_english_on_request() {
    let app = app();
    let pt = app.get("/v1/nothing-here").await;
    let p = pt.assert_problem(404, "not_found");
    assert_eq!(p["title"], "Não encontrado");
    assert_eq!(pt.header("content-language"), Some("pt-BR"));
    assert_eq!(p["requestId"], pt.header("x-request-id").unwrap());

    let en = app
        .send(
            Request::get("/v1/nothing-here")
                .header("accept-language", "en")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    let p = en.assert_problem(404, "not_found");
    assert_eq!(p["title"], "Not found");
    assert_eq!(en.header("content-language"), Some("en"));
}

#[tokio::test]
async fn wrong_method_is_405_with_allow() {
    let res = app()
        .send(Request::post("/health").body(Body::empty()).unwrap())
        .await;
    res.assert_problem(405, "method_not_allowed");
    let allow = res.header("allow").expect("Allow header");
    assert!(allow.contains("GET"), "allow = {allow}");
}

#[tokio::test]
async fn malformed_json_wrong_content_type_and_oversized_bodies_are_problems() {
    let app = app();
    let res = app
        .send(
            Request::post("/__test/echo")
                .header("content-type", "application/json")
                .body(Body::from("{\"a\":"))
                .unwrap(),
        )
        .await;
    res.assert_problem(400, "malformed_body");

    let res = app
        .send(
            Request::post("/__test/echo")
                .header("content-type", "text/plain")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    res.assert_problem(415, "unsupported_media_type");

    let big = vec![b'a'; 1_048_577];
    let res = app
        .send(
            Request::post("/__test/echo")
                .header("content-type", "application/json")
                .header("content-length", big.len())
                .body(Body::from(big))
                .unwrap(),
        )
        .await;
    res.assert_problem(413, "payload_too_large");

    // Without a declared length the limit still holds (chunked upload).
    let chunks = futures::stream::iter((0..300).map(|_| Ok::<_, std::io::Error>(vec![b' '; 4096])));
    let res = app
        .send(
            Request::post("/__test/echo")
                .header("content-type", "application/json")
                .body(Body::from_stream(chunks))
                .unwrap(),
        )
        .await;
    res.assert_problem(413, "payload_too_large");

    let ok = app
        .send(
            Request::post("/__test/echo")
                .header("content-type", "application/json")
                .body(Body::from("{\"a\":1}"))
                .unwrap(),
        )
        .await;
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["a"], 1);
}

#[tokio::test]
async fn slow_handlers_get_a_504_problem_and_routes_can_declare_longer_budgets() {
    let app = TestApp::with_test_routes(&[("REQUEST_TIMEOUT_MS", "100")]);
    let res = app.get("/__test/slow?ms=1000").await;
    res.assert_problem(504, "timeout");
    let res = app.get("/__test/slow-long-budget?ms=300").await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn a_panic_becomes_a_500_problem_without_internals_and_the_app_keeps_serving() {
    let app = app();
    let res = app.get("/__test/panic").await;
    let p = res.assert_problem(500, "internal_error");
    let text = String::from_utf8_lossy(&res.body);
    assert!(
        !text.contains("boom") && !text.contains("111.444.777-35"),
        "{text}"
    );
    assert!(p.get("errors").is_none());
    assert_eq!(app.get("/health").await.status, 200);
}

#[tokio::test]
async fn cors_allows_exact_origins_only() {
    let app = app();
    let ok = app
        .send(
            Request::get("/health")
                .header("origin", ORIGIN)
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(ok.header("access-control-allow-origin"), Some(ORIGIN));
    assert!(ok.headers.get_all("vary").iter().any(|v| v == "Origin"));
    assert!(ok.header("access-control-allow-credentials").is_none());

    for evil in [
        "https://evil.example",
        "null",
        "https://app.neonpro.com.br.evil.net",
        "https://evilapp.neonpro.com.br",
        "http://app.neonpro.com.br",
        "https://APP.neonpro.com.br",
        "https://app.neonpro.com.br:8443",
        "https://neonpro-git-x-team.vercel.app",
    ] {
        let res = app
            .send(
                Request::get("/health")
                    .header("origin", evil)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(res.status, 200);
        assert!(
            res.header("access-control-allow-origin").is_none(),
            "{evil} was allowed"
        );
        assert!(res.headers.get_all("vary").iter().any(|v| v == "Origin"));
    }
}

#[tokio::test]
async fn preflight_answers_204_with_methods_headers_and_max_age() {
    let app = app();
    let res = app
        .send(
            Request::options("/v1/me")
                .header("origin", ORIGIN)
                .header("access-control-request-method", "PATCH")
                .header("access-control-request-headers", "authorization, content-type, x-clinic-id, if-match, idempotency-key, x-request-id")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, 204);
    assert_eq!(res.header("access-control-allow-origin"), Some(ORIGIN));
    let headers = res
        .header("access-control-allow-headers")
        .unwrap()
        .to_ascii_lowercase();
    for h in [
        "authorization",
        "content-type",
        "x-request-id",
        "x-clinic-id",
        "idempotency-key",
        "if-match",
    ] {
        assert!(headers.contains(h), "{h} missing");
    }
    assert!(
        res.header("access-control-allow-methods")
            .unwrap()
            .contains("PATCH")
    );
    assert!(res.header("access-control-max-age").is_some());

    let evil = app
        .send(
            Request::options("/v1/me")
                .header("origin", "https://evil.example")
                .header("access-control-request-method", "GET")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    evil.assert_problem(403, "cors_rejected");
    assert!(evil.header("access-control-allow-origin").is_none());

    let bad_header = app
        .send(
            Request::options("/v1/me")
                .header("origin", ORIGIN)
                .header("access-control-request-method", "GET")
                .header("access-control-request-headers", "x-evil")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(bad_header.status, 403);
    assert!(bad_header.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn preview_deployments_allow_their_own_urls_but_not_other_vercel_apps() {
    let app = TestApp::with_test_routes(&[
        ("VERCEL_ENV", "preview"),
        (
            "DATABASE_URL",
            "postgres://authenticator:x@127.0.0.1:1/postgres",
        ),
        ("REDIS_URL", "redis://127.0.0.1:1"),
        ("SUPABASE_URL", "https://abc.supabase.co"),
        ("FIELD_ENCRYPTION_KEYS", neonpro::crypto::DEV_FIELD_KEYS),
        ("FIELD_ENCRYPTION_CURRENT_KEY_ID", "2"),
        ("CPF_BLIND_INDEX_KEY", neonpro::crypto::DEV_BLIND_INDEX_KEY),
        ("VERCEL_URL", "neonpro-abc123-team.vercel.app"),
        ("VERCEL_BRANCH_URL", "neonpro-git-feat-team.vercel.app"),
    ]);
    for origin in [
        "https://neonpro-abc123-team.vercel.app",
        "https://neonpro-git-feat-team.vercel.app",
    ] {
        let res = app
            .send(
                Request::get("/health")
                    .header("origin", origin)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await;
        assert_eq!(res.header("access-control-allow-origin"), Some(origin));
    }
    let res = app
        .send(
            Request::get("/health")
                .header("origin", "https://attacker-team.vercel.app")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(res.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn production_redirects_plain_http_to_https_with_308() {
    let app = TestApp::with_test_routes(&[
        ("VERCEL_ENV", "production"),
        (
            "DATABASE_URL",
            "postgres://authenticator:x@127.0.0.1:1/postgres",
        ),
        ("REDIS_URL", "redis://127.0.0.1:1"),
        ("SUPABASE_URL", "https://abc.supabase.co"),
        ("FIELD_ENCRYPTION_KEYS", neonpro::crypto::DEV_FIELD_KEYS),
        ("FIELD_ENCRYPTION_CURRENT_KEY_ID", "2"),
        ("CPF_BLIND_INDEX_KEY", neonpro::crypto::DEV_BLIND_INDEX_KEY),
    ]);
    let res = app
        .send(
            Request::get("/v1/me?x=1")
                .header("x-forwarded-proto", "http")
                .header("host", "api.neonpro.com.br")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, 308);
    assert_eq!(
        res.header("location"),
        Some("https://api.neonpro.com.br/v1/me?x=1")
    );
    assert_eq!(
        res.header("strict-transport-security"),
        Some("max-age=31536000; includeSubDomains; preload")
    );
    // HTTPS requests and development are untouched.
    let res = app
        .send(
            Request::get("/health")
                .header("x-forwarded-proto", "https")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, 200);
    let dev = crate::support::TestApp::with_test_routes(&[]);
    let res = dev
        .send(
            Request::get("/health")
                .header("x-forwarded-proto", "http")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, 200);
}

#[tokio::test]
async fn large_bodies_are_compressed_when_accepted_and_small_ones_are_not() {
    let app = app();
    let gz = app
        .send(
            Request::get("/__test/big")
                .header("accept-encoding", "gzip")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(gz.header("content-encoding"), Some("gzip"));
    let mut text = String::new();
    std::io::Read::read_to_string(&mut flate2::read::GzDecoder::new(&gz.body[..]), &mut text)
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    assert_eq!(v["items"].as_array().unwrap().len(), 200);

    let br = app
        .send(
            Request::get("/__test/big")
                .header("accept-encoding", "br")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(br.header("content-encoding"), Some("br"));

    let plain = app.get("/__test/big").await;
    assert!(plain.header("content-encoding").is_none());
    let small = app
        .send(
            Request::get("/health")
                .header("accept-encoding", "gzip")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert!(small.header("content-encoding").is_none());
}

#[tokio::test]
async fn authenticated_routes_without_a_token_are_401_with_bearer_challenge() {
    let res = app().get("/v1/me").await;
    res.assert_problem(401, "unauthenticated");
    assert_eq!(res.header("www-authenticate"), Some("Bearer"));
}

#[tokio::test]
async fn the_matched_route_template_reaches_the_request_log() {
    let app = app();
    let res = app
        .router
        .clone()
        .oneshot(Request::get("/__test/big").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let route = res
        .extensions()
        .get::<neonpro::http::log::LoggedRoute>()
        .map(|r| r.0.clone());
    assert_eq!(route.as_deref(), Some("/__test/big"));
    let res = app
        .router
        .clone()
        .oneshot(Request::get("/nope").body(Body::empty()).unwrap())
        .await
        .unwrap();
    assert!(
        res.extensions()
            .get::<neonpro::http::log::LoggedRoute>()
            .is_none()
    );
}
