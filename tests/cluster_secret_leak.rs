//! Secrets through the whole process: `lastpass-operator run` (a child process, its entire log
//! captured at debug level) against the test API server, a simulated LastPass account and a
//! real slapd, with every kind of secret in play and exercised:
//! - the provisioning hash: first a wrong one (LastPass refuses it), then the right one;
//! - SCIM bearer tokens: the minted one, the one after a rotation with the
//!   `lastpass-operator.io/rotate-token` annotation (the old one still valid in its overlap),
//!   both used, and a wrong one refused;
//! - the LDAP bind password: first a wrong one (the bind fails), then the right one (a pull);
//! - a generated initial password (`initialPassword: Generate`), sent with the invitation.
//!
//! Then the whole log, every Event (events.k8s.io/v1 and core/v1) and every resource of the
//! operator's kinds in the namespace (status, and metadata and spec too) are searched for each
//! secret, raw and base64-encoded. A single line printing one of them fails the test.

mod support;

use std::collections::BTreeSet;
use std::time::Duration;

use base64::Engine as _;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{ListParams, Patch, PatchParams, PostParams};
use lastpass_operator::crd::{DirectoryIntegration, LastPassGroup, LastPassUser, UserPhase};
use lastpass_operator::simulator::Knobs;
use serde_json::{Value, json};
use support::account::{CID, PROVHASH, simulator};
use support::builders::{CREDENTIALS, INTEGRATION, integration, user};
use support::ldap::{BIND_DN, BIND_PW, Slapd, scenario};
use support::operator::*;
use support::process::OperatorProcess;
use support::wait_for;

/// A value unique to this run, so that a match can only be the secret itself.
fn unique(prefix: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or_default();
    format!("{prefix}{nanos:x}")
}

fn condition(i: &DirectoryIntegration, type_: &str) -> Option<(String, String)> {
    support::operator::condition(i, type_).map(|(status, reason, _)| (status, reason))
}

async fn wait_integration(
    ns: &support::TestNamespace,
    what: &str,
    op: &OperatorProcess,
    pred: impl Fn(&DirectoryIntegration) -> bool,
) {
    let api = ns.api::<DirectoryIntegration>();
    let ok = wait_for(Duration::from_secs(60), || async {
        let i = api.get_opt("acme").await.ok()??;
        pred(&i).then_some(())
    })
    .await;
    assert!(
        ok.is_some(),
        "{what}: {:?}\n{}",
        api.get_opt("acme").await.map(|i| i.map(|i| i.status)),
        tail(op)
    );
}

/// The end of the operator's log (it is long at debug level), without terminal colours.
fn tail(op: &OperatorProcess) -> String {
    let log = op.logs();
    let cut = log.len().saturating_sub(6000);
    let cut = (cut..log.len())
        .find(|i| log.is_char_boundary(*i))
        .unwrap_or(0);
    format!("(log: {})\n{}", op.log.display(), &log[cut..])
}

/// The value of `key` in Secret `name`.
async fn secret_value(ns: &support::TestNamespace, name: &str, key: &str) -> Option<String> {
    let s = ns.api::<Secret>().get_opt(name).await.ok()??;
    let bytes = s.data?.get(key)?.0.clone();
    String::from_utf8(bytes).ok()
}

/// Every SCIM token of the integration's token Secret (current and previous).
async fn scim_tokens(ns: &support::TestNamespace) -> Vec<String> {
    let mut out = Vec::new();
    for key in ["token", "previous"] {
        if let Some(t) = secret_value(ns, "acme-scim-token", key).await {
            out.push(t);
        }
    }
    out
}

async fn scim(
    port: u16,
    ns: &str,
    token: &str,
    method: &str,
    path: &str,
    body: Option<Value>,
) -> u16 {
    let url = format!("http://127.0.0.1:{port}/scim/v2/{ns}/acme{path}");
    let mut req = reqwest::Client::new()
        .request(method.parse().expect("method"), &url)
        .bearer_auth(token)
        .header("accept", "application/scim+json");
    if let Some(b) = body {
        req = req
            .header("content-type", "application/scim+json")
            .body(b.to_string());
    }
    req.send().await.expect("SCIM answers").status().as_u16()
}

/// Where `needle` (raw or base64) occurs in `haystack`, as a short excerpt per form.
fn occurrences(haystack: &str, needle: &str) -> Vec<String> {
    let b64 = base64::engine::general_purpose::STANDARD;
    let b64_raw = base64::engine::general_purpose::STANDARD_NO_PAD;
    let url = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let forms = [
        ("raw", needle.to_string()),
        ("base64", b64.encode(needle)),
        ("base64 (no padding)", b64_raw.encode(needle)),
        ("base64url", url.encode(needle)),
    ];
    let mut found = Vec::new();
    for (form, f) in forms {
        if let Some(at) = haystack.find(&f) {
            let start = haystack[..at]
                .char_indices()
                .rev()
                .nth(120)
                .map_or(0, |(i, _)| i);
            let end = (at + f.len() + 120).min(haystack.len());
            let end = (end..=haystack.len())
                .find(|i| haystack.is_char_boundary(*i))
                .unwrap_or(haystack.len());
            found.push(format!("{form}: …{}…", &haystack[start..end]));
        }
    }
    found
}

