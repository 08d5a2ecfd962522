//! HTTP for the catalog and appointments: DTOs, extractors, status codes and headers only.

use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use uuid::Uuid;

use super::appointment_repo::ListFilter;
use super::model::{
    AppointmentInput, ProcedureInput, ProfessionalInput, RescheduleInput, RoomInput, Status,
    StatusInput, TimeOffInput,
};
use super::views::{
    AppointmentPage, AppointmentView, AvailabilityView, ProcedureList, ProcedureView,
    ProfessionalList, ProfessionalView, RoomList, RoomView, TimeOffView,
};
use super::{catalog, repo, service};
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
    let etag = ("ETag", "The record's version, for `If-Match`.");
    let location = ("Location", "The new resource's URL.");
    Routes::new()
        .route(
            "/v1/professionals",
            p.on(get(list_professionals).post(create_professional)),
            [
                Doc::get("List professionals", Some(p))
                    .id("professionals", "listProfessionals")
                    .clinic()
                    .ok::<ProfessionalList>(200, "The clinic's professionals."),
                Doc::post("Register a professional (admin)", p)
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
            p.on(get(get_professional).put(update_professional)),
            [
                Doc::get("Read a professional", Some(p))
                    .id("professionals", "getProfessional")
                    .clinic()
                    .path_id("id")
                    .ok::<ProfessionalView>(200, "The professional.")
                    .ok_header(etag.0, etag.1),
                Doc::put("Replace a professional (admin)", p)
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
            p.on(post(create_time_off)),
            [Doc::post("Record time off (admin)", p)
                .id("professionals", "createTimeOff")
                .clinic()
                .path_id("id")
                .body::<TimeOffInput>(true)
                .ok::<TimeOffView>(201, "The recorded period.")],
        )
        .route(
            "/v1/rooms",
            p.on(get(list_rooms).post(create_room)),
            [
                Doc::get("List rooms and devices", Some(p))
                    .id("rooms", "listRooms")
                    .clinic()
                    .ok::<RoomList>(200, "The clinic's rooms and devices."),
                Doc::post("Create a room or device (admin)", p)
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
            p.on(get(get_room).put(update_room)),
            [
                Doc::get("Read a room or device", Some(p))
                    .id("rooms", "getRoom")
                    .clinic()
                    .path_id("id")
                    .ok::<RoomView>(200, "The room or device.")
                    .ok_header(etag.0, etag.1),
                Doc::put("Replace a room or device (admin)", p)
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
            p.on(get(list_procedures).post(create_procedure)),
            [
                Doc::get("List the procedure catalog", Some(p))
                    .id("procedures", "listProcedures")
                    .clinic()
                    .ok::<ProcedureList>(200, "The clinic's procedures."),
                Doc::post("Add a procedure (admin)", p)
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
            p.on(get(get_procedure).put(update_procedure)),
            [
                Doc::get("Read a procedure", Some(p))
                    .id("procedures", "getProcedure")
                    .clinic()
                    .path_id("id")
                    .ok::<ProcedureView>(200, "The procedure.")
                    .ok_header(etag.0, etag.1),
                Doc::put("Replace a procedure (admin)", p)
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
                    .ok::<AppointmentView>(201, "The booked appointment (with `warnings`).")
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
                    .ok::<AppointmentView>(200, "The moved appointment.")
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
                .ok::<AppointmentView>(200, "The appointment.")
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
                .ok::<AppointmentView>(200, "The cancelled appointment.")
                .ok_header(etag.0, etag.1)
                .problems(&[409])],
        )
        .route(
            "/v1/availability",
            p.on(get(get_availability)),
            [Doc::get("Free start times", Some(p))
                .id("appointments", "getAvailability")
                .describe("Honours working hours, time off, buffers, existing appointments and the room; at most 14 days per query.")
                .clinic()
                .query::<AvailabilityParams>()
                .ok::<AvailabilityView>(200, "Bookable start times.")],
        )
}

/// The router of the scheduling functions.
pub fn router() -> axum::Router<AppState> {
    routes().into_router()
}

fn etag(version: i32) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

/// Parses `If-Match: "3"` (or `3`, or `W/"3"`). Missing → 428; unparseable → 412.
fn if_match(headers: &HeaderMap) -> Result<i32, ApiError> {
    let raw = headers
        .get(header::IF_MATCH)
        .ok_or(ApiError::PreconditionRequired)?;
    raw.to_str()
        .ok()
        .map(|s| s.trim().trim_start_matches("W/").trim_matches('"'))
        .and_then(|s| s.parse::<i32>().ok())
        .ok_or(ApiError::PreconditionFailed)
}

fn respond(status: StatusCode, body: Value, version: i32, location: Option<String>) -> Response {
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

async fn list_professionals(t: Tenant<perm::CatalogRead>) -> Result<axum::Json<Value>, ApiError> {
    let rows = repo::list_professionals(&t.tx, t.clinic_id).await?;
    t.tx.commit().await?;
    Ok(axum::Json(
        json!({ "items": rows.iter().map(catalog::professional_json).collect::<Vec<_>>() }),
    ))
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
        catalog::professional_json(&row),
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
        catalog::professional_json(&row),
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
    let version = if_match(&headers)?;
    let p = input.validate()?;
    let row = catalog::update_professional(&t.tx, &t.actor(), id, version, &p).await?;
    t.tx.commit().await?;
    Ok(respond(
        StatusCode::OK,
        catalog::professional_json(&row),
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
        axum::Json(json!({
            "id": off, "professionalId": id, "startsAt": starts_at, "endsAt": ends_at, "reason": reason
        })),
    )
        .into_response())
}

// Rooms -----------------------------------------------------------------------------------------

async fn list_rooms(t: Tenant<perm::CatalogRead>) -> Result<axum::Json<Value>, ApiError> {
    let rows = repo::list_rooms(&t.tx, t.clinic_id).await?;
    t.tx.commit().await?;
    Ok(axum::Json(
        json!({ "items": rows.iter().map(catalog::room_json).collect::<Vec<_>>() }),
    ))
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
        catalog::room_json(&row),
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
        catalog::room_json(&row),
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
    let version = if_match(&headers)?;
    let r = input.validate()?;
    let row = catalog::update_room(&t.tx, &t.actor(), id, version, &r).await?;
    t.tx.commit().await?;
    Ok(respond(
        StatusCode::OK,
        catalog::room_json(&row),
        row.version,
        None,
    ))
}

// Procedures ------------------------------------------------------------------------------------

async fn list_procedures(t: Tenant<perm::CatalogRead>) -> Result<axum::Json<Value>, ApiError> {
    let rows = repo::list_procedures(&t.tx, t.clinic_id).await?;
    t.tx.commit().await?;
    Ok(axum::Json(
        json!({ "items": rows.iter().map(catalog::procedure_json).collect::<Vec<_>>() }),
    ))
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
        catalog::procedure_json(&row),
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
        catalog::procedure_json(&row),
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
    let version = if_match(&headers)?;
    let p = input.validate()?;
    let row = catalog::save_procedure(&t.tx, &t.actor(), Some((id, version)), &p).await?;
    t.tx.commit().await?;
    Ok(respond(
        StatusCode::OK,
        catalog::procedure_json(&row),
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
    let a = service::book(&t.tx, state.cipher(), &actor, &input).await?;
    t.tx.commit().await?;
    let mut body = service::appointment_json(&a, actor.role);
    if let Some(o) = body.as_object_mut() {
        o.insert("warnings".into(), json!([]));
    }
    Ok(respond(
        StatusCode::CREATED,
        body,
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
        service::appointment_json(&a, actor.role),
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
    let version = if_match(&headers)?;
    let input = input.validate()?;
    let actor = t.actor();
    let a = service::reschedule(&t.tx, state.cipher(), &actor, id, version, &input).await?;
    t.tx.commit().await?;
    Ok(respond(
        StatusCode::OK,
        service::appointment_json(&a, actor.role),
        a.row.version,
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
    t.tx.commit().await?;
    Ok(respond(
        StatusCode::OK,
        service::appointment_json(&a, actor.role),
        a.row.version,
        None,
    ))
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
    t.tx.commit().await?;
    Ok(respond(
        StatusCode::OK,
        service::appointment_json(&a, actor.role),
        a.row.version,
        None,
    ))
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
