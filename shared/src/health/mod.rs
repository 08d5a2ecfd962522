//! Health probes: `GET /health` (liveness, no dependency calls) and `GET /v1/health`
//! (readiness: PostgreSQL and Redis, each with a short timeout). Reports never include secrets,
//! hostnames or versions.

use std::time::Duration;

use axum::extract::State;
use axum::routing::get;
use axum::{Extension, Json, Router};
use serde_json::{Value, json};

use crate::error::ApiError;
use crate::http::policy::Policy;
use crate::http::request_id::RequestId;
use crate::openapi::{Doc, Routes};
use crate::ratelimit::RateClass;
use crate::state::AppState;

/// Budget of each dependency check in the readiness probe.
const CHECK_TIMEOUT: Duration = Duration::from_millis(800);

/// The health routes, with their documentation.
pub fn routes() -> Routes {
    let p = Policy::public(RateClass::General);
    Routes::new()
        // Liveness is deliberately unlimited and policy-free: it must not touch Redis.
        .route(
            "/health",
            get(liveness),
            [
                Doc::get("Liveness (no dependency checks, not rate limited)", None)
                    .id("health", "liveness")
                    .ok::<Liveness>(200, "The process is up."),
            ],
        )
        .route(
            "/v1/health",
            p.on(get(readiness)),
            [Doc::get("Readiness (PostgreSQL and Redis)", Some(p))
                .id("health", "readiness")
                .ok::<Readiness>(200, "Every dependency is up.")],
        )
}

/// The health router.
pub fn router() -> Router<AppState> {
    routes().into_router()
}

/// The readiness report.
#[derive(Debug, serde::Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct Readiness {
    /// Always `ok` (a dependency down is a 503 problem listing `components`).
    pub status: String,
    pub request_id: String,
    pub timestamp: String,
    /// `{"database": {"status": "up", "latencyMs": 1.2}, "redis": {...}}`.
    #[schema(value_type = Object)]
    pub components: Value,
}

fn now() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// The liveness report (`GET /health`, tRPC `health`).
#[derive(Debug, serde::Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct Liveness {
    /// Always `ok`.
    pub status: String,
    pub request_id: String,
    /// RFC 3339, milliseconds, UTC.
    pub timestamp: String,
}

fn liveness_report(request_id: String) -> Liveness {
    Liveness {
        status: "ok".to_owned(),
        request_id,
        timestamp: now(),
    }
}

async fn liveness(Extension(rid): Extension<RequestId>) -> Json<Liveness> {
    Json(liveness_report(rid.0))
}

/// The health procedure: liveness, public (general rate-limit class).
pub fn procedures() -> Vec<crate::trpc::Procedure> {
    vec![crate::trpc::query(
        "health",
        Policy::public(RateClass::General),
        |ctx: crate::trpc::Ctx, _: ()| async move { Ok(liveness_report(ctx.request_id())) },
    )]
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1000.0 * 100.0).round() / 100.0
}

async fn readiness(
    State(state): State<AppState>,
    Extension(rid): Extension<RequestId>,
) -> Result<Json<Readiness>, ApiError> {
    let (db, redis) = tokio::join!(state.db().ping(CHECK_TIMEOUT), async {
        tokio::time::timeout(CHECK_TIMEOUT, state.limiter().ping()).await
    });
    let database = match db {
        Ok(d) => json!({ "status": "up", "latencyMs": ms(d) }),
        Err(_) => json!({ "status": "down" }),
    };
    let redis = match redis {
        Ok(Ok(Some(d))) => json!({ "status": "up", "latencyMs": ms(d) }),
        Ok(Ok(None)) => json!({ "status": "up", "mode": "in-process" }),
        _ => json!({ "status": "down" }),
    };
    let components = json!({ "database": database, "redis": redis });
    if components["database"]["status"] == "down" || components["redis"]["status"] == "down" {
        return Err(ApiError::NotReady {
            components,
            retry_after: 5,
        });
    }
    Ok(Json(Readiness {
        status: "ok".to_owned(),
        request_id: rid.0,
        timestamp: now(),
        components,
    }))
}
