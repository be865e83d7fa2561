//! `netpol convert`: AdminNetworkPolicy and BaselineAdminNetworkPolicy rewritten as
//! ClusterNetworkPolicy YAML. The core decides what each object becomes
//! ([`netpol_core::convert::convert`], with notes where the rewrite is not word for word);
//! this module only writes it: deterministic, valid for `kubectl apply`, every string
//! quoted, notes as `# netpol convert:` comments above what they are about.

use std::fmt::Write as _;
use std::io::Write;

use netpol_core::convert::{convert, Converted, NotePlace};
use netpol_core::{
    ClusterPeerKind, ClusterPolicyKind, ClusterPolicyPeer, ClusterPolicyPort, ClusterPolicyRule,
    ClusterPort, ClusterSubject, LabelSelector, Operator, PolicyType, Protocol,
};

use crate::input::Inputs;
use crate::Failure;

/// Writes every converted object, `---` between them.
pub fn run(inputs: &Inputs, out: &mut dyn Write) -> Result<(), Failure> {
    let converted = convert(&inputs.model);
    if converted.is_empty() {
        writeln!(
            out,
            "# netpol convert: the input has no AdminNetworkPolicy or BaselineAdminNetworkPolicy"
        )?;
        return Ok(());
    }
    let mut text = String::new();
    for (i, c) in converted.iter().enumerate() {
        if i > 0 {
            text.push_str("---\n");
        }
        document(&mut text, inputs, c);
    }
    out.write_all(text.as_bytes())?;
    Ok(())
}

/// A string as a YAML double-quoted scalar (JSON's escaping is valid YAML).
fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

fn comment(text: &mut String, indent: &str, note: &str) {
    let _ = writeln!(text, "{indent}# netpol convert: {note}");
}

fn document(text: &mut String, inputs: &Inputs, c: &Converted) {
    let place = inputs
        .source(c.span.file)
        .map(|s| format!("{}:{}", s.name, c.span.line))
        .unwrap_or_else(|| format!("line {}", c.span.line));
    comment(
        text,
        "",
        &format!("{} {} ({place})", c.from.0.as_str(), c.from.1),
    );
    for note in c.notes.iter().filter(|n| n.place == NotePlace::Policy) {
        comment(text, "", &note.text);
    }
    let p = &c.policy;
    let _ = writeln!(text, "apiVersion: {}", p.api_version);
    let _ = writeln!(text, "kind: ClusterNetworkPolicy");
    let _ = writeln!(text, "metadata:\n  name: {}", quote(&p.name));
    let _ = writeln!(text, "spec:\n  tier: {}", p.tier.as_str());
    let _ = writeln!(text, "  priority: {}", p.priority.unwrap_or_default());
    let _ = writeln!(text, "  subject:");
    subject(text, &p.subject);
    for (direction, rules) in [
        (PolicyType::Ingress, &p.ingress),
        (PolicyType::Egress, &p.egress),
    ] {
        if rules.is_empty() {
            continue;
        }
        let key = match direction {
            PolicyType::Ingress => "ingress",
            PolicyType::Egress => "egress",
        };
        let _ = writeln!(text, "  {key}:");
        for (i, r) in rules.iter().enumerate() {
            for note in c
                .notes
                .iter()
                .filter(|n| n.place == NotePlace::Rule(direction, i))
            {
                comment(text, "  ", &note.text);
            }
            rule(text, r, direction);
        }
    }
}

fn subject(text: &mut String, subject: &ClusterSubject) {
    match subject {
        ClusterSubject::Namespaces(s) => selector(text, "    ", "namespaces", s),
        ClusterSubject::Pods {
            namespace_selector,
            pod_selector,
        } => {
            let _ = writeln!(text, "    pods:");
            selector(text, "      ", "namespaceSelector", namespace_selector);
            selector(text, "      ", "podSelector", pod_selector);
        }
    }
}

/// `key: {}` or `key:` with `matchLabels` and `matchExpressions` below.
fn selector(text: &mut String, indent: &str, key: &str, s: &LabelSelector) {
    selector_at(text, indent, indent, key, s);
}

