//! [`GroupNames`]: the groups of one user, small and shared.
//!
//! Every user of an account carries its group names in the snapshot, the declared state and
//! the plan. At 50,000 users a `BTreeSet<String>` per user per copy (a 288-byte B-tree leaf
//! plus one allocation per name) was the largest share of a sync's memory; a sorted slice of
//! names shared through an [`Interner`] is one small allocation per user.

use std::collections::HashSet;
use std::fmt;
use std::sync::Arc;

/// A set of group names: sorted, without duplicates, each name an `Arc<str>` that users of the
/// same group share when built through one [`Interner`].
#[derive(Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GroupNames(Box<[Arc<str>]>);

impl GroupNames {
    /// No groups.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of groups.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// Whether there are no groups.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Whether `name` is one of the groups (exact, case-sensitive, as LastPass compares).
    pub fn contains(&self, name: &str) -> bool {
        self.position(name).is_ok()
    }

    /// The names in order.
    pub fn iter(&self) -> Iter<'_> {
        self.0.iter().map(as_name as fn(&Arc<str>) -> &str)
    }

    /// The shared names in order.
    pub fn names(&self) -> &[Arc<str>] {
        &self.0
    }

    /// The shared copy of `name`, if it is one of the groups.
    pub fn shared(&self, name: &str) -> Option<&Arc<str>> {
        self.position(name).ok().map(|at| &self.0[at])
    }

    /// Adds `name`; `false` if it was already there.
    pub fn insert(&mut self, name: Arc<str>) -> bool {
        match self.position(&name) {
            Ok(_) => false,
            Err(at) => {
                let mut names = std::mem::take(&mut self.0).into_vec();
                names.insert(at, name);
                self.0 = names.into_boxed_slice();
                true
            }
        }
    }

    /// Removes `name`; `false` if it was not there.
    pub fn remove(&mut self, name: &str) -> bool {
        match self.position(name) {
            Ok(at) => {
                let mut names = std::mem::take(&mut self.0).into_vec();
                names.remove(at);
                self.0 = names.into_boxed_slice();
                true
            }
            Err(_) => false,
        }
    }

    /// Removes every group.
    pub fn clear(&mut self) {
        self.0 = Box::default();
    }

    /// Keeps only the names `keep` accepts.
    pub fn retain(&mut self, mut keep: impl FnMut(&str) -> bool) {
        if self.iter().all(&mut keep) {
            return;
        }
        let names = std::mem::take(&mut self.0).into_vec();
        self.0 = names.into_iter().filter(|n| keep(n)).collect();
    }

    /// The names in `self` and not in `other`, in order.
    pub fn difference<'a>(&'a self, other: &'a GroupNames) -> impl Iterator<Item = &'a str> {
        self.iter().filter(|n| !other.contains(n))
    }

    fn position(&self, name: &str) -> Result<usize, usize> {
        self.0.binary_search_by(|n| (**n).cmp(name))
    }

    fn from_vec(mut names: Vec<Arc<str>>) -> Self {
        names.sort_unstable();
        names.dedup();
        Self(names.into_boxed_slice())
    }
}

fn as_name(name: &Arc<str>) -> &str {
    name
}

