//! tRPC procedures for scheduling (`appointments.*`, `professionals.*`,
//! `aestheticScheduling.*`): thin adapters over the same service calls the REST handlers in
//! [`super::routes`] make (same validation, same audit, same commit points).

use serde::Deserialize;
use uuid::Uuid;

use super::model::{AppointmentInput, RescheduleInput, StatusInput};
use super::routes::{
    self, AppointmentListParams, AvailabilityParams, CancelInput, ContraindicationsInput,
    PlanCreateInput, PlanPreviewInput,
};
use super::views::{
    AppointmentPage, AppointmentView, AvailabilityView, BookedAppointmentView,
    ChangedAppointmentView, ContraindicationReport, CreatedPlanView, PlanPreviewView,
    ProcedureList, ProcedureView, ProfessionalList, ProfessionalView,
};
use super::{repo, service};
use crate::error::ApiError;
use crate::http::policy::Policy;
use crate::ratelimit::RateClass;
use crate::tenancy::perm;
use crate::trpc::{Ctx, Procedure, mutation, query};

/// Input of the procedures that read one record by id.
#[derive(Debug, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct IdInput {
    pub id: Uuid,
}

/// Input of `appointments.reschedule`: the REST `PATCH` body plus the version REST sends as
/// `If-Match`.
#[derive(Debug, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct RescheduleAppointmentInput {
    pub id: Uuid,
    /// The version the client last saw (`AppointmentView.version`).
    pub version: i32,
    pub patch: RescheduleInput,
}

/// Input of `appointments.cancel`.
#[derive(Debug, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
pub struct CancelAppointmentInput {
    pub id: Uuid,
    /// Reason code (see `CancelInput`).
    pub reason: String,
}

/// Input of `appointments.updateStatus`.
#[derive(Debug, Deserialize, ts_rs::TS)]
#[serde(deny_unknown_fields)]
#[ts(optional_fields)]
pub struct UpdateStatusInput {
    pub id: Uuid,
    pub status: String,
    /// Reason code (required for `cancelled`).
    pub reason: Option<String>,
}

/// The scheduling procedures (healthcare rate-limit class, like the REST routes).
pub fn procedures() -> Vec<Procedure> {
    let p = Policy::authenticated(RateClass::Healthcare);
    // Catalog and free times: the general class, like their REST routes.
    let g = Policy::authenticated(RateClass::General);
    vec![
        mutation("appointments.schedule", p, schedule),
        query("appointments.get", p, get),
        query("appointments.list", p, list),
        mutation("appointments.reschedule", p, reschedule),
        mutation("appointments.cancel", p, cancel),
        mutation("appointments.updateStatus", p, update_status),
        query("appointments.checkAvailability", g, check_availability),
        query("aestheticScheduling.getProcedures", g, get_procedures),
        query(
            "aestheticScheduling.checkContraindications",
            p,
            check_contraindications,
        ),
        query(
            "aestheticScheduling.previewTreatmentPlan",
            p,
            preview_treatment_plan,
        ),
        mutation(
            "aestheticScheduling.createTreatmentPlan",
            p,
            create_treatment_plan,
        ),
        query("professionals.list", g, professionals_list),
        query("professionals.get", g, professionals_get),
    ]
}

async fn schedule(ctx: Ctx, input: AppointmentInput) -> Result<BookedAppointmentView, ApiError> {
    let t = ctx.tenant::<perm::AppointmentsWrite>().await?;
    let input = input.validate()?;
    let actor = t.actor();
    let booked = service::book(&t.tx, ctx.state().cipher(), &actor, &input).await?;
    t.tx.commit().await?;
    Ok(BookedAppointmentView::shape(&booked, actor.role))
}

async fn get(ctx: Ctx, input: IdInput) -> Result<AppointmentView, ApiError> {
    let t = ctx.tenant::<perm::AppointmentsRead>().await?;
    let actor = t.actor();
    let a = service::get(&t.tx, ctx.state().cipher(), &actor, input.id).await?;
    t.tx.commit().await?;
    Ok(AppointmentView::shape(&a, actor.role))
}

async fn list(ctx: Ctx, input: AppointmentListParams) -> Result<AppointmentPage, ApiError> {
    let t = ctx.tenant::<perm::AppointmentsRead>().await?;
    routes::appointments_page(ctx.state(), t, input).await
}

