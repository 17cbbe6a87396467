//! The Kubernetes side of the SCIM server: which resources belong to an endpoint, lookups by
//! SCIM id, uniqueness of `userName` / group `displayName` across every source, and creation
//! under a deterministic, DNS-safe name with collision handling.
//!
//! Resources of another source, or of another integration, are never returned for writing:
//! every write goes through [`find_user`] / [`find_group`], which select on the
//! `lastpass-operator.io/source: scim` and integration labels.

use std::collections::BTreeMap;

use kube::api::{Api, ListParams, PostParams};
use kube::{Resource, ResourceExt};
use serde::Serialize;

use super::cache::{Cache, Indexed, Kind, Settled, WAIT_BOUND};
use super::consistency::Pending;
pub use super::consistency::Read;
use super::endpoint::Endpoint;
use super::error::Error;
use super::mapping::{self, ID_LABEL, INTEGRATION_LABEL, Member, SOURCE_SCIM};
use crate::crd::{IntegrationRef, LastPassGroup, LastPassUser, SOURCE_LABEL};

/// A fresh SCIM id: 128 random bits as a UUID (version 4) string.
pub fn new_id() -> String {
    let mut b: [u8; 16] = rand::random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Label selector of an endpoint's resources (and of one id).
pub fn selector(integration: &str, id: Option<&str>) -> String {
    let mut s = format!(
        "{SOURCE_LABEL}={SOURCE_SCIM},{INTEGRATION_LABEL}={}",
        mapping::integration_label_value(integration)
    );
    if let Some(id) = id.filter(|id| is_label_value(id)) {
        s.push_str(&format!(",{ID_LABEL}={id}"));
    }
    s
}

fn is_label_value(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 63
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && s.starts_with(|c: char| c.is_ascii_alphanumeric())
        && s.ends_with(|c: char| c.is_ascii_alphanumeric())
}

/// Whether a reference points at `ns/name` from a resource in `own_ns`.
pub fn refers_to(r: &IntegrationRef, own_ns: &str, ns: &str, name: &str) -> bool {
    r.name == name && r.namespace.as_deref().unwrap_or(own_ns) == ns
}

fn live<K: Resource>(items: Vec<K>) -> Vec<K> {
    let mut items: Vec<K> = items
        .into_iter()
        .filter(|k| k.meta().deletion_timestamp.is_none())
        .collect();
    items.sort_by(|a, b| {
        (
            a.meta().creation_timestamp.as_ref().map(|t| t.0),
            a.meta().name.as_deref(),
        )
            .cmp(&(
                b.meta().creation_timestamp.as_ref().map(|t| t.0),
                b.meta().name.as_deref(),
            ))
    });
    items
}

async fn list_labelled<K>(ep: &Endpoint, id: Option<&str>, what: &str) -> Result<Vec<K>, Error>
where
    K: Kind,
{
    list_selected(ep, &selector(&ep.integration, id), what).await
}

async fn list_selected<K>(ep: &Endpoint, selector: &str, what: &str) -> Result<Vec<K>, Error>
where
    K: Kind,
{
    Ok(live(raw_list(ep, selector, what).await?))
}

/// Whether `cache` shows every write of this replica in the endpoint's namespace matching
/// `pred` (waiting for it, bounded); false when the caller must read the API server instead.
/// Counted in metrics.
async fn settled<K: Indexed>(
    ep: &Endpoint,
    cache: &Cache<K>,
    pred: impl Fn(&Pending) -> bool,
) -> bool {
    let ns = ep.namespace.clone();
    let settled = cache
        .settle(|p| p.namespace == ns && pred(p), WAIT_BOUND)
        .await;
    if settled != Settled::AtOnce {
        crate::telemetry::metrics::global()
            .scim
            .waited(&K::kind(&()), settled == Settled::TimedOut);
    }
    settled != Settled::TimedOut
}

/// [`settled`] for the users store.
async fn users_settled(ep: &Endpoint, pred: impl Fn(&Pending) -> bool) -> bool {
    settled(ep, &ep.stores.users, pred).await
}

fn owned(users: Vec<std::sync::Arc<LastPassUser>>) -> Vec<LastPassUser> {
    users.into_iter().map(|u| (*u).clone()).collect()
}

/// The endpoint's users (SCIM-sourced, this integration, not being deleted), oldest first.
/// `Cached` reads the store once it shows this replica's writes in the namespace.
pub async fn scim_users(ep: &Endpoint, read: Read) -> Result<Vec<LastPassUser>, Error> {
    if read == Read::Cached && users_settled(ep, |_| true).await {
        let label = mapping::integration_label_value(&ep.integration);
        return Ok(live(owned(
            ep.stores.users.of_integration(&ep.namespace, &label),
        )));
    }
    list_labelled(ep, None, "LastPassUsers").await
}

/// The endpoint's users whose userName hash matches `username` (callers still compare the
/// userName itself: a hash may collide), from the store. This is the lookup an identity
/// provider makes before every create; a create re-checks freshly on a name collision.
pub async fn scim_users_named(ep: &Endpoint, username: &str) -> Result<Vec<LastPassUser>, Error> {
    let hash = mapping::username_hash(username);
    if users_settled(ep, |p| p.label(mapping::USERNAME_HASH_LABEL) == Some(&hash)).await {
        let label = mapping::integration_label_value(&ep.integration);
        let mine = ep
            .stores
            .users
            .by_unique_key(&ep.namespace, &hash)
            .into_iter()
            .filter(|u| {
                source_of(&u.metadata) == SOURCE_SCIM
                    && u.labels().get(INTEGRATION_LABEL) == Some(&label)
            })
            .collect();
        return Ok(live(owned(mine)));
    }
    let sel = format!(
        "{},{}={hash}",
        selector(&ep.integration, None),
        mapping::USERNAME_HASH_LABEL,
    );
    list_selected(ep, &sel, "LastPassUsers").await
}

/// The endpoint's users with this `externalId`, from the store.
pub async fn scim_users_by_external_id(
    ep: &Endpoint,
    external_id: &str,
) -> Result<Vec<LastPassUser>, Error> {
    if users_settled(ep, |_| true).await {
        let label = mapping::integration_label_value(&ep.integration);
        return Ok(live(owned(ep.stores.users.by_external_id(
            &ep.namespace,
            &label,
            external_id,
        ))));
    }
    Ok(list_labelled::<LastPassUser>(ep, None, "LastPassUsers")
        .await?
        .into_iter()
        .filter(|u| {
            u.annotations()
                .get(mapping::EXTERNAL_ID_ANNOTATION)
                .map(String::as_str)
                == Some(external_id)
        })
        .collect())
}

/// The endpoint's groups (SCIM-sourced, this integration, not being deleted), oldest first,
/// from the store once it shows this replica's writes in the namespace.
pub async fn scim_groups(ep: &Endpoint) -> Result<Vec<LastPassGroup>, Error> {
    if settled(ep, &ep.stores.groups, |_| true).await {
        let label = mapping::integration_label_value(&ep.integration);
        let groups = ep.stores.groups.of_integration(&ep.namespace, &label);
        return Ok(live(groups.into_iter().map(|g| (*g).clone()).collect()));
    }
    list_labelled(ep, None, "LastPassGroups").await
}

async fn find<K>(ep: &Endpoint, id: &str, kind: &'static str) -> Result<K, Error>
where
    K: Kind,
{
    let not_found = || Error::NotFound {
        kind,
        id: id.to_string(),
    };
    if !is_label_value(id) {
        return Err(not_found());
    }
    let mut hits: Vec<K> = list_labelled(ep, Some(id), kind).await?;
    if hits.is_empty() {
        // Resources labelled `source: scim` by hand have no id label: their id is the uid.
        hits = list_labelled::<K>(ep, None, kind)
            .await?
            .into_iter()
            .filter(|k| mapping::scim_id(k.meta()) == id)
            .collect();
    }
    hits.into_iter().next().ok_or_else(not_found)
}

/// The endpoint's user with this SCIM id, or 404. `Cached` answers from the store once it
/// shows this replica's writes of that id; a miss there is confirmed freshly (another replica
/// may have created it a moment ago), so a 404 is never stale.
pub async fn find_user(ep: &Endpoint, id: &str, read: Read) -> Result<LastPassUser, Error> {
    if read == Read::Cached && users_settled(ep, |p| p.label(mapping::ID_LABEL) == Some(id)).await {
        let label = mapping::integration_label_value(&ep.integration);
        if let Some(u) = ep.stores.users.by_id(&ep.namespace, &label, id)
            && u.metadata.deletion_timestamp.is_none()
        {
            return Ok((*u).clone());
        }
    }
    find(ep, id, "User").await
}

/// The endpoint's group with this SCIM id, or 404: from the store once it shows this
/// replica's writes of that id; a miss there is confirmed freshly, so a 404 is never stale.
pub async fn find_group(ep: &Endpoint, id: &str) -> Result<LastPassGroup, Error> {
    let groups = &ep.stores.groups;
    if settled(ep, groups, |p| p.label(mapping::ID_LABEL) == Some(id)).await {
        let label = mapping::integration_label_value(&ep.integration);
        if let Some(g) = groups.by_id(&ep.namespace, &label, id)
            && g.metadata.deletion_timestamp.is_none()
        {
            return Ok((*g).clone());
        }
    }
    find(ep, id, "Group").await
}

fn source_of(meta: &kube::api::ObjectMeta) -> &str {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(SOURCE_LABEL))
        .map_or("git", String::as_str)
}

/// Selects resources that are not SCIM's (`!=` also matches resources without the label).
const OTHER_SOURCES: &str = "lastpass-operator.io/source!=scim";

/// A quorum list of the namespace's `K`s selected by `selector`.
async fn raw_list<K>(ep: &Endpoint, selector: &str, what: &str) -> Result<Vec<K>, Error>
where
    K: Kind,
{
    Api::<K>::namespaced(ep.client.clone(), &ep.namespace)
        .list(&ListParams::default().labels(selector))
        .await
        .map(|l| l.items)
        .map_err(|e| Error::kube(format!("list {what} in {}", ep.namespace), e))
}

/// 409 `uniqueness` when a resource of this integration (any source) already declares
/// `username`, other than the SCIM user `except`. A `Cached` check is a pre-check only: the
/// create that follows re-checks `Fresh` when its name is taken.
pub async fn check_username_free(
    ep: &Endpoint,
    username: &str,
    except: Option<&str>,
    read: Read,
) -> Result<(), Error> {
    match username_free(ep, username, except, read).await {
        // A cached hit may be a user deleted a moment ago (through another replica): only a
        // fresh read may refuse the name.
        Err(Error::Uniqueness(_)) if read == Read::Cached => {
            username_free(ep, username, except, Read::Fresh).await
        }
        other => other,
    }
}

async fn username_free(
    ep: &Endpoint,
    username: &str,
    except: Option<&str>,
    read: Read,
) -> Result<(), Error> {
    let hash = mapping::username_hash(username);
    if read == Read::Cached
        && users_settled(ep, |p| p.label(mapping::USERNAME_HASH_LABEL) == Some(&hash)).await
    {
        // Every user of the namespace with this userName hash, of any source, deleting or not.
        let same = ep.stores.users.by_unique_key(&ep.namespace, &hash);
        return username_conflict(ep, username, except, same.iter().map(|u| u.as_ref()));
    }
    // Two narrow lists instead of the whole namespace: resources of other sources, and this
    // endpoint's users with the same userName hash (those being deleted included).
    let mine = format!(
        "{},{}={hash}",
        selector(&ep.integration, None),
        mapping::USERNAME_HASH_LABEL,
    );
    let mut all: Vec<LastPassUser> = raw_list(ep, OTHER_SOURCES, "LastPassUsers").await?;
    all.extend(raw_list(ep, &mine, "LastPassUsers").await?);
    username_conflict(ep, username, except, all.iter())
}

/// 409 when one of `users` declares `username` for this endpoint's integration (other than
/// the SCIM user `except`).
fn username_conflict<'a>(
    ep: &Endpoint,
    username: &str,
    except: Option<&str>,
    users: impl Iterator<Item = &'a LastPassUser>,
) -> Result<(), Error> {
    for u in users {
        let own_ns = u.namespace().unwrap_or_default();
        if !refers_to(
            &u.spec.integration_ref,
            &own_ns,
            &ep.namespace,
            &ep.integration,
        ) || !u.spec.username.eq_ignore_ascii_case(username)
        {
            continue;
        }
        let id = mapping::scim_id(&u.metadata);
        let mine = source_of(&u.metadata) == SOURCE_SCIM
            && u.labels().get(INTEGRATION_LABEL).map(String::as_str)
                == Some(mapping::integration_label_value(&ep.integration).as_str());
        if mine && except == Some(id.as_str()) {
            continue;
        }
        return Err(Error::Uniqueness(if !mine {
            format!(
                "userName {username} is already declared by LastPassUser {}/{} (source: {}); the SCIM endpoint does not touch resources of other sources",
                ep.namespace,
                u.name_any(),
                source_of(&u.metadata)
            )
        } else if u.metadata.deletion_timestamp.is_some() {
            format!("userName {username} is being deprovisioned (id {id}); retry once it is gone")
        } else {
            format!("userName {username} already exists (id {id})")
        }));
    }
    Ok(())
}

