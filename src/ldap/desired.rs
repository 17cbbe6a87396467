//! The pure heart of the pull: a directory [`Snapshot`] in, the LastPassUser and
//! LastPassGroup resources it calls for out. No I/O, no clock.
//!
//! Rules:
//! - a user entry becomes a LastPassUser when its username attribute holds an e-mail;
//!   `suspended` follows the directory's disabled flag, `fullName` and `spec.attributes`
//!   follow the mapping;
//! - two entries with one username (case-insensitive) are ambiguous: neither becomes a
//!   resource, an existing resource for it is held as it is (not updated, not deleted), and
//!   a [`Problem`] says which DNs collide;
//! - a selected group (matching `groupFilter`) becomes a LastPassGroup whose members are its
//!   users, nested groups flattened; groups with one name are ambiguous as users are.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use kube::api::ObjectMeta;

use super::directory::Snapshot;
use super::membership::{flatten, normalize_dn};
use super::{INTEGRATION_LABEL, SOURCE_LDAP, STABLE_ID_ANNOTATION};
use crate::crd::{
    GroupPolicy, IntegrationRef, LastPassGroup, LastPassGroupSpec, LastPassUser, LastPassUserSpec,
    LdapSpec, SOURCE_LABEL,
};
use crate::naming;

/// Whom the resources are for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Namespace of the integration, where the resources are created.
    pub namespace: String,
    /// Name of the integration.
    pub integration: String,
}

/// The desired resources of one pull.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Desired {
    /// LastPassUsers by resource name.
    pub users: BTreeMap<String, LastPassUser>,
    /// LastPassGroups by resource name.
    pub groups: BTreeMap<String, LastPassGroup>,
    /// Lower-cased usernames that are ambiguous: their existing resources stay untouched.
    pub held_usernames: BTreeSet<String>,
    /// Lower-cased group names that are ambiguous: their existing resources stay untouched.
    pub held_groups: BTreeSet<String>,
    /// What was skipped, and why.
    pub problems: Vec<Problem>,
}

/// A directory entry that did not become a resource, or a caveat of one that did.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Problem {
    /// The user entry has no value in the username attribute.
    NoUsername {
        /// The entry.
        dn: String,
        /// The attribute that was empty.
        attribute: String,
    },
    /// The username is not an e-mail address.
    InvalidUsername {
        /// The entry.
        dn: String,
        /// The value found.
        value: String,
    },
    /// Several entries share one username.
    DuplicateUsername {
        /// The username (as first seen).
        username: String,
        /// The entries.
        dns: Vec<String>,
    },
    /// A selected group has no name.
    NoGroupName {
        /// The entry.
        dn: String,
    },
    /// Several selected groups share one name.
    DuplicateGroupName {
        /// The group name.
        name: String,
        /// The entries.
        dns: Vec<String>,
    },
    /// A group nests deeper than `maxNestingDepth`; deeper members were left out.
    NestingTruncated {
        /// The group.
        dn: String,
        /// The limit.
        depth: usize,
    },
    /// The directory changed the username attribute of an entry whose LastPassUser (found by
    /// the entry's stable id) holds another username: the pull does not rename.
    EmailChanged {
        /// The entry's stable id.
        stable_id: String,
        /// The username the LastPassUser keeps.
        from: String,
        /// The username the directory now holds.
        to: String,
        /// The LastPassUser.
        resource: String,
    },
    /// A resource of another source (or another integration's name) already holds it.
    Claimed {
        /// `LastPassUser` or `LastPassGroup`.
        kind: &'static str,
        /// The username or group name.
        key: String,
        /// The resource that holds it.
        resource: String,
    },
}

impl Problem {
    /// Whether a directory entry was left out because of it.
    pub fn skips_entry(&self) -> bool {
        !matches!(self, Problem::NestingTruncated { .. })
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Problem::NoUsername { dn, attribute } => {
                write!(f, "{dn}: no {attribute}, skipped")
            }
            Problem::InvalidUsername { dn, value } => {
                write!(f, "{dn}: username {value:?} is not an e-mail, skipped")
            }
            Problem::DuplicateUsername { username, dns } => write!(
                f,
                "username {username} is held by {} entries ({}); none is synced until one remains",
                dns.len(),
                dns.join("; ")
            ),
            Problem::NoGroupName { dn } => write!(f, "{dn}: group without a name, skipped"),
            Problem::DuplicateGroupName { name, dns } => write!(
                f,
                "group name {name} is held by {} entries ({}); none is synced until one remains",
                dns.len(),
                dns.join("; ")
            ),
            Problem::NestingTruncated { dn, depth } => write!(
                f,
                "{dn}: nesting deeper than maxNestingDepth {depth}; deeper members left out"
            ),
            Problem::EmailChanged {
                stable_id,
                from,
                to,
                resource,
            } => write!(
                f,
                "directory user {stable_id} changed e-mail from {from} to {to}; LastPassUser {resource} keeps {from} (the pull never renames a LastPass user): restore the e-mail in the directory, or delete LastPassUser {resource} (deprovisioned as usual) so the next pull invites {to}"
            ),
            Problem::Claimed {
                kind,
                key,
                resource,
            } => write!(
                f,
                "{key}: already declared by {kind} {resource} (another source); skipped"
            ),
        }
    }
}

