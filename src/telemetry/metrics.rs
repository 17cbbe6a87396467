//! Prometheus metrics: one process-wide registry, recorded at the edges (the LastPass client's
//! request path, the account sync's report, the controllers' error policy), never in the pure
//! planner.
//!
//! Every name starts with `lastpass_operator_`; labels are bounded: commands, outcomes and
//! error labels are fixed strings, `integration` is `<namespace>/<name>` of a
//! DirectoryIntegration. `/metrics` serves the classic Prometheus text format 0.0.4 (see
//! [`render`]): Debian's promtool 2.42 rejects the OpenMetrics form prometheus-client writes.

use std::sync::LazyLock;
use std::time::Duration;

use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

use super::labels::{
    CommandLabel, CommandOutcome, IntegrationLabel, IntegrationOutcome, IntegrationPhase,
    KindError, MethodCode, OutcomeLabel, RevocationLabels,
};

/// Content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

/// Every metric of the operator.
pub struct Metrics {
    registry: Registry,
    /// LastPass HTTP exchanges by command and outcome (each attempt counts).
    pub requests: Family<CommandOutcome, Counter>,
    /// Latency of LastPass HTTP exchanges by command.
    pub request_duration: HistogramFamily<CommandLabel>,
    /// HTTP 429 replies by command.
    pub throttled: Family<CommandLabel, Counter>,
    /// Duration of whole account syncs by outcome.
    pub sync_duration: HistogramFamily<OutcomeLabel>,
    /// LastPassUsers by integration and phase after the last sync.
    pub users: Family<IntegrationPhase, Gauge>,
    /// Deprovisions still to do after the last sync.
    pub deprovisions_pending: Family<IntegrationLabel, Gauge>,
    /// Deprovisions held back by the deletion budget after the last sync.
    pub deprovisions_blocked: Family<IntegrationLabel, Gauge>,
    /// Changes applied to users that already existed in LastPass (drift put right).
    pub drift_corrections: Family<IntegrationLabel, Counter>,
    /// Failed reconciles and account syncs by kind and error label.
    pub reconcile_errors: Family<KindError, Counter>,
    /// Syncs stopped before planning because a LastPass read could not be trusted.
    pub untrusted_reads: Family<IntegrationLabel, Counter>,
    /// 1 while this process holds the leader Lease (or runs without leader election).
    pub leader: Gauge,
    /// Seconds from a revocation's intent to LastPass confirming it.
    pub revocation: HistogramFamily<RevocationLabels>,
    /// Account syncs by integration and outcome.
    pub account_syncs: Family<IntegrationOutcome, Counter>,
    /// Unix time of the end of the last successful account sync, by integration.
    pub last_successful_sync: Family<IntegrationLabel, Gauge>,
    /// 1 after a sync that LastPass refused the credentials of (or found no Secret for), 0
    /// after a successful one.
    pub credentials_valid: Family<IntegrationLabel, Gauge>,
    /// 1 while the integration's last account sync failed.
    pub account_sync_failing: Family<IntegrationLabel, Gauge>,
    /// 1 while the integration's last LDAP pull failed.
    pub ldap_pull_failing: Family<IntegrationLabel, Gauge>,
    /// 1 while the safeguard holds a plan of the integration.
    pub plan_held: Family<IntegrationLabel, Gauge>,
    /// LDAP pulls by integration and outcome.
    pub ldap_pulls: Family<IntegrationOutcome, Counter>,
    /// SCIM requests by method and status code.
    pub scim_requests: Family<MethodCode, Counter>,
    /// The previous SCIM token's overlap left, computed at each scrape.
    pub scim_overlap: std::sync::Arc<super::scim_overlap::OverlapCollector>,
    /// The SCIM server's metrics.
    pub scim: super::scim::ScimMetrics,
}

/// Buckets of the revocation histogram (seconds): 1 s .. 1 day, with 5 min (the default alert
/// threshold) as a bound.
const REVOCATION_BUCKETS: [f64; 15] = [
    1.0,
    2.0,
    5.0,
    10.0,
    20.0,
    30.0,
    60.0,
    120.0,
    300.0,
    600.0,
    1800.0,
    3600.0,
    4.0 * 3600.0,
    12.0 * 3600.0,
    86400.0,
];

fn revocation_histogram() -> Histogram {
    Histogram::new(REVOCATION_BUCKETS)
}

fn request_histogram() -> Histogram {
    // 10 ms .. ~41 s
    Histogram::new(exponential_buckets(0.01, 2.0, 13))
}

fn sync_histogram() -> Histogram {
    // 50 ms .. ~14 min
    Histogram::new(exponential_buckets(0.05, 2.0, 15))
}

