//! Brazilian phone numbers (mobile and landline), normalised to E.164 `+55AANNNNNNNNN`.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use super::{FieldIssue, parsed_from_text};

/// The 67 area codes (DDD) in use, per Anatel's national numbering plan: 11–19 (SP), 21 22 24
/// (RJ), 27 28 (ES), 31–35 37 38 (MG), 41–46 (PR), 47–49 (SC), 51 53–55 (RS), 61 (DF), 62 64
/// (GO), 63 (TO), 65 66 (MT), 67 (MS), 68 (AC), 69 (RO), 71 73–75 77 (BA), 79 (SE), 81 87 (PE),
/// 82 (AL), 83 (PB), 84 (RN), 85 88 (CE), 86 89 (PI), 91 93 94 (PA), 92 97 (AM), 95 (RR),
/// 96 (AP), 98 99 (MA).
const DDDS: [u8; 67] = [
    11, 12, 13, 14, 15, 16, 17, 18, 19, //
    21, 22, 24, 27, 28, //
    31, 32, 33, 34, 35, 37, 38, //
    41, 42, 43, 44, 45, 46, 47, 48, 49, //
    51, 53, 54, 55, //
    61, 62, 63, 64, 65, 66, 67, 68, 69, //
    71, 73, 74, 75, 77, 79, //
    81, 82, 83, 84, 85, 86, 87, 88, 89, //
    91, 92, 93, 94, 95, 96, 97, 98, 99,
];

/// A Brazilian phone number in E.164 (`+5511987654321`).
///
/// A patient's phone is personal data: `Debug` prints `PhoneBr(***)`. E.164 is the one stored and
/// serialised form, so the same number typed three ways is one value (deduplication, messaging
/// providers).
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct PhoneBr(String);

impl PhoneBr {
    /// Parses the ways people write Brazilian numbers: `(11) 98765-4321`, `11987654321`,
    /// `+55 11 98765-4321`, `011 98765-4321` (trunk prefix 0), `55 11 3456-7890` (country code
    /// without `+`). Spaces, parentheses, hyphens and dots are ignored. The area code must exist;
    /// mobiles have 9 digits starting with 9 (the "ninth digit"), landlines 8 digits starting with
    /// 2–5. Foreign numbers are refused.
    pub fn parse(text: &str) -> Result<Self, FieldIssue> {
        let text = text.trim();
        let (plus, rest) = match text.strip_prefix('+') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let mut digits = String::with_capacity(rest.len());
        for c in rest.chars() {
            if c.is_ascii_digit() {
                digits.push(c);
            } else if !matches!(c, ' ' | '(' | ')' | '-' | '.') {
                return Err(FieldIssue::Phone);
            }
        }
        let national = if plus {
            // Only Brazil's country code after a `+`.
            digits.strip_prefix("55").ok_or(FieldIssue::Phone)?
        } else {
            match digits.len() {
                // Country code without `+`: national numbers are 10 or 11 digits, so 12 or 13
                // digits starting with 55 cannot be a national number with DDD 55.
                12 | 13 if digits.starts_with("55") => &digits[2..],
                // Trunk prefix 0 before the DDD (no DDD starts with 0).
                11 | 12 if digits.starts_with('0') => &digits[1..],
                _ => &digits,
            }
        };
        let bytes = national.as_bytes();
        let subscriber_ok = match bytes.len() {
            11 => bytes[2] == b'9',
            10 => (b'2'..=b'5').contains(&bytes[2]),
            _ => false,
        };
        if !subscriber_ok {
            return Err(FieldIssue::Phone);
        }
        let ddd = (bytes[0] - b'0') * 10 + (bytes[1] - b'0');
        if !DDDS.contains(&ddd) {
            return Err(FieldIssue::PhoneAreaCode);
        }
        Ok(PhoneBr(format!("+55{national}")))
    }

    /// The E.164 form, as stored and sent to messaging providers.
    pub fn e164(&self) -> &str {
        &self.0
    }

    /// The two-digit area code (DDD), e.g. for routing to the right clinic branch.
    pub fn ddd(&self) -> &str {
        &self.0[3..5]
    }

    /// Whether it is a mobile (can receive SMS/WhatsApp reminders).
    pub fn is_mobile(&self) -> bool {
        self.0.len() == 14
    }
}

parsed_from_text!(PhoneBr);

/// `+55 11 98765-4321` / `+55 11 3456-7890`: readable and still parseable.
impl fmt::Display for PhoneBr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let n = &self.0;
        let split = n.len() - 4;
        write!(f, "+55 {} {}-{}", &n[3..5], &n[5..split], &n[split..])
    }
}

/// Never prints the number.
impl fmt::Debug for PhoneBr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PhoneBr(***)")
    }
}

/// The E.164 form.
impl Serialize for PhoneBr {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_usual_mobile_spellings_normalise_to_one_e164() {
        for input in [
            "(11) 98765-4321",
            "11987654321",
            "+55 11 98765-4321",
            "+55 (11) 98765-4321",
            "+5511987654321",
            "011 98765-4321",
            "55 11 98765-4321",
            "5511987654321",
            "11 9 8765 4321",
            "11.98765.4321",
        ] {
            let phone = PhoneBr::parse(input).unwrap_or_else(|e| panic!("{input}: {e:?}"));
            assert_eq!(phone.e164(), "+5511987654321", "{input}");
            assert!(phone.is_mobile());
            assert_eq!(phone.ddd(), "11");
        }
    }

