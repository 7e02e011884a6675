// The OCI structures the client reads (https://github.com/opencontainers/image-spec: descriptor.md, manifest.md,
// image-index.md), checked at the boundary so nothing downstream handles unvalidated registry JSON. Parsing never
// throws, whatever the bytes: every value's type is checked before use, nothing walks the registry's JSON
// recursively, and error messages quote registry values only through quoteText (pkg/text/safe-text.ts).
import { err, ok, type Result } from '../result/index.js';
import { isDigest } from './digest.js';
import { INDEX_MEDIA_TYPES, IMAGE_MANIFEST_MEDIA_TYPES } from './media-types.js';
import { quoteText } from '../text/index.js';

export interface Descriptor {
  readonly mediaType: string;
  readonly digest: string;
  readonly size: number;
  readonly artifactType?: string;
  readonly annotations?: Readonly<Record<string, string>>;
  readonly platform?: { readonly architecture: string; readonly os: string; readonly variant?: string };
}

export interface ImageManifest {
  readonly kind: 'manifest';
  readonly schemaVersion: 2;
  readonly mediaType: string;
  readonly artifactType?: string;
  readonly config: Descriptor;
  readonly layers: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

export interface ImageIndex {
  readonly kind: 'index';
  readonly schemaVersion: 2;
  readonly mediaType: string;
  readonly artifactType?: string;
  readonly manifests: readonly Descriptor[];
  readonly subject?: Descriptor;
  readonly annotations?: Readonly<Record<string, string>>;
}

export type Manifest = ImageManifest | ImageIndex;

/**
 * Parses manifest bytes. `contentType` is what the registry said; the document's own mediaType wins when present,
 * and the two must not disagree. More than `maxEntries` layers or index entries is an error.
 */
export function parseManifest(
  bytes: Uint8Array,
  contentType: string | undefined,
  maxEntries: number,
): Result<Manifest, string> {
  const parsed = parseDocument(bytes, contentType, { maxEntries, truncateIndex: false });
  return parsed.ok ? ok(parsed.value.manifest) : parsed;
}

export interface IndexPrefix {
  /** The index, with at most the first `keep` entries of its manifests. */
  readonly index: ImageIndex;
  /** How many entries the document had. */
  readonly entries: number;
}

/**
 * Parses an image index and keeps the first `keep` entries, without reading the rest: a list of referrers, where
 * more entries than we want is no reason to refuse the ones we take. Anything but an index is an error.
 */
export function parseIndexPrefix(
  bytes: Uint8Array,
  contentType: string | undefined,
  keep: number,
): Result<IndexPrefix, string> {
  const parsed = parseDocument(bytes, contentType, { maxEntries: keep, truncateIndex: true });
  if (!parsed.ok) return parsed;
  const { manifest, entries } = parsed.value;
  if (manifest.kind !== 'index') return err('not an image index');
  return ok({ index: manifest, entries });
}

function parseDocument(
  bytes: Uint8Array,
  contentType: string | undefined,
  limits: { maxEntries: number; truncateIndex: boolean },
): Result<{ manifest: Manifest; entries: number }, string> {
  let json: unknown;
  try {
    json = JSON.parse(Buffer.from(bytes).toString('utf8'));
  } catch {
    // V8's SyntaxError quotes the bytes around the fault: registry text that has no place in our message.
    return err('manifest is not valid JSON');
  }
  if (!isObject(json)) return err('manifest is not a JSON object');
  if (json['schemaVersion'] !== 2) return err(`unsupported manifest schemaVersion ${quoteText(json['schemaVersion'])}`);
  const declared = typeof json['mediaType'] === 'string' ? json['mediaType'] : undefined;
  const header = contentType?.split(';')[0]?.trim();
  const mediaType = declared ?? header ?? '';
  if (
    declared &&
    header &&
    header !== declared &&
    (INDEX_MEDIA_TYPES.has(header) || IMAGE_MANIFEST_MEDIA_TYPES.has(header))
  ) {
    return err(`manifest mediaType ${quoteText(declared)} disagrees with Content-Type ${quoteText(header)}`);
  }
  const annotations = json['annotations'] === undefined ? undefined : toStringMap(json['annotations']);
  if (annotations === null) return err('manifest annotations are not a string map');
  const common = {
    schemaVersion: 2 as const,
    mediaType,
    ...optionalString(json, 'artifactType'),
    ...(annotations ? { annotations } : {}),
  };
  let subject: Descriptor | undefined;
  if (json['subject'] !== undefined) {
    const s = parseDescriptor(json['subject'], 'subject');
    if (!s.ok) return s;
    subject = s.value;
  }
  const isIndex = INDEX_MEDIA_TYPES.has(mediaType) || (!declared && Array.isArray(json['manifests']));
  if (isIndex) {
    const manifests = json['manifests'];
    if (!Array.isArray(manifests)) return err('manifests: not an array');
    const list = parseDescriptors(manifests, 'manifests', limits.maxEntries, limits.truncateIndex);
    if (!list.ok) return list;
    const index: ImageIndex = { kind: 'index', ...common, manifests: list.value, ...(subject ? { subject } : {}) };
    return ok({ manifest: index, entries: manifests.length });
  }
  if (!IMAGE_MANIFEST_MEDIA_TYPES.has(mediaType) && mediaType !== '') {
    return err(`unsupported manifest media type ${quoteText(mediaType)}`);
  }
  const config = parseDescriptor(json['config'], 'config');
  if (!config.ok) return config;
  const rawLayers = json['layers'] ?? [];
  if (!Array.isArray(rawLayers)) return err('layers: not an array');
  const layers = parseDescriptors(rawLayers, 'layers', limits.maxEntries, false);
  if (!layers.ok) return layers;
  const manifest: ImageManifest = {
    kind: 'manifest',
    ...common,
    mediaType: mediaType || (declared ?? ''),
    config: config.value,
    layers: layers.value,
    ...(subject ? { subject } : {}),
  };
  return ok({ manifest, entries: rawLayers.length });
}

export function parseDescriptor(value: unknown, at: string): Result<Descriptor, string> {
  if (!isObject(value)) return err(`${at}: descriptor is not an object`);
  const { mediaType, digest, size } = value;
  if (typeof mediaType !== 'string') return err(`${at}.mediaType: missing`);
  if (typeof digest !== 'string' || !isDigest(digest)) return err(`${at}.digest: invalid digest ${quoteText(digest)}`);
  if (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)
    return err(`${at}.size: invalid size ${quoteText(size)}`);
  const annotations = value['annotations'] === undefined ? undefined : toStringMap(value['annotations']);
  if (annotations === null) return err(`${at}.annotations: not a string map`);
  const platform = value['platform'];
  return ok({
    mediaType,
    digest,
    size,
    ...optionalString(value, 'artifactType'),
    ...(annotations ? { annotations } : {}),
    ...(isObject(platform) && typeof platform['architecture'] === 'string' && typeof platform['os'] === 'string'
      ? {
          platform: {
            architecture: platform['architecture'],
            os: platform['os'],
            ...(typeof platform['variant'] === 'string' ? { variant: platform['variant'] } : {}),
          },
        }
      : {}),
  });
}

/** Parses the entries of a list; beyond `max`, an error, or (with `truncate`) the first `max` entries. */
function parseDescriptors(
  value: readonly unknown[],
  at: string,
  max: number,
  truncate: boolean,
): Result<Descriptor[], string> {
  if (value.length > max && !truncate) return err(`${at}: ${value.length} entries exceed the limit of ${max}`);
  const out: Descriptor[] = [];
  const count = Math.min(value.length, Math.max(0, max));
  for (let i = 0; i < count; i++) {
    const d = parseDescriptor(value[i], `${at}[${i}]`);
    if (!d.ok) return d;
    out.push(d.value);
  }
  return ok(out);
}

function optionalString(obj: Record<string, unknown>, key: string): Record<string, string> {
  const value = obj[key];
  return typeof value === 'string' ? { [key]: value } : {};
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/**
 * A copy of a JSON string map, or null when it is not one. The copy has no prototype, so keys such as
 * `__proto__` or `constructor` are plain entries, and lookups of absent keys find nothing inherited.
 */
function toStringMap(v: unknown): Readonly<Record<string, string>> | null {
  if (!isObject(v)) return null;
  const out = Object.create(null) as Record<string, string>;
  for (const [key, value] of Object.entries(v)) {
    if (typeof value !== 'string') return null;
    // A plain assignment: with no prototype there is no __proto__ setter to call.
    out[key] = value;
  }
  return out;
}
