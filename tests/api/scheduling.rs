//! Scheduling against real PostgreSQL (`db_` tests also run through PgBouncer): the catalog,
//! database-enforced no-double-booking under concurrency (professional and room), buffers,
//! every conflict listed, working hours and audited overrides, compliance gates, the status
//! machine, reschedule with If-Match, and BOLA.

use futures::future::join_all;
use serde_json::{Value, json};
use tokio_postgres::Client;
use tokio_postgres::types::Type;
use uuid::Uuid;

pub(crate) use crate::support::call;
use crate::support::db::{self, TwoClinics};
use crate::support::{TestApp, TestResponse, url_encode};

pub(crate) fn app() -> TestApp {
    let url = db::app_url();
    TestApp::new(&[
        ("DATABASE_URL", url.as_str()),
        ("RATE_LIMIT_HEALTHCARE", "100000/900"),
        ("RATE_LIMIT_GENERAL", "100000/900"),
        ("DB_POOL_MAX", "4"),
        ("REQUEST_TIMEOUT_MS", "30000"),
        ("DB_ACQUIRE_TIMEOUT_MS", "30000"),
        ("DB_STATEMENT_TIMEOUT_MS", "30000"),
    ])
}

/// A clinic world with a bookable setup: a patient, a verified professional working every day
/// 08:00–20:00 (São Paulo) with a 15-minute buffer, a room, and a 30-minute toxin procedure.
pub(crate) struct World {
    pub(crate) w: TwoClinics,
    pub(crate) patient: Uuid,
    pub(crate) pro: Uuid,
    pub(crate) room: Uuid,
    pub(crate) toxin: Uuid,
}

pub(crate) async fn patient(admin: &Client, clinic: Uuid) -> Uuid {
    let id = Uuid::new_v4();
    db::exec(
        admin,
        "insert into public.patients (id, clinic_id, full_name, name_search, birth_date, created_by) \
         values ($1, $2, 'Paciente Teste', 'paciente teste', '1990-01-01', $1)",
        &[(&id, Type::UUID), (&clinic, Type::UUID)],
    )
    .await;
    id
}

pub(crate) async fn professional(
    admin: &Client,
    clinic: Uuid,
    status: &str,
    certs: &[&str],
) -> Uuid {
    let id = Uuid::new_v4();
    let number = (id.as_u128() % 9_000_000) as i32 + 1;
    let certs: Vec<String> = certs.iter().map(|s| (*s).to_owned()).collect();
    let verified = status == "verified";
    db::exec(
        admin,
        "insert into public.professionals (id, clinic_id, display_name, council, council_uf, council_number, \
         verification_status, verified_at, certifications, buffer_minutes) \
         values ($1, $2, 'Dra. Teste', 'CRM', 'SP', $3, $4, case when $5 then now() end, $6, 15)",
        &[
            (&id, Type::UUID),
            (&clinic, Type::UUID),
            (&number, Type::INT4),
            (&status, Type::TEXT),
            (&verified, Type::BOOL),
            (&certs, Type::TEXT_ARRAY),
        ],
    )
    .await;
    db::exec(
        admin,
        "insert into public.professional_hours (clinic_id, professional_id, weekday, start_time, end_time) \
         select $1, $2, d, '08:00', '20:00' from generate_series(0, 6) d",
        &[(&clinic, Type::UUID), (&id, Type::UUID)],
    )
    .await;
    id
}

pub(crate) async fn room(admin: &Client, clinic: Uuid) -> Uuid {
    let id = Uuid::new_v4();
    let name = format!("Sala {id}");
    db::exec(
        admin,
        "insert into public.rooms (id, clinic_id, name) values ($1, $2, $3)",
        &[
            (&id, Type::UUID),
            (&clinic, Type::UUID),
            (&name, Type::TEXT),
        ],
    )
    .await;
    id
}

pub(crate) async fn procedure(
    admin: &Client,
    clinic: Uuid,
    name: &str,
    anvisa_expires: &str,
) -> Uuid {
    let id = Uuid::new_v4();
    db::exec(
        admin,
        "insert into public.procedures (id, clinic_id, name, category, kind, duration_minutes, \
         required_certifications, anvisa_registration, anvisa_expires_on, price_cents) \
         values ($1, $2, $3, 'injectable', 'botulinum_toxin', 30, '{toxin}', '1234567890123', $4::text::date, 150000)",
        &[
            (&id, Type::UUID),
            (&clinic, Type::UUID),
            (&name, Type::TEXT),
            (&anvisa_expires, Type::TEXT),
        ],
    )
    .await;
    id
}

pub(crate) async fn world(admin: &Client) -> World {
    let w = db::two_clinics(admin).await;
    World {
        patient: patient(admin, w.a).await,
        pro: professional(admin, w.a, "verified", &["toxin"]).await,
        room: room(admin, w.a).await,
        toxin: procedure(admin, w.a, "Toxina botulínica", "2099-12-31").await,
        w,
    }
}

