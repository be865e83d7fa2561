//! The one integration-test binary of `netpol-core` (ripgrep/kube-rs style): each module
//! pins one area.

mod addresses;
mod analyzer;
mod authoring;
mod conformance;
mod corpus;
mod exposure;
mod fields;
mod incremental;
mod invariants;
mod nft_sim;
mod pair;
mod parse;
mod props;
mod reference;
mod review;
mod tutorials;
