//! Real function binaries, started the way `vercel dev` starts them: `VERCEL_DEV_PORT` set, no
//! IPC socket, then plain HTTP on loopback. `NEONPRO_E2E_BIN_DIR` (set by `scripts/test` to the
//! release build) selects which build is exercised; by default the test build's own binaries.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

pub fn bin_path(name: &str) -> PathBuf {
    let dir = std::env::var("NEONPRO_E2E_BIN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|_| {
            PathBuf::from(env!("CARGO_BIN_EXE_health"))
                .parent()
                .unwrap()
                .to_path_buf()
        });
    dir.join(name)
}

/// A running function binary; killed on drop.
pub struct Function {
    child: Child,
    pub port: u16,
    /// Everything the function printed on stdout (its JSON log lines), as it arrives.
    pub stdout: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl Function {
    pub fn spawn(name: &str, env: &[(&str, &str)]) -> Self {
        let port = free_port();
        let mut cmd = Command::new(bin_path(name));
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("VERCEL_DEV_PORT", port.to_string())
            .env(
                "RUST_LOG",
                env.iter()
                    .find(|(k, _)| *k == "RUST_LOG")
                    .map(|(_, v)| *v)
                    .unwrap_or("warn"),
            )
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {name}: {e}"));
        let stdout = child.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.contains("Dev server listening") {
                    let _ = tx.send(());
                }
                sink.lock().unwrap().push(line);
            }
        });
        rx.recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("{name} did not start listening"));
        Self {
            child,
            port,
            stdout: lines,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
