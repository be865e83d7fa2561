//! The rules of cluster policies: action, peers (`from`/`to`) and ports
//! (AdminNetworkPolicy `ports`, ClusterNetworkPolicy `protocols`).
//!
//! A rule the API server would refuse is kept and fails closed, the way the API asks
//! implementations to treat a peer they cannot understand: an Accept rule matches nothing,
//! a Deny or Pass rule denies everything that reaches it. Dropping such a rule instead
//! could widen what is allowed (a dropped Deny lets its traffic through to later rules),
//! and failing closed never does: whatever the author meant, the result is at most as
//! permissive.

use super::cluster_policy::namespaced_pod;
use super::selectors::selector;
use super::{Cx, Fields};
use crate::cidr::Cidr;
use crate::cluster_policy::{
    ClusterPeerKind, ClusterPolicyKind, ClusterPolicyPeer, ClusterPolicyPort, ClusterPolicyRule,
    ClusterPort, RuleAction,
};
use crate::model::{PolicyType, Protocol};
use crate::syntax::names;
use crate::syntax::yaml::{Node, Value};

/// The CRDs' `maxItems` per kind.
pub(super) struct Limits {
    pub(super) rules: usize,
    peers: usize,
    ports: usize,
    kind: ClusterPolicyKind,
}

/// `networks` and `domainNames` hold at most this many entries in every kind.
const MAX_LIST: usize = 25;
/// A rule's `name` is at most this long.
const MAX_NAME: usize = 100;

impl Limits {
    pub(super) fn of(kind: ClusterPolicyKind) -> Limits {
        let n = match kind {
            ClusterPolicyKind::ClusterNetworkPolicy => 25,
            _ => 100,
        };
        Limits {
            rules: n,
            peers: n,
            ports: n,
            kind,
        }
    }

    /// Reports a list longer than the CRD allows; its entries are still read.
    pub(super) fn check(&self, cx: &mut Cx, at: &Node, key: &str, count: usize, max: usize) {
        if count > max {
            cx.error(
                "too-many-items",
                at,
                format!(
                    "`{key}` has {count} entries; a {} allows at most {max}",
                    self.kind.as_str()
                ),
                "split the policy or merge entries; the API server refuses the object as it is",
            );
        }
    }
}

/// The fields of a rule, per kind and direction.
fn rule_fields(kind: ClusterPolicyKind, direction: PolicyType) -> &'static [&'static str] {
    match (kind, direction) {
        (ClusterPolicyKind::ClusterNetworkPolicy, PolicyType::Ingress) => {
            &["name", "action", "from", "protocols"]
        }
        (ClusterPolicyKind::ClusterNetworkPolicy, PolicyType::Egress) => {
            &["name", "action", "to", "protocols"]
        }
        (_, PolicyType::Ingress) => &["name", "action", "from", "ports"],
        (_, PolicyType::Egress) => &["name", "action", "to", "ports"],
    }
}

/// One rule. Never `None` for a list item: a rule that cannot be read at all fails closed
/// rather than disappearing.
pub(super) fn rule(
    cx: &mut Cx,
    node: &Node,
    kind: ClusterPolicyKind,
    direction: PolicyType,
    limits: &Limits,
) -> Option<ClusterPolicyRule> {
    let what = match direction {
        PolicyType::Ingress => "ingress rule",
        PolicyType::Egress => "egress rule",
    };
    let mut rule = ClusterPolicyRule {
        name: None,
        action: RuleAction::Deny,
        peers: Vec::new(),
        ports: None,
        fail_closed: false,
        span: cx.span(node),
    };
    let Some(f) = cx.fields(node, what, Some(rule_fields(kind, direction)), "") else {
        rule.fail_closed = true;
        fails_closed(cx, node, &rule, kind);
        return Some(rule);
    };
    rule.name = f.get("name").and_then(|n| rule_name(cx, n));
    let mut ok = match action(cx, node, f.get("action"), kind) {
        Some(action) => {
            rule.action = action;
            true
        }
        None => false,
    };
    let peers_key = match direction {
        PolicyType::Ingress => "from",
        PolicyType::Egress => "to",
    };
    ok &= peers(
        cx,
        node,
        f.get(peers_key),
        peers_key,
        kind,
        direction,
        limits,
        &mut rule,
    );
    let ports_key = match kind {
        ClusterPolicyKind::ClusterNetworkPolicy => "protocols",
        _ => "ports",
    };
    if let Some(list) = f.get(ports_key) {
        ok &= ports(cx, list, ports_key, kind, limits, &mut rule);
    }
    ok &= named_ports_only_on_pods(cx, node, &rule);
    domain_names_only_accept(cx, &rule, kind);
    if !ok {
        rule.fail_closed = true;
        fails_closed(cx, node, &rule, kind);
    }
    Some(rule)
}