/// 409 `uniqueness` when a group of this integration already has `name` (any case), other
/// than the SCIM group `except`.
pub async fn check_group_name_free(
    ep: &Endpoint,
    name: &str,
    except: Option<&str>,
) -> Result<(), Error> {
    let mut all: Vec<LastPassGroup> = raw_list(ep, OTHER_SOURCES, "LastPassGroups").await?;
    all.extend(raw_list(ep, &selector(&ep.integration, None), "LastPassGroups").await?);
    for g in all {
        let own_ns = g.namespace().unwrap_or_default();
        if !refers_to(
            &g.spec.integration_ref,
            &own_ns,
            &ep.namespace,
            &ep.integration,
        ) || !g.spec.group_name.eq_ignore_ascii_case(name)
            || g.metadata.deletion_timestamp.is_some()
        {
            continue;
        }
        let id = mapping::scim_id(&g.metadata);
        let mine = source_of(&g.metadata) == SOURCE_SCIM;
        if mine && except == Some(id.as_str()) {
            continue;
        }
        return Err(Error::Uniqueness(if mine {
            format!("group displayName {name} already exists (id {id})")
        } else {
            format!(
                "group {name} is already declared by LastPassGroup {}/{} (source: {}); the SCIM endpoint does not touch resources of other sources",
                ep.namespace,
                g.name_any(),
                source_of(&g.metadata)
            )
        }));
    }
    Ok(())
}

