// The registry client: the OCI distribution API operations Imprimatur needs, each returning a Result so that a
// registry's failure is a value with a stable code. Nothing here trusts the registry: every manifest and blob is
// checked against its digest, every read is bounded (by the client's limits and by the caller's own byte budget),
// every pagination ends, and nothing the registry sends makes a method throw.
//
// One client serves many callers: credentials come with each call (a Pod's pull secrets), falling back to the
// client's own (the CLI's config file), so the token cache, request coalescing and per-registry limits are shared
// while tokens and answers stay with the credentials they were obtained with.
import { normaliseRegistryHost, toRegistryHost, toWireRepository, type ImageRef } from '../imageref/index.js';
import { err, ok, type Result } from '../result/index.js';
import { resolveWithDns, type ResolveHost } from './address-policy.js';
import { createDefaultFetch } from './default-fetch.js';
import { computeDigest, digestAlgorithm, isDigest, matchesDigest } from './digest.js';
import type { DockerConfig } from './docker-config.js';
import { OciError, type OciErrorContext, type OciFailure } from './errors.js';
import type { FetchLike } from './fetch-like.js';
import { nextPagePath } from './link-header.js';
import { MANIFEST_ACCEPT, MEDIA_TYPE_OCI_INDEX } from './media-types.js';
import type { RequestObserver } from './request-observer.js';
import { quoteText } from '../text/index.js';
import { RegistryTransport, type RegistryRequest, type RegistryResponse } from './transport.js';
import { parseIndexPrefix, parseManifest, type Descriptor, type Manifest } from './types.js';

export interface OciLimits {
  /** Largest manifest read: 4 MiB, what the distribution spec asks registries to accept and ACR's cap. */
  readonly manifestBytes: number;
  /** Largest blob read: signature payloads and bundles, 10 MiB (Kyverno's cap after CVE-2023-42813/42816). */
  readonly blobBytes: number;
  /** Most index entries or layers taken from one manifest (cosign's maxLayers after CVE-2024-29903). */
  readonly maxEntries: number;
  /** Most tags listed. */
  readonly maxTags: number;
  /**
   * Most referrers read for one subject, across all pages: past it the list is cut short (Referrers.truncated), not
   * refused, so that whoever can push referrers cannot block the verification of a properly signed image.
   * Default 10,000; optional only so that hand-written fakes of the client's `limits` stay valid.
   */
  readonly maxReferrers?: number;
}

export const DEFAULT_LIMITS: Required<OciLimits> = {
  manifestBytes: 4 * 1024 * 1024,
  blobBytes: 10 * 1024 * 1024,
  maxEntries: 1000,
  maxTags: 10_000,
  maxReferrers: 10_000,
};

export interface RegistryClientOptions {
  readonly limits?: Partial<OciLimits>;
  /** Registries spoken to over plain HTTP (host[:port] as written in image references). */
  readonly insecureRegistries?: Iterable<string>;
  /** Speak plain HTTP to registries on loopback, as go-containerregistry does; off by default. */
  readonly plainHttpForLoopback?: boolean;
  /**
   * Make every call insecure (CallOptions.insecure), as Kyverno's --allowInsecureRegistry does for all its
   * registry access; off by default.
   */
  readonly allowInsecureRegistry?: boolean;
  /** PEM bundle of extra CAs for HTTPS registries. */
  readonly caBundle?: string;
  /** Credentials for calls that bring none of their own (CallOptions.credentials). */
  readonly credentials?: DockerConfig;
  readonly requestTimeoutMs?: number;
  readonly maxRetries?: number;
  readonly maxRedirects?: number;
  readonly maxRetryAfterMs?: number;
  readonly concurrencyPerRegistry?: number;
  readonly userAgent?: string;
  /** Told of every HTTP request sent (token fetches, redirects and retries too), with its status and duration. */
  readonly observeRequest?: RequestObserver;
  /** For tests: the HTTP client, clock and sleep. */
  readonly fetch?: FetchLike;
  readonly now?: () => number;
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /**
   * For tests: DNS, for the kind of address a registry named by host name is on, and for the connections the
   * default fetch makes under an address policy. The system resolver by default.
   */
  readonly resolveHost?: (hostname: string) => Promise<readonly string[]>;
}

