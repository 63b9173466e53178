//! Exit statuses, each with one documented meaning.

use std::process::ExitCode;

/// What the process reports to its caller.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ExitStatus {
    /// 0: done, nothing wrong (warnings allowed).
    Success,
    /// 1: done, and there are findings: inventory errors, devices that failed, no path.
    Findings,
    /// 2: usage or input error: bad flags, unreadable or malformed files, invalid values.
    Input,
    /// 130: interrupted (Ctrl-C).
    Interrupted,
}

impl ExitStatus {
    /// The numeric code.
    pub fn code(self) -> u8 {
        match self {
            ExitStatus::Success => 0,
            ExitStatus::Findings => 1,
            ExitStatus::Input => 2,
            ExitStatus::Interrupted => 130,
        }
    }
}

impl From<ExitStatus> for ExitCode {
    fn from(s: ExitStatus) -> ExitCode {
        ExitCode::from(s.code())
    }
}
