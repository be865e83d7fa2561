#!/usr/bin/env bash
# Builds the playground's release dist/ (relative URLs: it works from any static host and
# any sub-path). Offline: Trunk uses the locally installed wasm-bindgen, and the wasm-opt of
# the npm registry's binaryen in scripts/tools (scripts/setup.sh installs both).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/scripts/tools/node_modules/.bin:$HOME/.cargo/bin:$PATH"
trunk build --release --public-url ./
