//! The planner: a pure diff from what is declared to what LastPass reports.
//!
//! No I/O, no clock: the same inputs always give the same plan (`BTreeMap`s keep it ordered),
//! so a dry run is "plan, don't execute" and the plan id is stable across restarts.

use std::collections::{BTreeMap, BTreeSet};

use std::sync::Arc;

use crate::crd::{DeprovisionAction, GroupPolicy, UnmanagedUsers};
use crate::lastpass::GroupNames;

use super::model::{Desired, Observed, ResourceRef, UserKey};

/// The parts of an integration's spec the planner needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Policy {
    /// Treatment of LastPass users that no resource declares.
    pub unmanaged: UnmanagedUsers,
    /// Whether `Delete` may be planned at all.
    pub allow_delete: bool,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            unmanaged: UnmanagedUsers::Report,
            allow_delete: false,
        }
    }
}

/// A user to invite with `batchadd`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CreateUser {
    /// Username as written in the resource.
    pub username: String,
    /// Display name, if declared.
    pub full_name: Option<String>,
    /// Every group the user should be in (sent with `batchadd`).
    pub groups: GroupNames,
    /// Custom attributes.
    pub attributes: BTreeMap<String, String>,
    /// `password_reset_required`.
    pub password_reset_required: bool,
}

/// A display-name change with `updateuser`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UpdateUser {
    /// Username as LastPass knows it.
    pub username: String,
    /// The new display name.
    pub full_name: String,
}

/// Attributes (and name) sent again with `batchadd` to an existing user: LastPass updates
/// existing users on `batchadd`, and has no other command for attributes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AttributeUpdate {
    /// Username as LastPass knows it.
    pub username: String,
    /// Display name, if declared.
    pub full_name: Option<String>,
    /// The attributes to send.
    pub attributes: BTreeMap<String, String>,
}

/// Membership changes of one user, for `batchchangegrp`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupChange {
    /// Username as LastPass knows it.
    pub username: String,
    /// Groups to join.
    pub add: BTreeSet<String>,
    /// Groups to leave.
    pub del: BTreeSet<String>,
}

/// A user to deprovision with `deluser`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Deprovision {
    /// Username as LastPass knows it.
    pub username: String,
    /// The resolved action.
    pub action: DeprovisionAction,
    /// The resource being deleted.
    pub resource: ResourceRef,
}

/// Why a change was not planned although the resources ask for it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// `Delete` was asked for but `spec.sync.deprovision.allowDelete` is false.
    DeleteNotAllowed {
        /// The user concerned.
        username: String,
        /// The resource being deleted.
        resource: ResourceRef,
    },
}

/// What it takes to make LastPass match the resources.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// Users to invite.
    pub creates: Vec<CreateUser>,
    /// Display names to change.
    pub updates: Vec<UpdateUser>,
    /// Attributes to send again (changed since last sent).
    pub attribute_updates: Vec<AttributeUpdate>,
    /// Users to disable (`suspended: true`), new ones included.
    pub disables: Vec<String>,
    /// Users to enable again.
    pub enables: Vec<String>,
    /// Membership changes, one entry per user.
    pub group_changes: Vec<GroupChange>,
    /// Users to deprovision.
    pub deprovisions: Vec<Deprovision>,
    /// Deleted resources whose deprovisioning is complete: their finalizers may go.
    pub finished: Vec<ResourceRef>,
    /// Changes refused by policy.
    pub refused: Vec<Refusal>,
    /// LastPass users, not disabled, that no resource declares (empty under `Ignore`).
    pub unmanaged: Vec<String>,
    /// Directory-made (SCIM, LDAP) Authoritative groups treated as Additive: LastPass already
    /// has the group with members the operator does not manage, and the resource lacks the
    /// `lastpass-operator.io/take-over: "true"` annotation. By group name.
    pub takeover_pending: BTreeSet<String>,
    /// Users this plan deprovisions or suspends that LastPass reports as admins (the account
    /// whose provisioning hash the operator uses among them): the safeguard holds such a
    /// change until a person approves it, whatever the limits.
    pub admin_targets: BTreeSet<UserKey>,
}

