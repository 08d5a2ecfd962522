//! Rate limiting through the real pipeline (`reference/security.md` §4).
//!
//! Behavioural tests are written once and run on both backends — a private `redis-server` per
//! test and the in-process limiter — by `on_both_backends!`. Redis-only tests cover outages, a
//! hung server, key layout and the cost of a check in round trips.
//!
//! Windows: tests that exhaust a budget use one-hour windows (a bucket boundary inside a test of
//! a few milliseconds is then practically impossible); tests that need a window to roll over use
//! two-second windows, start right after a bucket boundary and poll — they never assert speed.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::body::Body;
use http::{Request, StatusCode};
use neonpro::config::{Config, DEV_ISSUER, DEV_JWT_SECRET};
use neonpro::ratelimit::{RateClass, account_identity};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tower::ServiceExt;
use uuid::Uuid;

use crate::support::redis::TestRedis;
use crate::support::tokens::TokenBuilder;
use crate::support::{TestApp, TestResponse};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Backend {
    Redis,
    InProcess,
}

/// Runs each named `async fn(Backend)` as two tests: `<name>::redis` and `<name>::in_process`.
macro_rules! on_both_backends {
    ($($name:ident),* $(,)?) => {$(
        mod $name {
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn redis() {
                super::$name(super::Backend::Redis).await
            }

            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn in_process() {
                super::$name(super::Backend::InProcess).await
            }
        }
    )*};
}

on_both_backends!(
    every_class_admits_exactly_its_limit_under_concurrency,
    windows_roll_over,
    classes_and_identities_do_not_interfere,
    ipv6_clients_share_one_budget_per_64,
    requests_without_credentials_never_count_as_failures,
    authenticated_callers_are_limited_per_user_and_successes_never_count_as_failures,
    ten_bad_tokens_then_429_before_token_work_while_other_ips_are_unaffected,
    expired_tokens_are_401_but_never_lock_out_the_address,
    the_failed_auth_counter_expires,
    every_class_sends_headers_and_a_429_problem,
    failed_logins_can_be_counted_per_account,
    ping_reports_the_backend,
);

/// An app on one backend; holds the test Redis so it lives (and dies) with the test.
struct Rig {
    app: TestApp,
    redis: Option<TestRedis>,
}

impl Rig {
    async fn new(backend: Backend, settings: &[(&str, &str)]) -> Self {
        let redis = match backend {
            Backend::Redis => Some(TestRedis::start().await),
            Backend::InProcess => None,
        };
        let app = app_for(redis.as_ref().map(TestRedis::url), settings);
        assert_eq!(
            app.state.limiter().is_in_process(),
            backend == Backend::InProcess
        );
        Self { app, redis }
    }

    fn redis(&mut self) -> &mut TestRedis {
        self.redis.as_mut().expect("a Redis rig")
    }

    async fn get(&self, path: &str, ip: &str) -> TestResponse {
        self.app
            .send(
                Request::get(path)
                    .header("x-forwarded-for", ip)
                    .body(Body::empty())
                    .unwrap(),
            )
            .await
    }

    async fn get_with_token(&self, path: &str, ip: &str, token: &str) -> TestResponse {
        let req = Request::get(path)
            .header("x-forwarded-for", ip)
            .header("authorization", format!("Bearer {token}"))
            .body(Body::empty())
            .unwrap();
        self.app.send(req).await
    }

    /// `n` requests at once, each on its own task; returns (admitted, rejected).
    async fn burst(&self, path: &str, ip: &str, n: usize) -> (usize, usize) {
        let tasks: Vec<_> = (0..n)
            .map(|_| {
                let router = self.app.router.clone();
                let req = Request::get(path)
                    .header("x-forwarded-for", ip)
                    .body(Body::empty())
                    .unwrap();
                tokio::spawn(async move { router.oneshot(req).await.unwrap().status() })
            })
            .collect();
        let (mut ok, mut limited) = (0, 0);
        for task in tasks {
            match task.await.unwrap() {
                StatusCode::OK => ok += 1,
                StatusCode::TOO_MANY_REQUESTS => limited += 1,
                other => panic!("unexpected status {other} from {path}"),
            }
        }
        (ok, limited)
    }
}

