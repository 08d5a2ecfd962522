//! Patient and consent input, parsed at the edge into domain values.
//!
//! Request bodies deserialize into `*Input` structs that refuse unknown fields (so `clinicId`,
//! `id`, `version` and timestamps cannot be mass-assigned: 400), then [`PatientInput::validate`]
//! turns every field into its domain type and reports **all** invalid fields at once (422).

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Deserializer, Serialize};

use crate::br::{BirthDate, Cep, Cpf, Email, PhoneBr, Uf};
use crate::error::{ApiError, FieldError, Msg};

/// A PATCH field: absent (keep), `null` (clear) or a value (set).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Patch<T> {
    /// Not in the body: unchanged.
    #[default]
    Missing,
    /// `null`: cleared.
    Null,
    /// A new value.
    Value(T),
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Patch<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(match Option::<T>::deserialize(d)? {
            None => Patch::Null,
            Some(v) => Patch::Value(v),
        })
    }
}

/// Serialized as the JSON it came from (`Missing` and `Null` both as `null`); only the API's
/// schema generator needs this.
impl<T: Serialize> Serialize for Patch<T> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Patch::Value(v) => v.serialize(s),
            Patch::Missing | Patch::Null => s.serialize_none(),
        }
    }
}

impl<T> ts_rs::IsOption for Patch<T> {
    type Inner = T;
}

/// In TypeScript a [`Patch`] is an optional, nullable field (`field?: T | null`).
impl<T: ts_rs::TS> ts_rs::TS for Patch<T> {
    type WithoutGenerics = Self;
    type OptionInnerType = T;
    const IS_OPTION: bool = true;

    fn name(cfg: &ts_rs::Config) -> String {
        <Option<T> as ts_rs::TS>::name(cfg)
    }

    fn inline(cfg: &ts_rs::Config) -> String {
        <Option<T> as ts_rs::TS>::inline(cfg)
    }

    fn visit_dependencies(v: &mut impl ts_rs::TypeVisitor)
    where
        Self: 'static,
    {
        <T as ts_rs::TS>::visit_dependencies(v);
    }

    fn visit_generics(v: &mut impl ts_rs::TypeVisitor)
    where
        Self: 'static,
    {
        <T as ts_rs::TS>::visit_generics(v);
        v.visit::<T>();
    }
}

impl<T> Patch<T> {
    /// Whether the body mentioned this field.
    pub fn is_present(&self) -> bool {
        !matches!(self, Patch::Missing)
    }
}

/// Postal address (Brazilian format).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
pub struct AddressInput {
    pub street: String,
    pub number: Option<String>,
    pub complement: Option<String>,
    pub district: Option<String>,
    pub city: String,
    pub uf: String,
    pub cep: String,
}

/// Emergency contact.
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Eq, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
pub struct EmergencyContactInput {
    pub name: String,
    pub phone: String,
    pub relationship: Option<String>,
}

/// A consent given at intake or later.
#[derive(Debug, Clone, Deserialize, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
pub struct ConsentInput {
    pub purpose: String,
    pub legal_basis: String,
    pub text_version: String,
    pub text_sha256: String,
    pub collection_method: String,
    pub evidence_reference: Option<String>,
    pub given_at: Option<DateTime<Utc>>,
    pub expires_at: Option<DateTime<Utc>>,
}

/// Body of `POST /v1/patients` and `PATCH /v1/patients/{id}`. For PATCH every field is a
/// [`Patch`]; for POST, `Missing` and `Null` mean the same (not given).
#[derive(Debug, Clone, Default, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields, default)]
#[ts(rename_all = "camelCase", optional_fields = nullable)]
pub struct PatientInput {
    #[schema(value_type = Option<String>)]
    pub full_name: Patch<String>,
    #[schema(value_type = Option<String>)]
    pub social_name: Patch<String>,
    #[schema(value_type = Option<String>)]
    pub birth_date: Patch<String>,
    #[schema(value_type = Option<String>)]
    pub sex: Patch<String>,
    #[schema(value_type = Option<String>)]
    pub gender_identity: Patch<String>,
    #[schema(value_type = Option<String>)]
    pub cpf: Patch<String>,
    #[schema(value_type = Option<String>)]
    pub email: Patch<String>,
    #[schema(value_type = Option<String>)]
    pub phone: Patch<String>,
    #[schema(value_type = Option<AddressInput>)]
    pub address: Patch<AddressInput>,
    #[schema(value_type = Option<EmergencyContactInput>)]
    pub emergency_contact: Patch<EmergencyContactInput>,
    #[schema(value_type = Option<Vec<String>>)]
    pub allergies: Patch<Vec<String>>,
    #[schema(value_type = Option<Vec<String>>)]
    pub current_medications: Patch<Vec<String>>,
    #[schema(value_type = Option<Vec<String>>)]
    pub conditions: Patch<Vec<String>>,
    #[schema(value_type = Option<String>)]
    pub clinical_notes: Patch<String>,
    #[schema(value_type = Option<String>)]
    pub pregnancy_status: Patch<String>,
    #[schema(value_type = Option<i16>)]
    pub fitzpatrick_skin_type: Patch<i16>,
    #[schema(value_type = Option<String>)]
    pub preferred_contact_channel: Patch<String>,
    #[schema(value_type = Option<String>)]
    pub language: Patch<String>,
    /// Intake consents recorded in the same transaction (POST only).
    #[schema(value_type = Option<Vec<ConsentInput>>)]
    pub consents: Patch<Vec<ConsentInput>>,
}

