//! The operations endpoint of `run`: `/healthz` (liveness), `/readyz` (readiness) and
//! `/metrics` (Prometheus text format 0.0.4), on `--metrics-addr`.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;

/// What `/readyz` reports. Every replica serves SCIM, so a follower is ready once it reached
/// the API server; the leader once its controllers' caches are listed as well.
#[derive(Debug, Default)]
pub struct Readiness {
    /// The API server answered (the Lease was read or created, or the client was built).
    pub api_reachable: AtomicBool,
    /// This process runs the controllers (leader, or leader election disabled).
    pub leading: AtomicBool,
    /// The controllers' caches are listed.
    pub caches_synced: AtomicBool,
}

impl Readiness {
    /// Whether `/readyz` answers 200, and why not otherwise.
    pub fn check(&self) -> Result<(), &'static str> {
        if !self.api_reachable.load(Ordering::Acquire) {
            return Err("Kubernetes API not reached yet");
        }
        if self.leading.load(Ordering::Acquire) && !self.caches_synced.load(Ordering::Acquire) {
            return Err("leader: caches not synced yet");
        }
        Ok(())
    }
}

/// The router of the operations endpoint.
pub fn router(readiness: Arc<Readiness>) -> axum::Router {
    axum::Router::new()
        .route("/healthz", get(|| async { "ok" }))
        .route(
            "/readyz",
            get(move || {
                let r = readiness.check();
                async move {
                    match r {
                        Ok(()) => (StatusCode::OK, "ready"),
                        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, why),
                    }
                }
            }),
        )
        .route(
            "/metrics",
            get(|| async {
                (
                    [(
                        header::CONTENT_TYPE,
                        crate::telemetry::metrics::CONTENT_TYPE,
                    )],
                    crate::telemetry::metrics::render(),
                )
                    .into_response()
            }),
        )
}

/// Serves [`router`] on `listener` until the process ends.
pub async fn serve(
    listener: tokio::net::TcpListener,
    readiness: Arc<Readiness>,
) -> std::io::Result<()> {
    axum::serve(listener, router(readiness)).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use tower::ServiceExt;

    async fn get_status(r: &Arc<Readiness>, path: &str) -> StatusCode {
        let req = axum::http::Request::get(path)
            .body(axum::body::Body::empty())
            .unwrap();
        router(r.clone()).oneshot(req).await.unwrap().status()
    }

    #[tokio::test]
    async fn a_follower_is_ready_and_a_leader_waits_for_its_caches() {
        let r = Arc::new(Readiness::default());
        assert_eq!(get_status(&r, "/healthz").await, StatusCode::OK);
        assert_eq!(
            get_status(&r, "/readyz").await,
            StatusCode::SERVICE_UNAVAILABLE
        );
        r.api_reachable.store(true, Ordering::Release);
        assert_eq!(get_status(&r, "/readyz").await, StatusCode::OK, "follower");
        r.leading.store(true, Ordering::Release);
        assert_eq!(
            get_status(&r, "/readyz").await,
            StatusCode::SERVICE_UNAVAILABLE
        );
        r.caches_synced.store(true, Ordering::Release);
        assert_eq!(get_status(&r, "/readyz").await, StatusCode::OK, "leader");
        assert_eq!(get_status(&r, "/metrics").await, StatusCode::OK);
    }
}
