// Faults under load, through the real kube-apiserver (issue 14, point 5): the registry stops in the middle of
// verifications, kube-apiserver restarts, the leader is killed, and the serving certificate rotates, each while four
// clients send a steady stream of Pod creates (server-side dry runs) alternating a signed and an unsigned image under
// an Enforce policy with failurePolicy: Fail. In every case:
//   - nothing is wrongly admitted: the unsigned image never, the signed one only pinned to its digest;
//   - no admission goes past its deadline: every answer the API server gives after asking the webhook comes within
//     the webhook's timeout (plus a second for the API server and the client), and the API server never has to time
//     the webhook out itself (the operator answers at the timeout less a fifth);
//   - the operator recovers by itself: the signed image is admitted again within a bound after the fault, and from
//     then on every request is answered as before the fault, by the same process (one 'starting' line in its log).
// Each request's outcome and duration is written to test-results/faults-samples.json, the figures to
// test-results/faults.json.
import { spawn, type ChildProcess } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { stringify } from 'yaml';
import {
  analyse,
  startAdmissionStream,
  type Sample,
  type StreamImages,
  type StreamSummary,
} from './support/admission-stream.js';
import {
  eventually,
  freePort,
  loadEnvironment,
  ROOT,
  STATE,
  startOperator,
  TOOLS_BIN,
  type Environment,
  type OperatorProcess,
} from './support/environment.js';
import { installCrds, readyCondition } from './support/policies.js';
import { registryTools } from './support/registry-tools.js';
import { runCommand } from './support/run.js';

const APPS = 'faults-e2e';
const OPS = 'faults-e2e-ops';
const POLICY = 'faults-check';
const LABEL = 'imprimatur.io/e2e=faults';
const MANAGED = 'app.kubernetes.io/managed-by=imprimatur';
const MUTATING = 'imprimatur-resource-mutating-webhook-cfg';
const VALIDATING = 'imprimatur-resource-validating-webhook-cfg';
/** The policy's; the operator registers at least 10 s, and answers within that less a fifth. */
const TIMEOUT_S = 10;
/** Added to the webhook timeout for the API server's own work and the client's. */
const MARGIN_MS = 1_000;
/** Load before each fault, and after recovery. */
const BEFORE_MS = 6_000;
const STEADY_MS = 6_000;
const LEASE_S = 4;
const FAST_LEASE = [
  '--leader-elect',
  '--leader-election-namespace=default',
  '--leader-election-id=imprimatur-e2e-faults',
  `--leader-elect-lease-duration=${LEASE_S}s`,
  '--leader-elect-renew-deadline=3s',
  '--leader-elect-retry-period=1s',
];

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

let env: Environment;
let work: string;
let registry: OwnRegistry;
/** The images on the environment's olareg, and on this file's own registry (cases other than the registry's). */
let shared: StreamImages;
let own: StreamImages;
const running: OperatorProcess[] = [];
const report: Record<string, unknown> = {};
const allSamples: Record<string, readonly Sample[]> = {};
const { tool, pushRandomImage } = registryTools(loadEnvironment(), () => work);

/**
 * An olareg of this file's own, storing on disk so that it can be killed and started again with its content, on a
 * port of its own. Its PID is recorded as an `operator-…` file in the state folder: hack/cluster-down.sh stops every
 * such process, so it does not outlive a test run that dies.
 */
interface OwnRegistry {
  readonly host: string;
  start(): Promise<void>;
  /** SIGSTOP: connections are accepted by the kernel and never answered, as a registry that hangs. */
  pause(): void;
  resume(): void;
  /** SIGKILL: every connection reset, then refused. */
  kill(): Promise<void>;
}

