// Pagination links (RFC 8288, https://www.rfc-editor.org/rfc/rfc8288#section-3), as the distribution spec uses
// them for tag lists and referrers: `Link: </v2/<name>/tags/list?n=100&last=x>; rel="next"`. The header comes from
// a registry we do not trust, so it is read in one linear pass (no backtracking regular expression) and only a
// next page on the same registry is ever followed.

/** Headers longer than this have no next page as far as we are concerned. */
const MAX_LINK_HEADER = 16 * 1024;

/** The target of the first link with relation type "next", as written; undefined when there is none. */
export function nextLinkTarget(header: string | null): string | undefined {
  if (!header || header.length > MAX_LINK_HEADER) return undefined;
  let pos = header.indexOf('<');
  while (pos >= 0) {
    const close = header.indexOf('>', pos + 1);
    if (close < 0) return undefined;
    const following = header.indexOf('<', close + 1);
    const params = header.slice(close + 1, following < 0 ? header.length : following);
    if (hasRelNext(params)) return header.slice(pos + 1, close).trim();
    pos = following;
  }
  return undefined;
}

/**
 * The next page as a path on the registry (`/v2/...` with its query), or undefined when there is none or it
 * points anywhere else: another host, or outside the API.
 */
export function nextPagePath(header: string | null, host: string): string | undefined {
  const target = nextLinkTarget(header);
  if (target === undefined) return undefined;
  const url = URL.parse(target, `http://${host}`);
  if (url === null || url.host !== URL.parse(`http://${host}`)?.host) return undefined;
  if (!url.pathname.startsWith('/v2/')) return undefined;
  return `${url.pathname}${url.search}`;
}

/** Whether a link's parameters (`; rel="next"; title=...`, up to the next link) include the relation "next". */
function hasRelNext(params: string): boolean {
  for (const part of params.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq).trim().toLowerCase() !== 'rel') continue;
    let value = part.slice(eq + 1).trim();
    let end = value.length;
    while (end > 0 && (value[end - 1] === ',' || value[end - 1] === ' ')) end--;
    value = value.slice(0, end);
    if (value.startsWith('"') && value.endsWith('"') && value.length >= 2) value = value.slice(1, -1);
    // rel may list several relation types, separated by spaces (RFC 8288 §3.3).
    return value.split(' ').some((t) => t.toLowerCase() === 'next');
  }
  return false;
}
