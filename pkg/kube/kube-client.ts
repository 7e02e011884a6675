// The operator's client of the API server: JSON requests and watches over one undici connection pool, with the
// TLS and credentials of a KubeTarget. Every request is bounded in time; a 401 re-reads the credentials once.
//
// Written here rather than taken from client-node: its entry point loads every generated model and API class
// (kube-config.ts says what that costs), and the operator needs a few dozen calls, which are plain JSON. The objects'
// types still come from client-node, as types only (`import type`), which load nothing.
import { Agent, ProxyAgent, request, type Dispatcher } from 'undici';
import type { KubeTarget } from './kube-config.js';
import { CredentialSource, DEFAULT_CREDENTIAL_DEPS, type CredentialDeps } from './kube-credentials.js';

export type Query = Readonly<Record<string, string | number | boolean | undefined>>;

export interface KubeRequest {
  readonly method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';
  /** An absolute API path, e.g. /api/v1/namespaces/default/secrets. */
  readonly path: string;
  readonly query?: Query;
  readonly body?: unknown;
  /** Of the body: JSON, or one of the patch types. */
  readonly contentType?: string;
  readonly signal?: AbortSignal;
  /** Default 30 s, as client-go's default request timeout for a controller. */
  readonly timeoutMs?: number;
  /** The most bytes of answer read; more is an error. Unbounded by default (the API server is trusted). */
  readonly maxBytes?: number;
}

