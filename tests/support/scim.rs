//! SCIM over real HTTP: a [`ScimClient`] of one endpoint, a [`ScimServer`] under test (a fresh
//! namespace on the real API server, a DirectoryIntegration with SCIM enabled, its token minted
//! by `reconcile_tokens`, `scim::serve` on 127.0.0.1:0), and the endpoint served next to the
//! real controllers ([`serve_with_operator`]).

use std::ops::Deref;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::api::{ListParams, PostParams};
use lastpass_operator::crd::{DirectoryIntegration, LastPassGroup, LastPassUser};
use lastpass_operator::scim::{self, ScimState};
use serde_json::{Value, json};

use super::builders::{INTEGRATION, integration};
use super::{TestCluster, TestNamespace, wait_for};

/// A client of one integration's SCIM endpoint.
pub struct ScimClient {
    /// `http://127.0.0.1:<port>/scim/v2/<ns>/acme`.
    pub base: String,
    /// The current token.
    pub token: String,
    /// The HTTP client.
    pub http: reqwest::Client,
}

/// A SCIM server of its own namespace; its [`ScimClient`] is reached through `Deref`.
pub struct ScimServer {
    /// The server's namespace.
    pub ns: TestNamespace,
    /// A client with the integration's current token.
    pub client: ScimClient,
    /// The server's context (its stores and limits).
    pub ctx: Arc<ScimState>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
}

impl Deref for ScimServer {
    type Target = ScimClient;
    fn deref(&self) -> &ScimClient {
        &self.client
    }
}

/// The SCIM endpoint of integration `acme` in `ns` served next to the real controllers: turns
/// SCIM on, waits until the operator has minted the token, serves `scim::serve` on loopback.
/// The task serves until aborted.
pub async fn serve_with_operator(ns: &TestNamespace) -> (ScimClient, tokio::task::JoinHandle<()>) {
    let patch = json!({"spec": {"scim": {"enabled": true}}});
    ns.api::<DirectoryIntegration>()
        .patch(
            INTEGRATION,
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .expect("enable SCIM");
    let secrets = ns.api::<Secret>();
    let token = wait_for(Duration::from_secs(30), || async {
        let s = secrets
            .get_opt(&format!("{INTEGRATION}-scim-token"))
            .await
            .ok()??;
        let t = s.data?.get("token")?.0.clone();
        String::from_utf8(t).ok()
    })
    .await
    .expect("the operator mints the SCIM token");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let ctx = Arc::new(ScimState::new(ns.client.clone()));
    let task = tokio::spawn(async move {
        let _ = scim::serve(listener, ctx, std::future::pending()).await;
    });
    let base = format!("http://{addr}/scim/v2/{}/{INTEGRATION}", ns.name);
    (ScimClient::new(base, token), task)
}

/// A SCIM user: `userName` and the work e-mail `username`, a given and a family name.
pub fn scim_user(username: &str, given: &str, family: &str) -> Value {
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
        "userName": username,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"value": username, "type": "work", "primary": true}],
    })
}

/// A SCIM group `display_name` with these member ids.
pub fn scim_group(display_name: &str, member_ids: &[&str]) -> Value {
    let members: Vec<Value> = member_ids.iter().map(|id| json!({"value": id})).collect();
    json!({
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"],
        "displayName": display_name,
        "members": members,
    })
}

/// A DirectoryIntegration `name` with SCIM on (or off), tokens rotated every 30 days.
pub fn scim_integration(name: &str, enabled: bool) -> DirectoryIntegration {
    integration(
        name,
        json!({"scim": {"enabled": enabled, "tokenRotation": {"every": "720h", "overlap": "24h"}}}),
    )
}

/// The stores of a SCIM server under test follow only its namespace.
pub fn scope(ns: &str) -> scim::watch::Scope {
    scim::watch::Scope {
        namespaces: vec![ns.to_string()],
        secret_namespaces: Vec::new(),
    }
}

/// Reads the current token of an integration.
pub async fn token_of(ns: &TestNamespace, integration: &str) -> (String, Option<String>) {
    let s = ns
        .api::<Secret>()
        .get(&format!("{integration}-scim-token"))
        .await
        .expect("token Secret");
    let data = s.data.unwrap_or_default();
    let get = |k: &str| data.get(k).map(|b| String::from_utf8(b.0.clone()).unwrap());
    (get("token").expect("token key"), get("previous"))
}

