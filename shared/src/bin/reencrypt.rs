//! `neonpro-reencrypt`: re-seals every encrypted patient column (and dated clinical fact) with the current field key
//! (`FIELD_ENCRYPTION_CURRENT_KEY_ID`) after a key rotation, in batches, on the service path.
//! Old keys must stay in `FIELD_ENCRYPTION_KEYS` until this reports 0 remaining. Run it through
//! `scripts/reencrypt`. Prints counts only.

use neonpro::config::Config;
use neonpro::db::Db;

#[tokio::main(flavor = "current_thread")]
async fn main() -> std::process::ExitCode {
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("neonpro-reencrypt: configuration error: {e}");
            return std::process::ExitCode::from(78);
        }
    };
    let db = Db::new(&config.db);
    let cipher = config.crypto.cipher.clone();
    let mut total = 0_u64;
    loop {
        let batch = async {
            let tx = db.begin_service().await?;
            let n = neonpro::patients::service::reencrypt_batch(&tx, &cipher, 200).await?
                + neonpro::scheduling::clinical_facts::reencrypt_batch(&tx, &cipher, 200).await?
                + neonpro::scheduling::service::reencrypt_batch(&tx, &cipher, 200).await?;
            tx.commit().await?;
            Ok::<u64, neonpro::ApiError>(n)
        };
        match batch.await {
            Ok(0) => break,
            Ok(n) => {
                total += n;
                println!("re-encrypted {n} rows ({total} so far)");
            }
            Err(e) => {
                eprintln!("neonpro-reencrypt: failed after {total} rows: {}", e.code());
                return std::process::ExitCode::FAILURE;
            }
        }
    }
    println!(
        "done: {total} rows re-encrypted with key {}",
        cipher.ring().current_key_id()
    );
    std::process::ExitCode::SUCCESS
}
