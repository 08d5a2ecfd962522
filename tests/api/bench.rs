//! Micro-benchmarks for `scripts/bench` (ignored by default; run in release with
//! `cargo test --release --all-features --test api -- --ignored bench_ --test-threads=1`).
//! Each prints one `BENCH {json}` line; nothing here asserts on time.

use std::time::Instant;

use serde_json::json;
use uuid::Uuid;

use crate::support::db;
use crate::support::identity;
use crate::support::tokens::{EsKey, TokenBuilder};

pub(crate) fn percentiles(mut samples: Vec<f64>) -> serde_json::Value {
    samples.sort_by(f64::total_cmp);
    let at = |q: f64| samples[((samples.len() - 1) as f64 * q).round() as usize];
    json!({ "n": samples.len(), "p50_us": (at(0.5) * 100.0).round() / 100.0, "p99_us": (at(0.99) * 100.0).round() / 100.0,
            "mean_us": ((samples.iter().sum::<f64>() / samples.len() as f64) * 100.0).round() / 100.0 })
}

pub(crate) fn report(name: &str, v: serde_json::Value) {
    println!("BENCH {}", json!({ "name": name, "result": v }));
}

#[tokio::test]
#[ignore]
async fn bench_token_verification() {
    let cfg = crate::support::config(&[]);
    // HS256 (legacy secret, the development default).
    let verifier = neonpro::auth::Verifier::new(&cfg.auth);
    let token = identity::token(Uuid::new_v4());
    for _ in 0..200 {
        verifier.verify(&token).await.unwrap();
    }
    let mut hs = Vec::with_capacity(20_000);
    for _ in 0..20_000 {
        let t = Instant::now();
        verifier.verify(&token).await.unwrap();
        hs.push(t.elapsed().as_secs_f64() * 1e6);
    }
    report("verify_hs256", percentiles(hs));

    // ES256 through a preloaded JWKS (the production path after the first fetch).
    let key = EsKey::generate();
    let jwks = json!({ "keys": [key.jwk("kid-bench")] }).to_string();
    let es_cfg = crate::support::config(&[("SUPABASE_JWKS_URL", "http://127.0.0.1:9/jwks.json")]);
    let es_verifier = neonpro::auth::Verifier::with_jwks(&es_cfg.auth, &jwks);
    let es_token = TokenBuilder::new(&es_cfg.auth.issuer)
        .sub(Uuid::new_v4())
        .sign_es256(&key, "kid-bench");
    for _ in 0..100 {
        es_verifier.verify(&es_token).await.unwrap();
    }
    let mut es = Vec::with_capacity(5_000);
    for _ in 0..5_000 {
        let t = Instant::now();
        es_verifier.verify(&es_token).await.unwrap();
        es.push(t.elapsed().as_secs_f64() * 1e6);
    }
    report("verify_es256", percentiles(es));
}

#[tokio::test]
#[ignore]
async fn bench_request_transaction_and_audit_write() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let cfg = crate::support::config(&[("DATABASE_URL", db::app_url().as_str())]);
    let pool = neonpro::db::Db::new(&cfg.db);
    let claims = identity::claims(w.a_staff);
    for _ in 0..50 {
        pool.begin(&claims, &w.a_staff, true)
            .await
            .unwrap()
            .commit()
            .await
            .unwrap();
    }
    // The fixed cost every request pays: BEGIN, the identity set_config, COMMIT.
    let mut tx_samples = Vec::new();
    for _ in 0..2_000 {
        let t = Instant::now();
        pool.begin(&claims, &w.a_staff, true)
            .await
            .unwrap()
            .commit()
            .await
            .unwrap();
        tx_samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    report("request_transaction", percentiles(tx_samples));

    // One audit append (chain lock + head + hash + insert) inside its own write transaction,
    // minus nothing: compare with request_transaction to get its share.
    let actor = neonpro::tenancy::Actor {
        clinic_id: w.a,
        user_id: w.a_staff,
        role: neonpro::tenancy::Role::Staff,
        meta: neonpro::tenancy::RequestMeta {
            request_id: Some("bench".into()),
            ip: Some("127.0.0.1".into()),
            user_agent: Some("bench".into()),
        },
    };
    let mut audit_samples = Vec::new();
    for _ in 0..1_000 {
        let tx = pool.begin(&claims, &w.a_staff, false).await.unwrap();
        let t = Instant::now();
        neonpro::audit::record(
            &tx,
            &actor,
            neonpro::audit::Event {
                patient_id: None,
                action: "bench.write",
                resource_type: "bench",
                resource_id: None,
                outcome: neonpro::audit::Outcome::Success,
                risk: neonpro::audit::Risk::Low,
                details: json!({}),
            },
        )
        .await
        .unwrap();
        tx.commit().await.unwrap();
        audit_samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    report("audit_append_and_commit", percentiles(audit_samples));
}

#[tokio::test]
#[ignore]
async fn bench_rate_limiter_hit() {
    let url = db::env("NEONPRO_TEST_REDIS_URL");
    let cfg = crate::support::config(&[
        ("REDIS_URL", url.as_str()),
        ("RATE_LIMIT_GENERAL", "100000000/900"),
    ]);
    let limiter = neonpro::ratelimit::Limiter::new(&cfg.redis, cfg.rate_limits.clone());
    let id = format!("user:{}", Uuid::new_v4());
    for _ in 0..200 {
        limiter
            .hit(neonpro::ratelimit::RateClass::General, &id)
            .await
            .unwrap();
    }
    let mut samples = Vec::new();
    for _ in 0..5_000 {
        let t = Instant::now();
        limiter
            .hit(neonpro::ratelimit::RateClass::General, &id)
            .await
            .unwrap();
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    report("ratelimit_hit_redis", percentiles(samples));

    let mem = neonpro::ratelimit::Limiter::new(
        &crate::support::config(&[("RATE_LIMIT_GENERAL", "100000000/900")]).redis,
        cfg.rate_limits.clone(),
    );
    let mut samples = Vec::new();
    for _ in 0..20_000 {
        let t = Instant::now();
        mem.hit(neonpro::ratelimit::RateClass::General, &id)
            .await
            .unwrap();
        samples.push(t.elapsed().as_secs_f64() * 1e6);
    }
    report("ratelimit_hit_in_process", percentiles(samples));
}
