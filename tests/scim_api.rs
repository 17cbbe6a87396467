//! The SCIM endpoint over real HTTP against a real API server: users and groups end to end,
//! the 409/404/400 cases, paging and filters, discovery, and what it never touches.

mod support;

use kube::ResourceExt;
use kube::api::PostParams;
use lastpass_operator::crd::{LastPassGroup, LastPassUser, SOURCE_LABEL};
use lastpass_operator::scim::mapping::{
    ID_LABEL, INTEGRATION_LABEL, USERNAME_HASH_LABEL, username_hash,
};
use serde_json::{Value, json};
use support::builders::{group, merge, user};
use support::scim::{ScimServer, contains, scim_group, scim_integration, scim_user};

/// A SCIM user as an IdP sends it: with an externalId, active, and a password.
fn new_user(username: &str, given: &str, family: &str) -> Value {
    let mut u = scim_user(username, given, family);
    merge(
        &mut u,
        json!({"externalId": format!("ext-{given}"), "active": true, "password": "Sup3rSecret!"}),
    );
    u
}

/// A LastPassUser from Git (no SCIM labels).
fn git_user(name: &str, username: &str) -> LastPassUser {
    user(name, username, json!({"fullName": "Git Person"}))
}

#[tokio::test]
async fn users_create_get_filter_replace_patch_delete() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let s = ScimServer::start(cluster).await;

    let (st, created) = s
        .call(
            "POST",
            "/Users",
            Some(new_user("Jane.Doe@Example.com", "Jane", "Doe")),
        )
        .await;
    assert_eq!(st, 201, "{created}");
    let id = created["id"].as_str().unwrap().to_string();
    assert!(contains(
        &created,
        &json!({"userName": "Jane.Doe@Example.com", "active": true, "externalId": "ext-Jane",
                "meta": {"resourceType": "User"}})
    ));
    assert!(created.get("password").is_none(), "password never returned");
    assert!(
        created["meta"]["location"]
            .as_str()
            .unwrap()
            .ends_with(&format!("/Users/{id}"))
    );
    assert!(
        created["meta"]["version"]
            .as_str()
            .unwrap()
            .starts_with("W/\"")
    );
    assert!(created["meta"]["created"].is_string() && created["meta"]["lastModified"].is_string());

    // The resource: labels, spec, name derived from the userName, password nowhere.
    let users = s.users().await;
    assert_eq!(users.len(), 1);
    let u = &users[0];
    assert_eq!(u.name_any(), "jane.doe.example.com");
    assert_eq!(u.labels()[SOURCE_LABEL], "scim");
    assert_eq!(u.labels()[INTEGRATION_LABEL], "acme");
    assert_eq!(u.labels()[ID_LABEL], id);
    assert_eq!(
        u.labels()[USERNAME_HASH_LABEL],
        username_hash("jane.doe@example.com")
    );
    assert_eq!(u.spec.integration_ref.name, "acme");
    assert_eq!(u.spec.username, "Jane.Doe@Example.com");
    assert_eq!(u.spec.full_name.as_deref(), Some("Jane Doe"));
    assert!(!u.spec.suspended);
    assert!(!serde_json::to_string(u).unwrap().contains("Sup3rSecret"));

    // GET by id, and lookups as Okta and Entra make them.
    let (st, got) = s.call("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(
        (st, got["userName"].clone()),
        (200, json!("Jane.Doe@Example.com"))
    );
    for f in [
        "userName%20eq%20%22jane.doe%40example.com%22",
        "externalId%20eq%20%22ext-Jane%22",
        "emails%5Btype%20eq%20%22work%22%5D.value%20eq%20%22jane.doe%40example.com%22",
    ] {
        let (st, list) = s
            .call(
                "GET",
                &format!("/Users?filter={f}&startIndex=1&count=100"),
                None,
            )
            .await;
        assert_eq!(st, 200, "{f}: {list}");
        assert_eq!(list["totalResults"], json!(1), "{f}: {list}");
        assert_eq!(list["Resources"][0]["id"], json!(id));
    }
    let (_, none) = s
        .call(
            "GET",
            "/Users?filter=userName%20eq%20%22nobody%40example.com%22",
            None,
        )
        .await;
    assert_eq!(
        none,
        json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:ListResponse"],
               "totalResults": 0, "startIndex": 1, "itemsPerPage": 0, "Resources": []})
    );

    // Duplicate userName, in another case: 409 uniqueness.
    let (st, err) = s
        .call(
            "POST",
            "/Users",
            Some(new_user("jane.doe@example.com", "J", "D")),
        )
        .await;
    assert_eq!(st, 409, "{err}");
    assert_eq!(err["scimType"], "uniqueness");
    assert_eq!(err["status"], "409");

    // PUT (Okta's profile update and deactivation).
    let mut put = new_user("Jane.Doe@Example.com", "Janet", "Doe");
    put["active"] = json!(false);
    put["title"] = json!("Engineer");
    let (st, replaced) = s.call("PUT", &format!("/Users/{id}"), Some(put)).await;
    assert_eq!(st, 200, "{replaced}");
    assert!(contains(
        &replaced,
        &json!({"active": false, "title": "Engineer", "name": {"givenName": "Janet"}})
    ));
    let u = &s.users().await[0];
    assert!(u.spec.suspended);
    assert_eq!(u.spec.full_name.as_deref(), Some("Janet Doe"));

    // PATCH, Entra style: capitalised ops, string boolean, value paths, extension URN.
    let (st, patched) = s
        .call(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"], "Operations": [
                {"op": "Replace", "path": "active", "value": "True"},
                {"op": "Replace", "path": "name.familyName", "value": "Smith"},
                {"op": "Add", "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "value": "R&D"}
            ]})),
        )
        .await;
    assert_eq!(st, 200, "{patched}");
    assert_eq!(patched["active"], json!(true));
    assert_eq!(
        patched["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"]["department"],
        "R&D"
    );
    let u = &s.users().await[0];
    assert!(!u.spec.suspended);
    assert_eq!(u.spec.full_name.as_deref(), Some("Janet Smith"));

    // userName change: 400 mutability, in PUT and in PATCH; nothing changed.
    let (st, err) = s
        .call(
            "PUT",
            &format!("/Users/{id}"),
            Some(new_user("jane.smith@example.com", "J", "S")),
        )
        .await;
    assert_eq!(
        (st, err["scimType"].clone()),
        (400, json!("mutability")),
        "{err}"
    );
    assert!(err["detail"].as_str().unwrap().contains("immutable"));
    let (st, err) = s
        .call(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({"Operations": [{"op": "replace", "path": "userName", "value": "x@example.com"}]})),
        )
        .await;
    assert_eq!((st, err["scimType"].clone()), (400, json!("mutability")));
    assert_eq!(s.users().await[0].spec.username, "Jane.Doe@Example.com");

    // If-Match with a stale version: 412.
    let (st, _, err) = s
        .raw(Some(&s.token), "GET", &format!("/Users/{id}"), None)
        .await;
    assert_eq!(st, 200, "{err}");
    let stale = s
        .http
        .put(format!("{}/Users/{id}", s.base))
        .bearer_auth(&s.token)
        .header("if-match", "W/\"1\"")
        .header("content-type", "application/json")
        .body(new_user("Jane.Doe@Example.com", "J", "D").to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(stale.status().as_u16(), 412);

    // Unknown ids: 404 on every verb.
    for (m, body) in [
        ("GET", None),
        ("PUT", Some(new_user("a@example.com", "a", "b"))),
        (
            "PATCH",
            Some(json!({"Operations": [{"op": "replace", "value": {"active": false}}]})),
        ),
        ("DELETE", None),
    ] {
        let (st, err) = s
            .call(m, "/Users/00000000-0000-4000-8000-000000000000", body)
            .await;
        assert_eq!(st, 404, "{m}: {err}");
        assert_eq!(err["status"], "404");
    }

    // DELETE: 204, the resource is gone, then 404.
    let (st, body) = s.call("DELETE", &format!("/Users/{id}"), None).await;
    assert_eq!((st, body), (204, Value::Null));
    assert!(s.users().await.is_empty());
    let (st, _) = s.call("GET", &format!("/Users/{id}"), None).await;
    assert_eq!(st, 404);
    s.stop().await;
}

