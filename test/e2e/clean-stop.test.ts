// A clean stop in local mode (`make run`), through the real API server: on SIGTERM the operator answers the
// admissions in flight, exits 0 within --graceful-shutdown-timeout, and, as the last replica, takes its webhook
// configurations with it, so that a failurePolicy: Fail policy does not keep Pods from being created once it is gone.
// With --leader-elect, a stopping leader leaves them to the replica that takes over, which re-points them.
import { createServer, type AddressInfo, type Socket } from 'node:net';
import { stringify } from 'yaml';
import {
  eventually,
  freePort,
  loadEnvironment,
  startOperator,
  type Environment,
  type OperatorProcess,
} from './support/environment.js';
import { installCrds, readyCondition, SEED_KEY } from './support/policies.js';

const NAMESPACE = 'clean-stop-e2e';
const LABEL = 'imprimatur.io/e2e=clean-stop';
/** No registry answers there: while a webhook serves, a Pod with such an image is denied, with the policy's words. */
const UNREACHABLE_IMAGE = 'registry.example/clean-stop/app:v1';
const MUTATING = 'imprimatur-resource-mutating-webhook-cfg';
const VALIDATING = 'imprimatur-resource-validating-webhook-cfg';
const TIMEOUT_S = 8;
const GRACEFUL = `--graceful-shutdown-timeout=${TIMEOUT_S}s`;
const FAST_LEASE = [
  '--leader-elect',
  '--leader-election-namespace=default',
  '--leader-election-id=imprimatur-e2e-clean-stop',
  '--leader-elect-lease-duration=4s',
  '--leader-elect-renew-deadline=3s',
  '--leader-elect-retry-period=1s',
];

let env: Environment;
const running: OperatorProcess[] = [];

/**
 * A Fail policy for Pods in NAMESPACE whose images match `pattern`. The API server waits 5 s for the webhook, so an
 * admission is answered within 4 s (its deadline is a fifth shorter): inside the webhook server's close grace, the
 * bound less a fifth.
 */
function policy(name: string, pattern: string): string {
  return stringify({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name, labels: { 'imprimatur.io/e2e': 'clean-stop' } },
    spec: {
      validationFailureAction: 'Enforce',
      failurePolicy: 'Fail',
      webhookTimeoutSeconds: 5,
      rules: [
        {
          name: 'check',
          match: { any: [{ resources: { kinds: ['Pod'], namespaces: [NAMESPACE] } }] },
          verifyImages: [
            {
              imageReferences: [pattern],
              attestors: [{ entries: [{ keys: { publicKeys: SEED_KEY, rekor: { ignoreTlog: true } } }] }],
            },
          ],
        },
      ],
    },
  });
}

async function applyPolicy(name: string, pattern: string): Promise<void> {
  const applied = await env.kubectl(['apply', '-f', '-'], policy(name, pattern));
  expect(applied.stderr).toBe('');
  await eventually(async () => {
    const ready = await readyCondition(env, 'clusterpolicy', name);
    return ready?.status === 'True' ? ready : undefined;
  }, `${name} to be Ready`);
}

async function start(name: string, args: readonly string[] = []): Promise<OperatorProcess> {
  const operator = await startOperator(env, await freePort(), { name, args: [GRACEFUL, ...args] });
  running.push(operator);
  return operator;
}

/** The base URLs that a webhook configuration's webhooks send to; undefined when there is no such configuration. */
async function targets(kind: 'mutatingwebhookconfiguration' | 'validatingwebhookconfiguration', name: string) {
  const got = await env.kubectl(['get', kind, name, '-o', 'json']);
  if (got.code !== 0) {
    expect(got.stderr).toContain('NotFound');
    return undefined;
  }
  const config = JSON.parse(got.stdout) as { webhooks?: { clientConfig: { url?: string } }[] };
  return [...new Set((config.webhooks ?? []).map((w) => new URL(w.clientConfig.url!).origin))];
}

/** Both configurations, once both exist and send to `url` alone. */
async function pointingAt(url: string): Promise<true | undefined> {
  const mutating = await targets('mutatingwebhookconfiguration', MUTATING);
  const validating = await targets('validatingwebhookconfiguration', VALIDATING);
  const only = (t: string[] | undefined) => t !== undefined && t.length === 1 && t[0] === url;
  return only(mutating) && only(validating) ? true : undefined;
}

async function expectNoConfigurations(): Promise<void> {
  expect(await targets('mutatingwebhookconfiguration', MUTATING)).toBeUndefined();
  expect(await targets('validatingwebhookconfiguration', VALIDATING)).toBeUndefined();
}

function run(name: string, image: string) {
  return env.kubectl(['run', name, `--image=${image}`, '--restart=Never', '-n', NAMESPACE]);
}

/** A Pod with an image no registry serves: denied by our webhook while one serves, created once none is registered. */
async function expectDenied(name: string): Promise<void> {
  const ran = await run(name, UNREACHABLE_IMAGE);
  expect(ran.code).not.toBe(0);
  expect(ran.stderr).toContain(`resource Pod/${NAMESPACE}/${name} was blocked due to the following policies`);
}

async function expectCreated(name: string): Promise<void> {
  const ran = await run(name, UNREACHABLE_IMAGE);
  expect(ran.stderr).toBe('');
  expect(ran.code).toBe(0);
  await env.kubectl(['delete', 'pod', name, '-n', NAMESPACE, '--wait=false']);
}

/** Stops `operator` with SIGTERM; its exit code and how long it took. */
async function stop(operator: OperatorProcess): Promise<{ code: number; ms: number }> {
  const started = Date.now();
  const code = await operator.stop({ killAfterMs: (TIMEOUT_S + 5) * 1000 });
  return { code, ms: Date.now() - started };
}

