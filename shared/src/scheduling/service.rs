//! Appointment rules: compliance gates (council verification, certifications, ANVISA), local
//! working hours and time off (admin override, audited), the status machine, and the
//! database-enforced no-double-booking with a 409 that lists every blocking appointment.
//!
//! The overlap check is **not** a query before the insert (two requests could both pass it):
//! the insert itself is refused by the exclusion constraints. On SQLSTATE 23P01 the service
//! rolls back to a savepoint and only then lists the blocking appointments, in the same
//! transaction; under READ COMMITTED that listing sees the committed winner.

use chrono::{DateTime, Duration, Utc};
use serde_json::{Value, json};
use tokio_postgres::error::SqlState;
use uuid::Uuid;

use super::appointment_repo::{self as repo, AppointmentRow, Conflict, ListFilter};
use super::contraindications::{self, Checker, Finding};
use super::model::{ANVISA_REQUIRED, NewAppointment, Reschedule, Status};
use super::repo::{self as catalog, ProcedureRow, ProfessionalRow};
use crate::audit::{self, Event, Outcome, Risk};
use crate::crypto::{FieldCipher, Place};
use crate::db::{Tx, map_pg_error};
use crate::error::{ApiError, Msg};
use crate::tenancy::{Action, Actor, Role, allowed};

const TABLE: &str = "appointments";

/// An appointment with its note decrypted (in memory for the request only).
#[derive(Debug, Clone)]
pub struct Appointment {
    pub row: AppointmentRow,
    pub notes: Option<String>,
}

fn unprocessable(code: &'static str, detail: Msg, extra: Option<Value>) -> ApiError {
    ApiError::Unprocessable {
        code,
        detail,
        extra,
    }
}

fn reference(field: &str) -> ApiError {
    ApiError::field(
        field,
        "not_found",
        Msg::new(
            "Registro não encontrado nesta clínica ou inativo.",
            "Record not found in this clinic, or inactive.",
        ),
    )
}

/// The buffer blocked after an appointment: the larger of the professional's default and the
/// procedure's own (cleaning a laser room takes longer than a toxin touch-up).
pub fn buffer_minutes(pro: &ProfessionalRow, procedure: &ProcedureRow) -> i32 {
    pro.buffer_minutes.max(procedure.buffer_after_minutes)
}

/// The compliance gates of a booking (422): a verified, active professional of an allowed
/// council holding every required certification, and a present, unexpired ANVISA registration
/// for categories that need one.
pub fn compliance(
    pro: &ProfessionalRow,
    procedure: &ProcedureRow,
    local_date: chrono::NaiveDate,
) -> Result<(), ApiError> {
    if !pro.active || pro.verification_status != "verified" {
        return Err(unprocessable(
            "professional_not_verified",
            Msg::new(
                "O registro do profissional no conselho não está verificado e ativo.",
                "The professional's council registration is not verified and active.",
            ),
            Some(json!({ "verificationStatus": pro.verification_status, "active": pro.active })),
        ));
    }
    if !procedure.allowed_councils.is_empty() && !procedure.allowed_councils.contains(&pro.council)
    {
        return Err(unprocessable(
            "council_not_allowed",
            Msg::new(
                "O conselho do profissional não permite realizar este procedimento.",
                "The professional's council does not allow this procedure.",
            ),
            Some(json!({ "council": pro.council, "allowedCouncils": procedure.allowed_councils })),
        ));
    }
    let missing: Vec<&String> = procedure
        .required_certifications
        .iter()
        .filter(|c| !pro.certifications.contains(c))
        .collect();
    if !missing.is_empty() {
        return Err(unprocessable(
            "missing_certification",
            Msg::new(
                "O profissional não possui as certificações exigidas pelo procedimento.",
                "The professional lacks certifications the procedure requires.",
            ),
            Some(json!({ "missing": missing })),
        ));
    }
    if ANVISA_REQUIRED.contains(&procedure.category.as_str()) {
        if procedure.anvisa_registration.is_none() {
            return Err(unprocessable(
                "anvisa_registration_missing",
                Msg::new(
                    "O procedimento exige registro ANVISA do produto ou equipamento.",
                    "The procedure requires an ANVISA registration of its product or device.",
                ),
                None,
            ));
        }
        if procedure.anvisa_expires_on.is_some_and(|d| d < local_date) {
            return Err(unprocessable(
                "anvisa_registration_expired",
                Msg::new(
                    "O registro ANVISA do produto ou equipamento está vencido na data do atendimento.",
                    "The ANVISA registration of the product or device is expired on the appointment date.",
                ),
                Some(json!({ "expiresOn": procedure.anvisa_expires_on })),
            ));
        }
    }
    Ok(())
}

