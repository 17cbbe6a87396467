//! SCIM ⇄ resources: pure functions between SCIM JSON and `LastPassUser` / `LastPassGroup`.
//!
//! | SCIM | resource |
//! |---|---|
//! | `id` | label `lastpass-operator.io/scim-id` (minted at create; kept across a group rename); `metadata.uid` when the label is missing |
//! | `externalId` | annotation `lastpass-operator.io/scim-external-id` |
//! | `userName` (lookups) | label `lastpass-operator.io/scim-username-hash` (FNV-1a of the lower-case LastPass username) |
//! | `userName` | `spec.username` when it is an e-mail; otherwise the primary, else first work, else first address of `emails` is `spec.username` and `userName` is kept in annotation `lastpass-operator.io/scim-username` (immutable: a change is 400 `mutability`) |
//! | `name.formatted`, else `name.givenName name.familyName`, else `displayName` | `spec.fullName` |
//! | `active: false` (bool or `"False"`) | `spec.suspended: true` |
//! | group `displayName` | `spec.groupName` (a change renames: new LastPassGroup, old one deleted) |
//! | group `members[].value` (SCIM user ids) | `spec.members` (usernames); ids with no user yet in annotation `lastpass-operator.io/scim-pending-members` (≤ 1,000), shown as members, joined when the user arrives |
//! | other attributes (`name`, `emails`, `title`, extensions, …) | annotation `lastpass-operator.io/scim-attributes` (JSON), returned as sent |
//! | `meta.created` / `lastModified` / `version` | `creationTimestamp` / annotation `lastpass-operator.io/scim-last-modified` / `W/"<resourceVersion>"` |
//!
//! `password` is never stored.

use std::collections::{BTreeMap, HashSet};

use kube::ResourceExt;
use serde_json::{Map, Value, json};

use super::error::Error;
use super::filter::get_ci;
use super::limits::MAX_MEMBERS;
use crate::crd::{LastPassGroup, LastPassUser, SOURCE_LABEL};

/// Value of [`SOURCE_LABEL`] on everything the SCIM server creates.
pub const SOURCE_SCIM: &str = "scim";
/// Label naming the integration a SCIM resource belongs to.
pub const INTEGRATION_LABEL: &str = "lastpass-operator.io/scim-integration";
/// Label holding the SCIM `id`.
pub const ID_LABEL: &str = "lastpass-operator.io/scim-id";
/// Label on SCIM users holding a hash of the lower-case userName, so `userName eq` lookups
/// (which every IdP makes before a create) select one resource instead of listing all.
pub const USERNAME_HASH_LABEL: &str = "lastpass-operator.io/scim-username-hash";
/// Annotation holding the IdP's `externalId`.
pub const EXTERNAL_ID_ANNOTATION: &str = "lastpass-operator.io/scim-external-id";
/// Annotation holding the SCIM attributes that have no field in the spec (JSON).
pub const ATTRIBUTES_ANNOTATION: &str = "lastpass-operator.io/scim-attributes";
/// Annotation holding the SCIM `userName` as sent, on users whose `userName` is not their
/// LastPass username (not an e-mail).
pub const SCIM_USERNAME_ANNOTATION: &str = "lastpass-operator.io/scim-username";
/// Annotation holding the time of the last SCIM write (RFC 3339).
pub const LAST_MODIFIED_ANNOTATION: &str = "lastpass-operator.io/scim-last-modified";

/// Core User schema URN.
pub const USER_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:User";
/// Core Group schema URN.
pub const GROUP_SCHEMA: &str = "urn:ietf:params:scim:schemas:core:2.0:Group";
/// Enterprise User extension URN.
pub const ENTERPRISE_SCHEMA: &str = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User";
/// ListResponse schema URN.
pub const LIST_SCHEMA: &str = "urn:ietf:params:scim:api:messages:2.0:ListResponse";

/// Largest attributes annotation kept, in bytes.
const MAX_ATTRIBUTES: usize = 32 * 1024;

/// User attributes taken from a SCIM body.
#[derive(Debug, Clone, PartialEq)]
pub struct UserFields {
    /// The LastPass username (an e-mail): `userName` when it is an e-mail, else the primary,
    /// else the first work, else the first address in `emails`.
    pub username: String,
    /// `userName`, as sent (what SCIM responses and filters show).
    pub scim_username: String,
    /// Derived display name.
    pub full_name: Option<String>,
    /// `!active`.
    pub suspended: bool,
    /// `externalId`.
    pub external_id: Option<String>,
    /// The other attributes, kept as sent (JSON object, serialized).
    pub attributes: String,
}