impl ScimServer {
    /// A server whose stores follow the test namespace only, with the default limits.
    pub async fn start(cluster: &TestCluster) -> Self {
        Self::start_with(cluster, |client, ns| {
            ScimState::start(client, &scope(ns), &Default::default())
        })
        .await
    }

    /// A server whose context `make` builds from the namespace's client and name.
    pub async fn start_with(
        cluster: &TestCluster,
        make: impl FnOnce(kube::Client, &str) -> ScimState,
    ) -> Self {
        let ns = cluster.namespace().await;
        let di = ns
            .api::<DirectoryIntegration>()
            .create(&PostParams::default(), &scim_integration(INTEGRATION, true))
            .await
            .expect("create integration");
        scim::reconcile_tokens(ns.client.clone(), &di, jiff::Timestamp::now())
            .await
            .expect("mint token");
        let (token, _) = token_of(&ns, INTEGRATION).await;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (tx, rx) = tokio::sync::oneshot::channel::<()>();
        let ctx = Arc::new(make(ns.client.clone(), &ns.name));
        let served = ctx.clone();
        tokio::spawn(async move {
            scim::serve(listener, served, async {
                let _ = rx.await;
            })
            .await
            .expect("serve");
        });
        ScimServer {
            client: ScimClient::new(
                format!("http://{addr}/scim/v2/{}/{INTEGRATION}", ns.name),
                token,
            ),
            ns,
            ctx,
            shutdown: Some(tx),
        }
    }

    /// The LastPassUsers of the server's namespace.
    pub async fn users(&self) -> Vec<LastPassUser> {
        self.ns
            .api::<LastPassUser>()
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
    }

    /// The LastPassGroups of the server's namespace.
    pub async fn groups(&self) -> Vec<LastPassGroup> {
        self.ns
            .api::<LastPassGroup>()
            .list(&ListParams::default())
            .await
            .unwrap()
            .items
    }

    /// Stops the server and cleans up its namespace.
    pub async fn stop(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        self.ns.cleanup().await;
    }
}

impl ScimClient {
    /// A client of the endpoint `base` with `token`.
    pub fn new(base: String, token: String) -> Self {
        Self {
            base,
            token,
            http: reqwest::Client::new(),
        }
    }

    /// One request with the current token; returns (status, JSON body or Null).
    pub async fn call(&self, method: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        self.call_as(Some(&self.token), method, path, body).await
    }

    /// One request with the given token (or none).
    pub async fn call_as(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let (status, _, body) = self.raw(token, method, path, body).await;
        (status, body)
    }

    /// One request; returns (status, headers, body).
    pub async fn raw(
        &self,
        token: Option<&str>,
        method: &str,
        path: &str,
        body: Option<Value>,
    ) -> (u16, reqwest::header::HeaderMap, Value) {
        let url = if path.starts_with("http") {
            path.to_string()
        } else {
            format!("{}{path}", self.base)
        };
        let mut req = self
            .http
            .request(method.parse().expect("method"), &url)
            .header("accept", "application/scim+json");
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/scim+json")
                .body(b.to_string());
        }
        let resp = req.send().await.expect("request");
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.expect("body");
        let json = if text.is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or_else(|e| panic!("{method} {path}: {e}: {text}"))
        };
        (status, headers, json)
    }

    /// POSTs `body` to `path` and asserts the endpoint created it (201); returns the resource.
    pub async fn create(&self, path: &str, body: Value) -> Value {
        let (st, v) = self.call("POST", path, Some(body)).await;
        assert_eq!(st, 201, "POST {path}: {v}");
        v
    }

    /// Creates a user; returns its SCIM id.
    pub async fn create_user(&self, body: Value) -> String {
        let v = self.create("/Users", body).await;
        v["id"].as_str().expect("an id").to_string()
    }
}

/// Whether `actual` contains `expected`: objects key by key (keys case-sensitive), arrays
/// element-wise (each expected element matches some actual element), scalars equal.
pub fn contains(actual: &Value, expected: &Value) -> bool {
    match (actual, expected) {
        (Value::Object(a), Value::Object(e)) => e
            .iter()
            .all(|(k, ev)| a.get(k).is_some_and(|av| contains(av, ev))),
        (Value::Array(a), Value::Array(e)) => {
            e.iter().all(|ev| a.iter().any(|av| contains(av, ev)))
        }
        (a, e) => a == e,
    }
}
