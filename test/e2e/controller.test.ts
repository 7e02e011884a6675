// The controller through the real API server: status and cache follow edits (annotation-only ones too), Events
// say what went wrong, 200 policies at once become Ready quickly, the watches survive an API server restart, and
// with --leader-elect a second replica takes over when the leader dies.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  eventually,
  freePort,
  ROOT,
  STATE,
  loadEnvironment,
  startOperator,
  type Environment,
  type OperatorProcess,
} from './support/environment.js';
import { installCrds, SEED_KEY as KEY, type Condition } from './support/policies.js';
import { runCommand } from './support/run.js';

const LABEL = 'imprimatur.io/e2e=controller';
const FAST_LEASE = [
  '--leader-elect',
  '--leader-election-namespace=default',
  '--leader-election-id=imprimatur-e2e',
  '--leader-elect-lease-duration=4s',
  '--leader-elect-renew-deadline=3s',
  '--leader-elect-retry-period=1s',
];

function policy(name: string, key = KEY, annotations?: Record<string, string>): string {
  return stringify({
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name, labels: { 'imprimatur.io/e2e': 'controller' }, ...(annotations ? { annotations } : {}) },
    spec: {
      validationFailureAction: 'Enforce',
      rules: [
        { name: 'check', match: { any: [{ resources: { kinds: ['Pod'] } }] }, verifyImages: [{ image: '*', key }] },
      ],
    },
  });
}

let env: Environment;

beforeAll(async () => {
  env = loadEnvironment();
  await installCrds(env);
}, 300_000);

afterAll(async () => {
  await env.kubectl(['delete', 'clusterpolicy', '-l', LABEL, '--wait=false']);
}, 60_000);

async function readPolicy(name: string) {
  const got = await env.kubectl(['get', 'clusterpolicy', name, '-o', 'json']);
  if (got.code !== 0) return undefined;
  return JSON.parse(got.stdout) as {
    metadata: { generation: number; uid: string };
    status?: { conditions?: Condition[]; autogen?: { rules?: { name: string }[] } };
  };
}

/** The Ready condition once it describes the current generation and says `status`. */
async function readyWith(name: string, status: 'True' | 'False'): Promise<Condition | undefined> {
  const obj = await readPolicy(name);
  const ready = obj?.status?.conditions?.find((c) => c.type === 'Ready');
  return ready && ready.observedGeneration === obj!.metadata.generation && ready.status === status ? ready : undefined;
}

describe('one operator', () => {
  let operator: OperatorProcess;

  beforeAll(async () => {
    operator = await startOperator(env, await freePort());
  }, 120_000);

  afterAll(async () => {
    await operator.stop();
  }, 30_000);

  it('follows an edit, then an annotation-only edit, into status and autogen rules', async () => {
    expect((await env.kubectl(['apply', '-f', '-'], policy('edited'))).code).toBe(0);
    await eventually(() => readyWith('edited', 'True'), 'edited to be Ready');
    const autogen = async (names: string) => {
      const obj = await readPolicy('edited');
      const got = (obj?.status?.autogen?.rules ?? []).map((r) => r.name).join(',');
      return got === names ? got : undefined;
    };
    await eventually(() => autogen('autogen-check,autogen-cronjob-check'), 'the autogen rules in status');
    // No spec change, so no new generation: the annotation alone must be noticed.
    const annotate = ['annotate', 'clusterpolicy', 'edited', 'pod-policies.kyverno.io/autogen-controllers=Deployment'];
    expect((await env.kubectl(annotate)).code).toBe(0);
    await eventually(() => autogen('autogen-check'), 'autogen rules to follow the annotation');
    expect((await env.kubectl(['apply', '-f', '-'], policy('edited', 'broken'))).code).toBe(0);
    const failed = await eventually(() => readyWith('edited', 'False'), 'edited to be Ready=False');
    expect(failed.reason).toBe('InvalidKey');
  });

  it('records a Warning PolicyError Event for a policy that does not compile', async () => {
    expect((await env.kubectl(['apply', '-f', '-'], policy('eventful', 'not a key'))).code).toBe(0);
    await eventually(() => readyWith('eventful', 'False'), 'eventful to be Ready=False');
    const event = await eventually(async () => {
      const got = await env.kubectl(['get', 'events.events.k8s.io', '-n', 'default', '-o', 'json']);
      const items = (JSON.parse(got.stdout) as { items: Record<string, unknown>[] }).items;
      return items.find(
        (e) => (e['regarding'] as { name?: string }).name === 'eventful' && e['reason'] === 'PolicyError',
      );
    }, 'a PolicyError Event about eventful');
    expect(event).toMatchObject({
      type: 'Warning',
      reportingController: 'imprimatur.io/operator',
      regarding: { kind: 'ClusterPolicy', name: 'eventful' },
      note: expect.stringContaining('InvalidKey: spec.rules[0].verifyImages[0].key: invalid public key'),
    });
    const described = await env.kubectl(['describe', 'clusterpolicy', 'eventful']);
    expect(described.stdout).toMatch(/Warning\s+PolicyError\s+.*imprimatur\.io\/operator/);
  });

  it('makes 200 policies applied at once Ready within seconds', async () => {
    const names = Array.from({ length: 200 }, (_, i) => `bulk-${String(i).padStart(3, '0')}`);
    const started = Date.now();
    const applied = await env.kubectl(['apply', '-f', '-'], names.map((n) => policy(n)).join('---\n'));
    expect(applied.code).toBe(0);
    const appliedMs = Date.now() - started;
    await eventually(
      async () => {
        const got = await env.kubectl(['get', 'clusterpolicy', '-l', LABEL, '-o', 'json']);
        const items = (
          JSON.parse(got.stdout) as {
            items: { metadata: { name: string; generation: number }; status?: { conditions?: Condition[] } }[];
          }
        ).items;
        const ready = items.filter(
          (p) =>
            p.metadata.name.startsWith('bulk-') &&
            p.status?.conditions?.some(
              (c) => c.type === 'Ready' && c.status === 'True' && c.observedGeneration === p.metadata.generation,
            ),
        );
        return ready.length === names.length ? true : undefined;
      },
      '200 policies to be Ready',
      60_000,
    );
    const readyMs = Date.now() - started;
    // The figure the README reports; kept with the test results.
    mkdirSync(join(ROOT, 'test-results'), { recursive: true });
    writeFileSync(
      join(ROOT, 'test-results', 'controller-200-policies.json'),
      `${JSON.stringify({ policies: names.length, kubectlApplyMs: appliedMs, allReadyMs: readyMs }, null, 2)}\n`,
    );
    expect(readyMs).toBeLessThan(60_000);
  }, 120_000);

  it('recovers when the API server restarts, and statuses converge', async () => {
    expect((await env.kubectl(['apply', '-f', '-'], policy('before-restart'))).code).toBe(0);
    await eventually(() => readyWith('before-restart', 'True'), 'before-restart to be Ready');
    const restarted = await runCommand(join(ROOT, 'hack', 'restart-apiserver.sh'), ['2'], {
      env: { ...process.env, IMPRIMATUR_STATE_DIR: STATE },
    });
    expect(restarted.code).toBe(0);
    // Changes made after the restart reach the operator only through re-established watches.
    expect((await env.kubectl(['apply', '-f', '-'], policy('after-restart'))).code).toBe(0);
    expect((await env.kubectl(['apply', '-f', '-'], policy('before-restart', 'broken'))).code).toBe(0);
    await eventually(() => readyWith('after-restart', 'True'), 'after-restart to be Ready', 60_000);
    await eventually(() => readyWith('before-restart', 'False'), 'before-restart to follow its edit', 60_000);
  }, 120_000);
});

