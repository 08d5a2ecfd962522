//! `GET|PATCH /v1/appointments/{id}` — read and reschedule an appointment.
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::scheduling::router()).await
}
