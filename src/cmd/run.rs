//! `lastpass-operator run`: the controllers (and the LDAP pull) against the cluster of the
//! kubeconfig or the in-cluster config, until SIGTERM or Ctrl-C.

use crate::controller::{Options, Settings};
use crate::telemetry::{LogFormat, init};

/// Options of `run`.
#[derive(Debug, clap::Args)]
pub struct RunArgs {
    /// Watch only this namespace (all namespaces when absent).
    #[arg(long)]
    pub namespace: Option<String>,
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

/// Runs the operator.
pub async fn run(args: RunArgs) -> anyhow::Result<()> {
    init(args.log_format, &args.log_level);
    let client = kube::Client::try_default().await?;
    let options = Options {
        namespace: args.namespace.clone(),
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
    let ldap = crate::ldap::run(client, args.namespace.into_iter().collect(), stopped());
    let signal = async {
        shutdown_signal().await;
        let _ = tx.send(true);
    };
    tokio::join!(controllers, ldap, signal);
    Ok(())
}
