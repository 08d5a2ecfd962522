//! HTTP for patients and consents: DTOs, extractors, status codes and headers only.

use axum::Router;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::model::{ConsentInput, Errors, PatientInput};
use super::service::{self, Keys, ListQuery};
use crate::br::Cpf;
use crate::error::{ApiError, Msg};
use crate::http::cursor;
use crate::http::extract::{Json, Path, Query};
use crate::http::policy::Policy;
use crate::openapi::{Doc, Routes};
use crate::ratelimit::RateClass;
use crate::state::AppState;
use crate::tenancy::{Action, Role, Tenant, allowed, perm};

/// The patient routes (all in the healthcare rate-limit class), with their documentation.
pub fn routes() -> Routes {
    let p = Policy::authenticated(RateClass::Healthcare);
    let etag = ("ETag", "The record's version, for `If-Match`.");
    Routes::new()
        .route(
            "/v1/patients",
            p.on(get(list_patients).post(create_patient)),
            [
                Doc::get("List patients", Some(p))
                    .id("patients", "listPatients")
                    .describe("Prefer `POST /v1/patients/search` for CPF and name: it keeps personal data out of URLs.")
                    .clinic()
                    .query::<ListParams>()
                    .ok::<PatientPage>(200, "A page of patients, shaped for the caller's role."),
                Doc::post("Create a patient (with intake consents)", p)
                    .id("patients", "createPatient")
                    .clinic()
                    .body::<PatientInput>(true)
                    .ok::<service::PatientView>(201, "The created patient.")
                    .ok_header(etag.0, etag.1)
                    .ok_header("Location", "The new patient's URL.")
                    .problems(&[409]),
            ],
        )
        .route(
            "/v1/patients/search",
            p.on(post(search_patients)),
            [Doc::post("Search patients", p)
                .id("patients", "searchPatients")
                .clinic()
                .body::<ListParams>(true)
                .ok::<PatientPage>(200, "A page of patients.")],
        )
        .route(
            "/v1/patients/{id}",
            p.on(get(get_patient)
                .patch(update_patient)
                .delete(restrict_patient)),
            [
                Doc::get("Read a patient", Some(p))
                    .id("patients", "getPatient")
                    .clinic()
                    .path_id("id")
                    .ok::<service::PatientView>(200, "The patient, shaped for the caller's role.")
                    .ok_header(etag.0, etag.1),
                Doc::patch("Update a patient", p)
                    .id("patients", "updatePatient")
                    .clinic()
                    .path_id("id")
                    .if_match()
                    .body::<PatientInput>(true)
                    .ok::<service::PatientView>(200, "The updated patient.")
                    .ok_header(etag.0, etag.1)
                    .problems(&[409]),
                Doc::delete("Restrict a patient (LGPD block)", p)
                    .id("patients", "restrictPatient")
                    .clinic()
                    .path_id("id")
                    .query::<RestrictParams>()
                    .empty(204, "Restricted.")
                    .problems(&[409]),
            ],
        )
        .route(
            "/v1/patients/{id}/consents",
            p.on(get(list_consents).post(grant_consent)),
            [
                Doc::get("List a patient's consents", Some(p))
                    .id("consents", "listConsents")
                    .clinic()
                    .path_id("id")
                    .ok::<ConsentList>(200, "The consents."),
                Doc::post("Record a consent", p)
                    .id("consents", "grantConsent")
                    .clinic()
                    .path_id("id")
                    .body::<ConsentInput>(true)
                    .ok::<service::ConsentView>(201, "The recorded consent.")
                    .ok_header("Location", "The consent's URL.")
                    .problems(&[409]),
            ],
        )
        .route(
            "/v1/patients/{id}/consents/{consent_id}/withdraw",
            p.on(post(withdraw_consent)),
            [Doc::post("Withdraw a consent", p)
                .id("consents", "withdrawConsent")
                .clinic()
                .path_id("id")
                .path_id("consent_id")
                .body::<WithdrawInput>(false)
                .ok::<service::ConsentView>(200, "The withdrawn consent.")
                .problems(&[409])],
        )
}

