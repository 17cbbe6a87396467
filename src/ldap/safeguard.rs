//! The pull's safeguard: a pull that would delete more LDAP-sourced users than
//! `spec.sync.deprovision` allows (`maxPerSync`, or `maxPercent` of the LDAP-sourced users it
//! manages, whichever is smaller; "more" is strictly greater), or that saw no user at all,
//! deletes nothing until a person approves or rejects exactly that deletion set.
//!
//! Pure: the verdict depends only on the changes, the counts, the limits and the annotations
//! and records given, so it is tested without a cluster or a directory.

use std::collections::{BTreeMap, BTreeSet};

use kube::ResourceExt;

use super::reconcile::Changes;
use crate::crd::{
    APPROVE_PLAN_ANNOTATION, DirectoryIntegration, LastPassGroup, LastPassUser, LdapHeldPull,
    LdapStatus, REJECT_PLAN_ANNOTATION,
};

/// Prefix of a pull id (engine plan ids have none), so the two never match.
pub const PULL_ID_PREFIX: &str = "ldap-";

/// Resources kept in the held sample.
const SAMPLE: usize = 20;

/// Ids kept in `consumedApprovals` and `rejected`.
pub const MAX_RECORDED: usize = 50;

/// The integration's deletion limits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Limits {
    /// `spec.sync.deprovision.maxPerSync`.
    pub max_per_sync: usize,
    /// `spec.sync.deprovision.maxPercent`.
    pub max_percent: usize,
}

impl Limits {
    /// The limits of `di`'s `spec.sync.deprovision`.
    pub fn of(di: &DirectoryIntegration) -> Self {
        let d = &di.spec.sync.deprovision;
        Self {
            max_per_sync: d.max_per_sync.max(0) as usize,
            max_percent: d.max_percent.max(0) as usize,
        }
    }
}

/// What people decided: the annotations on the integration and what the status recorded.
#[derive(Clone, Copy, Debug, Default)]
pub struct Decisions<'a> {
    /// `lastpass-operator.io/approve-plan`.
    pub approve: Option<&'a str>,
    /// `lastpass-operator.io/reject-plan`.
    pub reject: Option<&'a str>,
    /// `status.ldap.consumedApprovals`: approvals already used.
    pub consumed: &'a [String],
    /// `status.ldap.rejected`.
    pub rejected: &'a [String],
}

impl<'a> Decisions<'a> {
    /// The annotations of `di` and the records of `previous` (its `status.ldap`).
    pub fn of(di: &'a DirectoryIntegration, previous: &'a LdapStatus) -> Self {
        let annotation = |key| {
            di.metadata
                .annotations
                .as_ref()
                .and_then(|a| a.get(key))
                .map(|v| v.trim())
        };
        Self {
            approve: annotation(APPROVE_PLAN_ANNOTATION),
            reject: annotation(REJECT_PLAN_ANNOTATION),
            consumed: &previous.consumed_approvals,
            rejected: &previous.rejected,
        }
    }
}

/// Why a pull's deletions are held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HoldCause {
    /// The user search returned no user: never taken for "everyone left".
    NoUsersSeen,
    /// More deletions than `maxPerSync`.
    OverCount,
    /// More deletions than `maxPercent` of the managed users.
    OverPercent,
}

/// What the safeguard says about one pull.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum Verdict {
    /// Within the limits: everything is applied.
    #[default]
    Proceed,
    /// Over the limits, approved with this pull id (not used before): everything is applied,
    /// and the id is recorded as consumed before any deletion.
    Approved(LdapHeldPull),
    /// Over the limits: nothing is deleted (for a pull that saw no user, nothing is written).
    Held(LdapHeldPull, HoldCause),
    /// Over the limits, rejected with this pull id: nothing is deleted, the resources stay.
    Rejected(LdapHeldPull),
}

impl Verdict {
    /// Whether the pull's deletions run.
    pub fn deletes(&self) -> bool {
        matches!(self, Verdict::Proceed | Verdict::Approved(_))
    }

    /// The held (or approved, or rejected) deletion set, if the limits were exceeded.
    pub fn held(&self) -> Option<&LdapHeldPull> {
        match self {
            Verdict::Proceed => None,
            Verdict::Approved(h) | Verdict::Held(h, _) | Verdict::Rejected(h) => Some(h),
        }
    }
}

/// The collision-resistant id of a deletion set: `ldap-` and the SHA-256 (hex) of the sorted
/// kinds and names of the resources it deletes; a pull that saw no users is marked, so its
/// approval never approves a non-empty pull with the same deletions. The same pending set
/// always gives the same id.
pub fn pull_id(changes: &Changes, users_seen: usize) -> String {
    let mut items: BTreeSet<String> = deleted_resources(changes).collect();
    if users_seen == 0 {
        items.insert("users-seen:0".into());
    }
    let text: Vec<String> = items.into_iter().collect();
    let hex = crate::naming::sha256_hex(text.join("\n").as_bytes());
    format!("{PULL_ID_PREFIX}{hex}")
}

