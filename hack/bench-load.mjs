// The load run of `make bench` (issue 14, point 4): warm, steady Pod creates through kube-apiserver for a minute, at
// the highest rate the machine sustains with no webhook; reported, never enforced.
//
// Against a cluster of hack/cluster-up.sh (--state DIR), with the operator (bin/imprimatur run --local, info log)
// and one image on the local registry, signed with a key (cosign v3 bundle, logged in the local Rekor):
//
// 1. The rate. With no policy (the operator registers no webhook, so the API server calls none), closed-loop Pod
//    creates over one HTTP/2 session (bench-support's drive, windows as kube-apiserver's Go client sets them) at
//    rising concurrency, a few seconds each; the best creates/s of any level is the rate of both runs below.
// 2. The runs, open loop: request i is due at start + i / rate, sent then whether or not earlier ones have been
//    answered, unless `--cap` creates are in flight (then it waits for a slot, so an overloaded server cannot make
//    this process run away); a create still waiting when the run's time is up is counted as not sent. Each create's
//    latency is taken both from when it was due (what a client on that schedule sees, waits for a slot included)
//    and from when it was sent (what the API server took). Every answer must be 201 with the image as expected:
//    unchanged with no webhook, pinned to its digest (tag@sha256:…) with one. First with no webhook, then with one
//    ClusterPolicy (Enforce, failurePolicy Fail, webhookTimeoutSeconds 10) verifying that image, warmed by a few
//    creates first, so every admission is a cache hit. Every second: creates sent and answered, errors, p50, p99
//    and max of the creates answered in that second, and the operator's RSS (VmRSS, /proc) and V8 heap in use (its
//    /metrics, nodejs_heap_size_used_bytes: whether a rising RSS is live objects).
//    Pods are really created (stored in etcd), as a deployment's would be; they are deleted between the runs, so
//    each run starts from the same store. --dry-run sends server-side dry runs instead (nothing stored).
//
// Pass/fail lines (reported, not enforced): no error; no create slower than the webhook's timeout (from its send);
// the rate kept (every create sent, as many answered per second as were due). Also the operator's RSS and heap,
// first third of the run against last, and their slopes; and the cores each process kept busy during each run, the
// machine's other processes included (it may be shared: their share is why one run's figures differ from another's).
//
// Usage: node hack/bench-load.mjs --state DIR [--seconds N] [--baseline-seconds N] [--probe-seconds N] [--rate R]
//                                 [--cap N] [--dry-run] [--out FILE]
//   --state DIR            the cluster (hack/cluster-up.sh's state folder).
//   --seconds N            each run's length (default 60); --baseline-seconds N the no-webhook run's (default N).
//   --probe-seconds N      each concurrency level of the rate search (default 5).
//   --rate R               creates/s of the runs, instead of searching for it.
//   --cap N                most creates in flight (default 256, and never above the API server's limit of streams
//                          on one connection: 100 unless --http2-max-streams-per-connection says otherwise).
//   --out FILE             where the JSON goes (default test-results/bench-load.json); the markdown table is in it.
// Exits non-zero only when a measurement fails (setup, the operator dying, a run that cannot be made); errors and
// slow answers during the runs are reported.
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { constants as http2 } from 'node:http2';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { clearInterval, setInterval } from 'node:timers';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  bin,
  clusterEnv,
  drive,
  eventually,
  freePort,
  installOurCrds,
  must,
  openSession,
  pool,
  ROOT,
  round,
  rssMiB,
  startImprimatur,
  stats,
  webhookDelta,
  webhookDurations,
} from './bench-support.mjs';

const POLICY = 'bench-load-check-image';
const TIMEOUT_S = 10;
/** The rate search: streams in flight, each level for --probe-seconds. */
const PROBE_LEVELS = [4, 8, 16, 32, 64];
/** A level that does not beat the best so far by this much does not count as better; two such in a row end it. */
const PROBE_GAIN = 1.03;
/** A create with no answer by then is an error (kube-apiserver's own request timeout is 60 s). */
const CLIENT_TIMEOUT_MS = 30_000;
/** Pods deleted in parallel between the runs. */
const DELETE_CONCURRENCY = 32;
/** The webhook run is warmed with these creates (the first verifies the image, the rest are cache hits). */
const WARM_CREATES = 200;

/** /proc's clock ticks per second (USER_HZ), 100 on Linux. */
const TICKS = 100;

