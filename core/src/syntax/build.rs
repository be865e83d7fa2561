//! Merging parsed sources into one [`Model`].
//!
//! This is where cluster-wide facts are settled, once: namespaces referenced but never
//! declared are created, every namespace gets its `kubernetes.io/metadata.name` label, and
//! duplicates across sources are diagnosed. Everything is sorted so the model, and every
//! rendering of it, is the same whatever order the sources came in.

use std::collections::{BTreeMap, HashMap};

use crate::cluster_policy::{ClusterNetworkPolicy, ClusterPolicyKind};
use crate::diagnostic::{sort_diagnostics, Diagnostic, Span};
use crate::model::{Cluster, Model, Namespace, Node, Parsed, Service, NAMESPACE_NAME_LABEL};

fn at(span: Option<Span>) -> String {
    match span {
        Some(s) => format!("line {}", s.line),
        None => "another source".into(),
    }
}

/// See [`crate::build`].
pub fn build(sources: Vec<Parsed>) -> Model {
    let mut diagnostics = Vec::new();
    let mut namespaces: BTreeMap<String, Namespace> = BTreeMap::new();
    let mut pods = Vec::new();
    let mut pod_ids: HashMap<String, Option<Span>> = HashMap::new();
    let mut policies = Vec::new();
    let mut policy_names: HashMap<(String, String), Span> = HashMap::new();
    let mut services: BTreeMap<String, Service> = BTreeMap::new();
    let mut ignored: BTreeMap<String, usize> = BTreeMap::new();
    let mut nodes: BTreeMap<String, Node> = BTreeMap::new();
    let mut cluster_policies = Vec::new();

    for source in sources {
        diagnostics.extend(source.diagnostics);
        for node in source.nodes {
            merge_node(&mut nodes, node, &mut diagnostics);
        }
        cluster_policies.extend(source.cluster_policies);
        for ns in source.namespaces {
            if let Some(first) = namespaces.get(&ns.name) {
                diagnostics.push(
                    Diagnostic::warning(
                        "duplicate-namespace",
                        ns.span,
                        format!(
                            "namespace `{}` is declared twice (first at {}); this declaration was ignored",
                            ns.name,
                            at(first.span)
                        ),
                    )
                    .with_help("declare each namespace once, with all its labels"),
                );
                continue;
            }
            namespaces.insert(ns.name.clone(), ns);
        }
        for pod in source.pods {
            if let Some(first) = pod_ids.get(&pod.id) {
                diagnostics.push(
                    Diagnostic::error(
                        "duplicate-endpoint",
                        pod.span,
                        format!(
                            "endpoint `{}` is defined twice (first at {}); this one was dropped",
                            pod.id,
                            at(*first)
                        ),
                    )
                    .with_help("give each pod a unique name within its namespace"),
                );
                continue;
            }
            pod_ids.insert(pod.id.clone(), pod.span);
            pods.push(pod);
        }
        for service in source.services {
            add_service(&mut services, service, &mut diagnostics);
        }
        for (kind, count) in source.ignored {
            *ignored.entry(kind).or_default() += count;
        }
        for policy in source.policies {
            let key = (policy.namespace.clone(), policy.name.clone());
            if let Some(first) = policy_names.get(&key) {
                diagnostics.push(
                    Diagnostic::error(
                        "duplicate-policy",
                        Some(policy.span),
                        format!(
                            "policy `{}` in namespace `{}` is defined twice (first at {}); both are evaluated, but Kubernetes keeps only one",
                            policy.name,
                            policy.namespace,
                            at(Some(*first))
                        ),
                    )
                    .with_help("rename one of them, or merge their rules"),
                );
            } else {
                policy_names.insert(key, policy.span);
            }
            policies.push(policy);
        }
    }

    // Namespaces referenced by an endpoint or a policy exist in a real cluster, even when
    // the input did not declare them.
    let referenced = pods
        .iter()
        .map(|p| p.namespace.clone())
        .chain(policies.iter().map(|p| p.namespace.clone()))
        .chain(services.values().map(|s| s.namespace.clone()));
    for name in referenced {
        namespaces.entry(name.clone()).or_insert_with(|| Namespace {
            name,
            labels: Default::default(),
            span: None,
        });
    }
    // The API server sets this label on every namespace, overriding whatever was written.
    for ns in namespaces.values_mut() {
        ns.labels
            .insert(NAMESPACE_NAME_LABEL.to_owned(), ns.name.clone());
    }

    pods.sort_by(|a, b| a.id.cmp(&b.id));
    policies.sort_by(|a, b| (&a.namespace, &a.name, a.span).cmp(&(&b.namespace, &b.name, b.span)));
    // Evaluation order: tier, priority, name, kind (and position, for duplicates).
    cluster_policies.sort_by(|a, b| (a.order_key(), a.span).cmp(&(b.order_key(), b.span)));
    duplicate_cluster_policies(&cluster_policies, &mut diagnostics);
    sort_diagnostics(&mut diagnostics);
    Model {
        cluster: Cluster {
            namespaces: namespaces.into_values().collect(),
            pods,
            services: services.into_values().collect(),
            ignored,
            nodes: nodes.into_values().collect(),
        },
        policies,
        cluster_policies,
        diagnostics,
    }
}

/// Adds `service`, or reports it when its id is taken (the first one is kept, as for pods).
fn add_service(
    services: &mut BTreeMap<String, Service>,
    service: Service,
    diagnostics: &mut Vec<Diagnostic>,
) {
    if let Some(first) = services.get(&service.id) {
        diagnostics.push(
            Diagnostic::error(
                "duplicate-service",
                service.span,
                format!(
                    "service `{}` is defined twice (first at {}); this one was dropped",
                    service.id,
                    at(first.span)
                ),
            )
            .with_help("give each Service a unique name within its namespace"),
        );
        return;
    }
    services.insert(service.id.clone(), service);
}

/// Keeps the first declaration of a node name.
fn merge_node(nodes: &mut BTreeMap<String, Node>, node: Node, diagnostics: &mut Vec<Diagnostic>) {
    if let Some(first) = nodes.get(&node.name) {
        diagnostics.push(
            Diagnostic::warning(
                "duplicate-node",
                node.span,
                format!(
                    "node `{}` is declared twice (first at {}); this declaration was ignored",
                    node.name,
                    at(first.span)
                ),
            )
            .with_help("declare each node once, with all its labels and addresses"),
        );
        return;
    }
    nodes.insert(node.name.clone(), node);
}

/// Two objects of one kind with one name cannot both exist (cluster-scoped: no namespace).
fn duplicate_cluster_policies(
    policies: &[ClusterNetworkPolicy],
    diagnostics: &mut Vec<Diagnostic>,
) {
    let mut seen: HashMap<(ClusterPolicyKind, &str), Span> = HashMap::new();
    let mut by_position: Vec<&ClusterNetworkPolicy> = policies.iter().collect();
    by_position.sort_by_key(|p| p.span);
    for policy in by_position {
        let key = (policy.kind, policy.name.as_str());
        if let Some(first) = seen.get(&key) {
            diagnostics.push(
                Diagnostic::error(
                    "duplicate-policy",
                    Some(policy.span),
                    format!(
                        "the {} `{}` is defined twice (first at {}); both are evaluated, but Kubernetes keeps only one",
                        policy.kind.as_str(),
                        policy.name,
                        at(Some(*first))
                    ),
                )
                .with_help("rename one of them, or merge their rules"),
            );
        } else {
            seen.insert(key, policy.span);
        }
    }
}
