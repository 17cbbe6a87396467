//! The real controllers on the real API server, with the simulator as LastPass: finalizers,
//! status, Events, annotations, the Secret watch, restarts.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use lastpass_operator::crd::{DirectoryIntegration, LastPassGroup, LastPassUser, UserPhase};
use lastpass_operator::simulator::Knobs;
use serde_json::json;
use support::account::{PROVHASH, count_calls, in_group, simulator};
use support::builders::{group, user};
use support::operator::*;
use support::wait_for;

/// Waits until the simulator has answered `n` whole-account reads in all.
async fn wait_whole_reads(sim: &lastpass_operator::simulator::RunningSimulator, n: u64) {
    let reached = wait_for(Duration::from_secs(30), || async {
        (sim.state.read_counts().whole >= n).then_some(())
    })
    .await;
    assert!(
        reached.is_some(),
        "the operator never read the account {n} times: {:?}",
        sim.state.read_counts()
    );
}

/// Proves the operator looked again before a test asserts that nothing happened: two resyncs,
/// each asked for after a whole-account read was answered. Syncs of one account run one after
/// another, so once the second read is in, every write of the sync before it has been made.
async fn settle(ns: &support::TestNamespace, sim: &lastpass_operator::simulator::RunningSimulator) {
    for _ in 0..2 {
        let reads = sim.state.read_counts().whole;
        resync(ns, &format!("settle-{reads}")).await;
        wait_whole_reads(sim, reads + 1).await;
    }
}