/**
 * CPU time so far, in seconds: the machine's (every core's busy time, /proc/stat), the part of it in interrupts
 * (loopback networking is mostly softirq, which no process is charged for), and each named process's (user and
 * system, /proc/PID/stat). The difference of two readings says what took the cores during a run; on a shared
 * machine, other processes' share is why one run's figures differ from another's.
 */
function cpuTimes(pids) {
  // user nice system idle iowait irq softirq steal …; guest time is counted in user already.
  const [user, nice, system, , , irq, softirq] = readFileSync('/proc/stat', 'utf8')
    .split('\n')[0]
    .split(/\s+/)
    .slice(1)
    .map(Number);
  const out = { machine: (user + nice + system + irq + softirq) / TICKS, interrupts: (irq + softirq) / TICKS };
  for (const [name, pid] of Object.entries(pids)) {
    try {
      // The fields after the command (which may hold spaces), from the state: utime and stime are the 12th and 13th.
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8')
        .replace(/^.*\) /s, '')
        .split(' ');
      out[name] = (Number(fields[11]) + Number(fields[12])) / TICKS;
    } catch {
      out[name] = NaN;
    }
  }
  return out;
}

/**
 * Cores busy on average between two cpuTimes readings: by process, in interrupts, every other process together
 * (`others`), and the whole machine.
 */
function coresBusy(before, after, seconds) {
  const out = {};
  let accounted = 0;
  for (const name of Object.keys(after)) {
    if (name === 'machine') continue;
    out[name] = round((after[name] - before[name]) / seconds, 2);
    accounted += after[name] - before[name];
  }
  out.others = round(Math.max(0, after.machine - before.machine - accounted) / seconds, 2);
  out.machine = round((after.machine - before.machine) / seconds, 2);
  return out;
}

/** Nearest-rank percentile of an ascending array. */
const at = (sorted, q) => (sorted.length ? sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] : NaN);
const ms = (x) => (Number.isFinite(x) ? round(x, 1) : null);
const mean = (xs) => (xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : NaN);

/**
 * Creates sent on a fixed schedule (see the header): `rate` per second for `seconds`, at most `cap` in flight. Returns
 * the totals, latency from the schedule and from the send, and the series per second; `sample()` is called once a
 * second (the operator's memory: { rssMiB, heapUsedMiB }) and what it resolves to is put in that second's row.
 */
