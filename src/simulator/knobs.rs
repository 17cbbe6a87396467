//! Simulator knobs: latency, throttling, faults, limits, and the answers to the open questions
//! of §6 of the API reference. Defaults are the "Default" column of §6.

use serde::{Deserialize, Serialize};

/// `batchadd` naming a user who exists and is active.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ExistingUser {
    /// Update name and attributes, add the listed groups (default).
    #[default]
    Update,
    /// Update name and attributes, replace the groups with the listed ones.
    Replace,
    /// Leave the user alone, answer `OK`.
    Ignore,
    /// Leave the user alone, answer `WARN` `"<user> already exists"`.
    Warn,
}

/// `batchadd` naming a disabled user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum DisabledUser {
    /// Update fields as for an active user; the user stays disabled (default).
    #[default]
    StayDisabled,
    /// Update fields and re-enable the user.
    Reenable,
}

/// `batchadd` naming a user who was removed from the company or deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum RemovedUser {
    /// A new invited user with a new id (default).
    #[default]
    Recreate,
    /// `FAIL` for the whole request, nothing applied.
    Fail,
}

/// How group names compare.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum GroupCase {
    /// Exact match (default): `Eng` and `eng` are two groups.
    #[default]
    Exact,
    /// Case-insensitive: `eng` names the existing `Eng`.
    Insensitive,
}

/// An unknown group on `batchadd`/`batchchangegrp` `add`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum UnknownGroup {
    /// Created implicitly (default).
    #[default]
    Create,
    /// Not created: `WARN` `"group <g> does not exist"` for that user.
    Warn,
}

/// A group whose last member left.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum EmptyGroup {
    /// Vanishes from `Groups` (default).
    #[default]
    Vanish,
    /// Kept, listed as `[]`.
    Keep,
}

/// `batchchangegrp` `del` of a group the user is not in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum DelNonMember {
    /// Silent `OK` (default).
    #[default]
    Ok,
    /// `WARN` `"<user> is not a member of <g>"`.
    Warn,
}

/// Form of `error` in `FAIL` replies about an unknown user (other than `batchchangegrp`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum ErrorForm {
    /// `"error": "No such user: x"` (default).
    #[default]
    String,
    /// `"error": ["user not found: x"]`.
    List,
}

/// Body of a `getuserdata` without matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum NoMatchBody {
    /// `{"Users":[]}` (default).
    #[default]
    UsersOnly,
    /// `{"total":0,"count":0,"Users":[],"Groups":[]}`.
    WithCounts,
}

/// How whole-account reads (`getuserdata` without any filter) are answered: the real data, or
/// one of the replies no decision may rest on (a broken upstream or a changed reply shape).
/// Filtered reads are never affected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum WholeRead {
    /// The account as it is (default).
    #[default]
    Normal,
    /// A bare `[]`.
    EmptyArray,
    /// `{}`.
    EmptyObject,
    /// `{"Users": null}`.
    NullUsers,
    /// `{"status":"OK"}`.
    StatusOk,
    /// `{"Users": []}` (the no-match form, for the whole account).
    EmptyUsers,
    /// The real pages, with a `total` larger than the pages deliver.
    TotalTooLarge,
}

/// The `groups` key of a user without groups.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum NoGroups {
    /// Key absent (default).
    #[default]
    Absent,
    /// `"groups": []`.
    EmptyList,
}

/// Zone in which the zone-less timestamps are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "snake_case")]
pub enum TimestampZone {
    /// US/Eastern (default).
    #[default]
    UsEastern,
    /// UTC.
    Utc,
}

/// Every knob. Deserializable (admin API, JSON files); unknown fields are rejected.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct Knobs {
    /// Mean added latency per API call, in ms (0 for tests; ~300 is production-like).
    pub latency_ms: u64,
    /// Uniform jitter around the mean, in ms.
    pub latency_jitter_ms: u64,
    /// Answer 429 to every Nth API call (1-based count of calls).
    pub throttle_every: Option<u64>,
    /// Answer 429 with this probability.
    pub throttle_probability: f64,
    /// `Retry-After` seconds on 429 answers (absent when `None`).
    pub retry_after_secs: Option<u64>,
    /// Answer `FAIL` to a write, without applying it, with this probability.
    pub fail_probability: f64,
    /// Apply a write, then close the connection without answering, with this probability.
    pub drop_probability: f64,
    /// Seats: `batchadd` of new users beyond this many enabled users gets `WARN` for them.
    pub seat_limit: Option<usize>,
    /// Users per `batchadd`/`batchchangegrp`/`disableuser`/`enableuser`; above it `FAIL`.
    pub max_batch: Option<usize>,
    /// Largest `pagesize` honoured; larger requests get pages of this size.
    pub page_cap: Option<usize>,
    /// `batchadd` on an existing active user.
    pub batchadd_existing: ExistingUser,
    /// `batchadd` on a disabled user.
    pub batchadd_disabled: DisabledUser,
    /// `batchadd` on a removed or deleted user.
    pub batchadd_removed: RemovedUser,
    /// Group-name comparison.
    pub group_case: GroupCase,
    /// Unknown group on `add`.
    pub unknown_group: UnknownGroup,
    /// Groups left empty.
    pub empty_group: EmptyGroup,
    /// `del` of a non-membership.
    pub del_non_member: DelNonMember,
    /// `error` form for unknown users.
    pub unknown_user_error: ErrorForm,
    /// `getuserdata` body without matches.
    pub no_match_body: NoMatchBody,
    /// `groups` of a user without groups.
    pub no_groups: NoGroups,
    /// Zone of the written timestamps.
    pub timestamp_zone: TimestampZone,
    /// How whole-account reads are answered.
    pub whole_read: WholeRead,
    /// Usernames (any case) left out of whole-account reads (users, groups and `total`) but
    /// still found by reads filtered by username.
    pub hide_from_whole_reads: Vec<String>,
}

