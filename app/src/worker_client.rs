//! The page's side of the worker: sends what the graph needs (the texts when they
//! changed, the view always) and puts the answers into [`GraphState`]. Answers to
//! requests older than the last one shown are dropped; a new analysis arrives in parts
//! and is applied once complete (each part is a task of its own, so reading a
//! 10,000-pod model never blocks the page for long).
//!
//! Where `Worker` cannot start (no worker support, a file opened from disk), the same
//! session runs on the page, after a timeout so the page paints first: slower for big
//! inputs, never a blank page. Like `browser.rs`, this module touches browser APIs.

use std::cell::RefCell;
use std::rc::Rc;
use std::sync::Arc;

use leptos::prelude::*;
use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{MessageEvent, Worker};

use crate::browser;
use crate::components::ctx::{Ctx, Selection};
use crate::components::graph_state::{GraphState, Status};
use crate::connectivity::GraphOptions;
use crate::session::{Assembly, Session};
use crate::wire::{Request, Response, ViewRequest};

/// The worker's loader script (Trunk's `data-loader-shim`), relative to the page.
const WORKER_URL: &str = "./netpol-worker_loader.js";

/// Answers longer than this (bytes of JSON) are applied in a task after the one that read
/// them.
const BIG_MESSAGE: usize = 256 * 1024;

/// Pods up to which a whole model is put together in the same task as its scene.
const SMALL_MODEL: usize = 300;

/// How requests reach a session.
enum Transport {
    /// A worker, and whether it said it is listening.
    Worker(Worker, bool),
    Inline(Rc<RefCell<Session>>),
}

/// What the page keeps between answers.
struct Client {
    transport: RefCell<Option<Transport>>,
    seq: RefCell<u64>,
    /// When each outstanding request was sent (for the latency the benchmark reads).
    sent_at: RefCell<Vec<(u64, f64)>>,
    /// Texts last sent.
    texts: RefCell<Option<(String, String)>>,
    /// The newest request answered with a scene.
    shown: RefCell<u64>,
    /// An analysis arriving in parts.
    assembly: RefCell<Option<Assembly>>,
    /// Lint findings that arrived before their analysis was complete.
    lint: RefCell<Option<(u64, Vec<netpol_core::Diagnostic>)>>,
    /// The last request's view, to send again through a new transport.
    last: RefCell<Option<ViewRequest>>,
    /// A request waiting for the worker to listen (texts of older ones merged in).
    queued: RefCell<Option<Request>>,
    /// The next request asks for everything whole (a patch or scene did not fit).
    resend: RefCell<bool>,
    /// Answers read but not yet applied, in order (see [`take`]).
    inbox: RefCell<std::collections::VecDeque<Response>>,
}

/// Starts the worker and keeps it fed with what the page shows.
pub fn start(ctx: Ctx) {
    let state = ctx.graph_state;
    let client = Rc::new(Client {
        transport: RefCell::new(None),
        seq: RefCell::new(0),
        sent_at: RefCell::new(Vec::new()),
        texts: RefCell::new(None),
        shown: RefCell::new(0),
        assembly: RefCell::new(None),
        lint: RefCell::new(None),
        last: RefCell::new(None),
        queued: RefCell::new(None),
        resend: RefCell::new(false),
        inbox: RefCell::new(Default::default()),
    });
    *client.transport.borrow_mut() = Some(spawn(&client, state));
    // The worker is the outside world: this Effect only sends it what the page shows.
    let sender = client.clone();
    let bench = browser::query().contains("bench");
    // Whether the graph shown is capped (then the selection is part of the request).
    let capped = Memo::new(move |_| {
        state
            .scene
            .with(|s| s.as_ref().is_some_and(|s| s.cap.is_some()))
    });
    Effect::new(move |_| {
        let texts = ctx.committed.get();
        let view = ViewRequest {
            probe: ctx.probe.get().key(),
            options: GraphOptions {
                denied: ctx.show_denied.get(),
                // Compare mode unions every allowed pair of before and after.
                unrestricted: state.show_unrestricted.get() || ctx.compare.get(),
                expanded: ctx.expanded.get(),
                namespaces: state.namespaces.get(),
            },
            exposure: ctx.show_exposure.get(),
            epoch: ctx.epoch.get(),
            bench,
            // A capped graph draws the selected node's edges first.
            // (read only then, so a click on a small graph asks the worker nothing).
            focus: if capped.get() {
                ctx.selection.with(|s| match s {
                    Some(Selection::Node(id)) => Some(id.clone()),
                    Some(Selection::Pair { from, .. }) => Some(from.clone()),
                    _ => None,
                })
            } else {
                None
            },
        };
        send(&sender, state, texts, view);
    });
}

