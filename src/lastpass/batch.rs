//! Writes: the typed data of every write command ([`Batch`]), the delete action, and
//! [`split`], which cuts bulk writes into chunks of the configured batch size.

use std::collections::BTreeMap;

use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use serde_json::{Map, Value, json};

use super::command_kind::CommandKind;

/// What `deluser` does to the account (`deleteaction`, sent as an integer).
///
/// There is deliberately no conversion from an arbitrary integer that falls back to
/// [`DeleteAction::Delete`]: unknown values are errors.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub enum DeleteAction {
    /// `0`: login blocked, data and groups kept, seat freed.
    #[default]
    Deactivate = 0,
    /// `1`: the user leaves the company and keeps a free personal account.
    RemoveFromCompany = 1,
    /// `2`: account and vault erased; irreversible.
    Delete = 2,
}

impl DeleteAction {
    /// The integer sent as `deleteaction`.
    pub fn code(self) -> u8 {
        self as u8
    }
}

impl TryFrom<u8> for DeleteAction {
    type Error = u8;

    /// Maps 0, 1 and 2; any other value is returned as the error.
    fn try_from(v: u8) -> Result<Self, u8> {
        match v {
            0 => Ok(Self::Deactivate),
            1 => Ok(Self::RemoveFromCompany),
            2 => Ok(Self::Delete),
            other => Err(other),
        }
    }
}

impl Serialize for DeleteAction {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.code())
    }
}

/// One user for `batchadd`.
#[derive(Debug, Clone, Default)]
pub struct NewUser {
    /// E-mail address, sent as written.
    pub username: String,
    /// Display name.
    pub fullname: Option<String>,
    /// Groups to join (created implicitly by LastPass).
    pub groups: Vec<String>,
    /// Free-form attributes (`attribs`).
    pub attributes: BTreeMap<String, String>,
    /// Force a master password change at first login (LastPass defaults to `true`).
    pub password_reset_required: Option<bool>,
    /// Initial master password; redacted in `Debug`, only exposed in the request body.
    pub password: Option<SecretString>,
}

impl PartialEq for NewUser {
    fn eq(&self, o: &Self) -> bool {
        self.username == o.username
            && self.fullname == o.fullname
            && self.groups == o.groups
            && self.attributes == o.attributes
            && self.password_reset_required == o.password_reset_required
            && self.password.as_ref().map(|p| p.expose_secret())
                == o.password.as_ref().map(|p| p.expose_secret())
    }
}

/// `updateuser`: new profile fields for one existing user.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserUpdate {
    /// The user to change.
    pub username: String,
    /// New display name.
    pub fullname: Option<String>,
}

/// One user's line in `batchchangegrp`. Never put a group in both lists.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct GroupChange {
    /// The user whose memberships change.
    pub username: String,
    /// Groups to join.
    pub add: Vec<String>,
    /// Groups to leave.
    pub del: Vec<String>,
}

/// A write: what [`crate::lastpass::LastPass::execute`] sends. Bulk variants are split into
/// chunks of at most `max_batch` users by the client.
#[derive(Debug, Clone, PartialEq)]
pub enum Batch {
    /// `batchadd`.
    Add(Vec<NewUser>),
    /// `updateuser` (one user).
    Update(UserUpdate),
    /// `batchchangegrp`.
    ChangeGroups(Vec<GroupChange>),
    /// `deluser` (one user). A `FAIL` ([`crate::lastpass::ApiError::Failed`]) may mean the user
    /// is already gone: re-observe, and if the user is absent the goal is met.
    Delete {
        /// The user to deprovision.
        username: String,
        /// What happens to the account.
        action: DeleteAction,
    },
    /// `disableuser`.
    Disable(Vec<String>),
    /// `enableuser`.
    Enable(Vec<String>),
    /// `reinviteuser` (one user).
    Reinvite(String),
    /// `resetpassword` (one user).
    ResetPassword(String),
}

impl Batch {
    /// The command this write is sent as.
    pub fn kind(&self) -> CommandKind {
        match self {
            Self::Add(_) => CommandKind::BatchAdd,
            Self::Update(_) => CommandKind::UpdateUser,
            Self::ChangeGroups(_) => CommandKind::BatchChangeGrp,
            Self::Delete { .. } => CommandKind::DelUser,
            Self::Disable(_) => CommandKind::DisableUser,
            Self::Enable(_) => CommandKind::EnableUser,
            Self::Reinvite(_) => CommandKind::ReinviteUser,
            Self::ResetPassword(_) => CommandKind::ResetPassword,
        }
    }

