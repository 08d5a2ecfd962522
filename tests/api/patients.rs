//! Patients, consents and the audit trail against real PostgreSQL (`db_` tests also run through
//! PgBouncer): CRUD, validation, optimistic concurrency, restriction, BOLA, role shaping,
//! encryption at rest, and the hash chain under concurrency and tampering.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use tokio_postgres::types::Type;
use uuid::Uuid;

use crate::support::db::{self, TwoClinics};
use crate::support::{TestApp, call};

fn app() -> TestApp {
    let url = db::app_url();
    TestApp::new(&[
        ("DATABASE_URL", url.as_str()),
        ("RATE_LIMIT_HEALTHCARE", "100000/900"),
        ("DB_POOL_MAX", "8"),
    ])
}

/// Valid CPFs for tests (check digits computed, not repeated digits).
pub(crate) fn cpf(n: u32) -> String {
    let base = format!("{:09}", 100_000_000 + n * 7919 % 800_000_000);
    let d: Vec<u32> = base.chars().map(|c| c.to_digit(10).unwrap()).collect();
    let dv = |digits: &[u32], start: u32| {
        let s: u32 = digits
            .iter()
            .enumerate()
            .map(|(i, x)| x * (start - i as u32))
            .sum();
        let r = s % 11;
        if r < 2 { 0 } else { 11 - r }
    };
    let d1 = dv(&d, 10);
    let mut d2v = d.clone();
    d2v.push(d1);
    let d2 = dv(&d2v, 11);
    format!("{base}{d1}{d2}")
}

pub(crate) fn new_patient(cpf_digits: &str) -> Value {
    json!({
        "fullName": "Conceição Araújo",
        "socialName": "Ceça",
        "birthDate": "1988-04-12",
        "sex": "female",
        "cpf": cpf_digits,
        "email": "ceca@example.com.br",
        "phone": "(11) 98765-4321",
        "address": { "street": "Av. Paulista", "number": "1000", "city": "São Paulo", "uf": "SP", "cep": "01310-100" },
        "emergencyContact": { "name": "Maria Araújo", "phone": "11 3456-7890", "relationship": "mãe" },
        "allergies": ["lidocaína"],
        "currentMedications": ["isotretinoína 20mg"],
        "conditions": ["rosácea"],
        "clinicalNotes": "Pele sensível.",
        "pregnancyStatus": "not_pregnant",
        "fitzpatrickSkinType": 3,
        "preferredContactChannel": "whatsapp"
    })
}

async fn create(app: &TestApp, user: Uuid, body: Value) -> Value {
    let res = call(app, "POST", "/v1/patients", user, Some(body), &[]).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    res.json()
}

async fn audit_count(admin: &tokio_postgres::Client, clinic: Uuid) -> i64 {
    admin
        .query_one(
            "select count(*) from public.audit_events where clinic_id = $1",
            &[&clinic],
        )
        .await
        .unwrap()
        .get(0)
}

