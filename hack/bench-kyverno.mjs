// make bench-kyverno (issue 14): Imprimatur beside Kyverno v1.19.1 on the same work, on one machine.
//
// 1. Latency. The seed's check-image policy (every image of a Pod verified against one public key), written the way
//    both tools accept it with no network (a key attestor, no transparency log, `type: SigstoreBundle`, which Kyverno
//    needs for cosign v3's bundle and Imprimatur accepts), and images signed by cosign v3 on the local registry. Pod
//    creates through kube-apiserver, one at a time over one HTTP/2 connection as kubectl keeps it alive, measured
//    three ways on the same apiserver: with no webhook, with Kyverno alone, then with Imprimatur alone, in three
//    rounds of: Kyverno's turn, no webhook, Imprimatur's turn, no webhook. A turn is cold creates (every one names an
//    image signed just before, never verified; after a few creates of another image have opened the connections) and
//    warm ones (the same image again and again, after its first admission), with what kube-apiserver itself says it
//    waited on each webhook (the sum/count deltas of apiserver_admission_webhook_admission_duration_seconds). Added
//    latency is a percentile over every round's samples minus the same percentile over every no-webhook run, and
//    round by round, a turn's against the no-webhook runs just before and after it. The targets compare Imprimatur's
//    added p99 with Kyverno's: ≤ 0.25 × warm, ≤ 0.5 × cold. Reported, not enforced. Each round ends with two bare
//    webhook warm turns (hack/bare-webhook.mjs: it only answers, with the digest patch, then with the annotations
//    too), the floor of one webhook call on the machine, each followed by a no-webhook run. Beside the clients'
//    times, what Imprimatur's own log says each of its admissions took, which tells its own time from
//    kube-apiserver's and the machine's.
// 2. Agreement (hack/kyverno-agreement.mjs): a table of policies, objects and images run through both, compared on
//    allow, deny and the pinned digests.
//
// The two tools share the CRD names and both write policy status, so they run one after the other, each with its own
// CRDs installed (hack/kyverno-local.mjs). Kyverno's webhooks are kept to namespaces with the label below.
//
// Usage: node hack/bench-kyverno.mjs --state DIR [--out FILE] [--quick] [--skip-latency] [--skip-agreement]
//   (hack/bench-kyverno.sh starts the cluster, builds Kyverno when missing, and stops everything at the end.)
// Writes test-results/bench-kyverno.json (and .md); the agreement table goes to test-results/kyverno-agreement.*.
import { Buffer } from 'node:buffer';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import process from 'node:process';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  bin,
  clusterEnv,
  drive,
  eventually,
  installOurCrds,
  must,
  openSession,
  pool,
  ROOT,
  round,
  rssMiB,
  stats,
  startImprimatur,
  webhookDelta,
  webhookDurations,
} from './bench-support.mjs';
import { startBareWebhook } from './bare-webhook.mjs';
import { installKyvernoCrds, startKyverno } from './kyverno-local.mjs';

const SELECTOR = 'bench.imprimatur.dev/kyverno=true';
const POLICY = 'check-image';
/** The targets of issue 14: Imprimatur's added p99 as a share of Kyverno's. */
const TARGET_WARM = 0.25;
const TARGET_COLD = 0.5;
/** Rounds of the latency comparison (--quick: one). */
const ROUNDS = 3;

/** Images per `cosign sign` invocation: one process signs them all, which halves the time for hundreds of images. */
const SIGN_BATCH = 10;

