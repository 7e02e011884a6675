// Sigstore bundles that cosign v3 attaches to an image as OCI referrers (its default since v3.0;
// https://github.com/sigstore/cosign/blob/main/specs/BUNDLE_SPEC.md): one manifest per bundle, with exactly one layer
// of media type application/vnd.dev.sigstore.bundle*. `cosign sign` puts a DSSE envelope in it whose in-toto
// statement names the image digest as its subject and https://sigstore.dev/cosign/sign/v1 as its predicate type.
//
// The bundle's signature is checked by @sigstore/verify, with trust material built offline from the policy's key.
// What sigstore-js leaves to its caller (shared/reference/cosign-formats.md §5.3, §5.5) is done here: the payload
// type, the subject digest and the predicate type.
import type { KeyObject } from 'node:crypto';
import { bundleFromJSON, type Bundle } from '@sigstore/bundle';
import { Verifier, toSignedEntity, type TrustMaterial } from '@sigstore/verify';
import type { ImageRef } from '../imageref/index.js';
import type { Descriptor, OciFailure } from '../oci/index.js';
import { err, ok, type Result } from '../result/index.js';
import type { SignatureRegistry } from './discover.js';
import { verifyRawSignature } from './signature-schemes.js';

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
      problems.push(`${source}: not a valid Sigstore bundle: ${(e as Error).message}`);
    }
  }
  return ok({ bundles, problems });
}

export type BundleCheck =
  | { readonly ok: true }
  | { readonly ok: false; readonly reason: 'InvalidSignature' | 'DigestMismatch'; readonly detail: string };

/**
 * Whether `key` signed the bundle and the bundle is a cosign signature of `digest`. Offline: the trust material holds
 * only the key. A bundle that carries transparency-log entries or timestamps cannot be checked against nothing, so
 * it fails here until a trusted root is configured, rather than having those entries ignored.
 */
export function checkBundleWithKey(attached: AttachedBundle, key: KeyObject, digest: string): BundleCheck {
  const { bundle, source } = attached;
  if (bundle.verificationMaterial.content.$case !== 'publicKey') {
    return { ok: false, reason: 'InvalidSignature', detail: `${source}: signed with a certificate, not a key` };
  }
  const trust: TrustMaterial = {
    certificateAuthorities: [],
    timestampAuthorities: [],
    tlogs: [],
    ctlogs: [],
    publicKey: () => ({ publicKey: key, validFor: () => true }),
  };
  try {
    new Verifier(trust, { tlogThreshold: 0, ctlogThreshold: 0, timestampThreshold: 0 }).verify(toSignedEntity(bundle));
  } catch (e) {
    // sigstore-js checks a DSSE signature with Node's default hash for the key, SHA-256. cosign >= 2.6 signs with the
    // key's own default (SHA-384 for P-384, Ed25519ph for Ed25519; cosign-formats.md §2.2, §5.3). When the bundle has
    // nothing but the signature to check, check it with the hashes cosign uses.
    if (!isSignatureOnly(bundle) || !verifyDsseSignature(bundle, key)) {
      return { ok: false, reason: 'InvalidSignature', detail: `${source}: ${(e as Error).message}` };
    }
  }
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
  if (statement.predicateType !== COSIGN_SIGN_PREDICATE_TYPE) {
    return {
      ok: false,
      reason: 'InvalidSignature',
      detail: `${source}: predicate type ${JSON.stringify(statement.predicateType)} is not a cosign signature`,
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
  return { ok: true };
}

/** A bundle with no transparency-log entries and no timestamps: its signature is all there is to verify. */
function isSignatureOnly(bundle: Bundle): boolean {
  const material = bundle.verificationMaterial;
  return material.tlogEntries.length === 0 && (material.timestampVerificationData?.rfc3161Timestamps.length ?? 0) === 0;
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
