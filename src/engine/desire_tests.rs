//! Tests of [`super::desire`]: which resources take part, and how.

use std::collections::BTreeMap;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::{LabelSelector, Time};

use super::desire::{Issue, desire};
use super::model::user_key;
use crate::crd::*;

fn integration(ns: &str, from: NamespacesFrom) -> DirectoryIntegration {
    let mut spec: DirectoryIntegrationSpec = serde_json::from_value(serde_json::json!({
        "lastpass": {"credentialsSecretRef": {"name": "lastpass-api"}}
    }))
    .unwrap();
    spec.allowed_namespaces.from = from;
    if from == NamespacesFrom::Selector {
        spec.allowed_namespaces.selector = Some(LabelSelector {
            match_labels: Some(BTreeMap::from([("lastpass-access".into(), "true".into())])),
            ..LabelSelector::default()
        });
    }
    let mut i = DirectoryIntegration::new("acme", spec);
    i.metadata.namespace = Some(ns.into());
    i
}

fn user(ns: &str, name: &str, username: &str, age_s: i64) -> LastPassUser {
    let mut spec: LastPassUserSpec = serde_json::from_value(serde_json::json!({
        "integrationRef": {"name": "acme", "namespace": "it"},
        "username": username,
    }))
    .unwrap();
    spec.groups = vec!["Eng".into()];
    let mut u = LastPassUser::new(name, spec);
    u.metadata.namespace = Some(ns.into());
    u.metadata.creation_timestamp = Some(Time(
        jiff::Timestamp::from_second(1_700_000_000 + age_s).unwrap(),
    ));
    u
}

fn group(ns: &str, members: &[&str], selector: Option<(&str, &str)>) -> LastPassGroup {
    let spec = LastPassGroupSpec {
        integration_ref: IntegrationRef {
            name: "acme".into(),
            namespace: Some("it".into()),
        },
        group_name: "Ops".into(),
        members: members.iter().map(|m| m.to_string()).collect(),
        member_selector: selector.map(|(k, v)| LabelSelector {
            match_labels: Some(BTreeMap::from([(k.to_string(), v.to_string())])),
            ..LabelSelector::default()
        }),
        policy: GroupPolicy::Authoritative,
    };
    let mut g = LastPassGroup::new("ops", spec);
    g.metadata.namespace = Some(ns.into());
    g
}

fn deleting(mut u: LastPassUser) -> LastPassUser {
    u.metadata.deletion_timestamp =
        Some(Time(jiff::Timestamp::from_second(1_800_000_000).unwrap()));
    u
}

#[test]
fn same_namespace_only_by_default() {
    let i = integration("it", NamespacesFrom::Same);
    let users = [
        user("it", "ann", "ann@x.io", 0),
        user("other", "bob", "bob@x.io", 0),
    ];
    let d = desire(&i, &users, &[], &BTreeMap::new());
    assert!(d.desired.users.contains_key("ann@x.io"));
    assert!(
        !d.desired.users.contains_key("bob@x.io"),
        "no LastPass call for bob"
    );
    let issue = d.issues.values().next().unwrap();
    assert_eq!(
        issue,
        &Issue::IntegrationNotAllowed {
            namespace: "other".into()
        }
    );
}

#[test]
fn selector_admits_labelled_namespaces_and_all_admits_every_one() {
    let users = [
        user("team-a", "ann", "ann@x.io", 0),
        user("team-b", "bob", "bob@x.io", 0),
    ];
    let labels = BTreeMap::from([(
        "team-a".to_string(),
        BTreeMap::from([("lastpass-access".to_string(), "true".to_string())]),
    )]);
    let d = desire(
        &integration("it", NamespacesFrom::Selector),
        &users,
        &[],
        &labels,
    );
    assert_eq!(d.desired.users.keys().collect::<Vec<_>>(), ["ann@x.io"]);
    let d = desire(
        &integration("it", NamespacesFrom::All),
        &users,
        &[],
        &labels,
    );
    assert_eq!(d.desired.users.len(), 2);
}

#[test]
fn the_older_resource_owns_a_username_and_the_later_one_conflicts() {
    let i = integration("it", NamespacesFrom::Same);
    let users = [
        user("it", "late", "Ann@x.io", 10),
        user("it", "early", "ann@x.io", 0),
    ];
    let d = desire(&i, &users, &[], &BTreeMap::new());
    assert_eq!(
        d.desired.users[&user_key("ann@x.io")].resource.name,
        "early"
    );
    let (loser, issue) = d.issues.iter().next().unwrap();
    assert_eq!(loser.name, "late");
    assert!(
        matches!(issue, Issue::UsernameConflict { owner: Some(owner), .. } if owner.name == "early")
    );
}

