//! Contraindication checks and treatment plans against real PostgreSQL: every seeded rule has a
//! positive and a negative case (table-driven over the rules actually in the database), the
//! check endpoint reads facts from the encrypted record, booking is blocked / overridden /
//! warned, and multi-session plans honour intervals, all-or-nothing writes and local time.

use chrono::{Duration, NaiveDate, Utc};
use neonpro::scheduling::ProcedureRow;
use neonpro::scheduling::contraindications::{
    ConditionDef, Facts, PastProcedure, Rule, RuleSet, TextFact, evaluate,
};
use serde_json::{Value, json};
use tokio_postgres::Client;
use tokio_postgres::types::Type;
use uuid::Uuid;

use crate::scheduling::{World, app, audit_actions, book, call, world};
use crate::support::TestApp;
use crate::support::db;

async fn rule_set(admin: &Client) -> RuleSet {
    let conditions = admin
        .query(
            "select code, fact, sources, keywords, threshold, label_pt, label_en from public.contraindication_conditions",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| ConditionDef {
            code: r.get(0),
            fact: r.get(1),
            sources: r.get(2),
            keywords: r.get(3),
            threshold: r.get(4),
            label_pt: r.get(5),
            label_en: r.get(6),
        })
        .collect();
    let rules = admin
        .query(
            "select id, condition, procedure_kinds, procedure_categories, severity, washout_days, reason_pt, reason_en, source \
             from public.contraindication_rules order by id",
            &[],
        )
        .await
        .unwrap()
        .iter()
        .map(|r| Rule {
            id: r.get(0),
            condition: r.get(1),
            procedure_kinds: r.get(2),
            procedure_categories: r.get(3),
            severity: r.get(4),
            washout_days: r.get(5),
            reason_pt: r.get(6),
            reason_en: r.get(7),
            source: r.get(8),
        })
        .collect();
    RuleSet { conditions, rules }
}

fn procedure_row(kind: Option<&str>, category: &str) -> ProcedureRow {
    let now = Utc::now();
    ProcedureRow {
        id: Uuid::new_v4(),
        name: "P".into(),
        category: category.into(),
        kind: kind.map(str::to_owned),
        duration_minutes: 30,
        buffer_after_minutes: 0,
        session_count: 1,
        min_interval_days: None,
        max_interval_days: None,
        recovery_days: 0,
        touch_up_window_days: None,
        required_certifications: vec![],
        allowed_councils: vec![],
        anvisa_registration: None,
        anvisa_expires_on: None,
        price_cents: 0,
        active: true,
        version: 1,
        created_at: now,
        updated_at: now,
    }
}

/// An upper-case, accented variant of a keyword as a person would type it.
fn as_typed(keyword: &str) -> String {
    let s = keyword
        .replacen("acido", "Ácido", 1)
        .replacen("ina", "ína", 1);
    format!("{} (uso contínuo)", s.to_uppercase())
}

/// Facts under which `cond` holds on `on` (for washout rules, `washout` days back).
fn positive_facts(cond: &ConditionDef, on: NaiveDate, washout: Option<i32>) -> Facts {
    let mut f = Facts {
        birth_date: Some(NaiveDate::from_ymd_opt(1990, 1, 1).unwrap()),
        ..Facts::default()
    };
    match cond.fact.as_str() {
        "pregnancy_status" => f.pregnancy_status = Some(cond.keywords[0].clone()),
        "text" => {
            let source = match cond.sources[0].as_str() {
                "conditions" => "conditions",
                "medications" => "medications",
                _ => "allergies",
            };
            f.texts
                .push(TextFact::ongoing(source, &as_typed(&cond.keywords[0])));
        }
        "age_under" => {
            f.birth_date = Some(on - Duration::days(365 * i64::from(cond.threshold.unwrap()) - 30))
        }
        "recent_procedure" => f.recent.push(PastProcedure {
            kind: Some(cond.keywords[0].clone()),
            category: "injectable".into(),
            local_date: on - Duration::days(i64::from(washout.unwrap()) - 1),
        }),
        other => panic!("unknown fact {other}"),
    }
    f
}

#[tokio::test]
async fn db_every_seeded_contraindication_rule_fires_on_its_fact_and_not_without_it() {
    let admin = db::admin().await;
    let set = rule_set(&admin).await;
    assert!(
        set.rules.len() >= 20,
        "the seed has the domain.md §5.10 rules"
    );
    let on = NaiveDate::from_ymd_opt(2030, 3, 4).unwrap();
    for rule in &set.rules {
        assert!(!rule.source.trim().is_empty(), "{}: no source", rule.id);
        let cond = set
            .conditions
            .iter()
            .find(|c| c.code == rule.condition)
            .unwrap();
        let proc_ = match rule.procedure_kinds.first() {
            Some(k) => procedure_row(Some(k), "injectable"),
            None => procedure_row(None, &rule.procedure_categories[0]),
        };
        let fired = |facts: &Facts, p: &ProcedureRow| {
            let a = evaluate(&set, facts, p, on);
            let bucket = match rule.severity.as_str() {
                "absolute" => &a.absolute,
                "washout" => &a.washouts,
                _ => &a.relative,
            };
            bucket.iter().find(|f| f.rule_id == rule.id).cloned()
        };
        // Positive: the fact, as typed in the record (case, accents), on a covered procedure.
        let pos = positive_facts(cond, on, rule.washout_days);
        let finding = fired(&pos, &proc_)
            .unwrap_or_else(|| panic!("{} does not fire on its own fact", rule.id));
        assert_eq!(finding.condition, rule.condition);
        if cond.fact == "recent_procedure" {
            let expected = on - Duration::days(i64::from(rule.washout_days.unwrap()) - 1)
                + Duration::days(i64::from(rule.washout_days.unwrap()));
            assert_eq!(finding.until, Some(expected), "{}", rule.id);
        }
        // Negative 1: a patient without the fact.
        let neg = Facts {
            birth_date: Some(NaiveDate::from_ymd_opt(1990, 1, 1).unwrap()),
            pregnancy_status: Some("not_pregnant".into()),
            texts: vec![
                TextFact::ongoing("conditions", "Rosácea"),
                TextFact::ongoing("medications", "Vitamina D"),
                TextFact::ongoing("allergies", "Dipirona"),
            ],
            ..Facts::default()
        };
        assert!(
            fired(&neg, &proc_).is_none(),
            "{} fires without its fact",
            rule.id
        );
        // Negative 2: the fact, on a procedure the rule does not cover.
        let other = procedure_row(Some("other_kind"), "facial");
        assert!(
            fired(&pos, &other).is_none(),
            "{} fires on an uncovered procedure",
            rule.id
        );
        // Negative 3 (washouts from recent procedures): the window is over.
        if cond.fact == "recent_procedure" {
            let mut old = pos.clone();
            old.recent[0].local_date = on - Duration::days(i64::from(rule.washout_days.unwrap()));
            assert!(
                fired(&old, &proc_).is_none(),
                "{} fires after its window",
                rule.id
            );
        }
        // Dated facts (patient_clinical_facts): ended facts stop counting — at once for
        // absolute/relative rules, after the washout for washout rules; a fact that starts
        // later does not count yet; a fact coded with the condition counts whatever its words.
        if matches!(cond.fact.as_str(), "text" | "pregnancy_status") {
            let source = cond
                .sources
                .first()
                .map_or("conditions", |s| match s.as_str() {
                    "medications" => "medications",
                    "allergies" => "allergies",
                    _ => "conditions",
                });
            let dated = |text: &str, code: Option<&str>, start: Option<i64>, end: Option<i64>| {
                let mut t = TextFact::ongoing(source, text);
                t.code = code.map(str::to_owned);
                t.started_on = start.map(|d| on + Duration::days(d));
                t.ended_on = end.map(|d| on + Duration::days(d));
                Facts {
                    birth_date: Some(NaiveDate::from_ymd_opt(1990, 1, 1).unwrap()),
                    texts: vec![t],
                    ..Facts::default()
                }
            };
            let coded = dated(
                "texto livre sem palavra-chave",
                Some(&rule.condition),
                None,
                None,
            );
            assert!(fired(&coded, &proc_).is_some(), "{}: coded fact", rule.id);
            let later = dated("x", Some(&rule.condition), Some(1), None);
            assert!(fired(&later, &proc_).is_none(), "{}: future fact", rule.id);
            match rule.washout_days {
                Some(days) => {
                    let days = i64::from(days);
                    let inside = dated("x", Some(&rule.condition), None, Some(1 - days));
                    let f = fired(&inside, &proc_).unwrap_or_else(|| panic!("{}", rule.id));
                    assert_eq!(f.until, Some(on + Duration::days(1)), "{}", rule.id);
                    let over = dated("x", Some(&rule.condition), None, Some(-days));
                    assert!(fired(&over, &proc_).is_none(), "{}: washout over", rule.id);
                }
                None => {
                    let today = dated("x", Some(&rule.condition), Some(-30), Some(0));
                    assert!(fired(&today, &proc_).is_some(), "{}: ends today", rule.id);
                    let ended = dated("x", Some(&rule.condition), Some(-30), Some(-1));
                    assert!(fired(&ended, &proc_).is_none(), "{}: ended", rule.id);
                }
            }
        }
        if cond.fact == "age_under" {
            let adult = Facts {
                birth_date: Some(on - Duration::days(365 * i64::from(cond.threshold.unwrap()) + 5)),
                ..Facts::default()
            };
            assert!(
                fired(&adult, &proc_).is_none(),
                "{} fires for an adult",
                rule.id
            );
        }
    }
    // ASDS: superficial peels are allowed during isotretinoin.
    let iso = Facts {
        texts: vec![TextFact::ongoing("medications", "isotretinoina")],
        ..Facts::default()
    };
    let superficial = procedure_row(Some("superficial_peel"), "facial");
    assert!(evaluate(&set, &iso, &superficial, on).can_proceed());
    assert!(
        !evaluate(
            &set,
            &iso,
            &procedure_row(Some("ablative_laser"), "laser"),
            on
        )
        .can_proceed()
    );
}

