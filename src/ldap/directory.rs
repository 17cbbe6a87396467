//! What was read from the directory: users and groups, mapped from raw entries by the
//! integration's attribute mapping. No I/O.

use std::collections::BTreeMap;

use super::ad;
use super::search::Entry;
use crate::crd::{LdapNesting, LdapSpec};

/// Active Directory's ACCOUNTDISABLE bit of `userAccountControl`.
pub const UAC_ACCOUNTDISABLE: u64 = 2;

/// A user entry, mapped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryUser {
    /// The entry's DN.
    pub dn: String,
    /// Value of the username attribute (an e-mail, unvalidated).
    pub username: Option<String>,
    /// Value of the full-name attribute.
    pub full_name: Option<String>,
    /// Extra attributes for `spec.attributes` (LastPass name → value).
    pub attributes: BTreeMap<String, String>,
    /// Disabled in the directory (AD bit, or the configured attribute/value).
    pub disabled: bool,
    /// DNs of groups this user names itself (`memberOf`), when configured.
    pub member_of: Vec<String>,
    /// The entry's stable identity (`attributes.stableID`: AD's `objectGUID` in its textual
    /// form, or e.g. OpenLDAP's `entryUUID`), when the directory has one.
    pub stable_id: Option<String>,
    /// SID of the user's primary group (AD: `primaryGroupID` within the user's domain).
    pub primary_group_sid: Option<String>,
}

/// A group entry, mapped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectoryGroup {
    /// The entry's DN.
    pub dn: String,
    /// Value of the group-name attribute.
    pub name: Option<String>,
    /// Member DNs (users or groups).
    pub members: Vec<String>,
    /// Matches `groupFilter`: becomes a LastPassGroup.
    pub selected: bool,
    /// The group's SID (AD `objectSid`), for primary-group membership.
    pub sid: Option<String>,
    /// Resolved by the server (`InChain`): every group nested in this group, at any depth;
    /// its users are those whose `memberOf` names it or one of them. `None` when nesting is
    /// flattened from `members`.
    pub chain: Option<Chain>,
}

/// A selected group's nesting as Active Directory resolves it (LDAP_MATCHING_RULE_IN_CHAIN).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Chain {
    /// DNs of the groups nested in the group, at any depth.
    pub groups: Vec<String>,
}

/// The directory as one pull saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Entries of the user search.
    pub users: Vec<DirectoryUser>,
    /// Every group under the group base DN, selected or not.
    pub groups: Vec<DirectoryGroup>,
    /// How nesting was resolved (`InChain` or `Client`).
    pub nesting: LdapNesting,
}

/// The attributes the user search asks for.
pub fn user_attributes(spec: &LdapSpec) -> Vec<String> {
    let mut attrs = vec![
        spec.attributes.username.clone(),
        spec.attributes.full_name.clone(),
    ];
    attrs.extend(spec.attributes.extra.values().cloned());
    if spec.disabled.user_account_control {
        attrs.push("userAccountControl".into());
    }
    if spec.disabled.account_expires {
        attrs.push("accountExpires".into());
    }
    attrs.extend(["primaryGroupID".into(), "objectSid".into()]);
    attrs.push(spec.attributes.stable_id.clone());
    attrs.extend(spec.disabled.attribute.clone());
    attrs.extend(spec.membership.member_of_attribute.clone());
    attrs.sort_by_key(|a| a.to_ascii_lowercase());
    attrs.dedup_by_key(|a| a.to_ascii_lowercase());
    attrs
}

/// The attributes the group search asks for: the member list only when the nesting is
/// flattened by the operator (`member_range`: the first ranged chunk to ask for, if any).
pub fn group_attributes(
    spec: &LdapSpec,
    with_members: bool,
    member_range: Option<u64>,
) -> Vec<String> {
    let mut attrs = vec![spec.attributes.group_name.clone(), "objectSid".into()];
    if with_members {
        let member = &spec.membership.member_attribute;
        attrs.push(match member_range {
            Some(step) => ad::range_request(member, 0, Some(step)),
            None => member.clone(),
        });
    }
    attrs
}

/// The stable identity of an entry: `objectGUID` decoded to AD's textual form, any other
/// attribute as text.
pub fn stable_id(e: &Entry, attr: &str) -> Option<String> {
    if attr.eq_ignore_ascii_case("objectGUID") {
        return e.first_bytes(attr).map(|b| ad::guid_to_string(&b));
    }
    e.first(attr).map(String::from)
}

/// The string SID of an entry's `objectSid`.
pub fn object_sid(e: &Entry) -> Option<String> {
    e.first_bytes("objectSid")
        .and_then(|b| ad::sid_to_string(&b))
}

/// Maps a user entry; `now` (Unix seconds) judges `accountExpires`.
pub fn user_from_entry(e: &Entry, spec: &LdapSpec, now: i64) -> DirectoryUser {
    let attributes = spec
        .attributes
        .extra
        .iter()
        .filter_map(|(name, attr)| e.first(attr).map(|v| (name.clone(), v.to_string())))
        .collect();
    DirectoryUser {
        dn: e.dn.clone(),
        username: e.first(&spec.attributes.username).map(String::from),
        full_name: e.first(&spec.attributes.full_name).map(String::from),
        attributes,
        disabled: is_disabled(e, spec, now),
        member_of: spec
            .membership
            .member_of_attribute
            .as_ref()
            .map(|a| e.values(a).to_vec())
            .unwrap_or_default(),
        stable_id: stable_id(e, &spec.attributes.stable_id),
        primary_group_sid: object_sid(e)
            .zip(e.first("primaryGroupID"))
            .and_then(|(sid, rid)| ad::primary_group_sid(&sid, rid)),
    }
}

