//! The LDAP pull against a real Active Directory (Samba AD DC, see `support/ldap/samba.rs`),
//! without a cluster: ranged member lists, primary groups, nesting resolved by the server or
//! by the operator, AD's lifecycle signals and the safeguard, each in its own OU.

mod support;

use support::ldap::samba;

use std::collections::BTreeSet;

use lastpass_operator::crd::LdapNesting;
use lastpass_operator::ldap::ad;
use lastpass_operator::ldap::config::Settings;
use lastpass_operator::ldap::desired::Problem;
use lastpass_operator::ldap::directory::Snapshot;
use lastpass_operator::ldap::membership::{flatten, normalize_dn};
use lastpass_operator::ldap::safeguard::{Limits, Verdict};
use lastpass_operator::ldap::{PullReport, synced};
use lastpass_operator::status::Reason;
use samba::*;

fn users_of(snapshot: &Snapshot, group_dn: &str) -> BTreeSet<String> {
    flatten(snapshot, 10)
        .users_of
        .get(&normalize_dn(group_dn))
        .cloned()
        .unwrap_or_else(|| panic!("{group_dn} is not a selected group"))
}

fn settings(ou: &Ou, nesting: LdapNesting) -> Settings {
    Settings::from_spec(ou.spec(nesting)).unwrap()
}

