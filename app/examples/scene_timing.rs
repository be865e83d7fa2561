//! Native release timing of what the worker does per edit (parse through the caches,
//! analysis, scene) and of what crosses to the page, on generated clusters.
//!
//! `cargo run -p netpol-app --release --example scene_timing [pods policies]...`

use std::time::Instant;

use netpol_app::analysis::{Analysis, Caches};
use netpol_app::connectivity::GraphOptions;
use netpol_app::scene;
use netpol_app::wire::ViewRequest;

fn ms(t: Instant) -> f64 {
    t.elapsed().as_secs_f64() * 1000.0
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let sizes: Vec<(usize, usize)> = if args.len() >= 2 {
        args.chunks(2).map(|c| (c[0], c[1])).collect()
    } else {
        vec![(200, 100), (1000, 500), (10_000, 5_000)]
    };
    for (pods, policies) in sizes {
        let text = netpol_core::generate::generate(pods, policies, 1);
        let mut caches = Caches::default();
        let t = Instant::now();
        let model = Analysis::cached_model(&mut caches, &text, "");
        let parse = ms(t);
        let t = Instant::now();
        let a = Analysis::from_model(model);
        let analysis = ms(t);
        let request = ViewRequest {
            probe: "any".into(),
            options: GraphOptions::default(),
            exposure: false,
            epoch: 0,
            bench: false,
            focus: None,
        };
        let mut previous = None;
        let t = Instant::now();
        let s = scene::build(&a, 1, &request, &mut previous);
        let scene_ms = ms(t);
        let t = Instant::now();
        let json = serde_json::to_string(&s).unwrap();
        let ser = ms(t);
        let t = Instant::now();
        let _back: scene::Scene = serde_json::from_str(&json).unwrap();
        let de = ms(t);
        let t = Instant::now();
        let model_json = serde_json::to_string(&a.model.cluster.pods).unwrap();
        let pol_json = serde_json::to_string(&a.model.policies).unwrap();
        let mser = ms(t);
        // one keystroke: a label value changes
        let edited = text.replacen("tier: web", "tier: db", 1);
        let t = Instant::now();
        let model = Analysis::cached_model(&mut caches, &edited, "");
        let reparse = ms(t);
        let t = Instant::now();
        let a2 = Analysis::from_model(model);
        let analysis2 = ms(t);
        let t = Instant::now();
        let s2 = scene::build(&a2, 2, &request, &mut previous);
        let scene2 = ms(t);
        println!(
            "{pods}/{policies}: parse {parse:.0} ms, analysis {analysis:.0} ms, scene {scene_ms:.0} ms ({} nodes, {} edges drawn of {}, hidden open {}, {:?}); scene json {} KB ser {ser:.0} de {de:.0} ms; model json {} KB pods + {} KB policies ({mser:.0} ms)",
            s.graph.nodes.len(), s.drawn, s.graph.edges.len(), s.graph.hidden_open, s.renderer,
            json.len() / 1024, model_json.len() / 1024, pol_json.len() / 1024,
        );
        // (`NO_LINT=1`: lint of 10,000 pods takes seconds and hides the rest in a profile.)
        if std::env::var_os("NO_LINT").is_none() {
            let t = Instant::now();
            let findings = netpol_app::components::ctx::lint_findings(&a2);
            println!("   lint {:.0} ms ({} findings)", ms(t), findings.len());
        }
        println!(
            "   keystroke: reparse {reparse:.0} ms, analysis {analysis2:.0} ms, scene {scene2:.0} ms, changes {:?}",
            s2.changes.as_ref().map(|c| (c.opened_total, c.closed_total))
        );
    }
}
