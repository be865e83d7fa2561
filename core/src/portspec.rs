//! Port specs as people write them: `80`, `80/TCP`, `53/udp`, `132/SCTP`, `http`,
//! `serve-80-tcp/TCP`.
//!
//! Why one type in the core: the CLI's `--port`, `netpol test` expectations, the playground's
//! port chooser and the conformance cases all name a port the same way, and a port name must
//! follow the same rule (Kubernetes' `IANA_SVC_NAME`, [`crate::syntax`]'s `port_name`) as a
//! named port in a manifest. Front-ends parse with [`str::parse`] and never split the text
//! themselves.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::model::{Endpoint, Model, PortRef, Protocol};
use crate::syntax::names;

/// A port (number or container port name) and its protocol.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct PortSpec {
    /// Number, or container port name (resolved on each destination pod).
    pub port: PortRef,
    /// Protocol; TCP when the spec does not name one, as in Kubernetes.
    pub protocol: Protocol,
}

/// Why a port spec was refused. The message names the offending text and says what to write.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum PortSpecError {
    /// Nothing (or only blanks) was given.
    #[error("the port spec is empty; write a port number or name, e.g. 80, 53/UDP or http/TCP")]
    Empty,
    /// `/TCP`: a protocol but no port.
    #[error("port spec `{spec}` has no port before `/`; write e.g. 80/TCP or http/TCP")]
    MissingPort {
        /// The whole spec as given.
        spec: String,
    },
    /// `80/ICMP`, `80/`.
    #[error(
        "unknown protocol `{protocol}` in port spec `{spec}`; use TCP, UDP or SCTP, e.g. 53/UDP"
    )]
    UnknownProtocol {
        /// The whole spec as given.
        spec: String,
        /// The text after `/`.
        protocol: String,
    },
    /// `0`, `65536`.
    #[error("port {port} in port spec `{spec}` is out of range; use a number from 1 to 65535")]
    OutOfRange {
        /// The whole spec as given.
        spec: String,
        /// The digits as written.
        port: String,
    },
    /// `HTTP`, `a b`, `-web`, `much-too-long-name`.
    #[error("port name `{name}` in port spec `{spec}` {reason}; use a port number, or a container port name of at most 15 lower-case letters, digits and `-` with at least one letter")]
    InvalidName {
        /// The whole spec as given.
        spec: String,
        /// The text before `/`.
        name: String,
        /// What is wrong with it, e.g. "contains `A` (only lower-case letters, ...)".
        reason: String,
    },
}

impl PortSpec {
    /// A spec for `port` and `protocol`.
    pub fn new(port: PortRef, protocol: Protocol) -> PortSpec {
        PortSpec { port, protocol }
    }

    /// The port numbers this spec stands for towards `dst`: a number as written; a name,
    /// every number of the destination pod's container ports with that name and protocol
    /// ([`crate::Pod::named_ports`], the named-port rule: a probe by name is allowed when
    /// any of them is). None when the pod lacks the name or is on the host network, and for
    /// any name towards an address outside the cluster (addresses have no named ports).
    pub fn numbers(&self, model: &Model, dst: Endpoint) -> Vec<u16> {
        match (&self.port, dst) {
            (PortRef::Number(n), _) => vec![*n],
            (PortRef::Name(name), Endpoint::Pod(i)) => {
                model.cluster.pods.get(i).map_or_else(Vec::new, |pod| {
                    pod.named_ports(name, self.protocol).collect()
                })
            }
            (PortRef::Name(_), Endpoint::Address(_)) => Vec::new(),
        }
    }
}

impl FromStr for PortSpec {
    type Err = PortSpecError;

    /// `PORT[/PROTOCOL]`: PORT is 1-65535 or a port name, PROTOCOL is TCP, UDP or SCTP in
    /// any case (TCP when absent). Blanks around the whole spec are ignored.
    fn from_str(text: &str) -> Result<PortSpec, PortSpecError> {
        let spec = text.trim();
        if spec.is_empty() {
            return Err(PortSpecError::Empty);
        }
        let (port, protocol) = match spec.split_once('/') {
            Some((port, protocol)) => (port, protocol_of(spec, protocol)?),
            None => (spec, Protocol::TCP),
        };
        if port.is_empty() {
            return Err(PortSpecError::MissingPort { spec: spec.into() });
        }
        Ok(PortSpec {
            port: port_of(spec, port)?,
            protocol,
        })
    }
}

fn protocol_of(spec: &str, text: &str) -> Result<Protocol, PortSpecError> {
    Protocol::parse(text).ok_or_else(|| PortSpecError::UnknownProtocol {
        spec: spec.into(),
        protocol: text.into(),
    })
}

/// Digits are a number (and must be in range); anything else must be a valid port name.
fn port_of(spec: &str, text: &str) -> Result<PortRef, PortSpecError> {
    if text.bytes().all(|b| b.is_ascii_digit()) {
        return match text.parse::<u16>() {
            Ok(n) if n > 0 => Ok(PortRef::Number(n)),
            _ => Err(PortSpecError::OutOfRange {
                spec: spec.into(),
                port: text.into(),
            }),
        };
    }
    match names::port_name(text) {
        Ok(()) => Ok(PortRef::Name(text.into())),
        Err(reason) => Err(PortSpecError::InvalidName {
            spec: spec.into(),
            name: text.into(),
            reason,
        }),
    }
}