    #[test]
    fn the_usual_landline_spellings_normalise_to_one_e164() {
        for input in [
            "55 11 3456-7890",
            "(11) 3456-7890",
            "1134567890",
            "+55 11 3456-7890",
            "011 3456-7890",
            "551134567890",
        ] {
            let phone = PhoneBr::parse(input).unwrap_or_else(|e| panic!("{input}: {e:?}"));
            assert_eq!(phone.e164(), "+551134567890", "{input}");
            assert!(!phone.is_mobile());
        }
    }

    #[test]
    fn ddd_55_numbers_are_not_mistaken_for_the_country_code() {
        let mobile = PhoneBr::parse("(55) 99876-5432").unwrap();
        assert_eq!(mobile.e164(), "+5555998765432");
        let landline = PhoneBr::parse("55 3222-1234").unwrap();
        assert_eq!(landline.e164(), "+555532221234");
        let both = PhoneBr::parse("55 55 99876-5432").unwrap();
        assert_eq!(both.e164(), "+5555998765432");
    }

    #[test]
    fn display_is_readable_and_parses_back() {
        let mobile = PhoneBr::parse("11987654321").unwrap();
        assert_eq!(mobile.to_string(), "+55 11 98765-4321");
        let landline = PhoneBr::parse("1134567890").unwrap();
        assert_eq!(landline.to_string(), "+55 11 3456-7890");
        for phone in [mobile, landline] {
            assert_eq!(PhoneBr::parse(&phone.to_string()).unwrap(), phone);
        }
    }

    #[test]
    fn every_listed_ddd_is_accepted_and_every_other_two_digit_code_is_refused() {
        assert_eq!(DDDS.len(), 67);
        for ddd in 10..=99u8 {
            let result = PhoneBr::parse(&format!("{ddd}987654321"));
            if DDDS.contains(&ddd) {
                assert!(result.is_ok(), "{ddd}");
            } else {
                assert_eq!(result, Err(FieldIssue::PhoneAreaCode), "{ddd}");
            }
        }
    }

    #[test]
    fn ddd_edges_around_the_gaps() {
        let ok = [
            11, 19, 21, 22, 24, 27, 28, 31, 35, 37, 38, 41, 46, 47, 49, 51, 53, 55,
        ];
        let ok2 = [61, 69, 71, 73, 75, 77, 79, 81, 89, 91, 99];
        for ddd in ok.iter().chain(&ok2) {
            assert!(
                PhoneBr::parse(&format!("({ddd}) 3456-7890")).is_ok(),
                "{ddd}"
            );
        }
        let missing = [
            10, 20, 23, 25, 26, 29, 30, 36, 39, 40, 50, 52, 56, 57, 58, 59, 60,
        ];
        let missing2 = [70, 72, 76, 78, 80, 90];
        for ddd in missing.iter().chain(&missing2) {
            assert_eq!(
                PhoneBr::parse(&format!("({ddd}) 3456-7890")),
                Err(FieldIssue::PhoneAreaCode),
                "{ddd}"
            );
        }
    }

    #[test]
    fn mobiles_need_the_ninth_digit_and_landlines_start_with_2_to_5() {
        for input in [
            "(11) 88765-4321", // 9 digits not starting with 9
            "(11) 8765-4321",  // old 8-digit mobile
            "(11) 6765-4321",
            "(11) 1765-4321",
            "(11) 0765-4321",
        ] {
            assert_eq!(PhoneBr::parse(input), Err(FieldIssue::Phone), "{input}");
        }
        for first in 2..=5 {
            assert!(PhoneBr::parse(&format!("(11) {first}456-7890")).is_ok());
        }
    }

    #[test]
    fn wrong_lengths_foreign_numbers_and_odd_characters_are_refused() {
        for input in [
            "",
            "+",
            "9876-5432",
            "98765-4321",
            "(11) 98765-432",
            "(11) 98765-43210",
            "+1 212 555 0100",
            "+351 912 345 678",
            "+55 0 11 98765-4321",
            "0011 98765-4321",
            "11 98765-4321 ramal 2",
            "11/98765-4321",
            "++5511987654321",
            "55+11987654321",
        ] {
            assert!(PhoneBr::parse(input).is_err(), "{input:?}");
        }
    }

    #[test]
    fn debug_does_not_print_the_number() {
        let phone = PhoneBr::parse("11987654321").unwrap();
        assert_eq!(format!("{phone:?}"), "PhoneBr(***)");
    }

    #[test]
    fn serde_emits_e164_and_parses_on_the_way_in() {
        let phone: PhoneBr = serde_json::from_str("\"(11) 98765-4321\"").unwrap();
        assert_eq!(serde_json::to_string(&phone).unwrap(), "\"+5511987654321\"");
        assert!(serde_json::from_str::<PhoneBr>("\"(20) 98765-4321\"").is_err());
    }
}
