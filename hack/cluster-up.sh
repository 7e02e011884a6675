#!/usr/bin/env bash
# Starts a local control plane and two OCI registries on loopback, on free ports:
#   etcd + kube-apiserver (RBAC on, static-token admin), olareg (OCI referrers API) and distribution (none),
#   each registry also once with basic auth and once with token auth, and distribution once more over HTTPS with a
#   self-signed certificate (for allowInsecureRegistry); a local Rekor and Fulcio
#   (hack/fake-rekor.mjs, hack/fake-fulcio.mjs) and Sigstore's timestamp authority (timestamp-server).
# Writes $STATE/kubeconfig and a sourceable $STATE/env and waits until every part answers. The env file sets:
#   KUBECONFIG
#   REGISTRY, REGISTRY_NOREFERRERS                        anonymous olareg and distribution
#   REGISTRY_BASIC, REGISTRY_NOREFERRERS_BASIC            the same with basic auth
#   REGISTRY_TOKEN, REGISTRY_NOREFERRERS_TOKEN            the same with token auth
#   REGISTRY_USER, REGISTRY_PASSWORD                      the one user of the auth registries
#   REGISTRY_DOCKER_CONFIG                                a DOCKER_CONFIG folder holding that user's credentials
#   REGISTRY_TLS, REGISTRY_TLS_CERT                       anonymous distribution over HTTPS, and its self-signed
#                                                         certificate (SSL_CERT_FILE for tools that should trust it)
#   REKOR_URL, TRUSTED_ROOT                               a local Rekor, and the trusted_root.json with its key
#   FULCIO_URL                                            a local Fulcio with a CT log, also in TRUSTED_ROOT
#   REKOR_PUBLIC_KEY, FULCIO_ROOT, CTLOG_PUBLIC_KEY       their keys and root, for cosign v2's environment variables
#   TSA_URL                                               an RFC 3161 timestamp authority, also in TRUSTED_ROOT (empty
#                                                         when port 2112 was taken; see below)
# Idempotent: when everything is already up it only says so.
#
# With --minimal (what `make run` starts) only what running the operator needs: etcd, kube-apiserver, olareg, and
# the local Rekor and Fulcio (Node scripts, nothing to build); the timestamp authority too when it is built. No
# distribution, no auth registries: the tools they need (distribution, crane, cosign) are left to `make test`. Its
# env file leaves the variables of what it did not start empty.
#
# STATE defaults to .local/ in the repository; IMPRIMATUR_STATE_DIR points it elsewhere (the e2e suite uses its
# own, so it never touches a developer's cluster). hack/cluster-down.sh stops exactly what this started.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
MINIMAL=false
case ${1:-} in
  --minimal) MINIMAL=true ;;
  '') ;;
  *) printf '[cluster] unknown argument %s (usage: cluster-up.sh [--minimal])\n' "$1" >&2; exit 2 ;;
esac
STATE=${IMPRIMATUR_STATE_DIR:-$ROOT/.local}
BIN=$ROOT/.tools/bin
NODE=$BIN/node

log() { printf '[cluster] %s\n' "$*" >&2; }

if $MINIMAL; then NEEDED="node etcd kube-apiserver kubectl olareg"; else NEEDED="node etcd kube-apiserver kubectl olareg registry crane"; fi
for b in $NEEDED; do
  [ -x "$BIN/$b" ] || { log "missing $BIN/$b: run 'make tools' first"; exit 1; }
done

alive() { [ -f "$STATE/pids/$1" ] && kill -0 "$(cat "$STATE/pids/$1")" 2>/dev/null; }
# What this profile runs; a full cluster already up serves --minimal too.
if $MINIMAL; then PARTS="etcd kube-apiserver olareg rekor fulcio"; else
  PARTS="etcd kube-apiserver olareg registry olareg-basic olareg-token registry-basic registry-token token-server registry-tls rekor fulcio"
fi
all_alive() { local p; for p in $PARTS; do alive "$p" || return 1; done; }

