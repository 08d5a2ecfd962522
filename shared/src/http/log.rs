//! Structured logging: one JSON line per request and a redaction filter in front of stdout.
//!
//! Request lines carry ids only (method, matched route, status, duration, request id and a
//! hashed user id). Anything that still looks like a CPF, CNPJ, e-mail or phone number in any
//! field of any line is masked by [`redact`] before it is written.

use std::io::Write;
use std::sync::LazyLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::Response;
use regex::Regex;
use sha2::{Digest, Sha256};
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;

use super::problem::InternalCause;
use super::request_id::RequestId;

/// The matched route template (`/v1/patients/{id}`), copied to the response for the log.
#[derive(Debug, Clone)]
pub struct LoggedRoute(pub String);

/// A one-way hash of the authenticated user id, for correlating lines without the id itself.
#[derive(Debug, Clone)]
pub struct LoggedUser(pub String);

impl LoggedUser {
    /// Hashes `user_id` (first 16 hex digits of SHA-256).
    pub fn from_user_id(user_id: &uuid::Uuid) -> Self {
        let digest = Sha256::digest(format!("neonpro-log/v1:{user_id}").as_bytes());
        Self(hex::encode(&digest[..8]))
    }
}

/// Route layer (inside the router): records which route matched.
pub async fn record_route(req: Request, next: Next) -> Response {
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned());
    let mut res = next.run(req).await;
    if let Some(route) = route {
        res.extensions_mut().insert(LoggedRoute(route));
    }
    res
}

/// The request-log middleware.
pub async fn request_log(req: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = req.method().clone();
    let request_id = req
        .extensions()
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let res = next.run(req).await;
    // Microsecond precision: enough, and short runs of digits cannot look like a CPF or CNPJ to
    // the redaction filter.
    let duration_ms = (started.elapsed().as_secs_f64() * 1_000_000.0).round() / 1000.0;
    let route = res
        .extensions()
        .get::<LoggedRoute>()
        .map(|r| r.0.as_str())
        .unwrap_or("unmatched");
    let user = res
        .extensions()
        .get::<LoggedUser>()
        .map(|u| u.0.as_str())
        .unwrap_or("");
    let status = res.status().as_u16();
    if let Some(InternalCause(cause)) = res.extensions().get::<InternalCause>() {
        tracing::error!(target: "neonpro::request", method = %method, route, status, duration_ms, request_id, user, cause = %cause, "request failed");
    } else if status >= 500 {
        tracing::warn!(target: "neonpro::request", method = %method, route, status, duration_ms, request_id, user, "request");
    } else {
        tracing::info!(target: "neonpro::request", method = %method, route, status, duration_ms, request_id, user, "request");
    }
    res
}

static PATTERNS: LazyLock<Vec<(Regex, &'static str)>> = LazyLock::new(|| {
    [
        // e-mail first, so its digits are not half-masked as a phone.
        (
            r"[A-Za-z0-9._%+\-]+@[A-Za-z0-9.\-]+\.[A-Za-z]{2,}",
            "[email]",
        ),
        // CNPJ, numeric (formatted or bare) and the 2026 alphanumeric format (formatted).
        (r"\b\d{2}\.?\d{3}\.?\d{3}/?\d{4}-?\d{2}\b", "[cnpj]"),
        (
            r"\b[0-9A-Z]{2}\.[0-9A-Z]{3}\.[0-9A-Z]{3}/[0-9A-Z]{4}-\d{2}\b",
            "[cnpj]",
        ),
        // CPF, formatted or bare.
        (r"\b\d{3}\.?\d{3}\.?\d{3}-?\d{2}\b", "[cpf]"),
        // Brazilian phones: optional +55, area code, optional ninth digit.
        (
            r"(?:\+?\b55[\s\-]?)?(?:\(\d{2}\)|\b\d{2})[\s\-]?9?\d{4}[\s\-]?\d{4}\b",
            "[phone]",
        ),
    ]
    .into_iter()
    .filter_map(|(p, r)| Regex::new(p).ok().map(|re| (re, r)))
    .collect()
});

/// Masks CPF, CNPJ, e-mail and phone patterns in `line`.
pub fn redact(line: &str) -> String {
    let mut out = line.to_owned();
    for (re, replacement) in PATTERNS.iter() {
        if re.is_match(&out) {
            out = re.replace_all(&out, *replacement).into_owned();
        }
    }
    out
}

/// A stdout writer that redacts each formatted line before writing it.
#[derive(Debug, Default, Clone, Copy)]
pub struct RedactingStdout;

/// Buffers one event, then writes it redacted.
pub struct RedactingLine(Vec<u8>);

impl Write for RedactingLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for RedactingLine {
    fn drop(&mut self) {
        let text = String::from_utf8_lossy(&self.0);
        let _ = std::io::stdout().lock().write_all(redact(&text).as_bytes());
    }
}

impl<'a> MakeWriter<'a> for RedactingStdout {
    type Writer = RedactingLine;
    fn make_writer(&'a self) -> Self::Writer {
        RedactingLine(Vec::with_capacity(256))
    }
}

/// Installs the JSON subscriber once per process (level from `RUST_LOG`, default `info`).
pub fn init() {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let _ = tracing_subscriber::fmt()
        .json()
        .flatten_event(true)
        .with_current_span(false)
        .with_span_list(false)
        .with_env_filter(filter)
        .with_writer(RedactingStdout)
        .try_init();
}

#[cfg(test)]
mod tests {
    use super::redact;

    #[test]
    fn personal_data_patterns_are_masked() {
        let line = r#"{"msg":"x","a":"111.444.777-35","b":"11144477735","c":"ana.souza@example.com.br","d":"+55 11 98765-4321","e":"(11) 3456-7890","f":"11.222.333/0001-81","g":"12.ABC.345/01DE-35"}"#;
        let out = redact(line);
        for secret in [
            "111.444.777-35",
            "11144477735",
            "ana.souza",
            "98765-4321",
            "3456-7890",
            "11.222.333/0001-81",
            "12.ABC.345/01DE-35",
        ] {
            assert!(!out.contains(secret), "{secret} leaked in {out}");
        }
    }

    #[test]
    fn ids_and_timings_survive() {
        let line = r#"{"request_id":"0190d5a2-7b3c-7d2e-9f00-446655440000","status":200,"duration_ms":134.567,"route":"/v1/patients/{id}"}"#;
        assert_eq!(redact(line), line);
    }
}
