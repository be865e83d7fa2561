#!/usr/bin/env bash
# Runs every netpol test, installing what it needs first (scripts/setup.sh):
#   0. the tests' control plane: etcd and kube-apiserver built from k8s.io/kubernetes
#      (testenv/build.sh; about 10 minutes the first time, then cached by version)
#   1. formatting and clippy (warnings fail)
#   2. netpol-core built for wasm32-unknown-unknown (the playground's target)
#   3. all Rust tests: core unit + conformance + property tests, CLI tests on the real binary,
#      app logic, agent unit tests, the agent's packet-level proof in network namespaces (root),
#      its watch-path test against a fake API server, the agent in Kubernetes mode and the
#      CLI's --cluster against the real control plane (each test starts its own)
#   4. the release playground (trunk build --release) and its browser tests in real Chromium
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

stage() { printf '\n\033[1;34m==> %s\033[0m (%s)\n' "$*" "$(date +%T)"; }

stage "setup"
scripts/setup.sh

stage "test control plane (etcd, kube-apiserver)"
testenv/build.sh >/dev/null

stage "rustfmt and clippy"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

stage "netpol-core for wasm32"
cargo build -p netpol-core --target wasm32-unknown-unknown

stage "Rust tests (workspace)"
cargo test --workspace

stage "playground release build"
scripts/build-app.sh

stage "browser tests (Chromium)"
(cd e2e && node --test --test-concurrency=1 --test-reporter=spec)

stage "all tests passed"
