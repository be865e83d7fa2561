#!/usr/bin/env bash
# Installs what netpol's build and tests need on a fresh Debian machine, and nothing twice:
# each step checks first. Safe to run repeatedly.
#
#   scripts/setup.sh app   what the playground build needs (scripts/serve.sh): the Rust
#                          toolchain of rust-toolchain.toml with wasm32, trunk 0.21.14,
#                          wasm-bindgen-cli matching Cargo.lock, binaryen's wasm-opt (npm)
#   scripts/setup.sh       everything (scripts/test.sh): also the Debian packages the tests
#                          use (chromium, nftables, iproute2, netcat-openbsd, conntrack), Go
#                          for the tests' control plane (testenv/build.sh builds etcd and
#                          kube-apiserver from the Go module proxy; a Debian Go older than
#                          testenv/go/go.mod's fetches the right toolchain through the proxy
#                          by itself) and the e2e npm packages
#
# On a fresh 2-core machine the time goes into compiling trunk and wasm-bindgen-cli, so:
#   - trunk is built unoptimised (and without debug info): it only orchestrates (cargo,
#     wasm-bindgen and wasm-opt run as their own processes), and without its default
#     features (TLS and the update check: the build is offline). Measured CPU time: 456 s
#     with the cheap profile below, 249 s like this;
#   - wasm-bindgen-cli, which rewrites the 2 MB module, with a cheap profile (no LTO, 16
#     codegen units, opt-level 1, no debug info) instead of the release profile's fat LTO;
#   - the two installs, the apt install and the compilation of the playground's own
#     dependencies (the same `cargo build` trunk runs next, so it finds them done) run side
#     by side, each logging to target/setup/.
# Nothing is downloaded from outside the package registries (crates.io, npm, Debian).
set -euo pipefail
cd "$(dirname "$0")/.."

what="${1:-all}"
case "$what" in
  app | all) ;;
  *)
    echo "usage: scripts/setup.sh [app|all]" >&2
    exit 2
    ;;
esac

log() { printf '\033[1;34m[setup]\033[0m %s\n' "$*"; }

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
CARGO_BIN="${CARGO_HOME:-$HOME/.cargo}/bin"
export PATH="$CARGO_BIN:$PATH"
LOGS="target/setup"
mkdir -p "$LOGS"

# Background steps: name → pid; `finish` waits for all and shows the log of any that failed.
declare -A jobs=()
start() {
  local name="$1"
  shift
  log "$name (in the background, log: $LOGS/$name.log)"
  # The log ends with the step's wall-clock and CPU time (bash's `time`).
  { time "$@"; } >"$LOGS/$name.log" 2>&1 &
  jobs[$name]=$!
}
finish() {
  local failed=0 name
  for name in "${!jobs[@]}"; do
    if ! wait "${jobs[$name]}"; then
      printf '\033[1;31m[setup]\033[0m %s failed; the end of its log:\n' "$name" >&2
      tail -n 30 "$LOGS/$name.log" >&2
      failed=1
    fi
  done
  return "$failed"
}

apt_packages() {
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "$@"
}

# An unoptimised build without debug info: for tools that only start other programs.
debug_install() {
  CARGO_PROFILE_DEV_DEBUG=false CARGO_PROFILE_DEV_STRIP=true \
    CARGO_PROFILE_DEV_INCREMENTAL=false cargo install --quiet --debug "$@"
}

# A cheap optimised build: for tools that do real work at run time.
cheap_install() {
  CARGO_PROFILE_RELEASE_LTO=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \
    CARGO_PROFILE_RELEASE_OPT_LEVEL=1 CARGO_PROFILE_RELEASE_DEBUG=false \
    CARGO_PROFILE_RELEASE_STRIP=true CARGO_PROFILE_RELEASE_INCREMENTAL=false \
    cargo install --quiet "$@"
}

if [ "$what" = all ]; then
  need_pkgs=()
  command -v chromium >/dev/null 2>&1 || need_pkgs+=(chromium)
  command -v nft >/dev/null 2>&1 || need_pkgs+=(nftables)
  command -v ip >/dev/null 2>&1 || need_pkgs+=(iproute2)
  command -v nc >/dev/null 2>&1 || need_pkgs+=(netcat-openbsd)
  command -v conntrack >/dev/null 2>&1 || need_pkgs+=(conntrack)
  command -v go >/dev/null 2>&1 || need_pkgs+=(golang-go)
  if [ ${#need_pkgs[@]} -gt 0 ]; then
    start apt apt_packages "${need_pkgs[@]}"
  fi
fi

# rust-toolchain.toml pins the compiler with rustfmt, clippy and the wasm32 target; with no
# argument rustup installs exactly that, and does nothing (offline) when it is there already.
rustup toolchain install >/dev/null
if ! rustup target list --installed | grep -q '^wasm32-unknown-unknown$'; then
  log "adding the wasm32-unknown-unknown target"
  rustup target add wasm32-unknown-unknown
fi

installing=0
# trunk 0.22 needs a newer rustc than this toolchain; 0.21.14 builds with --locked.
if ! trunk --version 2>/dev/null | grep -q '0\.21\.14'; then
  start trunk debug_install trunk --version 0.21.14 --locked --no-default-features
  installing=1
fi
# wasm-bindgen-cli must match the wasm-bindgen crate in Cargo.lock exactly. Its own lock file
# pins a crate the registry mirror lacks, hence no --locked.
wbg=$(awk '/^name = "wasm-bindgen"$/ {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)
if [ -n "$wbg" ] && ! wasm-bindgen --version 2>/dev/null | grep -q " $wbg\$"; then
  start wasm-bindgen cheap_install wasm-bindgen-cli --version "$wbg"
  installing=1
fi
# While the tools compile, so do the playground's dependencies: the same command, profile
# and target trunk uses, so `trunk build` finds them compiled (and downloaded: trunk runs
# cargo offline).
if [ "$installing" = 1 ]; then
  start app-deps cargo build --quiet --target wasm32-unknown-unknown --profile wasm-release \
    --manifest-path app/Cargo.toml --bin netpol-app
fi

# binaryen's wasm-opt from the npm registry (Debian 12's binaryen 108 breaks the build).
if [ ! -x scripts/tools/node_modules/.bin/wasm-opt ] ||
  [ scripts/tools/package-lock.json -nt scripts/tools/node_modules ]; then
  log "installing wasm-opt (npm: binaryen)"
  (cd scripts/tools && npm ci --no-audit --no-fund --loglevel=error)
fi
if [ "$what" = all ] && [ -f e2e/package.json ]; then
  if [ ! -d e2e/node_modules ] || [ e2e/package-lock.json -nt e2e/node_modules ]; then
    log "installing e2e npm packages"
    (cd e2e && npm ci --no-audit --no-fund --loglevel=error)
  fi
fi

finish
log "ready"
