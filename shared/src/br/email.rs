//! E-mail addresses, validated pragmatically (what real mailboxes look like, not all of RFC 5322).

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use super::{FieldIssue, parsed_from_text};

/// Longest address (RFC 5321 path limit minus the angle brackets).
const MAX_LEN: usize = 254;
/// Longest local part (RFC 5321 §4.5.3.1.1).
const MAX_LOCAL: usize = 64;
/// Longest domain label (RFC 1035).
const MAX_LABEL: usize = 63;

/// An e-mail address with its domain lowercased.
///
/// A patient's e-mail is personal data: `Debug` prints `Email(***)`. The local part keeps its
/// case because RFC 5321 lets servers treat it as case-sensitive; the domain never is, so it is
/// lowercased to make `Ana@Clinic.COM.br` and `Ana@clinic.com.br` one value.
#[derive(Clone, PartialEq, Eq, Hash, Deserialize)]
#[serde(try_from = "String")]
pub struct Email(String);

impl Email {
    /// Parses an address: exactly one `@`; a local part of 1–64 characters from the RFC 5322
    /// "atext" set plus dots (not first, last or doubled); a domain of at least two labels, each
    /// 1–63 characters of `[A-Za-z0-9-]` not starting or ending with `-`, with a non-numeric
    /// top-level label; at most 254 characters; no spaces. Surrounding whitespace is trimmed.
    /// Internationalised addresses must arrive in ASCII (punycode domain).
    pub fn parse(text: &str) -> Result<Self, FieldIssue> {
        let text = text.trim();
        if text.len() > MAX_LEN {
            return Err(FieldIssue::Email);
        }
        let (local, domain) = text.split_once('@').ok_or(FieldIssue::Email)?;
        if !valid_local(local) || !valid_domain(domain) {
            return Err(FieldIssue::Email);
        }
        Ok(Email(format!("{local}@{}", domain.to_ascii_lowercase())))
    }

    /// The normalised address, as stored and used to send mail.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The lowercased domain, e.g. to spot disposable-mail providers without touching the local
    /// part.
    pub fn domain(&self) -> &str {
        self.0.rsplit_once('@').map_or("", |(_, d)| d)
    }
}

fn valid_local(local: &str) -> bool {
    const ATEXT_SPECIALS: &[u8] = b"!#$%&'*+-/=?^_`{|}~";
    !local.is_empty()
        && local.len() <= MAX_LOCAL
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'.' || ATEXT_SPECIALS.contains(&b))
}

fn valid_domain(domain: &str) -> bool {
    let labels: Vec<&str> = domain.split('.').collect();
    let label_ok = |label: &&str| {
        !label.is_empty()
            && label.len() <= MAX_LABEL
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-')
    };
    labels.len() >= 2
        && labels.iter().all(label_ok)
        && labels
            .last()
            .is_some_and(|tld| !tld.bytes().all(|b| b.is_ascii_digit()))
}

parsed_from_text!(Email);

/// The normalised address.
impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Never prints the address.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email(***)")
    }
}

/// The normalised address.
impl Serialize for Email {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ordinary_addresses_are_accepted_and_the_domain_is_lowercased() {
        let email = Email::parse(" Ana.Souza@Clinica.COM.br ").unwrap();
        assert_eq!(email.as_str(), "Ana.Souza@clinica.com.br");
        assert_eq!(email.domain(), "clinica.com.br");
        for input in [
            "a@b.co",
            "first.last+tag@example.com",
            "o'neil@example.org",
            "user_name-1@sub-domain.example.com.br",
            "x@xn--clnica-yva.com.br",
            "1234@123.example",
        ] {
            assert!(Email::parse(input).is_ok(), "{input}");
        }
    }

    #[test]
    fn implausible_addresses_are_refused() {
        for input in [
            "",
            "@",
            "ana",
            "ana@",
            "@clinica.com",
            "ana@clinica",
            "ana@@clinica.com",
            "ana@b@clinica.com",
            "ana souza@clinica.com",
            "ana@clinica .com",
            ".ana@clinica.com",
            "ana.@clinica.com",
            "an..a@clinica.com",
            "ana@-clinica.com",
            "ana@clinica-.com",
            "ana@clinica..com",
            "ana@.clinica.com",
            "ana@clinica.com.",
            "ana@clinica_x.com",
            "ana@1.2.3.4",
            "ana@[127.0.0.1]",
            "\"ana\"@clinica.com",
            "ana(x)@clinica.com",
            "ána@clinica.com",
            "ana@clínica.com",
            "ana\t@clinica.com",
        ] {
            assert_eq!(Email::parse(input), Err(FieldIssue::Email), "{input:?}");
        }
    }

    #[test]
    fn length_limits_are_enforced_at_the_boundaries() {
        let local64 = "a".repeat(64);
        assert!(Email::parse(&format!("{local64}@example.com")).is_ok());
        assert!(Email::parse(&format!("a{local64}@example.com")).is_err());

        let label63 = "b".repeat(63);
        assert!(Email::parse(&format!("a@{label63}.com")).is_ok());
        assert!(Email::parse(&format!("a@b{label63}.com")).is_err());

        // 254 characters in total is the most allowed.
        let domain = format!("{0}.{0}.{0}.{1}.com", "c".repeat(63), "d".repeat(44));
        let at_limit = format!("{}@{domain}", "e".repeat(254 - 1 - domain.len()));
        assert_eq!(at_limit.len(), 254);
        assert!(Email::parse(&at_limit).is_ok());
        let over = format!("e{at_limit}");
        assert!(Email::parse(&over).is_err());
    }

    #[test]
    fn debug_does_not_print_the_address() {
        let email = Email::parse("ana@clinica.com").unwrap();
        assert_eq!(format!("{email:?}"), "Email(***)");
    }

    #[test]
    fn serde_emits_the_normalised_form_and_parses_on_the_way_in() {
        let email: Email = serde_json::from_str("\"Ana@CLINICA.com\"").unwrap();
        assert_eq!(
            serde_json::to_string(&email).unwrap(),
            "\"Ana@clinica.com\""
        );
        assert!(serde_json::from_str::<Email>("\"ana@clinica\"").is_err());
    }
}
