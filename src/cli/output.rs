//! Where `plan` and `reboots plan` put what they make: the plan or schedule (JSON: the file
//! later commands act on) and its rendering (a table, Markdown, CSV, iCalendar).
//!
//! Whatever the flags: `--format X -o FILE` leaves X in FILE; the JSON goes to FILE when FILE
//! is JSON, else to the default path; an earlier plan made from other inputs is never silently
//! replaced (it is kept beside the new one, and named); a plan whose rollout has a journal is
//! never replaced by a different one.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::fsutil::AtomicWriter;

/// Where a planning command's outputs go.
#[derive(Debug, PartialEq, Eq)]
pub struct Destinations<F> {
    /// What is rendered.
    pub format: F,
    /// The file the rendering goes to; `None` for stdout.
    pub rendered: Option<PathBuf>,
    /// What the terminal shows: `format`, or the table of steps when `-o` took the output.
    pub shown: F,
    /// The JSON plan or schedule.
    pub saved: PathBuf,
}

/// `--format` and `-o` resolved: the format is the one given, else `-o`'s extension (`.md`
/// Markdown, `.txt` a table, `.json`, `.csv`, `.ics`; JSON for a name without one), else
/// `default`. The JSON is saved to `-o` when that gets JSON, else beside the rendering as
/// `FILE.json` (`-o /srv/t.md` saves `/srv/t.json`), else to `default_path`. Refused: an
/// extension that names none of the command's formats (`plan -o x.ics`) or another format
/// than `--format` (`--format ics -o x.json`, which would put a calendar where the schedule
/// goes).
pub fn destinations<F: clap::ValueEnum + Copy + PartialEq>(
    format: Option<F>,
    output: Option<&Path>,
    json: F,
    default: F,
    default_path: &str,
) -> anyhow::Result<Destinations<F>> {
    let Some(out) = output else {
        let format = format.unwrap_or(default);
        return Ok(Destinations {
            format,
            rendered: None,
            shown: format,
            saved: PathBuf::from(default_path),
        });
    };
    let names = || {
        F::value_variants()
            .iter()
            .map(|f| name(*f))
            .collect::<Vec<_>>()
            .join(", ")
    };
    let by_ext = by_extension::<F>(out);
    let format = match (format, out.extension(), by_ext) {
        (Some(f), _, Some(e)) if e != f => anyhow::bail!(
            "-o {}: its extension says {}, --format says {}: name the file for what it holds",
            out.display(),
            name(e),
            name(f)
        ),
        (Some(f), _, _) => f,
        (None, None, _) => json,
        (None, Some(_), Some(e)) => e,
        (None, Some(_), None) => anyhow::bail!(
            "-o {}: the extension names none of the formats ({}); use one of theirs \
             (.json, .md, .txt, ...) or say --format",
            out.display(),
            names()
        ),
    };
    Ok(if format == json {
        Destinations {
            format,
            rendered: None,
            shown: default,
            saved: out.to_path_buf(),
        }
    } else {
        let mut saved = out.with_extension("json");
        if saved == out {
            saved = PathBuf::from(default_path);
        }
        Destinations {
            format,
            rendered: Some(out.to_path_buf()),
            shown: default,
            saved,
        }
    })
}

/// A format's name as `--format` takes it.
pub fn name<F: clap::ValueEnum>(format: F) -> String {
    format
        .to_possible_value()
        .map_or_else(String::new, |v| v.get_name().to_owned())
}

fn by_extension<F: clap::ValueEnum>(path: &Path) -> Option<F> {
    let ext = path.extension()?.to_str()?.to_ascii_lowercase();
    let name = match ext.as_str() {
        "md" => "markdown",
        "txt" => "table",
        e => e,
    };
    F::from_str(name, true).ok()
}

impl<F: clap::ValueEnum + Copy> Destinations<F> {
    /// Writes the rendering (`render` of the format) to its file, if `-o` named one.
    pub fn write_rendering(
        &self,
        render: impl FnOnce(F) -> anyhow::Result<Vec<u8>>,
    ) -> anyhow::Result<()> {
        if let Some(file) = &self.rendered {
            crate::fsutil::write_atomic(file, &render(self.format)?)?;
            eprintln!("wrote {} ({})", file.display(), name(self.format));
        }
        Ok(())
    }
}

