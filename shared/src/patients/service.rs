//! Patient rules: encryption at the boundary of the repository, CPF uniqueness through the
//! blind index, optimistic concurrency, LGPD restriction, role-shaped views, and an audit event
//! for every read and write — all inside the request's one transaction.

use chrono::SubsecRound;
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use serde_json::json;
use uuid::Uuid;

use super::model::{
    Address, EmergencyContact, Errors, NewConsent, PatientChanges, PatientInput, name_search_key,
};
use super::repo::{self, ConsentRow, ListFilter, PatientRow};
use crate::audit::{self, Event, Outcome, Risk};
use crate::br::Cpf;
use crate::crypto::{BlindIndex, FieldCipher, Place};
use crate::db::Tx;
use crate::error::{ApiError, Msg};
use crate::tenancy::{Action, Actor, Role, allowed};

const TABLE: &str = "patients";

/// The decrypted record, in memory only for the duration of a request.
#[derive(Debug, Clone)]
pub struct Patient {
    pub row: PatientRow,
    pub cpf: Option<Cpf>,
    pub allergies: Option<Vec<String>>,
    pub current_medications: Option<Vec<String>>,
    pub conditions: Option<Vec<String>>,
    pub clinical_notes: Option<String>,
}

/// Crypto handles the service needs.
#[derive(Clone, Copy)]
pub struct Keys<'a> {
    pub cipher: &'a FieldCipher,
    pub index: &'a BlindIndex,
}

fn place(row: &PatientRow, column: &'static str) -> Place {
    Place::new(TABLE, column, row.id, row.clinic_id)
}

fn seal_json<T: Serialize>(
    keys: Keys<'_>,
    row: &PatientRow,
    column: &'static str,
    value: &Option<T>,
) -> Result<Option<Vec<u8>>, ApiError> {
    value
        .as_ref()
        .map(|v| {
            let bytes = serde_json::to_vec(v).map_err(ApiError::internal)?;
            keys.cipher
                .encrypt(&place(row, column), &bytes)
                .map_err(ApiError::internal)
        })
        .transpose()
}

fn open_json<T: serde::de::DeserializeOwned>(
    keys: Keys<'_>,
    row: &PatientRow,
    column: &'static str,
    value: &Option<Vec<u8>>,
) -> Result<Option<T>, ApiError> {
    let Some(envelope) = value else {
        return Ok(None);
    };
    let plain = keys
        .cipher
        .decrypt(&place(row, column), envelope)
        .map_err(ApiError::internal)?;
    serde_json::from_slice(&plain)
        .map(Some)
        .map_err(ApiError::internal)
}

/// Decrypts what `role` may see (staff never causes clinical columns to be decrypted).
fn open(keys: Keys<'_>, row: PatientRow, role: Role) -> Result<Patient, ApiError> {
    let clinical = allowed(role, Action::ClinicalRead) || role == Role::Patient;
    let cpf: Option<String> = open_json(keys, &row, "cpf_enc", &row.cpf_enc)?;
    let cpf = cpf
        .map(|c| Cpf::parse(&c))
        .transpose()
        .map_err(ApiError::internal)?;
    let (allergies, current_medications, conditions, clinical_notes) = if clinical {
        (
            open_json(keys, &row, "allergies_enc", &row.allergies_enc)?,
            open_json(keys, &row, "medications_enc", &row.medications_enc)?,
            open_json(keys, &row, "conditions_enc", &row.conditions_enc)?,
            open_json(keys, &row, "clinical_notes_enc", &row.clinical_notes_enc)?,
        )
    } else {
        (None, None, None, None)
    };
    Ok(Patient {
        row,
        cpf,
        allergies,
        current_medications,
        conditions,
        clinical_notes,
    })
}

