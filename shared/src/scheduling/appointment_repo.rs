//! SQL for appointments: insert/update that the exclusion constraints guard, the conflict
//! listing that follows a violation, the local-time rules, and the filtered list.

use chrono::{DateTime, NaiveDate, Utc};
use tokio_postgres::Row;
use uuid::Uuid;

use crate::crypto::FieldCipher;
use crate::db::Tx;
use crate::error::ApiError;

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, name: &str) -> Result<T, ApiError> {
    row.try_get(name).map_err(ApiError::internal)
}

/// An appointment as stored (the note still encrypted).
#[derive(Debug, Clone)]
pub struct AppointmentRow {
    pub id: Uuid,
    pub clinic_id: Uuid,
    pub patient_id: Uuid,
    pub professional_id: Uuid,
    pub room_id: Option<Uuid>,
    pub procedure_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub blocked_until: DateTime<Utc>,
    pub kind: String,
    pub status: String,
    pub notes_enc: Option<Vec<u8>>,
    pub cancel_reason: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
    pub overridden: bool,
    pub treatment_plan_id: Option<Uuid>,
    pub session_number: Option<i32>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

const COLUMNS: &str = "id, clinic_id, patient_id, professional_id, room_id, procedure_id, starts_at, ends_at, \
    blocked_until, type, status, notes_enc, cancel_reason, cancelled_at, overridden, treatment_plan_id, \
    session_number, version, created_at, updated_at";

fn appointment(row: &Row) -> Result<AppointmentRow, ApiError> {
    Ok(AppointmentRow {
        id: get(row, "id")?,
        clinic_id: get(row, "clinic_id")?,
        patient_id: get(row, "patient_id")?,
        professional_id: get(row, "professional_id")?,
        room_id: get(row, "room_id")?,
        procedure_id: get(row, "procedure_id")?,
        starts_at: get(row, "starts_at")?,
        ends_at: get(row, "ends_at")?,
        blocked_until: get(row, "blocked_until")?,
        kind: get(row, "type")?,
        status: get(row, "status")?,
        notes_enc: get(row, "notes_enc")?,
        cancel_reason: get(row, "cancel_reason")?,
        cancelled_at: get(row, "cancelled_at")?,
        overridden: get(row, "overridden")?,
        treatment_plan_id: get(row, "treatment_plan_id")?,
        session_number: get(row, "session_number")?,
        version: get(row, "version")?,
        created_at: get(row, "created_at")?,
        updated_at: get(row, "updated_at")?,
    })
}

/// Sets a savepoint, so a constraint violation can be undone without losing the transaction.
pub async fn savepoint(tx: &Tx) -> Result<(), ApiError> {
    tx.execute("savepoint booking", &[]).await.map(|_| ())
}

/// Undoes everything since [`savepoint`] (after a failed insert or update).
pub async fn rollback_to_savepoint(tx: &Tx) -> Result<(), ApiError> {
    tx.execute("rollback to savepoint booking", &[])
        .await
        .map(|_| ())
}

/// Inserts an appointment. The raw error lets the service recognise an exclusion violation.
pub async fn insert(
    tx: &Tx,
    a: &AppointmentRow,
    created_by: Uuid,
) -> Result<Result<(), tokio_postgres::Error>, ApiError> {
    let r = tx
        .query_raw(
            "insert into public.appointments (id, clinic_id, patient_id, professional_id, room_id, procedure_id, \
             starts_at, ends_at, blocked_until, type, status, notes_enc, overridden, treatment_plan_id, \
             session_number, created_by) \
             values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, 'scheduled', $11, $12, $13, $14, $15)",
            &[
                &a.id,
                &a.clinic_id,
                &a.patient_id,
                &a.professional_id,
                &a.room_id,
                &a.procedure_id,
                &a.starts_at,
                &a.ends_at,
                &a.blocked_until,
                &a.kind,
                &a.notes_enc,
                &a.overridden,
                &a.treatment_plan_id,
                &a.session_number,
                &created_by,
            ],
        )
        .await?;
    Ok(r.map(|_| ()))
}

/// Moves an appointment (new time, professional, room) if `version` is current.
pub async fn update_slot(
    tx: &Tx,
    a: &AppointmentRow,
    version: i32,
) -> Result<Result<u64, tokio_postgres::Error>, ApiError> {
    let r = tx
        .query_raw(
            "update public.appointments set professional_id = $4, room_id = $5, starts_at = $6, ends_at = $7, \
             blocked_until = $8, overridden = overridden or $9, version = version + 1 \
             where clinic_id = $1 and id = $2 and version = $3 returning id",
            &[
                &a.clinic_id,
                &a.id,
                &version,
                &a.professional_id,
                &a.room_id,
                &a.starts_at,
                &a.ends_at,
                &a.blocked_until,
                &a.overridden,
            ],
        )
        .await?;
    Ok(r.map(|rows| rows.len() as u64))
}

/// Changes the status (and the cancellation fields when cancelling).
pub async fn update_status(
    tx: &Tx,
    clinic_id: Uuid,
    id: Uuid,
    status: &str,
    cancel_reason: Option<&str>,
) -> Result<(), ApiError> {
    let reason = cancel_reason.map(str::to_owned);
    tx.execute(
        "update public.appointments set status = $3, cancel_reason = $4, \
         cancelled_at = case when $3 = 'cancelled' then now() end, version = version + 1 \
         where clinic_id = $1 and id = $2",
        &[&clinic_id, &id, &status, &reason],
    )
    .await
    .map(|_| ())
}

/// One appointment; `for_update` locks it.
pub async fn find(
    tx: &Tx,
    clinic_id: Uuid,
    id: Uuid,
    for_update: bool,
) -> Result<Option<AppointmentRow>, ApiError> {
    let lock = if for_update { " for update" } else { "" };
    let sql =
        format!("select {COLUMNS} from public.appointments where clinic_id = $1 and id = $2{lock}");
    tx.query_opt(&sql, &[&clinic_id, &id])
        .await?
        .as_ref()
        .map(appointment)
        .transpose()
}

/// An active appointment that blocks a requested slot, and which resources it blocks.
#[derive(Debug, Clone)]
pub struct Conflict {
    pub id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub blocked_until: DateTime<Utc>,
    pub professional: bool,
    pub room: bool,
}

/// Every active appointment that overlaps the requested professional range (buffers on both
/// sides, as the constraint sees them) or room range — not only the first.
pub async fn conflicts(
    tx: &Tx,
    wanted: &AppointmentRow,
    exclude: Option<Uuid>,
) -> Result<Vec<Conflict>, ApiError> {
    let rows = tx
        .query(
            "select id, starts_at, ends_at, blocked_until, \
               coalesce(professional_id = $2 and tstzrange(starts_at, blocked_until, '[)') && tstzrange($4, $6, '[)'), false) as pro, \
               coalesce(room_id = $3 and tstzrange(starts_at, ends_at, '[)') && tstzrange($4, $5, '[)'), false) as room \
             from public.appointments \
             where clinic_id = $1 and status in ('scheduled', 'confirmed', 'in_progress') \
               and id is distinct from $7 \
               and ((professional_id = $2 and tstzrange(starts_at, blocked_until, '[)') && tstzrange($4, $6, '[)')) \
                 or (room_id = $3 and tstzrange(starts_at, ends_at, '[)') && tstzrange($4, $5, '[)'))) \
             order by starts_at, id",
            &[
                &wanted.clinic_id,
                &wanted.professional_id,
                &wanted.room_id,
                &wanted.starts_at,
                &wanted.ends_at,
                &wanted.blocked_until,
                &exclude,
            ],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(Conflict {
                id: get(r, "id")?,
                starts_at: get(r, "starts_at")?,
                ends_at: get(r, "ends_at")?,
                blocked_until: get(r, "blocked_until")?,
                professional: get(r, "pro")?,
                room: get(r, "room")?,
            })
        })
        .collect()
}

