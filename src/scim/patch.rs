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
mod tests {
    use super::*;
    use serde_json::json;

    fn run(doc: Value, body: Value) -> Value {
        let mut doc = doc;
        apply(&mut doc, &operations(&body).unwrap()).unwrap();
        doc
    }

    fn user() -> Value {
        json!({
            "userName": "jane@example.com",
            "name": {"givenName": "Jane", "familyName": "Doe"},
            "emails": [{"value": "jane@example.com", "type": "work", "primary": true}],
            "active": true
        })
    }

    #[test]
    fn okta_pathless_replace_of_active() {
        let d = run(
            user(),
            json!({"Operations":[{"op":"replace","value":{"active":false}}]}),
        );
        assert_eq!(d["active"], json!(false));
        assert_eq!(d["name"]["givenName"], "Jane");
    }

    #[test]
    fn entra_capitalised_ops_and_string_boolean() {
        let d = run(
            user(),
            json!({"Operations":[
                {"op":"Replace","path":"active","value":"False"},
                {"op":"Replace","path":"name.givenName","value":"Janet"},
                {"op":"Add","path":"emails[type eq \"work\"].value","value":"janet@example.com"},
                {"op":"Replace","path":"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department","value":"R&D"},
                {"op":"Add","path":"title","value":"Engineer"}
            ]}),
        );
        assert_eq!(d["active"], json!("False"), "coerced later by the mapping");
        assert_eq!(d["name"]["givenName"], "Janet");
        assert_eq!(d["name"]["familyName"], "Doe");
        assert_eq!(d["emails"][0]["value"], "janet@example.com");
        assert_eq!(d["emails"].as_array().unwrap().len(), 1);
        assert_eq!(
            d["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
            "R&D"
        );
        assert_eq!(d["title"], "Engineer");
    }

    #[test]
    fn entra_value_path_creates_missing_element() {
        let d = run(
            json!({"userName": "a@x.io"}),
            json!({"Operations":[{"op":"Add","path":"emails[type eq \"work\"].value","value":"a@x.io"}]}),
        );
        assert_eq!(d["emails"], json!([{"type":"work","value":"a@x.io"}]));
    }

    #[test]
    fn entra_2020_dotted_pathless_keys() {
        let d = run(
            user(),
            json!({"Operations":[{"op":"replace","value":{"name.givenName":"J","name.familyName":"D","active":false,"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber":"7"}}]}),
        );
        assert_eq!(d["name"], json!({"givenName":"J","familyName":"D"}));
        assert_eq!(d["active"], json!(false));
        assert_eq!(
            d["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["employeeNumber"],
            "7"
        );
    }

    #[test]
    fn member_add_remove_in_every_form() {
        let g = json!({"displayName": "Eng", "members": [{"value": "a"}, {"value": "b"}]});
        let d = run(
            g.clone(),
            json!({"Operations":[{"op":"add","path":"members","value":[{"value":"c","display":"c@x.io"},{"value":"a"}]}]}),
        );
        assert_eq!(d["members"].as_array().unwrap().len(), 3, "no duplicate a");
        let d = run(
            g.clone(),
            json!({"Operations":[{"op":"remove","path":"members[value eq \"a\"]"}]}),
        );
        assert_eq!(d["members"], json!([{"value":"b"}]));
        let d = run(
            g.clone(),
            json!({"Operations":[{"op":"Remove","path":"members","value":[{"value":"b"}]}]}),
        );
        assert_eq!(d["members"], json!([{"value":"a"}]));
        let d = run(
            g.clone(),
            json!({"Operations":[{"op":"remove","path":"members"}]}),
        );
        assert!(d.get("members").is_none());
        let d = run(
            g,
            json!({"Operations":[{"op":"replace","path":"members","value":[{"value":"z"}]}]}),
        );
        assert_eq!(d["members"], json!([{"value":"z"}]));
    }

    #[test]
    fn okta_group_rename_ignores_id() {
        let g = json!({"id": "keep", "displayName": "Eng"});
        let d = run(
            g,
            json!({"Operations":[{"op":"replace","value":{"id":"other","displayName":"Engineering"}}]}),
        );
        assert_eq!(d["id"], "keep");
        assert_eq!(d["displayName"], "Engineering");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]
        /// Any op, path and value: an error or a document, never a panic.
        #[test]
        fn arbitrary_operations_never_panic(
            op in "(add|Replace|remove|REMOVE|move)",
            path in proptest::option::of(r#"[a-zA-Z\[\]\. "=:0-9]{0,40}"#),
            value in proptest::option::of(proptest::prop_oneof![
                proptest::prelude::Just(json!(null)),
                proptest::prelude::Just(json!("x")),
                proptest::prelude::Just(json!(false)),
                proptest::prelude::Just(json!([{"value": "a"}, "b"])),
                proptest::prelude::Just(json!({"name.givenName": "n", "emails": 1, "urn:x:User": {"a": 1}})),
            ]),
        ) {
            let mut d = json!({"userName": "a@x.io", "emails": "not-a-list", "name": 3,
                               "members": [{"value": "a"}, 7]});
            let ops = vec![Operation { op, path, value }];
            let _ = apply(&mut d, &ops);
            proptest::prop_assert!(d.is_object());
        }
    }

    /// A SCIM error as the caller sees it: a 4xx with an RFC 7644 error body.
    fn assert_scim_error(e: Error) -> Result<(), proptest::test_runner::TestCaseError> {
        use axum::response::IntoResponse;
        let status = e.status();
        proptest::prop_assert!(status.is_client_error(), "{e}: {status}");
        let resp = e.into_response();
        proptest::prop_assert_eq!(
            resp.headers()["content-type"].to_str().unwrap(),
            super::super::error::SCIM_JSON
        );
        Ok(())
    }

    #[test]
    fn non_ascii_path_is_an_error_not_a_panic() {
        // `é` straddles byte 4: slicing the path at byte 4 to look for `urn:` panicked.
        for path in [
            "abcé",
            "urné:x",
            "memé",
            "ürn:ietf",
            "emails[type eq \"wörk\"].välue",
        ] {
            let mut d = user();
            let ops = vec![Operation {
                op: "replace".into(),
                path: Some(path.into()),
                value: Some(json!("x")),
            }];
            if let Err(e) = apply(&mut d, &ops) {
                assert_eq!(
                    e.status(),
                    axum::http::StatusCode::BAD_REQUEST,
                    "{path}: {e}"
                );
            }
        }
        let mut d = user();
        let pathless = vec![Operation {
            op: "add".into(),
            path: None,
            value: Some(json!({"abcé": 1})),
        }];
        apply(&mut d, &pathless).unwrap();
        assert_eq!(d["abcé"], 1);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(2000))]
        /// Arbitrary Unicode paths and values: a document or a SCIM error, never a panic.
        #[test]
        fn arbitrary_unicode_paths_and_values(
            op in "(add|Replace|remove)",
            path in proptest::option::of(proptest::prelude::any::<String>()),
            value in proptest::option::of(crate::scim::arbitrary::unicode_json()),
        ) {
            let mut d = user();
            let ops = vec![Operation { op, path, value }];
            if let Err(e) = apply(&mut d, &ops) {
                assert_scim_error(e)?;
            }
            proptest::prop_assert!(d.is_object());
        }

        /// Path-shaped Unicode: attribute names, brackets, URNs and filters with any characters.
        #[test]
        fn path_shaped_unicode(
            path in r#"(urn:[\PC]{0,6}:)?[\PC]{0,8}(\[[\PC]{0,6} eq "[\PC]{0,6}"\])?(\.[\PC]{0,6})?"#,
            value in crate::scim::arbitrary::unicode_json(),
        ) {
            for op in ["add", "replace", "remove"] {
                let mut d = user();
                let ops = vec![Operation { op: op.into(), path: Some(path.clone()), value: Some(value.clone()) }];
                if let Err(e) = apply(&mut d, &ops) {
                    assert_scim_error(e)?;
                }
            }
        }

        /// Whole PATCH bodies of arbitrary JSON: `operations` refuses or accepts, with a SCIM
        /// error when it refuses.
        #[test]
        fn arbitrary_bodies(body in crate::scim::arbitrary::unicode_json()) {
            let mut d = user();
            if let Err(e) = operations(&body).and_then(|ops| apply(&mut d, &ops)) {
                assert_scim_error(e)?;
            }
        }
    }

