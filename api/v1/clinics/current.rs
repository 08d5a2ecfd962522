//! `GET /v1/clinics/current` — the clinic this request acts for.
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::identity::router()).await
}
