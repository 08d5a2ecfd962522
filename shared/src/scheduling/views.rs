//! What the scheduling API returns: one typed view per resource, shared by the REST handlers,
//! the tRPC procedures, the OpenAPI document (`utoipa`) and the TypeScript types (`ts-rs`), so
//! the documented shape is the shape on the wire.

use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use uuid::Uuid;

use super::repo::{ProcedureRow, ProfessionalRow, RoomRow};
use super::service::Appointment;
use crate::tenancy::Role;

/// One block of weekly working hours (clinic local time, `America/Sao_Paulo`).
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct WorkingHoursView {
    /// 0 = Sunday … 6 = Saturday.
    pub weekday: i16,
    /// `HH:MM`.
    pub start: String,
    /// `HH:MM`.
    pub end: String,
}

/// A professional: council registration, verification, certifications and hours.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct ProfessionalView {
    pub id: Uuid,
    pub user_id: Option<Uuid>,
    pub display_name: String,
    /// CRM, COREN, CRO, CRF, CRBM, …
    pub council: String,
    pub council_uf: String,
    /// Digits of the council number (a string: leading zeros are not numeric).
    pub council_number: String,
    /// `CRM/SP 123456`, as printed on prescriptions.
    pub registration: String,
    pub rqe: Vec<String>,
    /// `pending`, `verified`, `suspended` or `revoked`; only `verified` may be booked.
    pub verification_status: String,
    pub verified_at: Option<DateTime<Utc>>,
    pub certifications: Vec<String>,
    pub buffer_minutes: i32,
    pub working_hours: Vec<WorkingHoursView>,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&ProfessionalRow> for ProfessionalView {
    fn from(p: &ProfessionalRow) -> Self {
        Self {
            id: p.id,
            user_id: p.user_id,
            display_name: p.display_name.clone(),
            council: p.council.clone(),
            council_uf: p.council_uf.clone(),
            council_number: p.council_number.to_string(),
            registration: format!("{}/{} {}", p.council, p.council_uf, p.council_number),
            rqe: p.rqe.clone(),
            verification_status: p.verification_status.clone(),
            verified_at: p.verified_at,
            certifications: p.certifications.clone(),
            buffer_minutes: p.buffer_minutes,
            working_hours: p
                .hours
                .iter()
                .map(|(d, s, e)| WorkingHoursView {
                    weekday: *d,
                    start: s.format("%H:%M").to_string(),
                    end: e.format("%H:%M").to_string(),
                })
                .collect(),
            active: p.active,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// `{"items": [...]}` of professionals.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
pub struct ProfessionalList {
    pub items: Vec<ProfessionalView>,
}

/// A period a professional cannot be booked.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct TimeOffView {
    pub id: Uuid,
    pub professional_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub reason: String,
}

/// A room or device (a bookable resource).
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct RoomView {
    pub id: Uuid,
    pub name: String,
    /// `room` or `device`.
    pub kind: String,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&RoomRow> for RoomView {
    fn from(r: &RoomRow) -> Self {
        Self {
            id: r.id,
            name: r.name.clone(),
            kind: r.kind.clone(),
            active: r.active,
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// `{"items": [...]}` of rooms.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
pub struct RoomList {
    pub items: Vec<RoomView>,
}

/// A catalog procedure with its session rules and regulatory data.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct ProcedureView {
    pub id: Uuid,
    pub name: String,
    /// `injectable`, `laser`, `facial`, `body`, `surgical` or `combination`.
    pub category: String,
    /// Finer kind used by contraindication rules (e.g. `botulinum_toxin`).
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
    /// ANVISA registration of the product or device (digits).
    pub anvisa_registration: Option<String>,
    pub anvisa_expires_on: Option<NaiveDate>,
    /// Price in BRL cents.
    pub price_cents: i64,
    pub active: bool,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl From<&ProcedureRow> for ProcedureView {
    fn from(p: &ProcedureRow) -> Self {
        Self {
            id: p.id,
            name: p.name.clone(),
            category: p.category.clone(),
            kind: p.kind.clone(),
            duration_minutes: p.duration_minutes,
            buffer_after_minutes: p.buffer_after_minutes,
            session_count: p.session_count,
            min_interval_days: p.min_interval_days,
            max_interval_days: p.max_interval_days,
            recovery_days: p.recovery_days,
            touch_up_window_days: p.touch_up_window_days,
            required_certifications: p.required_certifications.clone(),
            allowed_councils: p.allowed_councils.clone(),
            anvisa_registration: p.anvisa_registration.clone(),
            anvisa_expires_on: p.anvisa_expires_on,
            price_cents: p.price_cents,
            active: p.active,
            version: p.version,
            created_at: p.created_at,
            updated_at: p.updated_at,
        }
    }
}

/// `{"items": [...]}` of procedures.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
pub struct ProcedureList {
    pub items: Vec<ProcedureView>,
}

/// An appointment. `notes` (clinical free text, encrypted at rest) is left out for the patient
/// role.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct AppointmentView {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub professional_id: Uuid,
    pub room_id: Option<Uuid>,
    pub procedure_id: Uuid,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// End of the professional's buffer after the appointment (nothing else may start before).
    pub blocked_until: DateTime<Utc>,
    /// `in_person` or `telemedicine`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `scheduled`, `confirmed`, `in_progress`, `completed`, `cancelled` or `no_show`.
    pub status: String,
    pub cancel_reason: Option<String>,
    pub cancelled_at: Option<DateTime<Utc>>,
    /// Booked over a working-hours, time-off or contraindication rule (see the audit trail).
    pub overridden: bool,
    pub treatment_plan_id: Option<Uuid>,
    pub session_number: Option<i32>,
    /// Absent for the patient role.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    #[schema(value_type = Option<String>)]
    pub notes: Option<Option<String>>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl AppointmentView {
    /// The view `role` receives.
    pub fn shape(a: &Appointment, role: Role) -> Self {
        let r = &a.row;
        Self {
            id: r.id,
            patient_id: r.patient_id,
            professional_id: r.professional_id,
            room_id: r.room_id,
            procedure_id: r.procedure_id,
            starts_at: r.starts_at,
            ends_at: r.ends_at,
            blocked_until: r.blocked_until,
            kind: r.kind.clone(),
            status: r.status.clone(),
            cancel_reason: r.cancel_reason.clone(),
            cancelled_at: r.cancelled_at,
            overridden: r.overridden,
            treatment_plan_id: r.treatment_plan_id,
            session_number: r.session_number,
            notes: (role != Role::Patient).then(|| a.notes.clone()),
            version: r.version,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

/// A page of appointments (`nextCursor` is null on the last page).
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct AppointmentPage {
    pub items: Vec<AppointmentView>,
    pub next_cursor: Option<String>,
}

/// Free start times for a procedure with a professional (and room).
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct AvailabilityView {
    pub procedure_id: Uuid,
    pub professional_id: Uuid,
    pub room_id: Option<Uuid>,
    /// Grid of the offered start times, in minutes.
    pub step_minutes: i32,
    pub slots: Vec<DateTime<Utc>>,
}

/// JSON of a view (for handlers that add fields, e.g. booking warnings). Serializing these
/// plain structs cannot fail; `null` would only stand for a bug caught by the tests.
pub fn to_json<T: Serialize>(view: &T) -> serde_json::Value {
    serde_json::to_value(view).unwrap_or(serde_json::Value::Null)
}

/// A text in both API languages (rule texts, advisories).
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
pub struct LocalizedText {
    #[serde(rename = "pt-BR")]
    #[ts(rename = "pt-BR")]
    #[schema(rename = "pt-BR")]
    pub pt_br: String,
    pub en: String,
}

/// One contraindication rule that applies (rule texts and source only: no patient data).
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct FindingView {
    pub rule_id: String,
    /// The condition code (`pregnancy`, `isotretinoin`, …).
    pub condition: String,
    /// `absolute`, `relative` or `washout`.
    pub severity: String,
    pub reason: LocalizedText,
    /// Where the rule comes from (guideline, label, literature).
    pub source: String,
    /// End of a washout, exclusive: the first clinic-local date on which it no longer applies.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub until: Option<NaiveDate>,
}

impl From<&super::contraindications::Finding> for FindingView {
    fn from(f: &super::contraindications::Finding) -> Self {
        Self {
            rule_id: f.rule_id.clone(),
            condition: f.condition.clone(),
            severity: f.severity.clone(),
            reason: LocalizedText {
                pt_br: f.reason_pt.clone(),
                en: f.reason_en.clone(),
            },
            source: f.source.clone(),
            until: f.until,
        }
    }
}

impl FindingView {
    /// The finding as `role` may see it. Which rule fired says what the patient has (a
    /// `pregnancy_toxin` finding reveals a pregnancy), and staff see no clinical data: they
    /// get the severity and its end date, and are told a clinician has the details.
    pub fn for_role(f: &super::contraindications::Finding, role: Role) -> Self {
        if crate::tenancy::allowed(role, crate::tenancy::Action::ClinicalRead) {
            return Self::from(f);
        }
        Self {
            rule_id: String::new(),
            condition: String::new(),
            severity: f.severity.clone(),
            reason: LocalizedText {
                pt_br: "Alerta clínico: os detalhes estão disponíveis para o profissional clínico."
                    .to_owned(),
                en: "Clinical alert: the details are available to the clinician.".to_owned(),
            },
            source: String::new(),
            until: f.until,
        }
    }
}

/// The assessment of one procedure for one patient.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct AssessmentView {
    pub procedure_id: Uuid,
    /// No absolute finding and no active washout.
    pub can_proceed: bool,
    pub absolute: Vec<FindingView>,
    pub relative: Vec<FindingView>,
    pub washouts: Vec<FindingView>,
}

impl From<&super::contraindications::Assessment> for AssessmentView {
    fn from(a: &super::contraindications::Assessment) -> Self {
        let list =
            |v: &[super::contraindications::Finding]| v.iter().map(FindingView::from).collect();
        Self {
            procedure_id: a.procedure_id,
            can_proceed: a.can_proceed(),
            absolute: list(&a.absolute),
            relative: list(&a.relative),
            washouts: list(&a.washouts),
        }
    }
}

/// Result of `POST /v1/clinical/contraindications`.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct ContraindicationReport {
    pub patient_id: Uuid,
    /// One per requested procedure, in request order.
    pub results: Vec<AssessmentView>,
    /// Decision-support disclaimer (the rules flag, the clinician decides).
    pub advisory: LocalizedText,
}

/// An appointment just booked, with the relative contraindications found (never blocking).
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct BookedAppointmentView {
    #[serde(flatten)]
    #[ts(flatten)]
    pub appointment: AppointmentView,
    pub warnings: Vec<FindingView>,
}

impl BookedAppointmentView {
    /// The view `role` receives of a booking.
    pub fn shape(b: &super::service::Booked, role: Role) -> Self {
        Self {
            appointment: AppointmentView::shape(&b.appointment, role),
            warnings: b
                .warnings
                .iter()
                .map(|f| FindingView::for_role(f, role))
                .collect(),
        }
    }
}

/// An interval rule broken between two consecutive sessions of a plan.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct PlanViolationView {
    pub procedure_id: Uuid,
    pub session_number: i32,
    pub previous_session: i32,
    /// Days between the two sessions (clinic local dates).
    pub days: i64,
    /// `min_interval` or `max_interval`.
    pub rule: String,
    pub limit_days: i64,
}

impl From<&super::plans::Violation> for PlanViolationView {
    fn from(v: &super::plans::Violation) -> Self {
        Self {
            procedure_id: v.procedure_id,
            session_number: v.session_number,
            previous_session: v.previous_session,
            days: v.days,
            rule: v.rule.to_owned(),
            limit_days: v.limit,
        }
    }
}

/// An appointment that belongs to a treatment plan, after a move or status change, with what
/// is now broken in the rest of the plan (nothing else is moved).
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct ChangedAppointmentView {
    #[serde(flatten)]
    #[ts(flatten)]
    pub appointment: AppointmentView,
    /// Present when the appointment is a plan session.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub plan_violations: Option<Vec<PlanViolationView>>,
    /// Relative contraindications at the new time (after a reschedule).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub warnings: Option<Vec<FindingView>>,
}

/// A proposed plan session.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct ProposedSessionView {
    pub procedure_id: Uuid,
    pub session_number: i32,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// The session's date in America/Sao_Paulo.
    pub local_date: NaiveDate,
    pub professional_id: Uuid,
    pub room_id: Option<Uuid>,
    /// Relative contraindications on that date (redacted for staff, see
    /// [`FindingView::for_role`]).
    pub warnings: Vec<FindingView>,
}

impl From<&super::plans::Proposed> for ProposedSessionView {
    fn from(p: &super::plans::Proposed) -> Self {
        Self {
            procedure_id: p.procedure_id,
            session_number: p.session_number,
            starts_at: p.starts_at,
            ends_at: p.ends_at,
            local_date: p.local_date,
            professional_id: p.professional_id,
            room_id: p.room_id,
            warnings: p.warnings.clone(),
        }
    }
}

/// A session the preview could not place, with why.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct PlanConflictView {
    pub procedure_id: Uuid,
    pub session_number: i32,
    /// The local dates the session had to fall in.
    pub window_start: NaiveDate,
    pub window_end: NaiveDate,
    /// Reason code (`no_free_slot`, `contraindicated`, …).
    pub reason: String,
    /// Contraindication rules involved, if any (empty for staff: they name conditions).
    pub rule_ids: Vec<String>,
}

impl From<&super::plans::PlanConflict> for PlanConflictView {
    fn from(c: &super::plans::PlanConflict) -> Self {
        Self {
            procedure_id: c.procedure_id,
            session_number: c.session_number,
            window_start: c.window.0,
            window_end: c.window.1,
            reason: c.reason.to_owned(),
            rule_ids: c.rule_ids.clone(),
        }
    }
}

/// Result of `POST /v1/treatment-plans/preview`: every session placed or every conflict.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct PlanPreviewView {
    pub patient_id: Uuid,
    pub sessions: Vec<ProposedSessionView>,
    pub conflicts: Vec<PlanConflictView>,
}

/// Result of `POST /v1/treatment-plans`: the plan and every booked session.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct CreatedPlanView {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub sessions: Vec<BookedAppointmentView>,
}

/// One session of a stored plan.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct PlanSessionView {
    pub appointment_id: Uuid,
    pub procedure_id: Uuid,
    pub session_number: i32,
    pub status: String,
    pub starts_at: DateTime<Utc>,
    pub local_date: NaiveDate,
}

/// A stored treatment plan with its sessions and what is broken in it.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct PlanView {
    pub id: Uuid,
    pub patient_id: Uuid,
    pub status: String,
    pub created_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub sessions: Vec<PlanSessionView>,
    pub violations: Vec<PlanViolationView>,
}

/// A dated clinical fact (condition, medication or allergy); `description` is encrypted at rest.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct ClinicalFactView {
    pub id: Uuid,
    pub patient_id: Uuid,
    /// `condition`, `medication` or `allergy`.
    pub kind: String,
    pub description: String,
    pub condition_code: Option<String>,
    pub started_on: Option<NaiveDate>,
    /// None: ongoing.
    pub ended_on: Option<NaiveDate>,
    pub recorded_by: Uuid,
    pub created_at: DateTime<Utc>,
}

/// A patient's clinical facts.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct ClinicalFactList {
    pub patient_id: Uuid,
    pub items: Vec<ClinicalFactView>,
}
