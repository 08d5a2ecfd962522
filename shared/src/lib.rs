//! NeonPro API library (`neonpro`).
//!
//! Everything the Vercel function binaries in `api/` need lives here, so a function is only
//! "build state once, mount a router, run" (ARCHITECTURE.md §1):
//!
//! - [`config`]: typed settings parsed once from the environment.
//! - [`error`]: the one error type; every failure leaves as RFC 9457 problem+json.
//! - [`http`]: the request pipeline (request id, headers, CORS, logging, limits, route policy).
//! - [`auth`]: Supabase access-token verification and the `AuthUser` extractors.
//! - [`tenancy`]: clinic membership, roles and the permission table.
//! - [`db`]: the lazy Postgres pool and the per-request RLS transaction.
//! - [`ratelimit`]: per-class sliding windows in Redis (or in-process in development).
//! - [`health`], [`identity`]: the first domains (liveness/readiness, who-am-I).
//! - [`patients`], [`scheduling`]: patients and consents; catalog and appointments.
//! - [`runtime`]: the glue that serves a router as a Vercel function.

pub mod audit;
pub mod auth;
pub mod br;
pub mod config;
pub mod crypto;
pub mod db;
pub mod error;
pub mod health;
pub mod http;
pub mod identity;
pub mod openapi;
pub mod patients;
pub mod ratelimit;
pub mod runtime;
pub mod scheduling;
pub mod state;
pub mod tenancy;
pub mod trpc;

pub use error::{ApiError, ApiResult};
pub use state::AppState;

use axum::Router;

/// Every domain router merged, behind the full pipeline.
///
/// Tests drive this in-process; `scripts/dev` serves the same routers one function per file through
/// `vercel dev`, so moving to fewer functions later is a configuration change.
pub fn app(state: AppState) -> Router {
    http::pipeline(routes(), state)
}

/// Every domain router merged (REST and `/trpc`), without the pipeline.
pub fn routes() -> Router<AppState> {
    rest_routes().into_router().merge(trpc::router())
}

/// Every REST route with its documentation (the source of `GET /v1/openapi.json`).
pub fn rest_routes() -> openapi::Routes {
    health::routes()
        .merge(identity::routes())
        .merge(audit::routes())
        .merge(patients::routes())
        .merge(scheduling::routes())
        .merge(openapi::routes())
}
