// The record of validated images (pkg/validated-images) judged by the real kube-apiserver: does its matchCondition read
// the record as /mutate writes it? A ValidatingWebhookConfiguration with that condition, failurePolicy Fail and a URL
// where nothing listens: a request the condition lets through to the webhook fails ("failed calling webhook"), one it
// skips is created. Server-side dry runs, so nothing is stored. The operator's own use of it is in metrics.test.ts
// (admitted Pods never reach the validating webhook) and validate.test.ts (what must reach it still does).
import {
  toValidatedImages,
  toValidationNeededCondition,
  VALIDATED_IMAGES_ANNOTATIONS,
} from '../../pkg/validated-images/index.js';
import { freePort, loadEnvironment, type Environment } from './support/environment.js';

const NAMESPACE = 'validated-images-e2e';
const CONFIGURATION = 'imprimatur-e2e-validated-images';
const RECORD = VALIDATED_IMAGES_ANNOTATIONS.Fail;

let env: Environment;

beforeAll(async () => {
  env = loadEnvironment();
  const nobody = await freePort();
  expect((await env.kubectl(['create', 'namespace', NAMESPACE])).code).toBe(0);
  expect((await env.kubectl(['label', 'namespace', NAMESPACE, `${NAMESPACE}=true`])).code).toBe(0);
  const configuration = {
    apiVersion: 'admissionregistration.k8s.io/v1',
    kind: 'ValidatingWebhookConfiguration',
    metadata: { name: CONFIGURATION },
    webhooks: [
      {
        name: 'judge.validated-images.imprimatur.io',
        admissionReviewVersions: ['v1'],
        sideEffects: 'None',
        failurePolicy: 'Fail',
        timeoutSeconds: 2,
        clientConfig: { url: `https://127.0.0.1:${nobody}/validate` },
        namespaceSelector: { matchLabels: { [NAMESPACE]: 'true' } },
        rules: [
          {
            apiGroups: [''],
            apiVersions: ['v1'],
            operations: ['CREATE'],
            resources: ['pods', 'replicationcontrollers'],
          },
          { apiGroups: ['apps'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['deployments'] },
          { apiGroups: ['batch'], apiVersions: ['v1'], operations: ['CREATE'], resources: ['jobs', 'cronjobs'] },
          { apiGroups: [''], apiVersions: ['v1'], operations: ['CREATE'], resources: ['configmaps'] },
        ],
        matchConditions: [toValidationNeededCondition(RECORD)],
      },
    ],
  };
  const applied = await env.kubectl(['apply', '-f', '-'], JSON.stringify(configuration));
  expect(applied.stderr).toBe('');
}, 60_000);

afterAll(async () => {
  await env.kubectl(['delete', 'validatingwebhookconfiguration', CONFIGURATION, '--ignore-not-found']);
  await env.kubectl(['delete', 'namespace', NAMESPACE, '--wait=false']);
}, 60_000);

type Kubeish = { apiVersion: string; kind: string; metadata: Record<string, unknown>; spec: Record<string, unknown> };

/** Creates the object (server-side dry run): 'skipped' when the webhook was not called, 'called' when it was. */
async function admit(object: Kubeish): Promise<'skipped' | 'called'> {
  const r = await env.kubectl(['create', '--dry-run=server', '-n', NAMESPACE, '-f', '-'], JSON.stringify(object));
  if (r.code === 0) return 'skipped';
  if (r.stderr.includes('failed calling webhook')) return 'called';
  throw new Error(`unexpected answer: ${r.stderr}`);
}

function withRecord<T extends Kubeish>(object: T, record: string | undefined): T {
  if (record === undefined) throw new Error('no record for this object');
  return { ...object, metadata: { ...object.metadata, annotations: { [RECORD]: record } } };
}

const containers = (...images: string[]) => images.map((image, i) => ({ name: `c${i}`, image }));
const pod = (spec: Record<string, unknown>): Kubeish => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'p' },
  spec,
});
const podSpec = (...images: string[]) => ({ containers: containers(...images) });
const group = (apiVersion: string) => (apiVersion.includes('/') ? apiVersion.split('/')[0]! : '');
const recordOf = (object: Kubeish) => toValidatedImages({ group: group(object.apiVersion), kind: object.kind }, object);

const template = (...images: string[]) => ({ metadata: { labels: { app: 'a' } }, spec: podSpec(...images) });
const WORKLOADS: Record<string, (...images: string[]) => Kubeish> = {
  Pod: (...images) => pod(podSpec(...images)),
  Deployment: (...images) => ({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd' },
    spec: { selector: { matchLabels: { app: 'a' } }, template: template(...images) },
  }),
  ReplicationController: (...images) => ({
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name: 'rc' },
    spec: { selector: { app: 'a' }, template: template(...images) },
  }),
  Job: (...images) => ({
    apiVersion: 'batch/v1',
    kind: 'Job',
    metadata: { name: 'j' },
    spec: { template: { spec: { ...podSpec(...images), restartPolicy: 'Never' } } },
  }),
  CronJob: (...images) => ({
    apiVersion: 'batch/v1',
    kind: 'CronJob',
    metadata: { name: 'cj' },
    spec: {
      schedule: '0 0 * * *',
      jobTemplate: { spec: { template: { spec: { ...podSpec(...images), restartPolicy: 'Never' } } } },
    },
  }),
};

describe('the matchCondition, read by kube-apiserver', () => {
  it.each(Object.keys(WORKLOADS))('skips the webhook for a %s whose images are those recorded', async (kind) => {
    const make = WORKLOADS[kind]!;
    const object = make(`registry.example/a:v1@sha256:${'a'.repeat(64)}`, 'registry.example/b:v2');
    expect(await admit(withRecord(object, recordOf(object)))).toBe('skipped');
  });

  it.each(Object.keys(WORKLOADS))('calls it for a %s with an image changed since, or no record', async (kind) => {
    const make = WORKLOADS[kind]!;
    const recorded = recordOf(make('registry.example/a:v1', 'registry.example/b:v2'));
    expect(await admit(withRecord(make('registry.example/a:v1', 'registry.example/evil:v2'), recorded))).toBe('called');
    expect(await admit(withRecord(make('registry.example/a:v1'), recorded))).toBe('called');
    expect(await admit(make('registry.example/a:v1', 'registry.example/b:v2'))).toBe('called');
  });

  it('reads init containers and escapes as /mutate writes them', async () => {
    const object = pod({
      initContainers: [{ name: 'init', image: 'registry.example/init%20x:v1' }],
      containers: containers('registry.example/a b:v1', 'registry.example/c:v1'),
    });
    expect(await admit(withRecord(object, recordOf(object)))).toBe('skipped');
  });

  it('calls it when a space would make two images of one', async () => {
    const two = pod(podSpec('registry.example/a', 'b'));
    const one = pod(podSpec('registry.example/a b'));
    expect(await admit(withRecord(one, recordOf(two)))).toBe('called');
    expect(await admit(withRecord(two, recordOf(one)))).toBe('called');
  });

  it('calls it for a kind that has no record, whatever its annotation says', async () => {
    const configMap = {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cm', annotations: { [RECORD]: 'v1:' } },
    };
    expect(await admit(configMap as unknown as Kubeish)).toBe('called');
  });
});
