//! What status shows of a plan: its items in execution order, and the summary with a sample
//! of them. Pure, like [`super::report`].

use crate::crd::{PlanItem, PlanSummary};

use super::plan::Plan;

/// Items of a plan (or of a held set) shown in status.
pub const SAMPLE_SIZE: usize = 20;

/// The items of a plan, in execution order.
pub fn plan_items(plan: &Plan) -> Vec<PlanItem> {
    items_of(plan).collect()
}

/// The items of a plan, in execution order, each made only when asked for: a status shows
/// [`SAMPLE_SIZE`] of them, and an initial load plans one per user.
fn items_of(plan: &Plan) -> impl Iterator<Item = PlanItem> + '_ {
    fn item(action: &str, username: &str, detail: Option<String>) -> PlanItem {
        PlanItem {
            action: action.into(),
            username: username.into(),
            detail,
        }
    }
    let memberships = plan.group_changes.iter().flat_map(|c| {
        let add = c
            .add
            .iter()
            .map(|g| item("AddToGroup", &c.username, Some(g.clone())));
        let del = c
            .del
            .iter()
            .map(|g| item("RemoveFromGroup", &c.username, Some(g.clone())));
        add.chain(del)
    });
    let creates = plan
        .creates
        .iter()
        .map(|c| item("Create", &c.username, None));
    creates
        .chain(plan.enables.iter().map(|u| item("Enable", u, None)))
        .chain(plan.disables.iter().map(|u| item("Suspend", u, None)))
        .chain(
            plan.attribute_updates
                .iter()
                .map(|u| item("UpdateAttributes", &u.username, None)),
        )
        .chain(plan.updates.iter().map(|u| {
            item(
                "Update",
                &u.username,
                Some(format!("fullName: {}", u.full_name)),
            )
        }))
        .chain(memberships)
        .chain(
            plan.deprovisions
                .iter()
                .map(|d| item("Deprovision", &d.username, Some(format!("{:?}", d.action)))),
        )
}

/// The plan summary of the integration's status.
pub fn plan_summary(plan: &Plan) -> PlanSummary {
    PlanSummary {
        id: plan.id(),
        creates: plan.creates.len() as i64,
        updates: (plan.updates.len()
            + plan.attribute_updates.len()
            + plan.disables.len()
            + plan.enables.len()) as i64,
        group_changes: plan.membership_changes() as i64,
        deprovisions: plan.deprovisions.len() as i64,
        sample: items_of(plan).take(SAMPLE_SIZE).collect(),
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;
    use crate::crd::DeprovisionAction;
    use crate::engine::model::ResourceRef;
    use crate::engine::plan::{CreateUser, Deprovision, GroupChange, UpdateUser};

    #[test]
    fn the_summary_samples_the_first_items_in_execution_order() {
        let mut plan = Plan::default();
        for i in 0..30 {
            plan.creates.push(CreateUser {
                username: format!("new{i:02}@x.io"),
                full_name: None,
                groups: ["Eng"].into(),
                attributes: BTreeMap::new(),
                password_reset_required: true,
            });
        }
        plan.updates.push(UpdateUser {
            username: "ann@x.io".into(),
            full_name: "Ann".into(),
        });
        plan.group_changes.push(GroupChange {
            username: "bob@x.io".into(),
            add: ["Ops".to_string()].into(),
            del: ["Eng".to_string()].into(),
        });
        plan.disables.push("cat@x.io".into());
        plan.deprovisions.push(Deprovision {
            username: "dan@x.io".into(),
            action: DeprovisionAction::Deactivate,
            resource: ResourceRef::user("ns", "dan"),
        });
        let items = plan_items(&plan);
        let order: Vec<(&str, &str)> = items[29..]
            .iter()
            .map(|i| (i.action.as_str(), i.username.as_str()))
            .collect();
        assert_eq!(
            order,
            [
                ("Create", "new29@x.io"),
                ("Suspend", "cat@x.io"),
                ("Update", "ann@x.io"),
                ("AddToGroup", "bob@x.io"),
                ("RemoveFromGroup", "bob@x.io"),
                ("Deprovision", "dan@x.io"),
            ]
        );
        assert_eq!(plan_summary(&plan).sample, items[..SAMPLE_SIZE]);
    }
}
