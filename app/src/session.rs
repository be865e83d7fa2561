//! The worker's side: the texts it was given, a parse cache per editor, the analysis, and
//! the last graph of each view (for "what changed"). Plain Rust in steps, so the worker
//! shell can yield between them (and drop a step a newer request made stale) and native
//! tests can drive it without a browser.

use std::sync::Arc;

use netpol_core::Model;

use crate::analysis::{Analysis, Caches};
use crate::components::ctx::lint_findings;
use crate::scene::{self, Previous, Scene};
use crate::wire::{
    self, Part, Patch, Response, Shipped, ViewRequest, PODS_PER_PART, POLICIES_PER_PART,
};

/// Largest input the page evaluates, in bytes of text (both editors).
pub const MAX_TEXT: usize = 24 << 20;
/// Most endpoints the page evaluates.
pub const MAX_PODS: usize = 12_000;
/// Most policies the page evaluates.
pub const MAX_POLICIES: usize = 8_000;
/// Above this many endpoints lint is left to the CLI: its checks over every pair of
/// policies and pods take tens of seconds on ten thousand pods, and the worker would be
/// busy with them instead of the next edit.
pub const LINT_MAX_PODS: usize = 2_000;

/// Most endpoints and policies whose lint runs before the scene is sent (200 endpoints
/// and 100 policies lint in about 6 ms natively).
pub const QUICK_LINT_PODS: usize = 300;
/// See [`QUICK_LINT_PODS`].
pub const QUICK_LINT_POLICIES: usize = 150;

/// What the worker keeps between requests.
#[derive(Default)]
pub struct Session {
    caches: Caches,
    texts: Option<(String, String)>,
    analysis: Option<Arc<Analysis>>,
    id: u64,
    previous: Option<Previous>,
    /// The analysis the page was last sent, and its texts: the next one crosses as a patch
    /// of it.
    shipped: Option<(u64, Arc<Analysis>, (String, String))>,
    /// The parts of the last scene sent (the next leaves out those that did not change).
    sent: scene::Sent,
}

/// The size guard's verdict on a text or a model.
pub fn too_large_text(policies: &str, cluster: &str) -> Option<String> {
    let bytes = policies.len() + cluster.len();
    (bytes > MAX_TEXT).then(|| {
        format!(
            "This input is {:.1} MB: the playground evaluates up to {} MB in the browser. \
             Run `netpol connectivity` on it from the command line, or paste one namespace at a time.",
            bytes as f64 / (1 << 20) as f64,
            MAX_TEXT >> 20
        )
    })
}

/// The size guard's verdict on a parsed model.
pub fn too_large_model(model: &Model) -> Option<String> {
    let (pods, policies) = (model.cluster.pods.len(), model.policies.len());
    (pods > MAX_PODS || policies > MAX_POLICIES).then(|| {
        format!(
            "This input has {} endpoints and {} policies: the playground evaluates up to {} \
             endpoints and {} policies in the browser. Run `netpol connectivity` or `netpol \
             matrix` on it from the command line, or paste one namespace at a time.",
            scene::thousands(pods),
            scene::thousands(policies),
            scene::thousands(MAX_PODS),
            scene::thousands(MAX_POLICIES)
        )
    })
}

impl Session {
    /// A session with nothing yet.
    pub fn new() -> Session {
        Session::default()
    }

    /// Whether `texts` differ from the last ones analysed.
    pub fn is_new(&self, texts: &(String, String)) -> bool {
        self.texts.as_ref() != Some(texts)
    }

    /// Step 1 of new texts: the model through the parse caches, or why not.
    pub fn parse(&mut self, texts: &(String, String)) -> Result<Model, String> {
        if let Some(message) = too_large_text(&texts.0, &texts.1) {
            return Err(message);
        }
        let model = Analysis::cached_model(&mut self.caches, &texts.0, &texts.1);
        match too_large_model(&model) {
            Some(message) => Err(message),
            None => Ok(model),
        }
    }

    /// Step 2: the analysis of a model (kept over a broken text, as the page did); the
    /// new analysis's id.
    pub fn analyse(&mut self, texts: (String, String), model: Model) -> u64 {
        let next = Analysis::from_model(model);
        let next = match &self.analysis {
            Some(prev) if prev.keeps_over(&next) => prev.stale_with(&next),
            _ => next,
        };
        self.id += 1;
        self.analysis = Some(Arc::new(next));
        self.texts = Some(texts);
        self.id
    }

    /// Step 3: the scene of `view` over the current analysis.
    pub fn scene(&mut self, view: &ViewRequest) -> Option<Scene> {
        let analysis = self.analysis.clone()?;
        Some(scene::build(&analysis, self.id, view, &mut self.previous))
    }

