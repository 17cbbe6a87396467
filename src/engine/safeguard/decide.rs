//! A person's decisions: `approve-plan` and `reject-plan`, and what a rejection leaves
//! unapplied.

use std::collections::BTreeSet;

use crate::crd::{RejectedChange, RejectedPlan, SafeguardStatus};

use super::super::guard::Guards;
use super::super::model::{Desired, RefKind, ResourceRef, user_key};
use super::super::plan::Plan;
use super::{Change, Decision, MAX_CONSUMED, MAX_REJECTED, Unapplied, plan_id, remove};

/// The held set an id names: the set of `status.held` if its digest is that id, or else the
/// destructive set pending now if that is the one (a plan held before its status was
/// written). Any other id names nothing.
fn named_set(id: &str, guards: &Guards, candidate: &BTreeSet<Change>) -> Option<BTreeSet<Change>> {
    if let Some(held) = &guards.held {
        let set: Option<BTreeSet<Change>> = held.changes.iter().map(Change::from_item).collect();
        if let Some(set) = set
            && held.plan_id == id
            && plan_id(&set) == id
        {
            return Some(set);
        }
    }
    (!candidate.is_empty() && plan_id(candidate) == id).then(|| candidate.clone())
}

/// Whether a person already decided about `id` (approved and used, or rejected).
fn decided(record: &SafeguardStatus, id: &str) -> bool {
    record.consumed_approvals.iter().any(|c| c == id)
        || record.rejected.iter().any(|r| r.plan_id == id)
}

/// Applies `approve-plan`: the changes of the named held set still pending are released. The
/// caller consumes the id once they were sent (see [`consume`]).
pub fn approve(
    record: &SafeguardStatus,
    guards: &Guards,
    candidate: &BTreeSet<Change>,
) -> Option<(String, BTreeSet<Change>)> {
    let id = guards.approved_plan.as_deref()?;
    if decided(record, id) {
        return None;
    }
    let set = named_set(id, guards, candidate)?;
    let released: BTreeSet<Change> = set.intersection(candidate).cloned().collect();
    Some((id.to_string(), released))
}

/// Records an approval as used: it never approves again.
pub fn consume(record: &mut SafeguardStatus, id: &str, changes: usize) -> Decision {
    record.consumed_approvals.push(id.to_string());
    let excess = record.consumed_approvals.len().saturating_sub(MAX_CONSUMED);
    record.consumed_approvals.drain(..excess);
    Decision::Approved {
        plan_id: id.to_string(),
        changes,
    }
}

/// The resource that asked for a change: the user's own for a suspension; for a removal, the
/// LastPassGroup naming the group if there is one, else the user's.
fn cause(change: &Change, desired: &Desired) -> Option<ResourceRef> {
    let user = desired.users.get(change.user()).map(|u| u.resource.clone());
    match change {
        Change::Deprovision { user, .. } => desired.leaving.get(user).map(|l| l.resource.clone()),
        Change::Suspend { .. } => user,
        Change::RemoveFromGroup { group, .. } => desired
            .groups
            .get(group)
            .map(|g| g.resource.clone())
            .or(user),
    }
}

fn kind_name(kind: RefKind) -> &'static str {
    match kind {
        RefKind::User => "LastPassUser",
        RefKind::Group => "LastPassGroup",
        RefKind::Integration => "DirectoryIntegration",
    }
}

fn resource_of(c: &RejectedChange) -> ResourceRef {
    ResourceRef {
        kind: RefKind::of_kind(&c.kind),
        namespace: c.namespace.clone(),
        name: c.name.clone(),
    }
}

fn change_of(c: &RejectedChange) -> Option<Change> {
    let user = user_key(&c.username);
    match c.action.as_str() {
        super::actions::SUSPEND => Some(Change::Suspend { user }),
        super::actions::REMOVE_FROM_GROUP => Some(Change::RemoveFromGroup {
            user,
            group: c.group.clone()?,
        }),
        _ => None,
    }
}

/// Applies `reject-plan`: the named held set is recorded as rejected — its deprovisions
/// released, its suspensions and removals unapplied at the current generation of the resource
/// that asked for them.
pub fn reject(
    record: &mut SafeguardStatus,
    guards: &Guards,
    candidate: &BTreeSet<Change>,
    desired: &Desired,
) -> Option<Decision> {
    let id = guards.rejected_plan.as_deref()?;
    if decided(record, id) {
        return None;
    }
    let set = named_set(id, guards, candidate)?;
    let mut entry = RejectedPlan {
        plan_id: id.to_string(),
        ..RejectedPlan::default()
    };
    for change in set.intersection(candidate) {
        match change {
            Change::Deprovision { user, .. } => entry.released.push(user.clone()),
            Change::Suspend { .. } | Change::RemoveFromGroup { .. } => {
                let Some(resource) = cause(change, desired) else {
                    continue;
                };
                let item = change.item();
                entry.unapplied.push(RejectedChange {
                    action: item.action,
                    username: item.username,
                    group: match change {
                        Change::RemoveFromGroup { group, .. } => Some(group.clone()),
                        _ => None,
                    },
                    kind: kind_name(resource.kind).to_string(),
                    namespace: resource.namespace.clone(),
                    name: resource.name.clone(),
                    generation: guards.generations.get(&resource).copied().unwrap_or(0),
                });
            }
        }
    }
    let decision = Decision::Rejected {
        plan_id: id.to_string(),
        released: entry.released.len(),
        unapplied: entry.unapplied.len(),
    };
    record.rejected.push(entry);
    let excess = record.rejected.len().saturating_sub(MAX_REJECTED);
    record.rejected.drain(..excess);
    Some(decision)
}

/// Forgets what a rejection no longer covers: released usernames declared again (they are
/// managed again, and adoptable), and unapplied changes whose resource changed its spec or
/// is gone.
pub fn prune_rejected(record: &mut SafeguardStatus, desired: &Desired, guards: &Guards) {
    for r in &mut record.rejected {
        r.released
            .retain(|u| !desired.users.contains_key(&user_key(u)));
        r.unapplied
            .retain(|c| guards.generations.get(&resource_of(c)) == Some(&c.generation));
    }
}

/// Takes the changes rejected plans cover out of `plan` and `all`: a rejected deprovision
/// becomes finished (its resource is released without touching LastPass); a rejected
/// suspension or removal is returned as unapplied.
pub fn suppress(
    record: &SafeguardStatus,
    plan: &mut Plan,
    desired: &Desired,
    all: &mut BTreeSet<Change>,
) -> Vec<Unapplied> {
    let mut drop = BTreeSet::new();
    let mut out = Vec::new();
    for r in &record.rejected {
        for username in &r.released {
            let key = user_key(username);
            let Some(leaving) = desired.leaving.get(&key) else {
                continue;
            };
            let rejected: Vec<Change> = all
                .iter()
                .filter(|c| matches!(c, Change::Deprovision { user, .. } if *user == key))
                .cloned()
                .collect();
            if !rejected.is_empty() && !plan.finished.contains(&leaving.resource) {
                plan.finished.push(leaving.resource.clone());
            }
            drop.extend(rejected);
        }
        for c in &r.unapplied {
            if let Some(change) = change_of(c).filter(|ch| all.contains(ch)) {
                out.push(Unapplied {
                    resource: resource_of(c),
                    change: change.clone(),
                    plan_id: r.plan_id.clone(),
                });
                drop.insert(change);
            }
        }
    }
    remove(plan, &drop);
    all.retain(|c| !drop.contains(c));
    out
}
