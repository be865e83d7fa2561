//! The address classes as ranges (`netpol_core::addresses`), on every input of the corpus
//! and generated clusters: the ranges of all classes are disjoint, cover both address
//! families except addresses that are pods' IPs, and the first and last address of every
//! range are treated exactly like the class representative by the engine, towards and from
//! every pod.

use std::net::IpAddr;

use netpol_core::address_ranges::address_ranges;
use netpol_core::{load, Endpoint, Engine, FileId, Model};

use crate::corpus;

fn bits(ip: IpAddr) -> (bool, u128) {
    match ip {
        IpAddr::V4(v4) => (false, u32::from(v4) as u128),
        IpAddr::V6(v6) => (true, u128::from(v6)),
    }
}

fn check(name: &str, model: &Model, failures: &mut Vec<String>) {
    let engine = Engine::new(model);
    let classes = address_ranges(&engine);
    let mut all: Vec<((bool, u128), (bool, u128))> = Vec::new();
    for class in &classes {
        if class.ranges.is_empty() {
            failures.push(format!("{name}: class {} has no range", class.label));
        }
        for &(first, last) in &class.ranges {
            all.push((bits(first), bits(last)));
            for ip in [first, last] {
                for pod in 0..model.cluster.pods.len() {
                    let (p, a, r) = (
                        Endpoint::Pod(pod),
                        Endpoint::Address(ip),
                        Endpoint::Address(class.representative),
                    );
                    if engine.allowed_ports(p, a) != engine.allowed_ports(p, r)
                        || engine.allowed_ports(a, p) != engine.allowed_ports(r, p)
                    {
                        failures.push(format!(
                            "{name}: {ip} is not treated like {} ({})",
                            class.representative, class.label
                        ));
                    }
                }
            }
        }
    }
    all.sort();
    let pod_ips: Vec<(bool, u128)> = model
        .cluster
        .pods
        .iter()
        .flat_map(|p| p.ips.iter().map(|ip| bits(*ip)))
        .collect();
    // Walk each family: consecutive ranges must touch; a gap is allowed only where every
    // address of it is a pod IP.
    for v6 in [false, true] {
        let max = if v6 { u128::MAX } else { u32::MAX as u128 };
        let mut next: u128 = 0;
        let mut done = false;
        for &((f1, a), (_, z)) in all.iter().filter(|((f, _), _)| *f == v6) {
            if a < next {
                failures.push(format!("{name}: overlapping ranges at {a:#x}"));
            }
            let gap_is_pods = (next..a).all(|x| pod_ips.contains(&(f1, x)));
            if a > next && (a - next > 64 || !gap_is_pods) {
                failures.push(format!(
                    "{name}: addresses {next:#x}..{a:#x} (v6: {v6}) are in no class"
                ));
            }
            if z == max {
                done = true;
                break;
            }
            next = z + 1;
        }
        let rest_is_pods = !done && (next..=max).take(64).all(|x| pod_ips.contains(&(v6, x)));
        let covered_to_the_end = done || (max - next < 64 && rest_is_pods);
        if !covered_to_the_end {
            failures.push(format!(
                "{name}: the end of the {} space is in no class",
                if v6 { "IPv6" } else { "IPv4" }
            ));
        }
    }
}

#[test]
fn address_ranges_cover_every_address_once_and_agree_with_the_engine() {
    let mut failures = Vec::new();
    for input in corpus::every_input() {
        check(&input.name, &input.model(), &mut failures);
    }
    for seed in 1..=3 {
        let text = netpol_core::generate::generate(80, 40, seed);
        check(
            &format!("generated {seed}"),
            &load(&[(FileId(0), &text)]),
            &mut failures,
        );
    }
    assert!(
        failures.is_empty(),
        "{} problems, first:\n{}",
        failures.len(),
        failures[..failures.len().min(10)].join("\n")
    );
}
