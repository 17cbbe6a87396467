//! The LDAP pull at scale against a real directory (slapd, see `support::ldap`) and a real
//! API server (see `support`): the initial import of 2,500+ users with paging, and a filter
//! change removing 60 % of users, which deletes exactly those resources of source ldap.

mod support;

use std::time::Instant;

use kube::ResourceExt;
use kube::api::{Patch, PatchParams, PostParams};
use lastpass_operator::crd::{DirectoryIntegration, LastPassUser, SOURCE_LABEL};
use lastpass_operator::ldap;
use serde_json::json;
use support::builders::INTEGRATION;
use support::ldap::scenario::*;
use support::ldap::{BIND_DN, BIND_PW};

#[tokio::test]
async fn initial_import_pages_through_2500_users() {
    let Some((slapd, ns)) = setup(&directory(2500, 2500)).await else {
        return;
    };

    // Paging is needed: the same search without it hits the bind account's size limit.
    let (conn, mut raw) = ldap3::LdapConnAsync::new(&slapd.url).await.unwrap();
    ldap3::drive!(conn);
    raw.simple_bind(BIND_DN, BIND_PW)
        .await
        .unwrap()
        .success()
        .unwrap();
    let unpaged = raw
        .search(
            &format!("ou=people,{}", support::ldap::BASE),
            ldap3::Scope::Subtree,
            "(objectClass=inetOrgPerson)",
            vec!["mail"],
        )
        .await
        .unwrap();
    assert_eq!(unpaged.1.rc, 4, "sizeLimitExceeded without paging");
    assert_eq!(unpaged.0.len(), support::ldap::SIZE_LIMIT);

    ldap_integration(&ns, &slapd, spec(&slapd.url)).await;
    let started = Instant::now();
    let report = pull(&ns).await.expect("pull");
    let took = started.elapsed();
    eprintln!(
        "PULL 2,500+ users: total {took:?}, directory read {:?}, resource writes {:?} ({} created)",
        report.read_time, report.write_time, report.created
    );
    assert_eq!(report.users_seen, 2507);
    assert_eq!(report.groups_seen, 4);
    // ann, bob, eve, frank + 2,500 bulk; carol (no mail) and dave/dave2 (one e-mail) skipped.
    assert_eq!(report.managed_users, 2504);
    assert_eq!(
        report.created,
        2504 + 2,
        "users and the two lastpass-* groups"
    );
    assert_eq!(report.skipped, 2, "{:?}", report.problems);

    let all = users(&ns).await;
    assert_eq!(all.len(), 2504);
    let ann = &all["ann@example.org"];
    assert_eq!(ann.labels()[SOURCE_LABEL], "ldap");
    assert_eq!(ann.labels()[ldap::INTEGRATION_LABEL], INTEGRATION);
    assert_eq!(ann.spec.integration_ref.name, INTEGRATION);
    assert_eq!(ann.spec.full_name.as_deref(), Some("Person ann"));
    assert!(!ann.spec.suspended);
    assert!(
        all["bob@example.org"].spec.suspended,
        "userAccountControl 514 → suspended"
    );
    assert!(
        !all.contains_key("dave@example.org"),
        "no duplicate, no guess"
    );
    let managed = ann.metadata.managed_fields.as_ref().unwrap();
    assert!(
        managed
            .iter()
            .any(|m| m.manager.as_deref() == Some(ldap::FIELD_MANAGER))
    );

    assert_eq!(
        group_members(&ns, "lastpass-eng").await.unwrap(),
        ["ann@example.org", "eve@example.org"],
        "nested through the backend ⇄ lastpass-eng cycle"
    );
    assert_eq!(
        group_members(&ns, "lastpass-all").await.unwrap(),
        ["ann@example.org", "bob@example.org", "eve@example.org"]
    );
    assert!(
        group_members(&ns, "other").await.is_none(),
        "only groupFilter matches"
    );
    assert!(group_members(&ns, "backend").await.is_none());

    let (status, reason, _) = condition(&ns, "LdapReachable").await;
    assert_eq!((status.as_str(), reason.as_str()), ("True", "Ok"));
    let (status, reason, message) = condition(&ns, "LdapSynced").await;
    assert_eq!((status.as_str(), reason.as_str()), ("False", "Conflicts"));
    assert!(
        message.contains("dave@example.org") || message.contains("Dave@example.org"),
        "{message}"
    );
    let st = ns
        .api::<DirectoryIntegration>()
        .get_status(INTEGRATION)
        .await
        .unwrap();
    let l = st.status.unwrap().ldap.unwrap();
    assert_eq!(
        (
            l.users_seen,
            l.groups_seen,
            l.users_managed,
            l.groups_managed
        ),
        (2507, 4, 2504, 2)
    );
    assert!(l.last_pull_time.is_some() && l.last_success_time.is_some() && l.last_error.is_none());
    assert!(
        l.problems.iter().any(|p| p.contains("uid=carol")),
        "{:?}",
        l.problems
    );

    let peak_kib = std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:").map(|v| v.trim().to_string()))
        .unwrap_or_default();
    eprintln!("PULL peak RSS of the test process (pull + test data): {peak_kib}");

    // A second pull with nothing changed writes no resource.
    let again = pull(&ns).await.unwrap();
    assert_eq!((again.created, again.updated, again.deleted), (0, 0, 0));
    eprintln!(
        "PULL steady state: read {:?}, compare {:?}",
        again.read_time, again.write_time
    );
    drop(slapd);
    cleanup(ns).await;
}