async function ownRegistry(): Promise<OwnRegistry> {
  const port = await freePort();
  const host = `127.0.0.1:${port}`;
  const dir = join(work, 'registry');
  mkdirSync(dir, { recursive: true });
  const pidFile = join(STATE, 'pids', 'operator-faults-registry');
  let child: ChildProcess | undefined;
  const alive = () => child !== undefined && child.exitCode === null && child.signalCode === null;
  return {
    host,
    async start() {
      const log = createWriteStream(join(STATE, 'logs', 'faults-registry.log'), { flags: 'a' });
      child = spawn(
        join(TOOLS_BIN, 'olareg'),
        ['serve', '--addr', '127.0.0.1', '--port', String(port), '--store-type', 'dir', '--dir', dir, '--api-delete'],
        { stdio: ['ignore', 'pipe', 'pipe'] },
      );
      child.stdout!.pipe(log);
      child.stderr!.pipe(log);
      writeFileSync(pidFile, String(child.pid));
      await eventually(
        async () => {
          if (!alive()) throw new Error(`olareg exited: ${readFileSync(join(STATE, 'logs', 'faults-registry.log'))}`);
          return fetch(`http://${host}/v2/`).then(
            (r) => (r.status === 200 ? true : undefined),
            () => undefined,
          );
        },
        'the registry to answer',
        15_000,
      );
    },
    pause: () => void child?.kill('SIGSTOP'),
    resume: () => void child?.kill('SIGCONT'),
    async kill() {
      if (!alive()) return;
      const exited = new Promise((r) => child!.once('exit', r));
      child!.kill('SIGKILL');
      await exited;
    },
  };
}

/** Pushes an image with random content to host/faults/<name>:v1; signs it with k1 when asked. */
async function pushImage(host: string, name: string, sign: boolean): Promise<{ image: string; digest: string }> {
  const ref = await pushRandomImage(host, `faults/${name}`);
  if (sign) {
    const signed = await tool('cosign', [
      'sign',
      '--key',
      join(work, 'k1.key'),
      '--use-signing-config=false',
      '--tlog-upload=false',
      ref,
    ]);
    expect(signed.stderr).not.toContain('rror');
    expect(signed.code).toBe(0);
  }
  const [repository, digest] = ref.split('@') as [string, string];
  return { image: `${repository}:v1`, digest };
}

/**
 * Enforce, Fail: Pods in APPS with images of either registry must be signed with k1. On this file's own registry
 * nothing is cached, so every admission asks it.
 */
function policy(): string {
  const attestors = [
    { entries: [{ keys: { publicKeys: readFileSync(join(work, 'k1.pub'), 'utf8'), rekor: { ignoreTlog: true } } }] },
  ];
  return stringify({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: POLICY, labels: { 'imprimatur.io/e2e': 'faults' } },
    spec: {
      validationFailureAction: 'Enforce',
      failurePolicy: 'Fail',
      webhookTimeoutSeconds: TIMEOUT_S,
      rules: [
        {
          name: 'check',
          match: { any: [{ resources: { kinds: ['Pod'], namespaces: [APPS] } }] },
          verifyImages: [
            { imageReferences: [`${registry.host}/faults/*`], useCache: false, attestors },
            { imageReferences: [`${env.vars['REGISTRY']!}/faults/*`], attestors },
          ],
        },
      ],
    },
  });
}

async function deleteConfigurations(): Promise<void> {
  for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
    await env.kubectl(['delete', kind, '-l', MANAGED, '--ignore-not-found']);
  }
}

beforeAll(async () => {
  env = loadEnvironment();
  work = mkdtempSync(join(tmpdir(), 'imprimatur-faults-'));
  await installCrds(env);
  for (const namespace of [APPS, OPS]) await env.kubectl(['create', 'namespace', namespace]);
  // Left by another suite's operator, they would route this suite's Pods to a webhook that is gone.
  await deleteConfigurations();
  expect((await tool('cosign', ['generate-key-pair', '--output-key-prefix', join(work, 'k1')])).code).toBe(0);
  registry = await ownRegistry();
  await registry.start();
  const [sharedSigned, sharedUnsigned, ownSigned, ownUnsigned] = await Promise.all([
    pushImage(env.vars['REGISTRY']!, 'signed', true),
    pushImage(env.vars['REGISTRY']!, 'unsigned', false),
    pushImage(registry.host, 'signed', true),
    pushImage(registry.host, 'unsigned', false),
  ]);
  shared = { signed: sharedSigned, unsigned: sharedUnsigned.image };
  own = { signed: ownSigned, unsigned: ownUnsigned.image };
  const applied = await env.kubectl(['apply', '-f', '-'], policy());
  expect(applied.stderr).toBe('');
}, 180_000);

afterEach(async () => {
  // SIGTERM: the last local replica takes its webhook configurations with it.
  await Promise.all(running.splice(0).map((o) => o.stop()));
  await deleteConfigurations();
}, 60_000);