/// A booking body at a São Paulo local time on Monday 2030-03-04.
fn booking(w: &World, pro: Uuid, room: Option<Uuid>, local: &str) -> Value {
    json!({
        "patientId": w.patient,
        "professionalId": pro,
        "roomId": room,
        "procedureId": w.toxin,
        "startsAt": format!("2030-03-04T{local}:00-03:00"),
        "notes": "Primeira aplicação"
    })
}

pub(crate) async fn book(app: &TestApp, user: Uuid, body: Value) -> TestResponse {
    call(app, "POST", "/v1/appointments", user, Some(body), &[]).await
}

fn conflict_ids(res: &TestResponse) -> Vec<String> {
    let p = res.assert_problem(409, "appointment_conflict");
    p["conflicts"]
        .as_array()
        .unwrap_or_else(|| panic!("no conflicts list: {p}"))
        .iter()
        .map(|c| c["appointmentId"].as_str().unwrap().to_owned())
        .collect()
}

pub(crate) async fn audit_actions(admin: &Client, clinic: Uuid) -> Vec<String> {
    admin
        .query(
            "select action from public.audit_events where clinic_id = $1 order by seq",
            &[&clinic],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| r.get(0))
        .collect()
}

#[tokio::test]
async fn db_scheduling_fifty_concurrent_bookings_of_one_professional_yield_one_201_and_49_409() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let body = booking(&w, w.pro, None, "10:00");
    let results = join_all((0..50).map(|_| book(&app, w.w.a_staff, body.clone()))).await;
    let created: Vec<&TestResponse> = results.iter().filter(|r| r.status == 201).collect();
    assert_eq!(created.len(), 1, "exactly one booking wins");
    let winner = created[0].json()["id"].as_str().unwrap().to_owned();
    for r in results.iter().filter(|r| r.status != 201) {
        assert_eq!(conflict_ids(r), vec![winner.clone()]);
    }
    let n: i64 = admin
        .query_one(
            "select count(*) from public.appointments where professional_id = $1",
            &[&w.pro],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 1);
}

#[tokio::test]
async fn db_scheduling_fifty_concurrent_bookings_of_one_room_yield_one_201_and_49_409() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let mut pros = Vec::new();
    for _ in 0..50 {
        pros.push(professional(&admin, w.w.a, "verified", &["toxin"]).await);
    }
    let app = app();
    let results = join_all(
        pros.iter()
            .map(|p| book(&app, w.w.a_staff, booking(&w, *p, Some(w.room), "10:00"))),
    )
    .await;
    let created: Vec<&TestResponse> = results.iter().filter(|r| r.status == 201).collect();
    assert_eq!(created.len(), 1, "exactly one booking wins the room");
    let winner = created[0].json()["id"].as_str().unwrap().to_owned();
    for r in results.iter().filter(|r| r.status != 201) {
        assert_eq!(conflict_ids(r), vec![winner.clone()]);
        let p = r.json();
        assert_eq!(p["conflicts"][0]["resources"], json!(["room"]));
    }
}

#[tokio::test]
async fn db_scheduling_buffer_blocks_and_every_conflict_is_listed() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let other_pro = professional(&admin, w.w.a, "verified", &["toxin"]).await;
    let other_room = room(&admin, w.w.a).await;
    let app = app();

    // A: 10:00–10:30 + 15 min buffer (blocked until 10:45).
    let a = book(&app, w.w.a_staff, booking(&w, w.pro, Some(w.room), "10:00")).await;
    assert_eq!(a.status, 201, "{}", String::from_utf8_lossy(&a.body));
    let a = a.json();
    assert_eq!(a["endsAt"], "2030-03-04T13:30:00Z");
    assert_eq!(a["blockedUntil"], "2030-03-04T13:45:00Z");
    assert_eq!(a["notes"], "Primeira aplicação");
    let a_id = a["id"].as_str().unwrap().to_owned();

    // Overlaps only A's buffer → 409 naming A.
    let r = book(&app, w.w.a_staff, booking(&w, w.pro, None, "10:40")).await;
    assert_eq!(conflict_ids(&r), vec![a_id.clone()]);
    assert_eq!(
        r.json()["conflicts"][0]["resources"],
        json!(["professional"])
    );
    // Right after the buffer → fine.
    let c = book(&app, w.w.a_staff, booking(&w, w.pro, None, "10:45")).await;
    assert_eq!(c.status, 201);
    let c_id = c.json()["id"].as_str().unwrap().to_owned();

    // B: another professional in another room at 11:30–12:00.
    let b = book(
        &app,
        w.w.a_staff,
        booking(&w, other_pro, Some(other_room), "11:30"),
    )
    .await;
    assert_eq!(b.status, 201);
    let b_id = b.json()["id"].as_str().unwrap().to_owned();

    // Professional w.pro in other_room from 10:20 to 11:40 overlaps A and C (professional) and
    // B (room): all three listed.
    let mut body = booking(&w, w.pro, Some(other_room), "10:20");
    body["endsAt"] = json!("2030-03-04T11:40:00-03:00");
    let r = book(&app, w.w.a_staff, body).await;
    let mut ids = conflict_ids(&r);
    ids.sort();
    let mut want = vec![a_id, b_id.clone(), c_id];
    want.sort();
    assert_eq!(ids, want);
    let p = r.json();
    let b_entry = p["conflicts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["appointmentId"] == b_id)
        .unwrap()
        .clone();
    assert_eq!(b_entry["resources"], json!(["room"]));
}

