//! Engine scenarios: the account engine against the simulator over real HTTP, no Kubernetes.
//! Each scenario asserts what LastPass saw (the simulator's call log and account) and what the
//! statuses say.

mod support;

use lastpass_operator::crd::{DeprovisionAction, GroupPolicy, UnmanagedUsers, UserPhase};
use lastpass_operator::engine::guard::Guards;
use lastpass_operator::engine::plan::Policy;
use lastpass_operator::lastpass::ErrorClass;
use lastpass_operator::simulator::{ConsoleEdit, Fault, PendingFault, SeedUser};
use support::account::*;
use support::builders::*;

fn seed(username: &str, groups: &[&str]) -> SeedUser {
    SeedUser {
        username: username.into(),
        fullname: String::new(),
        groups: groups.iter().map(|g| g.to_string()).collect(),
        disabled: false,
        admin: false,
        active: true,
        multifactor: None,
    }
}

#[tokio::test]
async fn new_users_are_invited_in_one_batch_then_active_after_login() {
    let acct = Account::start(knobs()).await;
    let d = desired(vec![
        desired_user("ann@example.com")
            .named("Ann Lee")
            .in_groups(&["Engineering"]),
        desired_user("bob@example.com"),
        desired_user("cat@example.com").in_groups(&["Support"]),
    ]);
    let out = acct.sync(&d, budget(10)).await;
    assert!(out.succeeded(), "{:?}", out.error);
    assert_eq!(
        acct.calls("batchadd").len(),
        1,
        "one batchadd for three users"
    );
    let store = acct.state().store();
    let ann = store.user("ann@example.com").expect("ann invited");
    assert!(ann.neverloggedin);
    assert_eq!(ann.fullname, "Ann Lee");
    assert!(ann.groups.contains("Engineering"));

    let r = statuses(&d, &out);
    let st = &r.users[&rref("ann@example.com")];
    assert_eq!(st.phase, Some(UserPhase::Invited));
    assert_eq!(
        ready_of(&r, "ann@example.com"),
        ("True".into(), "Invited".into())
    );
    assert_eq!(st.lastpass_id.as_deref(), Some(ann.id.to_string().as_str()));
    assert_eq!(st.groups, ["Engineering"]);

    acct.state().login("ann@example.com");
    let out = acct.sync(&d, budget(10)).await;
    let r = statuses(&d, &out);
    let st = &r.users[&rref("ann@example.com")];
    assert_eq!(st.phase, Some(UserPhase::Active));
    assert!(st.last_login.is_some(), "last login reported");
}

/// LastPass writes times without a zone (US/Eastern by the best evidence): a login made just
/// now is reported as just now, whichever zone the account writes in, once the integration
/// names that zone.
#[tokio::test]
async fn a_login_made_just_now_is_reported_as_just_now_in_the_accounts_zone() {
    use lastpass_operator::engine::desire::Desire;
    use lastpass_operator::engine::report::report;
    use lastpass_operator::lastpass::LastPassZone;
    use lastpass_operator::simulator::TimestampZone;

    for (writes_in, configured) in [
        (TimestampZone::UsEastern, None),
        (TimestampZone::Utc, Some("UTC")),
    ] {
        let mut k = knobs();
        k.timestamp_zone = writes_in;
        let acct = Account::start(k).await;
        let d = desired(vec![desired_user("ann@example.com")]);
        acct.sync(&d, budget(10)).await;
        acct.state().login("ann@example.com");
        let out = acct.sync(&d, budget(10)).await;
        let now = jiff::Timestamp::now();
        let desire = Desire {
            desired: d.clone(),
            time_zone: LastPassZone::named(configured).unwrap(),
            ..Desire::default()
        };
        let r = report(
            &desire,
            &out,
            &k8s_openapi::apimachinery::pkg::apis::meta::v1::Time(now),
        );
        let seen = r.users[&rref("ann@example.com")]
            .last_login
            .clone()
            .unwrap()
            .0;
        let age = now.duration_since(seen).as_secs_f64();
        assert!(
            (0.0..60.0).contains(&age),
            "{writes_in:?}: a login made just now reads as {age} s old ({seen})"
        );
    }
}

