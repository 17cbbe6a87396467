//! Table and property tests of the planner and the guards.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::guard::Guards;
use super::model::*;
use super::plan::*;
use super::safeguard::guard;
use crate::crd::{DeprovisionAction, GroupPolicy, UnmanagedUsers};
use crate::lastpass::GroupNames;

fn set(items: &[&str]) -> BTreeSet<String> {
    items.iter().map(|s| s.to_string()).collect()
}

fn names(items: &[&str]) -> GroupNames {
    items.iter().copied().collect()
}

fn rref(name: &str) -> ResourceRef {
    ResourceRef::user("ns", name)
}

fn want(username: &str, groups: &[&str]) -> DesiredUser {
    DesiredUser {
        username: username.into(),
        full_name: None,
        groups: names(groups),
        attributes: BTreeMap::new(),
        attributes_sent: None,
        suspended: false,
        password_reset_required: true,
        resource: rref(username.split('@').next().unwrap()),
        adopted: false,
        shown: None,
    }
}

fn seen(id: u32, username: &str, groups: &[&str]) -> ObservedUser {
    ObservedUser {
        id: id.to_string(),
        username: username.into(),
        groups: names(groups),
        ..ObservedUser::default()
    }
}

fn desired(users: Vec<DesiredUser>) -> Desired {
    Desired::of_users(users)
}

fn observed(users: Vec<ObservedUser>) -> Observed {
    Observed {
        users: users
            .into_iter()
            .map(|u| (user_key(&u.username), u))
            .collect(),
        ..Observed::default()
    }
}

fn group(name: &str, members: &[&str], policy: GroupPolicy) -> DesiredGroup {
    DesiredGroup {
        name: name.into(),
        members: members.iter().map(|m| user_key(m)).collect(),
        policy,
        resource: ResourceRef::group("ns", name.to_lowercase()),
        ..DesiredGroup::default()
    }
}

fn leaving(username: &str, action: DeprovisionAction) -> (UserKey, Leaving) {
    (
        user_key(username),
        Leaving {
            username: username.into(),
            action,
            resource: rref(username.split('@').next().unwrap()),
            approved_plan: None,
        },
    )
}

struct Case {
    name: &'static str,
    why: &'static str,
    desired: Desired,
    observed: Observed,
    policy: Policy,
    want: Plan,
}

