//! A small structural validator for the CRDs' `openAPIV3Schema`, offline.
//!
//! It covers exactly the keywords our generated schemas use (see [`SUPPORTED_KEYWORDS`]; a
//! test fails if a schema grows another one): `type`, `nullable`, `properties`, `required`,
//! `additionalProperties`, `items`, `enum`, `pattern`, `minimum`, `maximum`, `minLength`,
//! `maxLength`, `minItems`, `maxItems`, `format` (`int32`, `int64`, `date-time`, `uri`, loosely)
//! and `x-kubernetes-list-type: map` keys. CEL rules (`x-kubernetes-validations`) are left to
//! kube-cel.
//!
//! Unlike the API server, it reports properties that the schema does not declare: the server
//! would silently prune them (none of our schemas sets `x-kubernetes-preserve-unknown-fields`),
//! so in a manifest they are always a typo or a stale field.
//!
//! Messages name the field path and the problem, in the API server's manner:
//! `spec.sync.deprovision.maxPerSync: -1 is less than the minimum 0`.
//!
//! Why hand-written: the schemas are OpenAPI v3 (`nullable`, `x-kubernetes-*`), which JSON
//! Schema crates treat as unknown keywords, the unknown-field check needs a schema walk anyway,
//! and no JSON Schema crate is in the dependency tree (the build is offline).

use regex::Regex;
use serde_json::{Map, Value};

/// Every keyword the validator understands. Any other keyword in a schema node is an error of
/// the schema itself ([`unsupported_keywords`]), so a new constraint cannot be silently ignored.
pub const SUPPORTED_KEYWORDS: &[&str] = &[
    // validated here
    "type",
    "nullable",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "pattern",
    "minimum",
    "maximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "format",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-preserve-unknown-fields",
    // applied or checked elsewhere (defaults by kube-cel's `apply_defaults`, rules by its
    // `Validator`), or documentation only
    "default",
    "x-kubernetes-validations",
    "description",
    "title",
];

/// Validates `value` against `schema`; returns every violation, in document order.
/// `path` is the path of `value` (empty for the root).
pub fn check(schema: &Value, value: &Value, path: &str) -> Vec<String> {
    let mut errors = Vec::new();
    walk(schema, value, path, &mut errors);
    errors
}

/// Keywords of `schema` (recursively) that [`check`] does not understand, as `path: keyword`.
pub fn unsupported_keywords(schema: &Value, path: &str) -> Vec<String> {
    let mut found = Vec::new();
    let Some(node) = schema.as_object() else {
        return vec![format!("{path}: schema is not an object")];
    };
    for (key, sub) in node {
        if !SUPPORTED_KEYWORDS.contains(&key.as_str()) {
            found.push(format!("{path}: {key}"));
        }
        match key.as_str() {
            "properties" => {
                for (name, prop) in sub.as_object().into_iter().flatten() {
                    found.extend(unsupported_keywords(prop, &join(path, name)));
                }
            }
            "items" => found.extend(unsupported_keywords(sub, &format!("{path}[]"))),
            "additionalProperties" if sub.is_object() => {
                found.extend(unsupported_keywords(sub, &format!("{path}.*")))
            }
            _ => {}
        }
    }
    found
}

fn walk(schema: &Value, value: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(s) = schema.as_object() else {
        errors.push(format!("{path}: schema is not an object"));
        return;
    };
    if value.is_null() {
        if !flag(s, "nullable") {
            let want = s.get("type").and_then(Value::as_str).unwrap_or("a value");
            errors.push(format!("{}: must not be null; expected {want}", show(path)));
        }
        return;
    }
    if let Some(ty) = s.get("type").and_then(Value::as_str)
        && !has_type(value, ty)
    {
        errors.push(format!(
            "{}: expected {ty}, got {} {}",
            show(path),
            type_name(value),
            value
        ));
        return; // the other keywords assume the right type
    }
    if let Some(allowed) = s.get("enum").and_then(Value::as_array)
        && !allowed.contains(value)
    {
        let list: Vec<String> = allowed.iter().map(Value::to_string).collect();
        errors.push(format!(
            "{}: Unsupported value: {value}: supported values: {}",
            show(path),
            list.join(", ")
        ));
    }
    match value {
        Value::Object(obj) => check_object(s, obj, path, errors),
        Value::Array(items) => check_array(s, items, path, errors),
        Value::String(text) => check_string(s, text, path, errors),
        Value::Number(_) => check_number(s, value, path, errors),
        Value::Bool(_) | Value::Null => {}
    }
}

fn check_object(
    s: &Map<String, Value>,
    obj: &Map<String, Value>,
    path: &str,
    errors: &mut Vec<String>,
) {
    for name in s
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        if let Some(name) = name.as_str()
            && !obj.contains_key(name)
        {
            errors.push(format!("{}: Required value", join(path, name)));
        }
    }
    let props = s.get("properties").and_then(Value::as_object);
    let additional = s.get("additionalProperties").filter(|a| a.is_object());
    let preserve = flag(s, "x-kubernetes-preserve-unknown-fields");
    for (name, child) in obj {
        let child_path = join(path, name);
        match (props.and_then(|p| p.get(name)), additional) {
            (Some(prop), _) => walk(prop, child, &child_path, errors),
            (None, Some(add)) => walk(add, child, &child_path, errors),
            (None, None) if preserve => {}
            (None, None) => errors.push(format!(
                "{child_path}: unknown field {name:?} (the API server would silently drop it)"
            )),
        }
    }
}