/// The resources a pull deletes, as `Kind/name`: users first, then groups.
fn deleted_resources(changes: &Changes) -> impl Iterator<Item = String> + '_ {
    let users = changes
        .delete_users
        .iter()
        .map(|n| format!("LastPassUser/{n}"));
    let groups = changes
        .delete_groups
        .iter()
        .map(|n| format!("LastPassGroup/{n}"));
    users.chain(groups)
}

/// LDAP-sourced users managed before the pull: kept, plus the ones it would delete.
pub fn managed_before(changes: &Changes) -> usize {
    changes.managed_users - changes.create_users.len() + changes.delete_users.len()
}

/// Judges one pull's changes.
pub fn judge(
    changes: &Changes,
    users_seen: usize,
    limits: &Limits,
    decisions: &Decisions,
) -> Verdict {
    let deletions = changes.delete_users.len();
    let managed = managed_before(changes);
    let cause = if users_seen == 0 && !changes.is_empty() {
        HoldCause::NoUsersSeen
    } else if deletions > limits.max_per_sync {
        HoldCause::OverCount
    } else if deletions * 100 > limits.max_percent * managed {
        HoldCause::OverPercent
    } else {
        return Verdict::Proceed;
    };
    let id = pull_id(changes, users_seen);
    let held = LdapHeldPull {
        pull_id: id.clone(),
        users: deletions as i64,
        groups: changes.delete_groups.len() as i64,
        managed_users: managed as i64,
        users_seen: users_seen as i64,
        sample: deleted_resources(changes).take(SAMPLE).collect(),
    };
    if decisions.reject == Some(id.as_str()) || decisions.rejected.contains(&id) {
        Verdict::Rejected(held)
    } else if decisions.approve == Some(id.as_str()) && !decisions.consumed.contains(&id) {
        Verdict::Approved(held)
    } else {
        Verdict::Held(held, cause)
    }
}

/// The changes to apply under `verdict`: all of them, or none of the deletions — and nothing
/// at all when the pull saw no user.
pub fn allowed(changes: &Changes, verdict: &Verdict) -> Changes {
    if verdict.deletes() {
        return changes.clone();
    }
    let managed_users = changes.managed_users + changes.delete_users.len();
    let managed_groups = changes.managed_groups + changes.delete_groups.len();
    if verdict.held().is_some_and(|h| h.users_seen == 0) {
        return Changes {
            managed_users: managed_before(changes),
            managed_groups: managed_groups - changes.create_groups.len(),
            problems: changes.problems.clone(),
            ..Changes::default()
        };
    }
    Changes {
        delete_users: Vec::new(),
        delete_groups: Vec::new(),
        managed_users,
        managed_groups,
        ..changes.clone()
    }
}

/// While the deletion of `held` users (resource names) waits, they stay in the groups they
/// are in: each group update keeps its current members that are held users (else the engine
/// would take their memberships away at once), and an update left with nothing to change is
/// dropped.
pub fn keep_held_members(
    changes: &mut Changes,
    held: &[String],
    users: &[LastPassUser],
    groups: &[LastPassGroup],
) {
    let held: BTreeSet<&String> = held.iter().collect();
    let held_usernames: BTreeSet<String> = users
        .iter()
        .filter(|u| held.contains(&u.name_any()))
        .map(|u| u.spec.username.to_lowercase())
        .collect();
    let current: BTreeMap<String, &LastPassGroup> =
        groups.iter().map(|g| (g.name_any(), g)).collect();
    for g in &mut changes.update_groups {
        let Some(have) = current.get(&g.name_any()) else {
            continue;
        };
        let declared: BTreeSet<String> = g.spec.members.iter().map(|m| m.to_lowercase()).collect();
        let kept = have.spec.members.iter().filter(|m| {
            let key = m.to_lowercase();
            held_usernames.contains(&key) && !declared.contains(&key)
        });
        g.spec.members.extend(kept.cloned().collect::<Vec<_>>());
        g.spec.members.sort_by_key(|m| m.to_lowercase());
    }
    changes.update_groups.retain(|g| {
        current
            .get(&g.name_any())
            .is_none_or(|have| have.spec.members != g.spec.members)
    });
}

/// Adds `id` to a record list, keeping the most recent [`MAX_RECORDED`].
pub fn record(list: &mut Vec<String>, id: &str) {
    if !list.iter().any(|x| x == id) {
        list.push(id.to_string());
    }
    let excess = list.len().saturating_sub(MAX_RECORDED);
    list.drain(..excess);
}

#[cfg(test)]
#[path = "safeguard_tests.rs"]
mod tests;
