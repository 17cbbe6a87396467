//! Scenario helpers shared by the LDAP test binaries: the integration `acme` pointed at a
//! [`Slapd`], its Secrets, pulling, and reading back resources and conditions.

use std::collections::BTreeMap;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use lastpass_operator::crd::{
    DirectoryIntegration, LastPassGroup, LastPassUser, LdapSpec, SOURCE_LABEL, SecretRef,
};
use lastpass_operator::ldap::{self, PullReport, pull_once};
use serde_json::json;

use super::super::TestNamespace;
use super::super::builders::{CREDENTIALS, INTEGRATION, integration, secret, user};
use super::{BIND_DN, BIND_PW, Ldif, Slapd};

/// The people and groups every scenario starts from, plus `bulk` bulk users.
pub fn directory(bulk: usize, staff: usize) -> String {
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

/// The pull of every scenario: people under `ou=people`, groups `lastpass-*` under `ou=groups`,
/// bound with Secret `ldap-bind`, pages of 200.
pub fn spec(url: &str) -> LdapSpec {
    LdapSpec {
        url: Some(url.into()),
        start_tls: false,
        bind_secret_ref: Some(SecretRef {
            name: "ldap-bind".into(),
        }),
        user_base_dn: Some(format!("ou=people,{}", super::BASE)),
        user_filter: "(objectClass=inetOrgPerson)".into(),
        group_base_dn: Some(format!("ou=groups,{}", super::BASE)),
        group_filter: Some("(cn=lastpass-*)".into()),
        page_size: 200,
        ..LdapSpec::default()
    }
}

/// [`spec`] narrowed to the people of employeeType `staff`: the contractors leave the selection.
pub fn staff_only(url: &str) -> LdapSpec {
    LdapSpec {
        user_filter: "(&(objectClass=inetOrgPerson)(employeeType=staff))".into(),
        ..spec(url)
    }
}

/// Creates Secret `name` with these `stringData` entries.
pub async fn create_secret(ns: &TestNamespace, name: &str, data: serde_json::Value) {
    ns.api::<Secret>()
        .create(&PostParams::default(), &secret(name, data))
        .await
        .expect("secret");
}

/// Creates the bind and CA Secrets of `slapd` and the integration `acme` pulling from it with
/// `ldap` (its LastPass credentials are never used: these tests only pull).
pub async fn ldap_integration(ns: &TestNamespace, slapd: &Slapd, ldap: LdapSpec) {
    create_secret(
        ns,
        "ldap-bind",
        json!({"bindDN": BIND_DN, "password": BIND_PW}),
    )
    .await;
    create_secret(ns, "ldap-ca", json!({"ca.crt": slapd.ca_pem})).await;
    create_secret(ns, CREDENTIALS, json!({"cid": "1", "provhash": "x"})).await;
    ns.api::<DirectoryIntegration>()
        .create(
            &PostParams::default(),
            &integration(INTEGRATION, json!({"ldap": ldap})),
        )
        .await
        .expect("integration");
}

/// Replaces `spec.ldap` as a whole (a merge patch alone would keep omitted fields).
pub async fn set_ldap(ns: &TestNamespace, ldap: LdapSpec) {
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

/// Sets `spec.sync.deprovision.maxPerSync` and `maxPercent` of the integration (the pull's
/// safeguard).
pub async fn set_limits(ns: &TestNamespace, max_per_sync: i32, max_percent: i32) {
    ns.api::<DirectoryIntegration>()
        .patch(
            INTEGRATION,
            &PatchParams::default(),
            &Patch::Merge(json!({"spec": {"sync": {"deprovision": {
                "maxPerSync": max_per_sync, "maxPercent": max_percent
            }}}})),
        )
        .await
        .expect("patch spec.sync.deprovision");
}

/// Where the pull of integration `acme` in `ns` writes its resources.
pub fn target(ns: &TestNamespace) -> ldap::desired::Target {
    ldap::desired::Target {
        namespace: ns.name.clone(),
        integration: INTEGRATION.into(),
    }
}

/// One pull of integration `acme`, awaited: when it returns it has written everything it will.
pub async fn pull(ns: &TestNamespace) -> Result<PullReport, ldap::Error> {
    let di = ns
        .api::<DirectoryIntegration>()
        .get(INTEGRATION)
        .await
        .unwrap();
    pull_once(&ns.client, &di).await
}

/// The LastPassUsers of `ns` by lower-cased username.
pub async fn users(ns: &TestNamespace) -> BTreeMap<String, LastPassUser> {
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

/// `spec.members` of the LastPassGroup for LastPass group `name`, if there is one.
pub async fn group_members(ns: &TestNamespace, name: &str) -> Option<Vec<String>> {
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

/// (status, reason, message) of condition `type_` of integration `acme`; panics if unwritten.
pub async fn condition(ns: &TestNamespace, type_: &str) -> (String, String, String) {
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

/// Creates a LastPassUser of source git for this integration.
pub async fn git_user(ns: &TestNamespace, name: &str, username: &str) -> LastPassUser {
    let mut u = user(name, username, json!({"fullName": "From Git"}));
    u.metadata.labels = Some([(SOURCE_LABEL.to_string(), "git".to_string())].into());
    ns.api::<LastPassUser>()
        .create(&PostParams::default(), &u)
        .await
        .expect("git user")
}

/// Deletes the pulled resources in one call each (the support cleanup goes one by one),
/// then the namespace.
pub async fn cleanup(ns: TestNamespace) {
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

/// Sets the bind password in Secret `ldap-bind`.
pub async fn set_password(ns: &TestNamespace, password: &str) {
    ns.api::<Secret>()
        .patch(
            "ldap-bind",
            &PatchParams::default(),
            &Patch::Merge(json!({"stringData": {"password": password}})),
        )
        .await
        .unwrap();
}

/// A directory loaded with `ldif` and a fresh namespace; `None` when the test must skip
/// (outside CI only).
pub async fn setup(ldif: &str) -> Option<(Slapd, TestNamespace)> {
    let slapd = Slapd::start(ldif)?;
    let cluster = super::super::cluster()?;
    Some((slapd, cluster.namespace().await))
}