fn spawn(client: &Rc<Client>, state: GraphState) -> Transport {
    let worker = match Worker::new(WORKER_URL) {
        Ok(worker) => worker,
        Err(_) => return Transport::Inline(Rc::new(RefCell::new(Session::new()))),
    };
    let receiver = client.clone();
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let Some(bytes) = crate::wire::bytes_of(&ev.data()) else {
            return;
        };
        match serde_json::from_slice::<Response>(&bytes) {
            Ok(response) => take(&receiver, state, response, bytes.len() > BIG_MESSAGE),
            Err(e) => state.status.set(Status::Failed(format!(
                "unreadable answer from the worker: {e}"
            ))),
        }
    });
    worker.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    // A worker that fails to load (or crashes) hands over to an inline session.
    let fallback = client.clone();
    let onerror = Closure::<dyn FnMut(web_sys::ErrorEvent)>::new(move |ev: web_sys::ErrorEvent| {
        ev.prevent_default();
        *fallback.transport.borrow_mut() =
            Some(Transport::Inline(Rc::new(RefCell::new(Session::new()))));
        let texts = fallback.texts.borrow_mut().take();
        let view = fallback.last.borrow().clone();
        if let (Some(texts), Some(view)) = (texts, view) {
            send(&fallback, state, texts, view);
        }
    });
    worker.set_onerror(Some(onerror.as_ref().unchecked_ref()));
    onerror.forget();
    Transport::Worker(worker, false)
}

fn send(client: &Rc<Client>, state: GraphState, texts: (String, String), view: ViewRequest) {
    *client.last.borrow_mut() = Some(view.clone());
    let seq = {
        let mut seq = client.seq.borrow_mut();
        *seq += 1;
        *seq
    };
    let changed = client.texts.borrow().as_ref() != Some(&texts);
    let texts = changed.then(|| {
        *client.texts.borrow_mut() = Some(texts.clone());
        texts
    });
    client.sent_at.borrow_mut().push((seq, browser::now_ms()));
    let resend = std::mem::take(&mut *client.resend.borrow_mut());
    let request = Request {
        seq,
        texts,
        view,
        resend,
    };
    if !matches!(state.status.get_untracked(), Status::TooLarge(_)) || request.texts.is_some() {
        state.status.set(Status::Working);
    }
    match client.transport.borrow().as_ref() {
        Some(Transport::Worker(worker, true)) => post(worker, &request),
        Some(Transport::Worker(_, false)) => {
            let mut queued = client.queued.borrow_mut();
            let mut request = request;
            if let Some(q) = queued.take() {
                if request.texts.is_none() {
                    request.texts = q.texts;
                }
                request.resend |= q.resend;
            }
            *queued = Some(request);
        }
        Some(Transport::Inline(session)) => {
            let (session, client) = (session.clone(), client.clone());
            set_timeout(
                move || {
                    let answers =
                        session
                            .borrow_mut()
                            .answer(request.seq, request.texts, &request.view);
                    for answer in answers {
                        receive(&client, state, answer);
                    }
                },
                std::time::Duration::from_millis(0),
            );
        }
        None => {}
    }
}

fn post(worker: &Worker, request: &Request) {
    if let Some((message, transfer)) = crate::wire::message_of(request) {
        let _ = worker.post_message_with_transfer(&message, &transfer);
    }
}

/// An answer just read: applied at once when it is small and nothing waits before it;
/// otherwise queued and applied in a task of its own (reading a 10,000-pod scene and
/// putting it on the page are each tens of milliseconds; one task for both would hold the
/// page up longer).
fn take(client: &Rc<Client>, state: GraphState, response: Response, big: bool) {
    let mut inbox = client.inbox.borrow_mut();
    if inbox.is_empty() && !big {
        drop(inbox);
        receive(client, state, response);
        return;
    }
    let idle = inbox.is_empty();
    inbox.push_back(response);
    drop(inbox);
    if idle {
        drain_later(client.clone(), state);
    }
}

/// Applies the first queued answer in the next task, then the rest one task each.
fn drain_later(client: Rc<Client>, state: GraphState) {
    set_timeout(
        move || {
            let next = client.inbox.borrow_mut().pop_front();
            if let Some(response) = next {
                receive(&client, state, response);
            }
            if !client.inbox.borrow().is_empty() {
                drain_later(client, state);
            }
        },
        std::time::Duration::from_millis(0),
    );
}

