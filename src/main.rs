use std::process::ExitCode;

use lbfleet::ExitStatus;

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
