// Where a registry may send us. A token realm or a redirect target is an address the registry chose, so a hostile
// registry could aim us at internal services and have their answers come back to it (as a "token" it receives in
// our Authorization header). Realms and redirect targets must therefore be on public addresses, unless the registry
// itself is on the same kind of non-public address: a registry on 127.0.0.1 may use a realm on localhost, one on
// 10.0.0.5 a realm on 10.0.0.6. The registry's own host is not restricted: it is whatever the image names.
//
// A check of a host name at one moment proves nothing about the address connected to a moment later (DNS
// rebinding), so names are checked where they are resolved for the connection: createFilteredLookup is the `lookup`
// of the sockets that reach realms and redirect targets. IP literals skip DNS and are checked before sending.
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { classifyAddress, type AddressKind } from './address-kind.js';

/** The kinds of address a request may connect to. Always includes 'public'. */
export type AllowedAddresses = ReadonlySet<AddressKind>;

/** Resolves a host name to its addresses, as getaddrinfo does; a fake in tests. */
export type ResolveHost = (hostname: string) => Promise<readonly string[]>;

export const resolveWithDns: ResolveHost = (hostname) =>
  new Promise((resolve, reject) =>
    dnsLookup(hostname, { all: true }, (error, addresses) =>
      error ? reject(error) : resolve(addresses.map((a) => a.address)),
    ),
  );

const PUBLIC_ONLY: AllowedAddresses = new Set(['public']);

/**
 * The kinds of address `host` (host[:port], as in an image reference) is on: its own kind for an IP literal, else
 * the kinds of every address DNS gives for it. None when it does not resolve.
 */
export async function kindsOfHost(host: string, resolve: ResolveHost): Promise<ReadonlySet<AddressKind>> {
  const hostname = URL.parse(`http://${host}`)?.hostname;
  if (!hostname) return new Set();
  const literal = classifyAddress(hostname);
  if (literal) return new Set([literal]);
  try {
    const kinds = new Set<AddressKind>();
    for (const address of await resolve(hostname)) {
      const kind = classifyAddress(address);
      if (kind) kinds.add(kind);
    }
    return kinds;
  } catch {
    // A registry whose name does not resolve now earns no exemption.
    return new Set();
  }
}

/**
 * Where a registry on `registryKinds` may send us: public addresses, and the registry's own kinds when none of its
 * addresses is public. A name that resolves to public and private addresses alike counts as public: it is the
 * trick a hostile name server would play to earn an exemption.
 */
export function allowedTargets(registryKinds: ReadonlySet<AddressKind>): AllowedAddresses {
  if (registryKinds.size === 0 || registryKinds.has('public')) return PUBLIC_ONLY;
  return new Set<AddressKind>(['public', ...registryKinds]);
}

/** The non-public kinds in `allowed`: where a token from a realm allowed there may be sent, if anywhere private. */
export function nonPublicKinds(allowed: AllowedAddresses): AllowedAddresses | undefined {
  const kinds = [...allowed].filter((k) => k !== 'public');
  return kinds.length === 0 ? undefined : new Set(kinds);
}

/** The kind of an IP-literal hostname outside `allowed`; undefined when it is allowed or is a DNS name. */
export function refusedLiteral(hostname: string, allowed: AllowedAddresses): AddressKind | undefined {
  const kind = classifyAddress(hostname);
  return kind !== undefined && !allowed.has(kind) ? kind : undefined;
}

/** A short, stable name for a set of kinds, to key one connection pool per set. */
export function describeAllowed(allowed: AllowedAddresses): string {
  return [...allowed].sort().join(',');
}

/** The error a filtered lookup fails with, so that messages can tell a refusal from a failure to resolve. */
export class AddressRefusedError extends Error {
  readonly code = 'ERR_ADDRESS_REFUSED';

  constructor(hostname: string, kinds: readonly AddressKind[], allowed: AllowedAddresses) {
    super(
      `${hostname} resolves only to ${kinds.join(', ') || 'unclassifiable'} addresses; allowed: ${describeAllowed(allowed)}`,
    );
    this.name = 'AddressRefusedError';
  }
}

type LookupCallback = (error: Error | null, address: string | LookupAddress[], family?: number) => void;

/** The `lookup` option of net.connect and tls.connect. */
export type LookupFunction = (hostname: string, options: { all?: boolean }, callback: LookupCallback) => void;

/**
 * A `lookup` for net.connect that keeps only addresses of the allowed kinds, and fails with AddressRefusedError when
 * none is left. Whatever the name server answers, the socket connects to an address that passed the check.
 */
export function createFilteredLookup(allowed: AllowedAddresses, resolve?: ResolveHost): LookupFunction {
  return (hostname, options, callback) => {
    const done = (error: Error | null, addresses: LookupAddress[]) => {
      if (error) return callback(error, []);
      const kept = addresses.filter((a) => allowed.has(classifyAddress(a.address) ?? 'reserved'));
      if (kept.length === 0) {
        const kinds = [...new Set(addresses.map((a) => classifyAddress(a.address) ?? 'reserved'))];
        return callback(new AddressRefusedError(hostname, kinds, allowed), []);
      }
      if (options.all) return callback(null, kept);
      return callback(null, kept[0]!.address, kept[0]!.family);
    };
    if (resolve) {
      resolve(hostname).then(
        (addresses) =>
          done(
            null,
            addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 })),
          ),
        (error: unknown) => done(error instanceof Error ? error : new Error(String(error)), []),
      );
      return;
    }
    dnsLookup(hostname, { ...options, all: true }, (error, addresses) => done(error, addresses));
  };
}