export interface CallOptions {
  /** The caller's deadline for the whole operation, retries included. */
  readonly signal?: AbortSignal;
  /**
   * Credentials for this call, such as a Pod's pull secrets: when given, the only source of credentials for it
   * (a lookup that finds none means anonymous); when absent, the client's `credentials`.
   */
  readonly credentials?: Pick<DockerConfig, 'lookup'>;
  /**
   * The most bytes this call may read, all pages and fallbacks together; never more than the client's limit for
   * the kind of read (manifestBytes, or blobBytes for getBlob). More is TOO_LARGE, except for the later pages of
   * listReferrers, which end the list (Referrers.truncated). Read by getManifest, getBlob, resolveDigest,
   * listReferrers and listTags.
   */
  readonly maxBytes?: number;
  /**
   * Called once per HTTP request sent on this call's behalf, token fetches, redirects and retries included, so a
   * caller can bound the requests of a whole verification (abort `signal` to stop). A request shared with
   * concurrent identical calls counts for each of them. Exceptions it throws are ignored.
   */
  readonly onRequest?: () => void;
  /**
   * listReferrers: the most pages it may request, the first included; a list with more ends there
   * (Referrers.truncated), as at maxBytes. A caller bounding the requests of a whole verification passes what it has
   * left, so that pagination that never ends stops within the bound rather than at the deadline.
   */
  readonly maxPages?: number;
  /**
   * Kyverno's allowInsecureRegistry: HTTPS without checking the registry's certificate, and plain HTTP when HTTPS
   * cannot be spoken (the handshake fails, the server speaks plain HTTP); token realms and redirects may then be
   * plain HTTP too. Registries on loopback are tried over HTTPS first, plainHttpForLoopback notwithstanding.
   * Nothing an insecure call obtains (connections, answers, tokens) is shared with calls that are not insecure.
   */
  readonly insecure?: boolean;
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
  /**
   * Bytes read for the list, every page and the tag fallback included, to charge against a caller's budget.
   * Always set by RegistryClient; optional only so that hand-written fakes stay valid.
   */
  readonly bytesRead?: number;
  /**
   * True when the list was cut short: more than OciLimits.maxReferrers referrers, or a later page beyond the
   * byte budget. The descriptors are the ones read before. Always set by RegistryClient.
   */
  readonly truncated?: boolean;
}

export class RegistryClient {
  /** Every limit is set; typed OciLimits so that fakes of a client need not list the optional ones. */
  readonly limits: OciLimits;
  readonly #maxReferrers: number;
  readonly #transport: RegistryTransport;
  readonly #credentials: DockerConfig | undefined;
  readonly #allowInsecure: boolean;

