//! An integration whose spec breaks a rule of its CRD (see [`crate::engine::spec_check`]) is
//! refused before its credentials are read: its status says which rule and how to fix it, and
//! the account task stops there, so nothing is sent to LastPass.

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

use crate::crd::DirectoryIntegration;
use crate::engine::spec_check::{check_integration, refused_status, summary};

use super::context::Context;
use super::error::Error;
use super::status::apply_status;
use crate::status::writer::{Status, next_status};

/// `Ok` when `integration` breaks no rule. Otherwise writes `Ready=False` / `Synced=False`
/// (reason `InsecureEndpoint` or `InvalidSpec`, only if that changes the status) and returns
/// [`Error::InvalidSpec`].
pub async fn refuse(
    ctx: &Context,
    integration: &DirectoryIntegration,
    now: &Time,
) -> Result<(), Error> {
    let problems = check_integration(integration);
    let Some((_, message)) = summary(&problems) else {
        return Ok(());
    };
    let status = refused_status(integration.status.as_ref(), &problems, now);
    if let Some(next) = next_status(
        integration.status.as_ref(),
        status,
        integration.metadata.generation,
        now,
    ) {
        // Only the engine's part: the SCIM token manager and the LDAP pull own the rest.
        apply_status(&ctx.client, integration, &next.owned()).await?;
    }
    Err(Error::InvalidSpec(message))
}
