//! The key ring: every field-encryption key still in use, by id, and which one new writes use.

use std::collections::BTreeMap;
use std::fmt;

use aes_gcm::Aes256Gcm;
use aes_gcm::aead::KeyInit;
use base64::Engine;
use zeroize::Zeroizing;

use super::BASE64;

/// AES-256 key length.
const KEY_LEN: usize = 32;

/// Field-encryption keys by id, with one current key.
///
/// Rotation (security.md §7) is: add a new key and make it current; old keys stay listed so
/// existing rows still decrypt (the envelope names its key id); rows are re-encrypted lazily on
/// write and by a background job; a key is dropped once no row references it. Each key is held
/// only as an initialised cipher whose key schedule is zeroized on drop (`aes-gcm`'s `zeroize`
/// feature), and `Debug` prints key ids only.
pub struct KeyRing {
    keys: BTreeMap<u32, Aes256Gcm>,
    current: u32,
}

impl KeyRing {
    /// Parses `FIELD_ENCRYPTION_KEYS` (`"1:<base64 32 bytes>,2:<base64 32 bytes>"`, whitespace
    /// around entries ignored, base64 padding optional) with `current` from
    /// `FIELD_ENCRYPTION_CURRENT_KEY_ID`.
    ///
    /// The error says what is wrong and where (entry position, key id, decoded length) without
    /// ever echoing key material, so it can be logged at startup.
    pub fn parse(keys: &str, current: u32) -> Result<KeyRing, String> {
        let mut ring = BTreeMap::new();
        for (index, entry) in keys.split(',').enumerate() {
            let position = index + 1;
            let entry = entry.trim();
            if entry.is_empty() {
                return Err(format!(
                    "FIELD_ENCRYPTION_KEYS: entry {position} is empty (expected id:base64key)"
                ));
            }
            let Some((id, key)) = entry.split_once(':') else {
                return Err(format!(
                    "FIELD_ENCRYPTION_KEYS: entry {position} has no ':' between key id and key"
                ));
            };
            let id: u32 = id.trim().parse().map_err(|_| {
                format!(
                    "FIELD_ENCRYPTION_KEYS: entry {position} has a key id that is not a number \
                     from 0 to 4294967295"
                )
            })?;
            let cipher = decode_key(key.trim())
                .map_err(|why| format!("FIELD_ENCRYPTION_KEYS: key {id} {why}"))?;
            if ring.insert(id, cipher).is_some() {
                return Err(format!(
                    "FIELD_ENCRYPTION_KEYS: key id {id} appears more than once"
                ));
            }
        }
        Self::check_current(ring, current)
    }

    /// Builds a ring from raw keys, e.g. fetched from a KMS rather than the environment.
    pub fn from_keys(keys: &[(u32, [u8; KEY_LEN])], current: u32) -> Result<KeyRing, String> {
        let mut ring = BTreeMap::new();
        for (id, key) in keys {
            if ring.insert(*id, Aes256Gcm::new(&(*key).into())).is_some() {
                return Err(format!("key id {id} appears more than once"));
            }
        }
        Self::check_current(ring, current)
    }

    fn check_current(keys: BTreeMap<u32, Aes256Gcm>, current: u32) -> Result<KeyRing, String> {
        if keys.is_empty() {
            return Err("FIELD_ENCRYPTION_KEYS: no keys given".to_owned());
        }
        if !keys.contains_key(&current) {
            let ids: Vec<String> = keys.keys().map(u32::to_string).collect();
            return Err(format!(
                "FIELD_ENCRYPTION_CURRENT_KEY_ID {current} is not among the key ids ({})",
                ids.join(", ")
            ));
        }
        Ok(KeyRing { keys, current })
    }

    /// The id new writes are encrypted with.
    pub fn current_key_id(&self) -> u32 {
        self.current
    }

    /// Every id that can still be read, ascending (to count rows per key before retiring one).
    pub fn key_ids(&self) -> Vec<u32> {
        self.keys.keys().copied().collect()
    }

    /// The cipher for `key_id`, if listed.
    pub(crate) fn get(&self, key_id: u32) -> Option<&Aes256Gcm> {
        self.keys.get(&key_id)
    }
}

