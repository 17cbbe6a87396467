//! Bearer tokens on a real API server: minting into the owned Secret, rotation with overlap,
//! `status.scim` and `TokenReady` by server-side apply, 401s, and tokens never in the logs.

mod scim_common;
mod support;

use std::time::Duration;

use k8s_openapi::api::core::v1::Secret;
use kube::ResourceExt;
use kube::api::PostParams;
use lastpass_operator::crd::DirectoryIntegration;
use lastpass_operator::scim::{self, token_secret, tokens};
use scim_common::{INTEGRATION, ScimServer, token_of};

fn hours(h: i64) -> jiff::SignedDuration {
    jiff::SignedDuration::from_hours(h)
}

#[tokio::test]
async fn missing_wrong_previous_and_expired_tokens() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let s = ScimServer::start(cluster).await;

    // Missing and wrong: 401 with WWW-Authenticate and a SCIM body.
    let (st, h, body) = s.raw(None, "GET", "/Users", None).await;
    assert_eq!(st, 401, "{body}");
    assert!(
        h["www-authenticate"]
            .to_str()
            .unwrap()
            .starts_with("Bearer")
    );
    assert_eq!(body["status"], "401");
    let (st, _) = s
        .call_as(Some("not-the-token"), "GET", "/Users", None)
        .await;
    assert_eq!(st, 401);
    let basic = s
        .http
        .get(format!("{}/Users", s.base))
        .basic_auth("user", Some(&s.token))
        .send()
        .await
        .unwrap();
    assert_eq!(basic.status().as_u16(), 401, "Basic auth is not accepted");
    let (st, _) = s.call("GET", "/Users", None).await;
    assert_eq!(st, 200);

    // Rotation: a first token minted long ago, rotated 200 h ago (its overlap of 24 h is
    // over), then rotated now-ish (the previous one is within its overlap).
    let api = s.ns.api::<DirectoryIntegration>();
    let secrets = s.ns.api::<Secret>();
    let di = api
        .create(
            &PostParams::default(),
            &scim_common::integration("rot", true),
        )
        .await
        .unwrap();
    let now = jiff::Timestamp::now();
    let next = scim::reconcile_tokens(s.ns.client.clone(), &di, now - hours(1000))
        .await
        .unwrap();
    assert_eq!(
        next,
        Duration::from_secs(720 * 3600),
        "a full period from the mint"
    );
    let (a, prev) = token_of(&s.ns, "rot").await;
    assert!(prev.is_none());
    let rot_url = s.base.replace(&format!("/{INTEGRATION}"), "/rot") + "/Users";
    let (st, _) = s.call_as(Some(&a), "GET", &rot_url, None).await;
    assert_eq!(st, 200, "first token");
    let (st, _) = s.call_as(Some(&s.token), "GET", &rot_url, None).await;
    assert_eq!(st, 401, "another integration's token");

    // Same instant again: nothing changes.
    let again = scim::reconcile_tokens(s.ns.client.clone(), &di, now - hours(1000))
        .await
        .unwrap();
    assert_eq!(again, next);
    assert_eq!(token_of(&s.ns, "rot").await.0, a);

    scim::reconcile_tokens(s.ns.client.clone(), &di, now - hours(200))
        .await
        .unwrap();
    let (b, prev) = token_of(&s.ns, "rot").await;
    assert_ne!(a, b);
    assert_eq!(prev.as_deref(), Some(a.as_str()), "kept under `previous`");
    let (st, _) = s.call_as(Some(&a), "GET", &rot_url, None).await;
    assert_eq!(st, 401, "previous token after its overlap");
    let (st, _) = s.call_as(Some(&b), "GET", &rot_url, None).await;
    assert_eq!(st, 200);

    let t3 = jiff::Timestamp::from_second((now - hours(200) + hours(721)).as_second()).unwrap();
    scim::reconcile_tokens(s.ns.client.clone(), &di, t3)
        .await
        .unwrap();
    let (c, prev) = token_of(&s.ns, "rot").await;
    assert_eq!(prev.as_deref(), Some(b.as_str()));
    for (t, want) in [(&a, 401), (&b, 200), (&c, 200)] {
        let (st, _) = s.call_as(Some(t), "GET", &rot_url, None).await;
        assert_eq!(st, want);
    }

    // Once the overlap is over the previous token leaves the Secret.
    let next = scim::reconcile_tokens(s.ns.client.clone(), &di, t3 + hours(25))
        .await
        .unwrap();
    assert_eq!(token_of(&s.ns, "rot").await, (c.clone(), None));
    assert_eq!(next, Duration::from_secs((720 - 25) * 3600));

    // The Secret is owned by the integration; status says where and when, without tokens.
    let secret = secrets.get("rot-scim-token").await.unwrap();
    let owner = &secret.owner_references()[0];
    assert_eq!(
        (owner.kind.as_str(), owner.name.as_str()),
        ("DirectoryIntegration", "rot")
    );
    assert_eq!(owner.controller, Some(true));
    let di = api.get("rot").await.unwrap();
    let status = di.status.clone().unwrap();
    let sc = status.scim.clone().unwrap();
    assert_eq!(
        sc.endpoint.as_deref(),
        Some(format!("/scim/v2/{}/rot", s.ns.name).as_str())
    );
    assert_eq!(sc.token_secret_name.as_deref(), Some("rot-scim-token"));
    assert_eq!(sc.token_rotated_at.unwrap().0, t3);
    assert_eq!(sc.token_expires_at.unwrap().0, t3 + hours(720));
    let ready = status
        .conditions
        .iter()
        .find(|c| c.type_ == tokens::TOKEN_READY)
        .unwrap();
    assert_eq!(ready.status, "True");
    let whole = serde_json::to_string(&di).unwrap();
    for t in [&a, &b, &c] {
        assert!(!whole.contains(t.as_str()), "no token in the integration");
    }
    let managers: Vec<String> = di
        .metadata
        .managed_fields
        .unwrap_or_default()
        .into_iter()
        .filter_map(|m| m.manager)
        .collect();
    assert!(
        managers.iter().any(|m| m == token_secret::FIELD_MANAGER),
        "{managers:?}"
    );

    // A disabled integration: nothing minted.
    let off = api
        .create(
            &PostParams::default(),
            &scim_common::integration("off", false),
        )
        .await
        .unwrap();
    scim::reconcile_tokens(s.ns.client.clone(), &off, now)
        .await
        .unwrap();
    assert!(secrets.get_opt("off-scim-token").await.unwrap().is_none());
    s.stop().await;
}

