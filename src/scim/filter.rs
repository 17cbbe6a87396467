//! SCIM filters (RFC 7644 §3.4.2.2): parsed by `scim_v2`, evaluated here over the SCIM JSON of
//! our resources.
//!
//! Supported grammar: `eq ne co sw ew pr gt ge lt le`, `and or not`, parentheses, attribute
//! names in any case, URN-qualified names, sub-attributes (`name.givenName`,
//! `meta.lastModified`), value filters (`emails[type eq "work" and value co "@x.io"]`), and the
//! non-standard `emails[type eq "work"].value eq "x"` that identity providers send (rewritten
//! to `emails[(type eq "work") and value eq "x"]` before parsing).
//!
//! Comparison rules: strings compare case-insensitively except `id`, `externalId` and
//! `meta.version` (case-exact, RFC 7643 §4.1/§3.1); `meta.created` and `meta.lastModified`
//! compare as instants; a comparison on a multi-valued attribute matches if any value does
//! (complex values compare by their `value` sub-attribute).

use scim_v2::filter::{AttrExp, AttrPath, CompValue, CompareOp, Filter, ValFilter};
use serde_json::Value;

use super::error::Error;

/// Longest filter accepted, in bytes.
pub const MAX_FILTER_LEN: usize = 8 * 1024;

/// A parsed filter, ready to evaluate against SCIM JSON resources.
#[derive(Debug, Clone)]
pub struct ScimFilter(Filter);

impl ScimFilter {
    /// Parses a filter, rewriting the `attr[filter].sub op value` form first.
    pub fn parse(text: &str) -> Result<Self, Error> {
        if text.len() > MAX_FILTER_LEN {
            return Err(Error::InvalidFilter(format!(
                "filter longer than {MAX_FILTER_LEN} bytes"
            )));
        }
        let rewritten = rewrite_value_path_sub_attr(text);
        rewritten
            .parse::<Filter>()
            .map(ScimFilter)
            .map_err(|e| Error::InvalidFilter(format!("{text:?}: {e}")))
    }

    /// Whether `resource` (a SCIM User or Group as JSON) matches.
    pub fn matches(&self, resource: &Value) -> bool {
        eval(&self.0, resource)
    }

    /// The parsed tree.
    pub fn tree(&self) -> &Filter {
        &self.0
    }

    /// When the filter is `<attr> eq "<value>"` on a single attribute, that attribute (lower
    /// case) and value: lets callers take a fast path for the lookups IdPs make.
    pub fn simple_eq(&self) -> Option<(String, &str)> {
        match &self.0 {
            Filter::Attr(AttrExp::Comparison(p, CompareOp::Eq, CompValue::Str(v)))
                if p.sub_attr.is_none() =>
            {
                Some((p.name.to_ascii_lowercase(), v))
            }
            _ => None,
        }
    }
}

/// Parses and evaluates in one go: the entry point the fuzz test drives.
pub fn parse_and_match(text: &str, resource: &Value) -> Result<bool, Error> {
    Ok(ScimFilter::parse(text)?.matches(resource))
}

/// Rewrites `attr[inner].sub OP value` (and `attr[inner].sub pr`) into the RFC form
/// `attr[(inner) and sub OP value]`. Text inside string literals is left alone; anything that
/// does not fit the pattern is left as it is for the parser to judge.
pub fn rewrite_value_path_sub_attr(text: &str) -> String {
    let chars: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len() + 16);
    let mut i = 0;
    // Positions (in `out`) of the currently open '['.
    let mut open: Vec<usize> = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' => {
                let end = string_end(&chars, i);
                out.extend(&chars[i..end]);
                i = end;
                continue;
            }
            '[' => {
                open.push(out.len());
                out.push(c);
            }
            ']' => {
                let start = open.pop();
                if let (Some(start), Some((sub, op, value, next))) =
                    (start, sub_attr_comparison(&chars, i + 1))
                {
                    let inner = out[start + 1..].to_string();
                    out.truncate(start);
                    out.push_str("[(");
                    out.push_str(&inner);
                    out.push_str(") and ");
                    out.push_str(&sub);
                    out.push(' ');
                    out.push_str(&op);
                    if let Some(v) = value {
                        out.push(' ');
                        out.push_str(&v);
                    }
                    out.push(']');
                    i = next;
                    continue;
                }
                out.push(c);
            }
            _ => out.push(c),
        }
        i += 1;
    }
    out
}

/// Index just past the string literal starting at `start` (a `"`), or the end of input.
fn string_end(chars: &[char], start: usize) -> usize {
    let mut i = start + 1;
    while i < chars.len() {
        match chars[i] {
            '\\' => i += 2,
            '"' => return i + 1,
            _ => i += 1,
        }
    }
    chars.len()
}

