//! A private PostgreSQL cluster for outage tests, started and stopped with the project's own
//! `scripts/services` (the same code `scripts/dev` and `scripts/test` use), migrated on start.

use std::path::PathBuf;
use std::process::Command;

fn services() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("scripts/services")
}

fn run(args: &[&str]) {
    let out = Command::new(services())
        .args(args)
        .output()
        .expect("scripts/services");
    assert!(
        out.status.success(),
        "scripts/services {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A migrated cluster on its own port; removed on drop.
pub struct TestPostgres {
    dir: tempdir::Dir,
    pub port: u16,
}

mod tempdir {
    /// A directory under the system temp dir, removed on drop.
    pub struct Dir(pub std::path::PathBuf);
    impl Drop for Dir {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }
}

impl TestPostgres {
    pub fn start() -> Self {
        let port = super::process::free_port();
        let root = std::env::temp_dir().join(format!("neonpro-outage-{}", uuid::Uuid::new_v4()));
        std::fs::create_dir_all(&root).unwrap();
        // The cluster runs as the `postgres` user, which must be able to enter the directory.
        let _ = Command::new("chmod").arg("0711").arg(&root).status();
        let pg = Self {
            dir: tempdir::Dir(root),
            port,
        };
        pg.resume();
        run(&["migrate", &pg.admin_url(), "--seed"]);
        pg
    }

    fn data_dir(&self) -> String {
        self.dir.0.join("pg").to_string_lossy().into_owned()
    }

    pub fn admin_url(&self) -> String {
        format!(
            "postgres://postgres:postgres@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }

    pub fn app_url(&self) -> String {
        format!(
            "postgres://authenticator:authenticator@127.0.0.1:{}/postgres?sslmode=disable",
            self.port
        )
    }

    /// Stops the server (fast shutdown: connections are cut).
    pub fn stop(&self) {
        run(&["stop-pg", &self.data_dir()]);
    }

    /// (Re)starts the server on the same port.
    pub fn resume(&self) {
        run(&["start-pg", &self.data_dir(), &self.port.to_string()]);
    }
}

impl Drop for TestPostgres {
    fn drop(&mut self) {
        let _ = Command::new(services())
            .args(["stop-pg", &self.data_dir()])
            .output();
    }
}
