//! Tenant isolation on the real API server (v1.20, CRDs without CEL), with the real controllers
//! and the simulator as LastPass: no namespace reaches another's users, groups or Secrets, and
//! the contract the CRDs state in CEL holds without CEL.

mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{DeleteParams, Patch, PatchParams, PostParams};
use lastpass_operator::controller::Settings;
use lastpass_operator::crd::{DirectoryIntegration, LastPassGroup, LastPassUser, UserPhase};
use lastpass_operator::simulator::{RunningSimulator, password_digest};
use serde_json::json;
use support::builders::{group, merge, secret, user};
use support::operator::*;
use support::{TestNamespace, wait_for};

fn writes(sim: &RunningSimulator) -> Vec<String> {
    sim.state
        .calls()
        .into_iter()
        .filter(|c| c.command != "getuserdata")
        .map(|c| format!("{} {:?}", c.command, c.targets))
        .collect()
}

async fn plant_secret(ns: &TestNamespace, name: &str, password: &str) {
    ns.api::<Secret>()
        .create(
            &PostParams::default(),
            &secret(name, json!({"password": password})),
        )
        .await
        .expect("plant secret");
}

async fn allow_all_namespaces(ns: &TestNamespace) {
    let patch = json!({"spec": {"allowedNamespaces": {"from": "All"}}});
    ns.api::<DirectoryIntegration>()
        .patch("acme", &PatchParams::default(), &Patch::Merge(&patch))
        .await
        .expect("allow all namespaces");
}

/// A LastPassUser of integration `acme` in namespace `home`.
fn remote_user(
    name: &str,
    username: &str,
    home: &TestNamespace,
    extra: serde_json::Value,
) -> LastPassUser {
    let mut spec = json!({"integrationRef": {"namespace": home.name}});
    merge(&mut spec, extra);
    user(name, username, spec)
}

/// A LastPassGroup of integration `acme` in namespace `home`.
fn remote_group(
    name: &str,
    group_name: &str,
    home: &TestNamespace,
    members: &[&str],
) -> LastPassGroup {
    group(
        name,
        group_name,
        json!({"integrationRef": {"namespace": home.name}, "members": members}),
    )
}

fn group_ready(g: &LastPassGroup) -> Option<(String, String, String)> {
    find_condition(&g.status.as_ref()?.conditions, "Ready")
}

async fn wait_group(
    ns: &TestNamespace,
    name: &str,
    pred: impl Fn(&LastPassGroup) -> bool,
) -> LastPassGroup {
    let api = ns.api::<LastPassGroup>();
    match wait_for(Duration::from_secs(30), || async {
        let g = api.get_opt(name).await.ok()??;
        pred(&g).then_some(g)
    })
    .await
    {
        Some(g) => g,
        None => panic!(
            "group {name} never got there: {:?}",
            api.get_opt(name).await
        ),
    }
}

fn reason_is(u: &LastPassUser, reason: &str) -> bool {
    ready(u).is_some_and(|(s, r, _)| s == "False" && r == reason)
        && u.status.as_ref().and_then(|s| s.observed_generation) == u.metadata.generation
}

