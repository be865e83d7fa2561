//! "Allow this" and "Deny this" for the selected pair: the core's smallest change to the
//! policy text ([`synth::allow`], [`synth::deny`]), shown with every other pair it also
//! opens or closes before anything is written; Apply writes it through [`Ctx::replace`]
//! (one Undo step) and selects the changed text. The app only asks and shows: which edit,
//! which pairs change and every refusal come from the core.

use leptos::prelude::*;
use netpol_core::synth::{self, Edit, PairChange, Proposal};
use netpol_core::{Endpoint, FileId, PortSpec, Span};

use crate::analysis::{CLUSTER, POLICIES};
use crate::browser;
use crate::components::ctx::{Ctx, Selection};
use crate::connectivity;
use crate::probe::Probe;
use crate::text;

/// Which way the pair should go.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Open it ("Allow this").
    Allow,
    /// Close it ("Deny this").
    Deny,
}

impl Kind {
    fn verb(self) -> &'static str {
        match self {
            Kind::Allow => "Allowed",
            Kind::Deny => "Denied",
        }
    }
}

/// A proposal on screen, with what it was computed from (so Apply can tell whether the
/// text moved on since).
#[derive(Clone, Debug)]
struct Pending {
    kind: Kind,
    /// The pair in words (`shop/web → shop/api`).
    pair: String,
    /// The port as asked (`any port`, `8080/TCP`).
    port: String,
    /// Policies and Cluster texts the proposal edits.
    texts: (String, String),
    result: Result<Proposal, String>,
    /// Milliseconds the core took (read by the benchmark).
    ms: f64,
}

/// The port chooser's text for the probe: `any` or `8080/TCP`.
pub fn port_text(probe: &Probe) -> String {
    match probe {
        Probe::Any => "any".to_string(),
        Probe::Port(protocol, port) => format!("{port}/{protocol}"),
    }
}

/// The chooser's text read by the core's [`PortSpec`]: `any` (or nothing) is every port.
pub fn parse_port(text: &str) -> Result<Option<PortSpec>, String> {
    let t = text.trim();
    if t.is_empty() || t.eq_ignore_ascii_case("any") {
        return Ok(None);
    }
    t.parse::<PortSpec>().map(Some).map_err(|e| e.to_string())
}

/// One edit as shown before applying: where, what goes, what comes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EditPreview {
    /// `Policies` or `Cluster`.
    pub editor: &'static str,
    /// 1-based line of the edit in the text as it is now.
    pub line: usize,
    /// The text replaced (empty for an insertion).
    pub removed: String,
    /// The text written.
    pub added: String,
}

/// The edits of a proposal as [`EditPreview`]s, in text order.
pub fn previews(texts: &(String, String), edits: &[Edit]) -> Vec<EditPreview> {
    edits
        .iter()
        .map(|e| {
            let (editor, t) = if e.file == CLUSTER {
                ("Cluster", &texts.1)
            } else {
                ("Policies", &texts.0)
            };
            let (start, end) = (e.start as usize, (e.end as usize).min(t.len()));
            EditPreview {
                editor,
                line: text::line_of(t, start),
                removed: t.get(start..end).unwrap_or_default().to_string(),
                added: e.text.clone(),
            }
        })
        .collect()
}

/// Byte range of `file`'s text after `edits` are applied that the edits wrote (from the
/// first edit's start to the last one's end; an insertion's leading line breaks left out,
/// so the selection starts on the first written line), to select it in the editor.
pub fn changed_range(file: FileId, edits: &[Edit]) -> Option<(usize, usize)> {
    let mut mine: Vec<&Edit> = edits.iter().filter(|e| e.file == file).collect();
    mine.sort_by_key(|e| (e.start, e.end));
    let mut shift: isize = 0;
    let mut range: Option<(usize, usize)> = None;
    for e in mine {
        let start = (e.start as isize + shift) as usize;
        let end = start + e.text.len();
        shift += e.text.len() as isize - (e.end as isize - e.start as isize);
        let lead = e.text.len() - e.text.trim_start_matches('\n').len();
        range = Some(range.map_or(((start + lead).min(end), end), |(s, _)| (s, end)));
    }
    range
}

