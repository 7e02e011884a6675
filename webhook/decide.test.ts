import { decideAdmission, type RuleResult } from './decide.js';

const POD = { kind: 'Pod', namespace: 'default', name: 'web' };
const DIGEST = `sha256:${'b'.repeat(64)}`;
const FAILED = `image verification failed for registry.example/app:v1: signature not found: no signatures`;

function rule(overrides: Partial<RuleResult>): RuleResult {
  return {
    policy: 'check-image',
    rule: 'check-image',
    failurePolicy: 'Fail',
    failureAction: 'Enforce',
    images: [],
    ...overrides,
  };
}

describe('decideAdmission', () => {
  describe('when every image verified', () => {
    it('admits, pinning each image the rule pins, once per pointer', () => {
      const pass = {
        status: 'pass' as const,
        image: 'registry.example/app:v1',
        pointer: '/spec/containers/0/image',
        pinned: `registry.example/app:v1@${DIGEST}`,
      };
      const decision = decideAdmission(POD, [rule({ images: [pass] }), rule({ rule: 'other', images: [pass] })]);
      expect(decision).toEqual({
        $case: 'admit',
        patches: [{ op: 'replace', path: '/spec/containers/0/image', value: `registry.example/app:v1@${DIGEST}` }],
        warnings: [],
      });
    });
  });

  describe('when an image failed verification in Enforce', () => {
    it('denies with the blocked message naming the policy and rule', () => {
      const decision = decideAdmission(POD, [
        rule({ images: [{ status: 'fail', image: 'x', reason: 'SignatureNotFound', message: FAILED }] }),
      ]);
      expect(decision.$case).toBe('deny');
      expect(decision.$case === 'deny' && decision.message).toContain(
        `resource Pod/default/web was blocked due to the following policies \n\ncheck-image:\n  check-image: 'image verification failed`,
      );
    });
  });

  describe('when an image failed verification in Audit', () => {
    it('admits with a warning, without a patch', () => {
      const decision = decideAdmission(POD, [
        rule({
          failureAction: 'Audit',
          images: [{ status: 'fail', image: 'x', reason: 'InvalidSignature', message: FAILED }],
        }),
      ]);
      expect(decision).toEqual({
        $case: 'admit',
        patches: [],
        warnings: [`policy check-image.check-image: ${FAILED}`],
      });
    });
  });

  describe('when the registry could not be read', () => {
    const error = { status: 'fail' as const, image: 'x', reason: 'RegistryError' as const, message: 'registry down' };

    it('denies under failurePolicy Fail, even in Audit', () => {
      expect(decideAdmission(POD, [rule({ failureAction: 'Audit', images: [error] })]).$case).toBe('deny');
    });

    it('admits with a warning under failurePolicy Ignore, even in Enforce', () => {
      const decision = decideAdmission(POD, [rule({ failurePolicy: 'Ignore', images: [error] })]);
      expect(decision).toEqual({
        $case: 'admit',
        patches: [],
        warnings: ['policy check-image.check-image: registry down'],
      });
    });
  });

  describe('when a warning would be long', () => {
    it('cuts it under 256 characters', () => {
      const decision = decideAdmission(POD, [
        rule({
          failureAction: 'Audit',
          images: [{ status: 'fail', image: 'x', reason: 'InvalidSignature', message: 'x'.repeat(1000) }],
        }),
      ]);
      expect(decision.warnings[0]!.length).toBeLessThan(256);
    });
  });

  describe('when one rule blocks and another only warns', () => {
    it('denies, and keeps the warning', () => {
      const decision = decideAdmission(POD, [
        rule({ images: [{ status: 'fail', image: 'x', reason: 'InvalidSignature', message: FAILED }] }),
        rule({ rule: 'skips', images: [{ status: 'skip', image: 'y', message: 'skipping image reference y' }] }),
      ]);
      expect(decision).toMatchObject({
        $case: 'deny',
        warnings: ['policy check-image.skips: skipping image reference y'],
      });
    });
  });
});
