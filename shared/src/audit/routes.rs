//! HTTP for the audit trail (admins only).

use axum::Router;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::repo::{self, ListFilter, StoredEvent};
use super::service::{self, ChainReport};
use crate::error::ApiError;
use crate::http::cursor;
use crate::http::extract::{Json, Query};
use crate::http::policy::Policy;
use crate::openapi::{Doc, Routes};
use crate::ratelimit::RateClass;
use crate::state::AppState;
use crate::tenancy::{Tenant, perm};

/// The audit routes, with their documentation.
pub fn routes() -> Routes {
    let p = Policy::authenticated(RateClass::Healthcare);
    let verify_policy = p.timeout(VERIFY_TIMEOUT);
    Routes::new()
        .route(
            "/v1/audit-events",
            p.on(get(list_events)),
            [Doc::get("List audit events (admins)", Some(p))
                .id("audit", "listAuditEvents")
                .clinic()
                .query::<AuditListParams>()
                .ok::<AuditPage>(200, "A page of events, newest first.")],
        )
        .route(
            "/v1/audit-events/verify",
            verify_policy.on(get(verify_chain)),
            [Doc::get(
                "Verify the clinic's hash chain (admins)",
                Some(verify_policy),
            )
            .id("audit", "verifyAuditChain")
            .clinic()
            .ok::<ChainReport>(200, "The verification report.")],
        )
}

/// The audit router.
pub fn router() -> Router<AppState> {
    routes().into_router()
}

/// Filters of the audit trail (`GET /v1/audit-events`, tRPC `audit.list`).
#[derive(Debug, Default, Deserialize, ts_rs::TS, utoipa::ToSchema, utoipa::IntoParams)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
#[into_params(parameter_in = Query)]
pub struct AuditListParams {
    pub patient_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    /// Dotted action code (`patient.read`).
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Opaque cursor from a previous page's `nextCursor`.
    pub cursor: Option<String>,
    /// Page size (1–100, default 50).
    #[schema(minimum = 1, maximum = 100)]
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct AuditCursor {
    s: i64,
}

/// One audit event, hashes in hex.
#[derive(Debug, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct EventResponse {
    pub seq: i64,
    pub occurred_at: DateTime<Utc>,
    pub actor_id: Uuid,
    pub actor_role: String,
    pub patient_id: Option<Uuid>,
    pub action: String,
    pub resource_type: String,
    pub resource_id: Option<Uuid>,
    pub outcome: String,
    pub risk_level: String,
    pub request_id: Option<String>,
    pub ip: Option<String>,
    pub user_agent: Option<String>,
    #[ts(type = "Record<string, unknown>")]
    #[schema(value_type = Object)]
    pub details: Value,
    pub prev_hash: String,
    pub hash: String,
}

impl From<StoredEvent> for EventResponse {
    fn from(e: StoredEvent) -> Self {
        Self {
            seq: e.seq,
            occurred_at: e.occurred_at,
            actor_id: e.actor_id,
            actor_role: e.actor_role,
            patient_id: e.patient_id,
            action: e.action,
            resource_type: e.resource_type,
            resource_id: e.resource_id,
            outcome: e.outcome,
            risk_level: e.risk_level,
            request_id: e.request_id,
            ip: e.ip,
            user_agent: e.user_agent,
            details: e.details,
            prev_hash: hex::encode(e.prev_hash),
            hash: hex::encode(e.hash),
        }
    }
}

/// One page of audit events (newest first).
#[derive(Debug, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct AuditPage {
    pub items: Vec<EventResponse>,
    pub next_cursor: Option<String>,
}

async fn list_events(
    t: Tenant<perm::AuditRead>,
    Query(p): Query<AuditListParams>,
) -> Result<Json<AuditPage>, ApiError> {
    list_page(t, p).await.map(Json)
}

/// One page of the clinic's audit trail (commits).
pub(super) async fn list_page(
    t: Tenant<perm::AuditRead>,
    p: AuditListParams,
) -> Result<AuditPage, ApiError> {
    let limit = cursor::limit(p.limit)?;
    let before_seq = p
        .cursor
        .as_deref()
        .map(cursor::decode::<AuditCursor>)
        .transpose()?
        .map(|c| c.s);
    let filter = ListFilter {
        patient_id: p.patient_id,
        actor_id: p.actor_id,
        action: p.action,
        from: p.from,
        to: p.to,
        before_seq,
        limit: limit + 1,
    };
    let mut rows = repo::list(&t.tx, t.clinic_id, &filter).await?;
    t.tx.commit().await?;
    let next_cursor = if rows.len() as i64 > limit {
        rows.truncate(limit as usize);
        rows.last()
            .map(|e| cursor::encode(&AuditCursor { s: e.seq }))
    } else {
        None
    };
    Ok(AuditPage {
        items: rows.into_iter().map(EventResponse::from).collect(),
        next_cursor,
    })
}

async fn verify_chain(t: Tenant<perm::AuditRead>) -> Result<Json<ChainReport>, ApiError> {
    verify(t).await.map(Json)
}

/// Verifies the clinic's chain (commits).
pub(super) async fn verify(t: Tenant<perm::AuditRead>) -> Result<ChainReport, ApiError> {
    let report = service::verify(&t.tx, t.clinic_id).await?;
    t.tx.commit().await?;
    Ok(report)
}

/// The time budget of a chain verification.
pub(super) const VERIFY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(20);
