//! Leader election on a `coordination.k8s.io/v1` Lease, so that of several replicas exactly one
//! writes to LastPass.
//!
//! Built on [`kube_lease_manager`] 0.13 (targets kube 5; kube-leader-election does not build
//! with it). Its manager takes the Lease when it is free or expired and renews it `grace`
//! seconds before it expires (Server-Side Apply and strategic-merge patches: verbs `get`,
//! `create` and `patch`). A follower sleeps until the holder's lease would expire, then takes
//! it: at most one lease duration (15 s) after the last renewal, whether the holder released it
//! (clean shutdown) or died.
//!
//! The manager only notices a lost lease when it next renews. A watchdog therefore re-reads the
//! Lease every [`WATCHDOG_PERIOD`] and reports the leadership lost as soon as another identity
//! holds it, or as soon as this process's own renewal is overdue by the safety margin (its
//! renewals fail: the API is unreachable). The caller then closes the write gate and exits; a
//! follower can only take over once the lease has expired, after that moment.

use std::time::Duration;

use k8s_openapi::api::coordination::v1::Lease;
use kube::Api;
use kube_lease_manager::{LeaseCreateMode, LeaseManager, LeaseManagerBuilder};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

/// Lease duration of DESIGN.md: how long a lease stays valid after its last renewal.
pub const LEASE_DURATION: Duration = Duration::from_secs(15);
/// The holder renews this long before its lease expires (8 s after the last renewal), which
/// leaves the renewal 3 s before the watchdog gives up.
pub const RENEW_BEFORE_EXPIRY: Duration = Duration::from_secs(7);
/// How often the watchdog re-reads the Lease.
pub const WATCHDOG_PERIOD: Duration = Duration::from_secs(2);
/// The holder gives up once less than this is left of its lease without a renewal (11 s after
/// it): even seen one watchdog period late, before any follower may take over (15 s).
pub const SAFETY_MARGIN: Duration = Duration::from_secs(4);

/// Where the Lease lives and who this process is.
#[derive(Clone, Debug)]
pub struct LeaderConfig {
    /// Name of the Lease (one per release of the chart).
    pub lease_name: String,
    /// Namespace of the Lease (the operator's own).
    pub namespace: String,
    /// This process's identity: the pod name, or `<hostname>-<pid>` outside a pod.
    pub identity: String,
}

/// A failure of leader election.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The Lease could not be created, read or updated.
    #[error(
        "leader election on Lease {namespace}/{name} failed: {source}; check that the namespace \
         exists and that the service account may get, create and patch \
         coordination.k8s.io leases there (or run one replica with --disable-leader-election)"
    )]
    Lease {
        /// Namespace of the Lease.
        namespace: String,
        /// Name of the Lease.
        name: String,
        /// The cause.
        #[source]
        source: kube_lease_manager::LeaseManagerError,
    },
}

/// Why leadership ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lost {
    /// Another identity holds the Lease.
    TakenBy(String),
    /// The Lease has no holder any more (deleted or released by someone else).
    Released,
    /// This process's renewal is overdue (the API is unreachable or refuses the renewal).
    RenewalOverdue,
}

impl std::fmt::Display for Lost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::TakenBy(h) => write!(f, "the Lease is now held by {h}"),
            Self::Released => f.write_str("the Lease has no holder any more"),
            Self::RenewalOverdue => f.write_str("the Lease could not be renewed in time"),
        }
    }
}

/// The identity of this process: `POD_NAME`, else `<hostname>-<pid>`.
pub fn default_identity() -> String {
    if let Ok(pod) = std::env::var("POD_NAME")
        && !pod.is_empty()
    {
        return pod;
    }
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_string())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "lastpass-operator".into());
    format!("{host}-{}", std::process::id())
}

/// A running election: the manager's renewal loop and its view of who leads.
pub struct Elector {
    config: LeaderConfig,
    manager: std::sync::Arc<LeaseManager>,
    leading: watch::Receiver<bool>,
    task: JoinHandle<()>,
    api: Api<Lease>,
}

impl Elector {
    /// Creates the Lease if needed and starts competing for it.
    pub async fn start(client: kube::Client, config: LeaderConfig) -> Result<Self, Error> {
        let manager = LeaseManagerBuilder::new(client.clone(), &config.lease_name)
            .with_namespace(&config.namespace)
            .with_identity(&config.identity)
            .with_duration(LEASE_DURATION.as_secs())
            .with_grace(RENEW_BEFORE_EXPIRY.as_secs())
            .with_field_manager(format!("lastpass-operator-{}", config.identity))
            .with_create_mode(LeaseCreateMode::AutoCreate)
            .build()
            .await
            .map_err(|source| Error::Lease {
                namespace: config.namespace.clone(),
                name: config.lease_name.clone(),
                source,
            })?;
        let manager = std::sync::Arc::new(manager);
        let (tx, leading) = watch::channel(false);
        let m = manager.clone();
        let task = tokio::spawn(async move {
            loop {
                match m.changed().await {
                    Ok(now_leading) => {
                        let _ = tx.send(now_leading);
                    }
                    Err(e) => {
                        warn!(error = %e, "leader election: Lease update failed; retrying");
                        tokio::time::sleep(Duration::from_secs(1)).await;
                    }
                }
            }
        });
        info!(lease = %config.lease_name, namespace = %config.namespace, identity = %config.identity, "competing for leadership");
        Ok(Self {
            api: Api::namespaced(client, &config.namespace),
            config,
            manager,
            leading,
            task,
        })
    }

