//! Serving a router as a Vercel function (vercel_runtime 2.x with its axum integration).
//!
//! A function binary calls [`serve`] with its domain router. The config is parsed once before
//! the first request; a bad variable stops start-up with its name (never its value).

use axum::Router;
use tower::ServiceBuilder;

/// The runtime's boxed error, re-exported so function binaries need no direct dependency.
pub use vercel_runtime::Error;
use vercel_runtime::axum::VercelLayer;

use crate::config::Config;
use crate::state::AppState;

/// Runs `routes` behind the full pipeline until the runtime shuts the process down.
pub async fn serve(routes: Router<AppState>) -> Result<(), Error> {
    crate::http::log::init();
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("neonpro: configuration error: {e}");
            std::process::exit(78);
        }
    };
    let app = crate::http::pipeline(routes, AppState::new(config));
    let service = ServiceBuilder::new().layer(VercelLayer::new()).service(app);
    vercel_runtime::run(service).await
}
