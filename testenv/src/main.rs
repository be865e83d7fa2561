//! `netpol-testenv`: the tests' control plane by hand, to try `netpol ... --cluster` or the
//! agent's Kubernetes mode against it.
//!
//! ```text
//! cargo run -p netpol-testenv            # etcd + kube-apiserver, admin kubeconfig printed
//! cargo run -p netpol-testenv -- --crds  # also the policy-tier CRDs
//! ```
//!
//! Stops (and removes everything) on Ctrl-C.

fn main() {
    let crds = std::env::args().skip(1).any(|a| a == "--crds");
    let start = std::time::Instant::now();
    let cp = netpol_testenv::ControlPlane::start();
    let ready = start.elapsed();
    if crds {
        for name in cp.install_tier_crds() {
            eprintln!("installed CRD {name}");
        }
    }
    println!(
        "kube-apiserver {} at {} (ready after {ready:.1?})\nexport KUBECONFIG={}\n(Ctrl-C stops it)",
        netpol_testenv::kubernetes_version(),
        cp.server(),
        cp.admin_kubeconfig().display()
    );
    if let Err(e) = cp.block_on(tokio::signal::ctrl_c()) {
        eprintln!("cannot wait for Ctrl-C: {e}");
    }
}