fn now() -> f64 {
    if cfg!(target_arch = "wasm32") {
        browser::now_ms()
    } else {
        0.0
    }
}

/// The two endpoints the core is asked about for the selected node ids (a group through its
/// first member, as the explanation does), and the pair in words.
fn ends(ctx: Ctx, from: &str, to: &str) -> Option<(Endpoint, Endpoint, String)> {
    let a = ctx.analysis.get_untracked();
    let g = ctx.graph.get_untracked();
    let src = connectivity::representative(&a, g.nodes.get(g.index_of(from)?)?)?;
    let dst = connectivity::representative(&a, g.nodes.get(g.index_of(to)?)?)?;
    let words = format!(
        "{} → {}",
        connectivity::endpoint_name(&a, src),
        connectivity::endpoint_name(&a, dst)
    );
    Some((src, dst, words))
}

/// Asks the core for the change, timing it.
fn propose(ctx: Ctx, kind: Kind, from: &str, to: &str, port: &str) -> Pending {
    let texts = ctx.committed.get_untracked();
    let fail = |pair: String, why: String| Pending {
        kind,
        pair,
        port: port.to_string(),
        texts: texts.clone(),
        result: Err(why),
        ms: 0.0,
    };
    // A stale analysis is an older text's model: its endpoint numbers may not be the
    // current text's, so nothing is proposed until the text parses again.
    if ctx.analysis.with_untracked(|a| a.stale) {
        let why = "the text has errors, and the graph shows the last valid result; fix the errors in the Problems list first".to_string();
        return fail(format!("{from} → {to}"), why);
    }
    let Some((src, dst, pair)) = ends(ctx, from, to) else {
        return fail(
            format!("{from} → {to}"),
            "this pair is no longer in the graph".into(),
        );
    };
    let spec = match parse_port(port) {
        Ok(spec) => spec,
        Err(why) => return fail(pair, why),
    };
    let sources = [(POLICIES, texts.0.as_str()), (CLUSTER, texts.1.as_str())];
    let started = now();
    let result = match kind {
        Kind::Allow => synth::allow(&sources, POLICIES, src, dst, spec.as_ref()),
        Kind::Deny => synth::deny(&sources, POLICIES, src, dst, spec.as_ref()),
    };
    let ms = now() - started;
    let port = spec.map_or("any port".to_string(), |s| s.to_string());
    Pending {
        result: result.map_err(|e| e.to_string()),
        ms,
        port,
        pair,
        ..fail(String::new(), String::new())
    }
}

/// Writes the proposal into the editors as one Undo step and selects what changed. Refused
/// (nothing written) when the text moved on since the proposal was made.
fn apply(ctx: Ctx, pending: &Pending) -> Result<(), String> {
    let Ok(proposal) = &pending.result else {
        return Err("there is nothing to apply".into());
    };
    let live = (ctx.policies.get_untracked(), ctx.cluster.get_untracked());
    if live != pending.texts {
        return Err("the text changed since this was proposed; ask again".into());
    }
    let mut state = ctx.shared_state_untracked();
    state.policies = synth::apply(POLICIES, &pending.texts.0, &proposal.edits);
    state.cluster = synth::apply(CLUSTER, &pending.texts.1, &proposal.edits);
    let what = format!(
        "{} {} on {}",
        pending.kind.verb(),
        pending.pair,
        pending.port
    );
    let changed = changed_range(POLICIES, &proposal.edits)
        .map(|(s, e)| Span::new(POLICIES, &state.policies, s, e))
        .or_else(|| {
            changed_range(CLUSTER, &proposal.edits)
                .map(|(s, e)| Span::new(CLUSTER, &state.cluster, s, e))
        });
    ctx.replace(state, None, what);
    // After the editors have taken the new text (a whole new text scrolls to its top first).
    if let Some(span) = changed {
        set_timeout(
            move || ctx.jump_to(span),
            std::time::Duration::from_millis(30),
        );
    }
    Ok(())
}