#[test]
fn deleted_resources_leave_with_the_resolved_action() {
    let mut i = integration("it", NamespacesFrom::Same);
    i.spec.sync.deprovision.default_action = DeprovisionAction::RemoveFromCompany;
    let mut own = deleting(user("it", "own", "own@x.io", 0));
    own.spec.deprovision_action = Some(DeprovisionAction::Deactivate);
    let users = [deleting(user("it", "dflt", "dflt@x.io", 0)), own];
    let d = desire(&i, &users, &[], &BTreeMap::new());
    assert_eq!(
        d.desired.leaving["dflt@x.io"].action,
        DeprovisionAction::RemoveFromCompany
    );
    assert_eq!(
        d.desired.leaving["own@x.io"].action,
        DeprovisionAction::Deactivate
    );
    assert!(d.desired.users.is_empty());
}

#[test]
fn a_deleted_resource_that_was_never_allowed_is_released_at_once() {
    let i = integration("it", NamespacesFrom::Same);
    let users = [deleting(user("other", "bob", "bob@x.io", 0))];
    let d = desire(&i, &users, &[], &BTreeMap::new());
    assert!(d.desired.leaving.is_empty());
    assert_eq!(d.release.len(), 1);
}

#[test]
fn a_deleted_duplicate_does_not_deprovision_the_live_owner() {
    let i = integration("it", NamespacesFrom::Same);
    let users = [
        user("it", "live", "ann@x.io", 10),
        deleting(user("it", "old", "ann@x.io", 0)),
    ];
    let d = desire(&i, &users, &[], &BTreeMap::new());
    assert!(d.desired.users.contains_key("ann@x.io"));
    assert!(d.desired.leaving.is_empty());
    assert_eq!(d.release[0].name, "old");
}

#[test]
fn group_members_come_from_the_list_and_the_selector_in_the_same_namespace() {
    let i = integration("it", NamespacesFrom::All);
    let mut eng = user("it", "ann", "ann@x.io", 0);
    eng.metadata.labels = Some(BTreeMap::from([("team".into(), "eng".into())]));
    let mut elsewhere = user("other", "bob", "bob@x.io", 0);
    elsewhere.metadata.labels = Some(BTreeMap::from([("team".into(), "eng".into())]));
    let users = [eng, elsewhere, user("it", "cat", "cat@x.io", 0)];
    let groups = [group("it", &["Zed@x.io"], Some(("team", "eng")))];
    let d = desire(&i, &users, &groups, &BTreeMap::new());
    let members: Vec<&String> = d.desired.groups["Ops"].members.iter().collect();
    assert_eq!(members, ["ann@x.io", "zed@x.io"]);
}

fn named_group(
    ns: &str,
    name: &str,
    group_name: &str,
    members: &[&str],
    age_s: i64,
) -> LastPassGroup {
    let mut g = group(ns, members, None);
    g.metadata.name = Some(name.into());
    g.spec.group_name = group_name.into();
    g.metadata.creation_timestamp = Some(Time(
        jiff::Timestamp::from_second(1_700_000_000 + age_s).unwrap(),
    ));
    g
}

#[test]
fn a_selector_without_a_selector_admits_no_other_namespace() {
    let mut i = integration("it", NamespacesFrom::Selector);
    i.spec.allowed_namespaces.selector = None;
    let users = [
        user("it", "own", "own@x.io", 0),
        user("team-a", "ann", "ann@x.io", 0),
    ];
    let labels = BTreeMap::from([("team-a".to_string(), BTreeMap::new())]);
    let d = desire(&i, &users, &[], &labels);
    assert_eq!(
        d.desired.users.keys().collect::<Vec<_>>(),
        ["own@x.io"],
        "the integration's own namespace only"
    );
    assert!(matches!(
        d.issues.values().next(),
        Some(Issue::IntegrationNotAllowed { .. })
    ));
}

