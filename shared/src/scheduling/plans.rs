//! Multi-session treatment plans: a preview that proposes a date for every session, and the
//! all-or-nothing creation of the plan with all its appointments.
//!
//! **Preview.** Procedures are placed one after the other, sessions 1..n each. Session 1 is
//! searched in `[startDate, startDate + 27]` (clinic-local dates); session k + 1 in
//! `[d_k + gap, d_k + max]`, where `gap = max(min_interval_days, recovery_days, 1)` and `max` is
//! the procedure's `max_interval_days` (or `gap + 28` when it has none). Inside a window the
//! earliest slot is taken that (1) the availability query offers — the same SQL predicates as
//! booking: working hours, time off, buffers, existing appointments, room — for the preferred
//! professional, or for every active professional qualified for the procedure when none is
//! preferred, (2) matches the preferences (local weekdays, periods morning 09:00–12:00,
//! afternoon 12:00–18:00, evening 18:00–22:00 by local start time; the room), (3) passes the
//! date-dependent compliance gate, (4) does not overlap a session proposed earlier in the same
//! plan, (5) does not fall strictly inside the recovery days of another procedure's session of
//! the plan (nor put one inside its own), and (6) has no blocking contraindication on that date
//! (sessions proposed earlier count as recent procedures). A session that cannot be placed is
//! reported as a conflict with the reason, and the next session is anchored on the start of
//! that window, so **every** conflict is reported. Nothing is written.
//!
//! **Create** takes explicit sessions (normally a preview's) and books each, in date order (so
//! washouts between sessions are seen), through the same path as `POST /v1/appointments`, in
//! one transaction: any failing session → 409 listing every failing session, and nothing is
//! written; then the minimum/maximum intervals between
//! consecutive sessions are checked (409). Rescheduling a plan session re-checks the minimum
//! interval (409); moving or cancelling one reports the violations left in the rest of the plan
//! (`planViolations`) without moving anything.
//!

