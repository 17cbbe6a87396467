//! `getuserdata` as the simulator answers it: filters, zero-based paging with `total`/`count`,
//! ids as numeric strings, `groups` absent when empty, empty maps as `[]`, zone-less timestamps.

use std::collections::BTreeMap;
use std::sync::LazyLock;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use serde_json::{Map, Value, json};

use super::knobs::{Knobs, NoGroups, NoMatchBody, TimestampZone};
use super::store::{SimUser, Store};

/// US/Eastern without a tz database: EST/EDT with the US rules since 2007.
static EASTERN: LazyLock<TimeZone> =
    LazyLock::new(|| TimeZone::posix("EST5EDT,M3.2.0,M11.1.0").unwrap_or(TimeZone::UTC));

/// Renders a timestamp as `YYYY-MM-DD HH:MM:SS` in the knob's zone, without the zone.
pub(crate) fn format_ts(ts: Timestamp, zone: TimestampZone) -> String {
    let tz = match zone {
        TimestampZone::UsEastern => EASTERN.clone(),
        TimestampZone::Utc => TimeZone::UTC,
    };
    ts.to_zoned(tz).strftime("%Y-%m-%d %H:%M:%S").to_string()
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

/// Answers `getuserdata` with `data` (object or absent).
pub(crate) fn get_user_data(store: &Store, knobs: &Knobs, data: &Value) -> Value {
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
    };
    let total = match &username {
        Some(n) => store.user(n).into_iter().filter(|u| matches(u)).count(),
        None if disabled.is_none() && admin.is_none() => store.users.len(),
        None => store.users.values().filter(|u| matches(u)).count(),
    };
    if total == 0 {
        return match knobs.no_match_body {
            NoMatchBody::UsersOnly => json!({"Users": []}),
            NoMatchBody::WithCounts => json!({"total": 0, "count": 0, "Users": [], "Groups": []}),
        };
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
    let paged = page_size.is_some();
    let mut users = Map::new();
    let mut groups: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for u in &page {
        users.insert(u.id.to_string(), user_json(u, knobs));
        for g in &u.groups {
            groups
                .entry(g.as_str())
                .or_default()
                .push(u.username.as_str());
        }
    }
    for (name, members) in &store.groups {
        if members.is_empty() || !paged {
            groups.entry(name.as_str()).or_default();
        }
    }
    let groups_json = if groups.is_empty() {
        json!([])
    } else {
        Value::Object(
            groups
                .into_iter()
                .map(|(k, v)| (k.to_string(), json!(v)))
                .collect(),
        )
    };
    let users_json = if users.is_empty() {
        json!([])
    } else {
        Value::Object(users)
    };
    json!({"total": total, "count": page.len(), "Users": users_json, "Groups": groups_json})
}

fn user_json(u: &SimUser, knobs: &Knobs) -> Value {
    let zone = knobs.timestamp_zone;
    let created = format_ts(u.created, zone);
    let last_login = u.last_login.map(|t| format_ts(t, zone)).unwrap_or_default();
    let active = !u.neverloggedin;
    let counter = |n: u64| if active { json!(n) } else { Value::Null };
    let mut m = Map::new();
    m.insert("username".into(), json!(u.username));
    m.insert("fullname".into(), json!(u.fullname));
    m.insert("mpstrength".into(), json!(if active { "90" } else { "0" }));
    m.insert("created".into(), json!(created));
    m.insert(
        "last_pw_change".into(),
        json!(if active {
            created.clone()
        } else {
            String::new()
        }),
    );
    m.insert("last_login".into(), json!(last_login));
    m.insert("neverloggedin".into(), json!(u.neverloggedin));
    m.insert("disabled".into(), json!(u.disabled));
    m.insert("admin".into(), json!(u.admin));
    m.insert(
        "totalscore".into(),
        if active { json!("71") } else { Value::Null },
    );
    m.insert("duousername".into(), Value::Null);
    m.insert("sites".into(), counter(0));
    m.insert("notes".into(), counter(0));
    m.insert("formfills".into(), counter(0));
    m.insert("applications".into(), counter(0));
    m.insert("attachments".into(), counter(0));
    m.insert(
        "password_reset_required".into(),
        json!(u.password_reset_required),
    );
    if let Some(mfa) = &u.multifactor {
        m.insert("multifactor".into(), json!(mfa));
    }
    if !u.groups.is_empty() {
        m.insert("groups".into(), json!(u.groups));
    } else if knobs.no_groups == NoGroups::EmptyList {
        m.insert("groups".into(), json!([]));
    }
    Value::Object(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eastern_and_utc_timestamps_are_zone_less() {
        let ts: Timestamp = "2024-03-01T13:10:11Z".parse().unwrap();
        assert_eq!(
            format_ts(ts, TimestampZone::UsEastern),
            "2024-03-01 08:10:11"
        );
        assert_eq!(format_ts(ts, TimestampZone::Utc), "2024-03-01 13:10:11");
        let summer: Timestamp = "2024-07-01T12:00:00Z".parse().unwrap();
        assert_eq!(
            format_ts(summer, TimestampZone::UsEastern),
            "2024-07-01 08:00:00"
        );
    }
}