/// Refuses to write a rendering over a plan or schedule (`-o sched` once held the JSON) or
/// over a file a rollout journal sits beside.
pub fn guard_rendering(path: &Path) -> anyhow::Result<()> {
    let journal = path.with_extension("journal");
    let head = std::fs::read(path)
        .map(|b| String::from_utf8_lossy(&b[..b.len().min(4096)]).into_owned())
        .unwrap_or_default();
    if head.contains("\"schema\": \"lbfleet.") {
        anyhow::bail!(
            "{} holds a plan or schedule: name the rendering otherwise (its extension says what \
             it is: .md, .txt, .csv, .ics)",
            path.display()
        );
    }
    if path.exists() && std::fs::metadata(&journal).is_ok_and(|m| m.len() > 0) {
        anyhow::bail!(
            "{} has a rollout journal beside it ({}): name the rendering otherwise",
            path.display(),
            journal.display()
        );
    }
    Ok(())
}

/// What [`save`] did.
#[derive(Debug, PartialEq, Eq)]
pub enum Saved {
    /// Written where nothing was.
    New,
    /// Replaced one made from the same inputs (only its `created` differed).
    Same,
    /// Left as it was: the same inputs, and a rollout journal refers to it.
    Kept,
    /// Replaced one made from other inputs, which was moved to this path.
    Replaced(PathBuf),
}

impl Saved {
    /// The line for stderr after saving `what` (a plan, a schedule) at `path`.
    pub fn message(&self, what: &str, path: &Path) -> String {
        let p = path.display();
        match self {
            Saved::New | Saved::Same => format!("wrote {p} (the {what})"),
            Saved::Kept => {
                format!("kept {p}: the {what} made from these inputs, which its journal refers to")
            }
            Saved::Replaced(old) => format!(
                "wrote {p} (the {what}); the earlier {what} there, made from other inputs, is kept as {}",
                old.display()
            ),
        }
    }
}