async function signImages(cluster, work, names) {
  const env = { DOCKER_CONFIG: cluster.vars.REGISTRY_DOCKER_CONFIG, COSIGN_PASSWORD: 'bench', COSIGN_YES: 'true' };
  await must(bin('cosign'), ['generate-key-pair', '--output-key-prefix', join(work, 'k')], env);
  const images = await pool(names, 4, async (name) => {
    const dir = mkdtempSync(join(work, 'img-'));
    writeFileSync(join(dir, 'blob'), randomBytes(2048));
    await must('tar', ['-C', dir, '-cf', join(dir, 'layer.tar'), 'blob']);
    const tagged = `${cluster.registry}/bench-kyverno/${name}:v1`;
    const pushed = (
      await must(bin('crane'), ['append', '--oci-empty-base', '-f', join(dir, 'layer.tar'), '-t', tagged], env)
    ).trim();
    return { name, tagged, pushed, digest: pushed.split('@')[1] };
  });
  const batches = Array.from({ length: Math.ceil(images.length / SIGN_BATCH) }, (_, i) =>
    images.slice(i * SIGN_BATCH, (i + 1) * SIGN_BATCH),
  );
  // cosign v3's default: a Sigstore bundle in the registry (referrers API). No log entry, so neither tool needs a
  // network or a Rekor of its own to verify it.
  await pool(batches, 2, (batch) =>
    must(
      bin('cosign'),
      [
        'sign',
        '--key',
        join(work, 'k.key'),
        '--use-signing-config=false',
        '--tlog-upload=false',
        ...batch.map((i) => i.pushed),
      ],
      env,
    ),
  );
  return {
    images: Object.fromEntries(images.map(({ name, tagged, digest }) => [name, { name, tagged, digest }])),
    publicKey: readFileSync(join(work, 'k.pub'), 'utf8'),
  };
}

/** The seed's check-image policy, in the form both tools verify with no network. */
function checkImagePolicy(namespace, publicKey) {
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: POLICY },
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
              imageReferences: ['*'],
              type: 'SigstoreBundle',
              attestors: [
                {
                  entries: [
                    { keys: { publicKeys: publicKey, rekor: { ignoreTlog: true }, ctlog: { ignoreSCT: true } } },
                  ],
                },
              ],
            },
          ],
        },
      ],
    },
  };
}

/** Applies the policy and waits until the tool says it is Ready and has a mutating webhook that selects Pods. */
async function applyPolicy(cluster, policy) {
  await cluster.kubectl(['apply', '-f', '-'], JSON.stringify(policy));
  await eventually(
    async () => {
      const ready = await cluster.tryKubectl([
        'get',
        'clusterpolicy',
        POLICY,
        '-o',
        'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
      ]);
      if (ready.stdout.trim() !== 'True') return undefined;
      const rules = await cluster.tryKubectl([
        'get',
        'mutatingwebhookconfigurations',
        '-o',
        'jsonpath={range .items[*].webhooks[*]}{.rules[*].resources}{"\\n"}{end}',
      ]);
      return /pods/.test(rules.stdout) || undefined;
    },
    'the policy to be Ready with a webhook for Pods',
    120_000,
  );
  // Both tools update their webhook configurations a moment after a policy is ready; let kube-apiserver see it.
  await sleep(2_000);
}

async function deletePolicies(cluster) {
  await cluster.tryKubectl(['delete', 'clusterpolicies.kyverno.io', '--all', '--wait=true']);
}

/**
 * Deletes every Pod of the namespace, with no webhook registered (one would be called for each deletion, and counted
 * with the turn's calls): kept, some 20,000 Pods pile up over a run, and kube-apiserver's heap with them (to 1.5 GiB
 * after 80,000), which slows the later turns. With no node and no kubelet, a Pod is deleted at once.
 */
async function clearPods(cluster, namespace) {
  await cluster.kubectl(['delete', '--raw', `/api/v1/namespaces/${namespace}/pods`]);
}

/** Pod creates of one image each (a list) or of one image (count times), one at a time; every one checked. */
function creates(cluster, session, namespace, { prefix, image, count, pinned }) {
  const list = Array.isArray(image) ? image : undefined;
  return drive(session, {
    path: `/api/v1/namespaces/${namespace}/pods`,
    headers: { authorization: `Bearer ${cluster.token}` },
    body: (i) =>
      Buffer.from(
        JSON.stringify({
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: `${prefix}-${i}-${randomBytes(3).toString('hex')}` },
          spec: { containers: [{ name: 'c', image: (list ? list[i] : image).tagged }] },
        }),
      ),
    concurrency: 1,
    count: list ? list.length : count,
    maxMs: 300_000,
    keepSamples: true,
    check: (text, i) => {
      const stored = JSON.parse(text).spec.containers[0].image;
      const want = list ? list[i] : image;
      if (pinned && stored !== `${want.tagged}@${want.digest}`) return `not pinned: ${stored}`;
      if (!pinned && stored !== want.tagged) return `changed with no webhook: ${stored}`;
      return undefined;
    },
  });
}

