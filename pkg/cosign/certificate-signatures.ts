// Legacy signatures made with a certificate (keyless Fulcio certificates, or `cosign sign --certificate`): the .sig
// layer carries the leaf in its dev.sigstore.cosign/certificate annotation (SIGNATURE_SPEC.md). The signature is checked
// with the certificate's key, the Rekor entry proves when it was made, and @sigstore/verify checks the certificate at
// that time: its chain to the attestor's certificate authorities and its SCTs. It does so on the same legacy
// material rewritten as a v0.1 bundle (message signature, certificate, and the Rekor entry with its SET as inclusion
// promise), so the certificate checks are sigstore-js's for both formats.
import { createHash, createPublicKey } from 'node:crypto';
import { bundleFromJSON } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { Verifier, toSignedEntity, type TrustMaterial } from '@sigstore/verify';
import type { VerifyReason } from '../conditions/index.js';
import type { CompiledAttestor } from '../policy/index.js';
import type { LegacySignature } from './discover.js';
import { isForCodeSigning, NOT_FOR_CODE_SIGNING } from './code-signing.js';
import { checkIdentity, describeIdentity } from './identity.js';
import { verifyRekorBundle, type RekorBundle } from './rekor-bundle.js';
import { verifyRawSignature, type SignatureScheme } from './signature-schemes.js';
import { hasAnnotations, parseSimpleSigningPayload } from './simple-signing.js';
import { toSigstoreMessage } from './sigstore-errors.js';

export type CertificateAttestor = Extract<CompiledAttestor, { $case: 'certificate' | 'keyless' }>;

export interface CertificateMatch {
  readonly scheme?: SignatureScheme;
  readonly identity: { readonly subject: string; readonly issuer: string };
  readonly loggedAt?: string;
}

export type CertificateCheck<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: VerifyReason; readonly detail: string };

/** Checks one legacy signature layer against a keyless or certificate attestor. */
export function checkCertificateSignature(
  sig: LegacySignature,
  attestor: CertificateAttestor,
  digest: string,
): CertificateCheck<CertificateMatch> {
  const fail = (reason: VerifyReason, detail: string) => ({
    ok: false as const,
    reason,
    detail: `${sig.source}: ${detail}`,
  });
  if (sig.certificate === undefined) return fail('InvalidSignature', 'no certificate found on signature');
  let leaf: X509Certificate;
  try {
    leaf = X509Certificate.parse(sig.certificate);
  } catch (e) {
    return fail('InvalidSignature', `the certificate annotation does not parse: ${toSigstoreMessage(e)}`);
  }
  const scheme = verifyRawSignature(
    createPublicKey({ key: leaf.publicKey, format: 'der', type: 'spki' }),
    sig.payload,
    sig.signature,
  );
  if (!scheme) return fail('InvalidSignature', 'the signature does not verify with the key of its certificate');
  const claims = parseSimpleSigningPayload(sig.payload);
  if (!claims.ok) return fail('InvalidSignature', claims.error);
  if (claims.value.manifestDigest !== digest) {
    return fail('DigestMismatch', `the signature is for ${claims.value.manifestDigest}, not ${digest}`);
  }
  if (!hasAnnotations(claims.value.optional, attestor.annotations)) {
    return fail('AnnotationMismatch', 'missing or incorrect annotation');
  }
  // A certificate is valid for minutes; the transparency log proves the signature was made within them. The
  // policy compiler refuses certificate attestors that ignore the log without another source of time.
  if (!attestor.trust.requireTlog) {
    return fail(
      'InvalidSignature',
      'the certificate cannot be checked: the signature proves no signing time without its transparency-log entry',
    );
  }
  const signed = { payload: sig.payload, signature: sig.signature, signer: { certificate: leaf.root.toDER() } };
  const logged = verifyRekorBundle(sig.bundle, signed, attestor.trust.authorities.tlogs);
  if (!logged.ok) return fail('InvalidSignature', `transparency log: ${logged.error}`);
  const checked = checkCertificate(sig, leaf, logged.value.bundle, attestor);
  if (!checked.ok) return fail('InvalidSignature', checked.detail);
  if (!isForCodeSigning(leaf)) return fail('InvalidSignature', NOT_FOR_CODE_SIGNING);
  const identity = checkAttestorIdentity(attestor, leaf);
  if (!identity.ok) return fail('IdentityMismatch', identity.detail);
  return {
    ok: true,
    value: { scheme, identity: identity.value, loggedAt: logged.value.integratedTime.toISOString() },
  };
}

/** The certificate's chain and SCTs, at the time the Rekor entry proves, by @sigstore/verify. */
function checkCertificate(
  sig: LegacySignature,
  leaf: X509Certificate,
  rekor: RekorBundle,
  attestor: CertificateAttestor,
): { ok: true } | { ok: false; detail: string } {
  const { set, payload } = rekor;
  try {
    const body = JSON.parse(Buffer.from(payload.body, 'base64').toString('utf8')) as {
      kind: string;
      apiVersion: string;
    };
    const bundle = bundleFromJSON({
      mediaType: 'application/vnd.dev.sigstore.bundle+json;version=0.1',
      verificationMaterial: {
        x509CertificateChain: { certificates: [{ rawBytes: leaf.root.toDER().toString('base64') }] },
        tlogEntries: [
          {
            logIndex: String(payload.logIndex),
            logId: { keyId: Buffer.from(payload.logID, 'hex').toString('base64') },
            kindVersion: { kind: body.kind, version: body.apiVersion },
            integratedTime: String(payload.integratedTime),
            inclusionPromise: { signedEntryTimestamp: set.toString('base64') },
            canonicalizedBody: payload.body,
          },
        ],
        timestampVerificationData: { rfc3161Timestamps: [] },
      },
      messageSignature: {
        messageDigest: { algorithm: 'SHA2_256', digest: createHash('sha256').update(sig.payload).digest('base64') },
        signature: Buffer.from(sig.signature).toString('base64'),
      },
    });
    const material: TrustMaterial = {
      ...attestor.trust.authorities,
      publicKey: () => {
        throw new Error('a certificate signature names no key');
      },
    };
    const options = { tlogThreshold: 1, ctlogThreshold: attestor.trust.requireSct ? 1 : 0, timestampThreshold: 1 };
    new Verifier(material, options).verify(toSignedEntity(bundle, Buffer.from(sig.payload)));
    return { ok: true };
  } catch (e) {
    return { ok: false, detail: `certificate: ${toSigstoreMessage(e)}` };
  }
}

/**
 * The signer's identity against the attestor: a keyless attestor's subject, issuer and extensions; a certificate
 * attestor's own certificate, when it names one.
 */
export function checkAttestorIdentity(
  attestor: CertificateAttestor,
  leaf: X509Certificate,
): CertificateCheck<CertificateMatch['identity']> {
  if (attestor.$case === 'certificate') {
    if (attestor.cert && !Buffer.from(attestor.cert.raw).equals(leaf.root.toDER())) {
      return { ok: false, reason: 'IdentityMismatch', detail: `the signing certificate is not ${attestor.field}.cert` };
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
    : { ok: false, reason: 'IdentityMismatch', detail: checked.detail };
}
