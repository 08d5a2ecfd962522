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
use crate::ratelimit::RateClass;
use crate::state::AppState;
use crate::tenancy::{Tenant, perm};

/// The audit routes.
pub fn router() -> Router<AppState> {
    Router::new()
        .route("/v1/audit-events", Policy::authenticated(RateClass::Healthcare).on(get(list_events)))
        .route(
            "/v1/audit-events/verify",
            Policy::authenticated(RateClass::Healthcare)
                .timeout(std::time::Duration::from_secs(20))
                .on(get(verify_chain)),
        )
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct ListParams {
    patient_id: Option<Uuid>,
    actor_id: Option<Uuid>,
    action: Option<String>,
    from: Option<DateTime<Utc>>,
    to: Option<DateTime<Utc>>,
    cursor: Option<String>,
    limit: Option<i64>,
}

#[derive(Serialize, Deserialize)]
struct AuditCursor {
    s: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct EventResponse {
    seq: i64,
    occurred_at: DateTime<Utc>,
    actor_id: Uuid,
    actor_role: String,
    patient_id: Option<Uuid>,
    action: String,
    resource_type: String,
    resource_id: Option<Uuid>,
    outcome: String,
    risk_level: String,
    request_id: Option<String>,
    ip: Option<String>,
    user_agent: Option<String>,
    details: Value,
    prev_hash: String,
    hash: String,
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

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ListResponse {
    items: Vec<EventResponse>,
    next_cursor: Option<String>,
}

async fn list_events(t: Tenant<perm::AuditRead>, Query(p): Query<ListParams>) -> Result<Json<ListResponse>, ApiError> {
    let limit = cursor::limit(p.limit)?;
    let before_seq = p.cursor.as_deref().map(cursor::decode::<AuditCursor>).transpose()?.map(|c| c.s);
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
        rows.last().map(|e| cursor::encode(&AuditCursor { s: e.seq }))
    } else {
        None
    };
    Ok(Json(ListResponse { items: rows.into_iter().map(EventResponse::from).collect(), next_cursor }))
}

async fn verify_chain(t: Tenant<perm::AuditRead>) -> Result<Json<ChainReport>, ApiError> {
    let report = service::verify(&t.tx, t.clinic_id).await?;
    t.tx.commit().await?;
    Ok(Json(report))
}
