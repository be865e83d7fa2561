//! Downloads: the graph as a standalone SVG, the matrix as CSV and JSON, the connectivity
//! as Graphviz DOT and Mermaid. Pure text builders; the browser part only wraps a Blob.
//!
//! Every export says which port it is for (in its content and its file name), and in
//! compare mode carries both states: the matrices before and after with each pair's change,
//! the drawings with added and removed connections marked. Names are escaped for each
//! format so that any text a user can type — quotes, brackets, control characters — yields
//! a file that parses.

use serde::Serialize;

use crate::compare::{self, Merged, Table};
use crate::connectivity::{Cell, Graph};
use crate::layout::{Layout, NODE_H, NODE_W};
use crate::probe::Probe;

/// What is exported: the graph on screen, and in compare mode the After graph and the union.
pub struct Snapshot<'a> {
    /// The (before) graph for the probe.
    pub graph: &'a Graph,
    /// Its layout.
    pub layout: &'a Layout,
    /// The probe.
    pub probe: &'a Probe,
    /// Compare mode: the After graph and the union drawn on the before nodes.
    pub compare: Option<(&'a Graph, &'a Merged)>,
}

/// The export formats.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The drawing, standalone SVG.
    Svg,
    /// The matrix.
    Csv,
    /// The matrix and edges.
    Json,
    /// Graphviz.
    Dot,
    /// Mermaid flowchart.
    Mermaid,
}

/// A file to download.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct File {
    /// Suggested file name (names the port, and `compare` in compare mode).
    pub name: String,
    /// MIME type.
    pub mime: &'static str,
    /// Content.
    pub content: String,
}

/// The file for `kind`.
pub fn file(kind: Kind, s: &Snapshot) -> File {
    let stem = |what: &str, ext: &str| {
        let mode = if s.compare.is_some() { "-compare" } else { "" };
        format!("netpol-{what}-{}{mode}.{ext}", port_slug(s.probe))
    };
    match kind {
        Kind::Svg => File {
            name: stem("graph", "svg"),
            mime: "image/svg+xml",
            content: svg(s),
        },
        Kind::Csv => File {
            name: stem("matrix", "csv"),
            mime: "text/csv",
            content: match s.compare {
                Some((after, _)) => csv_compare(s.graph, after, s.probe),
                None => csv(s.graph, s.probe),
            },
        },
        Kind::Json => File {
            name: stem("matrix", "json"),
            mime: "application/json",
            content: match s.compare {
                Some((after, _)) => json_compare(s.graph, after, &s.probe.key()),
                None => json(s.graph, &s.probe.key()),
            },
        },
        Kind::Dot => File {
            name: stem("connectivity", "dot"),
            mime: "text/vnd.graphviz",
            content: dot(s.graph, s.compare.map(|c| c.1), s.probe),
        },
        Kind::Mermaid => File {
            name: stem("connectivity", "mmd"),
            mime: "text/plain",
            content: mermaid(s.graph, s.compare.map(|c| c.1), s.probe),
        },
    }
}

/// The probe as a file-name part: `any-port`, `80-TCP`, `http-TCP`.
pub fn port_slug(probe: &Probe) -> String {
    match probe {
        Probe::Any => "any-port".to_string(),
        Probe::Port(protocol, port) => {
            let port: String = port
                .to_string()
                .chars()
                .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
                .collect();
            format!("{port}-{protocol}")
        }
    }
}

/// A control character made visible (the Unicode "control pictures"), so no format ever
/// carries a raw one: XML 1.0 forbids them outright, DOT and Mermaid break lines on them.
fn visible(c: char) -> char {
    match c {
        '\u{0}'..='\u{1f}' => char::from_u32(0x2400 + c as u32).unwrap_or('\u{fffd}'),
        '\u{7f}' => '\u{2421}',
        '\u{fffe}' | '\u{ffff}' => '\u{fffd}',
        c => c,
    }
}

fn cell_word(c: Cell) -> &'static str {
    match c {
        Cell::Allowed => "allowed",
        Cell::Denied => "denied",
        Cell::NotApplicable => "",
    }
}

