//! One long-lived task per DirectoryIntegration: it waits for a wake-up (debounced) or the
//! sync interval, then syncs the account. Controllers only wake it.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
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
use super::debounce::{Debounce, Trigger};
use super::error::Error;
use super::status_writes::StatusWrites;
use crate::telemetry::labels::OutcomeLabel;

struct Handle {
    wake: Arc<Notify>,
    /// Changes since the last sync started (the debounce's measure of a burst).
    pending: Arc<AtomicUsize>,
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
            let pending = Arc::new(AtomicUsize::new(0));
            let span = info_span!("account", integration = %key);
            let stopping = self.stopping.subscribe();
            let signals = Signals {
                wake: wake.clone(),
                pending: pending.clone(),
                stopping,
            };
            let task = tokio::spawn(run(Arc::downgrade(ctx), key, signals).instrument(span));
            Handle {
                wake,
                pending,
                task,
            }
        });
        handle.pending.fetch_add(1, Ordering::Relaxed);
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

fn durations(i: &DirectoryIntegration, managed: usize) -> (Duration, Debounce) {
    let interval = parse_duration("spec.sync.interval", &i.spec.sync.interval)
        .unwrap_or(Duration::from_secs(600))
        .max(Duration::from_secs(1));
    let quiet = parse_duration("spec.sync.debounce", &i.spec.sync.debounce)
        .unwrap_or(Duration::from_secs(5));
    (interval, Debounce::of(i, quiet, managed))
}

/// What wakes an account task, and what stops it.
struct Signals {
    wake: Arc<Notify>,
    pending: Arc<AtomicUsize>,
    stopping: tokio::sync::watch::Receiver<bool>,
}

/// The account task: its state outlives each sync, and its status writes are finished before
/// it ends.
async fn run(ctx: Weak<Context>, key: ObjectRef<DirectoryIntegration>, mut signals: Signals) {
    // The account's LastPass client (rate limit, connections), for the life of this task.
    let mut client = AccountClient::default();
    let mut statuses = StatusWrites::default();
    sync_loop(&ctx, &key, &mut signals, &mut client, &mut statuses).await;
    statuses.finish().await;
}

/// Waits for a burst of changes to settle ([`Debounce`]); `None` when the task is to end.
async fn debounced(signals: &mut Signals, rule: Debounce, slicing: bool) -> Option<Trigger> {
    let started = Instant::now();
    let trigger = loop {
        let pending = signals.pending.load(Ordering::Relaxed);
        if let Some(t) = rule.decide(started.elapsed(), pending, slicing) {
            break t;
        }
        tokio::select! {
            () = signals.wake.notified() => {}
            () = sleep(rule.quiet) => break Trigger::Quiet,
            _ = signals.stopping.wait_for(|s| *s) => return None,
        }
    };
    // Changes from here on belong to the next sync.
    signals.pending.store(0, Ordering::Relaxed);
    Some(trigger)
}

/// Sync, then wait for the interval or a wake-up, debounced. A slice of a burst is followed
/// at once by the wait for the rest of it.
async fn sync_loop(
    ctx: &Weak<Context>,
    key: &ObjectRef<DirectoryIntegration>,
    signals: &mut Signals,
    client: &mut AccountClient,
    statuses: &mut StatusWrites,
) {
    let mut failures: u32 = 0;
    let mut slicing = false;
    // Users the account had at the last sync: a slice is worth a re-read of them only when it
    // changes about as many. Until this task has synced, the count its status last recorded
    // (a restarted operator would otherwise slice a large account's first burst).
    let mut managed = ctx
        .upgrade()
        .and_then(|c| c.integrations.get(key))
        .map_or(0, |i| super::debounce::managed_recorded(&i));
    loop {
        if *signals.stopping.borrow() {
            return;
        }
        let Some(integration) = ctx.upgrade().and_then(|c| c.integrations.get(key)) else {
            info!("integration gone; account task ends (nobody is deprovisioned)");
            return;
        };
        let (interval, rule) = durations(&integration, managed);
        let Some(trigger) = debounced(signals, rule, slicing).await else {
            return;
        };
        slicing = trigger == Trigger::Slice;
        let Some(context) = ctx.upgrade() else { return };
        if *signals.stopping.borrow() || !crate::lastpass::gate::is_open() {
            return;
        }
        // Plan only on complete caches: a half-listed set of users could look like removals.
        let _ = context.users.wait_until_ready().await;
        let _ = context.groups.wait_until_ready().await;
        let _ = super::stores::wait_ready(&context.namespaces).await;
        let Some(integration) = context.integrations.get(key) else {
            info!("integration gone; account task ends (nobody is deprovisioned)");
            return;
        };
        let started = Instant::now();
        let result = sync_from_cluster(&context, &integration, client, statuses, trigger).await;
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
            Ok(users) => {
                (failures, managed) = (0, users);
                if slicing {
                    continue;
                }
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
            () = signals.wake.notified() => {}
            () = sleep_until(next) => {}
            _ = signals.stopping.wait_for(|s| *s) => return,
        }
    }
}