/// Creates `build(name)` under the first free candidate name derived from `display`.
/// `recheck` runs after a name collision, so two racing creates of one userName do not both
/// succeed under different names.
pub async fn create_named<K, F, R, Fut>(
    ep: &Endpoint,
    display: &str,
    fallback: &str,
    build: F,
    recheck: R,
) -> Result<K, Error>
where
    K: Kind + Serialize,
    F: Fn(String) -> K,
    R: Fn() -> Fut,
    Fut: std::future::Future<Output = Result<(), Error>>,
{
    let api: Api<K> = Api::namespaced(ep.client.clone(), &ep.namespace);
    let base = mapping::resource_name(display, fallback);
    let kind = K::kind(&Default::default()).to_string();
    for attempt in 0..8 {
        let name = mapping::candidate_name(&base, display, attempt);
        match api
            .create(&PostParams::default(), &build(name.clone()))
            .await
        {
            Ok(k) => {
                ep.stores.wrote(&kind, k.meta());
                return Ok(k);
            }
            Err(kube::Error::Api(s)) if s.code == 409 => {
                recheck().await?;
            }
            Err(e) => {
                return Err(Error::kube(
                    format!("create {kind} {}/{name}", ep.namespace),
                    e,
                ));
            }
        }
    }
    Err(Error::Uniqueness(format!(
        "no free {kind} name for {display:?} in {} after 8 attempts",
        ep.namespace
    )))
}

