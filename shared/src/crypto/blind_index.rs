//! Keyed blind index: HMAC-SHA256 values that let the database find an encrypted CPF by
//! equality, per clinic, without holding the CPF.

use std::fmt;

use base64::Engine;
use hmac::digest::KeyInit;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::BASE64;
use crate::br::Cpf;

/// Minimum key length: as long as the HMAC-SHA256 output.
const MIN_KEY_LEN: usize = 32;
/// SHA-256 block size: HMAC pads (or hashes) keys to this length.
const BLOCK_LEN: usize = 64;
/// Domain separation for CPF index values.
const CPF_CONTEXT: &[u8] = b"cpf/v1";

/// The blind-index key (`CPF_BLIND_INDEX_KEY`), separate from the field-encryption keys.
///
/// `cpf_bidx = HMAC-SHA256(key, "cpf/v1" | clinic_id | cpf digits)` goes in a column with a
/// unique index on `(clinic_id, cpf_bidx)`: lookups and duplicate checks work on equality, while
/// the same CPF in two clinics gives unrelated values, so index columns cannot link a patient
/// across clinics. The key is held as HMAC's padded 64-byte block in a buffer zeroized on drop,
/// and `Debug` prints nothing of it. Rotating this key means recomputing every index value.
pub struct BlindIndex {
    /// The key as HMAC's `K0` (RFC 2104 / FIPS 198-1 §4): padded with zeros, or hashed first
    /// when longer than a block.
    block: Zeroizing<[u8; BLOCK_LEN]>,
}

impl BlindIndex {
    /// Parses `CPF_BLIND_INDEX_KEY`: base64 (standard alphabet, padding optional) of at least 32
    /// random bytes. The error never echoes the key.
    pub fn parse(b64: &str) -> Result<BlindIndex, String> {
        let b64 = b64.trim();
        let mut raw = Zeroizing::new(Vec::with_capacity(b64.len()));
        BASE64
            .decode_vec(b64, &mut raw)
            .map_err(|_| "CPF_BLIND_INDEX_KEY is not valid base64".to_owned())?;
        if raw.len() < MIN_KEY_LEN {
            return Err(format!(
                "CPF_BLIND_INDEX_KEY decodes to {} bytes; at least {MIN_KEY_LEN} are required",
                raw.len()
            ));
        }
        Ok(BlindIndex {
            block: hmac_key_block(&raw),
        })
    }

    /// The index value of `cpf` in `clinic_id`: deterministic, so equal CPFs in one clinic
    /// collide (finding and de-duplicating patients) and differ across clinics.
    pub fn cpf(&self, cpf: &Cpf, clinic_id: Uuid) -> [u8; 32] {
        self.mac(&[CPF_CONTEXT, clinic_id.as_bytes(), cpf.digits().as_bytes()])
    }

