//! Text to model: YAML/JSON manifests and the compact form, then merging into a [`Model`].
//!
//! - `yaml` builds a spanned tree from YAML events (so every object keeps its text);
//! - `lower` turns manifests into model objects (NetworkPolicies, the cluster policies of the
//!   Admin and Baseline tiers, Namespaces, Pods, workloads, Services, Nodes), applying
//!   Kubernetes defaulting once;
//! - `compact` reads the one-line-per-object cluster form of the playground;
//! - [`build()`] merges sources: implicit namespaces, sorting, duplicate checks.
//!
//! Nothing here fails as a whole or panics: every problem becomes a [`crate::Diagnostic`].
//!
//! Diagnostic codes (stable; front-ends may key on them):
//!
//! | code | severity | what |
//! |---|---|---|
//! | `yaml-syntax`, `yaml-depth`, `yaml-alias` | error | unreadable YAML; the rest of the text (or the document) is not read |
//! | `missing-kind`, `unknown-kind` | error | the object is dropped |
//! | `ignored-kind` | info | a kind (or a CRD reusing a built-in name) that does not affect policy |
//! | `wrong-api-version` | error | old or unknown `apiVersion` of a NetworkPolicy |
//! | `missing-name`, `invalid-name` | error | `metadata.name` missing, or a bad namespace name |
//! | `unknown-field`, `duplicate-key`, `misplaced-field` | warning | typos (with "did you mean"), repeats, `ports` inside a peer |
//! | `invalid-type` | error | a value of the wrong YAML type (a mapping where a list belongs, a quoted number where an integer belongs, ...), at the field, with what was dropped or read |
//! | `invalid-label`, `invalid-selector`, `invalid-operator`, `selector-dropped` | error | label syntax, `matchExpressions` rules |
//! | `invalid-cidr`, `except-outside-cidr` | error | `ipBlock` problems; the peer is dropped |
//! | `cidr-host-bits` | warning | `10.0.0.5/8`: read as `10.0.0.0/8` |
//! | `invalid-port`, `unknown-protocol` | error | port numbers, names, `endPort`, protocols |
//! | `invalid-peer` | error | a peer with `ipBlock` and a selector, or with nothing |
//! | `rule-dropped` | error | every peer (or port) of a rule was invalid, so the rule is dropped rather than allowing everything |
//! | `invalid-policy-type`, `ignored-rules`, `egress-not-isolated` | error / warning | `policyTypes` values and their interplay with the rules |
//! | `missing-field`, `missing-template`, `host-network`, `invalid-ip` | warning / info | suspicious objects that are still read |
//! | `unknown-keyword`, `ignored-field` | error / warning | compact form |
//! | `duplicate-policy`, `duplicate-endpoint`, `duplicate-service`, `duplicate-namespace`, `duplicate-node` | error / warning | found by [`build()`] across sources |
//! | `invalid-priority`, `invalid-tier`, `invalid-subject` | error | a cluster policy the API server refuses as a whole; it is dropped |
//! | `invalid-action`, `invalid-domain-name`, `unsupported-field` | error | a cluster policy rule that cannot be read (with `invalid-peer`, `invalid-cidr`, `invalid-port`, `unknown-protocol`, `missing-field`); it fails closed |
//! | `rule-fails-closed` | warning | what such a rule does: an Accept matches nothing, a Deny or Pass denies what it could have matched |
//! | `too-many-items` | error | more rules, peers, ports, CIDRs or names than the CRD allows; read anyway |
//! | `empty-port-range`, `domain-names-not-accept` | warning | a cluster policy port range that matches nothing; `domainNames` outside an Accept rule |
//!
//! Typed lists (`PodList`, `NamespaceList`, `AdminNetworkPolicyList`, ... as the API server
//! returns them) give their items the list's kind without `List` and the list's `apiVersion`
//! when the items carry none. Objects of kinds that do not affect policy are counted in
//! `Cluster::ignored` as well as reported.

mod build;
mod compact;
pub(crate) mod data;
mod incremental;
mod lines;
mod lower;
pub(crate) mod names;
mod salvage;
mod yaml;

use crate::diagnostic::{sort_diagnostics, FileId};
use crate::model::{Model, Parsed};

pub use compact::is_compact;
pub use incremental::ParseCache;
pub use salvage::{namespaces_named, tiers_named};

/// See [`crate::parse`].
pub fn parse(file: FileId, text: &str) -> Parsed {
    let mut parsed = if compact::is_compact(text) {
        compact::parse(file, text)
    } else {
        let lines = lines::Lines::new(file, text);
        let mut cx = lower::Cx::new(&lines);
        let mut yaml_diagnostics = Vec::new();
        yaml::parse_stream(&lines, text, &mut yaml_diagnostics, &mut |doc| {
            lower::document(&mut cx, &doc)
        });
        cx.out.diagnostics.extend(yaml_diagnostics);
        cx.out
    };
    sort_diagnostics(&mut parsed.diagnostics);
    parsed
}

/// See [`crate::build`].
pub fn build(sources: Vec<Parsed>) -> Model {
    build::build(sources)
}
