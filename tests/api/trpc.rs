//! The tRPC endpoint's wire format (`@trpc/server` v11, no transformer): envelopes, batching
//! order and 207, method rules, error codes, input parsing errors; `db_` tests drive real
//! procedures against PostgreSQL. The official `@trpc/client` is exercised by
//! `clients/ts/test/client.test.mjs` (run by `scripts/test`).

use axum::body::Body;
use http::Request;
use serde_json::{Value, json};
use uuid::Uuid;

use crate::patients::{cpf, new_patient};
use crate::support::db;
use crate::support::identity;
use crate::support::{TestApp, TestResponse, url_encode};

async fn get(app: &TestApp, path: &str, input: Option<&Value>, user: Option<Uuid>) -> TestResponse {
    let uri = match input {
        Some(i) if path.contains('?') => {
            format!("/trpc/{path}&input={}", url_encode(&i.to_string()))
        }
        Some(i) => format!("/trpc/{path}?input={}", url_encode(&i.to_string())),
        None => format!("/trpc/{path}"),
    };
    let mut req = Request::get(uri);
    if let Some(u) = user {
        req = req.header("authorization", identity::bearer(u));
    }
    app.send(req.body(Body::empty()).unwrap()).await
}

async fn post(app: &TestApp, path: &str, body: Option<&Value>, user: Option<Uuid>) -> TestResponse {
    let mut req = Request::post(format!("/trpc/{path}")).header("content-type", "application/json");
    if let Some(u) = user {
        req = req.header("authorization", identity::bearer(u));
    }
    let body = body.map(|b| Body::from(b.to_string())).unwrap_or_default();
    app.send(req.body(body).unwrap()).await
}

fn assert_error(v: &Value, name: &str, number: i64, status: u16) {
    assert_eq!(v["error"]["code"], number, "{v}");
    assert_eq!(v["error"]["data"]["code"], name, "{v}");
    assert_eq!(v["error"]["data"]["httpStatus"], status, "{v}");
    assert!(v["error"]["message"].is_string());
    assert!(v["error"]["data"].get("stack").is_none());
}

#[tokio::test]
async fn trpc_query_by_get_returns_result_data() {
    let app = TestApp::new(&[]);
    let res = get(&app, "health", None, None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/json"));
    let v = res.json();
    assert_eq!(v["result"]["data"]["status"], "ok");
    // Same pipeline as REST: security headers and request id.
    assert!(res.header("x-request-id").is_some());
    assert!(res.header("content-security-policy").is_some());
    assert!(res.header("ratelimit").is_some());
}

#[tokio::test]
async fn trpc_method_rules_follow_trpc() {
    let app = TestApp::new(&[]);
    // A query sent as POST.
    let res = post(&app, "health", None, None).await;
    assert_eq!(res.status, 405);
    assert_error(&res.json(), "METHOD_NOT_SUPPORTED", -32005, 405);
    assert_eq!(res.header("allow"), Some("GET"));
    // A mutation sent as GET (checked before authentication).
    let res = get(&app, "patients.create", Some(&json!({})), None).await;
    assert_eq!(res.status, 405);
    let v = res.json();
    assert_error(&v, "METHOD_NOT_SUPPORTED", -32005, 405);
    assert_eq!(v["error"]["data"]["path"], "patients.create");
    assert_eq!(res.header("allow"), Some("POST"));
}

#[tokio::test]
async fn trpc_unknown_procedure_is_not_found() {
    let app = TestApp::new(&[]);
    let res = get(&app, "nope.nothing", None, None).await;
    assert_eq!(res.status, 404);
    assert_error(&res.json(), "NOT_FOUND", -32004, 404);
}

#[tokio::test]
async fn trpc_without_token_is_unauthorized() {
    let app = TestApp::new(&[]);
    let res = get(&app, "patients.list", Some(&json!({})), None).await;
    assert_eq!(res.status, 401);
    let v = res.json();
    assert_error(&v, "UNAUTHORIZED", -32001, 401);
    assert_eq!(v["error"]["data"]["apiCode"], "unauthenticated");
    let mut req = Request::get("/trpc/patients.list");
    req = req.header("authorization", "Bearer not-a-token");
    let res = app.send(req.body(Body::empty()).unwrap()).await;
    assert_error(&res.json(), "UNAUTHORIZED", -32001, 401);
}

#[tokio::test]
async fn trpc_batch_keeps_order_and_mixed_outcomes_are_207() {
    let app = TestApp::new(&[]);
    let res = get(&app, "health,nope,health?batch=1", Some(&json!({})), None).await;
    assert_eq!(res.status, 207);
    let v = res.json();
    let arr = v.as_array().unwrap();
    assert_eq!(arr.len(), 3);
    assert_eq!(arr[0]["result"]["data"]["status"], "ok");
    assert_error(&arr[1], "NOT_FOUND", -32004, 404);
    assert_eq!(arr[1]["error"]["data"]["path"], "nope");
    assert_eq!(arr[2]["result"]["data"]["status"], "ok");
    // All successes: 200.
    let res = get(&app, "health,health?batch=1", None, None).await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json().as_array().unwrap().len(), 2);
    // A public procedure next to a protected one without a token.
    let res = get(&app, "health,audit.verify?batch=1", None, None).await;
    assert_eq!(res.status, 207);
    assert_error(&res.json()[1], "UNAUTHORIZED", -32001, 401);
}