/// Says what a rule that fails closed does.
fn fails_closed(cx: &mut Cx, node: &Node, rule: &ClusterPolicyRule, kind: ClusterPolicyKind) {
    let name = rule
        .name
        .as_ref()
        .map(|n| format!("rule `{n}`"))
        .unwrap_or_else(|| "this rule".to_string());
    let effect = match rule.action {
        RuleAction::Accept => format!(
            "{name} could not be read (see above) and fails closed: as an {} rule it matches nothing",
            RuleAction::Accept.word(kind)
        ),
        _ => format!(
            "{name} could not be read (see above) and fails closed: it denies everything that reaches it"
        ),
    };
    cx.warning(
        "rule-fails-closed",
        node,
        effect,
        "fix the rule; the API server refuses the object as it is, and implementations that meet a rule they cannot read fail closed the same way",
    );
}

fn rule_name(cx: &mut Cx, node: &Node) -> Option<String> {
    let name = cx.text(node, "name", "")?;
    if name.chars().count() > MAX_NAME {
        cx.error(
            "invalid-name",
            node,
            format!(
                "rule name is {} characters long; at most {MAX_NAME} are allowed",
                name.chars().count()
            ),
            "shorten the name",
        );
    }
    Some(name)
}

/// The actions each kind has, as it spells them.
fn actions(kind: ClusterPolicyKind) -> &'static [(&'static str, RuleAction)] {
    match kind {
        ClusterPolicyKind::AdminNetworkPolicy => &[
            ("Allow", RuleAction::Accept),
            ("Deny", RuleAction::Deny),
            ("Pass", RuleAction::Pass),
        ],
        ClusterPolicyKind::BaselineAdminNetworkPolicy => {
            &[("Allow", RuleAction::Accept), ("Deny", RuleAction::Deny)]
        }
        ClusterPolicyKind::ClusterNetworkPolicy => &[
            ("Accept", RuleAction::Accept),
            ("Deny", RuleAction::Deny),
            ("Pass", RuleAction::Pass),
        ],
    }
}

/// `action`; `None` (after an error) when missing or not one of the kind's words: the rule
/// then fails closed as a Deny, the narrowest of the actions it could have meant.
fn action(
    cx: &mut Cx,
    rule: &Node,
    node: Option<&Node>,
    kind: ClusterPolicyKind,
) -> Option<RuleAction> {
    let known = actions(kind);
    let words: Vec<&str> = known.iter().map(|(w, _)| *w).collect();
    let Some(node) = node else {
        cx.error(
            "missing-field",
            rule,
            "the rule has no `action`".into(),
            format!("add `action:` {}", words.join(", ")),
        );
        return None;
    };
    let text = cx.text(node, "action", "")?;
    if let Some((_, action)) = known.iter().find(|(w, _)| *w == text) {
        return Some(*action);
    }
    let help = match (kind, text.as_str()) {
        (ClusterPolicyKind::ClusterNetworkPolicy, "Allow") => {
            "a ClusterNetworkPolicy says `Accept` where an AdminNetworkPolicy says `Allow`".into()
        }
        (
            ClusterPolicyKind::AdminNetworkPolicy | ClusterPolicyKind::BaselineAdminNetworkPolicy,
            "Accept",
        ) => {
            format!(
                "a {} says `Allow`; `Accept` is ClusterNetworkPolicy's word",
                kind.as_str()
            )
        }
        (ClusterPolicyKind::BaselineAdminNetworkPolicy, "Pass") => {
            "a BaselineAdminNetworkPolicy has no Pass: nothing comes after it but the default allow"
                .into()
        }
        _ => match names::did_you_mean(&text, &words) {
            Some(near) => format!("did you mean `{near}`? (actions are case-sensitive)"),
            None => format!(
                "the actions of a {} are {}",
                kind.as_str(),
                words.join(", ")
            ),
        },
    };
    cx.error(
        "invalid-action",
        node,
        format!("`{text}` is not an action of a {}", kind.as_str()),
        help,
    );
    None
}

