//! The REST API's OpenAPI 3.1 document, generated from the code (`utoipa` schemas of the DTOs
//! handlers actually use) and served at `GET /v1/openapi.json`, with a self-contained reference
//! page at `GET /v1/docs`.
//!
//! Routes and their documentation are declared together: a domain builds a [`Routes`] with
//! `.route(path, method_router, [docs…])`, so its `router()` and its part of the document come
//! from the same list. The integration test `openapi::every_routed_path_is_documented_and_back`
//! probes the app with every documented method (routed) and every other method (405).

use std::sync::LazyLock;

use axum::Router;
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, get};
use http::{HeaderValue, Method, StatusCode, header};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{
    HttpMethod, Operation, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaFormat, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::tag::TagBuilder;
use utoipa::openapi::{
    ComponentsBuilder, InfoBuilder, KnownFormat, OpenApi, OpenApiBuilder, PathsBuilder, RefOr,
    Required,
};
use utoipa::{IntoParams, ToSchema};

use crate::error::Problem;
use crate::http::headers::OwnCsp;
use crate::http::policy::Policy;
use crate::ratelimit::RateClass;
use crate::state::AppState;

type Schemas = Vec<(String, RefOr<Schema>)>;

/// One documented operation.
pub struct Doc {
    method: Method,
    op: OperationBuilder,
    schemas: Schemas,
    ok_headers: Vec<(&'static str, &'static str)>,
    rate_limited: bool,
    shows_rate_limit_headers: bool,
    problems: Vec<u16>,
    oks: Vec<(u16, &'static str, Option<RefOr<Schema>>, &'static str)>,
}

/// A routed path with its documented operations.
pub struct DocRoute {
    /// The path template (`/v1/patients/{id}`).
    pub path: &'static str,
    /// Its operations.
    pub docs: Vec<Doc>,
}

impl DocRoute {
    /// The documented methods.
    pub fn methods(&self) -> Vec<Method> {
        self.docs.iter().map(|d| d.method.clone()).collect()
    }
}

impl std::fmt::Debug for Doc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Doc")
            .field("method", &self.method)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for DocRoute {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DocRoute")
            .field("path", &self.path)
            .field("docs", &self.docs)
            .finish()
    }
}

/// A router plus the documentation of each of its routes.
#[derive(Debug, Default)]
pub struct Routes {
    router: Router<AppState>,
    routes: Vec<DocRoute>,
}

impl Routes {
    /// No routes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Routes `path` to `route` and documents its operations.
    pub fn route(
        mut self,
        path: &'static str,
        route: MethodRouter<AppState>,
        docs: impl IntoIterator<Item = Doc>,
    ) -> Self {
        self.router = self.router.route(path, route);
        self.routes.push(DocRoute {
            path,
            docs: docs.into_iter().collect(),
        });
        self
    }

    /// Both sets of routes.
    pub fn merge(mut self, other: Routes) -> Self {
        self.router = self.router.merge(other.router);
        self.routes.extend(other.routes);
        self
    }

    /// The documented routes.
    pub fn list(&self) -> &[DocRoute] {
        &self.routes
    }

    /// The router.
    pub fn into_router(self) -> Router<AppState> {
        self.router
    }

    /// The documented routes, by value (to build the document).
    pub fn into_list(self) -> Vec<DocRoute> {
        self.routes
    }
}

fn schema_ref<T: ToSchema>(schemas: &mut Schemas) -> RefOr<Schema> {
    T::schemas(schemas);
    schemas.push((T::name().into_owned(), T::schema()));
    RefOr::Ref(utoipa::openapi::Ref::from_schema_name(T::name()))
}

fn uuid_schema() -> Schema {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Uuid)))
        .into()
}

fn string_schema() -> Schema {
    ObjectBuilder::new().schema_type(Type::String).into()
}

fn integer_schema() -> Schema {
    ObjectBuilder::new().schema_type(Type::Integer).into()
}

impl Doc {
    fn new(method: Method, summary: &'static str, policy: Option<Policy>) -> Self {
        let mut doc = Doc {
            method,
            op: OperationBuilder::new().summary(Some(summary)),
            schemas: Vec::new(),
            ok_headers: Vec::new(),
            rate_limited: policy.is_some(),
            shows_rate_limit_headers: policy.is_some_and(|p| p.shows_rate_limit_headers()),
            problems: vec![500],
            oks: Vec::new(),
        };
        if let Some(p) = policy {
            doc.problems.extend([429, 503, 504]);
            if p.access == crate::http::policy::Access::Authenticated {
                doc.op = doc
                    .op
                    .security(SecurityRequirement::new("bearerAuth", Vec::<String>::new()));
                doc.problems.push(401);
            }
        }
        doc
    }

