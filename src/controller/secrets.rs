//! The Secrets an account sync reads and owns: the LastPass credentials, and the generated
//! initial passwords (created before an invitation, deleted after the first login).

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

use k8s_openapi::ByteString;
use k8s_openapi::api::core::v1::Secret;
use kube::api::{Api, DeleteParams, PostParams, Preconditions};
use kube::{Resource, ResourceExt};
use secrecy::{ExposeSecret, SecretString};
use tracing::{info, warn};

use crate::crd::{DirectoryIntegration, InitialPassword, LastPassUser};
use crate::engine::account::AccountSync;
use crate::engine::desire::{Desire, Issue};
use crate::engine::model::ResourceRef;
use crate::engine::password;

use super::context::Context;
use super::error::{Error, kube as kube_err};

/// Key of the generated password in `<user>-initial-password`.
pub const PASSWORD_KEY: &str = "password";

fn secret_value(secret: &Secret, key: &str) -> Option<String> {
    if let Some(v) = secret.data.as_ref().and_then(|d| d.get(key)) {
        return String::from_utf8(v.0.clone()).ok();
    }
    secret
        .string_data
        .as_ref()
        .and_then(|d| d.get(key))
        .cloned()
}

/// Reads `cid` and `provhash` from the integration's credentials Secret.
pub async fn credentials(
    ctx: &Context,
    i: &DirectoryIntegration,
) -> Result<(String, SecretString), Error> {
    let ns = i.namespace().unwrap_or_default();
    let r = &i.spec.lastpass.credentials_secret_ref;
    let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
    let secret = api
        .get_opt(&r.name)
        .await
        .map_err(kube_err(format!("reading Secret {ns}/{}", r.name)))?
        .ok_or_else(|| {
            Error::Credentials(format!(
                "Secret {ns}/{} (spec.lastpass.credentialsSecretRef) does not exist",
                r.name
            ))
        })?;
    let missing =
        |key: &str| Error::Credentials(format!("Secret {ns}/{} has no key {key:?}", r.name));
    let cid = secret_value(&secret, &r.cid_key).ok_or_else(|| missing(&r.cid_key))?;
    let provhash =
        secret_value(&secret, &r.provhash_key).ok_or_else(|| missing(&r.provhash_key))?;
    Ok((
        cid.trim().to_string(),
        SecretString::from(provhash.trim().to_string()),
    ))
}

/// Name of the Secret holding `user`'s generated initial password.
pub fn secret_name(user: &LastPassUser) -> String {
    format!("{}-initial-password", user.name_any())
}

/// Whether `secret` was created by the operator for `user`: its controller owner reference
/// carries the user's UID. Only such a Secret is ever read as an initial password (anyone with
/// write access to a namespace can create a Secret of the expected name).
fn owned_by(secret: &Secret, user: &LastPassUser) -> bool {
    let Some(uid) = user.metadata.uid.as_deref() else {
        return false;
    };
    secret
        .metadata
        .owner_references
        .iter()
        .flatten()
        .any(|o| o.controller == Some(true) && o.kind == "LastPassUser" && o.uid == uid)
}

/// Generated passwords of admitted users still to be invited, each persisted in a Secret owned
/// by its user before it is sent (so a crash cannot lose it, and a resync reuses it).
///
/// Only the admitted owners of this integration are considered. A Secret of the expected name
/// that the operator did not create for that user takes the user out of the plan
/// (`InitialPasswordConflict`): it is never read, and the user is not invited.
pub async fn initial_passwords(
    ctx: &Context,
    desire: &mut Desire,
    users: &HashMap<ResourceRef, &Arc<LastPassUser>>,
) -> BTreeMap<String, SecretString> {
    let mut out = BTreeMap::new();
    let wanted: Vec<(String, Arc<LastPassUser>)> = desire
        .desired
        .users
        .iter()
        .filter_map(|(key, want)| Some((key.clone(), Arc::clone(users.get(&want.resource)?))))
        .filter(|(_, u)| {
            u.spec.initial_password == InitialPassword::Generate
                && u.status
                    .as_ref()
                    .and_then(|s| s.lastpass_id.as_ref())
                    .is_none()
        })
        .collect();
    for (key, user) in wanted {
        let ns = user.namespace().unwrap_or_default();
        let api: Api<Secret> = Api::namespaced(ctx.client.clone(), &ns);
        let name = secret_name(&user);
        let existing = match api.get_opt(&name).await {
            Ok(s) => s,
            Err(e) => {
                warn!(error = %e, secret = %name, "cannot read the initial-password Secret; the user waits");
                desire.hold_back_user(&key);
                continue;
            }
        };
        let password = match existing {
            Some(secret) if !owned_by(&secret, &user) => {
                warn!(secret = %name, namespace = %ns, "initial-password Secret not created by the operator for this user; not used");
                let issue = Issue::InitialPasswordConflict {
                    namespace: ns.clone(),
                    secret: name.clone(),
                };
                desire.exclude_user(&key, issue);
                continue;
            }
            Some(secret) => match secret_value(&secret, PASSWORD_KEY) {
                Some(p) => SecretString::from(p),
                None => {
                    warn!(secret = %name, "the operator's initial-password Secret has no password; the user waits");
                    desire.hold_back_user(&key);
                    continue;
                }
            },
            None => {
                let password = password::generate();
                let mut secret = Secret::default();
                secret.metadata.name = Some(name.clone());
                secret.metadata.owner_references = user.controller_owner_ref(&()).map(|o| vec![o]);
                secret.data = Some(BTreeMap::from([(
                    PASSWORD_KEY.to_string(),
                    ByteString(password.expose_secret().as_bytes().to_vec()),
                )]));
                if let Err(e) = api.create(&PostParams::default(), &secret).await {
                    warn!(error = %e, secret = %name, "cannot create the initial-password Secret; the user waits");
                    desire.hold_back_user(&key);
                    continue;
                }
                password
            }
        };
        out.insert(key, password);
    }
    out
}

/// Deletes the initial-password Secrets of this integration's admitted users whom LastPass
/// reports as logged in — only Secrets the operator created for that user, and only that exact
/// Secret (UID precondition).
pub async fn forget_used_passwords(
    ctx: &Context,
    users: &HashMap<ResourceRef, &Arc<LastPassUser>>,
    sync: &AccountSync,
) {
    let Some(observed) = sync.outcome.observed.as_ref() else {
        return;
    };
    for want in sync.desire.desired.users.values() {
        let Some(user) = users.get(&want.resource) else {
            continue;
        };
        let logged_in = observed
            .user(&want.username)
            .is_some_and(|u| !u.never_logged_in);
        if user.spec.initial_password != InitialPassword::Generate || !logged_in {
            continue;
        }
        let api: Api<Secret> =
            Api::namespaced(ctx.client.clone(), &user.namespace().unwrap_or_default());
        let name = secret_name(user);
        let secret = match api.get_opt(&name).await {
            Ok(Some(s)) if owned_by(&s, user) => s,
            Ok(_) => continue,
            Err(e) => {
                warn!(error = %e, "cannot read an initial-password Secret");
                continue;
            }
        };
        let params = DeleteParams {
            preconditions: Some(Preconditions {
                uid: secret.metadata.uid.clone(),
                resource_version: None,
            }),
            ..DeleteParams::default()
        };
        match api.delete(&name, &params).await {
            Ok(_) => {
                info!(user = %user.name_any(), "first login seen; initial password Secret deleted")
            }
            Err(kube::Error::Api(e)) if e.code == 404 || e.code == 409 => {}
            Err(e) => warn!(error = %e, "cannot delete an initial-password Secret"),
        }
    }
}