/// `from`/`to`: at least one entry; every entry must be understood.
#[allow(clippy::too_many_arguments)]
fn peers(
    cx: &mut Cx,
    rule_node: &Node,
    list: Option<&Node>,
    key: &str,
    kind: ClusterPolicyKind,
    direction: PolicyType,
    limits: &Limits,
    rule: &mut ClusterPolicyRule,
) -> bool {
    let Some(list) = list else {
        cx.error(
            "missing-field",
            rule_node,
            format!("the rule has no `{key}`; it needs at least one peer"),
            format!("add `{key}:` with the peers the rule is about (`- namespaces: {{}}` for every pod)"),
        );
        return false;
    };
    let Some(items) = cx.list(list, key, "") else {
        return false;
    };
    if items.is_empty() {
        cx.error(
            "missing-field",
            list,
            format!("`{key}` is empty; it needs at least one peer"),
            "list the peers (`- namespaces: {}` for every pod)".to_string(),
        );
        return false;
    }
    limits.check(cx, list, key, items.len(), limits.peers);
    let mut ok = true;
    for item in items {
        match peer(cx, item, key, kind, direction) {
            Some(p) => rule.peers.push(p),
            None => ok = false,
        }
    }
    ok
}

/// The peer fields a kind has per direction; the v0.1.x names are read too.
fn peer_fields(kind: ClusterPolicyKind, direction: PolicyType) -> &'static [&'static str] {
    match (kind, direction) {
        (_, PolicyType::Ingress) => &["namespaces", "pods"],
        (ClusterPolicyKind::BaselineAdminNetworkPolicy, PolicyType::Egress) => {
            &["namespaces", "pods", "nodes", "networks"]
        }
        (_, PolicyType::Egress) => &["namespaces", "pods", "nodes", "networks", "domainNames"],
    }
}

/// Every peer field any kind has, for saying "only in egress" rather than "unknown".
const ALL_PEER_FIELDS: &[&str] = &["namespaces", "pods", "nodes", "networks", "domainNames"];

/// One peer: exactly one field the rule's kind and direction know. `None` (after an error)
/// when it cannot be understood; the rule then fails closed.
fn peer(
    cx: &mut Cx,
    node: &Node,
    key: &str,
    kind: ClusterPolicyKind,
    direction: PolicyType,
) -> Option<ClusterPolicyPeer> {
    let fields = peer_fields(kind, direction);
    let f = cx.fields(node, &format!("{key} entry"), Some(ALL_PEER_FIELDS), "")?;
    let present: Vec<&str> = ALL_PEER_FIELDS
        .iter()
        .copied()
        .filter(|k| f.get(k).is_some())
        .collect();
    let (field, value) = match present.as_slice() {
        [one] => (*one, f.get(one)?),
        [] => {
            cx.error(
                "invalid-peer",
                node,
                format!("this `{key}` entry has none of {}", fields.join(", ")),
                "give exactly one; an entry an implementation cannot read fails closed",
            );
            return None;
        }
        many => {
            cx.error(
                "invalid-peer",
                node,
                format!(
                    "this `{key}` entry has {}; exactly one is allowed",
                    many.join(" and ")
                ),
                format!("split it into one `{key}` entry per field"),
            );
            return None;
        }
    };
    if !fields.contains(&field) {
        let at = f.key(field).unwrap_or(node);
        let why = match direction {
            PolicyType::Ingress => "ingress peers are pods: `namespaces` or `pods`",
            PolicyType::Egress => "a BaselineAdminNetworkPolicy has no `domainNames` peers",
        };
        cx.error(
            "invalid-peer",
            at,
            format!("`{field}` is not a peer of a {} {key} rule", kind.as_str()),
            why,
        );
        return None;
    }
    let (kind, legacy_shape) = peer_kind(cx, field, value, kind)?;
    Some(ClusterPolicyPeer {
        kind,
        legacy_shape,
        span: cx.span(node),
    })
}