    /// `GET` under `policy` (`None`: no rate limit, no authentication).
    pub fn get(summary: &'static str, policy: Option<Policy>) -> Self {
        Self::new(Method::GET, summary, policy)
    }

    /// `POST` under `policy`.
    pub fn post(summary: &'static str, policy: Policy) -> Self {
        Self::new(Method::POST, summary, Some(policy)).with_body_problems()
    }

    /// `PATCH` under `policy`.
    pub fn patch(summary: &'static str, policy: Policy) -> Self {
        Self::new(Method::PATCH, summary, Some(policy)).with_body_problems()
    }

    /// `PUT` (full replacement) under `policy`.
    pub fn put(summary: &'static str, policy: Policy) -> Self {
        Self::new(Method::PUT, summary, Some(policy)).with_body_problems()
    }

    /// `DELETE` under `policy`.
    pub fn delete(summary: &'static str, policy: Policy) -> Self {
        Self::new(Method::DELETE, summary, Some(policy))
    }

    fn with_body_problems(mut self) -> Self {
        self.problems.extend([413]);
        self
    }

    /// The operation's tag and id.
    pub fn id(mut self, tag: &'static str, operation_id: &'static str) -> Self {
        self.op = self.op.tag(tag).operation_id(Some(operation_id));
        self
    }

    /// A longer description.
    pub fn describe(mut self, text: &'static str) -> Self {
        self.op = self.op.description(Some(text));
        self
    }

    /// Acts in a clinic: optional `X-Clinic-Id` header, 400 (ambiguous), 403 (not a member or
    /// role), 404 for ids of another clinic.
    pub fn clinic(mut self) -> Self {
        self.op = self.op.parameter(
            ParameterBuilder::new()
                .name("X-Clinic-Id")
                .parameter_in(ParameterIn::Header)
                .required(Required::False)
                .description(Some(
                    "The clinic to act for; required when the caller belongs to more than one.",
                ))
                .schema(Some(uuid_schema())),
        );
        self.problems.extend([400, 403]);
        self
    }

