//! `netpol connectivity`: allowed ports per protocol for every ordered pair of endpoints.
//!
//! Results are interned: a cluster of 1,000 pods has a million pairs but only a handful of
//! distinct port sets, so every pair stores a small id and each distinct set is rendered
//! once. The text view groups sources with identical rows and destinations with identical
//! columns, which is what makes a large cluster readable.

use std::collections::HashMap;
use std::io::Write;

use netpol_core::address_ranges::{address_ranges, AddressRanges};
use netpol_core::Connectivity;
use netpol_core::{AllowedPorts, Endpoint, Engine, PortSet};

use crate::input::Inputs;
use crate::{json, Failure};

/// Groups with more members than this are named (`group 3`) and listed once at the end.
const INLINE_MEMBERS: usize = 5;

/// A rectangular table of interned results: `cells[row * cols + col]` indexes `results`.
struct Table {
    rows: usize,
    cols: usize,
    cells: Vec<u32>,
}

impl Table {
    fn row(&self, r: usize) -> &[u32] {
        &self.cells[r * self.cols..(r + 1) * self.cols]
    }
}

/// Distinct port sets, each stored once.
#[derive(Default)]
struct Interner {
    ids: HashMap<AllowedPorts, u32>,
    results: Vec<AllowedPorts>,
}

impl Interner {
    fn intern(&mut self, ports: &AllowedPorts) -> u32 {
        if let Some(id) = self.ids.get(ports) {
            return *id;
        }
        let id = self.results.len() as u32;
        self.results.push(ports.clone());
        self.ids.insert(ports.clone(), id);
        id
    }
}

/// Endpoints that behave identically, shown together: a pod class of the engine, or one
/// outside address class.
struct Unit {
    /// Indices into the label list of the axis, ascending.
    members: Vec<usize>,
    /// The endpoint to ask the engine about.
    endpoint: Endpoint,
    /// The engine's pod class, when the unit is one.
    class: Option<usize>,
}

/// Computes the connectivity and writes it as text or JSON, limited to the endpoints of
/// `namespace` when given (evaluated with every endpoint all the same).
pub fn run(
    inputs: &Inputs,
    json: bool,
    namespace: Option<&str>,
    out: &mut dyn Write,
) -> Result<(), Failure> {
    let engine = Engine::new(&inputs.model);
    let connectivity = engine.connectivity();
    let ids: Vec<&str> = inputs
        .model
        .cluster
        .pods
        .iter()
        .map(|p| p.id.as_str())
        .collect();
    let shown = inputs.shown_pods(namespace);
    if json {
        write_json(&engine, &connectivity, &ids, &shown, out)?;
        return Ok(());
    }

    // Work on the engine's pod classes rather than on pods: a class's pods have identical
    // rows and columns, so grouping classes gives the same groups for a fraction of the
    // memory (10,000 pods would otherwise need a 100-million-cell table).
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); connectivity.classes()];
    let mut pods: Vec<Unit> = Vec::new();
    for &i in &shown {
        match connectivity.pod_class(i) {
            Some(c) if c < by_class.len() => by_class[c].push(i),
            // Not expected from the engine; such a pod still gets an answer of its own.
            _ => pods.push(Unit {
                members: vec![i],
                endpoint: Endpoint::Pod(i),
                class: None,
            }),
        }
    }
    pods.extend(
        by_class
            .into_iter()
            .enumerate()
            .filter(|(_, members)| !members.is_empty())
            .map(|(c, members)| Unit {
                endpoint: Endpoint::Pod(members[0]),
                members,
                class: Some(c),
            }),
    );
    pods.sort_by_key(|u| u.members[0]);

    let mut interner = Interner::default();
    let table = compute(&engine, &connectivity, &pods, &pods, &mut interner);
    let mut legend = Legend::default();
    let n = shown.len();
    writeln!(
        out,
        "{n} endpoint{}, traffic to itself included",
        if n == 1 { "" } else { "s" }
    )?;
    let namespaces = Namespaces::new(&inputs.model.cluster.pods);
    let endpoints = Axis {
        labels: &ids,
        units: &pods,
        noun: "endpoints",
        namespaces: Some(&namespaces),
    };
    write_grouped(
        out,
        &endpoints,
        &endpoints,
        &table,
        &interner.results,
        &mut legend,
    )?;

    // Addresses outside the cluster, one representative per class the policies
    // distinguish: what each pod may send out, and what may come in.
    let classes = engine.address_classes();
    if !classes.is_empty() && n > 0 {
        let labels: Vec<String> = classes.iter().map(|c| format!("[{}]", c.label)).collect();
        let labels: Vec<&str> = labels.iter().map(String::as_str).collect();
        let addresses: Vec<Unit> = classes
            .iter()
            .enumerate()
            .map(|(i, c)| Unit {
                members: vec![i],
                endpoint: Endpoint::Address(c.representative),
                class: None,
            })
            .collect();
        let outside = Axis {
            labels: &labels,
            units: &addresses,
            noun: "outside addresses",
            namespaces: None,
        };
        let egress = compute(&engine, &connectivity, &pods, &addresses, &mut interner);
        writeln!(out, "\nto addresses outside the cluster")?;
        write_grouped(
            out,
            &endpoints,
            &outside,
            &egress,
            &interner.results,
            &mut legend,
        )?;
        let ingress = compute(&engine, &connectivity, &addresses, &pods, &mut interner);
        writeln!(out, "\nfrom addresses outside the cluster")?;
        write_grouped(
            out,
            &outside,
            &endpoints,
            &ingress,
            &interner.results,
            &mut legend,
        )?;
    }
    legend.write(out)?;
    Ok(())
}

