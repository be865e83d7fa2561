//! `netpol ... --cluster` against a REAL control plane (etcd and kube-apiserver built from
//! k8s.io/kubernetes by `testenv/`): the objects of some manifest files are created through
//! the API, and every command must give the same answers from the cluster as from the
//! files, Services included (`explain --to-service`, `exposure`). Then what only a live
//! cluster has: `--context`, `--namespace`, a user the API server refuses, the policy-tier
//! resources, and the progress line of a big read.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use netpol_testenv::{ControlPlane, Credentials};
use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn netpol(args: &[&str]) -> Run {
    let output = Command::new(env!("CARGO_BIN_EXE_netpol"))
        .args(args)
        .env("NO_COLOR", "1")
        // Only what the arguments name: no kubeconfig of the machine running the tests.
        .env_remove("KUBECONFIG")
        .env("HOME", std::env::temp_dir())
        .stdin(Stdio::null())
        .output()
        .expect("the netpol binary runs");
    Run {
        code: output.status.code().expect("netpol exits normally"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is JSON ({e}):\n{}\n{}", run.stdout, run.stderr))
}

/// The manifests the cluster gets: the agent's simulated cluster with every one of its
/// scenarios' policies at once, and the CLI's `internal` example.
fn files() -> Vec<PathBuf> {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    let netns = manifest.join("../agent/tests/netns");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&netns)
        .expect("agent/tests/netns")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        // The agent's tier scenarios (10-14) need the CRDs, which come later here, and two
        // of them are one policy at two priorities: the tier part below has its own objects.
        .filter(|p| {
            let text = std::fs::read_to_string(p).expect("manifest");
            !text.contains("policy.networking.k8s.io/")
        })
        .collect();
    // The namespaces and pods first: the API server refuses objects in a namespace that
    // does not exist yet.
    files.sort_by_key(|p| (!p.ends_with("cluster.yaml"), p.clone()));
    files.push(manifest.join("tests/data/internal-cluster.yaml"));
    files.push(manifest.join("tests/data/internal-policy.yaml"));
    files
}

fn paths(files: &[PathBuf]) -> Vec<String> {
    files.iter().map(|p| p.display().to_string()).collect()
}

/// Runs `args` once on the files and once on the cluster.
fn both(files: &[String], kubeconfig: &Path, args: &[&str]) -> (Run, Run) {
    let mut on_files: Vec<&str> = args.to_vec();
    on_files.extend(files.iter().map(String::as_str));
    let mut on_cluster: Vec<&str> = args.to_vec();
    let kubeconfig = kubeconfig.to_str().expect("utf-8 path");
    on_cluster.extend(["--cluster", "--kubeconfig", kubeconfig]);
    (netpol(&on_files), netpol(&on_cluster))
}

/// What a lint finding says, without where (a file line or an object of the cluster).
fn findings(run: &Run) -> Vec<(String, String, String)> {
    let doc = json(run);
    let mut out: Vec<(String, String, String)> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            let s = |k: &str| f[k].as_str().unwrap_or("").to_string();
            (s("code"), s("severity"), s("message"))
        })
        .collect();
    out.sort();
    out
}

/// `value` without where things were read: every `span` removed, and a rule's ` (line N)`.
/// A file and an object of the cluster put the same policy on different lines.
fn without_places(value: &Value) -> Value {
    match value {
        Value::Object(map) => map
            .iter()
            .filter(|(k, _)| k.as_str() != "span")
            .map(|(k, v)| (k.clone(), without_places(v)))
            .collect(),
        Value::Array(items) => items.iter().map(without_places).collect(),
        Value::String(text) => match text.rsplit_once(" (line ") {
            Some((rule, line)) if line.trim_end_matches(')').parse::<u32>().is_ok() => {
                Value::String(rule.to_string())
            }
            _ => value.clone(),
        },
        other => other.clone(),
    }
}

/// Per Service port, its backends and whether each allows the connection.
fn service_verdicts(run: &Run) -> Vec<Value> {
    let doc = json(run);
    let ports = doc["ports"].as_array().cloned().unwrap_or_default();
    ports
        .iter()
        .map(|p| {
            let backends: Vec<Value> = p["backends"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|b| serde_json::json!([b["to"], b["port"], b["allowed"]]))
                .collect();
            serde_json::json!([
                p["name"],
                p["port"],
                p["target_port"],
                p["allowed"],
                backends
            ])
        })
        .collect()
}

