//! `GET|POST /trpc/{procedures}` — the tRPC endpoint (single calls and `?batch=1`).
#[tokio::main]
async fn main() -> Result<(), neonpro::runtime::Error> {
    neonpro::runtime::serve(neonpro::trpc::router()).await
}
