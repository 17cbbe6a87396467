//! Test-only: arbitrary JSON with arbitrary Unicode, for the property tests of the SCIM input
//! paths (filters, PATCH, mapping): whatever a caller sends, a SCIM error, never a panic.

use proptest::prelude::*;
use serde_json::{Value, json};

/// Any JSON value up to three levels deep, strings and keys of arbitrary Unicode.
pub fn unicode_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        any::<String>().prop_map(Value::String),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        Just(Value::Null),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::btree_map(any::<String>(), inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}
