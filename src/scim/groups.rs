//! `/Groups`: list (filter, paging, `excludedAttributes=members`), get, create, replace,
//! patch, delete.
//!
//! A `displayName` change is a rename: `spec.groupName` is immutable, so a new LastPassGroup
//! (same SCIM id, new name) is created and the old one deleted; the engine then moves the
//! members in LastPass. The IdP keeps the same id throughout.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kube::ResourceExt;
use kube::api::{Api, DeleteParams, Preconditions};
use serde_json::{Value, json};

use super::endpoint::Endpoint;
use super::error::Error;
use super::mapping::{self, GroupFields};
use super::members::{self, Members};
use super::request::{ListRequest, ResourceRequest};
use super::response::{ListQuery, json_body, list_response, scim};
use super::store::Read;
use super::writes::{self, Edit, id, now, retry_conflicts};
use super::{patch, store};
use crate::crd::{GroupPolicy, LastPassGroup, LastPassGroupSpec, PENDING_MEMBERS_ANNOTATION};

/// `GET /Groups` and `POST /Groups/.search`.
pub async fn list(ep: Endpoint, req: ListRequest) -> Result<Response, Error> {
    let ListRequest { query: q, filter } = req;
    // Members are resolved only when asked for, or when the filter may look at them.
    let need_members = q.wants("members")
        || q.filter
            .as_deref()
            .is_some_and(|f| f.to_ascii_lowercase().contains("members"));
    let members = if need_members {
        Some(store::members_by_username(
            &store::scim_users(&ep, Read::Cached).await?,
        ))
    } else {
        None
    };
    let (groups_url, users_url) = (ep.groups_url(), ep.users_url());
    let all: Vec<Value> = store::scim_groups(&ep)
        .await?
        .iter()
        .map(|g| mapping::group_to_scim(g, &groups_url, &users_url, members.as_ref()))
        .filter(|v| filter.as_ref().is_none_or(|f| f.matches(v)))
        .collect();
    Ok(list_response(all, &q))
}

async fn to_scim(ep: &Endpoint, g: &LastPassGroup, with_members: bool) -> Result<Value, Error> {
    let members = if with_members {
        Some(store::members_by_username(
            &store::scim_users(ep, Read::Cached).await?,
        ))
    } else {
        None
    };
    Ok(mapping::group_to_scim(
        g,
        &ep.groups_url(),
        &ep.users_url(),
        members.as_ref(),
    ))
}