fn conflict_error(conflicts: &[Conflict]) -> ApiError {
    let list: Vec<Value> = conflicts
        .iter()
        .map(|c| {
            let mut resources = Vec::new();
            if c.professional {
                resources.push("professional");
            }
            if c.room {
                resources.push("room");
            }
            json!({
                "appointmentId": c.id,
                "startsAt": c.starts_at,
                "endsAt": c.ends_at,
                "blockedUntil": c.blocked_until,
                "resources": resources,
            })
        })
        .collect();
    ApiError::Conflict {
        code: "appointment_conflict",
        detail: Msg::new(
            "O horário conflita com outros agendamentos do profissional ou da sala.",
            "The slot conflicts with other appointments of the professional or room.",
        ),
        extra: Some(json!({ "conflicts": list })),
    }
}

fn is_exclusion(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::EXCLUSION_VIOLATION)
}

/// Loaded references of a booking.
pub(super) struct Refs {
    pub(super) pro: ProfessionalRow,
    pub(super) procedure: ProcedureRow,
}

pub(super) async fn load_refs(
    tx: &Tx,
    clinic_id: Uuid,
    professional_id: Uuid,
    procedure_id: Uuid,
    room_id: Option<Uuid>,
) -> Result<Refs, ApiError> {
    let pro = catalog::find_professional(tx, clinic_id, professional_id)
        .await?
        .ok_or_else(|| reference("professionalId"))?;
    let procedure = catalog::find_procedure(tx, clinic_id, procedure_id)
        .await?
        .filter(|p| p.active)
        .ok_or_else(|| reference("procedureId"))?;
    if let Some(room_id) = room_id {
        catalog::find_room(tx, clinic_id, room_id)
            .await?
            .filter(|r| r.active)
            .ok_or_else(|| reference("roomId"))?;
    }
    Ok(Refs { pro, procedure })
}

/// Working hours and time off: 409 with the reason, unless an admin overrides with a reason.
/// Returns the rules that were overridden (for the audit trail).
async fn schedule_rules(
    tx: &Tx,
    actor: &Actor,
    professional_id: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    override_reason: Option<&str>,
) -> Result<(Vec<&'static str>, chrono::NaiveDate), ApiError> {
    let facts = repo::slot_facts(tx, actor.clinic_id, professional_id, starts_at, ends_at).await?;
    let mut broken = Vec::new();
    if !facts.within_hours {
        broken.push("outside_working_hours");
    }
    if facts.time_off {
        broken.push("professional_time_off");
    }
    if broken.is_empty() {
        return Ok((broken, facts.local_date));
    }
    match override_reason {
        Some(_) if actor.role == Role::Admin => Ok((broken, facts.local_date)),
        Some(_) => Err(ApiError::Forbidden {
            code: "override_forbidden",
            detail: Msg::new(
                "Somente administradores podem ignorar a agenda do profissional.",
                "Only admins may override the professional's schedule.",
            ),
        }),
        None => {
            let (code, detail) = if facts.time_off {
                (
                    "professional_time_off",
                    Msg::new(
                        "O profissional está afastado neste horário.",
                        "The professional is off at this time.",
                    ),
                )
            } else {
                (
                    "outside_working_hours",
                    Msg::new(
                        "Fora do horário de atendimento do profissional.",
                        "Outside the professional's working hours.",
                    ),
                )
            };
            Err(ApiError::Conflict {
                code,
                detail,
                extra: Some(json!({ "reasons": broken })),
            })
        }
    }
}

