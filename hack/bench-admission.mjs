// The admission figures of `make bench` (issue 10): what one admission costs once its images are verified, and what
// the webhook adds to a Pod create through kube-apiserver. Targets are reported as PASS/FAIL, never enforced.
//
// 1. Server side, warm cache, in process. The webhook server (startWebhookServer: HTTP/2 + TLS, as kube-apiserver
//    calls it) with a mutate that is the operator's (handleMutate), 20 compiled ClusterPolicies, each one
//    verifyImages rule over `*` with a key attestor, and a VerificationCache primed so that every image of the Pod
//    (3 containers, 3 images) is a hit for every policy: 60 lookups, 3 digest pins and 20 annotation entries per
//    admission; the registry is one that fails the run if it is ever asked. The operator's logger at its default
//    level (info, one JSON line per admission), written to a sink. Beside it, a bare node:http2 server with the same
//    TLS, SETTINGS and JSON body parse that answers allowed, and the webhook server answering with the admission's
//    response made beforehand (the handler costs nothing): what the response's size (the Kyverno annotations of 20
//    policies × 3 images, about 11 KiB) costs by itself, the ceiling for any handler that writes them. All are driven
//    the same way, by a load generator in a worker thread (its own event loop and core): one HTTP/2 session with the
//    flow-control windows of kube-apiserver's Go client, C streams in flight (a closed loop), a fixed count of
//    requests, bounded in time. Targets: p99 ≤ 1 ms (unloaded: one stream in flight), and at the highest
//    concurrency ≥ 70 % of the bare server's admissions per second. Also handleMutate alone, called in a loop, to
//    show how the time splits between the handler and the transport.
// 2. Through kube-apiserver (only with --state DIR, a cluster from hack/cluster-up.sh): the operator
//    (bin/imprimatur run --local), Pod creates over HTTP/2 with the kubeconfig's token, C in flight, against the
//    apiserver with no policy (no webhook registered, so it is not called) and then with one ClusterPolicy
//    verifying a key signature (cosign v3 bundle, logged in the local Rekor) on the local registry's images: cold
//    (each Pod names an image signed just before, never verified) and warm (the same image again and again); then
//    the operator is stopped and started again, and the creates after it is ready are measured on their own, one at
//    a time: the first (which verifies the image again) and the next 30: what a new replica costs before it is warm
//    (webhook/warm-up.ts runs the admission path before /readyz).
//
// Usage: node hack/bench-admission.mjs [--state DIR] [--out FILE] [--quick]
//   --state DIR   also measure through kube-apiserver, with the cluster whose state folder is DIR.
//   --out FILE    where the JSON goes (default test-results/bench-admission.json); the markdown table is in it too.
//   --quick       fewer requests (a smoke test of the script itself).
// Exits non-zero only when a measurement fails (an error, a wrong answer); missed targets are reported.
import { randomBytes } from 'node:crypto';
import { Buffer } from 'node:buffer';
import { once } from 'node:events';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createSecureServer } from 'node:http2';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { performance } from 'node:perf_hooks';
import { Writable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath, URL } from 'node:url';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import {
  bin,
  clusterEnv,
  drive,
  installOurCrds,
  must,
  openSession,
  pool,
  round,
  run,
  startImprimatur,
  stats,
} from './bench-support.mjs';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const dist = (path) => new URL(`dist/${path}`, new URL('..', import.meta.url)).href;

const TARGET_P99_MS = 1;
/** Admissions measured right after the operator starts: the "first 30 after a start". */
const RESTART_CREATES = 30;
const TARGET_RATIO = 0.7;
const POLICIES = 20;
const IMAGES = [
  'registry.bench.invalid/team/api:v1',
  'registry.bench.invalid/team/web:v2',
  'docker.io/library/nginx:1',
];
/** The digest each image "resolved" to when it was verified (the pins the webhook writes). */
const digestOf = (i) => `sha256:${String(i + 1).repeat(64)}`;
/** Streams in flight (one HTTP/2 session): 1 for latency, the highest for throughput. The server allows 100. */
const LEVELS = [1, 8, 64];

