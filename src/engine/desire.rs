//! Desire: from the resources that point at one integration to the engine's [`Desired`], after
//! admission.
//!
//! Admission is the one step between the cluster and the plan: a resource contributes only if
//! its namespace is allowed by the integration, its spec keeps the contract (the rules the CRDs
//! express in CEL, checked here too because API servers before 1.25 do not run CEL), and it is
//! the single owner of its username or group name. Anything else contributes nothing at all —
//! no groups, attributes, suspension, password or membership — and gets an [`Issue`].
//!
//! Pure: the same resources give the same result. The resources come from the reflector
//! stores in the cluster, or from YAML files in `plan`, `demo` and `bench`.

use std::collections::{BTreeMap, BTreeSet};

use kube::ResourceExt;
use kube::core::{Selector, SelectorExt};

use crate::crd::{
    APPROVED_PLAN_ANNOTATION, DirectoryIntegration, InitialPassword, IntegrationRef, LastPassGroup,
    LastPassUser, NamespacesFrom, SOURCE_ADOPTED, SOURCE_LABEL, TAKE_OVER_ANNOTATION,
};
use crate::lastpass::{Interner, LastPassZone};

use super::model::{
    Desired, DesiredGroup, DesiredUser, Leaving, ResourceRef, ShownStatus, user_key,
};

/// Why a resource takes no part in the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Issue {
    /// The integration's `allowedNamespaces` does not admit the resource's namespace.
    IntegrationNotAllowed {
        /// The namespace that was refused.
        namespace: String,
    },
    /// An older admitted resource claims the same username; that one owns it.
    UsernameConflict {
        /// The username both claim.
        username: String,
        /// The owner, when it is in the same namespace (other namespaces are not disclosed).
        owner: Option<ResourceRef>,
    },
    /// An older admitted resource claims the same group name; that one owns it.
    GroupNameConflict {
        /// The group name both claim.
        group_name: String,
        /// The owner, when it is in the same namespace (other namespaces are not disclosed).
        owner: Option<ResourceRef>,
    },
    /// A `memberSelector` or namespace selector that cannot be parsed.
    InvalidSelector {
        /// The parser's message.
        message: String,
    },
    /// `spec.username` is not an e-mail address.
    InvalidUsername {
        /// The username as written.
        username: String,
    },
    /// A `spec.members` entry of a group is not an e-mail address.
    InvalidMember {
        /// The entry as written.
        member: String,
    },
    /// `spec.username` changed after the resource was bound (it is immutable).
    UsernameChanged {
        /// The username the resource is bound to.
        bound: String,
        /// The username the spec now says.
        now: String,
    },
    /// `spec.groupName` changed after the resource was bound (it is immutable).
    GroupNameChanged {
        /// The group name the resource is bound to.
        bound: String,
        /// The group name the spec now says.
        now: String,
    },
    /// `spec.integrationRef` changed after the resource was bound (it is immutable).
    IntegrationRefChanged {
        /// The integration the resource is bound to.
        bound: IntegrationRef,
        /// The integration the spec now names.
        now: IntegrationRef,
    },
    /// `spec.groups` names a group that a LastPassGroup in another namespace owns: only that
    /// group's own resource adds people to it.
    CrossNamespaceGroup {
        /// The group named.
        group: String,
    },
    /// `spec.members` lists a user that a LastPassUser in another namespace owns: a group
    /// outside the integration's namespace lists only users of its own namespace (or users no
    /// resource declares).
    CrossNamespaceMember {
        /// The member listed.
        member: String,
    },
    /// `initialPassword: Generate`, but a Secret of the generated password's name exists that
    /// the operator did not create for this resource.
    InitialPasswordConflict {
        /// Namespace of the Secret.
        namespace: String,
        /// Name of the Secret.
        secret: String,
    },
}