#[test]
fn one_owner_per_group_name_and_the_others_contribute_nothing() {
    let i = integration("it", NamespacesFrom::All);
    let groups = [
        named_group("tenant-b", "intruder", "Ops", &["mallory@x.io"], 10),
        named_group("it", "ops", "Ops", &["ann@x.io"], 0),
        named_group("it", "ops-copy", "Ops", &["eve@x.io"], 20),
    ];
    let d = desire(&i, &[], &groups, &BTreeMap::new());
    let members: Vec<&String> = d.desired.groups["Ops"].members.iter().collect();
    assert_eq!(members, ["ann@x.io"], "no union of members");
    assert_eq!(d.desired.groups["Ops"].resource.name, "ops");
    let intruder = &d.issues[&super::model::ResourceRef::group("tenant-b", "intruder")];
    assert_eq!(
        intruder,
        &Issue::GroupNameConflict {
            group_name: "Ops".into(),
            owner: None
        },
        "another namespace's owner is not disclosed"
    );
    let copy = &d.issues[&super::model::ResourceRef::group("it", "ops-copy")];
    assert!(
        matches!(copy, Issue::GroupNameConflict { owner: Some(o), .. } if o.name == "ops"),
        "the owner in the same namespace is named: {copy:?}"
    );
}

#[test]
fn a_username_conflict_across_namespaces_does_not_disclose_the_owner() {
    let i = integration("it", NamespacesFrom::All);
    let users = [
        user("it", "victim", "victim@corp.io", 0),
        user("tenant-b", "sneaky", "VICTIM@corp.io", 10),
    ];
    let d = desire(&i, &users, &[], &BTreeMap::new());
    assert_eq!(
        d.issues[&super::model::ResourceRef::user("tenant-b", "sneaky")],
        Issue::UsernameConflict {
            username: "VICTIM@corp.io".into(),
            owner: None
        }
    );
}

#[test]
fn a_changed_username_or_integration_ref_contributes_nothing_and_deletion_uses_the_binding() {
    let i = integration("it", NamespacesFrom::Same);
    let bound = |mut u: LastPassUser, username: &str| {
        u.status = Some(LastPassUserStatus {
            bound_username: Some(username.into()),
            bound_integration: Some(IntegrationRef {
                name: "acme".into(),
                namespace: Some("it".into()),
            }),
            ..LastPassUserStatus::default()
        });
        u
    };
    let renamed = bound(user("it", "ann", "ann.new@x.io", 0), "ann@x.io");
    let mut moved = bound(user("it", "bob", "bob@x.io", 0), "bob@x.io");
    moved.spec.integration_ref = IntegrationRef {
        name: "other".into(),
        namespace: None,
    };
    let d = desire(&i, &[renamed.clone(), moved.clone()], &[], &BTreeMap::new());
    assert!(d.desired.users.is_empty(), "{:?}", d.desired.users);
    assert!(matches!(
        d.issues[&super::model::ResourceRef::user("it", "ann")],
        Issue::UsernameChanged { ref bound, .. } if bound == "ann@x.io"
    ));
    assert!(matches!(
        d.issues[&super::model::ResourceRef::user("it", "bob")],
        Issue::IntegrationRefChanged { .. }
    ));
    // Deleted: each deprovisions the account it was bound to, through this integration.
    let d = desire(
        &i,
        &[deleting(renamed), deleting(moved)],
        &[],
        &BTreeMap::new(),
    );
    let leaving: Vec<&String> = d.desired.leaving.keys().collect();
    assert_eq!(leaving, ["ann@x.io", "bob@x.io"]);
}

#[test]
fn a_user_bound_elsewhere_is_not_taken_by_the_integration_its_spec_now_names() {
    let mut other = integration("it", NamespacesFrom::Same);
    other.metadata.name = Some("other".into());
    let mut moved = user("it", "bob", "bob@x.io", 0);
    moved.spec.integration_ref = IntegrationRef {
        name: "other".into(),
        namespace: None,
    };
    moved.status = Some(LastPassUserStatus {
        bound_integration: Some(IntegrationRef {
            name: "acme".into(),
            namespace: Some("it".into()),
        }),
        ..LastPassUserStatus::default()
    });
    let d = desire(&other, &[moved], &[], &BTreeMap::new());
    assert!(d.desired.users.is_empty() && d.issues.is_empty());
}

