//! The subcommands' implementations; `cli` parses, these run.

pub mod demo;
pub mod demo_cluster;
pub mod plan;
pub mod plan_cluster;
pub mod probes;
pub mod run;
pub mod table;
