//! `unmanagedUsers: Adopt`: LastPassUser resources for LastPass users no resource declares,
//! labelled `lastpass-operator.io/source: adopted`, in the integration's namespace. They
//! declare what LastPass already has (name, groups), so adopting changes nothing in LastPass:
//! the planner never lets an adopted user's groups make other users' memberships removable
//! (see `engine::plan`). Admins are never adopted: deleting an adopted admin would deactivate
//! the account whose provisioning hash the operator uses.

use std::collections::BTreeMap;

use kube::ResourceExt;
use kube::api::{Api, PostParams};
use tracing::{info, warn};

use crate::crd::{
    DirectoryIntegration, IntegrationRef, LastPassUser, LastPassUserSpec, SOURCE_LABEL,
    UnmanagedUsers,
};
use crate::engine::account::AccountSync;
use crate::naming;

use super::context::Context;

/// Label value of adopted resources.
pub use crate::crd::SOURCE_ADOPTED;

/// The LastPassUser that adopts `user` for `integration`.
pub fn adopted_user(
    integration: &DirectoryIntegration,
    user: &crate::lastpass::User,
) -> LastPassUser {
    let spec = LastPassUserSpec {
        integration_ref: IntegrationRef {
            name: integration.name_any(),
            namespace: None,
        },
        username: user.username.clone(),
        full_name: (!user.fullname.is_empty()).then(|| user.fullname.clone()),
        groups: user.groups.iter().map(str::to_string).collect(),
        attributes: BTreeMap::new(),
        suspended: user.disabled,
        password_reset_required: user.password_reset_required,
        initial_password: Default::default(),
        deprovision_action: None,
    };
    let mut adopted = LastPassUser::new(
        &naming::user_name(&integration.name_any(), &user.username),
        spec,
    );
    adopted.metadata.namespace = integration.namespace();
    adopted.metadata.labels = Some(BTreeMap::from([(
        SOURCE_LABEL.to_string(),
        SOURCE_ADOPTED.to_string(),
    )]));
    adopted
}

/// Whether `user` may be adopted: never an admin (deleting the adopted resource would
/// deactivate an admin, perhaps the one whose provisioning hash the operator uses).
pub fn adoptable(user: &crate::lastpass::User) -> bool {
    !user.admin
}

/// Creates the adopting resources of one sync (none in a dry run: the plan lists them).
pub async fn adopt(ctx: &Context, integration: &DirectoryIntegration, sync: &AccountSync) {
    if integration.spec.sync.unmanaged_users != UnmanagedUsers::Adopt || sync.outcome.dry_run {
        return;
    }
    let Some(observed) = sync.outcome.observed.as_ref() else {
        return;
    };
    let api: Api<LastPassUser> = Api::namespaced(
        ctx.client.clone(),
        &integration.namespace().unwrap_or_default(),
    );
    // Users a person released by rejecting their deprovision stay unmanaged until a
    // resource declares them again.
    let released: std::collections::BTreeSet<String> = sync
        .outcome
        .safeguard
        .record
        .rejected
        .iter()
        .flat_map(|r| r.released.iter().map(|u| crate::engine::model::user_key(u)))
        .collect();
    for username in &sync.outcome.remaining.unmanaged {
        if released.contains(&crate::engine::model::user_key(username)) {
            continue;
        }
        let Some(user) = observed.user(username).filter(|u| adoptable(u)) else {
            continue;
        };
        let resource = adopted_user(integration, user);
        match api.create(&PostParams::default(), &resource).await {
            Ok(_) => info!(%username, name = %resource.name_any(), "adopted"),
            Err(kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => warn!(error = %e, %username, "cannot adopt a LastPass user"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::desire::desire;
    use crate::engine::model::user_key;

    fn integration() -> DirectoryIntegration {
        let spec = serde_json::from_value(serde_json::json!({
            "lastpass": {"credentialsSecretRef": {"name": "lastpass-api"}},
            "sync": {"unmanagedUsers": "Adopt"}
        }))
        .unwrap();
        let mut i = DirectoryIntegration::new("acme", spec);
        i.metadata.namespace = Some("it".into());
        i
    }

    fn console_user(admin: bool) -> crate::lastpass::User {
        crate::lastpass::User {
            id: "10001".into(),
            username: "Pat@Example.com".into(),
            fullname: "Pat".into(),
            groups: ["Finance"].into(),
            admin,
            ..Default::default()
        }
    }

    #[test]
    fn admins_are_never_adopted() {
        assert!(!adoptable(&console_user(true)));
        assert!(adoptable(&console_user(false)));
    }

    #[test]
    fn an_adopted_user_declares_what_lastpass_has_and_is_marked_adopted() {
        let i = integration();
        let adopted = adopted_user(&i, &console_user(false));
        let d = desire(&i, [&adopted], [], &BTreeMap::new());
        let want = &d.desired.users[&user_key("pat@example.com")];
        assert!(want.adopted, "its groups must not make a group managed");
        assert_eq!(want.groups, ["Finance"]);
        assert_eq!(want.full_name.as_deref(), Some("Pat"));
    }
}
