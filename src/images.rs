//! The image folder: firmware images with a manifest (`manifest.csv`: vendor, version, file,
//! size, SHA-256) that uploads and on-device checks are verified against.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::csvio::CsvFile;
use crate::driver::{Drivers, ImageName};
use crate::error::{InputError, Location};
use crate::version::{Vendor, Version};

/// The manifest's file name inside the image folder.
pub const MANIFEST: &str = "manifest.csv";

/// One image.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    /// Vendor.
    pub vendor: Vendor,
    /// The version it installs, in vendor notation.
    pub version: String,
    /// File name inside the folder.
    pub file: String,
    /// Size in bytes.
    pub size: u64,
    /// Lower-case hex SHA-256.
    pub sha256: String,
}

/// An image folder and its manifest (empty by default: reboots need no images).
#[derive(Clone, Debug, Default)]
pub struct Manifest {
    /// The folder.
    pub dir: PathBuf,
    /// Images, sorted by vendor, then version.
    pub images: Vec<Image>,
}

/// Image file names: no paths, no shell metacharacters.
fn valid_file_name(name: &str) -> bool {
    let b = name.as_bytes();
    !b.is_empty()
        && b.len() <= 128
        && b[0].is_ascii_alphanumeric()
        && b.iter()
            .all(|c| c.is_ascii_alphanumeric() || b"._+-".contains(c))
}

/// SHA-256 and size of a file, streamed.
pub fn digest(path: &Path) -> std::io::Result<(String, u64)> {
    let mut f = std::fs::File::open(path)?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut size = 0u64;
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
        size += n as u64;
    }
    Ok((crate::fsutil::hex(&h.finalize()), size))
}

/// What [`Manifest::add`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Added {
    /// The entry as it now stands.
    pub image: Image,
    /// The manifest already listed exactly this: nothing was written.
    pub unchanged: bool,
    /// Entries `--force` replaced (same file name or same vendor and version).
    pub replaced: Vec<Image>,
    /// What `--force` let through.
    pub warnings: Vec<String>,
}

/// Why [`Manifest::add`] refused a file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum Refusal {
    /// Not a plain file name.
    #[error("{0}: image file names must be plain (letters, digits, . _ + -)")]
    NotPlain(String),
    /// Missing or unreadable.
    #[error("{file}: {why}")]
    Unreadable {
        /// The file as given.
        file: String,
        /// What the system said.
        why: String,
    },
    /// The file name says another vendor or version than claimed.
    #[error(
        "{file}: --vendor/--version say {claim}, but {says}; rename the file or correct the claim, or give --force if the name is wrong"
    )]
    Misnamed {
        /// The file as given.
        file: String,
        /// What the name says.
        says: String,
        /// `VENDOR VERSION` as claimed.
        claim: String,
    },
    /// The manifest already lists the file name or the version differently.
    #[error("{manifest}: already lists {entry}, and {why}; give --force to replace that entry")]
    Listed {
        /// The manifest.
        manifest: String,
        /// The entry there, described.
        entry: String,
        /// How the new file differs from it.
        why: String,
    },
}

/// An entry for messages: `f5 17.5.1 BIGIP-17.5.1-0.0.7.iso (100000 bytes, sha256 0f3a…)`.
pub fn describe(i: &Image) -> String {
    format!(
        "{} {} {} ({} bytes, sha256 {})",
        i.vendor,
        i.version,
        i.file,
        i.size,
        &i.sha256[..i.sha256.len().min(12)]
    )
}

/// An I/O error in words, without the OS error number.
fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "No such file or directory".into(),
        std::io::ErrorKind::PermissionDenied => "Permission denied".into(),
        _ => e.to_string(),
    }
}

