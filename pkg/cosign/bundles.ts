// Sigstore bundles that cosign v3 attaches to an image as OCI referrers (its default since v3.0;
// https://github.com/sigstore/cosign/blob/main/specs/BUNDLE_SPEC.md): one manifest per bundle, with exactly one layer
// of media type application/vnd.dev.sigstore.bundle*. `cosign sign` puts a DSSE envelope in it whose in-toto
// statement names the image digest as its subject and https://sigstore.dev/cosign/sign/v1 as its predicate type.
//
// The bundle is checked by @sigstore/verify, with trust material built offline from the policy's key or certificate
// roots and the operator's trusted root.
// What sigstore-js leaves to its caller (shared/reference/cosign-formats.md §5.3, §5.5) is done here: the payload
// type, the subject digest and the predicate type.
import type { KeyObject } from 'node:crypto';
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { X509Certificate } from '@sigstore/core';
import { Verifier, toSignedEntity, type TrustMaterial } from '@sigstore/verify';
import type { ImageRef } from '../imageref/index.js';
import type { Descriptor, OciFailure } from '../oci/index.js';
import type { AttestorTrust } from '../policy/index.js';
import { err, ok, type Result } from '../result/index.js';
import type { SignatureRegistry } from './discover.js';
import { verifyRawSignature } from './signature-schemes.js';
import { isForCodeSigning, NOT_FOR_CODE_SIGNING } from './code-signing.js';
import { toSigstoreMessage } from './sigstore-errors.js';

export const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';
export const IN_TOTO_PAYLOAD_TYPE = 'application/vnd.in-toto+json';
const BUNDLE_MEDIA_TYPE_PREFIX = 'application/vnd.dev.sigstore.bundle';

export interface AttachedBundle {
  /** Where it was found, for messages. */
  readonly source: string;
  /** Digest of the referrer manifest that holds it. */
  readonly digest: string;
  readonly bundle: Bundle;
}

export interface BundleDiscovery {
  readonly bundles: AttachedBundle[];
  /** Referrers that looked like bundles but could not be read as one; reported when nothing else verifies. */
  readonly problems: string[];
}

/** The Sigstore bundles among the image's referrers (read by the caller through the API or the tag fallback). */
export async function findBundles(
  image: ImageRef,
  referrers: readonly Descriptor[],
  registry: SignatureRegistry,
  signal?: AbortSignal,
): Promise<Result<BundleDiscovery, OciFailure>> {
  const options = signal ? { signal } : {};
  const bundles: AttachedBundle[] = [];
  const problems: string[] = [];
  for (const d of referrers) {
    // The artifact type tells most referrers apart without fetching them; one that has none is looked at.
    if (d.artifactType !== undefined && !d.artifactType.startsWith(BUNDLE_MEDIA_TYPE_PREFIX)) continue;
    if (bundles.length >= registry.limits.maxEntries) break;
    const source = `referrer ${d.digest}`;
    const manifest = await registry.getManifest(image, d.digest, options);
    if (!manifest.ok) return err(manifest.error);
    const m = manifest.value.manifest;
    if (m.kind !== 'manifest' || m.layers.length !== 1 || !m.layers[0]!.mediaType.startsWith(BUNDLE_MEDIA_TYPE_PREFIX))
      continue;
    const blob = await registry.getBlob(image, m.layers[0]!.digest, options);
    if (!blob.ok) return err(blob.error);
    try {
      bundles.push({
        source,
        digest: d.digest,
        bundle: bundleFromJSON(JSON.parse(Buffer.from(blob.value).toString('utf8'))),
      });
    } catch (e) {
      problems.push(`${source}: not a valid Sigstore bundle: ${toSigstoreMessage(e)}`);
    }
  }
  return ok({ bundles, problems });
}

export type BundleCheck<T = void> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly reason: 'InvalidSignature' | 'DigestMismatch'; readonly detail: string };

/**
 * Whether the bundle is a cosign signature of `digest` by `key`; undefined when `key` did not sign it, which says
 * nothing about the image. The transparency-log entries it carries are verified against the attestor's trust material
 * when the attestor requires the log, and set aside (with any timestamps) when it does not, as cosign
 * --insecure-ignore-tlog does.
 */
export function checkBundleWithKey(
  attached: AttachedBundle,
  key: KeyObject,
  trust: AttestorTrust,
  digest: string,
): BundleCheck | undefined {
  const { source } = attached;
  // Checked here first with the hashes cosign uses: sigstore-js checks a DSSE signature with Node's default hash for
  // the key, SHA-256, while cosign >= 2.6 signs with the key's own (SHA-384 for P-384, Ed25519ph for Ed25519;
  // cosign-formats.md §2.2, §5.3).
  if (
    attached.bundle.verificationMaterial.content.$case !== 'publicKey' ||
    !verifyDsseSignature(attached.bundle, key)
  ) {
    return undefined;
  }
  const bundle = trust.requireTlog ? attached.bundle : withoutTlog(attached.bundle);
  const material: TrustMaterial = {
    ...trust.authorities,
    publicKey: () => ({ publicKey: key, validFor: () => true }),
  };
  try {
    const options = { tlogThreshold: trust.requireTlog ? 1 : 0, ctlogThreshold: 0, timestampThreshold: 0 };
    new Verifier(material, options).verify(toSignedEntity(bundle));
  } catch (e) {
    // The signature is the last thing sigstore-js checks, and it was checked above: a failure there is the hash.
    if ((e as { code?: unknown }).code !== 'SIGNATURE_ERROR') {
      return { ok: false, reason: 'InvalidSignature', detail: `${source}: ${toSigstoreMessage(e)}` };
    }
  }
  return checkStatement(attached, digest, COSIGN_SIGN_PREDICATE_TYPE);
}

