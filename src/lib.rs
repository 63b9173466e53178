//! lbfleet: plan, run and check firmware upgrades and memory-leak mitigation for fleets of
//! hardware load balancers.
//!
//! The library is the program: [`run`] parses the command line, does the work and returns the
//! exit status; `main.rs` only maps errors to exit codes.

pub mod catalog;
pub mod cli;
pub mod clock;
pub mod csvio;
pub mod device;
pub mod driver;
pub mod error;
pub mod evaluator;
pub mod executor;
pub mod exit;
pub mod fsutil;
pub mod images;
pub mod inventory;
pub mod planner;
pub mod reboots;
pub mod report;
pub mod ssh;
pub mod suggest;
pub mod upgrade;
pub mod version;

use std::ffi::OsString;

pub use exit::ExitStatus;

/// Runs lbfleet with these command-line arguments (the first is the program name).
pub fn run<I, T>(args: I) -> anyhow::Result<ExitStatus>
where
    I: IntoIterator<Item = T>,
    T: Into<OsString> + Clone,
{
    cli::run(args)
}

/// Whether an error is a closed stdout pipe.
pub fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|c| {
        c.downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

/// Hash maps for lbfleet's own data: a fast, fixed-seed hasher (inputs are local files, so
/// hash flooding is not a concern, and a fixed seed keeps runs reproducible).
pub(crate) type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::FixedState>;
/// Hash sets, as [`HashMap`].
pub(crate) type HashSet<T> = std::collections::HashSet<T, foldhash::fast::FixedState>;
