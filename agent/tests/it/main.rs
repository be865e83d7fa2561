//! Integration tests of netpol-agent, one binary (root needed; nothing is skipped):
//! - `packets`: hand-made scenarios through real agents, every probe against the engine,
//!   and a policy update with an open connection;
//! - `upstream`: every upstream e2e case through real agents, every truth table probed;
//! - `kernel`: every conformance case's compiled rulesets, checked with real packets;
//! - `rulesets`: generated rulesets pass `nft -c` (the kernel's own parser and validator);
//! - `watch`: the Kubernetes watch path against a fake API server on loopback;
//! - `faults_*`: fault injection with real packets, each asserting that no probe the
//!   matrix denies ever connects: broken files (`faults_files`), restarts
//!   (`faults_restart`), failed applies (`faults_apply`), API server outages, 410 and
//!   malformed objects (`faults_api`, against `fakeapi`), strict mode (`faults_strict`);
//!   `harness` holds what they share;
//! - `apiserver`: Kubernetes mode against a real etcd and kube-apiserver (`testenv/`),
//!   with real packets on the fault tests' cluster; `apiserver_rbac`: `deploy/rbac.yaml` is
//!   least privilege; `apiserver_tiers`: the policy tiers through the API (CRDs installed
//!   while the agents run, Admin Deny, Pass to a NetworkPolicy, Baseline, a priority change).
//!
//! The simulated cluster: `netns.rs` (namespaces, processes), `fabric.rs` (the routed
//! topology), `bridged.rs` (the fixed two-node cluster of the fault and API-server tests),
//! `reach.rs` (probes), `agents.rs` (real agents on it), `cases.rs` (the core's
//! conformance case files).

mod agents;
mod apiserver;
mod apiserver_rbac;
mod apiserver_tiers;
mod bridged;
mod cases;
mod fabric;
mod fakeapi;
mod faults_api;
mod faults_apply;
mod faults_files;
mod faults_restart;
mod faults_strict;
mod harness;
mod kernel;
mod netns;
mod packets;
mod reach;
mod rulesets;
mod upstream;
mod watch;
