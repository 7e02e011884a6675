// HTTP for the OCI distribution API (https://github.com/opencontainers/distribution-spec/blob/main/spec.md), hardened
// for registries we do not trust: bounded bodies, manual redirects that never carry credentials to another host,
// per-attempt timeouts under the caller's deadline, retries on 429/5xx that honour Retry-After, a concurrency limit
// per registry, and identical concurrent reads coalesced into one request.
//
// Auth follows the Docker token flow (https://distribution.github.io/distribution/spec/auth/token/): a 401 carries
// a WWW-Authenticate challenge; Bearer challenges are answered with a token from the realm, scoped to the
// repository and cached per registry and scope until it expires; Basic challenges with the configured credentials.
import type { RegistryCredentials } from './docker-config.js';
import { OciError, fromRegistryErrorCode, type OciErrorContext } from './errors.js';
import { parseWwwAuthenticate, type AuthChallenge } from './www-authenticate.js';

/** The subset of fetch the transport uses; undici's fetch by default, a fake in tests. */
export type FetchLike = (
  url: string,
  init: { method: string; headers: Record<string, string>; body?: Uint8Array; redirect: 'manual'; signal: AbortSignal },
) => Promise<{
  status: number;
  headers: { get(name: string): string | null };
  body: AsyncIterable<Uint8Array> | null;
}>;

export interface TransportOptions {
  readonly fetch: FetchLike;
  /** Credentials for a registry (normalised name, e.g. docker.io or 127.0.0.1:5000). */
  readonly credentials: (registry: string) => RegistryCredentials | undefined;
  /** Registries (normalised names or hosts) spoken to over plain HTTP; every other one needs HTTPS. */
  readonly insecureRegistries: ReadonlySet<string>;
  readonly requestTimeoutMs: number;
  readonly maxRetries: number;
  readonly maxRedirects: number;
  readonly concurrencyPerRegistry: number;
  /** Longest Retry-After the transport will wait; longer ones fail with TOO_MANY_REQUESTS at once. */
  readonly maxRetryAfterMs: number;
  readonly now: () => number;
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly userAgent: string;
}

export interface RegistryRequest {
  /** Normalised registry name, for credentials, insecure checks and messages (docker.io). */
  readonly registry: string;
  /** Host to connect to (index.docker.io for docker.io). */
  readonly host: string;
  /** Repository as sent on the wire; absent for registry-level calls such as the /v2/ ping. */
  readonly repository?: string;
  /** Tag or digest, for messages. */
  readonly reference?: string;
  readonly method: 'GET' | 'HEAD' | 'PUT' | 'POST' | 'PATCH';
  /** Path and query, starting with /v2/, or an absolute URL the registry handed us (upload locations). */
  readonly path: string;
  readonly accept?: string;
  readonly body?: Uint8Array;
  readonly contentType?: string;
  /** Largest body read; more is TOO_LARGE. */
  readonly maxBytes: number;
  readonly push?: boolean;
  /** Statuses returned to the caller instead of being turned into errors. */
  readonly passStatuses?: readonly number[];
  /** The caller's overall deadline. */
  readonly signal?: AbortSignal;
}

export interface RegistryResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly body: Uint8Array;
  /** The URL that answered, after redirects. */
  readonly url: string;
}

interface CachedAuth {
  readonly header: string;
  readonly expiresAt: number;
}

const TOKEN_BODY_LIMIT = 1024 * 1024;
const ERROR_BODY_LIMIT = 64 * 1024;
/** Tokens without expires_in live 60 s (Docker token spec); we renew 10 s early. */
const DEFAULT_TOKEN_SECONDS = 60;
const TOKEN_MARGIN_MS = 10_000;

export class RegistryTransport {
  readonly #options: TransportOptions;
  readonly #auth = new Map<string, CachedAuth>();
  /** How each host asked to be authenticated, learnt from its first 401. */
  readonly #challenges = new Map<string, AuthChallenge>();
  readonly #slots = new Map<string, Semaphore>();
  readonly #inflight = new Map<string, Promise<RegistryResponse>>();

