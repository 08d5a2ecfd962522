//! `GET /v1/audit-events` — the clinic's audit trail (admins).
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::audit::router()).await
}
