//! Scheduling (issue "Scheduling: professionals, procedure catalog, appointments that cannot
//! double-book, multi-session treatment plans"): `model` parses input, `catalog` and `service`
//! hold the rules, `repo`/`appointment_repo` the SQL, `views` what is returned, `routes` the
//! HTTP and `rpc` the tRPC procedures over the same services.
//!
//! The one invariant this module exists for — a professional (buffer included) or a room is
//! never booked twice — is enforced by PostgreSQL exclusion constraints, not by a check in
//! Rust; the code here only explains a refusal (every blocking appointment, 409).

mod appointment_repo;
pub mod catalog;
pub mod model;
mod repo;
mod routes;
mod rpc;
pub mod service;
pub mod views;

pub use routes::{AppointmentListParams, AvailabilityParams, CancelInput, router, routes};
pub use rpc::procedures;