/// Facts about a requested slot in the clinic's local time.
#[derive(Debug, Clone)]
pub struct SlotFacts {
    /// Inside one block of the professional's working hours (same local day).
    pub within_hours: bool,
    /// Overlaps a period of time off.
    pub time_off: bool,
    /// The local date of the start (for expiry checks).
    pub local_date: NaiveDate,
}

/// Evaluates working hours and time off for `[starts_at, ends_at)` in the clinic's time zone.
pub async fn slot_facts(
    tx: &Tx,
    clinic_id: Uuid,
    professional_id: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
) -> Result<SlotFacts, ApiError> {
    let row = tx
        .query_one(
            "with c as (select coalesce((select timezone from public.clinics where id = $1), 'America/Sao_Paulo') as tz) \
             select \
               exists (select 1 from public.professional_hours h, c \
                       where h.clinic_id = $1 and h.professional_id = $2 \
                         and h.weekday = extract(dow from ($3 at time zone c.tz))::int \
                         and ($3 at time zone c.tz)::date = ($4 at time zone c.tz)::date \
                         and h.start_time <= ($3 at time zone c.tz)::time \
                         and h.end_time >= ($4 at time zone c.tz)::time) as within_hours, \
               exists (select 1 from public.professional_time_off t \
                       where t.clinic_id = $1 and t.professional_id = $2 \
                         and t.during && tstzrange($3, $4, '[)')) as time_off, \
               (select ($3 at time zone c.tz)::date from c) as local_date",
            &[&clinic_id, &professional_id, &starts_at, &ends_at],
        )
        .await?;
    Ok(SlotFacts {
        within_hours: get(&row, "within_hours")?,
        time_off: get(&row, "time_off")?,
        local_date: get(&row, "local_date")?,
    })
}

