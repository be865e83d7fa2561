#[test]
fn perf_tmp() {
    let text = std::fs::read_to_string("/tmp/gen1000.yaml").unwrap();
    let t = std::time::Instant::now();
    let a = netpol_app::analysis::Analysis::new(&text, "");
    eprintln!("analysis {:?} pods {} classes {}", t.elapsed(), a.model.cluster.pods.len(), a.classes.len());
    let t = std::time::Instant::now();
    let e = netpol_core::Engine::new(&a.model);
    eprintln!("engine {:?}", t.elapsed());
    let t = std::time::Instant::now();
    let _ = e.matrix(netpol_core::Protocol::TCP, &netpol_core::PortRef::Number(80));
    eprintln!("one matrix {:?}", t.elapsed());
    let t = std::time::Instant::now();
    for c in &a.classes { for i in 0..a.model.cluster.pods.len() { let _ = e.allowed_ports(netpol_core::Endpoint::Pod(i), netpol_core::Endpoint::Address(c.representative)); } }
    eprintln!("addr allowed_ports x{} {:?}", a.classes.len()*a.model.cluster.pods.len(), t.elapsed());
    let t = std::time::Instant::now();
    let g = netpol_app::connectivity::build(&a, &netpol_app::probe::Probe::Any, false, &Default::default());
    eprintln!("graph {:?} nodes {} edges {}", t.elapsed(), g.nodes.len(), g.edges.len());
}