/// Creates a patient through the API (so clinical fields are encrypted as in production).
async fn clinical_patient(app: &TestApp, clinician: Uuid, extra: Value) -> Uuid {
    let mut body = json!({ "fullName": "Paciente Clínica", "birthDate": "1990-05-05" });
    for (k, v) in extra.as_object().unwrap() {
        body[k] = v.clone();
    }
    let res = call(app, "POST", "/v1/patients", clinician, Some(body), &[]).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    res.json()["id"].as_str().unwrap().parse().unwrap()
}

async fn kind_procedure(
    admin: &Client,
    clinic: Uuid,
    name: &str,
    category: &str,
    kind: &str,
    sessions: (i32, Option<i32>, Option<i32>),
) -> Uuid {
    let id = Uuid::new_v4();
    db::exec(
        admin,
        "insert into public.procedures (id, clinic_id, name, category, kind, duration_minutes, \
         anvisa_registration, anvisa_expires_on, session_count, min_interval_days, max_interval_days) \
         values ($1, $2, $3, $4, $5, 45, '1234567890123', '2099-12-31', $6, $7, $8)",
        &[
            (&id, Type::UUID),
            (&clinic, Type::UUID),
            (&name, Type::TEXT),
            (&category, Type::TEXT),
            (&kind, Type::TEXT),
            (&sessions.0, Type::INT4),
            (&sessions.1, Type::INT4),
            (&sessions.2, Type::INT4),
        ],
    )
    .await;
    id
}

