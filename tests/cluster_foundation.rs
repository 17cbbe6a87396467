//! The foundation on a real API server: CRDs install, examples are accepted, bad manifests are
//! rejected by the server, printer columns show in `kubectl`, status is a subresource.

mod support;

use std::path::Path;

use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DynamicObject, Patch, PatchParams, PostParams};
use kube::core::{ApiResource, Status};
use lastpass_operator::crd::{LastPassUser, UserPhase};
use serde_json::json;
use support::builders;

/// Jane's or Sam's LastPassUser, with a name and a group.
fn user(name: &str, username: &str) -> LastPassUser {
    builders::user(
        name,
        username,
        json!({"fullName": "Jane Doe", "groups": ["Engineering"]}),
    )
}

#[tokio::test]
async fn crds_are_established_with_their_names() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let api: Api<CustomResourceDefinition> = Api::all(cluster.client().await);
    for crd in lastpass_operator::crd::all_crds() {
        let name = crd.metadata.name.clone().unwrap();
        let live = api.get(&name).await.expect("CRD installed");
        let established = live
            .status
            .and_then(|s| s.conditions)
            .unwrap_or_default()
            .iter()
            .any(|c| c.type_ == "Established" && c.status == "True");
        assert!(established, "{name} is Established");
        assert_eq!(live.spec.names.short_names, crd.spec.names.short_names);
    }
}

#[tokio::test]
async fn every_example_is_accepted_by_the_server() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let ns = cluster.namespace().await;
    let examples = Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
    let (ok, stdout, stderr) = cluster.kubectl(&[
        "apply",
        "-n",
        &ns.name,
        "--recursive",
        "-f",
        examples.to_str().unwrap(),
    ]);
    assert!(ok, "kubectl apply of examples/ failed:\n{stdout}\n{stderr}");
    for kind in ["directoryintegration", "lastpassuser", "lastpassgroup"] {
        assert!(
            stdout.contains(&format!("{kind}.lastpass-operator.io/")),
            "examples include a {kind}: {stdout}"
        );
    }
    ns.cleanup().await;
}

async fn create_raw(api: &Api<DynamicObject>, body: serde_json::Value) -> Result<(), Status> {
    let obj: DynamicObject = serde_json::from_value(body).unwrap();
    match api.create(&PostParams::default(), &obj).await {
        Ok(_) => Ok(()),
        Err(kube::Error::Api(e)) => Err(*e),
        Err(e) => panic!("unexpected client error: {e}"),
    }
}

#[tokio::test]
async fn the_server_rejects_missing_fields_and_bad_enums() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let ns = cluster.namespace().await;
    let users: Api<DynamicObject> = Api::namespaced_with(
        ns.client.clone(),
        &ns.name,
        &ApiResource::erase::<LastPassUser>(&()),
    );
    let groups: Api<DynamicObject> = Api::namespaced_with(
        ns.client.clone(),
        &ns.name,
        &ApiResource::erase::<lastpass_operator::crd::LastPassGroup>(&()),
    );
    let missing_username = json!({
        "apiVersion": "lastpass-operator.io/v1alpha1", "kind": "LastPassUser",
        "metadata": {"name": "no-username"},
        "spec": {"integrationRef": {"name": "acme"}, "fullName": "Nobody"}
    });
    let err = create_raw(&users, missing_username).await.unwrap_err();
    assert_eq!(err.code, 422, "{err:?}");
    assert!(
        err.message.contains("spec.username: Required value"),
        "{}",
        err.message
    );

    let bad_email = json!({
        "apiVersion": "lastpass-operator.io/v1alpha1", "kind": "LastPassUser",
        "metadata": {"name": "bad-email"},
        "spec": {"integrationRef": {"name": "acme"}, "username": "not-an-email"}
    });
    let err = create_raw(&users, bad_email).await.unwrap_err();
    assert!(err.message.contains("spec.username"), "{}", err.message);

    let bad_policy = json!({
        "apiVersion": "lastpass-operator.io/v1alpha1", "kind": "LastPassGroup",
        "metadata": {"name": "bad-policy"},
        "spec": {"integrationRef": {"name": "acme"}, "groupName": "Eng", "policy": "Exclusive"}
    });
    let err = create_raw(&groups, bad_policy).await.unwrap_err();
    assert_eq!(err.code, 422, "{err:?}");
    assert!(
        err.message
            .contains("spec.policy: Unsupported value: \"Exclusive\""),
        "{}",
        err.message
    );
    ns.cleanup().await;
}

