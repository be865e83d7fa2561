//! What a group node is called: by what its members share, never by its first member.
//!
//! Members of a group behave identically (one family of engine classes), but a reader
//! needs to know *who* they are: the labels every member carries (`app=api, tier=web`),
//! the workload they come from (`12 pods of Deployment api`, from the pod-template-hash
//! naming every ReplicaSet uses), or at least a common name prefix. Pure text from the
//! model; nothing here decides connectivity.

use std::collections::BTreeMap;

use netpol_core::Pod;

/// Labels that say nothing a reader recognises (hashes and per-pod names).
const NOISE: &[&str] = &[
    "pod-template-hash",
    "controller-revision-hash",
    "pod-template-generation",
    "statefulset.kubernetes.io/pod-name",
    "apps.kubernetes.io/pod-index",
];

/// Label keys a reader knows a workload by, best first.
const TELLING: &[&str] = &[
    "app.kubernetes.io/name",
    "app",
    "k8s-app",
    "name",
    "app.kubernetes.io/component",
    "component",
    "tier",
    "role",
    "app.kubernetes.io/instance",
    "version",
];

/// A group's name: the short text in the node and the longer description.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GroupName {
    /// `app=api, tier=web`, `Deployment api`, `api-*` or `12 pods`.
    pub label: String,
    /// `12 pods of Deployment api`, `12 pods labelled app=api, tier=web`, ...
    pub detail: String,
}

/// The name of the group of `members` (at least two pods).
pub fn name(members: &[&Pod]) -> GroupName {
    let count = members.len();
    let noun = noun(members, count);
    let shared = shared_labels(members);
    let workload = workload(members);
    let label_words = telling(&shared, 2);
    match (workload, label_words.is_empty()) {
        (Some(w), true) => GroupName {
            label: w.clone(),
            detail: format!("{noun} of {w}"),
        },
        (Some(w), false) => GroupName {
            label: label_words.clone(),
            detail: format!("{noun} of {w}"),
        },
        (None, false) => GroupName {
            label: label_words,
            detail: format!("{noun} labelled {}", telling(&shared, usize::MAX)),
        },
        (None, true) => match common_prefix(members) {
            Some(prefix) => GroupName {
                label: format!("{prefix}*"),
                detail: format!("{noun} named {prefix}*, no shared labels"),
            },
            None => by_key(members, &noun).unwrap_or_else(|| GroupName {
                label: noun.clone(),
                detail: format!("{noun} that policies treat alike, with no label in common"),
            }),
        },
    }
}

/// Members with no label value in common, named by a telling key they all carry and its
/// most common values: `app: api, web +3` / `12 pods that policies treat alike, by app:
/// api (5), web (4), cache, db, queue`.
fn by_key(members: &[&Pod], noun: &str) -> Option<GroupName> {
    let key = TELLING.iter().chain(NAMESPACE_KEY).find(|k| {
        members
            .iter()
            .all(|p| p.labels.contains_key(**k) || **k == NAMESPACE_KEY[0])
    })?;
    let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
    for p in members {
        let value = match p.labels.get(*key) {
            Some(v) => v.as_str(),
            None => p.namespace.as_str(),
        };
        *counts.entry(value).or_default() += 1;
    }
    if *key == NAMESPACE_KEY[0] && counts.len() == 1 {
        return None; // one namespace: its box on the graph says so already
    }
    let mut values: Vec<(&str, usize)> = counts.into_iter().collect();
    values.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let list = |max: usize, with_counts: bool| {
        let shown: Vec<String> = values
            .iter()
            .take(max)
            .map(|(v, n)| match (with_counts && *n > 1, v.is_empty()) {
                (_, true) => "\"\"".to_string(),
                (true, false) => format!("{v} ({n})"),
                (false, false) => v.to_string(),
            })
            .collect();
        let more = values.len().saturating_sub(max);
        let shown = shown.join(", ");
        if more > 0 {
            format!("{shown} +{more}")
        } else {
            shown
        }
    };
    let (key_words, label_key) = if *key == NAMESPACE_KEY[0] {
        ("in namespaces", "ns")
    } else {
        ("by", *key)
    };
    Some(GroupName {
        label: format!("{label_key}: {}", list(2, false)),
        detail: format!(
            "{noun} that policies treat alike, {key_words} {}",
            if *key == NAMESPACE_KEY[0] {
                list(6, true)
            } else {
                format!("{key}: {}", list(6, true))
            }
        ),
    })
}

/// The last resort of [`by_key`]: members' namespaces.
const NAMESPACE_KEY: &[&str] = &["namespace"];

/// `12 pods`, `3 Deployments` (workload templates of one kind), `5 endpoints` (mixed).
fn noun(members: &[&Pod], count: usize) -> String {
    let count = crate::scene::thousands(count);
    let kinds: Vec<Option<&str>> = members.iter().map(|p| p.workload.as_deref()).collect();
    match kinds.first().copied().flatten() {
        None if kinds.iter().all(Option::is_none) => format!("{count} pods"),
        Some(kind) if kinds.iter().all(|k| *k == Some(kind)) => format!("{count} {kind}s"),
        _ => format!("{count} endpoints"),
    }
}

