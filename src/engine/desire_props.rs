//! Property test of admission: whatever resources exist across namespaces and however the
//! integration admits namespaces, nothing from a non-admitted or non-owning resource reaches
//! the desired account.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};
use proptest::prelude::*;

use super::desire::{desire, is_email};
use super::model::{ResourceRef, user_key};
use crate::crd::*;

const NAMESPACES: [&str; 3] = ["it", "team-a", "team-b"];
const NAMES: [&str; 4] = ["ann@x.io", "ANN@x.io", "bob@x.io", "not-an-email"];
const GROUPS: [&str; 2] = ["Ops", "Eng"];

#[derive(Clone, Debug)]
struct UserSeed {
    ns: usize,
    username: usize,
    age: i64,
    deleting: bool,
    groups: Vec<usize>,
    suspended: bool,
    bound_username: Option<usize>,
    label: bool,
}

#[derive(Clone, Debug)]
struct GroupSeed {
    ns: usize,
    name: usize,
    age: i64,
    deleting: bool,
    members: Vec<usize>,
    selector: bool,
}

fn user_seed() -> impl Strategy<Value = UserSeed> {
    (
        0..3usize,
        0..4usize,
        0..5i64,
        any::<bool>(),
        proptest::collection::vec(0..2usize, 0..2),
        any::<bool>(),
        proptest::option::of(0..4usize),
        any::<bool>(),
    )
        .prop_map(
            |(ns, username, age, deleting, groups, suspended, bound_username, label)| UserSeed {
                ns,
                username,
                age,
                deleting,
                groups,
                suspended,
                bound_username,
                label,
            },
        )
}

fn group_seed() -> impl Strategy<Value = GroupSeed> {
    (
        0..3usize,
        0..2usize,
        0..5i64,
        any::<bool>(),
        proptest::collection::vec(0..3usize, 0..3),
        any::<bool>(),
    )
        .prop_map(|(ns, name, age, deleting, members, selector)| GroupSeed {
            ns,
            name,
            age,
            deleting,
            members,
            selector,
        })
}

fn at(s: i64) -> Option<Time> {
    Some(Time(
        jiff::Timestamp::from_second(1_700_000_000 + s).unwrap(),
    ))
}

fn build_user(i: usize, s: &UserSeed) -> LastPassUser {
    let spec: LastPassUserSpec = serde_json::from_value(serde_json::json!({
        "integrationRef": {"name": "acme", "namespace": "it"},
        "username": NAMES[s.username],
        "groups": s.groups.iter().map(|g| GROUPS[*g]).collect::<Vec<_>>(),
        "suspended": s.suspended,
    }))
    .unwrap();
    let mut u = LastPassUser::new(&format!("u{i}"), spec);
    u.metadata.namespace = Some(NAMESPACES[s.ns].into());
    u.metadata.creation_timestamp = at(s.age);
    if s.deleting {
        u.metadata.deletion_timestamp = at(100);
    }
    if s.label {
        u.metadata.labels = Some(BTreeMap::from([("team".into(), "x".into())]));
    }
    if let Some(b) = s.bound_username {
        u.status = Some(LastPassUserStatus {
            bound_username: Some(NAMES[b].into()),
            ..LastPassUserStatus::default()
        });
    }
    u
}

fn build_group(i: usize, s: &GroupSeed) -> LastPassGroup {
    let spec = LastPassGroupSpec {
        integration_ref: IntegrationRef {
            name: "acme".into(),
            namespace: Some("it".into()),
        },
        group_name: GROUPS[s.name].into(),
        members: s.members.iter().map(|m| NAMES[*m].to_string()).collect(),
        member_selector: s.selector.then(|| LabelSelector {
            match_labels: Some(BTreeMap::from([("team".into(), "x".into())])),
            ..LabelSelector::default()
        }),
        policy: GroupPolicy::Authoritative,
    };
    let mut g = LastPassGroup::new(&format!("g{i}"), spec);
    g.metadata.namespace = Some(NAMESPACES[s.ns].into());
    g.metadata.creation_timestamp = at(s.age);
    if s.deleting {
        g.metadata.deletion_timestamp = at(100);
    }
    g
}

fn build_integration(from: u8, with_selector: bool) -> DirectoryIntegration {
    let mut spec: DirectoryIntegrationSpec = serde_json::from_value(serde_json::json!({
        "lastpass": {"credentialsSecretRef": {"name": "lastpass-api"}}
    }))
    .unwrap();
    spec.allowed_namespaces.from = match from {
        0 => NamespacesFrom::Same,
        1 => NamespacesFrom::All,
        _ => NamespacesFrom::Selector,
    };
    if with_selector {
        spec.allowed_namespaces.selector = Some(LabelSelector {
            match_labels: Some(BTreeMap::from([("lastpass-access".into(), "true".into())])),
            ..LabelSelector::default()
        });
    }
    let mut i = DirectoryIntegration::new("acme", spec);
    i.metadata.namespace = Some("it".into());
    i
}

