//! Deterministic, DNS-safe resource names for users and groups the operator creates (LDAP
//! pull, `Adopt`), and the stable hash behind them and behind plan ids.
//!
//! `<slug>-<hash>`: the slug makes `kubectl get` readable, the hash (FNV-1a 64 of the
//! integration name and the lower-cased key) keeps names apart when slugs collide
//! (`a.b@x.io` and `a-b@x.io`) and when two integrations in one namespace pull one person.
//! At most 63 characters, so a name also fits in a label value.

/// Longest slug kept before the hash.
const MAX_SLUG: usize = 48;

/// Name of the LastPassUser for `username` created for `integration`.
pub fn user_name(integration: &str, username: &str) -> String {
    name(integration, username)
}

/// Name of the LastPassGroup for group `group_name` pulled by `integration`.
pub fn group_name(integration: &str, group_name: &str) -> String {
    name(integration, group_name)
}

fn name(integration: &str, key: &str) -> String {
    let key = key.to_lowercase();
    let mut slug = String::with_capacity(key.len());
    for c in key.chars() {
        if c.is_ascii_alphanumeric() {
            slug.push(c);
        } else if !slug.ends_with('-') && !slug.is_empty() {
            slug.push('-');
        }
    }
    slug.truncate(MAX_SLUG);
    let slug = slug.trim_end_matches('-');
    let hash = fnv1a(format!("{integration}/{key}").as_bytes()) & 0xffff_ffff_ffff;
    if slug.is_empty() {
        format!("x-{hash:012x}")
    } else {
        format!("{slug}-{hash:012x}")
    }
}

/// FNV-1a, 64 bits: stable across Rust releases and runs (unlike `DefaultHasher`).
pub fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// SHA-256 of `bytes` as lower-case hex: the collision-resistant ids of held plans and pulls.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = ring::digest::digest(&ring::digest::SHA256, bytes);
    digest.as_ref().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn dns_label(s: &str) -> bool {
        !s.is_empty()
            && s.len() <= 63
            && s.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
            && !s.starts_with('-')
            && !s.ends_with('-')
    }

    #[test]
    fn readable_stable_and_distinct() {
        let a = user_name("acme", "Jane.Doe@Example.com");
        assert!(a.starts_with("jane-doe-example-com-"), "{a}");
        assert_eq!(
            a,
            user_name("acme", "jane.doe@example.com"),
            "case-insensitive"
        );
        assert_ne!(
            a,
            user_name("acme", "jane-doe@example.com"),
            "slug collision"
        );
        assert_ne!(
            a,
            user_name("other", "jane.doe@example.com"),
            "per integration"
        );
        assert_eq!(
            a,
            "jane-doe-example-com-".to_string() + &a[21..],
            "deterministic"
        );
        assert!(dns_label(&group_name("acme", "лastpass ∑ Admins")));
        assert!(dns_label(&group_name("acme", "∑∑")));
    }

    proptest! {
        #[test]
        fn always_a_dns_label(integration in "[a-z]{1,20}", key in "\\PC{0,200}") {
            prop_assert!(dns_label(&user_name(&integration, &key)));
        }
    }
}
