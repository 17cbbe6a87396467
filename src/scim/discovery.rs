//! Discovery endpoints (RFC 7644 §4): `ServiceProviderConfig`, `ResourceTypes`, `Schemas`.

use std::collections::HashMap;

use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Value, json};

use super::endpoint::Endpoint;
use super::error::Error;
use super::mapping::{ENTERPRISE_SCHEMA, GROUP_SCHEMA, LIST_SCHEMA, USER_SCHEMA};
use super::response::{MAX_RESULTS, scim};

const SPC_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig";
const RT_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:ResourceType";
const SCHEMA_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Schema";

fn list(resources: Vec<Value>) -> Value {
    json!({
        "schemas": [LIST_SCHEMA],
        "totalResults": resources.len(),
        "startIndex": 1,
        "itemsPerPage": resources.len(),
        "Resources": resources,
    })
}

/// `GET /ServiceProviderConfig`.
pub async fn service_provider_config(ep: Endpoint) -> Response {
    scim(
        StatusCode::OK,
        &json!({
            "schemas": [SPC_SCHEMA],
            "documentationUri": "https://github.com/lastpass-operator/lastpass-operator#scim",
            "patch": {"supported": true},
            "bulk": {"supported": false, "maxOperations": 0, "maxPayloadSize": 0},
            "filter": {"supported": true, "maxResults": MAX_RESULTS},
            "changePassword": {"supported": false},
            "sort": {"supported": false},
            "etag": {"supported": true},
            "authenticationSchemes": [{
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": "The operator-minted token from the Secret <integration>-scim-token (key token)",
                "primary": true
            }],
            "meta": {"resourceType": "ServiceProviderConfig", "location": format!("{}/ServiceProviderConfig", ep.url)}
        }),
    )
}

fn resource_types_of(ep: &Endpoint) -> Vec<Value> {
    vec![
        json!({
            "schemas": [RT_SCHEMA], "id": "User", "name": "User", "endpoint": "/Users",
            "description": "A LastPass user (LastPassUser resource)", "schema": USER_SCHEMA,
            "schemaExtensions": [{"schema": ENTERPRISE_SCHEMA, "required": false}],
            "meta": {"resourceType": "ResourceType", "location": format!("{}/ResourceTypes/User", ep.url)}
        }),
        json!({
            "schemas": [RT_SCHEMA], "id": "Group", "name": "Group", "endpoint": "/Groups",
            "description": "A LastPass group (LastPassGroup resource)", "schema": GROUP_SCHEMA,
            "meta": {"resourceType": "ResourceType", "location": format!("{}/ResourceTypes/Group", ep.url)}
        }),
    ]
}

/// `GET /ResourceTypes`.
pub async fn resource_types(ep: Endpoint) -> Response {
    scim(StatusCode::OK, &list(resource_types_of(&ep)))
}

/// `GET /ResourceTypes/{id}`.
pub async fn resource_type(
    ep: Endpoint,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Response, Error> {
    let id = params.get("id").cloned().unwrap_or_default();
    resource_types_of(&ep)
        .into_iter()
        .find(|r| r["id"] == id.as_str())
        .map(|r| scim(StatusCode::OK, &r))
        .ok_or(Error::NotFound {
            kind: "ResourceType",
            id,
        })
}

fn attr(name: &str, ty: &str, extra: Value) -> Value {
    let mut a = json!({
        "name": name, "type": ty, "multiValued": false, "required": false,
        "caseExact": false, "mutability": "readWrite", "returned": "default", "uniqueness": "none",
    });
    if let (Value::Object(a), Value::Object(extra)) = (&mut a, extra) {
        a.extend(extra);
    }
    a
}

fn multi(name: &str, description: &str) -> Value {
    attr(
        name,
        "complex",
        json!({"multiValued": true, "description": description, "subAttributes": [
            attr("value", "string", json!({})),
            attr("display", "string", json!({})),
            attr("type", "string", json!({})),
            attr("primary", "boolean", json!({})),
        ]}),
    )
}

fn schemas_of(ep: &Endpoint) -> Vec<Value> {
    let loc = |id: &str| json!({"resourceType": "Schema", "location": format!("{}/Schemas/{id}", ep.url)});
    vec![
        json!({
            "schemas": [SCHEMA_SCHEMA], "id": USER_SCHEMA, "name": "User", "description": "User Account",
            "attributes": [
                attr("userName", "string", json!({"required": true, "uniqueness": "server",
                    "description": "The LastPass username, an e-mail address; immutable (mutability is readWrite for the IdP's first write only)"})),
                attr("name", "complex", json!({"subAttributes": [
                    attr("formatted", "string", json!({})), attr("givenName", "string", json!({})),
                    attr("familyName", "string", json!({})), attr("middleName", "string", json!({})),
                ]})),
                attr("displayName", "string", json!({})),
                attr("title", "string", json!({})),
                attr("active", "boolean", json!({"description": "false suspends the LastPass account"})),
                attr("externalId", "string", json!({"caseExact": true})),
                attr("password", "string", json!({"mutability": "writeOnly", "returned": "never",
                    "description": "Accepted and discarded: LastPass users set their own master password"})),
                multi("emails", "E-mail addresses"),
                multi("phoneNumbers", "Phone numbers"),
                multi("groups", "Groups (read-only)"),
            ],
            "meta": loc(USER_SCHEMA),
        }),
        json!({
            "schemas": [SCHEMA_SCHEMA], "id": GROUP_SCHEMA, "name": "Group", "description": "Group",
            "attributes": [
                attr("displayName", "string", json!({"required": true, "uniqueness": "server",
                    "description": "The LastPass group name; a change renames the group"})),
                attr("externalId", "string", json!({"caseExact": true})),
                multi("members", "Members by SCIM user id"),
            ],
            "meta": loc(GROUP_SCHEMA),
        }),
        json!({
            "schemas": [SCHEMA_SCHEMA], "id": ENTERPRISE_SCHEMA, "name": "EnterpriseUser",
            "description": "Enterprise User (kept as sent; not provisioned to LastPass)",
            "attributes": [
                attr("employeeNumber", "string", json!({})), attr("department", "string", json!({})),
                attr("organization", "string", json!({})), attr("division", "string", json!({})),
                attr("costCenter", "string", json!({})),
                attr("manager", "complex", json!({"subAttributes": [attr("value", "string", json!({})), attr("displayName", "string", json!({}))]})),
            ],
            "meta": loc(ENTERPRISE_SCHEMA),
        }),
    ]
}

/// `GET /Schemas`.
pub async fn schemas(ep: Endpoint) -> Response {
    scim(StatusCode::OK, &list(schemas_of(&ep)))
}

/// `GET /Schemas/{id}`.
pub async fn schema(
    ep: Endpoint,
    Path(params): Path<HashMap<String, String>>,
) -> Result<Response, Error> {
    let id = params.get("id").cloned().unwrap_or_default();
    schemas_of(&ep)
        .into_iter()
        .find(|s| s["id"] == id.as_str())
        .map(|s| scim(StatusCode::OK, &s))
        .ok_or(Error::NotFound { kind: "Schema", id })
}
