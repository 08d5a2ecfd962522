//! The tRPC wire format (HTTP, no transformer), as `@trpc/server` v11 speaks it:
//! `{"result":{"data":…}}` or `{"error":{"message","code","data":{"code","httpStatus","path"}}}`,
//! and the one mapping from [`ApiError`] to a tRPC error code and HTTP status.

use serde::Serialize;
use serde_json::Value;

use crate::error::{ApiError, Lang};

/// A tRPC error code: its name and JSON-RPC 2.0 number (`TRPC_ERROR_CODES_BY_KEY`) and the HTTP
/// status tRPC answers with (`JSONRPC2_TO_HTTP_CODE`), both from `@trpc/server` 11.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrpcCode {
    /// `BAD_REQUEST`, `NOT_FOUND`, …
    pub name: &'static str,
    /// −32600, −32004, …
    pub number: i32,
    /// 400, 404, …
    pub http_status: u16,
}

macro_rules! codes {
    ($($konst:ident = $name:literal, $number:literal, $status:literal;)*) => {
        impl TrpcCode {
            $(
                #[doc = concat!("`", $name, "` (", stringify!($number), ", HTTP ", stringify!($status), ")")]
                pub const $konst: TrpcCode = TrpcCode { name: $name, number: $number, http_status: $status };
            )*
            /// Every code this server can send.
            pub const ALL: &'static [TrpcCode] = &[$(TrpcCode::$konst),*];
        }
    };
}

codes! {
    PARSE_ERROR = "PARSE_ERROR", -32700, 400;
    BAD_REQUEST = "BAD_REQUEST", -32600, 400;
    INTERNAL_SERVER_ERROR = "INTERNAL_SERVER_ERROR", -32603, 500;
    SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE", -32603, 503;
    UNAUTHORIZED = "UNAUTHORIZED", -32001, 401;
    FORBIDDEN = "FORBIDDEN", -32003, 403;
    NOT_FOUND = "NOT_FOUND", -32004, 404;
    METHOD_NOT_SUPPORTED = "METHOD_NOT_SUPPORTED", -32005, 405;
    TIMEOUT = "TIMEOUT", -32008, 408;
    CONFLICT = "CONFLICT", -32009, 409;
    PRECONDITION_FAILED = "PRECONDITION_FAILED", -32012, 412;
    PAYLOAD_TOO_LARGE = "PAYLOAD_TOO_LARGE", -32013, 413;
    UNSUPPORTED_MEDIA_TYPE = "UNSUPPORTED_MEDIA_TYPE", -32015, 415;
    UNPROCESSABLE_CONTENT = "UNPROCESSABLE_CONTENT", -32022, 422;
    PRECONDITION_REQUIRED = "PRECONDITION_REQUIRED", -32028, 428;
    TOO_MANY_REQUESTS = "TOO_MANY_REQUESTS", -32029, 429;
}

/// The one mapping of every [`ApiError`] to a tRPC code (exhaustive: a new variant does not
/// compile until it is mapped here).
pub fn code_of(err: &ApiError) -> TrpcCode {
    match err {
        ApiError::MalformedBody(_) => TrpcCode::PARSE_ERROR,
        ApiError::BadRequest { .. } | ApiError::InvalidInput { .. } => TrpcCode::BAD_REQUEST,
        ApiError::Unauthenticated { .. } => TrpcCode::UNAUTHORIZED,
        ApiError::Forbidden { .. } => TrpcCode::FORBIDDEN,
        ApiError::NotFound => TrpcCode::NOT_FOUND,
        ApiError::MethodNotAllowed { .. } => TrpcCode::METHOD_NOT_SUPPORTED,
        ApiError::Conflict { .. } => TrpcCode::CONFLICT,
        ApiError::PreconditionFailed => TrpcCode::PRECONDITION_FAILED,
        ApiError::PreconditionRequired => TrpcCode::PRECONDITION_REQUIRED,
        ApiError::PayloadTooLarge => TrpcCode::PAYLOAD_TOO_LARGE,
        ApiError::UnsupportedMediaType => TrpcCode::UNSUPPORTED_MEDIA_TYPE,
        ApiError::Validation(_) | ApiError::Unprocessable { .. } => TrpcCode::UNPROCESSABLE_CONTENT,
        ApiError::RateLimited { .. } => TrpcCode::TOO_MANY_REQUESTS,
        ApiError::Unavailable { .. } | ApiError::NotReady { .. } => TrpcCode::SERVICE_UNAVAILABLE,
        ApiError::Timeout => TrpcCode::TIMEOUT,
        ApiError::Internal(_) => TrpcCode::INTERNAL_SERVER_ERROR,
    }
}

