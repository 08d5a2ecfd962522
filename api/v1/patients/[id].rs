//! `GET|PATCH|DELETE /v1/patients/{id}` — read, update, restrict a patient.
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::patients::router()).await
}
