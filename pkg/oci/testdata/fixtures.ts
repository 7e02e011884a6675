// What the client's tests share: a manifest and index builders, quick sleeps, credentials, and a fetch that
// gives scripted servers registry host names (so a test can have a registry "on a public address").
import type { IncomingMessage } from 'node:http';
import type { ResolveHost } from '../address-policy.js';
import { createDefaultFetch } from '../default-fetch.js';
import { computeDigest } from '../digest.js';
import { parseDockerConfigJson, type DockerConfig } from '../docker-config.js';
import type { FetchLike } from '../fetch-like.js';
import { MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_OCI_MANIFEST } from '../media-types.js';
import type { ScriptedServer } from './scripted-server.js';

export const EMPTY = computeDigest(Buffer.from('{}'));
export const MANIFEST = JSON.stringify({
  schemaVersion: 2,
  mediaType: MEDIA_TYPE_OCI_MANIFEST,
  config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: EMPTY, size: 2 },
  layers: [],
});
export const MANIFEST_DIGEST = computeDigest(Buffer.from(MANIFEST));

export function index(entries: object[]): string {
  return JSON.stringify({ schemaVersion: 2, mediaType: MEDIA_TYPE_OCI_INDEX, manifests: entries });
}

export function entry(artifactType: string, n: number): object {
  return { mediaType: MEDIA_TYPE_OCI_MANIFEST, digest: computeDigest(Buffer.from(String(n))), size: 10, artifactType };
}

/** Retries without the real waits. */
export function quickSleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(resolve, Math.min(ms, 50));
    signal.addEventListener('abort', () => {
      clearTimeout(t);
      reject(signal.reason);
    });
  });
}

/** A docker config with `username:password` for each registry given. */
export function credentialsFor(registry: string, username: string, password: string): DockerConfig {
  const auth = Buffer.from(`${username}:${password}`).toString('base64');
  const config = parseDockerConfigJson(JSON.stringify({ auths: { [registry]: { auth } } }));
  if (!config.ok) throw new Error(config.error);
  return config.value;
}

export function basicOf(username: string, password: string): string {
  return `Basic ${Buffer.from(`${username}:${password}`).toString('base64')}`;
}

/** The username of a request's Basic Authorization header, if any. */
export function basicUser(req: { readonly headers: IncomingMessage['headers'] }): string | undefined {
  const header = req.headers['authorization'];
  if (!header?.startsWith('Basic ')) return undefined;
  return Buffer.from(header.slice(6), 'base64').toString('utf8').split(':')[0];
}

/** A fake DNS: names to addresses; anything else does not resolve. */
export function fakeDns(table: Record<string, readonly string[]>): ResolveHost {
  return async (hostname) => {
    const addresses = table[hostname];
    if (!addresses) throw Object.assign(new Error(`getaddrinfo ENOTFOUND ${hostname}`), { code: 'ENOTFOUND' });
    return addresses;
  };
}

/**
 * The real default fetch, except that requests to `routes`' host names go to the scripted server named: how a
 * test puts a registry on a host name whose (fake) DNS says it is public, while it listens on loopback.
 */
export function routedFetch(routes: Record<string, ScriptedServer>, resolveHost: ResolveHost): FetchLike {
  const real = createDefaultFetch({ resolveHost });
  return (url, init) => {
    const u = new URL(url);
    const server = routes[u.hostname];
    if (server) {
      u.hostname = '127.0.0.1';
      u.port = String(server.port);
    }
    return real(u.href, init);
  };
}