/// Applies validated changes to a decrypted record and re-seals what changed.
fn apply(
    keys: Keys<'_>,
    p: &mut Patient,
    c: &PatientChanges,
    now: DateTime<Utc>,
) -> Result<(), ApiError> {
    let r = &mut p.row;
    if let Some(v) = &c.full_name {
        r.full_name = v.clone();
        r.name_search = name_search_key(v);
    }
    if let Some(v) = &c.social_name {
        r.social_name = v.clone();
    }
    if let Some(v) = c.birth_date {
        r.birth_date = v;
    }
    if let Some(v) = &c.sex {
        r.sex = v.clone();
    }
    if let Some(v) = &c.gender_identity {
        r.gender_identity = v.clone();
    }
    if let Some(v) = &c.email {
        r.email = v.as_ref().map(|e| e.as_str().to_owned());
    }
    if let Some(v) = &c.phone {
        r.phone = v.as_ref().map(|p| p.e164().to_owned());
    }
    if let Some(v) = &c.address {
        r.address = v
            .as_ref()
            .map(serde_json::to_value)
            .transpose()
            .map_err(ApiError::internal)?;
    }
    if let Some(v) = &c.emergency_contact {
        r.emergency_contact = v
            .as_ref()
            .map(serde_json::to_value)
            .transpose()
            .map_err(ApiError::internal)?;
    }
    if let Some(v) = &c.pregnancy_status {
        r.pregnancy_status = v.clone();
    }
    if let Some(v) = c.fitzpatrick_skin_type {
        r.fitzpatrick_skin_type = v;
    }
    if let Some(v) = &c.preferred_contact_channel {
        r.preferred_contact_channel = v.clone();
    }
    if let Some(v) = &c.language {
        r.language = v.clone();
    }
    if let Some(v) = &c.cpf {
        p.cpf = v.clone();
        let digits = p.cpf.as_ref().map(|c| c.digits().to_owned());
        p.row.cpf_enc = seal_json(keys, &p.row, "cpf_enc", &digits)?;
        p.row.cpf_index = p
            .cpf
            .as_ref()
            .map(|c| keys.index.cpf(c, p.row.clinic_id).to_vec());
    }
    if let Some(v) = &c.allergies {
        p.allergies = v.clone();
        p.row.allergies_enc = seal_json(keys, &p.row, "allergies_enc", &p.allergies)?;
    }
    if let Some(v) = &c.current_medications {
        p.current_medications = v.clone();
        p.row.medications_enc = seal_json(keys, &p.row, "medications_enc", &p.current_medications)?;
    }
    if let Some(v) = &c.conditions {
        p.conditions = v.clone();
        p.row.conditions_enc = seal_json(keys, &p.row, "conditions_enc", &p.conditions)?;
    }
    if let Some(v) = &c.clinical_notes {
        p.clinical_notes = v.clone();
        p.row.clinical_notes_enc =
            seal_json(keys, &p.row, "clinical_notes_enc", &p.clinical_notes)?;
    }
    if c.touches_clinical() {
        p.row.last_clinical_entry_at = Some(now);
    }
    Ok(())
}

fn cpf_conflict() -> ApiError {
    ApiError::Conflict {
        code: "cpf_already_registered",
        detail: Msg::new(
            "Já existe um paciente com este CPF nesta clínica.",
            "A patient with this CPF already exists in this clinic.",
        ),
        extra: None,
    }
}

fn is_cpf_conflict(e: &tokio_postgres::Error) -> bool {
    e.as_db_error()
        .is_some_and(|d| d.constraint() == Some(repo::CPF_UNIQUE))
}

fn restricted_conflict() -> ApiError {
    ApiError::Conflict {
        code: "patient_restricted",
        detail: Msg::new(
            "O cadastro está bloqueado (LGPD) e não pode ser usado.",
            "The record is restricted (LGPD) and cannot be used.",
        ),
        extra: None,
    }
}

fn clinical_forbidden() -> ApiError {
    ApiError::Forbidden {
        code: "clinical_fields_forbidden",
        detail: Msg::new(
            "Seu papel não pode alterar dados clínicos.",
            "Your role cannot change clinical data.",
        ),
    }
}

