//! Engine scenarios about doubtful reads and lost replies: the engine against the simulator's
//! fault knobs over real HTTP, no Kubernetes. Each asserts what LastPass saw (the call log)
//! and what the statuses say.

mod support;

use lastpass_operator::crd::DeprovisionAction;
use lastpass_operator::engine::report::Report;
use lastpass_operator::lastpass::{ApiError, ErrorClass};
use lastpass_operator::simulator::{Fault, PendingFault, SeedUser};
use support::account::*;
use support::builders::*;

fn active(username: &str) -> SeedUser {
    SeedUser {
        username: username.into(),
        active: true,
        ..SeedUser::default()
    }
}

/// The (status, reason) of the integration's condition of this type.
fn integration_condition(r: &Report, type_: &str) -> (String, String) {
    let c = r
        .integration
        .conditions
        .iter()
        .find(|c| c.type_ == type_)
        .unwrap();
    (c.status.clone(), c.reason.clone())
}

/// The (status, reason) of a user's Synced condition.
fn synced_of(r: &Report, username: &str) -> (String, String) {
    let c = r.users[&rref(username)]
        .conditions
        .iter()
        .find(|c| c.type_ == "Synced")
        .unwrap();
    (c.status.clone(), c.reason.clone())
}

/// Each untrusted whole-account reply: nothing written, no deprovision finished (no finalizer
/// released), `Synced=False` with reason `ReadNotTrusted` on the integration and the users.
#[tokio::test]
async fn an_untrusted_whole_read_writes_nothing_and_releases_nothing() {
    for shape in UNTRUSTED_WHOLE_READS {
        let acct = Account::start(knobs()).await;
        acct.state().seed(&[
            active("ann@example.com"),
            active("bob@example.com"),
            active("cat@example.com"),
        ]);
        acct.state().set_knobs(knobs().whole_read(shape));
        // cat stays and dan is new: an empty read would re-invite cat and invite dan; ann and
        // bob are leaving: an empty read would call them gone.
        let d = desired(vec![
            desired_user("cat@example.com"),
            desired_user("dan@example.com"),
        ]);
        let d = leaving(d, "ann@example.com", DeprovisionAction::Deactivate);
        let d = leaving(d, "bob@example.com", DeprovisionAction::RemoveFromCompany);
        let out = acct.sync(&d, budget(10)).await;

        assert!(acct.writes().is_empty(), "{shape:?}: {:?}", acct.writes());
        assert!(
            matches!(out.error, Some(ApiError::ReadNotTrusted { .. })),
            "{shape:?}: {:?}",
            out.error
        );
        assert_eq!(out.error.as_ref().unwrap().class(), ErrorClass::Untrusted);
        assert!(out.remaining.finished.is_empty(), "{shape:?}");
        let r = statuses(&d, &out);
        assert!(r.release.is_empty(), "{shape:?}: nothing released");
        let not_trusted = ("False".to_string(), "ReadNotTrusted".to_string());
        assert_eq!(
            integration_condition(&r, "Synced"),
            not_trusted,
            "{shape:?}"
        );
        assert_eq!(synced_of(&r, "cat@example.com"), not_trusted, "{shape:?}");
        assert_eq!(synced_of(&r, "ann@example.com"), not_trusted, "{shape:?}");
        let (_, reason) = ready_of(&r, "cat@example.com");
        assert_eq!(
            reason, "ReadNotTrusted",
            "{shape:?}: not \"not yet in LastPass\""
        );
        let store = acct.state().store();
        assert!(
            !store.user("ann@example.com").unwrap().disabled,
            "{shape:?}"
        );
        assert!(store.user("bob@example.com").is_some(), "{shape:?}");
    }
}