impl Plan {
    /// Whether the plan changes nothing in LastPass.
    pub fn is_empty(&self) -> bool {
        self.write_count() == 0
    }

    /// Number of changes (users created, updated, disabled, enabled, membership changes,
    /// deprovisions).
    pub fn write_count(&self) -> usize {
        self.creates.len()
            + self.updates.len()
            + self.attribute_updates.len()
            + self.disables.len()
            + self.enables.len()
            + self.membership_changes()
            + self.deprovisions.len()
    }

    /// Number of single membership additions and removals.
    pub fn membership_changes(&self) -> usize {
        self.group_changes
            .iter()
            .map(|c| c.add.len() + c.del.len())
            .sum()
    }
}

/// Groups known only from users' `spec.groups` (no LastPassGroup), with the namespaces whose
/// users name them. A user's own spec is authoritative for such a group only where users of
/// its namespace name it: one namespace naming a console group never removes another
/// namespace's users from it. An adopted user's groups copy what LastPass had and do not
/// count: adoption never makes a membership removable. Memberships in any other group are
/// left alone.
fn spec_group_namespaces(desired: &Desired) -> BTreeMap<&str, BTreeSet<&str>> {
    let mut out: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for u in desired.users.values().filter(|u| !u.adopted) {
        for g in &u.groups {
            out.entry(g)
                .or_default()
                .insert(u.resource.namespace.as_str());
        }
    }
    out
}

/// Groups a user should be in: direct `spec.groups` plus every LastPassGroup listing it.
/// `names` holds one shared name per LastPassGroup, so a member costs no new string.
fn declared_groups(desired: &Desired, names: &[Arc<str>], key: &UserKey) -> GroupNames {
    let direct = desired.users.get(key).map(|u| u.groups.clone());
    let mut groups = direct.unwrap_or_default();
    for (group, name) in desired.groups.values().zip(names) {
        if group.members.contains(key) {
            groups.insert(name.clone());
        }
    }
    groups
}

/// Directory-made Authoritative groups without the take-over annotation whose LastPass group
/// has a member the operator does not manage (no resource declares or is deprovisioning the
/// user): they remove nobody until a person takes them over.
fn takeover_pending(desired: &Desired, observed: &Observed) -> BTreeSet<String> {
    let managed = |username: &str| {
        let key = super::model::user_key(username);
        desired.users.contains_key(&key) || desired.leaving.contains_key(&key)
    };
    desired
        .groups
        .values()
        .filter(|g| g.from_directory && !g.take_over && g.policy == GroupPolicy::Authoritative)
        .filter(|g| {
            let listed = observed
                .groups
                .get(&g.name)
                .is_some_and(|members| members.iter().any(|m| !managed(m)));
            listed
                || observed
                    .users
                    .values()
                    .any(|u| u.groups.contains(&g.name) && !managed(&u.username))
        })
        .map(|g| g.name.clone())
        .collect()
}

/// Whether membership in `group` that nobody declares is removed.
fn removes_undeclared(
    desired: &Desired,
    pending: &BTreeSet<String>,
    group: &str,
    managed_user: bool,
) -> bool {
    match desired.groups.get(group) {
        Some(g) => g.policy == GroupPolicy::Authoritative && !pending.contains(group),
        // A group known only from users' `spec.groups`: see `spec_group_namespaces` for
        // managed users; unmanaged users' memberships are left alone.
        None => managed_user,
    }
}

