//! Opaque pagination cursors: base64url of a small JSON object, so clients cannot build or
//! depend on their contents and no personal data ever rides in a URL (only ids, sequence
//! numbers and timestamps go in).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::error::{ApiError, Msg};

/// Largest page a list endpoint returns.
pub const MAX_LIMIT: i64 = 100;
/// Page size when the client does not ask.
pub const DEFAULT_LIMIT: i64 = 50;

/// Encodes a cursor.
pub fn encode<T: Serialize>(value: &T) -> String {
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}

/// Decodes a cursor made by [`encode`]; anything else is a 400.
pub fn decode<T: DeserializeOwned>(text: &str) -> Result<T, ApiError> {
    URL_SAFE_NO_PAD
        .decode(text.as_bytes())
        .ok()
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .ok_or(ApiError::BadRequest {
            code: "invalid_cursor",
            detail: Msg::new("Cursor de paginação inválido.", "Invalid pagination cursor."),
        })
}

/// Validates `limit` (1..=100, default 50).
pub fn limit(requested: Option<i64>) -> Result<i64, ApiError> {
    match requested {
        None => Ok(DEFAULT_LIMIT),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::field(
            "limit",
            "out_of_range",
            Msg::new("limit deve estar entre 1 e 100.", "limit must be between 1 and 100."),
        )),
    }
}
