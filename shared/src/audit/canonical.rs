//! RFC 8785 (JSON Canonicalization Scheme) for the values the audit trail hashes.
//!
//! Audit events contain only objects, arrays, strings, booleans, null and integers, so the
//! number rules of JCS reduce to "integers in decimal". Object members are sorted by their
//! UTF-16 code units, as the RFC requires (this differs from byte order only outside the BMP);
//! strings use the same minimal escaping as ECMAScript's `JSON.stringify`, which is what
//! `serde_json` emits. Floats are refused rather than risk a representation mismatch.

use serde_json::Value;

/// Why a value cannot be canonicalised.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("non-integer number in canonical JSON")]
pub struct NotCanonicalizable;

/// The canonical bytes of `value`.
pub fn canonical_json(value: &Value) -> Result<Vec<u8>, NotCanonicalizable> {
    let mut out = Vec::with_capacity(256);
    write(value, &mut out)?;
    Ok(out)
}

fn write(value: &Value, out: &mut Vec<u8>) -> Result<(), NotCanonicalizable> {
    match value {
        Value::Null | Value::Bool(_) | Value::String(_) => {
            out.extend_from_slice(value.to_string().as_bytes());
        }
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else if let Some(u) = n.as_u64() {
                out.extend_from_slice(u.to_string().as_bytes());
            } else {
                return Err(NotCanonicalizable);
            }
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write(item, out)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort_by(|a, b| a.encode_utf16().cmp(b.encode_utf16()));
            out.push(b'{');
            for (i, key) in keys.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                out.extend_from_slice(Value::String((*key).clone()).to_string().as_bytes());
                out.push(b':');
                write(&map[*key], out)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn members_are_sorted_and_whitespace_removed() {
        let v: Value = serde_json::from_str(r#"{ "b": 1, "a": [true, null, "x"], "c": {"z": 0, "y": -5} }"#).unwrap();
        assert_eq!(String::from_utf8(canonical_json(&v).unwrap()).unwrap(), r#"{"a":[true,null,"x"],"b":1,"c":{"y":-5,"z":0}}"#);
    }

    #[test]
    fn key_order_of_the_input_does_not_matter() {
        let a = json!({"actor": "1", "seq": 2, "details": {"k": "v", "a": 1}});
        let b: Value = serde_json::from_str(r#"{"details":{"a":1,"k":"v"},"seq":2,"actor":"1"}"#).unwrap();
        assert_eq!(canonical_json(&a).unwrap(), canonical_json(&b).unwrap());
    }

    /// RFC 8785 §3.2.3: members sorted by UTF-16 code units, so the emoji (surrogate pair
    /// starting 0xD83D) sorts before U+FB33 although its code point is larger.
    #[test]
    fn rfc8785_sorting_example() {
        let v: Value = serde_json::from_str(
            r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#,
        )
        .unwrap();
        let out = String::from_utf8(canonical_json(&v).unwrap()).unwrap();
        let order: Vec<&str> = ["Carriage Return", "One", "Control", "Latin Small", "Euro Sign", "Emoji", "Hebrew"].to_vec();
        let mut last = 0;
        for name in order {
            let at = out.find(name).unwrap();
            assert!(at > last || last == 0, "{name} out of order in {out}");
            last = at;
        }
        assert!(out.starts_with(r#"{"\r":"Carriage Return""#));
    }

    #[test]
    fn floats_are_refused() {
        assert_eq!(canonical_json(&json!({"x": 1.5})), Err(NotCanonicalizable));
    }
}