fn check_array(s: &Map<String, Value>, items: &[Value], path: &str, errors: &mut Vec<String>) {
    if let Some(min) = s.get("minItems").and_then(Value::as_u64)
        && (items.len() as u64) < min
    {
        errors.push(format!(
            "{}: {} items are fewer than the minimum {min}",
            show(path),
            items.len()
        ));
    }
    if let Some(max) = s.get("maxItems").and_then(Value::as_u64)
        && (items.len() as u64) > max
    {
        errors.push(format!(
            "{}: {} items are more than the maximum {max}",
            show(path),
            items.len()
        ));
    }
    if let Some(item_schema) = s.get("items") {
        for (i, item) in items.iter().enumerate() {
            walk(item_schema, item, &format!("{path}[{i}]"), errors);
        }
    }
    if s.get("x-kubernetes-list-type").and_then(Value::as_str) == Some("map") {
        let keys: Vec<&str> = s
            .get("x-kubernetes-list-map-keys")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(Value::as_str)
            .collect();
        let mut seen = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let key: Vec<Option<&Value>> = keys.iter().map(|k| item.get(*k)).collect();
            if seen.contains(&key) {
                errors.push(format!(
                    "{path}[{i}]: Duplicate value: list-map keys {keys:?} repeat"
                ));
            }
            seen.push(key);
        }
    }
}

fn check_string(s: &Map<String, Value>, text: &str, path: &str, errors: &mut Vec<String>) {
    let len = text.chars().count() as u64;
    if let Some(min) = s.get("minLength").and_then(Value::as_u64)
        && len < min
    {
        errors.push(format!(
            "{}: {text:?} is shorter than the minimum length {min}",
            show(path)
        ));
    }
    if let Some(max) = s.get("maxLength").and_then(Value::as_u64)
        && len > max
    {
        errors.push(format!(
            "{}: {len} characters are more than the maximum length {max}",
            show(path)
        ));
    }
    if let Some(pattern) = s.get("pattern").and_then(Value::as_str) {
        match Regex::new(pattern) {
            Ok(re) if re.is_match(text) => {}
            Ok(_) => errors.push(format!(
                "{}: {text:?} does not match the pattern '{pattern}'",
                show(path)
            )),
            Err(e) => errors.push(format!(
                "{}: schema pattern '{pattern}' does not compile: {e}",
                show(path)
            )),
        }
    }
    match s.get("format").and_then(Value::as_str) {
        Some("date-time") if text.parse::<jiff::Timestamp>().is_err() => errors.push(format!(
            "{}: {text:?} is not an RFC 3339 date-time",
            show(path)
        )),
        Some("uri") if !looks_like_uri(text) => {
            errors.push(format!("{}: {text:?} is not a valid uri", show(path)))
        }
        _ => {}
    }
}

fn check_number(s: &Map<String, Value>, value: &Value, path: &str, errors: &mut Vec<String>) {
    let Some(n) = value.as_f64() else { return };
    if let Some(min) = s.get("minimum").and_then(Value::as_f64)
        && n < min
    {
        errors.push(format!(
            "{}: {value} is less than the minimum {}",
            show(path),
            num(min)
        ));
    }
    if let Some(max) = s.get("maximum").and_then(Value::as_f64)
        && n > max
    {
        errors.push(format!(
            "{}: {value} is greater than the maximum {}",
            show(path),
            num(max)
        ));
    }
    if s.get("format").and_then(Value::as_str) == Some("int32")
        && value.as_i64().is_none_or(|i| i32::try_from(i).is_err())
    {
        errors.push(format!("{}: {value} does not fit in int32", show(path)));
    }
}

fn has_type(value: &Value, ty: &str) -> bool {
    match ty {
        "object" => value.is_object(),
        "array" => value.is_array(),
        "string" => value.is_string(),
        "boolean" => value.is_boolean(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        _ => false,
    }
}

fn type_name(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_f64() => "number",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `scheme:rest` with an RFC 3986 scheme and no whitespace: loose, as the API server's check.
fn looks_like_uri(text: &str) -> bool {
    let Some((scheme, rest)) = text.split_once(':') else {
        return false;
    };
    let mut chars = scheme.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || "+-.".contains(c))
        && !rest.is_empty()
        && !text.chars().any(char::is_whitespace)
}

fn flag(s: &Map<String, Value>, key: &str) -> bool {
    s.get(key).and_then(Value::as_bool) == Some(true)
}

/// `0.0` → `0`: schemars writes integer bounds as floats.
fn num(n: f64) -> String {
    if n.fract() == 0.0 && n.abs() < 1e15 {
        format!("{}", n as i64)
    } else {
        n.to_string()
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_string()
    } else {
        format!("{path}.{name}")
    }
}

fn show(path: &str) -> &str {
    if path.is_empty() { "<root>" } else { path }
}
