//! Commands: the read and the writes as one [`Command`], and the one envelope function that turns a command into the JSON body
//! `{"cid", "provhash", "cmd", "data"}`.

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Map, Value, json};

use super::batch::{Batch, batch_data};
use super::command_kind::CommandKind;

/// Filters and paging of one `getuserdata` call; every field is optional on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct UserQuery {
    /// Exact username.
    pub username: Option<String>,
    /// Only disabled (`true`) or enabled (`false`) users.
    pub disabled: Option<bool>,
    /// Only admins (`true`) or non-admins (`false`).
    pub admin: Option<bool>,
    /// Users per page; `None` reads everything in one body.
    pub page_size: Option<usize>,
    /// Zero-based page number.
    pub page_index: Option<usize>,
}

/// Any call to the API: the read, or a write.
#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// `getuserdata` with filters and paging.
    GetUserData(UserQuery),
    /// A write.
    Write(Batch),
}

impl Command {
    /// The command name.
    pub fn kind(&self) -> CommandKind {
        match self {
            Self::GetUserData(_) => CommandKind::GetUserData,
            Self::Write(b) => b.kind(),
        }
    }

    /// The `data` member of the envelope, or `None` when the command takes none.
    fn data(&self) -> Option<Value> {
        match self {
            Self::GetUserData(q) => {
                let mut m = Map::new();
                if let Some(u) = &q.username {
                    m.insert("username".into(), json!(u));
                }
                if let Some(d) = q.disabled {
                    m.insert("disabled".into(), json!(u8::from(d)));
                }
                if let Some(a) = q.admin {
                    m.insert("admin".into(), json!(u8::from(a)));
                }
                if let Some(s) = q.page_size {
                    m.insert("pagesize".into(), json!(s));
                }
                if let Some(i) = q.page_index {
                    m.insert("pageindex".into(), json!(i));
                }
                (!m.is_empty()).then_some(Value::Object(m))
            }
            Self::Write(b) => Some(batch_data(b)),
        }
    }
}

/// Builds the request body of any call. The result holds the provhash in clear: send it, never
/// log, store or format it.
pub(crate) fn envelope(cid: &str, provhash: &SecretString, cmd: &Command) -> Vec<u8> {
    let mut m = Map::new();
    // Documented as an integer; fall back to a string (which clients also send) otherwise.
    let cid = cid.parse::<u64>().map_or_else(|_| json!(cid), |n| json!(n));
    m.insert("cid".into(), cid);
    m.insert("provhash".into(), json!(provhash.expose_secret()));
    m.insert("cmd".into(), json!(cmd.kind().as_str()));
    if let Some(d) = cmd.data() {
        m.insert("data".into(), d);
    }
    serde_json::to_vec(&Value::Object(m)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::batch::{DeleteAction, GroupChange, NewUser};
    use super::*;

    fn body(cmd: &Command) -> Value {
        serde_json::from_slice(&envelope("12345678", &SecretString::from("s3cr3t"), cmd)).unwrap()
    }

    #[test]
    fn envelope_has_integer_cid_and_no_data_when_unused() {
        let v = body(&Command::GetUserData(UserQuery::default()));
        assert_eq!(
            v,
            json!({"cid": 12345678, "provhash": "s3cr3t", "cmd": "getuserdata"})
        );
    }

    #[test]
    fn envelope_pages_and_deletes_with_integer_action() {
        let q = UserQuery {
            page_size: Some(500),
            page_index: Some(2),
            ..Default::default()
        };
        assert_eq!(
            body(&Command::GetUserData(q))["data"],
            json!({"pagesize": 500, "pageindex": 2})
        );
        let d = Batch::Delete {
            username: "a@x.io".into(),
            action: DeleteAction::RemoveFromCompany,
        };
        assert_eq!(
            body(&Command::Write(d))["data"],
            json!({"username": "a@x.io", "deleteaction": 1})
        );
    }

    #[test]
    fn envelope_of_bulk_writes() {
        let add = Batch::Add(vec![NewUser {
            username: "b@x.io".into(),
            groups: vec!["G".into()],
            password_reset_required: Some(true),
            ..Default::default()
        }]);
        assert_eq!(
            body(&Command::Write(add)),
            json!({"cid": 12345678, "provhash": "s3cr3t", "cmd": "batchadd",
                   "data": [{"username": "b@x.io", "groups": ["G"], "password_reset_required": true}]})
        );
        let grp = Batch::ChangeGroups(vec![GroupChange {
            username: "b@x.io".into(),
            add: vec!["A".into()],
            del: vec![],
        }]);
        assert_eq!(
            body(&Command::Write(grp))["data"],
            json!([{"username": "b@x.io", "add": ["A"]}])
        );
        assert_eq!(
            body(&Command::Write(Batch::Disable(vec!["a@x.io".into()])))["data"],
            json!(["a@x.io"])
        );
    }
}
