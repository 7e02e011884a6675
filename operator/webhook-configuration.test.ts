import { generateKeyPairSync } from 'node:crypto';
import { compile, type CompiledPolicy } from '../pkg/policy/index.js';
import { EMPTY_TRUST_ROOT, toAttestorTrust } from '../pkg/trust/index.js';
import { desiredWebhookConfiguration } from './webhook-configuration.js';

/** A trust root holding one Rekor key, so that the seed policy's legacy key (which requires the log) compiles. */
const trustRoot = toAttestorTrust(EMPTY_TRUST_ROOT, {
  rekorKeys: [generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey],
});

const KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8nXRh950IZbRj8Ra/N9sbqOPZrfM
5/KAQN0/KjHcorm/J5yctVd7iEcnessRQjU917hmKO6JWVGHpDguIyakZA==
-----END PUBLIC KEY-----`;

function compiled(name: string, spec: Record<string, unknown>): CompiledPolicy {
  const result = compile(
    {
      kind: 'ClusterPolicy',
      metadata: { name },
      spec: {
        validationFailureAction: 'Enforce',
        rules: [{ name: 'r', match: { resources: { kinds: ['Pod'] } }, verifyImages: [{ image: '*', key: KEY }] }],
        ...spec,
      },
    },
    { trustRoot },
  );
  if (!result.ok) throw new Error('test policy does not compile');
  return result.value;
}

const endpoint = { $case: 'url', url: 'https://127.0.0.1:9443', caBundle: 'PEM' } as const;

describe('desiredWebhookConfiguration', () => {
  describe('with no policies', () => {
    it('ignores failures and uses the default timeout', () => {
      const config = desiredWebhookConfiguration({ endpoint, policies: [], excludedNamespaces: ['kube-system'] });
      expect(config.webhooks![0]).toMatchObject({
        failurePolicy: 'Ignore',
        timeoutSeconds: 10,
        clientConfig: { url: 'https://127.0.0.1:9443/mutate', caBundle: Buffer.from('PEM').toString('base64') },
        sideEffects: 'None',
        admissionReviewVersions: ['v1'],
      });
    });
  });

  describe('with policies', () => {
    it('fails closed if any policy says Fail and waits as long as the slowest asks', () => {
      const config = desiredWebhookConfiguration({
        endpoint,
        policies: [
          compiled('a', { failurePolicy: 'Ignore', webhookTimeoutSeconds: 5 }),
          compiled('b', { webhookTimeoutSeconds: 25 }),
        ],
        excludedNamespaces: ['kube-system'],
      });
      expect(config.webhooks![0]).toMatchObject({ failurePolicy: 'Fail', timeoutSeconds: 25 });
    });
  });

  describe('in the cluster', () => {
    it('points at the Service and keeps excluded namespaces out', () => {
      const config = desiredWebhookConfiguration({
        endpoint: {
          $case: 'service',
          namespace: 'imprimatur-system',
          name: 'imprimatur-webhook-service',
          port: 443,
          caBundle: 'PEM',
        },
        policies: [],
        excludedNamespaces: ['kube-system', 'imprimatur-system'],
      });
      expect(config.webhooks![0]!.clientConfig.service).toEqual({
        namespace: 'imprimatur-system',
        name: 'imprimatur-webhook-service',
        port: 443,
        path: '/mutate',
      });
      expect(config.webhooks![0]!.namespaceSelector!.matchExpressions![0]!.values).toEqual([
        'kube-system',
        'imprimatur-system',
      ]);
    });
  });
});
