import { generateKeyPairSync } from 'node:crypto';
import { compile, type CompiledPolicy } from '../pkg/policy/index.js';
import { EMPTY_TRUST_ROOT, toAttestorTrust } from '../pkg/trust/index.js';
import { toValidationNeededCondition } from '../pkg/validated-images/index.js';
import {
  desiredValidatingWebhookConfiguration,
  desiredWebhookConfiguration,
  MUTATING_WEBHOOKS,
  VALIDATING_WEBHOOKS,
  type WebhookConfigurationInput,
} from './webhook-configuration.js';

/** A trust root holding one Rekor key, so that the seed policy's legacy key (which requires the log) compiles. */
const trustRoot = toAttestorTrust(EMPTY_TRUST_ROOT, {
  rekorKeys: [generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey],
});

const KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8nXRh950IZbRj8Ra/N9sbqOPZrfM
5/KAQN0/KjHcorm/J5yctVd7iEcnessRQjU917hmKO6JWVGHpDguIyakZA==
-----END PUBLIC KEY-----`;

const NO_AUTOGEN = { 'pod-policies.kyverno.io/autogen-controllers': 'none' };

interface PolicyOptions {
  readonly spec?: Record<string, unknown>;
  /** The kinds the verifyImages rule matches; Pod by default. */
  readonly kinds?: readonly string[];
  readonly annotations?: Record<string, string>;
  /** Fields added to the rule's verifyImages entry, e.g. verifyDigest and required. */
  readonly entry?: Record<string, unknown>;
}

function compiled(name: string, options: PolicyOptions = {}): CompiledPolicy {
  const result = compile(
    {
      kind: 'ClusterPolicy',
      metadata: { name, ...(options.annotations ? { annotations: options.annotations } : {}) },
      spec: {
        validationFailureAction: 'Enforce',
        rules: [
          {
            name: 'r',
            match: { resources: { kinds: options.kinds ?? ['Pod'] } },
            verifyImages: [{ image: '*', key: KEY, ...options.entry }],
          },
        ],
        ...options.spec,
      },
    },
    { trustRoot },
  );
  if (!result.ok) throw new Error(`test policy ${name} does not compile: ${JSON.stringify(result.error)}`);
  return result.value;
}

const endpoint = { $case: 'url', url: 'https://127.0.0.1:9443', caBundle: 'PEM' } as const;

function desired(policies: readonly CompiledPolicy[], input: Partial<WebhookConfigurationInput> = {}) {
  return desiredWebhookConfiguration({
    endpoint,
    policies,
    operatorNamespace: 'imprimatur-system',
    excludedNamespaces: ['kube-system'],
    ...input,
  });
}

/** The webhooks by name, with the resources of their rules flattened as group/resource. */
function resourcesOf(config: ReturnType<typeof desired>): Record<string, string[]> {
  return Object.fromEntries(
    config.webhooks!.map((w) => [
      w.name,
      w.rules!.flatMap((r) => r.resources!.map((res) => `${r.apiGroups!.join(',')}/${res}`)),
    ]),
  );
}

const POD_AND_CONTROLLERS = [
  '/pods',
  '/pods/ephemeralcontainers',
  '/replicationcontrollers',
  'apps/deployments',
  'apps/daemonsets',
  'apps/statefulsets',
  'apps/replicasets',
  'batch/jobs',
  'batch/cronjobs',
];

describe('desiredWebhookConfiguration', () => {
  describe('with no policies', () => {
    it('registers no webhook, as there is nothing to enforce', () => {
      const config = desired([]);
      expect(config.metadata!.name).toBe('imprimatur-resource-mutating-webhook-cfg');
      expect(config.webhooks).toEqual([]);
    });
  });

  describe('with policies that all say Fail', () => {
    const config = desired([compiled('a'), compiled('b', { spec: { webhookTimeoutSeconds: 25 } })]);

    it('registers only the webhook that fails closed, at /mutate/fail', () => {
      expect(config.webhooks).toHaveLength(1);
      expect(config.webhooks![0]).toMatchObject({
        name: 'mutate.imprimatur.io-fail',
        failurePolicy: 'Fail',
        clientConfig: { url: 'https://127.0.0.1:9443/mutate/fail', caBundle: Buffer.from('PEM').toString('base64') },
      });
    });

    it('gives it the fields every webhook has', () => {
      expect(config.webhooks![0]).toMatchObject({
        reinvocationPolicy: 'IfNeeded',
        matchPolicy: 'Equivalent',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
      });
    });

    it('waits as long as the slowest policy asks', () => {
      expect(config.webhooks![0]!.timeoutSeconds).toBe(25);
    });

    it('asks for CREATE and UPDATE of every kind in every rule', () => {
      for (const rule of config.webhooks![0]!.rules!) {
        expect(rule.operations).toEqual(['CREATE', 'UPDATE']);
        expect(rule.scope).toBe('*');
      }
    });
  });

  describe('with policies that all say Ignore', () => {
    it('registers only the webhook that fails open, at /mutate/ignore', () => {
      const config = desired([compiled('a', { spec: { failurePolicy: 'Ignore' } })]);
      expect(config.webhooks).toHaveLength(1);
      expect(config.webhooks![0]).toMatchObject({
        name: 'mutate.imprimatur.io-ignore',
        failurePolicy: 'Ignore',
        clientConfig: { url: 'https://127.0.0.1:9443/mutate/ignore' },
        reinvocationPolicy: 'IfNeeded',
        matchPolicy: 'Equivalent',
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
        timeoutSeconds: 10,
      });
    });

    it('reads the failure policy from webhookConfiguration as well', () => {
      const config = desired([compiled('a', { spec: { webhookConfiguration: { failurePolicy: 'Ignore' } } })]);
      expect(config.webhooks!.map((w) => w.failurePolicy)).toEqual(['Ignore']);
    });
  });

  describe('with policies that differ in failurePolicy', () => {
    const config = desired([
      compiled('fail-on-deployments', {
        kinds: ['Deployment'],
        spec: { webhookTimeoutSeconds: 25 },
      }),
      compiled('ignore-on-pods', {
        annotations: NO_AUTOGEN,
        spec: { failurePolicy: 'Ignore', webhookTimeoutSeconds: 5 },
      }),
      compiled('ignore-on-jobs', {
        kinds: ['batch/v1/Job'],
        spec: { failurePolicy: 'Ignore', webhookTimeoutSeconds: 15 },
      }),
    ]);

    it('registers the Fail webhook, then the Ignore one (which keeps what the Fail one recorded)', () => {
      expect(config.webhooks!.map((w) => [w.name, w.failurePolicy])).toEqual([
        ['mutate.imprimatur.io-fail', 'Fail'],
        ['mutate.imprimatur.io-ignore', 'Ignore'],
      ]);
      expect(config.webhooks!.map((w) => w.clientConfig.url)).toEqual([
        'https://127.0.0.1:9443/mutate/fail',
        'https://127.0.0.1:9443/mutate/ignore',
      ]);
    });

    it('gives each webhook the kinds of its own policies only', () => {
      expect(resourcesOf(config)).toEqual({
        'mutate.imprimatur.io-ignore': ['/pods', '/pods/ephemeralcontainers', 'batch/jobs'],
        'mutate.imprimatur.io-fail': ['apps/deployments'],
      });
    });

    it('gives each webhook the longest timeout of its own policies, at least the default of 10', () => {
      expect(config.webhooks!.map((w) => w.timeoutSeconds)).toEqual([25, 15]);
    });

    it('leaves the same namespaces out of both', () => {
      for (const webhook of config.webhooks!) {
        expect(webhook.namespaceSelector).toEqual({
          matchExpressions: [
            { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'imprimatur-system'] },
          ],
        });
      }
    });
  });

  describe('timeouts', () => {
    it('are the default 10 seconds when no policy asks for more, as Kyverno', () => {
      expect(desired([compiled('a', { spec: { webhookTimeoutSeconds: 3 } })]).webhooks![0]!.timeoutSeconds).toBe(10);
    });

    it('are capped at 30 seconds, the API server limit', () => {
      const slow: CompiledPolicy = { ...compiled('a'), timeoutSeconds: 45 };
      expect(desired([slow]).webhooks![0]!.timeoutSeconds).toBe(30);
    });
  });

  describe('the kinds registered', () => {
    it('are a Pod policy’s pods, pods/ephemeralcontainers and, through autogen, the controllers', () => {
      const config = desired([compiled('a')]);
      expect(resourcesOf(config)).toEqual({ 'mutate.imprimatur.io-fail': POD_AND_CONTROLLERS });
      expect(config.webhooks![0]!.rules).toEqual([
        {
          apiGroups: [''],
          apiVersions: ['v1'],
          operations: ['CREATE', 'UPDATE'],
          resources: ['pods', 'pods/ephemeralcontainers', 'replicationcontrollers'],
          scope: '*',
        },
        {
          apiGroups: ['apps'],
          apiVersions: ['v1'],
          operations: ['CREATE', 'UPDATE'],
          resources: ['deployments', 'daemonsets', 'statefulsets', 'replicasets'],
          scope: '*',
        },
        {
          apiGroups: ['batch'],
          apiVersions: ['v1'],
          operations: ['CREATE', 'UPDATE'],
          resources: ['jobs', 'cronjobs'],
          scope: '*',
        },
      ]);
    });

    it('follow the autogen annotation: none leaves Pods only, a list those controllers', () => {
      expect(resourcesOf(desired([compiled('a', { annotations: NO_AUTOGEN })]))).toEqual({
        'mutate.imprimatur.io-fail': ['/pods', '/pods/ephemeralcontainers'],
      });
      const some = compiled('b', {
        annotations: { 'pod-policies.kyverno.io/autogen-controllers': 'Deployment,CronJob' },
      });
      expect(resourcesOf(desired([some]))).toEqual({
        'mutate.imprimatur.io-fail': ['/pods', '/pods/ephemeralcontainers', 'apps/deployments', 'batch/cronjobs'],
      });
    });

    it('read kinds with group, version or subresource by their kind', () => {
      const config = desired([compiled('a', { kinds: ['v1/Pod', 'apps/v1/StatefulSet', 'Pod/ephemeralcontainers'] })]);
      expect(resourcesOf(config)).toEqual({
        'mutate.imprimatur.io-fail': ['/pods', '/pods/ephemeralcontainers', 'apps/statefulsets'],
      });
    });

    it('match kind patterns against the workload kinds', () => {
      expect(resourcesOf(desired([compiled('a', { kinds: ['*Set'] })]))).toEqual({
        'mutate.imprimatur.io-fail': ['apps/daemonsets', 'apps/statefulsets', 'apps/replicasets'],
      });
    });

    it('route another kind, which imageExtractors read, by its guessed resource in every group', () => {
      const policy = compiled('a', {
        spec: {
          rules: [
            {
              name: 'r',
              match: { resources: { kinds: ['tekton.dev/v1/Task', 'Gateway', 'Registry', 'Mesh'] } },
              imageExtractors: { Task: [{ path: '/spec/steps/*/image' }] },
              verifyImages: [{ image: '*', key: KEY }],
            },
          ],
        },
      });
      expect(desired([policy]).webhooks![0]!.rules).toEqual([
        {
          apiGroups: ['*'],
          apiVersions: ['*'],
          operations: ['CREATE', 'UPDATE'],
          resources: ['gateways', 'meshes', 'registries', 'tasks'],
          scope: '*',
        },
      ]);
    });

    it('never include leases, events, endpoints, nodes, webhook configurations or policies', () => {
      const named = [
        'Lease',
        'coordination.k8s.io/v1/Lease',
        'Event',
        'Endpoints',
        'EndpointSlice',
        'Node',
        'MutatingWebhookConfiguration',
        'ValidatingWebhookConfiguration',
        'ClusterPolicy',
        'Policy',
        'Endpoint', // guessed as endpoints
      ];
      expect(resourcesOf(desired([compiled('a', { kinds: ['Pod', ...named], annotations: NO_AUTOGEN })]))).toEqual({
        'mutate.imprimatur.io-fail': ['/pods', '/pods/ephemeralcontainers'],
      });
    });

    it('leave out a webhook whose policies name nothing that may be intercepted', () => {
      const config = desired([
        compiled('a', { kinds: ['Lease', 'Event'] }),
        compiled('b', { spec: { failurePolicy: 'Ignore' }, annotations: NO_AUTOGEN }),
      ]);
      expect(config.webhooks!.map((w) => w.name)).toEqual(['mutate.imprimatur.io-ignore']);
    });

    it('come only from verifyImages rules: a policy with none registers nothing', () => {
      const validateOnly = compiled('a', {
        spec: {
          rules: [{ name: 'v', match: { resources: { kinds: ['Pod'] } }, validate: { message: 'x' } }],
        },
      });
      expect(desired([validateOnly]).webhooks).toEqual([]);
    });
  });

  describe('excluded namespaces', () => {
    it('leave out kube-system and the operator’s namespace even when --excluded-namespaces does not list them', () => {
      const config = desired([compiled('a')], { operatorNamespace: 'ops', excludedNamespaces: [] });
      expect(config.webhooks![0]!.namespaceSelector!.matchExpressions).toEqual([
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'ops'] },
      ]);
    });

    it('add --excluded-namespaces once each, by the immutable name label', () => {
      const excludedNamespaces = ['kube-system', 'monitoring', 'ops', 'monitoring', ''];
      const config = desired([compiled('a')], { operatorNamespace: 'ops', excludedNamespaces });
      expect(config.webhooks![0]!.namespaceSelector!.matchExpressions).toEqual([
        { key: 'kubernetes.io/metadata.name', operator: 'NotIn', values: ['kube-system', 'ops', 'monitoring'] },
      ]);
      expect(excludedNamespaces).toEqual(['kube-system', 'monitoring', 'ops', 'monitoring', '']);
    });

    it('apply to every webhook', () => {
      const config = desired([compiled('a'), compiled('b', { spec: { failurePolicy: 'Ignore' } })], {
        excludedNamespaces: ['monitoring'],
      });
      expect(config.webhooks).toHaveLength(2);
      for (const webhook of config.webhooks!) {
        expect(webhook.namespaceSelector!.matchExpressions![0]!.values).toEqual([
          'kube-system',
          'imprimatur-system',
          'monitoring',
        ]);
      }
    });
  });

  describe('in the cluster', () => {
    it('points each webhook at the Service, with its own path', () => {
      const config = desired([compiled('a'), compiled('b', { spec: { failurePolicy: 'Ignore' } })], {
        endpoint: {
          $case: 'service',
          namespace: 'imprimatur-system',
          name: 'imprimatur-webhook-service',
          port: 443,
          caBundle: 'PEM',
        },
      });
      expect(config.webhooks!.map((w) => w.clientConfig)).toEqual([
        {
          service: {
            namespace: 'imprimatur-system',
            name: 'imprimatur-webhook-service',
            port: 443,
            path: '/mutate/fail',
          },
          caBundle: Buffer.from('PEM').toString('base64'),
        },
        {
          service: {
            namespace: 'imprimatur-system',
            name: 'imprimatur-webhook-service',
            port: 443,
            path: '/mutate/ignore',
          },
          caBundle: Buffer.from('PEM').toString('base64'),
        },
      ]);
    });
  });

  describe('by URL', () => {
    it('joins the path to a URL that ends in a slash without doubling it', () => {
      const config = desired([compiled('a')], { endpoint: { ...endpoint, url: 'https://127.0.0.1:9443/' } });
      expect(config.webhooks![0]!.clientConfig.url).toBe('https://127.0.0.1:9443/mutate/fail');
    });
  });

  describe('stability', () => {
    const policies = [
      compiled('a', { kinds: ['Deployment', 'Task'], spec: { webhookTimeoutSeconds: 12 } }),
      compiled('b', { spec: { failurePolicy: 'Ignore', webhookTimeoutSeconds: 20 } }),
      compiled('c', { kinds: ['Gateway', 'CronJob'], spec: { failurePolicy: 'Ignore' } }),
      compiled('d', { annotations: NO_AUTOGEN }),
    ];

    it('gives a deep-equal configuration for the same policies, so that applying it again changes nothing', () => {
      expect(desired(policies)).toStrictEqual(desired(policies));
    });

    it('does not depend on the order the cache lists the policies in', () => {
      expect(desired([...policies].reverse())).toStrictEqual(desired(policies));
      expect(desired([policies[2]!, policies[0]!, policies[3]!, policies[1]!])).toStrictEqual(desired(policies));
    });

    it('serializes to the same JSON each time', () => {
      expect(JSON.stringify(desired(policies))).toBe(JSON.stringify(desired([...policies].reverse())));
    });
  });

  it('names the webhooks and paths the webhook server serves', () => {
    expect(MUTATING_WEBHOOKS).toEqual({
      Fail: { name: 'mutate.imprimatur.io-fail', path: '/mutate/fail' },
      Ignore: { name: 'mutate.imprimatur.io-ignore', path: '/mutate/ignore' },
    });
  });
});

describe('desiredValidatingWebhookConfiguration', () => {
  function validating(policies: readonly CompiledPolicy[], input: Partial<WebhookConfigurationInput> = {}) {
    return desiredValidatingWebhookConfiguration({
      endpoint,
      policies,
      operatorNamespace: 'imprimatur-system',
      excludedNamespaces: ['kube-system'],
      ...input,
    });
  }
  const NO_CHECKS = { verifyDigest: false, required: false };

  it('is not wanted with no policies: it is deleted rather than left with no webhooks', () => {
    expect(validating([])).toBeUndefined();
  });

  it('is not wanted when no entry asks for verifyDigest or required, though the mutating webhook is', () => {
    const policies = [compiled('a', { entry: NO_CHECKS })];
    expect(validating(policies)).toBeUndefined();
    expect(desired(policies).webhooks).toHaveLength(1);
  });

  it.each([
    ['verifyDigest and required by default', {}],
    ['verifyDigest alone', { required: false }],
    ['required alone', { verifyDigest: false }],
  ])('is wanted with %s', (_what, entry) => {
    expect(validating([compiled('a', { entry })])).toBeDefined();
  });

  describe('when a policy reads images with imageExtractors', () => {
    it('is called for every request of that failure policy, as the record holds Pod specs’ images only', () => {
      const extracting = compiled('extracting', {
        spec: {
          rules: [
            {
              name: 'r',
              match: { resources: { kinds: ['Pod'] } },
              imageExtractors: { Pod: [{ path: '/metadata/annotations/sidecar' }] },
              verifyImages: [{ image: '*', key: KEY }],
            },
          ],
        },
      });
      const ignoring = compiled('ignoring', { spec: { failurePolicy: 'Ignore' } });
      const webhooks = validating([extracting, ignoring])!.webhooks!;
      expect(webhooks.map((w) => [w.failurePolicy, w.matchConditions?.length ?? 0])).toEqual([
        ['Fail', 0],
        ['Ignore', 1],
      ]);
    });
  });

  describe('beside the mutating configuration', () => {
    const policies = [
      compiled('fail', { spec: { webhookTimeoutSeconds: 25 } }),
      compiled('ignore', { spec: { failurePolicy: 'Ignore', webhookTimeoutSeconds: 15 }, annotations: NO_AUTOGEN }),
    ];
    const config = validating(policies, { excludedNamespaces: ['monitoring'] })!;
    const mutating = desired(policies, { excludedNamespaces: ['monitoring'] });

    it('is named after Kyverno’s, with its webhooks at /validate/fail and /validate/ignore, Fail first', () => {
      expect(config).toMatchObject({
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'ValidatingWebhookConfiguration',
        metadata: {
          name: 'imprimatur-resource-validating-webhook-cfg',
          labels: { 'app.kubernetes.io/managed-by': 'imprimatur', 'app.kubernetes.io/part-of': 'imprimatur' },
        },
      });
      expect(config.webhooks!.map((w) => [w.name, w.failurePolicy, w.clientConfig.url])).toEqual([
        ['validate.imprimatur.io-fail', 'Fail', 'https://127.0.0.1:9443/validate/fail'],
        ['validate.imprimatur.io-ignore', 'Ignore', 'https://127.0.0.1:9443/validate/ignore'],
      ]);
    });

    it('has the same kinds, selectors, failure policies and timeouts as the mutating webhooks', () => {
      /** The fields that say which requests go where and how long to wait: all but the name and the path. */
      const routing = (webhook: object) => {
        const copy: Record<string, unknown> = { ...webhook };
        for (const field of ['name', 'clientConfig', 'reinvocationPolicy', 'matchConditions']) delete copy[field];
        return copy;
      };
      expect(config.webhooks!.map(routing)).toEqual(mutating.webhooks!.map(routing));
      expect(config.webhooks!.map((w) => w.clientConfig.caBundle)).toEqual(
        mutating.webhooks!.map((w) => w.clientConfig.caBundle),
      );
      expect(config.webhooks!.map((w) => w.timeoutSeconds)).toEqual([25, 15]);
      expect(config.webhooks![0]!.namespaceSelector!.matchExpressions![0]!.values).toEqual([
        'kube-system',
        'imprimatur-system',
        'monitoring',
      ]);
    });

    it('asks for CREATE and UPDATE only: the checks skip DELETE and CONNECT', () => {
      for (const rule of config.webhooks!.flatMap((w) => w.rules!))
        expect(rule.operations).toEqual(['CREATE', 'UPDATE']);
    });

    it('is called only when the images are not those the mutating webhook recorded, per failure policy', () => {
      expect(config.webhooks!.map((w) => w.matchConditions)).toEqual([
        [toValidationNeededCondition('imprimatur.io/validated-images-fail')],
        [toValidationNeededCondition('imprimatur.io/validated-images-ignore')],
      ]);
    });

    it('has no reinvocationPolicy, which validating webhooks do not take', () => {
      for (const webhook of config.webhooks!) expect(webhook).not.toHaveProperty('reinvocationPolicy');
    });
  });

  it('holds only the policies, and the kinds of only the rules, that check something', () => {
    const mixed = compiled('mixed', {
      annotations: NO_AUTOGEN,
      spec: {
        rules: [
          {
            name: 'pods',
            match: { resources: { kinds: ['Pod'] } },
            verifyImages: [{ image: '*', key: KEY }],
          },
          {
            name: 'jobs',
            match: { resources: { kinds: ['Job'] } },
            verifyImages: [{ image: '*', key: KEY, ...NO_CHECKS }],
          },
        ],
      },
    });
    const unchecked = compiled('unchecked', {
      kinds: ['Deployment'],
      entry: NO_CHECKS,
      spec: { failurePolicy: 'Ignore' },
    });
    const config = validating([mixed, unchecked])!;
    expect(config.webhooks!.map((w) => w.name)).toEqual(['validate.imprimatur.io-fail']);
    expect(config.webhooks![0]!.rules!.flatMap((r) => r.resources)).toEqual(['pods', 'pods/ephemeralcontainers']);
    expect(resourcesOf(desired([mixed, unchecked]))).toEqual({
      'mutate.imprimatur.io-ignore': ['apps/deployments'],
      'mutate.imprimatur.io-fail': ['/pods', '/pods/ephemeralcontainers', 'batch/jobs'],
    });
  });

  it('points each webhook at the Service in the cluster, with its own path', () => {
    const config = validating([compiled('a')], {
      endpoint: { $case: 'service', namespace: 'ops', name: 'imprimatur-webhook-service', port: 443, caBundle: 'PEM' },
    })!;
    expect(config.webhooks![0]!.clientConfig.service).toEqual({
      namespace: 'ops',
      name: 'imprimatur-webhook-service',
      port: 443,
      path: '/validate/fail',
    });
  });

  it('is not wanted when its policies name nothing that may be intercepted', () => {
    expect(validating([compiled('a', { kinds: ['Lease', 'Event'] })])).toBeUndefined();
  });

  it('gives a deep-equal configuration for the same policies, whatever their order', () => {
    const policies = [compiled('a', { kinds: ['Deployment'] }), compiled('b', { spec: { failurePolicy: 'Ignore' } })];
    expect(validating(policies)).toStrictEqual(validating([...policies].reverse()));
  });

  it('names the webhooks and paths the webhook server serves', () => {
    expect(VALIDATING_WEBHOOKS).toEqual({
      Fail: { name: 'validate.imprimatur.io-fail', path: '/validate/fail' },
      Ignore: { name: 'validate.imprimatur.io-ignore', path: '/validate/ignore' },
    });
  });
});
