// Fuzzing, seeded so that a failure reproduces: whatever a registry sends (deeply nested JSON, nulls, numbers where
// strings belong, huge strings, prototype-polluting keys, arbitrary bytes, in bodies and headers alike), every
// parser returns a value and the client resolves to a Result. Never an exception: the webhook would turn one into
// an HTTP 500, which a failurePolicy of Ignore turns into an admitted Pod. And messages carry no control characters.
import type { ImageRef } from '../imageref/index.js';
import { computeDigest } from './digest.js';
import { parseRegistryErrorBody } from './error-body.js';
import { OCI_ERROR_CODES } from './errors.js';
import type { FetchLike } from './fetch-like.js';
import { nextLinkTarget } from './link-header.js';
import { MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_OCI_MANIFEST } from './media-types.js';
import { RegistryClient } from './registry-client.js';
import { parseTokenResponse } from './token-response.js';
import { parseDescriptor, parseIndexPrefix, parseManifest } from './types.js';
import { parseWwwAuthenticate } from './www-authenticate.js';

// eslint-disable-next-line no-control-regex -- control characters are what it finds
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/;

/** mulberry32: a small seeded PRNG, so that every run feeds the same inputs. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Fuzz {
  readonly #next: () => number;

  constructor(seed: number) {
    this.#next = prng(seed);
  }

  int(max: number): number {
    return Math.floor(this.#next() * max);
  }

  chance(p: number): boolean {
    return this.#next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.int(items.length)]!;
  }

  /** Strings that trouble parsers and messages: controls, bidi overrides, lone surrogates, and sometimes 1 MiB. */
  string(): string {
    if (this.chance(0.002)) return 'x'.repeat(1024 * 1024);
    const alphabet = [
      'a',
      'Z',
      '0',
      ':',
      '/',
      '"',
      '\\',
      ',',
      ';',
      '=',
      '<',
      '>',
      ' ',
      '\t',
      '\n',
      '\r',
      '\u0000',
      '\u001b',
      '\u007f',
      '\u0085',
      '\u009b',
      '\u202e',
      '\u2066',
      '\u2028',
      '\ud800',
      '\udc00',
      '😀',
      'é',
      'sha256:',
      '{',
      '[',
    ];
    let s = '';
    for (let i = this.int(40); i > 0; i--) s += this.pick(alphabet);
    return s;
  }

  /** Arbitrary JSON values, with the keys OCI documents use and the ones that pollute prototypes. */
  json(depth = 0): unknown {
    const roll = this.int(depth > 6 ? 6 : 9);
    switch (roll) {
      case 0:
        return null;
      case 1:
        return this.chance(0.5);
      case 2:
        return this.pick([0, -1, 2, 1.5, -0, 1e308, -1e308, 2 ** 53, Number.MAX_SAFE_INTEGER + 2]);
      case 3:
      case 4:
        return this.string();
      case 5:
        return computeDigest(Buffer.from(String(this.int(100))));
      case 6:
      case 7: {
        const out: unknown[] = [];
        for (let i = this.int(6); i > 0; i--) out.push(this.json(depth + 1));
        return out;
      }
      default: {
        const keys = [
          '__proto__',
          'constructor',
          'prototype',
          'toString',
          'schemaVersion',
          'mediaType',
          'manifests',
          'layers',
          'config',
          'subject',
          'digest',
          'size',
          'annotations',
          'artifactType',
          'platform',
          'token',
          'access_token',
          'expires_in',
          'errors',
          'code',
          'message',
          'tags',
        ];
        const parts: string[] = [];
        for (let i = this.int(6); i > 0; i--) {
          parts.push(
            `${JSON.stringify(this.chance(0.8) ? this.pick(keys) : this.string())}:${JSON.stringify(this.json(depth + 1)) ?? 'null'}`,
          );
        }
        // Built as text, so that "__proto__" is an own key as JSON.parse makes it, not a prototype.
        return JSON.parse(`{${parts.join(',')}}`) as unknown;
      }
    }
  }

  /** A valid manifest or index with random parts replaced: the inputs that get deepest into the parsers. */
  mutatedDocument(): unknown {
    const descriptor = () => ({
      mediaType: MEDIA_TYPE_OCI_MANIFEST,
      digest: computeDigest(Buffer.from(String(this.int(1000)))),
      size: this.int(1000),
      ...(this.chance(0.5) ? { artifactType: this.string() } : {}),
      ...(this.chance(0.3) ? { annotations: { a: this.string() } } : {}),
    });
    const doc: Record<string, unknown> = this.chance(0.5)
      ? { schemaVersion: 2, mediaType: MEDIA_TYPE_OCI_INDEX, manifests: [descriptor(), descriptor()] }
      : { schemaVersion: 2, mediaType: MEDIA_TYPE_OCI_MANIFEST, config: descriptor(), layers: [descriptor()] };
    for (let i = this.int(4); i >= 0; i--) {
      const key = this.pick([...Object.keys(doc), 'subject', 'annotations', 'artifactType']);
      const target = doc[key];
      const entry: unknown = Array.isArray(target) && target.length > 0 ? target[this.int(target.length)] : undefined;
      if (typeof entry === 'object' && entry !== null && this.chance(0.5)) {
        const field = this.pick(['mediaType', 'digest', 'size', 'annotations', 'platform', 'artifactType']);
        (entry as Record<string, unknown>)[field] = this.json();
      } else {
        doc[key] = this.json();
      }
    }
    return doc;
  }

  /** Bytes a registry might send: JSON of all sorts, very deep nesting, or noise. */
  body(): Uint8Array {
    // Past the ~20,000 levels where JSON.stringify or any recursive walk runs out of stack.
    const depth = 20_000 + this.int(5_000);
    switch (this.int(24)) {
      case 0:
        return Buffer.from(`${'['.repeat(depth)}${']'.repeat(depth)}`);
      case 1:
        return Buffer.from(`{"schemaVersion":${'['.repeat(depth)}${']'.repeat(depth)}}`);
      case 2:
        return Buffer.from(`${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`);
      case 3:
        return Buffer.from(
          `{"schemaVersion":2,"mediaType":"${MEDIA_TYPE_OCI_INDEX}","manifests":[${'['.repeat(depth)}${']'.repeat(depth)}]}`,
        );
      case 4:
      case 5:
      case 6: {
        const noise = Buffer.alloc(this.int(2048));
        for (let i = 0; i < noise.length; i++) noise[i] = this.int(256);
        return noise;
      }
      case 7:
      case 8:
      case 9:
      case 10:
      case 11:
      case 12:
        return Buffer.from(JSON.stringify(this.mutatedDocument()));
      default:
        return Buffer.from(JSON.stringify(this.json()) ?? 'null');
    }
  }

  /** Header values as Node decodes them: latin1, any octet. */
  header(): string {
    const samples = [
      `Bearer realm="${this.pick(['https://auth.example/token', 'http://127.0.0.1/t', 'https://[::1]/t', 'ftp://x', this.string()])}",service="${this.string().replace(/"/g, '')}"`,
      'Basic realm="r"',
      `</v2/a/tags/list?last=${this.int(5)}>; rel="next"`,
      MEDIA_TYPE_OCI_INDEX,
      MEDIA_TYPE_OCI_MANIFEST,
      'application/json; charset=utf-8',
      computeDigest(Buffer.from('x')),
      String(this.int(10_000_000)),
      '-1',
      `${'<'.repeat(5000)}`,
    ];
    if (this.chance(0.3)) {
      let s = '';
      for (let i = this.int(200); i > 0; i--) s += String.fromCharCode(this.int(256));
      return s;
    }
    return this.pick(samples);
  }
}

