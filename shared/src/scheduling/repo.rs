//! SQL for the catalog and appointments. Every function takes the request transaction (RLS
//! applies) and repeats the clinic filter explicitly. Local-time rules are evaluated here, in
//! the clinic's time zone, with PostgreSQL's tz database.

use chrono::{DateTime, NaiveDate, NaiveTime, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

use super::model::{NewProcedure, NewProfessional, NewRoom};
use crate::db::Tx;
use crate::error::ApiError;

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, name: &str) -> Result<T, ApiError> {
    row.try_get(name).map_err(ApiError::internal)
}

// Professionals ---------------------------------------------------------------------------------

/// A professional as stored, with their weekly hours.
#[derive(Debug, Clone)]
pub struct ProfessionalRow {
    pub id: Uuid,
    pub clinic_id: Uuid,
    pub user_id: Option<Uuid>,
    pub display_name: String,
    pub council: String,
    pub council_uf: String,
    pub council_number: i32,
    pub rqe: Vec<String>,
    pub verification_status: String,
    pub verified_at: Option<DateTime<Utc>>,
    pub certifications: Vec<String>,
    pub buffer_minutes: i32,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub hours: Vec<(i16, NaiveTime, NaiveTime)>,
}

const PRO_COLUMNS: &str = "id, clinic_id, user_id, display_name, council, council_uf::text as council_uf, \
    council_number, rqe, verification_status, verified_at, certifications, buffer_minutes, active, version, \
    created_at, updated_at";

fn professional(row: &Row) -> Result<ProfessionalRow, ApiError> {
    Ok(ProfessionalRow {
        id: get(row, "id")?,
        clinic_id: get(row, "clinic_id")?,
        user_id: get(row, "user_id")?,
        display_name: get(row, "display_name")?,
        council: get(row, "council")?,
        council_uf: get(row, "council_uf")?,
        council_number: get(row, "council_number")?,
        rqe: get(row, "rqe")?,
        verification_status: get(row, "verification_status")?,
        verified_at: get(row, "verified_at")?,
        certifications: get(row, "certifications")?,
        buffer_minutes: get(row, "buffer_minutes")?,
        active: get(row, "active")?,
        version: get(row, "version")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
        hours: Vec::new(),
    })
}

/// Name of the unique constraint on the council registration within a clinic.
pub const PRO_REGISTRATION_UNIQUE: &str =
    "professionals_clinic_id_council_council_uf_council_number_key";
/// Name of the foreign key from a professional to a clinic member.
pub const PRO_MEMBER_FK: &str = "professionals_clinic_id_user_id_fkey";

/// Inserts a professional; the raw error lets the service map constraint violations.
pub async fn insert_professional(
    tx: &Tx,
    clinic_id: Uuid,
    p: &NewProfessional,
) -> Result<Result<Option<Uuid>, tokio_postgres::Error>, ApiError> {
    let council = p.registration.council().as_str();
    let uf = p.registration.uf().to_string();
    let number = p.registration.number() as i32;
    let r = tx
        .query_raw(
            "insert into public.professionals (clinic_id, user_id, display_name, council, council_uf, \
             council_number, rqe, verification_status, verified_at, certifications, buffer_minutes, active) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, case when $8 = 'verified' then now() end, $9, $10, $11) \
             returning id",
            &[
                &clinic_id,
                &p.user_id,
                &p.display_name,
                &council,
                &uf,
                &number,
                &p.rqe,
                &p.verification_status,
                &p.certifications,
                &p.buffer_minutes,
                &p.active,
            ],
        )
        .await?;
    match r {
        Ok(rows) => Ok(Ok(rows.first().map(|row| get(row, "id")).transpose()?)),
        Err(e) => Ok(Err(e)),
    }
}

