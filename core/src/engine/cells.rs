//! Step 6, cells: classes isolated by the same policies form a group (ingress groups also
//! split by named-port resolution, since named ports resolve at the destination). For each
//! group and peer type, a word-parallel mask of the port classes the group's rules admit.
//! Rules for every peer go into a shared base mask; policies touching many peer types are
//! computed once and ORed in as whole words.

use super::bits::{or_into, set_bit, transpose};
use super::hash::{HashMap, NONE};
use super::peers::{Columns, PeerSets, PeerTypes};
use super::pods::PodClasses;
use super::ports::PortSpace;
use super::rules::Interned;
use super::tiers::{TierKey, TierRows, Tiers};
use crate::cluster_policy::{ClusterPolicyPort, ClusterPort};
use crate::model::{PortRef, Protocol};

/// A rule, compiled: its peer columns and the port classes it admits.
pub(super) struct CompiledRule {
    /// Index of the rule's peer set among its direction's distinct sets; `None` = every
    /// column.
    pub(super) peers: Option<usize>,
    /// Port classes admitted regardless of destination.
    pub(super) numeric: Vec<u64>,
    /// Named entries: (name id, protocol).
    pub(super) named: Vec<(usize, Protocol)>,
}

/// `[policy][direction]`: the compiled rules (empty when the policy does not isolate
/// that way).
pub(super) struct CompiledRules(Vec<[Vec<CompiledRule>; 2]>);

impl CompiledRules {
    pub(super) fn new(
        interned: &Interned,
        peers: &PeerSets,
        ports: &PortSpace,
        words: usize,
    ) -> CompiledRules {
        let all = ports.all(words);
        let compiled = interned
            .policies
            .iter()
            .zip(&peers.of_rule)
            .map(|(policy, sets)| {
                let mut both: [Vec<CompiledRule>; 2] = Default::default();
                for (slot, rules) in policy.rules.iter().enumerate() {
                    for (rule, set) in rules.iter().flatten().zip(&sets[slot]) {
                        both[slot].push(compile_rule(interned, ports, &all, rule.ports, *set));
                    }
                }
                both
            })
            .collect();
        CompiledRules(compiled)
    }

    fn of(&self, policy: u32, slot: usize) -> &[CompiledRule] {
        &self.0[policy as usize][slot]
    }
}

fn compile_rule(
    interned: &Interned,
    ports: &PortSpace,
    all: &[u64],
    entries: &[crate::model::NetworkPolicyPort],
    peers: Option<usize>,
) -> CompiledRule {
    let mut numeric = vec![0u64; all.len()];
    let mut named = Vec::new();
    if entries.is_empty() {
        numeric.copy_from_slice(all);
    }
    for port in entries {
        match &port.port {
            None => ports.range_mask(port.protocol, 0, 65535, &mut numeric),
            Some(PortRef::Number(n)) => {
                ports.range_mask(port.protocol, *n, port.end_port.unwrap_or(*n), &mut numeric)
            }
            Some(PortRef::Name(name)) => named.push((
                interned.name_index[&(name.as_str(), port.protocol)],
                port.protocol,
            )),
        }
    }
    CompiledRule {
        peers,
        numeric,
        named,
    }
}

/// A cluster policy rule's ports (`None`: every port and protocol, like a port-less
/// NetworkPolicy rule), compiled like a NetworkPolicy rule's: a named port stands for its
/// name in every protocol.
pub(super) fn compile_rule_ports(
    interned: &Interned,
    ports: &PortSpace,
    all: &[u64],
    entries: Option<&[ClusterPolicyPort]>,
    peers: Option<usize>,
) -> CompiledRule {
    let mut numeric = vec![0u64; all.len()];
    let mut named = Vec::new();
    let Some(entries) = entries else {
        numeric.copy_from_slice(all);
        return CompiledRule {
            peers,
            numeric,
            named,
        };
    };
    for entry in entries {
        match &entry.port {
            ClusterPort::Number { protocol, port } => {
                ports.range_mask(*protocol, *port, *port, &mut numeric)
            }
            ClusterPort::Range {
                protocol,
                start,
                end,
            } => ports.range_mask(*protocol, *start, *end, &mut numeric),
            ClusterPort::Named(name) => {
                for protocol in Protocol::ALL {
                    if let Some(id) = interned.name_index.get(&(name.as_str(), protocol)) {
                        named.push((*id, protocol));
                    }
                }
            }
        }
    }
    CompiledRule {
        peers,
        numeric,
        named,
    }
}

