#!/usr/bin/env bash
# The main job: installs what the playground build needs, builds it and serves it locally.
#   scripts/serve.sh [PORT]     (default 8080)
set -euo pipefail
cd "$(dirname "$0")/.."
port="${1:-8080}"
scripts/setup.sh app
scripts/build-app.sh
printf '\n\033[1;32mnetpol playground: http://127.0.0.1:%s/\033[0m  (Ctrl-C to stop)\n\n' "$port"
exec python3 -m http.server "$port" --bind 127.0.0.1 --directory dist