function mustSucceed(what, r) {
  if (r.errors > 0) throw new Error(`${what}: ${r.errors} creates failed; the first: ${r.firstError}`);
  return r;
}

/** One tool's turn: cold creates (a new image each), then warm ones (one image), with the apiserver's view of each. */
async function measureTool(cluster, session, namespace, { name, start, policy, primer, cold, warm, n }) {
  const tool = await start();
  try {
    await applyPolicy(cluster, policy);
    // Cold means the first admission of an image, not the first call kube-apiserver makes to a webhook: a few creates
    // of an image measured nowhere open its connection to the webhook (and the tool's to the registry) first. Kyverno's
    // is often open already, through the monitor webhook kube-apiserver calls.
    mustSucceed(
      `${name} primer`,
      await creates(cluster, session, namespace, { prefix: `${name}-primer`, image: primer, count: 5, pinned: true }),
    );
    const m0 = await webhookDurations(cluster);
    const coldRun = mustSucceed(
      `${name} cold`,
      await creates(cluster, session, namespace, { prefix: `${name}-cold`, image: cold, pinned: true }),
    );
    const m1 = await webhookDurations(cluster);
    // The first admission of the warm image is a cold one; it is measured nowhere.
    mustSucceed(
      `${name} first warm`,
      await creates(cluster, session, namespace, { prefix: `${name}-first`, image: warm, count: 1, pinned: true }),
    );
    const m2 = await webhookDurations(cluster);
    const warmRun = mustSucceed(
      `${name} warm`,
      await creates(cluster, session, namespace, { prefix: `${name}-warm`, image: warm, count: n, pinned: true }),
    );
    const m3 = await webhookDurations(cluster);
    return {
      cold: coldRun,
      warm: warmRun,
      apiserver: { cold: webhookDelta(m0, m1), warm: webhookDelta(m2, m3) },
      rssMiB: rssMiB(tool.pid),
    };
  } finally {
    await tool.stop();
    await deletePolicies(cluster);
    await clearPods(cluster, namespace);
  }
}

/**
 * A bare webhook's turn: warm creates of one image, which it pins (and, with `annotations`, annotates as Imprimatur
 * does), after five that open the connection.
 */
async function measureBare(cluster, session, namespace, { image, n, round, annotations }) {
  const bare = await startBareWebhook(cluster, { selectorLabel: SELECTOR, digestOf: () => image.digest, annotations });
  const name = `bare${annotations ? '-annotated' : ''}-${round}`;
  try {
    await sleep(2_000);
    const creating = (prefix, count) =>
      creates(cluster, session, namespace, { prefix, image, count, pinned: true }).then((r) => mustSucceed(prefix, r));
    await creating(`${name}-primer`, 5);
    const m0 = await webhookDurations(cluster);
    const warm = await creating(`${name}-warm`, n);
    return { warm, apiserver: webhookDelta(m0, await webhookDurations(cluster)) };
  } finally {
    await bare.stop();
    await sleep(1_000);
    await clearPods(cluster, namespace);
  }
}

const TOOLS = ['kyverno', 'imprimatur'];

/** Percentiles over the samples of several runs. */
function pooled(runs) {
  const samples = runs.flatMap((r) => r.samples);
  const wallMs = runs.reduce((sum, r) => sum + r.wallMs, 0);
  return stats(samples, wallMs, 0);
}

/** Sums the apiserver's per-webhook views of several runs: { name: { calls, meanMs } }. */
function pooledWebhooks(views) {
  const out = {};
  for (const view of views) {
    for (const [name, x] of Object.entries(view)) {
      const entry = (out[name] ??= { calls: 0, totalMs: 0 });
      entry.calls += x.calls;
      entry.totalMs += x.meanMs * x.calls;
    }
  }
  return Object.fromEntries(
    Object.entries(out).map(([name, x]) => [name, { calls: x.calls, meanMs: round(x.totalMs / x.calls) }]),
  );
}

