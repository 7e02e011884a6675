// The HTTP client behind the transport: Node's own fetch for ordinary requests, undici's with an Agent when a
// request needs more, namely the extra CA bundle, an address policy (address-policy.ts) enforced where the
// socket's address is resolved, or HTTPS without certificate checks (FetchInit.insecureTls). undici is imported only then: it costs a tenth of a second at start-up, which the
// CLI would otherwise pay on every run.
import { createFilteredLookup, describeAllowed, type AllowedAddresses, type ResolveHost } from './address-policy.js';
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
        const { Agent, fetch: undiciFetch } = await (undici ??= import('undici'));
        const dispatcher = new Agent({
          connect: {
            ...(caBundle ? { ca: caBundle } : {}),
            ...(allowed ? { lookup: createFilteredLookup(allowed, resolveHost) } : {}),
            ...(insecureTls ? { rejectUnauthorized: false } : {}),
          },
        });
        return async (url, init) => {
          const res = await undiciFetch(url, { ...init, dispatcher });
          return { status: res.status, headers: res.headers, body: res.body as AsyncIterable<Uint8Array> | null };
        };
      })();
      // A failed import is retried by the next request rather than remembered.
      send.catch(() => agents.delete(key));
      agents.set(key, send);
    }
    return send;
  };

  return async (url, { allowedAddresses, insecureTls, ...init }) => {
    const unverified = insecureTls === true;
    if (allowedAddresses || caBundle || unverified) return (await viaAgent(allowedAddresses, unverified))(url, init);
    const res = await fetch(url, init);
    return { status: res.status, headers: res.headers, body: res.body as AsyncIterable<Uint8Array> | null };
  };
}
