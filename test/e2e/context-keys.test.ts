// Keys that live outside the policy, end to end: kubectl, the real kube-apiserver, our webhook, and images the real
// cosign signed into the local registry. A key held in a ConfigMap (read through the rule's context) verifies, and
// after the ConfigMap is changed to another key the same image is denied at once, with no restart and no stale
// cached pass; a key in a Secret that cosign itself wrote (k8s://) verifies, in both ways a policy names it; a missing
// ConfigMap denies under failurePolicy Fail and admits, with a warning, under Ignore; and a per-namespace key is
// chosen with a nested {{ request.namespace }}.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import {
  eventually,
  freePort,
  loadEnvironment,
  startOperator,
  TOOLS_BIN,
  type Environment,
  type OperatorProcess,
} from './support/environment.js';
import { installCrds, readyCondition } from './support/policies.js';
import { registryTools } from './support/registry-tools.js';
import { runCommand } from './support/run.js';

/** Where the keys are kept, as an operator team keeps them apart from the workloads. */
const KEYS = 'ctx-keys';
const NAMESPACES = [
  'ctx-cm',
  'ctx-secret',
  'ctx-missing-fail',
  'ctx-missing-ignore',
  'ctx-team-a',
  'ctx-team-b',
  'ctx-api',
];
const LABEL = 'e2e=context-keys';

let env: Environment;
let operator: OperatorProcess | undefined;
let work: string;
const { tool, pushRandomImage } = registryTools(loadEnvironment(), () => work);
let signed: string;
const pem = (name: string) => readFileSync(join(work, `${name}.pub`), 'utf8');

beforeAll(async () => {
  env = loadEnvironment();
  work = mkdtempSync(join(tmpdir(), 'imprimatur-context-'));
  await installCrds(env);
  for (const namespace of [KEYS, ...NAMESPACES])
    expect((await env.kubectl(['create', 'namespace', namespace])).code).toBe(0);
  for (const name of ['k1', 'k2'])
    expect((await tool('cosign', ['generate-key-pair', '--output-key-prefix', join(work, name)])).code).toBe(0);
  // The image, signed with k1 and logged in the local Rekor (the operator trusts it through --trusted-root).
  signed = await pushRandomImage(env.vars['REGISTRY']!, 'ctx/app');
  await sign('k1', join(work, 'k1.key'));
  operator = await startOperator(env, await freePort(), { name: 'operator-context-keys' });
}, 300_000);

afterAll(async () => {
  await env.kubectl(['delete', 'cpol', '-l', LABEL, '--ignore-not-found']);
  await operator?.stop();
  for (const namespace of [KEYS, ...NAMESPACES]) await env.kubectl(['delete', 'namespace', namespace, '--wait=false']);
  rmSync(work, { recursive: true, force: true });
}, 60_000);

async function sign(name: string, key: string, extraEnv: Record<string, string> = {}): Promise<void> {
  const ran = await tool(
    'cosign',
    ['sign', '--key', key, '--use-signing-config=false', '--rekor-url', env.vars['REKOR_URL']!, signed],
    extraEnv,
  );
  expect({ name, code: ran.code, stderr: ran.code === 0 ? '' : ran.stderr }).toEqual({ name, code: 0, stderr: '' });
}

/** Applies a ClusterPolicy for Pods in `namespace` and waits until it is Ready. */
async function applyPolicy(
  name: string,
  namespace: string,
  entry: Record<string, unknown>,
  options: { context?: unknown[]; failurePolicy?: 'Fail' | 'Ignore' } = {},
): Promise<void> {
  const applied = await env.kubectl(
    ['apply', '-f', '-'],
    stringify({
      apiVersion: 'kyverno.io/v1',
      kind: 'ClusterPolicy',
      metadata: { name, labels: { e2e: 'context-keys' } },
      spec: {
        validationFailureAction: 'Enforce',
        failurePolicy: options.failurePolicy ?? 'Fail',
        webhookTimeoutSeconds: 15,
        rules: [
          {
            name: 'check',
            match: { any: [{ resources: { kinds: ['Pod'], namespaces: [namespace] } }] },
            ...(options.context ? { context: options.context } : {}),
            verifyImages: [{ imageReferences: [`${env.vars['REGISTRY']!}/ctx/*`], ...entry }],
          },
        ],
      },
    }),
  );
  expect(applied.stderr).toBe('');
  const ready = await eventually(async () => {
    const condition = await readyCondition(env, 'clusterpolicy', name);
    return condition?.status === 'True' ? condition : undefined;
  }, `${name} to be Ready`);
  expect(ready.reason).toBe('Succeeded');
}

let pods = 0;
function run(namespace: string) {
  const [name] = signed.split('@') as [string, string];
  return env.kubectl(['run', `p${++pods}`, `--image=${name}:v1`, '--restart=Never', '-n', namespace]);
}

async function putKeysConfigMap(data: Record<string, string>): Promise<void> {
  const applied = await env.kubectl(
    ['apply', '-f', '-'],
    stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'keys', namespace: KEYS }, data }),
  );
  expect(applied.stderr).toBe('');
}

const KEYS_CONTEXT = [{ name: 'keys', configMap: { name: 'keys', namespace: KEYS } }];

