//! Deterministic synthetic clusters for benchmarks and experiments (`netpol generate`).
//!
//! Pure like the rest of the core: the seed is an argument and the PRNG (splitmix64) is
//! local, so the same arguments give the same text on every platform, natively and in wasm.
//!
//! The shape follows what real clusters look like, because the engine's speed depends on
//! it (how many endpoints are indistinguishable, how many port classes rules create):
//! - about one namespace per 25 pods, labelled `team` and `env`, plus `kube-system` with
//!   CoreDNS;
//! - pods in Deployment-like groups of 1 to 12 replicas sharing `app`/`tier`/`version`
//!   labels and named container ports, each with a unique IPv4 address in 10.244.0.0/16
//!   (one /24 per node);
//! - policies whose median selects a handful of pods (one app of one namespace), about a
//!   quarter of them namespace-wide (default deny, allow same namespace, DNS-only egress),
//!   mixing matchLabels and matchExpressions, namespaceSelectors, podSelector AND
//!   namespaceSelector peers, ipBlocks with except (v4, rarely v6), named ports, port
//!   ranges, UDP and SCTP, ingress and egress.
//!
//! The YAML is written by hand in plain block style (no anchors, no flow maps, no quoting
//! subtleties), so it only exercises the parser's common path.

mod tiers;

use std::fmt::Write;

/// splitmix64: tiny, fast, and good enough for shaping test data.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n`; 0 when `n` is 0.
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }

    /// True with probability `percent`/100.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }

    /// `len` lowercase letters and digits, like the suffixes Kubernetes gives pods.
    fn suffix(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..len)
            .map(|_| ALPHABET[self.below(ALPHABET.len())] as char)
            .collect()
    }
}

/// A kind of application: its labels and the container ports it exposes.
struct AppKind {
    app: &'static str,
    tier: &'static str,
    ports: &'static [(&'static str, u16, &'static str)],
}

const APP_KINDS: &[AppKind] = &[
    AppKind {
        app: "web",
        tier: "frontend",
        ports: &[("http", 8080, "TCP"), ("metrics", 9100, "TCP")],
    },
    AppKind {
        app: "api",
        tier: "backend",
        ports: &[
            ("http", 8080, "TCP"),
            ("grpc", 9090, "TCP"),
            ("metrics", 9100, "TCP"),
        ],
    },
    AppKind {
        app: "worker",
        tier: "backend",
        ports: &[("metrics", 9100, "TCP")],
    },
    AppKind {
        app: "auth",
        tier: "backend",
        ports: &[("http", 8080, "TCP"), ("metrics", 9100, "TCP")],
    },
    AppKind {
        app: "postgres",
        tier: "data",
        ports: &[("postgres", 5432, "TCP"), ("metrics", 9187, "TCP")],
    },
    AppKind {
        app: "redis",
        tier: "data",
        ports: &[("redis", 6379, "TCP")],
    },
    AppKind {
        app: "kafka",
        tier: "data",
        ports: &[("broker", 9092, "TCP"), ("controller", 9093, "TCP")],
    },
    AppKind {
        app: "gateway",
        tier: "edge",
        ports: &[("https", 8443, "TCP"), ("http", 8080, "TCP")],
    },
    AppKind {
        app: "statsd",
        tier: "ops",
        ports: &[("statsd", 8125, "UDP")],
    },
    AppKind {
        app: "sip",
        tier: "edge",
        ports: &[("sip", 5060, "SCTP"), ("sip-tcp", 5060, "TCP")],
    },
];

const COREDNS: AppKind = AppKind {
    app: "coredns",
    tier: "system",
    ports: &[("dns", 53, "UDP"), ("dns-tcp", 53, "TCP")],
};

const TEAMS: &[&str] = &[
    "payments", "checkout", "search", "identity", "billing", "catalog", "platform", "data", "ml",
    "edge", "media", "ads",
];
const ENVS: &[&str] = &["prod", "staging", "dev"];
const VERSIONS: &[&str] = &["v1", "v2", "v3"];

