//! Step 6b, tiers: the Admin and Baseline cluster policies as ordered masks.
//!
//! Per direction, a pod class's side is decided by three lists: the Admin-tier policies
//! selecting it, the NetworkPolicies isolating it (step 6) and the Baseline-tier policies
//! selecting it. For each peer type, first match per port class is resolved here, once,
//! over the rules in precedence order (policy order, then rule order):
//!
//! - `allow`: the port classes an Admin rule accepts;
//! - `keep`: every class but those an Admin rule denies (Pass and no match stay open, for
//!   the NetworkPolicy tier);
//! - `base`: the row of a class no NetworkPolicy isolates,
//!   `allow | (keep & !baseline_deny)` (a Baseline Accept or Pass, and no match, allow).
//!
//! A class the NetworkPolicies isolate gets `allow | (np & keep)`. Both are plain word
//! operations on the cells' masks, so the pair step (`pairs.rs`), the node view
//! (`node.rs`) and nftables need to know nothing about tiers. Lists are shared by many
//! classes (usually whole namespaces), so each distinct (Admin list, Baseline list) is
//! resolved once and cached.

use super::cells::{compile_rule_ports, named_mask, CompiledRule, Inputs};
use super::hash::HashMap;
use super::peers::{Columns, PeerSets};
use super::pods::{PodClasses, Scopes};
use super::ports::PortSpace;
use super::rules::Interned;
use crate::cluster_policy::{RuleAction, Tier};

/// A cluster policy rule, compiled: its peers, ports and what it does.
pub(super) struct TierRule {
    action: RuleAction,
    rule: CompiledRule,
}

/// The cluster policies, compiled, and which pod classes each selects per direction.
pub(super) struct Tiers {
    /// `[tier policy][direction]`: the compiled rules, in precedence order.
    rules: Vec<[Vec<TierRule>; 2]>,
    /// `[direction]` `[pod class]`: the Admin-tier policies selecting it, in order.
    admin: [Vec<Vec<u32>>; 2],
    /// `[direction]` `[pod class]`: the Baseline-tier policies selecting it, in order.
    baseline: [Vec<Vec<u32>>; 2],
    /// `[pod class]`: for ingress, the numbers the class resolves the port names of its
    /// cluster policies' rules to (named ports resolve at the destination, the subject).
    /// Only those names, so classes differing in other names share their rows.
    ingress_names: Vec<Vec<Vec<u16>>>,
}

/// What selects one class in one direction: its Admin and Baseline lists.
pub(super) type TierKey<'a> = (&'a [u32], &'a [u32]);

impl Tiers {
    pub(super) fn new(
        interned: &Interned,
        peers: &PeerSets,
        ports: &PortSpace,
        words: usize,
        selection: (&Scopes, &Columns, &PodClasses),
    ) -> Tiers {
        let all = ports.all(words);
        let rules = interned
            .tiers
            .iter()
            .zip(&peers.of_tier_rule)
            .map(|(policy, sets)| {
                let mut both: [Vec<TierRule>; 2] = Default::default();
                for (slot, rules) in policy.rules.iter().enumerate() {
                    for (rule, set) in rules.iter().zip(&sets[slot]) {
                        both[slot].push(TierRule {
                            action: rule.action,
                            rule: compile_rule_ports(interned, ports, &all, rule.ports, *set),
                        });
                    }
                }
                both
            })
            .collect();
        let (scopes, columns, classes) = selection;
        let mut tiers = Tiers {
            rules,
            admin: [
                vec![Vec::new(); classes.len()],
                vec![Vec::new(); classes.len()],
            ],
            baseline: [
                vec![Vec::new(); classes.len()],
                vec![Vec::new(); classes.len()],
            ],
            ingress_names: Vec::new(),
        };
        for (index, policy) in interned.tiers.iter().enumerate() {
            // Subjects are selector peers: pod classes only, never host-network ones.
            let selected = columns.peer(scopes, policy.subject);
            for slot in 0..2 {
                if policy.rules[slot].is_empty() {
                    continue;
                }
                let lists = match policy.tier {
                    Tier::Admin => &mut tiers.admin[slot],
                    Tier::Baseline => &mut tiers.baseline[slot],
                };
                for class in selected.ones().filter(|c| *c < classes.len()) {
                    lists[class].push(index as u32);
                }
            }
        }
        tiers.ingress_names = (0..classes.len())
            .map(|class| tiers.names_of(class, classes))
            .collect();
        tiers
    }

    /// The numbers `class` resolves the names of its ingress cluster rules to.
    fn names_of(&self, class: usize, classes: &PodClasses) -> Vec<Vec<u16>> {
        let mut names: Vec<usize> = self.admin[0][class]
            .iter()
            .chain(&self.baseline[0][class])
            .flat_map(|p| &self.rules[*p as usize][0])
            .flat_map(|r| r.rule.named.iter().map(|(name, _)| *name))
            .collect();
        names.sort_unstable();
        names.dedup();
        names
            .into_iter()
            .map(|n| classes.signatures[class].named[n].clone())
            .collect()
    }

    /// What an ingress row of `class` depends on besides its lists: how it resolves the
    /// names its cluster rules use (empty for egress, where names resolve at the peer).
    pub(super) fn names_key(&self, slot: usize, class: usize) -> &[Vec<u16>] {
        match slot {
            0 => self.ingress_names.get(class).map_or(&[], Vec::as_slice),
            _ => &[],
        }
    }

    /// Whether the model has no cluster policy at all.
    pub(super) fn is_empty(&self) -> bool {
        self.rules.is_empty()
    }

