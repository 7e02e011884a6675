// A registry in a test's memory, serving one image's signatures the way the registry client returns them: the
// sha256-<hex>.sig manifest and its layers, and referrers (Sigstore bundles, or anything else) through the referrers
// API. Like the client, it reports each request it is sent to the caller's onRequest, refuses a manifest or blob larger
// than the caller's maxBytes (TOO_LARGE), and answers in a later turn of the event loop, as a response arrives from
// the network; unlike it, it does not check digests, so a test may serve one buffer under many digests. It counts
// what it served, and records each call made (with whether it was insecure).
import type { ImageRef } from '../../imageref/index.js';
import {
  computeDigest,
  type CallOptions,
  type Descriptor,
  type FetchedManifest,
  type ImageManifest,
  type OciFailure,
  type Referrers,
} from '../../oci/index.js';
import { err, ok, type Result } from '../../result/index.js';
import type { ImageRegistry } from '../verify-image.js';

export const SIMPLE_SIGNING_MEDIA_TYPE = 'application/vnd.dev.cosign.simplesigning.v1+json';
export const BUNDLE_MEDIA_TYPE = 'application/vnd.dev.sigstore.bundle.v0.3+json';
export const SIGNATURE_ANNOTATION = 'dev.cosignproject.cosign/signature';
export const CERTIFICATE_ANNOTATION = 'dev.sigstore.cosign/certificate';
export const BUNDLE_ANNOTATION = 'dev.sigstore.cosign/bundle';
export const DSSE_MEDIA_TYPE = 'application/vnd.dsse.envelope.v1+json';
const PREDICATE_TYPE_ANNOTATION = 'dev.sigstore.bundle.predicateType';
const COSIGN_SIGN_PREDICATE_TYPE = 'https://sigstore.dev/cosign/sign/v1';
const OCI_MANIFEST = 'application/vnd.oci.image.manifest.v1+json';
const EMPTY_CONFIG: Descriptor = {
  mediaType: 'application/vnd.oci.empty.v1+json',
  digest: 'sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a',
  size: 2,
};

/** A digest for the n-th made-up blob: valid in form, but of no content. */
export function fakeDigest(n: number): string {
  return `sha256:${n.toString(16).padStart(64, '0')}`;
}

export interface SignatureLayer {
  readonly payload: Uint8Array;
  /** The layer's annotations: the signature, and the certificate and Rekor bundle when there are any. */
  readonly annotations: Readonly<Record<string, string>>;
  /** The layer's digest; the payload's by default. */
  readonly digest?: string;
}

export interface BundleReferrer {
  /** The predicate type the referrer declares, or null for none; cosign sign's by default. */
  readonly predicateType?: string | null;
  /** The bundle blob's digest; its content's by default. */
  readonly digest?: string;
}

export class FakeRegistry implements ImageRegistry {
  /** What was served: manifests, referrer lists and blobs, in bytes and requests. */
  readonly served = { bytes: 0, requests: 0 };
  /** Each call made, in order: its method, and " insecure" when the call was (CallOptions.insecure). */
  readonly calls: string[] = [];
  /** The reference of each manifest asked for (getManifest), in order. */
  readonly manifestsAsked: string[] = [];
  /** The failure to resolve the image with, if any. */
  resolveFailure: OciFailure | undefined;
  readonly digest: string;
  readonly #manifests = new Map<string, FetchedManifest>();
  readonly #blobs = new Map<string, Uint8Array>();
  readonly #referrers: Descriptor[] = [];

  constructor(digest: string) {
    this.digest = digest;
  }

  /** The .sig manifest, with these layers. */
  putSignatures(layers: readonly SignatureLayer[]): void {
    const descriptors = layers.map((l) => {
      const digest = l.digest ?? computeDigest(l.payload);
      this.#blobs.set(digest, l.payload);
      return { mediaType: SIMPLE_SIGNING_MEDIA_TYPE, digest, size: l.payload.length, annotations: l.annotations };
    });
    const sig = toManifest({ layers: descriptors, config: EMPTY_CONFIG });
    this.#manifests.set(`${this.digest.replace(':', '-')}.sig`, sig);
    this.#manifests.set(sig.digest, sig);
  }

