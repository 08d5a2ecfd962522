//! Pipeline checks.