#[test]
fn usernames_and_members_must_be_emails() {
    let i = integration("it", NamespacesFrom::Same);
    let users = [user("it", "ann", "ann", 0)];
    let groups = [group("it", &["not an email"], None)];
    let d = desire(&i, &users, &groups, &BTreeMap::new());
    assert!(d.desired.users.is_empty() && d.desired.groups.is_empty());
    assert!(matches!(
        d.issues[&super::model::ResourceRef::user("it", "ann")],
        Issue::InvalidUsername { .. }
    ));
    assert!(matches!(
        d.issues[&super::model::ResourceRef::group("it", "ops")],
        Issue::InvalidMember { .. }
    ));
    for (value, ok) in [
        ("a@b.co", true),
        ("a.b+c@d.e.f", true),
        ("a@b", false),
        ("@b.co", false),
        ("a@@b.co", false),
        ("a b@c.de", false),
        ("a@.de", false),
        ("a@b.", false),
    ] {
        assert_eq!(super::desire::is_email(value), ok, "{value}");
    }
}

#[test]
fn deleting_the_owner_hands_the_username_to_the_next_claimant_without_deprovisioning() {
    let i = integration("it", NamespacesFrom::All);
    let users = [
        deleting(user("it", "owner", "ann@x.io", 0)),
        user("team-a", "heir", "ann@x.io", 10),
    ];
    let d = desire(&i, &users, &[], &BTreeMap::new());
    assert_eq!(
        d.desired.users["ann@x.io"].resource,
        super::model::ResourceRef::user("team-a", "heir")
    );
    assert!(d.desired.leaving.is_empty());
    assert_eq!(d.release, [super::model::ResourceRef::user("it", "owner")]);
}

fn bound_to_acme(mut u: LastPassUser) -> LastPassUser {
    let username = u.spec.username.clone();
    u.status = Some(LastPassUserStatus {
        bound_username: Some(username),
        bound_integration: Some(IntegrationRef {
            name: "acme".into(),
            namespace: Some("it".into()),
        }),
        ..LastPassUserStatus::default()
    });
    u
}

#[test]
fn a_bound_user_deleted_after_its_namespace_stopped_being_admitted_still_leaves() {
    // It was admitted under `All`; the integration is now `Same`.
    let i = integration("it", NamespacesFrom::Same);
    let users = [deleting(bound_to_acme(user(
        "team-a", "ann", "ann@x.io", 0,
    )))];
    let d = desire(&i, &users, &[], &BTreeMap::new());
    assert!(
        d.desired.leaving.contains_key("ann@x.io"),
        "deprovisioned, not released"
    );
    assert!(d.release.is_empty());
    // Never bound: released at once, as before.
    let users = [deleting(user("team-a", "bob", "bob@x.io", 0))];
    let d = desire(&i, &users, &[], &BTreeMap::new());
    assert!(d.desired.leaving.is_empty() && d.release.len() == 1);
}

#[test]
fn a_broken_bound_owner_keeps_its_username_from_other_claimants() {
    let i = integration("it", NamespacesFrom::All);
    let mut owner = bound_to_acme(user("it", "ann", "ann@x.io", 0));
    owner.spec.username = "ann@x.oi".into(); // a typo
    let squatter = user("team-b", "sneaky", "ann@x.io", 10);
    let d = desire(
        &i,
        &[owner.clone(), squatter.clone()],
        &[],
        &BTreeMap::new(),
    );
    assert!(d.desired.users.is_empty(), "{:?}", d.desired.users);
    assert!(matches!(
        d.issues[&super::model::ResourceRef::user("team-b", "sneaky")],
        Issue::UsernameConflict { owner: None, .. }
    ));
    // Its namespace no longer admitted: still reserved.
    let mut owner = bound_to_acme(user("team-a", "ann", "ann@x.io", 0));
    owner.metadata.creation_timestamp = squatter.metadata.creation_timestamp.clone();
    let mut only_b = integration("it", NamespacesFrom::Selector);
    only_b.spec.allowed_namespaces.selector = None;
    let squatter_home = user("it", "sneaky", "ann@x.io", 10);
    let d = desire(&only_b, &[owner, squatter_home], &[], &BTreeMap::new());
    assert!(d.desired.users.is_empty());
}