async function openLoop(session, { path, headers, body, check, rate, seconds, cap, sample }) {
  const interval = 1000 / rate;
  const total = Math.floor(rate * seconds);
  // Per create, ms since the start: when it was sent and answered (NaN until then), and whether it failed.
  const sentAt = new Float64Array(total).fill(NaN);
  const doneAt = new Float64Array(total).fill(NaN);
  const failed = new Uint8Array(total);
  const problems = new Map();
  let inFlight = 0;
  let maxInFlight = 0;
  let next = 0;
  const t0 = performance.now();
  const now = () => performance.now() - t0;

  const fail = (i, problem) => {
    failed[i] = 1;
    // Counted by kind: pod names and numbers made alike, so one cause is one entry.
    const kind = problem.replace(/\d+/g, 'N').slice(0, 300);
    problems.set(kind, (problems.get(kind) ?? 0) + 1);
  };
  const send = (i) => {
    sentAt[i] = now();
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    const bytes = body(i);
    let status = 0;
    let ended = false;
    let problem;
    const chunks = [];
    let req;
    try {
      req = session.request({
        ':method': 'POST',
        ':path': path,
        'content-type': 'application/json',
        accept: 'application/json',
        'content-length': bytes.length,
        ...headers,
      });
    } catch (e) {
      inFlight--;
      doneAt[i] = now();
      fail(i, `request not sent: ${e.message}`);
      return;
    }
    req.setTimeout(CLIENT_TIMEOUT_MS, () => {
      problem ??= `no answer within ${CLIENT_TIMEOUT_MS} ms`;
      req.close(http2.NGHTTP2_CANCEL);
    });
    req.on('response', (h) => (status = h[':status']));
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => (ended = true));
    req.on('error', (e) => (problem ??= e.message));
    // 'close' comes last whatever happened, once per stream: the one place a create is finished.
    req.on('close', () => {
      inFlight--;
      doneAt[i] = now();
      if (!problem && !ended) problem = `stream closed before its end (code ${req.rstCode})`;
      if (!problem) {
        const text = Buffer.concat(chunks).toString();
        problem = status !== 201 ? `HTTP ${status}: ${text.slice(0, 300)}` : check(text, i);
      }
      if (problem) fail(i, problem);
    });
    req.end(bytes);
  };

  const memory = [];
  const sampler = setInterval(() => {
    const t = now();
    void sample().then((m) => memory.push({ t, ...m }));
  }, 1000);
  const endAt = seconds * 1000;
  for (;;) {
    const t = now();
    if (t >= endAt) break;
    const due = Math.min(total, Math.floor(t / interval) + 1);
    while (next < due && inFlight < cap) send(next++);
    // Until the next create is due (timers fire on a millisecond at best), or a slot may have come free.
    await sleep(next < due ? 1 : Math.max(1, Math.min(next * interval - now(), 50)));
  }
  const unsent = total - next;
  // Whatever is in flight is answered or times out (CLIENT_TIMEOUT_MS) before the figures are made.
  while (inFlight > 0) await sleep(10);
  clearInterval(sampler);
  memory.push({ t: now(), ...(await sample()) });
  memory.sort((a, b) => a.t - b.t);
  const wallMs = now();

  const fromDue = [];
  const fromSend = [];
  const lag = [];
  let errors = 0;
  for (let i = 0; i < next; i++) {
    lag.push(sentAt[i] - i * interval);
    if (failed[i]) errors++;
    else {
      fromDue.push(doneAt[i] - i * interval);
      fromSend.push(doneAt[i] - sentAt[i]);
    }
  }
  const lagSorted = Float64Array.from(lag).sort();

  // Per second of the run: sends by the second they were sent in; answers, errors and latencies by the second they
  // were answered in (what a monitor of the client would show for that second).
  const secondsRun = Math.ceil(wallMs / 1000);
  const rows = Array.from({ length: secondsRun }, () => ({ sent: 0, completed: 0, errors: 0, due: [], send: [] }));
  for (let i = 0; i < next; i++) {
    rows[Math.min(secondsRun - 1, Math.floor(sentAt[i] / 1000))].sent++;
    const row = rows[Math.min(secondsRun - 1, Math.floor(doneAt[i] / 1000))];
    if (failed[i]) row.errors++;
    else {
      row.completed++;
      row.due.push(doneAt[i] - i * interval);
      row.send.push(doneAt[i] - sentAt[i]);
    }
  }
  const series = rows.map((r, s) => {
    const due = Float64Array.from(r.due).sort();
    const send = Float64Array.from(r.send).sort();
    // The memory sampled at the end of this second (the sampler's k-th reading is at about k + 1 s).
    const reading = memory.find((x) => x.t >= (s + 1) * 1000 - 500) ?? memory.at(-1);
    return {
      second: s,
      sent: r.sent,
      completed: r.completed,
      errors: r.errors,
      p50Ms: ms(at(due, 0.5)),
      p99Ms: ms(at(due, 0.99)),
      maxMs: ms(at(due, 1)),
      sendP50Ms: ms(at(send, 0.5)),
      sendP99Ms: ms(at(send, 0.99)),
      sendMaxMs: ms(at(send, 1)),
      rssMiB: reading?.rssMiB ?? null,
      heapUsedMiB: reading?.heapUsedMiB ?? null,
    };
  });

  const { perSecond, ...fromDueStats } = stats(fromDue, wallMs, errors);
  const fromSendStats = stats(fromSend, wallMs, errors);
  return {
    rate,
    seconds,
    cap,
    due: total,
    sent: next,
    unsent,
    completed: fromDue.length,
    errors,
    // Answered per second while creates were due (the run's length), not counting the drain after it.
    completedPerSecond: round(
      (fromDue.length - doneAt.filter((d, i) => i < next && !failed[i] && d > endAt).length) / seconds,
      0,
    ),
    answeredPerSecondOverall: perSecond,
    maxInFlight,
    fromDue: { p50Ms: fromDueStats.p50Ms, p99Ms: fromDueStats.p99Ms, maxMs: fromDueStats.maxMs },
    fromSend: { p50Ms: fromSendStats.p50Ms, p99Ms: fromSendStats.p99Ms, maxMs: fromSendStats.maxMs },
    // How late a create was sent against its schedule: this process's timers, or waits for a slot at the cap.
    sendLagMs: { p50: ms(at(lagSorted, 0.5)), p99: ms(at(lagSorted, 0.99)), max: ms(at(lagSorted, 1)) },
    problems: Object.fromEntries([...problems].sort((a, b) => b[1] - a[1]).slice(0, 10)),
    wallMs: round(wallMs, 0),
    rss: trend(memory.map((r) => r.rssMiB).filter((x) => x !== undefined)),
    heapUsed: trend(memory.map((r) => r.heapUsedMiB).filter((x) => x !== undefined)),
    series,
  };
}

