//! Route policy: what each route declares where it is defined — its rate-limit class, whether
//! it needs a caller, and its time budget — and the guard that enforces it.
//!
//! For a route with a policy the guard runs, in order:
//! 1. if the request carries credentials, the failed-authentication budget of the client IP is
//!    peeked: an exhausted budget answers 429 before any token work;
//! 2. the bearer token is verified (a failure is counted against that budget and answers 401);
//! 3. the route's class is charged to the caller (user id when authenticated, else client IP);
//! 4. the handler runs within the route's timeout (504 past it).
//!
//! When the limiter is unavailable (Redis down or slower than `REDIS_TIMEOUT_MS`), a class that
//! [fails closed](RateClass::fails_closed) answers 503 `rate_limit_unavailable` with
//! `Retry-After`; the others let the request through, logged and counted
//! ([`crate::ratelimit::Limiter::fail_open_count`]).
//!
//! Limited responses carry the IETF draft-11 `RateLimit-Policy`/`RateLimit` fields and the
//! legacy `X-RateLimit-*`, except on authentication endpoints, whose remaining budget would help
//! an attacker pace guesses (draft-11 §8.2); there a 429 carries `Retry-After` only.

use std::net::{IpAddr, SocketAddr};
use std::time::Duration;

use axum::extract::{ConnectInfo, Request};
use axum::middleware::{Next, from_fn};
use axum::response::{IntoResponse, Response};
use axum::routing::MethodRouter;
use http::{HeaderMap, HeaderValue, header};

use super::log::LoggedUser;
use crate::auth::AuthContext;
use crate::error::ApiError;
use crate::ratelimit::{Decision, RateClass, Unavailable};
use crate::state::AppState;

/// Whether a route needs a verified caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// No credentials needed or read (health probes).
    Public,
    /// A valid bearer token is required.
    Authenticated,
}

/// The declaration attached to a route.
#[derive(Debug, Clone, Copy)]
pub struct Policy {
    /// Rate-limit class charged for each request.
    pub class: RateClass,
    /// Who may call.
    pub access: Access,
    /// Time budget; `None` means the configured default (`REQUEST_TIMEOUT_MS`).
    pub timeout: Option<Duration>,
    /// An authentication endpoint (login, OTP, password reset): no rate-limit headers.
    pub auth_endpoint: bool,
}

impl Policy {
    /// A public route in `class`.
    pub const fn public(class: RateClass) -> Self {
        Self {
            class,
            access: Access::Public,
            timeout: None,
            auth_endpoint: false,
        }
    }

    /// An authenticated route in `class`.
    pub const fn authenticated(class: RateClass) -> Self {
        Self {
            class,
            access: Access::Authenticated,
            timeout: None,
            auth_endpoint: false,
        }
    }

    /// Overrides the time budget of this route.
    pub const fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Marks an authentication endpoint (login, OTP, password reset), whose responses must not
    /// disclose a rate-limit budget.
    pub const fn auth_endpoint(mut self) -> Self {
        self.auth_endpoint = true;
        self
    }

    /// Whether responses carry rate-limit headers: not on authentication endpoints, which are
    /// also every route charged to the failed-authentication budget.
    pub fn shows_rate_limit_headers(&self) -> bool {
        !(self.auth_endpoint || self.class == RateClass::AuthFailures)
    }

    /// Attaches this policy to a method router.
    pub fn on(self, route: MethodRouter<AppState>) -> MethodRouter<AppState> {
        route.layer(from_fn(move |req: Request, next: Next| {
            guard(self, req, next)
        }))
    }
}

/// The client address as Vercel reports it: the first `x-forwarded-for` entry (Vercel overwrites
/// that header, so it cannot be spoofed there), then `x-real-ip`, then the socket address.
pub fn client_ip(headers: &HeaderMap, socket: Option<SocketAddr>) -> Option<IpAddr> {
    let forwarded = headers
        .get("x-forwarded-for")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(',').next())
        .and_then(|v| v.trim().parse::<IpAddr>().ok());
    forwarded
        .or_else(|| {
            headers
                .get("x-real-ip")
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.trim().parse().ok())
        })
        .or(socket.map(|s| s.ip()))
}

