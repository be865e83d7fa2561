//! Why: the core's verdict for the selected pair as structured HTML, with links that select
//! the responsible policy or rule in the editor; or the selected node's facts. In "any
//! port" mode the pair is explained on every port (never on one port picked to stand for
//! the rest); with a chosen port, on that port.

use leptos::prelude::*;
use netpol_core::{
    DirectionVerdict, Endpoint, Flow, PairChain, PairDirection, PairStep, PolicyRef, RuleRef,
    TierChain, TierStep,
};

use crate::analysis::Analysis;
use crate::compare;
use crate::components::authoring::PairActions;
use crate::components::ctx::{Ctx, Selection};
use crate::components::exposure_info::{ExposureInfo, GhostInfo};
use crate::components::graph_view::node_name;
use crate::components::namespace_info::{NamespaceInfo, NamespacesInfo};
use crate::components::node_info::NodeInfo;
use crate::components::tier_chain;
use crate::connectivity::{self, NodeKind};
use crate::probe::Probe;
use crate::words;

/// The explanation panel (`data-testid="explanation"`).
#[component]
pub fn Explanation() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let body = move || {
        // Panels read pods by index: wait while a new model is still arriving.
        if ctx.selection.with(|s| s.is_some()) && !ctx.graph_state.consistent() {
            return view! { <p class="muted" data-testid="explanation-loading">"Loading details…"</p> }.into_any();
        }
        match ctx.selection.get() {
        None => view! {
            <div class="hint">
                <p class="hint__title">"Ask why"</p>
                <p>"Click an edge or a matrix cell to see which policies and rules decide it. Click a node for its labels, the policies selecting it and its peers."</p>
                <p class="hint__keys">"Keyboard: Tab to the graph and walk it with the arrow keys, or to the matrix and press Enter on a cell; Escape clears; ? shows every shortcut."</p>
            </div>
        }
        .into_any(),
        Some(Selection::Node(id)) if id.starts_with(connectivity::GHOST_PREFIX) => view! { <GhostInfo id=id /> }.into_any(),
        Some(Selection::Node(id)) => view! { <NodeInfo id=id /> }.into_any(),
        Some(Selection::Pair { from, to }) => pair(ctx, &from, &to),
        Some(Selection::Exposure { ghost, node, incoming }) => view! { <ExposureInfo ghost=ghost node=node incoming=incoming /> }.into_any(),
        Some(Selection::Namespace(key)) => view! { <NamespaceInfo key=key /> }.into_any(),
        Some(Selection::Namespaces { from, to }) => view! { <NamespacesInfo from=from to=to /> }.into_any(),
    }
    };
    view! {
        <section class="panel explanation-panel" aria-label="Explanation">
            <header class="panel-head">
                <h2 class="panel-head__title">"Explanation"</h2>
                <span class="spacer"></span>
                {move || ctx.selection.with(|s| s.is_some()).then(|| view! {
                    <button class="link" data-testid="clear-selection" on:click=move |_| ctx.selection.set(None)>"Clear"</button>
                })}
            </header>
            <PairActions />
            <div class="explanation" data-testid="explanation" aria-live="polite">{body}</div>
        </section>
    }
}

/// A link to a policy (selects its text).
pub fn policy_link(ctx: Ctx, p: &PolicyRef) -> impl IntoView {
    policy_link_in(ctx, p, false)
}

/// A link to a policy in the plain or (`after`) the After editors.
pub fn policy_link_in(ctx: Ctx, p: &PolicyRef, after: bool) -> impl IntoView {
    let span = p.span;
    view! {
        <button class="ref" data-testid="policy-link" data-policy=p.name.clone() on:click=move |_| ctx.jump_into(span, after)>
            {format!("{}/{}", p.namespace, p.name)}
        </button>
    }
}

