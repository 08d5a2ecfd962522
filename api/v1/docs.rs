//! `GET /v1/docs` — the API reference page (renders /v1/openapi.json).
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::openapi::router()).await
}
