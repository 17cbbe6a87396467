//! Table and property tests of the safeguard.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;
use proptest::prelude::*;

use super::super::execute::Applied;
use super::super::guard::Guards;
use super::super::model::*;
use super::super::plan::*;
use super::*;
use crate::crd::{DeprovisionAction, GroupPolicy, HeldPlan, WindowEntry};
use crate::lastpass::CommandKind;

fn now() -> jiff::Timestamp {
    jiff::Timestamp::from_second(1_800_000_000).unwrap()
}

fn ago(minutes: i64) -> Time {
    Time(now() - jiff::SignedDuration::from_mins(minutes))
}

fn limits(max: usize) -> Guards {
    Guards {
        max_per_sync: max,
        max_percent: None,
        max_membership_removals: None,
        window: Duration::from_secs(3600),
        now: now(),
        ..Guards::default()
    }
}

fn email(name: &str) -> String {
    format!("{name}@x.io")
}

/// A desired state with `managed` users u0.., `leaving` users d0.., and a group G naming
/// nobody.
fn world(managed: usize, leaving: usize) -> Desired {
    let mut d = Desired::default();
    for i in 0..managed {
        let name = email(&format!("u{i}"));
        d.users.insert(
            user_key(&name),
            DesiredUser {
                username: name.clone(),
                resource: ResourceRef::user("ns", format!("u{i}")),
                ..DesiredUser::default()
            },
        );
    }
    for i in 0..leaving {
        let name = email(&format!("d{i}"));
        d.leaving.insert(
            user_key(&name),
            Leaving {
                username: name,
                action: DeprovisionAction::Deactivate,
                resource: ResourceRef::user("ns", format!("d{i}")),
                approved_plan: None,
            },
        );
    }
    d.groups.insert(
        "G".into(),
        DesiredGroup {
            name: "G".into(),
            policy: GroupPolicy::Authoritative,
            resource: ResourceRef::group("ns", "g"),
            ..DesiredGroup::default()
        },
    );
    d
}

/// A plan deprovisioning d0..`deprovisions`, suspending u0..`suspensions`, removing
/// u0..`removals` from G, and inviting one new user.
fn plan_of(deprovisions: usize, suspensions: usize, removals: usize) -> Plan {
    let mut p = Plan::default();
    p.creates.push(CreateUser {
        username: email("new"),
        full_name: None,
        groups: crate::lastpass::GroupNames::new(),
        attributes: BTreeMap::new(),
        password_reset_required: true,
    });
    for i in 0..deprovisions {
        p.deprovisions.push(Deprovision {
            username: email(&format!("d{i}")),
            action: DeprovisionAction::Deactivate,
            resource: ResourceRef::user("ns", format!("d{i}")),
        });
    }
    p.disables
        .extend((0..suspensions).map(|i| email(&format!("u{i}"))));
    for i in 0..removals {
        p.group_changes.push(GroupChange {
            username: email(&format!("u{i}")),
            add: BTreeSet::new(),
            del: ["G".to_string()].into(),
        });
    }
    p
}

fn used(deprovisions: i64, minutes_ago: i64) -> WindowEntry {
    WindowEntry {
        time: ago(minutes_ago),
        deprovisions,
        suspensions: 0,
        membership_removals: 0,
    }
}

struct Case {
    name: &'static str,
    why: &'static str,
    guards: Guards,
    desired: Desired,
    plan: Plan,
    held: bool,
}

