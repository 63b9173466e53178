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
        Ok(Ssh2Transport { session, label })
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
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, SshError> {
        let label = self.label.clone();
        let e = |m: String| err(&label, m);
        let mut src =
            std::fs::File::open(local).map_err(|x| e(format!("{}: {x}", local.display())))?;
        let total = src.metadata().map_err(|x| e(x.to_string()))?.len();
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
        let mut buf = vec![0u8; 1024 * 1024];
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
}