/// Replaces every column of a professional if `version` is current; returns rows affected.
pub async fn update_professional(
    tx: &Tx,
    clinic_id: Uuid,
    id: Uuid,
    version: i32,
    p: &NewProfessional,
) -> Result<Result<u64, tokio_postgres::Error>, ApiError> {
    let council = p.registration.council().as_str();
    let uf = p.registration.uf().to_string();
    let number = p.registration.number() as i32;
    let r = tx
        .query_raw(
            "update public.professionals set user_id = $4, display_name = $5, council = $6, council_uf = $7, \
             council_number = $8, rqe = $9, verification_status = $10, \
             verified_at = case when $10 = 'verified' then coalesce(verified_at, now()) \
                                when $10 = 'suspended' then verified_at end, \
             certifications = $11, buffer_minutes = $12, active = $13, version = version + 1 \
             where clinic_id = $1 and id = $2 and version = $3 returning id",
            &[
                &clinic_id,
                &id,
                &version,
                &p.user_id,
                &p.display_name,
                &council,
                &uf,
                &number,
                &p.rqe,
                &p.verification_status,
                &p.certifications,
                &p.buffer_minutes,
                &p.active,
            ],
        )
        .await?;
    Ok(r.map(|rows| rows.len() as u64))
}

/// Replaces the weekly hours of a professional.
pub async fn replace_hours(
    tx: &Tx,
    clinic_id: Uuid,
    professional_id: Uuid,
    hours: &[(i16, NaiveTime, NaiveTime)],
) -> Result<(), ApiError> {
    tx.execute(
        "delete from public.professional_hours where clinic_id = $1 and professional_id = $2",
        &[&clinic_id, &professional_id],
    )
    .await?;
    for (weekday, start, end) in hours {
        tx.execute(
            "insert into public.professional_hours (clinic_id, professional_id, weekday, start_time, end_time) \
             values ($1, $2, $3, $4, $5) on conflict do nothing",
            &[&clinic_id, &professional_id, weekday, start, end],
        )
        .await?;
    }
    Ok(())
}

async fn attach_hours(tx: &Tx, pros: &mut [ProfessionalRow]) -> Result<(), ApiError> {
    if pros.is_empty() {
        return Ok(());
    }
    let ids: Vec<Uuid> = pros.iter().map(|p| p.id).collect();
    let rows = tx
        .query(
            "select professional_id, weekday, start_time, end_time from public.professional_hours \
             where professional_id = any($1) order by weekday, start_time",
            &[&ids],
        )
        .await?;
    for r in &rows {
        let pid: Uuid = get(r, "professional_id")?;
        if let Some(p) = pros.iter_mut().find(|p| p.id == pid) {
            p.hours.push((
                get(r, "weekday")?,
                get(r, "start_time")?,
                get(r, "end_time")?,
            ));
        }
    }
    Ok(())
}

/// One professional of the clinic, with hours.
pub async fn find_professional(
    tx: &Tx,
    clinic_id: Uuid,
    id: Uuid,
) -> Result<Option<ProfessionalRow>, ApiError> {
    let sql =
        format!("select {PRO_COLUMNS} from public.professionals where clinic_id = $1 and id = $2");
    let Some(row) = tx.query_opt(&sql, &[&clinic_id, &id]).await? else {
        return Ok(None);
    };
    let mut p = [professional(&row)?];
    attach_hours(tx, &mut p).await?;
    let [p] = p;
    Ok(Some(p))
}

/// Every professional of the clinic (catalogs are small: no pagination).
pub async fn list_professionals(
    tx: &Tx,
    clinic_id: Uuid,
) -> Result<Vec<ProfessionalRow>, ApiError> {
    let sql = format!(
        "select {PRO_COLUMNS} from public.professionals where clinic_id = $1 order by display_name, id limit 500"
    );
    let mut pros = tx
        .query(&sql, &[&clinic_id])
        .await?
        .iter()
        .map(professional)
        .collect::<Result<Vec<_>, _>>()?;
    attach_hours(tx, &mut pros).await?;
    Ok(pros)
}

/// Records time off.
pub async fn insert_time_off(
    tx: &Tx,
    clinic_id: Uuid,
    professional_id: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    reason: &str,
) -> Result<Uuid, ApiError> {
    let row = tx
        .query_one(
            "insert into public.professional_time_off (clinic_id, professional_id, during, reason) \
             values ($1, $2, tstzrange($3, $4, '[)'), $5) returning id",
            &[&clinic_id, &professional_id, &starts_at, &ends_at, &reason],
        )
        .await?;
    get(&row, "id")
}

// Rooms -----------------------------------------------------------------------------------------

