//! `getuserdata` as the simulator answers it: filters, zero-based paging with `total`/`count`,
//! ids as numeric strings, `groups` absent when empty, empty maps as `[]`, zone-less timestamps.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;
use serde_json::{Value, json};

use crate::lastpass::{GroupNames, LastPassZone};

use super::knobs::{Knobs, NoGroups, NoMatchBody, TimestampZone, WholeRead};
use super::store::{SimUser, Store};

/// The zone the simulator writes its zone-less timestamps in: the operator's default
/// (US/Eastern, from the bundled IANA database), or UTC.
fn zone(zone: TimestampZone) -> LastPassZone {
    match zone {
        TimestampZone::UsEastern => LastPassZone::default(),
        TimestampZone::Utc => LastPassZone::utc(),
    }
}

/// Reads a number sent as a number or a numeric string.
pub(crate) fn num(v: Option<&Value>) -> Option<u64> {
    match v? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// Reads a 0/1 flag sent as a number, string or boolean.
pub(crate) fn flag(v: Option<&Value>) -> Option<bool> {
    match v? {
        Value::Bool(b) => Some(*b),
        Value::Number(n) => n.as_u64().map(|n| n != 0),
        Value::String(s) => Some(matches!(s.trim(), "1" | "true")),
        _ => None,
    }
}

/// Whether a `getuserdata` with `data` reads the whole account (no username, `disabled` or
/// `admin` filter; paging fields allowed).
pub(crate) fn is_whole(data: &Value) -> bool {
    ["username", "disabled", "admin"]
        .iter()
        .all(|k| data.get(k).is_none_or(Value::is_null))
}

/// The body of a whole-account read under an untrusted [`WholeRead`] shape, if one is set
/// (`TotalTooLarge` changes the real pages instead).
fn untrusted_whole(shape: WholeRead) -> Option<Value> {
    match shape {
        WholeRead::Normal | WholeRead::TotalTooLarge => None,
        WholeRead::EmptyArray => Some(json!([])),
        WholeRead::EmptyObject => Some(json!({})),
        WholeRead::NullUsers => Some(json!({"Users": null})),
        WholeRead::StatusOk => Some(json!({"status": "OK"})),
        WholeRead::EmptyUsers => Some(json!({"Users": []})),
    }
}

/// Answers `getuserdata` with `data` (object or absent), as the JSON bytes to send.
pub(crate) fn get_user_data(store: &Store, knobs: &Knobs, data: &Value) -> Vec<u8> {
    let whole = is_whole(data);
    if whole && let Some(body) = untrusted_whole(knobs.whole_read) {
        return body.to_string().into_bytes();
    }
    let hidden: BTreeSet<String> = if whole {
        knobs
            .hide_from_whole_reads
            .iter()
            .map(|u| u.to_lowercase())
            .collect()
    } else {
        BTreeSet::new()
    };
    let username = data
        .get("username")
        .and_then(Value::as_str)
        .map(str::to_lowercase);
    let disabled = flag(data.get("disabled"));
    let admin = flag(data.get("admin"));
    let page_size = num(data.get("pagesize")).map(|s| {
        let s = usize::try_from(s).unwrap_or(usize::MAX).max(1);
        knobs.page_cap.map_or(s, |cap| s.min(cap.max(1)))
    });
    let page_index = num(data.get("pageindex"))
        .and_then(|i| usize::try_from(i).ok())
        .unwrap_or(0);

    let matches = |u: &SimUser| {
        username
            .as_ref()
            .is_none_or(|n| u.username.to_lowercase() == *n)
            && disabled.is_none_or(|d| u.disabled == d)
            && admin.is_none_or(|a| u.admin == a)
            && !hidden.contains(&u.username.to_lowercase())
    };
    let total = match &username {
        Some(n) => store.user(n).into_iter().filter(|u| matches(u)).count(),
        None if disabled.is_none() && admin.is_none() && hidden.is_empty() => store.users.len(),
        None => store.users.values().filter(|u| matches(u)).count(),
    };
    if total == 0 {
        let body = match knobs.no_match_body {
            NoMatchBody::UsersOnly => json!({"Users": []}),
            NoMatchBody::WithCounts => json!({"total": 0, "count": 0, "Users": [], "Groups": []}),
        };
        return body.to_string().into_bytes();
    }
    let page: Vec<&SimUser> = match (&username, page_size) {
        (Some(n), _) => store.user(n).into_iter().filter(|u| matches(u)).collect(),
        (None, Some(size)) => store
            .users_by_id()
            .filter(|u| matches(u))
            .skip(page_index.saturating_mul(size))
            .take(size)
            .collect(),
        (None, None) => store.users_by_id().filter(|u| matches(u)).collect(),
    };
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for u in &page {
        for g in &u.groups {
            groups.entry(g).or_default().push(u.username.as_str());
        }
    }
    for (name, members) in &store.groups {
        if members.is_empty() {
            groups.entry(name.as_str()).or_default();
        }
    }
    let tz = zone(knobs.timestamp_zone);
    let total = if whole && knobs.whole_read == WholeRead::TotalTooLarge {
        total + 5
    } else {
        total
    };
    let out = PageOut {
        total,
        count: page.len(),
        users: MapOrList(
            page.iter()
                .map(|u| (u.id, UserOut::new(u, knobs, &tz)))
                .collect(),
        ),
        groups: MapOrList(groups.into_iter().collect()),
    };
    serde_json::to_vec(&out).unwrap_or_default()
}

/// A map serialized PHP-style: `[]` when empty.
struct MapOrList<K, V>(Vec<(K, V)>);

impl<K: std::fmt::Display, V: Serialize> Serialize for MapOrList<K, V> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        if self.0.is_empty() {
            return s.serialize_seq(Some(0))?.end();
        }
        let mut m = s.serialize_map(Some(self.0.len()))?;
        for (k, v) in &self.0 {
            m.serialize_entry(&k.to_string(), v)?;
        }
        m.end()
    }
}