/// A link to a rule (selects its text in the editor of the state it belongs to), with its
/// line.
pub fn rule_link(ctx: Ctx, r: &RuleRef, after: bool) -> impl IntoView {
    let span = r.span;
    view! {
        <button class="ref" data-testid="rule-link" data-policy=r.policy.name.clone() on:click=move |_| ctx.jump_into(span, after)>
            {format!("{}/{} · {}", r.policy.namespace, r.policy.name, words::rule_name(r.direction, r.index))}
            <span class="ref__line">{format!("line {}", r.span.line)}</span>
        </button>
    }
}

fn direction(
    ctx: Ctx,
    title: String,
    who: &str,
    dir: &'static str,
    (v, chain): (&DirectionVerdict, &TierChain),
    (outside, after): (bool, bool),
) -> impl IntoView {
    let (state, class) = match v {
        DirectionVerdict::NotIsolated => ("not isolated", "dir dir--open"),
        DirectionVerdict::Allowed { .. } => ("allowed", "dir dir--allowed"),
        DirectionVerdict::Denied { .. } => ("denied", "dir dir--denied"),
    };
    if chain.has_cluster_policies() {
        return tiered_direction(title, dir, chain.is_allowed(), {
            let reached = chain
                .steps
                .iter()
                .any(|s| matches!(s, TierStep::NetworkPolicy { isolated: true, .. }));
            let np = reached.then(|| {
                direction(
                    ctx,
                    String::new(),
                    who,
                    dir,
                    (v, &TierChain::default()),
                    (outside, after),
                )
                .into_any()
            });
            view! { {tier_chain::tier_chain(ctx, chain, v, after)} {np_details(np)} }.into_any()
        })
        .into_any();
    }
    let content = match v {
        DirectionVerdict::NotIsolated => {
            view! { <p>{not_isolated_text(who, dir, outside)}</p> }.into_any()
        }
        DirectionVerdict::Allowed { isolated_by, by } => view! {
            <p class="dir__label">"Isolated by"</p>
            <div class="refs">{isolated_by.iter().map(|p| policy_link_in(ctx, p, after)).collect_view()}</div>
            <p class="dir__label">"Allowed by"</p>
            <div class="refs">{by.iter().map(|r| rule_link(ctx, r, after)).collect_view()}</div>
        }
        .into_any(),
        DirectionVerdict::Denied {
            isolated_by,
            misses,
        } => {
            let misses_view = if misses.is_empty() {
                view! { <p>{format!("These policies have no {dir} rules: all {dir} is denied (default deny).")}</p> }.into_any()
            } else {
                let shown = misses
                    .iter()
                    .take(6)
                    .map(|m| {
                        let (head, lines) = words::miss_reason(&m.reason);
                        miss_item(ctx, &m.rule, head, lines, after)
                    })
                    .collect_view();
                let more = misses.len().saturating_sub(6);
                view! {
                    <p class="dir__label">"No rule admits it. Closest misses"</p>
                    <ul class="misses">{shown}</ul>
                    {(more > 0).then(|| view! { <p class="muted">{format!("and {more} more")}</p> })}
                }
                .into_any()
            };
            view! {
                <p class="dir__label">"Isolated by"</p>
                <div class="refs">{isolated_by.iter().map(|p| policy_link_in(ctx, p, after)).collect_view()}</div>
                {misses_view}
            }
            .into_any()
        }
    };
    direction_section(title, dir, state, class, content).into_any()
}

/// A side a cluster policy took part in: the state is the chain's, the content its steps
/// (and the NetworkPolicy tier's details, when it decided some of the traffic).
fn tiered_direction(
    title: String,
    dir: &'static str,
    allowed: bool,
    content: AnyView,
) -> impl IntoView {
    let (state, class) = if allowed {
        ("allowed", "dir dir--allowed dir--tiered")
    } else {
        ("denied", "dir dir--denied dir--tiered")
    };
    direction_section(title, dir, state, class, content)
}

