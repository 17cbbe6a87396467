//! Group membership: `member` edges of groups, `memberOf` edges of users and primary-group
//! edges (AD's `primaryGroupID`, which `member` never lists), nested groups flattened
//! breadth-first with a depth limit, or taken as the server resolved them (`InChain`). Cycles
//! are safe (each group is visited once per root). No I/O.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use super::directory::Snapshot;

/// Normalises a DN for comparison: lower-case, no spaces around `,` and `=`.
///
/// Directories return the same DN in one spelling in practice; this absorbs case and
/// spacing differences, not escaping differences (`\2C` vs `\,`).
pub fn normalize_dn(dn: &str) -> String {
    dn.split(',')
        .map(|rdn| {
            rdn.split('=')
                .map(|p| p.trim().to_lowercase())
                .collect::<Vec<_>>()
                .join("=")
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// Result of flattening.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flattened {
    /// Normalised group DN → normalised DNs of the users in it, directly or through nesting.
    pub users_of: BTreeMap<String, BTreeSet<String>>,
    /// Groups (normalised DN) whose nesting went deeper than the limit; members below the
    /// limit are not included.
    pub truncated: BTreeSet<String>,
}

/// Flattens the membership of every **selected** group.
///
/// Depth 1 means direct members only; depth 2 adds members of member groups, and so on.
/// A DN that is neither a known user nor a known group (out of scope, or a foreign security
/// principal) is ignored. A group whose nesting the server resolved
/// ([`super::directory::Chain`]) holds the users whose `memberOf` names it or a group nested
/// in it, plus the primary-group members of those groups (the chain rule does not follow
/// primary groups); no depth limit applies to it.
pub fn flatten(snapshot: &Snapshot, max_depth: usize) -> Flattened {
    let users: BTreeSet<String> = snapshot.users.iter().map(|u| normalize_dn(&u.dn)).collect();
    let groups: BTreeSet<String> = snapshot
        .groups
        .iter()
        .map(|g| normalize_dn(&g.dn))
        .collect();
    // Edges group → members (users and groups).
    let mut children: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for g in &snapshot.groups {
        let set = children.entry(normalize_dn(&g.dn)).or_default();
        set.extend(g.members.iter().map(|m| normalize_dn(m)));
    }
    for u in &snapshot.users {
        for g in &u.member_of {
            let g = normalize_dn(g);
            if groups.contains(&g) {
                children.entry(g).or_default().insert(normalize_dn(&u.dn));
            }
        }
    }
    let primary = primary_members(snapshot);
    for (g, members) in &primary {
        children
            .entry(g.clone())
            .or_default()
            .extend(members.iter().cloned());
    }
    let mut out = Flattened::default();
    for root in snapshot.groups.iter().filter(|g| g.selected) {
        if let Some(chain) = &root.chain {
            // The root and every group nested in it: their direct users (the `memberOf` and
            // primary-group edges above) are the group's users.
            let root = normalize_dn(&root.dn);
            let within =
                std::iter::once(root.clone()).chain(chain.groups.iter().map(|g| normalize_dn(g)));
            let found: BTreeSet<String> = within
                .flat_map(|g| children.get(&g).into_iter().flatten())
                .filter(|m| users.contains(*m))
                .cloned()
                .collect();
            out.users_of.insert(root, found);
            continue;
        }
        let root = normalize_dn(&root.dn);
        let mut seen: BTreeSet<String> = BTreeSet::from([root.clone()]);
        let mut found = BTreeSet::new();
        let mut queue = VecDeque::from([(root.clone(), 1usize)]);
        while let Some((group, depth)) = queue.pop_front() {
            for m in children.get(&group).into_iter().flatten() {
                if users.contains(m) {
                    found.insert(m.clone());
                } else if groups.contains(m) && !seen.contains(m) {
                    if depth >= max_depth {
                        out.truncated.insert(root.clone());
                        continue;
                    }
                    seen.insert(m.clone());
                    queue.push_back((m.clone(), depth + 1));
                }
            }
        }
        out.users_of.insert(root, found);
    }
    out
}

/// Normalised group DN → normalised DNs of the users whose primary group it is (matched by
/// the group's SID).
fn primary_members(snapshot: &Snapshot) -> BTreeMap<String, BTreeSet<String>> {
    let by_sid: BTreeMap<&str, String> = snapshot
        .groups
        .iter()
        .filter_map(|g| g.sid.as_deref().map(|s| (s, normalize_dn(&g.dn))))
        .collect();
    let mut out: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for u in &snapshot.users {
        if let Some(g) = u.primary_group_sid.as_deref().and_then(|s| by_sid.get(s)) {
            out.entry(g.clone())
                .or_default()
                .insert(normalize_dn(&u.dn));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ldap::directory::{Chain, DirectoryGroup, DirectoryUser};

    fn user(dn: &str) -> DirectoryUser {
        DirectoryUser {
            dn: dn.into(),
            ..Default::default()
        }
    }

    fn group(dn: &str, selected: bool, members: &[&str]) -> DirectoryGroup {
        DirectoryGroup {
            dn: dn.into(),
            name: Some(dn.into()),
            members: members.iter().map(|m| m.to_string()).collect(),
            selected,
            ..Default::default()
        }
    }

    fn users_of(f: &Flattened, g: &str) -> Vec<String> {
        f.users_of[&normalize_dn(g)].iter().cloned().collect()
    }

    #[test]
    fn dns_compare_without_case_or_spaces() {
        assert_eq!(
            normalize_dn("CN=Ann Lee, OU=People ,DC=X"),
            "cn=ann lee,ou=people,dc=x"
        );
    }

    #[test]
    fn nesting_cycles_depth_and_member_of() {
        let snap = Snapshot {
            nesting: Default::default(),
            users: vec![
                user("u=a"),
                user("u=b"),
                user("u=c"),
                DirectoryUser {
                    member_of: vec!["G=Top".into()],
                    ..user("u=d")
                },
            ],
            groups: vec![
                // top ⊃ mid ⊃ leaf ⊃ top (a cycle); an unknown DN is ignored.
                group("g=top", true, &["u=a", "g=mid", "u=outside"]),
                group("g=mid", false, &["u=b", "g=leaf"]),
                group("g=leaf", true, &["u=c", "g=top"]),
                group("g=lonely", true, &[]),
            ],
        };
        let f = flatten(&snap, 10);
        assert_eq!(
            users_of(&f, "g=top"),
            ["u=a", "u=b", "u=c", "u=d"],
            "nested and memberOf"
        );
        assert_eq!(
            users_of(&f, "g=leaf"),
            ["u=a", "u=b", "u=c", "u=d"],
            "the cycle closes back"
        );
        assert!(users_of(&f, "g=lonely").is_empty());
        assert!(
            !f.users_of.contains_key("g=mid"),
            "unselected groups are only followed"
        );
        assert!(f.truncated.is_empty());

        let shallow = flatten(&snap, 1);
        assert_eq!(
            users_of(&shallow, "g=top"),
            ["u=a", "u=d"],
            "depth 1: direct members"
        );
        assert!(shallow.truncated.contains("g=top"));
        let two = flatten(&snap, 2);
        assert_eq!(users_of(&two, "g=top"), ["u=a", "u=b", "u=d"]);
    }

    #[test]
    fn primary_groups_count_in_both_methods() {
        let sid = |rid: u32| Some(format!("S-1-5-21-9-{rid}"));
        let snap = |chain: bool| Snapshot {
            nesting: Default::default(),
            users: vec![
                DirectoryUser {
                    primary_group_sid: sid(513),
                    ..user("u=a")
                },
                DirectoryUser {
                    member_of: vec!["g=top".into(), "g=elsewhere".into()],
                    ..user("u=d")
                },
                DirectoryUser {
                    primary_group_sid: sid(513),
                    ..user("u=b")
                },
                DirectoryUser {
                    primary_group_sid: sid(999),
                    ..user("u=c")
                },
            ],
            groups: vec![
                DirectoryGroup {
                    sid: sid(1200),
                    chain: chain.then(|| Chain {
                        groups: vec!["g=users".into()],
                    }),
                    ..group("g=top", true, &["g=users"])
                },
                DirectoryGroup {
                    sid: sid(513),
                    ..group("g=users", false, &[])
                },
                DirectoryGroup {
                    sid: sid(514),
                    ..group("g=direct", true, &[])
                },
            ],
        };
        for chain in [false, true] {
            let f = flatten(&snap(chain), 10);
            assert_eq!(
                users_of(&f, "g=top"),
                ["u=a", "u=b", "u=d"],
                "chain={chain}: primary members of a nested group"
            );
            assert!(users_of(&f, "g=direct").is_empty());
        }
    }
}
