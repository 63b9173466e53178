//! The `ssh2` crate behind [`Transport`]: everything ssh2-specific is in this file.

use std::io::{Read, Seek, Write};
use std::net::{TcpStream, ToSocketAddrs};
use std::path::Path;

use ssh2::{CheckResult, HashType, KnownHostFileKind, Session};

use super::{
    Auth, CommandOutput, HostKeyPolicy, Options, SshError, Target, Transport, fingerprint,
};

/// A live SSH session to one device.
pub struct Ssh2Transport {
    session: Session,
    label: String,
    /// Where and how it connected: an upload over several streams opens more sessions alike.
    target: Target,
    options: Options,
}

fn err(label: &str, message: impl std::fmt::Display) -> SshError {
    SshError::Session {
        target: label.to_string(),
        message: message.to_string(),
    }
}

#[cfg(target_os = "linux")]
fn tcp_keepalive(tcp: &TcpStream, every: std::time::Duration) {
    use std::os::fd::AsRawFd;
    let fd = tcp.as_raw_fd();
    let secs = every.as_secs().clamp(1, 3600) as libc::c_int;
    let on: libc::c_int = 1;
    let set = |level, name, value: &libc::c_int| {
        // SAFETY: setsockopt on our own socket with a correctly sized int.
        unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                (value as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            )
        }
    };
    set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, &on);
    set(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, &secs);
    set(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, &secs);
}

#[cfg(not(target_os = "linux"))]
fn tcp_keepalive(_: &TcpStream, _: std::time::Duration) {}

/// The known_hosts host pattern for a target: `host` on port 22, `[host]:port` otherwise.
fn entry(t: &Target) -> String {
    if t.port == 22 {
        t.host.clone()
    } else {
        format!("[{}]:{}", t.host, t.port)
    }
}

/// Whether `t` accepts a TCP connection within `timeout` (the connection is closed at once).
pub fn accepts(t: &Target, timeout: std::time::Duration) -> bool {
    (t.host.as_str(), t.port)
        .to_socket_addrs()
        .ok()
        .and_then(|mut a| a.next())
        .is_some_and(|addr| TcpStream::connect_timeout(&addr, timeout).is_ok())
}

impl Ssh2Transport {
    /// Connects, checks the host key against the known_hosts file, authenticates.
    pub fn connect(t: &Target, o: &Options) -> Result<Ssh2Transport, SshError> {
        let label = format!("{}:{}", t.host, t.port);
        let connect = |message: String| SshError::Connect {
            target: label.clone(),
            message,
        };
        let addr = (t.host.as_str(), t.port)
            .to_socket_addrs()
            .map_err(|e| connect(e.to_string()))?
            .next()
            .ok_or_else(|| connect("no address".into()))?;
        let tcp = TcpStream::connect_timeout(&addr, o.connect_timeout)
            .map_err(|e| connect(e.to_string()))?;
        // Many small request/response exchanges: without TCP_NODELAY, Nagle and delayed ACKs
        // add tens of milliseconds to every command.
        tcp.set_nodelay(true).map_err(|e| connect(e.to_string()))?;
        // Keepalives at the TCP level: libssh2's own keepalive, in blocking mode, turns a quiet
        // command longer than the keepalive interval into "Timed out waiting on socket" (seen
        // under load in scripts/bench-rollout).
        tcp_keepalive(&tcp, o.keepalive);
        let mut session = Session::new().map_err(|e| connect(e.to_string()))?;
        session.set_timeout(o.connect_timeout.as_millis() as u32);
        session.set_tcp_stream(tcp);
        // AES-GCM first: with AES-NI it is faster than libssh2's default ChaCha20-Poly1305, which
        // matters for gigabyte images (scripts/bench-upload).
        for kind in [ssh2::MethodType::CryptCs, ssh2::MethodType::CryptSc] {
            session
                .method_pref(kind, "aes128-gcm@openssh.com,aes256-gcm@openssh.com,aes128-ctr,aes256-ctr,chacha20-poly1305@openssh.com")
                .map_err(|e| connect(format!("cipher preferences: {e}")))?;
        }
        session
            .handshake()
            .map_err(|e| connect(format!("handshake: {e}")))?;
        check_host_key(&session, t, o, &label)?;
        let auth = |message: String| SshError::Auth {
            target: label.clone(),
            user: t.user.clone(),
            message,
        };
        match &o.auth {
            Auth::KeyFile(key) => session
                .userauth_pubkey_file(&t.user, None, key, None)
                .map_err(|e| auth(format!("key {}: {e}", key.display())))?,
            Auth::Agent => session
                .userauth_agent(&t.user)
                .map_err(|e| auth(format!("ssh-agent: {e}")))?,
        }
        if !session.authenticated() {
            return Err(auth("not accepted".into()));
        }
        session.set_timeout(o.command_timeout.as_millis() as u32);
        Ok(Ssh2Transport {
            session,
            label,
            target: t.clone(),
            options: o.clone(),
        })
    }
}

