//! Pure functions from ADO models to row structs, one file per area. No I/O; unit-tested on
//! the recorded examples.

pub mod commits;
pub mod core;
pub mod git;
pub mod git_pr;
pub mod pipelines;
pub mod wit;
