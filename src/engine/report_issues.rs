//! The condition of a resource the desire left out of the plan (an [`Issue`]): the reason, and a
//! message that says the fix. Pure, like [`super::report`]; `plan` prints the same.

use super::desire::Issue;
use super::model::ResourceRef;
use crate::status::Reason;

/// The condition of a resource left out of the plan: reason, and a message that says the fix.
pub fn issue_condition(issue: &Issue) -> (Reason, String) {
    let owner_text = |kind: &str, owner: &Option<ResourceRef>| match owner {
        Some(o) => format!("{kind} {}/{}", o.namespace, o.name),
        None => format!("an older {kind} in another namespace"),
    };
    match issue {
        Issue::IntegrationNotAllowed { namespace } => (
            Reason::IntegrationNotAllowed,
            format!(
                "the DirectoryIntegration does not allow namespace {namespace}; see its \
                 spec.allowedNamespaces"
            ),
        ),
        Issue::UsernameConflict { username, owner } => (
            Reason::UsernameConflict,
            format!(
                "username {username} is already managed by {}; this resource changes nothing \
                 in LastPass until that one is deleted (then it takes over, without a new \
                 invitation) — or delete this one",
                owner_text("LastPassUser", owner)
            ),
        ),
        Issue::GroupNameConflict { group_name, owner } => (
            Reason::GroupNameConflict,
            format!(
                "group {group_name} is already managed by {}; this resource changes nothing in \
                 LastPass until that one is deleted — or delete this one",
                owner_text("LastPassGroup", owner)
            ),
        ),
        Issue::InvalidSelector { message } => (Reason::InvalidSelector, message.clone()),
        Issue::InvalidUsername { username } => (
            Reason::InvalidUsername,
            format!(
                "spec.username {username:?} is not an e-mail address; LastPass usernames are e-mails"
            ),
        ),
        Issue::InvalidMember { member } => (
            Reason::InvalidMember,
            format!(
                "spec.members entry {member:?} is not an e-mail address; list LastPass usernames"
            ),
        ),
        Issue::UsernameChanged { bound, now } => (
            Reason::UsernameChanged,
            format!(
                "spec.username is immutable: this resource is bound to {bound}, the spec now says \
                 {now}; nothing was changed in LastPass. Set it back to {bound}, or create a new \
                 LastPassUser for {now} and delete this one"
            ),
        ),
        Issue::GroupNameChanged { bound, now } => (
            Reason::GroupNameChanged,
            format!(
                "spec.groupName is immutable: this resource is bound to group {bound}, the spec \
                 now says {now}; nothing was changed in LastPass. Set it back, or create a new \
                 LastPassGroup and delete this one"
            ),
        ),
        Issue::IntegrationRefChanged { bound, now } => (
            Reason::IntegrationRefChanged,
            format!(
                "spec.integrationRef is immutable: this resource is bound to DirectoryIntegration \
                 {}/{}, the spec now names {}/{}; nothing was changed in LastPass, and deleting \
                 this resource still deprovisions through {}/{}. Set it back, or create a new \
                 resource and delete this one",
                bound.namespace.as_deref().unwrap_or_default(),
                bound.name,
                now.namespace.as_deref().unwrap_or_default(),
                now.name,
                bound.namespace.as_deref().unwrap_or_default(),
                bound.name,
            ),
        ),
        Issue::CrossNamespaceGroup { group } => (
            Reason::CrossNamespaceReference,
            format!(
                "spec.groups names {group}, which a LastPassGroup in another namespace owns: only \
                 that group adds people to it, so this user changes nothing in LastPass. Remove \
                 {group} from spec.groups, or ask its owners to list this user"
            ),
        ),
        Issue::CrossNamespaceMember { member } => (
            Reason::CrossNamespaceReference,
            format!(
                "spec.members lists {member}, whom a LastPassUser in another namespace manages: \
                 a group outside the integration's namespace lists only users of its own \
                 namespace, so this group changes nothing in LastPass. Remove {member}, or \
                 manage the group in the integration's namespace"
            ),
        ),
        Issue::InitialPasswordConflict { namespace, secret } => (
            Reason::InitialPasswordConflict,
            format!(
                "Secret {namespace}/{secret} exists but was not created by the operator for this \
                 LastPassUser, so it is not used as the initial password and the user is not \
                 invited; delete that Secret (the operator then generates one)"
            ),
        ),
    }
}
