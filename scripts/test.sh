#!/usr/bin/env bash
# Runs every netpol test, installing what it needs first (scripts/setup.sh):
#   0. the tests' control plane: etcd and kube-apiserver built from k8s.io/kubernetes
#      (testenv/build.sh; about 11 minutes the first time, in the background while 1-3
#      compile, then cached by version)
#   1. formatting and clippy (warnings fail)
#   2. netpol-core built for wasm32-unknown-unknown (the playground's target)
#   3. all Rust tests: core unit + conformance + property tests, CLI tests on the real binary,
#      app logic, agent unit tests, the agent's packet-level proofs in network namespaces
#      (root: kernel, upstream and hand-made scenarios, fault injection), its watch-path
#      tests against fake API servers, the agent in Kubernetes mode and the CLI's --cluster
#      against the real control plane (each test starts its own)
#   4. the release playground (trunk build --release) and its browser tests in real Chromium
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"

stage() { printf '\n\033[1;34m==> %s\033[0m (%s)\n' "$*" "$(date +%T)"; }

stage "setup"
scripts/setup.sh

# The tests' control plane builds in the background (the first time: about 11 minutes of
# module downloads and Go compilation; then a cache lookup) while clippy and the Rust builds
# run; the Rust tests, once compiled, wait for it. If a step below fails first, the build
# still finishes by itself and is cached for the next run.
stage "test control plane (etcd, kube-apiserver), in the background"
controlplane_log=$(mktemp)
testenv/build.sh >/dev/null 2>"$controlplane_log" &
controlplane=$!

stage "rustfmt and clippy"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --quiet -- -D warnings

stage "netpol-core for wasm32"
cargo build -p netpol-core --target wasm32-unknown-unknown

stage "Rust tests (workspace)"
cargo test --workspace --no-run
if ! wait "$controlplane"; then
  cat "$controlplane_log" >&2
  echo "building the test control plane failed (testenv/build.sh, output above)" >&2
  exit 1
fi
cat "$controlplane_log" >&2
rm -f "$controlplane_log"
cargo test --workspace

stage "playground release build"
scripts/build-app.sh

stage "browser tests (Chromium)"
(cd e2e && node --test --test-concurrency=1 --test-reporter=spec)

stage "all tests passed"
