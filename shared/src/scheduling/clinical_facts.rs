//! Dated clinical facts of a patient (`patient_clinical_facts`): conditions, medications and
//! allergies with the dates they started and ended, recorded by clinicians, read by the
//! contraindication check. The record's own lists (`patients.conditions_enc`, …) cannot say
//! *when* isotretinoin was stopped or chemotherapy ended; washouts need exactly that.
//!
//! The description is encrypted like the record's clinical columns (AES-256-GCM, associated
//! data binding table, column, row and clinic) and never logged. Every write and every read by a
//! person is audited; the check itself decrypts without a separate event (the check records its
//! own, with ids only).

use chrono::SubsecRound;
use chrono::{DateTime, NaiveDate, Utc};
use serde_json::json;
use uuid::Uuid;

use super::clinical_repo::{self, FactRow};
use super::contraindications::TextFact;
use crate::audit::{self, Event, Outcome, Risk};
use crate::crypto::{FieldCipher, Place};
use crate::db::Tx;
use crate::error::{ApiError, Msg};
use crate::tenancy::Actor;

const TABLE: &str = "patient_clinical_facts";
const COLUMN: &str = "description_enc";

/// Longest description accepted (a line in a medical history, not a document).
pub const MAX_DESCRIPTION: usize = 500;

/// What a fact is; also names the rule `sources` it is matched against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FactKind {
    Condition,
    Medication,
    Allergy,
}

impl FactKind {
    /// Parses the API and database spelling.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "condition" => Some(Self::Condition),
            "medication" => Some(Self::Medication),
            "allergy" => Some(Self::Allergy),
            _ => None,
        }
    }

    /// The API and database spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Condition => "condition",
            Self::Medication => "medication",
            Self::Allergy => "allergy",
        }
    }

    /// The rule `sources` word this kind is matched as.
    pub fn source(self) -> &'static str {
        match self {
            Self::Condition => "conditions",
            Self::Medication => "medications",
            Self::Allergy => "allergies",
        }
    }
}

/// A validated new fact (built only by [`NewFact::parse`]).
#[derive(Debug, Clone)]
pub struct NewFact {
    pub patient_id: Uuid,
    pub kind: FactKind,
    pub description: String,
    pub condition_code: Option<String>,
    pub started_on: Option<NaiveDate>,
    pub ended_on: Option<NaiveDate>,
}

impl NewFact {
    /// Checks the shape of a fact: known kind, 1–500 characters of text, an end not before the
    /// start. The condition code is checked against the rule set by [`record`].
    pub fn parse(
        patient_id: Uuid,
        kind: &str,
        description: &str,
        condition_code: Option<String>,
        started_on: Option<NaiveDate>,
        ended_on: Option<NaiveDate>,
    ) -> Result<Self, ApiError> {
        let kind = FactKind::parse(kind).ok_or_else(|| {
            ApiError::field(
                "kind",
                "invalid_value",
                Msg::new(
                    "Tipo: condition, medication ou allergy.",
                    "Kind: condition, medication or allergy.",
                ),
            )
        })?;
        let description = description.trim();
        if description.is_empty() || description.chars().count() > MAX_DESCRIPTION {
            return Err(ApiError::field(
                "description",
                "invalid_length",
                Msg::new(
                    "Descrição: de 1 a 500 caracteres.",
                    "Description: 1 to 500 characters.",
                ),
            ));
        }
        // A history may start long before the clinic's calendar (1900), never absurdly far.
        for (field, d) in [("startedOn", started_on), ("endedOn", ended_on)] {
            if d.is_some_and(|d| !(1900..=2100).contains(&chrono::Datelike::year(&d))) {
                return Err(ApiError::field(
                    field,
                    "out_of_range",
                    Msg::new(
                        "Data fora do intervalo aceito (anos 1900 a 2100).",
                        "Date outside the accepted range (years 1900 to 2100).",
                    ),
                ));
            }
        }
        if let (Some(s), Some(e)) = (started_on, ended_on)
            && e < s
        {
            return Err(ApiError::field(
                "endedOn",
                "invalid_range",
                Msg::new(
                    "O término não pode ser anterior ao início.",
                    "The end cannot be before the start.",
                ),
            ));
        }
        Ok(Self {
            patient_id,
            kind,
            description: description.to_owned(),
            condition_code,
            started_on,
            ended_on,
        })
    }
}

/// A fact with its description decrypted (for a clinician's eyes, in memory for the request).
#[derive(Debug, Clone)]
pub struct Fact {
    pub row: FactRow,
    pub description: String,
}

impl Fact {
    /// The typed response.
    pub fn view(&self) -> super::views::ClinicalFactView {
        super::views::ClinicalFactView {
            id: self.row.id,
            patient_id: self.row.patient_id,
            kind: self.row.kind.clone(),
            description: self.description.clone(),
            condition_code: self.row.condition_code.clone(),
            started_on: self.row.started_on,
            ended_on: self.row.ended_on,
            recorded_by: self.row.recorded_by,
            created_at: self.row.created_at,
        }
    }
}

fn place(id: Uuid, clinic_id: Uuid) -> Place {
    Place::new(TABLE, COLUMN, id, clinic_id)
}

fn decrypt(cipher: &FieldCipher, row: &FactRow) -> Result<String, ApiError> {
    cipher
        .decrypt_string(&place(row.id, row.clinic_id), &row.description_enc)
        .map(|s| s.as_str().to_owned())
        .map_err(ApiError::internal)
}

/// The patient must be in the caller's clinic and not restricted (LGPD blocking): 404
/// otherwise, like every other patient reference.
async fn usable_patient(tx: &Tx, actor: &Actor, patient_id: Uuid) -> Result<(), ApiError> {
    match super::appointment_repo::patient_state(tx, actor.clinic_id, patient_id).await? {
        Some(false) => Ok(()),
        _ => Err(ApiError::NotFound),
    }
}