/// The patient router.
pub fn router() -> Router<AppState> {
    routes().into_router()
}

pub(super) fn keys(state: &AppState) -> Keys<'_> {
    Keys {
        cipher: state.cipher(),
        index: state.blind_index(),
    }
}

/// Today in São Paulo (Brazil has had no daylight saving time since 2019: UTC−3 all year).
pub(super) fn today() -> NaiveDate {
    (Utc::now() - chrono::Duration::hours(3)).date_naive()
}

fn etag(version: i32) -> HeaderValue {
    HeaderValue::from_str(&format!("\"{version}\"")).unwrap_or(HeaderValue::from_static("\"0\""))
}

fn patient_response(
    status: StatusCode,
    p: &service::Patient,
    role: Role,
    location: bool,
) -> Response {
    let mut res = (status, axum::Json(service::shape(p, role))).into_response();
    res.headers_mut().insert(header::ETAG, etag(p.row.version));
    if location && let Ok(v) = HeaderValue::from_str(&format!("/v1/patients/{}", p.row.id)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    res
}

async fn create_patient(
    axum::extract::State(state): axum::extract::State<AppState>,
    t: Tenant<perm::PatientsWrite>,
    Json(input): Json<PatientInput>,
) -> Result<Response, ApiError> {
    let actor = t.actor();
    let (patient, _consents) =
        service::create(&t.tx, keys(&state), &actor, &input, today()).await?;
    t.tx.commit().await?;
    Ok(patient_response(
        StatusCode::CREATED,
        &patient,
        actor.role,
        true,
    ))
}

async fn get_patient(
    axum::extract::State(state): axum::extract::State<AppState>,
    t: Tenant<perm::PatientsRead>,
    Path(id): Path<Uuid>,
) -> Result<Response, ApiError> {
    let actor = t.actor();
    let patient = service::get(&t.tx, keys(&state), &actor, id).await?;
    t.tx.commit().await?;
    Ok(patient_response(
        StatusCode::OK,
        &patient,
        actor.role,
        false,
    ))
}

async fn update_patient(
    axum::extract::State(state): axum::extract::State<AppState>,
    t: Tenant<perm::PatientsWrite>,
    Path(id): Path<Uuid>,
    headers: HeaderMap,
    Json(input): Json<PatientInput>,
) -> Result<Response, ApiError> {
    let version = crate::http::extract::if_match_version(&headers)?;
    let actor = t.actor();
    let patient =
        service::update(&t.tx, keys(&state), &actor, id, version, &input, today()).await?;
    t.tx.commit().await?;
    Ok(patient_response(
        StatusCode::OK,
        &patient,
        actor.role,
        false,
    ))
}

/// Query of `DELETE /v1/patients/{id}`.
#[derive(Deserialize, utoipa::IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct RestrictParams {
    /// Reason code (default `lgpd_erasure_request`).
    reason: Option<String>,
}

