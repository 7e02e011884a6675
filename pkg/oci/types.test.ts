import { computeDigest } from './digest.js';
import { MEDIA_TYPE_OCI_INDEX, MEDIA_TYPE_OCI_MANIFEST } from './media-types.js';
import { parseDescriptor, parseIndexPrefix, parseManifest } from './types.js';

const DIGEST = computeDigest(Buffer.from('x'));
const descriptor = (n: number) => ({
  mediaType: MEDIA_TYPE_OCI_MANIFEST,
  digest: computeDigest(Buffer.from(String(n))),
  size: n,
});
const bytes = (value: unknown) => Buffer.from(JSON.stringify(value));
const index = (count: number) =>
  bytes({
    schemaVersion: 2,
    mediaType: MEDIA_TYPE_OCI_INDEX,
    manifests: Array.from({ length: count }, (_, i) => descriptor(i)),
  });

describe('parseManifest', () => {
  it('refuses an index with more entries than maxEntries', () => {
    const got = parseManifest(index(3), undefined, 2);
    expect(!got.ok && got.error).toBe('manifests: 3 entries exceed the limit of 2');
  });

  it('does not quote the bytes around a JSON syntax error', () => {
    const got = parseManifest(Buffer.from('{"schemaVersion": 2, "secret-looking": tru'), undefined, 10);
    expect(!got.ok && got.error).toBe('manifest is not valid JSON');
  });
});

describe('parseIndexPrefix', () => {
  it('keeps the first entries and counts them all', () => {
    const got = parseIndexPrefix(index(5), MEDIA_TYPE_OCI_INDEX, 2);
    expect(got.ok && got.value.entries).toBe(5);
    expect(got.ok && got.value.index.manifests.map((d) => d.size)).toEqual([0, 1]);
  });

  it('does not read the entries past those it keeps', () => {
    const manifests = [descriptor(1), { broken: true }];
    const got = parseIndexPrefix(bytes({ schemaVersion: 2, mediaType: MEDIA_TYPE_OCI_INDEX, manifests }), undefined, 1);
    expect(got.ok && got.value.index.manifests).toHaveLength(1);
  });

  it('refuses anything but an index', () => {
    const manifest = { schemaVersion: 2, mediaType: MEDIA_TYPE_OCI_MANIFEST, config: descriptor(1), layers: [] };
    const got = parseIndexPrefix(bytes(manifest), undefined, 10);
    expect(!got.ok && got.error).toBe('not an image index');
  });
});

describe('parseDescriptor', () => {
  it('keeps annotation keys such as __proto__ as plain entries, and inherits nothing', () => {
    const value = JSON.parse(
      `{"mediaType":"m","digest":"${DIGEST}","size":1,"annotations":{"__proto__":"x","constructor":"y","ok":"z"}}`,
    ) as unknown;
    const got = parseDescriptor(value, 'd');
    expect(got.ok).toBe(true);
    if (!got.ok) return;
    const annotations = got.value.annotations!;
    expect(Object.keys(annotations)).toEqual(['__proto__', 'constructor', 'ok']);
    expect(annotations['__proto__']).toBe('x');
    expect(annotations['toString']).toBeUndefined();
    expect(({} as Record<string, unknown>)['x']).toBeUndefined();
  });

  it('refuses annotations that are not all strings', () => {
    const got = parseDescriptor({ mediaType: 'm', digest: DIGEST, size: 1, annotations: { a: 1 } }, 'd');
    expect(!got.ok && got.error).toBe('d.annotations: not a string map');
  });

  it('quotes an invalid digest safely and briefly', () => {
    const got = parseDescriptor({ mediaType: 'm', digest: `\u202e${'a'.repeat(500)}`, size: 1 }, 'd');
    expect(!got.ok && got.error).toMatch(/^d\.digest: invalid digest " a{63}…"$/);
  });
});
