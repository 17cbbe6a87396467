//! Which `getuserdata` answers a decision may rest on. Pure checks, no I/O.
//!
//! A LastPass account always holds at least its admin (whose provisioning hash the operator
//! uses), so an empty whole-account read is never the truth: it is a broken upstream or a
//! changed reply shape. A whole-account read is trusted only if every page has a users
//! collection, the pages hold at least one user, every stated `count` matches its page and the
//! pages add up to any stated `total` (`total`, `count` and `Groups` may be missing: the API
//! reference marks them unknown on some replies). A username-filtered read may answer the
//! documented no-match form `{"Users": []}`, which means "absent".

use super::snapshot::{User, UserPage, UsersShape};

/// Checks one page of a whole-account read; `index` is zero-based. `Err` says what is wrong.
/// An empty users collection is accepted after the first page only, as the end of the data.
pub fn check_page(index: usize, page: &UserPage) -> Result<(), String> {
    match page.shape {
        UsersShape::Missing => {
            return Err(format!(
                "page {index} of the whole-account getuserdata has no users collection (no \
                 \"Users\" object)"
            ));
        }
        UsersShape::EmptyList if index == 0 => {
            return Err(
                "the whole-account getuserdata listed no users, but a LastPass account \
                        always holds at least its admin"
                    .to_string(),
            );
        }
        UsersShape::EmptyList | UsersShape::Listed => {}
    }
    if let Some(count) = page.count
        && count != page.users.len() as u64
    {
        return Err(format!(
            "page {index} of the whole-account getuserdata states count {count} but lists {} \
             users",
            page.users.len()
        ));
    }
    Ok(())
}

/// Checks that no user id of page `index` was listed on an earlier page (`ids` holds the ids
/// seen so far and gains this page's): a page repeating users means the paging is broken and
/// the read may miss others.
pub fn check_new_ids(
    index: usize,
    page: &UserPage,
    ids: &mut std::collections::HashSet<String>,
) -> Result<(), String> {
    for u in &page.users {
        if !ids.insert(u.id.clone()) {
            return Err(format!(
                "page {index} of the whole-account getuserdata lists user id {} again: the \
                 paging is broken",
                u.id
            ));
        }
    }
    Ok(())
}

/// Checks a whole read once every page is in: `users` distinct users were read, and `total` is
/// the last total a page stated.
pub fn check_whole(users: usize, total: Option<u64>) -> Result<(), String> {
    if users == 0 {
        return Err(
            "the whole-account getuserdata listed no users, but a LastPass account \
                    always holds at least its admin"
                .to_string(),
        );
    }
    match total {
        Some(t) if t != users as u64 => Err(format!(
            "the pages of the whole-account getuserdata add up to {users} users, but total \
             says {t}"
        )),
        _ => Ok(()),
    }
}

/// The user a read filtered by `username` found: `Ok(None)` for the documented no-match reply
/// (`{"Users": []}`), `Err` when the reply has no users collection or lists anyone else.
pub fn filtered_user(username: &str, page: UserPage) -> Result<Option<User>, String> {
    match page.shape {
        UsersShape::Missing => Err(
            "the getuserdata filtered by username has no users collection (no \"Users\" object \
             or empty array)"
                .to_string(),
        ),
        UsersShape::EmptyList => Ok(None),
        UsersShape::Listed => {
            let key = username.trim().to_lowercase();
            let others = page
                .users
                .iter()
                .filter(|u| u.username.trim().to_lowercase() != key)
                .count();
            if others > 0 {
                return Err(format!(
                    "the getuserdata filtered by username listed {others} other users: the \
                     filter was not applied"
                ));
            }
            Ok(page.users.into_iter().next())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::snapshot::decode_page;
    use super::*;
    use serde_json::json;

    fn page(v: serde_json::Value) -> UserPage {
        decode_page(v.to_string().as_bytes()).unwrap()
    }

    fn one() -> serde_json::Value {
        json!({"Users": {"10001": {"username": "admin@x.io", "admin": true}}})
    }

    #[test]
    fn untrusted_first_pages() {
        for body in [
            json!([]),
            json!({}),
            json!({"Users": null}),
            json!({"status": "OK"}),
            json!({"Users": []}),
            json!({"Users": {}}),
            json!({"total": 0, "count": 0, "Users": [], "Groups": []}),
        ] {
            assert!(check_page(0, &page(body.clone())).is_err(), "{body}");
        }
        assert!(check_page(0, &page(one())).is_ok());
    }

    #[test]
    fn an_empty_later_page_ends_the_data_but_a_missing_collection_never_does() {
        assert!(check_page(1, &page(json!({"Users": []}))).is_ok());
        assert!(check_page(1, &page(json!({"status": "OK"}))).is_err());
        assert!(check_page(1, &page(json!([]))).is_err());
    }

    #[test]
    fn counts_and_totals_must_add_up() {
        let mut p = page(one());
        p.count = Some(2);
        assert!(check_page(0, &p).unwrap_err().contains("count 2"));
        assert!(check_whole(1, Some(1)).is_ok());
        assert!(check_whole(1, None).is_ok());
        assert!(
            check_whole(1, Some(3))
                .unwrap_err()
                .contains("total says 3")
        );
        assert!(check_whole(0, None).is_err());
    }

    #[test]
    fn a_user_id_listed_on_two_pages_is_refused() {
        let mut ids = std::collections::HashSet::new();
        assert!(check_new_ids(0, &page(one()), &mut ids).is_ok());
        let again = check_new_ids(1, &page(one()), &mut ids).unwrap_err();
        assert!(again.contains("10001"), "{again}");
    }

    #[test]
    fn filtered_reads() {
        assert_eq!(
            filtered_user("a@x.io", page(json!({"Users": []}))),
            Ok(None)
        );
        assert!(filtered_user("a@x.io", page(json!({}))).is_err());
        assert!(filtered_user("a@x.io", page(json!([]))).is_err());
        assert!(
            filtered_user("a@x.io", page(one())).is_err(),
            "another user listed"
        );
        let found = filtered_user("ADMIN@x.io", page(one())).unwrap().unwrap();
        assert_eq!(found.username, "admin@x.io");
    }
}