/// The NetworkPolicy tier's own explanation, folded under the chain.
fn np_details(np: Option<AnyView>) -> impl IntoView {
    np.map(|np| {
        view! {
            <details class="np-tier" data-testid="np-tier" open>
                <summary>"The NetworkPolicy tier"</summary>
                {np}
            </details>
        }
    })
}

/// The selected pair: on every port in "any port" mode ([`netpol_core::evaluate_pair`]),
/// else on the chosen port ([`netpol_core::evaluate`]). In compare mode: both verdicts and
/// the core's change first, then the After state explained, the Before one folded away.
fn pair(ctx: Ctx, from: &str, to: &str) -> AnyView {
    let (Some(after), Some(after_graph)) = (ctx.after_analysis.get(), ctx.after_graph.get()) else {
        return pair_in(ctx, &ctx.analysis.get(), &ctx.graph.get(), from, to, false);
    };
    let before = pair_in(ctx, &ctx.analysis.get(), &ctx.graph.get(), from, to, false);
    let after_view = pair_in(ctx, &after, &after_graph, from, to, true);
    view! {
        {compare_block(ctx, from, to)}
        <div class="compare-side" data-testid="explanation-after">
            <h3 class="compare-side__title">"After the change"</h3>
            {after_view}
        </div>
        <details class="compare-side compare-side--before" data-testid="explanation-before">
            <summary class="compare-side__title">"Before the change"</summary>
            {before}
        </details>
    }
    .into_any()
}

/// Both verdicts of the pair (for the probe) and what the core's diff says changed on
/// every port.
fn compare_block(ctx: Ctx, from: &str, to: &str) -> impl IntoView {
    let g = ctx.graph.get();
    let after = ctx.after_graph.get();
    let states = after
        .as_deref()
        .map(|a| {
            let t = compare::Table::new(&g, a);
            let row = |id: &str| t.ids.iter().position(|i| i == id);
            match (row(from), row(to)) {
                (Some(x), Some(y)) => t.pair(&g, a, x, y),
                _ => compare::PairStates {
                    before: None,
                    after: None,
                },
            }
        })
        .unwrap_or(compare::PairStates {
            before: None,
            after: None,
        });
    let (b, a) = (
        compare::cell_word(states.before),
        compare::cell_word(states.after),
    );
    let change = states.change();
    let on = ctx.probe.get().label();
    let diff = ctx.diff.get();
    let ports = diff
        .as_deref()
        .and_then(|d| compare::change_for(d, from, to))
        .map(compare::ports_change);
    let headline = match change {
        "same" => format!("Unchanged on {on}: {b}"),
        "added" => format!("Opened by the change on {on}"),
        "removed" => format!("Closed by the change on {on}"),
        _ => format!("Changed on {on}"),
    };
    view! {
        <div class=format!("compare-verdicts compare-verdicts--{change}") data-testid="compare-verdicts" data-before=b data-after=a data-change=change>
            <p class="compare-verdicts__headline">{headline}</p>
            <p class="compare-verdicts__states">
                <span class=format!("state state--{b}")>"Before: " <strong data-testid="verdict-before">{b}</strong></span>
                <span aria-hidden="true">" → "</span>
                <span class=format!("state state--{a}")>"After: " <strong data-testid="verdict-after">{a}</strong></span>
            </p>
            <p class="muted small" data-testid="pair-change">
                {match ports {
                    Some(p) => format!("On every port, the change does: {p}"),
                    None => "On every port: no change for this pair.".to_string(),
                }}
            </p>
        </div>
    }
}

