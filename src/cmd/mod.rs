//! The subcommands' implementations; `cli` parses, these run.

pub mod demo;
pub mod plan;
pub mod run;
pub mod table;
