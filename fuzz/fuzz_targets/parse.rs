//! Any text through the whole core: load (parse + build), per-flow evaluation and the bitset
//! engine. The property is "no panic, no hang"; correctness is the test suites' job.
#![no_main]

use libfuzzer_sys::fuzz_target;
use netpol_core::{evaluate, load, Endpoint, Engine, FileId, Flow, PortRef, Protocol};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // the same text twice as two sources also exercises the duplicate checks of build()
    let model = load(&[(FileId(0), &text), (FileId(1), &text)]);
    let pods = model.cluster.pods.len();
    let mut flows = vec![Flow {
        src: Endpoint::Address("10.0.0.1".parse().unwrap()),
        dst: Endpoint::Address("fd00::1".parse().unwrap()),
        protocol: Protocol::UDP,
        port: 53,
    }];
    if pods > 0 {
        flows.push(Flow {
            src: Endpoint::Pod(0),
            dst: Endpoint::Pod(pods - 1),
            protocol: Protocol::TCP,
            port: 80,
        });
        flows.push(Flow {
            src: Endpoint::Address("10.1.2.3".parse().unwrap()),
            dst: Endpoint::Pod(pods / 2),
            protocol: Protocol::SCTP,
            port: 65535,
        });
    }
    for flow in &flows {
        let _ = evaluate(&model, flow);
    }
    let engine = Engine::new(&model);
    let _ = engine.matrix(Protocol::TCP, &PortRef::Number(80));
    let _ = engine.matrix(Protocol::UDP, &PortRef::Name("dns".into()));
    if pods > 0 {
        let _ = engine.allowed_ports(Endpoint::Pod(0), Endpoint::Pod(pods - 1));
    }
});
