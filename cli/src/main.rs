//! `netpol`: Kubernetes NetworkPolicy connectivity, explanations and synthetic clusters from
//! the command line.
//!
//! The binary is a thin shell around `netpol-core`: it reads files (the core never sees a
//! path), hands their text to [`netpol_core::parse`] and [`netpol_core::build`], renders the
//! core's plain-data diagnostics for a terminal with miette, and writes results as text, JSON
//! or CSV. Only this crate knows its JSON schema; the core knows nothing about output.
//!
//! Exit codes are part of the contract other tools rely on:
//! - `0`: success (warnings may have been printed to stderr);
//! - `1`: invalid input — at least one error diagnostic. The diagnostics go to stderr and the
//!   result for everything that *was* understood still goes to stdout, so a pipeline sees the
//!   best available answer and the failure at once;
//! - `2`: usage error — bad flags or values (clap's own code), a path that cannot be read, or
//!   an `explain` endpoint that names nothing in the input.

mod cluster;
mod connectivity;
mod convert;
mod diff;
mod explain;
mod exposure;
mod freeze;
mod input;
mod json;
mod lint;
mod matrix;
mod report;
mod synthesize;
mod test_cmd;

use std::io::Write;
use std::process::ExitCode;

use clap::{Parser, Subcommand, ValueEnum};
use netpol_core::PortSpec;

use crate::cluster::ClusterArgs;
use crate::input::Inputs;

/// Exit code for invalid input (error diagnostics).
const EXIT_INVALID_INPUT: u8 = 1;
/// Exit code for usage errors; the same code clap uses for bad flags.
const EXIT_USAGE: u8 = 2;

#[derive(Parser, Debug)]
#[command(
    name = "netpol",
    version,
    about = "Understand Kubernetes NetworkPolicies: who can talk to whom, and why",
    after_help = "Examples:
  netpol matrix cluster.yaml policies/ --port 80 --port 53/UDP
  netpol connectivity manifests/ -o json > connectivity.json
  netpol explain manifests/ --from prod/api --to prod/db --port 5432
  netpol exposure manifests/ --endpoint prod/db
  kubectl get pods,ns,netpol -A -o yaml | netpol matrix -
  kubectl get anp,banp -o yaml | netpol convert - > cnp.yaml
  netpol matrix --cluster --context prod -n shop --port 5432
  netpol generate --pods 1000 --policies 500 --seed 1 > cluster.yaml

Inputs: files, directories (searched recursively for *.yaml, *.yml, *.json, *.txt, *.np) and
`-` for stdin; with --cluster, the live cluster of a kubeconfig context (read once). Exit codes: 0 success, 1 invalid input (error diagnostics; results for what
was understood are still printed), 2 usage error."
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Report every object of a kind that does not affect policy (ConfigMap, Secret, ...)
    /// where it is, instead of one `ignored:` line with a count per kind
    #[arg(long, short = 'v', global = true)]
    verbose: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Truth table of which endpoint may connect to which, for one or more ports
    #[command(after_help = "Examples:
  netpol matrix examples/                       # probe 80/TCP (the default)
  netpol matrix cluster.yaml policy.yaml --port 3306 --port 53/UDP
  netpol matrix cluster.yaml --port serve-80-tcp/TCP -o json
  netpol matrix - -o csv < cluster.yaml