fn rule_ids(list: &Value) -> Vec<String> {
    list.as_array()
        .unwrap()
        .iter()
        .map(|f| f["ruleId"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn db_contraindication_check_reads_the_encrypted_record_and_is_audited() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let patient = clinical_patient(
        &app,
        w.w.a_clinician,
        json!({ "pregnancyStatus": "pregnant", "currentMedications": ["Roacutan 20 mg"], "conditions": ["Hipertensão"] }),
    )
    .await;
    let laser = kind_procedure(
        &admin,
        w.w.a,
        "Laser CO2",
        "laser",
        "ablative_laser",
        (1, None, None),
    )
    .await;
    let body =
        json!({ "patientId": patient, "procedureIds": [w.toxin, laser], "date": "2030-03-04" });
    let res = call(
        &app,
        "POST",
        "/v1/clinical/contraindications",
        w.w.a_clinician,
        Some(body.clone()),
        &[],
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let v = res.json();
    assert!(v["advisory"]["pt-BR"].as_str().unwrap().contains("RDC 657"));
    let toxin = &v["results"][0];
    assert_eq!(toxin["procedureId"], json!(w.toxin));
    assert_eq!(toxin["canProceed"], false);
    assert_eq!(rule_ids(&toxin["absolute"]), vec!["pregnancy_toxin"]);
    assert!(
        toxin["absolute"][0]["source"]
            .as_str()
            .unwrap()
            .contains("domain.md")
    );
    let laser_r = &v["results"][1];
    assert_eq!(
        rule_ids(&laser_r["washouts"]),
        vec!["isotretinoin_ablative"]
    );
    assert_eq!(laser_r["canProceed"], false);
    // No personal data in the response: only rule texts.
    assert!(!res.body.windows(7).any(|w| w == b"Roacuta"));
    // Staff may not run clinical checks.
    let staff = call(
        &app,
        "POST",
        "/v1/clinical/contraindications",
        w.w.a_staff,
        Some(body),
        &[],
    )
    .await;
    staff.assert_problem(403, "insufficient_role");
    assert!(
        audit_actions(&admin, w.w.a)
            .await
            .contains(&"clinical.contraindications_check".to_owned())
    );
    // Bad input is a 4xx, never a 500.
    let bad = call(
        &app,
        "POST",
        "/v1/clinical/contraindications",
        w.w.a_clinician,
        Some(json!({ "patientId": patient, "procedureIds": [] })),
        &[],
    )
    .await;
    assert_eq!(bad.status, 422);
    let unknown = call(
        &app,
        "POST",
        "/v1/clinical/contraindications",
        w.w.a_clinician,
        Some(json!({ "patientId": patient, "procedureIds": [Uuid::new_v4()] })),
        &[],
    )
    .await;
    assert_eq!(unknown.status, 422);
}

fn toxin_booking(w: &World, patient: Uuid, local: &str) -> Value {
    json!({
        "patientId": patient,
        "professionalId": w.pro,
        "procedureId": w.toxin,
        "startsAt": format!("2030-03-04T{local}:00-03:00"),
    })
}

#[tokio::test]
async fn db_booking_with_an_absolute_contraindication_is_422_unless_a_clinician_overrides() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let patient = clinical_patient(
        &app,
        w.w.a_clinician,
        json!({ "pregnancyStatus": "pregnant" }),
    )
    .await;
    // Staff learn that a clinician must decide, not what the patient has.
    let res = book(&app, w.w.a_staff, toxin_booking(&w, patient, "10:00")).await;
    let p = res.assert_problem(422, "contraindicated");
    assert_eq!(rule_ids(&p["findings"]), vec![""]);
    assert_eq!(p["findings"][0]["severity"], "absolute");
    assert!(!p.to_string().contains("pregnan"), "{p}");
    // A clinician sees the rule.
    let res = book(&app, w.w.a_clinician, toxin_booking(&w, patient, "10:00")).await;
    let p = res.assert_problem(422, "contraindicated");
    assert_eq!(rule_ids(&p["findings"]), vec!["pregnancy_toxin"]);
    // Staff cannot override a clinical finding.
    let mut body = toxin_booking(&w, patient, "10:00");
    body["clinicalOverride"] = json!({ "reason": "Avaliado com obstetra" });
    book(&app, w.w.a_staff, body.clone())
        .await
        .assert_problem(403, "clinical_override_forbidden");
    assert_eq!(
        appointment_count(&admin, patient).await,
        0,
        "nothing written"
    );
    // A clinician can, with a reason, and it is audited with the rule ids.
    let ok = book(&app, w.w.a_clinician, body).await;
    assert_eq!(ok.status, 201, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(ok.json()["overridden"], true);
    assert_eq!(appointment_count(&admin, patient).await, 1);
    let details: Value = admin
        .query_one(
            "select details from public.audit_events where clinic_id = $1 and action = 'appointment.clinical_override'",
            &[&w.w.a],
        )
        .await
        .unwrap()
        .get(0);
    assert_eq!(details["ruleIds"], json!(["pregnancy_toxin"]));
}

#[tokio::test]
async fn db_booking_with_relative_contraindications_returns_them_as_warnings() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let patient = clinical_patient(
        &app,
        w.w.a_clinician,
        json!({ "currentMedications": ["Xarelto (rivaroxabana) 20mg"] }),
    )
    .await;
    let res = book(&app, w.w.a_clinician, toxin_booking(&w, patient, "11:00")).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(
        rule_ids(&res.json()["warnings"]),
        vec!["anticoagulants_injectables"]
    );
    // Staff get the warning without the clinical detail.
    let res = book(&app, w.w.a_staff, toxin_booking(&w, patient, "13:00")).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(rule_ids(&res.json()["warnings"]), vec![""]);
    assert_eq!(res.json()["warnings"][0]["severity"], "relative");
    // A patient without findings gets an empty list.
    let clean = book(&app, w.w.a_staff, toxin_booking(&w, w.patient, "12:00")).await;
    assert_eq!(clean.status, 201);
    assert_eq!(clean.json()["warnings"], json!([]));
}

#[tokio::test]
async fn db_microneedling_within_two_weeks_of_toxin_is_a_washout_until_day_fourteen() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let ok = book(&app, w.w.a_staff, toxin_booking(&w, w.patient, "10:00")).await;
    assert_eq!(ok.status, 201);
    let micro = kind_procedure(
        &admin,
        w.w.a,
        "Microagulhamento",
        "facial",
        "microneedling",
        (4, Some(28), Some(42)),
    )
    .await;
    let check = |date: &'static str| {
        let app = &app;
        let body = json!({ "patientId": w.patient, "procedureIds": [micro], "date": date });
        async move {
            call(
                app,
                "POST",
                "/v1/clinical/contraindications",
                w.w.a_clinician,
                Some(body),
                &[],
            )
            .await
            .json()
        }
    };
    let v = check("2030-03-10").await;
    assert_eq!(
        rule_ids(&v["results"][0]["washouts"]),
        vec!["recent_toxin_microneedling"]
    );
    assert_eq!(v["results"][0]["washouts"][0]["until"], "2030-03-18");
    let v = check("2030-03-18").await;
    assert_eq!(v["results"][0]["canProceed"], true);
}

#[tokio::test]
async fn db_toxin_booked_inside_the_washout_before_a_scheduled_microneedling_is_refused() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let micro = kind_procedure(
        &admin,
        w.w.a,
        "Microagulhamento",
        "facial",
        "microneedling",
        (4, Some(28), Some(42)),
    )
    .await;
    // Microneedling already in the calendar on 2030-03-14 (the world's professional).
    let res = book(
        &app,
        w.w.a_staff,
        json!({ "patientId": w.patient, "professionalId": w.pro, "procedureId": micro,
                "startsAt": "2030-03-14T10:00:00-03:00" }),
    )
    .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let before = appointment_count(&admin, w.patient).await;

    // A toxin ten days before it would put the microneedling inside the 14-day washout.
    let res = book(&app, w.w.a_clinician, toxin_booking(&w, w.patient, "10:00")).await;
    let p = res.assert_problem(422, "contraindicated");
    assert_eq!(rule_ids(&p["findings"]), vec!["recent_toxin_microneedling"]);
    assert_eq!(appointment_count(&admin, w.patient).await, before);

    // The check endpoint says the same for that date, and nothing for a date outside it.
    let v = check_on(&app, w.w.a_clinician, w.patient, w.toxin, "2030-03-04").await;
    assert_eq!(v["canProceed"], false);
    assert_eq!(rule_ids(&v["washouts"]), vec!["recent_toxin_microneedling"]);
    let v = check_on(&app, w.w.a_clinician, w.patient, w.toxin, "2030-02-28").await;
    assert_eq!(v["canProceed"], true);
    // On the microneedling's own day the toxin still counts; the day after, it is fine (the
    // rule runs toxin → microneedling only).
    let v = check_on(&app, w.w.a_clinician, w.patient, w.toxin, "2030-03-14").await;
    assert_eq!(v["canProceed"], false);
    let v = check_on(&app, w.w.a_clinician, w.patient, w.toxin, "2030-03-15").await;
    assert_eq!(v["canProceed"], true);

    // A clinician may still proceed with a reason, and it is audited.
    let mut body = toxin_booking(&w, w.patient, "10:00");
    body["clinicalOverride"] = json!({ "reason": "Microagulhamento será remarcado" });
    let res = book(&app, w.w.a_clinician, body).await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    assert!(
        audit_actions(&admin, w.w.a)
            .await
            .contains(&"appointment.clinical_override".to_owned())
    );
}

async fn appointment_count(admin: &Client, patient: Uuid) -> i64 {
    admin
        .query_one(
            "select count(*) from public.appointments where patient_id = $1",
            &[&patient],
        )
        .await
        .unwrap()
        .get(0)
}

// ---------------------------------------------------------------------------------------------
// Dated clinical facts

async fn post_fact(app: &TestApp, user: Uuid, body: Value) -> crate::support::TestResponse {
    call(app, "POST", "/v1/clinical/facts", user, Some(body), &[]).await
}