/// `error.data` of a tRPC error: tRPC's own `code`/`httpStatus`/`path`, plus our stable
/// `apiCode`, the `requestId`, the field list of validation errors and domain details.
#[derive(Debug, Serialize)]
#[serde(rename_all = "camelCase")]
struct ErrorData<'a> {
    code: &'static str,
    http_status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    path: Option<&'a str>,
    api_code: &'static str,
    request_id: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    errors: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    details: Option<Value>,
}

/// The error envelope for `err` raised by `path` (no stack, no internal cause).
pub fn error_envelope(err: &ApiError, path: Option<&str>, lang: Lang, request_id: &str) -> Value {
    let code = code_of(err);
    let problem = err.to_problem(lang, request_id);
    let data = ErrorData {
        code: code.name,
        http_status: code.http_status,
        path,
        api_code: err.code(),
        request_id,
        errors: problem
            .errors
            .as_ref()
            .and_then(|e| serde_json::to_value(e).ok()),
        details: problem.extra.clone(),
    };
    serde_json::json!({
        "error": {
            "message": problem.detail,
            "code": code.number,
            "data": data,
        }
    })
}

/// The success envelope.
pub fn result_envelope(data: Value) -> Value {
    serde_json::json!({ "result": { "data": data } })
}

/// The HTTP status of a response carrying `statuses` (one per call): that status when they
/// agree, else 207 (tRPC's `getHTTPStatusCode`).
pub fn batch_status(statuses: &[u16]) -> u16 {
    match statuses.split_first() {
        Some((first, rest)) if rest.iter().all(|s| s == first) => *first,
        Some(_) => 207,
        None => 200,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Msg;

    #[test]
    fn codes_match_trpc_v11() {
        // From @trpc/server 11.25.2 TRPC_ERROR_CODES_BY_KEY and JSONRPC2_TO_HTTP_CODE.
        let expected = [
            ("PARSE_ERROR", -32700, 400),
            ("BAD_REQUEST", -32600, 400),
            ("INTERNAL_SERVER_ERROR", -32603, 500),
            ("SERVICE_UNAVAILABLE", -32603, 503),
            ("UNAUTHORIZED", -32001, 401),
            ("FORBIDDEN", -32003, 403),
            ("NOT_FOUND", -32004, 404),
            ("METHOD_NOT_SUPPORTED", -32005, 405),
            ("TIMEOUT", -32008, 408),
            ("CONFLICT", -32009, 409),
            ("PRECONDITION_FAILED", -32012, 412),
            ("PAYLOAD_TOO_LARGE", -32013, 413),
            ("UNSUPPORTED_MEDIA_TYPE", -32015, 415),
            ("UNPROCESSABLE_CONTENT", -32022, 422),
            ("PRECONDITION_REQUIRED", -32028, 428),
            ("TOO_MANY_REQUESTS", -32029, 429),
        ];
        assert_eq!(TrpcCode::ALL.len(), expected.len());
        for (c, (name, number, status)) in TrpcCode::ALL.iter().zip(expected) {
            assert_eq!((c.name, c.number, c.http_status), (name, number, status));
        }
    }

    #[test]
    fn validation_errors_carry_fields_and_no_internals() {
        let err = ApiError::field("cpf", "invalid_cpf", Msg::new("CPF inválido.", "Bad CPF."));
        let v = error_envelope(&err, Some("patients.create"), Lang::En, "r1");
        assert_eq!(v["error"]["code"], -32022);
        assert_eq!(v["error"]["data"]["code"], "UNPROCESSABLE_CONTENT");
        assert_eq!(v["error"]["data"]["httpStatus"], 422);
        assert_eq!(v["error"]["data"]["path"], "patients.create");
        assert_eq!(v["error"]["data"]["errors"][0]["field"], "cpf");
        assert!(v["error"]["data"].get("stack").is_none());
        let internal = ApiError::internal(std::io::Error::other("secret sql"));
        let text = error_envelope(&internal, None, Lang::En, "r1").to_string();
        assert!(!text.contains("secret sql"));
    }

    #[test]
    fn mixed_batches_are_207() {
        assert_eq!(batch_status(&[200, 200]), 200);
        assert_eq!(batch_status(&[404]), 404);
        assert_eq!(batch_status(&[200, 404]), 207);
    }
}
