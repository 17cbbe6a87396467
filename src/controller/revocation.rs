//! Revocation latency in the cluster: the intent of a suspension recorded on its LastPassUser
//! (so a restart keeps it), the intents read back for the engine's [`confirmed`], and each
//! confirmed revocation reported as a histogram sample, an Event on the user and
//! `status.revocation` of the integration.
//!
//! [`confirmed`]: crate::engine::revocation::confirmed

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use kube::api::Api;
use kube::{Client, ResourceExt};
use serde_json::json;
use tracing::{info, warn};

use crate::crd::{
    DirectoryIntegration, LastPassUser, RevocationStatus, SOURCE_LABEL,
    SUSPEND_REQUESTED_ANNOTATION, UserPhase,
};
use crate::engine::desire::resource_ref;
use crate::engine::model::ResourceRef;
use crate::engine::revocation::{Intent, Revocation, fold};

use super::context::Context;
use super::error::Error;
use super::status::merge_patch;

/// The `integration` label of an integration's metrics: `<namespace>/<name>`.
pub fn integration_label(i: &DirectoryIntegration) -> String {
    format!("{}/{}", i.namespace().unwrap_or_default(), i.name_any())
}

/// The `source` label of a user: its source label when it is one of the known values.
fn source_of(user: &LastPassUser) -> String {
    match user.labels().get(SOURCE_LABEL).map(String::as_str) {
        None => "git".into(),
        Some(s @ ("git" | "scim" | "ldap" | "adopted")) => s.into(),
        Some(_) => "other".into(),
    }
}

fn suspend_requested_at(user: &LastPassUser) -> Option<jiff::Timestamp> {
    user.annotations()
        .get(SUSPEND_REQUESTED_ANNOTATION)?
        .parse()
        .ok()
}

/// The intents of these users: the deletion timestamp of a deleted user that had a LastPass
/// account, else the recorded first sight of `suspended: true`.
pub fn intents<'a>(
    users: impl IntoIterator<Item = &'a LastPassUser>,
) -> BTreeMap<ResourceRef, Intent> {
    users
        .into_iter()
        .filter_map(|u| {
            let had_account = u.status.as_ref().is_some_and(|s| s.lastpass_id.is_some());
            let requested_at = match &u.metadata.deletion_timestamp {
                Some(t) if had_account => t.0,
                Some(_) => return None,
                None => suspend_requested_at(u)?,
            };
            Some((
                resource_ref(u),
                Intent {
                    requested_at,
                    source: source_of(u),
                },
            ))
        })
        .collect()
}

async fn set_annotation(
    client: &Client,
    user: &LastPassUser,
    value: Option<String>,
) -> Result<(), Error> {
    let patch = json!({"metadata": {"annotations": {SUSPEND_REQUESTED_ANNOTATION: value}}});
    let doing = format!("annotating with {SUSPEND_REQUESTED_ANNOTATION} the LastPassUser");
    merge_patch(client, user, &patch, &doing).await
}

/// Removes the suspension intent `value` of a user whose suspension LastPass confirmed. Call
/// it only once the user's status says `Suspended`: a controller that saw `suspended: true`
/// with neither intent nor that status would record a new intent, which a later sync would
/// count as a second revocation. Read fresh first: an intent recorded since (the user was
/// re-enabled and suspended again), or a user deleted and created again under the name, is
/// left alone, and the removal is conditional on the resourceVersion read.
pub async fn forget_intent(client: &Client, user: &LastPassUser, value: &str) {
    let (Some(ns), name) = (user.namespace(), user.name_any()) else {
        return;
    };
    let api: Api<LastPassUser> = Api::namespaced(client.clone(), &ns);
    let fresh = match api.get_opt(&name).await {
        Ok(Some(fresh)) => fresh,
        Ok(None) => return,
        Err(e) => {
            warn!(error = %e, user = %name, "cannot read the user to remove its suspension intent; the next sync tries again");
            return;
        }
    };
    let same_user = fresh.uid().is_some() && fresh.uid() == user.uid();
    let same_intent = fresh
        .annotations()
        .get(SUSPEND_REQUESTED_ANNOTATION)
        .map(String::as_str)
        == Some(value);
    if !same_user || !same_intent {
        return;
    }
    let patch = json!({"metadata": {
        "resourceVersion": fresh.resource_version(),
        "annotations": {SUSPEND_REQUESTED_ANNOTATION: null},
    }});
    let doing = format!("removing {SUSPEND_REQUESTED_ANNOTATION} from the LastPassUser");
    if let Err(e) = merge_patch(client, &fresh, &patch, &doing).await {
        warn!(error = %e, "cannot remove the suspension intent; the next sync tries again, and it is counted once all the same");
    }
}

