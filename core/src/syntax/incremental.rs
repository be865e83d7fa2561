//! Incremental parsing for editors: a YAML stream is cut into its documents, each parsed
//! once and kept by its text, so parsing the next version of the text re-parses only the
//! documents an edit touched. A keystroke in a 10,000-pod cluster touches one.
//!
//! The result is exactly [`super::parse`]'s: documents are independent (lowering keeps no
//! state across them; duplicates are found later, in `build`), a cached document's spans
//! are moved to where the document now starts, and whatever could make documents depend on
//! each other falls back to parsing the whole text: the compact form, YAML directives
//! (`%`), explicit document ends (`...`), anchors and aliases (`&`, `*` anywhere in the
//! text), and a syntax error (which in a stream stops everything after it).
//! `tests/it/parse.rs` compares the two on every corpus input and on edits of them.

use std::collections::HashMap;

use crate::cluster_policy::{ClusterNetworkPolicy, ClusterPolicyRule};
use crate::diagnostic::{sort_diagnostics, Diagnostic, FileId, Span};
use crate::model::{Namespace, NetworkPolicy, NetworkPolicyRule, Node, Parsed, Pod, Service};

/// What was understood of each document of the last text, by document text.
#[derive(Debug, Default)]
pub struct ParseCache {
    /// The source these documents came from (a cache serves one editor).
    file: Option<FileId>,
    /// Each document parsed alone, as if it started the text (line 1, byte 0).
    documents: HashMap<Box<str>, Parsed>,
}

impl ParseCache {
    /// A cache with nothing in it.
    pub fn new() -> ParseCache {
        ParseCache::default()
    }

    /// The same as [`crate::parse`]`(file, text)`, re-parsing only documents not seen in
    /// the previous call (documents no longer in the text are forgotten).
    pub fn parse(&mut self, file: FileId, text: &str) -> Parsed {
        if self.file != Some(file) {
            self.documents.clear();
            self.file = Some(file);
        }
        let Some(pieces) = documents(text) else {
            self.documents.clear();
            return super::parse(file, text);
        };
        let mut kept = HashMap::with_capacity(pieces.len());
        let mut out = Parsed::default();
        for piece in pieces {
            let doc = &text[piece.start..piece.end];
            let parsed = match self.documents.remove(doc) {
                Some(parsed) => parsed,
                None => super::parse(file, doc),
            };
            if parsed.diagnostics.iter().any(|d| d.code == "yaml-syntax") {
                self.documents.clear();
                return super::parse(file, text);
            }
            append(&mut out, parsed.clone(), piece.start as u32, piece.line - 1);
            kept.insert(doc.into(), parsed);
        }
        self.documents = kept;
        sort_diagnostics(&mut out.diagnostics);
        out
    }
}

/// One document's place in the text: bytes `start..end`, starting on line `line`.
struct Piece {
    start: usize,
    end: usize,
    line: u32,
}

/// The documents of `text`, cut before every line that is a document marker (`---` alone
/// or followed by a space or tab), or `None` when the text must be parsed as a whole.
fn documents(text: &str) -> Option<Vec<Piece>> {
    if super::compact::is_compact(text) || text.contains(['&', '*']) {
        return None;
    }
    let mut pieces = Vec::new();
    let (mut start, mut start_line) = (0usize, 1u32);
    let mut at = 0usize;
    for (index, line) in text.split_inclusive('\n').enumerate() {
        let bare = line.trim_end_matches(['\n', '\r']);
        if bare.starts_with('%') || is_marker(bare, "...") {
            return None;
        }
        if is_marker(bare, "---") && at > start {
            pieces.push(Piece {
                start,
                end: at,
                line: start_line,
            });
            (start, start_line) = (at, index as u32 + 1);
        }
        at += line.len();
    }
    pieces.push(Piece {
        start,
        end: text.len(),
        line: start_line,
    });
    Some(pieces)
}

/// Whether `line` is the marker `marker`, alone or followed by blanks and more.
fn is_marker(line: &str, marker: &str) -> bool {
    line.strip_prefix(marker)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t']))
}