/// The rate-limit identity of an address: IPv4 as is, IPv6 grouped by its /64 (one subscriber
/// usually owns a whole /64, so per-address limits would be trivially bypassed).
pub fn ip_identity(ip: Option<IpAddr>) -> String {
    match ip {
        Some(IpAddr::V4(v4)) => format!("ip:{v4}"),
        Some(IpAddr::V6(v6)) => match v6.to_ipv4_mapped() {
            Some(v4) => format!("ip:{v4}"),
            None => {
                let s = v6.segments();
                format!("ip6:{:x}:{:x}:{:x}:{:x}::/64", s[0], s[1], s[2], s[3])
            }
        },
        None => "ip:unknown".to_owned(),
    }
}

fn bearer(headers: &HeaderMap) -> Option<Result<&str, ()>> {
    let value = headers.get(header::AUTHORIZATION)?;
    let text = value.to_str().map_err(|_| ());
    Some(text.and_then(|t| {
        let (scheme, token) = t.split_once(' ').ok_or(())?;
        if scheme.eq_ignore_ascii_case("bearer") && !token.trim().is_empty() {
            Ok(token.trim())
        } else {
            Err(())
        }
    }))
}

/// Adds the IETF draft-11 `RateLimit`/`RateLimit-Policy` fields (`t` in delta seconds) and, for
/// clients written against the older drafts, `X-RateLimit-*` (`Reset` as a Unix timestamp, as
/// GitHub and most clients expect).
pub fn rate_limit_headers(
    headers: &mut HeaderMap,
    class: RateClass,
    window: Duration,
    d: &Decision,
) {
    let name = class.name();
    let pairs = [
        (
            "ratelimit-policy",
            format!("\"{name}\";q={};w={}", d.limit, window.as_secs()),
        ),
        (
            "ratelimit",
            format!("\"{name}\";r={};t={}", d.remaining, d.reset_secs),
        ),
        ("x-ratelimit-limit", d.limit.to_string()),
        ("x-ratelimit-remaining", d.remaining.to_string()),
        (
            "x-ratelimit-reset",
            (chrono::Utc::now().timestamp() as u64 + d.reset_secs).to_string(),
        ),
    ];
    for (k, v) in pairs {
        if let Ok(v) = HeaderValue::from_str(&v) {
            headers.insert(k, v);
        }
    }
}

/// Steps 1–2 of the guard: verifies the bearer token of a request, with the failed-authentication
/// budget of `ip_id` peeked first (429 before any token work) and charged on failure (401). A
/// request without credentials is a plain 401 that never touches the budget. Also used by the
/// tRPC endpoint, which authenticates once per batch.
pub async fn authenticate(
    state: &AppState,
    headers: &HeaderMap,
    ip_id: &str,
) -> Result<AuthContext, ApiError> {
    let limiter = state.limiter();
    let token = match bearer(headers) {
        None => {
            return Err(ApiError::Unauthenticated {
                invalid_token: false,
            });
        }
        Some(t) => t.map(str::to_owned),
    };
    // 1. A client that already failed too often gets no token work at all. The answer carries
    //    Retry-After only: the failed-auth budget is never disclosed.
    match limiter.peek(RateClass::AuthFailures, ip_id).await {
        Ok(d) if !d.allowed => {
            return Err(ApiError::RateLimited {
                retry_after: d.retry_after_secs.max(1),
            });
        }
        Ok(_) => {}
        Err(Unavailable) => return Err(unavailable_error()),
    }
    // 2. Verify; count only failures.
    let verified = match token {
        Ok(t) => state.verifier().verify(&t).await.map_err(|e| e.0),
        Err(()) => Err("malformed authorization header"),
    };
    match verified {
        Ok(claims) => Ok(AuthContext { claims }),
        Err(reason) => {
            tracing::info!(target: "neonpro::auth", reason, "token rejected");
            if crate::auth::AuthError::counts_as_failed_attempt(reason)
                && limiter.hit(RateClass::AuthFailures, ip_id).await.is_err()
            {
                return Err(unavailable_error());
            }
            Err(ApiError::Unauthenticated {
                invalid_token: true,
            })
        }
    }
}

