// What the transport remembers about authenticating: tokens and Basic headers per registry host, repository, scope
// and credentials. Credentials come with each call (one Pod's pull secrets, the CLI's config file), so the
// credentials are part of the key, as a fingerprint: two callers with different credentials never share a token,
// while every anonymous caller shares the anonymous one.
import { createHash } from 'node:crypto';
import type { AllowedAddresses } from './address-policy.js';
import { BoundedMap } from './bounded-map.js';
import type { RegistryCredentials } from './docker-config.js';

export interface CachedAuth {
  /** The Authorization header's value. */
  readonly header: string;
  readonly expiresAt: number;
  /**
   * Where the registry must be for the header to be sent: set for a token from a realm on a non-public address
   * (allowed because the registry resolved to that kind), so that its content, possibly an internal service's
   * answer, only ever goes back to an address of that kind, whatever the registry's name resolves to next.
   */
  readonly pin?: AllowedAddresses;
}

export interface AuthKey {
  readonly host: string;
  readonly repository?: string;
  readonly push?: boolean;
  /** credentialFingerprint of the credentials used. */
  readonly fingerprint: string;
  /**
   * Whether the request was insecure (transport.ts): a token it obtained may come from whoever sits on the path,
   * and is never sent by a request that checks certificates.
   */
  readonly insecure?: boolean;
}

export const ANONYMOUS = 'anonymous';

/**
 * A stable name for a set of credentials: SHA-256 over a canonical encoding of every field, or "anonymous". It is
 * a key, never sent or logged, and does not reveal the credentials.
 */
export function credentialFingerprint(credentials: RegistryCredentials | undefined): string {
  if (!credentials) return ANONYMOUS;
  const { username, password, identityToken, registryToken } = credentials;
  const fields = [username, password, identityToken, registryToken];
  if (fields.every((f) => f === undefined)) return ANONYMOUS;
  // JSON of an array of strings and nulls: unambiguous whatever the fields contain.
  const canonical = JSON.stringify(['imprimatur-credentials-v1', ...fields.map((f) => f ?? null)]);
  return `sha256:${createHash('sha256').update(canonical).digest('hex')}`;
}

/** Entries beyond this are forgotten, least recently used first. */
const MAX_ENTRIES = 4096;

export class AuthCache {
  readonly #entries = new BoundedMap<string, CachedAuth>(MAX_ENTRIES);
  readonly #now: () => number;

  constructor(now: () => number) {
    this.#now = now;
  }

  /** The remembered header for `key`, unless it has expired. */
  get(key: AuthKey): CachedAuth | undefined {
    const k = keyOf(key);
    const cached = this.#entries.get(k);
    if (!cached) return undefined;
    if (cached.expiresAt > this.#now()) return cached;
    this.#entries.delete(k);
    return undefined;
  }

  set(key: AuthKey, auth: CachedAuth): void {
    this.#entries.set(keyOf(key), auth);
  }

  delete(key: AuthKey): void {
    this.#entries.delete(keyOf(key));
  }
}

function keyOf(key: AuthKey): string {
  return JSON.stringify([
    key.host,
    key.repository ?? '',
    key.push ? 'pull,push' : 'pull',
    key.fingerprint,
    key.insecure === true ? 'insecure' : 'verified',
  ]);
}
