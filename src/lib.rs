//! lbfleet: plan, run and check firmware upgrades and memory-leak mitigation for fleets of
//! hardware load balancers.
//!
//! The library is the program: [`run`] parses the command line, does the work and returns the
//! exit status; `main.rs` only maps errors to exit codes.

pub mod catalog;
pub mod csvio;
pub mod error;
pub mod fsutil;
pub mod upgrade;
pub mod version;
