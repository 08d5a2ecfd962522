//! Recording and verifying audit events.
//!
//! [`record`] appends one event to the clinic's chain inside the caller's transaction, so an
//! event exists exactly when the change it describes commits. [`verify`] walks a chain and
//! reports the first broken link.

use chrono::{DateTime, SubsecRound, Utc};
use serde::Serialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::canonical::canonical_json;
use super::repo::{self, StoredEvent};
use crate::db::Tx;
use crate::error::ApiError;
use crate::tenancy::Actor;

/// What happened to the resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// The action took place.
    Success,
    /// The action was refused (recorded only where the refusal itself matters, e.g. overrides).
    Denied,
    /// The action was attempted and failed.
    Failure,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Denied => "denied",
            Self::Failure => "failure",
        }
    }
}

/// How sensitive the action is (the original design's LOW..CRITICAL).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Routine (list without clinical data).
    Low,
    /// Reading or changing identifying data.
    Medium,
    /// Clinical data, restrictions, consent changes.
    High,
    /// Safety overrides and bulk access.
    Critical,
}

impl Risk {
    fn as_str(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
            Self::Critical => "critical",
        }
    }
}

/// An event to append. Carries ids and codes only: never names, CPF or notes.
#[derive(Debug, Clone)]
pub struct Event {
    /// The patient whose data was touched, if any.
    pub patient_id: Option<Uuid>,
    /// Dotted action code (`patient.read`, `consent.withdraw`, `appointment.override`).
    pub action: &'static str,
    /// Resource kind (`patient`, `consent`, `appointment`).
    pub resource_type: &'static str,
    /// Resource id.
    pub resource_id: Option<Uuid>,
    /// Outcome.
    pub outcome: Outcome,
    /// Risk level.
    pub risk: Risk,
    /// Extra ids/codes (changed field names, reason codes, counts).
    pub details: Value,
}

/// The SHA-256 chain link: `hash = SHA-256(prev_hash || canonical JSON of the event)`.
pub fn link_hash(prev_hash: &[u8], event: &Value) -> Result<[u8; 32], ApiError> {
    let bytes = canonical_json(event).map_err(ApiError::internal)?;
    let mut h = Sha256::new();
    h.update(prev_hash);
    h.update(&bytes);
    Ok(h.finalize().into())
}

/// The hashed form of an event. Timestamps are rendered here, in Rust, with microsecond
/// precision (what `timestamptz` stores), so the verifier re-derives the same bytes.
#[allow(clippy::too_many_arguments)]
fn hashed_body(
    clinic_id: Uuid,
    seq: i64,
    occurred_at: &DateTime<Utc>,
    actor_id: Uuid,
    actor_role: &str,
    patient_id: Option<Uuid>,
    action: &str,
    resource_type: &str,
    resource_id: Option<Uuid>,
    outcome: &str,
    risk: &str,
    request_id: Option<&str>,
    ip: Option<&str>,
    user_agent: Option<&str>,
    details: &Value,
) -> Value {
    json!({
        "v": 1,
        "clinicId": clinic_id,
        "seq": seq,
        "occurredAt": occurred_at.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        "actorId": actor_id,
        "actorRole": actor_role,
        "patientId": patient_id,
        "action": action,
        "resourceType": resource_type,
        "resourceId": resource_id,
        "outcome": outcome,
        "riskLevel": risk,
        "requestId": request_id,
        "ip": ip,
        "userAgent": user_agent,
        "details": details,
    })
}

/// Appends `event` to the actor's clinic chain, in `tx`. Call it as the last step before
/// commit: it takes the clinic's chain lock, which is held until the transaction ends.
pub async fn record(tx: &Tx, actor: &Actor, event: Event) -> Result<(), ApiError> {
    let (seq, prev_hash) = repo::chain_head(tx, actor.clinic_id).await?;
    let occurred_at = Utc::now().trunc_subsecs(6);
    let body = hashed_body(
        actor.clinic_id,
        seq,
        &occurred_at,
        actor.user_id,
        actor.role.as_str(),
        event.patient_id,
        event.action,
        event.resource_type,
        event.resource_id,
        event.outcome.as_str(),
        event.risk.as_str(),
        actor.meta.request_id.as_deref(),
        actor.meta.ip.as_deref(),
        actor.meta.user_agent.as_deref(),
        &event.details,
    );
    let hash = link_hash(&prev_hash, &body)?;
    repo::append(tx, actor, seq, occurred_at, &event, &prev_hash, &hash).await
}

/// The result of walking a chain.
#[derive(Debug, Clone, Serialize, ts_rs::TS, utoipa::ToSchema)]
#[serde(rename_all = "camelCase")]
#[ts(rename_all = "camelCase")]
pub struct ChainReport {
    /// Whether every link checks out.
    pub valid: bool,
    /// Events checked.
    pub count: i64,
    /// Hash of the last event (hex), when valid.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub head_hash: Option<String>,
    /// The first broken link, when invalid.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub broken_at_seq: Option<i64>,
    /// Why it is broken: `seq_gap`, `prev_hash_mismatch` or `hash_mismatch`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[ts(optional)]
    pub reason: Option<&'static str>,
}

/// Rows read per round trip while verifying.
const VERIFY_BATCH: i64 = 2_000;

/// Walks the clinic's chain from seq 1 and reports the first broken link.
pub async fn verify(tx: &Tx, clinic_id: Uuid) -> Result<ChainReport, ApiError> {
    let mut expected_seq = 1_i64;
    let mut prev = vec![0_u8; 32];
    loop {
        let batch = repo::events_after(tx, clinic_id, expected_seq - 1, VERIFY_BATCH).await?;
        let done = (batch.len() as i64) < VERIFY_BATCH;
        for e in batch {
            let broken = |reason| ChainReport {
                valid: false,
                count: expected_seq - 1,
                head_hash: None,
                broken_at_seq: Some(expected_seq),
                reason: Some(reason),
            };
            if e.seq != expected_seq {
                return Ok(broken("seq_gap"));
            }
            if e.prev_hash != prev {
                return Ok(broken("prev_hash_mismatch"));
            }
            if recompute(&e)?.as_slice() != e.hash.as_slice() {
                return Ok(broken("hash_mismatch"));
            }
            prev = e.hash;
            expected_seq += 1;
        }
        if done {
            break;
        }
    }
    let count = expected_seq - 1;
    Ok(ChainReport {
        valid: true,
        count,
        head_hash: (count > 0).then(|| hex::encode(&prev)),
        broken_at_seq: None,
        reason: None,
    })
}

fn recompute(e: &StoredEvent) -> Result<[u8; 32], ApiError> {
    let body = hashed_body(
        e.clinic_id,
        e.seq,
        &e.occurred_at,
        e.actor_id,
        &e.actor_role,
        e.patient_id,
        &e.action,
        &e.resource_type,
        e.resource_id,
        &e.outcome,
        &e.risk_level,
        e.request_id.as_deref(),
        e.ip.as_deref(),
        e.user_agent.as_deref(),
        &e.details,
    );
    link_hash(&e.prev_hash, &body)
}
