// Nested variables in attestation conditions, end to end: kubectl, the real kube-apiserver, our webhook, and
// attestations the real cosign attached to images in the local registry. The conditions are the shapes Kyverno users
// write: a builder identity checked with regex_match('…', '{{ builder.id }}'), and two of the predicate's timestamps
// compared with time_after('{{ … }}', '{{ … }}'). One attestation passes; one from another organisation, whose
// builder id also tries to close the string literal and make the expression true, is denied.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  eventually,
  freePort,
  loadEnvironment,
  startOperator,
  type Environment,
  type OperatorProcess,
} from './support/environment.js';
import { installCrds, readyCondition } from './support/policies.js';
import { registryTools } from './support/registry-tools.js';

const BUILD = 'https://example.com/Build/v1';
const NAMESPACE = 'nested-substitution-e2e';
const POLICY = 'nested-substitution';

let env: Environment;
let operator: OperatorProcess | undefined;
let work: string;
const { tool, pushRandomImage } = registryTools(loadEnvironment(), () => work);

beforeAll(async () => {
  env = loadEnvironment();
  work = mkdtempSync(join(tmpdir(), 'imprimatur-nested-'));
  await installCrds(env);
  expect((await tool('cosign', ['generate-key-pair', '--output-key-prefix', join(work, 'k1')])).code).toBe(0);
  expect((await env.kubectl(['create', 'namespace', NAMESPACE])).code).toBe(0);
  operator = await startOperator(env, await freePort(), { name: 'operator-nested-substitution' });

  const publicKeys = readFileSync(join(work, 'k1.pub'), 'utf8');
  const policy = {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: POLICY },
    spec: {
      validationFailureAction: 'Enforce',
      failurePolicy: 'Fail',
      webhookTimeoutSeconds: 15,
      rules: [
        {
          name: 'built-by-org',
          match: { any: [{ resources: { kinds: ['Pod'], namespaces: [NAMESPACE] } }] },
          verifyImages: [
            {
              imageReferences: [`${env.vars['REGISTRY']}/nested/*`],
              attestations: [
                {
                  type: BUILD,
                  attestors: [{ entries: [{ keys: { publicKeys } }] }],
                  conditions: [
                    {
                      all: [
                        {
                          key: "{{ regex_match('^https://github.com/org/', '{{ builder.id }}') }}",
                          operator: 'Equals',
                          value: true,
                          message: 'built outside the organisation',
                        },
                        {
                          key: "{{ time_after('{{ finishedOn }}', '{{ source.committedOn }}') }}",
                          operator: 'Equals',
                          value: true,
                          message: 'built before its commit',
                        },
                      ],
                    },
                  ],
                },
              ],
            },
          ],
        },
      ],
    },
  };
  const applied = await env.kubectl(['apply', '-f', '-'], JSON.stringify(policy));
  expect(applied.stderr).toBe('');
  await eventually(async () => {
    const ready = await readyCondition(env, 'clusterpolicy', POLICY);
    return ready?.status === 'True' ? ready : undefined;
  }, `${POLICY} to be Ready`);
}, 300_000);

afterAll(async () => {
  await env.kubectl(['delete', 'cpol', POLICY, '--ignore-not-found']);
  await env.kubectl(['delete', 'namespace', NAMESPACE, '--wait=false']);
  await operator?.stop();
  rmSync(work, { recursive: true, force: true });
}, 60_000);

async function attest(image: string, predicate: unknown): Promise<void> {
  const file = join(work, `predicate-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(predicate));
  const attested = await tool('cosign', [
    'attest',
    ...['--key', join(work, 'k1.key'), '--use-signing-config=false', '--rekor-url', env.vars['REKOR_URL']!],
    ...['--type', BUILD, '--predicate', file, image],
  ]);
  expect(attested.stderr).not.toContain('Error');
  expect(attested.code).toBe(0);
}

function run(name: string, image: string) {
  return env.kubectl(['run', name, `--image=${image}`, '--restart=Never', '-n', NAMESPACE]);
}

const COMMITTED = '2026-11-01T09:00:00Z';
const FINISHED = '2026-11-01T09:30:00Z';

it('admits an image whose build attestation satisfies both nested conditions', async () => {
  const image = await pushRandomImage(env.vars['REGISTRY']!, 'nested/org-built');
  await attest(image, {
    builder: { id: 'https://github.com/org/ci/.github/workflows/build.yaml@refs/heads/main' },
    source: { committedOn: COMMITTED },
    finishedOn: FINISHED,
  });
  const ran = await run('org-built', image);
  expect(ran.stderr).toBe('');
  expect(ran.stdout.trim()).toBe('pod/org-built created');
});

it('denies one built elsewhere, whose builder id tries to close the quotes and make the check true', async () => {
  const image = await pushRandomImage(env.vars['REGISTRY']!, 'nested/elsewhere');
  await attest(image, {
    builder: { id: "https://github.com/evil/ci') || `true` || ('" },
    source: { committedOn: COMMITTED },
    finishedOn: FINISHED,
  });
  const ran = await run('elsewhere', image);
  expect(ran.code).not.toBe(0);
  expect(ran.stderr).toContain('attestation checks failed');
  expect(ran.stderr).toContain('built outside the organisation');
  expect(ran.stderr).not.toContain('built before its commit');
});

it('denies one whose build finished before its commit, comparing the two nested timestamps', async () => {
  const image = await pushRandomImage(env.vars['REGISTRY']!, 'nested/time-travel');
  await attest(image, {
    builder: { id: 'https://github.com/org/ci/.github/workflows/build.yaml@refs/heads/main' },
    source: { committedOn: FINISHED },
    finishedOn: COMMITTED,
  });
  const ran = await run('time-travel', image);
  expect(ran.code).not.toBe(0);
  expect(ran.stderr).toContain('built before its commit');
});
