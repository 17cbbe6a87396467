//! The safeguard's part of the statuses: `DeprovisionBlocked`, `status.held`,
//! `status.safeguard`, and `Synced=False`/`PlanRejected` on resources whose changes a person
//! rejected. Pure, like [`super::report`].

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{Condition, Time};

use crate::crd::{DirectoryIntegrationStatus, HeldPlan, SafeguardStatus};

use super::converge::ConvergeOutcome;
use super::desire::Desire;
use super::guard::Blocked;
use super::model::{RefKind, ResourceRef};
use super::report_plan::SAMPLE_SIZE;
use super::safeguard::Change;
use crate::status::refusal;
use crate::status::{Reason, condition, set_condition, types};

/// Held changes listed in full in `status.held.changes` at most: a larger set (a mass event in
/// a big account) would push the integration towards the API server's object size limit. Such
/// a set is listed by its sample only, and an approval or rejection then names it by the id of
/// the set still pending.
pub const MAX_HELD_CHANGES: usize = 1000;

/// [`refusal::how_to_decide`] for the integration a desire is for.
pub fn how_to_decide_for(desire: &Desire, id: &str) -> String {
    let i = &desire.integration;
    refusal::how_to_decide(i.namespace.as_deref().unwrap_or_default(), &i.name, id)
}

/// `status.held` for a held set.
pub fn held_status(b: &Blocked) -> HeldPlan {
    let n = |v: usize| i64::try_from(v).unwrap_or(i64::MAX);
    let changes: Vec<_> = b.changes.iter().map(Change::item).collect();
    HeldPlan {
        plan_id: b.plan_id.clone(),
        deprovisions: n(b.deprovisions),
        suspensions: n(b.suspensions),
        membership_removals: n(b.membership_removals),
        reason: b.reason.clone(),
        sample: changes.iter().take(SAMPLE_SIZE).cloned().collect(),
        changes: if changes.len() <= MAX_HELD_CHANGES {
            changes
        } else {
            Vec::new()
        },
    }
}

/// The held plan to show: this sync's, or the previous one when no read succeeded (nothing
/// was judged, so nothing was released either).
fn held(outcome: &ConvergeOutcome) -> Option<HeldPlan> {
    if outcome.observations == 0 {
        return outcome.safeguard.previous_held.clone();
    }
    outcome.blocked.as_ref().map(held_status)
}

/// The `DeprovisionBlocked` condition of the integration.
pub fn blocked_condition(desire: &Desire, outcome: &ConvergeOutcome, now: &Time) -> Condition {
    match held(outcome) {
        Some(h) => condition(
            types::DEPROVISION_BLOCKED,
            true,
            Reason::DeprovisionBlocked,
            format!(
                "plan {id} is held: {} users to deprovision, {} users to suspend, {} membership \
                 removals ({}); nothing destructive was done, the rest of the plan still runs. \
                 To decide: {}",
                h.deprovisions,
                h.suspensions,
                h.membership_removals,
                h.reason,
                how_to_decide_for(desire, &h.plan_id),
                id = h.plan_id,
            ),
            None,
            now,
        ),
        None => condition(
            types::DEPROVISION_BLOCKED,
            false,
            Reason::WithinBudget,
            "",
            None,
            now,
        ),
    }
}

/// `status.held` and `status.safeguard` of the integration.
pub fn integration(status: &mut DirectoryIntegrationStatus, outcome: &ConvergeOutcome) {
    status.held = held(outcome);
    let record = &outcome.safeguard.record;
    status.safeguard = (*record != SafeguardStatus::default()).then(|| record.clone());
}

/// The safeguard's conditions on the resources it concerns, set over the report's own as each
/// status is built (so a status that would not change need not be built in full first).
#[derive(Debug, Default)]
pub struct Marks(BTreeMap<ResourceRef, Vec<Condition>>);

impl Marks {
    /// `Ready=False`, reason `DeprovisionBlocked`, on each user whose suspension and each
    /// group whose membership removals the safeguard holds (held deprovisions are reported
    /// with the deleted user); then `Synced=False`, reason `PlanRejected`, on each resource
    /// whose suspension or removal a person rejected (until its spec changes).
    pub fn of(desire: &Desire, outcome: &ConvergeOutcome, now: &Time) -> Self {
        let mut marks = Marks::default();
        marks.held(desire, outcome, now);
        marks.rejected(outcome, now);
        marks
    }

    /// Sets the marks of `resource` on its `conditions`.
    pub fn apply(&self, resource: &ResourceRef, conditions: &mut Vec<Condition>) {
        for c in self.0.get(resource).into_iter().flatten() {
            set_condition(conditions, c.clone());
        }
    }

    fn add(&mut self, resource: ResourceRef, condition: Condition) {
        if resource.kind != RefKind::Integration {
            self.0.entry(resource).or_default().push(condition);
        }
    }

    fn rejected(&mut self, outcome: &ConvergeOutcome, now: &Time) {
        for u in &outcome.safeguard.unapplied {
            let what = match &u.change {
                Change::Suspend { user } => format!("suspension of {user}"),
                Change::RemoveFromGroup { user, group } => {
                    format!("removal of {user} from {group}")
                }
                Change::Deprovision { user, .. } => format!("deprovision of {user}"),
            };
            let synced = condition(
                types::SYNCED,
                false,
                Reason::PlanRejected,
                format!(
                    "the {what} was rejected with plan {}; it stays unapplied until this \
                     resource's spec changes",
                    u.plan_id
                ),
                None,
                now,
            );
            self.add(u.resource.clone(), synced);
        }
    }

    fn held(&mut self, desire: &Desire, outcome: &ConvergeOutcome, now: &Time) {
        let Some(b) = &outcome.blocked else {
            return;
        };
        let desired = &desire.desired;
        let mut by_resource: BTreeMap<ResourceRef, usize> = BTreeMap::new();
        for c in &b.changes {
            let cause = match c {
                Change::Suspend { user } => desired.users.get(user).map(|u| u.resource.clone()),
                Change::RemoveFromGroup { user, group } => desired
                    .groups
                    .get(group)
                    .map(|g| g.resource.clone())
                    .or_else(|| desired.users.get(user).map(|u| u.resource.clone())),
                Change::Deprovision { .. } => None,
            };
            if let Some(r) = cause {
                *by_resource.entry(r).or_default() += 1;
            }
        }
        for (resource, n) in by_resource {
            let ready = condition(
                types::READY,
                false,
                Reason::DeprovisionBlocked,
                format!(
                    "{n} destructive changes held by the safeguard in plan {} ({}); {}",
                    b.plan_id,
                    b.reason,
                    how_to_decide_for(desire, &b.plan_id),
                ),
                None,
                now,
            );
            self.add(resource, ready);
        }
    }
}
