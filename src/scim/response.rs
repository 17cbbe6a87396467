//! Shapes of SCIM requests and responses shared by the Users, Groups and discovery endpoints:
//! the `application/scim+json` response with its ETag and Location, the JSON body, `If-Match`,
//! and list queries (paging, attribute projection) with their ListResponse (RFC 7644 §3.4.2).

use std::collections::HashMap;

use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::error::{Error, SCIM_JSON};

/// A SCIM JSON response.
pub fn scim(status: StatusCode, body: &Value) -> Response {
    let mut resp = (status, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    if let Some(version) = body
        .get("meta")
        .and_then(|m| m.get("version"))
        .and_then(Value::as_str)
        .and_then(|v| HeaderValue::from_str(v).ok())
    {
        resp.headers_mut().insert(header::ETAG, version);
    }
    if status == StatusCode::CREATED
        && let Some(loc) = body
            .get("meta")
            .and_then(|m| m.get("location"))
            .and_then(Value::as_str)
            .and_then(|v| HeaderValue::from_str(v).ok())
    {
        resp.headers_mut().insert(header::LOCATION, loc);
    }
    resp
}

/// Parses a request body as JSON (`application/scim+json` or `application/json`; a missing
/// content type is tolerated).
pub fn json_body(headers: &HeaderMap, body: &[u8]) -> Result<Value, Error> {
    if let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        let ct = ct.to_ascii_lowercase();
        if !ct.contains("json") {
            return Err(Error::InvalidSyntax(format!(
                "content type {ct} is not application/scim+json or application/json"
            )));
        }
    }
    serde_json::from_slice(body).map_err(|e| Error::InvalidSyntax(format!("body is not JSON: {e}")))
}

/// The resourceVersion an `If-Match` header asks for (`*` and absent mean none).
pub fn if_match(headers: &HeaderMap) -> Option<String> {
    let v = headers.get(header::IF_MATCH)?.to_str().ok()?.trim();
    if v == "*" {
        return None;
    }
    Some(v.trim_start_matches("W/").trim_matches('"').to_string())
}

/// List query parameters (`filter`, `startIndex`, `count`, `attributes`,
/// `excludedAttributes`), names in any case.
#[derive(Debug, Default, Clone)]
pub struct ListQuery {
    /// The raw filter.
    pub filter: Option<String>,
    /// 1-based index of the first result.
    pub start_index: usize,
    /// Page size.
    pub count: usize,
    /// Attributes to return (top-level names, lower case).
    pub attributes: Vec<String>,
    /// Attributes not to return (lower case).
    pub excluded: Vec<String>,
}

/// Default and largest page size.
pub const MAX_RESULTS: usize = 1000;

impl ListQuery {
    /// Reads the list parameters from a query string map.
    pub fn from_params(params: &HashMap<String, String>) -> Result<Self, Error> {
        let get = |k: &str| {
            params
                .iter()
                .find(|(key, _)| key.eq_ignore_ascii_case(k))
                .map(|(_, v)| v.clone())
        };
        let number = |k: &str, default: i64| -> Result<i64, Error> {
            match get(k) {
                None => Ok(default),
                Some(v) if v.trim().is_empty() => Ok(default),
                Some(v) => v
                    .trim()
                    .parse::<i64>()
                    .map_err(|_| Error::InvalidValue(format!("{k} must be an integer, got {v:?}"))),
            }
        };
        let split = |v: Option<String>| -> Vec<String> {
            v.map(|s| {
                s.split(',')
                    .map(|a| a.trim().to_ascii_lowercase())
                    .filter(|a| !a.is_empty())
                    .collect()
            })
            .unwrap_or_default()
        };
        Ok(ListQuery {
            filter: get("filter").filter(|f| !f.trim().is_empty()),
            start_index: number("startIndex", 1)?.max(1) as usize,
            count: number("count", MAX_RESULTS as i64)?.clamp(0, MAX_RESULTS as i64) as usize,
            attributes: split(get("attributes")),
            excluded: split(get("excludedAttributes")),
        })
    }

    /// Whether `members` must be returned.
    pub fn wants(&self, attr: &str) -> bool {
        let attr = attr.to_ascii_lowercase();
        let named = |list: &[String]| {
            list.iter()
                .any(|a| a == &attr || a.split(['.', ':']).any(|seg| seg == attr))
        };
        !named(&self.excluded) && (self.attributes.is_empty() || named(&self.attributes))
    }