/// A leaving user missing from a trusted whole-account read but found by the filtered read is
/// not released: it is deprovisioned like any other, and released once LastPass shows it
/// disabled.
#[tokio::test]
async fn a_user_absent_from_the_whole_read_but_found_by_a_filtered_read_is_not_released() {
    let acct = Account::start(knobs()).await;
    acct.state()
        .seed(&[active("ann@example.com"), active("cat@example.com")]);
    acct.state()
        .set_knobs(knobs().hide_from_whole_reads(&["ann@example.com"]));
    let d = leaving(
        desired(vec![desired_user("cat@example.com")]),
        "ann@example.com",
        DeprovisionAction::Deactivate,
    );
    let out = acct.sync(&d, budget(10)).await;
    assert!(out.error.is_none(), "{:?}", out.error);
    let deluser = acct.calls("deluser");
    assert_eq!(deluser.len(), 1, "ann was deprovisioned, not released");
    assert_eq!(deluser[0].targets, ["ann@example.com"]);
    assert!(acct.disabled("ann@example.com"));
    assert!(
        acct.state().read_counts().filtered >= 1,
        "the absence was checked with a filtered read"
    );
    // The release comes only from a read that shows ann disabled.
    assert_eq!(out.initial_plan.finished, vec![]);
    assert_eq!(out.remaining.finished, vec![rref("ann@example.com")]);
}

/// A leaving user that neither the whole read nor the filtered read finds is released after
/// the filtered read confirmed the absence, without any write.
#[tokio::test]
async fn an_absence_is_released_only_after_a_filtered_read_confirms_it() {
    let acct = Account::start(knobs()).await;
    acct.state().seed(&[active("cat@example.com")]);
    let d = leaving(
        desired(vec![desired_user("cat@example.com")]),
        "gone@example.com",
        DeprovisionAction::Deactivate,
    );
    let out = acct.sync(&d, budget(10)).await;
    assert!(out.error.is_none(), "{:?}", out.error);
    assert!(acct.writes().is_empty(), "{:?}", acct.writes());
    assert_eq!(out.remaining.finished, vec![rref("gone@example.com")]);
    let filtered: Vec<_> = acct
        .calls("getuserdata")
        .into_iter()
        .filter(|c| c.targets == ["gone@example.com"])
        .collect();
    assert_eq!(filtered.len(), 1, "one filtered read of gone@example.com");
}

/// A reply lost in the middle of a multi-batch plan stops execution: nothing after the lost
/// write is sent before the account is read again.
#[tokio::test]
async fn nothing_after_a_lost_reply_is_sent_before_a_re_read() {
    let acct = Account::start(knobs()).await;
    acct.state().seed(&[
        active("ann@example.com"),
        active("bob@example.com"),
        active("cat@example.com"),
    ]);
    acct.state().push_fault(PendingFault {
        fault: Fault::DropAfterApply,
        command: Some("disableuser".into()),
    });
    // Batches in order: batchadd (dan), disableuser (ann), updateuser (bob),
    // batchchangegrp (bob), deluser (cat).
    let d = desired(vec![
        desired_user("dan@example.com"),
        desired_user("ann@example.com").suspended(),
        desired_user("bob@example.com")
            .named("Bob Roe")
            .in_groups(&["Eng"]),
    ]);
    let d = leaving(d, "cat@example.com", DeprovisionAction::Deactivate);
    let out = acct.sync(&d, budget(10)).await;
    assert!(out.error.is_none(), "{:?}", out.error);
    let calls = acct.state().calls();
    let lost = calls
        .iter()
        .position(|c| c.command == "disableuser")
        .expect("disableuser sent");
    assert_eq!(
        calls[lost + 1].command,
        "getuserdata",
        "the next call after the lost reply is a read: {:?}",
        calls.iter().map(|c| &c.command).collect::<Vec<_>>()
    );
    assert_eq!(acct.calls("disableuser").len(), 1, "never resent blind");
    // The rest still happens, from a plan made on the fresh read.
    assert_eq!(acct.calls("deluser").len(), 1);
    assert!(acct.disabled("cat@example.com"));
    assert_eq!(
        acct.state()
            .store()
            .user("bob@example.com")
            .unwrap()
            .fullname,
        "Bob Roe"
    );
}
