//! The tamper-evident audit trail: every read or change of patient data appends an event to
//! its clinic's hash chain in the same transaction (ARCHITECTURE.md §6). Admins list and verify
//! it under `/v1/audit-events`.

pub mod canonical;
mod repo;
mod routes;
mod rpc;
mod service;

pub use routes::{AuditListParams, AuditPage, EventResponse, router, routes};
pub use rpc::procedures;
pub use service::{ChainReport, Event, Outcome, Risk, link_hash, record, verify};
