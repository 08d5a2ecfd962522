//! Tenancy and Row Level Security, against real PostgreSQL (and, in the second pass of
//! `scripts/test`, through PgBouncer in transaction mode): every test here is named `db_…`.
//!
//! The RLS matrix talks to Postgres as the API does (login role without privileges, then
//! `set_config('role','authenticated')` and the claims) and asserts row counts: a denial through
//! `using` is silent, a `with check` violation raises 42501.

use axum::body::Body;
use http::Request;
use tokio_postgres::Client;
use tokio_postgres::types::Type;
use uuid::Uuid;

use crate::support::TestApp;
use crate::support::db::{self, TwoClinics};
use crate::support::identity;

/// Who a statement runs as.
#[derive(Clone, Copy, Debug)]
enum As {
    Anon,
    User(Uuid),
}

/// Runs `sql` in one transaction as `who` (exactly as the API sets up a request) and returns the
/// affected row count or the SQLSTATE. Always rolls back, so the matrix leaves no trace.
async fn run_as(
    c: &Client,
    who: As,
    sql: &str,
    params: &[(&(dyn tokio_postgres::types::ToSql + Sync), Type)],
) -> Result<u64, String> {
    c.batch_execute("begin").await.unwrap();
    let (role, claims, sub) = match who {
        As::Anon => ("anon", serde_json::json!({"role": "anon"}), String::new()),
        As::User(u) => ("authenticated", identity::claims(u), u.to_string()),
    };
    let claims = claims.to_string();
    c.query_typed(
        neonpro::db::SET_REQUEST_CONTEXT_SQL,
        &[
            (&role, Type::TEXT),
            (&claims.as_str(), Type::TEXT),
            (&sub.as_str(), Type::TEXT),
            (&"2000", Type::TEXT),
        ],
    )
    .await
    .unwrap();
    let out = c.execute_typed(sql, params).await.map_err(|e| {
        e.code()
            .map(|c| c.code().to_owned())
            .unwrap_or_else(|| e.to_string())
    });
    c.batch_execute("rollback").await.unwrap();
    out
}

async fn setup() -> (Client, Client, TwoClinics) {
    let admin = db::admin().await;
    let world = db::two_clinics(&admin).await;
    let app = db::connect(&db::app_url()).await;
    (admin, app, world)
}

#[tokio::test]
async fn db_rls_matrix_clinics() {
    let (_admin, c, w) = setup().await;
    let a_admin = As::User(w.a_admin);
    let a_staff = As::User(w.a_staff);
    let b_admin = As::User(w.b_admin);

    // select: own clinic only; anon nothing.
    let sel = "select id from public.clinics where id = any($1)";
    let both = vec![w.a, w.b];
    assert_eq!(
        run_as(&c, a_staff, sel, &[(&both, Type::UUID_ARRAY)]).await,
        Ok(1)
    );
    assert_eq!(
        run_as(&c, b_admin, sel, &[(&both, Type::UUID_ARRAY)]).await,
        Ok(1)
    );
    assert_eq!(
        run_as(&c, As::Anon, sel, &[(&both, Type::UUID_ARRAY)]).await,
        Err("42501".into())
    );

    // insert: never from the API role.
    let ins = "insert into public.clinics (name) values ('Nova')";
    assert_eq!(run_as(&c, a_admin, ins, &[]).await, Err("42501".into()));
    assert_eq!(run_as(&c, As::Anon, ins, &[]).await, Err("42501".into()));

    // update: admin of the clinic only; another clinic's row is silently untouched.
    let upd = "update public.clinics set name = 'Renomeada' where id = $1";
    assert_eq!(run_as(&c, a_admin, upd, &[(&w.a, Type::UUID)]).await, Ok(1));
    assert_eq!(run_as(&c, a_staff, upd, &[(&w.a, Type::UUID)]).await, Ok(0));
    assert_eq!(run_as(&c, b_admin, upd, &[(&w.a, Type::UUID)]).await, Ok(0));
    assert_eq!(
        run_as(&c, As::Anon, upd, &[(&w.a, Type::UUID)]).await,
        Err("42501".into())
    );

    // delete: never.
    let del = "delete from public.clinics where id = $1";
    assert!(matches!(
        run_as(&c, a_admin, del, &[(&w.a, Type::UUID)]).await,
        Ok(0) | Err(_)
    ));
    assert!(matches!(
        run_as(&c, b_admin, del, &[(&w.a, Type::UUID)]).await,
        Ok(0) | Err(_)
    ));
    assert_eq!(
        run_as(&c, As::Anon, del, &[(&w.a, Type::UUID)]).await,
        Err("42501".into())
    );
}

