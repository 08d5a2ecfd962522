//! `GET /v1/availability` — free start times for a procedure with a professional (and room).
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::scheduling::router()).await
}