if [ -f "$STATE/env" ] && all_alive; then
  # shellcheck disable=SC1091
  . "$STATE/env"
  if "$BIN/kubectl" get --raw /readyz >/dev/null 2>&1; then
    log "already up (state in $STATE)"
    exit 0
  fi
fi
# Something is half up or stale: clear it first.
"$ROOT/hack/cluster-down.sh" >/dev/null 2>&1 || true

mkdir -p "$STATE"/{pids,logs,pki,etcd,registry-data,registry-basic-data,registry-token-data,registry-tls-data,docker}

# free_ports N: N distinct free ports below the kernel's ephemeral range (hack/bench-support.mjs says why).
free_ports() {
  "$NODE" --input-type=module -e "console.log((await (await import('$ROOT/hack/bench-support.mjs')).freePorts($1)).join(' '))"
}

# start NAME COMMAND...: in its own session, so a Ctrl-C in the calling shell does not reach it.
start() {
  local name=$1; shift
  setsid "$@" >"$STATE/logs/$name.log" 2>&1 < /dev/null &
  echo $! >"$STATE/pids/$name"
}

# wait_for NAME SECONDS COMMAND...: polls COMMAND until it succeeds; shows the log's tail if it never does.
wait_for() {
  local name=$1 limit=$2; shift 2
  local deadline=$((SECONDS + limit))
  until "$@" >/dev/null 2>&1; do
    if ! alive "$name"; then log "$name exited; its log:"; tail -n 30 "$STATE/logs/$name.log" >&2; exit 1; fi
    if [ $SECONDS -ge $deadline ]; then log "$name did not answer within ${limit}s; its log:"; tail -n 30 "$STATE/logs/$name.log" >&2; exit 1; fi
    sleep 0.2
  done
  # An answer from a process that has died came from someone else on its port.
  if ! alive "$name"; then log "$name exited, though its port answered; its log:"; tail -n 30 "$STATE/logs/$name.log" >&2; exit 1; fi
}

read -r ETCD_PORT PEER_PORT API_PORT REG_PORT REG2_PORT BASIC_PORT TOKEN_PORT REG2_BASIC_PORT REG2_TOKEN_PORT \
  TOKEN_SERVER_PORT REKOR_PORT FULCIO_PORT TSA_PORT REG2_TLS_PORT < <(free_ports 14)

# Service-account signing key (mandatory since 1.20) and the admin's static token.
openssl ecparam -name prime256v1 -genkey -noout -out "$STATE/pki/sa.key" 2>/dev/null
openssl ec -in "$STATE/pki/sa.key" -pubout -out "$STATE/pki/sa.pub" 2>/dev/null
TOKEN=$(openssl rand -hex 32)
printf '%s,admin,admin-uid,"system:masters"\n' "$TOKEN" >"$STATE/pki/tokens.csv"

start etcd "$BIN/etcd" --name=local --data-dir="$STATE/etcd" \
  --listen-client-urls="http://127.0.0.1:$ETCD_PORT" --advertise-client-urls="http://127.0.0.1:$ETCD_PORT" \
  --listen-peer-urls="http://127.0.0.1:$PEER_PORT" --initial-advertise-peer-urls="http://127.0.0.1:$PEER_PORT" \
  --initial-cluster="local=http://127.0.0.1:$PEER_PORT" --unsafe-no-fsync --log-level=warn
wait_for etcd 30 curl -fsS "http://127.0.0.1:$ETCD_PORT/health"

# No --advertise-address: 1.37 refuses a loopback one with the lease reconciler; the default-route address is
# only written into the kubernetes Endpoints object. ServiceAccount admission is off because no controller
# manager runs to create the default ServiceAccounts.
# Written to a script so that hack/restart-apiserver.sh can start it again exactly so (the e2e suite restarts it).
cat >"$STATE/kube-apiserver.sh" <<APISERVER
exec "$BIN/kube-apiserver" \\
  --etcd-servers="http://127.0.0.1:$ETCD_PORT" \\
  --bind-address=127.0.0.1 --secure-port="$API_PORT" --cert-dir="$STATE/pki" \\
  --service-cluster-ip-range=10.0.0.0/24 --allow-privileged=true \\
  --authorization-mode=RBAC --token-auth-file="$STATE/pki/tokens.csv" \\
  --service-account-issuer=https://kubernetes.default.svc.cluster.local \\
  --service-account-key-file="$STATE/pki/sa.pub" --service-account-signing-key-file="$STATE/pki/sa.key" \\
  --disable-admission-plugins=ServiceAccount \\
  -v=1
