//! SQL for clinical decision support and treatment plans: the contraindication rule set
//! (reference data), a patient's recent procedures, and plan rows and sessions.

use chrono::{DateTime, NaiveDate, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

use super::contraindications::{ConditionDef, PastProcedure, Rule, RuleSet};
use crate::crypto::FieldCipher;
use crate::db::Tx;
use crate::error::ApiError;

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, name: &str) -> Result<T, ApiError> {
    row.try_get(name).map_err(ApiError::internal)
}

/// The whole rule set (a few dozen rows), ordered for stable output.
pub async fn rule_set(tx: &Tx) -> Result<RuleSet, ApiError> {
    let conditions = tx
        .query(
            "select code, fact, sources, keywords, threshold, label_pt, label_en \
             from public.contraindication_conditions order by code",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(ConditionDef {
                code: get(r, "code")?,
                fact: get(r, "fact")?,
                sources: get(r, "sources")?,
                keywords: get(r, "keywords")?,
                threshold: get(r, "threshold")?,
                label_pt: get(r, "label_pt")?,
                label_en: get(r, "label_en")?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    let rules = tx
        .query(
            "select id, condition, procedure_kinds, procedure_categories, severity, washout_days, \
             reason_pt, reason_en, source from public.contraindication_rules order by id",
            &[],
        )
        .await?
        .iter()
        .map(|r| {
            Ok(Rule {
                id: get(r, "id")?,
                condition: get(r, "condition")?,
                procedure_kinds: get(r, "procedure_kinds")?,
                procedure_categories: get(r, "procedure_categories")?,
                severity: get(r, "severity")?,
                washout_days: get(r, "washout_days")?,
                reason_pt: get(r, "reason_pt")?,
                reason_en: get(r, "reason_en")?,
                source: get(r, "source")?,
            })
        })
        .collect::<Result<Vec<_>, ApiError>>()?;
    Ok(RuleSet { conditions, rules })
}

/// The patient's scheduled, confirmed, in-progress or completed appointments whose local date
/// falls in `[from, to]`, with the procedure's kind and category (washout rules). `exclude`
/// leaves out the appointment being moved.
pub async fn recent_procedures(
    tx: &Tx,
    clinic_id: Uuid,
    patient_id: Uuid,
    from: NaiveDate,
    to: NaiveDate,
    exclude: Option<Uuid>,
) -> Result<Vec<PastProcedure>, ApiError> {
    tx.query(
        "with c as (select coalesce((select timezone from public.clinics where id = $1), 'America/Sao_Paulo') as tz) \
         select p.kind, p.category, (a.starts_at at time zone c.tz)::date as local_date \
         from public.appointments a join public.procedures p on p.clinic_id = a.clinic_id and p.id = a.procedure_id, c \
         where a.clinic_id = $1 and a.patient_id = $2 \
           and a.status in ('scheduled', 'confirmed', 'in_progress', 'completed') \
           and (a.starts_at at time zone c.tz)::date between $3 and $4 \
           and ($5::uuid is null or a.id <> $5) \
         order by a.starts_at",
        &[&clinic_id, &patient_id, &from, &to, &exclude],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(PastProcedure {
            kind: get(r, "kind")?,
            category: get(r, "category")?,
            local_date: get(r, "local_date")?,
        })
    })
    .collect()
}

/// Today's date in the clinic's time zone.
pub async fn local_today(tx: &Tx, clinic_id: Uuid) -> Result<NaiveDate, ApiError> {
    let row = tx
        .query_one(
            "select (now() at time zone coalesce((select timezone from public.clinics where id = $1), 'America/Sao_Paulo'))::date as d",
            &[&clinic_id],
        )
        .await?;
    get(&row, "d")
}

/// Inserts a treatment plan.
pub async fn insert_plan(
    tx: &Tx,
    id: Uuid,
    clinic_id: Uuid,
    patient_id: Uuid,
    created_by: Uuid,
) -> Result<(), ApiError> {
    tx.execute(
        "insert into public.treatment_plans (id, clinic_id, patient_id, created_by) values ($1, $2, $3, $4)",
        &[&id, &clinic_id, &patient_id, &created_by],
    )
    .await
    .map(|_| ())
}

/// One session of a plan as stored (an appointment with its plan position).
#[derive(Debug, Clone)]
pub struct PlanSession {
    pub appointment_id: Uuid,
    pub procedure_id: Uuid,
    pub session_number: i32,
    pub status: String,
    pub starts_at: DateTime<Utc>,
    pub local_date: NaiveDate,
    pub min_interval_days: Option<i32>,
    pub max_interval_days: Option<i32>,
    pub recovery_days: i32,
}

/// Every session of a plan, in procedure and session order.
pub async fn plan_sessions(
    tx: &Tx,
    clinic_id: Uuid,
    plan_id: Uuid,
) -> Result<Vec<PlanSession>, ApiError> {
    tx.query(
        "with c as (select coalesce((select timezone from public.clinics where id = $1), 'America/Sao_Paulo') as tz) \
         select a.id, a.procedure_id, a.session_number, a.status, a.starts_at, \
                (a.starts_at at time zone c.tz)::date as local_date, \
                p.min_interval_days, p.max_interval_days, p.recovery_days \
         from public.appointments a join public.procedures p on p.clinic_id = a.clinic_id and p.id = a.procedure_id, c \
         where a.clinic_id = $1 and a.treatment_plan_id = $2 and a.session_number is not null \
         order by a.procedure_id, a.session_number, a.starts_at",
        &[&clinic_id, &plan_id],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(PlanSession {
            appointment_id: get(r, "id")?,
            procedure_id: get(r, "procedure_id")?,
            session_number: get(r, "session_number")?,
            status: get(r, "status")?,
            starts_at: get(r, "starts_at")?,
            local_date: get(r, "local_date")?,
            min_interval_days: get(r, "min_interval_days")?,
            max_interval_days: get(r, "max_interval_days")?,
            recovery_days: get(r, "recovery_days")?,
        })
    })
    .collect()
}

/// One row of `patient_clinical_facts` (description still encrypted).
#[derive(Debug, Clone)]
pub struct FactRow {
    pub id: Uuid,
    pub clinic_id: Uuid,
    pub patient_id: Uuid,
    pub kind: String,
    pub condition_code: Option<String>,
    pub description_enc: Vec<u8>,
    pub started_on: Option<NaiveDate>,
    pub ended_on: Option<NaiveDate>,
    pub recorded_by: Uuid,
    pub created_at: DateTime<Utc>,
}

/// Whether a condition code exists in the rule set.
pub async fn condition_exists(tx: &Tx, code: &str) -> Result<bool, ApiError> {
    let row = tx
        .query_one(
            "select exists (select 1 from public.contraindication_conditions where code = $1) as e",
            &[&code],
        )
        .await?;
    get(&row, "e")
}

/// Inserts a clinical fact.
pub async fn insert_fact(tx: &Tx, f: &FactRow) -> Result<(), ApiError> {
    tx.execute(
        "insert into public.patient_clinical_facts \
         (id, clinic_id, patient_id, kind, condition_code, description_enc, started_on, ended_on, recorded_by, created_at) \
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        &[
            &f.id,
            &f.clinic_id,
            &f.patient_id,
            &f.kind,
            &f.condition_code,
            &f.description_enc,
            &f.started_on,
            &f.ended_on,
            &f.recorded_by,
            &f.created_at,
        ],
    )
    .await
    .map(|_| ())
}