#[tokio::test]
async fn db_rls_matrix_clinic_members() {
    let (admin, c, w) = setup().await;
    let a_admin = As::User(w.a_admin);
    let a_staff = As::User(w.a_staff);
    let b_admin = As::User(w.b_admin);
    let clinics = vec![w.a, w.b];

    // select: a member sees their own row; an admin sees the whole clinic; nobody sees B from A.
    let sel = "select user_id from public.clinic_members where clinic_id = any($1)";
    assert_eq!(
        run_as(&c, a_staff, sel, &[(&clinics, Type::UUID_ARRAY)]).await,
        Ok(1)
    );
    assert_eq!(
        run_as(&c, a_admin, sel, &[(&clinics, Type::UUID_ARRAY)]).await,
        Ok(4)
    );
    assert_eq!(
        run_as(&c, b_admin, sel, &[(&clinics, Type::UUID_ARRAY)]).await,
        Ok(2)
    );
    assert_eq!(
        run_as(&c, As::Anon, sel, &[(&clinics, Type::UUID_ARRAY)]).await,
        Err("42501".into())
    );

    // insert: admin into their own clinic; `with check` refuses other clinics (42501).
    let newcomer = Uuid::new_v4();
    let ins =
        "insert into public.clinic_members (clinic_id, user_id, role) values ($1, $2, 'staff')";
    assert_eq!(
        run_as(
            &c,
            a_admin,
            ins,
            &[(&w.a, Type::UUID), (&newcomer, Type::UUID)]
        )
        .await,
        Ok(1)
    );
    assert_eq!(
        run_as(
            &c,
            a_admin,
            ins,
            &[(&w.b, Type::UUID), (&newcomer, Type::UUID)]
        )
        .await,
        Err("42501".into())
    );
    assert_eq!(
        run_as(
            &c,
            a_staff,
            ins,
            &[(&w.a, Type::UUID), (&newcomer, Type::UUID)]
        )
        .await,
        Err("42501".into())
    );
    assert_eq!(
        run_as(
            &c,
            As::Anon,
            ins,
            &[(&w.a, Type::UUID), (&newcomer, Type::UUID)]
        )
        .await,
        Err("42501".into())
    );

    // update: admin of the clinic; moving a row to another clinic violates `with check`.
    let upd =
        "update public.clinic_members set role = 'clinician' where clinic_id = $1 and user_id = $2";
    assert_eq!(
        run_as(
            &c,
            a_admin,
            upd,
            &[(&w.a, Type::UUID), (&w.a_staff, Type::UUID)]
        )
        .await,
        Ok(1)
    );
    assert_eq!(
        run_as(
            &c,
            a_staff,
            upd,
            &[(&w.a, Type::UUID), (&w.a_staff, Type::UUID)]
        )
        .await,
        Ok(0)
    );
    assert_eq!(
        run_as(
            &c,
            b_admin,
            upd,
            &[(&w.a, Type::UUID), (&w.a_staff, Type::UUID)]
        )
        .await,
        Ok(0)
    );
    let mv =
        "update public.clinic_members set clinic_id = $2 where clinic_id = $1 and user_id = $3";
    assert_eq!(
        run_as(
            &c,
            a_admin,
            mv,
            &[
                (&w.a, Type::UUID),
                (&w.b, Type::UUID),
                (&w.a_staff, Type::UUID)
            ]
        )
        .await,
        Err("42501".into())
    );

    // delete: admin of the clinic only.
    let del = "delete from public.clinic_members where clinic_id = $1 and user_id = $2";
    assert_eq!(
        run_as(
            &c,
            b_admin,
            del,
            &[(&w.a, Type::UUID), (&w.a_staff, Type::UUID)]
        )
        .await,
        Ok(0)
    );
    assert_eq!(
        run_as(
            &c,
            a_staff,
            del,
            &[(&w.a, Type::UUID), (&w.a_staff, Type::UUID)]
        )
        .await,
        Ok(0)
    );
    assert_eq!(
        run_as(
            &c,
            a_admin,
            del,
            &[(&w.a, Type::UUID), (&w.a_staff, Type::UUID)]
        )
        .await,
        Ok(1)
    );
    assert_eq!(
        run_as(
            &c,
            As::Anon,
            del,
            &[(&w.a, Type::UUID), (&w.a_staff, Type::UUID)]
        )
        .await,
        Err("42501".into())
    );

    // Everything above was rolled back.
    let n: i64 = admin
        .query_one(
            "select count(*) from public.clinic_members where clinic_id = any($1)",
            &[&clinics],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 6);
}

