// The HTTP client behind the transport: undici's request() over an Agent, one per kind of connection: the extra CA
// bundle, an address policy (address-policy.ts) enforced where the socket's address is resolved, HTTPS without
// certificate checks (FetchInit.insecureTls), or none of these. request() rather than fetch(): fetch's WHATWG streams
// and Headers make several times the garbage per request, and the heap V8 grows for it stays resident: measured at
// 4,000 registry requests, 143 MiB of RSS with undici's fetch, 127 with Node's, 109 with request(). undici is
// imported at the first request: it costs a tenth of a second at start-up, which the CLI would otherwise pay on
// every run.
import { createFilteredLookup, describeAllowed, type AllowedAddresses, type ResolveHost } from './address-policy.js';
import type { Dispatcher } from 'undici';
import type { FetchInit, FetchLike, FetchLikeResponse } from './fetch-like.js';

export interface DefaultFetchOptions {
  /** PEM bundle of extra CAs for HTTPS. */
  readonly caBundle?: string;
  /** For tests: the DNS that address-restricted connections use. */
  readonly resolveHost?: ResolveHost;
}

type Send = (url: string, init: Omit<FetchInit, 'allowedAddresses' | 'insecureTls'>) => Promise<FetchLikeResponse>;

export function createDefaultFetch(options: DefaultFetchOptions = {}): FetchLike {
  const { caBundle, resolveHost } = options;
  let undici: Promise<typeof import('undici')> | undefined;
  /**
   * One Agent, and so one connection pool, per set of allowed kinds and per certificate checking: a pooled socket
   * was checked for that set, and its certificate checked, or not.
   */
  const agents = new Map<string, Promise<Send>>();

  const viaAgent = (allowed: AllowedAddresses | undefined, insecureTls: boolean): Promise<Send> => {
    const key = `${insecureTls ? 'unverified' : 'verified'} ${allowed ? `only ${describeAllowed(allowed)}` : 'any'}`;
    let send = agents.get(key);
    if (!send) {
      send = (async () => {
        const { Agent, request } = await (undici ??= import('undici'));
        const dispatcher = new Agent({
          connect: {
            ...(caBundle ? { ca: caBundle } : {}),
            ...(allowed ? { lookup: createFilteredLookup(allowed, resolveHost) } : {}),
            ...(insecureTls ? { rejectUnauthorized: false } : {}),
          },
        });
        return async (url, init) => {
          let res: Dispatcher.ResponseData;
          try {
            res = await request(url, {
              method: init.method as Dispatcher.HttpMethod,
              headers: init.headers,
              ...(init.body ? { body: init.body } : {}),
              signal: init.signal,
              dispatcher,
              // undici closes a connection after every HEAD by default, in case the server sent a body with it; that
              // costs a new connection (and TLS handshake) for each image resolved. A registry that did so could
              // only garble its own next answer: connections are never shared between origins.
              ...(init.method === 'HEAD' ? { reset: false } : {}),
            });
          } catch (e) {
            // As fetch fails: an abort as itself, anything else as "fetch failed" with the reason as its cause.
            if (init.signal.aborted || (e as { name?: unknown }).name === 'AbortError') throw e;
            throw new TypeError('fetch failed', { cause: e });
          }
          // A stream's 'error' with no listener ends the process: a body dropped or cut off must not. Reading it still
          // sees the error (the iterator rejects).
          res.body.on('error', ignoreError);
          // A HEAD answer has no body, but undici holds the request (and its connection) until the stream is read.
          if (init.method === 'HEAD') await res.body.dump();
          // fetch's interface, which the transport and its tests speak: Headers.get joins repeated headers with
          // ", ", and cancel() drops the rest of a body: what is left of a small one (an error's JSON) is read, so the
          // connection is kept for the next request; a larger one's connection is closed (draining a hostile body
          // would read all of it).
          const body = Object.assign(res.body, {
            cancel: async () => void (await res.body.dump({ limit: DRAIN_LIMIT }).catch(ignoreError)),
          });
          return { status: res.statusCode, headers: toHeaders(res.headers), body };
        };
      })();
      // A failed import is retried by the next request rather than remembered.
      send.catch(() => agents.delete(key));
      agents.set(key, send);
    }
    return send;
  };

  return async (url, { allowedAddresses, insecureTls, ...init }) =>
    (await viaAgent(allowedAddresses, insecureTls === true))(url, init);
}

/** The most of a dropped body read to keep its connection: an error's JSON, not a manifest or a blob. */
const DRAIN_LIMIT = 64 * 1024;

function ignoreError(): void {
  // See the 'error' listener above.
}

function toHeaders(raw: Record<string, string | string[] | undefined>): FetchLikeResponse['headers'] {
  return {
    get(name) {
      const value = raw[name.toLowerCase()];
      return value === undefined ? null : Array.isArray(value) ? value.join(', ') : value;
    },
  };
}
