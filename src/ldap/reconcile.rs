//! The pure diff between the desired resources of a pull and the resources in the cluster.
//!
//! Ownership rules, the safety of the whole pull:
//! - only resources labelled `source: ldap` **and** `integration: <this integration>` and
//!   referring to this integration are ever updated or deleted ("ours");
//! - a username or group name already declared by another resource of this integration
//!   (another source, e.g. `git` or `scim`) is skipped and reported, never taken over; so is a
//!   desired name already used by a resource that is not ours;
//! - ours that the directory no longer calls for are deleted, except held (ambiguous) ones
//!   and ones already being deleted;
//! - a directory user whose stable id (AD `objectGUID`) names a resource of ours with another
//!   username changed e-mail: no new resource, the old one is kept under its username and
//!   follows the entry otherwise (name, attributes, suspension, groups), and the change is
//!   reported ([`Problem::EmailChanged`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use kube::ResourceExt;

use super::desired::{Desired, Problem, Target};
use super::{INTEGRATION_LABEL, SOURCE_LDAP, STABLE_ID_ANNOTATION};
use crate::crd::{IntegrationRef, LastPassGroup, LastPassUser, SOURCE_LABEL};

/// What one pull has to write.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Changes {
    /// Users to create (server-side apply).
    pub create_users: Vec<LastPassUser>,
    /// Users to update (server-side apply).
    pub update_users: Vec<LastPassUser>,
    /// Names of users to delete.
    pub delete_users: Vec<String>,
    /// Groups to create.
    pub create_groups: Vec<LastPassGroup>,
    /// Groups to update.
    pub update_groups: Vec<LastPassGroup>,
    /// Names of groups to delete.
    pub delete_groups: Vec<String>,
    /// Desired resources skipped because another resource holds their key or name.
    pub problems: Vec<Problem>,
    /// Users of ours once the changes are made.
    pub managed_users: usize,
    /// Groups of ours once the changes are made.
    pub managed_groups: usize,
}

impl Changes {
    /// Whether nothing has to be written.
    pub fn is_empty(&self) -> bool {
        self.create_users.is_empty()
            && self.update_users.is_empty()
            && self.delete_users.is_empty()
            && self.create_groups.is_empty()
            && self.update_groups.is_empty()
            && self.delete_groups.is_empty()
    }
}

fn refers_to(r: &IntegrationRef, resource_ns: Option<&str>, target: &Target) -> bool {
    r.name == target.integration
        && r.namespace.as_deref().or(resource_ns) == Some(target.namespace.as_str())
}

fn labelled_ours(labels: &BTreeMap<String, String>, target: &Target) -> bool {
    labels.get(SOURCE_LABEL).map(String::as_str) == Some(SOURCE_LDAP)
        && labels.get(INTEGRATION_LABEL) == Some(&target.integration)
}

/// Whether the LDAP puller of `target` owns this user.
pub fn owns_user(u: &LastPassUser, target: &Target) -> bool {
    labelled_ours(u.labels(), target)
        && refers_to(
            &u.spec.integration_ref,
            u.metadata.namespace.as_deref(),
            target,
        )
}

/// Whether the LDAP puller of `target` owns this group.
pub fn owns_group(g: &LastPassGroup, target: &Target) -> bool {
    labelled_ours(g.labels(), target)
        && refers_to(
            &g.spec.integration_ref,
            g.metadata.namespace.as_deref(),
            target,
        )
}

/// The stable id a pulled user carries ([`STABLE_ID_ANNOTATION`]).
pub fn stable_id(u: &LastPassUser) -> Option<&str> {
    u.metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get(STABLE_ID_ANNOTATION))
        .map(String::as_str)
}

fn user_differs(have: &LastPassUser, want: &LastPassUser) -> bool {
    let (h, w) = (&have.spec, &want.spec);
    stable_id(have) != stable_id(want)
        || h.username != w.username
        || h.full_name != w.full_name
        || h.attributes != w.attributes
        || h.suspended != w.suspended
        || h.groups != w.groups
}

/// `policy` is not compared: the pull never sets it (see [`super::apply`]).
fn group_differs(have: &LastPassGroup, want: &LastPassGroup) -> bool {
    have.spec.members != want.spec.members
}

