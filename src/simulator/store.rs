//! The simulated account: users keyed by lower-cased username, an id index for paging, and
//! group memberships. Console-side operations (seed, edit, login) live here too; API commands
//! are in `commands.rs`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use super::knobs::{EmptyGroup, GroupCase, Knobs, UnknownGroup};
use crate::lastpass::GroupNames;

/// First id handed out.
const FIRST_ID: u64 = 10_001;

/// One simulated user.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SimUser {
    /// Numeric id (sent as a string).
    pub id: u64,
    /// Username as first written.
    pub username: String,
    /// Display name.
    #[serde(default)]
    pub fullname: String,
    /// Login blocked.
    #[serde(default)]
    pub disabled: bool,
    /// Account admin.
    #[serde(default)]
    pub admin: bool,
    /// Never logged in (invited).
    #[serde(default)]
    pub neverloggedin: bool,
    /// Last login.
    #[serde(default)]
    pub last_login: Option<Timestamp>,
    /// Creation time.
    pub created: Timestamp,
    /// Group names (as stored in the group registry), shared with the group's other members.
    #[serde(default)]
    pub groups: GroupNames,
    /// Attributes from `batchadd`.
    #[serde(default)]
    pub attribs: BTreeMap<String, String>,
    /// Master password change required at next login.
    #[serde(default)]
    pub password_reset_required: bool,
    /// Two-factor method, if any.
    #[serde(default)]
    pub multifactor: Option<String>,
    /// Digest (FNV-1a, hex) of the password `batchadd` sent when it created the user, if any:
    /// the simulator keeps no password, but tests must tell which one was sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub initial_password_digest: Option<String>,
}

/// A user created "in the console" by a test (admin API).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SeedUser {
    /// Username (an e-mail).
    pub username: String,
    /// Display name.
    pub fullname: String,
    /// Groups.
    pub groups: Vec<String>,
    /// Disabled.
    pub disabled: bool,
    /// Admin.
    pub admin: bool,
    /// Already logged in (active) rather than invited.
    pub active: bool,
    /// Two-factor method.
    pub multifactor: Option<String>,
}

/// A console admin's edit of one user (admin API); absent fields are unchanged.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ConsoleEdit {
    /// New display name.
    pub fullname: Option<String>,
    /// Disable or enable.
    pub disabled: Option<bool>,
    /// Groups to remove the user from.
    pub remove_groups: Vec<String>,
    /// Groups to add the user to.
    pub add_groups: Vec<String>,
}

/// The whole simulated account.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Store {
    /// Users by lower-cased username.
    pub users: BTreeMap<String, SimUser>,
    /// Group name → lower-cased member usernames.
    pub groups: BTreeMap<String, BTreeSet<String>>,
    /// Next id to hand out.
    #[serde(default)]
    pub next_id: u64,
    /// Lower-cased usernames removed from the company or deleted (for `batchadd_removed`).
    #[serde(default)]
    pub removed: BTreeSet<String>,
    /// Id → lower-cased username, for paging in id order.
    #[serde(skip)]
    ids: BTreeMap<u64, String>,
    /// Users when the maps were last rebuilt ([`Store::pack`]).
    #[serde(skip)]
    packed_at: PackedAt,
}

/// Bookkeeping of [`Store::pack`], not part of the account: two stores holding the same
/// account are equal whenever they were packed.
#[derive(Debug, Clone, Copy, Default)]
struct PackedAt(usize);

impl PartialEq for PackedAt {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

/// Users below which the maps are never rebuilt.
const PACK_MIN: usize = 1024;

impl Store {
    /// Loads a store saved by [`Store::save`].
    pub fn load(path: &Path) -> anyhow::Result<Self> {
        let mut s: Store = serde_json::from_slice(&std::fs::read(path)?)?;
        s.ids = s.users.iter().map(|(k, u)| (u.id, k.clone())).collect();
        let max = s.ids.keys().next_back().copied().unwrap_or(0);
        s.next_id = s.next_id.max(max + 1).max(FIRST_ID);
        Ok(s)
    }

    /// Writes the store as JSON.
    pub fn save(&self, path: &Path) -> anyhow::Result<()> {
        std::fs::write(path, serde_json::to_vec_pretty(self)?)?;
        Ok(())
    }

    /// The user with this username (any case).
    pub fn user(&self, username: &str) -> Option<&SimUser> {
        self.users.get(&username.to_lowercase())
    }

    /// Users in id order.
    pub fn users_by_id(&self) -> impl Iterator<Item = &SimUser> {
        self.ids.values().filter_map(|k| self.users.get(k))
    }

    /// Enabled users (seats taken).
    pub fn seats_used(&self) -> usize {
        self.users.values().filter(|u| !u.disabled).count()
    }

