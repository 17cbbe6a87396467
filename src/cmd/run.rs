//! `lastpass-operator run`: the controllers, the LDAP pull, the SCIM server and the operations
//! endpoint, against the cluster of the kubeconfig or the in-cluster config, until SIGTERM.
//!
//! Every replica serves SCIM and the operations endpoint; only the leader (see
//! [`crate::leader`]) runs the controllers and the LDAP pull, so only it writes to LastPass.
//!
//! Shutdown (SIGTERM or Ctrl-C): the write gate closes ([`crate::lastpass::gate`]), so the
//! LastPass write in flight completes and no other starts; running account syncs re-read the
//! account and write their statuses (`Synced=False`, reason `Interrupted`) within
//! `shutdown_grace` (20 s) or are abandoned; then the Lease is released (a follower takes it at
//! its next check, within the lease duration). On loss of leadership the gate closes and the
//! process exits non-zero at once: Kubernetes restarts it as a follower.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context as _;

use super::probes::{self, Readiness};
use crate::controller::{Options, Settings};
use crate::leader::{Elector, LeaderConfig, default_identity};
use crate::telemetry::{LogFormat, init, metrics};

/// Options of `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Watch only these namespaces (repeat the flag or separate with commas; all namespaces
    /// when absent). Each namespace gets its own watch per kind.
    #[arg(long, value_delimiter = ',', env = "LASTPASS_OPERATOR_NAMESPACES")]
    pub namespace: Vec<String>,
    /// Watch Secrets (credentials, so that a fixed one is noticed at once) only in these
    /// namespaces: those where the RBAC grants Secrets (the chart passes
    /// `rbac.secrets.namespaces`). Repeat or separate with commas; default: the `--namespace`
    /// list, or all namespaces.
    #[arg(
        long,
        value_delimiter = ',',
        env = "LASTPASS_OPERATOR_SECRET_NAMESPACES"
    )]
    pub secret_namespace: Vec<String>,
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub metrics_addr: std::net::SocketAddr,
    /// Address of the SCIM 2.0 server (`/scim/v2/<namespace>/<integration>/`): HTTPS with
    /// `--scim-tls-cert`/`--scim-tls-key`, else plain HTTP for TLS terminated in front of it.
    #[arg(long, default_value = "0.0.0.0:8443")]
    pub scim_addr: std::net::SocketAddr,
    /// PEM certificate chain of the SCIM server (e.g. `tls.crt` of a mounted
    /// `kubernetes.io/tls` Secret); re-read when it changes.
    #[arg(
        long,
        requires = "scim_tls_key",
        env = "LASTPASS_OPERATOR_SCIM_TLS_CERT"
    )]
    pub scim_tls_cert: Option<std::path::PathBuf>,
    /// PEM private key of the SCIM server (e.g. `tls.key`).
    #[arg(
        long,
        requires = "scim_tls_cert",
        env = "LASTPASS_OPERATOR_SCIM_TLS_KEY"
    )]
    pub scim_tls_key: Option<std::path::PathBuf>,
    /// Proxies (IP addresses or CIDRs) in front of the SCIM server whose `X-Forwarded-For`
    /// names the client for the failed-authentication limits. Repeat or separate with commas;
    /// default: none (the TCP peer is the client).
    #[arg(
        long,
        value_delimiter = ',',
        env = "LASTPASS_OPERATOR_SCIM_TRUSTED_PROXIES"
    )]
    pub scim_trusted_proxy: Vec<crate::scim::limit::Cidr>,
    /// Failed SCIM authentications per minute per client address before it gets `429`.
    #[arg(long, default_value = "10")]
    pub scim_auth_failures_per_client: std::num::NonZeroU32,
    /// Failed SCIM authentications per minute per endpoint before further ones get `429`.
    #[arg(long, default_value = "60")]
    pub scim_auth_failures_per_endpoint: std::num::NonZeroU32,
    /// Run without leader election: only for a single replica (two replicas without it would
    /// both write to LastPass).
    #[arg(long, env = "LASTPASS_OPERATOR_DISABLE_LEADER_ELECTION")]
    pub disable_leader_election: bool,
    /// Name of the leader election Lease (the chart sets `<release>-lastpass-operator`).
    #[arg(
        long,
        default_value = "lastpass-operator",
        env = "LASTPASS_OPERATOR_LEASE_NAME"
    )]
    pub lease_name: String,
    /// Namespace of the Lease (default: the pod's namespace, else the kubeconfig's).
    #[arg(long, env = "POD_NAMESPACE")]
    pub lease_namespace: Option<String>,
    /// Log format.
    #[arg(long, value_enum, default_value_t = LogFormat::Json, env = "LASTPASS_OPERATOR_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// Log level (RUST_LOG wins when set).
    #[arg(long, default_value = "info", env = "LASTPASS_OPERATOR_LOG_LEVEL")]
    pub log_level: String,
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        if let Ok(mut s) = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        {
            s.recv().await;
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutdown requested");
}

