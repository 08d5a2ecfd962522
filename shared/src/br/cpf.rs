//! CPF (Cadastro de Pessoas Físicas): 11 digits, the last two check digits (domain.md §5.1).

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use super::{FieldIssue, digits_only, parsed_from_text};

/// A valid CPF, stored as its 11 bare digits.
///
/// A patient's CPF is personal data under LGPD: `Debug` prints `Cpf(***)`, responses to roles
/// that should not see it use [`Cpf::masked`], and the database keeps it encrypted with a blind
/// index (`crate::crypto`).
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Cpf(String);

impl Cpf {
    /// Parses `111.444.777-35` or `11144477735` (dots, hyphen and spaces are ignored; anything
    /// else is refused), checking both check digits and refusing the eleven repeated-digit
    /// strings, which pass the arithmetic but are never issued.
    pub fn parse(text: &str) -> Result<Self, FieldIssue> {
        let digits = digits_only(text, &['.', '-', ' ']).ok_or(FieldIssue::Cpf)?;
        let d: Vec<u32> = digits.bytes().map(|b| u32::from(b - b'0')).collect();
        if d.len() != 11 || d.iter().all(|&x| x == d[0]) {
            return Err(FieldIssue::Cpf);
        }
        if check_digit(&d[..9]) != d[9] || check_digit(&d[..10]) != d[10] {
            return Err(FieldIssue::Cpf);
        }
        Ok(Cpf(digits))
    }

    /// The 11 bare digits: what the blind index and encryption take.
    pub fn digits(&self) -> &str {
        &self.0
    }

    /// `***.444.777-**`: enough to tell two patients apart at the front desk without revealing
    /// the number (the first three digits and the check digits are hidden).
    pub fn masked(&self) -> String {
        format!("***.{}.{}-**", &self.0[3..6], &self.0[6..9])
    }
}

/// Check digit over `digits` with weights counting down to 2 (10→2 for DV1, 11→2 for DV2).
fn check_digit(digits: &[u32]) -> u32 {
    let sum: u32 = digits
        .iter()
        .rev()
        .zip(2u32..)
        .map(|(digit, weight)| digit * weight)
        .sum();
    let r = sum % 11;
    if r < 2 { 0 } else { 11 - r }
}

parsed_from_text!(Cpf);

/// Formatted `111.444.777-35`, for people; the bare digits are what [`Serialize`] emits.
impl fmt::Display for Cpf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let d = &self.0;
        write!(f, "{}.{}.{}-{}", &d[..3], &d[3..6], &d[6..9], &d[9..])
    }
}

/// Never prints the number, so a `{:?}` in a log line leaks nothing.
impl fmt::Debug for Cpf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Cpf(***)")
    }
}

/// The 11 bare digits.
impl Serialize for Cpf {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_published_example_is_valid_formatted_or_bare() {
        for input in [
            "111.444.777-35",
            "11144477735",
            " 111 444 777 35 ",
            "111444777-35",
        ] {
            let cpf = Cpf::parse(input).unwrap();
            assert_eq!(cpf.digits(), "11144477735");
            assert_eq!(cpf.to_string(), "111.444.777-35");
        }
    }

    #[test]
    fn other_known_valid_numbers_pass() {
        // Computed with the §5.1 rule and cross-checked with a script.
        for input in ["529.982.247-25", "453.178.287-91", "000.000.001-91"] {
            assert!(Cpf::parse(input).is_ok(), "{input}");
        }
    }

    #[test]
    fn wrong_check_digits_are_refused() {
        for input in [
            "111.444.777-36",
            "111.444.777-45",
            "111.444.777-53",
            "529.982.247-52",
        ] {
            assert_eq!(Cpf::parse(input), Err(FieldIssue::Cpf), "{input}");
        }
    }

    #[test]
    fn every_repeated_digit_string_is_refused() {
        for d in 0..=9 {
            let bare = d.to_string().repeat(11);
            assert_eq!(Cpf::parse(&bare), Err(FieldIssue::Cpf), "{bare}");
            let formatted = format!("{0}{0}{0}.{0}{0}{0}.{0}{0}{0}-{0}{0}", d);
            assert_eq!(Cpf::parse(&formatted), Err(FieldIssue::Cpf), "{formatted}");
        }
    }

    #[test]
    fn wrong_length_or_foreign_characters_are_refused() {
        for input in [
            "",
            "1114447773",
            "111444777355",
            "111.444.777/35",
            "111,444,777-35",
            "111.444.777-3a",
            "+11144477735",
            "１１１４４４７７７３５",
        ] {
            assert_eq!(Cpf::parse(input), Err(FieldIssue::Cpf), "{input:?}");
        }
    }

    #[test]
    fn masked_shows_only_the_middle_six_digits() {
        let cpf = Cpf::parse("111.444.777-35").unwrap();
        assert_eq!(cpf.masked(), "***.444.777-**");
    }

    #[test]
    fn debug_does_not_print_the_number() {
        let cpf = Cpf::parse("11144477735").unwrap();
        let debug = format!("{cpf:?} {:?}", Some(&cpf));
        assert!(!debug.contains("444"), "{debug}");
        assert_eq!(format!("{cpf:?}"), "Cpf(***)");
    }

    #[test]
    fn serde_emits_bare_digits_and_parses_on_the_way_in() {
        let cpf: Cpf = serde_json::from_str("\"111.444.777-35\"").unwrap();
        assert_eq!(serde_json::to_string(&cpf).unwrap(), "\"11144477735\"");
        let err = serde_json::from_str::<Cpf>("\"111.444.777-00\"").unwrap_err();
        assert!(!err.to_string().contains("111"), "{err}");
    }

    #[test]
    fn from_str_and_try_from_use_the_same_parser() {
        assert!("11144477735".parse::<Cpf>().is_ok());
        assert!(Cpf::try_from("11144477736").is_err());
        assert!(Cpf::try_from(String::from("11144477735")).is_ok());
    }
}
