//! `/Users`: list (filter, paging), get, create, replace (PUT), patch, delete.

use std::collections::{BTreeMap, HashMap};

use axum::body::Bytes;
use axum::extract::{Path, Query};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use kube::ResourceExt;
use kube::api::{Api, Patch, PatchParams};
use serde_json::{Value, json};

use super::endpoint::Endpoint;
use super::error::Error;
use super::mapping::{self, UserFields};
use super::members::Members;
use super::request::{ListRequest, ResourceRequest};
use super::response::{ListQuery, json_body, list_response, scim};
use super::store::Read;
use super::writes::{self, Edit, RETRIES, conflict_pause, id, now, retry_conflicts};
use super::{patch, store};
use crate::crd::{
    LastPassGroup, LastPassUser, LastPassUserSpec, PENDING_MEMBERS_ANNOTATION, pending_member_ids,
};

/// `GET /Users` and `POST /Users/.search`.
pub async fn list(ep: Endpoint, req: ListRequest) -> Result<Response, Error> {
    let ListRequest { query: q, filter } = req;
    let url = ep.users_url();
    // The lookup every IdP makes: select by the userName hash label, then filter exactly.
    // The label hashes the LastPass username, which is the userName whenever the userName is
    // an e-mail; a userName that is not one is looked up among all users.
    let candidates = match filter.as_ref().and_then(|f| f.simple_eq()) {
        Some((attr, v)) if attr == "username" && mapping::is_email(v) => {
            store::scim_users_named(&ep, v).await?
        }
        Some((attr, v)) if attr == "externalid" => store::scim_users_by_external_id(&ep, v).await?,
        _ => store::scim_users(&ep, Read::Cached).await?,
    };
    let all: Vec<Value> = candidates
        .iter()
        .map(|u| mapping::user_to_scim(u, &url))
        .filter(|v| filter.as_ref().is_none_or(|f| f.matches(v)))
        .collect();
    Ok(list_response(all, &q))
}

/// `GET /Users/{id}`.
pub async fn get(
    ep: Endpoint,
    Path(params): Path<HashMap<String, String>>,
    Query(query): Query<HashMap<String, String>>,
) -> Result<Response, Error> {
    let q = ListQuery::from_params(&query)?;
    let u = store::find_user(&ep, &id(&params), Read::Cached).await?;
    Ok(scim(
        StatusCode::OK,
        &q.project(mapping::user_to_scim(&u, &ep.users_url())),
    ))
}

/// `POST /Users`: 201 with the user; 409 `uniqueness` when the userName is taken.
pub async fn create(ep: Endpoint, headers: HeaderMap, body: Bytes) -> Result<Response, Error> {
    let doc = json_body(&headers, &body)?;
    let f = mapping::user_fields(&doc)?;
    store::check_username_free(&ep, &f.username, None, Read::Cached).await?;
    let scim_id = store::new_id();
    let stamp = now();
    let build = |name: String| {
        let mut u = LastPassUser::new(
            &name,
            LastPassUserSpec {
                integration_ref: ep.integration_ref(),
                username: f.username.clone(),
                full_name: f.full_name.clone(),
                groups: Vec::new(),
                attributes: BTreeMap::new(),
                suspended: f.suspended,
                password_reset_required: true,
                initial_password: Default::default(),
                deprovision_action: None,
            },
        );
        u.metadata.namespace = Some(ep.namespace.clone());
        let mut labels = mapping::labels(&ep.integration, &scim_id);
        labels.insert(
            mapping::USERNAME_HASH_LABEL.to_string(),
            mapping::username_hash(&f.username),
        );
        u.metadata.labels = Some(labels);
        u.metadata.annotations = Some(annotations(&f, &stamp));
        u
    };
    let u: LastPassUser = store::create_named(&ep, &f.username, "scim-user", build, || {
        store::check_username_free(&ep, &f.username, None, Read::Fresh)
    })
    .await?;
    tracing::info!(namespace = %ep.namespace, integration = %ep.integration, user = %u.name_any(), "SCIM created a LastPassUser");
    Ok(scim(
        StatusCode::CREATED,
        &mapping::user_to_scim(&u, &ep.users_url()),
    ))
}

fn annotations(f: &UserFields, stamp: &str) -> BTreeMap<String, String> {
    let mut a = writes::annotations(&f.attributes, f.external_id.as_ref(), stamp);
    if f.scim_username != f.username {
        a.insert(
            mapping::SCIM_USERNAME_ANNOTATION.to_string(),
            f.scim_username.clone(),
        );
    }
    a
}

