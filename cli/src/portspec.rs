//! `--port SPEC`: `80`, `80/TCP`, `53/UDP`, `132/SCTP`, `http`, `serve-80-tcp/TCP`.

use std::fmt;
use std::str::FromStr;

use netpol_core::{PortRef, Protocol};

/// A probe: a port number or container port name, and a protocol (TCP when not given).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PortSpec {
    /// Number or name.
    pub port: PortRef,
    /// Protocol.
    pub protocol: Protocol,
}

impl Default for PortSpec {
    /// `80/TCP`, what the Kubernetes e2e suite probes first.
    fn default() -> Self {
        PortSpec {
            port: PortRef::Number(80),
            protocol: Protocol::TCP,
        }
    }
}

impl FromStr for PortSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<PortSpec, String> {
        let (port, protocol) = match s.rsplit_once('/') {
            Some((port, proto)) => {
                let protocol = Protocol::parse(proto).ok_or_else(|| {
                    format!("unknown protocol {proto:?}; use TCP, UDP or SCTP (e.g. 53/UDP)")
                })?;
                (port, protocol)
            }
            None => (s, Protocol::TCP),
        };
        if port.is_empty() {
            return Err(format!(
                "{s:?} has no port; use e.g. 80, 53/UDP or http/TCP"
            ));
        }
        let port = if port.bytes().all(|b| b.is_ascii_digit()) {
            match port.parse::<u16>() {
                Ok(n) if n > 0 => PortRef::Number(n),
                _ => return Err(format!("port {port} is out of range; use 1 to 65535")),
            }
        } else if port.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
            // Container port names are IANA service names: letters, digits and dashes.
            PortRef::Name(port.to_string())
        } else {
            return Err(format!(
                "{port:?} is neither a port number nor a port name (letters, digits and dashes)"
            ));
        };
        Ok(PortSpec { port, protocol })
    }
}

impl fmt::Display for PortSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.port, self.protocol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_documented_form() {
        let table: &[(&str, PortRef, Protocol)] = &[
            ("80", PortRef::Number(80), Protocol::TCP),
            ("80/TCP", PortRef::Number(80), Protocol::TCP),
            ("53/UDP", PortRef::Number(53), Protocol::UDP),
            ("53/udp", PortRef::Number(53), Protocol::UDP),
            ("132/SCTP", PortRef::Number(132), Protocol::SCTP),
            ("http", PortRef::Name("http".into()), Protocol::TCP),
            (
                "serve-80-tcp/TCP",
                PortRef::Name("serve-80-tcp".into()),
                Protocol::TCP,
            ),
        ];
        for (text, port, protocol) in table {
            let spec: PortSpec = text.parse().unwrap();
            assert_eq!((&spec.port, spec.protocol), (port, *protocol), "{text}");
        }
    }

    #[test]
    fn rejects_bad_specs() {
        for bad in ["", "/TCP", "0", "65536", "80/ICMP", "a b", "80/"] {
            assert!(
                bad.parse::<PortSpec>().is_err(),
                "{bad:?} should be rejected"
            );
        }
    }
}