/// Group attributes taken from a SCIM body.
#[derive(Debug, Clone, PartialEq)]
pub struct GroupFields {
    /// `displayName`.
    pub group_name: String,
    /// Member SCIM ids, in order, without duplicates.
    pub member_ids: Vec<String>,
    /// `externalId`.
    pub external_id: Option<String>,
    /// The other attributes (JSON object, serialized).
    pub attributes: String,
}

/// Attributes that live elsewhere than the attributes annotation.
const USER_OWN: &[&str] = &[
    "id",
    "meta",
    "schemas",
    "password",
    "userName",
    "active",
    "groups",
    "externalId",
];
const GROUP_OWN: &[&str] = &[
    "id",
    "meta",
    "schemas",
    "displayName",
    "members",
    "externalId",
];

fn str_attr(o: &Map<String, Value>, key: &str) -> Option<String> {
    match get_ci(o, key) {
        Some(Value::String(s)) if !s.trim().is_empty() => Some(s.trim().to_string()),
        _ => None,
    }
}

fn keep(o: &Map<String, Value>, own: &[&str]) -> Result<String, Error> {
    let kept: Map<String, Value> = o
        .iter()
        .filter(|(k, _)| !own.iter().any(|x| x.eq_ignore_ascii_case(k)))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let text = serde_json::to_string(&kept).unwrap_or_else(|_| "{}".into());
    if text.len() > MAX_ATTRIBUTES {
        return Err(Error::InvalidValue(format!(
            "the resource's attributes take {} bytes; at most {MAX_ATTRIBUTES} are kept",
            text.len()
        )));
    }
    Ok(text)
}

/// `active` as a boolean: `true`/`false`, or those words as strings in any case (Entra).
pub fn active(o: &Map<String, Value>) -> Result<bool, Error> {
    match get_ci(o, "active") {
        None | Some(Value::Null) => Ok(true),
        Some(Value::Bool(b)) => Ok(*b),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("true") => Ok(true),
        Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("false") => Ok(false),
        Some(other) => Err(Error::InvalidValue(format!(
            "active must be a boolean, got {other}"
        ))),
    }
}

/// Whether a username looks like the e-mail LastPass needs (the CRD's pattern).
pub fn is_email(s: &str) -> bool {
    let Some((local, domain)) = s.split_once('@') else {
        return false;
    };
    let bad = |p: &str| p.is_empty() || p.contains('@') || p.chars().any(char::is_whitespace);
    !bad(local)
        && !bad(domain)
        && domain
            .split_once('.')
            .is_some_and(|(a, b)| !a.is_empty() && !b.is_empty())
        && s.len() <= 254
}

/// The LastPass username of a new user: `userName` when it is an e-mail; else the primary
/// address in `emails`, else the first of type `work`, else the first; 400 when there is none.
fn lastpass_username(o: &Map<String, Value>, scim_username: &str) -> Result<String, Error> {
    if is_email(scim_username) {
        return Ok(scim_username.to_string());
    }
    let emails: Vec<&Map<String, Value>> = match get_ci(o, "emails") {
        Some(Value::Array(items)) => items.iter().filter_map(Value::as_object).collect(),
        _ => Vec::new(),
    };
    let address = |e: &Map<String, Value>| str_attr(e, "value").filter(|v| is_email(v));
    let flag = |e: &&Map<String, Value>| {
        matches!(get_ci(e, "primary"), Some(Value::Bool(true)))
            || matches!(get_ci(e, "primary"), Some(Value::String(s)) if s.trim().eq_ignore_ascii_case("true"))
    };
    let work = |e: &&Map<String, Value>| {
        str_attr(e, "type").is_some_and(|t| t.eq_ignore_ascii_case("work"))
    };
    emails
        .iter()
        .copied()
        .filter(flag)
        .find_map(address)
        .or_else(|| emails.iter().copied().filter(work).find_map(address))
        .or_else(|| emails.iter().copied().find_map(address))
        .ok_or_else(|| {
            Error::InvalidValue(format!(
                "userName {scim_username:?} is not an e-mail address and emails holds none; LastPass usernames are e-mails: send the user's e-mail as userName or in emails (primary, or type work)"
            ))
        })
}

