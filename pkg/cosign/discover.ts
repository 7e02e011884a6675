// Finds legacy cosign signatures (https://github.com/sigstore/cosign/blob/main/specs/SIGNATURE_SPEC.md): layers of
// the manifest tagged sha256-<hex>.sig, in the image's repository or in the signature repository a policy names
// (what COSIGN_REPOSITORY writes); and the same layers stored as OCI 1.1 referrers with artifact type
// application/vnd.dev.cosign.artifact.sig.v1+json (cosign --registry-referrers-mode=oci-1-1).
import type { ImageRef } from '../imageref/index.js';
import type { Descriptor, OciFailure, RegistryClient } from '../oci/index.js';
import { err, ok, type Result } from '../result/index.js';

export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const CHAIN_ANNOTATION = 'dev.sigstore.cosign/chain';
export const BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';
export const LEGACY_SIGNATURE_ARTIFACT_TYPE = 'application/vnd.dev.cosign.artifact.sig.v1+json';

/** Simple-signing payloads are a few hundred bytes; 1 MiB leaves room for large optional maps. */
const PAYLOAD_LIMIT = 1024 * 1024;

export type SignatureRegistry = Pick<RegistryClient, 'getManifest' | 'getBlob' | 'listReferrers' | 'limits'>;

/** One signature layer: what was signed and the signature over it. */
export interface LegacySignature {
  /** Where it was found, for messages: the .sig tag or the referrer's digest. */
  readonly source: string;
  readonly layer: Descriptor;
  readonly payload: Uint8Array;
  readonly signature: Uint8Array;
  readonly certificate?: string;
  readonly chain?: string;
  readonly bundle?: string;
}

/**
 * The image's legacy signatures; none when there are none (a missing .sig tag is not an error). `referrers` is the
 * image's referrers list, read once by the caller for every kind of signature.
 */
export async function findLegacySignatures(
  image: ImageRef,
  digest: string,
  referrers: readonly Descriptor[],
  registry: SignatureRegistry,
  signal?: AbortSignal,
): Promise<Result<LegacySignature[], OciFailure>> {
  const options = signal ? { signal } : {};
  const tag = `${digest.replace(':', '-')}.sig`;
  const found: LegacySignature[] = [];
  const manifests: { source: string; reference: string }[] = [];
  const sig = await registry.getManifest(image, tag, options);
  if (sig.ok) manifests.push({ source: tag, reference: sig.value.digest });
  else if (sig.error.code !== 'MANIFEST_UNKNOWN' && sig.error.code !== 'NAME_UNKNOWN') return err(sig.error);
  for (const d of referrers) {
    if (d.artifactType === LEGACY_SIGNATURE_ARTIFACT_TYPE)
      manifests.push({ source: `referrer ${d.digest}`, reference: d.digest });
  }
  for (const m of manifests) {
    const fetched =
      sig.ok && m.reference === sig.value.digest ? sig : await registry.getManifest(image, m.reference, options);
    if (!fetched.ok) return err(fetched.error);
    const manifest = fetched.value.manifest;
    if (manifest.kind !== 'manifest') continue;
    for (const [index, layer] of manifest.layers.entries()) {
      if (found.length >= registry.limits.maxEntries) return ok(found);
      const encoded = layer.annotations?.[SIGNATURE_ANNOTATION];
      // Attestation layers carry an empty signature annotation; they are not signatures.
      if (!encoded) continue;
      const blob = await registry.getBlob(image, layer.digest, { ...options, maxBytes: PAYLOAD_LIMIT });
      if (!blob.ok) return err(blob.error);
      found.push({
        source: `${m.source} layer ${index}`,
        layer,
        payload: blob.value,
        signature: Buffer.from(encoded, 'base64'),
        ...optional('certificate', layer.annotations?.[CERTIFICATE_ANNOTATION]),
        ...optional('chain', layer.annotations?.[CHAIN_ANNOTATION]),
        ...optional('bundle', layer.annotations?.[BUNDLE_ANNOTATION]),
      });
    }
  }
  return ok(found);
}

function optional<K extends string>(key: K, value: string | undefined): { [P in K]?: string } {
  return (value ? { [key]: value } : {}) as { [P in K]?: string };
}

/** The image's referrers, or none when the repository does not exist. */
export async function listImageReferrers(
  image: ImageRef,
  digest: string,
  registry: SignatureRegistry,
  signal?: AbortSignal,
): Promise<Result<readonly Descriptor[], OciFailure>> {
  const referrers = await registry.listReferrers(image, digest, signal ? { signal } : {});
  if (referrers.ok) return ok(referrers.value.descriptors);
  return referrers.error.code === 'NAME_UNKNOWN' || referrers.error.code === 'MANIFEST_UNKNOWN'
    ? ok([])
    : err(referrers.error);
}