/// `GET /Groups/{id}`.
pub async fn get(
    ep: Endpoint,
    Path(params): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, Error> {
    let q = ListQuery::from_params(&query)?;
    let g = store::find_group(&ep, &id(&params)).await?;
    let v = to_scim(&ep, &g, q.wants("members")).await?;
    Ok(scim(StatusCode::OK, &q.project(v)))
}

/// Creates the group's resource; `policy` is the CRD default for a new group and the old
/// resource's for a rename, so a policy a person set is never overwritten. The take-over
/// annotation is never written here (a renamed group is another LastPass group).
async fn create_group(
    ep: &Endpoint,
    f: &GroupFields,
    members: &Members,
    scim_id: &str,
    policy: GroupPolicy,
) -> Result<LastPassGroup, Error> {
    let stamp = now();
    let build = |name: String| {
        let mut g = LastPassGroup::new(
            &name,
            LastPassGroupSpec {
                integration_ref: ep.integration_ref(),
                group_name: f.group_name.clone(),
                members: members.usernames.clone(),
                member_selector: None,
                policy,
            },
        );
        g.metadata.namespace = Some(ep.namespace.clone());
        g.metadata.labels = Some(mapping::labels(&ep.integration, scim_id));
        let mut a = writes::annotations(&f.attributes, f.external_id.as_ref(), &stamp);
        if let Some(pending) = members.annotation() {
            a.insert(PENDING_MEMBERS_ANNOTATION.to_string(), pending);
        }
        g.metadata.annotations = Some(a);
        g
    };
    store::create_named(ep, &f.group_name, "scim-group", build, || {
        store::check_group_name_free(ep, &f.group_name, Some(scim_id))
    })
    .await
}

/// `POST /Groups`: 201; 409 `uniqueness` when a group of this integration has the name.
pub async fn create(ep: Endpoint, headers: HeaderMap, body: Bytes) -> Result<Response, Error> {
    let doc = json_body(&headers, &body)?;
    mapping::check_member_count(&doc)?;
    let f = mapping::group_fields(&doc)?;
    store::check_group_name_free(&ep, &f.group_name, None).await?;
    let users = store::scim_users(&ep, Read::Cached).await?;
    let members = members::resolve(&f.member_ids, &users)?;
    let g = create_group(&ep, &f, &members, &store::new_id(), GroupPolicy::default()).await?;
    tracing::info!(namespace = %ep.namespace, integration = %ep.integration, group = %g.name_any(), "SCIM created a LastPassGroup");
    let v = mapping::group_to_scim(
        &g,
        &ep.groups_url(),
        &ep.users_url(),
        Some(&store::members_by_username(&users)),
    );
    Ok(scim(StatusCode::CREATED, &v))
}

/// Writes the SCIM document onto the group (PUT and PATCH end here); renames when the
/// `displayName` changed.
async fn write(
    ep: &Endpoint,
    g: &LastPassGroup,
    doc: &Value,
    version: Option<String>,
) -> Result<Response, Error> {
    let f = mapping::group_fields(doc)?;
    // From the store: a member this replica created is waited for; one another replica
    // created a moment ago and the store does not show yet stays pending, and the engine
    // resolves it (nothing is lost).
    let users = store::scim_users(ep, Read::Cached).await?;
    let members = members::resolve(&f.member_ids, &users)?;
    let scim_id = mapping::scim_id(&g.metadata);
    let api: Api<LastPassGroup> = Api::namespaced(ep.client.clone(), &ep.namespace);
    let name = g.name_any();
    let updated = if f.group_name == g.spec.group_name {
        let meta = json!({"annotations": {
            mapping::ATTRIBUTES_ANNOTATION: f.attributes,
            mapping::LAST_MODIFIED_ANNOTATION: now(),
            mapping::EXTERNAL_ID_ANNOTATION: f.external_id,
            PENDING_MEMBERS_ANNOTATION: members.annotation(),
        }});
        let spec = json!({"members": members.usernames});
        writes::merge_patch(ep, g, meta, spec, version.as_deref()).await?
    } else {
        store::check_group_name_free(ep, &f.group_name, Some(&scim_id)).await?;
        let renamed = create_group(ep, &f, &members, &scim_id, g.spec.policy).await?;
        let dp = DeleteParams {
            preconditions: Some(Preconditions {
                uid: g.metadata.uid.clone(),
                resource_version: version.clone().or(g.metadata.resource_version.clone()),
            }),
            ..Default::default()
        };
        let deleted = api.delete(&name, &dp).await;
        if let Ok(gone) = &deleted {
            let kind = "LastPassGroup";
            gone.as_ref().either(
                |kept| ep.stores.deleted(kind, &g.metadata, Some(&kept.metadata)),
                |_| ep.stores.deleted(kind, &g.metadata, None),
            );
        }
        if let Err(e) = deleted {
            // Undo the new group, so the IdP's retry starts from the same state.
            let _ = api
                .delete(&renamed.name_any(), &DeleteParams::default())
                .await;
            return Err(store::precondition(
                Error::kube(
                    format!("delete renamed LastPassGroup {}/{name}", ep.namespace),
                    e,
                ),
                version.as_deref(),
            ));
        }
        tracing::info!(namespace = %ep.namespace, integration = %ep.integration, from = %name, to = %renamed.name_any(), "SCIM renamed a group");
        renamed
    };
    let v = mapping::group_to_scim(
        &updated,
        &ep.groups_url(),
        &ep.users_url(),
        Some(&store::members_by_username(&users)),
    );
    Ok(scim(StatusCode::OK, &v))
}

/// `PUT /Groups/{id}`.
pub async fn replace(ep: Endpoint, req: ResourceRequest) -> Result<Response, Error> {
    let doc = req.json()?;
    mapping::check_member_count(&doc)?;
    update(&ep, &req, Edit::Replace(doc)).await
}

/// `PATCH /Groups/{id}`: member add/remove in every provider's form, rename.
pub async fn patch(ep: Endpoint, req: ResourceRequest) -> Result<Response, Error> {
    let edit = Edit::Patch(patch::operations(&req.json()?)?);
    update(&ep, &req, edit).await
}

/// Reads the group fresh, applies `edit` and writes it, again after a concurrent write.
async fn update(ep: &Endpoint, req: &ResourceRequest, edit: Edit) -> Result<Response, Error> {
    retry_conflicts(req.version.as_deref(), || async {
        let g = store::find_group(ep, &req.id).await?;
        let doc = edit.apply(to_scim(ep, &g, true)).await?;
        write(ep, &g, &doc, req.version.clone()).await
    })
    .await
}

/// `DELETE /Groups/{id}`: 204.
pub async fn delete(ep: Endpoint, req: ResourceRequest) -> Result<Response, Error> {
    let g = store::find_group(&ep, &req.id).await?;
    let name = g.name_any();
    writes::delete(&ep, &g, req.version).await?;
    tracing::info!(namespace = %ep.namespace, integration = %ep.integration, group = %name, "SCIM deleted a LastPassGroup");
    Ok(StatusCode::NO_CONTENT.into_response())
}
