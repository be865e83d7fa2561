//! The tutorials (`core/tutorials/`): every one parses, every step's reference solution
//! passes its own check, the start text fails the first step, and the usual mistakes get
//! the hint written for them.

use netpol_core::tutorial::{self, check_step, Tutorial};

fn tutorials() -> Vec<Tutorial> {
    tutorial::all().expect("every tutorial parses")
}

fn find(id: &str) -> Tutorial {
    tutorials().into_iter().find(|t| t.id == id).expect(id)
}

#[test]
fn there_are_at_least_five_with_unique_ids() {
    let all = tutorials();
    assert!(all.len() >= 5, "{} tutorials", all.len());
    let mut ids: Vec<&str> = all.iter().map(|t| t.id.as_str()).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all.len(), "duplicate ids");
    for t in &all {
        assert!(!t.steps.is_empty(), "{} has no steps", t.id);
        let model = t.model("");
        assert!(
            model
                .diagnostics
                .iter()
                .all(|d| d.severity != netpol_core::Severity::Error),
            "{}: cluster has errors: {:?}",
            t.id,
            model.diagnostics
        );
    }
}

#[test]
fn every_reference_solution_passes_its_step_and_the_start_fails_the_first() {
    for t in tutorials() {
        let start = check_step(&t.model(&t.policies), &t.steps[0]);
        assert!(
            !start.passed,
            "{}: the start text already passes step 1",
            t.id
        );
        assert!(start.hint.is_some(), "{}: no hint after a failed try", t.id);
        for (i, step) in t.steps.iter().enumerate() {
            let model = t.model(&step.solution);
            let result = check_step(&model, step);
            assert!(
                result.passed,
                "{} step {}: the reference solution fails: {:?}",
                t.id,
                i + 1,
                result.failures
            );
            assert_eq!(result.hint, None);
            assert!(result.failures.is_empty());
            // Every hint is keyed by an expectation of its step.
            for name in step.hints.keys() {
                assert!(
                    step.check.expectations.iter().any(|e| &e.name == name),
                    "{} step {}: hint for unknown expectation `{name}`",
                    t.id,
                    i + 1
                );
            }
            // A later step starts where this one ended: it must not pass already.
            if let Some(next) = t.steps.get(i + 1) {
                assert!(
                    !check_step(&model, next).passed,
                    "{} step {} passes with the solution of step {}",
                    t.id,
                    i + 2,
                    i + 1
                );
            }
        }
    }
}

const OR_TRAP: &str = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: api-metrics
  namespace: prod
spec:
  podSelector:
    matchLabels:
      app: api
  ingress:
  - from:
    - namespaceSelector:
        matchLabels:
          team: observability
    - podSelector:
        matchLabels:
          app: prometheus
    ports:
    - port: 9100
";

#[test]
fn the_and_or_trap_gets_its_hint() {
    let t = find("namespace-labels");
    let result = check_step(&t.model(OR_TRAP), &t.steps[0]);
    assert!(!result.passed);
    assert!(
        result
            .failures
            .iter()
            .any(|f| f.starts_with("grafana does not scrape api:")),
        "{:?}",
        result.failures
    );
    let hint = result.hint.unwrap();
    assert!(hint.contains("two peers"), "{hint}");
}

#[test]
fn dns_to_everywhere_gets_its_hint() {
    let t = find("dns");
    let policies = format!(
        "{}---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: dns\n  namespace: shop\nspec:\n  podSelector: {{}}\n  policyTypes: [Egress]\n  egress:\n  - ports:\n    - {{port: 53, protocol: UDP}}\n    - {{port: 53, protocol: TCP}}\n",
        t.policies
    );
    let result = check_step(&t.model(&policies), &t.steps[0]);
    assert!(!result.passed);
    assert!(result.hint.unwrap().contains("every address"));
}

#[test]
fn errors_in_the_policies_are_reported_first() {
    let t = find("default-deny");
    let result = check_step(
        &t.model("kind: NetworkPolicy\nmetadata: {name: x}\nspec: {podSelector: 3}\n"),
        &t.steps[0],
    );
    assert!(!result.passed);
    assert!(
        result.failures[0].starts_with("line "),
        "{:?}",
        result.failures
    );
    assert!(result.hint.unwrap().contains("errors"));
}
