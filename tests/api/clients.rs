//! Generated clients are checked in and must match what the code generates now:
//! `clients/ts/src/*.ts` (TypeScript types and the tRPC `AppRouter`). Regenerate with
//! `NEONPRO_REGENERATE=1 cargo test --all-features --test api -- clients`.

use std::path::PathBuf;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn check(path: PathBuf, generated: &str) {
    if std::env::var("NEONPRO_REGENERATE").is_ok_and(|v| v == "1") {
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, generated).unwrap();
        return;
    }
    let current = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        current == generated,
        "{} is out of date: run NEONPRO_REGENERATE=1 cargo test --all-features --test api -- clients",
        path.display()
    );
}

#[test]
fn clients_typescript_is_up_to_date() {
    for (name, text) in neonpro::trpc::codegen::typescript_files() {
        check(root().join("clients/ts/src").join(name), &text);
    }
}

#[test]
fn clients_typescript_names_are_unique() {
    assert_eq!(
        neonpro::trpc::codegen::name_collisions(),
        Vec::<String>::new(),
        "two Rust types generate the same TypeScript name"
    );
}