/// `[ingress, egress]`: per pod class, the policies isolating it (in model order).
pub(super) struct Isolation(pub(super) [Vec<Vec<u32>>; 2]);

impl Isolation {
    pub(super) fn new(interned: &Interned, columns: &Columns, classes: &PodClasses) -> Isolation {
        let mut isolating: [Vec<Vec<u32>>; 2] = [
            vec![Vec::new(); classes.len()],
            vec![Vec::new(); classes.len()],
        ];
        for (index, policy) in interned.policies.iter().enumerate() {
            let Some(ns) = policy.namespace else { continue };
            let mut selected = columns.namespace[ns].clone();
            if let Some(sel) = policy.pod_selector {
                selected.and(&columns.selector[sel]);
            }
            for (slot, rules) in policy.rules.iter().enumerate() {
                if rules.is_some() {
                    for class in selected.ones() {
                        isolating[slot][class].push(index as u32);
                    }
                }
            }
        }
        Isolation(isolating)
    }
}

/// Cell masks: one `u32` per cell when there are at most 32 port classes, else `words`
/// `u64`s per cell.
#[derive(Clone, Debug)]
pub(super) enum Masks {
    Narrow(Vec<u32>),
    Wide(Vec<u64>),
}

impl Masks {
    fn with_capacity(narrow: bool, words: usize) -> Masks {
        if narrow {
            Masks::Narrow(Vec::with_capacity(words))
        } else {
            Masks::Wide(Vec::with_capacity(words))
        }
    }

    /// Appends cells given as `u64` words (narrowed when narrow: the masks fit).
    fn extend(&mut self, row: &[u64]) {
        match self {
            Masks::Narrow(c) => c.extend(row.iter().map(|w| *w as u32)),
            Masks::Wide(c) => c.extend_from_slice(row),
        }
    }

    fn len(&self) -> usize {
        match self {
            Masks::Narrow(c) => c.len(),
            Masks::Wide(c) => c.len(),
        }
    }

    /// ANDs cell `index` into `out` (`words` words).
    pub(super) fn and_into(&self, index: usize, words: usize, out: &mut [u64]) {
        match self {
            Masks::Narrow(c) => {
                let cell = c.get(index).map_or(0, |m| *m as u64);
                if let Some(o) = out.first_mut() {
                    *o &= cell;
                }
            }
            Masks::Wide(c) => {
                let cell = c.get(index * words..(index + 1) * words).unwrap_or(&[]);
                for (i, o) in out.iter_mut().enumerate() {
                    *o &= cell.get(i).copied().unwrap_or(0);
                }
            }
        }
    }

    /// `[row][column]` to `[column][row]`.
    fn transposed(self, rows: usize, columns: usize, words: usize) -> Masks {
        match self {
            Masks::Narrow(c) => Masks::Narrow(transpose(&c, rows, columns, 1)),
            Masks::Wide(c) => Masks::Wide(transpose(&c, rows, columns, words)),
        }
    }
}

/// The isolation groups and their masks, per direction.
#[derive(Clone, Debug)]
pub(super) struct Cells {
    /// `[ingress, egress]`: the group of each pod class, or [`NONE`] (not isolated).
    pub(super) group: [Vec<u32>; 2],
    /// `[ingress, egress]`: number of groups.
    pub(super) groups: [usize; 2],
    /// `[group][peer type]`: the port classes ingress allows.
    pub(super) ingress: Masks,
    /// `[peer type][group]`: the port classes egress allows. Transposed, so that a
    /// destination's row over every source group is contiguous in
    /// [`super::Engine::connectivity`].
    pub(super) egress: Masks,
}

/// What every step before this one produced, as the cells need it.
pub(super) struct Inputs<'a> {
    pub(super) rules: &'a CompiledRules,
    pub(super) isolation: &'a Isolation,
    pub(super) types: &'a [PeerTypes; 2],
    pub(super) classes: &'a PodClasses,
    pub(super) ports: &'a PortSpace,
    pub(super) words: usize,
    /// The cluster policies (step 6b).
    pub(super) tiers: &'a Tiers,
}