describe('a key held in a ConfigMap', () => {
  beforeAll(async () => {
    await putKeysConfigMap({ production: pem('k1') });
    await applyPolicy('ctx-configmap', 'ctx-cm', { key: '{{ keys.data.production }}' }, { context: KEYS_CONTEXT });
  }, 120_000);

  it('verifies the image signed with it, and pins the digest', async () => {
    const ran = await run('ctx-cm');
    expect(ran.stderr).toBe('');
  });

  it('is used at once when the ConfigMap changes: the same image is then denied, and admitted again after', async () => {
    await putKeysConfigMap({ production: pem('k2') });
    const denied = await eventually(async () => {
      const ran = await run('ctx-cm');
      return ran.code !== 0 ? ran : undefined;
    }, 'the rotated key to be used');
    expect(denied.stderr).toContain('invalid signature');
    await putKeysConfigMap({ production: pem('k1') });
    await eventually(async () => ((await run('ctx-cm')).code === 0 ? true : undefined), 'the first key again');
    // The log names no restart: one operator process served all of it.
    expect(operator!.logLines().filter((l) => l['message'] === 'starting')).toHaveLength(1);
  }, 120_000);
});

describe('a key held in a Secret that cosign wrote', () => {
  beforeAll(async () => {
    // cosign's own k8s:// key: a Secret with cosign.key, cosign.pub and cosign.password, made through the API server.
    // cosign also writes cosign.pub into its working directory: the test's own, not the checkout.
    const made = await runCommand(join(TOOLS_BIN, 'cosign'), ['generate-key-pair', `k8s://${KEYS}/cosign`], {
      env: { ...process.env, COSIGN_PASSWORD: 'e2e', KUBECONFIG: env.kubeconfig },
      cwd: work,
    });
    expect(made.stderr).not.toContain('error');
    expect(made.code).toBe(0);
    await sign('k8s', `k8s://${KEYS}/cosign`, { KUBECONFIG: env.kubeconfig });
  }, 120_000);

  it.each([
    ['as a k8s:// public key', { publicKeys: `k8s://${KEYS}/cosign` }],
    ['as keys.secret', { secret: { name: 'cosign', namespace: KEYS } }],
  ])(
    'verifies the image signed with it (%s)',
    async (_how, keys) => {
      await applyPolicy('ctx-secret', 'ctx-secret', { attestors: [{ entries: [{ keys }] }] });
      const ran = await run('ctx-secret');
      expect(ran.stderr).toBe('');
    },
    120_000,
  );
});

describe('a ConfigMap that does not exist', () => {
  const context = [{ name: 'keys', configMap: { name: 'absent', namespace: KEYS } }];

  it('denies the Pod under failurePolicy Fail, saying why', async () => {
    await applyPolicy('ctx-missing-fail', 'ctx-missing-fail', { key: '{{ keys.data.production }}' }, { context });
    const ran = await run('ctx-missing-fail');
    expect(ran.code).not.toBe(0);
    expect(ran.stderr).toContain('failed to load context: ');
    expect(ran.stderr).toContain(`configmaps "absent" not found in namespace "${KEYS}"`);
  }, 120_000);

  it('admits it under Ignore, with a warning', async () => {
    await applyPolicy(
      'ctx-missing-ignore',
      'ctx-missing-ignore',
      // required and verifyDigest false, or the validating webhook would refuse the image that Ignore let through.
      { key: '{{ keys.data.production }}', required: false, verifyDigest: false },
      { context, failurePolicy: 'Ignore' },
    );
    const ran = await run('ctx-missing-ignore');
    expect(ran.code).toBe(0);
    expect(ran.stderr).toContain('Warning: policy ctx-missing-ignore.check: ');
    expect(ran.stderr).toContain('failed to load context');
  }, 120_000);
});

describe('a key per namespace', () => {
  it('is chosen with a nested {{ request.namespace }}: one namespace’s key verifies, another’s does not', async () => {
    await putKeysConfigMap({ production: pem('k1'), 'ctx-team-a': pem('k1'), 'ctx-team-b': pem('k2') });
    await applyPolicy(
      'ctx-per-namespace',
      'ctx-team-*',
      { key: '{{ keys.data.{{ request.namespace }} }}' },
      { context: KEYS_CONTEXT },
    );
    const a = await run('ctx-team-a');
    expect(a.stderr).toBe('');
    const b = await run('ctx-team-b');
    expect(b.code).not.toBe(0);
    expect(b.stderr).toContain('invalid signature');
  }, 120_000);
});

describe('a key read through an API call', () => {
  it('verifies with what the API server answered, after the entry’s jmesPath', async () => {
    await putKeysConfigMap({ production: pem('k1') });
    await applyPolicy(
      'ctx-api-call',
      'ctx-api',
      { key: '{{ production }}' },
      {
        context: [
          {
            name: 'production',
            apiCall: { urlPath: `/api/v1/namespaces/${KEYS}/configmaps/keys`, jmesPath: 'data.production' },
          },
        ],
      },
    );
    const ran = await run('ctx-api');
    expect(ran.stderr).toBe('');
  }, 120_000);

  it('never reads a Secret, and says so', async () => {
    await applyPolicy(
      'ctx-api-secret',
      'ctx-api',
      { key: '{{ stolen }}' },
      { context: [{ name: 'stolen', apiCall: { urlPath: `/api/v1/namespaces/${KEYS}/secrets/cosign` } }] },
    );
    const ran = await run('ctx-api');
    expect(ran.code).not.toBe(0);
    expect(ran.stderr).toContain('reads Secrets, which API calls in policies may not');
  }, 120_000);
});
