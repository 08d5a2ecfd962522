//! `GET|POST /v1/patients/{id}/consents` — a patient's LGPD consents.
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::patients::router()).await
}