async fn check_on(app: &TestApp, user: Uuid, patient: Uuid, procedure: Uuid, date: &str) -> Value {
    let res = call(
        app,
        "POST",
        "/v1/clinical/contraindications",
        user,
        Some(json!({ "patientId": patient, "procedureIds": [procedure], "date": date })),
        &[],
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    res.json()["results"][0].clone()
}

#[tokio::test]
async fn db_dated_isotretinoin_blocks_ablative_laser_until_180_days_after_the_last_dose() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let laser = kind_procedure(
        &admin,
        w.w.a,
        "Laser CO2 fracionado",
        "laser",
        "ablative_laser",
        (1, None, None),
    )
    .await;
    let created = post_fact(
        &app,
        w.w.a_clinician,
        json!({ "patientId": w.patient, "kind": "medication", "description": "Roacutan 20 mg/dia",
                "startedOn": "2029-07-01", "endedOn": "2030-01-10" }),
    )
    .await;
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    // Stored encrypted: the text is not in the row.
    let raw: Vec<u8> = admin
        .query_one(
            "select description_enc from public.patient_clinical_facts where patient_id = $1",
            &[&w.patient],
        )
        .await
        .unwrap()
        .get(0);
    assert!(!raw.windows(8).any(|x| x == b"Roacutan"));
    // 2030-01-10 + 180 days = 2030-07-09.
    let r = check_on(&app, w.w.a_clinician, w.patient, laser, "2030-03-04").await;
    assert_eq!(r["canProceed"], false);
    assert_eq!(rule_ids(&r["washouts"]), vec!["isotretinoin_ablative"]);
    assert_eq!(r["washouts"][0]["until"], "2030-07-09");
    let r = check_on(&app, w.w.a_clinician, w.patient, laser, "2030-07-09").await;
    assert_eq!(r["canProceed"], true, "{r}");
    // Before it started, it did not count either.
    let r = check_on(&app, w.w.a_clinician, w.patient, laser, "2029-06-30").await;
    assert_eq!(r["canProceed"], true, "{r}");

    // A coded fact counts whatever its wording: chemotherapy ended 2029-12-01 blocks a filler
    // until 2030-12-01.
    let filler = kind_procedure(
        &admin,
        w.w.a,
        "Preenchimento AH",
        "injectable",
        "ha_filler",
        (1, None, None),
    )
    .await;
    let coded = post_fact(
        &app,
        w.w.a_clinician,
        json!({ "patientId": w.patient, "kind": "condition", "description": "Tratamento oncológico (mama)",
                "conditionCode": "chemotherapy", "endedOn": "2029-12-01" }),
    )
    .await;
    assert_eq!(coded.status, 201);
    let r = check_on(&app, w.w.a_clinician, w.patient, filler, "2030-03-04").await;
    assert_eq!(rule_ids(&r["washouts"]), vec!["chemotherapy_ha_filler"]);
    assert_eq!(r["washouts"][0]["until"], "2030-12-01");

    // The list is for clinicians; it is audited; staff may not read or write it.
    let list = call(
        &app,
        "GET",
        &format!("/v1/clinical/facts?patientId={}", w.patient),
        w.w.a_clinician,
        None,
        &[],
    )
    .await;
    assert_eq!(list.status, 200);
    assert_eq!(list.json()["items"].as_array().unwrap().len(), 2);
    let actions = audit_actions(&admin, w.w.a).await;
    assert!(actions.contains(&"clinical_fact.create".to_owned()));
    assert!(actions.contains(&"clinical_fact.list".to_owned()));
    call(
        &app,
        "GET",
        &format!("/v1/clinical/facts?patientId={}", w.patient),
        w.w.a_staff,
        None,
        &[],
    )
    .await
    .assert_problem(403, "insufficient_role");
    post_fact(
        &app,
        w.w.a_staff,
        json!({ "patientId": w.patient, "kind": "allergy", "description": "Látex" }),
    )
    .await
    .assert_problem(403, "insufficient_role");

    // Bad input: 4xx with field errors, never 500.
    for bad in [
        json!({ "patientId": w.patient, "kind": "diet", "description": "x" }),
        json!({ "patientId": w.patient, "kind": "allergy", "description": "" }),
        json!({ "patientId": w.patient, "kind": "allergy", "description": "x", "conditionCode": "nope" }),
        json!({ "patientId": w.patient, "kind": "allergy", "description": "x", "startedOn": "2030-02-01", "endedOn": "2030-01-01" }),
    ] {
        let res = post_fact(&app, w.w.a_clinician, bad.clone()).await;
        assert_eq!(
            res.status,
            422,
            "{bad}: {}",
            String::from_utf8_lossy(&res.body)
        );
    }
    let res = post_fact(
        &app,
        w.w.a_clinician,
        json!({ "patientId": w.patient, "kind": "allergy", "description": "x", "endedOn": "ontem" }),
    )
    .await;
    assert_eq!(res.status, 400);
    let res = post_fact(
        &app,
        w.w.a_clinician,
        json!({ "patientId": Uuid::new_v4(), "kind": "allergy", "description": "x" }),
    )
    .await;
    assert_eq!(res.status, 404);
}

#[tokio::test]
async fn db_another_clinic_sees_nothing_of_clinical_facts_or_plans() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let created = post_fact(
        &app,
        w.w.a_clinician,
        json!({ "patientId": w.patient, "kind": "condition", "description": "Herpes labial ativo" }),
    )
    .await;
    assert_eq!(created.status, 201);
    let plla = plla(&admin, w.w.a).await;
    let plan = call(
        &app,
        "POST",
        "/v1/treatment-plans",
        w.w.a_staff,
        Some(json!({ "patientId": w.patient, "sessions": [
            { "procedureId": plla, "sessionNumber": 1, "professionalId": w.pro, "startsAt": "2030-05-06T10:00:00-03:00" }
        ]})),
        &[],
    )
    .await;
    // Active infection at the site is absolute: staff cannot book it, a clinician overrides.
    plan.assert_problem(409, "plan_sessions_failed");
    let plan = call(
        &app,
        "POST",
        "/v1/treatment-plans",
        w.w.a_clinician,
        Some(json!({ "patientId": w.patient, "clinicalOverride": { "reason": "Lesão fora da área tratada" }, "sessions": [
            { "procedureId": plla, "sessionNumber": 1, "professionalId": w.pro, "startsAt": "2030-05-06T10:00:00-03:00" }
        ]})),
        &[],
    )
    .await;
    assert_eq!(plan.status, 201, "{}", String::from_utf8_lossy(&plan.body));
    let plan_path = format!(
        "/v1/treatment-plans/{}",
        plan.json()["id"].as_str().unwrap()
    );
    let own = call(&app, "GET", &plan_path, w.w.a_staff, None, &[]).await;
    assert_eq!(own.status, 200, "{}", String::from_utf8_lossy(&own.body));
    assert_eq!(own.json()["sessions"].as_array().unwrap().len(), 1);
    call(&app, "GET", &plan_path, w.w.b_admin, None, &[])
        .await
        .assert_problem(404, "not_found");

    // Clinic B's admin, through the API: 404 for A's patient.
    call(
        &app,
        "GET",
        &format!("/v1/clinical/facts?patientId={}", w.patient),
        w.w.b_admin,
        None,
        &[],
    )
    .await
    .assert_problem(404, "not_found");
    let res = call(
        &app,
        "POST",
        "/v1/clinical/contraindications",
        w.w.b_admin,
        Some(json!({ "patientId": w.patient, "procedureIds": [plla] })),
        &[],
    )
    .await;
    assert!(matches!(res.status.as_u16(), 404 | 422), "{}", res.status);

    // Below the API, as B's admin and as A's staff, under RLS.
    let patient = w.patient;
    let count = |user: Uuid| async move {
        let c = db::connect(&db::app_url()).await;
        db::begin_as(&c, user).await;
        let n: (i64, i64) = {
            let r = c
                .query_one(
                    "select (select count(*) from public.patient_clinical_facts where patient_id = $1), \
                            (select count(*) from public.treatment_plans where patient_id = $1)",
                    &[&patient],
                )
                .await
                .unwrap();
            (r.get(0), r.get(1))
        };
        c.batch_execute("rollback").await.unwrap();
        n
    };
    assert_eq!(count(w.w.b_admin).await, (0, 0));
    assert_eq!(count(w.w.a_staff).await, (1, 1));
    // B cannot write a fact for A's patient either (RLS on insert, FK on the patient).
    let c = db::connect(&db::app_url()).await;
    db::begin_as(&c, w.w.b_admin).await;
    let err = c
        .execute(
            "insert into public.patient_clinical_facts (id, clinic_id, patient_id, kind, description_enc, recorded_by) \
             values (gen_random_uuid(), $1, $2, 'condition', '\\x00', $3)",
            &[&w.w.a, &w.patient, &w.w.b_admin],
        )
        .await;
    assert!(err.is_err());
    c.batch_execute("rollback").await.unwrap();
}