#[tokio::test]
async fn db_patient_lifecycle_create_read_update_restrict_with_audit() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let app = app();
    let c = cpf(1);

    let created = call(
        &app,
        "POST",
        "/v1/patients",
        w.a_clinician,
        Some(new_patient(&c)),
        &[],
    )
    .await;
    assert_eq!(created.status, 201);
    let p = created.json();
    let id = p["id"].as_str().unwrap().to_owned();
    assert_eq!(
        created.header("location"),
        Some(format!("/v1/patients/{id}").as_str())
    );
    assert_eq!(created.header("etag"), Some("\"1\""));
    assert_eq!(p["phone"], "+5511987654321");
    assert_eq!(p["emergencyContact"]["phone"], "+551134567890");
    assert_eq!(
        p["cpf"],
        format!("{}.{}.{}-{}", &c[0..3], &c[3..6], &c[6..9], &c[9..])
    );

    let read = call(
        &app,
        "GET",
        &format!("/v1/patients/{id}"),
        w.a_clinician,
        None,
        &[],
    )
    .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["allergies"], json!(["lidocaína"]));

    // Same CPF again in the same clinic → 409; in another clinic → fine.
    let dup = call(
        &app,
        "POST",
        "/v1/patients",
        w.a_staff,
        Some(json!({"fullName": "Outra", "birthDate": "1990-01-01", "cpf": c})),
        &[],
    )
    .await;
    dup.assert_problem(409, "cpf_already_registered");
    create(
        &app,
        w.b_admin,
        json!({"fullName": "Outra", "birthDate": "1990-01-01", "cpf": c}),
    )
    .await;

    // PATCH needs If-Match (428), refuses a stale version (412), then applies.
    let path = format!("/v1/patients/{id}");
    call(
        &app,
        "PATCH",
        &path,
        w.a_staff,
        Some(json!({"phone": "21 99999-0000"})),
        &[],
    )
    .await
    .assert_problem(428, "if_match_required");
    call(
        &app,
        "PATCH",
        &path,
        w.a_staff,
        Some(json!({"phone": "21 99999-0000"})),
        &[("if-match", "\"7\"")],
    )
    .await
    .assert_problem(412, "stale_version");
    let upd = call(
        &app,
        "PATCH",
        &path,
        w.a_staff,
        Some(json!({"phone": "21 99999-0000", "socialName": null})),
        &[("if-match", "\"1\"")],
    )
    .await;
    assert_eq!(upd.status, 200, "{}", String::from_utf8_lossy(&upd.body));
    assert_eq!(upd.header("etag"), Some("\"2\""));
    assert_eq!(upd.json()["phone"], "+5521999990000");
    assert!(upd.json()["socialName"].is_null());
    // What a write returns is what is stored (timestamps included, to the microsecond).
    let read = call(&app, "GET", &path, w.a_admin, None, &[]).await.json();
    assert_eq!(read["updatedAt"], upd.json()["updatedAt"]);
    assert_eq!(read["createdAt"], upd.json()["createdAt"]);
    // Staff may not change clinical data.
    call(
        &app,
        "PATCH",
        &path,
        w.a_staff,
        Some(json!({"allergies": []})),
        &[("if-match", "\"2\"")],
    )
    .await
    .assert_problem(403, "clinical_fields_forbidden");

    // Restriction (admin only): gone from lists and from normal use, clinical data kept.
    call(&app, "DELETE", &path, w.a_staff, None, &[])
        .await
        .assert_problem(403, "insufficient_role");
    // Through Vercel the rewrite also appends the path parameter to the query string
    // (`?id=<id>`): tolerated when it repeats the path, refused otherwise.
    let other = Uuid::new_v4();
    call(
        &app,
        "DELETE",
        &format!("{path}?id={other}"),
        w.a_admin,
        None,
        &[],
    )
    .await
    .assert_problem(400, "invalid_query");
    let del = call(
        &app,
        "DELETE",
        &format!(
            "{path}?id={}&reason=lgpd_erasure_request",
            path.rsplit('/').next().unwrap()
        ),
        w.a_admin,
        None,
        &[],
    )
    .await;
    assert_eq!(del.status, 204, "{}", String::from_utf8_lossy(&del.body));
    call(&app, "GET", &path, w.a_clinician, None, &[])
        .await
        .assert_problem(404, "not_found");
    let list = call(&app, "GET", "/v1/patients", w.a_clinician, None, &[])
        .await
        .json();
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|p| p["id"] != id.as_str())
    );
    let as_admin = call(&app, "GET", &path, w.a_admin, None, &[]).await;
    assert_eq!(as_admin.json()["restricted"], true);
    assert_eq!(as_admin.json()["allergies"], json!(["lidocaína"]));
    call(
        &app,
        "PATCH",
        &path,
        w.a_admin,
        Some(json!({"phone": "21 99999-0001"})),
        &[("if-match", "\"3\"")],
    )
    .await
    .assert_problem(409, "patient_restricted");

    // Every action is in the audit trail, and the chain verifies.
    let events = call(
        &app,
        "GET",
        &format!("/v1/audit-events?patientId={id}"),
        w.a_admin,
        None,
        &[],
    )
    .await;
    assert_eq!(events.status, 200);
    let actions: Vec<String> = events.json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    for a in [
        "patient.create",
        "patient.read",
        "patient.update",
        "patient.restrict",
    ] {
        assert!(
            actions.iter().any(|x| x == a),
            "{a} missing from {actions:?}"
        );
    }
    let text = events.json().to_string();
    assert!(
        !text.contains(&c) && !text.contains("Conceição") && !text.contains("lidocaína"),
        "personal data in audit: {text}"
    );
    let verify = call(&app, "GET", "/v1/audit-events/verify", w.a_admin, None, &[])
        .await
        .json();
    assert_eq!(verify["valid"], true);
    assert!(verify["count"].as_i64().unwrap() >= 6);
    assert_eq!(verify["headHash"].as_str().unwrap().len(), 64);
}

