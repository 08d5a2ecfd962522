//! Request ids: keep a well-formed inbound `X-Request-ID`, otherwise mint a UUIDv7, and echo it
//! on every response so a caller can quote it to support.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderName, HeaderValue};

/// The header carrying the id.
pub static X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The request's id, available to handlers and later layers as a request extension.
#[derive(Debug, Clone)]
pub struct RequestId(pub String);

/// Accepts an inbound id only if it is 1–128 visible ASCII characters: anything else could
/// smuggle control characters or unbounded text into our logs.
pub fn is_well_formed(id: &str) -> bool {
    !id.is_empty() && id.len() <= 128 && id.bytes().all(|b| (0x21..=0x7e).contains(&b))
}

/// The middleware.
pub async fn request_id(mut req: Request, next: Next) -> Response {
    let id = req
        .headers()
        .get(&X_REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| is_well_formed(v))
        .map(str::to_owned)
        .unwrap_or_else(|| uuid::Uuid::now_v7().to_string());
    req.extensions_mut().insert(RequestId(id.clone()));
    let mut res = next.run(req).await;
    if let Ok(v) = HeaderValue::from_str(&id) {
        res.headers_mut().insert(X_REQUEST_ID.clone(), v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::is_well_formed;

    #[test]
    fn ids_are_bounded_visible_ascii() {
        assert!(is_well_formed("abc-123_XYZ"));
        assert!(!is_well_formed(""));
        assert!(!is_well_formed("has space"));
        assert!(!is_well_formed("tab\there"));
        assert!(!is_well_formed(&"a".repeat(129)));
        assert!(is_well_formed(&"a".repeat(128)));
        assert!(!is_well_formed("olá"));
    }
}
