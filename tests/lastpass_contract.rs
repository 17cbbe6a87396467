//! Contract tests: the LastPass client against the simulator over real HTTP, for every command
//! and every reply form. Assertions are on the simulator's call log and account, and on error
//! classes, never on `is_ok()` alone.

mod support;

use std::time::{Duration, Instant};

use lastpass_operator::lastpass::{
    ApiError, Batch, Client, DeleteAction, ErrorClass, GroupChange, LastPass, NewUser, RateLimit,
    UserQuery, UserUpdate,
};
use lastpass_operator::simulator::knobs::{ErrorForm, NoMatchBody};
use lastpass_operator::simulator::{
    ConsoleEdit, DEFAULT_ADMIN, Fault, Knobs, Outcome, PendingFault, SeedUser,
};
use support::account::{Account, UNTRUSTED_WHOLE_READS, nz, people};

fn new_user(name: &str, groups: &[&str]) -> NewUser {
    NewUser {
        username: name.into(),
        fullname: Some(format!("Name of {name}")),
        groups: groups.iter().map(|g| (*g).to_string()).collect(),
        ..Default::default()
    }
}

fn fault(f: Fault, command: &str) -> PendingFault {
    PendingFault {
        fault: f,
        command: Some(command.into()),
    }
}

fn outcomes(sim: &Account, command: &str) -> Vec<Outcome> {
    sim.state()
        .calls()
        .into_iter()
        .filter(|c| c.command == command)
        .map(|c| c.outcome)
        .collect()
}

#[tokio::test]
async fn every_command_round_trips() {
    let sim = Account::start(Knobs::default()).await;
    let lp = sim.new_client();
    let r = lp
        .execute(&Batch::Add(vec![
            new_user("Ann@Example.com", &["Eng"]),
            new_user("bob@example.com", &[]),
        ]))
        .await
        .unwrap();
    assert!(r.is_complete());
    lp.execute(&Batch::Update(UserUpdate {
        username: "bob@example.com".into(),
        fullname: Some("Bob Roe".into()),
    }))
    .await
    .unwrap();
    lp.execute(&Batch::ChangeGroups(vec![
        GroupChange {
            username: "ann@example.com".into(),
            add: vec!["Ops".into()],
            del: vec!["Eng".into()],
        },
        GroupChange {
            username: "bob@example.com".into(),
            add: vec!["Eng".into()],
            del: vec![],
        },
    ]))
    .await
    .unwrap();
    let r = lp
        .execute(&Batch::Disable(vec![
            "bob@example.com".into(),
            "ann@example.com".into(),
        ]))
        .await
        .unwrap();
    assert!(r.is_complete() && r.unchanged.is_empty());
    let r = lp
        .execute(&Batch::Enable(vec!["bob@example.com".into()]))
        .await
        .unwrap();
    assert!(r.is_complete());
    lp.execute(&Batch::Reinvite("bob@example.com".into()))
        .await
        .unwrap();
    lp.execute(&Batch::ResetPassword("bob@example.com".into()))
        .await
        .unwrap();
    lp.execute(&Batch::Delete {
        username: "ann@example.com".into(),
        action: DeleteAction::RemoveFromCompany,
    })
    .await
    .unwrap();

    let snap = LastPass::observe(&lp).await.unwrap();
    assert_eq!(
        snap.users.keys().collect::<Vec<_>>(),
        [DEFAULT_ADMIN, "bob@example.com"]
    );
    let bob = snap.user("BOB@example.com").unwrap();
    assert_eq!(
        (bob.fullname.as_str(), bob.disabled, bob.never_logged_in),
        ("Bob Roe", false, true)
    );
    assert_eq!(bob.groups.iter().collect::<Vec<_>>(), ["Eng"]);
    assert_eq!(
        snap.groups.keys().collect::<Vec<_>>(),
        ["Eng"],
        "Ops vanished with Ann"
    );
    assert_eq!(
        sim.commands(),
        [
            "batchadd",
            "updateuser",
            "batchchangegrp",
            "disableuser",
            "enableuser",
            "reinviteuser",
            "resetpassword",
            "deluser",
            "getuserdata"
        ]
    );
    assert!(
        sim.state()
            .calls()
            .iter()
            .all(|c| c.outcome != Outcome::AuthError)
    );
}