/// [`selector`] whose first line starts with `first` (a list item's `- `) and whose other
/// lines with `indent`.
fn selector_at(text: &mut String, first: &str, indent: &str, key: &str, s: &LabelSelector) {
    if s.is_empty() {
        let _ = writeln!(text, "{first}{key}: {{}}");
        return;
    }
    let _ = writeln!(text, "{first}{key}:");
    if !s.match_labels.is_empty() {
        let _ = writeln!(text, "{indent}  matchLabels:");
        for (k, v) in &s.match_labels {
            let _ = writeln!(text, "{indent}    {}: {}", quote(k), quote(v));
        }
    }
    if !s.match_expressions.is_empty() {
        let _ = writeln!(text, "{indent}  matchExpressions:");
        for r in &s.match_expressions {
            let operator = match r.operator {
                Operator::In => "In",
                Operator::NotIn => "NotIn",
                Operator::Exists => "Exists",
                Operator::DoesNotExist => "DoesNotExist",
            };
            let _ = writeln!(text, "{indent}  - key: {}", quote(&r.key));
            let _ = writeln!(text, "{indent}    operator: {operator}");
            if !r.values.is_empty() {
                let values: Vec<String> = r.values.iter().map(|v| quote(v)).collect();
                let _ = writeln!(text, "{indent}    values: [{}]", values.join(", "));
            }
        }
    }
}

fn rule(text: &mut String, r: &ClusterPolicyRule, direction: PolicyType) {
    let action = r.action.word(ClusterPolicyKind::ClusterNetworkPolicy);
    match &r.name {
        Some(name) => {
            let _ = writeln!(text, "  - name: {}\n    action: {action}", quote(name));
        }
        None => {
            let _ = writeln!(text, "  - action: {action}");
        }
    }
    let key = match direction {
        PolicyType::Ingress => "from",
        PolicyType::Egress => "to",
    };
    let _ = writeln!(text, "    {key}:");
    for p in &r.peers {
        peer(text, p);
    }
    if let Some(ports) = &r.ports {
        let _ = writeln!(text, "    protocols:");
        for p in ports {
            protocol(text, p);
        }
    }
}

fn peer(text: &mut String, p: &ClusterPolicyPeer) {
    match &p.kind {
        ClusterPeerKind::Namespaces(s) => selector_at(text, "    - ", "      ", "namespaces", s),
        ClusterPeerKind::Pods {
            namespace_selector,
            pod_selector,
        } => {
            let _ = writeln!(text, "    - pods:");
            selector(text, "        ", "namespaceSelector", namespace_selector);
            selector(text, "        ", "podSelector", pod_selector);
        }
        ClusterPeerKind::Nodes(s) => selector_at(text, "    - ", "      ", "nodes", s),
        ClusterPeerKind::Networks(cidrs) => {
            let list: Vec<String> = cidrs.iter().map(|c| quote(&c.to_string())).collect();
            let _ = writeln!(text, "    - networks: [{}]", list.join(", "));
        }
        ClusterPeerKind::DomainNames(names) => {
            let list: Vec<String> = names.iter().map(|n| quote(n)).collect();
            let _ = writeln!(text, "    - domainNames: [{}]", list.join(", "));
        }
    }
}

fn protocol(text: &mut String, p: &ClusterPolicyPort) {
    let name = |protocol: Protocol| protocol.as_str().to_ascii_lowercase();
    match &p.port {
        ClusterPort::Number { protocol, port } => {
            let _ = writeln!(
                text,
                "    - {}:\n        destinationPort:\n          number: {port}",
                name(*protocol)
            );
        }
        ClusterPort::Range {
            protocol,
            start,
            end,
        } => {
            let _ = writeln!(
                text,
                "    - {}:\n        destinationPort:\n          range:\n            start: {start}\n            end: {end}",
                name(*protocol)
            );
        }
        ClusterPort::Named(n) => {
            let _ = writeln!(text, "    - destinationNamedPort: {}", quote(n));
        }
    }
}