/// Creates a patient (and any intake consents) and audits it.
pub async fn create(
    tx: &Tx,
    keys: Keys<'_>,
    actor: &Actor,
    input: &PatientInput,
    today: NaiveDate,
) -> Result<(Patient, Vec<ConsentRow>), ApiError> {
    let changes = input.validate(true, today)?;
    let now = Utc::now().trunc_subsecs(6); // PostgreSQL keeps microseconds
    let consents = validate_consents(input, now)?;
    if changes.touches_clinical() && !allowed(actor.role, Action::ClinicalRead) {
        return Err(clinical_forbidden());
    }
    let row = PatientRow {
        id: Uuid::new_v4(),
        clinic_id: actor.clinic_id,
        full_name: String::new(),
        name_search: String::new(),
        social_name: None,
        birth_date: changes.birth_date.unwrap_or_default(),
        sex: None,
        gender_identity: None,
        cpf_enc: None,
        cpf_index: None,
        email: None,
        phone: None,
        address: None,
        emergency_contact: None,
        allergies_enc: None,
        medications_enc: None,
        conditions_enc: None,
        clinical_notes_enc: None,
        pregnancy_status: None,
        fitzpatrick_skin_type: None,
        preferred_contact_channel: None,
        language: "pt-BR".to_owned(),
        version: 1,
        created_at: now,
        updated_at: now,
        last_clinical_entry_at: None,
        restricted_at: None,
        restriction_reason: None,
    };
    let mut patient = Patient {
        row,
        cpf: None,
        allergies: None,
        current_medications: None,
        conditions: None,
        clinical_notes: None,
    };
    apply(keys, &mut patient, &changes, now)?;
    match repo::insert(tx, &patient.row, actor.user_id).await? {
        Ok(()) => {}
        Err(e) if is_cpf_conflict(&e) => return Err(cpf_conflict()),
        Err(e) => return Err(crate::db::map_pg_error(e)),
    }
    let mut saved = Vec::with_capacity(consents.len());
    for c in &consents {
        saved.push(
            repo::insert_consent(tx, actor.clinic_id, patient.row.id, c, actor.user_id).await?,
        );
    }
    audit::record(
        tx,
        actor,
        Event {
            patient_id: Some(patient.row.id),
            action: "patient.create",
            resource_type: "patient",
            resource_id: Some(patient.row.id),
            outcome: Outcome::Success,
            risk: if changes.touches_clinical() { Risk::High } else { Risk::Medium },
            details: json!({ "fields": changes.field_names(), "consents": saved.iter().map(|c| c.id).collect::<Vec<_>>() }),
        },
    )
    .await?;
    Ok((patient, saved))
}

fn validate_consents(
    input: &PatientInput,
    now: DateTime<Utc>,
) -> Result<Vec<NewConsent>, ApiError> {
    let super::model::Patch::Value(list) = &input.consents else {
        return Ok(Vec::new());
    };
    let mut e = Errors::default();
    if list.len() > 10 {
        e.push(
            "consents",
            "too_many_items",
            "No máximo 10 consentimentos.",
            "At most 10 consents.",
        );
    }
    let out: Vec<NewConsent> = list
        .iter()
        .enumerate()
        .filter_map(|(i, c)| c.validate(&format!("consents[{i}]."), now, &mut e))
        .collect();
    e.finish()?;
    Ok(out)
}

/// Loads a patient the caller may use: missing, another clinic's (RLS), or restricted for a
/// non-admin all look the same (404).
async fn load(tx: &Tx, actor: &Actor, id: Uuid, for_update: bool) -> Result<PatientRow, ApiError> {
    let row = repo::find(tx, actor.clinic_id, id, for_update)
        .await?
        .ok_or(ApiError::NotFound)?;
    if row.restricted_at.is_some() && actor.role != Role::Admin {
        return Err(ApiError::NotFound);
    }
    Ok(row)
}

/// Reads one patient, shaped later per role, and audits the read.
pub async fn get(tx: &Tx, keys: Keys<'_>, actor: &Actor, id: Uuid) -> Result<Patient, ApiError> {
    let row = load(tx, actor, id, false).await?;
    let patient = open(keys, row, actor.role)?;
    let clinical = allowed(actor.role, Action::ClinicalRead);
    audit::record(
        tx,
        actor,
        Event {
            patient_id: Some(id),
            action: "patient.read",
            resource_type: "patient",
            resource_id: Some(id),
            outcome: Outcome::Success,
            risk: if clinical { Risk::High } else { Risk::Medium },
            details: json!({ "view": view_name(actor.role) }),
        },
    )
    .await?;
    Ok(patient)
}