#[tokio::test]
async fn db_scheduling_working_hours_time_off_and_audited_admin_override() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();

    // 07:00 São Paulo is before the 08:00 opening.
    let early = booking(&w, w.pro, None, "07:00");
    book(&app, w.w.a_staff, early.clone())
        .await
        .assert_problem(409, "outside_working_hours");
    let mut with_override = early.clone();
    with_override["override"] = json!({ "reason": "Encaixe autorizado pela direção" });
    book(&app, w.w.a_staff, with_override.clone())
        .await
        .assert_problem(403, "override_forbidden");
    let ok = book(&app, w.w.a_admin, with_override).await;
    assert_eq!(ok.status, 201, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(ok.json()["overridden"], true);
    let actions = audit_actions(&admin, w.w.a).await;
    assert!(
        actions.contains(&"appointment.override".to_owned()),
        "{actions:?}"
    );
    let details: Value = admin
        .query_one(
            "select details from public.audit_events where clinic_id = $1 and action = 'appointment.override'",
            &[&w.w.a],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(details["rules"], json!(["outside_working_hours"]));
    // The typed reason is not in the append-only audit trail: the event names a sealed row.
    assert!(details.get("reason").is_none(), "{details}");
    assert!(!details.to_string().contains("Encaixe"));
    let override_id: Uuid = details["overrideId"].as_str().unwrap().parse().unwrap();
    let row = admin
        .query_one(
            "select kind, rule_ids, reason_enc, appointment_id, created_by \
             from public.appointment_overrides where id = $1",
            &[&override_id],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "schedule");
    assert_eq!(row.get::<_, Vec<String>>(1), vec!["outside_working_hours"]);
    let sealed: Vec<u8> = row.get(2);
    assert!(
        !sealed
            .windows("Encaixe".len())
            .any(|w| w == "Encaixe".as_bytes()),
        "the reason is encrypted at rest"
    );
    assert_eq!(
        row.get::<_, Uuid>(3).to_string(),
        ok.json()["id"].as_str().unwrap()
    );
    assert_eq!(row.get::<_, Uuid>(4), w.w.a_admin);
    // Admins and clinicians of the clinic may read it; staff and the other clinic may not.
    for (user, visible) in [
        (w.w.a_admin, 1_i64),
        (w.w.a_clinician, 1),
        (w.w.a_staff, 0),
        (w.w.b_admin, 0),
    ] {
        let c = db::connect(&db::app_url()).await;
        db::begin_as(&c, user).await;
        let n: i64 = c
            .query_one(
                "select count(*) from public.appointment_overrides where id = $1",
                &[&override_id],
            )
            .await
            .unwrap()
            .get(0);
        c.batch_execute("rollback").await.unwrap();
        assert_eq!(n, visible, "user {user}");
    }

    // Time off 14:00–16:00 local.
    let off = call(
        &app,
        "POST",
        &format!("/v1/professionals/{}/time-off", w.pro),
        w.w.a_admin,
        Some(json!({"startsAt": "2030-03-04T14:00:00-03:00", "endsAt": "2030-03-04T16:00:00-03:00", "reason": "congress"})),
        &[],
    )
    .await;
    assert_eq!(off.status, 201, "{}", String::from_utf8_lossy(&off.body));
    book(&app, w.w.a_staff, booking(&w, w.pro, None, "15:00"))
        .await
        .assert_problem(409, "professional_time_off");
}

#[tokio::test]
async fn db_scheduling_compliance_gates_refuse_with_422() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let pending = professional(&admin, w.w.a, "pending", &["toxin"]).await;
    book(&app, w.w.a_staff, booking(&w, pending, None, "10:00"))
        .await
        .assert_problem(422, "professional_not_verified");
    let uncertified = professional(&admin, w.w.a, "verified", &[]).await;
    let p = book(&app, w.w.a_staff, booking(&w, uncertified, None, "10:00"))
        .await
        .assert_problem(422, "missing_certification");
    assert_eq!(p["missing"], json!(["toxin"]));
    let expired = procedure(&admin, w.w.a, "Toxina vencida", "2030-03-01").await;
    let mut body = booking(&w, w.pro, None, "10:00");
    body["procedureId"] = json!(expired);
    book(&app, w.w.a_staff, body)
        .await
        .assert_problem(422, "anvisa_registration_expired");
    // A naive local time (no offset) is malformed input, not a 500.
    let mut naive = booking(&w, w.pro, None, "10:00");
    naive["startsAt"] = json!("2030-03-04T10:00:00");
    assert_eq!(book(&app, w.w.a_staff, naive).await.status, 400);
    // Unknown patient → 422 on the field.
    let mut ghost = booking(&w, w.pro, None, "10:00");
    ghost["patientId"] = json!(Uuid::new_v4());
    book(&app, w.w.a_staff, ghost)
        .await
        .assert_problem(422, "validation_failed");
}

