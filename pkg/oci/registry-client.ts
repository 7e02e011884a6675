// The registry client: the OCI distribution API operations Imprimatur needs, each returning a Result so that a
// registry's failure is a value with a stable code. Nothing here trusts the registry: every manifest and blob is
// checked against its digest, and every read is bounded.
import { toRegistryHost, toWireRepository, type ImageRef } from '../imageref/index.js';
import { err, ok, type Result } from '../result/index.js';
import { computeDigest, digestAlgorithm, isDigest, matchesDigest } from './digest.js';
import type { DockerConfig } from './docker-config.js';
import { OciError, type OciErrorContext, type OciFailure } from './errors.js';
import { MANIFEST_ACCEPT, MEDIA_TYPE_OCI_INDEX } from './media-types.js';
import { RegistryTransport, type FetchLike, type RegistryRequest, type RegistryResponse } from './transport.js';
import { parseManifest, type Descriptor, type Manifest } from './types.js';

export interface OciLimits {
  /** Largest manifest read: 4 MiB, what the distribution spec asks registries to accept and ACR's cap. */
  readonly manifestBytes: number;
  /** Largest blob read: signature payloads and bundles, 10 MiB (Kyverno's cap after CVE-2023-42813/42816). */
  readonly blobBytes: number;
  /** Most referrers, index entries or layers taken from one response (cosign's maxLayers after CVE-2024-29903). */
  readonly maxEntries: number;
  /** Most tags listed. */
  readonly maxTags: number;
}

export const DEFAULT_LIMITS: OciLimits = {
  manifestBytes: 4 * 1024 * 1024,
  blobBytes: 10 * 1024 * 1024,
  maxEntries: 1000,
  maxTags: 10_000,
};

export interface RegistryClientOptions {
  readonly limits?: Partial<OciLimits>;
  /** Registries spoken to over plain HTTP (host[:port] as written in image references). */
  readonly insecureRegistries?: Iterable<string>;
  /** PEM bundle of extra CAs for HTTPS registries. */
  readonly caBundle?: string;
  readonly credentials?: DockerConfig;
  readonly requestTimeoutMs?: number;
  readonly maxRetries?: number;
  readonly maxRedirects?: number;
  readonly maxRetryAfterMs?: number;
  readonly concurrencyPerRegistry?: number;
  readonly userAgent?: string;
  /** For tests: the HTTP client, clock and sleep. */
  readonly fetch?: FetchLike;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

export interface CallOptions {
  /** The caller's deadline for the whole operation, retries included. */
  readonly signal?: AbortSignal;
}

export interface FetchedManifest {
  readonly digest: string;
  readonly mediaType: string;
  readonly bytes: Uint8Array;
  readonly manifest: Manifest;
}

export interface Referrers {
  readonly descriptors: readonly Descriptor[];
  /** Whether the registry's referrers API answered, or the sha256-<hex> tag was read instead. */
  readonly source: 'api' | 'tag';
}

export class RegistryClient {
  readonly limits: OciLimits;
  readonly #transport: RegistryTransport;