/// Writes the SCIM document `doc` onto the existing user `u` (PUT and PATCH end here).
async fn write(
    ep: &Endpoint,
    u: &LastPassUser,
    doc: &Value,
    version: Option<String>,
) -> Result<Response, Error> {
    let f = mapping::user_fields_of_existing(doc, &u.spec.username)?;
    let current = mapping::scim_username(u);
    if !f.scim_username.eq_ignore_ascii_case(current) {
        return Err(Error::Mutability(format!(
            "userName is immutable: {current} cannot become {}; LastPass does not support username changes, so create a new user and delete this one",
            f.scim_username
        )));
    }
    let meta = json!({
        "annotations": {
            mapping::ATTRIBUTES_ANNOTATION: f.attributes,
            mapping::LAST_MODIFIED_ANNOTATION: now(),
            mapping::EXTERNAL_ID_ANNOTATION: f.external_id,
        }
    });
    let spec = json!({"fullName": f.full_name, "suspended": f.suspended});
    let updated = writes::merge_patch(ep, u, meta, spec, version.as_deref()).await?;
    Ok(scim(
        StatusCode::OK,
        &mapping::user_to_scim(&updated, &ep.users_url()),
    ))
}

/// `PUT /Users/{id}`: replaces the user's attributes (Okta's profile updates and
/// `active: false`).
pub async fn replace(ep: Endpoint, req: ResourceRequest) -> Result<Response, Error> {
    let edit = Edit::Replace(req.json()?);
    update(&ep, &req, edit).await
}

/// `PATCH /Users/{id}`: RFC 7644 PATCH with the providers' dialects; answers 200 with the user.
pub async fn patch(ep: Endpoint, req: ResourceRequest) -> Result<Response, Error> {
    let edit = Edit::Patch(patch::operations(&req.json()?)?);
    update(&ep, &req, edit).await
}

/// Reads the user fresh, applies `edit` and writes it, again after a concurrent write.
async fn update(ep: &Endpoint, req: &ResourceRequest, edit: Edit) -> Result<Response, Error> {
    retry_conflicts(req.version.as_deref(), || async {
        let u = store::find_user(ep, &req.id, Read::Fresh).await?;
        let doc = edit.apply(async { Ok(mapping::user_to_scim(&u, &ep.users_url())) });
        write(ep, &u, &doc.await?, req.version.clone()).await
    })
    .await
}

/// `DELETE /Users/{id}`: deletes the resource (its finalizer deprovisions per policy, under
/// the deletion budget) and drops the user from the endpoint's groups. 204.
pub async fn delete(ep: Endpoint, req: ResourceRequest) -> Result<Response, Error> {
    let u = store::find_user(&ep, &req.id, Read::Fresh).await?;
    let name = u.name_any();
    writes::delete(&ep, &u, req.version).await?;
    tracing::info!(namespace = %ep.namespace, integration = %ep.integration, user = %name, "SCIM deleted a LastPassUser");
    drop_from_groups(&ep, &u.spec.username, &mapping::scim_id(&u.metadata)).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// Removes `username` (and the SCIM id `id`, when pending) from every group of the endpoint (a
/// deleted user leaves its groups), re-reading on conflicts.
async fn drop_from_groups(ep: &Endpoint, username: &str, id: &str) -> Result<(), Error> {
    let api: Api<LastPassGroup> = Api::namespaced(ep.client.clone(), &ep.namespace);
    for mut g in store::scim_groups(ep).await? {
        let mut attempt = 0;
        loop {
            let pending = pending_member_ids(&g);
            let listed = g
                .spec
                .members
                .iter()
                .any(|m| m.eq_ignore_ascii_case(username));
            if !listed && !pending.iter().any(|p| p == id) {
                break;
            }
            let members: Vec<&String> = g
                .spec
                .members
                .iter()
                .filter(|m| !m.eq_ignore_ascii_case(username))
                .collect();
            let rest = Members {
                usernames: Vec::new(),
                pending: pending.into_iter().filter(|p| p != id).collect(),
            };
            let body = json!({
                "metadata": {
                    "resourceVersion": g.metadata.resource_version,
                    "annotations": {PENDING_MEMBERS_ANNOTATION: rest.annotation()},
                },
                "spec": {"members": members},
            });
            let name = g.name_any();
            match api
                .patch(&name, &PatchParams::default(), &Patch::Merge(&body))
                .await
            {
                Ok(_) => break,
                Err(kube::Error::Api(s)) if s.code == 409 && attempt < RETRIES => {
                    attempt += 1;
                    conflict_pause(attempt).await;
                    g = api.get(&name).await.map_err(|e| {
                        Error::kube(format!("read LastPassGroup {}/{name}", ep.namespace), e)
                    })?;
                }
                Err(e) => {
                    return Err(Error::kube(
                        format!(
                            "remove {username} from LastPassGroup {}/{name}",
                            ep.namespace
                        ),
                        e,
                    ));
                }
            }
        }
    }
    Ok(())
}
