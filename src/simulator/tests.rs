//! Wire-level tests of the simulator through `router(..).oneshot(..)`.

use axum::body::{Body, to_bytes};
use axum::http::{Method, Request, StatusCode, header};
use secrecy::SecretString;
use serde_json::{Value, json};
use tower::ServiceExt;

use super::knobs::{DelNonMember, ErrorForm, ExistingUser, Knobs, NoGroups, NoMatchBody};
use super::*;

const CID: &str = "12345678";
const HASH: &str = "sim-provhash-0123";

/// A simulator without its default admin: these tests check wire forms on an account they
/// fill themselves (the admin is tested on its own below).
fn sim(knobs: Knobs) -> SimState {
    SimState::builder(CID, SecretString::from(HASH))
        .without_admin()
        .knobs(knobs)
        .build()
}

async fn send(
    state: &SimState,
    method: Method,
    uri: &str,
    body: String,
) -> (StatusCode, Option<String>, String) {
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .body(Body::from(body))
        .unwrap();
    let resp = router(state.clone()).oneshot(req).await.unwrap();
    let ct = resp
        .headers()
        .get(header::CONTENT_TYPE)
        .map(|v| v.to_str().unwrap().to_string());
    let status = resp.status();
    let bytes = to_bytes(resp.into_body(), usize::MAX).await.unwrap();
    (status, ct, String::from_utf8(bytes.to_vec()).unwrap())
}

async fn call(state: &SimState, cmd: &str, data: Value) -> Value {
    let body = json!({"cid": 12345678, "provhash": HASH, "cmd": cmd, "data": data}).to_string();
    let (status, ct, text) = send(state, Method::POST, DEFAULT_PATH, body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(ct.as_deref(), Some("text/xml;charset=UTF-8"));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}: {text}"))
}

fn seed(state: &SimState, names: &[(&str, &[&str])]) {
    let users: Vec<SeedUser> = names
        .iter()
        .map(|(u, g)| SeedUser {
            username: (*u).into(),
            groups: g.iter().map(|s| (*s).to_string()).collect(),
            ..Default::default()
        })
        .collect();
    state.seed(&users);
}

