//! Renders errors as RFC 9457 `application/problem+json`, in the caller's language and with the
//! request id. Covers our own [`ApiError`]s (carried as [`PendingProblem`]), axum's bare
//! 4xx/5xx responses, and panics.

use std::any::Any;

use axum::body::Body;
use axum::extract::Request;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};

use super::request_id::RequestId;
use crate::error::{ApiError, Lang, Msg, PendingProblem};

/// Media type of every error body.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// The internal cause of a 500, handed to the request log (which redacts it) and never to a body.
#[derive(Debug, Clone)]
pub struct InternalCause(pub String);

/// The middleware.
pub async fn render(req: Request, next: Next) -> Response {
    let lang = Lang::from_accept_language(
        req.headers()
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let res = next.run(req).await;

    let pending = res
        .extensions()
        .get::<PendingProblem>()
        .map(|p| p.0.clone());
    let error = match pending {
        Some(e) => e,
        None if is_bare_error(&res) => bare_status_error(&res),
        None => return res,
    };
    let (mut parts, _) = res.into_parts();
    if let ApiError::Internal(cause) = &error {
        parts.extensions.insert(InternalCause(cause.to_string()));
    }
    let body = serde_json::to_vec(&error.to_problem(lang, &request_id)).unwrap_or_default();
    parts
        .headers
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
    parts.headers.insert(
        header::CONTENT_LANGUAGE,
        HeaderValue::from_static(match lang {
            Lang::Pt => "pt-BR",
            Lang::En => "en",
        }),
    );
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.remove(header::CONTENT_ENCODING);
    parts.extensions.remove::<PendingProblem>();
    Response::from_parts(parts, Body::from(body))
}

/// An error status that some layer produced without our body (axum's 405, a 413 from a
/// length-limited body, a 500 from the runtime).
fn is_bare_error(res: &Response) -> bool {
    (res.status().is_client_error() || res.status().is_server_error())
        && !res.headers().contains_key(header::CONTENT_TYPE)
}

fn bare_status_error(res: &Response) -> ApiError {
    match res.status() {
        StatusCode::NOT_FOUND => ApiError::NotFound,
        StatusCode::METHOD_NOT_ALLOWED => ApiError::MethodNotAllowed {
            allow: res.headers().get(header::ALLOW).cloned(),
        },
        StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        StatusCode::UNSUPPORTED_MEDIA_TYPE => ApiError::UnsupportedMediaType,
        StatusCode::REQUEST_TIMEOUT | StatusCode::GATEWAY_TIMEOUT => ApiError::Timeout,
        s if s.is_client_error() => ApiError::BadRequest {
            code: "bad_request",
            detail: Msg::new(
                "A requisição não pôde ser processada.",
                "The request could not be processed.",
            ),
        },
        _ => ApiError::internal(std::io::Error::other(format!(
            "bare {} response",
            res.status()
        ))),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("panic: {0}")]
struct Panicked(String);

/// `CatchPanicLayer` handler: the panic becomes a 500 problem; the payload goes to the log only.
pub fn panic_response(payload: Box<dyn Any + Send + 'static>) -> Response {
    let text = payload
        .downcast_ref::<String>()
        .cloned()
        .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
        .unwrap_or_else(|| "non-string panic payload".to_owned());
    ApiError::internal(Panicked(text)).into_response()
}