/**
 * Whether the bundle was signed with a certificate that leads to the attestor's certificate authorities, at a time
 * proven by the transparency log or a timestamp authority, with the SCTs the attestor requires, and is a cosign
 * signature of `digest`. Returns the signing certificate, whose identity the caller checks.
 */
export function checkBundleWithCertificate(
  attached: AttachedBundle,
  trust: AttestorTrust,
  digest: string,
  predicateType = COSIGN_SIGN_PREDICATE_TYPE,
): BundleCheck<X509Certificate> {
  const { source } = attached;
  const content = attached.bundle.verificationMaterial.content;
  const leaf =
    content.$case === 'certificate'
      ? content.certificate.rawBytes
      : content.$case === 'x509CertificateChain'
        ? content.x509CertificateChain.certificates[0]?.rawBytes
        : undefined;
  if (leaf === undefined) {
    return { ok: false, reason: 'InvalidSignature', detail: `${source}: signed with a key, not a certificate` };
  }
  const bundle = trust.requireTlog ? attached.bundle : withoutTlog(attached.bundle);
  const material: TrustMaterial = {
    ...trust.authorities,
    publicKey: () => {
      throw new Error('a certificate bundle names no key');
    },
  };
  try {
    const options = {
      tlogThreshold: trust.requireTlog ? 1 : 0,
      ctlogThreshold: trust.requireSct ? 1 : 0,
      timestampThreshold: 1,
    };
    new Verifier(material, options).verify(toSignedEntity(bundle));
  } catch (e) {
    const message = toSigstoreMessage(e);
    // A certificate is only valid for a while; without a proven signing time there is no time to check it at.
    const detail = message.startsWith('expected 1 timestamps')
      ? 'the certificate cannot be checked: the bundle proves no signing time (no transparency-log entry or RFC 3161 timestamp)'
      : message;
    return { ok: false, reason: 'InvalidSignature', detail: `${source}: ${detail}` };
  }
  const certificate = X509Certificate.parse(Buffer.from(leaf));
  if (!isForCodeSigning(certificate)) {
    return {
      ok: false,
      reason: 'InvalidSignature',
      detail: `${source}: ${NOT_FOR_CODE_SIGNING}`,
    };
  }
  const statement = checkStatement(attached, digest, predicateType);
  return statement.ok ? { ok: true, value: certificate } : statement;
}

/** The DSSE payload is an in-toto statement of `predicateType` (cosign sign's, for signatures) about `digest`. */
function checkStatement(attached: AttachedBundle, digest: string, predicateType: string): BundleCheck {
  const { bundle, source } = attached;
  if (bundle.content.$case !== 'dsseEnvelope') {
    return {
      ok: false,
      reason: 'InvalidSignature',
      detail: `${source}: bundle holds a message signature, not a DSSE envelope`,
    };
  }
  const envelope = bundle.content.dsseEnvelope;
  if (envelope.payloadType !== IN_TOTO_PAYLOAD_TYPE) {
    return {
      ok: false,
      reason: 'InvalidSignature',
      detail: `${source}: payload type ${JSON.stringify(envelope.payloadType)} is not in-toto`,
    };
  }
  let statement: { predicateType?: unknown; subject?: unknown };
  try {
    statement = JSON.parse(Buffer.from(envelope.payload).toString('utf8')) as typeof statement;
  } catch {
    return { ok: false, reason: 'InvalidSignature', detail: `${source}: the in-toto statement is not JSON` };
  }
  if (statement.predicateType !== predicateType) {
    const expected = predicateType === COSIGN_SIGN_PREDICATE_TYPE ? 'a cosign signature' : predicateType;
    return {
      ok: false,
      reason: 'InvalidSignature',
      detail: `${source}: predicate type ${JSON.stringify(statement.predicateType)} is not ${expected}`,
    };
  }
  const [algorithm, hex] = digest.split(':') as [string, string];
  const subjects = Array.isArray(statement.subject)
    ? (statement.subject as { digest?: Record<string, unknown> }[])
    : [];
  if (!subjects.some((s) => s.digest?.[algorithm] === hex)) {
    const named = subjects.map((s) =>
      typeof s.digest?.[algorithm] === 'string' ? `${algorithm}:${String(s.digest[algorithm])}` : '?',
    );
    return {
      ok: false,
      reason: 'DigestMismatch',
      detail: `${source}: the signature is for ${named.join(', ') || 'no subject'}, not ${digest}`,
    };
  }
  return { ok: true, value: undefined };
}

/** The bundle without its transparency-log entries and timestamps: what is left when the log is not required. */
function withoutTlog(bundle: Bundle): Bundle {
  return {
    ...bundle,
    verificationMaterial: { ...bundle.verificationMaterial, tlogEntries: [], timestampVerificationData: undefined },
  };
}

/** The DSSE signature over the pre-authentication encoding (https://github.com/secure-systems-lab/dsse/blob/master/protocol.md). */
function verifyDsseSignature(bundle: Bundle, key: KeyObject): boolean {
  if (bundle.content.$case !== 'dsseEnvelope') return false;
  const { payloadType, payload, signatures } = bundle.content.dsseEnvelope;
  if (signatures.length !== 1) return false;
  const type = Buffer.from(payloadType, 'utf8');
  const pae = Buffer.concat([Buffer.from(`DSSEv1 ${type.length} `), type, Buffer.from(` ${payload.length} `), payload]);
  return verifyRawSignature(key, pae, signatures[0]!.sig) !== undefined;
}
