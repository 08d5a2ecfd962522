//! The AES-256-GCM envelope for encrypted columns and the associated data that binds it to its
//! place.

use aes_gcm::aead::consts::U12;
use aes_gcm::aead::{AeadInOut, Generate};
use aes_gcm::{Aes256Gcm, Nonce, Tag};
use uuid::Uuid;
use zeroize::{Zeroize, Zeroizing};

use super::KeyRing;

/// Envelope format version (first byte).
const VERSION: u8 = 0x01;
/// Version byte plus big-endian key id.
const PREFIX_LEN: usize = 1 + 4;
/// 96-bit GCM nonce.
const NONCE_LEN: usize = 12;
/// Full 128-bit GCM tag.
const TAG_LEN: usize = 16;
/// Prefix plus nonce: where the ciphertext starts.
const HEADER_LEN: usize = PREFIX_LEN + NONCE_LEN;
/// Domain separation for the associated data of this envelope format.
const AAD_CONTEXT: &[u8] = b"neonpro/v1";

/// Where an encrypted value lives. Its parts go into the associated data, so a ciphertext copied
/// to another row, column, table or clinic no longer decrypts (security.md §7): a bug or an
/// attacker with write access cannot move one patient's CPF onto another.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    /// Table name, e.g. `patients`.
    pub table: &'static str,
    /// Column name, e.g. `cpf_enc`.
    pub column: &'static str,
    /// Primary key of the row (generate it before encrypting an insert).
    pub row_id: Uuid,
    /// Clinic that owns the row (the tenant).
    pub clinic_id: Uuid,
}

impl Place {
    /// Shorthand for the struct literal.
    pub fn new(table: &'static str, column: &'static str, row_id: Uuid, clinic_id: Uuid) -> Self {
        Place {
            table,
            column,
            row_id,
            clinic_id,
        }
    }

    /// `"neonpro/v1" | table | column | row id | clinic id | key id | version`, each part
    /// preceded by its length as a big-endian u64, so no two different places (or key ids)
    /// produce the same bytes. The version and key id repeat the envelope prefix, which makes
    /// the otherwise plain prefix authenticated.
    fn aad(&self, key_id: u32) -> Vec<u8> {
        let parts: [&[u8]; 7] = [
            AAD_CONTEXT,
            self.table.as_bytes(),
            self.column.as_bytes(),
            self.row_id.as_bytes(),
            self.clinic_id.as_bytes(),
            &key_id.to_be_bytes(),
            &[VERSION],
        ];
        let len = parts.iter().map(|p| 8 + p.len()).sum();
        let mut aad = Vec::with_capacity(len);
        for part in parts {
            aad.extend_from_slice(&(part.len() as u64).to_be_bytes());
            aad.extend_from_slice(part);
        }
        aad
    }
}

/// Why encryption or decryption failed. Deliberately coarse: a decryption failure never says
/// whether the key, the place or the bytes were wrong, and no variant carries data.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// Shorter than prefix + nonce + tag.
    #[error("encrypted value is truncated or malformed")]
    Malformed,
    /// First byte is not a known envelope version.
    #[error("unsupported envelope version {0}")]
    UnsupportedVersion(u8),
    /// The envelope names a key id the ring does not hold.
    #[error("no key with id {0} in the key ring")]
    UnknownKey(u32),
    /// Authentication failed: wrong key, wrong place, or tampered bytes.
    #[error("decryption failed (wrong key, wrong place or tampered data)")]
    Decrypt,
    /// The plaintext or associated data exceeds GCM's limits.
    #[error("encryption failed: input too long for AES-GCM")]
    Encrypt,
    /// The operating system's random number generator failed to produce a nonce.
    #[error("the operating system random number generator failed")]
    Rng,
    /// Decrypted bytes were expected to be text and are not UTF-8.
    #[error("decrypted value is not UTF-8 text")]
    NotUtf8,
}