#[tokio::test]
async fn no_secret_reaches_the_log_events_or_statuses() {
    let Some(slapd) = Slapd::start(&scenario::directory(0, 0)) else {
        return;
    };
    let Some(cluster) = support::cluster() else {
        return;
    };
    let ns = cluster.namespace().await;
    let sim = simulator(Knobs::default()).await;

    let wrong_provhash = unique("wrong-provhash-");
    let wrong_bind_pw = unique("wrong-bind-pw-");
    let wrong_token = unique("wrong-scim-token-");
    scenario::create_secret(
        &ns,
        CREDENTIALS,
        json!({"cid": CID, "provhash": wrong_provhash}),
    )
    .await;
    scenario::create_secret(
        &ns,
        "ldap-bind",
        json!({"bindDN": BIND_DN, "password": wrong_bind_pw}),
    )
    .await;
    let mut ldap = serde_json::to_value(scenario::spec(&slapd.url)).unwrap();
    ldap["interval"] = json!("2s");
    let i = integration(
        INTEGRATION,
        json!({
            "lastpass": {"endpoint": sim.url},
            "sync": {"interval": "1m", "debounce": "200ms",
                     "rateLimit": {"requestsPerSecond": 100, "burst": 100}},
            "scim": {"enabled": true, "tokenRotation": {"every": "720h", "overlap": "1h"}},
            "ldap": ldap,
        }),
    );
    ns.api::<DirectoryIntegration>()
        .create(&PostParams::default(), &i)
        .await
        .expect("integration");
    create_user(
        &ns,
        &user(
            "gen",
            "gen@example.com",
            json!({"initialPassword": "Generate"}),
        ),
    )
    .await;

    let op = OperatorProcess::start_with(
        cluster.kubeconfig(),
        "op-leak",
        &ns.name,
        &[
            "--namespace".into(),
            ns.name.clone(),
            "--disable-leader-election".into(),
        ],
        &[("RUST_LOG", "debug")],
    );

    // 1. The wrong provisioning hash is refused, then the right one accepted.
    wait_integration(&ns, "wrong provhash reported", &op, |i| {
        condition(i, "CredentialsValid") == Some(("False".into(), "CredentialsInvalid".into()))
    })
    .await;
    ns.api::<Secret>()
        .patch(
            "lastpass-api",
            &PatchParams::default(),
            &Patch::Merge(json!({"stringData": {"provhash": PROVHASH}})),
        )
        .await
        .expect("fix provhash");
    wait_integration(&ns, "right provhash accepted", &op, |i| {
        condition(i, "CredentialsValid") == Some(("True".into(), "CredentialsAccepted".into()))
    })
    .await;

    // 2. The generated initial password: persisted, sent with the invitation.
    wait_user(&ns, "gen", 60, |u| {
        is(u, UserPhase::Invited, "True")
            && u.status
                .as_ref()
                .is_some_and(|s| s.initial_password_secret.is_some())
    })
    .await;
    let generated = secret_value(&ns, "gen-initial-password", "password")
        .await
        .expect("the generated password Secret");

    // 3. The LDAP bind: wrong password first (the bind fails), then the right one.
    wait_integration(&ns, "wrong bind password reported", &op, |i| {
        condition(i, "LdapReachable").is_some_and(|(s, _)| s == "False")
    })
    .await;
    scenario::set_password(&ns, BIND_PW).await;
    wait_integration(&ns, "LDAP pull with the right password", &op, |i| {
        // (LdapSynced stays False: the fixture directory has a duplicate e-mail on purpose.)
        condition(i, "LdapReachable") == Some(("True".into(), "Ok".into()))
    })
    .await;
    wait_user(
        &ns,
        &lastpass_operator::naming::user_name("acme", "ann@example.org"),
        60,
        |u| {
            u.status
                .as_ref()
                .and_then(|s| s.lastpass_id.as_ref())
                .is_some()
        },
    )
    .await;

    // 4. SCIM: the minted token, a wrong one, a rotation, old and new tokens.
    let mut tokens: BTreeSet<String> = BTreeSet::new();
    let first = wait_for(Duration::from_secs(30), || async {
        scim_tokens(&ns).await.into_iter().next()
    })
    .await
    .expect("a SCIM token is minted");
    tokens.insert(first.clone());
    let ready = wait_for(Duration::from_secs(30), || async {
        (scim(op.scim_port, &ns.name, &first, "GET", "/Users", None).await == 200).then_some(())
    })
    .await;
    assert!(
        ready.is_some(),
        "SCIM never accepted the minted token:\n{}",
        tail(&op)
    );
    assert_eq!(
        scim(op.scim_port, &ns.name, &wrong_token, "GET", "/Users", None).await,
        401,
        "a wrong token is refused"
    );
    assert_eq!(
        scim(
            op.scim_port,
            &ns.name,
            &first,
            "POST",
            "/Users",
            Some(json!({"userName": "scim.user@example.com",
                        "name": {"givenName": "Scim", "familyName": "User"}, "active": true})),
        )
        .await,
        201
    );
    // Rotate now with the annotation: the new token, the old one kept for its overlap.
    annotate(&ns, "lastpass-operator.io/rotate-token", "leak-test-1").await;
    let second = wait_for(Duration::from_secs(30), || async {
        let now = scim_tokens(&ns).await;
        now.into_iter().find(|t| *t != first)
    })
    .await
    .expect("the SCIM token rotates");
    tokens.extend(scim_tokens(&ns).await);
    tokens.insert(second.clone());
    let new_ok = wait_for(Duration::from_secs(30), || async {
        (scim(op.scim_port, &ns.name, &second, "GET", "/Users", None).await == 200).then_some(())
    })
    .await;
    assert!(new_ok.is_some(), "the new token is accepted");
    assert_eq!(
        scim(op.scim_port, &ns.name, &first, "GET", "/Users", None).await,
        200,
        "the old token is still accepted in its overlap"
    );
    assert_eq!(
        scim(op.scim_port, &ns.name, &wrong_token, "GET", "/Groups", None).await,
        401
    );
    let invited = wait_for(Duration::from_secs(60), || async {
        sim.state
            .calls()
            .iter()
            .any(|c| {
                c.command == "batchadd" && c.targets.iter().any(|t| t == "scim.user@example.com")
            })
            .then_some(())
    })
    .await;
    assert!(
        invited.is_some(),
        "the SCIM user was invited:\n{}",
        tail(&op)
    );
    tokens.extend(scim_tokens(&ns).await);

    // Stop the process (its log complete), then gather everything it wrote.
    op.terminate();
    let mut op = op;
    let _ = op.wait_exit(Duration::from_secs(30)).await;
    let log = op.logs();
    assert!(
        log.contains("DEBUG") && log.contains("account synced"),
        "the log is the debug log of a working operator:\n{}",
        &log[..log.len().min(4000)]
    );

    let mut written = Vec::new();
    for e in ns
        .api::<k8s_openapi::api::events::v1::Event>()
        .list(&ListParams::default())
        .await
        .expect("events.k8s.io/v1")
    {
        written.push(serde_json::to_string(&e).unwrap());
    }
    for e in ns
        .api::<k8s_openapi::api::core::v1::Event>()
        .list(&ListParams::default())
        .await
        .expect("core/v1 events")
    {
        written.push(serde_json::to_string(&e).unwrap());
    }
    let events = written.len();
    for i in ns
        .api::<DirectoryIntegration>()
        .list(&ListParams::default())
        .await
        .unwrap()
    {
        written.push(serde_json::to_string(&i).unwrap());
    }
    for u in ns
        .api::<LastPassUser>()
        .list(&ListParams::default())
        .await
        .unwrap()
    {
        written.push(serde_json::to_string(&u).unwrap());
    }
    for g in ns
        .api::<LastPassGroup>()
        .list(&ListParams::default())
        .await
        .unwrap()
    {
        written.push(serde_json::to_string(&g).unwrap());
    }
    assert!(events > 0, "the operator published Events");
    let written = written.join("\n");

    let mut secrets: Vec<(&str, String)> = vec![
        ("right provhash", PROVHASH.to_string()),
        ("wrong provhash", wrong_provhash),
        ("right LDAP bind password", BIND_PW.to_string()),
        ("wrong LDAP bind password", wrong_bind_pw),
        ("wrong SCIM token", wrong_token),
        ("generated initial password", generated),
    ];
    secrets.extend(tokens.into_iter().map(|t| ("SCIM token", t)));
    let mut leaks = Vec::new();
    for (what, secret) in &secrets {
        for found in occurrences(&log, secret) {
            leaks.push(format!("{what} in the log ({found})"));
        }
        for found in occurrences(&written, secret) {
            leaks.push(format!("{what} in an Event or status ({found})"));
        }
    }
    eprintln!(
        "searched {} secrets in {} log bytes, {events} Events and every resource",
        secrets.len(),
        log.len()
    );
    assert!(leaks.is_empty(), "secrets leaked:\n{}", leaks.join("\n"));
    drop(slapd);
    scenario::cleanup(ns).await;
}