/// Records an admin's override of working hours or time off: which rules in the audit trail,
/// why (the typed justification) sealed in `appointment_overrides`.
async fn audit_override(
    tx: &Tx,
    cipher: &FieldCipher,
    actor: &Actor,
    a: &AppointmentRow,
    rules: &[&'static str],
    reason: &str,
) -> Result<(), ApiError> {
    let rules: Vec<String> = rules.iter().map(|r| (*r).to_owned()).collect();
    let override_id = store_override(tx, cipher, actor, a, "schedule", &rules, reason).await?;
    audit::record(
        tx,
        actor,
        Event {
            patient_id: Some(a.patient_id),
            action: "appointment.override",
            resource_type: "appointment",
            resource_id: Some(a.id),
            outcome: Outcome::Success,
            risk: Risk::Critical,
            details: json!({ "rules": rules, "overrideId": override_id }),
        },
    )
    .await
}

/// Seals the typed reason of an override into `appointment_overrides` and returns its id,
/// which the audit event carries instead of the text (events hold ids and codes only; the
/// reason may name people or conditions).
async fn store_override(
    tx: &Tx,
    cipher: &FieldCipher,
    actor: &Actor,
    a: &AppointmentRow,
    kind: &str,
    rule_ids: &[String],
    reason: &str,
) -> Result<Uuid, ApiError> {
    let id = Uuid::new_v4();
    let sealed = cipher
        .encrypt_str(
            &Place::new(OVERRIDES_TABLE, "reason_enc", id, a.clinic_id),
            reason,
        )
        .map_err(ApiError::internal)?;
    repo::insert_override(tx, id, a, kind, rule_ids, &sealed, actor.user_id).await?;
    Ok(id)
}

/// Table of the sealed override reasons.
const OVERRIDES_TABLE: &str = "appointment_overrides";

fn seal_notes(
    cipher: &FieldCipher,
    row: &AppointmentRow,
    notes: Option<&str>,
) -> Result<Option<Vec<u8>>, ApiError> {
    notes
        .map(|n| {
            cipher
                .encrypt_str(&Place::new(TABLE, "notes_enc", row.id, row.clinic_id), n)
                .map_err(ApiError::internal)
        })
        .transpose()
}

/// Key rotation: re-seals, with the current key, up to `limit` appointment notes and up to
/// `limit` override reasons sealed with an older key. Service path only (like the patients' batch); returns how many rows were
/// rewritten (0 when done).
pub async fn reencrypt_batch(tx: &Tx, cipher: &FieldCipher, limit: i64) -> Result<u64, ApiError> {
    let current = i32::try_from(cipher.ring().current_key_id()).map_err(ApiError::internal)?;
    let mut done = 0;
    for (id, clinic_id, envelope) in repo::notes_sealed_with_other_key(tx, current, limit).await? {
        let at = Place::new(TABLE, "notes_enc", id, clinic_id);
        if let Some(sealed) = cipher.reseal(&at, &envelope).map_err(ApiError::internal)? {
            done += repo::update_notes(tx, id, &sealed).await?;
        }
    }
    for (id, clinic_id, envelope) in
        repo::overrides_sealed_with_other_key(tx, current, limit).await?
    {
        let at = Place::new(OVERRIDES_TABLE, "reason_enc", id, clinic_id);
        if let Some(sealed) = cipher.reseal(&at, &envelope).map_err(ApiError::internal)? {
            done += repo::update_override_reason(tx, id, &sealed).await?;
        }
    }
    Ok(done)
}

fn open(cipher: &FieldCipher, row: AppointmentRow, role: Role) -> Result<Appointment, ApiError> {
    let notes = match (&row.notes_enc, role) {
        (_, Role::Patient) | (None, _) => None,
        (Some(env), _) => Some(
            cipher
                .decrypt_string(&Place::new(TABLE, "notes_enc", row.id, row.clinic_id), env)
                .map_err(ApiError::internal)?
                .to_string(),
        ),
    };
    Ok(Appointment { row, notes })
}

/// How often a guarded write is retried after a deadlock between concurrent bookings.
const DEADLOCK_RETRIES: usize = 3;

/// Inserts (or, with `version`, moves) under a savepoint; an exclusion violation becomes a
/// 409 listing every blocking appointment.
///
/// Two concurrent bookings of the same slot can each find the other's uncommitted row and wait
/// for each other; PostgreSQL then aborts one with a deadlock (40P01). That statement is rolled
/// back to the savepoint and retried: the retry waits for the other transaction and then either
/// succeeds or meets a committed row (23P01), so a deadlock never surfaces as a 503.
async fn write_guarded(
    tx: &Tx,
    row: &AppointmentRow,
    actor: &Actor,
    version: Option<i32>,
) -> Result<AppointmentRow, ApiError> {
    let mut attempt = 0;
    loop {
        attempt += 1;
        repo::savepoint(tx).await?;
        let result = match version {
            None => repo::insert(tx, row, actor.user_id).await?.map(|()| 1),
            Some(v) => repo::update_slot(tx, row, v).await?,
        };
        return match result {
            // Read back what was stored: the database sets the timestamps and the version.
            Ok(1) => load(tx, actor, row.id, false).await,
            Ok(_) => Err(ApiError::PreconditionFailed),
            Err(e) if is_exclusion(&e) => {
                repo::rollback_to_savepoint(tx).await?;
                let conflicts = repo::conflicts(tx, row, version.map(|_| row.id)).await?;
                Err(conflict_error(&conflicts))
            }
            Err(e) if is_deadlock(&e) && attempt < DEADLOCK_RETRIES => {
                repo::rollback_to_savepoint(tx).await?;
                continue;
            }
            Err(e) => Err(map_pg_error(e)),
        };
    }
}

fn is_deadlock(e: &tokio_postgres::Error) -> bool {
    e.code() == Some(&SqlState::T_R_DEADLOCK_DETECTED)
}

/// A booking and the relative contraindication findings it carries as warnings.
#[derive(Debug, Clone)]
pub struct Booked {
    pub appointment: Appointment,
    pub warnings: Vec<Finding>,
}

/// Where a booking sits in a treatment plan.
#[derive(Debug, Clone, Copy)]
pub struct PlanSlot {
    pub plan_id: Uuid,
    pub session_number: i32,
}

/// Books an appointment (see the module doc for the order of checks).
pub async fn book(
    tx: &Tx,
    cipher: &FieldCipher,
    actor: &Actor,
    input: &NewAppointment,
) -> Result<Booked, ApiError> {
    book_in_plan(tx, cipher, actor, input, None).await
}

/// Runs the contraindication check of a booking or a move: blocking findings refuse it (422)
/// unless a clinician or admin overrides with a reason. Returns the overridden rule ids and
/// the relative findings. `exclude` leaves out the appointment being moved (it must not count
/// as its own "recent procedure").
#[expect(
    clippy::too_many_arguments,
    reason = "one call site per booking path, all ids"
)]
async fn clinical_gate(
    tx: &Tx,
    cipher: &FieldCipher,
    actor: &Actor,
    patient_id: Uuid,
    clinical_override: Option<&str>,
    procedure: &ProcedureRow,
    local_date: chrono::NaiveDate,
    exclude: Option<Uuid>,
) -> Result<(Vec<String>, Vec<Finding>), ApiError> {
    let checker = Checker::load(
        tx, cipher, actor, patient_id, local_date, local_date, exclude,
    )
    .await?;
    let assessment = checker.assess(procedure, local_date, &[]);
    let blocking = assessment.blocking();
    let mut overridden = Vec::new();
    if !blocking.is_empty() {
        match clinical_override {
            None => return Err(contraindications::contraindicated(&blocking, actor.role)),
            Some(_) if !allowed(actor.role, Action::ClinicalOverride) => {
                return Err(ApiError::Forbidden {
                    code: "clinical_override_forbidden",
                    detail: Msg::new(
                        "Somente profissionais clínicos ou administradores podem prosseguir apesar de uma contraindicação.",
                        "Only clinicians or admins may proceed despite a contraindication.",
                    ),
                });
            }
            Some(_) => overridden = blocking.iter().map(|f| f.rule_id.clone()).collect(),
        }
    }
    Ok((overridden, assessment.relative))
}