/// One state's explanation of the pair; `after` sends its links to the After editors.
fn pair_in(
    ctx: Ctx,
    a: &Analysis,
    g: &crate::connectivity::Graph,
    from: &str,
    to: &str,
    after: bool,
) -> AnyView {
    let probe = ctx.probe.get();
    let (Some(fi), Some(ti)) = (g.index_of(from), g.index_of(to)) else {
        return view! { <p class="muted">"This pair is not in this state's graph."</p> }.into_any();
    };
    let (Some(src), Some(dst)) = (
        connectivity::representative(a, &g.nodes[fi]),
        connectivity::representative(a, &g.nodes[ti]),
    ) else {
        return view! { <p class="muted">"Nothing to explain for this pair."</p> }.into_any();
    };
    let ends = Ends {
        src,
        dst,
        src_name: connectivity::endpoint_name(a, src),
        dst_name: connectivity::endpoint_name(a, dst),
        after,
    };
    // The pair as the graph names it (a group by its name and size); the endpoints the
    // core is asked about follow when they differ (a group's first member, an address).
    let (from_name, to_name) = (node_name(&g.nodes[fi]), node_name(&g.nodes[ti]));
    let asked = (from_name != ends.src_name || to_name != ends.dst_name)
        .then(|| format!("asked as {} → {}", ends.src_name, ends.dst_name));
    let title = view! {
        <h3 class="pair__title" data-testid="pair-title" data-from=from.to_string() data-to=to.to_string()>{format!("{from_name} → {to_name}")}</h3>
        {asked.map(|t| view! { <p class="muted small" data-testid="pair-asked">{t}</p> })}
    };
    let grouped = [&g.nodes[fi], &g.nodes[ti]]
        .iter()
        .any(|n| matches!(n.kind, NodeKind::Group(_)));
    let notes = view! {
        {a.stale.then(|| view! { <p class="muted">"Explaining the last valid result (the text has errors)."</p> })}
        {grouped.then(|| view! { <p class="muted">"Groups are explained through their first member; every member behaves the same."</p> })}
        <p class="muted small">"A connection needs the source's egress and the destination's ingress to allow it."</p>
    };
    let body = match &probe {
        Probe::Any => any_port(ctx, a, &ends),
        Probe::Port(protocol, port) => match words::flow_for(a, *protocol, port, src, dst) {
            Ok(flow) => one_port(ctx, a, &ends, &flow),
            Err(why) => view! { <p>{why}</p> }.into_any(),
        },
    };
    view! {
        <div class="pair" data-testid="pair" data-probe=probe.key()>
            {title}
            {body}
            {notes}
        </div>
    }
    .into_any()
}

/// The two ends of the selected pair, as asked and as named.
struct Ends {
    src: Endpoint,
    dst: Endpoint,
    src_name: String,
    dst_name: String,
    /// The After state's (links go to the After editors).
    after: bool,
}

fn verdict_row(allowed: bool, chip: String, chip_title: &'static str) -> impl IntoView {
    view! {
        <div class=if allowed { "verdict verdict--allowed" } else { "verdict verdict--denied" } data-testid="verdict" data-verdict=if allowed { "allowed" } else { "denied" }>
            <span class="verdict__icon" aria-hidden="true">{if allowed { "✓" } else { "✕" }}</span>
            <span class="verdict__word">{if allowed { "allowed" } else { "denied" }}</span>
            <span class="verdict__flow" title=chip_title>{chip}</span>
        </div>
    }
}

/// The CLI's text of an explanation, folded.
pub fn plain_text(text: String) -> impl IntoView {
    (!text.trim().is_empty()).then(|| {
        view! {
            <details class="plain">
                <summary>"As text (same as the CLI)"</summary>
                <pre>{text}</pre>
            </details>
        }
    })
}

