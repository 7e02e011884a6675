// A key attestor against one signed artifact: did this key make the signature, and does it count for the image?
// The key is tried first, with every hash cosign has signed with (signature-schemes.ts); a signature the key did
// not make is unrelated, not a failure, since images carry signatures by many signers. Then the claims, then the
// transparency log when the attestor requires it.
import type { KeyAttestor } from '../policy/index.js';
import { checkClaims, type ClaimRequirement } from './check-claims.js';
import { failure } from './failure.js';
import { verifyRekorBundle } from './rekor-bundle.js';
import { failed, matched, UNRELATED, type SignatureCheck } from './signature-check.js';
import { verifyRawSignature } from './signature-schemes.js';
import type { SignedArtifact } from './signed-artifact.js';
import { verifyBundleMaterial } from './sigstore-verify.js';

export function checkWithKey(attestor: KeyAttestor, artifact: SignedArtifact, want: ClaimRequirement): SignatureCheck {
  if (artifact.signature.length === 0) return UNRELATED;
  // A bundle made with a certificate was not made with a bare key, whatever key the certificate holds.
  if (artifact.sigstore && artifact.sigstore.entity.key.$case !== 'public-key') return UNRELATED;
  const scheme = verifyRawSignature(attestor.key, artifact.message, artifact.signature);
  if (!scheme) return UNRELATED;
  const claims = checkClaims(artifact, want);
  if (claims) return failed(claims);
  const base = { format: artifact.format, signature: artifact.digest, source: artifact.source };
  if (artifact.sigstore) {
    const material = verifyBundleMaterial(artifact, attestor.trust, attestor.key);
    if (!material.ok) return failed(material.error);
    const { loggedAt } = material.value;
    return matched({ ...base, scheme, ...(loggedAt ? { loggedAt: loggedAt.toISOString() } : {}) });
  }
  if (!attestor.trust.requireTlog) return matched({ ...base, scheme });
  const signed = {
    payload: artifact.message,
    signature: artifact.signature,
    signer: { key: attestor.key },
    ...(artifact.envelope ? { envelope: artifact.envelope } : {}),
  };
  const logged = verifyRekorBundle(artifact.rekor, signed, attestor.trust.authorities.tlogs);
  if (!logged.ok) return failed(failure('InvalidSignature', `${artifact.source}: transparency log: ${logged.error}`));
  return matched({ ...base, scheme, loggedAt: logged.value.integratedTime.toISOString() });
}
