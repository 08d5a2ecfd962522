//! Integration tests: one binary, one module per area (style.md §5 rule 9).
//!
//! In-process tests drive `neonpro::app()`; end-to-end tests start real function binaries.
//! Services (PostgreSQL, PgBouncer, Redis) are started by `scripts/test`, which exports their
//! URLs (see `support`).

// This whole crate is test code; `clippy.toml` only covers `#[test]` functions and
// `#[cfg(test)]` modules, not the helpers they share.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

mod layout;
mod pipeline;
mod ratelimit;