fn check_host_key(session: &Session, t: &Target, o: &Options, label: &str) -> Result<(), SshError> {
    let (key, key_type) = session
        .host_key()
        .ok_or_else(|| err(label, "the server sent no host key"))?;
    let fp = fingerprint(session.host_key_hash(HashType::Sha256).unwrap_or_default());
    let mut known = session.known_hosts().map_err(|e| err(label, e))?;
    let path = &o.known_hosts;
    if path.exists() {
        known
            .read_file(path, KnownHostFileKind::OpenSSH)
            .map_err(|e| err(label, format!("{}: cannot read: {e}", path.display())))?;
    }
    let kt = format!("{key_type:?}");
    match known.check_port(&t.host, t.port, key) {
        CheckResult::Match => Ok(()),
        CheckResult::Mismatch => Err(SshError::ChangedHostKey {
            target: label.into(),
            fingerprint: fp,
            known_hosts: path.display().to_string(),
            entry: entry(t),
        }),
        CheckResult::NotFound if o.policy == HostKeyPolicy::AcceptNew => {
            known
                .add(&entry(t), key, "added by lbfleet", key_type.into())
                .map_err(|e| err(label, e))?;
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir).map_err(|e| err(label, e))?;
            }
            known
                .write_file(path, KnownHostFileKind::OpenSSH)
                .map_err(|e| err(label, format!("{}: cannot write: {e}", path.display())))?;
            eprintln!(
                "{label}: recorded host key {fp} ({kt}) in {}",
                path.display()
            );
            Ok(())
        }
        CheckResult::NotFound => Err(SshError::UnknownHostKey {
            target: label.into(),
            fingerprint: fp,
            key_type: kt,
            known_hosts: path.display().to_string(),
        }),
        CheckResult::Failure => Err(err(label, "checking the host key failed")),
    }
}

impl Transport for Ssh2Transport {
    fn exec(&mut self, command: &str) -> Result<CommandOutput, SshError> {
        let label = self.label.clone();
        let mut ch = self.session.channel_session().map_err(|e| err(&label, e))?;
        ch.exec(command)
            .map_err(|e| err(&label, format!("{command}: {e}")))?;
        let mut stdout = String::new();
        ch.read_to_string(&mut stdout)
            .map_err(|e| err(&label, format!("{command}: {e}")))?;
        let mut stderr = String::new();
        ch.stderr()
            .read_to_string(&mut stderr)
            .map_err(|e| err(&label, format!("{command}: {e}")))?;
        ch.wait_close().map_err(|e| err(&label, e))?;
        let status = ch.exit_status().map_err(|e| err(&label, e))?;
        Ok(CommandOutput {
            status,
            stdout,
            stderr,
        })
    }

