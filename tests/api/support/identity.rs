//! Development tokens for tests: HS256 with Supabase's local secret and the exact claim shape
//! Supabase Auth issues (`reference/security.md` §1.1).

use serde_json::{Value, json};
use uuid::Uuid;

pub const DEV_SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters-long";
pub const DEV_ISSUER: &str = "http://127.0.0.1:54321/auth/v1";

/// The payload Supabase Auth would issue for `user`.
pub fn claims(user: Uuid) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({
        "iss": DEV_ISSUER,
        "aud": "authenticated",
        "exp": now + 3600,
        "iat": now,
        "sub": user.to_string(),
        "email": "",
        "phone": "",
        "role": "authenticated",
        "aal": "aal1",
        "amr": [{ "method": "password", "timestamp": now }],
        "session_id": Uuid::new_v4().to_string(),
        "is_anonymous": false,
        "app_metadata": { "provider": "email", "providers": ["email"] },
        "user_metadata": {}
    })
}

pub fn sign(claims: &Value) -> String {
    jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        claims,
        &jsonwebtoken::EncodingKey::from_secret(DEV_SECRET.as_bytes()).unwrap(),
    )
    .unwrap()
}

/// A valid development token for `user`.
pub fn token(user: Uuid) -> String {
    sign(&claims(user))
}

pub fn bearer(user: Uuid) -> String {
    format!("Bearer {}", token(user))
}