async fn guard(policy: Policy, mut req: Request, next: Next) -> Response {
    let Some(state) = req.extensions().get::<AppState>().cloned() else {
        return ApiError::internal(std::io::Error::other(
            "AppState missing from request extensions",
        ))
        .into_response();
    };
    let socket = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let ip_id = ip_identity(client_ip(req.headers(), socket));
    let limiter = state.limiter();
    let mut logged_user = None;

    let identity = match policy.access {
        Access::Public => ip_id.clone(),
        Access::Authenticated => match authenticate(&state, req.headers(), &ip_id).await {
            Ok(ctx) => {
                logged_user = Some(LoggedUser::from_user_id(&ctx.claims.sub));
                let id = format!("user:{}", ctx.claims.sub);
                req.extensions_mut().insert(ctx);
                id
            }
            Err(e) => return e.into_response(),
        },
    };

    // 3. The route's own class.
    let window = limiter.limit(policy.class).window;
    let decision = match limiter.hit(policy.class, &identity).await {
        Ok(d) => Some(d),
        Err(Unavailable) if policy.class.fails_closed() => {
            tracing::warn!(target: "neonpro::ratelimit", class = policy.class.name(), "limiter unavailable; failing closed");
            return with_user(unavailable(), logged_user);
        }
        Err(Unavailable) => {
            limiter.record_fail_open(policy.class);
            None
        }
    };
    if let Some(d) = decision.filter(|d| !d.allowed) {
        let mut res = ApiError::RateLimited {
            retry_after: d.retry_after_secs.max(1),
        }
        .into_response();
        if policy.shows_rate_limit_headers() {
            rate_limit_headers(res.headers_mut(), policy.class, window, &d);
        }
        return with_user(res, logged_user);
    }

    // 4. The handler, within its time budget.
    let budget = policy.timeout.unwrap_or(state.config().request_timeout);
    let mut res = match tokio::time::timeout(budget, next.run(req)).await {
        Ok(res) => res,
        Err(_) => ApiError::Timeout.into_response(),
    };
    if let Some(d) = decision.filter(|_| policy.shows_rate_limit_headers()) {
        rate_limit_headers(res.headers_mut(), policy.class, window, &d);
    }
    with_user(res, logged_user)
}

/// The fail-closed answer: 503 with its own code, so an outage pages a different runbook than
/// an attack (`reference/security.md` §4.1).
fn unavailable() -> Response {
    unavailable_error().into_response()
}

/// The limiter-unavailable error (503 `rate_limit_unavailable` with `Retry-After`).
pub fn unavailable_error() -> ApiError {
    ApiError::Unavailable {
        code: "rate_limit_unavailable",
        retry_after: Unavailable::RETRY_AFTER_SECS,
    }
}

fn with_user(mut res: Response, user: Option<LoggedUser>) -> Response {
    if let Some(u) = user {
        res.extensions_mut().insert(u);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ipv6_clients_are_grouped_by_64() {
        let a = ip_identity(Some("2001:db8:1:2:aaaa::1".parse().unwrap()));
        let b = ip_identity(Some("2001:db8:1:2:ffff:1:2:3".parse().unwrap()));
        let c = ip_identity(Some("2001:db8:1:3::1".parse().unwrap()));
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert_eq!(
            ip_identity(Some("::ffff:10.0.0.1".parse().unwrap())),
            "ip:10.0.0.1"
        );
    }

    #[test]
    fn forwarded_for_wins_then_real_ip() {
        let mut h = HeaderMap::new();
        h.insert("x-real-ip", HeaderValue::from_static("203.0.113.9"));
        assert_eq!(client_ip(&h, None), Some("203.0.113.9".parse().unwrap()));
        h.insert(
            "x-forwarded-for",
            HeaderValue::from_static("198.51.100.7, 10.0.0.1"),
        );
        assert_eq!(client_ip(&h, None), Some("198.51.100.7".parse().unwrap()));
    }

    #[test]
    fn authentication_endpoints_hide_their_budget() {
        assert!(Policy::public(RateClass::General).shows_rate_limit_headers());
        assert!(Policy::authenticated(RateClass::Healthcare).shows_rate_limit_headers());
        assert!(
            !Policy::public(RateClass::General)
                .auth_endpoint()
                .shows_rate_limit_headers()
        );
        assert!(!Policy::public(RateClass::AuthFailures).shows_rate_limit_headers());
    }

    #[test]
    fn headers_follow_draft_11_syntax() {
        let mut h = HeaderMap::new();
        let d = Decision {
            allowed: true,
            limit: 100,
            remaining: 42,
            reset_secs: 17,
            retry_after_secs: 0,
        };
        rate_limit_headers(&mut h, RateClass::General, Duration::from_secs(900), &d);
        assert_eq!(h["ratelimit-policy"], "\"general\";q=100;w=900");
        assert_eq!(h["ratelimit"], "\"general\";r=42;t=17");
        assert_eq!(h["x-ratelimit-limit"], "100");
        assert_eq!(h["x-ratelimit-remaining"], "42");
        let reset: i64 = h["x-ratelimit-reset"].to_str().unwrap().parse().unwrap();
        assert!((reset - chrono::Utc::now().timestamp() - 17).abs() <= 1);
    }
}