#[tokio::test]
async fn db_bad_input_is_refused_without_writing_anything() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let app = app();

    let res = call(
        &app,
        "POST",
        "/v1/patients",
        w.a_staff,
        Some(json!({"fullName": "X", "birthDate": "1990-01-01", "clinicId": w.b})),
        &[],
    )
    .await;
    let p = res.assert_problem(400, "invalid_body");
    assert_eq!(p["errors"][0]["field"], "clinicId");
    for field in ["id", "version", "createdAt"] {
        let res = call(
            &app,
            "POST",
            "/v1/patients",
            w.a_staff,
            Some(json!({"fullName": "X", "birthDate": "1990-01-01", field: "1"})),
            &[],
        )
        .await;
        res.assert_problem(400, "invalid_body");
    }
    let res = call(&app, "POST", "/v1/patients", w.a_staff, Some(json!({"fullName": "", "birthDate": "2999-01-01", "cpf": "111.111.111-11", "phone": "123"})), &[("accept-language", "en")]).await;
    let p = res.assert_problem(422, "validation_failed");
    let fields: BTreeSet<String> = p["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["field"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        fields,
        ["birthDate", "cpf", "fullName", "phone"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    assert!(
        !res.body.windows(11).any(|w| w == b"111.111.111"),
        "the submitted value was echoed"
    );

    // An invalid intake consent fails the whole create: no patient row, no audit event.
    let mut body = new_patient(&cpf(2));
    body["consents"] = json!([{ "purpose": "treatment", "legalBasis": "art7_i_consent", "textVersion": "v1", "textSha256": "00", "collectionMethod": "fax" }]);
    call(&app, "POST", "/v1/patients", w.a_clinician, Some(body), &[])
        .await
        .assert_problem(422, "validation_failed");
    let rows: i64 = admin
        .query_one(
            "select count(*) from public.patients where clinic_id = $1",
            &[&w.a],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(rows, 0);
    assert_eq!(audit_count(&admin, w.a).await, 0);
}

#[tokio::test]
async fn db_a_failed_write_leaves_no_patient_row_and_no_audit_event() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let app = app();
    let c = cpf(3);
    create(
        &app,
        w.a_staff,
        json!({"fullName": "Primeira", "birthDate": "1990-01-01", "cpf": c}),
    )
    .await;
    let before = audit_count(&admin, w.a).await;
    // The duplicate is detected by the database after the row was sent: the whole transaction
    // (including consents that were valid) must roll back.
    let mut body = json!({"fullName": "Segunda", "birthDate": "1990-01-01", "cpf": c});
    body["consents"] = json!([{ "purpose": "data_processing", "legalBasis": "art7_i_consent", "textVersion": "v1",
        "textSha256": "a".repeat(64), "collectionMethod": "electronic_acceptance" }]);
    call(&app, "POST", "/v1/patients", w.a_staff, Some(body), &[])
        .await
        .assert_problem(409, "cpf_already_registered");
    let rows: i64 = admin
        .query_one(
            "select count(*) from public.patients where clinic_id = $1",
            &[&w.a],
        )
        .await
        .unwrap()
        .get(0);
    let consents: i64 = admin
        .query_one(
            "select count(*) from public.consents where clinic_id = $1",
            &[&w.a],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!((rows, consents), (1, 0));
    assert_eq!(audit_count(&admin, w.a).await, before);
}

#[tokio::test]
async fn db_another_clinics_patient_is_404_on_every_verb_and_leaves_no_audit_trace() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let app = app();
    let p = create(&app, w.a_clinician, new_patient(&cpf(4))).await;
    let id = p["id"].as_str().unwrap();
    let consent = call(
        &app,
        "POST",
        &format!("/v1/patients/{id}/consents"),
        w.a_staff,
        Some(json!({
            "purpose": "marketing", "legalBasis": "art7_i_consent", "textVersion": "mkt-2026-01",
            "textSha256": "b".repeat(64), "collectionMethod": "electronic_acceptance"
        })),
        &[],
    )
    .await
    .json();
    let consent_id = consent["id"].as_str().unwrap();
    let a_before = audit_count(&admin, w.a).await;
    let b_before = audit_count(&admin, w.b).await;

    let base = format!("/v1/patients/{id}");
    type Case<'a> = (&'a str, String, Option<Value>, Vec<(&'a str, &'a str)>);
    let cases: Vec<Case> = vec![
        ("GET", base.clone(), None, vec![]),
        (
            "PATCH",
            base.clone(),
            Some(json!({"phone": "11 98888-7777"})),
            vec![("if-match", "\"1\"")],
        ),
        ("DELETE", base.clone(), None, vec![]),
        ("GET", format!("{base}/consents"), None, vec![]),
        (
            "POST",
            format!("{base}/consents"),
            Some(
                json!({"purpose": "marketing", "legalBasis": "art7_i_consent", "textVersion": "x", "textSha256": "c".repeat(64), "collectionMethod": "verbal_recorded"}),
            ),
            vec![],
        ),
        (
            "POST",
            format!("{base}/consents/{consent_id}/withdraw"),
            None,
            vec![],
        ),
    ];
    for (method, path, body, headers) in cases {
        let res = call(&app, method, &path, w.b_admin, body, &headers).await;
        res.assert_problem(404, "not_found");
    }
    // Clinic B's list and CPF search never show it.
    let found = call(
        &app,
        "POST",
        "/v1/patients/search",
        w.b_admin,
        Some(json!({"cpf": cpf(4)})),
        &[],
    )
    .await
    .json();
    assert_eq!(found["items"].as_array().unwrap().len(), 0);

    assert_eq!(
        audit_count(&admin, w.a).await,
        a_before,
        "clinic A's chain moved"
    );
    // B's only new events are its own list/search, none naming A's patient.
    let leaked: i64 = admin
        .query_one("select count(*) from public.audit_events where clinic_id = $1 and (patient_id = $2 or details::text like '%' || $2::text || '%')", &[&w.b, &Uuid::parse_str(id).unwrap()])
        .await
        .unwrap()
        .get(0);
    assert_eq!(leaked, 0);
    assert!(audit_count(&admin, w.b).await <= b_before + 1);
}

