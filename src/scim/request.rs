//! What a request to one resource (`…/Users/{id}`, `…/Groups/{id}`) carries besides its
//! endpoint: the id from the path, the `If-Match` version and the (already size-bounded) body.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request};
use axum::http::HeaderMap;
use serde_json::Value;

use super::error::Error;
use super::response::{if_match, json_body};

/// A request to one resource by id.
pub struct ResourceRequest {
    /// The resource's SCIM id (the `{id}` of the path).
    pub id: String,
    /// The `If-Match` version, when the client sent one.
    pub version: Option<String>,
    headers: HeaderMap,
    body: Bytes,
}

impl ResourceRequest {
    /// The body as JSON (see [`json_body`]).
    pub fn json(&self) -> Result<Value, Error> {
        json_body(&self.headers, &self.body)
    }
}

impl<S: Send + Sync> FromRequest<S> for ResourceRequest {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let (mut parts, body) = req.into_parts();
        let Path(params) = Path::<HashMap<String, String>>::from_request_parts(&mut parts, state)
            .await
            .map_err(|_| Error::NoRoute(parts.uri.path().to_string()))?;
        let headers = parts.headers.clone();
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(|e| Error::InvalidSyntax(format!("could not read the request body: {e}")))?;
        Ok(Self {
            id: params.get("id").cloned().unwrap_or_default(),
            version: if_match(&headers),
            headers,
            body,
        })
    }
}
