use std::process::ExitCode;

use lbfleet::ExitStatus;

// Loading and planning a large fleet makes millions of small allocations on several threads;
// mimalloc serves them faster than the system allocator (see `cargo bench --bench plan`).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    match lbfleet::run(std::env::args_os()) {
        Ok(status) => status.into(),
        // `lbfleet … | head` closing the pipe is not an error.
        Err(e) if lbfleet::is_broken_pipe(&e) => ExitStatus::Success.into(),
        Err(e) => {
            eprintln!("lbfleet: error: {e:#}");
            ExitStatus::Input.into()
        }
    }
}
