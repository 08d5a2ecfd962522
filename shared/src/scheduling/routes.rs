//! HTTP for the catalog, appointments, contraindication checks, clinical facts and treatment
//! plans: DTOs, extractors, status codes and headers only.

use axum::Router;
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
use super::{catalog, clinical_facts, contraindications, plans, repo, service};
use crate::error::{ApiError, Msg};
use crate::http::cursor;
use crate::http::extract::{Json, Path, Query};
use crate::http::policy::Policy;
use crate::ratelimit::RateClass;
use crate::state::AppState;
use crate::tenancy::{Tenant, perm};

/// The catalog and appointment routes (healthcare rate-limit class: they reveal who is
/// treated for what).
pub fn router() -> Router<AppState> {
    let p = Policy::authenticated(RateClass::Healthcare);
    Router::new()
        .route(
            "/v1/professionals",
            p.on(get(list_professionals).post(create_professional)),
        )
        .route(
            "/v1/professionals/{id}",
            p.on(get(get_professional).put(update_professional)),
        )
        .route(
            "/v1/professionals/{id}/time-off",
            p.on(post(create_time_off)),
        )
        .route("/v1/rooms", p.on(get(list_rooms).post(create_room)))
        .route("/v1/rooms/{id}", p.on(get(get_room).put(update_room)))
        .route(
            "/v1/procedures",
            p.on(get(list_procedures).post(create_procedure)),
        )
        .route(
            "/v1/procedures/{id}",
            p.on(get(get_procedure).put(update_procedure)),
        )
        .route(
            "/v1/appointments",
            p.on(get(list_appointments).post(create_appointment)),
        )
        .route(
            "/v1/appointments/{id}",
            p.on(get(get_appointment).patch(reschedule_appointment)),
        )
        .route(
            "/v1/appointments/{id}/status",
            p.on(post(update_appointment_status)),
        )
        .route(
            "/v1/appointments/{id}/cancel",
            p.on(post(cancel_appointment)),
        )
        .route("/v1/availability", p.on(get(get_availability)))
        .route(
            "/v1/clinical/contraindications",
            p.on(post(check_contraindications)),
        )
        .route(
            "/v1/clinical/facts",
            p.on(get(list_clinical_facts).post(create_clinical_fact)),
        )
        .route("/v1/treatment-plans", p.on(post(create_treatment_plan)))
        .route(
            "/v1/treatment-plans/preview",
            p.on(post(preview_treatment_plan)),
        )
        .route("/v1/treatment-plans/{id}", p.on(get(get_treatment_plan)))
}