#[tokio::test]
async fn db_scheduling_status_machine_reschedule_and_bola() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let a = book(&app, w.w.a_staff, booking(&w, w.pro, Some(w.room), "10:00")).await;
    assert_eq!(a.status, 201);
    let id = a.json()["id"].as_str().unwrap().to_owned();
    let path = format!("/v1/appointments/{id}");
    let status_path = format!("{path}/status");
    let status = |s: Value| call(&app, "POST", &status_path, w.w.a_staff, Some(s), &[]);

    // scheduled → completed is not a move of the machine.
    status(json!({"status": "completed"}))
        .await
        .assert_problem(409, "invalid_status_transition");

    // Reschedule: If-Match required, stale refused, then applied.
    let move_to = json!({"startsAt": "2030-03-04T11:00:00-03:00"});
    call(
        &app,
        "PATCH",
        &path,
        w.w.a_staff,
        Some(move_to.clone()),
        &[],
    )
    .await
    .assert_problem(428, "if_match_required");
    call(
        &app,
        "PATCH",
        &path,
        w.w.a_staff,
        Some(move_to.clone()),
        &[("if-match", "\"9\"")],
    )
    .await
    .assert_problem(412, "stale_version");
    let moved = call(
        &app,
        "PATCH",
        &path,
        w.w.a_staff,
        Some(move_to),
        &[("if-match", "\"1\"")],
    )
    .await;
    assert_eq!(
        moved.status,
        200,
        "{}",
        String::from_utf8_lossy(&moved.body)
    );
    assert_eq!(moved.json()["startsAt"], "2030-03-04T14:00:00Z");
    assert_eq!(moved.header("etag"), Some("\"2\""));
    // The old slot is free again.
    assert_eq!(
        book(&app, w.w.a_staff, booking(&w, w.pro, None, "10:00"))
            .await
            .status,
        201
    );

    // Another clinic's admin: 404 everywhere.
    assert_eq!(
        call(&app, "GET", &path, w.w.b_admin, None, &[])
            .await
            .status,
        404
    );
    assert_eq!(
        call(
            &app,
            "POST",
            &format!("{path}/status"),
            w.w.b_admin,
            Some(json!({"status": "confirmed"})),
            &[]
        )
        .await
        .status,
        404
    );
    assert_eq!(
        call(
            &app,
            "PATCH",
            &path,
            w.w.b_admin,
            Some(json!({"startsAt": "2030-03-04T12:00:00-03:00"})),
            &[("if-match", "\"2\"")]
        )
        .await
        .status,
        404
    );

    // confirmed → in_progress → completed; then nothing more.
    for s in ["confirmed", "in_progress", "completed"] {
        let r = status(json!({"status": s})).await;
        assert_eq!(r.status, 200, "{s}: {}", String::from_utf8_lossy(&r.body));
        assert_eq!(r.json()["status"], s);
    }
    call(
        &app,
        "POST",
        &format!("{path}/cancel"),
        w.w.a_staff,
        Some(json!({"reason": "patient_request"})),
        &[],
    )
    .await
    .assert_problem(409, "invalid_status_transition");

    // Cancelling frees the slot.
    let b = book(&app, w.w.a_staff, booking(&w, w.pro, None, "16:00")).await;
    let b_id = b.json()["id"].as_str().unwrap().to_owned();
    let c = call(
        &app,
        "POST",
        &format!("/v1/appointments/{b_id}/cancel"),
        w.w.a_staff,
        Some(json!({"reason": "patient_request"})),
        &[],
    )
    .await;
    assert_eq!(c.status, 200);
    assert_eq!(c.json()["cancelReason"], "patient_request");
    assert_eq!(
        book(&app, w.w.a_staff, booking(&w, w.pro, None, "16:00"))
            .await
            .status,
        201
    );

    let actions = audit_actions(&admin, w.w.a).await;
    for a in [
        "appointment.create",
        "appointment.reschedule",
        "appointment.status",
        "appointment.cancel",
    ] {
        assert!(actions.iter().any(|x| x == a), "{a} missing in {actions:?}");
    }

    // Lists: filters by professional and status; the patient-role member sees nothing of others.
    let list = call(
        &app,
        "GET",
        &format!("/v1/appointments?professionalId={}&status=scheduled&from=2030-03-04T00:00:00Z&to=2030-03-05T00:00:00Z", w.pro),
        w.w.a_staff,
        None,
        &[],
    )
    .await;
    assert_eq!(list.status, 200);
    let items = list.json()["items"].as_array().unwrap().clone();
    assert_eq!(items.len(), 2);
    assert!(items.iter().all(|i| i["status"] == "scheduled"));
    let mine = call(&app, "GET", "/v1/appointments", w.w.a_patient, None, &[]).await;
    assert_eq!(mine.status, 200);
    assert_eq!(mine.json()["items"], json!([]));
}