/// What an image file name says, when it contradicts `vendor` `version`: by the claimed
/// vendor's naming convention, or, when the name does not follow it, by another vendor's.
/// Vendors without a convention (or without a driver) take any name.
pub fn name_contradicts(
    name: &str,
    vendor: Vendor,
    version: &Version,
    drivers: &Drivers,
) -> Option<String> {
    let driver = drivers.get(vendor).ok()?;
    match driver.version_in_name(name) {
        ImageName::Unchecked => None,
        ImageName::Version(v) if v == *version => None,
        ImageName::Version(v) => Some(format!("the file name says {vendor} {v}")),
        ImageName::Foreign => {
            let other = drivers
                .all()
                .iter()
                .find_map(|d| match d.version_in_name(name) {
                    ImageName::Version(v) if d.vendor != vendor => Some(v),
                    _ => None,
                });
            let like = |e: &str| format!("{vendor} images are named like {e}");
            Some(match (other, driver.image_example()) {
                (Some(v), Some(e)) => {
                    format!("the file name says {} {v} ({})", v.vendor(), like(e))
                }
                (Some(v), None) => format!("the file name says {} {v}", v.vendor()),
                (None, Some(e)) => format!("the file name does not say ({})", like(e)),
                (None, None) => format!("the file name does not follow the {vendor} naming"),
            })
        }
    }
}

/// What `verify` found wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Problem {
    /// The file.
    pub file: String,
    /// What.
    pub message: String,
}

impl Manifest {
    /// Reads `DIR/manifest.csv`; an absent manifest is an empty one.
    pub fn load(dir: &Path) -> Result<Manifest, InputError> {
        let path = dir.join(MANIFEST);
        let mut images = Vec::new();
        if path.exists() {
            let csv = CsvFile::read(&path)?.strict()?;
            let [vendor, version, file, size, sha] =
                csv.require(["vendor", "version", "file", "size", "sha256"])?;
            for row in &csv.rows {
                let at = |f: &str| csv.at(row).field(f);
                let v: Vendor =
                    row.get(Some(vendor))
                        .parse()
                        .map_err(|e: crate::version::UnknownVendor| {
                            InputError::new(at("vendor"), e.to_string())
                        })?;
                let ver = Version::parse(v, row.get(Some(version)))
                    .map_err(|e| InputError::new(at("version"), e.to_string()))?;
                let name = row.get(Some(file));
                if !valid_file_name(name) {
                    return Err(InputError::new(
                        at("file"),
                        format!("\"{name}\" is not a plain file name (letters, digits, . _ + -)"),
                    ));
                }
                let sha256 = row.get(Some(sha)).to_ascii_lowercase();
                if sha256.len() != 64 || !sha256.bytes().all(|c| c.is_ascii_hexdigit()) {
                    return Err(InputError::new(
                        at("sha256"),
                        "not a SHA-256 in hex (64 characters)",
                    ));
                }
                images.push(Image {
                    vendor: v,
                    version: ver.as_str().to_string(),
                    file: name.to_string(),
                    size: row
                        .get(Some(size))
                        .parse()
                        .map_err(|_| InputError::new(at("size"), "not a size in bytes"))?,
                    sha256,
                });
            }
        }
        Ok(Manifest {
            dir: dir.to_path_buf(),
            images,
        })
    }

    /// The image for a vendor's version.
    pub fn find(&self, vendor: Vendor, version: &Version) -> Option<&Image> {
        self.images.iter().find(|i| {
            i.vendor == vendor && Version::parse(vendor, &i.version).is_ok_and(|v| v == *version)
        })
    }