#[tokio::test]
async fn a_tenant_cannot_choose_the_first_password_of_another_namespaces_user() {
    let Some((cluster, acme, sim)) = account(json!({})).await else {
        return;
    };
    let tenant = cluster.namespace().await;
    let op = Operator::start_watching(&[&acme, &tenant], Settings::default());

    // The attacker: a Generate user for the victim's username, pointing at acme, with a planted
    // password Secret of the name the operator would use.
    plant_secret(&tenant, "sneaky-initial-password", "planted-by-tenant-b").await;
    create_user(
        &tenant,
        &remote_user(
            "sneaky",
            "victim@corp.example.com",
            &acme,
            json!({"initialPassword": "Generate"}),
        ),
    )
    .await;
    let sneaky = wait_user(&tenant, "sneaky", 30, |u| {
        reason_is(u, "IntegrationNotAllowed")
    })
    .await;
    assert!(sneaky.status.unwrap().lastpass_id.is_none());

    // A planted Secret inside the admitted namespace is not trusted either.
    plant_secret(&acme, "planted-initial-password", "planted-in-acme").await;
    create_user(
        &acme,
        &user(
            "planted",
            "planted@corp.example.com",
            json!({"initialPassword": "Generate"}),
        ),
    )
    .await;
    // The real declarations: the victim without Generate, and an honest Generate user.
    create_user(&acme, &user("victim", "victim@corp.example.com", json!({}))).await;
    create_user(
        &acme,
        &user(
            "honest",
            "honest@corp.example.com",
            json!({"initialPassword": "Generate"}),
        ),
    )
    .await;
    wait_invited(&acme, "victim").await;
    wait_invited(&acme, "honest").await;
    let planted = wait_user(&acme, "planted", 30, |u| {
        reason_is(u, "InitialPasswordConflict")
    })
    .await;
    let (_, _, message) = ready(&planted).unwrap();
    assert!(
        message.contains("planted-initial-password") && message.contains("delete"),
        "{message}"
    );

    let store = sim.state.store();
    let victim = store
        .user("victim@corp.example.com")
        .expect("victim invited");
    assert_eq!(
        victim.initial_password_digest, None,
        "the victim is invited without any password"
    );
    assert!(
        store.user("planted@corp.example.com").is_none(),
        "not invited with a planted password"
    );
    // The honest user got the password of the Secret the operator made and owns.
    let secret = acme
        .api::<Secret>()
        .get("honest-initial-password")
        .await
        .unwrap();
    let owner = &secret.metadata.owner_references.as_ref().unwrap()[0];
    assert_eq!(owner.kind, "LastPassUser");
    let password = String::from_utf8(secret.data.unwrap()["password"].0.clone()).unwrap();
    assert_eq!(
        store
            .user("honest@corp.example.com")
            .unwrap()
            .initial_password_digest,
        Some(password_digest(&password))
    );
    for planted in ["planted-by-tenant-b", "planted-in-acme"] {
        assert!(
            store
                .users_by_id()
                .all(|u| u.initial_password_digest != Some(password_digest(planted))),
            "the planted password {planted} reached LastPass"
        );
    }
    drop(store);
    // The intruder's namespace kept its planted Secret, and nothing was invited for it.
    assert!(
        tenant
            .api::<Secret>()
            .get_opt("sneaky-initial-password")
            .await
            .unwrap()
            .is_some()
    );
    op.stop().await;
    tenant.cleanup().await;
    acme.cleanup().await;
}

#[tokio::test]
async fn two_admitted_namespaces_one_owner_per_username_and_group_name() {
    let Some((cluster, home, sim)) = account(json!({})).await else {
        return;
    };
    allow_all_namespaces(&home).await;
    let (a, b) = (cluster.namespace().await, cluster.namespace().await);
    let op = Operator::start_watching(&[&home, &a, &b], Settings::default());

    create_user(
        &a,
        &remote_user(
            "ann",
            "ann@corp.example.com",
            &home,
            json!({"fullName": "Ann A"}),
        ),
    )
    .await;
    a.api::<LastPassGroup>()
        .create(
            &PostParams::default(),
            &remote_group("eng", "Eng", &home, &["ann@corp.example.com"]),
        )
        .await
        .unwrap();
    wait_invited(&a, "ann").await;
    wait_group(&a, "eng", |g| {
        group_ready(g).is_some_and(|(s, _, _)| s == "True")
    })
    .await;
    // Creation times have second precision: the claimants in b are strictly younger.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    create_user(
        &b,
        &remote_user("mallory", "mallory@corp.example.com", &home, json!({})),
    )
    .await;
    create_user(
        &b,
        &remote_user(
            "ann",
            "ANN@corp.example.com",
            &home,
            json!({"fullName": "Ann B", "groups": ["Evil"]}),
        ),
    )
    .await;
    b.api::<LastPassGroup>()
        .create(
            &PostParams::default(),
            &remote_group("eng", "Eng", &home, &["mallory@corp.example.com"]),
        )
        .await
        .unwrap();
    let loser = wait_user(&b, "ann", 30, |u| reason_is(u, "UsernameConflict")).await;
    let (_, _, message) = ready(&loser).unwrap();
    assert!(
        !message.contains(&a.name),
        "another namespace is not disclosed: {message}"
    );
    let g = wait_group(&b, "eng", |g| {
        group_ready(g).is_some_and(|(_, r, _)| r == "GroupNameConflict")
    })
    .await;
    assert!(!group_ready(&g).unwrap().2.contains(&a.name));
    wait_invited(&b, "mallory").await;

    let store = sim.state.store();
    let ann = store.user("ann@corp.example.com").unwrap();
    assert_eq!(ann.fullname, "Ann A", "only the owner's fields");
    assert!(!ann.groups.contains("Evil"));
    assert!(
        !store
            .user("mallory@corp.example.com")
            .unwrap()
            .groups
            .contains("Eng"),
        "no union of members"
    );
    drop(store);

    // The owner goes: the other claimant takes the username over, without a deprovision.
    a.api::<LastPassUser>()
        .delete("ann", &DeleteParams::default())
        .await
        .unwrap();
    wait_user(&b, "ann", 30, |u| {
        is(u, UserPhase::Invited, "True") && u.status.as_ref().unwrap().lastpass_id.is_some()
    })
    .await;
    let gone = wait_for(Duration::from_secs(30), || async {
        a.api::<LastPassUser>()
            .get_opt("ann")
            .await
            .unwrap()
            .is_none()
            .then_some(())
    })
    .await;
    assert!(gone.is_some(), "the old owner's finalizer is released");
    let store = sim.state.store();
    assert_eq!(
        store.user("ann@corp.example.com").unwrap().fullname,
        "Ann B"
    );
    assert!(!store.user("ann@corp.example.com").unwrap().disabled);
    drop(store);
    let w = writes(&sim);
    assert!(
        !w.iter()
            .any(|c| c.starts_with("deluser") || c.starts_with("disableuser")),
        "no deprovision in between: {w:?}"
    );
    op.stop().await;
    for ns in [a, b, home] {
        ns.cleanup().await;
    }
}

