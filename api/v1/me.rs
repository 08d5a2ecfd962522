//! `GET /v1/me` — the caller and their clinic memberships.
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::identity::router()).await
}
