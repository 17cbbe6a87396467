//! Destructive changes: what the safeguard counts, holds, approves and rejects.
//!
//! A plan's destructive part is a set of [`Change`]s; its id is a SHA-256 digest of that set,
//! so the same pending set always has the same id and two different sets practically never
//! share one.

use std::collections::BTreeSet;

use crate::crd::{DeprovisionAction, PlanItem};

use super::super::model::{UserKey, user_key};
use super::super::plan::Plan;

/// One destructive change, keyed by the lower-cased username.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Change {
    /// `deluser` of a user whose resource is being deleted.
    Deprovision {
        /// The user.
        user: UserKey,
        /// The resolved action.
        action: DeprovisionAction,
    },
    /// `disableuser` of a user LastPass already has.
    Suspend {
        /// The user.
        user: UserKey,
    },
    /// Removal from one group (`batchchangegrp` with `del`).
    RemoveFromGroup {
        /// The user.
        user: UserKey,
        /// The group left.
        group: String,
    },
}

/// Action names of [`Change`] in status (those of `status.plan.sample`).
pub mod actions {
    /// [`super::Change::Deprovision`].
    pub const DEPROVISION: &str = "Deprovision";
    /// [`super::Change::Suspend`].
    pub const SUSPEND: &str = "Suspend";
    /// [`super::Change::RemoveFromGroup`].
    pub const REMOVE_FROM_GROUP: &str = "RemoveFromGroup";
}

impl Change {
    /// The user concerned.
    pub fn user(&self) -> &str {
        match self {
            Self::Deprovision { user, .. }
            | Self::Suspend { user }
            | Self::RemoveFromGroup { user, .. } => user,
        }
    }

    /// The change as a status item (`Deprovision` with the action, `Suspend`,
    /// `RemoveFromGroup` with the group).
    pub fn item(&self) -> PlanItem {
        let (action, detail) = match self {
            Self::Deprovision { action, .. } => (actions::DEPROVISION, Some(format!("{action:?}"))),
            Self::Suspend { .. } => (actions::SUSPEND, None),
            Self::RemoveFromGroup { group, .. } => {
                (actions::REMOVE_FROM_GROUP, Some(group.clone()))
            }
        };
        PlanItem {
            action: action.to_string(),
            username: self.user().to_string(),
            detail,
        }
    }

    /// The change a status item describes, if it describes one.
    pub fn from_item(item: &PlanItem) -> Option<Self> {
        let user = user_key(&item.username);
        Some(match item.action.as_str() {
            actions::DEPROVISION => Self::Deprovision {
                user,
                action: match item.detail.as_deref()? {
                    "Deactivate" => DeprovisionAction::Deactivate,
                    "RemoveFromCompany" => DeprovisionAction::RemoveFromCompany,
                    "Delete" => DeprovisionAction::Delete,
                    _ => return None,
                },
            },
            actions::SUSPEND => Self::Suspend { user },
            actions::REMOVE_FROM_GROUP => Self::RemoveFromGroup {
                user,
                group: item.detail.clone()?,
            },
            _ => return None,
        })
    }

    /// Unambiguous bytes of the change for the digest (each field length-prefixed).
    fn canonical(&self, out: &mut Vec<u8>) {
        let mut field = |s: &str| {
            out.extend_from_slice(&(s.len() as u64).to_be_bytes());
            out.extend_from_slice(s.as_bytes());
        };
        match self {
            Self::Deprovision { user, action } => {
                field("deprovision");
                field(user);
                field(&format!("{action:?}"));
            }
            Self::Suspend { user } => {
                field("suspend");
                field(user);
            }
            Self::RemoveFromGroup { user, group } => {
                field("remove");
                field(user);
                field(group);
            }
        }
    }
}

/// Destructive changes by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Counts {
    /// Users deprovisioned.
    pub deprovisions: usize,
    /// Existing users suspended.
    pub suspensions: usize,
    /// Group memberships removed.
    pub membership_removals: usize,
}

impl Counts {
    /// The counts of a set of changes.
    pub fn of<'a>(changes: impl IntoIterator<Item = &'a Change>) -> Self {
        let mut out = Self::default();
        for c in changes {
            match c {
                Change::Deprovision { .. } => out.deprovisions += 1,
                Change::Suspend { .. } => out.suspensions += 1,
                Change::RemoveFromGroup { .. } => out.membership_removals += 1,
            }
        }
        out
    }

    /// People losing access: deprovisions + suspensions (what `maxPerSync` and `maxPercent`
    /// limit).
    pub fn people(&self) -> usize {
        self.deprovisions + self.suspensions
    }

    /// Whether nothing is counted.
    pub fn is_empty(&self) -> bool {
        self.people() + self.membership_removals == 0
    }
}

impl std::ops::Add for Counts {
    type Output = Self;
    fn add(self, o: Self) -> Self {
        Self {
            deprovisions: self.deprovisions + o.deprovisions,
            suspensions: self.suspensions + o.suspensions,
            membership_removals: self.membership_removals + o.membership_removals,
        }
    }
}

/// The destructive part of a plan: deprovisions, suspensions of users LastPass already has
/// (a user invited suspended loses nothing), and membership removals.
pub fn destructive(plan: &Plan) -> BTreeSet<Change> {
    let invited: BTreeSet<UserKey> = plan.creates.iter().map(|c| user_key(&c.username)).collect();
    let mut out = BTreeSet::new();
    out.extend(plan.deprovisions.iter().map(|d| Change::Deprovision {
        user: user_key(&d.username),
        action: d.action,
    }));
    out.extend(
        plan.disables
            .iter()
            .map(|u| user_key(u))
            .filter(|k| !invited.contains(k))
            .map(|user| Change::Suspend { user }),
    );
    for c in &plan.group_changes {
        out.extend(c.del.iter().map(|g| Change::RemoveFromGroup {
            user: user_key(&c.username),
            group: g.clone(),
        }));
    }
    out
}

/// Removes these changes from a plan (empty membership changes go too).
pub fn remove(plan: &mut Plan, drop: &BTreeSet<Change>) {
    if drop.is_empty() {
        return;
    }
    plan.deprovisions.retain(|d| {
        !drop.contains(&Change::Deprovision {
            user: user_key(&d.username),
            action: d.action,
        })
    });
    plan.disables
        .retain(|u| !drop.contains(&Change::Suspend { user: user_key(u) }));
    for c in &mut plan.group_changes {
        let user = user_key(&c.username);
        c.del.retain(|g| {
            !drop.contains(&Change::RemoveFromGroup {
                user: user.clone(),
                group: g.clone(),
            })
        });
    }
    plan.group_changes
        .retain(|c| !c.add.is_empty() || !c.del.is_empty());
}

/// The id of a set of changes: hex SHA-256 of the sorted set. Stable for the same set.
pub fn plan_id(changes: &BTreeSet<Change>) -> String {
    let mut bytes = Vec::new();
    for c in changes {
        c.canonical(&mut bytes);
    }
    crate::naming::sha256_hex(&bytes)
}

impl Plan {
    /// Digest of the plan's destructive part (deprovisions, suspensions, membership
    /// removals): the id the safeguard holds it under when all of it is held. The same
    /// pending set always gives the same id.
    pub fn id(&self) -> String {
        plan_id(&destructive(self))
    }
}
