//! The compact cluster form: one object per line, typed by people in the playground.
//!
//! ```text
//! # comments start with '#'
//! namespace prod team=payments env=prod
//! pod prod/api app=api,tier=web ip=10.1.0.5 ports=http:8080/TCP,metrics:9090
//! pod web app=web                  # no namespace/ means default
//! deployment prod/worker app=worker ports=8080
//! ```
//!
//! A line is `KEYWORD NAME ITEM...`. Items are `key=value`, separated by spaces and/or
//! commas. `ip`/`ips`, `ports`, `node` and `hostNetwork` are reserved keys; an item without `=` right after
//! `ips=`/`ports=` continues that list (`ports=http:80,dns:53/UDP`), so commas work in both
//! places. The full description is `docs/compact-format.md`.

use std::collections::HashSet;
use std::net::IpAddr;

use crate::diagnostic::{Diagnostic, FileId, Span};
use crate::model::{ContainerPort, Labels, Namespace, Node, Parsed, Pod, Protocol};
use crate::syntax::lines::Lines;
use crate::syntax::names;

/// Keyword → (kind, workload). `None` workload means a plain `Pod`; the namespace keyword
/// is handled apart.
const KEYWORDS: &[(&str, &str)] = &[
    ("namespace", "Namespace"),
    ("ns", "Namespace"),
    ("node", "Node"),
    ("no", "Node"),
    ("pod", "Pod"),
    ("po", "Pod"),
    ("deployment", "Deployment"),
    ("deploy", "Deployment"),
    ("statefulset", "StatefulSet"),
    ("sts", "StatefulSet"),
    ("daemonset", "DaemonSet"),
    ("ds", "DaemonSet"),
    ("replicaset", "ReplicaSet"),
    ("rs", "ReplicaSet"),
    ("replicationcontroller", "ReplicationController"),
    ("rc", "ReplicationController"),
    ("job", "Job"),
    ("cronjob", "CronJob"),
    ("cj", "CronJob"),
];

const RESERVED: &[&str] = &["ip", "ips", "ports", "node", "hostNetwork"];

/// Whether `text` is in the compact form: its first meaningful line starts with a bare word
/// followed by a space (a YAML manifest starts with `key:`, `---`, `{` or `[`).
pub fn is_compact(text: &str) -> bool {
    let Some(line) = text
        .lines()
        .map(|l| l.trim_start_matches('\u{feff}').trim())
        .find(|l| !l.is_empty() && !l.starts_with('#'))
    else {
        return false;
    };
    let word_len = line.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
    if word_len == 0 || word_len == line.len() {
        return false;
    }
    let rest = &line[word_len..];
    if !rest.starts_with([' ', '\t']) || rest.trim_start().starts_with(':') {
        return false;
    }
    // A misspelt first keyword (`pdo web`) is still the compact form, but a manifest whose
    // first line lost its colon (`apiVersion v1` above `kind: Pod`) is YAML: its YAML
    // diagnostics are more useful than one "unknown keyword" per line.
    let word = line[..word_len].to_ascii_lowercase();
    KEYWORDS.iter().any(|(k, _)| *k == word) || !text.lines().any(looks_like_yaml_key)
}

/// `key:` at the start of a line, as in a block mapping.
fn looks_like_yaml_key(line: &str) -> bool {
    let n = line
        .bytes()
        .take_while(|b| b.is_ascii_alphanumeric() || *b == b'_')
        .count();
    n > 0 && line[n..].starts_with(':')
}

struct Line<'t> {
    lines: Lines<'t>,
    diags: Vec<Diagnostic>,
}

impl Line<'_> {
    fn span(&self, start: usize, end: usize) -> Option<Span> {
        Some(self.lines.span(start, end))
    }

    fn error(&mut self, code: &'static str, start: usize, end: usize, msg: String, help: String) {
        let span = self.span(start, end);
        self.diags
            .push(Diagnostic::error(code, span, msg).with_help(help));
    }

    fn warning(&mut self, code: &'static str, start: usize, end: usize, msg: String, help: String) {
        let span = self.span(start, end);
        self.diags
            .push(Diagnostic::warning(code, span, msg).with_help(help));
    }
}

