//! `lastpass-operator run`: the controllers (and the LDAP pull) against the cluster of the
//! kubeconfig or the in-cluster config, until SIGTERM or Ctrl-C.

use crate::controller::{Options, Settings};
use crate::telemetry::{LogFormat, init};

/// Options of `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Watch only this namespace (all namespaces when absent). Watching several namespaces is
    /// not supported yet: give one, or none for all.
    #[arg(long)]
    pub namespace: Vec<String>,
    /// Address of `/healthz` and `/readyz` (Prometheus `/metrics` lands with the operations issue).
    #[arg(long, default_value = "0.0.0.0:8080")]
    pub metrics_addr: std::net::SocketAddr,
    /// Address of the SCIM 2.0 server (`/scim/v2/<namespace>/<integration>/`), plain HTTP:
    /// put TLS in front (an ingress).
    #[arg(long, default_value = "0.0.0.0:8443")]
    pub scim_addr: std::net::SocketAddr,
    /// Run without leader election (one replica only). Leader election is not implemented yet,
    /// so this flag is required for now.
    #[arg(long)]
    pub disable_leader_election: bool,
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

/// Serves `/healthz` (the process runs) and `/readyz` (the caches are filled).
async fn serve_probes(
    addr: std::net::SocketAddr,
    ready: tokio::sync::watch::Receiver<bool>,
) -> anyhow::Result<()> {
    use axum::http::StatusCode;
    use axum::routing::get;
    let router = axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || {
                let ready = *ready.borrow();
                async move {
                    if ready {
                        (StatusCode::OK, "ready")
                    } else {
                        (StatusCode::SERVICE_UNAVAILABLE, "caches not synced")
                    }
                }
            }),
        );
    let listener = tokio::net::TcpListener::bind(addr).await?;
    tracing::info!(%addr, "probes listening");
    axum::serve(listener, router).await?;
    Ok(())
}

/// Runs the operator.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    init(args.log_format, &args.log_level);
    if !args.disable_leader_election {
        anyhow::bail!(
            "leader election is not implemented yet: run a single replica with --disable-leader-election \
             (two replicas without it would both write to LastPass)"
        );
    }
    if args.namespace.len() > 1 {
        anyhow::bail!(
            "watching several namespaces ({}) is not supported yet: give one --namespace, or none for all",
            args.namespace.join(", ")
        );
    }
    let namespace = args.namespace.first().cloned();
    let client = kube::Client::try_default().await?;
    let (ready_tx, ready_rx) = tokio::sync::watch::channel(false);
    let probes = serve_probes(args.metrics_addr, ready_rx);
    let options = Options {
        ready: Some(ready_tx),
        namespace: namespace.clone(),
        instance: std::env::var("POD_NAME").ok(),
        settings: Settings::default(),
    };
    let (tx, rx) = tokio::sync::watch::channel(false);
    let stopped = move || {
        let mut rx = rx.clone();
        async move {
            let _ = rx.wait_for(|s| *s).await;
        }
    };
    let controllers = crate::controller::run(client.clone(), options, stopped());
    let scim_listener = tokio::net::TcpListener::bind(args.scim_addr).await?;
    tracing::info!(addr = %args.scim_addr, "SCIM server listening at /scim/v2/<namespace>/<integration>/");
    let scim = crate::scim::serve(
        scim_listener,
        std::sync::Arc::new(crate::scim::Context::new(client.clone())),
        stopped(),
    );
    let ldap = crate::ldap::run(client, namespace.into_iter().collect(), stopped());
    let signal = async {
        shutdown_signal().await;
        let _ = tx.send(true);
    };
    tokio::select! {
        (_, _, scim, _) = async { tokio::join!(controllers, ldap, scim, signal) } => Ok(scim?),
        r = probes => r,
    }
}