/// `lastpass-operator.io/rotate-token: <new value>` on the integration rotates the token at
/// once, keeping the old one for its overlap; the same value never rotates twice.
#[tokio::test]
async fn the_rotate_token_annotation_rotates_now_once_per_value() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let s = ScimServer::start(cluster).await;
    let api = s.ns.api::<DirectoryIntegration>();
    let di = api
        .create(
            &PostParams::default(),
            &scim_common::integration("ann", true),
        )
        .await
        .unwrap();
    let now = jiff::Timestamp::now();
    scim::reconcile_tokens(s.ns.client.clone(), &di, now)
        .await
        .unwrap();
    let (a, _) = token_of(&s.ns, "ann").await;

    let annotate = |value: &'static str| {
        let api = api.clone();
        async move {
            let patch = serde_json::json!({"metadata": {"annotations": {
                token_secret::ROTATE_TOKEN_ANNOTATION: value}}});
            api.patch(
                "ann",
                &kube::api::PatchParams::default(),
                &kube::api::Patch::Merge(&patch),
            )
            .await
            .unwrap()
        }
    };
    let di = annotate("1").await;
    scim::reconcile_tokens(s.ns.client.clone(), &di, now)
        .await
        .unwrap();
    let (b, prev) = token_of(&s.ns, "ann").await;
    assert_ne!(a, b, "a new value rotates at once, long before the period");
    assert_eq!(
        prev.as_deref(),
        Some(a.as_str()),
        "the old one in its overlap"
    );
    // The same value again (any later reconcile): nothing changes.
    scim::reconcile_tokens(s.ns.client.clone(), &di, now + hours(1))
        .await
        .unwrap();
    assert_eq!(token_of(&s.ns, "ann").await.0, b);
    let di = annotate("2").await;
    scim::reconcile_tokens(s.ns.client.clone(), &di, now + hours(1))
        .await
        .unwrap();
    let (c, prev) = token_of(&s.ns, "ann").await;
    assert_ne!(c, b);
    assert_eq!(prev.as_deref(), Some(b.as_str()));
}

/// Events of `reason` on the integration `name`.
async fn events(ns: &support::TestNamespace, name: &str, reason: &str) -> usize {
    ns.api::<k8s_openapi::api::events::v1::Event>()
        .list(&Default::default())
        .await
        .unwrap()
        .items
        .iter()
        .filter(|e| {
            e.reason.as_deref() == Some(reason)
                && e.regarding.as_ref().and_then(|r| r.name.as_deref()) == Some(name)
        })
        .map(|e| e.series.as_ref().map_or(1, |s| s.count as usize))
        .sum()
}