    fn upload(
        &mut self,
        local: &Path,
        remote: &str,
        resume: bool,
        streams: usize,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, SshError> {
        let label = self.label.clone();
        let e = |m: String| err(&label, m);
        let total = std::fs::metadata(local)
            .map_err(|x| e(format!("{}: {x}", local.display())))?
            .len();
        if streams > 1 && total > PART {
            return self.upload_parts(local, remote, resume, streams, total, progress);
        }
        let mut src =
            std::fs::File::open(local).map_err(|x| e(format!("{}: {x}", local.display())))?;
        let sftp = self.session.sftp().map_err(|x| e(format!("sftp: {x}")))?;
        let rpath = Path::new(remote);
        // Continue a partial copy: keep what is there when it is not longer than the source.
        let have = if resume {
            sftp.stat(rpath)
                .ok()
                .and_then(|s| s.size)
                .filter(|&n| n <= total)
                .unwrap_or(0)
        } else {
            0
        };
        let mut dst = if have > 0 {
            let mut f = sftp
                .open_mode(rpath, ssh2::OpenFlags::WRITE, 0o644, ssh2::OpenType::File)
                .map_err(|x| e(format!("{remote}: {x}")))?;
            f.seek(std::io::SeekFrom::Start(have))
                .map_err(|x| e(x.to_string()))?;
            src.seek(std::io::SeekFrom::Start(have))
                .map_err(|x| e(x.to_string()))?;
            f
        } else {
            sftp.create(rpath)
                .map_err(|x| e(format!("{remote}: {x}")))?
        };
        let mut done = have;
        progress(done, total);
        let mut buf = vec![0u8; BLOCK];
        loop {
            let n = src.read(&mut buf).map_err(|x| e(x.to_string()))?;
            if n == 0 {
                break;
            }
            dst.write_all(&buf[..n])
                .map_err(|x| e(format!("{remote}: {x}")))?;
            done += n as u64;
            progress(done, total);
        }
        dst.fsync().ok();
        Ok(have)
    }

    fn download(&mut self, remote: &str, local: &Path) -> Result<(u64, u64), SshError> {
        self.fetch(remote, local)
    }
}

impl Ssh2Transport {
    /// [`Transport::download`] over SFTP.
    fn fetch(&mut self, remote: &str, local: &Path) -> Result<(u64, u64), SshError> {
        let label = self.label.clone();
        let e = |m: String| err(&label, m);
        let sftp = self.session.sftp().map_err(|x| e(format!("sftp: {x}")))?;
        let rpath = Path::new(remote);
        let listed = sftp
            .stat(rpath)
            .map_err(|x| e(format!("{remote}: {x}")))?
            .size
            .unwrap_or(0);
        let mut src = sftp.open(rpath).map_err(|x| e(format!("{remote}: {x}")))?;
        let mut dst =
            std::fs::File::create(local).map_err(|x| e(format!("{}: {x}", local.display())))?;
        let copied = std::io::copy(&mut src, &mut dst).map_err(|x| e(format!("{remote}: {x}")))?;
        dst.sync_all()
            .map_err(|x| e(format!("{}: {x}", local.display())))?;
        Ok((listed, copied))
    }
}

/// Bytes handed to one SFTP write: libssh2 pipelines a write's 30 000-byte requests, so this is
/// what one stream keeps in flight. Within the server's 2 MiB channel window: a write larger
/// than the window was seen to miss the server closing the channel (the lab's
/// drop-mid-upload) and wait out the whole command timeout.
const BLOCK: usize = 1 << 20;

/// Bytes per part of a multi-stream upload: the unit of work and of resuming.
const PART: u64 = 16 << 20;

impl Ssh2Transport {
    /// Uploads `local` over `streams` sessions at once (this one and `streams - 1` more, each
    /// authenticated and host-key checked as this one was), each writing whole parts at their
    /// own offsets. Finished parts are recorded beside the image (`.FILE.HOST_PORT.parts`), so
    /// an interrupted upload sends only the parts not recorded; the device's SHA-256 of the
    /// whole file is the final word. Returns the bytes kept from before.
    fn upload_parts(
        &mut self,
        local: &Path,
        remote: &str,
        resume: bool,
        streams: usize,
        total: u64,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, SshError> {
        use std::sync::Mutex;
        use std::sync::mpsc;
        let label = self.label.clone();
        let e = |m: String| err(&label, m);
        let parts = total.div_ceil(PART);
        let record = parts_file(local, &self.target);
        let header = format!("{remote} {total}\n");
        let rpath = Path::new(remote);
        let sftp = self.session.sftp().map_err(|x| e(format!("sftp: {x}")))?;
        // Parts recorded by an earlier attempt at this same file, while the device still has it.
        let mut done_parts: std::collections::BTreeSet<u64> = Default::default();
        let exists = sftp
            .stat(rpath)
            .ok()
            .and_then(|s| s.size)
            .is_some_and(|n| n <= total);
        if resume
            && exists
            && let Ok(text) = std::fs::read_to_string(&record)
            && let Some(rest) = text.strip_prefix(&header)
        {
            done_parts.extend(rest.lines().filter_map(|l| l.trim().parse::<u64>().ok()));
        }
        done_parts.retain(|&p| p < parts);
        if done_parts.is_empty() {
            sftp.create(rpath)
                .map_err(|x| e(format!("{remote}: {x}")))?;
            std::fs::write(&record, &header).ok();
        }
        // The first stream goes on with this session's SFTP channel; the others open their own.
        let main_sftp = Mutex::new(Some(sftp));
        let part_len = |p: u64| PART.min(total - p * PART);
        let have: u64 = done_parts.iter().map(|&p| part_len(p)).sum();
        let todo: Mutex<std::collections::VecDeque<u64>> =
            Mutex::new((0..parts).filter(|p| !done_parts.contains(p)).collect());
        let recorder = Mutex::new(std::fs::OpenOptions::new().append(true).open(&record).ok());
        let workers = streams.min(todo.lock().expect("parts").len()).max(1);
        let (tx, rx) = mpsc::channel::<Result<u64, String>>();
        let mut first_error: Option<String> = None;
        std::thread::scope(|scope| {
            for w in 0..workers {
                let tx = tx.clone();
                let (todo, recorder) = (&todo, &recorder);
                let main_sftp = &main_sftp;
                let (target, options) = (&self.target, &self.options);
                scope.spawn(move || {
                    let run = || -> Result<(), String> {
                        let mine = if w == 0 {
                            main_sftp.lock().expect("sftp").take()
                        } else {
                            None
                        };
                        // Kept alive while its SFTP channel is in use.
                        let _extra;
                        let sftp = match mine {
                            Some(s) => s,
                            None => {
                                // A stream the server does not accept (sshd's MaxStartups
                                // drops some of many connections at once) leaves its parts
                                // to the others.
                                let Ok(t) = Ssh2Transport::connect(target, options) else {
                                    return Ok(());
                                };
                                let s = t.session.sftp().map_err(|x| format!("sftp: {x}"))?;
                                _extra = t;
                                s
                            }
                        };
                        let mut dst = sftp
                            .open_mode(rpath, ssh2::OpenFlags::WRITE, 0o644, ssh2::OpenType::File)
                            .map_err(|x| format!("{remote}: {x}"))?;
                        let mut src = std::fs::File::open(local)
                            .map_err(|x| format!("{}: {x}", local.display()))?;
                        let mut buf = vec![0u8; BLOCK];
                        loop {
                            let Some(p) = todo.lock().expect("parts").pop_front() else {
                                return Ok(());
                            };
                            let start = p * PART;
                            src.seek(std::io::SeekFrom::Start(start))
                                .map_err(|x| x.to_string())?;
                            dst.seek(std::io::SeekFrom::Start(start))
                                .map_err(|x| x.to_string())?;
                            let mut left = part_len(p);
                            while left > 0 {
                                let n = (left as usize).min(BLOCK);
                                src.read_exact(&mut buf[..n]).map_err(|x| x.to_string())?;
                                dst.write_all(&buf[..n])
                                    .map_err(|x| format!("{remote}: {x}"))?;
                                left -= n as u64;
                                if tx.send(Ok(n as u64)).is_err() {
                                    return Ok(());
                                }
                            }
                            // The part is on the device: record it for a later resume.
                            if let Some(f) = recorder.lock().expect("record").as_mut() {
                                let _ = writeln!(f, "{p}").and_then(|()| f.sync_data());
                            }
                        }
                    };
                    if let Err(m) = run() {
                        let _ = tx.send(Err(m));
                    }
                });
            }
            drop(tx);
            let mut done = have;
            progress(done, total);
            for msg in rx {
                match msg {
                    Ok(n) => {
                        done += n;
                        progress(done, total);
                    }
                    // One stream failing does not stop the others: every part they finish is
                    // recorded, and the next attempt sends only what is left.
                    Err(m) => {
                        first_error.get_or_insert(m);
                    }
                }
            }
        });
        if let Some(m) = first_error {
            return Err(e(m));
        }
        std::fs::remove_file(&record).ok();
        Ok(have)
    }
}

/// Where a multi-stream upload records its finished parts: beside the image, one file per
/// device address.
fn parts_file(local: &Path, t: &Target) -> std::path::PathBuf {
    let name = local
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    local.with_file_name(format!(".{name}.{}_{}.parts", t.host, t.port))
}