/// After a `]` at `at`: `.sub OP value` → (sub, op, value, index after).
fn sub_attr_comparison(
    chars: &[char],
    at: usize,
) -> Option<(String, String, Option<String>, usize)> {
    if chars.get(at) != Some(&'.') {
        return None;
    }
    let mut i = at + 1;
    let start = i;
    while i < chars.len()
        && (chars[i].is_ascii_alphanumeric() || chars[i] == '_' || chars[i] == '-')
    {
        i += 1;
    }
    if i == start {
        return None;
    }
    let sub: String = chars[start..i].iter().collect();
    let ws = i;
    while i < chars.len() && chars[i] == ' ' {
        i += 1;
    }
    if i == ws {
        return None;
    }
    let op_start = i;
    while i < chars.len() && chars[i].is_ascii_alphabetic() {
        i += 1;
    }
    let op: String = chars[op_start..i].iter().collect();
    let lower = op.to_ascii_lowercase();
    if lower == "pr" {
        return Some((sub, op, None, i));
    }
    if !matches!(
        lower.as_str(),
        "eq" | "ne" | "co" | "sw" | "ew" | "gt" | "ge" | "lt" | "le"
    ) {
        return None;
    }
    let ws = i;
    while i < chars.len() && chars[i] == ' ' {
        i += 1;
    }
    if i == ws || i >= chars.len() {
        return None;
    }
    let value_start = i;
    if chars[i] == '"' {
        i = string_end(chars, i);
    } else {
        while i < chars.len() && !matches!(chars[i], ' ' | ')' | ']') {
            i += 1;
        }
    }
    let value: String = chars[value_start..i].iter().collect();
    Some((sub, op, Some(value), i))
}

fn eval(f: &Filter, res: &Value) -> bool {
    match f {
        Filter::Attr(e) => eval_attr(e, res),
        Filter::ValuePath(vp) => {
            let values = lookup(res, &vp.attr);
            values.iter().any(|v| match v {
                Value::Array(items) => items.iter().any(|item| eval_val(&vp.filter, item)),
                other => eval_val(&vp.filter, other),
            })
        }
        Filter::Not(inner) => !eval(inner, res),
        Filter::And(items) => items.as_slice().iter().all(|f| eval(f, res)),
        Filter::Or(items) => items.as_slice().iter().any(|f| eval(f, res)),
    }
}

/// Whether one element of a multi-valued attribute matches a bracketed value filter.
pub fn eval_val(f: &ValFilter, res: &Value) -> bool {
    match f {
        ValFilter::Attr(e) => eval_attr(e, res),
        ValFilter::Not(inner) => !eval_val(inner, res),
        ValFilter::And(items) => items.as_slice().iter().all(|f| eval_val(f, res)),
        ValFilter::Or(items) => items.as_slice().iter().any(|f| eval_val(f, res)),
    }
}

fn eval_attr(e: &AttrExp, res: &Value) -> bool {
    match e {
        AttrExp::Present(path) => lookup(res, path).iter().any(|v| present(v)),
        AttrExp::Comparison(path, op, want) => {
            let kind = kind_of(path);
            let candidates = flatten(lookup(res, path));
            match op {
                // `ne` matches when no value equals (and an absent attribute is "not equal").
                CompareOp::Ne => !candidates
                    .iter()
                    .any(|v| compare(kind, v, &CompareOp::Eq, want)),
                _ => candidates.iter().any(|v| compare(kind, v, op, want)),
            }
        }
    }
}

fn present(v: &Value) -> bool {
    match v {
        Value::Null => false,
        Value::String(s) => !s.is_empty(),
        Value::Array(a) => a.iter().any(present),
        Value::Object(o) => !o.is_empty(),
        _ => true,
    }
}

/// Multi-valued attributes compare element-wise; complex elements by their `value`.
fn flatten(values: Vec<&Value>) -> Vec<&Value> {
    let mut out = Vec::new();
    for v in values {
        match v {
            Value::Array(items) => {
                for item in items {
                    match item {
                        Value::Object(o) => {
                            if let Some(x) = get_ci(o, "value") {
                                out.push(x);
                            }
                        }
                        other => out.push(other),
                    }
                }
            }
            other => out.push(other),
        }
    }
    out
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    CaseExact,
    CaseIgnore,
    Instant,
}

fn kind_of(path: &AttrPath) -> Kind {
    let name = path.name.to_ascii_lowercase();
    let sub = path.sub_attr.as_deref().map(str::to_ascii_lowercase);
    match (name.as_str(), sub.as_deref()) {
        ("id", None) | ("externalid", None) | ("meta", Some("version")) => Kind::CaseExact,
        ("meta", Some("created")) | ("meta", Some("lastmodified")) => Kind::Instant,
        _ => Kind::CaseIgnore,
    }
}