  constructor(options: RegistryClientOptions = {}) {
    const limits: Required<OciLimits> = { ...DEFAULT_LIMITS, ...withoutUndefined(options.limits ?? {}) };
    this.limits = limits;
    this.#maxReferrers = limits.maxReferrers;
    this.#credentials = options.credentials;
    this.#allowInsecure = options.allowInsecureRegistry === true;
    const resolveHost: ResolveHost = options.resolveHost ?? resolveWithDns;
    this.#transport = new RegistryTransport({
      fetch:
        options.fetch ??
        createDefaultFetch({
          ...(options.caBundle ? { caBundle: options.caBundle } : {}),
          ...(options.resolveHost ? { resolveHost } : {}),
        }),
      resolveHost,
      // Normalised as image references are, so `LOCALHOST:5000` or `host:443` name the registry a Pod names.
      insecureRegistries: new Set([...(options.insecureRegistries ?? [])].map(normaliseRegistryHost)),
      plainHttpForLoopback: options.plainHttpForLoopback ?? false,
      requestTimeoutMs: options.requestTimeoutMs ?? 10_000,
      maxRetries: options.maxRetries ?? 3,
      maxRedirects: options.maxRedirects ?? 10,
      maxRetryAfterMs: options.maxRetryAfterMs ?? 10_000,
      concurrencyPerRegistry: options.concurrencyPerRegistry ?? 8,
      userAgent: options.userAgent ?? 'imprimatur',
      now: options.now ?? Date.now,
      sleep: options.sleep ?? sleepFor,
      ...(options.observeRequest ? { observeRequest: options.observeRequest } : {}),
    });
  }

  /** GET /v2/: whether the registry answers, and authentication works for it. */
  ping(ref: ImageRef, options: CallOptions = {}): Promise<Result<void, OciFailure>> {
    return this.#run({ registry: ref.registry }, async () => {
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
    const reference = ref.digest ?? ref.tag ?? 'latest';
    return this.#run(this.#context(ref, reference), async () => {
      if (ref.digest) {
        const m = await this.#getManifest(ref, ref.digest, options, this.#budget(options, this.limits.manifestBytes));
        return { mediaType: m.mediaType, digest: m.digest, size: m.bytes.byteLength };
      }
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
      if (head.status === 200 && isDigest(digest) && Number.isSafeInteger(size) && size >= 0 && mediaType !== '') {
        return { mediaType, digest, size };
      }
      const m = await this.#getManifest(ref, reference, options, this.#budget(options, this.limits.manifestBytes));
      return { mediaType: m.mediaType, digest: m.digest, size: m.bytes.byteLength };
    });
  }

  /** A manifest or index by tag or digest, checked against its digest. */
  getManifest(
    ref: ImageRef,
    reference?: string,
    options: CallOptions = {},
  ): Promise<Result<FetchedManifest, OciFailure>> {
    const target = reference ?? ref.digest ?? ref.tag ?? 'latest';
    return this.#run(this.#context(ref, target), () =>
      this.#getManifest(ref, target, options, this.#budget(options, this.limits.manifestBytes)),
    );
  }

  /** A blob, checked against its digest and bounded by `maxBytes` (never more than the blob limit). */
  getBlob(ref: ImageRef, digest: string, options: CallOptions = {}): Promise<Result<Uint8Array, OciFailure>> {
    const context = this.#context(ref, digest);
    return this.#run(context, async () => {
      if (!isDigest(digest)) throw new OciError('BAD_RESPONSE', `invalid blob digest ${quoteText(digest)}`, context);
      const res = await this.#transport.request({
        ...this.#base(ref, options),
        reference: digest,
        method: 'GET',
        path: `/v2/${toWireRepository(ref)}/blobs/${digest}`,
        maxBytes: this.#budget(options, this.limits.blobBytes),
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

  /**
   * The repository's tags, following pagination up to the tag limit. The listing ends at a page without tags or
   * a next link already followed, whatever the registry says.
   */
  listTags(ref: ImageRef, options: CallOptions = {}): Promise<Result<string[], OciFailure>> {
    const context = this.#context(ref);
    return this.#run(context, async () => {
      const tags: string[] = [];
      let budget = this.#budget(options, this.limits.manifestBytes);
      let path: string | undefined = `/v2/${toWireRepository(ref)}/tags/list`;
      const seen = new Set<string>();
      while (path !== undefined && !seen.has(path)) {
        seen.add(path);
        const res: RegistryResponse = await this.#transport.request({
          ...this.#base(ref, options),
          reference: undefined,
          method: 'GET',
          path,
          accept: 'application/json',
          maxBytes: budget,
        });
        budget -= res.body.byteLength;
        const json = parseJson(res.body, context);
        const page = isObject(json) ? json['tags'] : undefined;
        if (!isObject(json) || (page !== null && page !== undefined && !isStringArray(page))) {
          throw new OciError('BAD_RESPONSE', 'tag list is not an array of strings', context);
        }
        if (!page || page.length === 0) break;
        if (tags.length + page.length > this.limits.maxTags) {
          throw new OciError('TOO_LARGE', `more than ${this.limits.maxTags} tags`, context);
        }
        tags.push(...page);
        path = nextPagePath(res.headers.get('link'), toRegistryHost(ref));
      }
      return tags;
    });
  }

  /**
   * Manifests that refer to `digest` (https://github.com/opencontainers/distribution-spec/blob/main/spec.md#listing-referrers):
   * the referrers API when the registry has it, following its pages (Link: <...>; rel="next"), else the referrers
   * tag schema `sha256-<hex>`. At most OciLimits.maxReferrers descriptors are read, across pages; past that the
   * list is returned cut short, with `truncated`. The artifactType filter is applied here too, since a registry
   * may ignore it.
   */
  listReferrers(
    ref: ImageRef,
    digest: string,
    options: CallOptions & { artifactType?: string } = {},
  ): Promise<Result<Referrers, OciFailure>> {
    const context = this.#context(ref, digest);
    return this.#run(context, async () => {
      if (!isDigest(digest)) throw new OciError('BAD_RESPONSE', `invalid subject digest ${quoteText(digest)}`, context);
      const reader = new ReferrersReader(this.#maxReferrers, this.#budget(options, this.limits.manifestBytes));
      const query = options.artifactType ? `?artifactType=${encodeURIComponent(options.artifactType)}` : '';
      const first = `/v2/${toWireRepository(ref)}/referrers/${digest}${query}`;
      const res = await this.#transport.request({
        ...this.#base(ref, options),
        reference: digest,
        method: 'GET',
        path: first,
        accept: MEDIA_TYPE_OCI_INDEX,
        maxBytes: Math.min(reader.remainingBytes, this.limits.manifestBytes),
        passStatuses: [400, 404, 405, 406],
      });
      reader.charge(res.body.byteLength);
      const type = res.headers.get('content-type')?.split(';')[0]?.trim();
      let source: Referrers['source'];
      if (res.status === 200 && type === MEDIA_TYPE_OCI_INDEX) {
        source = 'api';
        await this.#readReferrerPages(ref, options, reader, res, first, context);
      } else {
        // The registry has no referrers API: read the tag schema, where a missing tag means no referrers.
        source = 'tag';
        const tag = digest.replace(':', '-');
        const fallback = await this.#transport.request({
          ...this.#base(ref, options),
          reference: tag,
          method: 'GET',
          path: `/v2/${toWireRepository(ref)}/manifests/${tag}`,
          accept: MEDIA_TYPE_OCI_INDEX,
          maxBytes: Math.min(reader.remainingBytes, this.limits.manifestBytes),
          passStatuses: [404],
        });
        reader.charge(fallback.body.byteLength);
        if (fallback.status !== 404) {
          reader.addPage(fallback.body, fallback.headers.get('content-type') ?? undefined, context);
        }
      }
      const wanted = options.artifactType;
      const descriptors = wanted ? reader.descriptors.filter((d) => d.artifactType === wanted) : reader.descriptors;
      return { descriptors, source, bytesRead: reader.bytesRead, truncated: reader.truncated };
    });
  }

  /** Uploads a blob (monolithic POST then PUT), unless the registry has it already. */
  pushBlob(ref: ImageRef, bytes: Uint8Array, options: CallOptions = {}): Promise<Result<string, OciFailure>> {
    const digest = computeDigest(bytes);
    return this.#run(this.#context(ref, digest), async () => {
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
      const url = location === null ? null : URL.parse(location, start.url);
      if (url === null)
        throw new OciError('BAD_RESPONSE', 'upload started without a valid Location', this.#context(ref, digest));
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
    const digest = computeDigest(bytes);
    const target = reference ?? digest;
    return this.#run(this.#context(ref, target), async () => {
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
          `registry stored the manifest as ${quoteText(reported)}, not ${digest}`,
          this.#context(ref, target),
        );
      }
      return digest;
    });
  }

  async #getManifest(
    ref: ImageRef,
    reference: string,
    options: CallOptions,
    maxBytes: number,
  ): Promise<FetchedManifest> {
    const context = this.#context(ref, reference);
    const res = await this.#transport.request({
      ...this.#base(ref, options),
      reference,
      method: 'GET',
      path: `/v2/${toWireRepository(ref)}/manifests/${reference}`,
      accept: MANIFEST_ACCEPT,
      maxBytes,
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

  /**
   * Reads the referrers API's pages after the first, until there are no more, or the cap or budget is reached.
   * A later page is read as an index whatever its Content-Type says: only the first answer tells whether the
   * registry has the API at all.
   */
  async #readReferrerPages(
    ref: ImageRef,
    options: CallOptions,
    reader: ReferrersReader,
    first: RegistryResponse,
    firstPath: string,
    context: OciErrorContext,
  ): Promise<void> {
    const seen = new Set([firstPath]);
    const maxPages = options.maxPages ?? Number.POSITIVE_INFINITY;
    let res = first;
    for (;;) {
      const entries = reader.addPage(res.body, res.headers.get('content-type') ?? undefined, context);
      if (entries === 0 || reader.truncated) return;
      const next = nextPagePath(res.headers.get('link'), toRegistryHost(ref));
      // An empty page, no next link, or one already followed (a loop, or a page pointing at itself) ends the list.
      if (next === undefined || seen.has(next)) return;
      if (reader.full || reader.remainingBytes <= 0 || seen.size >= maxPages) {
        reader.cutShort();
        return;
      }
      seen.add(next);
      const limit = Math.min(reader.remainingBytes, this.limits.manifestBytes);
      try {
        res = await this.#transport.request({
          ...this.#base(ref, options),
          ...(context.reference ? { reference: context.reference } : {}),
          method: 'GET',
          path: next,
          accept: MEDIA_TYPE_OCI_INDEX,
          maxBytes: limit,
        });
      } catch (e) {
        // A later page beyond the budget ends the list rather than failing it: what was read stands.
        if (e instanceof OciError && e.code === 'TOO_LARGE') {
          reader.charge(limit);
          reader.cutShort();
          return;
        }
        throw e;
      }
      reader.charge(res.body.byteLength);
    }
  }

  /** The most bytes a call may read: the caller's budget, never above the client's limit; nonsense reads as 0. */
  #budget(options: CallOptions, limit: number): number {
    const asked = options.maxBytes;
    if (asked === undefined) return limit;
    if (typeof asked !== 'number' || Number.isNaN(asked)) return 0;
    return Math.max(0, Math.floor(Math.min(asked, limit)));
  }

  #base(
    ref: ImageRef,
    options: CallOptions,
  ): Pick<RegistryRequest, 'registry' | 'host' | 'repository' | 'signal' | 'credentials' | 'onRequest' | 'insecure'> & {
    reference?: string;
  } {
    const credentials = options.credentials ?? this.#credentials;
    return {
      registry: ref.registry,
      host: toRegistryHost(ref),
      repository: toWireRepository(ref),
      ...(options.signal ? { signal: options.signal } : {}),
      ...(credentials ? { credentials } : {}),
      ...(options.onRequest ? { onRequest: options.onRequest } : {}),
      ...(options.insecure === true || this.#allowInsecure ? { insecure: true } : {}),
    };
  }

  #context(ref: ImageRef, reference?: string): OciErrorContext {
    return { registry: ref.registry, repository: toWireRepository(ref), ...(reference ? { reference } : {}) };
  }

  /**
   * The one place where pkg/oci's exceptions become values. An exception that is not an OciError is a bug or a
   * registry answer we failed to anticipate; either way a value, never a throw: the webhook would turn a throw into
   * an HTTP 500, which a failurePolicy of Ignore turns into an admitted Pod.
   */
  async #run<T>(context: OciErrorContext, operation: () => Promise<T>): Promise<Result<T, OciFailure>> {
    try {
      return ok(await operation());
    } catch (e) {
      if (e instanceof OciError) return err(e.toFailure());
      return err(
        new OciError('BAD_RESPONSE', "unexpected error reading the registry's answer", context, {
          detail: describeException(e),
        }).toFailure(),
      );
    }
  }
}

