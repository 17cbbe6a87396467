//! A tower layer for the controllers' Kubernetes client that counts every write it sends (by
//! what it writes: status, finalizer and other metadata patches, Events, the rest), and the
//! time during which at least one status write was in flight, so `bench --cluster` can give
//! the operator's writes per user and the share of the run that went to writing statuses.

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::http::{Method, Request};

use super::report::{ApiWrites, StatusWrites};

/// Counters of status writes; clones share them.
#[derive(Clone, Debug, Default)]
pub struct StatusMeter {
    inner: Arc<Mutex<Counters>>,
}

#[derive(Debug, Default)]
struct Counters {
    writes: usize,
    by_kind: StatusWrites,
    api: ApiWrites,
    in_flight: usize,
    busy_since: Option<Instant>,
    busy: Duration,
    last_end: Option<Instant>,
}

/// A reading of the meter.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Reading {
    /// Status writes started so far.
    pub writes: usize,
    /// The same, by kind of resource.
    pub by_kind: StatusWrites,
    /// Time with at least one status write in flight (the union of their intervals).
    pub busy: Duration,
    /// When the last status write ended.
    pub last_end: Option<Instant>,
    /// Status writes in flight now.
    pub in_flight: usize,
    /// Every write so far, status writes included.
    pub api: ApiWrites,
}

/// What one request of the controllers' client writes, if anything.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Write {
    /// A PATCH of a `/status` subresource.
    Status,
    /// Another PATCH of a LastPassUser, LastPassGroup or DirectoryIntegration (finalizers,
    /// bindings).
    Metadata,
    /// An Event created (`events.k8s.io` or core); a PATCH of a series is [`Write::Other`].
    Event,
    /// Any other POST, PUT, PATCH or DELETE.
    Other,
}

/// Classifies a request by method and path; `None` for reads.
pub fn classify(method: &Method, path: &str) -> Option<Write> {
    let own = [
        "/lastpassusers/",
        "/lastpassgroups/",
        "/directoryintegrations/",
    ]
    .iter()
    .any(|k| path.contains(k));
    if *method == Method::PATCH && path.ends_with("/status") {
        Some(Write::Status)
    } else if *method == Method::PATCH && own {
        Some(Write::Metadata)
    } else if *method == Method::POST && path.ends_with("/events") {
        Some(Write::Event)
    } else if [Method::POST, Method::PUT, Method::PATCH, Method::DELETE].contains(method) {
        Some(Write::Other)
    } else {
        None
    }
}

impl StatusMeter {
    /// The counters now.
    pub fn read(&self) -> Reading {
        let c = self.lock();
        let open = c.busy_since.map(|t| t.elapsed()).unwrap_or_default();
        Reading {
            writes: c.writes,
            by_kind: c.by_kind,
            busy: c.busy + open,
            last_end: c.last_end,
            in_flight: c.in_flight,
            api: c.api,
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Counters> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn count(&self, write: Write) {
        let mut c = self.lock();
        match write {
            Write::Status => c.api.status += 1,
            Write::Metadata => c.api.metadata += 1,
            Write::Event => c.api.events += 1,
            Write::Other => c.api.other += 1,
        }
    }

    fn start(&self, path: &str) -> InFlight {
        let mut c = self.lock();
        c.writes += 1;
        if path.contains("/lastpassusers/") {
            c.by_kind.users += 1;
        } else if path.contains("/lastpassgroups/") {
            c.by_kind.groups += 1;
        } else if path.contains("/directoryintegrations/") {
            c.by_kind.integration += 1;
        }
        c.in_flight += 1;
        if c.in_flight == 1 {
            c.busy_since = Some(Instant::now());
        }
        InFlight(self.clone())
    }
}

/// One status write in flight; dropping it ends it.
struct InFlight(StatusMeter);

impl Drop for InFlight {
    fn drop(&mut self) {
        let mut c = self.0.lock();
        c.in_flight = c.in_flight.saturating_sub(1);
        let now = Instant::now();
        c.last_end = Some(now);
        if c.in_flight == 0
            && let Some(since) = c.busy_since.take()
        {
            c.busy += now - since;
        }
    }
}

/// The service the layer wraps around kube's HTTP stack.
pub struct Metered<S> {
    inner: S,
    meter: StatusMeter,
}

impl<S> Metered<S> {
    /// Wraps `inner`, counting into `meter`.
    pub fn new(inner: S, meter: StatusMeter) -> Self {
        Self { inner, meter }
    }
}

impl<S, B> tower::Service<Request<B>> for Metered<S>
where
    S: tower::Service<Request<B>>,
    S::Future: Send + 'static,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, S::Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let write = classify(req.method(), req.uri().path());
        if let Some(w) = write {
            self.meter.count(w);
        }
        let guard = (write == Some(Write::Status)).then(|| self.meter.start(req.uri().path()));
        let fut = self.inner.call(req);
        Box::pin(async move {
            let out = fut.await;
            drop(guard);
            out
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_are_classified_by_what_they_write() {
        let ns = "/apis/lastpass-operator.io/v1alpha1/namespaces/n";
        let cases = [
            (
                Method::PATCH,
                format!("{ns}/lastpassusers/u/status"),
                Some(Write::Status),
            ),
            (
                Method::PATCH,
                format!("{ns}/lastpassusers/u"),
                Some(Write::Metadata),
            ),
            (
                Method::PATCH,
                format!("{ns}/directoryintegrations/i"),
                Some(Write::Metadata),
            ),
            (
                Method::POST,
                "/apis/events.k8s.io/v1/namespaces/n/events".to_string(),
                Some(Write::Event),
            ),
            (
                Method::PUT,
                "/apis/coordination.k8s.io/v1/namespaces/n/leases/l".to_string(),
                Some(Write::Other),
            ),
            (
                Method::DELETE,
                "/api/v1/namespaces/n/secrets/s".to_string(),
                Some(Write::Other),
            ),
            (
                Method::PATCH,
                "/apis/events.k8s.io/v1/namespaces/n/events/e".to_string(),
                Some(Write::Other),
            ),
            (Method::GET, format!("{ns}/lastpassusers/u"), None),
        ];
        for (method, path, want) in cases {
            assert_eq!(classify(&method, &path), want, "{method} {path}");
        }
    }

    #[test]
    fn overlapping_writes_count_once_in_busy_time() {
        let m = StatusMeter::default();
        let a = m.start("/apis/x/v1/namespaces/n/lastpassusers/a/status");
        let b = m.start("/apis/x/v1/namespaces/n/directoryintegrations/i/status");
        std::thread::sleep(Duration::from_millis(20));
        drop(a);
        drop(b);
        let r = m.read();
        assert_eq!(r.writes, 2);
        assert_eq!((r.by_kind.users, r.by_kind.integration), (1, 1));
        assert_eq!(r.in_flight, 0);
        assert!(r.busy >= Duration::from_millis(20) && r.busy < Duration::from_millis(200));
    }
}