    /// HMAC over `parts`, each preceded by its length (big-endian u64) so different splits of the
    /// same bytes never collide.
    fn mac(&self, parts: &[&[u8]]) -> [u8; 32] {
        let mut mac = <Hmac<Sha256> as KeyInit>::new(self.block.as_slice().into());
        for part in parts {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        mac.finalize().into_bytes().into()
    }
}

/// HMAC's `K0`: keys longer than a block are hashed first, then the key is zero-padded to a block.
/// Keying HMAC with `K0` is the same as keying it with the original key.
fn hmac_key_block(key: &[u8]) -> Zeroizing<[u8; BLOCK_LEN]> {
    let mut block = Zeroizing::new([0u8; BLOCK_LEN]);
    if key.len() > BLOCK_LEN {
        let digest = Sha256::digest(key);
        block[..digest.len()].copy_from_slice(&digest);
    } else {
        block[..key.len()].copy_from_slice(key);
    }
    block
}

/// Prints nothing of the key.
impl fmt::Debug for BlindIndex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("BlindIndex(***)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crypto::DEV_BLIND_INDEX_KEY;

    fn index() -> BlindIndex {
        BlindIndex::parse(DEV_BLIND_INDEX_KEY).unwrap()
    }

    fn cpf(text: &str) -> Cpf {
        Cpf::parse(text).unwrap()
    }

    const CLINIC_A: Uuid = Uuid::from_u128(0xa);
    const CLINIC_B: Uuid = Uuid::from_u128(0xb);

    #[test]
    fn the_same_cpf_in_the_same_clinic_gives_the_same_value() {
        let idx = index();
        let formatted = idx.cpf(&cpf("111.444.777-35"), CLINIC_A);
        let bare = idx.cpf(&cpf("11144477735"), CLINIC_A);
        assert_eq!(formatted, bare);
        // And a fresh instance from the same key agrees (stored values stay valid).
        assert_eq!(index().cpf(&cpf("11144477735"), CLINIC_A), bare);
    }

    #[test]
    fn the_same_cpf_in_two_clinics_gives_different_values() {
        let idx = index();
        let c = cpf("111.444.777-35");
        assert_ne!(idx.cpf(&c, CLINIC_A), idx.cpf(&c, CLINIC_B));
    }

    #[test]
    fn different_cpfs_or_keys_give_different_values() {
        let idx = index();
        assert_ne!(
            idx.cpf(&cpf("111.444.777-35"), CLINIC_A),
            idx.cpf(&cpf("529.982.247-25"), CLINIC_A)
        );
        let other = BlindIndex::parse(&BASE64.encode([9u8; 32])).unwrap();
        let c = cpf("111.444.777-35");
        assert_ne!(idx.cpf(&c, CLINIC_A), other.cpf(&c, CLINIC_A));
    }

    #[test]
    fn the_value_is_hmac_sha256_over_the_documented_message() {
        let key = [7u8; 40];
        let idx = BlindIndex::parse(&BASE64.encode(key)).unwrap();
        let c = cpf("111.444.777-35");
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(&key).unwrap();
        for part in [&b"cpf/v1"[..], CLINIC_A.as_bytes(), b"11144477735"] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part);
        }
        let expected: [u8; 32] = mac.finalize().into_bytes().into();
        assert_eq!(idx.cpf(&c, CLINIC_A), expected);
    }

    /// RFC 4231 test cases 2 (4-byte key) and 6 (131-byte key, hashed first): keying HMAC with
    /// our `K0` block matches HMAC-SHA256 with the original key.
    #[test]
    fn rfc_4231_vectors_hold_through_the_key_block() {
        let cases: [(&[u8], &[u8], &str); 2] = [
            (
                b"Jefe",
                b"what do ya want for nothing?",
                "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
            ),
            (
                &[0xaa; 131],
                b"Test Using Larger Than Block-Size Key - Hash Key First",
                "60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54",
            ),
        ];
        for (key, data, expected) in cases {
            let block = hmac_key_block(key);
            let mut mac = <Hmac<Sha256> as KeyInit>::new(block.as_slice().into());
            mac.update(data);
            assert_eq!(hex::encode(mac.finalize().into_bytes()), expected);
        }
    }

    #[test]
    fn short_or_malformed_keys_are_refused_without_echoing_them() {
        let short = BASE64.encode([1u8; 31]);
        let err = BlindIndex::parse(&short).unwrap_err();
        assert!(err.contains("31 bytes") && !err.contains(&short), "{err}");
        let err = BlindIndex::parse("not base64!").unwrap_err();
        assert!(err.contains("not valid base64") && !err.contains("not base64!"));
        assert!(BlindIndex::parse("").is_err());
        let long = BlindIndex::parse(&BASE64.encode([1u8; 100]));
        assert!(long.is_ok(), "longer keys are fine");
    }

    #[test]
    fn debug_prints_nothing_of_the_key() {
        assert_eq!(format!("{:?}", index()), "BlindIndex(***)");
    }
}
