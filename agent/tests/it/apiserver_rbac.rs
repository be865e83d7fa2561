//! `deploy/rbac.yaml` is least privilege, proven against the real API server (with the
//! policy-tier CRDs installed, so their rules are used): with the file
//! as it is, an agent enforces; with any one rule, resource or verb taken out, the agent
//! says in its log exactly what it may not do (and, without `list`, enforces nothing from
//! a partial view). Every variant is derived from the file itself, so a rule added there
//! without a use makes this test fail.

use std::path::Path;
use std::time::{Duration, Instant};

use netpol_testenv::{ControlPlane, Credentials};
use serde_yaml::Value;

use crate::apiserver::{data, nft_wrapper, rbac_yaml, start_agent};
use crate::netns::{self, Netns, Proc, PREFIX};

/// How long every agent gets to reach its verdict (enforcing, or logging the refusal).
const VERDICT_WITHIN: Duration = Duration::from_secs(90);

/// One variant of the RBAC file.
struct Variant {
    /// What was taken out, for messages.
    removed: String,
    /// The file, its ServiceAccount, ClusterRole and binding renamed to `name`.
    text: String,
    /// The ServiceAccount.
    name: String,
    /// Log lines the agent must print: `list pods`, `watch namespaces`, ...
    refusals: Vec<String>,
}

fn documents(text: &str) -> Vec<Value> {
    serde_yaml::Deserializer::from_str(text)
        .map(|d| k8s_openapi::serde::Deserialize::deserialize(d).expect("deploy/rbac.yaml is YAML"))
        .filter(|v: &Value| !v.is_null())
        .collect()
}

fn strings(value: &Value) -> Vec<String> {
    value
        .as_sequence()
        .into_iter()
        .flatten()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect()
}

/// The file with every object named `netpol-agent` renamed to `name` and the ClusterRole's
/// rules replaced.
fn variant_text(docs: &[Value], name: &str, rules: &[Value]) -> String {
    let mut out = String::new();
    for doc in docs {
        let mut doc = doc.clone();
        doc["metadata"]["name"] = Value::from(name);
        match doc["kind"].as_str() {
            Some("ClusterRole") => doc["rules"] = Value::Sequence(rules.to_vec()),
            Some("ClusterRoleBinding") => {
                doc["roleRef"]["name"] = Value::from(name);
                doc["subjects"][0]["name"] = Value::from(name);
            }
            _ => {}
        }
        out.push_str("---\n");
        out.push_str(&serde_yaml::to_string(&doc).expect("yaml"));
    }
    out
}

/// What the agent reports first for a resource it lacks `verbs` on: the list fails before
/// any watch starts.
fn refusal(resource: &str, verbs: &[String]) -> String {
    let verb = if verbs.iter().any(|v| v == "list") {
        "list"
    } else {
        "watch"
    };
    format!("forbids this agent to {verb} {resource}")
}