/// "Any port": the pair verdict on every port. A denied pair is denied on every port, with
/// each side's reasons; an allowed pair lists its ports and, per side, the rules and theirs.
fn any_port(ctx: Ctx, a: &Analysis, ends: &Ends) -> AnyView {
    let verdict = netpol_core::evaluate_pair(&a.model, ends.src, ends.dst);
    let ports = verdict.ports();
    let allowed = !ports.is_empty();
    let chip = if allowed { "any port" } else { "on every port" };
    let ports_line = if allowed {
        view! { <p class="ports">"Allowed ports: " <strong data-testid="allowed-ports">{connectivity::ports_label(&ports)}</strong></p> }.into_any()
    } else {
        let why = if verdict.is_disjoint() {
            format!(
                "each side allows something, but nothing in common: egress allows only {}, ingress allows only {}.",
                connectivity::ports_label(&verdict.egress_ports()),
                connectivity::ports_label(&verdict.ingress_ports())
            )
        } else {
            match (
                !verdict.egress_ports().is_empty(),
                !verdict.ingress_ports().is_empty(),
            ) {
                (false, false) => "neither side admits any port.".to_string(),
                (false, _) => format!(
                    "the egress of {} admits no port to {}.",
                    ends.src_name, ends.dst_name
                ),
                _ => format!(
                    "the ingress of {} admits no port from {}.",
                    ends.dst_name, ends.src_name
                ),
            }
        };
        let disjoint = verdict.is_disjoint();
        view! {
            <p class="ports" data-testid=if disjoint { "disjoint" } else { "denied-why" }>
                "Allowed ports: " <strong data-testid="allowed-ports">"none"</strong> " — " {why}
            </p>
        }
        .into_any()
    };
    let text = netpol_core::render::explain_pair(&a.model, &ends.src, &ends.dst, &verdict);
    view! {
        {verdict_row(allowed, chip.to_string(), "Connectivity on every port and protocol")}
        {ports_line}
        {pair_direction(ctx, format!("Egress of {}", ends.src_name), &ends.src_name, "egress", (&verdict.egress, &verdict.egress_chain), ends)}
        {pair_direction(ctx, format!("Ingress of {}", ends.dst_name), &ends.dst_name, "ingress", (&verdict.ingress, &verdict.ingress_chain), ends)}
        {plain_text(text)}
    }
    .into_any()
}

/// One side of a pair on every port.
fn pair_direction(
    ctx: Ctx,
    title: String,
    who: &str,
    dir: &'static str,
    (v, chain): (&PairDirection, &PairChain),
    ends: &Ends,
) -> AnyView {
    if chain.has_cluster_policies() {
        let ports = chain.ports();
        let reached = chain
            .steps
            .iter()
            .any(|s| matches!(s, PairStep::NetworkPolicy { isolated: true, .. }));
        let np = reached.then(|| {
            pair_direction(
                ctx,
                String::new(),
                who,
                dir,
                (v, &PairChain::default()),
                ends,
            )
        });
        let content = view! {
            <p>"Allows " <strong data-testid="side-ports">{connectivity::ports_label(&ports)}</strong> "."</p>
            {tier_chain::pair_chain(ctx, chain, ends.after)}
            {np_details(np)}
        }
        .into_any();
        return tiered_direction(title, dir, !ports.is_empty(), content).into_any();
    }
    let (state, class) = match v {
        PairDirection::NotIsolated => ("not isolated", "dir dir--open"),
        PairDirection::Allowed { .. } => ("allowed", "dir dir--allowed"),
        PairDirection::Denied { .. } => ("denied", "dir dir--denied"),
    };
    let subject = if dir == "egress" { ends.src } else { ends.dst };
    let content = match v {
        PairDirection::NotIsolated => {
            view! { <p>{not_isolated_text(who, dir, matches!(subject, Endpoint::Address(_)))}</p> }.into_any()
        }
        PairDirection::Allowed { isolated_by, by } => view! {
            <p>"Allows " <strong data-testid="side-ports">{connectivity::ports_label(&v.ports())}</strong> "."</p>
            <p class="dir__label">"Isolated by"</p>
            <div class="refs">{isolated_by.iter().map(|p| policy_link_in(ctx, p, ends.after)).collect_view()}</div>
            <p class="dir__label">"Allowed by"</p>
            <ul class="misses">
                {by.iter().map(|r| view! {
                    <li class="miss">
                        {rule_link(ctx, &r.rule, ends.after)}
                        <div class="miss__why">{format!("admits {}", connectivity::ports_label(&r.ports))}</div>
                    </li>
                }).collect_view()}
            </ul>
        }
        .into_any(),
        PairDirection::Denied { isolated_by, misses } => {
            let to_address = matches!(ends.dst, Endpoint::Address(_));
            let misses_view = if misses.is_empty() {
                view! { <p>{format!("These policies have no {dir} rules: all {dir} is denied (default deny).")}</p> }.into_any()
            } else {
                let shown = misses.iter().take(6).map(|m| {
                    let (head, lines) = words::pair_miss_reason(&m.reason, to_address);
                    miss_item(ctx, &m.rule, head, lines, ends.after)
                }).collect_view();
                let more = misses.len().saturating_sub(6);
                view! {
                    <p class="dir__label">"No rule admits any port. Closest misses"</p>
                    <ul class="misses">{shown}</ul>
                    {(more > 0).then(|| view! { <p class="muted">{format!("and {more} more")}</p> })}
                }
                .into_any()
            };
            view! {
                <p>"Denied on every port."</p>
                <p class="dir__label">"Isolated by"</p>
                <div class="refs">{isolated_by.iter().map(|p| policy_link_in(ctx, p, ends.after)).collect_view()}</div>
                {misses_view}
            }
            .into_any()
        }
    };
    direction_section(title, dir, state, class, content).into_any()
}

