//! The LDAP pull following a real directory (slapd) on a real API server: attribute change,
//! disable, leaving and re-entering scope, group nesting change, other sources untouched, and
//! the `LdapReachable` reasons (bind, TLS, timeout, unreachable, search).

mod support;

use std::time::{Duration, Instant};

use kube::ResourceExt;
use lastpass_operator::crd::{CaSecretRef, DirectoryIntegration, LdapSpec, SOURCE_LABEL};
use support::builders::INTEGRATION;
use support::ldap::scenario::*;
use support::ldap::{BIND_PW, Ldif};

#[tokio::test]
async fn resources_follow_directory_changes_over_starttls() {
    let Some((slapd, ns)) = setup(&directory(20, 20)).await else {
        return;
    };
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
    ldap_integration(&ns, &slapd, ldap).await;
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
async fn ldap_reachable_says_why() {
    let Some((slapd, ns)) = setup(&directory(5, 5)).await else {
        return;
    };
    ldap_integration(&ns, &slapd, spec(&slapd.url)).await;
    let first = pull(&ns).await.unwrap();
    assert_eq!(first.managed_users, 9);

    let wrong = "Wr0ng-and-secret";
    set_password(&ns, wrong).await;
    let err = pull(&ns).await.unwrap_err();
    assert_eq!(
        err.reason(),
        lastpass_operator::status::Reason::BindFailed,
        "{err}"
    );
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
        (
            "the chain rule on a directory that is not Active Directory",
            LdapSpec {
                membership: lastpass_operator::crd::LdapMembership {
                    nesting: lastpass_operator::crd::LdapNesting::InChain,
                    ..Default::default()
                },
                ..spec(&slapd.url)
            },
            "ConfigInvalid",
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
    assert_eq!(
        err.reason(),
        lastpass_operator::status::Reason::Timeout,
        "{err}"
    );
    assert!(started.elapsed() < Duration::from_secs(10));
    let (_, reason, _) = condition(&ns, "LdapReachable").await;
    assert_eq!(reason, "Timeout");
    let (status, reason, _) = condition(&ns, "LdapSynced").await;
    assert_eq!((status.as_str(), reason.as_str()), ("False", "PullFailed"));
    drop(silent);
    drop(slapd);
    cleanup(ns).await;
}

#[tokio::test]
async fn ldap_examples_are_accepted_by_the_server() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let ns = cluster.namespace().await;
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/ldap");
    let (ok, stdout, stderr) =
        cluster.kubectl(&["apply", "-n", &ns.name, "-f", dir.to_str().unwrap()]);
    assert!(
        ok,
        "kubectl apply of examples/ldap failed:\n{stdout}\n{stderr}"
    );
    for name in ["acme-openldap", "acme-ad"] {
        let di = ns
            .api::<DirectoryIntegration>()
            .get(name)
            .await
            .expect(name);
        assert!(di.spec.ldap.is_some(), "{name} keeps spec.ldap");
    }
    ns.cleanup().await;
}
