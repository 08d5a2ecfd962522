//! `GET /v1/health` — readiness (PostgreSQL and Redis).
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::health::router()).await
}