/// The table of results between two lists of units, from the engine's class-pair table
/// where both sides are pod classes, else by asking the engine.
fn compute(
    engine: &Engine,
    connectivity: &Connectivity,
    sources: &[Unit],
    destinations: &[Unit],
    interner: &mut Interner,
) -> Table {
    let mut cells = Vec::with_capacity(sources.len() * destinations.len());
    for src in sources {
        for dst in destinations {
            let known = match (src.class, dst.class) {
                (Some(s), Some(d)) => connectivity.class_pair_ports(s, d),
                _ => None,
            };
            cells.push(match known {
                Some(ports) => interner.intern(ports),
                None => interner.intern(&engine.allowed_ports(src.endpoint, dst.endpoint)),
            });
        }
    }
    Table {
        rows: sources.len(),
        cols: destinations.len(),
        cells,
    }
}

/// The version of the JSON schema (documented in `cli/README.md`). Output without a
/// `version` field is version 1: endpoints and pod-to-pod connections only. Version 2 adds
/// `addresses` and the connections to and from them; fields are only ever added.
const JSON_VERSION: u32 = 2;

/// `, "tcp": [...], "udp": [...], "sctp": [...]}`: the tail of one connection object.
fn fragment(r: &AllowedPorts) -> String {
    format!(
        ", \"tcp\": {}, \"udp\": {}, \"sctp\": {}}}",
        ranges(&r.tcp),
        ranges(&r.udp),
        ranges(&r.sctp)
    )
}

/// The endpoints of the model (`ids`, by pod index) and those shown (`--namespace`).
#[derive(Clone, Copy)]
struct Endpoints<'a> {
    ids: &'a [&'a str],
    shown: &'a [usize],
}

/// Streams `{"endpoints": [...], "connections": [...], "version": 2, "addresses": [...]}`,
/// one connection per line: every ordered pair of distinct shown endpoints (each endpoint's
/// traffic to itself is skipped, as the contract says), then every endpoint to and from
/// every outside-address class, named by its label in brackets. Each distinct result is
/// rendered once; the per-pair work is a lookup and a few writes.
fn write_json(
    engine: &Engine,
    connectivity: &Connectivity,
    ids: &[&str],
    shown: &[usize],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    writeln!(
        out,
        "{{\"endpoints\": {},",
        json::string_array(shown.iter().map(|&i| ids[i]))
    )?;
    write!(out, " \"connections\": [")?;
    let mut first = true;
    let endpoints = Endpoints { ids, shown };
    write_pod_pairs(engine, connectivity, &endpoints, &mut first, out)?;
    let classes = address_ranges(engine);
    let labels: Vec<String> = classes.iter().map(|c| format!("[{}]", c.label)).collect();
    write_address_connections(
        engine,
        connectivity,
        &endpoints,
        &classes,
        &labels,
        &mut first,
        out,
    )?;
    writeln!(out, "],")?;
    writeln!(out, " \"version\": {JSON_VERSION},")?;
    write_addresses(&classes, &labels, out)?;
    writeln!(out, "}}")?;
    Ok(())
}

