//! Workloads as a person names them: pods grouped by their stable identity labels, each
//! group with the smallest `matchLabels` selector that picks it out of its namespace.
//!
//! Why not pod names or every label: a policy must keep working when a Deployment rolls
//! out new pods, so selectors use labels that survive a rollout (`app`,
//! `app.kubernetes.io/name`, ...), never `pod-template-hash` or a pod's name. Pods with the
//! same identity labels in one namespace are one workload; a selector that cannot tell a
//! workload from its neighbours (identical labels) selects them too, and the self-check
//! reports what that opens.

use std::collections::BTreeMap;

use crate::model::{Labels, Model, Pod};

/// Labels that controllers set per pod or per rollout: never part of a selector.
const UNSTABLE: &[&str] = &[
    "pod-template-hash",
    "controller-revision-hash",
    "pod-template-generation",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
    "controller-uid",
    "batch.kubernetes.io/controller-uid",
    "batch.kubernetes.io/job-completion-index",
];

/// Identity labels, most preferred first: a workload is the pods sharing the values of
/// those present; a selector starts with the first one a workload has.
const IDENTITY: &[&str] = &[
    "app.kubernetes.io/name",
    "app",
    "k8s-app",
    "app.kubernetes.io/instance",
    "app.kubernetes.io/component",
    "component",
    "name",
    "role",
    "tier",
];

/// The most preferred label of a selector: the one that names its workload.
pub(crate) fn preferred_label(selector: &Labels) -> Option<(String, String)> {
    let rank = |k: &str| {
        IDENTITY
            .iter()
            .position(|x| *x == k)
            .unwrap_or(IDENTITY.len())
    };
    selector
        .iter()
        .min_by_key(|(k, _)| rank(k))
        .map(|(k, v)| (k.clone(), v.clone()))
}

/// Whether a label may appear in a selector.
pub(crate) fn is_stable(key: &str) -> bool {
    !UNSTABLE.contains(&key)
}

/// A workload: pods of one namespace and the selector that names them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Group {
    /// The namespace.
    pub namespace: String,
    /// Pod indices, ascending.
    pub pods: Vec<usize>,
    /// `matchLabels` of the selector (empty only when the pods share no stable label).
    pub selector: Labels,
    /// Whether the selector selects exactly `pods` among the namespace's pods.
    pub exact: bool,
    /// A name for policies and comments: the workload's name, or its identity value.
    pub name: String,
}

/// Every workload of a cluster, and each pod's.
#[derive(Clone, Debug, Default)]
pub(crate) struct Groups {
    /// Sorted by (namespace, name).
    pub list: Vec<Group>,
    /// Per pod: its group; `None` for host-network pods, which no selector can pick.
    pub of_pod: Vec<Option<usize>>,
    /// Per namespace: its pods that selectors can pick (not on the host network).
    pub namespace_pods: BTreeMap<String, Vec<usize>>,
}

impl Groups {
    /// Groups every pod of `model` that is not on the host network.
    pub fn new(model: &Model) -> Groups {
        let pods = &model.cluster.pods;
        let mut namespace_pods: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        let mut by_identity: BTreeMap<(String, Labels), Vec<usize>> = BTreeMap::new();
        for (i, pod) in pods.iter().enumerate().filter(|(_, p)| !p.host_network) {
            namespace_pods
                .entry(pod.namespace.clone())
                .or_default()
                .push(i);
            by_identity
                .entry((pod.namespace.clone(), identity(pod)))
                .or_default()
                .push(i);
        }
        let mut list: Vec<Group> = by_identity
            .into_values()
            .map(|members| {
                let namespace = pods[members[0]].namespace.clone();
                let universe = &namespace_pods[&namespace];
                make_group(model, namespace, members, universe)
            })
            .collect();
        list.sort_by(|a, b| {
            (&a.namespace, &a.name, &a.pods).cmp(&(&b.namespace, &b.name, &b.pods))
        });
        let mut of_pod = vec![None; pods.len()];
        for (g, group) in list.iter().enumerate() {
            for &p in &group.pods {
                of_pod[p] = Some(g);
            }
        }
        Groups {
            list,
            of_pod,
            namespace_pods,
        }
    }

