//! Group membership: `member` edges of groups and `memberOf` edges of users, nested groups
//! flattened breadth-first with a depth limit. Cycles are safe (each group is visited once per
//! root). No I/O.

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
/// principal) is ignored.
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
    let mut out = Flattened::default();
    for root in snapshot.groups.iter().filter(|g| g.selected) {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ldap::directory::{DirectoryGroup, DirectoryUser};

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
}