/// Reads a SCIM User body for a new user (the LastPass username is derived here).
pub fn user_fields(doc: &Value) -> Result<UserFields, Error> {
    fields(doc, None)
}

/// Reads a SCIM User body for an existing user whose LastPass username is `lastpass` (it
/// never changes: a later `emails` change does not rename the account).
pub fn user_fields_of_existing(doc: &Value, lastpass: &str) -> Result<UserFields, Error> {
    fields(doc, Some(lastpass))
}

fn fields(doc: &Value, lastpass: Option<&str>) -> Result<UserFields, Error> {
    let Value::Object(o) = doc else {
        return Err(Error::InvalidSyntax("a User must be a JSON object".into()));
    };
    let scim_username = match get_ci(o, "userName") {
        Some(Value::String(s)) if !s.trim().is_empty() => s.trim().to_string(),
        _ => return Err(Error::InvalidValue("userName is required".into())),
    };
    let username = match lastpass {
        Some(existing) => existing.to_string(),
        None => lastpass_username(o, &scim_username)?,
    };
    let name = match get_ci(o, "name") {
        Some(Value::Object(n)) => Some(n),
        _ => None,
    };
    let formatted = name.and_then(|n| str_attr(n, "formatted"));
    let given_family = name.and_then(|n| {
        let parts: Vec<String> = [str_attr(n, "givenName"), str_attr(n, "familyName")]
            .into_iter()
            .flatten()
            .collect();
        (!parts.is_empty()).then(|| parts.join(" "))
    });
    let full_name = formatted
        .or(given_family)
        .or_else(|| str_attr(o, "displayName"));
    Ok(UserFields {
        username,
        scim_username,
        full_name,
        suspended: !active(o)?,
        external_id: str_attr(o, "externalId"),
        attributes: keep(o, USER_OWN)?,
    })
}

/// 400 `tooMany` when a POST or PUT body names more than [`MAX_MEMBERS`] members (checked on
/// the request, not on a group a PATCH made: groups may grow past it request by request).
pub fn check_member_count(doc: &Value) -> Result<(), Error> {
    let n = match doc.as_object().and_then(|o| get_ci(o, "members")) {
        Some(Value::Array(items)) => items.len(),
        _ => 0,
    };
    if n > MAX_MEMBERS {
        return Err(Error::TooMany(format!(
            "a request may name at most {MAX_MEMBERS} members, this one names {n}; add the rest with PATCH requests"
        )));
    }
    Ok(())
}

/// Reads a SCIM Group body.
pub fn group_fields(doc: &Value) -> Result<GroupFields, Error> {
    let Value::Object(o) = doc else {
        return Err(Error::InvalidSyntax("a Group must be a JSON object".into()));
    };
    let group_name = str_attr(o, "displayName")
        .ok_or_else(|| Error::InvalidValue("displayName is required".into()))?;
    let mut member_ids: Vec<String> = Vec::new();
    match get_ci(o, "members") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            let mut seen: HashSet<&str> = HashSet::with_capacity(items.len());
            for m in items {
                let id = match m {
                    Value::Object(mo) => match get_ci(mo, "value") {
                        Some(Value::String(s)) => s.as_str(),
                        _ => {
                            return Err(Error::InvalidValue(
                                "each member needs a string value (the user's id)".into(),
                            ));
                        }
                    },
                    Value::String(s) => s.as_str(),
                    other => {
                        return Err(Error::InvalidValue(format!(
                            "a member must be {{\"value\": \"<id>\"}}, got {other}"
                        )));
                    }
                };
                if seen.insert(id) {
                    member_ids.push(id.to_string());
                }
            }
        }
        Some(other) => {
            return Err(Error::InvalidValue(format!(
                "members must be a list, got {other}"
            )));
        }
    }
    Ok(GroupFields {
        group_name,
        member_ids,
        external_id: str_attr(o, "externalId"),
        attributes: keep(o, GROUP_OWN)?,
    })
}

/// The SCIM id of a resource.
pub fn scim_id(meta: &kube::api::ObjectMeta) -> String {
    meta.labels
        .as_ref()
        .and_then(|l| l.get(ID_LABEL))
        .cloned()
        .or_else(|| meta.uid.clone())
        .unwrap_or_default()
}

fn attributes_of(meta: &kube::api::ObjectMeta) -> Map<String, Value> {
    meta.annotations
        .as_ref()
        .and_then(|a| a.get(ATTRIBUTES_ANNOTATION))
        .and_then(|s| serde_json::from_str::<Map<String, Value>>(s).ok())
        .unwrap_or_default()
}

