//! Tenancy: which clinic a request acts for, with which role, and what that role may do.
//!
//! A request's clinic is the one named by `X-Clinic-Id` if the caller is an **active** member of
//! it, else the caller's only active membership; anything else is 403 (400 when ambiguous). The
//! header alone never grants anything: membership is read from `clinic_members` on every request
//! (so a removed member loses access on the next request), inside the same RLS transaction the
//! handler then uses.
//!
//! [`PERMISSIONS`] is the one table mapping (role, action) → allowed. Handlers name the action
//! they need in their signature: `Tenant<perm::PatientsRead>`.

mod repo;

pub use repo::memberships as repo_memberships;

use std::marker::PhantomData;

use axum::extract::FromRequestParts;
use http::request::Parts;
use http::{HeaderName, Method};
use serde::Serialize;
use uuid::Uuid;

use crate::auth::AuthUser;
use crate::db::Tx;
use crate::error::{ApiError, Msg};
use crate::state::AppState;

pub use repo::Membership;

/// The header a multi-clinic user sends to pick a clinic.
pub static X_CLINIC_ID: HeaderName = HeaderName::from_static("x-clinic-id");

/// Application roles, stored in `clinic_members.role`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Runs the clinic: members, catalog, audit.
    Admin,
    /// Licensed professional: clinical data.
    Clinician,
    /// Front desk: contact and scheduling data, no clinical fields.
    Staff,
    /// A patient of the clinic: only their own record.
    Patient,
}

impl Role {
    /// Every role, for the permission-table test.
    pub const ALL: [Role; 4] = [Role::Admin, Role::Clinician, Role::Staff, Role::Patient];

    /// Parses the database value.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "admin" => Some(Self::Admin),
            "clinician" => Some(Self::Clinician),
            "staff" => Some(Self::Staff),
            "patient" => Some(Self::Patient),
            _ => None,
        }
    }

    /// The database value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Admin => "admin",
            Self::Clinician => "clinician",
            Self::Staff => "staff",
            Self::Patient => "patient",
        }
    }
}

/// Everything a role can be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// Read the current clinic.
    ClinicRead,
    /// List the clinic's members.
    MembersRead,
    /// Read patient records (shaped per role).
    PatientsRead,
    /// Create and update patient records.
    PatientsWrite,
    /// See clinical fields (allergies, medications, conditions, notes).
    ClinicalRead,
    /// Restrict (LGPD block) a patient record.
    PatientsRestrict,
    /// Record and withdraw consents.
    ConsentsWrite,
    /// Read and verify the audit trail.
    AuditRead,
    /// Read the schedule.
    AppointmentsRead,
    /// Book, move, cancel appointments.
    AppointmentsWrite,
    /// Read professionals, rooms and procedures (the back office; patients book through staff).
    CatalogRead,
    /// Manage professionals, rooms and procedures.
    CatalogWrite,
    /// Override a clinical safety finding (with a reason, audited).
    ClinicalOverride,
}

impl Action {
    /// Every action, for the permission-table test.
    pub const ALL: [Action; 13] = [
        Action::ClinicRead,
        Action::MembersRead,
        Action::PatientsRead,
        Action::PatientsWrite,
        Action::ClinicalRead,
        Action::PatientsRestrict,
        Action::ConsentsWrite,
        Action::AuditRead,
        Action::AppointmentsRead,
        Action::AppointmentsWrite,
        Action::CatalogRead,
        Action::CatalogWrite,
        Action::ClinicalOverride,
    ];
}

use Role::{Admin, Clinician, Patient, Staff};

/// The permission table: who may do what. A test enumerates it, so a change is deliberate.
pub const PERMISSIONS: &[(Action, &[Role])] = &[
    (Action::ClinicRead, &[Admin, Clinician, Staff, Patient]),
    (Action::MembersRead, &[Admin]),
    (Action::PatientsRead, &[Admin, Clinician, Staff, Patient]),
    (Action::PatientsWrite, &[Admin, Clinician, Staff]),
    (Action::ClinicalRead, &[Admin, Clinician]),
    (Action::PatientsRestrict, &[Admin]),
    (Action::ConsentsWrite, &[Admin, Clinician, Staff]),
    (Action::AuditRead, &[Admin]),
    (
        Action::AppointmentsRead,
        &[Admin, Clinician, Staff, Patient],
    ),
    (Action::AppointmentsWrite, &[Admin, Clinician, Staff]),
    (Action::CatalogRead, &[Admin, Clinician, Staff]),
    (Action::CatalogWrite, &[Admin]),
    (Action::ClinicalOverride, &[Admin, Clinician]),
];

/// Whether `role` may perform `action`.
pub fn allowed(role: Role, action: Action) -> bool {
    PERMISSIONS
        .iter()
        .any(|(a, roles)| *a == action && roles.contains(&role))
}

