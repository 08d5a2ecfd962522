//! CNPJ (Cadastro Nacional da Pessoa Jurídica), numeric and the alphanumeric layout of
//! IN RFB nº 2.229/2024 issued from July 2026 (domain.md §5.2). One routine validates both.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use super::{FieldIssue, parsed_from_text};

/// A valid CNPJ, stored as its 14 normalised characters (`[0-9A-Z]{12}[0-9]{2}`).
///
/// Clinics are companies, so the CNPJ is not personal data and prints normally. Keep it as text
/// (`CHAR(14)`), never as a number: the alphanumeric layout has letters and numeric ones have
/// leading zeros.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Cnpj(String);

/// DV1 weights over the first 12 characters.
const DV1_WEIGHTS: [u32; 12] = [5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];
/// DV2 weights over the first 12 characters and DV1.
const DV2_WEIGHTS: [u32; 13] = [6, 5, 4, 3, 2, 9, 8, 7, 6, 5, 4, 3, 2];

impl Cnpj {
    /// Parses `11.222.333/0001-81`, `11222333000181` or `12.ABC.345/01DE-35` (dots, slash, hyphen
    /// and spaces are ignored; letters are uppercased), checks both check digits (character value
    /// = ASCII − 48) and refuses strings of one repeated character.
    pub fn parse(text: &str) -> Result<Self, FieldIssue> {
        let mut chars = String::with_capacity(14);
        for c in text.trim().chars() {
            if c.is_ascii_alphanumeric() {
                chars.push(c.to_ascii_uppercase());
            } else if !matches!(c, '.' | '/' | '-' | ' ') {
                return Err(FieldIssue::Cnpj);
            }
        }
        let bytes = chars.as_bytes();
        if bytes.len() != 14
            || !bytes[12..].iter().all(u8::is_ascii_digit)
            || bytes.iter().all(|&b| b == bytes[0])
        {
            return Err(FieldIssue::Cnpj);
        }
        let values: Vec<u32> = bytes.iter().map(|&b| u32::from(b - b'0')).collect();
        let dv1 = check_digit(&values[..12], &DV1_WEIGHTS);
        let dv2 = check_digit(&values[..13], &DV2_WEIGHTS);
        if values[12] != dv1 || values[13] != dv2 {
            return Err(FieldIssue::Cnpj);
        }
        Ok(Cnpj(chars))
    }

    /// The 14 normalised characters, as stored.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is the alphanumeric layout (any letter among the first 12 characters).
    pub fn is_alphanumeric(&self) -> bool {
        self.0.bytes().any(|b| b.is_ascii_uppercase())
    }
}

fn check_digit(values: &[u32], weights: &[u32]) -> u32 {
    let sum: u32 = values.iter().zip(weights).map(|(v, w)| v * w).sum();
    let r = sum % 11;
    if r < 2 { 0 } else { 11 - r }
}

parsed_from_text!(Cnpj);

/// Formatted `SS.SSS.SSS/SSSS-DD`.
impl fmt::Display for Cnpj {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.0;
        write!(
            f,
            "{}.{}.{}/{}-{}",
            &c[..2],
            &c[2..5],
            &c[5..8],
            &c[8..12],
            &c[12..]
        )
    }
}

/// The 14 normalised characters.
impl Serialize for Cnpj {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_numeric_example_is_valid_formatted_or_bare() {
        for input in [
            "11.222.333/0001-81",
            "11222333000181",
            " 11 222 333 0001 81 ",
        ] {
            let cnpj = Cnpj::parse(input).unwrap();
            assert_eq!(cnpj.as_str(), "11222333000181");
            assert_eq!(cnpj.to_string(), "11.222.333/0001-81");
            assert!(!cnpj.is_alphanumeric());
        }
        assert!(Cnpj::parse("11.444.777/0001-61").is_ok());
    }

    #[test]
    fn the_serpro_alphanumeric_example_is_valid_in_any_case() {
        for input in ["12.ABC.345/01DE-35", "12ABC34501DE35", "12.abc.345/01de-35"] {
            let cnpj = Cnpj::parse(input).unwrap();
            assert_eq!(cnpj.as_str(), "12ABC34501DE35");
            assert_eq!(cnpj.to_string(), "12.ABC.345/01DE-35");
            assert!(cnpj.is_alphanumeric());
        }
    }

    #[test]
    fn wrong_check_digits_are_refused() {
        for input in [
            "11.222.333/0001-82",
            "11.222.333/0001-18",
            "12.ABC.345/01DE-36",
            "12.ABC.345/01DE-53",
            "12.ABD.345/01DE-35",
        ] {
            assert_eq!(Cnpj::parse(input), Err(FieldIssue::Cnpj), "{input}");
        }
    }

    #[test]
    fn every_repeated_digit_string_is_refused() {
        for d in 0..=9 {
            let bare = d.to_string().repeat(14);
            assert_eq!(Cnpj::parse(&bare), Err(FieldIssue::Cnpj), "{bare}");
        }
    }

    #[test]
    fn letters_in_the_check_digits_or_wrong_shapes_are_refused() {
        for input in [
            "",
            "1122233300018",
            "112223330001811",
            "12.ABC.345/01DE-3A",
            "11_222_333_0001_81",
            "12.ÁBC.345/01DE-35",
        ] {
            assert_eq!(Cnpj::parse(input), Err(FieldIssue::Cnpj), "{input:?}");
        }
    }

    #[test]
    fn serde_round_trips_through_the_normalised_form() {
        let cnpj: Cnpj = serde_json::from_str("\"12.abc.345/01de-35\"").unwrap();
        assert_eq!(serde_json::to_string(&cnpj).unwrap(), "\"12ABC34501DE35\"");
        assert!(serde_json::from_str::<Cnpj>("\"00000000000000\"").is_err());
    }
}
