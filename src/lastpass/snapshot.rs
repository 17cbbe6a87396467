//! What `getuserdata` says about the account: one decoded page ([`UserPage`]) and the whole
//! account merged from every page ([`Snapshot`]).

use std::collections::{BTreeMap, BTreeSet};

use jiff::civil::DateTime;
use serde::Deserialize;
use serde::de::{self, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

use super::group_names::{GroupNames, Interner};
use super::wire::{
    attribute_map, lenient_bool, lenient_opt_string, lenient_opt_u64, map_or_empty, string_or_list,
};

/// One LastPass user as read back.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct User {
    /// LastPass's numeric id, as the string key it is sent as.
    pub id: String,
    /// Username (an e-mail) as LastPass wrote it.
    pub username: String,
    /// Display name; empty when unset.
    pub fullname: String,
    /// Login blocked (`disableuser`, `deluser` 0, or console).
    pub disabled: bool,
    /// Never logged in: an invited, not yet activated user.
    pub never_logged_in: bool,
    /// Last login, zone-less as sent (the zone is undocumented); `None` if never.
    pub last_login: Option<DateTime>,
    /// Groups the user is a member of.
    pub groups: GroupNames,
    /// Two-factor method, `None` when off.
    pub multifactor: Option<String>,
    /// Account admin (read-only through the API).
    pub admin: bool,
    /// Attributes, if the server sends any (`attribs`/`attributes`).
    pub attributes: BTreeMap<String, String>,
    /// A master password change is required at next login.
    pub password_reset_required: bool,
}

/// The whole account: users keyed by lower-cased username, groups by name.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Snapshot {
    /// Users keyed by lower-cased username.
    pub users: BTreeMap<String, User>,
    /// Group name → member usernames as LastPass wrote them.
    pub groups: BTreeMap<String, BTreeSet<String>>,
}

impl Snapshot {
    /// The user with this username, compared case-insensitively.
    pub fn user(&self, username: &str) -> Option<&User> {
        self.users.get(&username.to_lowercase())
    }

    /// Adds one user found by a filtered read (and its memberships) to the snapshot.
    pub fn insert_user(&mut self, user: User) {
        for g in &user.groups {
            self.groups
                .entry(g.to_string())
                .or_default()
                .insert(user.username.clone());
        }
        self.users.insert(user.username.to_lowercase(), user);
    }

    /// Rebuilds the maps from their sorted entries once every page is merged. Built by
    /// inserts, a B-tree's nodes end up about half full; rebuilt in bulk they are full, which
    /// at 50,000 users is ~10 MiB less for as long as the snapshot lives.
    pub fn compact(&mut self) {
        self.users = std::mem::take(&mut self.users).into_iter().collect();
        for members in self.groups.values_mut() {
            *members = std::mem::take(members).into_iter().collect();
        }
    }

    /// Adds one page's users and groups (group members accumulate across pages).
    pub fn merge(&mut self, page: UserPage) {
        for u in page.users {
            self.users.insert(u.username.to_lowercase(), u);
        }
        for (name, members) in page.groups {
            self.groups.entry(name).or_default().extend(members);
        }
    }
}

/// What a `getuserdata` body holds where the users collection should be. Only
/// [`UsersShape::Listed`] can support a whole-account read; [`UsersShape::EmptyList`] is the
/// documented no-match reply of a filtered read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UsersShape {
    /// `Users` is an object with at least one user.
    Listed,
    /// `Users` is `[]` or `{}`: no match.
    EmptyList,
    /// No recognisable users collection: a bare `[]` body, no `Users` key (`{}`,
    /// `{"status":"OK"}`), or `Users` of another type (`null`).
    #[default]
    Missing,
}

/// One decoded `getuserdata` body.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserPage {
    /// The form of the users collection.
    pub shape: UsersShape,
    /// All matches across pages, when the server says.
    pub total: Option<u64>,
    /// Users in this page, when the server says.
    pub count: Option<u64>,
    /// The page's users, in id order.
    pub users: Vec<User>,
    /// Group name → members, as sent with this page.
    pub groups: BTreeMap<String, BTreeSet<String>>,
}

#[derive(Deserialize)]
struct RawPage {
    #[serde(default, deserialize_with = "lenient_opt_u64")]
    total: Option<u64>,
    #[serde(default, deserialize_with = "lenient_opt_u64")]
    count: Option<u64>,
    #[serde(rename = "Users", default)]
    users: RawUsers,
    #[serde(rename = "Groups", default, deserialize_with = "map_or_empty")]
    groups: BTreeMap<String, Value>,
}

