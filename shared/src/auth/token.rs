//! The untrusted parts of a compact JWS access token, checked before any key or crypto is used.
//!
//! Owns: the size and shape rules (three base64url segments, at most [`MAX_TOKEN_BYTES`]), the
//! header rules of RFC 8725 (an allow-listed `alg`, no `jku`/`x5u`/`jwk`/`x5c`, no `crit`,
//! `typ` = `JWT`) and the claim rules of a Supabase user token (`exp`, `nbf`, `iat`, `iss`, `aud`,
//! `sub`, `role`, and the types of the optional claims kept in [`Claims`]).
//!
//! Everything here is a pure function of its inputs (time is passed in), so each rule is unit
//! tested in this file. Nothing here verifies a signature: [`super::Verifier`] does that, and only
//! hands out [`Claims`] when both this module and the signature check agree.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};
use uuid::Uuid;

use super::{AuthError, Claims, strict_json};

/// Tokens longer than this are refused before anything is decoded. Supabase access tokens are
/// well under 2 KiB; the bound keeps hostile input from costing base64, JSON or crypto work.
pub(crate) const MAX_TOKEN_BYTES: usize = 8 * 1024;

/// Longest `kid` accepted, in a token header or a JWKS entry. Supabase key ids are UUIDs.
pub(crate) const MAX_KID_BYTES: usize = 128;

/// The audience of user access tokens (Supabase's `anon` tokens carry `anon`).
const AUDIENCE: &str = "authenticated";

/// The only Postgres role a token may name: the request transaction always runs as it.
const ROLE: &str = "authenticated";

/// The three segments of a compact JWS, still base64url-encoded.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Segments<'a> {
    /// Encoded protected header.
    pub header: &'a str,
    /// Encoded payload.
    pub payload: &'a str,
}

/// Splits a token into its segments after the cheap shape checks: size, exactly three non-empty
/// segments, and only base64url characters (no padding, no whitespace).
pub(crate) fn split(token: &str) -> Result<Segments<'_>, AuthError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError("token too large"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(AuthError("not three segments"));
    };
    if header.is_empty() || payload.is_empty() {
        return Err(AuthError("empty segment"));
    }
    if signature.is_empty() {
        return Err(AuthError("empty signature"));
    }
    for segment in [header, payload, signature] {
        // A base64 length of 1 (mod 4) encodes no whole byte; the decoder refuses it too, but a
        // signature segment is only decoded by the crypto backend, so check it here.
        if segment.len() % 4 == 1
            || !segment
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            return Err(AuthError("segment is not base64url"));
        }
    }
    Ok(Segments { header, payload })
}

/// Decodes one segment and parses it as a JSON object, refusing duplicate keys.
fn decode_object(segment: &str, what: Part) -> Result<Map<String, Value>, AuthError> {
    let bytes = URL_SAFE_NO_PAD
        .decode(segment)
        .map_err(|_| AuthError("segment is not base64url"))?;
    match strict_json::from_slice(&bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err(AuthError(what.pick(
            "header is not a JSON object",
            "payload is not a JSON object",
        ))),
        // The strict visitor accepts every JSON value, so a data error can only be a repeated key.
        Err(e) if e.is_data() => Err(AuthError(
            what.pick("duplicate key in header", "duplicate key in payload"),
        )),
        Err(_) => Err(AuthError(
            what.pick("header is not JSON", "payload is not JSON"),
        )),
    }
}

#[derive(Clone, Copy)]
enum Part {
    Header,
    Payload,
}

impl Part {
    fn pick(self, header: &'static str, payload: &'static str) -> &'static str {
        match self {
            Part::Header => header,
            Part::Payload => payload,
        }
    }
}

/// A signature algorithm this service accepts at all. Which one a token may use is then fixed
/// by its key (RFC 8725 §3.1): never by the header alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Alg {
    /// ECDSA P-256 / SHA-256: Supabase's recommended signing key.
    Es256,
    /// RSASSA-PKCS1-v1_5 / SHA-256: Supabase's RSA signing key.
    Rs256,
    /// HMAC-SHA-256 with the legacy shared secret.
    Hs256,
}

