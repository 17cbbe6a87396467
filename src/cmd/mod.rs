//! The subcommands' implementations; `cli` parses, these run.

pub mod plan;