/// Every ordered pair of distinct shown endpoints, from the class-pair table.
fn write_pod_pairs(
    engine: &Engine,
    connectivity: &Connectivity,
    endpoints: &Endpoints,
    first: &mut bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let Endpoints { ids, shown } = *endpoints;
    let fragments: Vec<String> = connectivity.results().iter().map(fragment).collect();
    let to: Vec<(usize, String)> = shown
        .iter()
        .map(|&i| (i, format!(", \"to\": {}", json::string(ids[i]))))
        .collect();
    let pod_class: Vec<Option<usize>> = (0..ids.len()).map(|i| connectivity.pod_class(i)).collect();
    for &src in shown {
        let from = format!("{{\"from\": {}", json::string(ids[src]));
        for (dst, to_dst) in to.iter().map(|(i, t)| (*i, t)) {
            if src == dst {
                continue;
            }
            out.write_all(if *first { b"\n  " } else { b",\n  " })?;
            *first = false;
            out.write_all(from.as_bytes())?;
            out.write_all(to_dst.as_bytes())?;
            let pair = pod_class[src]
                .zip(pod_class[dst])
                .and_then(|(s, d)| connectivity.class_pair(s, d))
                .and_then(|r| fragments.get(r));
            match pair {
                Some(fragment) => out.write_all(fragment.as_bytes())?,
                None => {
                    let ports = engine.allowed_ports(Endpoint::Pod(src), Endpoint::Pod(dst));
                    out.write_all(fragment(&ports).as_bytes())?
                }
            }
        }
    }
    Ok(())
}

/// ` "addresses": [{"label": "[...]", "ranges": [["first", "last"], ...]}]`.
fn write_addresses(
    classes: &[AddressRanges],
    labels: &[String],
    out: &mut dyn Write,
) -> std::io::Result<()> {
    write!(out, " \"addresses\": [")?;
    for (i, (class, label)) in classes.iter().zip(labels).enumerate() {
        let ranges: Vec<String> = class
            .ranges
            .iter()
            .map(|(a, b)| format!("[\"{a}\", \"{b}\"]"))
            .collect();
        write!(
            out,
            "{}{{\"label\": {}, \"ranges\": [{}]}}",
            if i == 0 { "\n  " } else { ",\n  " },
            json::string(label),
            ranges.join(", ")
        )?;
    }
    write!(out, "]")
}

/// Every shown endpoint to every address class, then every class to every shown endpoint,
/// in the connection format; computed once per pod class (its pods behave alike).
fn write_address_connections(
    engine: &Engine,
    connectivity: &Connectivity,
    endpoints: &Endpoints,
    classes: &[AddressRanges],
    labels: &[String],
    first: &mut bool,
    out: &mut dyn Write,
) -> std::io::Result<()> {
    let mut cache: HashMap<(bool, Option<usize>, usize), String> = HashMap::new();
    let mut cell = |outgoing: bool, pod: usize, class: usize| -> String {
        let key = (outgoing, connectivity.pod_class(pod), class);
        let compute = || {
            let (p, a) = (
                Endpoint::Pod(pod),
                Endpoint::Address(classes[class].representative),
            );
            let ports = if outgoing {
                engine.allowed_ports(p, a)
            } else {
                engine.allowed_ports(a, p)
            };
            fragment(&ports)
        };
        match key.1 {
            Some(_) => cache.entry(key).or_insert_with(compute).clone(),
            None => compute(),
        }
    };
    for &pod in endpoints.shown {
        for (class, label) in labels.iter().enumerate() {
            let line = format!(
                "{{\"from\": {}, \"to\": {}{}",
                json::string(endpoints.ids[pod]),
                json::string(label),
                cell(true, pod, class)
            );
            write_connection(out, first, &line)?;
        }
    }
    for (class, label) in labels.iter().enumerate() {
        for &pod in endpoints.shown {
            let line = format!(
                "{{\"from\": {}, \"to\": {}{}",
                json::string(label),
                json::string(endpoints.ids[pod]),
                cell(false, pod, class)
            );
            write_connection(out, first, &line)?;
        }
    }
    Ok(())
}

fn write_connection(out: &mut dyn Write, first: &mut bool, line: &str) -> std::io::Result<()> {
    out.write_all(if *first { b"\n  " } else { b",\n  " })?;
    *first = false;
    out.write_all(line.as_bytes())
}

/// `[[1, 65535]]`: inclusive ranges, already sorted and merged by `PortSet`.
fn ranges(set: &PortSet) -> String {
    let inner: Vec<String> = set
        .ranges
        .iter()
        .map(|(a, b)| format!("[{a}, {b}]"))
        .collect();
    format!("[{}]", inner.join(", "))
}

