//! Layout checks.