#[tokio::test]
async fn a_filter_change_removing_60_percent_deletes_exactly_those() {
    // 4 core users + 96 bulk = 100 users; 60 bulk are contractors.
    let Some((slapd, ns)) = setup(&directory(96, 36)).await else {
        return;
    };
    ldap_integration(&ns, &slapd, spec(&slapd.url)).await;
    // Ownership, not the safeguard, is under test here (see ldap_budget / ldap_safeguard).
    set_limits(&ns, 1000, 100).await;
    git_user(&ns, "git-contractor", "git.contractor@example.org").await;
    // A resource of source ldap, but of another integration, in the same namespace.
    let mut other = git_user(&ns, "globex-user", "bulk0099@example.org").await;
    other.metadata.labels = Some(
        [
            (SOURCE_LABEL.to_string(), "ldap".to_string()),
            (ldap::INTEGRATION_LABEL.to_string(), "globex".to_string()),
        ]
        .into(),
    );
    other.spec.integration_ref.name = "globex".into();
    ns.api::<LastPassUser>()
        .replace("globex-user", &PostParams::default(), &other)
        .await
        .unwrap();

    let r = pull(&ns).await.unwrap();
    assert_eq!(r.managed_users, 100);
    // The engine's controllers add a finalizer; simulate it on six contractors.
    let api = ns.api::<LastPassUser>();
    let mut held = Vec::new();
    for (key, u) in users(&ns).await {
        if key.starts_with("bulk009") && ldap::reconcile::owns_user(&u, &target(&ns)) {
            let fin = json!({"metadata": {"finalizers": ["lastpass-operator.io/deprovision"]}});
            api.patch(&u.name_any(), &PatchParams::default(), &Patch::Merge(fin))
                .await
                .unwrap();
            held.push(key);
        }
    }
    assert_eq!(held.len(), 6, "bulk0090..bulk0095");

    set_ldap(&ns, staff_only(&slapd.url)).await;
    let r = pull(&ns).await.unwrap();
    assert_eq!(r.deleted, 60, "exactly the 60 % that left: {r:?}");
    assert_eq!(r.managed_users, 40);
    let u = users(&ns).await;
    let ours: Vec<&LastPassUser> = u
        .values()
        .filter(|u| {
            u.labels().get(ldap::INTEGRATION_LABEL).map(String::as_str) == Some(INTEGRATION)
        })
        .collect();
    let terminating: Vec<String> = ours
        .iter()
        .filter(|u| u.metadata.deletion_timestamp.is_some())
        .map(|u| u.spec.username.clone())
        .collect();
    assert_eq!(
        terminating.len(),
        6,
        "finalizers hold the deprovisioning ones: {terminating:?}"
    );
    assert_eq!(ours.len(), 46);
    assert!(ours.iter().all(|u| u.metadata.deletion_timestamp.is_some()
        || !u.spec.username.starts_with("bulk")
        || u.spec.username.as_str() < "bulk0036"));
    assert_eq!(
        u["git.contractor@example.org"].labels()[SOURCE_LABEL],
        "git"
    );
    assert!(
        u["bulk0099@example.org"]
            .metadata
            .deletion_timestamp
            .is_none(),
        "globex's stays"
    );

    // Nothing further to do while the finalizers hold: no re-delete, no re-create.
    let r = pull(&ns).await.unwrap();
    assert_eq!((r.created, r.updated, r.deleted), (0, 0, 0));
    drop(slapd);
    cleanup(ns).await;
}
