// What kind of network an IP address is on, for the address policy of token realms and redirects: a registry we do
// not trust must not point us at loopback, link-local (cloud metadata at 169.254.169.254), or private services.
// Ranges from the IANA special-purpose registries (RFC 6890,
// https://www.iana.org/assignments/iana-ipv4-special-registry, https://www.iana.org/assignments/iana-ipv6-special-registry).
// IPv6 forms that carry an IPv4 address (IPv4-mapped and -translated, IPv4-compatible, NAT64, 6to4) are classified by
// the IPv4 address inside, since that is where a connection to them ends up.
import { isIPv4, isIPv6 } from 'node:net';

export const ADDRESS_KINDS = ['public', 'private', 'loopback', 'link-local', 'unspecified', 'reserved'] as const;

/**
 * `private`: RFC 1918, CGNAT (100.64.0.0/10), benchmarking (198.18.0.0/15), unique-local fc00::/7, site-local
 * fec0::/10 and local-use NAT64. `reserved`: multicast, broadcast, documentation and other special-purpose ranges
 * no registry or token service lives on. `unspecified`: 0.0.0.0/8 and ::, which connect to the local host.
 */
export type AddressKind = (typeof ADDRESS_KINDS)[number];

/**
 * The kind of an IP literal, or undefined when `host` is not one (a DNS name). Accepts what URL.hostname gives
 * (dotted-quad IPv4, bracketed IPv6) and what DNS lookups return (bare IPv6, possibly with a %zone).
 */
export function classifyAddress(host: string): AddressKind | undefined {
  const bracketed = host.startsWith('[') && host.endsWith(']');
  const bare = bracketed ? host.slice(1, -1) : host;
  // Brackets are for IPv6 only: "[127.0.0.1]" is no address, and nothing would connect to it as one.
  if (!bracketed && isIPv4(bare)) return classifyIPv4(bare.split('.').map(Number));
  const unzoned = bare.includes('%') ? bare.slice(0, bare.indexOf('%')) : bare;
  if (!isIPv6(unzoned)) return undefined;
  const groups = parseIPv6(unzoned);
  return groups ? classifyIPv6(groups) : undefined;
}

function classifyIPv4(octets: readonly number[]): AddressKind {
  const [a = 0, b = 0, c = 0] = octets;
  if (a === 0) return 'unspecified';
  if (a === 127) return 'loopback';
  if (a === 169 && b === 254) return 'link-local';
  if (a === 10) return 'private';
  if (a === 172 && b >= 16 && b <= 31) return 'private';
  if (a === 192 && b === 168) return 'private';
  if (a === 100 && b >= 64 && b <= 127) return 'private';
  if (a === 198 && (b === 18 || b === 19)) return 'private';
  if (a >= 224) return 'reserved'; // multicast 224/4, reserved 240/4, broadcast
  if (a === 192 && b === 0 && (c === 0 || c === 2)) return 'reserved'; // IETF protocol assignments, TEST-NET-1
  if (a === 192 && b === 88 && c === 99) return 'reserved'; // 6to4 relay anycast
  if (a === 198 && b === 51 && c === 100) return 'reserved'; // TEST-NET-2
  if (a === 203 && b === 0 && c === 113) return 'reserved'; // TEST-NET-3
  return 'public';
}

function classifyIPv6(g: readonly number[]): AddressKind {
  const zeroUpTo = (n: number) => g.slice(0, n).every((x) => x === 0);
  const ipv4At = (i: number) => [g[i]! >> 8, g[i]! & 0xff, g[i + 1]! >> 8, g[i + 1]! & 0xff];
  if (zeroUpTo(8)) return 'unspecified';
  if (zeroUpTo(7) && g[7] === 1) return 'loopback';
  if (zeroUpTo(5) && g[5] === 0xffff) return classifyIPv4(ipv4At(6)); // IPv4-mapped ::ffff:a.b.c.d
  if (zeroUpTo(4) && g[4] === 0xffff && g[5] === 0) return classifyIPv4(ipv4At(6)); // IPv4-translated
  if (zeroUpTo(6)) return classifyIPv4(ipv4At(6)); // IPv4-compatible ::a.b.c.d (deprecated)
  if (g[0] === 0x64 && g[1] === 0xff9b && g.slice(2, 6).every((x) => x === 0)) return classifyIPv4(ipv4At(6)); // NAT64
  if (g[0] === 0x64 && g[1] === 0xff9b && g[2] === 1) return 'private'; // local-use NAT64 (RFC 8215)
  if (g[0] === 0x2002) return classifyIPv4(ipv4At(1)); // 6to4
  const first = g[0]!;
  if ((first & 0xffc0) === 0xfe80) return 'link-local';
  if ((first & 0xfe00) === 0xfc00) return 'private'; // unique local fc00::/7
  if ((first & 0xffc0) === 0xfec0) return 'private'; // site-local (deprecated)
  if ((first & 0xff00) === 0xff00) return 'reserved'; // multicast
  if (first === 0x2001 && g[1] === 0x0db8) return 'reserved'; // documentation
  if (first === 0x2001 && g[1]! < 0x0200) return 'reserved'; // IETF protocol assignments, Teredo, ORCHID
  // Global unicast is 2000::/3; the rest (discard 100::/64, unassigned space) is no place for a registry.
  return first >= 0x2000 && first <= 0x3fff ? 'public' : 'reserved';
}

/** Eight 16-bit groups of an IPv6 address node:net has already validated. */
function parseIPv6(text: string): number[] | undefined {
  const halves = text.split('::');
  if (halves.length > 2) return undefined;
  const toGroups = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const piece of part.split(':')) {
      if (piece.includes('.')) {
        const [a = 0, b = 0, c = 0, d = 0] = piece.split('.').map(Number);
        out.push((a << 8) | b, (c << 8) | d);
      } else {
        out.push(parseInt(piece, 16));
      }
    }
    return out;
  };
  const head = toGroups(halves[0]!);
  const tail = halves.length === 2 ? toGroups(halves[1]!) : [];
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 0) return undefined;
  const groups = [...head, ...new Array<number>(missing).fill(0), ...tail];
  return groups.every((x) => Number.isInteger(x) && x >= 0 && x <= 0xffff) ? groups : undefined;
}