impl Cells {
    pub(super) fn compute(inputs: &Inputs) -> Cells {
        // Up to 32 port classes (the usual case), a cell is a `u32`: the cells are most of
        // the engine's memory, and writing them was most of compile time.
        let narrow = inputs.ports.classes() <= 32;
        let (ingress_group, ingress) = direction(inputs, 0, narrow);
        let (egress_group, egress_by_group) = direction(inputs, 1, narrow);
        let types = inputs.types[1].count;
        let egress_groups = egress_by_group.len() / (types * inputs.words).max(1);
        let ingress_groups = ingress.len() / (inputs.types[0].count * inputs.words).max(1);
        Cells {
            group: [ingress_group, egress_group],
            groups: [ingress_groups, egress_groups],
            ingress,
            egress: egress_by_group.transposed(egress_groups, types, inputs.words),
        }
    }

    /// ANDs the mask of (`group`, `peer type`) of one direction into `out`.
    pub(super) fn and_into(
        &self,
        slot: usize,
        group: u32,
        peer_type: u32,
        types: usize,
        words: usize,
        out: &mut [u64],
    ) {
        let (g, t) = (group as usize, peer_type as usize);
        match slot {
            0 => self.ingress.and_into(g * types + t, words, out),
            _ => self.egress.and_into(t * self.groups[1] + g, words, out),
        }
    }
}

/// One direction's groups (the class → group table) and their rows, `[group][type]`.
/// A class selected by cluster policies gets its NetworkPolicy row (if isolated) combined
/// with the tiers' masks (step 6b, `tiers.rs`).
fn direction<'a>(inputs: &'a Inputs<'a>, slot: usize, narrow: bool) -> (Vec<u32>, Masks) {
    let (group, firsts) = groups(inputs, slot);
    let count = inputs.types[slot].count;
    let mut masks = Masks::with_capacity(narrow, firsts.len() * count * inputs.words);
    let mut rows = Rows::new(inputs, slot);
    if inputs.tiers.is_empty() {
        // NetworkPolicies only: every group is isolated, its row is the NetworkPolicy row.
        for &class in &firsts {
            masks.extend(rows.row(class));
        }
    } else {
        tiered_rows(inputs, slot, &firsts, &mut rows, &mut masks);
    }
    (group, masks)
}

/// The rows of a model with cluster policies: a group's NetworkPolicy row (when isolated)
/// combined with its tiers' masks. Kept out of [`direction`] so the NetworkPolicy-only loop
/// compiles as it did before the tiers.
#[inline(never)]
fn tiered_rows<'a>(
    inputs: &'a Inputs<'a>,
    slot: usize,
    firsts: &[usize],
    rows: &mut Rows<'a>,
    masks: &mut Masks,
) {
    let mut tier_rows = TierRows::new(inputs, slot);
    for &class in firsts {
        let isolated = !inputs.isolation.0[slot][class].is_empty();
        let np = isolated.then(|| rows.row(class));
        match (inputs.tiers.key(slot, class), np) {
            (None, Some(np)) => masks.extend(np),
            (Some(key), np) => masks.extend(tier_rows.row(class, key, np)),
            (None, None) => {} // not a group: never reached
        }
    }
}

/// The group of each class and the first class of each group (which stands for it).
/// Groups are found first so the cells are allocated once at their final size: growing a
/// vector of millions of words by doubling copied it several times.
fn groups<'a>(inputs: &'a Inputs<'a>, slot: usize) -> (Vec<u32>, Vec<usize>) {
    let isolating = &inputs.isolation.0[slot];
    type Key<'k> = (
        &'k [u32],
        &'k [Vec<u16>],
        Option<TierKey<'k>>,
        &'k [Vec<u16>],
    );
    let mut index: HashMap<Key<'a>, u32> = HashMap::default();
    let mut group = vec![NONE; isolating.len()];
    let mut firsts: Vec<usize> = Vec::new();
    for (class, list) in isolating.iter().enumerate() {
        let tiers = inputs.tiers.key(slot, class);
        if list.is_empty() && tiers.is_none() {
            continue;
        }
        // Ingress rows of cluster policies naming ports depend on the class's names too.
        let tier_names = inputs.tiers.names_key(slot, class);
        // Only ingress groups with named-port rules depend on how the class resolves
        // names; the others need not split on it.
        let named_key = if slot == 0
            && list
                .iter()
                .any(|p| inputs.rules.of(*p, 0).iter().any(|r| !r.named.is_empty()))
        {
            inputs.classes.signatures[class].named.as_slice()
        } else {
            &[]
        };
        let next = index.len() as u32;
        let key = (list.as_slice(), named_key, tiers, tier_names);
        let g = *index.entry(key).or_insert(next);
        if g == next {
            firsts.push(class);
        }
        group[class] = g;
    }
    (group, firsts)
}

