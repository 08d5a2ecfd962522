//! The one error type of the API and its RFC 9457 `application/problem+json` rendering.
//!
//! Handlers, extractors and services return [`ApiError`]. Turning it into a response does not
//! render the body yet: the error travels in a response extension and the pipeline's
//! [`crate::http::problem`] layer renders it once it knows the request id and the caller's
//! language (pt-BR by default, English on `Accept-Language: en`). Internal causes are logged by
//! the request log, never put in a body.

use std::borrow::Cow;
use std::sync::Arc;

use axum::response::{IntoResponse, Response};
use http::{HeaderValue, StatusCode, header};
use serde::Serialize;

/// `Result` with [`ApiError`] as the default error.
pub type ApiResult<T, E = ApiError> = Result<T, E>;

/// A text in the two languages the API speaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Msg {
    /// Brazilian Portuguese (the default).
    pub pt: Cow<'static, str>,
    /// English (on `Accept-Language: en`).
    pub en: Cow<'static, str>,
}

impl Msg {
    /// A message known at compile time.
    pub const fn new(pt: &'static str, en: &'static str) -> Self {
        Self {
            pt: Cow::Borrowed(pt),
            en: Cow::Borrowed(en),
        }
    }

    /// A message built at run time (must never contain personal data).
    pub fn owned(pt: String, en: String) -> Self {
        Self {
            pt: Cow::Owned(pt),
            en: Cow::Owned(en),
        }
    }

    /// The text in `lang`.
    pub fn get(&self, lang: Lang) -> &str {
        match lang {
            Lang::Pt => &self.pt,
            Lang::En => &self.en,
        }
    }
}

/// The language of a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Lang {
    /// pt-BR, the default.
    #[default]
    Pt,
    /// English.
    En,
}

impl Lang {
    /// Picks English only when the caller's first language preference is English; everything
    /// else (absent, `pt-BR`, unknown) gets Portuguese.
    pub fn from_accept_language(value: Option<&str>) -> Self {
        let Some(value) = value else { return Lang::Pt };
        let mut best: Option<(f32, Lang)> = None;
        for part in value.split(',') {
            let mut pieces = part.split(';');
            let tag = pieces.next().unwrap_or("").trim().to_ascii_lowercase();
            let q = pieces
                .find_map(|p| {
                    p.trim()
                        .strip_prefix("q=")
                        .and_then(|q| q.parse::<f32>().ok())
                })
                .unwrap_or(1.0);
            let lang = if tag == "en" || tag.starts_with("en-") {
                Lang::En
            } else if tag == "pt" || tag.starts_with("pt-") {
                Lang::Pt
            } else {
                continue;
            };
            if best.is_none_or(|(bq, _)| q > bq) {
                best = Some((q, lang));
            }
        }
        best.map(|(_, l)| l).unwrap_or(Lang::Pt)
    }
}

/// One invalid field of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FieldError {
    /// JSON path of the field (`cpf`, `address.cep`, `procedureIds[2]`).
    pub field: String,
    /// Stable machine code (`invalid_cpf`, `required`, `unknown_field`).
    pub code: &'static str,
    /// Human explanation (never echoes the submitted value).
    pub message: Msg,
}

impl FieldError {
    /// A field error with a static message.
    pub fn new(field: impl Into<String>, code: &'static str, message: Msg) -> Self {
        Self {
            field: field.into(),
            code,
            message,
        }
    }
}

