//! `POST /v1/treatment-plans/preview` — proposes dates for every session of a plan.
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::scheduling::router()).await
}