#[tokio::test]
async fn users_are_invited_become_active_and_get_events() {
    let Some((ns, sim, op)) = account_with_operator(json!({})).await else {
        return;
    };
    create_user(
        &ns,
        &user(
            "jane",
            "jane@example.com",
            json!({"fullName": "Jane Doe", "groups": ["Eng"]}),
        ),
    )
    .await;
    create_user(&ns, &user("raj", "raj@example.com", json!({}))).await;
    let jane = wait_invited(&ns, "jane").await;
    let st = jane.status.clone().unwrap();
    assert!(st.lastpass_id.is_some());
    assert_eq!(st.groups, ["Eng"]);
    assert_eq!(st.observed_generation, jane.metadata.generation);
    assert!(
        jane.metadata
            .finalizers
            .unwrap_or_default()
            .contains(&"lastpass-operator.io/deprovision".to_string())
    );
    wait_invited(&ns, "raj").await;
    assert_eq!(
        count_calls(&sim.state, "batchadd"),
        1,
        "both users in one debounced batchadd"
    );

    sim.state.login("jane@example.com");
    resync(&ns, "1").await;
    let jane = wait_user(&ns, "jane", 30, |u| is(u, UserPhase::Active, "True")).await;
    assert!(jane.status.unwrap().last_login.is_some());

    assert!(
        !event_notes(&ns, "Invited", Some("jane")).await.is_empty(),
        "an Invited event on jane"
    );
    let i = wait_integration(&ns, 10, "the expected status", |i| {
        condition(i, "Ready").is_some_and(|c| c.0 == "True")
    })
    .await;
    assert_eq!(i.status.unwrap().counts.unwrap().managed, 2);
    op.stop().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn a_steady_resync_writes_nothing_anywhere() {
    // Resyncs are asked for with the resync annotation: an interval under 1m is refused
    // (InvalidSpec), also on servers without CEL.
    let Some((ns, sim, op)) = account_with_operator(json!({})).await else {
        return;
    };
    let before = invite(&ns, "jane", "jane@example.com", json!({"groups": ["Eng"]})).await;
    // An invited user with a generated password: its status names the password's Secret.
    invite(
        &ns,
        "kiosk",
        "kiosk@example.com",
        json!({"initialPassword": "Generate"}),
    )
    .await;
    // Settled: the last plan (kept in status) is the empty one of a resync.
    resync(&ns, "settle").await;
    wait_integration(&ns, 10, "the expected status", |i| {
        i.status
            .as_ref()
            .and_then(|s| s.plan.as_ref())
            .is_some_and(|p| p.creates == 0)
    })
    .await;
    tokio::time::sleep(Duration::from_secs(1)).await;
    let integration_before = ns.api::<DirectoryIntegration>().get("acme").await.unwrap();
    let kiosk_before = ns.api::<LastPassUser>().get("kiosk").await.unwrap();
    let reads_before = count_calls(&sim.state, "getuserdata");
    let calls_before = sim.state.calls().len();
    // From here on a status write would carry a later lastSyncTime (one-second resolution).
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Three resyncs, one after the other: the account task is sequential, so the read of the
    // third proves the first two finished, status writes included.
    for n in 1..=3 {
        resync(&ns, &format!("steady-{n}")).await;
        let read = wait_for(Duration::from_secs(20), || async {
            (count_calls(&sim.state, "getuserdata") >= reads_before + n).then_some(())
        })
        .await;
        assert!(read.is_some(), "resync {n} did not read the account");
    }
    let after = ns.api::<LastPassUser>().get("jane").await.unwrap();
    let integration_after = ns.api::<DirectoryIntegration>().get("acme").await.unwrap();
    let new_calls: Vec<_> = sim
        .state
        .calls()
        .into_iter()
        .skip(calls_before)
        .filter(|c| c.command != "getuserdata")
        .collect();
    assert!(new_calls.is_empty(), "only reads: {new_calls:?}");
    assert_eq!(
        after.metadata.resource_version, before.metadata.resource_version,
        "no user status write"
    );
    let kiosk_after = ns.api::<LastPassUser>().get("kiosk").await.unwrap();
    assert_eq!(
        kiosk_after.metadata.resource_version, kiosk_before.metadata.resource_version,
        "no status write of the user with a generated password: {:?}",
        kiosk_after.status
    );
    // (The resync annotation itself changes the integration's resourceVersion: compare the
    // status, whose lastSyncTime any write would have moved.)
    assert_eq!(
        integration_after.status, integration_before.status,
        "no integration status write"
    );
    op.stop().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn deleting_a_user_deactivates_it_and_releases_the_finalizer() {
    let Some((ns, sim, op)) = account_with_operator(json!({})).await else {
        return;
    };
    create_user(&ns, &user("jane", "jane@example.com", json!({}))).await;
    create_user(
        &ns,
        &user(
            "bob",
            "bob@example.com",
            json!({"deprovisionAction": "Delete"}),
        ),
    )
    .await;
    wait_invited(&ns, "jane").await;
    wait_invited(&ns, "bob").await;
    let api = ns.api::<LastPassUser>();
    api.delete("jane", &DeleteParams::default()).await.unwrap();
    api.delete("bob", &DeleteParams::default()).await.unwrap();
    let gone = wait_for(Duration::from_secs(30), || async {
        api.get_opt("jane").await.ok()?.is_none().then_some(())
    })
    .await;
    assert!(gone.is_some(), "jane's finalizer released");
    let store = sim.state.store();
    assert!(
        store.user("jane@example.com").unwrap().disabled,
        "Deactivate: disabled, kept"
    );
    // Delete without allowDelete: refused, finalizer stays.
    let bob = wait_user(&ns, "bob", 30, |u| {
        ready(u).is_some_and(|r| r.1 == "DeleteNotAllowed")
    })
    .await;
    assert!(ready(&bob).unwrap().2.contains("allowDelete"));
    assert!(bob.metadata.deletion_timestamp.is_some());
    assert!(!sim.state.store().user("bob@example.com").unwrap().disabled);
    assert_eq!(count_calls(&sim.state, "deluser"), 1);
    op.stop().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn missing_integrations_and_conflicts_are_reported_without_lastpass_calls() {
    let Some((ns, sim, op)) = account_with_operator(json!({})).await else {
        return;
    };
    let mut orphan = user("orphan", "orphan@example.com", json!({}));
    orphan.spec.integration_ref.name = "nope".into();
    create_user(&ns, &orphan).await;
    let orphan = wait_user(&ns, "orphan", 30, |u| ready(u).is_some()).await;
    assert_eq!(ready(&orphan).unwrap().1, "IntegrationNotFound");

    invite(&ns, "first", "same@example.com", json!({})).await;
    create_user(&ns, &user("second", "SAME@example.com", json!({}))).await;
    let second = wait_user(&ns, "second", 30, |u| ready(u).is_some()).await;
    let (status, reason, message) = ready(&second).unwrap();
    assert_eq!(
        (status.as_str(), reason.as_str()),
        ("False", "UsernameConflict")
    );
    assert!(message.contains("first"), "{message}");
    let targets: Vec<String> = sim
        .state
        .calls()
        .into_iter()
        .filter(|c| c.command == "batchadd")
        .flat_map(|c| c.targets)
        .collect();
    assert_eq!(
        targets,
        ["same@example.com"],
        "no duplicate invitation, nothing for the orphan"
    );
    op.stop().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn the_deletion_budget_blocks_until_the_plan_is_approved() {
    let Some((ns, sim, op)) =
        account_with_operator(json!({"deprovision": {"maxPerSync": 1}})).await
    else {
        return;
    };
    for n in ["a", "b", "c"] {
        create_user(&ns, &user(n, &format!("{n}@example.com"), json!({}))).await;
    }
    for n in ["a", "b", "c"] {
        wait_invited(&ns, n).await;
    }
    let api = ns.api::<LastPassUser>();
    api.delete("a", &DeleteParams::default()).await.unwrap();
    api.delete("b", &DeleteParams::default()).await.unwrap();
    let i = wait_condition(&ns, "DeprovisionBlocked", "True").await;
    let plan_id = i.status.as_ref().unwrap().plan.as_ref().unwrap().id.clone();
    assert!(
        condition(&i, "DeprovisionBlocked")
            .unwrap()
            .2
            .contains(&plan_id)
    );
    assert_eq!(
        count_calls(&sim.state, "deluser"),
        0,
        "nobody deprovisioned"
    );
    let a = wait_user(&ns, "a", 10, |u| {
        ready(u).is_some_and(|r| r.1 == "DeprovisionBlocked")
    })
    .await;
    assert_eq!(a.status.unwrap().phase, Some(UserPhase::Deprovisioning));

    annotate(&ns, "lastpass-operator.io/approve-plan", "not-this-plan").await;
    settle(&ns, &sim).await;
    assert_eq!(
        count_calls(&sim.state, "deluser"),
        0,
        "a different id releases nothing"
    );

    annotate(&ns, "lastpass-operator.io/approve-plan", &plan_id).await;
    let gone = wait_for(Duration::from_secs(30), || async {
        (api.get_opt("a").await.ok()?.is_none() && api.get_opt("b").await.ok()?.is_none())
            .then_some(())
    })
    .await;
    assert!(gone.is_some(), "approved plan deprovisioned both");
    assert_eq!(count_calls(&sim.state, "deluser"), 2);
    wait_condition(&ns, "DeprovisionBlocked", "False").await;
    op.stop().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn a_dry_run_plans_in_status_and_events_and_writes_nothing() {
    let Some((ns, sim, op)) = account_with_operator(json!({"dryRun": true})).await else {
        return;
    };
    create_user(&ns, &user("jane", "jane@example.com", json!({}))).await;
    create_user(&ns, &user("raj", "raj@example.com", json!({}))).await;
    let i = wait_integration(&ns, 30, "the expected status", |i| {
        i.status
            .as_ref()
            .and_then(|s| s.plan.as_ref())
            .is_some_and(|p| p.creates == 2)
    })
    .await;
    assert_eq!(condition(&i, "Ready").unwrap().1, "DryRun");
    assert!(
        sim.state.calls().iter().all(|c| c.command == "getuserdata"),
        "zero writes"
    );
    let jane = wait_user(&ns, "jane", 10, |u| ready(u).is_some()).await;
    assert_eq!(ready(&jane).unwrap().1, "DryRun");
    assert!(
        events(&ns)
            .await
            .iter()
            .any(|e| e.reason.as_deref() == Some("DryRunPlan"))
    );
    op.stop().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn invalid_credentials_are_reported_and_fixing_the_secret_recovers() {
    let Some((_, ns, sim)) = account(json!({})).await else {
        return;
    };
    let bad = json!({"stringData": {"provhash": "wrong"}});
    ns.api::<Secret>()
        .patch("lastpass-api", &PatchParams::default(), &Patch::Merge(&bad))
        .await
        .unwrap();
    let op = Operator::start(&ns);
    create_user(&ns, &user("jane", "jane@example.com", json!({}))).await;
    let i = wait_condition(&ns, "CredentialsValid", "False").await;
    let (_, reason, message) = condition(&i, "CredentialsValid").unwrap();
    assert_eq!(reason, "CredentialsInvalid");
    assert!(!message.contains("wrong") && !message.contains(PROVHASH));
    // It provably tries again, and backs off: the gaps between refused calls are at least the
    // minimum backoff (500 ms in these tests) and grow. The first refusal may come before the
    // wake of jane's creation (a new resource wakes the account at once, backoff or not), so the
    // gaps are counted from the second.
    let refused = wait_for(Duration::from_secs(30), || async {
        let at: Vec<jiff::Timestamp> = sim
            .state
            .calls()
            .iter()
            .filter(|c| c.outcome == lastpass_operator::simulator::Outcome::AuthError)
            .map(|c| c.at)
            .collect();
        (at.len() >= 5).then_some(at)
    })
    .await
    .expect("the operator retries with the refused Secret");
    let gaps: Vec<Duration> = refused[1..]
        .windows(2)
        .map(|w| Duration::try_from(w[1].duration_since(w[0])).unwrap())
        .collect();
    assert!(
        gaps.iter().all(|g| *g >= Duration::from_millis(400)),
        "backs off, no hot loop: {gaps:?}"
    );
    assert!(gaps[2] > gaps[0], "the backoff grows: {gaps:?}");

    let good = json!({"stringData": {"provhash": PROVHASH}});
    ns.api::<Secret>()
        .patch(
            "lastpass-api",
            &PatchParams::default(),
            &Patch::Merge(&good),
        )
        .await
        .unwrap();
    wait_invited(&ns, "jane").await;
    wait_condition(&ns, "CredentialsValid", "True").await;
    op.stop().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn generated_initial_passwords_live_in_an_owned_secret_until_first_login() {
    let Some((ns, sim, op)) = account_with_operator(json!({})).await else {
        return;
    };
    let kiosk = invite(
        &ns,
        "kiosk",
        "kiosk@example.com",
        json!({"initialPassword": "Generate"}),
    )
    .await;
    assert_eq!(
        kiosk.status.unwrap().initial_password_secret.as_deref(),
        Some("kiosk-initial-password")
    );
    let secrets = ns.api::<Secret>();
    let secret = secrets
        .get("kiosk-initial-password")
        .await
        .expect("secret exists");
    let password = String::from_utf8(secret.data.unwrap()["password"].0.clone()).unwrap();
    assert!(password.len() >= 20);
    assert_eq!(secret.metadata.owner_references.unwrap()[0].name, "kiosk");
    let sim_user = sim
        .state
        .store()
        .user("kiosk@example.com")
        .cloned()
        .unwrap();
    assert!(sim_user.password_reset_required);

    sim.state.login("kiosk@example.com");
    resync(&ns, "after-login").await;
    let deleted = wait_for(Duration::from_secs(30), || async {
        secrets
            .get_opt("kiosk-initial-password")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    assert!(deleted.is_some(), "secret removed after first login");
    op.stop().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn a_restarted_operator_repeats_nothing() {
    let Some((ns, sim, op)) = account_with_operator(json!({})).await else {
        return;
    };
    invite(&ns, "jane", "jane@example.com", json!({"groups": ["Eng"]})).await;
    op.stop().await;
    let reads = sim.state.read_counts().whole;
    let op = Operator::start(&ns);
    // The new process provably read the account, then synced twice more.
    wait_whole_reads(&sim, reads + 1).await;
    settle(&ns, &sim).await;
    assert_eq!(count_calls(&sim.state, "batchadd"), 1);
    assert_eq!(count_calls(&sim.state, "batchchangegrp"), 0);
    op.stop().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn groups_by_selector_and_deleting_an_authoritative_group_removes_its_members() {
    let Some((ns, sim, op)) = account_with_operator(json!({})).await else {
        return;
    };
    let mut jane = user("jane", "jane@example.com", json!({}));
    jane.metadata.labels = Some([("team".to_string(), "eng".to_string())].into());
    create_user(&ns, &jane).await;
    let group = group(
        "eng",
        "Engineering",
        json!({"memberSelector": {"matchLabels": {"team": "eng"}}}),
    );
    let groups = ns.api::<LastPassGroup>();
    groups.create(&PostParams::default(), &group).await.unwrap();
    let ok = wait_for(Duration::from_secs(30), || async {
        let g = groups.get("eng").await.ok()?;
        (g.status?.member_count == Some(1)).then_some(())
    })
    .await;
    assert!(ok.is_some(), "group status counts jane");
    assert!(in_group(&sim.state, "jane@example.com", "Engineering"));
    groups
        .delete("eng", &DeleteParams::default())
        .await
        .unwrap();
    let gone = wait_for(Duration::from_secs(30), || async {
        groups.get_opt("eng").await.ok()?.is_none().then_some(())
    })
    .await;
    assert!(gone.is_some(), "group finalizer released");
    assert!(!in_group(&sim.state, "jane@example.com", "Engineering"));
    op.stop().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn unmanaged_users_are_reported_then_adopted_without_lastpass_writes() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let ns = cluster.namespace().await;
    let sim = simulator(Knobs::default()).await;
    sim.state.seed(&[lastpass_operator::simulator::SeedUser {
        username: "console.made@example.com".into(),
        fullname: "Console Made".into(),
        groups: vec!["Board".into()],
        disabled: false,
        admin: false,
        active: true,
        multifactor: None,
    }]);
    create_integration(&ns, &sim, json!({"unmanagedUsers": "Report"})).await;
    let op = Operator::start(&ns);
    let i = wait_integration(&ns, 30, "the expected status", |i| {
        !i.status
            .as_ref()
            .map(|s| s.unmanaged_sample.is_empty())
            .unwrap_or(true)
    })
    .await;
    let st = i.status.unwrap();
    // The account's admin is unmanaged too: no resource declares it.
    assert_eq!(
        st.unmanaged_sample,
        [
            lastpass_operator::simulator::DEFAULT_ADMIN,
            "console.made@example.com"
        ]
    );
    assert_eq!(st.counts.unwrap().unmanaged, 2);
    assert!(
        ns.api::<LastPassUser>()
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
            .is_empty(),
        "Report adopts nobody"
    );

    let adopt = json!({"spec": {"sync": {"unmanagedUsers": "Adopt"}}});
    ns.api::<DirectoryIntegration>()
        .patch("acme", &PatchParams::default(), &Patch::Merge(&adopt))
        .await
        .unwrap();
    let users = ns.api::<LastPassUser>();
    let adopted = wait_for(Duration::from_secs(30), || async {
        users
            .list(&ListParams::default().labels("lastpass-operator.io/source=adopted"))
            .await
            .ok()?
            .items
            .into_iter()
            .next()
    })
    .await
    .expect("an adopted LastPassUser");
    assert_eq!(adopted.spec.username, "console.made@example.com");
    assert_eq!(adopted.spec.groups, ["Board"]);
    // The same pass over the unmanaged users (the admin comes first) adopted nobody else:
    // never the admin, whose deletion would deactivate the account's own admin.
    let all = users.list(&ListParams::default()).await.unwrap().items;
    assert_eq!(
        all.iter()
            .map(|u| u.spec.username.as_str())
            .collect::<Vec<_>>(),
        ["console.made@example.com"],
        "the admin is never adopted"
    );
    let name = adopted.metadata.name.clone().unwrap();
    wait_user(&ns, &name, 30, |u| is(u, UserPhase::Active, "True")).await;
    assert!(
        sim.state.calls().iter().all(|c| c.command == "getuserdata"),
        "adopting writes nothing to LastPass"
    );
    op.stop().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn name_attribute_and_suspension_changes_reach_lastpass_once() {
    let Some((ns, sim, op)) = account_with_operator(json!({})).await else {
        return;
    };
    let raj = invite(
        &ns,
        "raj",
        "raj@example.com",
        json!({"fullName": "Raj", "attributes": {"department": "R&D"}}),
    )
    .await;
    let first_hash = raj
        .status
        .unwrap()
        .attributes_hash
        .expect("attributes recorded");
    let patch = json!({"spec": {"fullName": "Raj Patel", "attributes": {"department": "Sales"}, "suspended": true}});
    ns.api::<LastPassUser>()
        .patch("raj", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .unwrap();
    let raj = wait_user(&ns, "raj", 30, |u| {
        is(u, UserPhase::Suspended, "True")
            && u.status.as_ref().and_then(|s| s.attributes_hash.clone()) != Some(first_hash.clone())
    })
    .await;
    assert_eq!(
        raj.status.unwrap().observed_generation,
        raj.metadata.generation
    );
    let store = sim.state.store();
    let stored = store.user("raj@example.com").unwrap();
    assert_eq!(stored.fullname, "Raj Patel");
    assert!(stored.disabled);
    assert_eq!(
        stored.attribs.get("department").map(String::as_str),
        Some("Sales")
    );
    settle(&ns, &sim).await;
    assert_eq!(
        count_calls(&sim.state, "batchadd"),
        2,
        "create, then one attribute update"
    );
    assert_eq!(count_calls(&sim.state, "updateuser"), 1);
    assert_eq!(count_calls(&sim.state, "disableuser"), 1);
    op.stop().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn the_integration_controller_mints_the_scim_token() {
    let Some((_, ns, _sim)) = account(json!({})).await else {
        return;
    };
    let scim = json!({"spec": {"scim": {"enabled": true, "tokenRotation": {"every": "720h", "overlap": "24h"}}}});
    ns.api::<DirectoryIntegration>()
        .patch("acme", &PatchParams::default(), &Patch::Merge(&scim))
        .await
        .unwrap();
    let op = Operator::start(&ns);
    let i = wait_condition(&ns, "TokenReady", "True").await;
    let st = i.status.unwrap().scim.expect("status.scim");
    assert_eq!(st.token_secret_name.as_deref(), Some("acme-scim-token"));
    let secret = ns
        .api::<Secret>()
        .get("acme-scim-token")
        .await
        .expect("token Secret");
    assert!(secret.data.unwrap().contains_key("token"));
    // The engine's own conditions live beside the token manager's.
    let i = wait_integration(&ns, 30, "the expected status", |i| {
        condition(i, "Ready").is_some()
    })
    .await;
    assert!(condition(&i, "TokenReady").is_some());
    op.stop().await;
    ns.cleanup().await;
}
