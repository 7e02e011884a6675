// Keyless and certificate attestors against one signed artifact. The signature must verify with the key of the
// certificate it carries; the claims must be for this image; the certificate must lead to the attestor's
// certificate authorities at a time the transparency log (or a trusted timestamp authority) proves, with the SCTs
// the attestor requires, be meant for code signing, and name the identity the attestor asks for.
//
// Bundles are checked by @sigstore/verify (sigstore-verify.ts). A legacy .sig layer carries the leaf in its
// dev.sigstore.cosign/certificate annotation (SIGNATURE_SPEC.md): its Rekor entry is checked here (rekor-bundle.ts),
// then the same material, rewritten as the equivalent v0.1 bundle (message signature, certificate, and the Rekor
// entry with its SET as inclusion promise), goes to @sigstore/verify, so certificate checks are sigstore-js's for
// both layouts.
import { createHash } from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import type { X509Certificate } from '@sigstore/core';
import { Verifier, toSignedEntity, type TrustMaterial } from '@sigstore/verify';
import type { CompiledAttestor } from '../policy/index.js';
import { checkClaims, type ClaimRequirement } from './check-claims.js';
import { isForCodeSigning, NOT_FOR_CODE_SIGNING } from './code-signing.js';
import { failure, type VerifyFailure } from './failure.js';
import { checkIdentity, describeIdentity, type CertificateIdentity } from './identity.js';
import { verifyRekorBundle, type RekorBundle } from './rekor-bundle.js';
import { failed, matched, type SignatureCheck } from './signature-check.js';
import { verifyRawSignature } from './signature-schemes.js';
import type { SignedArtifact } from './signed-artifact.js';
import { describeSigstoreError } from './sigstore-errors.js';
import { verifyBundleMaterial } from './sigstore-verify.js';

export type CertificateAttestor = Extract<CompiledAttestor, { $case: 'certificate' | 'keyless' }>;

export function checkWithCertificate(
  attestor: CertificateAttestor,
  artifact: SignedArtifact,
  want: ClaimRequirement,
): SignatureCheck {
  const fail = (reason: VerifyFailure['reason'], detail: string) =>
    failed(failure(reason, `${artifact.source}: ${detail}`));
  if (!artifact.certificate) {
    return fail(
      'InvalidSignature',
      artifact.sigstore ? 'signed with a key, not a certificate' : 'no certificate found on signature',
    );
  }
  if (!artifact.certificate.ok) return fail('InvalidSignature', artifact.certificate.error);
  const { certificate, key } = artifact.certificate.value;
  const scheme = verifyRawSignature(key, artifact.message, artifact.signature);
  if (!scheme) return fail('InvalidSignature', 'the signature does not verify with the key of its certificate');
  const claims = checkClaims(artifact, want);
  if (claims) return failed(claims);
  let loggedAt: Date | undefined;
  if (artifact.sigstore) {
    const material = verifyBundleMaterial(artifact, attestor.trust);
    if (!material.ok) return failed(material.error);
    loggedAt = material.value.loggedAt;
  } else {
    // The legacy RFC 3161 annotation is not read, so the log is the only proof of when the signature was made.
    if (!attestor.trust.requireTlog) {
      return fail(
        'InvalidSignature',
        'the certificate cannot be checked: the signature proves no signing time without its transparency-log entry',
      );
    }
    const signed = {
      payload: artifact.message,
      signature: artifact.signature,
      signer: { certificate: certificate.root.toDER() },
      ...(artifact.envelope ? { envelope: artifact.envelope } : {}),
    };
    const logged = verifyRekorBundle(artifact.rekor, signed, attestor.trust.authorities.tlogs);
    if (!logged.ok) return fail('InvalidSignature', `transparency log: ${logged.error}`);
    const chain = checkLegacyCertificate(artifact, certificate, logged.value.bundle, attestor);
    if (chain) return fail('InvalidSignature', chain);
    loggedAt = logged.value.integratedTime;
  }
  if (!isForCodeSigning(certificate)) return fail('InvalidSignature', NOT_FOR_CODE_SIGNING);
  const identity = checkAttestorIdentity(attestor, certificate);
  if (!identity.ok) return fail('IdentityMismatch', identity.detail);
  return matched({
    format: artifact.format,
    ...(artifact.sigstore ? {} : { scheme }),
    identity: identity.value,
    ...(loggedAt ? { loggedAt: loggedAt.toISOString() } : {}),
    signature: artifact.digest,
    source: artifact.source,
  });
}

