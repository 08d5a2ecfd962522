//! `GET /v1/openapi.json` — the REST API's OpenAPI 3.1 document.
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::openapi::router()).await
}
