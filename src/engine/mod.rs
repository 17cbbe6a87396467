//! The account engine: observe → desire → plan → guard → execute → report, one per
//! DirectoryIntegration. The planner and the guards are pure; I/O lives at the edges.

pub mod account;
pub mod converge;
pub mod desire;
pub mod execute;
pub mod guard;
pub mod model;
pub mod packed;
pub mod password;
pub mod pending_members;
pub mod plan;
pub mod report;
pub mod report_issues;
pub mod report_plan;
pub mod report_safeguard;
pub mod revocation;
pub mod safeguard;
pub mod spec_check;
pub mod unread;

#[cfg(test)]
mod desire_props;
#[cfg(test)]
mod desire_tests;
#[cfg(test)]
mod pending_members_tests;
#[cfg(test)]
mod plan_tests;