fn cases() -> Vec<Case> {
    let p = Policy::default();
    let mut named = want("ann@example.com", &[]);
    named.full_name = Some("Ann Lee".into());
    let mut suspended = want("ann@example.com", &[]);
    suspended.suspended = true;
    let mut disabled = seen(1, "ann@example.com", &[]);
    disabled.disabled = true;
    let mut with_eng = desired(vec![want("ann@example.com", &[])]);
    with_eng.groups.insert(
        "Eng".into(),
        group("Eng", &["ann@example.com"], GroupPolicy::Authoritative),
    );
    let mut additive = desired(vec![want("ann@example.com", &[])]);
    additive
        .groups
        .insert("Eng".into(), group("Eng", &[], GroupPolicy::Additive));
    let mut authoritative = desired(vec![want("ann@example.com", &[])]);
    authoritative
        .groups
        .insert("Eng".into(), group("Eng", &[], GroupPolicy::Authoritative));
    let mut deactivate = Desired::default();
    deactivate
        .leaving
        .extend([leaving("bob@example.com", DeprovisionAction::Deactivate)]);
    let mut delete = Desired::default();
    delete
        .leaving
        .extend([leaving("bob@example.com", DeprovisionAction::Delete)]);
    vec![
        Case {
            name: "new user",
            why: "a declared user missing from LastPass is invited with its groups",
            desired: desired(vec![want("Ann@Example.com", &["Eng"])]),
            observed: Observed::default(),
            policy: p.clone(),
            want: Plan {
                creates: vec![CreateUser {
                    username: "Ann@Example.com".into(),
                    full_name: None,
                    groups: names(&["Eng"]),
                    attributes: BTreeMap::new(),
                    password_reset_required: true,
                }],
                ..Plan::default()
            },
        },
        Case {
            name: "case-insensitive match",
            why: "usernames compare case-insensitively: no create for ANN when ann exists",
            desired: desired(vec![want("ANN@example.com", &[])]),
            observed: observed(vec![seen(1, "ann@example.com", &[])]),
            policy: p.clone(),
            want: Plan::default(),
        },
        Case {
            name: "name change",
            why: "a different fullName is an update, sent under LastPass's spelling",
            desired: desired(vec![named]),
            observed: observed(vec![seen(1, "ann@example.com", &[])]),
            policy: p.clone(),
            want: Plan {
                updates: vec![UpdateUser {
                    username: "ann@example.com".into(),
                    full_name: "Ann Lee".into(),
                }],
                ..Plan::default()
            },
        },
        Case {
            name: "suspend",
            why: "suspended: true disables an enabled user",
            desired: desired(vec![suspended.clone()]),
            observed: observed(vec![seen(1, "ann@example.com", &[])]),
            policy: p.clone(),
            want: Plan {
                disables: vec!["ann@example.com".into()],
                ..Plan::default()
            },
        },
        Case {
            name: "suspended and disabled",
            why: "nothing to do when LastPass already has the user disabled",
            desired: desired(vec![suspended]),
            observed: observed(vec![disabled.clone()]),
            policy: p.clone(),
            want: Plan::default(),
        },
        Case {
            name: "enable",
            why: "a disabled user whose resource is not suspended is enabled (a returning user)",
            desired: desired(vec![want("ann@example.com", &[])]),
            observed: observed(vec![disabled]),
            policy: p.clone(),
            want: Plan {
                enables: vec!["ann@example.com".into()],
                ..Plan::default()
            },
        },
        Case {
            name: "group member added",
            why: "a LastPassGroup listing a user adds the membership",
            desired: with_eng,
            observed: observed(vec![seen(1, "ann@example.com", &[])]),
            policy: p.clone(),
            want: Plan {
                group_changes: vec![GroupChange {
                    username: "ann@example.com".into(),
                    add: set(&["Eng"]),
                    del: set(&[]),
                }],
                ..Plan::default()
            },
        },
        Case {
            name: "authoritative removes",
            why: "Authoritative removes undeclared members, unmanaged users included",
            desired: authoritative,
            observed: observed(vec![
                seen(1, "ann@example.com", &["Eng", "Console"]),
                seen(2, "zed@example.com", &["Eng"]),
            ]),
            policy: p.clone(),
            want: Plan {
                group_changes: vec![
                    GroupChange {
                        username: "ann@example.com".into(),
                        add: set(&[]),
                        del: set(&["Eng"]),
                    },
                    GroupChange {
                        username: "zed@example.com".into(),
                        add: set(&[]),
                        del: set(&["Eng"]),
                    },
                ],
                unmanaged: vec!["zed@example.com".into()],
                ..Plan::default()
            },
        },
        Case {
            name: "additive never removes",
            why: "Additive keeps undeclared members; unknown groups (Console) are never touched",
            desired: additive,
            observed: observed(vec![
                seen(1, "ann@example.com", &["Eng", "Console"]),
                seen(2, "zed@example.com", &["Eng"]),
            ]),
            policy: Policy {
                unmanaged: UnmanagedUsers::Ignore,
                ..p.clone()
            },
            want: Plan::default(),
        },
        Case {
            name: "deactivate",
            why: "a deleted resource deactivates an enabled user",
            desired: deactivate.clone(),
            observed: observed(vec![seen(2, "bob@example.com", &[])]),
            policy: p.clone(),
            want: Plan {
                deprovisions: vec![Deprovision {
                    username: "bob@example.com".into(),
                    action: DeprovisionAction::Deactivate,
                    resource: rref("bob"),
                }],
                ..Plan::default()
            },
        },
        Case {
            name: "deactivated is finished",
            why: "once LastPass reports the user gone, the finalizer may go",
            desired: deactivate,
            observed: Observed::default(),
            policy: p.clone(),
            want: Plan {
                finished: vec![rref("bob")],
                ..Plan::default()
            },
        },
        Case {
            name: "delete refused",
            why: "Delete without allowDelete is refused, not planned",
            desired: delete.clone(),
            observed: observed(vec![seen(2, "bob@example.com", &[])]),
            policy: p.clone(),
            want: Plan {
                refused: vec![Refusal::DeleteNotAllowed {
                    username: "bob@example.com".into(),
                    resource: rref("bob"),
                }],
                ..Plan::default()
            },
        },
        Case {
            name: "delete allowed",
            why: "Delete with allowDelete is planned",
            desired: delete,
            observed: observed(vec![seen(2, "bob@example.com", &[])]),
            policy: Policy {
                allow_delete: true,
                ..p.clone()
            },
            want: Plan {
                deprovisions: vec![Deprovision {
                    username: "bob@example.com".into(),
                    action: DeprovisionAction::Delete,
                    resource: rref("bob"),
                }],
                ..Plan::default()
            },
        },
        Case {
            name: "unmanaged ignored",
            why: "under Ignore, unmanaged users are neither reported nor touched",
            desired: Desired::default(),
            observed: observed(vec![seen(2, "zed@example.com", &["Console"])]),
            policy: Policy {
                unmanaged: UnmanagedUsers::Ignore,
                ..p.clone()
            },
            want: Plan::default(),
        },
    ]
}

