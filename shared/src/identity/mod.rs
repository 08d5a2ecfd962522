//! Who-am-I: `GET /v1/me` (the caller, their memberships and the clinic this request would act
//! for) and `GET /v1/clinics/current`.

mod routes;

pub use routes::{router, routes};