/// One CSV field: quoted when needed, control characters made visible, and a leading `=`,
/// `+`, `-` or `@` defused with `'` so a spreadsheet never runs a name as a formula.
fn csv_field(s: &str) -> String {
    let mut s: String = s.chars().map(visible).collect();
    if s.starts_with(['=', '+', '-', '@']) {
        s.insert(0, '\'');
    }
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

fn csv_corner(probe: &Probe, compare: bool) -> String {
    let mode = if compare { ", before -> after" } else { "" };
    csv_field(&format!("from \\ to ({}{mode})", probe.label()))
}

/// Matrix as CSV: the corner names the port, a header row of destinations, one row per source.
pub fn csv(graph: &Graph, probe: &Probe) -> String {
    let mut out = csv_corner(probe, false);
    for n in &graph.nodes {
        out.push(',');
        out.push_str(&csv_field(&n.id));
    }
    out.push('\n');
    for (a, n) in graph.nodes.iter().enumerate() {
        out.push_str(&csv_field(&n.id));
        for b in 0..graph.nodes.len() {
            out.push(',');
            out.push_str(cell_word(graph.cell(a, b)));
        }
        out.push('\n');
    }
    out
}

/// Compare mode's CSV: the union of both states' endpoints; a cell is its verdict when the
/// change leaves it alone, else `before -> after` (`absent` for an endpoint one side lacks).
pub fn csv_compare(before: &Graph, after: &Graph, probe: &Probe) -> String {
    let table = Table::new(before, after);
    let mut out = csv_corner(probe, true);
    for id in &table.ids {
        out.push(',');
        out.push_str(&csv_field(id));
    }
    out.push('\n');
    let k = table.ids.len();
    for a in 0..k {
        out.push_str(&csv_field(&table.ids[a]));
        for b in 0..k {
            let p = table.pair(before, after, a, b);
            out.push(',');
            if p.change() == "same" {
                out.push_str(p.after.map_or("", cell_word));
            } else {
                out.push_str(&format!(
                    "{} -> {}",
                    compare::cell_word(p.before),
                    compare::cell_word(p.after)
                ));
            }
        }
        out.push('\n');
    }
    out
}

#[derive(Serialize)]
struct JsonMatrix<'a> {
    probe: &'a str,
    nodes: Vec<&'a str>,
    /// `allowed[from][to]`; `null` where the question does not apply.
    allowed: Vec<Vec<Option<bool>>>,
    edges: Vec<JsonEdge<'a>>,
}

#[derive(Serialize)]
struct JsonEdge<'a> {
    from: &'a str,
    to: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    ports: Option<&'a str>,
}

fn allowed_rows(graph: &Graph) -> Vec<Vec<Option<bool>>> {
    let k = graph.nodes.len();
    (0..k)
        .map(|a| {
            (0..k)
                .map(|b| match graph.cell(a, b) {
                    Cell::Allowed => Some(true),
                    Cell::Denied => Some(false),
                    Cell::NotApplicable => None,
                })
                .collect()
        })
        .collect()
}

fn json_matrix<'a>(graph: &'a Graph, probe: &'a str) -> JsonMatrix<'a> {
    JsonMatrix {
        probe,
        nodes: graph.nodes.iter().map(|n| n.id.as_str()).collect(),
        allowed: allowed_rows(graph),
        edges: graph
            .edges
            .iter()
            .filter(|e| e.allowed)
            .map(|e| JsonEdge {
                from: &graph.nodes[e.from].id,
                to: &graph.nodes[e.to].id,
                ports: e.ports.as_deref(),
            })
            .collect(),
    }
}

/// Matrix and allowed edges as JSON.
pub fn json(graph: &Graph, probe: &str) -> String {
    serde_json::to_string_pretty(&json_matrix(graph, probe)).unwrap_or_default()
}

#[derive(Serialize)]
struct JsonCompare<'a> {
    probe: &'a str,
    before: JsonMatrix<'a>,
    after: JsonMatrix<'a>,
    /// Every ordered pair whose verdict differs.
    changes: Vec<JsonChange<'a>>,
}

#[derive(Serialize)]
struct JsonChange<'a> {
    from: &'a str,
    to: &'a str,
    change: &'static str,
    before: &'static str,
    after: &'static str,
}

