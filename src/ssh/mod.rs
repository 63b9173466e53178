//! SSH to load balancers, behind a small trait: run a command, upload a file. Host keys are
//! checked against an OpenSSH `known_hosts` file, strictly by default: an unknown key stops
//! with its SHA-256 fingerprint and how to accept it, a changed key is refused. Everything
//! specific to the `ssh2` crate lives in [`session`].

mod session;

use std::path::{Path, PathBuf};
use std::time::Duration;

pub use session::{Ssh2Transport, accepts};

/// Where to connect.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Target {
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// Login user.
    pub user: String,
}

/// How to authenticate.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    /// A private key file (`--identity`).
    KeyFile(PathBuf),
    /// The running ssh-agent.
    Agent,
}

/// What to do with a host key the known_hosts file does not have.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HostKeyPolicy {
    /// Refuse it (the default).
    Strict,
    /// Record it and go on (`--accept-new-host-keys`); a changed key is still refused.
    AcceptNew,
}

/// Connection settings.
#[derive(Clone, Debug)]
pub struct Options {
    /// Authentication.
    pub auth: Auth,
    /// The OpenSSH known_hosts file.
    pub known_hosts: PathBuf,
    /// Unknown host keys.
    pub policy: HostKeyPolicy,
    /// TCP connect and handshake.
    pub connect_timeout: Duration,
    /// Any one command or transfer step without progress.
    pub command_timeout: Duration,
    /// Keepalive interval sent to the server.
    pub keepalive: Duration,
}

impl Options {
    /// Defaults: strict host keys, 10 s to connect, 10 min per command, keepalive every 15 s.
    pub fn new(auth: Auth, known_hosts: PathBuf) -> Options {
        Options {
            auth,
            known_hosts,
            policy: HostKeyPolicy::Strict,
            connect_timeout: Duration::from_secs(10),
            command_timeout: Duration::from_secs(600),
            keepalive: Duration::from_secs(15),
        }
    }
}

/// A command's result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CommandOutput {
    /// Exit status.
    pub status: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

/// What can go wrong, typed so the rollout engine can decide and journal.
#[derive(Debug, thiserror::Error)]
pub enum SshError {
    /// TCP or handshake failure (the device may be down or rebooting).
    #[error("{target}: cannot connect: {message}")]
    Connect {
        /// host:port.
        target: String,
        /// Why.
        message: String,
    },
    /// The host key is not in known_hosts.
    #[error(
        "{target}: unknown host key {fingerprint} ({key_type}). Check it against the device, then add it with --accept-new-host-keys (records it in {known_hosts})"
    )]
    UnknownHostKey {
        /// host:port.
        target: String,
        /// `SHA256:…`.
        fingerprint: String,
        /// Key type.
        key_type: String,
        /// The file it would go to.
        known_hosts: String,
    },
    /// The host key differs from the one recorded.
    #[error(
        "{target}: HOST KEY CHANGED: the device now presents {fingerprint}, not the key recorded in {known_hosts}. Refusing to connect; if the change is expected (device replaced or reinstalled), remove the old entry (ssh-keygen -R '{entry}' -f {known_hosts})"
    )]
    ChangedHostKey {
        /// host:port.
        target: String,
        /// `SHA256:…` of the new key.
        fingerprint: String,
        /// The file.
        known_hosts: String,
        /// The known_hosts host pattern.
        entry: String,
    },
    /// Authentication failed.
    #[error("{target}: authentication failed for {user}: {message}")]
    Auth {
        /// host:port.
        target: String,
        /// User.
        user: String,
        /// Why.
        message: String,
    },
    /// Anything else on an established session (channel, transfer, timeout).
    #[error("{target}: {message}")]
    Session {
        /// host:port.
        target: String,
        /// What happened.
        message: String,
    },
}

/// A connection to one device.
pub trait Transport {
    /// Runs a command (already validated by the driver) and waits for it to finish.
    fn exec(&mut self, command: &str) -> Result<CommandOutput, SshError>;
    /// Uploads `local` to `remote` over up to `streams` connections at once; with `resume`,
    /// what an earlier attempt left there is continued rather than rewritten. Returns the
    /// bytes kept from before; `progress(done, total)` after every block.
    fn upload(
        &mut self,
        local: &Path,
        remote: &str,
        resume: bool,
        streams: usize,
        progress: &mut dyn FnMut(u64, u64),
    ) -> Result<u64, SshError>;

    /// Copies the device's file `remote` to `local` (created or truncated). Returns the size
    /// the device lists for the file and the bytes copied; a copy cut short shows as the two
    /// differing.
    fn download(&mut self, remote: &str, local: &Path) -> Result<(u64, u64), SshError> {
        let _ = local;
        Err(SshError::Session {
            target: String::new(),
            message: format!("{remote}: this transport cannot copy files from the device"),
        })
    }
}

/// `SHA256:` and unpadded base64, as OpenSSH prints fingerprints.
pub fn fingerprint(sha256: &[u8]) -> String {
    const A: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::from("SHA256:");
    for chunk in sha256.chunks(3) {
        let b = [
            chunk[0],
            *chunk.get(1).unwrap_or(&0),
            *chunk.get(2).unwrap_or(&0),
        ];
        let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
        for k in 0..=chunk.len() {
            out.push(A[(n >> (18 - 6 * k) & 63) as usize] as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    #[test]
    fn fingerprints_match_openssh() {
        // base64 of bytes 0..32 without padding, as `ssh-keygen -l` prints a SHA-256.
        let bytes: Vec<u8> = (0u8..32).collect();
        assert_eq!(
            super::fingerprint(&bytes),
            "SHA256:AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8"
        );
    }
}
