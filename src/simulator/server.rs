//! The HTTP side: the API handler with its wire quirks (HTTP 200 and `text/xml` for
//! everything, XML authorization error, throttling, latency, faults), and [`serve`], an accept
//! loop that can really close a connection without answering.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, State};
use axum::http::{HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use hyper_util::rt::TokioIo;
use hyper_util::service::TowerToHyperService;
use jiff::Timestamp;
use serde_json::Value;
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tower::ServiceExt;
use tracing::{debug, warn};

use super::commands::{self, KNOWN};
use super::knobs::{Fault, PendingFault};
use super::read::{self, num};
use super::state::{CallRecord, Outcome, SimState, World};

/// The byte-exact authorization error.
pub const AUTH_ERROR: &str =
    "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<lastpass rc=\"Authorization Error\"/>\n";

/// Content type of every API answer, JSON included.
const CONTENT_TYPE: &str = "text/xml;charset=UTF-8";

const HTML: &str = "<!DOCTYPE html><html><head><title>Access Denied</title></head>\
                    <body>Reference #18.5b3c1302</body></html>";

/// Asks the connection task to close the socket without answering.
#[derive(Clone)]
pub(crate) struct ConnKill(Arc<Notify>);

fn reply(status: StatusCode, body: impl Into<Body>) -> Response {
    let mut r = (status, body.into()).into_response();
    r.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(CONTENT_TYPE));
    r
}

fn throttled(retry_after: Option<u64>) -> Response {
    let mut r = reply(StatusCode::TOO_MANY_REQUESTS, Body::empty());
    if let Some(s) = retry_after {
        r.headers_mut()
            .insert(header::RETRY_AFTER, HeaderValue::from(s));
    }
    r
}

fn chance(p: f64) -> bool {
    p > 0.0 && rand::random::<f64>() < p
}

struct Call {
    seq: u64,
    command: String,
    targets: Vec<String>,
    page: (Option<u64>, Option<u64>),
}

impl Call {
    fn record(self, w: &mut World, outcome: Outcome) {
        let Call {
            seq,
            command,
            targets,
            page,
        } = self;
        debug!(seq, %command, ?outcome, "simulator answered");
        w.calls.push(CallRecord {
            seq,
            at: Timestamp::now(),
            command,
            targets,
            page_index: page.0,
            page_size: page.1,
            outcome,
        });
    }
}