    /// Adds a group for `pods` (one namespace, none on the host network) that is not a
    /// workload of its own, e.g. kube-system's DNS pods; returns its index.
    pub fn add(&mut self, model: &Model, pods: Vec<usize>) -> Option<usize> {
        let namespace = model.cluster.pods.get(*pods.first()?)?.namespace.clone();
        let universe = self.namespace_pods.get(&namespace)?.clone();
        if let Some(found) = self.list.iter().position(|g| g.pods == pods) {
            return Some(found);
        }
        self.list
            .push(make_group(model, namespace, pods, &universe));
        Some(self.list.len() - 1)
    }

    /// Whether `pods` (sorted) are every selectable pod of `namespace`.
    pub fn is_whole_namespace(&self, namespace: &str, pods: &[usize]) -> bool {
        self.namespace_pods
            .get(namespace)
            .is_some_and(|all| all.as_slice() == pods)
    }
}

/// The identity of a pod: its identity labels if it has any, else every stable label.
fn identity(pod: &Pod) -> Labels {
    let preferred: Labels = pod
        .labels
        .iter()
        .filter(|(k, _)| IDENTITY.contains(&k.as_str()))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    if !preferred.is_empty() {
        return preferred;
    }
    pod.labels
        .iter()
        .filter(|(k, _)| is_stable(k))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn make_group(model: &Model, namespace: String, pods: Vec<usize>, universe: &[usize]) -> Group {
    let (selector, exact) = selector_for(model, &pods, universe);
    let name = group_name(model, &pods, &selector);
    Group {
        namespace,
        pods,
        selector,
        exact,
        name,
    }
}

/// The smallest `matchLabels` over stable labels common to `members` that selects them
/// and as few other pods of `universe` as possible; whether it selects exactly them.
///
/// Greedy in preference order: start with the most preferred identity label the members
/// share (so a workload alone in its namespace still gets `app: web`, not `{}`), add a
/// label whenever it excludes a pod that is not a member, then drop labels that turned out
/// not to be needed, least preferred first.
pub(crate) fn selector_for(model: &Model, members: &[usize], universe: &[usize]) -> (Labels, bool) {
    let pods = &model.cluster.pods;
    let candidates = common_labels(model, members);
    let selects =
        |sel: &Labels, p: usize| sel.iter().all(|(k, v)| pods[p].labels.get(k) == Some(v));
    let outsiders = |sel: &Labels| {
        universe
            .iter()
            .filter(|p| members.binary_search(p).is_err() && selects(sel, **p))
            .count()
    };
    let mut chosen: Vec<(String, String)> = Vec::new();
    let mut sel = Labels::new();
    let mut left = outsiders(&sel);
    for (i, (k, v)) in candidates.iter().enumerate() {
        let first_identity = i == 0 && IDENTITY.contains(&k.as_str());
        if left == 0 && !first_identity {
            break;
        }
        sel.insert(k.clone(), v.clone());
        let now = outsiders(&sel);
        if now < left || first_identity {
            chosen.push((k.clone(), v.clone()));
            left = now;
        } else {
            sel.remove(k);
        }
    }
    // Drop what is not needed, least preferred first; keep at least the first label.
    for (k, v) in chosen.iter().skip(1).rev() {
        sel.remove(k);
        if outsiders(&sel) > left {
            sel.insert(k.clone(), v.clone());
        }
    }
    (sel, left == 0)
}

/// Stable labels every member has with the same value, identity labels first (in
/// preference order), then the others by key.
fn common_labels(model: &Model, members: &[usize]) -> Vec<(String, String)> {
    let pods = &model.cluster.pods;
    let Some(first) = members.first().and_then(|p| pods.get(*p)) else {
        return Vec::new();
    };
    let mut common: Vec<(String, String)> = first
        .labels
        .iter()
        .filter(|(k, v)| {
            is_stable(k) && members.iter().all(|m| pods[*m].labels.get(*k) == Some(*v))
        })
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    let rank = |k: &str| {
        IDENTITY
            .iter()
            .position(|x| *x == k)
            .unwrap_or(IDENTITY.len())
    };
    common.sort_by(|a, b| (rank(&a.0), &a.0).cmp(&(rank(&b.0), &b.0)));
    common
}

/// The workload's name when all members are one workload template, else the value of its
/// most preferred selector label, as a DNS label.
fn group_name(model: &Model, members: &[usize], selector: &Labels) -> String {
    let pods = &model.cluster.pods;
    let first = &pods[members[0]];
    let one_workload = first.workload.is_some()
        && members
            .iter()
            .all(|m| pods[*m].workload == first.workload && pods[*m].name == first.name);
    let raw = if one_workload {
        first.name.clone()
    } else {
        let rank = |k: &str| {
            IDENTITY
                .iter()
                .position(|x| *x == k)
                .unwrap_or(IDENTITY.len())
        };
        selector
            .iter()
            .min_by_key(|(k, _)| rank(k))
            .map_or_else(|| "pods".to_string(), |(_, v)| v.clone())
    };
    dns_label(&raw).unwrap_or_else(|| "pods".to_string())
}

/// `text` as a DNS label (lower case, digits and `-`, at most 63 characters), if anything
/// of it is left.
pub(crate) fn dns_label(text: &str) -> Option<String> {
    let mapped: String = text
        .chars()
        .map(|c| match c {
            'a'..='z' | '0'..='9' => c,
            'A'..='Z' => c.to_ascii_lowercase(),
            _ => '-',
        })
        .collect();
    let mut out = String::new();
    for part in mapped.split('-').filter(|p| !p.is_empty()) {
        if !out.is_empty() {
            out.push('-');
        }
        out.push_str(part);
    }
    out.truncate(63);
    let out = out.trim_end_matches('-').to_string();
    (!out.is_empty()).then_some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FileId;

    fn model(text: &str) -> Model {
        crate::load(&[(FileId(0), text)])
    }

    #[test]
    fn replicas_are_one_workload_selected_by_app() {
        let m = model(
            "pod prod/web-1 app=web pod-template-hash=abc version=v1\n\
             pod prod/web-2 app=web pod-template-hash=def version=v2\n\
             pod prod/api-1 app=api pod-template-hash=abc\n\
             pod prod/odd team=x\n",
        );
        let groups = Groups::new(&m);
        let names: Vec<(&str, String, bool)> = groups
            .list
            .iter()
            .map(|g| (g.name.as_str(), format!("{:?}", g.selector), g.exact))
            .collect();
        assert_eq!(
            names,
            [
                ("api", r#"{"app": "api"}"#.to_string(), true),
                ("web", r#"{"app": "web"}"#.to_string(), true),
                ("x", r#"{"team": "x"}"#.to_string(), true),
            ]
        );
    }

    #[test]
    fn a_second_label_is_added_only_when_it_excludes_someone() {
        let m = model(
            "pod prod/a app=web tier=front\n\
             pod prod/b app=web tier=back component=x\n",
        );
        let groups = Groups::new(&m);
        let a = &groups.list[groups.of_pod[0].unwrap()];
        let b = &groups.list[groups.of_pod[1].unwrap()];
        // a's identity labels are a subset of b's: matchLabels cannot exclude b, but
        // tier=front does. For b, component=x and tier=back both exclude a; component
        // is the more preferred identity label.
        assert_eq!(
            format!("{:?}", a.selector),
            r#"{"app": "web", "tier": "front"}"#
        );
        assert!(a.exact);
        assert_eq!(
            format!("{:?}", b.selector),
            r#"{"app": "web", "component": "x"}"#
        );
        assert!(b.exact);
    }

    #[test]
    fn identical_labels_cannot_be_told_apart() {
        let m = model("pod prod/a app=web\npod prod/b app=web\npod prod/c role=x app=web\n");
        let groups = Groups::new(&m);
        let ab = &groups.list[groups.of_pod[0].unwrap()];
        assert_eq!(ab.pods, [0, 1]);
        assert!(!ab.exact, "app=web also selects c");
    }

    #[test]
    fn dns_labels() {
        assert_eq!(dns_label("Web_Front.end").as_deref(), Some("web-front-end"));
        assert_eq!(dns_label("--"), None);
    }
}
