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

/** A self-signed CA certificate, made with openssl for these tests. */
export const TEST_CA = `-----BEGIN CERTIFICATE-----
MIIBoTCCAUegAwIBAgIUSXAAV9+icwSk9KXrOfK8jJHDKv4wCgYIKoZIzj0EAwIw
HTEbMBkGA1UEAwwSaW1wcmltYXR1ci10ZXN0LWNhMCAXDTI2MTEyNTIyNTkyOFoY
DzIxMjYxMTAxMjI1OTI4WjAdMRswGQYDVQQDDBJpbXByaW1hdHVyLXRlc3QtY2Ew
WTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAATHW1VEymrSVTj3D42WzyQ/RqJgEYS/
s8bPa9jeMLuCnC/m/9jlF6ZOruK+BqXzJz7P8a1s+qdzMb8ZyOoxyfdfo2MwYTAd
BgNVHQ4EFgQUw5fK5eZ6s/EuYI4vPEg/RnfMqiwwHwYDVR0jBBgwFoAUw5fK5eZ6
s/EuYI4vPEg/RnfMqiwwDwYDVR0TAQH/BAUwAwEB/zAOBgNVHQ8BAf8EBAMCAgQw
CgYIKoZIzj0EAwIDSAAwRQIhAOfArkXz5BedTvvG7ue7Keu2X1Hqi0a3xTE9/zoy
94BpAiALAELsNi7HfWfYzQc9w24vrGXN7Vpl5aIdKoiviV8cjA==
-----END CERTIFICATE-----`;
