//! The per-request [`Endpoint`]: which integration a request is for, whether SCIM is on for it,
//! and whether its bearer token is right — checked from memory, before anything else.

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{ConnectInfo, FromRequestParts, Path};
use axum::http::header;
use axum::http::request::Parts;

use super::ScimState;
use super::error::Error;
use super::{auth, limit, token_secret};
use crate::crd::IntegrationRef;

/// One authorised request's integration.
pub struct Endpoint {
    /// Namespace of the integration (and of every resource it writes).
    pub namespace: String,
    /// Name of the integration.
    pub integration: String,
    /// Absolute URL of the endpoint, `…/scim/v2/{namespace}/{integration}`.
    pub url: String,
    /// The Kubernetes client.
    pub client: kube::Client,
    /// The in-memory stores, and this replica's own writes (see [`super::consistency`]).
    pub stores: Arc<super::watch::Stores>,
}

impl Endpoint {
    /// `…/Users`.
    pub fn users_url(&self) -> String {
        format!("{}/Users", self.url)
    }

    /// `…/Groups`.
    pub fn groups_url(&self) -> String {
        format!("{}/Groups", self.url)
    }

    /// The reference every resource written through this endpoint carries: its integration,
    /// in the resource's own namespace.
    pub fn integration_ref(&self) -> IntegrationRef {
        IntegrationRef {
            name: self.integration.clone(),
            namespace: None,
        }
    }
}

/// How long a request waits for the stores' first list after the server starts.
const READY_BOUND: std::time::Duration = std::time::Duration::from_secs(5);

impl FromRequestParts<Arc<ScimState>> for Endpoint {
    type Rejection = Error;

    async fn from_request_parts(parts: &mut Parts, ctx: &Arc<ScimState>) -> Result<Self, Error> {
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(parts, ctx)
            .await
            .map_err(|_| Error::NoRoute(parts.uri.path().to_string()))?;
        let namespace = params.get("namespace").cloned().unwrap_or_default();
        let integration = params.get("integration").cloned().unwrap_or_default();
        // Authentication comes first and reads only memory: nothing about the integration is
        // revealed, and no API-server call made, before the token is right.
        let peer = parts
            .extensions
            .get::<ConnectInfo<limit::PeerAddr>>()
            .map(|c| c.0.0.ip());
        let client = ctx.guard.client(peer, &parts.headers);
        let metrics = &crate::telemetry::metrics::global().scim;
        if let Some(wait) = ctx.guard.blocked(client) {
            metrics.auth_failed("rate_limited");
            return Err(Error::TooManyAttempts {
                retry_after_secs: limit::retry_after_secs(wait),
            });
        }
        let header = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok());
        // Without a bearer token there is nothing to look up: no wait for the stores.
        let checked = match auth::bearer(header) {
            Err(_) => Err(auth::Failure::MissingToken),
            Ok(_) if !ctx.stores.ready(READY_BOUND).await => return Err(Error::NotReady),
            Ok(_) => auth::authenticate(
                &ctx.stores,
                &namespace,
                &integration,
                header,
                jiff::Timestamp::now(),
            ),
        };
        if let Err(failure) = checked {
            metrics.auth_failed(failure.metric_label());
            let path = format!("{namespace}/{integration}");
            if let Some(wait) = ctx.guard.failed(client, &path) {
                metrics.auth_failed("rate_limited");
                return Err(Error::TooManyAttempts {
                    retry_after_secs: limit::retry_after_secs(wait),
                });
            }
            return Err(Error::Unauthorized(auth::UNAUTHORIZED));
        }
        let enabled = ctx
            .stores
            .integrations
            .get(&namespace, &integration)
            .is_some_and(|di| di.spec.scim.as_ref().is_some_and(|s| s.enabled));
        if !enabled {
            return Err(Error::NoEndpoint {
                namespace,
                integration,
            });
        }
        let base = match &ctx.public_url {
            Some(u) => u.clone(),
            None => {
                let host = parts
                    .headers
                    .get(header::HOST)
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("localhost");
                let scheme = parts
                    .headers
                    .get("x-forwarded-proto")
                    .and_then(|h| h.to_str().ok())
                    .unwrap_or("http");
                format!("{scheme}://{host}")
            }
        };
        Ok(Endpoint {
            url: format!(
                "{base}{}",
                token_secret::endpoint_path(&namespace, &integration)
            ),
            namespace,
            integration,
            client: ctx.client.clone(),
            stores: ctx.stores.clone(),
        })
    }
}