fn meta_json(meta: &kube::api::ObjectMeta, resource_type: &str, location: &str) -> Value {
    let created = meta
        .creation_timestamp
        .as_ref()
        .map(|t| t.0.to_string())
        .unwrap_or_default();
    let modified = meta
        .annotations
        .as_ref()
        .and_then(|a| a.get(LAST_MODIFIED_ANNOTATION))
        .cloned()
        .unwrap_or_else(|| created.clone());
    json!({
        "resourceType": resource_type,
        "created": created,
        "lastModified": modified,
        "location": location,
        "version": etag(meta),
    })
}

/// The weak ETag of a resource: its `resourceVersion`.
pub fn etag(meta: &kube::api::ObjectMeta) -> String {
    format!("W/\"{}\"", meta.resource_version.as_deref().unwrap_or("0"))
}

/// A LastPassUser as a SCIM User; `users_url` is the absolute `.../Users` URL.
pub fn user_to_scim(u: &LastPassUser, users_url: &str) -> Value {
    let mut o = attributes_of(&u.metadata);
    let id = scim_id(&u.metadata);
    let mut schemas = vec![json!(USER_SCHEMA)];
    if o.keys().any(|k| k.eq_ignore_ascii_case(ENTERPRISE_SCHEMA)) {
        schemas.push(json!(ENTERPRISE_SCHEMA));
    }
    o.insert("schemas".into(), Value::Array(schemas));
    o.insert("id".into(), json!(id));
    if let Some(ext) = u.annotations().get(EXTERNAL_ID_ANNOTATION) {
        o.insert("externalId".into(), json!(ext));
    }
    o.insert("userName".into(), json!(scim_username(u)));
    o.insert("active".into(), json!(!u.spec.suspended));
    // `displayName` is the last source of fullName, so showing fullName there never shadows
    // a later PATCH of `name.*`; a synthesised `name.formatted` would.
    if let Some(full) = &u.spec.full_name
        && get_ci(&o, "displayName").is_none()
    {
        o.insert("displayName".into(), json!(full));
    }
    if get_ci(&o, "emails").is_none() {
        o.insert(
            "emails".into(),
            json!([{"value": u.spec.username, "type": "work", "primary": true}]),
        );
    }
    let location = format!("{users_url}/{id}");
    o.insert("meta".into(), meta_json(&u.metadata, "User", &location));
    Value::Object(o)
}

/// The SCIM `userName` of a user: as sent, which is the LastPass username unless the
/// annotation says otherwise.
pub fn scim_username(u: &LastPassUser) -> &str {
    u.annotations()
        .get(SCIM_USERNAME_ANNOTATION)
        .map_or(u.spec.username.as_str(), String::as_str)
}

/// A member of a group as SCIM shows it.
#[derive(Debug, Clone)]
pub struct Member {
    /// SCIM id of the user.
    pub id: String,
    /// The user's userName.
    pub username: String,
}

/// A LastPassGroup as a SCIM Group. `members` resolves a username (lower case) to its user;
/// usernames it does not know are not shown.
pub fn group_to_scim(
    g: &LastPassGroup,
    groups_url: &str,
    users_url: &str,
    members: Option<&BTreeMap<String, Member>>,
) -> Value {
    let mut o = attributes_of(&g.metadata);
    let id = scim_id(&g.metadata);
    o.insert("schemas".into(), json!([GROUP_SCHEMA]));
    o.insert("id".into(), json!(id));
    if let Some(ext) = g.annotations().get(EXTERNAL_ID_ANNOTATION) {
        o.insert("externalId".into(), json!(ext));
    }
    o.insert("displayName".into(), json!(g.spec.group_name));
    if let Some(members) = members {
        let mut list: Vec<Value> = g
            .spec
            .members
            .iter()
            .filter_map(|name| members.get(&name.to_lowercase()))
            .map(|m| {
                json!({
                    "value": m.id,
                    "display": m.username,
                    "type": "User",
                    "$ref": format!("{users_url}/{}", m.id),
                })
            })
            .collect();
        // Members accepted before their user was known are members as the IdP sees them.
        let shown: HashSet<String> = list
            .iter()
            .filter_map(|m| m["value"].as_str().map(String::from))
            .collect();
        list.extend(
            crate::crd::pending_member_ids(g)
                .into_iter()
                .filter(|id| !shown.contains(id))
                .map(
                    |id| json!({"value": id, "type": "User", "$ref": format!("{users_url}/{id}")}),
                ),
        );
        o.insert("members".into(), Value::Array(list));
    }
    let location = format!("{groups_url}/{id}");
    o.insert("meta".into(), meta_json(&g.metadata, "Group", &location));
    Value::Object(o)
}