#[tokio::test]
async fn name_changes_update_and_suspension_disables_then_enables() {
    let acct = Account::start(knobs()).await;
    let d = desired(vec![desired_user("ann@example.com").named("Ann Lee")]);
    acct.sync(&d, budget(10)).await;

    let renamed = desired(vec![desired_user("ann@example.com").named("Ann Lee-Roe")]);
    acct.sync(&renamed, budget(10)).await;
    assert_eq!(acct.calls("updateuser").len(), 1);
    assert_eq!(
        acct.state()
            .store()
            .user("ann@example.com")
            .unwrap()
            .fullname,
        "Ann Lee-Roe"
    );

    let suspended = desired(vec![
        desired_user("ann@example.com")
            .named("Ann Lee-Roe")
            .suspended(),
    ]);
    let out = acct.sync(&suspended, budget(10)).await;
    assert_eq!(acct.calls("disableuser").len(), 1);
    assert!(acct.disabled("ann@example.com"));
    let r = statuses(&suspended, &out);
    assert_eq!(
        r.users[&rref("ann@example.com")].phase,
        Some(UserPhase::Suspended)
    );
    assert_eq!(
        ready_of(&r, "ann@example.com").0,
        "True",
        "suspended and disabled is Ready"
    );

    acct.sync(&renamed, budget(10)).await;
    assert_eq!(acct.calls("enableuser").len(), 1);
    assert!(!acct.disabled("ann@example.com"));
}

#[tokio::test]
async fn authoritative_groups_remove_undeclared_members_and_additive_never_do() {
    let acct = Account::start(knobs()).await;
    acct.state()
        .seed(&[seed("zed@example.com", &["Eng", "Ops"])]);
    let base = desired(vec![desired_user("ann@example.com")]);
    let d = with_group(
        base.clone(),
        "Eng",
        &["ann@example.com"],
        GroupPolicy::Authoritative,
    );
    let d = with_group(d, "Ops", &["ann@example.com"], GroupPolicy::Additive);
    let out = acct.sync(&d, budget(10)).await;
    assert!(out.succeeded(), "{:?}", out.error);
    let store = acct.state().store();
    let zed = store.user("zed@example.com").unwrap();
    assert!(
        !zed.groups.contains("Eng"),
        "Authoritative removed the unmanaged member"
    );
    assert!(zed.groups.contains("Ops"), "Additive kept it");
    let ann = store.user("ann@example.com").unwrap();
    assert!(ann.groups.contains("Eng") && ann.groups.contains("Ops"));
    let r = statuses(&d, &out);
    let eng = r
        .groups
        .values()
        .find(|g| g.member_count == Some(1))
        .expect("Eng status");
    assert!(eng.missing_members.is_empty());
}

#[tokio::test]
async fn deleting_a_user_deactivates_it_by_default_and_then_releases_the_finalizer() {
    let acct = Account::start(knobs()).await;
    let d = desired(vec![
        desired_user("ann@example.com"),
        desired_user("bob@example.com"),
    ]);
    acct.sync(&d, budget(10)).await;
    let gone = leaving(d, "bob@example.com", DeprovisionAction::Deactivate);
    let out = acct.sync(&gone, budget(10)).await;
    let dels = acct.calls("deluser");
    assert_eq!(dels.len(), 1);
    assert_eq!(dels[0].targets, ["bob@example.com"]);
    assert!(acct.disabled("bob@example.com"), "deactivated, not deleted");
    let r = statuses(&gone, &out);
    assert_eq!(
        r.release,
        [rref("bob@example.com")],
        "finalizer may go once LastPass agrees"
    );
    let again = acct.sync(&gone, budget(10)).await;
    assert!(again.applied.is_empty());
    assert_eq!(acct.calls("deluser").len(), 1, "never deprovisioned twice");
}

