//! Layout: every function file has a `[[bin]]` whose path matches, every `[[bin]]` points at a
//! function file, function binaries stay tiny, and every `vercel.json` rewrite reaches one.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn function_files(dir: &Path, out: &mut BTreeSet<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            function_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.insert(
                path.strip_prefix(root())
                    .unwrap()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
}

fn bins() -> Vec<(String, String)> {
    let manifest: toml::Table = std::fs::read_to_string(root().join("Cargo.toml"))
        .unwrap()
        .parse()
        .unwrap();
    manifest["bin"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| {
            (
                b["name"].as_str().unwrap().to_owned(),
                b["path"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn every_function_file_has_exactly_one_bin_and_back() {
    let mut files = BTreeSet::new();
    function_files(&root().join("api"), &mut files);
    let bins = bins();
    let bin_paths: BTreeSet<String> = bins.iter().map(|(_, p)| p.clone()).collect();
    assert_eq!(bin_paths.len(), bins.len(), "two [[bin]]s share a path");
    assert_eq!(files, bin_paths, "api/**/*.rs and [[bin]] paths differ");
    for (name, path) in &bins {
        assert!(
            !path.starts_with("./"),
            "{path}: Vercel's builder string-compares paths; drop ./"
        );
        assert!(
            name.chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
            "{name} is not a valid crate name"
        );
    }
}

#[test]
fn function_binaries_stay_tiny() {
    let mut files = BTreeSet::new();
    function_files(&root().join("api"), &mut files);
    for f in files {
        let text = std::fs::read_to_string(root().join(&f)).unwrap();
        let code_lines = text
            .lines()
            .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with("//"))
            .count();
        assert!(
            code_lines <= 12,
            "{f} has {code_lines} lines of code: logic belongs in the library"
        );
        assert!(
            text.contains("neonpro::runtime::serve("),
            "{f} must only mount a router"
        );
    }
}

/// A rewrite destination like `/api/v1/patients/[id]?id=$1` or `/api/v1/patients/:id` must name
/// an existing function file.
#[test]
fn every_vercel_rewrite_points_at_a_function() {
    let vercel: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(root().join("vercel.json")).unwrap())
            .unwrap();
    let mut files = BTreeSet::new();
    function_files(&root().join("api"), &mut files);
    let rewrites = vercel["rewrites"]
        .as_array()
        .expect("vercel.json has rewrites");
    assert!(!rewrites.is_empty());
    for r in rewrites {
        let dest = r["destination"].as_str().unwrap();
        let path = dest.split('?').next().unwrap().trim_start_matches('/');
        let candidates: Vec<String> = files
            .iter()
            .filter(|f| {
                let stem = f.trim_end_matches(".rs");
                let a: Vec<&str> = stem.split('/').collect();
                let b: Vec<&str> = path.split('/').collect();
                a.len() == b.len()
                    && a.iter().zip(&b).all(|(fs, ds)| {
                        fs == ds
                            || (fs.starts_with('[') && (ds.starts_with(':') || ds.starts_with('[')))
                    })
            })
            .cloned()
            .collect();
        assert_eq!(candidates.len(), 1, "rewrite {dest} matches {candidates:?}");
    }
    assert!(
        vercel
            .get("functions")
            .and_then(|f| f.as_object())
            .is_some_and(|f| f.values().all(|v| v.get("runtime").is_none())),
        "no `runtime` key for vercel_runtime 2.x"
    );
    assert_eq!(vercel["regions"], serde_json::json!(["gru1"]));
}

/// Every variable the configuration reads is documented in `.env.example`, and every variable
/// documented there is read (no stale settings).
#[test]
fn env_example_lists_exactly_the_settings_the_config_reads() {
    let config = std::fs::read_to_string(root().join("shared/src/config.rs")).unwrap();
    // Every ALL_CAPS string literal in config.rs names a variable it reads (or reports).
    let mut read: BTreeSet<String> = config
        .split('"')
        .skip(1)
        .step_by(2)
        .filter(|t| {
            t.len() > 3
                && t.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
                && t.contains('_')
        })
        .map(str::to_owned)
        .collect();
    let ratelimit = std::fs::read_to_string(root().join("shared/src/ratelimit/mod.rs")).unwrap();
    for part in ratelimit.split("=> \"RATE_LIMIT_").skip(1) {
        read.insert(format!("RATE_LIMIT_{}", part.split('"').next().unwrap()));
    }
    read.insert("RUST_LOG".to_owned()); // read by tracing's EnvFilter
    let example = std::fs::read_to_string(root().join(".env.example")).unwrap();
    let documented: BTreeSet<String> = example
        .lines()
        .filter_map(|l| l.trim_start_matches('#').trim().split_once('='))
        .map(|(k, _)| k.trim().to_owned())
        .filter(|k| {
            !k.is_empty()
                && k.chars()
                    .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
        })
        .collect();
    assert_eq!(
        read, documented,
        "config.rs reads vs .env.example documents"
    );
}
