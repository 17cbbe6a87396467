//! Unit tests of [`super::reconcile`]: ownership, claims, holds, deletions.

use super::*;
use crate::crd::{LastPassUserSpec, LdapSpec};
use crate::ldap::desired::{Desired, desired};
use crate::ldap::directory::{DirectoryUser, Snapshot};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::Time;

fn target() -> Target {
    Target {
        namespace: "corp".into(),
        integration: "acme".into(),
    }
}

fn want(mails: &[&str]) -> Desired {
    let snap = Snapshot {
        nesting: Default::default(),
        users: mails
            .iter()
            .map(|m| DirectoryUser {
                dn: format!("uid={m},ou=p"),
                username: Some(m.to_string()),
                ..Default::default()
            })
            .collect(),
        groups: vec![],
    };
    desired(&snap, &target(), &LdapSpec::default())
}

/// An existing user as the puller would have made it (ours).
fn ours(mail: &str) -> LastPassUser {
    want(&[mail]).users.into_values().next().unwrap()
}

/// An existing user of another source, declaring `mail` for this integration.
fn foreign(name: &str, mail: &str, source: &str) -> LastPassUser {
    let mut u = LastPassUser::new(
        name,
        LastPassUserSpec {
            username: mail.into(),
            ..ours(mail).spec
        },
    );
    u.metadata.namespace = Some("corp".into());
    u.metadata.labels = Some([(SOURCE_LABEL.to_string(), source.to_string())].into());
    u
}

fn names(users: &[LastPassUser]) -> Vec<String> {
    users.iter().map(|u| u.spec.username.clone()).collect()
}

#[test]
fn creates_updates_and_leaves_equal_alone() {
    let mut changed = ours("b@x.io");
    changed.spec.full_name = Some("Old name".into());
    let c = reconcile(
        &want(&["a@x.io", "b@x.io", "c@x.io"]),
        &[changed, ours("c@x.io")],
        &[],
        &target(),
    );
    assert_eq!(names(&c.create_users), ["a@x.io"]);
    assert_eq!(names(&c.update_users), ["b@x.io"]);
    assert!(c.delete_users.is_empty());
    assert_eq!(c.managed_users, 3);
}

#[test]
fn deletes_only_ours_that_left() {
    let mut other_integration = ours("d@x.io");
    other_integration
        .metadata
        .labels
        .as_mut()
        .unwrap()
        .insert(INTEGRATION_LABEL.into(), "globex".into());
    other_integration.spec.integration_ref.name = "globex".into();
    let mut deleting = ours("e@x.io");
    deleting.metadata.deletion_timestamp = Some(Time(jiff::Timestamp::UNIX_EPOCH));
    let c = reconcile(
        &want(&["a@x.io"]),
        &[
            ours("a@x.io"),
            ours("gone@x.io"),
            foreign("git-user", "git@x.io", "git"),
            foreign("scim-user", "scim@x.io", "scim"),
            other_integration,
            deleting,
        ],
        &[],
        &target(),
    );
    assert_eq!(c.delete_users, [ours("gone@x.io").name_any()]);
    assert!(c.create_users.is_empty() && c.update_users.is_empty());
    assert_eq!(c.managed_users, 1);
}

#[test]
fn a_username_claimed_by_another_source_is_skipped_and_reported() {
    let c = reconcile(
        &want(&["jane@x.io", "ok@x.io"]),
        &[foreign("jane", "JANE@x.io", "git")],
        &[],
        &target(),
    );
    assert_eq!(names(&c.create_users), ["ok@x.io"]);
    assert_eq!(
        c.problems,
        [Problem::Claimed {
            kind: "LastPassUser",
            key: "jane@x.io".into(),
            resource: "jane".into()
        }]
    );
    assert!(
        c.delete_users.is_empty(),
        "the git resource is never deleted"
    );
}

