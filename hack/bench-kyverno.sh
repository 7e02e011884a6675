#!/usr/bin/env bash
# make bench-kyverno: Imprimatur beside Kyverno (hack/bench-kyverno.mjs). Opt in, never part of make test: it builds
# Kyverno's admission controller from the Go module proxy into .tools/ the first time (about 12 min on two cores,
# cached by version like the other tools), starts a cluster of hack/cluster-up.sh in a state folder of its own (never
# the e2e suite's or a developer's .local/), and stops everything at the end, whatever happens: Kyverno, the
# operator, the cluster, and the webhook configurations a stopped Kyverno leaves behind go with the cluster.
# Arguments are passed to hack/bench-kyverno.mjs (--quick, --skip-latency, --skip-agreement).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
export PATH=$ROOT/.tools/bin:$PATH
[ -x "$ROOT/bin/imprimatur" ] || { echo "bench-kyverno: run 'make build' first" >&2; exit 1; }
"$ROOT/hack/install-tools.sh" kyverno

W=$(mktemp -d /tmp/imprimatur-bench-kyverno.XXXXXX)
cleanup() {
  # The tools' logs outlive the cluster, for reading what an admission did (its durationMs, Kyverno's own lines).
  mkdir -p "$ROOT/test-results/bench-kyverno-logs"
  cp "$W"/cluster/logs/{kyverno,operator}*.log "$ROOT/test-results/bench-kyverno-logs/" 2>/dev/null || true
  IMPRIMATUR_STATE_DIR=$W/cluster "$ROOT/hack/cluster-down.sh" >/dev/null 2>&1 || true
  rm -rf "$W"
}
trap cleanup EXIT

IMPRIMATUR_STATE_DIR=$W/cluster "$ROOT/hack/cluster-up.sh" 2>"$W/cluster-up.log" \
  || { cat "$W/cluster-up.log" >&2; exit 1; }
node "$ROOT/hack/bench-kyverno.mjs" --state "$W/cluster" "$@"