  constructor(options: RegistryClientOptions = {}) {
    this.limits = { ...DEFAULT_LIMITS, ...options.limits };
    const credentials = options.credentials;
    this.#transport = new RegistryTransport({
      fetch: options.fetch ?? defaultFetch(options.caBundle),
      credentials: (registry) => credentials?.lookup(registry),
      insecureRegistries: new Set(options.insecureRegistries ?? []),
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      maxRetries: options.maxRetries ?? 3,
      maxRedirects: options.maxRedirects ?? 10,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 10_000,
      concurrencyPerRegistry: options.concurrencyPerRegistry ?? 8,
      userAgent: options.userAgent ?? 'imprimatur',
      now: options.now ?? Date.now,
      sleep: options.sleep ?? sleepFor,
    });
  }

  /** GET /v2/: whether the registry answers, and authentication works for it. */
  ping(ref: ImageRef, options: CallOptions = {}): Promise<Result<void, OciFailure>> {
    return this.#run(async () => {
      await this.#transport.request({
        ...this.#base(ref, options),
        repository: undefined,
        reference: undefined,
        method: 'GET',
        path: '/v2/',
        maxBytes: 64 * 1024,
      });
    });
  }

  /**
   * The digest a reference points to: the index digest for a multi-platform image, as cosign signs it. HEAD first
   * (free of Docker Hub's pull quota); GET when the registry does not say the digest in Docker-Content-Digest.
   */
  resolveDigest(ref: ImageRef, options: CallOptions = {}): Promise<Result<Descriptor, OciFailure>> {
    return this.#run(async () => {
      if (ref.digest) {
        const m = await this.#getManifest(ref, ref.digest, options);
        return { mediaType: m.mediaType, digest: m.digest, size: m.bytes.byteLength };
      }
      const reference = ref.tag ?? 'latest';
      const head = await this.#transport.request({
        ...this.#base(ref, options),
        reference,
        method: 'HEAD',
        path: `/v2/${toWireRepository(ref)}/manifests/${reference}`,
        accept: MANIFEST_ACCEPT,
        maxBytes: 0,
        passStatuses: [405],
      });
      const digest = head.headers.get('docker-content-digest') ?? '';
      const size = Number(head.headers.get('content-length') ?? NaN);
      const mediaType = head.headers.get('content-type')?.split(';')[0]?.trim() ?? '';
      if (head.status === 200 && isDigest(digest) && Number.isSafeInteger(size) && mediaType !== '') {
        return { mediaType, digest, size };
      }
      const m = await this.#getManifest(ref, reference, options);
      return { mediaType: m.mediaType, digest: m.digest, size: m.bytes.byteLength };
    });
  }

  /** A manifest or index by tag or digest, checked against its digest. */
  getManifest(
    ref: ImageRef,
    reference?: string,
    options: CallOptions = {},
  ): Promise<Result<FetchedManifest, OciFailure>> {
    return this.#run(() => this.#getManifest(ref, reference ?? ref.digest ?? ref.tag ?? 'latest', options));
  }

  /** A blob, checked against its digest and bounded by `maxBytes` (default: the blob limit). */
  getBlob(
    ref: ImageRef,
    digest: string,
    options: CallOptions & { maxBytes?: number } = {},
  ): Promise<Result<Uint8Array, OciFailure>> {
    return this.#run(async () => {
      const context = this.#context(ref, digest);
      if (!isDigest(digest))
        throw new OciError('BAD_RESPONSE', `invalid blob digest ${JSON.stringify(digest)}`, context);
      const res = await this.#transport.request({
        ...this.#base(ref, options),
        reference: digest,
        method: 'GET',
        path: `/v2/${toWireRepository(ref)}/blobs/${digest}`,
        maxBytes: options.maxBytes ?? this.limits.blobBytes,
      });
      if (!matchesDigest(res.body, digest)) {
        throw new OciError(
          'DIGEST_MISMATCH',
          `blob content does not match its digest (got ${computeDigest(res.body, digestAlgorithm(digest))})`,
          context,
        );
      }
      return res.body;
    });
  }

  /** The repository's tags, following pagination up to the tag limit. */
  listTags(ref: ImageRef, options: CallOptions = {}): Promise<Result<string[], OciFailure>> {
    return this.#run(async () => {
      const tags: string[] = [];
      let path: string | undefined = `/v2/${toWireRepository(ref)}/tags/list`;
      while (path) {
        const res: RegistryResponse = await this.#transport.request({
          ...this.#base(ref, options),
          reference: undefined,
          method: 'GET',
          path,
          accept: 'application/json',
          maxBytes: this.limits.manifestBytes,
        });
        const json = parseJson(res.body, this.#context(ref)) as { tags?: unknown };
        if (
          json.tags !== null &&
          json.tags !== undefined &&
          !(Array.isArray(json.tags) && json.tags.every((t) => typeof t === 'string'))
        ) {
          throw new OciError('BAD_RESPONSE', 'tag list is not an array of strings', this.#context(ref));
        }
        tags.push(...((json.tags as string[] | null | undefined) ?? []));
        if (tags.length > this.limits.maxTags) {
          throw new OciError('TOO_LARGE', `more than ${this.limits.maxTags} tags`, this.#context(ref));
        }
        path = nextPage(res.headers.get('link'), toRegistryHost(ref));
      }
      return tags;
    });
  }

  /**
   * Manifests that refer to `digest` (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-referrers):
   * the referrers API when the registry has it, else the referrers tag schema `sha256-<hex>`. The artifactType
   * filter is applied here too, since a registry may ignore it.
   */
  listReferrers(
    ref: ImageRef,
    digest: string,
    options: CallOptions & { artifactType?: string } = {},
  ): Promise<Result<Referrers, OciFailure>> {
    return this.#run(async () => {
      const context = this.#context(ref, digest);
      if (!isDigest(digest))
        throw new OciError('BAD_RESPONSE', `invalid subject digest ${JSON.stringify(digest)}`, context);
      const query = options.artifactType ? `?artifactType=${encodeURIComponent(options.artifactType)}` : '';
      const res = await this.#transport.request({
        ...this.#base(ref, options),
        reference: digest,
        method: 'GET',
        path: `/v2/${toWireRepository(ref)}/referrers/${digest}${query}`,
        accept: MEDIA_TYPE_OCI_INDEX,
        maxBytes: this.limits.manifestBytes,
        passStatuses: [400, 404, 405, 406],
      });
      const type = res.headers.get('content-type')?.split(';')[0]?.trim();
      let descriptors: readonly Descriptor[];
      let source: Referrers['source'];
      if (res.status === 200 && type === MEDIA_TYPE_OCI_INDEX) {
        descriptors = this.#indexEntries(res.body, type, context);
        source = 'api';
      } else {
        // The registry has no referrers API: read the tag schema, where a missing tag means no referrers.
        const tag = digest.replace(':', '-');
        const fallback = await this.#transport.request({
          ...this.#base(ref, options),
          reference: tag,
          method: 'GET',
          path: `/v2/${toWireRepository(ref)}/manifests/${tag}`,
          accept: MEDIA_TYPE_OCI_INDEX,
          maxBytes: this.limits.manifestBytes,
          passStatuses: [404],
        });
        descriptors =
          fallback.status === 404
            ? []
            : this.#indexEntries(fallback.body, fallback.headers.get('content-type') ?? undefined, context);
        source = 'tag';
      }
      const wanted = options.artifactType;
      return { descriptors: wanted ? descriptors.filter((d) => d.artifactType === wanted) : descriptors, source };
    });
  }

  /** Uploads a blob (monolithic POST then PUT), unless the registry has it already. */
  pushBlob(ref: ImageRef, bytes: Uint8Array, options: CallOptions = {}): Promise<Result<string, OciFailure>> {
    return this.#run(async () => {
      const digest = computeDigest(bytes);
      const repo = toWireRepository(ref);
      const base = { ...this.#base(ref, options), push: true, reference: digest };
      const exists = await this.#transport.request({
        ...base,
        method: 'HEAD',
        path: `/v2/${repo}/blobs/${digest}`,
        maxBytes: 0,
        passStatuses: [404],
      });
      if (exists.status === 200) return digest;
      const start = await this.#transport.request({
        ...base,
        method: 'POST',
        path: `/v2/${repo}/blobs/uploads/`,
        maxBytes: 64 * 1024,
      });
      const location = start.headers.get('location');
      if (!location)
        throw new OciError('BAD_RESPONSE', 'upload started without a Location', this.#context(ref, digest));
      const url = new URL(location, start.url);
      url.searchParams.set('digest', digest);
      await this.#transport.request({
        ...base,
        method: 'PUT',
        path: url.href,
        body: bytes,
        contentType: 'application/octet-stream',
        maxBytes: 64 * 1024,
      });
      return digest;
    });
  }

  /** Uploads a manifest under a tag or its digest, and checks the digest the registry reports. */
  pushManifest(
    ref: ImageRef,
    bytes: Uint8Array,
    mediaType: string,
    reference?: string,
    options: CallOptions = {},
  ): Promise<Result<string, OciFailure>> {
    return this.#run(async () => {
      const digest = computeDigest(bytes);
      const target = reference ?? digest;
      const res = await this.#transport.request({
        ...this.#base(ref, options),
        push: true,
        reference: target,
        method: 'PUT',
        path: `/v2/${toWireRepository(ref)}/manifests/${target}`,
        body: bytes,
        contentType: mediaType,
        maxBytes: 64 * 1024,
      });
      const reported = res.headers.get('docker-content-digest');
      if (reported && reported !== digest) {
        throw new OciError(
          'DIGEST_MISMATCH',
          `registry stored the manifest as ${reported}, not ${digest}`,
          this.#context(ref, target),
        );
      }
      return digest;
    });
  }

  async #getManifest(ref: ImageRef, reference: string, options: CallOptions): Promise<FetchedManifest> {
    const context = this.#context(ref, reference);
    const res = await this.#transport.request({
      ...this.#base(ref, options),
      reference,
      method: 'GET',
      path: `/v2/${toWireRepository(ref)}/manifests/${reference}`,
      accept: MANIFEST_ACCEPT,
      maxBytes: this.limits.manifestBytes,
    });
    const byDigest = isDigest(reference);
    const header = res.headers.get('docker-content-digest');
    // What the bytes must hash to: the digest asked for; else the one the registry claims; else whatever they are.
    const expected = byDigest ? reference : header && isDigest(header) ? header : undefined;
    const digest = expected ?? computeDigest(res.body);
    if (expected && !matchesDigest(res.body, expected)) {
      throw new OciError(
        'DIGEST_MISMATCH',
        `manifest content hashes to ${computeDigest(res.body, digestAlgorithm(expected))}, not ${expected}`,
        context,
      );
    }
    if (byDigest && header && header !== reference && isDigest(header)) {
      throw new OciError('DIGEST_MISMATCH', `registry reports digest ${header} for manifest ${reference}`, context);
    }
    const parsed = parseManifest(res.body, res.headers.get('content-type') ?? undefined, this.limits.maxEntries);
    if (!parsed.ok) throw new OciError('BAD_RESPONSE', parsed.error, context);
    return { digest, mediaType: parsed.value.mediaType, bytes: res.body, manifest: parsed.value };
  }

  #indexEntries(body: Uint8Array, contentType: string | undefined, context: OciErrorContext): readonly Descriptor[] {
    const parsed = parseManifest(body, contentType, this.limits.maxEntries);
    if (!parsed.ok) {
      const code = parsed.error.includes('exceed the limit') ? 'TOO_LARGE' : 'BAD_RESPONSE';
      throw new OciError(code, `referrers: ${parsed.error}`, context);
    }
    if (parsed.value.kind !== 'index') throw new OciError('BAD_RESPONSE', 'referrers: not an image index', context);
    return parsed.value.manifests;
  }

  #base(
    ref: ImageRef,
    options: CallOptions,
  ): Pick<RegistryRequest, 'registry' | 'host' | 'repository' | 'signal'> & {
    reference?: string;
  } {
    return {
      registry: ref.registry,
      host: toRegistryHost(ref),
      repository: toWireRepository(ref),
      ...(options.signal ? { signal: options.signal } : {}),
    };
  }

  #context(ref: ImageRef, reference?: string): OciErrorContext {
    return { registry: ref.registry, repository: toWireRepository(ref), ...(reference ? { reference } : {}) };
  }

  /** The one place where pkg/oci's exceptions become values. */
  async #run<T>(operation: () => Promise<T>): Promise<Result<T, OciFailure>> {
    try {
      return ok(await operation());
    } catch (e) {
      if (e instanceof OciError) return err(e.toFailure());
      throw e;
    }
  }
}