impl Alg {
    /// The matching `jsonwebtoken` algorithm.
    pub(crate) fn jwt(self) -> jsonwebtoken::Algorithm {
        match self {
            Alg::Es256 => jsonwebtoken::Algorithm::ES256,
            Alg::Rs256 => jsonwebtoken::Algorithm::RS256,
            Alg::Hs256 => jsonwebtoken::Algorithm::HS256,
        }
    }
}

/// The header facts the verifier needs once the header rules passed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Header {
    /// The (allow-listed) algorithm the token claims.
    pub alg: Alg,
    /// The key id, a lookup key only (never a path, URL or query fragment).
    pub kid: Option<String>,
}

/// Header parameters that point at, or carry, a verification key. Following them would let the
/// token choose its own key (RFC 8725 §3.10), so a token carrying any of them is refused.
const KEY_SOURCE_PARAMS: [&str; 4] = ["jku", "x5u", "jwk", "x5c"];

/// Header parameters that change how the token must be processed (RFC 7515 `crit` extensions,
/// RFC 7797 unencoded payloads, JWE compression/encryption). None of them is understood here.
const PROCESSING_PARAMS: [&str; 4] = ["crit", "b64", "zip", "enc"];

/// Decodes and checks the protected header.
pub(crate) fn parse_header(segments: &Segments<'_>) -> Result<Header, AuthError> {
    check_header(&decode_object(segments.header, Part::Header)?)
}

/// The header rules, on an already parsed header.
pub(crate) fn check_header(header: &Map<String, Value>) -> Result<Header, AuthError> {
    let alg = match header.get("alg") {
        Some(Value::String(alg)) => alg.as_str(),
        Some(_) => return Err(AuthError("alg is not a string")),
        None => return Err(AuthError("alg missing")),
    };
    let alg = match alg {
        "ES256" => Alg::Es256,
        "RS256" => Alg::Rs256,
        "HS256" => Alg::Hs256,
        other if other.eq_ignore_ascii_case("none") || other.is_empty() => {
            return Err(AuthError("alg none"));
        }
        _ => return Err(AuthError("alg not allowed")),
    };
    if KEY_SOURCE_PARAMS.iter().any(|p| header.contains_key(*p)) {
        return Err(AuthError("header names a key source"));
    }
    if header.contains_key("crit") {
        return Err(AuthError("crit header"));
    }
    if PROCESSING_PARAMS.iter().any(|p| header.contains_key(*p)) {
        return Err(AuthError("unsupported header parameter"));
    }
    match header.get("typ") {
        None => {}
        Some(Value::String(typ)) if typ.eq_ignore_ascii_case("JWT") => {}
        Some(_) => return Err(AuthError("typ is not JWT")),
    }
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) if is_plausible_kid(kid) => Some(kid.clone()),
        Some(_) => return Err(AuthError("malformed kid")),
    };
    Ok(Header { alg, kid })
}

/// A key id we are willing to look up: short, printable ASCII. Anything else cannot be one of
/// Supabase's ids, and refusing it early keeps hostile bytes out of maps and logs.
pub(crate) fn is_plausible_kid(kid: &str) -> bool {
    !kid.is_empty() && kid.len() <= MAX_KID_BYTES && kid.bytes().all(|b| b.is_ascii_graphic())
}

/// The claim rules that do not depend on the key.
#[derive(Debug, Clone)]
pub(crate) struct ClaimRules {
    /// The exact `iss` (a string; an array is refused even if it contains this value).
    pub issuer: String,
    /// Clock leeway for `exp` and `nbf`, in seconds (at most 60).
    pub leeway: u64,
}

/// Decodes the payload and applies [`check_claims`].
pub(crate) fn parse_claims(
    segments: &Segments<'_>,
    rules: &ClaimRules,
    now: u64,
) -> Result<Claims, AuthError> {
    check_claims(decode_object(segments.payload, Part::Payload)?, rules, now)
}

