//! HTTP for the catalog, appointments, contraindication checks, clinical facts and treatment
//! plans: DTOs, extractors, status codes and headers only.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::appointment_repo::ListFilter;
use super::model::{
    AppointmentInput, ProcedureInput, ProfessionalInput, RescheduleInput, RoomInput, Status,
    StatusInput, TimeOffInput,
};
use super::views::{
    AppointmentPage, AppointmentView, AssessmentView, AvailabilityView, BookedAppointmentView,
    ChangedAppointmentView, ClinicalFactList, ClinicalFactView, ContraindicationReport,
    CreatedPlanView, FindingView, LocalizedText, PlanConflictView, PlanPreviewView, PlanView,
    PlanViolationView, ProcedureList, ProcedureView, ProfessionalList, ProfessionalView,
    ProposedSessionView, RoomList, RoomView, TimeOffView,
};
use super::{catalog, clinical_facts, contraindications, plans, repo, service};
use crate::error::{ApiError, Msg};
use crate::http::cursor;
use crate::http::extract::{Json, Path, Query};
use crate::http::policy::Policy;
use crate::openapi::{Doc, Routes};
use crate::ratelimit::RateClass;
use crate::state::AppState;
use crate::tenancy::{Tenant, perm};

/// The catalog and appointment routes with their documentation (healthcare rate-limit class:
/// they reveal who is treated for what).
pub fn routes() -> Routes {
    let p = Policy::authenticated(RateClass::Healthcare);
    // The catalog and free times reveal nothing about patients; a front desk reads them all
    // day, so they take the general class rather than the healthcare one.
    let g = Policy::authenticated(RateClass::General);
    let etag = ("ETag", "The record's version, for `If-Match`.");
    let location = ("Location", "The new resource's URL.");
    Routes::new()
        .route(
            "/v1/professionals",
            g.on(get(list_professionals).post(create_professional)),
            [
                Doc::get("List professionals", Some(g))
                    .id("professionals", "listProfessionals")
                    .clinic()
                    .ok::<ProfessionalList>(200, "The clinic's professionals."),
                Doc::post("Register a professional (admin)", g)
                    .id("professionals", "createProfessional")
                    .clinic()
                    .body::<ProfessionalInput>(true)
                    .ok::<ProfessionalView>(201, "The registered professional.")
                    .ok_header(etag.0, etag.1)
                    .ok_header(location.0, location.1)
                    .problems(&[409]),
            ],
        )
        .route(
            "/v1/professionals/{id}",
            g.on(get(get_professional).put(update_professional)),
            [
                Doc::get("Read a professional", Some(g))
                    .id("professionals", "getProfessional")
                    .clinic()
                    .path_id("id")
                    .ok::<ProfessionalView>(200, "The professional.")
                    .ok_header(etag.0, etag.1),
                Doc::put("Replace a professional (admin)", g)
                    .id("professionals", "updateProfessional")
                    .clinic()
                    .path_id("id")
                    .if_match()
                    .body::<ProfessionalInput>(true)
                    .ok::<ProfessionalView>(200, "The updated professional.")
                    .ok_header(etag.0, etag.1)
                    .problems(&[409]),
            ],
        )
        .route(
            "/v1/professionals/{id}/time-off",
            g.on(post(create_time_off)),
            [Doc::post("Record time off (admin)", g)
                .id("professionals", "createTimeOff")
                .clinic()
                .path_id("id")
                .body::<TimeOffInput>(true)
                .ok::<TimeOffView>(201, "The recorded period.")],
        )
        .route(
            "/v1/rooms",
            g.on(get(list_rooms).post(create_room)),
            [
                Doc::get("List rooms and devices", Some(g))
                    .id("rooms", "listRooms")
                    .clinic()
                    .ok::<RoomList>(200, "The clinic's rooms and devices."),
                Doc::post("Create a room or device (admin)", g)
                    .id("rooms", "createRoom")
                    .clinic()
                    .body::<RoomInput>(true)
                    .ok::<RoomView>(201, "The created room or device.")
                    .ok_header(etag.0, etag.1)
                    .ok_header(location.0, location.1)
                    .problems(&[409]),
            ],
        )
        .route(
            "/v1/rooms/{id}",
            g.on(get(get_room).put(update_room)),
            [
                Doc::get("Read a room or device", Some(g))
                    .id("rooms", "getRoom")
                    .clinic()
                    .path_id("id")
                    .ok::<RoomView>(200, "The room or device.")
                    .ok_header(etag.0, etag.1),
                Doc::put("Replace a room or device (admin)", g)
                    .id("rooms", "updateRoom")
                    .clinic()
                    .path_id("id")
                    .if_match()
                    .body::<RoomInput>(true)
                    .ok::<RoomView>(200, "The updated room or device.")
                    .ok_header(etag.0, etag.1)
                    .problems(&[409]),
            ],
        )
        .route(
            "/v1/procedures",
            g.on(get(list_procedures).post(create_procedure)),
            [
                Doc::get("List the procedure catalog", Some(g))
                    .id("procedures", "listProcedures")
                    .clinic()
                    .ok::<ProcedureList>(200, "The clinic's procedures."),
                Doc::post("Add a procedure (admin)", g)
                    .id("procedures", "createProcedure")
                    .clinic()
                    .body::<ProcedureInput>(true)
                    .ok::<ProcedureView>(201, "The created procedure.")
                    .ok_header(etag.0, etag.1)
                    .ok_header(location.0, location.1)
                    .problems(&[409]),
            ],
        )
        .route(
            "/v1/procedures/{id}",
            g.on(get(get_procedure).put(update_procedure)),
            [
                Doc::get("Read a procedure", Some(g))
                    .id("procedures", "getProcedure")
                    .clinic()
                    .path_id("id")
                    .ok::<ProcedureView>(200, "The procedure.")
                    .ok_header(etag.0, etag.1),
                Doc::put("Replace a procedure (admin)", g)
                    .id("procedures", "updateProcedure")
                    .clinic()
                    .path_id("id")
                    .if_match()
                    .body::<ProcedureInput>(true)
                    .ok::<ProcedureView>(200, "The updated procedure.")
                    .ok_header(etag.0, etag.1)
                    .problems(&[409]),
            ],
        )
        .route(
            "/v1/appointments",
            p.on(get(list_appointments).post(create_appointment)),
            [
                Doc::get("List appointments", Some(p))
                    .id("appointments", "listAppointments")
                    .clinic()
                    .query::<AppointmentListParams>()
                    .ok::<AppointmentPage>(200, "A page of appointments, by start time."),
                Doc::post("Book an appointment", p)
                    .id("appointments", "createAppointment")
                    .describe(
                        "The database refuses a double booking (professional incl. buffer, or room): \
                         409 `appointment_conflict` lists every blocking appointment. Outside working \
                         hours or during time off: 409 unless an admin gives `override.reason` \
                         (audited). Compliance gates (council verification, certifications, ANVISA \
                         registration) and absolute contraindications: 422.",
                    )
                    .clinic()
                    .body::<AppointmentInput>(true)
                    .ok::<BookedAppointmentView>(201, "The booked appointment with relative contraindications as `warnings`.")
                    .ok_header(etag.0, etag.1)
                    .ok_header(location.0, location.1)
                    .problems(&[409]),
            ],
        )
        .route(
            "/v1/appointments/{id}",
            p.on(get(get_appointment).patch(reschedule_appointment)),
            [
                Doc::get("Read an appointment", Some(p))
                    .id("appointments", "getAppointment")
                    .clinic()
                    .path_id("id")
                    .ok::<AppointmentView>(200, "The appointment.")
                    .ok_header(etag.0, etag.1),
                Doc::patch("Reschedule an appointment", p)
                    .id("appointments", "rescheduleAppointment")
                    .clinic()
                    .path_id("id")
                    .if_match()
                    .body::<RescheduleInput>(true)
                    .ok::<ChangedAppointmentView>(200, "The moved appointment (`warnings`; `planViolations` for a plan session).")
                    .ok_header(etag.0, etag.1)
                    .problems(&[409]),
            ],
        )
        .route(
            "/v1/appointments/{id}/status",
            p.on(post(update_appointment_status)),
            [Doc::post("Change an appointment's status", p)
                .id("appointments", "updateAppointmentStatus")
                .describe("scheduled → confirmed → in_progress → completed, or cancelled / no_show; any other transition is a 409.")
                .clinic()
                .path_id("id")
                .body::<StatusInput>(true)
                .ok::<ChangedAppointmentView>(200, "The appointment (`planViolations` for a plan session).")
                .ok_header(etag.0, etag.1)
                .problems(&[409])],
        )
        .route(
            "/v1/appointments/{id}/cancel",
            p.on(post(cancel_appointment)),
            [Doc::post("Cancel an appointment", p)
                .id("appointments", "cancelAppointment")
                .clinic()
                .path_id("id")
                .body::<CancelInput>(true)
                .ok::<ChangedAppointmentView>(200, "The cancelled appointment (`planViolations` for a plan session).")
                .ok_header(etag.0, etag.1)
                .problems(&[409])],
        )
        .route(
            "/v1/availability",
            g.on(get(get_availability)),
            [Doc::get("Free start times", Some(g))
                .id("appointments", "getAvailability")
                .describe("Honours working hours, time off, buffers, existing appointments and the room; at most 14 days per query.")
                .clinic()
                .query::<AvailabilityParams>()
                .ok::<AvailabilityView>(200, "Bookable start times.")],
        )
        .route(
            "/v1/clinical/contraindications",
            p.on(post(check_contraindications)),
            [Doc::post("Check contraindications", p)
                .id("clinical", "checkContraindications")
                .describe(
                    "Deterministic rules (data, each with its source) over the patient's record and \
                     dated clinical facts: per procedure `canProceed`, `absolute`, `relative` and \
                     active `washouts`. Booking runs the same check. Clinicians and admins.",
                )
                .clinic()
                .body::<ContraindicationsInput>(true)
                .ok::<ContraindicationReport>(200, "One assessment per procedure.")
                .problems(&[404])],
        )
        .route(
            "/v1/clinical/facts",
            p.on(get(list_clinical_facts).post(create_clinical_fact)),
            [
                Doc::get("List a patient's dated clinical facts", Some(p))
                    .id("clinical", "listClinicalFacts")
                    .clinic()
                    .query::<ClinicalFactsParams>()
                    .ok::<ClinicalFactList>(200, "Conditions, medications and allergies with dates.")
                    .problems(&[404]),
                Doc::post("Record a dated clinical fact (clinician, admin)", p)
                    .id("clinical", "createClinicalFact")
                    .clinic()
                    .body::<ClinicalFactInput>(true)
                    .ok::<ClinicalFactView>(201, "The recorded fact.")
                    .problems(&[404]),
            ],
        )
        .route(
            "/v1/treatment-plans",
            p.on(post(create_treatment_plan)),
            [Doc::post("Create a treatment plan and book every session", p)
                .id("treatment-plans", "createTreatmentPlan")
                .describe(
                    "All or nothing, in one transaction: any session that cannot be booked \
                     (conflict, hours, compliance, contraindication, interval) is a 409/422 listing \
                     every failure, and nothing is written.",
                )
                .clinic()
                .body::<PlanCreateInput>(true)
                .ok::<CreatedPlanView>(201, "The plan and its booked sessions.")
                .ok_header(location.0, location.1)
                .problems(&[404, 409])],
        )
        .route(
            "/v1/treatment-plans/preview",
            p.on(post(preview_treatment_plan)),
            [Doc::post("Propose dates for every session of a plan", p)
                .id("treatment-plans", "previewTreatmentPlan")
                .describe(
                    "Honours minimum/maximum intervals, recovery days, weekday and period \
                     preferences, availability and contraindications; reports every session it \
                     cannot place. Writes nothing but its audit entry.",
                )
                .clinic()
                .body::<PlanPreviewInput>(true)
                .ok::<PlanPreviewView>(200, "Proposed sessions and every conflict.")
                .problems(&[404])],
        )
        .route(
            "/v1/treatment-plans/{id}",
            p.on(get(get_treatment_plan)),
            [Doc::get("Read a treatment plan", Some(p))
                .id("treatment-plans", "getTreatmentPlan")
                .clinic()
                .path_id("id")
                .ok::<PlanView>(200, "The plan, its sessions and any broken interval.")],
        )
}