/// Groups of row or column indices with identical contents, in order of first member.
fn group_by<'a>(len: usize, key: impl Fn(usize) -> &'a [u32]) -> Vec<Vec<usize>> {
    let mut index: HashMap<&'a [u32], usize> = HashMap::new();
    let mut groups: Vec<Vec<usize>> = Vec::new();
    for i in 0..len {
        let g = *index.entry(key(i)).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[g].push(i);
    }
    groups
}

/// Named groups (too large to list inline), printed once at the end.
#[derive(Default)]
struct Legend {
    names: HashMap<Vec<String>, usize>,
    groups: Vec<Vec<String>>,
}

impl Legend {
    /// `a, b, c` for small groups, `all endpoints` for everything, else `group K (N)`.
    /// `items` are endpoint ids or `namespace/*`; `count` is the number of endpoints.
    fn label(&mut self, (items, count): (Vec<String>, usize), total: usize, noun: &str) -> String {
        if count == total && total > 1 {
            return format!("all {noun}");
        }
        if items.len() <= INLINE_MEMBERS {
            return items.join(", ");
        }
        let next = self.groups.len() + 1;
        let k = *self.names.entry(items.clone()).or_insert_with(|| {
            self.groups.push(items);
            next
        });
        format!("group {k} ({count})")
    }

    fn write(&self, out: &mut dyn Write) -> std::io::Result<()> {
        for (k, members) in self.groups.iter().enumerate() {
            writeln!(out, "\ngroup {}:", k + 1)?;
            for m in members {
                writeln!(out, "  {m}")?;
            }
        }
        Ok(())
    }
}

/// One side of a table: the labels of its endpoints and the units they form.
struct Axis<'a> {
    labels: &'a [&'a str],
    units: &'a [Unit],
    /// `endpoints` in "all endpoints".
    noun: &'a str,
    /// For pods: the namespace of each label, so whole namespaces print as `ns/*`.
    namespaces: Option<&'a Namespaces>,
}

/// Which namespace and which replica set each pod is in, and how many pods each has, so
/// that a group holding all of them prints as `ns/*` or `ns/web-7d4b9-*`.
struct Namespaces {
    of: Vec<usize>,
    size: Vec<usize>,
    name: Vec<String>,
    /// Replica set of each pod: pods named `<prefix>-<suffix>` share `<prefix>`, the
    /// Kubernetes convention for pods of one ReplicaSet/StatefulSet/Job.
    set_of: Vec<Option<usize>>,
    set_size: Vec<usize>,
    set_name: Vec<String>,
}

impl Namespaces {
    fn new(pods: &[netpol_core::Pod]) -> Namespaces {
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut sets: HashMap<(&str, &str), usize> = HashMap::new();
        let mut ns = Namespaces {
            of: Vec::with_capacity(pods.len()),
            size: Vec::new(),
            name: Vec::new(),
            set_of: Vec::with_capacity(pods.len()),
            set_size: Vec::new(),
            set_name: Vec::new(),
        };
        for pod in pods {
            let i = *index.entry(pod.namespace.as_str()).or_insert_with(|| {
                ns.size.push(0);
                ns.name.push(pod.namespace.clone());
                ns.size.len() - 1
            });
            ns.size[i] += 1;
            ns.of.push(i);
            let prefix = match (&pod.workload, pod.name.rsplit_once('-')) {
                (None, Some((prefix, _))) if !prefix.is_empty() => Some(prefix),
                _ => None,
            };
            ns.set_of.push(prefix.map(|prefix| {
                let s = *sets
                    .entry((pod.namespace.as_str(), prefix))
                    .or_insert_with(|| {
                        ns.set_size.push(0);
                        ns.set_name.push(format!("{}/{prefix}-*", pod.namespace));
                        ns.set_size.len() - 1
                    });
                ns.set_size[s] += 1;
                s
            }));
        }
        ns
    }
}