/// Usernames (lower case) of the endpoint's users, with their SCIM ids.
pub fn members_by_username(users: &[LastPassUser]) -> BTreeMap<String, Member> {
    users
        .iter()
        .map(|u| {
            (
                u.spec.username.to_lowercase(),
                Member {
                    id: mapping::scim_id(&u.metadata),
                    username: u.spec.username.clone(),
                },
            )
        })
        .collect()
}

/// The usernames of these SCIM user ids, in order; an id that is not a user of the endpoint is
/// 400 `invalidValue`.
pub fn usernames_of(ids: &[String], users: &[LastPassUser]) -> Result<Vec<String>, Error> {
    let by_id: BTreeMap<String, &str> = users
        .iter()
        .map(|u| (mapping::scim_id(&u.metadata), u.spec.username.as_str()))
        .collect();
    ids.iter()
        .map(|id| {
            by_id.get(id).map(|u| u.to_string()).ok_or_else(|| {
                Error::InvalidValue(format!(
                    "member {id} is not a user of this SCIM endpoint; provision the user first"
                ))
            })
        })
        .collect()
}

/// Kube's 409 on a write that carried an `If-Match` version is a 412 for SCIM.
pub fn precondition(e: Error, if_match: Option<&str>) -> Error {
    match (&e, if_match) {
        (
            Error::Kube {
                source: kube::Error::Api(s),
                ..
            },
            Some(v),
        ) if s.code == 409 => Error::PreconditionFailed {
            current: format!("not W/\"{v}\""),
        },
        _ => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_uuids_and_label_values() {
        let a = new_id();
        assert_eq!(a.len(), 36);
        assert_eq!(&a[14..15], "4", "version 4");
        assert!(is_label_value(&a));
        assert_ne!(a, new_id());
    }

    #[test]
    fn selectors_select_source_integration_and_id() {
        assert_eq!(
            selector("acme", Some("abc")),
            "lastpass-operator.io/source=scim,lastpass-operator.io/scim-integration=acme,lastpass-operator.io/scim-id=abc"
        );
        // An id that cannot be a label value is never put in a selector.
        assert!(!selector("acme", Some("a,b=c")).contains("scim-id"));
        assert!(!is_label_value("-a") && !is_label_value("") && !is_label_value(&"a".repeat(64)));
    }
}
