//! Routes of the SCIM server: which path and method goes to which handler, and the layers
//! around them. The handlers live in `users`, `groups` and `discovery`; what they share of
//! requests and responses in `endpoint` and `response`.

use std::sync::Arc;

use axum::Router;
use axum::response::Response;
use axum::routing::{any, get, post};

use super::error::Error;
use super::{ScimState, discovery, groups, users};

/// The SCIM router: `/scim/v2/{namespace}/{integration}/…` for integrations whose
/// `spec.scim.enabled` is true.
pub fn router(ctx: Arc<ScimState>) -> Router {
    let base = "/scim/v2/{namespace}/{integration}";
    let router = Router::new()
        .route(
            &format!("{base}/Users"),
            get(users::list).post(users::create),
        )
        .route(
            &format!("{base}/Users/{{id}}"),
            get(users::get)
                .put(users::replace)
                .patch(users::patch)
                .delete(users::delete),
        )
        .route(&format!("{base}/Users/.search"), post(users::list))
        .route(&format!("{base}/Groups/.search"), post(groups::list))
        .route(
            &format!("{base}/Groups"),
            get(groups::list).post(groups::create),
        )
        .route(
            &format!("{base}/Groups/{{id}}"),
            get(groups::get)
                .put(groups::replace)
                .patch(groups::patch)
                .delete(groups::delete),
        )
        .route(
            &format!("{base}/ServiceProviderConfig"),
            get(discovery::service_provider_config),
        )
        .route(
            &format!("{base}/ResourceTypes"),
            get(discovery::resource_types),
        )
        .route(
            &format!("{base}/ResourceTypes/{{id}}"),
            get(discovery::resource_type),
        )
        .route(&format!("{base}/Schemas"), get(discovery::schemas))
        .route(&format!("{base}/Schemas/{{id}}"), get(discovery::schema))
        // RFC 7644 §3.11 and §3.7: optional, and answered 501 when not supported.
        .route(
            &format!("{base}/Me"),
            any(|| async { Error::NotImplemented("/Me is not supported: use /Users/{id}") }),
        )
        .route(
            &format!("{base}/Bulk"),
            any(|| async { Error::NotImplemented("bulk operations are not supported") }),
        )
        .fallback(|uri: axum::http::Uri| async move { Error::NoRoute(uri.path().to_string()) })
        .method_not_allowed_fallback(|m: axum::http::Method| async move {
            Error::MethodNotAllowed(m.to_string())
        })
        .layer(axum::middleware::from_fn(log_request));
    super::limits::apply(router, super::limits::Layers::default()).with_state(ctx)
}

/// Logs each request's method, path, status and duration (never its headers or body).
async fn log_request(req: axum::extract::Request, next: axum::middleware::Next) -> Response {
    let (method, path) = (req.method().clone(), req.uri().path().to_string());
    let started = std::time::Instant::now();
    let resp = next.run(req).await;
    crate::telemetry::metrics::global().scim_request(method.as_str(), resp.status().as_u16());
    tracing::debug!(
        %method,
        %path,
        status = resp.status().as_u16(),
        elapsed_ms = started.elapsed().as_millis() as u64,
        "SCIM request"
    );
    resp
}