/// Pods per node, and so per /24 of the pod network.
const PODS_PER_NODE: usize = 250;

/// A Deployment-like group of pods.
struct App {
    kind: &'static AppKind,
    /// Deployment name; also the `app` label value when unique in the namespace.
    name: String,
    version: &'static str,
    replicas: usize,
}

struct Ns {
    name: String,
    team: &'static str,
    env: &'static str,
    apps: Vec<App>,
}

/// YAML for a cluster of `pods` pods and `policies` NetworkPolicies, from `seed`.
///
/// Namespaces come first, then pods, then policies, each a `---` document.
pub fn generate(pods: usize, policies: usize, seed: u64) -> String {
    generate_with_plan(pods, policies, seed).0
}

/// [`generate`], followed by `admin` Admin-tier and `baseline` Baseline-tier
/// ClusterNetworkPolicies shaped like the ones platform teams write (see `tiers`). The
/// NetworkPolicy part is exactly `generate(pods, policies, seed)`, so timings with and
/// without tiers compare the same cluster.
pub fn generate_tiered(
    pods: usize,
    policies: usize,
    admin: usize,
    baseline: usize,
    seed: u64,
) -> String {
    let (mut out, namespaces) = generate_with_plan(pods, policies, seed);
    let mut rng = Rng(seed ^ 0x7469_6572_7300_0002);
    tiers::write(&mut out, &mut rng, &namespaces, admin, baseline);
    out
}

fn generate_with_plan(pods: usize, policies: usize, seed: u64) -> (String, Vec<Ns>) {
    let mut rng = Rng(seed ^ 0x6E65_7470_6F6C_0001);
    let namespaces = plan(&mut rng, pods);
    let mut out = String::with_capacity(pods * 520 + policies * 700 + 256);
    for ns in &namespaces {
        write_namespace(&mut out, ns);
    }
    let mut index = 0;
    for ns in &namespaces {
        for app in &ns.apps {
            let hash = rng.suffix(9);
            for _ in 0..app.replicas {
                write_pod(&mut out, ns, app, &hash, index);
                index += 1;
            }
        }
    }
    // Policies live in application namespaces (kube-system only when it is alone).
    let first = usize::from(namespaces.len() > 1);
    for i in 0..policies {
        let ns = &namespaces[first + rng.below(namespaces.len() - first)];
        write_policy(&mut out, &mut rng, ns, i);
    }
    (out, namespaces)
}

/// Namespaces and their Deployments, with exactly `pods` replicas in total.
fn plan(rng: &mut Rng, pods: usize) -> Vec<Ns> {
    let count = (pods / 25).max(1);
    let mut namespaces = Vec::with_capacity(count + 1);
    let dns = pods.min(2);
    namespaces.push(Ns {
        name: "kube-system".to_string(),
        team: "platform",
        env: "prod",
        apps: vec![App {
            kind: &COREDNS,
            name: "coredns".to_string(),
            version: "v1",
            replicas: dns,
        }],
    });
    for i in 1..=count {
        let team = *rng.pick(TEAMS);
        let env = *rng.pick(ENVS);
        namespaces.push(Ns {
            name: format!("{team}-{env}-{i}"),
            team,
            env,
            apps: Vec::new(),
        });
    }
    let mut left = pods - dns;
    let per_ns = left.div_ceil(count).max(1);
    for ns in namespaces.iter_mut().skip(1) {
        let mut target = per_ns.min(left);
        left -= target;
        let mut n = 0;
        while target > 0 {
            let kind = rng.pick(APP_KINDS);
            let replicas = replicas(rng).min(target);
            target -= replicas;
            n += 1;
            let taken = ns.apps.iter().any(|a| a.name == kind.app);
            ns.apps.push(App {
                kind,
                name: if taken {
                    format!("{}-{n}", kind.app)
                } else {
                    kind.app.to_string()
                },
                version: VERSIONS[rng.below(VERSIONS.len())],
                replicas,
            });
        }
    }
    namespaces
}

