//! The graph's search box: pods by id or name, workloads (`Deployment/api`, `api`), labels
//! (`app=api`, or a key alone), and drawn nodes by their label (groups, address classes).
//! Each hit names the node to show, and the group to open when the pod is inside one.
//! Pure text matching on the model the page has; nothing here decides connectivity.

use std::collections::BTreeMap;

use crate::analysis::Analysis;
use crate::connectivity::{Graph, NodeKind};

/// One search result.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hit {
    /// The node to select and centre once shown (a pod id, or a group/address node id).
    pub node: String,
    /// A collapsed group to expand first, when the match is a pod inside it.
    pub expand: Option<String>,
    /// What the result says (`default/api — app=api`).
    pub text: String,
    /// Matching endpoints this hit stands for.
    pub count: usize,
}

/// Where each pod is drawn: its own node, or a collapsed group's.
fn homes(graph: &Graph) -> BTreeMap<usize, (usize, bool)> {
    let mut out = BTreeMap::new();
    for (index, node) in graph.nodes.iter().enumerate() {
        match &node.kind {
            NodeKind::Pod(p) => {
                out.insert(*p, (index, false));
            }
            NodeKind::Group(members) => {
                for p in members {
                    out.insert(*p, (index, true));
                }
            }
            NodeKind::Address(_) => {}
        }
    }
    out
}

/// Whether pod `pod` matches `query` (lower case), and how (the text shown).
fn matches(pod: &netpol_core::Pod, query: &str) -> Option<String> {
    if let Some((key, value)) = query.split_once('=') {
        let (key, value) = (key.trim(), value.trim());
        return pod
            .labels
            .iter()
            .find(|(k, v)| {
                k.to_lowercase() == key && (value.is_empty() || v.to_lowercase() == value)
            })
            .map(|(k, v)| format!("{k}={v}"));
    }
    let workload = pod.workload.as_deref().map(|w| format!("{w}/{}", pod.name));
    if pod.id.to_lowercase().contains(query)
        || workload
            .as_deref()
            .is_some_and(|w| w.to_lowercase().contains(query))
    {
        return Some(String::new());
    }
    pod.labels
        .iter()
        .find(|(k, v)| k.to_lowercase() == query || v.to_lowercase() == query)
        .map(|(k, v)| format!("{k}={v}"))
}

/// Results for `query`, at most `limit`, pods in model order, then other nodes by label.
pub fn find(analysis: &Analysis, graph: &Graph, query: &str, limit: usize) -> Vec<Hit> {
    let query = query.trim().to_lowercase();
    if query.is_empty() {
        return Vec::new();
    }
    let homes = homes(graph);
    let mut hits: Vec<Hit> = Vec::new();
    // Hits inside one collapsed group are one result with a count.
    let mut in_group: BTreeMap<usize, usize> = BTreeMap::new();
    for (p, pod) in analysis.model.cluster.pods.iter().enumerate() {
        let Some(how) = matches(pod, &query) else {
            continue;
        };
        let Some(&(node, grouped)) = homes.get(&p) else {
            continue;
        };
        let text = if how.is_empty() {
            pod.id.clone()
        } else {
            format!("{} — {how}", pod.id)
        };
        if grouped {
            let group = graph.nodes[node].id.clone();
            match in_group.get(&node) {
                Some(&at) => hits[at].count += 1,
                None => {
                    in_group.insert(node, hits.len());
                    hits.push(Hit {
                        node: pod.id.clone(),
                        expand: Some(group),
                        text: format!("{text} (in group {})", graph.nodes[node].label),
                        count: 1,
                    });
                }
            }
        } else {
            hits.push(Hit {
                node: pod.id.clone(),
                expand: None,
                text,
                count: 1,
            });
        }
    }
    for node in &graph.nodes {
        let label = node.label.to_lowercase();
        let named = matches!(node.kind, NodeKind::Address(_) | NodeKind::Group(_));
        if named
            && label.contains(&query)
            && !hits
                .iter()
                .any(|h| h.node == node.id || h.expand.as_deref() == Some(&node.id))
        {
            hits.push(Hit {
                node: node.id.clone(),
                expand: None,
                text: format!("{} ({})", node.label, node.detail),
                count: node.size,
            });
        }
    }
    hits.truncate(limit);
    hits
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectivity::{build_with, GraphOptions};
    use crate::probe::Probe;

    #[test]
    fn pods_workloads_and_labels() {
        let ex = crate::examples::find("services").unwrap();
        let a = Analysis::new(ex.policies, ex.cluster);
        let g = build_with(&a, &Probe::Any, &GraphOptions::default());
        let hits = find(&a, &g, "app=api", 5);
        assert_eq!(
            hits.first().map(|h| h.node.as_str()),
            Some("shop/Deployment/api")
        );
        assert!(hits[0].text.contains("app=api"));
        assert_eq!(
            find(&a, &g, "deployment/api", 5)[0].node,
            "shop/Deployment/api"
        );
        assert!(find(&a, &g, "", 5).is_empty());
        assert!(find(&a, &g, "no-such-thing", 5).is_empty());
    }

    #[test]
    fn a_pod_inside_a_group_opens_the_group() {
        let cluster: String = (0..70)
            .map(|i| format!("pod shop/web-{i:02} app=web\n"))
            .collect();
        let a = Analysis::new("", &cluster);
        let g = build_with(&a, &Probe::Any, &GraphOptions::default());
        let hits = find(&a, &g, "web-42", 5);
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].node, "shop/web-42");
        assert_eq!(hits[0].expand.as_deref(), Some("group:shop/web-00"));
        let all = find(&a, &g, "app=web", 5);
        assert_eq!(all.len(), 1);
        assert_eq!(all[0].count, 70);
    }
}
