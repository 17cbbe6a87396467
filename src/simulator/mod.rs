//! A simulator of the LastPass Enterprise API, served over real HTTP.

pub mod cli;
