//! Vendor drivers as data: which command does what on a load balancer's management shell, and
//! how to read its output. Built-in drivers live in `drivers/*.toml` (embedded); a user file
//! given with `--drivers FILE` replaces the driver of its vendor.
//!
//! Values from the inventory or a plan reach a command only through [`Driver::render`], which
//! checks each against the parameter's declared pattern and refuses shell metacharacters
//! whatever the pattern says, so `15.1.10; reboot` or `$(id)` can never run.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;

use regex::Regex;
use serde::Deserialize;

use crate::error::{InputError, Location};
use crate::version::{Vendor, Version};

const EMBEDDED: [(&str, &str); 3] = [
    ("f5.toml", include_str!("../../drivers/f5.toml")),
    (
        "netscaler.toml",
        include_str!("../../drivers/netscaler.toml"),
    ),
    ("generic.toml", include_str!("../../drivers/generic.toml")),
];

/// The steps of an upgrade a driver must know.
pub const REQUIRED: [&str; 9] = [
    "show_version",
    "free_space",
    "ha_role",
    "sync_status",
    "image_checksum",
    "install",
    "reboot",
    "failover",
    "health",
];

/// Characters no parameter value may contain, whatever its pattern allows.
const FORBIDDEN: &[char] = &[
    ';', '&', '|', '$', '`', '\'', '"', '\\', '<', '>', '(', ')', '{', '}', '[', ']', '*', '?',
    '!', '#', '~', ' ', '\t', '\n', '\r', '\0',
];

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileParam {
    pattern: String,
    example: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileCommand {
    run: String,
    #[serde(default)]
    read_only: bool,
    #[serde(default)]
    parse: BTreeMap<String, String>,
    rows: Option<String>,
    expect: Option<String>,
    fail_if: Option<String>,
    #[serde(default)]
    in_sync: Vec<String>,
    wait_for: Option<String>,
    complete: Option<String>,
    failed: Option<String>,
    progress: Option<String>,
    fetch: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct DriverFile {
    vendor: String,
    description: String,
    image_dir: String,
    image_name: Option<String>,
    upload_streams: Option<usize>,
    #[serde(default)]
    params: BTreeMap<String, FileParam>,
    commands: BTreeMap<String, FileCommand>,
}

/// SSH streams per image upload when the driver does not say, chosen by measurement
/// (`scripts/bench-upload`, 2 cores, best of 2): 8 streams gave 1.06x scp's throughput over
/// loopback (1 GiB) and 2.88x at a 150 ms round trip (256 MiB), where 4 gave 1.77x and 16 no
/// more than 8; more than 10 at once also meets sshd's default MaxStartups.
pub const UPLOAD_STREAMS: usize = 8;

/// A parameter a command template may use.
#[derive(Clone, Debug)]
pub struct Param {
    /// Anchored pattern every value must match.
    pub pattern: Regex,
    /// A valid value, for messages.
    pub example: Option<String>,
}

/// One command of a driver.
#[derive(Clone, Debug)]
pub struct Command {
    /// The template, with `{param}` placeholders.
    pub run: String,
    /// Whether it only reads (allowed in a dry run).
    pub read_only: bool,
    /// Named values read from the output, one capture group each.
    pub parse: BTreeMap<String, Regex>,
    /// Rows read from the output, named groups per row.
    pub rows: Option<Regex>,
    /// The output must match this for success.
    pub expect: Option<Regex>,
    /// The output must not match this.
    pub fail_if: Option<Regex>,
    /// `status` values that mean "in sync".
    pub in_sync: Vec<String>,
    /// For a command that starts work the device finishes in the background (an install):
    /// the read-only command whose rows say when it is done. Without it, the command's own
    /// exit is the end of the work.
    pub wait_for: Option<String>,
    /// For a command with rows: a row `status` that means the work is done.
    pub complete: Option<Regex>,
    /// For a command with rows: a row `status` that means the work failed.
    pub failed: Option<Regex>,
    /// For a command with rows: the percentage done in a row `status` (one capture group).
    pub progress: Option<Regex>,
    /// For a command that leaves a file on the device (a configuration archive): its path, with
    /// the command's own `{param}` placeholders, for lbfleet to copy over SFTP.
    pub fetch: Option<String>,
    placeholders: Vec<String>,
}

/// A vendor driver.
#[derive(Clone, Debug)]
pub struct Driver {
    /// The vendor it drives.
    pub vendor: Vendor,
    /// What it is.
    pub description: String,
    /// Where images go on the device.
    pub image_dir: String,
    /// SSH connections one image upload may use at once (`upload_streams`; 1 for a device
    /// whose SSH server allows one session at a time).
    pub upload_streams: usize,
    /// The vendor's image file naming: a pattern whose named group `version` is the version the
    /// image installs, in the vendor's notation. `None`: any name will do.
    pub image_name: Option<Regex>,
    /// Where it was read from.
    pub source: String,
    /// Parameters by name.
    pub params: BTreeMap<String, Param>,
    /// Commands by name.
    pub commands: BTreeMap<String, Command>,
}

/// A value refused before it could reach a command.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RenderError {
    /// The driver has no such command.
    #[error("the {vendor} driver has no command \"{command}\"")]
    UnknownCommand {
        /// Vendor.
        vendor: &'static str,
        /// Command asked for.
        command: String,
    },
    /// A placeholder without a value.
    #[error("{command}: no value for {{{param}}}")]
    Missing {
        /// Command.
        command: String,
        /// Parameter.
        param: String,
    },
    /// A value the command does not use.
    #[error("{command}: the command takes no \"{param}\"")]
    Unexpected {
        /// Command.
        command: String,
        /// Parameter.
        param: String,
    },
    /// A value that fails its pattern or contains a shell metacharacter.
    #[error("{command}: refused {param} value {value:?}: {why}")]
    Refused {
        /// Command.
        command: String,
        /// Parameter.
        param: String,
        /// The value (quoted in the message, never run).
        value: String,
        /// Why.
        why: String,
    },
}

/// What an image file name says, by a driver's `image_name` convention.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ImageName {
    /// The driver has no naming convention: the name says nothing.
    Unchecked,
    /// The name follows the convention and carries this version.
    Version(Version),
    /// The name does not follow the convention (or what it carries is not a version).
    Foreign,
}

