//! `lastpass-operator demo --kubeconfig FILE`: the same examples, but through the real
//! controllers against a cluster, with the simulator (in this process) as LastPass.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config, ResourceExt};
use secrecy::SecretString;
use serde_json::json;

use crate::controller::{Options, Settings};
use crate::crd::{DirectoryIntegration, LastPassGroup, LastPassUser, all_crds, without_cel};
use crate::simulator::{Knobs, RunningSimulator, SimState};
use crate::source::files::Manifests;

use super::table::table;

const FIELD_MANAGER: &str = "lastpass-operator-demo";

/// A client for the cluster of `kubeconfig`.
pub(crate) async fn client(kubeconfig: &Path) -> anyhow::Result<Client> {
    let raw = Kubeconfig::read_from(kubeconfig)?;
    let config = Config::from_custom_kubeconfig(raw, &KubeConfigOptions::default()).await?;
    Ok(Client::try_from(config)?)
}

/// Installs the CRDs (without CEL rules below Kubernetes 1.25) and gives the server 2 s to
/// serve them.
pub(crate) async fn install_crds(client: &Client) -> anyhow::Result<()> {
    let version = client.apiserver_version().await?;
    let minor: u32 = version.minor.trim_end_matches('+').parse().unwrap_or(0);
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in all_crds() {
        let crd = if minor < 25 { without_cel(&crd) } else { crd };
        let name = crd.name_any();
        api.patch(
            &name,
            &PatchParams::apply(FIELD_MANAGER).force(),
            &Patch::Apply(&crd),
        )
        .await?;
    }
    tokio::time::sleep(Duration::from_secs(2)).await;
    Ok(())
}

async fn apply<K>(client: &Client, ns: &str, obj: &K) -> anyhow::Result<()>
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
        + Clone
        + serde::Serialize
        + serde::de::DeserializeOwned
        + std::fmt::Debug,
{
    let api: Api<K> = Api::namespaced(client.clone(), ns);
    let mut value = serde_json::to_value(obj)?;
    value["apiVersion"] = json!(K::api_version(&()));
    value["kind"] = json!(K::kind(&()));
    if let Some(meta) = value.get_mut("metadata").and_then(|m| m.as_object_mut()) {
        meta.insert("namespace".into(), json!(ns));
    }
    api.patch(
        &obj.name_any(),
        &PatchParams::apply(FIELD_MANAGER).force(),
        &Patch::Apply(&value),
    )
    .await?;
    Ok(())
}

fn ready(conditions: &[k8s_openapi::apimachinery::pkg::apis::meta::v1::Condition]) -> String {
    conditions
        .iter()
        .find(|c| c.type_ == crate::status::types::READY)
        .map(|c| c.status.clone())
        .unwrap_or_default()
}

async fn print_users(api: &Api<LastPassUser>) -> anyhow::Result<bool> {
    let users = api.list(&Default::default()).await?;
    let rows: Vec<Vec<String>> = users
        .iter()
        .map(|u| {
            let st = u.status.clone().unwrap_or_default();
            vec![
                u.name_any(),
                u.spec.username.clone(),
                st.phase.map(|p| format!("{p:?}")).unwrap_or_default(),
                ready(&st.conditions),
            ]
        })
        .collect();
    println!("{}", table(&["NAME", "USERNAME", "PHASE", "READY"], &rows));
    Ok(users.iter().all(|u| {
        u.status
            .as_ref()
            .is_some_and(|s| ready(&s.conditions) == "True")
    }))
}