#[tokio::test]
async fn kubectl_get_shows_the_printer_columns() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let ns = cluster.namespace().await;
    let api: Api<LastPassUser> = ns.api();
    api.create(
        &PostParams::default(),
        &user("jane", "jane.doe@example.com"),
    )
    .await
    .expect("create user");
    let (ok, stdout, stderr) = cluster.kubectl(&["get", "lpu", "-n", &ns.name]);
    assert!(ok, "{stderr}");
    let header: Vec<&str> = stdout
        .lines()
        .next()
        .unwrap_or("")
        .split_whitespace()
        .collect();
    assert_eq!(
        header,
        [
            "NAME",
            "USERNAME",
            "INTEGRATION",
            "PHASE",
            "READY",
            "LAST",
            "LOGIN",
            "AGE"
        ],
        "{stdout}"
    );
    assert!(stdout.contains("jane.doe@example.com"), "{stdout}");
    // The category lists every kind of the operator.
    let (ok, stdout, stderr) = cluster.kubectl(&["get", "lastpass", "-n", &ns.name, "-o", "name"]);
    assert!(ok, "{stderr}");
    assert!(
        stdout.contains("lastpassuser.lastpass-operator.io/jane"),
        "{stdout}"
    );
    ns.cleanup().await;
}

#[tokio::test]
async fn status_is_a_subresource() {
    let Some(cluster) = support::cluster() else {
        return;
    };
    let ns = cluster.namespace().await;
    let api: Api<LastPassUser> = ns.api();
    let created = api
        .create(&PostParams::default(), &user("sam", "sam@example.com"))
        .await
        .expect("create user");
    let generation = created.metadata.generation;

    // A status write leaves spec and generation alone.
    let status = json!({"status": {"phase": "Active", "lastpassId": "10001"}});
    let after_status = api
        .patch_status("sam", &PatchParams::default(), &Patch::Merge(&status))
        .await
        .expect("patch status");
    assert_eq!(after_status.metadata.generation, generation);
    assert_eq!(after_status.spec, created.spec);
    let st = after_status.status.clone().expect("status written");
    assert_eq!(st.phase, Some(UserPhase::Active));

    // A spec write that carries a status leaves the status alone and bumps the generation.
    let mut changed = after_status.clone();
    changed.spec.full_name = Some("Sam Roe".into());
    changed.status.as_mut().unwrap().phase = Some(UserPhase::Failed);
    let after_spec = api
        .replace("sam", &PostParams::default(), &changed)
        .await
        .expect("replace");
    assert_eq!(after_spec.spec.full_name.as_deref(), Some("Sam Roe"));
    assert_eq!(
        after_spec.status.and_then(|s| s.phase),
        Some(UserPhase::Active)
    );
    assert!(after_spec.metadata.generation > generation);

    // Server-side apply of status works too (the controllers write status this way).
    let apply = json!({
        "apiVersion": "lastpass-operator.io/v1alpha1", "kind": "LastPassUser",
        "status": {"phase": "Invited"}
    });
    let applied = api
        .patch_status(
            "sam",
            &PatchParams::apply("lastpass-operator").force(),
            &Patch::Apply(&apply),
        )
        .await
        .expect("server-side apply of status");
    assert_eq!(
        applied.status.and_then(|s| s.phase),
        Some(UserPhase::Invited)
    );
    ns.cleanup().await;
}
