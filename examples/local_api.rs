//! Every route (REST and `/trpc`) in one process, served the way a function binary is
//! (`VERCEL_DEV_PORT`). Not deployed: `scripts/openapi-check` fuzzes the whole REST surface
//! against its OpenAPI document through it. `cargo run --example local_api`.
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::routes()).await
}