    #[test]
    fn limits_per_request() {
        let op = json!({"op": "replace", "path": "title", "value": "x"});
        let body = json!({"Operations": vec![op.clone(); MAX_OPERATIONS]});
        assert!(
            operations(&body).is_ok(),
            "{MAX_OPERATIONS} operations are fine"
        );
        let body = json!({"Operations": vec![op; MAX_OPERATIONS + 1]});
        let e = operations(&body).unwrap_err();
        assert_eq!((e.status().as_u16(), e.scim_type()), (400, Some("tooMany")));

        let members = |n: usize| -> Vec<Value> {
            (0..n).map(|i| json!({"value": format!("u{i}")})).collect()
        };
        for (body, why) in [
            (
                json!({"Operations": [{"op": "add", "path": "members", "value": members(MAX_MEMBERS + 1)}]}),
                "one add",
            ),
            (
                json!({"Operations": [
                {"op": "add", "path": "members", "value": members(MAX_MEMBERS)},
                {"op": "remove", "path": "members[value eq \"u1\"]"}]}),
                "summed over operations",
            ),
            (
                json!({"Operations": [{"op": "replace", "value": {"members": members(MAX_MEMBERS + 1)}}]}),
                "path-less",
            ),
        ] {
            let e = operations(&body).unwrap_err();
            assert_eq!(e.scim_type(), Some("tooMany"), "{why}");
        }
        let ok = json!({"Operations": [{"op": "add", "path": "Members", "value": members(MAX_MEMBERS)}]});
        assert!(operations(&ok).is_ok());
    }