// ---------------------------------------------------------------------------------------------
// Treatment plans

/// A PLLA biostimulator: 3 sessions, 28 to 56 days apart (domain.md §5.9: 4–8 weeks).
async fn plla(admin: &Client, clinic: Uuid) -> Uuid {
    kind_procedure(
        admin,
        clinic,
        "Bioestimulador PLLA",
        "injectable",
        "biostimulator",
        (3, Some(28), Some(56)),
    )
    .await
}

async fn preview(app: &TestApp, user: Uuid, body: Value) -> Value {
    let res = call(
        app,
        "POST",
        "/v1/treatment-plans/preview",
        user,
        Some(body),
        &[],
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    res.json()
}

/// The create body of a preview's sessions.
fn sessions_of(v: &Value) -> Vec<Value> {
    v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            json!({
                "procedureId": s["procedureId"],
                "sessionNumber": s["sessionNumber"],
                "professionalId": s["professionalId"],
                "roomId": s["roomId"],
                "startsAt": s["startsAt"],
            })
        })
        .collect()
}

/// Local (São Paulo) date, time and weekday of instants, computed by PostgreSQL's tz database.
async fn sao_paulo(admin: &Client, instants: &[&str]) -> Vec<(String, String, i32)> {
    let mut out = Vec::new();
    for i in instants {
        let r = admin
            .query_one(
                "select to_char($1::text::timestamptz at time zone 'America/Sao_Paulo', 'YYYY-MM-DD'), \
                        to_char($1::text::timestamptz at time zone 'America/Sao_Paulo', 'HH24:MI'), \
                        extract(dow from $1::text::timestamptz at time zone 'America/Sao_Paulo')::int",
                &[i],
            )
            .await
            .unwrap();
        out.push((r.get(0), r.get(1), r.get(2)));
    }
    out
}

async fn plan_rows(admin: &Client, patient: Uuid) -> (i64, i64) {
    let r = admin
        .query_one(
            "select (select count(*) from public.treatment_plans where patient_id = $1), \
                    (select count(*) from public.appointments where patient_id = $1)",
            &[&patient],
        )
        .await
        .unwrap();
    (r.get(0), r.get(1))
}