    /// Adds the image of `vendor` `version`: the file is hashed, copied into the folder when it
    /// is elsewhere, and the manifest rewritten atomically.
    ///
    /// Refused ([`Refusal`]) unless `force`: a file name that says another vendor or version
    /// (by the vendor's driver's `image_name` convention), and a manifest that already lists
    /// the file name or the version differently. Re-adding the same file with the same claim
    /// changes nothing.
    pub fn add(
        &mut self,
        source: &Path,
        vendor: Vendor,
        version: &Version,
        drivers: &Drivers,
        force: bool,
    ) -> anyhow::Result<Added> {
        let shown = source.display().to_string();
        let name = source
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| valid_file_name(n))
            .ok_or_else(|| Refusal::NotPlain(shown.clone()))?
            .to_string();
        let unreadable = |e: std::io::Error| Refusal::Unreadable {
            file: shown.clone(),
            why: io_reason(&e),
        };
        if !std::fs::metadata(source).map_err(unreadable)?.is_file() {
            return Err(Refusal::Unreadable {
                file: shown.clone(),
                why: "not a file".into(),
            }
            .into());
        }
        let mut warnings = Vec::new();
        if let Some(says) = name_contradicts(&name, vendor, version, drivers) {
            let refusal = Refusal::Misnamed {
                file: shown.clone(),
                says,
                claim: format!("{vendor} {version}"),
            };
            if !force {
                return Err(refusal.into());
            }
            let Refusal::Misnamed { file, says, claim } = refusal else {
                unreachable!("just built")
            };
            warnings.push(format!("{file}: {says}; recorded as {claim} (--force)"));
        }
        let (sha256, size) = digest(source).map_err(unreadable)?;
        let image = Image {
            vendor,
            version: version.as_str().to_string(),
            file: name.clone(),
            size,
            sha256,
        };
        let same_claim = |i: &Image| {
            i.vendor == vendor && Version::parse(i.vendor, &i.version).is_ok_and(|v| v == *version)
        };
        let identical = |i: &Image| {
            i.file == name && same_claim(i) && i.size == size && i.sha256 == image.sha256
        };
        let conflicts: Vec<usize> = (0..self.images.len())
            .filter(|&k| {
                let i = &self.images[k];
                (i.file == name || same_claim(i)) && !identical(i)
            })
            .collect();
        let existing = self.images.iter().find(|i| identical(i)).cloned();
        let unchanged = conflicts.is_empty() && existing.is_some();
        if let Some(&k) = conflicts.first()
            && !force
        {
            let i = &self.images[k];
            return Err(Refusal::Listed {
                manifest: self.dir.join(MANIFEST).display().to_string(),
                entry: describe(i),
                why: if i.file != name {
                    format!("{name} would be a second image for {vendor} {version}")
                } else if !same_claim(i) {
                    format!("{name} is now claimed as {vendor} {version}")
                } else {
                    format!(
                        "{name} now has other content ({} bytes, sha256 {})",
                        image.size,
                        &image.sha256[..12]
                    )
                },
            }
            .into());
        }
        std::fs::create_dir_all(&self.dir)?;
        let dest = self.dir.join(&name);
        let same_file = dest.canonicalize().ok() == source.canonicalize().ok();
        // An unchanged entry still gets its file back if the folder lost or changed it.
        let in_place = same_file
            || (unchanged && digest(&dest).is_ok_and(|d| d == (image.sha256.clone(), size)));
        if !in_place {
            let tmp = self.dir.join(format!(".{name}.partial"));
            std::fs::copy(source, &tmp)
                .map_err(|e| anyhow::anyhow!("{shown}: cannot copy: {}", io_reason(&e)))?;
            std::fs::rename(&tmp, &dest)?;
        }
        if let (true, Some(image)) = (unchanged, existing) {
            return Ok(Added {
                image,
                unchanged: true,
                replaced: Vec::new(),
                warnings,
            });
        }
        let mut replaced = Vec::new();
        for k in conflicts.into_iter().rev() {
            replaced.insert(0, self.images.remove(k));
        }
        self.images.push(image.clone());
        self.images.sort_by(|a, b| {
            (a.vendor, Version::parse(a.vendor, &a.version).ok())
                .cmp(&(b.vendor, Version::parse(b.vendor, &b.version).ok()))
        });
        self.save()?;
        Ok(Added {
            image,
            unchanged: false,
            replaced,
            warnings,
        })
    }

    fn save(&self) -> anyhow::Result<()> {
        let mut text = String::from("vendor,version,file,size,sha256\n");
        for i in &self.images {
            text.push_str(&format!(
                "{},{},{},{},{}\n",
                i.vendor.id(),
                i.version,
                i.file,
                i.size,
                i.sha256
            ));
        }
        crate::fsutil::write_atomic(&self.dir.join(MANIFEST), text.as_bytes())
    }

    /// Checks every listed file's size and SHA-256; files in the folder the manifest does not
    /// list are problems too.
    pub fn verify(&self) -> anyhow::Result<Vec<Problem>> {
        let mut out = Vec::new();
        for i in &self.images {
            let path = self.dir.join(&i.file);
            let problem = |message: String| Problem {
                file: i.file.clone(),
                message,
            };
            match digest(&path) {
                Err(e) => out.push(problem(format!("cannot read: {e}"))),
                Ok((_, size)) if size != i.size => out.push(problem(format!(
                    "size is {size} bytes, the manifest says {}",
                    i.size
                ))),
                Ok((sha, _)) if sha != i.sha256 => out.push(problem(format!(
                    "SHA-256 is {sha}, the manifest says {}",
                    i.sha256
                ))),
                Ok(_) => {}
            }
        }
        if let Ok(entries) = std::fs::read_dir(&self.dir) {
            let mut names: Vec<String> = entries
                .filter_map(|e| e.ok()?.file_name().into_string().ok())
                .filter(|n| n != MANIFEST && !n.starts_with('.'))
                .collect();
            names.sort();
            for n in names {
                if !self.images.iter().any(|i| i.file == n) {
                    out.push(Problem {
                        file: n,
                        message: "not in the manifest (add it with `lbfleet images add`)".into(),
                    });
                }
            }
        }
        Ok(out)
    }
}