    /// Creates a user (invited, enabled) and returns its key. Stable, non-dense ids.
    pub fn create(&mut self, username: &str, now: Timestamp) -> String {
        let key = username.to_lowercase();
        self.removed.remove(&key);
        self.next_id = self.next_id.max(FIRST_ID);
        let id = self.next_id;
        let step = 1 + key
            .bytes()
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(u64::from(b)))
            % 5;
        self.next_id += step;
        let user = SimUser {
            id,
            username: username.to_string(),
            fullname: String::new(),
            disabled: false,
            admin: false,
            neverloggedin: true,
            last_login: None,
            created: now,
            groups: GroupNames::new(),
            attribs: BTreeMap::new(),
            password_reset_required: true,
            multifactor: None,
            initial_password_digest: None,
        };
        self.ids.insert(id, key.clone());
        self.users.insert(key.clone(), user);
        if self.users.len() >= PACK_MIN.max(self.packed_at.0 + self.packed_at.0 / 4) {
            self.pack();
        }
        key
    }

    /// Rebuilds the maps in bulk so that their B-tree nodes are full: users created in key
    /// order leave every node about half full (~10 MiB at 50,000 users). Done each time the
    /// account has grown by a quarter, so a user is moved a bounded number of times.
    fn pack(&mut self) {
        self.users = std::mem::take(&mut self.users).into_iter().collect();
        self.ids = std::mem::take(&mut self.ids).into_iter().collect();
        for members in self.groups.values_mut() {
            *members = std::mem::take(members).into_iter().collect();
        }
        self.packed_at = PackedAt(self.users.len());
    }

    /// Removes a user and its memberships, remembering the username.
    pub fn remove(&mut self, key: &str, knobs: &Knobs) -> Option<SimUser> {
        let user = self.users.remove(key)?;
        self.removed.insert(key.to_string());
        self.ids.remove(&user.id);
        for g in &user.groups {
            self.drop_member(g, key, knobs);
        }
        Some(user)
    }

    /// The registered name of `name` under the case knob, if the group exists.
    pub fn resolve_group(&self, name: &str, case: GroupCase) -> Option<String> {
        if self.groups.contains_key(name) {
            return Some(name.to_string());
        }
        match case {
            GroupCase::Exact => None,
            GroupCase::Insensitive => self
                .groups
                .keys()
                .find(|g| g.eq_ignore_ascii_case(name))
                .cloned(),
        }
    }

    /// Adds a membership; an unknown group is created or refused per knob.
    pub fn join(&mut self, key: &str, group: &str, knobs: &Knobs) -> Result<(), String> {
        let name = match self.resolve_group(group, knobs.group_case) {
            Some(n) => n,
            None if knobs.unknown_group == UnknownGroup::Create => group.to_string(),
            None => return Err(format!("group {group} does not exist")),
        };
        if !self.users.contains_key(key) {
            return Err(format!("{key} does not exist"));
        }
        let shared = self.shared_name(&name);
        if let Some(user) = self.users.get_mut(key) {
            user.groups.insert(shared);
        }
        self.groups.entry(name).or_default().insert(key.to_string());
        Ok(())
    }

    /// The copy of a group name its members already share (a new one for a new group).
    fn shared_name(&self, name: &str) -> Arc<str> {
        self.groups
            .get(name)
            .and_then(|members| members.first())
            .and_then(|member| self.users.get(member))
            .and_then(|u| u.groups.shared(name))
            .cloned()
            .unwrap_or_else(|| Arc::from(name))
    }

    /// Removes a membership; returns whether the user was a member.
    pub fn leave(&mut self, key: &str, group: &str, knobs: &Knobs) -> bool {
        let Some(name) = self.resolve_group(group, knobs.group_case) else {
            return false;
        };
        let was = self
            .users
            .get_mut(key)
            .is_some_and(|u| u.groups.remove(&name));
        if was {
            self.drop_member(&name, key, knobs);
        }
        was
    }

    fn drop_member(&mut self, group: &str, key: &str, knobs: &Knobs) {
        if let Some(members) = self.groups.get_mut(group) {
            members.remove(key);
            if members.is_empty() && knobs.empty_group == EmptyGroup::Vanish {
                self.groups.remove(group);
            }
        }
    }

    /// Creates users as a console admin would; existing usernames are left as they are.
    /// Returns the ids of the seeded users.
    pub fn seed(&mut self, users: &[SeedUser], knobs: &Knobs, now: Timestamp) -> Vec<u64> {
        let mut ids = Vec::with_capacity(users.len());
        for s in users {
            let key = match self.user(&s.username) {
                Some(u) => u.username.to_lowercase(),
                None => self.create(&s.username, now),
            };
            for g in &s.groups {
                let _ = self.join(&key, g, knobs);
            }
            if let Some(u) = self.users.get_mut(&key) {
                u.fullname.clone_from(&s.fullname);
                u.disabled = s.disabled;
                u.admin = s.admin;
                u.multifactor.clone_from(&s.multifactor);
                if s.active {
                    u.neverloggedin = false;
                    u.last_login = Some(now);
                    u.password_reset_required = false;
                }
                ids.push(u.id);
            }
        }
        ids
    }