#[tokio::test]
async fn db_inactive_members_see_nothing() {
    let (admin, c, w) = setup().await;
    db::exec(
        &admin,
        "update public.clinic_members set active = false where user_id = $1",
        &[(&w.a_clinician, Type::UUID)],
    )
    .await;
    let sel = "select id from public.clinics where id = $1";
    assert_eq!(
        run_as(&c, As::User(w.a_clinician), sel, &[(&w.a, Type::UUID)]).await,
        Ok(0)
    );
}

/// Fails if any table in an exposed schema lacks RLS (enabled AND forced) or has no policy.
#[tokio::test]
async fn db_every_exposed_table_has_forced_rls_and_a_policy() {
    let admin = db::admin().await;
    let rows = admin
        .query(
            "select n.nspname || '.' || c.relname, c.relrowsecurity, c.relforcerowsecurity,
                    (select count(*) from pg_policy p where p.polrelid = c.oid)
             from pg_class c join pg_namespace n on n.oid = c.relnamespace
             where n.nspname in ('public', 'graphql_public') and c.relkind in ('r', 'p')",
            &[],
        )
        .await
        .unwrap();
    assert!(!rows.is_empty());
    let bad: Vec<String> = rows
        .iter()
        .filter(|r| !(r.get::<_, bool>(1) && r.get::<_, bool>(2) && r.get::<_, i64>(3) > 0))
        .map(|r| r.get(0))
        .collect();
    assert!(
        bad.is_empty(),
        "tables without forced RLS or without a policy: {bad:?}"
    );
}

#[tokio::test]
async fn db_the_login_role_alone_has_no_table_access() {
    let c = db::connect(&db::app_url()).await;
    c.batch_execute("begin").await.unwrap();
    let err = c
        .query_typed("select id from public.clinics", &[])
        .await
        .unwrap_err();
    assert_eq!(err.code().map(|c| c.code()), Some("42501"));
    c.batch_execute("rollback").await.unwrap();
}

/// A session-level `request.jwt.claim.sub` left behind on a connection (as the transaction
/// pooler would hand over) must not win over the request's own claims. Direct connection on
/// purpose: through PgBouncer a session-level SET would leak to other clients.
#[tokio::test]
async fn db_stale_session_claim_sub_does_not_override_the_request() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let c = db::connect(&db::env("NEONPRO_TEST_PG_APP_URL")).await;
    c.batch_execute(&format!("set request.jwt.claim.sub = '{}'", w.b_admin))
        .await
        .unwrap();
    db::begin_as(&c, w.a_staff).await;
    let uid: Uuid = c.query_typed("select auth.uid()", &[]).await.unwrap()[0].get(0);
    assert_eq!(uid, w.a_staff);
    let visible: Vec<Uuid> = c
        .query_typed(
            "select id from public.clinics where id = any($1)",
            &[(&vec![w.a, w.b], Type::UUID_ARRAY)],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect();
    assert_eq!(visible, vec![w.a]);
    c.batch_execute("rollback").await.unwrap();
}