/// Parses the compact form. Each bad line or item gets a diagnostic; good lines are kept.
pub fn parse(file: FileId, text: &str) -> Parsed {
    let mut cx = Line {
        lines: Lines::new(file, text),
        diags: Vec::new(),
    };
    let mut out = Parsed::default();
    let mut offset = 0;
    for raw in text.split_inclusive('\n') {
        let line_start = offset;
        offset += raw.len();
        let content = strip_comment(raw.trim_end_matches(['\n', '\r']));
        let tokens = tokens(content, line_start);
        let Some(&(kw_start, keyword)) = tokens.first() else {
            continue;
        };
        let line_end = tokens.last().map_or(line_start, |(s, t)| s + t.len());
        let kw_end = kw_start + keyword.len();
        let lower = keyword.to_ascii_lowercase();
        let Some((_, kind)) = KEYWORDS.iter().find(|(k, _)| *k == lower) else {
            let words: Vec<&str> = KEYWORDS.iter().map(|(k, _)| *k).collect();
            let help = match names::did_you_mean(&lower, &words) {
                Some(s) => format!("did you mean `{s}`?"),
                None => "lines start with namespace, node, pod, deployment, statefulset, daemonset, replicaset, job or cronjob".into(),
            };
            cx.error(
                "unknown-keyword",
                kw_start,
                kw_end,
                format!("unknown keyword `{keyword}`; the line was ignored"),
                help,
            );
            continue;
        };
        let Some(&(name_start, name_tok)) = tokens.get(1).filter(|(_, t)| !t.contains('=')) else {
            cx.error(
                "missing-name",
                kw_start,
                line_end,
                format!("`{keyword}` needs a name; the line was ignored"),
                if *kind == "Namespace" {
                    "write `namespace NAME key=value ...`".into()
                } else {
                    format!("write `{lower} [NAMESPACE/]NAME key=value ...`")
                },
            );
            continue;
        };
        let name_end = name_start + name_tok.len();
        let items = &tokens[2..];
        let span = cx.span(kw_start, line_end);

        if *kind == "Namespace" {
            if let Err(e) = names::dns_label(name_tok) {
                cx.error(
                    "invalid-name",
                    name_start,
                    name_end,
                    format!("namespace name `{name_tok}` {e}; the line was ignored"),
                    "namespace names are DNS labels such as `prod` or `team-a`".into(),
                );
                continue;
            }
            let fields = read_items(&mut cx, items, false);
            out.namespaces.push(Namespace {
                name: name_tok.to_owned(),
                labels: fields.labels,
                span,
            });
            continue;
        }

        if *kind == "Node" {
            if let Some(node) = node_line(&mut cx, (name_start, name_tok), items, span) {
                out.nodes.push(node);
            }
            continue;
        }

        let (namespace, name) = match name_tok.split_once('/') {
            Some((ns, n)) => (ns, n),
            None => ("default", name_tok),
        };
        if name_tok.contains('/') {
            if let Err(e) = names::dns_label(namespace) {
                cx.error(
                    "invalid-name",
                    name_start,
                    name_start + namespace.len(),
                    format!("namespace name `{namespace}` {e}; the line was ignored"),
                    "write NAMESPACE/NAME, e.g. prod/api".into(),
                );
                continue;
            }
        }
        if name.is_empty() || name.contains('/') {
            cx.error(
                "invalid-name",
                name_start,
                name_end,
                format!("`{name_tok}` is not NAME or NAMESPACE/NAME; the line was ignored"),
                "write e.g. `prod/api` or `api`".into(),
            );
            continue;
        }
        if let Err(e) = names::dns_subdomain_name(name) {
            let name_at = name_end - name.len();
            cx.error(
                "invalid-name",
                name_at,
                name_end,
                format!("{lower} name `{name}` {e}; the line was ignored"),
                "pod names are DNS subdomains such as `api-0` or `web.v2`".into(),
            );
            continue;
        }
        let fields = read_items(&mut cx, items, true);
        let workload = (*kind != "Pod").then(|| (*kind).to_owned());
        let id = match &workload {
            Some(k) => format!("{namespace}/{k}/{name}"),
            None => format!("{namespace}/{name}"),
        };
        if workload.is_some() && !fields.ips.is_empty() {
            cx.warning(
                "ignored-field",
                kw_start,
                kw_end,
                format!(
                    "`{lower}` lines stand for a pod template, which has no IP; `ip=` was ignored"
                ),
                "use `pod` lines for endpoints with addresses".into(),
            );
        }
        out.pods.push(Pod {
            id,
            namespace: namespace.to_owned(),
            name: name.to_owned(),
            ips: if workload.is_some() {
                Vec::new()
            } else {
                fields.ips
            },
            workload,
            labels: fields.labels,
            ports: fields.ports,
            node: fields.node,
            host_network: fields.host_network,
            span,
        });
    }
    out.diagnostics = cx.diags;
    out
}