/// Records a clinician's decision to proceed despite blocking findings: who and which rules in
/// the audit trail, why (the typed justification) sealed in `appointment_overrides`.
async fn audit_clinical_override(
    tx: &Tx,
    cipher: &FieldCipher,
    actor: &Actor,
    row: &AppointmentRow,
    rule_ids: &[String],
    reason: &str,
) -> Result<(), ApiError> {
    let override_id = store_override(tx, cipher, actor, row, "clinical", rule_ids, reason).await?;
    audit::record(
        tx,
        actor,
        Event {
            patient_id: Some(row.patient_id),
            action: "appointment.clinical_override",
            resource_type: "appointment",
            resource_id: Some(row.id),
            outcome: Outcome::Success,
            risk: Risk::Critical,
            details: json!({ "ruleIds": rule_ids, "overrideId": override_id, "startsAt": row.starts_at }),
        },
    )
    .await
}

/// Books an appointment, optionally as session `n` of a treatment plan.
pub async fn book_in_plan(
    tx: &Tx,
    cipher: &FieldCipher,
    actor: &Actor,
    input: &NewAppointment,
    plan: Option<PlanSlot>,
) -> Result<Booked, ApiError> {
    match repo::patient_state(tx, actor.clinic_id, input.patient_id).await? {
        None => return Err(reference("patientId")),
        Some(true) => {
            return Err(ApiError::Conflict {
                code: "patient_restricted",
                detail: Msg::new(
                    "O cadastro está bloqueado (LGPD) e não pode ser usado.",
                    "The record is restricted (LGPD) and cannot be used.",
                ),
                extra: None,
            });
        }
        Some(false) => {}
    }
    let refs = load_refs(
        tx,
        actor.clinic_id,
        input.professional_id,
        input.procedure_id,
        input.room_id,
    )
    .await?;
    let ends_at = input
        .ends_at
        .unwrap_or(input.starts_at + Duration::minutes(i64::from(refs.procedure.duration_minutes)));
    let buffer = buffer_minutes(&refs.pro, &refs.procedure);
    let (overridden, local_date) = schedule_rules(
        tx,
        actor,
        input.professional_id,
        input.starts_at,
        ends_at,
        input.schedule_override.as_deref(),
    )
    .await?;
    compliance(&refs.pro, &refs.procedure, local_date)?;
    let (clinical_overridden, warnings) = clinical_gate(
        tx,
        cipher,
        actor,
        input.patient_id,
        input.clinical_override.as_deref(),
        &refs.procedure,
        local_date,
        None,
    )
    .await?;
    let now = Utc::now();
    let mut row = AppointmentRow {
        id: Uuid::new_v4(),
        clinic_id: actor.clinic_id,
        patient_id: input.patient_id,
        professional_id: input.professional_id,
        room_id: input.room_id,
        procedure_id: input.procedure_id,
        starts_at: input.starts_at,
        ends_at,
        blocked_until: ends_at + Duration::minutes(i64::from(buffer)),
        kind: input.kind.clone(),
        status: Status::Scheduled.as_str().to_owned(),
        notes_enc: None,
        cancel_reason: None,
        cancelled_at: None,
        overridden: !overridden.is_empty() || !clinical_overridden.is_empty(),
        treatment_plan_id: plan.map(|p| p.plan_id),
        session_number: plan.map(|p| p.session_number),
        version: 1,
        created_at: now,
        updated_at: now,
    };
    row.notes_enc = seal_notes(cipher, &row, input.notes.as_deref())?;
    let row = write_guarded(tx, &row, actor, None).await?;
    audit::record(
        tx,
        actor,
        Event {
            patient_id: Some(row.patient_id),
            action: "appointment.create",
            resource_type: "appointment",
            resource_id: Some(row.id),
            outcome: Outcome::Success,
            risk: Risk::Medium,
            details: json!({
                "professionalId": row.professional_id,
                "procedureId": row.procedure_id,
                "roomId": row.room_id,
                "overridden": row.overridden,
                "treatmentPlanId": row.treatment_plan_id,
                "sessionNumber": row.session_number,
                "warningRuleIds": warnings.iter().map(|f| f.rule_id.as_str()).collect::<Vec<_>>(),
            }),
        },
    )
    .await?;
    if let Some(reason) = &input.schedule_override
        && !overridden.is_empty()
    {
        audit_override(tx, cipher, actor, &row, &overridden, reason).await?;
    }
    if let Some(reason) = &input.clinical_override
        && !clinical_overridden.is_empty()
    {
        audit_clinical_override(tx, cipher, actor, &row, &clinical_overridden, reason).await?;
    }
    Ok(Booked {
        appointment: Appointment {
            notes: input.notes.clone(),
            row,
        },
        warnings,
    })
}

