//! Database fixtures. `scripts/test` starts PostgreSQL (and PgBouncer in front of it), applies the
//! migrations and exports:
//! - `NEONPRO_TEST_PG_ADMIN_URL` — superuser, direct (fixtures only; bypasses RLS);
//! - `NEONPRO_TEST_PG_APP_URL` — the API's login role (`authenticator`), direct;
//! - `NEONPRO_TEST_PGBOUNCER_APP_URL` — the same role through PgBouncer in transaction mode;
//! - `NEONPRO_TEST_DB_VIA` — `direct` or `pgbouncer`: which of the two the app under test uses.
//!
//! Every test creates its own clinics and users with fresh UUIDs, so tests can run in parallel
//! against one database.

use tokio_postgres::types::{ToSql, Type};
use tokio_postgres::{Client, NoTls};
use uuid::Uuid;

pub fn env(name: &str) -> String {
    std::env::var(name)
        .unwrap_or_else(|_| panic!("{name} is not set: run the suite with scripts/test"))
}

/// The URL the app under test logs in with (direct or through PgBouncer).
pub fn app_url() -> String {
    match std::env::var("NEONPRO_TEST_DB_VIA").as_deref() {
        Ok("pgbouncer") => env("NEONPRO_TEST_PGBOUNCER_APP_URL"),
        _ => env("NEONPRO_TEST_PG_APP_URL"),
    }
}

pub async fn connect(url: &str) -> Client {
    let (client, conn) = tokio_postgres::connect(url, NoTls)
        .await
        .unwrap_or_else(|e| panic!("connect: {e}"));
    tokio::spawn(conn);
    client
}

/// A superuser connection for fixtures.
pub async fn admin() -> Client {
    connect(&env("NEONPRO_TEST_PG_ADMIN_URL")).await
}

/// Runs an unnamed statement (works through PgBouncer too).
pub async fn exec(c: &Client, sql: &str, params: &[(&(dyn ToSql + Sync), Type)]) -> u64 {
    c.execute_typed(sql, params)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Creates a clinic and returns its id.
pub async fn clinic(admin: &Client, name: &str) -> Uuid {
    let id = Uuid::new_v4();
    exec(
        admin,
        "insert into public.clinics (id, name) values ($1, $2)",
        &[(&id, Type::UUID), (&name, Type::TEXT)],
    )
    .await;
    id
}

/// Adds a new user to `clinic` with `role` and returns the user id.
pub async fn member(admin: &Client, clinic: Uuid, role: &str) -> Uuid {
    let user = Uuid::new_v4();
    add_member(admin, clinic, user, role).await;
    user
}

/// Adds an existing user to `clinic`.
pub async fn add_member(admin: &Client, clinic: Uuid, user: Uuid, role: &str) {
    exec(
        admin,
        "insert into public.clinic_members (clinic_id, user_id, role) values ($1, $2, $3)",
        &[
            (&clinic, Type::UUID),
            (&user, Type::UUID),
            (&role, Type::TEXT),
        ],
    )
    .await;
}

/// Two clinics with one member of every role each.
pub struct TwoClinics {
    pub a: Uuid,
    pub b: Uuid,
    pub a_admin: Uuid,
    pub a_clinician: Uuid,
    pub a_staff: Uuid,
    pub a_patient: Uuid,
    pub b_admin: Uuid,
    pub b_staff: Uuid,
}

pub async fn two_clinics(admin: &Client) -> TwoClinics {
    let a = clinic(admin, "Clínica Teste A").await;
    let b = clinic(admin, "Clínica Teste B").await;
    TwoClinics {
        a,
        b,
        a_admin: member(admin, a, "admin").await,
        a_clinician: member(admin, a, "clinician").await,
        a_staff: member(admin, a, "staff").await,
        a_patient: member(admin, a, "patient").await,
        b_admin: member(admin, b, "admin").await,
        b_staff: member(admin, b, "staff").await,
    }
}

/// `begin` + the API's request context for `user` on a raw connection (what `Db::begin` does),
/// for tests that need to act as a user below the HTTP layer. The caller commits or rolls back.
pub async fn begin_as(c: &Client, user: Uuid) {
    c.batch_execute("begin").await.unwrap();
    let claims = super::identity::claims(user).to_string();
    let sub = user.to_string();
    c.query_typed(
        neonpro::db::SET_REQUEST_CONTEXT_SQL,
        &[
            (&"authenticated", Type::TEXT),
            (&claims.as_str(), Type::TEXT),
            (&sub.as_str(), Type::TEXT),
            (&"2000", Type::TEXT),
        ],
    )
    .await
    .unwrap();
}

/// Links `user`'s patient membership to a patient record.
pub async fn link_patient(admin: &Client, user: Uuid, patient: Uuid) {
    exec(
        admin,
        "update public.clinic_members set patient_id = $1 where user_id = $2",
        &[(&patient, Type::UUID), (&user, Type::UUID)],
    )
    .await;
}