APISERVER
start kube-apiserver bash "$STATE/kube-apiserver.sh"
wait_for kube-apiserver 120 bash -c "[ \"\$(curl -ks https://127.0.0.1:$API_PORT/readyz)\" = ok ]"

cat >"$STATE/kubeconfig" <<EOF
apiVersion: v1
kind: Config
clusters:
- name: imprimatur-local
  cluster:
    server: https://127.0.0.1:$API_PORT
    certificate-authority: $STATE/pki/apiserver.crt
users:
- name: admin
  user:
    token: $TOKEN
contexts:
- name: imprimatur-local
  context:
    cluster: imprimatur-local
    user: admin
    namespace: default
current-context: imprimatur-local
EOF
chmod 600 "$STATE/kubeconfig"
wait_for kube-apiserver 30 env KUBECONFIG="$STATE/kubeconfig" "$BIN/kubectl" get namespace default

start olareg "$BIN/olareg" serve --addr 127.0.0.1 --port "$REG_PORT" --store-type mem --api-delete
wait_for olareg 30 curl -fsS "http://127.0.0.1:$REG_PORT/v2/"

REGISTRY_USER=
REGISTRY_PASSWORD=
if ! $MINIMAL; then

cat >"$STATE/registry.yml" <<EOF
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $STATE/registry-data}
  delete: {enabled: true}
http: {addr: "127.0.0.1:$REG2_PORT"}
EOF
start registry "$BIN/registry" serve "$STATE/registry.yml"
wait_for registry 30 curl -fsS "http://127.0.0.1:$REG2_PORT/v2/"

# The registries with auth: one user with a random password, bcrypt-hashed as both registries require.
REGISTRY_USER=tester
REGISTRY_PASSWORD=$(openssl rand -hex 16)
HASH=$("$BIN/olareg" hash --pass "$REGISTRY_PASSWORD")
cat >"$STATE/olareg-auth.yaml" <<EOF
users:
  $REGISTRY_USER: {cred: "$HASH"}
groups:
  all: {members: ["$REGISTRY_USER"]}
acls:
  - {repo: "", members: ["all"], access: ["*"]}
  - {repo: "*", members: ["all"], access: ["*"]}
  - {repo: "*/*", members: ["all"], access: ["*"]}
  - {repo: "*/*/*", members: ["all"], access: ["*"]}
EOF
printf '%s:%s\n' "$REGISTRY_USER" "$HASH" >"$STATE/htpasswd"

start olareg-basic "$BIN/olareg" serve --addr 127.0.0.1 --port "$BASIC_PORT" --store-type mem --api-delete \
  --auth-basic "$STATE/olareg-auth.yaml"
# olareg serves its own token endpoint; its realm must be the registry's host:port for crane and cosign to accept
# a loopback realm (go-containerregistry's validateRealmURL).
start olareg-token "$BIN/olareg" serve --addr 127.0.0.1 --port "$TOKEN_PORT" --store-type mem --api-delete \
  --auth-token-opaque "$STATE/olareg-auth.yaml" --external-url "http://127.0.0.1:$TOKEN_PORT"

registry_config() { # PORT DATA AUTH_YAML [MORE_HTTP_FIELDS]
  cat <<EOF
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $2}
  delete: {enabled: true}
http: {addr: "127.0.0.1:$1"${4:-}}
$3
EOF
}
registry_config "$REG2_BASIC_PORT" "$STATE/registry-basic-data" "auth: {htpasswd: {realm: imprimatur-test, path: $STATE/htpasswd}}" \
  >"$STATE/registry-basic.yml"