/// A DNS-1123 subdomain (≤ 63 characters) derived from a userName or displayName.
pub fn resource_name(from: &str, fallback: &str) -> String {
    let lower = from.to_lowercase().replace('@', ".");
    let parts: Vec<String> = lower
        .split('.')
        .map(|p| {
            let mapped: String = p
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            let mut collapsed = String::with_capacity(mapped.len());
            for c in mapped.chars() {
                if !(c == '-' && collapsed.ends_with('-')) {
                    collapsed.push(c);
                }
            }
            collapsed.trim_matches('-').to_string()
        })
        .filter(|p| !p.is_empty())
        .collect();
    let mut name = parts.join(".");
    if name.len() > 63 {
        name.truncate(63);
    }
    let name = name.trim_end_matches(['-', '.']).to_string();
    if name.is_empty() {
        fallback.to_string()
    } else {
        name
    }
}

/// The `attempt`-th candidate name: the base, then base + a hash of the key, then + a counter.
pub fn candidate_name(base: &str, key: &str, attempt: u32) -> String {
    if attempt == 0 {
        return base.to_string();
    }
    let mut hash: u32 = 0x811c_9dc5;
    for b in key.to_lowercase().bytes() {
        hash ^= u32::from(b);
        hash = hash.wrapping_mul(0x0100_0193);
    }
    let stem: String = base.chars().take(50).collect();
    let stem = stem.trim_end_matches(['-', '.']);
    if attempt == 1 {
        format!("{stem}-{hash:08x}")
    } else {
        format!("{stem}-{hash:08x}-{attempt}")
    }
}

/// A label value naming an integration (names over 63 characters are shortened with a hash).
pub fn integration_label_value(name: &str) -> String {
    if name.len() <= 63 {
        return name.to_string();
    }
    let base: String = name.chars().take(40).collect();
    candidate_name(&base, name, 1)
}

/// 64-bit FNV-1a of the lower-case userName, as 16 hex digits (a label value).
pub fn username_hash(username: &str) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in username.to_lowercase().bytes() {
        hash ^= u64::from(b);
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{hash:016x}")
}

