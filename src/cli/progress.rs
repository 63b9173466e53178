//! How a rollout shows progress: bars on a terminal (indicatif: one for the wave, one line per
//! active device with its step and upload rate), timestamped lines otherwise.

use std::collections::HashMap;
use std::sync::Mutex;

use indicatif::{MultiProgress, ProgressBar, ProgressStyle};

use crate::executor::{GroupEnd, Observer, Progress};

/// How long until `until`, as `2h05m` or `45s`.
fn countdown(until: jiff::Timestamp) -> String {
    let secs = until
        .duration_since(jiff::Timestamp::now())
        .as_secs()
        .max(0);
    match secs {
        s if s >= 86400 => format!("{}d{:02}h", s / 86400, s % 86400 / 3600),
        s if s >= 3600 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{}m{:02}s", s / 60, s % 60),
        s => format!("{s}s"),
    }
}

/// A group's end in words.
fn ended(group: &str, end: GroupEnd, detail: &str) -> Option<String> {
    match end {
        GroupEnd::Done => None,
        GroupEnd::Failed => Some(format!("{group}: FAILED: {detail}")),
        GroupEnd::Interrupted => Some(format!("{group}: interrupted: {detail}")),
        GroupEnd::Waiting => Some(format!("{group}: waits for {detail}")),
        GroupEnd::Held => Some(format!("{group}: {detail}")),
    }
}

fn stamp() -> String {
    jiff::Timestamp::now().strftime("%H:%M:%S").to_string()
}

/// Plain lines on stderr; uploads every 25 %.
pub struct Lines {
    shown: Mutex<HashMap<String, u64>>,
}

impl Lines {
    pub fn new() -> Lines {
        Lines {
            shown: Mutex::new(HashMap::new()),
        }
    }
}

impl Observer for Lines {
    fn on(&self, p: Progress<'_>) {
        match p {
            Progress::Wave {
                index,
                kind,
                groups,
            } => eprintln!("{} wave {index} ({kind:?}): {groups} groups", stamp()),
            Progress::Step {
                device,
                step,
                detail,
            } => eprintln!("{} {device}: {step} {detail}", stamp()),
            Progress::Upload {
                device,
                done,
                total,
            } => {
                let q = (done * 4).checked_div(total).unwrap_or(4);
                let mut shown = self.shown.lock().expect("lock");
                if shown.get(device) != Some(&q) {
                    shown.insert(device.to_string(), q);
                    eprintln!(
                        "{} {device}: upload {} of {} MiB",
                        stamp(),
                        done >> 20,
                        total >> 20
                    );
                }
            }
            Progress::GroupDone { group, end, detail } => match ended(group, end, detail) {
                None => eprintln!("{} {group}: done", stamp()),
                Some(line) => eprintln!("{} {line}", stamp()),
            },
            // A line when the wait starts, then one every 10 minutes.
            Progress::Waiting { group, until, what } => {
                let bucket = until.duration_since(jiff::Timestamp::now()).as_secs() / 600;
                let key = format!("wait {group}");
                let mut shown = self.shown.lock().expect("lock");
                if shown.get(&key) != Some(&(bucket as u64)) {
                    shown.insert(key, bucket as u64);
                    eprintln!(
                        "{} {group}: waiting {} for {what}",
                        stamp(),
                        countdown(until)
                    );
                }
            }
        }
    }
}

/// Bars on a terminal.
pub struct Bars {
    multi: MultiProgress,
    wave: Mutex<Option<ProgressBar>>,
    devices: Mutex<HashMap<String, ProgressBar>>,
}

impl Bars {
    pub fn new() -> Bars {
        Bars::with_multi(MultiProgress::new())
    }

    fn with_multi(multi: MultiProgress) -> Bars {
        Bars {
            multi,
            wave: Mutex::new(None),
            devices: Mutex::new(HashMap::new()),
        }
    }

    fn device(&self, name: &str) -> ProgressBar {
        let mut map = self.devices.lock().expect("lock");
        map.entry(name.to_string())
            .or_insert_with(|| {
                let bar = self.multi.add(ProgressBar::new(0));
                bar.set_style(step_style());
                bar.set_prefix(name.to_string());
                bar
            })
            .clone()
    }
}

