//! The LDAP pull against a real directory (slapd, see `ldap_support`) and a real API server
//! (see `support`): initial import of 2,500+ users with paging, attribute change, disable,
//! leaving scope, group nesting change, a filter change removing 60 % of users, ownership of
//! other sources, and the `LdapReachable` reasons (bind, TLS, timeout, unreachable).

mod ldap_support;
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use lastpass_operator::crd::{
    CaSecretRef, DirectoryIntegration, IntegrationRef, LastPassGroup, LastPassUser,
    LastPassUserSpec, LdapSpec, SOURCE_LABEL, SecretRef,
};
use lastpass_operator::ldap::{self, PullReport, pull_once};
use ldap_support::{BIND_DN, BIND_PW, Ldif, Slapd};
use serde_json::json;
use support::TestNamespace;

const INTEGRATION: &str = "acme";

/// The people and groups every scenario starts from, plus `bulk` bulk users.
fn directory(bulk: usize, staff: usize) -> String {
    let p = Ldif::person_dn;
    let g = Ldif::group_dn;
    let mut s = String::new();
    s += &Ldif::person("ann", Some("ann@example.org"), Some(512), "staff");
    s += &Ldif::person("bob", Some("bob@example.org"), Some(514), "staff"); // disabled
    s += &Ldif::person("carol", None, Some(512), "staff"); // no mail
    s += &Ldif::person("dave", Some("dave@example.org"), Some(512), "staff");
    s += &Ldif::person("dave2", Some("Dave@example.org"), Some(512), "staff"); // duplicate
    s += &Ldif::person("eve", Some("eve@example.org"), Some(512), "staff");
    s += &Ldif::person("frank", Some("frank@example.org"), Some(512), "staff");
    s += &Ldif::group("lastpass-eng", &[p("ann"), g("backend")]);
    s += &Ldif::group("backend", &[p("eve"), g("lastpass-eng")]); // a cycle
    s += &Ldif::group("lastpass-all", &[g("lastpass-eng"), p("bob")]);
    s += &Ldif::group("other", &[p("ann")]); // not selected
    s += &Ldif::bulk(bulk, staff);
    s
}

fn spec(url: &str) -> LdapSpec {
    LdapSpec {
        url: Some(url.into()),
        start_tls: false,
        bind_secret_ref: Some(SecretRef {
            name: "ldap-bind".into(),
        }),
        user_base_dn: Some(format!("ou=people,{}", ldap_support::BASE)),
        user_filter: "(objectClass=inetOrgPerson)".into(),
        group_base_dn: Some(format!("ou=groups,{}", ldap_support::BASE)),
        group_filter: Some("(cn=lastpass-*)".into()),
        page_size: 200,
        ..LdapSpec::default()
    }
}

async fn create_secret(ns: &TestNamespace, name: &str, data: serde_json::Value) {
    let s: Secret =
        serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data})).unwrap();
    ns.api::<Secret>()
        .create(&PostParams::default(), &s)
        .await
        .expect("secret");
}

/// A namespace with the bind and CA Secrets and the integration `acme`.
async fn integration(ns: &TestNamespace, slapd: &Slapd, ldap: LdapSpec) {
    create_secret(
        ns,
        "ldap-bind",
        json!({"bindDN": BIND_DN, "password": BIND_PW}),
    )
    .await;
    create_secret(ns, "ldap-ca", json!({"ca.crt": slapd.ca_pem})).await;
    create_secret(ns, "lastpass-api", json!({"cid": "1", "provhash": "x"})).await;
    let di: DirectoryIntegration = serde_json::from_value(json!({
        "apiVersion": "lastpass-operator.io/v1alpha1", "kind": "DirectoryIntegration",
        "metadata": {"name": INTEGRATION},
        "spec": {"lastpass": {"credentialsSecretRef": {"name": "lastpass-api"}}, "ldap": ldap},
    }))
    .unwrap();
    ns.api::<DirectoryIntegration>()
        .create(&PostParams::default(), &di)
        .await
        .expect("integration");
}

/// Replaces `spec.ldap` as a whole (a merge patch alone would keep omitted fields).
async fn set_ldap(ns: &TestNamespace, ldap: LdapSpec) {
    let api = ns.api::<DirectoryIntegration>();
    api.patch(
        INTEGRATION,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"ldap": null}})),
    )
    .await
    .expect("clear spec.ldap");
    api.patch(
        INTEGRATION,
        &PatchParams::default(),
        &Patch::Merge(json!({"spec": {"ldap": ldap}})),
    )
    .await
    .expect("patch spec.ldap");
}