/// Compare mode's JSON: both matrices and the pairs that change.
pub fn json_compare(before: &Graph, after: &Graph, probe: &str) -> String {
    let table = Table::new(before, after);
    let k = table.ids.len();
    let changes = (0..k * k)
        .filter_map(|i| {
            let p = table.pair(before, after, i / k, i % k);
            (p.change() != "same").then(|| JsonChange {
                from: &table.ids[i / k],
                to: &table.ids[i % k],
                change: p.change(),
                before: compare::cell_word(p.before),
                after: compare::cell_word(p.after),
            })
        })
        .collect();
    let out = JsonCompare {
        probe,
        before: json_matrix(before, probe),
        after: json_matrix(after, probe),
        changes,
    };
    serde_json::to_string_pretty(&out).unwrap_or_default()
}

/// A DOT quoted string: backslash and quote escaped, line breaks as DOT's `\n`, other
/// control characters made visible.
fn dot_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(visible(c)),
        }
    }
    out.push('"');
    out
}

/// Namespaces in order of first appearance (the layout's order), outside addresses last.
fn namespaces(graph: &Graph) -> Vec<Option<&str>> {
    let mut out: Vec<Option<&str>> = graph.nodes.iter().map(|n| n.namespace.as_deref()).collect();
    out.sort();
    out.dedup();
    out
}

/// One drawn edge for the text formats: ends, status word, port label.
struct Line<'a> {
    from: usize,
    to: usize,
    status: &'static str,
    ports: Option<&'a str>,
}

fn lines<'a>(graph: &'a Graph, merged: Option<&'a Merged>) -> Vec<Line<'a>> {
    match merged {
        Some(m) => m
            .edges
            .iter()
            .map(|e| Line {
                from: e.from,
                to: e.to,
                status: e.status.verdict(),
                ports: e.ports.as_deref(),
            })
            .collect(),
        None => graph
            .edges
            .iter()
            .map(|e| Line {
                from: e.from,
                to: e.to,
                status: if e.allowed { "allowed" } else { "denied" },
                ports: e.ports.as_deref(),
            })
            .collect(),
    }
}

/// Graphviz DOT: a cluster subgraph per namespace; allowed edges solid, denied dashed grey;
/// in compare mode added edges bold green and removed ones dashed magenta.
pub fn dot(graph: &Graph, merged: Option<&Merged>, probe: &Probe) -> String {
    let mode = if merged.is_some() {
        ", before -> after"
    } else {
        ""
    };
    let mut out = format!(
        "digraph netpol {{\n  label={};\n  labelloc=t;\n  rankdir=LR;\n  node [shape=box, style=rounded];\n",
        dot_quote(&format!("netpol connectivity, {}{mode}", probe.label()))
    );
    for (i, ns) in namespaces(graph).iter().enumerate() {
        let title = ns.unwrap_or("outside the cluster");
        out.push_str(&format!(
            "  subgraph cluster_{i} {{\n    label={};\n",
            dot_quote(title)
        ));
        for n in graph.nodes.iter().filter(|n| n.namespace.as_deref() == *ns) {
            out.push_str(&format!(
                "    {} [label={}];\n",
                dot_quote(&n.id),
                dot_quote(&n.label)
            ));
        }
        out.push_str("  }\n");
    }
    for e in lines(graph, merged) {
        let mut attrs = Vec::new();
        let label = match (e.status, e.ports) {
            ("added" | "removed", Some(p)) => Some(format!("{}: {p}", e.status)),
            ("added" | "removed", None) => Some(e.status.to_string()),
            (_, p) => p.map(str::to_string),
        };
        if let Some(l) = label {
            attrs.push(format!("label={}", dot_quote(&l)));
        }
        match e.status {
            "denied" => attrs.extend(["style=dashed".into(), "color=gray".into()]),
            "added" => attrs.extend(["style=bold".into(), "color=\"#009e73\"".into()]),
            "removed" => attrs.extend(["style=dashed".into(), "color=\"#cc3d8f\"".into()]),
            _ => {}
        }
        let attrs = if attrs.is_empty() {
            String::new()
        } else {
            format!(" [{}]", attrs.join(", "))
        };
        out.push_str(&format!(
            "  {} -> {}{attrs};\n",
            dot_quote(&graph.nodes[e.from].id),
            dot_quote(&graph.nodes[e.to].id)
        ));
    }
    out.push_str("}\n");
    out
}