#[tokio::test]
async fn db_scheduling_catalog_crud_is_admin_only_and_clinic_scoped() {
    let admin = db::admin().await;
    let w = db::two_clinics(&admin).await;
    let app = app();
    let pro = json!({
        "displayName": "Dra. Helena Souza", "council": "crm", "councilUf": "sp", "councilNumber": "012.345",
        "rqe": ["54321"], "verificationStatus": "verified", "certifications": ["Toxin", "ha_filler"],
        "bufferMinutes": 10, "workingHours": [{"weekday": 1, "start": "08:00", "end": "12:00"}]
    });
    call(
        &app,
        "POST",
        "/v1/professionals",
        w.a_staff,
        Some(pro.clone()),
        &[],
    )
    .await
    .assert_problem(403, "insufficient_role");
    let created = call(
        &app,
        "POST",
        "/v1/professionals",
        w.a_admin,
        Some(pro.clone()),
        &[],
    )
    .await;
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let p = created.json();
    assert_eq!(p["registration"], "CRM/SP 12345");
    assert_eq!(p["certifications"], json!(["ha_filler", "toxin"]));
    assert!(p["verifiedAt"].is_string());
    assert_eq!(p["workingHours"][0]["start"], "08:00");
    let id = p["id"].as_str().unwrap().to_owned();
    call(
        &app,
        "POST",
        "/v1/professionals",
        w.a_admin,
        Some(pro.clone()),
        &[],
    )
    .await
    .assert_problem(409, "professional_already_registered");

    let mut suspended = pro.clone();
    suspended["verificationStatus"] = json!("suspended");
    let upd = call(
        &app,
        "PUT",
        &format!("/v1/professionals/{id}"),
        w.a_admin,
        Some(suspended),
        &[("if-match", "\"1\"")],
    )
    .await;
    assert_eq!(upd.status, 200, "{}", String::from_utf8_lossy(&upd.body));
    assert_eq!(upd.json()["verificationStatus"], "suspended");

    let bad = call(&app, "POST", "/v1/procedures", w.a_admin, Some(json!({
        "name": "X", "category": "laser", "durationMinutes": 30, "priceCents": 100, "anvisaRegistration": "7123"
    })), &[]).await;
    bad.assert_problem(422, "validation_failed");
    let proc_ = call(&app, "POST", "/v1/procedures", w.a_admin, Some(json!({
        "name": "Bioestimulador PLLA", "category": "injectable", "kind": "biostimulator", "durationMinutes": 45,
        "sessionCount": 3, "minIntervalDays": 28, "maxIntervalDays": 56, "requiredCertifications": ["injectables"],
        "allowedCouncils": ["CRM", "cro"], "anvisaRegistration": "8.0000.0000.01", "anvisaExpiresOn": "2031-01-01",
        "priceCents": 250000
    })), &[]).await;
    assert_eq!(
        proc_.status,
        201,
        "{}",
        String::from_utf8_lossy(&proc_.body)
    );
    assert_eq!(proc_.json()["anvisaRegistration"], "80000000001");
    let room = call(
        &app,
        "POST",
        "/v1/rooms",
        w.a_admin,
        Some(json!({"name": "Sala Laser", "kind": "device"})),
        &[],
    )
    .await;
    assert_eq!(room.status, 201);

    for path in ["/v1/professionals", "/v1/procedures", "/v1/rooms"] {
        let staff = call(&app, "GET", path, w.a_staff, None, &[]).await;
        assert_eq!(staff.status, 200);
        assert_eq!(staff.json()["items"].as_array().unwrap().len(), 1, "{path}");
        let other = call(&app, "GET", path, w.b_admin, None, &[]).await;
        assert_eq!(other.json()["items"], json!([]), "{path}");
        call(&app, "GET", path, w.a_patient, None, &[])
            .await
            .assert_problem(403, "insufficient_role");
    }
    assert_eq!(
        call(
            &app,
            "GET",
            &format!("/v1/professionals/{id}"),
            w.b_admin,
            None,
            &[]
        )
        .await
        .status,
        404
    );
}

