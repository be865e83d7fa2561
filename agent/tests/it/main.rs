//! Integration tests of netpol-agent, one binary (root needed; nothing is skipped):
//! - `packets`: the packet-level proof in network namespaces;
//! - `rulesets`: generated rulesets pass `nft -c` (the kernel's own parser and validator);
//! - `watch`: the Kubernetes watch path against a fake API server on loopback;
//! - `faults_*`: fault injection with real packets, each asserting that no probe the
//!   matrix denies ever connects: broken files (`faults_files`), restarts
//!   (`faults_restart`), failed applies (`faults_apply`), API server outages, 410 and
//!   malformed objects (`faults_api`, against `fakeapi`), strict mode (`faults_strict`);
//!   `harness` holds what they share.

mod fakeapi;
mod faults_api;
mod faults_apply;
mod faults_files;
mod faults_restart;
mod faults_strict;
mod harness;
mod netns;
mod packets;
mod rulesets;
mod watch;
