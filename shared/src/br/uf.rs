//! UF (Unidade Federativa): the 26 states and the Federal District.

use std::fmt;

use serde::{Deserialize, Serialize, Serializer};

use super::{FieldIssue, parsed_from_text};

macro_rules! ufs {
    ($($variant:ident => $code:literal, $name:literal;)+) => {
        /// One of the 27 federative units.
        ///
        /// Regional councils (CRM/SP, COREN-RJ, …) and addresses are per UF, so it is a closed
        /// set rather than free text.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
        #[serde(try_from = "String")]
        pub enum Uf {
            $(
                #[doc = $name]
                $variant,
            )+
        }

        impl Uf {
            /// Every UF, in alphabetical order of the abbreviation (for pickers and tests).
            pub const ALL: [Uf; 27] = [$(Uf::$variant),+];

            /// The two-letter abbreviation (`SP`), as stored and shown.
            pub const fn as_str(self) -> &'static str {
                match self {
                    $(Uf::$variant => $code,)+
                }
            }

            /// The full name in Portuguese (`São Paulo`), for addresses and documents.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Uf::$variant => $name,)+
                }
            }

            /// Parses the two-letter abbreviation in any case (`sp`, `SP`), ignoring
            /// surrounding whitespace.
            pub fn parse(text: &str) -> Result<Self, FieldIssue> {
                let upper = text.trim().to_ascii_uppercase();
                match upper.as_str() {
                    $($code => Ok(Uf::$variant),)+
                    _ => Err(FieldIssue::Uf),
                }
            }
        }
    };
}

ufs! {
    Ac => "AC", "Acre";
    Al => "AL", "Alagoas";
    Am => "AM", "Amazonas";
    Ap => "AP", "Amapá";
    Ba => "BA", "Bahia";
    Ce => "CE", "Ceará";
    Df => "DF", "Distrito Federal";
    Es => "ES", "Espírito Santo";
    Go => "GO", "Goiás";
    Ma => "MA", "Maranhão";
    Mg => "MG", "Minas Gerais";
    Ms => "MS", "Mato Grosso do Sul";
    Mt => "MT", "Mato Grosso";
    Pa => "PA", "Pará";
    Pb => "PB", "Paraíba";
    Pe => "PE", "Pernambuco";
    Pi => "PI", "Piauí";
    Pr => "PR", "Paraná";
    Rj => "RJ", "Rio de Janeiro";
    Rn => "RN", "Rio Grande do Norte";
    Ro => "RO", "Rondônia";
    Rr => "RR", "Roraima";
    Rs => "RS", "Rio Grande do Sul";
    Sc => "SC", "Santa Catarina";
    Se => "SE", "Sergipe";
    Sp => "SP", "São Paulo";
    To => "TO", "Tocantins";
}

parsed_from_text!(Uf);

/// The abbreviation.
impl fmt::Display for Uf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The abbreviation.
impl Serialize for Uf {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn all_27_ufs_of_domain_md_parse_in_any_case() {
        let listed =
            "AC AL AP AM BA CE DF ES GO MA MT MS MG PA PB PR PE PI RJ RN RS RO RR SC SP SE TO";
        let codes: Vec<&str> = listed.split(' ').collect();
        assert_eq!(codes.len(), 27);
        for code in &codes {
            let uf = Uf::parse(code).unwrap();
            assert_eq!(uf.as_str(), *code);
            assert_eq!(Uf::parse(&code.to_lowercase()).unwrap(), uf);
        }
        let mut all: Vec<&str> = Uf::ALL.iter().map(|u| u.as_str()).collect();
        all.sort_unstable();
        let mut sorted = codes.clone();
        sorted.sort_unstable();
        assert_eq!(all, sorted);
    }

    #[test]
    fn anything_else_is_refused() {
        for input in ["", "S", "SPP", "XX", "BR", "São Paulo", "S P", "FN"] {
            assert_eq!(Uf::parse(input), Err(FieldIssue::Uf), "{input:?}");
        }
    }

    #[test]
    fn names_are_in_portuguese() {
        assert_eq!(Uf::Sp.name(), "São Paulo");
        assert_eq!(Uf::Df.name(), "Distrito Federal");
    }

    #[test]
    fn serde_uses_the_abbreviation() {
        let uf: Uf = serde_json::from_str("\"rj\"").unwrap();
        assert_eq!(uf, Uf::Rj);
        assert_eq!(serde_json::to_string(&uf).unwrap(), "\"RJ\"");
        assert!(serde_json::from_str::<Uf>("\"XX\"").is_err());
    }
}
