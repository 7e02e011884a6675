// Policies used by the compiler's tests. SEED_KEY is the public key of the seed document's check-image policy.
export const SEED_KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8nXRh950IZbRj8Ra/N9sbqOPZrfM
5/KAQN0/KjHcorm/J5yctVd7iEcnessRQjU917hmKO6JWVGHpDguIyakZA==
-----END PUBLIC KEY-----`;

export const OTHER_KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEHMmDjK65krAyDaGaeyWNzgvIu155
JI50B2vezCw8+3CVeE0lJTL5dbL3OP98Za0oAEBJcOxky8Riy/XcmfKZbw==
-----END PUBLIC KEY-----`;

/** The seed document's check-image ClusterPolicy, as the API server stores it. */
export function checkImagePolicy(overrides: { verifyImages?: unknown[]; spec?: Record<string, unknown> } = {}) {
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'check-image', uid: 'u-1', generation: 3, resourceVersion: '42' },
    spec: {
      validationFailureAction: 'enforce',
      background: false,
      webhookTimeoutSeconds: 30,
      failurePolicy: 'Fail',
      rules: [
        {
          name: 'check-image',
          match: { resources: { kinds: ['Pod'] } },
          verifyImages: overrides.verifyImages ?? [{ image: '*', key: SEED_KEY }],
        },
      ],
      ...overrides.spec,
    },
  };
}