export const CONTENT_TYPE = {
  json: 'application/json',
  mergePatch: 'application/merge-patch+json',
  jsonPatch: 'application/json-patch+json',
  strategicMergePatch: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

/** A watch event as the API server streams it; `object` is a metav1.Status for ERROR. */
export type WatchCallback = (phase: string, object: any, event: unknown) => void; // eslint-disable-line @typescript-eslint/no-explicit-any
/** Called once when the watch ends: null when the server or the caller closed it, else the error. */
export type WatchDone = (error: unknown) => void;

/** What the informers need of a client: a watch (the shape of client-node's Watch.watch). */
export interface WatchApi {
  watch(path: string, query: Query, callback: WatchCallback, done: WatchDone): Promise<AbortController>;
}

/** An answer outside 2xx: the HTTP code and the body (a metav1.Status, as text), as client-node's ApiException. */
export class KubeStatusError extends Error {
  readonly code: number;
  readonly body: string;
  /** The API server's own words: the Status's message, or the start of the body. */
  readonly statusMessage: string;

  constructor(method: string, path: string, code: number, body: string) {
    let message = body.slice(0, 300);
    try {
      const status = JSON.parse(body) as { message?: unknown };
      if (typeof status.message === 'string') message = status.message;
    } catch {
      // Not a Status: the start of the body says what happened.
    }
    super(`${method} ${path}: HTTP ${code}: ${message}`);
    this.name = 'KubeStatusError';
    this.statusMessage = message;
    this.code = code;
    this.body = body;
  }
}

const DEFAULT_TIMEOUT_MS = 30_000;
/** How much of an error body is kept: a Status is small; anything else is cut. */
const MAX_ERROR_BODY = 64 * 1024;
/** The longest watch event line accepted (a large Secret or ConfigMap is at most about 1.5 MiB of JSON). */
const MAX_WATCH_LINE = 8 * 1024 * 1024;
/** How long a watch waits for the API server to answer at all. */
const WATCH_HEADERS_TIMEOUT_MS = 30_000;

export interface KubeClientOptions {
  readonly userAgent?: string;
  readonly credentialDeps?: CredentialDeps;
  /** For tests: the dispatcher to use instead of one made from the target's TLS settings. */
  readonly dispatcher?: Dispatcher;
}

export class KubeClient implements WatchApi {
  readonly server: string;
  readonly #dispatcher: Dispatcher;
  readonly #credentials: CredentialSource;
  readonly #userAgent: string;

  /** Opens nothing: connections are made by the first request. */
  constructor(target: KubeTarget, options: KubeClientOptions = {}) {
    this.server = target.server;
    this.#credentials = new CredentialSource(target.credentials, options.credentialDeps ?? DEFAULT_CREDENTIAL_DEPS);
    this.#userAgent = options.userAgent ?? 'imprimatur';
    const tls = {
      ...(target.ca ? { ca: target.ca } : {}),
      ...(target.clientCert ? { cert: target.clientCert } : {}),
      ...(target.clientKey ? { key: target.clientKey } : {}),
      ...(target.tlsServerName ? { servername: target.tlsServerName } : {}),
      rejectUnauthorized: !target.insecureSkipTlsVerify,
    };
    this.#dispatcher =
      options.dispatcher ??
      (target.proxyUrl
        ? new ProxyAgent({ uri: target.proxyUrl, requestTls: tls })
        : new Agent({ connect: tls, keepAliveTimeout: 30_000 }));
  }

  /** The request's JSON answer; anything but 2xx throws KubeStatusError, a transport failure its own error. */
  async json<T>(req: KubeRequest): Promise<T> {
    const text = await this.#send(req);
    return (text === '' ? undefined : JSON.parse(text)) as T;
  }

  /** The request's answer as text, for callers that parse it themselves (and bound it with maxBytes). */
  text(req: KubeRequest): Promise<string> {
    return this.#send(req);
  }

  /**
   * Watches `path` from `query.resourceVersion`. Resolves once the watch is open (or has failed: `done` is then
   * already called); `done` is called exactly once. The AbortController ends it, and `done(null)` follows.
   */
  async watch(path: string, query: Query, callback: WatchCallback, done: WatchDone): Promise<AbortController> {
    const controller = new AbortController();
    let finished = false;
    const finish = (e: unknown) => {
      if (finished) return;
      finished = true;
      controller.abort();
      done(e);
    };
    // client-go's reflector: the server ends each watch after 5–10 min, spreading re-lists over time; a client-side
    // timer a little later catches a connection that died without a word.
    const timeoutSeconds = query['timeoutSeconds'] ?? 300 + Math.floor(Math.random() * 300);
    const url = this.#url(path, { ...query, watch: true, allowWatchBookmarks: true, timeoutSeconds });
    const silence = setTimeout(
      () => finish(new DOMException('the watch outlived its timeout', 'TimeoutError')),
      (Number(timeoutSeconds) + 30) * 1000,
    );
    silence.unref();
    controller.signal.addEventListener('abort', () => clearTimeout(silence));
    try {
      // Events may be minutes apart (bodyTimeout 0), but the answer's headers come at once or never.
      const res = await this.#dispatch(url, {
        method: 'GET',
        signal: controller.signal,
        bodyTimeout: 0,
        headersTimeout: WATCH_HEADERS_TIMEOUT_MS,
      });
      if (res.statusCode !== 200) {
        // As for a request, a 401 makes the next watch or request read the credentials again; the watch itself is
        // not retried here: its owner opens it again.
        if (res.statusCode === 401) this.#credentials.invalidate();
        finish(new KubeStatusError('WATCH', path, res.statusCode, await readCapped(res.body, MAX_ERROR_BODY)));
        return controller;
      }
      let pending = '';
      res.body.setEncoding('utf8');
      res.body.on('data', (chunk: string) => {
        pending += chunk;
        let at: number;
        while ((at = pending.indexOf('\n')) >= 0) {
          const line = pending.slice(0, at);
          pending = pending.slice(at + 1);
          if (line.trim() === '') continue;
          let event: { type?: unknown; object?: unknown };
          try {
            event = JSON.parse(line) as typeof event;
          } catch {
            finish(new Error(`WATCH ${path}: the API server sent a line that is not JSON`));
            return;
          }
          try {
            if (typeof event.type === 'string') callback(event.type, event.object, event);
          } catch (e) {
            // A handler's bug ends this watch (its owner restarts it) instead of escaping a stream event, which
            // would end the process.
            finish(e);
          }
          // A callback that aborted the watch gets no more events, not even the rest of this chunk.
          if (finished || controller.signal.aborted) return;
        }
        if (pending.length > MAX_WATCH_LINE)
          finish(new Error(`WATCH ${path}: an event longer than ${MAX_WATCH_LINE} bytes`));
      });
      res.body.on('end', () => finish(null));
      res.body.on('error', (e) => finish(controller.signal.aborted ? null : e));
      res.body.on('close', () => finish(null));
    } catch (e) {
      finish(controller.signal.aborted && !(e instanceof KubeStatusError) ? null : e);
    }
    return controller;
  }

  /** Closes the connections once the requests in flight have finished. */
  async close(): Promise<void> {
    await this.#dispatcher.close();
  }

  /** Closes the connections now, failing whatever is in flight. */
  async destroy(): Promise<void> {
    await this.#dispatcher.destroy();
  }

  /** One request within one timeout: the retry after a 401 has what is left of it, not a timeout of its own. */
  async #send(req: KubeRequest): Promise<string> {
    const timeout = AbortSignal.timeout(req.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    return this.#attempt(req, req.signal ? AbortSignal.any([req.signal, timeout]) : timeout, true);
  }

  async #attempt(req: KubeRequest, signal: AbortSignal, retryUnauthorized: boolean): Promise<string> {
    const body = req.body === undefined ? undefined : JSON.stringify(req.body);
    const res = await this.#dispatch(this.#url(req.path, req.query ?? {}), {
      method: req.method,
      signal,
      ...(body !== undefined ? { body, contentType: req.contentType ?? CONTENT_TYPE.json } : {}),
    });
    if (res.statusCode === 401 && retryUnauthorized) {
      await res.body.dump();
      this.#credentials.invalidate();
      return this.#attempt(req, signal, false);
    }
    if (res.statusCode < 200 || res.statusCode > 299) {
      throw new KubeStatusError(req.method, req.path, res.statusCode, await readCapped(res.body, MAX_ERROR_BODY));
    }
    if (req.maxBytes === undefined) return res.body.text();
    const text = await readCapped(res.body, req.maxBytes + 1);
    if (Buffer.byteLength(text) > req.maxBytes) throw new Error(`the answer is larger than ${req.maxBytes} bytes`);
    return text;
  }

  async #dispatch(
    url: URL,
    options: {
      method: string;
      signal: AbortSignal;
      body?: string;
      contentType?: string;
      bodyTimeout?: number;
      headersTimeout?: number;
    },
  ): Promise<Dispatcher.ResponseData> {
    const authorization = await this.#credentials.authorization();
    const headers: Record<string, string> = { accept: 'application/json', 'user-agent': this.#userAgent };
    if (authorization) headers['authorization'] = authorization;
    if (options.contentType) headers['content-type'] = options.contentType;
    return request(url, {
      method: options.method as Dispatcher.HttpMethod,
      headers,
      dispatcher: this.#dispatcher,
      signal: options.signal,
      ...(options.body !== undefined ? { body: options.body } : {}),
      ...(options.bodyTimeout !== undefined ? { bodyTimeout: options.bodyTimeout } : {}),
      ...(options.headersTimeout !== undefined ? { headersTimeout: options.headersTimeout } : {}),
    });
  }

  #url(path: string, query: Query): URL {
    const url = new URL(this.server + path);
    for (const [k, v] of Object.entries(query)) if (v !== undefined) url.searchParams.set(k, String(v));
    return url;
  }
}

async function readCapped(body: Dispatcher.ResponseData['body'], max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body) {
    const bytes = chunk as Buffer;
    if (size + bytes.length > max) {
      chunks.push(bytes.subarray(0, max - size));
      body.destroy();
      break;
    }
    chunks.push(bytes);
    size += bytes.length;
  }
  return Buffer.concat(chunks).toString('utf8');
}