/// Whether the patient exists in the clinic, and whether the record is restricted (LGPD).
pub async fn patient_state(
    tx: &Tx,
    clinic_id: Uuid,
    patient_id: Uuid,
) -> Result<Option<bool>, ApiError> {
    let row = tx
        .query_opt(
            "select restricted_at is not null as restricted from public.patients where clinic_id = $1 and id = $2",
            &[&clinic_id, &patient_id],
        )
        .await?;
    row.map(|r| get(&r, "restricted")).transpose()
}

/// Filters of the appointment list, already parsed.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    pub professional_id: Option<Uuid>,
    pub patient_id: Option<Uuid>,
    pub room_id: Option<Uuid>,
    pub status: Option<String>,
    pub after: Option<(DateTime<Utc>, Uuid)>,
    pub limit: i64,
}

/// One page of appointments ordered by start time.
pub async fn list(
    tx: &Tx,
    clinic_id: Uuid,
    f: &ListFilter,
) -> Result<Vec<AppointmentRow>, ApiError> {
    let (after_t, after_i) = f
        .after
        .map(|(t, i)| (Some(t), Some(i)))
        .unwrap_or((None, None));
    let sql = format!(
        "select {COLUMNS} from public.appointments where clinic_id = $1 \
         and ($2::timestamptz is null or ends_at > $2) and ($3::timestamptz is null or starts_at < $3) \
         and ($4::uuid is null or professional_id = $4) and ($5::uuid is null or patient_id = $5) \
         and ($6::uuid is null or room_id = $6) and ($7::text is null or status = $7) \
         and ($8::timestamptz is null or (starts_at, id) > ($8, $9::uuid)) \
         and not exists (select 1 from public.patients p where p.clinic_id = $1 \
                          and p.id = appointments.patient_id and p.restricted_at is not null) \
         order by starts_at, id limit $10"
    );
    tx.query(
        &sql,
        &[
            &clinic_id,
            &f.from,
            &f.to,
            &f.professional_id,
            &f.patient_id,
            &f.room_id,
            &f.status,
            &after_t,
            &after_i,
            &f.limit,
        ],
    )
    .await?
    .iter()
    .map(appointment)
    .collect()
}

/// A free start time and its local date in the clinic's time zone.
#[derive(Debug, Clone)]
pub struct FreeSlot {
    pub starts_at: DateTime<Utc>,
    pub local_date: NaiveDate,
    /// Local wall-clock time of the start.
    pub local_time: chrono::NaiveTime,
    /// Local weekday of the start (0 = Sunday).
    pub local_weekday: i32,
}

