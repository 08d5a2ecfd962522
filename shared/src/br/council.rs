//! Professional council registrations (CRM, COREN, CRO, CRF, CRBM, …): council + UF + number
//! (domain.md §5.3).

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use super::{FieldIssue, Uf, parsed_from_text};

/// Largest registration number accepted (7 digits; sources cite up to six, so one spare).
const MAX_NUMBER: u32 = 9_999_999;

macro_rules! councils {
    ($($variant:ident => $code:literal, $name:literal;)+) => {
        /// The professional councils whose members perform or prescribe aesthetic procedures.
        ///
        /// Which council a professional belongs to decides what they may do (e.g. only CRM and
        /// CRO members prescribe some medicines), so it is a closed set, not free text.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Council {
            $(
                #[doc = $name]
                $variant,
            )+
        }

        impl Council {
            /// Every council, for pickers and tests.
            pub const ALL: [Council; 8] = [$(Council::$variant),+];

            /// The acronym (`CRM`), as stored and shown.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Council::$variant => $code,)+
                }
            }

            /// Parses the acronym in any case.
            pub fn parse(text: &str) -> Result<Self, FieldIssue> {
                let upper = text.trim().to_ascii_uppercase();
                match upper.as_str() {
                    $($code => Ok(Council::$variant),)+
                    _ => Err(FieldIssue::Council),
                }
            }
        }
    };
}

councils! {
    Crm => "CRM", "Conselho Regional de Medicina (physicians).";
    Coren => "COREN", "Conselho Regional de Enfermagem (nurses).";
    Cro => "CRO", "Conselho Regional de Odontologia (dentists).";
    Crf => "CRF", "Conselho Regional de Farmácia (pharmacists).";
    Crbm => "CRBM", "Conselho Regional de Biomedicina (biomedical scientists).";
    Crefito => "CREFITO", "Conselho Regional de Fisioterapia e Terapia Ocupacional (physiotherapists).";
    Crn => "CRN", "Conselho Regional de Nutricionistas (nutritionists).";
    Crp => "CRP", "Conselho Regional de Psicologia (psychologists).";
}

impl fmt::Display for Council {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A registration with a regional professional council: `CRM/SP 123456`.
///
/// There is no check digit (verification is a lookup on the council's portal), so parsing only
/// normalises: known council, valid UF, 1–7 digits with leading zeros dropped. The UF is where
/// the professional is registered; councils organised by numbered region (CRBM, CREFITO, CRN,
/// CRP) are recorded with the UF of practice too. Suffixes such as `P` (provisional), `EME` or
/// COREN's category (`-ENF`) are not part of the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct CouncilRegistration {
    council: Council,
    uf: Uf,
    number: u32,
}

impl CouncilRegistration {
    /// Builds a registration from parts already split by a form (council and UF pickers plus a
    /// number field); the number may contain dots and leading zeros.
    pub fn new(council: Council, uf: Uf, number: &str) -> Result<Self, FieldIssue> {
        Ok(CouncilRegistration {
            council,
            uf,
            number: parse_number(number)?,
        })
    }

    /// Parses the usual spellings, in any case: `CRM/SP 123456`, `CRM-SP 123456`,
    /// `CRM SP 123.456`, `CRM 123456/SP`, `CRM 123456-SP`, `COREN/RJ: 0012345`.
    pub fn parse(text: &str) -> Result<Self, FieldIssue> {
        let tokens: Vec<&str> = text
            .split(['/', '-', ':', ' ', '\t'])
            .filter(|t| !t.is_empty())
            .collect();
        let [council, a, b] = tokens.as_slice() else {
            return Err(FieldIssue::Council);
        };
        let council = Council::parse(council)?;
        let (uf, number) = if a.bytes().all(|c| c.is_ascii_alphabetic()) {
            (a, b)
        } else {
            (b, a)
        };
        let uf = Uf::parse(uf).map_err(|_| FieldIssue::Council)?;
        Self::new(council, uf, number)
    }

