//! Events (events.k8s.io/v1) for every action and failure, on the resource concerned.

use std::collections::BTreeMap;
use std::sync::Arc;

use futures::{StreamExt, stream};
use kube::runtime::events::{Event, EventType, Recorder};
use kube::{Resource, ResourceExt};
use tracing::warn;

use crate::crd::{
    APPROVE_PLAN_ANNOTATION, DirectoryIntegration, LastPassGroup, LastPassUser,
    REJECT_PLAN_ANNOTATION,
};
use crate::engine::account::AccountSync;
use crate::engine::desire::resource_ref;
use crate::engine::model::user_key;
use crate::engine::report_plan::plan_summary;
use crate::engine::safeguard::Decision;
use crate::lastpass::CommandKind;
use crate::status::Reason;
use crate::status::refusal::how_to_decide;

use super::context::Context;

/// Publishes an Event into the Recorder's series: a second Event of the same reason, action
/// and object within minutes counts up the first (and keeps its note), as client-go's does.
async fn emit<K: Resource<DynamicType = ()>>(
    ctx: &Context,
    obj: &K,
    type_: EventType,
    reason: Reason,
    action: &str,
    note: String,
) {
    let event = crate::status::event::event(type_, reason, action, &note);
    publish_to(&ctx.recorder, obj, &event).await;
}

/// Publishes an Event whose note is the point (a bulk plan's summary, a dry run's plan) as an
/// Event of its own, not a series that would show only the first one's note: a Recorder with
/// an empty cache creates a new Event each time.
async fn emit_each<K: Resource<DynamicType = ()>>(ctx: &Context, obj: &K, event: Event) {
    let recorder = Recorder::new(ctx.client.clone(), ctx.reporter.clone());
    publish_to(&recorder, obj, &event).await;
}

async fn publish_to<K: Resource<DynamicType = ()>>(recorder: &Recorder, obj: &K, event: &Event) {
    if let Err(e) = recorder.publish(event, &obj.object_ref(&())).await {
        warn!(error = %e, reason = %event.reason, "cannot publish an Event");
    }
}

fn reason_of(command: CommandKind) -> (Reason, &'static str) {
    match command {
        CommandKind::BatchAdd => (Reason::Invited, "invited to LastPass"),
        CommandKind::UpdateUser => (Reason::Updated, "LastPass profile updated"),
        CommandKind::BatchChangeGrp => {
            (Reason::GroupsChanged, "LastPass group memberships changed")
        }
        CommandKind::DelUser => (Reason::Deprovisioned, "deprovisioned in LastPass"),
        CommandKind::DisableUser => (Reason::Suspended, "disabled in LastPass"),
        CommandKind::EnableUser => (Reason::Enabled, "enabled in LastPass again"),
        CommandKind::ReinviteUser => (Reason::Reinvited, "invitation sent again"),
        CommandKind::ResetPassword => (Reason::PasswordReset, "password reset e-mailed"),
        CommandKind::GetUserData => (Reason::Observed, "read"),
    }
}

/// One user's Event, owned (no lifetime parameter: see `publish`).
struct PerUser {
    user: Arc<LastPassUser>,
    type_: EventType,
    reason: Reason,
    action: &'static str,
    note: String,
}

