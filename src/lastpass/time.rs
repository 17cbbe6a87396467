//! LastPass's timestamps (`last_login`, `created`) are `YYYY-MM-DD HH:MM:SS` with no zone; the
//! zone is undocumented, and LastPass's reporting uses US/Eastern (`lastpass-api.md`). This
//! module turns them into instants in a configured zone (`spec.lastpass.timeZone`), looked up
//! in the IANA database built into the binary, so the result does not depend on the
//! container's `/usr/share/zoneinfo` (the image has none).

use std::sync::LazyLock;

use jiff::Timestamp;
use jiff::civil::DateTime;
use jiff::tz::{TimeZone, TimeZoneDatabase};

/// The zone LastPass's zone-less times are read in when an integration names none: US/Eastern,
/// the zone LastPass documents for its reporting API (and the simulator's default).
pub const DEFAULT_TIME_ZONE: &str = "America/New_York";

/// The IANA database bundled into the binary (never the host's).
static BUNDLED: LazyLock<TimeZoneDatabase> = LazyLock::new(TimeZoneDatabase::bundled);

/// A zone name that is not in the IANA database.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown time zone {name:?}: use an IANA name such as \"America/New_York\", \"Europe/Berlin\" or \"UTC\""
)]
pub struct UnknownTimeZone {
    /// The name as given.
    pub name: String,
}

/// The zone in which one account's zone-less timestamps are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LastPassZone(TimeZone);

impl LastPassZone {
    /// The zone named `name` (IANA), or [`DEFAULT_TIME_ZONE`] when `None`.
    pub fn named(name: Option<&str>) -> Result<Self, UnknownTimeZone> {
        let name = name.unwrap_or(DEFAULT_TIME_ZONE);
        BUNDLED.get(name).map(Self).map_err(|_| UnknownTimeZone {
            name: name.to_string(),
        })
    }

    /// The instant a zone-less LastPass time means in this zone (the earlier of two in a
    /// repeated hour; a time in a skipped hour moves forward, as LastPass's clock did).
    pub fn instant(&self, time: DateTime) -> Option<Timestamp> {
        self.0
            .to_ambiguous_zoned(time)
            .compatible()
            .ok()
            .map(|z| z.timestamp())
    }

    /// Renders `ts` as LastPass writes it: `YYYY-MM-DD HH:MM:SS` in this zone, no zone.
    pub fn render(&self, ts: Timestamp) -> String {
        self.0
            .to_datetime(ts)
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string()
    }

    /// UTC (the console's exports).
    pub fn utc() -> Self {
        Self(TimeZone::UTC)
    }
}

impl Default for LastPassZone {
    fn default() -> Self {
        Self::named(None).unwrap_or_else(|_| {
            // The bundled database always has the default; the fallback is its rule since 2007.
            Self(TimeZone::posix("EST5EDT,M3.2.0,M11.1.0").unwrap_or(TimeZone::UTC))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn civil(s: &str) -> DateTime {
        s.replace(' ', "T").parse().unwrap()
    }

    #[test]
    fn the_default_is_us_eastern_with_daylight_saving() {
        let zone = LastPassZone::default();
        // Winter: EST (UTC-5); summer: EDT (UTC-4).
        assert_eq!(
            zone.instant(civil("2024-01-15 09:00:00"))
                .unwrap()
                .to_string(),
            "2024-01-15T14:00:00Z"
        );
        assert_eq!(
            zone.instant(civil("2024-07-15 09:00:00"))
                .unwrap()
                .to_string(),
            "2024-07-15T13:00:00Z"
        );
    }

    #[test]
    fn named_zones_come_from_the_bundled_database() {
        let berlin = LastPassZone::named(Some("Europe/Berlin")).unwrap();
        assert_eq!(
            berlin
                .instant(civil("2024-03-01 08:10:11"))
                .unwrap()
                .to_string(),
            "2024-03-01T07:10:11Z"
        );
        let utc = LastPassZone::named(Some("UTC")).unwrap();
        for zone in [utc, LastPassZone::utc()] {
            assert_eq!(
                zone.instant(civil("2024-03-01 08:10:11"))
                    .unwrap()
                    .to_string(),
                "2024-03-01T08:10:11Z"
            );
        }
        let err = LastPassZone::named(Some("Mars/Olympus")).unwrap_err();
        assert!(err.to_string().contains("Mars/Olympus"), "{err}");
        assert!(err.to_string().contains("IANA"), "{err}");
    }

    #[test]
    fn render_and_instant_round_trip() {
        let zone = LastPassZone::default();
        let ts: Timestamp = "2024-11-03T05:30:00Z".parse().unwrap();
        let text = zone.render(ts);
        assert_eq!(text, "2024-11-03 01:30:00");
        // 01:30 happens twice that night; LastPass's text cannot tell which, the earlier wins.
        assert_eq!(zone.instant(civil(&text)), Some(ts));
    }
}