/// What the resources of one integration declare, and what is wrong with some of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Desire {
    /// The integration this desire is for (namespace always set): resources admitted now are
    /// bound to it.
    pub integration: IntegrationRef,
    /// The declared state.
    pub desired: Desired,
    /// Resources left out of the plan, with the reason.
    pub issues: BTreeMap<ResourceRef, Issue>,
    /// Deleted resources that never reached LastPass through this integration (left out, or
    /// losers of a conflict): their finalizers may go at once.
    pub release: Vec<ResourceRef>,
    /// Deleted claimants of a username a live resource owns, by key: released now, but if the
    /// live owner is taken out after admission ([`Desire::exclude_user`]), they leave after all
    /// (their account is deprovisioned rather than left to nobody).
    pub superseded: BTreeMap<String, Leaving>,
    /// The zone the account's zone-less timestamps are read in (`spec.lastpass.timeZone`; an
    /// unknown name stops the sync in [`super::spec_check`] before this is used).
    pub time_zone: LastPassZone,
    /// SCIM member ids of admitted groups that no admitted user carries yet (see
    /// [`super::pending_members`]), for `status.pendingMemberIds`.
    pub pending_members: BTreeMap<ResourceRef, Vec<String>>,
}

impl Desire {
    /// Takes an admitted user out of the plan with an issue (a problem found after admission,
    /// such as a conflicting initial-password Secret): it then contributes nothing.
    pub fn exclude_user(&mut self, key: &str, issue: Issue) {
        if let Some(user) = self.desired.users.remove(key) {
            for group in self.desired.groups.values_mut() {
                group.members.remove(key);
            }
            self.issues.insert(user.resource, issue);
            self.reinstate_superseded(key);
        }
    }

    /// A deleted claimant released because of a live owner that is now out leaves after all.
    fn reinstate_superseded(&mut self, key: &str) {
        if let Some(leaving) = self.superseded.remove(key) {
            self.release.retain(|r| *r != leaving.resource);
            self.desired.leaving.insert(key.to_string(), leaving);
        }
    }

    /// Leaves an admitted user out of this sync only (a transient problem, such as a Secret
    /// that could not be read): nothing is planned for it and its status is not rewritten.
    pub fn hold_back_user(&mut self, key: &str) {
        if self.desired.users.remove(key).is_some() {
            for group in self.desired.groups.values_mut() {
                group.members.remove(key);
            }
            // A deleted claimant it superseded is neither released nor deprovisioned on a
            // transient problem: it waits for the next sync.
            if let Some(leaving) = self.superseded.remove(key) {
                self.release.retain(|r| *r != leaving.resource);
            }
        }
    }
}

/// The resource reference of an object (kind, namespace, name).
pub fn resource_ref<K: ResourceExt + kube::Resource<DynamicType = ()>>(obj: &K) -> ResourceRef {
    ResourceRef {
        kind: super::model::RefKind::of_kind(&K::kind(&())),
        namespace: obj.namespace().unwrap_or_default(),
        name: obj.name_any(),
    }
}

/// A reference with its namespace resolved against the referring namespace.
pub fn resolved(reference: &IntegrationRef, from_ns: &str) -> IntegrationRef {
    IntegrationRef {
        name: reference.name.clone(),
        namespace: Some(
            reference
                .namespace
                .clone()
                .unwrap_or_else(|| from_ns.to_string()),
        ),
    }
}

/// The reference of an integration itself.
pub fn integration_ref_of(integration: &DirectoryIntegration) -> IntegrationRef {
    IntegrationRef {
        name: integration.name_any(),
        namespace: integration.namespace(),
    }
}

/// Whether `reference`, written in namespace `from_ns`, names `integration`.
pub fn refers_to(
    reference: &IntegrationRef,
    from_ns: &str,
    integration: &DirectoryIntegration,
) -> bool {
    resolved(reference, from_ns) == integration_ref_of(integration)
}

/// The integration a resource belongs to: the one it is bound to, else the one its spec names.
/// A changed `integrationRef` does not move a bound resource (it is immutable).
pub fn owning_integration(
    spec_ref: &IntegrationRef,
    own_ns: &str,
    bound: Option<&IntegrationRef>,
) -> IntegrationRef {
    bound.cloned().unwrap_or_else(|| resolved(spec_ref, own_ns))
}