/// A room or device.
#[derive(Debug, Clone)]
pub struct RoomRow {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const ROOM_COLUMNS: &str = "id, name, kind, active, version, created_at, updated_at";

fn room(row: &Row) -> Result<RoomRow, ApiError> {
    Ok(RoomRow {
        id: get(row, "id")?,
        name: get(row, "name")?,
        kind: get(row, "kind")?,
        active: get(row, "active")?,
        version: get(row, "version")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

/// Name of the unique constraint on room names within a clinic.
pub const ROOM_NAME_UNIQUE: &str = "rooms_clinic_id_name_key";

/// Inserts a room.
pub async fn insert_room(
    tx: &Tx,
    clinic_id: Uuid,
    r: &NewRoom,
) -> Result<Result<Option<RoomRow>, tokio_postgres::Error>, ApiError> {
    let sql = format!(
        "insert into public.rooms (clinic_id, name, kind, active) values ($1, $2, $3, $4) returning {ROOM_COLUMNS}"
    );
    let res = tx
        .query_raw(&sql, &[&clinic_id, &r.name, &r.kind, &r.active])
        .await?;
    match res {
        Ok(rows) => Ok(Ok(rows.first().map(room).transpose()?)),
        Err(e) => Ok(Err(e)),
    }
}

/// Replaces a room if `version` is current.
pub async fn update_room(
    tx: &Tx,
    clinic_id: Uuid,
    id: Uuid,
    version: i32,
    r: &NewRoom,
) -> Result<Result<Option<RoomRow>, tokio_postgres::Error>, ApiError> {
    let sql = format!(
        "update public.rooms set name = $4, kind = $5, active = $6, version = version + 1 \
         where clinic_id = $1 and id = $2 and version = $3 returning {ROOM_COLUMNS}"
    );
    let res = tx
        .query_raw(
            &sql,
            &[&clinic_id, &id, &version, &r.name, &r.kind, &r.active],
        )
        .await?;
    match res {
        Ok(rows) => Ok(Ok(rows.first().map(room).transpose()?)),
        Err(e) => Ok(Err(e)),
    }
}

/// One room.
pub async fn find_room(tx: &Tx, clinic_id: Uuid, id: Uuid) -> Result<Option<RoomRow>, ApiError> {
    let sql = format!("select {ROOM_COLUMNS} from public.rooms where clinic_id = $1 and id = $2");
    tx.query_opt(&sql, &[&clinic_id, &id])
        .await?
        .as_ref()
        .map(room)
        .transpose()
}

/// Every room of the clinic.
pub async fn list_rooms(tx: &Tx, clinic_id: Uuid) -> Result<Vec<RoomRow>, ApiError> {
    let sql = format!(
        "select {ROOM_COLUMNS} from public.rooms where clinic_id = $1 order by name, id limit 500"
    );
    tx.query(&sql, &[&clinic_id])
        .await?
        .iter()
        .map(room)
        .collect()
}

// Procedures ------------------------------------------------------------------------------------

/// A procedure of the catalog.
#[derive(Debug, Clone)]
pub struct ProcedureRow {
    pub id: Uuid,
    pub name: String,
    pub category: String,
    pub kind: Option<String>,
    pub duration_minutes: i32,
    pub buffer_after_minutes: i32,
    pub session_count: i32,
    pub min_interval_days: Option<i32>,
    pub max_interval_days: Option<i32>,
    pub recovery_days: i32,
    pub touch_up_window_days: Option<i32>,
    pub required_certifications: Vec<String>,
    pub allowed_councils: Vec<String>,
    pub anvisa_registration: Option<String>,
    pub anvisa_expires_on: Option<NaiveDate>,
    pub price_cents: i64,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const PROC_COLUMNS: &str = "id, name, category, kind, duration_minutes, buffer_after_minutes, session_count, \
    min_interval_days, max_interval_days, recovery_days, touch_up_window_days, required_certifications, \
    allowed_councils, anvisa_registration, anvisa_expires_on, price_cents, active, version, created_at, updated_at";

fn procedure(row: &Row) -> Result<ProcedureRow, ApiError> {
    Ok(ProcedureRow {
        id: get(row, "id")?,
        name: get(row, "name")?,
        category: get(row, "category")?,
        kind: get(row, "kind")?,
        duration_minutes: get(row, "duration_minutes")?,
        buffer_after_minutes: get(row, "buffer_after_minutes")?,
        session_count: get(row, "session_count")?,
        min_interval_days: get(row, "min_interval_days")?,
        max_interval_days: get(row, "max_interval_days")?,
        recovery_days: get(row, "recovery_days")?,
        touch_up_window_days: get(row, "touch_up_window_days")?,
        required_certifications: get(row, "required_certifications")?,
        allowed_councils: get(row, "allowed_councils")?,
        anvisa_registration: get(row, "anvisa_registration")?,
        anvisa_expires_on: get(row, "anvisa_expires_on")?,
        price_cents: get(row, "price_cents")?,
        active: get(row, "active")?,
        version: get(row, "version")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

/// Name of the unique constraint on procedure names within a clinic.
pub const PROC_NAME_UNIQUE: &str = "procedures_clinic_id_name_key";

/// Inserts (`id` = None) or replaces (with the expected version) a procedure.
pub async fn save_procedure(
    tx: &Tx,
    clinic_id: Uuid,
    existing: Option<(Uuid, i32)>,
    p: &NewProcedure,
) -> Result<Result<Option<ProcedureRow>, tokio_postgres::Error>, ApiError> {
    let anvisa = p
        .anvisa_registration
        .as_ref()
        .map(|a| a.as_str().to_owned());
    let (id, version) = existing.unwrap_or((Uuid::new_v4(), 0));
    let sql = if existing.is_some() {
        format!(
            "update public.procedures set name = $4, category = $5, kind = $6, duration_minutes = $7, \
             buffer_after_minutes = $8, session_count = $9, min_interval_days = $10, max_interval_days = $11, \
             recovery_days = $12, touch_up_window_days = $13, required_certifications = $14, \
             allowed_councils = $15, anvisa_registration = $16, anvisa_expires_on = $17, price_cents = $18, \
             active = $19, version = version + 1 \
             where clinic_id = $1 and id = $2 and version = $3 returning {PROC_COLUMNS}"
        )
    } else {
        format!(
            "insert into public.procedures (clinic_id, id, name, category, kind, duration_minutes, \
             buffer_after_minutes, session_count, min_interval_days, max_interval_days, recovery_days, \
             touch_up_window_days, required_certifications, allowed_councils, anvisa_registration, \
             anvisa_expires_on, price_cents, active) \
             select $1, $2, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19 \
             where $3::int4 = 0 returning {PROC_COLUMNS}"
        )
    };
    let res = tx
        .query_raw(
            &sql,
            &[
                &clinic_id,
                &id,
                &version,
                &p.name,
                &p.category,
                &p.kind,
                &p.duration_minutes,
                &p.buffer_after_minutes,
                &p.session_count,
                &p.min_interval_days,
                &p.max_interval_days,
                &p.recovery_days,
                &p.touch_up_window_days,
                &p.required_certifications,
                &p.allowed_councils,
                &anvisa,
                &p.anvisa_expires_on,
                &p.price_cents,
                &p.active,
            ],
        )
        .await?;
    match res {
        Ok(rows) => Ok(Ok(rows.first().map(procedure).transpose()?)),
        Err(e) => Ok(Err(e)),
    }
}

/// One procedure.
pub async fn find_procedure(
    tx: &Tx,
    clinic_id: Uuid,
    id: Uuid,
) -> Result<Option<ProcedureRow>, ApiError> {
    let sql =
        format!("select {PROC_COLUMNS} from public.procedures where clinic_id = $1 and id = $2");
    tx.query_opt(&sql, &[&clinic_id, &id])
        .await?
        .as_ref()
        .map(procedure)
        .transpose()
}

/// Every procedure of the clinic.
pub async fn list_procedures(tx: &Tx, clinic_id: Uuid) -> Result<Vec<ProcedureRow>, ApiError> {
    let sql = format!(
        "select {PROC_COLUMNS} from public.procedures where clinic_id = $1 order by name, id limit 500"
    );
    tx.query(&sql, &[&clinic_id])
        .await?
        .iter()
        .map(procedure)
        .collect()
}