impl Axis<'_> {
    /// The members of `units` in endpoint order, as labels, with every namespace whose
    /// pods are all members (and that has more than one) shortened to `namespace/*`, and
    /// likewise every replica set to `namespace/prefix-*`; and the number of endpoints.
    fn names(&self, units: &[usize]) -> (Vec<String>, usize) {
        let mut members: Vec<usize> = units
            .iter()
            .flat_map(|u| self.units[*u].members.iter().copied())
            .collect();
        members.sort_unstable();
        let count = members.len();
        let Some(ns) = self.namespaces else {
            let items = members
                .iter()
                .filter_map(|m| self.labels.get(*m).map(|l| l.to_string()))
                .collect();
            return (items, count);
        };
        let mut present = vec![0usize; ns.size.len()];
        for m in &members {
            if let Some(n) = ns.of.get(*m) {
                present[*n] += 1;
            }
        }
        let mut set_present = vec![0usize; ns.set_size.len()];
        for m in &members {
            if let Some(Some(s)) = ns.set_of.get(*m) {
                set_present[*s] += 1;
            }
        }
        let mut items = Vec::new();
        let mut said = vec![false; ns.size.len()];
        let mut set_said = vec![false; ns.set_size.len()];
        for m in &members {
            let whole_set = match ns.set_of.get(*m) {
                Some(Some(s)) if set_present[*s] == ns.set_size[*s] && ns.set_size[*s] > 1 => {
                    Some(*s)
                }
                _ => None,
            };
            match (ns.of.get(*m), whole_set) {
                (Some(&n), _) if present[n] == ns.size[n] && ns.size[n] > 1 => {
                    if !said[n] {
                        said[n] = true;
                        items.push(format!("{}/*", ns.name[n]));
                    }
                }
                (_, Some(s)) => {
                    if !set_said[s] {
                        set_said[s] = true;
                        items.push(ns.set_name[s].clone());
                    }
                }
                _ => items.extend(self.labels.get(*m).map(|l| l.to_string())),
            }
        }
        (items, count)
    }
}

/// One block per group of identical rows: `from SOURCES`, then one `→ DESTINATIONS: ports`
/// line per distinct result, destinations grouped by identical columns.
fn write_grouped(
    out: &mut dyn Write,
    rows: &Axis,
    cols: &Axis,
    table: &Table,
    results: &[AllowedPorts],
    legend: &mut Legend,
) -> std::io::Result<()> {
    let row_groups = group_by(table.rows, |r| table.row(r));
    let columns: Vec<Vec<u32>> = (0..table.cols)
        .map(|c| {
            (0..table.rows)
                .map(|r| table.cells[r * table.cols + c])
                .collect()
        })
        .collect();
    let col_groups = group_by(table.cols, |c| &columns[c]);
    for group in &row_groups {
        let sources = legend.label(rows.names(group), rows.labels.len(), rows.noun);
        writeln!(out, "\nfrom {sources}")?;
        let row = table.row(group[0]);
        // Distinct results of this row, each with the destination groups receiving it,
        // in order of the first destination.
        let mut by_result: Vec<(u32, Vec<usize>)> = Vec::new();
        for units in &col_groups {
            let result = row[units[0]];
            match by_result.iter_mut().find(|(r, _)| *r == result) {
                Some((_, members)) => members.extend_from_slice(units),
                None => by_result.push((result, units.clone())),
            }
        }
        // The result most destinations get is said last, as "all other ...", when its
        // destinations are too many to list inline, so a row reads "these few get X,
        // everyone else gets nothing" instead of pointing to a group of hundreds.
        let size =
            |units: &[usize]| -> usize { units.iter().map(|u| cols.units[*u].members.len()).sum() };
        let default = (by_result.len() > 1)
            .then(|| {
                (0..by_result.len()).max_by_key(|i| (size(&by_result[*i].1), std::cmp::Reverse(*i)))
            })
            .flatten()
            .filter(|i| cols.names(&by_result[*i].1).0.len() > INLINE_MEMBERS);
        for (i, (result, units)) in by_result.iter().enumerate() {
            if Some(i) == default {
                continue;
            }
            let destinations = legend.label(cols.names(units), cols.labels.len(), cols.noun);
            let ports = &results[*result as usize];
            writeln!(out, "  → {destinations}: {ports}")?;
        }
        if let Some((result, _)) = default.and_then(|i| by_result.get(i)) {
            let ports = &results[*result as usize];
            writeln!(out, "  → all other {}: {ports}", cols.noun)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_ranges() {
        let set = PortSet::from_ranges([(53, 53), (3306, 3306)]);
        assert_eq!(ranges(&set), "[[53, 53], [3306, 3306]]");
        assert_eq!(ranges(&PortSet::empty()), "[]");
    }

    #[test]
    fn groups_identical_rows_in_first_seen_order() {
        let rows: [&[u32]; 4] = [&[1, 2], &[3, 4], &[1, 2], &[5, 6]];
        assert_eq!(group_by(4, |i| rows[i]), vec![vec![0, 2], vec![1], vec![3]]);
    }
}