async fn load(
    tx: &Tx,
    actor: &Actor,
    id: Uuid,
    for_update: bool,
) -> Result<AppointmentRow, ApiError> {
    repo::find(tx, actor.clinic_id, id, for_update)
        .await?
        .ok_or(ApiError::NotFound)
}

fn invalid_transition(from: &str, to: &str) -> ApiError {
    ApiError::Conflict {
        code: "invalid_status_transition",
        detail: Msg::new(
            "Esta mudança de status não é permitida.",
            "This status change is not allowed.",
        ),
        extra: Some(json!({ "from": from, "to": to })),
    }
}

/// Moves an appointment to a new time (and optionally professional/room) if `version` is
/// current, re-running every booking rule.
pub async fn reschedule(
    tx: &Tx,
    cipher: &FieldCipher,
    actor: &Actor,
    id: Uuid,
    version: i32,
    input: &Reschedule,
) -> Result<Booked, ApiError> {
    let mut row = load(tx, actor, id, true).await?;
    if row.version != version {
        return Err(ApiError::PreconditionFailed);
    }
    let status = Status::parse(&row.status).unwrap_or(Status::Completed);
    if !matches!(status, Status::Scheduled | Status::Confirmed) {
        return Err(invalid_transition(&row.status, "rescheduled"));
    }
    let professional_id = input.professional_id.unwrap_or(row.professional_id);
    let room_id = input.room_id.or(row.room_id);
    let refs = load_refs(
        tx,
        actor.clinic_id,
        professional_id,
        row.procedure_id,
        room_id,
    )
    .await?;
    let ends_at = input
        .ends_at
        .unwrap_or(input.starts_at + Duration::minutes(i64::from(refs.procedure.duration_minutes)));
    let (overridden, local_date) = schedule_rules(
        tx,
        actor,
        professional_id,
        input.starts_at,
        ends_at,
        input.schedule_override.as_deref(),
    )
    .await?;
    compliance(&refs.pro, &refs.procedure, local_date)?;
    // The new date is checked again: a washout or an age limit depends on it.
    let (clinical_overridden, warnings) = clinical_gate(
        tx,
        cipher,
        actor,
        row.patient_id,
        input.clinical_override.as_deref(),
        &refs.procedure,
        local_date,
        Some(row.id),
    )
    .await?;
    let before = (row.starts_at, row.ends_at, row.professional_id, row.room_id);
    row.professional_id = professional_id;
    row.room_id = room_id;
    row.starts_at = input.starts_at;
    row.ends_at = ends_at;
    row.blocked_until =
        ends_at + Duration::minutes(i64::from(buffer_minutes(&refs.pro, &refs.procedure)));
    row.overridden = !overridden.is_empty() || !clinical_overridden.is_empty();
    let row = write_guarded(tx, &row, actor, Some(version)).await?;
    if let Some(plan_id) = row.treatment_plan_id {
        // A plan session may not come earlier than the minimum interval after the previous one
        // (nor the next one earlier than that after this one).
        let broken: Vec<_> = super::plans::plan_violations(tx, actor.clinic_id, plan_id)
            .await?
            .into_iter()
            .filter(|v| v.rule == "min_interval")
            .collect();
        if !broken.is_empty() {
            return Err(super::plans::interval_error(&broken));
        }
    }
    audit::record(
        tx,
        actor,
        Event {
            patient_id: Some(row.patient_id),
            action: "appointment.reschedule",
            resource_type: "appointment",
            resource_id: Some(row.id),
            outcome: Outcome::Success,
            risk: Risk::Medium,
            details: json!({
                "from": { "startsAt": before.0, "endsAt": before.1, "professionalId": before.2, "roomId": before.3 },
                "to": { "startsAt": row.starts_at, "endsAt": row.ends_at, "professionalId": row.professional_id, "roomId": row.room_id },
                "version": row.version,
            }),
        },
    )
    .await?;
    if let Some(reason) = &input.schedule_override
        && !overridden.is_empty()
    {
        audit_override(tx, cipher, actor, &row, &overridden, reason).await?;
    }
    if let Some(reason) = &input.clinical_override
        && !clinical_overridden.is_empty()
    {
        audit_clinical_override(tx, cipher, actor, &row, &clinical_overridden, reason).await?;
    }
    let row = load(tx, actor, id, false).await?;
    Ok(Booked {
        appointment: open(cipher, row, actor.role)?,
        warnings,
    })
}