/// The iterator of [`GroupNames::iter`].
pub type Iter<'a> = std::iter::Map<std::slice::Iter<'a, Arc<str>>, fn(&'a Arc<str>) -> &'a str>;

impl fmt::Debug for GroupNames {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a GroupNames {
    type Item = &'a str;
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

impl FromIterator<Arc<str>> for GroupNames {
    fn from_iter<I: IntoIterator<Item = Arc<str>>>(names: I) -> Self {
        Self::from_vec(names.into_iter().collect())
    }
}

/// Names not shared with any other set (tests, one-off values); use an [`Interner`] for many.
impl FromIterator<String> for GroupNames {
    fn from_iter<I: IntoIterator<Item = String>>(names: I) -> Self {
        Self::from_vec(names.into_iter().map(Arc::from).collect())
    }
}

/// Names not shared with any other set (tests, one-off values); use an [`Interner`] for many.
impl<'a> FromIterator<&'a str> for GroupNames {
    fn from_iter<I: IntoIterator<Item = &'a str>>(names: I) -> Self {
        Self::from_vec(names.into_iter().map(Arc::from).collect())
    }
}

impl<'a> FromIterator<&'a String> for GroupNames {
    fn from_iter<I: IntoIterator<Item = &'a String>>(names: I) -> Self {
        names.into_iter().map(String::as_str).collect()
    }
}

impl Extend<Arc<str>> for GroupNames {
    fn extend<I: IntoIterator<Item = Arc<str>>>(&mut self, names: I) {
        let mut all = std::mem::take(&mut self.0).into_vec();
        all.extend(names);
        *self = Self::from_vec(all);
    }
}

/// Names not shared with any other set (tests, one-off values).
impl Extend<String> for GroupNames {
    fn extend<I: IntoIterator<Item = String>>(&mut self, names: I) {
        self.extend(names.into_iter().map(Arc::<str>::from));
    }
}

/// Names not shared with any other set (tests, one-off values).
impl<const N: usize> From<[&str; N]> for GroupNames {
    fn from(names: [&str; N]) -> Self {
        names.into_iter().collect()
    }
}

impl<const N: usize> PartialEq<[&str; N]> for GroupNames {
    fn eq(&self, other: &[&str; N]) -> bool {
        self.iter().eq(other.iter().copied())
    }
}

/// A list of names, as LastPass and the simulator's saved store write groups.
impl serde::Serialize for GroupNames {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de> serde::Deserialize<'de> for GroupNames {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        Ok(Vec::<String>::deserialize(d)?.into_iter().collect())
    }
}

/// One `Arc<str>` per distinct group name, handed out to every set built through it: a few
/// hundred names shared by tens of thousands of users.
#[derive(Debug, Default)]
pub struct Interner(HashSet<Arc<str>>);

impl Interner {
    /// The shared copy of `name`.
    pub fn intern(&mut self, name: &str) -> Arc<str> {
        if let Some(shared) = self.0.get(name) {
            return shared.clone();
        }
        let shared: Arc<str> = Arc::from(name);
        self.0.insert(shared.clone());
        shared
    }

    /// A set of these names, each shared.
    pub fn names<'a>(&mut self, names: impl IntoIterator<Item = &'a str>) -> GroupNames {
        names.into_iter().map(|n| self.intern(n)).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sorted_without_duplicates_and_searchable() {
        let mut g: GroupNames = ["b", "a", "b", "c"].into_iter().collect();
        assert_eq!(g, ["a", "b", "c"]);
        assert!(g.contains("b") && !g.contains("B"));
        assert!(!g.insert("a".into()));
        assert!(g.insert("ab".into()));
        assert_eq!(g, ["a", "ab", "b", "c"]);
        assert!(g.remove("b") && !g.remove("b"));
        assert_eq!(g, ["a", "ab", "c"]);
        let other: GroupNames = ["ab", "z"].into_iter().collect();
        assert_eq!(g.difference(&other).collect::<Vec<_>>(), ["a", "c"]);
        assert_eq!(format!("{g:?}"), r#"{"a", "ab", "c"}"#);
        let json = serde_json::to_string(&g).unwrap();
        assert_eq!(json, r#"["a","ab","c"]"#);
        assert_eq!(
            serde_json::from_str::<GroupNames>(r#"["c","a","ab","a"]"#).unwrap(),
            g
        );
    }

    #[test]
    fn an_interner_shares_each_name() {
        let mut interner = Interner::default();
        let one = interner.names(["Eng", "Ops"]);
        let two = interner.names(["Ops"]);
        assert!(Arc::ptr_eq(&one.names()[1], &two.names()[0]));
        assert!(Arc::ptr_eq(one.shared("Ops").unwrap(), &two.names()[0]));
        assert!(one.shared("ops").is_none());
        assert_eq!(one, ["Eng", "Ops"]);
    }
}