afterAll(async () => {
  await registry?.kill();
  rmSync(join(STATE, 'pids', 'operator-faults-registry'), { force: true });
  await env.kubectl(['delete', 'clusterpolicy', '-l', LABEL, '--ignore-not-found']);
  for (const namespace of [APPS, OPS]) await env.kubectl(['delete', 'namespace', namespace, '--wait=false']);
  mkdirSync(join(ROOT, 'test-results'), { recursive: true });
  writeFileSync(join(ROOT, 'test-results', 'faults.json'), `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(
    join(ROOT, 'test-results', 'faults-samples.json'),
    `${JSON.stringify(
      Object.fromEntries(
        Object.entries(allSamples).map(([k, samples]) => [
          k,
          samples.map((s) => [s.t, s.ms, s.image, s.outcome, s.status]),
        ]),
      ),
    )}\n`,
  );
  rmSync(work, { recursive: true, force: true });
}, 60_000);

async function start(name: string, port: number, args: readonly string[] = []): Promise<OperatorProcess> {
  const operator = await startOperator(env, await freePort(), { name, args: [`--webhook-port=${port}`, ...args] });
  running.push(operator);
  return operator;
}

/** The base URLs that a webhook configuration's webhooks send to, and its largest timeout. */
async function configuration(kind: 'mutatingwebhookconfiguration' | 'validatingwebhookconfiguration', name: string) {
  const got = await env.kubectl(['get', kind, name, '-o', 'json']);
  if (got.code !== 0) return undefined;
  const config = JSON.parse(got.stdout) as { webhooks?: { clientConfig: { url?: string }; timeoutSeconds: number }[] };
  const webhooks = config.webhooks ?? [];
  return {
    urls: [...new Set(webhooks.map((w) => new URL(w.clientConfig.url!).origin))],
    timeoutSeconds: Math.max(0, ...webhooks.map((w) => w.timeoutSeconds)),
  };
}

/** Both configurations, once both exist and send to `url` alone: the largest timeout they give the webhook. */
async function pointingAt(url: string): Promise<number | undefined> {
  const both = [
    await configuration('mutatingwebhookconfiguration', MUTATING),
    await configuration('validatingwebhookconfiguration', VALIDATING),
  ];
  return both.every((c) => c !== undefined && c.urls.length === 1 && c.urls[0] === url)
    ? Math.max(...both.map((c) => c!.timeoutSeconds))
    : undefined;
}

/** Waits until the policy is Ready and a Pod with the signed image is admitted, pinned: the stream may begin. */
async function warm(images: StreamImages): Promise<void> {
  await eventually(async () => {
    const ready = await readyCondition(env, 'clusterpolicy', POLICY);
    return ready?.status === 'True' ? ready : undefined;
  }, `${POLICY} to be Ready`);
  const pod = stringify({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'warm', namespace: APPS },
    spec: { containers: [{ name: 'app', image: images.signed.image }] },
  });
  await eventually(async () => {
    const created = await env.kubectl(
      ['create', '--dry-run=server', '-o', 'jsonpath={.spec.containers[0].image}', '-f', '-'],
      pod,
    );
    return created.code === 0 && created.stdout.trim() === `${images.signed.image}@${images.signed.digest}`
      ? true
      : undefined;
  }, 'the signed image to be admitted');
}

/** Waits until a create of the signed image sent at `from` or later has been admitted. */
async function recovered(samples: readonly Sample[], from: number, timeoutMs: number): Promise<void> {
  await eventually(
    async () =>
      samples.some((s) => s.image === 'signed' && s.outcome === 'admitted' && s.t >= from) ? true : undefined,
    'the signed image to be admitted again',
    timeoutMs,
  ).catch(() => undefined); // judged by analyse: recoveryMs stays undefined
}

/** Requests in flight at `at`: sent before it and answered after. */
const inFlightAt = (samples: readonly Sample[], at: number) =>
  samples.filter((s) => s.t < at && s.t + s.ms > at).length;

/** Keeps the case's figures for test-results/ and the log, and asserts what holds for every fault. */
function judge(
  name: string,
  samples: readonly Sample[],
  summary: StreamSummary,
  extra: Record<string, unknown>,
  recoveryBoundMs: number,
): void {
  allSamples[name] = samples;
  const short = (list: Sample[]) => list.slice(0, 10);
  report[name] = {
    ...extra,
    ...summary,
    wronglyAdmitted: short(summary.wronglyAdmitted),
    pastDeadline: short(summary.pastDeadline),
    beforeFault: { requests: summary.beforeFault.requests, wrong: short(summary.beforeFault.wrong) },
    afterRecovery: { requests: summary.afterRecovery.requests, wrong: short(summary.afterRecovery.wrong) },
    recoveryBoundMs,
  };
  // One line in the log; the whole of it is in test-results/faults.json.
  process.stdout.write(
    `faults, ${name}: ${samples.length} requests, max ${summary.maxMs} ms, recovery ${summary.recoveryMs ?? '–'} ms\n`,
  );
  expect(summary.wronglyAdmitted).toEqual([]);
  expect(summary.pastDeadline).toEqual([]);
  expect(summary.beforeFault.wrong).toEqual([]);
  expect(summary.recoveryMs).toBeDefined();
  expect(summary.recoveryMs!).toBeLessThanOrEqual(recoveryBoundMs);
  expect(summary.afterRecovery.wrong).toEqual([]);
  expect(summary.afterRecovery.requests).toBeGreaterThan(20);
}

/** Recovered by itself: the same process, started once, still healthy and ready. */
async function expectSameProcess(operator: OperatorProcess): Promise<void> {
  expect(operator.logLines().filter((l) => l['message'] === 'starting')).toHaveLength(1);
  for (const path of ['/healthz', '/readyz']) {
    const status = await fetch(`http://127.0.0.1:${operator.probePort}${path}`).then(
      (r) => r.status,
      () => 0,
    );
    expect(status).toBe(200);
  }
}