function parseJson(body: Uint8Array, context: OciErrorContext): unknown {
  try {
    return JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw new OciError('BAD_RESPONSE', 'response is not valid JSON', context);
  }
}

/** The next page from an RFC 5988 Link header, kept on the same registry. */
function nextPage(link: string | null, host: string): string | undefined {
  const m = link ? /<([^>]+)>\s*;\s*rel="?next"?/.exec(link) : null;
  if (!m) return undefined;
  const target = m[1]!;
  if (target.startsWith('/v2/')) return target;
  try {
    const url = new URL(target);
    return url.host === host ? `${url.pathname}${url.search}` : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Node's own fetch, or undici's with an Agent that trusts the extra CA bundle. undici is loaded only then: it costs
 * a tenth of a second at start-up, which the CLI would pay on every run.
 */
function defaultFetch(caBundle: string | undefined): FetchLike {
  if (!caBundle) {
    return async (url, init) => {
      const res = await fetch(url, init);
      return { status: res.status, headers: res.headers, body: res.body as AsyncIterable<Uint8Array> | null };
    };
  }
  let withCa: Promise<FetchLike> | undefined;
  const load = async (): Promise<FetchLike> => {
    const { Agent, fetch: undiciFetch } = await import('undici');
    const dispatcher = new Agent({ connect: { ca: caBundle } });
    return async (url, init) => {
      const res = await undiciFetch(url, { ...init, dispatcher });
      return { status: res.status, headers: res.headers, body: res.body as AsyncIterable<Uint8Array> | null };
    };
  };
  return async (url, init) => (await (withCa ??= load()))(url, init);
}

function sleepFor(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
