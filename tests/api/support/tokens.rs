//! Token minting for tests: valid Supabase-shaped access tokens by default, and every knob an
//! attack test needs (any header, any claim, raw JSON, foreign keys).
//!
//! ```ignore
//! let token = TokenBuilder::new(&issuer).sub(user_id).claim("aal", "aal2").sign_hs256(DEV_JWT_SECRET);
//! let token = TokenBuilder::new(&issuer).sign_es256(&key, "kid-1");
//! ```
//!
//! Signing goes through `jsonwebtoken::crypto::sign` over a signing input built here, so a test
//! can sign a header that `jsonwebtoken::encode` would never produce (`alg: none`, `jku`, a key
//! repeated twice).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey};
use serde_json::{Map, Value, json};
use uuid::Uuid;

/// Base64url without padding, as JWS uses it.
pub fn b64(bytes: impl AsRef<[u8]>) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding.
pub fn unb64(text: &str) -> Vec<u8> {
    URL_SAFE_NO_PAD.decode(text).expect("base64url")
}

/// Seconds since the epoch.
pub fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// Builds one token: a claim set and header overrides, then a `sign_*` call.
#[derive(Debug, Clone)]
pub struct TokenBuilder {
    claims: Map<String, Value>,
    header: Map<String, Value>,
}

impl TokenBuilder {
    /// A valid user access token for `issuer`, as Supabase Auth issues it: a random user and
    /// session, `aud`/`role` `authenticated`, `aal1`, password `amr`, one hour left.
    pub fn new(issuer: &str) -> Self {
        let now = now();
        let claims = json!({
            "iss": issuer,
            "sub": Uuid::new_v4().to_string(),
            "aud": "authenticated",
            "role": "authenticated",
            "exp": now + 3600,
            "iat": now,
            "email": "",
            "phone": "",
            "aal": "aal1",
            "amr": [{"method": "password", "timestamp": now}],
            "session_id": Uuid::new_v4().to_string(),
            "is_anonymous": false,
        });
        Self {
            claims: as_map(claims),
            header: Map::new(),
        }
    }

    /// No claims at all (for tokens that are not user tokens, such as Supabase API keys).
    pub fn empty() -> Self {
        Self {
            claims: Map::new(),
            header: Map::new(),
        }
    }

    /// One of Supabase's legacy API-key JWTs (`anon` or `service_role`): `iss: "supabase"`, a
    /// project `ref`, no `sub`, no `aud`, valid for ten years.
    pub fn supabase_api_key(role: &str) -> Self {
        let now = now();
        Self::empty()
            .claim("iss", "supabase")
            .claim("ref", "abcdefghijklmnopqrst")
            .claim("role", role)
            .claim("iat", now)
            .claim("exp", now + 10 * 365 * 24 * 3600)
    }

    /// Sets `sub`.
    pub fn sub(self, sub: Uuid) -> Self {
        self.claim("sub", sub.to_string())
    }

    /// Sets (or replaces) a claim.
    pub fn claim(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.claims.insert(key.to_owned(), value.into());
        self
    }

    /// Removes a claim.
    pub fn without(mut self, key: &str) -> Self {
        self.claims.remove(key);
        self
    }

    /// `exp` = now + `secs` (negative: already expired).
    pub fn expires_in(self, secs: i64) -> Self {
        self.claim("exp", now() + secs)
    }

    /// Overrides a header parameter after the `sign_*` defaults (`alg`, `typ`, `kid`) are set;
    /// `Value::Null` removes it. `.header("alg", "HS256").sign_es256(..)` claims HS256 but is
    /// signed with the EC key.
    pub fn header(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.header.insert(key.to_owned(), value.into());
        self
    }

    /// The claims as JSON text.
    pub fn payload_json(&self) -> String {
        Value::Object(self.claims.clone()).to_string()
    }

    /// The header JSON a `sign_*` call with `alg` and `kid` would use.
    pub fn header_json(&self, alg: &str, kid: Option<&str>) -> String {
        let mut h = Map::new();
        h.insert("alg".into(), alg.into());
        h.insert("typ".into(), "JWT".into());
        if let Some(kid) = kid {
            h.insert("kid".into(), kid.into());
        }
        for (k, v) in &self.header {
            if v.is_null() {
                h.remove(k);
            } else {
                h.insert(k.clone(), v.clone());
            }
        }
        Value::Object(h).to_string()
    }

    /// HS256 with a shared secret (the legacy Supabase JWT secret).
    pub fn sign_hs256(&self, secret: &str) -> String {
        self.sign_hs256_bytes(secret.as_bytes(), None)
    }

