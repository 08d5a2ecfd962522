//! `GET /v1/treatment-plans/{id}` — a plan, its sessions and the interval violations left.
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::scheduling::router()).await
}
