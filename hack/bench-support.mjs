// What the bench scripts share (hack/bench-admission.mjs, hack/bench-kyverno.mjs, hack/bench-load.mjs): percentiles,
// the HTTP/2 load generator that creates Pods through kube-apiserver as its Go clients do, child processes, the
// cluster that hack/cluster-up.sh started, and the operator started against it. Measurement only: nothing here
// decides whether a target is met.
import { spawn } from 'node:child_process';
import { Buffer } from 'node:buffer';
import { once } from 'node:events';
import { closeSync, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { connect } from 'node:http2';
import { dirname, join } from 'node:path';
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, URL } from 'node:url';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));
export const bin = (name) => join(ROOT, '.tools', 'bin', name);

export const round = (x, digits = 3) => Math.round(x * 10 ** digits) / 10 ** digits;

export function stats(samples, wallMs, errors) {
  const sorted = Float64Array.from(samples).sort();
  const at = (q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : NaN);
  return {
    count: sorted.length,
    errors,
    perSecond: round(sorted.length / (wallMs / 1000), 0),
    p50Ms: round(at(0.5)),
    p99Ms: round(at(0.99)),
    maxMs: round(at(1)),
    wallMs: round(wallMs, 0),
  };
}

// The load generator: C concurrent streams on one HTTP/2 session, each sending the next request when its answer
// has arrived, until `count` requests are sent or `maxMs` has passed. Latency: request() to the response's end.
// With keepSamples, the result also carries every latency (`samples`), for percentiles over several runs.

export async function drive(session, { path, headers = {}, body, concurrency, count, maxMs, check, keepSamples }) {
  const latencies = [];
  let sent = 0;
  let errors = 0;
  let firstError;
  const deadline = performance.now() + maxMs;
  const one = (i) =>
    new Promise((done) => {
      const bytes = typeof body === 'function' ? body(i) : body;
      const t0 = performance.now();
      const req = session.request({
        ':method': 'POST',
        ':path': path,
        'content-type': 'application/json',
        'content-length': bytes.length,
        ...headers,
      });
      let status = 0;
      const chunks = [];
      req.on('response', (h) => (status = h[':status']));
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const ms = performance.now() - t0;
        const text = Buffer.concat(chunks).toString();
        const problem = status < 200 || status > 299 ? `HTTP ${status}: ${text.slice(0, 300)}` : check?.(text, i);
        done({ ms, problem });
      });
      req.on('error', (e) => done({ ms: 0, problem: e.message }));
      req.end(bytes);
    });
  const loop = async () => {
    while (sent < count && performance.now() < deadline) {
      const r = await one(sent++);
      if (r.problem) {
        errors++;
        firstError ??= r.problem;
      } else latencies.push(r.ms);
    }
  };
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, loop));
  return {
    ...stats(latencies, performance.now() - t0, errors),
    ...(firstError ? { firstError } : {}),
    // Each latency, for percentiles over several runs (keepSamples); left out of reports.
    ...(keepSamples ? { samples: latencies } : {}),
  };
}

/**
 * An HTTP/2 session that reads like kube-apiserver's webhook client (golang.org/x/net/http2's Transport): a 4 MiB
 * stream window and a 1 GiB connection window. With Node's defaults (64 KiB for the whole connection) 64 responses of
 * 11 KiB in flight would wait on WINDOW_UPDATEs, which measures the client, not the server.
 */
export function openSession(url, options) {
  const session = connect(url, { ...options, settings: { initialWindowSize: 4 << 20 } });
  return new Promise((ok, fail) => {
    session.once('connect', () => {
      session.setLocalWindowSize(1 << 30);
      ok(session);
    });
    session.once('error', fail);
  });
}