fn assert_same(what: &str, files: &Run, cluster: &Run) {
    assert_eq!(
        (files.code, &files.stdout),
        (cluster.code, &cluster.stdout),
        "{what}: the cluster's answer differs from the files'\nfiles stderr:\n{}\ncluster stderr:\n{}",
        files.stderr,
        cluster.stderr
    );
}

fn same_answers(files: &[String], kubeconfig: &Path) {
    let matrix = [
        "matrix", "--port", "80", "--port", "5432", "--port", "53/UDP", "--port", "http",
    ];
    for output in ["text", "json", "csv"] {
        let mut args = matrix.to_vec();
        args.extend(["-o", output]);
        let (f, c) = both(files, kubeconfig, &args);
        assert_same(&format!("matrix -o {output}"), &f, &c);
    }
    for output in ["text", "json"] {
        let (f, c) = both(files, kubeconfig, &["connectivity", "-o", output]);
        assert_same(&format!("connectivity -o {output}"), &f, &c);
    }
    let (f, c) = both(files, kubeconfig, &["lint", "-o", "json"]);
    assert_eq!(f.code, c.code, "lint exit code\n{}\n{}", f.stdout, c.stdout);
    assert_eq!(findings(&f), findings(&c), "lint findings");
    let explain = [
        "explain", "--from", "dev/api", "--to", "prod/db", "--port", "5432", "-o", "json",
    ];
    let (f, c) = both(files, kubeconfig, &explain);
    assert_eq!(json(&f)["allowed"], json(&c)["allowed"], "explain verdict");
    assert_eq!(f.code, c.code);
    services_answer_alike(files, kubeconfig);
}

/// What only Services decide: `explain --to-service` (the Service read from the cluster,
/// its named targetPort resolved on the pods behind it) and the exposure of each endpoint.
fn services_answer_alike(files: &[String], kubeconfig: &Path) {
    let to_service = [
        "explain",
        "--from",
        "prod/web",
        "--to-service",
        "prod/api",
        "-o",
        "json",
    ];
    let (f, c) = both(files, kubeconfig, &to_service);
    assert_eq!((f.code, c.code), (0, 0), "{}\n{}", f.stderr, c.stderr);
    let verdicts = service_verdicts(&f);
    assert_eq!(verdicts.len(), 2, "both ports of prod/api: {}", f.stdout);
    assert_eq!(verdicts, service_verdicts(&c), "explain --to-service");
    let (f, c) = both(files, kubeconfig, &["exposure", "-o", "json"]);
    assert_eq!((f.code, c.code), (0, 0), "{}\n{}", f.stderr, c.stderr);
    assert_eq!(
        without_places(&json(&f)),
        without_places(&json(&c)),
        "exposure -o json"
    );
}

