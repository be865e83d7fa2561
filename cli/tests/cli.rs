//! The `netpol` binary, run for real on files in `tests/data/` (copies of the shared
//! examples plus small cases of our own): outputs, exit codes, stdin, directory walks,
//! diagnostics and help.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};

use serde_json::Value;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

fn data(name: &str) -> String {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "data", name]
        .iter()
        .collect();
    path.display().to_string()
}

/// Runs `netpol args...` with `stdin` piped in, without colours.
fn netpol_with_stdin(args: &[&str], stdin: &str) -> Run {
    let mut child = Command::new(env!("CARGO_BIN_EXE_netpol"))
        .args(args)
        .env("NO_COLOR", "1")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the netpol binary runs");
    let mut pipe = child.stdin.take().expect("stdin is piped");
    pipe.write_all(stdin.as_bytes())
        .expect("stdin accepts input");
    drop(pipe);
    let output = child.wait_with_output().expect("netpol finishes");
    Run {
        code: output
            .status
            .code()
            .expect("netpol exits normally, not by a signal"),
        stdout: String::from_utf8(output.stdout).expect("stdout is UTF-8"),
        stderr: String::from_utf8(output.stderr).expect("stderr is UTF-8"),
    }
}

fn netpol(args: &[&str]) -> Run {
    netpol_with_stdin(args, "")
}

fn json(run: &Run) -> Value {
    serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("stdout is JSON ({e}):\n{}", run.stdout))
}

/// The cluster and policy of the shared `internal` example.
fn internal() -> [String; 2] {
    [data("internal-cluster.yaml"), data("internal-policy.yaml")]
}