/// "Allow this" / "Deny this" for the selected pair (`data-testid="pair-actions"`), and
/// the proposal once asked. Nothing in compare mode (which state would it edit?).
#[component]
pub fn PairActions() -> impl IntoView {
    let ctx = expect_context::<Ctx>();
    let port = RwSignal::new(port_text(&ctx.probe.get_untracked()));
    let pending = RwSignal::new(None::<Pending>);
    let error = RwSignal::new(None::<String>);
    // A new pair, a new probe or a new text: the proposal on screen no longer applies.
    Effect::new(move |_| {
        ctx.selection.track();
        ctx.committed.track();
        pending.set(None);
        error.set(None);
    });
    Effect::new(move |_| port.set(port_text(&ctx.probe.get())));
    let pair = move || match ctx.selection.get() {
        Some(Selection::Pair { from, to }) if !ctx.compare.get() => Some((from, to)),
        _ => None,
    };
    let ask = move |kind: Kind| {
        if let Some((from, to)) = pair() {
            error.set(None);
            pending.set(Some(propose(ctx, kind, &from, &to, &port.get_untracked())));
        }
    };
    move || {
        pair().map(|_| {
            view! {
                <div class="authoring" data-testid="pair-actions">
                    <div class="authoring__bar">
                        <button class="button button--small" data-testid="allow-this" title="Propose the smallest change to the policies that lets this pair connect" on:click=move |_| ask(Kind::Allow)>"Allow this"</button>
                        <button class="button button--small" data-testid="deny-this" title="Propose the smallest change to the policies that stops this pair" on:click=move |_| ask(Kind::Deny)>"Deny this"</button>
                        <label class="authoring__port" title="A port number or name, with /TCP, /UDP or /SCTP; any: every port (or the ports the destination declares, to allow)">
                            <span>"on"</span>
                            <input data-testid="edit-port" size="9" prop:value=move || port.get() on:input=move |ev| port.set(event_target_value(&ev)) />
                        </label>
                    </div>
                    {move || pending.get().map(|p| proposal_view(ctx, p, pending, error))}
                </div>
            }
        })
    }
}

/// The proposal: the summary, the edits as text, the pair before and after, every other
/// pair that changes; Apply and Cancel. A refusal is shown as the core words it.
fn proposal_view(
    ctx: Ctx,
    p: Pending,
    pending: RwSignal<Option<Pending>>,
    error: RwSignal<Option<String>>,
) -> AnyView {
    let kind = match p.kind {
        Kind::Allow => "allow",
        Kind::Deny => "deny",
    };
    let ms = format!("{:.2}", p.ms);
    let proposal = match &p.result {
        Err(why) => {
            return view! {
                <div class="proposal proposal--refused" data-testid="proposal" data-kind=kind data-ms=ms>
                    <p class="proposal__refusal" data-testid="proposal-error" role="alert">
                        {format!("No change proposed: {why}.")}
                    </p>
                    <button class="button button--small" data-testid="cancel-edit" on:click=move |_| pending.set(None)>"Close"</button>
                </div>
            }
            .into_any();
        }
        Ok(proposal) => proposal.clone(),
    };
    let edits = previews(&p.texts, &proposal.edits)
        .into_iter()
        .map(|e| {
            view! {
                <div class="proposal__edit" data-testid="proposal-edit">
                    <p class="proposal__where">{format!("{}, line {}", e.editor, e.line)}</p>
                    {(!e.removed.is_empty()).then(|| view! { <pre class="proposal__removed" data-testid="proposal-removed">{e.removed}</pre> })}
                    <pre class="proposal__yaml" data-testid="proposal-yaml">{e.added.trim_start_matches('\n').to_string()}</pre>
                </div>
            }
        })
        .collect_view();
    let others = others_view(p.kind, &proposal.others);
    let target = change_line(&proposal.target);
    let apply_click = move |_| {
        let Some(p) = pending.get_untracked() else {
            return;
        };
        match apply(ctx, &p) {
            Ok(()) => pending.set(None),
            Err(why) => error.set(Some(why)),
        }
    };
    view! {
        <div class="proposal" data-testid="proposal" data-kind=kind data-ms=ms>
            <p class="proposal__summary" data-testid="proposal-summary">{proposal.summary.clone()}</p>
            <p class="proposal__target" data-testid="proposal-target">{target}</p>
            {others}
            {edits}
            {move || error.get().map(|e| view! { <p class="proposal__refusal" role="alert" data-testid="apply-error">{e}</p> })}
            <div class="proposal__buttons">
                <button class="button button--small button--primary" data-testid="apply-edit" on:click=apply_click>"Apply"</button>
                <button class="button button--small" data-testid="cancel-edit" on:click=move |_| pending.set(None)>"Cancel"</button>
            </div>
        </div>
    }
    .into_any()
}