/// Whether resources in `namespace` may use `integration`. The integration's own namespace is
/// always admitted; `Selector` without a selector admits no other namespace.
pub fn namespace_allowed(
    integration: &DirectoryIntegration,
    namespace: &str,
    namespace_labels: &BTreeMap<String, BTreeMap<String, String>>,
) -> Result<bool, Issue> {
    if integration.namespace().as_deref() == Some(namespace) {
        return Ok(true);
    }
    let allowed = &integration.spec.allowed_namespaces;
    Ok(match allowed.from {
        NamespacesFrom::Same => false,
        NamespacesFrom::All => true,
        NamespacesFrom::Selector => {
            let Some(selector) = allowed.selector.clone() else {
                return Ok(false);
            };
            let selector: Selector =
                selector
                    .try_into()
                    .map_err(
                        |e: kube::core::ParseExpressionError| Issue::InvalidSelector {
                            message: e.to_string(),
                        },
                    )?;
            let empty = BTreeMap::new();
            selector.matches(namespace_labels.get(namespace).unwrap_or(&empty))
        }
    })
}

/// Whether `value` has the shape of an e-mail address (the CRDs' `EMAIL_PATTERN`:
/// `^[^@\s]+@[^@\s]+\.[^@\s]+$`).
pub fn is_email(value: &str) -> bool {
    let Some((local, domain)) = value.split_once('@') else {
        return false;
    };
    let clean = |s: &str| !s.is_empty() && !s.contains('@') && !s.chars().any(char::is_whitespace);
    let dotted = domain
        .rsplit_once('.')
        .is_some_and(|(head, tail)| !head.is_empty() && !tail.is_empty());
    clean(local) && clean(domain) && dotted
}

/// Live resources first, those already bound to this integration first among them, then the
/// oldest (creationTimestamp, then namespace/name): the first to claim a name owns it, an owner
/// keeps its name against claimants admitted later, and a re-created resource keeps the account.
fn claim_order<K: ResourceExt + kube::Resource<DynamicType = ()>>(
    list: &mut [&K],
    bound_here: impl Fn(&K) -> bool,
) {
    list.sort_by_key(|o| {
        (
            o.meta().deletion_timestamp.is_some(),
            !bound_here(o),
            o.meta().creation_timestamp.clone().map(|t| t.0),
            resource_ref(*o),
        )
    });
}

/// The owner as a conflict message may show it: only within the loser's own namespace.
fn disclosed(owner: &ResourceRef, loser: &ResourceRef) -> Option<ResourceRef> {
    (owner.namespace == loser.namespace).then(|| owner.clone())
}

/// Builds the desired state of `integration` from every user and group resource given (those
/// of other integrations are skipped).
pub fn desire<'a>(
    integration: &DirectoryIntegration,
    users: impl IntoIterator<Item = &'a LastPassUser>,
    groups: impl IntoIterator<Item = &'a LastPassGroup>,
    namespace_labels: &BTreeMap<String, BTreeMap<String, String>>,
) -> Desire {
    let this = integration_ref_of(integration);
    let mut out = Desire {
        integration: this.clone(),
        time_zone: LastPassZone::named(integration.spec.lastpass.time_zone.as_deref())
            .unwrap_or_default(),
        ..Desire::default()
    };
    let selectable = admit_users(&mut out, integration, users, namespace_labels);
    admit_groups(&mut out, integration, groups, namespace_labels, &selectable);
    refuse_cross_namespace_references(&mut out);
    // Rebuilt in bulk, the users' B-tree has full nodes instead of the half-full ones inserts
    // leave: ~8 MiB less at 50,000 users, for the whole sync.
    out.desired.users = std::mem::take(&mut out.desired.users).into_iter().collect();
    out
}

/// One namespace never changes another namespace's memberships: outside the integration's own
/// namespace (the administrators'), a group lists only users of its namespace (or users no
/// resource declares), and a user names no group a LastPassGroup of another namespace owns.
/// Offenders contribute nothing.
fn refuse_cross_namespace_references(out: &mut Desire) {
    let home = out.integration.namespace.clone().unwrap_or_default();
    let group_ns: BTreeMap<String, String> = out
        .desired
        .groups
        .iter()
        .map(|(name, g)| (name.clone(), g.resource.namespace.clone()))
        .collect();
    let bad_groups: Vec<(String, String)> = out
        .desired
        .groups
        .iter()
        .filter(|(_, g)| g.resource.namespace != home)
        .filter_map(|(name, g)| {
            let member = g.members.iter().find(|m| {
                out.desired
                    .users
                    .get(*m)
                    .is_some_and(|u| u.resource.namespace != g.resource.namespace)
            })?;
            Some((name.clone(), member.clone()))
        })
        .collect();
    for (name, member) in bad_groups {
        if let Some(g) = out.desired.groups.remove(&name) {
            out.issues
                .insert(g.resource, Issue::CrossNamespaceMember { member });
        }
    }
    let bad_users: Vec<(String, String)> = out
        .desired
        .users
        .iter()
        .filter(|(_, u)| u.resource.namespace != home)
        .filter_map(|(key, u)| {
            let group = u.groups.iter().find(|g| {
                group_ns
                    .get(*g)
                    .is_some_and(|ns| *ns != u.resource.namespace)
            })?;
            Some((key.clone(), group.to_string()))
        })
        .collect();
    for (key, group) in bad_users {
        out.exclude_user(&key, Issue::CrossNamespaceGroup { group });
    }
}

