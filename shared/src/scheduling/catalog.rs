//! Catalog rules: professionals (with weekly hours and time off), rooms/devices and procedures.
//! Admin writes are versioned (`If-Match`) and audited; constraint violations become 409/422.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use uuid::Uuid;

use super::model::{NewProcedure, NewProfessional, NewRoom};
use super::repo::{self, ProcedureRow, ProfessionalRow, RoomRow};
use crate::audit::{self, Event, Outcome, Risk};
use crate::db::{Tx, map_pg_error};
use crate::error::{ApiError, Msg};
use crate::tenancy::Actor;

fn constraint(e: &tokio_postgres::Error) -> Option<&str> {
    e.as_db_error().and_then(|d| d.constraint())
}

fn duplicate(code: &'static str, detail: Msg) -> ApiError {
    ApiError::Conflict {
        code,
        detail,
        extra: None,
    }
}

async fn audit_catalog(
    tx: &Tx,
    actor: &Actor,
    action: &'static str,
    resource_type: &'static str,
    id: Uuid,
    details: Value,
) -> Result<(), ApiError> {
    audit::record(
        tx,
        actor,
        Event {
            patient_id: None,
            action,
            resource_type,
            resource_id: Some(id),
            outcome: Outcome::Success,
            risk: Risk::Low,
            details,
        },
    )
    .await
}

fn map_professional_error(e: tokio_postgres::Error) -> ApiError {
    match constraint(&e) {
        Some(repo::PRO_REGISTRATION_UNIQUE) => duplicate(
            "professional_already_registered",
            Msg::new(
                "Já existe um profissional com este registro no conselho.",
                "A professional with this council registration already exists.",
            ),
        ),
        Some(repo::PRO_MEMBER_FK) => ApiError::field(
            "userId",
            "not_a_member",
            Msg::new(
                "O usuário não é membro desta clínica.",
                "The user is not a member of this clinic.",
            ),
        ),
        _ => map_pg_error(e),
    }
}

/// Creates a professional with their weekly hours.
pub async fn create_professional(
    tx: &Tx,
    actor: &Actor,
    p: &NewProfessional,
) -> Result<ProfessionalRow, ApiError> {
    let id = match repo::insert_professional(tx, actor.clinic_id, p).await? {
        Ok(Some(id)) => id,
        Ok(None) => {
            return Err(ApiError::internal(std::io::Error::other(
                "insert returned no id",
            )));
        }
        Err(e) => return Err(map_professional_error(e)),
    };
    repo::replace_hours(tx, actor.clinic_id, id, &p.hours).await?;
    audit_catalog(
        tx,
        actor,
        "professional.create",
        "professional",
        id,
        json!({ "verificationStatus": p.verification_status }),
    )
    .await?;
    repo::find_professional(tx, actor.clinic_id, id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// Replaces a professional (and their hours) if `version` is current.
pub async fn update_professional(
    tx: &Tx,
    actor: &Actor,
    id: Uuid,
    version: i32,
    p: &NewProfessional,
) -> Result<ProfessionalRow, ApiError> {
    repo::find_professional(tx, actor.clinic_id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    match repo::update_professional(tx, actor.clinic_id, id, version, p).await? {
        Ok(1) => {}
        Ok(_) => return Err(ApiError::PreconditionFailed),
        Err(e) => return Err(map_professional_error(e)),
    }
    repo::replace_hours(tx, actor.clinic_id, id, &p.hours).await?;
    audit_catalog(
        tx,
        actor,
        "professional.update",
        "professional",
        id,
        json!({ "verificationStatus": p.verification_status, "active": p.active }),
    )
    .await?;
    repo::find_professional(tx, actor.clinic_id, id)
        .await?
        .ok_or(ApiError::NotFound)
}

/// Records time off for a professional.
pub async fn add_time_off(
    tx: &Tx,
    actor: &Actor,
    professional_id: Uuid,
    starts_at: DateTime<Utc>,
    ends_at: DateTime<Utc>,
    reason: &str,
) -> Result<Uuid, ApiError> {
    repo::find_professional(tx, actor.clinic_id, professional_id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let id = repo::insert_time_off(
        tx,
        actor.clinic_id,
        professional_id,
        starts_at,
        ends_at,
        reason,
    )
    .await?;
    audit_catalog(
        tx,
        actor,
        "professional.time_off",
        "professional",
        professional_id,
        json!({ "timeOffId": id, "reason": reason }),
    )
    .await?;
    Ok(id)
}

fn room_conflict() -> ApiError {
    duplicate(
        "room_name_taken",
        Msg::new(
            "Já existe uma sala ou equipamento com este nome.",
            "A room or device with this name already exists.",
        ),
    )
}

/// Creates a room or device.
pub async fn create_room(tx: &Tx, actor: &Actor, r: &NewRoom) -> Result<RoomRow, ApiError> {
    let row = match repo::insert_room(tx, actor.clinic_id, r).await? {
        Ok(Some(row)) => row,
        Ok(None) => {
            return Err(ApiError::internal(std::io::Error::other(
                "insert returned no row",
            )));
        }
        Err(e) if constraint(&e) == Some(repo::ROOM_NAME_UNIQUE) => return Err(room_conflict()),
        Err(e) => return Err(map_pg_error(e)),
    };
    audit_catalog(
        tx,
        actor,
        "room.create",
        "room",
        row.id,
        json!({ "kind": row.kind }),
    )
    .await?;
    Ok(row)
}

/// Replaces a room if `version` is current.
pub async fn update_room(
    tx: &Tx,
    actor: &Actor,
    id: Uuid,
    version: i32,
    r: &NewRoom,
) -> Result<RoomRow, ApiError> {
    repo::find_room(tx, actor.clinic_id, id)
        .await?
        .ok_or(ApiError::NotFound)?;
    let row = match repo::update_room(tx, actor.clinic_id, id, version, r).await? {
        Ok(Some(row)) => row,
        Ok(None) => return Err(ApiError::PreconditionFailed),
        Err(e) if constraint(&e) == Some(repo::ROOM_NAME_UNIQUE) => return Err(room_conflict()),
        Err(e) => return Err(map_pg_error(e)),
    };
    audit_catalog(
        tx,
        actor,
        "room.update",
        "room",
        id,
        json!({ "active": row.active }),
    )
    .await?;
    Ok(row)
}

/// Creates (`existing` = None) or replaces a procedure.
pub async fn save_procedure(
    tx: &Tx,
    actor: &Actor,
    existing: Option<(Uuid, i32)>,
    p: &NewProcedure,
) -> Result<ProcedureRow, ApiError> {
    if let Some((id, _)) = existing {
        repo::find_procedure(tx, actor.clinic_id, id)
            .await?
            .ok_or(ApiError::NotFound)?;
    }
    let row = match repo::save_procedure(tx, actor.clinic_id, existing, p).await? {
        Ok(Some(row)) => row,
        Ok(None) => return Err(ApiError::PreconditionFailed),
        Err(e) if constraint(&e) == Some(repo::PROC_NAME_UNIQUE) => {
            return Err(duplicate(
                "procedure_name_taken",
                Msg::new(
                    "Já existe um procedimento com este nome.",
                    "A procedure with this name already exists.",
                ),
            ));
        }
        Err(e) => return Err(map_pg_error(e)),
    };
    let action = if existing.is_some() {
        "procedure.update"
    } else {
        "procedure.create"
    };
    audit_catalog(
        tx,
        actor,
        action,
        "procedure",
        row.id,
        json!({ "category": row.category, "active": row.active }),
    )
    .await?;
    Ok(row)
}