#[test]
fn plan_table() {
    for c in cases() {
        assert_eq!(
            plan(&c.desired, &c.observed, &c.policy),
            c.want,
            "{}: {}",
            c.name,
            c.why
        );
    }
}

fn deprovisions(n: usize) -> (Desired, Observed) {
    let mut d = Desired::default();
    let mut o = Observed::default();
    for i in 0..n {
        let name = format!("u{i}@example.com");
        d.leaving
            .extend([leaving(&name, DeprovisionAction::Deactivate)]);
        o.users.insert(user_key(&name), seen(i as u32, &name, &[]));
    }
    (d, o)
}

#[test]
fn budget_blocks_all_and_approval_releases_exactly_that_plan() {
    let (d, o) = deprovisions(3);
    let p = plan(&d, &o, &Policy::default());
    let mut guards = Guards {
        max_per_sync: 2,
        ..Guards::default()
    };
    let g = guard(&p, &d, &guards);
    assert!(
        g.execute.deprovisions.is_empty(),
        "over budget: nobody goes"
    );
    let blocked = g.blocked.expect("blocked");
    assert_eq!(blocked.deprovisions, 3);
    assert_eq!(blocked.plan_id, p.id());

    guards.approved_plan = Some(p.id());
    let g = guard(&p, &d, &guards);
    assert_eq!(g.execute.deprovisions.len(), 3, "approved plan runs whole");
    assert!(g.blocked.is_none());

    // A different pending set has a different id and stays blocked under the old approval.
    let (d4, o4) = deprovisions(4);
    let p4 = plan(&d4, &o4, &Policy::default());
    assert_ne!(p4.id(), p.id());
    let g = guard(&p4, &d4, &guards);
    assert!(g.execute.deprovisions.is_empty());
    assert_eq!(g.blocked.map(|b| b.plan_id), Some(p4.id()));
}

#[test]
fn within_budget_runs_and_dry_run_runs_nothing() {
    let (d, o) = deprovisions(2);
    let p = plan(&d, &o, &Policy::default());
    let guards = Guards {
        max_per_sync: 2,
        ..Guards::default()
    };
    assert_eq!(guard(&p, &d, &guards).execute.deprovisions.len(), 2);
    let dry = guard(
        &p,
        &d,
        &Guards {
            dry_run: true,
            ..guards
        },
    );
    assert!(dry.execute.is_empty());
    assert!(dry.dry_run);
}