/// Replicas of one Deployment: mostly small, sometimes a dozen (median 3).
fn replicas(rng: &mut Rng) -> usize {
    match rng.below(100) {
        0..=19 => 1,
        20..=44 => 2,
        45..=64 => 3,
        65..=84 => 4 + rng.below(3),
        _ => 7 + rng.below(6),
    }
}

fn write_namespace(out: &mut String, ns: &Ns) {
    let _ = write!(
        out,
        "---\napiVersion: v1\nkind: Namespace\nmetadata:\n  name: {}\n  labels:\n    team: {}\n    env: {}\n",
        ns.name, ns.team, ns.env
    );
}

/// The IPv4 address of the `index`-th pod: node `index / 250` owns 10.244.node.0/24.
fn pod_ip(index: usize) -> String {
    let node = index / PODS_PER_NODE;
    let host = index % PODS_PER_NODE + 2;
    // Past 256 nodes the third and second octets carry on inside 10.0.0.0/8.
    let block = (244 * 256 + node) % 65536;
    format!("10.{}.{}.{}", block / 256, block % 256, host)
}

/// Five characters that differ for every `index` below 27^5: multiplying by a number
/// coprime to 27^5 permutes the residues, so the suffixes look random but never collide.
fn unique_suffix(index: usize) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    const SPACE: u64 = 27 * 27 * 27 * 27 * 27;
    let mut n = (index as u64 % SPACE).wrapping_mul(7_368_787) % SPACE;
    (0..5)
        .map(|_| {
            let c = ALPHABET[(n % 27) as usize] as char;
            n /= 27;
            c
        })
        .collect()
}

fn write_pod(out: &mut String, ns: &Ns, app: &App, hash: &str, index: usize) {
    let name = format!("{}-{hash}-{}", app.name, unique_suffix(index));
    let _ = write!(
        out,
        "---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: {name}\n  namespace: {}\n  labels:\n    app: {}\n    tier: {}\n    version: {}\n    pod-template-hash: {hash}\n",
        ns.name, app.name, app.kind.tier, app.version
    );
    if app.kind.app == "coredns" {
        out.push_str("    k8s-app: kube-dns\n");
    }
    let _ = write!(
        out,
        "spec:\n  nodeName: node-{}\n  containers:\n  - name: {}\n    image: example/{}\n    ports:\n",
        index / PODS_PER_NODE,
        app.kind.app,
        app.kind.app
    );
    for (port_name, port, protocol) in app.kind.ports {
        let _ = write!(
            out,
            "    - name: {port_name}\n      containerPort: {port}\n      protocol: {protocol}\n"
        );
    }
    let _ = writeln!(out, "status:\n  podIP: {}", pod_ip(index));
}

