//! Which endpoint an address seen on the wire stands for.
//!
//! The evaluator answers questions about endpoints; a packet (or a conntrack entry) only
//! carries addresses. The one rule that turns an address back into an endpoint lives here,
//! next to the participation rule it follows (ARCHITECTURE.md, "Which pods take part"):
//! an address is the pod that has it, unless that pod uses its node's network (its traffic
//! is the node's, so it is judged as an address), and otherwise it is just an address.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::model::{Cluster, Endpoint};

/// Pod IPs of a cluster, for turning addresses into endpoints many times.
#[derive(Clone, Debug, Default)]
pub struct AddressBook {
    pods: BTreeMap<IpAddr, usize>,
}

impl AddressBook {
    /// The addresses of `cluster`'s pods. When two pods claim one IP (a stale object), the
    /// first by id keeps it: the sort order every front-end shares.
    pub fn new(cluster: &Cluster) -> AddressBook {
        let mut pods = BTreeMap::new();
        for (index, pod) in cluster.pods.iter().enumerate() {
            if pod.host_network {
                continue;
            }
            for ip in &pod.ips {
                pods.entry(*ip).or_insert(index);
            }
        }
        AddressBook { pods }
    }

    /// The endpoint traffic from or to `ip` is judged as.
    pub fn endpoint(&self, ip: IpAddr) -> Endpoint {
        match self.pods.get(&ip) {
            Some(index) => Endpoint::Pod(*index),
            None => Endpoint::Address(ip),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::FileId;

    #[test]
    fn pod_ips_are_pods_host_network_and_unknown_ips_are_addresses() {
        let model = crate::load(&[(
            FileId(0),
            "pod prod/api app=api ip=10.0.0.1,fd00::1\npod kube-system/proxy hostNetwork=true ip=192.168.0.10\n",
        )]);
        let book = AddressBook::new(&model.cluster);
        let api = model.cluster.pod_index("prod/api").expect("api");
        for ip in ["10.0.0.1", "fd00::1"] {
            assert_eq!(book.endpoint(ip.parse().unwrap()), Endpoint::Pod(api));
        }
        for ip in ["192.168.0.10", "10.0.0.2"] {
            let ip: IpAddr = ip.parse().unwrap();
            assert_eq!(book.endpoint(ip), Endpoint::Address(ip));
        }
    }
}
