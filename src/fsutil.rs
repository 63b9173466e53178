//! Filesystem helpers: outputs are written to a temporary file beside the destination and
//! renamed into place, so a reader never sees half a file.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

/// Creates an output folder (and its parents); an error names it.
pub fn create_out_dir(dir: &Path) -> anyhow::Result<()> {
    std::fs::create_dir_all(dir)
        .map_err(|e| anyhow::anyhow!("{}: cannot create the output folder: {e}", dir.display()))
}

/// Writes `bytes` to `path` atomically (temp file in the same folder, fsync, rename).
pub fn write_atomic(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    write_atomic_with(path, |w| w.write_all(bytes))
}

/// The buffered temp file [`write_atomic_with`] hands to its writer.
pub type AtomicWriter<'a> = std::io::BufWriter<&'a mut std::fs::File>;

/// Streams output into `path` atomically: `fill` writes to a buffered temp file in the same
/// folder, which is fsynced and renamed into place only when `fill` succeeds. The file gets the
/// usual permissions (0666 less the umask), not the temp file's 0600.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut AtomicWriter<'_>) -> std::io::Result<()>,
) -> anyhow::Result<()> {
    write_atomic_checked(path, fill, |_| Ok(true))
}

/// As [`write_atomic_with`], with `check` called on the finished temp file just before it
/// replaces `path`: `false` or an error from `check` leaves `path` as it was.
pub fn write_atomic_checked(
    path: &Path,
    fill: impl FnOnce(&mut AtomicWriter<'_>) -> std::io::Result<()>,
    check: impl FnOnce(&Path) -> anyhow::Result<bool>,
) -> anyhow::Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    if !dir.is_dir() {
        anyhow::bail!(
            "cannot write {}: the folder {} does not exist",
            path.display(),
            dir.display()
        );
    }
    let mut tmp = tempfile::Builder::new()
        .prefix(".lbfleet-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    {
        let mut w = std::io::BufWriter::with_capacity(1 << 16, tmp.as_file_mut());
        fill(&mut w)
            .and_then(|()| w.flush())
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    set_default_permissions(tmp.as_file())
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", path.display()))?;
    if !check(tmp.path())? {
        return Ok(());
    }
    tmp.persist(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

#[cfg(unix)]
fn set_default_permissions(f: &std::fs::File) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    // The umask can only be read by setting it; read it once and put it back.
    static UMASK: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    let umask = *UMASK.get_or_init(|| {
        // SAFETY: umask(2) cannot fail; the previous mask is restored at once.
        let old = unsafe { libc::umask(0o022) };
        unsafe { libc::umask(old) };
        old as u32
    });
    f.set_permissions(std::fs::Permissions::from_mode(0o666 & !umask))
}

#[cfg(not(unix))]
fn set_default_permissions(_: &std::fs::File) -> std::io::Result<()> {
    Ok(())
}

/// Moves a file aside as `NAME.YYYYMMDDTHHMMSSZ` (the time now, UTC; `-2`, `-3`... added when
/// that name is taken, as by a second move in the same second), returning where.
pub fn set_aside(path: &Path) -> anyhow::Result<std::path::PathBuf> {
    let stamp = jiff::Timestamp::now()
        .strftime("%Y%m%dT%H%M%SZ")
        .to_string();
    let kept = (1..)
        .map(|n| {
            let mut name = path.as_os_str().to_owned();
            name.push(format!(".{stamp}"));
            if n > 1 {
                name.push(format!("-{n}"));
            }
            std::path::PathBuf::from(name)
        })
        .find(|p| !p.exists())
        .expect("an unused name");
    std::fs::rename(path, &kept)
        .with_context(|| format!("cannot move {} aside", path.display()))?;
    Ok(kept)
}

/// Runs `f` holding an exclusive lock (flock) on `.lbfleet-inventory.lock` in the folder of
/// `file`, so processes editing that folder's files (two rollouts, a rollout and `inventory
/// sync --apply`) take turns at read-modify-write and no update is lost.
pub fn with_inventory_lock<T>(
    file: &Path,
    f: impl FnOnce() -> anyhow::Result<T>,
) -> anyhow::Result<T> {
    let dir = match file.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let path = dir.join(".lbfleet-inventory.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .with_context(|| format!("cannot open {}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: flock on a descriptor we own; released when `lock` is closed.
        if unsafe { libc::flock(lock.as_raw_fd(), libc::LOCK_EX) } != 0 {
            anyhow::bail!(
                "cannot lock {}: {}",
                path.display(),
                std::io::Error::last_os_error()
            );
        }
    }
    let out = f();
    drop(lock);
    out
}

/// Lower-case hex of bytes.
pub fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write as _;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writing_into_a_folder_that_does_not_exist_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("missing/plan.json");
        let err = write_atomic(&p, b"x").unwrap_err().to_string();
        assert!(
            err.contains("missing") && err.contains("does not exist"),
            "{err}"
        );
        assert!(!dir.path().join("missing").exists());
    }

    #[test]
    fn editors_of_one_inventory_folder_take_turns() {
        use std::sync::atomic::{AtomicU8, Ordering};
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("devices.csv");
        // 0: nobody in, 1: the first is in, 2: the first is out.
        let state = AtomicU8::new(0);
        std::thread::scope(|s| {
            s.spawn(|| {
                with_inventory_lock(&file, || {
                    state.store(1, Ordering::SeqCst);
                    std::thread::sleep(std::time::Duration::from_millis(200));
                    state.store(2, Ordering::SeqCst);
                    Ok(())
                })
                .unwrap()
            });
            while state.load(Ordering::SeqCst) == 0 {
                std::thread::yield_now();
            }
            // The second waits for the first to leave.
            with_inventory_lock(&file, || {
                assert_eq!(state.load(Ordering::SeqCst), 2);
                Ok(())
            })
            .unwrap();
        });
    }

    #[test]
    fn files_set_aside_in_the_same_second_keep_apart() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("plan.json");
        let mut kept = Vec::new();
        for text in ["a", "b", "c"] {
            std::fs::write(&p, text).unwrap();
            kept.push(set_aside(&p).unwrap());
            assert!(!p.exists());
        }
        let texts: Vec<String> = kept
            .iter()
            .map(|k| std::fs::read_to_string(k).unwrap())
            .collect();
        assert_eq!(texts, ["a", "b", "c"]);
        let name = kept[0].file_name().unwrap().to_str().unwrap().to_owned();
        assert!(
            name.starts_with("plan.json.2") && name.ends_with('Z'),
            "{name}"
        );
    }
}
