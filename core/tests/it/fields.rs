//! Every field the lowering reads, given a value of the wrong YAML type (a mapping where a
//! list belongs, a list where a mapping or string belongs, a quoted number where an integer
//! belongs, ...): each must give a diagnostic at the field's line, as the API server would
//! refuse the object, and never be skipped in silence. One row per field audited; the
//! second table checks what is kept when the problem is not fatal.

use netpol_core::{load, parse, FileId, Parsed, PortRef, Severity};

fn parse0(text: &str) -> Parsed {
    parse(FileId(0), text)
}

const POD: &str = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: a\n";
const POLICY: &str =
    "apiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: p\nspec:\n";
const SERVICE: &str = "apiVersion: v1\nkind: Service\nmetadata:\n  name: s\nspec:\n";
const DEPLOYMENT: &str = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n";

/// (field, text, code, severity, line, message substring)
type Row = (
    &'static str,
    String,
    &'static str,
    Severity,
    u32,
    &'static str,
);

fn rows() -> Vec<Row> {
    use Severity::{Error, Warning};
    let pod = |rest: &str| format!("{POD}{rest}");
    let policy = |rest: &str| format!("{POLICY}{rest}");
    let service = |rest: &str| format!("{SERVICE}{rest}");
    let deployment = |rest: &str| format!("{DEPLOYMENT}{rest}");
    vec![
        // every object
        ("kind", "kind: {Pod: 1}\nmetadata: {name: a}\n".into(), "invalid-type", Error, 1, "`kind` must be a string"),
        ("apiVersion", "apiVersion: [v1]\nkind: Namespace\nmetadata: {name: a}\n".into(), "invalid-type", Error, 1, "`apiVersion` must be a string"),
        ("items", "apiVersion: v1\nkind: List\nitems:\n  kind: Pod\n".into(), "invalid-type", Error, 4, "`items` must be a list"),
        ("metadata", "apiVersion: v1\nkind: Pod\nmetadata:\n- name: a\n".into(), "invalid-type", Error, 4, "`metadata` must be a mapping"),
        ("metadata.name (mapping)", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: {a: b}\n".into(), "invalid-type", Error, 4, "`metadata.name` must be a string"),
        ("metadata.name (number)", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: 123\n".into(), "invalid-type", Error, 4, "found a number `123`"),
        ("metadata.namespace", pod("  namespace: [prod]\n"), "invalid-type", Error, 5, "`metadata.namespace` must be a string"),
        ("metadata.labels", pod("  labels:\n  - app: web\n"), "invalid-type", Error, 6, "`labels` must be a mapping"),
        ("label value", pod("  labels:\n    version: 2\n"), "invalid-type", Error, 6, "Kubernetes needs a string"),
        // Pod spec
        ("spec", pod("spec:\n- containers: []\n"), "invalid-type", Error, 6, "`spec` must be a mapping"),
        ("spec.containers", pod("spec:\n  containers:\n    name: c\n"), "invalid-type", Error, 7, "`containers` must be a list"),
        ("containers entry", pod("spec:\n  containers:\n  - web\n"), "invalid-type", Error, 7, "`containers entry` must be a mapping"),
        ("container ports", pod("spec:\n  containers:\n  - name: c\n    ports:\n      containerPort: 8080\n      name: http\n"), "invalid-type", Error, 9, "`ports` must be a list"),
        ("ports entry", pod("spec:\n  containers:\n  - ports:\n    - 8080\n"), "invalid-type", Error, 8, "`ports entry` must be a mapping"),
        ("containerPort (list)", pod("spec:\n  containers:\n  - ports:\n    - containerPort: [8080]\n"), "invalid-type", Error, 8, "`containerPort` must be a number"),
        ("containerPort (quoted)", pod("spec:\n  containers:\n  - ports:\n    - containerPort: \"8080\"\n"), "invalid-type", Error, 8, "read as 8080"),
        ("containerPort (missing)", pod("spec:\n  containers:\n  - ports:\n    - name: http\n"), "invalid-port", Warning, 8, "without `containerPort`"),
        ("container port protocol (mapping)", pod("spec:\n  containers:\n  - ports:\n    - containerPort: 53\n      protocol: {udp: true}\n"), "invalid-type", Error, 9, "`protocol` must be a string"),
        ("container port protocol (case)", pod("spec:\n  containers:\n  - ports:\n    - containerPort: 53\n      protocol: udp\n"), "unknown-protocol", Error, 9, "must be upper-case"),
        ("container port name (number)", pod("spec:\n  containers:\n  - ports:\n    - containerPort: 53\n      name: 53\n"), "invalid-type", Error, 9, "`name` must be a string"),
        ("container port name (syntax)", pod("spec:\n  containers:\n  - ports:\n    - containerPort: 80\n      name: HTTP_PORT\n"), "invalid-port", Error, 9, "container port name `HTTP_PORT`"),
        ("nodeName", pod("spec:\n  nodeName: [node-1]\n"), "invalid-type", Error, 6, "`nodeName` must be a string"),
        ("hostNetwork (quoted)", pod("spec:\n  hostNetwork: \"true\"\n"), "invalid-type", Error, 6, "`hostNetwork` must be true or false"),
        ("hostNetwork (list)", pod("spec:\n  hostNetwork: [true]\n"), "invalid-type", Error, 6, "`hostNetwork` must be true or false"),
        // Pod status
        ("status", pod("status:\n- podIP: 10.0.0.1\n"), "invalid-type", Error, 6, "`status` must be a mapping"),
        ("status.phase", pod("status:\n  phase: {Running: true}\n"), "invalid-type", Error, 6, "`phase` must be a string"),
        ("status.podIP", pod("status:\n  podIP: [10.0.0.1]\n"), "invalid-type", Error, 6, "`ip` must be a string"),
        ("status.podIPs", pod("status:\n  podIPs:\n    ip: 10.0.0.1\n"), "invalid-type", Error, 7, "`podIPs` must be a list"),
        ("podIPs entry", pod("status:\n  podIPs:\n  - 10.0.0.1\n"), "invalid-type", Error, 7, "`podIPs entry` must be a mapping"),
        ("podIPs[].ip", pod("status:\n  podIPs:\n  - ip: {v4: 10.0.0.1}\n"), "invalid-type", Error, 7, "`ip` must be a string"),
        // workload templates
        ("workload spec", deployment("spec:\n- template: {}\n"), "invalid-type", Error, 6, "`spec` must be a mapping"),
        ("spec.template", deployment("spec:\n  template:\n  - metadata: {}\n"), "invalid-type", Error, 7, "`spec.template` must be a mapping"),
        ("jobTemplate", "apiVersion: batch/v1\nkind: CronJob\nmetadata: {name: c}\nspec:\n  jobTemplate: [spec]\n".into(), "invalid-type", Error, 5, "`spec.jobTemplate` must be a mapping"),
        ("template.metadata", deployment("spec:\n  template:\n    metadata:\n    - labels: {app: a}\n"), "invalid-type", Error, 8, "`template.metadata` must be a mapping"),
        ("template labels", deployment("spec:\n  template:\n    metadata:\n      labels: [app]\n"), "invalid-type", Error, 8, "`labels` must be a mapping"),
        ("template spec", deployment("spec:\n  template:\n    spec: [containers]\n"), "invalid-type", Error, 7, "`spec` must be a mapping"),
        ("template container ports", deployment("spec:\n  template:\n    spec:\n      containers:\n      - ports: {containerPort: 80}\n"), "invalid-type", Error, 9, "`ports` must be a list"),
        // Namespace
        ("namespace labels", "apiVersion: v1\nkind: Namespace\nmetadata:\n  name: n\n  labels: team\n".into(), "invalid-type", Error, 5, "`labels` must be a mapping"),
        // Service
        ("service spec", "apiVersion: v1\nkind: Service\nmetadata: {name: s}\nspec: [ports]\n".into(), "invalid-type", Error, 4, "`spec` must be a mapping"),
        ("service selector", service("  selector: [app]\n"), "invalid-type", Error, 6, "`selector` must be a mapping"),
        ("service selector value", service("  selector: {version: 2}\n"), "invalid-type", Error, 6, "Kubernetes needs a string"),
        ("service ports", service("  ports:\n    port: 80\n"), "invalid-type", Error, 7, "`ports` must be a list"),
        ("service ports entry", service("  ports:\n  - 80\n"), "invalid-type", Error, 7, "`ports entry` must be a mapping"),
        ("service port (quoted)", service("  ports:\n  - port: \"80\"\n"), "invalid-type", Error, 7, "read as 80"),
        ("service port (missing)", service("  ports:\n  - targetPort: 8080\n"), "invalid-port", Error, 7, "without `port`"),
        ("service port (range)", service("  ports:\n  - port: 70000\n"), "invalid-port", Error, 7, "out of range"),
        ("targetPort (mapping)", service("  ports:\n  - port: 80\n    targetPort: {port: 8080}\n"), "invalid-type", Error, 8, "`targetPort` must be a number or a port name"),
        ("targetPort (quoted number)", service("  ports:\n  - port: 80\n    targetPort: \"8080\"\n"), "invalid-port", Error, 8, "targetPort name `8080`"),
        ("service protocol", service("  ports:\n  - port: 53\n    protocol: udp\n"), "unknown-protocol", Error, 8, "must be upper-case"),
        ("service port name", service("  ports:\n  - port: 53\n    name: [dns]\n"), "invalid-type", Error, 8, "`name` must be a string"),
        ("service port typo", service("  ports:\n  - port: 80\n    targetport: 8080\n"), "unknown-field", Warning, 8, "unknown field `targetport`"),
        // NetworkPolicy (the parser's own table covers the rest of the spec)
        ("policy spec", format!("{POLICY}  - podSelector: {{}}\n"), "invalid-type", Error, 6, "`spec` must be a mapping"),
        ("policyTypes", policy("  podSelector: {}\n  policyTypes: Ingress\n"), "invalid-type", Error, 7, "`policyTypes` must be a list"),
        ("policyTypes entry", policy("  podSelector: {}\n  policyTypes: [{Ingress: true}]\n"), "invalid-type", Error, 7, "`policyTypes` must be a string"),
        ("egress", policy("  podSelector: {}\n  egress:\n    to: []\n"), "invalid-type", Error, 8, "`egress` must be a list"),
        ("rule", policy("  podSelector: {}\n  ingress:\n  - allow\n"), "invalid-type", Error, 8, "`ingress rule` must be a mapping"),
        ("from", policy("  podSelector: {}\n  ingress:\n  - from:\n      podSelector: {}\n"), "invalid-type", Error, 9, "`from` must be a list"),
        ("to entry", policy("  podSelector: {}\n  egress:\n  - to:\n    - web\n"), "invalid-type", Error, 9, "`to entry` must be a mapping"),
        ("matchLabels", policy("  podSelector:\n    matchLabels: [app]\n"), "invalid-type", Error, 7, "`matchLabels` must be a mapping"),
        ("matchExpressions", policy("  podSelector:\n    matchExpressions: {key: app}\n"), "invalid-type", Error, 7, "`matchExpressions` must be a list"),
        ("matchExpressions key", policy("  podSelector:\n    matchExpressions: [{key: [app], operator: Exists}]\n"), "invalid-type", Error, 7, "`key` must be a string"),
        ("matchExpressions operator", policy("  podSelector:\n    matchExpressions: [{key: app, operator: [In], values: [a]}]\n"), "invalid-type", Error, 7, "`operator` must be a string"),
        ("matchExpressions values", policy("  podSelector:\n    matchExpressions: [{key: app, operator: In, values: web}]\n"), "invalid-type", Error, 7, "`values` must be a list"),
        ("matchExpressions value (number)", policy("  podSelector:\n    matchExpressions: [{key: v, operator: In, values: [1]}]\n"), "invalid-type", Error, 7, "`values` must be a string"),
        ("ipBlock", policy("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: 10.0.0.0/8\n"), "invalid-type", Error, 9, "`ipBlock` must be a mapping"),
        ("cidr", policy("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: [10.0.0.0/8]}\n"), "invalid-type", Error, 9, "`cidr` must be a string"),
        ("except", policy("  podSelector: {}\n  ingress:\n  - from:\n    - ipBlock: {cidr: 10.0.0.0/8, except: 10.1.0.0/16}\n"), "invalid-type", Error, 9, "`except` must be a list"),
        ("rule ports", policy("  podSelector: {}\n  ingress:\n  - ports:\n      port: 80\n"), "invalid-type", Error, 9, "`ports` must be a list"),
        ("rule ports entry", policy("  podSelector: {}\n  ingress:\n  - ports: [80]\n"), "invalid-type", Error, 8, "`ports entry` must be a mapping"),
        ("rule port", policy("  podSelector: {}\n  ingress:\n  - ports: [{port: [80]}]\n"), "invalid-type", Error, 8, "`port` must be a number or a port name"),
        ("rule protocol", policy("  podSelector: {}\n  ingress:\n  - ports: [{port: 80, protocol: [TCP]}]\n"), "invalid-type", Error, 8, "`protocol` must be a string"),
        ("endPort", policy("  podSelector: {}\n  ingress:\n  - ports: [{port: 80, endPort: \"90\"}]\n"), "invalid-type", Error, 8, "`endPort` must be a number"),
    ]
}

#[test]
fn every_malformed_field_is_reported_at_its_line() {
    let mut failures = Vec::new();
    for (field, text, code, severity, line, message) in rows() {
        let p = parse0(&text);
        let hit = p.diagnostics.iter().any(|d| {
            d.code == code
                && d.severity == severity
                && d.span.map(|s| s.line) == Some(line)
                && d.message.contains(message)
        });
        if !hit {
            failures.push(format!(
                "{field}: want {code} ({severity:?}) at line {line} containing {message:?}, got {:?}",
                p.diagnostics
                    .iter()
                    .map(|d| (d.code, d.span.map(|s| s.line), d.message.as_str()))
                    .collect::<Vec<_>>()
            ));
        }
        for d in &p.diagnostics {
            let help = d.help.as_deref().unwrap_or("");
            if d.message.ends_with('.')
                || d.message.chars().next().is_some_and(char::is_uppercase)
                || help.is_empty()
            {
                failures.push(format!("{field}: badly formed diagnostic {d:?}"));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// The example: `ports:` written as a mapping used to be read as "no ports", so the
/// policy's named port silently stopped resolving. Now the pod stays, without ports, and
/// the error says why at the line.
#[test]
fn ports_as_a_mapping_is_an_error_not_silence() {
    let cluster = "apiVersion: v1\nkind: Pod\nmetadata: {name: web, labels: {app: web}}\nspec:\n  containers:\n  - name: c\n    ports:\n      name: http\n      containerPort: 8080\nstatus: {podIP: 10.0.0.1}\n";
    let m = load(&[(FileId(0), cluster)]);
    assert_eq!(m.cluster.pods.len(), 1, "the pod is kept");
    assert!(m.cluster.pods[0].ports.is_empty());
    let d = m
        .diagnostics
        .iter()
        .find(|d| d.code == "invalid-type")
        .expect("an error");
    assert_eq!(d.severity, Severity::Error);
    assert_eq!(d.span.map(|s| s.line), Some(8));
    assert_eq!(
        d.message,
        "`ports` must be a list, found a mapping; the container's port list was dropped"
    );
    assert_eq!(
        d.help.as_deref(),
        Some("`ports` is a list: start each entry with `- `")
    );
}

/// Problems the API server refuses but whose meaning is plain are reported and read.
#[test]
fn unambiguous_values_are_read_with_their_error() {
    let text = format!(
        "{POD}spec:\n  hostNetwork: \"true\"\n  containers:\n  - ports:\n    - {{containerPort: \"8080\", name: http}}\n"
    );
    let p = parse0(&text);
    let pod = &p.pods[0];
    assert!(pod.host_network);
    assert_eq!(pod.ports.len(), 1);
    assert_eq!(pod.ports[0].port, 8080);
    assert_eq!(
        p.diagnostics
            .iter()
            .filter(|d| d.code == "invalid-type")
            .count(),
        2
    );
    let svc = parse0(&format!(
        "{SERVICE}  selector: {{app: web}}\n  ports:\n  - {{port: \"80\", targetPort: http}}\n"
    ));
    assert_eq!(svc.services[0].ports[0].port, 80);
    assert_eq!(
        svc.services[0].ports[0].target_port,
        PortRef::Name("http".into())
    );
}