/// Query of the patient list, already parsed.
#[derive(Debug, Clone, Default)]
pub struct ListQuery {
    pub name_prefix: Option<String>,
    pub cpf: Option<Cpf>,
    pub birth_date: Option<NaiveDate>,
    pub updated_since: Option<DateTime<Utc>>,
    pub include_restricted: bool,
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// Lists patients (one page) and audits the listing (ids of the filters used, never values).
pub async fn list(
    tx: &Tx,
    keys: Keys<'_>,
    actor: &Actor,
    q: &ListQuery,
) -> Result<(Vec<Patient>, bool), ApiError> {
    if q.include_restricted && actor.role != Role::Admin {
        return Err(ApiError::Forbidden {
            code: "insufficient_role",
            detail: Msg::new(
                "Somente administradores veem cadastros bloqueados.",
                "Only admins see restricted records.",
            ),
        });
    }
    let filter = ListFilter {
        name_prefix: q
            .name_prefix
            .as_deref()
            .map(name_search_key)
            .filter(|p| !p.is_empty()),
        cpf_index: q
            .cpf
            .as_ref()
            .map(|c| keys.index.cpf(c, actor.clinic_id).to_vec()),
        birth_date: q.birth_date,
        updated_since: q.updated_since,
        include_restricted: q.include_restricted,
        after: q.after,
        limit: q.limit + 1,
    };
    let mut rows = repo::list(tx, actor.clinic_id, &filter).await?;
    let more = rows.len() as i64 > q.limit;
    rows.truncate(q.limit as usize);
    let patients = rows
        .into_iter()
        .map(|r| open(keys, r, actor.role))
        .collect::<Result<Vec<_>, _>>()?;
    let mut filters = Vec::new();
    for (name, used) in [
        ("name", q.name_prefix.is_some()),
        ("cpf", q.cpf.is_some()),
        ("birthDate", q.birth_date.is_some()),
        ("updatedSince", q.updated_since.is_some()),
    ] {
        if used {
            filters.push(name);
        }
    }
    audit::record(
        tx,
        actor,
        Event {
            patient_id: None,
            action: "patient.list",
            resource_type: "patient",
            resource_id: None,
            outcome: Outcome::Success,
            risk: if q.cpf.is_some() { Risk::Medium } else { Risk::Low },
            details: json!({ "count": patients.len(), "filters": filters, "ids": patients.iter().map(|p| p.row.id).collect::<Vec<_>>() }),
        },
    )
    .await?;
    Ok((patients, more))
}

/// Updates a patient if `if_match` is its current version; audits the changed field names.
pub async fn update(
    tx: &Tx,
    keys: Keys<'_>,
    actor: &Actor,
    id: Uuid,
    if_match: i32,
    input: &PatientInput,
    today: NaiveDate,
) -> Result<Patient, ApiError> {
    let changes = input.validate(false, today)?;
    if changes.touches_clinical() && !allowed(actor.role, Action::ClinicalRead) {
        return Err(clinical_forbidden());
    }
    let row = load(tx, actor, id, true).await?;
    if row.restricted_at.is_some() {
        return Err(restricted_conflict());
    }
    if row.version != if_match {
        return Err(ApiError::PreconditionFailed);
    }
    // Staff cannot see clinical columns, and does not need them decrypted to keep them.
    let mut patient = open(keys, row, actor.role)?;
    let now = Utc::now().trunc_subsecs(6); // PostgreSQL keeps microseconds
    apply(keys, &mut patient, &changes, now)?;
    let updated_at = match repo::update(tx, &patient.row, if_match).await? {
        Ok(Some(at)) => at,
        Ok(None) => return Err(ApiError::PreconditionFailed),
        Err(e) if is_cpf_conflict(&e) => return Err(cpf_conflict()),
        Err(e) => return Err(crate::db::map_pg_error(e)),
    };
    patient.row.version += 1;
    patient.row.updated_at = updated_at;
    audit::record(
        tx,
        actor,
        Event {
            patient_id: Some(id),
            action: "patient.update",
            resource_type: "patient",
            resource_id: Some(id),
            outcome: Outcome::Success,
            risk: if changes.touches_clinical() {
                Risk::High
            } else {
                Risk::Medium
            },
            details: json!({ "fields": changes.field_names(), "version": patient.row.version }),
        },
    )
    .await?;
    Ok(patient)
}

/// Reasons an admin may give for a restriction.
pub const RESTRICTION_REASONS: &[&str] = &[
    "lgpd_erasure_request",
    "lgpd_blocking_request",
    "duplicate_record",
    "legal_hold",
    "other",
];

/// LGPD-aware "delete": blocks the record from normal use and lists; keeps clinical data.
pub async fn restrict(tx: &Tx, actor: &Actor, id: Uuid, reason: &str) -> Result<(), ApiError> {
    let row = repo::find(tx, actor.clinic_id, id, true)
        .await?
        .ok_or(ApiError::NotFound)?;
    if row.restricted_at.is_some() {
        return Err(restricted_conflict());
    }
    repo::restrict(tx, actor.clinic_id, id, actor.user_id, reason).await?;
    let cancelled =
        crate::scheduling::service::cancel_for_restricted_patient(tx, actor, id).await?;
    audit::record(
        tx,
        actor,
        Event {
            patient_id: Some(id),
            action: "patient.restrict",
            resource_type: "patient",
            resource_id: Some(id),
            outcome: Outcome::Success,
            risk: Risk::High,
            details: json!({
                "reason": reason,
                "clinicalDataRetained": true,
                "cancelledAppointments": cancelled,
            }),
        },
    )
    .await
}

/// Records a consent for a patient.
pub async fn grant_consent(
    tx: &Tx,
    actor: &Actor,
    patient_id: Uuid,
    c: &NewConsent,
) -> Result<ConsentRow, ApiError> {
    let row = load(tx, actor, patient_id, false).await?;
    if row.restricted_at.is_some() {
        return Err(restricted_conflict());
    }
    let saved = repo::insert_consent(tx, actor.clinic_id, patient_id, c, actor.user_id).await?;
    audit::record(
        tx,
        actor,
        Event {
            patient_id: Some(patient_id),
            action: "consent.grant",
            resource_type: "consent",
            resource_id: Some(saved.id),
            outcome: Outcome::Success,
            risk: Risk::High,
            details: json!({ "purpose": saved.purpose, "legalBasis": saved.legal_basis, "textVersion": saved.text_version }),
        },
    )
    .await?;
    Ok(saved)
}

/// The patient's consents (audited as a read of patient data).
pub async fn list_consents(
    tx: &Tx,
    actor: &Actor,
    patient_id: Uuid,
) -> Result<Vec<ConsentRow>, ApiError> {
    load(tx, actor, patient_id, false).await?;
    let rows = repo::consents(tx, actor.clinic_id, patient_id).await?;
    audit::record(
        tx,
        actor,
        Event {
            patient_id: Some(patient_id),
            action: "consent.list",
            resource_type: "consent",
            resource_id: None,
            outcome: Outcome::Success,
            risk: Risk::Low,
            details: json!({ "count": rows.len() }),
        },
    )
    .await?;
    Ok(rows)
}

/// Withdraws a consent. Clinical data is never deleted by a withdrawal.
pub async fn withdraw_consent(
    tx: &Tx,
    actor: &Actor,
    patient_id: Uuid,
    consent_id: Uuid,
    reason: Option<&str>,
) -> Result<ConsentRow, ApiError> {
    load(tx, actor, patient_id, false).await?;
    let Some(row) = repo::withdraw_consent(
        tx,
        actor.clinic_id,
        patient_id,
        consent_id,
        actor.user_id,
        reason,
    )
    .await?
    else {
        return Err(
            if repo::consent_exists(tx, actor.clinic_id, patient_id, consent_id).await? {
                ApiError::Conflict {
                    code: "consent_already_withdrawn",
                    detail: Msg::new(
                        "Este consentimento já foi revogado.",
                        "This consent was already withdrawn.",
                    ),
                    extra: None,
                }
            } else {
                ApiError::NotFound
            },
        );
    };
    audit::record(
        tx,
        actor,
        Event {
            patient_id: Some(patient_id),
            action: "consent.withdraw",
            resource_type: "consent",
            resource_id: Some(consent_id),
            outcome: Outcome::Success,
            risk: Risk::High,
            details: json!({ "purpose": row.purpose, "reason": reason }),
        },
    )
    .await?;
    Ok(row)
}

/// Which shaped view a role gets.
pub fn view_name(role: Role) -> &'static str {
    match role {
        Role::Admin | Role::Clinician => "clinical",
        Role::Staff => "front_desk",
        Role::Patient => "self",
    }
}

