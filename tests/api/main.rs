//! Integration tests: one binary, one module per area (style.md §5 rule 9).
//!
//! In-process tests drive `neonpro::app()`; end-to-end tests start real function binaries.
//! Services (PostgreSQL, PgBouncer, Redis) are started by `scripts/test`, which exports their
//! URLs (see `support`).

// Test code: a failed `unwrap`/`expect` is the failure report (the workspace denies them in
// library code only).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod auth;
mod bench;
mod clients;
mod e2e;
mod layout;
mod openapi;
mod outages;
mod patients;
mod pipeline;
mod ratelimit;
mod scheduling;
mod scheduling_clinical;
mod tenancy;
mod trpc;