fn target(ns: &TestNamespace) -> ldap::desired::Target {
    ldap::desired::Target {
        namespace: ns.name.clone(),
        integration: INTEGRATION.into(),
    }
}

async fn pull(ns: &TestNamespace) -> Result<PullReport, ldap::Error> {
    let di = ns
        .api::<DirectoryIntegration>()
        .get(INTEGRATION)
        .await
        .unwrap();
    pull_once(&ns.client, &di).await
}

async fn users(ns: &TestNamespace) -> BTreeMap<String, LastPassUser> {
    let list = ns
        .api::<LastPassUser>()
        .list(&ListParams::default())
        .await
        .unwrap();
    list.items
        .into_iter()
        .map(|u| (u.spec.username.to_lowercase(), u))
        .collect()
}

async fn group_members(ns: &TestNamespace, name: &str) -> Option<Vec<String>> {
    let list = ns
        .api::<LastPassGroup>()
        .list(&ListParams::default())
        .await
        .unwrap();
    list.items
        .into_iter()
        .find(|g| g.spec.group_name == name)
        .map(|g| g.spec.members)
}

async fn condition(ns: &TestNamespace, type_: &str) -> (String, String, String) {
    let di = ns
        .api::<DirectoryIntegration>()
        .get_status(INTEGRATION)
        .await
        .unwrap();
    let c = di
        .status
        .unwrap_or_default()
        .conditions
        .into_iter()
        .find(|c| c.type_ == type_)
        .unwrap_or_else(|| panic!("condition {type_} written"));
    (c.status, c.reason, c.message)
}

/// A LastPassUser of source git for this integration.
async fn git_user(ns: &TestNamespace, name: &str, username: &str) -> LastPassUser {
    let mut u = LastPassUser::new(
        name,
        LastPassUserSpec {
            integration_ref: IntegrationRef {
                name: INTEGRATION.into(),
                namespace: None,
            },
            username: username.into(),
            full_name: Some("From Git".into()),
            groups: vec![],
            attributes: Default::default(),
            suspended: false,
            password_reset_required: true,
            initial_password: Default::default(),
            deprovision_action: None,
        },
    );
    u.metadata.labels = Some([(SOURCE_LABEL.to_string(), "git".to_string())].into());
    ns.api::<LastPassUser>()
        .create(&PostParams::default(), &u)
        .await
        .expect("git user")
}

/// Deletes the pulled resources in one call each (the support cleanup goes one by one),
/// then the namespace.
async fn cleanup(ns: TestNamespace) {
    let lp = ListParams::default().labels(&format!("{SOURCE_LABEL}=ldap"));
    let _ = ns
        .api::<LastPassUser>()
        .delete_collection(&Default::default(), &lp)
        .await;
    let _ = ns
        .api::<LastPassGroup>()
        .delete_collection(&Default::default(), &lp)
        .await;
    ns.cleanup().await;
}

async fn set_password(ns: &TestNamespace, password: &str) {
    ns.api::<Secret>()
        .patch(
            "ldap-bind",
            &PatchParams::default(),
            &Patch::Merge(json!({"stringData": {"password": password}})),
        )
        .await
        .unwrap();
}

macro_rules! setup {
    ($ldif:expr) => {{
        let Some(slapd) = Slapd::start(&$ldif) else {
            return;
        };
        let Some(cluster) = support::cluster() else {
            return;
        };
        (slapd, cluster.namespace().await)
    }};
}