fn app_for(redis_url: Option<String>, settings: &[(&str, &str)]) -> TestApp {
    let mut pairs: Vec<(&str, &str)> = settings.to_vec();
    if let Some(url) = redis_url.as_deref() {
        pairs.push(("REDIS_URL", url));
    }
    TestApp::with_test_routes(&pairs)
}

fn path(class: RateClass) -> String {
    format!("/__test/rl/{}", class.name())
}

/// A bearer token no verifier accepts (any garbage is a failed authentication).
/// A token the development verifier accepts (legacy HS256 with the local stack's secret).
fn valid_token(user: Uuid) -> String {
    TokenBuilder::new(DEV_ISSUER)
        .sub(user)
        .sign_hs256(DEV_JWT_SECRET)
}

const BAD_TOKEN: &str = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJub3BlIn0.bm90LWEtc2lnbmF0dXJl";

fn unix_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64
}

/// Waits until the next bucket of `window` has just begun (both backends bucket on this
/// machine's clock: Redis `TIME` or the system clock), so a short test stays inside one bucket.
async fn at_bucket_start(window: Duration) {
    let w = window.as_millis() as u64;
    let into = unix_ms() % w;
    if into > 100 {
        tokio::time::sleep(Duration::from_millis(w - into + 20)).await;
    }
}

