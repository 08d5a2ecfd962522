//! `POST /v1/patients/{id}/consents/{consentId}/withdraw` — withdraw a consent.
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::patients::router()).await
}