/** The worker thread: drives whatever server the main thread names, one run per message. */
function runLoadWorker() {
  parentPort.on('message', async ({ port, ca, path, body, concurrency, count, maxMs, check }) => {
    const session = await openSession(`https://127.0.0.1:${port}`, { ca, servername: 'localhost' });
    // Verifies the answer once per run (the first), so that parsing does not load the client in the loop.
    let checked = false;
    const verify = (text) => {
      if (checked) return undefined;
      checked = true;
      const review = JSON.parse(text);
      if (review.response?.allowed !== true) return `not allowed: ${text.slice(0, 300)}`;
      if (check === 'patched' && !review.response.patch) return `no patch: ${text.slice(0, 300)}`;
      return undefined;
    };
    const result = await drive(session, { path, body: Buffer.from(body), concurrency, count, maxMs, check: verify });
    session.close();
    parentPort.postMessage(result);
  });
}

// ---------------------------------------------------------------------------------------------------------------
// Part 1: the webhook server and the bare server, in this process.

/** The AdmissionReview of webhook/testdata, its Pod given 3 containers (one per image). */
function admissionReview() {
  const review = JSON.parse(readFileSync(join(ROOT, 'webhook', 'testdata', 'admission-create-pod.json'), 'utf8'));
  const [first] = review.request.object.spec.containers;
  review.request.object.spec.containers = IMAGES.map((image, i) => ({ ...first, name: `c${i}`, image }));
  return review;
}

function compilePolicies(compile, publicKey) {
  return Array.from({ length: POLICIES }, (_, i) => {
    const compiled = compile({
      apiVersion: 'kyverno.io/v1',
      kind: 'ClusterPolicy',
      metadata: { name: `bench-${String(i).padStart(2, '0')}`, uid: `uid-${i}`, resourceVersion: '1' },
      spec: {
        validationFailureAction: 'Enforce',
        webhookTimeoutSeconds: 10,
        rules: [
          {
            name: 'verify',
            match: { any: [{ resources: { kinds: ['Pod'] } }] },
            verifyImages: [
              {
                imageReferences: ['*'],
                attestors: [{ entries: [{ keys: { publicKeys: publicKey, rekor: { ignoreTlog: true } } }] }],
              },
            ],
          },
        ],
      },
    });
    if (!compiled.ok) throw new Error(`policy ${i}: ${JSON.stringify(compiled.error)}`);
    return compiled.value;
  });
}

/** A registry that must never be asked: every image is a cache hit. */
function refusingRegistry() {
  const calls = { count: 0 };
  const refuse = async () => {
    calls.count++;
    throw new Error('bench: the registry was asked, so some image was not a cache hit');
  };
  return { calls, registry: { resolveDigest: refuse, getManifest: refuse, getBlob: refuse, listReferrers: refuse } };
}