/// The location of a manifest, for messages.
pub fn location(dir: &Path) -> Location {
    Location::file(dir.join(MANIFEST).display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn add_verify_and_catch_corruption() {
        let dir = tempfile::tempdir().unwrap();
        let images = dir.path().join("images");
        let src = dir.path().join("BIGIP-17.5.1-0.0.7.iso");
        std::fs::write(&src, b"not really an iso").unwrap();
        let mut m = Manifest::load(&images).unwrap();
        let v = Version::parse(Vendor::F5, "17.5.1").unwrap();
        let img = m
            .add(&src, Vendor::F5, &v, &drivers(), false)
            .unwrap()
            .image;
        // `printf %s "not really an iso" | sha256sum`, computed outside lbfleet.
        assert_eq!(img.size, 17);
        assert_eq!(
            img.sha256,
            "319aa4fdbfef8a3d7e74c801e9b9e20149b79cc3e78b4fc3cb08a5b45340f000"
        );
        let again = Manifest::load(&images).unwrap();
        assert_eq!(again.images, vec![img.clone()]);
        assert_eq!(
            again.find(Vendor::F5, &Version::parse(Vendor::F5, "17.5.1.0").unwrap()),
            Some(&img)
        );
        assert!(again.verify().unwrap().is_empty());
        std::fs::write(images.join("BIGIP-17.5.1-0.0.7.iso"), b"not really an isO").unwrap();
        std::fs::write(images.join("stray.iso"), b"x").unwrap();
        let problems = again.verify().unwrap();
        assert_eq!(problems.len(), 2, "{problems:?}");
        assert!(problems[0].message.starts_with("SHA-256 is"));
        assert_eq!(problems[1].file, "stray.iso");
        let bad = dir.path().join("a;reboot.iso");
        std::fs::write(&bad, b"x").unwrap();
        assert!(
            m.add(&bad, Vendor::F5, &v, &drivers(), false)
                .unwrap_err()
                .to_string()
                .contains("plain")
        );
    }

    fn drivers() -> Drivers {
        Drivers::load(None).unwrap()
    }

    fn f5(v: &str) -> Version {
        Version::parse(Vendor::F5, v).unwrap()
    }

    fn ns(v: &str) -> Version {
        Version::parse(Vendor::NetScaler, v).unwrap()
    }

    /// A temp dir with `name` holding `bytes`, and an empty manifest under `images/`.
    fn setup(name: &str, bytes: &[u8]) -> (tempfile::TempDir, PathBuf, Manifest) {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join(name);
        std::fs::write(&src, bytes).unwrap();
        let m = Manifest::load(&dir.path().join("images")).unwrap();
        (dir, src, m)
    }

    #[track_caller]
    fn refusal(e: anyhow::Error) -> Refusal {
        e.downcast_ref::<Refusal>()
            .unwrap_or_else(|| panic!("not a refusal: {e:#}"))
            .clone()
    }

    #[test]
    fn what_image_names_say() {
        let d = drivers();
        let says = |vendor, name: &str| d.get(vendor).unwrap().version_in_name(name);
        for (name, v) in [
            ("BIGIP-17.5.1-0.0.7.iso", "17.5.1"),
            ("BIGIP-15.1.2.1-0.0.10.iso", "15.1.2.1"),
        ] {
            assert_eq!(says(Vendor::F5, name), ImageName::Version(f5(v)), "{name}");
        }
        // Hotfix ISOs do not say which hotfix they are: not read as a version.
        for name in [
            "Hotfix-BIGIP-17.1.1.3.0.118.4-ENG.iso",
            "BIGIP-17.5.1.iso",
            "bigip.iso",
            "build-14.1-66.62_nc_64.tgz",
        ] {
            assert_eq!(says(Vendor::F5, name), ImageName::Foreign, "{name}");
        }
        // shared/reference/cli-output.md B3: every naming seen in the wild.
        for (name, v) in [
            ("build-11.0-63.16_nc.tgz", "11.0-63.16"),
            ("build-14.1-66.62_nc_64.tgz", "14.1-66.62"),
            ("NSVPX-KVM-13.0-79.64_nc_64.tgz", "13.0-79.64"),
            ("NSVPX-NCore_build-12.1-48.13_nc_64.tgz", "12.1-48.13"),
        ] {
            assert_eq!(
                says(Vendor::NetScaler, name),
                ImageName::Version(ns(v)),
                "{name}"
            );
        }
        // Compared as versions, not text: 14.1 build 66.62 is 14.1-66.62.
        assert_eq!(
            says(Vendor::NetScaler, "build-14.1-66.62_nc_64.tgz"),
            ImageName::Version(ns("14.1 build 66.62"))
        );
        for name in [
            "BIGIP-17.5.1-0.0.7.iso",
            "ns-12.1-48.13.gz",
            "build-14.1_nc.tgz",
        ] {
            assert_eq!(says(Vendor::NetScaler, name), ImageName::Foreign, "{name}");
        }
        assert_eq!(
            says(Vendor::Generic, "anything-at-all.bin"),
            ImageName::Unchecked
        );
    }

    #[test]
    fn a_name_that_says_another_version_is_refused() {
        let (_d, src, mut m) = setup("BIGIP-17.5.1-0.0.7.iso", b"iso");
        let e = refusal(
            m.add(&src, Vendor::F5, &f5("16.1.4"), &drivers(), false)
                .unwrap_err(),
        );
        let msg = e.to_string();
        assert!(matches!(e, Refusal::Misnamed { .. }), "{msg}");
        assert!(
            msg.contains(
                "BIGIP-17.5.1-0.0.7.iso: --vendor/--version say f5 16.1.4, but the file name says f5 17.5.1;"
            ) && msg.contains("--force"),
            "{msg}"
        );
        assert!(!m.dir.join(MANIFEST).exists() && m.images.is_empty());
        // 17.5.1.0 is 17.5.1: compared as versions.
        m.add(&src, Vendor::F5, &f5("17.5.1.0"), &drivers(), false)
            .unwrap();
    }

    #[test]
    fn a_name_of_another_vendor_is_refused() {
        let (_d, src, mut m) = setup("BIGIP-17.5.1-0.0.7.iso", b"iso");
        let msg = refusal(
            m.add(
                &src,
                Vendor::NetScaler,
                &ns("14.1-66.62"),
                &drivers(),
                false,
            )
            .unwrap_err(),
        )
        .to_string();
        assert!(
            msg.contains("say netscaler 14.1-66.62, but the file name says f5 17.5.1 (netscaler images are named like build-14.1-66.62_nc_64.tgz)"),
            "{msg}"
        );
        let (_d, src, mut m) = setup("build-14.1-66.62_nc_64.tgz", b"tgz");
        let msg = refusal(
            m.add(&src, Vendor::F5, &f5("17.5.1"), &drivers(), false)
                .unwrap_err(),
        )
        .to_string();
        assert!(msg.contains("says netscaler 14.1-66.62"), "{msg}");
        m.add(
            &src,
            Vendor::NetScaler,
            &ns("14.1-66.62"),
            &drivers(),
            false,
        )
        .unwrap();
        // No naming convention: any name.
        let (_d, src, mut m) = setup("haproxy.tar.gz", b"tgz");
        let g = Version::parse(Vendor::Generic, "2.8.3").unwrap();
        m.add(&src, Vendor::Generic, &g, &drivers(), false).unwrap();
    }

    #[test]
    fn force_records_a_misnamed_file_with_a_warning() {
        let (_d, src, mut m) = setup("Hotfix-BIGIP-17.1.1.3.0.118.4-ENG.iso", b"hf");
        let v = f5("17.1.1.3");
        let msg = refusal(m.add(&src, Vendor::F5, &v, &drivers(), false).unwrap_err()).to_string();
        assert!(
            msg.contains(
                "but the file name does not say (f5 images are named like BIGIP-17.5.1-0.0.7.iso)"
            ),
            "{msg}"
        );
        let added = m.add(&src, Vendor::F5, &v, &drivers(), true).unwrap();
        assert_eq!(added.image.version, "17.1.1.3");
        assert!(
            added.warnings[0].contains("--force"),
            "{:?}",
            added.warnings
        );
        assert_eq!(Manifest::load(&m.dir).unwrap().images, vec![added.image]);
    }

    #[test]
    fn the_manifest_never_replaces_an_entry_silently() {
        let (d, src, mut m) = setup("BIGIP-17.5.1-0.0.7.iso", b"iso one");
        let first = m
            .add(&src, Vendor::F5, &f5("17.5.1"), &drivers(), false)
            .unwrap();
        assert!(!first.unchanged && first.replaced.is_empty());
        let first = first.image;
        let manifest = || std::fs::read_to_string(m.dir.join(MANIFEST)).unwrap();
        let before = manifest();
        let kept = m.dir.join("BIGIP-17.5.1-0.0.7.iso");
        let mut again = Manifest::load(&m.dir).unwrap();
        // Identical file, same claim: nothing to do.
        let same = again
            .add(&src, Vendor::F5, &f5("17.5.1"), &drivers(), false)
            .unwrap();
        assert!(same.unchanged && same.replaced.is_empty());
        assert_eq!(same.image, first);
        assert_eq!(manifest(), before);
        // 17.5.1.0 is the same claim as 17.5.1.
        let same = again
            .add(&src, Vendor::F5, &f5("17.5.1.0"), &drivers(), false)
            .unwrap();
        assert!(same.unchanged && same.image == first);
        assert_eq!(manifest(), before);
        // The same name as another vendor (no naming convention for generic): refused.
        let g = Version::parse(Vendor::Generic, "2.8.3").unwrap();
        let msg = refusal(
            again
                .add(&src, Vendor::Generic, &g, &drivers(), false)
                .unwrap_err(),
        )
        .to_string();
        assert!(
            msg.contains("images/manifest.csv: already lists f5 17.5.1 BIGIP-17.5.1-0.0.7.iso (7 bytes, sha256 ")
                && msg.contains("and BIGIP-17.5.1-0.0.7.iso is now claimed as generic 2.8.3")
                && msg.contains("--force"),
            "{msg}"
        );
        // The same name and claim with other content: refused, and the folder's copy is kept.
        std::fs::write(&src, b"iso two").unwrap();
        let msg = refusal(
            again
                .add(&src, Vendor::F5, &f5("17.5.1"), &drivers(), false)
                .unwrap_err(),
        )
        .to_string();
        assert!(
            msg.contains("and BIGIP-17.5.1-0.0.7.iso now has other content (7 bytes, sha256 "),
            "{msg}"
        );
        assert_eq!(std::fs::read(&kept).unwrap(), b"iso one");
        // Another file for the same version: refused.
        let other = d.path().join("BIGIP-17.5.1-0.0.8.iso");
        std::fs::write(&other, b"iso three").unwrap();
        let msg = refusal(
            again
                .add(&other, Vendor::F5, &f5("17.5.1"), &drivers(), false)
                .unwrap_err(),
        )
        .to_string();
        assert!(
            msg.contains("and BIGIP-17.5.1-0.0.8.iso would be a second image for f5 17.5.1"),
            "{msg}"
        );
        assert_eq!(manifest(), before);
        assert_eq!(again.images, vec![first.clone()]);
        // --force replaces, and says what it replaced.
        let forced = again
            .add(&src, Vendor::F5, &f5("17.5.1"), &drivers(), true)
            .unwrap();
        assert_eq!(forced.replaced, vec![first]);
        assert_eq!(std::fs::read(&kept).unwrap(), b"iso two");
        assert_eq!(Manifest::load(&m.dir).unwrap().images, vec![forced.image]);
    }

    #[test]
    fn a_missing_file_is_named() {
        let (d, _src, mut m) = setup("x", b"");
        let missing = d.path().join("dl/BIGIP-17.5.1-0.0.7.iso");
        let msg = m
            .add(&missing, Vendor::F5, &f5("17.5.1"), &drivers(), false)
            .unwrap_err()
            .to_string();
        assert_eq!(
            msg,
            format!("{}: No such file or directory", missing.display())
        );
    }
}