  /** A Sigstore bundle, attached as a referrer of the image as cosign v3 attaches it; returns the referrer's digest. */
  putBundle(blob: Uint8Array, options: BundleReferrer = {}): string {
    const predicateType = options.predicateType === undefined ? COSIGN_SIGN_PREDICATE_TYPE : options.predicateType;
    const digest = options.digest ?? computeDigest(blob);
    this.#blobs.set(digest, blob);
    const annotations = predicateType === null ? undefined : { [PREDICATE_TYPE_ANNOTATION]: predicateType };
    const manifest = toManifest({
      artifactType: BUNDLE_MEDIA_TYPE,
      config: EMPTY_CONFIG,
      layers: [{ mediaType: BUNDLE_MEDIA_TYPE, digest, size: blob.length }],
      subject: { mediaType: OCI_MANIFEST, digest: this.digest, size: 400 },
      ...(annotations ? { annotations } : {}),
    });
    this.#manifests.set(manifest.digest, manifest);
    this.#referrers.push({
      mediaType: OCI_MANIFEST,
      digest: manifest.digest,
      size: manifest.bytes.length,
      artifactType: BUNDLE_MEDIA_TYPE,
      ...(annotations ? { annotations } : {}),
    });
    return manifest.digest;
  }

  /**
   * DSSE envelope layers in a referrer manifest of `artifactType` (how cosign's WriteAttestationsReferrer stores
   * legacy attestations), each layer declaring its predicate type; returns the referrer's digest.
   */
  putAttestationReferrer(
    artifactType: string,
    layers: readonly { readonly envelope: Uint8Array; readonly annotations: Readonly<Record<string, string>> }[],
  ): string {
    const descriptors = layers.map((l) => {
      const digest = computeDigest(l.envelope);
      this.#blobs.set(digest, l.envelope);
      return { mediaType: DSSE_MEDIA_TYPE, digest, size: l.envelope.length, annotations: l.annotations };
    });
    const manifest = toManifest({
      artifactType,
      config: EMPTY_CONFIG,
      layers: descriptors,
      subject: { mediaType: OCI_MANIFEST, digest: this.digest, size: 400 },
    });
    this.#manifests.set(manifest.digest, manifest);
    this.#referrers.push({ mediaType: OCI_MANIFEST, digest: manifest.digest, size: manifest.bytes.length, artifactType });
    return manifest.digest;
  }

  /** The .att manifest, with DSSE envelope layers. */
  putAttestations(
    layers: readonly { readonly envelope: Uint8Array; readonly annotations: Readonly<Record<string, string>> }[],
  ): void {
    const descriptors = layers.map((l) => {
      const digest = computeDigest(l.envelope);
      this.#blobs.set(digest, l.envelope);
      return { mediaType: DSSE_MEDIA_TYPE, digest, size: l.envelope.length, annotations: l.annotations };
    });
    const att = toManifest({ layers: descriptors, config: EMPTY_CONFIG });
    this.#manifests.set(`${this.digest.replace(':', '-')}.att`, att);
    this.#manifests.set(att.digest, att);
  }

  /** A blob under `digest`, whatever its content. */
  putBlob(digest: string, blob: Uint8Array): void {
    this.#blobs.set(digest, blob);
  }

  async resolveDigest(_ref: ImageRef, options: CallOptions = {}): Promise<Result<Descriptor, OciFailure>> {
    this.#record('resolveDigest', options);
    options.onRequest?.();
    await network();
    if (this.resolveFailure) return err(this.resolveFailure);
    return ok({ mediaType: OCI_MANIFEST, digest: this.digest, size: 400 });
  }

  async getManifest(
    ref: ImageRef,
    reference?: string,
    options: CallOptions & { maxBytes?: number } = {},
  ): Promise<Result<FetchedManifest, OciFailure>> {
    this.#record('getManifest', options);
    this.manifestsAsked.push(reference ?? '');
    options.onRequest?.();
    await network();
    this.served.requests++;
    const manifest = reference === undefined ? undefined : this.#manifests.get(reference);
    if (!manifest) return err(this.#failure('MANIFEST_UNKNOWN', ref, reference));
    if (tooLarge(manifest.bytes, options)) return err(this.#failure('TOO_LARGE', ref, reference));
    this.served.bytes += manifest.bytes.length;
    return ok(manifest);
  }

  async getBlob(
    ref: ImageRef,
    digest: string,
    options: CallOptions & { maxBytes?: number } = {},
  ): Promise<Result<Uint8Array, OciFailure>> {
    this.#record('getBlob', options);
    options.onRequest?.();
    await network();
    this.served.requests++;
    const blob = this.#blobs.get(digest);
    if (!blob) return err(this.#failure('BLOB_UNKNOWN', ref, digest));
    if (tooLarge(blob, options)) return err(this.#failure('TOO_LARGE', ref, digest));
    this.served.bytes += blob.length;
    return ok(blob);
  }

  async listReferrers(
    _ref: ImageRef,
    _digest: string,
    options: CallOptions = {},
  ): Promise<Result<Referrers, OciFailure>> {
    this.#record('listReferrers', options);
    options.onRequest?.();
    await network();
    this.served.requests++;
    // What the index of this many descriptors takes on the wire.
    const bytesRead = JSON.stringify({ schemaVersion: 2, manifests: this.#referrers }).length;
    this.served.bytes += bytesRead;
    return ok({ descriptors: this.#referrers, source: 'api', bytesRead, truncated: false });
  }

  #record(method: string, options: CallOptions): void {
    this.calls.push(options.insecure === true ? `${method} insecure` : method);
  }

  #failure(code: OciFailure['code'], ref: ImageRef, reference?: string): OciFailure {
    return {
      code,
      message: `${code}: ${ref.registry}/${ref.repository}@${reference ?? ''}`,
      registry: ref.registry,
    };
  }
}

/** A response comes in a later turn of the event loop. */
function network(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

function tooLarge(bytes: Uint8Array, options: { maxBytes?: number }): boolean {
  return options.maxBytes !== undefined && bytes.length > options.maxBytes;
}

function toManifest(fields: Omit<ImageManifest, 'kind' | 'schemaVersion' | 'mediaType'>): FetchedManifest {
  const manifest: ImageManifest = { kind: 'manifest', schemaVersion: 2, mediaType: OCI_MANIFEST, ...fields };
  // The manifest as a registry serves it: the parsed form's `kind` is the client's, not the document's.
  const bytes = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: OCI_MANIFEST, ...fields }));
  return { digest: computeDigest(bytes), mediaType: OCI_MANIFEST, bytes, manifest };
}