fn db_app() -> TestApp {
    let url = db::app_url();
    TestApp::new(&[("DATABASE_URL", url.as_str())])
}

async fn get_as(
    app: &TestApp,
    path: &str,
    user: Uuid,
    clinic: Option<Uuid>,
) -> crate::support::TestResponse {
    let mut req = Request::get(path).header("authorization", identity::bearer(user));
    if let Some(c) = clinic {
        req = req.header("x-clinic-id", c.to_string());
    }
    app.send(req.body(Body::empty()).unwrap()).await
}

#[tokio::test]
async fn db_me_lists_memberships_and_the_active_clinic() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    db::add_member(&admin, w.b, w.a_admin, "staff").await;
    let app = db_app();

    let res = get_as(&app, "/v1/me", w.a_staff, None).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let me = res.json();
    assert_eq!(me["userId"], w.a_staff.to_string());
    assert_eq!(me["activeClinic"]["clinicId"], w.a.to_string());
    assert_eq!(me["activeClinic"]["role"], "staff");
    assert_eq!(me["memberships"].as_array().unwrap().len(), 1);
    assert_eq!(me["aal"], "aal1");

    // Two clinics: no active clinic until X-Clinic-Id picks one.
    let res = get_as(&app, "/v1/me", w.a_admin, None).await;
    let me = res.json();
    assert_eq!(me["memberships"].as_array().unwrap().len(), 2);
    assert!(me["activeClinic"].is_null());
    let res = get_as(&app, "/v1/me", w.a_admin, Some(w.b)).await;
    assert_eq!(res.json()["activeClinic"]["role"], "staff");

    // An inactive membership is listed (without the clinic's name, which RLS hides) and never
    // becomes the active clinic.
    db::add_member(&admin, w.b, w.a_staff, "patient").await;
    db::exec(
        &admin,
        "update public.clinic_members set active = false where clinic_id = $1 and user_id = $2",
        &[(&w.b, Type::UUID), (&w.a_staff, Type::UUID)],
    )
    .await;
    let me = get_as(&app, "/v1/me", w.a_staff, None).await.json();
    let ms = me["memberships"].as_array().unwrap();
    assert_eq!(ms.len(), 2);
    let inactive = ms
        .iter()
        .find(|m| m["clinicId"] == w.b.to_string())
        .unwrap();
    assert_eq!(inactive["active"], false);
    assert!(inactive["clinicName"].is_null());
    assert_eq!(me["activeClinic"]["clinicId"], w.a.to_string());
}

#[tokio::test]
async fn db_current_clinic_follows_membership_and_never_the_header_alone() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    db::add_member(&admin, w.b, w.a_admin, "staff").await;
    let app = db_app();

    let res = get_as(&app, "/v1/clinics/current", w.a_staff, None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["id"], w.a.to_string());
    assert_eq!(res.json()["role"], "staff");

    // Clinic A's member naming clinic B → 403, whatever the header says.
    let res = get_as(&app, "/v1/clinics/current", w.a_staff, Some(w.b)).await;
    res.assert_problem(403, "not_a_member");
    // A malformed header is a 400; two memberships without a header are ambiguous (400).
    let mut req =
        Request::get("/v1/clinics/current").header("authorization", identity::bearer(w.a_staff));
    req = req.header("x-clinic-id", "clinic-b");
    app.send(req.body(Body::empty()).unwrap())
        .await
        .assert_problem(400, "invalid_clinic_id");
    get_as(&app, "/v1/clinics/current", w.a_admin, None)
        .await
        .assert_problem(400, "clinic_ambiguous");
    let res = get_as(&app, "/v1/clinics/current", w.a_admin, Some(w.b)).await;
    assert_eq!(res.json()["id"], w.b.to_string());
    // A user of no clinic at all → 403.
    get_as(&app, "/v1/clinics/current", Uuid::new_v4(), None)
        .await
        .assert_problem(403, "no_membership");
}