/// No driver for a vendor.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error(
    "no driver for {0}: lbfleet can plan {0} upgrades but not run them. Write a driver file (copy drivers/f5.toml, set vendor = \"{0}\", adapt the commands and patterns to your devices' CLI) and pass it with --drivers FILE"
)]
pub struct NoDriver(pub &'static str);

fn compile(pattern: &str, what: &str, at: &Location) -> Result<Regex, InputError> {
    Regex::new(pattern)
        .map_err(|e| InputError::new(at.clone(), format!("{what}: invalid pattern: {e}")))
}

impl Driver {
    /// Parses a driver file.
    pub fn parse(source: &str, text: &str) -> Result<Driver, InputError> {
        let at = Location::file(source);
        let file: DriverFile = toml::from_str(text).map_err(|e| {
            let line = e
                .span()
                .map(|s| text[..s.start].matches('\n').count() as u64 + 1);
            let loc = match line {
                Some(l) => Location::line(source, l),
                None => at.clone(),
            };
            InputError::new(loc, e.message().to_string())
        })?;
        let vendor: Vendor = file
            .vendor
            .parse()
            .map_err(|e: crate::version::UnknownVendor| {
                InputError::new(at.field("vendor"), e.to_string())
            })?;
        let image_name = match &file.image_name {
            Some(p) => {
                let re = compile(p, "image_name", &at)?;
                if !re.capture_names().flatten().any(|n| n == "version") {
                    return Err(InputError::new(
                        at.field("image_name"),
                        "needs a named group (?P<version>...) for the version the image installs",
                    ));
                }
                Some(re)
            }
            None => None,
        };
        let mut params = BTreeMap::new();
        for (name, p) in file.params {
            let anchored = format!(
                "^(?:{})$",
                p.pattern.trim_start_matches('^').trim_end_matches('$')
            );
            params.insert(
                name.clone(),
                Param {
                    pattern: compile(&anchored, &format!("params.{name}"), &at)?,
                    example: p.example,
                },
            );
        }
        let placeholder = Regex::new(r"\{([A-Za-z_][A-Za-z0-9_]*)\}").expect("valid");
        let mut commands = BTreeMap::new();
        for (name, c) in file.commands {
            let what = format!("commands.{name}");
            let placeholders: Vec<String> = placeholder
                .captures_iter(&c.run)
                .map(|m| m[1].to_string())
                .collect();
            for p in &placeholders {
                if !params.contains_key(p) {
                    return Err(InputError::new(
                        at.field(&what),
                        format!("uses {{{p}}} but [params.{p}] is not defined"),
                    ));
                }
            }
            if let Some(f) = &c.fetch {
                for m in placeholder.captures_iter(f) {
                    if !placeholders.iter().any(|p| *p == m[1]) {
                        return Err(InputError::new(
                            at.field(&format!("{what}.fetch")),
                            format!("uses {{{}}}, which `run` does not take", &m[1]),
                        ));
                    }
                }
            }
            let opt = |r: &Option<String>, key: &str| {
                r.as_deref()
                    .map(|r| compile(r, &format!("{what}.{key}"), &at))
                    .transpose()
            };
            let mut parse = BTreeMap::new();
            for (k, v) in &c.parse {
                let re = compile(v, &format!("{what}.parse.{k}"), &at)?;
                if re.captures_len() < 2 {
                    return Err(InputError::new(
                        at.field(&what),
                        format!("parse.{k} needs one capture group"),
                    ));
                }
                parse.insert(k.clone(), re);
            }
            commands.insert(
                name.clone(),
                Command {
                    run: c.run,
                    read_only: c.read_only,
                    parse,
                    rows: c
                        .rows
                        .as_deref()
                        .map(|r| compile(r, &what, &at))
                        .transpose()?,
                    expect: c
                        .expect
                        .as_deref()
                        .map(|r| compile(r, &what, &at))
                        .transpose()?,
                    fail_if: c
                        .fail_if
                        .as_deref()
                        .map(|r| compile(r, &what, &at))
                        .transpose()?,
                    in_sync: c.in_sync,
                    wait_for: c.wait_for,
                    complete: opt(&c.complete, "complete")?,
                    failed: opt(&c.failed, "failed")?,
                    progress: opt(&c.progress, "progress")?,
                    fetch: c.fetch,
                    placeholders,
                },
            );
        }
        let missing: Vec<&str> = REQUIRED
            .iter()
            .filter(|r| !commands.contains_key(**r))
            .copied()
            .collect();
        if !missing.is_empty() {
            return Err(InputError::new(
                at,
                format!("missing commands: {}", missing.join(", ")),
            ));
        }
        for (name, c) in &commands {
            let Some(w) = &c.wait_for else { continue };
            let ok = commands
                .get(w)
                .is_some_and(|s| s.read_only && s.rows.is_some() && s.complete.is_some());
            if !ok {
                return Err(InputError::new(
                    at.field(&format!("commands.{name}.wait_for")),
                    format!(
                        "\"{w}\" must be a read-only command with `rows` (a volume and a status per row) and `complete`"
                    ),
                ));
            }
        }
        Ok(Driver {
            vendor,
            description: file.description,
            image_dir: file.image_dir,
            upload_streams: match file.upload_streams {
                None => UPLOAD_STREAMS,
                Some(n @ 1..=16) => n,
                Some(n) => {
                    return Err(InputError::new(
                        at.field("upload_streams"),
                        format!("{n} streams: give 1 to 16"),
                    ));
                }
            },
            image_name,
            source: source.to_string(),
            params,
            commands,
        })
    }

    /// What an image file name says about the version it installs.
    pub fn version_in_name(&self, file: &str) -> ImageName {
        let Some(re) = &self.image_name else {
            return ImageName::Unchecked;
        };
        re.captures(file)
            .and_then(|c| c.name("version"))
            .and_then(|m| Version::parse(self.vendor, m.as_str()).ok())
            .map_or(ImageName::Foreign, ImageName::Version)
    }

    /// A well-named image file, for messages.
    pub fn image_example(&self) -> Option<&str> {
        self.params.get("image")?.example.as_deref()
    }

    /// The command `name` with `values` substituted, each value checked first.
    pub fn render(&self, name: &str, values: &[(&str, &str)]) -> Result<String, RenderError> {
        let cmd = self
            .commands
            .get(name)
            .ok_or_else(|| RenderError::UnknownCommand {
                vendor: self.vendor.id(),
                command: name.to_string(),
            })?;
        for (k, _) in values {
            if !cmd.placeholders.iter().any(|p| p == k) {
                return Err(RenderError::Unexpected {
                    command: name.into(),
                    param: (*k).into(),
                });
            }
        }
        let mut out = cmd.run.clone();
        for p in &cmd.placeholders {
            let value = values
                .iter()
                .find(|(k, _)| k == p)
                .map(|(_, v)| *v)
                .ok_or_else(|| RenderError::Missing {
                    command: name.into(),
                    param: p.clone(),
                })?;
            let refuse = |why: String| RenderError::Refused {
                command: name.into(),
                param: p.clone(),
                value: value.to_string(),
                why,
            };
            if let Some(c) = value
                .chars()
                .find(|c| FORBIDDEN.contains(c) || c.is_control())
            {
                return Err(refuse(format!("contains {c:?}")));
            }
            let param = &self.params[p];
            if !param.pattern.is_match(value) {
                return Err(refuse(format!(
                    "does not match {}{}",
                    param.pattern.as_str(),
                    param
                        .example
                        .as_ref()
                        .map(|e| format!(" (e.g. {e})"))
                        .unwrap_or_default()
                )));
            }
            out = out.replace(&format!("{{{p}}}"), value);
        }
        Ok(out)
    }

    /// The path of the file command `name` leaves on the device (its `fetch`), with `values`
    /// checked as [`Driver::render`] checks them; `None` when the command names no file.
    pub fn render_fetch(
        &self,
        name: &str,
        values: &[(&str, &str)],
    ) -> Result<Option<String>, RenderError> {
        self.render_with(name, values)?;
        let Some(mut path) = self.commands.get(name).and_then(|c| c.fetch.clone()) else {
            return Ok(None);
        };
        for (k, v) in values {
            path = path.replace(&format!("{{{k}}}"), v);
        }
        Ok(Some(path))
    }

    /// The parameters a command takes.
    pub fn placeholders(&self, name: &str) -> &[String] {
        self.commands
            .get(name)
            .map_or(&[], |c| c.placeholders.as_slice())
    }

    /// Renders a command with whichever of `values` it takes.
    pub fn render_with(&self, name: &str, values: &[(&str, &str)]) -> Result<String, RenderError> {
        let used: Vec<(&str, &str)> = values
            .iter()
            .filter(|(k, _)| self.placeholders(name).iter().any(|p| p == k))
            .copied()
            .collect();
        self.render(name, &used)
    }

    /// Reads the named values of a command's output (absent when a pattern does not match).
    pub fn parse_output(&self, name: &str, output: &str) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        if let Some(cmd) = self.commands.get(name) {
            for (k, re) in &cmd.parse {
                if let Some(c) = re.captures(output).and_then(|c| c.get(1)) {
                    out.insert(k.clone(), c.as_str().to_string());
                }
            }
        }
        out
    }

    /// Reads a command's rows (named groups per row).
    pub fn parse_rows(&self, name: &str, output: &str) -> Vec<BTreeMap<String, String>> {
        let Some(re) = self.commands.get(name).and_then(|c| c.rows.as_ref()) else {
            return Vec::new();
        };
        re.captures_iter(output)
            .map(|c| {
                re.capture_names()
                    .flatten()
                    .filter_map(|n| {
                        c.name(n)
                            .map(|m| (n.to_string(), m.as_str().trim().to_string()))
                    })
                    .collect()
            })
            .collect()
    }

    /// Whether a command's output means success: `expect` matches (when set) and `fail_if`
    /// does not.
    pub fn succeeded(&self, name: &str, output: &str) -> bool {
        self.commands.get(name).is_some_and(|c| {
            c.expect.as_ref().is_none_or(|r| r.is_match(output))
                && !c.fail_if.as_ref().is_some_and(|r| r.is_match(output))
        })
    }
}

