//! `GET|PUT /v1/professionals/{id}` — read and replace a professional.
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::scheduling::router()).await
}
