//! Scheduling (issue "Scheduling: professionals, procedure catalog, appointments that cannot
//! double-book, multi-session treatment plans"): `model` parses input, `catalog` and `service`
//! hold the rules, `repo`/`appointment_repo` the SQL, `views` what is returned, `routes` the
//! HTTP and `rpc` the tRPC procedures over the same services. Clinical decision support lives
//! beside them: `contraindications` evaluates the rules (data, seeded by migration) against the
//! record and the dated `clinical_facts`, `plans` proposes and books multi-session plans, and
//! `clinical_repo` holds their SQL.
//!
//! The one invariant this module exists for — a professional (buffer included) or a room is
//! never booked twice — is enforced by PostgreSQL exclusion constraints, not by a check in
//! Rust; the code here only explains a refusal (every blocking appointment, 409).

mod appointment_repo;
pub mod catalog;
pub mod clinical_facts;
mod clinical_repo;
pub mod contraindications;
pub mod model;
pub mod plans;
mod repo;
mod routes;
mod rpc;
pub mod service;
pub mod views;

pub use repo::ProcedureRow;
pub use routes::{
    AppointmentListParams, AvailabilityParams, CancelInput, ClinicalFactInput, ClinicalFactsParams,
    ContraindicationsInput, PlanCreateInput, PlanPreviewInput, router, routes,
};
pub use rpc::procedures;