/// Property-style: over random calendars (fixed seed), every slot availability offers is
/// accepted by booking (each accepted booking is cancelled again so the calendar stays put).
#[tokio::test]
async fn db_scheduling_availability_never_offers_a_slot_that_booking_rejects() {
    use rand::{Rng, SeedableRng};
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let mut rng = rand::rngs::StdRng::seed_from_u64(20_261_203);
    for round in 0..3 {
        let pro = professional(&admin, w.w.a, "verified", &["toxin"]).await;
        let other = professional(&admin, w.w.a, "verified", &["toxin"]).await;
        let day = format!("2030-03-{:02}", 11 + round);
        // Random existing bookings for this professional and, in the room, for another one.
        for _ in 0..6 {
            let minute = rng.random_range(0..(12 * 4)) * 15 + rng.random_range(0..3) * 5;
            let (h, m) = (8 + minute / 60, minute % 60);
            let who = if rng.random_bool(0.5) { pro } else { other };
            let mut body = booking(&w, who, Some(w.room), "10:00");
            body["startsAt"] = json!(format!("{day}T{h:02}:{m:02}:00-03:00"));
            let _ = book(&app, w.w.a_staff, body).await; // conflicts are fine: random calendar
        }
        // Random time off of one to two hours.
        let off_h = rng.random_range(9..17);
        let r = call(
            &app,
            "POST",
            &format!("/v1/professionals/{pro}/time-off"),
            w.w.a_admin,
            Some(json!({
                "startsAt": format!("{day}T{off_h:02}:00:00-03:00"),
                "endsAt": format!("{day}T{:02}:30:00-03:00", off_h + 1),
            })),
            &[],
        )
        .await;
        assert_eq!(r.status, 201);

        let avail = call(
            &app,
            "GET",
            &format!(
                "/v1/availability?procedure={}&professional={pro}&room={}&from={day}T00:00:00-03:00&to={day}T23:59:00-03:00",
                w.toxin, w.room
            )
            .replace('+', "%2B"),
            w.w.a_staff,
            None,
            &[],
        )
        .await;
        assert_eq!(
            avail.status,
            200,
            "{}",
            String::from_utf8_lossy(&avail.body)
        );
        let slots: Vec<String> = avail.json()["slots"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_str().unwrap().to_owned())
            .collect();
        assert!(!slots.is_empty(), "round {round}: some slot should be free");
        for s in &slots {
            let mut body = booking(&w, pro, Some(w.room), "10:00");
            body["startsAt"] = json!(s);
            let r = book(&app, w.w.a_staff, body).await;
            assert_eq!(
                r.status,
                201,
                "offered {s} but booking said {}",
                String::from_utf8_lossy(&r.body)
            );
            let id = r.json()["id"].as_str().unwrap().to_owned();
            let c = call(
                &app,
                "POST",
                &format!("/v1/appointments/{id}/cancel"),
                w.w.a_staff,
                Some(json!({"reason": "other"})),
                &[],
            )
            .await;
            assert_eq!(c.status, 200);
        }
        // And one slot not offered (08:00 is offered unless taken; 07:45 never is).
        assert!(!slots.iter().any(|s| s.ends_with("T10:45:00Z")));
    }
}

/// tRPC body of one call (`GET` with `input` for queries, `POST` for mutations).
async fn trpc(app: &TestApp, user: Uuid, path: &str, mutation: bool, input: Value) -> TestResponse {
    if mutation {
        call(
            app,
            "POST",
            &format!("/trpc/{path}"),
            user,
            Some(input),
            &[],
        )
        .await
    } else {
        let q = url_encode(&input.to_string());
        call(
            app,
            "GET",
            &format!("/trpc/{path}?input={q}"),
            user,
            None,
            &[],
        )
        .await
    }
}

