//! The real `lastpass-operator run` binary as a child process against the test cluster, as it
//! runs in a pod: its own identity (`POD_NAME`), the Lease in `POD_NAMESPACE`, the operations
//! endpoint on a free loopback port.

use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;

use super::{TestCluster, wait_for};

/// Name of the Lease the test operators compete for.
pub const LEASE: &str = "lastpass-operator";

/// One `lastpass-operator run` process; killed when dropped.
pub struct OperatorProcess {
    /// Its identity (`POD_NAME`).
    pub name: String,
    /// Port of `/metrics`, `/healthz`, `/readyz`.
    pub metrics_port: u16,
    /// Port of the SCIM server (plain HTTP).
    pub scim_port: u16,
    child: Child,
    /// Where its logs go (printed by [`OperatorProcess::logs`]).
    pub log: PathBuf,
}

/// The binary under test: `LASTPASS_OPERATOR_TEST_BIN` when set (a copy taken right after the
/// build, for machines where several checkouts share one target directory), else Cargo's.
pub fn binary() -> PathBuf {
    std::env::var_os("LASTPASS_OPERATOR_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_lastpass-operator")))
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free port")
}

impl OperatorProcess {
    /// Starts `run` as `name`, watching `namespaces`, with the Lease in `lease_ns`.
    pub fn start(cluster: &TestCluster, name: &str, lease_ns: &str, namespaces: &[&str]) -> Self {
        let args: Vec<String> = namespaces
            .iter()
            .flat_map(|ns| ["--namespace".to_string(), ns.to_string()])
            .collect();
        Self::start_with(cluster.kubeconfig(), name, lease_ns, &args, &[])
    }

    /// Starts `run` as `name` with `kubeconfig`, the Lease in `lease_ns`, `args` after the
    /// operations and SCIM addresses and the text log format, and extra environment.
    pub fn start_with(
        kubeconfig: &std::path::Path,
        name: &str,
        lease_ns: &str,
        args: &[String],
        env: &[(&str, &str)],
    ) -> Self {
        let metrics_port = free_port();
        let scim_port = free_port();
        let log = std::env::temp_dir().join(format!(
            "lpo-{name}-{}-{metrics_port}.log",
            std::process::id()
        ));
        let file = std::fs::File::create(&log).expect("log file");
        let mut cmd = Command::new(binary());
        cmd.arg("run")
            .arg("--metrics-addr")
            .arg(format!("127.0.0.1:{metrics_port}"))
            .arg("--scim-addr")
            .arg(format!("127.0.0.1:{scim_port}"))
            .arg("--log-format")
            .arg("text");
        cmd.args(args);
        cmd.env("KUBECONFIG", kubeconfig)
            .env("POD_NAME", name)
            .env("POD_NAMESPACE", lease_ns)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "info".into()),
            );
        for (k, v) in env {
            cmd.env(k, v);
        }
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(file)
            .spawn()
            .expect("the operator binary starts");
        Self {
            name: name.into(),
            metrics_port,
            scim_port,
            child,
            log,
        }
    }

    /// The process's logs so far.
    pub fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GETs `path` on the operations endpoint: (status, body), or `None` if it does not answer.
    pub async fn get(&self, path: &str) -> Option<(u16, String)> {
        let url = format!("http://127.0.0.1:{}{path}", self.metrics_port);
        let r = reqwest::get(url).await.ok()?;
        let status = r.status().as_u16();
        Some((status, r.text().await.ok()?))
    }

    /// The value of the unlabelled or labelled sample `name{labels}` in `/metrics` (0 when
    /// absent; summed over label sets when `labels` is empty and the metric has labels).
    pub async fn metric(&self, name: &str) -> f64 {
        let Some((_, body)) = self.get("/metrics").await else {
            return f64::NAN;
        };
        body.lines()
            .filter(|l| !l.starts_with('#'))
            .filter(|l| l.starts_with(name) && l[name.len()..].starts_with([' ', '{']))
            .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
            .sum()
    }

    /// Sends SIGTERM (as the kubelet does).
    pub fn terminate(&self) {
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
    }

    /// Sends SIGKILL (a crashed or evicted pod).
    pub fn kill(&mut self) {
        let _ = self.child.kill();
    }

    /// Waits up to `limit` for the process to exit; its exit code, or `None` if it still runs.
    pub async fn wait_exit(&mut self, limit: Duration) -> Option<i32> {
        let deadline = Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status.code().unwrap_or(-1));
            }
            if Instant::now() >= deadline {
                return None;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

impl Drop for OperatorProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The current holder of the test Lease in `ns`.
pub async fn holder(client: &kube::Client, ns: &str) -> Option<String> {
    let lease = Api::<Lease>::namespaced(client.clone(), ns)
        .get_opt(LEASE)
        .await
        .ok()??;
    lease.spec?.holder_identity.filter(|h| !h.is_empty())
}

/// Waits until `ns`'s Lease is held by `who`; the time it took, or `None` after `limit`.
pub async fn wait_holder(
    client: &kube::Client,
    ns: &str,
    who: &str,
    limit: Duration,
) -> Option<Duration> {
    let started = Instant::now();
    wait_for(limit, || async {
        (holder(client, ns).await.as_deref() == Some(who)).then_some(())
    })
    .await
    .map(|()| started.elapsed())
}
