//! Strict JSON for token parts and key sets: a parse that refuses duplicate object keys.
//!
//! `serde_json` keeps the *last* of two equal keys, while other JSON parsers (a WAF, Postgres'
//! `jsonb`, a log pipeline) may keep the first. A token whose header or payload says `sub` twice
//! can therefore mean different users to different readers, so such input is refused outright.
//! This module owns only that parse; it knows nothing about JWTs.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

/// Parses `bytes` as one JSON value (UTF-8, no trailing data), refusing a repeated key in any
/// object at any depth. Keys are compared after unescaping, so `"s\u0075b"` repeats `"sub"`.
pub(crate) fn from_slice(bytes: &[u8]) -> Result<Value, serde_json::Error> {
    serde_json::from_slice::<Strict>(bytes).map(|s| s.0)
}

/// A [`Value`] whose deserialisation fails on duplicate keys.
struct Strict(Value);

impl<'de> Deserialize<'de> for Strict {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(StrictVisitor).map(Strict)
    }
}

struct StrictVisitor;

impl<'de> Visitor<'de> for StrictVisitor {
    type Value = Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value without duplicate object keys")
    }

    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Value, E> {
        Ok(Value::Bool(v))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Value, E> {
        Ok(Value::from(v))
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Value, E> {
        Ok(Value::String(v.to_owned()))
    }

    fn visit_string<E: de::Error>(self, v: String) -> Result<Value, E> {
        Ok(Value::String(v))
    }

    fn visit_unit<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_none<E: de::Error>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Value, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(Strict(item)) = seq.next_element()? {
            items.push(item);
        }
        Ok(Value::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Value, A::Error> {
        let mut object = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            if object.contains_key(&key) {
                return Err(de::Error::custom("duplicate object key"));
            }
            let Strict(value) = map.next_value()?;
            object.insert(key, value);
        }
        Ok(Value::Object(object))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_repeated_key_is_refused() {
        assert!(from_slice(br#"{"sub":"a","sub":"b"}"#).is_err());
    }

    #[test]
    fn a_repeated_key_spelled_with_an_escape_is_refused() {
        assert!(from_slice(br#"{"sub":"a","s\u0075b":"b"}"#).is_err());
    }

    #[test]
    fn a_repeated_key_in_a_nested_object_is_refused() {
        assert!(from_slice(br#"{"app_metadata":{"role":"a","role":"b"}}"#).is_err());
        assert!(from_slice(br#"{"amr":[{"method":"otp","method":"password"}]}"#).is_err());
    }

    #[test]
    fn equal_keys_in_different_objects_are_fine() {
        let v = from_slice(br#"{"a":{"x":1},"b":{"x":2},"c":[{"x":3},{"x":4}]}"#).unwrap();
        assert_eq!(v["b"]["x"], 2);
        assert_eq!(v["c"][1]["x"], 4);
    }

    #[test]
    fn the_value_matches_serde_json_for_well_formed_input() {
        let text =
            br#"{"s":"x","n":-3,"u":18446744073709551615,"f":1.5,"b":true,"z":null,"a":[1,"2"]}"#;
        assert_eq!(
            from_slice(text).unwrap(),
            serde_json::from_slice::<Value>(text).unwrap()
        );
    }

    #[test]
    fn trailing_data_and_invalid_utf8_are_refused() {
        assert!(from_slice(br#"{"a":1} x"#).is_err());
        assert!(from_slice(b"{\"a\":\"\xff\"}").is_err());
        assert!(from_slice(br#"{"a":1}{"a":2}"#).is_err());
    }
}