#[tokio::test]
async fn deactivate_keeps_the_user_disabled_with_groups() {
    let sim = Account::start(Knobs::default()).await;
    sim.state().seed(&[SeedUser {
        username: "ann@example.com".into(),
        groups: vec!["Eng".into()],
        active: true,
        ..Default::default()
    }]);
    let lp = sim.new_client();
    lp.execute(&Batch::Delete {
        username: "ann@example.com".into(),
        action: DeleteAction::Deactivate,
    })
    .await
    .unwrap();
    let snap = lp.observe().await.unwrap();
    let ann = snap.user("ann@example.com").unwrap();
    assert!(ann.disabled && !ann.never_logged_in && ann.last_login.is_some());
    assert!(ann.groups.contains("Eng"));
}

#[tokio::test]
async fn auth_error_is_classified_and_never_retried() {
    let sim = Account::start(Knobs::default()).await;
    let mut config = sim.config();
    config.provhash = "wrong-hash".to_string().into();
    let lp = Client::new(config).unwrap();
    let read = lp.observe().await.unwrap_err();
    let write = lp
        .execute(&Batch::Reinvite("a@example.com".into()))
        .await
        .unwrap_err();
    for e in [&read, &write] {
        assert!(matches!(e, ApiError::Unauthorized { .. }), "{e:?}");
        assert_eq!(
            (e.class(), e.metric_label()),
            (ErrorClass::Auth, "unauthorized")
        );
    }
    assert_eq!(outcomes(&sim, "getuserdata"), [Outcome::AuthError]);
    assert_eq!(outcomes(&sim, "reinviteuser"), [Outcome::AuthError]);
}

#[tokio::test]
async fn warn_keeps_per_user_errors_and_applies_the_rest() {
    let sim = Account::start(Knobs::default()).await;
    sim.state().seed(&[SeedUser {
        username: "ann@example.com".into(),
        ..Default::default()
    }]);
    let lp = sim.new_client();
    let report = lp
        .execute(&Batch::ChangeGroups(vec![
            GroupChange {
                username: "ann@example.com".into(),
                add: vec!["Eng".into()],
                del: vec![],
            },
            GroupChange {
                username: "ghost@example.com".into(),
                add: vec!["Eng".into()],
                del: vec![],
            },
        ]))
        .await
        .unwrap();
    assert!(!report.is_complete());
    assert_eq!(report.failures.len(), 1);
    assert_eq!(
        report.failures[0].username.as_deref(),
        Some("ghost@example.com")
    );
    assert_eq!(
        report.failures[0].message,
        "ghost@example.com does not exist"
    );
    assert!(
        sim.state()
            .store()
            .user("ann@example.com")
            .unwrap()
            .groups
            .contains("Eng")
    );
    // disableuser: a target missing from every list is a per-user failure too.
    let report = lp
        .execute(&Batch::Disable(vec![
            "ann@example.com".into(),
            "ghost@example.com".into(),
        ]))
        .await
        .unwrap();
    assert_eq!(
        report
            .failures
            .iter()
            .map(|f| f.username.as_deref())
            .collect::<Vec<_>>(),
        [Some("ghost@example.com")]
    );
    assert_eq!(outcomes(&sim, "batchchangegrp"), [Outcome::Warn]);
}