const withoutSamples = ({ samples: _samples, ...rest }) => rest;

/**
 * What the operator's own log says each admission took (its `durationMs`: from the review decoded to the answer
 * made), read once from the log of every turn: p50, p99 and max of the cold admissions (one of `coldImages`, from
 * the registry) and of the warm ones (`warmImage`, from the cache), for telling the operator's time from the rest.
 */
function ownTimes(logFile, { coldImages, warmImage }) {
  const cold = new Set(coldImages);
  const samples = { cold: [], warm: [] };
  for (const line of readFileSync(logFile, 'utf8').split('\n')) {
    if (!line.startsWith('{') || !line.includes('"admission"')) continue;
    let entry;
    try {
      entry = JSON.parse(line);
    } catch {
      continue;
    }
    const [image] = entry.images ?? [];
    if (entry.message !== 'admission' || !image || typeof entry.durationMs !== 'number') continue;
    if (cold.has(image.image) && !(image.cached > 0)) samples.cold.push(entry.durationMs);
    else if (image.image === warmImage && image.cached > 0) samples.warm.push(entry.durationMs);
  }
  const summary = (x) => {
    const { count, p50Ms, p99Ms, maxMs } = stats(x, 1, 0);
    return { count, p50Ms: round(p50Ms, 2), p99Ms: round(p99Ms, 2), maxMs: round(maxMs, 2) };
  };
  return { cold: summary(samples.cold), warm: summary(samples.warm) };
}