start registry-basic "$BIN/registry" serve "$STATE/registry-basic.yml"

# distribution's token auth verifies JWTs against a certificate; hack/registry-token-server.mjs issues them. The
# realm uses the name localhost: go-containerregistry refuses loopback IP realms on another port, not host names.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=imprimatur-test-token \
  -keyout "$STATE/pki/token.key" -out "$STATE/pki/token.crt" 2>/dev/null
start token-server "$NODE" "$ROOT/hack/registry-token-server.mjs" "$TOKEN_SERVER_PORT" "$STATE/pki/token.key" \
  "$STATE/pki/token.crt" imprimatur-test-issuer "$REGISTRY_USER:$REGISTRY_PASSWORD"
registry_config "$REG2_TOKEN_PORT" "$STATE/registry-token-data" "auth:
  token:
    realm: http://localhost:$TOKEN_SERVER_PORT/token
    service: imprimatur-test-registry
    issuer: imprimatur-test-issuer
    rootcertbundle: $STATE/pki/token.crt" >"$STATE/registry-token.yml"
start registry-token "$BIN/registry" serve "$STATE/registry-token.yml"

# distribution over HTTPS with a self-signed certificate for 127.0.0.1, which nothing trusts unless told to: what a
# verifyImages entry's imageRegistryCredentials.allowInsecureRegistry is for.
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 -subj /CN=imprimatur-test-registry \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$STATE/pki/registry-tls.key" -out "$STATE/pki/registry-tls.crt" 2>/dev/null
registry_config "$REG2_TLS_PORT" "$STATE/registry-tls-data" "" \
  ", tls: {certificate: $STATE/pki/registry-tls.crt, key: $STATE/pki/registry-tls.key}" >"$STATE/registry-tls.yml"
start registry-tls "$BIN/registry" serve "$STATE/registry-tls.yml"

for r in olareg-basic:$BASIC_PORT olareg-token:$TOKEN_PORT registry-basic:$REG2_BASIC_PORT registry-token:$REG2_TOKEN_PORT; do
  # 401 is what an auth registry's ping answers.
  wait_for "${r%%:*}" 30 bash -c "[ \"\$(curl -s -o /dev/null -w '%{http_code}' http://127.0.0.1:${r##*:}/v2/)\" = 401 ]"
done
wait_for token-server 30 curl -fsS "http://127.0.0.1:$TOKEN_SERVER_PORT/token?service=x"
# Checked against its own certificate: it must serve that one, for 127.0.0.1.
wait_for registry-tls 30 curl -fsS --cacert "$STATE/pki/registry-tls.crt" "https://127.0.0.1:$REG2_TLS_PORT/v2/"

for r in "127.0.0.1:$BASIC_PORT" "127.0.0.1:$TOKEN_PORT" "127.0.0.1:$REG2_BASIC_PORT" "127.0.0.1:$REG2_TOKEN_PORT"; do
  DOCKER_CONFIG="$STATE/docker" "$BIN/crane" auth login "$r" -u "$REGISTRY_USER" -p "$REGISTRY_PASSWORD" >/dev/null 2>&1
done
fi

mkdir -p "$STATE/sigstore"
# Sigstore's own RFC 3161 timestamp authority (timestamp-server, built by hack/install-tools.sh), for
# cosign --timestamp-server-url; its chain goes into the trusted_root.json below. It always serves metrics on port
# 2112, so only one can run on a machine: when that port is taken (another local cluster), it is left out, said so,
# and TSA_URL is not set.
TSA_URL=
if [ ! -x "$BIN/timestamp-server" ]; then
  log "timestamp-server is not built ('make tools' builds it): starting without a timestamp authority"
elif (exec 3<>/dev/tcp/127.0.0.1/2112) 2>/dev/null; then
  log "port 2112 is in use (another timestamp-server?): starting without a timestamp authority"
