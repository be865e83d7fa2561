//! Tidying the exceptions of exposures, without changing what they admit: an exception
//! that covers every peer of its exposure becomes fewer ports, an exception that cannot
//! meet its exposure (other ports, other namespaces, disjoint addresses) is left out, and
//! exposures that end up alike are merged.

use super::{contains, Exception, Exposure, Found, Namespaces, Peer};
use crate::model::{Cluster, PolicyType};
use crate::pair::NamedPort;
use crate::ports::AllowedPorts;

/// The exposures with their exceptions tidied; an exposure left with no port is dropped.
pub(super) fn simplify<'m>(found: Vec<Found<'m>>, cluster: &Cluster) -> Vec<Found<'m>> {
    let mut out: Vec<Found<'m>> = Vec::with_capacity(found.len());
    for mut f in found {
        let except = std::mem::take(&mut f.exposure.except);
        let mut kept = Vec::new();
        for x in except {
            if !take_whole(cluster, &mut f, &x) {
                kept.push(x);
            }
        }
        let e = &f.exposure;
        if e.ports.is_empty() && e.named.is_empty() {
            continue;
        }
        f.exposure.except = kept
            .into_iter()
            .filter_map(|x| relevant(cluster, &f.exposure, x))
            .collect();
        merge(&mut out, f);
    }
    out
}

/// Whether `x` is an "every pod" exception (an egress rule failing closed), whose pods
/// include host-network pods, unlike a selector's.
fn every_pod(x: &Exception) -> bool {
    x.rule.fail_closed && x.rule.direction == PolicyType::Egress
}

/// Takes `x`'s ports out of `f` when `x` covers every peer `f` describes and applies
/// everywhere (no `unless`); whether `x` is then said in full by the ports.
fn take_whole(cluster: &Cluster, f: &mut Found, x: &Exception) -> bool {
    let covers = x.unless.is_empty()
        && x.named.is_empty()
        && contains(cluster, &x.peer, &f.exposure.peer)
        && (every_pod(x) || !f.every);
    if !covers {
        return false;
    }
    let e = &mut f.exposure;
    e.ports = e.ports.difference(&x.ports);
    if x.ports == AllowedPorts::all() {
        e.named.clear();
    }
    // Names of `f` resolve on the peer: they may still be among `x`'s ports.
    e.named.is_empty() || x.ports.is_empty()
}

/// `x` if it may take something of `e` (its `unless` likewise, of `x`).
fn relevant(cluster: &Cluster, e: &Exposure, mut x: Exception) -> Option<Exception> {
    if !meets(
        cluster,
        (&e.peer, &e.ports, &e.named[..]),
        (&x.peer, &x.ports, &x.named[..]),
    ) {
        return None;
    }
    let outer = (&x.peer, &x.ports, &x.named[..]);
    let unless: Vec<Exception> = x
        .unless
        .iter()
        .filter(|u| meets(cluster, outer, (&u.peer, &u.ports, &u.named[..])))
        .cloned()
        .collect();
    x.unless = unless;
    Some(x)
}

/// A description with its ports and names.
type Part<'a> = (&'a Peer, &'a AllowedPorts, &'a [NamedPort]);

/// Whether two descriptions with ports may cover one connection.
fn meets(cluster: &Cluster, (a, a_ports, a_named): Part, (b, b_ports, b_named): Part) -> bool {
    // A name resolves on the destination: it may be any number.
    let b_some = !b_ports.is_empty() || !b_named.is_empty();
    let ports = !a_ports.intersection(b_ports).is_empty()
        || (!a_named.is_empty() && b_some)
        || (!b_named.is_empty() && !a_ports.is_empty());
    ports && peers_meet(cluster, a, b)
}

/// Whether two descriptions may cover one peer. Domain names match nothing (their
/// addresses cannot be known); pods and outside addresses never meet; pods of two
/// namespaces told apart by name or labels neither; nor two address blocks apart.
pub(super) fn peers_meet(cluster: &Cluster, a: &Peer, b: &Peer) -> bool {
    match (a, b) {
        (Peer::DomainNames(_), _) | (_, Peer::DomainNames(_)) => false,
        (Peer::Pods { .. }, Peer::AnyAddress) | (Peer::AnyAddress, Peer::Pods { .. }) => false,
        (Peer::Pods { namespaces: x, .. }, Peer::Pods { namespaces: y, .. }) => {
            namespaces_meet(cluster, x, y)
        }
        (Peer::Addresses(x), Peer::Addresses(y)) => {
            let ((a1, a2), (b1, b2)) = (x.cidr.range(), y.cidr.range());
            x.cidr.is_v6() == y.cidr.is_v6() && a1 <= b2 && b1 <= a2
        }
        _ => true,
    }
}

fn namespaces_meet(cluster: &Cluster, a: &Namespaces, b: &Namespaces) -> bool {
    match (a, b) {
        (Namespaces::Named(x), Namespaces::Named(y)) => x == y,
        (Namespaces::Named(name), Namespaces::Matching(selector))
        | (Namespaces::Matching(selector), Namespaces::Named(name)) => cluster
            .namespace_labels(name)
            .is_none_or(|labels| selector.matches(labels)),
        (Namespaces::Matching(_), Namespaces::Matching(_)) => true,
    }
}

/// Adds `f` to `out`, joined with an entry admitting the same description with the same
/// exceptions.
fn merge<'m>(out: &mut Vec<Found<'m>>, f: Found<'m>) {
    let same = |g: &Found| {
        g.exposure.peer == f.exposure.peer
            && g.every == f.every
            && g.exposure.except == f.exposure.except
    };
    let Some(g) = out.iter_mut().find(|g| same(g)) else {
        out.push(f);
        return;
    };
    let (e, new) = (&mut g.exposure, f.exposure);
    e.ports = e.ports.union(&new.ports);
    for name in new.named {
        if !e.named.contains(&name) {
            e.named.push(name);
        }
    }
    for rule in new.rules {
        if !e.rules.contains(&rule) {
            e.rules.push(rule);
        }
    }
    for rule in new.cluster_rules {
        if !e.cluster_rules.contains(&rule) {
            e.cluster_rules.push(rule);
        }
    }
}