    /// The lists of `class` in direction `slot`; `None` when no cluster policy selects it.
    pub(super) fn key(&self, slot: usize, class: usize) -> Option<TierKey<'_>> {
        let admin = self.admin[slot].get(class)?;
        let baseline = self.baseline[slot].get(class)?;
        (!admin.is_empty() || !baseline.is_empty()).then_some((admin, baseline))
    }
}

/// The resolved masks of one (Admin list, Baseline list): `[type][word]` each.
struct Parts {
    allow: Vec<u64>,
    keep: Vec<u64>,
    base: Vec<u64>,
}

/// Builds the rows of classes selected by cluster policies, for one direction.
pub(super) struct TierRows<'a> {
    inputs: &'a Inputs<'a>,
    slot: usize,
    /// Peer types of this direction.
    count: usize,
    cache: HashMap<(TierKey<'a>, &'a [Vec<u16>]), Parts>,
    row: Vec<u64>,
}

impl<'a> TierRows<'a> {
    pub(super) fn new(inputs: &'a Inputs<'a>, slot: usize) -> TierRows<'a> {
        let count = inputs.types[slot].count;
        TierRows {
            inputs,
            slot,
            count,
            cache: HashMap::default(),
            row: Vec::with_capacity(count * inputs.words),
        }
    }

    /// The row of `class` (selected by cluster policies as `key`), given its NetworkPolicy
    /// row when NetworkPolicies isolate it.
    pub(super) fn row(&mut self, class: usize, key: TierKey<'a>, np: Option<&[u64]>) -> &[u64] {
        let inputs = self.inputs;
        // Ingress rows with named ports depend on the destination's names (the class).
        let names = inputs.tiers.names_key(self.slot, class);
        let (slot, count) = (self.slot, self.count);
        let parts = self
            .cache
            .entry((key, names))
            .or_insert_with(|| resolve(inputs, slot, count, class, key));
        let Some(np) = np else {
            return &parts.base;
        };
        self.row.clear();
        self.row.extend(
            parts
                .allow
                .iter()
                .zip(&parts.keep)
                .zip(np)
                .map(|((a, k), n)| a | (n & k)),
        );
        &self.row
    }
}

/// First match per port class over the Admin list and over the Baseline list.
fn resolve(inputs: &Inputs, slot: usize, count: usize, class: usize, key: TierKey<'_>) -> Parts {
    let words = inputs.words;
    let all = inputs.ports.all(words);
    let (admin, baseline) = key;
    let admin = first_match(inputs, slot, count, class, admin);
    let baseline = first_match(inputs, slot, count, class, baseline);
    let mut parts = Parts {
        allow: admin.accept,
        keep: Vec::with_capacity(count * words),
        base: Vec::with_capacity(count * words),
    };
    for t in 0..count {
        let at = t * words..(t + 1) * words;
        for ((a, d), (b, w)) in parts.allow[at.clone()]
            .iter()
            .zip(&admin.deny[at.clone()])
            .zip(baseline.deny[at].iter().zip(&all))
        {
            let keep = w & !d;
            parts.keep.push(keep);
            parts.base.push(a | (keep & !b));
        }
    }
    parts
}

/// What first match decided per type: the classes accepted and denied (a Pass decides
/// neither: it hands its classes on).
struct Decided {
    accept: Vec<u64>,
    deny: Vec<u64>,
}

fn first_match(inputs: &Inputs, slot: usize, count: usize, class: usize, list: &[u32]) -> Decided {
    let words = inputs.words;
    let mut out = Decided {
        accept: vec![0; count * words],
        deny: vec![0; count * words],
    };
    if list.is_empty() {
        return out;
    }
    let mut decided = vec![0u64; count * words];
    let mut effective = vec![0u64; words];
    let types = &inputs.types[slot];
    for p in list {
        for rule in &inputs.tiers.rules[*p as usize][slot] {
            // Named ports resolve at the destination: the class itself for ingress (the
            // same ports for every type), the peer type's representative for egress.
            let per_type = slot == 1 && !rule.rule.named.is_empty();
            if !per_type {
                effective.copy_from_slice(&rule.rule.numeric);
                named_mask(inputs, class, &rule.rule, &mut effective);
            }
            let mut apply = |t: usize| {
                let mut local = [0u64; 4];
                let ports: &mut [u64] = if per_type && words <= local.len() {
                    let local = &mut local[..words];
                    local.copy_from_slice(&rule.rule.numeric);
                    named_mask(inputs, types.representative[t], &rule.rule, local);
                    local
                } else if per_type {
                    effective.copy_from_slice(&rule.rule.numeric);
                    named_mask(inputs, types.representative[t], &rule.rule, &mut effective);
                    &mut effective
                } else {
                    &mut effective
                };
                let at = t * words..(t + 1) * words;
                let seen = &mut decided[at.clone()];
                let target = match rule.action {
                    RuleAction::Accept => Some(&mut out.accept[at]),
                    RuleAction::Deny => Some(&mut out.deny[at]),
                    RuleAction::Pass => None,
                };
                decide(ports, seen, target);
            };
            match rule.rule.peers {
                None => (0..count).for_each(&mut apply),
                Some(set) => types.members[set].iter().for_each(|t| apply(*t as usize)),
            }
        }
    }
    out
}

/// First match on one cell: the classes of `ports` no earlier rule decided go to
/// `target` (none for a Pass, which only marks them decided).
#[inline(always)]
fn decide(ports: &[u64], seen: &mut [u64], target: Option<&mut [u64]>) {
    match target {
        Some(target) => {
            for ((p, s), t) in ports.iter().zip(seen.iter_mut()).zip(target.iter_mut()) {
                let fresh = p & !*s;
                *s |= fresh;
                *t |= fresh;
            }
        }
        None => {
            for (p, s) in ports.iter().zip(seen.iter_mut()) {
                *s |= p;
            }
        }
    }
}
