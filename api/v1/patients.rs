//! `GET|POST /v1/patients` — list and create patients.
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::patients::router()).await
}
