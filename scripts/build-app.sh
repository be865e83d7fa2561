#!/usr/bin/env bash
# Builds the playground's release dist/ (relative URLs: it works from any static host and
# any sub-path). Trunk runs offline (it never downloads a tool, and runs cargo --offline):
# the crates are fetched here first (a no-op when they are there), wasm-bindgen comes from
# scripts/setup.sh, wasm-opt from the npm registry's binaryen in scripts/tools.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/scripts/tools/node_modules/.bin:${CARGO_HOME:-$HOME/.cargo}/bin:$PATH"
cargo fetch --locked --quiet --manifest-path app/Cargo.toml --target wasm32-unknown-unknown
trunk build --release --public-url ./