/// The labels every member carries with the same value, noise left out.
fn shared_labels<'a>(members: &[&'a Pod]) -> BTreeMap<&'a str, &'a str> {
    let Some(first) = members.first() else {
        return BTreeMap::new();
    };
    first
        .labels
        .iter()
        .filter(|(k, _)| !NOISE.contains(&k.as_str()))
        .filter(|(k, v)| members.iter().all(|p| p.labels.get(*k) == Some(v)))
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect()
}

/// Up to `max` shared labels as `k=v`, the telling keys first, then the rest by key.
fn telling(shared: &BTreeMap<&str, &str>, max: usize) -> String {
    let mut keys: Vec<&str> = TELLING
        .iter()
        .copied()
        .filter(|k| shared.contains_key(k))
        .collect();
    keys.extend(shared.keys().copied().filter(|k| !TELLING.contains(k)));
    keys.iter()
        .take(max)
        .map(|k| format!("{k}={}", shared[k]))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Deployment api` when every member is a pod of one ReplicaSet (`api-<hash>-xxxxx` with
/// `pod-template-hash=<hash>`), or the same workload template kind and name stem.
fn workload(members: &[&Pod]) -> Option<String> {
    let first = members.first()?;
    let hash = first.labels.get("pod-template-hash")?;
    let infix = format!("-{hash}-");
    let stem = first.name.split_once(&infix)?.0;
    members
        .iter()
        .all(|p| {
            p.workload.is_none()
                && p.labels.get("pod-template-hash") == Some(hash)
                && p.name.starts_with(&format!("{stem}{infix}"))
        })
        .then(|| format!("Deployment {stem}"))
}

/// The longest name prefix all members share, cut after a `-` or `.` so it reads as a stem
/// (`api-*`); `None` when shorter than two characters.
fn common_prefix(members: &[&Pod]) -> Option<String> {
    let first = members.first()?.name.as_str();
    let mut len = first.len();
    for p in members {
        len = len.min(
            first
                .bytes()
                .zip(p.name.bytes())
                .take_while(|(a, b)| a == b)
                .count(),
        );
    }
    let prefix = &first[..len];
    let cut = prefix.rfind(['-', '.']).map_or(0, |i| i + 1);
    (cut >= 2).then(|| prefix[..cut].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use netpol_core::Labels;

    fn pod(name: &str, labels: &[(&str, &str)]) -> Pod {
        Pod {
            id: format!("ns/{name}"),
            namespace: "ns".into(),
            name: name.into(),
            workload: None,
            labels: labels
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Labels>(),
            ips: Vec::new(),
            ports: Vec::new(),
            node: None,
            host_network: false,
            span: None,
        }
    }

    #[test]
    fn pods_of_one_replica_set_are_its_deployment() {
        let a = pod(
            "api-7d9f-x1",
            &[("app", "api"), ("pod-template-hash", "7d9f")],
        );
        let b = pod(
            "api-7d9f-x2",
            &[("app", "api"), ("pod-template-hash", "7d9f")],
        );
        let n = name(&[&a, &b]);
        assert_eq!(n.label, "app=api");
        assert_eq!(n.detail, "2 pods of Deployment api");
    }

    #[test]
    fn shared_labels_telling_first_and_noise_left_out() {
        let a = pod("a", &[("zone", "z1"), ("tier", "web"), ("app", "shop")]);
        let b = pod(
            "b",
            &[("zone", "z1"), ("tier", "web"), ("app", "shop"), ("x", "1")],
        );
        let n = name(&[&a, &b]);
        assert_eq!(n.label, "app=shop, tier=web");
        assert_eq!(n.detail, "2 pods labelled app=shop, tier=web, zone=z1");
    }

    #[test]
    fn no_shared_labels_falls_back_to_a_name_stem_or_a_count() {
        let a = pod("worker-1", &[("app", "a")]);
        let b = pod("worker-2", &[("app", "b")]);
        assert_eq!(name(&[&a, &b]).label, "worker-*");
        let c = pod("x", &[]);
        let d = pod("y", &[]);
        let n = name(&[&c, &d]);
        assert_eq!(
            (n.label.as_str(), n.detail.as_str()),
            (
                "2 pods",
                "2 pods that policies treat alike, with no label in common"
            )
        );
    }

    #[test]
    fn no_shared_value_is_named_by_a_key_all_carry_and_its_values() {
        let pods: Vec<Pod> = ["api", "api", "web", "db", "cache"]
            .iter()
            .enumerate()
            .map(|(i, app)| pod(&format!("p{i}x"), &[("app", app), ("team", "t")]))
            .collect();
        let members: Vec<&Pod> = pods.iter().collect();
        // team=t is shared: the shared label names the group.
        assert_eq!(name(&members).label, "team=t");
        let pods: Vec<Pod> = ["api", "api", "web", "db", "cache"]
            .iter()
            .enumerate()
            .map(|(i, app)| pod(&format!("{i}"), &[("app", app)]))
            .collect();
        let members: Vec<&Pod> = pods.iter().collect();
        let n = name(&members);
        assert_eq!(n.label, "app: api, cache +2");
        assert_eq!(
            n.detail,
            "5 pods that policies treat alike, by app: api (2), cache, db, web"
        );
    }

    #[test]
    fn workload_templates_are_counted_by_kind() {
        let mut a = pod("api", &[("team", "t")]);
        let mut b = pod("web", &[("team", "t")]);
        a.workload = Some("Deployment".into());
        b.workload = Some("Deployment".into());
        assert_eq!(name(&[&a, &b]).detail, "2 Deployments labelled team=t");
    }
}
