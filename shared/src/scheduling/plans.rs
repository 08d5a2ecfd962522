//! Multi-session treatment plans: a preview that proposes a date for every session, and the
//! all-or-nothing creation of the plan with all its appointments.
//!
//! **Preview.** Procedures are placed one after the other, sessions 1..n each. Session 1 is
//! searched in `[startDate, startDate + 27]` (clinic-local dates); session k + 1 in
//! `[d_k + gap, d_k + max]`, where `gap = max(min_interval_days, recovery_days, 1)` and `max` is
//! the procedure's `max_interval_days` (or `gap + 28` when it has none). Inside a window the
//! earliest slot is taken that (1) the availability query offers — the same SQL predicates as
//! booking: working hours, time off, buffers, existing appointments, room — (2) matches the
//! preferences (local weekdays, periods morning 09:00–12:00, afternoon 12:00–18:00, evening
//! 18:00–22:00 by local start time; the preferred professional and room), (3) passes the
//! date-dependent compliance gate, (4) does not overlap a session proposed earlier in the same
//! plan, and (5) has no blocking contraindication on that date (sessions proposed earlier count
//! as recent procedures). A session that cannot be placed is reported as a conflict with the
//! reason, and the next session is anchored on the start of that window, so **every** conflict
//! is reported. Nothing is written.
//!
//! **Create** takes explicit sessions (normally a preview's) and books each through the same
//! path as `POST /v1/appointments`, in one transaction: any failing session → 409 listing every
//! failing session, and nothing is written; then the minimum/maximum intervals between
//! consecutive sessions are checked (409). Rescheduling a plan session re-checks the minimum
//! interval (409); moving or cancelling one reports the violations left in the rest of the plan
//! (`planViolations`) without moving anything.
//!
//! Not done: automatic choice of a professional (the preferred one is required) and recovery
//! days across different procedures of one plan.

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::appointment_repo::{self as repo, SlotQuery};
use super::clinical_repo::{self, PlanSession};
use super::contraindications::{Checker, PastProcedure};
use super::model::NewAppointment;
use super::service::{self, PlanSlot, buffer_minutes, compliance, load_refs};
use crate::audit::{self, Event, Outcome, Risk};
use crate::crypto::FieldCipher;
use crate::db::Tx;
use crate::error::{ApiError, Msg};
use crate::tenancy::Actor;

/// Local periods of the day (start time inclusive, end exclusive).
pub const PERIODS: &[(&str, (u32, u32))] = &[
    ("morning", (9, 12)),
    ("afternoon", (12, 18)),
    ("evening", (18, 22)),
];

/// How many days the first session's window spans.
pub const FIRST_WINDOW_DAYS: i64 = 27;

/// A procedure in a plan request.
#[derive(Debug, Clone)]
pub struct PlanProcedure {
    pub procedure_id: Uuid,
    pub sessions: Option<i32>,
}

/// A validated preview request.
#[derive(Debug, Clone)]
pub struct PlanRequest {
    pub patient_id: Uuid,
    pub procedures: Vec<PlanProcedure>,
    pub start_date: NaiveDate,
    pub professional_id: Uuid,
    pub room_id: Option<Uuid>,
    /// Local weekdays allowed (0 = Sunday); empty: any.
    pub weekdays: Vec<i32>,
    /// Periods allowed (`morning`, `afternoon`, `evening`); empty: any.
    pub periods: Vec<String>,
}

/// One proposed session.
#[derive(Debug, Clone)]
pub struct Proposed {
    pub procedure_id: Uuid,
    pub session_number: i32,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub blocked_until: DateTime<Utc>,
    pub local_date: NaiveDate,
    pub professional_id: Uuid,
    pub room_id: Option<Uuid>,
    /// The procedure's kind (washout rules between sessions of one plan).
    pub kind: Option<String>,
    pub warnings: Vec<Value>,
}

/// A session that could not be placed.
#[derive(Debug, Clone)]
pub struct PlanConflict {
    pub procedure_id: Uuid,
    pub session_number: i32,
    pub window: (NaiveDate, NaiveDate),
    pub reason: &'static str,
    pub rule_ids: Vec<String>,
}