async fn restrict_patient(
    t: Tenant<perm::PatientsRestrict>,
    Path(id): Path<Uuid>,
    Query(p): Query<RestrictParams>,
) -> Result<StatusCode, ApiError> {
    let reason = restriction_reason(p.reason)?;
    service::restrict(&t.tx, &t.actor(), id, &reason).await?;
    t.tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The restriction reason code (default `lgpd_erasure_request`), checked against the allowed list.
pub(super) fn restriction_reason(reason: Option<String>) -> Result<String, ApiError> {
    let reason = reason.unwrap_or_else(|| "lgpd_erasure_request".to_owned());
    if !service::RESTRICTION_REASONS.contains(&reason.as_str()) {
        return Err(ApiError::field(
            "reason",
            "invalid_value",
            Msg::new("Motivo não permitido.", "Reason not allowed."),
        ));
    }
    Ok(reason)
}

/// Filters shared by `GET /v1/patients` and `POST /v1/patients/search`. Prefer the POST form
/// for CPF and name: it keeps personal data out of URLs (and so out of proxies' access logs).
#[derive(Debug, Deserialize, Default, ts_rs::TS, utoipa::ToSchema, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
#[into_params(parameter_in = Query)]
pub struct ListParams {
    /// Name prefix (accents and case ignored).
    pub name: Option<String>,
    /// Exact CPF (any punctuation).
    pub cpf: Option<String>,
    /// `YYYY-MM-DD`.
    pub birth_date: Option<String>,
    /// Only patients updated at or after this instant.
    pub updated_since: Option<DateTime<Utc>>,
    /// Include restricted (LGPD-blocked) records.
    pub include_restricted: Option<bool>,
    /// Opaque cursor from a previous page's `nextCursor`.
    pub cursor: Option<String>,
    /// Page size (1–100, default 50).
    #[schema(minimum = 1, maximum = 100)]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

/// One page of patients.
#[derive(Debug, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct PatientPage {
    pub items: Vec<service::PatientView>,
    /// Pass as `cursor` to get the next page; `null` on the last page.
    pub next_cursor: Option<String>,
}

/// A patient's consents.
#[derive(Debug, Serialize, ts_rs::TS, utoipa::ToSchema)]
pub struct ConsentList {
    pub items: Vec<service::ConsentView>,
}

#[derive(Serialize, Deserialize)]
struct PatientCursor {
    t: DateTime<Utc>,
    i: Uuid,
}

impl ListParams {
    fn parse(self) -> Result<ListQuery, ApiError> {
        let mut e = Errors::default();
        let cpf = self
            .cpf
            .as_deref()
            .and_then(|c| Cpf::parse(c).map_err(|i| e.issue("cpf", i)).ok());
        let birth_date = self.birth_date.as_deref().and_then(|d| {
            NaiveDate::parse_from_str(d, "%Y-%m-%d")
                .map_err(|_| {
                    e.push(
                        "birthDate",
                        "invalid_birth_date",
                        "Use o formato AAAA-MM-DD.",
                        "Use the YYYY-MM-DD format.",
                    )
                })
                .ok()
        });
        if self.name.as_ref().is_some_and(|n| n.chars().count() > 200) {
            e.push("name", "too_long", "Texto longo demais.", "Text too long.");
        }
        let limit = cursor::limit(self.limit);
        e.finish()?;
        let after = self
            .cursor
            .as_deref()
            .map(cursor::decode::<PatientCursor>)
            .transpose()?
            .map(|c| (c.t, c.i));
        Ok(ListQuery {
            name_prefix: self.name,
            cpf,
            birth_date,
            updated_since: self.updated_since,
            include_restricted: self.include_restricted.unwrap_or(false),
            after,
            limit: limit?,
        })
    }
}

/// One page of patients for `params` (REST list/search and tRPC `patients.list`).
pub(super) async fn list_page(
    state: &AppState,
    t: Tenant<perm::PatientsRead>,
    params: ListParams,
) -> Result<PatientPage, ApiError> {
    let q = params.parse()?;
    let actor = t.actor();
    let (patients, more) = service::list(&t.tx, keys(state), &actor, &q).await?;
    t.tx.commit().await?;
    let next_cursor = more
        .then(|| {
            patients.last().map(|p| {
                cursor::encode(&PatientCursor {
                    t: p.row.created_at,
                    i: p.row.id,
                })
            })
        })
        .flatten();
    Ok(PatientPage {
        items: patients
            .iter()
            .map(|p| service::shape(p, actor.role))
            .collect(),
        next_cursor,
    })
}

async fn list_patients(
    axum::extract::State(state): axum::extract::State<AppState>,
    t: Tenant<perm::PatientsRead>,
    Query(params): Query<ListParams>,
) -> Result<Json<PatientPage>, ApiError> {
    list_page(&state, t, params).await.map(Json)
}

async fn search_patients(
    axum::extract::State(state): axum::extract::State<AppState>,
    t: Tenant<perm::PatientsRead>,
    Json(params): Json<ListParams>,
) -> Result<Json<PatientPage>, ApiError> {
    list_page(&state, t, params).await.map(Json)
}

async fn grant_consent(
    t: Tenant<perm::ConsentsWrite>,
    Path(id): Path<Uuid>,
    Json(input): Json<ConsentInput>,
) -> Result<Response, ApiError> {
    let saved = grant(&t, id, &input).await?;
    t.tx.commit().await?;
    let mut res = (StatusCode::CREATED, axum::Json(&saved)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/patients/{id}/consents/{}", saved.id)) {
        res.headers_mut().insert(header::LOCATION, v);
    }
    Ok(res)
}

/// Validates and records a consent (the caller commits).
pub(super) async fn grant(
    t: &Tenant<perm::ConsentsWrite>,
    patient_id: Uuid,
    input: &ConsentInput,
) -> Result<service::ConsentView, ApiError> {
    let mut e = Errors::default();
    let now = Utc::now();
    let consent = input.validate("", now, &mut e);
    e.finish()?;
    let consent = consent.ok_or_else(|| {
        ApiError::internal(std::io::Error::other("consent validation returned nothing"))
    })?;
    let saved = service::grant_consent(&t.tx, &t.actor(), patient_id, &consent).await?;
    Ok(service::consent_json(&saved, now))
}

async fn list_consents(
    t: Tenant<perm::PatientsRead>,
    Path(id): Path<Uuid>,
) -> Result<Json<ConsentList>, ApiError> {
    consents(t, id).await.map(Json)
}

/// A patient's consents (commits).
pub(super) async fn consents(
    t: Tenant<perm::PatientsRead>,
    patient_id: Uuid,
) -> Result<ConsentList, ApiError> {
    let rows = service::list_consents(&t.tx, &t.actor(), patient_id).await?;
    t.tx.commit().await?;
    let now = Utc::now();
    Ok(ConsentList {
        items: rows.iter().map(|c| service::consent_json(c, now)).collect(),
    })
}

#[derive(Debug, Deserialize, Default, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(optional_fields)]
pub struct WithdrawInput {
    /// A short reason code (`patient_request`, `revoked_by_guardian`…), never free text about
    /// the patient.
    pub reason: Option<String>,
}

async fn withdraw_consent(
    t: Tenant<perm::PatientsRead>,
    Path((id, consent_id)): Path<(Uuid, Uuid)>,
    body: axum::body::Bytes,
) -> Result<Json<service::ConsentView>, ApiError> {
    // The body is optional: an empty POST withdraws without a reason code.
    let input: WithdrawInput = if body.iter().all(u8::is_ascii_whitespace) {
        WithdrawInput::default()
    } else {
        serde_json::from_slice(&body).map_err(|_| {
            ApiError::MalformedBody(Msg::new(
                "Corpo inválido: envie {\"reason\": \"codigo\"}.",
                "Invalid body: send {\"reason\": \"code\"}.",
            ))
        })?
    };
    withdraw(t, id, consent_id, input.reason).await.map(Json)
}

/// Withdraws a consent (commits). Staff withdraw on the patient's behalf; a patient may
/// withdraw their own consent (LGPD Art. 18 IX) — RLS limits a patient to their own record.
pub(super) async fn withdraw(
    t: Tenant<perm::PatientsRead>,
    id: Uuid,
    consent_id: Uuid,
    reason: Option<String>,
) -> Result<service::ConsentView, ApiError> {
    if !(allowed(t.role, Action::ConsentsWrite) || t.role == Role::Patient) {
        return Err(ApiError::Forbidden {
            code: "insufficient_role",
            detail: Msg::new("Operação não permitida.", "Operation not allowed."),
        });
    }
    if let Some(r) = &reason
        && (r.is_empty() || r.len() > 60 || !r.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'))
    {
        return Err(ApiError::field(
            "reason",
            "invalid_value",
            Msg::new(
                "Use um código curto (a-z e _).",
                "Use a short code (a-z and _).",
            ),
        ));
    }
    let row =
        service::withdraw_consent(&t.tx, &t.actor(), id, consent_id, reason.as_deref()).await?;
    t.tx.commit().await?;
    Ok(service::consent_json(&row, Utc::now()))
}
