#!/usr/bin/env bash
# Stops the kube-apiserver that hack/cluster-up.sh started and starts it again with the same flags, then waits until
# it is ready. The e2e suite uses it to see the operator's watches recover.
# Usage: hack/restart-apiserver.sh [SECONDS_DOWN]
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
STATE=${IMPRIMATUR_STATE_DIR:-$ROOT/.local}
DOWN=${1:-0}
if [ ! -f "$STATE/kube-apiserver.sh" ] || [ ! -f "$STATE/pids/kube-apiserver" ]; then
  printf '[cluster] no kube-apiserver of hack/cluster-up.sh in %s\n' "$STATE" >&2
  exit 1
fi

pid=$(cat "$STATE/pids/kube-apiserver")
kill -TERM "$pid" 2>/dev/null || true
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
kill -KILL "$pid" 2>/dev/null || true
sleep "$DOWN"

setsid bash "$STATE/kube-apiserver.sh" >>"$STATE/logs/kube-apiserver.log" 2>&1 </dev/null &
echo $! >"$STATE/pids/kube-apiserver"
for _ in $(seq 1 600); do
  if KUBECONFIG="$STATE/kubeconfig" "$ROOT/.tools/bin/kubectl" get --raw /readyz >/dev/null 2>&1; then
    printf '[cluster] kube-apiserver restarted\n' >&2
    exit 0
  fi
  sleep 0.2
done
printf '[cluster] kube-apiserver did not come back; its log:\n' >&2
tail -n 30 "$STATE/logs/kube-apiserver.log" >&2
exit 1
