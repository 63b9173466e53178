//! lbfleet's integration tests: one binary, one module per feature.

mod support;

// `lbfleet rollback` on the lab: back to the original release HA-safely, kept volumes, refusals.
mod backout;
// The canary that carries traffic on the lab: failback, `lbfleet rollback`, `--no-failback`.
mod canary;
// `lbfleet catalog`: listings and their sources.
mod catalog;
// `lbfleet drivers` and `lbfleet images`: rendering with the injection guard, the manifest.
mod drivers;
// `lbfleet evaluate`: planted leaks, saw-tooth reboots, candidates, bad telemetry.
mod evaluate;
// `lbfleet inventory check`: every bad input reported with file, line and field.
mod inventory_check;
// `lbfleet inventory report`: rows, formats, summary, the committed sample report.
mod inventory_report;
// `lbfleet device check` against the device lab (real sshd on loopback).
mod lab;
// `lbfleet path`: hops, rules and reasons.
mod path;
// `lbfleet plan` and `plan check`: the sample plan, formats, drift, bad input.
mod plan;
// `--prometheus`: a real server with backfilled telemetry gives the CSV's results; mistakes.
mod prometheus;
// `lbfleet upgrade` keeps the plan's promises on the lab: HA checks, windows, consent, hop rules.
mod promises;
// `lbfleet reboots plan` and `reboots run`: schedules, calendars, HA-safe reboots on the lab.
mod reboots;
// `lbfleet upgrade` and `status` against the device lab: order, canary, budget, resume, locks.
mod rollout;
// `lbfleet stage` against the device lab: images ahead of the windows, resumed uploads.
mod stage;
// `lbfleet inventory sync` against the device lab: differences, --apply, unreachable units.
mod sync;
// `lbfleet verify-fix` and `upgrade --gate leak-fixed` on the lab: the canary's leak verdict.
mod verify;
// `lbfleet versions sort`: vendor ordering and bad values.
mod versions;