/// Every way to take one rule, one resource of a rule or one verb of a rule out.
fn variants(text: &str) -> Vec<Variant> {
    let docs = documents(text);
    let role = docs
        .iter()
        .find(|d| d["kind"] == "ClusterRole")
        .expect("a ClusterRole in deploy/rbac.yaml");
    let rules = role["rules"].as_sequence().expect("rules").clone();
    let mut out = Vec::new();
    for (i, rule) in rules.iter().enumerate() {
        let (resources, verbs) = (strings(&rule["resources"]), strings(&rule["verbs"]));
        let mut push = |removed: String, rule: Option<Value>, lost: Vec<(String, Vec<String>)>| {
            let mut reduced = rules.clone();
            match rule {
                Some(r) => reduced[i] = r,
                None => {
                    reduced.remove(i);
                }
            }
            let name = format!("netpol-agent-v{}", out.len());
            let refusals = lost.iter().map(|(r, v)| refusal(r, v)).collect();
            out.push(Variant {
                removed,
                text: variant_text(&docs, &name, &reduced),
                name,
                refusals,
            });
        };
        let all: Vec<(String, Vec<String>)> = resources
            .iter()
            .map(|r| (r.clone(), verbs.clone()))
            .collect();
        push(format!("rule {i} ({resources:?})"), None, all);
        for resource in resources.iter().filter(|_| resources.len() > 1) {
            let mut r = rule.clone();
            r["resources"] = Value::from(
                resources
                    .iter()
                    .filter(|x| *x != resource)
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            let lost = vec![(resource.clone(), verbs.clone())];
            push(format!("resource {resource} of rule {i}"), Some(r), lost);
        }
        for verb in verbs.iter().filter(|_| verbs.len() > 1) {
            let mut r = rule.clone();
            r["verbs"] = Value::from(
                verbs
                    .iter()
                    .filter(|x| *x != verb)
                    .cloned()
                    .collect::<Vec<_>>(),
            );
            let lost = resources
                .iter()
                .map(|res| (res.clone(), vec![verb.clone()]))
                .collect();
            push(
                format!("verb {verb} of rule {i} ({resources:?})"),
                Some(r),
                lost,
            );
        }
    }
    out
}

struct Running {
    variant: Option<Variant>,
    log: std::path::PathBuf,
    status: std::path::PathBuf,
    _agent: Proc,
}

impl Running {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn applied(&self) -> bool {
        std::fs::read_to_string(&self.status).is_ok_and(|s| !s.trim().is_empty())
    }

    /// Whether the agent has shown what this variant predicts.
    fn done(&self) -> bool {
        match &self.variant {
            None => self.applied(),
            Some(v) => {
                let log = self.log();
                v.refusals.iter().all(|r| log.contains(r.as_str()))
            }
        }
    }
}

#[test]
fn rbac_yaml_is_least_privilege() {
    netns::require_netns();
    let cp = ControlPlane::start();
    // With the CRDs installed, the agent watches the tier kinds, so each of their rules is
    // taken out too.
    let crds = cp.install_tier_crds();
    assert_eq!(crds.len(), 3, "tier CRDs: {crds:?}");
    cp.apply(&data("cluster.yaml")).expect("cluster.yaml");
    cp.apply(&data("01-default-deny-ingress.yaml"))
        .expect("policy");
    let rbac = rbac_yaml();
    let variants = variants(&rbac);
    assert!(variants.len() >= 4, "too few variants of deploy/rbac.yaml");
    let node = Netns::new(format!("{PREFIX}{}-rbac", std::process::id()));
    let nft = nft_wrapper(&cp.dir, "node-a", &node.name);

    cp.apply(&rbac).expect("deploy/rbac.yaml");
    let mut running = vec![run(&cp, &nft, "exact", "netpol-agent", None)];
    for (k, variant) in variants.into_iter().enumerate() {
        cp.apply(&variant.text).expect("rbac variant");
        let name = variant.name.clone();
        running.push(run(&cp, &nft, &format!("v{k}"), &name, Some(variant)));
    }
    let start = Instant::now();
    while start.elapsed() < VERDICT_WITHIN && !running.iter().all(Running::done) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut failures = Vec::new();
    for r in &running {
        let what = r
            .variant
            .as_ref()
            .map_or("nothing (deploy/rbac.yaml as is)".to_string(), |v| {
                v.removed.clone()
            });
        if !r.done() {
            let want = r
                .variant
                .as_ref()
                .map_or("an applied ruleset".to_string(), |v| {
                    format!("log lines {:?}", v.refusals)
                });
            failures.push(format!(
                "removed {what}: expected {want}; log:\n{}",
                r.log()
            ));
        } else if r
            .variant
            .as_ref()
            .is_some_and(|v| v.refusals.iter().any(|x| x.contains(" to list ")))
            && r.applied()
        {
            failures.push(format!(
                "removed {what}: the agent enforced a partial view; log:\n{}",
                r.log()
            ));
        } else {
            println!("removed {what}: ok");
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Starts an agent as ServiceAccount `kube-system/account`.
fn run(
    cp: &ControlPlane,
    nft: &Path,
    name: &str,
    account: &str,
    variant: Option<Variant>,
) -> Running {
    let token = cp.token("kube-system", account);
    let kubeconfig = cp.kubeconfig(name, &cp.server(), &Credentials::Token(token));
    let agent = start_agent(&cp.dir, name, "node-a", &kubeconfig, nft, "off");
    Running {
        variant,
        log: cp.dir.join(format!("{name}.log")),
        status: cp.dir.join(format!("{name}.status")),
        _agent: agent,
    }
}