/// The `Users` member, decoded straight off the wire with the form it came in.
#[derive(Default)]
struct RawUsers {
    shape: UsersShape,
    users: BTreeMap<String, RawUser>,
}

impl<'de> Deserialize<'de> for RawUsers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RawUsersVisitor)
    }
}

struct RawUsersVisitor;

impl<'de> Visitor<'de> for RawUsersVisitor {
    type Value = RawUsers;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("an object keyed by user id, or an empty array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<RawUsers, A::Error> {
        let mut users = BTreeMap::new();
        while let Some((k, v)) = access.next_entry::<String, RawUser>()? {
            users.insert(k, v);
        }
        let shape = if users.is_empty() {
            UsersShape::EmptyList
        } else {
            UsersShape::Listed
        };
        Ok(RawUsers { shape, users })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<RawUsers, A::Error> {
        if access.next_element::<IgnoredAny>()?.is_some() {
            return Err(de::Error::custom(
                "Users is a non-empty list, expected an object keyed by user id",
            ));
        }
        Ok(RawUsers {
            shape: UsersShape::EmptyList,
            users: BTreeMap::new(),
        })
    }

    fn visit_unit<E: de::Error>(self) -> Result<RawUsers, E> {
        Ok(RawUsers::default())
    }

    fn visit_none<E: de::Error>(self) -> Result<RawUsers, E> {
        Ok(RawUsers::default())
    }

    fn visit_bool<E: de::Error>(self, _: bool) -> Result<RawUsers, E> {
        Ok(RawUsers::default())
    }

    fn visit_str<E: de::Error>(self, _: &str) -> Result<RawUsers, E> {
        Ok(RawUsers::default())
    }

    fn visit_u64<E: de::Error>(self, _: u64) -> Result<RawUsers, E> {
        Ok(RawUsers::default())
    }

    fn visit_i64<E: de::Error>(self, _: i64) -> Result<RawUsers, E> {
        Ok(RawUsers::default())
    }

    fn visit_f64<E: de::Error>(self, _: f64) -> Result<RawUsers, E> {
        Ok(RawUsers::default())
    }
}

#[derive(Deserialize)]
struct RawUser {
    username: String,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    fullname: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    disabled: bool,
    #[serde(default, deserialize_with = "lenient_bool")]
    neverloggedin: bool,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    last_login: Option<String>,
    #[serde(default, deserialize_with = "string_or_list")]
    groups: Vec<String>,
    #[serde(default, deserialize_with = "lenient_opt_string")]
    multifactor: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    admin: bool,
    #[serde(default, alias = "attributes", deserialize_with = "attribute_map")]
    attribs: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    password_reset_required: bool,
}

/// Decodes one `getuserdata` body (already known to be JSON without a failure status).
pub fn decode_page(body: &[u8]) -> Result<UserPage, serde_json::Error> {
    let body = body
        .strip_prefix(b"\xEF\xBB\xBF")
        .unwrap_or(body)
        .trim_ascii_start();
    // A bare `[]` decodes as no users, but is no recognisable users collection.
    if body.starts_with(b"[") {
        let _: Vec<serde::de::IgnoredAny> = serde_json::from_slice(body)?;
        return Ok(UserPage::default());
    }
    let raw: RawPage = serde_json::from_slice(body)?;
    let RawUsers {
        shape,
        users: raw_users,
    } = raw.users;
    let mut interner = Interner::default();
    let mut users: Vec<User> = raw_users
        .into_iter()
        .map(|(id, u)| User {
            id,
            username: u.username,
            fullname: u.fullname.unwrap_or_default(),
            disabled: u.disabled,
            never_logged_in: u.neverloggedin,
            last_login: u.last_login.as_deref().and_then(parse_timestamp),
            groups: interner.names(u.groups.iter().map(String::as_str)),
            multifactor: u.multifactor,
            admin: u.admin,
            attributes: u.attribs,
            password_reset_required: u.password_reset_required,
        })
        .collect();
    users.sort_by(|a, b| id_order(&a.id).cmp(&id_order(&b.id)));
    let groups = raw
        .groups
        .into_iter()
        .map(|(name, members)| {
            let members = super::wire::value_to_strings(&members)
                .into_iter()
                .collect();
            (name, members)
        })
        .collect();
    Ok(UserPage {
        shape,
        total: raw.total,
        count: raw.count,
        users,
        groups,
    })
}

fn id_order(id: &str) -> (u64, &str) {
    (id.parse().unwrap_or(u64::MAX), id)
}

/// Parses `YYYY-MM-DD HH:MM:SS` (zone-less); `""` and anything else is `None`.
pub fn parse_timestamp(s: &str) -> Option<DateTime> {
    let s = s.trim();
    if s.is_empty() || s.starts_with("0000") {
        return None;
    }
    DateTime::strptime("%Y-%m-%d %H:%M:%S", s)
        .ok()
        .or_else(|| s.parse().ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_the_recorded_example() {
        let body = json!({"total":3,"count":2,
         "Users":{"10001":{"username":"ann@example.com","fullname":"Ann Lee","mpstrength":"90",
           "created":"2024-02-01 09:00:00","last_login":"2024-03-01 08:10:11",
           "neverloggedin":false,"disabled":false,"admin":false,"totalscore":"71",
           "duousername":null,"sites":4,"password_reset_required":false,"groups":["Engineering"]},
          "10002":{"username":"Bob@example.com","fullname":"","mpstrength":"0","last_login":"",
           "neverloggedin":true,"disabled":"0","admin":0,"totalscore":null,"sites":null,
           "password_reset_required":true}},
         "Groups":{"Engineering":["ann@example.com"]}});
        let page = decode_page(body.to_string().as_bytes()).unwrap();
        assert_eq!((page.total, page.count), (Some(3), Some(2)));
        let ann = &page.users[0];
        assert_eq!(ann.id, "10001");
        assert_eq!(
            ann.last_login,
            Some(jiff::civil::date(2024, 3, 1).at(8, 10, 11, 0))
        );
        assert_eq!(ann.groups.iter().collect::<Vec<_>>(), ["Engineering"]);
        let bob = &page.users[1];
        assert!(bob.never_logged_in && !bob.disabled && bob.groups.is_empty());
        assert_eq!(bob.last_login, None);
        let mut snap = Snapshot::default();
        snap.merge(page);
        assert_eq!(
            snap.user("bob@EXAMPLE.com").unwrap().username,
            "Bob@example.com"
        );
        assert_eq!(snap.groups["Engineering"].len(), 1);
    }

    #[test]
    fn compacting_keeps_every_user_and_member() {
        let mut snap = Snapshot::default();
        for page in 0..3 {
            let users: serde_json::Map<String, Value> = (0..40)
                .map(|i| {
                    let n = page * 40 + i;
                    let g = if n % 2 == 0 { "Even" } else { "Odd" };
                    (
                        n.to_string(),
                        json!({"username": format!("u{n:03}@x.io"), "groups": [g]}),
                    )
                })
                .collect();
            let body =
                json!({"Users": users, "Groups": {"Even": [format!("u{:03}@x.io", page * 40)]}});
            snap.merge(decode_page(body.to_string().as_bytes()).unwrap());
        }
        let before = snap.clone();
        snap.compact();
        assert_eq!(snap, before);
        assert_eq!(snap.users.len(), 120);
        assert_eq!(snap.user("U007@X.IO").unwrap().groups, ["Odd"]);
        // One page's users share each group name.
        let odd = |u: &str| snap.user(u).unwrap().groups.names()[0].clone();
        assert!(std::sync::Arc::ptr_eq(&odd("u007@x.io"), &odd("u009@x.io")));
    }

    #[test]
    fn no_match_forms() {
        for body in [
            json!({"Users": []}),
            json!([]),
            json!({"Users": [], "Groups": [], "total": 0}),
        ] {
            let page = decode_page(body.to_string().as_bytes()).unwrap();
            assert!(page.users.is_empty() && page.groups.is_empty(), "{body}");
        }
    }

    #[test]
    fn ids_sort_numerically_and_groups_may_be_empty_lists() {
        let body = json!({"Users": {"9999": {"username": "b@x.io", "groups": []},
                                    "10000": {"username": "a@x.io", "attribs": {"Dept": "R&D", "n": 3}}},
                          "Groups": {"Empty": []}});
        let page = decode_page(body.to_string().as_bytes()).unwrap();
        assert_eq!(page.users[0].id, "9999");
        assert_eq!(page.users[1].attributes["n"], "3");
        assert!(page.groups["Empty"].is_empty());
    }
}
