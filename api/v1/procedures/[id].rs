//! `GET|PUT /v1/procedures/{id}` — read and replace a procedure.
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::scheduling::router()).await
}