/// The admission problems of a resource's namespace, if any.
fn namespace_issue(
    integration: &DirectoryIntegration,
    namespace: &str,
    namespace_labels: &BTreeMap<String, BTreeMap<String, String>>,
) -> Option<Issue> {
    match namespace_allowed(integration, namespace, namespace_labels) {
        Ok(true) => None,
        Ok(false) => Some(Issue::IntegrationNotAllowed {
            namespace: namespace.to_string(),
        }),
        Err(issue) => Some(issue),
    }
}

/// Admits users; returns the admitted live owners (for group `memberSelector`s) with their keys.
fn admit_users<'a>(
    out: &mut Desire,
    integration: &DirectoryIntegration,
    users: impl IntoIterator<Item = &'a LastPassUser>,
    namespace_labels: &BTreeMap<String, BTreeMap<String, String>>,
) -> Vec<(&'a LastPassUser, String)> {
    let default_action = integration.spec.sync.deprovision.default_action;
    let mut mine: Vec<&LastPassUser> = users
        .into_iter()
        .filter(|u| {
            let ns = u.namespace().unwrap_or_default();
            let bound = u.status.as_ref().and_then(|s| s.bound_integration.as_ref());
            owning_integration(&u.spec.integration_ref, &ns, bound) == out.integration
        })
        .collect();
    let this = out.integration.clone();
    claim_order(&mut mine, |u| {
        u.status.as_ref().and_then(|s| s.bound_integration.as_ref()) == Some(&this)
    });
    let mut owners: BTreeMap<String, ResourceRef> = BTreeMap::new();
    let mut selectable = Vec::new();
    // One shared copy of each group name for all users.
    let mut interner = Interner::default();
    for user in mine {
        let rref = resource_ref(user);
        let deleting = user.metadata.deletion_timestamp.is_some();
        let status = user.status.as_ref();
        let bound_username = status.and_then(|s| s.bound_username.clone());
        // Bound here: it was admitted to this integration once, and may own an account.
        let bound_here =
            status.and_then(|s| s.bound_integration.as_ref()) == Some(&out.integration);
        let namespace_problem = namespace_issue(integration, &rref.namespace, namespace_labels);
        // A bound resource deleted after its namespace stopped being admitted still
        // deprovisions the account it made (a leaver keeps no access); anything else from a
        // namespace that is not admitted contributes nothing.
        if let Some(issue) = namespace_problem
            .clone()
            .filter(|_| !(deleting && bound_here))
        {
            reserve(&mut owners, bound_here, bound_username.as_deref(), &rref);
            leave_out(out, rref, deleting, issue);
            continue;
        }
        if deleting {
            // Deprovision the account this resource really made, whatever the spec says now.
            let username = bound_username.unwrap_or_else(|| user.spec.username.clone());
            let key = user_key(&username);
            let leaving = Leaving {
                username: username.clone(),
                action: user.spec.deprovision_action.unwrap_or(default_action),
                resource: rref.clone(),
                approved_plan: ldap_approval(user, integration),
            };
            if !is_email(&username) || owners.contains_key(&key) {
                // Superseded by a live owner; it leaves after all if that owner drops out.
                if is_email(&username) {
                    out.superseded.entry(key).or_insert(leaving);
                }
                out.release.push(rref);
                continue;
            }
            owners.insert(key.clone(), rref);
            out.desired.leaving.insert(key, leaving);
            continue;
        }
        if let Some(issue) = user_contract_issue(user, &out.integration) {
            // A bound owner keeps its username while it is broken: nobody else takes it over.
            reserve(&mut owners, bound_here, bound_username.as_deref(), &rref);
            out.issues.insert(rref, issue);
            continue;
        }
        let key = user_key(&user.spec.username);
        if let Some(owner) = owners.get(&key) {
            let issue = Issue::UsernameConflict {
                username: user.spec.username.clone(),
                owner: disclosed(owner, &rref),
            };
            out.issues.insert(rref, issue);
            continue;
        }
        owners.insert(key.clone(), rref.clone());
        selectable.push((user, key.clone()));
        out.desired.users.insert(
            key,
            DesiredUser {
                username: user.spec.username.clone(),
                full_name: user.spec.full_name.clone(),
                groups: interner.names(user.spec.groups.iter().map(String::as_str)),
                attributes: user.spec.attributes.clone(),
                attributes_sent: status.and_then(|s| s.attributes_hash.clone()),
                suspended: user.spec.suspended,
                password_reset_required: user.spec.password_reset_required,
                resource: rref,
                adopted: user.labels().get(SOURCE_LABEL).map(String::as_str)
                    == Some(SOURCE_ADOPTED),
                shown: shown_status(user),
            },
        );
    }
    selectable
}