#[tokio::test]
async fn db_each_role_receives_exactly_its_keys() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let app = app();
    let p = create(&app, w.a_clinician, new_patient(&cpf(5))).await;
    let id = Uuid::parse_str(p["id"].as_str().unwrap()).unwrap();
    db::link_patient(&admin, w.a_patient, id).await;

    let keys = |v: &Value| {
        v.as_object()
            .unwrap()
            .keys()
            .cloned()
            .collect::<BTreeSet<String>>()
    };
    let front: BTreeSet<String> = [
        "address",
        "birthDate",
        "cpf",
        "createdAt",
        "email",
        "emergencyContact",
        "fullName",
        "genderIdentity",
        "id",
        "language",
        "phone",
        "preferredContactChannel",
        "restricted",
        "sex",
        "socialName",
        "updatedAt",
        "version",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    let clinical: BTreeSet<String> = front
        .iter()
        .cloned()
        .chain(
            [
                "allergies",
                "clinicalNotes",
                "conditions",
                "currentMedications",
                "fitzpatrickSkinType",
                "lastClinicalEntryAt",
                "pregnancyStatus",
            ]
            .iter()
            .map(|s| s.to_string()),
        )
        .collect();

    let path = format!("/v1/patients/{id}");
    let staff = call(&app, "GET", &path, w.a_staff, None, &[]).await.json();
    assert_eq!(keys(&staff), front);
    let c = cpf(5);
    assert_eq!(staff["cpf"], format!("***.{}.{}-**", &c[3..6], &c[6..9]));
    for user in [w.a_clinician, w.a_admin, w.a_patient] {
        let v = call(&app, "GET", &path, user, None, &[]).await.json();
        assert_eq!(keys(&v), clinical);
        assert_eq!(
            v["cpf"],
            format!("{}.{}.{}-{}", &c[0..3], &c[3..6], &c[6..9], &c[9..])
        );
    }
    // The patient sees only their own record.
    let other = create(
        &app,
        w.a_staff,
        json!({"fullName": "Outra Pessoa", "birthDate": "1970-05-05"}),
    )
    .await;
    call(
        &app,
        "GET",
        &format!("/v1/patients/{}", other["id"].as_str().unwrap()),
        w.a_patient,
        None,
        &[],
    )
    .await
    .assert_problem(404, "not_found");
    let mine = call(&app, "GET", "/v1/patients", w.a_patient, None, &[])
        .await
        .json();
    assert_eq!(mine["items"].as_array().unwrap().len(), 1);
    // …and cannot write.
    call(
        &app,
        "POST",
        "/v1/patients",
        w.a_patient,
        Some(json!({"fullName": "X", "birthDate": "1990-01-01"})),
        &[],
    )
    .await
    .assert_problem(403, "insufficient_role");
}

