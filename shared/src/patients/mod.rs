//! Patients and their LGPD consents (issue "Patients, consents and the tamper-evident audit
//! trail"): `model` parses input into domain values, `service` holds the rules (encryption,
//! blind index, versions, restriction, role shaping, audit), `repo` the SQL, `routes` the HTTP.

pub mod model;
mod repo;
mod routes;
mod rpc;
pub mod service;

pub use routes::{ConsentList, ListParams, PatientPage, WithdrawInput, router, routes};
pub use rpc::procedures;