/// Validated address.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct Address {
    pub street: String,
    pub number: Option<String>,
    pub complement: Option<String>,
    pub district: Option<String>,
    pub city: String,
    pub uf: String,
    pub cep: String,
}

/// Validated emergency contact (phone in E.164).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct EmergencyContact {
    pub name: String,
    pub phone: String,
    pub relationship: Option<String>,
}

/// Validated changes, ready for the repository. `None` = unchanged; `Some(None)` = cleared.
#[derive(Debug, Clone, Default)]
pub struct PatientChanges {
    pub full_name: Option<String>,
    pub social_name: Option<Option<String>>,
    pub birth_date: Option<NaiveDate>,
    pub sex: Option<Option<String>>,
    pub gender_identity: Option<Option<String>>,
    pub cpf: Option<Option<Cpf>>,
    pub email: Option<Option<Email>>,
    pub phone: Option<Option<PhoneBr>>,
    pub address: Option<Option<Address>>,
    pub emergency_contact: Option<Option<EmergencyContact>>,
    pub allergies: Option<Option<Vec<String>>>,
    pub current_medications: Option<Option<Vec<String>>>,
    pub conditions: Option<Option<Vec<String>>>,
    pub clinical_notes: Option<Option<String>>,
    pub pregnancy_status: Option<Option<String>>,
    pub fitzpatrick_skin_type: Option<Option<i16>>,
    pub preferred_contact_channel: Option<Option<String>>,
    pub language: Option<String>,
}

impl PatientChanges {
    /// Names (API spelling) of the fields this change touches — for the audit trail, which
    /// records which fields changed, never their values.
    pub fn field_names(&self) -> Vec<&'static str> {
        let mut out = Vec::new();
        macro_rules! touched {
            ($($f:ident => $name:literal),*) => {$( if self.$f.is_some() { out.push($name); } )*};
        }
        touched!(full_name => "fullName", social_name => "socialName", birth_date => "birthDate", sex => "sex",
            gender_identity => "genderIdentity", cpf => "cpf", email => "email", phone => "phone",
            address => "address", emergency_contact => "emergencyContact", allergies => "allergies",
            current_medications => "currentMedications", conditions => "conditions",
            clinical_notes => "clinicalNotes", pregnancy_status => "pregnancyStatus",
            fitzpatrick_skin_type => "fitzpatrickSkinType",
            preferred_contact_channel => "preferredContactChannel", language => "language");
        out
    }

    /// Whether clinical fields change (staff may not; `last_clinical_entry_at` moves).
    pub fn touches_clinical(&self) -> bool {
        self.allergies.is_some()
            || self.current_medications.is_some()
            || self.conditions.is_some()
            || self.clinical_notes.is_some()
            || self.pregnancy_status.is_some()
            || self.fitzpatrick_skin_type.is_some()
    }
}

const SEXES: &[&str] = &["female", "male", "intersex", "unknown"];
const PREGNANCY: &[&str] = &[
    "not_pregnant",
    "pregnant",
    "breastfeeding",
    "not_applicable",
    "unknown",
];
const CHANNELS: &[&str] = &["email", "phone", "sms", "whatsapp"];
const LANGUAGES: &[&str] = &["pt-BR", "en", "es"];

/// Collects field errors while validating.
#[derive(Default)]
pub(crate) struct Errors(Vec<FieldError>);

impl Errors {
    pub(crate) fn push(
        &mut self,
        field: &str,
        code: &'static str,
        pt: &'static str,
        en: &'static str,
    ) {
        self.0.push(FieldError::new(field, code, Msg::new(pt, en)));
    }

    pub(crate) fn issue(&mut self, field: &str, issue: crate::br::FieldIssue) {
        self.0.push(issue.into_field_error(field));
    }