describe('two operators with --leader-elect', () => {
  let first: OperatorProcess;
  let second: OperatorProcess;

  beforeAll(async () => {
    first = await startOperator(env, await freePort(), { args: FAST_LEASE, name: 'operator-a' });
    second = await startOperator(env, await freePort(), { args: FAST_LEASE, name: 'operator-b' });
  }, 120_000);

  afterAll(async () => {
    await Promise.all([first.stop(), second.stop()]);
  }, 30_000);

  async function holder(): Promise<string | undefined> {
    const got = await env.kubectl([
      'get',
      'lease',
      'imprimatur-e2e',
      '-n',
      'default',
      '-o',
      'jsonpath={.spec.holderIdentity}',
    ]);
    return got.code === 0 && got.stdout !== '' ? got.stdout : undefined;
  }

  const identityOf = (op: OperatorProcess) =>
    op.logLines().find((l) => l['message'] === 'started leading')?.['identity'] as string | undefined;

  it('lets one lead, and the other take over when it dies', async () => {
    const leaderIdentity = await eventually(holder, 'a leader');
    await eventually(
      async () => [first, second].some((op) => identityOf(op) === leaderIdentity) || undefined,
      'the leader to say so',
    );
    const leader = identityOf(first) === leaderIdentity ? first : second;
    const follower = leader === first ? second : first;
    expect(identityOf(follower)).toBeUndefined();
    expect((await env.kubectl(['apply', '-f', '-'], policy('ha-one'))).code).toBe(0);
    await eventually(() => readyWith('ha-one', 'True'), 'ha-one to be Ready under the first leader');
    // The follower writes nothing, but compiles every policy into its own cache: it serves admissions too.
    const compiledBy = (op: OperatorProcess) =>
      op.logLines().some((l) => l['message'] === 'policy compiled' && l['key'] === 'ClusterPolicy//ha-one');
    await eventually(async () => (compiledBy(follower) ? true : undefined), 'the follower to compile ha-one');

    await leader.kill();
    const newHolder = await eventually(
      async () => {
        const h = await holder();
        return h && h !== leaderIdentity ? h : undefined;
      },
      'the follower to take the lease',
      30_000,
    );
    // Its log line may follow the lease it wrote by a turn of its event loop (lines are written in batches).
    expect(await eventually(async () => identityOf(follower), 'the new leader to say so')).toBe(newHolder);
    // Status writes continue under the new leader.
    expect((await env.kubectl(['apply', '-f', '-'], policy('ha-two', 'not a key'))).code).toBe(0);
    const condition = await eventually(
      () => readyWith('ha-two', 'False'),
      'ha-two to get its status from the new leader',
    );
    expect(condition.reason).toBe('InvalidKey');
  }, 90_000);
});
