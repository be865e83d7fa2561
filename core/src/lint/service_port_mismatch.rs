//! `service-port-mismatch`: an ingress rule allows a Service's `port` on the pods behind it,
//! but not the `targetPort` those pods actually receive the Service's traffic on — the
//! classic "I allowed 80 but the pod listens on 8080". Policies see the pod's port after the
//! node translated the Service's address and port, so the rule lets nothing through the
//! Service.
//!
//! To never cry wolf, a rule is reported only when all of these hold for a pod behind the
//! Service (resolved by `crate::services`):
//! - a `ports` entry of the rule is exactly the Service's `port` (and protocol), and the
//!   `targetPort` on that pod is another number;
//! - the rule does not admit the `targetPort` on that pod;
//! - the pod does not itself declare the Service's `port` as a container port (then
//!   allowing it may be meant for direct connections);
//! - the rule's peers match no existing pod, or at least one they match is denied the
//!   `targetPort` at that pod by the NetworkPolicies (another rule may already allow it,
//!   and then the mistake costs nothing today; an Admin-tier rule deciding that connection
//!   first makes the rule irrelevant to it either way);
//! - the Admin tier does not decide the `targetPort` first for every peer the rule
//!   describes (then the NetworkPolicies never see that port from them).

use std::cell::OnceCell;

use super::common::{finding, policy_name};
use super::Cx;
use crate::chain::DecidingTier;
use crate::diagnostic::{Diagnostic, Related, Severity};
use crate::eval;
use crate::exposure::admin_decides_first;
use crate::model::{
    Endpoint, Flow, NetworkPolicy, NetworkPolicyRule, PolicyType, PortRef, Service, ServicePort,
};
use crate::pair::rule_ports;
use crate::render::rule_name;
use crate::services;
use crate::verdict::RuleRef;

pub(super) fn check(cx: &Cx, out: &mut Vec<Diagnostic>) {
    for service in &cx.model.cluster.services {
        for port in &service.ports {
            for (index, policy) in cx.model.policies.iter().enumerate() {
                for (rule_index, rule) in policy.ingress.iter().enumerate() {
                    let rule_ref = RuleRef {
                        policy: eval::policy_ref(index, policy),
                        direction: PolicyType::Ingress,
                        index: rule_index,
                        span: rule.span,
                    };
                    let site = Site {
                        service,
                        port,
                        policy,
                        rule,
                        rule_ref: &rule_ref,
                    };
                    if let Some(f) = site.finding(cx) {
                        out.push(f);
                    }
                }
            }
        }
    }
}

/// One Service port and one ingress rule.
struct Site<'a> {
    service: &'a Service,
    port: &'a ServicePort,
    policy: &'a NetworkPolicy,
    rule: &'a NetworkPolicyRule,
    rule_ref: &'a RuleRef,
}

/// A pod behind the Service where the rule allows the wrong port.
struct Miss {
    pod: usize,
    target: u16,
    /// An existing peer of the rule that cannot reach the pod on the target port.
    denied: Option<usize>,
}

impl Site<'_> {
    fn finding(&self, cx: &Cx) -> Option<Diagnostic> {
        let entry = self.rule.ports.iter().find(|e| {
            e.protocol == self.port.protocol
                && e.port == Some(PortRef::Number(self.port.port))
                && e.end_port.is_none_or(|end| end == self.port.port)
        })?;
        // The rule's existing peers, found once (and only if a pod behind the Service needs
        // them).
        let sources: OnceCell<Vec<usize>> = OnceCell::new();
        let misses: Vec<Miss> = services::backends(&cx.model.cluster, self.service)
            .into_iter()
            .filter_map(|pod| self.miss(cx, pod, &sources))
            .collect();
        let first = misses.first()?;
        let pods = &cx.model.cluster.pods;
        let pod_id = &pods[first.pod].id;
        let others = match misses.len() {
            1 => String::new(),
            n => format!(" (and {} more pods behind it)", n - 1),
        };
        let consequence = match first.denied {
            Some(src) => format!(
                ": {} cannot reach {pod_id} through the Service",
                pods[src].id
            ),
            None => String::new(),
        };
        let mut f = finding(
            "service-port-mismatch",
            Severity::Warning,
            Some(entry.span),
            format!(
                "{} allows {}/{}, the port of Service {}, but the Service sends it to port {} on {pod_id}{others}, which this rule does not allow{consequence}",
                rule_name(self.rule_ref),
                self.port.port,
                self.port.protocol,
                self.service.id,
                first.target,
            ),
            format!(
                "policies see the pod's port after the Service translated it: allow port {} (the Service's targetPort {}) in {}",
                first.target,
                self.port.target_port,
                policy_name(self.policy)
            ),
        );
        f.related = vec![Related {
            span: self.port.span,
            label: Some(format!(
                "Service {} port {}",
                self.service.id, self.port.port
            )),
        }];
        Some(f)
    }

    /// Whether the rule allows the Service's port but not the target port on `pod`.
    fn miss(&self, cx: &Cx, pod: usize, sources: &OnceCell<Vec<usize>>) -> Option<Miss> {
        let p = &cx.model.cluster.pods[pod];
        let target = services::target_port(p, self.port)?;
        let protocol = self.port.protocol;
        let listens_on_port = p
            .ports
            .iter()
            .any(|c| c.port == self.port.port && c.protocol == protocol);
        let (admitted, _) = rule_ports(&self.rule.ports, Some(p));
        if target == self.port.port
            || listens_on_port
            || admitted.get(protocol).contains(target)
            || !eval::selects(self.policy, PolicyType::Ingress, p)
        {
            return None;
        }
        let sources = sources.get_or_init(|| {
            (0..cx.model.cluster.pods.len())
                .filter(|s| self.rule_matches(cx, *s))
                .collect()
        });
        let denied = sources.iter().copied().find(|&src| {
            let flow = Flow {
                src: Endpoint::Pod(src),
                dst: Endpoint::Pod(pod),
                protocol,
                port: target,
            };
            let verdict = eval::evaluate(cx.model, &flow);
            // Denied by the NetworkPolicies themselves: fixing the rule would let it in.
            verdict.ingress_chain.decided_by() == Some(DecidingTier::NetworkPolicy)
                && !verdict.ingress_allowed()
        });
        // Every existing peer reaches the target port by another rule (or an Admin rule
        // decides it first): no harm today.
        if !sources.is_empty() && denied.is_none() {
            return None;
        }
        let rule = (self.policy, self.rule);
        if admin_decides_first(cx.model, pod, PolicyType::Ingress, rule, (protocol, target)) {
            return None;
        }
        Some(Miss {
            pod,
            target,
            denied,
        })
    }

    fn rule_matches(&self, cx: &Cx, src: usize) -> bool {
        self.rule.peers.is_empty()
            || self.rule.peers.iter().any(|peer| {
                eval::peer_matches(cx.model, self.policy, peer, &Endpoint::Pod(src)).is_ok()
            })
    }
}
