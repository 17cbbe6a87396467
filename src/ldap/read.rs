//! Reading the directory into a [`Snapshot`]: the user search, the group searches, ranged
//! member lists, and the nesting resolved by the server (`InChain`) or left to
//! [`super::membership`] (`Client`).

use std::collections::BTreeSet;
use std::time::{SystemTime, UNIX_EPOCH};

use super::ad::{self, MATCHING_RULE_IN_CHAIN};
use super::config::Settings;
use super::connect::Session;
use super::directory::{self, Chain, Snapshot};
use super::membership::normalize_dn;
use super::{Error, ranged, search};
use crate::crd::LdapNesting;

/// Whether the server is Active Directory (or Samba AD): its root DSE advertises
/// LDAP_CAP_ACTIVE_DIRECTORY_OID.
pub async fn is_active_directory(session: &mut Session) -> Result<bool, Error> {
    let root = search::read_entry(session, "", &["supportedCapabilities".to_string()]).await?;
    Ok(root.is_some_and(|e| {
        e.values("supportedCapabilities")
            .iter()
            .any(|c| c.trim() == ad::CAP_ACTIVE_DIRECTORY)
    }))
}

/// The nesting method of `settings`, `Auto` resolved by asking the server.
pub async fn nesting(session: &mut Session, settings: &Settings) -> Result<LdapNesting, Error> {
    Ok(match settings.spec.membership.nesting {
        LdapNesting::Auto if is_active_directory(session).await? => LdapNesting::InChain,
        LdapNesting::Auto => LdapNesting::Client,
        chosen => chosen,
    })
}

/// Runs the user search and the group searches (every group, the selected ones, and with
/// `InChain` two chain searches per selected group). Member lists are read whole (every
/// range); a read that cannot be completed fails rather than yield a short list.
pub async fn read_directory(session: &mut Session, settings: &Settings) -> Result<Snapshot, Error> {
    let spec = &settings.spec;
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let users = search::paged_search(
        session,
        &settings.user_base_dn,
        &spec.user_filter,
        &directory::user_attributes(spec),
        settings.page_size,
    )
    .await?;
    let mut snapshot = Snapshot {
        users: users
            .iter()
            .map(|e| directory::user_from_entry(e, spec, now))
            .collect(),
        ..Snapshot::default()
    };
    let Some(group_base) = &settings.group_base_dn else {
        return Ok(snapshot);
    };
    let method = nesting(session, settings).await?;
    snapshot.nesting = method;
    let client_side = method == LdapNesting::Client;
    let mut all = search::paged_search(
        session,
        group_base,
        &spec.group_object_filter,
        &directory::group_attributes(spec, client_side, settings.member_range_step),
        settings.page_size,
    )
    .await?;
    if client_side {
        let member = &spec.membership.member_attribute;
        for e in &mut all {
            ranged::complete(session, e, member, settings.member_range_step).await?;
        }
    }
    let selected: Option<BTreeSet<String>> = match &spec.group_filter {
        None => None,
        Some(filter) => {
            let filter = format!("(&{}{})", spec.group_object_filter, filter);
            let hits =
                search::paged_search(session, group_base, &filter, &[], settings.page_size).await?;
            Some(hits.iter().map(|e| normalize_dn(&e.dn)).collect())
        }
    };
    for e in &all {
        let chosen = selected
            .as_ref()
            .is_none_or(|s| s.contains(&normalize_dn(&e.dn)));
        let mut group = directory::group_from_entry(e, spec, chosen);
        if chosen && !client_side {
            group.chain = Some(chain(session, settings, group_base, &e.dn).await?);
        }
        snapshot.groups.push(group);
    }
    Ok(snapshot)
}

/// The users (in the user search's scope) and groups nested in `group` at any depth, as the
/// server resolves them with LDAP_MATCHING_RULE_IN_CHAIN.
async fn chain(
    session: &mut Session,
    settings: &Settings,
    group_base: &str,
    group: &str,
) -> Result<Chain, Error> {
    let spec = &settings.spec;
    let rule = format!(
        "(memberOf:{MATCHING_RULE_IN_CHAIN}:={})",
        ad::escape_filter_value(group)
    );
    let dns = |entries: Vec<search::Entry>| entries.into_iter().map(|e| e.dn).collect();
    let users = search::paged_search(
        session,
        &settings.user_base_dn,
        &format!("(&{}{rule})", spec.user_filter),
        &[],
        settings.page_size,
    )
    .await?;
    let groups = search::paged_search(
        session,
        group_base,
        &format!("(&{}{rule})", spec.group_object_filter),
        &[],
        settings.page_size,
    )
    .await?;
    Ok(Chain {
        users: dns(users),
        groups: dns(groups),
    })
}
