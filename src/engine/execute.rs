//! Execute: turn a guarded plan into batched LastPass writes, in a safe order, and record what
//! each write did. Stops at the first error that says the account may have changed, so the
//! engine re-observes instead of resending anything blind.

use std::collections::BTreeMap;

use secrecy::SecretString;
use tracing::{info, warn};

use crate::crd::DeprovisionAction;
use crate::lastpass::{
    ApiError, Batch, CommandKind, DeleteAction, ErrorClass, GroupChange as WireGroupChange,
    LastPass, NewUser, UserUpdate,
};

use super::model::{UserKey, user_key};
use super::plan::Plan;

/// One change LastPass accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    /// The command that carried it.
    pub command: CommandKind,
    /// The user concerned, as sent.
    pub username: String,
}

/// One change LastPass refused.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Failure {
    /// The command that carried it.
    pub command: CommandKind,
    /// The user concerned, when the reply names one.
    pub username: Option<String>,
    /// LastPass's message (free text, for people).
    pub message: String,
}

/// What one execution did.
#[derive(Debug, Default)]
pub struct Execution {
    /// Changes accepted.
    pub applied: Vec<Applied>,
    /// Changes refused (per user, where the reply says).
    pub failures: Vec<Failure>,
    /// HTTP calls made, by command.
    pub calls: BTreeMap<CommandKind, usize>,
    /// A `batchadd` was refused for want of seats.
    pub seats_exhausted: bool,
    /// The error that stopped execution (transient, unknown outcome, or credentials).
    pub stopped: Option<ApiError>,
    /// The changes of the write whose outcome is unknown (LastPass may have applied them).
    pub in_doubt: Vec<Applied>,
}

impl Execution {
    /// Whether anything was sent.
    pub fn wrote(&self) -> bool {
        !self.calls.is_empty()
    }

    /// Keys of the users a change failed for.
    pub fn failed_users(&self) -> impl Iterator<Item = UserKey> + '_ {
        self.failures
            .iter()
            .filter_map(|f| f.username.as_deref().map(user_key))
    }
}

/// The wire form of a deprovision action.
pub fn delete_action(action: DeprovisionAction) -> DeleteAction {
    match action {
        DeprovisionAction::Deactivate => DeleteAction::Deactivate,
        DeprovisionAction::RemoveFromCompany => DeleteAction::RemoveFromCompany,
        DeprovisionAction::Delete => DeleteAction::Delete,
    }
}

/// The batches of a plan, in the order they are sent: invitations, state, names, groups,
/// deprovisions. `passwords` holds generated initial passwords by user key.
pub fn batches(plan: &Plan, passwords: &BTreeMap<UserKey, SecretString>) -> Vec<Batch> {
    let mut out = Vec::new();
    if !plan.creates.is_empty() {
        out.push(Batch::Add(
            plan.creates
                .iter()
                .map(|c| {
                    let password = passwords.get(&user_key(&c.username)).cloned();
                    NewUser {
                        username: c.username.clone(),
                        fullname: c.full_name.clone(),
                        groups: c.groups.iter().map(str::to_string).collect(),
                        attributes: c.attributes.clone(),
                        // A generated password is temporary: it must be changed at first login.
                        password_reset_required: Some(
                            c.password_reset_required || password.is_some(),
                        ),
                        password,
                    }
                })
                .collect(),
        ));
    }
    if !plan.attribute_updates.is_empty() {
        out.push(Batch::Add(
            plan.attribute_updates
                .iter()
                .map(|u| NewUser {
                    username: u.username.clone(),
                    fullname: u.full_name.clone(),
                    attributes: u.attributes.clone(),
                    ..NewUser::default()
                })
                .collect(),
        ));
    }
    if !plan.enables.is_empty() {
        out.push(Batch::Enable(plan.enables.clone()));
    }
    if !plan.disables.is_empty() {
        out.push(Batch::Disable(plan.disables.clone()));
    }
    out.extend(plan.updates.iter().map(|u| {
        Batch::Update(UserUpdate {
            username: u.username.clone(),
            fullname: Some(u.full_name.clone()),
        })
    }));
    if !plan.group_changes.is_empty() {
        out.push(Batch::ChangeGroups(
            plan.group_changes
                .iter()
                .map(|c| WireGroupChange {
                    username: c.username.clone(),
                    add: c.add.iter().cloned().collect(),
                    del: c.del.iter().cloned().collect(),
                })
                .collect(),
        ));
    }
    out.extend(plan.deprovisions.iter().map(|d| Batch::Delete {
        username: d.username.clone(),
        action: delete_action(d.action),
    }));
    out
}

/// Whether a refusal of `batchadd` says the account has no seats left.
fn is_seat_refusal(messages: &[String]) -> bool {
    messages.iter().any(|m| {
        let m = m.to_lowercase();
        m.contains("seat") || m.contains("licen")
    })
}

/// Sends the plan's batches. A permanent refusal is recorded and execution goes on with the
/// next batch; any other error stops it and is returned in [`Execution::stopped`].
pub async fn execute<L: LastPass>(
    lastpass: &L,
    plan: &Plan,
    passwords: &BTreeMap<UserKey, SecretString>,
) -> Execution {
    let mut out = Execution::default();
    for batch in batches(plan, passwords) {
        let command = batch.kind();
        let targets: Vec<String> = batch.targets().into_iter().map(String::from).collect();
        match lastpass.execute(&batch).await {
            Ok(report) => {
                *out.calls.entry(command).or_default() += report.calls;
                let failed: Vec<UserKey> = report
                    .failures
                    .iter()
                    .filter_map(|f| f.username.as_deref().map(user_key))
                    .collect();
                if command == CommandKind::BatchAdd
                    && is_seat_refusal(
                        &report
                            .failures
                            .iter()
                            .map(|f| f.message.clone())
                            .collect::<Vec<_>>(),
                    )
                {
                    out.seats_exhausted = true;
                }
                out.failures
                    .extend(report.failures.into_iter().map(|f| Failure {
                        command,
                        username: f.username,
                        message: f.message,
                    }));
                out.applied.extend(
                    targets
                        .into_iter()
                        .filter(|t| !failed.contains(&user_key(t)))
                        .map(|username| Applied { command, username }),
                );
                info!(%command, "LastPass write applied");
            }
            Err(ApiError::Failed { command, messages }) => {
                *out.calls.entry(command).or_default() += 1;
                warn!(%command, targets = targets.len(), "LastPass refused a write");
                if command == CommandKind::BatchAdd && is_seat_refusal(&messages) {
                    out.seats_exhausted = true;
                }
                let message = messages.join("; ");
                out.failures
                    .extend(targets.into_iter().map(|username| Failure {
                        command,
                        username: Some(username),
                        message: message.clone(),
                    }));
            }
            Err(e) => {
                if e.class() != ErrorClass::Interrupted {
                    *out.calls.entry(command).or_default() += 1;
                }
                if e.class() == ErrorClass::Reobserve {
                    out.in_doubt.extend(
                        targets
                            .into_iter()
                            .map(|username| Applied { command, username }),
                    );
                    warn!(%command, "LastPass write outcome unknown; the account is re-read before anything else");
                }
                out.stopped = Some(e);
                break;
            }
        }
    }
    out
}
