//! `POST /v1/patients/search` — search patients (filters in the body, not the URL).
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::patients::router()).await
}