    pub(crate) fn finish(self) -> Result<(), ApiError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(ApiError::Validation(self.0))
        }
    }
}

fn text(errors: &mut Errors, field: &str, value: &str, max: usize) -> Option<String> {
    let v = value.trim();
    if v.is_empty() {
        errors.push(
            field,
            "required",
            "Não pode ficar em branco.",
            "Must not be blank.",
        );
        None
    } else if v.chars().count() > max {
        errors.push(field, "too_long", "Texto longo demais.", "Text too long.");
        None
    } else if v.chars().any(|c| c.is_control() && c != '\n') {
        errors.push(
            field,
            "invalid_characters",
            "Contém caracteres de controle.",
            "Contains control characters.",
        );
        None
    } else {
        Some(v.to_owned())
    }
}

fn one_of(errors: &mut Errors, field: &str, value: &str, allowed: &[&str]) -> Option<String> {
    if allowed.contains(&value) {
        Some(value.to_owned())
    } else {
        errors.push(
            field,
            "invalid_value",
            "Valor não permitido.",
            "Value not allowed.",
        );
        None
    }
}

fn list(errors: &mut Errors, field: &str, items: &[String]) -> Option<Vec<String>> {
    if items.len() > 50 {
        errors.push(
            field,
            "too_many_items",
            "No máximo 50 itens.",
            "At most 50 items.",
        );
        return None;
    }
    let mut out = Vec::with_capacity(items.len());
    for (i, item) in items.iter().enumerate() {
        out.push(text(errors, &format!("{field}[{i}]"), item, 200)?);
    }
    Some(out)
}

/// Applies `f` to a patch: Missing → None, Null → Some(None), Value → Some(f(v)) (None on error).
fn opt<T, U>(patch: &Patch<T>, f: impl FnOnce(&T) -> Option<U>) -> Option<Option<U>> {
    match patch {
        Patch::Missing => None,
        Patch::Null => Some(None),
        Patch::Value(v) => f(v).map(Some),
    }
}

impl PatientInput {
    /// Validates every field; `today` bounds the birth date. On a create, `fullName` and
    /// `birthDate` are required.
    pub fn validate(&self, creating: bool, today: NaiveDate) -> Result<PatientChanges, ApiError> {
        let mut e = Errors::default();
        let mut c = PatientChanges::default();

        match &self.full_name {
            Patch::Value(v) => c.full_name = text(&mut e, "fullName", v, 200),
            Patch::Null => e.push(
                "fullName",
                "required",
                "Campo obrigatório.",
                "Required field.",
            ),
            Patch::Missing if creating => e.push(
                "fullName",
                "required",
                "Campo obrigatório.",
                "Required field.",
            ),
            Patch::Missing => {}
        }
        match &self.birth_date {
            Patch::Value(v) => match BirthDate::parse_on(v, today) {
                Ok(d) => c.birth_date = Some(d.date()),
                Err(issue) => e.issue("birthDate", issue),
            },
            Patch::Null => e.push(
                "birthDate",
                "required",
                "Campo obrigatório.",
                "Required field.",
            ),
            Patch::Missing if creating => e.push(
                "birthDate",
                "required",
                "Campo obrigatório.",
                "Required field.",
            ),
            Patch::Missing => {}
        }
        c.social_name = opt(&self.social_name, |v| text(&mut e, "socialName", v, 200));
        c.sex = opt(&self.sex, |v| one_of(&mut e, "sex", v, SEXES));
        c.gender_identity = opt(&self.gender_identity, |v| {
            text(&mut e, "genderIdentity", v, 60)
        });
        c.cpf = opt(&self.cpf, |v| {
            Cpf::parse(v).map_err(|i| e.issue("cpf", i)).ok()
        });
        c.email = opt(&self.email, |v| {
            Email::parse(v).map_err(|i| e.issue("email", i)).ok()
        });
        c.phone = opt(&self.phone, |v| {
            PhoneBr::parse(v).map_err(|i| e.issue("phone", i)).ok()
        });
        c.address = opt(&self.address, |a| {
            let street = text(&mut e, "address.street", &a.street, 200);
            let city = text(&mut e, "address.city", &a.city, 120);
            let uf = Uf::parse(&a.uf).map_err(|i| e.issue("address.uf", i)).ok();
            let cep = Cep::parse(&a.cep)
                .map_err(|i| e.issue("address.cep", i))
                .ok();
            let number = a
                .number
                .as_deref()
                .and_then(|n| text(&mut e, "address.number", n, 20));
            let complement = a
                .complement
                .as_deref()
                .and_then(|n| text(&mut e, "address.complement", n, 120));
            let district = a
                .district
                .as_deref()
                .and_then(|n| text(&mut e, "address.district", n, 120));
            Some(Address {
                street: street?,
                number,
                complement,
                district,
                city: city?,
                uf: uf?.to_string(),
                cep: cep?.to_string(),
            })
        });
        c.emergency_contact = opt(&self.emergency_contact, |ec| {
            let name = text(&mut e, "emergencyContact.name", &ec.name, 200);
            let phone = PhoneBr::parse(&ec.phone)
                .map_err(|i| e.issue("emergencyContact.phone", i))
                .ok();
            let relationship = ec
                .relationship
                .as_deref()
                .and_then(|r| text(&mut e, "emergencyContact.relationship", r, 60));
            Some(EmergencyContact {
                name: name?,
                phone: phone?.e164().to_owned(),
                relationship,
            })
        });
        c.allergies = opt(&self.allergies, |v| list(&mut e, "allergies", v));
        c.current_medications = opt(&self.current_medications, |v| {
            list(&mut e, "currentMedications", v)
        });
        c.conditions = opt(&self.conditions, |v| list(&mut e, "conditions", v));
        c.clinical_notes = opt(&self.clinical_notes, |v| {
            text(&mut e, "clinicalNotes", v, 10_000)
        });
        c.pregnancy_status = opt(&self.pregnancy_status, |v| {
            one_of(&mut e, "pregnancyStatus", v, PREGNANCY)
        });
        c.fitzpatrick_skin_type = opt(&self.fitzpatrick_skin_type, |v| {
            if (1..=6).contains(v) {
                Some(*v)
            } else {
                e.push(
                    "fitzpatrickSkinType",
                    "out_of_range",
                    "Deve estar entre 1 e 6.",
                    "Must be between 1 and 6.",
                );
                None
            }
        });
        c.preferred_contact_channel = opt(&self.preferred_contact_channel, |v| {
            one_of(&mut e, "preferredContactChannel", v, CHANNELS)
        });
        match &self.language {
            Patch::Value(v) => c.language = one_of(&mut e, "language", v, LANGUAGES),
            Patch::Null => e.push(
                "language",
                "required",
                "Campo obrigatório.",
                "Required field.",
            ),
            Patch::Missing => {}
        }
        if !creating && self.consents.is_present() {
            e.push(
                "consents",
                "unknown_field",
                "Use o endpoint de consentimentos.",
                "Use the consents endpoint.",
            );
        }
        e.finish()?;
        Ok(c)
    }
}

