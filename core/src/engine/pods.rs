//! Step 4, pod classes: pods are grouped by namespace, by which of the selectors that can
//! concern their namespace match them, by the address classes of their IPs and by how they
//! resolve the port names the policies mention. Pods of one class are indistinguishable to
//! every rule.
//!
//! Host-network pods (ARCHITECTURE.md, "Which pods take part") all live in one
//! pseudo-namespace, [`PodClasses::host_network`], that no policy lives in and no
//! `namespaceSelector` matches; they match no selector and resolve no port name. Only their
//! addresses (the node's) are seen, by `ipBlock` peers.

use super::address::AddressSpace;
use super::hash::HashMap;
use super::rules::{Interned, NamespacePart, PeerKey, EVERY_NAMESPACE};
use crate::model::{ContainerPort, Labels, Model, Pod};

/// What makes a class: everything any rule can look at.
#[derive(Clone, PartialEq, Eq, Hash)]
pub(super) struct Signature {
    /// Namespace index; [`PodClasses::host_network`] for host-network pods.
    pub(super) namespace: usize,
    /// The relevant selectors that match the pods' labels.
    pub(super) selectors: Vec<usize>,
    /// Address classes of the pods' IPs, sorted.
    pub(super) addresses: Vec<usize>,
    /// Per interned port name: the numbers it resolves to, ascending.
    pub(super) named: Vec<Vec<u16>>,
}

/// Which namespaces each namespace selector matches, and which pod selectors can concern
/// the pods of each namespace (the policies' own and the peers' that reach it).
pub(super) struct Scopes {
    /// Per namespace selector id ([`EVERY_NAMESPACE`] included): a flag per namespace.
    pub(super) namespace_match: HashMap<usize, Vec<bool>>,
    /// Per namespace: the pod selectors worth evaluating on its pods, sorted.
    relevant: Vec<Vec<usize>>,
}

impl Scopes {
    pub(super) fn new(model: &Model, interned: &Interned) -> Scopes {
        let empty_labels = Labels::new();
        let namespace_labels: Vec<&Labels> = interned
            .namespaces
            .iter()
            .map(|n| model.cluster.namespace_labels(n).unwrap_or(&empty_labels))
            .collect();
        let mut scopes = Scopes {
            namespace_match: HashMap::default(),
            relevant: vec![Vec::new(); interned.namespaces.len()],
        };
        for policy in &interned.policies {
            if let (Some(ns), Some(sel)) = (policy.namespace, policy.pod_selector) {
                scopes.relevant[ns].push(sel);
            }
            for rules in policy.rules.iter().flatten() {
                for key in rules.iter().filter_map(|r| r.peers.as_ref()).flatten() {
                    scopes.peer(interned, &namespace_labels, *key);
                }
            }
        }
        // Cluster policies: their subjects and selector peers, alike.
        for policy in &interned.tiers {
            scopes.peer(interned, &namespace_labels, policy.subject);
            for rule in policy.rules.iter().flatten() {
                for key in rule.peers.iter().flatten() {
                    scopes.peer(interned, &namespace_labels, *key);
                }
            }
        }
        for list in &mut scopes.relevant {
            list.sort_unstable();
            list.dedup();
        }
        scopes
    }

    /// Records where a selector peer can reach.
    fn peer(&mut self, interned: &Interned, namespace_labels: &[&Labels], key: PeerKey) {
        let PeerKey::Selector { namespace, pod } = key else {
            return;
        };
        match namespace {
            NamespacePart::Own(Some(ns)) => self.relevant[ns].extend(pod),
            NamespacePart::Own(None) => {}
            NamespacePart::Selector(sel) => {
                let matches = self.namespace_match.entry(sel).or_insert_with(|| {
                    namespace_labels
                        .iter()
                        .map(|l| sel == EVERY_NAMESPACE || interned.selectors[sel].matches(l))
                        .collect()
                });
                if let Some(pod) = pod {
                    for (ns, m) in matches.iter().enumerate() {
                        if *m {
                            self.relevant[ns].push(pod);
                        }
                    }
                }
            }
        }
    }
}

/// Pods that look identical: namespace, labels, container ports, address classes,
/// host network.
type ExactKey<'a> = (&'a str, &'a Labels, &'a [ContainerPort], Vec<usize>, bool);

/// The pod classes.
pub(super) struct PodClasses {
    /// Class of each pod.
    pub(super) pod_class: Vec<u32>,
    /// Pods of each class, in index order.
    pub(super) class_pods: Vec<Vec<u32>>,
    /// What each class is.
    pub(super) signatures: Vec<Signature>,
    /// The pseudo-namespace of host-network pods: one past the real namespaces.
    pub(super) host_network: usize,
}

impl PodClasses {
    /// Pods that look identical are classified once; the others by what policies see.
    pub(super) fn new(
        model: &Model,
        interned: &Interned,
        scopes: &Scopes,
        addresses: &AddressSpace,
    ) -> PodClasses {
        let pods = &model.cluster.pods;
        let mut classes = PodClasses {
            pod_class: Vec::with_capacity(pods.len()),
            class_pods: Vec::new(),
            signatures: Vec::new(),
            host_network: interned.namespaces.len(),
        };
        let mut exact: HashMap<ExactKey, u32> = HashMap::default();
        let mut by_signature: HashMap<Signature, u32> = HashMap::default();
        for (index, pod) in pods.iter().enumerate() {
            let mut address_ids: Vec<usize> =
                pod.ips.iter().map(|ip| addresses.class_of(*ip)).collect();
            address_ids.sort_unstable();
            address_ids.dedup();
            let key = (
                pod.namespace.as_str(),
                &pod.labels,
                pod.ports.as_slice(),
                address_ids,
                pod.host_network,
            );
            let class = match exact.get(&key) {
                Some(class) => *class,
                None => {
                    let signature = classes.signature(interned, scopes, pod, key.3.clone());
                    let class = classes.intern(&mut by_signature, signature);
                    exact.insert(key, class);
                    class
                }
            };
            classes.pod_class.push(class);
            classes.class_pods[class as usize].push(index as u32);
        }
        classes
    }

    pub(super) fn len(&self) -> usize {
        self.signatures.len()
    }

    /// What the policies can see of `pod`.
    fn signature(
        &self,
        interned: &Interned,
        scopes: &Scopes,
        pod: &Pod,
        addresses: Vec<usize>,
    ) -> Signature {
        if pod.host_network {
            return Signature {
                namespace: self.host_network,
                selectors: Vec::new(),
                addresses,
                named: vec![Vec::new(); interned.names.len()],
            };
        }
        let namespace = interned.namespace_index[pod.namespace.as_str()];
        let selectors: Vec<usize> = scopes.relevant[namespace]
            .iter()
            .copied()
            .filter(|s| interned.selectors[*s].matches(&pod.labels))
            .collect();
        let named: Vec<Vec<u16>> = interned
            .names
            .iter()
            .map(|(name, protocol)| pod.named_ports(name, *protocol).collect())
            .collect();
        Signature {
            namespace,
            selectors,
            addresses,
            named,
        }
    }

    fn intern(&mut self, by_signature: &mut HashMap<Signature, u32>, signature: Signature) -> u32 {
        if let Some(class) = by_signature.get(&signature) {
            return *class;
        }
        let class = self.signatures.len() as u32;
        self.class_pods.push(Vec::new());
        by_signature.insert(signature.clone(), class);
        self.signatures.push(signature);
        class
    }
}
