//! End to end through the real function binaries (each `api/**/*.rs` is its own process, as on
//! Vercel), over real HTTP on loopback.

use crate::support::db;
use crate::support::identity;
use crate::support::process::Function;

fn client() -> reqwest::Client {
    // reqwest is built without a bundled TLS provider (the library installs ring); plain HTTP
    // still needs one registered before a client is built.
    let _ = rustls::crypto::ring::default_provider().install_default();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn liveness_function_serves_with_the_full_pipeline() {
    let f = Function::spawn("health", &[]);
    let res = client()
        .get(f.url("/health"))
        .header("x-request-id", "e2e-1")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-request-id"], "e2e-1");
    assert_eq!(res.headers()["x-frame-options"], "DENY");
    assert_eq!(res.headers()["cache-control"], "no-store");
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["status"], "ok");
    assert_eq!(body["requestId"], "e2e-1");

    // A path this function does not own is a problem+json 404, not the runtime's default.
    let res = client()
        .get(f.url("/v1/unknown"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    assert_eq!(
        res.headers()["strict-transport-security"],
        "max-age=31536000; includeSubDomains; preload"
    );
    let p: serde_json::Value = res.json().await.unwrap();
    assert_eq!(p["title"], "Not found");
}

#[tokio::test]
async fn a_function_with_a_bad_setting_refuses_to_start_and_names_it() {
    let out = std::process::Command::new(crate::support::process::bin_path("health"))
        .env_clear()
        .env("VERCEL_ENV", "production")
        .env(
            "VERCEL_DEV_PORT",
            crate::support::process::free_port().to_string(),
        )
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("DATABASE_URL"), "{err}");
}

#[tokio::test]
async fn db_e2e_readiness_and_identity_functions_answer_with_services_up() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let redis = db::env("NEONPRO_TEST_REDIS_URL");
    let url = db::app_url();
    let env = [
        ("DATABASE_URL", url.as_str()),
        ("REDIS_URL", redis.as_str()),
    ];

    let ready = Function::spawn("v1-health", &env);
    let res = client().get(ready.url("/v1/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["components"]["database"]["status"], "up");
    assert_eq!(body["components"]["redis"]["status"], "up");
    assert!(body["components"]["redis"]["latencyMs"].is_number());
    let text = body.to_string();
    assert!(
        !text.contains("127.0.0.1") && !text.contains("postgres"),
        "readiness leaks topology: {text}"
    );

    let me = Function::spawn("v1-me", &env);
    let res = client()
        .get(me.url("/v1/me"))
        .header("authorization", identity::bearer(w.a_staff))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let body: serde_json::Value = res.json().await.unwrap();
    assert_eq!(body["activeClinic"]["clinicId"], w.a.to_string());
    assert!(res_has_rate_limit_headers(
        &client()
            .get(me.url("/v1/me"))
            .header("authorization", identity::bearer(w.a_staff))
            .send()
            .await
            .unwrap()
    ));
}

fn res_has_rate_limit_headers(res: &reqwest::Response) -> bool {
    res.headers().contains_key("ratelimit") && res.headers().contains_key("ratelimit-policy")
}

#[tokio::test]
async fn db_e2e_readiness_is_503_naming_the_component_when_a_dependency_is_down() {
    let closed = crate::support::process::free_port();
    let dead_db = format!("postgres://authenticator:authenticator@127.0.0.1:{closed}/postgres");
    let redis = db::env("NEONPRO_TEST_REDIS_URL");
    let f = Function::spawn(
        "v1-health",
        &[
            ("DATABASE_URL", dead_db.as_str()),
            ("REDIS_URL", redis.as_str()),
        ],
    );
    let res = client()
        .get(f.url("/v1/health"))
        .header("accept-language", "en")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 503);
    assert!(
        res.headers()["retry-after"]
            .to_str()
            .unwrap()
            .parse::<u64>()
            .unwrap()
            >= 1
    );
    let p: serde_json::Value = res.json().await.unwrap();
    assert_eq!(p["code"], "not_ready");
    assert_eq!(p["components"]["database"]["status"], "down");
    assert_eq!(p["components"]["redis"]["status"], "up");
    assert!(p["detail"].as_str().unwrap().contains("database"));
}
