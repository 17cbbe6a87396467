//! The operator process under the Helm chart's RBAC, with Secrets granted in fewer namespaces
//! than the operator's resources: the README's install (resources watched in every namespace,
//! `rbac.secrets.namespaces={identity}`), and a namespaced install
//! (`watchNamespaces={identity,elsewhere}`, Secrets in `identity` only).
//!
//! The chart is rendered with a real helm, its ServiceAccount and RBAC are applied, and
//! `lastpass-operator run` starts with the Deployment's own arguments and a kubeconfig that
//! impersonates the chart's ServiceAccount (`as: system:serviceaccount:...`; the envtest admin
//! is system:masters and may impersonate). Then:
//! - fixing a broken credentials Secret wakes the engine at once: the successful read follows
//!   the failed one well within the error backoff (5 s), so it came from the Secret watch, not
//!   from the retry;
//! - the operator's log shows no `forbidden` error (no watch or call outside the grant).
//!
//! This test runs a cluster-wide operator, so it always starts an API server of its own
//! (`scripts/envtest.sh`), never the shared one of `LASTPASS_OPERATOR_TEST_KUBECONFIG`, where it
//! would sync other tests' integrations.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::core::v1::{Namespace, Secret};
use kube::api::{Api, Patch, PatchParams, PostParams};
use lastpass_operator::crd::DirectoryIntegration;
use lastpass_operator::simulator::Knobs;
use serde_json::{Value, json};
use support::account::{CID, PROVHASH, simulator};
use support::builders::{CREDENTIALS, INTEGRATION, integration, secret};
use support::cluster::{client_for, envtest_cache};
use support::process::OperatorProcess;
use support::{repo_path, wait_for};

/// `run`'s default first wait after a failed sync (`Settings::default().min_backoff`).
const MIN_BACKOFF: Duration = Duration::from_secs(5);

/// An envtest API server of this test only; stopped when dropped.
struct PrivateServer {
    dir: PathBuf,
}

impl PrivateServer {
    /// `None` (skip) outside CI when envtest is not installed.
    fn start() -> Option<Self> {
        if !envtest_cache().join("kube-apiserver").exists() {
            assert!(
                std::env::var_os("CI").is_none(),
                "this test needs scripts/envtest.sh install (it runs its own API server)"
            );
            eprintln!("SKIPPED: no envtest API server installed (scripts/envtest.sh install)");
            return None;
        }
        static COUNTER: std::sync::atomic::AtomicU32 = std::sync::atomic::AtomicU32::new(0);
        let n = COUNTER.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("lpo-rbac-envtest-{}-{n}", std::process::id()));
        let out = Command::new("bash")
            .arg(repo_path("scripts/envtest.sh"))
            .arg("start")
            .arg(&dir)
            .stdin(Stdio::null())
            .output()
            .expect("run scripts/envtest.sh");
        assert!(
            out.status.success(),
            "envtest start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        Some(Self { dir })
    }

    fn kubeconfig(&self) -> PathBuf {
        self.dir.join("kubeconfig")
    }
}

