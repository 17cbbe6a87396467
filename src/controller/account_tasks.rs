//! One long-lived task per DirectoryIntegration: it waits for a wake-up (debounced) or the
//! sync interval, then syncs the account. Controllers only wake it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use kube::runtime::reflector::ObjectRef;
use tokio::sync::Notify;
use tokio::time::{Instant, sleep, sleep_until};
use tracing::{Instrument, info, info_span, warn};

use crate::crd::{DirectoryIntegration, parse_duration};

use super::account_client::AccountClient;
use super::cluster_sync::sync_from_cluster;
use super::context::Context;
use super::error::Error;
use crate::telemetry::labels::OutcomeLabel;

/// Longest wait a burst of changes can add before a plan (the debounce cap of DESIGN.md).
pub const MAX_DEBOUNCE: Duration = Duration::from_secs(30);

struct Handle {
    wake: Arc<Notify>,
    task: tokio::task::JoinHandle<()>,
}

/// The registry of account tasks.
pub struct AccountTasks {
    tasks: Mutex<HashMap<ObjectRef<DirectoryIntegration>, Handle>>,
    /// Set at shutdown: a task finishes the sync it is in (statuses included), then ends.
    stopping: tokio::sync::watch::Sender<bool>,
}

impl Default for AccountTasks {
    fn default() -> Self {
        Self {
            tasks: Mutex::default(),
            stopping: tokio::sync::watch::channel(false).0,
        }
    }
}

impl AccountTasks {
    /// Starts the task of `key` if it does not run, and wakes it.
    pub fn wake(&self, ctx: &Arc<Context>, key: ObjectRef<DirectoryIntegration>) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        tasks.retain(|_, h| !h.task.is_finished());
        let handle = tasks.entry(key.clone()).or_insert_with(|| {
            let wake = Arc::new(Notify::new());
            let span = info_span!("account", integration = %key);
            let stopping = self.stopping.subscribe();
            let task = tokio::spawn(
                run(Arc::downgrade(ctx), key, wake.clone(), stopping).instrument(span),
            );
            Handle { wake, task }
        });
        handle.wake.notify_one();
    }

    /// Stops every task at shutdown: a task between syncs ends at once; a task in a sync
    /// finishes it (with the write gate closed, [`crate::lastpass::gate`], that means the write
    /// in flight, one re-read and the statuses) and then ends. Tasks still running after
    /// `grace` are aborted.
    pub async fn drain(&self, grace: Duration) {
        self.stopping.send_replace(true);
        let handles: Vec<Handle> = {
            let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
            tasks.drain().map(|(_, h)| h).collect()
        };
        let deadline = Instant::now() + grace;
        for h in handles {
            let abort = h.task.abort_handle();
            if tokio::time::timeout_at(deadline, h.task).await.is_err() {
                warn!(
                    ?grace,
                    "account sync still running at the end of the grace period; abandoned"
                );
                abort.abort();
            }
        }
    }
}

fn durations(i: &DirectoryIntegration) -> (Duration, Duration) {
    let interval = parse_duration("spec.sync.interval", &i.spec.sync.interval)
        .unwrap_or(Duration::from_secs(600))
        .max(Duration::from_secs(1));
    let debounce = parse_duration("spec.sync.debounce", &i.spec.sync.debounce)
        .unwrap_or(Duration::from_secs(5))
        .min(MAX_DEBOUNCE);
    (interval, debounce)
}

/// The account task: sync, then wait for the interval or a wake-up, debounced.
async fn run(
    ctx: Weak<Context>,
    key: ObjectRef<DirectoryIntegration>,
    wake: Arc<Notify>,
    mut stopping: tokio::sync::watch::Receiver<bool>,
) {
    let mut failures: u32 = 0;
    // The account's LastPass client (rate limit, connections), for the life of this task.
    let mut client = AccountClient::default();
    loop {
        if *stopping.borrow() {
            return;
        }
        // Debounce: wait until changes stop arriving for `debounce`, at most MAX_DEBOUNCE.
        let Some(integration) = ctx.upgrade().and_then(|c| c.integrations.get(&key)) else {
            info!("integration gone; account task ends (nobody is deprovisioned)");
            return;
        };
        let (interval, debounce) = durations(&integration);
        let deadline = Instant::now() + MAX_DEBOUNCE;
        loop {
            let quiet = tokio::select! {
                () = wake.notified() => false,
                () = sleep(debounce) => true,
                _ = stopping.wait_for(|s| *s) => return,
            };
            if quiet || Instant::now() >= deadline {
                break;
            }
        }
        let Some(context) = ctx.upgrade() else { return };
        if *stopping.borrow() || !crate::lastpass::gate::is_open() {
            return;
        }
        // Plan only on complete caches: a half-listed set of users could look like removals.
        let _ = context.users.wait_until_ready().await;
        let _ = context.groups.wait_until_ready().await;
        let _ = super::stores::wait_ready(&context.namespaces).await;
        let Some(integration) = context.integrations.get(&key) else {
            info!("integration gone; account task ends (nobody is deprovisioned)");
            return;
        };
        let started = Instant::now();
        let result = sync_from_cluster(&context, &integration, &mut client).await;
        let outcome = result.as_ref().err().map_or("success", Error::metric_label);
        let metrics = crate::telemetry::metrics::global();
        metrics
            .sync_duration
            .get_or_create(&OutcomeLabel {
                outcome: outcome.into(),
            })
            .observe(started.elapsed().as_secs_f64());
        if result.is_err() {
            metrics.reconcile_error("DirectoryIntegration", outcome);
        }
        metrics.account_sync(&super::revocation::integration_label(&integration), outcome);
        let wait = match result {
            Ok(()) => {
                failures = 0;
                interval
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                let backoff = context
                    .settings
                    .min_backoff
                    .saturating_mul(2u32.saturating_pow(failures.saturating_sub(1)))
                    .min(context.settings.max_backoff)
                    .min(interval);
                warn!(error = %e, retry_in = ?backoff, "account sync failed");
                backoff
            }
        };
        drop(context);
        let next = Instant::now() + wait;
        tokio::select! {
            () = wake.notified() => {}
            () = sleep_until(next) => {}
            _ = stopping.wait_for(|s| *s) => return,
        }
    }
}
