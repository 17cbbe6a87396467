//! Group members as SCIM sends them (user ids) against the users the endpoint knows: known ids
//! become usernames in `spec.members`; ids not known yet are kept pending on the group
//! ([`crate::crd::PENDING_MEMBERS_ANNOTATION`]) until their user arrives (RFC 7644 does not ask a server
//! to refuse them, and identity providers send them: parallel workers, retries, replicas that
//! have not seen a user yet).

use std::collections::HashMap;

use super::error::Error;
use super::limits::MAX_PENDING_MEMBERS;
use super::mapping;
use crate::crd::LastPassUser;

/// Members of one group write.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Members {
    /// Usernames of the known members, in the order sent.
    pub usernames: Vec<String>,
    /// Ids with no user yet, in the order sent.
    pub pending: Vec<String>,
}

impl Members {
    /// The value of [`crate::crd::PENDING_MEMBERS_ANNOTATION`]: a JSON list, or `None` when nothing is
    /// pending (the annotation is then removed).
    pub fn annotation(&self) -> Option<String> {
        (!self.pending.is_empty())
            .then(|| serde_json::to_string(&self.pending).expect("a list of strings"))
    }
}

/// Splits member ids into known users and pending ids; an id that can never be one of ours
/// (not a label value: ours are UUIDs) is 400, and more than [`MAX_PENDING_MEMBERS`] pending
/// ids on one group is 400.
pub fn resolve(ids: &[String], users: &[LastPassUser]) -> Result<Members, Error> {
    let by_id: HashMap<String, &str> = users
        .iter()
        .map(|u| (mapping::scim_id(&u.metadata), u.spec.username.as_str()))
        .collect();
    let mut out = Members::default();
    for id in ids {
        match by_id.get(id) {
            Some(username) => out.usernames.push(username.to_string()),
            None if could_be_an_id(id) => out.pending.push(id.clone()),
            None => {
                return Err(Error::InvalidValue(format!(
                    "member {id:?} is not a user id of this SCIM endpoint (ids are the `id` a POST /Users answered)"
                )));
            }
        }
    }
    if out.pending.len() > MAX_PENDING_MEMBERS {
        return Err(Error::TooMany(format!(
            "{} members of this group are not users of this endpoint yet; at most {MAX_PENDING_MEMBERS} are kept pending per group: create those users first (POST /Users), then add them",
            out.pending.len()
        )));
    }
    Ok(out)
}

/// Whether `id` has the shape of a SCIM id this server issues (a label value).
fn could_be_an_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 63
        && id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        && id.starts_with(|c: char| c.is_ascii_alphanumeric())
        && id.ends_with(|c: char| c.is_ascii_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::crd::LastPassUserSpec;

    fn user(username: &str, id: &str) -> LastPassUser {
        let mut u = LastPassUser::new("u", LastPassUserSpec::for_username(username));
        u.metadata.labels = Some(mapping::labels("acme", id));
        u
    }

    #[test]
    fn known_ids_become_usernames_and_unknown_ones_wait() {
        let users = [user("a@x.io", "id-a"), user("b@x.io", "id-b")];
        let ids: Vec<String> = ["id-b", "later-1", "id-a", "later-2"]
            .map(String::from)
            .to_vec();
        let m = resolve(&ids, &users).unwrap();
        assert_eq!(m.usernames, ["b@x.io", "a@x.io"]);
        assert_eq!(m.pending, ["later-1", "later-2"]);
        assert_eq!(m.annotation().as_deref(), Some(r#"["later-1","later-2"]"#));
        assert_eq!(resolve(&ids[..1], &users).unwrap().annotation(), None);
    }

    #[test]
    fn ids_that_cannot_be_ours_and_too_many_pending_are_400() {
        let e = resolve(&["a b".to_string()], &[]).unwrap_err();
        assert_eq!(
            (e.status().as_u16(), e.scim_type()),
            (400, Some("invalidValue"))
        );
        let ids: Vec<String> = (0..=MAX_PENDING_MEMBERS).map(|i| format!("p{i}")).collect();
        let e = resolve(&ids, &[]).unwrap_err();
        assert_eq!(e.status().as_u16(), 400);
        assert!(
            e.to_string().contains("at most 1000 are kept pending"),
            "{e}"
        );
        assert!(resolve(&ids[1..], &[]).is_ok(), "1,000 is fine");
    }
}
