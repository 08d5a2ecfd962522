//! Brazilian identifiers and contact data as parsed newtypes (style.md §5 rule 4: parse, don't
//! validate).
//!
//! This module owns the *shape* rules of CPF, CNPJ (numeric and the alphanumeric format of
//! IN RFB 2.229), phone numbers (DDD list, ninth digit), CEP, e-mail, birth date, UF, council
//! registrations (CRM, COREN, …) and ANVISA registrations (domain.md §5.1–5.4). Each type is built
//! only by parsing, holds the normalised form, serialises to it and deserialises by parsing, so a
//! value of the type is always valid.
//!
//! It must not touch HTTP, the database or encryption: storing a CPF encrypted and indexing it is
//! [`crate::crypto`]'s job, and turning a [`FieldIssue`] into a response is
//! [`crate::error`]'s. Values that identify a person (`Cpf`, `Email`, `PhoneBr`, `BirthDate`) print
//! as `Type(***)` under `Debug`, and no error message ever echoes the submitted text, so personal
//! data cannot reach a log by accident.

mod anvisa;
mod birth_date;
mod cep;
mod cnpj;
mod council;
mod cpf;
mod email;
mod phone;
mod uf;

pub use anvisa::{AnvisaCategory, AnvisaRegistration};
pub use birth_date::BirthDate;
pub use cep::Cep;
pub use cnpj::Cnpj;
pub use council::{Council, CouncilRegistration};
pub use cpf::Cpf;
pub use email::Email;
pub use phone::PhoneBr;
pub use uf::Uf;

use crate::error::{FieldError, Msg};

/// Why a submitted value was refused, with a stable machine [`code`](FieldIssue::code) and a
/// message in both API languages.
///
/// Kept apart from [`FieldError`] because the parsers do not know the JSON path of the field; the
/// handler does, and calls [`FieldIssue::into_field_error`]. The messages describe the rule, never
/// the submitted value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldIssue {
    /// Not 11 digits, a repeated-digit string, or wrong check digits.
    Cpf,
    /// Not 14 characters of the numeric or alphanumeric layout, or wrong check digits.
    Cnpj,
    /// Not a Brazilian mobile (9 digits starting with 9) or landline (8 digits starting with 2–5).
    Phone,
    /// The number has the right shape but its area code (DDD) does not exist.
    PhoneAreaCode,
    /// Not 8 digits, or all zeros.
    Cep,
    /// Not a plausible e-mail address.
    Email,
    /// Not a `YYYY-MM-DD` calendar date.
    BirthDate,
    /// A date after today.
    BirthDateInFuture,
    /// A date before 1900-01-01.
    BirthDateTooOld,
    /// Not `COUNCIL/UF NUMBER` (or `COUNCIL NUMBER/UF`) with a known council and 1–7 digits.
    Council,
    /// Not 9, 11 or 13 digits starting with 1–6 or 8.
    Anvisa,
    /// Not one of the 27 federative units.
    Uf,
}

impl FieldIssue {
    /// The stable machine code clients switch on; never changes once published.
    pub const fn code(self) -> &'static str {
        match self {
            FieldIssue::Cpf => "invalid_cpf",
            FieldIssue::Cnpj => "invalid_cnpj",
            FieldIssue::Phone | FieldIssue::PhoneAreaCode => "invalid_phone",
            FieldIssue::Cep => "invalid_cep",
            FieldIssue::Email => "invalid_email",
            FieldIssue::BirthDate | FieldIssue::BirthDateInFuture | FieldIssue::BirthDateTooOld => {
                "invalid_birth_date"
            }
            // One code for every council: the API contract names it after the CRM.
            FieldIssue::Council => "invalid_crm",
            FieldIssue::Anvisa => "invalid_anvisa_registration",
            FieldIssue::Uf => "invalid_uf",
        }
    }

    /// The human explanation in pt-BR and English (describes the rule, never the value).
    pub const fn message(self) -> Msg {
        match self {
            FieldIssue::Cpf => Msg::new(
                "CPF inválido: deve ter 11 dígitos e dígitos verificadores corretos.",
                "Invalid CPF: it must have 11 digits and valid check digits.",
            ),
            FieldIssue::Cnpj => Msg::new(
                "CNPJ inválido: deve ter 14 caracteres (12 letras ou dígitos e 2 dígitos verificadores) com dígitos verificadores corretos.",
                "Invalid CNPJ: it must have 14 characters (12 letters or digits and 2 check digits) with valid check digits.",
            ),
            FieldIssue::Phone => Msg::new(
                "Telefone inválido: informe DDD e número, por exemplo (11) 98765-4321.",
                "Invalid phone number: use area code plus number, e.g. (11) 98765-4321.",
            ),
            FieldIssue::PhoneAreaCode => Msg::new(
                "Telefone inválido: o DDD informado não existe.",
                "Invalid phone number: the area code (DDD) does not exist.",
            ),
            FieldIssue::Cep => Msg::new(
                "CEP inválido: deve ter 8 dígitos, por exemplo 01310-100.",
                "Invalid CEP: it must have 8 digits, e.g. 01310-100.",
            ),
            FieldIssue::Email => Msg::new("E-mail inválido.", "Invalid e-mail address."),
            FieldIssue::BirthDate => Msg::new(
                "Data de nascimento inválida: use o formato AAAA-MM-DD.",
                "Invalid birth date: use the YYYY-MM-DD format.",
            ),
            FieldIssue::BirthDateInFuture => Msg::new(
                "Data de nascimento inválida: não pode estar no futuro.",
                "Invalid birth date: it cannot be in the future.",
            ),
            FieldIssue::BirthDateTooOld => Msg::new(
                "Data de nascimento inválida: não pode ser anterior a 01/01/1900.",
                "Invalid birth date: it cannot be before 1900-01-01.",
            ),
            FieldIssue::Council => Msg::new(
                "Registro profissional inválido: use por exemplo CRM/SP 123456.",
                "Invalid professional council registration: use e.g. CRM/SP 123456.",
            ),
            FieldIssue::Anvisa => Msg::new(
                "Registro ANVISA inválido: deve ter 9, 11 ou 13 dígitos.",
                "Invalid ANVISA registration: it must have 9, 11 or 13 digits.",
            ),
            FieldIssue::Uf => Msg::new(
                "UF inválida: use a sigla de duas letras, por exemplo SP.",
                "Invalid state (UF): use the two-letter abbreviation, e.g. SP.",
            ),
        }
    }

    /// The project's field error for the JSON path `field`, ready for `ApiError::Validation`.
    pub fn into_field_error(self, field: &str) -> FieldError {
        FieldError::new(field, self.code(), self.message())
    }
}