#[tokio::test]
async fn resources_of_other_sources_are_never_touched() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let s = ScimServer::start(cluster).await;
    let git =
        s.ns.api::<LastPassUser>()
            .create(&PostParams::default(), &git_user("bob", "bob@example.com"))
            .await
            .unwrap();
    let uid = git.metadata.uid.clone().unwrap();
    // Uniqueness is checked in the SCIM server's store: wait until it has seen the resource
    // written by someone else (read-your-writes holds for the server's own writes only).
    support::wait_for(std::time::Duration::from_secs(10), || async {
        s.ctx.stores.users.get(&s.ns.name, "bob").map(|_| ())
    })
    .await
    .expect("the store follows the namespace");

    let (st, err) = s
        .call(
            "POST",
            "/Users",
            Some(new_user("BOB@example.com", "Bob", "B")),
        )
        .await;
    assert_eq!(
        (st, err["scimType"].clone()),
        (409, json!("uniqueness")),
        "{err}"
    );
    let detail = err["detail"].as_str().unwrap();
    assert!(
        detail.contains("source: git") && detail.contains("/bob"),
        "{detail}"
    );

    let (_, list) = s.call("GET", "/Users", None).await;
    assert_eq!(list["totalResults"], json!(0), "not listed: {list}");
    for m in ["GET", "DELETE"] {
        let (st, _) = s.call(m, &format!("/Users/{uid}"), None).await;
        assert_eq!(st, 404, "{m} by the git user's uid");
    }
    assert_eq!(s.users().await.len(), 1, "the git user is still there");

    // A git resource named like the SCIM user would be: the SCIM one gets another name.
    s.ns.api::<LastPassUser>()
        .create(
            &PostParams::default(),
            &git_user("carol.example.com", "carol.git@example.com"),
        )
        .await
        .unwrap();
    let (st, c) = s
        .call(
            "POST",
            "/Users",
            Some(new_user("carol@example.com", "Carol", "C")),
        )
        .await;
    assert_eq!(st, 201, "{c}");
    let scim_carol = s
        .users()
        .await
        .into_iter()
        .find(|u| u.spec.username == "carol@example.com")
        .unwrap();
    assert!(
        scim_carol.name_any().starts_with("carol.example.com-"),
        "{}",
        scim_carol.name_any()
    );

    // A group name held by a git LastPassGroup: 409 with a clear detail.
    let gg = group("eng", "Engineering", json!({}));
    s.ns.api::<LastPassGroup>()
        .create(&PostParams::default(), &gg)
        .await
        .unwrap();
    let (st, err) = s
        .call(
            "POST",
            "/Groups",
            Some(json!({"displayName": "engineering", "members": []})),
        )
        .await;
    assert_eq!(
        (st, err["scimType"].clone()),
        (409, json!("uniqueness")),
        "{err}"
    );
    assert!(err["detail"].as_str().unwrap().contains("source: git"));
    s.stop().await;
}