    /// HS256 with arbitrary key bytes and an optional `kid` (e.g. a public key's bytes).
    pub fn sign_hs256_bytes(&self, key: &[u8], kid: Option<&str>) -> String {
        sign_raw(
            &self.header_json("HS256", kid),
            &self.payload_json(),
            &EncodingKey::from_secret(key).expect("non-empty HMAC key"),
            Algorithm::HS256,
        )
    }

    /// ES256 with `key`, header `kid`.
    pub fn sign_es256(&self, key: &EsKey, kid: &str) -> String {
        sign_raw(
            &self.header_json("ES256", Some(kid)),
            &self.payload_json(),
            &key.encoding,
            Algorithm::ES256,
        )
    }

    /// RS256 with `key`, header `kid`.
    pub fn sign_rs256(&self, key: &RsKey, kid: &str) -> String {
        sign_raw(
            &self.header_json("RS256", Some(kid)),
            &self.payload_json(),
            &key.encoding,
            Algorithm::RS256,
        )
    }

    /// Header and payload with `signature` appended verbatim (base64url already applied).
    pub fn with_signature(&self, alg: &str, kid: Option<&str>, signature: &str) -> String {
        format!(
            "{}.{}.{signature}",
            b64(self.header_json(alg, kid)),
            b64(self.payload_json())
        )
    }
}

/// Signs `header_json.payload_json` exactly as given (so duplicate keys survive).
pub fn sign_raw(
    header_json: &str,
    payload_json: &str,
    key: &EncodingKey,
    alg: Algorithm,
) -> String {
    let input = format!("{}.{}", b64(header_json), b64(payload_json));
    let signature = jsonwebtoken::crypto::sign(input.as_bytes(), key, alg).expect("sign");
    format!("{input}.{signature}")
}

fn as_map(v: Value) -> Map<String, Value> {
    match v {
        Value::Object(m) => m,
        _ => unreachable!("an object literal"),
    }
}

/// A P-256 key pair, fresh per test.
pub struct EsKey {
    secret: p256::SecretKey,
    encoding: EncodingKey,
}

impl EsKey {
    pub fn generate() -> Self {
        use p256::pkcs8::EncodePrivateKey;
        let secret = loop {
            if let Ok(k) = p256::SecretKey::from_slice(&rand::random::<[u8; 32]>()) {
                break k;
            }
        };
        let der = secret.to_pkcs8_der().expect("pkcs8");
        let encoding = EncodingKey::from_ec_der(der.as_bytes());
        Self { secret, encoding }
    }

    fn point(&self) -> p256::EncodedPoint {
        use p256::elliptic_curve::sec1::ToEncodedPoint;
        self.secret.public_key().to_encoded_point(false)
    }

    /// The public JWK as Supabase publishes it.
    pub fn jwk(&self, kid: &str) -> Value {
        let p = self.point();
        json!({
            "kty": "EC", "crv": "P-256", "alg": "ES256", "use": "sig", "key_ops": ["verify"], "kid": kid,
            "x": b64(p.x().expect("x")), "y": b64(p.y().expect("y")),
        })
    }

    /// SubjectPublicKeyInfo PEM.
    pub fn public_pem(&self) -> String {
        use p256::pkcs8::{EncodePublicKey, LineEnding};
        self.secret
            .public_key()
            .to_public_key_pem(LineEnding::LF)
            .expect("pem")
    }

    /// SubjectPublicKeyInfo DER.
    pub fn public_der(&self) -> Vec<u8> {
        use p256::pkcs8::EncodePublicKey;
        self.secret
            .public_key()
            .to_public_key_der()
            .expect("der")
            .as_bytes()
            .to_vec()
    }

    /// The private key, for [`sign_raw`].
    pub fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    /// Uncompressed SEC1 point (what `jsonwebtoken` keeps as the EC key bytes).
    pub fn public_sec1(&self) -> Vec<u8> {
        self.point().as_bytes().to_vec()
    }
}