/// The users whose suspension this sync confirmed and who still carry its intent: confirmed
/// again by every sync until the intent is removed, so a failed removal is retried.
pub fn intents_done(revoked: &[Revocation]) -> Vec<ResourceRef> {
    revoked
        .iter()
        .filter(|r| r.action == "Suspend")
        .map(|r| r.resource.clone())
        .collect()
}

/// Records the first sight of `suspended: true` on a user LastPass does not yet report
/// suspended, and forgets it when `suspended` goes back to false before the confirmation.
pub async fn track_intent(ctx: &Context, user: &LastPassUser) -> Result<(), Error> {
    let recorded = user
        .annotations()
        .contains_key(SUSPEND_REQUESTED_ANNOTATION);
    let suspended_already = user
        .status
        .as_ref()
        .is_some_and(|s| s.phase == Some(UserPhase::Suspended));
    if user.spec.suspended && !recorded && !suspended_already {
        let now = jiff::Timestamp::now().to_string();
        info!(user = %user.name_any(), at = %now, "suspension asked for; its revocation latency counts from now");
        set_annotation(&ctx.client, user, Some(now)).await
    } else if !user.spec.suspended && recorded {
        set_annotation(&ctx.client, user, None).await
    } else {
        Ok(())
    }
}

/// Folds this sync's confirmed revocations into the integration's window: the
/// `status.revocation` to write (the current one when nothing new happened) and the new
/// revocations to report.
pub fn window(
    integration: &DirectoryIntegration,
    confirmed: Vec<Revocation>,
    now: jiff::Timestamp,
) -> (Option<RevocationStatus>, Vec<Revocation>) {
    let previous = integration
        .status
        .as_ref()
        .and_then(|s| s.revocation.as_ref());
    match fold(previous, confirmed, now) {
        Some((status, fresh)) => (Some(status), fresh),
        None => (previous.cloned(), Vec::new()),
    }
}

/// Reports revocations recorded in the integration's status: a histogram sample and an Event
/// each. The suspension intents they close are removed by the status writes
/// ([`intents_done`]), after the statuses that say `Suspended`.
pub async fn report(
    ctx: &Context,
    integration: &DirectoryIntegration,
    users: &HashMap<ResourceRef, &Arc<LastPassUser>>,
    fresh: &[Revocation],
) {
    let label = integration_label(integration);
    let metrics = crate::telemetry::metrics::global();
    for r in fresh {
        metrics.revoked(&label, &r.source, r.action, r.seconds);
        info!(user = %r.username, action = r.action, seconds = r.seconds, "revocation confirmed by LastPass");
        let Some(&user) = users.get(&r.resource) else {
            continue;
        };
        let from = if r.action == "Suspend" {
            "suspended: true was first seen"
        } else {
            "the resource was deleted"
        };
        let note = format!(
            "access revoked in {:.1}s: LastPass confirmed {} of {} {:.1}s after {from} ({})",
            r.seconds, r.action, r.username, r.seconds, r.requested_at
        );
        super::events::revoked(ctx, user.as_ref(), note).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn user(name: &str, labels: &[(&str, &str)]) -> Arc<LastPassUser> {
        let spec: crate::crd::LastPassUserSpec = serde_json::from_value(json!({
            "integrationRef": {"name": "acme"}, "username": format!("{name}@x.io"),
        }))
        .unwrap();
        let mut u = LastPassUser::new(name, spec);
        u.metadata.namespace = Some("ns".into());
        u.metadata.labels = Some(
            labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        );
        Arc::new(u)
    }

    #[test]
    fn intents_come_from_deletion_timestamps_and_the_recorded_suspension() {
        let t = |s| jiff::Timestamp::from_second(s).unwrap();
        let mut deleted = (*user("gone", &[(SOURCE_LABEL, "scim")])).clone();
        deleted.metadata.deletion_timestamp =
            Some(k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(t(100)));
        deleted.status = Some(crate::crd::LastPassUserStatus {
            lastpass_id: Some("7".into()),
            ..Default::default()
        });
        let mut never_invited = deleted.clone();
        never_invited.metadata.name = Some("never".into());
        never_invited.status = None;
        let mut suspended = (*user("sus", &[(SOURCE_LABEL, "whatever")])).clone();
        suspended.metadata.annotations = Some(BTreeMap::from([(
            SUSPEND_REQUESTED_ANNOTATION.to_string(),
            t(120).to_string(),
        )]));
        let plain = user("plain", &[]);
        let all = [deleted, never_invited, suspended, (*plain).clone()];
        let got: Vec<(String, i64, String)> = intents(all.iter())
            .into_iter()
            .map(|(r, i)| (r.name, i.requested_at.as_second(), i.source))
            .collect();
        assert_eq!(
            got,
            [
                ("gone".to_string(), 100, "scim".to_string()),
                ("sus".to_string(), 120, "other".to_string())
            ]
        );
    }
}
