//! Integration tests of netpol-agent, one binary (root needed; nothing is skipped):
//! - `packets`: the packet-level proof in network namespaces;
//! - `rulesets`: generated rulesets pass `nft -c` (the kernel's own parser and validator);
//! - `watch`: the Kubernetes watch path against a fake API server on loopback;
//! - `faults_*`: fault injection with real packets (`harness` holds what they share):
//!   broken files, restarts, failed applies, API server outages, strict mode.

mod faults_files;
mod harness;
mod netns;
mod packets;
mod rulesets;
mod watch;