/// The value of one peer field, and whether it was written in the v0.1.x shape.
fn peer_kind(
    cx: &mut Cx,
    field: &str,
    value: &Node,
    kind: ClusterPolicyKind,
) -> Option<(ClusterPeerKind, bool)> {
    Some(match field {
        "namespaces" => match legacy_namespaces(cx, value)? {
            Some(selector) => (ClusterPeerKind::Namespaces(selector), true),
            None => (
                ClusterPeerKind::Namespaces(selector(cx, value, "namespaces", "")?),
                false,
            ),
        },
        "pods" => {
            let legacy = Fields::peek(value).and_then(|f| Some((f.get("namespaces")?, f)));
            if let Some((namespaces, f)) = legacy {
                let selector = legacy_namespaces(cx, namespaces)?.unwrap_or_default();
                let pod_selector = match f.get("podSelector") {
                    Some(p) => selector_of(cx, p, "pods.podSelector")?,
                    None => Default::default(),
                };
                return Some((
                    ClusterPeerKind::Pods {
                        namespace_selector: selector,
                        pod_selector,
                    },
                    true,
                ));
            }
            let optional = kind == ClusterPolicyKind::ClusterNetworkPolicy;
            let (namespace_selector, pod_selector) =
                namespaced_pod(cx, value, "pods", "", optional)?;
            (
                ClusterPeerKind::Pods {
                    namespace_selector,
                    pod_selector,
                },
                false,
            )
        }
        "nodes" => (
            ClusterPeerKind::Nodes(selector(cx, value, "nodes", "")?),
            false,
        ),
        "networks" => (ClusterPeerKind::Networks(networks(cx, value)?), false),
        _ => (
            ClusterPeerKind::DomainNames(domain_names(cx, value)?),
            false,
        ),
    })
}

fn selector_of(cx: &mut Cx, node: &Node, what: &str) -> Option<crate::model::LabelSelector> {
    selector(cx, node, what, "")
}

/// The v0.1.x `namespaces: {namespaceSelector | sameLabels | notSameLabels}`:
/// `Some(Some(selector))` when it is that shape with a selector, `Some(None)` when it is not
/// that shape, `None` (after a warning) for `sameLabels`/`notSameLabels`, which compare
/// with the subject's namespace and were removed from the API.
fn legacy_namespaces(cx: &mut Cx, node: &Node) -> Option<Option<crate::model::LabelSelector>> {
    let Some(f) = Fields::peek(node) else {
        return Some(None);
    };
    for gone in ["sameLabels", "notSameLabels"] {
        if f.key(gone).is_some() {
            cx.error(
                "unsupported-field",
                node,
                format!("`{gone}` (AdminNetworkPolicy v0.1.x) was removed from the API; netpol cannot evaluate it"),
                "select the namespaces with a label selector instead",
            );
            return None;
        }
    }
    match (f.get("namespaceSelector"), f.key("namespaceSelector")) {
        (Some(sel), _) => Some(Some(selector_of(cx, sel, "namespaceSelector")?)),
        // `namespaceSelector: null` (or empty): every namespace
        (None, Some(_)) => Some(Some(Default::default())),
        (None, None) => Some(None),
    }
}

/// `networks`: 1 to 25 CIDRs, each with host bits zero (the CRD's CEL rule).
fn networks(cx: &mut Cx, node: &Node) -> Option<Vec<Cidr>> {
    let items = cx.list(node, "networks", "")?;
    if items.is_empty() {
        cx.error(
            "missing-field",
            node,
            "`networks` is empty; it needs at least one CIDR".into(),
            "list CIDRs such as 10.0.0.0/8",
        );
        return None;
    }
    check_list_length(cx, node, "networks", items.len());
    let mut out = Vec::with_capacity(items.len());
    let mut ok = true;
    for item in items {
        match network(cx, item) {
            Some(c) => out.push(c),
            None => ok = false,
        }
    }
    ok.then_some(out)
}