    /// A UUID path parameter (a malformed id is a 404).
    pub fn path_id(mut self, name: &'static str) -> Self {
        self.op = self.op.parameter(
            ParameterBuilder::new()
                .name(name)
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(uuid_schema())),
        );
        self.problems.push(404);
        self
    }

    /// Query parameters from `T`.
    pub fn query<T: IntoParams>(mut self) -> Self {
        for p in T::into_params(|| Some(ParameterIn::Query)) {
            self.op = self.op.parameter(p);
        }
        self.problems.extend([400, 422]);
        self
    }

    /// A JSON body (`required`), refused with 400 (shape), 415 (media type), 422 (values).
    pub fn body<T: ToSchema>(mut self, required: bool) -> Self {
        let schema = schema_ref::<T>(&mut self.schemas);
        self.op = self.op.request_body(Some(
            RequestBodyBuilder::new()
                .content(
                    "application/json",
                    ContentBuilder::new().schema(Some(schema)).build(),
                )
                .required(Some(if required {
                    Required::True
                } else {
                    Required::False
                }))
                .build(),
        ));
        self.problems.extend([400, 415, 422]);
        self
    }

    /// A JSON success response.
    pub fn ok<T: ToSchema>(mut self, status: u16, description: &'static str) -> Self {
        let schema = schema_ref::<T>(&mut self.schemas);
        self.oks
            .push((status, description, Some(schema), "application/json"));
        self
    }

    /// A success response without a body.
    pub fn empty(mut self, status: u16, description: &'static str) -> Self {
        self.oks.push((status, description, None, ""));
        self
    }

    /// A success response of another media type (a string body).
    pub fn ok_text(mut self, media_type: &'static str, description: &'static str) -> Self {
        self.oks
            .push((200, description, Some(string_schema().into()), media_type));
        self
    }

    /// A success response whose body is any JSON object.
    pub fn ok_object(mut self, description: &'static str) -> Self {
        let object: Schema = ObjectBuilder::new().schema_type(Type::Object).into();
        self.oks
            .push((200, description, Some(object.into()), "application/json"));
        self
    }

    /// A header on success responses (`ETag`, `Location`).
    pub fn ok_header(mut self, name: &'static str, description: &'static str) -> Self {
        self.ok_headers.push((name, description));
        self
    }

    /// Optimistic concurrency: `If-Match` required (428 without, 412 when stale).
    pub fn if_match(mut self) -> Self {
        self.op = self.op.parameter(
            ParameterBuilder::new()
                .name("If-Match")
                .parameter_in(ParameterIn::Header)
                .required(Required::True)
                .description(Some(
                    "The `ETag` of the version being changed, e.g. `\"3\"` (428 without it, 412 when stale).",
                ))
                .schema(Some(string_schema())),
        );
        self.problems.extend([412, 428]);
        self
    }

    /// More problem statuses this operation can answer.
    pub fn problems(mut self, statuses: &[u16]) -> Self {
        self.problems.extend_from_slice(statuses);
        self
    }

    fn rate_limit_headers(&self, mut r: ResponseBuilder) -> ResponseBuilder {
        if !self.shows_rate_limit_headers {
            return r;
        }
        for (name, schema, text) in [
            (
                "RateLimit-Policy",
                string_schema(),
                "IETF draft-11 policy, e.g. `\"healthcare\";q=300;w=900`.",
            ),
            (
                "RateLimit",
                string_schema(),
                "IETF draft-11 state, e.g. `\"healthcare\";r=299;t=900`.",
            ),
            (
                "X-RateLimit-Limit",
                integer_schema(),
                "Requests allowed in the window.",
            ),
            (
                "X-RateLimit-Remaining",
                integer_schema(),
                "Requests left in the window.",
            ),
            (
                "X-RateLimit-Reset",
                integer_schema(),
                "Unix time when the window resets.",
            ),
        ] {
            r = r.header(
                name,
                HeaderBuilder::new()
                    .schema(Some(schema))
                    .description(Some(text))
                    .build(),
            );
        }
        r
    }

    fn build(mut self) -> (HttpMethod, Operation, Schemas) {
        let problem = schema_ref::<Problem>(&mut self.schemas);
        for (status, description, schema, media) in &self.oks {
            let mut r = ResponseBuilder::new().description(*description);
            if let Some(schema) = schema {
                r = r.content(
                    *media,
                    ContentBuilder::new().schema(Some(schema.clone())).build(),
                );
            }
            for (name, text) in &self.ok_headers {
                r = r.header(
                    *name,
                    HeaderBuilder::new()
                        .schema(Some(string_schema()))
                        .description(Some(*text))
                        .build(),
                );
            }
            r = self.rate_limit_headers(r);
            self.op = self.op.response(status.to_string(), r.build());
        }
        let mut problems = self.problems.clone();
        problems.sort_unstable();
        problems.dedup();
        for status in problems {
            let text = StatusCode::from_u16(status)
                .ok()
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Error");
            let mut r = ResponseBuilder::new()
                .description(format!("{text} (problem+json; see `code`)"))
                .content(
                    "application/problem+json",
                    ContentBuilder::new().schema(Some(problem.clone())).build(),
                );
            if matches!(status, 429 | 503) {
                r = r.header(
                    "Retry-After",
                    HeaderBuilder::new()
                        .schema(Some(integer_schema()))
                        .description(Some("Seconds to wait before retrying."))
                        .build(),
                );
            }
            if status == 429 {
                r = self.rate_limit_headers(r);
            }
            if status == 401 {
                r = r.header(
                    "WWW-Authenticate",
                    HeaderBuilder::new().schema(Some(string_schema())).build(),
                );
            }
            self.op = self.op.response(status.to_string(), r.build());
        }
        let _ = self.rate_limited;
        let method = match self.method {
            Method::POST => HttpMethod::Post,
            Method::PATCH => HttpMethod::Patch,
            Method::DELETE => HttpMethod::Delete,
            Method::PUT => HttpMethod::Put,
            _ => HttpMethod::Get,
        };
        (method, self.op.build(), self.schemas)
    }
}

