//! `FakeSupabaseJwks`: a fake of Supabase Auth's JWKS endpoint
//! (`GET $SUPABASE_URL/auth/v1/.well-known/jwks.json`), served by a real HTTP server on
//! 127.0.0.1 so the verifier's actual HTTP client, timeouts and limits are exercised.
//!
//! Tests change the published keys (rotation) or the endpoint's behaviour (down, slow,
//! redirecting, oversized) while it runs, and count the requests it received, by path.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{Request, State};
use axum::response::{IntoResponse, Redirect, Response};
use http::StatusCode;
use serde_json::{Value, json};
use tokio::task::JoinHandle;

/// How the fake answers `GET /auth/v1/.well-known/jwks.json`.
#[derive(Debug, Clone)]
pub enum Behaviour {
    /// `200 {"keys":[...]}` with the current keys.
    Serve,
    /// This status, empty body.
    Status(u16),
    /// Never answers (the client's timeout must fire).
    Hang,
    /// `307` to this location.
    RedirectTo(String),
    /// `200` with this body verbatim.
    Body(String),
}

#[derive(Debug)]
struct Shared {
    keys: Mutex<Vec<Value>>,
    behaviour: Mutex<Behaviour>,
    hits: Mutex<Vec<String>>,
}

/// A fake of Supabase's JWKS endpoint on `127.0.0.1:<random port>`; stops when dropped.
pub struct FakeSupabaseJwks {
    addr: SocketAddr,
    shared: Arc<Shared>,
    task: JoinHandle<()>,
}

impl FakeSupabaseJwks {
    /// The path Supabase serves its JWKS at.
    pub const PATH: &'static str = "/auth/v1/.well-known/jwks.json";

    /// Starts serving `keys`.
    pub async fn start(keys: Vec<Value>) -> Self {
        let shared = Arc::new(Shared {
            keys: Mutex::new(keys),
            behaviour: Mutex::new(Behaviour::Serve),
            hits: Mutex::new(Vec::new()),
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let addr = listener.local_addr().expect("addr");
        let app = Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&shared));
        let task = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Self { addr, shared, task }
    }

    /// `http://127.0.0.1:<port>` (what `SUPABASE_URL` would be).
    pub fn base_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The JWKS URL (what `SUPABASE_JWKS_URL` would be).
    pub fn url(&self) -> String {
        format!("{}{}", self.base_url(), Self::PATH)
    }

    /// Replaces the published keys.
    pub fn set_keys(&self, keys: Vec<Value>) {
        *self.shared.keys.lock().expect("lock") = keys;
    }

    /// Changes how the endpoint answers.
    pub fn set_behaviour(&self, behaviour: Behaviour) {
        *self.shared.behaviour.lock().expect("lock") = behaviour;
    }

    /// Requests received at the JWKS path.
    pub fn jwks_requests(&self) -> usize {
        self.shared
            .hits
            .lock()
            .expect("lock")
            .iter()
            .filter(|p| p.as_str() == Self::PATH)
            .count()
    }

    /// Requests received at any path.
    pub fn total_requests(&self) -> usize {
        self.shared.hits.lock().expect("lock").len()
    }

    /// Requests received at `path`.
    pub fn requests_to(&self, path: &str) -> usize {
        self.shared
            .hits
            .lock()
            .expect("lock")
            .iter()
            .filter(|p| p.as_str() == path)
            .count()
    }
}

impl Drop for FakeSupabaseJwks {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn handle(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let path = req.uri().path().to_owned();
    shared.hits.lock().expect("lock").push(path.clone());
    if path != FakeSupabaseJwks::PATH {
        return StatusCode::NOT_FOUND.into_response();
    }
    let behaviour = shared.behaviour.lock().expect("lock").clone();
    match behaviour {
        Behaviour::Serve => {
            let keys = shared.keys.lock().expect("lock").clone();
            (
                [(http::header::CONTENT_TYPE, "application/json")],
                json!({ "keys": keys }).to_string(),
            )
                .into_response()
        }
        Behaviour::Status(code) => StatusCode::from_u16(code).expect("status").into_response(),
        Behaviour::Hang => std::future::pending().await,
        Behaviour::RedirectTo(location) => Redirect::temporary(&location).into_response(),
        Behaviour::Body(body) => {
            ([(http::header::CONTENT_TYPE, "application/json")], body).into_response()
        }
    }
}