/// The watched namespaces: trimmed, without empties and duplicates, in the given order.
pub fn namespaces(given: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for n in given.iter().map(|n| n.trim()).filter(|n| !n.is_empty()) {
        if !out.iter().any(|o| o == n) {
            out.push(n.to_string());
        }
    }
    out
}

/// Runs the operator until SIGTERM (then `Ok`) or a loss of leadership (then an error, so the
/// process exits non-zero and is restarted as a follower).
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    init(args.log_format, &args.log_level);
    let namespaces = namespaces(&args.namespace);
    let client = kube::Client::try_default()
        .await
        .context("no Kubernetes configuration: set KUBECONFIG or run in a pod")?;
    let readiness = Arc::new(Readiness::default());
    let listener = tokio::net::TcpListener::bind(args.metrics_addr)
        .await
        .with_context(|| format!("binding --metrics-addr {}", args.metrics_addr))?;
    tracing::info!(addr = %args.metrics_addr, "serving /metrics, /healthz, /readyz");
    tokio::spawn(probes::serve(listener, readiness.clone()));

    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = stop_rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let scim_listener = tokio::net::TcpListener::bind(args.scim_addr)
        .await
        .with_context(|| format!("binding --scim-addr {}", args.scim_addr))?;
    let scim_ctx = Arc::new(crate::scim::ScimState::start(
        client.clone(),
        &crate::scim::watch::Scope {
            namespaces: namespaces.clone(),
            secret_namespaces: self::namespaces(&args.secret_namespace),
        },
        &crate::scim::limit::AuthLimits {
            per_address: args.scim_auth_failures_per_client,
            per_integration: args.scim_auth_failures_per_endpoint,
            trusted_proxies: args.scim_trusted_proxy.clone(),
        },
    ));
    let scim = match (&args.scim_tls_cert, &args.scim_tls_key) {
        (Some(cert), Some(key)) => {
            let files = crate::scim::tls::TlsFiles {
                cert: cert.clone(),
                key: key.clone(),
            };
            let listener = crate::scim::tls::TlsListener::new(scim_listener, files)?;
            tracing::info!(addr = %args.scim_addr, "SCIM server listening (HTTPS) at /scim/v2/<namespace>/<integration>/");
            tokio::spawn(crate::scim::serve(listener, scim_ctx, stopped()))
        }
        _ => {
            tracing::info!(addr = %args.scim_addr, "SCIM server listening (plain HTTP: terminate TLS in front) at /scim/v2/<namespace>/<integration>/");
            tokio::spawn(crate::scim::serve(scim_listener, scim_ctx, stopped()))
        }
    };
    let signal = shutdown_signal();
    tokio::pin!(signal);

    let elector = if args.disable_leader_election {
        tracing::warn!("leader election disabled: run a single replica only");
        readiness.api_reachable.store(true, Ordering::Release);
        None
    } else {
        let config = LeaderConfig {
            lease_name: args.lease_name.clone(),
            namespace: args
                .lease_namespace
                .clone()
                .unwrap_or_else(|| client.default_namespace().to_string()),
            identity: default_identity(),
        };
        let mut elector = Elector::start(client.clone(), config).await?;
        readiness.api_reachable.store(true, Ordering::Release);
        tokio::select! {
            () = elector.leading() => Some(elector),
            () = &mut signal => {
                let _ = stop_tx.send(true);
                elector.release().await;
                drain_scim(scim).await;
                tracing::info!("stopped as a follower");
                return Ok(());
            }
        }
    };

    metrics::global().leader.set(1);
    readiness.leading.store(true, Ordering::Release);
    let (ready_tx, mut ready_rx) = tokio::sync::watch::channel(false);
    let r = readiness.clone();
    tokio::spawn(async move {
        if ready_rx.wait_for(|s| *s).await.is_ok() {
            r.caches_synced.store(true, Ordering::Release);
        }
    });
    let settings = Settings::default();
    let grace = settings.shutdown_grace;
    let options = Options {
        ready: Some(ready_tx),
        namespaces: namespaces.clone(),
        secret_namespaces: self::namespaces(&args.secret_namespace),
        instance: std::env::var("POD_NAME").ok(),
        settings,
    };
    let controllers = tokio::spawn(crate::controller::run(client.clone(), options, stopped()));
    let stop_controllers = controllers.abort_handle();
    // The LDAP pull is not `spawn`ed (its future is not `Send` for every lifetime); it runs
    // here, next to the controllers.
    let ldap = crate::ldap::run(client, namespaces, stopped());
    // Both run at once; the work ends with the controllers (at shutdown the pull ends too).
    let work = async move {
        let mut controllers = controllers;
        tokio::pin!(ldap);
        tokio::select! {
            _ = &mut controllers => {}
            () = &mut ldap => {
                let _ = controllers.await;
            }
        }
    };
    tokio::pin!(work);

    let mut work_done = false;
    let lost = {
        let lost = async {
            match &elector {
                Some(e) => e.lost().await,
                None => std::future::pending().await,
            }
        };
        tokio::select! {
            () = &mut signal => None,
            l = lost => Some(l),
            () = &mut work => {
                work_done = true;
                None
            }
        }
    };
    crate::lastpass::gate::close();
    let _ = stop_tx.send(true);
    metrics::global().leader.set(0);
    if let Some(lost) = lost {
        // Another replica may lead already: stop at once, write nothing more.
        stop_controllers.abort();
        anyhow::bail!(
            "lost leadership ({lost}); stopped writing to LastPass; exiting so that Kubernetes \
             restarts this pod as a follower"
        );
    }
    if !work_done
        && tokio::time::timeout(grace + Duration::from_secs(5), &mut work)
            .await
            .is_err()
    {
        tracing::warn!("controllers did not stop in time; exiting anyway");
    }
    // Nothing of ours may touch LastPass or statuses once the Lease is free.
    stop_controllers.abort();
    if let Some(e) = elector {
        e.release().await;
    }
    drain_scim(scim).await;
    if work_done {
        // Not asked to stop: the controllers ended on their own (a watch that cannot recover).
        anyhow::bail!(
            "the controllers stopped unexpectedly; exiting so that Kubernetes restarts the pod"
        );
    }
    tracing::info!("stopped");
    Ok(())
}