/// Events of one sync: each applied change and failure on its user (a bulk plan's invitations,
/// updates and membership changes in one summary on the integration instead, see
/// [`super::bulk`]), and the account-level outcomes (dry-run plan, blocked deprovisions, sync
/// errors) on the integration.
pub async fn publish(
    ctx: &Arc<Context>,
    integration: &DirectoryIntegration,
    users: &[Arc<LastPassUser>],
    sync: &AccountSync,
) {
    // A user's Events go to the resource that owns the username in this integration, matched
    // by kind, namespace and name: never to a same-named resource elsewhere.
    let by_key: BTreeMap<String, &Arc<LastPassUser>> = users
        .iter()
        .filter(|u| {
            let me = resource_ref(u.as_ref());
            let key = user_key(&u.spec.username);
            sync.desire
                .desired
                .users
                .get(&key)
                .is_some_and(|d| d.resource == me)
                || sync
                    .desire
                    .desired
                    .leaving
                    .get(&key)
                    .is_some_and(|d| d.resource == me)
        })
        .map(|u| (user_key(&u.spec.username), u))
        .collect();
    // One Event per change, sent `write_concurrency` at a time, so that thousands of them do
    // not hold the next sync back.
    // Owned items: the account task is spawned, and borrowed ones trip a higher-ranked
    // lifetime check on its future.
    let mut per_user: Vec<PerUser> = Vec::new();
    let split = super::bulk::split(&sync.outcome.applied);
    for applied in split.per_user {
        if let Some(u) = by_key.get(&user_key(&applied.username)) {
            let (reason, note) = reason_of(applied.command);
            let action = applied.command.as_str();
            per_user.push(PerUser {
                user: Arc::clone(u),
                type_: EventType::Normal,
                reason,
                action,
                note: note.to_string(),
            });
        }
    }
    for failure in &sync.outcome.failures {
        if let Some(u) = failure
            .username
            .as_deref()
            .and_then(|n| by_key.get(&user_key(n)))
        {
            let note = format!("LastPass refused {}: {}", failure.command, failure.message);
            let action = failure.command.as_str();
            per_user.push(PerUser {
                user: Arc::clone(u),
                type_: EventType::Warning,
                reason: Reason::LastPassRejected,
                action,
                note,
            });
        }
    }
    stream::iter(per_user)
        .map(|e: PerUser| async move {
            emit(ctx, e.user.as_ref(), e.type_, e.reason, e.action, e.note).await
        })
        .buffer_unordered(ctx.settings.write_concurrency.max(1))
        .collect::<Vec<()>>()
        .await;
    if let Some(note) = split.summary {
        let event =
            crate::status::event::event(EventType::Normal, Reason::BulkApplied, "Sync", &note);
        emit_each(ctx, integration, event).await;
    }
    if let Some(b) = &sync.outcome.blocked {
        emit(
            ctx,
            integration,
            EventType::Warning,
            Reason::DeprovisionBlocked,
            "Guard",
            format!(
                "plan {} held: {} deprovisions, {} suspensions, {} membership removals ({}); {}",
                b.plan_id,
                b.deprovisions,
                b.suspensions,
                b.membership_removals,
                b.reason,
                how_to_decide(
                    &integration.namespace().unwrap_or_default(),
                    &integration.name_any(),
                    &b.plan_id
                ),
            ),
        )
        .await;
    }
    for d in &sync.outcome.safeguard.decisions {
        let (reason, annotation, note) = match d {
            Decision::Approved { plan_id, changes } => (
                Reason::PlanApproved,
                APPROVE_PLAN_ANNOTATION,
                format!("plan {plan_id} approved: {changes} held changes released"),
            ),
            Decision::Rejected {
                plan_id,
                released,
                unapplied,
            } => (
                Reason::PlanRejected,
                REJECT_PLAN_ANNOTATION,
                format!(
                    "plan {plan_id} rejected: {released} deleted users released without \
                     touching LastPass, {unapplied} suspensions/removals left unapplied"
                ),
            ),
        };
        let by = crate::crd::annotation_manager(integration, annotation).map_or_else(
            || "by an unknown manager".to_string(),
            |m| format!("by {m}"),
        );
        emit(
            ctx,
            integration,
            EventType::Normal,
            reason,
            "Decide",
            format!("{note} ({by}, annotation {annotation})"),
        )
        .await;
    }
    // A dry run's plan, each time it differs from the one in status (an empty plan included:
    // "nothing would change" is what a dry run is run to learn).
    let dry_plan = sync
        .outcome
        .dry_run
        .then(|| plan_summary(&sync.outcome.initial_plan));
    let previous = integration.status.as_ref().and_then(|s| s.plan.as_ref());
    if let Some(summary) = dry_plan.filter(|s| previous != Some(s)) {
        let p = &sync.outcome.initial_plan;
        let note = if p.is_empty() {
            "dry run: nothing would change in LastPass; see status.plan".to_string()
        } else {
            format!(
                "dry run: would invite {}, update {}, change {} memberships, deprovision {}; see status.plan",
                p.creates.len(),
                p.updates.len() + p.disables.len() + p.enables.len(),
                p.membership_changes(),
                p.deprovisions.len()
            )
        };
        let note = format!("{note} (plan {})", summary.id);
        let event =
            crate::status::event::event(EventType::Normal, Reason::DryRunPlan, "Plan", &note);
        emit_each(ctx, integration, event).await;
    }
    if sync.outcome.observations > 0 && !sync.outcome.applied.is_empty() && !sync.outcome.dry_run {
        let drift = sync.outcome.applied.len();
        emit(
            ctx,
            integration,
            EventType::Normal,
            Reason::Synced,
            "Sync",
            format!("{drift} changes applied in LastPass"),
        )
        .await;
    }
    if let Some(e) = &sync.outcome.error {
        let reason = match e.class() {
            crate::lastpass::ErrorClass::Auth => Reason::CredentialsInvalid,
            crate::lastpass::ErrorClass::Untrusted => Reason::ReadNotTrusted,
            _ => Reason::SyncFailed,
        };
        emit(
            ctx,
            integration,
            EventType::Warning,
            reason,
            "Sync",
            e.to_string(),
        )
        .await;
    }
}

/// `Revoked` Event on a user whose deprovision or suspension LastPass confirmed, with the
/// revocation latency.
pub async fn revoked(ctx: &Context, user: &LastPassUser, note: String) {
    emit(
        ctx,
        user,
        EventType::Normal,
        Reason::Revoked,
        "Revoke",
        note,
    )
    .await;
}

/// Event for a credentials Secret that is missing or incomplete.
pub async fn credentials_missing(ctx: &Context, integration: &DirectoryIntegration, message: &str) {
    emit(
        ctx,
        integration,
        EventType::Warning,
        Reason::CredentialsMissing,
        "ReadCredentials",
        message.to_string(),
    )
    .await;
}

/// Event on a user or group whose reference cannot be resolved.
pub async fn reference_problem<K: Resource<DynamicType = ()>>(
    ctx: &Context,
    obj: &K,
    reason: Reason,
    message: &str,
) {
    emit(
        ctx,
        obj,
        EventType::Warning,
        reason,
        "ResolveIntegration",
        message.to_string(),
    )
    .await;
}

/// `GroupTakeoverPending` Event on each directory-made group that has just become pending
/// (its current status does not say so yet), so a steady resync repeats nothing.
pub async fn takeover_pending(ctx: &Context, groups: &[Arc<LastPassGroup>], sync: &AccountSync) {
    use crate::status::types::GROUP_TAKEOVER_PENDING;
    let pending = |conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]| {
        conditions
            .iter()
            .find(|c| c.type_ == GROUP_TAKEOVER_PENDING && c.status == "True")
            .map(|c| c.message.clone())
    };
    for g in groups {
        let Some(next) = sync.report.groups.get(&resource_ref(g.as_ref())) else {
            continue;
        };
        let was = g.status.as_ref().and_then(|s| pending(&s.conditions));
        if let (Some(message), None) = (pending(&next.conditions), was) {
            emit(
                ctx,
                g.as_ref(),
                EventType::Warning,
                Reason::GroupTakeoverPending,
                "Plan",
                message,
            )
            .await;
        }
    }
}
