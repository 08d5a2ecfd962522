//! `POST /v1/clinical/contraindications` — deterministic contraindication check per procedure.
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::scheduling::router()).await
}