#[tokio::test]
async fn db_three_session_plla_plan_respects_its_interval_and_a_move_cannot_break_it() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let plla = plla(&admin, w.w.a).await;
    let v = preview(
        &app,
        w.w.a_staff,
        json!({ "patientId": w.patient, "procedures": [{ "procedureId": plla }], "startDate": "2030-04-01",
                "preferences": { "professionalId": w.pro, "daysOfWeek": [2, 4], "periods": ["morning"] } }),
    )
    .await;
    assert_eq!(v["conflicts"], json!([]), "{v}");
    let sessions = v["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3);
    let starts: Vec<&str> = sessions
        .iter()
        .map(|s| s["startsAt"].as_str().unwrap())
        .collect();
    let local = sao_paulo(&admin, &starts).await;
    let dates: Vec<NaiveDate> = local.iter().map(|l| l.0.parse().unwrap()).collect();
    for (s, l) in sessions.iter().zip(&local) {
        assert_eq!(s["localDate"], l.0.as_str());
        assert!([2, 4].contains(&l.2), "weekday preference: {l:?}");
        assert!(
            l.1.as_str() >= "09:00" && l.1.as_str() < "12:00",
            "morning: {l:?}"
        );
    }
    for pair in dates.windows(2) {
        let gap = (pair[1] - pair[0]).num_days();
        assert!((28..=56).contains(&gap), "interval {gap} days");
    }

    let created = call(
        &app,
        "POST",
        "/v1/treatment-plans",
        w.w.a_staff,
        Some(json!({ "patientId": w.patient, "sessions": sessions_of(&v) })),
        &[],
    )
    .await;
    assert_eq!(
        created.status,
        201,
        "{}",
        String::from_utf8_lossy(&created.body)
    );
    let plan = created.json();
    let ids: Vec<String> = plan["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["id"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(ids.len(), 3);
    assert_eq!(plan_rows(&admin, w.patient).await, (1, 3));
    assert!(
        audit_actions(&admin, w.w.a)
            .await
            .contains(&"treatment_plan.create".to_owned())
    );

    // Session 2 moved to 10 days after session 1: 409 with the reason.
    let too_early = format!("{}T10:00:00-03:00", dates[0] + Duration::days(10));
    let res = call(
        &app,
        "PATCH",
        &format!("/v1/appointments/{}", ids[1]),
        w.w.a_staff,
        Some(json!({ "startsAt": too_early })),
        &[("if-match", "\"1\"")],
    )
    .await;
    let p = res.assert_problem(409, "plan_interval_violation");
    assert_eq!(p["violations"][0]["rule"], "min_interval");
    assert_eq!(p["violations"][0]["sessionNumber"], 2);
    // Session 2 moved late, to 7 days before session 3: breaks the interval with the *next*.
    let too_late = format!("{}T10:00:00-03:00", dates[2] - Duration::days(7));
    let res = call(
        &app,
        "PATCH",
        &format!("/v1/appointments/{}", ids[1]),
        w.w.a_staff,
        Some(json!({ "startsAt": too_late })),
        &[("if-match", "\"1\"")],
    )
    .await;
    let p = res.assert_problem(409, "plan_interval_violation");
    assert_eq!(p["violations"][0]["sessionNumber"], 3);
    // A move that keeps the intervals is fine (the last session one day later).
    let ok_move = format!("{}T10:00:00-03:00", dates[2] + Duration::days(1));
    let res = call(
        &app,
        "PATCH",
        &format!("/v1/appointments/{}", ids[2]),
        w.w.a_staff,
        Some(json!({ "startsAt": ok_move })),
        &[("if-match", "\"1\"")],
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    assert_eq!(res.json()["planViolations"], json!([]));
    // Cancelling session 2 re-validates the rest: sessions 1 and 3 are now compared.
    let res = call(
        &app,
        "POST",
        &format!("/v1/appointments/{}/cancel", ids[1]),
        w.w.a_staff,
        Some(json!({ "reason": "patient_request" })),
        &[],
    )
    .await;
    assert_eq!(res.status, 200, "{}", String::from_utf8_lossy(&res.body));
    let gap13 = (dates[2] + Duration::days(1) - dates[0]).num_days();
    let violations = res.json()["planViolations"].clone();
    if gap13 > 56 {
        assert_eq!(violations[0]["rule"], "max_interval", "{violations}");
    } else {
        assert_eq!(violations, json!([]));
    }
    // The plan as stored: three sessions in order, one cancelled, the same violations.
    let got = call(
        &app,
        "GET",
        &format!("/v1/treatment-plans/{}", plan["id"].as_str().unwrap()),
        w.w.a_staff,
        None,
        &[],
    )
    .await;
    assert_eq!(got.status, 200);
    let got = got.json();
    let statuses: Vec<&str> = got["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses, vec!["scheduled", "cancelled", "scheduled"]);
    assert_eq!(got["violations"], violations);
}

#[tokio::test]
async fn db_plan_creation_is_all_or_nothing_when_session_three_conflicts() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let plla = plla(&admin, w.w.a).await;
    let v = preview(
        &app,
        w.w.a_staff,
        json!({ "patientId": w.patient, "procedures": [{ "procedureId": plla }], "startDate": "2030-06-03",
                "preferences": { "professionalId": w.pro, "roomId": w.room } }),
    )
    .await;
    let sessions = sessions_of(&v);
    assert_eq!(sessions.len(), 3, "{v}");
    // Someone else takes session 3's slot with the same professional.
    let other = crate::scheduling::patient(&admin, w.w.a).await;
    let taken = book(
        &app,
        w.w.a_staff,
        json!({ "patientId": other, "professionalId": w.pro, "procedureId": w.toxin,
                "startsAt": sessions[2]["startsAt"] }),
    )
    .await;
    assert_eq!(
        taken.status,
        201,
        "{}",
        String::from_utf8_lossy(&taken.body)
    );
    let res = call(
        &app,
        "POST",
        "/v1/treatment-plans",
        w.w.a_staff,
        Some(json!({ "patientId": w.patient, "sessions": sessions })),
        &[],
    )
    .await;
    let p = res.assert_problem(409, "plan_sessions_failed");
    let failures = p["failures"].as_array().unwrap();
    assert_eq!(failures.len(), 1, "{p}");
    assert_eq!(failures[0]["sessionNumber"], 3);
    assert_eq!(failures[0]["code"], "appointment_conflict");
    // Nothing written: no plan, no session 1 or 2.
    assert_eq!(plan_rows(&admin, w.patient).await, (0, 0));

    // An explicit session 2 earlier than the minimum interval: 409 with the reason, nothing kept.
    let mut close = sessions_of(&v);
    close.truncate(2);
    let s1 = close[0]["startsAt"].as_str().unwrap().to_owned();
    let s1: chrono::DateTime<Utc> = s1.parse().unwrap();
    close[1]["startsAt"] = json!(s1 + Duration::days(14));
    let res = call(
        &app,
        "POST",
        "/v1/treatment-plans",
        w.w.a_staff,
        Some(json!({ "patientId": w.patient, "sessions": close })),
        &[],
    )
    .await;
    let p = res.assert_problem(409, "plan_interval_violation");
    assert_eq!(p["violations"][0]["limitDays"], 28);
    assert_eq!(plan_rows(&admin, w.patient).await, (0, 0));
}

#[tokio::test]
async fn db_plan_preview_reports_every_conflict() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let plla = plla(&admin, w.w.a).await;
    // The professional is away for the whole horizon of the plan.
    let off = call(
        &app,
        "POST",
        &format!("/v1/professionals/{}/time-off", w.pro),
        w.w.a_admin,
        Some(json!({"startsAt": "2030-08-01T00:00:00-03:00", "endsAt": "2031-03-01T00:00:00-03:00", "reason": "vacation"})),
        &[],
    )
    .await;
    assert_eq!(off.status, 201, "{}", String::from_utf8_lossy(&off.body));
    let v = preview(
        &app,
        w.w.a_staff,
        json!({ "patientId": w.patient, "procedures": [{ "procedureId": plla }], "startDate": "2030-08-05",
                "preferences": { "professionalId": w.pro } }),
    )
    .await;
    assert_eq!(v["sessions"], json!([]));
    let conflicts = v["conflicts"].as_array().unwrap();
    assert_eq!(conflicts.len(), 3, "every session reported: {v}");
    for (i, c) in conflicts.iter().enumerate() {
        assert_eq!(c["sessionNumber"], i + 1);
        assert_eq!(c["reason"], "no_availability");
    }
    // A contraindication is reported as such (absolute: pregnancy and biostimulator).
    let pregnant = clinical_patient(
        &app,
        w.w.a_clinician,
        json!({ "pregnancyStatus": "pregnant" }),
    )
    .await;
    let v = preview(
        &app,
        w.w.a_staff,
        json!({ "patientId": pregnant, "procedures": [{ "procedureId": plla, "sessions": 1 }], "startDate": "2030-06-03",
                "preferences": { "professionalId": w.pro } }),
    )
    .await;
    assert_eq!(v["conflicts"][0]["reason"], "contraindicated", "{v}");
    // Staff see that it is contraindicated, not which condition; a clinician sees the rule.
    assert_eq!(v["conflicts"][0]["ruleIds"], json!([]));
    let v = preview(
        &app,
        w.w.a_clinician,
        json!({ "patientId": pregnant, "procedures": [{ "procedureId": plla, "sessions": 1 }], "startDate": "2030-06-03",
                "preferences": { "professionalId": w.pro } }),
    )
    .await;
    assert_eq!(
        v["conflicts"][0]["ruleIds"],
        json!(["pregnancy_biostimulator"])
    );
    // Bad preferences are 422, not 500.
    let res = call(
        &app,
        "POST",
        "/v1/treatment-plans/preview",
        w.w.a_staff,
        Some(json!({ "patientId": w.patient, "procedures": [{ "procedureId": plla }], "startDate": "2030-06-03",
                     "preferences": { "professionalId": w.pro, "daysOfWeek": [7], "periods": ["noite"] } })),
        &[],
    )
    .await;
    assert_eq!(res.status, 422);
}

#[tokio::test]
async fn db_plan_crossing_a_month_boundary_keeps_local_times_in_sao_paulo() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let micro = kind_procedure(
        &admin,
        w.w.a,
        "Microagulhamento",
        "facial",
        "microneedling",
        (3, Some(28), Some(42)),
    )
    .await;
    // Sessions at 10:00 local on 20 Jan, 17 Feb and 17 Mar: two month boundaries.
    let starts = [
        "2031-01-20T10:00:00-03:00",
        "2031-02-17T10:00:00-03:00",
        "2031-03-17T10:00:00-03:00",
    ];
    let sessions: Vec<Value> = starts
        .iter()
        .enumerate()
        .map(|(i, s)| json!({ "procedureId": micro, "sessionNumber": i + 1, "professionalId": w.pro, "startsAt": s }))
        .collect();
    let res = call(
        &app,
        "POST",
        "/v1/treatment-plans",
        w.w.a_staff,
        Some(json!({ "patientId": w.patient, "sessions": sessions })),
        &[],
    )
    .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let body = res.json();
    let stored: Vec<String> = body["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["startsAt"].as_str().unwrap().to_owned())
        .collect();
    let refs: Vec<&str> = stored.iter().map(String::as_str).collect();
    let local = sao_paulo(&admin, &refs).await;
    assert_eq!(
        local,
        vec![
            ("2031-01-20".to_owned(), "10:00".to_owned(), 1),
            ("2031-02-17".to_owned(), "10:00".to_owned(), 1),
            ("2031-03-17".to_owned(), "10:00".to_owned(), 1),
        ]
    );
    // The preview across the boundary: local dates are São Paulo dates of the UTC instants.
    let v = preview(
        &app,
        w.w.a_staff,
        json!({ "patientId": w.patient, "procedures": [{ "procedureId": micro, "sessions": 2 }], "startDate": "2031-04-28",
                "preferences": { "professionalId": w.pro, "periods": ["evening"] } }),
    )
    .await;
    let s: Vec<&str> = v["sessions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["startsAt"].as_str().unwrap())
        .collect();
    assert_eq!(s.len(), 2, "{v}");
    let local = sao_paulo(&admin, &s).await;
    for (sess, l) in v["sessions"].as_array().unwrap().iter().zip(&local) {
        assert_eq!(sess["localDate"], l.0.as_str());
        assert!(l.1.as_str() >= "18:00", "evening in São Paulo: {l:?}");
    }
    assert!(local[1].0.as_str() >= "2031-05-26", "{local:?}");
}

#[tokio::test]
async fn db_plan_preview_without_a_professional_uses_a_qualified_one() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    // An unverified professional working the same hours must never be proposed.
    let pending = crate::scheduling::professional(&admin, w.w.a, "pending", &["injectables"]).await;
    let plla = plla(&admin, w.w.a).await;
    let v = preview(
        &app,
        w.w.a_staff,
        json!({ "patientId": w.patient, "procedures": [{ "procedureId": plla }], "startDate": "2030-09-02" }),
    )
    .await;
    let sessions = v["sessions"].as_array().unwrap();
    assert_eq!(sessions.len(), 3, "{v}");
    for s in sessions {
        assert_eq!(s["professionalId"], json!(w.pro), "{v}");
        assert_ne!(s["professionalId"], json!(pending));
    }
}

#[tokio::test]
async fn db_moving_an_appointment_into_a_washout_is_422_unless_a_clinician_overrides() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let micro = kind_procedure(
        &admin,
        w.w.a,
        "Microagulhamento",
        "facial",
        "microneedling",
        (1, None, None),
    )
    .await;
    let toxin = book(&app, w.w.a_staff, toxin_booking(&w, w.patient, "10:00")).await;
    assert_eq!(toxin.status, 201);
    // Microneedling three weeks after the toxin: fine.
    let res = book(
        &app,
        w.w.a_staff,
        json!({ "patientId": w.patient, "professionalId": w.pro, "procedureId": micro,
                "startsAt": "2030-03-25T10:00:00-03:00" }),
    )
    .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let path = format!("/v1/appointments/{}", res.json()["id"].as_str().unwrap());
    // Moved to 6 days after the toxin: inside the 14-day washout.
    let into = json!({ "startsAt": "2030-03-10T10:00:00-03:00" });
    let p = call(
        &app,
        "PATCH",
        &path,
        w.w.a_clinician,
        Some(into.clone()),
        &[("if-match", "\"1\"")],
    )
    .await
    .assert_problem(422, "contraindicated");
    assert_eq!(rule_ids(&p["findings"]), vec!["recent_toxin_microneedling"]);
    // English on request.
    let en = call(
        &app,
        "PATCH",
        &path,
        w.w.a_staff,
        Some(into.clone()),
        &[("if-match", "\"1\""), ("accept-language", "en")],
    )
    .await;
    assert!(
        en.json()["detail"]
            .as_str()
            .unwrap()
            .starts_with("Contraindicated")
    );
    let mut with = into;
    with["clinicalOverride"] = json!({ "reason": "Áreas diferentes, avaliado" });
    let ok = call(
        &app,
        "PATCH",
        &path,
        w.w.a_clinician,
        Some(with),
        &[("if-match", "\"1\"")],
    )
    .await;
    assert_eq!(ok.status, 200, "{}", String::from_utf8_lossy(&ok.body));
    assert_eq!(ok.json()["overridden"], true);
    assert!(
        audit_actions(&admin, w.w.a)
            .await
            .contains(&"appointment.clinical_override".to_owned())
    );
}

