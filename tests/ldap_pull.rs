//! The LDAP pull against a real directory (slapd, see `ldap_support`) and a real API server
//! (see `support`): initial import of 2,500+ users with paging, attribute change, disable,
//! leaving scope, group nesting change, a filter change removing 60 % of users, ownership of
//! other sources, and the `LdapReachable` reasons (bind, TLS, timeout, unreachable).

mod ldap_support;
mod support;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, ListParams, Patch, PatchParams, PostParams};
use kube::ResourceExt;
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
        bind_secret_ref: Some(SecretRef { name: "ldap-bind".into() }),
        user_base_dn: Some(format!("ou=people,{}", ldap_support::BASE)),
        user_filter: "(objectClass=inetOrgPerson)".into(),
        group_base_dn: Some(format!("ou=groups,{}", ldap_support::BASE)),
        group_filter: Some("(cn=lastpass-*)".into()),
        page_size: 200,
        ..LdapSpec::default()
    }
}

async fn create_secret(ns: &TestNamespace, name: &str, data: serde_json::Value) {
    let s: Secret = serde_json::from_value(json!({"metadata": {"name": name}, "stringData": data}))
        .unwrap();
    ns.api::<Secret>().create(&PostParams::default(), &s).await.expect("secret");
}

/// A namespace with the bind and CA Secrets and the integration `acme`.
async fn integration(ns: &TestNamespace, slapd: &Slapd, ldap: LdapSpec) {
    create_secret(ns, "ldap-bind", json!({"bindDN": BIND_DN, "password": BIND_PW})).await;
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

async fn set_ldap(ns: &TestNamespace, ldap: LdapSpec) {
    ns.api::<DirectoryIntegration>()
        .patch(
            INTEGRATION,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"ldap": ldap}})),
        )
        .await
        .expect("patch spec.ldap");
}

async fn pull(ns: &TestNamespace) -> Result<PullReport, ldap::Error> {
    let di = ns.api::<DirectoryIntegration>().get(INTEGRATION).await.unwrap();
    pull_once(&ns.client, &di).await
}

async fn users(ns: &TestNamespace) -> BTreeMap<String, LastPassUser> {
    let list = ns.api::<LastPassUser>().list(&ListParams::default()).await.unwrap();
    list.items.into_iter().map(|u| (u.spec.username.to_lowercase(), u)).collect()
}

async fn group_members(ns: &TestNamespace, name: &str) -> Option<Vec<String>> {
    let list = ns.api::<LastPassGroup>().list(&ListParams::default()).await.unwrap();
    list.items
        .into_iter()
        .find(|g| g.spec.group_name == name)
        .map(|g| g.spec.members)
}

async fn condition(ns: &TestNamespace, type_: &str) -> (String, String, String) {
    let di = ns.api::<DirectoryIntegration>().get_status(INTEGRATION).await.unwrap();
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
            integration_ref: IntegrationRef { name: INTEGRATION.into(), namespace: None },
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
    ns.api::<LastPassUser>().create(&PostParams::default(), &u).await.expect("git user")
}

macro_rules! setup {
    ($ldif:expr) => {{
        let Some(slapd) = Slapd::start(&$ldif) else { return };
        let Some(cluster) = support::cluster() else { return };
        (slapd, cluster.namespace().await)
    }};
}

#[tokio::test]
async fn initial_import_pages_through_2500_users() {
    let (slapd, ns) = setup!(directory(2500, 2500));

    // Paging is needed: the same search without it hits the bind account's size limit.
    let (conn, mut raw) = ldap3::LdapConnAsync::new(&slapd.url).await.unwrap();
    ldap3::drive!(conn);
    raw.simple_bind(BIND_DN, BIND_PW).await.unwrap().success().unwrap();
    let unpaged = raw
        .search(&format!("ou=people,{}", ldap_support::BASE), ldap3::Scope::Subtree, "(objectClass=inetOrgPerson)", vec!["mail"])
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
    assert_eq!(report.created, 2504 + 2, "users and the two lastpass-* groups");
    assert_eq!(report.skipped, 2, "{:?}", report.problems);

    let all = users(&ns).await;
    assert_eq!(all.len(), 2504);
    let ann = &all["ann@example.org"];
    assert_eq!(ann.labels()[SOURCE_LABEL], "ldap");
    assert_eq!(ann.labels()[ldap::INTEGRATION_LABEL], INTEGRATION);
    assert_eq!(ann.spec.integration_ref.name, INTEGRATION);
    assert_eq!(ann.spec.full_name.as_deref(), Some("Person ann"));
    assert!(!ann.spec.suspended);
    assert!(all["bob@example.org"].spec.suspended, "userAccountControl 514 → suspended");
    assert!(!all.contains_key("dave@example.org"), "no duplicate, no guess");
    let managed = ann.metadata.managed_fields.as_ref().unwrap();
    assert!(managed.iter().any(|m| m.manager.as_deref() == Some(ldap::FIELD_MANAGER)));

    assert_eq!(
        group_members(&ns, "lastpass-eng").await.unwrap(),
        ["ann@example.org", "eve@example.org"],
        "nested through the backend ⇄ lastpass-eng cycle"
    );
    assert_eq!(
        group_members(&ns, "lastpass-all").await.unwrap(),
        ["ann@example.org", "bob@example.org", "eve@example.org"]
    );
    assert!(group_members(&ns, "other").await.is_none(), "only groupFilter matches");
    assert!(group_members(&ns, "backend").await.is_none());

    let (status, reason, _) = condition(&ns, "LdapReachable").await;
    assert_eq!((status.as_str(), reason.as_str()), ("True", "Ok"));
    let (status, reason, message) = condition(&ns, "LdapSynced").await;
    assert_eq!((status.as_str(), reason.as_str()), ("False", "Conflicts"));
    assert!(message.contains("dave@example.org") || message.contains("Dave@example.org"), "{message}");
    let st = ns.api::<DirectoryIntegration>().get_status(INTEGRATION).await.unwrap();
    let l = st.status.unwrap().ldap.unwrap();
    assert_eq!((l.users_seen, l.groups_seen, l.users_managed, l.groups_managed), (2507, 4, 2504, 2));
    assert!(l.last_pull_time.is_some() && l.last_success_time.is_some() && l.last_error.is_none());
    assert!(l.problems.iter().any(|p| p.contains("uid=carol")), "{:?}", l.problems);

    // A second pull with nothing changed writes no resource.
    let again = pull(&ns).await.unwrap();
    assert_eq!((again.created, again.updated, again.deleted), (0, 0, 0));
    eprintln!("PULL steady state: read {:?}, compare {:?}", again.read_time, again.write_time);
    drop(slapd);
    ns.cleanup().await;
}