fn network(cx: &mut Cx, node: &Node) -> Option<Cidr> {
    let text = cx.text(node, "networks", "")?;
    let parsed = text.parse::<Cidr>();
    let host_bits = text
        .split_once('/')
        .and_then(|(a, p)| Some((a.parse().ok()?, p.parse().ok()?)))
        .is_some_and(|(a, p)| Cidr::has_host_bits(a, p));
    match parsed {
        Ok(c) if !host_bits => Some(c),
        Ok(c) => {
            cx.error(
                "invalid-cidr",
                node,
                format!("network `{text}` has host bits set; the API server refuses it"),
                format!("write `{c}`, or the single address with /32 (/128 for IPv6)"),
            );
            None
        }
        Err(e) => {
            cx.error(
                "invalid-cidr",
                node,
                format!("network `{text}` is not a valid CIDR ({e})"),
                "write an address block such as 10.0.0.0/8 or fd00::/8",
            );
            None
        }
    }
}

fn check_list_length(cx: &mut Cx, node: &Node, key: &str, count: usize) {
    if count > MAX_LIST {
        cx.error(
            "too-many-items",
            node,
            format!("`{key}` has {count} entries; at most {MAX_LIST} are allowed"),
            "split the entry into several peers",
        );
    }
}

/// `domainNames`: 1 to 25 names, exact or with a leading `*.`.
fn domain_names(cx: &mut Cx, node: &Node) -> Option<Vec<String>> {
    let items = cx.list(node, "domainNames", "")?;
    if items.is_empty() {
        cx.error(
            "missing-field",
            node,
            "`domainNames` is empty; it needs at least one name".into(),
            "list names such as `kubernetes.io` or `*.kubernetes.io`",
        );
        return None;
    }
    check_list_length(cx, node, "domainNames", items.len());
    let mut out = Vec::new();
    let mut ok = true;
    for item in items {
        let Some(text) = cx.text(item, "domainNames", "") else {
            ok = false;
            continue;
        };
        if domain_name_ok(&text) {
            out.push(text);
        } else {
            cx.error(
                "invalid-domain-name",
                item,
                format!("`{text}` is not a domain name the API accepts"),
                "write a name such as `kubernetes.io`, or `*.kubernetes.io` for its subdomains (`*` only as the first label)",
            );
            ok = false;
        }
    }
    ok.then_some(out)
}

/// The CRD's pattern: `^(\*\.)?([a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.)+[a-zA-Z0-9]([-a-zA-Z0-9_]*[a-zA-Z0-9])?\.?$`.
fn domain_name_ok(text: &str) -> bool {
    let rest = text.strip_prefix("*.").unwrap_or(text);
    let rest = rest.strip_suffix('.').unwrap_or(rest);
    let labels: Vec<&str> = rest.split('.').collect();
    let label_ok = |l: &str| {
        let bytes = l.as_bytes();
        !bytes.is_empty()
            && bytes[0].is_ascii_alphanumeric()
            && bytes[bytes.len() - 1].is_ascii_alphanumeric()
            && bytes
                .iter()
                .all(|b| b.is_ascii_alphanumeric() || *b == b'-' || *b == b'_')
    };
    labels.len() >= 2 && labels.iter().all(|l| label_ok(l))
}

/// `ports` / `protocols`: at least one entry; every entry must be understood.
fn ports(
    cx: &mut Cx,
    list: &Node,
    key: &str,
    kind: ClusterPolicyKind,
    limits: &Limits,
    rule: &mut ClusterPolicyRule,
) -> bool {
    let Some(items) = cx.list(list, key, "") else {
        return false;
    };
    if items.is_empty() {
        cx.error(
            "missing-field",
            list,
            format!("`{key}` is empty; leave it out to match every port, or list ports"),
            format!("an empty `{key}` is refused by the API server"),
        );
        return false;
    }
    limits.check(cx, list, key, items.len(), limits.ports);
    let mut ok = true;
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let port = match kind {
            ClusterPolicyKind::ClusterNetworkPolicy => protocol_entry(cx, item),
            _ => port_entry(cx, item),
        };
        match port {
            Some(port) => out.push(ClusterPolicyPort {
                port,
                span: cx.span(item),
            }),
            None => ok = false,
        }
    }
    rule.ports = Some(out);
    ok
}