/// What an availability search asks for.
#[derive(Debug, Clone)]
pub struct SlotQuery {
    pub clinic_id: Uuid,
    pub professional_id: Uuid,
    pub room_id: Option<Uuid>,
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub duration_minutes: i32,
    pub buffer_minutes: i32,
    pub step_minutes: i32,
}

/// Every start in `[from, to)` on a `step` grid where a booking would pass the same rules the
/// booking path applies: inside one block of working hours (local time, same day), no time off,
/// no active appointment of the professional overlapping `[start, end + buffer)` in either
/// direction (the constraint's view), and, with a room, none in the room overlapping
/// `[start, end)`.
///
/// The busy times are read once per query (index scans bounded by the window) and folded into
/// multiranges, so each candidate costs one `&&` on a multirange whatever the calendar holds,
/// and the plan does not depend on the tables' statistics (per-candidate `NOT EXISTS` probes
/// took 10× longer when a bulk of new appointments was not yet analysed).
pub async fn free_slots(tx: &Tx, q: &SlotQuery) -> Result<Vec<FreeSlot>, ApiError> {
    let rows = tx
        .query(
            "with c as (select coalesce((select timezone from public.clinics where id = $1), 'America/Sao_Paulo') as tz), \
             cand as ( \
               select s, s + make_interval(mins => $6) as e, s + make_interval(mins => $6 + $7) as b \
               from generate_series($4::timestamptz, $5::timestamptz - interval '1 microsecond', make_interval(mins => $8)) s \
             ), \
             win as (select tstzrange($4::timestamptz, $5::timestamptz + make_interval(mins => $6 + $7), '[)') as r), \
             busy as ( \
               select \
                 (select coalesce(range_agg(tstzrange(a.starts_at, a.blocked_until, '[)')), '{}'::tstzmultirange) \
                    from public.appointments a, win \
                   where a.clinic_id = $1 and a.professional_id = $2 \
                     and a.status in ('scheduled', 'confirmed', 'in_progress') \
                     and tstzrange(a.starts_at, a.blocked_until, '[)') && win.r) as pro, \
                 (select coalesce(range_agg(tstzrange(a.starts_at, a.ends_at, '[)')), '{}'::tstzmultirange) \
                    from public.appointments a, win \
                   where $3::uuid is not null and a.clinic_id = $1 and a.room_id = $3 \
                     and a.status in ('scheduled', 'confirmed', 'in_progress') \
                     and tstzrange(a.starts_at, a.ends_at, '[)') && win.r) as room, \
                 (select coalesce(range_agg(t.during), '{}'::tstzmultirange) \
                    from public.professional_time_off t, win \
                   where t.clinic_id = $1 and t.professional_id = $2 and t.during && win.r) as off \
             ) \
             select cand.s as starts_at, (cand.s at time zone c.tz)::date as local_date, \
                    (cand.s at time zone c.tz)::time as local_time, \
                    extract(dow from (cand.s at time zone c.tz))::int as local_weekday from cand, c, busy \
             where exists (select 1 from public.professional_hours h \
                           where h.clinic_id = $1 and h.professional_id = $2 \
                             and h.weekday = extract(dow from (cand.s at time zone c.tz))::int \
                             and (cand.s at time zone c.tz)::date = (cand.e at time zone c.tz)::date \
                             and h.start_time <= (cand.s at time zone c.tz)::time \
                             and h.end_time >= (cand.e at time zone c.tz)::time) \
               and not (busy.off && tstzrange(cand.s, cand.e, '[)')) \
               and not (busy.pro && tstzrange(cand.s, cand.b, '[)')) \
               and not (busy.room && tstzrange(cand.s, cand.e, '[)')) \
             order by cand.s",
            &[
                &q.clinic_id,
                &q.professional_id,
                &q.room_id,
                &q.from,
                &q.to,
                &q.duration_minutes,
                &q.buffer_minutes,
                &q.step_minutes,
            ],
        )
        .await?;
    rows.iter()
        .map(|r| {
            Ok(FreeSlot {
                starts_at: get(r, "starts_at")?,
                local_date: get(r, "local_date")?,
                local_time: get(r, "local_time")?,
                local_weekday: get(r, "local_weekday")?,
            })
        })
        .collect()
}