fn in_period(periods: &[String], t: NaiveTime) -> bool {
    periods.is_empty()
        || periods.iter().any(|p| {
            PERIODS.iter().any(|(name, (a, b))| {
                name == p
                    && t >= NaiveTime::from_hms_opt(*a, 0, 0).unwrap_or(NaiveTime::MIN)
                    && t < NaiveTime::from_hms_opt(*b, 0, 0).unwrap_or(NaiveTime::MIN)
            })
        })
}

fn overlaps(a: (DateTime<Utc>, DateTime<Utc>), b: (DateTime<Utc>, DateTime<Utc>)) -> bool {
    a.0 < b.1 && b.0 < a.1
}

/// Proposes every session (see the module doc). Read-only apart from nothing: no writes.
pub async fn preview(
    tx: &Tx,
    cipher: &FieldCipher,
    actor: &Actor,
    req: &PlanRequest,
) -> Result<(Vec<Proposed>, Vec<PlanConflict>), ApiError> {
    match repo::patient_state(tx, actor.clinic_id, req.patient_id).await? {
        None | Some(true) => {
            return Err(ApiError::field(
                "patientId",
                "not_found",
                Msg::new(
                    "Paciente não encontrado nesta clínica ou bloqueado.",
                    "Patient not found in this clinic, or restricted.",
                ),
            ));
        }
        Some(false) => {}
    }
    let horizon = req.start_date + Duration::days(730);
    let checker = Checker::load(
        tx,
        cipher,
        actor,
        req.patient_id,
        req.start_date,
        horizon,
        None,
    )
    .await?;
    let mut placed: Vec<Proposed> = Vec::new();
    let mut conflicts = Vec::new();
    for item in &req.procedures {
        let refs = load_refs(
            tx,
            actor.clinic_id,
            req.professional_id,
            item.procedure_id,
            req.room_id,
        )
        .await?;
        compliance(&refs.pro, &refs.procedure, NaiveDate::MIN)?;
        let p = &refs.procedure;
        let n = item.sessions.unwrap_or(p.session_count);
        let gap = i64::from(p.min_interval_days.unwrap_or(1).max(p.recovery_days).max(1));
        let max = p.max_interval_days.map_or(gap + 28, i64::from).max(gap);
        let duration = Duration::minutes(i64::from(p.duration_minutes));
        let buffer = Duration::minutes(i64::from(buffer_minutes(&refs.pro, p)));
        let mut anchor: Option<NaiveDate> = None;
        for k in 1..=n {
            let window = match anchor {
                None => (
                    req.start_date,
                    req.start_date + Duration::days(FIRST_WINDOW_DAYS),
                ),
                Some(d) => (d + Duration::days(gap), d + Duration::days(max)),
            };
            let from = window.0.and_time(NaiveTime::MIN).and_utc() - Duration::days(1);
            let to = (window.1 + Duration::days(2))
                .and_time(NaiveTime::MIN)
                .and_utc();
            let slots = repo::free_slots(
                tx,
                &SlotQuery {
                    clinic_id: actor.clinic_id,
                    professional_id: req.professional_id,
                    room_id: req.room_id,
                    from,
                    to,
                    duration_minutes: p.duration_minutes,
                    buffer_minutes: buffer_minutes(&refs.pro, p),
                    step_minutes: service::AVAILABILITY_STEP_MINUTES,
                },
            )
            .await?;
            let in_window: Vec<_> = slots
                .into_iter()
                .filter(|s| s.local_date >= window.0 && s.local_date <= window.1)
                .collect();
            let preferred: Vec<_> = in_window
                .iter()
                .filter(|s| {
                    (req.weekdays.is_empty() || req.weekdays.contains(&s.local_weekday))
                        && in_period(&req.periods, s.local_time)
                        && compliance(&refs.pro, p, s.local_date).is_ok()
                })
                .collect();
            let free: Vec<_> = preferred
                .iter()
                .filter(|s| {
                    let mine = (s.starts_at, s.starts_at + duration + buffer);
                    !placed.iter().any(|o| {
                        (o.professional_id == req.professional_id
                            || (o.room_id.is_some() && o.room_id == req.room_id))
                            && overlaps(mine, (o.starts_at, o.blocked_until))
                    })
                })
                .collect();
            let planned: Vec<PastProcedure> = placed
                .iter()
                .map(|o| PastProcedure {
                    kind: o.kind.clone(),
                    category: String::new(),
                    local_date: o.local_date,
                })
                .collect();
            let mut last_blocking = Vec::new();
            let mut chosen = None;
            for s in &free {
                let a = checker.assess(p, s.local_date, &planned);
                if a.can_proceed() {
                    chosen = Some((*s, a));
                    break;
                }
                last_blocking = a.blocking().iter().map(|f| f.rule_id.clone()).collect();
            }
            match chosen {
                Some((s, a)) => {
                    anchor = Some(s.local_date);
                    placed.push(Proposed {
                        procedure_id: p.id,
                        session_number: k,
                        starts_at: s.starts_at,
                        ends_at: s.starts_at + duration,
                        blocked_until: s.starts_at + duration + buffer,
                        local_date: s.local_date,
                        professional_id: req.professional_id,
                        room_id: req.room_id,
                        kind: p.kind.clone(),
                        warnings: a.relative.iter().map(|f| f.to_json()).collect(),
                    });
                }
                None => {
                    let reason = if in_window.is_empty() {
                        "no_availability"
                    } else if preferred.is_empty() {
                        "no_slot_matching_preferences"
                    } else if free.is_empty() {
                        "overlaps_another_plan_session"
                    } else {
                        "contraindicated"
                    };
                    conflicts.push(PlanConflict {
                        procedure_id: p.id,
                        session_number: k,
                        window,
                        reason,
                        rule_ids: last_blocking,
                    });
                    anchor = Some(window.0);
                }
            }
        }
    }
    Ok((placed, conflicts))
}

