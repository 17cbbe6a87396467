//! The real controllers on the real API server while LastPass's whole-account reads come back
//! empty (a broken upstream or a changed reply shape): nothing is written and no finalizer is
//! released until the reads can be trusted again.

mod support;

use std::time::Duration;

use kube::api::DeleteParams;
use lastpass_operator::crd::{DirectoryIntegration, LastPassUser, UserPhase};
use lastpass_operator::simulator::{Knobs, WholeRead};
use serde_json::json;
use support::builders::user;
use support::operator::*;
use support::wait_for;

/// The (status, reason) of a condition of a user.
fn user_condition(u: &LastPassUser, type_: &str) -> Option<(String, String)> {
    find_condition(&u.status.as_ref()?.conditions, type_)
        .map(|(status, reason, _)| (status, reason))
}

#[tokio::test]
async fn deleted_users_keep_their_finalizers_while_reads_are_empty() {
    let Some((ns, sim, op)) = account_with_operator(json!({})).await else {
        return;
    };
    for (name, username) in [
        ("jane", "jane@example.com"),
        ("bob", "bob@example.com"),
        ("cat", "cat@example.com"),
    ] {
        create_user(&ns, &user(name, username, json!({}))).await;
    }
    for name in ["jane", "bob", "cat"] {
        wait_invited(&ns, name).await;
    }

    // From now on every whole-account read answers `{"Users": []}`.
    sim.state
        .set_knobs(Knobs::default().whole_read(WholeRead::EmptyUsers));
    let calls_before = sim.state.calls().len();
    let api = ns.api::<LastPassUser>();
    api.delete("jane", &DeleteParams::default()).await.unwrap();
    api.delete("bob", &DeleteParams::default()).await.unwrap();

    // The operator provably looked: a sync saw both deletions and refused the read ...
    for name in ["jane", "bob"] {
        wait_user(&ns, name, 30, |u| {
            user_condition(u, "Synced").is_some_and(|c| c.1 == "ReadNotTrusted")
        })
        .await;
    }
    // ... and at least three whole-account reads were answered during the empty period after
    // that (syncs of one account run one after another, so two whole syncs completed).
    let seen = sim.state.read_counts().whole;
    let reads = wait_for(Duration::from_secs(30), || async {
        (sim.state.read_counts().whole >= seen + 3).then_some(())
    })
    .await;
    assert!(reads.is_some(), "the operator kept reading the account");

    let writes: Vec<String> = sim.state.calls()[calls_before..]
        .iter()
        .filter(|c| c.command != "getuserdata")
        .map(|c| c.command.clone())
        .collect();
    assert!(writes.is_empty(), "no write on an empty read: {writes:?}");
    for name in ["jane", "bob"] {
        let u = api.get_opt(name).await.unwrap();
        let u = u.unwrap_or_else(|| panic!("{name}'s finalizer was released"));
        assert!(u.metadata.deletion_timestamp.is_some());
        assert_eq!(u.status.unwrap().phase, Some(UserPhase::Deprovisioning));
    }
    let integration = ns.api::<DirectoryIntegration>().get("acme").await.unwrap();
    let synced = integration
        .status
        .unwrap()
        .conditions
        .into_iter()
        .find(|c| c.type_ == "Synced")
        .unwrap();
    assert_eq!(
        (synced.status.as_str(), synced.reason.as_str()),
        ("False", "ReadNotTrusted")
    );
    let store = sim.state.store();
    for u in ["jane@example.com", "bob@example.com"] {
        assert!(!store.user(u).unwrap().disabled, "{u} still active");
    }
    // A user who stays keeps what the last trusted read showed; Synced says why it is stale.
    let cat = api.get("cat").await.unwrap();
    assert_eq!(
        user_condition(&cat, "Synced"),
        Some(("False".into(), "ReadNotTrusted".into()))
    );
    let st = cat.status.unwrap();
    assert_eq!(st.phase, Some(UserPhase::Invited));
    assert_eq!(
        st.lastpass_id,
        Some(store.user("cat@example.com").unwrap().id.to_string())
    );

    // Reads restored: both are deactivated, then released.
    sim.state.set_knobs(Knobs::default());
    let gone = wait_for(Duration::from_secs(30), || async {
        (api.get_opt("jane").await.ok()?.is_none() && api.get_opt("bob").await.ok()?.is_none())
            .then_some(())
    })
    .await;
    assert!(gone.is_some(), "both released once the reads are trusted");
    let store = sim.state.store();
    for u in ["jane@example.com", "bob@example.com"] {
        assert!(store.user(u).unwrap().disabled, "{u} deactivated");
    }
    assert!(!store.user("cat@example.com").unwrap().disabled);
    op.stop().await;
    ns.cleanup().await;
}
