//! The write commands as the simulator applies them, with the reply forms of §2: `OK`,
//! `WARN` + `errors`, `FAIL` + `error` (string or list per knob), and the `success` form of
//! `disableuser`/`enableuser`.

use jiff::Timestamp;
use serde_json::{Value, json};

use super::knobs::{DelNonMember, DisabledUser, ErrorForm, ExistingUser, Knobs, RemovedUser};
use super::read::{flag, num};
use super::store::Store;

/// Commands the simulator knows.
pub(crate) const KNOWN: &[&str] = &[
    "getuserdata",
    "batchadd",
    "updateuser",
    "batchchangegrp",
    "deluser",
    "disableuser",
    "enableuser",
    "reinviteuser",
    "resetpassword",
];

/// The usernames a request targets (for the call log).
pub(crate) fn targets(data: &Value) -> Vec<String> {
    let one = |v: &Value| -> Option<String> {
        match v {
            Value::String(s) => Some(s.clone()),
            Value::Object(m) => m.get("username").and_then(Value::as_str).map(str::to_owned),
            _ => None,
        }
    };
    match data {
        Value::Array(items) => items.iter().filter_map(one).collect(),
        other => one(other).into_iter().collect(),
    }
}

fn ok() -> Value {
    json!({"status": "OK"})
}

fn fail(msg: String) -> Value {
    json!({"status": "FAIL", "error": msg})
}

fn with_errors(errors: Vec<String>) -> Value {
    if errors.is_empty() {
        ok()
    } else {
        json!({"status": "WARN", "errors": errors})
    }
}

fn unknown_user(username: &str, knobs: &Knobs) -> Value {
    match knobs.unknown_user_error {
        ErrorForm::String => {
            json!({"status": "FAIL", "error": format!("No such user: {username}")})
        }
        ErrorForm::List => {
            json!({"status": "FAIL", "error": [format!("user not found: {username}")]})
        }
    }
}

fn strings(v: Option<&Value>) -> Vec<String> {
    match v {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_owned)
            .collect(),
        Some(Value::String(s)) => vec![s.clone()],
        _ => vec![],
    }
}

fn too_big(items: usize, knobs: &Knobs) -> Option<Value> {
    let max = knobs.max_batch?;
    (items > max).then(|| {
        fail(format!(
            "Too many users in one request: {items} (maximum {max})"
        ))
    })
}

/// Applies one write command and returns its reply body.
pub(crate) fn apply(
    store: &mut Store,
    knobs: &Knobs,
    cmd: &str,
    data: &Value,
    now: Timestamp,
) -> Value {
    match cmd {
        "batchadd" => batch_add(store, knobs, data, now),
        "updateuser" => update_user(store, knobs, data),
        "batchchangegrp" => batch_change_grp(store, knobs, data),
        "deluser" => del_user(store, knobs, data),
        "disableuser" => set_disabled(store, knobs, data, true),
        "enableuser" => set_disabled(store, knobs, data, false),
        "reinviteuser" | "resetpassword" => match data.get("username").and_then(Value::as_str) {
            Some(u) if store.user(u).is_some() => ok(),
            Some(u) => unknown_user(u, knobs),
            None => fail("Missing username".into()),
        },
        other => fail(format!("Unknown command: {other}")),
    }
}

fn batch_add(store: &mut Store, knobs: &Knobs, data: &Value, now: Timestamp) -> Value {
    let Some(items) = data.as_array() else {
        return fail("data must be a list of users".into());
    };
    if let Some(f) = too_big(items.len(), knobs) {
        return f;
    }
    if knobs.batchadd_removed == RemovedUser::Fail {
        let named = |i: &Value| {
            i.get("username")
                .and_then(Value::as_str)
                .map(str::to_lowercase)
        };
        if let Some(gone) = items
            .iter()
            .filter_map(named)
            .find(|u| store.removed.contains(u))
        {
            return fail(format!("{gone} was removed from this company"));
        }
    }
    let mut errors = vec![];
    for item in items {
        let Some(username) = item
            .get("username")
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
        else {
            errors.push("missing username".to_string());
            continue;
        };
        let groups = strings(item.get("groups"));
        let fullname = item.get("fullname").and_then(Value::as_str);
        let attribs = item.get("attribs").and_then(Value::as_object);
        let key = username.to_lowercase();
        let existing = store.users.get(&key).map(|u| u.disabled);
        let replace = match existing {
            None => {
                if knobs
                    .seat_limit
                    .is_some_and(|limit| store.seats_used() >= limit)
                {
                    errors.push(format!(
                        "{username}: no seats left (seat limit {})",
                        knobs.seat_limit.unwrap_or(0)
                    ));
                    continue;
                }
                store.create(username, now);
                if let Some(u) = store.users.get_mut(&key) {
                    u.password_reset_required =
                        flag(item.get("password_reset_required")).unwrap_or(true);
                    u.initial_password_digest = item
                        .get("password")
                        .and_then(Value::as_str)
                        .map(password_digest);
                }
                false
            }
            Some(_) => match knobs.batchadd_existing {
                ExistingUser::Ignore => continue,
                ExistingUser::Warn => {
                    errors.push(format!("{username} already exists"));
                    continue;
                }
                ExistingUser::Update => false,
                ExistingUser::Replace => true,
            },
        };
        if let Some(u) = store.users.get_mut(&key) {
            if let Some(f) = fullname {
                u.fullname = f.to_string();
            }
            for (k, v) in attribs.into_iter().flatten() {
                let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
                u.attribs.insert(k.clone(), v);
            }
            if existing == Some(true) && knobs.batchadd_disabled == DisabledUser::Reenable {
                u.disabled = false;
            }
        }
        if replace {
            let current: Vec<String> = store
                .users
                .get(&key)
                .map(|u| u.groups.iter().map(str::to_string).collect())
                .unwrap_or_default();
            for g in current.iter().filter(|g| !groups.contains(g)) {
                store.leave(&key, g, knobs);
            }
        }
        for g in &groups {
            if let Err(e) = store.join(&key, g, knobs) {
                errors.push(format!("{username}: {e}"));
            }
        }
    }
    with_errors(errors)
}