/// The claim rules, on an already parsed payload, at unix time `now`. Returns the [`Claims`]
/// with `raw` set to the payload, which is only trusted once the signature is also verified.
pub(crate) fn check_claims(
    payload: Map<String, Value>,
    rules: &ClaimRules,
    now: u64,
) -> Result<Claims, AuthError> {
    // Times: JSON numbers only. A string `exp` must not read as "absent" (CVE-2026-25537).
    let exp = match payload.get("exp") {
        None => return Err(AuthError("exp missing")),
        Some(v) => numeric_date(v).ok_or(AuthError("exp is not a number"))?,
    };
    if now >= exp.saturating_add(rules.leeway) {
        return Err(AuthError(AuthError::EXPIRED));
    }
    if let Some(v) = payload.get("nbf") {
        let nbf = numeric_date(v).ok_or(AuthError("nbf is not a number"))?;
        if nbf > now.saturating_add(rules.leeway) {
            return Err(AuthError("not yet valid"));
        }
    }
    if let Some(v) = payload.get("iat") {
        numeric_date(v).ok_or(AuthError("iat is not a number"))?;
    }

    match payload.get("iss") {
        None => return Err(AuthError("iss missing")),
        Some(Value::String(iss)) if *iss == rules.issuer => {}
        Some(_) => return Err(AuthError("wrong issuer")),
    }
    match payload.get("aud") {
        None => return Err(AuthError("aud missing")),
        Some(aud) if audience_ok(aud) => {}
        Some(_) => return Err(AuthError("wrong audience")),
    }
    let sub = match payload.get("sub") {
        None => return Err(AuthError("sub missing")),
        Some(Value::String(s)) => parse_uuid(s).ok_or(AuthError("sub is not a UUID"))?,
        Some(_) => return Err(AuthError("sub is not a UUID")),
    };
    match payload.get("role") {
        Some(Value::String(role)) if role == ROLE => {}
        _ => return Err(AuthError("role is not authenticated")),
    }

    // Optional claims kept in `Claims`: absent or null is fine, a wrong type is not.
    let is_anonymous = match payload.get("is_anonymous") {
        None | Some(Value::Null) => false,
        Some(Value::Bool(b)) => *b,
        Some(_) => return Err(AuthError("is_anonymous is not a boolean")),
    };
    let session_id = match payload.get("session_id") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(parse_uuid(s).ok_or(AuthError("session_id is not a UUID"))?),
        Some(_) => return Err(AuthError("session_id is not a UUID")),
    };
    let aal = match payload.get("aal") {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => return Err(AuthError("aal is not a string")),
    };
    let amr = match payload.get("amr") {
        None | Some(Value::Null) => None,
        Some(v @ Value::Array(_)) => Some(v.clone()),
        Some(_) => return Err(AuthError("amr is not an array")),
    };

    Ok(Claims {
        sub,
        aal,
        amr,
        session_id,
        is_anonymous,
        raw: Value::Object(payload),
    })
}

/// A NumericDate (RFC 7519 §2): a non-negative JSON number, fractions truncated.
fn numeric_date(v: &Value) -> Option<u64> {
    match v {
        Value::Number(n) => n.as_u64().or_else(|| {
            n.as_f64()
                .filter(|f| f.is_finite() && *f >= 0.0 && *f < u64::MAX as f64)
                .map(|f| f as u64)
        }),
        _ => None,
    }
}

/// `aud` is the string `authenticated`, or an array of strings that contains it.
fn audience_ok(aud: &Value) -> bool {
    match aud {
        Value::String(s) => s == AUDIENCE,
        Value::Array(items) => {
            items.iter().all(Value::is_string) && items.iter().any(|v| v == AUDIENCE)
        }
        _ => false,
    }
}

