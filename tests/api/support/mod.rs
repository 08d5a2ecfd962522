//! Shared test helpers: an in-process app built from explicit settings (never from mutating the
//! process environment), and request/response conveniences.

#![allow(dead_code)]

pub mod db;
pub mod identity;
pub mod jwks;
pub mod postgres;
pub mod process;
pub mod redis;
pub mod tokens;

use std::collections::HashMap;

use axum::Router;
use axum::body::Body;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::BodyExt;
use neonpro::AppState;
use neonpro::config::Config;
use tower::ServiceExt;

/// Settings for an in-process app: development defaults plus `overrides`.
pub fn config(overrides: &[(&str, &str)]) -> Config {
    let map: HashMap<String, String> = overrides
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    Config::from_lookup(|k| map.get(k).cloned()).expect("test config")
}

/// An in-process app.
pub struct TestApp {
    pub state: AppState,
    pub router: Router,
}

impl TestApp {
    pub fn new(overrides: &[(&str, &str)]) -> Self {
        Self::from_config(config(overrides))
    }

    pub fn from_config(cfg: Config) -> Self {
        let state = AppState::new(cfg);
        let router = neonpro::app(state.clone());
        Self { state, router }
    }

    /// The full app plus the test-only routes (`/__test/panic`, `/__test/slow`, …).
    pub fn with_test_routes(overrides: &[(&str, &str)]) -> Self {
        let state = AppState::new(config(overrides));
        let routes = neonpro::health::router()
            .merge(neonpro::identity::router())
            .merge(neonpro::http::testing::router());
        let router = neonpro::http::pipeline(routes, state.clone());
        Self { state, router }
    }

    pub async fn send(&self, req: Request<Body>) -> TestResponse {
        let res = self.router.clone().oneshot(req).await.expect("infallible");
        let status = res.status();
        let headers = res.headers().clone();
        let body = res
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
            .to_vec();
        TestResponse {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str) -> TestResponse {
        self.send(Request::get(path).body(Body::empty()).unwrap())
            .await
    }
}

/// A fully read response.
#[derive(Debug)]
pub struct TestResponse {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
}

impl TestResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.body)))
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// Asserts a problem+json body with `status` and `code`, and returns it.
    pub fn assert_problem(&self, status: u16, code: &str) -> serde_json::Value {
        assert_eq!(
            self.status.as_u16(),
            status,
            "body: {}",
            String::from_utf8_lossy(&self.body)
        );
        assert_eq!(
            self.header("content-type"),
            Some("application/problem+json")
        );
        let p = self.json();
        assert_eq!(p["status"], status);
        assert_eq!(p["code"], code);
        assert!(p["requestId"].as_str().is_some_and(|s| !s.is_empty()));
        assert!(p["title"].is_string() && p["detail"].is_string() && p["type"].is_string());
        p
    }
}

/// A request as `user` (bearer token), with an optional JSON body and extra headers.
pub async fn call(
    app: &TestApp,
    method: &str,
    path: &str,
    user: uuid::Uuid,
    body: Option<serde_json::Value>,
    headers: &[(&str, &str)],
) -> TestResponse {
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("authorization", identity::bearer(user));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = match body {
        Some(b) => req
            .header("content-type", "application/json")
            .body(Body::from(b.to_string()))
            .unwrap(),
        None => req.body(Body::empty()).unwrap(),
    };
    app.send(req).await
}

/// Percent-encodes a query-string value (RFC 3986 unreserved characters kept).
pub fn url_encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}