/// Every way a request can fail, each with one status and one stable `code`.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ApiError {
    /// 400: the body is not JSON, or not the JSON we expect.
    #[error("malformed request body")]
    MalformedBody(Msg),
    /// 400: a generic client mistake with its own code.
    #[error("bad request: {code}")]
    BadRequest {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        detail: Msg,
    },
    /// 400: the body or query has the wrong shape (unknown, missing or mistyped fields).
    #[error("invalid input: {code}")]
    InvalidInput {
        /// Stable code (`invalid_body`, `invalid_query`).
        code: &'static str,
        /// The fields at fault.
        fields: Vec<FieldError>,
    },
    /// 401: no usable credentials. Never says which check failed.
    #[error("unauthenticated")]
    Unauthenticated {
        /// Whether a token was presented (adds `error="invalid_token"` to `WWW-Authenticate`).
        invalid_token: bool,
    },
    /// 403: authenticated, but not allowed.
    #[error("forbidden: {code}")]
    Forbidden {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        detail: Msg,
    },
    /// 404: missing, or belongs to another clinic (indistinguishable on purpose).
    #[error("not found")]
    NotFound,
    /// 405 with the `Allow` list.
    #[error("method not allowed")]
    MethodNotAllowed {
        /// Value of the `Allow` header.
        allow: Option<HeaderValue>,
    },
    /// 409: the request conflicts with current state.
    #[error("conflict: {code}")]
    Conflict {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        detail: Msg,
        /// Machine-readable details (e.g. every blocking appointment).
        extra: Option<serde_json::Value>,
    },
    /// 412: `If-Match` names a stale version.
    #[error("stale version")]
    PreconditionFailed,
    /// 428: a write that needs `If-Match` came without it.
    #[error("precondition required")]
    PreconditionRequired,
    /// 413: body larger than the limit.
    #[error("payload too large")]
    PayloadTooLarge,
    /// 415: the body is not `application/json`.
    #[error("unsupported media type")]
    UnsupportedMediaType,
    /// 422: well-formed but invalid fields.
    #[error("validation failed")]
    Validation(Vec<FieldError>),
    /// 422: a business rule refused the request (not tied to one field).
    #[error("unprocessable: {code}")]
    Unprocessable {
        /// Stable code.
        code: &'static str,
        /// Explanation.
        detail: Msg,
        /// Machine-readable details.
        extra: Option<serde_json::Value>,
    },
    /// 429 with `Retry-After`.
    #[error("rate limited")]
    RateLimited {
        /// Seconds until a retry can succeed (≥ 1).
        retry_after: u64,
    },
    /// 503 with `Retry-After`: a dependency is down or saturated.
    #[error("unavailable: {code}")]
    Unavailable {
        /// Stable code (`database_unavailable`, `rate_limit_unavailable`, …).
        code: &'static str,
        /// Seconds to wait.
        retry_after: u64,
    },
    /// 503 from the readiness probe, with each component's state.
    #[error("not ready")]
    NotReady {
        /// Component report (`{"database": {...}, "redis": {...}}`).
        components: serde_json::Value,
        /// Seconds to wait.
        retry_after: u64,
    },
    /// 504: the request ran past its time budget.
    #[error("timeout")]
    Timeout,
    /// 500: a bug or an unexpected dependency failure. The cause is logged, never shown.
    #[error("internal error")]
    Internal(Arc<dyn std::error::Error + Send + Sync>),
}

impl ApiError {
    /// Wraps an unexpected failure; its text goes to the log only.
    pub fn internal(err: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Internal(Arc::new(err))
    }

    /// A 422 for a single field.
    pub fn field(field: impl Into<String>, code: &'static str, message: Msg) -> Self {
        Self::Validation(vec![FieldError::new(field, code, message)])
    }

    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            Self::MalformedBody(_) | Self::BadRequest { .. } | Self::InvalidInput { .. } => {
                StatusCode::BAD_REQUEST
            }
            Self::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            Self::Forbidden { .. } => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
            Self::Conflict { .. } => StatusCode::CONFLICT,
            Self::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
            Self::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::Validation(_) | Self::Unprocessable { .. } => StatusCode::UNPROCESSABLE_ENTITY,
            Self::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
            Self::Unavailable { .. } | Self::NotReady { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
            Self::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable machine code clients branch on.
    pub fn code(&self) -> &'static str {
        match self {
            Self::MalformedBody(_) => "malformed_body",
            Self::BadRequest { code, .. }
            | Self::Forbidden { code, .. }
            | Self::Conflict { code, .. }
            | Self::Unprocessable { code, .. }
            | Self::Unavailable { code, .. }
            | Self::InvalidInput { code, .. } => code,
            Self::Unauthenticated { .. } => "unauthenticated",
            Self::NotFound => "not_found",
            Self::MethodNotAllowed { .. } => "method_not_allowed",
            Self::PreconditionFailed => "stale_version",
            Self::PreconditionRequired => "if_match_required",
            Self::PayloadTooLarge => "payload_too_large",
            Self::UnsupportedMediaType => "unsupported_media_type",
            Self::Validation(_) => "validation_failed",
            Self::RateLimited { .. } => "rate_limited",
            Self::Timeout => "timeout",
            Self::NotReady { .. } => "not_ready",
            Self::Internal(_) => "internal_error",
        }
    }

