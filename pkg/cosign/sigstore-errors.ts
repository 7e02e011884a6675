// sigstore-js reports what did not verify by throwing: @sigstore/verify's VerificationError and PolicyError carry a
// closed `code`, @sigstore/bundle's ValidationError names the bundle field that is malformed, and its parsers
// (protobuf-specs, @sigstore/core's ASN.1 and X.509) throw plain errors on bytes they cannot read. This is the one
// place those exceptions become our failures: by type and code, never by matching message text. Every call into
// sigstore-js goes through toSigstoreFailure in its catch.
import { ValidationError } from '@sigstore/bundle';
import { PolicyError, VerificationError } from '@sigstore/verify';
import { sanitizeText } from '../text/index.js';
import { failure, type VerifyFailure } from './failure.js';

type VerificationCode = VerificationError['code'];

/** What each of @sigstore/verify's codes is about, leading the detail. */
const TOPICS: ReadonlyMap<VerificationCode, string> = new Map<VerificationCode, string>([
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
]);

/** An exception from sigstore-js, about the artifact found at `source`, as a failure of that artifact. */
export function toSigstoreFailure(e: unknown, source: string): VerifyFailure {
  return failure('InvalidSignature', `${source}: ${describeSigstoreError(e)}`);
}

/** The text of an exception from sigstore-js, its topic first and its cause after it. */
export function describeSigstoreError(e: unknown): string {
  if (e instanceof VerificationError) {
    return `${TOPICS.get(e.code) ?? 'verification'}: ${withCause(e)}`;
  }
  if (e instanceof PolicyError) return `identity: ${withCause(e)}`;
  if (e instanceof ValidationError) {
    const fields = Array.isArray(e.fields) ? ` (${e.fields.slice(0, 5).join(', ')})` : '';
    return `not a valid Sigstore bundle: ${sanitizeText(e.message, 200)}${sanitizeText(fields, 200)}`;
  }
  if (e instanceof Error) return `malformed: ${sanitizeText(e.message, 200)}`;
  return 'malformed';
}

// VerificationError puts the telling part in `cause` ("failed to verify certificate chain" caused by "certificate is
// not valid or expired at the specified date").
function withCause(e: Error): string {
  const cause = e.cause instanceof Error && e.cause.message !== e.message ? `: ${e.cause.message}` : '';
  return sanitizeText(`${e.message}${cause}`, 300);
}