  constructor(options: TransportOptions) {
    this.#options = options;
  }

  /** Sends a request; identical concurrent GET/HEAD requests share one round trip. */
  request(req: RegistryRequest): Promise<RegistryResponse> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return this.#send(req);
    const key = `${req.method} ${req.host} ${req.path} ${req.accept ?? ''} ${req.maxBytes} ${(req.passStatuses ?? []).join(',')}`;
    const pending = this.#inflight.get(key);
    if (pending) return pending;
    const promise = this.#send(req).finally(() => this.#inflight.delete(key));
    this.#inflight.set(key, promise);
    return promise;
  }

  async #send(req: RegistryRequest): Promise<RegistryResponse> {
    const slots = this.#semaphore(req.host);
    const context = contextOf(req);
    const release = await slots.acquire(req.signal).catch((e: unknown) => {
      throw this.#abortError(e, req, context);
    });
    try {
      return await this.#withRetries(req, context);
    } finally {
      release();
    }
  }

  async #withRetries(req: RegistryRequest, context: OciErrorContext): Promise<RegistryResponse> {
    let authRetried = false;
    for (let attempt = 0; ; attempt++) {
      const res = await this.#attempt(req, context);
      if (res.status === 401 && !authRetried && !req.passStatuses?.includes(401)) {
        authRetried = true;
        const challenge = parseWwwAuthenticate(res.headers.get('www-authenticate') ?? '');
        if (challenge.ok) {
          this.#challenges.set(req.host, challenge.value);
          this.#auth.delete(authKey(req));
          await this.#authenticate(req, challenge.value, context);
          continue;
        }
      }
      if ((res.status === 429 || res.status >= 500) && !req.passStatuses?.includes(res.status)) {
        if (attempt < this.#options.maxRetries) {
          const wait = this.#retryDelay(res, attempt);
          if (wait !== undefined) {
            await this.#options.sleep(wait, req.signal ?? new AbortController().signal).catch((e: unknown) => {
              throw this.#abortError(e, req, context);
            });
            continue;
          }
        }
      }
      if (res.status >= 200 && res.status < 300) return res;
      if (req.passStatuses?.includes(res.status)) return res;
      throw registryError(res, context);
    }
  }

  /** One request, following redirects by hand. */
  async #attempt(req: RegistryRequest, context: OciErrorContext): Promise<RegistryResponse> {
    const origin = `${this.#scheme(req)}://${req.host}`;
    let url = req.path.startsWith('/') ? `${origin}${req.path}` : req.path;
    if (!url.startsWith(`${origin}/`)) {
      // A location the registry gave us (uploads) must stay on the registry.
      throw new OciError('BAD_RESPONSE', `registry sent us to another host: ${describeUrl(url)}`, context);
    }
    let sendAuth = true;
    for (let hop = 0; ; hop++) {
      const headers: Record<string, string> = { 'user-agent': this.#options.userAgent };
      if (req.accept) headers['accept'] = req.accept;
      if (req.contentType) headers['content-type'] = req.contentType;
      if (sendAuth) {
        const auth = this.#cachedAuth(req);
        if (auth) headers['authorization'] = auth;
      }
      const signal = this.#signal(req);
      let res: Awaited<ReturnType<FetchLike>>;
      try {
        res = await this.#options.fetch(url, {
          method: req.method,
          headers,
          ...(req.body ? { body: req.body } : {}),
          redirect: 'manual',
          signal,
        });
      } catch (e) {
        throw this.#fetchError(e, req, context, signal);
      }
      if (res.status >= 300 && res.status < 400 && res.status !== 304) {
        const location = res.headers.get('location');
        await cancel(res.body);
        if (!location)
          throw new OciError('BAD_RESPONSE', 'redirect without a Location header', { ...context, status: res.status });
        if (hop >= this.#options.maxRedirects) {
          throw new OciError('BAD_RESPONSE', `more than ${this.#options.maxRedirects} redirects`, {
            ...context,
            status: res.status,
          });
        }
        let next: URL;
        try {
          next = new URL(location, url);
        } catch {
          throw new OciError('BAD_RESPONSE', 'redirect to an invalid URL', { ...context, status: res.status });
        }
        if (next.protocol !== 'https:' && !(next.protocol === 'http:' && this.#isInsecure(req))) {
          throw new OciError('BAD_RESPONSE', `redirect to a non-HTTPS URL: ${describeUrl(next.href)}`, {
            ...context,
            status: res.status,
          });
        }
        // Credentials are for the registry only: a hop to any other origin (a CDN for blobs, or worse) goes without.
        if (next.origin !== origin) sendAuth = false;
        url = next.href;
        continue;
      }
      const limit = res.status >= 400 ? Math.min(req.maxBytes, ERROR_BODY_LIMIT) : req.maxBytes;
      const body =
        req.method === 'HEAD'
          ? new Uint8Array(0)
          : await readBounded(res, limit, context, (e) => this.#fetchError(e, req, context, signal));
      return { status: res.status, headers: res.headers, body, url };
    }
  }

  async #authenticate(req: RegistryRequest, challenge: AuthChallenge, context: OciErrorContext): Promise<void> {
    const creds = this.#options.credentials(req.registry);
    if (challenge.scheme === 'basic') {
      if (!creds?.username || creds.password === undefined) {
        throw new OciError('UNAUTHORIZED', 'the registry asks for a username and password, and none is configured', {
          ...context,
          status: 401,
        });
      }
      this.#auth.set(authKey(req), {
        header: `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`,
        expiresAt: Number.POSITIVE_INFINITY,
      });
      return;
    }
    const realm = new URL(challenge.realm);
    if (realm.protocol === 'http:' && !this.#isInsecure(req)) {
      throw new OciError('BAD_RESPONSE', `token realm ${describeUrl(realm.href)} is not HTTPS`, context);
    }
    if (challenge.service) realm.searchParams.set('service', challenge.service);
    const scope = req.repository ? `repository:${req.repository}:${req.push ? 'pull,push' : 'pull'}` : undefined;
    if (scope) realm.searchParams.set('scope', scope);
    const headers: Record<string, string> = { 'user-agent': this.#options.userAgent, accept: 'application/json' };
    if (creds?.registryToken) {
      this.#auth.set(authKey(req), { header: `Bearer ${creds.registryToken}`, expiresAt: Number.POSITIVE_INFINITY });
      return;
    }
    let init: { method: 'GET' | 'POST'; body?: Uint8Array };
    if (creds?.identityToken) {
      // An identity (refresh) token is exchanged with the OAuth2 form POST of the token spec
      // (https://distribution.github.io/distribution/spec/auth/oauth/), as docker does for `docker login` tokens.
      const form = new URLSearchParams({
        grant_type: 'refresh_token',
        refresh_token: creds.identityToken,
        client_id: 'imprimatur',
      });
      if (challenge.service) form.set('service', challenge.service);
      if (scope) form.set('scope', scope);
      realm.search = '';
      headers['content-type'] = 'application/x-www-form-urlencoded';
      init = { method: 'POST', body: Buffer.from(form.toString()) };
    } else {
      if (creds?.username && creds.password !== undefined) {
        headers['authorization'] = `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
      }
      init = { method: 'GET' };
    }
    const signal = this.#signal(req);
    const tokenContext = { ...context, reference: undefined };
    let res: Awaited<ReturnType<FetchLike>>;
    try {
      res = await this.#options.fetch(realm.href, { ...init, headers, redirect: 'manual', signal });
    } catch (e) {
      throw this.#fetchError(e, req, tokenContext, signal);
    }
    const body = await readBounded(res, TOKEN_BODY_LIMIT, tokenContext, (e) =>
      this.#fetchError(e, req, tokenContext, signal),
    );
    if (res.status === 401 || res.status === 403) {
      throw new OciError(
        res.status === 401 ? 'UNAUTHORIZED' : 'DENIED',
        `the token service at ${realm.host} refused the credentials`,
        {
          ...tokenContext,
          status: res.status,
        },
      );
    }
    if (res.status !== 200) {
      throw new OciError('BAD_RESPONSE', `the token service at ${realm.host} answered ${res.status}`, {
        ...tokenContext,
        status: res.status,
      });
    }
    let json: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      json = JSON.parse(Buffer.from(body).toString('utf8')) as typeof json;
    } catch {
      throw new OciError('BAD_RESPONSE', `the token service at ${realm.host} sent invalid JSON`, tokenContext);
    }
    const token = typeof json.token === 'string' && json.token ? json.token : json.access_token;
    if (typeof token !== 'string' || token === '') {
      throw new OciError('BAD_RESPONSE', `the token service at ${realm.host} sent no token`, tokenContext);
    }
    const seconds =
      typeof json.expires_in === 'number' && json.expires_in > 0 ? json.expires_in : DEFAULT_TOKEN_SECONDS;
    this.#auth.set(authKey(req), {
      header: `Bearer ${token}`,
      expiresAt: this.#options.now() + Math.max(seconds * 1000 - TOKEN_MARGIN_MS, 1000),
    });
  }

  #cachedAuth(req: RegistryRequest): string | undefined {
    const key = authKey(req);
    const cached = this.#auth.get(key);
    if (cached && cached.expiresAt > this.#options.now()) return cached.header;
    if (cached) this.#auth.delete(key);
    // A host that wants Basic auth gets it on the first request: no need to be told again per repository.
    const challenge = this.#challenges.get(req.host);
    const creds = challenge?.scheme === 'basic' ? this.#options.credentials(req.registry) : undefined;
    if (creds?.username && creds.password !== undefined) {
      return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
    }
    return undefined;
  }

  #retryDelay(res: RegistryResponse, attempt: number): number | undefined {
    const header = res.headers.get('retry-after');
    if (header) {
      const seconds = Number(header);
      const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(header) - this.#options.now();
      if (Number.isFinite(ms)) return ms > this.#options.maxRetryAfterMs ? undefined : Math.max(0, ms);
    }
    // Exponential backoff with full jitter: 100 ms, 200 ms, 400 ms, ...
    return Math.round(Math.random() * 100 * 2 ** attempt) + 50;
  }

  #signal(req: RegistryRequest): AbortSignal {
    const timeout = AbortSignal.timeout(this.#options.requestTimeoutMs);
    return req.signal ? AbortSignal.any([req.signal, timeout]) : timeout;
  }

  #fetchError(e: unknown, req: RegistryRequest, context: OciErrorContext, signal: AbortSignal): OciError {
    if (e instanceof OciError) return e;
    if (
      signal.aborted ||
      (e as { name?: string }).name === 'AbortError' ||
      (e as { name?: string }).name === 'TimeoutError'
    ) {
      return this.#abortError(e, req, context);
    }
    const cause = (e as { cause?: { code?: string; message?: string } }).cause;
    const detail = cause?.code ?? cause?.message ?? (e as Error).message;
    return new OciError('NETWORK', `cannot reach the registry: ${detail}`, context, { cause: e });
  }

  #abortError(e: unknown, req: RegistryRequest, context: OciErrorContext): OciError {
    if (e instanceof OciError) return e;
    const byCaller = req.signal?.aborted ?? false;
    return new OciError(
      'TIMEOUT',
      byCaller
        ? 'the deadline passed before the registry answered'
        : `no answer within ${this.#options.requestTimeoutMs} ms`,
      context,
      { cause: e },
    );
  }

  #scheme(req: RegistryRequest): 'http' | 'https' {
    return this.#isInsecure(req) ? 'http' : 'https';
  }

  #isInsecure(req: RegistryRequest): boolean {
    return this.#options.insecureRegistries.has(req.registry) || this.#options.insecureRegistries.has(req.host);
  }

  #semaphore(host: string): Semaphore {
    let s = this.#slots.get(host);
    if (!s) {
      s = new Semaphore(this.#options.concurrencyPerRegistry);
      this.#slots.set(host, s);
    }
    return s;
  }
}

