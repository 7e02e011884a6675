#!/usr/bin/env bash
# Regenerates tools/k8s/go.mod for the K8S version in tools/versions.env: k8s.io/kubernetes requires its staging
# modules at v0.0.0 and replaces them with local paths that do not apply to dependents, so each one is pinned to the
# published release of the same minor. The list comes from the real go.mod of that version. Then run
# `cd tools/k8s && GOWORK=off go mod tidy` and commit go.mod and go.sum.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=../tools/versions.env
. "$ROOT/tools/versions.env"
MOD=$(GOFLAGS= go mod download -json "k8s.io/kubernetes@$K8S" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
STAGING=$(grep -E '^\s+k8s\.io/[a-z0-9-]+ v0\.0\.0$' "$MOD" | awk '{print $1}' | sort)
MINOR=v0.${K8S#v1.}
mkdir -p "$ROOT/tools/k8s"
{
  echo "// Wrapper module that builds kube-apiserver and kubectl for the tests (see hack/install-tools.sh)."
  echo "module imprimatur.dev/tools/k8s"
  echo
  echo "go 1.26.0"
  echo
  echo "tool ("
  echo "	k8s.io/kubernetes/cmd/kube-apiserver"
  echo "	k8s.io/kubernetes/cmd/kubectl"
  echo ")"
  echo
  echo "require k8s.io/kubernetes $K8S"
  echo
  echo "// k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with local paths that do not"
  echo "// apply to dependents; pin each to the published release of the same minor."
  echo "replace ("
  for m in $STAGING; do echo "	$m => $m $MINOR"; done
  echo ")"
} > "$ROOT/tools/k8s/go.mod"
echo "wrote tools/k8s/go.mod for $K8S; now: cd tools/k8s && GOWORK=off go mod tidy" >&2