/// The router of the scheduling functions.
pub fn router() -> axum::Router<AppState> {
    routes().into_router()
}

/// The view of an appointment after a move or status change: a plan session carries what is
/// now broken in the rest of its plan (re-validated; nothing else is moved).
pub(super) async fn changed_view(
    tx: &crate::db::Tx,
    clinic_id: Uuid,
    a: &service::Appointment,
    role: crate::tenancy::Role,
) -> Result<ChangedAppointmentView, ApiError> {
    let plan_violations = match a.row.treatment_plan_id {
        Some(plan_id) => Some(
            plans::plan_violations(tx, clinic_id, plan_id)
                .await?
                .iter()
                .map(PlanViolationView::from)
                .collect(),
        ),
        None => None,
    };
    Ok(ChangedAppointmentView {
        appointment: AppointmentView::shape(a, role),
        plan_violations,
        warnings: None,
    })
}

/// The view of a rescheduled appointment: [`changed_view`] plus the relative findings at the
/// new time.
pub(super) async fn moved_view(
    tx: &crate::db::Tx,
    clinic_id: Uuid,
    moved: &service::Booked,
    role: crate::tenancy::Role,
) -> Result<ChangedAppointmentView, ApiError> {
    let mut view = changed_view(tx, clinic_id, &moved.appointment, role).await?;
    view.warnings = Some(
        moved
            .warnings
            .iter()
            .map(|f| FindingView::for_role(f, role))
            .collect(),
    );
    Ok(view)
}

