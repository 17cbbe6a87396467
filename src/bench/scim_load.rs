//! `bench scim`: throughput and latency of `POST /Users`, `GET /Users?filter=userName eq "…"`
//! and `GET /Users/{id}` over loopback HTTP against a real API server, next to the API server's
//! own write rate and the process's memory, and the latency of one 10,000-member group PATCH,
//! for the `bench` subcommand.
//!
//! Creates the integration `scim-bench` (SCIM on) in the given namespace, mints its token,
//! serves the router on 127.0.0.1:0, then POSTs `users` users with `concurrency` requests in
//! flight, looks up `lookups` of them by userName and as many by id, and creates
//! `api_writes` LastPassUsers directly (no SCIM) with the same concurrency: the bound a POST
//! cannot beat. The caller owns the namespace and cleans it up.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use kube::Client;
use kube::api::{Api, PostParams};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::json;

use crate::crd::{DirectoryIntegration, LastPassUser};
use crate::scim::Error;
use crate::scim::{ScimState, serve, token_secret, tokens};

/// What to measure.
#[derive(Debug, Clone)]
pub struct BenchOptions {
    /// Users to create by POST.
    pub users: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// `userName eq` lookups (and as many `GET /Users/{id}`) after the creates.
    pub lookups: usize,
    /// LastPassUsers created directly on the API server, to measure its write rate.
    pub api_writes: usize,
}

/// Latency and throughput of one kind of request.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    /// Requests sent.
    pub requests: usize,
    /// Requests that did not get the expected status.
    pub errors: usize,
    /// Requests per second over the whole phase.
    pub per_second: f64,
    /// Median latency, milliseconds.
    pub p50_ms: f64,
    /// 99th percentile latency, milliseconds.
    pub p99_ms: f64,
}

/// The result of [`run`].
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct BenchReport {
    /// Users in the endpoint at the end.
    pub users: usize,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// `POST /Users`.
    pub post: Stats,
    /// `GET /Users?filter=userName eq "…"`.
    pub lookup: Stats,
    /// One `PATCH /Groups/{id}` adding every user (at most 10,000, the per-request limit) as
    /// members: the largest member change one request may make.
    pub member_patch: Stats,
    /// `GET /Users/{id}`.
    pub get_by_id: Stats,
    /// Creates of LastPassUsers sent to the API server directly (no SCIM), same concurrency.
    pub api_server_writes: Stats,
    /// Users in the SCIM server's store at the end.
    pub store_users: usize,
    /// Resident memory of the whole bench process (SCIM server, its stores and the HTTP
    /// client) at the end, MiB; 0 where `/proc` is not there.
    pub rss_mib: f64,
}

fn stats(mut lat: Vec<Duration>, errors: usize, wall: Duration) -> Stats {
    lat.sort();
    let pick = |q: f64| {
        if lat.is_empty() {
            0.0
        } else {
            let i = ((lat.len() as f64 * q).ceil() as usize).clamp(1, lat.len()) - 1;
            lat[i].as_secs_f64() * 1000.0
        }
    };
    Stats {
        requests: lat.len(),
        errors,
        per_second: lat.len() as f64 / wall.as_secs_f64().max(1e-9),
        p50_ms: pick(0.50),
        p99_ms: pick(0.99),
    }
}

