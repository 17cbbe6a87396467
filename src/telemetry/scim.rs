//! Metrics of the SCIM server: reads from memory (waits for this replica's own writes and
//! fall-backs to the API server), failed authentications and when each token was minted (its
//! age). Labels are bounded:
//! `kind` is a resource kind, `reason` a fixed string, `integration` is `<namespace>/<name>` of
//! a DirectoryIntegration that exists.

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::labels::{IntegrationLabel, KindLabel, ReasonLabel};

/// The SCIM server's metrics (registered in the process-wide registry).
#[derive(Default)]
pub struct ScimMetrics {
    /// Reads that waited for the store to show a write of this replica.
    pub store_waits: Family<KindLabel, Counter>,
    /// Reads whose wait ran out (the store lagged): answered from the API server instead.
    pub store_fallbacks: Family<KindLabel, Counter>,
    /// Failed authentications by reason.
    pub auth_failures: Family<ReasonLabel, Counter>,
    /// When the current token was minted (Unix seconds), per integration: its age is
    /// `time() - lastpass_operator_scim_token_minted_timestamp_seconds`.
    pub token_minted: Family<IntegrationLabel, Gauge>,
}

impl ScimMetrics {
    /// Registers every metric under `registry` (which carries the `lastpass_operator` prefix).
    pub fn register(&self, registry: &mut Registry) {
        registry.register(
            "scim_store_waits",
            "SCIM reads that waited for the in-memory store to show this replica's own write",
            self.store_waits.clone(),
        );
        registry.register(
            "scim_store_fallbacks",
            "SCIM reads answered from the API server because the store lagged past the bound",
            self.store_fallbacks.clone(),
        );
        registry.register(
            "scim_auth_failures",
            "Failed SCIM authentications by reason (rate_limited: refused with 429)",
            self.auth_failures.clone(),
        );
        registry.register(
            "scim_token_minted_timestamp_seconds",
            "When the current SCIM bearer token was minted (Unix seconds; its age is time() minus \
             this), by integration",
            self.token_minted.clone(),
        );
    }

    /// Counts one read that waited (and, when `fell_back`, one fall-back).
    pub fn waited(&self, kind: &str, fell_back: bool) {
        let label = KindLabel { kind: kind.into() };
        self.store_waits.get_or_create(&label).inc();
        if fell_back {
            self.store_fallbacks.get_or_create(&label).inc();
        }
    }

    /// Counts one failed authentication.
    pub fn auth_failed(&self, reason: &'static str) {
        self.auth_failures
            .get_or_create(&ReasonLabel {
                reason: reason.into(),
            })
            .inc();
    }
}