    /// The usernames this write targets, as written.
    pub fn targets(&self) -> Vec<&str> {
        match self {
            Self::Add(v) => v.iter().map(|u| u.username.as_str()).collect(),
            Self::Update(u) => vec![u.username.as_str()],
            Self::ChangeGroups(v) => v.iter().map(|c| c.username.as_str()).collect(),
            Self::Delete { username, .. } | Self::Reinvite(username) => vec![username.as_str()],
            Self::ResetPassword(username) => vec![username.as_str()],
            Self::Disable(v) | Self::Enable(v) => v.iter().map(String::as_str).collect(),
        }
    }

    /// Whether the write has no target at all (nothing to send).
    pub fn is_empty(&self) -> bool {
        self.targets().is_empty()
    }
}

pub(crate) fn batch_data(b: &Batch) -> Value {
    match b {
        Batch::Add(users) => Value::Array(users.iter().map(new_user_data).collect()),
        Batch::Update(u) => {
            let mut m = Map::new();
            m.insert("username".into(), json!(u.username));
            if let Some(f) = &u.fullname {
                m.insert("fullname".into(), json!(f));
            }
            Value::Object(m)
        }
        Batch::ChangeGroups(changes) => Value::Array(
            changes
                .iter()
                .map(|c| {
                    let mut m = Map::new();
                    m.insert("username".into(), json!(c.username));
                    if !c.add.is_empty() {
                        m.insert("add".into(), json!(c.add));
                    }
                    if !c.del.is_empty() {
                        m.insert("del".into(), json!(c.del));
                    }
                    Value::Object(m)
                })
                .collect(),
        ),
        Batch::Delete { username, action } => {
            json!({"username": username, "deleteaction": action})
        }
        Batch::Disable(v) | Batch::Enable(v) => json!(v),
        Batch::Reinvite(u) | Batch::ResetPassword(u) => json!({ "username": u }),
    }
}

fn new_user_data(u: &NewUser) -> Value {
    let mut m = Map::new();
    m.insert("username".into(), json!(u.username));
    if let Some(f) = &u.fullname {
        m.insert("fullname".into(), json!(f));
    }
    if !u.groups.is_empty() {
        m.insert("groups".into(), json!(u.groups));
    }
    if !u.attributes.is_empty() {
        m.insert("attribs".into(), json!(u.attributes));
    }
    if let Some(p) = u.password_reset_required {
        m.insert("password_reset_required".into(), json!(p));
    }
    if let Some(p) = &u.password {
        m.insert("password".into(), json!(p.expose_secret()));
    }
    Value::Object(m)
}

/// Splits a bulk write into chunks of at most `max` users (`batchadd`, `batchchangegrp`,
/// `disableuser`, `enableuser`); other writes come back as they are. `max` of 0 means 1.
pub fn split(batch: &Batch, max: usize) -> Vec<Batch> {
    let max = max.max(1);
    match batch {
        Batch::Add(v) => v.chunks(max).map(|c| Batch::Add(c.to_vec())).collect(),
        Batch::ChangeGroups(v) => v
            .chunks(max)
            .map(|c| Batch::ChangeGroups(c.to_vec()))
            .collect(),
        Batch::Disable(v) => v.chunks(max).map(|c| Batch::Disable(c.to_vec())).collect(),
        Batch::Enable(v) => v.chunks(max).map(|c| Batch::Enable(c.to_vec())).collect(),
        other => vec![other.clone()],
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn delete_action_never_maps_unknown_to_delete() {
        assert_eq!(DeleteAction::try_from(0), Ok(DeleteAction::Deactivate));
        assert_eq!(DeleteAction::try_from(2), Ok(DeleteAction::Delete));
        assert_eq!(DeleteAction::try_from(3), Err(3));
        assert_eq!(DeleteAction::try_from(200), Err(200));
    }

    #[test]
    fn split_chunks_bulk_writes_only() {
        let users: Vec<NewUser> = (0..250)
            .map(|i| NewUser {
                username: format!("u{i}@x.io"),
                ..Default::default()
            })
            .collect();
        let chunks = split(&Batch::Add(users), 100);
        assert_eq!(
            chunks.iter().map(|b| b.targets().len()).collect::<Vec<_>>(),
            [100, 100, 50]
        );
        assert_eq!(split(&Batch::Reinvite("a@x.io".into()), 1).len(), 1);
    }

    #[test]
    fn password_is_redacted_in_debug() {
        let u = NewUser {
            password: Some(SecretString::from("hunter2")),
            ..Default::default()
        };
        assert!(!format!("{u:?}").contains("hunter2"));
    }
}