/// Every clinical fact of a patient, newest first.
pub async fn patient_facts(
    tx: &Tx,
    clinic_id: Uuid,
    patient_id: Uuid,
) -> Result<Vec<FactRow>, ApiError> {
    tx.query(
        "select id, clinic_id, patient_id, kind, condition_code, description_enc, started_on, \
                ended_on, recorded_by, created_at \
         from public.patient_clinical_facts where clinic_id = $1 and patient_id = $2 \
         order by created_at desc, id",
        &[&clinic_id, &patient_id],
    )
    .await?
    .iter()
    .map(|r| {
        Ok(FactRow {
            id: get(r, "id")?,
            clinic_id: get(r, "clinic_id")?,
            patient_id: get(r, "patient_id")?,
            kind: get(r, "kind")?,
            condition_code: get(r, "condition_code")?,
            description_enc: get(r, "description_enc")?,
            started_on: get(r, "started_on")?,
            ended_on: get(r, "ended_on")?,
            recorded_by: get(r, "recorded_by")?,
            created_at: get(r, "created_at")?,
        })
    })
    .collect()
}

/// A treatment plan row.
#[derive(Debug, Clone)]
pub struct PlanRow {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub status: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
}

/// One plan of the clinic (RLS also hides other clinics' and, for a patient, others' plans).
pub async fn find_plan(tx: &Tx, clinic_id: Uuid, id: Uuid) -> Result<Option<PlanRow>, ApiError> {
    tx.query_opt(
        "select id, patient_id, status, created_by, created_at from public.treatment_plans \
         where clinic_id = $1 and id = $2",
        &[&clinic_id, &id],
    )
    .await?
    .map(|r| {
        Ok(PlanRow {
            id: get(&r, "id")?,
            patient_id: get(&r, "patient_id")?,
            status: get(&r, "status")?,
            created_by: get(&r, "created_by")?,
            created_at: get(&r, "created_at")?,
        })
    })
    .transpose()
}

/// Fact rows whose description envelope names a key other than `current` (the envelope is a
/// version byte then the 4-byte big-endian key id), locked for the re-encrypt batch.
pub async fn facts_sealed_with_other_key(
    tx: &Tx,
    current: i32,
    limit: i64,
) -> Result<Vec<(Uuid, Uuid, Vec<u8>)>, ApiError> {
    let sql = format!(
        "select id, clinic_id, description_enc from public.patient_clinical_facts where {} \
         order by id limit $2 for update skip locked",
        FieldCipher::stale_key_sql("description_enc", "$1")
    );
    tx.query(&sql, &[&current, &limit])
        .await?
        .iter()
        .map(|r| {
            Ok((
                get(r, "id")?,
                get(r, "clinic_id")?,
                get(r, "description_enc")?,
            ))
        })
        .collect()
}

/// Replaces a fact's sealed description (key rotation).
pub async fn update_fact_description(tx: &Tx, id: Uuid, sealed: &[u8]) -> Result<u64, ApiError> {
    tx.execute(
        "update public.patient_clinical_facts set description_enc = $2 where id = $1",
        &[&id, &sealed],
    )
    .await
}