/// `POST <path>`: one API call.
pub(crate) async fn api(
    State(state): State<SimState>,
    kill: Option<Extension<ConnKill>>,
    body: Bytes,
) -> Response {
    let (seq, knobs) = {
        let mut w = state.world();
        w.seq += 1;
        (w.seq, w.knobs.clone())
    };
    if knobs.latency_ms > 0 || knobs.latency_jitter_ms > 0 {
        let j = knobs.latency_jitter_ms;
        let wait = (knobs.latency_ms + rand::random_range(0..=2 * j)).saturating_sub(j);
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
    let req: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let command = req
        .get("cmd")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .to_string();
    let data = req.get("data").cloned().unwrap_or(Value::Null);
    let page = (num(data.get("pageindex")), num(data.get("pagesize")));
    let call = Call {
        seq,
        command: command.clone(),
        targets: commands::targets(&data),
        page,
    };

    if knobs.throttle_every.is_some_and(|n| seq % n.max(1) == 0)
        || chance(knobs.throttle_probability)
    {
        call.record(&mut state.world(), Outcome::Throttled);
        return throttled(knobs.retry_after_secs);
    }
    if !state.authorized(req.get("cid"), req.get("provhash").and_then(Value::as_str)) {
        call.record(&mut state.world(), Outcome::AuthError);
        return reply(StatusCode::OK, AUTH_ERROR);
    }
    let fault = {
        let mut w = state.world();
        let i = w
            .faults
            .iter()
            .position(|f| f.command.as_ref().is_none_or(|c| *c == command));
        i.and_then(|i| w.faults.remove(i))
            .map(|PendingFault { fault, .. }| fault)
    };
    let write = command != "getuserdata";
    match fault {
        Some(Fault::Throttle { retry_after_secs }) => {
            call.record(&mut state.world(), Outcome::Throttled);
            return throttled(retry_after_secs);
        }
        Some(Fault::ServerError) => {
            call.record(&mut state.world(), Outcome::ServerError);
            return reply(StatusCode::SERVICE_UNAVAILABLE, HTML);
        }
        Some(Fault::Html) => {
            call.record(&mut state.world(), Outcome::Html);
            return reply(StatusCode::OK, HTML);
        }
        Some(Fault::DropBeforeApply) => {
            call.record(&mut state.world(), Outcome::Dropped);
            return drop_connection(kill).await;
        }
        Some(Fault::EchoRequest) => {
            call.record(&mut state.world(), Outcome::Fail);
            let error = format!("could not process request {req}");
            return reply(
                StatusCode::OK,
                serde_json::json!({"status": "FAIL", "error": error}).to_string(),
            );
        }
        _ => {}
    }
    if !KNOWN.contains(&command.as_str()) || (write && chance(knobs.fail_probability)) {
        let msg = if KNOWN.contains(&command.as_str()) {
            "Internal error (simulated)"
        } else {
            "Unknown command"
        };
        call.record(&mut state.world(), Outcome::Fail);
        return reply(
            StatusCode::OK,
            serde_json::json!({"status": "FAIL", "error": msg}).to_string(),
        );
    }

    let (bytes, outcome) = {
        let mut w = state.world();
        let World {
            store,
            knobs,
            reads,
            ..
        } = &mut *w;
        let (bytes, outcome) = if write {
            let body = commands::apply(store, knobs, &command, &data, Timestamp::now());
            let outcome = match body.get("status").and_then(Value::as_str) {
                Some("OK") => Outcome::Ok,
                Some("WARN") => Outcome::Warn,
                Some("success") => Outcome::Success,
                _ => Outcome::Fail,
            };
            (serde_json::to_vec(&body).unwrap_or_default(), outcome)
        } else {
            if read::is_whole(&data) {
                reads.whole += 1;
            } else {
                reads.filtered += 1;
            }
            (read::get_user_data(store, knobs, &data), Outcome::Data)
        };
        let outcome = match fault {
            Some(Fault::DropAfterApply) => Outcome::Dropped,
            Some(Fault::Empty) => Outcome::Empty,
            Some(Fault::Truncated) => Outcome::Truncated,
            _ if write && chance(knobs.drop_probability) => Outcome::Dropped,
            _ => outcome,
        };
        call.record(&mut w, outcome);
        (bytes, outcome)
    };
    match outcome {
        Outcome::Dropped => drop_connection(kill).await,
        Outcome::Empty => reply(StatusCode::OK, Body::empty()),
        Outcome::Truncated => {
            let mut bytes = bytes;
            bytes.truncate(bytes.len() / 2);
            reply(StatusCode::OK, bytes)
        }
        _ => reply(StatusCode::OK, bytes),
    }
}

/// Closes the connection without answering (only possible under [`serve`]).
async fn drop_connection(kill: Option<Extension<ConnKill>>) -> Response {
    match kill {
        Some(Extension(ConnKill(notify))) => {
            notify.notify_one();
            std::future::pending().await
        }
        None => reply(
            StatusCode::INTERNAL_SERVER_ERROR,
            "connection drop requested outside simulator::serve",
        ),
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets open connections finish
/// (up to 5 s). Each connection can be closed by its handler without an answer.
pub async fn serve(
    listener: TcpListener,
    state: SimState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let router = super::router(state);
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let mut conns = JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (stream, _peer) = tokio::select! {
            () = &mut shutdown => break,
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                Err(e) => {
                    warn!(error = %e, "simulator could not accept a connection");
                    continue;
                }
            },
        };
        while conns.try_join_next().is_some() {}
        let kill = Arc::new(Notify::new());
        let ext = ConnKill(kill.clone());
        let svc = router
            .clone()
            .map_request(move |mut req: Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(ext.clone());
                req
            });
        let mut stop = stop_rx.clone();
        conns.spawn(async move {
            let conn = hyper::server::conn::http1::Builder::new()
                .serve_connection(TokioIo::new(stream), TowerToHyperService::new(svc));
            tokio::pin!(conn);
            let mut stopping = false;
            loop {
                tokio::select! {
                    _ = conn.as_mut() => break,
                    () = kill.notified() => break, // dropping `conn` closes the socket
                    _ = stop.changed(), if !stopping => {
                        stopping = true;
                        conn.as_mut().graceful_shutdown();
                    }
                }
            }
        });
    }
    let _ = stop_tx.send(true);
    let drain = async { while conns.join_next().await.is_some() {} };
    let _ = tokio::time::timeout(Duration::from_secs(5), drain).await;
    Ok(())
}