/// Computes the plan that makes `observed` match `desired`.
pub fn plan(desired: &Desired, observed: &Observed, policy: &Policy) -> Plan {
    let mut out = Plan {
        takeover_pending: takeover_pending(desired, observed),
        ..Plan::default()
    };
    let spec_groups = spec_group_namespaces(desired);
    let pending = out.takeover_pending.clone();
    let names: Vec<Arc<str>> = desired
        .groups
        .values()
        .map(|g| Arc::from(g.name.as_str()))
        .collect();

    for (key, user) in &desired.users {
        let declared = declared_groups(desired, &names, key);
        let Some(seen) = observed.users.get(key) else {
            out.creates.push(CreateUser {
                username: user.username.clone(),
                full_name: user.full_name.clone(),
                groups: declared,
                attributes: user.attributes.clone(),
                password_reset_required: user.password_reset_required,
            });
            if user.suspended {
                out.disables.push(user.username.clone());
            }
            continue;
        };
        if let Some(name) = &user.full_name
            && *name != seen.fullname
        {
            out.updates.push(UpdateUser {
                username: seen.username.clone(),
                full_name: name.clone(),
            });
        }
        let digest = super::model::attributes_digest(&user.attributes);
        let never_had = user.attributes.is_empty() && user.attributes_sent.is_none();
        if !never_had && user.attributes_sent.as_deref() != Some(digest.as_str()) {
            out.attribute_updates.push(AttributeUpdate {
                username: seen.username.clone(),
                full_name: user.full_name.clone(),
                attributes: user.attributes.clone(),
            });
        }
        match (user.suspended, seen.disabled) {
            (true, false) => {
                if seen.admin {
                    out.admin_targets.insert(key.clone());
                }
                out.disables.push(seen.username.clone());
            }
            (false, true) => out.enables.push(seen.username.clone()),
            _ => {}
        }
        let ns = user.resource.namespace.as_str();
        push_group_change(&mut out, &seen.username, &declared, &seen.groups, |g| {
            if desired.groups.contains_key(g) {
                removes_undeclared(desired, &pending, g, true)
            } else {
                spec_groups.get(g).is_some_and(|n| n.contains(ns))
            }
        });
    }

    for (key, leaving) in &desired.leaving {
        if desired.users.contains_key(key) {
            // Another resource still declares this username: nothing leaves LastPass.
            out.finished.push(leaving.resource.clone());
            continue;
        }
        let seen = observed.users.get(key);
        let done = match (leaving.action, seen) {
            (_, None) => true,
            (DeprovisionAction::Deactivate, Some(u)) => u.disabled,
            _ => false,
        };
        if done {
            out.finished.push(leaving.resource.clone());
        } else if leaving.action == DeprovisionAction::Delete && !policy.allow_delete {
            out.refused.push(Refusal::DeleteNotAllowed {
                username: leaving.username.clone(),
                resource: leaving.resource.clone(),
            });
        } else {
            if seen.is_some_and(|u| u.admin) {
                out.admin_targets.insert(key.clone());
            }
            out.deprovisions.push(Deprovision {
                username: seen.map_or_else(|| leaving.username.clone(), |u| u.username.clone()),
                action: leaving.action,
                resource: leaving.resource.clone(),
            });
        }
    }

    for (key, seen) in &observed.users {
        if desired.users.contains_key(key) || desired.leaving.contains_key(key) {
            continue;
        }
        // Unmanaged: LastPassGroups may still list it, and Authoritative groups remove it.
        let declared = declared_groups(desired, &names, key);
        push_group_change(&mut out, &seen.username, &declared, &seen.groups, |g| {
            removes_undeclared(desired, &pending, g, false)
        });
        if !seen.disabled && policy.unmanaged != UnmanagedUsers::Ignore {
            out.unmanaged.push(seen.username.clone());
        }
    }
    out
}

fn push_group_change(
    out: &mut Plan,
    username: &str,
    declared: &GroupNames,
    current: &GroupNames,
    may_remove: impl Fn(&str) -> bool,
) {
    let add: BTreeSet<String> = declared.difference(current).map(str::to_string).collect();
    let del: BTreeSet<String> = current
        .difference(declared)
        .filter(|g| may_remove(g))
        .map(str::to_string)
        .collect();
    if !add.is_empty() || !del.is_empty() {
        out.group_changes.push(GroupChange {
            username: username.to_string(),
            add,
            del,
        });
    }
}

#[cfg(test)]
#[path = "plan_takeover_tests.rs"]
mod takeover_tests;