    #[test]
    fn member_add_and_remove_by_set_keep_rfc_semantics() {
        // 10,000 adds onto 10,000 members, then 10,000 removals by value: set look-ups must
        // give what element-by-element comparison gave (no duplicate, exact removals).
        let existing: Vec<Value> = (0..10_000)
            .map(|i| json!({"value": format!("a{i}")}))
            .collect();
        let mut d = json!({"displayName": "G", "members": existing});
        let mut added: Vec<Value> = (0..10_000)
            .map(|i| json!({"value": format!("b{i}")}))
            .collect();
        added.push(json!({"value": "a0", "display": "dup"}));
        apply(
            &mut d,
            &[Operation {
                op: "add".into(),
                path: Some("members".into()),
                value: Some(Value::Array(added)),
            }],
        )
        .unwrap();
        assert_eq!(
            d["members"].as_array().unwrap().len(),
            20_000,
            "a0 not added twice"
        );
        let gone: Vec<Value> = (0..10_000)
            .map(|i| json!({"value": format!("a{i}")}))
            .collect();
        apply(
            &mut d,
            &[Operation {
                op: "remove".into(),
                path: Some("members".into()),
                value: Some(Value::Array(gone)),
            }],
        )
        .unwrap();
        assert_eq!(d["members"].as_array().unwrap().len(), 10_000);
        assert_eq!(d["members"][0]["value"], "b0");
        // Without `value`, whole elements compare.
        let mut d = json!({"roles": ["x", {"type": "a"}]});
        apply(
            &mut d,
            &[Operation {
                op: "add".into(),
                path: Some("roles".into()),
                value: Some(json!(["x", {"type": "a"}, {"type": "b"}])),
            }],
        )
        .unwrap();
        assert_eq!(d["roles"], json!(["x", {"type": "a"}, {"type": "b"}]));
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(500))]
        /// A run of member removals in one pass leaves what the same removals one by one leave.
        #[test]
        fn batched_member_removals_equal_one_by_one(
            members in proptest::collection::vec(proptest::prop_oneof![
                proptest::strategy::Strategy::prop_map("[aAbBé]{1,2}", |v| json!({"value": v})),
                proptest::strategy::Strategy::prop_map("[aAbB]{1,2}", |v| json!({"value": [v, {"value": "zz"}]})),
                proptest::prelude::Just(json!({"value": 7})),
                proptest::prelude::Just(json!("bare")),
                proptest::prelude::Just(json!({"display": "no value"})),
            ], 0..12),
            gone in proptest::collection::vec("[aAbBéz]{1,2}", 0..6),
        ) {
            let ops: Vec<Operation> = gone
                .iter()
                .map(|id| Operation {
                    op: "Remove".into(),
                    path: Some(format!("members[value eq \"{id}\"]")),
                    value: None,
                })
                .collect();
            let mut batched = json!({"members": members});
            let mut single = batched.clone();
            apply(&mut batched, &ops).unwrap();
            for o in &ops {
                apply(&mut single, std::slice::from_ref(o)).unwrap();
            }
            proptest::prop_assert_eq!(batched, single);
        }
    }

    #[test]
    fn bad_patches_are_refused() {
        let mut d = user();
        for (body, kind) in [
            (
                json!({"Operations":[{"op":"move","path":"active"}]}),
                "invalidSyntax",
            ),
            (json!({"Operations":[{"op":"remove"}]}), "invalidSyntax"),
            (
                json!({"Operations":[{"op":"replace","path":"emails[type eq","value":1}]}),
                "invalidPath",
            ),
            (
                json!({"Operations":[{"op":"replace","value":"x"}]}),
                "invalidSyntax",
            ),
            (json!({"nothing": []}), "invalidSyntax"),
        ] {
            let err = operations(&body)
                .and_then(|ops| apply(&mut d, &ops))
                .unwrap_err();
            assert_eq!(err.scim_type(), Some(kind), "{body}");
        }
    }
}
