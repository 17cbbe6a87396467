//! Tolerant decoding of the API's JSON quirks (PHP heritage): maps that come back as `[]`,
//! booleans as `true`/`1`/`"1"`, counters that may be `null`, and fields that are either a
//! string or a list of strings.

use std::collections::BTreeMap;
use std::fmt;
use std::marker::PhantomData;

use serde::de::{self, Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::Value;

/// Reads a boolean sent as `true`/`false`, `0`/`1`, `"0"`/`"1"`, `"true"`/`"false"` or
/// `null` (false).
pub(crate) fn lenient_bool<'de, D: Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    d.deserialize_any(LenientBool)
}

/// Scalars straight off the wire, without building a `Value` (pages hold thousands of users).
struct LenientBool;

impl<'de> Visitor<'de> for LenientBool {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a boolean, 0/1 or \"0\"/\"1\"")
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<bool, E> {
        Ok(v)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<bool, E> {
        Ok(v != 0)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<bool, E> {
        Ok(v != 0)
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<bool, E> {
        Ok(v != 0.0)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<bool, E> {
        Ok(value_to_bool(&Value::String(v.to_string())))
    }
    fn visit_unit<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_none<E: de::Error>(self) -> Result<bool, E> {
        Ok(false)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<bool, A::Error> {
        while a.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(false)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<bool, A::Error> {
        while a.next_entry::<de::IgnoredAny, de::IgnoredAny>()?.is_some() {}
        Ok(false)
    }
}

/// The truth of a loosely typed JSON value.
pub(crate) fn value_to_bool(v: &Value) -> bool {
    match v {
        Value::Bool(b) => *b,
        Value::Number(n) => n.as_f64().is_some_and(|f| f != 0.0),
        Value::String(s) => matches!(s.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes"),
        _ => false,
    }
}

/// Reads an optional string that may also be a number or `null`; empty strings become `None`.
pub(crate) fn lenient_opt_string<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    d.deserialize_any(LenientString)
}

struct LenientString;

impl<'de> Visitor<'de> for LenientString {
    type Value = Option<String>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string, a number or null")
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
        Ok((!v.is_empty()).then(|| v.to_string()))
    }
    fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
        Ok((!v.is_empty()).then_some(v))
    }
    fn visit_bool<E: de::Error>(self, v: bool) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Self::Value, E> {
        Ok(Some(v.to_string()))
    }
    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
        while a.next_element::<de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut a: A) -> Result<Self::Value, A::Error> {
        while a.next_entry::<de::IgnoredAny, de::IgnoredAny>()?.is_some() {}
        Ok(None)
    }
}

fn value_to_opt_string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if s.is_empty() => None,
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Reads an optional counter sent as a number, a numeric string or `null`.
pub(crate) fn lenient_opt_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    Ok(match Value::deserialize(d)? {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    })
}

/// Reads a string, a list of strings, or nothing (`null`) into one list; empty strings are
/// dropped. Non-string list items are rendered as JSON text rather than rejected.
pub(crate) fn string_or_list<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    Ok(value_to_strings(&Value::deserialize(d)?))
}

/// One list of messages out of a string, a list or anything else.
pub(crate) fn value_to_strings(v: &Value) -> Vec<String> {
    match v {
        Value::String(s) if s.is_empty() => vec![],
        Value::String(s) => vec![s.clone()],
        Value::Array(items) => items
            .iter()
            .filter_map(|i| match i {
                Value::String(s) if s.is_empty() => None,
                Value::String(s) => Some(s.clone()),
                Value::Null => None,
                other => Some(other.to_string()),
            })
            .collect(),
        Value::Null => vec![],
        Value::Object(m) if m.is_empty() => vec![],
        other => vec![other.to_string()],
    }
}