/// Type-level names of actions, so a handler's signature says what it needs.
pub mod perm {
    use super::Action;

    /// An action named at the type level.
    pub trait Permission: Send + Sync + 'static {
        /// The action checked against the permission table.
        const ACTION: Action;
        /// Whether even a GET writes (an audit event for reading patient data), so its
        /// transaction cannot be READ ONLY.
        const AUDITED_READ: bool;
    }

    macro_rules! permissions {
        ($($name:ident => $audited:expr),* $(,)?) => {$(
            #[doc = concat!("Requires [`Action::", stringify!($name), "`].")]
            #[derive(Debug)]
            pub struct $name;
            impl Permission for $name {
                const ACTION: Action = Action::$name;
                const AUDITED_READ: bool = $audited;
            }
        )*};
    }

    permissions!(
        ClinicRead => false,
        MembersRead => false,
        PatientsRead => true,
        PatientsWrite => true,
        ClinicalRead => true,
        PatientsRestrict => true,
        ConsentsWrite => true,
        AuditRead => false,
        AppointmentsRead => true,
        AppointmentsWrite => true,
        CatalogRead => false,
        CatalogWrite => false,
        ClinicalOverride => true,
    );
}

/// Request facts recorded with audit events (no personal data beyond the client address the
/// issue requires).
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// The request id.
    pub request_id: Option<String>,
    /// The client address as Vercel reports it.
    pub ip: Option<String>,
    /// The user agent, truncated to 256 characters.
    pub user_agent: Option<String>,
}

impl RequestMeta {
    /// Reads the facts from a request.
    pub fn from_parts(parts: &Parts) -> Self {
        let socket = parts
            .extensions
            .get::<axum::extract::ConnectInfo<std::net::SocketAddr>>()
            .map(|c| c.0);
        Self {
            request_id: parts
                .extensions
                .get::<crate::http::request_id::RequestId>()
                .map(|r| r.0.clone()),
            ip: crate::http::policy::client_ip(&parts.headers, socket).map(|ip| ip.to_string()),
            user_agent: parts
                .headers
                .get(http::header::USER_AGENT)
                .and_then(|v| v.to_str().ok())
                .map(|ua| ua.chars().take(256).collect()),
        }
    }
}

/// Who acts, for the audit trail.
#[derive(Debug, Clone)]
pub struct Actor {
    /// The clinic acted in.
    pub clinic_id: Uuid,
    /// The user (token subject).
    pub user_id: Uuid,
    /// Their role in the clinic.
    pub role: Role,
    /// Request facts.
    pub meta: RequestMeta,
}

/// The caller's identity and clinic for this request, plus the open RLS transaction.
#[derive(Debug)]
pub struct Tenant<P> {
    /// The verified caller.
    pub user: AuthUser,
    /// The clinic this request acts for.
    pub clinic_id: Uuid,
    /// The caller's role in it.
    pub role: Role,
    /// The request transaction (role `authenticated`, caller's claims, read-only for GET
    /// unless the permission audits reads).
    pub tx: Tx,
    /// Request facts for the audit trail.
    pub meta: RequestMeta,
    _permission: PhantomData<P>,
}

impl<P> Tenant<P> {
    /// The caller as an audit actor.
    pub fn actor(&self) -> Actor {
        Actor {
            clinic_id: self.clinic_id,
            user_id: self.user.user_id(),
            role: self.role,
            meta: self.meta.clone(),
        }
    }

    /// Whether the caller's role may also perform `action` (e.g. see clinical fields).
    pub fn can(&self, action: Action) -> bool {
        allowed(self.role, action)
    }
}

fn forbidden(code: &'static str, detail: Msg) -> ApiError {
    ApiError::Forbidden { code, detail }
}

/// Picks the request's clinic among the caller's memberships (see the module doc).
pub fn resolve_clinic(
    header: Option<&str>,
    memberships: &[Membership],
) -> Result<Membership, ApiError> {
    let active: Vec<&Membership> = memberships.iter().filter(|m| m.active).collect();
    match header {
        Some(raw) => {
            let wanted = Uuid::parse_str(raw.trim()).map_err(|_| ApiError::BadRequest {
                code: "invalid_clinic_id",
                detail: Msg::new(
                    "X-Clinic-Id deve ser um UUID.",
                    "X-Clinic-Id must be a UUID.",
                ),
            })?;
            active
                .into_iter()
                .find(|m| m.clinic_id == wanted)
                .cloned()
                .ok_or_else(|| {
                    forbidden(
                        "not_a_member",
                        Msg::new(
                            "Você não é membro ativo desta clínica.",
                            "You are not an active member of this clinic.",
                        ),
                    )
                })
        }
        None => match active.as_slice() {
            [only] => Ok((*only).clone()),
            [] => Err(forbidden(
                "no_membership",
                Msg::new(
                    "Você não é membro ativo de nenhuma clínica.",
                    "You are not an active member of any clinic.",
                ),
            )),
            _ => Err(ApiError::BadRequest {
                code: "clinic_ambiguous",
                detail: Msg::new(
                    "Você pertence a mais de uma clínica: informe X-Clinic-Id.",
                    "You belong to more than one clinic: send X-Clinic-Id.",
                ),
            }),
        },
    }
}