use chrono::{DateTime, Duration, NaiveDate, NaiveTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::appointment_repo::{self as repo, FreeSlot, SlotQuery};
use super::clinical_repo::{self, PlanSession};
use super::contraindications::{Checker, PastProcedure};
use super::model::NewAppointment;
use super::repo::{self as catalog, ProcedureRow, ProfessionalRow};
use super::service::{self, PlanSlot, buffer_minutes, compliance, load_refs};
use super::views::{PlanSessionView, PlanView, PlanViolationView};
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
    /// The preferred professional; None: any qualified professional of the clinic.
    pub professional_id: Option<Uuid>,
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
    /// The procedure's recovery days (no other procedure strictly inside them).
    pub recovery_days: i32,
    pub warnings: Vec<super::views::FindingView>,
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

fn not_found(field: &str, pt: &'static str, en: &'static str) -> ApiError {
    ApiError::field(field, "not_found", Msg::new(pt, en))
}

/// Whether a session on `day` of a procedure with `recovery` days clashes with an already
/// proposed session of *another* procedure: neither may fall strictly inside the other's
/// recovery period (the same day is allowed: combined visits are common).
fn recovery_clash(day: NaiveDate, recovery: i32, other: &Proposed) -> bool {
    let inside =
        |a: NaiveDate, days: i32, b: NaiveDate| a < b && b < a + Duration::days(i64::from(days));
    inside(other.local_date, other.recovery_days, day) || inside(day, recovery, other.local_date)
}

/// The professionals a plan may use for `procedure`: the chosen one (404/422 when unusable),
/// or every active, verified professional whose council and certifications allow it.
async fn candidates(
    tx: &Tx,
    actor: &Actor,
    req: &PlanRequest,
    procedure: &ProcedureRow,
) -> Result<Vec<ProfessionalRow>, ApiError> {
    match req.professional_id {
        Some(id) => {
            let refs = load_refs(tx, actor.clinic_id, id, procedure.id, req.room_id).await?;
            compliance(&refs.pro, procedure, NaiveDate::MIN)?;
            Ok(vec![refs.pro])
        }
        None => Ok(catalog::list_professionals(tx, actor.clinic_id)
            .await?
            .into_iter()
            .filter(|pro| compliance(pro, procedure, NaiveDate::MIN).is_ok())
            .collect()),
    }
}

/// Proposes every session (see the module doc). Read-only: nothing is written.
pub async fn preview(
    tx: &Tx,
    cipher: &FieldCipher,
    actor: &Actor,
    req: &PlanRequest,
) -> Result<(Vec<Proposed>, Vec<PlanConflict>), ApiError> {
    match repo::patient_state(tx, actor.clinic_id, req.patient_id).await? {
        None | Some(true) => {
            return Err(not_found(
                "patientId",
                "Paciente não encontrado nesta clínica ou bloqueado.",
                "Patient not found in this clinic, or restricted.",
            ));
        }
        Some(false) => {}
    }
    if let Some(room_id) = req.room_id
        && catalog::find_room(tx, actor.clinic_id, room_id)
            .await?
            .filter(|r| r.active)
            .is_none()
    {
        return Err(not_found(
            "preferences.roomId",
            "Sala não encontrada nesta clínica ou inativa.",
            "Room not found in this clinic, or inactive.",
        ));
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
    for (i, item) in req.procedures.iter().enumerate() {
        let p = catalog::find_procedure(tx, actor.clinic_id, item.procedure_id)
            .await?
            .filter(|p| p.active)
            .ok_or_else(|| {
                not_found(
                    &format!("procedures[{i}].procedureId"),
                    "Procedimento não encontrado nesta clínica ou inativo.",
                    "Procedure not found in this clinic, or inactive.",
                )
            })?;
        let pros = candidates(tx, actor, req, &p).await?;
        let n = item.sessions.unwrap_or(p.session_count);
        let gap = i64::from(p.min_interval_days.unwrap_or(1).max(p.recovery_days).max(1));
        let max = p.max_interval_days.map_or(gap + 28, i64::from).max(gap);
        let duration = Duration::minutes(i64::from(p.duration_minutes));
        let mut anchor: Option<NaiveDate> = None;
        for k in 1..=n {
            let window = match anchor {
                None => (
                    req.start_date,
                    req.start_date + Duration::days(FIRST_WINDOW_DAYS),
                ),
                Some(d) => (d + Duration::days(gap), d + Duration::days(max)),
            };
            // Free starts of every candidate professional, earliest first (ties: list order).
            let from = window.0.and_time(NaiveTime::MIN).and_utc() - Duration::days(1);
            let to = (window.1 + Duration::days(2))
                .and_time(NaiveTime::MIN)
                .and_utc();
            let mut in_window: Vec<(FreeSlot, &ProfessionalRow)> = Vec::new();
            for pro in &pros {
                let slots = repo::free_slots(
                    tx,
                    &SlotQuery {
                        clinic_id: actor.clinic_id,
                        professional_id: pro.id,
                        room_id: req.room_id,
                        from,
                        to,
                        duration_minutes: p.duration_minutes,
                        buffer_minutes: buffer_minutes(pro, &p),
                        step_minutes: service::AVAILABILITY_STEP_MINUTES,
                    },
                )
                .await?;
                in_window.extend(
                    slots
                        .into_iter()
                        .filter(|s| s.local_date >= window.0 && s.local_date <= window.1)
                        .map(|s| (s, pro)),
                );
            }
            in_window.sort_by_key(|(s, _)| s.starts_at);
            let preferred: Vec<_> = in_window
                .iter()
                .filter(|(s, pro)| {
                    (req.weekdays.is_empty() || req.weekdays.contains(&s.local_weekday))
                        && in_period(&req.periods, s.local_time)
                        && compliance(pro, &p, s.local_date).is_ok()
                })
                .collect();
            let free: Vec<_> = preferred
                .iter()
                .filter(|(s, pro)| {
                    let buffer = Duration::minutes(i64::from(buffer_minutes(pro, &p)));
                    let mine = (s.starts_at, s.starts_at + duration + buffer);
                    !placed.iter().any(|o| {
                        (o.professional_id == pro.id
                            || (o.room_id.is_some() && o.room_id == req.room_id))
                            && overlaps(mine, (o.starts_at, o.blocked_until))
                    })
                })
                .collect();
            let rested: Vec<_> = free
                .iter()
                .filter(|(s, _)| {
                    !placed.iter().any(|o| {
                        o.procedure_id != p.id && recovery_clash(s.local_date, p.recovery_days, o)
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
            for (s, pro) in &rested {
                let a = checker.assess(&p, s.local_date, &planned);
                if a.can_proceed() {
                    chosen = Some((s, *pro, a));
                    break;
                }
                last_blocking = a.blocking().iter().map(|f| f.rule_id.clone()).collect();
            }
            match chosen {
                Some((s, pro, a)) => {
                    anchor = Some(s.local_date);
                    let buffer = Duration::minutes(i64::from(buffer_minutes(pro, &p)));
                    placed.push(Proposed {
                        procedure_id: p.id,
                        session_number: k,
                        starts_at: s.starts_at,
                        ends_at: s.starts_at + duration,
                        blocked_until: s.starts_at + duration + buffer,
                        local_date: s.local_date,
                        professional_id: pro.id,
                        room_id: req.room_id,
                        kind: p.kind.clone(),
                        recovery_days: p.recovery_days,
                        warnings: a
                            .relative
                            .iter()
                            .map(|f| super::views::FindingView::for_role(f, actor.role))
                            .collect(),
                    });
                }
                None => {
                    let reason = if pros.is_empty() {
                        "no_qualified_professional"
                    } else if in_window.is_empty() {
                        "no_availability"
                    } else if preferred.is_empty() {
                        "no_slot_matching_preferences"
                    } else if free.is_empty() {
                        "overlaps_another_plan_session"
                    } else if rested.is_empty() {
                        "recovery_period"
                    } else {
                        "contraindicated"
                    };
                    conflicts.push(PlanConflict {
                        procedure_id: p.id,
                        session_number: k,
                        window,
                        reason,
                        rule_ids: if crate::tenancy::allowed(
                            actor.role,
                            crate::tenancy::Action::ClinicalRead,
                        ) {
                            last_blocking
                        } else {
                            Vec::new()
                        },
                    });
                    anchor = Some(window.0);
                }
            }
        }
    }
    // The preview reads the patient's clinical facts (contraindications): audited like a check.
    audit::record(
        tx,
        actor,
        Event {
            patient_id: Some(req.patient_id),
            action: "treatment_plan.preview",
            resource_type: "patient",
            resource_id: Some(req.patient_id),
            outcome: Outcome::Success,
            risk: Risk::Medium,
            details: json!({
                "procedureIds": req.procedures.iter().map(|p| p.procedure_id).collect::<Vec<_>>(),
                "sessions": placed.len(),
                "conflicts": conflicts.len(),
            }),
        },
    )
    .await?;
    Ok((placed, conflicts))
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
        super::views::to_json(&super::views::PlanViolationView::from(self))
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
    let mut ordered: Vec<&SessionInput> = sessions.iter().collect();
    ordered.sort_by_key(|s| (s.starts_at, s.session_number));
    for s in ordered {
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

/// `GET /v1/treatment-plans/{id}`: the plan, its sessions in order (ids, dates, status; no
/// notes or patient data) and the interval violations left after moves or cancellations.
/// Audited as a read of the patient's care (who looked at whose plan).
pub async fn get(tx: &Tx, actor: &Actor, id: Uuid) -> Result<PlanView, ApiError> {
    let plan = clinical_repo::find_plan(tx, actor.clinic_id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let sessions = clinical_repo::plan_sessions(tx, actor.clinic_id, id).await?;
    let broken = violations(&sessions);
    audit::record(
        tx,
        actor,
        Event {
            patient_id: Some(plan.patient_id),
            action: "treatment_plan.read",
            resource_type: "treatment_plan",
            resource_id: Some(id),
            outcome: Outcome::Success,
            risk: Risk::Low,
            details: json!({ "sessions": sessions.len() }),
        },
    )
    .await?;
    Ok(PlanView {
        id: plan.id,
        patient_id: plan.patient_id,
        status: plan.status,
        created_by: plan.created_by,
        created_at: plan.created_at,
        sessions: sessions
            .iter()
            .map(|s| PlanSessionView {
                appointment_id: s.appointment_id,
                procedure_id: s.procedure_id,
                session_number: s.session_number,
                status: s.status.clone(),
                starts_at: s.starts_at,
                local_date: s.local_date,
            })
            .collect(),
        violations: broken.iter().map(PlanViolationView::from).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn day(s: &str) -> NaiveDate {
        s.parse().unwrap_or_default()
    }

    fn proposed(on: &str, recovery: i32) -> Proposed {
        let at = day(on).and_time(NaiveTime::MIN).and_utc();
        Proposed {
            procedure_id: Uuid::nil(),
            session_number: 1,
            starts_at: at,
            ends_at: at,
            blocked_until: at,
            local_date: day(on),
            professional_id: Uuid::nil(),
            room_id: None,
            kind: None,
            recovery_days: recovery,
            warnings: Vec::new(),
        }
    }

    #[test]
    fn recovery_forbids_days_strictly_inside_either_recovery_period() {
        let laser = proposed("2030-05-10", 14);
        assert!(!recovery_clash(day("2030-05-10"), 0, &laser), "same day");
        assert!(recovery_clash(day("2030-05-11"), 0, &laser));
        assert!(recovery_clash(day("2030-05-23"), 0, &laser));
        assert!(!recovery_clash(day("2030-05-24"), 0, &laser), "day 14");
        // A session with its own recovery may not put the other one inside it.
        assert!(recovery_clash(
            day("2030-05-05"),
            7,
            &proposed("2030-05-10", 0)
        ));
        assert!(!recovery_clash(
            day("2030-05-03"),
            7,
            &proposed("2030-05-10", 0)
        ));
    }

    #[test]
    fn periods_are_by_local_start_time() {
        let t = |h, m| NaiveTime::from_hms_opt(h, m, 0).unwrap_or(NaiveTime::MIN);
        let morning = vec!["morning".to_owned()];
        assert!(in_period(&morning, t(9, 0)));
        assert!(in_period(&morning, t(11, 45)));
        assert!(!in_period(&morning, t(12, 0)));
        assert!(!in_period(&morning, t(8, 45)));
        assert!(in_period(&[], t(7, 0)), "no preference: any time");
    }

    fn session(n: i32, on: &str, status: &str) -> PlanSession {
        PlanSession {
            appointment_id: Uuid::nil(),
            procedure_id: Uuid::nil(),
            session_number: n,
            status: status.to_owned(),
            starts_at: day(on).and_time(NaiveTime::MIN).and_utc(),
            local_date: day(on),
            min_interval_days: Some(28),
            max_interval_days: Some(56),
            recovery_days: 2,
        }
    }

    #[test]
    fn violations_compare_consecutive_active_sessions() {
        let ok = [
            session(1, "2030-01-01", "scheduled"),
            session(2, "2030-01-29", "scheduled"),
        ];
        assert!(violations(&ok).is_empty());
        let early = [
            session(1, "2030-01-01", "completed"),
            session(2, "2030-01-20", "scheduled"),
        ];
        let v = violations(&early);
        assert_eq!((v[0].rule, v[0].days, v[0].limit), ("min_interval", 19, 28));
        // Cancelling session 2 makes 1 → 3 consecutive: 70 days > 56.
        let gap = [
            session(1, "2030-01-01", "completed"),
            session(2, "2030-02-05", "cancelled"),
            session(3, "2030-03-12", "scheduled"),
        ];
        let v = violations(&gap);
        assert_eq!(
            (v[0].rule, v[0].session_number, v[0].previous_session),
            ("max_interval", 3, 1)
        );
    }
}