/// Whether `s` looks like an e-mail, as the LastPassUser schema requires.
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let clean = |p: &str| !p.is_empty() && !p.contains('@') && !p.chars().any(char::is_whitespace);
    // As `^[^@\s]+@[^@\s]+\.[^@\s]+$`: the domain has a dot with text on both sides.
    s.len() <= 254
        && clean(local)
        && clean(domain)
        && domain
            .char_indices()
            .any(|(i, c)| c == '.' && i > 0 && i + 1 < domain.len())
}

/// Labels of every resource pulled for `target`.
pub fn labels(target: &Target) -> BTreeMap<String, String> {
    BTreeMap::from([
        (SOURCE_LABEL.to_string(), SOURCE_LDAP.to_string()),
        (INTEGRATION_LABEL.to_string(), target.integration.clone()),
    ])
}

/// Computes the desired resources from a directory snapshot.
pub fn desired(snapshot: &Snapshot, target: &Target, spec: &LdapSpec) -> Desired {
    let mut out = Desired::default();
    let meta = |name: &str| ObjectMeta {
        name: Some(name.to_string()),
        namespace: Some(target.namespace.clone()),
        labels: Some(labels(target)),
        ..ObjectMeta::default()
    };
    let integration_ref = IntegrationRef {
        name: target.integration.clone(),
        namespace: None,
    };

    // Users, grouped by lower-cased username to find duplicates.
    let mut by_username: BTreeMap<String, Vec<&super::directory::DirectoryUser>> = BTreeMap::new();
    for u in &snapshot.users {
        match &u.username {
            None => out.problems.push(Problem::NoUsername {
                dn: u.dn.clone(),
                attribute: spec.attributes.username.clone(),
            }),
            Some(v) if !is_email(v) => out.problems.push(Problem::InvalidUsername {
                dn: u.dn.clone(),
                value: v.clone(),
            }),
            Some(v) => by_username.entry(v.to_lowercase()).or_default().push(u),
        }
    }
    // Normalised user DN → username, for group members.
    let mut username_of_dn: BTreeMap<String, String> = BTreeMap::new();
    for (key, entries) in &by_username {
        let [u] = entries.as_slice() else {
            let mut dns: Vec<String> = entries.iter().map(|u| u.dn.clone()).collect();
            dns.sort();
            out.problems.push(Problem::DuplicateUsername {
                username: entries[0].username.clone().unwrap_or_default(),
                dns,
            });
            out.held_usernames.insert(key.clone());
            continue;
        };
        let username = u.username.clone().unwrap_or_default();
        username_of_dn.insert(normalize_dn(&u.dn), username.clone());
        let name = naming::user_name(&target.integration, &username);
        let mut metadata = meta(&name);
        if let Some(id) = &u.stable_id {
            metadata.annotations = Some(BTreeMap::from([(
                STABLE_ID_ANNOTATION.to_string(),
                id.clone(),
            )]));
        }
        let spec = LastPassUserSpec {
            integration_ref: integration_ref.clone(),
            username,
            full_name: u.full_name.clone(),
            groups: Vec::new(),
            attributes: u.attributes.clone(),
            suspended: u.disabled,
            password_reset_required: true,
            initial_password: Default::default(),
            deprovision_action: None,
        };
        out.users.insert(
            name.clone(),
            LastPassUser {
                metadata,
                spec,
                status: None,
            },
        );
    }

    // Groups.
    let depth = usize::try_from(spec.membership.max_nesting_depth.max(1)).unwrap_or(1);
    let flat = flatten(snapshot, depth);
    let mut by_name: BTreeMap<String, Vec<&super::directory::DirectoryGroup>> = BTreeMap::new();
    for g in snapshot.groups.iter().filter(|g| g.selected) {
        match &g.name {
            None => out.problems.push(Problem::NoGroupName { dn: g.dn.clone() }),
            Some(n) => by_name.entry(n.to_lowercase()).or_default().push(g),
        }
    }
    for (key, entries) in &by_name {
        let [g] = entries.as_slice() else {
            let mut dns: Vec<String> = entries.iter().map(|g| g.dn.clone()).collect();
            dns.sort();
            out.problems.push(Problem::DuplicateGroupName {
                name: entries[0].name.clone().unwrap_or_default(),
                dns,
            });
            out.held_groups.insert(key.clone());
            continue;
        };
        let dn = normalize_dn(&g.dn);
        if flat.truncated.contains(&dn) {
            out.problems.push(Problem::NestingTruncated {
                dn: g.dn.clone(),
                depth,
            });
        }
        let mut members: Vec<String> = flat
            .users_of
            .get(&dn)
            .into_iter()
            .flatten()
            .filter_map(|u| username_of_dn.get(u).cloned())
            .collect();
        members.sort_by_key(|m| m.to_lowercase());
        let group_name = g.name.clone().unwrap_or_default();
        let name = naming::group_name(&target.integration, &group_name);
        out.groups.insert(
            name.clone(),
            LastPassGroup {
                metadata: meta(&name),
                spec: LastPassGroupSpec {
                    integration_ref: integration_ref.clone(),
                    group_name,
                    members,
                    member_selector: None,
                    policy: GroupPolicy::Authoritative,
                },
                status: None,
            },
        );
    }
    out.problems.sort();
    out
}

#[cfg(test)]
#[path = "desired_tests.rs"]
mod tests;