    fn title(&self) -> Msg {
        match self.status() {
            StatusCode::BAD_REQUEST => Msg::new("Requisição inválida", "Bad request"),
            StatusCode::UNAUTHORIZED => Msg::new("Não autenticado", "Unauthenticated"),
            StatusCode::FORBIDDEN => Msg::new("Acesso negado", "Forbidden"),
            StatusCode::NOT_FOUND => Msg::new("Não encontrado", "Not found"),
            StatusCode::METHOD_NOT_ALLOWED => {
                Msg::new("Método não permitido", "Method not allowed")
            }
            StatusCode::CONFLICT => Msg::new("Conflito", "Conflict"),
            StatusCode::PRECONDITION_FAILED => {
                Msg::new("Versão desatualizada", "Precondition failed")
            }
            StatusCode::PRECONDITION_REQUIRED => {
                Msg::new("Pré-condição obrigatória", "Precondition required")
            }
            StatusCode::PAYLOAD_TOO_LARGE => Msg::new("Corpo grande demais", "Payload too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                Msg::new("Tipo de conteúdo não suportado", "Unsupported media type")
            }
            StatusCode::UNPROCESSABLE_ENTITY => {
                Msg::new("Dados inválidos", "Unprocessable content")
            }
            StatusCode::TOO_MANY_REQUESTS => Msg::new("Muitas requisições", "Too many requests"),
            StatusCode::SERVICE_UNAVAILABLE => {
                Msg::new("Serviço indisponível", "Service unavailable")
            }
            StatusCode::GATEWAY_TIMEOUT => Msg::new("Tempo esgotado", "Timeout"),
            _ => Msg::new("Erro interno", "Internal server error"),
        }
    }

    fn detail(&self) -> Msg {
        match self {
            Self::MalformedBody(m) => m.clone(),
            Self::BadRequest { detail, .. }
            | Self::Forbidden { detail, .. }
            | Self::Conflict { detail, .. }
            | Self::Unprocessable { detail, .. } => detail.clone(),
            Self::InvalidInput { .. } => Msg::new(
                "A requisição tem campos desconhecidos, ausentes ou de tipo errado.",
                "The request has unknown, missing or mistyped fields.",
            ),
            Self::Unauthenticated { .. } => Msg::new(
                "Credenciais ausentes ou inválidas.",
                "Missing or invalid credentials.",
            ),
            Self::NotFound => Msg::new(
                "O recurso solicitado não existe.",
                "The requested resource does not exist.",
            ),
            Self::MethodNotAllowed { .. } => Msg::new(
                "Este método não é aceito neste recurso.",
                "This method is not supported by this resource.",
            ),
            Self::PreconditionFailed => Msg::new(
                "O recurso foi alterado por outra pessoa; recarregue e tente de novo.",
                "The resource was changed by someone else; reload and try again.",
            ),
            Self::PreconditionRequired => Msg::new(
                "Envie o cabeçalho If-Match com a versão atual do recurso.",
                "Send the If-Match header with the resource's current version.",
            ),
            Self::PayloadTooLarge => Msg::new(
                "O corpo da requisição excede o limite permitido.",
                "The request body exceeds the allowed limit.",
            ),
            Self::UnsupportedMediaType => Msg::new(
                "Envie o corpo como application/json.",
                "Send the body as application/json.",
            ),
            Self::Validation(_) => Msg::new(
                "Um ou mais campos são inválidos.",
                "One or more fields are invalid.",
            ),
            Self::RateLimited { .. } => Msg::new(
                "Limite de requisições atingido; tente novamente mais tarde.",
                "Rate limit reached; try again later.",
            ),
            Self::Unavailable { .. } => Msg::new(
                "Um serviço necessário está temporariamente indisponível.",
                "A required service is temporarily unavailable.",
            ),
            Self::NotReady { components, .. } => {
                let down: Vec<&str> = components
                    .as_object()
                    .map(|o| {
                        o.iter()
                            .filter(|(_, v)| v["status"] == "down")
                            .map(|(k, _)| k.as_str())
                            .collect()
                    })
                    .unwrap_or_default();
                let list = down.join(", ");
                Msg::owned(
                    format!("Componentes indisponíveis: {list}."),
                    format!("Components unavailable: {list}."),
                )
            }
            Self::Timeout => Msg::new(
                "A requisição excedeu o tempo máximo de processamento.",
                "The request exceeded its processing time limit.",
            ),
            Self::Internal(_) => Msg::new(
                "Ocorreu um erro inesperado. Informe o requestId ao suporte.",
                "An unexpected error occurred. Give the requestId to support.",
            ),
        }
    }