/// Mermaid label text: every character that could end a label or a statement, start an
/// entity or a comment (quotes, brackets, `|`, `#`, `;`, `%`, `<`, `>`, `&`, backticks, …) is
/// written as Mermaid's `#NNN;` entity; control characters are made visible first.
fn mermaid_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().map(visible) {
        if c.is_alphanumeric() || " ./:=,_-*+()".contains(c) {
            out.push(c);
        } else {
            out.push_str(&format!("#{};", c as u32));
        }
    }
    out
}

/// Mermaid flowchart: namespaces as subgraphs, node ids `n0..`, labels quoted and escaped;
/// in compare mode added edges thick (`==>`) and removed ones dotted (`-.->`), both labelled.
pub fn mermaid(graph: &Graph, merged: Option<&Merged>, probe: &Probe) -> String {
    let mode = if merged.is_some() {
        ", before → after"
    } else {
        ""
    };
    let mut out = format!(
        "---\ntitle: \"{}\"\n---\nflowchart LR\n",
        mermaid_text(&format!("netpol connectivity, {}{mode}", probe.label()))
    );
    for (i, ns) in namespaces(graph).iter().enumerate() {
        let title = ns.unwrap_or("outside the cluster");
        out.push_str(&format!("  subgraph ns{i}[\"{}\"]\n", mermaid_text(title)));
        for (k, n) in graph
            .nodes
            .iter()
            .enumerate()
            .filter(|(_, n)| n.namespace.as_deref() == *ns)
        {
            out.push_str(&format!("    n{k}[\"{}\"]\n", mermaid_text(&n.label)));
        }
        out.push_str("  end\n");
    }
    for e in lines(graph, merged) {
        let arrow = match e.status {
            "denied" | "removed" => "-.->",
            "added" => "==>",
            _ => "-->",
        };
        let label = match (e.status, e.ports) {
            ("added" | "removed", Some(p)) => Some(format!("{}: {p}", e.status)),
            ("added" | "removed", None) => Some(e.status.to_string()),
            (_, p) => p.map(str::to_string),
        };
        match label {
            Some(l) => out.push_str(&format!(
                "  n{} {arrow}|\"{}\"| n{}\n",
                e.from,
                mermaid_text(&l),
                e.to
            )),
            None => out.push_str(&format!("  n{} {arrow} n{}\n", e.from, e.to)),
        }
    }
    out
}

/// XML text: markup characters as entities, control characters made visible (XML 1.0 has
/// no way to carry them, not even as `&#1;`).
fn xml(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars().map(visible) {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&apos;"),
            c => out.push(c),
        }
    }
    out
}

/// At most `max` characters, with `…` when cut: what fits in a box.
fn fit(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Characters of 12 px text that fit in `width` px (a conservative average glyph width).
fn chars_in(width: f64) -> usize {
    ((width - 16.0) / 7.2).max(4.0) as usize
}

const LEGEND_H: f64 = 44.0;

fn edge_style(status: &str) -> (&'static str, &'static str, &'static str) {
    match status {
        "denied" => ("#d55e00", " stroke-dasharray=\"6 4\"", "arrow-denied"),
        "added" => (
            "#009e73",
            " stroke-dasharray=\"12 4\" stroke-width=\"2.6\"",
            "arrow-added",
        ),
        "removed" => (
            "#cc3d8f",
            " stroke-dasharray=\"2 5\" stroke-width=\"2.6\" stroke-linecap=\"round\"",
            "arrow-removed",
        ),
        _ => ("#0072b2", "", "arrow-allowed"),
    }
}

fn iso_fill(iso: crate::analysis::Isolation) -> &'static str {
    match iso {
        crate::analysis::Isolation::None => "#ffffff",
        crate::analysis::Isolation::Ingress => "#cfe8f7",
        crate::analysis::Isolation::Egress => "#fbe3c5",
        crate::analysis::Isolation::Both => "#e3d3ea",
    }
}