#[tokio::test]
async fn db_the_database_never_holds_a_plaintext_cpf_or_clinical_text() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let app = app();
    let c = cpf(6);
    let p = create(&app, w.a_clinician, new_patient(&c)).await;
    let id = Uuid::parse_str(p["id"].as_str().unwrap()).unwrap();
    let row = admin
        .query_one(
            "select row_to_json(p)::text, cpf_enc, cpf_index from public.patients p where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    let text: String = row.get(0);
    for secret in [
        c.as_str(),
        &format!("{}.{}.{}-{}", &c[0..3], &c[3..6], &c[6..9], &c[9..]),
        "lidocaína",
        "isotretino",
        "rosácea",
        "Pele sensível",
    ] {
        assert!(!text.contains(secret), "{secret} stored in clear");
    }
    let enc: Vec<u8> = row.get(1);
    assert_eq!(enc[0], 1, "envelope version byte");
    let index: Vec<u8> = row.get(2);
    assert_eq!(index.len(), 32);
    // CPF lookup works through the blind index.
    let found = call(
        &app,
        "POST",
        "/v1/patients/search",
        w.a_staff,
        Some(json!({"cpf": c})),
        &[],
    )
    .await
    .json();
    assert_eq!(found["items"][0]["id"], id.to_string());

    // A ciphertext copied to another row does not decrypt there (associated data binds the row).
    let other = create(
        &app,
        w.a_clinician,
        json!({"fullName": "Alvo", "birthDate": "1980-01-01", "cpf": cpf(7)}),
    )
    .await;
    let other_id = Uuid::parse_str(other["id"].as_str().unwrap()).unwrap();
    admin
        .execute(
            "update public.patients set cpf_enc = $1 where id = $2",
            &[&enc, &other_id],
        )
        .await
        .unwrap();
    let res = call(
        &app,
        "GET",
        &format!("/v1/patients/{other_id}"),
        w.a_clinician,
        None,
        &[],
    )
    .await;
    res.assert_problem(500, "internal_error");
}