describe('faults under load, with an Enforce policy that fails closed', () => {
  it('the registry stops in the middle of verifications, hangs, dies and comes back', async () => {
    const port = await freePort();
    const operator = await start('operator-faults-registry-case', port);
    const timeoutS = await eventually(() => pointingAt(`https://127.0.0.1:${port}`), 'the configurations');
    expect(timeoutS).toBe(TIMEOUT_S);
    await warm(own);

    const stream = startAdmissionStream({ kubeconfig: env.kubeconfig, namespace: APPS, images: own });
    await sleep(BEFORE_MS);
    // Frozen: every verification in flight, and every one after, waits on a registry that never answers.
    const pausedAt = stream.now();
    registry.pause();
    await sleep(TIMEOUT_S * 1000 + 2_000);
    const resumedAt = stream.now();
    registry.resume();
    await recovered(stream.samples, resumedAt, 20_000);
    await sleep(3_000);
    // Gone: connections reset, then refused, for a while; then back on the same port with the same content.
    const killedAt = stream.now();
    await registry.kill();
    await sleep(8_000);
    await registry.start();
    const restartedAt = stream.now();
    await recovered(stream.samples, restartedAt, 30_000);
    await sleep(STEADY_MS);
    await stream.stop();

    const samples = stream.samples;
    const deadlineMs = timeoutS * 1000 + MARGIN_MS;
    const hang = analyse(
      samples.filter((s) => s.t < killedAt),
      { faultStart: pausedAt, faultEnd: resumedAt, deadlineMs },
    );
    const summary = analyse(samples, { faultStart: pausedAt, faultEnd: restartedAt, deadlineMs });
    // Answers given while the registry was frozen, whenever they were asked and whichever image they named (both
    // images are read from it): those in flight when it froze are held until the operator's deadline (the timeout
    // less a fifth). (Asked after it froze is not enough: a client held until the deadline asks again only when the
    // freeze is nearly over.)
    const hangAnswers = samples.filter((s) => s.t + s.ms >= pausedAt && s.t + s.ms <= resumedAt);
    judge(
      'registry',
      samples,
      summary,
      {
        timeline: { pausedAt, resumedAt, killedAt, restartedAt, end: stream.now() },
        inFlightWhenPaused: inFlightAt(samples, pausedAt),
        inFlightWhenKilled: inFlightAt(samples, killedAt),
        recoveryAfterResumeMs: hang.recoveryMs,
        slowestWhileHungMs: Math.max(0, ...hangAnswers.map((s) => s.ms)),
      },
      15_000,
    );
    // The hang was real: verifications in flight when it froze, and admissions answered at the operator's deadline.
    expect(inFlightAt(samples, pausedAt)).toBeGreaterThan(0);
    expect(inFlightAt(samples, killedAt)).toBeGreaterThan(0);
    expect(Math.max(0, ...hangAnswers.map((s) => s.ms))).toBeGreaterThan(timeoutS * 1000 * 0.7);
    expect(hang.recoveryMs).toBeDefined();
    expect(hang.recoveryMs!).toBeLessThanOrEqual(15_000);
    await expectSameProcess(operator);
  }, 240_000);

  it('kube-apiserver restarts', async () => {
    const port = await freePort();
    const operator = await start('operator-faults-apiserver-case', port);
    const timeoutS = await eventually(() => pointingAt(`https://127.0.0.1:${port}`), 'the configurations');
    await warm(shared);

    const stream = startAdmissionStream({ kubeconfig: env.kubeconfig, namespace: APPS, images: shared });
    await sleep(BEFORE_MS);
    const stoppedAt = stream.now();
    const restarted = await runCommand(join(ROOT, 'hack', 'restart-apiserver.sh'), ['2'], {
      env: { ...process.env, IMPRIMATUR_STATE_DIR: STATE },
    });
    expect(restarted.code).toBe(0);
    const readyAt = stream.now();
    await recovered(stream.samples, readyAt, 30_000);
    await sleep(STEADY_MS);
    await stream.stop();

    const samples = stream.samples;
    const summary = analyse(samples, {
      faultStart: stoppedAt,
      faultEnd: readyAt,
      deadlineMs: timeoutS * 1000 + MARGIN_MS,
    });
    judge(
      'apiserver',
      samples,
      summary,
      {
        timeline: { stoppedAt, readyAt, end: stream.now() },
        apiServerDownMs: readyAt - stoppedAt,
        inFlightWhenStopped: inFlightAt(samples, stoppedAt),
      },
      15_000,
    );
    // The policy is still Ready, and the watches are back: a policy made now gets its status from this operator.
    expect((await readyCondition(env, 'clusterpolicy', POLICY))?.status).toBe('True');
    const broken = stringify({
      apiVersion: 'kyverno.io/v1',
      kind: 'ClusterPolicy',
      metadata: { name: 'faults-after-restart', labels: { 'imprimatur.io/e2e': 'faults' } },
      spec: {
        validationFailureAction: 'Enforce',
        rules: [
          {
            name: 'check',
            match: { any: [{ resources: { kinds: ['Pod'], namespaces: [APPS] } }] },
            verifyImages: [{ imageReferences: ['never.example/*'], key: 'not a key' }],
          },
        ],
      },
    });
    expect((await env.kubectl(['apply', '-f', '-'], broken)).code).toBe(0);
    const condition = await eventually(async () => {
      const ready = await readyCondition(env, 'clusterpolicy', 'faults-after-restart');
      return ready?.status === 'False' ? ready : undefined;
    }, 'a policy made after the restart to get its status');
    expect(condition.reason).toBe('InvalidKey');
    await env.kubectl(['delete', 'clusterpolicy', 'faults-after-restart']);
    await expectSameProcess(operator);
  }, 180_000);

  it('the leader of two --leader-elect replicas is killed', async () => {
    const ports = [await freePort(), await freePort()];
    const urls = ports.map((p) => `https://127.0.0.1:${p}`);
    const replicas = [
      await start('operator-faults-leader-a', ports[0]!, FAST_LEASE),
      await start('operator-faults-leader-b', ports[1]!, FAST_LEASE),
    ];
    // The leader registers its own URL: that tells which one leads.
    const leaderIndex = await eventually(async () => {
      for (const [i, url] of urls.entries()) if (await pointingAt(url)) return i;
      return undefined;
    }, 'the leader to register its URL');
    const timeoutS = (await pointingAt(urls[leaderIndex]!))!;
    const leader = replicas[leaderIndex]!;
    const follower = replicas[1 - leaderIndex]!;
    await warm(shared);

    const stream = startAdmissionStream({ kubeconfig: env.kubeconfig, namespace: APPS, images: shared });
    await sleep(BEFORE_MS);
    const killedAt = stream.now();
    await leader.kill();
    await recovered(stream.samples, killedAt, 30_000);
    const recoveredSeenAt = stream.now();
    await sleep(STEADY_MS);
    await stream.stop();

    const samples = stream.samples;
    const summary = analyse(samples, {
      faultStart: killedAt,
      faultEnd: killedAt,
      deadlineMs: timeoutS * 1000 + MARGIN_MS,
    });
    judge(
      'leader',
      samples,
      summary,
      {
        timeline: { killedAt, recoveredSeenAt, end: stream.now() },
        inFlightWhenKilled: inFlightAt(samples, killedAt),
        leaseDurationMs: LEASE_S * 1000,
      },
      LEASE_S * 1000 + 10_000,
    );
    // The follower leads, and the configurations call it.
    expect(await pointingAt(urls[1 - leaderIndex]!)).toBe(timeoutS);
    expect(follower.logLines().some((l) => l['message'] === 'started leading')).toBe(true);
    await expectSameProcess(follower);
  }, 180_000);

  it('the serving certificate and its CA rotate', async () => {
    const port = await freePort();
    const operator = await start('operator-faults-certificate-case', port, [
      `--webhook-service-namespace=${OPS}`,
      '--webhook-cert-secret=imprimatur-faults-tls',
      '--webhook-cert-validity=20s',
      '--webhook-ca-validity=45s',
    ]);
    const timeoutS = await eventually(() => pointingAt(`https://127.0.0.1:${port}`), 'the configurations');
    await warm(shared);

    // Beside the stream, what the operator serves to a new connection, checked against the caBundle registered then.
    const seen = { leaves: new Set<string>(), cas: new Set<string>(), twoCas: false, tls: [] as string[] };
    let probing = true;
    const prober = (async () => {
      while (probing) {
        const bundle = await registeredCaBundle();
        if (bundle) {
          const cas = fingerprints(bundle);
          cas.forEach((f) => seen.cas.add(f));
          if (cas.length === 2) seen.twoCas = true;
          const got = await served(port, bundle);
          if ('error' in got) seen.tls.push(got.error);
          else seen.leaves.add(got.fingerprint);
        }
        await sleep(500);
      }
    })();
    const stream = startAdmissionStream({ kubeconfig: env.kubeconfig, namespace: APPS, images: shared });
    // The CA is renewed two thirds into its 45 s, the serving certificate every 13 s or so.
    await eventually(
      async () => (seen.cas.size >= 2 && seen.leaves.size >= 3 ? true : undefined),
      'the CA and the serving certificate to rotate',
      60_000,
    ).catch(() => undefined);
    await sleep(STEADY_MS);
    await stream.stop();
    probing = false;
    await prober;

    const samples = stream.samples;
    // The fault lasts the whole stream: from a second after its first admission, every answer must be right.
    const summary = analyse(samples, { faultStart: 0, faultEnd: 0, deadlineMs: timeoutS * 1000 + MARGIN_MS });
    judge(
      'certificate',
      samples,
      summary,
      {
        streamMs: stream.now(),
        servingCertificatesSeen: seen.leaves.size,
        casSeen: seen.cas.size,
        bundleWithTwoCas: seen.twoCas,
        tlsFailures: seen.tls,
      },
      5_000,
    );
    expect(seen.tls).toEqual([]);
    expect(seen.leaves.size).toBeGreaterThanOrEqual(3);
    expect(seen.cas.size).toBeGreaterThanOrEqual(2);
    expect(seen.twoCas).toBe(true);
    expect(operator.logLines().filter((l) => l['message'] === 'TLS handshake failed')).toEqual([]);
    await expectSameProcess(operator);
  }, 180_000);
});

async function registeredCaBundle(): Promise<string | undefined> {
  const got = await env.kubectl([
    'get',
    'mutatingwebhookconfiguration',
    MUTATING,
    '-o',
    'jsonpath={.webhooks[0].clientConfig.caBundle}',
  ]);
  return got.code === 0 && got.stdout.trim() ? Buffer.from(got.stdout.trim(), 'base64').toString('utf8') : undefined;
}

const fingerprints = (bundle: string) =>
  (bundle.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? []).map(
    (pem) => new X509Certificate(pem).fingerprint256,
  );

/** The certificate served on a new TLS connection to `port`, verified against `ca` as the API server would. */
function served(port: number, ca: string): Promise<{ fingerprint: string } | { error: string }> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca, ALPNProtocols: ['h2'] });
    socket.once('secureConnect', () => {
      const fingerprint = socket.getPeerX509Certificate()!.fingerprint256;
      // A clean close once the server's session tickets are read: the server logs a reset as a failed handshake.
      socket.on('data', () => undefined);
      socket.once('close', () => resolve({ fingerprint }));
      setTimeout(() => socket.end(), 50);
    });
    socket.once('error', (e) => {
      resolve({ error: e.message });
      socket.destroy();
    });
  });
}