#[test]
fn a_name_taken_by_an_unrelated_resource_is_not_taken_over() {
    let name = ours("a@x.io").name_any();
    // Same name, but for another integration and without the ldap labels.
    let mut squatter = foreign(&name, "someone@x.io", "git");
    squatter.spec.integration_ref.name = "globex".into();
    let c = reconcile(&want(&["a@x.io"]), &[squatter], &[], &target());
    assert!(c.create_users.is_empty() && c.update_users.is_empty());
    assert!(matches!(c.problems[..], [Problem::Claimed { .. }]));
}

#[test]
fn a_duplicated_username_keeps_its_existing_resource() {
    let mut d = want(&["ok@x.io"]);
    d.held_usernames.insert("jane@x.io".into());
    let c = reconcile(&d, &[ours("jane@x.io"), ours("ok@x.io")], &[], &target());
    assert!(
        c.delete_users.is_empty(),
        "held, not deleted: {:?}",
        c.delete_users
    );
    assert_eq!(c.managed_users, 2);
}

#[test]
fn sixty_percent_leaving_deletes_exactly_those() {
    let all: Vec<String> = (0..10).map(|i| format!("u{i}@x.io")).collect();
    let existing: Vec<LastPassUser> = all
        .iter()
        .map(|m| ours(m))
        .chain([foreign("git-a", "git-a@x.io", "git")])
        .collect();
    let stay: Vec<&str> = all[..4].iter().map(String::as_str).collect();
    let c = reconcile(&want(&stay), &existing, &[], &target());
    let mut expected: Vec<String> = all[4..].iter().map(|m| ours(m).name_any()).collect();
    expected.sort();
    let mut got = c.delete_users.clone();
    got.sort();
    assert_eq!(got, expected);
}

#[test]
fn an_email_change_under_one_stable_id_keeps_the_resource_and_is_reported() {
    let with_id = |mail: &str, id: &str, disabled: bool| DirectoryUser {
        dn: "cn=ann,ou=p".into(),
        username: Some(mail.into()),
        stable_id: Some(id.into()),
        disabled,
        ..Default::default()
    };
    let snap = |u: DirectoryUser| Snapshot {
        users: vec![u],
        groups: vec![crate::ldap::directory::DirectoryGroup {
            dn: "cn=g,ou=g".into(),
            name: Some("g".into()),
            members: vec!["cn=ann,ou=p".into()],
            selected: true,
            ..Default::default()
        }],
        nesting: Default::default(),
    };
    let spec = LdapSpec::default();
    let before = desired(
        &snap(with_id("ann@x.io", "guid-1", false)),
        &target(),
        &spec,
    );
    let have_users: Vec<LastPassUser> = before.users.values().cloned().collect();
    let have_groups: Vec<LastPassGroup> = before.groups.values().cloned().collect();

    // The same entry (same id), a new e-mail, and disabled at once.
    let after = desired(
        &snap(with_id("ann.lee@x.io", "guid-1", true)),
        &target(),
        &spec,
    );
    let c = reconcile(&after, &have_users, &have_groups, &target());
    assert!(c.create_users.is_empty(), "no second account");
    assert!(c.delete_users.is_empty(), "the old one is kept");
    assert_eq!(names(&c.update_users), ["ann@x.io"], "under its username");
    assert!(
        c.update_users[0].spec.suspended,
        "and still follows the entry"
    );
    assert!(c.update_groups.is_empty(), "groups keep the old username");
    assert_eq!(
        c.problems,
        [Problem::EmailChanged {
            stable_id: "guid-1".into(),
            from: "ann@x.io".into(),
            to: "ann.lee@x.io".into(),
            resource: have_users[0].name_any(),
        }]
    );

    // Another entry (another id) with a new e-mail is a leaver and a joiner.
    let other = desired(
        &snap(with_id("bob@x.io", "guid-2", false)),
        &target(),
        &spec,
    );
    let c = reconcile(&other, &have_users, &have_groups, &target());
    assert_eq!(names(&c.create_users), ["bob@x.io"]);
    assert_eq!(c.delete_users, [have_users[0].name_any()]);
    assert!(c.problems.is_empty());
}
