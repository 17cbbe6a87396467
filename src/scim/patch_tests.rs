//! Tests of [`super`]: the SCIM PATCH operations (RFC 7644 §3.5.2) on a resource document.

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

    let members =
        |n: usize| -> Vec<Value> { (0..n).map(|i| json!({"value": format!("u{i}")})).collect() };
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
    let ok =
        json!({"Operations": [{"op": "add", "path": "Members", "value": members(MAX_MEMBERS)}]});
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
