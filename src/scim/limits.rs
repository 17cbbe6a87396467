//! Bounded work per request: what one caller may make the server do, whatever it sends.
//!
//! - a body of at most [`MAX_BODY_BYTES`] (`413`, read without trusting `Content-Length`);
//! - at most [`MAX_OPERATIONS`] PATCH operations and [`MAX_MEMBERS`] members per request
//!   (`400 tooMany`, RFC 7644 §3.12), checked where the body is read ([`super::patch`],
//!   [`super::mapping`]);
//! - at most [`Layers::concurrency`] requests in progress at once (others wait their turn) and
//!   [`Layers::timeout`] per request, waiting included (`503` with `Retry-After`): tower layers
//!   around the whole router.

use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::error_handling::HandleErrorLayer;
use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::{self, Next};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use tower::limit::GlobalConcurrencyLimitLayer;
use tower::timeout::TimeoutLayer;
use tower::{BoxError, ServiceBuilder};

use super::error::Error;

/// Largest request body read, in bytes (1 MiB).
pub const MAX_BODY_BYTES: usize = 1024 * 1024;
/// Most operations in one PATCH request.
pub const MAX_OPERATIONS: usize = 1_000;
/// Most group members named in one request.
pub const MAX_MEMBERS: usize = 10_000;
/// Most member ids kept pending on one group (members the server does not know yet).
pub const MAX_PENDING_MEMBERS: usize = 1_000;

/// The server-wide limits applied as layers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Layers {
    /// Largest request body, in bytes.
    pub max_body: usize,
    /// Requests in progress at once; more wait for a slot.
    pub concurrency: usize,
    /// Longest a request may take, waiting for a slot included.
    pub timeout: Duration,
}

impl Default for Layers {
    fn default() -> Self {
        Self {
            max_body: MAX_BODY_BYTES,
            concurrency: 64,
            timeout: Duration::from_secs(30),
        }
    }
}

/// Wraps `router` in the body limit, the concurrency limit and the timeout (outermost first:
/// timeout, concurrency, body), so a request waiting for a slot holds no body in memory and
/// counts against its time.
pub fn apply<S>(router: Router<S>, layers: Layers) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let seconds = layers.timeout.as_secs().max(1);
    router
        .layer(middleware::from_fn_with_state(
            layers.max_body,
            bounded_body,
        ))
        .layer(
            ServiceBuilder::new()
                .layer(HandleErrorLayer::new(move |e: BoxError| async move {
                    if e.is::<tower::timeout::error::Elapsed>() {
                        Error::Timeout { seconds }.into_response()
                    } else {
                        Error::Internal(e.to_string()).into_response()
                    }
                }))
                .layer(TimeoutLayer::new(layers.timeout))
                .layer(GlobalConcurrencyLimitLayer::new(layers.concurrency.max(1))),
        )
}

/// Reads the body up to `max` bytes (refusing a larger `Content-Length` before reading) and
/// hands the request on with the buffered body; `413` with a SCIM error body beyond.
async fn bounded_body(State(max): State<usize>, req: Request, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    if declared.is_some_and(|n| n > max as u64) {
        return Error::PayloadTooLarge { max }.into_response();
    }
    let (parts, body) = req.into_parts();
    let mut stream = body.into_data_stream();
    let mut buf = Vec::new();
    while let Some(chunk) = stream.next().await {
        let chunk = match chunk {
            Ok(c) => c,
            Err(e) => {
                return Error::InvalidSyntax(format!("could not read the request body: {e}"))
                    .into_response();
            }
        };
        if buf.len() + chunk.len() > max {
            return Error::PayloadTooLarge { max }.into_response();
        }
        buf.extend_from_slice(&chunk);
    }
    next.run(Request::from_parts(parts, Body::from(buf))).await
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::StatusCode;
    use axum::routing::post;
    use tower::ServiceExt;

    async fn body_of(resp: Response) -> serde_json::Value {
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 20)
            .await
            .unwrap();
        serde_json::from_slice(&bytes).unwrap()
    }

    fn echo(layers: Layers) -> Router {
        apply(
            Router::new().route(
                "/",
                post(|b: axum::body::Bytes| async move { b.len().to_string() }),
            ),
            layers,
        )
    }

    fn req(body: Body, length: Option<usize>) -> Request {
        let mut b = Request::post("/");
        if let Some(n) = length {
            b = b.header(header::CONTENT_LENGTH, n);
        }
        b.body(body).unwrap()
    }

    #[tokio::test]
    async fn bodies_over_the_limit_are_413_with_a_scim_body() {
        let layers = Layers {
            max_body: 1024,
            ..Layers::default()
        };
        let ok = echo(layers)
            .oneshot(req(Body::from(vec![b'a'; 1024]), Some(1024)))
            .await
            .unwrap();
        assert_eq!(ok.status(), StatusCode::OK);
        // Declared too large: refused before reading.
        let resp = echo(layers)
            .oneshot(req(Body::from(vec![b'a'; 2048]), Some(2048)))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
        assert_eq!(
            resp.headers()[header::CONTENT_TYPE],
            super::super::error::SCIM_JSON
        );
        let v = body_of(resp).await;
        assert_eq!(v["status"], "413");
        assert_eq!(v["schemas"][0], super::super::error::ERROR_SCHEMA);
        // Streamed with no length (chunked): counted while reading.
        let chunks = futures::stream::iter(
            (0..4).map(|_| Ok::<_, std::io::Error>(axum::body::Bytes::from(vec![b'a'; 512]))),
        );
        let resp = echo(layers)
            .oneshot(req(Body::from_stream(chunks), None))
            .await
            .unwrap();
        assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);
    }

    #[tokio::test]
    async fn at_most_the_limit_run_at_once() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        let (now, most) = (
            std::sync::Arc::new(AtomicUsize::new(0)),
            std::sync::Arc::new(AtomicUsize::new(0)),
        );
        let (n, m) = (now.clone(), most.clone());
        let app = apply(
            Router::new().route(
                "/",
                post(move || {
                    let (n, m) = (n.clone(), m.clone());
                    async move {
                        let mine = n.fetch_add(1, Ordering::SeqCst) + 1;
                        m.fetch_max(mine, Ordering::SeqCst);
                        tokio::time::sleep(Duration::from_millis(20)).await;
                        n.fetch_sub(1, Ordering::SeqCst);
                        "done"
                    }
                }),
            ),
            Layers {
                concurrency: 2,
                ..Layers::default()
            },
        );
        let all = (0..8).map(|_| app.clone().oneshot(req(Body::empty(), None)));
        for resp in futures::future::join_all(all).await {
            assert_eq!(resp.unwrap().status(), StatusCode::OK);
        }
        assert_eq!(most.load(Ordering::SeqCst), 2, "8 requests, 2 slots");
    }

    #[tokio::test]
    async fn a_request_over_time_is_503_with_retry_after() {
        let app = apply(
            Router::new().route("/", post(std::future::pending::<&'static str>)),
            Layers {
                timeout: Duration::from_millis(200),
                ..Layers::default()
            },
        );
        let resp = app.oneshot(req(Body::empty(), None)).await.unwrap();
        assert_eq!(resp.status(), StatusCode::SERVICE_UNAVAILABLE);
        assert!(resp.headers().contains_key(header::RETRY_AFTER));
        let v = body_of(resp).await;
        assert_eq!(v["status"], "503");
        assert!(v["detail"].as_str().unwrap().contains("re-read"), "{v}");
    }
}