fn cases() -> Vec<Case> {
    let mut with_window = limits(5);
    with_window.record.window = vec![used(4, 10)];
    let mut old_window = limits(5);
    old_window.record.window = vec![used(4, 61)];
    let percent = Guards {
        max_percent: Some(10),
        ..limits(100)
    };
    let removals = Guards {
        max_membership_removals: Some(2),
        ..limits(100)
    };
    vec![
        Case {
            name: "within maxPerSync",
            why: "5 deprovisions + suspensions is not above 5",
            guards: limits(5),
            desired: world(10, 3),
            plan: plan_of(3, 2, 0),
            held: false,
        },
        Case {
            name: "suspensions count with deprovisions",
            why: "3 + 3 is above 5",
            guards: limits(5),
            desired: world(10, 3),
            plan: plan_of(3, 3, 0),
            held: true,
        },
        Case {
            name: "the window remembers earlier syncs",
            why: "4 executed 10 minutes ago + 2 planned is above 5",
            guards: with_window,
            desired: world(10, 2),
            plan: plan_of(2, 0, 0),
            held: true,
        },
        Case {
            name: "the window rolls",
            why: "4 executed 61 minutes ago fell out of the 1h window",
            guards: old_window,
            desired: world(10, 2),
            plan: plan_of(2, 0, 0),
            held: false,
        },
        Case {
            name: "maxPercent is strictly greater",
            why: "2 of 20 managed users is exactly 10%",
            guards: percent.clone(),
            desired: world(18, 2),
            plan: plan_of(2, 0, 0),
            held: false,
        },
        Case {
            name: "maxPercent holds above",
            why: "3 of 20 managed users is 15%",
            guards: percent,
            desired: world(17, 3),
            plan: plan_of(3, 0, 0),
            held: true,
        },
        Case {
            name: "membership removals above their limit",
            why: "3 removals are above 2, and the deprovision goes down with them",
            guards: removals,
            desired: world(10, 1),
            plan: plan_of(1, 0, 3),
            held: true,
        },
    ]
}

#[test]
fn limits_hold_the_whole_destructive_part_and_nothing_else() {
    for c in cases() {
        let g = guard(&c.plan, &c.desired, &c.guards);
        assert_eq!(g.blocked.is_some(), c.held, "{}: {}", c.name, c.why);
        let executed = destructive(&g.execute);
        if c.held {
            assert!(executed.is_empty(), "{}: nothing destructive runs", c.name);
            let b = g.blocked.unwrap();
            assert_eq!(
                b.changes,
                destructive(&c.plan),
                "{}: the whole part",
                c.name
            );
            assert_eq!(b.plan_id, c.plan.id(), "{}: the id of the held set", c.name);
        } else {
            assert_eq!(executed, destructive(&c.plan), "{}", c.name);
        }
        assert_eq!(
            g.execute.creates, c.plan.creates,
            "{}: invites still run",
            c.name
        );
    }
}

#[test]
fn inviting_a_suspended_user_is_not_destructive() {
    let mut p = plan_of(0, 0, 0);
    p.disables.push(email("new"));
    assert!(destructive(&p).is_empty());
    assert!(guard(&p, &world(1, 0), &limits(0)).blocked.is_none());
}

#[test]
fn approval_runs_exactly_the_held_set_once_and_newer_changes_are_judged_afresh() {
    let desired = world(10, 4);
    let first = plan_of(3, 0, 0);
    let held = guard(&first, &desired, &limits(2)).blocked.expect("held");
    let mut guards = limits(2);
    guards.held = Some(super::super::report_safeguard::held_status(&held));
    guards.approved_plan = Some(held.plan_id.clone());
    // A fourth deletion arrives before the approval is seen: it is judged on its own.
    let now_plan = plan_of(4, 0, 0);
    let mut sg = Safeguard::new(&guards);
    let g = sg.judge(&mut now_plan.clone(), &desired);
    assert_eq!(
        destructive(&g.execute),
        destructive(&now_plan),
        "the held three plus the new one (within maxPerSync 2)"
    );
    assert!(g.blocked.is_none());
    sg.executed(&g.execute, &applied_deprovisions(&g.execute), &[]);
    let out = sg.outcome();
    assert_eq!(out.record.consumed_approvals, vec![held.plan_id.clone()]);

    // With no room at all, the newcomer is held under a new id; the three still run.
    let mut strict = guards.clone();
    strict.max_per_sync = 0;
    let g = guard(&now_plan, &desired, &strict);
    assert_eq!(g.execute.deprovisions.len(), 3);
    let b = g.blocked.expect("the fourth is held");
    assert_eq!(b.deprovisions, 1);
    assert_ne!(b.plan_id, held.plan_id);

    // Consumed: the same annotation approves nothing again.
    strict.record = out.record;
    let g = guard(&first, &desired, &strict);
    assert!(destructive(&g.execute).is_empty());
    assert_eq!(g.blocked.map(|b| b.plan_id), Some(held.plan_id));
}

fn applied_deprovisions(p: &Plan) -> Vec<Applied> {
    p.deprovisions
        .iter()
        .map(|d| Applied {
            command: CommandKind::DelUser,
            username: d.username.clone(),
        })
        .collect()
}