/// `--namespace` limits the endpoints and findings shown, not what is evaluated: the
/// namespace's part of the full answer, unchanged.
fn namespace_limits_what_is_shown(kubeconfig: &Path) {
    let k = kubeconfig.to_str().expect("utf-8 path");
    let cluster = ["--cluster", "--kubeconfig", k];
    let run = |args: &[&str]| {
        let mut all = args.to_vec();
        all.extend(cluster);
        let run = netpol(&all);
        assert_eq!(run.code, 0, "{args:?}: {}", run.stderr);
        json(&run)
    };
    let full = run(&["matrix", "--port", "5432", "-o", "json"]);
    let prod = run(&["matrix", "--port", "5432", "-o", "json", "-n", "prod"]);
    let ids: Vec<&str> = full["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let shown: Vec<&str> = prod["endpoints"]
        .as_array()
        .expect("endpoints")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let want: Vec<&str> = ids
        .iter()
        .copied()
        .filter(|id| id.starts_with("prod/"))
        .collect();
    assert_eq!(shown, want, "matrix -n prod shows prod's endpoints");
    let at = |id: &str| ids.iter().position(|x| *x == id).expect("id");
    for (i, src) in shown.iter().enumerate() {
        for (j, dst) in shown.iter().enumerate() {
            assert_eq!(
                prod["probes"][0]["allowed"][i][j],
                full["probes"][0]["allowed"][at(src)][at(dst)],
                "{src} -> {dst}"
            );
        }
    }

    let full = run(&["connectivity", "-o", "json"]);
    let dev = run(&["connectivity", "-o", "json", "-n", "dev"]);
    // Each end a pod of dev or an outside-address class (`[...]`, not a namespace's), one
    // of them a pod of dev.
    let end =
        |c: &Value, key: &str, prefix: &str| c[key].as_str().is_some_and(|e| e.starts_with(prefix));
    let in_dev = |c: &&Value| {
        let (from_dev, to_dev) = (end(c, "from", "dev/"), end(c, "to", "dev/"));
        (from_dev || end(c, "from", "[")) && (to_dev || end(c, "to", "[")) && (from_dev || to_dev)
    };
    let want: Vec<&Value> = full["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .filter(in_dev)
        .collect();
    let got: Vec<&Value> = dev["connections"]
        .as_array()
        .expect("connections")
        .iter()
        .collect();
    assert!(!got.is_empty(), "dev has connections");
    assert!(
        got.iter().any(|c| end(c, "to", "[")),
        "dev's pods have connections to outside addresses: {dev}"
    );
    assert_eq!(got, want, "connectivity -n dev is dev's part of the whole");
    assert_eq!(dev["addresses"], full["addresses"], "the address classes");

    let lint = run(&["lint", "-o", "json", "-n", "prod"]);
    for finding in lint["findings"].as_array().expect("findings") {
        let file = finding["span"]["file"].as_str().unwrap_or("");
        assert!(
            file.is_empty() || file.contains("/prod/") || file.ends_with("namespaces/prod"),
            "lint -n prod shows a finding about {file}: {finding}"
        );
    }
}

/// Writes a kubeconfig with two contexts: `unreachable` (current; nothing listens there)
/// and `test` (the control plane, as admin).
fn two_contexts(cp: &ControlPlane) -> PathBuf {
    let pki = cp.dir.join("pki");
    let cluster = |server: String| serde_json::json!({"server": server, "certificate-authority": pki.join("ca.crt")});
    let config = serde_json::json!({
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {"name": "test", "cluster": cluster(cp.server())},
            {"name": "unreachable", "cluster": cluster(format!("https://127.0.0.1:{}", netpol_testenv::free_port()))},
        ],
        "users": [{"name": "admin", "user": {
            "client-certificate": pki.join("admin.crt"),
            "client-key": pki.join("admin.key"),
        }}],
        "contexts": [
            {"name": "test", "context": {"cluster": "test", "user": "admin"}},
            {"name": "unreachable", "context": {"cluster": "unreachable", "user": "admin"}},
        ],
        "current-context": "unreachable",
    });
    let path = cp.dir.join("two-contexts.kubeconfig");
    std::fs::write(&path, config.to_string()).expect("kubeconfig");
    path
}

fn contexts(cp: &ControlPlane) {
    let config = two_contexts(cp);
    let k = config.to_str().expect("utf-8 path");
    let current = netpol(&["matrix", "--cluster", "--kubeconfig", k]);
    assert_eq!(
        current.code, 2,
        "an unreachable cluster is a usage error: {}",
        current.stderr
    );
    assert!(
        current
            .stderr
            .contains("cannot read the cluster of context `unreachable`")
            && current.stderr.contains("kubectl cluster-info"),
        "{}",
        current.stderr
    );
    assert_eq!(current.stdout, "");
    let chosen = netpol(&[
        "matrix",
        "--cluster",
        "--kubeconfig",
        k,
        "--context",
        "test",
    ]);
    assert_eq!(chosen.code, 0, "{}", chosen.stderr);
    assert!(
        chosen.stderr.contains("from context `test`"),
        "{}",
        chosen.stderr
    );
    let missing = netpol(&[
        "matrix",
        "--cluster",
        "--kubeconfig",
        k,
        "--context",
        "nope",
    ]);
    assert_eq!(missing.code, 2);
    assert!(
        missing.stderr.contains("cannot use context `nope`"),
        "{}",
        missing.stderr
    );
    let without = netpol(&["matrix", "--context", "test", "x.yaml"]);
    assert_eq!(
        without.code, 2,
        "--context needs --cluster: {}",
        without.stderr
    );
}

/// A ServiceAccount `default/NAME` bound to a ClusterRole with `rules`, and a kubeconfig.
fn account(cp: &ControlPlane, name: &str, rules: Value) -> PathBuf {
    let objects = serde_json::json!({"apiVersion": "v1", "kind": "List", "items": [
        {"apiVersion": "v1", "kind": "ServiceAccount", "metadata": {"name": name, "namespace": "default"}},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRole", "metadata": {"name": name}, "rules": rules},
        {"apiVersion": "rbac.authorization.k8s.io/v1", "kind": "ClusterRoleBinding", "metadata": {"name": name},
         "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": name},
         "subjects": [{"kind": "ServiceAccount", "name": name, "namespace": "default"}]},
    ]});
    cp.apply(&objects.to_string()).expect("account");
    let token = cp.token("default", name);
    cp.kubeconfig(name, &cp.server(), &Credentials::Token(token))
}