Text output is the Kubernetes e2e truth-table format, one table per probe: a header row
`-` followed by the destination ids, then one row per source with `.` for allowed and `X`
for denied, tab-separated.
JSON: {\"endpoints\": [ids], \"probes\": [{\"port\": \"80\", \"protocol\": \"TCP\",
\"allowed\": [[bool]]}]} where allowed[i][j] means endpoints[i] may connect to endpoints[j].
CSV: header `src,dst,port,protocol,allowed`, one row per ordered pair and probe.
A named port is resolved against each destination; a destination without it is denied.")]
    Matrix {
        /// Manifest files, directories, or `-` for stdin
        #[arg(required_unless_present = "cluster", value_name = "PATH")]
        paths: Vec<String>,
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Port to probe: `80`, `80/TCP`, `53/UDP`, `132/SCTP` or a port name such as
        /// `serve-80-tcp/TCP`; the protocol defaults to TCP. Repeat for several probes
        /// [default: 80/TCP]
        #[arg(long = "port", value_name = "SPEC")]
        ports: Vec<PortSpec>,
        /// Show only the endpoints of this namespace (everything is still evaluated)
        #[arg(short = 'n', long, value_name = "NAMESPACE")]
        namespace: Option<String>,
        /// Output format
        #[arg(short, long, value_enum, default_value_t = MatrixFormat::Text)]
        output: MatrixFormat,
    },
    /// Every allowed port per protocol for every ordered pair of endpoints
    #[command(after_help = "Examples:
  netpol connectivity examples/
  netpol connectivity cluster.yaml policies/ -o json | jq '.connections[0]'

Text output groups identical results: sources with identical rows are listed together, then
destinations that receive the same ports, the most common result last (`all other
endpoints`); whole namespaces print as `ns/*` and whole replica sets as `ns/web-7d4b9-*`;
large groups are named (`group 3`) and listed at the end. It includes each endpoint's traffic to itself.
JSON: {\"endpoints\": [ids], \"connections\": [{\"from\": id, \"to\": id, \"tcp\": [[first, last]],
\"udp\": [...], \"sctp\": [...]}]}, one entry per ordered pair of distinct endpoints, inclusive
port ranges sorted and merged, named ports resolved.")]
    Connectivity {
        /// Manifest files, directories, or `-` for stdin
        #[arg(required_unless_present = "cluster", value_name = "PATH")]
        paths: Vec<String>,
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Show only the endpoints of this namespace (everything is still evaluated)
        #[arg(short = 'n', long, value_name = "NAMESPACE")]
        namespace: Option<String>,
        /// Output format
        #[arg(short, long, value_enum, default_value_t = TextOrJson::Text)]
        output: TextOrJson,
    },
    /// What pods that do not exist yet (and outside addresses) could connect to each
    /// endpoint, or be connected to from it, by the policies' selectors
    #[command(after_help = "Examples:
  netpol exposure manifests/
  netpol exposure cluster.yaml policies/ --endpoint prod/api -o json

Per endpoint and direction: the peers the endpoint's side admits, described by the
selectors of the admitting rules (`pods labelled app=web in namespace prod`, `any pod in
namespaces labelled team=a`, `addresses in 10.0.0.0/8`, `any address`), with exactly the
ports admitted (named ports resolved on the endpoint when it receives; towards a pod that
does not exist the name stays a name), the rules, and the endpoints the description
matches now. A side no policy isolates is exposed to everything. The other side is a pod
we do not know: its own policies are assumed to allow the connection, except that
policies certainly selecting it (one namespace, a podSelector it must match) are named
with what they admit.
JSON: {\"version\": 1, \"assumption\", \"endpoints\": [{\"id\", \"ingress\": {\"isolated_by\",
\"exposures\": [{\"peer\", \"description\", \"ports\", \"named_ports\", \"rules\",
\"matches_now\" (at most 100 ids), \"matches_now_count\", \"peer_side\"}]}, \"egress\": {...}}]};
see cli/README.md.")]
    Exposure {
        /// Manifest files, directories, or `-` for stdin
        #[arg(required_unless_present = "cluster", value_name = "PATH")]
        paths: Vec<String>,
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Only these endpoints (ids); repeat for several [default: every endpoint]
        #[arg(long = "endpoint", value_name = "ID")]
        endpoints: Vec<String>,
        /// Output format
        #[arg(short, long, value_enum, default_value_t = TextOrJson::Text)]
        output: TextOrJson,
    },
    /// Decide one connection and say why: which policies isolate each end, which rules
    /// allowed it, or the closest misses
    #[command(after_help = "Examples:
  netpol explain examples/ --from default/internal --to default/mysql --port 3306
  netpol explain examples/ --from default/internal --to 8.8.8.8 --port 53/UDP
  netpol explain cluster.yaml --from 10.0.0.7 --to prod/api --port http -o json
  netpol explain examples/ --from default/internal --to default/external
  netpol explain manifests/ --from shop/web --to-service shop/api --port 80

An endpoint is a pod id (`namespace/name`), a workload id (`namespace/Kind/name`) or an IP
address. An IP address is always evaluated as an address (only ipBlock peers can match it),
even when it is some pod's IP; a note then names the pod, so you can ask with its id for
selector semantics. A named port is resolved against the destination pod.
An id that names no endpoint is a usage error (exit 2) with suggestions.
Without --port, the pair is explained on every port: per direction, the rules that admit
something and exactly which ports, or why no rule admits any port; the pair is allowed on
the ports both directions allow.
JSON: {\"flow\": {...}, \"allowed\": bool, \"egress\": ..., \"ingress\": ..., \"notes\": [...]};
without --port, flow.port/port_name/protocol are null, \"ports\": {\"tcp\": [[first, last]],
\"udp\", \"sctp\"} is added, and egress/ingress list each rule with its \"ports\".
With AdminNetworkPolicy, BaselineAdminNetworkPolicy or ClusterNetworkPolicy objects, each side
is decided through the tiers (Admin, NetworkPolicy, Baseline, default allow): the text shows
that chain, one [Admin]/[NetworkPolicy]/[Baseline]/[Default] line per step, and JSON adds
egress_chain/ingress_chain and egress_allowed/ingress_allowed (egress_ports/ingress_ports
without --port); egress/ingress stay the NetworkPolicy tier's verdict.
--to-service NS/NAME asks about a Service: --port is the Service's port (number or port
name; every port of the Service without it), resolved to the pods behind the Service and
the targetPort each receives on, since policies see the pods and the targetPort, never the
Service. Each pod is explained on its targetPort. JSON: {\"service\": {\"id\", \"port\",
\"protocol\", \"target_port\"}, \"allowed\": every pod allows it, \"backends\": [{\"to\",
\"port\", \"allowed\", \"egress\", \"ingress\"}]}, one object per Service port in
\"ports\".")]
    Explain {
        /// Manifest files, directories, or `-` for stdin
        #[arg(required_unless_present = "cluster", value_name = "PATH")]
        paths: Vec<String>,
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Source: endpoint id or IP address
        #[arg(long, value_name = "ID|IP")]
        from: String,
        /// Destination: endpoint id or IP address
        #[arg(long, value_name = "ID|IP", required_unless_present = "to_service")]
        to: Option<String>,
        /// Destination Service (`namespace/name`): each pod behind it, on the targetPort the
        /// Service sends --port to
        #[arg(long, value_name = "NS/NAME", conflicts_with = "to")]
        to_service: Option<String>,
        /// Destination port: `80`, `53/UDP`, `http/TCP`, ...; protocol defaults to TCP.
        /// Without it, the pair is explained on every port
        #[arg(long, value_name = "SPEC")]
        port: Option<PortSpec>,
        /// Output format
        #[arg(short, long, value_enum, default_value_t = TextOrJson::Text)]
        output: TextOrJson,
    },
    /// Find policy mistakes: selectors matching nothing, redundant or shadowed rules, egress
    /// without DNS, the AND/OR trap, unprotected endpoints, cluster policy pitfalls
    /// (same-priority overlaps, shadowed rules, a Pass that allows), and every parse warning
    #[command(after_help = "Examples:
  netpol lint policies/
  netpol lint cluster.yaml policies/ --deny warnings     # CI: fail on warnings too
  netpol lint manifests/ -o json | jq '.findings[].code'

Every finding has a stable code (see docs/review.md and docs/tiers.md), a severity, the
source location and a help text. Cluster policy findings (same-priority-overlap,
cluster-rule-shadowed, pass-allows) name a concrete pod pair as evidence. Checks that need a cluster snapshot (selectors that match nothing, named ports,
unprotected endpoints, redundancy) run when the input contains pods or workloads.
Exit codes: 0 no error findings, 1 an error finding (or a warning with --deny warnings),
2 usage error.
JSON: {\"findings\": [{\"code\", \"severity\", \"message\", \"span\": {\"file\", \"line\",
\"column\", \"start\", \"end\"}, \"help\", \"related\": [span]}], \"summary\": {\"errors\",
\"warnings\", \"infos\"}}.")]
    Lint {
        /// Manifest files, directories, or `-` for stdin
        #[arg(required_unless_present = "cluster", value_name = "PATH")]
        paths: Vec<String>,
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Show only the findings about objects of this namespace (everything is still evaluated)
        #[arg(short = 'n', long, value_name = "NAMESPACE")]
        namespace: Option<String>,
        /// Output format
        #[arg(short, long, value_enum, default_value_t = TextOrJson::Text)]
        output: TextOrJson,
        /// `warnings`: exit 1 on warnings too, not only on errors
        #[arg(long, value_enum, value_name = "LEVEL")]
        deny: Option<DenyLevel>,
    },
    /// What a change does to connectivity: connections added, removed or changed between two
    /// sets of manifests, grouped, with the responsible rules on each side
    #[command(after_help = "Examples:
  netpol diff --before main/policies/ cluster.yaml --after pr/policies/ cluster.yaml
  netpol diff --before old.yaml --after new.yaml -o markdown > comment.md
  netpol diff --before a/ --after b/ -o csv | column -s, -t

Each side is a list of manifest files or directories (put the cluster snapshot on both
sides; a label change in it is a change too). Endpoints are matched by id; endpoints on one
side only are listed as added or removed. Pairs that changed the same way are grouped:
sources with the same destinations together. Each group shows the allowed ports before and
after and, for its first pair, which rule decided it on each side.
CSV: change,from,to,before,after,added,removed, one row per changed pair.
Exit codes: 0 (also when connections changed), 1 error diagnostics in the inputs, 2 usage
error.")]
    Diff {
        /// Manifests before the change (or, with --cluster, the live cluster)
        #[arg(long, required_unless_present = "cluster", conflicts_with = "cluster", num_args = 1.., value_name = "PATH")]
        before: Vec<String>,
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Manifests after the change
        #[arg(long, required = true, num_args = 1.., value_name = "PATH")]
        after: Vec<String>,
        /// Output format
        #[arg(short, long, value_enum, default_value_t = diff::Format::Text)]
        output: diff::Format,
    },
    /// Check connectivity expectations (a YAML spec) against manifests; for CI
    #[command(after_help = "Examples:
  netpol test expectations.yaml cluster.yaml policies/
  netpol test expectations.yaml manifests/ -o json > results.json

A spec lists expectations:
  expectations:
  - name: web reaches api on 443
    from: prod/web                     # endpoint id, {namespace: x}, {namespace: {team: a}},
    to: {pod: {app: api}}              # {pod: {app: web}}, {ip: 8.8.8.8} or {outside: true}
    port: 443/TCP                      # omitted: any port
    expect: allowed                    # allowed | denied (denied: on every port)
  - name: only frontend may reach api
    to: {pod: {app: api}}
    only_from: {pod: {app: frontend}}
  - name: worker reaches nothing outside but DNS
    from: prod/worker
    to: {outside: true}
    only_ports: [53/UDP, 53/TCP]

Prints PASS/FAIL per expectation, and for each failure the offending connections with their
explanation. Exit codes: 0 all passed, 1 a failure (or error diagnostics in the inputs),
2 usage error (including a spec that cannot be parsed, shown with its line).")]
    Test {
        /// The assertion spec (YAML)
        #[arg(value_name = "SPEC")]
        spec: String,
        /// Manifest files, directories, or `-` for stdin
        #[arg(required_unless_present = "cluster", value_name = "PATH")]
        paths: Vec<String>,
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Output format
        #[arg(short, long, value_enum, default_value_t = TextOrJson::Text)]
        output: TextOrJson,
    },
    /// Write least-privilege NetworkPolicies for the required connections of a `netpol test`
    /// spec, checked against the cluster before they are printed
    #[command(after_help = "Examples:
  netpol synthesize intent.yaml cluster.yaml > policies.yaml
  netpol synthesize intent.yaml cluster.yaml --keep policies/ > additions.yaml
  netpol synthesize intent.yaml cluster.yaml -o json | jq '.beyond'

The spec is the `netpol test` format; its `expect: allowed` entries and the sources of
`only_from` entries are the required connections, and `default: deny` says nothing else
may be allowed:
  default: deny
  expectations:
  - name: web reaches api on 8080
    from: {pod: {app: web}}
    to: {pod: {app: api}}
    port: 8080
    expect: allowed

The output: a default deny per namespace with a required connection, DNS egress to
kube-system's DNS pods where pods open connections, and one policy per workload with one
rule per peer, selecting by stable labels (app, app.kubernetes.io/name, ...) and namespace
names, named ports where the destination declares them, each rule commented with the
expectation it serves.
Before printing, the policies are parsed back and checked with the cluster and the policies
in force: every expectation must hold (else exit 1, with explanations on stderr), and every
pair allowed beyond the spec is listed on stderr (pods with identical labels, policies in
force that allow more, ...).
--keep EXISTING: build on existing policies; only the rules still needed are written (and,
under `default: deny`, isolation where pods of the spec's namespaces lack it).
Exit codes: 0 every expectation holds, 1 one does not (or error diagnostics in the inputs),
2 usage error (including a spec that cannot be parsed).")]
    Synthesize {
        /// The spec (YAML, `netpol test` format)
        #[arg(value_name = "SPEC")]
        spec: String,
        /// The cluster: manifest files, directories, or `-` for stdin
        #[arg(required_unless_present = "cluster", value_name = "CLUSTER")]
        paths: Vec<String>,
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Existing policies to build on (files or directories; repeat)
        #[arg(long, value_name = "EXISTING")]
        keep: Vec<String>,
        /// Output format
        #[arg(short, long, value_enum, default_value_t = synthesize::Format::Yaml)]
        output: synthesize::Format,
    },
    /// Write NetworkPolicies that allow exactly what the policies in force allow now, one
    /// per workload: a starting point to tighten
    #[command(after_help = "Examples:
  netpol freeze cluster.yaml policies/ > frozen.yaml
  kubectl get pods,ns,netpol -A -o yaml | netpol freeze - > frozen.yaml
  netpol freeze cluster.yaml policies/ -o json | jq '.changes'

The output: a default deny per namespace and one policy per workload (pods sharing stable
labels such as app), whose rules list who may connect to it and where it may connect, with
exactly today's ports; a workload that nothing isolates today gets a rule allowing
everything. Outside addresses are written as ipBlocks of the address classes the policies
distinguish.
Before printing, the policies are parsed back and the connectivity with them, instead of and
next to the policies in force, is compared with today's: every pair that would change is
listed on stderr (pods with identical labels that are treated differently today get the
union of their rules).
Exit codes: 0 nothing would lose a port, 1 something would (or error diagnostics in the
inputs), 2 usage error.")]
    Freeze {
        /// The cluster and the policies in force: manifest files, directories, or `-`
        #[arg(required_unless_present = "cluster", value_name = "PATH")]
        paths: Vec<String>,
        #[command(flatten)]
        cluster: ClusterArgs,
        /// Output format
        #[arg(short, long, value_enum, default_value_t = synthesize::Format::Yaml)]
        output: synthesize::Format,
    },
    /// Rewrite AdminNetworkPolicy and BaselineAdminNetworkPolicy as ClusterNetworkPolicy
    #[command(after_help = "Examples:
  netpol convert anp/ > cnp.yaml
  kubectl get anp,banp -o yaml | netpol convert - | kubectl apply -f -

The v1alpha1 AdminNetworkPolicy and BaselineAdminNetworkPolicy were removed upstream in
favour of ClusterNetworkPolicy (policy.networking.k8s.io/v1beta1, tier Admin or Baseline).
Prints one ClusterNetworkPolicy per input object (more when it has more than the 25 rules,
peers or ports a ClusterNetworkPolicy allows), valid for `kubectl apply`, deterministic.
Allow becomes Accept; the BaselineAdminNetworkPolicy becomes tier Baseline, priority 1000;
`ports` become `protocols`; peers in the v0.1.x shape are written as v0.1.x meant them.
Wherever the rewrite is not word for word a `# netpol convert:` comment says why; the
connectivity of the converted objects is the same as of the originals.
Other objects of the input are not printed. Exit codes: 0, 1 error diagnostics in the
inputs (the objects that could be read are still converted), 2 usage error.")]
    Convert {
        /// Manifest files, directories, or `-` for stdin
        #[arg(required_unless_present = "cluster", value_name = "PATH")]
        paths: Vec<String>,
        #[command(flatten)]
        cluster: ClusterArgs,
    },
    /// Print a deterministic synthetic cluster (YAML) for benchmarks and experiments
    #[command(after_help = "Examples:
  netpol generate --pods 100 --policies 50 --seed 1 > small.yaml
  netpol generate --pods 10000 --policies 5000 --seed 3 | netpol connectivity - -o json
  netpol generate --pods 1000 --policies 500 --admin 50 --baseline 10 > tiered.yaml

The same arguments always print the same text. The output has Namespaces (labelled with
team and env), Pods grouped like Deployments (app labels, named container ports, unique
10.x IPs) and NetworkPolicies: mostly small selectors, about a quarter default-deny or
empty-selector policies, matchLabels and matchExpressions, namespaceSelectors, ipBlocks
with except, named ports and port ranges, ingress and egress. With --admin and --baseline,
ClusterNetworkPolicies follow (the NetworkPolicy part stays the same): guardrails such as
protecting kube-system but DNS, tenant isolation with Pass to the tenants' own policies,
dev kept from prod, the cloud metadata address blocked, monitoring on a named port, an
egress allowlist; Baseline defaults per team or environment.")]
    Generate {
        /// Number of pods
        #[arg(long, default_value_t = 100)]
        pods: usize,
        /// Number of NetworkPolicies
        #[arg(long, default_value_t = 50)]
        policies: usize,
        /// Seed of the generator
        #[arg(long, default_value_t = 1)]
        seed: u64,
        /// Number of Admin-tier ClusterNetworkPolicies (guardrails) to add
        #[arg(long, default_value_t = 0)]
        admin: usize,
        /// Number of Baseline-tier ClusterNetworkPolicies to add
        #[arg(long, default_value_t = 0)]
        baseline: usize,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum MatrixFormat {
    Text,
    Json,
    Csv,
}

/// What `--deny` makes fatal.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum DenyLevel {
    Warnings,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum TextOrJson {
    Text,
    Json,
}

/// How a command ended; mapped to the process exit code in one place.
#[derive(Debug)]
pub enum Failure {
    /// Usage error: already worded for the user, printed as a miette report.
    Usage(miette::Report),
    /// Writing to stdout failed (e.g. a closed pipe): stop quietly.
    Output(std::io::Error),
}

impl From<std::io::Error> for Failure {
    fn from(e: std::io::Error) -> Self {
        Failure::Output(e)
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    exit_code(run(cli.command, cli.verbose))
}

/// Runs one command; `Ok(true)` means invalid input (exit 1).
fn run(command: Command, verbose: bool) -> Result<bool, Failure> {
    match command {
        Command::Matrix {
            paths,
            cluster,
            ports,
            namespace,
            output,
        } => with_inputs(&paths, &cluster, verbose, |inputs, out| {
            matrix::run(inputs, &ports, output, namespace.as_deref(), out)
        }),
        Command::Connectivity {
            paths,
            cluster,
            namespace,
            output,
        } => with_inputs(&paths, &cluster, verbose, |inputs, out| {
            let json = output == TextOrJson::Json;
            connectivity::run(inputs, json, namespace.as_deref(), out)
        }),
        Command::Exposure {
            paths,
            cluster,
            endpoints,
            output,
        } => with_inputs(&paths, &cluster, verbose, |inputs, out| {
            exposure::run(inputs, &endpoints, output == TextOrJson::Json, out)
        }),
        Command::Explain {
            paths,
            cluster,
            from,
            to,
            to_service,
            port,
            output,
        } => with_inputs(&paths, &cluster, verbose, |inputs, out| {
            let json = output == TextOrJson::Json;
            match (to, to_service) {
                (_, Some(service)) => {
                    let query = explain::ServiceQuery {
                        from: &from,
                        service: &service,
                        port: port.as_ref(),
                    };
                    explain::run_service(inputs, &query, json, out)
                }
                (to, None) => {
                    // clap requires --to when --to-service is absent
                    let to = to.unwrap_or_default();
                    let query = explain::Query {
                        from: &from,
                        to: &to,
                        port: port.as_ref(),
                    };
                    explain::run(inputs, &query, json, out)
                }
            }
        }),
        Command::Lint {
            paths,
            cluster,
            namespace,
            output,
            deny,
        } => run_review(&paths, &cluster, |inputs, out| {
            let deny = lint::Deny {
                warnings: deny == Some(DenyLevel::Warnings),
            };
            let shown = lint::Shown {
                namespace: namespace.as_deref(),
                verbose,
            };
            lint::run(inputs, output == TextOrJson::Json, deny, shown, out)
        }),
        Command::Diff {
            before,
            cluster,
            after,
            output,
        } => Inputs::load(&before, &cluster)
            .and_then(|b| Inputs::load(&after, &ClusterArgs::default()).map(|a| (b, a)))
            .map_err(Failure::Usage)
            .and_then(|(b, a)| {
                let errors =
                    report::print_diagnostics(&b, verbose) | report::print_diagnostics(&a, verbose);
                let stdout = std::io::stdout().lock();
                let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout);
                diff::run(&b, &a, output, &mut out)?;
                out.flush()?;
                Ok(errors)
            }),
        Command::Test {
            spec,
            paths,
            cluster,
            output,
        } => match test_cmd::load_spec(&spec) {
            Err(report) => Err(Failure::Usage(report)),
            Ok(parsed) => run_review(&paths, &cluster, |inputs, out| {
                let input_errors = report::print_diagnostics(inputs, verbose);
                let failed =
                    test_cmd::run(inputs, &spec, &parsed, output == TextOrJson::Json, out)?;
                Ok(failed || input_errors)
            }),
        },
        Command::Synthesize {
            spec,
            paths,
            cluster,
            keep,
            output,
        } => match test_cmd::load_spec(&spec) {
            Err(report) => Err(Failure::Usage(report)),
            Ok(parsed) => {
                let all: Vec<String> = paths.iter().chain(&keep).cloned().collect();
                with_inputs_failing(&all, &cluster, verbose, |inputs, out| {
                    synthesize::run(inputs, &parsed, !keep.is_empty(), output, out)
                })
            }
        },
        Command::Freeze {
            paths,
            cluster,
            output,
        } => with_inputs_failing(&paths, &cluster, verbose, |inputs, out| {
            freeze::run(inputs, output, out)
        }),
        Command::Convert { paths, cluster } => {
            with_inputs(&paths, &cluster, verbose, |inputs, out| {
                convert::run(inputs, out)
            })
        }
        Command::Generate {
            pods,
            policies,
            seed,
            admin,
            baseline,
        } => {
            let text =
                netpol_core::generate::generate_tiered(pods, policies, admin, baseline, seed);
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|()| out.flush())
                .map_err(Failure::Output)
                .map(|()| false)
        }
    }
}

/// The process exit code of a command's result (the contract in the module docs).
fn exit_code(result: Result<bool, Failure>) -> ExitCode {
    match result {
        Ok(false) => ExitCode::SUCCESS,
        Ok(true) => ExitCode::from(EXIT_INVALID_INPUT),
        Err(Failure::Usage(report)) => {
            eprintln!("{}", report::render_report(report.as_ref()));
            ExitCode::from(EXIT_USAGE)
        }
        Err(Failure::Output(e)) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(Failure::Output(e)) => {
            eprintln!("error: cannot write output: {e}");
            ExitCode::from(EXIT_INVALID_INPUT)
        }
    }
}

/// Loads `paths`, prints the diagnostics to stderr, then runs `command` with a buffered
/// stdout. Returns whether any error diagnostic was found (exit code 1), after the command
/// has printed its result for what was understood.
fn with_inputs(
    paths: &[String],
    cluster: &ClusterArgs,
    verbose: bool,
    command: impl FnOnce(&Inputs, &mut dyn Write) -> Result<(), Failure>,
) -> Result<bool, Failure> {
    let inputs = Inputs::load(paths, cluster).map_err(Failure::Usage)?;
    let had_errors = report::print_diagnostics(&inputs, verbose);
    let stdout = std::io::stdout().lock();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout);
    command(&inputs, &mut out)?;
    out.flush()?;
    Ok(had_errors)
}

/// Like [`with_inputs`] for commands whose result can fail on its own (the authoring
/// commands' self-checks): exit 1 on error diagnostics or when `command` says so.
fn with_inputs_failing(
    paths: &[String],
    cluster: &ClusterArgs,
    verbose: bool,
    command: impl FnOnce(&Inputs, &mut dyn Write) -> Result<bool, Failure>,
) -> Result<bool, Failure> {
    let mut failed = false;
    let had_errors = with_inputs(paths, cluster, verbose, |inputs, out| {
        failed = command(inputs, out)?;
        Ok(())
    })?;
    Ok(had_errors || failed)
}

/// Like [`with_inputs`] for the review commands (lint, diff, test), whose output *is* the
/// findings: diagnostics are not printed separately, and the command decides the exit code.
fn run_review(
    paths: &[String],
    cluster: &ClusterArgs,
    command: impl FnOnce(&Inputs, &mut dyn Write) -> Result<bool, Failure>,
) -> Result<bool, Failure> {
    let inputs = Inputs::load(paths, cluster).map_err(Failure::Usage)?;
    let stdout = std::io::stdout().lock();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, stdout);
    let failed = command(&inputs, &mut out)?;
    out.flush()?;
    Ok(failed)
}