/// A patient as a role sees it (REST and tRPC share this shape). Clinical fields are absent
/// (not `null`) for roles that may not see them.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct PatientView {
    pub id: Uuid,
    pub full_name: String,
    pub social_name: Option<String>,
    pub birth_date: NaiveDate,
    pub sex: Option<String>,
    pub gender_identity: Option<String>,
    /// Full CPF for clinical roles and the patient; masked (`***.456.789-**`) for staff.
    pub cpf: Option<String>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<Address>,
    pub emergency_contact: Option<EmergencyContact>,
    pub preferred_contact_channel: Option<String>,
    pub language: String,
    /// Optimistic-concurrency version (REST: `ETag`/`If-Match`; tRPC: `version` input).
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub restricted: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub allergies: Option<Option<Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub current_medications: Option<Option<Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub conditions: Option<Option<Vec<String>>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub clinical_notes: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub pregnancy_status: Option<Option<String>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub fitzpatrick_skin_type: Option<Option<i16>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub last_clinical_entry_at: Option<Option<DateTime<Utc>>>,
}

/// The view a role receives: staff gets contact/scheduling fields and a masked CPF; clinicians,
/// admins and the patient themselves get clinical fields too.
pub fn shape(p: &Patient, role: Role) -> PatientView {
    let r = &p.row;
    let clinical = role != Role::Staff;
    let cpf = p
        .cpf
        .as_ref()
        .map(|c| if clinical { c.to_string() } else { c.masked() });
    let address: Option<Address> = r
        .address
        .clone()
        .and_then(|v| serde_json::from_value(v).ok());
    let emergency: Option<EmergencyContact> = r
        .emergency_contact
        .clone()
        .and_then(|v| serde_json::from_value(v).ok());
    fn c<T>(clinical: bool, v: T) -> Option<T> {
        clinical.then_some(v)
    }
    PatientView {
        id: r.id,
        full_name: r.full_name.clone(),
        social_name: r.social_name.clone(),
        birth_date: r.birth_date,
        sex: r.sex.clone(),
        gender_identity: r.gender_identity.clone(),
        cpf,
        email: r.email.clone(),
        phone: r.phone.clone(),
        address,
        emergency_contact: emergency,
        preferred_contact_channel: r.preferred_contact_channel.clone(),
        language: r.language.clone(),
        version: r.version,
        created_at: r.created_at,
        updated_at: r.updated_at,
        restricted: r.restricted_at.is_some(),
        allergies: c(clinical, p.allergies.clone()),
        current_medications: c(clinical, p.current_medications.clone()),
        conditions: c(clinical, p.conditions.clone()),
        clinical_notes: c(clinical, p.clinical_notes.clone()),
        pregnancy_status: c(clinical, r.pregnancy_status.clone()),
        fitzpatrick_skin_type: c(clinical, r.fitzpatrick_skin_type),
        last_clinical_entry_at: c(clinical, r.last_clinical_entry_at),
    }
}