/// Waits until `token` gets `status` from the endpoint of integration `name` (the server's
/// store follows the Secret).
async fn until_status(s: &ScimServer, name: &str, token: &str, status: u16) {
    let url = s
        .base
        .replace(&format!("/{INTEGRATION}"), &format!("/{name}"))
        + "/Users";
    support::wait_for(Duration::from_secs(10), || async {
        (s.call_as(Some(token), "GET", &url, None).await.0 == status).then_some(())
    })
    .await
    .unwrap_or_else(|| panic!("{name}: the token never got {status}"));
}

#[tokio::test]
async fn by_default_the_token_never_rotates_and_the_annotation_rotates_it_once() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let s = ScimServer::start(cluster).await;
    let api = s.ns.api::<DirectoryIntegration>();
    let plain: DirectoryIntegration = serde_json::from_value(serde_json::json!({
        "apiVersion": "lastpass-operator.io/v1alpha1", "kind": "DirectoryIntegration",
        "metadata": {"name": "quiet"},
        "spec": {"lastpass": {"credentialsSecretRef": {"name": "lastpass-api"}},
                 "scim": {"enabled": true}}
    }))
    .unwrap();
    let di = api.create(&PostParams::default(), &plain).await.unwrap();
    let minted_at = jiff::Timestamp::now() - hours(5000);
    let minted_at = jiff::Timestamp::from_second(minted_at.as_second()).unwrap();
    scim::reconcile_tokens(s.ns.client.clone(), &di, minted_at)
        .await
        .unwrap();
    let (a, _) = token_of(&s.ns, "quiet").await;
    assert_eq!(events(&s.ns, "quiet", "TokenMinted").await, 1);
    let gauge = format!(
        "lastpass_operator_scim_token_minted_timestamp_seconds{{integration=\"{}/quiet\"}} {}",
        s.ns.name,
        minted_at.as_second()
    );
    assert!(
        lastpass_operator::telemetry::metrics::render().contains(&gauge),
        "{gauge}"
    );

    // 5,000 hours later, with no schedule: the same token, no expiry in the status.
    let now = jiff::Timestamp::now();
    let next = scim::reconcile_tokens(s.ns.client.clone(), &di, now)
        .await
        .unwrap();
    assert_eq!(next, tokens::NOTHING_SCHEDULED);
    assert_eq!(token_of(&s.ns, "quiet").await, (a.clone(), None));
    let di = api.get("quiet").await.unwrap();
    let st = di.status.as_ref().and_then(|s| s.scim.as_ref()).unwrap();
    assert!(st.token_expires_at.is_none(), "{st:?}");
    until_status(&s, "quiet", &a, 200).await;

    // The annotation rotates once; both tokens work in the overlap (24 h by default).
    let patch = serde_json::json!({"metadata": {"annotations": {
        token_secret::ROTATE_TOKEN_ANNOTATION: "once"}}});
    let di = api
        .patch(
            "quiet",
            &kube::api::PatchParams::default(),
            &kube::api::Patch::Merge(&patch),
        )
        .await
        .unwrap();
    let next = scim::reconcile_tokens(s.ns.client.clone(), &di, now)
        .await
        .unwrap();
    let (b, prev) = token_of(&s.ns, "quiet").await;
    assert_ne!(a, b);
    assert_eq!(prev.as_deref(), Some(a.as_str()));
    assert_eq!(
        next.as_secs(),
        (24 * 3600) * 9 / 10,
        "next: the last 10 % of the overlap"
    );
    assert_eq!(events(&s.ns, "quiet", "TokenRotated").await, 1);
    until_status(&s, "quiet", &b, 200).await;
    until_status(&s, "quiet", &a, 200).await;
    scim::reconcile_tokens(s.ns.client.clone(), &di, now + hours(2))
        .await
        .unwrap();
    assert_eq!(token_of(&s.ns, "quiet").await.0, b, "the same value: once");

    // 10 % of the overlap left: one Warning, however often it reconciles.
    for h in [22, 23] {
        scim::reconcile_tokens(s.ns.client.clone(), &di, now + hours(h))
            .await
            .unwrap();
    }
    assert_eq!(events(&s.ns, "quiet", "PreviousTokenExpiring").await, 1);
    assert_eq!(events(&s.ns, "quiet", "TokenRotated").await, 1);

    // After the overlap the old token fails; the current one never expires by itself.
    scim::reconcile_tokens(s.ns.client.clone(), &di, now + hours(25))
        .await
        .unwrap();
    assert_eq!(token_of(&s.ns, "quiet").await, (b.clone(), None));
    until_status(&s, "quiet", &a, 401).await;
    until_status(&s, "quiet", &b, 200).await;
    s.stop().await;
}