async function latency(cluster, work, quick) {
  const namespace = `bench-kyverno-${Date.now().toString(36)}`;
  await cluster.kubectl(['create', 'namespace', namespace]);
  await cluster.kubectl(['label', 'namespace', namespace, SELECTOR]);
  const rounds = quick ? 1 : ROUNDS;
  const coldCount = quick ? 5 : 150;
  const n = quick ? 30 : 1000;
  const coldName = (tool, round, i) => `cold-${tool}-${round}-${i}`;
  const names = [
    'warm',
    'primer',
    ...Array.from({ length: rounds }, (_, round) =>
      TOOLS.flatMap((t) => Array.from({ length: coldCount }, (_, i) => coldName(t, round, i))),
    ).flat(),
  ];
  const { images, publicKey } = await signImages(cluster, work, names);
  const coldOf = (tool, round) => Array.from({ length: coldCount }, (_, i) => images[coldName(tool, round, i)]);
  const policy = checkImagePolicy(namespace, publicKey);
  const session = await openSession(cluster.server, { ca: cluster.ca });
  try {
    // No webhook at all: neither tool runs, and no policy exists.
    mustSucceed(
      'warm-up',
      await creates(cluster, session, namespace, { prefix: 'warmup', image: images.warm, count: 50, pinned: false }),
    );
    const noneRuns = [];
    const none = async (label) => {
      const r = mustSucceed(
        `no webhook (${label})`,
        await creates(cluster, session, namespace, {
          // A prefix of its own: names repeat across runs otherwise, and three random bytes do collide.
          prefix: `none${noneRuns.length}`,
          image: images.warm,
          count: n,
          pinned: false,
        }),
      );
      noneRuns.push(r);
      await clearPods(cluster, namespace);
      return r;
    };
    // Rounds of: Kyverno's turn, no webhook, Imprimatur's turn, no webhook, and the bare webhook's two turns, each
    // followed by a run with no webhook. Each turn is measured against the no-webhook runs just before and after it,
    // so that a machine that drifts (kube-apiserver's caches, other processes) moves both sides of a comparison alike.
    const turns = { kyverno: [], imprimatur: [] };
    const operatorLog = join(cluster.state, 'logs', 'operator-bench-kyverno.log');
    const bareTurns = [];
    const bareAnnotatedTurns = [];
    let before = await none('first');
    for (let round = 0; round < rounds; round++) {
      for (const tool of TOOLS) {
        if (tool === 'kyverno') await installKyvernoCrds(cluster);
        else await installOurCrds(cluster);
        const turn = await measureTool(cluster, session, namespace, {
          name: `${tool}-${round}`,
          start:
            tool === 'kyverno'
              ? () =>
                  startKyverno(cluster, {
                    logFile: join(cluster.state, 'logs', 'kyverno-bench.log'),
                    selectorLabel: SELECTOR,
                  })
              : () => startImprimatur(cluster, { logFile: operatorLog }),
          policy,
          primer: images.primer,
          cold: coldOf(tool, round),
          warm: images.warm,
          n,
        });
        const after = await none(`after ${tool} ${round}`);
        turns[tool].push({ ...turn, baseline: [before, after] });
        before = after;
      }
      // The floor: a webhook that only answers (hack/bare-webhook.mjs), called once per create, warm: pinning the
      // digest alone, then writing the annotations too.
      for (const annotations of [false, true]) {
        const bareTurn = await measureBare(cluster, session, namespace, { image: images.warm, n, round, annotations });
        const after = await none(`after the bare webhook ${annotations ? 'with annotations ' : ''}${round}`);
        (annotations ? bareAnnotatedTurns : bareTurns).push({ ...bareTurn, baseline: [before, after] });
        before = after;
      }
    }

    // Added latency, per turn (against its own two baselines) and over every turn (pooled percentiles against every
    // no-webhook run). The pooled p99 of 3 × 150 cold creates is the fifth slowest of 450: with 60 a turn, it was the
    // second slowest of 180, and one stall of the machine decided it.
    const addedOver = (r, base) => ({ p50Ms: round(r.p50Ms - base.p50Ms), p99Ms: round(r.p99Ms - base.p99Ms) });
    const meanOf = ([a, b]) => ({ p50Ms: (a.p50Ms + b.p50Ms) / 2, p99Ms: (a.p99Ms + b.p99Ms) / 2 });
    const ratioOf = (ours, theirs) => (theirs.p99Ms > 0 ? round(ours.p99Ms / theirs.p99Ms) : null);
    const perRound = Array.from({ length: rounds }, (_, i) => {
      const added = Object.fromEntries(
        TOOLS.map((t) => {
          const turn = turns[t][i];
          const base = meanOf(turn.baseline);
          return [t, { cold: addedOver(turn.cold, base), warm: addedOver(turn.warm, base) }];
        }),
      );
      return {
        added,
        ratio: {
          warm: ratioOf(added.imprimatur.warm, added.kyverno.warm),
          cold: ratioOf(added.imprimatur.cold, added.kyverno.cold),
        },
      };
    });
    const baseline = pooled(noneRuns);
    const tools = Object.fromEntries(
      TOOLS.map((t) => {
        const cold = pooled(turns[t].map((x) => x.cold));
        const warm = pooled(turns[t].map((x) => x.warm));
        return [
          t,
          {
            cold,
            warm,
            added: { cold: addedOver(cold, baseline), warm: addedOver(warm, baseline) },
            apiserver: {
              cold: pooledWebhooks(turns[t].map((x) => x.apiserver.cold)),
              warm: pooledWebhooks(turns[t].map((x) => x.apiserver.warm)),
            },
            rssMiB: Math.max(...turns[t].map((x) => x.rssMiB ?? 0)),
            turns: turns[t].map((x) => ({
              cold: withoutSamples(x.cold),
              warm: withoutSamples(x.warm),
              baseline: x.baseline.map(withoutSamples),
              apiserver: x.apiserver,
              rssMiB: x.rssMiB,
            })),
          },
        ];
      }),
    );
    tools.imprimatur.ownMs = ownTimes(operatorLog, {
      coldImages: Array.from({ length: rounds }, (_, r) => coldOf('imprimatur', r).map((image) => image.tagged)).flat(),
      warmImage: images.warm.tagged,
    });
    const floorOf = (bareRuns) => {
      const warm = pooled(bareRuns.map((x) => x.warm));
      return {
        warm,
        added: { warm: addedOver(warm, baseline) },
        apiserver: { warm: pooledWebhooks(bareRuns.map((x) => x.apiserver)) },
        perRound: bareRuns.map((x) => addedOver(x.warm, meanOf(x.baseline))),
      };
    };
    const bare = floorOf(bareTurns);
    const bareAnnotated = floorOf(bareAnnotatedTurns);
    const ratio = (kind) => ratioOf(tools.imprimatur.added[kind], tools.kyverno.added[kind]);
    const target = (kind, limit) => ({
      ratio: ratio(kind),
      target: limit,
      pass: ratio(kind) !== null && ratio(kind) <= limit,
    });
    return {
      setup: {
        policy:
          "the seed's check-image ClusterPolicy: imageReferences *, one ECDSA P-256 key, no tlog, type SigstoreBundle",
        image: 'one container; cosign v3 bundle signature (no tlog), olareg (referrers API) on loopback',
        rounds,
        createsPerRun: n,
        coldImagesPerTurn: coldCount,
        concurrency: 1,
      },
      baseline,
      noWebhookRuns: noneRuns.map(withoutSamples),
      kyverno: tools.kyverno,
      imprimatur: tools.imprimatur,
      bare,
      bareAnnotated,
      perRound,
      targets: { warm: target('warm', TARGET_WARM), cold: target('cold', TARGET_COLD) },
    };
  } finally {
    session.close();
    await cluster.tryKubectl(['delete', 'namespace', namespace, '--wait=false']);
  }
}