#[tokio::test]
async fn delete_without_allow_delete_is_refused_with_a_clear_reason() {
    let acct = Account::start(knobs()).await;
    let d = desired(vec![desired_user("bob@example.com")]);
    acct.sync(&d, budget(10)).await;
    let gone = leaving(d, "bob@example.com", DeprovisionAction::Delete);
    let out = acct.sync(&gone, budget(10)).await;
    assert!(acct.calls("deluser").is_empty());
    let r = statuses(&gone, &out);
    let (status, reason) = ready_of(&r, "bob@example.com");
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "DeleteNotAllowed")
    );
    let st = &r.users[&rref("bob@example.com")];
    assert!(
        st.conditions[0]
            .message
            .contains("spec.sync.deprovision.allowDelete")
    );
    assert!(r.release.is_empty(), "the finalizer stays");
}

#[tokio::test]
async fn the_deletion_budget_blocks_everyone_until_that_exact_plan_is_approved() {
    let acct = Account::start(knobs()).await;
    let names = ["a@x.io", "b@x.io", "c@x.io", "d@x.io"];
    let all = desired(names.iter().map(|n| desired_user(n)).collect());
    acct.sync(&all, budget(10)).await;
    let mut d = all.clone();
    for n in &names[..3] {
        d = leaving(d, n, DeprovisionAction::Deactivate);
    }
    let out = acct.sync(&d, budget(2)).await;
    assert!(
        acct.calls("deluser").is_empty(),
        "over budget: nobody deprovisioned"
    );
    let blocked = out.blocked.clone().expect("blocked");
    assert_eq!(blocked.deprovisions, 3);
    let r = statuses(&d, &out);
    let cond = r
        .integration
        .conditions
        .iter()
        .find(|c| c.type_ == "DeprovisionBlocked")
        .unwrap();
    assert_eq!(cond.status, "True");
    assert!(cond.message.contains(&blocked.plan_id));

    // An approval of another plan id releases nothing.
    let wrong = Guards {
        approved_plan: Some("0000000000000000".into()),
        ..budget(2)
    };
    acct.sync(&d, wrong).await;
    assert!(acct.calls("deluser").is_empty());

    let approved = Guards {
        approved_plan: Some(blocked.plan_id.clone()),
        ..budget(2)
    };
    let out = acct.sync(&d, approved.clone()).await;
    assert_eq!(acct.calls("deluser").len(), 3);
    assert!(out.blocked.is_none());

    // A new, different over-budget set is blocked again despite the old approval.
    let mut more = desired(vec![
        desired_user("e@x.io"),
        desired_user("f@x.io"),
        desired_user("g@x.io"),
    ]);
    acct.sync(&more, budget(10)).await;
    for n in ["e@x.io", "f@x.io", "g@x.io"] {
        more = leaving(more, n, DeprovisionAction::Deactivate);
    }
    let out = acct.sync(&more, approved).await;
    assert_eq!(acct.calls("deluser").len(), 3);
    assert!(out.blocked.is_some());
}

#[tokio::test]
async fn a_dry_run_writes_nothing_and_reports_the_plan() {
    let acct = Account::start(knobs()).await;
    let d = desired(vec![
        desired_user("ann@example.com"),
        desired_user("bob@example.com").in_groups(&["Eng"]),
    ]);
    let out = acct
        .sync(
            &d,
            Guards {
                dry_run: true,
                ..budget(10)
            },
        )
        .await;
    assert!(
        acct.writes().is_empty(),
        "zero write calls: {:?}",
        acct.writes()
    );
    let r = statuses(&d, &out);
    let plan = r.integration.plan.as_ref().unwrap();
    assert_eq!(plan.creates, 2);
    assert_eq!(plan.sample.len(), 2);
    assert_eq!(ready_of(&r, "ann@example.com").1, "DryRun");
}