/// Gives in-flight SCIM requests a short drain: a slow client does not hold the pod.
async fn drain_scim(scim: tokio::task::JoinHandle<std::io::Result<()>>) {
    if tokio::time::timeout(Duration::from_secs(5), scim)
        .await
        .is_err()
    {
        tracing::warn!("SCIM requests still open after 5 s; exiting anyway");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn namespace_is_repeatable_and_comma_separated() {
        use clap::Parser;
        let cli = crate::cli::Cli::try_parse_from([
            "lastpass-operator",
            "run",
            "--namespace",
            "a,b",
            "--namespace=c",
            "--secret-namespace",
            "creds,a",
            "--secret-namespace=b",
        ])
        .unwrap();
        let crate::cli::Command::Run(args) = cli.command else {
            panic!("not run")
        };
        assert_eq!(args.namespace, ["a", "b", "c"]);
        assert_eq!(args.secret_namespace, ["creds", "a", "b"]);
        assert!(
            !args.disable_leader_election,
            "leader election is on by default"
        );
        assert_eq!(args.lease_name, "lastpass-operator");
    }

    #[test]
    fn scim_trusted_proxies_are_addresses_or_cidrs() {
        use clap::Parser;
        let parse = |extra: &[&str]| {
            let mut argv = vec!["lastpass-operator", "run"];
            argv.extend_from_slice(extra);
            crate::cli::Cli::try_parse_from(argv)
        };
        let cli = parse(&["--scim-trusted-proxy", "10.0.0.0/8,192.168.1.1"]).unwrap();
        let crate::cli::Command::Run(args) = cli.command else {
            panic!("run");
        };
        assert_eq!(args.scim_trusted_proxy.len(), 2);
        assert_eq!(args.scim_auth_failures_per_client.get(), 10);
        assert!(parse(&["--scim-trusted-proxy", "ingress"]).is_err());
    }

    #[test]
    fn scim_tls_needs_both_the_certificate_and_the_key() {
        use clap::Parser;
        let parse = |extra: &[&str]| {
            let mut argv = vec!["lastpass-operator", "run"];
            argv.extend_from_slice(extra);
            crate::cli::Cli::try_parse_from(argv)
        };
        assert!(parse(&["--scim-tls-cert", "/c"]).is_err());
        assert!(parse(&["--scim-tls-key", "/k"]).is_err());
        let cli = parse(&["--scim-tls-cert", "/c", "--scim-tls-key", "/k"]).unwrap();
        let crate::cli::Command::Run(args) = cli.command else {
            panic!("not run")
        };
        assert_eq!(
            (args.scim_tls_cert, args.scim_tls_key),
            (Some("/c".into()), Some("/k".into()))
        );
    }

    #[test]
    fn namespaces_are_trimmed_and_deduplicated() {
        let given = ["a".to_string(), " b".into(), "".into(), "a".into()];
        assert_eq!(namespaces(&given), ["a", "b"]);
    }
}
