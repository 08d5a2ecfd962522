//! tRPC over HTTP at `/trpc/{procedures}`, compatible with `@trpc/client` v11 (`httpLink`,
//! `httpBatchLink`, no transformer). Procedures are thin adapters over the same service
//! functions the REST handlers call; each runs in its own `Tenant` context (own RLS
//! transaction, own permission check), is charged its own rate-limit class, and maps its
//! [`ApiError`] to a tRPC error in one place ([`wire::code_of`]).
//!
//! Each domain lists its procedures next to its `router()` (`fn procedures() -> Vec<Procedure>`,
//! one [`query`]/[`mutation`] line each); [`procedures`] concatenates them. The same list drives
//! the TypeScript `AppRouter` ([`codegen`]).

pub mod codegen;
pub mod wire;

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, LazyLock};
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, FromRequestParts, Request};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use futures_util::future::BoxFuture;
use http::request::Parts;
use http::{HeaderValue, Method, StatusCode, header};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::auth::AuthContext;
use crate::error::{ApiError, Lang, Msg};
use crate::http::log::LoggedUser;
use crate::http::policy::{
    Access, Policy, authenticate, client_ip, ip_identity, rate_limit_headers, unavailable_error,
};
use crate::http::problem::InternalCause;
use crate::http::request_id::RequestId;
use crate::ratelimit::{Decision, Unavailable};
use crate::state::AppState;
use crate::tenancy::{Tenant, perm};

/// Largest batch accepted (more → 400 `BAD_REQUEST`).
pub const MAX_BATCH: usize = 20;

/// Time budget of a whole batch (calls run one after another; a call past it is a `TIMEOUT`),
/// below the function's `maxDuration` (30 s in vercel.json).
pub const BATCH_BUDGET: Duration = Duration::from_secs(25);

/// Query (GET) or mutation (POST).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Read: `GET` with `?input=`.
    Query,
    /// Write: `POST` with a JSON body.
    Mutation,
}

impl Kind {
    fn method(self) -> Method {
        match self {
            Kind::Query => Method::GET,
            Kind::Mutation => Method::POST,
        }
    }

    /// `query` / `mutation`.
    pub fn name(self) -> &'static str {
        match self {
            Kind::Query => "query",
            Kind::Mutation => "mutation",
        }
    }
}

type Handler = Arc<dyn Fn(Ctx, Value) -> BoxFuture<'static, Result<Value, ApiError>> + Send + Sync>;

/// Renders a TypeScript type (and registers the declarations it needs).
pub type TsFn = fn(&mut codegen::TsTypes) -> String;

/// One procedure: its dotted path, kind, policy (access, rate-limit class, timeout), TypeScript
/// types and the adapter that calls the service.
#[derive(Clone)]
pub struct Procedure {
    /// Dotted path (`patients.getById`).
    pub path: &'static str,
    /// Query or mutation.
    pub kind: Kind,
    /// Access, rate-limit class and time budget (as a REST route declares them).
    pub policy: Policy,
    /// TypeScript type of the input (`void` when the input is `()`).
    pub input_ts: TsFn,
    /// TypeScript type of the output.
    pub output_ts: TsFn,
    handler: Handler,
}

impl std::fmt::Debug for Procedure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Procedure")
            .field("path", &self.path)
            .field("kind", &self.kind)
            .finish_non_exhaustive()
    }
}