#[tokio::test]
async fn db_key_rotation_reseals_clinical_facts_and_appointment_notes_so_the_old_key_can_go() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let url = db::app_url();
    let k1 = "1:p9FBS9FAC3r/h8qtnHwWf6gTYc8M/ktQdmDxhThHLOQ=";
    let both = neonpro::crypto::DEV_FIELD_KEYS;
    let k2 = "2:tCFVO+GlUJFBp4Y4h7USlW496jh1i7clnP1d9jbkw6Q=";
    let with = |keys: &'static str, current: &'static str| {
        TestApp::new(&[
            ("DATABASE_URL", url.as_str()),
            ("RATE_LIMIT_HEALTHCARE", "100000/900"),
            ("FIELD_ENCRYPTION_KEYS", keys),
            ("FIELD_ENCRYPTION_CURRENT_KEY_ID", current),
        ])
    };
    let old = with(k1, "1");
    let booked = book(&old, w.w.a_clinician, {
        let mut b = toxin_booking(&w, w.patient, "09:00");
        b["notes"] = json!("Retorno em 15 dias");
        b
    })
    .await;
    assert_eq!(
        booked.status,
        201,
        "{}",
        String::from_utf8_lossy(&booked.body)
    );
    let appointment = booked.json()["id"].as_str().unwrap().to_owned();
    let notes_key = || async {
        let id: Uuid = appointment.parse().unwrap();
        admin
            .query_one(
                "select get_byte(notes_enc, 4) from public.appointments where id = $1",
                &[&id],
            )
            .await
            .unwrap()
            .get::<_, i32>(0)
    };
    assert_eq!(notes_key().await, 1);
    let res = post_fact(
        &old,
        w.w.a_clinician,
        json!({ "patientId": w.patient, "kind": "allergy", "description": "Albumina humana" }),
    )
    .await;
    assert_eq!(res.status, 201, "{}", String::from_utf8_lossy(&res.body));
    let key_of = || async {
        let r = admin
            .query_one(
                "select get_byte(description_enc, 4) from public.patient_clinical_facts where patient_id = $1",
                &[&w.patient],
            )
            .await
            .unwrap();
        r.get::<_, i32>(0)
    };
    assert_eq!(key_of().await, 1);
    let cfg = crate::support::config(&[
        ("DATABASE_URL", url.as_str()),
        ("FIELD_ENCRYPTION_KEYS", both),
        ("FIELD_ENCRYPTION_CURRENT_KEY_ID", "2"),
    ]);
    let pool = neonpro::db::Db::new(&cfg.db);
    loop {
        let tx = pool.begin_service().await.unwrap();
        let n = neonpro::scheduling::clinical_facts::reencrypt_batch(&tx, &cfg.crypto.cipher, 50)
            .await
            .unwrap()
            + neonpro::scheduling::service::reencrypt_batch(&tx, &cfg.crypto.cipher, 50)
                .await
                .unwrap();
        tx.commit().await.unwrap();
        if n == 0 {
            break;
        }
    }
    assert_eq!(key_of().await, 2);
    assert_eq!(notes_key().await, 2);
    let new_only = with(k2, "2");
    let list = call(
        &new_only,
        "GET",
        &format!("/v1/clinical/facts?patientId={}", w.patient),
        w.w.a_clinician,
        None,
        &[],
    )
    .await;
    assert_eq!(list.status, 200, "{}", String::from_utf8_lossy(&list.body));
    assert_eq!(list.json()["items"][0]["description"], "Albumina humana");
    let read = call(
        &new_only,
        "GET",
        &format!("/v1/appointments/{appointment}"),
        w.w.a_clinician,
        None,
        &[],
    )
    .await;
    assert_eq!(read.status, 200, "{}", String::from_utf8_lossy(&read.body));
    assert!(read.json()["notes"].is_string());
}