fn update_user(store: &mut Store, knobs: &Knobs, data: &Value) -> Value {
    let Some(username) = data.get("username").and_then(Value::as_str) else {
        return fail("Missing username".into());
    };
    let Some(user) = store.users.get_mut(&username.to_lowercase()) else {
        return unknown_user(username, knobs);
    };
    if let Some(f) = data.get("fullname").and_then(Value::as_str) {
        user.fullname = f.to_string();
    }
    ok()
}

fn batch_change_grp(store: &mut Store, knobs: &Knobs, data: &Value) -> Value {
    let Some(items) = data.as_array() else {
        return fail("data must be a list".into());
    };
    if let Some(f) = too_big(items.len(), knobs) {
        return f;
    }
    let mut errors = vec![];
    for item in items {
        let Some(username) = item.get("username").and_then(Value::as_str) else {
            errors.push("missing username".to_string());
            continue;
        };
        let key = username.to_lowercase();
        if !store.users.contains_key(&key) {
            errors.push(format!("{username} does not exist"));
            continue;
        }
        for g in strings(item.get("add")) {
            if let Err(e) = store.join(&key, &g, knobs) {
                errors.push(format!("{username}: {e}"));
            }
        }
        for g in strings(item.get("del")) {
            if !store.leave(&key, &g, knobs) && knobs.del_non_member == DelNonMember::Warn {
                errors.push(format!("{username} is not a member of {g}"));
            }
        }
    }
    with_errors(errors)
}

fn del_user(store: &mut Store, knobs: &Knobs, data: &Value) -> Value {
    let Some(username) = data.get("username").and_then(Value::as_str) else {
        return fail("Missing username".into());
    };
    let key = username.to_lowercase();
    let Some(user) = store.users.get_mut(&key) else {
        return unknown_user(username, knobs);
    };
    match num(data.get("deleteaction")).unwrap_or(0) {
        0 => user.disabled = true,
        1 | 2 => {
            store.remove(&key, knobs);
        }
        3 if user.neverloggedin => {
            store.remove(&key, knobs);
        }
        3 => return fail(format!("{username} has already accepted the invitation")),
        other => return fail(format!("Invalid deleteaction: {other}")),
    }
    ok()
}

fn set_disabled(store: &mut Store, knobs: &Knobs, data: &Value, disable: bool) -> Value {
    let names = strings(Some(data));
    if let Some(f) = too_big(names.len(), knobs) {
        return f;
    }
    let (mut changed, mut unchanged, mut errors) = (vec![], vec![], vec![]);
    for name in names {
        let key = name.to_lowercase();
        let seats_full = knobs.seat_limit.is_some_and(|l| store.seats_used() >= l);
        match store.users.get_mut(&key) {
            None => errors.push(format!("No such user: {name}")),
            Some(u) if u.disabled == disable => unchanged.push(name),
            Some(_) if !disable && seats_full => errors.push(format!("{name}: no seats left")),
            Some(u) => {
                u.disabled = disable;
                changed.push(name);
            }
        }
    }
    let list = if disable {
        "disabled_users"
    } else {
        "enabled_users"
    };
    let mut reply = json!({"status": "success", list: changed, "unchanged_users": unchanged});
    if !errors.is_empty() {
        reply["error"] = json!(errors.join("; "));
    }
    reply
}

/// The digest the simulator records of a password sent with `batchadd`.
pub fn password_digest(password: &str) -> String {
    format!("{:016x}", crate::naming::fnv1a(password.as_bytes()))
}