#[tokio::test]
async fn db_a_removed_member_loses_access_on_the_next_request() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let app = db_app();
    assert_eq!(
        get_as(&app, "/v1/clinics/current", w.a_clinician, None)
            .await
            .status,
        200
    );

    db::exec(
        &admin,
        "update public.clinic_members set active = false where user_id = $1",
        &[(&w.a_clinician, Type::UUID)],
    )
    .await;
    get_as(&app, "/v1/clinics/current", w.a_clinician, None)
        .await
        .assert_problem(403, "no_membership");

    db::exec(
        &admin,
        "update public.clinic_members set active = true where user_id = $1",
        &[(&w.a_clinician, Type::UUID)],
    )
    .await;
    assert_eq!(
        get_as(&app, "/v1/clinics/current", w.a_clinician, None)
            .await
            .status,
        200
    );

    db::exec(
        &admin,
        "delete from public.clinic_members where user_id = $1",
        &[(&w.a_clinician, Type::UUID)],
    )
    .await;
    get_as(&app, "/v1/clinics/current", w.a_clinician, None)
        .await
        .assert_problem(403, "no_membership");
}

#[tokio::test]
async fn db_anonymous_supabase_users_cannot_use_staff_routes() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let app = db_app();
    let mut claims = identity::claims(w.a_staff);
    claims["is_anonymous"] = serde_json::json!(true);
    let req = Request::get("/v1/clinics/current").header(
        "authorization",
        format!("Bearer {}", identity::sign(&claims)),
    );
    app.send(req.body(Body::empty()).unwrap())
        .await
        .assert_problem(403, "anonymous_user");
}

#[tokio::test]
async fn db_read_only_transactions_refuse_writes_and_write_transactions_commit() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let cfg = crate::support::config(&[("DATABASE_URL", db::app_url().as_str())]);
    let pool = neonpro::db::Db::new(&cfg.db);
    let claims = identity::claims(w.a_admin);
    let rename = "update public.clinics set name = 'Aurora II' where id = $1";

    let tx = pool.begin(&claims, &w.a_admin, true).await.unwrap();
    let err = tx.query_raw(rename, &[&w.a]).await.unwrap().unwrap_err();
    assert_eq!(
        err.code().map(|c| c.code()),
        Some("25006"),
        "read-only transaction accepted a write"
    );
    drop(tx);

    let tx = pool.begin(&claims, &w.a_admin, false).await.unwrap();
    assert_eq!(tx.execute(rename, &[&w.a]).await.unwrap(), 1);
    tx.commit().await.unwrap();
    let name: String = admin
        .query_one("select name from public.clinics where id = $1", &[&w.a])
        .await
        .unwrap()
        .get(0);
    assert_eq!(name, "Aurora II");

    // Dropping an unfinished transaction rolls it back before the connection is reused.
    let tx = pool.begin(&claims, &w.a_admin, false).await.unwrap();
    assert_eq!(
        tx.execute(
            "update public.clinics set name = 'never' where id = $1",
            &[&w.a]
        )
        .await
        .unwrap(),
        1
    );
    drop(tx);
    for _ in 0..8 {
        let tx = pool.begin(&claims, &w.a_admin, true).await.unwrap();
        let row = tx.query_one("select name, current_setting('transaction_read_only') from public.clinics where id = $1", &[&w.a]).await.unwrap();
        assert_eq!(row.get::<_, String>(0), "Aurora II");
        assert_eq!(row.get::<_, String>(1), "on");
        tx.commit().await.unwrap();
    }
}