/// The status `user` shows, when it describes the user's generation. A user with a generated
/// initial password gets none: its status names the password's Secret, which the controller
/// adds.
fn shown_status(user: &LastPassUser) -> Option<ShownStatus> {
    if user.spec.initial_password == InitialPassword::Generate {
        return None;
    }
    let status = user.status.as_ref()?;
    let generation = user.metadata.generation?;
    (status.observed_generation == Some(generation)).then(|| ShownStatus {
        digest: crate::status::writer::digest(status),
        generation,
    })
}

/// Keeps the username a bound resource owns reserved while it is left out, so that another
/// claimant cannot take the account over through a typo or a namespace label change.
fn reserve(
    owners: &mut BTreeMap<String, ResourceRef>,
    bound_here: bool,
    bound_username: Option<&str>,
    rref: &ResourceRef,
) {
    if let Some(username) = bound_username.filter(|_| bound_here) {
        owners
            .entry(user_key(username))
            .or_insert_with(|| rref.clone());
    }
}

/// The id of an LDAP pull a person approved, from a deleted user's `approved-plan`
/// annotation — only where the LDAP pull itself writes it: an `ldap-` id, on an LDAP-sourced
/// user in the integration's own namespace. Anyone who can edit a user elsewhere could copy a
/// consumed id onto it; the safeguard then trusts the id only if the pull recorded it.
fn ldap_approval(user: &LastPassUser, integration: &DirectoryIntegration) -> Option<String> {
    let id = user.annotations().get(APPROVED_PLAN_ANNOTATION)?.trim();
    let from_ldap = user.labels().get(SOURCE_LABEL).map(String::as_str) == Some("ldap");
    (id.starts_with("ldap-") && from_ldap && user.namespace() == integration.namespace())
        .then(|| id.to_string())
}

/// The first contract rule a live user breaks (the rules CEL checks where the server has it).
fn user_contract_issue(user: &LastPassUser, this: &IntegrationRef) -> Option<Issue> {
    let status = user.status.as_ref();
    let ns = user.namespace().unwrap_or_default();
    let now = resolved(&user.spec.integration_ref, &ns);
    if let Some(bound) = status.and_then(|s| s.bound_integration.as_ref())
        && *bound != now
    {
        debug_assert_eq!(bound, this);
        return Some(Issue::IntegrationRefChanged {
            bound: bound.clone(),
            now,
        });
    }
    if let Some(bound) = status.and_then(|s| s.bound_username.as_ref())
        && *bound != user.spec.username
    {
        return Some(Issue::UsernameChanged {
            bound: bound.clone(),
            now: user.spec.username.clone(),
        });
    }
    if !is_email(&user.spec.username) {
        return Some(Issue::InvalidUsername {
            username: user.spec.username.clone(),
        });
    }
    None
}