const passFail = (ok) => (ok ? 'PASS' : 'FAIL');
const signed = (x) => `${x >= 0 ? '+' : ''}${round(x, 1)}`;
const own = (x) => `${x.p50Ms} / ${x.p99Ms} / ${x.maxMs}`;

function markdown(report) {
  const lines = [];
  const l = report.latency;
  if (l) {
    const row = (name, r, added) =>
      `| ${name} | ${r.count} | ${round(r.p50Ms, 1)} | ${round(r.p99Ms, 1)} | ${round(r.maxMs, 1)} | ` +
      `${added ? signed(added.p50Ms) : '–'} | ${added ? signed(added.p99Ms) : '–'} |`;
    const seen = (r) =>
      Object.entries(r)
        .map(([name, x]) => `${name} ${x.meanMs} ms × ${x.calls}`)
        .join('; ') || 'none';
    const { kyverno: k, imprimatur: i } = l;
    lines.push(
      `Pod creates through kube-apiserver, one at a time (${l.setup.policy}; ${l.setup.image}), in ` +
        `${l.setup.rounds} round(s) of: Kyverno's turn, no webhook, Imprimatur's turn, no webhook, a bare ` +
        `webhook's warm turn, no webhook, the bare webhook writing the annotations too, no webhook (after a first ` +
        `run with no webhook). A turn is ${l.setup.coldImagesPerTurn} cold creates (a new image each) and ` +
        `${l.setup.createsPerRun} warm ones (the same image); percentiles over every round's samples:`,
      '',
      '| webhook | creates | p50 ms | p99 ms | max ms | added p50 ms | added p99 ms |',
      '|---|---:|---:|---:|---:|---:|---:|',
      row('none', l.baseline, undefined),
      row('Kyverno, cold', k.cold, k.added.cold),
      row('Kyverno, warm', k.warm, k.added.warm),
      row('Imprimatur, cold', i.cold, i.added.cold),
      row('Imprimatur, warm', i.warm, i.added.warm),
      row('bare webhook (answers at once), warm', l.bare.warm, l.bare.added.warm),
      row('bare webhook with the annotations, warm', l.bareAnnotated.warm, l.bareAnnotated.added.warm),
      '',
      `The bare webhook (hack/bare-webhook.mjs) is the floor of one webhook call on this machine: kube-apiserver ` +
        `waited ${seen(l.bare.apiserver.warm)}; its added p99 round by round: ` +
        `${l.bare.perRound.map((r) => signed(r.p99Ms)).join(', ')} ms. Writing the annotations both tools write ` +
        `(and Imprimatur's record of validated images), in one add of the map, it is the floor of a webhook that ` +
        `writes what Kyverno writes: kube-apiserver waited ${seen(l.bareAnnotated.apiserver.warm)}; its added p99 ` +
        `round by round: ${l.bareAnnotated.perRound.map((r) => signed(r.p99Ms)).join(', ')} ms.`,
      '',
      'Added is over the no-webhook runs. Round by round (each turn against the no-webhook runs just before and ' +
        "after it), Imprimatur's added p99 as a share of Kyverno's:",
      '',
      '| round | warm: Kyverno | warm: Imprimatur | ratio | cold: Kyverno | cold: Imprimatur | ratio |',
      '|---:|---:|---:|---:|---:|---:|---:|',
      ...l.perRound.map(
        (r, n) =>
          `| ${n + 1} | ${signed(r.added.kyverno.warm.p99Ms)} | ${signed(r.added.imprimatur.warm.p99Ms)} | ` +
          `${r.ratio.warm} | ${signed(r.added.kyverno.cold.p99Ms)} | ${signed(r.added.imprimatur.cold.p99Ms)} | ` +
          `${r.ratio.cold} |`,
      ),
      '',
      'What kube-apiserver waited on each webhook (mean of apiserver_admission_webhook_admission_duration_seconds):',
      '',
      `- Kyverno cold: ${seen(k.apiserver.cold)}; warm: ${seen(k.apiserver.warm)}; RSS up to ${k.rssMiB} MiB`,
      `- Imprimatur cold: ${seen(i.apiserver.cold)}; warm: ${seen(i.apiserver.warm)}; RSS up to ${i.rssMiB} MiB`,
      '',
      "What Imprimatur's own log says an admission took (durationMs: from the review decoded to the answer made), " +
        `p50 / p99 / max: cold ${own(i.ownMs.cold)} ms (${i.ownMs.cold.count}), warm ${own(i.ownMs.warm)} ms ` +
        `(${i.ownMs.warm.count}).`,
      '',
      `Targets, Imprimatur's added p99 against Kyverno's: warm ${l.targets.warm.ratio} × (≤ ${TARGET_WARM}) ` +
        `${passFail(l.targets.warm.pass)}; cold ${l.targets.cold.ratio} × (≤ ${TARGET_COLD}) ${passFail(l.targets.cold.pass)}.`,
    );
  }
  if (report.agreement?.table) lines.push('', report.agreement.table);
  return lines.join('\n');
}