#[tokio::test]
async fn fail_as_string_and_as_list_is_permanent_and_not_retried() {
    let sim = Account::start(Knobs::default()).await;
    let lp = sim.new_client();
    let e = lp
        .execute(&Batch::Delete {
            username: "ghost@example.com".into(),
            action: DeleteAction::Deactivate,
        })
        .await
        .unwrap_err();
    match &e {
        ApiError::Failed { messages, .. } => {
            assert_eq!(messages, &["No such user: ghost@example.com"])
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        (e.class(), e.metric_label()),
        (ErrorClass::Permanent, "failed")
    );
    sim.state().set_knobs(Knobs {
        unknown_user_error: ErrorForm::List,
        ..Knobs::default()
    });
    let e = lp
        .execute(&Batch::ResetPassword("ghost@example.com".into()))
        .await
        .unwrap_err();
    match &e {
        ApiError::Failed { messages, .. } => {
            assert_eq!(messages, &["user not found: ghost@example.com"])
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(sim.commands(), ["deluser", "resetpassword"]);
}

#[tokio::test]
async fn throttled_reads_and_writes_are_retried_until_success() {
    let sim = Account::start(Knobs::default()).await;
    sim.seed_many(5);
    for _ in 0..2 {
        sim.state().push_fault(fault(
            Fault::Throttle {
                retry_after_secs: None,
            },
            "getuserdata",
        ));
    }
    sim.state()
        .push_fault(fault(Fault::ServerError, "batchadd"));
    let lp = sim.new_client();
    assert_eq!(people(&lp.observe().await.unwrap()), 5);
    assert_eq!(
        outcomes(&sim, "getuserdata"),
        [Outcome::Throttled, Outcome::Throttled, Outcome::Data]
    );
    lp.execute(&Batch::Add(vec![new_user("new@example.com", &[])]))
        .await
        .unwrap();
    assert_eq!(
        outcomes(&sim, "batchadd"),
        [Outcome::ServerError, Outcome::Ok]
    );
    assert_eq!(sim.people(), 6);
}

#[tokio::test]
async fn throttle_knob_every_second_call_is_absorbed_by_retries() {
    let sim = Account::start(Knobs::default().throttle_every(2, None)).await;
    let lp = sim.new_client();
    for i in 0..3 {
        lp.execute(&Batch::Add(vec![new_user(
            &format!("u{i}@example.com"),
            &[],
        )]))
        .await
        .unwrap();
    }
    let o = outcomes(&sim, "batchadd");
    assert_eq!(o.iter().filter(|o| **o == Outcome::Ok).count(), 3, "{o:?}");
    assert!(o.contains(&Outcome::Throttled), "{o:?}");
    assert_eq!(sim.people(), 3);
}

#[tokio::test]
async fn retry_after_wins_over_the_backoff() {
    let sim = Account::start(Knobs::default()).await;
    sim.state().push_fault(fault(
        Fault::Throttle {
            retry_after_secs: Some(1),
        },
        "getuserdata",
    ));
    let started = Instant::now();
    sim.new_client().observe().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(
        outcomes(&sim, "getuserdata"),
        [Outcome::Throttled, Outcome::Data]
    );
}

#[tokio::test]
async fn throttling_that_never_ends_is_reported_after_the_allowed_attempts() {
    let sim = Account::start(Knobs::default().throttle_every(1, None)).await;
    let e = sim.new_client().observe().await.unwrap_err();
    assert!(
        matches!(e, ApiError::Throttled { attempts: 4, .. }),
        "{e:?}"
    );
    assert_eq!(
        (e.class(), e.metric_label()),
        (ErrorClass::Retry, "throttled")
    );
    assert_eq!(outcomes(&sim, "getuserdata").len(), 4);
}

#[tokio::test]
async fn latency_knob_delays_every_call() {
    let sim = Account::start(Knobs::default().latency(120, 0)).await;
    let started = Instant::now();
    sim.new_client().observe().await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_millis(120),
        "{:?}",
        started.elapsed()
    );
}

#[tokio::test]
async fn dropped_connection_after_a_write_is_an_unknown_outcome_applied_once() {
    let sim = Account::start(Knobs::default()).await;
    sim.state()
        .push_fault(fault(Fault::DropAfterApply, "batchadd"));
    let lp = sim.new_client();
    let e = lp
        .execute(&Batch::Add(vec![new_user("ann@example.com", &["Eng"])]))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            ApiError::OutcomeUnknown {
                source: Some(_),
                ..
            }
        ),
        "{e:?}"
    );
    assert_eq!(
        (e.class(), e.metric_label()),
        (ErrorClass::Reobserve, "outcome_unknown")
    );
    assert_eq!(
        outcomes(&sim, "batchadd"),
        [Outcome::Dropped],
        "never resent"
    );
    let snap = lp.observe().await.unwrap();
    assert_eq!(people(&snap), 1, "applied exactly once");
    assert_eq!(snap.groups["Eng"].len(), 1);
}

#[tokio::test]
async fn dropped_connection_on_a_read_is_retried() {
    let sim = Account::start(Knobs::default()).await;
    sim.seed_many(3);
    sim.state()
        .push_fault(fault(Fault::DropBeforeApply, "getuserdata"));
    assert_eq!(people(&sim.new_client().observe().await.unwrap()), 3);
    assert_eq!(
        outcomes(&sim, "getuserdata"),
        [Outcome::Dropped, Outcome::Data]
    );
}