/// Decodes one base64 key into a cipher, through a stack buffer that is zeroized on drop (no
/// heap copy of the key is made).
fn decode_key(text: &str) -> Result<Aes256Gcm, String> {
    // Room for up to 66 decoded bytes (88 base64 characters), so a wrong length is reported as
    // such rather than as a decode error.
    let mut buf = Zeroizing::new([0u8; 72]);
    if text.len() > 88 {
        return Err("is too long (expected 32 bytes in base64)".to_owned());
    }
    let len = BASE64
        .decode_slice(text, buf.as_mut_slice())
        .map_err(|_| "is not valid base64".to_owned())?;
    if len != KEY_LEN {
        return Err(format!("decodes to {len} bytes; AES-256 needs exactly 32"));
    }
    Aes256Gcm::new_from_slice(&buf[..KEY_LEN]).map_err(|_| "has the wrong length".to_owned())
}

/// Key ids and the current id only.
impl fmt::Debug for KeyRing {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyRing")
            .field("key_ids", &self.key_ids())
            .field("current", &self.current)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "p9FBS9FAC3r/h8qtnHwWf6gTYc8M/ktQdmDxhThHLOQ=";
    const K2: &str = "tCFVO+GlUJFBp4Y4h7USlW496jh1i7clnP1d9jbkw6Q=";

    #[test]
    fn parses_several_keys_with_whitespace_and_optional_padding() {
        let text = format!(" 1:{K1} , 2 : {} ", K2.trim_end_matches('='));
        let ring = KeyRing::parse(&text, 2).unwrap();
        assert_eq!(ring.key_ids(), vec![1, 2]);
        assert_eq!(ring.current_key_id(), 2);
        assert!(ring.get(1).is_some() && ring.get(3).is_none());
    }

    #[test]
    fn errors_name_the_problem_without_echoing_key_material() {
        let short = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"; // 31 bytes
        let cases = [
            (String::new(), 1, "entry 1 is empty"),
            (format!("1:{K1},"), 1, "entry 2 is empty"),
            (K1.to_owned(), 1, "entry 1 has no ':'"),
            (format!("x:{K1}"), 1, "not a number"),
            (format!("-1:{K1}"), 1, "not a number"),
            (
                format!("1:{K1},1:{K2}"),
                1,
                "key id 1 appears more than once",
            ),
            (
                format!("1:{K1}"),
                2,
                "CURRENT_KEY_ID 2 is not among the key ids (1)",
            ),
            ("7:not base64!".to_owned(), 7, "key 7 is not valid base64"),
            (format!("7:{short}"), 7, "key 7 decodes to 31 bytes"),
            (format!("7:{K1}{K1}"), 7, "key 7 is not valid base64"),
            (format!("7:{}", "A".repeat(200)), 7, "key 7 is too long"),
        ];
        for (text, current, expected) in cases {
            let err = KeyRing::parse(&text, current).unwrap_err();
            assert!(err.contains(expected), "{text:?}: {err}");
            for secret in [K1, K2, &K1[..10], &K2[..10], "not base64", short] {
                assert!(!err.contains(secret), "{err} echoes key material");
            }
        }
        let long = format!("7:{}", BASE64.encode([1u8; 33]));
        assert!(KeyRing::parse(&long, 7).unwrap_err().contains("33 bytes"));
    }

    #[test]
    fn debug_shows_ids_only() {
        let ring = KeyRing::parse(&format!("1:{K1},2:{K2}"), 1).unwrap();
        let debug = format!("{ring:?}");
        assert_eq!(debug, "KeyRing { key_ids: [1, 2], current: 1 }");
    }

    #[test]
    fn from_keys_builds_the_same_ring_shape() {
        let ring = KeyRing::from_keys(&[(5, [7u8; 32]), (9, [8u8; 32])], 9).unwrap();
        assert_eq!(ring.key_ids(), vec![5, 9]);
        assert!(KeyRing::from_keys(&[(5, [7u8; 32])], 6).is_err());
        assert!(KeyRing::from_keys(&[(5, [7u8; 32]), (5, [8u8; 32])], 5).is_err());
        assert!(KeyRing::from_keys(&[], 0).is_err());
    }

    #[test]
    fn keys_are_zeroized_on_drop() {
        fn assert_zeroize_on_drop<T: zeroize::ZeroizeOnDrop>() {}
        assert_zeroize_on_drop::<Aes256Gcm>();
    }
}