    /// The engine alone (`Engine::new` and `connectivity()`) on the current model: the
    /// fastest of three runs of `clock`'s milliseconds, for the benchmark.
    pub fn time_engine(&self, clock: impl Fn() -> f64) -> Option<f64> {
        let a = self.analysis.as_ref()?;
        (0..3)
            .map(|_| {
                let started = clock();
                let engine = netpol_core::Engine::new(&a.model);
                let connectivity = engine.connectivity();
                let ms = clock() - started;
                drop(connectivity);
                ms
            })
            .reduce(f64::min)
    }

    /// Pods of the current analysis (0 without one).
    pub fn pods(&self) -> usize {
        self.analysis
            .as_ref()
            .map_or(0, |a| a.model.cluster.pods.len())
    }

    /// Whether the current analysis crosses to the page in one message with its scene.
    pub fn small(&self) -> bool {
        self.analysis.as_ref().is_some_and(|a| {
            a.model.cluster.pods.len() <= PODS_PER_PART
                && a.model.policies.len() <= POLICIES_PER_PART
        })
    }

    /// Step 4: the current analysis as it crosses to the page: as a patch of the one it was
    /// sent before when little changed (a keystroke), else whole, in parts.
    pub fn ship(&mut self) -> Option<(Shipped, Vec<Part>)> {
        let a = self.analysis.clone()?;
        let texts = self.texts.clone().unwrap_or_default();
        let model = &a.model;
        let patch = self
            .shipped
            .as_ref()
            .and_then(|(id, base, old)| Patch::make(*id, &base.model, old, model, &texts));
        let mut parts = if patch.is_some() {
            Vec::new()
        } else {
            parts(model)
        };
        let first = if parts.is_empty() {
            Part::default()
        } else {
            parts.remove(0)
        };
        let shipped = Shipped {
            id: self.id,
            classes: a.classes.clone(),
            isolation: a.isolation.clone(),
            stale: a.stale,
            diagnostics: wire::wire(&model.diagnostics),
            namespaces: model.cluster.namespaces.clone(),
            services: model.cluster.services.clone(),
            ignored: model.cluster.ignored.clone(),
            nodes: model.cluster.nodes.clone(),
            cluster_policies: model.cluster_policies.clone(),
            first,
            patch,
            parts: parts.len(),
        };
        self.shipped = Some((self.id, a, texts));
        Some((shipped, parts))
    }

    /// The scene as it crosses: without the parts the page has from the last one sent.
    pub fn outgoing(&mut self, mut scene: Scene) -> Scene {
        self.sent.delta(&mut scene);
        scene
    }

    /// The page lost track (it asks again): the next analysis and scene cross whole.
    pub fn forget_sent(&mut self) {
        self.shipped = None;
        self.sent = scene::Sent::default();
    }

    /// Whether lint of the current analysis takes only milliseconds (then it goes out with
    /// its scene).
    pub fn lint_is_quick(&self) -> bool {
        self.analysis.as_ref().is_some_and(|a| {
            a.model.cluster.pods.len() <= QUICK_LINT_PODS
                && a.model.policies.len() <= QUICK_LINT_POLICIES
        })
    }

    /// Step 5: lint findings of the current analysis, and its id.
    pub fn lint(&self) -> Option<(u64, Vec<wire::WireDiagnostic>)> {
        let a = self.analysis.as_ref()?;
        Some((self.id, wire::wire(&lint(a))))
    }

    /// Everything for one request, without yielding: what the worker sends, in order.
    /// (The worker shell runs the same steps with yields between them.)
    pub fn answer(
        &mut self,
        seq: u64,
        texts: Option<(String, String)>,
        view: &ViewRequest,
    ) -> Vec<Response> {
        let mut fresh = false;
        if let Some(texts) = texts.filter(|t| self.is_new(t)) {
            match self.parse(&texts) {
                Ok(model) => {
                    self.analyse(texts, model);
                    fresh = true;
                }
                Err(message) => return vec![Response::TooLarge { seq, message }],
            }
        }
        let Some(scene) = self.scene(view) else {
            return Vec::new();
        };
        let scene = self.outgoing(scene);
        let (analysis, parts) = match fresh.then(|| self.ship()).flatten() {
            Some((shipped, parts)) => (Some(Box::new(shipped)), parts),
            None => (None, Vec::new()),
        };
        let id = self.id;
        let mut out = vec![Response::Scene {
            seq,
            scene: Box::new(scene),
            analysis,
        }];
        out.extend(
            parts
                .into_iter()
                .map(|part| Response::Part { seq, id, part }),
        );
        if fresh {
            if let Some((id, findings)) = self.lint() {
                out.push(Response::Lint { id, findings });
            }
        }
        out
    }
}

