//! CEP (Código de Endereçamento Postal): the 8-digit Brazilian postal code.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use super::{FieldIssue, parsed_from_text};

/// A CEP, stored as its 8 bare digits.
///
/// Only the shape is checked (no lookup against the Correios base), so a well-formed but
/// unassigned CEP is accepted; `00000-000` is refused as the usual placeholder.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Cep(String);

impl Cep {
    /// Parses `01310-100`, `01310100` or the legacy `01.310-100`; nothing else.
    pub fn parse(text: &str) -> Result<Self, FieldIssue> {
        let text = text.trim();
        let b = text.as_bytes();
        let digits: String = match b.len() {
            8 => text.to_owned(),
            9 if b[5] == b'-' => format!("{}{}", &text[..5], &text[6..]),
            10 if b[2] == b'.' && b[6] == b'-' => {
                format!("{}{}{}", &text[..2], &text[3..6], &text[7..])
            }
            _ => return Err(FieldIssue::Cep),
        };
        if digits.len() != 8 || !digits.bytes().all(|c| c.is_ascii_digit()) || digits == "00000000"
        {
            return Err(FieldIssue::Cep);
        }
        Ok(Cep(digits))
    }

    /// The 8 bare digits, as stored and sent to address-lookup services.
    pub fn digits(&self) -> &str {
        &self.0
    }
}

parsed_from_text!(Cep);

/// Formatted `01310-100`.
impl fmt::Display for Cep {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", &self.0[..5], &self.0[5..])
    }
}

/// The 8 bare digits.
impl Serialize for Cep {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formatted_bare_and_legacy_inputs_give_one_value() {
        for input in ["01310-100", "01310100", "01.310-100", " 01310-100 "] {
            let cep = Cep::parse(input).unwrap();
            assert_eq!(cep.digits(), "01310100");
            assert_eq!(cep.to_string(), "01310-100");
        }
    }

    #[test]
    fn bad_shapes_and_all_zeros_are_refused() {
        for input in [
            "",
            "00000-000",
            "00000000",
            "0131010",
            "013101000",
            "0131-0100",
            "01310 100",
            "01310–100",
            "0131a-100",
            "01.310100",
            "-01310100",
            "01310-1000",
        ] {
            assert_eq!(Cep::parse(input), Err(FieldIssue::Cep), "{input:?}");
        }
    }

    #[test]
    fn the_smallest_and_largest_ceps_are_accepted() {
        assert!(Cep::parse("00000-001").is_ok());
        assert!(Cep::parse("99999-999").is_ok());
    }

    #[test]
    fn serde_emits_bare_digits_and_parses_on_the_way_in() {
        let cep: Cep = serde_json::from_str("\"01310-100\"").unwrap();
        assert_eq!(serde_json::to_string(&cep).unwrap(), "\"01310100\"");
        assert!(serde_json::from_str::<Cep>("\"00000-000\"").is_err());
    }
}