async fn reschedule(
    ctx: Ctx,
    input: RescheduleAppointmentInput,
) -> Result<ChangedAppointmentView, ApiError> {
    let t = ctx.tenant::<perm::AppointmentsWrite>().await?;
    let patch = input.patch.validate()?;
    let actor = t.actor();
    let moved = service::reschedule(
        &t.tx,
        ctx.state().cipher(),
        &actor,
        input.id,
        input.version,
        &patch,
    )
    .await?;
    let view = routes::moved_view(&t.tx, actor.clinic_id, &moved, actor.role).await?;
    t.tx.commit().await?;
    Ok(view)
}

async fn cancel(
    ctx: Ctx,
    input: CancelAppointmentInput,
) -> Result<ChangedAppointmentView, ApiError> {
    let t = ctx.tenant::<perm::AppointmentsWrite>().await?;
    let (status, reason) = CancelInput {
        reason: input.reason,
    }
    .validate()?;
    let actor = t.actor();
    let a = service::change_status(
        &t.tx,
        ctx.state().cipher(),
        &actor,
        input.id,
        status,
        reason.as_deref(),
    )
    .await?;
    let view = routes::changed_view(&t.tx, actor.clinic_id, &a, actor.role).await?;
    t.tx.commit().await?;
    Ok(view)
}

async fn update_status(
    ctx: Ctx,
    input: UpdateStatusInput,
) -> Result<ChangedAppointmentView, ApiError> {
    let t = ctx.tenant::<perm::AppointmentsWrite>().await?;
    let (status, reason) = StatusInput {
        status: input.status,
        reason: input.reason,
    }
    .validate()?;
    let actor = t.actor();
    let a = service::change_status(
        &t.tx,
        ctx.state().cipher(),
        &actor,
        input.id,
        status,
        reason.as_deref(),
    )
    .await?;
    let view = routes::changed_view(&t.tx, actor.clinic_id, &a, actor.role).await?;
    t.tx.commit().await?;
    Ok(view)
}

async fn check_availability(
    ctx: Ctx,
    input: AvailabilityParams,
) -> Result<AvailabilityView, ApiError> {
    let t = ctx.tenant::<perm::CatalogRead>().await?;
    routes::availability_view(t, input).await
}

async fn get_procedures(ctx: Ctx, _: ()) -> Result<ProcedureList, ApiError> {
    let t = ctx.tenant::<perm::CatalogRead>().await?;
    let rows = repo::list_procedures(&t.tx, t.clinic_id).await?;
    t.tx.commit().await?;
    Ok(ProcedureList {
        items: rows.iter().map(ProcedureView::from).collect(),
    })
}

async fn professionals_list(ctx: Ctx, _: ()) -> Result<ProfessionalList, ApiError> {
    let t = ctx.tenant::<perm::CatalogRead>().await?;
    let rows = repo::list_professionals(&t.tx, t.clinic_id).await?;
    t.tx.commit().await?;
    Ok(ProfessionalList {
        items: rows.iter().map(ProfessionalView::from).collect(),
    })
}

async fn professionals_get(ctx: Ctx, input: IdInput) -> Result<ProfessionalView, ApiError> {
    let t = ctx.tenant::<perm::CatalogRead>().await?;
    let row = repo::find_professional(&t.tx, t.clinic_id, input.id)
        .await?
        .ok_or(ApiError::NotFound)?;
    t.tx.commit().await?;
    Ok(ProfessionalView::from(&row))
}

async fn check_contraindications(
    ctx: Ctx,
    input: ContraindicationsInput,
) -> Result<ContraindicationReport, ApiError> {
    let t = ctx.tenant::<perm::ClinicalRead>().await?;
    routes::contraindication_report(ctx.state(), t, input).await
}

async fn preview_treatment_plan(
    ctx: Ctx,
    input: PlanPreviewInput,
) -> Result<PlanPreviewView, ApiError> {
    let t = ctx.tenant::<perm::AppointmentsWrite>().await?;
    routes::plan_preview(ctx.state(), t, input).await
}

async fn create_treatment_plan(
    ctx: Ctx,
    input: PlanCreateInput,
) -> Result<CreatedPlanView, ApiError> {
    let t = ctx.tenant::<perm::AppointmentsWrite>().await?;
    routes::plan_create(ctx.state(), t, input).await
}