/// Builds group rows for one direction, with the scratch space and caches they share.
struct Rows<'a> {
    inputs: &'a Inputs<'a>,
    slot: usize,
    /// Peer types of this direction.
    count: usize,
    /// The row being built, `[type][word]`; cache-resident scratch.
    row: Vec<u64>,
    /// The union of the group's rules that admit every peer alike.
    base: Vec<u64>,
    effective: Vec<u64>,
    /// Per policy: its dense contribution over every type, when it is heavy.
    heavy: HashMap<u32, Option<Vec<u64>>>,
    /// Per list of heavy policies: the OR of their dense contributions.
    combined: HashMap<Vec<u32>, Vec<u64>>,
    heavy_list: Vec<u32>,
}

impl<'a> Rows<'a> {
    fn new(inputs: &'a Inputs<'a>, slot: usize) -> Rows<'a> {
        let count = inputs.types[slot].count;
        Rows {
            inputs,
            slot,
            count,
            row: Vec::with_capacity(count * inputs.words),
            base: vec![0u64; inputs.words],
            effective: vec![0u64; inputs.words],
            heavy: HashMap::default(),
            combined: HashMap::default(),
            heavy_list: Vec::new(),
        }
    }

    /// The row of the group `class` stands for: `[type][word]`.
    // Inlined into `direction`, as it was before the tiers added code to the crate and
    // moved the compiler's inlining decisions (measured: 25 % more instructions otherwise).
    #[inline(always)]
    fn row(&mut self, class: usize) -> &[u64] {
        let inputs = self.inputs;
        let list = &inputs.isolation.0[self.slot][class];
        self.base(class, list);
        self.heavy_policies(list);
        self.start_row();
        self.apply_light_rules(class, list);
        &self.row
    }

    /// A rule for every peer whose ports do not depend on the peer (any ingress rule; an
    /// egress rule without names) goes into the base mask every type shares.
    fn uniform(&self, rule: &CompiledRule) -> bool {
        self.slot == 0 || rule.named.is_empty()
    }

    fn base(&mut self, class: usize, list: &[u32]) {
        self.base.iter_mut().for_each(|w| *w = 0);
        for p in list {
            for rule in self.inputs.rules.of(*p, self.slot) {
                if rule.peers.is_none() && self.uniform(rule) {
                    self.effective.copy_from_slice(&rule.numeric);
                    named_mask(self.inputs, class, rule, &mut self.effective);
                    or_into(&mut self.base, &self.effective);
                }
            }
        }
    }

    /// A policy whose rules touch many peer types (namespace-wide peers, the pod network
    /// as an ipBlock) is shared by many groups: its contribution is computed once,
    /// densely; groups with the same heavy policies (typically the classes of one
    /// namespace) share the OR of them too.
    fn heavy_policies(&mut self, list: &[u32]) {
        self.heavy_list.clear();
        for p in list {
            let heavy = self
                .heavy
                .entry(*p)
                .or_insert_with(|| dense(self.inputs, self.slot, self.count, *p));
            if heavy.is_some() {
                self.heavy_list.push(*p);
            }
        }
        if self.heavy_list.is_empty() || self.combined.contains_key(self.heavy_list.as_slice()) {
            return;
        }
        let mut sum = vec![0u64; self.count * self.inputs.words];
        for p in &self.heavy_list {
            if let Some(Some(part)) = self.heavy.get(p) {
                or_into(&mut sum, part);
            }
        }
        self.combined.insert(self.heavy_list.clone(), sum);
    }

    /// The row starts as the heavy policies' sum ORed with the base.
    fn start_row(&mut self) {
        let words = self.inputs.words;
        self.row.clear();
        let dense = match self.combined.get(self.heavy_list.as_slice()) {
            Some(dense) if !self.heavy_list.is_empty() => Some(dense),
            _ => None,
        };
        match dense {
            // One word per cell is the usual case: no per-word index arithmetic (a
            // division per cell was a measurable share of compile time).
            Some(dense) if words == 1 => {
                let b = self.base[0];
                self.row.extend(dense.iter().map(|m| m | b));
            }
            Some(dense) => {
                for cell in dense.chunks_exact(words) {
                    self.row
                        .extend(cell.iter().zip(&self.base).map(|(m, b)| m | b));
                }
            }
            None if words == 1 => self.row.resize(self.count, self.base[0]),
            None => {
                for _ in 0..self.count {
                    self.row.extend_from_slice(&self.base);
                }
            }
        }
    }

    /// The rules in neither the base nor a heavy policy, type by type.
    #[inline(always)]
    fn apply_light_rules(&mut self, class: usize, list: &[u32]) {
        let inputs = self.inputs;
        let words = inputs.words;
        let types = &inputs.types[self.slot];
        for p in list {
            let heavy = self.heavy.get(p).is_some_and(|h| h.is_some());
            for rule in inputs.rules.of(*p, self.slot) {
                if heavy && rule.peers.is_some() {
                    continue; // in the dense contribution
                }
                let uniform = self.uniform(rule);
                if rule.peers.is_none() && uniform {
                    continue; // in the base
                }
                if uniform {
                    self.effective.copy_from_slice(&rule.numeric);
                    named_mask(inputs, class, rule, &mut self.effective);
                }
                let mut cell = Cell {
                    inputs,
                    rule,
                    uniform,
                    row: &mut self.row,
                    effective: &mut self.effective,
                    words,
                };
                match rule.peers {
                    None => (0..self.count).for_each(|t| cell.apply(t)),
                    Some(set) => types.members[set]
                        .iter()
                        .for_each(|t| cell.apply(*t as usize)),
                }
            }
        }
    }
}