/** Runs a command to its end: { code, stdout, stderr }; `input`, when given, is written to its stdin. */
export function run(cmd, args, env = {}, input) {
  return new Promise((ok) => {
    const child = spawn(cmd, args, {
      env: { ...process.env, ...env },
      stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('error', (e) => ok({ code: -1, stdout, stderr: `${stderr}${e.message}` }));
    child.on('close', (code) => ok({ code, stdout, stderr }));
    if (input !== undefined) child.stdin.end(input);
  });
}

/** run(), and its stdout; a non-zero exit throws with the end of its stderr. */
export async function must(cmd, args, env, input) {
  const r = await run(cmd, args, env, input);
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr.slice(-1000)}`);
  return r.stdout;
}

/** Runs `fn` over `items`, `limit` at a time. */
export async function pool(items, limit, fn) {
  const out = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) {
        const i = next++;
        out[i] = await fn(items[i], i);
      }
    }),
  );
  return out;
}

/**
 * `count` distinct free ports for servers other processes will start, all held open together while they are picked
 * (asking one at a time can give the same port twice). They are taken from the 10,000 below the kernel's ephemeral
 * range: a port listen(0) hands out may meanwhile be given to an outgoing connection (kube-apiserver's to etcd, say)
 * before the server meant for it binds it. hack/cluster-up.sh takes its ports here too; test/e2e/support's freePort
 * does the same in TypeScript.
 */
export async function freePorts(count) {
  const { createServer } = await import('node:net');
  const [first] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/);
  const below = Math.max(Number(first) || 32_768, 1_024 + 10_000);
  const held = new Map();
  const hold = (port) =>
    new Promise((resolve) => {
      const server = createServer();
      server.once('error', () => resolve());
      server.listen(port, '127.0.0.1', () => resolve(held.set(port, server)));
    });
  try {
    for (let attempt = 0; held.size < count; attempt++) {
      if (attempt === 1_000) throw new Error(`no ${count} free ports found in ${below - 10_000}-${below - 1}`);
      const port = below - 10_000 + Math.floor(Math.random() * 10_000);
      if (!held.has(port)) await hold(port);
    }
    return [...held.keys()];
  } finally {
    await Promise.all([...held.values()].map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/** A free port for a server another process will start (freePorts). */
export async function freePort() {
  const [port] = await freePorts(1);
  return port;
}

/** Polls `check` until it returns something other than undefined, or throws `what` after `timeoutMs`. */
export async function eventually(check, what, timeoutMs = 30_000) {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (performance.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(200);
  }
}

/** GET url over plain HTTP: its status code, 0 when nothing answers. */
export function httpStatus(url) {
  return new Promise((ok) =>
    httpGet(url, (res) => {
      res.resume();
      ok(res.statusCode ?? 0);
    }).on('error', () => ok(0)),
  );
}

/**
 * The cluster of hack/cluster-up.sh whose state folder is `state`: its env file's variables, the kubeconfig's
 * server, bearer token and CA, and kubectl bound to it.
 */
export function clusterEnv(state) {
  const vars = Object.fromEntries(
    [...readFileSync(join(state, 'env'), 'utf8').matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]),
  );
  const kubeconfig = vars.KUBECONFIG;
  const kc = readFileSync(kubeconfig, 'utf8');
  return {
    state,
    vars,
    kubeconfig,
    server: /server: (\S+)/.exec(kc)[1],
    token: /token: (\S+)/.exec(kc)[1],
    ca: readFileSync(/certificate-authority: (\S+)/.exec(kc)[1]),
    registry: vars.REGISTRY,
    kubectl: (args, input) => must(bin('kubectl'), args, { KUBECONFIG: kubeconfig }, input),
    tryKubectl: (args, input) => run(bin('kubectl'), args, { KUBECONFIG: kubeconfig }, input),
  };
}

/** Applies crds/ (ours) server-side and waits until the ClusterPolicy and Policy CRDs are established. */
export async function installOurCrds(cluster) {
  await cluster.kubectl(['apply', '--server-side', '--force-conflicts', '-k', join(ROOT, 'crds')]);
  await waitEstablished(cluster, ['clusterpolicies.kyverno.io', 'policies.kyverno.io'], 'our CRDs');
}

/** Waits until kube-apiserver serves each CRD named (its Established condition); `what` names them in a timeout. */
export async function waitEstablished(cluster, names, what) {
  await eventually(
    async () =>
      (
        await cluster.tryKubectl([
          'wait',
          '--for=condition=Established',
          '--timeout=30s',
          ...names.map((name) => `crd/${name}`),
        ])
      ).code === 0 || undefined,
    `${what} to be established`,
    60_000,
  );
}

/**
 * Spawns `cmd` with its stdout and stderr going, through a pipe, to a `cat` of its own that appends them to `logFile`,
 * as a container's output goes through a pipe to the runtime's shim. Not through this process: it times the creates,
 * and each of a tool's log lines would wake it at about the moment a create's answer arrives. Nor straight into the
 * file: a tool that writes its log synchronously (Node's stderr on a file) could then stall on the file system.
 */
export function spawnLogged(cmd, args, { env, logFile }) {
  mkdirSync(dirname(logFile), { recursive: true });
  const out = openSync(logFile, 'a');
  const reader = spawn('cat', [], { stdio: ['pipe', out, out] });
  closeSync(out);
  // The pipe's write end goes to the tool alone: `cat` ends when the tool does.
  const child = spawn(cmd, args, { env, stdio: ['ignore', reader.stdin, reader.stdin] });
  reader.stdin.destroy();
  return child;
}

/**
 * Starts the operator (bin/imprimatur run --local) against the cluster and waits for its /readyz; its output goes to
 * `logFile`. Its pid is recorded with the cluster's processes, so hack/cluster-down.sh stops it if the caller dies.
 */
export async function startImprimatur(cluster, { logFile, args = [], env = {}, name = 'operator-bench' }) {
  const probe = await freePort();
  const child = spawnLogged(
    join(ROOT, 'bin', 'imprimatur'),
    [
      'run',
      '--local',
      '--webhook-port=0',
      `--health-probe-bind-address=127.0.0.1:${probe}`,
      `--kubeconfig=${cluster.kubeconfig}`,
      `--trusted-root=${cluster.vars.TRUSTED_ROOT}`,
      '--log-level=info',
      ...args,
    ],
    { env: { ...process.env, IMPRIMATUR_STATE_DIR: cluster.state, ...env }, logFile },
  );
  writeFileSync(join(cluster.state, 'pids', name), String(child.pid));
  await eventually(
    async () => {
      if (child.exitCode !== null) throw new Error(`operator exited: ${readFileSync(logFile, 'utf8').slice(-3000)}`);
      return (await httpStatus(`http://127.0.0.1:${probe}/readyz`)) === 200 || undefined;
    },
    'the operator to be ready',
    60_000,
  );
  return {
    child,
    pid: child.pid,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      await Promise.race([once(child, 'exit'), sleep(20_000)]);
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}