#[tokio::test]
async fn trpc_batch_size_is_limited_to_20() {
    let app = TestApp::new(&[]);
    let twenty = vec!["health"; 20].join(",");
    let res = get(&app, &format!("{twenty}?batch=1"), None, None).await;
    assert_eq!(res.status, 200);
    let res = get(&app, &format!("{twenty},health?batch=1"), None, None).await;
    assert_eq!(res.status, 400);
    assert_error(&res.json(), "BAD_REQUEST", -32600, 400);
}

#[tokio::test]
async fn trpc_input_parsing_errors() {
    let app = TestApp::new(&[]);
    // Not JSON.
    let res = app
        .send(
            Request::get("/trpc/health?input=%7Bnope")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, 400);
    assert_error(&res.json(), "PARSE_ERROR", -32700, 400);
    // Batch input that is not an object.
    let res = get(&app, "health?batch=1", Some(&json!([1])), None).await;
    assert_eq!(res.status, 400);
    assert_error(&res.json()[0], "BAD_REQUEST", -32600, 400);
    // Wrong content type for a mutation.
    let res = app
        .send(
            Request::post("/trpc/patients.create")
                .header("content-type", "text/plain")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(res.status, 415);
    assert_error(&res.json(), "UNSUPPORTED_MEDIA_TYPE", -32015, 415);
    // Mixing queries and mutations in one batch.
    let res = get(&app, "health,patients.create?batch=1", None, None).await;
    assert_eq!(res.status, 400);
}

#[tokio::test]
async fn trpc_every_procedure_of_the_design_is_registered() {
    let mut names: Vec<&str> = neonpro::trpc::procedures().iter().map(|p| p.path).collect();
    names.sort_unstable();
    assert_eq!(
        names,
        [
            "aestheticScheduling.checkContraindications",
            "aestheticScheduling.createTreatmentPlan",
            "aestheticScheduling.getProcedures",
            "aestheticScheduling.previewTreatmentPlan",
            "appointments.cancel",
            "appointments.checkAvailability",
            "appointments.get",
            "appointments.list",
            "appointments.reschedule",
            "appointments.schedule",
            "appointments.updateStatus",
            "audit.list",
            "audit.verify",
            "health",
            "patients.consents.grant",
            "patients.consents.list",
            "patients.consents.withdraw",
            "patients.create",
            "patients.getById",
            "patients.list",
            "patients.restrict",
            "patients.update",
            "professionals.get",
            "professionals.list",
        ]
    );
}

fn db_app() -> TestApp {
    let url = db::app_url();
    TestApp::new(&[
        ("DATABASE_URL", url.as_str()),
        ("RATE_LIMIT_HEALTHCARE", "100000/900"),
        ("DB_POOL_MAX", "8"),
    ])
}

#[tokio::test]
async fn db_trpc_patient_procedures_call_the_same_services_as_rest() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let app = db_app();
    let c = cpf(9101);

    let res = post(
        &app,
        "patients.create",
        Some(&new_patient(&c)),
        Some(w.a_clinician),
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let p = res.json()["result"]["data"].clone();
    let id = p["id"].as_str().unwrap().to_owned();
    assert_eq!(p["version"], 1);
    assert_eq!(p["allergies"], json!(["lidocaína"]));

    // REST sees the same record.
    let rest = app
        .send(
            Request::get(format!("/v1/patients/{id}"))
                .header("authorization", identity::bearer(w.a_staff))
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(rest.status, 200);

    // getById is shaped per role (staff: masked CPF, no clinical keys).
    let res = get(
        &app,
        "patients.getById",
        Some(&json!({ "id": id })),
        Some(w.a_staff),
    )
    .await;
    assert_eq!(res.status, 200);
    let staff_view = res.json()["result"]["data"].clone();
    assert!(staff_view.get("allergies").is_none());
    assert!(staff_view["cpf"].as_str().unwrap().contains('*'));

    // Duplicate CPF → CONFLICT.
    let res = post(
        &app,
        "patients.create",
        Some(&new_patient(&c)),
        Some(w.a_clinician),
    )
    .await;
    assert_eq!(res.status, 409);
    assert_error(&res.json(), "CONFLICT", -32009, 409);

    // Domain validation → UNPROCESSABLE_CONTENT with the field list.
    let mut bad = new_patient(&cpf(9102));
    bad["cpf"] = json!("111.111.111-11");
    let res = post(&app, "patients.create", Some(&bad), Some(w.a_clinician)).await;
    assert_eq!(res.status, 422);
    let v = res.json();
    assert_error(&v, "UNPROCESSABLE_CONTENT", -32022, 422);
    assert!(
        v["error"]["data"]["errors"]
            .as_array()
            .unwrap()
            .iter()
            .any(|f| f["field"] == "cpf")
    );

    // Unknown input field → BAD_REQUEST naming the field.
    let res = post(&app, "patients.getById", None, Some(w.a_clinician)).await;
    assert_eq!(res.status, 405);
    let res = get(
        &app,
        "patients.getById",
        Some(&json!({ "id": id, "x": 1 })),
        Some(w.a_clinician),
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(res.json()["error"]["data"]["errors"][0]["field"], "x");

    // Stale version → PRECONDITION_FAILED; current version → updated.
    let upd = json!({ "id": id, "version": 7, "patch": { "socialName": "Ceci" } });
    let res = post(&app, "patients.update", Some(&upd), Some(w.a_clinician)).await;
    assert_error(&res.json(), "PRECONDITION_FAILED", -32012, 412);
    let upd = json!({ "id": id, "version": 1, "patch": { "socialName": "Ceci" } });
    let res = post(&app, "patients.update", Some(&upd), Some(w.a_clinician)).await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json()["result"]["data"]["version"], 2);

    // Another clinic's patient → NOT_FOUND; a staff member cannot restrict → FORBIDDEN.
    let res = get(
        &app,
        "patients.getById",
        Some(&json!({ "id": id })),
        Some(w.b_admin),
    )
    .await;
    assert_error(&res.json(), "NOT_FOUND", -32004, 404);
    let res = post(
        &app,
        "patients.restrict",
        Some(&json!({ "id": id })),
        Some(w.a_staff),
    )
    .await;
    assert_error(&res.json(), "FORBIDDEN", -32003, 403);

    // Consents: grant, list, withdraw.
    let consent = json!({
        "patientId": id,
        "consent": {
            "purpose": "data_processing", "legalBasis": "art7_i_consent", "textVersion": "v1",
            "textSha256": "a".repeat(64), "collectionMethod": "electronic_acceptance"
        }
    });
    let res = post(
        &app,
        "patients.consents.grant",
        Some(&consent),
        Some(w.a_staff),
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let consent_id = res.json()["result"]["data"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let res = get(
        &app,
        "patients.consents.list",
        Some(&json!({ "patientId": id })),
        Some(w.a_staff),
    )
    .await;
    assert!(
        res.json()["result"]["data"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["id"] == consent_id.as_str())
    );
    let res = post(
        &app,
        "patients.consents.withdraw",
        Some(&json!({ "patientId": id, "consentId": consent_id, "reason": "patient_request" })),
        Some(w.a_staff),
    )
    .await;
    assert_eq!(res.json()["result"]["data"]["status"], "withdrawn");

    // Audit: list and verify, batched; every call audited and the chain intact.
    let res = get(
        &app,
        "audit.list,audit.verify?batch=1",
        Some(&json!({ "0": { "patientId": id } })),
        Some(w.a_admin),
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let v = res.json();
    assert!(v[0]["result"]["data"]["items"].as_array().unwrap().len() >= 4);
    assert_eq!(v[1]["result"]["data"]["valid"], true);

    // Restrict (admin) → null data.
    let res = post(
        &app,
        "patients.restrict",
        Some(&json!({ "id": id })),
        Some(w.a_admin),
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json(), json!({ "result": { "data": null } }));
}

#[tokio::test]
async fn db_trpc_batch_runs_each_procedure_in_its_own_context() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let app = db_app();
    let missing = Uuid::new_v4();
    // Two mutations: one fails, the other still commits.
    let body = json!({ "0": new_patient(&cpf(9201)), "1": new_patient("123") });
    let res = post(
        &app,
        "patients.create,patients.create?batch=1",
        Some(&body),
        Some(w.a_clinician),
    )
    .await;
    assert_eq!(res.status, 207);
    let v = res.json();
    let id = v[0]["result"]["data"]["id"].as_str().unwrap().to_owned();
    assert_error(&v[1], "UNPROCESSABLE_CONTENT", -32022, 422);
    // Queries: success, not found, forbidden (staff cannot read the audit trail).
    let input = json!({ "0": { "id": id }, "1": { "id": missing } });
    let res = get(
        &app,
        "patients.getById,patients.getById,audit.verify?batch=1",
        Some(&input),
        Some(w.a_staff),
    )
    .await;
    assert_eq!(res.status, 207);
    let v = res.json();
    assert_eq!(v[0]["result"]["data"]["id"], id.as_str());
    assert_error(&v[1], "NOT_FOUND", -32004, 404);
    assert_error(&v[2], "FORBIDDEN", -32003, 403);
}

#[tokio::test]
async fn db_trpc_batch_charges_each_procedures_class() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let url = db::app_url();
    let app = TestApp::new(&[
        ("DATABASE_URL", url.as_str()),
        ("RATE_LIMIT_HEALTHCARE", "2/900"),
    ]);
    let input = json!({ "0": {}, "1": {}, "2": {} });
    let res = get(
        &app,
        "patients.list,patients.list,patients.list?batch=1",
        Some(&input),
        Some(w.a_staff),
    )
    .await;
    assert_eq!(res.status, 207, "{}", String::from_utf8_lossy(&res.body));
    let v = res.json();
    assert!(v[0].get("result").is_some());
    assert!(v[1].get("result").is_some());
    assert_error(&v[2], "TOO_MANY_REQUESTS", -32029, 429);
    assert!(res.header("retry-after").is_some());
    assert_eq!(res.header("x-ratelimit-remaining"), Some("0"));
}