beforeAll(async () => {
  env = loadEnvironment();
  await installCrds(env);
  await env.kubectl(['create', 'namespace', NAMESPACE]);
  // Left by another suite's operator, they would route this suite's Pods to a webhook that is gone.
  for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
    await env.kubectl(['delete', kind, '-l', 'app.kubernetes.io/managed-by=imprimatur', '--ignore-not-found']);
  }
}, 120_000);

afterAll(async () => {
  await Promise.all(running.map((o) => o.kill()));
  await env.kubectl(['delete', 'clusterpolicy', '-l', LABEL, '--ignore-not-found']);
  await env.kubectl(['delete', 'namespace', NAMESPACE, '--wait=false']);
  for (const kind of ['mutatingwebhookconfigurations', 'validatingwebhookconfigurations']) {
    await env.kubectl(['delete', kind, '-l', 'app.kubernetes.io/managed-by=imprimatur', '--ignore-not-found']);
  }
}, 60_000);

describe('one local operator', () => {
  it('exits 0 on SIGTERM within the bound, removing its configurations, so Pods can be created again', async () => {
    const port = await freePort();
    await start('operator-clean-stop', [`--webhook-port=${port}`]);
    await applyPolicy('clean-stop-fail', 'registry.example/*');
    await eventually(() => pointingAt(`https://127.0.0.1:${port}`), 'both configurations to point at the operator');
    await expectDenied('while-running');

    const stopped = await stop(running.pop()!);

    expect(stopped.code).toBe(0);
    expect(stopped.ms).toBeLessThan(TIMEOUT_S * 1000);
    await expectNoConfigurations();
    await expectCreated('after-stop');
  }, 120_000);

  it('answers an admission in flight at SIGTERM, not ready from the signal on, then exits 0', async () => {
    // A registry that accepts connections and never answers: the admission is in flight until its deadline.
    const sockets = new Set<Socket>();
    const hanging = createServer((socket) => void sockets.add(socket));
    await new Promise<void>((resolve) => hanging.listen(0, '127.0.0.1', resolve));
    const registry = `127.0.0.1:${(hanging.address() as AddressInfo).port}`;
    try {
      const operator = await start('operator-in-flight');
      // Answered at its deadline, 4 s after it began: the registry never answers.
      await applyPolicy('clean-stop-slow', `${registry}/*`);
      await eventually(
        async () => ((await targets('mutatingwebhookconfiguration', MUTATING))?.length ? true : undefined),
        'the mutating configuration',
      );
      const admission = run('in-flight', `${registry}/team/app:v1`);
      await eventually(async () => (sockets.size > 0 ? true : undefined), 'the webhook to reach the registry');

      const stopping = stop(running.pop()!);
      const readiness = await eventually(async () => {
        const status = await fetch(`http://127.0.0.1:${operator.probePort}/readyz`).then(
          (r) => r.status,
          () => 0,
        );
        return status === 200 ? undefined : status;
      }, '/readyz to say not ready');
      const ran = await admission;
      const stopped = await stopping;

      // 503 while it stops (0 would mean it was already gone, the in-flight admission with it).
      expect(readiness).toBe(503);
      expect(ran.code).not.toBe(0);
      // Our answer, not a refused connection or the API server's timeout.
      expect(ran.stderr).toContain(`resource Pod/${NAMESPACE}/in-flight was blocked due to the following policies`);
      expect(stopped.code).toBe(0);
      expect(stopped.ms).toBeLessThan(TIMEOUT_S * 1000);
      await expectNoConfigurations();
    } finally {
      for (const s of sockets) s.destroy();
      hanging.close();
      await env.kubectl(['delete', 'clusterpolicy', 'clean-stop-slow', '--ignore-not-found']);
    }
  }, 120_000);
});

describe('two local operators with --leader-elect', () => {
  it('hands the configurations over when the leader stops, and the last one removes them', async () => {
    const ports = [await freePort(), await freePort()];
    const urls = ports.map((p) => `https://127.0.0.1:${p}`);
    const replicas = [
      await start('operator-clean-stop-a', [...FAST_LEASE, `--webhook-port=${ports[0]}`]),
      await start('operator-clean-stop-b', [...FAST_LEASE, `--webhook-port=${ports[1]}`]),
    ];
    await applyPolicy('clean-stop-fail', 'registry.example/*');
    // The leader registers its own URL: that tells which one leads.
    const leaderIndex = await eventually(async () => {
      for (const [i, url] of urls.entries()) if (await pointingAt(url)) return i;
      return undefined;
    }, 'the leader to register its URL');
    const followerIndex = 1 - leaderIndex;
    await expectDenied('under-first-leader');

    running.splice(running.indexOf(replicas[leaderIndex]!), 1);
    const leaderStopped = await stop(replicas[leaderIndex]!);
    expect(leaderStopped.code).toBe(0);
    expect(leaderStopped.ms).toBeLessThan(TIMEOUT_S * 1000);
    // Not removed: re-pointed by the replica that took the lease, which answers admissions now.
    await eventually(
      () => pointingAt(urls[followerIndex]!),
      'the configurations to point at the other replica',
      10_000,
    );
    await expectDenied('under-second-leader');

    running.splice(running.indexOf(replicas[followerIndex]!), 1);
    const lastStopped = await stop(replicas[followerIndex]!);
    expect(lastStopped.code).toBe(0);
    expect(lastStopped.ms).toBeLessThan(TIMEOUT_S * 1000);
    await expectNoConfigurations();
    await expectCreated('after-last-stop');
  }, 180_000);
});