/// A UUID in its canonical hyphenated form (the form Supabase issues and Postgres prints), not
/// the nil UUID. Other spellings that `Uuid::parse_str` also takes (braces, `urn:`, no hyphens)
/// are refused so that one user id has one spelling.
fn parse_uuid(s: &str) -> Option<Uuid> {
    if s.len() != 36 {
        return None;
    }
    Uuid::try_parse(s).ok().filter(|u| !u.is_nil())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    const ISS: &str = "https://abc.supabase.co/auth/v1";
    const NOW: u64 = 1_750_000_000;
    const USER: &str = "2f4a5b6c-7d8e-4f90-a1b2-c3d4e5f60718";

    fn rules() -> ClaimRules {
        ClaimRules {
            issuer: ISS.to_owned(),
            leeway: 30,
        }
    }

    fn header(v: Value) -> Result<Header, AuthError> {
        check_header(v.as_object().unwrap())
    }

    fn valid() -> Value {
        json!({
            "iss": ISS, "aud": "authenticated", "sub": USER, "role": "authenticated",
            "exp": NOW + 3600, "iat": NOW, "aal": "aal1", "session_id": "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9",
            "is_anonymous": false, "amr": [{"method": "password", "timestamp": NOW}],
        })
    }

    fn claims_with(patch: Value) -> Result<Claims, AuthError> {
        let mut v = valid();
        for (k, val) in patch.as_object().unwrap() {
            if val == &json!("<remove>") {
                v.as_object_mut().unwrap().remove(k);
            } else {
                v[k] = val.clone();
            }
        }
        check_claims(v.as_object().unwrap().clone(), &rules(), NOW)
    }

    fn reason(r: Result<Claims, AuthError>) -> &'static str {
        r.err().map(|e| e.0).unwrap_or("accepted")
    }

    #[test]
    fn shape_checks_refuse_oversized_and_malformed_tokens() {
        assert_eq!(
            split(&"a".repeat(MAX_TOKEN_BYTES + 1)).unwrap_err().0,
            "token too large"
        );
        assert_eq!(split("a.b").unwrap_err().0, "not three segments");
        assert_eq!(split("a.b.c.d").unwrap_err().0, "not three segments");
        assert_eq!(split("aaaa.bbbb.").unwrap_err().0, "empty signature");
        assert_eq!(split(".bbbb.cccc").unwrap_err().0, "empty segment");
        assert_eq!(
            split("aa+a.bbbb.cccc").unwrap_err().0,
            "segment is not base64url"
        );
        assert_eq!(
            split("aaaa.bb=b.cccc").unwrap_err().0,
            "segment is not base64url"
        );
        assert_eq!(
            split("aaaa.bbbb.c cc").unwrap_err().0,
            "segment is not base64url"
        );
        assert_eq!(
            split("aaaa.bbbb.ccccc").unwrap_err().0,
            "segment is not base64url"
        );
        assert!(split("aaaa.bbbb.cccc").is_ok());
    }

    #[test]
    fn only_the_three_supported_algorithms_pass_and_case_matters() {
        assert_eq!(header(json!({"alg": "ES256"})).unwrap().alg, Alg::Es256);
        assert_eq!(header(json!({"alg": "RS256"})).unwrap().alg, Alg::Rs256);
        assert_eq!(header(json!({"alg": "HS256"})).unwrap().alg, Alg::Hs256);
        for none in ["none", "None", "NONE", "nOnE", ""] {
            assert_eq!(
                header(json!({"alg": none})).unwrap_err().0,
                "alg none",
                "{none}"
            );
        }
        for other in [
            "es256", "HS384", "RS512", "PS256", "ES384", "EdDSA", "ES256 ",
        ] {
            assert_eq!(
                header(json!({"alg": other})).unwrap_err().0,
                "alg not allowed",
                "{other}"
            );
        }
        assert_eq!(header(json!({"typ": "JWT"})).unwrap_err().0, "alg missing");
        assert_eq!(
            header(json!({"alg": ["ES256"]})).unwrap_err().0,
            "alg is not a string"
        );
    }

    #[test]
    fn key_source_and_critical_parameters_are_refused() {
        for p in ["jku", "x5u", "jwk", "x5c"] {
            let mut h = json!({"alg": "ES256", "kid": "k1"});
            h[p] = json!("https://evil.example/jwks.json");
            assert_eq!(header(h).unwrap_err().0, "header names a key source", "{p}");
        }
        assert_eq!(
            header(json!({"alg": "ES256", "crit": ["exp"]}))
                .unwrap_err()
                .0,
            "crit header"
        );
        assert_eq!(
            header(json!({"alg": "ES256", "crit": []})).unwrap_err().0,
            "crit header"
        );
        assert_eq!(
            header(json!({"alg": "ES256", "b64": false})).unwrap_err().0,
            "unsupported header parameter"
        );
        assert_eq!(
            header(json!({"alg": "ES256", "zip": "DEF"})).unwrap_err().0,
            "unsupported header parameter"
        );
    }

    #[test]
    fn typ_must_be_jwt_in_any_case() {
        assert!(header(json!({"alg": "ES256", "typ": "JWT"})).is_ok());
        assert!(header(json!({"alg": "ES256", "typ": "jwt"})).is_ok());
        assert_eq!(
            header(json!({"alg": "ES256", "typ": "at+jwt"}))
                .unwrap_err()
                .0,
            "typ is not JWT"
        );
        assert_eq!(
            header(json!({"alg": "ES256", "typ": 1})).unwrap_err().0,
            "typ is not JWT"
        );
    }

    #[test]
    fn odd_kids_are_refused_before_any_lookup() {
        let ok =
            header(json!({"alg": "ES256", "kid": "8c2b5b1e-3d5f-4c1a-9f0e-1d2c3b4a5f60"})).unwrap();
        assert_eq!(
            ok.kid.as_deref(),
            Some("8c2b5b1e-3d5f-4c1a-9f0e-1d2c3b4a5f60")
        );
        for kid in [
            json!(""),
            json!("a\u{0}b"),
            json!("a b"),
            json!("ção"),
            json!("k".repeat(MAX_KID_BYTES + 1)),
            json!(7),
        ] {
            assert_eq!(
                header(json!({"alg": "ES256", "kid": kid})).unwrap_err().0,
                "malformed kid"
            );
        }
        // Path and quote characters are printable: they pass here and simply match no key.
        assert!(header(json!({"alg": "ES256", "kid": "../../etc/passwd"})).is_ok());
        assert!(header(json!({"alg": "ES256", "kid": "'OR'1'='1"})).is_ok());
    }

    #[test]
    fn duplicate_header_or_payload_keys_are_refused() {
        let enc = |s: &str| URL_SAFE_NO_PAD.encode(s);
        let h = enc(r#"{"alg":"ES256","alg":"HS256"}"#);
        let p = enc(r#"{"sub":"a","sub":"b"}"#);
        let seg = Segments {
            header: &h,
            payload: &p,
        };
        assert_eq!(parse_header(&seg).unwrap_err().0, "duplicate key in header");
        assert_eq!(
            parse_claims(&seg, &rules(), NOW).unwrap_err().0,
            "duplicate key in payload"
        );
        let not_json = enc("{alg:ES256}");
        let seg = Segments {
            header: &not_json,
            payload: &not_json,
        };
        assert_eq!(parse_header(&seg).unwrap_err().0, "header is not JSON");
        let array = enc("[1]");
        let seg = Segments {
            header: &array,
            payload: &array,
        };
        assert_eq!(
            parse_header(&seg).unwrap_err().0,
            "header is not a JSON object"
        );
        assert_eq!(
            parse_claims(&seg, &rules(), NOW).unwrap_err().0,
            "payload is not a JSON object"
        );
    }

    #[test]
    fn a_valid_payload_yields_its_claims() {
        let c = claims_with(json!({})).unwrap();
        assert_eq!(c.sub.to_string(), USER);
        assert_eq!(c.aal.as_deref(), Some("aal1"));
        assert_eq!(
            c.session_id.map(|s| s.to_string()).as_deref(),
            Some("0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9")
        );
        assert!(!c.is_anonymous);
        assert!(c.amr.is_some_and(|a| a.is_array()));
        assert_eq!(c.raw, valid());
        assert!(
            claims_with(json!({"is_anonymous": true}))
                .unwrap()
                .is_anonymous
        );
        assert!(claims_with(json!({"aud": ["authenticated", "other"]})).is_ok());
        assert!(claims_with(json!({"exp": (NOW + 60) as f64 + 0.5})).is_ok());
    }

    #[test]
    fn times_must_be_numbers_and_current() {
        assert_eq!(
            reason(claims_with(json!({"exp": "<remove>"}))),
            "exp missing"
        );
        assert_eq!(
            reason(claims_with(json!({"exp": "9999999999"}))),
            "exp is not a number"
        );
        assert_eq!(
            reason(claims_with(json!({"exp": "never"}))),
            "exp is not a number"
        );
        assert_eq!(
            reason(claims_with(json!({"exp": null}))),
            "exp is not a number"
        );
        assert_eq!(
            reason(claims_with(json!({"exp": -1}))),
            "exp is not a number"
        );
        assert_eq!(
            reason(claims_with(json!({"nbf": "0"}))),
            "nbf is not a number"
        );
        assert_eq!(
            reason(claims_with(json!({"iat": "0"}))),
            "iat is not a number"
        );
        // Leeway: 30 s.
        assert_eq!(reason(claims_with(json!({"exp": NOW - 31}))), "expired");
        assert_eq!(reason(claims_with(json!({"exp": NOW - 30}))), "expired");
        assert!(claims_with(json!({"exp": NOW - 29})).is_ok());
        assert_eq!(
            reason(claims_with(json!({"nbf": NOW + 31}))),
            "not yet valid"
        );
        assert!(claims_with(json!({"nbf": NOW + 30})).is_ok());
    }

    #[test]
    fn issuer_must_match_exactly() {
        assert_eq!(
            reason(claims_with(json!({"iss": "<remove>"}))),
            "iss missing"
        );
        for iss in [
            json!("supabase"),
            json!("https://other.supabase.co/auth/v1"),
            json!(format!("{ISS}/")),
            json!([ISS]),
            json!(null),
        ] {
            assert_eq!(
                reason(claims_with(json!({ "iss": iss }))),
                "wrong issuer",
                "{iss}"
            );
        }
    }

    #[test]
    fn audience_must_include_authenticated() {
        assert_eq!(
            reason(claims_with(json!({"aud": "<remove>"}))),
            "aud missing"
        );
        for aud in [
            json!("anon"),
            json!([]),
            json!(["x"]),
            json!(["anon"]),
            json!("Authenticated"),
            json!(["authenticated", 1]),
            json!(null),
        ] {
            assert_eq!(
                reason(claims_with(json!({ "aud": aud }))),
                "wrong audience",
                "{aud}"
            );
        }
    }

    #[test]
    fn sub_must_be_a_canonical_uuid() {
        assert_eq!(
            reason(claims_with(json!({"sub": "<remove>"}))),
            "sub missing"
        );
        for sub in [
            json!("not-a-uuid"),
            json!(USER.replace('-', "")),
            json!(format!("{{{USER}}}")),
            json!("00000000-0000-0000-0000-000000000000"),
            json!(42),
        ] {
            assert_eq!(
                reason(claims_with(json!({ "sub": sub }))),
                "sub is not a UUID",
                "{sub}"
            );
        }
    }

    #[test]
    fn role_must_be_exactly_authenticated() {
        for role in [
            json!("<remove>"),
            json!("service_role"),
            json!("postgres"),
            json!("anon"),
            json!("Authenticated"),
            json!(["authenticated"]),
        ] {
            assert_eq!(
                reason(claims_with(json!({ "role": role }))),
                "role is not authenticated",
                "{role}"
            );
        }
    }

    #[test]
    fn optional_claims_must_have_their_types() {
        assert_eq!(
            reason(claims_with(json!({"is_anonymous": "false"}))),
            "is_anonymous is not a boolean"
        );
        assert_eq!(
            reason(claims_with(json!({"session_id": "x"}))),
            "session_id is not a UUID"
        );
        assert_eq!(
            reason(claims_with(json!({"aal": 2}))),
            "aal is not a string"
        );
        assert_eq!(
            reason(claims_with(json!({"amr": "password"}))),
            "amr is not an array"
        );
        let c = claims_with(json!({"aal": null, "amr": "<remove>", "session_id": "<remove>", "is_anonymous": "<remove>"})).unwrap();
        assert!(c.aal.is_none() && c.amr.is_none() && c.session_id.is_none() && !c.is_anonymous);
    }
}
