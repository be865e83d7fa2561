//! The Web Worker's shell around a [`Session`]: requests arrive as JSON text, answers
//! leave as JSON text. Between steps (parse, analysis, scene) it yields to its event loop,
//! so a request with newer texts that arrived meanwhile makes the rest of a stale
//! evaluation be dropped instead of finished. Only this module and the worker binary run
//! inside the worker; like `browser.rs` on the page, it is where browser APIs are touched.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use wasm_bindgen::prelude::*;
use wasm_bindgen::JsCast;
use web_sys::{DedicatedWorkerGlobalScope, MessageEvent};

use crate::session::Session;
use crate::wire::{Request, Response};

/// The worker's state: the session and the request waiting to run.
struct Shell {
    scope: DedicatedWorkerGlobalScope,
    session: RefCell<Session>,
    pending: RefCell<Option<Request>>,
    running: Cell<bool>,
    /// The analysis the page has last been sent.
    shipped: Cell<u64>,
    /// The analysis whose lint findings were last sent.
    linted: Cell<u64>,
    /// Milliseconds the last request took to read (for the benchmark's timings).
    decoded: Cell<f64>,
    /// Resolves the loop's current sleep early (a request arrived).
    wake: RefCell<Option<js_sys::Function>>,
    /// The engine alone, in milliseconds, on a model of `engine_pods` pods (`?bench` only).
    engine_ms: Cell<Option<f64>>,
    engine_pods: Cell<usize>,
}

/// Starts answering the page's messages.
pub fn start() {
    console_error_panic_hook::set_once();
    let scope: DedicatedWorkerGlobalScope = js_sys::global().unchecked_into();
    let shell = Rc::new(Shell {
        scope: scope.clone(),
        session: RefCell::new(Session::new()),
        pending: RefCell::new(None),
        running: Cell::new(false),
        shipped: Cell::new(0),
        linted: Cell::new(0),
        decoded: Cell::new(0.0),
        engine_ms: Cell::new(None),
        engine_pods: Cell::new(usize::MAX),
        wake: RefCell::new(None),
    });
    let onmessage = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
        let started = now();
        let Some(bytes) = crate::wire::bytes_of(&ev.data()) else {
            return;
        };
        if let Ok(request) = serde_json::from_slice::<Request>(&bytes) {
            shell.decoded.set(now() - started);
            receive(&shell, request);
        }
    });
    scope.set_onmessage(Some(onmessage.as_ref().unchecked_ref()));
    onmessage.forget();
    if let Ok(text) = serde_json::to_string(&Response::Ready) {
        let _ = scope.post_message(&JsValue::from_str(&text));
    }
}

/// Queues `request` (the newest wins; texts an older queued one carried are kept) and
/// starts the loop if it is idle.
fn receive(shell: &Rc<Shell>, mut request: Request) {
    if let Some(older) = shell.pending.borrow_mut().take() {
        if request.texts.is_none() {
            request.texts = older.texts;
        }
        request.resend |= older.resend;
    }
    *shell.pending.borrow_mut() = Some(request);
    // A loop waiting for a quiet moment answers now, not at the end of its step.
    if let Some(wake) = shell.wake.borrow_mut().take() {
        let _ = wake.call0(&JsValue::NULL);
    }
    if !shell.running.replace(true) {
        let shell = shell.clone();
        wasm_bindgen_futures::spawn_local(async move {
            run(&shell).await;
            shell.running.set(false);
        });
    }
}

/// Whether a queued request brings new texts (then the current evaluation is stale).
fn superseded(shell: &Shell) -> bool {
    shell
        .pending
        .borrow()
        .as_ref()
        .is_some_and(|p| p.texts.is_some())
}