/// Runs the demo against the cluster of `kubeconfig`, in namespace `namespace`.
pub async fn run(kubeconfig: &Path, namespace: &str, manifests: Manifests) -> anyhow::Result<()> {
    let started = Instant::now();
    let client = client(kubeconfig).await?;
    println!("== installing the CRDs and namespace {namespace}");
    install_crds(&client).await?;
    let ns: Namespace = serde_json::from_value(json!({"metadata": {"name": namespace}}))?;
    match Api::<Namespace>::all(client.clone())
        .create(&PostParams::default(), &ns)
        .await
    {
        Ok(_) => {}
        Err(kube::Error::Api(e)) if e.code == 409 => {} // already there
        Err(e) => return Err(e.into()),
    }

    let provhash = "demo-cluster-provhash";
    let state = SimState::builder("12345678", SecretString::from(provhash))
        .knobs(Knobs::default())
        .build();
    let sim = RunningSimulator::start(state).await?;
    println!("== LastPass simulator at {}", sim.url);

    let secret: Secret = serde_json::from_value(json!({
        "metadata": {"name": "lastpass-api"},
        "stringData": {"cid": "12345678", "provhash": provhash},
    }))?;
    apply(&client, namespace, &secret).await?;
    for i in &manifests.integrations {
        let mut i: DirectoryIntegration = i.clone();
        i.spec.lastpass.endpoint = sim.url.clone();
        i.spec.lastpass.credentials_secret_ref.name = "lastpass-api".into();
        i.spec.sync.debounce = "1s".into();
        i.metadata.resource_version = None;
        apply(&client, namespace, &i).await?;
    }
    for u in &manifests.users {
        apply(&client, namespace, u).await?;
    }
    for g in &manifests.groups {
        apply(&client, namespace, g).await?;
    }
    println!(
        "== applied {} integrations, {} users, {} groups; starting the controllers",
        manifests.integrations.len(),
        manifests.users.len(),
        manifests.groups.len()
    );
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    let options = Options {
        namespaces: vec![namespace.to_string()],
        secret_namespaces: Vec::new(),
        instance: Some("demo".into()),
        settings: Settings::default(),
        ready: None,
    };
    let controllers = tokio::spawn(crate::controller::run(client.clone(), options, async {
        let _ = rx.await;
    }));
    let users: Api<LastPassUser> = Api::namespaced(client.clone(), namespace);
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let all = users.list(&Default::default()).await?;
        let ready_now = all.iter().all(|u| {
            u.status
                .as_ref()
                .is_some_and(|s| ready(&s.conditions) == "True")
        });
        if ready_now || Instant::now() > deadline {
            break;
        }
    }
    println!("\n$ kubectl get lpu -n {namespace}");
    let all_ready = print_users(&users).await?;
    let groups: Api<LastPassGroup> = Api::namespaced(client.clone(), namespace);
    let rows: Vec<Vec<String>> = groups
        .list(&Default::default())
        .await?
        .iter()
        .map(|g| {
            let st = g.status.clone().unwrap_or_default();
            vec![
                g.name_any(),
                g.spec.group_name.clone(),
                st.member_count.unwrap_or(0).to_string(),
                ready(&st.conditions),
            ]
        })
        .collect();
    println!("\n$ kubectl get lpg -n {namespace}");
    println!("{}", table(&["NAME", "GROUP", "MEMBERS", "READY"], &rows));

    let deactivated = match manifests.users.first() {
        Some(first) => delete_and_approve(&client, &sim, namespace, first).await?,
        None => true,
    };
    let _ = tx.send(());
    let _ = tokio::time::timeout(Duration::from_secs(10), controllers).await;
    let calls: BTreeMap<String, usize> =
        sim.state.calls().iter().fold(BTreeMap::new(), |mut m, c| {
            *m.entry(c.command.clone()).or_default() += 1;
            m
        });
    println!(
        "\nLastPass calls: {calls:?}; demo finished in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if !all_ready {
        anyhow::bail!("not every LastPassUser became Ready within 90 s");
    }
    if !deactivated {
        anyhow::bail!("the deleted LastPassUser was not deactivated in LastPass within 60 s");
    }
    Ok(())
}

/// Deletes `user`, shows the safeguard holding its deprovisioning (the examples allow 10 % of
/// the managed users per hour; one of five is more), approves exactly the held plan as an
/// operator would, and waits for the finalizer to go. Whether LastPass has the user
/// deactivated.
async fn delete_and_approve(
    client: &Client,
    sim: &RunningSimulator,
    namespace: &str,
    user: &LastPassUser,
) -> anyhow::Result<bool> {
    let users: Api<LastPassUser> = Api::namespaced(client.clone(), namespace);
    let integrations: Api<DirectoryIntegration> = Api::namespaced(client.clone(), namespace);
    let integration = user.spec.integration_ref.name.clone();
    println!("\n$ kubectl delete lpu {} -n {namespace}", user.name_any());
    users
        .delete(&user.name_any(), &DeleteParams::default())
        .await?;
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut approved = false;
    while users.get_opt(&user.name_any()).await?.is_some() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(500)).await;
        if approved {
            continue;
        }
        let held = integrations
            .get_opt(&integration)
            .await?
            .and_then(|i| i.status?.held);
        if let Some(held) = held {
            println!(
                "held by the safeguard: {}\n\n$ kubectl annotate lpdi {integration} -n {namespace} lastpass-operator.io/approve-plan={} --overwrite",
                held.reason, held.plan_id
            );
            let patch = json!({"metadata": {"annotations": {
                crate::crd::APPROVE_PLAN_ANNOTATION: held.plan_id,
            }}});
            integrations
                .patch(&integration, &PatchParams::default(), &Patch::Merge(&patch))
                .await?;
            approved = true;
        }
    }
    let disabled = sim
        .state
        .store()
        .user(&user.spec.username)
        .map(|u| u.disabled);
    println!(
        "{} in LastPass: {}",
        user.spec.username,
        match disabled {
            Some(true) => "deactivated",
            Some(false) => "still enabled",
            None => "removed",
        }
    );
    Ok(disabled != Some(false))
}