/// Purposes a consent can cover.
pub const PURPOSES: &[&str] = &[
    "treatment",
    "data_processing",
    "marketing",
    "photo_use",
    "ai_analysis",
    "telemedicine",
];
/// LGPD legal bases (Art. 7 for personal data, Art. 11 for health data).
pub const LEGAL_BASES: &[&str] = &[
    "art7_i_consent",
    "art7_ii_legal_obligation",
    "art7_v_contract",
    "art7_viii_health_protection",
    "art7_ix_legitimate_interest",
    "art11_i_specific_consent",
    "art11_ii_a_legal_obligation",
    "art11_ii_d_regular_exercise_of_rights",
    "art11_ii_f_health_protection",
];
/// How a consent was collected.
pub const COLLECTION_METHODS: &[&str] = &[
    "written_signature",
    "digital_signature",
    "electronic_acceptance",
    "verbal_recorded",
];

/// A validated consent.
#[derive(Debug, Clone)]
pub struct NewConsent {
    pub purpose: String,
    pub legal_basis: String,
    pub text_version: String,
    pub text_sha256: String,
    pub collection_method: String,
    pub evidence_reference: Option<String>,
    pub given_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
}

impl ConsentInput {
    /// Validates a consent; `prefix` names its place in the body (`consents[0].`).
    pub(crate) fn validate(
        &self,
        prefix: &str,
        now: DateTime<Utc>,
        e: &mut Errors,
    ) -> Option<NewConsent> {
        let f = |name: &str| format!("{prefix}{name}");
        let purpose = one_of(e, &f("purpose"), &self.purpose, PURPOSES);
        let legal_basis = one_of(e, &f("legalBasis"), &self.legal_basis, LEGAL_BASES);
        let collection_method = one_of(
            e,
            &f("collectionMethod"),
            &self.collection_method,
            COLLECTION_METHODS,
        );
        let text_version = text(e, &f("textVersion"), &self.text_version, 40);
        let sha_ok = self.text_sha256.len() == 64
            && self
                .text_sha256
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !sha_ok {
            e.push(
                &f("textSha256"),
                "invalid_sha256",
                "SHA-256 em hexadecimal minúsculo (64 caracteres).",
                "Lower-case hex SHA-256 (64 characters).",
            );
        }
        let evidence_reference = self
            .evidence_reference
            .as_deref()
            .and_then(|r| text(e, &f("evidenceReference"), r, 200));
        let given_at = self.given_at.unwrap_or(now);
        if given_at > now + chrono::Duration::minutes(5) {
            e.push(
                &f("givenAt"),
                "in_future",
                "Não pode estar no futuro.",
                "Must not be in the future.",
            );
        }
        if let Some(exp) = self.expires_at
            && exp <= given_at
        {
            e.push(
                &f("expiresAt"),
                "before_given_at",
                "Deve ser posterior a givenAt.",
                "Must be after givenAt.",
            );
        }
        // Sensitive (health) purposes need an Art. 11 basis.
        if let (Some(p), Some(b)) = (&purpose, &legal_basis) {
            let health = matches!(
                p.as_str(),
                "treatment" | "ai_analysis" | "telemedicine" | "photo_use"
            );
            if health && !b.starts_with("art11_") {
                e.push(
                    &f("legalBasis"),
                    "art11_required",
                    "Dados de saúde exigem base legal do Art. 11 da LGPD.",
                    "Health data needs an LGPD Art. 11 legal basis.",
                );
                return None;
            }
        }
        Some(NewConsent {
            purpose: purpose?,
            legal_basis: legal_basis?,
            text_version: text_version?,
            text_sha256: sha_ok.then(|| self.text_sha256.clone())?,
            collection_method: collection_method?,
            evidence_reference,
            given_at,
            expires_at: self.expires_at,
        })
    }
}