/// Encrypts and decrypts column values with the key ring, in the envelope
/// `0x01 | key_id (4, BE) | nonce (12) | ciphertext | tag (16)` stored as `bytea`.
///
/// Nonces are 12 random bytes from the OS CSPRNG for every encryption; NIST SP 800-38D §8.3 caps
/// random-nonce use at 2³² encryptions per key, so rotate keys long before that.
#[derive(Debug)]
pub struct FieldCipher {
    /// Keys by id, with the current one.
    ring: KeyRing,
}

impl FieldCipher {
    /// Wraps a parsed ring; build once per process and share (e.g. in an `Arc`).
    pub fn new(ring: KeyRing) -> Self {
        FieldCipher { ring }
    }

    /// The ring, e.g. to list key ids for a re-encryption job.
    pub fn ring(&self) -> &KeyRing {
        &self.ring
    }

    /// Encrypts `plaintext` for `place` with the current key and a fresh random nonce.
    ///
    /// Fails only if the OS random generator fails or the input exceeds GCM's ~64 GiB limit.
    pub fn encrypt(&self, place: &Place, plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let key_id = self.ring.current_key_id();
        let cipher = self
            .ring
            .get(key_id)
            .ok_or(CryptoError::UnknownKey(key_id))?;
        let nonce = <[u8; NONCE_LEN]>::try_generate().map_err(|_| CryptoError::Rng)?;
        let mut envelope = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
        envelope.push(VERSION);
        envelope.extend_from_slice(&key_id.to_be_bytes());
        envelope.extend_from_slice(&nonce);
        seal(cipher, &nonce, &place.aad(key_id), plaintext, &mut envelope)?;
        Ok(envelope)
    }

    /// Encrypts UTF-8 text (CPF digits, free-text clinical notes).
    pub fn encrypt_str(&self, place: &Place, plaintext: &str) -> Result<Vec<u8>, CryptoError> {
        self.encrypt(place, plaintext.as_bytes())
    }

    /// Decrypts an envelope read from `place` with the key its prefix names. The plaintext is
    /// wiped from memory when the returned buffer is dropped.
    pub fn decrypt(
        &self,
        place: &Place,
        envelope: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if envelope.len() < HEADER_LEN + TAG_LEN {
            return Err(CryptoError::Malformed);
        }
        let (prefix, rest) = envelope.split_at(PREFIX_LEN);
        let (nonce, sealed) = rest.split_at(NONCE_LEN);
        if prefix[0] != VERSION {
            return Err(CryptoError::UnsupportedVersion(prefix[0]));
        }
        let key_id = Self::key_id_of(envelope).ok_or(CryptoError::Malformed)?;
        let cipher = self
            .ring
            .get(key_id)
            .ok_or(CryptoError::UnknownKey(key_id))?;
        let nonce: [u8; NONCE_LEN] = nonce.try_into().map_err(|_| CryptoError::Malformed)?;
        open(cipher, &nonce, &place.aad(key_id), sealed)
    }

    /// Decrypts an envelope that holds UTF-8 text.
    pub fn decrypt_string(
        &self,
        place: &Place,
        envelope: &[u8],
    ) -> Result<Zeroizing<String>, CryptoError> {
        let mut bytes = self.decrypt(place, envelope)?;
        let bytes = std::mem::take(&mut *bytes);
        match String::from_utf8(bytes) {
            Ok(text) => Ok(Zeroizing::new(text)),
            Err(err) => {
                err.into_bytes().zeroize();
                Err(CryptoError::NotUtf8)
            }
        }
    }

    /// The key id an envelope's prefix names, without decrypting. Unauthenticated until a
    /// decryption succeeds, so use it only as a hint (counting rows per key, picking rows to
    /// re-encrypt). `None` when too short or of an unknown version.
    pub fn key_id_of(envelope: &[u8]) -> Option<u32> {
        match envelope {
            [VERSION, a, b, c, d, ..] => Some(u32::from_be_bytes([*a, *b, *c, *d])),
            _ => None,
        }
    }