    /// The council.
    pub fn council(&self) -> Council {
        self.council
    }

    /// The UF of the regional council.
    pub fn uf(&self) -> Uf {
        self.uf
    }

    /// The number without leading zeros (what prescriptions print and lookups take).
    pub fn number(&self) -> u32 {
        self.number
    }
}

/// 1–7 digits, optionally grouped with dots (`123.456`), not all zeros.
fn parse_number(text: &str) -> Result<u32, FieldIssue> {
    let text = text.trim();
    let digits: String = text.chars().filter(|&c| c != '.').collect();
    let shape_ok = !digits.is_empty()
        && digits.len() <= 7
        && digits.bytes().all(|b| b.is_ascii_digit())
        && !text.starts_with('.')
        && !text.ends_with('.')
        && !text.contains("..");
    if !shape_ok {
        return Err(FieldIssue::Council);
    }
    match digits.parse::<u32>() {
        Ok(n) if (1..=MAX_NUMBER).contains(&n) => Ok(n),
        _ => Err(FieldIssue::Council),
    }
}

parsed_from_text!(CouncilRegistration);

/// `CRM/SP 123456`, the form prescriptions print.
impl fmt::Display for CouncilRegistration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{} {}", self.council, self.uf, self.number)
    }
}

/// `CRM/SP 123456`.
impl Serialize for CouncilRegistration {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_spellings_give_one_value() {
        for input in [
            "CRM/SP 123456",
            "crm/sp 123456",
            "CRM-SP 123456",
            "CRM SP 123.456",
            "CRM 123456/SP",
            "CRM 123456-SP",
            "CRM/SP: 0123456",
            "  CRM / SP  123456 ",
        ] {
            let r = CouncilRegistration::parse(input).unwrap_or_else(|e| panic!("{input}: {e:?}"));
            assert_eq!(r.council(), Council::Crm);
            assert_eq!(r.uf(), Uf::Sp);
            assert_eq!(r.number(), 123_456);
            assert_eq!(r.to_string(), "CRM/SP 123456");
        }
    }

    #[test]
    fn every_council_parses() {
        for council in Council::ALL {
            let text = format!("{}/RJ 42", council.as_str().to_lowercase());
            let r = CouncilRegistration::parse(&text).unwrap();
            assert_eq!(r.council(), council);
            assert_eq!(r.to_string(), format!("{council}/RJ 42"));
        }
    }

    #[test]
    fn numbers_of_one_to_seven_digits_are_normalised_without_leading_zeros() {
        let one = CouncilRegistration::new(Council::Coren, Uf::Mg, "0000001").unwrap();
        assert_eq!(one.number(), 1);
        assert_eq!(one.to_string(), "COREN/MG 1");
        let seven = CouncilRegistration::new(Council::Cro, Uf::Ba, "9.999.999").unwrap();
        assert_eq!(seven.number(), 9_999_999);
    }

    #[test]
    fn bad_registrations_are_refused() {
        for input in [
            "",
            "CRM",
            "CRM/SP",
            "123456/SP",
            "CRX/SP 123456",
            "CRM/XX 123456",
            "CRM/SP 0",
            "CRM/SP 0000000",
            "CRM/SP 12345678",
            "CRM/SP 12a456",
            "CRM/SP 123..456",
            "CRM/SP .123456",
            "CRM/SP 123456 P",
            "COREN-SP 123456-ENF",
            "CRM/SP/RJ 123456",
            "CRM 123456 789",
        ] {
            assert_eq!(
                CouncilRegistration::parse(input),
                Err(FieldIssue::Council),
                "{input:?}"
            );
        }
    }

    #[test]
    fn serde_uses_the_display_form() {
        let r: CouncilRegistration = serde_json::from_str("\"crm 00123-sp\"").unwrap();
        assert_eq!(serde_json::to_string(&r).unwrap(), "\"CRM/SP 123\"");
        assert!(serde_json::from_str::<CouncilRegistration>("\"CRM/SP\"").is_err());
    }
}
