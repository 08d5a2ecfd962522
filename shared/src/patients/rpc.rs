//! tRPC procedures for patients and consents: thin adapters over the same service calls the
//! REST handlers in [`super::routes`] make (same validation, same audit, same commit points).

use serde::Deserialize;
use uuid::Uuid;

use super::model::{ConsentInput, PatientInput};
use super::routes::{self, ConsentList, ListParams, PatientPage, keys, today};
use super::service::{self, ConsentView, PatientView};
use crate::error::ApiError;
use crate::http::policy::Policy;
use crate::ratelimit::RateClass;
use crate::tenancy::perm;
use crate::trpc::{Ctx, Procedure, mutation, query};

/// Input of `patients.getById`.
#[derive(Debug, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct PatientIdInput {
    pub id: Uuid,
}

/// Input of `patients.update`: the REST `PATCH` body plus the version REST sends as `If-Match`.
#[derive(Debug, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct UpdatePatientInput {
    pub id: Uuid,
    /// The version the client last saw (`PatientView.version`).
    pub version: i32,
    pub patch: PatientInput,
}

/// Input of `patients.restrict`.
#[derive(Debug, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct RestrictInput {
    pub id: Uuid,
    /// Reason code (default `lgpd_erasure_request`).
    pub reason: Option<String>,
}

/// Input of `patients.consents.list`.
#[derive(Debug, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase")]
pub struct PatientConsentsInput {
    pub patient_id: Uuid,
}

/// Input of `patients.consents.grant`.
#[derive(Debug, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase")]
pub struct GrantConsentInput {
    pub patient_id: Uuid,
    pub consent: ConsentInput,
}

/// Input of `patients.consents.withdraw`.
#[derive(Debug, Deserialize, ts_rs::TS)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[ts(rename_all = "camelCase", optional_fields)]
pub struct WithdrawConsentInput {
    pub patient_id: Uuid,
    pub consent_id: Uuid,
    /// Short reason code (a-z and `_`).
    pub reason: Option<String>,
}

/// The patient procedures (healthcare rate-limit class, like the REST routes).
pub fn procedures() -> Vec<Procedure> {
    let p = Policy::authenticated(RateClass::Healthcare);
    vec![
        mutation("patients.create", p, create),
        query("patients.getById", p, get_by_id),
        query("patients.list", p, list),
        mutation("patients.update", p, update),
        mutation("patients.restrict", p, restrict),
        query("patients.consents.list", p, consents_list),
        mutation("patients.consents.grant", p, consents_grant),
        mutation("patients.consents.withdraw", p, consents_withdraw),
    ]
}

async fn create(ctx: Ctx, input: PatientInput) -> Result<PatientView, ApiError> {
    let t = ctx.tenant::<perm::PatientsWrite>().await?;
    let actor = t.actor();
    let (patient, _) = service::create(&t.tx, keys(ctx.state()), &actor, &input, today()).await?;
    t.tx.commit().await?;
    Ok(service::shape(&patient, actor.role))
}

async fn get_by_id(ctx: Ctx, input: PatientIdInput) -> Result<PatientView, ApiError> {
    let t = ctx.tenant::<perm::PatientsRead>().await?;
    let actor = t.actor();
    let patient = service::get(&t.tx, keys(ctx.state()), &actor, input.id).await?;
    t.tx.commit().await?;
    Ok(service::shape(&patient, actor.role))
}

async fn list(ctx: Ctx, input: ListParams) -> Result<PatientPage, ApiError> {
    let t = ctx.tenant::<perm::PatientsRead>().await?;
    routes::list_page(ctx.state(), t, input).await
}

async fn update(ctx: Ctx, input: UpdatePatientInput) -> Result<PatientView, ApiError> {
    let t = ctx.tenant::<perm::PatientsWrite>().await?;
    let actor = t.actor();
    let patient = service::update(
        &t.tx,
        keys(ctx.state()),
        &actor,
        input.id,
        input.version,
        &input.patch,
        today(),
    )
    .await?;
    t.tx.commit().await?;
    Ok(service::shape(&patient, actor.role))
}

async fn restrict(ctx: Ctx, input: RestrictInput) -> Result<(), ApiError> {
    let t = ctx.tenant::<perm::PatientsRestrict>().await?;
    let reason = routes::restriction_reason(input.reason)?;
    service::restrict(&t.tx, &t.actor(), input.id, &reason).await?;
    t.tx.commit().await
}

async fn consents_list(ctx: Ctx, input: PatientConsentsInput) -> Result<ConsentList, ApiError> {
    let t = ctx.tenant::<perm::PatientsRead>().await?;
    routes::consents(t, input.patient_id).await
}

async fn consents_grant(ctx: Ctx, input: GrantConsentInput) -> Result<ConsentView, ApiError> {
    let t = ctx.tenant::<perm::ConsentsWrite>().await?;
    let saved = routes::grant(&t, input.patient_id, &input.consent).await?;
    t.tx.commit().await?;
    Ok(saved)
}

async fn consents_withdraw(ctx: Ctx, input: WithdrawConsentInput) -> Result<ConsentView, ApiError> {
    let t = ctx.tenant::<perm::PatientsRead>().await?;
    routes::withdraw(t, input.patient_id, input.consent_id, input.reason).await
}
