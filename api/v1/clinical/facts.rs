//! `GET`/`POST /v1/clinical/facts` — a patient's dated conditions, medications and allergies.
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::scheduling::router()).await
}
