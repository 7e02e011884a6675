// One spelling per registry. A pod may write the same registry as 'GHCR.IO', 'ghcr.io:443' or 'ghcr.io:0443' (the
// runtime dials all three the same way: DNS ignores case, HTTPS defaults to 443, and Go reads ports as numbers), and a
// policy pattern must not be escapable by choosing one of them. The same function normalises an image's registry
// and the literal host part of a pattern, so that both sides agree.
//
// Not normalised, since the runtime does not reliably treat them as one registry: IPv4 addresses written with
// leading zeros or fewer than four parts (Go refuses those as addresses and looks them up as names), and different
// names for one address ('localhost' and '127.0.0.1').

import { DOCKER_HUB, DOCKER_HUB_ALIASES } from './docker-hub.js';

/** The port HTTPS implies, which registries are reached on when none is written. */
export const DEFAULT_HTTPS_PORT = '443';

const PORT_SUFFIX = /:([0-9]+)$/;
const IPV6_GROUP = /^[0-9a-f]{1,4}$/;
const IPV6_GROUPS = 8;

/**
 * Normalises host[:port]: lower case, the port without leading zeros and dropped when it is 443, an IPv6 address
 * in RFC 5952 form, and Docker Hub's other names as 'docker.io'. Text that is not a valid host comes back lower-cased
 * and otherwise as it was, since callers validate separately.
 */
export function normaliseRegistryHost(host: string): string {
  const lower = host.toLowerCase();
  // An IPv6 address ends in ']', so a ':' inside its brackets is never taken for the port's.
  const port = PORT_SUFFIX.exec(lower)?.[1];
  const name = port === undefined ? lower : lower.slice(0, lower.length - port.length - 1);
  const canonicalName = name.startsWith('[') && name.endsWith(']') ? `[${toCanonicalIpv6(name.slice(1, -1))}]` : name;
  const canonicalPort = port?.replace(/^0+(?=[0-9])/, '');
  const normalised =
    canonicalPort === undefined || canonicalPort === DEFAULT_HTTPS_PORT
      ? canonicalName
      : `${canonicalName}:${canonicalPort}`;
  return DOCKER_HUB_ALIASES.includes(normalised) ? DOCKER_HUB : normalised;
}

/** Whether a normalised registry names its port; without one it is reached on 443. */
export function hasExplicitPort(registry: string): boolean {
  return PORT_SUFFIX.test(registry);
}

/**
 * RFC 5952's form of an IPv6 address: '[0:0::1]', '[::0001]' and '[0:0:0:0:0:0:0:1]' are all '[::1]'. Text that is
 * not an IPv6 address comes back unchanged.
 */
function toCanonicalIpv6(text: string): string {
  const halves = text.split('::');
  if (halves.length > 2) return text;
  const head = splitGroups(halves[0]!);
  const tail = halves.length === 2 ? splitGroups(halves[1]!) : [];
  if (head === undefined || tail === undefined) return text;
  const zeros = IPV6_GROUPS - head.length - tail.length;
  // '::' stands for at least one group; without it there must be exactly eight.
  if (halves.length === 2 ? zeros < 1 : zeros !== 0) return text;
  const groups = [...head, ...new Array<number>(zeros).fill(0), ...tail];

  // The longest run of two or more zero groups is written '::', the first one when runs tie.
  let bestStart = -1;
  let bestLength = 1;
  for (let start = 0; start < IPV6_GROUPS;) {
    let end = start;
    while (end < IPV6_GROUPS && groups[end] === 0) end++;
    if (end - start > bestLength) [bestStart, bestLength] = [start, end - start];
    start = end === start ? start + 1 : end;
  }
  const written = (from: number, to: number): string =>
    groups
      .slice(from, to)
      .map((group) => group.toString(16))
      .join(':');
  return bestStart === -1
    ? written(0, IPV6_GROUPS)
    : `${written(0, bestStart)}::${written(bestStart + bestLength, IPV6_GROUPS)}`;
}

function splitGroups(text: string): number[] | undefined {
  if (text === '') return [];
  const groups = text.split(':');
  return groups.every((group) => IPV6_GROUP.test(group)) ? groups.map((group) => parseInt(group, 16)) : undefined;
}