fn compare(kind: Kind, have: &Value, op: &CompareOp, want: &CompValue) -> bool {
    match (have, want) {
        (Value::String(h), CompValue::Str(w)) => match kind {
            Kind::Instant => match (h.parse::<jiff::Timestamp>(), w.parse::<jiff::Timestamp>()) {
                (Ok(h), Ok(w)) => ordered(op, h.cmp(&w)),
                _ => false,
            },
            Kind::CaseExact => strings(op, h, w),
            Kind::CaseIgnore => strings(op, &h.to_lowercase(), &w.to_lowercase()),
        },
        (Value::Bool(h), CompValue::True) => eq_only(op, *h),
        (Value::Bool(h), CompValue::False) => eq_only(op, !*h),
        // Entra and others store booleans as strings sometimes; compare loosely.
        (Value::String(h), CompValue::True) => eq_only(op, h.eq_ignore_ascii_case("true")),
        (Value::String(h), CompValue::False) => eq_only(op, h.eq_ignore_ascii_case("false")),
        (Value::Number(h), CompValue::Number(w)) => match (h.as_f64(), w.as_f64()) {
            (Some(h), Some(w)) => h.partial_cmp(&w).is_some_and(|o| ordered(op, o)),
            _ => false,
        },
        (Value::Null, CompValue::Null) => matches!(op, CompareOp::Eq),
        _ => false,
    }
}

fn eq_only(op: &CompareOp, equal: bool) -> bool {
    matches!(op, CompareOp::Eq) && equal
}

fn strings(op: &CompareOp, h: &str, w: &str) -> bool {
    match op {
        CompareOp::Eq => h == w,
        CompareOp::Ne => h != w,
        CompareOp::Co => h.contains(w),
        CompareOp::Sw => h.starts_with(w),
        CompareOp::Ew => h.ends_with(w),
        _ => ordered(op, h.cmp(w)),
    }
}

fn ordered(op: &CompareOp, o: std::cmp::Ordering) -> bool {
    use std::cmp::Ordering::*;
    match op {
        CompareOp::Eq => o == Equal,
        CompareOp::Ne => o != Equal,
        CompareOp::Gt => o == Greater,
        CompareOp::Ge => o != Less,
        CompareOp::Lt => o == Less,
        CompareOp::Le => o != Greater,
        CompareOp::Co | CompareOp::Sw | CompareOp::Ew => false,
    }
}

/// Case-insensitive object key lookup.
pub fn get_ci<'a>(o: &'a serde_json::Map<String, Value>, key: &str) -> Option<&'a Value> {
    o.get(key).or_else(|| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })
}