#[tokio::test]
async fn html_empty_and_truncated_write_replies_are_unknown_outcomes() {
    let sim = Account::start(Knobs::default()).await;
    let lp = sim.new_client();
    for (f, applied) in [
        (Fault::Html, false),
        (Fault::Empty, true),
        (Fault::Truncated, true),
    ] {
        sim.state().push_fault(fault(f, "batchadd"));
        let name = format!("{f:?}@example.com").to_lowercase();
        let e = lp
            .execute(&Batch::Add(vec![new_user(&name, &[])]))
            .await
            .unwrap_err();
        assert_eq!(e.class(), ErrorClass::Reobserve, "{f:?}: {e:?}");
        assert_eq!(sim.state().store().user(&name).is_some(), applied, "{f:?}");
    }
    assert_eq!(
        outcomes(&sim, "batchadd"),
        [Outcome::Html, Outcome::Empty, Outcome::Truncated]
    );
}

#[tokio::test]
async fn a_write_that_times_out_is_unknown_and_not_resent_while_a_read_is_retried() {
    let sim = Account::start(Knobs::default().latency(400, 0)).await;
    let mut config = sim.config();
    config.request_timeout = Duration::from_millis(100);
    config.retry.attempts = 2;
    let lp = Client::new(config).unwrap();
    let e = lp
        .execute(&Batch::Reinvite("a@example.com".into()))
        .await
        .unwrap_err();
    assert!(matches!(e, ApiError::OutcomeUnknown { .. }), "{e:?}");
    let e = lp.observe().await.unwrap_err();
    assert!(
        matches!(e, ApiError::Unavailable { attempts: 2, .. }),
        "{e:?}"
    );
    assert_eq!(e.class(), ErrorClass::Retry);
    let seqs: Vec<String> = sim.state().calls().into_iter().map(|c| c.command).collect();
    assert!(
        seqs.iter().filter(|c| *c == "reinviteuser").count() <= 1,
        "{seqs:?}"
    );
}

#[tokio::test]
async fn a_refused_connection_is_retried_even_for_writes_since_nothing_was_sent() {
    let sim = Account::start(Knobs::default()).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = closed.local_addr().unwrap();
    drop(closed);
    let mut config = sim.config();
    config.endpoint = format!("http://{addr}/enterpriseapi.php");
    let e = Client::new(config)
        .unwrap()
        .execute(&Batch::Reinvite("a@example.com".into()))
        .await
        .unwrap_err();
    assert!(
        matches!(e, ApiError::Unavailable { attempts: 4, .. }),
        "{e:?}"
    );
    assert_eq!(
        (e.class(), e.metric_label()),
        (ErrorClass::Retry, "unavailable")
    );
}

#[tokio::test]
async fn server_errors_that_persist_are_unavailable_after_the_allowed_attempts() {
    let sim = Account::start(Knobs::default()).await;
    for _ in 0..4 {
        sim.state()
            .push_fault(fault(Fault::ServerError, "getuserdata"));
    }
    let e = sim.new_client().observe().await.unwrap_err();
    assert!(
        matches!(e, ApiError::Unavailable { attempts: 4, .. }),
        "{e:?}"
    );
    assert_eq!(outcomes(&sim, "getuserdata"), [Outcome::ServerError; 4]);
}

#[tokio::test]
async fn paging_reads_2500_users_in_pages_of_1000() {
    let sim = Account::start(Knobs::default()).await;
    sim.seed_many(2500);
    let mut config = sim.config();
    config.page_size = 1000;
    let snap = Client::new(config).unwrap().observe().await.unwrap();
    assert_eq!(people(&snap), 2500);
    assert_eq!(snap.groups.values().map(|m| m.len()).sum::<usize>(), 250);
    assert!(snap.user("user2499@example.com").is_some());
    let pages: Vec<(Option<u64>, Option<u64>)> = sim
        .state()
        .calls()
        .iter()
        .map(|c| (c.page_index, c.page_size))
        .collect();
    assert_eq!(
        pages,
        [
            (Some(0), Some(1000)),
            (Some(1), Some(1000)),
            (Some(2), Some(1000))
        ]
    );
}