/// The legend strip under the drawing: isolation fills and edge styles.
fn svg_legend(out: &mut String, y: f64, compare: bool) {
    use crate::analysis::Isolation;
    let mut x = 0.0;
    out.push_str(&format!(
        "<g font-size=\"11\" fill=\"#2d3748\" transform=\"translate(0,{y:.1})\">\n"
    ));
    for iso in [
        Isolation::None,
        Isolation::Ingress,
        Isolation::Egress,
        Isolation::Both,
    ] {
        out.push_str(&format!(
            "<rect x=\"{x:.1}\" y=\"0\" width=\"26\" height=\"14\" rx=\"3\" fill=\"{}\" stroke=\"#4a5568\"/><text x=\"{:.1}\" y=\"11\">{}</text>\n",
            iso_fill(iso),
            x + 32.0,
            iso.words()
        ));
        x += 40.0 + iso.words().len() as f64 * 6.2;
    }
    let mut statuses = vec!["allowed", "denied"];
    if compare {
        statuses.extend(["added", "removed"]);
    }
    for status in statuses {
        let (stroke, dash, _) = edge_style(status);
        out.push_str(&format!(
            "<line x1=\"{x:.1}\" y1=\"7\" x2=\"{:.1}\" y2=\"7\" stroke=\"{stroke}\" stroke-width=\"1.8\"{dash}/><text x=\"{:.1}\" y=\"11\">{status}</text>\n",
            x + 28.0,
            x + 34.0
        ));
        x += 44.0 + status.len() as f64 * 6.2;
    }
    out.push_str(&format!(
        "<text x=\"{x:.1}\" y=\"11\" font-style=\"italic\">no label = all ports</text>\n</g>\n"
    ));
}

fn svg_markers(out: &mut String) {
    out.push_str("<defs>");
    for status in ["allowed", "denied", "added", "removed"] {
        let (fill, _, id) = edge_style(status);
        out.push_str(&format!(
            "<marker id=\"{id}\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"{fill}\"/></marker>"
        ));
    }
    out.push_str("</defs>\n");
}