    /// Applies `attributes` / `excludedAttributes` to one resource (top-level attributes and
    /// `a.b` sub-attributes; `id`, `schemas` and `meta` are always returned).
    pub fn project(&self, mut v: Value) -> Value {
        let Value::Object(o) = &mut v else { return v };
        const ALWAYS: [&str; 3] = ["id", "schemas", "meta"];
        if !self.attributes.is_empty() {
            o.retain(|k, _| {
                let k = k.to_ascii_lowercase();
                ALWAYS.contains(&k.as_str())
                    || self.attributes.iter().any(|a| {
                        let a = a.rsplit(':').next().unwrap_or(a);
                        a == k || a.split('.').next() == Some(k.as_str())
                    })
                    || self
                        .attributes
                        .iter()
                        .any(|a| a.starts_with(&k) && k.starts_with("urn:"))
            });
        }
        for ex in &self.excluded {
            let ex = ex.rsplit(':').next().unwrap_or(ex);
            match ex.split_once('.') {
                None => o.retain(|k, _| !k.eq_ignore_ascii_case(ex) || ALWAYS.contains(&ex)),
                Some((attr, sub)) => {
                    if let Some(Value::Object(inner)) = o
                        .iter_mut()
                        .find(|(k, _)| k.eq_ignore_ascii_case(attr))
                        .map(|(_, v)| v)
                    {
                        inner.retain(|k, _| !k.eq_ignore_ascii_case(sub));
                    }
                }
            }
        }
        v
    }
}

/// The parameters of a `POST /.search` body (RFC 7644 §3.4.3) as query parameters.
pub fn search_params(headers: &HeaderMap, body: &[u8]) -> Result<HashMap<String, String>, Error> {
    let Value::Object(o) = json_body(headers, body)? else {
        return Err(Error::InvalidSyntax(
            "a SearchRequest must be a JSON object".into(),
        ));
    };
    let mut params = HashMap::new();
    for (k, v) in o {
        let text = match v {
            Value::String(s) => s,
            Value::Number(n) => n.to_string(),
            Value::Array(items) => items
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(","),
            _ => continue,
        };
        params.insert(k, text);
    }
    Ok(params)
}

/// A `ListResponse` for one page of `all` (already filtered and ordered).
pub fn list_response(all: Vec<Value>, q: &ListQuery) -> Response {
    let total = all.len();
    let page: Vec<Value> = all
        .into_iter()
        .skip(q.start_index - 1)
        .take(q.count)
        .map(|v| q.project(v))
        .collect();
    let body = serde_json::json!({
        "schemas": [super::mapping::LIST_SCHEMA],
        "totalResults": total,
        "startIndex": q.start_index,
        "itemsPerPage": page.len(),
        "Resources": page,
    });
    let mut resp = (StatusCode::OK, body.to_string()).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, HeaderValue::from_static(SCIM_JSON));
    resp
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn q(pairs: &[(&str, &str)]) -> ListQuery {
        let m: HashMap<String, String> = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        ListQuery::from_params(&m).unwrap()
    }

    #[test]
    fn list_parameters() {
        let d = q(&[]);
        assert_eq!((d.start_index, d.count), (1, MAX_RESULTS));
        let p = q(&[("startIndex", "0"), ("count", "-4")]);
        assert_eq!((p.start_index, p.count), (1, 0), "RFC 7644 §3.4.2.4 clamps");
        assert!(ListQuery::from_params(&HashMap::from([("count".into(), "x".into())])).is_err());
        let ex = q(&[("excludedAttributes", "members")]);
        assert!(!ex.wants("members"));
        assert!(q(&[]).wants("members"));
        assert!(!q(&[("attributes", "displayName")]).wants("members"));
    }

    #[test]
    fn projection_keeps_id_schemas_meta() {
        let v = json!({"id":"1","schemas":[],"meta":{},"displayName":"G","members":[],"name":{"givenName":"a","familyName":"b"}});
        let p = q(&[("attributes", "displayName")]).project(v.clone());
        assert_eq!(
            p,
            json!({"id":"1","schemas":[],"meta":{},"displayName":"G"})
        );
        let p = q(&[("excludedAttributes", "members,name.givenName,id")]).project(v);
        assert!(p.get("members").is_none());
        assert_eq!(p["name"], json!({"familyName":"b"}));
        assert_eq!(p["id"], "1");
    }
}