/// The document for `routes`.
pub fn document_for(routes: Vec<DocRoute>) -> OpenApi {
    let mut paths = PathsBuilder::new();
    let mut components = ComponentsBuilder::new().security_scheme(
        "bearerAuth",
        SecurityScheme::Http(
            HttpBuilder::new()
                .scheme(HttpAuthScheme::Bearer)
                .bearer_format("JWT")
                .description(Some("A Supabase Auth access token (ES256/RS256 via JWKS)."))
                .build(),
        ),
    );
    let mut all_schemas: std::collections::BTreeMap<String, RefOr<Schema>> = Default::default();
    for route in routes {
        let mut item: Option<PathItem> = None;
        for doc in route.docs {
            let (method, op, schemas) = doc.build();
            all_schemas.extend(schemas);
            match &mut item {
                None => item = Some(PathItem::new(method, op)),
                Some(i) => i.merge_operations(PathItem::new(method, op)),
            }
        }
        if let Some(item) = item {
            paths = paths.path(route.path, item);
        }
    }
    for (name, schema) in all_schemas {
        components = components.schema(name, schema);
    }
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title("NeonPro API")
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "REST API of NeonPro (clinic management for Brazilian clinics). Errors are RFC 9457 \
                     `application/problem+json` with a stable `code`. Authenticated routes take a \
                     Supabase Auth bearer token; multi-clinic users pick a clinic with `X-Clinic-Id`. \
                     The same operations are available over tRPC at `/trpc` (see `clients/ts`).",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components.build()))
        .tags(Some(
            ["health", "identity", "patients", "consents", "audit", "docs"]
                .map(|t| TagBuilder::new().name(t).build()),
        ))
        .build()
}

static DOCUMENT: LazyLock<String> = LazyLock::new(|| {
    serde_json::to_string_pretty(&document_for(crate::rest_routes().into_list()))
        .unwrap_or_default()
});

/// The document as served (pretty JSON).
pub fn document_json() -> &'static str {
    &DOCUMENT
}

const DOCS_HTML: &str = include_str!("docs.html");
const DOCS_JS: &str = include_str!("docs.js");
const DOCS_CSS: &str = include_str!("docs.css");

fn csp_hash(text: &str) -> String {
    use base64::Engine;
    use sha2::Digest;
    let digest = sha2::Sha256::digest(text.as_bytes());
    format!(
        "'sha256-{}'",
        base64::engine::general_purpose::STANDARD.encode(digest)
    )
}

/// The reference page (renderer inlined, no external resource) and its own, narrowly scoped
/// policy: exactly its inline script and style (by hash), `fetch` of this origin only.
static DOCS_PAGE: LazyLock<(String, String)> = LazyLock::new(|| {
    let html = DOCS_HTML
        .replace("/*STYLE*/", DOCS_CSS)
        .replace("/*SCRIPT*/", DOCS_JS);
    let csp = format!(
        "default-src 'none'; script-src {}; style-src {}; connect-src 'self'; img-src data:; \
         frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        csp_hash(DOCS_JS),
        csp_hash(DOCS_CSS)
    );
    (html, csp)
});

/// The reference page's `Content-Security-Policy`.
pub fn docs_csp() -> &'static str {
    &DOCS_PAGE.1
}

fn docs_page() -> Response {
    let (html, csp) = &*DOCS_PAGE;
    let mut res = (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("text/html; charset=utf-8"),
        )],
        html.clone(),
    )
        .into_response();
    if let Ok(v) = HeaderValue::from_str(csp) {
        res.headers_mut().insert(header::CONTENT_SECURITY_POLICY, v);
        res.extensions_mut().insert(OwnCsp);
    }
    res
}

fn document_response() -> Response {
    (
        [(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json"),
        )],
        document_json(),
    )
        .into_response()
}

/// `GET /v1/openapi.json` and `GET /v1/docs`.
pub fn routes() -> Routes {
    let p = Policy::public(RateClass::General);
    Routes::new()
        .route(
            "/v1/openapi.json",
            p.on(get(|| async { document_response() })),
            [Doc::get("This OpenAPI 3.1 document", Some(p))
                .id("docs", "getOpenApi")
                .ok_object("The OpenAPI document.")],
        )
        .route(
            "/v1/docs",
            p.on(get(|| async { docs_page() })),
            [
                Doc::get("API reference page (renders this document)", Some(p))
                    .id("docs", "getDocs")
                    .ok_text("text/html", "The reference page."),
            ],
        )
}

/// The docs router (`/v1/openapi.json`, `/v1/docs`).
pub fn router() -> Router<AppState> {
    routes().into_router()
}