/// Appends a document's results to `out`, its spans moved `bytes` and `lines` further
/// (a document starts at the start of a line, so columns stay).
fn append(out: &mut Parsed, parsed: Parsed, bytes: u32, lines: u32) {
    let Parsed {
        policies,
        namespaces,
        pods,
        services,
        ignored,
        nodes,
        cluster_policies,
        diagnostics,
    } = parsed;
    let shift = |span: &mut Span| {
        span.start += bytes;
        span.end += bytes;
        span.line += lines;
    };
    out.policies.extend(policies.into_iter().map(|mut policy| {
        shift_policy(&mut policy, &shift);
        policy
    }));
    out.namespaces
        .extend(namespaces.into_iter().map(|mut namespace| {
            let Namespace {
                name: _,
                labels: _,
                span,
            } = &mut namespace;
            span.iter_mut().for_each(shift);
            namespace
        }));
    out.pods.extend(pods.into_iter().map(|mut pod| {
        let Pod {
            id: _,
            namespace: _,
            name: _,
            workload: _,
            labels: _,
            ips: _,
            ports: _,
            node: _,
            host_network: _,
            span,
        } = &mut pod;
        span.iter_mut().for_each(shift);
        pod
    }));
    out.services.extend(services.into_iter().map(|mut service| {
        let Service {
            id: _,
            namespace: _,
            name: _,
            selector: _,
            ports,
            span,
        } = &mut service;
        span.iter_mut().for_each(shift);
        ports.iter_mut().for_each(|p| shift(&mut p.span));
        service
    }));
    out.nodes.extend(nodes.into_iter().map(|mut node| {
        let Node {
            name: _,
            labels: _,
            addresses: _,
            span,
        } = &mut node;
        span.iter_mut().for_each(shift);
        node
    }));
    out.cluster_policies
        .extend(cluster_policies.into_iter().map(|mut policy| {
            shift_cluster_policy(&mut policy, &shift);
            policy
        }));
    for (kind, count) in ignored {
        *out.ignored.entry(kind).or_default() += count;
    }
    out.diagnostics
        .extend(diagnostics.into_iter().map(|mut diagnostic| {
            let Diagnostic {
                code: _,
                severity: _,
                message: _,
                help: _,
                span,
                related,
            } = &mut diagnostic;
            span.iter_mut().for_each(shift);
            related.iter_mut().for_each(|r| shift(&mut r.span));
            diagnostic
        }));
}

/// Every span of a policy: its own, its rules', their peers' and ports'. (The patterns
/// name every field, so a new field with a span cannot be forgotten here.)
fn shift_policy(policy: &mut NetworkPolicy, shift: &impl Fn(&mut Span)) {
    let NetworkPolicy {
        name: _,
        namespace: _,
        pod_selector: _,
        policy_types: _,
        ingress,
        egress,
        span,
    } = policy;
    shift(span);
    for rule in ingress.iter_mut().chain(egress.iter_mut()) {
        let NetworkPolicyRule { peers, ports, span } = rule;
        shift(span);
        peers.iter_mut().for_each(|p| shift(&mut p.span));
        ports.iter_mut().for_each(|p| shift(&mut p.span));
    }
}

/// Every span of a cluster policy: its own, its rules', their peers' and ports'.
fn shift_cluster_policy(policy: &mut ClusterNetworkPolicy, shift: &impl Fn(&mut Span)) {
    let ClusterNetworkPolicy {
        kind: _,
        api_version: _,
        name: _,
        tier: _,
        priority: _,
        subject: _,
        ingress,
        egress,
        span,
    } = policy;
    shift(span);
    for rule in ingress.iter_mut().chain(egress.iter_mut()) {
        let ClusterPolicyRule {
            name: _,
            action: _,
            peers,
            ports,
            fail_closed: _,
            span,
        } = rule;
        shift(span);
        peers.iter_mut().for_each(|p| shift(&mut p.span));
        ports.iter_mut().flatten().for_each(|p| shift(&mut p.span));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_at_markers_only() {
        let text = "a: 1\n---\nb: 2\n--- # c\nc: 3\n---x: 4\n";
        let pieces = documents(text).unwrap();
        let starts: Vec<(usize, u32)> = pieces.iter().map(|p| (p.start, p.line)).collect();
        assert_eq!(starts, [(0, 1), (5, 2), (14, 4)]);
        assert_eq!(pieces.last().unwrap().end, text.len());
        assert!(documents("%YAML 1.2\n---\na: 1\n").is_none());
        assert!(documents("a: &x 1\n---\nb: *x\n").is_none());
        assert!(documents("a: 1\n...\n").is_none());
        assert!(documents("pod x/a app=a\n").is_none(), "compact form");
    }
}