/// Maps a group entry; `selected` says whether it matched `groupFilter`.
pub fn group_from_entry(e: &Entry, spec: &LdapSpec, selected: bool) -> DirectoryGroup {
    DirectoryGroup {
        dn: e.dn.clone(),
        name: e.first(&spec.attributes.group_name).map(String::from),
        members: e.values(&spec.membership.member_attribute).to_vec(),
        selected,
        sid: object_sid(e),
        chain: None,
    }
}

/// Whether the directory says this account is disabled (or, on AD, expired at `now`, in
/// Unix seconds).
pub fn is_disabled(e: &Entry, spec: &LdapSpec, now: i64) -> bool {
    let uac = spec.disabled.user_account_control
        && e.first("userAccountControl")
            .and_then(|v| v.parse::<i64>().ok())
            .is_some_and(|v| (v as u64) & UAC_ACCOUNTDISABLE != 0);
    let attr = spec.disabled.attribute.as_ref().is_some_and(|attr| {
        let values = e.values(attr);
        match &spec.disabled.value {
            None => values.iter().any(|v| !v.trim().is_empty()),
            Some(want) => values
                .iter()
                .any(|v| v.trim().eq_ignore_ascii_case(want.trim())),
        }
    });
    let expired = spec.disabled.account_expires
        && e.first("accountExpires")
            .is_some_and(|v| ad::account_expired(v, now));
    uac || attr || expired
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::LdapDisabled;

    #[test]
    fn disabled_accounts() {
        let ad = LdapSpec::default();
        let lock = LdapSpec {
            disabled: LdapDisabled {
                user_account_control: false,
                account_expires: false,
                attribute: Some("nsAccountLock".into()),
                value: Some("true".into()),
            },
            ..LdapSpec::default()
        };
        let presence = LdapSpec {
            disabled: LdapDisabled {
                attribute: Some("pwdAccountLockedTime".into()),
                value: None,
                ..LdapDisabled::default()
            },
            ..LdapSpec::default()
        };
        // (why, spec, entry attributes, disabled?)
        type Case<'a> = (&'a str, &'a LdapSpec, Vec<(&'a str, Vec<&'a str>)>, bool);
        let cases: Vec<Case> = vec![
            (
                "AD normal account 512",
                &ad,
                vec![("userAccountControl", vec!["512"])],
                false,
            ),
            (
                "AD disabled 514",
                &ad,
                vec![("userAccountControl", vec!["514"])],
                true,
            ),
            (
                "AD disabled, password never expires 66050",
                &ad,
                vec![("userAccountControl", vec!["66050"])],
                true,
            ),
            ("no attribute at all", &ad, vec![], false),
            (
                "AD expired in 1601 + 1 s",
                &ad,
                vec![("accountExpires", vec!["10000000"])],
                true,
            ),
            (
                "AD accountExpires 0: never",
                &ad,
                vec![("accountExpires", vec!["0"])],
                false,
            ),
            (
                "AD accountExpires max: never",
                &ad,
                vec![("accountExpires", vec!["9223372036854775807"])],
                false,
            ),
            (
                "expiry ignored when turned off",
                &lock,
                vec![("accountExpires", vec!["10000000"])],
                false,
            ),
            (
                "garbage is not disabled",
                &ad,
                vec![("userAccountControl", vec!["x"])],
                false,
            ),
            (
                "bit ignored when turned off",
                &lock,
                vec![("userAccountControl", vec!["514"])],
                false,
            ),
            (
                "attribute value matches case-insensitively",
                &lock,
                vec![("nsaccountlock", vec!["TRUE"])],
                true,
            ),
            (
                "other value does not disable",
                &lock,
                vec![("nsAccountLock", vec!["false"])],
                false,
            ),
            (
                "presence disables without value",
                &presence,
                vec![("pwdAccountLockedTime", vec!["000001010000Z"])],
                true,
            ),
        ];
        for (why, spec, attrs, want) in cases {
            let e = Entry::new("cn=u", attrs);
            assert_eq!(is_disabled(&e, spec, 0), want, "{why}");
        }
    }

    #[test]
    fn mapping_copies_extra_attributes_that_are_present() {
        let mut spec = LdapSpec::default();
        spec.attributes
            .extra
            .insert("department".into(), "departmentNumber".into());
        spec.attributes.extra.insert("title".into(), "title".into());
        spec.membership.member_of_attribute = Some("memberOf".into());
        let e = Entry::new(
            "uid=a,ou=p",
            [
                ("mail", vec!["a@x.io"]),
                ("displayName", vec!["Ann"]),
                ("departmentnumber", vec!["R&D"]),
                ("memberOf", vec!["cn=g,ou=g"]),
            ],
        );
        let u = user_from_entry(&e, &spec, 0);
        assert_eq!(u.username.as_deref(), Some("a@x.io"));
        assert_eq!(u.full_name.as_deref(), Some("Ann"));
        assert_eq!(
            u.attributes,
            BTreeMap::from([("department".into(), "R&D".into())])
        );
        assert_eq!(u.member_of, vec!["cn=g,ou=g".to_string()]);
        let attrs = user_attributes(&spec);
        for a in [
            "mail",
            "displayName",
            "departmentNumber",
            "title",
            "userAccountControl",
            "memberOf",
        ] {
            assert!(attrs.contains(&a.to_string()), "{a} in {attrs:?}");
        }
    }
}