/// A patient (with a consent and an audit event) in each clinic, written as superuser.
async fn patient_rows(admin: &Client, w: &TwoClinics) -> (Uuid, Uuid) {
    let mut ids = Vec::new();
    for (clinic, by) in [(w.a, w.a_staff), (w.b, w.b_staff)] {
        let id = Uuid::new_v4();
        db::exec(
            admin,
            "insert into public.patients (id, clinic_id, full_name, name_search, birth_date, created_by) values ($1, $2, 'Teste', 'teste', '1990-01-01', $3)",
            &[(&id, Type::UUID), (&clinic, Type::UUID), (&by, Type::UUID)],
        )
        .await;
        db::exec(
            admin,
            "insert into public.consents (clinic_id, patient_id, purpose, legal_basis, text_version, text_sha256, collection_method, given_at, recorded_by) \
             values ($1, $2, 'marketing', 'art7_i_consent', 'v1', repeat('a', 64), 'electronic_acceptance', now(), $3)",
            &[(&clinic, Type::UUID), (&id, Type::UUID), (&by, Type::UUID)],
        )
        .await;
        ids.push(id);
    }
    (ids[0], ids[1])
}

#[tokio::test]
async fn db_rls_matrix_patients() {
    let (admin, c, w) = setup().await;
    let (pa, pb) = patient_rows(&admin, &w).await;
    db::link_patient(&admin, w.a_patient, pa).await;
    let both = vec![pa, pb];
    let sel = "select id from public.patients where id = any($1)";
    assert_eq!(
        run_as(&c, As::User(w.a_staff), sel, &[(&both, Type::UUID_ARRAY)]).await,
        Ok(1)
    );
    assert_eq!(
        run_as(&c, As::User(w.b_admin), sel, &[(&both, Type::UUID_ARRAY)]).await,
        Ok(1)
    );
    assert_eq!(
        run_as(&c, As::User(w.a_patient), sel, &[(&both, Type::UUID_ARRAY)]).await,
        Ok(1)
    );
    assert_eq!(
        run_as(&c, As::Anon, sel, &[(&both, Type::UUID_ARRAY)]).await,
        Err("42501".into())
    );

    let ins = "insert into public.patients (id, clinic_id, full_name, name_search, birth_date, created_by) values (gen_random_uuid(), $1, 'N', 'n', '1990-01-01', $2)";
    assert_eq!(
        run_as(
            &c,
            As::User(w.a_staff),
            ins,
            &[(&w.a, Type::UUID), (&w.a_staff, Type::UUID)]
        )
        .await,
        Ok(1)
    );
    assert_eq!(
        run_as(
            &c,
            As::User(w.a_staff),
            ins,
            &[(&w.b, Type::UUID), (&w.a_staff, Type::UUID)]
        )
        .await,
        Err("42501".into())
    );
    assert_eq!(
        run_as(
            &c,
            As::User(w.a_patient),
            ins,
            &[(&w.a, Type::UUID), (&w.a_patient, Type::UUID)]
        )
        .await,
        Err("42501".into())
    );
    assert_eq!(
        run_as(
            &c,
            As::Anon,
            ins,
            &[(&w.a, Type::UUID), (&w.a_staff, Type::UUID)]
        )
        .await,
        Err("42501".into())
    );

    let upd = "update public.patients set full_name = 'X' where id = $1";
    assert_eq!(
        run_as(&c, As::User(w.a_staff), upd, &[(&pa, Type::UUID)]).await,
        Ok(1)
    );
    assert_eq!(
        run_as(&c, As::User(w.b_admin), upd, &[(&pa, Type::UUID)]).await,
        Ok(0)
    );
    assert_eq!(
        run_as(&c, As::User(w.a_patient), upd, &[(&pa, Type::UUID)]).await,
        Ok(0)
    );
    let mv = "update public.patients set clinic_id = $2 where id = $1";
    assert_eq!(
        run_as(
            &c,
            As::User(w.a_staff),
            mv,
            &[(&pa, Type::UUID), (&w.b, Type::UUID)]
        )
        .await,
        Err("42501".into())
    );

    // No DELETE at all: restriction is an update; rows are kept for the retention period.
    let del = "delete from public.patients where id = $1";
    for who in [As::User(w.a_admin), As::User(w.b_admin), As::Anon] {
        assert_eq!(
            run_as(&c, who, del, &[(&pa, Type::UUID)]).await,
            Err("42501".into())
        );
    }
}

