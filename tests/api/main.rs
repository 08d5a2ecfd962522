//! Integration tests: one binary, one module per area (style.md §5 rule 9).
//!
//! In-process tests drive `neonpro::app()`; end-to-end tests start real function binaries.
//! Services (PostgreSQL, PgBouncer, Redis) are started by `scripts/test`, which exports their
//! URLs (see `support`).

// Tests may unwrap: a panic is a test failure with a backtrace, which is what we want.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod e2e;
mod layout;
mod pipeline;
mod ratelimit;
mod tenancy;
