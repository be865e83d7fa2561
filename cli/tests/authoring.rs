//! `netpol synthesize` and `netpol freeze`, run for real on `tests/data/authoring/`, and
//! their output checked by running the binary again (`netpol test`, `netpol
//! connectivity`): what they print must be what the other commands agree with.

use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn data(name: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "tests",
        "data",
        "authoring",
        name,
    ]
    .iter()
    .collect();
    path.display().to_string()
}

fn netpol(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_netpol"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .expect("the netpol binary runs");
    Run {
        code: output.status.code().expect("netpol exits normally"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

/// A file in a fresh per-test directory under the target directory.
fn scratch(test: &str, name: &str, text: &str) -> String {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(test);
    std::fs::create_dir_all(&dir).expect("scratch directory");
    let path = dir.join(name);
    std::fs::write(&path, text).expect("scratch file");
    path.display().to_string()
}

#[test]
fn synthesize_writes_policies_that_pass_the_spec_and_allow_nothing_else() {
    let run = netpol(&["synthesize", &data("intent.yaml"), &data("cluster.np")]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("self-check: 5 of 5 expectations hold"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("nothing else is allowed"),
        "{}",
        run.stderr
    );
    let out = &run.stdout;
    // A person's policies: default deny per namespace, DNS, one policy per workload,
    // stable labels, namespace names, named ports, comments naming the expectation.
    for wanted in [
        "name: default-deny\n  namespace: shop",
        "name: allow-dns\n  namespace: shop",
        "name: api\n  namespace: shop",
        "# serves: web reaches api on 8080",
        "kubernetes.io/metadata.name: monitoring",
        "port: metrics",
        "cidr: 203.0.113.7/32",
        "k8s-app: kube-dns",
    ] {
        assert!(out.contains(wanted), "missing {wanted:?} in\n{out}");
    }
    for unwanted in [
        "pod-template-hash",
        "statefulset.kubernetes.io/pod-name",
        "web-7d4b9-x2x9k",
    ] {
        assert!(!out.contains(unwanted), "{unwanted:?} in\n{out}");
    }
    // The spec holds on the cluster with the output, default: deny included.
    let written = scratch("synthesize", "policies.yaml", out);
    let test = netpol(&["test", &data("intent.yaml"), &data("cluster.np"), &written]);
    assert_eq!(test.code, 0, "{}{}", test.stdout, test.stderr);
    assert!(
        test.stdout.contains("PASS  default: deny"),
        "{}",
        test.stdout
    );
    // Deterministic.
    let again = netpol(&["synthesize", &data("intent.yaml"), &data("cluster.np")]);
    assert_eq!(again.stdout, run.stdout);
}

#[test]
fn synthesize_json_has_the_yaml_and_the_self_check() {
    let run = netpol(&[
        "synthesize",
        &data("intent.yaml"),
        &data("cluster.np"),
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(doc["passed"], true);
    assert!(doc["yaml"]
        .as_str()
        .unwrap()
        .contains("kind: NetworkPolicy"));
    assert_eq!(doc["beyond"].as_array().unwrap().len(), 0);
    let results = doc["results"].as_array().unwrap();
    assert_eq!(results.len(), 6, "five expectations and default: deny");
    assert!(results.iter().all(|r| r["passed"] == true));
    let policies = doc["policies"].as_array().unwrap();
    assert!(policies
        .iter()
        .any(|p| p["namespace"] == "shop" && p["name"] == "web"));
}

#[test]
fn synthesize_keep_writes_only_what_is_missing() {
    let run = netpol(&[
        "synthesize",
        &data("intent.yaml"),
        &data("cluster.np"),
        "--keep",
        &data("existing.yaml"),
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // The existing `api` policy already admits web: only web's egress is written, and the
    // existing policy's name stays taken.
    assert!(!run.stdout.contains("name: api\n"), "{}", run.stdout);
    assert!(
        run.stdout.contains("name: web\n  namespace: shop"),
        "{}",
        run.stdout
    );
    let api = run
        .stdout
        .split("---")
        .find(|d| d.contains("name: api-2"))
        .expect("api-2");
    assert!(!api.contains("serves: web reaches api on 8080"), "{api}");
    let written = scratch("keep", "additions.yaml", &run.stdout);
    let test = netpol(&[
        "test",
        &data("intent.yaml"),
        &data("cluster.np"),
        &data("existing.yaml"),
        &written,
    ]);
    assert_eq!(test.code, 0, "{}", test.stdout);
    // Fewer rules than from scratch: exactly the one the existing policy provides.
    let fresh = netpol(&["synthesize", &data("intent.yaml"), &data("cluster.np")]);
    let rules = |s: &str| s.matches("# serves: ").count();
    assert_eq!(
        rules(&run.stdout) + 1,
        rules(&fresh.stdout),
        "{}",
        run.stdout
    );
}

#[test]
fn synthesize_keep_without_default_deny_adds_rules_only_and_reports_the_rest() {
    // The intent without `default: deny`, and without its `expect: denied` entry (only
    // isolation could meet it, and without `default: deny` none is added).
    let intent = std::fs::read_to_string(data("intent.yaml")).unwrap();
    let allowed_only = intent.trim_start_matches("default: deny\n");
    let allowed_only = &allowed_only[..allowed_only.find("- name: grafana").unwrap()];
    let spec = scratch("keep-open", "intent.yaml", allowed_only);
    let run = netpol(&[
        "synthesize",
        &spec,
        &data("cluster.np"),
        "--keep",
        &data("existing.yaml"),
    ]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // No isolation is added: nothing denies web -> api today, so no rule for it is
    // written, and web may use every port of api, which is reported.
    assert!(!run.stdout.contains("name: default-deny"), "{}", run.stdout);
    assert!(
        !run.stdout.contains("serves: web reaches api on 8080"),
        "{}",
        run.stdout
    );
    assert!(
        run.stderr.contains("allowed beyond the spec"),
        "{}",
        run.stderr
    );
    let json = netpol(&[
        "synthesize",
        &spec,
        &data("cluster.np"),
        "--keep",
        &data("existing.yaml"),
        "-o",
        "json",
    ]);
    let doc: Value = serde_json::from_str(&json.stdout).expect("JSON");
    let web_api = doc["beyond"]
        .as_array()
        .unwrap()
        .iter()
        .find(|b| b["from"] == "shop/web-7d4b9-q8z7p" && b["to"] == "shop/api-5c6d7-m3n4b")
        .expect("web -> api is reported");
    assert_eq!(
        web_api["tcp"],
        serde_json::json!([[1, 8079], [8081, 65535]])
    );
    assert_eq!(web_api["udp"], serde_json::json!([[1, 65535]]));
    let written = scratch("keep-open", "additions.yaml", &run.stdout);
    let test = netpol(&[
        "test",
        &spec,
        &data("cluster.np"),
        &data("existing.yaml"),
        &written,
    ]);
    assert_eq!(test.code, 0, "{}", test.stdout);
}

#[test]
fn synthesize_reports_a_spec_it_cannot_meet_and_exits_1() {
    let run = netpol(&["synthesize", &data("conflict.yaml"), &data("cluster.np")]);
    assert_eq!(run.code, 1, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("FAIL  web never reaches api"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("self-check: 1 of 2 expectations hold"),
        "{}",
        run.stderr
    );
    // The policies are still printed: the best answer and the failure at once.
    assert!(run.stdout.contains("kind: NetworkPolicy"));
}

#[test]
fn synthesize_usage_errors_exit_2() {
    let spec = scratch(
        "usage",
        "bad.yaml",
        "expectations:\n- name: x\n  expcet: allowed\n",
    );
    let run = netpol(&["synthesize", &spec, &data("cluster.np")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(run.stderr.contains("invalid-spec"), "{}", run.stderr);
    let run = netpol(&["synthesize", &data("intent.yaml")]);
    assert_eq!(run.code, 2, "a cluster is required: {}", run.stderr);
    let run = netpol(&["synthesize", &data("missing.yaml"), &data("cluster.np")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
}

/// `netpol connectivity -o json` of `paths`, as (from, to) -> ports.
fn connectivity(paths: &[&str]) -> Vec<(String, String, String)> {
    let mut args = vec!["connectivity"];
    args.extend_from_slice(paths);
    args.extend_from_slice(&["-o", "json"]);
    let run = netpol(&args);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).expect("JSON");
    doc["connections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| {
            let ports = format!("{} {} {}", c["tcp"], c["udp"], c["sctp"]);
            (c["from"].to_string(), c["to"].to_string(), ports)
        })
        .collect()
}

#[test]
fn freeze_allows_exactly_what_is_allowed_now() {
    // Today: the synthesized policies for the intent.
    let today = netpol(&["synthesize", &data("intent.yaml"), &data("cluster.np")]);
    let policies = scratch("freeze", "today.yaml", &today.stdout);
    let run = netpol(&["freeze", &data("cluster.np"), &policies]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("allow exactly what is allowed now"),
        "{}",
        run.stderr
    );
    let frozen = scratch("freeze", "frozen.yaml", &run.stdout);
    assert_eq!(
        connectivity(&[&data("cluster.np"), &frozen]),
        connectivity(&[&data("cluster.np"), &policies]),
        "frozen policies instead of today's must connect the same pairs on the same ports"
    );
    assert_eq!(
        connectivity(&[&data("cluster.np"), &policies, &frozen]),
        connectivity(&[&data("cluster.np"), &policies]),
        "and so must both together"
    );
    // One policy per workload, by stable labels; names taken by today's policies (applied
    // next to them, a policy of the same name would replace one) get a suffix.
    assert!(
        run.stdout.contains("name: web-2\n  namespace: shop"),
        "{}",
        run.stdout
    );
    assert!(!run.stdout.contains("pod-template-hash"), "{}", run.stdout);
}

#[test]
fn freeze_of_a_cluster_without_policies_keeps_everything_open() {
    let run = netpol(&["freeze", &data("cluster.np"), "-o", "json"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let doc: Value = serde_json::from_str(&run.stdout).expect("JSON");
    assert_eq!(doc["changes"].as_array().unwrap().len(), 0);
    assert!(doc["yaml"]
        .as_str()
        .unwrap()
        .contains("not isolated today: everything"));
}

#[test]
fn test_with_default_deny_lists_what_else_is_allowed() {
    // No policies at all: every other pair touching the spec's namespaces is allowed.
    let run = netpol(&["test", &data("intent.yaml"), &data("cluster.np")]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout
            .contains("FAIL  default: deny (nothing else is allowed)"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("allowed beyond the spec: all ports"),
        "{}",
        run.stdout
    );
    let spec = scratch(
        "default",
        "bad-default.yaml",
        "default: allow\nexpectations: []\n",
    );
    let run = netpol(&["test", &spec, &data("cluster.np")]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("unknown variant `allow`"),
        "{}",
        run.stderr
    );
}

#[test]
fn help_names_the_authoring_commands() {
    let run = netpol(&["--help"]);
    assert!(
        run.stdout.contains("synthesize") && run.stdout.contains("freeze"),
        "{}",
        run.stdout
    );
    for command in ["synthesize", "freeze"] {
        let run = netpol(&[command, "--help"]);
        assert_eq!(run.code, 0);
        assert!(
            run.stdout.contains("Examples:"),
            "{command}: {}",
            run.stdout
        );
    }
}
