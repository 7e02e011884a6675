// What a verified signature must say for it to count for this image: the right digest (a signature copied from
// another image verifies, and says so), the right predicate type for a bundle (an attestation is not a signature),
// and the annotations the attestor requires. Checked after the signature, since unsigned claims mean nothing.
import { quoteText } from '../text/index.js';
import { findAnnotationMismatch } from './annotations.js';
import { failure, type VerifyFailure } from './failure.js';
import type { SignedArtifact } from './signed-artifact.js';
import { COSIGN_SIGN_PREDICATE_TYPE, describeSubjects, findSubject } from './statement.js';

export interface ClaimRequirement {
  /** The image digest the signature must be for. */
  readonly digest: string;
  /** The in-toto predicate type a bundle's statement must have: cosign sign's, for signatures. */
  readonly predicateType: string;
  /** Annotations the signer must have given, from the attestor. */
  readonly annotations: Readonly<Record<string, string>>;
}

/** Why the artifact's claims do not satisfy `want`, or undefined when they do. */
export function checkClaims(artifact: SignedArtifact, want: ClaimRequirement): VerifyFailure | undefined {
  const { source, claims } = artifact;
  if (!claims.ok) return failure('InvalidSignature', `${source}: ${claims.error}`);
  const c = claims.value;
  let found: ReadonlyMap<string, unknown>;
  if (c.$case === 'simple-signing') {
    if (c.manifestDigest !== want.digest) {
      return failure(
        'DigestMismatch',
        `${source}: the signature is for ${quoteText(c.manifestDigest, 140).slice(1, -1)}, not ${want.digest}`,
      );
    }
    found = c.annotations;
  } else {
    if (c.predicateType !== want.predicateType) {
      const expected = want.predicateType === COSIGN_SIGN_PREDICATE_TYPE ? 'a cosign signature' : want.predicateType;
      return failure('InvalidSignature', `${source}: predicate type ${quoteText(c.predicateType)} is not ${expected}`);
    }
    const subject = findSubject(c, want.digest);
    if (!subject) {
      const algorithm = want.digest.slice(0, want.digest.indexOf(':'));
      return failure(
        'DigestMismatch',
        `${source}: the signature is for ${describeSubjects(c, algorithm)}, not ${want.digest}`,
      );
    }
    found = subject.annotations;
  }
  const mismatch = findAnnotationMismatch(found, want.annotations);
  return mismatch
    ? failure('AnnotationMismatch', `${source}: missing or incorrect annotation: ${mismatch}`)
    : undefined;
}
