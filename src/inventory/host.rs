//! Management addresses: a plain hostname or IP address with an optional port. Anything else
//! (spaces, shell metacharacters, user@, paths) is rejected before it can reach a connection.

use std::fmt;
use std::net::{Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

/// The default SSH port.
pub const DEFAULT_PORT: u16 = 22;

/// A validated management address.
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct MgmtHost {
    /// Hostname (lower-cased) or IP address literal, without brackets.
    pub host: String,
    /// Port, when given.
    pub port: Option<u16>,
}

impl MgmtHost {
    /// The port to connect to.
    pub fn port_or_default(&self) -> u16 {
        self.port.unwrap_or(DEFAULT_PORT)
    }

    /// The identity used to detect duplicates: host and effective port.
    pub fn key(&self) -> (String, u16) {
        (self.host.clone(), self.port_or_default())
    }
}

impl fmt::Display for MgmtHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let v6 = self.host.contains(':');
        match (self.port, v6) {
            (Some(p), true) => write!(f, "[{}]:{p}", self.host),
            (Some(p), false) => write!(f, "{}:{p}", self.host),
            (None, _) => f.write_str(&self.host),
        }
    }
}

impl FromStr for MgmtHost {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.is_empty() {
            return Err("empty".into());
        }
        if let Some(bad) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || ".-:[]".contains(*c)))
        {
            return Err(format!(
                "\"{s}\" contains {bad:?}: a hostname or IP address with an optional :port is expected"
            ));
        }
        // [v6] or [v6]:port
        if let Some(rest) = s.strip_prefix('[') {
            let (addr, after) = rest
                .split_once(']')
                .ok_or_else(|| format!("\"{s}\": missing ]"))?;
            let ip: Ipv6Addr = addr
                .parse()
                .map_err(|_| format!("\"{addr}\" is not an IPv6 address"))?;
            let port = match after {
                "" => None,
                p => {
                    Some(port(p.strip_prefix(':').ok_or_else(|| {
                        format!("\"{s}\": expected :port after ]")
                    })?)?)
                }
            };
            return Ok(MgmtHost {
                host: ip.to_string(),
                port,
            });
        }
        if s.matches(':').count() > 1 {
            let ip: Ipv6Addr = s.parse().map_err(|_| {
                format!("\"{s}\" is not an IPv6 address (write [addr]:port to add a port)")
            })?;
            return Ok(MgmtHost {
                host: ip.to_string(),
                port: None,
            });
        }
        let (host, port) = match s.split_once(':') {
            Some((h, p)) => (h, Some(port(p)?)),
            None => (s, None),
        };
        if host.contains(['[', ']']) {
            return Err(format!("\"{s}\": brackets only around an IPv6 address"));
        }
        let looks_ipv4 = host.bytes().all(|b| b.is_ascii_digit() || b == b'.');
        if looks_ipv4 {
            let ip: Ipv4Addr = host
                .parse()
                .map_err(|_| format!("\"{host}\" is not an IPv4 address"))?;
            return Ok(MgmtHost {
                host: ip.to_string(),
                port,
            });
        }
        hostname(host)?;
        Ok(MgmtHost {
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

fn port(p: &str) -> Result<u16, String> {
    match p.parse::<u16>() {
        Ok(n) if n > 0 && p.bytes().all(|b| b.is_ascii_digit()) => Ok(n),
        _ => Err(format!("\"{p}\" is not a port (1-65535)")),
    }
}

/// RFC 1123 hostname: dot-separated labels of letters, digits and inner hyphens.
fn hostname(h: &str) -> Result<(), String> {
    if h.len() > 253 {
        return Err(format!("hostname \"{h}\" is longer than 253 characters"));
    }
    for label in h.split('.') {
        let ok = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-');
        if !ok {
            return Err(format!(
                "\"{h}\" is not a valid hostname (label \"{label}\")"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_hosts_and_addresses() {
        for (input, shown) in [
            ("lb01.dc1.example.net", "lb01.dc1.example.net"),
            ("LB01", "lb01"),
            ("10.1.2.3", "10.1.2.3"),
            ("127.0.3.4:2222", "127.0.3.4:2222"),
            ("[::1]:2222", "[::1]:2222"),
            ("fe80::1", "fe80::1"),
        ] {
            let h: MgmtHost = input.parse().unwrap_or_else(|e| panic!("{input}: {e}"));
            assert_eq!(h.to_string(), shown);
        }
    }

    #[test]
    fn rejects_anything_a_shell_could_interpret() {
        for bad in [
            "lb01;reboot",
            "$(id)",
            "`id`",
            "lb01 && id",
            "root@lb01",
            "lb01:0",
            "lb01:99999",
            "999.1.1.1",
            "-oProxyCommand=id",
            "lb_01",
            "lb01..x",
            "[::1",
            "::1:22:zz",
            "",
        ] {
            assert!(bad.parse::<MgmtHost>().is_err(), "{bad} accepted");
        }
    }
}