/// Exactly one of `fields` in a mapping: its key and value.
fn one_of<'n>(
    cx: &mut Cx,
    node: &'n Node,
    what: &str,
    fields: &[&str],
) -> Option<(String, &'n Node)> {
    let f = cx.fields(node, what, Some(fields), "")?;
    let present: Vec<&str> = fields
        .iter()
        .copied()
        .filter(|k| f.get(k).is_some())
        .collect();
    match present.as_slice() {
        [one] => Some((one.to_string(), f.get(one)?)),
        [] => {
            cx.error(
                "invalid-port",
                node,
                format!("this `{what}` has none of {}", fields.join(", ")),
                "give exactly one",
            );
            None
        }
        many => {
            cx.error(
                "invalid-port",
                node,
                format!(
                    "this `{what}` has {}; exactly one is allowed",
                    many.join(" and ")
                ),
                "split it into one entry per field",
            );
            None
        }
    }
}

/// An AdminNetworkPolicy `ports` entry: `portNumber`, `portRange` or `namedPort`.
fn port_entry(cx: &mut Cx, node: &Node) -> Option<ClusterPort> {
    let (field, value) = one_of(
        cx,
        node,
        "ports entry",
        &["portNumber", "portRange", "namedPort"],
    )?;
    match field.as_str() {
        "portNumber" => {
            let f = cx.fields(value, "portNumber", Some(&["protocol", "port"]), "")?;
            let protocol = protocol(cx, f.get("protocol"))?;
            let port = required_number(cx, value, f.get("port"), "port")?;
            Some(ClusterPort::Number { protocol, port })
        }
        "portRange" => {
            let f = cx.fields(value, "portRange", Some(&["protocol", "start", "end"]), "")?;
            let protocol = protocol(cx, f.get("protocol"))?;
            let start = required_number(cx, value, f.get("start"), "start")?;
            let end = required_number(cx, value, f.get("end"), "end")?;
            if start > end {
                cx.warning(
                    "empty-port-range",
                    value,
                    format!(
                        "portRange start {start} is greater than end {end}: it matches no port"
                    ),
                    format!("write start {end} and end {start}"),
                );
            }
            Some(ClusterPort::Range {
                protocol,
                start,
                end,
            })
        }
        _ => named_port(cx, value),
    }
}

/// A ClusterNetworkPolicy `protocols` entry: `tcp`/`udp`/`sctp` with a `destinationPort`,
/// or `destinationNamedPort`.
fn protocol_entry(cx: &mut Cx, node: &Node) -> Option<ClusterPort> {
    let fields = ["tcp", "udp", "sctp", "destinationNamedPort"];
    let (field, value) = one_of(cx, node, "protocols entry", &fields)?;
    let protocol = match field.as_str() {
        "tcp" => Protocol::TCP,
        "udp" => Protocol::UDP,
        "sctp" => Protocol::SCTP,
        _ => return named_port(cx, value),
    };
    let f = cx.fields(value, &field, Some(&["destinationPort"]), "")?;
    let Some(destination) = f.get("destinationPort") else {
        cx.error(
            "invalid-port",
            value,
            format!("`{field}` has no `destinationPort`; the API server refuses `{field}: {{}}`"),
            format!("write `{field}: {{destinationPort: {{number: 80}}}}`, or a range"),
        );
        return None;
    };
    let (kind, value) = one_of(cx, destination, "destinationPort", &["number", "range"])?;
    if kind == "number" {
        let port = port_number(cx, value, "number")?;
        return Some(ClusterPort::Number { protocol, port });
    }
    let f = cx.fields(value, "range", Some(&["start", "end"]), "")?;
    let start = required_number(cx, value, f.get("start"), "start")?;
    let end = required_number(cx, value, f.get("end"), "end")?;
    if start >= end {
        cx.error(
            "invalid-port",
            value,
            format!("range start {start} must be less than end {end}"),
            if start == end {
                format!("for the one port, write `number: {start}`")
            } else {
                format!("write start {end} and end {start}")
            },
        );
        return None;
    }
    Some(ClusterPort::Range {
        protocol,
        start,
        end,
    })
}