/// Lint findings, or one note saying why there are none (too big for the page).
fn lint(a: &Analysis) -> Vec<netpol_core::Diagnostic> {
    let pods = a.model.cluster.pods.len();
    if pods <= LINT_MAX_PODS {
        return lint_findings(a);
    }
    let message = format!(
        "lint was not run: {} endpoints exceed the playground's bound of {}",
        scene::thousands(pods),
        scene::thousands(LINT_MAX_PODS)
    );
    vec![
        netpol_core::Diagnostic::new("lint-skipped", netpol_core::Severity::Info, None, message)
            .with_help("run `netpol lint` on these files for every finding"),
    ]
}

/// The model's pods and policies in slices small enough to read in a few milliseconds.
fn parts(model: &Model) -> Vec<Part> {
    let pods = model.cluster.pods.chunks(PODS_PER_PART);
    let policies = model.policies.chunks(POLICIES_PER_PART);
    let count = pods.len().max(policies.len()).max(1);
    let mut pods = pods.map(<[_]>::to_vec);
    let mut policies = policies.map(<[_]>::to_vec);
    (0..count)
        .map(|_| Part {
            pods: pods.next().unwrap_or_default(),
            policies: policies.next().unwrap_or_default(),
        })
        .collect()
}

/// The page's side of [`Session::ship`]: the parts put back together into an analysis.
#[derive(Debug)]
pub struct Assembly {
    shipped: Shipped,
    parts: Vec<Part>,
}

impl Assembly {
    /// Starts from the first message.
    pub fn new(shipped: Shipped) -> Assembly {
        Assembly {
            shipped,
            parts: Vec::new(),
        }
    }

    /// The analysis this assembles.
    pub fn id(&self) -> u64 {
        self.shipped.id
    }

    /// Adds a part; the analysis once every part is in.
    pub fn add(&mut self, part: Part) {
        self.parts.push(part);
    }

    /// Whether every part arrived.
    pub fn complete(&self) -> bool {
        self.parts.len() >= self.shipped.parts
    }