fn direction_section(
    title: String,
    dir: &'static str,
    state: &'static str,
    class: &'static str,
    content: AnyView,
) -> impl IntoView {
    // Without a title it is the NetworkPolicy tier's part of a side with a tier chain,
    // shown inside that side's section.
    let (testid, kind) = if title.is_empty() {
        (format!("np-tier-{dir}"), "NetworkPolicy tier: ")
    } else {
        (format!("explanation-{dir}"), "")
    };
    view! {
        <section class=class data-testid=testid data-state=state>
            <h3 class="dir__title">
                <span>{title}</span>
                <span class="dir__state">{format!("{kind}{state}")}</span>
            </h3>
            {content}
        </section>
    }
}

fn not_isolated_text(who: &str, dir: &str, outside: bool) -> String {
    if outside {
        format!("{who} is outside the cluster: policies do not restrict its {dir}.")
    } else {
        format!("No policy selects {who} for {dir}, so its {dir} is unrestricted.")
    }
}

fn miss_item(
    ctx: Ctx,
    rule: &RuleRef,
    head: String,
    lines: Vec<String>,
    after: bool,
) -> impl IntoView {
    view! {
        <li class="miss">
            {rule_link(ctx, rule, after)}
            <div class="miss__why">{head}</div>
            {(!lines.is_empty()).then(|| view! {
                <ul class="miss__peers">{lines.into_iter().map(|l| view! { <li>{l}</li> }).collect_view()}</ul>
            })}
        </li>
    }
}

/// One port: the per-flow verdict for the chosen port (a named port resolved on the
/// destination).
fn one_port(ctx: Ctx, a: &Analysis, ends: &Ends, flow: &Flow) -> AnyView {
    let verdict = netpol_core::evaluate(&a.model, flow);
    let allowed = verdict.is_allowed();
    let text = netpol_core::render::explain(&a.model, flow, &verdict);
    view! {
        {verdict_row(allowed, format!("{}/{}", flow.port, flow.protocol), "The port this explanation evaluates")}
        {direction(ctx, format!("Egress of {}", ends.src_name), &ends.src_name, "egress", (&verdict.egress, &verdict.egress_chain), (matches!(ends.src, Endpoint::Address(_)), ends.after))}
        {direction(ctx, format!("Ingress of {}", ends.dst_name), &ends.dst_name, "ingress", (&verdict.ingress, &verdict.ingress_chain), (matches!(ends.dst, Endpoint::Address(_)), ends.after))}
        {plain_text(text)}
    }
    .into_any()
}