#[test]
fn plan_id_is_stable_and_order_independent() {
    let (d, o) = deprovisions(5);
    let a = plan(&d, &o, &Policy::default());
    let mut reversed = a.clone();
    reversed.deprovisions.reverse();
    assert_eq!(a.id(), reversed.id());
    assert_eq!(a.id().len(), 64, "hex SHA-256");
}

/// LastPass applying a plan, as the simulator's default behaviour does.
fn apply(observed: &Observed, plan: &Plan) -> Observed {
    let mut after = observed.clone();
    for (i, c) in plan.creates.iter().enumerate() {
        let mut u = seen(90_000 + i as u32, &c.username, &[]);
        u.groups = c.groups.clone();
        u.fullname = c.full_name.clone().unwrap_or_default();
        u.never_logged_in = true;
        after.users.insert(user_key(&c.username), u);
    }
    for u in &plan.updates {
        after
            .users
            .get_mut(&user_key(&u.username))
            .unwrap()
            .fullname = u.full_name.clone();
    }
    for name in &plan.disables {
        after.users.get_mut(&user_key(name)).unwrap().disabled = true;
    }
    for name in &plan.enables {
        after.users.get_mut(&user_key(name)).unwrap().disabled = false;
    }
    for c in &plan.group_changes {
        let u = after.users.get_mut(&user_key(&c.username)).unwrap();
        u.groups.extend(c.add.iter().cloned());
        u.groups.retain(|g| !c.del.contains(g));
    }
    for d in &plan.deprovisions {
        match d.action {
            DeprovisionAction::Deactivate => {
                after
                    .users
                    .get_mut(&user_key(&d.username))
                    .unwrap()
                    .disabled = true
            }
            _ => {
                after.users.remove(&user_key(&d.username));
            }
        }
    }
    after
}

const NAMES: [&str; 6] = [
    "ann@example.com",
    "bob@example.com",
    "cat@example.com",
    "dan@example.com",
    "eve@example.com",
    "fay@example.com",
];
const GROUPS: [&str; 3] = ["Eng", "Ops", "Sales"];

fn groups_strategy() -> impl Strategy<Value = BTreeSet<String>> {
    proptest::collection::btree_set(proptest::sample::select(GROUPS.to_vec()), 0..3)
        .prop_map(|s| s.into_iter().map(String::from).collect())
}

/// `ann@example.com` → `Ann@Example.com`: usernames compare case-insensitively.
fn mixed_case(name: &str) -> String {
    let mut out = String::new();
    let mut upper = true;
    for c in name.chars() {
        out.push(if upper { c.to_ascii_uppercase() } else { c });
        upper = c == '@';
    }
    out
}

fn attributes_strategy() -> impl Strategy<Value = BTreeMap<String, String>> {
    proptest::collection::btree_map("[a-z]{1,2}", "[a-z]{0,2}", 0..3)
}

