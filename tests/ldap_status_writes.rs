//! The LDAP pull writes the integration's status only when it says something new: a pull of an
//! unchanged directory leaves the integration as it was (its times move on every pull, and are
//! not news), a changed directory is written.

mod support;

use std::time::Duration;

use lastpass_operator::crd::DirectoryIntegration;
use support::builders::INTEGRATION;
use support::ldap::Ldif;
use support::ldap::scenario::*;

#[tokio::test]
async fn a_pull_of_an_unchanged_directory_writes_no_status() {
    let Some((slapd, ns)) = setup(&directory(3, 3)).await else {
        return;
    };
    ldap_integration(&ns, &slapd, spec(&slapd.url)).await;
    pull(&ns).await.expect("the import");
    // The second pull reports what it did (nothing created): news, written.
    pull(&ns).await.expect("second pull");
    let api = ns.api::<DirectoryIntegration>();
    let before = api.get(INTEGRATION).await.unwrap();
    let ldap_before = before.status.clone().unwrap().ldap.unwrap();
    // A later second, so a write would carry a later lastPullTime.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let again = pull(&ns).await.expect("third pull");
    assert_eq!((again.created, again.updated, again.deleted), (0, 0, 0));
    let after = api.get(INTEGRATION).await.unwrap();
    assert_eq!(
        after.metadata.resource_version, before.metadata.resource_version,
        "no status write: {:?}",
        after.status
    );

    slapd.modify(&format!(
        "dn: {}\nchangetype: delete\n",
        Ldif::person_dn("bulk0001")
    ));
    pull(&ns).await.expect("fourth pull");
    let changed = api.get(INTEGRATION).await.unwrap();
    assert_ne!(
        changed.metadata.resource_version, before.metadata.resource_version,
        "a changed directory is written"
    );
    let ldap_after = changed.status.unwrap().ldap.unwrap();
    assert!(
        ldap_after.last_pull_time > ldap_before.last_pull_time,
        "{ldap_after:?}"
    );
    drop(slapd);
    cleanup(ns).await;
}