/** The bare server: the same TLS and SETTINGS, the same HTTP/2 API (streams) and body parse, and an answer of allowed. */
function startBareServer(tls, settings) {
  const server = createSecureServer({ cert: tls.certPem, key: tls.keyPem, minVersion: 'TLSv1.2', settings });
  server.on('stream', (stream) => {
    stream.on('error', () => {});
    const chunks = [];
    stream.on('data', (c) => chunks.push(c));
    stream.on('end', () => {
      const review = JSON.parse(Buffer.concat(chunks).toString('utf8'));
      const body = JSON.stringify({
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        response: { uid: review.request.uid, allowed: true },
      });
      stream.respond({ ':status': 200, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
      stream.end(body);
    });
  });
  return new Promise((ok) =>
    server.listen(0, '127.0.0.1', () =>
      ok({ port: server.address().port, close: () => new Promise((done) => server.close(done)) }),
    ),
  );
}

async function serverSide(quick) {
  const { compile, RuleCache } = await import(dist('pkg/policy/index.js'));
  const { VerificationCache, toCacheKey } = await import(dist('pkg/cache/index.js'));
  const { allowed, handleMutate, startWebhookServer, decodeAdmissionReview, toReview } = await import(
    dist('webhook/index.js')
  );
  const { createLogger, createSilentLogger } = await import(dist('pkg/log/index.js'));
  const { createServingCertificates } = await import(dist('pkg/tls/index.js'));
  const { HTTP2_SETTINGS } = await import(dist('webhook/server.js'));

  const tls = await createServingCertificates({ hosts: ['localhost', '127.0.0.1'], validityDays: 1, now: new Date() });
  const { generateKeyPairSync } = await import('node:crypto');
  const publicKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({
    type: 'spki',
    format: 'pem',
  });
  const rules = new RuleCache();
  for (const p of compilePolicies(compile, publicKey)) rules.upsert(p);
  rules.markWarm();
  const cache = new VerificationCache({ now: Date.now });
  for (const policy of rules.policies()) {
    for (const rule of policy.rules) {
      for (const [i, image] of IMAGES.entries()) {
        const key = toCacheKey(policy, rule.name, 0, image);
        await cache.getOrVerify(key, async () => ({ pass: true, digest: digestOf(i), value: undefined }));
      }
    }
  }
  const { calls, registry } = refusingRegistry();
  // The operator's logger at its default level, into a sink: the JSON line of each admission is made, not kept.
  const sink = new Writable({ write: (_chunk, _enc, done) => done() });
  const infoLog = createLogger({ level: 'info', stream: sink });
  const deps = (log) => ({ registry, cache, policies: () => rules.policies(), log, now: () => performance.now() });

  const review = admissionReview();
  const decoded = decodeAdmissionReview(review);
  if (!decoded.ok) throw new Error(decoded.error);
  // One admission first: it must be admitted with the three pins, every image a hit.
  const first = await handleMutate(decoded.value.request, deps(infoLog));
  const patch = JSON.parse(Buffer.from(first.patch ?? '', 'base64').toString() || '[]');
  const pins = patch.filter((p) => p.op === 'replace' && /\/image$/.test(p.path));
  if (!first.allowed || pins.length !== IMAGES.length || calls.count > 0) {
    throw new Error(`the primed admission was not a warm pass: ${JSON.stringify(first).slice(0, 400)}`);
  }
  const before = cache.stats();

  // handleMutate alone: the handler's own cost, without HTTP, TLS or JSON of the review.
  const handlerAlone = async (log, n) => {
    const latencies = [];
    const t0 = performance.now();
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      await handleMutate(decoded.value.request, deps(log));
      latencies.push(performance.now() - s);
    }
    return stats(latencies, performance.now() - t0, 0);
  };
  const handlerN = quick ? 500 : 5000;
  await handlerAlone(infoLog, handlerN); // warm-up
  const handler = {
    info: await handlerAlone(infoLog, handlerN),
    silent: await handlerAlone(createSilentLogger(), handlerN),
  };

  const log = createLogger({ level: 'info', stream: sink });
  const webhook = await startWebhookServer({
    tls,
    host: '127.0.0.1',
    port: 0,
    log,
    isReady: () => rules.isWarm,
    mutate: (request) => handleMutate(request, deps(log)),
  });
  // The same server with a mutate that answers allowed at once: what the server layer costs by itself.
  const empty = await startWebhookServer({
    tls,
    host: '127.0.0.1',
    port: 0,
    log,
    isReady: () => true,
    mutate: (request) => allowed(request.uid),
  });
  // The same server answering with the primed admission's response: the transport's cost of its size alone.
  const replay = await startWebhookServer({
    tls,
    host: '127.0.0.1',
    port: 0,
    log,
    isReady: () => true,
    mutate: (request) => ({ ...first, uid: request.uid }),
  });
  const bare = await startBareServer(tls, HTTP2_SETTINGS);

  const worker = new Worker(fileURLToPath(import.meta.url));
  const failed = new Promise((_, fail) => worker.once('error', fail));
  const load = async (port, check, concurrency, count) => {
    worker.postMessage({
      port,
      ca: tls.caPem,
      path: '/mutate',
      body: JSON.stringify(review),
      concurrency,
      count,
      maxMs: 20_000,
      check,
    });
    const [result] = await Promise.race([once(worker, 'message'), failed]);
    if (result.errors > 0) throw new Error(`${result.errors} requests failed; the first: ${result.firstError}`);
    return result;
  };
  const count = (c) => (quick ? 500 : c === 1 ? 5000 : 10_000);
  const rows = [];
  // Warm-up of both servers (JIT, TLS session), then each level: webhook and bare in turn, twice, each run's best.
  await load(webhook.port, 'patched', 8, quick ? 500 : 5000);
  await load(empty.port, 'allowed', 8, quick ? 500 : 5000);
  await load(replay.port, 'patched', 8, quick ? 500 : 5000);
  await load(bare.port, 'allowed', 8, quick ? 500 : 5000);
  for (const concurrency of LEVELS) {
    const runs = { webhook: [], empty: [], replay: [], bare: [] };
    for (let r = 0; r < 2; r++) {
      runs.webhook.push(await load(webhook.port, 'patched', concurrency, count(concurrency)));
      runs.empty.push(await load(empty.port, 'allowed', concurrency, count(concurrency)));
      runs.replay.push(await load(replay.port, 'patched', concurrency, count(concurrency)));
      runs.bare.push(await load(bare.port, 'allowed', concurrency, count(concurrency)));
    }
    const best = (list) => list.reduce((a, b) => (b.perSecond > a.perSecond ? b : a));
    rows.push({
      concurrency,
      webhook: best(runs.webhook),
      empty: best(runs.empty),
      replay: best(runs.replay),
      bare: best(runs.bare),
      runs,
    });
  }
  await worker.terminate();
  await webhook.close();
  await empty.close();
  await replay.close();
  await bare.close();
  if (calls.count > 0) throw new Error('the registry was asked during the run');
  const stats2 = cache.stats();

  const unloaded = rows.find((r) => r.concurrency === 1);
  const loaded = rows.at(-1);
  const ratio = loaded.webhook.perSecond / loaded.bare.perSecond;
  return {
    setup: {
      policies: POLICIES,
      imagesPerPod: IMAGES.length,
      cacheLookupsPerAdmission: POLICIES * IMAGES.length,
      cacheHitsDuringRun: stats2.hits - before.hits,
      cacheMissesDuringRun: stats2.misses - before.misses,
      registryCalls: calls.count,
      reviewBytes: Buffer.byteLength(JSON.stringify(review)),
      responseBytes: Buffer.byteLength(JSON.stringify(toReview(first))),
      log: 'info, JSON to a sink',
    },
    handler,
    levels: rows,
    targets: {
      p99: {
        limitMs: TARGET_P99_MS,
        concurrency: 1,
        p99Ms: unloaded.webhook.p99Ms,
        pass: unloaded.webhook.p99Ms <= TARGET_P99_MS,
      },
      throughput: {
        minRatio: TARGET_RATIO,
        concurrency: loaded.concurrency,
        ratio: round(ratio),
        pass: ratio >= TARGET_RATIO,
        // The same response with no handler at all: above it no handler can go.
        ceilingRatio: round(loaded.replay.perSecond / loaded.bare.perSecond),
      },
    },
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Part 2: through kube-apiserver, with the operator running.

async function throughApiserver(state, quick) {
  const cluster = clusterEnv(state);
  const { vars, kubeconfig, server, token, ca, registry, kubectl } = cluster;
  const work = mkdtempSync(join(tmpdir(), 'imprimatur-bench-admission-'));
  const toolEnv = { DOCKER_CONFIG: vars.REGISTRY_DOCKER_CONFIG, COSIGN_PASSWORD: 'bench', COSIGN_YES: 'true' };
  // Its own namespace each run: without a controller manager, a deleted namespace stays Terminating for ever.
  const namespace = `bench-admission-${Date.now().toString(36)}`;
  let operator;
  try {
    await installOurCrds(cluster);
    await run(bin('kubectl'), ['create', 'namespace', namespace], { KUBECONFIG: kubeconfig });

    // Images: one warm, and one per cold create, each signed (cosign v3 bundle, logged in the local Rekor).
    await must(bin('cosign'), ['generate-key-pair', '--output-key-prefix', join(work, 'k')], toolEnv);
    const coldPerLevel = quick ? 4 : 24;
    const coldLevels = [1, 8];
    const names = [
      'warm',
      ...coldLevels.flatMap((c) => Array.from({ length: coldPerLevel }, (_, i) => `cold-c${c}-${i}`)),
    ];
    const signStarted = performance.now();
    const images = await pool(names, 4, async (name) => {
      const dir = mkdtempSync(join(work, 'img-'));
      writeFileSync(join(dir, 'blob'), randomBytes(2048));
      await must('tar', ['-C', dir, '-cf', join(dir, 'layer.tar'), 'blob']);
      const tagged = `${registry}/bench/${name}:v1`;
      const pushed = (
        await must(bin('crane'), ['append', '--oci-empty-base', '-f', join(dir, 'layer.tar'), '-t', tagged], toolEnv)
      ).trim();
      await must(
        bin('cosign'),
        ['sign', '--key', join(work, 'k.key'), '--use-signing-config=false', '--rekor-url', vars.REKOR_URL, pushed],
        toolEnv,
      );
      return { name, tagged, digest: pushed.split('@')[1] };
    });
    const signSeconds = round((performance.now() - signStarted) / 1000, 1);
    process.stderr.write(`bench: pushed and signed ${images.length} images in ${signSeconds} s\n`);

    const logFile = join(state, 'logs', 'operator-bench.log');
    const startOperator = async () => {
      operator = await startImprimatur(cluster, { logFile });
    };
    const stopOperator = () => operator.stop();
    await startOperator();
    const webhooks = async () =>
      (
        await run(
          bin('kubectl'),
          ['get', 'mutatingwebhookconfiguration', '-o', 'jsonpath={range .items[*].webhooks[*]}{.name} {end}'],
          { KUBECONFIG: kubeconfig },
        )
      ).stdout.trim();
    const admissionLines = () =>
      readFileSync(logFile, 'utf8')
        .split('\n')
        .filter((l) => l.includes('"message":"admission"')).length;

    const session = await openSession(server, { ca });
    let podSeq = 0;
    const creates = (phase, image, concurrency, count, pinned) => {
      const prefix = `${phase}-c${concurrency}-`;
      const list = Array.isArray(image) ? image : undefined;
      return drive(session, {
        path: `/api/v1/namespaces/${namespace}/pods`,
        headers: { authorization: `Bearer ${token}` },
        body: (i) =>
          Buffer.from(
            JSON.stringify({
              apiVersion: 'v1',
              kind: 'Pod',
              metadata: { name: `${prefix}${i}-${podSeq++}` },
              spec: { containers: [{ name: 'c', image: list ? list[i].tagged : image.tagged }] },
            }),
          ),
        concurrency,
        count,
        maxMs: 120_000,
        check: (text, i) => {
          const stored = JSON.parse(text).spec.containers[0].image;
          const want = list ? list[i] : image;
          if (pinned && stored !== `${want.tagged}@${want.digest}`) return `not pinned: ${stored}`;
          if (!pinned && stored !== want.tagged) return `changed without a policy: ${stored}`;
          return undefined;
        },
      });
    };
    const fail = (what, r) => {
      if (r.errors > 0) throw new Error(`${what}: ${r.errors} creates failed; the first: ${r.firstError}`);
      return r;
    };
    const warmImage = images[0];
    const N = quick ? 40 : 200;
    const levels = [1, 8, 32];

    // No policy: the operator registers no webhook, so the apiserver calls none.
    if ((await webhooks()) !== '') throw new Error(`webhooks registered before any policy: ${await webhooks()}`);
    fail('warm-up', await creates('warmup', warmImage, 8, N, false));
    const baseline = {};
    for (const c of levels) baseline[c] = fail(`no policy, ${c}`, await creates('none', warmImage, c, N, false));

    const policy = {
      apiVersion: 'kyverno.io/v1',
      kind: 'ClusterPolicy',
      metadata: { name: 'bench-check-image' },
      spec: {
        validationFailureAction: 'Enforce',
        background: false,
        webhookTimeoutSeconds: 30,
        failurePolicy: 'Fail',
        rules: [
          {
            name: 'check-image',
            match: { any: [{ resources: { kinds: ['Pod'], namespaces: [namespace] } }] },
            verifyImages: [
              {
                imageReferences: [`${registry}/bench/*`],
                attestors: [{ entries: [{ keys: { publicKeys: readFileSync(join(work, 'k.pub'), 'utf8') } }] }],
              },
            ],
          },
        ],
      },
    };
    writeFileSync(join(work, 'policy.json'), JSON.stringify(policy));
    await kubectl(['apply', '-f', join(work, 'policy.json')]);
    for (let i = 0; ; i++) {
      const ready = (
        await run(
          bin('kubectl'),
          [
            'get',
            'clusterpolicy',
            'bench-check-image',
            '-o',
            'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
          ],
          { KUBECONFIG: kubeconfig },
        )
      ).stdout.trim();
      if (ready === 'True' && (await webhooks()) !== '') break;
      if (i > 120) throw new Error(`policy not Ready (${ready}) or no webhook registered`);
      await sleep(250);
    }
    const linesBefore = admissionLines();

    // Cold: each create names an image nobody has verified yet.
    const cold = {};
    for (const c of coldLevels) {
      const list = images.filter((im) => im.name.startsWith(`cold-c${c}-`));
      cold[c] = fail(`cold, ${c}`, await creates('cold', list, c, list.length, true));
    }
    // Warm: the same image; the first create verifies it, every later one is a cache hit.
    const firstWarm = fail('first warm', await creates('first', warmImage, 1, 1, true));
    const warm = {};
    for (const c of levels) warm[c] = fail(`warm, ${c}`, await creates('warm', warmImage, c, N, true));

    // A start: a new operator process (a rollout, a new replica), ready by its own /readyz, then the first
    // RESTART_CREATES admissions one at a time, of the same image (verified afresh by the first, then cache hits).
    await stopOperator();
    await startOperator();
    for (let i = 0; (await webhooks()) === ''; i++) {
      if (i > 120) throw new Error('no webhook registered after the restart');
      await sleep(250);
    }
    // The first verifies the image again (a new process has an empty cache): measured on its own, as cold is.
    const restartFirst = fail('first after a start', await creates('restart-first', warmImage, 1, 1, true));
    const restart = fail('after a start', await creates('restart', warmImage, 1, RESTART_CREATES, true));
    session.close();
    await sleep(500); // let the operator's log catch up
    const admissions = admissionLines() - linesBefore;
    const expected = coldLevels.length * coldPerLevel + 1 + levels.length * N + 1 + RESTART_CREATES;

    const added = (a, b) => ({ p50Ms: round(a.p50Ms - b.p50Ms), p99Ms: round(a.p99Ms - b.p99Ms) });
    return {
      setup: {
        policy: 'one ClusterPolicy: a key attestor (ECDSA P-256), tlog required (local Rekor), on the local registry',
        image: 'one container; cosign v3 bundle signature, olareg (referrers API) on loopback',
        podsPerLevel: N,
        coldPerLevel,
        restartCreates: RESTART_CREATES,
        admissionsLogged: admissions,
        admissionsExpected: expected,
      },
      baseline,
      cold,
      firstWarm,
      warm,
      restartFirst,
      restart,
      added: {
        restart: added(restart, baseline[1]),
        cold: Object.fromEntries(coldLevels.map((c) => [c, added(cold[c], baseline[c])])),
        warm: Object.fromEntries(levels.map((c) => [c, added(warm[c], baseline[c])])),
      },
    };
  } finally {
    await operator?.stop();
    await run(bin('kubectl'), ['delete', 'clusterpolicy', 'bench-check-image', '--ignore-not-found'], {
      KUBECONFIG: kubeconfig,
    });
    await run(bin('kubectl'), ['delete', 'namespace', namespace, '--wait=false'], { KUBECONFIG: kubeconfig });
    rmSync(work, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Report.

const passFail = (ok) => (ok ? 'PASS' : 'FAIL');
const signed = (x) => `${x >= 0 ? '+' : ''}${round(x)}`;

function markdown(report) {
  const s = report.server;
  const lines = [
    `Server side, warm cache, in process (${s.setup.policies} ClusterPolicies × ${s.setup.imagesPerPod} images = ` +
      `${s.setup.cacheLookupsPerAdmission} cache hits per admission; HTTP/2 + TLS on loopback, one session):`,
    '',
    '| server | streams in flight | p50 ms | p99 ms | admissions/s | of bare |',
    '|---|---:|---:|---:|---:|---:|',
    ...s.levels.flatMap((r) =>
      [
        ['webhook, 20 policies, warm', r.webhook],
        ['webhook server, mutate → allowed', r.empty],
        ['webhook server, same response made beforehand', r.replay],
        ['bare node:http2 → allowed', r.bare],
      ].map(
        ([name, x]) =>
          `| ${name} | ${r.concurrency} | ${x.p50Ms} | ${x.p99Ms} | ${x.perSecond} | ` +
          `${Math.round((100 * x.perSecond) / r.bare.perSecond)} % |`,
      ),
    ),
    '',
    `handleMutate alone (no HTTP): p50 ${s.handler.info.p50Ms} ms, p99 ${s.handler.info.p99Ms} ms, ` +
      `${s.handler.info.perSecond}/s with the info log line; ${s.handler.silent.p50Ms} / ${s.handler.silent.p99Ms} ms, ` +
      `${s.handler.silent.perSecond}/s without.`,
    '',
    `Targets: p99 ≤ ${TARGET_P99_MS} ms at one stream in flight: ${s.targets.p99.p99Ms} ms ${passFail(s.targets.p99.pass)}; ` +
      `throughput ≥ ${TARGET_RATIO * 100} % of the bare server at ${s.targets.throughput.concurrency} streams: ` +
      `${Math.round(s.targets.throughput.ratio * 100)} % ${passFail(s.targets.throughput.pass)} ` +
      `(the same ${s.setup.responseBytes}-byte response made beforehand: ` +
      `${Math.round(s.targets.throughput.ceilingRatio * 100)} %).`,
  ];
  const a = report.apiserver;
  if (a) {
    const row = (name, c, r, base) =>
      `| ${name} | ${c} | ${r.count} | ${r.perSecond} | ${r.p50Ms} | ${r.p99Ms} | ` +
      `${base ? signed(r.p50Ms - base.p50Ms) : '–'} | ${base ? signed(r.p99Ms - base.p99Ms) : '–'} |`;
    lines.push(
      '',
      'Through kube-apiserver (Pod creates over HTTP/2, one container, the operator with one key-verifying ClusterPolicy):',
      '',
      '| webhook | creates in flight | creates | creates/s | p50 ms | p99 ms | added p50 ms | added p99 ms |',
      '|---|---:|---:|---:|---:|---:|---:|---:|',
      ...Object.entries(a.baseline).map(([c, r]) => row('none (no policy)', c, r)),
      ...Object.entries(a.cold).map(([c, r]) => row('cold (new signed image each)', c, r, a.baseline[c])),
      ...Object.entries(a.warm).map(([c, r]) => row('warm (same image, cache hit)', c, r, a.baseline[c])),
      ...(a.restart
        ? [
            row('first after a start (verifies again)', 1, a.restartFirst, a.baseline['1']),
            row(`next ${a.restart.count} after a start (cache hits)`, 1, a.restart, a.baseline['1']),
          ]
        : []),
    );
  }
  return lines.join('\n');
}

async function main(argv) {
  const option = (name) => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const quick = argv.includes('--quick');
  const state = option('--state');
  const out = resolve(option('--out') ?? join(ROOT, 'test-results', 'bench-admission.json'));
  const [load0] = loadavg();
  const server = await serverSide(quick);
  const apiserver = state ? await throughApiserver(resolve(state), quick) : null;
  const report = {
    node: process.version,
    cpus: availableParallelism(),
    loadAverage: round(Math.max(load0, loadavg()[0]), 1),
    quick,
    server,
    apiserver,
  };
  report.table = markdown(report);
  process.stdout.write(`${report.table}\n`);
  if (report.loadAverage > report.cpus) {
    process.stdout.write(
      `\nNote: load average ${report.loadAverage} on ${report.cpus} CPUs: other processes took CPU time during the run.\n`,
    );
  }
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
  return 0;
}

if (isMainThread) {
  process.exitCode = await main(process.argv.slice(2)).catch((e) => {
    process.stderr.write(`bench-admission: ${e.stack ?? e}\n`);
    return 1;
  });
} else {
  runLoadWorker();
}