/** min, max, the means of the first and last thirds of the readings, and a least-squares slope in MiB per minute. */
function trend(readings) {
  if (readings.length === 0) return null;
  const third = Math.max(1, Math.floor(readings.length / 3));
  const xm = (readings.length - 1) / 2;
  const ym = mean(readings);
  let num = 0;
  let den = 0;
  readings.forEach((y, x) => {
    num += (x - xm) * (y - ym);
    den += (x - xm) ** 2;
  });
  return {
    readings: readings.length,
    minMiB: Math.min(...readings),
    maxMiB: Math.max(...readings),
    firstThirdMiB: round(mean(readings.slice(0, third)), 1),
    lastThirdMiB: round(mean(readings.slice(-third)), 1),
    // One reading a second, so the slope per reading times 60.
    slopeMiBPerMin: den > 0 ? round((num / den) * 60, 1) : 0,
  };
}

async function main(argv) {
  const option = (name) => {
    const i = argv.indexOf(name);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const number = (name, fallback) => {
    const raw = option(name);
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!(n > 0)) throw new Error(`${name}: expected a positive number, got ${JSON.stringify(raw)}`);
    return n;
  };
  const stateDir = option('--state');
  if (!stateDir) throw new Error('usage: node hack/bench-load.mjs --state DIR [--seconds N] ... (see its header)');
  const seconds = number('--seconds', 60);
  const baselineSeconds = number('--baseline-seconds', seconds);
  const probeSeconds = number('--probe-seconds', 5);
  const fixedRate = number('--rate', undefined);
  const dryRun = argv.includes('--dry-run');
  const [load0] = loadavg();

  const cluster = clusterEnv(resolve(stateDir));
  const work = mkdtempSync(join(tmpdir(), 'imprimatur-bench-load-'));
  const toolEnv = { DOCKER_CONFIG: cluster.vars.REGISTRY_DOCKER_CONFIG, COSIGN_PASSWORD: 'bench', COSIGN_YES: 'true' };
  // Its own namespace each run: without a controller manager, a deleted namespace stays Terminating for ever.
  const namespace = `bench-load-${Date.now().toString(36)}`;
  const log = (line) => process.stderr.write(`bench-load: ${line}\n`);
  let operator;
  let session;
  /** Set once the session is open: deletes the namespace's Pods (also after a run that failed half way). */
  let deletePods;
  try {
    await installOurCrds(cluster);
    await cluster.kubectl(['create', 'namespace', namespace]);

    // One image, signed with a key (cosign v3 bundle, its entry in the local Rekor).
    await must(bin('cosign'), ['generate-key-pair', '--output-key-prefix', join(work, 'k')], toolEnv);
    writeFileSync(join(work, 'blob'), randomBytes(2048));
    await must('tar', ['-C', work, '-cf', join(work, 'layer.tar'), 'blob']);
    const tagged = `${cluster.registry}/bench-load/app:v1`;
    const byDigest = (
      await must(bin('crane'), ['append', '--oci-empty-base', '-f', join(work, 'layer.tar'), '-t', tagged], toolEnv)
    ).trim();
    await must(
      bin('cosign'),
      [
        'sign',
        '--key',
        join(work, 'k.key'),
        '--use-signing-config=false',
        '--rekor-url',
        cluster.vars.REKOR_URL,
        byDigest,
      ],
      toolEnv,
    );
    const pinned = `${tagged}@${byDigest.split('@')[1]}`;

    const metricsPort = await freePort();
    operator = await startImprimatur(cluster, {
      logFile: join(cluster.state, 'logs', 'operator-bench-load.log'),
      name: 'operator-bench-load',
      // Its heap beside its RSS: whether a rising RSS is live objects or only V8's and the allocator's reserve.
      args: [`--metrics-bind-address=127.0.0.1:${metricsPort}`],
    });
    const pid = operator.pid;
    log(`operator ready (pid ${pid}, ${rssMiB(pid)} MiB)`);
    const webhooks = async () =>
      (
        await cluster.tryKubectl([
          'get',
          'mutatingwebhookconfiguration,validatingwebhookconfiguration',
          '-o',
          'jsonpath={range .items[*].webhooks[*]}{.name} {end}',
        ])
      ).stdout.trim();
    if ((await webhooks()) !== '') throw new Error(`webhooks registered before any policy: ${await webhooks()}`);

    // Node's default session memory (10 MiB) is too little for a few hundred streams in flight.
    session = await openSession(cluster.server, { ca: cluster.ca, maxSessionMemory: 256 });
    const podsPath = `/api/v1/namespaces/${namespace}/pods${dryRun ? '?dryRun=All' : ''}`;
    const headers = { authorization: `Bearer ${cluster.token}` };
    let seq = 0;
    /** Every Pod name sent since the last deletePods(). */
    const names = [];
    const podBody = (prefix) => () => {
      const name = `${prefix}-${seq++}`;
      if (!dryRun) names.push(name);
      return Buffer.from(
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name },
          spec: { containers: [{ name: 'c', image: tagged }] },
        }),
      );
    };
    const imageIs = (want) => (text) => {
      const stored = JSON.parse(text).spec?.containers?.[0]?.image;
      return stored === want ? undefined : `image ${stored}, expected ${want}`;
    };
    const closedLoop = (prefix, want, concurrency, maxMs, count = Infinity) =>
      drive(session, {
        path: podsPath,
        headers,
        body: podBody(prefix),
        concurrency,
        count,
        maxMs,
        check: imageIs(want),
      });
    const must0 = (what, r) => {
      if (r.errors > 0) throw new Error(`${what}: ${r.errors} creates failed; the first: ${r.firstError}`);
      return r;
    };
    // A request whose answer is read to its end and dropped unless `keep`: { status, text }.
    const call = (method, path, keep) =>
      new Promise((ok) => {
        const req = session.request({ ':method': method, ':path': path, accept: 'application/json', ...headers });
        let status = 0;
        const chunks = [];
        req.setTimeout(180_000, () => req.close(http2.NGHTTP2_CANCEL));
        req.on('response', (h) => (status = h[':status']));
        req.on('data', (c) => keep && chunks.push(c));
        req.on('error', () => undefined);
        req.on('close', () => ok({ status, text: Buffer.concat(chunks).toString() }));
        req.end();
      });
    // Every Pod created so far, so that each run starts from the same store (a Pod on no node goes at once): each by
    // name, DELETE_CONCURRENCY at a time (kube-apiserver's DELETE of a collection deletes one by one, at a fraction
    // of the rate), then whatever a list still finds (a create answered with an error may have been stored) by a
    // DELETE of the collection.
    deletePods = async () => {
      if (dryRun) return null;
      const started = performance.now();
      const collection = `/api/v1/namespaces/${namespace}/pods`;
      await pool(names.splice(0), DELETE_CONCURRENCY, (name) => call('DELETE', `${collection}/${name}`, false));
      await eventually(
        async () => {
          const left = await call('GET', `${collection}?limit=1`, true);
          if (left.status === 200 && JSON.parse(left.text).items.length === 0) return true;
          await call('DELETE', collection, false);
          return undefined;
        },
        'the Pods to be deleted',
        300_000,
      );
      return round((performance.now() - started) / 1000, 1);
    };

    // 1. The rate, with no webhook: warmed first (the API server's and this process's first requests are slow).
    must0('warm-up', await closedLoop('warmup', tagged, 8, 2_000));
    // The API server's stream limit (its SETTINGS are in by now): above it, streams would wait in this process and
    // look like the server's latency.
    const cap = Math.min(number('--cap', 256), session.remoteSettings.maxConcurrentStreams);
    const probe = [];
    let rate = fixedRate;
    if (rate === undefined) {
      let best = 0;
      let worse = 0;
      for (const concurrency of PROBE_LEVELS) {
        const r = must0(
          `rate search, ${concurrency}`,
          await closedLoop(`probe-c${concurrency}`, tagged, concurrency, probeSeconds * 1000),
        );
        probe.push({ concurrency, ...r });
        log(`no webhook, ${concurrency} in flight: ${r.perSecond} creates/s (p50 ${r.p50Ms} ms, p99 ${r.p99Ms} ms)`);
        if (r.perSecond > best * PROBE_GAIN) worse = 0;
        else if (++worse === 2) break;
        best = Math.max(best, r.perSecond);
      }
      rate = best;
    }
    const deleted = { afterProbe: await deletePods() };

    const memoryOf = async () => ({
      rssMiB: rssMiB(pid),
      heapUsedMiB: await heapUsedMiB(`http://127.0.0.1:${metricsPort}/metrics`),
    });
    const memoryIdle = await memoryOf();
    const pids = {
      'kube-apiserver': Number(readFileSync(join(cluster.state, 'pids', 'kube-apiserver'), 'utf8')),
      etcd: Number(readFileSync(join(cluster.state, 'pids', 'etcd'), 'utf8')),
      operator: pid,
      client: process.pid,
    };
    log(`no webhook, open loop at ${rate}/s for ${baselineSeconds} s`);
    const baselineCpu = cpuTimes(pids);
    const baseline = await openLoop(session, {
      path: podsPath,
      headers,
      body: podBody('none'),
      check: imageIs(tagged),
      rate,
      seconds: baselineSeconds,
      cap,
      sample: memoryOf,
    });
    baseline.coresBusy = coresBusy(baselineCpu, cpuTimes(pids), baseline.wallMs / 1000);
    deleted.afterBaseline = await deletePods();

    // 2. One policy, and the webhook it makes the operator register; warm (the image verified once, then hits).
    const policy = {
      apiVersion: 'kyverno.io/v1',
      kind: 'ClusterPolicy',
      metadata: { name: POLICY },
      spec: {
        validationFailureAction: 'Enforce',
        background: false,
        failurePolicy: 'Fail',
        webhookTimeoutSeconds: TIMEOUT_S,
        rules: [
          {
            name: 'check-image',
            match: { any: [{ resources: { kinds: ['Pod'], namespaces: [namespace] } }] },
            verifyImages: [
              {
                imageReferences: [`${cluster.registry}/bench-load/*`],
                attestors: [{ entries: [{ keys: { publicKeys: readFileSync(join(work, 'k.pub'), 'utf8') } }] }],
              },
            ],
          },
        ],
      },
    };
    await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(policy));
    await eventually(
      async () => {
        const ready = (
          await cluster.tryKubectl([
            'get',
            'clusterpolicy',
            POLICY,
            '-o',
            'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
          ])
        ).stdout.trim();
        return ready === 'True' && (await webhooks()) !== '' ? true : undefined;
      },
      'the policy to be Ready and its webhook registered',
      60_000,
    );
    // The first create after the registration may still reach no webhook (the API server's informer): wait for a pin.
    await eventually(
      async () => ((await closedLoop('first', pinned, 1, 10_000, 1)).errors === 0 ? true : undefined),
      'a create to be pinned',
      30_000,
    );
    must0('warm', await closedLoop('warm', pinned, 8, 30_000, WARM_CREATES));

    log(`webhook, open loop at ${rate}/s for ${seconds} s`);
    const durationsBefore = await webhookDurations(cluster);
    const webhookCpu = cpuTimes(pids);
    const webhook = await openLoop(session, {
      path: podsPath,
      headers,
      body: podBody('webhook'),
      check: imageIs(pinned),
      rate,
      seconds,
      cap,
      sample: memoryOf,
    });
    webhook.coresBusy = coresBusy(webhookCpu, cpuTimes(pids), webhook.wallMs / 1000);
    const apiserverWebhookCalls = webhookDelta(durationsBefore, await webhookDurations(cluster));
    const sameProcess = operator.child.exitCode === null && operator.child.signalCode === null;
    if (!sameProcess)
      throw new Error(`the operator exited during the run: ${operator.child.exitCode ?? operator.child.signalCode}`);
    deleted.afterWebhook = await deletePods();

    const report = {
      node: process.version,
      cpus: availableParallelism(),
      loadAverage: round(Math.max(load0, loadavg()[0]), 1),
      setup: {
        creates: dryRun ? 'server-side dry runs (?dryRun=All): nothing stored' : 'stored; deleted between the runs',
        policy:
          `one ClusterPolicy: Enforce, failurePolicy Fail, webhookTimeoutSeconds ${TIMEOUT_S}, ` +
          'a key attestor (ECDSA P-256), tlog required (local Rekor)',
        image: 'one container; cosign v3 bundle signature, olareg (referrers API) on loopback; warm (cache hit)',
        client: 'one HTTP/2 session with the kubeconfig token, windows of kube-apiserver’s Go client',
        cap,
        apiserverMaxStreams: session.remoteSettings.maxConcurrentStreams ?? null,
        timeoutSeconds: TIMEOUT_S,
        operatorPid: pid,
        operatorRssIdleMiB: memoryIdle.rssMiB,
        operatorHeapUsedIdleMiB: memoryIdle.heapUsedMiB,
        podsDeletedSeconds: deleted,
      },
      probe: probe.map(({ concurrency, count, perSecond, p50Ms, p99Ms, maxMs, errors }) => ({
        concurrency,
        count,
        perSecond,
        p50Ms,
        p99Ms,
        maxMs,
        errors,
      })),
      rate,
      rateFrom: fixedRate === undefined ? 'the best closed-loop creates/s with no webhook' : '--rate',
      baseline,
      webhook,
      apiserverWebhookCalls,
      operatorSameProcess: sameProcess,
    };
    report.verdict = {
      noErrors: { errors: webhook.errors, pass: webhook.errors === 0 },
      underTimeout: {
        maxFromSendMs: webhook.fromSend.maxMs,
        maxFromDueMs: webhook.fromDue.maxMs,
        limitMs: TIMEOUT_S * 1000,
        pass: webhook.completed > 0 && webhook.fromSend.maxMs < TIMEOUT_S * 1000,
      },
      rateKept: {
        due: webhook.due,
        unsent: webhook.unsent,
        completedPerSecond: webhook.completedPerSecond,
        rate,
        pass: webhook.unsent === 0 && webhook.completedPerSecond >= 0.99 * rate,
      },
    };
    report.table = markdown(report);
    return report;
  } catch (e) {
    await deletePods?.().catch(() => undefined);
    throw e;
  } finally {
    session?.close();
    await operator?.stop();
    rmSync(join(cluster.state, 'pids', 'operator-bench-load'), { force: true });
    await cluster.tryKubectl(['delete', 'clusterpolicy', POLICY, '--ignore-not-found']);
    // The namespace: its Pods go with it only with a controller manager, so each run deletes its own (above).
    await cluster.tryKubectl(['delete', 'namespace', namespace, '--wait=false']);
    rmSync(work, { recursive: true, force: true });
  }
}