impl fmt::Display for PortSpec {
    /// `80/TCP`, `http/TCP`: always with the protocol, so the text parses back to the same
    /// spec.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.port, self.protocol)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn name(s: &str) -> PortRef {
        PortRef::Name(s.into())
    }

    #[test]
    fn accepted_forms() {
        let table: &[(&str, PortRef, Protocol, &str)] = &[
            ("80", PortRef::Number(80), Protocol::TCP, "80/TCP"),
            ("80/TCP", PortRef::Number(80), Protocol::TCP, "80/TCP"),
            ("53/udp", PortRef::Number(53), Protocol::UDP, "53/UDP"),
            ("53/UDP", PortRef::Number(53), Protocol::UDP, "53/UDP"),
            ("132/SCTP", PortRef::Number(132), Protocol::SCTP, "132/SCTP"),
            ("65535", PortRef::Number(65535), Protocol::TCP, "65535/TCP"),
            ("1/Tcp", PortRef::Number(1), Protocol::TCP, "1/TCP"),
            ("http", name("http"), Protocol::TCP, "http/TCP"),
            ("dns/UDP", name("dns"), Protocol::UDP, "dns/UDP"),
            (
                "serve-80-tcp/TCP",
                name("serve-80-tcp"),
                Protocol::TCP,
                "serve-80-tcp/TCP",
            ),
            ("h2c", name("h2c"), Protocol::TCP, "h2c/TCP"),
            (" 443/TCP ", PortRef::Number(443), Protocol::TCP, "443/TCP"),
        ];
        for (text, port, protocol, shown) in table {
            let spec: PortSpec = text.parse().unwrap_or_else(|e| panic!("{text:?}: {e}"));
            assert_eq!(spec, PortSpec::new(port.clone(), *protocol), "{text:?}");
            assert_eq!(spec.to_string(), *shown, "{text:?}");
            assert_eq!(shown.parse::<PortSpec>().as_ref(), Ok(&spec), "round trip");
        }
    }

    #[test]
    fn rejected_forms_say_what_and_how() {
        let table: &[(&str, &str)] = &[
            ("", "the port spec is empty; write a port number or name, e.g. 80, 53/UDP or http/TCP"),
            ("  ", "the port spec is empty; write a port number or name, e.g. 80, 53/UDP or http/TCP"),
            ("/TCP", "port spec `/TCP` has no port before `/`; write e.g. 80/TCP or http/TCP"),
            ("80/ICMP", "unknown protocol `ICMP` in port spec `80/ICMP`; use TCP, UDP or SCTP, e.g. 53/UDP"),
            ("80/", "unknown protocol `` in port spec `80/`; use TCP, UDP or SCTP, e.g. 53/UDP"),
            ("80/TCP/UDP", "unknown protocol `TCP/UDP` in port spec `80/TCP/UDP`; use TCP, UDP or SCTP, e.g. 53/UDP"),
            ("0", "port 0 in port spec `0` is out of range; use a number from 1 to 65535"),
            ("65536/UDP", "port 65536 in port spec `65536/UDP` is out of range; use a number from 1 to 65535"),
            ("99999999999999999999", "port 99999999999999999999 in port spec `99999999999999999999` is out of range; use a number from 1 to 65535"),
            ("HTTP", "port name `HTTP` in port spec `HTTP` contains `H` (only lower-case letters, digits and `-` are allowed); use a port number, or a container port name of at most 15 lower-case letters, digits and `-` with at least one letter"),
            ("a b", "port name `a b` in port spec `a b` contains ` ` (only lower-case letters, digits and `-` are allowed); use a port number, or a container port name of at most 15 lower-case letters, digits and `-` with at least one letter"),
            ("much-too-long-name", "port name `much-too-long-name` in port spec `much-too-long-name` is 18 characters long (at most 15); use a port number, or a container port name of at most 15 lower-case letters, digits and `-` with at least one letter"),
            ("-web", "port name `-web` in port spec `-web` must not start or end with `-` or contain `--`; use a port number, or a container port name of at most 15 lower-case letters, digits and `-` with at least one letter"),
            ("a--b/TCP", "port name `a--b` in port spec `a--b/TCP` must not start or end with `-` or contain `--`; use a port number, or a container port name of at most 15 lower-case letters, digits and `-` with at least one letter"),
            ("-1", "port name `-1` in port spec `-1` must contain at least one letter; use a port number, or a container port name of at most 15 lower-case letters, digits and `-` with at least one letter"),
            ("8-0", "port name `8-0` in port spec `8-0` must contain at least one letter; use a port number, or a container port name of at most 15 lower-case letters, digits and `-` with at least one letter"),
        ];
        for (text, message) in table {
            match text.parse::<PortSpec>() {
                Ok(spec) => panic!("{text:?} was accepted as {spec}"),
                Err(e) => assert_eq!(e.to_string(), *message, "{text:?}"),
            }
        }
    }

    #[test]
    fn names_resolve_on_the_destination_pod_only() {
        let model = crate::load(&[(
            crate::FileId(0),
            "pod x/a app=a ip=10.0.0.1 ports=http:8080,dns:53/UDP\n",
        )]);
        let dst = Endpoint::Pod(0);
        let address = Endpoint::Address("10.0.0.1".parse().expect("an IP"));
        let resolve = |text: &str, at: Endpoint| {
            let spec: PortSpec = text.parse().expect("valid spec");
            spec.numbers(&model, at)
        };
        assert_eq!(resolve("http", dst), [8080]);
        assert_eq!(resolve("dns/UDP", dst), [53]);
        assert!(
            resolve("dns/TCP", dst).is_empty(),
            "same name, other protocol"
        );
        assert!(resolve("metrics", dst).is_empty());
        assert!(resolve("http", address).is_empty());
        assert_eq!(resolve("443", address), [443]);
        assert!(resolve("http", Endpoint::Pod(7)).is_empty(), "no such pod");
    }
}