/// Diffs desired against the users and groups listed in the integration's namespace.
pub fn reconcile(
    desired: &Desired,
    users: &[LastPassUser],
    groups: &[LastPassGroup],
    target: &Target,
) -> Changes {
    let mut out = Changes::default();

    // Users.
    let by_name: BTreeMap<String, &LastPassUser> =
        users.iter().map(|u| (u.name_any(), u)).collect();
    let ours_by_id: BTreeMap<&str, &LastPassUser> = users
        .iter()
        .filter(|u| owns_user(u, target) && u.metadata.deletion_timestamp.is_none())
        .filter_map(|u| stable_id(u).map(|id| (id, u)))
        .collect();
    // Resources kept under their old username, and lower-cased new → old usernames.
    let mut kept: BTreeSet<String> = BTreeSet::new();
    let mut renamed: BTreeMap<String, String> = BTreeMap::new();
    let claims: BTreeMap<String, String> = users
        .iter()
        .filter(|u| {
            !owns_user(u, target)
                && refers_to(
                    &u.spec.integration_ref,
                    u.metadata.namespace.as_deref(),
                    target,
                )
        })
        .map(|u| (u.spec.username.to_lowercase(), u.name_any()))
        .collect();
    for (name, want) in &desired.users {
        let moved = stable_id(want)
            .and_then(|id| ours_by_id.get(id))
            .filter(|have| {
                have.name_any() != *name && !desired.users.contains_key(&have.name_any())
            });
        if let Some(have) = moved {
            out.problems.push(Problem::EmailChanged {
                stable_id: stable_id(want).unwrap_or_default().to_string(),
                from: have.spec.username.clone(),
                to: want.spec.username.clone(),
                resource: have.name_any(),
            });
            let mut kept_user = want.clone();
            kept_user.metadata.name = have.metadata.name.clone();
            kept_user.spec.username = have.spec.username.clone();
            if user_differs(have, &kept_user) {
                out.update_users.push(kept_user);
            }
            kept.insert(have.name_any());
            renamed.insert(
                want.spec.username.to_lowercase(),
                have.spec.username.clone(),
            );
            continue;
        }
        let claimed = claims.get(&want.spec.username.to_lowercase()).or_else(|| {
            by_name
                .get(name)
                .filter(|u| !owns_user(u, target))
                .map(|_| name)
        });
        if let Some(resource) = claimed {
            out.problems.push(Problem::Claimed {
                kind: "LastPassUser",
                key: want.spec.username.clone(),
                resource: resource.clone(),
            });
            continue;
        }
        match by_name.get(name) {
            None => out.create_users.push(want.clone()),
            Some(have) if have.metadata.deletion_timestamp.is_some() => {} // back once it is gone
            Some(have) if user_differs(have, want) => out.update_users.push(want.clone()),
            Some(_) => {}
        }
    }
    for u in users.iter().filter(|u| owns_user(u, target)) {
        let keep = desired.users.contains_key(&u.name_any())
            || kept.contains(&u.name_any())
            || desired
                .held_usernames
                .contains(&u.spec.username.to_lowercase());
        if keep {
            out.managed_users += 1;
        } else if u.metadata.deletion_timestamp.is_none() {
            out.delete_users.push(u.name_any());
        }
    }
    out.managed_users += out.create_users.len();

    // Groups.
    let by_name: BTreeMap<String, &LastPassGroup> =
        groups.iter().map(|g| (g.name_any(), g)).collect();
    let claims: BTreeMap<String, String> = groups
        .iter()
        .filter(|g| {
            !owns_group(g, target)
                && refers_to(
                    &g.spec.integration_ref,
                    g.metadata.namespace.as_deref(),
                    target,
                )
        })
        .map(|g| (g.spec.group_name.to_lowercase(), g.name_any()))
        .collect();
    for (name, want) in &desired.groups {
        let want = with_kept_usernames(want, &renamed);
        let want = want.as_ref();
        let claimed = claims
            .get(&want.spec.group_name.to_lowercase())
            .or_else(|| {
                by_name
                    .get(name)
                    .filter(|g| !owns_group(g, target))
                    .map(|_| name)
            });
        if let Some(resource) = claimed {
            out.problems.push(Problem::Claimed {
                kind: "LastPassGroup",
                key: want.spec.group_name.clone(),
                resource: resource.clone(),
            });
            continue;
        }
        match by_name.get(name) {
            None => out.create_groups.push(want.clone()),
            Some(have) if have.metadata.deletion_timestamp.is_some() => {}
            Some(have) if group_differs(have, want) => out.update_groups.push(want.clone()),
            Some(_) => {}
        }
    }
    for g in groups.iter().filter(|g| owns_group(g, target)) {
        let keep = desired.groups.contains_key(&g.name_any())
            || desired
                .held_groups
                .contains(&g.spec.group_name.to_lowercase());
        if keep {
            out.managed_groups += 1;
        } else if g.metadata.deletion_timestamp.is_none() {
            out.delete_groups.push(g.name_any());
        }
    }
    out.managed_groups += out.create_groups.len();
    out
}

/// `want` with the members whose e-mail changed named by the username their resource keeps.
fn with_kept_usernames<'a>(
    want: &'a LastPassGroup,
    renamed: &BTreeMap<String, String>,
) -> Cow<'a, LastPassGroup> {
    if !want
        .spec
        .members
        .iter()
        .any(|m| renamed.contains_key(&m.to_lowercase()))
    {
        return Cow::Borrowed(want);
    }
    let mut g = want.clone();
    for m in &mut g.spec.members {
        if let Some(old) = renamed.get(&m.to_lowercase()) {
            *m = old.clone();
        }
    }
    g.spec.members.sort_by_key(|m| m.to_lowercase());
    Cow::Owned(g)
}

#[cfg(test)]
#[path = "reconcile_tests.rs"]
mod tests;
