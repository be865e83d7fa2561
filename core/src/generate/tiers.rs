//! Admin- and Baseline-tier ClusterNetworkPolicies for generated clusters, shaped like the
//! guardrails platform teams roll out: protect `kube-system` but let DNS through, isolate
//! tenants (teams) from each other while handing their own traffic to their
//! NetworkPolicies with Pass, keep dev away from prod, block the cloud metadata address,
//! let monitoring scrape metrics (a named port), allow egress to the internal network and
//! deny the internet; and Baseline defaults per team or environment. Priorities are spread
//! over 0-1000 with occasional ties, subjects are mostly namespaces by label.

use std::fmt::Write;

use super::{Ns, Rng, ENVS, TEAMS};

/// Writes `admin` and `baseline` policies as `---` documents.
pub(super) fn write(
    out: &mut String,
    rng: &mut Rng,
    namespaces: &[Ns],
    admin: usize,
    baseline: usize,
) {
    for i in 0..admin {
        // 100 values for 50 policies: ties happen, as in real clusters.
        let priority = (rng.below(100) * 10) as u32;
        let template = rng.below(ADMIN.len());
        header(out, "Admin", &format!("guardrail-{i}"), priority);
        (ADMIN[template])(out, rng, namespaces);
    }
    for i in 0..baseline {
        let priority = (rng.below(10) * 100) as u32;
        let template = rng.below(BASELINE.len());
        header(out, "Baseline", &format!("baseline-{i}"), priority);
        (BASELINE[template])(out, rng, namespaces);
    }
}

type Template = fn(&mut String, &mut Rng, &[Ns]);

const ADMIN: &[Template] = &[
    protect_kube_system,
    isolate_tenant,
    dev_away_from_prod,
    block_metadata,
    allow_monitoring,
    egress_allowlist,
];

const BASELINE: &[Template] = &[team_default, env_default, baseline_egress];

fn header(out: &mut String, tier: &str, name: &str, priority: u32) {
    let _ = write!(
        out,
        "---\napiVersion: policy.networking.k8s.io/v1beta1\nkind: ClusterNetworkPolicy\nmetadata:\n  name: {name}\nspec:\n  tier: {tier}\n  priority: {priority}\n"
    );
}

/// `subject: {namespaces: {matchLabels: {key: value}}}`.
fn namespaces_subject(out: &mut String, key: &str, value: &str) {
    let _ = write!(
        out,
        "  subject:\n    namespaces:\n      matchLabels:\n        {key}: {value}\n"
    );
}

fn protect_kube_system(out: &mut String, _rng: &mut Rng, _namespaces: &[Ns]) {
    namespaces_subject(out, "kubernetes.io/metadata.name", "kube-system");
    out.push_str(
        "  ingress:\n  - name: allow-dns\n    action: Accept\n    from:\n    - namespaces: {}\n    protocols:\n    - udp:\n        destinationPort:\n          number: 53\n    - tcp:\n        destinationPort:\n          number: 53\n  - name: deny-the-rest\n    action: Deny\n    from:\n    - namespaces: {}\n",
    );
}

fn isolate_tenant(out: &mut String, rng: &mut Rng, _namespaces: &[Ns]) {
    let team = rng.pick(TEAMS);
    namespaces_subject(out, "team", team);
    let _ = write!(
        out,
        "  ingress:\n  - name: own-team-decides\n    action: Pass\n    from:\n    - namespaces:\n        matchLabels:\n          team: {team}\n  - name: platform-may-enter\n    action: Pass\n    from:\n    - namespaces:\n        matchLabels:\n          team: platform\n  - name: no-other-tenants\n    action: Deny\n    from:\n    - namespaces:\n        matchExpressions:\n        - key: team\n          operator: Exists\n"
    );
}

fn dev_away_from_prod(out: &mut String, _rng: &mut Rng, _namespaces: &[Ns]) {
    namespaces_subject(out, "env", "prod");
    out.push_str(
        "  ingress:\n  - name: no-dev\n    action: Deny\n    from:\n    - namespaces:\n        matchLabels:\n          env: dev\n",
    );
}

fn block_metadata(out: &mut String, _rng: &mut Rng, _namespaces: &[Ns]) {
    out.push_str(
        "  subject:\n    namespaces: {}\n  egress:\n  - name: no-cloud-metadata\n    action: Deny\n    to:\n    - networks:\n      - 169.254.169.254/32\n",
    );
}

fn allow_monitoring(out: &mut String, rng: &mut Rng, namespaces: &[Ns]) {
    let ns = &namespaces[rng.below(namespaces.len())];
    let _ = write!(
        out,
        "  subject:\n    pods:\n      namespaceSelector:\n        matchLabels:\n          team: {}\n      podSelector:\n        matchExpressions:\n        - key: tier\n          operator: In\n          values: [backend, data]\n  ingress:\n  - name: scrape-metrics\n    action: Accept\n    from:\n    - namespaces:\n        matchLabels:\n          team: platform\n    protocols:\n    - destinationNamedPort: metrics\n",
        ns.team
    );
}

fn egress_allowlist(out: &mut String, rng: &mut Rng, _namespaces: &[Ns]) {
    let env = rng.pick(ENVS);
    namespaces_subject(out, "env", env);
    out.push_str(
        "  egress:\n  - name: cluster-traffic-to-networkpolicies\n    action: Pass\n    to:\n    - namespaces: {}\n  - name: internal-network\n    action: Accept\n    to:\n    - networks:\n      - 10.0.0.0/8\n      - 172.16.0.0/12\n    protocols:\n    - tcp:\n        destinationPort:\n          range:\n            start: 1024\n            end: 65535\n  - name: no-internet\n    action: Deny\n    to:\n    - networks:\n      - 0.0.0.0/0\n      - ::/0\n",
    );
}

fn team_default(out: &mut String, rng: &mut Rng, _namespaces: &[Ns]) {
    let team = rng.pick(TEAMS);
    namespaces_subject(out, "team", team);
    let _ = write!(
        out,
        "  ingress:\n  - name: same-team\n    action: Accept\n    from:\n    - namespaces:\n        matchLabels:\n          team: {team}\n  - name: nobody-else\n    action: Deny\n    from:\n    - namespaces: {{}}\n"
    );
}

fn env_default(out: &mut String, rng: &mut Rng, _namespaces: &[Ns]) {
    let env = rng.pick(ENVS);
    namespaces_subject(out, "env", env);
    let _ = write!(
        out,
        "  ingress:\n  - name: same-env\n    action: Accept\n    from:\n    - namespaces:\n        matchLabels:\n          env: {env}\n    protocols:\n    - tcp:\n        destinationPort:\n          range:\n            start: 1\n            end: 32767\n  - name: deny-other-envs\n    action: Deny\n    from:\n    - namespaces: {{}}\n"
    );
}

fn baseline_egress(out: &mut String, _rng: &mut Rng, _namespaces: &[Ns]) {
    out.push_str(
        "  subject:\n    namespaces: {}\n  egress:\n  - name: dns\n    action: Accept\n    to:\n    - namespaces:\n        matchLabels:\n          kubernetes.io/metadata.name: kube-system\n    protocols:\n    - udp:\n        destinationPort:\n          number: 53\n  - name: in-cluster\n    action: Accept\n    to:\n    - namespaces: {}\n  - name: default-deny-internet\n    action: Deny\n    to:\n    - networks:\n      - 0.0.0.0/0\n",
    );
}
