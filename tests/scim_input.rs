//! What a caller sends, over real HTTP against a real API server: bounded work per request
//! (body, operations, members), hostile Unicode, and userNames that are not e-mails.

mod scim_common;
mod support;

use lastpass_operator::scim::errors::ERROR_SCHEMA;
use lastpass_operator::scim::limits::{MAX_BODY_BYTES, MAX_MEMBERS, MAX_OPERATIONS};
use lastpass_operator::scim::mapping::SCIM_USERNAME_ANNOTATION;
use scim_common::ScimServer;
use serde_json::{Value, json};

fn assert_scim_error(v: &Value, status: u16, scim_type: Option<&str>) {
    assert_eq!(v["schemas"][0], ERROR_SCHEMA, "{v}");
    assert_eq!(v["status"], status.to_string(), "{v}");
    assert_eq!(v["scimType"].as_str(), scim_type, "{v}");
}

async fn create_group(s: &ScimServer, name: &str) -> String {
    let (st, g) = s
        .call("POST", "/Groups", Some(json!({"displayName": name})))
        .await;
    assert_eq!(st, 201, "{g}");
    g["id"].as_str().unwrap().to_string()
}

#[tokio::test]
async fn requests_are_bounded() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let s = ScimServer::start(cluster).await;
    let gid = create_group(&s, "Bounded").await;

    // 2 MiB body: 413 with a SCIM error body, whatever the route.
    let big = json!({"userName": "big@example.com", "title": "x".repeat(2 * MAX_BODY_BYTES)});
    let (st, v) = s.call("POST", "/Users", Some(big)).await;
    assert_eq!(st, 413, "{v}");
    assert_scim_error(&v, 413, None);
    assert!(s.users().await.is_empty(), "nothing written");

    // 1,001 operations: 400 tooMany; 1,000 pass.
    let op = json!({"op": "replace", "path": "externalId", "value": "e"});
    let (st, v) = s
        .call(
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(json!({"Operations": vec![op.clone(); MAX_OPERATIONS + 1]})),
        )
        .await;
    assert_eq!(st, 400, "{v}");
    assert_scim_error(&v, 400, Some("tooMany"));
    let (st, v) = s
        .call(
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(json!({"Operations": vec![op; MAX_OPERATIONS]})),
        )
        .await;
    assert_eq!(st, 200, "{v}");

    // 10,001 members in one request: 400 tooMany, in a PATCH and in a POST.
    let members: Vec<Value> = (0..=MAX_MEMBERS)
        .map(|i| json!({"value": format!("m{i}")}))
        .collect();
    let (st, v) = s
        .call(
            "PATCH",
            &format!("/Groups/{gid}"),
            Some(json!({"Operations": [{"op": "add", "path": "members", "value": members}]})),
        )
        .await;
    assert_eq!(st, 400, "{v}");
    assert_scim_error(&v, 400, Some("tooMany"));
    let (st, v) = s
        .call(
            "POST",
            "/Groups",
            Some(json!({"displayName": "Huge", "members": members})),
        )
        .await;
    assert_eq!(st, 400, "{v}");
    assert_scim_error(&v, 400, Some("tooMany"));
    assert_eq!(s.groups().await.len(), 1, "no group written");
    s.stop().await;
}

#[tokio::test]
async fn a_non_ascii_patch_path_is_a_scim_error() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let s = ScimServer::start(cluster).await;
    let (st, u) = s
        .call("POST", "/Users", Some(json!({"userName": "u@example.com"})))
        .await;
    assert_eq!(st, 201, "{u}");
    let id = u["id"].as_str().unwrap();
    // `é` straddles byte 4 of the path: slicing it there to look for `urn:` panicked, and the
    // caller got a dropped connection instead of an answer.
    for path in ["abcé", "titlé", "nämé.givenName"] {
        let (st, v) = s
            .call(
                "PATCH",
                &format!("/Users/{id}"),
                Some(json!({"Operations": [{"op": "replace", "path": path, "value": "x"}]})),
            )
            .await;
        assert!(st == 200 || st == 400, "{path}: {st} {v}");
        if st == 400 {
            assert_eq!(v["schemas"][0], ERROR_SCHEMA, "{path}: {v}");
        }
    }
    let (st, _) = s.call("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(st, 200, "the server still answers");
    s.stop().await;
}

#[tokio::test]
async fn a_username_that_is_not_an_email_uses_the_work_address() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let s = ScimServer::start(cluster).await;
    let jdoe = json!({
        "userName": "jdoe",
        "name": {"givenName": "Jane", "familyName": "Doe"},
        "emails": [{"value": "jane@home.example.org", "type": "home"},
                   {"value": "Jane.Doe@Example.com", "type": "work"}]
    });
    let (st, created) = s.call("POST", "/Users", Some(jdoe.clone())).await;
    assert_eq!(st, 201, "{created}");
    assert_eq!(created["userName"], "jdoe", "SCIM keeps userName as sent");
    let id = created["id"].as_str().unwrap().to_string();

    let users = s.users().await;
    assert_eq!(users.len(), 1);
    assert_eq!(users[0].spec.username, "Jane.Doe@Example.com");
    assert_eq!(
        users[0].metadata.annotations.as_ref().unwrap()[SCIM_USERNAME_ANNOTATION],
        "jdoe"
    );

    // The IdP's lookup by userName finds it; so does GET by id.
    let (st, list) = s
        .call("GET", "/Users?filter=userName%20eq%20%22JDOE%22", None)
        .await;
    assert_eq!(
        (st, list["totalResults"].clone()),
        (200, json!(1)),
        "{list}"
    );
    assert_eq!(list["Resources"][0]["id"], id.as_str());
    let (st, got) = s.call("GET", &format!("/Users/{id}"), None).await;
    assert_eq!((st, got["userName"].clone()), (200, json!("jdoe")));

    // A later e-mail change does not rename the LastPass account; a PATCH keeps working.
    let (st, v) = s
        .call(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({"Operations": [
                {"op": "replace", "path": "emails[type eq \"work\"].value", "value": "jd@example.com"},
                {"op": "replace", "path": "title", "value": "Engineer"}]})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["userName"], "jdoe");
    assert_eq!(s.users().await[0].spec.username, "Jane.Doe@Example.com");

    // Uniqueness is on the LastPass username.
    let mut twin = jdoe.clone();
    twin["userName"] = json!("jane.doe");
    let (st, v) = s.call("POST", "/Users", Some(twin)).await;
    assert_eq!(st, 409, "{v}");
    let (st, v) = s
        .call(
            "POST",
            "/Users",
            Some(json!({"userName": "jane.doe@example.com"})),
        )
        .await;
    assert_eq!(st, 409, "{v}");

    // No e-mail at all: 400 naming the fix.
    let (st, v) = s
        .call("POST", "/Users", Some(json!({"userName": "nomail"})))
        .await;
    assert_eq!(st, 400, "{v}");
    assert_scim_error(&v, 400, Some("invalidValue"));
    let detail = v["detail"].as_str().unwrap();
    assert!(
        detail.contains("send the user's e-mail as userName or in emails"),
        "{detail}"
    );
    assert_eq!(s.users().await.len(), 1);
    s.stop().await;
}