#[test]
fn an_approval_annotation_counts_only_where_the_ldap_pull_writes_it() {
    let i = integration("it", NamespacesFrom::All);
    let annotated = |ns: &str, name: &str, ldap: bool, id: &str| {
        let mut u = deleting(user(ns, name, &format!("{name}@x.io"), 0));
        u.metadata.annotations = Some(BTreeMap::from([(
            APPROVED_PLAN_ANNOTATION.to_string(),
            id.to_string(),
        )]));
        if ldap {
            u.metadata.labels = Some(BTreeMap::from([(
                SOURCE_LABEL.to_string(),
                "ldap".to_string(),
            )]));
        }
        u
    };
    let users = [
        annotated("it", "pulled", true, "ldap-abc"),
        annotated("team-b", "copied", true, "ldap-abc"),
        annotated("it", "gitops", false, "ldap-abc"),
        annotated("it", "engine", true, "0123abcd"),
    ];
    let d = desire(&i, &users, &[], &BTreeMap::new());
    let approved: Vec<(&str, Option<&str>)> = d
        .desired
        .leaving
        .values()
        .map(|l| (l.resource.name.as_str(), l.approved_plan.as_deref()))
        .collect();
    assert_eq!(
        approved,
        [
            ("copied", None),
            ("engine", None),
            ("gitops", None),
            ("pulled", Some("ldap-abc"))
        ]
    );
}

#[test]
fn a_deleted_claimant_leaves_after_all_when_the_live_owner_is_excluded() {
    let i = integration("it", NamespacesFrom::All);
    let users = [
        deleting(bound_to_acme(user("it", "leaver", "ann@x.io", 0))),
        user("team-b", "heir", "ann@x.io", 10),
    ];
    let d = desire(&i, &users, &[], &BTreeMap::new());
    assert_eq!(d.release.len(), 1, "handed over");
    let mut excluded = d.clone();
    excluded.exclude_user(
        "ann@x.io",
        Issue::InitialPasswordConflict {
            namespace: "team-b".into(),
            secret: "heir-initial-password".into(),
        },
    );
    assert!(excluded.release.is_empty());
    assert_eq!(excluded.desired.leaving["ann@x.io"].resource.name, "leaver");
    let mut held = d;
    held.hold_back_user("ann@x.io");
    assert!(
        held.release.is_empty(),
        "kept, not released, on a transient problem"
    );
    assert!(
        held.desired.leaving.is_empty(),
        "and not deprovisioned either"
    );
}

#[test]
fn no_namespace_changes_another_namespaces_memberships() {
    let i = integration("it", NamespacesFrom::All);
    let mut tenant_user = user("team-b", "mallory", "mallory@x.io", 0);
    tenant_user.spec.groups = vec!["Finance".into()];
    let mut admin_user = user("it", "ann", "ann@x.io", 0);
    admin_user.spec.groups = vec!["Finance".into()];
    let victim = user("team-a", "vic", "vic@x.io", 0);
    let users = [tenant_user, admin_user, victim];
    let groups = [
        named_group("team-a", "finance", "Finance", &["vic@x.io"], 0),
        // A tenant's group listing another namespace's user.
        named_group("team-b", "lure", "Lure", &["vic@x.io", "mallory@x.io"], 0),
        // The administrators' namespace may list anyone.
        named_group("it", "all-staff", "All", &["vic@x.io", "mallory@x.io"], 0),
    ];
    let d = desire(&i, &users, &groups, &BTreeMap::new());
    use super::model::ResourceRef;
    assert_eq!(
        d.issues[&ResourceRef::user("team-b", "mallory")],
        Issue::CrossNamespaceGroup {
            group: "Finance".into()
        }
    );
    assert_eq!(
        d.issues[&ResourceRef::group("team-b", "lure")],
        Issue::CrossNamespaceMember {
            member: "vic@x.io".into()
        }
    );
    assert!(
        d.desired.users.contains_key("ann@x.io"),
        "the admins' namespace may name it"
    );
    assert!(d.desired.groups.contains_key("All") && d.desired.groups.contains_key("Finance"));
    assert!(!d.desired.groups.contains_key("Lure"));
}

#[test]
fn users_of_one_group_share_its_name() {
    let i = integration("it", NamespacesFrom::Same);
    let users = [
        user("it", "ann", "ann@x.io", 0),
        user("it", "bob", "bob@x.io", 1),
    ];
    let d = desire(&i, &users, &[], &BTreeMap::new());
    let names = |key: &str| d.desired.users[key].groups.names()[0].clone();
    assert_eq!(&*names("ann@x.io"), "Eng");
    assert!(std::sync::Arc::ptr_eq(
        &names("ann@x.io"),
        &names("bob@x.io")
    ));
}
