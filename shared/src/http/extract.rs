//! Extractors that turn bad input into our problem shape instead of axum's plain-text
//! rejections: JSON bodies (content type, syntax, size, unknown fields) and query strings.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, FieldError, Msg};

/// `axum::Json`, with every rejection mapped to a problem: 415 for a wrong content type,
/// 400 for malformed JSON or unknown/missing fields (naming the field, never the value),
/// 413 past the body limit.
#[derive(Debug, Clone, Copy, Default)]
pub struct Json<T>(pub T);

impl<T, S> FromRequest<S> for Json<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request(req: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(req, state).await {
            Ok(axum::Json(v)) => Ok(Json(v)),
            Err(rejection) => Err(map_json_rejection(rejection)),
        }
    }
}

fn map_json_rejection(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::UnsupportedMediaType,
        JsonRejection::JsonSyntaxError(_) => ApiError::MalformedBody(Msg::new(
            "O corpo da requisição não é um JSON válido.",
            "The request body is not valid JSON.",
        )),
        JsonRejection::JsonDataError(e) => ApiError::InvalidInput {
            code: "invalid_body",
            fields: vec![field_error(&e.body_text())],
        },
        JsonRejection::BytesRejection(_) => ApiError::PayloadTooLarge,
        _ => ApiError::MalformedBody(Msg::new(
            "Corpo da requisição inválido.",
            "Invalid request body.",
        )),
    }
}

/// [`FieldError`] from a serde error text (field name only, never the submitted value).
pub fn serde_field_error(serde_text: &str) -> FieldError {
    field_error(serde_text)
}

/// Reads the field name out of serde's message for unknown/missing fields. Serde's text can
/// contain the submitted value (`invalid type: string "…"`), so it is never passed on as is.
fn field_error(serde_text: &str) -> FieldError {
    // axum puts its own sentence first; serde_path_to_error then gives `path: message`.
    let text = [
        "Failed to deserialize the JSON body into the target type: ",
        "Failed to deserialize query string: ",
    ]
    .iter()
    .find_map(|prefix| serde_text.strip_prefix(prefix))
    .unwrap_or(serde_text);
    let quoted = |marker: &str| {
        text.find(marker).and_then(|i| {
            let rest = &text[i + marker.len()..];
            rest.split('`').next().map(str::to_owned)
        })
    };
    let path = text
        .split(": ")
        .next()
        .filter(|p| !p.contains(' ') && !p.is_empty() && *p != ".")
        .map(str::to_owned);
    // A missing or unknown field inside an object is named with the object's path.
    let within = |f: String| match &path {
        Some(p) if p != &f && !p.ends_with(&format!(".{f}")) => format!("{p}.{f}"),
        _ => f,
    };
    let (field, code, message) = if let Some(f) = quoted("unknown field `") {
        (
            within(f),
            "unknown_field",
            Msg::new(
                "Campo desconhecido ou somente leitura.",
                "Unknown or read-only field.",
            ),
        )
    } else if let Some(f) = quoted("missing field `") {
        (
            within(f),
            "required",
            Msg::new("Campo obrigatório.", "Required field."),
        )
    } else {
        (
            path.unwrap_or_default(),
            "invalid_type",
            Msg::new("Tipo ou formato inválido.", "Invalid type or format."),
        )
    };
    FieldError::new(field, code, message)
}

/// `axum::extract::Query` with rejections mapped to a 400 problem.
#[derive(Debug, Clone, Copy, Default)]
pub struct Query<T>(pub T);

impl<T, S> FromRequestParts<S> for Query<T>
where
    T: DeserializeOwned,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        let query = without_path_params(parts, state).await;
        match axum::extract::Query::<T>::try_from_uri(&query) {
            Ok(axum::extract::Query(v)) => Ok(Query(v)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => Err(ApiError::InvalidInput {
                code: "invalid_query",
                fields: vec![field_error(&e.body_text())],
            }),
            Err(_) => Err(ApiError::BadRequest {
                code: "invalid_query",
                detail: Msg::new(
                    "Parâmetros de consulta inválidos.",
                    "Invalid query parameters.",
                ),
            }),
        }
    }
}