/**
 * Collects referrers across pages and fallbacks: at most `max` descriptors (the rest of a page is not even
 * parsed) and `maxBytes` bytes.
 */
class ReferrersReader {
  readonly descriptors: Descriptor[] = [];
  bytesRead = 0;
  truncated = false;
  readonly #max: number;
  readonly #maxBytes: number;

  constructor(max: number, maxBytes: number) {
    this.#max = max;
    this.#maxBytes = maxBytes;
  }

  get remainingBytes(): number {
    return Math.max(0, this.#maxBytes - this.bytesRead);
  }

  get full(): boolean {
    return this.descriptors.length >= this.#max;
  }

  charge(bytes: number): void {
    this.bytesRead += bytes;
  }

  cutShort(): void {
    this.truncated = true;
  }

  /** Adds a page's descriptors; returns how many entries the page had. */
  addPage(body: Uint8Array, contentType: string | undefined, context: OciErrorContext): number {
    const keep = this.#max - this.descriptors.length;
    const parsed = parseIndexPrefix(body, contentType, keep);
    if (!parsed.ok) throw new OciError('BAD_RESPONSE', `referrers: ${parsed.error}`, context);
    this.descriptors.push(...parsed.value.index.manifests);
    if (parsed.value.entries > keep) this.truncated = true;
    return parsed.value.entries;
  }
}

/** The fields that are set: `{ maxEntries: undefined }` must not undo a default. */
function withoutUndefined<T extends object>(partial: T): Partial<T> {
  return Object.fromEntries(Object.entries(partial).filter(([, v]) => v !== undefined)) as Partial<T>;
}

function parseJson(body: Uint8Array, context: OciErrorContext): unknown {
  try {
    return JSON.parse(Buffer.from(body).toString('utf8'));
  } catch {
    throw new OciError('BAD_RESPONSE', 'response is not valid JSON', context);
  }
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function isStringArray(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((t) => typeof t === 'string');
}

/** An exception's name and message, for OciFailure.detail; never its stack, and never throwing itself. */
function describeException(e: unknown): string {
  try {
    if (e instanceof Error) return `${e.name}: ${e.message}`;
    return `non-error exception: ${typeof e}`;
  } catch {
    return 'an exception that cannot be described';
  }
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