    /// Whether a stored value should be rewritten with the current key (lazy re-encryption on
    /// write, or the background job): true unless its prefix names the current key.
    pub fn needs_reencryption(&self, envelope: &[u8]) -> bool {
        Self::key_id_of(envelope) != Some(self.ring.current_key_id())
    }

    /// Key rotation of one stored value: the envelope re-sealed with the current key, or
    /// `None` when it already uses it.
    pub fn reseal(&self, place: &Place, envelope: &[u8]) -> Result<Option<Vec<u8>>, CryptoError> {
        if !self.needs_reencryption(envelope) {
            return Ok(None);
        }
        let plain = self.decrypt(place, envelope)?;
        self.encrypt(place, &plain).map(Some)
    }

    /// SQL predicate: `column` holds an envelope sealed with a key other than parameter
    /// `param` (the key id is bytes 1–4, big-endian, after the version byte). Lets key rotation
    /// select only the rows it must rewrite.
    pub fn stale_key_sql(column: &str, param: &str) -> String {
        format!(
            "({column} is not null and get_byte({column}, 1) * 16777216 + get_byte({column}, 2) * 65536 \
             + get_byte({column}, 3) * 256 + get_byte({column}, 4) <> {param})"
        )
    }
}

/// Raw AES-256-GCM encryption, appending `ciphertext | tag` to `out`; the one primitive the
/// envelope uses, exposed to the crate so known-answer vectors can exercise it directly.
pub(crate) fn seal(
    cipher: &Aes256Gcm,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    plaintext: &[u8],
    out: &mut Vec<u8>,
) -> Result<(), CryptoError> {
    let start = out.len();
    out.extend_from_slice(plaintext);
    let nonce = Nonce::<U12>::from(*nonce);
    match cipher.encrypt_inout_detached(&nonce, aad, out[start..].as_mut().into()) {
        Ok(tag) => {
            out.extend_from_slice(&tag);
            Ok(())
        }
        Err(_) => {
            // Nothing was encrypted: wipe the plaintext copy before giving the buffer back.
            out[start..].zeroize();
            out.truncate(start);
            Err(CryptoError::Encrypt)
        }
    }
}

