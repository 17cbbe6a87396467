//! What a request carries besides its endpoint: for one resource (`…/Users/{id}`,
//! `…/Groups/{id}`) the id from the path, the `If-Match` version and the (already
//! size-bounded) body; for a list, its query from the URL (`GET`) or a SearchRequest (`POST
//! …/.search`), parsed once.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Query, Request};
use axum::http::{HeaderMap, Method};
use serde_json::Value;

use super::error::Error;
use super::filter::ScimFilter;
use super::response::{ListQuery, if_match, json_body, search_params};

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
        let (headers, body) = headers_and_body(Request::from_parts(parts, body), state).await?;
        Ok(Self {
            id: params.get("id").cloned().unwrap_or_default(),
            version: if_match(&headers),
            headers,
            body,
        })
    }
}

/// A list request: `GET …/Users?filter=…` or `POST …/Users/.search` (RFC 7644 §3.4.2-3).
pub struct ListRequest {
    /// Paging, projection and the raw filter.
    pub query: ListQuery,
    /// The parsed filter, if any.
    pub filter: Option<ScimFilter>,
}

impl<S: Send + Sync> FromRequest<S> for ListRequest {
    type Rejection = Error;

    async fn from_request(req: Request, state: &S) -> Result<Self, Error> {
        let params = if req.method() == Method::POST {
            let (headers, body) = headers_and_body(req, state).await?;
            search_params(&headers, &body)?
        } else {
            Query::<HashMap<String, String>>::try_from_uri(req.uri())
                .map_err(|e| Error::InvalidValue(format!("query string: {e}")))?
                .0
        };
        let query = ListQuery::from_params(&params)?;
        let filter = query.filter.as_deref().map(ScimFilter::parse).transpose()?;
        Ok(Self { query, filter })
    }
}

async fn headers_and_body<S: Send + Sync>(
    req: Request,
    state: &S,
) -> Result<(HeaderMap, Bytes), Error> {
    let headers = req.headers().clone();
    let body = Bytes::from_request(req, state)
        .await
        .map_err(|e| Error::InvalidSyntax(format!("could not read the request body: {e}")))?;
    Ok((headers, body))
}