impl Proposed {
    /// The JSON of a proposed session.
    pub fn to_json(&self) -> Value {
        json!({
            "procedureId": self.procedure_id,
            "sessionNumber": self.session_number,
            "startsAt": self.starts_at,
            "endsAt": self.ends_at,
            "localDate": self.local_date,
            "professionalId": self.professional_id,
            "roomId": self.room_id,
            "warnings": self.warnings,
        })
    }
}

impl PlanConflict {
    /// The JSON of a session that could not be placed.
    pub fn to_json(&self) -> Value {
        json!({
            "procedureId": self.procedure_id,
            "sessionNumber": self.session_number,
            "windowStart": self.window.0,
            "windowEnd": self.window.1,
            "reason": self.reason,
            "ruleIds": self.rule_ids,
        })
    }
}

/// One session of a create request.
#[derive(Debug, Clone)]
pub struct SessionInput {
    pub procedure_id: Uuid,
    pub session_number: i32,
    pub professional_id: Uuid,
    pub room_id: Option<Uuid>,
    pub starts_at: DateTime<Utc>,
}

/// An interval rule broken between two consecutive sessions of a procedure.
#[derive(Debug, Clone)]
pub struct Violation {
    pub procedure_id: Uuid,
    pub session_number: i32,
    pub previous_session: i32,
    pub days: i64,
    pub rule: &'static str,
    pub limit: i64,
}

impl Violation {
    /// The JSON of a violation.
    pub fn to_json(&self) -> Value {
        json!({
            "procedureId": self.procedure_id,
            "sessionNumber": self.session_number,
            "previousSession": self.previous_session,
            "days": self.days,
            "rule": self.rule,
            "limitDays": self.limit,
        })
    }
}

/// Interval violations among the active sessions of a plan (cancelled and no-show sessions are
/// skipped: the next active one must respect the interval from the previous active one).
pub fn violations(sessions: &[PlanSession]) -> Vec<Violation> {
    let mut out = Vec::new();
    let active: Vec<&PlanSession> = sessions
        .iter()
        .filter(|s| !matches!(s.status.as_str(), "cancelled" | "no_show"))
        .collect();
    for pair in active.windows(2) {
        let (a, b) = (pair[0], pair[1]);
        if a.procedure_id != b.procedure_id {
            continue;
        }
        let days = (b.local_date - a.local_date).num_days();
        let min = i64::from(a.min_interval_days.unwrap_or(0).max(a.recovery_days));
        if days < min {
            out.push(Violation {
                procedure_id: b.procedure_id,
                session_number: b.session_number,
                previous_session: a.session_number,
                days,
                rule: "min_interval",
                limit: min,
            });
        }
        if let Some(max) = a.max_interval_days.map(i64::from)
            && days > max
        {
            out.push(Violation {
                procedure_id: b.procedure_id,
                session_number: b.session_number,
                previous_session: a.session_number,
                days,
                rule: "max_interval",
                limit: max,
            });
        }
    }
    out
}