fn receive(client: &Rc<Client>, state: GraphState, response: Response) {
    match response {
        Response::Ready => {
            if let Some(Transport::Worker(worker, ready)) = client.transport.borrow_mut().as_mut() {
                *ready = true;
                if let Some(request) = client.queued.borrow_mut().take() {
                    post(worker, &request);
                }
            }
        }
        Response::Scene {
            seq,
            scene,
            analysis,
        } => {
            if seq < *client.shown.borrow() {
                return;
            }
            *client.shown.borrow_mut() = seq;
            let latency = latency(client, seq);
            let Some(first) = analysis else {
                show(state, *scene, latency, true);
                return;
            };
            // The drawing first; the model it was drawn from in a task of its own when it
            // takes a while to put together (a whole model, not a keystroke's patch). The
            // page's generation moves once both are in.
            show(state, *scene, latency, false);
            if first.patch.is_some() || first.isolation.len() <= SMALL_MODEL {
                assemble(client, state, Assembly::new(*first));
                state.generation.update(|g| *g += 1);
                return;
            }
            let client = client.clone();
            set_timeout(
                move || {
                    assemble(&client, state, Assembly::new(*first));
                    state.generation.update(|g| *g += 1);
                },
                std::time::Duration::from_millis(0),
            );
        }
        Response::Analysis { analysis, .. } => assemble(client, state, Assembly::new(*analysis)),
        Response::Part { id, part, .. } => {
            let mut slot = client.assembly.borrow_mut();
            let Some(assembly) = slot.as_mut().filter(|a| a.id() == id) else {
                return;
            };
            assembly.add(part);
            if assembly.complete() {
                if let Some(done) = slot.take() {
                    drop(slot);
                    apply(client, state, done);
                }
            }
        }
        Response::Lint { id, findings } => {
            let findings = crate::wire::unwire(&findings);
            if state.analysis_id.get_untracked() == id {
                state.lint.set(Arc::new(findings));
            } else {
                *client.lint.borrow_mut() = Some((id, findings));
            }
        }
        Response::TooLarge { seq, message } => {
            if seq >= *client.shown.borrow() {
                *client.shown.borrow_mut() = seq;
                state.status.set(Status::TooLarge(message));
                state.generation.update(|g| *g += 1);
            }
        }
    }
}

/// Asks the worker for the current analysis and scene whole (what it sent could not be
/// put together with what the page has).
fn ask_again(client: &Rc<Client>, state: GraphState) {
    *client.resend.borrow_mut() = true;
    let texts = client.texts.borrow().clone();
    let view = client.last.borrow().clone();
    if let (Some(texts), Some(view)) = (texts, view) {
        send(client, state, texts, view);
    }
}

/// Milliseconds since request `seq` was sent; forgets it and older ones.
fn latency(client: &Client, seq: u64) -> f64 {
    let mut sent = client.sent_at.borrow_mut();
    let at = sent.iter().find(|(s, _)| *s == seq).map(|(_, t)| *t);
    sent.retain(|(s, _)| *s > seq);
    at.map_or(0.0, |t| browser::now_ms() - t)
}

/// The first part of an analysis: applied if it is all, else kept for its parts.
fn assemble(client: &Rc<Client>, state: GraphState, assembly: Assembly) {
    if assembly.complete() {
        apply(client, state, assembly);
    } else {
        *client.assembly.borrow_mut() = Some(assembly);
    }
}

/// A complete analysis onto the page, with its lint findings if they came first (small
/// inputs). Otherwise the previous findings are cleared until this analysis's arrive (big
/// inputs, once the worker is idle): findings of another text would point at lines that
/// say something else now.
fn apply(client: &Rc<Client>, state: GraphState, assembly: Assembly) {
    let id = assembly.id();
    let base = state.analysis.get_untracked();
    let base_id = state.analysis_id.get_untracked();
    let Some(analysis) = assembly.finish(Some((base_id, &base))) else {
        // A patch of an analysis the page does not have: ask for the whole one.
        ask_again(client, state);
        return;
    };
    state.analysis.set(Arc::new(analysis));
    state.analysis_id.set(id);
    let mine = {
        let mut pending = client.lint.borrow_mut();
        // Findings of a newer analysis stay pending for it.
        if pending.as_ref().is_some_and(|(l, _)| *l == id) {
            pending.take()
        } else {
            None
        }
    };
    match mine {
        Some((_, findings)) => state.lint.set(Arc::new(findings)),
        None => state.lint.set(Arc::new(Vec::new())),
    }
}

/// A scene onto the page: its graph, layout and overlay go to their own signals; `bump`:
/// the page's generation moves now (else once the analysis is in).
fn show(state: GraphState, mut scene: crate::scene::Scene, latency: f64, bump: bool) {
    // Parts the worker left out are the ones the page has: their signals stay as they
    // are, so nothing that reads them is redrawn.
    let kept = scene.kept;
    crate::scene::Sent::restore_routes(&mut scene, state.scene.get_untracked().as_deref());
    if !kept.graph {
        let mut graph = std::mem::take(&mut scene.graph);
        graph.index_edges();
        state.graph.set(Arc::new(graph));
    }
    if !kept.layout {
        state
            .layout
            .set(Arc::new(std::mem::take(&mut scene.layout)));
    }
    if !kept.exposure {
        state.exposure.set(scene.exposure.take().map(Arc::new));
    }
    let changes = scene.changes.clone().filter(|c| !c.is_empty());
    state.scene.set(Some(Arc::new(scene)));
    state.status.set(Status::Ready);
    state.latency_ms.set(latency);
    if bump {
        state.generation.update(|g| *g += 1);
    }
    if let Some(changes) = changes {
        state.flash(changes);
    }
}
