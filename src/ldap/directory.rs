//! What was read from the directory: users and groups, mapped from raw entries by the
//! integration's attribute mapping. No I/O.

use std::collections::BTreeMap;

use super::search::Entry;
use crate::crd::LdapSpec;

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
}

/// The directory as one pull saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Entries of the user search.
    pub users: Vec<DirectoryUser>,
    /// Every group under the group base DN, selected or not.
    pub groups: Vec<DirectoryGroup>,
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
    attrs.extend(spec.disabled.attribute.clone());
    attrs.extend(spec.membership.member_of_attribute.clone());
    attrs.sort_by_key(|a| a.to_ascii_lowercase());
    attrs.dedup_by_key(|a| a.to_ascii_lowercase());
    attrs
}

/// The attributes the group search asks for.
pub fn group_attributes(spec: &LdapSpec) -> Vec<String> {
    vec![
        spec.attributes.group_name.clone(),
        spec.membership.member_attribute.clone(),
    ]
}

/// Maps a user entry.
pub fn user_from_entry(e: &Entry, spec: &LdapSpec) -> DirectoryUser {
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
        disabled: is_disabled(e, spec),
        member_of: spec
            .membership
            .member_of_attribute
            .as_ref()
            .map(|a| e.values(a).to_vec())
            .unwrap_or_default(),
    }
}

/// Maps a group entry; `selected` says whether it matched `groupFilter`.
pub fn group_from_entry(e: &Entry, spec: &LdapSpec, selected: bool) -> DirectoryGroup {
    DirectoryGroup {
        dn: e.dn.clone(),
        name: e.first(&spec.attributes.group_name).map(String::from),
        members: e.values(&spec.membership.member_attribute).to_vec(),
        selected,
    }
}

/// Whether the directory says this account is disabled.
pub fn is_disabled(e: &Entry, spec: &LdapSpec) -> bool {
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
    uac || attr
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
            assert_eq!(is_disabled(&e, spec), want, "{why}");
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
        let u = user_from_entry(&e, &spec);
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
