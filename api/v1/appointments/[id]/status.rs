//! `POST /v1/appointments/{id}/status` — move an appointment through its status machine.
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::scheduling::router()).await
}