#[test]
fn an_approval_is_used_up_only_once_its_changes_were_sent() {
    let desired = world(10, 3);
    let p = plan_of(3, 0, 0);
    let mut guards = limits(0);
    guards.approved_plan = Some(p.id());
    // The sync fails before the deprovisions go out: the approval stays usable.
    let mut sg = Safeguard::new(&guards);
    sg.judge(&mut p.clone(), &desired);
    let out = sg.outcome();
    assert!(out.record.consumed_approvals.is_empty());
    assert!(out.decisions.is_empty());
    // They go out: used up, and said so.
    let mut sg = Safeguard::new(&guards);
    let g = sg.judge(&mut p.clone(), &desired);
    sg.executed(&g.execute, &applied_deprovisions(&g.execute)[..1], &[]);
    let out = sg.outcome();
    assert_eq!(out.record.consumed_approvals, vec![p.id()]);
    assert_eq!(
        out.decisions,
        vec![Decision::Approved {
            plan_id: p.id(),
            changes: 3
        }]
    );
}

#[test]
fn approved_changes_do_not_count_against_the_window() {
    let desired = world(10, 3);
    let p = plan_of(3, 0, 0);
    let mut guards = limits(2);
    guards.approved_plan = Some(p.id());
    let mut sg = Safeguard::new(&guards);
    let g = sg.judge(&mut p.clone(), &desired);
    let applied: Vec<Applied> = g
        .execute
        .deprovisions
        .iter()
        .map(|d| Applied {
            command: CommandKind::DelUser,
            username: d.username.clone(),
        })
        .collect();
    sg.executed(&g.execute, &applied, &[]);
    assert!(sg.outcome().record.window.is_empty());
}

#[test]
fn the_window_counts_applied_and_unknown_outcomes_not_refusals() {
    let desired = world(10, 3);
    let p = plan_of(3, 0, 0);
    let mut sg = Safeguard::new(&limits(5));
    let g = sg.judge(&mut p.clone(), &desired);
    let a = |name: &str| Applied {
        command: CommandKind::DelUser,
        username: email(name),
    };
    // d0 applied, d1 outcome unknown, d2 refused (neither list).
    sg.executed(&g.execute, &[a("d0")], &[a("d1")]);
    let record = sg.outcome().record;
    assert_eq!(record.window.len(), 1);
    assert_eq!(record.window[0].deprovisions, 2);
    assert_eq!(record.window[0].time, Time(now()));
}

#[test]
fn reject_releases_deprovisions_and_leaves_suspensions_until_the_spec_changes() {
    let desired = world(10, 3);
    let p = plan_of(3, 1, 0);
    let mut guards = limits(2);
    guards.generations = [(ResourceRef::user("ns", "u0"), 4)].into();
    let held = guard(&p, &desired, &guards).blocked.expect("held");
    guards.held = Some(super::super::report_safeguard::held_status(&held));
    guards.rejected_plan = Some(held.plan_id.clone());
    let mut sg = Safeguard::new(&guards);
    let mut remaining = p.clone();
    let g = sg.judge(&mut remaining, &desired);
    assert!(destructive(&g.execute).is_empty(), "nothing rejected runs");
    assert!(g.blocked.is_none(), "nothing is held any more");
    assert_eq!(
        remaining.finished.len(),
        3,
        "the deleted users are released"
    );
    assert!(remaining.deprovisions.is_empty() && remaining.disables.is_empty());
    let out = sg.outcome();
    assert_eq!(out.unapplied.len(), 1);
    assert_eq!(out.unapplied[0].resource, ResourceRef::user("ns", "u0"));
    assert_eq!(
        out.decisions,
        vec![Decision::Rejected {
            plan_id: held.plan_id.clone(),
            released: 3,
            unapplied: 1
        }]
    );

    // Later syncs: still unapplied at generation 4, and the annotation decides nothing new.
    let mut later = guards.clone();
    later.record = out.record.clone();
    later.held = None;
    let mut sg = Safeguard::new(&later);
    let g = sg.judge(&mut p.clone(), &desired);
    assert!(destructive(&g.execute).is_empty());
    assert!(sg.outcome().decisions.is_empty());

    // The user's spec changed (generation 5): the suspension is judged again (and runs).
    later.generations = [(ResourceRef::user("ns", "u0"), 5)].into();
    let g = guard(&plan_of(0, 1, 0), &desired, &later);
    assert_eq!(g.execute.disables, vec![email("u0")]);
}

