#!/usr/bin/env bash
# `make bundle`: writes the OLM bundle (registry+v1) from config/manifests and validates it, as operator-sdk's
# `make bundle` does with `generate bundle` and `bundle validate`:
#   1. kustomize builds config/manifests with the manager image set to IMG (hack/build-installer.sh);
#   2. hack/gen-bundle.ts (compiled to dist/hack/gen-bundle.js by `make build`) writes OUT/manifests,
#      OUT/metadata/annotations.yaml and the bundle image's Dockerfile;
#   3. operator-verify (github.com/operator-framework/api's bundle validators) checks OUT with the optional
#      OperatorHub and object validators on. It reports problems as log lines and exits 0 whatever it finds, so this
#      script fails on any line at level error (and on a load failure); warnings are printed and let through.
#
# Usage: hack/gen-bundle.sh [OUT [DOCKERFILE]]   (default bundle and bundle.Dockerfile in the repository)
#        hack/gen-bundle.sh --validate-only DIR
# Environment: VERSION (default package.json's), IMG (default imprimatur:VERSION), CHANNELS (default alpha),
#              DEFAULT_CHANNEL (default the first of CHANNELS).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
BIN=$ROOT/.tools/bin

validate() { # DIR
  [ -x "$BIN/operator-verify" ] || {
    echo "gen-bundle: missing $BIN/operator-verify: run 'hack/install-tools.sh operator-verify'" >&2
    exit 1
  }
  local report status=0
  report=$("$BIN/operator-verify" manifests --operatorhub_validate --object_validate "$1" 2>&1) || status=$?
  [ -n "$report" ] && printf '%s\n' "$report" >&2
  if [ "$status" -ne 0 ] || grep -qE 'level=(error|fatal)' <<<"$report"; then
    echo "gen-bundle: operator-verify found errors in $1" >&2
    exit 1
  fi
  echo "gen-bundle: operator-verify manifests --operatorhub_validate --object_validate $1: no errors" \
    "($(grep -c 'level=warn' <<<"$report" || true) warnings)" >&2
}

if [ "${1:-}" = --validate-only ]; then
  validate "${2:?usage: hack/gen-bundle.sh --validate-only DIR}"
  exit 0
fi

OUT=${1:-$ROOT/bundle}
DOCKERFILE=${2:-$ROOT/bundle.Dockerfile}
export VERSION=${VERSION:-$(sed -n 's/^  "version": "\(.*\)",$/\1/p' "$ROOT/package.json")}
export IMG=${IMG:-imprimatur:$VERSION}
CHANNELS=${CHANNELS:-alpha}
DEFAULT_CHANNEL=${DEFAULT_CHANNEL:-${CHANNELS%%,*}}

[ -f "$ROOT/dist/hack/gen-bundle.js" ] || { echo "gen-bundle: run 'make build' first" >&2; exit 1; }

cd "$ROOT"
"$ROOT/hack/build-installer.sh" - "$ROOT/config/manifests" |
  "$BIN/node" "$ROOT/dist/hack/gen-bundle.js" --out "$OUT" --dockerfile "$DOCKERFILE" --version "$VERSION" \
    --icon "$ROOT/config/manifests/icon.svg" --channels "$CHANNELS" --default-channel "$DEFAULT_CHANNEL"
validate "$OUT"