/// Records a fact (clinicians and admins; RLS enforces it too), audited with ids only.
pub async fn record(
    tx: &Tx,
    cipher: &FieldCipher,
    actor: &Actor,
    input: &NewFact,
) -> Result<Fact, ApiError> {
    usable_patient(tx, actor, input.patient_id).await?;
    if let Some(code) = &input.condition_code
        && !clinical_repo::condition_exists(tx, code).await?
    {
        return Err(ApiError::field(
            "conditionCode",
            "not_found",
            Msg::new(
                "Código de condição desconhecido (veja contraindication_conditions).",
                "Unknown condition code (see contraindication_conditions).",
            ),
        ));
    }
    let id = Uuid::new_v4();
    let description_enc = cipher
        .encrypt_str(&place(id, actor.clinic_id), &input.description)
        .map_err(ApiError::internal)?;
    let now: DateTime<Utc> = Utc::now().trunc_subsecs(6); // PostgreSQL keeps microseconds
    let row = FactRow {
        id,
        clinic_id: actor.clinic_id,
        patient_id: input.patient_id,
        kind: input.kind.as_str().to_owned(),
        condition_code: input.condition_code.clone(),
        description_enc,
        started_on: input.started_on,
        ended_on: input.ended_on,
        recorded_by: actor.user_id,
        created_at: now,
    };
    clinical_repo::insert_fact(tx, &row).await?;
    audit::record(
        tx,
        actor,
        Event {
            patient_id: Some(input.patient_id),
            action: "clinical_fact.create",
            resource_type: "patient_clinical_fact",
            resource_id: Some(id),
            outcome: Outcome::Success,
            risk: Risk::High,
            details: json!({ "kind": row.kind, "conditionCode": row.condition_code }),
        },
    )
    .await?;
    Ok(Fact {
        row,
        description: input.description.clone(),
    })
}

/// Every fact of a patient, decrypted, newest first (an audited read of clinical data).
pub async fn list(
    tx: &Tx,
    cipher: &FieldCipher,
    actor: &Actor,
    patient_id: Uuid,
) -> Result<Vec<Fact>, ApiError> {
    usable_patient(tx, actor, patient_id).await?;
    let rows = clinical_repo::patient_facts(tx, actor.clinic_id, patient_id).await?;
    let facts = rows
        .into_iter()
        .map(|row| {
            let description = decrypt(cipher, &row)?;
            Ok(Fact { row, description })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    audit::record(
        tx,
        actor,
        Event {
            patient_id: Some(patient_id),
            action: "clinical_fact.list",
            resource_type: "patient",
            resource_id: Some(patient_id),
            outcome: Outcome::Success,
            risk: Risk::High,
            details: json!({ "count": facts.len() }),
        },
    )
    .await?;
    Ok(facts)
}

/// The facts as the contraindication check reads them (text normalised, dates kept). Whatever
/// the caller's role: a booking by staff must be checked too; only findings leave the check.
pub async fn for_check(
    tx: &Tx,
    cipher: &FieldCipher,
    actor: &Actor,
    patient_id: Uuid,
) -> Result<Vec<TextFact>, ApiError> {
    clinical_repo::patient_facts(tx, actor.clinic_id, patient_id)
        .await?
        .iter()
        .map(|row| {
            let source = FactKind::parse(&row.kind)
                .map(FactKind::source)
                .unwrap_or("conditions");
            let mut t = TextFact::ongoing(source, &decrypt(cipher, row)?);
            t.code = row.condition_code.clone();
            t.started_on = row.started_on;
            t.ended_on = row.ended_on;
            Ok(t)
        })
        .collect()
}

/// Key rotation: re-seals, with the current key, up to `limit` fact rows whose description is
/// sealed with an older key. Service path only (`service_role`, like the patients' batch);
/// returns how many rows were rewritten (0 when done).
pub async fn reencrypt_batch(tx: &Tx, cipher: &FieldCipher, limit: i64) -> Result<u64, ApiError> {
    let current = i32::try_from(cipher.ring().current_key_id()).map_err(ApiError::internal)?;
    let rows = clinical_repo::facts_sealed_with_other_key(tx, current, limit).await?;
    let mut done = 0;
    for (id, clinic_id, envelope) in rows {
        if let Some(sealed) = cipher
            .reseal(&place(id, clinic_id), &envelope)
            .map_err(ApiError::internal)?
        {
            done += clinical_repo::update_fact_description(tx, id, &sealed).await?;
        }
    }
    Ok(done)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Option<NaiveDate> {
        s.parse().ok()
    }

    #[test]
    fn parse_accepts_a_dated_medication() {
        let f = NewFact::parse(
            Uuid::nil(),
            "medication",
            "  Isotretinoína 20 mg ",
            None,
            d("2030-01-01"),
            d("2030-03-01"),
        );
        assert!(matches!(f, Ok(ref f) if f.description == "Isotretinoína 20 mg"));
    }

    #[test]
    fn parse_rejects_unknown_kind_empty_text_and_end_before_start() {
        assert!(NewFact::parse(Uuid::nil(), "diet", "x", None, None, None).is_err());
        assert!(NewFact::parse(Uuid::nil(), "allergy", "   ", None, None, None).is_err());
        let long = "a".repeat(MAX_DESCRIPTION + 1);
        assert!(NewFact::parse(Uuid::nil(), "allergy", &long, None, None, None).is_err());
        assert!(
            NewFact::parse(
                Uuid::nil(),
                "condition",
                "x",
                None,
                d("2030-02-01"),
                d("2030-01-01")
            )
            .is_err()
        );
    }
}
