//! Unit tests of [`super::desired`]: a snapshot in, resources out, no directory.

use super::*;
use crate::ldap::directory::{DirectoryGroup, DirectoryUser};

fn target() -> Target {
    Target {
        namespace: "corp".into(),
        integration: "acme".into(),
    }
}

fn user(dn: &str, mail: Option<&str>) -> DirectoryUser {
    DirectoryUser {
        dn: dn.into(),
        username: mail.map(String::from),
        full_name: Some(format!("Name of {dn}")),
        ..Default::default()
    }
}

fn group(dn: &str, name: &str, selected: bool, members: &[&str]) -> DirectoryGroup {
    DirectoryGroup {
        dn: dn.into(),
        name: Some(name.into()),
        members: members.iter().map(|m| m.to_string()).collect(),
        selected,
        ..Default::default()
    }
}

fn find_user<'a>(d: &'a Desired, username: &str) -> &'a LastPassUser {
    d.users
        .values()
        .find(|u| u.spec.username == username)
        .unwrap_or_else(|| panic!("{username} desired: {:?}", d.users.keys()))
}

fn find_group<'a>(d: &'a Desired, name: &str) -> &'a LastPassGroup {
    d.groups
        .values()
        .find(|g| g.spec.group_name == name)
        .unwrap_or_else(|| panic!("{name} desired"))
}

#[test]
fn emails() {
    for ok in ["a@b.c", "jane.doe+x@corp.example.com"] {
        assert!(is_email(ok), "{ok}");
    }
    for bad in ["", "a", "a@b", "a@.b", "a@b.", "@b.c", "a b@c.d", "a@b@c.d"] {
        assert!(!is_email(bad), "{bad}");
    }
}

#[test]
fn users_map_to_labelled_resources() {
    let mut disabled = user("uid=bob,ou=p", Some("Bob@Corp.example"));
    disabled.disabled = true;
    disabled
        .attributes
        .insert("department".into(), "R&D".into());
    let snap = Snapshot {
        nesting: Default::default(),
        users: vec![user("uid=ann,ou=p", Some("ann@corp.example")), disabled],
        groups: vec![],
    };
    let d = desired(&snap, &target(), &LdapSpec::default());
    assert_eq!(d.users.len(), 2);
    let ann = find_user(&d, "ann@corp.example");
    assert_eq!(ann.metadata.namespace.as_deref(), Some("corp"));
    let labels = ann.metadata.labels.as_ref().unwrap();
    assert_eq!(labels[SOURCE_LABEL], "ldap");
    assert_eq!(labels[INTEGRATION_LABEL], "acme");
    assert_eq!(ann.spec.integration_ref.name, "acme");
    assert_eq!(ann.spec.full_name.as_deref(), Some("Name of uid=ann,ou=p"));
    assert!(!ann.spec.suspended);
    let bob = find_user(&d, "Bob@Corp.example");
    assert!(bob.spec.suspended, "disabled in the directory → suspended");
    assert_eq!(bob.spec.attributes["department"], "R&D");
    assert_eq!(
        bob.metadata.name.as_deref(),
        Some(naming::user_name("acme", "bob@corp.example").as_str())
    );
    assert!(d.problems.is_empty(), "{:?}", d.problems);
}

#[test]
fn bad_and_duplicate_usernames_are_skipped_and_held() {
    let snap = Snapshot {
        nesting: Default::default(),
        users: vec![
            user("uid=svc,ou=p", None),
            user("uid=odd,ou=p", Some("not-an-email")),
            user("uid=jane1,ou=p", Some("jane@corp.example")),
            user("uid=jane2,ou=p", Some("JANE@corp.example")),
            user("uid=ok,ou=p", Some("ok@corp.example")),
        ],
        groups: vec![group(
            "cn=all,ou=g",
            "All",
            true,
            &["uid=jane1,ou=p", "uid=ok,ou=p"],
        )],
    };
    let d = desired(&snap, &target(), &LdapSpec::default());
    assert_eq!(d.users.len(), 1, "only ok@ is unambiguous");
    assert!(d.held_usernames.contains("jane@corp.example"));
    assert_eq!(find_group(&d, "All").spec.members, ["ok@corp.example"]);
    let text: Vec<String> = d.problems.iter().map(|p| p.to_string()).collect();
    assert_eq!(d.problems.len(), 3, "{text:?}");
    assert!(
        text.iter().any(|t| t.contains("uid=svc,ou=p: no mail")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("\"not-an-email\" is not an e-mail")),
        "{text:?}"
    );
    assert!(
        text.iter()
            .any(|t| t.contains("held by 2 entries (uid=jane1,ou=p; uid=jane2,ou=p)")),
        "{text:?}"
    );
}

#[test]
fn only_selected_groups_become_resources_with_flattened_members() {
    let snap = Snapshot {
        nesting: Default::default(),
        users: vec![
            user("uid=a,ou=p", Some("a@x.io")),
            user("uid=b,ou=p", Some("b@x.io")),
            user("uid=c,ou=p", Some("c@x.io")),
        ],
        groups: vec![
            group(
                "cn=lastpass-eng,ou=g",
                "lastpass-eng",
                true,
                &["uid=a,ou=p", "cn=backend,ou=g"],
            ),
            group(
                "cn=backend,ou=g",
                "backend",
                false,
                &["UID=B, OU=P", "cn=lastpass-eng,ou=g"],
            ),
            group("cn=lastpass-dup,ou=g", "Dup", true, &[]),
            group("cn=lastpass-dup2,ou=g", "dup", true, &["uid=c,ou=p"]),
        ],
    };
    let d = desired(&snap, &target(), &LdapSpec::default());
    let names: Vec<&str> = d
        .groups
        .values()
        .map(|g| g.spec.group_name.as_str())
        .collect();
    assert_eq!(
        names,
        ["lastpass-eng"],
        "unselected and ambiguous groups are not resources"
    );
    let eng = find_group(&d, "lastpass-eng");
    assert_eq!(
        eng.spec.members,
        ["a@x.io", "b@x.io"],
        "nested member through a cycle"
    );
    assert_eq!(eng.spec.policy, GroupPolicy::Authoritative);
    assert_eq!(eng.metadata.labels.as_ref().unwrap()[SOURCE_LABEL], "ldap");
    assert!(d.held_groups.contains("dup"));
    assert!(matches!(
        d.problems[..],
        [Problem::DuplicateGroupName { .. }]
    ));
}

#[test]
fn the_same_snapshot_gives_the_same_resources() {
    let snap = Snapshot {
        nesting: Default::default(),
        users: (0..50)
            .map(|i| user(&format!("uid=u{i},ou=p"), Some(&format!("u{i}@x.io"))))
            .collect(),
        groups: vec![],
    };
    let mut reversed = snap.clone();
    reversed.users.reverse();
    assert_eq!(
        desired(&snap, &target(), &LdapSpec::default()),
        desired(&reversed, &target(), &LdapSpec::default()),
        "entry order does not matter"
    );
}