/// Desired states with every shape the planner meets: users declared, leaving (by any action,
/// `Delete` included), or both at once (a new resource for a username another is leaving);
/// mixed-case usernames; attributes never sent, sent, or changed since; groups of either
/// policy.
fn desired_strategy() -> impl Strategy<Value = Desired> {
    let user = (
        groups_strategy(),
        any::<bool>(),
        proptest::option::of("[A-Z][a-z]{1,3}"),
        0u8..4,
        0u8..3,
        attributes_strategy(),
        0u8..3,
        any::<bool>(),
    );
    let users = proptest::collection::vec(user, NAMES.len());
    let policies = proptest::collection::vec(
        proptest::option::of((
            any::<bool>(),
            proptest::collection::btree_set(0usize..6, 0..4),
        )),
        GROUPS.len(),
    );
    (users, policies).prop_map(|(users, policies)| {
        let mut d = Desired::default();
        for (name, u) in NAMES.iter().zip(users) {
            let (groups, suspended, full_name, state, action, attributes, sent, mixed) = u;
            let written = if mixed {
                mixed_case(name)
            } else {
                name.to_string()
            };
            if state == 1 || state == 3 {
                let mut u = want(&written, &[]);
                u.groups = groups.into_iter().collect();
                u.suspended = suspended;
                u.full_name = full_name;
                u.attributes_sent = match sent {
                    0 => None,
                    1 => Some(attributes_digest(&attributes)),
                    _ => Some("stale".into()),
                };
                u.attributes = attributes;
                d.users.insert(user_key(name), u);
            }
            if state == 2 || state == 3 {
                let action = match action {
                    0 => DeprovisionAction::Deactivate,
                    1 => DeprovisionAction::RemoveFromCompany,
                    _ => DeprovisionAction::Delete,
                };
                let (key, mut l) = leaving(&written, action);
                if state == 3 {
                    // Another resource, deleted, that declared the same username.
                    l.resource = rref(&format!("{}-old", name.split('@').next().unwrap()));
                }
                d.leaving.insert(key, l);
            }
        }
        for (g, p) in GROUPS.iter().zip(policies) {
            if let Some((authoritative, members)) = p {
                let members: Vec<&str> = members.into_iter().map(|i| NAMES[i]).collect();
                let policy = if authoritative {
                    GroupPolicy::Authoritative
                } else {
                    GroupPolicy::Additive
                };
                d.groups.insert(g.to_string(), group(g, &members, policy));
            }
        }
        d
    })
}

fn observed_strategy() -> impl Strategy<Value = Observed> {
    let user = proptest::option::of((
        groups_strategy(),
        any::<bool>(),
        "[A-Z][a-z]{0,3}",
        any::<bool>(),
    ));
    proptest::collection::vec(user, NAMES.len()).prop_map(|users| {
        let mut o = Observed::default();
        for (i, (name, u)) in NAMES.iter().zip(users).enumerate() {
            if let Some((groups, disabled, full_name, mixed)) = u {
                let written = if mixed {
                    mixed_case(name)
                } else {
                    name.to_string()
                };
                let mut s = seen(i as u32, &written, &[]);
                s.groups = groups.into_iter().collect();
                s.disabled = disabled;
                s.fullname = full_name;
                o.users.insert(user_key(name), s);
            }
        }
        o
    })
}

fn policy_strategy() -> impl Strategy<Value = Policy> {
    (0u8..3, any::<bool>()).prop_map(|(u, allow_delete)| Policy {
        unmanaged: match u {
            0 => UnmanagedUsers::Ignore,
            1 => UnmanagedUsers::Report,
            _ => UnmanagedUsers::Adopt,
        },
        allow_delete,
    })
}

/// The statuses after a sync remember the attributes of every user LastPass now has (what
/// `report` writes to `status.attributesHash`).
fn remember_attributes(d: &Desired, after: &Observed) -> Desired {
    let mut d = d.clone();
    for (key, u) in d.users.iter_mut() {
        if after.users.contains_key(key) {
            u.attributes_sent = Some(attributes_digest(&u.attributes));
        }
    }
    d
}

/// Every (user, group) membership removal of a plan.
fn removals(p: &Plan) -> BTreeSet<(UserKey, String)> {
    p.group_changes
        .iter()
        .flat_map(|c| c.del.iter().map(|g| (user_key(&c.username), g.clone())))
        .collect()
}

/// What `unmanagedUsers: Adopt` declares for an unmanaged user (see `controller::adopt`):
/// what LastPass has, marked adopted.
fn adopted(seen: &ObservedUser) -> DesiredUser {
    DesiredUser {
        full_name: (!seen.fullname.is_empty()).then(|| seen.fullname.clone()),
        groups: seen.groups.clone(),
        suspended: seen.disabled,
        password_reset_required: seen.password_reset_required,
        adopted: true,
        shown: None,
        ..want(&seen.username, &[])
    }
}

