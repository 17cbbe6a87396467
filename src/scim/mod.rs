//! SCIM 2.0 server (RFC 7643/7644) for identity providers: Okta, Entra ID, OneLogin, PingOne,
//! Google Workspace push users and groups here, and each becomes a `LastPassUser` /
//! `LastPassGroup` labelled `lastpass-operator.io/source: scim` in the integration's namespace.
//! The engine provisions them like any other resource; DELETE deletes the resource, so the
//! finalizer deprovisions under the deletion budget.
//!
//! Modules, one job each:
//! - [`router`]: routes under `/scim/v2/{namespace}/{integration}/`, the per-request
//!   [`endpoint::Endpoint`] (integration lookup + bearer check), responses;
//! - [`users`], [`groups`]: the resource endpoints; [`discovery`]: `ServiceProviderConfig`,
//!   `ResourceTypes`, `Schemas`;
//! - [`store`]: the Kubernetes side (lists, lookups by SCIM id, uniqueness, naming);
//! - [`members`]: group members by id, known or pending;
//! - [`filter`]: filter parsing (via `scim_v2`) and evaluation; [`patch`]: PATCH and its
//!   dialects; [`mapping`]: SCIM JSON ⇄ resources;
//! - [`cache`]: the in-memory stores and their indexes, fed by [`watch`]; [`consistency`]:
//!   this replica's own writes, for read-your-writes;
//! - [`auth`]: bearer tokens, constant-time, from memory; [`limit`]: failed-attempt limits and
//!   the client address; [`tokens`]: minting and rotation;
//!   [`bench`]: throughput and latency over loopback (`bench scim`);
//!   [`errors`]: [`Error`] as SCIM error bodies; [`limits`]: bounded work per request.

#[cfg(test)]
mod arbitrary;
pub mod auth;

pub mod cache;
pub mod consistency;
pub mod discovery;
pub mod endpoint;
pub mod error;
pub mod filter;
pub mod groups;
pub mod limit;
pub mod limits;
pub mod mapping;
pub mod members;
pub mod patch;
pub mod request;
pub mod response;
pub mod router;
pub mod store;
pub mod tls;
pub mod token_events;
pub mod token_secret;
pub mod tokens;
pub mod users;
pub mod watch;
pub mod writes;

use std::future::Future;
use std::sync::Arc;

pub use error::Error;
pub use router::router;
pub use tokens::reconcile_tokens;

/// What every SCIM request needs: a Kubernetes client, the stores, the failed-attempt limits
/// and how the server is reached.
#[derive(Clone)]
pub struct ScimState {
    /// Client that follows the stores and writes users and groups.
    pub client: kube::Client,
    /// External base URL of the SCIM server (e.g. `https://scim.example.com`), used in
    /// `meta.location`. Without it, `http(s)://<Host header>` is used.
    pub public_url: Option<String>,
    /// The in-memory stores (and this replica's own writes, for read-your-writes).
    pub stores: Arc<watch::Stores>,
    /// Failed-authentication limits and the trusted proxies.
    pub guard: Arc<limit::Guard>,
}

impl ScimState {
    /// A context following every namespace, with the default limits and no public URL
    /// (locations come from the `Host` header). Starts the stores: needs a tokio runtime.
    pub fn new(client: kube::Client) -> Self {
        Self::start(
            client,
            &watch::Scope::default(),
            &limit::AuthLimits::default(),
        )
    }

    /// A context following `scope` with `limits`. Starts the stores: needs a tokio runtime.
    pub fn start(client: kube::Client, scope: &watch::Scope, limits: &limit::AuthLimits) -> Self {
        Self {
            stores: Arc::new(watch::Stores::start(&client, scope)),
            guard: Arc::new(limit::Guard::new(limits)),
            client,
            public_url: None,
        }
    }

    /// Sets the external base URL used in `meta.location`.
    #[must_use]
    pub fn with_public_url(mut self, url: impl Into<String>) -> Self {
        self.public_url = Some(url.into().trim_end_matches('/').to_string());
        self
    }
}

/// Serves the SCIM router on `listener` (a `TcpListener` for plain HTTP, or a
/// [`tls::TlsListener`]) until `shutdown` completes (then drains).
pub async fn serve<L>(
    listener: L,
    ctx: Arc<ScimState>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()>
where
    L: axum::serve::Listener<Addr = std::net::SocketAddr>,
    limit::PeerAddr:
        for<'a> axum::extract::connect_info::Connected<axum::serve::IncomingStream<'a, L>>,
{
    let app = router(ctx).into_make_service_with_connect_info::<limit::PeerAddr>();
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}