/// Applies a status change allowed by the status machine (409 otherwise).
pub async fn change_status(
    tx: &Tx,
    cipher: &FieldCipher,
    actor: &Actor,
    id: Uuid,
    next: Status,
    reason: Option<&str>,
) -> Result<Appointment, ApiError> {
    let row = load(tx, actor, id, true).await?;
    let current = Status::parse(&row.status)
        .ok_or_else(|| ApiError::internal(std::io::Error::other("unknown stored status")))?;
    if !current.can_become(next) {
        return Err(invalid_transition(current.as_str(), next.as_str()));
    }
    repo::update_status(tx, actor.clinic_id, id, next.as_str(), reason).await?;
    let action = if next == Status::Cancelled {
        "appointment.cancel"
    } else {
        "appointment.status"
    };
    audit::record(
        tx,
        actor,
        Event {
            patient_id: Some(row.patient_id),
            action,
            resource_type: "appointment",
            resource_id: Some(id),
            outcome: Outcome::Success,
            risk: Risk::Medium,
            details: json!({ "from": current.as_str(), "to": next.as_str(), "reason": reason }),
        },
    )
    .await?;
    let row = load(tx, actor, id, false).await?;
    open(cipher, row, actor.role)
}

/// Part of an LGPD restriction of `patient_id` (same transaction): cancels the patient's future
/// scheduled or confirmed appointments with reason `patient_restricted`, one audit event each,
/// so their slots are free again. Past and in-progress appointments stay as they are (record).
pub async fn cancel_for_restricted_patient(
    tx: &Tx,
    actor: &Actor,
    patient_id: Uuid,
) -> Result<usize, ApiError> {
    let ids = repo::cancel_future_of_patient(tx, actor.clinic_id, patient_id).await?;
    for id in &ids {
        audit::record(
            tx,
            actor,
            Event {
                patient_id: Some(patient_id),
                action: "appointment.cancel",
                resource_type: "appointment",
                resource_id: Some(*id),
                outcome: Outcome::Success,
                risk: Risk::Medium,
                details: json!({ "to": "cancelled", "reason": "patient_restricted" }),
            },
        )
        .await?;
    }
    Ok(ids.len())
}

