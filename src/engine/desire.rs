//! Desire: from the resources that point at one integration to the engine's [`Desired`].
//!
//! Pure: the same resources give the same result. The resources come from the reflector
//! stores in the cluster, or from YAML files in `plan`, `demo` and `bench`.

use std::collections::{BTreeMap, BTreeSet};

use kube::ResourceExt;
use kube::core::{Selector, SelectorExt};

use crate::crd::{
    APPROVED_PLAN_ANNOTATION, DirectoryIntegration, IntegrationRef, LastPassGroup, LastPassUser,
    NamespacesFrom, SOURCE_ADOPTED, SOURCE_LABEL, TAKE_OVER_ANNOTATION,
};

use super::model::{Desired, DesiredGroup, DesiredUser, Leaving, ResourceRef, user_key};

/// Why a resource takes no part in the plan.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Issue {
    /// The integration's `allowedNamespaces` does not admit the resource's namespace.
    IntegrationNotAllowed {
        /// The namespace that was refused.
        namespace: String,
    },
    /// Another resource claims the same username; that one wins.
    Conflict {
        /// The username both claim.
        username: String,
        /// The resource that owns it.
        owner: ResourceRef,
    },
    /// A `memberSelector` or namespace selector that cannot be parsed.
    InvalidSelector {
        /// The parser's message.
        message: String,
    },
}

/// What the resources of one integration declare, and what is wrong with some of them.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Desire {
    /// The declared state.
    pub desired: Desired,
    /// Resources left out of the plan, with the reason.
    pub issues: BTreeMap<ResourceRef, Issue>,
    /// Deleted resources that never reached LastPass through this integration (left out, or
    /// losers of a conflict):
    /// their finalizers may go at once.
    pub release: Vec<ResourceRef>,
}

/// The resource reference of an object.
pub fn resource_ref<K: ResourceExt + kube::Resource<DynamicType = ()>>(obj: &K) -> ResourceRef {
    ResourceRef {
        kind: super::model::RefKind::of_kind(&K::kind(&())),
        namespace: obj.namespace().unwrap_or_default(),
        name: obj.name_any(),
    }
}

/// Whether `reference`, written in namespace `from_ns`, names `integration`.
pub fn refers_to(
    reference: &IntegrationRef,
    from_ns: &str,
    integration: &DirectoryIntegration,
) -> bool {
    let ns = reference.namespace.as_deref().unwrap_or(from_ns);
    reference.name == integration.name_any() && Some(ns) == integration.namespace().as_deref()
}

/// Whether resources in `namespace` may use `integration`.
pub fn namespace_allowed(
    integration: &DirectoryIntegration,
    namespace: &str,
    namespace_labels: &BTreeMap<String, BTreeMap<String, String>>,
) -> Result<bool, Issue> {
    let allowed = &integration.spec.allowed_namespaces;
    Ok(match allowed.from {
        NamespacesFrom::Same => integration.namespace().as_deref() == Some(namespace),
        NamespacesFrom::All => true,
        NamespacesFrom::Selector => {
            let selector: Selector = allowed
                .selector
                .clone()
                .unwrap_or_default()
                .try_into()
                .map_err(
                    |e: kube::core::ParseExpressionError| Issue::InvalidSelector {
                        message: e.to_string(),
                    },
                )?;
            let empty = BTreeMap::new();
            integration.namespace().as_deref() == Some(namespace)
                || selector.matches(namespace_labels.get(namespace).unwrap_or(&empty))
        }
    })
}