/// Appointments whose notes are sealed with a key other than `current` (key rotation; the key id
/// is bytes 1–4 of the envelope). Service path only.
pub async fn notes_sealed_with_other_key(
    tx: &Tx,
    current: i32,
    limit: i64,
) -> Result<Vec<(Uuid, Uuid, Vec<u8>)>, ApiError> {
    let sql = format!(
        "select id, clinic_id, notes_enc from public.appointments where {} \
         order by id limit $2 for update skip locked",
        FieldCipher::stale_key_sql("notes_enc", "$1")
    );
    tx.query(&sql, &[&current, &limit])
        .await?
        .iter()
        .map(|r| Ok((get(r, "id")?, get(r, "clinic_id")?, get(r, "notes_enc")?)))
        .collect()
}

/// Replaces an appointment's sealed notes (key rotation; the version is not bumped: the
/// content is unchanged).
pub async fn update_notes(tx: &Tx, id: Uuid, sealed: &[u8]) -> Result<u64, ApiError> {
    tx.execute(
        "update public.appointments set notes_enc = $2 where id = $1",
        &[&id, &sealed],
    )
    .await
}

/// Stores the sealed reason of an override (see migration `…000600`).
pub async fn insert_override(
    tx: &Tx,
    id: Uuid,
    a: &AppointmentRow,
    kind: &str,
    rule_ids: &[String],
    reason_enc: &[u8],
    created_by: Uuid,
) -> Result<(), ApiError> {
    let rule_ids = rule_ids.to_vec();
    tx.execute(
        "insert into public.appointment_overrides \
         (id, clinic_id, appointment_id, kind, rule_ids, reason_enc, created_by) \
         values ($1, $2, $3, $4, $5, $6, $7)",
        &[
            &id,
            &a.clinic_id,
            &a.id,
            &kind,
            &rule_ids,
            &reason_enc,
            &created_by,
        ],
    )
    .await?;
    Ok(())
}

/// Overrides whose reason is sealed with a key other than `current` (key rotation).
pub async fn overrides_sealed_with_other_key(
    tx: &Tx,
    current: i32,
    limit: i64,
) -> Result<Vec<(Uuid, Uuid, Vec<u8>)>, ApiError> {
    let sql = format!(
        "select id, clinic_id, reason_enc from public.appointment_overrides where {} \
         order by id limit $2 for update skip locked",
        FieldCipher::stale_key_sql("reason_enc", "$1")
    );
    tx.query(&sql, &[&current, &limit])
        .await?
        .iter()
        .map(|r| Ok((get(r, "id")?, get(r, "clinic_id")?, get(r, "reason_enc")?)))
        .collect()
}

/// Replaces an override's sealed reason (key rotation).
pub async fn update_override_reason(tx: &Tx, id: Uuid, sealed: &[u8]) -> Result<u64, ApiError> {
    tx.execute(
        "update public.appointment_overrides set reason_enc = $2 where id = $1",
        &[&id, &sealed],
    )
    .await
}

/// Cancels a patient's future active appointments (`patient_restricted`), returning their ids.
pub async fn cancel_future_of_patient(
    tx: &Tx,
    clinic_id: Uuid,
    patient_id: Uuid,
) -> Result<Vec<Uuid>, ApiError> {
    tx.query(
        "update public.appointments set status = 'cancelled', cancel_reason = 'patient_restricted', \
         cancelled_at = now(), version = version + 1 \
         where clinic_id = $1 and patient_id = $2 and status in ('scheduled', 'confirmed') \
           and starts_at > now() \
         returning id",
        &[&clinic_id, &patient_id],
    )
    .await?
    .iter()
    .map(|r| get(r, "id"))
    .collect()
}
