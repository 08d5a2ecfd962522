//! Query parameters that know their Postgres type, so every statement can be sent unnamed
//! (`query_typed`) without a prepare round trip.

use tokio_postgres::types::{ToSql, Type};

/// A value that can be bound to an unnamed statement.
pub trait Param: Sync {
    /// The value as `ToSql`.
    fn as_sql(&self) -> &(dyn ToSql + Sync);
    /// Its Postgres type.
    fn pg_type(&self) -> Type;
}

macro_rules! param {
    ($t:ty => $pg:expr) => {
        impl Param for $t {
            fn as_sql(&self) -> &(dyn ToSql + Sync) {
                self
            }
            fn pg_type(&self) -> Type {
                $pg
            }
        }
        impl Param for Option<$t> {
            fn as_sql(&self) -> &(dyn ToSql + Sync) {
                self
            }
            fn pg_type(&self) -> Type {
                $pg
            }
        }
    };
}

param!(&str => Type::TEXT);
param!(String => Type::TEXT);
param!(bool => Type::BOOL);
param!(i16 => Type::INT2);
param!(i32 => Type::INT4);
param!(i64 => Type::INT8);
param!(f64 => Type::FLOAT8);
param!(uuid::Uuid => Type::UUID);
param!(Vec<u8> => Type::BYTEA);
param!(&[u8] => Type::BYTEA);
param!(Vec<String> => Type::TEXT_ARRAY);
param!(Vec<uuid::Uuid> => Type::UUID_ARRAY);
param!(serde_json::Value => Type::JSONB);
param!(chrono::DateTime<chrono::Utc> => Type::TIMESTAMPTZ);
param!(chrono::NaiveDate => Type::DATE);
param!(chrono::NaiveTime => Type::TIME);
param!(Vec<i16> => Type::INT2_ARRAY);
