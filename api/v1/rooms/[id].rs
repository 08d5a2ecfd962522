//! `GET|PUT /v1/rooms/{id}` — read and replace a room or device.
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::scheduling::router()).await
}
