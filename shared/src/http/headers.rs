//! Security headers on every response: errors, 404/405, preflights and panics included
//! (`../shared/reference/security.md` §5.1). Framework-identifying headers are removed.

use axum::extract::Request;
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderName, HeaderValue, header};

/// `Permissions-Policy` denying every powerful feature: a JSON API needs none of them.
pub const PERMISSIONS_POLICY: &str = "accelerometer=(), autoplay=(), camera=(), clipboard-read=(), clipboard-write=(), cross-origin-isolated=(), display-capture=(), encrypted-media=(), fullscreen=(), gamepad=(), geolocation=(), gyroscope=(), hid=(), idle-detection=(), interest-cohort=(), keyboard-map=(), magnetometer=(), microphone=(), midi=(), payment=(), picture-in-picture=(), publickey-credentials-get=(), screen-wake-lock=(), serial=(), sync-xhr=(), usb=(), web-share=(), xr-spatial-tracking=()";

/// The API's content security policy: nothing may load, frame or submit anywhere.
pub const CSP: &str =
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

/// Marker a route may put in its response extensions to keep its own `Content-Security-Policy`
/// (the API reference page needs a narrowly scoped one).
#[derive(Debug, Clone, Copy)]
pub struct OwnCsp;

const FIXED: [(HeaderName, &str); 8] = [
    (
        header::STRICT_TRANSPORT_SECURITY,
        "max-age=31536000; includeSubDomains; preload",
    ),
    (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
    (header::X_FRAME_OPTIONS, "DENY"),
    (header::REFERRER_POLICY, "no-referrer"),
    (
        HeaderName::from_static("permissions-policy"),
        PERMISSIONS_POLICY,
    ),
    (
        HeaderName::from_static("cross-origin-opener-policy"),
        "same-origin",
    ),
    (
        HeaderName::from_static("cross-origin-resource-policy"),
        "same-origin",
    ),
    (
        HeaderName::from_static("x-permitted-cross-domain-policies"),
        "none",
    ),
];

/// The middleware.
pub async fn security_headers(req: Request, next: Next) -> Response {
    let mut res = next.run(req).await;
    let own_csp = res.extensions().get::<OwnCsp>().is_some();
    let h = res.headers_mut();
    for (name, value) in FIXED.iter() {
        h.insert(name.clone(), HeaderValue::from_static(value));
    }
    if !own_csp || !h.contains_key(header::CONTENT_SECURITY_POLICY) {
        h.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(CSP),
        );
    }
    // API responses carry health data: never cached by browsers or intermediaries.
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    h.remove(header::SERVER);
    h.remove(HeaderName::from_static("x-powered-by"));
    res
}