function authKey(req: RegistryRequest): string {
  return `${req.host} ${req.repository ?? ''} ${req.push ? 'push' : 'pull'}`;
}

function contextOf(req: RegistryRequest): OciErrorContext {
  return {
    registry: req.registry,
    ...(req.repository ? { repository: req.repository } : {}),
    ...(req.reference ? { reference: req.reference } : {}),
  };
}

/** Reads at most `limit` bytes; a declared or actual length beyond it is TOO_LARGE, and the stream is dropped. */
async function readBounded(
  res: Awaited<ReturnType<FetchLike>>,
  limit: number,
  context: OciErrorContext,
  onError: (e: unknown) => OciError,
): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length') ?? NaN);
  const tooLarge = () =>
    new OciError('TOO_LARGE', `response body exceeds the limit of ${limit} bytes`, { ...context, status: res.status });
  if (declared > limit) {
    await cancel(res.body);
    throw tooLarge();
  }
  if (!res.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const iterator = res.body[Symbol.asyncIterator]();
  try {
    for (;;) {
      const { done, value } = await iterator.next();
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        await iterator.return?.();
        throw tooLarge();
      }
      chunks.push(value);
    }
  } catch (e) {
    throw e instanceof OciError ? e : onError(e);
  }
  return Buffer.concat(chunks, size);
}

