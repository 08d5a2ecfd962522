//! SQL for patients and consents. Every function takes the request transaction (RLS applies)
//! and repeats the clinic filter explicitly, which keeps plans on the clinic indexes.

use chrono::{DateTime, NaiveDate, Utc};
use serde_json::Value;
use tokio_postgres::Row;
use uuid::Uuid;

use super::model::NewConsent;
use crate::db::Tx;
use crate::error::ApiError;

/// A patient row as stored (encrypted columns still encrypted).
#[derive(Debug, Clone)]
pub struct PatientRow {
    pub id: Uuid,
    pub clinic_id: Uuid,
    pub full_name: String,
    pub name_search: String,
    pub social_name: Option<String>,
    pub birth_date: NaiveDate,
    pub sex: Option<String>,
    pub gender_identity: Option<String>,
    pub cpf_enc: Option<Vec<u8>>,
    pub cpf_index: Option<Vec<u8>>,
    pub email: Option<String>,
    pub phone: Option<String>,
    pub address: Option<Value>,
    pub emergency_contact: Option<Value>,
    pub allergies_enc: Option<Vec<u8>>,
    pub medications_enc: Option<Vec<u8>>,
    pub conditions_enc: Option<Vec<u8>>,
    pub clinical_notes_enc: Option<Vec<u8>>,
    pub pregnancy_status: Option<String>,
    pub fitzpatrick_skin_type: Option<i16>,
    pub preferred_contact_channel: Option<String>,
    pub language: String,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub last_clinical_entry_at: Option<DateTime<Utc>>,
    pub restricted_at: Option<DateTime<Utc>>,
    pub restriction_reason: Option<String>,
}

const COLUMNS: &str = "id, clinic_id, full_name, name_search, social_name, birth_date, sex, gender_identity, \
    cpf_enc, cpf_index, email, phone, address, emergency_contact, allergies_enc, medications_enc, \
    conditions_enc, clinical_notes_enc, pregnancy_status, fitzpatrick_skin_type, \
    preferred_contact_channel, language, version, created_at, updated_at, last_clinical_entry_at, \
    restricted_at, restriction_reason";

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, name: &str) -> Result<T, ApiError> {
    row.try_get(name).map_err(ApiError::internal)
}

fn patient(row: &Row) -> Result<PatientRow, ApiError> {
    Ok(PatientRow {
        id: get(row, "id")?,
        clinic_id: get(row, "clinic_id")?,
        full_name: get(row, "full_name")?,
        name_search: get(row, "name_search")?,
        social_name: get(row, "social_name")?,
        birth_date: get(row, "birth_date")?,
        sex: get(row, "sex")?,
        gender_identity: get(row, "gender_identity")?,
        cpf_enc: get(row, "cpf_enc")?,
        cpf_index: get(row, "cpf_index")?,
        email: get(row, "email")?,
        phone: get(row, "phone")?,
        address: get(row, "address")?,
        emergency_contact: get(row, "emergency_contact")?,
        allergies_enc: get(row, "allergies_enc")?,
        medications_enc: get(row, "medications_enc")?,
        conditions_enc: get(row, "conditions_enc")?,
        clinical_notes_enc: get(row, "clinical_notes_enc")?,
        pregnancy_status: get(row, "pregnancy_status")?,
        fitzpatrick_skin_type: get(row, "fitzpatrick_skin_type")?,
        preferred_contact_channel: get(row, "preferred_contact_channel")?,
        language: get(row, "language")?,
        version: get(row, "version")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        last_clinical_entry_at: get(row, "last_clinical_entry_at")?,
        restricted_at: get(row, "restricted_at")?,
        restriction_reason: get(row, "restriction_reason")?,
    })
}

/// Name of the unique constraint on (clinic_id, cpf_index).
pub const CPF_UNIQUE: &str = "patients_clinic_id_cpf_index_key";

/// Inserts a patient. Returns the raw error on a constraint violation so the service can tell
/// a duplicate CPF (409) from anything else.
pub async fn insert(
    tx: &Tx,
    p: &PatientRow,
    created_by: Uuid,
) -> Result<Result<(), tokio_postgres::Error>, ApiError> {
    let r = tx
        .query_raw(
            "insert into public.patients (id, clinic_id, full_name, name_search, social_name, birth_date, sex, \
             gender_identity, cpf_enc, cpf_index, email, phone, address, emergency_contact, allergies_enc, \
             medications_enc, conditions_enc, clinical_notes_enc, pregnancy_status, fitzpatrick_skin_type, \
             preferred_contact_channel, language, created_by, created_at, updated_at, last_clinical_entry_at) \
             values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20,$21,$22,$23,$24,$24,$25)",
            &[
                &p.id,
                &p.clinic_id,
                &p.full_name,
                &p.name_search,
                &p.social_name,
                &p.birth_date,
                &p.sex,
                &p.gender_identity,
                &p.cpf_enc,
                &p.cpf_index,
                &p.email,
                &p.phone,
                &p.address,
                &p.emergency_contact,
                &p.allergies_enc,
                &p.medications_enc,
                &p.conditions_enc,
                &p.clinical_notes_enc,
                &p.pregnancy_status,
                &p.fitzpatrick_skin_type,
                &p.preferred_contact_channel,
                &p.language,
                &created_by,
                &p.created_at,
                &p.last_clinical_entry_at,
            ],
        )
        .await?;
    Ok(r.map(|_| ()))
}