/// Lower-case, accent-free form of a name for prefix search (Portuguese and Spanish letters).
pub fn name_search_key(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut last_space = true;
    for ch in name.chars().flat_map(char::to_lowercase) {
        let base = match ch {
            'á' | 'à' | 'â' | 'ã' | 'ä' | 'å' => 'a',
            'é' | 'è' | 'ê' | 'ë' => 'e',
            'í' | 'ì' | 'î' | 'ï' => 'i',
            'ó' | 'ò' | 'ô' | 'õ' | 'ö' => 'o',
            'ú' | 'ù' | 'û' | 'ü' => 'u',
            'ç' => 'c',
            'ñ' => 'n',
            'ý' | 'ÿ' => 'y',
            c if c.is_whitespace() => ' ',
            c => c,
        };
        if base == ' ' {
            if !last_space {
                out.push(' ');
            }
            last_space = true;
        } else {
            out.push(base);
            last_space = false;
        }
    }
    out.trim_end().to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn today() -> NaiveDate {
        NaiveDate::from_ymd_opt(2026, 12, 3).unwrap()
    }

    #[test]
    fn search_key_folds_case_and_accents() {
        assert_eq!(name_search_key("  Conceição   Araújo "), "conceicao araujo");
        assert_eq!(name_search_key("JOÃO"), "joao");
    }

    #[test]
    fn a_create_reports_every_invalid_field_at_once() {
        let input: PatientInput = serde_json::from_value(serde_json::json!({
            "cpf": "111.444.777-36", "email": "nope", "phone": "123", "fitzpatrickSkinType": 9
        }))
        .unwrap();
        let Err(ApiError::Validation(fields)) = input.validate(true, today()) else {
            panic!("expected 422")
        };
        let names: Vec<&str> = fields.iter().map(|f| f.field.as_str()).collect();
        for f in [
            "fullName",
            "birthDate",
            "cpf",
            "email",
            "phone",
            "fitzpatrickSkinType",
        ] {
            assert!(names.contains(&f), "{f} not reported in {names:?}");
        }
    }

    #[test]
    fn patch_distinguishes_absent_null_and_value() {
        let input: PatientInput = serde_json::from_value(
            serde_json::json!({ "socialName": null, "phone": "(11) 98765-4321" }),
        )
        .unwrap();
        let c = input.validate(false, today()).unwrap();
        assert_eq!(c.social_name, Some(None));
        assert!(c.full_name.is_none());
        assert_eq!(c.phone.clone().unwrap().unwrap().e164(), "+5511987654321");
        assert_eq!(c.field_names(), vec!["socialName", "phone"]);
    }

    #[test]
    fn read_only_and_unknown_fields_are_refused() {
        for field in ["clinicId", "id", "version", "createdAt", "isAdmin"] {
            let r: Result<PatientInput, _> =
                serde_json::from_value(serde_json::json!({ field: "x" }));
            assert!(r.is_err(), "{field} accepted");
        }
    }
}
