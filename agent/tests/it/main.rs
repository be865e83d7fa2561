//! Integration tests of netpol-agent, one binary (root needed; nothing is skipped):
//! - `packets`: the packet-level proof in network namespaces;
//! - `rulesets`: generated rulesets pass `nft -c` (the kernel's own parser and validator);
//! - `watch`: the Kubernetes watch path against a fake API server on loopback;
//! - `apiserver`: Kubernetes mode against a real etcd and kube-apiserver (`testenv/`),
//!   with real packets; `apiserver_rbac`: `deploy/rbac.yaml` is least privilege.

mod apiserver;
mod apiserver_rbac;
mod netns;
mod packets;
mod rulesets;
mod watch;