function expectSafe(message: string): void {
  expect(typeof message).toBe('string');
  expect(message).not.toMatch(UNSAFE);
  expect(message.length).toBeLessThan(1200);
}

describe('hostile input', () => {
  describe('the parsers', () => {
    it('return a value for every body, and say nothing unsafe', () => {
      const fuzz = new Fuzz(20240601);
      for (let i = 0; i < 600; i++) {
        const body = fuzz.body();
        const contentType = fuzz.chance(0.5) ? fuzz.header() : undefined;
        for (const result of [
          parseManifest(body, contentType, fuzz.int(1001)),
          parseIndexPrefix(body, contentType, fuzz.int(1001)),
          parseTokenResponse(body),
        ]) {
          expect(typeof result.ok).toBe('boolean');
          if (!result.ok) expectSafe(result.error);
        }
        const registryError = parseRegistryErrorBody(body);
        if (registryError.message !== undefined) expectSafe(registryError.message);
      }
    });

    it('return a value for every JSON value given as a descriptor', () => {
      const fuzz = new Fuzz(7);
      let deep: unknown = null;
      for (let i = 0; i < 100_000; i++) deep = [deep];
      const values = [deep, { mediaType: deep, digest: deep, size: deep, annotations: deep, platform: deep }];
      for (let i = 0; i < 1500; i++) values.push(fuzz.chance(0.5) ? fuzz.json() : fuzz.mutatedDocument());
      for (const value of values) {
        const result = parseDescriptor(value, 'd');
        if (!result.ok) expectSafe(result.error);
      }
    });

    it('return a value for every header', () => {
      const fuzz = new Fuzz(99);
      for (let i = 0; i < 2000; i++) {
        const header = fuzz.chance(0.01)
          ? 'a'.repeat(1 << 20)
          : fuzz.header() + (fuzz.chance(0.5) ? fuzz.header() : '');
        const challenge = parseWwwAuthenticate(header);
        if (!challenge.ok) expectSafe(challenge.error);
        expect(() => nextLinkTarget(header)).not.toThrow();
      }
    });
  });

  describe('the client', () => {
    it('resolves every call to a Result, whatever the registry answers', async () => {
      const fuzz = new Fuzz(424242);
      const fetch: FetchLike = async (url) => {
        if (fuzz.chance(0.05))
          throw fuzz.pick([new TypeError('fetch failed'), null, 'a string', { cause: { code: 'ECONNRESET' } }]);
        const headers: Record<string, string> = {};
        for (const name of [
          'content-type',
          'www-authenticate',
          'location',
          'link',
          'docker-content-digest',
          'content-length',
          'retry-after',
        ]) {
          if (fuzz.chance(0.3)) headers[name] = fuzz.header();
        }
        if (fuzz.chance(0.2))
          headers['location'] = fuzz.pick([
            '/v2/a/manifests/x',
            'http://169.254.169.254/',
            'https://[::1]/',
            url,
            '//evil.example/x',
            '%%',
          ]);
        const status = fuzz.pick([
          200, 200, 200, 201, 301, 302, 307, 308, 400, 401, 401, 403, 404, 405, 429, 500, 503, 0, 999,
        ]);
        const body = fuzz.body();
        const broken = fuzz.chance(0.05);
        return {
          status,
          headers: { get: (name: string) => headers[name.toLowerCase()] ?? null },
          body: (async function* () {
            yield body.subarray(0, body.length >> 1);
            if (broken) throw new Error('connection reset');
            yield body.subarray(body.length >> 1);
          })(),
        };
      };
      const client = new RegistryClient({
        fetch,
        maxRetries: 1,
        maxRetryAfterMs: 0,
        sleep: async () => undefined,
        resolveHost: async () => [fuzz.pick(['10.0.0.1', '127.0.0.1', '8.8.8.8', 'not an address'])],
        credentials: { lookup: () => (fuzz.chance(0.5) ? { username: 'u', password: 'p' } : undefined) },
      });
      const ref: ImageRef = { registry: 'registry.example', repository: 'a', tag: 'v1' };
      const digest = computeDigest(Buffer.from('subject'));
      for (let i = 0; i < 400; i++) {
        const call = fuzz.int(6);
        const result = await (call === 0
          ? client.getManifest(ref)
          : call === 1
            ? client.resolveDigest(ref)
            : call === 2
              ? client.listReferrers(ref, digest, { artifactType: 'x' })
              : call === 3
                ? client.listTags(ref)
                : call === 4
                  ? client.getBlob(ref, digest)
                  : client.ping(ref));
        expect(typeof result.ok).toBe('boolean');
        if (!result.ok) {
          expect(OCI_ERROR_CODES).toContain(result.error.code);
          expectSafe(result.error.message);
          if (result.error.detail !== undefined) expectSafe(result.error.detail);
        }
      }
    }, 60_000);
  });
});