fn explain_internal(to: &str, port: &str) -> Value {
    let [cluster, policy] = internal();
    let run = netpol(&[
        "explain",
        &cluster,
        &policy,
        "--from",
        "default/internal",
        "--to",
        to,
        "--port",
        port,
        "-o",
        "json",
    ]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    json(&run)
}

#[test]
fn internal_example_verdicts_match_the_readme() {
    let table = [
        ("default/mysql", "3306/TCP", true),
        ("default/payroll", "8080/TCP", true),
        ("default/external", "8080/TCP", false),
        ("kube-system/coredns", "53/UDP", true),
        ("kube-system/coredns", "dns/UDP", true),
        ("default/mysql", "3307", false),
        ("8.8.8.8", "53/UDP", true),
        ("8.8.8.8", "443", false),
    ];
    for (to, port, allowed) in table {
        let verdict = explain_internal(to, port);
        assert_eq!(
            verdict["allowed"], allowed,
            "internal → {to}:{port}: {verdict}"
        );
        assert_eq!(verdict["flow"]["to"], to);
    }
    let denied = explain_internal("default/external", "8080/TCP");
    let policy = &denied["egress"]["Denied"]["isolated_by"][0];
    assert_eq!(policy["name"], "internal-policy");
    let path = policy["span"]["path"]
        .as_str()
        .expect("spans carry the file's path");
    assert!(path.ends_with("internal-policy.yaml"), "{path}");
    assert_eq!(denied["ingress"], "NotIsolated");
    let named = explain_internal("kube-system/coredns", "dns/UDP");
    assert_eq!(named["flow"]["port"], 53);
    assert_eq!(named["flow"]["port_name"], "dns");
    assert_eq!(named["flow"]["protocol"], "UDP");
}

#[test]
fn other_pods_are_unrestricted_in_both_directions() {
    let [cluster, policy] = internal();
    let run = netpol(&[
        "matrix", &cluster, &policy, "--port", "80", "--port", "53/UDP", "--port", "3306", "-o",
        "json",
    ]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let out = json(&run);
    let endpoints: Vec<&str> = out["endpoints"]
        .as_array()
        .expect("endpoints is an array")
        .iter()
        .map(|e| e.as_str().expect("endpoint ids are strings"))
        .collect();
    assert_eq!(
        endpoints,
        [
            "default/external",
            "default/internal",
            "default/mysql",
            "default/payroll",
            "kube-system/coredns"
        ]
    );
    let internal = 1;
    let probes = out["probes"].as_array().expect("probes is an array");
    assert_eq!(probes.len(), 3);
    for probe in probes {
        let allowed = probe["allowed"].as_array().expect("allowed is an array");
        assert_eq!(allowed.len(), 5);
        for (src, row) in allowed.iter().enumerate() {
            let row = row.as_array().expect("rows are arrays");
            assert_eq!(row.len(), 5);
            for (dst, cell) in row.iter().enumerate() {
                if src != internal {
                    assert_eq!(cell, true, "{probe}: {src} → {dst}");
                }
            }
        }
    }
    // 53/UDP goes anywhere; 3306/TCP only to mysql; 80/TCP nowhere.
    let row = |p: usize| probes[p]["allowed"][internal].clone();
    assert_eq!(probes[0]["port"], "80");
    assert_eq!(probes[0]["protocol"], "TCP");
    assert_eq!(
        row(0),
        serde_json::json!([false, false, false, false, false])
    );
    assert_eq!(probes[1]["protocol"], "UDP");
    assert_eq!(row(1), serde_json::json!([true, true, true, true, true]));
    assert_eq!(
        row(2),
        serde_json::json!([false, false, true, false, false])
    );
}

#[test]
fn matrix_text_is_the_upstream_truth_table() {
    let [cluster, policy] = internal();
    let run = netpol(&[
        "matrix", &cluster, &policy, "--port", "3306", "--port", "53/UDP",
    ]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(run.stderr, "");
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn matrix_defaults_to_port_80_tcp() {
    let [cluster, policy] = internal();
    let run = netpol(&["matrix", &cluster, &policy]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.starts_with("port 80/TCP\n-\tdefault/external\t"),
        "{}",
        run.stdout
    );
}

#[test]
fn matrix_csv_has_one_row_per_pair_and_probe() {
    let [cluster, policy] = internal();
    let run = netpol(&[
        "matrix",
        &cluster,
        &policy,
        "--port",
        "3306",
        "--port",
        "mysql/TCP",
        "-o",
        "csv",
    ]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let lines: Vec<&str> = run.stdout.lines().collect();
    assert_eq!(lines[0], "src,dst,port,protocol,allowed");
    assert_eq!(lines.len(), 1 + 2 * 25);
    assert!(lines.contains(&"default/internal,default/mysql,3306,TCP,true"));
    assert!(lines.contains(&"default/internal,default/payroll,3306,TCP,false"));
    // A named port is resolved per destination: only mysql has one called `mysql`.
    assert!(lines.contains(&"default/internal,default/mysql,mysql,TCP,true"));
    assert!(lines.contains(&"default/mysql,default/payroll,mysql,TCP,false"));
}

#[test]
fn connectivity_json_lists_every_distinct_pair() {
    let [cluster, policy] = internal();
    let run = netpol(&["connectivity", &cluster, &policy, "-o", "json"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let out = json(&run);
    let all_connections = out["connections"]
        .as_array()
        .expect("connections is an array");
    // Schema version 2: the pairs of distinct endpoints, then each endpoint to and from
    // each outside-address class (here only `[any other address]`).
    let endpoints = out["endpoints"].as_array().expect("endpoints");
    let is_endpoint = |v: &Value| endpoints.contains(v);
    let connections: Vec<&Value> = all_connections
        .iter()
        .filter(|c| is_endpoint(&c["from"]) && is_endpoint(&c["to"]))
        .collect();
    assert_eq!(connections.len(), 5 * 4);
    assert_eq!(all_connections.len(), 5 * 4 + 2 * 5);
    assert_eq!(
        all_connections[..20].iter().collect::<Vec<_>>(),
        connections,
        "pod pairs first, as in version 1"
    );
    let find = |from: &str, to: &str| {
        all_connections
            .iter()
            .find(|c| c["from"] == from && c["to"] == to)
            .unwrap_or_else(|| panic!("no entry {from} → {to}"))
            .clone()
    };
    assert_eq!(
        find("default/internal", "default/mysql"),
        serde_json::json!({
            "from": "default/internal", "to": "default/mysql",
            "tcp": [[53, 53], [3306, 3306]], "udp": [[53, 53]], "sctp": []
        })
    );
    let all = serde_json::json!([[1, 65535]]);
    let back = find("default/mysql", "default/internal");
    assert_eq!(
        (&back["tcp"], &back["udp"], &back["sctp"]),
        (&all, &all, &all)
    );
    assert!(connections.iter().all(|c| c["from"] != c["to"]));
    assert_eq!(out["version"], 2);
    assert_eq!(
        out["addresses"],
        serde_json::json!([{"label": "[any other address]", "ranges": [
            ["0.0.0.0", "255.255.255.255"],
            ["::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"]
        ]}])
    );
    let out_dns = find("default/internal", "[any other address]");
    assert_eq!(
        (&out_dns["tcp"], &out_dns["udp"], &out_dns["sctp"]),
        (
            &serde_json::json!([[53, 53]]),
            &serde_json::json!([[53, 53]]),
            &serde_json::json!([])
        )
    );
    let back = find("[any other address]", "default/internal");
    assert_eq!(back["tcp"], all);
}

/// Outside addresses in the JSON, as the text shows them: an ipBlock with `except` is a
/// class of its own with its ranges; every connection to and from it is listed, and equals
/// what `explain` says for an address inside it.
#[test]
fn connectivity_json_includes_the_outside_address_classes() {
    let examples = concat!(env!("CARGO_MANIFEST_DIR"), "/../app/examples");
    let (policy, cluster) = (
        format!("{examples}/ipblock-policy.yaml"),
        format!("{examples}/ipblock-cluster.yaml"),
    );
    let run = netpol(&["connectivity", &cluster, &policy, "-o", "json"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let out = json(&run);
    let labels: Vec<&str> = out["addresses"]
        .as_array()
        .expect("addresses")
        .iter()
        .map(|a| a["label"].as_str().unwrap_or_default())
        .collect();
    assert_eq!(
        labels,
        [
            "[10.0.0.0/8 except 10.66.0.0/16]",
            "[192.168.0.0/16]",
            "[any other address]"
        ]
    );
    assert_eq!(
        out["addresses"][0]["ranges"],
        serde_json::json!([
            ["10.0.0.0", "10.65.255.255"],
            ["10.67.0.0", "10.255.255.255"]
        ])
    );
    let connections = out["connections"].as_array().expect("connections");
    assert_eq!(connections.len(), 3 * 2 + 2 * 3 * 3);
    let get = |from: &str, to: &str| {
        connections
            .iter()
            .find(|c| c["from"] == from && c["to"] == to)
            .unwrap_or_else(|| panic!("no entry {from} → {to}"))
            .clone()
    };
    let egress = get("prod/api", "[10.0.0.0/8 except 10.66.0.0/16]");
    assert_eq!(egress["tcp"], serde_json::json!([[443, 443]]));
    // The same question to one address of the class, through explain.
    let explained = netpol(&[
        "explain",
        &cluster,
        &policy,
        "--from",
        "prod/api",
        "--to",
        "10.200.0.1",
        "-o",
        "json",
    ]);
    assert_eq!(json(&explained)["ports"]["tcp"], egress["tcp"]);
    let hole = get("prod/api", "[any other address]");
    assert_eq!(
        hole["tcp"],
        serde_json::json!([]),
        "10.66.0.0/16 is excepted"
    );
}

#[test]
fn connectivity_text_groups_identical_results() {
    let [cluster, policy] = internal();
    let run = netpol(&["connectivity", &cluster, &policy]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn connectivity_text_of_the_compact_shop() {
    let run = netpol(&[
        "connectivity",
        &data("compact.np"),
        &data("shop-policy.yaml"),
    ]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn connectivity_text_collapses_whole_namespaces_and_replica_sets() {
    let run = netpol(&[
        "connectivity",
        &data("replicas.np"),
        &data("replicas-policy.yaml"),
    ]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert!(
        run.stdout.contains("from a/web-7d4b9-*\n"),
        "{}",
        run.stdout
    );
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn compact_form_and_named_ports() {
    let run = netpol(&[
        "matrix",
        &data("compact.np"),
        &data("shop-policy.yaml"),
        "--port",
        "pg",
        "--port",
        "8080",
    ]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    insta::assert_snapshot!(run.stdout);
}

#[test]
fn stdin_is_read_for_dash() {
    let text = std::fs::read_to_string(data("compact.np")).expect("test data is readable");
    let from_stdin = netpol_with_stdin(&["matrix", "-", &data("shop-policy.yaml")], &text);
    let from_file = netpol(&["matrix", &data("compact.np"), &data("shop-policy.yaml")]);
    assert_eq!(from_stdin.code, 0, "stderr: {}", from_stdin.stderr);
    assert_eq!(from_stdin.stdout, from_file.stdout);
    assert!(from_stdin.stdout.contains("shop/api"));
}

#[test]
fn directories_are_walked_recursively_in_sorted_order() {
    let run = netpol(&["matrix", &data("tree"), "-o", "json"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    let out = json(&run);
    // web.yml and db/db.json are found; .hidden/ and README.md are not.
    assert_eq!(out["endpoints"], serde_json::json!(["shop/db", "shop/web"]));
    // policy.yaml was read too: db only accepts app=api, so nothing reaches db, itself
    // included; web is not isolated.
    assert_eq!(
        out["probes"][0]["allowed"],
        serde_json::json!([[false, true], [false, true]])
    );
}

#[test]
fn error_diagnostics_exit_1_and_still_print_results() {
    let run = netpol(&["matrix", &data("invalid-cidr.yaml")]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("invalid-cidr"), "{}", run.stderr);
    assert!(run.stderr.contains("10.1.0.300/24"), "{}", run.stderr);
    // miette's location header: path:line:column.
    assert!(
        run.stderr.contains("invalid-cidr.yaml:34:15]"),
        "{}",
        run.stderr
    );
    assert!(
        run.stdout.starts_with("port 80/TCP\n-\tx/a\tx/b\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn warnings_print_but_exit_0() {
    let run = netpol(&["matrix", &data("typo.yaml")]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert!(run.stderr.contains("ingres"), "{}", run.stderr);
    assert!(run.stderr.contains("typo.yaml:12:3]"), "{}", run.stderr);
    assert!(
        run.stderr.contains("did you mean `ingress`?"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_file_that_is_not_utf8_is_an_input_error() {
    let run = netpol(&["matrix", &data("not-utf8.yaml"), &data("compact.np")]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("is not UTF-8 text"), "{}", run.stderr);
    assert!(run.stdout.contains("shop/web"), "{}", run.stdout);
}

#[test]
fn usage_errors_exit_2() {
    let [cluster, policy] = internal();
    let cases: [&[&str]; 7] = [
        &["matrix"],
        &["matrix", &cluster, "--port", "80/ICMP"],
        &["matrix", &cluster, "--port", "0"],
        &["matrix", &cluster, "-o", "yaml"],
        &["matrix", &data("does-not-exist.yaml")],
        &["matrix", "-", "-"],
        &["frobnicate"],
    ];
    for args in cases {
        let run = netpol(args);
        assert_eq!(run.code, 2, "{args:?}: {}", run.stderr);
        assert!(!run.stderr.is_empty(), "{args:?} explains itself");
        assert_eq!(run.stdout, "", "{args:?}");
    }
    let run = netpol(&[
        "explain",
        &cluster,
        &policy,
        "--from",
        "internal",
        "--to",
        "default/mysql",
        "--port",
        "3306",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("did you mean default/internal?"),
        "{}",
        run.stderr
    );
    let run = netpol(&[
        "explain",
        &cluster,
        &policy,
        "--from",
        "default/internal",
        "--to",
        "default/mysql",
        "--port",
        "http",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("default/mysql has no TCP port named http"),
        "{}",
        run.stderr
    );
}

#[test]
fn explain_text_notes_a_pod_ip_used_as_an_address() {
    let [cluster, policy] = internal();
    let run = netpol(&[
        "explain",
        &cluster,
        &policy,
        "--from",
        "10.244.0.10",
        "--to",
        "default/mysql",
        "--port",
        "3306",
    ]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert!(
        run.stdout.starts_with(
            "note: 10.244.0.10 is the IP of default/internal; it is evaluated as an address"
        ),
        "{}",
        run.stdout
    );
    let explanation: Vec<&str> = run.stdout.lines().skip(1).collect();
    assert!(
        explanation.join("\n").contains("allowed"),
        "an explanation in the verdict words follows the note: {}",
        run.stdout
    );
}

/// `netpol explain` on the pair example without `--port`.
fn explain_pair(from: &str, to: &str, extra: &[&str]) -> Run {
    let (cluster, policy) = (data("pair-cluster.np"), data("pair-policy.yaml"));
    let mut args = vec!["explain", &cluster, &policy, "--from", from, "--to", to];
    args.extend_from_slice(extra);
    let run = netpol(&args);
    assert_eq!(run.code, 0, "{from} -> {to}: {}", run.stderr);
    run
}

#[test]
fn explain_without_port_explains_the_pair_on_every_port() {
    // An allowed pair; a pair denied by one side; both sides allowed on disjoint ports; an
    // address the egress ipBlock excepts; an address as the source.
    let pairs = [
        ("shop/web", "shop/api"),
        ("shop/dns", "shop/api"),
        ("shop/web", "shop/db"),
        ("shop/web", "10.1.2.3"),
        ("shop/web", "10.1.0.5"),
        ("8.8.8.8", "shop/api"),
    ];
    let mut all = String::new();
    for (from, to) in pairs {
        let run = explain_pair(from, to, &[]);
        assert_eq!(run.stderr, "");
        all.push_str(&run.stdout);
        all.push('\n');
    }
    // The denied pair's policies only mention 8080; another policy's 53/UDP has nothing to
    // say about it.
    let denied = explain_pair("shop/dns", "shop/api", &[]).stdout;
    assert!(
        denied.starts_with("shop/dns -> shop/api on any port: denied on every port\n"),
        "{denied}"
    );
    assert!(!denied.contains("53"), "{denied}");
    insta::assert_snapshot!(all);
}

#[test]
fn explain_without_port_json_lists_the_ports_per_rule() {
    let value = json(&explain_pair("shop/web", "shop/db", &["-o", "json"]));
    assert_eq!(value["allowed"], false);
    assert_eq!(value["flow"]["from"], "shop/web");
    assert_eq!(value["flow"]["port"], Value::Null);
    assert_eq!(value["flow"]["protocol"], Value::Null);
    assert_eq!(value["ports"]["tcp"], serde_json::json!([]));
    // Both sides allow something: the named port pg is 5432 on shop/db, ingress only 8080.
    let egress = &value["egress"]["Allowed"]["by"][0];
    assert_eq!(egress["rule"]["index"], 2);
    assert_eq!(egress["ports"]["tcp"], serde_json::json!([[5432, 5432]]));
    let ingress = &value["ingress"]["Allowed"]["by"][0];
    assert_eq!(ingress["ports"]["tcp"], serde_json::json!([[8080, 8080]]));
    let path = ingress["rule"]["span"]["path"].as_str().unwrap_or_default();
    assert!(path.ends_with("pair-policy.yaml"), "{path}");

    let value = json(&explain_pair("shop/web", "shop/api", &["-o", "json"]));
    assert_eq!(value["allowed"], true);
    assert_eq!(value["ports"]["tcp"], serde_json::json!([[8080, 8080]]));
    assert_eq!(value["ports"]["udp"], serde_json::json!([]));

    let value = json(&explain_pair("8.8.8.8", "shop/api", &["-o", "json"]));
    assert_eq!(value["egress"], "NotIsolated");
    let miss = &value["ingress"]["Denied"]["misses"][0];
    assert_eq!(
        miss["reason"]["Peers"],
        serde_json::json!(["SelectorVsAddress"])
    );

    // With --port, the one-flow answer is unchanged: no `ports`, a number in `flow.port`.
    let value = json(&explain_pair(
        "shop/web",
        "shop/db",
        &["--port", "pg", "-o", "json"],
    ));
    assert_eq!(value["flow"]["port"], 5432);
    assert_eq!(value["allowed"], false);
    assert!(value.get("ports").is_none());
}

#[test]
fn generate_is_deterministic_and_loads_cleanly() {
    let args = [
        "generate",
        "--pods",
        "60",
        "--policies",
        "30",
        "--seed",
        "5",
    ];
    let first = netpol(&args);
    let second = netpol(&args);
    assert_eq!(first.code, 0);
    assert_eq!(first.stdout, second.stdout);
    assert_eq!(first.stdout.matches("\nkind: Pod\n").count(), 60);
    let run = netpol_with_stdin(&["matrix", "-", "-o", "json"], &first.stdout);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(run.stderr, "", "generated clusters have no diagnostics");
    assert_eq!(json(&run)["endpoints"].as_array().map(Vec::len), Some(60));
}

#[test]
fn help_for_every_command_has_examples() {
    for command in ["matrix", "connectivity", "explain", "generate"] {
        let run = netpol(&[command, "--help"]);
        assert_eq!(run.code, 0, "{command}");
        assert!(
            run.stdout.contains("Examples:"),
            "{command}: {}",
            run.stdout
        );
        assert!(
            run.stdout.contains(&format!("netpol {command}")),
            "{command}"
        );
    }
    let run = netpol(&["--help"]);
    assert_eq!(run.code, 0);
    for command in ["matrix", "connectivity", "explain", "generate"] {
        assert!(run.stdout.contains(command), "{command} listed");
    }
    let run = netpol(&["--version"]);
    assert_eq!(run.code, 0);
    assert_eq!(
        run.stdout,
        format!("netpol {}\n", env!("CARGO_PKG_VERSION"))
    );
}

// ---------------------------------------------------------------------------------------
// Review tools: `lint`, `diff`, `test` (issue 5). Inputs live in core/tests/review/cli/,
// next to the core's review cases.
// ---------------------------------------------------------------------------------------

fn review(name: &str) -> String {
    let path: PathBuf = [
        env!("CARGO_MANIFEST_DIR"),
        "..",
        "core",
        "tests",
        "review",
        "cli",
        name,
    ]
    .iter()
    .collect();
    path.display().to_string()
}

fn codes(run: &Run) -> Vec<String> {
    json(run)["findings"]
        .as_array()
        .expect("findings is an array")
        .iter()
        .map(|f| f["code"].as_str().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn lint_clean_input_exits_0_even_with_deny_warnings() {
    let (cluster, clean) = (review("cluster.txt"), review("clean.yaml"));
    let run = netpol(&["lint", &cluster, &clean, "--deny", "warnings"]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stdout
            .contains("no problems found: 0 errors, 0 warnings, 0 infos"),
        "{}",
        run.stdout
    );
}

#[test]
fn lint_warnings_exit_0_unless_denied() {
    let (cluster, warnings) = (review("cluster.txt"), review("warnings.yaml"));
    let run = netpol(&["lint", &cluster, &warnings]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    assert!(run.stdout.contains("and-or-trap"), "{}", run.stdout);
    assert!(run.stdout.contains("warnings.yaml:9:"), "{}", run.stdout);
    assert!(run.stdout.contains("help:"), "{}", run.stdout);
    let denied = netpol(&["lint", &cluster, &warnings, "--deny", "warnings"]);
    assert_eq!(denied.code, 1, "{}", denied.stdout);
}

#[test]
fn lint_error_findings_exit_1() {
    let (cluster, error) = (review("cluster.txt"), review("error.yaml"));
    let run = netpol(&["lint", &cluster, &error]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(run.stdout.contains("invalid-port"), "{}", run.stdout);
    // parse diagnostics are findings on stdout, not repeated on stderr
    assert!(!run.stderr.contains("invalid-port"), "{}", run.stderr);
}

#[test]
fn lint_json_has_codes_spans_and_summary() {
    let (cluster, warnings) = (review("cluster.txt"), review("warnings.yaml"));
    let run = netpol(&["lint", &cluster, &warnings, "-o", "json"]);
    assert_eq!(run.code, 0, "{}", run.stdout);
    let doc = json(&run);
    let got = codes(&run);
    for want in ["and-or-trap", "egress-without-dns", "peer-selects-nothing"] {
        assert!(got.iter().any(|c| c == want), "{want} missing from {got:?}");
    }
    let trap = doc["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["code"] == "and-or-trap"))
        .expect("an and-or-trap finding");
    assert_eq!(trap["severity"], "warning");
    assert_eq!(trap["span"]["line"], 9);
    assert!(trap["span"]["file"]
        .as_str()
        .is_some_and(|f| f.ends_with("warnings.yaml")));
    assert_eq!(trap["related"].as_array().map(Vec::len), Some(2));
    assert_eq!(doc["summary"]["warnings"], 3);
    assert_eq!(doc["summary"]["errors"], 0);
}

#[test]
fn lint_help_has_examples() {
    let run = netpol(&["lint", "--help"]);
    assert_eq!(run.code, 0);
    assert!(run.stdout.contains("Examples:") && run.stdout.contains("--deny warnings"));
}

fn shop(spec: &str, extra: &[&str]) -> Run {
    let (spec, cluster, policies) = (
        review(spec),
        review("shop-cluster.txt"),
        review("shop-policies.yaml"),
    );
    let mut args = vec!["test", spec.as_str(), cluster.as_str(), policies.as_str()];
    args.extend_from_slice(extra);
    netpol(&args)
}

#[test]
fn test_passing_spec_exits_0() {
    let run = shop("shop-pass.yaml", &[]);
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    assert_eq!(run.stdout.matches("PASS  ").count(), 4, "{}", run.stdout);
    assert!(
        run.stdout.ends_with("4 passed, 0 failed\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn test_failing_spec_exits_1_with_explanations() {
    let run = shop("shop-fail.yaml", &[]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    assert!(
        run.stdout.contains("FAIL  web reaches api on 9090 ("),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("shop-fail.yaml:8)"), "{}", run.stdout);
    // the explanation of the offending connection names the rules that missed
    assert!(
        run.stdout.contains("x/web -> x/api on 9090/TCP: denied"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("isolated by x/web-egress"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.ends_with("1 passed, 2 failed\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn test_json_lists_results_and_violations() {
    let run = shop("shop-fail.yaml", &["-o", "json"]);
    assert_eq!(run.code, 1, "{}", run.stdout);
    let doc = json(&run);
    assert_eq!(doc["summary"]["passed"], 1);
    assert_eq!(doc["summary"]["failed"], 2);
    let second = &doc["results"][1];
    assert_eq!(second["passed"], false);
    assert_eq!(second["violations"][0]["from"], "x/web");
    assert_eq!(second["violations"][0]["port"], 9090);
    assert_eq!(second["violations"][0]["expected"], "allowed");
}

#[test]
fn test_bad_spec_is_a_usage_error_with_its_line() {
    let run = shop("bad-spec.yaml", &[]);
    assert_eq!(run.code, 2, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains("unknown field `expcet`"),
        "{}",
        run.stderr
    );
    assert!(run.stderr.contains("bad-spec.yaml:5:3"), "{}", run.stderr);
}

fn shop_diff(format: &str) -> Run {
    let (cluster, before, after) = (
        review("shop-cluster.txt"),
        review("shop-policies.yaml"),
        review("shop-policies-after.yaml"),
    );
    netpol(&[
        "diff", "--before", &cluster, &before, "--after", &cluster, &after, "-o", format,
    ])
}

#[test]
fn diff_text_groups_changes_with_reasons() {
    let run = shop_diff("text");
    assert_eq!(run.code, 0, "{}{}", run.stdout, run.stderr);
    // db lost its policy: the outside and x/api gain access; x/web gains only DNS because
    // its own egress policy still limits it
    assert!(
        run.stdout
            .contains("added +UDP 53\n  from x/web\n  to   y/db\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout.contains("from [any other address]"),
        "{}",
        run.stdout
    );
    assert!(run.stdout.contains("isolated by y/db"), "{}", run.stdout);
    assert!(
        run.stdout.ends_with("3 changed pairs in 3 groups (2 added, 0 removed, 1 changed); endpoints: 0 added, 0 removed\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn diff_markdown_csv_and_json() {
    let md = shop_diff("markdown");
    assert_eq!(md.code, 0);
    assert!(
        md.stdout
            .contains("| change | from | to | ports | before | after |"),
        "{}",
        md.stdout
    );
    assert!(
        md.stdout.contains("| added | x/web | y/db | +UDP 53 |"),
        "{}",
        md.stdout
    );

    let csv = shop_diff("csv");
    assert_eq!(csv.code, 0);
    let lines: Vec<&str> = csv.stdout.lines().collect();
    assert_eq!(
        lines.first(),
        Some(&"change,from,to,before,after,added,removed")
    );
    assert!(
        lines.contains(&"added,x/web,y/db,nothing,UDP 53,UDP 53,nothing"),
        "{}",
        csv.stdout
    );
    assert_eq!(lines.len(), 4, "{}", csv.stdout);

    let run = shop_diff("json");
    assert_eq!(run.code, 0);
    let doc = json(&run);
    assert_eq!(doc["changed_pairs"], 3);
    let first = &doc["changes"][0];
    assert_eq!(first["kind"], "added");
    assert_eq!(first["from"][0]["endpoint"], "x/web");
    assert_eq!(first["added"]["udp"][0][0], 53);
    assert_eq!(first["after_reason"]["allowed"], true);
}

#[test]
fn diff_of_identical_inputs_changes_nothing() {
    let (cluster, policies) = (review("shop-cluster.txt"), review("shop-policies.yaml"));
    let run = netpol(&[
        "diff", "--before", &cluster, &policies, "--after", &cluster, &policies,
    ]);
    assert_eq!(run.code, 0);
    assert!(
        run.stdout.starts_with("no connection changed\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn review_commands_have_help_with_examples() {
    for command in ["diff", "test"] {
        let run = netpol(&[command, "--help"]);
        assert_eq!(run.code, 0);
        assert!(
            run.stdout.contains("Examples:"),
            "{command}: {}",
            run.stdout
        );
    }
}

// ---------------------------------------------------------------------------------------
// Services, exposure and the quiet summary of ignored kinds

#[test]
fn ignored_kinds_are_one_line_unless_verbose() {
    let services = data("services.yaml");
    let run = netpol(&["matrix", &services]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    assert_eq!(
        run.stderr,
        "ignored: 2 ConfigMap, 1 Secret (kinds that do not affect network policy; --verbose says where)\n"
    );
    let verbose = netpol(&["matrix", &services, "--verbose"]);
    assert_eq!(verbose.stdout, run.stdout, "the result is the same");
    assert_eq!(
        verbose.stderr.matches("ignored-kind").count(),
        3,
        "{}",
        verbose.stderr
    );
    assert!(verbose
        .stderr
        .contains("kind `ConfigMap` does not affect network policy"));
    assert!(!verbose.stderr.contains("ignored: 2 ConfigMap"));
    // lint's findings are its output: the same summary there.
    let lint = netpol(&["lint", &services]);
    assert!(
        lint.stdout.contains("ignored: 2 ConfigMap, 1 Secret"),
        "{}",
        lint.stdout
    );
    assert!(!lint.stdout.contains("ignored-kind"), "{}", lint.stdout);
    let lint_v = netpol(&["lint", &services, "-v"]);
    assert_eq!(lint_v.stdout.matches("ignored-kind").count(), 3);
}

#[test]
fn explain_to_a_service_resolves_the_pods_and_target_ports() {
    let services = data("services.yaml");
    let run = netpol(&[
        "explain",
        &services,
        "--from",
        "shop/web",
        "--to-service",
        "shop/api",
        "--port",
        "80",
    ]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    insta::assert_snapshot!(run.stdout);
    let by_name = netpol(&[
        "explain",
        &services,
        "--from",
        "shop/web",
        "--to-service",
        "shop/api",
        "--port",
        "http",
    ]);
    assert_eq!(by_name.stdout, run.stdout, "the Service port by its name");
    let all_ports = netpol(&[
        "explain",
        &services,
        "--from",
        "shop/web",
        "--to-service",
        "shop/api",
    ]);
    assert_eq!(all_ports.stdout, run.stdout, "the Service has one port");
    let j = netpol(&[
        "explain",
        &services,
        "--from",
        "shop/web",
        "--to-service",
        "shop/api",
        "-o",
        "json",
    ]);
    let v = json(&j);
    assert_eq!(v["service"], "shop/api");
    let port = &v["ports"][0];
    assert_eq!(
        (port["port"].as_u64(), port["target_port"].as_str()),
        (Some(80), Some("http"))
    );
    assert_eq!(port["allowed"], false);
    let backends = port["backends"].as_array().expect("backends");
    assert_eq!(backends.len(), 2);
    assert_eq!(backends[0]["to"], "shop/Deployment/api");
    assert_eq!(backends[0]["port"], 8080);
    assert_eq!(
        backends[0]["ingress"]["Denied"]["isolated_by"][0]["name"],
        "api"
    );
    assert_eq!(backends[1]["port"], Value::Null);
}

#[test]
fn explain_to_an_unknown_service_or_port_is_a_usage_error() {
    let services = data("services.yaml");
    let run = netpol(&[
        "explain",
        &services,
        "--from",
        "shop/web",
        "--to-service",
        "shop/apj",
    ]);
    assert_eq!(run.code, 2);
    assert!(run
        .stderr
        .contains("--to-service shop/apj names no Service of the input"));
    assert!(run.stderr.contains("did you mean shop/api?"));
    let run = netpol(&[
        "explain",
        &services,
        "--from",
        "shop/web",
        "--to-service",
        "shop/api",
        "--port",
        "53/UDP",
    ]);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains("service shop/api has no UDP port 53"),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.contains("its ports are http 80/TCP -> http"),
        "{}",
        run.stderr
    );
    let both = netpol(&[
        "explain",
        &services,
        "--from",
        "shop/web",
        "--to",
        "shop/web",
        "--to-service",
        "shop/api",
    ]);
    assert_eq!(both.code, 2, "--to and --to-service exclude each other");
    let neither = netpol(&["explain", &services, "--from", "shop/web"]);
    assert_eq!(neither.code, 2);
}

#[test]
fn exposure_text_and_json() {
    let services = data("services.yaml");
    let run = netpol(&["exposure", &services, "--endpoint", "shop/Deployment/api"]);
    assert_eq!(run.code, 0, "stderr: {}", run.stderr);
    insta::assert_snapshot!(run.stdout);
    let j = json(&netpol(&["exposure", &services, "-o", "json"]));
    assert_eq!(j["version"], 1);
    let endpoints = j["endpoints"].as_array().expect("endpoints");
    assert_eq!(endpoints.len(), 3);
    let api = &endpoints[0];
    assert_eq!(api["id"], "shop/Deployment/api");
    let ingress = &api["ingress"]["exposures"][0];
    assert_eq!(
        ingress["description"],
        "pods labelled app=web in namespace shop"
    );
    assert_eq!(ingress["peer"]["kind"], "pods");
    assert_eq!(ingress["peer"]["namespace"], "shop");
    assert_eq!(ingress["ports"]["tcp"], serde_json::json!([[80, 80]]));
    assert_eq!(ingress["matches_now"], serde_json::json!(["shop/web"]));
    assert_eq!(ingress["rules"][0]["span"]["line"], 50);
    let unknown = netpol(&["exposure", &services, "--endpoint", "shop/nope"]);
    assert_eq!(unknown.code, 2);
}

/// The documents of a YAML text, split at `---` lines.
fn documents(text: &str) -> Vec<String> {
    let mut docs = vec![String::new()];
    for line in text.split_inclusive('\n') {
        if line.trim_end() == "---" {
            docs.push(String::new());
        } else if let Some(last) = docs.last_mut() {
            last.push_str(line);
        }
    }
    docs.retain(|d| !d.trim().is_empty());
    docs
}

/// `netpol convert` keeps connectivity: on every upstream AdminNetworkPolicy conformance
/// case (the houses cluster, and each step's state), the connectivity with the
/// AdminNetworkPolicies and BaselineAdminNetworkPolicy is the connectivity with their
/// conversion instead, and the converted text parses without a warning.
#[test]
fn convert_round_trip_keeps_connectivity_on_the_upstream_cases() {
    let cases: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "core", "tests", "cases"]
        .iter()
        .collect();
    let cluster = cases.join("fixtures").join("houses.yaml");
    let dir = std::env::temp_dir().join(format!("netpol-convert-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let mut files: Vec<PathBuf> = std::fs::read_dir(cases.join("upstream-anp"))
        .expect("upstream-anp cases")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    assert!(files.len() >= 16, "the transcribed ANP suite is there");
    let mut checked = 0;
    for file in &files {
        let case: serde_yaml::Value =
            serde_yaml::from_str(&std::fs::read_to_string(file).expect("case")).expect("yaml");
        let mut states = vec![case["policies"].as_str().expect("policies").to_string()];
        // Each step that replaces a policy gives another state to convert.
        for step in case["steps"].as_sequence().into_iter().flatten() {
            let Some(apply) = step["apply"].as_str() else {
                continue;
            };
            let mut docs = documents(states.last().expect("a state"));
            for new in documents(apply) {
                let name = |d: &str| {
                    let v: serde_yaml::Value = serde_yaml::from_str(d).expect("doc");
                    (
                        v["kind"].as_str().map(String::from),
                        v["metadata"]["name"].as_str().map(String::from),
                    )
                };
                match docs.iter().position(|d| name(d) == name(&new)) {
                    Some(i) => docs[i] = new,
                    None if name(&new).0.as_deref() != Some("Namespace") => docs.push(new),
                    None => {}
                }
            }
            states.push(docs.join("---\n"));
        }
        for (k, policies) in states.iter().enumerate() {
            let before = dir.join("before.yaml");
            std::fs::write(&before, policies).expect("write");
            let converted = netpol(&["convert", &before.display().to_string()]);
            assert_eq!(
                converted.code,
                0,
                "{}: {}",
                file.display(),
                converted.stderr
            );
            let rest: Vec<String> = documents(policies)
                .into_iter()
                .filter(|d| {
                    !d.contains("kind: AdminNetworkPolicy")
                        && !d.contains("kind: BaselineAdminNetworkPolicy")
                })
                .collect();
            let after = dir.join("after.yaml");
            std::fs::write(
                &after,
                format!("{}---\n{}", rest.join("---\n"), converted.stdout),
            )
            .expect("write");
            let lint = netpol(&["lint", &after.display().to_string()]);
            assert!(
                !lint.stdout.contains("unknown-field") && !lint.stdout.contains("invalid-"),
                "{} state {k}: the conversion parses cleanly:\n{}\n{}",
                file.display(),
                lint.stdout,
                converted.stdout
            );
            let connectivity = |policies: &PathBuf| {
                let run = netpol(&[
                    "connectivity",
                    &cluster.display().to_string(),
                    &policies.display().to_string(),
                    "-o",
                    "json",
                ]);
                assert_eq!(run.code, 0, "{}", run.stderr);
                json(&run)
            };
            assert_eq!(
                connectivity(&before),
                connectivity(&after),
                "{} state {k}: connectivity changed by the conversion:\n{}",
                file.display(),
                converted.stdout
            );
            checked += 1;
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
    assert!(checked >= 30, "only {checked} states checked");
}

fn tiers() -> [String; 2] {
    [data("tiers-cluster.txt"), data("tiers-policies.yaml")]
}

#[test]
fn explain_prints_the_tier_chain_of_each_side() {
    let [cluster, policies] = tiers();
    let run = netpol(&[
        "explain", &cluster, &policies, "--from", "prod/api", "--to", "prod/web", "--port", "80",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    assert_eq!(
        run.stdout,
        "prod/api -> prod/web on 80/TCP: denied\n\
         egress from prod/api: denied\n  \
         [NetworkPolicy] not isolated (no NetworkPolicy selects it for this direction)\n  \
         [Baseline] BaselineAdminNetworkPolicy default: Deny, rule no-internet (spec.egress[0], line 59)\n\
         ingress to prod/web: allowed\n  \
         [Admin] ClusterNetworkPolicy cluster-guardrails (priority 10): Pass, rule delegate-tenant-blue (spec.ingress[0], line 13)\n  \
         [NetworkPolicy] allowed\n    \
         isolated by prod/allow-web\n    \
         allowed by prod/allow-web spec.ingress[0] (line 48)\n"
    );
    // A side no cluster policy takes part in prints as it always did.
    let run = netpol(&[
        "explain", &cluster, &policies, "--from", "8.8.8.8", "--to", "dev/tool", "--port", "80",
    ]);
    assert!(
        run.stdout
            .contains("egress from 8.8.8.8: not isolated (outside the cluster)\n"),
        "{}",
        run.stdout
    );
}

#[test]
fn explain_json_adds_the_chains_and_keeps_the_networkpolicy_verdicts() {
    let [cluster, policies] = tiers();
    let run = netpol(&[
        "explain", &cluster, &policies, "--from", "dev/tool", "--to", "prod/web", "--port", "22",
        "-o", "json",
    ]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let v = json(&run);
    assert_eq!(v["allowed"], false);
    assert_eq!(v["ingress_allowed"], false);
    assert_eq!(v["egress_allowed"], false);
    // The NetworkPolicy tier alone would deny too (dev is not tenant blue), and says so.
    assert!(v["ingress"]["Denied"].is_object(), "{}", v["ingress"]);
    // cluster-guardrails and tenant-red share priority 10: by name, cluster-guardrails
    // decides first, and its Deny of port 22 is final.
    let steps = v["ingress_chain"]["steps"].as_array().expect("steps");
    let rule = &steps.last().expect("a step")["Rule"]["rule"];
    assert_eq!(rule["name"], "no-ssh");
    assert_eq!(rule["action"], "Deny");
    assert_eq!(rule["policy"]["kind"], "ClusterNetworkPolicy");
    assert!(rule["span"]["path"]
        .as_str()
        .is_some_and(|p| p.ends_with("tiers-policies.yaml")));
    // Without --port: the chains with the ports each step decides.
    let run = netpol(&[
        "explain", &cluster, &policies, "--from", "dev/tool", "--to", "prod/web", "-o", "json",
    ]);
    let v = json(&run);
    // Ingress: port 22 denied, the rest allowed by tenant-red; egress: the baseline's
    // `networks: [0.0.0.0/0]` matches pod IPs too, so dev/tool's egress is denied.
    assert_eq!(
        v["ingress_ports"]["tcp"],
        serde_json::json!([[1, 21], [23, 65535]])
    );
    assert_eq!(v["egress_ports"]["tcp"], serde_json::json!([]));
    assert_eq!(v["allowed"], false);
    assert!(v["ingress_chain"]["steps"]
        .as_array()
        .is_some_and(|s| !s.is_empty()));
}

#[test]
fn lint_reports_the_cluster_policy_codes() {
    let [cluster, policies] = tiers();
    let run = netpol(&["lint", &cluster, &policies, "-o", "json"]);
    let found = codes(&run);
    for code in [
        "stale-peer-shape",
        "same-priority-overlap",
        "networks-contain-pods",
    ] {
        assert!(found.iter().any(|c| c == code), "{code} in {found:?}");
    }
    let v = json(&run);
    let overlap = v["findings"]
        .as_array()
        .and_then(|f| f.iter().find(|f| f["code"] == "same-priority-overlap"))
        .expect("an overlap");
    assert!(
        overlap["message"]
            .as_str()
            .is_some_and(|m| m.contains("dev/tool -> prod/")),
        "the evidence is a pod pair: {overlap}"
    );
}

#[test]
fn convert_writes_clusternetworkpolicies_with_comments() {
    let [_, policies] = tiers();
    let run = netpol(&["convert", &policies]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let out = &run.stdout;
    assert_eq!(
        out.matches("kind: ClusterNetworkPolicy").count(),
        2,
        "{out}"
    );
    assert!(
        out.contains("# netpol convert: AdminNetworkPolicy tenant-red ("),
        "{out}"
    );
    assert!(
        out.contains("  tier: Baseline\n  priority: 1000\n"),
        "{out}"
    );
    assert!(
        out.contains("    action: Accept\n"),
        "Allow becomes Accept: {out}"
    );
    assert!(out.contains("v0.1.x shape"), "{out}");
    assert!(
        !out.contains("cluster-guardrails"),
        "existing ClusterNetworkPolicies are not repeated"
    );
    assert_eq!(
        netpol(&["convert", &policies]).stdout,
        *out,
        "deterministic"
    );
    let none = netpol(&["convert", &data("internal-policy.yaml")]);
    assert_eq!(none.code, 0);
    assert!(
        none.stdout
            .starts_with("# netpol convert: the input has no"),
        "{}",
        none.stdout
    );
}