#[tokio::test]
async fn only_post_on_the_api_path() {
    let s = sim(Knobs::default());
    assert_eq!(
        send(&s, Method::GET, DEFAULT_PATH, String::new()).await.0,
        StatusCode::METHOD_NOT_ALLOWED
    );
    assert_eq!(
        send(&s, Method::POST, "/other.php", String::new()).await.0,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn auth_error_is_byte_exact_for_bad_or_missing_credentials() {
    let s = sim(Knobs::default());
    let bodies = [
        json!({"cid": 12345678, "provhash": "wrong", "cmd": "getuserdata"}).to_string(),
        json!({"cid": 1, "provhash": HASH, "cmd": "getuserdata"}).to_string(),
        json!({"provhash": HASH, "cmd": "getuserdata"}).to_string(),
        json!({"cid": 12345678, "cmd": "getuserdata"}).to_string(),
        "cid=12345678&provhash=x&cmd=getuserdata".to_string(),
    ];
    for b in bodies {
        let (status, ct, text) = send(&s, Method::POST, DEFAULT_PATH, b.clone()).await;
        assert_eq!(
            (status, ct.as_deref(), text.as_str()),
            (StatusCode::OK, Some("text/xml;charset=UTF-8"), AUTH_ERROR),
            "{b}"
        );
    }
    assert!(s.calls().iter().all(|c| c.outcome == Outcome::AuthError));
    // cid as a string is accepted.
    let b = json!({"cid": "12345678", "provhash": HASH, "cmd": "getuserdata"}).to_string();
    assert!(
        send(&s, Method::POST, DEFAULT_PATH, b)
            .await
            .2
            .starts_with('{')
    );
}

#[tokio::test]
async fn getuserdata_pages_with_string_ids_and_php_quirks() {
    let s = sim(Knobs::default());
    assert_eq!(
        call(&s, "getuserdata", Value::Null).await,
        json!({"Users": []})
    );
    seed(
        &s,
        &[
            ("a@x.io", &["Eng"]),
            ("b@x.io", &[]),
            ("c@x.io", &["Eng", "Ops"]),
        ],
    );
    let p0 = call(&s, "getuserdata", json!({"pagesize": 2, "pageindex": 0})).await;
    assert_eq!(
        (p0["total"].as_u64(), p0["count"].as_u64()),
        (Some(3), Some(2))
    );
    let ids: Vec<&String> = p0["Users"].as_object().unwrap().keys().collect();
    assert!(ids.iter().all(|id| id.parse::<u64>().is_ok()), "{ids:?}");
    let b = p0["Users"]
        .as_object()
        .unwrap()
        .values()
        .find(|u| u["username"] == "b@x.io")
        .unwrap();
    assert!(b.get("groups").is_none(), "groups absent when none: {b}");
    assert_eq!(
        (
            b["neverloggedin"].clone(),
            b["last_login"].clone(),
            b["sites"].clone()
        ),
        (json!(true), json!(""), Value::Null)
    );
    assert_eq!(p0["Groups"], json!({"Eng": ["a@x.io"]}));
    let p1 = call(
        &s,
        "getuserdata",
        json!({"pagesize": "2", "pageindex": "1"}),
    )
    .await;
    assert_eq!(p1["count"], 1);
    assert_eq!(p1["Groups"], json!({"Eng": ["c@x.io"], "Ops": ["c@x.io"]}));
    let ts = p1["Users"].as_object().unwrap().values().next().unwrap()["created"]
        .as_str()
        .unwrap()
        .to_string();
    assert!(
        jiff::civil::DateTime::strptime("%Y-%m-%d %H:%M:%S", &ts).is_ok(),
        "zone-less: {ts}"
    );
    let one = call(&s, "getuserdata", json!({"username": "C@X.IO"})).await;
    assert_eq!(one["count"], 1);
    let none = call(&s, "getuserdata", json!({"disabled": 1})).await;
    assert_eq!(none, json!({"Users": []}));
    s.set_knobs(Knobs {
        no_match_body: NoMatchBody::WithCounts,
        no_groups: NoGroups::EmptyList,
        ..Knobs::default()
    });
    assert_eq!(
        call(&s, "getuserdata", json!({"disabled": "1"})).await,
        json!({"total": 0, "count": 0, "Users": [], "Groups": []})
    );
    let all = call(&s, "getuserdata", Value::Null).await;
    let b = all["Users"]
        .as_object()
        .unwrap()
        .values()
        .find(|u| u["username"] == "b@x.io")
        .unwrap();
    assert_eq!(b["groups"], json!([]));
}

#[tokio::test]
async fn batchadd_on_existing_users_per_knob() {
    // (knob, reply status, groups after, fullname after): the user starts in "Old" as "Ann".
    let cases = [
        (ExistingUser::Update, "OK", vec!["New", "Old"], "Ann Lee"),
        (ExistingUser::Replace, "OK", vec!["New"], "Ann Lee"),
        (ExistingUser::Ignore, "OK", vec!["Old"], "Ann"),
        (ExistingUser::Warn, "WARN", vec!["Old"], "Ann"),
    ];
    for (knob, status, groups, name) in cases {
        let s = sim(Knobs {
            batchadd_existing: knob,
            ..Knobs::default()
        });
        s.seed(&[SeedUser {
            username: "ann@x.io".into(),
            fullname: "Ann".into(),
            groups: vec!["Old".into()],
            ..Default::default()
        }]);
        let r = call(
            &s,
            "batchadd",
            json!([{"username": "ann@x.io", "fullname": "Ann Lee", "groups": ["New"]}]),
        )
        .await;
        assert_eq!(r["status"], status, "{knob:?}: {r}");
        let store = s.store();
        let u = store.user("ann@x.io").unwrap();
        assert_eq!(u.groups.iter().collect::<Vec<_>>(), groups, "{knob:?}");
        assert_eq!(u.fullname, name, "{knob:?}");
        assert_eq!(
            store.groups.contains_key("Old"),
            groups.contains(&"Old"),
            "{knob:?}: empty groups vanish"
        );
    }
}

#[tokio::test]
async fn seat_limit_and_max_batch() {
    let s = sim(Knobs::default().seat_limit(2).max_batch(3));
    let r = call(
        &s,
        "batchadd",
        json!([{"username": "a@x.io"}, {"username": "b@x.io"}, {"username": "c@x.io"}]),
    )
    .await;
    assert_eq!(r["status"], "WARN");
    assert_eq!(r["errors"].as_array().unwrap().len(), 1);
    assert!(r["errors"][0].as_str().unwrap().starts_with("c@x.io"));
    assert!(s.store().user("c@x.io").is_none());
    let four = json!([{"username": "d@x.io"}, {"username": "e@x.io"}, {"username": "f@x.io"}, {"username": "g@x.io"}]);
    assert_eq!(call(&s, "batchadd", four).await["status"], "FAIL");
    assert_eq!(s.store().users.len(), 2);
}

#[tokio::test]
async fn batchchangegrp_warns_per_user_and_del_non_member_knob() {
    for (knob, want) in [(DelNonMember::Ok, "OK"), (DelNonMember::Warn, "WARN")] {
        let s = sim(Knobs {
            del_non_member: knob,
            ..Knobs::default()
        });
        seed(&s, &[("a@x.io", &["Eng"])]);
        let r = call(
            &s,
            "batchchangegrp",
            json!([{"username": "a@x.io", "add": ["Ops"], "del": ["Sales"]}]),
        )
        .await;
        assert_eq!(r["status"], want, "{knob:?}");
        assert!(s.store().user("a@x.io").unwrap().groups.contains("Ops"));
    }
    let s = sim(Knobs::default());
    seed(&s, &[("a@x.io", &[])]);
    let r = call(
        &s,
        "batchchangegrp",
        json!([{"username": "a@x.io", "add": ["G"]}, {"username": "bob@x.io", "add": ["G"]}]),
    )
    .await;
    assert_eq!(
        r,
        json!({"status": "WARN", "errors": ["bob@x.io does not exist"]})
    );
    assert_eq!(s.store().groups["G"].len(), 1);
}

#[tokio::test]
async fn deluser_actions_and_unknown_user_error_forms() {
    let s = sim(Knobs::default());
    seed(&s, &[("a@x.io", &["Eng"]), ("b@x.io", &["Eng"])]);
    assert_eq!(
        call(
            &s,
            "deluser",
            json!({"username": "a@x.io", "deleteaction": 0})
        )
        .await["status"],
        "OK"
    );
    let store = s.store();
    assert!(
        store.user("a@x.io").unwrap().disabled
            && store.user("a@x.io").unwrap().groups.contains("Eng")
    );
    assert_eq!(
        call(
            &s,
            "deluser",
            json!({"username": "b@x.io", "deleteaction": 2})
        )
        .await["status"],
        "OK"
    );
    assert!(s.store().user("b@x.io").is_none());
    assert_eq!(
        call(
            &s,
            "deluser",
            json!({"username": "b@x.io", "deleteaction": 0})
        )
        .await,
        json!({"status": "FAIL", "error": "No such user: b@x.io"})
    );
    assert_eq!(
        call(
            &s,
            "deluser",
            json!({"username": "a@x.io", "deleteaction": 9})
        )
        .await["status"],
        "FAIL"
    );
    s.set_knobs(Knobs {
        unknown_user_error: ErrorForm::List,
        ..Knobs::default()
    });
    assert_eq!(
        call(&s, "resetpassword", json!({"username": "z@x.io"})).await,
        json!({"status": "FAIL", "error": ["user not found: z@x.io"]})
    );
}

#[tokio::test]
async fn disable_and_enable_use_the_success_form() {
    let s = sim(Knobs::default());
    seed(&s, &[("a@x.io", &[]), ("b@x.io", &[])]);
    let r = call(&s, "disableuser", json!(["a@x.io", "z@x.io"])).await;
    assert_eq!(
        r,
        json!({"status": "success", "disabled_users": ["a@x.io"], "unchanged_users": [], "error": "No such user: z@x.io"})
    );
    let r = call(&s, "enableuser", json!(["a@x.io", "b@x.io"])).await;
    assert_eq!(
        r,
        json!({"status": "success", "enabled_users": ["a@x.io"], "unchanged_users": ["b@x.io"]})
    );
}

#[tokio::test]
async fn admin_api_seeds_edits_logs_in_and_shows_calls() {
    let s = sim(Knobs::default());
    let req = Request::builder()
        .method(Method::POST)
        .uri("/__admin/users")
        .header(header::CONTENT_TYPE, "application/json");
    let resp = router(s.clone())
        .oneshot(
            req.body(Body::from(
                json!([{"username": "Ann@x.io", "groups": ["Eng"]}]).to_string(),
            ))
            .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::OK);
    assert_eq!(s.store().user("ann@x.io").unwrap().username, "Ann@x.io");
    let patch = Request::builder()
        .method(Method::PATCH)
        .uri("/__admin/users/ann@x.io")
        .header(header::CONTENT_TYPE, "application/json")
        .body(Body::from(
            json!({"fullname": "Ann B", "disabled": true, "remove_groups": ["Eng"]}).to_string(),
        ))
        .unwrap();
    assert_eq!(
        router(s.clone()).oneshot(patch).await.unwrap().status(),
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send(
            &s,
            Method::POST,
            "/__admin/users/ann@x.io/login",
            String::new()
        )
        .await
        .0,
        StatusCode::NO_CONTENT
    );
    assert_eq!(
        send(
            &s,
            Method::POST,
            "/__admin/users/nobody@x.io/login",
            String::new()
        )
        .await
        .0,
        StatusCode::NOT_FOUND
    );
    let (_, _, state) = send(&s, Method::GET, "/__admin/state", String::new()).await;
    let state: Value = serde_json::from_str(&state).unwrap();
    let ann = &state["users"]["ann@x.io"];
    assert_eq!(
        (
            ann["fullname"].clone(),
            ann["disabled"].clone(),
            ann["neverloggedin"].clone()
        ),
        (json!("Ann B"), json!(true), json!(false))
    );
    assert_eq!(state["groups"], json!({}));
    call(&s, "getuserdata", Value::Null).await;
    let (_, _, calls) = send(&s, Method::GET, "/__admin/calls", String::new()).await;
    let calls: Vec<CallRecord> = serde_json::from_str(&calls).unwrap();
    assert_eq!(
        calls
            .iter()
            .map(|c| (c.command.as_str(), c.outcome))
            .collect::<Vec<_>>(),
        [("getuserdata", Outcome::Data)]
    );
    assert_eq!(
        send(&s, Method::DELETE, "/__admin/calls", String::new())
            .await
            .0,
        StatusCode::NO_CONTENT
    );
    assert!(s.calls().is_empty());
    assert!(!state.to_string().contains(HASH));
}

#[tokio::test]
async fn injected_faults_apply_or_not_as_documented() {
    let s = sim(Knobs::default());
    s.push_fault(PendingFault {
        fault: Fault::Html,
        command: Some("batchadd".into()),
    });
    s.push_fault(PendingFault {
        fault: Fault::Truncated,
        command: None,
    });
    // The HTML fault waits for batchadd; the read takes the truncation (and is applied).
    let body = json!({"cid": CID, "provhash": HASH, "cmd": "getuserdata"}).to_string();
    let (_, _, text) = send(&s, Method::POST, DEFAULT_PATH, body).await;
    assert!(
        serde_json::from_str::<Value>(&text).is_err(),
        "truncated: {text}"
    );
    let body =
        json!({"cid": CID, "provhash": HASH, "cmd": "batchadd", "data": [{"username": "a@x.io"}]})
            .to_string();
    let (status, _, text) = send(&s, Method::POST, DEFAULT_PATH, body).await;
    assert_eq!(status, StatusCode::OK);
    assert!(text.starts_with("<!DOCTYPE html>"));
    assert!(
        s.store().users.is_empty(),
        "an HTML page from the edge applies nothing"
    );
}

#[tokio::test]
async fn batchadd_on_a_removed_user_recreates_or_fails_per_knob() {
    use super::knobs::RemovedUser;
    for (knob, status, exists) in [
        (RemovedUser::Recreate, "OK", true),
        (RemovedUser::Fail, "FAIL", false),
    ] {
        let s = sim(Knobs {
            batchadd_removed: knob,
            ..Knobs::default()
        });
        seed(&s, &[("a@x.io", &[])]);
        let old_id = s.store().user("a@x.io").unwrap().id;
        assert_eq!(
            call(
                &s,
                "deluser",
                json!({"username": "a@x.io", "deleteaction": 1})
            )
            .await["status"],
            "OK"
        );
        let r = call(
            &s,
            "batchadd",
            json!([{"username": "A@x.io"}, {"username": "b@x.io"}]),
        )
        .await;
        assert_eq!(r["status"], status, "{knob:?}: {r}");
        let store = s.store();
        assert_eq!(store.user("a@x.io").is_some(), exists, "{knob:?}");
        assert_eq!(
            store.user("b@x.io").is_some(),
            exists,
            "{knob:?}: FAIL applies nothing"
        );
        if let Some(u) = store.user("a@x.io") {
            assert_ne!(u.id, old_id, "a new id");
        }
    }
}

#[tokio::test]
async fn every_account_starts_with_its_admin() {
    let s = SimState::builder(CID, SecretString::from(HASH)).build();
    let page = call(&s, "getuserdata", Value::Null).await;
    let users: Vec<&Value> = page["Users"].as_object().unwrap().values().collect();
    assert_eq!(users.len(), 1, "{page}");
    assert_eq!(users[0]["username"], DEFAULT_ADMIN);
    assert_eq!(users[0]["admin"], true);
    assert_eq!(users[0]["neverloggedin"], false, "the admin is active");

    let named = SimState::builder(CID, SecretString::from(HASH))
        .admin("root@corp.example")
        .build();
    assert!(named.store().user("root@corp.example").unwrap().admin);
}

#[tokio::test]
async fn whole_read_shapes_leave_filtered_reads_alone_and_reads_are_counted() {
    use super::knobs::WholeRead;
    let s = SimState::builder(CID, SecretString::from(HASH)).build();
    seed(&s, &[("a@x.io", &[]), ("b@x.io", &["Eng"])]);
    let shapes = [
        (WholeRead::EmptyArray, json!([])),
        (WholeRead::EmptyObject, json!({})),
        (WholeRead::NullUsers, json!({"Users": null})),
        (WholeRead::StatusOk, json!({"status": "OK"})),
        (WholeRead::EmptyUsers, json!({"Users": []})),
    ];
    for (shape, want) in shapes {
        s.set_knobs(Knobs::default().whole_read(shape));
        let paged = json!({"pagesize": 2000, "pageindex": 0});
        assert_eq!(call(&s, "getuserdata", paged).await, want, "{shape:?}");
        let one = call(&s, "getuserdata", json!({"username": "A@x.io"})).await;
        assert_eq!(
            one["Users"].as_object().unwrap().len(),
            1,
            "{shape:?}: {one}"
        );
    }
    s.set_knobs(Knobs::default().whole_read(WholeRead::TotalTooLarge));
    let page = call(&s, "getuserdata", Value::Null).await;
    assert_eq!(page["Users"].as_object().unwrap().len(), 3);
    assert!(page["total"].as_u64().unwrap() > 3, "{page}");

    s.set_knobs(Knobs::default().hide_from_whole_reads(&["B@x.io"]));
    let page = call(&s, "getuserdata", Value::Null).await;
    assert_eq!(page["total"], 2, "hidden from users and total: {page}");
    assert!(
        page["Groups"].get("Eng").is_none(),
        "and from groups: {page}"
    );
    let b = call(&s, "getuserdata", json!({"username": "b@x.io"})).await;
    assert_eq!(
        b["Users"].as_object().unwrap().len(),
        1,
        "a filtered read finds it"
    );

    assert_eq!(
        s.read_counts(),
        ReadCounts {
            whole: 7,
            filtered: 6
        }
    );
    let (_, _, text) = send(&s, Method::GET, "/__admin/reads", String::new()).await;
    assert_eq!(
        serde_json::from_str::<Value>(&text).unwrap(),
        json!({"whole": 7, "filtered": 6})
    );
}