/// The English message, so serde's deserialisation errors read well without echoing the value.
impl std::fmt::Display for FieldIssue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message().en)
    }
}

impl std::error::Error for FieldIssue {}

/// Implements `FromStr`, `TryFrom<&str>` and `TryFrom<String>` through `parse`, so serde's
/// `#[serde(try_from = "String")]` and `str::parse` both go through the one parser.
macro_rules! parsed_from_text {
    ($ty:ty) => {
        impl ::std::str::FromStr for $ty {
            type Err = $crate::br::FieldIssue;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                <$ty>::parse(text)
            }
        }

        impl TryFrom<&str> for $ty {
            type Error = $crate::br::FieldIssue;
            fn try_from(text: &str) -> Result<Self, Self::Error> {
                <$ty>::parse(text)
            }
        }

        impl TryFrom<String> for $ty {
            type Error = $crate::br::FieldIssue;
            fn try_from(text: String) -> Result<Self, Self::Error> {
                <$ty>::parse(&text)
            }
        }
    };
}
pub(crate) use parsed_from_text;

/// Keeps only ASCII digits after checking that every other character is one of `separators`;
/// `None` when anything else appears. Shared by the digit-string parsers.
fn digits_only(text: &str, separators: &[char]) -> Option<String> {
    let mut digits = String::with_capacity(text.len());
    for c in text.trim().chars() {
        if c.is_ascii_digit() {
            digits.push(c);
        } else if !separators.contains(&c) {
            return None;
        }
    }
    Some(digits)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL: [FieldIssue; 12] = [
        FieldIssue::Cpf,
        FieldIssue::Cnpj,
        FieldIssue::Phone,
        FieldIssue::PhoneAreaCode,
        FieldIssue::Cep,
        FieldIssue::Email,
        FieldIssue::BirthDate,
        FieldIssue::BirthDateInFuture,
        FieldIssue::BirthDateTooOld,
        FieldIssue::Council,
        FieldIssue::Anvisa,
        FieldIssue::Uf,
    ];

    #[test]
    fn every_issue_has_one_of_the_published_codes() {
        let published = [
            "invalid_cpf",
            "invalid_cnpj",
            "invalid_phone",
            "invalid_cep",
            "invalid_email",
            "invalid_birth_date",
            "invalid_crm",
            "invalid_anvisa_registration",
            "invalid_uf",
        ];
        for issue in ALL {
            assert!(published.contains(&issue.code()), "{issue:?}");
        }
        for code in published {
            assert!(ALL.iter().any(|i| i.code() == code), "{code} unused");
        }
    }

    #[test]
    fn every_issue_has_messages_in_both_languages_and_display_is_the_english_one() {
        for issue in ALL {
            let msg = issue.message();
            assert!(!msg.pt.is_empty() && !msg.en.is_empty());
            assert_ne!(msg.pt, msg.en);
            assert_eq!(issue.to_string(), msg.en, "{issue:?}");
        }
    }

    #[test]
    fn into_field_error_carries_the_path_code_and_message() {
        let e = FieldIssue::Cpf.into_field_error("patient.cpf");
        assert_eq!(e.field, "patient.cpf");
        assert_eq!(e.code, "invalid_cpf");
        assert_eq!(e.message, FieldIssue::Cpf.message());
    }

    #[test]
    fn error_messages_never_echo_the_submitted_value() {
        let input = "123.456.789-00";
        let issue = Cpf::parse(input).unwrap_err();
        let e = issue.into_field_error("cpf");
        assert!(!e.message.pt.contains("123") && !e.message.en.contains("123"));
        assert!(!issue.to_string().contains("123"));
    }

    #[test]
    fn digits_only_rejects_characters_outside_the_separators() {
        assert_eq!(digits_only(" 1.2-3 ", &['.', '-']).as_deref(), Some("123"));
        assert_eq!(digits_only("1a2", &['.', '-']), None);
        assert_eq!(
            digits_only("١٢٣", &[]),
            None,
            "non-ASCII digits are not digits here"
        );
    }
}
