//! Unit tests of the pull safeguard: limits, the empty pull, approve / reject, the id.

use super::*;
use crate::crd::{LastPassUser, LastPassUserSpec};

fn user(name: &str) -> LastPassUser {
    LastPassUser::new(
        name,
        LastPassUserSpec {
            username: format!("{name}@x.io"),
            ..serde_json::from_value(serde_json::json!({
                "integrationRef": {"name": "acme"}, "username": "x@x.io"
            }))
            .unwrap()
        },
    )
}

/// `keep` users kept, `delete` users leaving, `create` users arriving.
fn changes(keep: usize, delete: usize, create: usize) -> Changes {
    Changes {
        delete_users: (0..delete).map(|i| format!("gone-{i}")).collect(),
        create_users: (0..create).map(|i| user(&format!("new-{i}"))).collect(),
        managed_users: keep + create,
        ..Changes::default()
    }
}

const LIMITS: Limits = Limits {
    max_per_sync: 10,
    max_percent: 10,
};

fn judge_plain(c: &Changes, seen: usize) -> Verdict {
    judge(c, seen, &LIMITS, &Decisions::default())
}

#[test]
fn within_both_limits_proceeds() {
    // 5 of 100 managed: under 10 and under 10 %.
    assert_eq!(judge_plain(&changes(95, 5, 0), 95), Verdict::Proceed);
    // Exactly at both limits is not "more than".
    assert_eq!(judge_plain(&changes(90, 10, 0), 90), Verdict::Proceed);
}

#[test]
fn more_than_max_per_sync_is_held() {
    let v = judge_plain(&changes(989, 11, 0), 989);
    assert!(matches!(v, Verdict::Held(_, HoldCause::OverCount)), "{v:?}");
    assert_eq!(v.held().unwrap().users, 11);
    assert!(!v.deletes());
}

#[test]
fn more_than_max_percent_is_held() {
    // 3 of 20 managed is 15 %: fewer than maxPerSync, more than maxPercent.
    let v = judge_plain(&changes(17, 3, 0), 17);
    assert!(
        matches!(v, Verdict::Held(_, HoldCause::OverPercent)),
        "{v:?}"
    );
    assert_eq!(v.held().unwrap().managed_users, 20);
}

#[test]
fn a_pull_that_saw_no_user_is_held_and_writes_nothing() {
    // One user of 100 left by count and percent, but the search returned nobody.
    let mut c = changes(0, 1, 0);
    c.update_groups = vec![crate::crd::LastPassGroup::new(
        "g",
        serde_json::from_value(serde_json::json!({
            "integrationRef": {"name": "acme"}, "groupName": "G"
        }))
        .unwrap(),
    )];
    let v = judge_plain(&c, 0);
    assert!(
        matches!(v, Verdict::Held(_, HoldCause::NoUsersSeen)),
        "{v:?}"
    );
    let a = allowed(&c, &v);
    assert!(a.is_empty(), "nothing written: {a:?}");
    assert_eq!(a.managed_users, 1);
    // And nothing to do at all is no hold.
    assert_eq!(judge_plain(&Changes::default(), 0), Verdict::Proceed);
}

#[test]
fn a_held_pull_still_creates_and_updates() {
    let c = changes(10, 20, 2);
    let v = judge_plain(&c, 12);
    let a = allowed(&c, &v);
    assert!(a.delete_users.is_empty());
    assert_eq!(a.create_users.len(), 2);
    assert_eq!(a.managed_users, 32);
}

#[test]
fn approval_of_this_id_releases_it_once() {
    let c = changes(5, 20, 0);
    let id = pull_id(&c, 5);
    let consumed = vec![];
    let approve = Decisions {
        approve: Some(&id),
        consumed: &consumed,
        ..Decisions::default()
    };
    let v = judge(&c, 5, &LIMITS, &approve);
    assert!(
        matches!(&v, Verdict::Approved(h) if h.pull_id == id),
        "{v:?}"
    );
    assert_eq!(allowed(&c, &v), c);

    let used = vec![id.clone()];
    let again = Decisions {
        consumed: &used,
        ..approve
    };
    assert!(
        matches!(judge(&c, 5, &LIMITS, &again), Verdict::Held(..)),
        "a consumed approval never approves again"
    );

    let other = changes(5, 21, 0);
    assert!(
        matches!(judge(&other, 5, &LIMITS, &approve), Verdict::Held(..)),
        "an approval releases exactly its set"
    );
}

#[test]
fn rejection_keeps_everything_and_wins_over_approval() {
    let c = changes(5, 20, 0);
    let id = pull_id(&c, 5);
    let both = Decisions {
        approve: Some(&id),
        reject: Some(&id),
        ..Decisions::default()
    };
    let v = judge(&c, 5, &LIMITS, &both);
    assert!(matches!(v, Verdict::Rejected(_)), "{v:?}");
    assert!(allowed(&c, &v).delete_users.is_empty());
    let recorded = vec![id.clone()];
    let later = Decisions {
        rejected: &recorded,
        ..Decisions::default()
    };
    assert!(matches!(
        judge(&c, 5, &LIMITS, &later),
        Verdict::Rejected(_)
    ));
}

#[test]
fn the_id_is_a_stable_sha256_of_the_set() {
    let a = changes(5, 20, 0);
    let mut b = a.clone();
    b.delete_users.reverse();
    assert_eq!(pull_id(&a, 5), pull_id(&b, 5), "order does not matter");
    assert_eq!(pull_id(&a, 5).len(), PULL_ID_PREFIX.len() + 64);
    assert!(pull_id(&a, 5).starts_with("ldap-"));
    assert_ne!(
        pull_id(&a, 5),
        pull_id(&a, 0),
        "an empty pull is told apart"
    );
    let mut c = a.clone();
    c.delete_users.pop();
    assert_ne!(pull_id(&a, 5), pull_id(&c, 5));
}

#[test]
fn records_keep_the_most_recent() {
    let mut list = Vec::new();
    for i in 0..60 {
        record(&mut list, &format!("id-{i}"));
    }
    record(&mut list, "id-59");
    assert_eq!(list.len(), MAX_RECORDED);
    assert_eq!(list.first().unwrap(), "id-10");
    assert_eq!(list.last().unwrap(), "id-59");
}

fn group(name: &str, members: &[&str]) -> crate::crd::LastPassGroup {
    crate::crd::LastPassGroup::new(
        name,
        serde_json::from_value(serde_json::json!({
            "integrationRef": {"name": "acme"}, "groupName": name, "members": members
        }))
        .unwrap(),
    )
}

#[test]
fn held_users_keep_their_memberships() {
    let mut gone = user("gone-0");
    gone.spec.username = "Gone@x.io".into();
    let users = vec![gone, user("a"), user("b")];
    let current = vec![
        group("team", &["a@x.io", "Gone@x.io"]),
        group("ops", &["a@x.io", "gone@x.io"]),
    ];
    let mut c = Changes {
        delete_users: vec!["gone-0".into()],
        // team: gone left and b joined; ops: only gone left.
        update_groups: vec![
            group("team", &["a@x.io", "b@x.io"]),
            group("ops", &["a@x.io"]),
        ],
        ..Changes::default()
    };
    keep_held_members(&mut c, &["gone-0".to_string()], &users, &current);
    assert_eq!(c.update_groups.len(), 1, "ops has nothing left to change");
    assert_eq!(
        c.update_groups[0].spec.members,
        ["a@x.io", "b@x.io", "Gone@x.io"],
        "b joins, gone stays while held"
    );
}
