// HTTP for the OCI distribution API (https://github.com/opencontainers/distribution-spec/blob/main/spec.md), hardened
// for registries we do not trust: bounded bodies (bounded-body.ts), manual redirects that never carry credentials to
// another origin, token realms and redirect targets held to the address policy (address-policy.ts), per-attempt
// timeouts under the caller's deadline, retries on 429/5xx that honour Retry-After, a concurrency limit per registry
// (semaphore.ts), and identical concurrent reads coalesced into one round trip (coalescer.ts) in which every caller
// keeps its own deadline.
//
// Auth follows the Docker token flow (https://distribution.github.io/distribution/spec/auth/token/): a 401 from the
// registry's own origin carries a WWW-Authenticate challenge; Bearer challenges are answered with a token from the
// realm, scoped to the repository; Basic challenges with the credentials. Credentials come with each request (a
// Pod's pull secrets), so what is remembered (auth-cache.ts) and what is shared between concurrent callers is keyed
// by a fingerprint of them: two callers with different credentials never share a token or an answer. A 401 from
// any other origin (a redirect's target) is never answered, and nothing is learnt from it.
//
// An insecure request (Kyverno's allowInsecureRegistry, go-containerregistry's name.Insecure) speaks HTTPS without
// checking the certificate and, when HTTPS cannot be spoken at all (the handshake fails, the server speaks plain
// HTTP), plain HTTP; the scheme that worked is remembered per host for a while. Whatever an insecure request
// obtains (its connections, its answer to concurrent callers, its tokens, the challenges it learns) may come from
// whoever sits on the path, so none of it is ever shared with a request that is not insecure.
import {
  allowedTargets,
  kindsOfHost,
  nonPublicKinds,
  refusedLiteral,
  type AllowedAddresses,
  type ResolveHost,
} from './address-policy.js';
import type { AddressKind } from './address-kind.js';
import { AuthCache, credentialFingerprint, type AuthKey, type CachedAuth } from './auth-cache.js';
import { BoundedMap } from './bounded-map.js';
import { discardBody, readBounded } from './bounded-body.js';
import { Coalescer } from './coalescer.js';
import type { DockerConfig, RegistryCredentials } from './docker-config.js';
import { registryError } from './error-body.js';
import { classifyAddress } from './address-kind.js';
import { OciError, type OciErrorContext } from './errors.js';
import type { FetchLike, FetchLikeResponse } from './fetch-like.js';
import { quoteText, sanitizeText } from '../text/index.js';
import { notifyObserver, type RequestObserver } from './request-observer.js';
import { Semaphore } from './semaphore.js';
import { isHeaderToken, parseTokenResponse } from './token-response.js';
import { parseWwwAuthenticate, type AuthChallenge } from './www-authenticate.js';

export type { FetchLike } from './fetch-like.js';

/** Where a request's credentials come from: one lookup per registry. */
export type CredentialSource = Pick<DockerConfig, 'lookup'>;

export interface TransportOptions {
  readonly fetch: FetchLike;
  /** DNS, for the kind of address a registry named by host name is on. */
  readonly resolveHost: ResolveHost;
  /** Registries (normalised names or hosts) spoken to over plain HTTP; every other one needs HTTPS. */
  readonly insecureRegistries: ReadonlySet<string>;
  /**
   * Registries on loopback (localhost, 127.0.0.0/8, ::1) are spoken to over plain HTTP, as go-containerregistry does
   * (and so Kyverno and cosign): nothing on the wire to protect.
   */
  readonly plainHttpForLoopback?: boolean;
  readonly requestTimeoutMs: number;
  readonly maxRetries: number;
  readonly maxRedirects: number;
  readonly concurrencyPerRegistry: number;
  /** Longest Retry-After the transport will wait; longer ones fail with TOO_MANY_REQUESTS at once. */
  readonly maxRetryAfterMs: number;
  readonly now: () => number;
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  readonly userAgent: string;
  /** Told of every HTTP request sent, with its status and duration (metrics). */
  readonly observeRequest?: RequestObserver;
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
  /** The only source of credentials for this request; none means anonymous. */
  readonly credentials?: CredentialSource;
  /** Called once per HTTP request sent for this caller: token fetches, redirects and retries included. */
  readonly onRequest?: () => void;
  /**
   * HTTPS without certificate checks, falling back to plain HTTP when HTTPS cannot be spoken; plain HTTP is also
   * accepted for token realms and redirects. Overrides plainHttpForLoopback; a registry in insecureRegistries is
   * spoken to over plain HTTP all the same.
   */
  readonly insecure?: boolean;
}