/// Saves a plan or schedule at `path` (atomically) without losing one made before: an earlier
/// file whose content differs apart from its `created` line is moved aside as
/// `NAME.YYYYMMDDTHHMMSSZ`; when a journal beside it (`NAME.journal`, as `upgrade` and
/// `reboots run` keep) has entries, a different plan is refused and the same one left alone.
pub fn save(
    path: &Path,
    what: &str,
    fill: impl FnOnce(&mut AtomicWriter<'_>) -> std::io::Result<()>,
) -> anyhow::Result<Saved> {
    let journal = path.with_extension("journal");
    let journaled = std::fs::metadata(&journal).is_ok_and(|m| m.len() > 0);
    let mut saved = Saved::New;
    crate::fsutil::write_atomic_checked(path, fill, |tmp| {
        if !path.exists() {
            return Ok(true);
        }
        saved = match (same_apart_from_created(tmp, path)?, journaled) {
            (true, false) => Saved::Same,
            (true, true) => Saved::Kept,
            (false, true) => anyhow::bail!(
                "{} has a rollout journal ({}): a different {what} there would change what \
                 `--resume` continues; write the new one elsewhere (-o FILE.json), or move the \
                 journal away once that run is over",
                path.display(),
                journal.display()
            ),
            (false, false) => Saved::Replaced(crate::fsutil::set_aside(path)?),
        };
        Ok(saved != Saved::Kept)
    })?;
    Ok(saved)
}

/// Whether two plan files are line by line the same, apart from their `"created":` lines.
fn same_apart_from_created(a: &Path, b: &Path) -> anyhow::Result<bool> {
    let lines = |p: &Path| -> anyhow::Result<Vec<String>> {
        let f = std::fs::File::open(p).with_context(|| format!("cannot read {}", p.display()))?;
        let mut out = Vec::new();
        for line in BufReader::new(f).lines() {
            let Ok(line) = line else {
                // Not text: not a plan this command made.
                return Ok(vec![String::from("\0")]);
            };
            if !line.trim_start().starts_with("\"created\":") {
                out.push(line);
            }
        }
        Ok(out)
    };
    Ok(lines(a)? == lines(b)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
    enum F {
        Table,
        Json,
        Markdown,
        Ics,
    }

    fn dest(format: Option<F>, out: Option<&str>) -> Destinations<F> {
        destinations(format, out.map(Path::new), F::Json, F::Table, "plan.json").unwrap()
    }

    #[test]
    fn the_format_given_goes_to_the_file_given_and_the_json_where_the_user_asked() {
        let d = dest(Some(F::Ics), Some("/srv/r.ics"));
        assert_eq!(d.format, F::Ics);
        assert_eq!(d.rendered.as_deref(), Some(Path::new("/srv/r.ics")));
        // The JSON goes beside the rendering, never where the rendering is.
        assert_eq!(d.saved, Path::new("/srv/r.json"));
        let d = dest(Some(F::Ics), Some("cal"));
        assert_eq!(
            (d.rendered.as_deref(), d.saved),
            (Some(Path::new("cal")), "cal.json".into())
        );
        // A format the extension contradicts is refused: no calendar named .json.
        for (f, out) in [
            (F::Ics, "reboots.json"),
            (F::Json, "reboots.ics"),
            (F::Table, "t.md"),
        ] {
            let err = destinations(Some(f), Some(Path::new(out)), F::Json, F::Table, "p.json")
                .unwrap_err()
                .to_string();
            assert!(
                err.contains(out) && err.contains("its extension says"),
                "{err}"
            );
        }
        // By extension, and JSON means the plan itself.
        assert_eq!(dest(None, Some("t.md")).format, F::Markdown);
        assert_eq!(dest(None, Some("t.TXT")).format, F::Table);
        let d = dest(None, Some("x/p.json"));
        assert_eq!(
            (d.format, d.rendered, d.saved),
            (F::Json, None, "x/p.json".into())
        );
        // A name without an extension: the plan, as `-o` always meant.
        assert_eq!(dest(None, Some("plan")).saved, Path::new("plan"));
        // One that names no format is a mistake, unless --format says what to write.
        let err = destinations(None, Some(Path::new("x.yaml")), F::Json, F::Table, "p.json")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("x.yaml") && err.contains("table, json, markdown, ics"),
            "{err}"
        );
        assert_eq!(
            dest(Some(F::Ics), Some("x.yaml")).saved,
            Path::new("x.json")
        );
        // No -o: the rendering on stdout, the plan at the default path.
        let d = dest(Some(F::Markdown), None);
        assert_eq!(
            (d.format, d.rendered, d.saved),
            (F::Markdown, None, "plan.json".into())
        );
        assert_eq!(dest(None, None).format, F::Table);
    }

    fn write(path: &Path, text: &str) -> anyhow::Result<Saved> {
        save(path, "plan", |w| {
            std::io::Write::write_all(w, text.as_bytes())
        })
    }

    #[test]
    fn an_earlier_plan_from_other_inputs_is_kept_beside_the_new_one() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plan.json");
        let a = "{\n  \"created\": \"2026-11-29T10:00:00Z\",\n  \"target\": \"a\"\n}\n";
        assert_eq!(write(&p, a).unwrap(), Saved::New);
        // Same inputs, another time: replaced in place, nothing kept.
        let a2 = a.replace("10:00:00", "11:00:00");
        assert_eq!(write(&p, &a2).unwrap(), Saved::Same);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), a2);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        // Other inputs: the earlier plan moves aside, byte for byte.
        let b = a.replace("\"a\"", "\"b\"");
        let Saved::Replaced(old) = write(&p, &b).unwrap() else {
            panic!("not kept")
        };
        assert_eq!(std::fs::read_to_string(&old).unwrap(), a2);
        assert_eq!(std::fs::read_to_string(&p).unwrap(), b);
        assert!(
            old.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("plan.json.2")
        );
        let m = Saved::Replaced(old.clone()).message("plan", &p);
        assert!(m.contains(&old.display().to_string()), "{m}");
    }

    #[test]
    fn a_rendering_never_replaces_a_plan() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("sched");
        std::fs::write(&p, "{\n  \"schema\": \"lbfleet.reboots/1\",\n}\n").unwrap();
        let err = guard_rendering(&p).unwrap_err().to_string();
        assert!(err.contains("holds a plan or schedule"), "{err}");
        // An earlier rendering is replaced freely, unless a journal sits beside it.
        let t = dir.path().join("ticket.md");
        std::fs::write(&t, "## Upgrade plan\n").unwrap();
        guard_rendering(&t).unwrap();
        guard_rendering(&dir.path().join("new.md")).unwrap();
        std::fs::write(dir.path().join("ticket.journal"), "x\n").unwrap();
        assert!(guard_rendering(&t).is_err());
    }

    #[test]
    fn a_plan_with_a_rollout_journal_is_never_replaced_by_another() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plan.json");
        let a = "{\n  \"created\": \"1\",\n  \"x\": 1\n}\n";
        write(&p, a).unwrap();
        std::fs::write(dir.path().join("plan.journal"), "2026 start wave=0\n").unwrap();
        let err = write(&p, &a.replace("1\n", "2\n")).unwrap_err().to_string();
        assert!(err.contains("plan.journal"), "{err}");
        assert_eq!(std::fs::read_to_string(&p).unwrap(), a);
        // The same plan again: left exactly as the journal knows it.
        assert_eq!(
            write(&p, &a.replace("\"1\"", "\"2\"")).unwrap(),
            Saved::Kept
        );
        assert_eq!(std::fs::read_to_string(&p).unwrap(), a);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 2);
        // An empty journal holds nothing to protect.
        std::fs::write(dir.path().join("plan.journal"), "").unwrap();
        assert!(matches!(write(&p, "{}\n").unwrap(), Saved::Replaced(_)));
    }
}
