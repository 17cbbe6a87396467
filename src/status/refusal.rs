//! The messages of the safeguard's refusals, written once for the engine's plan guard and the
//! LDAP pull's guard.

use std::fmt::Display;

/// How a person decides on held plan `id` of the integration `namespace`/`name` (an engine
/// plan or an LDAP pull): the exact `kubectl` commands, for conditions, Events and `plan`
/// output (one wording everywhere).
pub fn how_to_decide(namespace: &str, name: &str, id: &str) -> String {
    format!(
        "approve exactly this plan with `kubectl -n {namespace} annotate lpdi {name} \
         lastpass-operator.io/approve-plan={id} --overwrite`, or drop it with `kubectl -n \
         {namespace} annotate lpdi {name} lastpass-operator.io/reject-plan={id} --overwrite`"
    )
}

/// `"{what}, more than maxPerSync {max}"`: `what` says what would be deleted.
pub fn over_max_per_sync(what: &str, max: impl Display) -> String {
    format!("{what}, more than maxPerSync {max}")
}

/// `"{what}, more than maxPercent {percent}% of {managed} {whom}"`: `whom` names the users the
/// percentage is of.
pub fn over_max_percent(
    what: &str,
    percent: impl Display,
    managed: impl Display,
    whom: &str,
) -> String {
    format!("{what}, more than maxPercent {percent}% of {managed} {whom}")
}

/// `"{what}, more than maxMembershipRemovals {max}"`.
pub fn over_max_membership_removals(what: &str, max: impl Display) -> String {
    format!("{what}, more than maxMembershipRemovals {max}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn name_the_limit_and_its_value() {
        assert_eq!(
            over_max_per_sync("2 deprovisions", 1),
            "2 deprovisions, more than maxPerSync 1"
        );
        assert_eq!(
            over_max_percent("3 deprovisions", 10, 20, "managed users"),
            "3 deprovisions, more than maxPercent 10% of 20 managed users"
        );
    }
}
