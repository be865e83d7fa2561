#!/usr/bin/env bash
# Builds the test control plane — etcd, kube-apiserver and the pki helper, from the Go
# module in testenv/go — once, into a cache directory keyed by the hash of that module
# (go.mod, go.sum and our few .go files), and prints the directory holding the binaries.
# A second call with the same module prints the same directory at once.
#
#   testenv/build.sh            -> $NETPOL_TESTENV_CACHE/<hash>/bin (default ~/.cache/netpol-testenv)
#
# Everything comes from the Go module proxy (GOPROXY); no prebuilt binary is downloaded.
# A Go older than go.mod's `go` line fetches the right toolchain through the proxy too.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
src="$here/go"
cache="${NETPOL_TESTENV_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/netpol-testenv}"
binaries=(etcd kube-apiserver pki)

log() { printf '\033[1;34m[testenv]\033[0m %s\n' "$*" >&2; }

# The key covers what decides the binaries: the module (go.sum pins every dependency), our
# .go files and this script's build command.
key=$( (cd "$src" && find . -type f \( -name '*.go' -o -name go.mod -o -name go.sum \) -print0 |
  LC_ALL=C sort -z | xargs -0 sha256sum; sha256sum < "$here/build.sh") | sha256sum | cut -c1-16)
bin="$cache/$key/bin"

complete() {
  for b in "${binaries[@]}"; do [ -x "$bin/$b" ] || return 1; done
}

if ! complete; then
  mkdir -p "$cache"
  # Test binaries running in parallel may all ask at once: one builds, the others wait.
  exec 9>"$cache/.lock"
  flock 9
  if ! complete; then
    command -v go >/dev/null || { log "go is not installed; scripts/setup.sh installs it"; exit 1; }
    version=$(sed -n 's#^\tk8s.io/kubernetes \(v[0-9.]*\)$#\1#p' "$src/go.mod")
    log "building etcd and kube-apiserver $version into $cache/$key (once; about 10 minutes)"
    tmp=$(mktemp -d "$cache/.build.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    start=$(date +%s)
    # The version variables a Kubernetes release build sets, so /version tells the truth.
    minor=$(echo "$version" | cut -d. -f2)
    stamp="-X k8s.io/component-base/version.gitVersion=$version"
    stamp="$stamp -X k8s.io/component-base/version.gitMajor=1"
    stamp="$stamp -X k8s.io/component-base/version.gitMinor=$minor"
    stamp="$stamp -X k8s.io/component-base/version.gitTreeState=clean"
    (cd "$src" && CGO_ENABLED=0 GOFLAGS="-mod=readonly -buildvcs=false" \
      go build -trimpath -ldflags="-s $stamp" -o "$tmp/" ./etcd ./kube-apiserver ./pki)
    rm -rf "${cache:?}/$key"
    mkdir -p "$cache/$key"
    chmod 755 "$tmp"
    mv "$tmp" "$bin"
    trap - EXIT
    log "built in $(( $(date +%s) - start )) s"
  fi
fi
echo "$bin"