#[tokio::test]
async fn console_drift_is_detected_and_corrected_at_the_next_sync() {
    let acct = Account::start(knobs()).await;
    let d = desired(vec![
        desired_user("ann@example.com")
            .named("Ann Lee")
            .in_groups(&["Eng"]),
        desired_user("bob@example.com"),
    ]);
    acct.sync(&d, budget(10)).await;
    acct.state().clear_calls();
    acct.state().edit(
        "ann@example.com",
        &ConsoleEdit {
            fullname: Some("Annie".into()),
            remove_groups: vec!["Eng".into()],
            ..ConsoleEdit::default()
        },
    );
    acct.state().edit(
        "bob@example.com",
        &ConsoleEdit {
            disabled: Some(true),
            ..ConsoleEdit::default()
        },
    );
    let out = acct.sync(&d, budget(10)).await;
    assert_eq!(out.initial_plan.write_count(), 3, "{:?}", out.initial_plan);
    let store = acct.state().store();
    let ann = store.user("ann@example.com").unwrap();
    assert_eq!(ann.fullname, "Ann Lee");
    assert!(ann.groups.contains("Eng"));
    assert!(!store.user("bob@example.com").unwrap().disabled);
    assert_eq!(acct.calls("batchadd").len(), 0);
}

#[tokio::test]
async fn unmanaged_users_are_counted_under_report_and_left_alone() {
    let acct = Account::start(knobs()).await;
    acct.state()
        .seed(&[seed("zed@example.com", &[]), seed("yan@example.com", &[])]);
    let d = desired(vec![desired_user("ann@example.com")]);
    let out = acct.sync(&d, budget(10)).await;
    let r = statuses(&d, &out);
    // zed, yan and the account's admin: no resource declares them.
    assert_eq!(r.integration.counts.as_ref().unwrap().unmanaged, 3);
    assert_eq!(acct.calls("deluser").len(), 0);
    let ignore = Policy {
        unmanaged: UnmanagedUsers::Ignore,
        ..Policy::default()
    };
    let out = acct.sync_with(&d, ignore, budget(10)).await;
    assert_eq!(statuses(&d, &out).integration.counts.unwrap().unmanaged, 0);
}

#[tokio::test]
async fn a_connection_dropped_after_the_write_is_never_resent_blind() {
    let acct = Account::start(knobs()).await;
    acct.state().push_fault(PendingFault {
        fault: Fault::DropAfterApply,
        command: Some("batchadd".into()),
    });
    let d = desired(vec![
        desired_user("ann@example.com"),
        desired_user("bob@example.com"),
    ]);
    let out = acct.sync(&d, budget(10)).await;
    assert!(out.error.is_none(), "{:?}", out.error);
    assert_eq!(
        acct.calls("batchadd").len(),
        1,
        "the lost batchadd was not resent"
    );
    assert!(
        out.observations >= 2,
        "re-observed after the unknown outcome"
    );
    assert_eq!(acct.people(), 2);
    let r = statuses(&d, &out);
    assert_eq!(ready_of(&r, "bob@example.com").0, "True");
}

#[tokio::test]
async fn a_restart_between_a_write_and_its_status_does_nothing_twice() {
    let acct = Account::start(knobs()).await;
    let d = desired(vec![desired_user("ann@example.com")]);
    acct.sync(&d, budget(10)).await;
    let gone = leaving(d, "ann@example.com", DeprovisionAction::RemoveFromCompany);
    acct.sync(&gone, budget(10)).await;
    // A new process: a fresh client, no memory of what was done.
    let fresh = lastpass_operator::lastpass::Client::new(config(&acct.sim.url, PROVHASH)).unwrap();
    let input = lastpass_operator::engine::converge::ConvergeInput {
        desired: gone.clone(),
        guards: budget(10),
        ..Default::default()
    };
    let out = lastpass_operator::engine::converge::converge(&fresh, &input).await;
    assert!(out.applied.is_empty());
    assert_eq!(acct.calls("batchadd").len(), 1);
    assert_eq!(acct.calls("deluser").len(), 1);
    assert_eq!(statuses(&gone, &out).release, [rref("ann@example.com")]);
}