#[tokio::test]
async fn initial_import_pages_through_2500_users() {
    let (slapd, ns) = setup!(directory(2500, 2500));

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
            &format!("ou=people,{}", ldap_support::BASE),
            ldap3::Scope::Subtree,
            "(objectClass=inetOrgPerson)",
            vec!["mail"],
        )
        .await
        .unwrap();
    assert_eq!(unpaged.1.rc, 4, "sizeLimitExceeded without paging");
    assert_eq!(unpaged.0.len(), ldap_support::SIZE_LIMIT);

    integration(&ns, &slapd, spec(&slapd.url)).await;
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
async fn resources_follow_directory_changes_over_starttls() {
    let (slapd, ns) = setup!(directory(20, 20));
    let mut ldap = spec(&slapd.url);
    ldap.start_tls = true;
    ldap.ca_secret_ref = Some(CaSecretRef {
        name: "ldap-ca".into(),
        key: "ca.crt".into(),
    });
    ldap.user_filter = "(&(objectClass=inetOrgPerson)(!(employeeType=external)))".into();
    ldap.attributes
        .extra
        .insert("department".into(), "departmentNumber".into());
    integration(&ns, &slapd, ldap).await;
    let frank_git = git_user(&ns, "frank", "frank@example.org").await;
    let zed_git = git_user(&ns, "zed", "zed@example.org").await;

    let first = pull(&ns)
        .await
        .expect("pull over StartTLS with the CA from a Secret");
    assert_eq!(
        first.managed_users, 23,
        "ann, bob, eve + 20 bulk; frank is git's"
    );
    assert!(
        first
            .problems
            .iter()
            .any(|p| p.contains("frank@example.org") && p.contains("LastPassUser frank")),
        "{:?}",
        first.problems
    );
    let u = users(&ns).await;
    assert_eq!(u["ann@example.org"].spec.attributes["department"], "dept-0");

    // Attribute change.
    let ann = Ldif::person_dn("ann");
    slapd.modify(&format!(
        "dn: {ann}\nchangetype: modify\nreplace: displayName\ndisplayName: Ann Changed\n-\nreplace: departmentNumber\ndepartmentNumber: Sales\n"
    ));
    // Disable eve (AD bit), re-enable bob.
    let eve = Ldif::person_dn("eve");
    let bob = Ldif::person_dn("bob");
    slapd.modify(&format!(
        "dn: {eve}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 514\n\n\
         dn: {bob}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: 512\n"
    ));
    let r = pull(&ns).await.unwrap();
    assert_eq!((r.created, r.updated, r.deleted), (0, 3, 0), "{r:?}");
    let u = users(&ns).await;
    assert_eq!(
        u["ann@example.org"].spec.full_name.as_deref(),
        Some("Ann Changed")
    );
    assert_eq!(u["ann@example.org"].spec.attributes["department"], "Sales");
    assert!(u["eve@example.org"].spec.suspended, "disabled → suspended");
    assert!(
        !u["bob@example.org"].spec.suspended,
        "enabled again → not suspended"
    );

    // Leave scope (filter) and deletion from the directory.
    let gone = Ldif::person_dn("bulk0000");
    slapd.modify(&format!(
        "dn: {ann}\nchangetype: modify\nreplace: employeeType\nemployeeType: external\n\n\
         dn: {gone}\nchangetype: delete\n"
    ));
    let r = pull(&ns).await.unwrap();
    assert_eq!((r.created, r.deleted), (0, 2), "{r:?}");
    let u = users(&ns).await;
    assert!(!u.contains_key("ann@example.org") && !u.contains_key("bulk0000@example.org"));
    assert_eq!(
        group_members(&ns, "lastpass-eng").await.unwrap(),
        ["eve@example.org"]
    );

    // Back in scope: a fresh resource.
    slapd.modify(&format!(
        "dn: {ann}\nchangetype: modify\nreplace: employeeType\nemployeeType: staff\n"
    ));
    let r = pull(&ns).await.unwrap();
    assert_eq!(r.created, 1, "{r:?}");
    assert!(!users(&ns).await["ann@example.org"].spec.suspended);

    // Nesting change: backend (eve) leaves lastpass-eng, so eve leaves both groups.
    let eng = Ldif::group_dn("lastpass-eng");
    let backend = Ldif::group_dn("backend");
    slapd.modify(&format!(
        "dn: {eng}\nchangetype: modify\ndelete: member\nmember: {backend}\n"
    ));
    pull(&ns).await.unwrap();
    assert_eq!(
        group_members(&ns, "lastpass-eng").await.unwrap(),
        ["ann@example.org"]
    );
    assert_eq!(
        group_members(&ns, "lastpass-all").await.unwrap(),
        ["ann@example.org", "bob@example.org"]
    );

    // The git resources were never touched.
    let u = users(&ns).await;
    for (before, key) in [
        (&frank_git, "frank@example.org"),
        (&zed_git, "zed@example.org"),
    ] {
        let now = &u[key];
        assert_eq!(
            now.metadata.resource_version, before.metadata.resource_version,
            "{key}"
        );
        assert_eq!(now.labels()[SOURCE_LABEL], "git");
    }
    drop(slapd);
    cleanup(ns).await;
}

