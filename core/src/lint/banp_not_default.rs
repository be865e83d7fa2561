//! `banp-not-default`: a BaselineAdminNetworkPolicy that is not named `default`. The CRD
//! allows only that one name (a singleton), so the API server refuses any other; netpol
//! still evaluates it, to show what it would do.

use super::common::finding;
use super::Cx;
use crate::cluster_policy::ClusterPolicyKind;
use crate::diagnostic::{Diagnostic, Severity};

pub(super) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    for policy in &cx.model.cluster_policies {
        if policy.kind != ClusterPolicyKind::BaselineAdminNetworkPolicy || policy.name == "default"
        {
            continue;
        }
        out.push(finding(
            "banp-not-default",
            Severity::Error,
            Some(policy.span),
            format!(
                "the BaselineAdminNetworkPolicy `{}` is not named `default`; the API server refuses it (there is one baseline, named default)",
                policy.name
            ),
            "rename it to `default` and merge the rules of any other one into it, or write Baseline-tier ClusterNetworkPolicies (`netpol convert`)",
        ));
    }
}
