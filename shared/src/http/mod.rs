//! The request pipeline (ARCHITECTURE.md §2): tower layers every router runs behind, plus the
//! per-route [`policy`] that declares a route's rate-limit class, authentication and time budget.
//!
//! Layer order, outermost first:
//! 1. [`request_id`] — keep a well-formed `X-Request-ID` or mint a UUIDv7; echo it.
//! 2. [`headers`] — security headers on every response, errors and preflights included.
//! 3. [`log`] — one JSON line per request (ids only; a redaction filter masks personal data).
//! 4. [`problem`] — renders [`crate::ApiError`]s (and bare 4xx/5xx) as problem+json.
//! 5. [`cors`] — exact allow-list; preflights answered here.
//! 6. panic catching — a panic becomes a 500 problem; the process keeps serving.
//! 7. [`limits`] — production HTTPS redirect, then the body limit.
//! 8. compression — gzip/br for bodies ≥ 1 KiB, never for event streams.
//! 9. the router, whose routes carry a [`policy::Policy`] (rate limit → auth → timeout).

pub mod cors;
pub mod cursor;
pub mod extract;
pub mod headers;
pub mod limits;
pub mod log;
pub mod policy;
pub mod problem;
pub mod request_id;
#[cfg(feature = "test-support")]
pub mod testing;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::compression::CompressionLayer;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};

use crate::error::ApiError;
use crate::state::AppState;

/// Wraps `routes` (all of them `Router<AppState>`) in the full pipeline and binds the state.
pub fn pipeline(routes: Router<AppState>, state: AppState) -> Router {
    let compression = CompressionLayer::new().br(true).gzip(true).compress_when(
        SizeAbove::new(1024)
            .and(NotForContentType::GRPC)
            .and(NotForContentType::IMAGES)
            .and(NotForContentType::const_new("text/event-stream")),
    );
    let body_limit = state.config().body_limit;
    routes
        // Records the matched route template for the request log (only matched routes).
        .route_layer(middleware::from_fn(log::record_route))
        .fallback(|| async { ApiError::NotFound })
        .method_not_allowed_fallback(|| async { ApiError::MethodNotAllowed { allow: None } })
        .with_state(state.clone())
        // Innermost first: each `.layer` wraps everything above it.
        .layer(compression)
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limits::body_limit,
        ))
        .layer(middleware::from_fn_with_state(
            state.clone(),
            limits::https_redirect,
        ))
        .layer(CatchPanicLayer::custom(problem::panic_response))
        .layer(middleware::from_fn_with_state(state.clone(), cors::cors))
        .layer(middleware::from_fn(problem::render))
        .layer(middleware::from_fn(log::request_log))
        .layer(middleware::from_fn(headers::security_headers))
        .layer(middleware::from_fn(request_id::request_id))
        .layer(axum::Extension(state))
}
