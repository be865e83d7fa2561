#!/usr/bin/env bash
# Installs everything netpol's build and tests need on a fresh Debian machine, and nothing
# twice: each step checks first. Safe to run repeatedly.
#   - Debian packages: chromium (browser tests), binaryen (wasm-opt), nftables, iproute2,
#     netcat-openbsd, conntrack (agent tests)
#   - the Rust toolchain of rust-toolchain.toml (with the wasm32 target), trunk 0.21.14,
#     wasm-bindgen-cli matching Cargo.lock
#   - the e2e test's npm packages
#   - Go, for the tests' control plane (testenv/build.sh builds etcd and kube-apiserver from
#     the Go module proxy; a Debian Go older than testenv/go/go.mod's fetches the right
#     toolchain through the proxy by itself)
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi

need_pkgs=()
command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
command -v wasm-opt >/dev/null 2>&1 || need_pkgs+=(binaryen)
command -v nft >/dev/null 2>&1 || need_pkgs+=(nftables)
command -v ip >/dev/null 2>&1 || need_pkgs+=(iproute2)
command -v nc >/dev/null 2>&1 || need_pkgs+=(netcat-openbsd)
command -v conntrack >/dev/null 2>&1 || need_pkgs+=(conntrack)
command -v go >/dev/null 2>&1 || need_pkgs+=(golang-go)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing Debian packages: ${need_pkgs[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_pkgs[@]}" >/dev/null
fi

export PATH="$HOME/.cargo/bin:$PATH"

# rust-toolchain.toml pins the compiler with rustfmt, clippy and the wasm32 target; with no
# argument rustup installs exactly that, and does nothing (offline) when it is there already.
rustup toolchain install >/dev/null

if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

# trunk 0.22 needs a newer rustc than this toolchain; 0.21.14 builds with --locked.
if ! trunk --version 2>/dev/null | grep -q '0\.21\.14'; then
  log "installing trunk 0.21.14 (about 4 minutes)"
  cargo install trunk --version 0.21.14 --locked --quiet
fi

# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly. Its own lock file
# pins a crate the registry mirror lacks, hence no --locked.
wbg=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
if [ -n "$wbg" ] && ! wasm-bindgen --version 2>/dev/null | grep -q " $wbg\$"; then
  log "installing wasm-bindgen-cli $wbg (about 3 minutes)"
  cargo install wasm-bindgen-cli --version "$wbg" --quiet
fi

if [ -f e2e/package.json ]; then
  if [ ! -d e2e/node_modules ] || [ e2e/package-lock.json -nt e2e/node_modules ]; then
    log "installing e2e npm packages"
    (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi
log "ready"