/// TEST-ONLY RSA-2048 key, generated for this suite; it protects nothing. Fixed because RSA key
/// generation in an unoptimised test build takes seconds.
const TEST_RSA_PRIVATE_KEY_PEM: &str = "\
-----BEGIN PRIVATE KEY-----
MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQCtGnG1BL9MO05H
cJlfspORlyeW3Zo3Yhn1qgoJPY42lmDLh9vKGK058L6EI+92uS4GxqvoxjKPJTjl
QvUJXBOhA997Ze1zWUMC82R9ZJfr5tbYbJEgLgmCzMTx/Vc5EMIz1YNH8bl7z67S
hjbTnJt+Yp5OOvUbl5rVWVSnNBrpVfkL/vHiy/DFF6IG3eqAX/9Iwji6nsj/wVFL
HBaF3kao/LyXw1r3jfOoC5/bbissZqaxWOhVtYewI0fIT4mN1l5P5gUVfZNLIhBa
WSgjQJ1Jc22G6qYlEMh+yDDiaG1qlAa+M5pZotxjn/M5YypjZRZHlqK9sTuvUIH8
99pCwWaBAgMBAAECggEATP9/x6zaaM7ShY2M85fr8y1gw0dEQ1FkSbW+rBiQ6zAd
0zrV5cHvP+AZ5o5ThKRfWE1EB5EtySWd9sC/XU/zPUKLRIj0w8PXPndEYlB+EUVH
mNJGBaHkwiVSj2+Ivk35jHPzZuubfXrGgUeJGLzHH8M/Nn4cLA9WJIONV6iiNdq2
+zVdFSW/NF9i80WfkGSA73pXK5v8Upl2qpzObn/vkxyACwCNQh2neK7DLeIb1N/h
Fd3qtmpAysN2d8psAj5W38kpY91yUH2DbhQSJVgGxvbxwOpQzFjjpGFvkkG4RvSx
gk+Xv8TU3XsHVfpB9AiS+4YvgeEumffN2lOEEVxH3wKBgQDtoZGEl6FVztJikcSR
qAL1wrDy58GMnWzfoMrPE7ioUsF+IU/OkjXwg3PnEC0Lc7eYdLwcGD7MgS8Ijj62
jVY0B2zze+wKjJvOg7ddw6q6PTk95REyHr9bPMKBQCcHZrzxXTGQ8pxOIhJWVUpu
wfWnZPo5iZ1W7k/I4zaNzbljxwKBgQC6e/LFLk1tFLYkiAOgfrgZxACgLvujhSfV
wREWuyaEmgRLpN7ijT+nyuqLGfiaSJMc0Q749mFrqRZ+XXYcHfSxajmgzY/hsdl8
jVb/xpSL8At6hzxglt4lHkDtiw03n8OaAlF63QQVHBHC+isqlb8ghDBF0ARqfT+V
h3Yz6vHTdwKBgFlrI8vmFvKoGei3e2Vn+H0sHtO4u89C6dYYtlhHzoOgaGki9doA
kMWJYZLANoMJrztyKdrUkMT5k44/oH+nHZoEdU4GAqNRl8uVKungmBzurtyIlvjq
Mw2NBpAGaOlTEqQscltdv81y6r2L6K9W0y6DQ9lk3Ez67hDk1wFzOWC/AoGBAKff
7uMs1IyO6Y0nWESB7s9bD8kjompI81xMykpxPbJ/R8Ck8fR2fUhatht0zMRu8ugt
FtJuUbLua45kKnATU3TnEGu+wXjGdufWAOyOYqk69cpeta6qAd7eRkrRM5vQWfBp
h9oX3pX2R9MDDBrw5TaraR1frqoCiFverzz7kqjvAoGAU+IbU+ljJSkkHkSLA7u7
ivulzIECHO4ywPEHYujrkLejqW55wDutpRO+LTZTQy2aX3XNVG3ZTv2/cPMIb3Ad
LFeM8CnoGshWcLwSTS77jYGGcuc9R+tChCTVVtcINtAeFjXP8K4EkTaxotFBAsb3
uc0eoA9S0nn/SpLdePkIbJg=
-----END PRIVATE KEY-----
";

/// The fixed RSA test key pair.
pub struct RsKey {
    public: rsa::RsaPublicKey,
    encoding: EncodingKey,
}

impl RsKey {
    pub fn fixed() -> Self {
        use rsa::pkcs8::DecodePrivateKey;
        let private =
            rsa::RsaPrivateKey::from_pkcs8_pem(TEST_RSA_PRIVATE_KEY_PEM).expect("test RSA key");
        let encoding =
            EncodingKey::from_rsa_pem(TEST_RSA_PRIVATE_KEY_PEM.as_bytes()).expect("test RSA key");
        Self {
            public: private.to_public_key(),
            encoding,
        }
    }

    /// The private key, for [`sign_raw`].
    pub fn encoding(&self) -> &EncodingKey {
        &self.encoding
    }

    /// The public JWK as Supabase publishes it.
    pub fn jwk(&self, kid: &str) -> Value {
        use rsa::traits::PublicKeyParts;
        json!({
            "kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid,
            "n": b64(self.public.n().to_bytes_be()), "e": b64(self.public.e().to_bytes_be()),
        })
    }

    /// SubjectPublicKeyInfo PEM.
    pub fn public_pem(&self) -> String {
        use rsa::pkcs8::{EncodePublicKey, LineEnding};
        self.public.to_public_key_pem(LineEnding::LF).expect("pem")
    }

    /// SubjectPublicKeyInfo DER.
    pub fn public_der(&self) -> Vec<u8> {
        use rsa::pkcs8::EncodePublicKey;
        self.public
            .to_public_key_der()
            .expect("der")
            .as_bytes()
            .to_vec()
    }
}
