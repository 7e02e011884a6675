import { generateKeyPairSync } from 'node:crypto';
import { compile as compilePolicy } from '../pkg/policy/index.js';
import { EMPTY_TRUST_ROOT, toAttestorTrust } from '../pkg/trust/index.js';
import { desiredStatus, isStatusCurrent, type PolicyObject } from './desired-status.js';

/** A trust root holding one Rekor key, so that the seed policy's legacy key (which requires the log) compiles. */
const trustRoot = toAttestorTrust(EMPTY_TRUST_ROOT, {
  rekorKeys: [generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey],
});
const compile = (p: unknown) => compilePolicy(p, { trustRoot });

const KEY = `-----BEGIN PUBLIC KEY-----
MFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAE8nXRh950IZbRj8Ra/N9sbqOPZrfM
5/KAQN0/KjHcorm/J5yctVd7iEcnessRQjU917hmKO6JWVGHpDguIyakZA==
-----END PUBLIC KEY-----`;

function policy(key: string, status?: PolicyObject['status']) {
  return {
    apiVersion: 'kyverno.io/v1',
    kind: 'ClusterPolicy',
    metadata: { name: 'p', generation: 4 },
    spec: {
      validationFailureAction: 'Enforce',
      rules: [{ name: 'r', match: { resources: { kinds: ['Pod'] } }, verifyImages: [{ image: '*', key }] }],
    },
    ...(status ? { status } : {}),
  };
}

const T1 = new Date('2026-01-01T00:00:00.123Z');
const T2 = new Date('2026-01-02T00:00:00Z');

describe('desiredStatus', () => {
  describe('when the policy compiles', () => {
    it('is Ready=True, Succeeded, for the current generation', () => {
      const p = policy(KEY);
      const status = desiredStatus(p, compile(p), T1);
      expect(status.conditions).toEqual([
        {
          type: 'Ready',
          status: 'True',
          reason: 'Succeeded',
          message: 'Ready',
          observedGeneration: 4,
          lastTransitionTime: '2026-01-01T00:00:00Z',
        },
      ]);
      expect(status.rulecount).toEqual({ validate: 0, mutate: 0, generate: 0, verifyimages: 1 });
      expect(status.autogen.rules.map((r) => (r as { name: string }).name)).toEqual(['autogen-r', 'autogen-cronjob-r']);
    });
  });

  describe('when the policy carries rules this operator does not run', () => {
    it('is Ready=True and says which rules are not enforced', () => {
      const p = policy(KEY);
      p.spec.rules.push({ name: 'v', match: { resources: { kinds: ['Pod'] } }, validate: { message: 'x' } } as never);
      const status = desiredStatus(p, compile(p), T1);
      expect(status.conditions[0]).toMatchObject({
        status: 'True',
        reason: 'Succeeded',
        message: expect.stringContaining('these are not (Imprimatur runs verifyImages only): validate rule "v"'),
      });
    });
  });

  describe('when the policy does not compile', () => {
    it('is Ready=False with the reason and the field of the first error', () => {
      const p = policy('garbage');
      const status = desiredStatus(p, compile(p), T1);
      expect(status.conditions[0]).toMatchObject({ status: 'False', reason: 'InvalidKey' });
      expect(status.conditions[0]!.message).toMatch(/^spec\.rules\[0\]\.verifyImages\[0\]\.key: invalid public key/);
      expect(status.rulecount.verifyimages).toBe(1);
    });
  });

  describe('when the status does not change', () => {
    it('keeps the old transition time, and the object counts as current', () => {
      const first = desiredStatus(policy(KEY), compile(policy(KEY)), T1);
      const p = policy(KEY, first);
      const second = desiredStatus(p, compile(p), T2);
      expect(second.conditions[0]!.lastTransitionTime).toBe('2026-01-01T00:00:00Z');
      expect(isStatusCurrent(p, second)).toBe(true);
    });
  });

  describe('when the status flips', () => {
    it('moves the transition time and the object is no longer current', () => {
      const first = desiredStatus(policy(KEY), compile(policy(KEY)), T1);
      const p = policy('garbage', first);
      const second = desiredStatus(p, compile(p), T2);
      expect(second.conditions[0]!.lastTransitionTime).toBe('2026-01-02T00:00:00Z');
      expect(isStatusCurrent(p, second)).toBe(false);
    });
  });
});