#[tokio::test]
async fn a_429_storm_converges() {
    let acct = Account::start(knobs().throttle_every(2, None)).await;
    let d = desired(
        (0..30)
            .map(|i| desired_user(&format!("u{i}@x.io")).in_groups(&["G"]))
            .collect(),
    );
    let out = acct.sync(&d, budget(10)).await;
    assert!(out.succeeded(), "{:?}", out.error);
    assert_eq!(acct.people(), 30);
    let throttled = acct
        .state()
        .calls()
        .iter()
        .filter(|c| format!("{:?}", c.outcome) == "Throttled")
        .count();
    assert!(throttled > 0, "the storm happened");
}

#[tokio::test]
async fn a_steady_resync_only_reads() {
    let acct = Account::start(knobs()).await;
    let d = with_group(
        desired(vec![
            desired_user("ann@example.com")
                .named("Ann")
                .in_groups(&["Eng"]),
            desired_user("bob@example.com").suspended(),
        ]),
        "Ops",
        &["bob@example.com"],
        GroupPolicy::Authoritative,
    );
    acct.sync(&d, budget(10)).await;
    acct.state().clear_calls();
    let out = acct.sync(&d, budget(10)).await;
    assert!(acct.writes().is_empty(), "{:?}", acct.writes());
    assert_eq!(out.observations, 1);
}

#[tokio::test]
async fn a_burst_of_1000_users_takes_a_handful_of_batchadd_calls() {
    let acct = Account::start(knobs()).await;
    let mut config = config(&acct.sim.url, PROVHASH);
    config.max_batch = 250;
    let client = lastpass_operator::lastpass::Client::new(config).unwrap();
    let d = desired(
        (0..1000)
            .map(|i| desired_user(&format!("user{i:04}@example.com")).in_groups(&["Staff"]))
            .collect(),
    );
    let started = std::time::Instant::now();
    let input = lastpass_operator::engine::converge::ConvergeInput {
        desired: d,
        guards: budget(10),
        ..Default::default()
    };
    let out = lastpass_operator::engine::converge::converge(&client, &input).await;
    assert!(out.succeeded(), "{:?}", out.error);
    let adds = acct.calls("batchadd").len();
    assert!(adds <= 5, "{adds} batchadd calls");
    assert_eq!(acct.people(), 1000);
    assert!(
        acct.calls("batchchangegrp").is_empty(),
        "groups went with batchadd"
    );
    eprintln!(
        "1000 users: {} calls ({} batchadd, {} getuserdata) in {:?}",
        acct.state().calls().len(),
        adds,
        acct.calls("getuserdata").len(),
        started.elapsed()
    );
}

#[tokio::test]
async fn when_seats_run_out_the_rest_stay_pending_with_the_reason() {
    // Three seats: the account's admin holds one.
    let acct = Account::start(knobs().seat_limit(3)).await;
    let d = desired(vec![
        desired_user("a@x.io"),
        desired_user("b@x.io"),
        desired_user("c@x.io"),
        desired_user("d@x.io"),
    ]);
    let out = acct.sync(&d, budget(10)).await;
    assert!(out.seats_exhausted);
    assert_eq!(acct.people(), 2);
    let r = statuses(&d, &out);
    let pending: Vec<_> = r
        .users
        .values()
        .filter(|s| s.phase == Some(UserPhase::Pending))
        .collect();
    assert_eq!(pending.len(), 2);
    assert!(
        pending
            .iter()
            .all(|s| s.conditions[0].reason == "SeatsExhausted")
    );
    let cond = r
        .integration
        .conditions
        .iter()
        .find(|c| c.type_ == "SeatsExhausted")
        .unwrap();
    assert_eq!(cond.status, "True");
    assert_eq!(
        acct.calls("batchadd").len(),
        1,
        "the refused users are not retried within the sync"
    );
}