/// The request URI without query pairs that repeat a matched path parameter. Vercel's rewrite
/// (`/v1/patients/:id` → `/api/v1/patients/:id`) also appends `id=<value>` to the query string
/// the function receives; with `deny_unknown_fields` query types that would be a 400 in
/// production only. A pair is dropped only when both its name and value equal a path
/// parameter's, so a client cannot smuggle anything through it.
async fn without_path_params<S: Send + Sync>(parts: &mut Parts, state: &S) -> http::Uri {
    let Some(query) = parts.uri.query().map(str::to_owned) else {
        return parts.uri.clone();
    };
    let Ok(params) = axum::extract::RawPathParams::from_request_parts(parts, state).await else {
        return parts.uri.clone();
    };
    let params: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_owned(), v.to_owned()))
        .collect();
    if params.is_empty() {
        return parts.uri.clone();
    }
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| {
            let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
            !params.iter().any(|(pk, pv)| pk == k && pv == v)
        })
        .collect();
    let path = parts.uri.path();
    let rebuilt = if kept.is_empty() {
        path.to_owned()
    } else {
        format!("{path}?{}", kept.join("&"))
    };
    rebuilt.parse().unwrap_or_else(|_| parts.uri.clone())
}

impl<T: serde::Serialize> axum::response::IntoResponse for Json<T> {
    fn into_response(self) -> axum::response::Response {
        axum::Json(self.0).into_response()
    }
}

/// `axum::extract::Path`, where a malformed id is simply a 404: an id that cannot exist is
/// indistinguishable from one that does not.
#[derive(Debug, Clone, Copy)]
pub struct Path<T>(pub T);

impl<T, S> FromRequestParts<S> for Path<T>
where
    T: DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(v)| Path(v))
            .map_err(|_| ApiError::NotFound)
    }
}

/// The version a write is conditional on, from `If-Match: "3"` (our ETags are the record's
/// version, strong). Missing → 428. `*` (any version) → 428 too: it would turn optimistic
/// concurrency off, so a client must name the version it saw. A weak tag (`W/"3"`) never
/// matches under If-Match's strong comparison (RFC 9110 §13.1.1) → 412, as does anything
/// unparseable.
pub fn if_match_version(headers: &http::HeaderMap) -> Result<i32, ApiError> {
    let raw = headers
        .get(http::header::IF_MATCH)
        .ok_or(ApiError::PreconditionRequired)?;
    let value = raw
        .to_str()
        .map_err(|_| ApiError::PreconditionFailed)?
        .trim();
    if value == "*" {
        return Err(ApiError::PreconditionRequired);
    }
    value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .and_then(|v| v.parse::<i32>().ok())
        .ok_or(ApiError::PreconditionFailed)
}

#[cfg(test)]
mod field_error_tests {
    use super::*;

    fn field(text: &str) -> String {
        field_error(text).field
    }

    #[test]
    fn the_path_survives_axums_prefix() {
        let p = "Failed to deserialize the JSON body into the target type: ";
        assert_eq!(
            field(&format!(
                "{p}startsAt: premature end of input at line 1 column 30"
            )),
            "startsAt"
        );
        assert_eq!(
            field(&format!(
                "{p}sessions[0].startsAt: input contains invalid characters"
            )),
            "sessions[0].startsAt"
        );
        assert_eq!(
            field(&format!("{p}.: unknown field `x`, expected `a`")),
            "x"
        );
        assert_eq!(
            field(&format!("{p}preferences: unknown field `x`, expected `a`")),
            "preferences.x"
        );
        assert_eq!(
            field(&format!(
                "{p}sessions[1]: missing field `startsAt` at line 1"
            )),
            "sessions[1].startsAt"
        );
        assert_eq!(field("missing field `cpf`"), "cpf");
    }
}

#[cfg(test)]
mod if_match_tests {
    use super::*;

    fn with(v: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::IF_MATCH, v.parse().unwrap());
        h
    }

    #[test]
    fn strong_tags_only() {
        assert_eq!(if_match_version(&with("\"3\"")).ok(), Some(3));
        assert_eq!(if_match_version(&with(" \"12\" ")).ok(), Some(12));
        assert!(matches!(
            if_match_version(&with("W/\"3\"")),
            Err(ApiError::PreconditionFailed)
        ));
        assert!(matches!(
            if_match_version(&with("3")),
            Err(ApiError::PreconditionFailed)
        ));
        assert!(matches!(
            if_match_version(&with("*")),
            Err(ApiError::PreconditionRequired)
        ));
        assert!(matches!(
            if_match_version(&http::HeaderMap::new()),
            Err(ApiError::PreconditionRequired)
        ));
    }
}