/** nodejs_heap_size_used_bytes of the operator's /metrics, in MiB (undefined when it does not answer). */
function heapUsedMiB(url) {
  return new Promise((ok) => {
    const req = httpGet(url, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => {
        const m = /^nodejs_heap_size_used_bytes(?:\{[^}]*\})? (\S+)$/m.exec(text);
        ok(m ? round(Number(m[1]) / 2 ** 20, 1) : undefined);
      });
    });
    req.setTimeout(5_000, () => req.destroy());
    req.on('error', () => ok(undefined));
  });
}

const passFail = (ok) => (ok ? 'PASS' : 'FAIL');

function markdown(r) {
  const row = (name, x) =>
    `| ${name} | ${x.rate} | ${x.sent} | ${x.unsent} | ${x.completedPerSecond} | ${x.errors} | ` +
    `${x.fromDue.p50Ms} | ${x.fromDue.p99Ms} | ${x.fromDue.maxMs} | ${x.fromSend.p50Ms} | ${x.fromSend.p99Ms} | ` +
    `${x.fromSend.maxMs} | ${x.rss ? `${x.rss.minMiB}–${x.rss.maxMiB}` : '–'} |`;
  const lines = [];
  if (r.probe.length) {
    lines.push(
      'Highest rate with no webhook (closed loop: each stream sends its next create when its answer is in):',
      '',
      '| creates in flight | creates/s | p50 ms | p99 ms | max ms |',
      '|---:|---:|---:|---:|---:|',
      ...r.probe.map((p) => `| ${p.concurrency} | ${p.perSecond} | ${p.p50Ms} | ${p.p99Ms} | ${p.maxMs} |`),
      '',
    );
  }
  lines.push(
    `Open loop at ${r.rate} creates/s (${r.rateFrom}), ${r.webhook.seconds} s with the webhook ` +
      `(${r.baseline.seconds} s without), at most ${r.setup.cap} in flight; Pods ${r.setup.creates}. ` +
      'Latency from when each create was due, and from when it was sent:',
    '',
    '| webhook | due/s | sent | not sent | answered/s | errors | p50 ms | p99 ms | max ms | sent→ p50 ms | sent→ p99 ms | sent→ max ms | operator RSS MiB |',
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    row('none (no policy)', r.baseline),
    row('one ClusterPolicy, warm', r.webhook),
    '',
    'With the webhook, per 5 s (latency from when each create was due, by the second it was answered in):',
    '',
    '| s | sent/s | answered/s | errors | p50 ms | p99 ms | max ms | RSS MiB | heap used MiB |',
    '|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
  );
  const series = r.webhook.series;
  for (let s = 0; s < series.length; s += 5) {
    const w = series.slice(s, s + 5);
    const n = w.length;
    const num = (k) => w.map((x) => x[k]).filter((x) => x !== null);
    const worst = (k) => (num(k).length ? Math.max(...num(k)) : '–');
    const range = (k) => {
      const xs = num(k);
      return xs.length ? `${Math.min(...xs)}–${Math.max(...xs)}` : '–';
    };
    lines.push(
      `| ${s}–${s + n} | ${round(w.reduce((a, x) => a + x.sent, 0) / n, 0)} | ` +
        `${round(w.reduce((a, x) => a + x.completed, 0) / n, 0)} | ${w.reduce((a, x) => a + x.errors, 0)} | ` +
        // The windows' p50 and p99 are the worst of their seconds': percentiles do not add up.
        `${worst('p50Ms')} | ${worst('p99Ms')} | ${worst('maxMs')} | ${range('rssMiB')} | ${range('heapUsedMiB')} |`,
    );
  }
  const v = r.verdict;
  const { rss, heapUsed } = r.webhook;
  const calls = Object.entries(r.apiserverWebhookCalls)
    .map(([name, c]) => `${name} ${c.calls} calls, mean ${c.meanMs} ms`)
    .join('; ');
  lines.push(
    '',
    `No error: ${v.noErrors.errors} ${passFail(v.noErrors.pass)}` +
      (v.noErrors.pass ? '' : ` (${Object.keys(r.webhook.problems)[0] ?? ''})`),
    `No create slower than the webhook timeout (${v.underTimeout.limitMs} ms), from its send: max ` +
      `${v.underTimeout.maxFromSendMs} ms ${passFail(v.underTimeout.pass)} (from when it was due: ${v.underTimeout.maxFromDueMs} ms)`,
    `Rate kept: ${v.rateKept.completedPerSecond} of ${v.rateKept.rate} answered/s, ${v.rateKept.unsent} of ` +
      `${v.rateKept.due} not sent ${passFail(v.rateKept.pass)}`,
    `Operator memory (one process, pid ${r.setup.operatorPid}; before the runs RSS ${r.setup.operatorRssIdleMiB} MiB, ` +
      `heap used ${r.setup.operatorHeapUsedIdleMiB} MiB), with the webhook: ` +
      [
        ['RSS', rss],
        ['heap used', heapUsed],
      ]
        .map(([name, x]) =>
          x
            ? `${name} ${x.minMiB}–${x.maxMiB} MiB (first third ${x.firstThirdMiB}, last third ${x.lastThirdMiB}, ` +
              `slope ${x.slopeMiBPerMin} MiB/min)`
            : `${name} not sampled`,
        )
        .join('; '),
    `kube-apiserver's time in webhooks during the run: ${calls || 'none'}`,
    ...[
      ['no webhook', r.baseline],
      ['with the webhook', r.webhook],
    ].map(
      ([name, x]) =>
        `Cores busy ${name} (of ${r.cpus}): ` +
        Object.entries(x.coresBusy)
          .map(([p, c]) => `${p === 'others' ? 'other processes' : p} ${c}`)
          .join(', '),
    ),
  );
  return lines.join('\n');
}

const argv = process.argv.slice(2);
try {
  const report = await main(argv);
  process.stdout.write(`${report.table}\n`);
  if (report.loadAverage > report.cpus) {
    process.stdout.write(
      `\nNote: load average ${report.loadAverage} on ${report.cpus} CPUs: other processes took CPU time during the run.\n`,
    );
  }
  const i = argv.indexOf('--out');
  const out = resolve(i >= 0 ? argv[i + 1] : join(ROOT, 'test-results', 'bench-load.json'));
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
} catch (e) {
  process.stderr.write(`bench-load: ${e.stack ?? e}\n`);
  process.exitCode = 1;
}
