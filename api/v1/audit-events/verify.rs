//! `GET /v1/audit-events/verify` — verify the clinic's audit hash chain (admins).
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::audit::router()).await
}
