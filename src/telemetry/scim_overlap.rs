//! `lastpass_operator_scim_previous_token_overlap_remaining_ratio{integration}`: the share of the
//! previous SCIM token's overlap still left, computed at each scrape from its expiry (the token
//! manager only wakes at the ends of overlaps, so a stored gauge would stand still in between).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::gauge::ConstGauge;

use super::labels::IntegrationLabel;

/// Name of the metric (under the registry's `lastpass_operator` prefix).
pub const NAME: &str = "scim_previous_token_overlap_remaining_ratio";

/// Previous-token expiries by integration (`<namespace>/<name>`); `None`: no previous token.
#[derive(Debug, Default)]
pub struct OverlapCollector {
    expiries: Mutex<BTreeMap<String, Option<(jiff::Timestamp, Duration)>>>,
}

impl OverlapCollector {
    /// Records the previous token of `integration`: when it expires and its whole overlap.
    pub fn set(&self, integration: &str, previous: Option<(jiff::Timestamp, Duration)>) {
        if let Ok(mut m) = self.expiries.lock() {
            m.insert(integration.to_string(), previous);
        }
    }

    /// The ratio at `now`: 0 without a previous token or after its expiry, 1 at its start.
    pub fn ratio(previous: Option<(jiff::Timestamp, Duration)>, now: jiff::Timestamp) -> f64 {
        let Some((expires, overlap)) = previous else {
            return 0.0;
        };
        if overlap.is_zero() {
            return 0.0;
        }
        let left = expires.duration_since(now).as_secs_f64();
        (left / overlap.as_secs_f64()).clamp(0.0, 1.0)
    }
}

impl Collector for OverlapCollector {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let Ok(map) = self.expiries.lock() else {
            return Ok(());
        };
        if map.is_empty() {
            return Ok(());
        }
        let now = jiff::Timestamp::now();
        let mut metric = encoder.encode_descriptor(
            NAME,
            "Share (0..1) of the previous SCIM token's overlap still left; 0 without one",
            None,
            MetricType::Gauge,
        )?;
        for (integration, previous) in map.iter() {
            let label = IntegrationLabel {
                integration: integration.clone(),
            };
            ConstGauge::new(Self::ratio(*previous, now)).encode(metric.encode_family(&label)?)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ratio_falls_from_one_to_zero_over_the_overlap() {
        let t = |s| jiff::Timestamp::from_second(s).unwrap();
        let day = Duration::from_secs(86_400);
        let expires = t(86_400);
        assert_eq!(OverlapCollector::ratio(Some((expires, day)), t(0)), 1.0);
        assert_eq!(
            OverlapCollector::ratio(Some((expires, day)), t(77_760)),
            0.1
        );
        assert_eq!(
            OverlapCollector::ratio(Some((expires, day)), t(90_000)),
            0.0
        );
        assert_eq!(OverlapCollector::ratio(None, t(0)), 0.0);
    }
}