/// The drivers in force.
#[derive(Clone, Debug)]
pub struct Drivers(Vec<Driver>);

impl Drivers {
    /// The built-in drivers, then a user file replacing its vendor's driver.
    pub fn load(user: Option<&Path>) -> Result<Drivers, InputError> {
        let mut all: Vec<Driver> = EMBEDDED
            .iter()
            .map(|(name, text)| Driver::parse(&format!("<embedded>/drivers/{name}"), text))
            .collect::<Result<_, _>>()?;
        if let Some(path) = user {
            let name = path.display().to_string();
            let text = std::fs::read_to_string(path)
                .map_err(|e| InputError::new(Location::file(&name), format!("cannot read: {e}")))?;
            let d = Driver::parse(&name, &text)?;
            all.retain(|x| x.vendor != d.vendor);
            all.push(d);
        }
        all.sort_by_key(|d| d.vendor);
        Ok(Drivers(all))
    }

    /// The driver for a vendor, or the reason there is none.
    pub fn get(&self, vendor: Vendor) -> Result<&Driver, NoDriver> {
        self.0
            .iter()
            .find(|d| d.vendor == vendor)
            .ok_or(NoDriver(vendor.id()))
    }

    /// Every driver.
    pub fn all(&self) -> &[Driver] {
        &self.0
    }
}

impl fmt::Display for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} driver ({}): {}",
            self.vendor.id(),
            self.source,
            self.description
        )?;
        writeln!(
            f,
            "images go to {} (up to {} SSH streams per upload)",
            self.image_dir, self.upload_streams
        )?;
        if let Some(re) = &self.image_name {
            writeln!(f, "image names: {}", re.as_str())?;
        }
        for (name, p) in &self.params {
            writeln!(f, "  param {name}: {}", p.pattern.as_str())?;
        }
        for (name, c) in &self.commands {
            let ro = if c.read_only { " (read-only)" } else { "" };
            writeln!(f, "  {name}{ro}: {}", c.run)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