#[tokio::test]
async fn db_rls_matrix_consents() {
    let (admin, c, w) = setup().await;
    let (pa, pb) = patient_rows(&admin, &w).await;
    db::link_patient(&admin, w.a_patient, pa).await;
    let both = vec![pa, pb];
    let sel = "select id from public.consents where patient_id = any($1)";
    assert_eq!(
        run_as(&c, As::User(w.a_staff), sel, &[(&both, Type::UUID_ARRAY)]).await,
        Ok(1)
    );
    assert_eq!(
        run_as(&c, As::User(w.b_staff), sel, &[(&both, Type::UUID_ARRAY)]).await,
        Ok(1)
    );
    assert_eq!(
        run_as(&c, As::User(w.a_patient), sel, &[(&both, Type::UUID_ARRAY)]).await,
        Ok(1)
    );
    assert_eq!(
        run_as(&c, As::Anon, sel, &[(&both, Type::UUID_ARRAY)]).await,
        Err("42501".into())
    );

    let ins = "insert into public.consents (clinic_id, patient_id, purpose, legal_basis, text_version, text_sha256, collection_method, given_at, recorded_by) \
               values ($1, $2, 'marketing', 'art7_i_consent', 'v2', repeat('b', 64), 'verbal_recorded', now(), $3)";
    assert_eq!(
        run_as(
            &c,
            As::User(w.a_staff),
            ins,
            &[
                (&w.a, Type::UUID),
                (&pa, Type::UUID),
                (&w.a_staff, Type::UUID)
            ]
        )
        .await,
        Ok(1)
    );
    assert_eq!(
        run_as(
            &c,
            As::User(w.a_staff),
            ins,
            &[
                (&w.b, Type::UUID),
                (&pb, Type::UUID),
                (&w.a_staff, Type::UUID)
            ]
        )
        .await,
        Err("42501".into())
    );
    assert_eq!(
        run_as(
            &c,
            As::User(w.a_patient),
            ins,
            &[
                (&w.a, Type::UUID),
                (&pa, Type::UUID),
                (&w.a_patient, Type::UUID)
            ]
        )
        .await,
        Err("42501".into())
    );

    // Only the withdrawal columns can change; the patient may withdraw their own.
    let withdraw =
        "update public.consents set withdrawn_at = now(), withdrawn_by = $2 where patient_id = $1";
    assert_eq!(
        run_as(
            &c,
            As::User(w.a_patient),
            withdraw,
            &[(&pa, Type::UUID), (&w.a_patient, Type::UUID)]
        )
        .await,
        Ok(1)
    );
    assert_eq!(
        run_as(
            &c,
            As::User(w.a_patient),
            withdraw,
            &[(&pb, Type::UUID), (&w.a_patient, Type::UUID)]
        )
        .await,
        Ok(0)
    );
    assert_eq!(
        run_as(
            &c,
            As::User(w.b_staff),
            withdraw,
            &[(&pa, Type::UUID), (&w.b_staff, Type::UUID)]
        )
        .await,
        Ok(0)
    );
    let rewrite = "update public.consents set purpose = 'treatment' where patient_id = $1";
    assert_eq!(
        run_as(&c, As::User(w.a_admin), rewrite, &[(&pa, Type::UUID)]).await,
        Err("42501".into())
    );
    let del = "delete from public.consents where patient_id = $1";
    assert_eq!(
        run_as(&c, As::User(w.a_admin), del, &[(&pa, Type::UUID)]).await,
        Err("42501".into())
    );
}

