//! ANVISA product registration numbers (domain.md §5.4): the registration a clinic records for
//! each toxin, filler or device it applies.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use super::{FieldIssue, digits_only, parsed_from_text};

/// The product class that the first digit of a registration announces.
///
/// Useful to warn when, say, a "filler" carries a cosmetic registration. Digit 1 also covers some
/// health products, so treat the class as a hint, not a proof.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum AnvisaCategory {
    /// 1: medicines, including biologicals such as botulinum toxin.
    Medicine,
    /// 2: cosmetics.
    Cosmetic,
    /// 3: sanitizers.
    Sanitizer,
    /// 4–6: foods.
    Food,
    /// 8: health products and medical devices (HA fillers, PLLA, lasers).
    HealthProduct,
}

/// An ANVISA registration number, stored as bare digits.
///
/// Lengths 9 (medicine packaging may print only the first nine digits), 11 (devices are often
/// printed so) and 13 (the full number) are accepted; the first digit must be a known class.
/// There is no check digit; confirming the product is a lookup on ANVISA Consultas.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct AnvisaRegistration(String);

impl AnvisaRegistration {
    /// Parses digits with optional `.`, `-` and space separators (`1.0000.0000.001-1`).
    pub fn parse(text: &str) -> Result<Self, FieldIssue> {
        let digits = digits_only(text, &['.', '-', ' ']).ok_or(FieldIssue::Anvisa)?;
        let first_ok = matches!(digits.as_bytes().first(), Some(b'1'..=b'6' | b'8'));
        if !matches!(digits.len(), 9 | 11 | 13) || !first_ok {
            return Err(FieldIssue::Anvisa);
        }
        Ok(AnvisaRegistration(digits))
    }

    /// The bare digits, as stored and sent to lookups.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The product class announced by the first digit.
    pub fn category(&self) -> AnvisaCategory {
        match self.0.as_bytes().first() {
            Some(b'1') => AnvisaCategory::Medicine,
            Some(b'2') => AnvisaCategory::Cosmetic,
            Some(b'3') => AnvisaCategory::Sanitizer,
            Some(b'4'..=b'6') => AnvisaCategory::Food,
            _ => AnvisaCategory::HealthProduct,
        }
    }
}

parsed_from_text!(AnvisaRegistration);

/// The bare digits (there is no single official grouping).
impl fmt::Display for AnvisaRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The bare digits.
impl Serialize for AnvisaRegistration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nine_eleven_and_thirteen_digits_are_accepted_with_separators_stripped() {
        for (input, digits) in [
            ("1.2345.6789", "123456789"),
            ("80123456789", "80123456789"),
            ("801.2345.6001", "80123456001"),
            ("1.0000.0000.001-1", "1000000000011"),
            (" 2 1234 5678 9012 ", "2123456789012"),
        ] {
            let r = AnvisaRegistration::parse(input).unwrap_or_else(|e| panic!("{input}: {e:?}"));
            assert_eq!(r.as_str(), digits);
            assert_eq!(r.to_string(), digits);
        }
    }

    #[test]
    fn every_allowed_first_digit_maps_to_its_category() {
        let cases = [
            ('1', AnvisaCategory::Medicine),
            ('2', AnvisaCategory::Cosmetic),
            ('3', AnvisaCategory::Sanitizer),
            ('4', AnvisaCategory::Food),
            ('5', AnvisaCategory::Food),
            ('6', AnvisaCategory::Food),
            ('8', AnvisaCategory::HealthProduct),
        ];
        for (first, category) in cases {
            let r = AnvisaRegistration::parse(&format!("{first}2345678901")).unwrap();
            assert_eq!(r.category(), category);
        }
    }

    #[test]
    fn other_lengths_first_digits_and_characters_are_refused() {
        for input in [
            "",
            "12345678",
            "1234567890",
            "123456789012",
            "12345678901234",
            "250001234567890",
            "023456789",
            "723456789",
            "923456789",
            "1234/56789",
            "1234A6789",
        ] {
            assert_eq!(
                AnvisaRegistration::parse(input),
                Err(FieldIssue::Anvisa),
                "{input:?}"
            );
        }
    }

    #[test]
    fn serde_emits_bare_digits_and_parses_on_the_way_in() {
        let r: AnvisaRegistration = serde_json::from_str("\"801.2345.6001\"").unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"80123456001\"");
        assert!(serde_json::from_str::<AnvisaRegistration>("\"7123456789\"").is_err());
    }
}
