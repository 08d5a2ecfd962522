//! SQL of the audit trail. Appends go through the security-definer functions of the audit
//! migration (the API role has no INSERT on the table); reads go through RLS (admins only).

use chrono::{DateTime, Utc};
use serde_json::Value;
use tokio_postgres::Row;
use uuid::Uuid;

use super::service::Event;
use crate::db::Tx;
use crate::error::ApiError;
use crate::tenancy::Actor;

/// Takes the clinic's chain lock and returns (next seq, hash to chain to).
pub async fn chain_head(tx: &Tx, clinic_id: Uuid) -> Result<(i64, Vec<u8>), ApiError> {
    let row = tx
        .query_one("select next_seq, prev_hash from private.audit_chain_head($1)", &[&clinic_id])
        .await?;
    Ok((get(&row, 0)?, get(&row, 1)?))
}

/// Inserts a hashed event.
pub async fn append(
    tx: &Tx,
    actor: &Actor,
    seq: i64,
    occurred_at: DateTime<Utc>,
    event: &Event,
    prev_hash: &[u8],
    hash: &[u8],
) -> Result<(), ApiError> {
    let prev = prev_hash.to_vec();
    let hash = hash.to_vec();
    tx.query(
        "select private.audit_append($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        &[
            &actor.clinic_id,
            &seq,
            &occurred_at,
            &actor.role.as_str(),
            &event.patient_id,
            &event.action,
            &event.resource_type,
            &event.resource_id,
            &outcome_str(event),
            &risk_str(event),
            &actor.meta.request_id,
            &actor.meta.ip,
            &actor.meta.user_agent,
            &event.details,
            &prev,
            &hash,
        ],
    )
    .await?;
    Ok(())
}

fn outcome_str(e: &Event) -> &'static str {
    match e.outcome {
        super::Outcome::Success => "success",
        super::Outcome::Denied => "denied",
        super::Outcome::Failure => "failure",
    }
}

fn risk_str(e: &Event) -> &'static str {
    match e.risk {
        super::Risk::Low => "low",
        super::Risk::Medium => "medium",
        super::Risk::High => "high",
        super::Risk::Critical => "critical",
    }
}

/// An event as stored.
#[derive(Debug, Clone)]
pub struct StoredEvent {
    pub clinic_id: Uuid,
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
    pub details: Value,
    pub prev_hash: Vec<u8>,
    pub hash: Vec<u8>,
}

const COLUMNS: &str = "clinic_id, seq, occurred_at, actor_id, actor_role, patient_id, action, \
    resource_type, resource_id, outcome, risk_level, request_id, ip, user_agent, details, prev_hash, hash";

fn get<'a, T: tokio_postgres::types::FromSql<'a>>(row: &'a Row, i: usize) -> Result<T, ApiError> {
    row.try_get(i).map_err(ApiError::internal)
}

fn stored(row: &Row) -> Result<StoredEvent, ApiError> {
    Ok(StoredEvent {
        clinic_id: get(row, 0)?,
        seq: get(row, 1)?,
        occurred_at: get(row, 2)?,
        actor_id: get(row, 3)?,
        actor_role: get(row, 4)?,
        patient_id: get(row, 5)?,
        action: get(row, 6)?,
        resource_type: get(row, 7)?,
        resource_id: get(row, 8)?,
        outcome: get(row, 9)?,
        risk_level: get(row, 10)?,
        request_id: get(row, 11)?,
        ip: get(row, 12)?,
        user_agent: get(row, 13)?,
        details: get(row, 14)?,
        prev_hash: get(row, 15)?,
        hash: get(row, 16)?,
    })
}

/// Up to `limit` events with `seq > after`, in chain order.
pub async fn events_after(tx: &Tx, clinic_id: Uuid, after: i64, limit: i64) -> Result<Vec<StoredEvent>, ApiError> {
    let sql = format!(
        "select {COLUMNS} from public.audit_events where clinic_id = $1 and seq > $2 order by seq limit $3"
    );
    tx.query(&sql, &[&clinic_id, &after, &limit]).await?.iter().map(stored).collect()
}

/// Filters of the audit listing.
#[derive(Debug, Clone, Default)]
pub struct ListFilter {
    pub patient_id: Option<Uuid>,
    pub actor_id: Option<Uuid>,
    pub action: Option<String>,
    pub from: Option<DateTime<Utc>>,
    pub to: Option<DateTime<Utc>>,
    /// Only events with `seq < before` (cursor).
    pub before_seq: Option<i64>,
    pub limit: i64,
}

/// Newest first, filtered.
pub async fn list(tx: &Tx, clinic_id: Uuid, f: &ListFilter) -> Result<Vec<StoredEvent>, ApiError> {
    let sql = format!(
        "select {COLUMNS} from public.audit_events where clinic_id = $1 \
         and ($2::uuid is null or patient_id = $2) and ($3::uuid is null or actor_id = $3) \
         and ($4::text is null or action = $4) and ($5::timestamptz is null or occurred_at >= $5) \
         and ($6::timestamptz is null or occurred_at < $6) and ($7::bigint is null or seq < $7) \
         order by seq desc limit $8"
    );
    tx.query(
        &sql,
        &[&clinic_id, &f.patient_id, &f.actor_id, &f.action, &f.from, &f.to, &f.before_seq, &f.limit],
    )
    .await?
    .iter()
    .map(stored)
    .collect()
}