/// Opens the request transaction for `user`: read-only for GET/HEAD unless `writes_on_read`.
pub async fn begin(
    state: &AppState,
    user: &AuthUser,
    method: &Method,
    writes_on_read: bool,
) -> Result<Tx, ApiError> {
    let read_only = (*method == Method::GET || *method == Method::HEAD) && !writes_on_read;
    state
        .db()
        .begin(&user.0.claims.raw, &user.user_id(), read_only)
        .await
}

impl<P: perm::Permission> FromRequestParts<AppState> for Tenant<P> {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let user = AuthUser::from_request_parts(parts, state).await?;
        let header = match parts.headers.get(&X_CLINIC_ID) {
            None => None,
            Some(v) => Some(v.to_str().map_err(|_| ApiError::BadRequest {
                code: "invalid_clinic_id",
                detail: Msg::new(
                    "X-Clinic-Id deve ser um UUID.",
                    "X-Clinic-Id must be a UUID.",
                ),
            })?),
        };
        let tx = begin(state, &user, &parts.method, P::AUDITED_READ).await?;
        let memberships = repo::memberships(&tx, user.user_id()).await?;
        let member = resolve_clinic(header, &memberships)?;
        if !allowed(member.role, P::ACTION) {
            return Err(forbidden(
                "insufficient_role",
                Msg::new(
                    "Seu papel nesta clínica não permite esta operação.",
                    "Your role in this clinic does not allow this operation.",
                ),
            ));
        }
        let meta = RequestMeta::from_parts(parts);
        Ok(Tenant {
            user,
            clinic_id: member.clinic_id,
            role: member.role,
            tx,
            meta,
            _permission: PhantomData,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The whole table, spelled out: changing a permission means changing this test too.
    #[test]
    fn permission_table_is_exactly_this() {
        let expected: &[(Action, [bool; 4])] = &[
            // admin, clinician, staff, patient
            (Action::ClinicRead, [true, true, true, true]),
            (Action::MembersRead, [true, false, false, false]),
            (Action::PatientsRead, [true, true, true, true]),
            (Action::PatientsWrite, [true, true, true, false]),
            (Action::ClinicalRead, [true, true, false, false]),
            (Action::PatientsRestrict, [true, false, false, false]),
            (Action::ConsentsWrite, [true, true, true, false]),
            (Action::AuditRead, [true, false, false, false]),
            (Action::AppointmentsRead, [true, true, true, true]),
            (Action::AppointmentsWrite, [true, true, true, false]),
            (Action::CatalogRead, [true, true, true, false]),
            (Action::CatalogWrite, [true, false, false, false]),
            (Action::ClinicalOverride, [true, true, false, false]),
        ];
        assert_eq!(expected.len(), Action::ALL.len());
        for (action, row) in expected {
            for (role, want) in Role::ALL.iter().zip(row) {
                assert_eq!(allowed(*role, *action), *want, "{role:?} × {action:?}");
            }
        }
    }

    fn m(clinic: u128, role: Role, active: bool) -> Membership {
        Membership {
            clinic_id: Uuid::from_u128(clinic),
            clinic_name: None,
            role,
            active,
        }
    }

    #[test]
    fn header_selects_only_active_memberships() {
        let ms = [m(1, Role::Admin, true), m(2, Role::Staff, false)];
        assert_eq!(
            resolve_clinic(Some(&Uuid::from_u128(1).to_string()), &ms)
                .unwrap()
                .clinic_id,
            Uuid::from_u128(1)
        );
        assert_eq!(
            resolve_clinic(Some(&Uuid::from_u128(2).to_string()), &ms)
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(
            resolve_clinic(Some(&Uuid::from_u128(3).to_string()), &ms)
                .unwrap_err()
                .status(),
            403
        );
        assert_eq!(
            resolve_clinic(Some("not-a-uuid"), &ms)
                .unwrap_err()
                .status(),
            400
        );
    }

    #[test]
    fn without_header_the_only_active_membership_wins() {
        assert_eq!(
            resolve_clinic(None, &[m(1, Role::Staff, true), m(2, Role::Admin, false)])
                .unwrap()
                .role,
            Role::Staff
        );
        assert_eq!(resolve_clinic(None, &[]).unwrap_err().status(), 403);
        assert_eq!(
            resolve_clinic(None, &[m(1, Role::Staff, true), m(2, Role::Admin, true)])
                .unwrap_err()
                .status(),
            400
        );
    }
}