#[tokio::test]
async fn db_rls_matrix_audit_events() {
    let (admin, c, w) = setup().await;
    // One event per clinic, appended the way the API does (as that clinic's staff).
    for (clinic, user) in [(w.a, w.a_staff), (w.b, w.b_staff)] {
        let app = db::connect(&db::app_url()).await;
        db::begin_as(&app, user).await;
        let head = app
            .query_typed(
                "select next_seq, prev_hash from private.audit_chain_head($1)",
                &[(&clinic, Type::UUID)],
            )
            .await
            .unwrap();
        let (seq, prev): (i64, Vec<u8>) = (head[0].get(0), head[0].get(1));
        let hash = vec![7_u8; 32];
        app.query_typed(
            "select private.audit_append($1, $2, now(), 'staff', null, 'test.event', 'test', null, 'success', 'low', null, null, null, '{}'::jsonb, $3, $4)",
            &[(&clinic, Type::UUID), (&seq, Type::INT8), (&prev, Type::BYTEA), (&hash, Type::BYTEA)],
        )
        .await
        .unwrap();
        app.batch_execute("commit").await.unwrap();
    }
    let clinics = vec![w.a, w.b];
    let sel = "select seq from public.audit_events where clinic_id = any($1)";
    assert_eq!(
        run_as(
            &c,
            As::User(w.a_admin),
            sel,
            &[(&clinics, Type::UUID_ARRAY)]
        )
        .await,
        Ok(1)
    );
    assert_eq!(
        run_as(
            &c,
            As::User(w.b_admin),
            sel,
            &[(&clinics, Type::UUID_ARRAY)]
        )
        .await,
        Ok(1)
    );
    assert_eq!(
        run_as(
            &c,
            As::User(w.a_staff),
            sel,
            &[(&clinics, Type::UUID_ARRAY)]
        )
        .await,
        Ok(0)
    );
    assert_eq!(
        run_as(&c, As::Anon, sel, &[(&clinics, Type::UUID_ARRAY)]).await,
        Err("42501".into())
    );

    // No direct writes for anyone; appending to another clinic's chain is refused.
    let ins = "insert into public.audit_events (clinic_id, seq, occurred_at, actor_id, actor_role, action, resource_type, outcome, risk_level, prev_hash, hash) \
               values ($1, 99, now(), $2, 'admin', 'x', 'x', 'success', 'low', decode(repeat('00', 32), 'hex'), decode(repeat('00', 32), 'hex'))";
    assert_eq!(
        run_as(
            &c,
            As::User(w.a_admin),
            ins,
            &[(&w.a, Type::UUID), (&w.a_admin, Type::UUID)]
        )
        .await,
        Err("42501".into())
    );
    for sql in [
        "update public.audit_events set action = 'y' where clinic_id = $1",
        "delete from public.audit_events where clinic_id = $1",
    ] {
        assert_eq!(
            run_as(&c, As::User(w.a_admin), sql, &[(&w.a, Type::UUID)]).await,
            Err("42501".into())
        );
        assert_eq!(
            run_as(&c, As::Anon, sql, &[(&w.a, Type::UUID)]).await,
            Err("42501".into())
        );
    }
    let foreign = "select * from private.audit_chain_head($1)";
    assert_eq!(
        run_as(&c, As::User(w.a_admin), foreign, &[(&w.b, Type::UUID)]).await,
        Err("42501".into())
    );
    let n: i64 = admin
        .query_one(
            "select count(*) from public.audit_events where clinic_id = any($1)",
            &[&clinics],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 2);
}

/// Pool exhaustion is a quick 503 with `Retry-After`, never a hang.
#[tokio::test]
async fn db_pool_exhaustion_is_a_503_not_a_hang() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let url = db::app_url();
    let app = TestApp::new(&[
        ("DATABASE_URL", url.as_str()),
        ("DB_POOL_MAX", "1"),
        ("DB_ACQUIRE_TIMEOUT_MS", "200"),
    ]);
    // Hold the only connection.
    let held = app
        .state
        .db()
        .begin(&identity::claims(w.a_staff), &w.a_staff, true)
        .await
        .unwrap();
    let res = get_as(&app, "/v1/clinics/current", w.a_staff, None).await;
    res.assert_problem(503, "database_unavailable");
    assert!(res.header("retry-after").is_some());
    held.commit().await.unwrap();
    assert_eq!(
        get_as(&app, "/v1/clinics/current", w.a_staff, None)
            .await
            .status,
        200
    );
}