/// The first contract rule a live group breaks.
fn group_contract_issue(group: &LastPassGroup) -> Option<Issue> {
    let status = group.status.as_ref();
    let ns = group.namespace().unwrap_or_default();
    let now = resolved(&group.spec.integration_ref, &ns);
    if let Some(bound) = status.and_then(|s| s.bound_integration.as_ref())
        && *bound != now
    {
        return Some(Issue::IntegrationRefChanged {
            bound: bound.clone(),
            now,
        });
    }
    if let Some(bound) = status.and_then(|s| s.bound_group_name.as_ref())
        && *bound != group.spec.group_name
    {
        return Some(Issue::GroupNameChanged {
            bound: bound.clone(),
            now: group.spec.group_name.clone(),
        });
    }
    group
        .spec
        .members
        .iter()
        .find(|m| !is_email(m))
        .map(|m| Issue::InvalidMember { member: m.clone() })
}

/// Admits groups: one owner per group name; members only from admitted owners.
fn admit_groups<'a>(
    out: &mut Desire,
    integration: &DirectoryIntegration,
    groups: impl IntoIterator<Item = &'a LastPassGroup>,
    namespace_labels: &BTreeMap<String, BTreeMap<String, String>>,
    selectable: &[(&LastPassUser, String)],
) {
    let mut mine: Vec<&LastPassGroup> = groups
        .into_iter()
        .filter(|g| {
            let ns = g.namespace().unwrap_or_default();
            let bound = g.status.as_ref().and_then(|s| s.bound_integration.as_ref());
            owning_integration(&g.spec.integration_ref, &ns, bound) == out.integration
        })
        .collect();
    let this = out.integration.clone();
    let scim_ids = super::pending_members::ScimIds::new(selectable);
    claim_order(&mut mine, |g| {
        g.status.as_ref().and_then(|s| s.bound_integration.as_ref()) == Some(&this)
    });
    let mut owners: BTreeMap<String, ResourceRef> = BTreeMap::new();
    for group in mine {
        let rref = resource_ref(group);
        // A deleted group declares no members: Authoritative removes them all (except where
        // users' own spec.groups keep them), Additive leaves them.
        let deleting = group.metadata.deletion_timestamp.is_some();
        if let Some(issue) = namespace_issue(integration, &rref.namespace, namespace_labels) {
            leave_out(out, rref, deleting, issue);
            continue;
        }
        let name = match group
            .status
            .as_ref()
            .and_then(|s| s.bound_group_name.clone())
        {
            Some(bound) if deleting => bound,
            _ => group.spec.group_name.clone(),
        };
        if !deleting && let Some(issue) = group_contract_issue(group) {
            out.issues.insert(rref, issue);
            continue;
        }
        if let Some(owner) = owners.get(&name) {
            let issue = Issue::GroupNameConflict {
                group_name: name.clone(),
                owner: disclosed(owner, &rref),
            };
            leave_out(out, rref, deleting, issue);
            continue;
        }
        let mut members: BTreeSet<String> = if deleting {
            BTreeSet::new()
        } else {
            group.spec.members.iter().map(|m| user_key(m)).collect()
        };
        if let Some(selector) = group.spec.member_selector.as_ref().filter(|_| !deleting) {
            match Selector::try_from(selector.clone()) {
                Ok(selector) => members.extend(
                    selectable
                        .iter()
                        .filter(|(u, _)| {
                            u.namespace() == group.namespace() && selector.matches(u.labels())
                        })
                        .map(|(_, key)| key.clone()),
                ),
                Err(e) => {
                    let issue = Issue::InvalidSelector {
                        message: e.to_string(),
                    };
                    out.issues.insert(rref, issue);
                    continue;
                }
            }
        }
        if !deleting {
            let (arrived, pending) = scim_ids.resolve(group);
            members.extend(arrived);
            if !pending.is_empty() {
                out.pending_members.insert(rref.clone(), pending);
            }
        }
        owners.insert(name.clone(), rref.clone());
        out.desired.groups.insert(
            name.clone(),
            DesiredGroup {
                name,
                members,
                policy: group.spec.policy,
                resource: rref,
                from_directory: matches!(
                    group.labels().get(SOURCE_LABEL).map(String::as_str),
                    Some("scim" | "ldap")
                ),
                take_over: group
                    .annotations()
                    .get(TAKE_OVER_ANNOTATION)
                    .is_some_and(|v| v.trim() == "true"),
            },
        );
    }
}

fn leave_out(out: &mut Desire, rref: ResourceRef, deleting: bool, issue: Issue) {
    if deleting {
        out.release.push(rref);
    } else {
        out.issues.insert(rref, issue);
    }
}
