// Parses the WWW-Authenticate header a registry sends with a 401, to learn how to authenticate.
// Grammar: RFC 7235 §4.1 and §2.1 (https://www.rfc-editor.org/rfc/rfc7235#section-4.1), list syntax from
// RFC 7230 §7 (https://www.rfc-editor.org/rfc/rfc7230#section-7), tokens and quoted strings from RFC 7230 §3.2.6.
// Registries use the Docker token authentication flow (https://distribution.github.io/distribution/spec/auth/token/):
//   Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull"
// The header comes from a registry we do not trust, so the parser is a single linear scan over a bounded input,
// and its error messages quote at most a short, sanitised excerpt of what the registry sent.

import { err, ok, type Result } from '../result/index.js';
import { quoteText } from '../text/index.js';

export type AuthChallenge =
  | { readonly scheme: 'bearer'; readonly realm: string; readonly service?: string; readonly scope?: string }
  | { readonly scheme: 'basic'; readonly realm?: string };

/** Headers longer than this are refused unparsed: no registry needs more, and a hostile one must not cost us more. */
const MAX_HEADER_LENGTH = 8 * 1024;

/** How much of a registry-supplied string an error message may quote. */
const MAX_QUOTED_LENGTH = 64;

interface RawChallenge {
  /** The scheme as the registry spelled it, for error messages. */
  readonly name: string;
  /** Lower-cased: auth schemes are case-insensitive (RFC 7235 §2.1). */
  readonly scheme: string;
  /** Keyed by lower-cased name: parameter names are case-insensitive too (RFC 7235 §2.1). */
  readonly params: Map<string, string>;
  token68?: string;
}

/**
 * Parses a WWW-Authenticate header and picks the challenge to answer: the first Bearer challenge if there is one
 * (the token flow keeps the password away from the registry's blob endpoints), else the first Basic challenge.
 * Unknown parameters, such as `error="insufficient_scope"`, are ignored; unknown schemes are skipped.
 */
export function parseWwwAuthenticate(header: string): Result<AuthChallenge, string> {
  // Node decodes header values as latin1, one character per octet, so the length is the size on the wire.
  if (header.length > MAX_HEADER_LENGTH) {
    return err(`WWW-Authenticate header is ${header.length} bytes, over the ${MAX_HEADER_LENGTH}-byte limit`);
  }
  const parsed = parseChallenges(header);
  if (!parsed.ok) return parsed;
  const challenges = parsed.value;
  if (challenges.length === 0) return err('WWW-Authenticate header has no challenge');

  // A broken Bearer challenge is an error rather than a reason to fall back to Basic: the registry asked for
  // tokens, and quietly sending it the password instead would hide its misconfiguration.
  const bearer = challenges.find((c) => c.scheme === 'bearer');
  if (bearer) return toBearer(bearer);
  const basic = challenges.find((c) => c.scheme === 'basic');
  if (basic) {
    const realm = basic.params.get('realm');
    return ok(realm === undefined ? { scheme: 'basic' } : { scheme: 'basic', realm });
  }
  const names = challenges.map((c) => quote(c.name)).join(', ');
  return err(`WWW-Authenticate offers only unsupported authentication schemes: ${names}`);
}

function toBearer(challenge: RawChallenge): Result<AuthChallenge, string> {
  const realm = challenge.params.get('realm');
  if (realm === undefined) return err('Bearer challenge in WWW-Authenticate has no realm');
  // The realm is where we send credentials for a token, so it must be a URL we can fetch, never a relative one
  // that some later code might resolve against an unexpected base.
  const url = URL.parse(realm);
  if (url === null || (url.protocol !== 'https:' && url.protocol !== 'http:')) {
    return err(`Bearer realm ${quote(realm)} is not an absolute http(s) URL`);
  }
  const service = challenge.params.get('service');
  const scope = challenge.params.get('scope');
  return ok({
    scheme: 'bearer',
    realm,
    ...(service === undefined ? {} : { service }),
    ...(scope === undefined ? {} : { scope }),
  });
}

/**
 * Splits the header into challenges. The list is comma-separated, but so are the parameters inside a challenge;
 * an element that is `token =` continues the current challenge's parameters, any other token starts a new one.
 */
function parseChallenges(header: string): Result<RawChallenge[], string> {
  const cursor = new Cursor(header);
  const challenges: RawChallenge[] = [];
  cursor.skipListSeparators();
  while (!cursor.atEnd()) {
    const start = cursor.pos;
    const name = cursor.readToken();
    if (name === '') return err(cursor.unexpected('an authentication scheme'));
    const afterName = cursor.pos;
    cursor.skipWhitespace();
    const current = challenges.at(-1);

    if (cursor.peek() === '=') {
      if (current === undefined) return err(`WWW-Authenticate starts with parameter ${quote(name)}, not a scheme`);
      if (current.token68 !== undefined) {
        return err(`${quote(current.name)} challenge mixes a token68 value with parameters`);
      }
      const param = readParamValue(cursor, current, name, start);
      if (!param.ok) return param;
    } else {
      const challenge: RawChallenge = { name, scheme: name.toLowerCase(), params: new Map() };
      challenges.push(challenge);
      if (!cursor.atEnd() && cursor.peek() !== ',') {
        if (cursor.pos === afterName) return err(cursor.unexpected(`a space after scheme ${quote(name)}`));
        const token68 = cursor.tryReadToken68();
        if (token68 !== undefined) {
          challenge.token68 = token68;
        } else {
          const paramStart = cursor.pos;
          const paramName = cursor.readToken();
          if (paramName === '') return err(cursor.unexpected('a parameter name'));
          cursor.skipWhitespace();
          if (cursor.peek() !== '=') return err(cursor.unexpected(`'=' after parameter ${quote(paramName)}`));
          const param = readParamValue(cursor, challenge, paramName, paramStart);
          if (!param.ok) return param;
        }
      }
    }

    cursor.skipWhitespace();
    if (!cursor.atEnd() && cursor.peek() !== ',') return err(cursor.unexpected("',' or the end of the header"));
    cursor.skipListSeparators();
  }
  return ok(challenges);
}