/// The labels every SCIM resource carries.
pub fn labels(integration: &str, id: &str) -> BTreeMap<String, String> {
    BTreeMap::from([
        (SOURCE_LABEL.to_string(), SOURCE_SCIM.to_string()),
        (
            INTEGRATION_LABEL.to_string(),
            integration_label_value(integration),
        ),
        (ID_LABEL.to_string(), id.to_string()),
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::{IntegrationRef, LastPassUserSpec};

    #[test]
    fn user_fields_follow_the_mapping_table() {
        let cases = [
            (
                json!({"userName":"a@x.io","name":{"formatted":"Ann A","givenName":"Ann","familyName":"B"}}),
                Some("Ann A"),
                false,
                "formatted wins",
            ),
            (
                json!({"userName":"a@x.io","name":{"givenName":"Ann","familyName":"B"},"displayName":"Z"}),
                Some("Ann B"),
                false,
                "given + family before displayName",
            ),
            (
                json!({"userName":"a@x.io","displayName":"Annie","active":false}),
                Some("Annie"),
                true,
                "displayName last; active false suspends",
            ),
            (
                json!({"userName":"a@x.io","active":"False"}),
                None,
                true,
                "Entra string boolean",
            ),
            (
                json!({"userName":"a@x.io","active":"TRUE"}),
                None,
                false,
                "string boolean any case",
            ),
        ];
        for (doc, full, suspended, why) in cases {
            let f = user_fields(&doc).unwrap();
            assert_eq!(f.full_name.as_deref(), full, "{why}");
            assert_eq!(f.suspended, suspended, "{why}");
        }
    }

    #[test]
    fn a_username_that_is_not_an_email_takes_the_address_from_emails() {
        let cases = [
            (
                json!({"userName": "jdoe", "emails": [{"value": "j@home.org", "type": "home"}, {"value": "jdoe@x.io", "type": "work"}]}),
                "jdoe@x.io",
                "first work address",
            ),
            (
                json!({"userName": "jdoe", "emails": [{"value": "w@x.io", "type": "work"}, {"value": "p@x.io", "primary": true}]}),
                "p@x.io",
                "primary first",
            ),
            (
                json!({"userName": "jdoe", "emails": [{"value": "nope", "primary": "True"}, {"value": "h@home.org", "type": "home"}]}),
                "h@home.org",
                "a primary that is no e-mail is skipped; any address before none",
            ),
            (
                json!({"userName": "Ann@X.io", "emails": [{"value": "p@x.io", "primary": true}]}),
                "Ann@X.io",
                "an e-mail userName is the LastPass username",
            ),
        ];
        for (doc, want, why) in cases {
            let f = user_fields(&doc).unwrap();
            assert_eq!(f.username, want, "{why}");
            assert_eq!(f.scim_username, doc["userName"], "{why}");
        }
        for doc in [
            json!({"userName": "jdoe"}),
            json!({"userName": "jdoe", "emails": []}),
            json!({"userName": "jdoe", "emails": [{"value": "not-an-email", "type": "work"}]}),
        ] {
            let e = user_fields(&doc).unwrap_err();
            assert_eq!(e.status().as_u16(), 400);
            assert!(
                e.to_string()
                    .contains("send the user's e-mail as userName or in emails"),
                "{e}"
            );
        }
        // An existing user keeps its LastPass username whatever emails say now.
        let f = user_fields_of_existing(&json!({"userName": "jdoe"}), "jdoe@x.io").unwrap();
        assert_eq!(
            (f.username.as_str(), f.scim_username.as_str()),
            ("jdoe@x.io", "jdoe")
        );
    }

    #[test]
    fn scim_shows_the_username_as_sent() {
        let mut u = LastPassUser::new("a", LastPassUserSpec::for_username("jdoe@x.io"));
        assert_eq!(user_to_scim(&u, "u")["userName"], "jdoe@x.io");
        u.metadata.annotations = Some(BTreeMap::from([(
            SCIM_USERNAME_ANNOTATION.to_string(),
            "jdoe".to_string(),
        )]));
        assert_eq!(user_to_scim(&u, "u")["userName"], "jdoe");
    }

    #[test]
    fn user_fields_refuse_bad_input() {
        for doc in [
            json!({"name": {"givenName": "x"}}),
            json!({"userName": "not-an-email"}),
            json!({"userName": "a@x.io", "active": 3}),
            json!([1]),
        ] {
            assert!(user_fields(&doc).is_err(), "{doc}");
        }
    }

    #[test]
    fn a_displayname_patch_is_not_shadowed() {
        // Created with displayName only; GET, then PATCH displayName: the new name wins.
        let f = user_fields(&json!({"userName": "a@x.io", "displayName": "Annie"})).unwrap();
        let mut u = LastPassUser::new(
            "a",
            LastPassUserSpec {
                full_name: f.full_name,
                ..LastPassUserSpec::for_username(f.username)
            },
        );
        u.metadata.annotations = Some(BTreeMap::from([(
            ATTRIBUTES_ANNOTATION.to_string(),
            f.attributes,
        )]));
        let mut doc = user_to_scim(&u, "u");
        doc["displayName"] = json!("Anne");
        assert_eq!(
            user_fields(&doc).unwrap().full_name.as_deref(),
            Some("Anne")
        );
    }

    #[test]
    fn password_is_never_kept() {
        let f =
            user_fields(&json!({"userName":"a@x.io","password":"hunter2","title":"T"})).unwrap();
        assert!(!f.attributes.contains("hunter2"));
        assert!(f.attributes.contains("title"));
    }

    #[test]
    fn round_trip_keeps_attributes() {
        let f = user_fields(&json!({
            "userName":"a@x.io","externalId":"e1","title":"T","name":{"givenName":"A","familyName":"B"},
            ENTERPRISE_SCHEMA: {"department": "R&D"}
        }))
        .unwrap();
        let mut u = LastPassUser::new(
            "a.x.io",
            LastPassUserSpec {
                integration_ref: IntegrationRef {
                    name: "acme".into(),
                    namespace: None,
                },
                username: f.username.clone(),
                full_name: f.full_name.clone(),
                groups: vec![],
                attributes: Default::default(),
                suspended: f.suspended,
                password_reset_required: true,
                initial_password: Default::default(),
                deprovision_action: None,
            },
        );
        u.metadata.labels = Some(labels("acme", "id1"));
        u.metadata.annotations = Some(BTreeMap::from([
            (ATTRIBUTES_ANNOTATION.to_string(), f.attributes.clone()),
            (EXTERNAL_ID_ANNOTATION.to_string(), "e1".to_string()),
        ]));
        let s = user_to_scim(&u, "https://op/scim/v2/ns/acme/Users");
        assert_eq!(s["id"], "id1");
        assert_eq!(s["externalId"], "e1");
        assert_eq!(s["title"], "T");
        assert!(
            s["name"].get("formatted").is_none(),
            "not synthesised next to given/family"
        );
        assert_eq!(s["active"], true);
        assert_eq!(s["schemas"][1], ENTERPRISE_SCHEMA);
        assert_eq!(
            s["meta"]["location"],
            "https://op/scim/v2/ns/acme/Users/id1"
        );
        assert_eq!(s["meta"]["resourceType"], "User");
        assert_eq!(s["emails"][0]["value"], "a@x.io");
        assert_eq!(user_fields(&s).unwrap().full_name, f.full_name);
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(1000))]
        /// Arbitrary Unicode in every field the mapping reads: fields or a 400, never a panic;
        /// what is accepted maps back to SCIM and to a DNS-safe resource name.
        #[test]
        fn arbitrary_unicode_users_and_groups(
            user_name in proptest::prelude::any::<String>(),
            email in proptest::prelude::any::<String>(),
            display in proptest::prelude::any::<String>(),
            member in proptest::prelude::any::<String>(),
            extra in crate::scim::arbitrary::unicode_json(),
        ) {
            let doc = json!({"userName": user_name, "displayName": display, "active": extra.clone(),
                             "name": {"formatted": display, "givenName": extra.clone()},
                             "emails": [{"value": email, "primary": true}, extra.clone()]});
            match user_fields(&doc) {
                Ok(f) => {
                    proptest::prop_assert!(is_email(&f.username));
                    let name = resource_name(&f.username, "scim-user");
                    proptest::prop_assert!(name.len() <= 63 && name.is_ascii());
                    let c = candidate_name(&name, &f.username, 3);
                    proptest::prop_assert!(c.len() <= 63 && c.is_ascii());
                }
                Err(e) => proptest::prop_assert_eq!(e.status().as_u16(), 400),
            }
            let doc = json!({"displayName": display, "members": [{"value": member}, extra.clone(), member]});
            if let Err(e) = group_fields(&doc) {
                proptest::prop_assert_eq!(e.status().as_u16(), 400);
            }
            for doc in [extra.clone(), json!({"userName": extra})] {
                if let Err(e) = user_fields(&doc).map(|_| ()).and(group_fields(&doc).map(|_| ())) {
                    proptest::prop_assert!(e.status().is_client_error());
                }
            }
        }
    }

    #[test]
    fn username_hash_ignores_case() {
        assert_eq!(username_hash("Jane@X.io"), username_hash("jane@x.io"));
        assert_ne!(username_hash("jane@x.io"), username_hash("jane@x.org"));
        assert_eq!(username_hash("a@b.c").len(), 16);
    }

    #[test]
    fn names_are_dns_safe_and_deterministic() {
        let cases = [
            ("Jane.Doe@Example.com", "jane.doe.example.com"),
            ("o'brien+test@x.io", "o-brien-test.x.io"),
            ("Engineering Team (EU)", "engineering-team-eu"),
            ("..--..", "fallback"),
            ("Ünïcode Group", "n-code-group"),
        ];
        for (from, want) in cases {
            assert_eq!(resource_name(from, "fallback"), want, "{from}");
        }
        let long = "a".repeat(100) + "@x.io";
        assert!(resource_name(&long, "f").len() <= 63);
        let c1 = candidate_name("jane", "Jane@x.io", 1);
        assert_eq!(
            c1,
            candidate_name("jane", "jane@X.io", 1),
            "case-insensitive key"
        );
        assert_ne!(c1, candidate_name("jane", "jane2@x.io", 1));
        assert!(candidate_name("jane", "j", 2).ends_with("-2"));
        for name in [c1, candidate_name(&"b".repeat(63), "k", 3)] {
            assert!(name.len() <= 63 && !name.ends_with('-'), "{name}");
        }
    }
}
