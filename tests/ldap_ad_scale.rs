//! The AD-sized pull, by hand (ignored by default: loading 10,000 users into Samba takes
//! minutes): 10,000 users and 200 groups, one of 5,000 members nested three deep, in a real
//! Samba AD DC. Prints the directory read time (chain rule, and client-side with AD's 1,500
//! ranges), the compare time (the pure plan), peak memory, and checks that both methods agree
//! and that a steady re-pull writes nothing. Figures go to BENCHMARKS.md.
//!
//! ```sh
//! D=$(mktemp -d); scripts/samba-ad.sh start $D
//! LASTPASS_OPERATOR_TEST_SAMBA=$D/env cargo nextest run --test ldap_ad_scale --run-ignored only --no-capture
//! ```
//! It prints the OU it loaded; `LASTPASS_OPERATOR_TEST_SAMBA_SCALE_OU=<that DN>` measures again
//! without loading.

mod support;

use support::ldap::samba;

use std::time::Instant;

use lastpass_operator::crd::LdapNesting;
use lastpass_operator::ldap::config::Settings;
use samba::*;

const USERS: usize = 10_000;
const GROUPS: usize = 200;

fn rss_kib(field: &str) -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap_or_default()
        .lines()
        .find(|l| l.starts_with(field))
        .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        .unwrap_or(0)
}

#[tokio::test]
#[ignore = "loads 10,000 users into Samba (minutes); run by hand for BENCHMARKS.md"]
async fn ad_sized_pull() {
    let Some(samba) = Samba::get() else { return };
    let ou = match std::env::var("LASTPASS_OPERATOR_TEST_SAMBA_SCALE_OU") {
        Ok(dn) => samba.existing_ou(&dn),
        Err(_) => load(&samba),
    };
    measure(&ou).await;
}

fn load(samba: &Samba) -> Ou {
    let ou = samba.ou("scale");
    let started = Instant::now();
    let names: Vec<String> = (0..USERS).map(|i| format!("s{i:05}")).collect();
    // Two loaders at once; Samba serialises writes, so more do not help.
    let halves: Vec<String> = names
        .chunks(USERS / 2)
        .map(|c| c.iter().map(|n| ou.user(n, UAC_ENABLED)).collect())
        .collect();
    std::thread::scope(|s| {
        for ldif in &halves {
            s.spawn(move || samba.modify(ldif));
        }
    });
    let dn = |i: usize| ou.user_dn(&names[i]);
    // lastpass-big ⊃ big-2 ⊃ big-3: 2,000 + 2,000 + 1,000 = 5,000 users, three deep.
    let mut groups = ou.group("big-3", &(4000..5000).map(dn).collect::<Vec<_>>());
    let mut two: Vec<String> = (2000..4000).map(dn).collect();
    two.push(ou.group_dn("big-3"));
    groups += &ou.group("big-2", &two);
    let mut big: Vec<String> = (0..2000).map(dn).collect();
    big.push(ou.group_dn("big-2"));
    groups += &ou.group("lastpass-big", &big);
    // 197 more selected groups of 50 users each.
    for g in 0..GROUPS - 3 {
        let members: Vec<String> = (0..50).map(|k| dn((g * 50 + k) % USERS)).collect();
        groups += &ou.group(&format!("lastpass-g{g:03}"), &members);
    }
    samba.modify(&groups);
    eprintln!(
        "LOAD {USERS} users, {GROUPS} groups into {}: {:?}",
        ou.dn,
        started.elapsed()
    );
    ou
}

async fn measure(ou: &Ou) {
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
    assert_eq!(chain.users.len(), USERS);
    assert_eq!(chain.groups.len(), GROUPS);

    let spec = ou.spec(LdapNesting::InChain);
    let (mut a, mut b) = (World::default(), World::default());
    let t = Instant::now();
    let first = a.pull(&chain, &spec, no_limits());
    let compare_first = t.elapsed();
    b.pull(&client, &ou.spec(LdapNesting::Client), no_limits());
    assert_eq!(first.allowed.create_users.len(), USERS);
    assert_eq!(a.members("lastpass-big").len(), 5000);
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
