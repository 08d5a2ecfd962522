//! Field-level encryption (AES-256-GCM) and the keyed blind index (security.md §7,
//! ARCHITECTURE.md §6).
//!
//! This module owns the cryptography for personal data at rest: the key ring and its
//! configuration format, the envelope stored in `bytea` columns
//! (`0x01 | key_id (4, BE) | nonce (12) | ciphertext | tag (16)`), the associated data that binds
//! a ciphertext to its table, column, row and clinic, and the HMAC-SHA256 blind index that makes
//! an encrypted CPF searchable within one clinic.
//!
//! It must not touch the environment, the database or HTTP: configuration hands it key text,
//! repositories hand it a [`Place`] and bytes. Key material never appears in `Debug`, errors or
//! logs, and is zeroized when dropped.

mod blind_index;
mod cipher;
mod keyring;

pub use blind_index::BlindIndex;
pub use cipher::{CryptoError, FieldCipher, Place};
pub use keyring::KeyRing;

/// **Development and tests only — never use in production.** A fixed key ring
/// (`FIELD_ENCRYPTION_KEYS` syntax) so a local stack works without setup. The keys are the
/// SHA-256 of `"neonpro development-only field key 1"` and `"… key 2"`, so they are public.
pub const DEV_FIELD_KEYS: &str =
    "1:p9FBS9FAC3r/h8qtnHwWf6gTYc8M/ktQdmDxhThHLOQ=,2:tCFVO+GlUJFBp4Y4h7USlW496jh1i7clnP1d9jbkw6Q=";

/// **Development and tests only.** The current key id that goes with [`DEV_FIELD_KEYS`].
pub const DEV_FIELD_CURRENT_KEY_ID: u32 = 2;

/// **Development and tests only — never use in production.** A fixed CPF blind-index key
/// (`CPF_BLIND_INDEX_KEY` syntax): the SHA-256 of
/// `"neonpro development-only CPF blind index key"`, so it is public.
pub const DEV_BLIND_INDEX_KEY: &str = "tl9jJetPI3bMcCFtC5rFVJ9XYPIh2J0NEYTc7KWtAHw=";

/// Base64 as operators paste it: standard alphabet, padding optional.
const BASE64: base64::engine::GeneralPurpose = base64::engine::GeneralPurpose::new(
    &base64::alphabet::STANDARD,
    base64::engine::GeneralPurposeConfig::new()
        .with_decode_padding_mode(base64::engine::DecodePaddingMode::Indifferent),
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_development_defaults_parse() {
        let ring = KeyRing::parse(DEV_FIELD_KEYS, DEV_FIELD_CURRENT_KEY_ID).unwrap();
        assert_eq!(ring.key_ids(), vec![1, 2]);
        assert_eq!(ring.current_key_id(), 2);
        assert!(BlindIndex::parse(DEV_BLIND_INDEX_KEY).is_ok());
    }
}