export interface RegistryResponse {
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  readonly body: Uint8Array;
  /** The URL that answered, after redirects. */
  readonly url: string;
}

/** One round trip on behalf of one or more callers with the same credentials. */
interface Exchange {
  readonly req: RegistryRequest;
  readonly insecure: boolean;
  readonly credentials: RegistryCredentials | undefined;
  readonly authKey: AuthKey;
  readonly context: OciErrorContext;
  /** The registry's origin, e.g. https://ghcr.io: the only one that ever sees credentials or tokens. */
  readonly origin: string;
  /** Whether the registry has answered at all, over the origin's scheme: then that scheme is the one it speaks. */
  answered?: boolean;
  /** The deadline of the callers: aborts when every one of them has given up. */
  readonly signal: AbortSignal | undefined;
  /** Reports a request sent. */
  readonly sent: () => void;
  /** The kinds of address the registry is on, resolved once, when a realm or redirect needs them. */
  registryKinds?: Promise<ReadonlySet<AddressKind>>;
}

type Scheme = 'http' | 'https';

/** What a failure to connect was trying to reach, for its message. */
type Target = 'registry' | 'redirect' | 'token service';

const TARGET_NAMES: Record<Target, string> = {
  registry: 'the registry',
  redirect: 'the server the registry redirected to',
  'token service': "the registry's token service",
};

const TOKEN_BODY_LIMIT = 1024 * 1024;
const ERROR_BODY_LIMIT = 64 * 1024;
/** Tokens are renewed this long before they expire. */
const TOKEN_MARGIN_MS = 10_000;
/** Registry hosts whose authentication scheme is remembered, least recently used forgotten first. */
const MAX_REMEMBERED_HOSTS = 1024;
/**
 * How long the scheme an insecure registry answered on is used without trying HTTPS first again: long enough that
 * admissions do not each pay a failed handshake, short enough that a registry that gains TLS is soon spoken to in it.
 */
export const INSECURE_SCHEME_TTL_MS = 5 * 60_000;

export class RegistryTransport {
  readonly #options: TransportOptions;
  readonly #auth: AuthCache;
  /** How each host asked to be authenticated, learnt from its first 401 on its own origin. */
  readonly #challenges = new BoundedMap<string, AuthChallenge>(MAX_REMEMBERED_HOSTS);
  /** The scheme each host answered insecure requests on, and until when it is used without trying the other. */
  readonly #insecureSchemes = new BoundedMap<string, { scheme: Scheme; until: number }>(MAX_REMEMBERED_HOSTS);
  readonly #slots = new Map<string, Semaphore>();
  readonly #coalescer = new Coalescer<RegistryResponse>();

  constructor(options: TransportOptions) {
    this.#options = options;
    this.#auth = new AuthCache(options.now);
  }