/** The legacy certificate's chain and SCTs at the time the Rekor entry proves, by @sigstore/verify; why not, or undefined. */
function checkLegacyCertificate(
  artifact: SignedArtifact,
  leaf: X509Certificate,
  rekor: RekorBundle,
  attestor: CertificateAttestor,
): string | undefined {
  const { set, payload } = rekor;
  try {
    const body = JSON.parse(Buffer.from(payload.body, 'base64').toString('utf8')) as unknown;
    const kind = typeof body === 'object' && body !== null ? (body as Record<string, unknown>) : {};
    const bundle = bundleFromJSON({
      mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
      verificationMaterial: {
        x509CertificateChain: { certificates: [{ rawBytes: leaf.root.toDER().toString('base64') }] },
        tlogEntries: [
          {
            logIndex: String(payload.logIndex),
            logId: { keyId: Buffer.from(payload.logID, 'hex').toString('base64') },
            kindVersion: { kind: String(kind['kind']), version: String(kind['apiVersion']) },
            integratedTime: String(payload.integratedTime),
            inclusionPromise: { signedEntryTimestamp: set.toString('base64') },
            canonicalizedBody: payload.body,
          },
        ],
        timestampVerificationData: { rfc3161Timestamps: [] },
      },
      // A legacy attestation is a DSSE envelope, logged as one (a dsse entry); a signature, a message signature.
      ...(artifact.envelope
        ? {
            dsseEnvelope: {
              payload: Buffer.from(artifact.envelope.payload).toString('base64'),
              payloadType: artifact.envelope.payloadType,
              signatures: [{ sig: Buffer.from(artifact.signature).toString('base64'), keyid: '' }],
            },
          }
        : {
            messageSignature: {
              messageDigest: {
                algorithm: 'SHA2_256',
                digest: createHash('sha256').update(artifact.message).digest('base64'),
              },
              signature: Buffer.from(artifact.signature).toString('base64'),
            },
          }),
    });
    const material: TrustMaterial = {
      ...attestor.trust.authorities,
      publicKey: () => {
        throw new Error('a certificate signature names no key');
      },
    };
    const options = { tlogThreshold: 1, ctlogThreshold: attestor.trust.requireSct ? 1 : 0, timestampThreshold: 1 };
    const entity = artifact.envelope ? toSignedEntity(bundle) : toSignedEntity(bundle, Buffer.from(artifact.message));
    new Verifier(material, options).verify(entity);
    return undefined;
  } catch (e) {
    return describeSigstoreError(e);
  }
}

export type IdentityOutcome =
  { readonly ok: true; readonly value: CertificateIdentity } | { readonly ok: false; readonly detail: string };

/**
 * The signer's identity against the attestor: a keyless attestor's subject, issuer and extensions; a certificate
 * attestor's own certificate, when it names one.
 */
export function checkAttestorIdentity(attestor: CertificateAttestor, leaf: X509Certificate): IdentityOutcome {
  if (attestor.$case === 'certificate') {
    if (attestor.cert && !Buffer.from(attestor.cert.raw).equals(leaf.root.toDER())) {
      return { ok: false, detail: `the signing certificate is not ${attestor.field}.cert` };
    }
    return { ok: true, value: describeIdentity(leaf) };
  }
  const checked = checkIdentity(leaf, {
    ...(attestor.subject ? { subject: attestor.subject } : {}),
    ...(attestor.subjectRegExp ? { subjectRegExp: attestor.subjectRegExp } : {}),
    ...(attestor.issuer ? { issuer: attestor.issuer } : {}),
    ...(attestor.issuerRegExp ? { issuerRegExp: attestor.issuerRegExp } : {}),
    extensions: attestor.extensions,
  });
  return checked.ok
    ? { ok: true, value: { subject: checked.subject, issuer: checked.issuer } }
    : { ok: false, detail: checked.detail };
}
