//! Properties of reply classification: no input panics, a write answered with HTTP 200 is
//! never retried blind, and `status` is read case-insensitively.

use lastpass_operator::lastpass::{CommandKind, Reply, reply::classify};
use proptest::prelude::*;

const WRITES: [CommandKind; 8] = [
    CommandKind::BatchAdd,
    CommandKind::UpdateUser,
    CommandKind::BatchChangeGrp,
    CommandKind::DelUser,
    CommandKind::DisableUser,
    CommandKind::EnableUser,
    CommandKind::ReinviteUser,
    CommandKind::ResetPassword,
];

fn write_kind() -> impl Strategy<Value = CommandKind> {
    (0..WRITES.len()).prop_map(|i| WRITES[i])
}

fn random_case(s: &'static str) -> impl Strategy<Value = String> {
    proptest::collection::vec(any::<bool>(), s.len()).prop_map(move |upper| {
        s.chars()
            .zip(upper)
            .map(|(c, u)| if u { c.to_ascii_uppercase() } else { c })
            .collect()
    })
}

proptest! {
    #[test]
    fn any_answer_classifies_without_panicking(
        status in 100u16..600,
        body in proptest::collection::vec(any::<u8>(), 0..200),
        retry_after in proptest::option::of("[ -~]{0,30}"),
        read in any::<bool>(),
    ) {
        let kind = if read { CommandKind::GetUserData } else { CommandKind::BatchAdd };
        let _ = classify(kind, &["a@x.io"], status, retry_after.as_deref(), &body);
    }

    #[test]
    fn a_write_answered_with_200_is_never_retryable(
        kind in write_kind(),
        body in prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..200).prop_map(|b| String::from_utf8_lossy(&b).into_owned()),
            "\\{\"status\":\"[A-Za-z]{0,8}\"(,\"error\":\"[a-z ]{0,10}\")?\\}",
            "<[a-z]{0,10}>",
        ],
    ) {
        let r = classify(kind, &["a@x.io"], 200, None, body.as_bytes());
        prop_assert!(!matches!(r, Reply::Retryable { .. }), "{body:?} -> {r:?}");
    }

    #[test]
    fn unknown_statuses_on_writes_are_unknown_outcomes(kind in write_kind(), status in "[A-Za-z]{1,10}") {
        let lower = status.to_ascii_lowercase();
        prop_assume!(!["ok", "warn", "fail", "success"].contains(&lower.as_str()));
        let body = format!("{{\"status\":\"{status}\"}}");
        let r = classify(kind, &["a@x.io"], 200, None, body.as_bytes());
        prop_assert!(matches!(r, Reply::UnknownOutcome { .. }), "{r:?}");
    }

    #[test]
    fn status_is_case_insensitive(kind in write_kind(), ok in random_case("ok"), fail in random_case("fail")) {
        let r = classify(kind, &[], 200, None, format!("{{\"status\":\"{ok}\"}}").as_bytes());
        prop_assert!(matches!(r, Reply::Success { .. }), "{ok}: {r:?}");
        let r = classify(kind, &[], 200, None, format!("{{\"status\":\"{fail}\",\"error\":\"x\"}}").as_bytes());
        prop_assert!(matches!(r, Reply::Permanent { .. }), "{fail}: {r:?}");
    }
}