  /**
   * Sends a request. Identical concurrent GET/HEAD requests with the same credentials share one round trip; each
   * caller still stops waiting at its own deadline.
   */
  async request(req: RegistryRequest): Promise<RegistryResponse> {
    const insecure = req.insecure === true;
    const credentials = req.credentials?.lookup(req.registry);
    const fingerprint = credentialFingerprint(credentials);
    const authKey: AuthKey = { host: req.host, repository: req.repository, push: req.push, fingerprint, insecure };
    const context = contextOf(req);
    const exchange = (signal: AbortSignal | undefined, sent: () => void): Omit<Exchange, 'origin'> => ({
      req,
      insecure,
      credentials,
      authKey,
      context,
      signal,
      sent,
    });
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return this.#send(exchange(req.signal, () => notify(req.onRequest)));
    }
    const key = JSON.stringify([
      req.method,
      req.registry,
      req.host,
      req.path,
      req.accept ?? '',
      req.maxBytes,
      req.passStatuses ?? [],
      req.push ?? false,
      fingerprint,
      insecure,
    ]);
    return this.#coalescer.join(
      key,
      { ...(req.signal ? { signal: req.signal } : {}), ...(req.onRequest ? { onRequest: req.onRequest } : {}) },
      (signal, sent) => this.#send(exchange(signal, sent)),
      () => new OciError('TIMEOUT', 'the deadline passed before the registry answered', context),
    );
  }

  async #send(ex: Omit<Exchange, 'origin'>): Promise<RegistryResponse> {
    const host = ex.req.host;
    const slots = this.#semaphore(host);
    const release = await slots.acquire(ex.signal).catch((e: unknown) => {
      throw this.#abortError(e, ex, ex.context);
    });
    try {
      return await this.#overSchemes(ex);
    } finally {
      release();
      if (slots.idle && this.#slots.get(host) === slots) this.#slots.delete(host);
    }
  }

  /**
   * The exchange in the scheme the registry is spoken to in; for an insecure request, in the scheme it last
   * answered on (HTTPS when none is known), then in the other when the first could not even be connected over.
   * Only a failure before the registry answered anything moves on: once it has answered, it speaks that scheme,
   * and an error after that is the registry's.
   */
  async #overSchemes(base: Omit<Exchange, 'origin'>): Promise<RegistryResponse> {
    const { req } = base;
    const schemes = this.#schemes(req);
    let first: { scheme: Scheme; error: unknown } | undefined;
    for (const [i, scheme] of schemes.entries()) {
      const ex: Exchange = { ...base, origin: originOf(scheme, req.host) };
      try {
        return await this.#withRetries(ex);
      } catch (e) {
        if (ex.answered || !isConnectFailure(e, ex)) throw e;
        if (schemes.length > 1) this.#insecureSchemes.delete(req.host);
        if (i === schemes.length - 1) throw first ? withFallbackDetail(first, { scheme, error: e }) : e;
        first = { scheme, error: e };
      } finally {
        // Any answer, an error status included (a missing .sig tag is a 404), says which scheme the registry speaks.
        // Learnt when it was not known: using it does not make it last longer, so HTTPS is tried again in time.
        if (schemes.length > 1 && ex.answered && this.#insecureSchemes.get(req.host)?.scheme !== scheme) {
          this.#insecureSchemes.set(req.host, { scheme, until: this.#options.now() + INSECURE_SCHEME_TTL_MS });
        }
      }
    }
    // schemes is never empty.
    throw new OciError('BAD_RESPONSE', 'no scheme to speak to the registry in', base.context);
  }

  async #withRetries(ex: Exchange): Promise<RegistryResponse> {
    const { req, context } = ex;
    let authRetried = false;
    for (let attempt = 0; ; attempt++) {
      const res = await this.#attempt(ex);
      if (res.status === 401 && !authRetried && !req.passStatuses?.includes(401)) {
        if (URL.parse(res.url)?.origin !== ex.origin) {
          // The registry's credentials and tokens are for the registry: a server it redirected us to gets neither,
          // and its challenge teaches us nothing about the registry.
          throw new OciError(
            'UNAUTHORIZED',
            'the server the registry redirected to asks for authentication; credentials are only sent to the registry',
            { ...context, status: 401 },
            { detail: `401 from ${describeUrl(res.url)}` },
          );
        }
        authRetried = true;
        const challenge = parseWwwAuthenticate(res.headers.get('www-authenticate') ?? '');
        if (!challenge.ok) throw registryError(res.status, res.body, context, `WWW-Authenticate: ${challenge.error}`);
        this.#challenges.set(challengeKey(ex), challenge.value);
        this.#auth.delete(ex.authKey);
        await this.#authenticate(ex, challenge.value);
        continue;
      }
      if ((res.status === 429 || res.status >= 500) && !req.passStatuses?.includes(res.status)) {
        if (attempt < this.#options.maxRetries) {
          const wait = this.#retryDelay(res, attempt);
          if (wait !== undefined) {
            await this.#options.sleep(wait, ex.signal ?? new AbortController().signal).catch((e: unknown) => {
              throw this.#abortError(e, ex, context);
            });
            continue;
          }
        }
      }
      if (res.status >= 200 && res.status < 300) return res;
      if (req.passStatuses?.includes(res.status)) return res;
      throw registryError(res.status, res.body, context);
    }
  }

  /** One request, following redirects by hand. */
  async #attempt(ex: Exchange): Promise<RegistryResponse> {
    const { req, context } = ex;
    let url = URL.parse(req.path.startsWith('/') ? `${ex.origin}${req.path}` : req.path);
    if (url === null || url.origin !== ex.origin) {
      // A location the registry gave us (uploads) must stay on the registry.
      throw new OciError('BAD_RESPONSE', 'the registry sent us to another host', context, {
        detail: `location ${describeUrl(req.path)}`,
      });
    }
    let sendAuth = true;
    for (let hop = 0; ; hop++) {
      const atRegistry = url.origin === ex.origin;
      const headers: Record<string, string> = { 'user-agent': this.#options.userAgent };
      if (req.accept) headers['accept'] = req.accept;
      if (req.contentType) headers['content-type'] = req.contentType;
      let allowed: AllowedAddresses | undefined;
      if (sendAuth && atRegistry) {
        const auth = this.#cachedAuth(ex);
        if (auth) {
          headers['authorization'] = auth.header;
          allowed = auth.pin;
        }
      }
      if (!atRegistry) allowed = await this.#targetPolicy(ex);
      const target: Target = atRegistry ? 'registry' : 'redirect';
      this.#refuseLiteral(url, allowed, target, context);
      // The request's own time limit, cleared once its answer is read: AbortSignal.timeout would keep the signal,
      // and with it fetch's request, alive for the whole limit (thousands of them under load).
      const deadline = this.#deadline(ex);
      const signal = deadline.signal;
      try {
        let res: FetchLikeResponse;
        const started = this.#options.now();
        try {
          ex.sent();
          res = await this.#options.fetch(url.href, {
            method: req.method,
            headers,
            ...(req.body ? { body: req.body } : {}),
            redirect: 'manual',
            signal,
            ...(allowed ? { allowedAddresses: allowed } : {}),
            ...(ex.insecure ? { insecureTls: true } : {}),
          });
        } catch (e) {
          this.#observe(url, req.method, undefined, started);
          throw this.#fetchError(e, ex, context, signal, target);
        }
        this.#observe(url, req.method, res.status, started);
        if (atRegistry) ex.answered = true;
        const status = res.status;
        if (status >= 300 && status < 400 && status !== 304) {
          const location = res.headers.get('location');
          await discardBody(res.body);
          if (!location)
            throw new OciError('BAD_RESPONSE', 'redirect without a Location header', { ...context, status });
          if (hop >= this.#options.maxRedirects) {
            throw new OciError('BAD_RESPONSE', `more than ${this.#options.maxRedirects} redirects`, {
              ...context,
              status,
            });
          }
          const next = URL.parse(location, url.href);
          if (next === null) throw new OciError('BAD_RESPONSE', 'redirect to an invalid URL', { ...context, status });
          if (next.protocol !== 'https:' && !(next.protocol === 'http:' && this.#mayUsePlainHttp(ex))) {
            throw new OciError(
              'BAD_RESPONSE',
              'redirect to a URL that is not HTTPS',
              { ...context, status },
              { detail: `redirect to ${describeUrl(next.href)}` },
            );
          }
          // Credentials are for the registry only: a hop to any other origin (a CDN for blobs, or worse) goes without,
          // and so does every hop after it.
          if (next.origin !== ex.origin) sendAuth = false;
          url = next;
          continue;
        }
        const limit = status >= 400 ? Math.min(req.maxBytes, ERROR_BODY_LIMIT) : req.maxBytes;
        const body =
          req.method === 'HEAD'
            ? new Uint8Array(0)
            : await readBounded(res, limit, context, (e) => this.#fetchError(e, ex, context, signal, target));
        return { status, headers: res.headers, body, url: url.href };
      } finally {
        deadline.done();
      }
    }
  }

  async #authenticate(ex: Exchange, challenge: AuthChallenge): Promise<void> {
    const { req, context, credentials: creds } = ex;
    if (challenge.scheme === 'basic') {
      const basic = basicHeader(creds);
      if (!basic) {
        throw new OciError('UNAUTHORIZED', 'the registry asks for a username and password, and none is configured', {
          ...context,
          status: 401,
        });
      }
      this.#auth.set(ex.authKey, { header: basic, expiresAt: Number.POSITIVE_INFINITY });
      return;
    }
    const tokenContext: OciErrorContext = { ...context, reference: undefined };
    const realm = URL.parse(challenge.realm);
    if (realm === null || (realm.protocol !== 'https:' && realm.protocol !== 'http:')) {
      throw new OciError('BAD_RESPONSE', 'the token realm is not an http(s) URL', tokenContext);
    }
    if (realm.protocol === 'http:' && !this.#mayUsePlainHttp(ex)) {
      throw new OciError('BAD_RESPONSE', 'the token realm is not HTTPS', tokenContext, {
        detail: `realm ${describeUrl(realm.href)}`,
      });
    }
    // User info in the realm would be sent along by some clients; we never send what the registry chose.
    realm.username = '';
    realm.password = '';
    if (creds?.registryToken) {
      if (!isHeaderToken(creds.registryToken)) {
        throw new OciError('UNAUTHORIZED', 'the configured registry token cannot be sent in a header', tokenContext);
      }
      this.#auth.set(ex.authKey, { header: `Bearer ${creds.registryToken}`, expiresAt: Number.POSITIVE_INFINITY });
      return;
    }
    const allowed = await this.#targetPolicy(ex);
    this.#refuseLiteral(realm, allowed, 'token service', tokenContext);
    if (challenge.service) realm.searchParams.set('service', challenge.service);
    const scope = req.repository ? `repository:${req.repository}:${req.push ? 'pull,push' : 'pull'}` : undefined;
    if (scope) realm.searchParams.set('scope', scope);
    const headers: Record<string, string> = { 'user-agent': this.#options.userAgent, accept: 'application/json' };
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
      const basic = basicHeader(creds);
      if (basic) headers['authorization'] = basic;
      init = { method: 'GET' };
    }
    const deadline = this.#deadline(ex);
    try {
      await this.#fetchToken(ex, realm, init, headers, allowed, tokenContext, deadline.signal);
    } finally {
      deadline.done();
    }
  }

  async #fetchToken(
    ex: Exchange,
    realm: URL,
    init: { method: 'GET' | 'POST'; body?: Uint8Array },
    headers: Record<string, string>,
    allowed: AllowedAddresses,
    tokenContext: OciErrorContext,
    signal: AbortSignal,
  ): Promise<void> {
    const creds = ex.credentials;
    let res: FetchLikeResponse;
    const started = this.#options.now();
    try {
      ex.sent();
      res = await this.#options.fetch(realm.href, {
        ...init,
        headers,
        redirect: 'manual',
        signal,
        allowedAddresses: allowed,
        ...(ex.insecure ? { insecureTls: true } : {}),
      });
    } catch (e) {
      this.#observe(realm, init.method, undefined, started);
      throw this.#fetchError(e, ex, tokenContext, signal, 'token service');
    }
    this.#observe(realm, init.method, res.status, started);
    const service = `the token service at ${quoteText(realm.hostname)}`;
    if (res.status !== 200) {
      await discardBody(res.body);
      if (res.status === 401 || res.status === 403) {
        throw new OciError(
          res.status === 401 ? 'UNAUTHORIZED' : 'DENIED',
          creds ? `${service} refused the credentials` : `${service} refused anonymous access`,
          { ...tokenContext, status: res.status },
        );
      }
      throw new OciError('BAD_RESPONSE', `${service} did not answer with a token`, {
        ...tokenContext,
        status: res.status,
      });
    }
    const body = await readBounded(res, TOKEN_BODY_LIMIT, tokenContext, (e) =>
      this.#fetchError(e, ex, tokenContext, signal, 'token service'),
    );
    const parsed = parseTokenResponse(body);
    if (!parsed.ok) throw new OciError('BAD_RESPONSE', `${service} sent ${parsed.error}`, tokenContext);
    const pin = nonPublicKinds(allowed);
    this.#auth.set(ex.authKey, {
      header: `Bearer ${parsed.value.token}`,
      expiresAt: this.#options.now() + Math.max(parsed.value.expiresInSeconds * 1000 - TOKEN_MARGIN_MS, 1000),
      ...(pin ? { pin } : {}),
    });
  }

  #cachedAuth(ex: Exchange): CachedAuth | undefined {
    const cached = this.#auth.get(ex.authKey);
    if (cached) return cached;
    // A host that wants Basic auth gets it on the first request: no need to be told again per repository.
    if (this.#challenges.get(challengeKey(ex))?.scheme !== 'basic') return undefined;
    const basic = basicHeader(ex.credentials);
    return basic ? { header: basic, expiresAt: Number.POSITIVE_INFINITY } : undefined;
  }

  /** Where the registry may send us (realms, redirects): public addresses, or its own kind (address-policy.ts). */
  async #targetPolicy(ex: Exchange): Promise<AllowedAddresses> {
    ex.registryKinds ??= kindsOfHost(ex.req.host, this.#options.resolveHost);
    return allowedTargets(await ex.registryKinds);
  }

  /**
   * Refuses an IP-literal host outside `allowed` before anything is sent (a literal skips DNS, where names are
   * checked). The message names the kind of address only: the registry chose it and learns nothing from it.
   */
  #refuseLiteral(url: URL, allowed: AllowedAddresses | undefined, target: Target, context: OciErrorContext): void {
    if (!allowed) return;
    const kind = refusedLiteral(url.hostname, allowed);
    if (kind === undefined) return;
    const what =
      target === 'token service'
        ? "refused the registry's token realm"
        : target === 'redirect'
          ? "refused to follow the registry's redirect"
          : 'refused to send the registry its token';
    throw new OciError(
      'BAD_RESPONSE',
      `${what}: it points to a ${kind} address, which only a registry on a ${kind} address may use`,
      context,
      { detail: `${describeUrl(url.href)} is ${kind}; allowed: ${[...allowed].join(', ')}` },
    );
  }

  #observe(url: URL, method: string, status: number | undefined, started: number): void {
    const observer = this.#options.observeRequest;
    if (!observer) return;
    const durationMs = Math.max(0, this.#options.now() - started);
    notifyObserver(observer, { host: url.host, method, ...(status === undefined ? {} : { status }), durationMs });
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

  /** The caller's signal and the request's time limit, as one signal; done() clears the timer. */
  #deadline(ex: Exchange): { signal: AbortSignal; done: () => void } {
    const timeout = new AbortController();
    const timer = setTimeout(
      () => timeout.abort(new DOMException('the request took too long', 'TimeoutError')),
      this.#options.requestTimeoutMs,
    );
    return {
      signal: ex.signal ? AbortSignal.any([ex.signal, timeout.signal]) : timeout.signal,
      done: () => clearTimeout(timer),
    };
  }

  #fetchError(e: unknown, ex: Exchange, context: OciErrorContext, signal: AbortSignal, target: Target): OciError {
    if (e instanceof OciError) return e;
    const name = (e as { name?: unknown } | null)?.name;
    if (signal.aborted || name === 'AbortError' || name === 'TimeoutError') return this.#abortError(e, ex, context);
    // The errno (ECONNREFUSED, ENOTFOUND), TLS alert or refused address stays in the detail: in the message it would
    // tell a Pod's creator which ports are open on which hosts. A host name whose addresses the policy refused
    // reads the same as one that does not resolve, so neither tells which internal names exist.
    return new OciError('NETWORK', `cannot reach ${TARGET_NAMES[target]}`, context, {
      cause: e,
      detail: networkDetail(e),
    });
  }

  #abortError(e: unknown, ex: Pick<Exchange, 'signal'>, context: OciErrorContext): OciError {
    if (e instanceof OciError) return e;
    const byCaller = ex.signal?.aborted ?? false;
    return new OciError(
      'TIMEOUT',
      byCaller
        ? 'the deadline passed before the registry answered'
        : `no answer within ${this.#options.requestTimeoutMs} ms`,
      context,
      { cause: e },
    );
  }

  /** The schemes to try, in order: one, or for an insecure request both, the one last answered on first. */
  #schemes(req: RegistryRequest): readonly Scheme[] {
    if (this.#isPlainHttpRegistry(req)) return ['http'];
    if (req.insecure !== true) {
      return this.#options.plainHttpForLoopback === true && isLoopbackHost(req.host) ? ['http'] : ['https'];
    }
    const known = this.#insecureSchemes.get(req.host);
    if (known && known.until > this.#options.now())
      return known.scheme === 'http' ? ['http', 'https'] : ['https', 'http'];
    if (known) this.#insecureSchemes.delete(req.host);
    return ['https', 'http'];
  }

  /** Registries configured as plain HTTP ones (insecureRegistries). */
  #isPlainHttpRegistry(req: RegistryRequest): boolean {
    return this.#options.insecureRegistries.has(req.registry) || this.#options.insecureRegistries.has(req.host);
  }

  /**
   * Whether a token realm or redirect may be plain HTTP: for a registry spoken to over plain HTTP by configuration,
   * and for an insecure request, which accepts whatever is on the path anyway.
   */
  #mayUsePlainHttp(ex: Exchange): boolean {
    if (ex.insecure || this.#isPlainHttpRegistry(ex.req)) return true;
    return this.#options.plainHttpForLoopback === true && isLoopbackHost(ex.req.host);
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

/** The origin of scheme://host, as URL spells it (no default port, lower case), so comparisons with URLs' hold. */
function originOf(scheme: Scheme, host: string): string {
  const written = `${scheme}://${host}`;
  return URL.parse(written)?.origin ?? written;
}

/** How the registry asked to be authenticated is learnt, and used, apart for insecure requests. */
function challengeKey(ex: Exchange): string {
  return ex.insecure ? `insecure ${ex.req.host}` : ex.req.host;
}

/**
 * Whether an exchange failed to connect at all (refused, reset, TLS handshake failed, or no answer within the
 * per-request timeout): what makes an insecure request try the other scheme. The caller's own deadline is not.
 */
function isConnectFailure(e: unknown, ex: Exchange): boolean {
  if (!(e instanceof OciError)) return false;
  if (e.code === 'NETWORK') return true;
  return e.code === 'TIMEOUT' && ex.signal?.aborted !== true;
}

/** The error of the last scheme tried, with what each scheme met in its detail, for logs. */
function withFallbackDetail(
  first: { scheme: Scheme; error: unknown },
  last: { scheme: Scheme; error: unknown },
): unknown {
  if (!(first.error instanceof OciError) || !(last.error instanceof OciError)) return last.error;
  const detail = [first, last]
    .map(({ scheme, error }) => `over ${scheme}: ${(error as OciError).detail ?? (error as OciError).message}`)
    .join('; ');
  return new OciError(last.error.code, last.error.summary, last.error.context, { cause: last.error, detail });
}

function basicHeader(creds: RegistryCredentials | undefined): string | undefined {
  if (!creds?.username || creds.password === undefined) return undefined;
  return `Basic ${Buffer.from(`${creds.username}:${creds.password}`).toString('base64')}`;
}

function notify(onRequest: (() => void) | undefined): void {
  try {
    onRequest?.();
  } catch {
    // A caller's counter failing is no reason to fail its request.
  }
}

function contextOf(req: RegistryRequest): OciErrorContext {
  return {
    registry: req.registry,
    ...(req.repository ? { repository: req.repository } : {}),
    ...(req.reference ? { reference: req.reference } : {}),
  };
}

/** What went wrong connecting, for logs: the codes and messages along the error's cause chain. */
function networkDetail(e: unknown): string {
  const parts: string[] = [];
  let current: unknown = e;
  for (let depth = 0; depth < 4 && current !== null && current !== undefined; depth++) {
    const { code, message } = current as { code?: unknown; message?: unknown };
    const text = [typeof code === 'string' ? code : '', typeof message === 'string' ? message : '']
      .filter((s) => s !== '')
      .join(' ');
    if (text !== '') parts.push(text);
    current = (current as { cause?: unknown }).cause;
  }
  return sanitizeText(parts.join(': ') || String(e), 500);
}

/** A URL for logs: origin and path, never query strings or user info (they can hold tokens). */
function describeUrl(url: string): string {
  const u = URL.parse(url);
  return u ? `${u.protocol}//${u.host}${u.pathname}` : '<invalid URL>';
}

/** Whether a host[:port] names this machine: localhost, or a loopback IP literal. */
export function isLoopbackHost(hostPort: string): boolean {
  const host = hostPort.startsWith('[')
    ? hostPort.slice(0, hostPort.indexOf(']') + 1)
    : hostPort.includes(':')
      ? hostPort.slice(0, hostPort.lastIndexOf(':'))
      : hostPort;
  return host === 'localhost' || classifyAddress(host) === 'loopback';
}