fn etag(version: i32) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

fn respond(
    status: StatusCode,
    body: impl Serialize,
    version: i32,
    location: Option<String>,
) -> Response {
    let mut res = (status, axum::Json(body)).into_response();
    res.headers_mut().insert(header::ETAG, etag(version));
    if let Some(loc) = location
        && let Ok(v) = HeaderValue::from_str(&loc)
    {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

// Professionals ---------------------------------------------------------------------------------

async fn list_professionals(
    t: Tenant<perm::CatalogRead>,
) -> Result<axum::Json<ProfessionalList>, ApiError> {
    let rows = repo::list_professionals(&t.tx, t.clinic_id).await?;
    t.tx.commit().await?;
    Ok(axum::Json(ProfessionalList {
        items: rows.iter().map(ProfessionalView::from).collect(),
    }))
}

async fn get_professional(
    t: Tenant<perm::CatalogRead>,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let row = repo::find_professional(&t.tx, t.clinic_id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    t.tx.commit().await?;
    Ok(respond(
        StatusCode::OK,
        ProfessionalView::from(&row),
        row.version,
        None,
    ))
}

async fn create_professional(
    t: Tenant<perm::CatalogWrite>,
    Json(input): Json<ProfessionalInput>,
) -> Result<Response, ApiError> {
    let p = input.validate()?;
    let row = catalog::create_professional(&t.tx, &t.actor(), &p).await?;
    t.tx.commit().await?;
    Ok(respond(
        StatusCode::CREATED,
        ProfessionalView::from(&row),
        row.version,
        Some(format!("/v1/professionals/{}", row.id)),
    ))
}

async fn update_professional(
    t: Tenant<perm::CatalogWrite>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(input): Json<ProfessionalInput>,
) -> Result<Response, ApiError> {
    let version = crate::http::extract::if_match_version(&headers)?;
    let p = input.validate()?;
    let row = catalog::update_professional(&t.tx, &t.actor(), id, version, &p).await?;
    t.tx.commit().await?;
    Ok(respond(
        StatusCode::OK,
        ProfessionalView::from(&row),
        row.version,
        None,
    ))
}

async fn create_time_off(
    t: Tenant<perm::CatalogWrite>,
    Path(id): Path<Uuid>,
    Json(input): Json<TimeOffInput>,
) -> Result<Response, ApiError> {
    let (starts_at, ends_at, reason) = input.validate()?;
    let off = catalog::add_time_off(&t.tx, &t.actor(), id, starts_at, ends_at, &reason).await?;
    t.tx.commit().await?;
    Ok((
        StatusCode::CREATED,
        axum::Json(TimeOffView {
            id: off,
            professional_id: id,
            starts_at,
            ends_at,
            reason,
        }),
    )
        .into_response())
}

// Rooms -----------------------------------------------------------------------------------------

async fn list_rooms(t: Tenant<perm::CatalogRead>) -> Result<axum::Json<RoomList>, ApiError> {
    let rows = repo::list_rooms(&t.tx, t.clinic_id).await?;
    t.tx.commit().await?;
    Ok(axum::Json(RoomList {
        items: rows.iter().map(RoomView::from).collect(),
    }))
}

async fn get_room(
    t: Tenant<perm::CatalogRead>,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let row = repo::find_room(&t.tx, t.clinic_id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    t.tx.commit().await?;
    Ok(respond(
        StatusCode::OK,
        RoomView::from(&row),
        row.version,
        None,
    ))
}

async fn create_room(
    t: Tenant<perm::CatalogWrite>,
    Json(input): Json<RoomInput>,
) -> Result<Response, ApiError> {
    let r = input.validate()?;
    let row = catalog::create_room(&t.tx, &t.actor(), &r).await?;
    t.tx.commit().await?;
    Ok(respond(
        StatusCode::CREATED,
        RoomView::from(&row),
        row.version,
        Some(format!("/v1/rooms/{}", row.id)),
    ))
}

async fn update_room(
    t: Tenant<perm::CatalogWrite>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(input): Json<RoomInput>,
) -> Result<Response, ApiError> {
    let version = crate::http::extract::if_match_version(&headers)?;
    let r = input.validate()?;
    let row = catalog::update_room(&t.tx, &t.actor(), id, version, &r).await?;
    t.tx.commit().await?;
    Ok(respond(
        StatusCode::OK,
        RoomView::from(&row),
        row.version,
        None,
    ))
}

// Procedures ------------------------------------------------------------------------------------

async fn list_procedures(
    t: Tenant<perm::CatalogRead>,
) -> Result<axum::Json<ProcedureList>, ApiError> {
    let rows = repo::list_procedures(&t.tx, t.clinic_id).await?;
    t.tx.commit().await?;
    Ok(axum::Json(ProcedureList {
        items: rows.iter().map(ProcedureView::from).collect(),
    }))
}

async fn get_procedure(
    t: Tenant<perm::CatalogRead>,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let row = repo::find_procedure(&t.tx, t.clinic_id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    t.tx.commit().await?;
    Ok(respond(
        StatusCode::OK,
        ProcedureView::from(&row),
        row.version,
        None,
    ))
}

async fn create_procedure(
    t: Tenant<perm::CatalogWrite>,
    Json(input): Json<ProcedureInput>,
) -> Result<Response, ApiError> {
    let p = input.validate()?;
    let row = catalog::save_procedure(&t.tx, &t.actor(), None, &p).await?;
    t.tx.commit().await?;
    Ok(respond(
        StatusCode::CREATED,
        ProcedureView::from(&row),
        row.version,
        Some(format!("/v1/procedures/{}", row.id)),
    ))
}

async fn update_procedure(
    t: Tenant<perm::CatalogWrite>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(input): Json<ProcedureInput>,
) -> Result<Response, ApiError> {
    let version = crate::http::extract::if_match_version(&headers)?;
    let p = input.validate()?;
    let row = catalog::save_procedure(&t.tx, &t.actor(), Some((id, version)), &p).await?;
    t.tx.commit().await?;
    Ok(respond(
        StatusCode::OK,
        ProcedureView::from(&row),
        row.version,
        None,
    ))
}

// Appointments ----------------------------------------------------------------------------------

async fn create_appointment(
    State(state): State<AppState>,
    t: Tenant<perm::AppointmentsWrite>,
    Json(input): Json<AppointmentInput>,
) -> Result<Response, ApiError> {
    let input = input.validate()?;
    let actor = t.actor();
    let booked = service::book(&t.tx, state.cipher(), &actor, &input).await?;
    t.tx.commit().await?;
    let a = &booked.appointment;
    Ok(respond(
        StatusCode::CREATED,
        BookedAppointmentView::shape(&booked, actor.role),
        a.row.version,
        Some(format!("/v1/appointments/{}", a.row.id)),
    ))
}

async fn get_appointment(
    State(state): State<AppState>,
    t: Tenant<perm::AppointmentsRead>,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let actor = t.actor();
    let a = service::get(&t.tx, state.cipher(), &actor, id).await?;
    t.tx.commit().await?;
    Ok(respond(
        StatusCode::OK,
        AppointmentView::shape(&a, actor.role),
        a.row.version,
        None,
    ))
}

async fn reschedule_appointment(
    State(state): State<AppState>,
    t: Tenant<perm::AppointmentsWrite>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(input): Json<RescheduleInput>,
) -> Result<Response, ApiError> {
    let version = crate::http::extract::if_match_version(&headers)?;
    let input = input.validate()?;
    let actor = t.actor();
    let moved = service::reschedule(&t.tx, state.cipher(), &actor, id, version, &input).await?;
    let body = moved_view(&t.tx, actor.clinic_id, &moved, actor.role).await?;
    t.tx.commit().await?;
    Ok(respond(
        StatusCode::OK,
        body,
        moved.appointment.row.version,
        None,
    ))
}

async fn update_appointment_status(
    State(state): State<AppState>,
    t: Tenant<perm::AppointmentsWrite>,
    Path(id): Path<Uuid>,
    Json(input): Json<StatusInput>,
) -> Result<Response, ApiError> {
    let (status, reason) = input.validate()?;
    let actor = t.actor();
    let a = service::change_status(&t.tx, state.cipher(), &actor, id, status, reason.as_deref())
        .await?;
    let body = changed_view(&t.tx, actor.clinic_id, &a, actor.role).await?;
    t.tx.commit().await?;
    Ok(respond(StatusCode::OK, body, a.row.version, None))
}

/// Body of `POST /v1/appointments/{id}/cancel`.
#[derive(Debug, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CancelInput {
    /// Reason code: `patient_request`, `clinic_request`, `professional_unavailable`,
    /// `patient_unwell`, `rescheduled` or `other`.
    pub reason: String,
}

impl CancelInput {
    /// The cancellation as a status change (the reason code is checked like any status reason).
    pub fn validate(self) -> Result<(Status, Option<String>), ApiError> {
        StatusInput {
            status: Status::Cancelled.as_str().to_owned(),
            reason: Some(self.reason),
        }
        .validate()
    }
}

async fn cancel_appointment(
    State(state): State<AppState>,
    t: Tenant<perm::AppointmentsWrite>,
    Path(id): Path<Uuid>,
    Json(input): Json<CancelInput>,
) -> Result<Response, ApiError> {
    let (status, reason) = input.validate()?;
    let actor = t.actor();
    let a = service::change_status(&t.tx, state.cipher(), &actor, id, status, reason.as_deref())
        .await?;
    let body = changed_view(&t.tx, actor.clinic_id, &a, actor.role).await?;
    t.tx.commit().await?;
    Ok(respond(StatusCode::OK, body, a.row.version, None))
}

/// Filters of `GET /v1/appointments`.
#[derive(Debug, Deserialize, Default, ts_rs::TS, utoipa::ToSchema, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
#[into_params(parameter_in = Query)]
pub struct AppointmentListParams {
    /// Appointments starting at or after this instant (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Appointments starting before this instant.
    pub to: Option<DateTime<Utc>>,
    pub professional_id: Option<Uuid>,
    pub patient_id: Option<Uuid>,
    pub room_id: Option<Uuid>,
    /// One status (`scheduled`, `confirmed`, …).
    pub status: Option<String>,
    /// `nextCursor` of the previous page.
    pub cursor: Option<String>,
    /// Page size (1–100, default 50).
    pub limit: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct AppointmentCursor {
    t: DateTime<Utc>,
    i: Uuid,
}

async fn list_appointments(
    State(state): State<AppState>,
    t: Tenant<perm::AppointmentsRead>,
    Query(p): Query<AppointmentListParams>,
) -> Result<axum::Json<AppointmentPage>, ApiError> {
    appointments_page(&state, t, p).await.map(axum::Json)
}

/// A page of appointments for `GET /v1/appointments` and `appointments.list` (commits).
pub(super) async fn appointments_page(
    state: &AppState,
    t: Tenant<perm::AppointmentsRead>,
    p: AppointmentListParams,
) -> Result<AppointmentPage, ApiError> {
    if let Some(s) = &p.status
        && Status::parse(s).is_none()
    {
        return Err(ApiError::field(
            "status",
            "invalid_value",
            Msg::new("Valor não permitido.", "Value not allowed."),
        ));
    }
    if let (Some(f), Some(to)) = (p.from, p.to)
        && to <= f
    {
        return Err(ApiError::field(
            "to",
            "invalid_range",
            Msg::new(
                "`to` deve ser depois de `from`.",
                "`to` must be after `from`.",
            ),
        ));
    }
    let limit = cursor::limit(p.limit)?;
    let after = p
        .cursor
        .as_deref()
        .map(cursor::decode::<AppointmentCursor>)
        .transpose()?
        .map(|c| (c.t, c.i));
    let filter = ListFilter {
        from: p.from,
        to: p.to,
        professional_id: p.professional_id,
        patient_id: p.patient_id,
        room_id: p.room_id,
        status: p.status,
        after,
        limit,
    };
    let actor = t.actor();
    let (items, more) = service::list(&t.tx, state.cipher(), &actor, &filter).await?;
    t.tx.commit().await?;
    let next_cursor = more
        .then(|| {
            items.last().map(|a| {
                cursor::encode(&AppointmentCursor {
                    t: a.row.starts_at,
                    i: a.row.id,
                })
            })
        })
        .flatten();
    Ok(AppointmentPage {
        items: items
            .iter()
            .map(|a| AppointmentView::shape(a, actor.role))
            .collect(),
        next_cursor,
    })
}

/// Query of `GET /v1/availability`.
#[derive(Debug, Deserialize, ts_rs::TS, utoipa::ToSchema, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
#[into_params(parameter_in = Query)]
pub struct AvailabilityParams {
    /// The procedure to fit (its duration and buffer).
    pub procedure: Uuid,
    pub professional: Uuid,
    /// A room or device that must also be free.
    pub room: Option<Uuid>,
    /// Window start (RFC 3339).
    pub from: DateTime<Utc>,
    /// Window end (at most 14 days after `from`).
    pub to: DateTime<Utc>,
}

async fn get_availability(
    t: Tenant<perm::CatalogRead>,
    Query(p): Query<AvailabilityParams>,
) -> Result<axum::Json<AvailabilityView>, ApiError> {
    availability_view(t, p).await.map(axum::Json)
}

/// Free start times for `GET /v1/availability` and `appointments.checkAvailability` (commits).
pub(super) async fn availability_view(
    t: Tenant<perm::CatalogRead>,
    p: AvailabilityParams,
) -> Result<AvailabilityView, ApiError> {
    super::model::check_date("from", p.from.date_naive())?;
    if p.to <= p.from || p.to - p.from > chrono::Duration::days(service::AVAILABILITY_MAX_DAYS) {
        return Err(ApiError::field(
            "to",
            "invalid_range",
            Msg::new(
                "`to` deve ser depois de `from`, em no máximo 14 dias.",
                "`to` must be after `from`, at most 14 days later.",
            ),
        ));
    }
    let slots = service::availability(
        &t.tx,
        &t.actor(),
        p.procedure,
        p.professional,
        p.room,
        p.from,
        p.to,
    )
    .await?;
    t.tx.commit().await?;
    Ok(AvailabilityView {
        procedure_id: p.procedure,
        professional_id: p.professional,
        room_id: p.room,
        step_minutes: service::AVAILABILITY_STEP_MINUTES,
        slots,
    })
}

/// Body of `POST /v1/clinical/contraindications`.
#[derive(Debug, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
pub struct ContraindicationsInput {
    pub patient_id: Uuid,
    pub procedure_ids: Vec<Uuid>,
    /// The clinic-local date to assess (default: today); washouts and age depend on it.
    pub date: Option<chrono::NaiveDate>,
}

async fn check_contraindications(
    State(state): State<AppState>,
    t: Tenant<perm::ClinicalRead>,
    Json(input): Json<ContraindicationsInput>,
) -> Result<axum::Json<ContraindicationReport>, ApiError> {
    contraindication_report(&state, t, input)
        .await
        .map(axum::Json)
}

/// `POST /v1/clinical/contraindications` and `aestheticScheduling.checkContraindications`
/// (commits).
pub(super) async fn contraindication_report(
    state: &AppState,
    t: Tenant<perm::ClinicalRead>,
    input: ContraindicationsInput,
) -> Result<ContraindicationReport, ApiError> {
    let mut ids = input.procedure_ids.clone();
    ids.sort();
    ids.dedup();
    if input.procedure_ids.is_empty()
        || input.procedure_ids.len() > 20
        || ids.len() != input.procedure_ids.len()
    {
        return Err(ApiError::field(
            "procedureIds",
            "invalid_length",
            Msg::new(
                "Informe de 1 a 20 procedimentos distintos.",
                "Give 1 to 20 distinct procedures.",
            ),
        ));
    }
    if let Some(d) = input.date {
        super::model::check_date("date", d)?;
    }
    let actor = t.actor();
    let results = contraindications::check(
        &t.tx,
        state.cipher(),
        &actor,
        input.patient_id,
        &input.procedure_ids,
        input.date,
    )
    .await?;
    t.tx.commit().await?;
    Ok(ContraindicationReport {
        patient_id: input.patient_id,
        results: results.iter().map(AssessmentView::from).collect(),
        advisory: LocalizedText {
            pt_br: contraindications::ADVISORY.0.to_owned(),
            en: contraindications::ADVISORY.1.to_owned(),
        },
    })
}

/// Preferences of a plan preview (all optional).
#[derive(Debug, Deserialize, Default, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
pub struct PlanPreferences {
    pub professional_id: Option<Uuid>,
    pub room_id: Option<Uuid>,
    /// 0 = Sunday … 6 = Saturday (any day when absent).
    pub days_of_week: Option<Vec<i32>>,
    /// `morning`, `afternoon`, `evening` (any time when absent).
    pub periods: Option<Vec<String>>,
}

#[derive(Debug, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
pub struct PlanProcedureInput {
    pub procedure_id: Uuid,
    pub sessions: Option<i32>,
}

/// Body of `POST /v1/treatment-plans/preview`.
#[derive(Debug, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
pub struct PlanPreviewInput {
    pub patient_id: Uuid,
    pub procedures: Vec<PlanProcedureInput>,
    pub start_date: chrono::NaiveDate,
    pub preferences: Option<PlanPreferences>,
}

fn invalid(field: &str, pt: &'static str, en: &'static str) -> ApiError {
    ApiError::field(field, "invalid_value", Msg::new(pt, en))
}

impl PlanPreviewInput {
    fn validate(self) -> Result<plans::PlanRequest, ApiError> {
        super::model::check_date("startDate", self.start_date)?;
        let prefs = self.preferences.unwrap_or_default();
        let days_of_week = prefs.days_of_week.unwrap_or_default();
        let periods = prefs.periods.unwrap_or_default();
        if self.procedures.is_empty() || self.procedures.len() > 5 {
            return Err(invalid(
                "procedures",
                "Informe de 1 a 5 procedimentos.",
                "Give 1 to 5 procedures.",
            ));
        }
        if self
            .procedures
            .iter()
            .any(|p| p.sessions.is_some_and(|n| !(1..=20).contains(&n)))
        {
            return Err(invalid(
                "procedures.sessions",
                "Sessões: de 1 a 20.",
                "Sessions: 1 to 20.",
            ));
        }
        if days_of_week.iter().any(|d| !(0..=6).contains(d)) {
            return Err(invalid(
                "preferences.daysOfWeek",
                "Dias da semana de 0 (domingo) a 6 (sábado).",
                "Weekdays from 0 (Sunday) to 6 (Saturday).",
            ));
        }
        if periods
            .iter()
            .any(|p| !plans::PERIODS.iter().any(|(n, _)| n == p))
        {
            return Err(invalid(
                "preferences.periods",
                "Períodos: morning, afternoon, evening.",
                "Periods: morning, afternoon, evening.",
            ));
        }
        Ok(plans::PlanRequest {
            patient_id: self.patient_id,
            procedures: self
                .procedures
                .iter()
                .map(|p| plans::PlanProcedure {
                    procedure_id: p.procedure_id,
                    sessions: p.sessions,
                })
                .collect(),
            start_date: self.start_date,
            professional_id: prefs.professional_id,
            room_id: prefs.room_id,
            weekdays: days_of_week,
            periods,
        })
    }
}

async fn preview_treatment_plan(
    State(state): State<AppState>,
    t: Tenant<perm::AppointmentsWrite>,
    Json(input): Json<PlanPreviewInput>,
) -> Result<axum::Json<PlanPreviewView>, ApiError> {
    plan_preview(&state, t, input).await.map(axum::Json)
}

/// `POST /v1/treatment-plans/preview` and `aestheticScheduling.previewTreatmentPlan` (commits:
/// the preview writes nothing but its audit entry).
pub(super) async fn plan_preview(
    state: &AppState,
    t: Tenant<perm::AppointmentsWrite>,
    input: PlanPreviewInput,
) -> Result<PlanPreviewView, ApiError> {
    let req = input.validate()?;
    let actor = t.actor();
    let (sessions, conflicts) = plans::preview(&t.tx, state.cipher(), &actor, &req).await?;
    t.tx.commit().await?;
    Ok(PlanPreviewView {
        patient_id: req.patient_id,
        sessions: sessions.iter().map(ProposedSessionView::from).collect(),
        conflicts: conflicts.iter().map(PlanConflictView::from).collect(),
    })
}

#[derive(Debug, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
pub struct PlanSessionInput {
    pub procedure_id: Uuid,
    pub session_number: i32,
    pub professional_id: Uuid,
    pub room_id: Option<Uuid>,
    pub starts_at: DateTime<Utc>,
}

/// Body of `POST /v1/treatment-plans`.
#[derive(Debug, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
pub struct PlanCreateInput {
    pub patient_id: Uuid,
    pub sessions: Vec<PlanSessionInput>,
    pub clinical_override: Option<super::model::OverrideInput>,
}

async fn create_treatment_plan(
    State(state): State<AppState>,
    t: Tenant<perm::AppointmentsWrite>,
    Json(input): Json<PlanCreateInput>,
) -> Result<Response, ApiError> {
    let plan = plan_create(&state, t, input).await?;
    let location = format!("/v1/treatment-plans/{}", plan.id);
    let mut res = (StatusCode::CREATED, axum::Json(plan)).into_response();
    if let Ok(v) = HeaderValue::from_str(&location) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// `POST /v1/treatment-plans` and `aestheticScheduling.createTreatmentPlan`: the plan and every
/// session in the request's one transaction (commits only if all were booked).
pub(super) async fn plan_create(
    state: &AppState,
    t: Tenant<perm::AppointmentsWrite>,
    input: PlanCreateInput,
) -> Result<CreatedPlanView, ApiError> {
    if input.sessions.is_empty() || input.sessions.len() > 40 {
        return Err(invalid(
            "sessions",
            "Informe de 1 a 40 sessões.",
            "Give 1 to 40 sessions.",
        ));
    }
    let mut keys: Vec<(Uuid, i32)> = input
        .sessions
        .iter()
        .map(|s| (s.procedure_id, s.session_number))
        .collect();
    keys.sort();
    keys.dedup();
    if keys.len() != input.sessions.len()
        || input
            .sessions
            .iter()
            .any(|s| !(1..=20).contains(&s.session_number))
    {
        return Err(invalid(
            "sessions",
            "Números de sessão de 1 a 20, sem repetição por procedimento.",
            "Session numbers 1 to 20, unique per procedure.",
        ));
    }
    let mut e = crate::patients::model::Errors::default();
    for (i, session) in input.sessions.iter().enumerate() {
        super::model::plausible_instant(
            &mut e,
            &format!("sessions[{i}].startsAt"),
            session.starts_at,
        );
    }
    let reason = super::model::override_reason(
        &mut e,
        "clinicalOverride.reason",
        input.clinical_override.as_ref(),
    );
    e.finish()?;
    let sessions: Vec<plans::SessionInput> = input
        .sessions
        .iter()
        .map(|s| plans::SessionInput {
            procedure_id: s.procedure_id,
            session_number: s.session_number,
            professional_id: s.professional_id,
            room_id: s.room_id,
            starts_at: s.starts_at,
        })
        .collect();
    let actor = t.actor();
    let plan = plans::create(
        &t.tx,
        state.cipher(),
        &actor,
        input.patient_id,
        &sessions,
        reason.as_deref(),
    )
    .await?;
    t.tx.commit().await?;
    Ok(CreatedPlanView {
        id: plan.id,
        patient_id: input.patient_id,
        sessions: plan
            .sessions
            .iter()
            .map(|b| BookedAppointmentView::shape(b, actor.role))
            .collect(),
    })
}

/// Body of `POST /v1/clinical/facts`.
#[derive(Debug, Deserialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
pub struct ClinicalFactInput {
    pub patient_id: Uuid,
    pub kind: String,
    pub description: String,
    pub condition_code: Option<String>,
    pub started_on: Option<chrono::NaiveDate>,
    pub ended_on: Option<chrono::NaiveDate>,
}

async fn create_clinical_fact(
    State(state): State<AppState>,
    t: Tenant<perm::ClinicalRead>,
    Json(input): Json<ClinicalFactInput>,
) -> Result<Response, ApiError> {
    let fact = clinical_facts::NewFact::parse(
        input.patient_id,
        &input.kind,
        &input.description,
        input.condition_code,
        input.started_on,
        input.ended_on,
    )?;
    let actor = t.actor();
    let saved = clinical_facts::record(&t.tx, state.cipher(), &actor, &fact).await?;
    t.tx.commit().await?;
    Ok((StatusCode::CREATED, axum::Json(saved.view())).into_response())
}

/// Query of `GET /v1/clinical/facts`.
#[derive(Debug, Deserialize, ts_rs::TS, utoipa::ToSchema, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
#[into_params(parameter_in = Query)]
pub struct ClinicalFactsParams {
    pub patient_id: Uuid,
}

async fn list_clinical_facts(
    State(state): State<AppState>,
    t: Tenant<perm::ClinicalRead>,
    Query(p): Query<ClinicalFactsParams>,
) -> Result<axum::Json<ClinicalFactList>, ApiError> {
    let actor = t.actor();
    let facts = clinical_facts::list(&t.tx, state.cipher(), &actor, p.patient_id).await?;
    t.tx.commit().await?;
    Ok(axum::Json(ClinicalFactList {
        patient_id: p.patient_id,
        items: facts.iter().map(clinical_facts::Fact::view).collect(),
    }))
}

async fn get_treatment_plan(
    t: Tenant<perm::AppointmentsRead>,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<PlanView>, ApiError> {
    let plan = plans::get(&t.tx, &t.actor(), id).await?;
    t.tx.commit().await?;
    Ok(axum::Json(plan))
}