impl Metrics {
    fn new() -> Self {
        let mut registry = Registry::with_prefix("lastpass_operator");
        let m = Self {
            requests: Family::default(),
            request_duration: Family::new_with_constructor(request_histogram),
            throttled: Family::default(),
            sync_duration: Family::new_with_constructor(sync_histogram),
            users: Family::default(),
            deprovisions_pending: Family::default(),
            deprovisions_blocked: Family::default(),
            drift_corrections: Family::default(),
            reconcile_errors: Family::default(),
            untrusted_reads: Family::default(),
            leader: Gauge::default(),
            revocation: Family::new_with_constructor(revocation_histogram),
            account_syncs: Family::default(),
            last_successful_sync: Family::default(),
            plan_held: Family::default(),
            credentials_valid: Family::default(),
            account_sync_failing: Family::default(),
            ldap_pull_failing: Family::default(),
            ldap_pulls: Family::default(),
            scim_requests: Family::default(),
            scim_overlap: Default::default(),
            scim: Default::default(),
            registry: Registry::default(),
        };
        registry.register(
            "lastpass_requests",
            "LastPass API HTTP exchanges by command and outcome (each attempt counts)",
            m.requests.clone(),
        );
        registry.register(
            "lastpass_request_duration_seconds",
            "Latency of LastPass API HTTP exchanges by command",
            m.request_duration.clone(),
        );
        registry.register(
            "lastpass_throttled_replies",
            "LastPass API replies with HTTP 429 (throttled) by command",
            m.throttled.clone(),
        );
        registry.register(
            "sync_duration_seconds",
            "Duration of one account sync (observe, plan, execute, statuses) by outcome",
            m.sync_duration.clone(),
        );
        registry.register(
            "users",
            "LastPassUsers by integration and phase after the last sync",
            m.users.clone(),
        );
        registry.register(
            "deprovisions_pending",
            "Deprovisions still to do after the last sync, by integration",
            m.deprovisions_pending.clone(),
        );
        registry.register(
            "deprovisions_blocked",
            "Deprovisions held back by the deletion budget after the last sync, by integration",
            m.deprovisions_blocked.clone(),
        );
        registry.register(
            "drift_corrections",
            "Changes applied to users already in LastPass (drift put right), by integration",
            m.drift_corrections.clone(),
        );
        registry.register(
            "reconcile_errors",
            "Failed reconciles and account syncs by resource kind and error label",
            m.reconcile_errors.clone(),
        );
        registry.register(
            "untrusted_reads",
            "Syncs stopped before planning because a LastPass read could not be trusted \
             (ReadNotTrusted), by integration",
            m.untrusted_reads.clone(),
        );
        registry.register(
            "leader",
            "1 while this process holds the leader Lease (or runs without leader election)",
            m.leader.clone(),
        );
        registry.register(
            "revocation_seconds",
            "Seconds from a revocation's intent (deletion timestamp, or first sight of \
             suspended: true) to LastPass confirming it in a trusted read",
            m.revocation.clone(),
        );
        registry.register(
            "account_syncs",
            "Account syncs by integration and outcome",
            m.account_syncs.clone(),
        );
        registry.register(
            "last_successful_sync_timestamp_seconds",
            "Unix time of the end of the last successful account sync, by integration",
            m.last_successful_sync.clone(),
        );
        registry.register(
            "credentials_valid",
            "0 after a sync that found the integration's LastPass credentials refused or \
             missing, 1 after a successful sync",
            m.credentials_valid.clone(),
        );
        registry.register(
            "account_sync_failing",
            "1 while the integration's last account sync failed",
            m.account_sync_failing.clone(),
        );
        registry.register(
            "ldap_pull_failing",
            "1 while the integration's last LDAP pull failed",
            m.ldap_pull_failing.clone(),
        );
        registry.register(
            "plan_held",
            "1 while the safeguard holds a plan of the integration (DeprovisionBlocked)",
            m.plan_held.clone(),
        );
        registry.register(
            "ldap_pulls",
            "LDAP / Active Directory pulls by integration and outcome",
            m.ldap_pulls.clone(),
        );
        registry.register(
            "scim_requests",
            "SCIM requests by method and HTTP status code",
            m.scim_requests.clone(),
        );
        registry.register_collector(Box::new(m.scim_overlap.clone()));
        m.scim.register(&mut registry);
        Self { registry, ..m }
    }

    /// Records one LastPass HTTP exchange.
    pub fn request(&self, command: &str, outcome: &str, took: Duration) {
        self.requests
            .get_or_create(&CommandOutcome {
                command: command.into(),
                outcome: outcome.into(),
            })
            .inc();
        let label = CommandLabel {
            command: command.into(),
        };
        self.request_duration
            .get_or_create(&label)
            .observe(took.as_secs_f64());
        if outcome == "throttled" {
            self.throttled.get_or_create(&label).inc();
        }
    }

    /// Records one confirmed revocation.
    pub fn revoked(&self, integration: &str, source: &str, action: &str, seconds: f64) {
        self.revocation
            .get_or_create(&RevocationLabels {
                integration: integration.into(),
                source: source.into(),
                action: action.into(),
            })
            .observe(seconds);
    }

