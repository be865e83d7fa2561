//! The port/protocol chooser's value: one concrete probe, or "any port".

use std::collections::BTreeSet;

use netpol_core::{Model, PortRef, PortSpec, Protocol};

/// What the graph and the matrix show connectivity for.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Probe {
    /// A pair is connected when any port of any protocol is allowed; edges carry port labels.
    Any,
    /// One protocol and port (number, or a container port name resolved per destination).
    Port(Protocol, PortRef),
}

impl Probe {
    /// The `<option value>` form: `any`, `TCP:80`, `UDP:53`, `TCP:http`.
    pub fn key(&self) -> String {
        match self {
            Probe::Any => "any".to_string(),
            Probe::Port(p, port) => format!("{p}:{port}"),
        }
    }

    /// Inverse of [`Probe::key`]; unknown text gives `None`. The port and protocol are read
    /// by the core's [`PortSpec`] (its port-name rule, its protocols), so the chooser accepts
    /// exactly what `netpol --port` accepts.
    pub fn parse(key: &str) -> Option<Probe> {
        if key == "any" {
            return Some(Probe::Any);
        }
        let (protocol, port) = key.split_once(':')?;
        let spec: PortSpec = format!("{port}/{protocol}").parse().ok()?;
        Some(Probe::Port(spec.protocol, spec.port))
    }

    /// What the chooser shows.
    pub fn label(&self) -> String {
        match self {
            Probe::Any => "any port".to_string(),
            Probe::Port(p, PortRef::Number(n)) => format!("{n}/{p}"),
            Probe::Port(p, PortRef::Name(s)) => format!("{s} (named)/{p}"),
        }
    }
}

/// The chooser's options for `model`: "any port", then every port the policies mention and
/// every container port (numbers and names), sorted; `current` is kept even if unmentioned.
pub fn options(model: &Model, current: &Probe) -> Vec<Probe> {
    let mut set: BTreeSet<Probe> = BTreeSet::new();
    for policy in &model.policies {
        for rule in policy.ingress.iter().chain(&policy.egress) {
            for port in &rule.ports {
                if let Some(p) = &port.port {
                    set.insert(Probe::Port(port.protocol, p.clone()));
                }
            }
        }
    }
    for pod in &model.cluster.pods {
        for cp in &pod.ports {
            set.insert(Probe::Port(cp.protocol, PortRef::Number(cp.port)));
        }
    }
    if set.len() > 200 {
        // Huge inputs: keep the menu usable; the current choice is re-added below.
        set = set.into_iter().take(200).collect();
    }
    if *current != Probe::Any {
        set.insert(current.clone());
    }
    let mut out = vec![Probe::Any];
    // Numbers first, in numeric order, then names.
    let (mut numbers, names): (Vec<Probe>, Vec<Probe>) = set
        .into_iter()
        .partition(|p| matches!(p, Probe::Port(_, PortRef::Number(_))));
    numbers.sort_by_key(|p| match p {
        Probe::Port(proto, PortRef::Number(n)) => (*n, *proto),
        _ => (0, Protocol::TCP),
    });
    out.extend(numbers);
    out.extend(names);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_round_trips() {
        for p in [
            Probe::Any,
            Probe::Port(Protocol::TCP, PortRef::Number(80)),
            Probe::Port(Protocol::UDP, PortRef::Number(53)),
            Probe::Port(Protocol::SCTP, PortRef::Name("http-alt".into())),
        ] {
            assert_eq!(Probe::parse(&p.key()), Some(p.clone()));
        }
        for bad in [
            "",
            "TCP",
            "TCP:",
            "TCP:0",
            "FOO:80",
            "TCP:a b",
            "TCP:99999",
            "TCP:HTTP",
            "TCP:much-too-long-name",
        ] {
            assert_eq!(Probe::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn options_keep_current_and_sort_numbers() {
        let model = Model::default();
        let current = Probe::Port(Protocol::TCP, PortRef::Number(8080));
        let opts = options(&model, &current);
        assert_eq!(opts, vec![Probe::Any, current]);
    }
}