    /// The analysis (a patch needs the analysis it edits: `base`, with its id).
    pub fn finish(self, base: Option<(u64, &Analysis)>) -> Option<Analysis> {
        let Shipped {
            classes,
            isolation,
            stale,
            diagnostics,
            namespaces,
            services,
            ignored,
            nodes,
            cluster_policies,
            first,
            patch,
            ..
        } = self.shipped;
        let mut model = Model::default();
        match patch {
            Some(patch) => {
                let (_, base) = base.filter(|(id, _)| *id == patch.base)?;
                let (pods, policies) = patch.apply(&base.model)?;
                model.cluster.pods = pods;
                model.policies = policies;
            }
            None => {
                for part in std::iter::once(first).chain(self.parts) {
                    model.cluster.pods.extend(part.pods);
                    model.policies.extend(part.policies);
                }
            }
        }
        model.cluster.namespaces = namespaces;
        model.cluster.services = services;
        model.cluster.ignored = ignored;
        model.cluster.nodes = nodes;
        model.cluster_policies = cluster_policies;
        model.diagnostics = wire::unwire(&diagnostics);
        Some(Analysis::from_parts(model, classes, isolation, stale))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connectivity::GraphOptions;

    fn view() -> ViewRequest {
        ViewRequest {
            probe: "any".into(),
            options: GraphOptions::default(),
            exposure: false,
            epoch: 1,
            bench: false,
            focus: None,
        }
    }

    /// Through JSON, in parts, the page gets the worker's analysis and scene exactly.
    #[test]
    fn a_session_answers_with_a_scene_and_the_model_in_parts() {
        let text = netpol_core::generate::generate(2000, 300, 3);
        let mut session = Session::new();
        let answers = session.answer(1, Some((text.clone(), String::new())), &view());
        assert!(answers.len() > 1, "a 2,000-pod model comes in parts");
        let mut assembly = None;
        let mut scene = None;
        let mut lint = None;
        for answer in answers {
            let json = serde_json::to_string(&answer).unwrap();
            match serde_json::from_str::<Response>(&json).unwrap() {
                Response::Scene {
                    scene: s, analysis, ..
                } => {
                    scene = Some(s);
                    assembly = Some(Assembly::new(*analysis.unwrap()));
                }
                Response::Part { id, part, .. } => {
                    let a = assembly.as_mut().unwrap();
                    assert_eq!(a.id(), id);
                    a.add(part);
                }
                Response::Lint { id, findings } => {
                    assert_eq!(id, assembly.as_ref().unwrap().id());
                    lint = Some(wire::unwire(&findings));
                }
                Response::TooLarge { .. } | Response::Ready | Response::Analysis { .. } => {
                    panic!("a scene, parts and lint")
                }
            }
        }
        let assembly = assembly.unwrap();
        assert!(assembly.complete());
        let analysis = assembly.finish(None).unwrap();
        let lint = lint.expect("lint findings follow");
        let direct = Analysis::new(&text, "");
        assert_eq!(analysis.model, direct.model);
        assert_eq!(analysis.isolation, direct.isolation);
        assert_eq!(lint, lint_findings(&direct));
        assert_eq!(
            scene.unwrap().graph.nodes.len(),
            session.scene(&view()).unwrap().graph.nodes.len()
        );
        // The same texts again: a scene only, no new analysis.
        let again = session.answer(2, Some((text, String::new())), &view());
        assert_eq!(again.len(), 1);
        match &again[0] {
            Response::Scene {
                analysis, scene, ..
            } => {
                assert!(analysis.is_none());
                // The same analysis and view: the scene repeats what changed before it.
                assert!(scene.changes.is_none());
            }
            _ => panic!("a scene"),
        }
    }

    /// The first scene and analysis of `answers`, through JSON.
    fn scene_and_analysis(answers: Vec<Response>) -> (Scene, Option<Shipped>) {
        for answer in answers {
            let json = serde_json::to_string(&answer).unwrap();
            if let Response::Scene {
                scene, analysis, ..
            } = serde_json::from_str::<Response>(&json).unwrap()
            {
                return (*scene, analysis.map(|a| *a));
            }
        }
        panic!("no scene")
    }

    /// A keystroke crosses as a patch of the analysis the page has (positions after the
    /// edit moved, only the edited pod sent), and the page puts together exactly the new
    /// model; the parts of the scene that did not change are left out.
    #[test]
    fn a_keystroke_crosses_as_a_patch_and_what_did_not_change_stays_out() {
        // Pods first, then policies: every policy's position moves with the edit.
        let policies = String::new();
        let cluster = netpol_core::generate::generate(300, 40, 5);
        let mut session = Session::new();
        let (_, first) = scene_and_analysis(session.answer(
            1,
            Some((policies.clone(), cluster.clone())),
            &view(),
        ));
        let first = first.unwrap();
        assert!(first.patch.is_none(), "the first analysis crosses whole");
        let page = Assembly::new(first).finish(None).unwrap();
        // One label value longer, early in the text: every later position moves.
        let at = cluster.find("app: ").expect("a label") + "app: ".len();
        let mut edited = cluster.clone();
        edited.insert(at, 'x');
        let (_, second) = scene_and_analysis(session.answer(
            2,
            Some((policies.clone(), edited.clone())),
            &view(),
        ));
        let second = second.unwrap();
        let patch = second.patch.clone().expect("a patch");
        assert!(patch.changed_pods.len() < 5, "{}", patch.changed_pods.len());
        assert!(patch.changed_policies.is_empty());
        assert!(
            Assembly::new(second.clone()).finish(None).is_none(),
            "needs its base"
        );
        let next = Assembly::new(second).finish(Some((1, &page))).unwrap();
        assert_eq!(next.model, Analysis::new(&policies, &edited).model);
        // The same texts and view again: nothing of the drawing crosses.
        let (again, none) =
            scene_and_analysis(session.answer(3, Some((policies.clone(), edited)), &view()));
        assert!(none.is_none());
        assert!(again.kept.graph && again.kept.layout && again.kept.routes && again.kept.exposure);
        assert!(again.graph.nodes.is_empty() && again.routes.is_empty());
        // The page lost track: everything crosses whole again.
        session.forget_sent();
        let (whole, _) = scene_and_analysis(session.answer(4, None, &view()));
        assert!(!whole.kept.graph && !whole.graph.nodes.is_empty());
    }

    #[test]
    fn the_size_guard_speaks_before_anything_freezes() {
        let pods: String = (0..MAX_PODS + 1)
            .map(|i| format!("pod ns{}/p{i}\n", i % 50))
            .collect();
        let mut session = Session::new();
        let answers = session.answer(1, Some((String::new(), pods)), &view());
        match &answers[..] {
            [Response::TooLarge { message, .. }] => {
                assert!(message.contains("12,001 endpoints"), "{message}");
                assert!(message.contains("netpol connectivity"));
            }
            other => panic!("{other:?}"),
        }
        assert!(too_large_text(&"x".repeat(MAX_TEXT), "y").is_some());
    }
}
