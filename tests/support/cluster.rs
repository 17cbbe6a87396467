//! The API server of the cluster tests: a real Kubernetes API server, the CRDs applied, a fresh
//! namespace per test.
//!
//! Which server:
//! 1. `LASTPASS_OPERATOR_TEST_KUBECONFIG` names a kubeconfig: any real cluster (kind, k3s, a
//!    cloud cluster). Nothing is started; every test works in its own namespace.
//! 2. Otherwise `scripts/envtest.sh` starts a kube-apiserver + etcd on loopback once per test
//!    binary (the binary must be installed first: `scripts/envtest.sh install`) and stops it
//!    when the test process exits.
//! 3. Neither: outside CI the test prints a loud SKIPPED message and returns; in CI (`CI` set)
//!    it fails, so a cluster test can never pass by not running.
//!
//! Facts of the v1.20 envtest server handled here: CRDs carrying `x-kubernetes-validations`
//! cannot be server-side applied (the rules are stripped below 1.25, and CEL is tested
//! offline); there is no controller-manager, so namespaces never finish terminating and owned
//! objects are not garbage-collected: tests clean up explicitly.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use k8s_openapi::api::core::v1::Namespace;
use k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition;
use kube::api::{Api, DeleteParams, ListParams, Patch, PatchParams, PostParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use kube::{Client, Config};
use lastpass_operator::crd::{DirectoryIntegration, LastPassGroup, LastPassUser};
use serde::de::DeserializeOwned;

use super::wait_for;

/// Environment variable naming the kubeconfig of a real cluster to test against.
pub const KUBECONFIG_ENV: &str = "LASTPASS_OPERATOR_TEST_KUBECONFIG";

/// Field manager of everything the test support writes.
const MANAGER: &str = "lastpass-operator-tests";

/// The API server every cluster test of this binary talks to.
pub struct TestCluster {
    kubeconfig: PathBuf,
    /// Minor version of the server, e.g. 20 for the envtest server.
    pub server_minor: u32,
}

static CLUSTER: OnceLock<Result<Option<TestCluster>, String>> = OnceLock::new();

/// The shared test cluster, or `None` when the test must be skipped (never in CI).
///
/// Panics with a clear message when the server cannot be had in CI, or fails to start.
pub fn cluster() -> Option<&'static TestCluster> {
    lastpass_operator::install_crypto_provider();
    match CLUSTER.get_or_init(|| {
        // A runtime of its own, on a thread of its own: callers are inside #[tokio::test].
        std::thread::spawn(start_cluster)
            .join()
            .unwrap_or_else(|_| Err("cluster set-up panicked".into()))
    }) {
        Ok(Some(cluster)) => Some(cluster),
        Ok(None) => None,
        Err(e) => panic!("cluster tests cannot run: {e}"),
    }
}

fn start_cluster() -> Result<Option<TestCluster>, String> {
    let kubeconfig = match std::env::var_os(KUBECONFIG_ENV) {
        Some(path) => PathBuf::from(path),
        None => match start_envtest()? {
            Some(path) => path,
            None => return Ok(None),
        },
    };
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())?;
    let server_minor = runtime.block_on(async {
        let client = client_for(&kubeconfig).await?;
        let version = client.apiserver_version().await.map_err(|e| {
            format!(
                "cannot reach the API server of {}: {e}",
                kubeconfig.display()
            )
        })?;
        let minor: u32 = version
            .minor
            .trim_end_matches('+')
            .parse()
            .map_err(|_| format!("unexpected server minor version {:?}", version.minor))?;
        install_crds(&client, minor).await?;
        Ok::<u32, String>(minor)
    })?;
    Ok(Some(TestCluster {
        kubeconfig,
        server_minor,
    }))
}

/// Where `scripts/envtest.sh install` keeps kube-apiserver (`KUBE_APISERVER_CACHE`, else
/// `~/.cache/kube-apiserver`).
pub fn envtest_cache() -> PathBuf {
    std::env::var_os("KUBE_APISERVER_CACHE")
        .map(PathBuf::from)
        .or_else(|| {
            std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cache/kube-apiserver"))
        })
        .unwrap_or_default()
}

/// Starts `scripts/envtest.sh` in a fresh directory; `None` means skip (outside CI only).
fn start_envtest() -> Result<Option<PathBuf>, String> {
    let script = super::repo_path("scripts/envtest.sh");
    let installed = envtest_cache().join("kube-apiserver").exists()
        && Command::new("etcd")
            .arg("--version")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success());
    if !installed {
        let why = format!(
            "no API server: set {KUBECONFIG_ENV} to a cluster's kubeconfig, or run `{} install` \
             (builds kube-apiserver once, ~7 min)",
            script.display()
        );
        if std::env::var_os("CI").is_some() {
            return Err(why);
        }
        eprintln!("\n=====================================================================");
        eprintln!("SKIPPED cluster test: {why}");
        eprintln!("=====================================================================\n");
        return Ok(None);
    }
    let dir = std::env::temp_dir().join(format!("lpo-envtest-{}", std::process::id()));
    let out = Command::new("bash")
        .arg(&script)
        .arg("start")
        .arg(&dir)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("cannot run {}: {e}", script.display()))?;
    if !out.status.success() {
        return Err(format!(
            "{} start failed:\n{}",
            script.display(),
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    // Stop the server when this test process exits, however it exits.
    Command::new("sh")
        .arg("-c")
        .arg(format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; bash '{script}' stop '{dir}'; rm -rf '{dir}'",
            pid = std::process::id(),
            script = script.display(),
            dir = dir.display(),
        ))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("cannot start the envtest watchdog: {e}"))?;
    Ok(Some(dir.join("kubeconfig")))
}

