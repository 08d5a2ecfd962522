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

/// `vercel dev --local` (the pinned CLI, offline) kept alive for one test; killed on drop.
struct VercelDev {
    child: std::process::Child,
    port: u16,
}

impl Drop for VercelDev {
    fn drop(&mut self) {
        // vercel dev runs the functions as its children: end the whole process group.
        let _ = std::process::Command::new("kill")
            .arg("-TERM")
            .arg(format!("-{}", self.child.id()))
            .status();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The real Vercel router in front of the real function binaries: proves the `vercel.json`
/// rewrites (static and dynamic segments), that handlers see the public path, and that the
/// pipeline's headers survive the router.
#[tokio::test]
async fn vercel_dev_routes_public_paths_to_the_functions() {
    let root = std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let cli = root.join("node_modules/.bin/vercel");
    assert!(
        cli.exists(),
        "the pinned Vercel CLI is missing: run `npm ci` (scripts/test does)"
    );
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let port = crate::support::process::free_port();
    // `setsid`: its own session and process group, detached from any terminal (the CLI must not
    // reach the test runner's terminal or group); the group is ended on drop.
    let child = std::process::Command::new("setsid")
        .arg(cli)
        .args(["dev", "--local", "--yes", "--listen", &port.to_string()])
        .current_dir(&root)
        .env("DATABASE_URL", db::app_url())
        .env("REDIS_URL", db::env("NEONPRO_TEST_REDIS_URL"))
        .env("VERCEL_ENV", "development")
        .env("VERCEL_TELEMETRY_DISABLED", "1")
        .env("RUST_LOG", "warn")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let dev = VercelDev { child, port };
    let base = format!("http://127.0.0.1:{}", dev.port);
    // Each function is compiled on its first request: allow minutes, not seconds.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::builder()
        .timeout(std::time::Duration::from_secs(600))
        .build()
        .unwrap();
    let mut up = false;
    for _ in 0..1200 {
        if http
            .get(format!("{base}/health"))
            .send()
            .await
            .is_ok_and(|r| r.status() == 200)
        {
            up = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(250)).await;
    }
    assert!(up, "vercel dev never served /health");

    let res = http.get(format!("{base}/v1/health")).send().await.unwrap();
    assert_eq!(res.status(), 200);
    assert_eq!(res.headers()["x-content-type-options"], "nosniff");
    assert_eq!(
        res.headers()["content-security-policy"],
        "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'"
    );

    // A dynamic segment: /v1/patients/:id → api/v1/patients/[id].rs, whose router matches the
    // public path. An unknown id in the caller's own clinic is a 404 problem from our code.
    let missing = uuid::Uuid::new_v4();
    let res = http
        .get(format!("{base}/v1/patients/{missing}"))
        .header("authorization", identity::bearer(w.a_staff))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);
    assert_eq!(res.headers()["content-type"], "application/problem+json");
    let p: serde_json::Value = res.json().await.unwrap();
    assert_eq!(p["code"], "not_found");

    let res = http
        .get(format!("{base}/v1/me"))
        .header("authorization", identity::bearer(w.a_staff))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let me: serde_json::Value = res.json().await.unwrap();
    assert_eq!(me["activeClinic"]["clinicId"], w.a.to_string());
}

/// One JSON line per request with ids only: personal data sent in a URL never reaches the log.
#[tokio::test]
async fn db_e2e_request_logs_are_json_lines_with_ids_only() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let url = db::app_url();
    let f = Function::spawn(
        "v1-patients",
        &[("DATABASE_URL", url.as_str()), ("RUST_LOG", "info")],
    );
    let res = client()
        .get(f.url("/v1/patients?name=Concei%C3%A7%C3%A3o&cpf=52998224725"))
        .header("authorization", identity::bearer(w.a_staff))
        .header("x-request-id", "log-test-1")
        .header("user-agent", "ana.souza@example.com +55 11 98765-4321")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    let _ = client()
        .get(f.url("/v1/patients/not-a-uuid/52998224725"))
        .send()
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let lines = f.stdout.lock().unwrap().clone();
    let entry: serde_json::Value = lines
        .iter()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .find(|v| v["request_id"] == "log-test-1")
        .unwrap_or_else(|| panic!("no JSON line for the request in {lines:?}"));
    assert_eq!(entry["method"], "GET");
    assert_eq!(entry["route"], "/v1/patients");
    assert_eq!(entry["status"], 200);
    assert!(entry["duration_ms"].is_number());
    assert_eq!(entry["user"].as_str().unwrap().len(), 16);
    assert_ne!(entry["user"], w.a_staff.to_string());
    let all = lines.join("\n");
    for leaked in [
        "52998224725",
        "529.982.247-25",
        "Concei",
        "ana.souza",
        "98765-4321",
        &w.a_staff.to_string(),
    ] {
        assert!(!all.contains(leaked), "{leaked} reached the log: {all}");
    }
}

/// Exact admission through the real binaries: 64 concurrent requests against a limit of 50 in
/// the general (public readiness route) and healthcare (patient list) classes, counted in Redis.
#[tokio::test]
async fn db_e2e_rate_limits_admit_exactly_the_limit_under_concurrency_through_the_binaries() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let redis = crate::support::redis::TestRedis::start().await;
    let (db_url, redis_url) = (db::app_url(), redis.url());
    let env = [
        ("DATABASE_URL", db_url.as_str()),
        ("REDIS_URL", redis_url.as_str()),
        ("RATE_LIMIT_GENERAL", "50/900"),
        ("RATE_LIMIT_HEALTHCARE", "50/900"),
        ("DB_POOL_MAX", "16"),
        ("DB_ACQUIRE_TIMEOUT_MS", "20000"),
        ("DB_CONNECT_TIMEOUT_MS", "20000"),
        ("REQUEST_TIMEOUT_MS", "30000"),
    ];
    for (bin, path, auth) in [
        ("v1-health", "/v1/health", None),
        (
            "v1-patients",
            "/v1/patients",
            Some(identity::bearer(w.a_staff)),
        ),
    ] {
        let f = Function::spawn(bin, &env);
        let http = client();
        let mut tasks = Vec::new();
        for _ in 0..64 {
            let req = http
                .get(f.url(path))
                .header("x-forwarded-for", "203.0.113.77");
            let req = match &auth {
                Some(a) => req.header("authorization", a),
                None => req,
            };
            tasks.push(tokio::spawn(async move {
                let res = req.send().await.unwrap();
                let status = res.status().as_u16();
                let body: serde_json::Value = res.json().await.unwrap_or_default();
                (status, body["code"].as_str().unwrap_or("").to_owned())
            }));
        }
        let mut ok = 0;
        let mut limited = 0;
        for t in tasks {
            match t.await.unwrap() {
                (200, _) => ok += 1,
                // Admitted by the limiter; readiness itself may report a saturated pool.
                (503, code) if code == "not_ready" => ok += 1,
                (429, code) if code == "rate_limited" => limited += 1,
                other => panic!("{bin}: unexpected answer {other:?}"),
            }
        }
        assert_eq!((ok, limited), (50, 14), "{bin}");
    }
}