proptest! {
    #[test]
    fn applying_a_plan_leaves_nothing_to_do(
        d in desired_strategy(),
        o in observed_strategy(),
        policy in policy_strategy(),
    ) {
        let first = plan(&d, &o, &policy);
        let after = apply(&o, &first);
        let second = plan(&remember_attributes(&d, &after), &after, &policy);
        prop_assert!(second.is_empty(), "left to do: {second:?}");
    }

    #[test]
    fn delete_is_never_planned_without_allow_delete(d in desired_strategy(), o in observed_strategy()) {
        let p = plan(&d, &o, &Policy { unmanaged: UnmanagedUsers::Report, allow_delete: false });
        prop_assert!(p.deprovisions.iter().all(|x| x.action != DeprovisionAction::Delete));
        for (key, l) in &d.leaving {
            let refusable = l.action == DeprovisionAction::Delete
                && !d.users.contains_key(key)
                && o.users.contains_key(key);
            let refused = p.refused.iter().any(|r| matches!(r,
                Refusal::DeleteNotAllowed { resource, .. } if *resource == l.resource));
            prop_assert_eq!(refusable, refused, "{}", key);
            if refused {
                prop_assert!(!p.finished.contains(&l.resource), "a refused Delete is not finished");
            }
        }
    }

    #[test]
    fn a_username_declared_again_is_never_deprovisioned(d in desired_strategy(), o in observed_strategy()) {
        let p = plan(&d, &o, &Policy { unmanaged: UnmanagedUsers::Report, allow_delete: true });
        for (key, l) in d.leaving.iter().filter(|(k, _)| d.users.contains_key(*k)) {
            prop_assert!(p.finished.contains(&l.resource), "{key}: the old resource goes");
            prop_assert!(p.deprovisions.iter().all(|x| user_key(&x.username) != *key));
            prop_assert!(!p.disables.iter().any(|u| user_key(u) == *key) || d.users[key].suspended);
        }
    }

    #[test]
    fn ignore_reports_nobody_and_changes_nothing_else(d in desired_strategy(), o in observed_strategy()) {
        let report = plan(&d, &o, &Policy { unmanaged: UnmanagedUsers::Report, allow_delete: true });
        let ignore = plan(&d, &o, &Policy { unmanaged: UnmanagedUsers::Ignore, allow_delete: true });
        prop_assert!(ignore.unmanaged.is_empty());
        prop_assert_eq!(Plan { unmanaged: vec![], ..report }, ignore);
    }

    #[test]
    fn adopting_unmanaged_users_makes_no_membership_removable(
        d in desired_strategy(),
        o in observed_strategy(),
    ) {
        let policy = Policy { unmanaged: UnmanagedUsers::Adopt, allow_delete: true };
        let before = plan(&d, &o, &policy);
        let mut after_adoption = d.clone();
        for name in &before.unmanaged {
            let seen = o.user(name).unwrap();
            after_adoption.users.insert(user_key(name), adopted(seen));
        }
        let after = plan(&after_adoption, &o, &policy);
        let new: Vec<_> = removals(&after).difference(&removals(&before)).cloned().collect();
        prop_assert!(new.is_empty(), "adoption made these memberships removable: {new:?}");
        for name in &before.unmanaged {
            let key = user_key(name);
            prop_assert!(!after.updates.iter().any(|u| user_key(&u.username) == key));
            prop_assert!(!after.attribute_updates.iter().any(|u| user_key(&u.username) == key));
            prop_assert!(!after.disables.iter().chain(&after.enables).any(|u| user_key(u) == key));
        }
    }

    #[test]
    fn applying_a_plan_reaches_the_declared_state(d in desired_strategy(), o in observed_strategy()) {
        let policy = Policy { unmanaged: UnmanagedUsers::Report, allow_delete: true };
        let after = apply(&o, &plan(&d, &o, &policy));
        for (key, u) in &d.users {
            let s = after.users.get(key);
            prop_assert!(s.is_some(), "{key} exists");
            let s = s.unwrap();
            prop_assert_eq!(s.disabled, u.suspended, "{} disabled", key);
            if let Some(name) = &u.full_name {
                prop_assert_eq!(&s.fullname, name);
            }
            for g in &u.groups {
                prop_assert!(s.groups.contains(g), "{key} in {g}");
            }
        }
        for g in d.groups.values() {
            for m in g.members.iter().filter(|m| !d.leaving.contains_key(*m) || d.users.contains_key(*m)) {
                if let Some(s) = after.users.get(m) {
                    prop_assert!(s.groups.contains(&g.name), "{m} in {}", g.name);
                }
            }
        }
        for (key, l) in &d.leaving {
            if d.users.contains_key(key) { continue; }
            let s = after.users.get(key);
            match l.action {
                DeprovisionAction::Deactivate => prop_assert!(s.is_none_or(|s| s.disabled)),
                _ => prop_assert!(s.is_none()),
            }
        }
    }

    #[test]
    fn additive_groups_and_unknown_groups_never_lose_members(d in desired_strategy(), o in observed_strategy()) {
        let p = plan(&d, &o, &Policy::default());
        for change in &p.group_changes {
            for g in &change.del {
                let g_decl = d.groups.get(g);
                prop_assert!(g_decl.is_none_or(|g| g.policy == GroupPolicy::Authoritative));
                let known = g_decl.is_some() || d.users.values().any(|u| u.groups.contains(g));
                prop_assert!(known, "removed from unknown group {g}");
            }
        }
    }

    #[test]
    fn nobody_undeclared_is_deprovisioned(d in desired_strategy(), o in observed_strategy()) {
        let p = plan(&d, &o, &Policy { unmanaged: UnmanagedUsers::Adopt, allow_delete: true });
        for dep in &p.deprovisions {
            prop_assert!(d.leaving.contains_key(&user_key(&dep.username)));
            prop_assert!(!d.users.contains_key(&user_key(&dep.username)));
        }
    }
}