/// Runs the benchmark in `namespace` (which must exist).
pub async fn run(
    client: Client,
    namespace: &str,
    opts: &BenchOptions,
) -> Result<BenchReport, Error> {
    let name = "scim-bench";
    let di: DirectoryIntegration = serde_json::from_value(json!({
        "apiVersion": "lastpass-operator.io/v1alpha1", "kind": "DirectoryIntegration",
        "metadata": {"name": name, "namespace": namespace},
        "spec": {"lastpass": {"credentialsSecretRef": {"name": "unused"}}, "scim": {"enabled": true}}
    }))
    .map_err(|e| Error::InvalidValue(e.to_string()))?;
    let di = Api::<DirectoryIntegration>::namespaced(client.clone(), namespace)
        .create(&PostParams::default(), &di)
        .await
        .map_err(|e| Error::kube("create the bench DirectoryIntegration", e))?;
    tokens::reconcile_tokens(client.clone(), &di, jiff::Timestamp::now()).await?;
    let secret = Api::<k8s_openapi::api::core::v1::Secret>::namespaced(client.clone(), namespace)
        .get(&token_secret::secret_name(name))
        .await
        .map_err(|e| Error::kube("read the bench token", e))?;
    let token = SecretString::from(
        secret
            .data
            .and_then(|d| d.get(token_secret::TOKEN_KEY).cloned())
            .map(|b| String::from_utf8_lossy(&b.0).into_owned())
            .unwrap_or_default(),
    );

    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| Error::InvalidValue(format!("bind 127.0.0.1:0: {e}")))?;
    let addr = listener
        .local_addr()
        .map_err(|e| Error::InvalidValue(e.to_string()))?;
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let ctx = Arc::new(ScimState::new(client.clone()));
    let server = tokio::spawn(serve(listener, ctx.clone(), async {
        let _ = stopped.await;
    }));
    let base = format!(
        "http://{addr}{}",
        token_secret::endpoint_path(namespace, name)
    );
    let http = reqwest::Client::new();
    let c = opts.concurrency.max(1);

    let send = |req: reqwest::RequestBuilder, want: u16| {
        let req = req.bearer_auth(token.expose_secret());
        async move {
            let t = Instant::now();
            let ok = match req.send().await {
                Ok(r) => r.status().as_u16() == want && r.bytes().await.is_ok(),
                Err(_) => false,
            };
            (t.elapsed(), ok)
        }
    };

    let started = Instant::now();
    let created: Vec<(Duration, Option<String>)> = futures::stream::iter(0..opts.users)
        .map(|i| {
            let body = json!({"userName": format!("bench{i}@example.com"),
                              "name": {"givenName": "Bench", "familyName": format!("{i}")}});
            let req = http
                .post(format!("{base}/Users"))
                .header("content-type", "application/scim+json")
                .body(body.to_string())
                .bearer_auth(token.expose_secret());
            async move {
                let t = Instant::now();
                let id = match req.send().await {
                    Ok(r) if r.status().as_u16() == 201 => r
                        .json::<serde_json::Value>()
                        .await
                        .ok()
                        .and_then(|v| v["id"].as_str().map(str::to_string)),
                    _ => None,
                };
                (t.elapsed(), id)
            }
        })
        .buffer_unordered(c)
        .collect()
        .await;
    let post = summarise(
        created.iter().map(|(d, id)| (*d, id.is_some())).collect(),
        started.elapsed(),
    );
    let ids: Vec<String> = created.into_iter().filter_map(|(_, id)| id).collect();

    let started = Instant::now();
    let n = opts.users.max(1);
    let results: Vec<(Duration, bool)> = futures::stream::iter(0..opts.lookups)
        .map(|i| {
            // `userName eq "benchN@example.com"`, percent-encoded.
            let filter = format!(
                "userName%20eq%20%22bench{}%40example.com%22",
                (i * 7919) % n
            );
            send(http.get(format!("{base}/Users?filter={filter}")), 200)
        })
        .buffer_unordered(c)
        .collect()
        .await;
    let lookup = summarise(results, started.elapsed());

    let started = Instant::now();
    let results: Vec<(Duration, bool)> = futures::stream::iter(0..opts.lookups)
        .map(|i| {
            let id = ids.get((i * 7919) % ids.len().max(1)).cloned();
            send(
                http.get(format!("{base}/Users/{}", id.unwrap_or_default())),
                200,
            )
        })
        .buffer_unordered(c)
        .collect()
        .await;
    let get_by_id = summarise(results, started.elapsed());
    let store_users = ctx.stores.users.len();
    let rss_mib = rss_mib();
    let member_patch = member_patch(&http, &base, token.expose_secret(), opts.users).await;
    let _ = stop.send(());
    let _ = server.await;

    let api_server_writes = api_writes(&client, namespace, opts.api_writes, c).await;
    Ok(BenchReport {
        users: opts.users,
        concurrency: c,
        post,
        lookup,
        member_patch,
        get_by_id,
        api_server_writes,
        store_users,
        rss_mib,
    })
}