/// Reads one appointment (audited: it reveals a patient's procedure).
pub async fn get(
    tx: &Tx,
    cipher: &FieldCipher,
    actor: &Actor,
    id: Uuid,
) -> Result<Appointment, ApiError> {
    let row = load(tx, actor, id, false).await?;
    // A restricted (LGPD-blocked) patient's appointments are out of normal use, like the
    // patient record itself: 404, exactly as for a missing id.
    if repo::patient_state(tx, actor.clinic_id, row.patient_id).await? != Some(false) {
        return Err(ApiError::NotFound);
    }
    audit::record(
        tx,
        actor,
        Event {
            patient_id: Some(row.patient_id),
            action: "appointment.read",
            resource_type: "appointment",
            resource_id: Some(id),
            outcome: Outcome::Success,
            risk: Risk::Low,
            details: json!({}),
        },
    )
    .await?;
    open(cipher, row, actor.role)
}

/// One page of appointments (audited with the ids returned).
pub async fn list(
    tx: &Tx,
    cipher: &FieldCipher,
    actor: &Actor,
    filter: &ListFilter,
) -> Result<(Vec<Appointment>, bool), ApiError> {
    let mut f = filter.clone();
    f.limit = filter.limit + 1;
    let mut rows = repo::list(tx, actor.clinic_id, &f).await?;
    let more = rows.len() as i64 > filter.limit;
    rows.truncate(filter.limit as usize);
    audit::record(
        tx,
        actor,
        Event {
            patient_id: filter.patient_id,
            action: "appointment.list",
            resource_type: "appointment",
            resource_id: None,
            outcome: Outcome::Success,
            risk: Risk::Low,
            details: json!({ "count": rows.len(), "ids": rows.iter().map(|r| r.id).collect::<Vec<_>>() }),
        },
    )
    .await?;
    let items = rows
        .into_iter()
        .map(|r| open(cipher, r, actor.role))
        .collect::<Result<Vec<_>, _>>()?;
    Ok((items, more))
}