fn refusals(cp: &ControlPlane) {
    let pods_only = account(
        cp,
        "pods-only",
        serde_json::json!([
            {"apiGroups": [""], "resources": ["pods"], "verbs": ["list"]},
        ]),
    );
    let k = pods_only.to_str().expect("utf-8 path");
    let run = netpol(&["matrix", "--cluster", "--kubeconfig", k]);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr.contains("forbids listing namespaces")
            && run
                .stderr
                .contains("kubectl auth can-i list namespaces --all-namespaces"),
        "{}",
        run.stderr
    );

    let no_tiers = account(
        cp,
        "no-tiers",
        serde_json::json!([
            {"apiGroups": [""], "resources": ["pods", "namespaces"], "verbs": ["list"]},
            {"apiGroups": ["networking.k8s.io"], "resources": ["networkpolicies"], "verbs": ["list"]},
        ]),
    );
    let k = no_tiers.to_str().expect("utf-8 path");
    let run = netpol(&["matrix", "--cluster", "--kubeconfig", k]);
    assert_eq!(
        run.code, 0,
        "tier kinds it may not read are skipped: {}",
        run.stderr
    );
    assert!(
        run.stderr
            .contains("warning: the API server forbids listing adminnetworkpolicies"),
        "{}",
        run.stderr
    );
    // Services decide no verdict: without them the answer comes, with a warning.
    assert!(
        run.stderr
            .contains("warning: the API server forbids listing services")
            && run.stderr.contains("evaluated without them"),
        "{}",
        run.stderr
    );
}

const ADMIN_POLICY: &str = "apiVersion: policy.networking.k8s.io/v1alpha1
kind: AdminNetworkPolicy
metadata:
  name: prod-only-from-prod
spec:
  priority: 10
  subject:
    namespaces:
      matchLabels: {env: prod}
  ingress:
  - name: deny-others
    action: Deny
    from:
    - namespaces:
        namespaceSelector:
          matchExpressions: [{key: env, operator: NotIn, values: [prod]}]
";