/// Creates a group, then times one PATCH that adds the first `users` users (at most
/// [`crate::scim::limits::MAX_MEMBERS`]) as its members. The ids are read by paging `GET /Users`
/// first (not timed).
async fn member_patch(http: &reqwest::Client, base: &str, token: &str, users: usize) -> Stats {
    let want = users.min(crate::scim::limits::MAX_MEMBERS);
    let mut ids: Vec<serde_json::Value> = Vec::with_capacity(want);
    while ids.len() < want {
        let url = format!(
            "{base}/Users?startIndex={}&count=1000&attributes=id",
            ids.len() + 1
        );
        let page: serde_json::Value = match http.get(url).bearer_auth(token).send().await {
            Ok(r) => r.json().await.unwrap_or_default(),
            Err(_) => break,
        };
        let got: Vec<serde_json::Value> = page["Resources"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|u| u.get("id").map(|id| json!({"value": id})))
            .collect();
        if got.is_empty() {
            break;
        }
        ids.extend(got);
    }
    ids.truncate(want);
    let group = http
        .post(format!("{base}/Groups"))
        .bearer_auth(token)
        .header("content-type", "application/scim+json")
        .body(json!({"displayName": "scim-bench-members"}).to_string())
        .send()
        .await;
    let gid = match group {
        Ok(r) if r.status().as_u16() == 201 => r
            .json::<serde_json::Value>()
            .await
            .ok()
            .and_then(|g| g["id"].as_str().map(String::from)),
        _ => None,
    };
    let started = Instant::now();
    let ok = match gid {
        Some(gid) => {
            let body = json!({"Operations": [{"op": "add", "path": "members", "value": ids}]});
            http.patch(format!("{base}/Groups/{gid}"))
                .bearer_auth(token)
                .header("content-type", "application/scim+json")
                .body(body.to_string())
                .send()
                .await
                .is_ok_and(|r| r.status().as_u16() == 200)
        }
        None => false,
    };
    let took = started.elapsed();
    summarise(vec![(took, ok && ids.len() == want)], took)
}

/// Creates `n` LastPassUsers directly, `c` at once: the API server's write rate.
async fn api_writes(client: &Client, namespace: &str, n: usize, c: usize) -> Stats {
    let api = Api::<LastPassUser>::namespaced(client.clone(), namespace);
    let started = Instant::now();
    let results: Vec<(Duration, bool)> = futures::stream::iter(0..n)
        .map(|i| {
            let api = api.clone();
            async move {
                let u: Result<LastPassUser, _> = serde_json::from_value(json!({
                    "apiVersion": "lastpass-operator.io/v1alpha1", "kind": "LastPassUser",
                    "metadata": {"name": format!("direct{i}"), "namespace": namespace},
                    "spec": {"integrationRef": {"name": "scim-bench-direct"},
                             "username": format!("direct{i}@example.com")}
                }));
                let t = Instant::now();
                let ok = match u {
                    Ok(u) => api.create(&PostParams::default(), &u).await.is_ok(),
                    Err(_) => false,
                };
                (t.elapsed(), ok)
            }
        })
        .buffer_unordered(c)
        .collect()
        .await;
    summarise(results, started.elapsed())
}

/// `VmRSS` of this process in MiB (0 where `/proc` is not there).
fn rss_mib() -> f64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        })
        .map_or(0.0, |kib| kib / 1024.0)
}

fn summarise(results: Vec<(Duration, bool)>, wall: Duration) -> Stats {
    let errors = results.iter().filter(|(_, ok)| !ok).count();
    stats(results.into_iter().map(|(d, _)| d).collect(), errors, wall)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles() {
        let lat: Vec<Duration> = (1..=100).map(Duration::from_millis).collect();
        let s = stats(lat, 0, Duration::from_secs(2));
        assert_eq!((s.p50_ms, s.p99_ms, s.per_second), (50.0, 99.0, 50.0));
        assert_eq!(stats(vec![], 0, Duration::from_secs(1)).p99_ms, 0.0);
    }
}