#[tokio::test]
async fn groups_members_rename_and_delete() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let s = ScimServer::start(cluster).await;
    let mut ids = Vec::new();
    for (u, g) in [
        ("ann@example.com", "Ann"),
        ("ben@example.com", "Ben"),
        ("cy@example.com", "Cy"),
    ] {
        ids.push(s.create_user(new_user(u, g, "X")).await);
    }
    let mut eng = scim_group("Engineering", &[&ids[0], &ids[1]]);
    merge(&mut eng, json!({"externalId": "g-1"}));
    let g = s.create("/Groups", eng).await;
    let gid = g["id"].as_str().unwrap().to_string();
    assert!(contains(
        &g,
        &json!({"displayName": "Engineering", "externalId": "g-1",
        "members": [{"value": ids[0], "display": "ann@example.com"}, {"value": ids[1]}],
        "meta": {"resourceType": "Group"}})
    ));
    let lpg = &s.groups().await[0];
    assert_eq!(lpg.spec.group_name, "Engineering");
    assert_eq!(lpg.spec.members, vec!["ann@example.com", "ben@example.com"]);
    assert_eq!(lpg.labels()[SOURCE_LABEL], "scim");

    // Duplicate displayName: 409.
    let (st, _) = s
        .call(
            "POST",
            "/Groups",
            Some(json!({"displayName": "ENGINEERING"})),
        )
        .await;
    assert_eq!(st, 409);
    // A member that cannot be a user id of this endpoint: 400 invalidValue (an unknown id that
    // could be one is kept pending: tests/scim_input.rs).
    let (st, err) = s
        .call(
            "POST",
            "/Groups",
            Some(json!({"displayName": "X", "members": [{"value": "not an id"}]})),
        )
        .await;
    assert_eq!(
        (st, err["scimType"].clone()),
        (400, json!("invalidValue")),
        "{err}"
    );

    // Entra lookup without members.
    let (st, list) = s
        .call(
            "GET",
            "/Groups?excludedAttributes=members&filter=displayName%20eq%20%22engineering%22",
            None,
        )
        .await;
    assert_eq!(
        (st, list["totalResults"].clone()),
        (200, json!(1)),
        "{list}"
    );
    assert!(list["Resources"][0].get("members").is_none());
    let (_, one) = s
        .call(
            "GET",
            &format!("/Groups/{gid}?excludedAttributes=members"),
            None,
        )
        .await;
    assert!(one.get("members").is_none() && one["displayName"] == "Engineering");

    // PATCH: add (with a duplicate), remove by filter, remove by value list.
    let path = format!("/Groups/{gid}");
    let (st, v) = s
        .call(
            "PATCH",
            &path,
            Some(json!({"Operations": [
                {"op": "add", "path": "members", "value": [{"value": ids[2]}, {"value": ids[0]}]}
            ]})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(v["members"].as_array().unwrap().len(), 3);
    let (st, _) = s
        .call(
            "PATCH",
            &path,
            Some(json!({"Operations": [
                {"op": "remove", "path": format!("members[value eq \"{}\"]", ids[0])}
            ]})),
        )
        .await;
    assert_eq!(st, 200);
    let (st, _) = s
        .call(
            "PATCH",
            &path,
            Some(json!({"Operations": [
                {"op": "Remove", "path": "members", "value": [{"value": ids[1]}]}
            ]})),
        )
        .await;
    assert_eq!(st, 200);
    assert_eq!(s.groups().await[0].spec.members, vec!["cy@example.com"]);

    // Filter on members.
    let (_, list) = s
        .call(
            "GET",
            &format!("/Groups?filter=members%20eq%20%22{}%22", ids[2]),
            None,
        )
        .await;
    assert_eq!(list["totalResults"], json!(1), "{list}");

    // Rename (Okta's form, id in the value): same SCIM id, new resource, old one gone.
    let (st, v) = s
        .call(
            "PATCH",
            &path,
            Some(json!({"Operations": [
                {"op": "replace", "value": {"id": gid, "displayName": "Platform"}}
            ]})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(
        (v["id"].as_str(), v["displayName"].as_str()),
        (Some(gid.as_str()), Some("Platform"))
    );
    let groups = s.groups().await;
    assert_eq!(groups.len(), 1, "old group deleted");
    assert_eq!(groups[0].spec.group_name, "Platform");
    assert_eq!(groups[0].name_any(), "platform");
    assert_eq!(groups[0].spec.members, vec!["cy@example.com"]);
    let (st, v) = s.call("GET", &path, None).await;
    assert_eq!((st, v["displayName"].clone()), (200, json!("Platform")));

    // PUT replaces the members.
    let (st, v) = s
        .call(
            "PUT",
            &path,
            Some(json!({"displayName": "Platform", "members": [{"value": ids[0]}]})),
        )
        .await;
    assert_eq!(st, 200, "{v}");
    assert_eq!(s.groups().await[0].spec.members, vec!["ann@example.com"]);

    // Deleting a user drops it from the groups.
    let (st, _) = s.call("DELETE", &format!("/Users/{}", ids[0]), None).await;
    assert_eq!(st, 204);
    assert!(s.groups().await[0].spec.members.is_empty());

    let (st, _) = s.call("DELETE", &path, None).await;
    assert_eq!(st, 204);
    assert!(s.groups().await.is_empty());
    let (st, _) = s.call("DELETE", &path, None).await;
    assert_eq!(st, 404);
    s.stop().await;
}

#[tokio::test]
async fn paging_filters_and_bad_requests() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let s = ScimServer::start(cluster).await;
    for i in 0..5 {
        let (st, _) = s
            .call(
                "POST",
                "/Users",
                Some(new_user(
                    &format!("u{i}@example.com"),
                    &format!("U{i}"),
                    "P",
                )),
            )
            .await;
        assert_eq!(st, 201);
    }
    let (_, page) = s.call("GET", "/Users?startIndex=2&count=2", None).await;
    assert_eq!(page["totalResults"], json!(5));
    assert_eq!(page["startIndex"], json!(2));
    assert_eq!(page["itemsPerPage"], json!(2));
    assert_eq!(page["Resources"][0]["userName"], "u1@example.com");
    let (_, empty) = s.call("GET", "/Users?count=0", None).await;
    assert_eq!(
        (empty["totalResults"].clone(), empty["itemsPerPage"].clone()),
        (json!(5), json!(0))
    );
    let (_, google) = s.call("GET", "/Users?count=1", None).await;
    assert_eq!(google["Resources"].as_array().unwrap().len(), 1);

    let q = |f: &str| {
        format!(
            "/Users?filter={}",
            f.replace(' ', "%20").replace('"', "%22")
        )
    };
    for (f, n) in [
        (r#"userName sw "u1" or userName ew "4@example.com""#, 2),
        (r#"not (userName eq "u0@example.com")"#, 4),
        (
            r#"meta.created gt "2000-01-01T00:00:00Z" and active eq true"#,
            5,
        ),
        (r#"meta.lastModified lt "2000-01-01T00:00:00Z""#, 0),
        (r#"emails[type eq "work" and value co "u3@"]"#, 1),
        (r#"name.givenName pr and (name.familyName eq "p")"#, 5),
    ] {
        let (st, list) = s.call("GET", &q(f), None).await;
        assert_eq!(
            (st, list["totalResults"].clone()),
            (200, json!(n)),
            "{f}: {list}"
        );
    }
    for bad in [
        r#"userName eq"#,
        r#"(userName eq "x""#,
        r#"userName zz "x""#,
    ] {
        let (st, err) = s.call("GET", &q(bad), None).await;
        assert_eq!(
            (st, err["scimType"].clone()),
            (400, json!("invalidFilter")),
            "{bad}"
        );
    }
    let (st, err) = s.call("GET", "/Users?count=many", None).await;
    assert_eq!(st, 400, "{err}");

    // Bodies: not JSON, wrong content type, no userName, non-e-mail userName, bad PATCH.
    let r = s
        .http
        .post(format!("{}/Users", s.base))
        .bearer_auth(&s.token)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    assert_eq!(r.headers()["content-type"], "application/scim+json");
    let r = s
        .http
        .post(format!("{}/Users", s.base))
        .bearer_auth(&s.token)
        .header("content-type", "text/plain")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 400);
    let (st, err) = s
        .call("POST", "/Users", Some(json!({"name": {"givenName": "x"}})))
        .await;
    assert_eq!((st, err["scimType"].clone()), (400, json!("invalidValue")));
    let (st, err) = s
        .call("POST", "/Users", Some(json!({"userName": "jdoe"})))
        .await;
    assert_eq!(st, 400, "{err}");
    assert!(err["detail"].as_str().unwrap().contains("e-mail"));
    let id = page["Resources"][0]["id"].as_str().unwrap();
    let (st, err) = s
        .call(
            "PATCH",
            &format!("/Users/{id}"),
            Some(json!({"Operations": [{"op": "jump", "path": "active"}]})),
        )
        .await;
    assert_eq!((st, err["scimType"].clone()), (400, json!("invalidSyntax")));
    for m in ["GET", "POST"] {
        let (st, err) = s.call(m, "/Me", None).await;
        assert_eq!((st, err["status"].clone()), (501, json!("501")));
    }
    let (st, err) = s.call("DELETE", "/Users", None).await;
    assert_eq!((st, err["status"].clone()), (405, json!("405")));
    let (st, _) = s.call("POST", "/Bulk", Some(json!({}))).await;
    assert_eq!(st, 501);
    let (st, err) = s.call("GET", "/Nothing", None).await;
    assert_eq!((st, err["status"].clone()), (404, json!("404")));
    s.stop().await;
}

#[tokio::test]
async fn discovery_endpoints_and_disabled_integrations() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let s = ScimServer::start(cluster).await;
    let (st, h, spc) = s
        .raw(Some(&s.token), "GET", "/ServiceProviderConfig", None)
        .await;
    assert_eq!(st, 200);
    assert_eq!(h["content-type"], "application/scim+json");
    assert!(contains(
        &spc,
        &json!({"patch": {"supported": true}, "filter": {"supported": true},
        "bulk": {"supported": false}, "authenticationSchemes": [{"type": "oauthbearertoken"}]})
    ));
    let (_, rts) = s.call("GET", "/ResourceTypes", None).await;
    assert_eq!(rts["totalResults"], json!(2));
    assert!(contains(
        &rts,
        &json!({"Resources": [{"id": "User", "endpoint": "/Users"}, {"id": "Group"}]})
    ));
    let (st, rt) = s.call("GET", "/ResourceTypes/Group", None).await;
    assert_eq!(
        (st, rt["schema"].clone()),
        (200, json!("urn:ietf:params:scim:schemas:core:2.0:Group"))
    );
    let (_, schemas) = s.call("GET", "/Schemas", None).await;
    assert_eq!(schemas["totalResults"], json!(3));
    let (st, user_schema) = s
        .call(
            "GET",
            "/Schemas/urn:ietf:params:scim:schemas:core:2.0:User",
            None,
        )
        .await;
    assert_eq!(st, 200);
    assert!(contains(
        &user_schema,
        &json!({"attributes": [{"name": "userName", "uniqueness": "server"}]})
    ));

    // An integration without SCIM, and one that does not exist: the same 401 as a wrong token
    // (no oracle of which integrations exist).
    s.ns.api::<lastpass_operator::crd::DirectoryIntegration>()
        .create(&PostParams::default(), &scim_integration("off", false))
        .await
        .unwrap();
    let (_, wrong) = s.call_as(Some("wrong"), "GET", "/Users", None).await;
    for name in ["off", "missing"] {
        let url = s.base.replace("/acme", &format!("/{name}")) + "/Users";
        let (st, err) = s.call("GET", &url, None).await;
        assert_eq!((st, &err), (401, &wrong), "{name}");
    }
    s.stop().await;
}

#[tokio::test]
async fn concurrent_member_adds_are_not_lost() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let s = ScimServer::start(cluster).await;
    let mut ids = Vec::new();
    for i in 0..8 {
        let (st, v) = s
            .call(
                "POST",
                "/Users",
                Some(new_user(&format!("m{i}@example.com"), "M", "N")),
            )
            .await;
        assert_eq!(st, 201);
        ids.push(v["id"].as_str().unwrap().to_string());
    }
    let (st, g) = s
        .call("POST", "/Groups", Some(json!({"displayName": "Busy"})))
        .await;
    assert_eq!(st, 201);
    let path = format!("/Groups/{}", g["id"].as_str().unwrap());
    // Entra sends membership changes of one group in parallel.
    let adds = ids.iter().map(|id| {
        s.call(
            "PATCH",
            &path,
            Some(
                json!({"Operations": [{"op": "Add", "path": "members", "value": [{"value": id}]}]}),
            ),
        )
    });
    for (st, body) in futures::future::join_all(adds).await {
        assert_eq!(st, 200, "{body}");
    }
    let mut members = s.groups().await[0].spec.members.clone();
    members.sort();
    let want: Vec<String> = (0..8).map(|i| format!("m{i}@example.com")).collect();
    assert_eq!(members, want, "every concurrent add is kept");
    s.stop().await;
}

#[tokio::test]
async fn search_by_post() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let s = ScimServer::start(cluster).await;
    for u in ["a@example.com", "b@example.com"] {
        assert_eq!(
            s.call("POST", "/Users", Some(new_user(u, "A", "B")))
                .await
                .0,
            201
        );
    }
    let (st, list) = s
        .call(
            "POST",
            "/Users/.search",
            Some(json!({"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
                        "filter": "userName sw \"b\"", "attributes": ["userName"], "startIndex": 1, "count": 10})),
        )
        .await;
    assert_eq!(st, 200, "{list}");
    assert_eq!(list["totalResults"], json!(1));
    assert_eq!(list["Resources"][0]["userName"], "b@example.com");
    assert!(
        list["Resources"][0].get("name").is_none(),
        "attributes applied"
    );
    let (st, err) = s
        .call(
            "POST",
            "/Groups/.search",
            Some(json!({"filter": "displayName eq"})),
        )
        .await;
    assert_eq!((st, err["scimType"].clone()), (400, json!("invalidFilter")));
    s.stop().await;
}
