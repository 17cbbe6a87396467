//! The safeguard against the simulator over HTTP: random sequences of deletions,
//! suspensions, group-membership drops, reads, approvals and rejections. What reached LastPass
//! is read from the simulated account itself, never from the engine's own report.
//!
//! Properties: no destructive change reaches LastPass beyond the safeguard's limits unless a
//! person approved the exact held plan it belongs to; a rejected plan's deprovisions never
//! reach LastPass.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use lastpass_operator::crd::{DeprovisionAction, GroupPolicy, HeldPlan, SafeguardStatus};
use lastpass_operator::engine::guard::Guards;
use lastpass_operator::engine::model::{Desired, ResourceRef, user_key};
use lastpass_operator::engine::report_safeguard::held_status;
use lastpass_operator::engine::safeguard::Change;
use lastpass_operator::simulator::SeedUser;
use proptest::prelude::*;
use support::account::*;
use support::builders::*;

const USERS: usize = 10;

fn name(i: usize) -> String {
    format!("u{i}@example.com")
}

/// One thing that happens between two syncs.
#[derive(Clone, Debug)]
enum Step {
    /// The LastPassUser of user i is deleted.
    Delete(usize),
    /// User i gets `suspended: true`.
    Suspend(usize),
    /// User i is dropped from the Authoritative group G.
    Drop(usize),
    /// Nothing changes; the account is read again.
    Read,
    /// A person approves the plan the status shows as held.
    Approve,
    /// User i is deleted just as a person approves the held plan: the approval must not
    /// carry the newcomer.
    DeleteAndApprove(usize),
    /// A person approves an id that is not the held one.
    ApproveOther,
    /// A person rejects the plan the status shows as held.
    Reject,
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        3 => (0..USERS).prop_map(Step::Delete),
        2 => (0..USERS).prop_map(Step::Suspend),
        2 => (0..USERS).prop_map(Step::Drop),
        1 => Just(Step::Read),
        2 => Just(Step::Approve),
        2 => (0..USERS).prop_map(Step::DeleteAndApprove),
        1 => Just(Step::ApproveOther),
        2 => Just(Step::Reject),
    ]
}

/// What the cluster would hold: the resources, their generations, the integration's status.
struct World {
    desired: Desired,
    generations: BTreeMap<ResourceRef, i64>,
    record: SafeguardStatus,
    held: Option<HeldPlan>,
}

fn start_world() -> World {
    let users: Vec<_> = (0..USERS).map(|i| desired_user(&name(i))).collect();
    let members: Vec<String> = (0..USERS).map(name).collect();
    let members: Vec<&str> = members.iter().map(String::as_str).collect();
    let desired = with_group(desired(users), "G", &members, GroupPolicy::Authoritative);
    let mut generations: BTreeMap<ResourceRef, i64> =
        (0..USERS).map(|i| (rref(&name(i)), 1)).collect();
    generations.insert(ResourceRef::group("team", "g"), 1);
    World {
        desired,
        generations,
        record: SafeguardStatus::default(),
        held: None,
    }
}

/// Deletes the LastPassUser of user i (once: a deleted resource cannot be deleted again).
fn delete(world: &mut World, i: usize) {
    if world.desired.users.contains_key(&user_key(&name(i))) {
        world.desired = leaving(
            std::mem::take(&mut world.desired),
            &name(i),
            DeprovisionAction::Deactivate,
        );
    }
}

/// Destructive effects visible in the account between two reads of it.
fn effects(
    before: &BTreeMap<String, (bool, BTreeSet<String>)>,
    after: &BTreeMap<String, (bool, BTreeSet<String>)>,
) -> BTreeSet<(String, &'static str, String)> {
    let mut out = BTreeSet::new();
    for (user, (disabled, groups)) in before {
        match after.get(user) {
            None => {
                out.insert((user.clone(), "gone", String::new()));
            }
            Some((now_disabled, now_groups)) => {
                if *now_disabled && !disabled {
                    out.insert((user.clone(), "disabled", String::new()));
                }
                for g in groups.difference(now_groups) {
                    out.insert((user.clone(), "removed", g.clone()));
                }
            }
        }
    }
    out
}

fn account_state(acct: &Account) -> BTreeMap<String, (bool, BTreeSet<String>)> {
    acct.state().with_store(|s| {
        s.users_by_id()
            .map(|u| {
                let groups = u.groups.iter().map(str::to_string).collect();
                (user_key(&u.username), (u.disabled, groups))
            })
            .collect()
    })
}

