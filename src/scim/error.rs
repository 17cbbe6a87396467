//! `scim::Error`: every failure of the SCIM server, rendered as an RFC 7644 §3.12 error body
//! (`schemas`, `status` as a string, `scimType`, `detail`) with `application/scim+json`.
//!
//! Messages never carry a bearer token: tokens are `SecretString`s and no variant holds one.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// Schema URN of a SCIM error body.
pub const ERROR_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:Error";

/// The media type of every SCIM body.
pub const SCIM_JSON: &str = "application/scim+json";

/// A failed SCIM request, or a failed token reconcile.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The integration does not exist or does not enable SCIM.
    #[error(
        "no SCIM endpoint at {namespace}/{integration}: the DirectoryIntegration does not exist or spec.scim.enabled is not true"
    )]
    NoEndpoint {
        /// Namespace of the integration.
        namespace: String,
        /// Name of the integration.
        integration: String,
    },
    /// Missing, wrong or expired bearer token.
    #[error("{0}")]
    Unauthorized(&'static str),
    /// Too many failed authentications from this client or on this endpoint.
    #[error("too many failed authentications; retry after {retry_after_secs} s")]
    TooManyAttempts {
        /// Seconds until a new attempt is counted (the `Retry-After` header).
        retry_after_secs: u64,
    },
    /// The in-memory stores have not listed yet (the server just started).
    #[error("the SCIM server is starting; retry in a few seconds")]
    NotReady,
    /// Unknown resource id.
    #[error("{kind} {id} not found")]
    NotFound {
        /// `User` or `Group`.
        kind: &'static str,
        /// The SCIM id asked for.
        id: String,
    },
    /// Unknown path under the endpoint.
    #[error("no such SCIM resource: {0}")]
    NoRoute(String),
    /// The filter does not parse or uses something we do not evaluate.
    #[error("invalid filter: {0}")]
    InvalidFilter(String),
    /// A PATCH path that does not parse or names nothing we know.
    #[error("invalid path: {0}")]
    InvalidPath(String),
    /// The body is not valid JSON of the expected shape.
    #[error("invalid syntax: {0}")]
    InvalidSyntax(String),
    /// A value that cannot be used (wrong type, not an e-mail, unknown member).
    #[error("invalid value: {0}")]
    InvalidValue(String),
    /// An attempt to change an immutable attribute (`userName`).
    #[error("{0}")]
    Mutability(String),
    /// A duplicate `userName` or group `displayName`.
    #[error("{0}")]
    Uniqueness(String),
    /// More operations or members in one request than the server processes (RFC 7644
    /// §3.12 `tooMany`).
    #[error("{0}")]
    TooMany(String),
    /// A request body larger than the server reads.
    #[error("request body larger than {max} bytes; send fewer members or operations per request")]
    PayloadTooLarge {
        /// The limit, in bytes.
        max: usize,
    },
    /// A failure inside the server's own request handling (not the caller's fault).
    #[error("internal error: {0}")]
    Internal(String),
    /// The request did not finish within the server's time limit.
    #[error(
        "the request took longer than {seconds} s and was abandoned; it may have been applied in part: re-read the resource before retrying"
    )]
    Timeout {
        /// The limit, in seconds.
        seconds: u64,
    },
    /// `If-Match` does not match the current version.
    #[error("version mismatch: the resource changed (current version {current})")]
    PreconditionFailed {
        /// The current ETag.
        current: String,
    },
    /// A method this path does not take.
    #[error("method {0} is not allowed here")]
    MethodNotAllowed(String),
    /// A method the endpoint does not support.
    #[error("{0}")]
    NotImplemented(&'static str),
    /// The Kubernetes API failed.
    #[error("{action} failed: {}", kube_message(source))]
    Kube {
        /// What was being done, e.g. `create LastPassUser`.
        action: String,
        /// The cause.
        #[source]
        source: kube::Error,
    },
    /// A rotation period that does not parse.
    #[error(transparent)]
    Duration(#[from] crate::crd::InvalidDuration),
}

/// The API server's own message when there is one (kube's Display adds a Debug dump).
fn kube_message(e: &kube::Error) -> String {
    match e {
        kube::Error::Api(s) => format!("{} ({})", s.message, s.reason),
        other => other.to_string(),
    }
}

impl Error {
    /// Wraps a kube error with the step that failed.
    pub fn kube(action: impl Into<String>, source: kube::Error) -> Self {
        Error::Kube {
            action: action.into(),
            source,
        }
    }

    /// Whether the API server refused a write for a stale resourceVersion (the caller may
    /// re-read and retry).
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Kube { source: kube::Error::Api(s), .. } if s.code == 409)
    }

    /// HTTP status of the error.
    pub fn status(&self) -> StatusCode {
        match self {
            Error::NoEndpoint { .. } | Error::NotFound { .. } | Error::NoRoute(_) => {
                StatusCode::NOT_FOUND
            }
            Error::Unauthorized(_) => StatusCode::UNAUTHORIZED,
            Error::TooManyAttempts { .. } => StatusCode::TOO_MANY_REQUESTS,
            Error::NotReady => StatusCode::SERVICE_UNAVAILABLE,
            Error::InvalidFilter(_)
            | Error::InvalidPath(_)
            | Error::InvalidSyntax(_)
            | Error::InvalidValue(_)
            | Error::Mutability(_)
            | Error::TooMany(_)
            | Error::Duration(_) => StatusCode::BAD_REQUEST,
            Error::Uniqueness(_) => StatusCode::CONFLICT,
            Error::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            Error::Timeout { .. } => StatusCode::SERVICE_UNAVAILABLE,
            Error::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            Error::PreconditionFailed { .. } => StatusCode::PRECONDITION_FAILED,
            Error::NotImplemented(_) => StatusCode::NOT_IMPLEMENTED,
            Error::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
            Error::Kube { source, .. } => match source {
                kube::Error::Api(s) if s.code == 409 => StatusCode::CONFLICT,
                kube::Error::Api(s) if s.code == 422 || s.code == 400 => StatusCode::BAD_REQUEST,
                kube::Error::Api(s) if s.code == 404 => StatusCode::NOT_FOUND,
                _ => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    /// RFC 7644 §3.12 `scimType`, when one applies.
    pub fn scim_type(&self) -> Option<&'static str> {
        match self {
            Error::InvalidFilter(_) => Some("invalidFilter"),
            Error::InvalidPath(_) => Some("invalidPath"),
            Error::InvalidSyntax(_) => Some("invalidSyntax"),
            Error::InvalidValue(_) | Error::Duration(_) => Some("invalidValue"),
            Error::Mutability(_) => Some("mutability"),
            Error::Uniqueness(_) => Some("uniqueness"),
            Error::TooMany(_) => Some("tooMany"),
            Error::Kube { source, .. } => match source {
                kube::Error::Api(s) if s.code == 422 || s.code == 400 => Some("invalidValue"),
                _ => None,
            },
            _ => None,
        }
    }

    /// Fixed name of the variant, for metrics and logs.
    pub fn metric_label(&self) -> &'static str {
        match self {
            Error::NoEndpoint { .. } => "no_endpoint",
            Error::Unauthorized(_) => "unauthorized",
            Error::TooManyAttempts { .. } => "too_many_attempts",
            Error::NotReady => "not_ready",
            Error::NotFound { .. } => "not_found",
            Error::NoRoute(_) => "no_route",
            Error::InvalidFilter(_) => "invalid_filter",
            Error::InvalidPath(_) => "invalid_path",
            Error::InvalidSyntax(_) => "invalid_syntax",
            Error::InvalidValue(_) => "invalid_value",
            Error::Mutability(_) => "mutability",
            Error::Uniqueness(_) => "uniqueness",
            Error::TooMany(_) => "too_many",
            Error::PayloadTooLarge { .. } => "payload_too_large",
            Error::Timeout { .. } => "timeout",
            Error::Internal(_) => "internal",
            Error::PreconditionFailed { .. } => "precondition_failed",
            Error::NotImplemented(_) => "not_implemented",
            Error::MethodNotAllowed(_) => "method_not_allowed",
            Error::Kube { .. } => "kube",
            Error::Duration(_) => "duration",
        }
    }
}

