#!/usr/bin/env bash
# Stops exactly what hack/cluster-up.sh started (by the PIDs it recorded) and removes its state. Idempotent.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${IMPRIMATUR_STATE_DIR:-$ROOT/.local}

[ -d "$STATE" ] || exit 0
# Refuse to delete a folder this script did not make.
if [ ! -d "$STATE/pids" ] && [ ! -f "$STATE/env" ]; then
  printf '[cluster] %s does not look like cluster state; not touching it\n' "$STATE" >&2
  exit 1
fi

# The API server first, then etcd (envtest's order); the registries last. Before them, whatever ran against the
# cluster and recorded itself there: operators (operator*) and make bench-kyverno's Kyverno (kyverno*).
for name in $(cd "$STATE/pids" 2>/dev/null && ls operator* kyverno* 2>/dev/null) kube-apiserver etcd olareg registry olareg-basic olareg-token registry-basic registry-token registry-tls token-server tsa rekor fulcio; do
  f="$STATE/pids/$name"
  [ -f "$f" ] || continue
  pid=$(cat "$f")
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$pid" 2>/dev/null || true
  fi
  rm -f "$f"
done
rm -rf "$STATE"
printf '[cluster] down (removed %s)\n' "$STATE" >&2
