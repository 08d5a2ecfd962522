//! Dependencies going away and coming back, with real servers: the API answers 503 problems
//! with `Retry-After` (never a hang, never a 500) and recovers without a restart.

use axum::body::Body;
use http::Request;

use crate::support::identity;
use crate::support::postgres::TestPostgres;
use crate::support::redis::TestRedis;
use crate::support::{TestApp, db};

#[tokio::test]
async fn the_database_stopped_mid_run_is_a_503_and_the_next_request_after_it_returns_succeeds() {
    let pg = TestPostgres::start();
    let admin = db::connect(&pg.admin_url()).await;
    let w = db::two_clinics(&admin).await;
    drop(admin);
    let url = pg.app_url();
    let app = TestApp::new(&[
        ("DATABASE_URL", url.as_str()),
        ("DB_CONNECT_TIMEOUT_MS", "500"),
        ("DB_ACQUIRE_TIMEOUT_MS", "500"),
    ]);
    let get = || {
        Request::get("/v1/clinics/current")
            .header("authorization", identity::bearer(w.a_staff))
            .body(Body::empty())
            .unwrap()
    };

    assert_eq!(app.send(get()).await.status, 200);
    let ready = app.get("/v1/health").await;
    assert_eq!(ready.status, 200);

    pg.stop();
    let res = app.send(get()).await;
    res.assert_problem(503, "database_unavailable");
    assert!(res.header("retry-after").unwrap().parse::<u64>().unwrap() >= 1);
    let ready = app.get("/v1/health").await;
    let p = ready.assert_problem(503, "not_ready");
    assert_eq!(p["components"]["database"]["status"], "down");

    pg.resume();
    // The pool discards the dead connections; the first request after the restart succeeds.
    let res = app.send(get()).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(app.get("/v1/health").await.status, 200);
}

#[tokio::test]
async fn readiness_is_503_naming_redis_while_it_is_stopped_and_200_once_it_is_back() {
    let mut redis = TestRedis::start().await;
    let url = redis.url();
    let db_url = db::app_url();
    let app = TestApp::new(&[
        ("REDIS_URL", url.as_str()),
        ("DATABASE_URL", db_url.as_str()),
    ]);
    assert_eq!(app.get("/v1/health").await.status, 200);

    redis.stop();
    let res = app.get("/v1/health").await;
    let p = res.assert_problem(503, "not_ready");
    assert_eq!(p["components"]["redis"]["status"], "down");
    assert_eq!(p["components"]["database"]["status"], "up");
    assert!(res.header("retry-after").is_some());

    redis.restart().await;
    let mut status = 0;
    for _ in 0..50 {
        status = app.get("/v1/health").await.status.as_u16();
        if status == 200 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert_eq!(status, 200);
}