async fn run(shell: &Rc<Shell>) {
    loop {
        let Some(request) = shell.pending.borrow_mut().take() else {
            return;
        };
        if request.resend {
            shell.session.borrow_mut().forget_sent();
            shell.shipped.set(0);
        }
        let mut timings = vec![("decode".to_string(), shell.decoded.get())];
        if let Some(texts) = request.texts.filter(|t| shell.session.borrow().is_new(t)) {
            let started = now();
            let parsed = shell.session.borrow_mut().parse(&texts);
            timings.push(("parse".to_string(), now() - started));
            let model = match parsed {
                Ok(model) => model,
                Err(message) => {
                    post(
                        shell,
                        &Response::TooLarge {
                            seq: request.seq,
                            message,
                        },
                    );
                    continue;
                }
            };
            yield_now(shell).await;
            if superseded(shell) {
                continue;
            }
            let started = now();
            shell.session.borrow_mut().analyse(texts, model);
            timings.push(("analysis".to_string(), now() - started));
            yield_now(shell).await;
            if superseded(shell) {
                continue;
            }
            lint_small(shell);
        }
        if let Some(ms) = shell.engine_ms.get() {
            timings.push(("engine".to_string(), ms));
        }
        let Some(id) = answer(shell, request.seq, &request.view, timings) else {
            continue;
        };
        // `?bench`: the engine alone, once per size of model (a paste, not each keystroke:
        // three more engines per edit would be most of the latency the benchmark measures),
        // after the scene is out; reported with the scenes that follow.
        let pods = shell.session.borrow().pods();
        if request.view.bench && shell.engine_pods.replace(pods) != pods {
            shell.engine_ms.set(shell.session.borrow().time_engine(now));
        }
        // The model follows the scene, after a turn: a newer edit that came in meanwhile
        // makes it moot (the page waits for the next one).
        yield_now(shell).await;
        if id != shell.shipped.get() && !superseded(shell) {
            ship(shell, request.seq, id);
        }
        // Lint once the page has been quiet a moment: it can take a second on a thousand
        // pods, and the next keystroke must not wait behind it.
        if shell.linted.get() != id {
            // Waited in short steps: a request arriving meanwhile is answered at once, not
            // after the whole quiet time.
            let mut waited = 0;
            while waited < LINT_IDLE_MS && shell.pending.borrow().is_none() {
                sleep(shell, LINT_STEP_MS).await;
                waited += LINT_STEP_MS;
            }
            if shell.pending.borrow().is_none() {
                if let Some((id, findings)) = shell.session.borrow().lint() {
                    shell.linted.set(id);
                    post(shell, &Response::Lint { id, findings });
                }
            }
        }
    }
}

/// Lint of a small input goes out before its scene, so the Problems list changes with the
/// graph (a few milliseconds); a big input's waits for a quiet moment (see `run`).
fn lint_small(shell: &Shell) {
    let session = shell.session.borrow();
    if !session.lint_is_quick() {
        return;
    }
    if let Some((id, findings)) = session.lint() {
        shell.linted.set(id);
        post(shell, &Response::Lint { id, findings });
    }
}

/// Quiet time before lint runs.
const LINT_IDLE_MS: i32 = 400;
/// Steps of the quiet time (a request arriving ends a step at once).
const LINT_STEP_MS: i32 = 20;

/// The scene, posted at once (with its analysis when that is new and small enough to
/// read in one go, so the page updates both together); the analysis it was drawn from.
fn answer(
    shell: &Shell,
    seq: u64,
    view: &crate::wire::ViewRequest,
    mut timings: Vec<(String, f64)>,
) -> Option<u64> {
    let started = now();
    let scene = shell.session.borrow_mut().scene(view)?;
    let mut scene = shell.session.borrow_mut().outgoing(scene);
    timings.push(("scene".to_string(), now() - started));
    let id = scene.analysis;
    let with = (id != shell.shipped.get() && shell.session.borrow().small())
        .then(|| shell.session.borrow_mut().ship())
        .flatten();
    if with.is_some() {
        shell.shipped.set(id);
    }
    scene.timings = timings;
    let (analysis, parts) = match with {
        Some((first, parts)) => (Some(Box::new(first)), parts),
        None => (None, Vec::new()),
    };
    post(
        shell,
        &Response::Scene {
            seq,
            scene: Box::new(scene),
            analysis,
        },
    );
    for part in parts {
        post(shell, &Response::Part { seq, id, part });
    }
    Some(id)
}

/// The analysis `id` in parts (its first part carries the lint findings).
fn ship(shell: &Shell, seq: u64, id: u64) {
    let Some((first, parts)) = shell.session.borrow_mut().ship() else {
        return;
    };
    shell.shipped.set(id);
    post(
        shell,
        &Response::Analysis {
            seq,
            analysis: Box::new(first),
        },
    );
    for part in parts {
        post(shell, &Response::Part { seq, id, part });
    }
}

fn post(shell: &Shell, response: &Response) {
    if let Some((message, transfer)) = crate::wire::message_of(response) {
        let _ = shell.scope.post_message_with_transfer(&message, &transfer);
    }
}

/// Lets queued messages in: resolves on the next turn of the worker's event loop.
async fn yield_now(shell: &Shell) {
    sleep(shell, 0).await;
}

/// Resolves after `ms` milliseconds, or as soon as a request arrives (see `receive`).
async fn sleep(shell: &Shell, ms: i32) {
    let scope = shell.scope.clone();
    let promise = js_sys::Promise::new(&mut |resolve, _| {
        let _ = scope.set_timeout_with_callback_and_timeout_and_arguments_0(&resolve, ms);
        *shell.wake.borrow_mut() = Some(resolve);
    });
    let _ = wasm_bindgen_futures::JsFuture::from(promise).await;
    shell.wake.borrow_mut().take();
}

/// Milliseconds of the worker's clock.
fn now() -> f64 {
    js_sys::global()
        .unchecked_into::<web_sys::WorkerGlobalScope>()
        .performance()
        .map(|p| p.now())
        .unwrap_or(0.0)
}