/// Whether an effect is one of these approved changes.
fn covered(effect: &(String, &'static str, String), approved: &BTreeSet<Change>) -> bool {
    approved.iter().any(|c| match (c, effect.1) {
        (Change::Deprovision { user, .. }, "disabled" | "gone") => *user == effect.0,
        (Change::Suspend { user }, "disabled") => *user == effect.0,
        (Change::RemoveFromGroup { user, group }, "removed") => {
            *user == effect.0 && *group == effect.2
        }
        _ => false,
    })
}

async fn run(steps: Vec<Step>, max_people: usize, max_removals: usize) -> Result<(), String> {
    let acct = Account::start(knobs()).await;
    let seeds: Vec<SeedUser> = (0..USERS)
        .map(|i| SeedUser {
            username: name(i),
            groups: vec!["G".into()],
            active: true,
            ..SeedUser::default()
        })
        .collect();
    acct.state().seed(&seeds);
    let mut world = start_world();
    let t0 = jiff::Timestamp::from_second(1_800_000_000).unwrap();
    // Destructive effects not covered by an approval, over the run (all within the 1h window).
    let (mut people, mut removals) = (0usize, 0usize);
    let mut rejected_users: BTreeSet<String> = BTreeSet::new();
    let mut consumed: BTreeSet<String> = BTreeSet::new();

    for (n, step) in steps.into_iter().enumerate() {
        let mut approve = None;
        let mut reject = None;
        match step {
            Step::Delete(i) => delete(&mut world, i),
            Step::DeleteAndApprove(i) => {
                delete(&mut world, i);
                approve = world.held.as_ref().map(|h| h.plan_id.clone());
            }
            Step::Suspend(i) => {
                if let Some(u) = world.desired.users.get_mut(&user_key(&name(i))) {
                    u.suspended = true;
                    *world.generations.entry(rref(&name(i))).or_default() += 1;
                }
            }
            Step::Drop(i) => {
                let g = world.desired.groups.get_mut("G").unwrap();
                if g.members.remove(&user_key(&name(i))) {
                    *world
                        .generations
                        .entry(ResourceRef::group("team", "g"))
                        .or_default() += 1;
                }
            }
            Step::Read => {}
            Step::Approve => approve = world.held.as_ref().map(|h| h.plan_id.clone()),
            Step::ApproveOther => approve = Some("0".repeat(64)),
            Step::Reject => reject = world.held.as_ref().map(|h| h.plan_id.clone()),
        }
        // What a person's approval may release: the held set, if the id names it and it was
        // never used before.
        let approved: BTreeSet<Change> = match (&approve, &world.held) {
            (Some(id), Some(h)) if h.plan_id == *id && !consumed.contains(id) => {
                h.changes.iter().filter_map(Change::from_item).collect()
            }
            _ => BTreeSet::new(),
        };
        // A rejection names the held set: its deprovisions must never reach LastPass, from
        // this very sync on.
        if let (Some(id), Some(h)) = (&reject, &world.held)
            && h.plan_id == *id
            && !consumed.contains(id)
        {
            rejected_users.extend(h.changes.iter().filter_map(|c| match Change::from_item(c) {
                Some(Change::Deprovision { user, .. }) => Some(user),
                _ => None,
            }));
        }
        let guards = Guards {
            max_per_sync: max_people,
            max_percent: None,
            max_membership_removals: Some(max_removals),
            window: Duration::from_secs(3600),
            approved_plan: approve.clone(),
            rejected_plan: reject,
            record: world.record.clone(),
            held: world.held.clone(),
            generations: world.generations.clone(),
            now: t0 + jiff::SignedDuration::from_mins(n as i64),
            ..Guards::default()
        };
        let before = account_state(&acct);
        let out = acct.sync(&world.desired, guards).await;
        if let Some(e) = &out.error {
            return Err(format!("sync {n} failed: {e}"));
        }
        let after = account_state(&acct);
        for e in effects(&before, &after) {
            if rejected_users.contains(&e.0) && e.1 != "removed" {
                return Err(format!("sync {n}: rejected user {} deprovisioned", e.0));
            }
            if covered(&e, &approved) {
                continue;
            }
            match e.1 {
                "removed" => removals += 1,
                _ => people += 1,
            }
        }
        if people > max_people || removals > max_removals {
            return Err(format!(
                "sync {n}: {people} people / {removals} removals without approval, limits \
                 {max_people} / {max_removals}"
            ));
        }
        if let Some(id) = approve.filter(|_| !approved.is_empty()) {
            consumed.insert(id);
        }
        // The cluster side: status written back, finalizers of finished deletions released.
        world.record = out.safeguard.record.clone();
        world.held = out.blocked.as_ref().map(held_status);
        let finished: BTreeSet<&ResourceRef> = out.remaining.finished.iter().collect();
        world
            .desired
            .leaving
            .retain(|_, l| !finished.contains(&l.resource));
    }
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn nothing_destructive_beyond_the_safeguard_without_an_approval_of_that_plan(
        steps in proptest::collection::vec(step(), 1..10),
        max_people in 0usize..4,
        max_removals in 0usize..3,
    ) {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let result = rt.block_on(run(steps, max_people, max_removals));
        prop_assert!(result.is_ok(), "{}", result.unwrap_err());
    }
}

fn window_limits(max: usize, record: SafeguardStatus) -> Guards {
    Guards {
        max_per_sync: max,
        window: Duration::from_secs(3600),
        record,
        now: jiff::Timestamp::now(),
        ..Guards::default()
    }
}

#[tokio::test]
async fn a_deprovision_with_an_unknown_outcome_counts_once_and_the_window_outlives_the_sync() {
    use lastpass_operator::simulator::{Fault, PendingFault};
    let acct = Account::start(knobs()).await;
    let everyone = desired(vec![
        desired_user("ann@example.com"),
        desired_user("bob@example.com"),
        desired_user("cat@example.com"),
    ]);
    acct.sync(&everyone, window_limits(2, SafeguardStatus::default()))
        .await;
    let counted = |r: &SafeguardStatus| r.window.iter().map(|e| e.deprovisions).sum::<i64>();

    // Ann's deluser is applied but the reply is lost: an unknown outcome. The re-read finds
    // her disabled, so nothing is resent; the window counts her all the same.
    acct.state().push_fault(PendingFault {
        fault: Fault::DropAfterApply,
        command: Some("deluser".into()),
    });
    let ann_gone = leaving(everyone, "ann@example.com", DeprovisionAction::Deactivate);
    let out = acct
        .sync(&ann_gone, window_limits(2, SafeguardStatus::default()))
        .await;
    assert_eq!(acct.calls("deluser").len(), 1);
    assert_eq!(
        counted(&out.safeguard.record),
        1,
        "an unknown outcome counts"
    );

    // Bob's deluser is lost before it is applied: re-read, re-planned, sent again; it counts
    // once, and the window carried over from the last sync still holds Ann.
    acct.state().push_fault(PendingFault {
        fault: Fault::DropBeforeApply,
        command: Some("deluser".into()),
    });
    let bob_gone = leaving(ann_gone, "bob@example.com", DeprovisionAction::Deactivate);
    let out = acct
        .sync(&bob_gone, window_limits(2, out.safeguard.record))
        .await;
    assert!(
        out.blocked.is_none(),
        "1 executed + 1 planned is within maxPerSync 2"
    );
    assert!(acct.disabled("bob@example.com"));
    assert_eq!(
        acct.calls("deluser").len(),
        3,
        "sent, lost, re-planned, sent"
    );
    assert_eq!(
        counted(&out.safeguard.record),
        2,
        "Bob's two sends count once"
    );

    // The window outlives the syncs: a third deletion goes over it.
    let cat_gone = leaving(bob_gone, "cat@example.com", DeprovisionAction::Deactivate);
    let out = acct
        .sync(&cat_gone, window_limits(2, out.safeguard.record))
        .await;
    let held = out.blocked.expect("2 executed + 1 planned > maxPerSync 2");
    assert_eq!(held.deprovisions, 1);
    assert!(!acct.disabled("cat@example.com"));
}

#[tokio::test]
async fn a_held_plan_still_invites_adds_and_enables() {
    let acct = Account::start(knobs()).await;
    let start = with_group(
        desired(vec![
            desired_user("ann@example.com").in_groups(&["Eng"]),
            desired_user("bob@example.com").suspended(),
        ]),
        "Eng",
        &[],
        GroupPolicy::Additive,
    );
    acct.sync(&start, window_limits(10, SafeguardStatus::default()))
        .await;
    // Ann leaves Eng (a removal), Cat is new, Bob is enabled again, Dan joins Eng.
    let next = desired(vec![
        desired_user("ann@example.com"),
        desired_user("bob@example.com"),
        desired_user("cat@example.com"),
        desired_user("dan@example.com").in_groups(&["Eng"]),
    ]);
    let guards = Guards {
        max_membership_removals: Some(0),
        ..window_limits(10, SafeguardStatus::default())
    };
    let out = acct.sync(&next, guards).await;
    let held = out
        .blocked
        .clone()
        .expect("a removal over maxMembershipRemovals 0");
    assert_eq!(held.membership_removals, 1);
    let store = acct.state().store();
    assert!(
        store
            .user("ann@example.com")
            .unwrap()
            .groups
            .contains("Eng"),
        "not removed"
    );
    assert!(store.user("cat@example.com").is_some(), "invited");
    assert!(
        store
            .user("dan@example.com")
            .unwrap()
            .groups
            .contains("Eng"),
        "added"
    );
    assert!(!store.user("bob@example.com").unwrap().disabled, "enabled");
    let r = statuses(&next, &out);
    assert_eq!(
        ready_of(&r, "ann@example.com"),
        ("False".into(), "DeprovisionBlocked".into()),
        "the user whose removal is held says so"
    );
    assert_eq!(ready_of(&r, "cat@example.com").0, "True");
}
