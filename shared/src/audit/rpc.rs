//! tRPC procedures for the audit trail (admins): adapters over the REST handlers' service calls.

use super::routes::{self, AuditListParams, AuditPage, VERIFY_TIMEOUT};
use super::service::ChainReport;
use crate::error::ApiError;
use crate::http::policy::Policy;
use crate::ratelimit::RateClass;
use crate::tenancy::perm;
use crate::trpc::{Ctx, Procedure, query};

/// The audit procedures.
pub fn procedures() -> Vec<Procedure> {
    let p = Policy::authenticated(RateClass::Healthcare);
    vec![
        query("audit.list", p, list),
        query("audit.verify", p.timeout(VERIFY_TIMEOUT), verify),
    ]
}

async fn list(ctx: Ctx, input: AuditListParams) -> Result<AuditPage, ApiError> {
    routes::list_page(ctx.tenant::<perm::AuditRead>().await?, input).await
}

async fn verify(ctx: Ctx, _: ()) -> Result<ChainReport, ApiError> {
    routes::verify(ctx.tenant::<perm::AuditRead>().await?).await
}