#[tokio::test]
async fn db_scheduling_trpc_procedures_call_the_same_services_as_rest() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let user = w.w.a_clinician;

    // The same availability through both surfaces.
    let window = json!({
        "procedure": w.toxin, "professional": w.pro,
        "from": "2030-03-04T11:00:00Z", "to": "2030-03-05T11:00:00Z"
    });
    let res = trpc(
        &app,
        user,
        "appointments.checkAvailability",
        false,
        window.clone(),
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let via_trpc = res.json()["result"]["data"].clone();
    let rest = call(
        &app,
        "GET",
        &format!(
            "/v1/availability?procedure={}&professional={}&from=2030-03-04T11:00:00Z&to=2030-03-05T11:00:00Z",
            w.toxin, w.pro
        ),
        user,
        None,
        &[],
    )
    .await;
    assert_eq!(rest.status, 200);
    assert_eq!(via_trpc, rest.json());
    assert_eq!(via_trpc["slots"][0], "2030-03-04T11:00:00Z");

    // Book through tRPC; REST reads the same appointment and body.
    let res = trpc(
        &app,
        user,
        "appointments.schedule",
        true,
        booking(&w, w.pro, Some(w.room), "09:00"),
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let a = res.json()["result"]["data"].clone();
    let id = a["id"].as_str().unwrap().to_owned();
    assert_eq!(a["status"], "scheduled");
    assert_eq!(a["notes"], "Primeira aplicação");
    let rest = call(
        &app,
        "GET",
        &format!("/v1/appointments/{id}"),
        user,
        None,
        &[],
    )
    .await;
    assert_eq!(rest.status, 200);
    let mut booked = a.clone();
    assert_eq!(
        booked.as_object_mut().unwrap().remove("warnings"),
        Some(json!([]))
    );
    assert_eq!(rest.json(), booked);

    // A double booking is CONFLICT with every blocking appointment in `data.details`.
    let res = trpc(
        &app,
        user,
        "appointments.schedule",
        true,
        booking(&w, w.pro, Some(w.room), "09:15"),
    )
    .await;
    assert_eq!(res.status, 409);
    let e = res.json()["error"].clone();
    assert_eq!(e["code"], -32009);
    assert_eq!(e["data"]["code"], "CONFLICT");
    assert_eq!(e["data"]["apiCode"], "appointment_conflict");
    assert_eq!(e["data"]["details"]["conflicts"][0]["appointmentId"], id);

    // Reschedule with the version (REST's If-Match), then a stale version is PRECONDITION_FAILED.
    let res = trpc(
        &app,
        user,
        "appointments.reschedule",
        true,
        json!({ "id": id, "version": 1, "patch": { "startsAt": "2030-03-04T10:00:00-03:00" } }),
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json()["result"]["data"]["version"], 2);
    let res = trpc(
        &app,
        user,
        "appointments.reschedule",
        true,
        json!({ "id": id, "version": 1, "patch": { "startsAt": "2030-03-04T11:00:00-03:00" } }),
    )
    .await;
    assert_eq!(res.status, 412);
    assert_eq!(res.json()["error"]["data"]["code"], "PRECONDITION_FAILED");

    // Status machine: completing a scheduled appointment is a CONFLICT; confirm is fine.
    let res = trpc(
        &app,
        user,
        "appointments.updateStatus",
        true,
        json!({ "id": id, "status": "completed" }),
    )
    .await;
    assert_eq!(res.status, 409);
    let res = trpc(
        &app,
        user,
        "appointments.updateStatus",
        true,
        json!({ "id": id, "status": "confirmed" }),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["result"]["data"]["status"], "confirmed");

    // list, cancel, catalog reads.
    let res = trpc(
        &app,
        user,
        "appointments.list",
        false,
        json!({ "professionalId": w.pro }),
    )
    .await;
    assert_eq!(res.status, 200);
    let items = res.json()["result"]["data"]["items"].clone();
    assert_eq!(items.as_array().unwrap().len(), 1);
    let res = trpc(
        &app,
        user,
        "appointments.cancel",
        true,
        json!({ "id": id, "reason": "patient_request" }),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(res.json()["result"]["data"]["status"], "cancelled");
    let res = trpc(
        &app,
        user,
        "professionals.get",
        false,
        json!({ "id": w.pro }),
    )
    .await;
    assert_eq!(res.status, 200);
    assert_eq!(
        res.json()["result"]["data"]["certifications"],
        json!(["toxin"])
    );
    let res = call(
        &app,
        "GET",
        "/trpc/aestheticScheduling.getProcedures",
        user,
        None,
        &[],
    )
    .await;
    assert_eq!(res.status, 200);
    assert!(
        res.json()["result"]["data"]["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == json!(w.toxin))
    );

    // Another clinic's member sees none of it.
    let res = trpc(
        &app,
        w.w.b_staff,
        "appointments.get",
        false,
        json!({ "id": id }),
    )
    .await;
    assert_eq!(res.status, 404);
    let res = trpc(
        &app,
        w.w.b_staff,
        "professionals.get",
        false,
        json!({ "id": w.pro }),
    )
    .await;
    assert_eq!(res.status, 404);
}

/// `scripts/bench`: booking and availability for a professional with 500 existing appointments,
/// through the whole in-process pipeline (token, RLS transaction, rules, exclusion constraints,
/// audit). Prints `BENCH` lines; asserts only correctness.
#[tokio::test]
#[ignore]
async fn bench_scheduling_booking_and_availability_with_500_appointments() {
    use std::time::Instant;
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    // 500 appointments, 16 a day (08:00–20:00 local, 30 min + 15 min buffer) from 2031-01-06.
    db::exec(
        &admin,
        "insert into public.appointments (clinic_id, patient_id, professional_id, procedure_id, \
         starts_at, ends_at, blocked_until, type, status, created_by) \
         select $1, $2, $3, $4, t, t + interval '30 minutes', t + interval '45 minutes', \
                'in_person', 'scheduled', $2 \
         from (select ((date '2031-01-06' + d) + time '08:00' + k * interval '45 minutes') \
                      at time zone 'America/Sao_Paulo' as t \
               from generate_series(0, 40) d, generate_series(0, 15) k \
               order by 1 limit 500) s",
        &[
            (&w.w.a, Type::UUID),
            (&w.patient, Type::UUID),
            (&w.pro, Type::UUID),
            (&w.toxin, Type::UUID),
        ],
    )
    .await;
    let n: i64 = admin
        .query_one(
            "select count(*) from public.appointments where professional_id = $1",
            &[&w.pro],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(n, 500);
    // What autovacuum does after a bulk change: without statistics the planner takes the
    // table for empty and probes the exclusion index by professional only (10× slower).
    admin
        .batch_execute("analyze public.appointments")
        .await
        .unwrap();
    let user = w.w.a_clinician;

    // Availability: a 14-day window over the busy calendar (and the free days after it).
    let path = format!(
        "/v1/availability?procedure={}&professional={}&from=2031-01-25T03:00:00Z&to=2031-02-08T03:00:00Z",
        w.toxin, w.pro
    );
    for _ in 0..10 {
        assert_eq!(call(&app, "GET", &path, user, None, &[]).await.status, 200);
    }
    let mut avail = Vec::new();
    let mut slots = 0;
    for _ in 0..200 {
        let t = Instant::now();
        let res = call(&app, "GET", &path, user, None, &[]).await;
        avail.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(res.status, 200);
        slots = res.json()["slots"].as_array().unwrap().len();
    }
    assert!(slots > 0);
    crate::bench::report(
        "availability_14_days_500_appointments",
        crate::bench::percentiles(avail),
    );

    // Booking: 200 bookings into free slots after the busy period (each checked against the
    // 500 by the exclusion constraints), one at a time.
    let mut book_us = Vec::new();
    for i in 0..200i64 {
        let day = 45 + i / 16;
        let minutes = 8 * 60 + (i % 16) * 45;
        let starts = chrono::NaiveDate::from_ymd_opt(2031, 1, 6)
            .unwrap()
            .and_hms_opt(0, 0, 0)
            .unwrap()
            + chrono::Duration::days(day)
            + chrono::Duration::minutes(minutes);
        let body = json!({
            "patientId": w.patient, "professionalId": w.pro, "procedureId": w.toxin,
            "startsAt": format!("{}-03:00", starts.format("%Y-%m-%dT%H:%M:%S")),
        });
        let t = Instant::now();
        let res = book(&app, user, body).await;
        book_us.push(t.elapsed().as_secs_f64() * 1e6);
        assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    }
    crate::bench::report(
        "booking_with_500_appointments",
        crate::bench::percentiles(book_us),
    );
}

/// A booking without a room onto a professional's slot held by a booking with a room: the
/// conflict list names the professional (the room column is NULL on one side, never a 500).
#[tokio::test]
async fn db_scheduling_conflict_without_a_room_against_one_with_a_room_is_409() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let first = book(&app, w.w.a_staff, booking(&w, w.pro, Some(w.room), "10:00")).await;
    assert_eq!(first.status, 201);
    let id = first.json()["id"].as_str().unwrap().to_owned();
    let res = book(&app, w.w.a_staff, booking(&w, w.pro, None, "10:00")).await;
    assert_eq!(conflict_ids(&res), vec![id]);
    assert_eq!(
        res.json()["conflicts"][0]["resources"],
        json!(["professional"])
    );
}

/// Restricting a patient (LGPD blocking) cancels their future appointments in the same
/// transaction — the slot is free again — and hides their appointments like the record.
#[tokio::test]
async fn db_scheduling_restricting_a_patient_cancels_future_appointments_and_frees_the_slot() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let first = book(&app, w.w.a_staff, booking(&w, w.pro, Some(w.room), "11:00")).await;
    assert_eq!(first.status, 201);
    let id = first.json()["id"].as_str().unwrap().to_owned();

    let res = call(
        &app,
        "DELETE",
        &format!("/v1/patients/{}", w.patient),
        w.w.a_admin,
        None,
        &[],
    )
    .await;
    assert_eq!(res.status, 204, "{}", String::from_utf8_lossy(&res.body));
    let row = admin
        .query_one(
            "select status, cancel_reason from public.appointments where id = $1",
            &[&id.parse::<Uuid>().unwrap()],
        )
        .await
        .unwrap();
    assert_eq!(row.get::<_, String>(0), "cancelled");
    assert_eq!(row.get::<_, String>(1), "patient_restricted");
    assert!(
        audit_actions(&admin, w.w.a)
            .await
            .contains(&"appointment.cancel".to_owned())
    );

    // Out of normal use: 404 and absent from lists.
    call(
        &app,
        "GET",
        &format!("/v1/appointments/{id}"),
        w.w.a_admin,
        None,
        &[],
    )
    .await
    .assert_problem(404, "not_found");
    let list = call(
        &app,
        "GET",
        &format!("/v1/appointments?professionalId={}", w.pro),
        w.w.a_admin,
        None,
        &[],
    )
    .await;
    assert_eq!(list.status, 200);
    assert_eq!(list.json()["items"], json!([]));

    // The slot is free for another patient.
    let other = patient(&admin, w.w.a).await;
    let mut again = booking(&w, w.pro, Some(w.room), "11:00");
    again["patientId"] = json!(other);
    let res = book(&app, w.w.a_staff, again).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
}

/// Shape errors name the field at fault (never the value): a time without an offset, a bad
/// UUID, a field nested in a plan session.
#[tokio::test]
async fn db_scheduling_shape_errors_name_the_field() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let mut no_offset = booking(&w, w.pro, None, "10:00");
    no_offset["startsAt"] = json!("2030-03-04T10:00:00");
    let mut bad_uuid = booking(&w, w.pro, None, "10:00");
    bad_uuid["patientId"] = json!("not-a-uuid");
    for (path, body, field) in [
        ("/v1/appointments", no_offset, "startsAt"),
        ("/v1/appointments", bad_uuid, "patientId"),
        (
            "/v1/treatment-plans",
            json!({ "patientId": w.patient, "sessions": [{ "procedureId": w.toxin, "sessionNumber": 1,
                    "professionalId": w.pro, "startsAt": "2030-03-04T10:00:00" }] }),
            "sessions[0].startsAt",
        ),
    ] {
        let res = call(&app, "POST", path, w.w.a_staff, Some(body), &[]).await;
        let p = res.assert_problem(400, "invalid_body");
        assert_eq!(p["errors"][0]["field"], field, "{p}");
        assert!(!p.to_string().contains("not-a-uuid"));
    }
}
