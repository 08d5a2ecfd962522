//! The OpenAPI document (`GET /v1/openapi.json`) and the reference page (`GET /v1/docs`): every
//! routed REST path and method is documented and every documented one is routed; the document
//! carries schemas, problems, security and the headers the API uses. (The independent 3.1
//! validator and the schema-driven fuzz run are `scripts/openapi-check`, run by `scripts/test`.)

use std::collections::BTreeSet;

use axum::body::Body;
use http::{Method, Request};

use crate::support::TestApp;

fn concrete(path: &str) -> String {
    path.split('/')
        .map(|seg| {
            if seg.starts_with('{') {
                "0190a3c4-0000-7000-8000-000000000000"
            } else {
                seg
            }
        })
        .collect::<Vec<_>>()
        .join("/")
}

#[tokio::test]
async fn openapi_every_routed_path_is_documented_and_back() {
    let app = TestApp::new(&[]);
    let routes = neonpro::rest_routes().into_list();
    let doc: serde_json::Value = app.get("/v1/openapi.json").await.json();
    let doc_paths: BTreeSet<String> = doc["paths"].as_object().unwrap().keys().cloned().collect();
    let routed: BTreeSet<String> = routes.iter().map(|r| r.path.to_owned()).collect();
    assert_eq!(doc_paths, routed, "document paths and routed paths differ");
    assert!(
        !routed.iter().any(|p| p.starts_with("/trpc")),
        "tRPC is not a REST path"
    );
    for route in &routes {
        let documented: BTreeSet<Method> = route.methods().into_iter().collect();
        let item = &doc["paths"][route.path];
        for method in [
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ] {
            let res = app
                .send(
                    Request::builder()
                        .method(method.clone())
                        .uri(concrete(route.path))
                        .body(Body::empty())
                        .unwrap(),
                )
                .await;
            let key = method.as_str().to_ascii_lowercase();
            if documented.contains(&method) {
                assert!(
                    item.get(&key).is_some(),
                    "{method} {} missing from the document",
                    route.path
                );
                assert!(
                    ![404, 405].contains(&res.status.as_u16()),
                    "{method} {} is documented but not routed ({})",
                    route.path,
                    res.status
                );
            } else {
                assert!(
                    item.get(&key).is_none(),
                    "{method} {} documented",
                    route.path
                );
                assert_eq!(
                    res.status, 405,
                    "{method} {} is routed but not documented",
                    route.path
                );
            }
        }
    }
}

#[tokio::test]
async fn openapi_document_has_schemas_problems_security_and_headers() {
    let app = TestApp::new(&[]);
    let res = app.get("/v1/openapi.json").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("application/json"));
    let doc = res.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"]["scheme"],
        "bearer"
    );
    assert_eq!(
        doc["components"]["securitySchemes"]["bearerAuth"]["bearerFormat"],
        "JWT"
    );
    let create = &doc["paths"]["/v1/patients"]["post"];
    assert_eq!(
        create["requestBody"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/PatientInput"
    );
    assert_eq!(
        create["responses"]["201"]["content"]["application/json"]["schema"]["$ref"],
        "#/components/schemas/PatientView"
    );
    assert!(create["responses"]["201"]["headers"]["RateLimit"].is_object());
    assert!(create["responses"]["201"]["headers"]["ETag"].is_object());
    assert!(create["security"].is_array());
    for status in [
        "400", "401", "403", "409", "415", "422", "429", "500", "503",
    ] {
        assert_eq!(
            create["responses"][status]["content"]["application/problem+json"]["schema"]["$ref"],
            "#/components/schemas/Problem",
            "POST /v1/patients {status}"
        );
    }
    assert!(create["responses"]["429"]["headers"]["Retry-After"].is_object());
    let params = |op: &serde_json::Value| -> Vec<String> {
        op["parameters"]
            .as_array()
            .map(|a| {
                a.iter()
                    .map(|p| p["name"].as_str().unwrap().to_owned())
                    .collect()
            })
            .unwrap_or_default()
    };
    assert!(params(create).contains(&"X-Clinic-Id".to_owned()));
    let update = &doc["paths"]["/v1/patients/{id}"]["patch"];
    assert!(params(update).contains(&"If-Match".to_owned()));
    assert!(update["responses"]["412"].is_object() && update["responses"]["428"].is_object());
    let list = &doc["paths"]["/v1/patients"]["get"];
    assert!(params(list).contains(&"updatedSince".to_owned()));
    for name in [
        "PatientView",
        "ConsentView",
        "Problem",
        "AuditPage",
        "ChainReport",
        "MeResponse",
    ] {
        assert!(doc["components"]["schemas"][name].is_object(), "{name}");
    }
    // Liveness is not rate limited and needs no token.
    let live = &doc["paths"]["/health"]["get"];
    assert!(live["security"].is_null());
    assert!(live["responses"]["429"].is_null());
}

#[tokio::test]
async fn openapi_docs_page_renders_locally_under_its_own_narrow_csp() {
    let app = TestApp::new(&[]);
    let res = app.get("/v1/docs").await;
    assert_eq!(res.status, 200);
    assert_eq!(res.header("content-type"), Some("text/html; charset=utf-8"));
    let csp = res.header("content-security-policy").unwrap().to_owned();
    assert_eq!(csp, neonpro::openapi::docs_csp());
    assert!(csp.contains("script-src 'sha256-"));
    assert!(csp.contains("connect-src 'self'"));
    assert!(csp.contains("frame-ancestors 'none'"));
    assert!(!csp.contains("unsafe-inline") && !csp.contains("http"));
    let html = String::from_utf8(res.body.clone()).unwrap();
    assert!(html.contains("/v1/openapi.json"));
    assert!(
        !html.contains("src=\"http") && !html.contains("href=\"http"),
        "no external resources"
    );
    // Every other route keeps the API's own policy.
    let other = app.get("/v1/openapi.json").await;
    assert_eq!(
        other.header("content-security-policy"),
        Some(neonpro::http::headers::CSP)
    );
}
