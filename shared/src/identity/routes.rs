//! HTTP for the identity domain.

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use http::Method;
use serde::Serialize;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::error::ApiError;
use crate::http::policy::Policy;
use crate::openapi::{Doc, Routes};
use crate::ratelimit::RateClass;
use crate::state::AppState;
use crate::tenancy::{self, Role, Tenant, X_CLINIC_ID, perm};

/// The identity routes, with their documentation.
pub fn routes() -> Routes {
    let p = Policy::authenticated(RateClass::General);
    Routes::new()
        .route(
            "/v1/me",
            p.on(get(get_me)),
            [Doc::get("The caller and their memberships", Some(p))
                .id("identity", "getMe")
                .clinic()
                .ok::<MeResponse>(200, "The caller.")],
        )
        .route(
            "/v1/clinics/current",
            p.on(get(get_current_clinic)),
            [Doc::get("The clinic this request acts for", Some(p))
                .id("identity", "getCurrentClinic")
                .clinic()
                .ok::<ClinicResponse>(200, "The clinic.")],
        )
}

/// The identity router.
pub fn router() -> Router<AppState> {
    routes().into_router()
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MembershipResponse {
    clinic_id: Uuid,
    clinic_name: Option<String>,
    role: Role,
    active: bool,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ActiveClinic {
    clinic_id: Uuid,
    role: Role,
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct MeResponse {
    user_id: Uuid,
    aal: Option<String>,
    session_id: Option<Uuid>,
    /// The clinic this request acts for; `null` when the caller must pick one with X-Clinic-Id.
    active_clinic: Option<ActiveClinic>,
    memberships: Vec<MembershipResponse>,
}

async fn get_me(
    State(state): State<AppState>,
    user: AuthUser,
    headers: http::HeaderMap,
) -> Result<Json<MeResponse>, ApiError> {
    let tx = tenancy::begin(&state, &user, &Method::GET, false).await?;
    let memberships = tenancy::repo_memberships(&tx, user.user_id()).await?;
    tx.commit().await?;
    let header = headers
        .get(&X_CLINIC_ID)
        .map(|v| v.to_str().unwrap_or("invalid"));
    let active_clinic = match tenancy::resolve_clinic(header, &memberships) {
        Ok(m) => Some(ActiveClinic {
            clinic_id: m.clinic_id,
            role: m.role,
        }),
        // Naming a clinic you do not belong to is refused even here: the header never grants.
        Err(e) if header.is_some() => return Err(e),
        Err(_) => None,
    };
    let claims = &user.0.claims;
    Ok(Json(MeResponse {
        user_id: user.user_id(),
        aal: claims.aal.clone(),
        session_id: claims.session_id,
        active_clinic,
        memberships: memberships
            .into_iter()
            .map(|m| MembershipResponse {
                clinic_id: m.clinic_id,
                clinic_name: m.clinic_name,
                role: m.role,
                active: m.active,
            })
            .collect(),
    }))
}

#[derive(Serialize, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct ClinicResponse {
    id: Uuid,
    name: String,
    cnpj: Option<String>,
    timezone: String,
    role: Role,
}

async fn get_current_clinic(t: Tenant<perm::ClinicRead>) -> Result<Json<ClinicResponse>, ApiError> {
    let row =
        t.tx.query_opt(
            "select id, name, cnpj, timezone from public.clinics where id = $1",
            &[&t.clinic_id],
        )
        .await?
        .ok_or(ApiError::NotFound)?;
    let res = ClinicResponse {
        id: row.try_get(0).map_err(ApiError::internal)?,
        name: row.try_get(1).map_err(ApiError::internal)?,
        cnpj: row.try_get(2).map_err(ApiError::internal)?,
        timezone: row.try_get(3).map_err(ApiError::internal)?,
        role: t.role,
    };
    t.tx.commit().await?;
    Ok(Json(res))
}