#[test]
fn a_console_group_named_in_one_namespace_removes_nobody_of_another_namespace() {
    // team-b names the console group Finance; ann (team-a) is in it without naming it.
    let mut ann = want("ann@x.io", &[]);
    ann.resource = ResourceRef::user("team-a", "ann");
    let mut bob = want("bob@x.io", &["Finance"]);
    bob.resource = ResourceRef::user("team-b", "bob");
    let mut cat = want("cat@x.io", &[]);
    cat.resource = ResourceRef::user("team-b", "cat");
    let d = desired(vec![ann, bob, cat]);
    let o = observed(vec![
        seen(1, "ann@x.io", &["Finance"]),
        seen(2, "bob@x.io", &["Finance"]),
        seen(3, "cat@x.io", &["Finance"]),
    ]);
    let p = plan(&d, &o, &Policy::default());
    let removed: Vec<&str> = p
        .group_changes
        .iter()
        .filter(|c| !c.del.is_empty())
        .map(|c| c.username.as_str())
        .collect();
    assert_eq!(
        removed,
        ["cat@x.io"],
        "only team-b's own users follow team-b's specs"
    );
}

#[test]
fn deprovisions_and_suspensions_of_lastpass_admins_are_marked() {
    let mut boss = seen(1, "boss@x.io", &[]);
    boss.admin = true;
    let mut d = desired(vec![want("boss@x.io", &[])]);
    d.users.get_mut("boss@x.io").unwrap().suspended = true;
    let p = plan(&d, &observed(vec![boss.clone()]), &Policy::default());
    assert_eq!(p.disables, ["boss@x.io"]);
    assert!(p.admin_targets.contains("boss@x.io"));
    let (key, l) = leaving("boss@x.io", DeprovisionAction::Deactivate);
    let mut d = desired(vec![]);
    d.leaving.insert(key, l);
    let p = plan(&d, &observed(vec![boss]), &Policy::default());
    assert!(p.admin_targets.contains("boss@x.io") && p.deprovisions.len() == 1);
}