    /// Applies a console admin's edit. `false` when the user does not exist.
    pub fn edit(&mut self, username: &str, edit: &ConsoleEdit, knobs: &Knobs) -> bool {
        let key = username.to_lowercase();
        let Some(user) = self.users.get_mut(&key) else {
            return false;
        };
        if let Some(f) = &edit.fullname {
            user.fullname.clone_from(f);
        }
        if let Some(d) = edit.disabled {
            user.disabled = d;
        }
        for g in &edit.remove_groups {
            self.leave(&key, g, knobs);
        }
        for g in &edit.add_groups {
            let _ = self.join(&key, g, knobs);
        }
        true
    }

    /// The user logs in: no longer invited, `last_login` set. `false` if unknown.
    pub fn login(&mut self, username: &str, now: Timestamp) -> bool {
        let Some(user) = self.users.get_mut(&username.to_lowercase()) else {
            return false;
        };
        user.neverloggedin = false;
        user.last_login = Some(now);
        user.password_reset_required = false;
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rebuilding_the_maps_keeps_the_account() {
        let mut s = Store::default();
        let knobs = Knobs::default();
        let now = Timestamp::UNIX_EPOCH;
        // Past PACK_MIN and several quarters more: the maps are rebuilt a few times.
        for i in (0..3000).rev() {
            let k = s.create(&format!("u{i:04}@x.io"), now);
            s.join(&k, if i % 2 == 0 { "Even" } else { "Odd" }, &knobs)
                .unwrap();
        }
        assert!(s.packed_at.0 >= 2000, "{:?}", s.packed_at);
        let ids: Vec<u64> = s.users_by_id().map(|u| u.id).collect();
        assert_eq!(ids.len(), 3000);
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(s.users_by_id().next().unwrap().username, "u2999@x.io");
        assert_eq!(
            (s.groups["Even"].len(), s.groups["Odd"].len()),
            (1500, 1500)
        );
        assert_eq!(s.user("u0007@x.io").unwrap().groups, ["Odd"]);
        let shared = s.user("u0001@x.io").unwrap().groups.names()[0].clone();
        assert!(std::sync::Arc::ptr_eq(
            &shared,
            &s.user("u2999@x.io").unwrap().groups.names()[0]
        ));
    }

    #[test]
    fn ids_are_stable_increasing_and_not_dense() {
        let mut s = Store::default();
        let now = Timestamp::UNIX_EPOCH;
        let ids: Vec<u64> = (0..50)
            .map(|i| {
                let k = s.create(&format!("u{i}@x.io"), now);
                s.users[&k].id
            })
            .collect();
        assert!(ids.windows(2).all(|w| w[0] < w[1]));
        assert!(ids.windows(2).any(|w| w[1] - w[0] > 1), "{ids:?}");
        assert_eq!(ids[0], FIRST_ID);
    }

    #[test]
    fn groups_vanish_or_stay_when_empty() {
        let now = Timestamp::UNIX_EPOCH;
        for (empty, kept) in [(EmptyGroup::Vanish, false), (EmptyGroup::Keep, true)] {
            let knobs = Knobs {
                empty_group: empty,
                ..Knobs::default()
            };
            let mut s = Store::default();
            let k = s.create("A@x.io", now);
            s.join(&k, "Eng", &knobs).unwrap();
            assert!(s.leave(&k, "Eng", &knobs));
            assert_eq!(s.groups.contains_key("Eng"), kept);
            assert!(!s.leave(&k, "Eng", &knobs));
        }
    }

    #[test]
    fn group_case_knob() {
        let now = Timestamp::UNIX_EPOCH;
        let mut s = Store::default();
        let k = s.create("a@x.io", now);
        s.join(&k, "Eng", &Knobs::default()).unwrap();
        assert_eq!(s.resolve_group("eng", GroupCase::Exact), None);
        assert_eq!(
            s.resolve_group("eng", GroupCase::Insensitive).as_deref(),
            Some("Eng")
        );
    }

    #[test]
    fn save_and_load_round_trip_rebuilds_the_id_index() {
        let now = Timestamp::UNIX_EPOCH;
        let mut s = Store::default();
        s.seed(
            &[SeedUser {
                username: "a@x.io".into(),
                groups: vec!["G".into()],
                ..Default::default()
            }],
            &Knobs::default(),
            now,
        );
        let path = std::env::temp_dir().join(format!("lp-sim-store-{}.json", std::process::id()));
        s.save(&path).unwrap();
        let loaded = Store::load(&path).unwrap();
        std::fs::remove_file(&path).unwrap();
        assert_eq!(loaded.users_by_id().count(), 1);
        assert_eq!(loaded.groups["G"].len(), 1);
    }
}