/// The violations of the plan an appointment belongs to (after a move or cancellation).
pub async fn plan_violations(
    tx: &Tx,
    clinic_id: Uuid,
    plan_id: Uuid,
) -> Result<Vec<Violation>, ApiError> {
    Ok(violations(
        &clinical_repo::plan_sessions(tx, clinic_id, plan_id).await?,
    ))
}

/// 409 for sessions closer than the minimum interval.
pub fn interval_error(v: &[Violation]) -> ApiError {
    ApiError::Conflict {
        code: "plan_interval_violation",
        detail: Msg::new(
            "A sessão desrespeita o intervalo entre sessões do plano de tratamento.",
            "The session breaks the interval between sessions of the treatment plan.",
        ),
        extra: Some(json!({ "violations": v.iter().map(Violation::to_json).collect::<Vec<_>>() })),
    }
}

/// The created plan: its id and every booked session with warnings.
pub struct CreatedPlan {
    pub id: Uuid,
    pub sessions: Vec<service::Booked>,
}

/// Creates the plan and books every session in the request transaction (all or nothing).
pub async fn create(
    tx: &Tx,
    cipher: &FieldCipher,
    actor: &Actor,
    patient_id: Uuid,
    sessions: &[SessionInput],
    clinical_override: Option<&str>,
) -> Result<CreatedPlan, ApiError> {
    if repo::patient_state(tx, actor.clinic_id, patient_id).await? != Some(false) {
        return Err(ApiError::field(
            "patientId",
            "not_found",
            Msg::new(
                "Paciente não encontrado nesta clínica ou bloqueado.",
                "Patient not found in this clinic, or restricted.",
            ),
        ));
    }
    let id = Uuid::new_v4();
    clinical_repo::insert_plan(tx, id, actor.clinic_id, patient_id, actor.user_id).await?;
    let mut booked = Vec::new();
    let mut failures = Vec::new();
    for s in sessions {
        let input = NewAppointment {
            patient_id,
            professional_id: s.professional_id,
            room_id: s.room_id,
            procedure_id: s.procedure_id,
            starts_at: s.starts_at,
            ends_at: None,
            kind: "in_person".to_owned(),
            notes: None,
            schedule_override: None,
            clinical_override: clinical_override.map(str::to_owned),
        };
        let slot = PlanSlot {
            plan_id: id,
            session_number: s.session_number,
        };
        match service::book_in_plan(tx, cipher, actor, &input, Some(slot)).await {
            Ok(b) => booked.push(b),
            Err(e) if e.status().is_client_error() => failures.push(json!({
                "procedureId": s.procedure_id,
                "sessionNumber": s.session_number,
                "startsAt": s.starts_at,
                "status": e.status().as_u16(),
                "code": e.code(),
            })),
            Err(e) => return Err(e),
        }
    }
    if !failures.is_empty() {
        return Err(ApiError::Conflict {
            code: "plan_sessions_failed",
            detail: Msg::new(
                "Uma ou mais sessões não puderam ser agendadas; nada foi gravado.",
                "One or more sessions could not be booked; nothing was written.",
            ),
            extra: Some(json!({ "failures": failures })),
        });
    }
    let broken = plan_violations(tx, actor.clinic_id, id).await?;
    if !broken.is_empty() {
        return Err(interval_error(&broken));
    }
    audit::record(
        tx,
        actor,
        Event {
            patient_id: Some(patient_id),
            action: "treatment_plan.create",
            resource_type: "treatment_plan",
            resource_id: Some(id),
            outcome: Outcome::Success,
            risk: Risk::Medium,
            details: json!({
                "appointmentIds": booked.iter().map(|b| b.appointment.row.id).collect::<Vec<_>>(),
            }),
        },
    )
    .await?;
    Ok(CreatedPlan {
        id,
        sessions: booked,
    })
}