/// A client for the cluster of `kubeconfig`.
pub async fn client_for(kubeconfig: &Path) -> Result<Client, String> {
    let raw = Kubeconfig::read_from(kubeconfig)
        .map_err(|e| format!("cannot read {}: {e}", kubeconfig.display()))?;
    let config = Config::from_custom_kubeconfig(raw, &KubeConfigOptions::default())
        .await
        .map_err(|e| format!("bad kubeconfig {}: {e}", kubeconfig.display()))?;
    Client::try_from(config).map_err(|e| e.to_string())
}

/// The operator's CRDs as the server can take them: CEL rules stripped below 1.25.
pub fn crds_for_server(minor: u32) -> Vec<CustomResourceDefinition> {
    lastpass_operator::crd::all_crds()
        .iter()
        .map(|crd| {
            if minor >= 25 {
                crd.clone()
            } else {
                lastpass_operator::crd::without_cel(crd)
            }
        })
        .collect()
}

async fn install_crds(client: &Client, minor: u32) -> Result<(), String> {
    let api: Api<CustomResourceDefinition> = Api::all(client.clone());
    for crd in crds_for_server(minor) {
        let name = crd.metadata.name.clone().unwrap_or_default();
        api.patch(
            &name,
            &PatchParams::apply(MANAGER).force(),
            &Patch::Apply(&crd),
        )
        .await
        .map_err(|e| format!("applying CRD {name}: {e}"))?;
        wait_for(Duration::from_secs(30), || async {
            let crd = api.get(&name).await.ok()?;
            crd.status?
                .conditions?
                .iter()
                .any(|c| c.type_ == "Established" && c.status == "True")
                .then_some(())
        })
        .await
        .ok_or_else(|| format!("CRD {name} did not become Established within 30 s"))?;
    }
    Ok(())
}

impl TestCluster {
    /// A new client (one per test: a client must not outlive the runtime it was made in).
    pub async fn client(&self) -> Client {
        client_for(&self.kubeconfig)
            .await
            .expect("client for the test cluster")
    }

    /// The kubeconfig path, for `kubectl` and for operator processes under test.
    pub fn kubeconfig(&self) -> &Path {
        &self.kubeconfig
    }

    /// Creates a fresh namespace for one test.
    pub async fn namespace(&self) -> TestNamespace {
        static COUNTER: AtomicU32 = AtomicU32::new(0);
        let client = self.client().await;
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or_default();
        let name = format!(
            "lpo-test-{:x}-{:x}-{}",
            std::process::id(),
            nanos,
            COUNTER.fetch_add(1, Ordering::Relaxed)
        );
        let ns: Namespace = serde_json::from_value(serde_json::json!({
            "metadata": {"name": name, "labels": {"lastpass-operator.io/test": "true"}}
        }))
        .expect("namespace literal");
        Api::<Namespace>::all(client.clone())
            .create(&PostParams::default(), &ns)
            .await
            .expect("create test namespace");
        TestNamespace { name, client }
    }

    /// Runs `kubectl` against the test cluster; returns (success, stdout, stderr).
    pub fn kubectl(&self, args: &[&str]) -> (bool, String, String) {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&self.kubeconfig)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("kubectl is installed");
        (
            out.status.success(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// A namespace of one test; call [`TestNamespace::cleanup`] at the end.
pub struct TestNamespace {
    /// The namespace's name.
    pub name: String,
    /// A client for the test cluster.
    pub client: Client,
}

impl TestNamespace {
    /// A namespaced API of this test's namespace.
    pub fn api<K>(&self) -> Api<K>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>,
        <K as kube::Resource>::DynamicType: Default,
    {
        Api::namespaced(self.client.clone(), &self.name)
    }

    /// Deletes the operator's resources (dropping finalizers, since no operator may be left
    /// to release them) and the namespace. The envtest server has no namespace controller, so
    /// the namespace itself stays `Terminating` there; a real cluster removes it.
    pub async fn cleanup(self) {
        drop_all::<LastPassUser>(&self).await;
        drop_all::<LastPassGroup>(&self).await;
        drop_all::<DirectoryIntegration>(&self).await;
        let _ = Api::<Namespace>::all(self.client.clone())
            .delete(&self.name, &DeleteParams::default())
            .await;
    }
}

async fn drop_all<K>(ns: &TestNamespace)
where
    K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope>
        + Clone
        + DeserializeOwned
        + std::fmt::Debug,
    <K as kube::Resource>::DynamicType: Default,
{
    let api: Api<K> = ns.api();
    let Ok(list) = api.list(&ListParams::default()).await else {
        return;
    };
    for item in list {
        let name = item.meta().name.clone().unwrap_or_default();
        let patch = serde_json::json!({"metadata": {"finalizers": null}});
        let _ = api
            .patch(&name, &PatchParams::default(), &Patch::Merge(&patch))
            .await;
        let _ = api.delete(&name, &DeleteParams::default()).await;
    }
}