/// A consent with its derived status.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct ConsentView {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub purpose: String,
    pub legal_basis: String,
    pub text_version: String,
    pub text_sha256: String,
    pub collection_method: String,
    pub evidence_reference: Option<String>,
    pub given_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub withdrawn_at: Option<DateTime<Utc>>,
    pub withdrawal_reason: Option<String>,
    pub recorded_by: Uuid,
    pub created_at: DateTime<Utc>,
    /// `active`, `expired` or `withdrawn`.
    #[ts(type = "\"active\" | \"expired\" | \"withdrawn\"")]
    pub status: &'static str,
}

/// The view of a consent, with its derived status.
pub fn consent_json(c: &ConsentRow, now: DateTime<Utc>) -> ConsentView {
    let status = if c.withdrawn_at.is_some() {
        "withdrawn"
    } else if c.expires_at.is_some_and(|e| e <= now) {
        "expired"
    } else {
        "active"
    };
    ConsentView {
        id: c.id,
        patient_id: c.patient_id,
        purpose: c.purpose.clone(),
        legal_basis: c.legal_basis.clone(),
        text_version: c.text_version.clone(),
        text_sha256: c.text_sha256.clone(),
        collection_method: c.collection_method.clone(),
        evidence_reference: c.evidence_reference.clone(),
        given_at: c.given_at,
        expires_at: c.expires_at,
        withdrawn_at: c.withdrawn_at,
        withdrawal_reason: c.withdrawal_reason.clone(),
        recorded_by: c.recorded_by,
        created_at: c.created_at,
        status,
    }
}