else
  start tsa "$BIN/timestamp-server" serve --host 127.0.0.1 --port "$TSA_PORT" --timestamp-signer memory \
    --disable-ntp-monitoring --log-type prod
  wait_for tsa 30 curl -fsS "http://127.0.0.1:$TSA_PORT/ping"
  curl -fsS "http://127.0.0.1:$TSA_PORT/api/v1/timestamp/certchain" >"$STATE/sigstore/tsa-chain.pem"
  printf 'http://127.0.0.1:%s/api/v1/timestamp\n' "$TSA_PORT" >"$STATE/sigstore/tsa.url"
  TSA_URL=http://127.0.0.1:$TSA_PORT/api/v1/timestamp
fi

# A transparency log for cosign --rekor-url, with the trusted_root.json that holds its key and the timestamp
# authority's chain (hack/fake-rekor.mjs).
start rekor "$NODE" "$ROOT/hack/fake-rekor.mjs" "$REKOR_PORT" "$STATE/sigstore"
wait_for rekor 30 curl -fsS "http://127.0.0.1:$REKOR_PORT/api/v1/log/publicKey"
# A certificate authority with a CT log, for keyless signing (hack/fake-fulcio.mjs). After Rekor and in its folder:
# it adds its CA and CT log key to the trusted_root.json that Rekor wrote.
start fulcio "$NODE" "$ROOT/hack/fake-fulcio.mjs" "$FULCIO_PORT" "$STATE/sigstore"
wait_for fulcio 30 curl -fsS "http://127.0.0.1:$FULCIO_PORT/api/v2/trustBundle"

# at ADDRESS: the address, or nothing when --minimal did not start that part.
at() { if $MINIMAL; then echo; else echo "$1"; fi; }
cat >"$STATE/env" <<EOF
export KUBECONFIG=$STATE/kubeconfig
export REGISTRY=127.0.0.1:$REG_PORT
export REGISTRY_NOREFERRERS=$(at "127.0.0.1:$REG2_PORT")
export REGISTRY_BASIC=$(at "127.0.0.1:$BASIC_PORT")
export REGISTRY_TOKEN=$(at "127.0.0.1:$TOKEN_PORT")
export REGISTRY_NOREFERRERS_BASIC=$(at "127.0.0.1:$REG2_BASIC_PORT")
export REGISTRY_NOREFERRERS_TOKEN=$(at "127.0.0.1:$REG2_TOKEN_PORT")
export REGISTRY_USER=$REGISTRY_USER
export REGISTRY_PASSWORD=$REGISTRY_PASSWORD
export REGISTRY_DOCKER_CONFIG=$STATE/docker
export REGISTRY_TLS=$(at "127.0.0.1:$REG2_TLS_PORT")
export REGISTRY_TLS_CERT=$(at "$STATE/pki/registry-tls.crt")
export REKOR_URL=http://127.0.0.1:$REKOR_PORT
export TRUSTED_ROOT=$STATE/sigstore/trusted_root.json
export FULCIO_URL=http://127.0.0.1:$FULCIO_PORT
export REKOR_PUBLIC_KEY=$STATE/sigstore/rekor.pub
export FULCIO_ROOT=$STATE/sigstore/fulcio-root.pem
export CTLOG_PUBLIC_KEY=$STATE/sigstore/ctlog.pub
export TSA_URL=$TSA_URL
EOF
chmod 600 "$STATE/env"
if $MINIMAL; then
  log "up: kube-apiserver https://127.0.0.1:$API_PORT, registry 127.0.0.1:$REG_PORT (referrers API), Rekor and Fulcio"
else
  log "up: kube-apiserver https://127.0.0.1:$API_PORT, registry 127.0.0.1:$REG_PORT (referrers API), 127.0.0.1:$REG2_PORT (no referrers API)"
  log "with auth: basic 127.0.0.1:$BASIC_PORT and 127.0.0.1:$REG2_BASIC_PORT, token 127.0.0.1:$TOKEN_PORT and 127.0.0.1:$REG2_TOKEN_PORT"
  log "over HTTPS with a self-signed certificate: 127.0.0.1:$REG2_TLS_PORT"
fi
log "state in $STATE; use it with: . $STATE/env"