#[tokio::test]
async fn db_bad_plan_input_is_4xx_and_writes_nothing() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let plla = plla(&admin, w.w.a).await;
    let s = |n: i32, at: &str| json!({ "procedureId": plla, "sessionNumber": n, "professionalId": w.pro, "startsAt": at });
    let creates = [
        (json!({ "patientId": w.patient, "sessions": [] }), 422),
        (
            json!({ "patientId": w.patient, "sessions": [s(1, "2030-05-06T10:00:00-03:00"), s(1, "2030-06-06T10:00:00-03:00")] }),
            422,
        ),
        (
            json!({ "patientId": w.patient, "sessions": [s(0, "2030-05-06T10:00:00-03:00")] }),
            422,
        ),
        (
            json!({ "patientId": w.patient, "sessions": [s(1, "2030-05-06T10:00:00")] }),
            400,
        ),
        (
            json!({ "patientId": w.patient, "sessions": [s(1, "2030-05-06T10:00:00-03:00")], "extra": 1 }),
            400,
        ),
        (
            json!({ "patientId": Uuid::new_v4(), "sessions": [s(1, "2030-05-06T10:00:00-03:00")] }),
            422,
        ),
    ];
    for (body, status) in creates {
        let res = call(
            &app,
            "POST",
            "/v1/treatment-plans",
            w.w.a_staff,
            Some(body.clone()),
            &[],
        )
        .await;
        assert_eq!(
            res.status,
            status,
            "{body}: {}",
            String::from_utf8_lossy(&res.body)
        );
        assert_eq!(res.header("content-type"), Some("application/problem+json"));
    }
    let previews = [
        json!({ "patientId": w.patient, "procedures": [], "startDate": "2030-05-06" }),
        json!({ "patientId": w.patient, "procedures": [{ "procedureId": Uuid::new_v4() }], "startDate": "2030-05-06" }),
        json!({ "patientId": w.patient, "procedures": [{ "procedureId": plla, "sessions": 0 }], "startDate": "2030-05-06" }),
        json!({ "patientId": w.patient, "procedures": [{ "procedureId": plla }], "startDate": "2030-05-06",
                "preferences": { "professionalId": Uuid::new_v4() } }),
    ];
    for body in previews {
        let res = call(
            &app,
            "POST",
            "/v1/treatment-plans/preview",
            w.w.a_staff,
            Some(body.clone()),
            &[],
        )
        .await;
        assert_eq!(
            res.status,
            422,
            "{body}: {}",
            String::from_utf8_lossy(&res.body)
        );
    }
    let res = call(
        &app,
        "POST",
        "/v1/treatment-plans/preview",
        w.w.a_staff,
        Some(json!({ "patientId": w.patient, "procedures": [{ "procedureId": plla }], "startDate": "06/05/2030" })),
        &[("accept-language", "en")],
    )
    .await;
    assert_eq!(res.status, 400);
    assert_eq!(plan_rows(&admin, w.patient).await, (0, 0));
    // An unknown plan id, or a malformed one (an id that cannot exist): 404, never 500.
    call(
        &app,
        "GET",
        &format!("/v1/treatment-plans/{}", Uuid::new_v4()),
        w.w.a_staff,
        None,
        &[],
    )
    .await
    .assert_problem(404, "not_found");
    let res = call(
        &app,
        "GET",
        "/v1/treatment-plans/not-a-uuid",
        w.w.a_staff,
        None,
        &[],
    )
    .await;
    assert_eq!(res.status, 404);
}

/// Dates far outside any clinic calendar are a 422 on the field, never a 500 (date arithmetic
/// on plans and washouts would overflow near chrono's limits) and never a booking in 9999.
#[tokio::test]
async fn db_absurd_dates_are_422_on_the_field_and_write_nothing() {
    let admin = db::admin().await;
    let w = world(&admin).await;
    let app = app();
    let user = w.w.a_clinician;
    let before = appointment_count(&admin, w.patient).await;
    let cases = [
        (
            "POST",
            "/v1/appointments".to_owned(),
            json!({ "patientId": w.patient, "professionalId": w.pro, "procedureId": w.toxin,
                    "startsAt": "9999-12-31T10:00:00-03:00" }),
            "startsAt",
        ),
        (
            "POST",
            "/v1/treatment-plans/preview".to_owned(),
            json!({ "patientId": w.patient, "procedures": [{ "procedureId": w.toxin }],
                    "startDate": "+262142-12-20" }),
            "startDate",
        ),
        (
            "POST",
            "/v1/treatment-plans".to_owned(),
            json!({ "patientId": w.patient, "sessions": [{ "procedureId": w.toxin, "sessionNumber": 1,
                    "professionalId": w.pro, "startsAt": "1999-12-31T10:00:00-03:00" }] }),
            "sessions[0].startsAt",
        ),
        (
            "POST",
            "/v1/clinical/contraindications".to_owned(),
            json!({ "patientId": w.patient, "procedureIds": [w.toxin], "date": "2101-01-01" }),
            "date",
        ),
        (
            "POST",
            "/v1/clinical/facts".to_owned(),
            json!({ "patientId": w.patient, "kind": "condition", "description": "x",
                    "startedOn": "1800-01-01" }),
            "startedOn",
        ),
    ];
    for (method, path, body, field) in cases {
        let res = call(&app, method, &path, user, Some(body), &[]).await;
        let p = res.assert_problem(422, "validation_failed");
        assert!(
            p["errors"]
                .as_array()
                .unwrap()
                .iter()
                .any(|e| e["field"] == field),
            "{path}: {p}"
        );
    }
    let res = call(
        &app,
        "GET",
        &format!(
            "/v1/availability?procedure={}&professional={}&from=9999-01-01T00:00:00Z&to=9999-01-02T00:00:00Z",
            w.toxin, w.pro
        ),
        user,
        None,
        &[],
    )
    .await;
    assert_eq!(res.status, 422);
    assert_eq!(appointment_count(&admin, w.patient).await, before);
}
