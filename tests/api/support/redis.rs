//! A private `redis-server` per test: spawned on a free port without persistence, killed on
//! drop, and stoppable/restartable on the same port to simulate outages. Tests never share a
//! Redis (or use a system-wide one), so they can run in parallel and flush nothing.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The server binary; `scripts/test` installs it on CI machines.
const REDIS_SERVER: &str = "redis-server";

/// A running (or deliberately stopped) test Redis.
pub struct TestRedis {
    port: u16,
    child: Option<Child>,
}

impl TestRedis {
    /// Starts a server on a free port and waits until it answers `PING`.
    pub async fn start() -> Self {
        let mut last_error = String::new();
        for _ in 0..5 {
            let port = free_port();
            let mut redis = Self { port, child: None };
            match redis.spawn_and_wait().await {
                Ok(()) => return redis,
                // Another process may have taken the port between probing and binding.
                Err(e) => last_error = e,
            }
        }
        panic!("could not start redis-server: {last_error}");
    }

    /// `redis://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Kills the server (its data is gone: no persistence) and waits for it to exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a fresh server on the same port after [`Self::stop`].
    pub async fn restart(&mut self) {
        assert!(self.child.is_none(), "restart() needs a stopped server");
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.spawn_and_wait().await {
                Ok(()) => return,
                Err(e) if Instant::now() > deadline => {
                    panic!("could not restart redis-server on {}: {e}", self.port)
                }
                Err(_) => tokio::time::sleep(Duration::from_millis(100)).await,
            }
        }
    }

    /// Freezes the server (SIGSTOP): connections open but nothing is answered — a hung Redis.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Thaws a [`Self::pause`]d server (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    /// A fresh connection for inspecting the server (`INFO`, `KEYS`, `MONITOR`).
    pub async fn connection(&self) -> redis::aio::MultiplexedConnection {
        redis::Client::open(self.url())
            .expect("redis url")
            .get_multiplexed_async_connection()
            .await
            .expect("connect to test redis")
    }

    fn signal(&self, sig: &str) {
        let child = self.child.as_ref().expect("server running");
        let status = Command::new("kill")
            .arg(sig)
            .arg(child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success(), "kill {sig} failed");
    }

    async fn spawn_and_wait(&mut self) -> Result<(), String> {
        let child = Command::new(REDIS_SERVER)
            .args([
                "--port",
                &self.port.to_string(),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ])
            .args([
                "--daemonize",
                "no",
                "--loglevel",
                "warning",
                "--dir",
                &std::env::temp_dir().to_string_lossy(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("spawn {REDIS_SERVER}: {e}"))?;
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(child) = self.child.as_mut()
                && let Ok(Some(status)) = child.try_wait()
            {
                self.child = None;
                return Err(format!("redis-server exited with {status}"));
            }
            if self.ping().await {
                return Ok(());
            }
            if Instant::now() > deadline {
                self.stop();
                return Err("redis-server did not answer within 10 s".to_owned());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    async fn ping(&self) -> bool {
        let Ok(client) = redis::Client::open(self.url()) else {
            return false;
        };
        let attempt = async {
            let mut conn = client.get_multiplexed_async_connection().await?;
            redis::cmd("PING").query_async::<String>(&mut conn).await
        };
        matches!(
            tokio::time::timeout(Duration::from_millis(500), attempt).await,
            Ok(Ok(_))
        )
    }
}

impl Drop for TestRedis {
    fn drop(&mut self) {
        if let Some(child) = self.child.as_ref() {
            // A paused server still dies on SIGKILL, but thaw it so nothing lingers stopped.
            let _ = Command::new("kill")
                .arg("-CONT")
                .arg(child.id().to_string())
                .status();
        }
        self.stop();
    }
}

/// A port nobody listens on right now (the OS picks it; we release it for redis-server).
fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}