/// Polls `check` every 100 ms until it holds (15 s at most).
async fn eventually(what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(15);
    while tokio::time::Instant::now() < deadline {
        if check().await {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("timed out waiting until {what}");
}

fn retry_after(res: &TestResponse) -> u64 {
    res.header("retry-after")
        .expect("Retry-After")
        .parse()
        .expect("Retry-After in delta seconds")
}

fn assert_no_rate_limit_headers(res: &TestResponse) {
    for h in [
        "ratelimit-policy",
        "ratelimit",
        "x-ratelimit-limit",
        "x-ratelimit-remaining",
        "x-ratelimit-reset",
    ] {
        assert!(
            res.header(h).is_none(),
            "{h} must be omitted: {:?}",
            res.headers
        );
    }
}

/// Every class set to `spec` (`<requests>/<window seconds>`).
fn all_classes(spec: &'static str) -> Vec<(&'static str, &'static str)> {
    RateClass::ALL.iter().map(|c| (c.env_var(), spec)).collect()
}

// ---------------------------------------------------------------------------------------------
// Behaviour on both backends

async fn every_class_admits_exactly_its_limit_under_concurrency(backend: Backend) {
    let rig = Rig::new(backend, &all_classes("50/3600")).await;
    // One client for every class: each class must still admit exactly its own 50.
    for class in RateClass::ALL {
        let (ok, limited) = rig.burst(&path(class), "198.51.100.10", 64).await;
        assert_eq!((ok, limited), (50, 14), "{}", class.name());
    }
}

async fn windows_roll_over(backend: Backend) {
    let rig = Rig::new(backend, &[("RATE_LIMIT_GENERAL", "3/2")]).await;
    at_bucket_start(Duration::from_secs(2)).await;
    for _ in 0..3 {
        assert_eq!(rig.get("/__test/rl/general", "192.0.2.1").await.status, 200);
    }
    let limited = rig.get("/__test/rl/general", "192.0.2.1").await;
    limited.assert_problem(429, "rate_limited");
    // A full bucket frees up just after it ends (its weight then drops below the limit): never
    // later than two windows.
    assert!(
        (1..=4).contains(&retry_after(&limited)),
        "{:?}",
        limited.headers
    );
    eventually("the window rolls over", async || {
        rig.get("/__test/rl/general", "192.0.2.1").await.status == 200
    })
    .await;
}

async fn classes_and_identities_do_not_interfere(backend: Backend) {
    let rig = Rig::new(backend, &all_classes("2/3600")).await;
    for _ in 0..2 {
        assert_eq!(rig.get("/__test/rl/general", "192.0.2.1").await.status, 200);
    }
    rig.get("/__test/rl/general", "192.0.2.1")
        .await
        .assert_problem(429, "rate_limited");
    // Same client, other classes: untouched budgets.
    for class in [
        RateClass::Healthcare,
        RateClass::Ai,
        RateClass::AuthFailures,
    ] {
        assert_eq!(
            rig.get(&path(class), "192.0.2.1").await.status,
            200,
            "{}",
            class.name()
        );
    }
    // Same class, other client.
    assert_eq!(rig.get("/__test/rl/general", "192.0.2.2").await.status, 200);
    // The failed-auth budget is separate too: a bad token is a 401, not a 429.
    rig.get_with_token("/__test/rl/general/authenticated", "192.0.2.1", BAD_TOKEN)
        .await
        .assert_problem(401, "unauthenticated");
}

async fn ipv6_clients_share_one_budget_per_64(backend: Backend) {
    let rig = Rig::new(backend, &[("RATE_LIMIT_GENERAL", "2/3600")]).await;
    assert_eq!(
        rig.get("/__test/rl/general", "2001:db8:1:2::1")
            .await
            .status,
        200
    );
    // x-real-ip is honoured when x-forwarded-for is absent.
    let req = Request::get("/__test/rl/general")
        .header("x-real-ip", "2001:db8:1:2:ffff:ffff:ffff:9")
        .body(Body::empty())
        .unwrap();
    assert_eq!(rig.app.send(req).await.status, 200);
    rig.get("/__test/rl/general", "2001:db8:1:2:abcd::77")
        .await
        .assert_problem(429, "rate_limited");
    // The next /64 is another subscriber.
    assert_eq!(
        rig.get("/__test/rl/general", "2001:db8:1:3::1")
            .await
            .status,
        200
    );
}

async fn requests_without_credentials_never_count_as_failures(backend: Backend) {
    let rig = Rig::new(backend, &[("RATE_LIMIT_AUTH_FAILURES", "2/3600")]).await;
    for _ in 0..5 {
        rig.get("/__test/rl/general/authenticated", "192.0.2.7")
            .await
            .assert_problem(401, "unauthenticated");
    }
    // The budget is intact: two failures fit, the third credentialed request is refused.
    for _ in 0..2 {
        rig.get_with_token("/__test/rl/general/authenticated", "192.0.2.7", BAD_TOKEN)
            .await
            .assert_problem(401, "unauthenticated");
    }
    rig.get_with_token("/__test/rl/general/authenticated", "192.0.2.7", BAD_TOKEN)
        .await
        .assert_problem(429, "rate_limited");
}

async fn authenticated_callers_are_limited_per_user_and_successes_never_count_as_failures(
    backend: Backend,
) {
    let rig = Rig::new(
        backend,
        &[
            ("RATE_LIMIT_HEALTHCARE", "2/3600"),
            ("RATE_LIMIT_AUTH_FAILURES", "2/3600"),
        ],
    )
    .await;
    let path = "/__test/rl/healthcare/authenticated";
    let (ana, bruno) = (valid_token(Uuid::new_v4()), valid_token(Uuid::new_v4()));
    // The budget follows the user across addresses…
    let first = rig.get_with_token(path, "192.0.2.50", &ana).await;
    assert_eq!(first.status, 200);
    assert_eq!(
        first.header("ratelimit"),
        Some(format!("\"healthcare\";r=1;t={}", t_of(&first)).as_str())
    );
    assert_eq!(
        rig.get_with_token(path, "192.0.2.51", &ana).await.status,
        200
    );
    rig.get_with_token(path, "192.0.2.52", &ana)
        .await
        .assert_problem(429, "rate_limited");
    // …and is not the address's: another user behind the same address is served.
    assert_eq!(
        rig.get_with_token(path, "192.0.2.50", &bruno).await.status,
        200
    );
    // None of those valid tokens counted as failed authentications: two failures still fit.
    for _ in 0..2 {
        rig.get_with_token(path, "192.0.2.50", BAD_TOKEN)
            .await
            .assert_problem(401, "unauthenticated");
    }
    rig.get_with_token(path, "192.0.2.50", BAD_TOKEN)
        .await
        .assert_problem(429, "rate_limited");
}

/// The `t` parameter of a response's `RateLimit` field.
fn t_of(res: &TestResponse) -> u64 {
    let field = res.header("ratelimit").expect("RateLimit");
    field.rsplit_once(";t=").expect("t=").1.parse().unwrap()
}

/// A genuinely signed but expired token (a tab left open over lunch) is a 401 every time, yet
/// does not count toward the address's failed-authentication budget: behind a clinic's shared
/// address it would otherwise lock every colleague out. Forged tokens still count.
async fn expired_tokens_are_401_but_never_lock_out_the_address(backend: Backend) {
    let rig = Rig::new(backend, &[]).await;
    let expired = TokenBuilder::new(DEV_ISSUER)
        .sub(Uuid::new_v4())
        .expires_in(-3600)
        .sign_hs256(DEV_JWT_SECRET);
    for _ in 0..15 {
        rig.get_with_token("/v1/me", "203.0.113.9", &expired)
            .await
            .assert_problem(401, "unauthenticated");
    }
    let valid = valid_token(Uuid::new_v4());
    let res = rig
        .get_with_token("/__test/rl/general/authenticated", "203.0.113.9", &valid)
        .await;
    assert_eq!(res.status, 200);
    let peek = rig
        .app
        .state
        .limiter()
        .peek(RateClass::AuthFailures, "ip:203.0.113.9")
        .await
        .unwrap();
    assert_eq!(peek.remaining, 10, "no failure was counted");
    // A forged token from the same address still counts.
    rig.get_with_token("/v1/me", "203.0.113.9", BAD_TOKEN)
        .await
        .assert_problem(401, "unauthenticated");
    let peek = rig
        .app
        .state
        .limiter()
        .peek(RateClass::AuthFailures, "ip:203.0.113.9")
        .await
        .unwrap();
    assert_eq!(peek.remaining, 9);
}

async fn ten_bad_tokens_then_429_before_token_work_while_other_ips_are_unaffected(
    backend: Backend,
) {
    // Default limits: 10 failures per 15 minutes.
    let rig = Rig::new(backend, &[]).await;
    for _ in 0..10 {
        let res = rig.get_with_token("/v1/me", "203.0.113.5", BAD_TOKEN).await;
        res.assert_problem(401, "unauthenticated");
        assert_eq!(
            res.header("www-authenticate"),
            Some(r#"Bearer error="invalid_token""#)
        );
    }
    // The 11th request with any credentials — a valid token included — is refused before
    // token work: 429, not 401 or 200.
    let valid = valid_token(Uuid::new_v4());
    for (path, token) in [
        ("/v1/me", BAD_TOKEN),
        ("/v1/me", "another-token-entirely"),
        ("/__test/rl/general/authenticated", valid.as_str()),
    ] {
        let res = rig.get_with_token(path, "203.0.113.5", token).await;
        res.assert_problem(429, "rate_limited");
        assert!(retry_after(&res) >= 1);
        assert_no_rate_limit_headers(&res);
    }
    let peek = rig
        .app
        .state
        .limiter()
        .peek(RateClass::AuthFailures, "ip:203.0.113.5")
        .await
        .unwrap();
    assert!(!peek.allowed);
    // Other clients are unaffected…
    rig.get_with_token("/v1/me", "203.0.113.6", BAD_TOKEN)
        .await
        .assert_problem(401, "unauthenticated");
    let other = rig
        .get_with_token("/__test/rl/general/authenticated", "203.0.113.6", &valid)
        .await;
    assert_eq!(other.status, 200);
    // …and so are this client's requests without credentials and its other budgets.
    rig.get("/v1/me", "203.0.113.5")
        .await
        .assert_problem(401, "unauthenticated");
    assert_eq!(
        rig.get("/__test/rl/general", "203.0.113.5").await.status,
        200
    );
}

async fn the_failed_auth_counter_expires(backend: Backend) {
    let rig = Rig::new(backend, &[("RATE_LIMIT_AUTH_FAILURES", "2/2")]).await;
    at_bucket_start(Duration::from_secs(2)).await;
    for _ in 0..2 {
        rig.get_with_token("/v1/me", "192.0.2.9", BAD_TOKEN)
            .await
            .assert_problem(401, "unauthenticated");
    }
    rig.get_with_token("/v1/me", "192.0.2.9", BAD_TOKEN)
        .await
        .assert_problem(429, "rate_limited");
    eventually("the failures expire", async || {
        rig.get_with_token("/v1/me", "192.0.2.9", BAD_TOKEN)
            .await
            .status
            == 401
    })
    .await;
}

async fn every_class_sends_headers_and_a_429_problem(backend: Backend) {
    let rig = Rig::new(backend, &all_classes("2/3600")).await;
    for class in RateClass::ALL {
        let name = class.name();
        let p = path(class);
        let first = rig.get(&p, "192.0.2.20").await;
        let second = rig.get(&p, "192.0.2.20").await;
        let limited = rig.get(&p, "192.0.2.20").await;
        assert_eq!(
            (first.status, second.status),
            (StatusCode::OK, StatusCode::OK),
            "{name}"
        );
        let problem = limited.assert_problem(429, "rate_limited");
        assert_eq!(
            problem["type"],
            "https://neonpro.com.br/problems/rate-limited"
        );
        assert!(retry_after(&limited) >= 1, "{name}");
        if class == RateClass::AuthFailures {
            // An authentication budget is never disclosed.
            for res in [&first, &second, &limited] {
                assert_no_rate_limit_headers(res);
            }
            continue;
        }
        for (res, remaining) in [(&first, 1), (&second, 0), (&limited, 0)] {
            assert_eq!(
                res.header("ratelimit-policy"),
                Some(format!("\"{name}\";q=2;w=3600").as_str()),
                "{name}"
            );
            let field = res.header("ratelimit").expect("RateLimit");
            let t: u64 = field
                .strip_prefix(&format!("\"{name}\";r={remaining};t="))
                .unwrap_or_else(|| panic!("RateLimit {field:?} for {name}"))
                .parse()
                .unwrap();
            assert!((1..=3600).contains(&t), "{field}");
            assert_eq!(res.header("x-ratelimit-limit"), Some("2"));
            assert_eq!(
                res.header("x-ratelimit-remaining"),
                Some(remaining.to_string().as_str())
            );
            let reset: u64 = res.header("x-ratelimit-reset").unwrap().parse().unwrap();
            let now = unix_ms() / 1000;
            assert!(
                reset > now.saturating_sub(2) && reset <= now + 3601,
                "X-RateLimit-Reset {reset} is a Unix time"
            );
        }
    }
    // A declared authentication endpoint hides its budget as well, 429 included.
    for _ in 0..2 {
        assert_no_rate_limit_headers(&rig.get("/__test/rl/login", "192.0.2.21").await);
    }
    let limited = rig.get("/__test/rl/login", "192.0.2.21").await;
    limited.assert_problem(429, "rate_limited");
    assert!(retry_after(&limited) >= 1);
    assert_no_rate_limit_headers(&limited);
}

async fn failed_logins_can_be_counted_per_account(backend: Backend) {
    let rig = Rig::new(backend, &[]).await;
    let limiter = rig.app.state.limiter();
    let account = account_identity("Ana.Souza@clinica.com.br");
    // A login route peeks the account and the IP, and counts a failure on both.
    for i in 0..10 {
        let ip = format!("ip:198.51.100.{i}"); // rotating IPs do not help the attacker
        assert!(
            limiter
                .peek(RateClass::AuthFailures, &account)
                .await
                .unwrap()
                .allowed
        );
        assert!(
            limiter
                .peek(RateClass::AuthFailures, &ip)
                .await
                .unwrap()
                .allowed
        );
        assert!(
            limiter
                .hit(RateClass::AuthFailures, &account)
                .await
                .unwrap()
                .allowed
        );
        assert!(
            limiter
                .hit(RateClass::AuthFailures, &ip)
                .await
                .unwrap()
                .allowed
        );
    }
    let blocked = limiter
        .peek(
            RateClass::AuthFailures,
            &account_identity(" ana.souza@CLINICA.com.br"),
        )
        .await
        .unwrap();
    assert!(!blocked.allowed && blocked.retry_after_secs >= 1);
    // A fresh IP passes its own peek, but the login is still refused by the account's; other
    // accounts are unaffected.
    assert!(
        limiter
            .peek(RateClass::AuthFailures, "ip:198.51.100.200")
            .await
            .unwrap()
            .allowed
    );
    assert!(
        limiter
            .peek(
                RateClass::AuthFailures,
                &account_identity("bruno@clinica.com.br")
            )
            .await
            .unwrap()
            .allowed
    );
}

async fn ping_reports_the_backend(backend: Backend) {
    let rig = Rig::new(backend, &[]).await;
    let ping = rig.app.state.limiter().ping().await.unwrap();
    assert_eq!(ping.is_some(), backend == Backend::Redis);
}

// ---------------------------------------------------------------------------------------------
// Redis only

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn redis_outage_fails_closed_or_open_per_class_and_recovers_in_the_same_process() {
    let mut rig = Rig::new(Backend::Redis, &all_classes("3/3600")).await;
    let ip = "198.51.100.50";
    assert_eq!(rig.get("/__test/rl/healthcare", ip).await.status, 200);
    assert_eq!(rig.get("/__test/rl/general", ip).await.status, 200);

    rig.redis().stop();
    let fail_open_before = rig.app.state.limiter().fail_open_count();
    for class in [RateClass::Healthcare, RateClass::AuthFailures] {
        let res = rig.get(&path(class), ip).await;
        res.assert_problem(503, "rate_limit_unavailable");
        assert!(retry_after(&res) >= 1);
    }
    // Authentication fails closed too: no token work while failures cannot be counted.
    rig.get_with_token("/__test/rl/general/authenticated", ip, BAD_TOKEN)
        .await
        .assert_problem(503, "rate_limit_unavailable");
    for class in [RateClass::General, RateClass::Ai] {
        let res = rig.get(&path(class), ip).await;
        assert_eq!(res.status, 200, "{} fails open", class.name());
        assert_no_rate_limit_headers(&res);
    }
    assert_eq!(
        rig.app.state.limiter().fail_open_count(),
        fail_open_before + 2
    );
    assert!(rig.app.state.limiter().ping().await.is_err());

    // Back (empty: no persistence) on the same port; the same app enforces limits again.
    rig.redis().restart().await;
    eventually("healthcare is served again", async || {
        rig.get("/__test/rl/healthcare", ip).await.status == 200
    })
    .await;
    for _ in 0..2 {
        assert_eq!(rig.get("/__test/rl/healthcare", ip).await.status, 200);
    }
    rig.get("/__test/rl/healthcare", ip)
        .await
        .assert_problem(429, "rate_limited");
    for _ in 0..3 {
        assert_eq!(rig.get("/__test/rl/general", ip).await.status, 200);
    }
    rig.get("/__test/rl/general", ip)
        .await
        .assert_problem(429, "rate_limited");
    assert!(rig.app.state.limiter().ping().await.unwrap().is_some());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_redis_down_at_first_use_is_retried_by_later_requests() {
    let mut redis = TestRedis::start().await;
    redis.stop();
    // Building the app does no I/O, so a dead Redis cannot fail start-up.
    let app = app_for(Some(redis.url()), &[("RATE_LIMIT_HEALTHCARE", "2/3600")]);
    let rig = Rig { app, redis: None };
    rig.get("/__test/rl/healthcare", "192.0.2.30")
        .await
        .assert_problem(503, "rate_limit_unavailable");
    assert_eq!(
        rig.get("/__test/rl/general", "192.0.2.30").await.status,
        200
    );

    redis.restart().await;
    eventually("the connection is made", async || {
        rig.get("/__test/rl/healthcare", "192.0.2.30").await.status == 200
    })
    .await;
    assert_eq!(
        rig.get("/__test/rl/healthcare", "192.0.2.30").await.status,
        200
    );
    rig.get("/__test/rl/healthcare", "192.0.2.30")
        .await
        .assert_problem(429, "rate_limited");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_hung_redis_is_cut_off_by_the_timeout() {
    let rig = Rig::new(Backend::Redis, &[("REDIS_TIMEOUT_MS", "100")]).await;
    assert_eq!(
        rig.get("/__test/rl/healthcare", "192.0.2.40").await.status,
        200
    );
    rig.redis.as_ref().unwrap().pause();
    // Without the timeout these would wait for Redis forever (bounded here only to fail cleanly).
    let guard = Duration::from_secs(10);
    let closed = tokio::time::timeout(guard, rig.get("/__test/rl/healthcare", "192.0.2.40"))
        .await
        .expect("answered");
    closed.assert_problem(503, "rate_limit_unavailable");
    let open = tokio::time::timeout(guard, rig.get("/__test/rl/general", "192.0.2.40"))
        .await
        .expect("answered");
    assert_eq!(open.status, 200);
    assert!(rig.app.state.limiter().fail_open_count() >= 1);
    rig.redis.as_ref().unwrap().resume();
    eventually("Redis answers again", async || {
        rig.get("/__test/rl/healthcare", "192.0.2.40").await.status == 200
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn keys_are_namespaced_expire_and_only_count_admitted_requests() {
    let rig = Rig::new(
        Backend::Redis,
        &[
            ("RATE_LIMIT_GENERAL", "3/3600"),
            ("RATE_LIMIT_PREFIX", "np-test:rl"),
        ],
    )
    .await;
    let limiter = rig.app.state.limiter();
    assert!(
        limiter
            .peek(RateClass::General, "ip:192.0.2.60")
            .await
            .unwrap()
            .allowed
    );
    let mut conn = rig.redis.as_ref().unwrap().connection().await;
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(keys.is_empty(), "a peek writes nothing: {keys:?}");

    for _ in 0..6 {
        limiter
            .hit(RateClass::General, "ip:192.0.2.60")
            .await
            .unwrap();
    }
    let keys: Vec<String> = redis::cmd("KEYS")
        .arg("*")
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(keys.len(), 1, "{keys:?}");
    let bucket: u64 = keys[0]
        .strip_prefix("np-test:rl:general:ip:192.0.2.60:")
        .expect("<prefix>:<class>:<identity>:<bucket>")
        .parse()
        .unwrap();
    assert!(bucket.abs_diff(unix_ms() / 3_600_000) <= 1);
    let count: u64 = redis::cmd("GET")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert_eq!(count, 3, "rejected requests are not counted");
    let pttl: i64 = redis::cmd("PTTL")
        .arg(&keys[0])
        .query_async(&mut conn)
        .await
        .unwrap();
    assert!(
        pttl > 2 * 3_600_000 - 60_000 && pttl <= 2 * 3_600_000 + 1_000,
        "PTTL {pttl}"
    );
}

/// Reads `MONITOR` until `marker` shows up; returns the lines in between.
async fn monitor_until(reader: &mut BufReader<tokio::net::TcpStream>, marker: &str) -> Vec<String> {
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        let n = tokio::time::timeout(Duration::from_secs(10), reader.read_line(&mut line))
            .await
            .expect("MONITOR line")
            .unwrap();
        assert!(n > 0, "MONITOR closed");
        if line.contains(marker) {
            return lines;
        }
        lines.push(line.trim_end().to_owned());
    }
}

/// `calls` of `command` in `INFO commandstats` (0 when never called).
fn commandstat(info: &str, command: &str) -> u64 {
    commandstat_field(info, command, "calls")
}

/// One field (`calls`, `failed_calls`, …) of a `cmdstat_<command>:` line.
fn commandstat_field(info: &str, command: &str, field: &str) -> u64 {
    info.lines()
        .find_map(|l| l.strip_prefix(&format!("cmdstat_{command}:")))
        .and_then(|rest| {
            rest.split(',')
                .find_map(|kv| kv.strip_prefix(&format!("{field}=")))
        })
        .map(|v| v.trim().parse().unwrap())
        .unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn one_check_is_one_evalsha_round_trip_and_a_blocked_client_costs_none() {
    let rig = Rig::new(
        Backend::Redis,
        &[
            ("RATE_LIMIT_GENERAL", "1000/3600"),
            ("RATE_LIMIT_HEALTHCARE", "2/3600"),
        ],
    )
    .await;
    let limiter = rig.app.state.limiter();
    let redis = rig.redis.as_ref().unwrap();
    // Warm-up: connect and load the script (SCRIPT LOAD with the connection, then EVALSHA).
    limiter.hit(RateClass::General, "ip:warm-up").await.unwrap();
    let mut inspect = redis.connection().await;
    let cold: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut inspect)
        .await
        .unwrap();
    assert_eq!(commandstat(&cold, "script|load"), 1);
    assert_eq!(commandstat(&cold, "evalsha"), 1);
    assert_eq!(
        commandstat_field(&cold, "evalsha", "failed_calls"),
        0,
        "no NOSCRIPT on a cold start"
    );

    let mut monitor = BufReader::new(
        tokio::net::TcpStream::connect(("127.0.0.1", redis.port()))
            .await
            .unwrap(),
    );
    monitor.get_mut().write_all(b"MONITOR\r\n").await.unwrap();
    let mut ok = String::new();
    monitor.read_line(&mut ok).await.unwrap();
    assert_eq!(ok.trim_end(), "+OK");

    let me: String = redis::cmd("CLIENT")
        .arg("INFO")
        .query_async(&mut inspect)
        .await
        .unwrap();
    let my_addr = me
        .split(' ')
        .find_map(|f| f.strip_prefix("addr="))
        .unwrap()
        .to_owned();
    let before: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut inspect)
        .await
        .unwrap();

    for i in 0..20 {
        assert!(
            limiter
                .hit(RateClass::General, &format!("ip:192.0.2.{i}"))
                .await
                .unwrap()
                .allowed
        );
    }
    for i in 0..10 {
        assert!(
            limiter
                .peek(RateClass::General, &format!("ip:192.0.2.{i}"))
                .await
                .unwrap()
                .allowed
        );
    }
    // 2 admitted + 1 rejected reach Redis; the next 10 are answered by the blocked cache.
    for i in 0..13 {
        let d = limiter
            .hit(RateClass::Healthcare, "user:blocked")
            .await
            .unwrap();
        assert_eq!(d.allowed, i < 2);
    }

    // The readiness probe is one PING.
    assert!(limiter.ping().await.unwrap().is_some());

    let after: String = redis::cmd("INFO")
        .arg("commandstats")
        .query_async(&mut inspect)
        .await
        .unwrap();
    let _: String = redis::cmd("ECHO")
        .arg("rl-test-marker")
        .query_async(&mut inspect)
        .await
        .unwrap();
    let lines = monitor_until(&mut monitor, "rl-test-marker").await;

    // Commands the limiter sent (not the script's own calls, not this test's inspection).
    let sent: Vec<String> = lines
        .iter()
        .filter(|l| !l.contains(" lua] ") && !l.contains(&format!(" {my_addr}] ")))
        .map(|l| {
            l.split("] \"")
                .nth(1)
                .and_then(|rest| rest.split('"').next())
                .unwrap_or("?")
                .to_ascii_lowercase()
        })
        .collect();
    assert_eq!(sent.len(), 20 + 10 + 3 + 1, "{lines:#?}");
    assert!(sent[..33].iter().all(|c| c == "evalsha"), "{sent:?}");
    assert_eq!(sent[33], "ping");
    assert_eq!(
        commandstat(&after, "evalsha") - commandstat(&before, "evalsha"),
        33
    );
    assert_eq!(
        commandstat(&after, "script|load"),
        commandstat(&before, "script|load"),
        "no reloads in steady state"
    );
}

#[test]
fn production_refuses_to_start_without_redis() {
    let settings = std::collections::HashMap::from([
        ("VERCEL_ENV", "production"),
        ("DATABASE_URL", "postgres://u:p@db/postgres"),
        ("SUPABASE_URL", "https://abc.supabase.co"),
    ]);
    let err = Config::from_lookup(|k| settings.get(k).map(|v| (*v).to_owned())).unwrap_err();
    assert_eq!(err.var, "REDIS_URL");
    // Development without it gets the in-process limiter; with it, Redis.
    assert!(TestApp::new(&[]).state.limiter().is_in_process());
    assert!(
        !TestApp::new(&[("REDIS_URL", "redis://127.0.0.1:1")])
            .state
            .limiter()
            .is_in_process()
    );
}
