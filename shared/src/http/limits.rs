//! Transport limits: the production HTTPS redirect and the request body limit.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use crate::error::ApiError;
use crate::state::AppState;

/// In production a request that reached us over plain HTTP (as Vercel's edge reports in
/// `x-forwarded-proto`) is sent to its HTTPS URL with a 308, which keeps method and body.
pub async fn https_redirect(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let plain_http = req
        .headers()
        .get("x-forwarded-proto")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|p| p.eq_ignore_ascii_case("http"));
    if state.config().is_production() && plain_http {
        let host = req
            .headers()
            .get("x-forwarded-host")
            .or_else(|| req.headers().get(header::HOST))
            .and_then(|h| h.to_str().ok())
            .filter(|h| {
                h.bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
            });
        let path = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/");
        if let Some(Ok(location)) =
            host.map(|h| HeaderValue::from_str(&format!("https://{h}{path}")))
        {
            let mut res = StatusCode::PERMANENT_REDIRECT.into_response();
            res.headers_mut().insert(header::LOCATION, location);
            return res;
        }
    }
    next.run(req).await
}

/// Refuses a declared `Content-Length` above the limit before reading anything. Bodies without
/// a length are bounded by axum's `DefaultBodyLimit`, which our JSON extractor maps to 413 too.
pub async fn body_limit(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > state.config().body_limit as u64) {
        return ApiError::PayloadTooLarge.into_response();
    }
    next.run(req).await
}
