//! NetworkPolicies as a person writes them: block-style YAML in the order of the
//! Kubernetes documentation, with comments saying what each rule is for.
//!
//! One renderer for everything the authoring tools write: synthesized and frozen policies,
//! a rule inserted by "allow this", a rule rewritten by "deny this". It renders the
//! model's own types, so what is written is what the parser reads back (the self-checks
//! parse every output again).

use std::fmt::Write;

use crate::model::{
    LabelSelector, NetworkPolicy, NetworkPolicyPeer, NetworkPolicyPort, NetworkPolicyRule,
    Operator, PolicyType, PortRef,
};

/// Comments that go with a policy: above the document, and above each rule.
#[derive(Clone, Debug, Default)]
pub(crate) struct Notes {
    /// Lines above the document (without `# `).
    pub header: Vec<String>,
    /// Per ingress rule, lines above it.
    pub ingress: Vec<Vec<String>>,
    /// Per egress rule, lines above it.
    pub egress: Vec<Vec<String>>,
}

/// One policy document (no `---`), ending with a newline.
pub(crate) fn policy(policy: &NetworkPolicy, notes: &Notes) -> String {
    let mut out = String::new();
    for line in &notes.header {
        comment(&mut out, "", line);
    }
    out.push_str("apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n");
    let _ = writeln!(out, "  name: {}", scalar(&policy.name));
    let _ = writeln!(out, "  namespace: {}", scalar(&policy.namespace));
    out.push_str("spec:\n");
    for line in selector_lines("podSelector", &policy.pod_selector) {
        let _ = writeln!(out, "  {line}");
    }
    out.push_str("  policyTypes:\n");
    for t in &policy.policy_types {
        let _ = writeln!(out, "  - {}", type_word(*t));
    }
    for (direction, notes) in [
        (PolicyType::Ingress, &notes.ingress),
        (PolicyType::Egress, &notes.egress),
    ] {
        let rules = policy.rules(direction);
        if rules.is_empty() {
            continue;
        }
        let _ = writeln!(out, "  {}:", list_key(direction));
        for (i, rule) in rules.iter().enumerate() {
            for line in notes.get(i).into_iter().flatten() {
                comment(&mut out, "  ", line);
            }
            for line in item(rule_lines(rule, direction)) {
                let _ = writeln!(out, "  {line}");
            }
        }
    }
    out
}

fn comment(out: &mut String, indent: &str, line: &str) {
    if line.is_empty() {
        let _ = writeln!(out, "{indent}#");
    } else {
        let _ = writeln!(out, "{indent}# {line}");
    }
}

fn type_word(t: PolicyType) -> &'static str {
    match t {
        PolicyType::Ingress => "Ingress",
        PolicyType::Egress => "Egress",
    }
}

fn list_key(direction: PolicyType) -> &'static str {
    match direction {
        PolicyType::Ingress => "ingress",
        PolicyType::Egress => "egress",
    }
}

/// The lines of one rule's mapping at indentation 0 (the text after `- ` and below it).
pub(crate) fn rule_lines(rule: &NetworkPolicyRule, direction: PolicyType) -> Vec<String> {
    if rule.peers.is_empty() && rule.ports.is_empty() {
        return vec!["{}".to_string()];
    }
    let mut lines = Vec::new();
    if !rule.peers.is_empty() {
        lines.push(format!(
            "{}:",
            if direction == PolicyType::Ingress {
                "from"
            } else {
                "to"
            }
        ));
        for peer in &rule.peers {
            lines.extend(item(peer_lines(peer)));
        }
    }
    if !rule.ports.is_empty() {
        lines.push("ports:".to_string());
        for port in &rule.ports {
            lines.extend(item(port_lines(port)));
        }
    }
    lines
}

/// `lines` as one list item: `- ` before the first, two spaces before the rest.
pub(crate) fn item(lines: Vec<String>) -> Vec<String> {
    lines
        .into_iter()
        .enumerate()
        .map(|(i, l)| {
            if i == 0 {
                format!("- {l}")
            } else {
                format!("  {l}")
            }
        })
        .collect()
}