/// Grid of offered start times, in minutes.
pub const AVAILABILITY_STEP_MINUTES: i32 = 15;
/// Longest window one availability search may cover.
pub const AVAILABILITY_MAX_DAYS: i64 = 14;

/// Free start times for a procedure with a professional (and optionally a room) in
/// `[from, to)`. Uses the same rules and the same SQL predicates as booking, so an offered slot
/// is bookable unless someone else takes it first. Compliance failures that do not depend on
/// the date (verification, council, certifications, missing ANVISA) are reported as the same
/// 422 booking would give; an ANVISA expiry only removes the days after it.
pub async fn availability(
    tx: &Tx,
    actor: &Actor,
    procedure_id: Uuid,
    professional_id: Uuid,
    room_id: Option<Uuid>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
) -> Result<Vec<DateTime<Utc>>, ApiError> {
    let refs = load_refs(tx, actor.clinic_id, professional_id, procedure_id, room_id).await?;
    // Date-independent gates first (a far-future date never trips the expiry check).
    compliance(&refs.pro, &refs.procedure, chrono::NaiveDate::MIN)?;
    let step = AVAILABILITY_STEP_MINUTES;
    // Align the first candidate to the grid (…:00, :15, :30, :45 UTC, which are also local
    // quarter hours in every Brazilian zone).
    let secs = from.timestamp();
    let grid = i64::from(step) * 60;
    let aligned = secs.div_euclid(grid) * grid + if secs.rem_euclid(grid) == 0 { 0 } else { grid };
    let first = DateTime::<Utc>::from_timestamp(aligned, 0).unwrap_or(from);
    let slots = repo::free_slots(
        tx,
        &repo::SlotQuery {
            clinic_id: actor.clinic_id,
            professional_id,
            room_id,
            from: first,
            to,
            duration_minutes: refs.procedure.duration_minutes,
            buffer_minutes: buffer_minutes(&refs.pro, &refs.procedure),
            step_minutes: step,
        },
    )
    .await?;
    Ok(slots
        .into_iter()
        .filter(|s| compliance(&refs.pro, &refs.procedure, s.local_date).is_ok())
        .map(|s| s.starts_at)
        .collect())
}