async function main(argv) {
  const option = (name) => {
    const at = argv.indexOf(name);
    return at >= 0 ? argv[at + 1] : undefined;
  };
  const state = option('--state');
  if (!state) throw new Error('--state DIR is required (a cluster of hack/cluster-up.sh)');
  const quick = argv.includes('--quick');
  const out = resolve(option('--out') ?? join(ROOT, 'test-results', 'bench-kyverno.json'));
  const cluster = clusterEnv(resolve(state));
  const work = mkdtempSync(join(tmpdir(), 'imprimatur-bench-kyverno-'));
  const [load0] = loadavg();
  try {
    const report = { node: process.version, cpus: availableParallelism(), quick };
    if (!argv.includes('--skip-latency')) report.latency = await latency(cluster, work, quick);
    if (!argv.includes('--skip-agreement')) {
      const { runAgreement } = await import('./kyverno-agreement.mjs');
      report.agreement = await runAgreement(cluster, {
        work,
        logDir: join(cluster.state, 'logs'),
        out: join(dirname(out), 'kyverno-agreement'),
      });
    }
    report.loadAverage = round(Math.max(load0, loadavg()[0]), 1);
    report.table = markdown(report);
    process.stdout.write(`${report.table}\n`);
    if (report.loadAverage > report.cpus) {
      process.stdout.write(
        `\nNote: load average ${report.loadAverage} on ${report.cpus} CPUs: other processes took CPU time during the run.\n`,
      );
    }
    mkdirSync(dirname(out), { recursive: true });
    writeFileSync(out, `${JSON.stringify(report, null, 2)}\n`);
    writeFileSync(out.replace(/\.json$/, '.md'), `${report.table}\n`);
    return 0;
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

process.exitCode = await main(process.argv.slice(2)).catch((e) => {
  process.stderr.write(`bench-kyverno: ${e.stack ?? e}\n`);
  return 1;
});