/// `node NAME key=value... ip=A,B`: a node with labels and addresses (what `nodes` peers of
/// cluster policies select). Node names are DNS subdomains, without a namespace.
fn node_line(
    cx: &mut Line,
    (name_start, name): (usize, &str),
    items: &[(usize, &str)],
    span: Option<Span>,
) -> Option<Node> {
    let name_end = name_start + name.len();
    let bad = name.len() > 253 || name.split('.').any(|part| names::dns_label(part).is_err());
    if bad {
        cx.error(
            "invalid-name",
            name_start,
            name_end,
            format!("node name `{name}` is not a DNS subdomain; the line was ignored"),
            "node names are lower-case DNS names such as `worker-1` or `ip-10-0-0-1.ec2.internal`"
                .into(),
        );
        return None;
    }
    let fields = read_items(cx, items, true);
    if !fields.ports.is_empty() || fields.node.is_some() || fields.host_network {
        cx.warning(
            "ignored-field",
            name_start,
            name_end,
            format!("`ports=`, `node=` and `hostNetwork=` are for pods; on node `{name}` they were ignored"),
            "a node line takes labels and `ip=`/`ips=` (its InternalIP/ExternalIP addresses)".into(),
        );
    }
    Some(Node {
        name: name.to_owned(),
        labels: fields.labels,
        addresses: fields.ips,
        span,
    })
}

/// The part of a line before a comment (`#` at the start or after white space).
fn strip_comment(line: &str) -> &str {
    let bytes = line.as_bytes();
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'#' && (i == 0 || bytes[i - 1].is_ascii_whitespace()) {
            return &line[..i];
        }
    }
    line
}

/// Whitespace-separated tokens with their absolute byte offsets.
fn tokens(line: &str, base: usize) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        if c.is_whitespace() {
            if let Some(s) = start.take() {
                out.push((base + s, &line[s..i]));
            }
        } else if start.is_none() {
            start = Some(i);
        }
    }
    if let Some(s) = start {
        out.push((base + s, &line[s..]));
    }
    out
}

#[derive(Default)]
struct Fields {
    labels: Labels,
    ips: Vec<IpAddr>,
    ports: Vec<ContainerPort>,
    node: Option<String>,
    host_network: bool,
}