/// Encrypted columns of `patients`, in the order [`reencrypt_batch`] reads them.
const SEALED_COLUMNS: [&str; 5] = [
    "cpf_enc",
    "allergies_enc",
    "medications_enc",
    "conditions_enc",
    "clinical_notes_enc",
];

/// Key rotation: re-seals, with the current key, up to `limit` patient rows that still have a
/// column sealed with an older key. Runs on the explicit service path (`service_role`), never
/// on a request. Returns how many rows were rewritten (0 when the table is done).
pub async fn reencrypt_batch(tx: &Tx, cipher: &FieldCipher, limit: i64) -> Result<u64, ApiError> {
    let current = i32::try_from(cipher.ring().current_key_id()).map_err(ApiError::internal)?;
    let stale = SEALED_COLUMNS
        .iter()
        .map(|c| FieldCipher::stale_key_sql(c, "$1"))
        .collect::<Vec<_>>()
        .join(" or ");
    let sql = format!(
        "select id, clinic_id, {} from public.patients where {stale} order by id limit $2 for update skip locked",
        SEALED_COLUMNS.join(", ")
    );
    let rows = tx.query(&sql, &[&current, &limit]).await?;
    let mut done = 0;
    for row in &rows {
        let id: Uuid = row.try_get(0).map_err(ApiError::internal)?;
        let clinic_id: Uuid = row.try_get(1).map_err(ApiError::internal)?;
        let mut sealed: Vec<Option<Vec<u8>>> = Vec::with_capacity(SEALED_COLUMNS.len());
        for (i, column) in SEALED_COLUMNS.iter().enumerate() {
            let value: Option<Vec<u8>> = row.try_get(i + 2).map_err(ApiError::internal)?;
            sealed.push(match value {
                Some(envelope) => Some(
                    cipher
                        .reseal(&Place::new(TABLE, column, id, clinic_id), &envelope)
                        .map_err(ApiError::internal)?
                        .unwrap_or(envelope),
                ),
                None => None,
            });
        }
        done += tx
            .execute(
                "update public.patients set cpf_enc = $2, allergies_enc = $3, medications_enc = $4, \
                 conditions_enc = $5, clinical_notes_enc = $6 where id = $1",
                &[&id, &sealed[0], &sealed[1], &sealed[2], &sealed[3], &sealed[4]],
            )
            .await?;
    }
    Ok(done)
}

/// What clinical decision support needs from a record (contraindication checks): decrypted in
/// memory for the check only, never returned as such. Not audited here: the caller records
/// the check it performs (ids only).
#[derive(Debug, Clone)]
pub struct ClinicalFacts {
    pub birth_date: NaiveDate,
    pub pregnancy_status: Option<String>,
    pub allergies: Vec<String>,
    pub medications: Vec<String>,
    pub conditions: Vec<String>,
}

/// Loads the facts of [`ClinicalFacts`] for a patient the caller may use (404 otherwise). The
/// clinical columns are decrypted whatever the caller's role, because a booking by staff must
/// be checked too; only findings (rule ids and rule texts) leave the service.
pub async fn clinical_facts(
    tx: &Tx,
    cipher: &FieldCipher,
    actor: &Actor,
    id: Uuid,
) -> Result<ClinicalFacts, ApiError> {
    let row = load(tx, actor, id, false).await?;
    let list = |column: &'static str, v: &Option<Vec<u8>>| -> Result<Vec<String>, ApiError> {
        let Some(envelope) = v else {
            return Ok(Vec::new());
        };
        let plain = cipher
            .decrypt(&place(&row, column), envelope)
            .map_err(ApiError::internal)?;
        serde_json::from_slice::<Option<Vec<String>>>(&plain)
            .map(Option::unwrap_or_default)
            .map_err(ApiError::internal)
    };
    Ok(ClinicalFacts {
        allergies: list("allergies_enc", &row.allergies_enc)?,
        medications: list("medications_enc", &row.medications_enc)?,
        conditions: list("conditions_enc", &row.conditions_enc)?,
        birth_date: row.birth_date,
        pregnancy_status: row.pregnancy_status.clone(),
    })
}