/// The oracle's admission of a namespace (written independently of `namespace_allowed`).
fn admitted(i: &DirectoryIntegration, ns: &str, labelled: &[bool; 3]) -> bool {
    let idx = NAMESPACES.iter().position(|n| *n == ns).unwrap();
    ns == "it"
        || match i.spec.allowed_namespaces.from {
            NamespacesFrom::Same => false,
            NamespacesFrom::All => true,
            NamespacesFrom::Selector => {
                i.spec.allowed_namespaces.selector.is_some() && labelled[idx]
            }
        }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn nothing_from_a_non_admitted_or_non_owning_resource_reaches_the_desired_account(
        users in proptest::collection::vec(user_seed(), 0..8),
        groups in proptest::collection::vec(group_seed(), 0..5),
        from in 0u8..3,
        with_selector in any::<bool>(),
        labelled in any::<[bool; 3]>(),
    ) {
        let integration = build_integration(from, with_selector);
        let users: Vec<LastPassUser> = users.iter().enumerate().map(|(i, s)| build_user(i, s)).collect();
        let groups: Vec<LastPassGroup> = groups.iter().enumerate().map(|(i, s)| build_group(i, s)).collect();
        let labels: BTreeMap<String, BTreeMap<String, String>> = NAMESPACES
            .iter()
            .zip(labelled)
            .map(|(ns, l)| {
                let labels = if l {
                    BTreeMap::from([("lastpass-access".to_string(), "true".to_string())])
                } else {
                    BTreeMap::new()
                };
                (ns.to_string(), labels)
            })
            .collect();
        let d = desire(&integration, &users, &groups, &labels);
        let by_ref: BTreeMap<ResourceRef, &LastPassUser> = users
            .iter()
            .map(|u| (super::desire::resource_ref(u), u))
            .collect();
        let groups_by_ref: BTreeMap<ResourceRef, &LastPassGroup> = groups
            .iter()
            .map(|g| (super::desire::resource_ref(g), g))
            .collect();

        // Every desired user comes from an admitted, live, contract-keeping resource that is the
        // oldest admitted live claimant of its username, and carries exactly its spec.
        for (key, want) in &d.desired.users {
            let u = by_ref[&want.resource];
            let ns = u.metadata.namespace.as_deref().unwrap();
            prop_assert!(admitted(&integration, ns, &labelled), "{ns} not admitted");
            prop_assert!(u.metadata.deletion_timestamp.is_none());
            prop_assert!(is_email(&u.spec.username));
            prop_assert!(u.status.as_ref().and_then(|s| s.bound_username.as_ref()).is_none_or(|b| *b == u.spec.username));
            prop_assert_eq!(key, &user_key(&u.spec.username));
            prop_assert_eq!(want.suspended, u.spec.suspended);
            prop_assert_eq!(
                &want.groups,
                &u.spec.groups.iter().collect::<crate::lastpass::GroupNames>()
            );
            let older_claimant = users.iter().any(|o| {
                o.metadata.deletion_timestamp.is_none()
                    && user_key(&o.spec.username) == *key
                    && admitted(&integration, o.metadata.namespace.as_deref().unwrap(), &labelled)
                    && is_email(&o.spec.username)
                    && o.status.as_ref().and_then(|s| s.bound_username.as_ref()).is_none_or(|b| *b == o.spec.username)
                    && (o.metadata.creation_timestamp.clone().map(|t| t.0), super::desire::resource_ref(o))
                        < (u.metadata.creation_timestamp.clone().map(|t| t.0), want.resource.clone())
            });
            prop_assert!(!older_claimant, "{key} owned by a younger claimant");
        }
        // Every leaving user comes from an admitted deleted resource, and no live owner exists.
        for (key, leaving) in &d.desired.leaving {
            let u = by_ref[&leaving.resource];
            prop_assert!(u.metadata.deletion_timestamp.is_some());
            prop_assert!(admitted(&integration, u.metadata.namespace.as_deref().unwrap(), &labelled));
            prop_assert!(!d.desired.users.contains_key(key));
        }
        // Groups: only admitted live owners' members; members from selectors only admitted
        // owners of the same namespace.
        for group in d.desired.groups.values() {
            let g = groups_by_ref[&group.resource];
            let ns = g.metadata.namespace.as_deref().unwrap();
            prop_assert!(admitted(&integration, ns, &labelled));
            let claim = |o: &LastPassGroup| {
                (
                    o.metadata.deletion_timestamp.is_some(),
                    o.metadata.creation_timestamp.clone().map(|t| t.0),
                    super::desire::resource_ref(o),
                )
            };
            let older_claimant = groups.iter().any(|o| {
                o.spec.group_name == group.name
                    && admitted(&integration, o.metadata.namespace.as_deref().unwrap(), &labelled)
                    && o.spec.members.iter().all(|m| is_email(m))
                    && claim(o) < claim(g)
            });
            prop_assert!(!older_claimant, "group {} owned by a younger claimant", group.name);
            for member in &group.members {
                let listed = g.metadata.deletion_timestamp.is_none()
                    && g.spec.members.iter().any(|m| user_key(m) == *member);
                let selected = d.desired.users.get(member).is_some_and(|w| {
                    w.resource.namespace == ns && g.spec.member_selector.is_some()
                        && g.metadata.deletion_timestamp.is_none()
                        && by_ref[&w.resource].metadata.labels.is_some()
                });
                prop_assert!(listed || selected, "{member} in {} from nowhere", group.name);
            }
        }
        // A resource with an issue contributes nothing.
        for rref in d.issues.keys() {
            prop_assert!(d.desired.users.values().all(|w| w.resource != *rref));
            prop_assert!(d.desired.leaving.values().all(|w| w.resource != *rref));
            prop_assert!(d.desired.groups.values().all(|w| w.resource != *rref));
        }
    }
}
