//! The engine's view of an account: what is declared (`Desired`) and what LastPass reports
//! (`Observed`). Both are keyed by the lower-cased username, since LastPass compares usernames
//! case-insensitively while the operator sends them as written.

use std::collections::{BTreeMap, BTreeSet};

use crate::crd::{DeprovisionAction, GroupPolicy};
use crate::lastpass::GroupNames;

/// Lower-cased username: the key every map of the engine uses.
pub type UserKey = String;

/// The key of a username.
pub fn user_key(username: &str) -> UserKey {
    username.trim().to_lowercase()
}

/// The kind of a [`ResourceRef`]: a LastPassUser and a LastPassGroup may share a name, and
/// their statuses and Events must never be confused.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum RefKind {
    /// A `LastPassUser`.
    #[default]
    User,
    /// A `LastPassGroup`.
    Group,
    /// A `DirectoryIntegration`.
    Integration,
}

impl RefKind {
    /// The kind of a resource type, by its Kubernetes kind name.
    pub fn of_kind(kind: &str) -> Self {
        match kind {
            "LastPassGroup" => Self::Group,
            "DirectoryIntegration" => Self::Integration,
            _ => Self::User,
        }
    }
}

/// The Kubernetes resource behind a desired user or group (for status, Events, finalizers):
/// kind, namespace and name, so that same-named resources of different kinds stay apart.
#[derive(Clone, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ResourceRef {
    /// Kind of the resource.
    pub kind: RefKind,
    /// Namespace of the resource.
    pub namespace: String,
    /// Name of the resource.
    pub name: String,
}

impl ResourceRef {
    /// A LastPassUser's reference.
    pub fn user(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            kind: RefKind::User,
            namespace: namespace.into(),
            name: name.into(),
        }
    }

    /// A LastPassGroup's reference.
    pub fn group(namespace: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            kind: RefKind::Group,
            namespace: namespace.into(),
            name: name.into(),
        }
    }
}

/// A user as declared by a LastPassUser.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DesiredUser {
    /// The username as written in the resource (sent to LastPass as is).
    pub username: String,
    /// Display name; `None` leaves LastPass's value alone.
    pub full_name: Option<String>,
    /// Direct memberships from `spec.groups`.
    pub groups: GroupNames,
    /// Custom attributes, sent with `batchadd`.
    pub attributes: BTreeMap<String, String>,
    /// Digest of the attributes last sent to LastPass (from the user's status): LastPass does
    /// not report attributes back, so this is how a change of `spec.attributes` is noticed.
    pub attributes_sent: Option<String>,
    /// Disabled on purpose.
    pub suspended: bool,
    /// Sent as `password_reset_required` with `batchadd`.
    pub password_reset_required: bool,
    /// The resource it comes from.
    pub resource: ResourceRef,
    /// Made by `unmanagedUsers: Adopt` (source label `adopted`): its `groups` copy what
    /// LastPass had, so they never make a group managed (adoption changes nothing in
    /// LastPass, other users' console memberships included).
    pub adopted: bool,
    /// The status the resource shows, if it describes the current generation: the report
    /// leaves out a status that would not change, so a steady sync builds none.
    pub shown: Option<ShownStatus>,
}

/// A status as a resource shows it, by digest ([`crate::status::writer::digest`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ShownStatus {
    /// The digest of the status, times left out.
    pub digest: u64,
    /// The generation it describes (its observedGeneration, the resource's generation).
    pub generation: i64,
}

/// A group as declared by a LastPassGroup.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct DesiredGroup {
    /// Group name in LastPass.
    pub name: String,
    /// Members by user key (explicit `members` and `memberSelector` matches).
    pub members: BTreeSet<UserKey>,
    /// Whether undeclared members are removed.
    pub policy: GroupPolicy,
    /// The resource it comes from.
    pub resource: ResourceRef,
    /// Made by a directory (SCIM or LDAP source label), not by a person: such a group is not
    /// Authoritative over a LastPass group with members the operator does not manage unless
    /// `take_over` says so.
    pub from_directory: bool,
    /// The resource carries `lastpass-operator.io/take-over: "true"`.
    pub take_over: bool,
}

/// A user whose resource is being deleted, with the resolved action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Leaving {
    /// The username as written in the resource.
    pub username: String,
    /// The resolved deprovision action.
    pub action: DeprovisionAction,
    /// The resource being deleted.
    pub resource: ResourceRef,
    /// The held plan (or LDAP pull) id a person approved for this deletion, from the
    /// resource's `lastpass-operator.io/approved-plan` annotation. Only a hint: the safeguard
    /// trusts it only when the integration's status records that approval as consumed.
    pub approved_plan: Option<String>,
}

/// Everything the resources of one integration declare.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Desired {
    /// Users that should exist, by key.
    pub users: BTreeMap<UserKey, DesiredUser>,
    /// Groups declared by LastPassGroups, by name.
    pub groups: BTreeMap<String, DesiredGroup>,
    /// Users whose resources are being deleted, by key.
    pub leaving: BTreeMap<UserKey, Leaving>,
}

impl Desired {
    /// Just these users, keyed by their usernames (no groups, nobody leaving).
    pub fn of_users(users: impl IntoIterator<Item = DesiredUser>) -> Self {
        Self {
            users: users
                .into_iter()
                .map(|u| (user_key(&u.username), u))
                .collect(),
            ..Self::default()
        }
    }
}

/// A user as LastPass reports it (the client's decoded `getuserdata` entry).
pub type ObservedUser = crate::lastpass::User;

/// A snapshot of the whole account, read with paged `getuserdata`.
pub type Observed = crate::lastpass::Snapshot;

/// Digest of a set of attributes, as kept in `status.attributesHash`.
pub fn attributes_digest(attributes: &BTreeMap<String, String>) -> String {
    let text: Vec<String> = attributes.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!("{:016x}", crate::naming::fnv1a(text.join("\n").as_bytes()))
}