/// Builds the desired state of `integration` from every user and group resource given (those
/// of other integrations are skipped).
pub fn desire<'a>(
    integration: &DirectoryIntegration,
    users: impl IntoIterator<Item = &'a LastPassUser>,
    groups: impl IntoIterator<Item = &'a LastPassGroup>,
    namespace_labels: &BTreeMap<String, BTreeMap<String, String>>,
) -> Desire {
    let mut out = Desire::default();
    let default_action = integration.spec.sync.deprovision.default_action;

    let mut mine: Vec<&LastPassUser> = users
        .into_iter()
        .filter(|u| {
            refers_to(
                &u.spec.integration_ref,
                &u.namespace().unwrap_or_default(),
                integration,
            )
        })
        .collect();
    // Oldest first: the first resource to claim a username owns it.
    mine.sort_by_key(|u| {
        (
            u.metadata.creation_timestamp.clone().map(|t| t.0),
            resource_ref(*u),
        )
    });
    let mut owners: BTreeMap<String, ResourceRef> = BTreeMap::new();
    // Live resources claim before deleted ones, so a re-created user keeps its account.
    let (live, deleted): (Vec<_>, Vec<_>) = mine
        .into_iter()
        .partition(|u| u.metadata.deletion_timestamp.is_none());
    let mut selectable: Vec<(&LastPassUser, String)> = Vec::new();
    for user in live.into_iter().chain(deleted) {
        let rref = resource_ref(user);
        let deleting = user.metadata.deletion_timestamp.is_some();
        match namespace_allowed(integration, &rref.namespace, namespace_labels) {
            Ok(true) => {}
            Ok(false) => {
                let namespace = rref.namespace.clone();
                leave_out(
                    &mut out,
                    rref,
                    deleting,
                    Issue::IntegrationNotAllowed { namespace },
                );
                continue;
            }
            Err(issue) => {
                leave_out(&mut out, rref, deleting, issue);
                continue;
            }
        }
        let key = user_key(&user.spec.username);
        if let Some(owner) = owners.get(&key) {
            let issue = Issue::Conflict {
                username: user.spec.username.clone(),
                owner: owner.clone(),
            };
            leave_out(&mut out, rref, deleting, issue);
            continue;
        }
        owners.insert(key.clone(), rref.clone());
        if deleting {
            out.desired.leaving.insert(
                key,
                Leaving {
                    username: user.spec.username.clone(),
                    action: user.spec.deprovision_action.unwrap_or(default_action),
                    resource: rref,
                    approved_plan: user
                        .annotations()
                        .get(APPROVED_PLAN_ANNOTATION)
                        .map(|v| v.trim().to_string()),
                },
            );
        } else {
            selectable.push((user, key.clone()));
            out.desired.users.insert(
                key,
                DesiredUser {
                    username: user.spec.username.clone(),
                    full_name: user.spec.full_name.clone(),
                    groups: user.spec.groups.iter().cloned().collect(),
                    attributes: user.spec.attributes.clone(),
                    attributes_sent: user.status.as_ref().and_then(|s| s.attributes_hash.clone()),
                    suspended: user.spec.suspended,
                    password_reset_required: user.spec.password_reset_required,
                    resource: rref,
                    adopted: user.labels().get(SOURCE_LABEL).map(String::as_str)
                        == Some(SOURCE_ADOPTED),
                },
            );
        }
    }

    for group in groups {
        let rref = resource_ref(group);
        if !refers_to(&group.spec.integration_ref, &rref.namespace, integration) {
            continue;
        }
        // A deleted group declares no members: Authoritative removes them all (except where
        // users' own spec.groups keep them), Additive leaves them.
        let deleting = group.metadata.deletion_timestamp.is_some();
        match namespace_allowed(integration, &rref.namespace, namespace_labels) {
            Ok(true) => {}
            Ok(false) => {
                let namespace = rref.namespace.clone();
                out.issues
                    .insert(rref, Issue::IntegrationNotAllowed { namespace });
                continue;
            }
            Err(issue) => {
                out.issues.insert(rref, issue);
                continue;
            }
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
                    out.issues.insert(
                        rref,
                        Issue::InvalidSelector {
                            message: e.to_string(),
                        },
                    );
                    continue;
                }
            }
        }
        let name = group.spec.group_name.clone();
        let entry = out
            .desired
            .groups
            .entry(name.clone())
            .or_insert_with(|| DesiredGroup {
                name,
                members: BTreeSet::new(),
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
            });
        entry.members.extend(members);
    }
    out
}

fn leave_out(out: &mut Desire, rref: ResourceRef, deleting: bool, issue: Issue) {
    if deleting {
        out.release.push(rref);
    } else {
        out.issues.insert(rref, issue);
    }
}