async function cancel(body: AsyncIterable<Uint8Array> | null): Promise<void> {
  if (!body) return;
  const cancellable = body as { cancel?: () => Promise<void> };
  try {
    if (typeof cancellable.cancel === 'function') await cancellable.cancel();
    else await body[Symbol.asyncIterator]().return?.();
  } catch {
    // The body is being thrown away; a failure to close it changes nothing.
  }
}

function registryError(res: RegistryResponse, context: OciErrorContext): OciError {
  let code: string | undefined;
  let detail: string | undefined;
  try {
    const json = JSON.parse(Buffer.from(res.body).toString('utf8')) as {
      errors?: { code?: unknown; message?: unknown }[];
    };
    const first = json.errors?.[0];
    if (typeof first?.code === 'string') code = first.code;
    if (typeof first?.message === 'string') detail = first.message.slice(0, 200);
  } catch {
    // Not a distribution error body; the status says enough.
  }
  const ours = fromRegistryErrorCode(code, res.status);
  const fallback: Record<string, string> = {
    MANIFEST_UNKNOWN: 'manifest unknown',
    NAME_UNKNOWN: 'repository unknown',
    BLOB_UNKNOWN: 'blob unknown',
    UNAUTHORIZED: 'authentication required',
    DENIED: 'access denied',
    TOO_MANY_REQUESTS: 'too many requests',
    TOO_LARGE: 'too large',
    BAD_RESPONSE: 'unexpected response',
  };
  return new OciError(ours, detail ?? fallback[ours] ?? 'unexpected response', { ...context, status: res.status });
}

/** A URL for messages: origin and path, never query strings or user info (they can hold tokens). */
function describeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.host}${u.pathname}`;
  } catch {
    return '<invalid URL>';
  }
}

class Semaphore {
  #free: number;
  readonly #waiting: (() => void)[] = [];

  constructor(size: number) {
    this.#free = size;
  }

  acquire(signal?: AbortSignal): Promise<() => void> {
    const release = () => {
      const next = this.#waiting.shift();
      if (next) next();
      else this.#free++;
    };
    if (this.#free > 0) {
      this.#free--;
      return Promise.resolve(release);
    }
    return new Promise((resolve, reject) => {
      const grant = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve(release);
      };
      const onAbort = () => {
        const i = this.#waiting.indexOf(grant);
        if (i >= 0) this.#waiting.splice(i, 1);
        reject(signal?.reason ?? new Error('aborted'));
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.#waiting.push(grant);
    });
  }
}