#[tokio::test]
async fn a_page_cap_below_the_requested_size_still_reads_everything() {
    let sim = Account::start(Knobs {
        page_cap: Some(300),
        ..Knobs::default()
    })
    .await;
    sim.seed_many(1000);
    let snap = sim.new_client().observe().await.unwrap();
    assert_eq!(people(&snap), 1000);
    assert_eq!(sim.commands().len(), 4);
}

#[tokio::test]
async fn batching_2500_adds_under_a_max_batch_of_1000_makes_three_calls() {
    let sim = Account::start(Knobs::default().max_batch(1000)).await;
    let mut config = sim.config();
    config.max_batch = 1000;
    let users: Vec<NewUser> = (0..2500)
        .map(|i| new_user(&format!("n{i}@example.com"), &["All"]))
        .collect();
    let report = Client::new(config)
        .unwrap()
        .execute(&Batch::Add(users))
        .await
        .unwrap();
    assert_eq!((report.calls, report.is_complete()), (3, true));
    let sizes: Vec<usize> = sim
        .state()
        .calls()
        .iter()
        .map(|c| c.targets.len())
        .collect();
    assert_eq!(sim.commands(), ["batchadd"; 3]);
    assert_eq!(sizes, [1000, 1000, 500]);
    assert_eq!(sim.state().store().groups["All"].len(), 2500);
}

#[tokio::test]
async fn a_batch_above_the_server_maximum_fails() {
    let sim = Account::start(Knobs::default().max_batch(5)).await;
    let mut config = sim.config();
    config.max_batch = 10;
    let users: Vec<NewUser> = (0..8)
        .map(|i| new_user(&format!("n{i}@example.com"), &[]))
        .collect();
    let e = Client::new(config)
        .unwrap()
        .execute(&Batch::Add(users))
        .await
        .unwrap_err();
    assert_eq!(e.class(), ErrorClass::Permanent, "{e:?}");
    assert_eq!(sim.people(), 0, "nobody but the admin");
}

#[tokio::test]
async fn seat_limit_warns_for_the_users_beyond_it() {
    // Four seats: the account's admin holds one.
    let sim = Account::start(Knobs::default().seat_limit(4)).await;
    let users: Vec<NewUser> = (0..5)
        .map(|i| new_user(&format!("s{i}@example.com"), &[]))
        .collect();
    let report = sim.new_client().execute(&Batch::Add(users)).await.unwrap();
    let failed: Vec<_> = report
        .failures
        .iter()
        .map(|f| f.username.clone().unwrap_or_default())
        .collect();
    assert_eq!(failed, ["s3@example.com", "s4@example.com"]);
    assert_eq!(sim.people(), 3);
    assert_eq!(outcomes(&sim, "batchadd"), [Outcome::Warn]);
}

#[tokio::test]
async fn console_drift_and_logins_show_up_in_the_next_observe() {
    let sim = Account::start(Knobs::default()).await;
    let lp = sim.new_client();
    lp.execute(&Batch::Add(vec![
        new_user("ann@example.com", &["Eng"]),
        new_user("bob@example.com", &["Eng"]),
    ]))
    .await
    .unwrap();
    let before = lp.observe().await.unwrap();
    assert!(before.user("ann@example.com").unwrap().never_logged_in);
    let edit = ConsoleEdit {
        fullname: Some("Ann Console".into()),
        disabled: Some(true),
        remove_groups: vec!["Eng".into()],
        ..Default::default()
    };
    assert!(sim.state().edit("ann@example.com", &edit));
    assert!(sim.state().delete_user("bob@example.com"));
    assert!(sim.state().login("ann@example.com"));
    let after = lp.observe().await.unwrap();
    let ann = after.user("ann@example.com").unwrap();
    assert_eq!(
        (ann.fullname.as_str(), ann.disabled, ann.never_logged_in),
        ("Ann Console", true, false)
    );
    assert!(ann.last_login.is_some() && ann.groups.is_empty());
    assert!(after.user("bob@example.com").is_none() && after.groups.is_empty());
    assert_eq!(
        before.user("ann@example.com").unwrap().id,
        ann.id,
        "ids are stable"
    );
}