/// Reads a JSON object into a map, accepting PHP's `[]` (and `null`) for an empty map.
pub(crate) fn map_or_empty<'de, D, V>(d: D) -> Result<BTreeMap<String, V>, D::Error>
where
    D: Deserializer<'de>,
    V: Deserialize<'de>,
{
    d.deserialize_any(MapOrEmpty(PhantomData))
}

struct MapOrEmpty<V>(PhantomData<V>);

impl<'de, V: Deserialize<'de>> Visitor<'de> for MapOrEmpty<V> {
    type Value = BTreeMap<String, V>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("an object or an empty array")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        let mut out = BTreeMap::new();
        while let Some((k, v)) = access.next_entry::<String, V>()? {
            out.insert(k, v);
        }
        Ok(out)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Self::Value, A::Error> {
        if access.next_element::<de::IgnoredAny>()?.is_some() {
            return Err(de::Error::custom(
                "expected an object or an empty array, got a list",
            ));
        }
        Ok(BTreeMap::new())
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        Ok(BTreeMap::new())
    }
}

/// Attribute values as text, whatever JSON type they came as.
pub(crate) fn attribute_map<'de, D: Deserializer<'de>>(
    d: D,
) -> Result<BTreeMap<String, String>, D::Error> {
    let raw: BTreeMap<String, Value> = map_or_empty(d)?;
    Ok(raw
        .into_iter()
        .filter_map(|(k, v)| value_to_opt_string(&v).map(|s| (k, s)))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde::Deserialize;
    use serde_json::json;

    #[derive(Deserialize)]
    struct T {
        #[serde(default, deserialize_with = "lenient_bool")]
        b: bool,
        #[serde(default, deserialize_with = "string_or_list")]
        l: Vec<String>,
        #[serde(default, deserialize_with = "map_or_empty")]
        m: BTreeMap<String, u32>,
        #[serde(default, deserialize_with = "lenient_opt_u64")]
        n: Option<u64>,
        #[serde(default, deserialize_with = "lenient_opt_string")]
        s: Option<String>,
    }

    fn t(v: Value) -> T {
        serde_json::from_value(v).unwrap()
    }

    #[test]
    fn booleans_in_every_form() {
        for (v, want) in [
            (json!(true), true),
            (json!(false), false),
            (json!(1), true),
            (json!(0), false),
            (json!("1"), true),
            (json!("0"), false),
            (json!("true"), true),
            (json!(null), false),
        ] {
            assert_eq!(t(json!({ "b": v })).b, want, "{v}");
        }
        assert!(!t(json!({})).b);
    }

    #[test]
    fn string_or_list_or_absent() {
        assert_eq!(t(json!({"l": "x"})).l, ["x"]);
        assert_eq!(t(json!({"l": ["x", "y"]})).l, ["x", "y"]);
        assert!(t(json!({"l": null})).l.is_empty());
        assert!(t(json!({"l": ""})).l.is_empty());
        assert!(t(json!({})).l.is_empty());
    }

    #[test]
    fn maps_may_be_empty_arrays() {
        assert!(t(json!({"m": []})).m.is_empty());
        assert!(t(json!({"m": null})).m.is_empty());
        assert_eq!(t(json!({"m": {"a": 1}})).m["a"], 1);
        assert!(serde_json::from_value::<T>(json!({"m": [1]})).is_err());
    }

    #[test]
    fn optional_strings_from_any_scalar() {
        assert_eq!(t(json!({"s": "x"})).s.as_deref(), Some("x"));
        assert_eq!(t(json!({"s": 90})).s.as_deref(), Some("90"));
        assert_eq!(t(json!({"s": ""})).s, None);
        assert_eq!(t(json!({"s": null})).s, None);
        assert_eq!(t(json!({"s": [1]})).s, None);
    }

    #[test]
    fn counters_may_be_null_or_strings() {
        assert_eq!(t(json!({"n": null})).n, None);
        assert_eq!(t(json!({"n": "42"})).n, Some(42));
        assert_eq!(t(json!({"n": 7})).n, Some(7));
    }
}