/// Writes every mutable column of `p` and bumps the version, if the stored version is still
/// `expected_version`. Returns the raw result (rows affected) for constraint handling.
pub async fn update(
    tx: &Tx,
    p: &PatientRow,
    expected_version: i32,
) -> Result<Result<Option<DateTime<Utc>>, tokio_postgres::Error>, ApiError> {
    let r = tx
        .query_raw(
            "update public.patients set full_name = $3, name_search = $4, social_name = $5, birth_date = $6, \
             sex = $7, gender_identity = $8, cpf_enc = $9, cpf_index = $10, email = $11, phone = $12, \
             address = $13, emergency_contact = $14, allergies_enc = $15, medications_enc = $16, \
             conditions_enc = $17, clinical_notes_enc = $18, pregnancy_status = $19, \
             fitzpatrick_skin_type = $20, preferred_contact_channel = $21, language = $22, \
             last_clinical_entry_at = $23, version = version + 1 \
             where clinic_id = $1 and id = $2 and version = $24 returning updated_at",
            &[
                &p.clinic_id,
                &p.id,
                &p.full_name,
                &p.name_search,
                &p.social_name,
                &p.birth_date,
                &p.sex,
                &p.gender_identity,
                &p.cpf_enc,
                &p.cpf_index,
                &p.email,
                &p.phone,
                &p.address,
                &p.emergency_contact,
                &p.allergies_enc,
                &p.medications_enc,
                &p.conditions_enc,
                &p.clinical_notes_enc,
                &p.pregnancy_status,
                &p.fitzpatrick_skin_type,
                &p.preferred_contact_channel,
                &p.language,
                &p.last_clinical_entry_at,
                &expected_version,
            ],
        )
        .await?;
    // The trigger sets `updated_at` to the transaction's time: return it, not a guess.
    match r {
        Ok(rows) => rows
            .first()
            .map(|row| get(row, "updated_at"))
            .transpose()
            .map(Ok),
        Err(e) => Ok(Err(e)),
    }
}

/// One patient of the clinic (RLS also hides other clinics' rows); `for_update` locks it.
pub async fn find(
    tx: &Tx,
    clinic_id: Uuid,
    id: Uuid,
    for_update: bool,
) -> Result<Option<PatientRow>, ApiError> {
    let lock = if for_update { " for update" } else { "" };
    let sql =
        format!("select {COLUMNS} from public.patients where clinic_id = $1 and id = $2{lock}");
    tx.query_opt(&sql, &[&clinic_id, &id])
        .await?
        .as_ref()
        .map(patient)
        .transpose()
}

/// Filters of the patient list.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub name_prefix: Option<String>,
    pub cpf_index: Option<Vec<u8>>,
    pub birth_date: Option<NaiveDate>,
    pub updated_since: Option<DateTime<Utc>>,
    pub include_restricted: bool,
    /// Keyset cursor: rows strictly after (created_at, id) in descending order.
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// Patients, newest first.
pub async fn list(tx: &Tx, clinic_id: Uuid, f: &ListFilter) -> Result<Vec<PatientRow>, ApiError> {
    let prefix = f.name_prefix.as_ref().map(|p| {
        format!(
            "{}%",
            p.replace('\\', "\\\\")
                .replace('%', "\\%")
                .replace('_', "\\_")
        )
    });
    let (after_t, after_id) = match f.after {
        Some((t, id)) => (Some(t), Some(id)),
        None => (None, None),
    };
    let sql = format!(
        "select {COLUMNS} from public.patients where clinic_id = $1 \
         and ($2::text is null or name_search like $2) and ($3::bytea is null or cpf_index = $3) \
         and ($4::date is null or birth_date = $4) and ($5::timestamptz is null or updated_at >= $5) \
         and ($6 or restricted_at is null) \
         and ($7::timestamptz is null or (created_at, id) < ($7, $8::uuid)) \
         order by created_at desc, id desc limit $9"
    );
    tx.query(
        &sql,
        &[
            &clinic_id,
            &prefix,
            &f.cpf_index,
            &f.birth_date,
            &f.updated_since,
            &f.include_restricted,
            &after_t,
            &after_id,
            &f.limit,
        ],
    )
    .await?
    .iter()
    .map(patient)
    .collect()
}

