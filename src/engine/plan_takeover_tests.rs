//! Directory groups over console groups (`GroupTakeoverPending`): table cases and a property.

use std::collections::BTreeSet;

use proptest::prelude::*;

use super::*;
use crate::engine::model::{DesiredGroup, DesiredUser, ObservedUser, ResourceRef, user_key};
use crate::lastpass::GroupNames;

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn names(items: &[&str]) -> GroupNames {
    items.iter().copied().collect()
}

fn user(username: &str) -> DesiredUser {
    DesiredUser {
        username: username.into(),
        password_reset_required: true,
        resource: ResourceRef::user("ns", username.split('@').next().unwrap()),
        ..DesiredUser::default()
    }
}

fn seen(username: &str, groups: &[&str]) -> ObservedUser {
    ObservedUser {
        id: username.into(),
        username: username.into(),
        groups: names(groups),
        ..ObservedUser::default()
    }
}

/// `Eng` declared with `ann` as its only member; `from_directory` and `take_over` as given.
fn desired(policy: GroupPolicy, from_directory: bool, take_over: bool) -> Desired {
    let mut d = Desired::default();
    d.users.insert(user_key("ann@x.io"), user("ann@x.io"));
    d.groups.insert(
        "Eng".into(),
        DesiredGroup {
            name: "Eng".into(),
            members: [user_key("ann@x.io")].into(),
            policy,
            resource: ResourceRef::group("ns", "eng"),
            from_directory,
            take_over,
        },
    );
    d
}

/// LastPass has `Eng` made in the console: `ann` (managed) and `zed` (nobody declares him).
fn console_group() -> Observed {
    let mut o = Observed::default();
    for u in [seen("ann@x.io", &["Eng"]), seen("zed@x.io", &["Eng"])] {
        o.users.insert(user_key(&u.username), u);
    }
    o.groups
        .insert("Eng".into(), set(&["ann@x.io", "zed@x.io"]));
    o
}

fn removals(p: &Plan) -> Vec<(String, String)> {
    p.group_changes
        .iter()
        .flat_map(|c| c.del.iter().map(|g| (c.username.clone(), g.clone())))
        .collect()
}

fn zed_out_of_eng() -> Vec<(String, String)> {
    vec![("zed@x.io".into(), "Eng".into())]
}

#[test]
fn a_directory_group_over_a_console_group_removes_nobody_and_says_so() {
    let p = plan(
        &desired(GroupPolicy::Authoritative, true, false),
        &console_group(),
        &Policy::default(),
    );
    assert_eq!(removals(&p), vec![], "treated as Additive: zed stays");
    assert_eq!(p.takeover_pending, set(&["Eng"]));
}

#[test]
fn the_take_over_annotation_makes_it_authoritative() {
    let p = plan(
        &desired(GroupPolicy::Authoritative, true, true),
        &console_group(),
        &Policy::default(),
    );
    assert_eq!(removals(&p), zed_out_of_eng(), "taken over: zed is removed");
    assert!(p.takeover_pending.is_empty());
}

#[test]
fn a_group_a_person_declared_authoritative_removes_as_before() {
    let p = plan(
        &desired(GroupPolicy::Authoritative, false, false),
        &console_group(),
        &Policy::default(),
    );
    assert_eq!(
        removals(&p),
        zed_out_of_eng(),
        "Git-made groups are not directory groups"
    );
    assert!(p.takeover_pending.is_empty());
}

#[test]
fn a_directory_group_whose_members_are_all_managed_stays_authoritative() {
    // bob is managed (declared by a LastPassUser) but not a member: removed as before.
    let mut d = desired(GroupPolicy::Authoritative, true, false);
    d.users.insert(user_key("bob@x.io"), user("bob@x.io"));
    let mut o = Observed::default();
    for u in [seen("ann@x.io", &["Eng"]), seen("bob@x.io", &["Eng"])] {
        o.users.insert(user_key(&u.username), u);
    }
    o.groups
        .insert("Eng".into(), set(&["ann@x.io", "bob@x.io"]));
    let p = plan(&d, &o, &Policy::default());
    assert_eq!(removals(&p), vec![("bob@x.io".into(), "Eng".into())]);
    assert!(p.takeover_pending.is_empty());
}

#[test]
fn an_additive_directory_group_is_not_pending() {
    let p = plan(
        &desired(GroupPolicy::Additive, true, false),
        &console_group(),
        &Policy::default(),
    );
    assert_eq!(removals(&p), vec![]);
    assert!(p.takeover_pending.is_empty(), "nothing to take over");
}

#[test]
fn membership_seen_only_in_the_group_list_counts() {
    // Some replies list members under the group but not in the user's own groups.
    let mut o = console_group();
    o.users.get_mut("zed@x.io").unwrap().groups.clear();
    let p = plan(
        &desired(GroupPolicy::Authoritative, true, false),
        &o,
        &Policy::default(),
    );
    assert_eq!(p.takeover_pending, set(&["Eng"]));
}

const NAMES: [&str; 4] = ["ann@x.io", "bob@x.io", "cat@x.io", "dan@x.io"];

proptest! {
    /// Whatever is declared and observed, a directory group without the take-over annotation
    /// never loses a member while LastPass lists a member nobody manages.
    #[test]
    fn a_directory_group_never_removes_while_it_has_unmanaged_members(
        managed in proptest::collection::btree_set(proptest::sample::select(NAMES.to_vec()), 0..4),
        in_group in proptest::collection::btree_set(proptest::sample::select(NAMES.to_vec()), 0..4),
        declared in proptest::collection::btree_set(proptest::sample::select(NAMES.to_vec()), 0..4),
        take_over in any::<bool>(),
    ) {
        let mut d = Desired::default();
        for m in &managed {
            d.users.insert(user_key(m), user(m));
        }
        d.groups.insert("Eng".into(), DesiredGroup {
            name: "Eng".into(),
            members: declared.iter().map(|m| user_key(m)).collect(),
            policy: GroupPolicy::Authoritative,
            resource: ResourceRef::group("ns", "eng"),
            from_directory: true,
            take_over,
        });
        let mut o = Observed::default();
        for m in NAMES {
            let groups: &[&str] = if in_group.contains(m) { &["Eng"] } else { &[] };
            o.users.insert(user_key(m), seen(m, groups));
        }
        o.groups.insert("Eng".into(), in_group.iter().map(|m| m.to_string()).collect());
        let p = plan(&d, &o, &Policy::default());
        let unmanaged_member = in_group.iter().any(|m| !managed.contains(m));
        if unmanaged_member && !take_over {
            prop_assert!(removals(&p).is_empty(), "{:?}", p.group_changes);
            prop_assert!(p.takeover_pending.contains("Eng"));
        } else {
            prop_assert!(p.takeover_pending.is_empty());
            let expected: BTreeSet<&str> = in_group
                .iter()
                .filter(|m| !declared.contains(*m))
                .copied()
                .collect();
            let got: BTreeSet<&str> = p
                .group_changes
                .iter()
                .filter(|c| c.del.contains("Eng"))
                .map(|c| c.username.as_str())
                .collect();
            prop_assert_eq!(got, expected);
        }
    }
}