/// A label selector: `matchLabels` pairs and `matchExpressions` (key, operator, values).
#[derive(Default)]
struct Selector {
    labels: Vec<(&'static str, String)>,
    expressions: Vec<(&'static str, &'static str, Vec<String>)>,
}

impl Selector {
    fn labels(pairs: &[(&'static str, &str)]) -> Selector {
        Selector {
            labels: pairs.iter().map(|(k, v)| (*k, v.to_string())).collect(),
            expressions: Vec::new(),
        }
    }

    /// Writes `key: {}` or `key:` and the selector's body. `lead` goes before the key
    /// (spaces, or `- ` for a list item); the body is indented by its width plus two.
    fn write(&self, out: &mut String, lead: &str, key: &str) {
        let pad = " ".repeat(lead.len());
        if self.labels.is_empty() && self.expressions.is_empty() {
            let _ = writeln!(out, "{lead}{key}: {{}}");
            return;
        }
        let _ = writeln!(out, "{lead}{key}:");
        if !self.labels.is_empty() {
            let _ = writeln!(out, "{pad}  matchLabels:");
            for (k, v) in &self.labels {
                let _ = writeln!(out, "{pad}    {k}: {v}");
            }
        }
        if !self.expressions.is_empty() {
            let _ = writeln!(out, "{pad}  matchExpressions:");
            for (k, op, values) in &self.expressions {
                let _ = writeln!(out, "{pad}  - key: {k}\n{pad}    operator: {op}");
                if !values.is_empty() {
                    let _ = writeln!(out, "{pad}    values:");
                    for v in values {
                        let _ = writeln!(out, "{pad}    - {v}");
                    }
                }
            }
        }
    }
}

/// One `from`/`to` entry.
enum Peer {
    Pods(Selector),
    Namespaces(Selector),
    Both(Selector, Selector),
    Block(&'static str, Vec<String>),
}

/// One `ports` entry: protocol, port (number or name), endPort.
struct Port {
    protocol: &'static str,
    port: Option<String>,
    end_port: Option<u16>,
}

struct Rule {
    /// `None`: the `from`/`to` key is absent (every peer).
    peers: Option<Vec<Peer>>,
    ports: Vec<Port>,
}

fn write_rules(out: &mut String, key: &str, peer_key: &str, rules: &[Rule]) {
    let _ = writeln!(out, "  {key}:");
    for rule in rules {
        if rule.peers.is_none() && rule.ports.is_empty() {
            out.push_str("  - {}\n");
            continue;
        }
        let mut first = true;
        let mut item = |out: &mut String| {
            out.push_str(if first { "  - " } else { "    " });
            first = false;
        };
        if let Some(peers) = &rule.peers {
            item(out);
            let _ = writeln!(out, "{peer_key}:");
            for peer in peers {
                match peer {
                    Peer::Pods(s) => s.write(out, "    - ", "podSelector"),
                    Peer::Namespaces(s) => s.write(out, "    - ", "namespaceSelector"),
                    Peer::Both(ns, pods) => {
                        ns.write(out, "    - ", "namespaceSelector");
                        pods.write(out, "      ", "podSelector");
                    }
                    Peer::Block(cidr, except) => {
                        let _ = writeln!(out, "    - ipBlock:\n        cidr: {cidr}");
                        if !except.is_empty() {
                            out.push_str("        except:\n");
                            for e in except {
                                let _ = writeln!(out, "        - {e}");
                            }
                        }
                    }
                }
            }
        }
        if !rule.ports.is_empty() {
            item(out);
            out.push_str("ports:\n");
            for p in &rule.ports {
                let _ = writeln!(out, "    - protocol: {}", p.protocol);
                if let Some(port) = &p.port {
                    let _ = writeln!(out, "      port: {port}");
                }
                if let Some(end) = p.end_port {
                    let _ = writeln!(out, "      endPort: {end}");
                }
            }
        }
    }
}

/// `ipBlock`s of the kind real policies carry: the pod network minus a node, private
/// ranges, "the internet" minus private ranges, and rarely IPv6.
fn block(rng: &mut Rng) -> Peer {
    match rng.below(10) {
        0..=2 => Peer::Block(
            "10.244.0.0/16",
            vec![format!("10.244.{}.0/24", rng.below(40))],
        ),
        3..=4 => Peer::Block("172.16.0.0/12", Vec::new()),
        5 => Peer::Block("192.168.0.0/16", vec!["192.168.100.0/24".to_string()]),
        6 => Peer::Block("fd00::/8", vec!["fd00:dead::/32".to_string()]),
        _ => Peer::Block(
            "0.0.0.0/0",
            vec![
                "10.0.0.0/8".to_string(),
                "172.16.0.0/12".to_string(),
                "192.168.0.0/16".to_string(),
            ],
        ),
    }
}

/// A peer for an ingress rule of a policy in `ns`.
fn ingress_peer(rng: &mut Rng, ns: &Ns) -> Peer {
    let other_app = |rng: &mut Rng| -> String {
        if ns.apps.is_empty() || rng.chance(20) {
            rng.pick(APP_KINDS).app.to_string()
        } else {
            rng.pick(&ns.apps).name.clone()
        }
    };
    match rng.below(100) {
        0..=39 => Peer::Pods(Selector::labels(&[("app", &other_app(rng))])),
        40..=49 => Peer::Pods(Selector {
            labels: Vec::new(),
            expressions: vec![(
                "tier",
                "In",
                vec!["frontend".to_string(), "edge".to_string()],
            )],
        }),
        50..=64 => Peer::Namespaces(Selector::labels(&[("team", *rng.pick(TEAMS))])),
        65..=74 => Peer::Namespaces(Selector {
            labels: Vec::new(),
            expressions: vec![("env", "NotIn", vec!["dev".to_string()])],
        }),
        75..=89 => {
            let env = if rng.chance(50) { "staging" } else { "dev" };
            Peer::Both(
                Selector {
                    labels: Vec::new(),
                    expressions: vec![("env", "In", vec!["prod".to_string(), env.to_string()])],
                },
                Selector::labels(&[("app", &other_app(rng))]),
            )
        }
        _ => block(rng),
    }
}

/// Ports for a rule protecting `app`: mostly its own named or numbered ports.
fn ingress_ports(rng: &mut Rng, app: Option<&App>) -> Vec<Port> {
    let mut ports = Vec::new();
    let own = app.map_or(APP_KINDS[0].ports, |a| a.kind.ports);
    let entries = match rng.below(10) {
        0 => 0,
        1..=6 => 1,
        _ => 2,
    };
    for _ in 0..entries {
        let (name, number, protocol) = *rng.pick(own);
        ports.push(match rng.below(10) {
            0..=4 => Port {
                protocol,
                port: Some(name.to_string()),
                end_port: None,
            },
            5..=7 => Port {
                protocol,
                port: Some(number.to_string()),
                end_port: None,
            },
            8 => Port {
                protocol: "TCP",
                port: Some("8000".to_string()),
                end_port: Some(8000 + 100 * (1 + rng.below(5) as u16)),
            },
            _ => Port {
                protocol: "UDP",
                port: None,
                end_port: None,
            },
        });
    }
    ports
}

fn dns_rule() -> Rule {
    Rule {
        peers: Some(vec![Peer::Both(
            Selector::labels(&[("kubernetes.io/metadata.name", "kube-system")]),
            Selector::labels(&[("k8s-app", "kube-dns")]),
        )]),
        ports: vec![
            Port {
                protocol: "UDP",
                port: Some("53".to_string()),
                end_port: None,
            },
            Port {
                protocol: "TCP",
                port: Some("53".to_string()),
                end_port: None,
            },
        ],
    }
}

fn egress_rule(rng: &mut Rng, ns: &Ns) -> Rule {
    match rng.below(10) {
        0..=2 => dns_rule(),
        3..=5 => {
            let data: Vec<&App> = ns.apps.iter().filter(|a| a.kind.tier == "data").collect();
            let (app, ports) = match data.as_slice() {
                [] => ("postgres".to_string(), APP_KINDS[4].ports),
                some => {
                    let a = rng.pick(some);
                    (a.name.clone(), a.kind.ports)
                }
            };
            let (name, _, protocol) = ports[0];
            Rule {
                peers: Some(vec![Peer::Pods(Selector::labels(&[("app", &app)]))]),
                ports: vec![Port {
                    protocol,
                    port: Some(name.to_string()),
                    end_port: None,
                }],
            }
        }
        6..=8 => Rule {
            peers: Some(vec![block(rng)]),
            ports: vec![Port {
                protocol: "TCP",
                port: Some("443".to_string()),
                end_port: None,
            }],
        },
        _ => Rule {
            peers: Some(vec![Peer::Namespaces(Selector::labels(&[(
                "team", ns.team,
            )]))]),
            ports: Vec::new(),
        },
    }
}

fn write_policy(out: &mut String, rng: &mut Rng, ns: &Ns, i: usize) {
    let (name, selector, types, ingress, egress): (String, Selector, &[&str], _, _) =
        if rng.chance(25) {
            // Namespace-wide baselines, as platform teams roll them out.
            match rng.below(5) {
                0 => (
                    format!("default-deny-ingress-{i}"),
                    Selector::default(),
                    &["Ingress"],
                    None,
                    None,
                ),
                1 => (
                    format!("default-deny-all-{i}"),
                    Selector::default(),
                    &["Ingress", "Egress"],
                    None,
                    None,
                ),
                2 => (
                    format!("allow-same-namespace-{i}"),
                    Selector::default(),
                    &[],
                    Some(vec![Rule {
                        peers: Some(vec![Peer::Pods(Selector::default())]),
                        ports: Vec::new(),
                    }]),
                    None,
                ),
                3 => (
                    format!("egress-dns-only-{i}"),
                    Selector::default(),
                    &["Egress"],
                    None,
                    Some(vec![dns_rule()]),
                ),
                _ => (
                    format!("allow-all-ingress-{i}"),
                    Selector::default(),
                    &[],
                    Some(vec![Rule {
                        peers: None,
                        ports: Vec::new(),
                    }]),
                    None,
                ),
            }
        } else {
            let app = if ns.apps.is_empty() {
                None
            } else {
                Some(rng.pick(&ns.apps))
            };
            let app_name = app.map_or("api".to_string(), |a| a.name.clone());
            let selector = match rng.below(10) {
                0..=6 => Selector::labels(&[("app", &app_name)]),
                7..=8 => {
                    let other = rng.pick(APP_KINDS).app.to_string();
                    Selector {
                        labels: Vec::new(),
                        expressions: vec![("app", "In", vec![app_name.clone(), other])],
                    }
                }
                _ => Selector {
                    labels: vec![("app", app_name.clone())],
                    expressions: vec![
                        ("version", "NotIn", vec!["v0".to_string()]),
                        ("tier", "Exists", Vec::new()),
                    ],
                },
            };
            let direction = rng.below(100);
            let ingress = (direction < 85).then(|| {
                (0..1 + rng.below(3))
                    .map(|_| Rule {
                        peers: (!rng.chance(5)).then(|| {
                            (0..1 + rng.below(2))
                                .map(|_| ingress_peer(rng, ns))
                                .collect()
                        }),
                        ports: ingress_ports(rng, app),
                    })
                    .collect::<Vec<_>>()
            });
            let egress = (direction >= 65).then(|| {
                (0..1 + rng.below(3))
                    .map(|_| egress_rule(rng, ns))
                    .collect()
            });
            let types: &[&str] = match (ingress.is_some(), egress.is_some()) {
                (true, true) => &["Ingress", "Egress"],
                (false, true) => &["Egress"],
                // Leaving policyTypes out exercises Kubernetes' defaulting.
                _ if rng.chance(50) => &[],
                _ => &["Ingress"],
            };
            (format!("{app_name}-{i}"), selector, types, ingress, egress)
        };

    let _ = write!(
        out,
        "---\napiVersion: networking.k8s.io/v1\nkind: NetworkPolicy\nmetadata:\n  name: {name}\n  namespace: {}\nspec:\n",
        ns.name
    );
    selector.write(out, "  ", "podSelector");
    if !types.is_empty() {
        out.push_str("  policyTypes:\n");
        for t in types {
            let _ = writeln!(out, "  - {t}");
        }
    }
    if let Some(rules) = ingress {
        write_rules(out, "ingress", "from", &rules);
    }
    if let Some(rules) = egress {
        write_rules(out, "egress", "to", &rules);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_text() {
        assert_eq!(generate(100, 50, 7), generate(100, 50, 7));
        assert_ne!(generate(100, 50, 7), generate(100, 50, 8));
    }

    #[test]
    fn exact_counts() {
        for (pods, policies) in [(0, 0), (1, 1), (3, 2), (100, 50), (1000, 500)] {
            let text = generate(pods, policies, 1);
            assert_eq!(text.matches("\nkind: Pod\n").count(), pods, "{pods} pods");
            assert_eq!(
                text.matches("\nkind: NetworkPolicy\n").count(),
                policies,
                "{policies} policies"
            );
        }
    }

    #[test]
    fn loads_without_any_diagnostic() {
        for seed in [1, 2, 3] {
            let text = generate(300, 150, seed);
            let model = crate::load(&[(crate::FileId(0), &text)]);
            assert_eq!(model.diagnostics, Vec::new(), "seed {seed}");
            assert_eq!(model.cluster.pods.len(), 300);
            assert_eq!(model.policies.len(), 150);
            // kube-system plus one namespace per 25 pods, all declared.
            assert_eq!(model.cluster.namespaces.len(), 13);
            assert!(model.cluster.namespaces.iter().all(|n| n.span.is_some()));
        }
    }

    /// The shape the issue asks for: a median policy selecting a handful of pods, about a
    /// quarter of the policies namespace-wide (empty podSelector).
    #[test]
    fn shaped_like_a_real_cluster() {
        let model = crate::load(&[(crate::FileId(0), &generate(1000, 500, 11))]);
        let mut selected: Vec<usize> = model
            .policies
            .iter()
            .map(|p| {
                model
                    .cluster
                    .pods
                    .iter()
                    .filter(|pod| {
                        pod.namespace == p.namespace && p.pod_selector.matches(&pod.labels)
                    })
                    .count()
            })
            .collect();
        selected.sort_unstable();
        let median = selected[selected.len() / 2];
        assert!(
            (1..=10).contains(&median),
            "median policy selects {median} pods"
        );
        let wide = model
            .policies
            .iter()
            .filter(|p| p.pod_selector.is_empty())
            .count();
        assert!(
            (75..=175).contains(&wide),
            "{wide} of 500 policies select whole namespaces"
        );
        let egress = model
            .policies
            .iter()
            .filter(|p| p.affects(crate::PolicyType::Egress))
            .count();
        assert!(egress > 50, "{egress} policies restrict egress");
    }

    /// Tiers come after the NetworkPolicies of the same cluster, load without a
    /// diagnostic, and decide something.
    #[test]
    fn tiered_clusters_add_cluster_policies() {
        let plain = generate(500, 200, 4);
        let tiered = generate_tiered(500, 200, 50, 10, 4);
        assert!(tiered.starts_with(&plain));
        assert_eq!(tiered, generate_tiered(500, 200, 50, 10, 4));
        let model = crate::load(&[(crate::FileId(0), &tiered)]);
        assert_eq!(model.diagnostics, Vec::new());
        let tiers = |t: crate::Tier| {
            model
                .cluster_policies
                .iter()
                .filter(|p| p.tier == t)
                .count()
        };
        assert_eq!(
            (tiers(crate::Tier::Admin), tiers(crate::Tier::Baseline)),
            (50, 10)
        );
        let plain = crate::Engine::new(&crate::load(&[(crate::FileId(0), &plain)])).connectivity();
        let with_tiers = crate::Engine::new(&model).connectivity();
        assert_ne!(
            plain.results(),
            with_tiers.results(),
            "the tiers change connectivity"
        );
    }

    #[test]
    fn pod_ips_are_unique() {
        let ips: std::collections::BTreeSet<String> = (0..70_000).map(pod_ip).collect();
        assert_eq!(ips.len(), 70_000);
        assert_eq!(pod_ip(0), "10.244.0.2");
        assert_eq!(pod_ip(250), "10.244.1.2");
    }
}
