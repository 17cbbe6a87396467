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

/// AD's back link listing the groups an entry is a direct member of.
const MEMBER_OF: &str = "memberOf";

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

/// The nesting method of `settings`; `InChain` only on Active Directory (elsewhere the chain
/// rule matches nothing, and empty groups would remove everyone from them).
pub async fn nesting(session: &mut Session, settings: &Settings) -> Result<LdapNesting, Error> {
    let chosen = settings.spec.membership.nesting;
    if chosen == LdapNesting::InChain && !is_active_directory(session).await? {
        return Err(Error::InvalidConfig {
            field: "membership.nesting",
            problem: format!(
                "InChain needs Active Directory, and {} does not advertise it (supportedCapabilities {}); use Client",
                session.url,
                ad::CAP_ACTIVE_DIRECTORY
            ),
        });
    }
    Ok(chosen)
}

/// Runs the user search and the group searches (every group, the selected ones, and with
/// `InChain` one chain search per selected group). Member lists are read whole (every
/// range); a read that cannot be completed fails rather than yield a short list.
pub async fn read_directory(session: &mut Session, settings: &Settings) -> Result<Snapshot, Error> {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or_default();
    let method = match &settings.group_base_dn {
        Some(_) => nesting(session, settings).await?,
        None => LdapNesting::Client,
    };
    let client_side = method == LdapNesting::Client;
    // With the chain rule a user's direct groups come from its own `memberOf` (AD's back
    // link), so no member list is read.
    let mut spec = settings.spec.clone();
    if !client_side {
        spec.membership.member_of_attribute = Some(MEMBER_OF.into());
    }
    let mut users = search::paged_search(
        session,
        &settings.user_base_dn,
        &spec.user_filter,
        &directory::user_attributes(&spec),
        settings.page_size,
    )
    .await?;
    if let Some(attr) = &spec.membership.member_of_attribute {
        for e in &mut users {
            ranged::complete(session, e, attr, None).await?;
        }
    }
    let mut snapshot = Snapshot {
        users: users
            .iter()
            .map(|e| directory::user_from_entry(e, &spec, now))
            .collect(),
        nesting: method,
        ..Snapshot::default()
    };
    let Some(group_base) = &settings.group_base_dn else {
        return Ok(snapshot);
    };
    let mut all = search::paged_search(
        session,
        group_base,
        &spec.group_object_filter,
        &directory::group_attributes(&spec, client_side, settings.member_range_step),
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
        let mut group = directory::group_from_entry(e, &spec, chosen);
        if chosen && !client_side {
            group.chain = Some(chain(session, settings, group_base, &e.dn).await?);
        }
        snapshot.groups.push(group);
    }
    Ok(snapshot)
}

/// The groups under `group_base` nested in `group` at any depth, as the server resolves them
/// with LDAP_MATCHING_RULE_IN_CHAIN. (Asking the same of the users, one chain search per
/// group over every user, took Samba tens of seconds per group at 10,000 users; the users'
/// `memberOf`, read once with the user search, answers it instead.)
async fn chain(
    session: &mut Session,
    settings: &Settings,
    group_base: &str,
    group: &str,
) -> Result<Chain, Error> {
    let filter = format!(
        "(&{}(memberOf:{MATCHING_RULE_IN_CHAIN}:={}))",
        settings.spec.group_object_filter,
        ad::escape_filter_value(group)
    );
    let groups =
        search::paged_search(session, group_base, &filter, &[], settings.page_size).await?;
    Ok(Chain {
        groups: groups.into_iter().map(|e| e.dn).collect(),
    })
}