/** Reads `= value` after a parameter name, where value is a token or a quoted string (RFC 7235 §2.1). */
function readParamValue(cursor: Cursor, challenge: RawChallenge, name: string, start: number): Result<void, string> {
  cursor.advance(); // the '='
  cursor.skipWhitespace();
  let value: string;
  if (cursor.peek() === '"') {
    const quoted = cursor.readQuotedString();
    if (!quoted.ok) return quoted;
    value = quoted.value;
  } else {
    value = cursor.readToken();
    if (value === '') return err(cursor.unexpected(`a value for parameter ${quote(name)}`));
  }
  // "Each parameter name MUST only occur once per challenge" (RFC 7235 §2.1). Two realms would leave us guessing
  // which one the registry meant, and guessing where to send credentials is not safe.
  const key = name.toLowerCase();
  if (challenge.params.has(key)) {
    return err(`${quote(challenge.name)} challenge repeats parameter ${quote(name)} at offset ${start}`);
  }
  challenge.params.set(key, value);
  return ok(undefined);
}

/** tchar from RFC 7230 §3.2.6. */
function isTokenChar(c: string): boolean {
  return /^[!#$%&'*+\-.^_`|~0-9A-Za-z]$/.test(c);
}

/** token68 characters from RFC 7235 §2.1, before its trailing '=' padding. */
function isToken68Char(c: string): boolean {
  return /^[A-Za-z0-9\-._~+/]$/.test(c);
}

/** A position in the header. Every method moves forward only, which keeps the whole parse linear. */
class Cursor {
  pos = 0;

  constructor(private readonly text: string) {}

  atEnd(): boolean {
    return this.pos >= this.text.length;
  }

  peek(): string | undefined {
    return this.text[this.pos];
  }

  advance(): void {
    this.pos++;
  }

  /** OWS: spaces and horizontal tabs. */
  skipWhitespace(): void {
    while (this.peek() === ' ' || this.peek() === '\t') this.pos++;
  }

  /** Commas and whitespace between list elements; empty elements are allowed (RFC 7230 §7). */
  skipListSeparators(): void {
    for (let c = this.peek(); c === ',' || c === ' ' || c === '\t'; c = this.peek()) this.pos++;
  }

  readToken(): string {
    const start = this.pos;
    for (let c = this.peek(); c !== undefined && isTokenChar(c); c = this.peek()) this.pos++;
    return this.text.slice(start, this.pos);
  }

  /**
   * Reads a token68 credential if one is here, ending at a comma or the end of the header; otherwise stays put.
   * Bearer and Basic never send one, but other schemes (Negotiate) may, and we must step over them.
   */
  tryReadToken68(): string | undefined {
    const start = this.pos;
    for (let c = this.peek(); c !== undefined && isToken68Char(c); c = this.peek()) this.pos++;
    if (this.pos === start) return undefined;
    while (this.peek() === '=') this.pos++;
    const end = this.pos;
    this.skipWhitespace();
    if (this.atEnd() || this.peek() === ',') return this.text.slice(start, end);
    this.pos = start;
    return undefined;
  }

  /** Reads a quoted-string, undoing quoted-pairs (RFC 7230 §3.2.6). */
  readQuotedString(): Result<string, string> {
    const start = this.pos;
    this.pos++; // the opening quote
    let value = '';
    for (;;) {
      const c = this.peek();
      if (c === undefined) return err(`unterminated quoted string at offset ${start} of WWW-Authenticate`);
      this.pos++;
      if (c === '"') return ok(value);
      if (c === '\\') {
        const escaped = this.peek();
        if (escaped === undefined) return err(`unterminated quoted string at offset ${start} of WWW-Authenticate`);
        this.pos++;
        value += escaped;
      } else if (isControl(c)) {
        return err(`control character in quoted string at offset ${this.pos - 1} of WWW-Authenticate`);
      } else {
        value += c;
      }
    }
  }

  unexpected(expected: string): string {
    const found = this.atEnd() ? 'the end of the header' : quote(this.text.slice(this.pos, this.pos + 16));
    return `WWW-Authenticate: expected ${expected} at offset ${this.pos}, found ${found}`;
  }
}

/** Control characters are not allowed in quoted strings, except horizontal tab. */
function isControl(c: string): boolean {
  const code = c.charCodeAt(0);
  return (code < 0x20 && c !== '\t') || code === 0x7f;
}

/**
 * Quotes a registry-supplied string for an error message: cut short so a hostile header cannot flood our logs, and
 * without control characters or bidi overrides (pkg/text/safe-text.ts).
 */
function quote(s: string): string {
  return quoteText(s, MAX_QUOTED_LENGTH);
}
