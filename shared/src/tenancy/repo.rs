//! SQL for memberships. Runs inside the caller's RLS transaction: the policy on
//! `clinic_members` lets a user see their own rows.

use uuid::Uuid;

use super::Role;
use crate::db::Tx;
use crate::error::ApiError;

/// One of the caller's memberships.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Membership {
    /// The clinic.
    pub clinic_id: Uuid,
    /// Its display name; `None` for an inactive membership (the clinic itself is only visible
    /// to its active members, by RLS).
    pub clinic_name: Option<String>,
    /// The caller's role there.
    pub role: Role,
    /// Whether the membership is active (inactive ones grant nothing).
    pub active: bool,
}

/// Every membership of `user_id` (active or not), oldest first.
pub async fn memberships(tx: &Tx, user_id: Uuid) -> Result<Vec<Membership>, ApiError> {
    let rows = tx
        .query(
            "select m.clinic_id, c.name, m.role, m.active \
             from public.clinic_members m left join public.clinics c on c.id = m.clinic_id \
             where m.user_id = $1 order by m.created_at, m.clinic_id",
            &[&user_id],
        )
        .await?;
    rows.iter()
        .map(|r| {
            let role: String = r.try_get(2).map_err(ApiError::internal)?;
            Ok(Membership {
                clinic_id: r.try_get(0).map_err(ApiError::internal)?,
                clinic_name: r.try_get(1).map_err(ApiError::internal)?,
                role: Role::parse(&role).ok_or_else(|| {
                    ApiError::internal(std::io::Error::other("unknown role in clinic_members"))
                })?,
                active: r.try_get(3).map_err(ApiError::internal)?,
            })
        })
        .collect()
}