#[tokio::test]
async fn a_filter_change_removing_60_percent_deletes_exactly_those() {
    // 4 core users + 96 bulk = 100 users; 60 bulk are contractors.
    let (slapd, ns) = setup!(directory(96, 36));
    integration(&ns, &slapd, spec(&slapd.url)).await;
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

    set_ldap(
        &ns,
        LdapSpec {
            user_filter: "(&(objectClass=inetOrgPerson)(employeeType=staff))".into(),
            ..spec(&slapd.url)
        },
    )
    .await;
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

#[tokio::test]
async fn ldap_reachable_says_why() {
    let (slapd, ns) = setup!(directory(5, 5));
    integration(&ns, &slapd, spec(&slapd.url)).await;
    let first = pull(&ns).await.unwrap();
    assert_eq!(first.managed_users, 9);

    let wrong = "Wr0ng-and-secret";
    set_password(&ns, wrong).await;
    let err = pull(&ns).await.unwrap_err();
    assert_eq!(err.reason(), ldap::Reason::BindFailed, "{err}");
    assert!(!err.to_string().contains(wrong) && !format!("{err:?}").contains(wrong));
    let (status, reason, message) = condition(&ns, "LdapReachable").await;
    assert_eq!((status.as_str(), reason.as_str()), ("False", "BindFailed"));
    assert!(message.contains("LDAP result 49"), "{message}");
    let raw = ns
        .api::<DirectoryIntegration>()
        .get_status(INTEGRATION)
        .await
        .unwrap();
    assert!(
        !serde_json::to_string(&raw).unwrap().contains(wrong),
        "password not in status"
    );
    assert_eq!(
        users(&ns).await.len(),
        9,
        "a failed pull changes no resource"
    );
    set_password(&ns, BIND_PW).await;

    let ca = Some(CaSecretRef {
        name: "ldap-ca".into(),
        key: "ca.crt".into(),
    });
    // (why, spec, expected reason)
    let cases: Vec<(&str, LdapSpec, &str)> = vec![
        (
            "StartTLS with the CA",
            LdapSpec {
                start_tls: true,
                ca_secret_ref: ca.clone(),
                ..spec(&slapd.url)
            },
            "Ok",
        ),
        (
            "ldaps with the CA",
            LdapSpec {
                ca_secret_ref: ca.clone(),
                ..spec(&slapd.ldaps_url)
            },
            "Ok",
        ),
        (
            "StartTLS, CA not trusted",
            LdapSpec {
                start_tls: true,
                ..spec(&slapd.url)
            },
            "TlsFailed",
        ),
        ("ldaps, CA not trusted", spec(&slapd.ldaps_url), "TlsFailed"),
        ("nothing listens", spec("ldap://127.0.0.1:1"), "Unreachable"),
        (
            "wrong base DN",
            LdapSpec {
                user_base_dn: Some("ou=nowhere,dc=example,dc=org".into()),
                ..spec(&slapd.url)
            },
            "SearchFailed",
        ),
    ];
    for (why, ldap, want) in cases {
        set_ldap(&ns, ldap).await;
        let res = pull(&ns).await;
        let (status, reason, message) = condition(&ns, "LdapReachable").await;
        assert_eq!(reason, want, "{why}: {message} / {res:?}");
        assert_eq!(status == "True", want == "Ok", "{why}");
    }

    // A server that accepts the connection and never answers.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = silent.local_addr().unwrap().port();
    set_ldap(
        &ns,
        LdapSpec {
            connect_timeout: "1s".into(),
            operation_timeout: "1s".into(),
            ..spec(&format!("ldap://127.0.0.1:{port}"))
        },
    )
    .await;
    let started = Instant::now();
    let err = pull(&ns).await.unwrap_err();
    assert_eq!(err.reason(), ldap::Reason::Timeout, "{err}");
    assert!(started.elapsed() < Duration::from_secs(10));
    let (_, reason, _) = condition(&ns, "LdapReachable").await;
    assert_eq!(reason, "Timeout");
    let (status, reason, _) = condition(&ns, "LdapSynced").await;
    assert_eq!((status.as_str(), reason.as_str()), ("False", "PullFailed"));
    drop(silent);
    drop(slapd);
    cleanup(ns).await;
}