/// One light rule being ORed into the row, type by type.
struct Cell<'r, 'a> {
    inputs: &'r Inputs<'a>,
    rule: &'r CompiledRule,
    /// The rule admits the same ports for every type (`effective` is ready).
    uniform: bool,
    row: &'r mut Vec<u64>,
    effective: &'r mut Vec<u64>,
    words: usize,
}

impl Cell<'_, '_> {
    /// ORs the rule's ports into type `t`'s cell.
    #[inline(always)]
    fn apply(&mut self, t: usize) {
        if !self.uniform {
            // Egress named ports resolve at the peer type's representative.
            let types = &self.inputs.types[1];
            self.effective.copy_from_slice(&self.rule.numeric);
            named_mask(
                self.inputs,
                types.representative[t],
                self.rule,
                self.effective,
            );
        }
        let words = self.words;
        or_into(&mut self.row[t * words..(t + 1) * words], self.effective);
    }
}

/// A policy's dense contribution over every peer type, when it touches at least half of
/// them and has no named ports (which would make it depend on the group or the type).
fn dense(inputs: &Inputs, slot: usize, count: usize, policy: u32) -> Option<Vec<u64>> {
    let rules = inputs.rules.of(policy, slot);
    let members = &inputs.types[slot].members;
    let cacheable = rules.iter().all(|r| r.named.is_empty());
    let touches: usize = rules
        .iter()
        .map(|r| r.peers.map_or(0, |set| members[set].len()))
        .sum();
    if !cacheable || touches * 2 < count {
        return None;
    }
    let words = inputs.words;
    let mut dense = vec![0u64; count * words];
    for rule in rules {
        let Some(set) = rule.peers else { continue };
        for t in &members[set] {
            let t = *t as usize;
            or_into(&mut dense[t * words..(t + 1) * words], &rule.numeric);
        }
    }
    Some(dense)
}

/// Adds the classes of the numbers `column` resolves the rule's port names to (an
/// address, or a host-network pod, resolves none).
pub(super) fn named_mask(inputs: &Inputs, column: usize, rule: &CompiledRule, out: &mut [u64]) {
    let Some(signature) = inputs.classes.signatures.get(column) else {
        return;
    };
    for (name, protocol) in &rule.named {
        for n in &signature.named[*name] {
            set_bit(out, inputs.ports.class_of(*protocol, *n));
        }
    }
}
