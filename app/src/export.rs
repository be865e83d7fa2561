//! Downloads: the graph as a standalone SVG, the matrix as CSV and JSON, the connectivity
//! as Graphviz DOT and Mermaid. Pure text builders; the browser part only wraps a Blob.

use serde::Serialize;

use crate::connectivity::{Cell, Graph};
use crate::layout::{Layout, NODE_H, NODE_W};

fn cell_word(c: Cell) -> &'static str {
    match c {
        Cell::Allowed => "allowed",
        Cell::Denied => "denied",
        Cell::NotApplicable => "",
    }
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}

/// Matrix as CSV: header row of destinations, one row per source.
pub fn csv(graph: &Graph) -> String {
    let mut out = String::from("from \\ to");
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

/// Matrix and allowed edges as JSON.
pub fn json(graph: &Graph, probe: &str) -> String {
    let k = graph.nodes.len();
    let m = JsonMatrix {
        probe,
        nodes: graph.nodes.iter().map(|n| n.id.as_str()).collect(),
        allowed: (0..k)
            .map(|a| {
                (0..k)
                    .map(|b| match graph.cell(a, b) {
                        Cell::Allowed => Some(true),
                        Cell::Denied => Some(false),
                        Cell::NotApplicable => None,
                    })
                    .collect()
            })
            .collect(),
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
    };
    serde_json::to_string_pretty(&m).unwrap_or_default()
}

fn dot_quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Graphviz DOT: a cluster subgraph per namespace, allowed edges solid, denied dashed.
pub fn dot(graph: &Graph) -> String {
    let mut out =
        String::from("digraph netpol {\n  rankdir=LR;\n  node [shape=box, style=rounded];\n");
    let mut namespaces: Vec<Option<&str>> =
        graph.nodes.iter().map(|n| n.namespace.as_deref()).collect();
    namespaces.dedup();
    namespaces.sort();
    namespaces.dedup();
    for (i, ns) in namespaces.iter().enumerate() {
        match ns {
            Some(name) => out.push_str(&format!(
                "  subgraph cluster_{i} {{\n    label={};\n",
                dot_quote(name)
            )),
            None => out.push_str(&format!(
                "  subgraph cluster_{i} {{\n    label=\"outside the cluster\";\n"
            )),
        }
        for n in graph.nodes.iter().filter(|n| n.namespace.as_deref() == *ns) {
            out.push_str(&format!(
                "    {} [label={}];\n",
                dot_quote(&n.id),
                dot_quote(&n.label)
            ));
        }
        out.push_str("  }\n");
    }
    for e in &graph.edges {
        let mut attrs = Vec::new();
        if let Some(p) = &e.ports {
            attrs.push(format!("label={}", dot_quote(p)));
        }
        if !e.allowed {
            attrs.push("style=dashed".into());
            attrs.push("color=gray".into());
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

fn mermaid_text(s: &str) -> String {
    s.replace('"', "#quot;")
}

/// Mermaid flowchart: namespaces as subgraphs, node ids `n0..`, labels quoted.
pub fn mermaid(graph: &Graph) -> String {
    let mut out = String::from("flowchart LR\n");
    let mut namespaces: Vec<Option<&str>> =
        graph.nodes.iter().map(|n| n.namespace.as_deref()).collect();
    namespaces.sort();
    namespaces.dedup();
    for (i, ns) in namespaces.iter().enumerate() {
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
    for e in &graph.edges {
        let arrow = if e.allowed { "-->" } else { "-.->" };
        match &e.ports {
            Some(p) => out.push_str(&format!(
                "  n{} {arrow}|\"{}\"| n{}\n",
                e.from,
                mermaid_text(p),
                e.to
            )),
            None => out.push_str(&format!("  n{} {arrow} n{}\n", e.from, e.to)),
        }
    }
    out
}

fn xml(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// A standalone SVG of the graph with inline colours (no page CSS needed).
pub fn svg(graph: &Graph, layout: &Layout, title: &str) -> String {
    let (w, h) = (layout.width + 40.0, layout.height + 60.0);
    let mut out = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"-20 -40 {w} {h}\" font-family=\"system-ui, sans-serif\" font-size=\"12\">\n\
         <defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" markerWidth=\"7\" markerHeight=\"7\" orient=\"auto-start-reverse\"><path d=\"M0,0 L10,5 L0,10 z\" fill=\"#0072b2\"/></marker></defs>\n\
         <rect x=\"-20\" y=\"-40\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>\n\
         <text x=\"0\" y=\"-18\" font-size=\"14\" font-weight=\"600\">{}</text>\n",
        xml(title)
    );
    for b in &layout.boxes {
        let name = b.namespace.as_deref().unwrap_or("outside the cluster");
        out.push_str(&format!(
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"10\" fill=\"#f5f7fa\" stroke=\"#c4ccd6\"/>\n<text x=\"{}\" y=\"{}\" font-weight=\"600\" fill=\"#4a5568\">{}</text>\n",
            b.x, b.y, b.w, b.h, b.x + 12.0, b.y + 20.0, xml(name)
        ));
    }
    for e in &graph.edges {
        let (Some(a), Some(b)) = (layout.positions.get(e.from), layout.positions.get(e.to)) else {
            continue;
        };
        let (d, (mx, my)) = crate::geometry::edge_path(*a, *b);
        let (stroke, dash) = if e.allowed {
            ("#0072b2", "")
        } else {
            ("#d55e00", " stroke-dasharray=\"6 4\"")
        };
        out.push_str(&format!(
            "<path d=\"{d}\" fill=\"none\" stroke=\"{stroke}\" stroke-width=\"1.6\"{dash} marker-end=\"url(#arrow)\"/>\n"
        ));
        if let Some(p) = &e.ports {
            out.push_str(&format!(
                "<text x=\"{:.1}\" y=\"{:.1}\" font-size=\"10\" fill=\"#2d3748\" text-anchor=\"middle\">{}</text>\n",
                mx,
                my - 4.0,
                xml(p)
            ));
        }
    }
    for (i, n) in graph.nodes.iter().enumerate() {
        let Some((x, y)) = layout.positions.get(i) else {
            continue;
        };
        let fill = match n.isolation {
            crate::analysis::Isolation::None => "#ffffff",
            crate::analysis::Isolation::Ingress => "#cfe8f7",
            crate::analysis::Isolation::Egress => "#fbe3c5",
            crate::analysis::Isolation::Both => "#e3d3ea",
        };
        out.push_str(&format!(
            "<rect x=\"{:.1}\" y=\"{:.1}\" width=\"{NODE_W}\" height=\"{NODE_H}\" rx=\"8\" fill=\"{fill}\" stroke=\"#4a5568\"/>\n<text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>\n",
            x - NODE_W / 2.0,
            y - NODE_H / 2.0,
            y + 4.0,
            xml(&n.label)
        ));
    }
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping() {
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("x\"y"), "\"x\"\"y\"");
        assert_eq!(dot_quote("a\"b"), "\"a\\\"b\"");
        assert_eq!(xml("<a&b>"), "&lt;a&amp;b&gt;");
    }

    #[test]
    fn exports_of_the_default_example() {
        use crate::analysis::Analysis;
        use crate::probe::Probe;
        let ex = &crate::examples::EXAMPLES[0];
        let a = Analysis::new(ex.policies, ex.cluster);
        let g = crate::connectivity::build(&a, &Probe::Any, false, &Default::default());
        let keys: Vec<Option<&str>> = g.nodes.iter().map(|n| n.namespace.as_deref()).collect();
        let l = crate::layout::layout(&keys);

        let csv = csv(&g);
        assert_eq!(csv.lines().count(), g.nodes.len() + 1);
        assert!(csv.starts_with("from \\ to,default/backend,"));

        let dot = dot(&g);
        assert!(dot.contains("\"default/frontend\" -> \"default/backend\""));
        assert!(dot.contains("label=\"namespace\"") || dot.contains("label=\"default\""));

        let mmd = mermaid(&g);
        assert!(mmd.starts_with("flowchart LR"));
        assert_eq!(mmd.matches("-->").count(), g.edges.len());

        let json: serde_json::Value = serde_json::from_str(&json(&g, "any")).unwrap();
        assert_eq!(json["nodes"].as_array().unwrap().len(), g.nodes.len());
        assert_eq!(json["edges"].as_array().unwrap().len(), g.edges.len());

        let svg = svg(&g, &l, "t");
        assert!(svg.starts_with("<svg"));
        // one curved path per edge (the arrowhead marker is a straight path)
        assert_eq!(svg.matches(" Q").count(), g.edges.len());
    }
}