fn build<I, O, F, Fut>(path: &'static str, kind: Kind, policy: Policy, f: F) -> Procedure
where
    I: DeserializeOwned + ts_rs::TS + 'static,
    O: Serialize + ts_rs::TS + 'static,
    F: Fn(Ctx, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, ApiError>> + Send + 'static,
{
    let f = Arc::new(f);
    Procedure {
        path,
        kind,
        policy,
        input_ts: codegen::input_type::<I>,
        output_ts: codegen::output_type::<O>,
        handler: Arc::new(move |ctx, raw| {
            let f = Arc::clone(&f);
            Box::pin(async move {
                let input: I = parse_input(raw)?;
                let out = f(ctx, input).await?;
                serde_json::to_value(out).map_err(ApiError::internal)
            })
        }),
    }
}

/// A query procedure (GET). `f` is an adapter over a service function.
pub fn query<I, O, F, Fut>(path: &'static str, policy: Policy, f: F) -> Procedure
where
    I: DeserializeOwned + ts_rs::TS + 'static,
    O: Serialize + ts_rs::TS + 'static,
    F: Fn(Ctx, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, ApiError>> + Send + 'static,
{
    build(path, Kind::Query, policy, f)
}

/// A mutation procedure (POST).
pub fn mutation<I, O, F, Fut>(path: &'static str, policy: Policy, f: F) -> Procedure
where
    I: DeserializeOwned + ts_rs::TS + 'static,
    O: Serialize + ts_rs::TS + 'static,
    F: Fn(Ctx, I) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<O, ApiError>> + Send + 'static,
{
    build(path, Kind::Mutation, policy, f)
}

/// Input shape errors are `BAD_REQUEST` with the field at fault (never the value), like a
/// tRPC input validator; domain validation later is `UNPROCESSABLE_CONTENT`.
/// An absent input also stands for `{}` when the input has only optional fields.
fn parse_input<I: DeserializeOwned>(raw: Value) -> Result<I, ApiError> {
    if raw.is_null()
        && let Ok(v) = serde_json::from_value::<I>(Value::Null)
            .or_else(|_| serde_json::from_value(Value::Object(Default::default())))
    {
        return Ok(v);
    }
    serde_json::from_value(raw).map_err(|e| ApiError::InvalidInput {
        code: "invalid_input",
        fields: vec![crate::http::extract::serde_field_error(&e.to_string())],
    })
}

/// What a procedure gets: the state and the request's parts (with the verified caller), from
/// which it opens its own [`Tenant`] — its own transaction and permission check.
#[derive(Debug, Clone)]
pub struct Ctx {
    state: AppState,
    parts: Parts,
}

impl Ctx {
    /// The process state.
    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Resolves the clinic, checks `P` and opens this procedure's RLS transaction (exactly the
    /// REST extractor, run per procedure).
    pub async fn tenant<P: perm::Permission>(&self) -> Result<Tenant<P>, ApiError> {
        let mut parts = self.parts.clone();
        Tenant::<P>::from_request_parts(&mut parts, &self.state).await
    }

    /// The request id.
    pub fn request_id(&self) -> String {
        self.parts
            .extensions
            .get::<RequestId>()
            .map(|r| r.0.clone())
            .unwrap_or_default()
    }
}

/// Every procedure of the API (one line per domain).
pub fn procedures() -> Vec<Procedure> {
    [
        crate::health::procedures(),
        crate::patients::procedures(),
        crate::scheduling::procedures(),
        crate::audit::procedures(),
    ]
    .concat()
}

static REGISTRY: LazyLock<HashMap<&'static str, Procedure>> =
    LazyLock::new(|| procedures().into_iter().map(|p| (p.path, p)).collect());

/// The tRPC route.
pub fn router() -> Router<AppState> {
    Router::new().route("/trpc/{procedures}", any(handle))
}

#[derive(serde::Deserialize, Default)]
struct TrpcQuery {
    batch: Option<String>,
    input: Option<String>,
}

struct Call<'a> {
    path: &'a str,
    procedure: Option<&'static Procedure>,
}

async fn handle(req: Request) -> Response {
    let Some(state) = req.extensions().get::<AppState>().cloned() else {
        return ApiError::internal(std::io::Error::other("AppState missing")).into_response();
    };
    let (parts, body) = req.into_parts();
    let lang = Lang::from_accept_language(
        parts
            .headers
            .get(header::ACCEPT_LANGUAGE)
            .and_then(|v| v.to_str().ok()),
    );
    let request_id = parts
        .extensions
        .get::<RequestId>()
        .map(|r| r.0.clone())
        .unwrap_or_default();
    let reply = |status: u16, body: Value| -> Response {
        let mut res = (
            StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            axum::Json(body),
        )
            .into_response();
        res.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        );
        res
    };
    let whole = |err: ApiError| -> Response {
        let status = wire::code_of(&err).http_status;
        let mut res = reply(status, wire::error_envelope(&err, None, lang, &request_id));
        if let ApiError::RateLimited { retry_after } | ApiError::Unavailable { retry_after, .. } =
            &err
        {
            res.headers_mut().insert(
                header::RETRY_AFTER,
                HeaderValue::from((*retry_after).max(1)),
            );
        }
        res
    };

    // Paths and query string.
    let raw_paths = parts
        .uri
        .path()
        .strip_prefix("/trpc/")
        .unwrap_or_default()
        .to_owned();
    let query: TrpcQuery = match axum::extract::Query::try_from_uri(&parts.uri) {
        Ok(axum::extract::Query(q)) => q,
        Err(_) => {
            return whole(ApiError::BadRequest {
                code: "invalid_query",
                detail: Msg::new("Query string inválida.", "Invalid query string."),
            });
        }
    };
    let batch = query.batch.as_deref() == Some("1");
    let paths: Vec<String> = if batch {
        raw_paths.split(',').map(str::to_owned).collect()
    } else {
        vec![raw_paths]
    };
    if batch && paths.len() > MAX_BATCH {
        return whole(ApiError::BadRequest {
            code: "batch_too_large",
            detail: Msg::owned(
                format!("Lote excede o máximo de {MAX_BATCH} chamadas."),
                format!("Batch call exceeds the maximum of {MAX_BATCH} calls."),
            ),
        });
    }
    let calls: Vec<Call<'_>> = paths
        .iter()
        .map(|p| Call {
            path: p,
            procedure: REGISTRY.get(p.as_str()),
        })
        .collect();
    let mut kinds = calls.iter().filter_map(|c| c.procedure.map(|p| p.kind));
    if let Some(first) = kinds.next()
        && kinds.any(|k| k != first)
    {
        return whole(ApiError::BadRequest {
            code: "mixed_procedure_types",
            detail: Msg::new(
                "Não misture queries e mutations no mesmo lote.",
                "Cannot mix queries and mutations in one call.",
            ),
        });
    }

    // Inputs: GET `?input=`, POST body; keyed by index when batching.
    let raw_input: Result<Option<Value>, ApiError> = if parts.method == Method::GET {
        match query.input.as_deref() {
            None | Some("") => Ok(None),
            Some(text) => serde_json::from_str(text)
                .map(Some)
                .map_err(|_| malformed()),
        }
    } else if parts.method == Method::POST {
        let content_type_ok = parts
            .headers
            .get(header::CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .is_none_or(|ct| ct.trim_start().starts_with("application/json"));
        if !content_type_ok {
            return whole(ApiError::UnsupportedMediaType);
        }
        match axum::body::to_bytes(body, state.config().body_limit).await {
            Err(_) => return whole(ApiError::PayloadTooLarge),
            Ok(bytes) if bytes.iter().all(u8::is_ascii_whitespace) => Ok(None),
            Ok(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|_| malformed()),
        }
    } else {
        Ok(None)
    };
    let inputs: Result<Vec<Value>, ApiError> = raw_input.and_then(|raw| {
        if !batch {
            return Ok(vec![raw.unwrap_or(Value::Null)]);
        }
        match raw {
            None => Ok(vec![Value::Null; calls.len()]),
            Some(Value::Object(mut map)) => Ok((0..calls.len())
                .map(|i| map.remove(&i.to_string()).unwrap_or(Value::Null))
                .collect()),
            Some(_) => Err(ApiError::BadRequest {
                code: "batch_input_not_object",
                detail: Msg::new(
                    "Em lote, \"input\" deve ser um objeto indexado.",
                    "\"input\" needs to be an object when doing a batch call.",
                ),
            }),
        }
    });

    // Authentication, once for the whole batch: only when a procedure needs it or the caller
    // sent credentials (public procedures never touch the failed-auth budget otherwise).
    let socket = parts
        .extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let ip_id = ip_identity(client_ip(&parts.headers, socket));
    let needs_auth = calls.iter().any(|c| {
        c.procedure
            .is_some_and(|p| p.policy.access == Access::Authenticated)
    });
    let mut auth: Result<AuthContext, ApiError> = Err(ApiError::Unauthenticated {
        invalid_token: false,
    });
    if needs_auth || parts.headers.contains_key(header::AUTHORIZATION) {
        auth = authenticate(&state, &parts.headers, &ip_id).await;
        // An exhausted failed-auth budget or a limiter outage stops the whole request.
        if let Err(e @ (ApiError::RateLimited { .. } | ApiError::Unavailable { .. })) = &auth {
            return whole(e.clone());
        }
    }
    let identity = match &auth {
        Ok(ctx) => format!("user:{}", ctx.claims.sub),
        Err(_) => ip_id.clone(),
    };
    let mut proc_parts = parts.clone();
    if let Ok(ctx) = &auth {
        proc_parts.extensions.insert(ctx.clone());
    }

    // Each call in order, each in its own context, charged its own class.
    let limiter = state.limiter();
    let mut results = Vec::with_capacity(calls.len());
    let mut statuses = Vec::with_capacity(calls.len());
    let mut shown: Option<(Policy, Duration, Decision)> = None;
    let mut retry_after: Option<u64> = None;
    let mut allow: Option<&'static str> = None;
    let mut internal: Option<String> = None;
    let deadline = tokio::time::Instant::now() + BATCH_BUDGET;
    for (i, call) in calls.iter().enumerate() {
        let outcome: Result<Value, ApiError> = async {
            let Some(p) = call.procedure else {
                return Err(ApiError::NotFound);
            };
            if parts.method != p.kind.method() {
                allow = Some(match p.kind {
                    Kind::Query => "GET",
                    Kind::Mutation => "POST",
                });
                return Err(ApiError::MethodNotAllowed { allow: None });
            }
            let input = match &inputs {
                Ok(v) => v.get(i).cloned().unwrap_or(Value::Null),
                Err(e) => return Err(e.clone()),
            };
            if p.policy.access == Access::Authenticated
                && let Err(e) = &auth
            {
                return Err(e.clone());
            }
            let window = limiter.limit(p.policy.class).window;
            match limiter.hit(p.policy.class, &identity).await {
                Ok(d) => {
                    let denied = !d.allowed;
                    if p.policy.shows_rate_limit_headers()
                        && shown
                            .as_ref()
                            .is_none_or(|(_, _, s)| d.remaining <= s.remaining)
                    {
                        shown = Some((p.policy, window, d));
                    }
                    if denied {
                        return Err(ApiError::RateLimited {
                            retry_after: d.retry_after_secs.max(1),
                        });
                    }
                }
                Err(Unavailable) if p.policy.class.fails_closed() => {
                    return Err(unavailable_error());
                }
                Err(Unavailable) => limiter.record_fail_open(p.policy.class),
            }
            let ctx = Ctx {
                state: state.clone(),
                parts: proc_parts.clone(),
            };
            let budget = p
                .policy
                .timeout
                .unwrap_or(state.config().request_timeout)
                .min(deadline.saturating_duration_since(tokio::time::Instant::now()));
            match tokio::time::timeout(budget, (p.handler)(ctx, input)).await {
                Ok(r) => r,
                Err(_) => Err(ApiError::Timeout),
            }
        }
        .await;
        match outcome {
            Ok(data) => {
                statuses.push(200);
                results.push(wire::result_envelope(data));
            }
            Err(err) => {
                if let ApiError::RateLimited { retry_after: r }
                | ApiError::Unavailable { retry_after: r, .. } = &err
                {
                    retry_after = Some(retry_after.map_or(*r, |x: u64| x.max(*r)));
                }
                if let ApiError::Internal(cause) = &err {
                    internal = Some(cause.to_string());
                }
                statuses.push(wire::code_of(&err).http_status);
                results.push(wire::error_envelope(
                    &err,
                    Some(call.path),
                    lang,
                    &request_id,
                ));
            }
        }
    }

    let status = wire::batch_status(&statuses);
    let body = if batch {
        Value::Array(results)
    } else {
        results.into_iter().next().unwrap_or(Value::Null)
    };
    let mut res = reply(status, body);
    if let Some((policy, window, d)) = &shown {
        rate_limit_headers(res.headers_mut(), policy.class, *window, d);
    }
    if let Some(r) = retry_after {
        res.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(r.max(1)));
    }
    if let Some(a) = allow {
        res.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static(a));
    }
    if let Ok(ctx) = &auth {
        res.extensions_mut()
            .insert(LoggedUser::from_user_id(&ctx.claims.sub));
    }
    if let Some(cause) = internal {
        res.extensions_mut().insert(InternalCause(cause));
    }
    res
}

fn malformed() -> ApiError {
    ApiError::MalformedBody(Msg::new(
        "A entrada não é um JSON válido.",
        "The input is not valid JSON.",
    ))
}
