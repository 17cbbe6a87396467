//! Deprovisions a person approved at the LDAP pull are not held again by the budget.

use super::*;
use crate::crd::{DeprovisionAction, DirectoryIntegration, LdapStatus};
use crate::engine::account::pre_approved;
use crate::engine::model::{Desired, Leaving, ResourceRef, user_key};
use crate::engine::plan::Deprovision;

fn deprovision(name: &str) -> Deprovision {
    Deprovision {
        username: format!("{name}@x.io"),
        action: DeprovisionAction::Deactivate,
        resource: ResourceRef::user("ns", name),
    }
}

fn plan_of(names: &[&str]) -> Plan {
    Plan {
        deprovisions: names.iter().map(|n| deprovision(n)).collect(),
        ..Plan::default()
    }
}

#[test]
fn approved_at_the_pull_runs_and_does_not_count() {
    let p = plan_of(&["a", "b", "c", "d"]);
    let guards = Guards {
        max_per_sync: 1,
        pre_approved: ["a", "b", "c"]
            .iter()
            .map(|n| user_key(&format!("{n}@x.io")))
            .collect(),
        ..Guards::default()
    };
    let g = guard(&p, &guards);
    assert!(
        g.blocked.is_none(),
        "one counted, within 1: {:?}",
        g.blocked
    );
    assert_eq!(g.execute.deprovisions.len(), 4);

    // Two others over a budget of 1: they are held, the approved three still run.
    let p = plan_of(&["a", "b", "c", "d", "e"]);
    let g = guard(&p, &guards);
    assert_eq!(g.blocked.as_ref().map(|b| b.deprovisions), Some(2));
    let running: Vec<&str> = g
        .execute
        .deprovisions
        .iter()
        .map(|d| d.resource.name.as_str())
        .collect();
    assert_eq!(running, ["a", "b", "c"]);
}

#[test]
fn only_an_approval_recorded_as_consumed_is_trusted() {
    let mut desired = Desired::default();
    for (name, id) in [
        ("a", Some("ldap-1")),
        ("b", Some("ldap-forged")),
        ("c", None),
    ] {
        desired.leaving.insert(
            user_key(&format!("{name}@x.io")),
            Leaving {
                username: format!("{name}@x.io"),
                action: DeprovisionAction::Deactivate,
                resource: ResourceRef::user("ns", name),
                approved_plan: id.map(String::from),
            },
        );
    }
    let mut di: DirectoryIntegration = serde_json::from_value(serde_json::json!({
        "metadata": {"name": "acme"},
        "spec": {"lastpass": {"credentialsSecretRef": {"name": "x"}}},
    }))
    .unwrap();
    assert!(
        pre_approved(&di, &desired).is_empty(),
        "no status, no trust"
    );
    di.status = Some(crate::crd::DirectoryIntegrationStatus {
        ldap: Some(LdapStatus {
            consumed_approvals: vec!["ldap-1".into()],
            ..LdapStatus::default()
        }),
        ..Default::default()
    });
    assert_eq!(
        pre_approved(&di, &desired).into_iter().collect::<Vec<_>>(),
        [user_key("a@x.io")]
    );
}