#[tokio::test]
async fn the_contract_holds_without_cel_and_nothing_is_written() {
    let Some((_, ns, sim)) = account(json!({})).await else {
        return;
    };
    let op = Operator::start_watching(&[&ns], Settings::default());
    create_user(&ns, &user("ann", "ann@corp.example.com", json!({}))).await;
    create_user(&ns, &user("bob", "bob@corp.example.com", json!({}))).await;
    ns.api::<LastPassGroup>()
        .create(
            &PostParams::default(),
            &remote_group("eng", "Eng", &ns, &["ann@corp.example.com"]),
        )
        .await
        .unwrap();
    wait_invited(&ns, "ann").await;
    wait_invited(&ns, "bob").await;
    wait_group(&ns, "eng", |g| {
        group_ready(g).is_some_and(|(s, _, _)| s == "True")
    })
    .await;
    let before = writes(&sim);

    let api = ns.api::<LastPassUser>();
    let patch = |v: serde_json::Value| Patch::Merge(v);
    api.patch(
        "ann",
        &PatchParams::default(),
        &patch(json!({"spec": {"username": "ann.new@corp.example.com"}})),
    )
    .await
    .expect("v1.20 has no CEL to refuse it");
    api.patch(
        "bob",
        &PatchParams::default(),
        &patch(json!({"spec": {"integrationRef": {"name": "elsewhere"}}})),
    )
    .await
    .unwrap();
    ns.api::<LastPassGroup>()
        .patch(
            "eng",
            &PatchParams::default(),
            &patch(json!({"spec": {"groupName": "Engineering"}})),
        )
        .await
        .unwrap();
    let ann = wait_user(&ns, "ann", 30, |u| reason_is(u, "UsernameChanged")).await;
    assert!(ready(&ann).unwrap().2.contains("ann@corp.example.com"));
    let bob = wait_user(&ns, "bob", 30, |u| reason_is(u, "IntegrationRefChanged")).await;
    assert!(ready(&bob).unwrap().2.contains("elsewhere"));
    wait_group(&ns, "eng", |g| {
        group_ready(g).is_some_and(|(_, r, _)| r == "GroupNameChanged")
            && g.status.as_ref().and_then(|s| s.observed_generation) == g.metadata.generation
    })
    .await;
    assert_eq!(
        writes(&sim),
        before,
        "a broken contract writes nothing to LastPass"
    );
    {
        let store = sim.state.store();
        assert!(store.user("ann.new@corp.example.com").is_none());
        assert!(
            !store.user("ann@corp.example.com").unwrap().disabled,
            "the old user is untouched"
        );
        assert!(
            store
                .user("ann@corp.example.com")
                .unwrap()
                .groups
                .contains("Eng")
        );
    }

    // Deleting the moved user still deprovisions through the integration it was bound to.
    api.delete("bob", &DeleteParams::default()).await.unwrap();
    let gone = wait_for(Duration::from_secs(30), || async {
        api.get_opt("bob").await.unwrap().is_none().then_some(())
    })
    .await;
    assert!(gone.is_some(), "bob released once deprovisioned");
    assert!(
        sim.state
            .store()
            .user("bob@corp.example.com")
            .unwrap()
            .disabled
    );
    op.stop().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn a_user_and_a_group_of_the_same_name_keep_their_own_statuses() {
    let Some((_, ns, _sim)) = account(json!({})).await else {
        return;
    };
    let op = Operator::start_watching(&[&ns], Settings::default());
    create_user(&ns, &user("first", "ops@corp.example.com", json!({}))).await;
    ns.api::<LastPassGroup>()
        .create(
            &PostParams::default(),
            &remote_group("first", "Ops", &ns, &[]),
        )
        .await
        .unwrap();
    wait_invited(&ns, "first").await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // `ops` (user) conflicts on its username; `ops` (group) on its group name.
    create_user(&ns, &user("ops", "OPS@corp.example.com", json!({}))).await;
    ns.api::<LastPassGroup>()
        .create(
            &PostParams::default(),
            &remote_group("ops", "Ops", &ns, &[]),
        )
        .await
        .unwrap();
    let u = wait_user(&ns, "ops", 30, |u| ready(u).is_some()).await;
    let g = wait_group(&ns, "ops", |g| group_ready(g).is_some()).await;
    assert_eq!(ready(&u).unwrap().1, "UsernameConflict", "{:?}", u.status);
    assert_eq!(
        group_ready(&g).unwrap().1,
        "GroupNameConflict",
        "{:?}",
        g.status
    );
    op.stop().await;
    ns.cleanup().await;
}

#[tokio::test]
async fn nothing_is_released_before_the_caches_are_listed_and_a_gone_integration_is_confirmed() {
    let Some((_, ns, sim)) = account(json!({})).await else {
        return;
    };
    let op = Operator::start_watching(&[&ns], Settings::default());
    for (name, username) in [
        ("ann", "ann@corp.example.com"),
        ("bob", "bob@corp.example.com"),
    ] {
        create_user(&ns, &user(name, username, json!({}))).await;
    }
    create_user(&ns, &user("cat", "cat@corp.example.com", json!({}))).await;
    create_user(&ns, &user("dan", "dan@corp.example.com", json!({}))).await;
    for name in ["ann", "bob", "cat", "dan"] {
        wait_invited(&ns, name).await;
    }
    op.stop().await;

    // Deleted while no operator runs: Terminating, behind the finalizer.
    let api = ns.api::<LastPassUser>();
    for name in ["ann", "bob"] {
        api.delete(name, &DeleteParams::default()).await.unwrap();
    }
    // Restart with the integrations' initial list held back for 4 s: the users' controller
    // sees Terminating users long before it could know their integration.
    let op = Operator::start_watching(
        &[&ns],
        Settings {
            integrations_watch_delay: Duration::from_secs(4),
            ..Settings::default()
        },
    );
    let gone = wait_for(Duration::from_secs(40), || async {
        let left = api.list(&Default::default()).await.ok()?;
        (left.items.len() == 2).then_some(())
    })
    .await;
    assert!(gone.is_some(), "ann and bob released in the end");
    {
        let store = sim.state.store();
        for u in ["ann@corp.example.com", "bob@corp.example.com"] {
            assert!(
                store.user(u).unwrap().disabled,
                "{u} deactivated before its release"
            );
        }
    }

    // The integration is deleted: a deleted user is released without any LastPass call.
    ns.api::<DirectoryIntegration>()
        .delete("acme", &DeleteParams::default())
        .await
        .unwrap();
    let no_integration = wait_for(Duration::from_secs(10), || async {
        ns.api::<DirectoryIntegration>()
            .get_opt("acme")
            .await
            .ok()?
            .is_none()
            .then_some(())
    })
    .await;
    assert!(no_integration.is_some());
    // A live user of the gone integration says so, and keeps its binding.
    let label = json!({"metadata": {"labels": {"touched": "yes"}}});
    api.patch("dan", &PatchParams::default(), &Patch::Merge(&label))
        .await
        .unwrap();
    let dan = wait_user(&ns, "dan", 30, |u| reason_is(u, "IntegrationNotFound")).await;
    let st = dan.status.unwrap();
    assert_eq!(st.bound_username.as_deref(), Some("dan@corp.example.com"));
    assert!(
        st.bound_integration.is_some() && st.lastpass_id.is_some(),
        "{st:?}"
    );
    let calls = sim.state.calls().len();
    api.delete("cat", &DeleteParams::default()).await.unwrap();
    let released = wait_for(Duration::from_secs(30), || async {
        api.get_opt("cat").await.ok()?.is_none().then_some(())
    })
    .await;
    assert!(released.is_some(), "cat released");
    assert_eq!(sim.state.calls().len(), calls, "no LastPass call for cat");
    assert!(
        !sim.state
            .store()
            .user("cat@corp.example.com")
            .unwrap()
            .disabled
    );
    op.stop().await;
    ns.cleanup().await;
}