/// Adds `planViolations` to an appointment body when it belongs to a plan (after a move or a
/// cancellation: the rest of the plan is re-validated, nothing else is moved).
async fn with_plan_violations(
    tx: &crate::db::Tx,
    clinic_id: Uuid,
    a: &service::Appointment,
    body: &mut Value,
) -> Result<(), ApiError> {
    if let Some(plan_id) = a.row.treatment_plan_id {
        let v = plans::plan_violations(tx, clinic_id, plan_id).await?;
        if let Some(o) = body.as_object_mut() {
            o.insert(
                "planViolations".into(),
                json!(v.iter().map(plans::Violation::to_json).collect::<Vec<_>>()),
            );
        }
    }
    Ok(())
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
    let booked = service::book(&t.tx, state.cipher(), &actor, &input).await?;
    t.tx.commit().await?;
    let a = booked.appointment;
    let mut body = service::appointment_json(&a, actor.role);
    if let Some(o) = body.as_object_mut() {
        o.insert(
            "warnings".into(),
            json!(
                booked
                    .warnings
                    .iter()
                    .map(|f| f.to_json())
                    .collect::<Vec<_>>()
            ),
        );
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
    let moved = service::reschedule(&t.tx, state.cipher(), &actor, id, version, &input).await?;
    let a = moved.appointment;
    let mut body = service::appointment_json(&a, actor.role);
    with_plan_violations(&t.tx, actor.clinic_id, &a, &mut body).await?;
    if let Some(o) = body.as_object_mut() {
        o.insert(
            "warnings".into(),
            json!(
                moved
                    .warnings
                    .iter()
                    .map(|f| f.to_json())
                    .collect::<Vec<_>>()
            ),
        );
    }
    t.tx.commit().await?;
    Ok(respond(StatusCode::OK, body, a.row.version, None))
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
    let mut body = service::appointment_json(&a, actor.role);
    with_plan_violations(&t.tx, actor.clinic_id, &a, &mut body).await?;
    t.tx.commit().await?;
    Ok(respond(StatusCode::OK, body, a.row.version, None))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct CancelInput {
    reason: String,
}

async fn cancel_appointment(
    State(state): State<AppState>,
    t: Tenant<perm::AppointmentsWrite>,
    Path(id): Path<Uuid>,
    Json(input): Json<CancelInput>,
) -> Result<Response, ApiError> {
    let (status, reason) = StatusInput {
        status: Status::Cancelled.as_str().to_owned(),
        reason: Some(input.reason),
    }
    .validate()?;
    let actor = t.actor();
    let a = service::change_status(&t.tx, state.cipher(), &actor, id, status, reason.as_deref())
        .await?;
    let mut body = service::appointment_json(&a, actor.role);
    with_plan_violations(&t.tx, actor.clinic_id, &a, &mut body).await?;
    t.tx.commit().await?;
    Ok(respond(StatusCode::OK, body, a.row.version, None))
}

/// Filters of `GET /v1/appointments`.
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListParams {
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    professional_id: Option<Uuid>,
    patient_id: Option<Uuid>,
    room_id: Option<Uuid>,
    status: Option<String>,
    cursor: Option<String>,
    limit: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct AppointmentCursor {
    t: DateTime<Utc>,
    i: Uuid,
}

async fn list_appointments(
    State(state): State<AppState>,
    t: Tenant<perm::AppointmentsRead>,
    Query(p): Query<ListParams>,
) -> Result<axum::Json<Value>, ApiError> {
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
    let next = more
        .then(|| {
            items.last().map(|a| {
                cursor::encode(&AppointmentCursor {
                    t: a.row.starts_at,
                    i: a.row.id,
                })
            })
        })
        .flatten();
    Ok(axum::Json(json!({
        "items": items.iter().map(|a| service::appointment_json(a, actor.role)).collect::<Vec<_>>(),
        "nextCursor": next,
    })))
}

/// Query of `GET /v1/availability`.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct AvailabilityParams {
    procedure: Uuid,
    professional: Uuid,
    room: Option<Uuid>,
    from: DateTime<Utc>,
    to: DateTime<Utc>,
}

async fn get_availability(
    t: Tenant<perm::CatalogRead>,
    Query(p): Query<AvailabilityParams>,
) -> Result<axum::Json<Value>, ApiError> {
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
    Ok(axum::Json(json!({
        "procedureId": p.procedure,
        "professionalId": p.professional,
        "roomId": p.room,
        "stepMinutes": service::AVAILABILITY_STEP_MINUTES,
        "slots": slots,
    })))
}

/// Body of `POST /v1/clinical/contraindications`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ContraindicationsInput {
    patient_id: Uuid,
    procedure_ids: Vec<Uuid>,
    /// The clinic-local date to assess (default: today); washouts and age depend on it.
    date: Option<chrono::NaiveDate>,
}

async fn check_contraindications(
    State(state): State<AppState>,
    t: Tenant<perm::ClinicalRead>,
    Json(input): Json<ContraindicationsInput>,
) -> Result<axum::Json<Value>, ApiError> {
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
    Ok(axum::Json(json!({
        "patientId": input.patient_id,
        "results": results.iter().map(contraindications::Assessment::to_json).collect::<Vec<_>>(),
        "advisory": { "pt-BR": contraindications::ADVISORY.0, "en": contraindications::ADVISORY.1 },
    })))
}

/// Preferences of a plan preview (all optional).
#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PlanPreferences {
    professional_id: Option<Uuid>,
    room_id: Option<Uuid>,
    #[serde(default)]
    days_of_week: Vec<i32>,
    #[serde(default)]
    periods: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PlanProcedureInput {
    procedure_id: Uuid,
    sessions: Option<i32>,
}

/// Body of `POST /v1/treatment-plans/preview`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PlanPreviewInput {
    patient_id: Uuid,
    procedures: Vec<PlanProcedureInput>,
    start_date: chrono::NaiveDate,
    #[serde(default)]
    preferences: PlanPreferences,
}

