// Bundles are checked by @sigstore/verify against trust material built offline (the attestor's keys, certificate
// authorities, logs and timestamp authorities). What it does not do is done by the callers: which key signed a
// DSSE envelope (cosign >= 2.6 hashes with the key's own algorithm, which sigstore-js does not try), the statement's
// claims, the certificate's extended key usage and identity. This module decides what is asked of sigstore-js:
//   - the transparency log is required unless the attestor ignores it; ignored entries are set aside, as cosign
//     --insecure-ignore-tlog does;
//   - RFC 3161 timestamps are kept whenever a timestamp authority is trusted, so a keyless bundle signed with a TSA
//     verifies even with the log ignored;
//   - a certificate needs a proven signing time; a bundle that proves none fails with that said, not with
//     sigstore-js's count of timestamps.
import type { KeyObject } from 'node:crypto';
import { Verifier, type SignedEntity, type TrustMaterial } from '@sigstore/verify';
import type { AttestorTrust } from '../policy/index.js';
import { err, ok, type Result } from '../result/index.js';
import { failure, type VerifyFailure } from './failure.js';
import type { SignedArtifact } from './signed-artifact.js';
import { toSigstoreFailure } from './sigstore-errors.js';

export interface SigstoreCheck {
  /** When the transparency log recorded the signature, if it was required and did. */
  readonly loggedAt?: Date;
}

/**
 * Checks a bundle's transparency-log entries, timestamps and, for a certificate, its chain and SCTs. With `key`, the
 * signature was already checked by the caller (with the hash cosign used), and the key is the one trusted.
 */
export function verifyBundleMaterial(
  artifact: SignedArtifact,
  trust: AttestorTrust,
  key?: KeyObject,
): Result<SigstoreCheck, VerifyFailure> {
  const sigstore = artifact.sigstore;
  if (!sigstore) return err(failure('InvalidSignature', `${artifact.source}: not a Sigstore bundle`));
  const { entity } = sigstore;
  const keepTsa = trust.authorities.timestampAuthorities.length > 0;
  const timestamps = entity.timestamps.filter((t) => (t.$case === 'transparency-log' ? trust.requireTlog : keepTsa));
  const checked: SignedEntity = {
    key: entity.key,
    tlogEntries: trust.requireTlog ? entity.tlogEntries : [],
    timestamps,
    signature: key ? alreadyVerified(entity.signature, key) : entity.signature,
  };
  const certificate = entity.key.$case === 'certificate';
  if (certificate && !timestamps.some((t) => t.$case === 'timestamp-authority' || t.tlogEntry.inclusionPromise)) {
    // A certificate is valid for minutes; without a proven signing time there is no time to check it at.
    return err(
      failure(
        'InvalidSignature',
        `${artifact.source}: the certificate cannot be checked: the bundle proves no signing time (no ` +
          'transparency-log entry with an inclusion promise, and no RFC 3161 timestamp from a trusted authority)',
      ),
    );
  }
  const material: TrustMaterial = {
    ...trust.authorities,
    publicKey: () => {
      if (!key) throw new Error('a certificate bundle names no key');
      return { publicKey: key, validFor: () => true };
    },
  };
  try {
    new Verifier(material, {
      tlogThreshold: trust.requireTlog ? 1 : 0,
      ctlogThreshold: certificate && trust.requireSct ? 1 : 0,
      timestampThreshold: certificate ? 1 : 0,
    }).verify(checked);
  } catch (e) {
    return err(toSigstoreFailure(e, artifact.source));
  }
  // Only a signed entry timestamp (the inclusion promise, checked above) covers integratedTime; an inclusion proof
  // does not, so an entry with a proof alone proves no time, whatever it says.
  const logged = trust.requireTlog
    ? checked.tlogEntries.find((t) => t.inclusionPromise && t.integratedTime !== '0')
    : undefined;
  return ok(logged ? { loggedAt: new Date(Number(logged.integratedTime) * 1000) } : {});
}

/**
 * The entity's signature content, with the signature check answered by the caller's own, already made: only for
 * `key`, the key the caller verified it with.
 */
function alreadyVerified(content: SignedEntity['signature'], key: KeyObject): SignedEntity['signature'] {
  return {
    signature: content.signature,
    compareSignature: (s) => content.compareSignature(s),
    compareDigest: (d) => content.compareDigest(d),
    compareSignedDigest: (d) => content.compareSignedDigest(d),
    verifySignature: (k) => k === key,
  };
}
