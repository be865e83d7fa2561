#!/usr/bin/env bash
# Builds the playground's release dist/ (relative URLs: it works from any static host and
# any sub-path). Offline: Trunk uses the locally installed wasm-bindgen and wasm-opt.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$HOME/.cargo/bin:$PATH"
trunk build --release --public-url ./