fn named_port(cx: &mut Cx, node: &Node) -> Option<ClusterPort> {
    let text = cx.text(node, "namedPort", "")?;
    if let Err(e) = names::port_name(&text) {
        cx.error(
            "invalid-port",
            node,
            format!("port name `{text}` {e}"),
            "port names are at most 15 lower-case letters, digits and `-`, with at least one letter",
        );
        return None;
    }
    Some(ClusterPort::Named(text))
}

/// `protocol`: `TCP` (the default), `UDP` or `SCTP`, case-sensitive.
fn protocol(cx: &mut Cx, node: Option<&Node>) -> Option<Protocol> {
    let Some(node) = node else {
        return Some(Protocol::TCP);
    };
    let text = cx.text(node, "protocol", "")?;
    match text.as_str() {
        "TCP" => Some(Protocol::TCP),
        "UDP" => Some(Protocol::UDP),
        "SCTP" => Some(Protocol::SCTP),
        other => {
            let help = match Protocol::parse(other) {
                Some(p) => format!("write {p} (protocols are case-sensitive)"),
                None => "use TCP, UDP or SCTP".to_string(),
            };
            cx.error(
                "unknown-protocol",
                node,
                format!("unknown protocol `{other}`"),
                help,
            );
            None
        }
    }
}

fn required_number(cx: &mut Cx, parent: &Node, node: Option<&Node>, field: &str) -> Option<u16> {
    match node {
        Some(n) => port_number(cx, n, field),
        None => {
            cx.error(
                "invalid-port",
                parent,
                format!("`{field}` is missing"),
                format!("add `{field}:` 1 to 65535"),
            );
            None
        }
    }
}

/// A port number 1-65535 written as a plain YAML integer.
fn port_number(cx: &mut Cx, node: &Node, field: &str) -> Option<u16> {
    if let Value::Scalar { text, plain: true } = &node.value {
        if let Ok(n @ 1..=65535) = text.parse::<u32>() {
            return Some(n as u16);
        }
        cx.error(
            "invalid-port",
            node,
            format!("{field} {text} is not a port number"),
            "ports are whole numbers 1-65535",
        );
        return None;
    }
    cx.type_error(node, field, "a number", "");
    None
}

/// The CEL rule of egress rules: a named port with `networks`, `nodes` or `domainNames`
/// peers is refused (those peers have no named ports).
fn named_ports_only_on_pods(cx: &mut Cx, node: &Node, rule: &ClusterPolicyRule) -> bool {
    let named = rule
        .ports
        .iter()
        .flatten()
        .any(|p| matches!(p.port, ClusterPort::Named(_)));
    let addresses = rule.peers.iter().any(|p| {
        matches!(
            p.kind,
            ClusterPeerKind::Networks(_)
                | ClusterPeerKind::Nodes(_)
                | ClusterPeerKind::DomainNames(_)
        )
    });
    if named && addresses {
        cx.error(
            "invalid-port",
            node,
            "a named port cannot be used in a rule with `networks`, `nodes` or `domainNames` peers"
                .into(),
            "those peers have no named ports: use port numbers, or move the named port to a rule with pod peers",
        );
        return false;
    }
    true
}

/// `domainNames` is only supported for Accept rules (the API reference).
fn domain_names_only_accept(cx: &mut Cx, rule: &ClusterPolicyRule, kind: ClusterPolicyKind) {
    if rule.action == RuleAction::Accept {
        return;
    }
    for peer in &rule.peers {
        if matches!(peer.kind, ClusterPeerKind::DomainNames(_)) {
            cx.warning_at(
                "domain-names-not-accept",
                peer.span,
                format!(
                    "`domainNames` is only supported in {} rules; implementations may ignore it here",
                    RuleAction::Accept.word(kind)
                ),
                "deny by `networks`, or allow the names and deny the rest with a later rule",
            );
        }
    }
}
