//! `POST /v1/treatment-plans` — creates a multi-session plan and all its appointments at once.
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::scheduling::router()).await
}