/// Marks the record restricted (LGPD blocking); clinical data stays.
pub async fn restrict(
    tx: &Tx,
    clinic_id: Uuid,
    id: Uuid,
    by: Uuid,
    reason: &str,
) -> Result<u64, ApiError> {
    tx.execute(
        "update public.patients set restricted_at = now(), restricted_by = $3, restriction_reason = $4, \
         version = version + 1 where clinic_id = $1 and id = $2 and restricted_at is null",
        &[&clinic_id, &id, &by, &reason],
    )
    .await
}

/// A stored consent.
#[derive(Debug, Clone)]
pub struct ConsentRow {
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
}

const CONSENT_COLUMNS: &str = "id, patient_id, purpose, legal_basis, text_version, text_sha256, collection_method, \
    evidence_reference, given_at, expires_at, withdrawn_at, withdrawal_reason, recorded_by, created_at";

fn consent(row: &Row) -> Result<ConsentRow, ApiError> {
    Ok(ConsentRow {
        id: get(row, "id")?,
        patient_id: get(row, "patient_id")?,
        purpose: get(row, "purpose")?,
        legal_basis: get(row, "legal_basis")?,
        text_version: get(row, "text_version")?,
        text_sha256: get(row, "text_sha256")?,
        collection_method: get(row, "collection_method")?,
        evidence_reference: get(row, "evidence_reference")?,
        given_at: get(row, "given_at")?,
        expires_at: get(row, "expires_at")?,
        withdrawn_at: get(row, "withdrawn_at")?,
        withdrawal_reason: get(row, "withdrawal_reason")?,
        recorded_by: get(row, "recorded_by")?,
        created_at: get(row, "created_at")?,
    })
}

/// Inserts a consent and returns it.
pub async fn insert_consent(
    tx: &Tx,
    clinic_id: Uuid,
    patient_id: Uuid,
    c: &NewConsent,
    by: Uuid,
) -> Result<ConsentRow, ApiError> {
    let sql = format!(
        "insert into public.consents (clinic_id, patient_id, purpose, legal_basis, text_version, text_sha256, \
         collection_method, evidence_reference, given_at, expires_at, recorded_by) \
         values ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11) returning {CONSENT_COLUMNS}"
    );
    let row = tx
        .query_one(
            &sql,
            &[
                &clinic_id,
                &patient_id,
                &c.purpose,
                &c.legal_basis,
                &c.text_version,
                &c.text_sha256,
                &c.collection_method,
                &c.evidence_reference,
                &c.given_at,
                &c.expires_at,
                &by,
            ],
        )
        .await?;
    consent(&row)
}

/// The patient's consents, newest first.
pub async fn consents(
    tx: &Tx,
    clinic_id: Uuid,
    patient_id: Uuid,
) -> Result<Vec<ConsentRow>, ApiError> {
    let sql = format!(
        "select {CONSENT_COLUMNS} from public.consents where clinic_id = $1 and patient_id = $2 order by given_at desc, id"
    );
    tx.query(&sql, &[&clinic_id, &patient_id])
        .await?
        .iter()
        .map(consent)
        .collect()
}

/// Withdraws a consent that is not withdrawn yet; returns it, or `None` when nothing changed.
pub async fn withdraw_consent(
    tx: &Tx,
    clinic_id: Uuid,
    patient_id: Uuid,
    consent_id: Uuid,
    by: Uuid,
    reason: Option<&str>,
) -> Result<Option<ConsentRow>, ApiError> {
    let sql = format!(
        "update public.consents set withdrawn_at = now(), withdrawn_by = $4, withdrawal_reason = $5 \
         where clinic_id = $1 and patient_id = $2 and id = $3 and withdrawn_at is null returning {CONSENT_COLUMNS}"
    );
    let reason = reason.map(str::to_owned);
    tx.query_opt(&sql, &[&clinic_id, &patient_id, &consent_id, &by, &reason])
        .await?
        .as_ref()
        .map(consent)
        .transpose()
}

/// Whether a consent with this id exists for the patient (to tell 404 from 409).
pub async fn consent_exists(
    tx: &Tx,
    clinic_id: Uuid,
    patient_id: Uuid,
    consent_id: Uuid,
) -> Result<bool, ApiError> {
    Ok(tx
        .query_opt(
            "select 1 from public.consents where clinic_id = $1 and patient_id = $2 and id = $3",
            &[&clinic_id, &patient_id, &consent_id],
        )
        .await?
        .is_some())
}