#[derive(Serialize)]
struct PageOut<'a> {
    total: usize,
    count: usize,
    #[serde(rename = "Users")]
    users: MapOrList<u64, UserOut<'a>>,
    #[serde(rename = "Groups")]
    groups: MapOrList<&'a str, Vec<&'a str>>,
}

/// One user as the recordings show it (counters `null` and `last_login` `""` until the first
/// login; `groups` absent or `[]` per knob when none).
#[derive(Serialize)]
struct UserOut<'a> {
    username: &'a str,
    fullname: &'a str,
    mpstrength: &'static str,
    created: String,
    last_pw_change: String,
    last_login: String,
    neverloggedin: bool,
    disabled: bool,
    admin: bool,
    totalscore: Option<&'static str>,
    duousername: Option<&'static str>,
    sites: Option<u64>,
    notes: Option<u64>,
    formfills: Option<u64>,
    applications: Option<u64>,
    attachments: Option<u64>,
    password_reset_required: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    multifactor: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    groups: Option<&'a GroupNames>,
}

impl<'a> UserOut<'a> {
    fn new(u: &'a SimUser, knobs: &Knobs, tz: &LastPassZone) -> Self {
        let active = !u.neverloggedin;
        let created = tz.render(u.created);
        let counter = active.then_some(0);
        Self {
            username: &u.username,
            fullname: &u.fullname,
            mpstrength: if active { "90" } else { "0" },
            last_pw_change: if active {
                created.clone()
            } else {
                String::new()
            },
            created,
            last_login: u.last_login.map(|t| tz.render(t)).unwrap_or_default(),
            neverloggedin: u.neverloggedin,
            disabled: u.disabled,
            admin: u.admin,
            totalscore: active.then_some("71"),
            duousername: None,
            sites: counter,
            notes: counter,
            formfills: counter,
            applications: counter,
            attachments: counter,
            password_reset_required: u.password_reset_required,
            multifactor: u.multifactor.as_deref(),
            groups: (!u.groups.is_empty() || knobs.no_groups == NoGroups::EmptyList)
                .then_some(&u.groups),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eastern_and_utc_timestamps_are_zone_less() {
        let ts: jiff::Timestamp = "2024-03-01T13:10:11Z".parse().unwrap();
        assert_eq!(
            zone(TimestampZone::UsEastern).render(ts),
            "2024-03-01 08:10:11"
        );
        assert_eq!(zone(TimestampZone::Utc).render(ts), "2024-03-01 13:10:11");
        let summer: jiff::Timestamp = "2024-07-01T12:00:00Z".parse().unwrap();
        assert_eq!(
            zone(TimestampZone::UsEastern).render(summer),
            "2024-07-01 08:00:00"
        );
    }
}