#[tokio::test]
async fn the_rate_limit_is_shared_by_clones() {
    let sim = Account::start(Knobs::default()).await;
    let mut config = sim.config();
    config.rate_limit = RateLimit {
        requests_per_second: nz(20),
        burst: nz(1),
    };
    let a = Client::new(config).unwrap();
    let b = a.clone();
    let started = Instant::now();
    let q = UserQuery::default();
    let (r1, r2) = tokio::join!(
        async {
            for _ in 0..3 {
                a.get_user_data(&q).await.unwrap();
            }
        },
        async {
            for _ in 0..3 {
                b.get_user_data(&q).await.unwrap();
            }
        },
    );
    let ((), ()) = (r1, r2);
    // 6 calls at 20/s with a burst of 1: at least 5 intervals of 50 ms.
    assert!(
        started.elapsed() >= Duration::from_millis(240),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(sim.commands().len(), 6);
}

#[tokio::test]
async fn reading_10k_users_timing() {
    for latency in [0, 50] {
        let sim = Account::start(Knobs::default().latency(latency, 0)).await;
        sim.seed_many(10_000);
        let mut config = sim.config();
        config.rate_limit = RateLimit::default();
        let lp = Client::new(config).unwrap();
        let page_size = lp.config().page_size;
        let started = Instant::now();
        let snap = lp.observe().await.unwrap();
        let took = started.elapsed();
        assert_eq!(people(&snap), 10_000);
        println!(
            "read 10000 users at {latency} ms latency, page size {page_size}: {took:?} in {} calls",
            sim.commands().len()
        );
    }
}

/// Every whole-account reply no decision may rest on is refused by the client, whatever the
/// account holds; the message says what was wrong and never quotes the provhash.
#[tokio::test]
async fn untrusted_whole_account_reads_are_refused() {
    let sim = Account::start(Knobs::default()).await;
    sim.seed_many(3);
    let lp = sim.new_client();
    for shape in UNTRUSTED_WHOLE_READS {
        sim.state().set_knobs(Knobs::default().whole_read(shape));
        let e = lp.observe().await.unwrap_err();
        assert!(
            matches!(e, ApiError::ReadNotTrusted { .. }),
            "{shape:?}: {e:?}"
        );
        assert_eq!(
            (e.class(), e.metric_label()),
            (ErrorClass::Untrusted, "read_not_trusted"),
            "{shape:?}"
        );
        let text = e.to_string();
        assert!(!text.contains(support::account::PROVHASH), "{text}");
        assert!(text.contains("cannot be trusted"), "{shape:?}: {text}");
    }
    sim.state().set_knobs(Knobs::default());
    assert_eq!(people(&lp.observe().await.unwrap()), 3, "trusted again");
}

/// An account without anyone, not even its admin, is no real account: its read is refused.
#[tokio::test]
async fn an_account_without_its_admin_is_not_read_as_empty() {
    let sim = Account::start(Knobs::default()).await;
    assert!(sim.state().delete_user(DEFAULT_ADMIN));
    let e = sim.new_client().observe().await.unwrap_err();
    assert!(e.to_string().contains("admin"), "{e}");
    assert_eq!(e.class(), ErrorClass::Untrusted);
}

/// A filtered read finds a user hidden from whole-account reads, answers `None` for the
/// documented no-match reply, and refuses a reply without a users collection.
#[tokio::test]
async fn filtered_reads_find_hidden_users_and_confirm_absences() {
    let sim = Account::start(Knobs::default().hide_from_whole_reads(&["user1@example.com"])).await;
    sim.seed_many(3);
    let lp = sim.new_client();
    let snap = lp.observe().await.unwrap();
    assert!(
        snap.user("user1@example.com").is_none(),
        "hidden from the whole read"
    );
    let found = lp.observe_user("USER1@example.com").await.unwrap();
    assert_eq!(found.unwrap().username, "user1@example.com");
    assert_eq!(lp.observe_user("nobody@example.com").await.unwrap(), None);
    for no_match in [NoMatchBody::UsersOnly, NoMatchBody::WithCounts] {
        sim.state().set_knobs(Knobs {
            no_match_body: no_match,
            ..Knobs::default()
        });
        assert_eq!(lp.observe_user("nobody@example.com").await.unwrap(), None);
    }
    let reads = sim.state().read_counts();
    assert_eq!((reads.whole, reads.filtered), (1, 4));
}