/// A standalone SVG of the graph with inline colours (no page CSS needed), a title naming
/// the port, labels cut to fit their boxes, and a legend.
pub fn svg(s: &Snapshot) -> String {
    let (graph, layout) = (s.graph, s.layout);
    let (w, h) = (
        layout.width.max(560.0) + 40.0,
        layout.height + 60.0 + LEGEND_H,
    );
    let mode = if s.compare.is_some() {
        ", before → after"
    } else {
        ""
    };
    let title = format!("netpol connectivity, {}{mode}", s.probe.label());
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"-20 -40 {w} {h}\" font-family=\"system-ui, sans-serif\" font-size=\"12\">\n<title>{}</title>\n",
        xml(&title)
    );
    svg_markers(&mut out);
    out.push_str(&format!(
        "<rect x=\"-20\" y=\"-40\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n<text x=\"0\" y=\"-18\" font-size=\"14\" font-weight=\"600\">{}</text>\n",
        xml(&title)
    ));
    for b in &layout.boxes {
        let name = b.namespace.as_deref().unwrap_or("outside the cluster");
        out.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"10\" fill=\"#f5f7fa\" stroke=\"#c4ccd6\"/>\n<text x=\"{}\" y=\"{}\" font-weight=\"600\" fill=\"#4a5568\">{}</text>\n",
            b.x, b.y, b.w, b.h, b.x + 12.0, b.y + 20.0, xml(&fit(name, chars_in(b.w)))
        ));
    }
    for e in lines(graph, s.compare.map(|c| c.1)) {
        let (Some(a), Some(b)) = (layout.positions.get(e.from), layout.positions.get(e.to)) else {
            continue;
        };
        let (d, (mx, my)) = crate::geometry::edge_path(*a, *b);
        let (stroke, dash, marker) = edge_style(e.status);
        out.push_str(&format!(
            "<path d=\"{d}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"1.6\"{dash} marker-end=\"url(#{marker})\"/>\n"
        ));
        if let Some(p) = e.ports.filter(|p| *p != "all ports") {
            out.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#2d3748\" text-anchor=\"middle\" paint-order=\"stroke\" stroke=\"#ffffff\" stroke-width=\"3\">{}</text>\n",
                mx,
                my - 4.0,
                xml(&fit(p, 28))
            ));
        }
    }
    for (i, n) in graph.nodes.iter().enumerate() {
        let Some((x, y)) = layout.positions.get(i) else {
            continue;
        };
        out.push_str(&format!(
            "<g><title>{}</title><rect x=\"{:.1}\" y=\"{:.1}\" width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"8\" fill=\"{}\" stroke=\"#4a5568\"/>\n<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text></g>\n",
            xml(&n.id),
            x - NODE_W / 2.0,
            y - NODE_H / 2.0,
            iso_fill(n.isolation),
            y + 4.0,
            xml(&fit(&n.label, chars_in(NODE_W)))
        ));
    }
    svg_legend(&mut out, layout.height + 10.0, s.compare.is_some());
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::analysis::Analysis;
    use crate::analysis::Isolation;
    use crate::connectivity::{Edge, Node, NodeKind};

    #[test]
    fn escaping() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("x\"y"), "\"x\"\"y\"");
        assert_eq!(csv_field("=cmd()"), "'=cmd()");
        assert_eq!(dot_quote("a\"b"), "\"a\\\"b\"");
        assert_eq!(dot_quote("a\\l\nb\u{1}"), "\"a\\\\l\\nb\u{2401}\"");
        assert_eq!(xml("<a&b>"), "&lt;a&amp;b&gt;");
        assert_eq!(xml("a\u{1}b\u{1b}"), "a\u{2401}b\u{241b}");
        assert_eq!(mermaid_text("a\"b]|#;c"), "a#34;b#93;#124;#35;#59;c");
        assert_eq!(port_slug(&Probe::Any), "any-port");
        assert_eq!(port_slug(&Probe::parse("UDP:53").unwrap()), "53-UDP");
        assert_eq!(port_slug(&Probe::parse("TCP:http").unwrap()), "http-TCP");
    }

    /// A graph whose names hold every character the formats care about.
    fn hostile() -> Graph {
        let names = [
            "a\"b\\c",
            "x]y|z#w;%%v",
            "<t&'s>\u{1}\u{7}\n=1+2",
            "`md` **b**",
        ];
        let nodes: Vec<Node> = names
            .iter()
            .map(|n| Node {
                id: format!("ns\"1/{n}"),
                label: n.to_string(),
                namespace: Some("ns\"1\n]".into()),
                kind: NodeKind::Pod(0),
                isolation: Isolation::Both,
            })
            .collect();
        let k = nodes.len();
        let edges = (0..k)
            .map(|i| Edge {
                from: i,
                to: (i + 1) % k,
                allowed: true,
                ports: Some("TCP \"80\"|\u{2}".into()),
            })
            .collect();
        Graph {
            nodes,
            cells: vec![Cell::Allowed; k * k],
            edges,
            grouped: false,
            graph: Default::default(),
        }
    }

    /// Every quoted DOT string closes on its line: no raw quote, newline or control.
    fn dot_is_well_formed(dot: &str) {
        for line in dot.lines() {
            let mut quoted = false;
            let mut chars = line.chars();
            while let Some(c) = chars.next() {
                match c {
                    '\\' if quoted => {
                        chars.next();
                    }
                    '"' => quoted = !quoted,
                    c if c.is_control() => panic!("control character in {line:?}"),
                    _ => {}
                }
            }
            assert!(!quoted, "unclosed string in {line:?}");
        }
    }

    #[test]
    fn hostile_names_survive_every_format() {
        let g = hostile();
        let keys: Vec<Option<&str>> = g.nodes.iter().map(|n| n.namespace.as_deref()).collect();
        let l = crate::layout::layout(&keys);
        let probe = Probe::Any;
        let snap = Snapshot {
            graph: &g,
            layout: &l,
            probe: &probe,
            compare: None,
        };

        let dot = file(Kind::Dot, &snap).content;
        dot_is_well_formed(&dot);
        assert_eq!(dot.matches(" -> ").count(), g.edges.len());

        let mmd = file(Kind::Mermaid, &snap).content;
        for line in mmd.lines().skip(4) {
            // Labels are the odd segments between quotes: none may hold a character that
            // ends a label or a statement.
            let parts: Vec<&str> = line.split('"').collect();
            assert!(parts.len() % 2 == 1, "unbalanced quotes: {line}");
            for label in parts.iter().skip(1).step_by(2) {
                assert!(
                    !label.contains(['[', ']', '|', '%', '`', '<', '>']),
                    "{line}"
                );
            }
            assert!(!line.chars().any(char::is_control), "{line:?}");
        }
        assert_eq!(mmd.matches("-->").count(), g.edges.len());

        let svg = file(Kind::Svg, &snap).content;
        assert!(
            !svg.chars().any(|c| c.is_control() && c != '\n'),
            "raw control character"
        );
        assert!(!svg.contains("<t&"), "unescaped markup");

        let csv = file(Kind::Csv, &snap).content;
        assert_eq!(
            csv.lines().count(),
            g.nodes.len() + 1,
            "one line per row: {csv}"
        );
        let json: serde_json::Value =
            serde_json::from_str(&file(Kind::Json, &snap).content).unwrap();
        assert_eq!(json["nodes"][0], "ns\"1/a\"b\\c");
    }

    #[test]
    fn exports_of_the_default_example() {
        let ex = &crate::examples::EXAMPLES[0];
        let a = Analysis::new(ex.policies, ex.cluster);
        let g = crate::connectivity::build(&a, &Probe::Any, false, &Default::default());
        let keys: Vec<Option<&str>> = g.nodes.iter().map(|n| n.namespace.as_deref()).collect();
        let l = crate::layout::layout(&keys);
        let probe = Probe::parse("TCP:80").unwrap();
        let snap = Snapshot {
            graph: &g,
            layout: &l,
            probe: &probe,
            compare: None,
        };

        let csv = file(Kind::Csv, &snap);
        assert_eq!(csv.name, "netpol-matrix-80-TCP.csv");
        assert_eq!(csv.content.lines().count(), g.nodes.len() + 1);
        assert!(
            csv.content
                .starts_with("from \\ to (80/TCP),default/backend,"),
            "{}",
            csv.content
        );

        let dot = dot(&g, None, &probe);
        assert!(dot.contains("\"default/frontend\" -> \"default/backend\""));

        let mmd = mermaid(&g, None, &probe);
        assert!(mmd.contains("flowchart LR"));
        assert_eq!(mmd.matches("-->").count(), g.edges.len());

        let json: serde_json::Value = serde_json::from_str(&json(&g, "any")).unwrap();
        assert_eq!(json["nodes"].as_array().unwrap().len(), g.nodes.len());
        assert_eq!(json["edges"].as_array().unwrap().len(), g.edges.len());

        let svg = svg(&snap);
        assert!(svg.starts_with("<svg"));
        // one curved path per edge (the arrowhead markers are straight paths)
        assert_eq!(svg.matches(" Q").count(), g.edges.len());
        assert!(
            svg.contains("ingress-isolated") && svg.contains(">denied<"),
            "a legend"
        );
    }

    #[test]
    fn compare_exports_carry_both_states() {
        let cluster = "pod x/a app=a\npod x/b app=b\n";
        let policy = "kind: NetworkPolicy\nmetadata: {name: p, namespace: x}\nspec:\n  podSelector: {matchLabels: {app: b}}\n  policyTypes: [Ingress]\n";
        let before = crate::connectivity::build(
            &Analysis::new("", cluster),
            &Probe::Any,
            false,
            &Default::default(),
        );
        let after = crate::connectivity::build(
            &Analysis::new(policy, cluster),
            &Probe::Any,
            false,
            &Default::default(),
        );
        let merged = compare::merge(&before, &after);
        let keys: Vec<Option<&str>> = before
            .nodes
            .iter()
            .map(|n| n.namespace.as_deref())
            .collect();
        let l = crate::layout::layout(&keys);
        let probe = Probe::Any;
        let snap = Snapshot {
            graph: &before,
            layout: &l,
            probe: &probe,
            compare: Some((&after, &merged)),
        };

        let csv = file(Kind::Csv, &snap);
        assert_eq!(csv.name, "netpol-matrix-any-port-compare.csv");
        assert!(csv.content.contains("allowed -> denied"), "{}", csv.content);
        let json: serde_json::Value =
            serde_json::from_str(&file(Kind::Json, &snap).content).unwrap();
        let change = json["changes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["from"] == "x/a" && c["to"] == "x/b")
            .expect("x/a -> x/b changes");
        assert_eq!(
            (change["before"].as_str(), change["after"].as_str()),
            (Some("allowed"), Some("denied"))
        );
        assert!(file(Kind::Dot, &snap)
            .content
            .contains("label=\"removed: all ports\""));
        assert!(file(Kind::Mermaid, &snap)
            .content
            .contains("-.->|\"removed: all ports\"|"));
        let svg = file(Kind::Svg, &snap).content;
        assert!(svg.contains("url(#arrow-removed)") && svg.contains(">removed<"));
    }
}