impl IntoResponse for Error {
    fn into_response(self) -> Response {
        let status = self.status();
        let retry_after = match &self {
            Error::TooManyAttempts { retry_after_secs } => Some(*retry_after_secs),
            Error::NotReady => Some(1),
            _ => None,
        };
        if status.is_server_error() {
            tracing::warn!(error = %self, kind = self.metric_label(), "SCIM request failed");
        } else {
            tracing::debug!(error = %self, kind = self.metric_label(), "SCIM request refused");
        }
        let mut body = json!({
            "schemas": [ERROR_SCHEMA],
            "status": status.as_u16().to_string(),
            "detail": self.to_string(),
        });
        if let Some(t) = self.scim_type() {
            body["scimType"] = json!(t);
        }
        let mut resp = (status, body.to_string()).into_response();
        resp.headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
        if status == StatusCode::SERVICE_UNAVAILABLE {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from_static("5"));
        }
        if status == StatusCode::UNAUTHORIZED {
            resp.headers_mut().insert(
                header::WWW_AUTHENTICATE,
                HeaderValue::from_static("Bearer realm=\"lastpass-operator-scim\""),
            );
        }
        if let Some(secs) = retry_after {
            resp.headers_mut()
                .insert(header::RETRY_AFTER, HeaderValue::from(secs));
        }
        resp
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn error_bodies_follow_rfc7644() {
        let resp = Error::Uniqueness("userName a@x.io exists".into()).into_response();
        assert_eq!(resp.status(), StatusCode::CONFLICT);
        assert_eq!(resp.headers()[header::CONTENT_TYPE], SCIM_JSON);
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 16)
            .await
            .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(v["status"], "409");
        assert_eq!(v["scimType"], "uniqueness");
        assert_eq!(v["schemas"][0], ERROR_SCHEMA);
        let resp = Error::Unauthorized("missing bearer token").into_response();
        assert!(resp.headers().contains_key(header::WWW_AUTHENTICATE));
    }
}