#[tokio::test]
async fn bad_credentials_stop_the_sync_with_credentials_invalid() {
    let acct = Account::start(knobs()).await;
    let client = lastpass_operator::lastpass::Client::new(config(&acct.sim.url, "wrong")).unwrap();
    let input = lastpass_operator::engine::converge::ConvergeInput {
        desired: desired(vec![desired_user("ann@example.com")]),
        ..Default::default()
    };
    let out = lastpass_operator::engine::converge::converge(&client, &input).await;
    assert_eq!(
        out.error.as_ref().map(|e| e.class()),
        Some(ErrorClass::Auth)
    );
    let r = statuses(&input.desired, &out);
    let cond = r
        .integration
        .conditions
        .iter()
        .find(|c| c.type_ == "CredentialsValid")
        .unwrap();
    assert_eq!(
        (cond.status.as_str(), cond.reason.as_str()),
        ("False", "CredentialsInvalid")
    );
    assert!(!cond.message.contains("wrong"));
    assert_eq!(acct.state().calls().len(), 1, "no retry of an auth error");
}

#[tokio::test]
async fn changed_attributes_are_sent_again_once_and_remembered() {
    use lastpass_operator::engine::model::attributes_digest;
    let acct = Account::start(knobs()).await;
    let mut ann = desired_user("ann@example.com").named("Ann Lee");
    ann.attributes = [("department".to_string(), "R&D".to_string())].into();
    let d = desired(vec![ann.clone()]);
    let out = acct.sync(&d, budget(10)).await;
    assert_eq!(
        acct.calls("batchadd").len(),
        1,
        "created with its attributes, not sent twice"
    );
    let r = statuses(&d, &out);
    let sent = r.users[&rref("ann@example.com")].attributes_hash.clone();
    assert_eq!(sent, Some(attributes_digest(&ann.attributes)));

    // The next sync knows what was sent (from status): nothing to do.
    ann.attributes_sent = sent;
    acct.state().clear_calls();
    acct.sync(&desired(vec![ann.clone()]), budget(10)).await;
    assert!(acct.writes().is_empty(), "{:?}", acct.writes());

    // A changed attribute goes out with one batchadd for the existing user.
    ann.attributes.insert("department".into(), "Sales".into());
    let d = desired(vec![ann.clone()]);
    let out = acct.sync(&d, budget(10)).await;
    assert_eq!(acct.calls("batchadd").len(), 1);
    let store = acct.state().store();
    let stored = store.user("ann@example.com").unwrap();
    assert_eq!(
        stored.attribs.get("department").map(String::as_str),
        Some("Sales")
    );
    assert_eq!(acct.people(), 1, "no second account");
    let r = statuses(&d, &out);
    assert_eq!(
        r.users[&rref("ann@example.com")].attributes_hash,
        Some(attributes_digest(&ann.attributes))
    );
}

#[tokio::test]
async fn two_accounts_stay_isolated_when_one_is_throttled() {
    let storm = Account::start(knobs().throttle_every(2, None)).await;
    let calm = Account::start(knobs()).await;
    let a = desired(
        (0..20)
            .map(|i| desired_user(&format!("a{i}@x.io")))
            .collect(),
    );
    let b = desired(
        (0..20)
            .map(|i| desired_user(&format!("b{i}@y.io")))
            .collect(),
    );
    let (out_a, out_b) = tokio::join!(storm.sync(&a, budget(10)), calm.sync(&b, budget(10)));
    assert!(out_a.succeeded() && out_b.succeeded());
    let a_users = storm.people_names();
    let b_users = calm.people_names();
    assert!(a_users.iter().all(|u| u.ends_with("@x.io")) && a_users.len() == 20);
    assert!(b_users.iter().all(|u| u.ends_with("@y.io")) && b_users.len() == 20);
    let calm_throttled = calm
        .state()
        .calls()
        .iter()
        .filter(|c| format!("{:?}", c.outcome) == "Throttled")
        .count();
    assert_eq!(calm_throttled, 0, "the calm account never saw the storm");
    assert_eq!(calm.state().calls().len(), 3, "observe, batchadd, observe");
}

