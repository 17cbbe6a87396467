//! The AD-sized pull: N users and 200 groups, one of N/2 members nested three deep, in a real
//! Samba AD DC. Checks that the chain rule and client-side nesting (with AD's 1,500-value
//! ranges) agree on every group and that a steady re-pull writes nothing, and prints the read
//! time of each, the compare time (the pure plan) and peak memory.
//!
//! `scripts/test.sh` (and so CI) runs it at N = 500 (~30 s of loading: Samba takes ~70 ms a
//! user). The BENCHMARKS.md figures are N = 10,000 (~12 minutes of loading), by hand:
//!
//! ```sh
//! D=$(mktemp -d); scripts/samba-ad.sh start $D
//! LASTPASS_OPERATOR_TEST_SAMBA=$D/env LASTPASS_OPERATOR_TEST_SAMBA_SCALE_USERS=10000 \
//!   cargo nextest run --test ldap_ad_scale --no-capture
//! ```
//! It prints the OU it loaded; `LASTPASS_OPERATOR_TEST_SAMBA_SCALE_OU=<that DN>` (with the same
//! size) measures again without loading.

mod support;

use support::ldap::samba;

use std::time::Instant;

use lastpass_operator::crd::LdapNesting;
use lastpass_operator::ldap::config::Settings;
use samba::*;

const GROUPS: usize = 200;

/// Users to load: `LASTPASS_OPERATOR_TEST_SAMBA_SCALE_USERS`, 500 when unset (a multiple of 10).
fn users() -> usize {
    std::env::var("LASTPASS_OPERATOR_TEST_SAMBA_SCALE_USERS")
        .ok()
        .and_then(|v| v.parse::<usize>().ok())
        .map_or(500, |n| n.max(10) / 10 * 10)
}

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
async fn ad_sized_pull() {
    let Some(samba) = Samba::get() else { return };
    let n = users();
    let ou = match std::env::var("LASTPASS_OPERATOR_TEST_SAMBA_SCALE_OU") {
        Ok(dn) => samba.existing_ou(&dn),
        Err(_) => load(&samba, n),
    };
    measure(&ou, n).await;
}

fn load(samba: &Samba, users: usize) -> Ou {
    let ou = samba.ou("scale");
    let started = Instant::now();
    let names: Vec<String> = (0..users).map(|i| format!("s{i:05}")).collect();
    // Two loaders at once; Samba serialises writes, so more do not help.
    let halves: Vec<String> = names
        .chunks(users / 2)
        .map(|c| c.iter().map(|n| ou.user(n, UAC_ENABLED)).collect())
        .collect();
    std::thread::scope(|s| {
        for ldif in &halves {
            s.spawn(move || samba.modify(ldif));
        }
    });
    let dn = |i: usize| ou.user_dn(&names[i]);
    // lastpass-big ⊃ big-2 ⊃ big-3: 20 % + 20 % + 10 % = half the users, three deep.
    let tenth = users / 10;
    let mut groups = ou.group("big-3", &(4 * tenth..5 * tenth).map(dn).collect::<Vec<_>>());
    let mut two: Vec<String> = (2 * tenth..4 * tenth).map(dn).collect();
    two.push(ou.group_dn("big-3"));
    groups += &ou.group("big-2", &two);
    let mut big: Vec<String> = (0..2 * tenth).map(dn).collect();
    big.push(ou.group_dn("big-2"));
    groups += &ou.group("lastpass-big", &big);
    // 197 more selected groups of 50 users each.
    for g in 0..GROUPS - 3 {
        let members: Vec<String> = (0..50).map(|k| dn((g * 50 + k) % users)).collect();
        groups += &ou.group(&format!("lastpass-g{g:03}"), &members);
    }
    samba.modify(&groups);
    eprintln!(
        "LOAD {users} users, {GROUPS} groups into {}: {:?}",
        ou.dn,
        started.elapsed()
    );
    ou
}

async fn measure(ou: &Ou, users: usize) {
    let rss_before = rss_kib("VmRSS:");
    let chain_settings = Settings::from_spec(ou.spec(LdapNesting::InChain)).unwrap();
    let mut client_settings = Settings::from_spec(ou.spec(LdapNesting::Client)).unwrap();
    client_settings.member_range_step = Some(1500); // as Windows AD imposes

    let t = Instant::now();
    let chain = ou.read(&chain_settings).await.expect("chain read");
    let chain_read = t.elapsed();
    let t = Instant::now();
    let client = ou.read(&client_settings).await.expect("client read");
    let client_read = t.elapsed();
    assert_eq!(chain.users.len(), users);
    assert_eq!(chain.groups.len(), GROUPS);

    let spec = ou.spec(LdapNesting::InChain);
    let (mut a, mut b) = (World::default(), World::default());
    let t = Instant::now();
    let first = a.pull(&chain, &spec, no_limits());
    let compare_first = t.elapsed();
    b.pull(&client, &ou.spec(LdapNesting::Client), no_limits());
    assert_eq!(first.allowed.create_users.len(), users);
    assert_eq!(a.members("lastpass-big").len(), users / 2);
    assert_eq!(
        a.groups, b.groups,
        "chain rule and client-side agree on every group"
    );

    let t = Instant::now();
    let again = ou.read(&chain_settings).await.expect("re-read");
    let reread = t.elapsed();
    let t = Instant::now();
    let steady = a.pull(&again, &spec, no_limits());
    let compare_steady = t.elapsed();
    assert!(steady.changes.is_empty(), "a steady re-pull writes nothing");

    eprintln!(
        "AD-SIZED PULL: read chain {chain_read:?}, read client (1,500 ranges) {client_read:?}, \
         compare first {compare_first:?}, re-read {reread:?}, compare steady {compare_steady:?} \
         (0 writes); RSS before reads {} MiB, peak {} MiB",
        rss_before / 1024,
        rss_kib("VmHWM:") / 1024
    );
}