impl Default for Knobs {
    fn default() -> Self {
        Self {
            latency_ms: 0,
            latency_jitter_ms: 0,
            throttle_every: None,
            throttle_probability: 0.0,
            retry_after_secs: None,
            fail_probability: 0.0,
            drop_probability: 0.0,
            seat_limit: None,
            max_batch: None,
            page_cap: None,
            batchadd_existing: ExistingUser::default(),
            batchadd_disabled: DisabledUser::default(),
            batchadd_removed: RemovedUser::default(),
            group_case: GroupCase::default(),
            unknown_group: UnknownGroup::default(),
            empty_group: EmptyGroup::default(),
            del_non_member: DelNonMember::default(),
            unknown_user_error: ErrorForm::default(),
            no_match_body: NoMatchBody::default(),
            no_groups: NoGroups::default(),
            timestamp_zone: TimestampZone::default(),
            whole_read: WholeRead::default(),
            hide_from_whole_reads: Vec::new(),
        }
    }
}

impl Knobs {
    /// Adds `mean` ± `jitter` milliseconds to every API call.
    #[must_use]
    pub fn latency(mut self, mean_ms: u64, jitter_ms: u64) -> Self {
        self.latency_ms = mean_ms;
        self.latency_jitter_ms = jitter_ms;
        self
    }

    /// Answers 429 to every `n`th call, with an optional `Retry-After`.
    #[must_use]
    pub fn throttle_every(mut self, n: u64, retry_after_secs: Option<u64>) -> Self {
        self.throttle_every = Some(n.max(1));
        self.retry_after_secs = retry_after_secs;
        self
    }

    /// Caps the number of enabled users.
    #[must_use]
    pub fn seat_limit(mut self, seats: usize) -> Self {
        self.seat_limit = Some(seats);
        self
    }

    /// Refuses bulk writes of more than `n` users with `FAIL`.
    #[must_use]
    pub fn max_batch(mut self, n: usize) -> Self {
        self.max_batch = Some(n);
        self
    }

    /// Answers `FAIL` to writes with probability `p`.
    #[must_use]
    pub fn fail_probability(mut self, p: f64) -> Self {
        self.fail_probability = p;
        self
    }

    /// Answers whole-account reads with `shape`.
    #[must_use]
    pub fn whole_read(mut self, shape: WholeRead) -> Self {
        self.whole_read = shape;
        self
    }

    /// Leaves these usernames out of whole-account reads; filtered reads still find them.
    #[must_use]
    pub fn hide_from_whole_reads(mut self, usernames: &[&str]) -> Self {
        self.hide_from_whole_reads = usernames.iter().map(|u| u.to_string()).collect();
        self
    }

    /// Applies writes then drops the connection with probability `p`.
    #[must_use]
    pub fn drop_probability(mut self, p: f64) -> Self {
        self.drop_probability = p;
        self
    }
}

/// A fault injected into one upcoming API call (admin API or [`super::SimState::push_fault`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum Fault {
    /// 429 with an empty body, not applied.
    Throttle {
        /// `Retry-After` seconds.
        retry_after_secs: Option<u64>,
    },
    /// HTTP 503 with an HTML page, not applied.
    ServerError,
    /// HTTP 200 with an HTML page (an edge layer), not applied.
    Html,
    /// Applied, then HTTP 200 with an empty body.
    Empty,
    /// Applied, then HTTP 200 with the JSON reply cut in half.
    Truncated,
    /// Not applied; the connection is closed without an answer.
    DropBeforeApply,
    /// Applied; the connection is closed without an answer.
    DropAfterApply,
    /// Not applied; `FAIL` whose error message repeats the whole request, credentials and
    /// passwords included (an upstream or gateway that echoes what it could not handle).
    EchoRequest,
}

/// A queued fault and which command it waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PendingFault {
    /// What happens.
    #[serde(flatten)]
    pub fault: Fault,
    /// Only this `cmd` (e.g. `batchadd`); any API call when absent.
    #[serde(default)]
    pub command: Option<String>,
}