#[tokio::test]
async fn a_status_the_resource_already_shows_is_not_built_again() {
    use lastpass_operator::engine::model::{ShownStatus, user_key};
    use lastpass_operator::status::writer::digest_for;
    let acct = Account::start(knobs()).await;
    let mut d = desired(vec![
        desired_user("ann@example.com").in_groups(&["Eng"]),
        desired_user("bob@example.com"),
    ]);
    let out = acct.sync(&d, budget(10)).await;
    let first = statuses(&d, &out);
    assert_eq!(first.users.len(), 2);
    // The resources now show what the first sync reported, for their generation 1.
    for u in d.users.values_mut() {
        let status = &first.users[&u.resource];
        u.shown = Some(ShownStatus {
            digest: digest_for(status, Some(1)),
            generation: 1,
        });
    }
    let out = acct.sync(&d, budget(10)).await;
    let steady = statuses(&d, &out);
    assert!(steady.users.is_empty(), "{:?}", steady.users.keys());
    assert_eq!(
        steady.phases.get(&UserPhase::Invited),
        Some(&2),
        "every user counted all the same"
    );

    // Ann logs in: only her status is built; bob's still is not.
    acct.state().login("ann@example.com");
    let out = acct.sync(&d, budget(10)).await;
    let r = statuses(&d, &out);
    assert_eq!(
        r.users.keys().collect::<Vec<_>>(),
        [&rref("ann@example.com")]
    );
    assert_eq!(
        r.users[&rref("ann@example.com")].phase,
        Some(UserPhase::Active)
    );
    assert_eq!(r.phases.get(&UserPhase::Invited), Some(&1));
    assert_eq!(r.phases.get(&UserPhase::Active), Some(&1));

    // A status shown for another generation is built: observedGeneration must move.
    let bob = d.users.get_mut(&user_key("bob@example.com")).unwrap();
    bob.shown = bob.shown.map(|s| ShownStatus { generation: 2, ..s });
    let out = acct.sync(&d, budget(10)).await;
    assert!(
        statuses(&d, &out)
            .users
            .contains_key(&rref("bob@example.com"))
    );

    // Bob's suspension, held by the safeguard: everything else about him is as shown, but the
    // hold is news, so his status is built and says so.
    let bob = d.users.get_mut(&user_key("bob@example.com")).unwrap();
    bob.shown = bob.shown.map(|s| ShownStatus { generation: 1, ..s });
    bob.suspended = true;
    let out = acct.sync(&d, budget(0)).await;
    assert!(out.blocked.is_some(), "the suspension is held");
    let r = statuses(&d, &out);
    assert_eq!(
        ready_of(&r, "bob@example.com"),
        ("False".into(), "DeprovisionBlocked".into())
    );

    // A person rejects it: LastPass keeps bob as he was, and so would his status but for the
    // rejection, which is news and is shown.
    let held = r.integration.held.clone().expect("status.held");
    let mut guards = budget(0);
    guards.rejected_plan = Some(held.plan_id.clone());
    guards.held = Some(held);
    guards.generations = [(rref("bob@example.com"), 1)].into();
    let out = acct.sync(&d, guards).await;
    let r = statuses(&d, &out);
    let synced = r.users.get(&rref("bob@example.com")).and_then(|s| {
        let c = s.conditions.iter().find(|c| c.type_ == "Synced")?;
        Some((c.status.clone(), c.reason.clone()))
    });
    assert_eq!(synced, Some(("False".into(), "PlanRejected".into())));
}