/** The resident set size of a process, in MiB, from /proc (undefined once it has exited). */
export function rssMiB(pid) {
  try {
    const kb = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return kb ? round(Number(kb[1]) / 1024, 1) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * kube-apiserver's apiserver_admission_webhook_admission_duration_seconds, summed by webhook name: { name: { sum,
 * count } }. The difference of two readings is the time the apiserver spent waiting on each webhook between them.
 */
export async function webhookDurations(cluster) {
  const text = await cluster.kubectl(['get', '--raw', '/metrics']);
  const out = {};
  for (const m of text.matchAll(
    /^apiserver_admission_webhook_admission_duration_seconds_(sum|count)\{([^}]*)\} (\S+)$/gm,
  )) {
    const name = /(?:^|,)name="([^"]*)"/.exec(m[2])?.[1] ?? '';
    const entry = (out[name] ??= { sum: 0, count: 0 });
    entry[m[1]] += Number(m[3]);
  }
  return out;
}

/** What each webhook cost between two readings of webhookDurations: calls and mean milliseconds. */
export function webhookDelta(before, after) {
  const out = {};
  for (const [name, a] of Object.entries(after)) {
    const b = before[name] ?? { sum: 0, count: 0 };
    const count = a.count - b.count;
    if (count > 0) out[name] = { calls: count, meanMs: round(((a.sum - b.sum) / count) * 1000) };
  }
  return out;
}