#[tokio::test]
async fn db_list_filters_and_cursor_pagination() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let app = app();
    for (i, name) in [
        "Ana Souza",
        "Ângela Lima",
        "Bruno Alves",
        "anabela Reis",
        "Carlos Ânimo",
    ]
    .iter()
    .enumerate()
    {
        create(
            &app,
            w.a_staff,
            json!({"fullName": name, "birthDate": format!("199{i}-01-0{}", i + 1)}),
        )
        .await;
    }
    let by_name = call(
        &app,
        "POST",
        "/v1/patients/search",
        w.a_staff,
        Some(json!({"name": "an"})),
        &[],
    )
    .await
    .json();
    let names: BTreeSet<String> = by_name["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["fullName"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        names,
        ["Ana Souza", "Ângela Lima", "anabela Reis"]
            .iter()
            .map(|s| s.to_string())
            .collect()
    );
    let by_date = call(
        &app,
        "GET",
        "/v1/patients?birthDate=1992-01-03",
        w.a_staff,
        None,
        &[],
    )
    .await
    .json();
    assert_eq!(by_date["items"].as_array().unwrap().len(), 1);

    let mut seen = BTreeSet::new();
    let mut url = "/v1/patients?limit=2".to_owned();
    for _ in 0..5 {
        let page = call(&app, "GET", &url, w.a_staff, None, &[]).await.json();
        for p in page["items"].as_array().unwrap() {
            assert!(
                seen.insert(p["id"].as_str().unwrap().to_owned()),
                "duplicate across pages"
            );
        }
        match page["nextCursor"].as_str() {
            Some(c) => url = format!("/v1/patients?limit=2&cursor={c}"),
            None => break,
        }
    }
    assert_eq!(seen.len(), 5);
    call(&app, "GET", "/v1/patients?limit=101", w.a_staff, None, &[])
        .await
        .assert_problem(422, "validation_failed");
    call(
        &app,
        "GET",
        "/v1/patients?cursor=garbage",
        w.a_staff,
        None,
        &[],
    )
    .await
    .assert_problem(400, "invalid_cursor");
    call(
        &app,
        "GET",
        "/v1/patients?includeRestricted=true",
        w.a_staff,
        None,
        &[],
    )
    .await
    .assert_problem(403, "insufficient_role");
}

