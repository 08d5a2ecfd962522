//! CORS with an exact allow-list (`ALLOWED_ORIGINS`, plus the deployment's own URLs on a
//! preview). Never `*`, never `null`, never a reflected arbitrary origin, never `*.vercel.app`,
//! no credentials (tokens travel in `Authorization`, not cookies). A disallowed origin gets no
//! CORS headers at all, and its preflight is refused.

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderMap, HeaderValue, Method, StatusCode, header};

use crate::error::{ApiError, Msg};
use crate::state::AppState;

/// Methods a browser may use cross-origin.
pub const ALLOWED_METHODS: &str = "GET, POST, PUT, PATCH, DELETE, OPTIONS";
/// Request headers a browser may send cross-origin.
pub const ALLOWED_HEADERS: &str = "Authorization, Content-Type, X-Request-ID, X-Clinic-Id, Idempotency-Key, If-Match, Accept-Language";
/// Response headers a browser script may read.
pub const EXPOSED_HEADERS: &str = "X-Request-ID, ETag, Location, Retry-After, RateLimit, RateLimit-Policy, X-RateLimit-Limit, X-RateLimit-Remaining, X-RateLimit-Reset";
/// Preflight cache lifetime (Chromium caps at 7200 s).
pub const MAX_AGE_SECS: &str = "7200";

fn allowed_origin<'a>(state: &AppState, headers: &'a HeaderMap) -> Option<&'a HeaderValue> {
    let origin = headers.get(header::ORIGIN)?;
    let text = origin.to_str().ok()?;
    // Exact, case-sensitive comparison: no suffix, prefix, regex or scheme games.
    state
        .config()
        .allowed_origins
        .iter()
        .any(|o| o == text)
        .then_some(origin)
}

fn preflight_ok(headers: &HeaderMap) -> bool {
    let method_ok = headers
        .get(header::ACCESS_CONTROL_REQUEST_METHOD)
        .and_then(|m| m.to_str().ok())
        .is_some_and(|m| ALLOWED_METHODS.split(", ").any(|a| a == m));
    let allowed: Vec<String> = ALLOWED_HEADERS
        .split(", ")
        .map(str::to_ascii_lowercase)
        .collect();
    let headers_ok = match headers.get(header::ACCESS_CONTROL_REQUEST_HEADERS) {
        None => true,
        Some(v) => v.to_str().is_ok_and(|list| {
            list.split(',')
                .map(|h| h.trim().to_ascii_lowercase())
                .filter(|h| !h.is_empty())
                .all(|h| allowed.contains(&h))
        }),
    };
    method_ok && headers_ok
}

/// The middleware: answers preflights itself and decorates every other response.
pub async fn cors(State(state): State<AppState>, req: Request, next: Next) -> Response {
    let origin = allowed_origin(&state, req.headers()).cloned();
    let is_preflight = req.method() == Method::OPTIONS
        && req.headers().contains_key(header::ORIGIN)
        && req
            .headers()
            .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);

    let mut res = if is_preflight {
        match (&origin, preflight_ok(req.headers())) {
            (Some(_), true) => {
                let mut res = StatusCode::NO_CONTENT.into_response();
                let h = res.headers_mut();
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_METHODS,
                    HeaderValue::from_static(ALLOWED_METHODS),
                );
                h.insert(
                    header::ACCESS_CONTROL_ALLOW_HEADERS,
                    HeaderValue::from_static(ALLOWED_HEADERS),
                );
                h.insert(
                    header::ACCESS_CONTROL_MAX_AGE,
                    HeaderValue::from_static(MAX_AGE_SECS),
                );
                res
            }
            _ => {
                return with_vary(
                    ApiError::Forbidden {
                        code: "cors_rejected",
                        detail: Msg::new(
                            "Origem, método ou cabeçalho não permitido por CORS.",
                            "Origin, method or header not allowed by CORS.",
                        ),
                    }
                    .into_response(),
                );
            }
        }
    } else {
        next.run(req).await
    };

    if let Some(origin) = origin {
        let h = res.headers_mut();
        h.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        h.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static(EXPOSED_HEADERS),
        );
    }
    with_vary(res)
}

fn with_vary(mut res: Response) -> Response {
    // The answer depends on Origin even when it is "no CORS headers": caches must know.
    res.headers_mut()
        .append(header::VARY, HeaderValue::from_static("Origin"));
    res
}
