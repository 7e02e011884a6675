#!/usr/bin/env bash
# `make build-installer`: kubebuilder's installer, one YAML file with everything config/default deploys (Namespace,
# CRDs, RBAC, the webhook Service and the manager Deployment), for `kubectl apply -f dist/install.yaml`.
# As kubebuilder does, the manager image is set with `kustomize edit set image`, but in a throwaway overlay, so that
# config/manager/kustomization.yaml is not rewritten. hack/gen-bundle.sh builds config/manifests the same way.
#
# Usage: hack/build-installer.sh [OUT] [KUSTOMIZATION_DIR]
#   OUT                 the file to write (default dist/install.yaml; - for standard output)
#   KUSTOMIZATION_DIR   what to build (default config/default)
#   IMG                 (environment) the manager image (default imprimatur:VERSION)
#   VERSION             (environment) the version (default: package.json's)
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
KUSTOMIZE=$ROOT/.tools/bin/kustomize
OUT=${1:-$ROOT/dist/install.yaml}
DIR=$(cd "${2:-$ROOT/config/default}" && pwd)
VERSION=${VERSION:-$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$ROOT/package.json")}
IMG=${IMG:-imprimatur:$VERSION}
# The image name config/manager/kustomization.yaml gives the manager container (its `images` entry's newName).
FROM=$(sed -n 's/^ *newName: *//p' "$ROOT/config/manager/kustomization.yaml" | head -n 1)

[ -x "$KUSTOMIZE" ] || { echo "build-installer: missing $KUSTOMIZE: run 'hack/install-tools.sh kustomize'" >&2; exit 1; }
[ -n "$FROM" ] || { echo "build-installer: no images newName in config/manager/kustomization.yaml" >&2; exit 1; }

overlay=$(mktemp -d)
trap 'rm -rf "$overlay"' EXIT
# kustomize takes only relative paths to a base.
printf 'resources:\n  - %s\n' "$(realpath --relative-to="$overlay" "$DIR")" >"$overlay/kustomization.yaml"
(cd "$overlay" && "$KUSTOMIZE" edit set image "$FROM=$IMG")
"$KUSTOMIZE" build "$overlay" >"$overlay/out.yaml"
# The image must have landed on the manager: a renamed image in config/manager would otherwise pass unnoticed.
grep -qE "^ +image: ${IMG//./\\.}$" "$overlay/out.yaml" || {
  echo "build-installer: the output has no container with image $IMG (config/manager names $FROM)" >&2
  exit 1
}

if [ "$OUT" = - ]; then
  cat "$overlay/out.yaml"
else
  mkdir -p "$(dirname "$OUT")"
  cp "$overlay/out.yaml" "$OUT"
  echo "wrote ${OUT#"$ROOT"/} (image $IMG)" >&2
fi