    /// Renders the problem document for a request.
    pub fn to_problem(&self, lang: Lang, request_id: &str) -> Problem {
        let errors = match self {
            Self::Validation(fields) | Self::InvalidInput { fields, .. } => Some(
                fields
                    .iter()
                    .map(|f| ProblemField {
                        field: f.field.clone(),
                        code: f.code,
                        message: f.message.get(lang).to_owned(),
                    })
                    .collect(),
            ),
            _ => None,
        };
        let extra = match self {
            Self::Conflict { extra, .. } | Self::Unprocessable { extra, .. } => extra.clone(),
            Self::NotReady { components, .. } => {
                Some(serde_json::json!({ "components": components }))
            }
            _ => None,
        };
        Problem {
            problem_type: format!(
                "https://neonpro.com.br/problems/{}",
                self.code().replace('_', "-")
            ),
            title: self.title().get(lang).to_owned(),
            status: self.status().as_u16(),
            detail: self.detail().get(lang).to_owned(),
            code: self.code(),
            request_id: request_id.to_owned(),
            errors,
            extra,
        }
    }
}

/// The wire shape of an error (RFC 9457 plus `code`, `requestId`, `errors`).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the problem type.
    #[serde(rename = "type")]
    pub problem_type: String,
    /// Short, status-level summary.
    pub title: String,
    /// HTTP status.
    pub status: u16,
    /// Human explanation for this occurrence.
    pub detail: String,
    /// Stable machine code.
    pub code: &'static str,
    /// The request id, to quote to support.
    #[serde(rename = "requestId")]
    pub request_id: String,
    /// Field errors of a 422.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<Vec<ProblemField>>,
    /// Domain-specific details (conflict lists and the like).
    #[serde(skip_serializing_if = "Option::is_none", flatten)]
    #[schema(ignore)]
    pub extra: Option<serde_json::Value>,
}

/// One entry of a problem's `errors`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProblemField {
    /// JSON path of the field.
    pub field: String,
    /// Stable machine code.
    pub code: &'static str,
    /// Human explanation.
    pub message: String,
}

/// Marker extension: this response is an unrendered [`ApiError`].
#[derive(Debug, Clone)]
pub struct PendingProblem(pub ApiError);

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut res = self.status().into_response();
        match &self {
            Self::Unauthenticated { invalid_token } => {
                let v = if *invalid_token {
                    r#"Bearer error="invalid_token""#
                } else {
                    "Bearer"
                };
                res.headers_mut()
                    .insert(header::WWW_AUTHENTICATE, HeaderValue::from_static(v));
            }
            Self::MethodNotAllowed { allow: Some(allow) } => {
                res.headers_mut().insert(header::ALLOW, allow.clone());
            }
            Self::RateLimited { retry_after }
            | Self::Unavailable { retry_after, .. }
            | Self::NotReady { retry_after, .. } => {
                res.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from((*retry_after).max(1)),
                );
            }
            _ => {}
        }
        res.extensions_mut().insert(PendingProblem(self));
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn english_only_when_preferred() {
        assert_eq!(Lang::from_accept_language(None), Lang::Pt);
        assert_eq!(Lang::from_accept_language(Some("en")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("en-US,en;q=0.9")), Lang::En);
        assert_eq!(Lang::from_accept_language(Some("pt-BR,en;q=0.5")), Lang::Pt);
        assert_eq!(Lang::from_accept_language(Some("de-DE")), Lang::Pt);
        assert_eq!(
            Lang::from_accept_language(Some("pt;q=0.2, en;q=0.8")),
            Lang::En
        );
    }

    #[test]
    fn internal_errors_never_reach_the_body() {
        let err = ApiError::internal(std::io::Error::other(
            "password=hunter2 at db.internal:5432",
        ));
        let p = serde_json::to_string(&err.to_problem(Lang::En, "r1")).unwrap();
        assert!(!p.contains("hunter2"));
        assert!(!p.contains("db.internal"));
        assert!(p.contains("\"status\":500"));
    }
}