/// Raw AES-256-GCM decryption of `ciphertext | tag`; the plaintext buffer is zeroized on drop,
/// including when authentication fails.
pub(crate) fn open(
    cipher: &Aes256Gcm,
    nonce: &[u8; NONCE_LEN],
    aad: &[u8],
    sealed: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let split = sealed
        .len()
        .checked_sub(TAG_LEN)
        .ok_or(CryptoError::Malformed)?;
    let (ciphertext, tag) = sealed.split_at(split);
    let tag = Tag::try_from(tag).map_err(|_| CryptoError::Malformed)?;
    let nonce = Nonce::<U12>::from(*nonce);
    let mut buffer = Zeroizing::new(ciphertext.to_vec());
    cipher
        .decrypt_inout_detached(&nonce, aad, buffer.as_mut_slice().into(), &tag)
        .map_err(|_| CryptoError::Decrypt)?;
    Ok(buffer)
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use aes_gcm::aead::KeyInit;

    use super::*;

    const K1: &str = "p9FBS9FAC3r/h8qtnHwWf6gTYc8M/ktQdmDxhThHLOQ=";
    const K2: &str = "tCFVO+GlUJFBp4Y4h7USlW496jh1i7clnP1d9jbkw6Q=";

    fn cipher_with(keys: &str, current: u32) -> FieldCipher {
        FieldCipher::new(KeyRing::parse(keys, current).unwrap())
    }

    fn one_key() -> FieldCipher {
        cipher_with(&format!("1:{K1}"), 1)
    }

    fn place() -> Place {
        Place::new(
            "patients",
            "cpf_enc",
            Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_00a1),
            Uuid::from_u128(0x0192_0000_0000_7000_8000_0000_0000_0c01),
        )
    }

    fn hex(s: &str) -> Vec<u8> {
        ::hex::decode(s).unwrap()
    }

    #[test]
    fn round_trip_returns_the_plaintext() {
        let c = one_key();
        for plaintext in [&b""[..], b"11144477735", &[0u8; 1000][..]] {
            let envelope = c.encrypt(&place(), plaintext).unwrap();
            assert_eq!(envelope.len(), HEADER_LEN + plaintext.len() + TAG_LEN);
            assert_eq!(&envelope[..PREFIX_LEN], &[1, 0, 0, 0, 1]);
            assert_eq!(
                c.decrypt(&place(), &envelope).unwrap().as_slice(),
                plaintext
            );
        }
        let text = c
            .encrypt_str(&place(), "Ana Souza — alergia à lidocaína")
            .unwrap();
        assert_eq!(
            c.decrypt_string(&place(), &text).unwrap().as_str(),
            "Ana Souza — alergia à lidocaína"
        );
    }

    #[test]
    fn the_same_plaintext_encrypts_differently_each_time() {
        let c = one_key();
        let a = c.encrypt(&place(), b"11144477735").unwrap();
        let b = c.encrypt(&place(), b"11144477735").unwrap();
        assert_ne!(a, b);
        assert_ne!(
            a[PREFIX_LEN..HEADER_LEN],
            b[PREFIX_LEN..HEADER_LEN],
            "nonces"
        );
        assert_ne!(a[HEADER_LEN..], b[HEADER_LEN..], "ciphertext and tag");
    }

    #[test]
    fn flipping_any_single_bit_of_any_byte_fails() {
        let c = cipher_with(&format!("1:{K1},2:{K2}"), 1);
        let envelope = c.encrypt(&place(), b"11144477735").unwrap();
        for i in 0..envelope.len() {
            for bit in [0x01u8, 0x80] {
                let mut tampered = envelope.clone();
                tampered[i] ^= bit;
                assert!(
                    c.decrypt(&place(), &tampered).is_err(),
                    "byte {i} bit {bit:#x}"
                );
            }
        }
        // Switching the prefix to the other listed key is also caught (the key id is in the
        // associated data, and the other key cannot produce this tag).
        let mut other_key = envelope.clone();
        other_key[4] = 2;
        assert_eq!(c.decrypt(&place(), &other_key), Err(CryptoError::Decrypt));
    }

    #[test]
    fn truncated_or_extended_envelopes_fail() {
        let c = one_key();
        let envelope = c.encrypt(&place(), b"11144477735").unwrap();
        for len in 0..envelope.len() {
            assert!(c.decrypt(&place(), &envelope[..len]).is_err(), "len {len}");
        }
        let mut longer = envelope.clone();
        longer.push(0);
        assert_eq!(c.decrypt(&place(), &longer), Err(CryptoError::Decrypt));
        assert_eq!(c.decrypt(&place(), &[]), Err(CryptoError::Malformed));
        let mut v2 = envelope;
        v2[0] = 2;
        assert_eq!(
            c.decrypt(&place(), &v2),
            Err(CryptoError::UnsupportedVersion(2))
        );
    }

    #[test]
    fn a_ciphertext_moved_to_another_place_fails() {
        let c = one_key();
        let here = place();
        let envelope = c.encrypt(&here, b"11144477735").unwrap();
        let elsewhere = [
            Place {
                row_id: Uuid::from_u128(0xb),
                ..here
            },
            Place {
                column: "notes_enc",
                ..here
            },
            Place {
                table: "professionals",
                ..here
            },
            Place {
                clinic_id: Uuid::from_u128(0xc2),
                ..here
            },
            // Shifting bytes between table and column must not produce the same AAD.
            Place {
                table: "patientscpf_enc",
                column: "",
                ..here
            },
            Place {
                row_id: here.clinic_id,
                clinic_id: here.row_id,
                ..here
            },
        ];
        for place in elsewhere {
            assert_eq!(
                c.decrypt(&place, &envelope),
                Err(CryptoError::Decrypt),
                "{place:?}"
            );
        }
        assert!(c.decrypt(&here, &envelope).is_ok());
    }

    #[test]
    fn an_unknown_key_id_is_reported_as_such() {
        let writer = cipher_with(&format!("1:{K1},2:{K2}"), 2);
        let reader = one_key();
        let envelope = writer.encrypt(&place(), b"x").unwrap();
        assert_eq!(FieldCipher::key_id_of(&envelope), Some(2));
        assert_eq!(
            reader.decrypt(&place(), &envelope),
            Err(CryptoError::UnknownKey(2))
        );
    }

    #[test]
    fn the_same_key_id_with_a_different_key_fails() {
        let writer = cipher_with(&format!("1:{K1}"), 1);
        let reader = cipher_with(&format!("1:{K2}"), 1);
        let envelope = writer.encrypt(&place(), b"x").unwrap();
        assert_eq!(
            reader.decrypt(&place(), &envelope),
            Err(CryptoError::Decrypt)
        );
    }

    #[test]
    fn rotation_keeps_old_values_readable_and_writes_with_the_new_key() {
        let before = cipher_with(&format!("1:{K1}"), 1);
        let old = before.encrypt(&place(), b"11144477735").unwrap();
        assert!(!before.needs_reencryption(&old));

        let after = cipher_with(&format!("1:{K1},2:{K2}"), 2);
        assert_eq!(
            after.decrypt(&place(), &old).unwrap().as_slice(),
            b"11144477735"
        );
        assert!(after.needs_reencryption(&old));

        let new = after.encrypt(&place(), b"11144477735").unwrap();
        assert_eq!(FieldCipher::key_id_of(&new), Some(2));
        assert!(!after.needs_reencryption(&new));
        assert!(after.needs_reencryption(b""), "unreadable prefix");

        // Once key 1 is retired, the re-encrypted value still reads.
        let retired = cipher_with(&format!("2:{K2}"), 2);
        assert!(retired.decrypt(&place(), &new).is_ok());
        assert_eq!(
            retired.decrypt(&place(), &old),
            Err(CryptoError::UnknownKey(1))
        );
    }

    #[test]
    fn key_id_of_reads_the_big_endian_prefix() {
        assert_eq!(
            FieldCipher::key_id_of(&[1, 0x12, 0x34, 0x56, 0x78]),
            Some(0x1234_5678)
        );
        assert_eq!(FieldCipher::key_id_of(&[1, 0, 0, 0]), None);
        assert_eq!(FieldCipher::key_id_of(&[2, 0, 0, 0, 1]), None);
    }

    #[test]
    fn many_encryptions_never_repeat_a_nonce() {
        // 10^5 as security.md §7 asks; a 96-bit random nonce repeating here would mean a broken
        // RNG, not bad luck (collision probability ≈ 2^-63).
        const COUNT: usize = 100_000;
        let c = one_key();
        let mut seen = HashSet::with_capacity(COUNT);
        for _ in 0..COUNT {
            let envelope = c.encrypt(&place(), b"").unwrap();
            let nonce: [u8; NONCE_LEN] = envelope[PREFIX_LEN..HEADER_LEN].try_into().unwrap();
            assert!(seen.insert(nonce), "repeated nonce");
        }
    }

    #[test]
    fn non_utf8_plaintext_is_refused_as_text() {
        let c = one_key();
        let envelope = c.encrypt(&place(), &[0xff, 0xfe]).unwrap();
        assert_eq!(
            c.decrypt_string(&place(), &envelope),
            Err(CryptoError::NotUtf8)
        );
    }

    /// NIST CAVP `gcmEncryptExtIV256.rsp` (GCM test vectors, SP 800-38D),
    /// `[Keylen = 256] [IVlen = 96] [PTlen = 128] [AADlen = 128] [Taglen = 128]`, `Count = 0`.
    /// <https://csrc.nist.gov/Projects/cryptographic-algorithm-validation-program/CAVP-TESTING-BLOCK-CIPHER-MODES>
    #[test]
    fn nist_cavp_known_answer_vector_passes_the_raw_path() {
        let key = hex("92e11dcdaa866f5ce790fd24501f92509aacf4cb8b1339d50c9c1240935dd08b");
        let nonce: [u8; 12] = hex("ac93a1a6145299bde902f21a").try_into().unwrap();
        let pt = hex("2d71bcfa914e4ac045b2aa60955fad24");
        let aad = hex("1e0889016f67601c8ebea4943bc23ad6");
        let ct_tag = hex(
            "8995ae2e6df3dbf96fac7b7137bae67f eca5aa77d51d4a0a14d9c51e1da474ab"
                .replace(' ', "")
                .as_str(),
        );
        known_answer(&key, &nonce, &aad, &pt, &ct_tag);
    }

    /// McGrew & Viega, "The Galois/Counter Mode of Operation (GCM)" (the NIST submission),
    /// Appendix B, Test Case 16: AES-256, 96-bit IV, 60-byte plaintext, 20-byte AAD.
    #[test]
    fn gcm_specification_test_case_16_passes_the_raw_path() {
        let key = hex("feffe9928665731c6d6a8f9467308308feffe9928665731c6d6a8f9467308308");
        let nonce: [u8; 12] = hex("cafebabefacedbaddecaf888").try_into().unwrap();
        let pt = hex(concat!(
            "d9313225f88406e5a55909c5aff5269a86a7a9531534f7da2e4c303d8a318a72",
            "1c3c0c95956809532fcf0e2449a6b525b16aedf5aa0de657ba637b39"
        ));
        let aad = hex("feedfacedeadbeeffeedfacedeadbeefabaddad2");
        let ct_tag = hex(concat!(
            "522dc1f099567d07f47f37a32a84427d643a8cdcbfe5c0c97598a2bd2555d1aa",
            "8cb08e48590dbb3da7b08b1056828838c5f61e6393ba7a0abcc9f662",
            "76fc6ece0f4e1768cddf8853bb2d551b"
        ));
        known_answer(&key, &nonce, &aad, &pt, &ct_tag);
    }

    fn known_answer(key: &[u8], nonce: &[u8; 12], aad: &[u8], pt: &[u8], ct_tag: &[u8]) {
        let cipher = Aes256Gcm::new_from_slice(key).unwrap();
        let mut out = vec![0xaa];
        seal(&cipher, nonce, aad, pt, &mut out).unwrap();
        assert_eq!(out[0], 0xaa, "seal appends");
        assert_eq!(::hex::encode(&out[1..]), ::hex::encode(ct_tag));
        assert_eq!(open(&cipher, nonce, aad, ct_tag).unwrap().as_slice(), pt);
        let mut bad_tag = ct_tag.to_vec();
        if let Some(last) = bad_tag.last_mut() {
            *last ^= 1;
        }
        assert_eq!(
            open(&cipher, nonce, aad, &bad_tag),
            Err(CryptoError::Decrypt)
        );
        assert_eq!(open(&cipher, nonce, b"", ct_tag), Err(CryptoError::Decrypt));
        assert_eq!(
            open(&cipher, nonce, aad, &ct_tag[..15]),
            Err(CryptoError::Malformed)
        );
    }

    #[test]
    fn the_associated_data_has_the_documented_layout() {
        let p = place();
        let aad = p.aad(0x0102_0304);
        let mut expected = Vec::new();
        for part in [
            &b"neonpro/v1"[..],
            b"patients",
            b"cpf_enc",
            p.row_id.as_bytes(),
            p.clinic_id.as_bytes(),
            &[1, 2, 3, 4],
            &[1],
        ] {
            expected.extend_from_slice(&(part.len() as u64).to_be_bytes());
            expected.extend_from_slice(part);
        }
        assert_eq!(aad, expected);
    }
}