/// The values an attribute path names in `res` (an extension URN selects that extension's
/// object; the core schema URNs select the resource itself).
fn lookup<'a>(res: &'a Value, path: &AttrPath) -> Vec<&'a Value> {
    let Value::Object(root) = res else {
        return Vec::new();
    };
    let scope = match &path.uri {
        Some(uri)
            if !uri
                .to_ascii_lowercase()
                .starts_with("urn:ietf:params:scim:schemas:core:") =>
        {
            match get_ci(root, uri) {
                Some(Value::Object(ext)) => ext,
                _ => return Vec::new(),
            }
        }
        _ => root,
    };
    let Some(v) = get_ci(scope, &path.name) else {
        return Vec::new();
    };
    match &path.sub_attr {
        None => vec![v],
        Some(sub) => match v {
            Value::Object(o) => get_ci(o, sub).into_iter().collect(),
            Value::Array(items) => items
                .iter()
                .filter_map(|i| match i {
                    Value::Object(o) => get_ci(o, sub),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use serde_json::json;

    fn jane() -> Value {
        json!({
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "id": "AbC123",
            "externalId": "ext-Jane",
            "userName": "Jane.Doe@Example.com",
            "name": {"givenName": "Jane", "familyName": "Doe", "formatted": "Jane Doe"},
            "displayName": "Jane Doe",
            "active": true,
            "emails": [
                {"value": "jane.doe@example.com", "type": "work", "primary": true},
                {"value": "jane@home.org", "type": "home"}
            ],
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {"department": "R&D"},
            "meta": {
                "resourceType": "User",
                "created": "2024-01-10T10:00:00Z",
                "lastModified": "2024-03-01T12:30:00Z",
                "version": "W/\"42\""
            }
        })
    }

    #[test]
    fn filters_match_as_rfc7644_says() {
        // (filter, expected, why)
        #[rustfmt::skip]
        let cases = [
            (r#"userName eq "jane.doe@example.com""#, true, "userName is case-insensitive"),
            (r#"USERNAME EQ "JANE.DOE@EXAMPLE.COM""#, true, "attribute names and ops in any case"),
            (r#"userName ne "jane.doe@example.com""#, false, "ne is the negation of eq"),
            (r#"userName ne "bob@example.com""#, true, "ne on another value"),
            (r#"userName co "doe@""#, true, "contains"),
            (r#"userName sw "jane.""#, true, "starts with"),
            (r#"userName ew ".com""#, true, "ends with"),
            (r#"userName ew ".org""#, false, "ends with, other suffix"),
            (r#"externalId eq "ext-Jane""#, true, "externalId exact"),
            (r#"externalId eq "ext-jane""#, false, "externalId is case-exact"),
            (r#"id eq "abc123""#, false, "id is case-exact"),
            ("title pr", false, "absent attribute is not present"),
            ("name.givenName pr", true, "sub-attribute present"),
            (r#"name.familyName eq "doe""#, true, "sub-attribute compare"),
            (r#"emails co "home.org""#, true, "multi-valued compares by value"),
            (r#"emails[type eq "work" and value co "@example.com"]"#, true, "value filter"),
            (r#"emails[type eq "home" and value co "@example.com"]"#, false, "value filter both on one element"),
            (r#"emails[type eq "work"].value eq "jane.doe@example.com""#, true, "IdP form rewritten"),
            (r#"emails[type eq "work"].value co "home""#, false, "IdP form keeps the element filter"),
            (r#"emails.value eq "jane@home.org""#, true, "dotted on a multi-valued attribute"),
            (r#"meta.lastModified gt "2024-02-01T00:00:00Z""#, true, "dates compare as instants"),
            (r#"meta.lastModified lt "2024-02-01T00:00:00+00:00""#, false, "date lt"),
            (r#"meta.created ge "2024-01-10T10:00:00Z""#, true, "ge includes equality"),
            (r#"meta.created le "2024-01-10T11:00:00+01:00""#, true, "offsets are instants"),
            (r#"meta.created gt "not a date""#, false, "unparsable date never matches"),
            ("active eq true", true, "boolean"),
            ("active eq false", false, "boolean false"),
            (r#"not (active eq false)"#, true, "not"),
            (r#"userName eq "x@y.z" or displayName eq "jane doe""#, true, "or"),
            (r#"userName sw "jane" and (displayName eq "x" or active eq true)"#, true, "parentheses"),
            (r#"urn:ietf:params:scim:schemas:core:2.0:User:userName sw "jane""#, true, "core URN prefix"),
            (r#"urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department eq "r&d""#, true, "extension URN"),
            (r#"meta.resourceType eq "User""#, true, "meta sub-attribute"),
        ];
        let res = jane();
        for (f, want, why) in cases {
            assert_eq!(parse_and_match(f, &res).unwrap(), want, "{f}: {why}");
        }
    }

    #[test]
    fn malformed_filters_are_invalid_filter() {
        for f in [
            "",
            "userName",
            "userName eq",
            r#"userName xx "a""#,
            r#"userName eq "a" and"#,
            r#"(userName eq "a""#,
            r#"emails[type eq "work""#,
            "]",
            r#"emails[type eq "work"].value"#,
        ] {
            let err = ScimFilter::parse(f).unwrap_err();
            assert_eq!(err.scim_type(), Some("invalidFilter"), "{f}");
        }
    }

    #[test]
    fn rewrite_keeps_string_literals() {
        assert_eq!(
            rewrite_value_path_sub_attr(r#"emails[type eq "work"].value eq "a].b c""#),
            r#"emails[(type eq "work") and value eq "a].b c"]"#
        );
        assert_eq!(
            rewrite_value_path_sub_attr(r#"userName eq "x[y].z eq 1""#),
            r#"userName eq "x[y].z eq 1""#
        );
        assert_eq!(
            rewrite_value_path_sub_attr(r#"emails[type eq "work"].value pr"#),
            r#"emails[(type eq "work") and value pr]"#
        );
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn arbitrary_text_never_panics(s in any::<String>()) {
            let _ = parse_and_match(&s, &jane());
        }

        #[test]
        fn filter_shaped_text_never_panics(
            s in r#"[a-zA-Z\[\]\(\)\. "=:]{0,60}( (eq|ne|co|sw|ew|pr|gt|lt|and|or|not) )?[a-z\[\]\(\)"\. 0-9]{0,40}"#
        ) {
            match parse_and_match(&s, &jane()) {
                Ok(_) => {}
                Err(e) => prop_assert_eq!(e.scim_type(), Some("invalidFilter")),
            }
        }

        #[test]
        fn valid_eq_filters_round_trip(user in "[a-z]{1,10}@[a-z]{1,8}\\.(com|io)") {
            let res = json!({"userName": user.to_uppercase()});
            let f = format!("userName eq \"{user}\"");
            prop_assert!(parse_and_match(&f, &res).unwrap());
            let f = format!("not (userName eq \"{user}\")");
            prop_assert!(!parse_and_match(&f, &res).unwrap());
        }
    }
}