/// Reads `key=value` items. `reserved` enables `ip`/`ips`/`ports`/`node` (pods only).
fn read_items(cx: &mut Line, tokens: &[(usize, &str)], reserved: bool) -> Fields {
    let mut out = Fields::default();
    let mut seen_ips: HashSet<IpAddr> = HashSet::new();
    let mut seen_ports: HashSet<ContainerPort> = HashSet::new();
    for &(tok_start, tok) in tokens {
        // the list key an item without `=` continues (`ports=80,443`)
        let mut list: Option<&str> = None;
        let mut off = 0;
        for item in tok.split(',') {
            let start = tok_start + off;
            off += item.len() + 1;
            let end = start + item.len();
            if item.is_empty() {
                continue;
            }
            let (key, value, vstart) = match item.split_once('=') {
                Some((k, v)) => (k, v, start + k.len() + 1),
                None => match list {
                    Some(k) => (k, item, start),
                    None => {
                        let help = match item.split_once(':') {
                            Some((k, v)) => format!("write `{k}={v}`"),
                            None => {
                                format!("write `{item}=VALUE` (or `{item}=` for an empty value)")
                            }
                        };
                        cx.error(
                            "invalid-label",
                            start,
                            end,
                            format!("`{item}` is not key=value; it was ignored"),
                            help,
                        );
                        continue;
                    }
                },
            };
            let is_reserved = RESERVED.contains(&key);
            if is_reserved && !reserved {
                cx.error(
                    "invalid-label",
                    start,
                    end,
                    format!("`{key}=` is only for pods and workloads; it was ignored"),
                    "namespaces have only labels".into(),
                );
                continue;
            }
            list = None;
            match key {
                "ip" | "ips" if is_reserved => {
                    list = Some(key);
                    match value.parse::<IpAddr>() {
                        Ok(ip) => {
                            if seen_ips.insert(ip) {
                                out.ips.push(ip);
                            }
                        }
                        Err(_) => cx.error(
                            "invalid-ip",
                            vstart,
                            end,
                            format!("`{value}` is not an IPv4 or IPv6 address; it was ignored"),
                            "write e.g. ip=10.1.0.5 or ips=10.1.0.5,fd00::5".into(),
                        ),
                    }
                }
                "ports" if is_reserved => {
                    list = Some(key);
                    if let Some(p) = container_port(cx, value, vstart) {
                        if seen_ports.insert(p.clone()) {
                            out.ports.push(p);
                        }
                    }
                }
                "hostNetwork" if is_reserved => match value {
                    "true" => out.host_network = true,
                    "false" => out.host_network = false,
                    _ => cx.error(
                        "invalid-label",
                        vstart,
                        end,
                        format!("`hostNetwork={value}` is not true or false; it was ignored"),
                        "write hostNetwork=true for a pod on its node's network".into(),
                    ),
                },
                "node" if is_reserved => {
                    if value.is_empty() {
                        cx.error(
                            "invalid-label",
                            start,
                            end,
                            "`node=` needs a node name".into(),
                            "write e.g. node=worker-1".into(),
                        );
                    } else {
                        out.node = Some(value.to_owned());
                    }
                }
                _ => {
                    let mut ok = true;
                    if let Err(e) = names::label_key(key) {
                        cx.error(
                            "invalid-label",
                            start,
                            start + key.len(),
                            format!("label key `{key}` {e}; the label was ignored"),
                            "label keys look like `app` or `app.kubernetes.io/name`".into(),
                        );
                        ok = false;
                    }
                    if let Err(e) = names::label_value(value) {
                        cx.error(
                            "invalid-label",
                            vstart,
                            end,
                            format!("label value `{value}` {e}; the label was ignored"),
                            "label values are at most 63 letters, digits, `-`, `_` or `.`".into(),
                        );
                        ok = false;
                    }
                    if ok {
                        if out.labels.contains_key(key) {
                            cx.warning(
                                "duplicate-key",
                                start,
                                end,
                                format!("label `{key}` is given twice; the last value is used"),
                                "give each label once".into(),
                            );
                        }
                        out.labels.insert(key.to_owned(), value.to_owned());
                    }
                }
            }
        }
    }
    out
}

/// `[name:]port[/PROTOCOL]`.
fn container_port(cx: &mut Line, value: &str, start: usize) -> Option<ContainerPort> {
    let end = start + value.len();
    let (rest, protocol) = match value.rsplit_once('/') {
        Some((r, p)) => match Protocol::parse(p) {
            Some(proto) => (r, proto),
            None => {
                cx.error(
                    "unknown-protocol",
                    start + r.len() + 1,
                    end,
                    format!("unknown protocol `{p}`; the port was ignored"),
                    "use TCP, UDP or SCTP, e.g. ports=dns:53/UDP".into(),
                );
                return None;
            }
        },
        None => (value, Protocol::TCP),
    };
    let (name, number) = match rest.split_once(':') {
        Some((n, p)) => (Some(n), p),
        None => (None, rest),
    };
    let port = match number.parse::<u32>() {
        Ok(n @ 1..=65535) => n as u16,
        _ => {
            cx.error(
                "invalid-port",
                start,
                end,
                format!("`{value}` is not a port: expected [name:]number[/PROTOCOL] with number 1-65535; it was ignored"),
                "write e.g. ports=8080, ports=http:8080 or ports=dns:53/UDP".into(),
            );
            return None;
        }
    };
    if let Some(n) = name {
        if let Err(e) = names::port_name(n) {
            cx.error(
                "invalid-port",
                start,
                start + n.len(),
                format!("port name `{n}` {e}; the port was ignored"),
                "port names are at most 15 lower-case letters, digits and `-`".into(),
            );
            return None;
        }
    }
    Some(ContainerPort {
        name: name.map(str::to_owned),
        port,
        protocol,
    })
}
