//! `POST /v1/appointments/{id}/cancel` — cancel an appointment with a reason code.
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::scheduling::router()).await
}