fn invalid(field: &str, pt: &'static str, en: &'static str) -> ApiError {
    ApiError::field(field, "invalid_value", Msg::new(pt, en))
}

impl PlanPreviewInput {
    fn validate(self) -> Result<plans::PlanRequest, ApiError> {
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
        if self
            .preferences
            .days_of_week
            .iter()
            .any(|d| !(0..=6).contains(d))
        {
            return Err(invalid(
                "preferences.daysOfWeek",
                "Dias da semana de 0 (domingo) a 6 (sábado).",
                "Weekdays from 0 (Sunday) to 6 (Saturday).",
            ));
        }
        if self
            .preferences
            .periods
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
            professional_id: self.preferences.professional_id,
            room_id: self.preferences.room_id,
            weekdays: self.preferences.days_of_week,
            periods: self.preferences.periods,
        })
    }
}

async fn preview_treatment_plan(
    State(state): State<AppState>,
    t: Tenant<perm::AppointmentsWrite>,
    Json(input): Json<PlanPreviewInput>,
) -> Result<axum::Json<Value>, ApiError> {
    let req = input.validate()?;
    let actor = t.actor();
    let (sessions, conflicts) = plans::preview(&t.tx, state.cipher(), &actor, &req).await?;
    t.tx.commit().await?;
    Ok(axum::Json(json!({
        "patientId": req.patient_id,
        "sessions": sessions.iter().map(plans::Proposed::to_json).collect::<Vec<_>>(),
        "conflicts": conflicts.iter().map(plans::PlanConflict::to_json).collect::<Vec<_>>(),
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PlanSessionInput {
    procedure_id: Uuid,
    session_number: i32,
    professional_id: Uuid,
    room_id: Option<Uuid>,
    starts_at: DateTime<Utc>,
}

/// Body of `POST /v1/treatment-plans`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct PlanCreateInput {
    patient_id: Uuid,
    sessions: Vec<PlanSessionInput>,
    clinical_override: Option<super::model::OverrideInput>,
}

async fn create_treatment_plan(
    State(state): State<AppState>,
    t: Tenant<perm::AppointmentsWrite>,
    Json(input): Json<PlanCreateInput>,
) -> Result<Response, ApiError> {
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
    let body = json!({
        "id": plan.id,
        "patientId": input.patient_id,
        "sessions": plan.sessions.iter().map(|b| {
            let mut v = service::appointment_json(&b.appointment, actor.role);
            if let Some(o) = v.as_object_mut() {
                o.insert("warnings".into(), json!(b.warnings.iter().map(|f| f.to_json()).collect::<Vec<_>>()));
            }
            v
        }).collect::<Vec<_>>(),
    });
    Ok((StatusCode::CREATED, axum::Json(body)).into_response())
}

/// Body of `POST /v1/clinical/facts`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClinicalFactInput {
    patient_id: Uuid,
    kind: String,
    description: String,
    condition_code: Option<String>,
    started_on: Option<chrono::NaiveDate>,
    ended_on: Option<chrono::NaiveDate>,
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
    Ok((StatusCode::CREATED, axum::Json(saved.to_json())).into_response())
}

/// Query of `GET /v1/clinical/facts`.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ClinicalFactsParams {
    patient_id: Uuid,
}

async fn list_clinical_facts(
    State(state): State<AppState>,
    t: Tenant<perm::ClinicalRead>,
    Query(p): Query<ClinicalFactsParams>,
) -> Result<axum::Json<Value>, ApiError> {
    let actor = t.actor();
    let facts = clinical_facts::list(&t.tx, state.cipher(), &actor, p.patient_id).await?;
    t.tx.commit().await?;
    Ok(axum::Json(json!({
        "patientId": p.patient_id,
        "items": facts.iter().map(clinical_facts::Fact::to_json).collect::<Vec<_>>(),
    })))
}

async fn get_treatment_plan(
    t: Tenant<perm::AppointmentsRead>,
    Path(id): Path<Uuid>,
) -> Result<axum::Json<Value>, ApiError> {
    let body = plans::get(&t.tx, &t.actor(), id).await?;
    t.tx.commit().await?;
    Ok(axum::Json(body))
}