/// `shop/web → shop/api: nothing → TCP 8080`.
fn change_line(c: &PairChange) -> String {
    format!(
        "{} → {}: {} → {}",
        c.from,
        c.to,
        connectivity::ports_label(&c.before),
        connectivity::ports_label(&c.after)
    )
}

/// Every other pair the change opens or closes, or that it touches nothing else.
fn others_view(kind: Kind, others: &[PairChange]) -> AnyView {
    if others.is_empty() {
        return view! { <p class="proposal__alone" data-testid="proposal-alone">"No other pair changes."</p> }.into_any();
    }
    let head = match kind {
        Kind::Allow => format!("It also opens {}:", pairs(others.len())),
        Kind::Deny => format!(
            "It cannot be closed alone: this also changes {}:",
            pairs(others.len())
        ),
    };
    view! {
        <p class="proposal__head" data-testid="proposal-others-head">{head}</p>
        <ul class="proposal__others" data-testid="proposal-others">
            {others.iter().map(|c| view! { <li data-testid="proposal-other">{change_line(c)}</li> }).collect_view()}
        </ul>
    }
    .into_any()
}

fn pairs(n: usize) -> String {
    if n == 1 {
        "1 other pair".to_string()
    } else {
        format!("{n} other pairs")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(start: u32, end: u32, text: &str) -> Edit {
        Edit {
            file: POLICIES,
            start,
            end,
            text: text.to_string(),
        }
    }

    #[test]
    fn the_changed_range_follows_earlier_edits() {
        let before = "aaa\nbbb\nccc\n";
        let edits = vec![edit(4, 7, "BBBBB"), edit(12, 12, "ddd\n")];
        let after = synth::apply(POLICIES, before, &edits);
        assert_eq!(after, "aaa\nBBBBB\nccc\nddd\n");
        let (s, e) = changed_range(POLICIES, &edits).unwrap();
        assert_eq!(&after[s..e], "BBBBB\nccc\nddd\n");
        assert_eq!(changed_range(CLUSTER, &edits), None);
        // An insertion after a line's end starts with a line break: selected from the next.
        let edits = vec![edit(3, 3, "\nxxx")];
        let after = synth::apply(POLICIES, before, &edits);
        let (s, e) = changed_range(POLICIES, &edits).unwrap();
        assert_eq!(&after[s..e], "xxx");
    }

    #[test]
    fn previews_name_the_line_and_both_texts() {
        let texts = ("aaa\nbbb\n".to_string(), String::new());
        let p = previews(&texts, &[edit(4, 7, "BBB")]);
        assert_eq!(
            p,
            vec![EditPreview {
                editor: "Policies",
                line: 2,
                removed: "bbb".into(),
                added: "BBB".into()
            }]
        );
    }

    #[test]
    fn ports_are_read_by_the_core() {
        assert_eq!(parse_port(" any "), Ok(None));
        assert_eq!(parse_port(""), Ok(None));
        assert_eq!(
            parse_port("53/udp").unwrap().unwrap().to_string(),
            "53/UDP".to_string()
        );
        assert!(parse_port("80/ICMP")
            .unwrap_err()
            .contains("unknown protocol"));
        assert_eq!(port_text(&Probe::Any), "any");
    }
}
