//! The image folder: firmware images with a manifest (`manifest.csv`: vendor, version, file,
//! size, SHA-256) that uploads and on-device checks are verified against.

use std::io::Read;
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::csvio::CsvFile;
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

    /// Adds (or replaces) the image for `vendor` `version`: the file is copied into the folder
    /// when it is elsewhere, hashed, and the manifest rewritten atomically.
    pub fn add(
        &mut self,
        source: &Path,
        vendor: Vendor,
        version: &Version,
    ) -> anyhow::Result<&Image> {
        let name = source
            .file_name()
            .and_then(|n| n.to_str())
            .filter(|n| valid_file_name(n))
            .ok_or_else(|| {
                anyhow::anyhow!(
                    "{}: image file names must be plain (letters, digits, . _ + -)",
                    source.display()
                )
            })?
            .to_string();
        std::fs::create_dir_all(&self.dir)?;
        let dest = self.dir.join(&name);
        let same = dest.canonicalize().ok() == source.canonicalize().ok();
        if !same {
            let tmp = self.dir.join(format!(".{name}.partial"));
            std::fs::copy(source, &tmp)
                .map_err(|e| anyhow::anyhow!("{}: cannot copy: {e}", source.display()))?;
            std::fs::rename(&tmp, &dest)?;
        }
        let (sha256, size) = digest(&dest)?;
        self.images
            .retain(|i| !(i.vendor == vendor && i.version == version.as_str()) && i.file != name);
        self.images.push(Image {
            vendor,
            version: version.as_str().to_string(),
            file: name.clone(),
            size,
            sha256,
        });
        self.images.sort_by(|a, b| {
            (a.vendor, Version::parse(a.vendor, &a.version).ok())
                .cmp(&(b.vendor, Version::parse(b.vendor, &b.version).ok()))
        });
        self.save()?;
        Ok(self
            .images
            .iter()
            .find(|i| i.file == name)
            .expect("just added"))
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
        let img = m.add(&src, Vendor::F5, &v).unwrap().clone();
        // sha256("not really an iso")
        assert_eq!(img.size, 17);
        assert_eq!(img.sha256, digest(&src).unwrap().0);
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
            m.add(&bad, Vendor::F5, &v)
                .unwrap_err()
                .to_string()
                .contains("plain")
        );
    }
}
