//! RFC 7644 §3.5.2 PATCH, applied to the SCIM JSON of a resource, with the dialects identity
//! providers speak:
//!
//! - op names in any case (`Replace`, `Add`, `Remove`: Entra ID);
//! - path-less `add`/`replace` whose value holds attributes, nested (`{"name":{"givenName":..}}`)
//!   or dotted (`{"name.givenName":..}`: Entra `aadOptscim062020`), or extension URNs as keys;
//! - value paths with a sub-attribute (`emails[type eq "work"].value`), creating the element
//!   when none matches;
//! - member removal by filter (`members[value eq "<id>"]`) or by value list
//!   (`{"op":"Remove","path":"members","value":[{"value":"<id>"}]}`);
//! - read-only attributes (`id`, `meta`, `schemas`) in a value are ignored (Okta sends `id`).
//!
//! String booleans (`"active": "False"`) are left as sent here and coerced by the mapping.

use scim_v2::filter::{AttrPath, PatchPath};
use serde::Deserialize;
use serde_json::{Map, Value};

use std::collections::HashSet;

use super::error::Error;
use super::filter::eval_val;
use super::limits::{MAX_MEMBERS, MAX_OPERATIONS};

/// Schema URN of a PATCH request body.
pub const PATCH_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:PatchOp";

/// Attributes that hold lists.
const MULTI_VALUED: &[&str] = &[
    "emails",
    "phoneNumbers",
    "ims",
    "photos",
    "addresses",
    "groups",
    "entitlements",
    "roles",
    "x509Certificates",
    "members",
];

/// Canonical spelling of the single-valued attributes we know (with [`MULTI_VALUED`]: of every
/// attribute), for keys written by a PATCH.
const CANONICAL: &[&str] = &[
    "userName",
    "displayName",
    "nickName",
    "profileUrl",
    "title",
    "userType",
    "preferredLanguage",
    "locale",
    "timezone",
    "active",
    "externalId",
    "name",
    "givenName",
    "familyName",
    "middleName",
    "honorificPrefix",
    "honorificSuffix",
    "formatted",
    "value",
    "type",
    "primary",
    "display",
];

/// Attributes a client cannot set.
const READ_ONLY: &[&str] = &["id", "meta", "schemas"];

/// One operation of a PATCH request.
#[derive(Debug, Clone, Deserialize)]
pub struct Operation {
    /// `add`, `replace` or `remove`, in any case.
    pub op: String,
    /// Target; absent for path-less `add`/`replace`.
    #[serde(default)]
    pub path: Option<String>,
    /// The value, absent for most removals.
    #[serde(default)]
    pub value: Option<Value>,
}

/// The operations of a PATCH body (`Operations`, in any case).
pub fn operations(body: &Value) -> Result<Vec<Operation>, Error> {
    let Value::Object(o) = body else {
        return Err(Error::InvalidSyntax(
            "PATCH body must be a JSON object".into(),
        ));
    };
    let ops = o
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case("Operations"))
        .map(|(_, v)| v)
        .ok_or_else(|| Error::InvalidSyntax("PATCH body has no Operations".into()))?;
    if ops.as_array().is_some_and(|l| l.len() > MAX_OPERATIONS) {
        return Err(Error::TooMany(format!(
            "a PATCH request may hold at most {MAX_OPERATIONS} operations; split it into several requests"
        )));
    }
    let ops = serde_json::from_value::<Vec<Operation>>(ops.clone())
        .map_err(|e| Error::InvalidSyntax(format!("Operations: {e}")))?;
    let members: usize = ops.iter().map(members_named).sum();
    if members > MAX_MEMBERS {
        return Err(Error::TooMany(format!(
            "a request may name at most {MAX_MEMBERS} members, this one names {members}; split it into several requests"
        )));
    }
    Ok(ops)
}

/// How many group members one operation names (a `members` path, or a path-less value
/// holding `members`).
fn members_named(o: &Operation) -> usize {
    let count = |v: Option<&Value>| match v {
        Some(Value::Array(items)) => items.len(),
        Some(Value::Null) | None => 0,
        Some(_) => 1,
    };
    match o.path.as_deref().map(str::trim) {
        Some(p) if starts_with_ci(p, "members") => count(o.value.as_ref()).max(1),
        Some(_) => 0,
        None => match &o.value {
            Some(Value::Object(attrs)) => count(super::filter::get_ci(attrs, "members")),
            _ => 0,
        },
    }
}