    /// Completes once this process holds the Lease.
    pub async fn leading(&mut self) {
        let _ = self.leading.wait_for(|l| *l).await;
        info!(identity = %self.config.identity, "became the leader");
    }

    /// Completes when leadership is lost, as seen by the manager or by the watchdog (see the
    /// module documentation). Call only while leading.
    pub async fn lost(&self) -> Lost {
        let mut leading = self.leading.clone();
        let mut tick = tokio::time::interval(WATCHDOG_PERIOD);
        // Leadership is only trusted until the Lease's own renewTime + duration − margin, as of
        // the last good read: a read that hangs or fails cannot stretch it (a follower may take
        // the Lease at renewTime + duration, whatever this process manages to read).
        let mut valid_until = tokio::time::Instant::now() + (LEASE_DURATION - SAFETY_MARGIN);
        loop {
            tokio::select! {
                _ = leading.wait_for(|l| !*l) => return Lost::Released,
                () = tokio::time::sleep_until(valid_until) => return Lost::RenewalOverdue,
                _ = tick.tick() => {}
            }
            let read =
                tokio::time::timeout(WATCHDOG_PERIOD, self.api.get_opt(&self.config.lease_name));
            match read.await {
                Ok(Ok(Some(lease))) => {
                    let now = jiff::Timestamp::now();
                    match check(&lease, &self.config.identity, now) {
                        Ok(until) => {
                            let left = now.duration_until(until).unsigned_abs();
                            valid_until = tokio::time::Instant::now() + left;
                        }
                        Err(lost) => return lost,
                    }
                }
                Ok(Ok(None)) => return Lost::Released,
                Ok(Err(e)) => warn!(error = %e, "leader watchdog cannot read the Lease"),
                Err(_) => warn!("leader watchdog: reading the Lease timed out"),
            }
        }
    }

    /// Stops competing and frees the Lease if this process holds it: the follower then finds it
    /// free at its next check (at the latest when the old lease would have expired) instead of
    /// having to force an expired lock.
    pub async fn release(self) {
        self.task.abort();
        let _ = self.task.await;
        match self.manager.release().await {
            Ok(()) => info!(lease = %self.config.lease_name, "Lease released"),
            Err(e) => {
                warn!(error = %e, "could not release the Lease; a follower takes over when it expires")
            }
        }
    }
}

/// Whether `lease` is still held by `identity` with enough time left (see [`SAFETY_MARGIN`]);
/// if so, until when this process may act as the leader without a newer read.
pub fn check(lease: &Lease, identity: &str, now: jiff::Timestamp) -> Result<jiff::Timestamp, Lost> {
    let spec = lease.spec.clone().unwrap_or_default();
    match spec.holder_identity.as_deref() {
        None | Some("") => return Err(Lost::Released),
        Some(h) if h != identity => return Err(Lost::TakenBy(h.to_string())),
        Some(_) => {}
    }
    let duration = spec.lease_duration_seconds.map_or(LEASE_DURATION, |s| {
        Duration::from_secs(u64::try_from(s).unwrap_or(0))
    });
    let Some(renewed) = spec.renew_time.map(|t| t.0) else {
        return Err(Lost::RenewalOverdue);
    };
    let left = duration.saturating_sub(SAFETY_MARGIN);
    let until = renewed
        .checked_add(jiff::SignedDuration::try_from(left).unwrap_or_default())
        .unwrap_or(renewed);
    if now >= until {
        return Err(Lost::RenewalOverdue);
    }
    Ok(until)
}

#[cfg(test)]
mod tests {
    use super::*;
    use k8s_openapi::api::coordination::v1::LeaseSpec;
    use k8s_openapi::apimachinery::pkg::apis::meta::v1::MicroTime;

    fn lease(holder: Option<&str>, renewed: jiff::Timestamp) -> Lease {
        Lease {
            spec: Some(LeaseSpec {
                holder_identity: holder.map(str::to_string),
                lease_duration_seconds: Some(15),
                renew_time: Some(MicroTime(renewed)),
                ..LeaseSpec::default()
            }),
            ..Lease::default()
        }
    }

    #[test]
    fn leadership_holds_only_for_our_fresh_lease() {
        let t0: jiff::Timestamp = "2026-01-01T00:00:00Z".parse().unwrap();
        let at = |s: i64| t0.checked_add(jiff::SignedDuration::from_secs(s)).unwrap();
        let cases = [
            ("fresh and ours", lease(Some("me"), t0), at(5), Ok(())),
            (
                "someone else's",
                lease(Some("you"), t0),
                at(1),
                Err(Lost::TakenBy("you".into())),
            ),
            ("released", lease(None, t0), at(1), Err(Lost::Released)),
            // 15 s lease - 4 s margin: give up at 11 s, before a follower may take it at 15 s.
            (
                "renewal overdue",
                lease(Some("me"), t0),
                at(11),
                Err(Lost::RenewalOverdue),
            ),
            ("just in time", lease(Some("me"), t0), at(10), Ok(())),
        ];
        assert_eq!(check(&lease(Some("me"), t0), "me", at(5)), Ok(at(11)));
        for (why, l, now, want) in cases {
            assert_eq!(check(&l, "me", now).map(|_| ()), want, "{why}");
        }
    }
}