#[tokio::test]
async fn db_consents_are_granted_listed_and_withdrawn_without_touching_clinical_data() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let app = app();
    let mut body = new_patient(&cpf(8));
    body["consents"] = json!([
        { "purpose": "treatment", "legalBasis": "art11_i_specific_consent", "textVersion": "tcle-2026-03", "textSha256": "d".repeat(64), "collectionMethod": "digital_signature", "evidenceReference": "doc-123" },
        { "purpose": "data_processing", "legalBasis": "art11_ii_f_health_protection", "textVersion": "lgpd-2026-01", "textSha256": "e".repeat(64), "collectionMethod": "electronic_acceptance" }
    ]);
    let p = create(&app, w.a_clinician, body).await;
    let id = p["id"].as_str().unwrap();
    let path = format!("/v1/patients/{id}/consents");

    // Health purposes need an Art. 11 basis.
    call(&app, "POST", &path, w.a_staff, Some(json!({"purpose": "ai_analysis", "legalBasis": "art7_i_consent", "textVersion": "ai-1", "textSha256": "f".repeat(64), "collectionMethod": "electronic_acceptance"})), &[])
        .await
        .assert_problem(422, "validation_failed");
    let marketing = call(&app, "POST", &path, w.a_staff, Some(json!({"purpose": "marketing", "legalBasis": "art7_i_consent", "textVersion": "mkt-1", "textSha256": "0".repeat(64), "collectionMethod": "electronic_acceptance"})), &[]).await;
    assert_eq!(marketing.status, 201);
    let mid = marketing.json()["id"].as_str().unwrap().to_owned();

    let list = call(&app, "GET", &path, w.a_staff, None, &[]).await.json();
    assert_eq!(list["items"].as_array().unwrap().len(), 3);
    assert!(
        list["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|c| c["status"] == "active")
    );

    let res = call(
        &app,
        "POST",
        &format!("{path}/{mid}/withdraw"),
        w.a_staff,
        Some(json!({"reason": "patient_request"})),
        &[],
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["status"], "withdrawn");
    call(
        &app,
        "POST",
        &format!("{path}/{mid}/withdraw"),
        w.a_staff,
        None,
        &[],
    )
    .await
    .assert_problem(409, "consent_already_withdrawn");
    call(
        &app,
        "POST",
        &format!("{path}/{}/withdraw", Uuid::new_v4()),
        w.a_staff,
        None,
        &[],
    )
    .await
    .assert_problem(404, "not_found");

    // Clinical data is untouched by the withdrawal.
    let still = call(
        &app,
        "GET",
        &format!("/v1/patients/{id}"),
        w.a_clinician,
        None,
        &[],
    )
    .await
    .json();
    assert_eq!(still["allergies"], json!(["lidocaína"]));
    let actions: Vec<String> = call(
        &app,
        "GET",
        &format!("/v1/audit-events?patientId={id}&action=consent.withdraw"),
        w.a_admin,
        None,
        &[],
    )
    .await
    .json()["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["action"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(actions, vec!["consent.withdraw"]);
}

#[tokio::test]
async fn db_audit_chains_stay_valid_under_200_concurrent_writes_across_two_clinics() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    // A correctness test, not a speed test: generous budgets so a loaded CI machine cannot turn
    // queueing into 503/504s.
    let url = db::app_url();
    let app = std::sync::Arc::new(TestApp::new(&[
        ("DATABASE_URL", url.as_str()),
        ("RATE_LIMIT_HEALTHCARE", "100000/900"),
        ("DB_POOL_MAX", "8"),
        ("REQUEST_TIMEOUT_MS", "120000"),
        ("DB_ACQUIRE_TIMEOUT_MS", "30000"),
        ("DB_CONNECT_TIMEOUT_MS", "30000"),
        ("DB_STATEMENT_TIMEOUT_MS", "30000"),
    ]));
    let mut tasks = Vec::new();
    for i in 0..200u32 {
        let app = app.clone();
        let user = if i % 2 == 0 { w.a_staff } else { w.b_staff };
        tasks.push(tokio::spawn(async move {
            let res = call(
                &app,
                "POST",
                "/v1/patients",
                user,
                Some(json!({"fullName": format!("Paciente {i}"), "birthDate": "1990-01-01"})),
                &[],
            )
            .await;
            (
                res.status.as_u16(),
                String::from_utf8_lossy(&res.body).into_owned(),
            )
        }));
    }
    for t in tasks {
        let (status, body) = t.await.unwrap();
        assert_eq!(status, 201, "{body}");
    }
    for (clinic, admin_user) in [(w.a, w.a_admin), (w.b, w.b_admin)] {
        let v = call(
            &app,
            "GET",
            "/v1/audit-events/verify",
            admin_user,
            None,
            &[],
        )
        .await
        .json();
        assert_eq!(v["valid"], true, "{v}");
        assert_eq!(v["count"], 100);
        let forks: i64 = admin
            .query_one("select count(*) - count(distinct prev_hash) from public.audit_events where clinic_id = $1", &[&clinic])
            .await
            .unwrap()
            .get(0);
        assert_eq!(forks, 0);
    }
}

#[tokio::test]
async fn db_tampering_is_reported_at_the_right_seq_and_the_trail_is_append_only() {
    let admin = db::admin().await;
    let w: TwoClinics = db::two_clinics(&admin).await;
    let app = app();
    for i in 0..5 {
        create(
            &app,
            w.a_staff,
            json!({"fullName": format!("P{i}"), "birthDate": "1990-01-01"}),
        )
        .await;
    }
    // The API role cannot change the trail, and neither can the owner without disabling triggers.
    let c = db::connect(&db::app_url()).await;
    db::begin_as(&c, w.a_admin).await;
    let err = c
        .execute_typed(
            "update public.audit_events set action = 'x' where clinic_id = $1",
            &[(&w.a, Type::UUID)],
        )
        .await
        .unwrap_err();
    assert_eq!(err.code().unwrap().code(), "42501");
    c.batch_execute("rollback").await.unwrap();
    for sql in [
        "update public.audit_events set risk_level = 'low' where clinic_id = $1",
        "delete from public.audit_events where clinic_id = $1",
    ] {
        assert!(
            admin.execute(sql, &[&w.a]).await.is_err(),
            "{sql} succeeded for the owner"
        );
    }
    assert!(
        admin
            .batch_execute("truncate public.audit_events")
            .await
            .is_err()
    );

    // A superuser disabling triggers can alter an event, but verify finds it.
    admin
        .batch_execute("set session_replication_role = replica")
        .await
        .unwrap();
    admin.execute("update public.audit_events set details = '{\"fields\":[\"tampered\"]}' where clinic_id = $1 and seq = 3", &[&w.a]).await.unwrap();
    admin
        .batch_execute("set session_replication_role = origin")
        .await
        .unwrap();
    let v = call(&app, "GET", "/v1/audit-events/verify", w.a_admin, None, &[])
        .await
        .json();
    assert_eq!(v["valid"], false);
    assert_eq!(v["brokenAtSeq"], 3);
    assert_eq!(v["reason"], "hash_mismatch");
    // Clinic B's chain is unaffected; staff cannot read audit at all.
    call(&app, "GET", "/v1/audit-events", w.a_staff, None, &[])
        .await
        .assert_problem(403, "insufficient_role");
}