fn tiers_and_progress(cp: &ControlPlane, files: &[String], kubeconfig: &Path) {
    let matrix = ["matrix", "--port", "8080/TCP", "-o", "json"];
    let (before, _) = both(files, kubeconfig, &matrix);
    cp.apply(ADMIN_POLICY).expect("an AdminNetworkPolicy");
    let k = kubeconfig.to_str().expect("utf-8 path");
    let run = netpol(&["lint", "--cluster", "--kubeconfig", k]);
    assert!(
        run.stderr.contains(", 1 adminnetworkpolicies from "),
        "{}",
        run.stderr
    );
    // The Admin tier read from the API server decides as the same object in a file does,
    // and it changes the answer (default/* no longer reach prod/api on 8080).
    let admin = cp.dir.join("admin.yaml");
    std::fs::write(&admin, ADMIN_POLICY).expect("admin.yaml");
    let mut with_admin = files.to_vec();
    with_admin.push(admin.display().to_string());
    let (f, c) = both(&with_admin, kubeconfig, &matrix);
    assert_eq!(f.code, 0, "{}", f.stderr);
    assert_eq!(json(&f), json(&c), "{}", c.stderr);
    assert_ne!(
        json(&before),
        json(&f),
        "the AdminNetworkPolicy denies other namespaces → prod"
    );

    // More objects of one kind than fit in one page.
    let mut bulk = String::from("apiVersion: v1\nkind: Namespace\nmetadata: {name: bulk}\n");
    let count = netpol_kube::read::PAGE as usize + 1;
    for i in 0..count {
        bulk.push_str(&format!(
            "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata: {{name: p{i}, namespace: bulk}}\nspec: {{podSelector: {{matchLabels: {{app: none}}}}}}\n"
        ));
    }
    cp.apply(&bulk).expect("bulk policies");
    let run = netpol(&["matrix", "--cluster", "--kubeconfig", k]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let progress = run.stderr.lines().find_map(|l| {
        let rest = l.strip_prefix("netpol: reading the cluster: ")?;
        let (n, rest) = rest.split_once(' ')?;
        rest.starts_with("networkpolicies (")
            .then(|| n.parse::<usize>().ok())?
    });
    assert!(
        progress.is_some_and(|n| n > count),
        "no progress line for the second page of networkpolicies:\n{}",
        run.stderr
    );
}

/// Expectations about the files' objects: two hold, one does not (dev/client is open to
/// everyone).
const SPEC: &str = "expectations:
- name: only dev api pods reach prod db on 5432
  to: prod/db
  only_from: {namespace: {env: dev}, pod: {app: api}}
  port: 5432/TCP
- name: internal reaches mysql
  from: default/internal
  to: default/mysql
  port: 3306/TCP
  expect: allowed
- name: nothing reaches dev client
  to: dev/client
  expect: denied
";

/// A change to review: default deny for ingress in dev (dev/client is open today).
const PROPOSED: &str = "apiVersion: networking.k8s.io/v1
kind: NetworkPolicy
metadata:
  name: dev-default-deny
  namespace: dev
spec:
  podSelector: {}
  policyTypes: [Ingress]
";

/// `netpol test` and `netpol diff` give the same verdicts from the cluster as from files.
fn test_and_diff(cp: &ControlPlane, files: &[String], kubeconfig: &Path) {
    let spec = cp.dir.join("spec.yaml");
    std::fs::write(&spec, SPEC).expect("spec");
    let spec = spec.to_str().expect("utf-8 path");
    let (f, c) = both(files, kubeconfig, &["test", spec, "-o", "json"]);
    assert_eq!(f.code, 1, "one expectation fails: {}", f.stdout);
    let passed = |run: &Run| {
        let doc = json(run);
        let results = doc["results"].as_array().cloned().unwrap_or_default();
        let verdicts: Vec<(Value, Value)> = results
            .iter()
            .map(|r| (r["name"].clone(), r["passed"].clone()))
            .collect();
        (run.code, verdicts)
    };
    assert_eq!(
        passed(&f),
        passed(&c),
        "test verdicts\n{}\n{}",
        f.stdout,
        c.stdout
    );
    assert!(!passed(&c).1.is_empty(), "test results: {}", c.stdout);

    let proposed = cp.dir.join("proposed.yaml");
    std::fs::write(&proposed, PROPOSED).expect("proposed policy");
    let proposed = proposed.display().to_string();
    let mut after: Vec<&str> = files.iter().map(String::as_str).collect();
    after.push(&proposed);
    let mut on_files = vec!["diff", "-o", "csv", "--before"];
    on_files.extend(files.iter().map(String::as_str));
    on_files.push("--after");
    on_files.extend(&after);
    let k = kubeconfig.to_str().expect("utf-8 path");
    let mut on_cluster = vec![
        "diff",
        "-o",
        "csv",
        "--cluster",
        "--kubeconfig",
        k,
        "--after",
    ];
    on_cluster.extend(&after);
    let (f, c) = (netpol(&on_files), netpol(&on_cluster));
    assert!(
        f.stdout.lines().count() > 1,
        "the proposal changes something: {}",
        f.stdout
    );
    assert_same("diff --cluster --after", &f, &c);
}

/// A Service in front of prod/api: a named and a numbered targetPort.
const SERVICE: &str = "apiVersion: v1
kind: Service
metadata: {name: api, namespace: prod}
spec:
  selector: {app: api}
  ports:
  - {name: http, port: 80, targetPort: http}
  - {name: metrics, port: 9090, targetPort: 9001}
";

#[test]
fn cluster_input_gives_the_answers_of_the_same_objects_in_files() {
    let cp = ControlPlane::start();
    let mut files = files();
    let service = cp.dir.join("service.yaml");
    std::fs::write(&service, SERVICE).expect("service.yaml");
    files.push(service);
    for file in &files {
        let text = std::fs::read_to_string(file).expect("manifest");
        cp.apply(&text)
            .unwrap_or_else(|e| panic!("{}: {e:#}", file.display()));
    }
    let kubeconfig = cp.admin_kubeconfig();
    let files = paths(&files);
    // No tier CRDs yet: their absence is fine.
    same_answers(&files, &kubeconfig);
    cp.install_tier_crds();
    same_answers(&files, &kubeconfig);
    test_and_diff(&cp, &files, &kubeconfig);
    namespace_limits_what_is_shown(&kubeconfig);
    contexts(&cp);
    refusals(&cp);
    tiers_and_progress(&cp, &files, &kubeconfig);
}
