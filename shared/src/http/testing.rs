//! Routes that exist only for the test suite (cargo feature `test-support`, never enabled by
//! function binaries): a panic, a slow handler, a JSON echo, a large body and one route per
//! rate-limit class, each behind the same policies real routes use.

use std::time::Duration;

use axum::Router;
use axum::extract::Query;
use axum::routing::{get, post};
use serde::Deserialize;
use serde_json::{Value, json};

use super::extract::Json;
use super::policy::Policy;
use crate::ratelimit::RateClass;
use crate::state::AppState;

#[derive(Deserialize)]
struct SlowParams {
    ms: u64,
}

/// Test-only routes under `/__test/`.
pub fn router() -> Router<AppState> {
    Router::new()
        .merge(rate_limit_router())
        .route(
            "/__test/panic",
            Policy::public(RateClass::General).on(get(panics)),
        )
        .route(
            "/__test/slow",
            Policy::public(RateClass::General).on(get(slow)),
        )
        .route(
            "/__test/slow-long-budget",
            Policy::public(RateClass::General)
                .timeout(Duration::from_secs(5))
                .on(get(slow)),
        )
        .route(
            "/__test/echo",
            Policy::public(RateClass::General).on(post(echo)),
        )
        .route(
            "/__test/big",
            Policy::public(RateClass::General).on(get(big)),
        )
}

/// One route per rate-limit class and access kind, so every class can be driven through the
/// real guard without production routes: `GET /__test/rl/{class}` (public),
/// `GET /__test/rl/{class}/authenticated`, and `GET /__test/rl/login` (a public
/// [`Policy::auth_endpoint`] in the general class).
pub fn rate_limit_router() -> Router<AppState> {
    let mut router = Router::new().route(
        "/__test/rl/login",
        Policy::public(RateClass::General)
            .auth_endpoint()
            .on(get(ok)),
    );
    for class in RateClass::ALL {
        router = router
            .route(
                &format!("/__test/rl/{}", class.name()),
                Policy::public(class).on(get(ok)),
            )
            .route(
                &format!("/__test/rl/{}/authenticated", class.name()),
                Policy::authenticated(class).on(get(ok)),
            );
    }
    router
}

async fn ok() -> &'static str {
    "ok"
}

#[allow(clippy::panic)]
async fn panics() -> &'static str {
    panic!("boom: patient 111.444.777-35 broke the handler")
}

async fn slow(Query(p): Query<SlowParams>) -> Json<Value> {
    tokio::time::sleep(Duration::from_millis(p.ms)).await;
    Json(json!({ "slept": p.ms }))
}

async fn echo(Json(v): Json<Value>) -> axum::Json<Value> {
    axum::Json(v)
}

async fn big() -> axum::Json<Value> {
    let items: Vec<Value> = (0..200)
        .map(|i| json!({ "index": i, "text": "lorem ipsum dolor sit amet" }))
        .collect();
    axum::Json(json!({ "items": items }))
}