fn peer_lines(peer: &NetworkPolicyPeer) -> Vec<String> {
    let mut lines = Vec::new();
    if let Some(block) = &peer.ip_block {
        lines.push("ipBlock:".to_string());
        lines.push(format!("  cidr: {}", scalar(&block.cidr.to_string())));
        if !block.except.is_empty() {
            lines.push("  except:".to_string());
            for e in &block.except {
                lines.push(format!("  - {}", scalar(&e.to_string())));
            }
        }
    }
    if let Some(sel) = &peer.namespace_selector {
        lines.extend(selector_lines("namespaceSelector", sel));
    }
    if let Some(sel) = &peer.pod_selector {
        lines.extend(selector_lines("podSelector", sel));
    }
    lines
}

fn port_lines(port: &NetworkPolicyPort) -> Vec<String> {
    let mut lines = vec![format!("protocol: {}", port.protocol)];
    match &port.port {
        Some(PortRef::Number(n)) => lines.push(format!("port: {n}")),
        Some(PortRef::Name(name)) => lines.push(format!("port: {}", scalar(name))),
        None => {}
    }
    if let Some(end) = port.end_port {
        lines.push(format!("endPort: {end}"));
    }
    lines
}

/// `key: {}`, or `key:` with `matchLabels` and `matchExpressions` below.
fn selector_lines(key: &str, sel: &LabelSelector) -> Vec<String> {
    if sel.is_empty() {
        return vec![format!("{key}: {{}}")];
    }
    let mut lines = vec![format!("{key}:")];
    if !sel.match_labels.is_empty() {
        lines.push("  matchLabels:".to_string());
        for (k, v) in &sel.match_labels {
            lines.push(format!("    {}: {}", scalar(k), scalar(v)));
        }
    }
    if !sel.match_expressions.is_empty() {
        lines.push("  matchExpressions:".to_string());
        for r in &sel.match_expressions {
            lines.push(format!("  - key: {}", scalar(&r.key)));
            lines.push(format!("    operator: {}", operator_word(r.operator)));
            if !r.values.is_empty() {
                lines.push("    values:".to_string());
                for v in &r.values {
                    lines.push(format!("    - {}", scalar(v)));
                }
            }
        }
    }
    lines
}

fn operator_word(op: Operator) -> &'static str {
    match op {
        Operator::In => "In",
        Operator::NotIn => "NotIn",
        Operator::Exists => "Exists",
        Operator::DoesNotExist => "DoesNotExist",
    }
}

/// A YAML scalar: plain when it cannot be read as anything but this string, else double
/// quoted (label values such as `true`, `1.0` or `on` would otherwise change type).
pub(crate) fn scalar(s: &str) -> String {
    let plain_chars = s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '/' | '-'));
    let starts_well = s.chars().next().is_some_and(|c| c.is_ascii_alphanumeric());
    let special = matches!(
        s.to_ascii_lowercase().as_str(),
        "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n" | "null" | "~"
    );
    let numeric = s.parse::<f64>().is_ok()
        || s.chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '_' | '.' | '-' | '+' | 'e' | 'E'))
        || (s.len() > 1 && s.starts_with('0') && s[1..].starts_with(['x', 'o', 'b']));
    if plain_chars && starts_well && !special && !numeric {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scalars_are_quoted_only_when_needed() {
        let table = [
            ("web", "web"),
            ("app.kubernetes.io/name", "app.kubernetes.io/name"),
            ("10.0.0.0/8", "10.0.0.0/8"),
            ("true", "\"true\""),
            ("On", "\"On\""),
            ("1.0", "\"1.0\""),
            ("8080", "\"8080\""),
            ("0x1f", "\"0x1f\""),
            ("1e5", "\"1e5\""),
            ("fd00::/8", "\"fd00::/8\""),
            ("", "\"\""),
            ("-web", "\"-web\""),
            ("a\"b", "\"a\\\"b\""),
        ];
        for (input, want) in table {
            assert_eq!(scalar(input), want, "{input}");
        }
    }
}