#[test]
fn released_users_are_forgotten_once_declared_again() {
    let mut guards = limits(0);
    guards.record.rejected = vec![crate::crd::RejectedPlan {
        plan_id: "p".into(),
        released: vec![email("d0")],
        unapplied: vec![],
    }];
    let mut sg = Safeguard::new(&guards);
    sg.judge(&mut Plan::default(), &world(1, 1));
    assert_eq!(sg.outcome().record.rejected[0].released, vec![email("d0")]);
    let mut declared = world(1, 0);
    declared.users.insert(
        user_key(&email("d0")),
        DesiredUser {
            username: email("d0"),
            ..DesiredUser::default()
        },
    );
    let mut sg = Safeguard::new(&guards);
    sg.judge(&mut Plan::default(), &declared);
    assert!(sg.outcome().record.rejected[0].released.is_empty());
}

#[test]
fn an_ldap_approval_counts_only_once_recorded() {
    let mut desired = world(10, 3);
    for l in desired.leaving.values_mut() {
        l.approved_plan = Some("pull-1".into());
    }
    let p = plan_of(3, 0, 0);
    assert!(
        guard(&p, &desired, &limits(0)).blocked.is_some(),
        "an annotation alone approves nothing"
    );
    let mut guards = limits(0);
    guards.trusted_approvals = ["pull-1".to_string()].into();
    let g = guard(&p, &desired, &guards);
    assert!(g.blocked.is_none());
    assert_eq!(g.execute.deprovisions.len(), 3);
}

#[test]
fn an_approval_naming_a_forged_held_set_approves_nothing() {
    let desired = world(10, 3);
    let p = plan_of(3, 0, 0);
    let mut guards = limits(0);
    // status.held claims an id that is not the digest of its changes.
    guards.held = Some(HeldPlan {
        plan_id: "forged".into(),
        changes: destructive(&p).iter().map(Change::item).collect(),
        ..HeldPlan::default()
    });
    guards.approved_plan = Some("forged".into());
    assert!(destructive(&guard(&p, &desired, &guards).execute).is_empty());
}

#[test]
fn plan_ids_are_sha256_of_the_set() {
    let a: BTreeSet<Change> = destructive(&plan_of(2, 1, 1));
    assert_eq!(plan_id(&a).len(), 64);
    assert_eq!(plan_id(&a), plan_id(&a.clone()));
    let b = destructive(&plan_of(2, 1, 0));
    assert_ne!(plan_id(&a), plan_id(&b));
    // Items round-trip, so status.held names exactly the set.
    let back: BTreeSet<Change> = a
        .iter()
        .map(|c| Change::from_item(&c.item()).unwrap())
        .collect();
    assert_eq!(back, a);
}

/// Limits, window use, and a plan's size.
fn scenario() -> impl Strategy<Value = (Guards, usize, (usize, usize, usize), i64)> {
    (
        0usize..6,
        proptest::option::of(0u32..40),
        proptest::option::of(0usize..6),
        5usize..30,
        (0usize..8, 0usize..5, 0usize..5),
        0i64..5,
    )
        .prop_map(|(max, percent, removals, managed, size, used_before)| {
            let mut g = limits(max);
            g.max_percent = percent;
            g.max_membership_removals = removals;
            g.record.window = vec![used(used_before, 5)];
            (g, managed, size, used_before)
        })
}