#[tokio::test]
async fn a_1600_member_group_is_read_whole_through_ranges() {
    let Some(samba) = Samba::get() else { return };
    let ou = samba.ou("ranged");
    let names: Vec<String> = (0..1600).map(|i| format!("u{i:04}")).collect();
    let mut ldif: String = names.iter().map(|n| ou.user(n, UAC_ENABLED)).collect();
    let dns: Vec<String> = names.iter().map(|n| ou.user_dn(n)).collect();
    ldif += &ou.group("lastpass-big", &dns);
    samba.modify(&ldif);
    let group = ou.group_dn("lastpass-big");

    // A ranged read that is not followed sees a fraction of the group.
    let mut raw = samba.raw().await;
    let (entries, _) = raw
        .search(
            &group,
            ldap3::Scope::Base,
            "(objectClass=*)",
            vec!["member;range=0-499"],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let first = ldap3::SearchEntry::construct(entries.into_iter().next().unwrap());
    let (attr, chunk) = first.attrs.iter().next().unwrap();
    assert_eq!(attr, "member;range=0-499");
    assert_eq!(chunk.len(), 500, "one range is not the group");

    // The operator follows the ranges (500 at a time, as AD forces 1,500) to the end.
    let mut s = settings(&ou, LdapNesting::Client);
    s.member_range_step = Some(500);
    let snapshot = ou.read(&s).await.expect("read");
    assert_eq!(snapshot.users.len(), 1600);
    let big = snapshot
        .groups
        .iter()
        .find(|g| g.name.as_deref() == Some("lastpass-big"))
        .unwrap();
    assert_eq!(big.members.len(), 1600, "every range merged");
    let expected: BTreeSet<String> = dns.iter().map(|d| normalize_dn(d)).collect();
    assert_eq!(users_of(&snapshot, &group), expected);

    // Without a step the server chooses (Samba: everything, as `member;range=0-*` on AD
    // below its limit), and the chain rule agrees.
    let whole = ou.read(&settings(&ou, LdapNesting::Client)).await.unwrap();
    assert_eq!(users_of(&whole, &group), expected);
    let chain = ou.read(&settings(&ou, LdapNesting::InChain)).await.unwrap();
    assert_eq!(users_of(&chain, &group), expected);
}

/// Reads the RID of an entry's objectSid.
async fn rid(samba: &Samba, dn: &str) -> u32 {
    let mut raw = samba.raw().await;
    let (entries, _) = raw
        .search(dn, ldap3::Scope::Base, "(objectClass=*)", vec!["objectSid"])
        .await
        .unwrap()
        .success()
        .unwrap();
    let e = ldap3::SearchEntry::construct(entries.into_iter().next().unwrap());
    let sid = ad::sid_to_string(&e.bin_attrs["objectSid"][0]).unwrap();
    sid.rsplit_once('-').unwrap().1.parse().unwrap()
}

/// `lastpass-top` ⊃ `mid` ⊃ `leaf` (three deep), each with a direct user; `leaf` is the
/// primary group of `p1` (listed in no `member`); `lastpass-top` also holds a user directly.
async fn nested_ou(samba: &Samba) -> Ou {
    let ou = samba.ou("nested");
    let mut ldif: String = ["t1", "m1", "l1", "p1", "x1"]
        .iter()
        .map(|n| ou.user(n, UAC_ENABLED))
        .collect();
    ldif += &ou.group("leaf", &[ou.user_dn("l1"), ou.user_dn("p1")]);
    ldif += &ou.group("mid", &[ou.user_dn("m1"), ou.group_dn("leaf")]);
    ldif += &ou.group("lastpass-top", &[ou.user_dn("t1"), ou.group_dn("mid")]);
    ldif += &ou.group("lastpass-leaf", &[ou.group_dn("leaf")]);
    samba.modify(&ldif);
    let leaf_rid = rid(samba, &ou.group_dn("leaf")).await;
    // AD needs the user in the group before it becomes the primary one; then `member` no
    // longer lists it.
    samba.modify(&format!(
        "dn: {}\nchangetype: modify\nreplace: primaryGroupID\nprimaryGroupID: {leaf_rid}\n\n",
        ou.user_dn("p1")
    ));
    ou
}

#[tokio::test]
async fn nesting_three_deep_the_chain_rule_and_the_operator_agree_with_primary_groups() {
    let Some(samba) = Samba::get() else { return };
    let ou = nested_ou(&samba).await;
    let mut raw = samba.raw().await;
    let (leaf, _) = raw
        .search(
            &ou.group_dn("leaf"),
            ldap3::Scope::Base,
            "(objectClass=*)",
            vec!["member"],
        )
        .await
        .unwrap()
        .success()
        .unwrap();
    let leaf = ldap3::SearchEntry::construct(leaf.into_iter().next().unwrap());
    assert_eq!(
        leaf.attrs["member"],
        [ou.user_dn("l1")],
        "the primary member is not in `member`"
    );

    let want: BTreeSet<String> = ["t1", "m1", "l1", "p1"]
        .iter()
        .map(|n| normalize_dn(&ou.user_dn(n)))
        .collect();
    let chain = ou.read(&settings(&ou, LdapNesting::InChain)).await.unwrap();
    assert_eq!(chain.nesting, LdapNesting::InChain);
    let client = ou
        .read(&settings(&ou, LdapNesting::default()))
        .await
        .unwrap();
    assert_eq!(client.nesting, LdapNesting::Client, "the default");
    for (how, snap) in [("InChain", &chain), ("Client", &client)] {
        assert_eq!(users_of(snap, &ou.group_dn("lastpass-top")), want, "{how}");
        assert_eq!(
            users_of(snap, &ou.group_dn("lastpass-leaf")),
            [&ou.user_dn("l1"), &ou.user_dn("p1")]
                .iter()
                .map(|d| normalize_dn(d))
                .collect(),
            "{how}: the primary member of a nested group"
        );
    }
    // The whole pull gives the same resources either way.
    let (mut a, mut b) = (World::default(), World::default());
    a.pull(&chain, &ou.spec(LdapNesting::InChain), no_limits());
    b.pull(&client, &ou.spec(LdapNesting::Client), no_limits());
    assert_eq!(a.members("lastpass-top"), b.members("lastpass-top"));
    assert_eq!(a.members("lastpass-top").len(), 4);
}

#[tokio::test]
async fn domain_users_holds_its_members_through_primary_group_ids() {
    let Some(samba) = Samba::get() else { return };
    let ou = samba.ou("primary");
    samba.modify(&format!(
        "{}{}",
        ou.user("a", UAC_ENABLED),
        ou.user("b", UAC_ENABLED)
    ));
    for nesting in [LdapNesting::InChain, LdapNesting::Client] {
        let mut spec = ou.spec(nesting);
        spec.group_base_dn = Some(format!("CN=Users,{}", samba.base));
        spec.group_filter = Some("(cn=Domain Users)".into());
        let s = Settings::from_spec(spec).unwrap();
        let snapshot = ou.read(&s).await.unwrap();
        let members = users_of(
            &snapshot,
            &format!("CN=Domain Users,CN=Users,{}", samba.base),
        );
        assert_eq!(
            members,
            [ou.user_dn("a"), ou.user_dn("b")]
                .iter()
                .map(|d| normalize_dn(d))
                .collect(),
            "{nesting:?}: primaryGroupID 513"
        );
    }
}

fn report(planned: &lastpass_operator::ldap::plan::Planned) -> PullReport {
    PullReport {
        problems: planned.problems.iter().map(|p| p.to_string()).collect(),
        skipped: planned.problems.iter().filter(|p| p.skips_entry()).count(),
        email_changes: planned
            .problems
            .iter()
            .filter(|p| matches!(p, Problem::EmailChanged { .. }))
            .count(),
        safeguard: planned.verdict.clone(),
        ..PullReport::default()
    }
}

#[tokio::test]
async fn disable_expire_rename_mail_change_delete_and_back() {
    let Some(samba) = Samba::get() else { return };
    let ou = samba.ou("life");
    let names = ["dis", "exp", "ren", "mov", "del", "keep"];
    let mut ldif: String = names.iter().map(|n| ou.user(n, UAC_ENABLED)).collect();
    let dns: Vec<String> = names.iter().map(|n| ou.user_dn(n)).collect();
    ldif += &ou.group("lastpass-all", &dns);
    samba.modify(&ldif);
    let s = settings(&ou, LdapNesting::InChain);
    let spec = ou.spec(LdapNesting::InChain);
    let mut world = World::default();
    let first = world.pull(&ou.read(&s).await.unwrap(), &spec, no_limits());
    assert_eq!(first.allowed.create_users.len(), 6, "{:?}", first.problems);
    assert!(world.users.values().all(|u| !u.spec.suspended));
    let ids: BTreeSet<_> = world
        .users
        .values()
        .map(|u| {
            lastpass_operator::ldap::reconcile::stable_id(u)
                .expect("objectGUID")
                .to_string()
        })
        .collect();
    assert_eq!(ids.len(), 6, "one objectGUID each");

    let past = ad::account_expires_at(1_000_000_000); // 2001
    samba.modify(&format!(
        "dn: {dis}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: {UAC_DISABLED}\n\n\
         dn: {exp}\nchangetype: modify\nreplace: accountExpires\naccountExpires: {past}\n\n\
         dn: {ren}\nchangetype: modrdn\nnewrdn: CN=renamed\ndeleteoldrdn: 1\n\n\
         dn: {renamed}\nchangetype: modify\nreplace: sAMAccountName\nsAMAccountName: {sam}\n\n\
         dn: {mov}\nchangetype: modify\nreplace: mail\nmail: {new_mail}\n\n\
         dn: {del}\nchangetype: delete\n\n",
        dis = ou.user_dn("dis"),
        exp = ou.user_dn("exp"),
        ren = ou.user_dn("ren"),
        renamed = ou.user_dn("renamed"),
        sam = ou.sam("renamed"),
        mov = ou.user_dn("mov"),
        new_mail = ou.mail("moved"),
        del = ou.user_dn("del"),
    ));
    let before = world.users.clone();
    let second = world.pull(&ou.read(&s).await.unwrap(), &spec, no_limits());
    let c = &second.allowed;
    assert!(
        c.create_users.is_empty(),
        "nobody new: {:?}",
        c.create_users
    );
    let updated: BTreeSet<&str> = c
        .update_users
        .iter()
        .map(|u| u.spec.username.as_str())
        .collect();
    assert_eq!(
        updated,
        [ou.mail("dis"), ou.mail("exp")]
            .iter()
            .map(String::as_str)
            .collect(),
        "disabled and expired are suspended; the rename and the mail change write nothing"
    );
    assert!(
        world.user(&ou.mail("dis")).unwrap().spec.suspended,
        "disabled"
    );
    assert!(
        world.user(&ou.mail("exp")).unwrap().spec.suspended,
        "expired"
    );
    let ren = world.user(&ou.mail("ren")).unwrap();
    assert_eq!(
        ren,
        before
            .values()
            .find(|u| u.spec.username == ou.mail("ren"))
            .unwrap()
    );
    assert_eq!(c.delete_users.len(), 1);
    assert!(
        world.user(&ou.mail("del")).is_none(),
        "deleted in AD → deprovisioned"
    );
    assert!(
        world.user(&ou.mail("mov")).is_some(),
        "the old username stays"
    );
    assert!(world.user(&ou.mail("moved")).is_none(), "no second account");
    assert!(
        world.members("lastpass-all").contains(&ou.mail("mov")),
        "group membership follows the kept username"
    );
    assert!(
        second.problems.iter().any(|p| matches!(p,
            Problem::EmailChanged { from, to, .. } if *from == ou.mail("mov") && *to == ou.mail("moved"))),
        "{:?}",
        second.problems
    );
    let verdict = synced(&report(&second));
    assert_eq!(verdict.reason, Reason::EmailChanged);
    assert!(!verdict.ok);
    assert!(
        verdict.message.contains(&ou.mail("moved")),
        "{}",
        verdict.message
    );

    // Re-enabled, no longer expiring ("0" is never), the mail restored: back to normal.
    samba.modify(&format!(
        "dn: {dis}\nchangetype: modify\nreplace: userAccountControl\nuserAccountControl: {UAC_ENABLED}\n\n\
         dn: {exp}\nchangetype: modify\nreplace: accountExpires\naccountExpires: 0\n\n\
         dn: {mov}\nchangetype: modify\nreplace: mail\nmail: {old}\n\n",
        dis = ou.user_dn("dis"),
        exp = ou.user_dn("exp"),
        mov = ou.user_dn("mov"),
        old = ou.mail("mov"),
    ));
    let third = world.pull(&ou.read(&s).await.unwrap(), &spec, no_limits());
    assert!(third.problems.is_empty(), "{:?}", third.problems);
    assert!(
        !world.user(&ou.mail("dis")).unwrap().spec.suspended,
        "re-enabled"
    );
    assert!(
        !world.user(&ou.mail("exp")).unwrap().spec.suspended,
        "never expires"
    );
    assert_eq!(synced(&report(&third)).reason, Reason::Ok);
    // A steady re-pull writes nothing.
    let steady = world.pull(&ou.read(&s).await.unwrap(), &spec, no_limits());
    assert!(steady.changes.is_empty(), "{:?}", steady.changes);
}

#[tokio::test]
async fn deleting_many_users_in_ad_is_held_by_the_safeguard() {
    let Some(samba) = Samba::get() else { return };
    let ou = samba.ou("mass");
    let names: Vec<String> = (0..30).map(|i| format!("m{i:02}")).collect();
    samba.modify(
        &names
            .iter()
            .map(|n| ou.user(n, UAC_ENABLED))
            .collect::<String>(),
    );
    let s = settings(&ou, LdapNesting::Client);
    let spec = ou.spec(LdapNesting::Client);
    let limits = Limits {
        max_per_sync: 10,
        max_percent: 10,
    };
    let mut world = World::default();
    world.pull(&ou.read(&s).await.unwrap(), &spec, limits);
    assert_eq!(world.users.len(), 30);

    samba.modify(
        &names[..20]
            .iter()
            .map(|n| format!("dn: {}\nchangetype: delete\n\n", ou.user_dn(n)))
            .collect::<String>(),
    );
    let held = world.pull(&ou.read(&s).await.unwrap(), &spec, limits);
    assert!(
        matches!(held.verdict, Verdict::Held(..)),
        "{:?}",
        held.verdict
    );
    assert_eq!(held.changes.delete_users.len(), 20);
    assert!(
        held.allowed.delete_users.is_empty(),
        "nothing deleted while held"
    );
    assert_eq!(world.users.len(), 30);
    let verdict = synced(&report(&held));
    assert_eq!(verdict.reason, Reason::OverSafeguard);
}