/// A device's line between uploads: its step, no byte counters.
fn step_style() -> ProgressStyle {
    ProgressStyle::with_template("  {prefix:<14} {msg}").expect("valid template")
}

/// A device's line while it uploads.
fn upload_style() -> ProgressStyle {
    ProgressStyle::with_template(
        "  {prefix:<14} {msg} {bytes}/{total_bytes} {binary_bytes_per_sec}",
    )
    .expect("valid template")
}

impl Observer for Bars {
    fn on(&self, p: Progress<'_>) {
        match p {
            Progress::Wave {
                index,
                kind,
                groups,
            } => {
                let bar = self.multi.add(ProgressBar::new(groups as u64));
                bar.set_style(
                    ProgressStyle::with_template(
                        "{prefix} [{bar:30}] {pos}/{len} groups {elapsed}",
                    )
                    .expect("valid template")
                    .progress_chars("=> "),
                );
                bar.set_prefix(format!("wave {index} ({kind:?})"));
                self.settle();
                *self.wave.lock().expect("lock") = Some(bar);
            }
            Progress::Step {
                device,
                step,
                detail,
            } => {
                let bar = self.device(device);
                // The counters of an upload that ended would stay on the line, stale.
                bar.set_style(step_style());
                bar.set_message(format!("{step} {detail}"));
                bar.tick();
            }
            Progress::Upload {
                device,
                done,
                total,
            } => {
                let bar = self.device(device);
                if bar.length() != Some(total) {
                    bar.set_style(upload_style());
                    bar.set_length(total);
                }
                bar.set_position(done);
            }
            Progress::GroupDone { group, end, detail } => {
                if let Some(w) = self.wave.lock().expect("lock").as_ref() {
                    w.inc(1);
                }
                if let Some(line) = ended(group, end, detail) {
                    let _ = self.multi.println(line);
                }
            }
            Progress::Waiting { group, until, what } => {
                let bar = self.device(group);
                bar.set_message(format!("waiting {} for {what}", countdown(until)));
                bar.tick();
            }
        }
    }

    /// Device lines go (their last state is in the journal and the step table); the wave's
    /// bar stays as its final count.
    fn settle(&self) {
        for (_, bar) in self.devices.lock().expect("lock").drain() {
            bar.finish_and_clear();
        }
        if let Some(wave) = self.wave.lock().expect("lock").take() {
            wave.finish();
        }
    }
}

impl Drop for Bars {
    fn drop(&mut self) {
        self.settle();
    }
}

#[cfg(test)]
mod tests {
    use indicatif::{InMemoryTerm, MultiProgress, ProgressDrawTarget};

    use super::*;
    use crate::planner::file::WaveKind;

    #[test]
    fn finished_lines_leave_no_stale_byte_counters() {
        let term = InMemoryTerm::new(20, 100);
        let multi =
            MultiProgress::with_draw_target(ProgressDrawTarget::term_like(Box::new(term.clone())));
        let bars = Bars::with_multi(multi.clone());
        bars.on(Progress::Wave {
            index: 0,
            kind: WaveKind::Canary,
            groups: 1,
        });
        bars.on(Progress::Upload {
            device: "lb02",
            done: 1 << 20,
            total: 4 << 20,
        });
        multi.suspend(|| {});
        assert!(
            term.contents().contains("1.00 MiB/4.00 MiB"),
            "{}",
            term.contents()
        );
        // The upload ended: the install's line has no byte counters left from it.
        bars.on(Progress::Step {
            device: "lb02",
            step: "install",
            detail: "HD1.2",
        });
        multi.suspend(|| {});
        let shown = term.contents();
        assert!(
            shown.contains("lb02") && shown.contains("install HD1.2"),
            "{shown}"
        );
        assert!(!shown.contains("MiB"), "{shown}");
        // The wave is over: device lines go, the wave's count stays.
        bars.on(Progress::GroupDone {
            group: "lb02",
            end: GroupEnd::Done,
            detail: "",
        });
        bars.settle();
        let shown = term.contents();
        assert!(!shown.contains("install"), "{shown}");
        assert!(shown.contains("1/1 groups"), "{shown}");
    }
}