proptest! {
    #[test]
    fn more_destructive_changes_never_unhold(
        (guards, managed, (d, s, r), _) in scenario(),
        (more_d, more_s, more_r) in (0usize..4, 0usize..3, 0usize..3),
    ) {
        let small = guard(&plan_of(d, s, r), &world(managed, 12), &guards);
        let big = guard(&plan_of(d + more_d, s + more_s, r + more_r), &world(managed, 12), &guards);
        if small.blocked.is_some() {
            prop_assert!(big.blocked.is_some());
        }
    }

    #[test]
    fn nothing_destructive_runs_beyond_the_limits_without_an_approval(
        (guards, managed, (d, s, r), used_before) in scenario(),
    ) {
        let desired = world(managed, 12);
        let g = guard(&plan_of(d, s, r), &desired, &guards);
        let ran = Counts::of(&destructive(&g.execute));
        if ran.is_empty() {
            return Ok(());
        }
        let people = ran.people() + usize::try_from(used_before).unwrap();
        prop_assert!(people <= guards.max_per_sync);
        if let Some(p) = guards.max_percent {
            prop_assert!(people * 100 <= p as usize * (managed + 12));
        }
        if let Some(m) = guards.max_membership_removals {
            prop_assert!(ran.membership_removals <= m);
        }
    }

    #[test]
    fn an_approval_never_releases_a_different_set(
        (guards, managed, (d, s, r), _) in scenario(),
        (d2, s2, r2) in (0usize..8, 0usize..5, 0usize..5),
    ) {
        let desired = world(managed, 12);
        let first = plan_of(d, s, r);
        let second = plan_of(d2, s2, r2);
        let Some(held) = guard(&first, &desired, &guards).blocked else {
            return Ok(());
        };
        let mut approving = guards.clone();
        approving.held = Some(super::super::report_safeguard::held_status(&held));
        approving.approved_plan = Some(held.plan_id.clone());
        let g = guard(&second, &desired, &approving);
        let ran = destructive(&g.execute);
        let newer: BTreeSet<Change> = ran.difference(&held.changes).cloned().collect();
        // Whatever ran beyond the approved set would have run without any approval.
        if !newer.is_empty() {
            let mut alone = second.clone();
            remove(&mut alone, &held.changes);
            prop_assert!(guard(&alone, &desired, &guards).blocked.is_none());
        }
        prop_assert!(ran.iter().all(|c| destructive(&second).contains(c)));
    }

    #[test]
    fn a_consumed_approval_is_never_reused(
        (guards, managed, (d, s, r), _) in scenario(),
    ) {
        let desired = world(managed, 12);
        let p = plan_of(d, s, r);
        let mut used_up = guards.clone();
        used_up.approved_plan = Some(p.id());
        used_up.record.consumed_approvals = vec![p.id()];
        prop_assert_eq!(
            guard(&p, &desired, &used_up).execute,
            guard(&p, &desired, &guards).execute
        );
    }
}

#[test]
fn a_held_set_too_large_to_list_is_still_approved_by_its_id() {
    use super::super::report_safeguard::{MAX_HELD_CHANGES, held_status};
    let mut desired = Desired::default();
    let mut p = Plan::default();
    for i in 0..=MAX_HELD_CHANGES {
        let name = email(&format!("d{i}"));
        let resource = ResourceRef::user("ns", format!("d{i}"));
        desired.leaving.insert(
            user_key(&name),
            Leaving {
                username: name.clone(),
                action: DeprovisionAction::Deactivate,
                resource: resource.clone(),
                approved_plan: None,
            },
        );
        p.deprovisions.push(Deprovision {
            username: name,
            action: DeprovisionAction::Deactivate,
            resource,
        });
    }
    let held = guard(&p, &desired, &limits(10)).blocked.expect("held");
    let status = held_status(&held);
    assert!(status.changes.is_empty() && status.sample.len() == 20);
    let mut guards = limits(10);
    guards.held = Some(status);
    guards.approved_plan = Some(held.plan_id);
    assert_eq!(
        guard(&p, &desired, &guards).execute.deprovisions.len(),
        MAX_HELD_CHANGES + 1
    );
}

#[test]
fn a_lastpass_admin_is_deprovisioned_or_suspended_only_with_an_approval() {
    let desired = world(100, 1);
    for mut p in [plan_of(1, 0, 0), plan_of(0, 1, 0)] {
        let target = p
            .deprovisions
            .first()
            .map(|d| d.username.clone())
            .or_else(|| p.disables.first().cloned())
            .unwrap();
        assert!(
            guard(&p, &desired, &limits(10)).blocked.is_none(),
            "one change is within the limits"
        );
        p.admin_targets
            .insert(crate::engine::model::user_key(&target));
        let held = guard(&p, &desired, &limits(10))
            .blocked
            .expect("an admin is held whatever the limits");
        assert!(held.reason.contains("admin"), "{}", held.reason);
        let mut approving = limits(10);
        approving.held = Some(super::super::report_safeguard::held_status(&held));
        approving.approved_plan = Some(held.plan_id.clone());
        let g = guard(&p, &desired, &approving);
        assert!(g.blocked.is_none());
        assert_eq!(
            destructive(&g.execute),
            destructive(&p),
            "approved: it runs"
        );
    }
}
