//! Replays each identity provider's transcript (`tests/fixtures/scim/<provider>.json`) against
//! the real router on a real API server. A step is a request, the expected status, fragments the
//! response body must contain, and optionally the LastPassUser / LastPassGroup it must leave.
//!
//! Step fields: `name`, `method`, `path` (relative to the endpoint), `body`, `contentType`,
//! `status`, `expect` (a JSON fragment: objects key by key, arrays element by element),
//! `absent` (top-level keys that must not be in the body), `save` (`{"var": "id"}` stores a
//! top-level string of the body; `{{var}}` in later paths and bodies is replaced by it),
//! `user` / `group` (`{"username"|"groupName": .., "spec": fragment}` or `"gone": true`).

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use serde_json::Value;
use support::scim::{ScimServer, contains};

fn substitute(text: &str, vars: &BTreeMap<String, String>) -> String {
    let mut out = text.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{{{k}}}}}"), v);
    }
    out
}

async fn replay(provider: &str) {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let file = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/scim")
        .join(format!("{provider}.json"));
    let transcript: Value =
        serde_json::from_str(&std::fs::read_to_string(&file).expect("fixture")).expect("JSON");
    let steps = transcript["steps"].as_array().expect("steps");
    assert!(!steps.is_empty());
    let s = ScimServer::start(cluster).await;
    let mut vars = BTreeMap::new();
    for (i, step) in steps.iter().enumerate() {
        let name = format!(
            "{provider} step {i} ({})",
            step["name"].as_str().unwrap_or("")
        );
        let method = step["method"].as_str().expect("method");
        let path = substitute(step["path"].as_str().expect("path"), &vars);
        let url = format!("{}{}", s.base, path);
        let mut req = s
            .http
            .request(method.parse().unwrap(), &url)
            .bearer_auth(&s.token)
            .header("accept", "application/scim+json");
        if let Some(body) = step.get("body") {
            let ct = step["contentType"]
                .as_str()
                .unwrap_or("application/scim+json");
            req = req
                .header("content-type", ct)
                .body(substitute(&body.to_string(), &vars));
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let ct = resp
            .headers()
            .get("content-type")
            .map(|v| v.to_str().unwrap().to_string());
        let text = resp.text().await.unwrap();
        let body: Value = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}: {text}"))
        };
        assert_eq!(
            status,
            step["status"].as_u64().expect("status") as u16,
            "{name}: {method} {path}: {body}"
        );
        if !text.is_empty() {
            assert_eq!(ct.as_deref(), Some("application/scim+json"), "{name}");
        }
        if let Some(expect) = step.get("expect") {
            let expect: Value =
                serde_json::from_str(&substitute(&expect.to_string(), &vars)).unwrap();
            assert!(
                contains(&body, &expect),
                "{name}: {body}\ndoes not contain\n{expect}"
            );
        }
        for key in step["absent"].as_array().into_iter().flatten() {
            let key = key.as_str().unwrap();
            let found = match &body["Resources"] {
                Value::Array(items) => items.iter().any(|r| r.get(key).is_some()),
                _ => body.get(key).is_some(),
            };
            assert!(!found, "{name}: {key} present in {body}");
        }
        if let Some(Value::Object(save)) = step.get("save") {
            for (var, field) in save {
                let v = body[field.as_str().unwrap()]
                    .as_str()
                    .unwrap_or_else(|| panic!("{name}: no {field} in {body}"));
                vars.insert(var.clone(), v.to_string());
            }
        }
        if let Some(u) = step.get("user") {
            let username = u["username"].as_str().unwrap();
            let found = s
                .users()
                .await
                .into_iter()
                .find(|x| x.spec.username.eq_ignore_ascii_case(username));
            check_resource(&name, u, found.map(|x| serde_json::to_value(x).unwrap()));
        }
        if let Some(g) = step.get("group") {
            let group = g["groupName"].as_str().unwrap();
            let found = s
                .groups()
                .await
                .into_iter()
                .find(|x| x.spec.group_name == group);
            check_resource(&name, g, found.map(|x| serde_json::to_value(x).unwrap()));
        }
    }
    s.stop().await;
}

fn check_resource(name: &str, want: &Value, found: Option<Value>) {
    if want["gone"] == Value::Bool(true) {
        assert!(found.is_none(), "{name}: resource still there: {found:?}");
        return;
    }
    let found = found.unwrap_or_else(|| panic!("{name}: no resource for {want}"));
    let labels = &found["metadata"]["labels"];
    assert_eq!(labels["lastpass-operator.io/source"], "scim", "{name}");
    if let Some(spec) = want.get("spec") {
        assert!(
            contains(&found["spec"], spec),
            "{name}: {}\ndoes not contain\n{spec}",
            found["spec"]
        );
    }
}

#[tokio::test]
async fn okta() {
    replay("okta").await;
}

#[tokio::test]
async fn entra_id() {
    replay("entra-id").await;
}

#[tokio::test]
async fn entra_id_aadoptscim062020() {
    replay("entra-id-aadoptscim062020").await;
}

#[tokio::test]
async fn onelogin() {
    replay("onelogin").await;
}

#[tokio::test]
async fn pingone() {
    replay("pingone").await;
}

#[tokio::test]
async fn google_workspace() {
    replay("google-workspace").await;
}
