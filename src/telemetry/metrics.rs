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

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

/// Content type of [`render`]'s output.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// Labels `command`, `outcome`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CommandOutcome {
    /// The LastPass command (`getuserdata`, `batchadd`, ...).
    pub command: String,
    /// How the HTTP exchange ended (`success`, `partial`, `permanent`, `retryable`, `auth`,
    /// `unknown_outcome`, `transport`).
    pub outcome: String,
}

/// Label `command`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct CommandLabel {
    /// The LastPass command.
    pub command: String,
}

/// Label `outcome`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct OutcomeLabel {
    /// `success` or the error's metric label.
    pub outcome: String,
}

/// Label `integration`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntegrationLabel {
    /// `<namespace>/<name>` of the DirectoryIntegration.
    pub integration: String,
}

/// Labels `integration`, `phase`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct IntegrationPhase {
    /// `<namespace>/<name>` of the DirectoryIntegration.
    pub integration: String,
    /// The LastPassUser phase (`Pending`, `Invited`, `Active`, ...).
    pub phase: String,
}

/// Labels `kind`, `error`.
#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct KindError {
    /// The resource kind whose reconcile or sync failed.
    pub kind: String,
    /// The error's fixed metric label.
    pub error: String,
}

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
    /// The SCIM server's metrics.
    pub scim: super::scim::ScimMetrics,
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
        for line in text.lines().filter(|l| l.starts_with("# TYPE ")) {
            let name = line.split(' ').nth(2).unwrap_or_default();
            assert!(name.starts_with("lastpass_operator_"), "{line}");
        }
    }
}
