import { ValidationError } from '@sigstore/bundle';
import { PolicyError, VerificationError } from '@sigstore/verify';
import { describeSigstoreError, toSigstoreFailure } from './sigstore-errors.js';

const SOURCE = 'referrer sha256:test';

describe('toSigstoreFailure', () => {
  describe.each([
    ['TLOG_ERROR', 'transparency log'],
    ['TLOG_INCLUSION_PROOF_ERROR', 'transparency log inclusion proof'],
    ['TLOG_INCLUSION_PROMISE_ERROR', 'transparency log entry timestamp'],
    ['TLOG_MISSING_INCLUSION_ERROR', 'transparency log'],
    ['TLOG_BODY_ERROR', 'transparency log entry'],
    ['CERTIFICATE_ERROR', 'certificate'],
    ['PUBLIC_KEY_ERROR', 'key'],
    ['SIGNATURE_ERROR', 'signature'],
    ['TIMESTAMP_ERROR', 'timestamp'],
    ['NOT_IMPLEMENTED_ERROR', 'unsupported'],
  ] as const)('when @sigstore/verify throws a VerificationError with code %s', (code, topic) => {
    it(`fails with InvalidSignature, the detail naming the artifact, then "${topic}"`, () => {
      const e = new VerificationError({ code, message: 'what sigstore-js says' });
      expect(toSigstoreFailure(e, SOURCE)).toEqual({
        reason: 'InvalidSignature',
        detail: `${SOURCE}: ${topic}: what sigstore-js says`,
      });
    });
  });

  describe('when the VerificationError has a cause', () => {
    it('adds the cause, where sigstore-js puts what went wrong', () => {
      const e = new VerificationError({
        code: 'CERTIFICATE_ERROR',
        message: 'failed to verify certificate chain',
        cause: new Error('certificate is not valid or expired at the specified date'),
      });
      expect(describeSigstoreError(e)).toBe(
        'certificate: failed to verify certificate chain: certificate is not valid or expired at the specified date',
      );
    });
  });

  describe('when a PolicyError is thrown', () => {
    it('says it is about the identity', () => {
      const e = new PolicyError({ code: 'UNTRUSTED_SIGNER_ERROR', message: 'certificate identity error' });
      expect(describeSigstoreError(e)).toBe('identity: certificate identity error');
    });
  });

  describe('when @sigstore/bundle throws a ValidationError', () => {
    it('says the bundle is not valid and names the malformed fields', () => {
      const e = new ValidationError('invalid bundle', ['mediaType', 'content.dsseEnvelope.signatures']);
      expect(toSigstoreFailure(e, SOURCE)).toEqual({
        reason: 'InvalidSignature',
        detail: `${SOURCE}: not a valid Sigstore bundle: invalid bundle (mediaType, content.dsseEnvelope.signatures)`,
      });
    });

    it('names at most five fields', () => {
      const e = new ValidationError('invalid bundle', ['a', 'b', 'c', 'd', 'e', 'f', 'g']);
      expect(describeSigstoreError(e)).toBe('not a valid Sigstore bundle: invalid bundle (a, b, c, d, e)');
    });
  });

  describe('when anything else is thrown', () => {
    it.each([
      ['a plain Error', new Error('Unexpected end of JSON input'), 'malformed: Unexpected end of JSON input'],
      [
        'a TypeError',
        new TypeError("Cannot read properties of null (reading 'x')"),
        "malformed: Cannot read properties of null (reading 'x')",
      ],
      ['a string', 'SIGNATURE_ERROR', 'malformed'],
      ['null', null, 'malformed'],
      ['undefined', undefined, 'malformed'],
      ['an object that looks like a VerificationError', { code: 'SIGNATURE_ERROR', message: 'x' }, 'malformed'],
    ])('calls %s malformed', (_, thrown, detail) => {
      expect(toSigstoreFailure(thrown, SOURCE)).toEqual({ reason: 'InvalidSignature', detail: `${SOURCE}: ${detail}` });
    });

    it('goes by type, never by message: an Error that reads like a VerificationError is still malformed', () => {
      expect(describeSigstoreError(new Error('SIGNATURE_ERROR: signature verification failed'))).toBe(
        'malformed: SIGNATURE_ERROR: signature verification failed',
      );
    });
  });

  describe('when the message carries text from a bundle', () => {
    it('strips control characters and cuts it short', () => {
      const e = new VerificationError({
        code: 'TLOG_BODY_ERROR',
        message: `kind/version mismatch - received: evil\n\u001b[31mforged line\u202e${'x'.repeat(1000)}`,
      });
      const detail = describeSigstoreError(e);
      // eslint-disable-next-line no-control-regex
      expect(detail).not.toMatch(/[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/);
      expect(detail.length).toBeLessThan(400);
      expect(detail).toMatch(/^transparency log entry: kind\/version mismatch - received: evil\W*\[31mforged line/);
    });
  });
});
