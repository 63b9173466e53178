//! The hardware evaluator: memory leaks and reboot intervals, throughput and capacity, ranked
//! candidate hardware.

pub mod analysis;
pub mod stats;
pub mod telemetry;