    /// Records one account sync of `integration`; a success also sets its timestamp.
    pub fn account_sync(&self, integration: &str, outcome: &str) {
        self.account_syncs
            .get_or_create(&IntegrationOutcome {
                integration: integration.into(),
                outcome: outcome.into(),
            })
            .inc();
        let label = IntegrationLabel {
            integration: integration.into(),
        };
        let ok = outcome == "success";
        self.account_sync_failing
            .get_or_create(&label)
            .set(i64::from(!ok));
        if ok {
            let now = jiff::Timestamp::now().as_second();
            self.last_successful_sync.get_or_create(&label).set(now);
            self.credentials_valid.get_or_create(&label).set(1);
        } else if outcome == "credentials" {
            self.credentials_valid.get_or_create(&label).set(0);
        }
    }

    /// Records one LDAP pull of `integration`.
    pub fn ldap_pull(&self, integration: &str, outcome: &str) {
        self.ldap_pulls
            .get_or_create(&IntegrationOutcome {
                integration: integration.into(),
                outcome: outcome.into(),
            })
            .inc();
        self.ldap_pull_failing
            .get_or_create(&IntegrationLabel {
                integration: integration.into(),
            })
            .set(i64::from(outcome != "success"));
    }

    /// Counts one SCIM request (any path: no label comes from the request's path).
    pub fn scim_request(&self, method: &str, code: u16) {
        let method = match method {
            "GET" | "POST" | "PUT" | "PATCH" | "DELETE" => method,
            _ => "other",
        };
        self.scim_requests
            .get_or_create(&MethodCode {
                method: method.into(),
                code: code.to_string(),
            })
            .inc();
    }

    /// Counts one failed reconcile or sync.
    pub fn reconcile_error(&self, kind: &str, error: &str) {
        self.reconcile_errors
            .get_or_create(&KindError {
                kind: kind.into(),
                error: error.into(),
            })
            .inc();
    }
}

/// The process-wide metrics.
pub fn global() -> &'static Metrics {
    static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);
    &METRICS
}

/// The registry in the Prometheus text format 0.0.4.
///
/// prometheus-client writes OpenMetrics: a counter family is declared without its `_total`
/// suffix, and the text ends with `# EOF`. The 0.0.4 format wants the declared name to be the
/// sample name, so counters' `# HELP`/`# TYPE` lines get the suffix and `# EOF` is dropped.
pub fn render() -> String {
    let mut open_metrics = String::new();
    // Writing to a String cannot fail.
    let _ = prometheus_client::encoding::text::encode(&mut open_metrics, &global().registry);
    to_prometheus_text(&open_metrics)
}

fn to_prometheus_text(open_metrics: &str) -> String {
    let counters: Vec<&str> = open_metrics
        .lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.strip_suffix(" counter"))
        .collect();
    let mut out = String::with_capacity(open_metrics.len());
    for line in open_metrics.lines() {
        if line == "# EOF" || line.starts_with("# UNIT ") {
            continue;
        }
        let rewritten = ["# HELP ", "# TYPE "].iter().find_map(|prefix| {
            let rest = line.strip_prefix(prefix)?;
            let (name, tail) = rest.split_once(' ')?;
            counters
                .contains(&name)
                .then(|| format!("{prefix}{name}_total {tail}"))
        });
        out.push_str(rewritten.as_deref().unwrap_or(line));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counters_are_declared_with_their_sample_name_and_no_eof() {
        let m = global();
        m.request("batchadd", "success", Duration::from_millis(20));
        m.reconcile_error("LastPassUser", "kube");
        let text = render();
        assert!(
            text.contains("# TYPE lastpass_operator_lastpass_requests_total counter\n"),
            "{text}"
        );
        assert!(text.contains(
            "lastpass_operator_lastpass_requests_total{command=\"batchadd\",outcome=\"success\"} "
        ));
        assert!(
            text.contains("# TYPE lastpass_operator_lastpass_request_duration_seconds histogram")
        );
        assert!(text.contains("# TYPE lastpass_operator_leader gauge"));
        assert!(!text.contains("# EOF"), "{text}");
        m.revoked("ns/acme", "scim", "Suspend", 42.0);
        m.scim_overlap.set("ns/acme", None);
        m.account_sync("ns/acme", "credentials");
        let text = render();
        for line in [
            "lastpass_operator_revocation_seconds_bucket{le=\"30.0\",integration=\"ns/acme\",source=\"scim\",action=\"Suspend\"} 0",
            "lastpass_operator_revocation_seconds_bucket{le=\"60.0\",integration=\"ns/acme\",source=\"scim\",action=\"Suspend\"} 1",
            "lastpass_operator_revocation_seconds_count{integration=\"ns/acme\",source=\"scim\",action=\"Suspend\"} 1",
            "lastpass_operator_credentials_valid{integration=\"ns/acme\"} 0",
            "lastpass_operator_account_sync_failing{integration=\"ns/acme\"} 1",
            "lastpass_operator_account_syncs_total{integration=\"ns/acme\",outcome=\"credentials\"} 1",
            "# TYPE lastpass_operator_scim_previous_token_overlap_remaining_ratio gauge",
            "lastpass_operator_scim_previous_token_overlap_remaining_ratio{integration=\"ns/acme\"} 0",
        ] {
            assert!(text.contains(line), "{line} in {text}");
        }
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            let name = line.split(' ').nth(2).unwrap_or_default();
            assert!(name.starts_with("lastpass_operator_"), "{line}");
        }
    }
}