#[tokio::test]
async fn db_key_rotation_old_key_still_reads_and_the_reencrypt_task_moves_rows_to_the_current_key()
{
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let url = db::app_url();
    let k1 = "1:p9FBS9FAC3r/h8qtnHwWf6gTYc8M/ktQdmDxhThHLOQ=";
    let both = neonpro::crypto::DEV_FIELD_KEYS;
    let k2 = "2:tCFVO+GlUJFBp4Y4h7USlW496jh1i7clnP1d9jbkw6Q=";
    let common = [
        ("DATABASE_URL", url.as_str()),
        ("RATE_LIMIT_HEALTHCARE", "100000/900"),
    ];
    let with = |keys: &'static str, current: &'static str| {
        let mut c = common.to_vec();
        c.push(("FIELD_ENCRYPTION_KEYS", keys));
        c.push(("FIELD_ENCRYPTION_CURRENT_KEY_ID", current));
        TestApp::new(&c)
    };

    // Written under key 1.
    let old = with(k1, "1");
    let p = create(&old, w.a_clinician, new_patient(&cpf(9))).await;
    let id = Uuid::parse_str(p["id"].as_str().unwrap()).unwrap();
    assert_eq!(sealed_key_ids(&admin, id).await, (1, 1, 1));

    // Rotated: current key 2, key 1 still listed → old rows still read.
    let rotated = with(both, "2");
    let read = call(
        &rotated,
        "GET",
        &format!("/v1/patients/{id}"),
        w.a_clinician,
        None,
        &[],
    )
    .await;
    assert_eq!(read.status, 200);
    assert_eq!(read.json()["allergies"], json!(["lidocaína"]));

    // The re-encrypt task (service path) moves every sealed column to key 2…
    let cfg = crate::support::config(&[
        ("DATABASE_URL", url.as_str()),
        ("FIELD_ENCRYPTION_KEYS", both),
        ("FIELD_ENCRYPTION_CURRENT_KEY_ID", "2"),
    ]);
    let pool = neonpro::db::Db::new(&cfg.db);
    loop {
        let tx = pool.begin_service().await.unwrap();
        let n = neonpro::patients::service::reencrypt_batch(&tx, &cfg.crypto.cipher, 50)
            .await
            .unwrap();
        tx.commit().await.unwrap();
        if n == 0 {
            break;
        }
    }
    assert_eq!(sealed_key_ids(&admin, id).await, (2, 2, 2));

    // …after which key 1 can be dropped.
    let new_only = with(k2, "2");
    let read = call(
        &new_only,
        "GET",
        &format!("/v1/patients/{id}"),
        w.a_clinician,
        None,
        &[],
    )
    .await;
    assert_eq!(read.status, 200, "{}", String::from_utf8_lossy(&read.body));
    assert_eq!(read.json()["cpf"].as_str().unwrap().len(), 14);
}

/// The key id (last byte of the 4-byte big-endian id after the version byte) of three sealed
/// columns of a patient row.
async fn sealed_key_ids(admin: &tokio_postgres::Client, id: Uuid) -> (i32, i32, i32) {
    let row = admin
        .query_one(
            "select get_byte(cpf_enc, 4), get_byte(allergies_enc, 4), get_byte(clinical_notes_enc, 4) from public.patients where id = $1",
            &[&id],
        )
        .await
        .unwrap();
    (row.get(0), row.get(1), row.get(2))
}