impl Drop for PrivateServer {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(repo_path("scripts/envtest.sh"))
            .arg("stop")
            .arg(&self.dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn kubectl(kubeconfig: &Path, args: &[&str]) -> String {
    let out = Command::new("kubectl")
        .arg("--kubeconfig")
        .arg(kubeconfig)
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("kubectl is installed");
    assert!(
        out.status.success(),
        "kubectl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// `helm template` of the chart: every rendered document.
fn render(release: &str, namespace: &str, sets: &[&str]) -> Vec<Value> {
    let helm = Command::new("bash")
        .arg(repo_path("scripts/helm.sh"))
        .arg("install")
        .stderr(Stdio::null())
        .output()
        .expect("scripts/helm.sh");
    assert!(helm.status.success(), "scripts/helm.sh install failed");
    let helm = String::from_utf8_lossy(&helm.stdout).trim().to_string();
    let mut cmd = Command::new(&helm);
    cmd.args(["template", release])
        .arg(repo_path("charts/lastpass-operator"))
        .args(["--namespace", namespace]);
    for s in sets {
        cmd.args(["--set", s]);
    }
    let out = cmd.output().expect("helm template");
    assert!(
        out.status.success(),
        "helm template: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_saphyr::from_multiple::<Value>(&String::from_utf8_lossy(&out.stdout))
        .expect("rendered YAML")
        .into_iter()
        .filter(|d| !d.is_null())
        .collect()
}

/// The admin kubeconfig with every user impersonating `user`.
fn impersonating(admin: &Path, user: &str, out: &Path) {
    let text = std::fs::read_to_string(admin).expect("kubeconfig");
    let mut config: Value = serde_saphyr::from_str(&text).expect("kubeconfig YAML");
    for u in config["users"].as_array_mut().expect("users") {
        u["user"]["as"] = json!(user);
    }
    std::fs::write(out, serde_json::to_string_pretty(&config).unwrap()).expect("write");
}

fn condition(i: &DirectoryIntegration, type_: &str) -> Option<(String, String)> {
    support::operator::condition(i, type_).map(|(status, reason, _)| (status, reason))
}

/// The README's install: resources in every namespace, Secrets in `identity` only.
#[tokio::test]
async fn under_the_charts_confined_secrets_rbac_a_fixed_secret_wakes_the_engine_at_once() {
    fixed_secret_wakes_at_once(&["rbac.secrets.namespaces={identity}"]).await;
}

/// A namespaced install that grants Secrets in fewer namespaces than it watches.
#[tokio::test]
async fn under_the_charts_namespaced_rbac_with_fewer_secret_namespaces_the_same_holds() {
    fixed_secret_wakes_at_once(&[
        "watchNamespaces={identity,elsewhere}",
        "rbac.secrets.namespaces={identity}",
    ])
    .await;
}

/// Installs the chart's RBAC rendered with `sets`, runs the operator as its ServiceAccount with
/// the Deployment's arguments, and checks that a fixed credentials Secret in `identity` wakes
/// the engine at once, with no `forbidden` in the log.
async fn fixed_secret_wakes_at_once(sets: &[&str]) {
    lastpass_operator::install_crypto_provider();
    let Some(server) = PrivateServer::start() else {
        return;
    };
    let admin_config = server.kubeconfig();
    let admin = client_for(&admin_config).await.expect("admin client");
    // CRDs as a pre-1.25 server takes them (CEL stripped).
    let crds: Api<k8s_openapi::apiextensions_apiserver::pkg::apis::apiextensions::v1::CustomResourceDefinition> =
        Api::all(admin.clone());
    for crd in support::cluster::crds_for_server(20) {
        let name = crd.metadata.name.clone().unwrap_or_default();
        crds.patch(
            &name,
            &PatchParams::apply("rbac-test").force(),
            &Patch::Apply(&crd),
        )
        .await
        .expect("apply CRD");
    }
    kubectl(
        &admin_config,
        &[
            "wait",
            "--for",
            "condition=established",
            "--timeout=60s",
            "crd",
            "--all",
        ],
    );
    for ns in ["lpo-system", "identity", "elsewhere"] {
        let n: Namespace = serde_json::from_value(json!({"metadata": {"name": ns}})).unwrap();
        Api::<Namespace>::all(admin.clone())
            .create(&PostParams::default(), &n)
            .await
            .expect("namespace");
    }

    // The chart with `sets`; one replica without leader election (no Lease needed here).
    let mut all_sets = vec![
        "leaderElection.enabled=false",
        "replicaCount=1",
        "pdb.enabled=false",
    ];
    all_sets.extend_from_slice(sets);
    let docs = render("lpo", "lpo-system", &all_sets);
    let rbac: Vec<&Value> = docs
        .iter()
        .filter(|d| {
            matches!(
                d["kind"].as_str(),
                Some(
                    "ServiceAccount"
                        | "ClusterRole"
                        | "ClusterRoleBinding"
                        | "Role"
                        | "RoleBinding"
                )
            )
        })
        .collect();
    let rbac_file = server.dir.join("rbac.json");
    std::fs::write(
        &rbac_file,
        serde_json::to_string(&json!({"apiVersion": "v1", "kind": "List", "items": rbac})).unwrap(),
    )
    .unwrap();
    kubectl(
        &admin_config,
        &["apply", "--server-side", "-f", rbac_file.to_str().unwrap()],
    );
    let deployment = docs
        .iter()
        .find(|d| d["kind"] == "Deployment")
        .expect("a Deployment");
    let container = &deployment["spec"]["template"]["spec"]["containers"][0];
    let sa = deployment["spec"]["template"]["spec"]["serviceAccountName"]
        .as_str()
        .expect("serviceAccountName");
    // The Deployment's own arguments, but for the addresses and the log format of a test.
    let args: Vec<String> = container["args"]
        .as_array()
        .expect("args")
        .iter()
        .filter_map(Value::as_str)
        .filter(|a| {
            *a != "run"
                && !a.starts_with("--metrics-addr")
                && !a.starts_with("--scim-addr")
                && !a.starts_with("--log-format")
        })
        .map(String::from)
        .collect();
    assert!(
        args.iter().any(|a| a == "--secret-namespace=identity"),
        "the chart passes its Secret namespaces to the operator: {args:?}"
    );
    let as_sa = server.dir.join("as-sa.kubeconfig");
    impersonating(
        &admin_config,
        &format!("system:serviceaccount:lpo-system:{sa}"),
        &as_sa,
    );
    // Sanity: the impersonated identity really is confined.
    let can = |args: &[&str]| {
        let out = Command::new("kubectl")
            .arg("--kubeconfig")
            .arg(&as_sa)
            .args(["auth", "can-i"])
            .args(args)
            .output()
            .expect("kubectl");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    assert_eq!(can(&["watch", "secrets", "-n", "identity"]), "yes");
    assert_eq!(can(&["watch", "secrets", "-A"]), "no");
    assert_eq!(can(&["watch", "secrets", "-n", "elsewhere"]), "no");
    assert_eq!(can(&["get", "secrets", "-n", "elsewhere"]), "no");

    // A simulated account; its credentials Secret in `identity` has a wrong provhash.
    let sim = simulator(Knobs::default()).await;
    let secrets: Api<Secret> = Api::namespaced(admin.clone(), "identity");
    let wrong = secret(
        CREDENTIALS,
        json!({"cid": CID, "provhash": "not-the-provhash"}),
    );
    secrets
        .create(&PostParams::default(), &wrong)
        .await
        .expect("secret");
    let integrations: Api<DirectoryIntegration> = Api::namespaced(admin.clone(), "identity");
    let i = integration(
        INTEGRATION,
        json!({
            "lastpass": {"endpoint": sim.url},
            "sync": {"interval": "10m", "debounce": "100ms"},
        }),
    );
    integrations
        .create(&PostParams::default(), &i)
        .await
        .expect("integration");

    let op = OperatorProcess::start_with(&as_sa, "op-rbac", "lpo-system", &args, &[]);
    let invalid = wait_for(Duration::from_secs(60), || async {
        let i = integrations.get_opt("acme").await.ok()??;
        (condition(&i, "CredentialsValid")? == ("False".into(), "CredentialsInvalid".into()))
            .then_some(())
    })
    .await;
    assert!(
        invalid.is_some(),
        "the wrong provhash was never reported:\n{}",
        op.logs()
    );
    let failed_reads = sim.state.calls().len();
    assert!(failed_reads >= 1);
    let failed_at = sim.state.calls().last().expect("a call").at;

    // Fix the Secret: the Secret watch (granted in `identity` only) wakes the account now.
    let fix = json!({"stringData": {"provhash": PROVHASH}});
    secrets
        .patch("lastpass-api", &PatchParams::default(), &Patch::Merge(&fix))
        .await
        .expect("fix the Secret");
    let fixed = Instant::now();
    let valid = wait_for(Duration::from_secs(30), || async {
        let i = integrations.get_opt("acme").await.ok()??;
        (condition(&i, "CredentialsValid")? == ("True".into(), "CredentialsAccepted".into()))
            .then_some(())
    })
    .await;
    assert!(
        valid.is_some(),
        "fixing the Secret never recovered:\n{}",
        op.logs()
    );
    let noticed = fixed.elapsed();
    // Measured on the simulator's clock: the first read after the fix, against the failed one.
    let calls = sim.state.calls();
    let next = calls.get(failed_reads).expect("a read after the fix");
    let gap = next.at.duration_since(failed_at);
    eprintln!(
        "fixed Secret noticed after {noticed:?}; read {gap:?} after the failed one (backoff {MIN_BACKOFF:?})"
    );
    assert!(
        gap < jiff::SignedDuration::try_from(MIN_BACKOFF - Duration::from_secs(2)).unwrap(),
        "the retry came {gap:?} after the failure: the backoff ({MIN_BACKOFF:?}), not the Secret watch, woke the engine\n{}",
        op.logs()
    );
    let logs = op.logs();
    assert!(
        !logs.to_lowercase().contains("forbidden"),
        "the operator hit RBAC it was not granted:\n{logs}"
    );
    drop(op);
}