/// Whether `s` starts with the ASCII `prefix`, ignoring case (never slices inside a character).
fn starts_with_ci(s: &str, prefix: &str) -> bool {
    s.as_bytes()
        .get(..prefix.len())
        .is_some_and(|head| head.eq_ignore_ascii_case(prefix.as_bytes()))
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Op {
    Add,
    Replace,
    Remove,
}

/// Applies every operation, in order, to `doc` (a SCIM resource as JSON).
pub fn apply(doc: &mut Value, ops: &[Operation]) -> Result<(), Error> {
    if !doc.is_object() {
        *doc = Value::Object(Map::new());
    }
    let mut next = 0;
    while next < ops.len() {
        // A run of `remove members[value eq "<id>"]` (one operation per member, as Okta and
        // Entra send them) is one pass over the members, not one per operation.
        let run: Vec<String> = ops[next..].iter().map_while(member_removal).collect();
        if run.len() > 1 {
            remove_members(doc.as_object_mut().expect("doc is an object"), &run);
            next += run.len();
            continue;
        }
        let o = &ops[next];
        next += 1;
        let op = match o.op.to_ascii_lowercase().as_str() {
            "add" => Op::Add,
            "replace" => Op::Replace,
            "remove" => Op::Remove,
            other => {
                return Err(Error::InvalidSyntax(format!(
                    "unknown PATCH op {other:?}; use add, replace or remove"
                )));
            }
        };
        let root = doc.as_object_mut().expect("doc is an object");
        match o.path.as_deref().map(str::trim).filter(|p| !p.is_empty()) {
            None => {
                if op == Op::Remove {
                    return Err(Error::InvalidSyntax(
                        "remove needs a path (RFC 7644 §3.5.2.2: noTarget)".into(),
                    ));
                }
                let Some(Value::Object(attrs)) = &o.value else {
                    return Err(Error::InvalidSyntax(
                        "a PATCH without path needs an object value".into(),
                    ));
                };
                for (k, v) in attrs {
                    apply_key(root, op, k, v.clone())?;
                }
            }
            Some(path) => apply_path(root, op, path, o.value.clone())?,
        }
    }
    Ok(())
}

/// The id of `remove members[value eq "<id>"]`, when the operation is exactly that.
fn member_removal(o: &Operation) -> Option<String> {
    use scim_v2::filter::{AttrExp, CompValue, CompareOp, ValFilter};
    if !o.op.eq_ignore_ascii_case("remove") {
        return None;
    }
    let PatchPath::Value(vp) = o.path.as_deref()?.trim().parse::<PatchPath>().ok()? else {
        return None;
    };
    if vp.attr.uri.is_some()
        || vp.sub_attr.is_some()
        || !vp.attr.name.eq_ignore_ascii_case("members")
    {
        return None;
    }
    match &vp.filter {
        ValFilter::Attr(AttrExp::Comparison(p, CompareOp::Eq, CompValue::Str(id)))
            if p.uri.is_none() && p.sub_attr.is_none() && p.name.eq_ignore_ascii_case("value") =>
        {
            Some(id.clone())
        }
        _ => None,
    }
}

/// Removes the members whose `value` equals one of `ids` (ignoring case, as the filter
/// `value eq` compares): what the same removals made one by one leave, in one pass.
fn remove_members(root: &mut Map<String, Value>, ids: &[String]) {
    let wanted: HashSet<String> = ids.iter().map(|id| id.to_lowercase()).collect();
    let Some(key) = find_key(root, "members") else {
        return;
    };
    if let Some(Value::Array(items)) = root.get_mut(&key) {
        items.retain(|item| {
            !value_strings(item)
                .iter()
                .any(|v| wanted.contains(&v.to_lowercase()))
        });
    }
}

/// The strings a `value eq` filter compares for one element: its `value`, or the values of a
/// list there (complex ones by their own `value`).
fn value_strings(item: &Value) -> Vec<&str> {
    let Some(v) = item
        .as_object()
        .and_then(|o| super::filter::get_ci(o, "value"))
    else {
        return Vec::new();
    };
    match v {
        Value::String(s) => vec![s.as_str()],
        Value::Array(list) => list
            .iter()
            .filter_map(|x| match x {
                Value::Object(o) => super::filter::get_ci(o, "value").and_then(Value::as_str),
                other => other.as_str(),
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// One key of a path-less value: a plain attribute, a dotted path, or an extension URN.
fn apply_key(root: &mut Map<String, Value>, op: Op, key: &str, v: Value) -> Result<(), Error> {
    if READ_ONLY.iter().any(|r| r.eq_ignore_ascii_case(key)) {
        return Ok(());
    }
    if is_urn(key) {
        // A whole extension object, or `urn:...:User:attr`.
        if let Value::Object(attrs) = v {
            if key_is_schema(key) {
                let ext = object_at(root, key);
                for (k, v) in attrs {
                    apply_key(ext, op, &k, v)?;
                }
                return Ok(());
            }
            return apply_path(root, op, key, Some(Value::Object(attrs)));
        }
        return apply_path(root, op, key, Some(v));
    }
    if key.contains('.') || key.contains('[') {
        return apply_path(root, op, key, Some(v));
    }
    match (op, v) {
        // Nested objects merge (`{"name": {"givenName": ..}}` keeps familyName).
        (_, Value::Object(attrs)) if !is_multi(key) => {
            let target = object_at(root, key);
            for (k, v) in attrs {
                apply_key(target, op, &k, v)?;
            }
            Ok(())
        }
        (op, v) => set_attr(root, op, key, None, v),
    }
}

fn is_urn(s: &str) -> bool {
    s.len() > 4 && starts_with_ci(s, "urn:")
}

/// `urn:...:2.0:User` (a schema) rather than `urn:...:2.0:User:attr`.
fn key_is_schema(key: &str) -> bool {
    key.rsplit(':')
        .next()
        .is_some_and(|last| matches!(last, "User" | "Group"))
}

fn is_multi(name: &str) -> bool {
    MULTI_VALUED.iter().any(|m| m.eq_ignore_ascii_case(name))
}

fn canonical(name: &str) -> String {
    CANONICAL
        .iter()
        .chain(MULTI_VALUED)
        .find(|c| c.eq_ignore_ascii_case(name))
        .map_or_else(|| name.to_string(), |c| c.to_string())
}

/// The existing key of `o` that equals `name` ignoring case.
fn find_key(o: &Map<String, Value>, name: &str) -> Option<String> {
    if o.contains_key(name) {
        return Some(name.to_string());
    }
    o.keys().find(|k| k.eq_ignore_ascii_case(name)).cloned()
}

/// The object at `o[name]`, created (or replacing a non-object) when needed.
fn object_at<'a>(o: &'a mut Map<String, Value>, name: &str) -> &'a mut Map<String, Value> {
    let key = find_key(o, name).unwrap_or_else(|| canonical(name));
    let slot = o.entry(key).or_insert_with(|| Value::Object(Map::new()));
    if !slot.is_object() {
        *slot = Value::Object(Map::new());
    }
    slot.as_object_mut().expect("just made an object")
}

fn parse_path(path: &str) -> Result<PatchPath, Error> {
    path.parse::<PatchPath>()
        .map_err(|e| Error::InvalidPath(format!("{path:?}: {e}")))
}

fn apply_path(
    root: &mut Map<String, Value>,
    op: Op,
    path: &str,
    value: Option<Value>,
) -> Result<(), Error> {
    // A bare schema URN as path: the value is that extension's attributes.
    if is_urn(path) && key_is_schema(path) {
        return match (op, value) {
            (Op::Remove, _) => {
                if let Some(k) = find_key(root, path) {
                    root.remove(&k);
                }
                Ok(())
            }
            (_, Some(v)) => apply_key(root, op, path, v),
            (_, None) => Err(Error::InvalidValue(format!("{path}: value missing"))),
        };
    }
    match parse_path(path)? {
        PatchPath::Attr(attr) => {
            if READ_ONLY.iter().any(|r| r.eq_ignore_ascii_case(&attr.name)) && attr.uri.is_none() {
                return Ok(());
            }
            let scope = scope_of(root, &attr, op)?;
            let Some(scope) = scope else { return Ok(()) };
            match (op, value) {
                (Op::Remove, v) => remove_attr(scope, &attr, v),
                (_, Some(v)) => set_attr(scope, op, &attr.name, attr.sub_attr.as_deref(), v),
                (_, None) => Err(Error::InvalidValue(format!("{path}: value missing"))),
            }
        }
        PatchPath::Value(vp) => {
            let scope = scope_of(root, &vp.attr, op)?;
            let Some(scope) = scope else { return Ok(()) };
            let key = find_key(scope, &vp.attr.name).unwrap_or_else(|| canonical(&vp.attr.name));
            let sub = vp.sub_attr.as_deref();
            if op == Op::Remove {
                if let Some(Value::Array(items)) = scope.get_mut(&key) {
                    match sub {
                        None => items.retain(|i| !eval_val(&vp.filter, i)),
                        Some(sub) => {
                            for i in items.iter_mut().filter(|i| eval_val(&vp.filter, i)) {
                                if let Value::Object(o) = i
                                    && let Some(k) = find_key(o, sub)
                                {
                                    o.remove(&k);
                                }
                            }
                        }
                    }
                }
                return Ok(());
            }
            let v = value.ok_or_else(|| Error::InvalidValue(format!("{path}: value missing")))?;
            let slot = scope.entry(key).or_insert_with(|| Value::Array(Vec::new()));
            if !slot.is_array() {
                *slot = Value::Array(vec![slot.take()]);
            }
            let items = slot.as_array_mut().expect("array");
            let mut hit = false;
            for i in items.iter_mut().filter(|i| eval_val(&vp.filter, i)) {
                hit = true;
                match (sub, &v) {
                    (Some(sub), v) => {
                        if let Value::Object(o) = i {
                            let k = find_key(o, sub).unwrap_or_else(|| canonical(sub));
                            o.insert(k, v.clone());
                        }
                    }
                    (None, Value::Object(attrs)) => {
                        if let Value::Object(o) = i {
                            for (k, x) in attrs {
                                let k = find_key(o, k).unwrap_or_else(|| canonical(k));
                                o.insert(k, x.clone());
                            }
                        }
                    }
                    (None, other) => *i = other.clone(),
                }
            }
            if !hit {
                // No element matched: make one from the filter's equalities (Entra sends
                // `emails[type eq "work"].value` for a user that has no work e-mail yet).
                let mut element = equalities(&vp.filter);
                match (sub, v) {
                    (Some(sub), v) => {
                        element.insert(canonical(sub), v);
                    }
                    (None, Value::Object(attrs)) => element.extend(attrs),
                    (None, _) => {
                        return Err(Error::InvalidValue(format!(
                            "{path}: no value matches the filter"
                        )));
                    }
                }
                items.push(Value::Object(element));
            }
            Ok(())
        }
    }
}

/// `a eq "x" and b eq "y"` → `{a: "x", b: "y"}`.
fn equalities(f: &scim_v2::filter::ValFilter) -> Map<String, Value> {
    use scim_v2::filter::{AttrExp, CompValue, CompareOp, ValFilter};
    let mut out = Map::new();
    match f {
        ValFilter::Attr(AttrExp::Comparison(p, CompareOp::Eq, v)) => {
            let v = match v {
                CompValue::Str(s) => Value::String(s.clone()),
                CompValue::True => Value::Bool(true),
                CompValue::False => Value::Bool(false),
                CompValue::Number(n) => Value::Number(n.clone()),
                CompValue::Null => Value::Null,
            };
            out.insert(canonical(&p.name), v);
        }
        ValFilter::And(items) => {
            for i in items.as_slice() {
                out.extend(equalities(i));
            }
        }
        _ => {}
    }
    out
}

/// The object an attribute path lives in: the resource, or an extension object. `None` when
/// removing from an extension that is not there.
fn scope_of<'a>(
    root: &'a mut Map<String, Value>,
    attr: &AttrPath,
    op: Op,
) -> Result<Option<&'a mut Map<String, Value>>, Error> {
    match &attr.uri {
        Some(uri)
            if !uri
                .to_ascii_lowercase()
                .starts_with("urn:ietf:params:scim:schemas:core:") =>
        {
            if op == Op::Remove && find_key(root, uri).is_none() {
                return Ok(None);
            }
            Ok(Some(object_at(root, uri)))
        }
        _ => Ok(Some(root)),
    }
}

fn set_attr(
    scope: &mut Map<String, Value>,
    op: Op,
    name: &str,
    sub: Option<&str>,
    v: Value,
) -> Result<(), Error> {
    if let Some(sub) = sub {
        if is_multi(name) {
            // `emails.value`: set on every element (RFC allows it; rare).
            let key = find_key(scope, name).unwrap_or_else(|| canonical(name));
            let slot = scope.entry(key).or_insert_with(|| Value::Array(Vec::new()));
            if let Value::Array(items) = slot {
                if items.is_empty() {
                    items.push(Value::Object(Map::new()));
                }
                for i in items.iter_mut() {
                    if let Value::Object(o) = i {
                        let k = find_key(o, sub).unwrap_or_else(|| canonical(sub));
                        o.insert(k, v.clone());
                    }
                }
            }
            return Ok(());
        }
        let o = object_at(scope, name);
        let k = find_key(o, sub).unwrap_or_else(|| canonical(sub));
        o.insert(k, v);
        return Ok(());
    }
    let key = find_key(scope, name).unwrap_or_else(|| canonical(name));
    if is_multi(name) {
        let new_items = match v {
            Value::Array(items) => items,
            Value::Null => Vec::new(),
            other => vec![other],
        };
        match op {
            Op::Add => {
                let slot = scope.entry(key).or_insert_with(|| Value::Array(Vec::new()));
                if !slot.is_array() {
                    *slot = Value::Array(Vec::new());
                }
                let items = slot.as_array_mut().expect("array");
                // Entra may add a member that is already there: no duplicates (one set, so
                // 10,000 members are 10,000 look-ups, not 10,000 scans).
                let mut seen: HashSet<String> = items.iter().map(element_key).collect();
                for n in new_items {
                    if seen.insert(element_key(&n)) {
                        items.push(n);
                    }
                }
            }
            _ => {
                scope.insert(key, Value::Array(new_items));
            }
        }
        return Ok(());
    }
    // A complex attribute merges: sub-attributes not in the value stay (RFC 7644 §3.5.2.3).
    match v {
        Value::Object(attrs) if scope.get(&key).is_some_and(Value::is_object) => {
            object_at(scope, &key).extend(attrs);
        }
        v => {
            scope.insert(key, v);
        }
    }
    Ok(())
}

/// Elements are the same when their `value`s are equal (or, without `value`, when equal):
/// equal keys mean the same element.
fn element_key(v: &Value) -> String {
    match v.get("value") {
        Some(x) => format!("v{x}"),
        None => format!("e{v}"),
    }
}

fn remove_attr(
    scope: &mut Map<String, Value>,
    attr: &AttrPath,
    value: Option<Value>,
) -> Result<(), Error> {
    let Some(key) = find_key(scope, &attr.name) else {
        return Ok(());
    };
    match (&attr.sub_attr, value) {
        (Some(sub), _) => {
            match scope.get_mut(&key) {
                Some(Value::Object(o)) => {
                    if let Some(k) = find_key(o, sub) {
                        o.remove(&k);
                    }
                }
                Some(Value::Array(items)) => {
                    for i in items.iter_mut() {
                        if let Value::Object(o) = i
                            && let Some(k) = find_key(o, sub)
                        {
                            o.remove(&k);
                        }
                    }
                }
                _ => {}
            }
            Ok(())
        }
        // Entra: `{"op":"Remove","path":"members","value":[{"value":"<id>"}]}`.
        (None, Some(v)) if scope.get(&key).is_some_and(Value::is_array) => {
            let gone = match v {
                Value::Array(items) => items,
                other => vec![other],
            };
            let gone: HashSet<String> = gone.iter().map(element_key).collect();
            if let Some(Value::Array(items)) = scope.get_mut(&key) {
                items.retain(|i| !gone.contains(&element_key(i)));
            }
            Ok(())
        }
        (None, _) => {
            scope.remove(&key);
            Ok(())
        }
    }
}

#[cfg(test)]
#[path = "patch_tests.rs"]
mod tests;
